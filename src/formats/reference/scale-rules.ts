import { flog2, isPow2, pow2 } from '../bits.js';
import type { ElementFormat } from '../element.js';
import type { ScaleMode } from '../format.js';

/**
 * Unbiased shared exponent s of a power-of-two block scale X = 2^s for a finite block maximum
 * `amax` > 0 (FORMATS.md §2.5, §3.1). The caller clamps s to the scale's range.
 * - floor: ⌊log2 amax⌋ − emax (OCP)
 * - ceil:  ⌈log2 amax⌉ − emax
 * - even:  amax rounded half-up to the element's mantissa width first, then floor
 * - rceil: ⌈log2(amax / maxFinite)⌉ (NVIDIA's round-up descale; never clips)
 */
export function sharedExponent(amax: number, mode: ScaleMode, el: ElementFormat): number {
  const e = flog2(amax);
  switch (mode) {
    case 'floor':
      return e - el.emax;
    case 'ceil':
      return (isPow2(amax) ? e : e + 1) - el.emax;
    case 'even': {
      const frac = amax * pow2(-e) - 1;
      return (frac >= 1 - pow2(-(el.roundingBits + 1)) ? e + 1 : e) - el.emax;
    }
    case 'rceil': {
      const s = e - el.emax;
      return el.maxFinite * pow2(s) >= amax ? s : s + 1;
    }
  }
}
