// Exact scalar helpers shared by the kernels: a line-by-line port of src/formats/bits.ts and
// src/formats/reference/element-codec.ts in float64, so every result equals the reference bit for bit.

import {
  ENC_OFFSET,
  ENC_SIGNMAG,
  ENC_TWOS,
  NAN_IEEE,
  NAN_NONE,
  OVERFLOW_INFINITY,
  OVERFLOW_SATURATE,
  ROUND_RNA,
  ROUND_RNE,
  ROUND_RTZ,
} from './abi';

/** Returned by the encoders for a negative value in an unsigned element. */
export const ERR_NEGATIVE: i64 = -1;
/** Returned by the encoders for NaN in an element without a NaN encoding. */
export const ERR_NAN: i64 = -2;

const TWO53: f64 = 9007199254740992.0;

/** Exactly 2^n (0 below the subnormal range, Infinity above the float64 range). */
// @ts-ignore: decorator
@inline export function pow2(n: i32): f64 {
  if (n >= -1022) {
    if (n > 1023) return Infinity;
    return reinterpret<f64>(<u64>(n + 1023) << 52);
  }
  if (n >= -1074) return reinterpret<f64>(<u64>1 << <u64>(n + 1074));
  return 0.0;
}

/** ⌊log2 |x|⌋ for finite non-zero x, read from the exponent field. */
// @ts-ignore: decorator
@inline export function flog2(x: f64): i32 {
  const b = reinterpret<u64>(x);
  const e = <i32>((b >> 52) & 0x7ff);
  if (e != 0) return e - 1023;
  const m = b & 0xfffffffffffff;
  return <i32>(63 - clz<u64>(m)) - 1074;
}

// @ts-ignore: decorator
@inline export function isNegative(a: f64): bool {
  return a < 0.0 || (a == 0.0 && (reinterpret<u64>(a) >> 63) != 0);
}

// @ts-ignore: decorator
@inline function isOddInteger(f: f64): bool {
  return f - 2.0 * Math.floor(f * 0.5) == 1.0;
}

/** Round a non-negative magnitude to an integer under `mode`; `u` feeds stochastic rounding. */
// @ts-ignore: decorator
@inline export function roundMagnitude(t: f64, mode: i32, u: f64): f64 {
  const f = Math.floor(t);
  if (mode == ROUND_RNE) {
    const d = t - f;
    return d > 0.5 || (d == 0.5 && isOddInteger(f)) ? f + 1.0 : f;
  }
  if (mode == ROUND_RNA) return t - f >= 0.5 ? f + 1.0 : f;
  if (mode == ROUND_RTZ) return f;
  return u < t - f ? f + 1.0 : f;
}

/** lowbias32 mix, as bits.ts mix32. */
// @ts-ignore: decorator
@inline export function mix32(x: u32): u32 {
  x ^= x >>> 16;
  x *= 0x7feb352d;
  x ^= x >>> 15;
  x *= 0x846ca68b;
  x ^= x >>> 16;
  return x;
}

/** The counter-based uniform in [0, 1) of stochastic rounding (bits.ts stochasticUniform). */
// @ts-ignore: decorator
@inline export function stochasticUniform(seedMix: u32, index: u32): f64 {
  return <f64>mix32(seedMix ^ index) / 4294967296.0;
}

/** mix32(seed ^ 0x9e3779b9), hoisted once per call. */
export function seedMix(seed: u32): u32 {
  return mix32(seed ^ 0x9e3779b9);
}

/** A float element's parameters (FloatElement in src/formats/element.ts). */
@unmanaged
export class FloatParams {
  bits: i32 = 0;
  expBits: i32 = 0;
  manBits: i32 = 0;
  bias: i32 = 0;
  signed: bool = false;
  infinity: bool = false;
  nan: i32 = 0;
  subnormals: bool = false;
  zero: bool = false;
  topExpField: i32 = 0;
  topManField: i32 = 0;
  emin: i32 = 0;
}

// @ts-ignore: decorator
@inline function nanCode(p: FloatParams, sign: i64): i64 {
  const top = ((<i64>1 << p.expBits) - 1) << p.manBits;
  return p.nan == NAN_IEEE ? sign + top + (<i64>1 << (p.manBits - 1)) : sign + top + (<i64>1 << p.manBits) - 1;
}

