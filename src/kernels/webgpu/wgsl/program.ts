// Everything a kernel bakes in, serialized from the format's kernel constants (src/formats/derived.ts).
// Kernels never look at a format's name, only at these numbers.
import { f32ToBits } from '../../../formats/bits.js';
import { kernelConstants } from '../../../formats/derived.js';
import type { ElementFormat, OverflowPolicy } from '../../../formats/element.js';
import type { Format, ScaleRule, SubBlock } from '../../../formats/format.js';
import type { ResolvedOptions } from '../../../formats/options.js';

/** Constants of one (format, stored element) pair as the shaders use them. */
export interface Program {
  /** Pipeline-cache key part: identifies every constant below. */
  readonly key: string;
  readonly scheme: 'cast' | 'pow2' | 'scaled';
  /** The element codes are stored in (the signmag twin under the emulator's element step). */
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
  /** float32 bits of the descriptor's largest scale value (ggml's UE4M3 cap); 0 without a scaled level. */
  readonly scaleMaxBits: number;
  /** Bits of one stored level-1 scale code (8 for pow2 exponents; 8, 16 or 32 for scaled). */
  readonly scaleCodeBits: number;
  /** The block scale and codes follow ggml's float32 quantizers. */
  readonly ggml: boolean;
  /** ggml's FP4 value table where its quantizers use one. */
  readonly ggmlValues: readonly number[] | null;
  /** The emulator's float32 log2 and element step (power-of-two blocks). */
  readonly micro: boolean;
}

const cache = new Map<string, Program>();

function exactF32Bits(v: number, what: string): number {
  if (Math.fround(v) !== v) throw new RangeError(`${what} ${v} is not a float32 value`);
  return f32ToBits(v);
}

/** Derive (and cache) the program of `format` under resolved `options`, from its kernel constants. */
export function programOf(format: Format, options: ResolvedOptions): Program {
  const k = kernelConstants(format, options);
  const e = k.element;
  const el = e.element;
  const ggml = k.rules.ggmlQuantizers;
  const micro = k.rules.emulatorElementStep;
  const key = `${format.name}|${el.name}${ggml ? '|ggml' : ''}${micro ? '|micro' : ''}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const scheme = format.scheme;
  const overflow: OverflowPolicy = scheme === 'cast' && el.kind === 'float' ? el.overflow : 'saturate';
  const rceil = e.maxFiniteSignificand;
  if (!Number.isInteger(rceil) || rceil > 2 ** 24) throw new RangeError(`maxFinite of ${el.name} has more than 24 significant bits`);
  const scaled = k.scaled;
  const p: Program = Object.freeze({
    key,
    scheme,
    element: el,
    codeBits: el.bits,
    overflow,
    zeroCode: e.zeroCode,
    subBlock: format.subBlock,
    emax: el.emax,
    // (without a threshold the EVEN rule never rounds up: no 24-bit significand reaches 2^24)
    evenThreshold: e.evenThreshold ?? 2 ** 24,
    rceilMantissa: rceil,
    scaleElement: scaled ? k.scaleElement : null,
    scaleRule: format.scaleRule,
    elMaxBits: exactF32Bits(e.largest, 'element maximum'),
    divisorBits: exactF32Bits(e.mostNegative, 'signed-max divisor'),
    clampBits: scaled?.clamp ? ([exactF32Bits(scaled.clamp[0], 'scale clamp'), exactF32Bits(scaled.clamp[1], 'scale clamp')] as const) : null,
    tensorScale: format.tensorScale,
    scaleNanCode: scaled?.scaleNanCode ?? 0,
    scaleMaxBits: scaled ? exactF32Bits(scaled.scaleMax, 'scale maximum') : 0,
    scaleCodeBits: scheme === 'pow2' ? 8 : scheme === 'scaled' ? k.scaleBytes * 8 : 0,
    ggml,
    ggmlValues: k.ggmlValues,
    micro,
  });
  cache.set(key, p);
  return p;
}
