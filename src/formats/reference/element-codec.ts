// Scalar encode/decode of one element code. Straight-line and exact: every step is either an
// exact float64 operation (scaling by powers of two, floor, subtraction of its floor) or an
// integer comparison.
import { bitsToF32, flog2, pow2, roundHalfEven } from '../bits.js';
import type { ElementFormat, FloatElement, IntElement, OverflowPolicy } from '../element.js';
import { EncodingError } from '../errors.js';

/** Rounding modes: ties to even, ties away from zero, toward zero, and seeded stochastic. */
export type Rounding = 'rne' | 'rna' | 'rtz' | 'stochastic';

/** Round a non-negative magnitude `t` to an integer. `u` ∈ [0,1) is used by `stochastic` only:
 * it rounds up exactly when u < t − ⌊t⌋, so it rounds up with probability t − ⌊t⌋. */
export function roundMagnitude(t: number, mode: Rounding, u: number): number {
  switch (mode) {
    case 'rne':
      return roundHalfEven(t);
    case 'rna': {
      const f = Math.floor(t);
      return t - f >= 0.5 ? f + 1 : f;
    }
    case 'rtz':
      return Math.floor(t);
    case 'stochastic': {
      const f = Math.floor(t);
      return u < t - f ? f + 1 : f;
    }
  }
}

function isNegative(a: number): boolean {
  return a < 0 || Object.is(a, -0);
}

function nanCode(el: FloatElement, sign: number): number {
  const top = (2 ** el.expBits - 1) * 2 ** el.manBits;
  return el.nan === 'ieee' ? sign + top + 2 ** (el.manBits - 1) : sign + top + 2 ** el.manBits - 1;
}

function overflowCode(el: FloatElement, sign: number, policy: OverflowPolicy): number {
  if (policy === 'infinity' && el.infinity) return sign + (2 ** el.expBits - 1) * 2 ** el.manBits;
  if (policy !== 'saturate' && el.nan !== 'none') return nanCode(el, sign);
  return sign + el.topExpField * 2 ** el.manBits + el.topManField;
}

/**
 * Encode a float64 value into a float element code: round on the element grid (subnormals
 * included) with `mode`, then apply the overflow policy. NaN needs a NaN encoding.
 */
export function encodeFloat(
  el: FloatElement,
  a: number,
  mode: Rounding,
  u = 0,
  overflow: OverflowPolicy = 'saturate',
): number {
  const neg = isNegative(a);
  if (neg && !el.signed && a !== 0) {
    throw new EncodingError(`${el.name} is unsigned and cannot encode the negative value ${a}`);
  }
  const sign = neg && el.signed ? 2 ** (el.bits - 1) : 0;
  if (a !== a) {
    if (el.nan === 'none') {
      throw new EncodingError(`${el.name} has no NaN encoding; remove NaNs from the input or use a block format`);
    }
    return nanCode(el, sign);
  }
  const mag = Math.abs(a);
  // OFP8 v1.0 saturating mode maps ±Inf to ±max finite as well (non-saturating keeps ±Inf)
  if (mag === Infinity) return overflowCode(el, sign, overflow === 'saturate' ? 'saturate' : el.infinity ? 'infinity' : overflow);
  if (mag === 0) return el.zero ? sign : 0;
  const m = el.manBits;
  const implicit = 2 ** m;
  let pe = flog2(mag);
  if (pe < el.emin) {
    if (!el.zero) return 0; // E8M0-like: the lowest code is the smallest magnitude
    if (!el.subnormals) {
      const r = roundMagnitude(mag * pow2(-el.emin), mode, u);
      return r >= 1 ? sign + (el.emin + el.bias) * implicit : sign;
    }
    pe = el.emin;
  }
  let r = roundMagnitude(mag * pow2(m - pe), mode, u);
  if (r === 0) return sign;
  if (r >= 2 * implicit) {
    pe += 1;
    r = implicit;
  }
  let expField: number;
  let man: number;
  if (r < implicit) {
    expField = 0;
    man = r;
  } else {
    expField = pe + el.bias;
    man = r - implicit;
  }
  if (expField > el.topExpField || (expField === el.topExpField && man > el.topManField)) {
    // IEEE 754 §7.4: rounding toward zero carries every finite overflow to the largest finite value.
    return overflowCode(el, sign, mode === 'rtz' ? 'saturate' : overflow);
  }
  return sign + expField * implicit + man;
}

