// The job block the kernels read (native/kernels.ts `prepare`): float64 slots holding the
// derived constants of a format's descriptor and the addresses of the buffers. Everything here
// comes from descriptor fields; nothing looks at a format's name.
import { elementConstants, type ElementConstants, type KernelConstants } from '../../formats/derived.js';
import type { ElementFormat } from '../../formats/element.js';
import type { Format } from '../../formats/format.js';
import type { Layout } from '../../formats/layout.js';
import type { ResolvedOptions } from '../../formats/options.js';
import { ELEMENT_BLOCKS, ELEMENT_SLOTS, JOB_SLOTS } from './job-layout.js';

export { JOB_BYTES } from './job-layout.js';

const SLOT = JOB_SLOTS;
const D = ELEMENT_SLOTS;

/** Write an element's derived constants at slot `base`. */
function writeElement(s: Float64Array, base: number, c: ElementConstants): void {
  const el = c.element;
  s[base + D.kind] = c.kindCode;
  s[base + D.bits] = el.bits;
  s[base + D.emax] = el.emax;
  s[base + D.roundingBits] = el.roundingBits;
  s[base + D.maxFinite] = el.maxFinite;
  if (el.kind === 'float') {
    s[base + D.expBits] = el.expBits;
    s[base + D.manBits] = el.manBits;
    s[base + D.bias] = el.bias;
    s[base + D.signed] = el.signed ? 1 : 0;
    s[base + D.infinity] = el.infinity ? 1 : 0;
    s[base + D.nan] = c.nanKindCode;
    s[base + D.subnormals] = el.subnormals ? 1 : 0;
    s[base + D.zero] = el.zero ? 1 : 0;
    s[base + D.topExpField] = el.topExpField;
    s[base + D.topManField] = el.topManField;
    s[base + D.emin] = el.emin;
    s[base + D.overflow] = c.overflowCode;
  } else {
    s[base + D.fracBits] = el.fracBits;
    s[base + D.encoding] = c.encodingCode;
    s[base + D.kMax] = el.kMax;
    s[base + D.kMin] = el.kMin;
  }
  s[base + D.largest] = c.largest;
  s[base + D.mostNegative] = c.mostNegative;
  s[base + D.zeroCode] = c.zeroCode;
  s[base + D.negativeZeroCode] = c.negativeZeroCode;
}

/** Buffer addresses of one job (0 when unused). */
export interface JobBuffers {
  x: number;
  codes: number;
  scales: number;
  subScales: number;
  offsets: number;
  out: number;
  lut: number;
  scaleLut: number;
  log2Table: number;
  lut32: number;
  /** ggml's FP4 value table (float64) where its quantizers use one. */
  ggmlValues: number;
  /** How matmul decodes w in registers (see {@link MatmulDecode}); null: decode rows to memory. */
  matmul?: MatmulDecode | null;
}

/** Register decoding of w's codes for matmul (native/kernels.ts matmulFusedRange). */
export interface MatmulDecode {
  /** 1: 4-bit codes through an int8 table; 2: 8-bit two's-complement codes; 3: 8-bit float bits. */
  mode: 1 | 2 | 3;
  /** Modes 1 and 2: values are integers · 2^−shift; mode 3: 127 − the element's bias. */
  shift: number;
  /** Mode 1: address of the 16-byte int8 table. */
  table: number;
  /** Mode 3: the smallest magnitude code (low 7 bits) that is NaN or infinite; 128 when none. */
  special: number;
}

/** Everything a kernel needs about one quantized layout. */
export interface JobSpec {
  format: Format;
  options: ResolvedOptions;
  layout: Layout;
  /** The derived constants the job block serializes. */
  constants: KernelConstants;
  /** The stored element and the scale element as read (from `constants`). */
  element: ElementFormat;
  scaleElement: ElementFormat | null;
  tensorScale: number;
  fastDequantize: boolean;
}

