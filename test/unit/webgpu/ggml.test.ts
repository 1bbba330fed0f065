// Preset "ggml" on the WebGPU backend: ggml's own float32 quantizers for every ggml type (q8_0,
// q4_0, q4_1, q5_0, q5_1, ggml_mxfp4, ggml_nvfp4) take the GPU path, on the fused and the general
// kernels, and equal the reference bit for bit on the edges of ggml's arithmetic: reciprocals that
// overflow, scales past FP16, UE4M3's half-up rounding and caps, and float32 log2 rounding up to the
// next exponent. Skips the GPU part visibly without an adapter.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getFormat, type QuantizeOptions } from '../../../src/index.js';
import { resolveOptions } from '../../../src/formats/options.js';
import { fallbackReason } from '../../../src/kernels/webgpu/backend.js';
import { createWebGPUBackend, type WebGPUBackend } from '../../../src/kernels/webgpu/index.js';
import { float32Log2Thresholds } from '../../../src/formats/derived.js';
import { programOf } from '../../../src/kernels/webgpu/wgsl/program.js';
import { rng } from '../../helpers/random.js';
import { compareWithReference } from './compare.js';
import { probeGpu } from './gpu-env.js';
import { describeWhen } from '../../helpers/needs.js';

const env = await probeGpu();
const GGML_TYPES = ['q8_0', 'q4_0', 'q4_1', 'q5_0', 'q5_1', 'ggml_mxfp4', 'ggml_nvfp4'];

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const fromBits = (b: number) => ((u32[0] = b), f32[0]!);



/** The reference comparison under preset "ggml". */
function compare(b: WebGPUBackend, x: Float32Array, format: string, opts: QuantizeOptions): Promise<string[]> {
  return compareWithReference(b, x, format, { ...opts, preset: 'ggml' });
}

/** One block per entry: `scale` times a fixed pattern of `width` values, with extra rows of specials. */
function blocks(width: number, scales: number[], specials: number[][]): Float32Array {
  const out: number[] = [];
  const next = rng(width * 7 + scales.length);
  for (const s of scales) for (let j = 0; j < width; j++) out.push(Math.fround(s * (j === 3 ? 1 : j === 9 ? -1 : next() * 2 - 1)));
  for (const row of specials) for (let j = 0; j < width; j++) out.push(row[j % row.length]!);
  return Float32Array.from(out);
}

/** Block maxima at the edges of ggml's arithmetic. */
const EDGE_SCALES = [
  1, 0.75, 3e-40, 1e-44, 2 ** -121, 2 ** -126, 2 ** -128, 127 * 2 ** -126, 8 * 2 ** -129, 1e-38, 1e30, 3e38, 65504 * 127, 65520 * 127, 65504 * 8, 70000 * 15,
  // UE4M3 (amax/6): below 2^-6 (the subnormal clamp), ties of the half-up mantissa rounding, ≥ 448
  6 * 2 ** -7, 6 * 2 ** -10, 6 * 2 ** -12, 6 * 1.0625, 6 * 1.1875, 6 * 1.9375, 6 * 1.97, 6 * 248, 6 * 500,
  // MXFP4: just below powers of two, where float32(log2) rounds up to the next integer
  2 - 2 ** -23, 4 - 2 ** -22, 2 ** 100 * (1 - 2 ** -24), 2 ** -100 * (1 - 2 ** -24), 2 ** -3 * (1 - 2 ** -24),
];
const SPECIAL_ROWS = [
  [0],
  [-0],
  [0, -0],
  [-0, 0, 0],
  [1, NaN],
  [Infinity, 1],
  [-Infinity],
  [3e38, -3.3e38],
  [-3e38, 3.3e38, 0],
  [1e-45, -1e-45],
  [5, 5, 5],
  [127, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 126.5], // Q8_0 with d = 1: roundf ties go away from zero
];

