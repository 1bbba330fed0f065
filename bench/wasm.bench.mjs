// WASM backend throughput (benchmark.js), with baselines and peers measured in the same run:
// - quantize input bytes per second as a ratio of a Float32Array.set copy of the input (targets:
//   ≥ 0.5× one thread, ≥ 0.9× two threads, for MXFP8/MXFP4/MXINT8/MX9);
// - fp16/bf16 conversion against @petamoriken/float16 (target ≥ 20×);
// - GEMV 1×4096×4096 with MXFP4 weights against onnxruntime-node MatMulNBits (4 bits, block 32);
// - GEMM 1024³ with MXFP8 weights against onnxruntime-node fp32 MatMul and tfjs-backend-wasm.
// Peers (bench/peers.mjs) are reported as skipped when they are not installed.
import Benchmark from 'benchmark';
import { quantize } from '../dist/index.js';
import { createWasmBackend } from '../dist/kernels/wasm/index.js';
import { float16Peer, onnxPeer, tfjsWasmPeer } from './peers.mjs';

const N = 1 << 20;
const x = Float32Array.from({ length: N }, (_, i) => Math.sin(i * 0.37) * (1 + (i % 13)));
const dst = new Float32Array(N);

/** Run a suite of { name, fn, async } cases; resolve with { name, hz, rme } rows. */
function runSuite(cases, options = {}) {
  const suite = new Benchmark.Suite();
  for (const c of cases) {
    if (c.async) suite.add(c.name, { ...options, defer: true, fn: (d) => c.fn().then(() => d.resolve()) });
    else suite.add(c.name, c.fn, options);
  }
  return new Promise((resolve) => {
    suite.on('complete', () => resolve(suite.map((b) => ({ name: b.name, hz: b.hz, rme: b.stats.rme }))));
    suite.run({ async: true });
  });
}

