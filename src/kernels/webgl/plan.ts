// What the WebGL kernels need to know about a format, derived once from its descriptor and the
// resolved options: integer constants baked into the shader text, or the reason the operation runs
// on the reference codec instead. Kernels never see a format name, only these numbers.
import { ROUNDING_CODE } from '../../formats/codes.js';
import { elementConstants, kernelConstants, type KernelConstants } from '../../formats/derived.js';
import type { ElementFormat, OverflowPolicy } from '../../formats/element.js';
import type { Format } from '../../formats/format.js';
import type { ResolvedOptions } from '../../formats/options.js';
import { encodeElement } from '../../formats/reference/element-codec.js';
import type { Rounding } from '../../formats/reference/element-codec.js';

/** Largest block the per-block scan kernel loops over in one thread; larger blocks use the reference. */
export const MAX_KERNEL_BLOCK = 65536;

/** Integer constants of one element format (the stored element: the emulator's element step
 * stores integers sign-magnitude). Codes are unsigned integers below 2^16. */
export interface ElementPlan {
  readonly isFloat: boolean;
  readonly bits: number;
  /** Mantissa bits (float) or fraction bits (int). */
  readonly m: number;
  /** 2^m for floats. */
  readonly implicit: number;
  readonly bias: number;
  readonly emin: number;
  readonly signed: boolean;
  /** Code offset of the sign bit (0 for unsigned elements). */
  readonly signCode: number;
  readonly hasZero: boolean;
  readonly hasSubnormals: boolean;
  readonly topExpField: number;
  readonly topManField: number;
  /** 2^expBits − 1, the all-ones exponent field. */
  readonly topField: number;
  /** 2^(expBits + manBits): codes at or above it carry the sign. */
  readonly span: number;
  readonly infinity: boolean;
  /** 0 none, 1 IEEE (top exponent, mantissa ≠ 0), 2 all-ones pattern only. */
  readonly nanKind: number;
  /** Positive NaN code (0 when there is none). */
  readonly nanCode: number;
  /** Positive code written for a finite value above the range under the operation's policy and rounding (rtz saturates). */
  readonly overflowCode: number;
  /** Positive code written for +Infinity (casts only). */
  readonly infinityCode: number;
  /** Integer encoding: 0 twos, 1 sign-magnitude, 2 offset, 3 unsigned. */
  readonly encoding: number;
  readonly kMax: number;
  /** 2^(bits−1) and 2^bits. */
  readonly half: number;
  readonly modulus: number;
  /** Code of +0 (what filled blocks hold). */
  readonly zeroCode: number;
  /** ⌊log2 maxFinite⌋ (OCP emax_elem). */
  readonly emax: number;
  readonly roundingBits: number;
  /** maxFinite's significand as a 24-bit integer (maxFinite = rceilSig · 2^(emax − 23)). */
  readonly rceilSig: number;
}

/** Constants of a power-of-two block level. */
export interface BlockPlan {
  readonly size: number;
  readonly scaleMode: number;
  /** Largest unbiased scale exponent 2^(scaleBits−1) − 1 (also the scale bias). */
  readonly smax: number;
  /** The all-ones scale code: NaN. */
  readonly nanScale: number;
  /** Scale code of an all-zero (or flushed) block. */
  readonly zeroScale: number;
  /** Threshold on the 24-bit significand of the block maximum for the `even` rule (0: never). */
  readonly evenThreshold: number;
  readonly microxcaling: boolean;
  readonly flushSubnormalBlocks: boolean;
  /** BDR microexponents: sub-block size and largest shift (0/0 without them). */
  readonly subSize: number;
  readonly tauMax: number;
  readonly subBits: number;
}

/** Everything a kernel is generated from. `key` identifies the generated source. */
export interface KernelPlan {
  readonly scheme: 'cast' | 'pow2';
  readonly element: ElementPlan;
  readonly rounding: number;
  readonly block: BlockPlan | null;
  readonly key: string;
}

/** A plan, or why the operation is left to the reference codec. */
export type PlanResult = { readonly plan: KernelPlan; readonly reason?: undefined } | { readonly plan?: undefined; readonly reason: string };

function elementPlan(el: ElementFormat, overflow: OverflowPolicy, rounding: Rounding): ElementPlan {
  const c = elementConstants(el);
  const zeroCode = c.zeroCode;
  const emax = el.emax;
  const rceilSig = c.maxFiniteSignificand;
  if (el.kind === 'float') {
    const span = 2 ** (el.expBits + el.manBits);
    const huge = el.maxFinite * 4;
    return {
      isFloat: true,
      bits: el.bits,
      m: el.manBits,
      implicit: 2 ** el.manBits,
      bias: el.bias,
      emin: el.emin,
      signed: el.signed,
      signCode: el.signed ? span : 0,
      hasZero: el.zero,
      hasSubnormals: el.subnormals,
      topExpField: el.topExpField,
      topManField: el.topManField,
      topField: 2 ** el.expBits - 1,
      span,
      infinity: el.infinity,
      nanKind: c.nanKindCode,
      nanCode: c.nanCode ?? 0,
      overflowCode: encodeElement(el, huge, rounding === 'stochastic' ? 'rne' : rounding, 0, overflow),
      infinityCode: encodeElement(el, Infinity, 'rne', 0, overflow),
      encoding: 0,
      kMax: 0,
      half: 0,
      modulus: 0,
      zeroCode,
      emax,
      roundingBits: el.roundingBits,
      rceilSig,
    };
  }
  return {
    isFloat: false,
    bits: el.bits,
    m: el.fracBits,
    implicit: 1,
    bias: 0,
    emin: 0,
    signed: el.encoding !== 'unsigned',
    signCode: 0,
    hasZero: true,
    hasSubnormals: false,
    topExpField: 0,
    topManField: 0,
    topField: 0,
    span: 0,
    infinity: false,
    nanKind: 0,
    nanCode: 0,
    overflowCode: 0,
    infinityCode: 0,
    encoding: c.encodingCode,
    kMax: el.kMax,
    half: 2 ** (el.bits - 1),
    modulus: 2 ** el.bits,
    zeroCode,
    emax,
    roundingBits: el.roundingBits,
    rceilSig,
  };
}