// @ts-ignore: decorator
@inline function overflowCode(p: FloatParams, sign: i64, policy: i32): i64 {
  if (policy == OVERFLOW_INFINITY && p.infinity) return sign + (((<i64>1 << p.expBits) - 1) << p.manBits);
  if (policy != OVERFLOW_SATURATE && p.nan != NAN_NONE) return nanCode(p, sign);
  return sign + (<i64>p.topExpField << p.manBits) + p.topManField;
}

/** encodeFloat of element-codec.ts; negative results are ERR_NEGATIVE / ERR_NAN. */
export function encodeFloat(p: FloatParams, a: f64, mode: i32, u: f64, overflow: i32): i64 {
  const neg = isNegative(a);
  if (neg && !p.signed && a != 0.0) return ERR_NEGATIVE;
  const sign: i64 = neg && p.signed ? <i64>1 << (p.bits - 1) : 0;
  if (a != a) {
    if (p.nan == NAN_NONE) return ERR_NAN;
    return nanCode(p, sign);
  }
  const mag = Math.abs(a);
  // OFP8 saturating mode: ±Inf becomes ±max finite too
  if (mag == Infinity) return overflowCode(p, sign, overflow == OVERFLOW_SATURATE ? OVERFLOW_SATURATE : p.infinity ? OVERFLOW_INFINITY : overflow);
  if (mag == 0.0) return p.zero ? sign : 0;
  const m = p.manBits;
  const implicit: f64 = <f64>(<i64>1 << m);
  let pe = flog2(mag);
  if (pe < p.emin) {
    if (!p.zero) return 0;
    if (!p.subnormals) {
      const r0 = roundMagnitude(mag * pow2(-p.emin), mode, u);
      return r0 >= 1.0 ? sign + (<i64>(p.emin + p.bias) << m) : sign;
    }
    pe = p.emin;
  }
  let r = roundMagnitude(mag * pow2(m - pe), mode, u);
  if (r == 0.0) return sign;
  if (r >= 2.0 * implicit) {
    pe += 1;
    r = implicit;
  }
  let expField: i64;
  let man: i64;
  if (r < implicit) {
    expField = 0;
    man = <i64>r;
  } else {
    expField = pe + p.bias;
    man = <i64>(r - implicit);
  }
  if (expField > p.topExpField || (expField == p.topExpField && man > p.topManField)) {
    // IEEE 754 §7.4: rounding toward zero carries every finite overflow to the largest finite value
    return overflowCode(p, sign, mode == ROUND_RTZ ? OVERFLOW_SATURATE : overflow);
  }
  return sign + (expField << m) + man;
}

/** An integer element's parameters (IntElement in src/formats/element.ts). */
@unmanaged
export class IntParams {
  bits: i32 = 0;
  fracBits: i32 = 0;
  encoding: i32 = 0;
  kMax: f64 = 0;
  kMin: f64 = 0;
}

/** encodeInt of element-codec.ts (saturating); ERR_NAN for NaN. */
// @ts-ignore: decorator
@inline export function encodeInt(p: IntParams, a: f64, mode: i32, u: f64): i64 {
  if (a != a) return ERR_NAN;
  const neg = isNegative(a);
  const r = roundMagnitude(Math.min(Math.abs(a) * pow2(p.fracBits), TWO53), mode, u);
  const half: i64 = <i64>1 << (p.bits - 1);
  const enc = p.encoding;
  if (enc == ENC_TWOS) {
    const k = <i64>Math.min(r, p.kMax);
    return neg && k > 0 ? (<i64>1 << p.bits) - k : k;
  }
  if (enc == ENC_SIGNMAG) {
    const k = <i64>Math.min(r, p.kMax);
    return neg ? half + k : k;
  }
  if (enc == ENC_OFFSET) {
    const k = neg ? -(<i64>Math.min(r, -p.kMin)) : <i64>Math.min(r, p.kMax);
    return k + half;
  }
  return neg ? 0 : <i64>Math.min(r, p.kMax);
}
