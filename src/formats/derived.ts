// Every number a kernel needs about one quantized layout, derived once from the format's
// descriptor and the resolved options. Presets are expanded here into explicit rule fields, so no
// backend reads a preset's name; backends only serialize these constants (WGSL literals and
// uniforms, GLSL literals, WASM job slots).
import { pow2 } from './bits.js';
import { ELEMENT_KIND_CODE, INT_ENCODING_CODE, NAN_CODE, OVERFLOW_CODE, ROUNDING_CODE, SCALE_MODE_CODE, SCALE_RULE_CODE, SCHEME_CODE } from './codes.js';
import type { ElementFormat } from './element.js';
import type { Format } from './format.js';
import type { ResolvedOptions } from './options.js';
import { pow2NanCode, scaleBytes, scaleElementOf, storedElement } from './quantized.js';
import { decodeElement, encodeElement } from './reference/element-codec.js';

/** Constants of the element the codes are stored in. */
export interface ElementConstants {
  readonly element: ElementFormat;
  readonly kindCode: number;
  readonly nanKindCode: number;
  readonly overflowCode: number;
  readonly encodingCode: number;
  /** Largest value: maxFinite for floats, kMax · 2^−fracBits for integers. */
  readonly largest: number;
  /** Most negative value (the signedMax rule's divisor): −maxFinite, or kMin · 2^−fracBits. */
  readonly mostNegative: number;
  /** maxFinite · 2^(23 − emax): maxFinite's significand as a 24-bit integer where it fits (RCEIL). */
  readonly maxFiniteSignificand: number;
  /** The EVEN rule's threshold on a block maximum's 24-bit significand, 2^24 − 2^(22 − roundingBits);
   * null when roundingBits > 22 (the rule never rounds up). */
  readonly evenThreshold: number | null;
  readonly zeroCode: number;
  /** Code of −0 (0 for unsigned floats, which have no sign). */
  readonly negativeZeroCode: number;
  /** Positive NaN code, or null without one. */
  readonly nanCode: number | null;
}

/** Rules the presets stand for, as explicit fields. */
export interface KernelRules {
  /** ggml's own float32 quantizers (preset ggml on a ggml type). */
  readonly ggmlQuantizers: boolean;
  /** The shared exponent comes from ⌊float32(log2 amax)⌋ (bits.ts floorLog2F32), not the exact one. */
  readonly float32Log2: boolean;
  /** The MX emulator's float32 element step (reference/microxcaling.ts) in power-of-two blocks. */
  readonly emulatorElementStep: boolean;
  /** An all-zero power-of-two block keeps each zero's sign (otherwise it stores +0). */
  readonly zeroBlockKeepsSign: boolean;
  /** Lower bound on a scaled block's scale after the tensor scale divides it (torchao's 2^−6), or null. */
  readonly scaleFloor: number | null;
}

/** Constants of a power-of-two block level. */
export interface Pow2Constants {
  /** Largest unbiased scale exponent 2^(scaleBits−1) − 1 (also the scale bias). */
  readonly scaleBias: number;
  /** The all-ones scale code 2^scaleBits − 1. */
  readonly allOnesScale: number;
  /** The scale code read as NaN, or null where the scale is read without one (ggml's E8M0 0xFF = 2^128). */
  readonly nanScaleCode: number | null;
  /** Unbiased exponent an all-zero (or flushed) block stores. */
  readonly zeroBlockExponent: number;
}

/** Constants of a multiplicative (scaled) block level. */
export interface ScaledConstants {
  readonly ruleCode: number;
  /** Code of NaN in the scale element as it is read, or null without one. */
  readonly scaleNanCode: number | null;
  /** The scale clamp of the descriptor, or null. */
  readonly clamp: readonly [number, number] | null;
  /** Largest finite value of the descriptor's scale element (448 for UE4M3). */
  readonly scaleMax: number;
}

