// Vitest global setup: build src → dist once, before any test file runs, so end-to-end tests
// (the CLI, the package, the browser pages) exercise what `npm run build` ships.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  // vitest calls global setups once per project; build once per run
  if (process.env.MICROSCALE_BUILT_FOR_RUN === process.env.MICROSCALE_TEST_TMPDIR && process.env.MICROSCALE_BUILT_FOR_RUN) return;
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const r = spawnSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', 'tsconfig.build.json'], { cwd: root, encoding: 'utf8' });
  // Type errors are reported by `npm run typecheck` (the first half of `npm test`); tsc still emits,
  // so only a build that produced nothing stops the run here.
  if (r.status !== 0) console.warn(`warning: npm run build reported errors:\n${r.stdout}${r.stderr}`);
  if (!existsSync(`${root}dist/index.js`)) throw new Error('npm run build emitted nothing; see the errors above');
  process.env.MICROSCALE_BUILT_FOR_RUN = process.env.MICROSCALE_TEST_TMPDIR;
}
