// The element step of microxcaling's `_quantize_elemwise_core` (preset "microxcaling"), float32
// artefacts included (MICROXCALING.md §2 step 7, §4.1, §4.2): the element exponent is the float32
// log2's floor, and "nearest"/"even" evaluate ⌊|t| + 0.5⌋ in float32. Everything else is exact.
import { floorLog2F32, pow2 } from '../bits.js';
import type { ElementFormat } from '../element.js';
import { encodeElement, roundMagnitude, type Rounding } from './element-codec.js';

const fround = Math.fround;

/** Round a non-negative magnitude `t` the way the emulator does: `rna` is ⌊fl32(t + 0.5)⌋, `rne`
 * subtracts 1 when t − 0.5 is an even integer, `rtz` is ⌊t⌋; `stochastic` is the exact rule. */
export function microxcalingRound(t: number, mode: Rounding, u: number): number {
  if (mode === 'rtz' || mode === 'stochastic') return roundMagnitude(t, mode, u);
  // t is a float32 value, so t + 0.5 is exact in float64 unless t < 2^-30, where both roundings
  // give 0.5; fround therefore equals the float32 addition.
  const r = Math.floor(fround(t + 0.5));
  if (mode === 'rna') return r;
  return t >= 0.5 && (t - 0.5) % 2 === 0 ? r - 1 : r;
}

/**
 * Encode the float32 scaled value `a` (a = fl32(x / X); ±0 already made +0) into `el` as the
 * emulator quantizes it: float elements take pe = max(⌊fl32(log2 |a|)⌋, emin) and a step of
 * 2^(pe − manBits), integer elements a step of 2^−fracBits; the result saturates at the largest
 * magnitude and keeps a's sign (−0 when a negative value rounds to zero).
 */
export function encodeMicroxcaling(el: ElementFormat, a: number, mode: Rounding, u: number): number {
  const mag = Math.abs(a);
  const negative = a < 0;
  // a = ±Inf only for elements whose emax exceeds float32's range of the scale; it saturates
  if (mag === Infinity) return encodeElement(el, a, 'rne');
  let q: number;
  if (mag === 0) {
    q = 0;
  } else if (el.kind === 'float') {
    const pe = Math.max(floorLog2F32(mag), el.emin);
    const r = microxcalingRound(mag * pow2(el.manBits - pe), mode, u);
    q = Math.min(r * pow2(pe - el.manBits), el.maxFinite);
  } else {
    const r = microxcalingRound(mag * pow2(el.fracBits), mode, u);
    q = Math.min(r, el.kMax) * pow2(-el.fracBits);
  }
  return encodeElement(el, negative ? -q : q, 'rne');
}
