// The ggml preset against a bit-level model of ggml's C steps (ggml-c-model.ts), on adversarial
// blocks, and fromGgmlBlocks against the model's dequantizers on arbitrary bytes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dequantize, fromGgmlBlocks, quantize, toGgmlBlocks } from '../../src/index.js';
import { adversarialBlock } from '../../src/testing/index.js';
import { GGML_BLOCKS, bitsOf, dequantizeBlock, floorLog2f, fromBits, quantizeBlock, type GgmlType } from './ggml-c-model.js';

const TYPES = Object.keys(GGML_BLOCKS) as GgmlType[];
const f32 = Math.fround;

function hexBytes(b: Uint8Array): string {
  return Array.from(b, (v) => v.toString(16).padStart(2, '0')).join(' ');
}

/** Blocks ggml's steps are sensitive to, beyond the library's adversarial kinds. */
function ggmlBlock(type: GgmlType, finiteOnly: boolean): fc.Arbitrary<number[]> {
  const qk = GGML_BLOCKS[type].qk;
  const values = (v: fc.Arbitrary<number>) => fc.array(v, { minLength: qk, maxLength: qk });
  const sign = fc.boolean();
  // block maxima below 2^−121: 1/d overflows (q types), the MXFP4 exponent wraps
  const tiny = fc
    .integer({ min: 0, max: 6 })
    .chain((field) => values(fc.tuple(sign, fc.integer({ min: 0, max: ((field + 1) << 23) - 1 })).map(([s, b]) => fromBits(b | (s ? 0x80000000 : 0)))));
  // values among the top 48 float32 values of a binade, where log2f rounds up
  const nearPow2 = values(
    fc.tuple(sign, fc.integer({ min: 1, max: 253 }), fc.integer({ min: 0, max: 47 })).map(([s, e, k]) => fromBits((((e + 1) << 23) - 1 - k) | (s ? 0x80000000 : 0))),
  );
  // exact ties and near-ties of k·2^s/2 (the MXFP4/NVFP4 grids and q-type half steps)
  const ties = fc.integer({ min: -20, max: 20 }).chain((s) =>
    values(fc.tuple(sign, fc.integer({ min: 0, max: 24 }), fc.integer({ min: -1, max: 1 })).map(([neg, k, u]) => {
      const v = f32((k / 4) * 2 ** s);
      const w = v === 0 ? 0 : fromBits(bitsOf(v) + u);
      return neg ? -w : w;
    })),
  );
  const kinds = [tiny, nearPow2, ties, adversarialBlock(type, qk, finiteOnly ? { kinds: ['random', 'moderate', 'zero', 'outlier', 'hugeRange', 'maxNormal'] } : {})];
  const any = fc.oneof(...kinds);
  return finiteOnly ? any.map((b) => b.map((v) => (Number.isFinite(v) ? v : 1))) : any;
}

describe('ggml preset: quantize equals the bit-level model of ggml-quants.c (x86-64)', () => {
  for (const type of TYPES) {
    // ggml's q types read NaN/±Inf through casts C leaves undefined and position-dependent maxima;
    // microscale writes a NaN scale there instead (docs/formats.md), so only finite blocks compare.
    const finiteOnly = type !== 'ggml_mxfp4' && type !== 'ggml_nvfp4';
    it(`${type}: every block's bytes${finiteOnly ? ' (finite blocks)' : ''}`, () => {
      fc.assert(
        fc.property(ggmlBlock(type, finiteOnly), (block) => {
          const x = Float32Array.from(block);
          const got = toGgmlBlocks(quantize(x, type, { preset: 'ggml' }));
          expect(hexBytes(got)).toBe(hexBytes(quantizeBlock(type, Array.from(x))));
        }),
        { numRuns: 400 },
      );
    });
  }
});

