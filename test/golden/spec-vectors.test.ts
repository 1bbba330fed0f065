// docs/specification.md §10: exact vectors (codes, scales and packed bytes).
import { describe, expect, it } from 'vitest';
import { dequantize, quantize, toGgmlBlocks, unpackCodes } from '../../src/index.js';

const hex = (b: ArrayLike<number>) => Array.from(b, (v) => v.toString(16).padStart(2, '0')).join(' ');
const block32 = (head: number[]) => Float32Array.from([...head, ...new Array(32 - head.length).fill(0)]);

describe('docs/specification.md §10 vectors', () => {
  const mxfp4In = Float32Array.from({ length: 32 }, (_, i) => (i - 13) * 0.375);
  mxfp4In[5] = 0.0625;
  mxfp4In[30] = 5.0;
  mxfp4In[31] = 6.375;

  it('MXFP4 (OCP floor, RNE, saturate): scale, codes, adjacent packing', () => {
    const q = quantize(mxfp4In, 'mxfp4');
    expect(hex(q.scales)).toBe('7f');
    expect(Array.from(unpackCodes(q.codes, 4, 32))).toEqual(
      [14, 14, 14, 14, 13, 0, 13, 12, 12, 11, 10, 10, 9, 0, 1, 2, 2, 3, 4, 4, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 6, 7],
    );
    expect(hex(q.codes)).toBe('ee ee 0d cd bc aa 09 21 32 44 55 65 66 76 77 76');
    expect(Array.from(dequantize(q))).toEqual(
      [-4, -4, -4, -4, -3, 0, -3, -2, -2, -1.5, -1, -1, -0.5, 0, 0.5, 1, 1, 1.5, 2, 2, 3, 3, 3, 4, 4, 4, 4, 6, 6, 6, 4, 6],
    );
  });

  it('MXFP4 in ggml block layout, with RNE codes and with ggml’s own quantizer', () => {
    expect(hex(toGgmlBlocks(quantize(mxfp4In, 'ggml_mxfp4')))).toBe('7f 2e 3e 4e 4e 5d 50 5d 6c 6c 6b 6a 7a 79 70 61 72');
    expect(hex(toGgmlBlocks(quantize(mxfp4In, 'ggml_mxfp4', { preset: 'ggml' })))).toBe(
      '7f 2e 3e 4e 4e 5d 50 5d 6c 6c 6b 6a 79 79 70 61 71',
    );
  });

  it('MXFP8 E4M3: −300 → −288, 500 saturates to 448, −0 kept', () => {
    const q = quantize(block32([448, -300, 1, 2 ** -9, 500, -0]), 'mxfp8_e4m3');
    expect(hex(q.scales)).toBe('7f');
    const d = dequantize(q);
    expect(Array.from(d.subarray(0, 6))).toEqual([448, -288, 1, 2 ** -9, 448, -0]);
    expect(Object.is(d[5], -0)).toBe(true);
  });

  it('MXINT8: codes 40 d0 20 00 c0 (0.5078125·64 ties to 32)', () => {
    const q = quantize(block32([1, -0.75, 0.5078125, 2 ** -8, -1]), 'mxint8');
    expect(hex(q.scales)).toBe('7f');
    expect(hex(q.codes.subarray(0, 5))).toBe('40 d0 20 00 c0');
  });

  it('MX6: exponent, microexponents, signed magnitudes and decoded values', () => {
    const x = Float32Array.from([3, 0.5, 0.25, -0.1875, 1, 1, -2, 0, 0, 0, 3.9375, 3.96875, 0.03125, -0.046875, 1.5, 0.75]);
    const q = quantize(x, 'mx6');
    expect(hex(q.scales)).toBe('80');
    expect(Array.from(unpackCodes(q.subScales, 1, 8))).toEqual([0, 1, 1, 0, 1, 0, 1, 1]);
    const codes = Array.from(unpackCodes(q.codes, 5, 16), (c) => (c & 16 ? -(c & 15) : c));
    expect(codes).toEqual([12, 2, 2, -2, 8, 8, -8, 0, 0, 0, 15, 15, 0, -0, 12, 6]);
    const d = Array.from(dequantize(q));
    expect(d).toEqual([3, 0.5, 0.25, -0.25, 1, 1, -2, 0, 0, 0, 3.75, 3.75, 0, -0, 1.5, 0.75]);
    expect(Object.is(d[13], -0)).toBe(true);
  });

  it('GGML Q4_0: d = −0.59375 and the block bytes, both quantizers', () => {
    const x = Float32Array.from({ length: 32 }, (_, i) => (i - 12) * 0.25);
    const want = 'c0 b8 6d 6d 5c 5c 5b 4b 4b 3a 3a 39 29 28 18 18 07 07';
    expect(hex(toGgmlBlocks(quantize(x, 'q4_0', { preset: 'ggml' })))).toBe(want);
    const q = quantize(x, 'q4_0');
    expect(Array.from(unpackCodes(q.codes, 4, 32))).toEqual(
      [13, 13, 12, 12, 11, 11, 11, 10, 10, 9, 9, 8, 8, 8, 7, 7, 6, 6, 5, 5, 5, 4, 4, 3, 3, 3, 2, 2, 1, 1, 0, 0],
    );
  });

  it('NVFP4: block scale 0x76 (224), elements on the E2M1 grid', () => {
    const x = Float32Array.from([
      0.09375, -0.703125, 1.296875, 2.203125, -3.09375, 0, 0.453125, 5.90625, -6.59375, 0.203125, 0.296875, -0.046875, 1, 2, 4, 8,
    ]);
    const q = quantize(x, 'nvfp4', { tensorScale: Math.fround(16 / 2688) });
    expect(hex(q.scales)).toBe('76');
    const e2m1 = [0, 0.5, 1, 1.5, 2, 3, 4, 6];
    const elems = Array.from(unpackCodes(q.codes, 4, 16), (c) => (c & 8 ? -e2m1[c & 7]! : e2m1[c]!));
    expect(elems).toEqual([0, -0.5, 1, 1.5, -2, 0, 0.5, 4, -4, 0, 0, -0, 1, 1.5, 3, 6]);
  });
});