/** Fill `s` (JOB_BYTES / 8 slots) for `spec` and `buf`. */
export function writeJob(s: Float64Array, spec: JobSpec, buf: JobBuffers): void {
  s.fill(0);
  const { format, options: o, layout: L, constants: k } = spec;
  const el = k.element.element;
  writeElement(s, ELEMENT_BLOCKS.element, k.element);
  if (k.scaleElement) writeElement(s, ELEMENT_BLOCKS.scale, elementConstants(k.scaleElement));
  s[SLOT.scheme] = k.schemeCode;
  s[SLOT.n] = L.n;
  s[SLOT.rows] = L.rows;
  s[SLOT.rowLength] = L.rowLength;
  s[SLOT.inner] = L.inner;
  if (format.scheme === 'cast') {
    s[SLOT.blockSize] = 1;
    s[SLOT.blocksPerRow] = L.n;
  } else {
    s[SLOT.blockSize] = L.blockSize;
    s[SLOT.blocksPerRow] = L.blocksPerRow;
  }
  if (format.subBlock) {
    s[SLOT.subSize] = format.subBlock.size;
    s[SLOT.subBits] = format.subBlock.bits;
    s[SLOT.subPerRow] = L.subBlocksPerRow;
  }
  s[SLOT.rounding] = k.roundingCode;
  s[SLOT.seed] = o.seed;
  s[SLOT.scaleBits] = o.scaleBits;
  s[SLOT.emulatorElementStep] = k.rules.emulatorElementStep ? 1 : 0;
  s[SLOT.ggmlQuantizers] = k.rules.ggmlQuantizers ? 1 : 0;
  s[SLOT.flush] = o.flushSubnormalBlocks ? 1 : 0;
  s[SLOT.scaleMode] = k.scaleModeCode;
  s[SLOT.rule] = k.scaled ? k.scaled.ruleCode : 0;
  s[SLOT.upper] = o.scaleUpperBound ?? 0;
  s[SLOT.hasUpper] = o.scaleUpperBound !== null ? 1 : 0;
  s[SLOT.hasTensorScale] = format.tensorScale ? 1 : 0;
  s[SLOT.tensorScale] = spec.tensorScale;
  if (k.scaled?.clamp) {
    s[SLOT.clampLo] = k.scaled.clamp[0];
    s[SLOT.clampHi] = k.scaled.clamp[1];
    s[SLOT.hasClamp] = 1;
  }
  s[SLOT.scaleFloor] = k.rules.scaleFloor ?? 0;
  s[SLOT.scaleMax] = k.scaled ? k.scaled.scaleMax : 0;
  s[SLOT.pow2NanCode] = k.pow2 ? (k.pow2.nanScaleCode ?? -1) : -1;
  s[SLOT.scaleBytes] = k.scaleBytes;
  // (ggml's reading of UE4M3 has no NaN code; its quantizer never writes one)
  s[SLOT.scaleNanCode] = k.scaled ? (k.scaled.scaleNanCode ?? 0) : 0;
  s[SLOT.scaleIsF32] = k.scaleElement && k.scaleElement.kind === 'float' && k.scaleElement.bits === 32 ? 1 : 0;
  s[SLOT.elIsF32] = el.kind === 'float' && el.bits === 32 ? 1 : 0;
  s[SLOT.x] = buf.x;
  s[SLOT.codes] = buf.codes;
  s[SLOT.scales] = buf.scales;
  s[SLOT.subScales] = buf.subScales;
  s[SLOT.offsets] = buf.offsets;
  s[SLOT.out] = buf.out;
  s[SLOT.lut] = buf.lut;
  s[SLOT.scaleLut] = buf.scaleLut;
  s[SLOT.log2Table] = buf.log2Table;
  s[SLOT.lut32] = buf.lut32;
  s[SLOT.ggmlValues] = buf.ggmlValues;
  s[SLOT.fastDequantize] = spec.fastDequantize && buf.lut32 !== 0 ? 1 : 0;
  if (buf.matmul) {
    s[SLOT.matmulMode] = buf.matmul.mode;
    s[SLOT.matmulShift] = buf.matmul.shift;
    s[SLOT.matmulTable] = buf.matmul.table;
    s[SLOT.matmulSpecial] = buf.matmul.special;
  }
  const fast = fastQuantizeKind(format, o, k);
  s[SLOT.fastQuantize] = fast;
  if (fast !== 0 && el.kind === 'float') {
    const maxMag = el.topExpField * 2 ** el.manBits + el.topManField;
    const infMag = (2 ** el.expBits - 1) * 2 ** el.manBits;
    // a finite value past the top: saturate, except a cast under RNE to an element whose policy is Inf
    const toInf = format.scheme === 'cast' && o.rounding === 'rne' && el.overflow === 'infinity' && el.infinity;
    s[SLOT.maxMagnitudeCode] = toInf ? infMag : maxMag;
    // ±Inf keeps its code unless the policy saturates (OFP8's saturating mode)
    s[SLOT.infinityMagnitudeCode] = el.infinity && !(format.scheme === 'cast' && el.overflow === 'saturate') ? infMag : maxMag;
    s[SLOT.nanCode] = k.element.nanCode ?? -1;
  } else {
    s[SLOT.nanCode] = -1;
  }
}

