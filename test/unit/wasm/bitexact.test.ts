// The WASM backend against the reference, bit for bit: every catalog format plus generic ones, sizes
// 1…65 (partial blocks), axes other than the last, every option each format takes, all 65,536 bf16
// patterns, on the SIMD and scalar builds with one and two threads.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QuantizedTensor, getFormat, listFormats, referenceBackend, type Backend, type Format, type QuantizeOptions } from '../../../src/index.js';
import { createWasmBackend } from '../../../src/kernels/wasm/index.js';
import { CONFIGS, adversarial, diff, expectSameAsReference, f32Bits, tensorDiff } from './helpers.js';

const GENERIC = [
  'mx(elem=int(b=8,f=0),k=32)',
  'mx(elem=fp(e=3,m=4),k=16,d1=6)',
  'mx(elem=fp8_e5m2,k=8)',
  'mx(elem=fp(e=8,m=3,bias=-60),k=4)', // element values beyond float32: the float64 decode path
  'bdr(m=5,k1=32,d1=6,k2=4,d2=2)',
  'bdr(m=3,k1=8,d1=8)',
  'fp(e=4,m=3,nan=ones,sat=0)',
  'fp(e=5,m=2,inf=1,sat=0)',
  'fp(e=3,m=2,sub=0)',
  'fp(e=3,m=0)',
  'fp(e=4,m=2,bias=12)',
  'fp(e=4,m=3,signed=0)',
  'int(b=6,f=3,enc=offset)',
  'int(b=3,f=0,enc=unsigned)',
  'int(b=12,f=4,enc=signmag)',
];

const FORMATS: Format[] = [...listFormats(), ...GENERIC.map((g) => getFormat(g))];

/** Every option combination a format accepts, each on its own (plus a few pairs). */
function optionCases(f: Format): QuantizeOptions[] {
  const cases: QuantizeOptions[] = [{}];
  for (const rounding of ['rna', 'rtz'] as const) cases.push({ rounding });
  cases.push({ rounding: 'stochastic', seed: 7 }, { rounding: 'stochastic', seed: 0xfffffff1 });
  if (f.scheme === 'pow2') {
    for (const scaleMode of ['ceil', 'even', 'rceil'] as const) cases.push({ scaleMode });
    cases.push({ scaleBits: 5 }, { scaleBits: 2 }, { flushSubnormalBlocks: true }, { scaleMode: 'even', rounding: 'stochastic', seed: 3 });
    cases.push({ preset: 'microxcaling' }, { preset: 'microxcaling', rounding: 'rne', flushSubnormalBlocks: true }, { preset: 'microxcaling', scaleBits: 6 });
  }
  if (f.family === 'ggml') cases.push({ preset: 'ggml' });
  if (f.tensorScale) cases.push({ preset: 'torchao' }, { tensorScale: 1e-3 }, { tensorScale: 1e30 }, { preset: 'torchao', tensorScale: 0.25 });
  if (f.amaxUpperBound !== null) cases.push({ scaleUpperBound: 50 }, { scaleUpperBound: 1e-30 });
  if (f.granularity === 'block' && !f.requiresWholeBlocks) {
    const sub = f.subBlock?.size ?? 1;
    cases.push({ blockSize: 0 }, { blockSize: 3 * sub }, { blockSize: 7 * sub, rounding: 'stochastic', seed: 5 });
  }
  return cases;
}

/** Sizes and shapes: n = 1…65 (whole blocks for ggml-style formats) and axes other than the last. */
function shapeCases(f: Format): { shape: number[]; axis?: number }[] {
  if (f.requiresWholeBlocks) {
    const w = f.ggml ? f.ggml.blockElements : f.blockSize;
    return [{ shape: [w] }, { shape: [3 * w] }, { shape: [3, 2 * w] }, { shape: [w, 3], axis: 0 }, { shape: [2, w, 3], axis: 1 }];
  }
  const sizes: { shape: number[]; axis?: number }[] = [];
  for (let n = 1; n <= 65; n++) sizes.push({ shape: [n] });
  sizes.push({ shape: [3, 37] }, { shape: [37, 3], axis: 0 }, { shape: [2, 33, 5], axis: 1 }, { shape: [4, 16, 2], axis: -2 }, { shape: [0] });
  return sizes;
}

const isCastWithoutNaN = (f: Format) => f.scheme === 'cast' && ((f.element.kind === 'float' && f.element.nan === 'none') || f.element.kind === 'int');

