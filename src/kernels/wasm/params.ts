// The job block the kernels read (native/kernels.ts `prepare`): float64 slots holding the
// derived constants of a format's descriptor and the addresses of the buffers. Everything here
// comes from descriptor fields; nothing looks at a format's name.
import { pow2 } from '../../formats/bits.js';
import type { ElementFormat } from '../../formats/element.js';
import type { Format } from '../../formats/format.js';
import type { Layout } from '../../formats/layout.js';
import type { ResolvedOptions } from '../../formats/options.js';
import { pow2NanCode } from '../../formats/quantized.js';
import { encodeElement } from '../../formats/reference/element-codec.js';

/** Bytes reserved for one job (slots plus the structs `prepare` fills). */
export const JOB_BYTES = 2048;

const EL = 0;
const SC = 32;
export const SLOT = Object.freeze({
  scheme: 64,
  n: 65,
  rows: 66,
  rowLength: 67,
  inner: 68,
  blockSize: 69,
  blocksPerRow: 70,
  subSize: 71,
  subBits: 72,
  subPerRow: 73,
  rounding: 74,
  seed: 75,
  scaleBits: 76,
  micro: 77,
  ggml: 78,
  flush: 79,
  scaleMode: 80,
  rule: 81,
  upper: 82,
  hasUpper: 83,
  hasTensorScale: 84,
  tensorScale: 85,
  clampLo: 86,
  clampHi: 87,
  hasClamp: 88,
  torchao: 89,
  scaleBytes: 90,
  scaleNanCode: 91,
  scaleIsF32: 92,
  elIsF32: 93,
  x: 96,
  codes: 97,
  scales: 98,
  subScales: 99,
  offsets: 100,
  out: 101,
  lut: 102,
  scaleLut: 103,
  log2Table: 104,
  lut32: 105,
  fastDequantize: 106,
  fastQuantize: 107,
  maxMagnitudeCode: 108,
  infinityMagnitudeCode: 109,
  nanCode: 110,
  matmulMode: 111,
  matmulShift: 112,
  matmulTable: 113,
  matmulSpecial: 114,
  pow2NanCode: 115,
});

const ROUNDING = { rne: 0, rna: 1, rtz: 2, stochastic: 3 } as const;
const SCALE_MODE = { floor: 0, ceil: 1, even: 2, rceil: 3 } as const;
const RULE = { absmax: 0, signedMax: 1, minMax: 2 } as const;
const NAN = { none: 0, ieee: 1, allOnes: 2 } as const;
const OVERFLOW = { saturate: 0, infinity: 1, nan: 2 } as const;
const ENCODING = { twos: 0, signmag: 1, offset: 2, unsigned: 3 } as const;
const SCHEME = { cast: 0, pow2: 1, scaled: 2 } as const;

/** Write an element descriptor's derived constants at slot `base`. */
function writeElement(s: Float64Array, base: number, el: ElementFormat): void {
  s[base + 1] = el.bits;
  s[base + 18] = el.emax;
  s[base + 19] = el.roundingBits;
  s[base + 20] = el.maxFinite;
  if (el.kind === 'float') {
    s[base] = 0;
    s[base + 2] = el.expBits;
    s[base + 3] = el.manBits;
    s[base + 4] = el.bias;
    s[base + 5] = el.signed ? 1 : 0;
    s[base + 6] = el.infinity ? 1 : 0;
    s[base + 7] = NAN[el.nan];
    s[base + 8] = el.subnormals ? 1 : 0;
    s[base + 9] = el.zero ? 1 : 0;
    s[base + 10] = el.topExpField;
    s[base + 11] = el.topManField;
    s[base + 12] = el.emin;
    s[base + 13] = OVERFLOW[el.overflow];
    s[base + 21] = el.maxFinite;
    s[base + 22] = -el.maxFinite;
  } else {
    s[base] = 1;
    s[base + 14] = el.fracBits;
    s[base + 15] = ENCODING[el.encoding];
    s[base + 16] = el.kMax;
    s[base + 17] = el.kMin;
    s[base + 21] = el.kMax * pow2(-el.fracBits);
    s[base + 22] = el.kMin * pow2(-el.fracBits);
  }
  s[base + 23] = encodeElement(el, 0, 'rne');
  s[base + 24] = el.kind === 'float' && !el.signed ? 0 : encodeElement(el, -0, 'rne');
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
  element: ElementFormat;
  scaleElement: ElementFormat | null;
  tensorScale: number;
  fastDequantize: boolean;
}