/** Everything a kernel needs about `format` under resolved options. */
export interface KernelConstants {
  readonly schemeCode: number;
  readonly roundingCode: number;
  readonly scaleModeCode: number;
  readonly element: ElementConstants;
  /** The scale element as it is read (null for casts), and bytes per stored scale code. */
  readonly scaleElement: ElementFormat | null;
  readonly scaleBytes: number;
  readonly rules: KernelRules;
  readonly pow2: Pow2Constants | null;
  readonly scaled: ScaledConstants | null;
  /** ggml's FP4 value table (kvalues_mxfp4) where ggml's quantizers use it, else null. */
  readonly ggmlValues: readonly number[] | null;
}

const fround = Math.fround;

const elementCache = new WeakMap<ElementFormat, ElementConstants>();

/** The constants of one element format. */
export function elementConstants(el: ElementFormat): ElementConstants {
  const hit = elementCache.get(el);
  if (hit) return hit;
  const rb = el.roundingBits;
  const c: ElementConstants = Object.freeze({
    element: el,
    kindCode: ELEMENT_KIND_CODE[el.kind],
    nanKindCode: el.kind === 'float' ? NAN_CODE[el.nan] : 0,
    overflowCode: el.kind === 'float' ? OVERFLOW_CODE[el.overflow] : 0,
    encodingCode: el.kind === 'int' ? INT_ENCODING_CODE[el.encoding] : 0,
    largest: el.kind === 'int' ? el.kMax * pow2(-el.fracBits) : el.maxFinite,
    mostNegative: el.kind === 'int' ? el.kMin * pow2(-el.fracBits) : -el.maxFinite,
    maxFiniteSignificand: el.maxFinite * pow2(23 - el.emax),
    evenThreshold: rb <= 22 ? 2 ** 24 - 2 ** (22 - rb) : null,
    zeroCode: encodeElement(el, 0, 'rne'),
    negativeZeroCode: el.kind === 'float' && !el.signed ? 0 : encodeElement(el, -0, 'rne'),
    nanCode: el.kind === 'float' && el.nan !== 'none' ? encodeElement(el, NaN, 'rne') : null,
  });
  elementCache.set(el, c);
  return c;
}

/** torchao's NVFP4 floor on the block scale. */
const TORCHAO_SCALE_FLOOR = pow2(-6);

/** The rule fields `options.preset` stands for on `format`. */
export function kernelRules(format: Format, options: ResolvedOptions): KernelRules {
  const ggml = options.preset === 'ggml' && format.family === 'ggml';
  const emulator = options.preset === 'microxcaling' && format.scheme === 'pow2';
  return Object.freeze({
    ggmlQuantizers: ggml,
    float32Log2: format.scheme === 'pow2' && (ggml || emulator),
    emulatorElementStep: emulator,
    zeroBlockKeepsSign: !emulator,
    scaleFloor: options.preset === 'torchao' && format.tensorScale ? TORCHAO_SCALE_FLOOR : null,
  });
}

/** Every element and block constant a kernel needs for `format` under `options`. */
export function kernelConstants(format: Format, options: ResolvedOptions): KernelConstants {
  const rules = kernelRules(format, options);
  const element = elementConstants(storedElement(format, options.preset));
  const scaleEl = scaleElementOf(format, options);
  let pow2Level: Pow2Constants | null = null;
  if (format.scheme === 'pow2' && scaleEl) {
    const scaleBias = 2 ** (options.scaleBits - 1) - 1;
    const nan = pow2NanCode(scaleEl);
    pow2Level = Object.freeze({
      scaleBias,
      allOnesScale: 2 ** options.scaleBits - 1,
      nanScaleCode: nan < 0 ? null : nan,
      // the emulator takes log2(2^−126) for an all-zero block; OCP the smallest scale
      zeroBlockExponent: rules.emulatorElementStep ? Math.max(-126 - element.element.emax, -scaleBias) : -scaleBias,
    });
  }
  let scaled: ScaledConstants | null = null;
  if (format.scheme === 'scaled' && scaleEl && format.scaleElement) {
    scaled = Object.freeze({
      ruleCode: format.scaleRule ? SCALE_RULE_CODE[format.scaleRule] : 0,
      scaleNanCode: elementConstants(scaleEl).nanCode,
      clamp: format.scaleClamp,
      scaleMax: format.scaleElement.maxFinite,
    });
  }
  return Object.freeze({
    schemeCode: SCHEME_CODE[format.scheme],
    roundingCode: ROUNDING_CODE[options.rounding],
    scaleModeCode: SCALE_MODE_CODE[options.scaleMode],
    element,
    scaleElement: scaleEl,
    scaleBytes: scaleBytes(scaleEl),
    rules,
    pow2: pow2Level,
    scaled,
    ggmlValues: rules.ggmlQuantizers && format.element.kind === 'float' ? ggmlValueTable(format.element) : null,
  });
}

