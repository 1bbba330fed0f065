// Runs every bench/*.bench.mjs suite (benchmark.js) against the built package in dist/.
// Each suite reports rates and ratios against a baseline measured in the same run.
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const only = process.argv.slice(2);
const suites = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.mjs'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
console.log(`node ${process.version}, ${new Date().toISOString()}`);
for (const f of suites) {
  console.log(`\n## ${f}`);
  const mod = await import(pathToFileURL(dir + f).href);
  await mod.run();
}
