// Everything a kernel bakes in, derived once from a format descriptor (and the preset where it
// changes the stored element). Kernels never look at a format's name, only at these numbers.
import { f32ToBits, pow2 } from '../../../formats/bits.js';
import type { ElementFormat, OverflowPolicy } from '../../../formats/element.js';
import type { Format, ScaleRule, SubBlock } from '../../../formats/format.js';
import type { Preset } from '../../../formats/options.js';
import { pow2ScaleElement } from '../../../formats/catalog.js';
import { ggmlScaleElement, pow2NanCode, scaleBytes, storedElement } from '../../../formats/quantized.js';
import { encodeElement } from '../../../formats/reference/element-codec.js';

/** Constants of one (format, stored element) pair as the shaders use them. */
export interface Program {
  /** Pipeline-cache key part: identifies every constant below. */
  readonly key: string;
  readonly scheme: 'cast' | 'pow2' | 'scaled';
  /** The element codes are stored in (the signmag twin under the microxcaling preset). */
  readonly element: ElementFormat;
  readonly codeBits: number;
  /** Overflow policy the element encoder applies (the element's own for casts, saturate in blocks). */
  readonly overflow: OverflowPolicy;
  /** Code of +0 (what non-finite and all-zero blocks store). */
  readonly zeroCode: number;
  readonly subBlock: SubBlock | null;
  /** pow2: element emax, the EVEN-rule mantissa threshold and maxFinite·2^(23−emax) for RCEIL. */
  readonly emax: number;
  readonly evenThreshold: number;
  readonly rceilMantissa: number;
  /** scaled: scale element, rule, and float32 bit patterns of the constants the rule divides by. */
  readonly scaleElement: ElementFormat | null;
  readonly scaleRule: ScaleRule | null;
  readonly elMaxBits: number;
  readonly divisorBits: number;
  readonly clampBits: readonly [number, number] | null;
  readonly tensorScale: boolean;
  readonly scaleNanCode: number;
  /** Bits of one stored level-1 scale code (8 for pow2 exponents; 8, 16 or 32 for scaled). */
  readonly scaleCodeBits: number;
  /** Preset ggml on a ggml type: the block scale and codes follow ggml's float32 quantizers. */
  readonly ggml: boolean;
  /** Preset microxcaling on a power-of-two format: the emulator's float32 log2 and rounding. */
  readonly micro: boolean;
}

const cache = new Map<string, Program>();

/** The power-of-two scale code that decodes as NaN; 0xffffffff (no code) under ggml's reading,
 * where E8M0 0xFF is 2^128. */
export function pow2ScaleNanCode(p: Program, scaleBits: number): number {
  const el = pow2ScaleElement(scaleBits);
  const c = pow2NanCode(p.ggml ? ggmlScaleElement(el) : el);
  return c < 0 ? 0xffffffff : c;
}

function exactF32Bits(v: number, what: string): number {
  if (Math.fround(v) !== v) throw new RangeError(`${what} ${v} is not a float32 value`);
  return f32ToBits(v);
}

/** Derive (and cache) the program of `format` under `preset`. */
export function programOf(format: Format, preset: Preset): Program {
  const el = storedElement(format, preset);
  const ggml = preset === 'ggml' && format.family === 'ggml';
  const micro = preset === 'microxcaling' && format.scheme === 'pow2';
  const key = `${format.name}|${el.name}${ggml ? '|ggml' : ''}${micro ? '|micro' : ''}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const scheme = format.scheme;
  const overflow: OverflowPolicy = scheme === 'cast' && el.kind === 'float' ? el.overflow : 'saturate';
  const rb = el.roundingBits;
  const evenThreshold = rb <= 22 ? 2 ** 24 - 2 ** (22 - rb) : 2 ** 24;
  const rceil = el.maxFinite * pow2(23 - el.emax);
  if (!Number.isInteger(rceil) || rceil > 2 ** 24) throw new RangeError(`maxFinite of ${el.name} has more than 24 significant bits`);
  const elMax = el.kind === 'int' ? el.kMax * pow2(-el.fracBits) : el.maxFinite;
  const divisor = el.kind === 'int' ? el.kMin * pow2(-el.fracBits) : -el.maxFinite;
  // ggml reads its scale bytes without a NaN code (quantized.ts scaleElementOf)
  const scaleEl = scheme === 'scaled' && format.scaleElement ? (ggml ? ggmlScaleElement(format.scaleElement) : format.scaleElement) : null;
  const p: Program = Object.freeze({
    key,
    scheme,
    element: el,
    codeBits: el.bits,
    overflow,
    zeroCode: encodeElement(el, 0, 'rne'),
    subBlock: format.subBlock,
    emax: el.emax,
    evenThreshold,
    rceilMantissa: rceil,
    scaleElement: scaleEl,
    scaleRule: format.scaleRule,
    elMaxBits: exactF32Bits(elMax, 'element maximum'),
    divisorBits: exactF32Bits(divisor, 'signed-max divisor'),
    clampBits: format.scaleClamp ? ([exactF32Bits(format.scaleClamp[0], 'scale clamp'), exactF32Bits(format.scaleClamp[1], 'scale clamp')] as const) : null,
    tensorScale: format.tensorScale,
    scaleNanCode: scaleEl && scaleEl.kind === 'float' && scaleEl.nan !== 'none' ? encodeElement(scaleEl, NaN, 'rne') : 0,
    scaleCodeBits: scheme === 'pow2' ? 8 : scheme === 'scaled' ? scaleBytes(scaleEl) * 8 : 0,
    ggml,
    micro,
  });
  cache.set(key, p);
  return p;
}