function table(rows, unit, perOp, baseHz, baseLabel) {
  console.log(`| case | ${unit} | × ${baseLabel} | ±% |`);
  console.log('|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.name} | ${(r.hz * perOp).toFixed(1)} | ${(r.hz / baseHz).toFixed(3)} | ${r.rme.toFixed(1)} |`);
}

function msTable(rows, flops, peerRows) {
  console.log('| case | ms | GFLOP/s | ±% |');
  console.log('|---|---|---|---|');
  for (const r of [...rows, ...peerRows]) console.log(`| ${r.name} | ${(1000 / r.hz).toFixed(2)} | ${((r.hz * flops) / 1e9).toFixed(2)} | ${r.rme.toFixed(1)} |`);
}

export async function run() {
  const backends = [];
  for (const threads of [1, 2]) backends.push({ threads, b: await createWasmBackend({ threads }) });
  console.log(`wasm: ${backends.map(({ b }) => `${b.capabilities.threads} thread(s), ${b.capabilities.simd ? 'SIMD' : 'scalar'}`).join('; ')}`);

  // ---------------------------------------------------------------- quantize vs memcpy
  // Two lower bounds on any WASM quantize call, measured beside it: staging the input in linear
  // memory (a Float32Array.set into a WebAssembly.Memory view) and allocating a fresh 1 MiB packed
  // output (MXFP8's codes) — page faults of new memory, which dominate on some VMs.
  const wasmView = new Float32Array(new WebAssembly.Memory({ initial: (N * 4) / 65536 + 1 }).buffer, 0, N);
  const cases = [
    { name: 'memcpy (Float32Array.set)', fn: () => dst.set(x) },
    { name: 'bound: stage input in WASM memory', fn: () => wasmView.set(x) },
    { name: 'bound: allocate + fill a fresh 1 MiB output', fn: () => new Uint8Array(N).fill(1) },
  ];
  for (const f of ['mxfp8_e4m3', 'mxfp4', 'mxint8', 'mx9']) {
    for (const { threads, b } of backends) cases.push({ name: `quantize ${f}, ${threads}T`, async: true, fn: () => b.quantize(x, f) });
  }
  const q = quantize(x, 'mxfp4');
  for (const { threads, b } of backends) cases.push({ name: `dequantize mxfp4, ${threads}T`, async: true, fn: () => b.dequantize(q) });
  const rows = await runSuite(cases);
  console.log(`\ninput MB/s (${N} float32 values = ${(N * 4) / 2 ** 20} MiB per call; dequantize counts the float32 output)`);
  table(rows, 'MB/s', (N * 4) / 1e6, rows[0].hz, 'memcpy');

  // ---------------------------------------------------------------- fp16 / bf16 conversion
  const f16 = await float16Peer();
  const conv = [];
  if (f16) conv.push({ name: '@petamoriken/float16: new Float16Array(x)', fn: () => new f16.Float16Array(x) });
  for (const f of ['fp16', 'bf16']) for (const { threads, b } of backends) conv.push({ name: `wasm quantize ${f}, ${threads}T`, async: true, fn: () => b.quantize(x, f) });
  if (f16) {
    const h = new f16.Float16Array(x);
    conv.push({ name: '@petamoriken/float16: Float32Array.from(Float16Array)', fn: () => Float32Array.from(h) });
  }
  const qh = quantize(x, 'fp16');
  for (const { threads, b } of backends) conv.push({ name: `wasm dequantize fp16, ${threads}T`, async: true, fn: () => b.dequantize(qh) });
  const convRows = await runSuite(conv);
  console.log(`\nfp16/bf16 conversion, million values/s${f16 ? ' (× the first @petamoriken/float16 row; compare dequantize with its Float32Array.from row)' : ' (@petamoriken/float16 not installed)'}`);
  table(convRows, 'Mvalues/s', N / 1e6, convRows[0].hz, f16 ? 'float16 encode' : 'first row');

  // ---------------------------------------------------------------- matmul and peers
  const ort = await onnxPeer();
  const tfw = await tfjsWasmPeer();
  const K = 4096;
  const Nw = 4096;
  const wv = Float32Array.from({ length: Nw * K }, (_, i) => Math.sin(i * 0.01));
  const w4 = quantize(wv, 'mxfp4', { shape: [Nw, K] });
  const a1 = Float32Array.from({ length: K }, (_, i) => Math.cos(i * 0.3));
  const gemv = [];
  for (const { threads, b } of backends) gemv.push({ name: `wasm GEMV 1×${Nw}×${K} mxfp4, ${threads}T`, async: true, fn: () => b.matmul(a1, w4, { m: 1 }) });
  if (ort) {
    for (const threads of [1, 2]) {
      const r = await ort.matMulNBits(wv, Nw, K, 1, threads);
      gemv.push({ name: `onnxruntime-node MatMulNBits 4-bit b32, ${threads}T`, async: true, fn: () => r(a1) });
    }
  } else console.log('onnxruntime-node: not installed, peer skipped');
  const gemvRows = await runSuite(gemv);
  console.log('\nGEMV (y = a·wᵀ, float32 activations)');
  msTable(gemvRows, 2 * Nw * K, []);

  const G = 1024;
  const wg = Float32Array.from({ length: G * G }, (_, i) => Math.sin(i * 0.01));
  const w8 = quantize(wg, 'mxfp8_e4m3', { shape: [G, G] });
  const aG = Float32Array.from({ length: G * G }, (_, i) => Math.cos(i * 0.3));
  const gemm = [];
  for (const { threads, b } of backends) gemm.push({ name: `wasm GEMM ${G}³ mxfp8_e4m3, ${threads}T`, async: true, fn: () => b.matmul(aG, w8, { m: G }) });
  if (ort) {
    for (const threads of [1, 2]) {
      const r = await ort.matMul(wg, G, G, G, threads);
      gemm.push({ name: `onnxruntime-node MatMul fp32, ${threads}T`, async: true, fn: () => r(aG) });
    }
  }
  if (tfw) {
    const r = tfw.matMul(wg, G, G, G);
    gemm.push({ name: '@tensorflow/tfjs-backend-wasm matMul fp32, 1T', async: true, fn: () => r(aG) });
  } else console.log('@tensorflow/tfjs-backend-wasm: not installed, peer skipped');
  const gemmRows = await runSuite(gemm, { minSamples: 5, maxTime: 3 });
  console.log('\nGEMM (y = a·wᵀ, float32 activations)');
  msTable(gemmRows, 2 * G ** 3, []);
  for (const { b } of backends) await b.dispose();
}
