import { pow2, flog2 } from './bits.js';

/** How a float element handles NaN. `ieee`: top exponent with a non-zero mantissa; `allOnes`: only
 * the all-ones pattern (OCP E4M3, E8M0, UE4M3); `none`: no NaN encoding. */
export type NanEncoding = 'ieee' | 'allOnes' | 'none';
/** What a standalone cast does with a finite value above the largest finite magnitude. */
export type OverflowPolicy = 'saturate' | 'infinity' | 'nan';
/** Integer element encodings. `twos`/`signmag` are symmetric (±(2^(b−1)−1)); `offset` stores k + 2^(b−1)
 * for k ∈ [−2^(b−1), 2^(b−1)−1]; `unsigned` stores k ∈ [0, 2^b−1]. */
export type IntEncoding = 'twos' | 'signmag' | 'offset' | 'unsigned';

/** Parameters of a float element (the part a user chooses). `manBits` excludes the sign and implicit bit. */
export interface FloatElementParams {
  readonly expBits: number;
  readonly manBits: number;
  readonly bias: number;
  readonly signed: boolean;
  readonly infinity: boolean;
  readonly nan: NanEncoding;
  readonly subnormals: boolean;
  /** False only for E8M0-like scales, whose lowest code is a number, not zero. */
  readonly zero: boolean;
  readonly overflow: OverflowPolicy;
}

/** Parameters of an integer element: value = k · 2^(−fracBits). */
export interface IntElementParams {
  readonly bits: number;
  readonly fracBits: number;
  readonly encoding: IntEncoding;
}

interface ElementCommon {
  /** Canonical name (`fp8_e4m3`, `int8`, `fp(e=4,m=3,…)`). */
  readonly name: string;
  /** Bits of one stored code (a UE4M3 scale has 7 value bits and is stored in a byte). */
  readonly bits: number;
  /** Number of distinct codes, 2^bits. */
  readonly codeCount: number;
  /** Largest finite magnitude. */
  readonly maxFinite: number;
  /** Smallest positive magnitude. */
  readonly minPositive: number;
  /** Exponent of the largest power of two ≤ maxFinite (OCP `emax_elem`). */
  readonly emax: number;
  /** Bits of precision below the leading bit used by the OCP EVEN scale rule. */
  readonly roundingBits: number;
}

/** A float element descriptor (frozen). */
export interface FloatElement extends ElementCommon, FloatElementParams {
  readonly kind: 'float';
  /** Exponent of the smallest normal number. */
  readonly emin: number;
  readonly minNormal: number;
  /** Highest exponent field that holds finite numbers, and the highest mantissa allowed there. */
  readonly topExpField: number;
  readonly topManField: number;
}

/** An integer element descriptor (frozen). */
export interface IntElement extends ElementCommon, IntElementParams {
  readonly kind: 'int';
  /** Largest and smallest integer k that encode (values are k · 2^−fracBits). */
  readonly kMax: number;
  readonly kMin: number;
}

/** One element format: what a single stored code means. */
export type ElementFormat = FloatElement | IntElement;

/** Build a frozen float element descriptor; all limits are derived from the parameters. */
export function floatElement(name: string, p: FloatElementParams): FloatElement {
  const { expBits: e, manBits: m, bias, signed, nan, subnormals, zero } = p;
  let topExpField: number;
  let topManField: number;
  if (p.infinity || nan === 'ieee') {
    topExpField = (1 << e) - 2;
    topManField = (1 << m) - 1;
  } else if (nan === 'allOnes') {
    topExpField = (1 << e) - 1;
    topManField = (1 << m) - 2;
    if (topManField < 0) {
      topExpField -= 1;
      topManField = 0;
    }
  } else {
    topExpField = (1 << e) - 1;
    topManField = (1 << m) - 1;
  }
  const minExpField = subnormals || zero ? 1 : 0;
  const emin = minExpField - bias;
  const maxFinite = (1 + topManField / (1 << m)) * pow2(topExpField - bias);
  const minNormal = pow2(emin);
  const minPositive = subnormals ? pow2(emin - m) : minNormal;
  const bits = e + m + (signed ? 1 : 0);
  return Object.freeze({
    kind: 'float',
    name,
    ...p,
    bits,
    codeCount: 2 ** bits,
    maxFinite,
    minPositive,
    emax: flog2(maxFinite),
    emin,
    minNormal,
    topExpField,
    topManField,
    roundingBits: m,
  });
}

/** Build a frozen integer element descriptor. */
export function intElement(name: string, p: IntElementParams): IntElement {
  const { bits, fracBits, encoding } = p;
  const half = 2 ** (bits - 1);
  const kMax = encoding === 'unsigned' ? 2 ** bits - 1 : half - 1;
  const kMin = encoding === 'unsigned' ? 0 : encoding === 'offset' ? -half : -(half - 1);
  const maxFinite = kMax * pow2(-fracBits);
  return Object.freeze({
    kind: 'int',
    name,
    ...p,
    codeCount: 2 ** bits,
    kMax,
    kMin,
    maxFinite,
    minPositive: pow2(-fracBits),
    emax: flog2(maxFinite),
    // bits below the leading bit of the largest power of two (the EVEN scale rule's mantissa width)
    roundingBits: flog2(maxFinite) + fracBits,
  });
}

/** Default IEEE-style bias for `expBits` exponent bits. */
export function defaultBias(expBits: number): number {
  return 2 ** (expBits - 1) - 1;
}

const ocpFloat = (name: string, e: number, m: number, nan: NanEncoding, infinity: boolean): FloatElement =>
  floatElement(name, {
    expBits: e,
    manBits: m,
    bias: defaultBias(e),
    signed: true,
    infinity,
    nan,
    subnormals: true,
    zero: true,
    overflow: infinity ? 'infinity' : 'saturate',
  });

/** The named element formats. */
export const ELEMENTS = Object.freeze({
  fp8_e4m3: ocpFloat('fp8_e4m3', 4, 3, 'allOnes', false),
  fp8_e5m2: ocpFloat('fp8_e5m2', 5, 2, 'ieee', true),
  fp6_e3m2: ocpFloat('fp6_e3m2', 3, 2, 'none', false),
  fp6_e2m3: ocpFloat('fp6_e2m3', 2, 3, 'none', false),
  fp4_e2m1: ocpFloat('fp4_e2m1', 2, 1, 'none', false),
  fp16: ocpFloat('fp16', 5, 10, 'ieee', true),
  bf16: ocpFloat('bf16', 8, 7, 'ieee', true),
  e8m0: floatElement('e8m0', {
    expBits: 8,
    manBits: 0,
    bias: 127,
    signed: false,
    infinity: false,
    nan: 'allOnes',
    subnormals: false,
    zero: false,
    overflow: 'saturate',
  }),
  ue4m3: floatElement('ue4m3', {
    expBits: 4,
    manBits: 3,
    bias: 7,
    signed: false,
    infinity: false,
    nan: 'allOnes',
    subnormals: true,
    zero: true,
    overflow: 'saturate',
  }),
  fp32: ocpFloat('fp32', 8, 23, 'ieee', true),
  int8: intElement('int8', { bits: 8, fracBits: 6, encoding: 'twos' }),
  int4: intElement('int4', { bits: 4, fracBits: 2, encoding: 'twos' }),
  int2: intElement('int2', { bits: 2, fracBits: 0, encoding: 'twos' }),
});

/** Name of a named element, keyed for lookup. */
export type ElementName = keyof typeof ELEMENTS;
