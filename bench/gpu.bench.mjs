// WebGPU throughput against the built package (dist/): quantize (packed output) and dequantize in
// GB/s of bytes read + written, next to two copies of the input measured in the same run (the
// queue's copyBufferToBuffer, and a WGSL kernel moving one vec4 per thread), for 1 Mi…256 Mi
// elements; matmul TFLOP/s for 4096³ and 8192³ with MXFP8 and MXFP4 weights. Every timed format,
// and more formats and presets (GPU_BENCH_VERIFY, entries "format@preset"), is first checked bit
// for bit against the reference codec on 1 Mi random values with special values.
//
//   node bench/gpu.bench.mjs            (needs `npm run build` and the `webgpu` package, or a browser)
//   OUT=dir node bench/gpu.bench.mjs    also writes dir/gpu-results.json with every measurement
//   GPU_BENCH_SIZES=1,4 GPU_BENCH_FORMATS=mxfp4 GPU_BENCH_MATMUL= GPU_BENCH_EPT=8   narrower runs
//
// On the lent H200: `bash .device/remote.sh node bench/gpu.bench.mjs` (see ../shared/device/README.md).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const MI = 2 ** 20;
const SIZES = (process.env.GPU_BENCH_SIZES ?? '1,4,16,64,256').split(',').map((s) => Number(s) * MI);
const FORMATS = (process.env.GPU_BENCH_FORMATS ?? 'mxfp8_e4m3,mxfp4,mx9,nvfp4,mxfp6_e3m2,bf16').split(',');
const MATMUL_SIZES = (process.env.GPU_BENCH_MATMUL ?? '4096,8192').split(',').filter(Boolean).map(Number);
const MATMUL_FORMATS = ['mxfp8_e4m3', 'mxfp4'];
/** Formats only checked bit for bit on the device (every timed format is checked too). */
const VERIFY_ONLY = (process.env.GPU_BENCH_VERIFY ?? 'mxfp6_e2m3,mxint8,mx6,mx4,msfp12,q8_0,q4_0,q4_1,q5_0,q5_1,int8_rowwise_affine,int4_rowwise_affine,fp8_e4m3_rowwise,' +
    'q8_0@ggml,q4_0@ggml,q4_1@ggml,q5_0@ggml,q5_1@ggml,ggml_mxfp4@ggml,ggml_nvfp4@ggml,mxfp8_e4m3@microxcaling,nvfp4@torchao')
  .split(',')
  .filter(Boolean);
/** Seconds of device work in one submission of r runs (see measure). */
const TARGET_S = 0.1;
/** Most runs recorded in one submission. */
const MAX_REPS = 4000;
/** Submissions of r and of 2r runs per measurement (the fastest of each is kept). */
const TRIALS = 5;
/** Elements per thread of the fused quantize kernel (default: the backend's choice). */
const EPT = process.env.GPU_BENCH_EPT ? Number(process.env.GPU_BENCH_EPT) : undefined;

function log(...a) {
  console.error(...a);
}

/**
 * Seconds per run: the fastest of TRIALS submissions of 2r runs minus the fastest of TRIALS of r
 * runs, divided by r, so the fixed cost of a submission (submit, completion callback) drops out and
 * what remains is the device time per run (minimums, because interruptions only add time); r is
 * chosen so that r runs last about TARGET_S.
 */
async function measure(op) {
  await op.run(2);
  const once = Math.max(await op.run(1), 1e-6);
  const probe = await op.run(64);
  const perRun = Math.max((probe - once) / 63, 1e-7);
  const reps = Math.max(8, Math.min(MAX_REPS, Math.ceil(TARGET_S / perRun)));
  let t1 = Infinity;
  let t2 = Infinity;
  for (let t = 0; t < TRIALS; t++) {
    t1 = Math.min(t1, await op.run(reps));
    t2 = Math.min(t2, await op.run(2 * reps));
  }
  const best = t2 > t1 ? (t2 - t1) / reps : t2 / (2 * reps);
  const fixed = Math.max(0, t1 - best * reps);
  return {
    submissionOverheadSeconds: fixed,
    seconds: best,
    reps,
    gbps: (op.bytesRead + op.bytesWritten) / best / 1e9,
    tflops: op.flops ? op.flops / best / 1e12 : 0,
    bytesRead: op.bytesRead,
    bytesWritten: op.bytesWritten,
  };
}

function random(n, seed) {
  let s = seed >>> 0 || 1;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    x[i] = ((s / 4294967296) * 2 - 1) * 2 ** ((s & 15) - 8);
  }
  return x;
}

function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function equalF32(a, b) {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return false;
  return true;
}

/** Bit-exactness of the device's quantize/dequantize against the reference on 1 Mi values. */
async function verify(backend, core, entry) {
  const [format, preset] = entry.split('@');
  const opts = preset ? { preset } : undefined;
  const x = random(MI, 12345);
  for (let i = 0; i < 64; i++) x[(i * 16411) % MI] = [NaN, Infinity, -0, 1e-45, 3e38, -(2 ** -130)][i % 6];
  let qr;
  try {
    qr = core.quantize(x, format, opts);
  } catch (e) {
    // the reference rejects this input for the format: the device must reject it alike
    return backend.quantize(x, format, opts).then(
      () => false,
      (g) => g.message === e.message,
    );
  }
  const qg = await backend.quantize(x, format, opts);
  const dr = core.dequantize(qr);
  const bytes = (a) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  return (
    equalBytes(qg.codes, qr.codes) &&
    equalBytes(bytes(qg.scales), bytes(qr.scales)) &&
    equalBytes(bytes(qg.offsets), bytes(qr.offsets)) &&
    equalBytes(qg.subScales, qr.subScales) &&
    Object.is(qg.tensorScale, qr.tensorScale) &&
    equalF32(await backend.dequantize(qr), dr) &&
    equalF32(await backend.fakeQuantize(x, format, opts), dr)
  );
}