describe('fromGgmlBlocks decodes as llama.cpp dequantizes', () => {
  for (const type of TYPES) {
    it(`${type}: arbitrary block bytes`, () => {
      const { qk, bytes } = GGML_BLOCKS[type];
      fc.assert(
        fc.property(fc.uint8Array({ minLength: bytes, maxLength: bytes }), (b) => {
          const got = dequantize(fromGgmlBlocks(b, type, [qk]));
          const want = dequantizeBlock(type, b);
          const bad: string[] = [];
          for (let i = 0; i < qk; i++) {
            if (bitsOf(got[i]!) !== bitsOf(want[i]!) && !(Number.isNaN(got[i]) && Number.isNaN(want[i]))) bad.push(`[${i}] ${got[i]} vs ${want[i]}`);
          }
          expect(bad).toEqual([]);
        }),
        { numRuns: 400 },
      );
    });
  }
});

describe('ggml: the reported differences and the undefined-behaviour decisions', () => {
  it('ggml_mxfp4 all-zero block with x[0] = −0: bytes 00…00 and +0 (best_index never picks code 8)', () => {
    const x = new Float32Array(32);
    x[0] = -0;
    const q = quantize(x, 'ggml_mxfp4', { preset: 'ggml' });
    expect(hexBytes(toGgmlBlocks(q))).toBe(hexBytes(new Uint8Array(17)));
    expect(Object.is(dequantize(q)[0], 0)).toBe(true);
  });

  it('ggml_nvfp4 scale byte 0xFF: element 0 of `ff 00 00 00 01 …` decodes to 240', () => {
    const b = new Uint8Array(36);
    b[0] = 0xff;
    b[4] = 0x01;
    expect(dequantize(fromGgmlBlocks(b, 'ggml_nvfp4', [64]))[0]).toBe(240);
  });

  it('ggml_mxfp4 blocks below 2^−125 write the wrapped exponent byte, as x86-64 ggml does', () => {
    for (const [amax, byte] of [
      [2 ** -126, 0xff],
      [2 ** -127, 0xfe],
      [2 ** -149, 0xe8],
      [2 ** -125, 0x00],
    ] as const) {
      const x = new Float32Array(32);
      x[3] = amax;
      x[4] = -amax / 2;
      const bytes = toGgmlBlocks(quantize(x, 'ggml_mxfp4', { preset: 'ggml' }));
      expect(bytes[0]).toBe(byte);
      expect(hexBytes(bytes)).toBe(hexBytes(quantizeBlock('ggml_mxfp4', Array.from(x))));
    }
  });

  it('q4_0/q4_1/q5_0/q5_1/q8_0 blocks whose 1/d overflows write code 0 (x86-64 cvttss2si), not 15', () => {
    const x = new Float32Array(32);
    x[0] = 2 ** -130;
    x[1] = -(2 ** -131);
    for (const type of ['q4_0', 'q4_1', 'q5_0', 'q5_1', 'q8_0'] as const) {
      const bytes = toGgmlBlocks(quantize(x, type, { preset: 'ggml' }));
      expect(hexBytes(bytes)).toBe(hexBytes(quantizeBlock(type, Array.from(x))));
    }
  });
});

describe('the model\'s log2f floor', () => {
  it('equals ⌊fround(log2 x)⌋ on the top 50 and bottom 2 values of every float32 binade', () => {
    // (checked once over all 2^31 positive floats by test/tools/log2-floor-exhaustive.mjs)
    const bad: string[] = [];
    for (let e = -149; e <= 127; e++) {
      const first = e < -126 ? 2 ** (e + 149) : (e + 127) * 2 ** 23;
      const last = e < -126 ? 2 ** (e + 150) - 1 : (e + 128) * 2 ** 23 - 1;
      for (const b of [first, first + 1, ...Array.from({ length: 50 }, (_, k) => last - k)]) {
        if (b < first) continue;
        const x = fromBits(b);
        if (floorLog2f(x) !== Math.floor(f32(Math.log2(x)))) bad.push(b.toString(16));
      }
    }
    expect(bad).toEqual([]);
  });
});

describe('preset ggml options', () => {
  it('rejects options that ggml\'s own 8-bit scale ignores, naming the option', () => {
    for (const opts of [{ scaleBits: 6 }, { scaleMode: 'ceil' as const }, { flushSubnormalBlocks: true }]) {
      expect(() => quantize(new Float32Array(32), 'ggml_mxfp4', { preset: 'ggml', ...opts })).toThrow(new RegExp(`drop the ${Object.keys(opts)[0]} option`));
    }
  });
});