function planKey(p: Omit<KernelPlan, 'key'>): string {
  const e = p.element;
  const el = [e.isFloat ? 'f' : 'i', e.bits, e.m, e.bias, e.emin, +e.signed, +e.hasZero, +e.hasSubnormals, e.topExpField, e.topManField, +e.infinity, e.nanKind, e.nanCode, e.overflowCode, e.infinityCode, e.encoding, e.kMax, e.zeroCode, e.emax, e.roundingBits, e.rceilSig].join(',');
  const b = p.block;
  const bl = b ? [b.size, b.scaleMode, b.smax, b.zeroScale, +b.microxcaling, +b.flushSubnormalBlocks, b.subSize, b.tauMax].join(',') : '-';
  return `${p.scheme}|${el}|r${p.rounding}|${bl}`;
}

/** Whether an element's codes fit the kernels (≤ 16 bits, integer limits exact in float32). */
function elementSupported(el: ElementFormat): string | null {
  if (el.bits > 16) return `${el.bits}-bit element ${el.name} (kernels handle elements of up to 16 bits)`;
  const significand = elementConstants(el).maxFiniteSignificand;
  if (!Number.isInteger(significand) || significand >= 2 ** 24) {
    return `element ${el.name}: largest value needs more than 24 significant bits`;
  }
  return null;
}

/**
 * The kernel plan for quantizing (and fake-quantizing) `format` under resolved `opts`, or the reason
 * the reference codec handles it. `stochastic` is allowed only where the context can compute the
 * counter-based draw itself (`allowStochastic`).
 */
export function quantizePlan(format: Format, opts: ResolvedOptions, allowStochastic: boolean): PlanResult {
  if (format.scheme === 'scaled') return { reason: `${format.name}: multiplicative (non power-of-two) scales` };
  const k = kernelConstants(format, opts);
  if (k.rules.ggmlQuantizers) return { reason: `${format.name}: ggml's quantizers (float32 log2 of the block maximum)` };
  if (opts.rounding === 'stochastic' && !allowStochastic) return { reason: 'stochastic rounding (needs 32-bit integer arithmetic)' };
  const el = k.element.element;
  const unsupported = elementSupported(el);
  if (unsupported) return { reason: unsupported };
  if (format.scheme === 'cast') {
    const base = { scheme: 'cast' as const, element: elementPlan(el, el.kind === 'float' ? el.overflow : 'saturate', opts.rounding), rounding: k.roundingCode, block: null };
    return { plan: Object.freeze({ ...base, key: planKey(base) }) };
  }
  if (el.kind === 'float' && !el.signed) return { reason: `${format.name}: unsigned block elements` };
  if (opts.blockSize > MAX_KERNEL_BLOCK) return { reason: `blocks of ${opts.blockSize} elements (kernel limit ${MAX_KERNEL_BLOCK})` };
  return { plan: blockPlanOf(format, opts, k, opts.rounding) };
}

/** The kernel plan for dequantizing a tensor of `format` stored under `opts`, or the reason the reference handles it. */
export function dequantizePlan(format: Format, opts: ResolvedOptions): PlanResult {
  if (format.scheme === 'scaled') return { reason: `${format.name}: multiplicative (non power-of-two) scales` };
  const k = kernelConstants(format, opts);
  if (k.pow2 && k.pow2.nanScaleCode === null) return { reason: `${format.name}: ggml's reading of E8M0 0xFF as 2^128` };
  const el = k.element.element;
  const unsupported = elementSupported(el);
  if (unsupported) return { reason: unsupported };
  if (format.scheme === 'cast') {
    const base = { scheme: 'cast' as const, element: elementPlan(el, 'saturate', 'rne'), rounding: 0, block: null };
    return { plan: Object.freeze({ ...base, key: planKey(base) }) };
  }
  if (opts.blockSize > MAX_KERNEL_BLOCK) return { reason: `blocks of ${opts.blockSize} elements (kernel limit ${MAX_KERNEL_BLOCK})` };
  return { plan: blockPlanOf(format, opts, k, 'rne') };
}

function blockPlanOf(format: Format, opts: ResolvedOptions, k: KernelConstants, rounding: Rounding): KernelPlan {
  const el = k.element.element;
  const p = k.pow2!;
  const sub = format.subBlock;
  const block: BlockPlan = Object.freeze({
    size: opts.blockSize,
    scaleMode: k.scaleModeCode,
    smax: p.scaleBias,
    nanScale: p.allOnesScale,
    zeroScale: p.zeroBlockExponent + p.scaleBias,
    evenThreshold: k.element.evenThreshold ?? 0,
    microxcaling: k.rules.emulatorElementStep,
    flushSubnormalBlocks: opts.flushSubnormalBlocks,
    subSize: sub ? sub.size : 0,
    tauMax: sub ? 2 ** sub.bits - 1 : 0,
    subBits: sub ? sub.bits : 0,
  });
  const base = { scheme: 'pow2' as const, element: elementPlan(el, 'saturate', rounding), rounding: ROUNDING_CODE[rounding], block };
  return Object.freeze({ ...base, key: planKey(base) });
}
