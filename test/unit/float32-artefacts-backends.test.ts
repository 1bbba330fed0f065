// WASM and WebGPU against the reference on inputs that trigger the presets' float32 artefacts:
// block maxima and elements among the top float32 values of a binade (float32 log2 rounds up),
// maxima near FLT_MAX, scaled values of 0.5 − 2^−25 (float32 half-add), and ggml blocks below 2^−125.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { referenceBackend, type Backend, type QuantizeOptions } from '../../src/index.js';
import { createWasmBackend } from '../../src/kernels/wasm/index.js';
import { createWebGPUBackend } from '../../src/kernels/webgpu/index.js';
import { rng } from '../helpers/random.js';
import { probeGpu } from './webgpu/gpu-env.js';

/** Blocks of 32 whose values sit where float32 log2 and |t| + 0.5 round differently from exact arithmetic. */
function artefactInput(blocks: number, seed: number): Float32Array {
  const next = rng(seed);
  const x = new Float32Array(32 * blocks);
  const u = new Uint32Array(x.buffer);
  for (let b = 0; b < blocks; b++) {
    const field = 1 + Math.floor(next() * 254);
    const kind = b % 4;
    for (let j = 0; j < 32; j++) {
      const sign = next() < 0.5 ? 0x80000000 : 0;
      const r = next();
      let bits: number;
      if (kind === 0) bits = ((field + 1) << 23) - 1 - Math.floor(next() * 48); // top of a binade
      else if (kind === 1) bits = 0x7f7fffff - Math.floor(next() * 60); // near FLT_MAX
      else if (kind === 2) bits = (Math.max(field - Math.floor(next() * 12), 1) << 23) | 0x7fffff; // 0.5 − 2^−25 patterns below the max
      else bits = Math.floor(next() * 0x03000000); // tiny: subnormal and flushed blocks
      if (r < 0.2) bits = ((field + 1) << 23) - 1; // the block maximum in the round-up zone
      u[32 * b + j] = (bits | sign) >>> 0;
    }
  }
  return x;
}

const MX = ['mxfp8_e4m3', 'mxfp8_e5m2', 'mxfp6_e3m2', 'mxfp6_e2m3', 'mxfp4', 'mxint8', 'mxint4', 'mxbf16', 'mxfp16'];
const VARIANTS: QuantizeOptions[] = [{ rounding: 'rna' }, { rounding: 'rne' }, { rounding: 'rtz' }, { rounding: 'stochastic', seed: 3 }, { flushSubnormalBlocks: true }];
const GGML: [string, QuantizeOptions][] = ['ggml_mxfp4', 'ggml_nvfp4', 'q4_0', 'q4_1', 'q5_0', 'q5_1', 'q8_0'].map((f) => [f, { preset: 'ggml' }]);
/** Every format with every variant (WASM), or each format with one variant in turn (a software GPU is slow). */
function cases(all: boolean): [string, QuantizeOptions][] {
  const mx = MX.flatMap((f, i) => (all ? VARIANTS : [VARIANTS[i % VARIANTS.length]!]).map((v): [string, QuantizeOptions] => [f, { preset: 'microxcaling', ...v }]));
  return [...mx, ['mxfp4', { preset: 'microxcaling', scaleBits: 5 }], ...GGML];
}

const gpu = await probeGpu();
const BACKENDS: [string, () => Promise<Backend>, [string, QuantizeOptions][]][] = [['wasm', () => createWasmBackend({ threads: 1 }), cases(true)]];
if (gpu.gpu) BACKENDS.push([`webgpu (${gpu.adapterName})`, () => createWebGPUBackend({ gpu: gpu.gpu! }), cases(false)]);

for (const [label, make, CASES] of BACKENDS) {
  describe(`float32 artefacts of the presets on ${label}: bit-exact with the reference`, () => {
    let backend: Backend;
    beforeAll(async () => {
      backend = await make();
    });
    afterAll(async () => {
      await backend?.dispose();
    });
    it('quantize codes and scales, fakeQuantize bits', async () => {
      const bad: string[] = [];
      let seed = 1;
      for (const [format, opts] of CASES) {
        const x = artefactInput(format === 'ggml_nvfp4' ? 16 : 8, seed++);
        const want = await referenceBackend.quantize(x, format, opts);
        const got = await backend.quantize(x, format, opts);
        const same = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.from(a).every((v, i) => v === b[i]);
        if (!same(got.codes, want.codes) || !same(got.scales, want.scales)) bad.push(`${format} ${JSON.stringify(opts)}: codes or scales differ`);
        const fq = new Uint32Array((await backend.fakeQuantize(x, format, opts)).buffer);
        const fw = new Uint32Array((await referenceBackend.fakeQuantize(x, format, opts)).buffer);
        const nan = (b: number) => (b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0;
        if (!Array.from(fq).every((v, i) => v === fw[i] || (nan(v) && nan(fw[i]!)))) bad.push(`${format} ${JSON.stringify(opts)}: fakeQuantize differs`);
      }
      expect(bad).toEqual([]);
    });
  });
}