export async function run() {
  const started = Date.now();
  let backend;
  let core;
  try {
    core = await import('../dist/index.js');
    const { createWebGPUBackend } = await import('../dist/kernels/webgpu/index.js');
    backend = await createWebGPUBackend(EPT ? { fusedElementsPerThread: EPT } : {});
  } catch (e) {
    console.log(`gpu bench skipped: ${e.message}`);
    return;
  }
  const device = backend.capabilities.notes[0];
  log(device);
  const results = { date: new Date().toISOString(), node: process.version, device, adapter: backend.adapterInfo, verified: {}, copy: [], ops: [], matmul: [] };

  for (const f of [...FORMATS, ...VERIFY_ONLY.filter((v) => !FORMATS.includes(v))]) {
    results.verified[f] = await verify(backend, core, f);
    log(`verify ${f}: ${results.verified[f] ? 'bit-exact' : 'MISMATCH'}`);
  }

  for (const n of SIZES) {
    const copy = await backend.kernels.prepareCopy(n * 4, 'buffer');
    const b = await measure(copy);
    copy.dispose();
    const shaderCopy = await backend.kernels.prepareCopy(n * 4, 'shader');
    const c = await measure(shaderCopy);
    shaderCopy.dispose();
    results.copy.push({ n, buffer: b, shader: c });
    log(`n=${n / MI}Mi copyBufferToBuffer ${b.gbps.toFixed(0)} GB/s, shader copy ${c.gbps.toFixed(0)} GB/s`);
    for (const f of FORMATS) {
      const q = await backend.kernels.prepareQuantize(f, { n });
      const qm = await measure(q);
      const d = await backend.kernels.prepareDequantize(q);
      const dm = await measure(d);
      d.dispose();
      q.dispose();
      const ratios = (m) => ({ ofShaderCopy: m.gbps / c.gbps, ofBufferCopy: m.gbps / b.gbps });
      results.ops.push({ n, format: f, op: 'quantize', ...qm, ...ratios(qm) });
      results.ops.push({ n, format: f, op: 'dequantize', ...dm, ...ratios(dm) });
      log(`n=${n / MI}Mi ${f}: quantize ${qm.gbps.toFixed(0)} GB/s (${(qm.gbps / c.gbps).toFixed(2)}× shader copy), dequantize ${dm.gbps.toFixed(0)} GB/s`);
    }
  }

  for (const size of MATMUL_SIZES) {
    const wx = random(size * size, 777);
    for (const f of MATMUL_FORMATS) {
      const w = await backend.quantize(wx, f, { shape: [size, size] });
      const op = await backend.kernels.prepareMatmul(w, size);
      const m = await measure(op);
      op.dispose();
      results.matmul.push({ size, format: f, ...m });
      log(`matmul ${size}³ ${f}: ${m.tflops.toFixed(2)} TFLOP/s`);
    }
  }

  backend.dispose();
  results.seconds = (Date.now() - started) / 1000;
  if (process.env.OUT) {
    mkdirSync(process.env.OUT, { recursive: true });
    writeFileSync(join(process.env.OUT, 'gpu-results.json'), JSON.stringify(results, null, 2));
  }
  printTable(results);
}

function printTable(r) {
  const lines = [];
  lines.push(`${r.device}`);
  lines.push(`verified bit-exact on 1 Mi values: ${Object.entries(r.verified).map(([f, ok]) => `${f} ${ok ? 'yes' : 'NO'}`).join(', ')}`);
  lines.push('GB/s of bytes read + written; quantize (× shader copy / × copyBufferToBuffer) / dequantize');
  lines.push('');
  lines.push(`| elements | copyBufferToBuffer | shader copy | ${FORMATS.join(' | ')} |`);
  lines.push(`|---|---|---|${FORMATS.map(() => '---').join('|')}|`);
  for (const c of r.copy) {
    const cells = FORMATS.map((f) => {
      const q = r.ops.find((o) => o.n === c.n && o.format === f && o.op === 'quantize');
      const d = r.ops.find((o) => o.n === c.n && o.format === f && o.op === 'dequantize');
      return `${q.gbps.toFixed(0)} (${q.ofShaderCopy.toFixed(2)} / ${q.ofBufferCopy.toFixed(2)}) / ${d.gbps.toFixed(0)}`;
    });
    lines.push(`| ${c.n / MI} Mi | ${c.buffer.gbps.toFixed(0)} | ${c.shader.gbps.toFixed(0)} | ${cells.join(' | ')} |`);
  }
  lines.push('');
  lines.push('| matmul | weights | TFLOP/s | ms |');
  lines.push('|---|---|---|---|');
  for (const m of r.matmul) lines.push(`| ${m.size}³ | ${m.format} | ${m.tflops.toFixed(2)} | ${(m.seconds * 1000).toFixed(1)} |`);
  lines.push(`total ${r.seconds.toFixed(0)} s`);
  console.log(lines.join('\n'));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await run();