/** Fill `s` (JOB_BYTES / 8 slots) for `spec` and `buf`. */
export function writeJob(s: Float64Array, spec: JobSpec, buf: JobBuffers): void {
  s.fill(0);
  const { format, options: o, layout: L, element: el, scaleElement: sEl } = spec;
  writeElement(s, EL, el);
  if (sEl) writeElement(s, SC, sEl);
  s[SLOT.scheme] = SCHEME[format.scheme];
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
  s[SLOT.rounding] = ROUNDING[o.rounding];
  s[SLOT.seed] = o.seed;
  s[SLOT.scaleBits] = o.scaleBits;
  s[SLOT.micro] = o.preset === 'microxcaling' ? 1 : 0;
  s[SLOT.ggml] = o.preset === 'ggml' ? 1 : 0;
  s[SLOT.flush] = o.flushSubnormalBlocks ? 1 : 0;
  s[SLOT.scaleMode] = SCALE_MODE[o.scaleMode];
  s[SLOT.rule] = format.scaleRule ? RULE[format.scaleRule] : 0;
  s[SLOT.upper] = o.scaleUpperBound ?? 0;
  s[SLOT.hasUpper] = o.scaleUpperBound !== null ? 1 : 0;
  s[SLOT.hasTensorScale] = format.tensorScale ? 1 : 0;
  s[SLOT.tensorScale] = spec.tensorScale;
  if (format.scaleClamp) {
    s[SLOT.clampLo] = format.scaleClamp[0];
    s[SLOT.clampHi] = format.scaleClamp[1];
    s[SLOT.hasClamp] = 1;
  }
  s[SLOT.torchao] = o.preset === 'torchao' ? 1 : 0;
  s[SLOT.pow2NanCode] = sEl && format.scheme === 'pow2' ? pow2NanCode(sEl) : -1;
  s[SLOT.scaleBytes] = sEl === null ? 0 : sEl.bits <= 8 ? 1 : sEl.bits <= 16 ? 2 : 4;
  // (ggml's reading of UE4M3 has no NaN code; its quantizer never writes one)
  s[SLOT.scaleNanCode] = sEl && format.scheme === 'scaled' && !(sEl.kind === 'float' && sEl.nan === 'none') ? encodeElement(sEl, NaN, 'rne') : 0;
  s[SLOT.scaleIsF32] = sEl && sEl.kind === 'float' && sEl.bits === 32 ? 1 : 0;
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
  s[SLOT.fastDequantize] = spec.fastDequantize && buf.lut32 !== 0 ? 1 : 0;
  if (buf.matmul) {
    s[SLOT.matmulMode] = buf.matmul.mode;
    s[SLOT.matmulShift] = buf.matmul.shift;
    s[SLOT.matmulTable] = buf.matmul.table;
    s[SLOT.matmulSpecial] = buf.matmul.special;
  }
  const fast = fastQuantizeKind(format, o, el);
  s[SLOT.fastQuantize] = fast;
  if (fast !== 0 && el.kind === 'float') {
    const maxMag = el.topExpField * 2 ** el.manBits + el.topManField;
    const infMag = (2 ** el.expBits - 1) * 2 ** el.manBits;
    // a finite value past the top: saturate, except a cast under RNE to an element whose policy is Inf
    const toInf = format.scheme === 'cast' && o.rounding === 'rne' && el.overflow === 'infinity' && el.infinity;
    s[SLOT.maxMagnitudeCode] = toInf ? infMag : maxMag;
    // ±Inf keeps its code unless the policy saturates (OFP8's saturating mode)
    s[SLOT.infinityMagnitudeCode] = el.infinity && !(format.scheme === 'cast' && el.overflow === 'saturate') ? infMag : maxMag;
    s[SLOT.nanCode] = el.nan === 'none' ? -1 : encodeElement(el, NaN, 'rne');
  } else {
    s[SLOT.nanCode] = -1;
  }
}

/**
 * Which float32-lane path the quantizer may take (0: none; kinds in native/kernels.ts). It needs
 * RNE or RTZ, no preset that changes the arithmetic, and an element whose grid float32 lanes hold
 * exactly (see native/kernels.ts pow2FastBlock).
 */
function fastQuantizeKind(format: Format, o: ResolvedOptions, el: ElementFormat): number {
  if (o.preset === 'microxcaling' || o.preset === 'ggml') return 0;
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
