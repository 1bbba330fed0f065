// Derived, display-ready facts about a format, shared by `formats`, `info` and later subcommands.
// Everything here is computed from the descriptor; nothing branches on a format's name.
import { decodeElement, type ElementFormat, type Format, type ScaleRule } from '../index.js';
import { dyadic, exactDecimal, formatNumber } from './text.js';

/** One row of `microscale formats` (also its --json record). */
export interface FormatSummary {
  readonly name: string;
  readonly family: string;
  readonly description: string;
  readonly scheme: string;
  readonly granularity: string;
  readonly element: string;
  readonly elementBits: number;
  /** Elements per level-1 scale; null when the scale covers a whole row (axis) or tensor. */
  readonly blockSize: number | null;
  readonly subBlock: { readonly size: number; readonly bits: number } | null;
  readonly scale: { readonly element: string; readonly bits: number; readonly rule: ScaleRule | null } | null;
  /** NVFP4-style second FP32 scale per tensor. */
  readonly tensorScale: boolean;
  /** Stored bits per element with block scales amortised (per-row and per-tensor scales excluded). */
  readonly bitsPerElement: number;
  /** Bits stored once per row along the axis (axis-wise scales and offsets), 0 if none. */
  readonly bitsPerRow: number;
  /** Bits stored once per tensor (tensor-wise scales, the NVFP4 tensor scale), 0 if none. */
  readonly bitsPerTensor: number;
  readonly maxMagnitude: number;
}

/** Bits one stored scale code takes: the exponent width for power-of-two scales, whole bytes otherwise. */
export function storedScaleBits(format: Format): number {
  const s = format.scaleElement;
  if (!s) return 0;
  return format.scheme === 'pow2' ? s.bits : Math.ceil(s.bits / 8) * 8;
}

export function summarize(format: Format): FormatSummary {
  const scaleBits = storedScaleBits(format);
  const perScale = scaleBits * (format.scaleRule === 'minMax' ? 2 : 1);
  const blockSize = format.granularity === 'element' || format.granularity === 'block' ? format.blockSize : null;
  return {
    name: format.name,
    family: format.family,
    description: format.description,
    scheme: format.scheme,
    granularity: format.granularity,
    element: format.element.name,
    elementBits: format.element.bits,
    blockSize,
    subBlock: format.subBlock ? { size: format.subBlock.size, bits: format.subBlock.bits } : null,
    scale: format.scaleElement ? { element: format.scaleElement.name, bits: scaleBits, rule: format.scaleRule } : null,
    tensorScale: format.tensorScale,
    bitsPerElement: format.bitsPerElement,
    bitsPerRow: format.granularity === 'axis' ? perScale : 0,
    bitsPerTensor: (format.granularity === 'tensor' ? perScale : 0) + (format.tensorScale ? 32 : 0),
    maxMagnitude: format.maxMagnitude,
  };
}

/** Table cell for the block column: `32`, `16/2` (block / sub-block), `row`, `tensor`, or `-` for scalars. */
export function blockCell(s: FormatSummary): string {
  if (s.granularity === 'element') return '-';
  if (s.granularity === 'axis') return 'row';
  if (s.granularity === 'tensor') return 'tensor';
  return s.subBlock ? `${s.blockSize}/${s.subBlock.size}` : String(s.blockSize);
}

/** Table cell for the scale column: `e8m0 8b`, `e8m0 8b + 1b/2`, `fp16 16b + min`, `ue4m3 8b + fp32/tensor`. */
export function scaleCell(s: FormatSummary): string {
  if (!s.scale) return '-';
  let cell = `${s.scale.element} ${s.scale.bits}b`;
  if (s.subBlock) cell += ` + ${s.subBlock.bits}b/${s.subBlock.size}`;
  if (s.scale.rule === 'minMax') cell += ' + min';
  if (s.tensorScale) cell += ' + fp32/tensor';
  return cell;
}

/** Table cell for bits per element: `4.25`, `8+32/N`, `8+64/row`. */
export function bitsCell(s: FormatSummary): string {
  let cell = formatNumber(s.bitsPerElement);
  if (s.bitsPerRow) cell += `+${s.bitsPerRow}/row`;
  if (s.bitsPerTensor) cell += `+${s.bitsPerTensor}/N`;
  return cell;
}

/** What a code of an element means. */
export type CodeClass = 'zero' | 'subnormal' | 'normal' | 'inf' | 'nan' | 'int' | 'decode-only';

/** One row of an element's code table. */
export interface CodeEntry {
  readonly code: number;
  readonly hex: string;
  readonly binary: string;
  readonly value: number;
  /** The exact value as `k*2^e` (k odd), or NaN / Inf / -Inf / 0 / -0. */
  readonly exact: string;
  readonly class: CodeClass;
}

function classify(el: ElementFormat, code: number, value: number): CodeClass {
  if (Number.isNaN(value)) return 'nan';
  if (!Number.isFinite(value)) return 'inf';
  if (el.kind === 'int') {
    if (value === 0) return 'zero';
    const k = value * 2 ** el.fracBits;
    return k < el.kMin || k > el.kMax ? 'decode-only' : 'int';
  }
  if (value === 0 && el.zero) return 'zero';
  const expField = Math.floor((code % 2 ** (el.expBits + el.manBits)) / 2 ** el.manBits);
  return expField === 0 && el.subnormals ? 'subnormal' : 'normal';
}

/** Every code of an element with its exact value, in code order. */
export function codeTable(el: ElementFormat): CodeEntry[] {
  const hexDigits = Math.ceil(el.bits / 4);
  const rows: CodeEntry[] = [];
  for (let code = 0; code < el.codeCount; code++) {
    const value = decodeElement(el, code);
    rows.push({
      code,
      hex: `0x${code.toString(16).padStart(hexDigits, '0')}`,
      binary: code.toString(2).padStart(el.bits, '0'),
      value,
      exact: dyadic(value),
      class: classify(el, code, value),
    });
  }
  return rows;
}

/** A descriptor number for text output: the exact decimal, with the dyadic form when that says more. */
export function numberField(x: number): string {
  const text = exactDecimal(x);
  if (!Number.isFinite(x) || !text.includes('e')) return text;
  return `${text} (${dyadic(x)})`;
}