/**
 * Which float32-lane path the quantizer may take (0: none; kinds in native/kernels.ts). It needs
 * RNE or RTZ, none of the emulator's or ggml's float32 arithmetic, and an element whose grid
 * float32 lanes hold exactly (see native/kernels.ts pow2FastBlock).
 */
function fastQuantizeKind(format: Format, o: ResolvedOptions, k: KernelConstants): number {
  const el = k.element.element;
  if (k.rules.emulatorElementStep || k.rules.ggmlQuantizers) return 0;
  if (o.rounding !== 'rne' && o.rounding !== 'rtz') return 0;
  if (el.kind === 'float') {
    if (!el.signed || !el.subnormals || !el.zero || el.manBits > 22 || el.bits > 16) return 0;
    if (format.scheme === 'cast') {
      if (el.overflow === 'nan') return 0;
      if (el.expBits === 8 && el.bias === 127 && el.nan === 'ieee' && el.infinity && el.manBits >= 1) return 6;
    }
    // pow2 blocks scale by 2^−s in float32: elements must stay clear of float32's subnormal range
    const lowOk = format.scheme === 'pow2' ? el.emin - el.manBits - 1 >= -125 : el.manBits - el.emin <= 126;
    return lowOk && el.emax <= 100 ? 1 : 0;
  }
  if (el.kMax >= 2 ** 22 || el.fracBits > 100 || (format.scheme === 'pow2' && -el.fracBits - 1 < -125)) return 0;
  return { twos: 2, signmag: 3, offset: 4, unsigned: 5 }[el.encoding];
}

const f32Bits = new Float32Array(1);
const u32Bits = new Uint32Array(f32Bits.buffer);

/**
 * The register decoding an element's codes admit, checked against every code's exact value, or
 * null. `values` is the element's decode table (every entry a float32 number).
 */
export function matmulDecodeOf(el: ElementFormat, values: Float64Array): Omit<MatmulDecode, 'table'> & { table: Int8Array | null } | null {
  if (el.bits === 4 && values.length === 16) {
    for (let shift = 0; shift <= 7; shift++) {
      const t = new Int8Array(16);
      let ok = true;
      for (let c = 0; c < 16 && ok; c++) {
        const v = values[c]! * 2 ** shift;
        // −0 becomes +0: products are summed from +0, so a zero weight's sign never shows
        if (!Number.isInteger(v) || v < -128 || v > 127) ok = false;
        else t[c] = v;
      }
      if (ok) return { mode: 1, shift, table: t, special: 0 };
    }
    return null;
  }
  if (el.bits !== 8 || values.length !== 256) return null;
  for (let shift = 0; shift <= 14; shift++) {
    let ok = true;
    for (let c = 0; c < 256 && ok; c++) if (values[c] !== (c < 128 ? c : c - 256) * 2 ** -shift && !(c === 0 && values[c] === 0)) ok = false;
    if (ok) return { mode: 2, shift, table: null, special: 0 };
  }
  if (el.kind !== 'float' || !el.signed || el.manBits > 7 || el.expBits + el.manBits !== 7) return null;
  let special = 128;
  for (let c = 0; c < 128; c++) {
    if (!Number.isFinite(values[c]!) || !Number.isFinite(values[c + 128]!)) {
      special = c;
      break;
    }
  }
  for (let c = 0; c < 256; c++) {
    if ((c & 0x7f) >= special) continue;
    u32Bits[0] = (((c & 0x7f) << (23 - el.manBits)) | ((c & 0x80) << 24)) >>> 0;
    const v = f32Bits[0]! * 2 ** (127 - el.bias);
    if (!Object.is(v, values[c]!)) return null;
  }
  return { mode: 3, shift: 127 - el.bias, table: null, special };
}
