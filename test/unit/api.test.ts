import { describe, expect, it } from 'vitest';
import {
  EncodingError,
  FormatError,
  OptionError,
  ShapeError,
  dequantize,
  fakeQuantize,
  matmul,
  quantize,
  unpackCodes,
  type QuantizeOptions,
} from '../../src/index.js';

const x32 = Float32Array.from({ length: 32 }, (_, i) => i - 16);

describe('bad input throws typed errors that name the fix', () => {
  it.each<[string, () => unknown, new (...a: never[]) => Error, RegExp]>([
    ['unknown format', () => quantize(x32, 'mxfp3'), FormatError, /unknown format "mxfp3".*Known formats: .*mxfp4/],
    ['not a Float32Array', () => quantize([1, 2, 3] as unknown as Float32Array, 'mxfp4'), OptionError, /Float32Array/],
    ['shape product', () => quantize(x32, 'mxfp4', { shape: [3, 10] }), ShapeError, /holds 30 elements but the input has 32/],
    ['non-integer shape', () => quantize(x32, 'mxfp4', { shape: [2.5, 12.8] }), ShapeError, /non-negative integers/],
    ['axis out of range', () => quantize(x32, 'mxfp4', { shape: [4, 8], axis: 2 }), ShapeError, /axis 2 is out of range/],
    ['negative block size', () => quantize(x32, 'mxfp4', { blockSize: -4 }), OptionError, /blockSize/],
    ['fractional block size', () => quantize(x32, 'mxfp4', { blockSize: 2.5 }), OptionError, /blockSize/],
    ['ggml fixed block', () => quantize(x32, 'q4_0', { blockSize: 16 }), OptionError, /fixed block of 32/],
    ['ggml whole blocks', () => quantize(new Float32Array(48), 'q8_0'), ShapeError, /pad the axis to a multiple of 32/],
    ['sub-block must divide', () => quantize(x32, 'mx9', { blockSize: 15 }), OptionError, /multiple of its 2-element sub-block/],
    ['unknown option', () => quantize(x32, 'mxfp4', { blocksize: 16 } as QuantizeOptions), OptionError, /unknown option "blocksize"/],
    ['bad rounding', () => quantize(x32, 'mxfp4', { rounding: 'nearest' as 'rne' }), OptionError, /rne, rna, rtz, stochastic/],
    ['scaleMode on scaled format', () => quantize(x32, 'nvfp4', { scaleMode: 'ceil' }), OptionError, /scaleMode applies/],
    ['scaleBits range', () => quantize(x32, 'mxfp4', { scaleBits: 12 }), OptionError, /2…8/],
    ['microxcaling on ggml', () => quantize(x32, 'q4_0', { preset: 'microxcaling' }), OptionError, /power-of-two block formats/],
    ['ggml preset on OCP', () => quantize(x32, 'mxfp4', { preset: 'ggml' }), OptionError, /ggml types/],
    ['seed', () => quantize(x32, 'mxfp4', { seed: -1 }), OptionError, /seed/],
    ['NaN into FP4 cast', () => quantize(Float32Array.from([1, NaN]), 'fp4_e2m1'), EncodingError, /input\[1\].*no NaN encoding/],
    ['negative into E8M0', () => quantize(Float32Array.from([-2]), 'e8m0'), EncodingError, /unsigned/],
    ['block size on a scalar', () => quantize(x32, 'fp8_e4m3', { blockSize: 4 }), OptionError, /scalar format/],
    ['dequantize of junk', () => dequantize({} as never), OptionError, /QuantizedTensor/],
  ])('%s', (_, f, type, msg) => {
    expect(f).toThrow(type);
    expect(f).toThrow(msg);
  });
});