/** Decode a float element code to its exact value (NaN, ±Infinity and −0 included). */
export function decodeFloat(el: FloatElement, code: number): number {
  const valueBits = el.expBits + el.manBits;
  const span = 2 ** valueBits;
  const neg = el.signed && code >= span;
  const c = code % span;
  const implicit = 2 ** el.manBits;
  const expField = Math.floor(c / implicit);
  const man = c % implicit;
  let v: number;
  const topField = 2 ** el.expBits - 1;
  if (expField === topField && (el.infinity || el.nan === 'ieee')) {
    v = man === 0 && el.infinity ? Infinity : NaN;
  } else if (expField === topField && el.nan === 'allOnes' && man === implicit - 1) {
    v = NaN;
  } else if (expField === 0 && el.subnormals) {
    v = man * pow2(el.emin - el.manBits);
  } else if (expField === 0 && el.zero) {
    v = 0;
  } else {
    v = (implicit + man) * pow2(expField - el.bias - el.manBits);
  }
  return neg ? -v : v;
}

/** Encode a float64 value into an integer element code (saturating). NaN is not encodable. */
export function encodeInt(el: IntElement, a: number, mode: Rounding, u = 0): number {
  if (a !== a) throw new EncodingError(`${el.name} has no NaN encoding; remove NaNs from the input or use a block format`);
  const neg = isNegative(a);
  const r = roundMagnitude(Math.min(Math.abs(a) * pow2(el.fracBits), 2 ** 53), mode, u);
  const half = 2 ** (el.bits - 1);
  switch (el.encoding) {
    case 'twos': {
      const k = Math.min(r, el.kMax);
      return neg && k > 0 ? 2 ** el.bits - k : k;
    }
    case 'signmag': {
      const k = Math.min(r, el.kMax);
      return neg ? half + k : k;
    }
    case 'offset': {
      const k = neg ? -Math.min(r, -el.kMin) : Math.min(r, el.kMax);
      return k + half;
    }
    case 'unsigned':
      return neg ? 0 : Math.min(r, el.kMax);
  }
}

/** Decode an integer element code to its exact value (sign-magnitude keeps −0). */
export function decodeInt(el: IntElement, code: number): number {
  const half = 2 ** (el.bits - 1);
  let k: number;
  switch (el.encoding) {
    case 'twos':
      k = code >= half ? code - 2 * half : code;
      break;
    case 'signmag':
      k = code >= half ? -(code - half) : code;
      if (code === half) return -0;
      break;
    case 'offset':
      k = code - half;
      break;
    case 'unsigned':
      k = code;
      break;
  }
  return k * pow2(-el.fracBits);
}

/** Encode one value into `el` with rounding `mode` (`u` feeds stochastic rounding). */
export function encodeElement(
  el: ElementFormat,
  a: number,
  mode: Rounding,
  u = 0,
  overflow: OverflowPolicy = 'saturate',
): number {
  return el.kind === 'float' ? encodeFloat(el, a, mode, u, overflow) : encodeInt(el, a, mode, u);
}

const tables = new WeakMap<ElementFormat, Float64Array>();

/** Exact value of every code of an element of at most 16 bits, cached. */
export function decodeTable(el: ElementFormat): Float64Array {
  let t = tables.get(el);
  if (!t) {
    if (el.bits > 16) throw new RangeError(`no decode table for ${el.bits}-bit element ${el.name}`);
    const storage = el.kind === 'float' && !el.signed ? 2 ** (Math.ceil(el.bits / 8) * 8) : el.codeCount;
    t = new Float64Array(Math.max(storage, el.codeCount));
    for (let c = 0; c < t.length; c++) t[c] = decodeElement(el, c % el.codeCount);
    tables.set(el, t);
  }
  return t;
}

/** Decode one code of `el` to its exact value. */
export function decodeElement(el: ElementFormat, code: number): number {
  if (el.kind === 'int') return decodeInt(el, code);
  if (el.bits === 32 && el.expBits === 8) return bitsToF32(code);
  return decodeFloat(el, code);
}
