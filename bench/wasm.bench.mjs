// WASM backend throughput (benchmark.js), with baselines measured in the same run:
// - quantize/dequantize input bytes per second as a ratio of a Float32Array.set copy of the input;
// - fp16/bf16 conversion against @petamoriken/float16 when it is installed;
// - GEMV 1×4096×4096 (MXFP4 weights) and GEMM (MXFP8 weights) in GFLOP/s, one and two threads.
// Optional peers (onnxruntime-node, @tensorflow/tfjs-backend-wasm) are reported as skipped when absent.
import Benchmark from 'benchmark';
import { quantize } from '../dist/index.js';
import { createWasmBackend } from '../dist/kernels/wasm/index.js';

const N = 1 << 20;
const x = Float32Array.from({ length: N }, (_, i) => Math.sin(i * 0.37) * (1 + (i % 13)));
const dst = new Float32Array(N);

async function optional(name) {
  try {
    return await import(name);
  } catch {
    return null;
  }
}

/** Run a suite of { name, fn, async } cases; resolve with { name, hz, rme } rows. */
function runSuite(cases) {
  const suite = new Benchmark.Suite();
  for (const c of cases) {
    if (c.async) suite.add(c.name, { defer: true, fn: (d) => c.fn().then(() => d.resolve()) });
    else suite.add(c.name, c.fn);
  }
  return new Promise((resolve) => {
    suite.on('complete', () => resolve(suite.map((b) => ({ name: b.name, hz: b.hz, rme: b.stats.rme }))));
    suite.run({ async: true });
  });
}

function table(rows, unit, perOp, baseHz) {
  console.log(`| case | ${unit} | ${baseHz ? '× baseline | ' : ''}±% |`);
  console.log(`|---|---|${baseHz ? '---|' : ''}---|`);
  for (const r of rows) {
    const rate = r.hz * perOp;
    console.log(`| ${r.name} | ${rate.toFixed(1)} | ${baseHz ? (r.hz / baseHz).toFixed(3) + ' | ' : ''}${r.rme.toFixed(1)} |`);
  }
}

export async function run() {
  const backends = [];
  for (const threads of [1, 2]) backends.push({ threads, b: await createWasmBackend({ threads }) });
  console.log(`wasm: ${backends.map(({ b }) => `${b.capabilities.threads} thread(s), ${b.capabilities.simd ? 'SIMD' : 'scalar'}`).join('; ')}`);

  // ---------------------------------------------------------------- quantize / dequantize vs memcpy
  const cases = [{ name: 'memcpy (Float32Array.set)', fn: () => dst.set(x) }];
  for (const f of ['mxfp8_e4m3', 'mxfp4', 'mxint8', 'mx9', 'nvfp4', 'q4_0']) {
    const q = quantize(x, f);
    for (const { threads, b } of backends) {
      cases.push({ name: `quantize ${f}, ${threads}T`, async: true, fn: () => b.quantize(x, f) });
      cases.push({ name: `dequantize ${f}, ${threads}T`, async: true, fn: () => b.dequantize(q) });
    }
  }
  const rows = await runSuite(cases);
  console.log(`\ninput MB/s (${N} float32 values = ${(N * 4) / 2 ** 20} MiB per call; dequantize counts the float32 output)`);
  table(rows, 'MB/s', (N * 4) / 1e6, rows[0].hz);

  // ---------------------------------------------------------------- fp16 / bf16 conversion
  const f16 = await optional('@petamoriken/float16');
  const conv = [];
  if (f16) {
    conv.push({ name: '@petamoriken/float16: new Float16Array(x)', fn: () => new f16.Float16Array(x) });
    const h = new f16.Float16Array(x);
    conv.push({ name: '@petamoriken/float16: Float32Array.from(Float16Array)', fn: () => Float32Array.from(h) });
  }
  for (const f of ['fp16', 'bf16']) {
    const q = quantize(x, f);
    for (const { threads, b } of backends) {
      conv.push({ name: `wasm quantize ${f}, ${threads}T`, async: true, fn: () => b.quantize(x, f) });
      conv.push({ name: `wasm dequantize ${f}, ${threads}T`, async: true, fn: () => b.dequantize(q) });
    }
  }
  const convRows = await runSuite(conv);
  console.log(`\nfp16/bf16 conversion, million values/s${f16 ? '' : ' (@petamoriken/float16 not installed: no peer ratio)'}`);
  table(convRows, 'Mvalues/s', N / 1e6, f16 ? convRows[0].hz : 0);

  // ---------------------------------------------------------------- matmul
  const K = 4096;
  const Nw = 4096;
  const w4 = quantize(Float32Array.from({ length: Nw * K }, (_, i) => Math.sin(i * 0.01)), 'mxfp4', { shape: [Nw, K] });
  const a1 = Float32Array.from({ length: K }, (_, i) => Math.cos(i * 0.3));
  const G = 512;
  const w8 = quantize(Float32Array.from({ length: G * G }, (_, i) => Math.sin(i * 0.01)), 'mxfp8_e4m3', { shape: [G, G] });
  const aG = Float32Array.from({ length: G * G }, (_, i) => Math.cos(i * 0.3));
  const mm = [];
  for (const { threads, b } of backends) {
    mm.push({ name: `GEMV 1×${Nw}×${K} mxfp4, ${threads}T`, async: true, fn: () => b.matmul(a1, w4, { m: 1 }), flops: 2 * Nw * K });
    mm.push({ name: `GEMM ${G}³ mxfp8_e4m3, ${threads}T`, async: true, fn: () => b.matmul(aG, w8, { m: G }), flops: 2 * G ** 3 });
  }
  const mmRows = await runSuite(mm);
  console.log('\nmatmul GFLOP/s (y = a·wᵀ, float32 activations)');
  console.log('| case | GFLOP/s | ms | ±% |');
  console.log('|---|---|---|---|');
  mmRows.forEach((r, i) => console.log(`| ${r.name} | ${((r.hz * mm[i].flops) / 1e9).toFixed(2)} | ${(1000 / r.hz).toFixed(2)} | ${r.rme.toFixed(1)} |`));
  for (const peer of ['onnxruntime-node', '@tensorflow/tfjs-backend-wasm']) {
    if (!(await optional(peer))) console.log(`${peer}: not installed, peer ratio skipped`);
  }
  for (const { b } of backends) await b.dispose();
}