describe('preset "ggml" leaves the CPU fallback', () => {
  it('fallbackReason is null for every ggml type under the ggml preset', () => {
    for (const name of GGML_TYPES) {
      const format = getFormat(name);
      const w = format.ggml!.blockElements;
      for (const opts of [{ preset: 'ggml', shape: [2, w] }, { preset: 'ggml', shape: [w, 2], axis: 0 }] as QuantizeOptions[]) {
        expect(fallbackReason(format, resolveOptions(format, 2 * w, opts), opts), name).toBeNull();
      }
      // a program of its own, not the default preset's
      const program = (preset: 'ggml' | 'ocp') => programOf(format, resolveOptions(format, w, { preset }));
      expect(program('ggml').key).not.toBe(program('ocp').key);
      expect(program('ggml').ggml).toBe(true);
    }
  });

  it('the log2 thresholds reproduce ⌊float32(log2 x)⌋ of the reference for every float32 binade', () => {
    const table = float32Log2Thresholds().map((t) => t ?? 0xffffffff);
    expect(table).toHaveLength(277);
    const rule = (bits: number) => {
      const e = bits < 0x00800000 ? 31 - Math.clz32(bits) - 149 : (bits >>> 23) - 127;
      return table[e + 149] !== 0xffffffff && bits >= table[e + 149]! ? e + 1 : e;
    };
    const want = (bits: number) => Math.floor(Math.fround(Math.log2(fromBits(bits))));
    const bad: string[] = [];
    const next = rng(5);
    for (let e = -149; e <= 127; e++) {
      const first = e < -126 ? 2 ** (e + 149) : (e + 127) * 2 ** 23;
      const last = e < -126 ? 2 ** (e + 150) - 1 : (e + 128) * 2 ** 23 - 1;
      const probes = [first, last, first + 1, last - 1];
      const t = table[e + 149]!;
      if (t !== 0xffffffff) for (let k = -64; k <= 64; k++) if (t + k >= first && t + k <= last) probes.push(t + k);
      for (let k = 0; k < 64; k++) probes.push(first + Math.floor(next() * (last - first + 1)));
      for (const b of probes) if (b >= first && b <= last && rule(b) !== want(b) && bad.length < 5) bad.push(`${fromBits(b)}: ${rule(b)}, want ${want(b)}`);
    }
    expect(bad).toEqual([]);
    // float32 log2 does round up below large powers of two
    expect(table.filter((b) => b !== 0xffffffff).length).toBeGreaterThan(200);
  });
});

describeWhen(`webgpu ggml preset on ${env.adapterName}`, env.missing, () => {
  let fused: WebGPUBackend;
  let general: WebGPUBackend;
  beforeAll(async () => {
    fused = await createWebGPUBackend({ gpu: env.gpu!, device: env.device! });
    general = await createWebGPUBackend({ gpu: env.gpu!, device: env.device!, fused: false });
  });
  afterAll(() => {
    fused?.dispose();
    general?.dispose();
  });

  it('the capability notes no longer list the ggml preset among the fallbacks', () => {
    const fallback = fused.capabilities.notes.find((s) => s.startsWith('falls back'));
    expect(fallback).not.toMatch(/ggml/);
    expect(fused.capabilities.notes.join(' ')).toMatch(/preset "ggml"/);
  });

  for (const format of GGML_TYPES) {
    it(`${format}: edge blocks, along the last axis and along axis 0, fused and general kernels`, async () => {
      const w = getFormat(format).ggml!.blockElements;
      const x = blocks(w, EDGE_SCALES, SPECIAL_ROWS);
      const rows = x.length / w;
      const t = new Float32Array(x.length);
      for (let r = 0; r < rows; r++) for (let j = 0; j < w; j++) t[j * rows + r] = x[r * w + j]!;
      const bad: string[] = [];
      for (const b of [fused, general]) {
        bad.push(...(await compare(b, x, format, { shape: [rows, w] })));
        bad.push(...(await compare(b, t, format, { shape: [w, rows], axis: 0 })));
      }
      expect(bad).toEqual([]);
    });
  }

  it('random tensors over the whole float32 range', async () => {
    const next = rng(99);
    const bad: string[] = [];
    for (const format of GGML_TYPES) {
      const w = getFormat(format).ggml!.blockElements;
      const n = 8 * w;
      const wide = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        let bits = Math.floor(next() * 2 ** 32) >>> 0;
        if (((bits >>> 23) & 0xff) === 0xff) bits ^= 0x40000000;
        wide[i] = fromBits(bits);
      }
      const narrow = Float32Array.from({ length: n }, () => (next() * 2 - 1) * 2 ** Math.floor(next() * 40 - 20));
      for (const x of [wide, narrow]) bad.push(...(await compare(fused, x, format, { shape: [8, w] })));
    }
    expect(bad).toEqual([]);
  });
});
