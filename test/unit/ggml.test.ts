import { describe, expect, it } from 'vitest';
import { dequantize, fromGgmlBlocks, quantize, toGgmlBlocks, ShapeError, OptionError } from '../../src/index.js';
import { ggmlUe4m3 } from '../../src/formats/reference/ggml.js';

function randomData(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  return Float32Array.from({ length: n }, () => (rnd() - 0.5) * 8 * (rnd() < 0.05 ? 20 : 1));
}

describe('ggml block structs', () => {
  for (const name of ['q8_0', 'q4_0', 'q4_1', 'q5_0', 'q5_1', 'ggml_mxfp4', 'ggml_nvfp4']) {
    for (const preset of ['ocp', 'ggml'] as const) {
      it(`${name} (${preset}): toGgmlBlocks → fromGgmlBlocks decodes as ggml does`, () => {
        const x = randomData(4 * 128, 7);
        const q = quantize(x, name, { shape: [4, 128], preset });
        const blocks = toGgmlBlocks(q);
        expect(blocks.length).toBe((512 / q.format.ggml!.blockElements) * q.format.ggml!.blockBytes);
        const back = fromGgmlBlocks(blocks, name, [4, 128]);
        // ggml reads E2M1 −0 (code 8, which OCP packing writes) as +0; everything else is unchanged
        const want = Array.from(dequantize(q), (v) => (Object.is(v, -0) && q.format.element.kind === 'float' ? 0 : v));
        expect(Array.from(dequantize(back))).toEqual(want);
        if (preset === 'ggml') expect(toGgmlBlocks(back)).toEqual(blocks);
      });
    }
  }

  it('rejects lengths that are not whole blocks and non-ggml formats', () => {
    expect(() => quantize(new Float32Array(40), 'q4_0')).toThrow(ShapeError);
    expect(() => fromGgmlBlocks(new Uint8Array(17), 'q4_0', [32])).toThrow(/need 18 bytes/);
    expect(() => toGgmlBlocks(quantize(new Float32Array(32), 'mxfp4'))).toThrow(OptionError);
  });

  it('ggml quantizers: q8_0 rounds half away from zero, q4_1 offsets at the block minimum', () => {
    const x = Float32Array.from({ length: 32 }, (_, i) => (i === 0 ? 127 : i === 1 ? -0.5 : i === 2 ? 0.5 : 0));
    const q = quantize(x, 'q8_0', { preset: 'ggml' });
    expect(Array.from(q.codes.subarray(0, 3))).toEqual([127, 255, 1]);
    const y = Float32Array.from({ length: 32 }, (_, i) => 1 + i * 0.5);
    const d = dequantize(quantize(y, 'q4_1', { preset: 'ggml' }));
    expect(d[0]).toBe(1);
    expect(Math.max(...Array.from(d, (v, i) => Math.abs(v - y[i]!)))).toBeLessThan(0.6);
  });
});

describe('ggml_fp32_to_ue4m3 quirks', () => {
  it.each([
    [1.0625, 0x39], // half up, RNE would give 0x38
    [232, 0x77],
    [247.9, 0x77],
    [248, 0x7e], // top binade jumps to 448
    [300, 0x7e],
    [0.015, 0x07], // just below 2^-6 clamps to subnormal 7
    [2 ** -10, 0x01],
    [0.00097656, 0],
    [0, 0],
    [-1, 0],
    [NaN, 0],
    [1, 0x38],
    [448, 0x7e],
  ])('%s → %s', (v, code) => expect(ggmlUe4m3(Math.fround(v))).toBe(code));
});