describe('special values follow the documented policy', () => {
  const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length), (b) => b.toString(16));

  it('NaN or ±Inf in an OCP block: scale 0xFF, the whole block decodes to NaN, other blocks untouched', () => {
    const x = Float32Array.from({ length: 64 }, (_, i) => i / 7);
    x[3] = Infinity;
    const q = quantize(x, 'mxfp8_e5m2');
    expect(q.scales[0]).toBe(0xff);
    const d = dequantize(q);
    expect(Array.from(d.subarray(0, 32)).every(Number.isNaN)).toBe(true);
    expect(Array.from(d.subarray(32)).every(Number.isFinite)).toBe(true);
    x[3] = NaN;
    expect(Array.from(fakeQuantize(x, 'mx9').subarray(0, 16)).every(Number.isNaN)).toBe(true);
  });

  it('NaN in a scaled block gives a NaN scale for that block only', () => {
    const x = Float32Array.from({ length: 64 }, (_, i) => i / 7);
    x[40] = NaN;
    const d = fakeQuantize(x, 'q8_0');
    expect(Number.isNaN(d[33]!)).toBe(true);
    expect(Number.isFinite(d[31]!)).toBe(true);
  });

  it('−0 survives in float and sign-magnitude elements, not in two’s complement', () => {
    const x = Float32Array.from({ length: 32 }, (_, i) => (i === 0 ? 4 : i === 1 ? -0 : i === 2 ? -1e-9 : 0));
    for (const f of ['mxfp8_e4m3', 'mxfp4', 'mx6', 'mx4']) {
      const d = fakeQuantize(x, f);
      expect(Object.is(d[1], -0), f).toBe(true);
      expect(Object.is(d[2], -0), f).toBe(true);
    }
    expect(Object.is(fakeQuantize(x, 'mxint8')[2], 0)).toBe(true);
    // microxcaling: ±0 inputs give +0; negative values that round to zero give −0 (sign-magnitude ints)
    const m = fakeQuantize(x, 'mxint8', { preset: 'microxcaling' });
    expect(Object.is(m[1], 0)).toBe(true);
    expect(Object.is(m[2], -0)).toBe(true);
  });

  it('scalar casts: IEEE formats overflow to Inf, OCP FP8/FP6/FP4 saturate, E4M3 NaN is 0x7F/0xFF', () => {
    expect(Array.from(fakeQuantize(Float32Array.from([65520, 65519, -1e9]), 'fp16'))).toEqual([Infinity, 65504, -Infinity]);
    expect(Array.from(fakeQuantize(Float32Array.from([1e6, -500, Infinity]), 'fp8_e4m3'))).toEqual([448, -448, 448]);
    expect(Array.from(fakeQuantize(Float32Array.from([7, -100]), 'fp4_e2m1'))).toEqual([6, -6]);
    expect(Array.from(quantize(Float32Array.from([NaN, -NaN]), 'fp8_e4m3').codes)).toEqual([0x7f, 0x7f]);
    expect(bits(fakeQuantize(Float32Array.from([-0]), 'bf16'))).toEqual(['80000000']);
  });

  it('float32 subnormal inputs are quantized exactly (no flush) unless flushSubnormalBlocks', () => {
    const x = Float32Array.from({ length: 32 }, (_, i) => (i + 1) * 2 ** -149 * 1000);
    const d = fakeQuantize(x, 'mxfp8_e4m3');
    expect(d.some((v) => v !== 0)).toBe(true);
    const f = fakeQuantize(x, 'mxfp8_e4m3', { flushSubnormalBlocks: true });
    expect(Array.from(f).every((v) => Object.is(v, 0))).toBe(true);
  });

  it('empty tensors are fine', () => {
    expect(dequantize(quantize(new Float32Array(0), 'mxfp4')).length).toBe(0);
    expect(quantize(new Float32Array(0), 'mxfp4', { shape: [0, 32] }).scales.length).toBe(0);
  });
});

describe('rounding modes', () => {
  const ties = Float32Array.from([0.25, 0.75, 1.25, -0.75, 2.5, 5, -5]); // e2m1 midpoints
  it.each([
    ['rne', [0, 1, 1, -1, 2, 4, -4]],
    ['rna', [0.5, 1, 1.5, -1, 3, 6, -6]],
    ['rtz', [0, 0.5, 1, -0.5, 2, 4, -4]],
  ] as const)('%s on FP4 midpoints', (mode, want) => {
    expect(Array.from(fakeQuantize(ties, 'fp4_e2m1', { rounding: mode }))).toEqual(want);
  });

  it('stochastic rounding is counter-based: reproducible, seed-dependent, unbiased on average', () => {
    const x = new Float32Array(20000).fill(1.25); // between 1 and 1.5 on the E2M1 grid
    const a = fakeQuantize(x, 'fp4_e2m1', { rounding: 'stochastic', seed: 5 });
    const b = fakeQuantize(x, 'fp4_e2m1', { rounding: 'stochastic', seed: 5 });
    const c = fakeQuantize(x, 'fp4_e2m1', { rounding: 'stochastic', seed: 6 });
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(new Set(a)).toEqual(new Set([1, 1.5]));
    const mean = a.reduce((s, v) => s + v, 0) / a.length;
    expect(Math.abs(mean - 1.25)).toBeLessThan(0.01);
  });
});