const ggmlTables = new WeakMap<ElementFormat, readonly number[]>();

/**
 * ggml's integer table of a 4-bit float element (kvalues_mxfp4 for E2M1: every code's value
 * doubled, −0 as 0); ggml halves the scale to match.
 */
export function ggmlValueTable(el: ElementFormat): readonly number[] {
  let t = ggmlTables.get(el);
  if (!t) {
    t = Object.freeze(Array.from({ length: 2 ** el.bits }, (_, c) => 2 * decodeElement(el, c) + 0));
    ggmlTables.set(el, t);
  }
  return t;
}

/** The default per-tensor scale of a format with one (NVFP4): max finite |x| / (element max ·
 * scale max) in float32, never below 2^−149; 1 when `amax` (the largest finite |x|) is 0. */
export function defaultTensorScale(format: Format, amax: number): number {
  if (amax === 0) return 1;
  const denom = fround(format.element.maxFinite * format.scaleElement!.maxFinite);
  return Math.max(fround(amax / denom), pow2(-149));
}

let log2Thresholds: readonly (number | null)[] | null = null;

/**
 * ⌊float32(log2 x)⌋ as a table (bits.ts floorLog2F32): for each binade [2^k, 2^(k+1)) of float32,
 * k = −149…127 at index k + 149, the smallest float32 bit pattern in it whose float32 log2
 * reaches k + 1, or null where none does. Measured on this engine's Math.log2, as the reference is.
 */
export function float32Log2Thresholds(): readonly (number | null)[] {
  if (log2Thresholds) return log2Thresholds;
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  const log2Floor = (bits: number) => {
    u[0] = bits;
    return Math.floor(fround(Math.log2(f[0]!)));
  };
  const out: (number | null)[] = [];
  for (let k = -149; k <= 127; k++) {
    let lo = binadeStart(k);
    const last = binadeStart(k + 1) - 1;
    let hi = last + 1;
    // smallest pattern in [lo, last] reaching k + 1 (monotone in x); last + 1 when none does
    while (lo < hi) {
      const mid = lo + Math.floor((hi - lo) / 2);
      if (log2Floor(mid) >= k + 1) hi = mid;
      else lo = mid + 1;
    }
    out.push(hi > last ? null : hi);
  }
  log2Thresholds = Object.freeze(out);
  return log2Thresholds;
}

/** Bit pattern of 2^k in float32 (k = −149…128; 2^128 gives the pattern of +Inf). */
export function binadeStart(k: number): number {
  return k < -126 ? 2 ** (k + 149) : (k + 127) * 2 ** 23;
}

/** Whether this engine's Math.log2 is exact at every float32 power of two (the tables above then
 * describe floorLog2F32 for GPU kernels that compare bit patterns only). */
export function float32Log2ExactAtPowersOfTwo(): boolean {
  for (let k = -149; k <= 127; k++) if (Math.floor(fround(Math.log2(pow2(k)))) !== k) return false;
  return true;
}