for (const cfg of CONFIGS) {
  describe(`wasm ${cfg.label}: bit-exact with the reference`, () => {
    let b: Backend;
    beforeAll(async () => {
      b = await createWasmBackend(cfg.options);
    });
    afterAll(async () => {
      await b.dispose();
    });

    for (const f of FORMATS) {
      it(`${f.name}: sizes, shapes, options, special values`, async () => {
        let seed = 1;
        for (const s of shapeCases(f)) {
          const n = s.shape.reduce((a, c) => a * c, 1);
          const opts: QuantizeOptions = { shape: s.shape, ...(s.axis !== undefined ? { axis: s.axis } : {}) };
          await expectSameAsReference(b, adversarial(n, seed++), f.name, opts);
          if (isCastWithoutNaN(f)) await expectSameAsReference(b, adversarial(n, seed++, { finite: true }), f.name, opts);
        }
        const n = f.requiresWholeBlocks ? 4 * (f.ggml ? f.ggml.blockElements : f.blockSize) : 203;
        for (const o of optionCases(f)) {
          await expectSameAsReference(b, adversarial(n, seed++, { finite: isCastWithoutNaN(f) }), f, o);
          await expectSameAsReference(b, adversarial(n, seed++), f, { ...o, shape: f.requiresWholeBlocks ? [n / 4, 4] : [7, 29], axis: 0 });
        }
      });
    }
  });
}

// ------------------------------------------------------------------------------------ all bf16

/** All 65,536 bf16 bit patterns, shuffled so blocks mix magnitudes. */
function allBf16(shuffle: boolean, finite: boolean): Float32Array {
  let bits = Uint32Array.from({ length: 65536 }, (_, i) => i << 16);
  if (finite) bits = bits.filter((b) => (b & 0x7f800000) !== 0x7f800000);
  if (shuffle) {
    let s = 0x5eed;
    for (let i = bits.length - 1; i > 0; i--) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      const j = s % (i + 1);
      const t = bits[i]!;
      bits[i] = bits[j]!;
      bits[j] = t;
    }
  }
  return new Float32Array(bits.buffer);
}

const MAIN = ['mxfp8_e4m3', 'mxfp8_e5m2', 'mxfp6_e3m2', 'mxfp6_e2m3', 'mxfp4', 'mxint8', 'mx9', 'mx6', 'mx4', 'msfp12', 'msfp16', 'nvfp4', 'fp16', 'bf16', 'fp8_e4m3', 'fp8_e5m2', 'q8_0', 'q4_0', 'q4_1', 'q5_0', 'q5_1', 'ggml_mxfp4', 'ggml_nvfp4', 'int8_tensor', 'int8_channel', 'fp8_e4m3_rowwise', 'int4_rowwise_affine'];

interface Bf16Case {
  format: string;
  opts: QuantizeOptions;
  finite: boolean;
}

function bf16Cases(): Bf16Case[] {
  const cases: Bf16Case[] = [];
  for (const name of MAIN) {
    const f = getFormat(name);
    const finite = isCastWithoutNaN(f);
    const shape = f.granularity === 'axis' ? [-1, 256] : undefined;
    const base: QuantizeOptions = {};
    const add = (o: QuantizeOptions) => cases.push({ format: name, opts: { ...base, ...o, ...(shape ? { shape } : {}) }, finite });
    add({});
    add({ rounding: 'stochastic', seed: 11 });
    if (f.scheme === 'pow2') add({ preset: 'microxcaling' });
    if (f.family === 'ggml') add({ preset: 'ggml' });
  }
  return cases;
}

// Reference results are computed once and shared by the four configurations.
const bf16Reference = new Map<string, { q: QuantizedTensor; values: Uint32Array }>();

function bf16Input(c: Bf16Case): { x: Float32Array; opts: QuantizeOptions } {
  const x = allBf16(true, c.finite);
  const opts = c.opts.shape ? { ...c.opts, shape: [x.length / 256, 256] } : c.opts;
  return { x, opts };
}

async function referenceFor(c: Bf16Case) {
  const key = JSON.stringify(c);
  let r = bf16Reference.get(key);
  if (!r) {
    const { x, opts } = bf16Input(c);
    const q = await referenceBackend.quantize(x, c.format, opts);
    r = { q, values: f32Bits((await referenceBackend.dequantize(q)) as Float32Array) };
    bf16Reference.set(key, r);
  }
  return r;
}

for (const cfg of CONFIGS) {
  describe(`wasm ${cfg.label}: all 65,536 bf16 patterns`, () => {
    let b: Backend;
    beforeAll(async () => {
      b = await createWasmBackend(cfg.options);
    });
    afterAll(async () => {
      await b.dispose();
    });
    for (const c of bf16Cases()) {
      it(`${c.format} ${JSON.stringify(c.opts)}`, async () => {
        const want = await referenceFor(c);
        const { x, opts } = bf16Input(c);
        expect(tensorDiff(await b.quantize(x, c.format, opts), want.q)).toEqual([]);
        expect(diff('fakeQuantize', f32Bits(await b.fakeQuantize(x, c.format, opts)), want.values)).toEqual([]);
        expect(diff('dequantize', f32Bits(await b.dequantize(want.q)), want.values)).toEqual([]);
      });
    }
  });
}