describe('layout: blocks along any axis, partial blocks, whole-axis blocks', () => {
  it('axis 0 blocks equal transposing, quantizing along the last axis and transposing back', () => {
    const [r, c] = [40, 3];
    const x = Float32Array.from({ length: r * c }, (_, i) => Math.sin(i * 1.3) * (1 + (i % 7)));
    const xt = new Float32Array(r * c);
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) xt[j * r + i] = x[i * c + j]!;
    const a = fakeQuantize(x, 'mxfp6_e2m3', { shape: [r, c], axis: 0 });
    const bt = fakeQuantize(xt, 'mxfp6_e2m3', { shape: [c, r] });
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) expect(a[i * c + j]).toBe(bt[j * r + i]);
  });

  it('a partial last block behaves like a block of its own length; blockSize 0 is the whole axis', () => {
    const x = Float32Array.from({ length: 40 }, (_, i) => (i < 32 ? 0.01 * i : 100 + i));
    const d = fakeQuantize(x, 'mxfp8_e4m3');
    expect(Array.from(d.subarray(32))).toEqual(Array.from(fakeQuantize(x.slice(32), 'mxfp8_e4m3')));
    const whole = quantize(x, 'mxfp8_e4m3', { blockSize: 0 });
    expect(whole.scales.length).toBe(1);
  });

  it('packed storage: FP4 two per byte, FP6 four per three bytes, MX9 9 bits per element', () => {
    const x = Float32Array.from({ length: 64 }, (_, i) => i);
    expect(quantize(x, 'mxfp4').codes.length).toBe(32);
    expect(quantize(x, 'mxfp6_e3m2').codes.length).toBe(48);
    const q = quantize(x, 'mx9');
    expect(q.codes.length + q.scales.length + q.subScales.length).toBe(72);
    expect(q.bitsPerElement).toBe(9);
    expect(unpackCodes(q.subScales, 1, 32).length).toBe(32);
  });
});

describe('matmul', () => {
  it('y = a·wᵀ with weights quantized along K, against float64 dequantized math', () => {
    const [m, N, K] = [3, 5, 70];
    const a = Float32Array.from({ length: m * K }, (_, i) => Math.cos(i));
    const wf = Float32Array.from({ length: N * K }, (_, i) => Math.sin(i * 0.37));
    const w = quantize(wf, 'mxfp8_e4m3', { shape: [N, K] });
    const wd = dequantize(w);
    const y = matmul(a, w, { m });
    for (let i = 0; i < m; i++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a[i * K + k]! * wd[n * K + k]!;
        expect(y[i * N + n]).toBe(Math.fround(s));
      }
    }
    const aq = quantize(a, 'mxfp8_e4m3', { shape: [m, K] });
    expect(matmul(aq, w, { m })).toEqual(matmul(dequantize(aq), w, { m }));
  });

  it('shape errors', () => {
    const w = quantize(new Float32Array(64), 'mxfp4', { shape: [2, 32] });
    expect(() => matmul(new Float32Array(63), w, { m: 2 })).toThrow(/m·K = 2·32 = 64/);
    expect(() => matmul(new Float32Array(64), quantize(new Float32Array(64), 'mxfp4', { shape: [32, 2], axis: 0 }), { m: 32 })).toThrow(/blocked along K/);
    expect(() => matmul(new Float32Array(64), quantize(new Float32Array(64), 'mxfp4'), { m: 1 })).toThrow(/shape \[N, K\]/);
  });
});
