#!/usr/bin/env node
// `npm run fuzz`: the fuzz suite (test/fuzz/) at soak scale — READER_FUZZ_RUNS mutated files per
// target (default 100000; `npm run fuzz -- --runs 1000000 --seed 7` to vary), one vitest run with a
// wall-clock limit that reports a synchronous hang as such. Prints a per-target and per-format
// table of cases, accepted and rejected files and seconds (Markdown, for bench/RESULTS.md).
// `--only readers` or `--only writers` runs one suite.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: process.env.READER_FUZZ_RUNS ?? '100000' },
    seed: { type: 'string', default: process.env.READER_FUZZ_SEED ?? String(0x5eed) },
    'max-minutes': { type: 'string', default: '60' },
    only: { type: 'string' },
  },
});
const runs = Number(values.runs);
const maxMinutes = Number(values['max-minutes']);
if (!Number.isSafeInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer; got ${values.runs}`);
if (!Number.isSafeInteger(Number(values.seed))) throw new Error(`--seed must be an integer; got ${values.seed}`);
const SUITES = { readers: 'test/fuzz/readers.fuzz.test.ts', writers: 'test/fuzz/writers.fuzz.test.ts' };
if (values.only !== undefined && !(values.only in SUITES)) throw new Error(`--only takes ${Object.keys(SUITES).join(' or ')}; got ${values.only}`);
if (!(maxMinutes > 0)) throw new Error(`--max-minutes must be positive; got ${values['max-minutes']}`);

const dir = mkdtempSync(join(tmpdir(), 'microscale-fuzz-'));
const report = join(dir, 'report.jsonl');
const started = Date.now();
const child = spawn(process.execPath, [join(root, 'node_modules/vitest/vitest.mjs'), 'run', values.only === undefined ? 'test/fuzz/' : SUITES[values.only], `--testTimeout=${maxMinutes * 60_000}`], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, READER_FUZZ_RUNS: String(runs), READER_FUZZ_SEED: values.seed, READER_FUZZ_REPORT: report },
});
let hung = false;
const limit = setTimeout(() => {
  hung = true;
  child.kill('SIGKILL');
}, maxMinutes * 60_000);

child.on('exit', (code) => {
  clearTimeout(limit);
  const wall = (Date.now() - started) / 1000;
  const rows = existsSync(report)
    ? readFileSync(report, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
    : [];
  rmSync(dir, { recursive: true, force: true });
  const lines = [
    `fuzz soak: ${runs} cases per target, seed ${values.seed}, node ${process.version}, ${cpus().length} cores, ${new Date(started).toISOString()}`,
    '',
    '| target | format | cases | accepted | rejected | seconds |',
    '|---|---|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.label} | ${r.format} | ${r.cases} | ${r.ok} | ${r.rejected} | ${r.seconds.toFixed(1)} |`),
    '',
    '| format | cases | seconds |',
    '|---|---:|---:|',
  ];
  const byFormat = new Map();
  for (const r of rows) {
    const f = byFormat.get(r.format) ?? { cases: 0, seconds: 0 };
    byFormat.set(r.format, { cases: f.cases + r.cases, seconds: f.seconds + r.seconds });
  }
  for (const [format, f] of byFormat) lines.push(`| ${format} | ${f.cases} | ${f.seconds.toFixed(1)} |`);
  const total = rows.reduce((a, r) => a + r.cases, 0);
  lines.push('', `${total} mutated files in ${rows.length} targets; wall time ${wall.toFixed(0)} s (vitest start-up and the deterministic truncation/0xff/0x00 sweeps included)`);
  console.log(`\n${lines.join('\n')}`);
  if (hung) {
    console.error(`fuzz soak: no end after ${maxMinutes} min — a synchronous hang (the per-case timeout only catches asynchronous ones); rerun with --runs smaller to find the case`);
    process.exit(1);
  }
  process.exit(code ?? 1);
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
