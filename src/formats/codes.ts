// The integer code of every enum a kernel reads (WGSL switches, GLSL constants, WASM job slots).
// The one copy: backends serialize these numbers and never spell out their own tables.
import type { IntEncoding, NanEncoding, OverflowPolicy } from './element.js';
import type { Scheme, ScaleMode, ScaleRule } from './format.js';
import type { Rounding } from './reference/element-codec.js';

export const ROUNDING_CODE: Readonly<Record<Rounding, number>> = Object.freeze({ rne: 0, rna: 1, rtz: 2, stochastic: 3 });
export const SCALE_MODE_CODE: Readonly<Record<ScaleMode, number>> = Object.freeze({ floor: 0, ceil: 1, even: 2, rceil: 3 });
export const SCALE_RULE_CODE: Readonly<Record<ScaleRule, number>> = Object.freeze({ absmax: 0, signedMax: 1, minMax: 2 });
export const SCHEME_CODE: Readonly<Record<Scheme, number>> = Object.freeze({ cast: 0, pow2: 1, scaled: 2 });
/** 0 none, 1 IEEE (top exponent, mantissa ≠ 0), 2 the all-ones pattern only. */
export const NAN_CODE: Readonly<Record<NanEncoding, number>> = Object.freeze({ none: 0, ieee: 1, allOnes: 2 });
export const OVERFLOW_CODE: Readonly<Record<OverflowPolicy, number>> = Object.freeze({ saturate: 0, infinity: 1, nan: 2 });
export const INT_ENCODING_CODE: Readonly<Record<IntEncoding, number>> = Object.freeze({ twos: 0, signmag: 1, offset: 2, unsigned: 3 });
export const ELEMENT_KIND_CODE: Readonly<Record<'float' | 'int', number>> = Object.freeze({ float: 0, int: 1 });
