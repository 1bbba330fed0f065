// OFP8 v1.0's saturation mode: ±Inf becomes ±max normal as well (gfloat does the same);
// non-saturating elements keep ±Inf.
import { describe, expect, it } from 'vitest';
import { fakeQuantize, quantize } from '../../src/index.js';

const E5M2_SAT = 'fp(e=5,m=2,bias=15,inf=1,nan=ieee,sub=1,sat=1,signed=1)';

describe('E5M2 with saturation', () => {
  it('maps ±Inf and finite overflow to ±57344, keeps NaN', () => {
    const x = Float32Array.from([Infinity, -Infinity, 1e9, NaN]);
    expect(Array.from(quantize(x, E5M2_SAT).codes)).toEqual([0x7b, 0xfb, 0x7b, 0x7e]);
    const y = fakeQuantize(x, E5M2_SAT);
    expect(Array.from(y.subarray(0, 3))).toEqual([57344, -57344, 57344]);
    expect(y[3]).toBeNaN();
  });

  it('fp8_e5m2 (overflow to Inf, the OFP8 non-saturating mode) keeps ±Inf', () => {
    expect(Array.from(fakeQuantize(Float32Array.from([Infinity, -Infinity, 1e9]), 'fp8_e5m2'))).toEqual([Infinity, -Infinity, Infinity]);
  });
});
