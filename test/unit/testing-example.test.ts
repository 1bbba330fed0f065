// The example of docs/testing.md, run as a test: a hand-written MXFP4 fake-quantizer checked against
// the reference with microscale/testing, and the same check catching a subtly wrong variant.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bitExactWith, checkContract, idempotent, monotone, nearestRepresentable, signSymmetric } from '../../src/testing/index.js';

// ---- docs/testing.md example: begin
/** Round a non-negative number to an integer, ties to even. */
function roundHalfEven(t: number): number {
  const f = Math.floor(t);
  const d = t - f;
  return d > 0.5 || (d === 0.5 && f % 2 === 1) ? f + 1 : f;
}

const bits = new Uint32Array(1);
const asFloat = new Float32Array(bits.buffer);

/** ⌊log2 v⌋ of a positive float32, read from its bits (subnormals included). */
function floorLog2(v: number): number {
  asFloat[0] = v;
  const exponent = bits[0]! >>> 23;
  return exponent > 0 ? exponent - 127 : -149 + (31 - Math.clz32(bits[0]!));
}

/** MXFP4 fake quantization along a flat array: 32-element blocks, OCP floor scale, RNE, saturation. */
function myMxfp4(x: Float32Array): Float32Array {
  const y = new Float32Array(x.length);
  for (let start = 0; start < x.length; start += 32) {
    const end = Math.min(start + 32, x.length);
    let amax = 0;
    let finite = true;
    for (let i = start; i < end; i++) {
      if (!Number.isFinite(x[i]!)) finite = false;
      else amax = Math.max(amax, Math.abs(x[i]!));
    }
    if (!finite) {
      y.fill(NaN, start, end);
      continue;
    }
    const scale = 2 ** (amax === 0 ? -127 : Math.max(floorLog2(amax) - 2, -127)); // emax of E2M1 is 2
    for (let i = start; i < end; i++) {
      const a = Math.abs(x[i]!) / scale;
      const step = a < 2 ? 0.5 : a < 4 ? 1 : 2; // E2M1 grid: 0 0.5 1 1.5 2 3 4 6
      const q = Math.min(roundHalfEven(a / step) * step, 6);
      const negative = x[i]! < 0 || Object.is(x[i], -0); // −0 keeps its sign bit
      y[i] = (negative ? -q : q) * scale;
    }
  }
  return y;
}

// The cases: format mxfp4 with its default options on flat arrays of any length.
const mxfp4Only = { formats: ['mxfp4'], options: 'default', maxRank: 1 } as const;
// ---- docs/testing.md example: end

describe('docs/testing.md: checking a hand-written kernel', () => {
  it('the hand-written MXFP4 kernel equals the reference bit for bit', async () => {
    const mine = { fakeQuantize: (x: Float32Array) => myMxfp4(x) };
    await checkContract(bitExactWith(mine, mxfp4Only), { numRuns: 300 });
  });

  it('and passes the algebraic contracts', async () => {
    const mine = { fakeQuantize: (x: Float32Array) => myMxfp4(x) };
    await checkContract(idempotent(mine, mxfp4Only), { numRuns: 100 });
    await checkContract(monotone(mine, mxfp4Only), { numRuns: 100 });
    await checkContract(signSymmetric(mine, mxfp4Only), { numRuns: 100 });
  });

  it('nearestRepresentable runs on anything with quantize (here the reference)', async () => {
    const { referenceBackend } = await import('../../src/index.js');
    await checkContract(nearestRepresentable(referenceBackend, mxfp4Only), { numRuns: 100 });
  });

  it('a variant that rounds with Math.round is caught, with a counterexample', async () => {
    const roundHalfUp = (x: Float32Array) => {
      const y = myMxfp4(x);
      // Math.round sends 2.5 to 3: recompute the magnitudes that way.
      for (let start = 0; start < x.length; start += 32) {
        let amax = 0;
        for (let i = start; i < Math.min(start + 32, x.length); i++) if (Number.isFinite(x[i]!)) amax = Math.max(amax, Math.abs(x[i]!));
        if (amax === 0 || !Number.isFinite(y[start]!)) continue;
        const scale = 2 ** Math.max(floorLog2(amax) - 2, -127);
        for (let i = start; i < Math.min(start + 32, x.length); i++) {
          const a = Math.abs(x[i]!) / scale;
          const step = a < 2 ? 0.5 : a < 4 ? 1 : 2;
          const q = Math.min(Math.round(a / step) * step, 6);
          y[i] = (x[i]! < 0 || Object.is(x[i], -0) ? -q : q) * scale;
        }
      }
      return y;
    };
    const result = await fc.check(bitExactWith({ fakeQuantize: roundHalfUp }, mxfp4Only), { numRuns: 300 });
    expect(result.failed).toBe(true);
    expect(String(result.errorInstance)).toMatch(/fakeQuantize/);
  });
});
