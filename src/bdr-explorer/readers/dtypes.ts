// Element dtypes shared by every reader, and their exact conversion to float32 through the core's
// element codec (narrow floats) or plain integer arithmetic.
import { ELEMENTS, floatElement, type ElementFormat } from '../../formats/element.js';
import { unpackCodes } from '../../formats/pack.js';
import { decodeElement } from '../../formats/reference/element-codec.js';

/** Dtypes stored one element after another (sub-byte ones as an LSB-first bit stream). */
export type PlainDtype =
  | 'f64'
  | 'f32'
  | 'f16'
  | 'bf16'
  | 'f8_e4m3'
  | 'f8_e5m2'
  | 'f8_e8m0'
  | 'f8_e4m3fnuz'
  | 'f8_e5m2fnuz'
  | 'f6_e3m2'
  | 'f6_e2m3'
  | 'f4_e2m1'
  | 'i64'
  | 'u64'
  | 'i32'
  | 'u32'
  | 'i16'
  | 'u16'
  | 'i8'
  | 'u8'
  | 'i4'
  | 'u4'
  | 'i2'
  | 'u2'
  | 'bool';

/** Bits per element of each plain dtype. */
export const PLAIN_BITS: Readonly<Record<PlainDtype, number>> = Object.freeze({
  f64: 64,
  f32: 32,
  f16: 16,
  bf16: 16,
  f8_e4m3: 8,
  f8_e5m2: 8,
  f8_e8m0: 8,
  f8_e4m3fnuz: 8,
  f8_e5m2fnuz: 8,
  f6_e3m2: 6,
  f6_e2m3: 6,
  f4_e2m1: 4,
  i64: 64,
  u64: 64,
  i32: 32,
  u32: 32,
  i16: 16,
  u16: 16,
  i8: 8,
  u8: 8,
  i4: 4,
  u4: 4,
  i2: 2,
  u2: 2,
  bool: 8,
});

/** Whether a plain dtype holds real numbers (as opposed to integers or booleans). */
export function isFloatDtype(d: PlainDtype): boolean {
  return d[0] === 'f' || d === 'bf16';
}

/** Stored bytes of `count` elements (sub-byte streams round up to whole bytes). */
export function plainByteLength(d: PlainDtype, count: number): number {
  return Math.ceil((count * PLAIN_BITS[d]) / 8);
}

// FNUZ (AMD/Graphcore) FP8: bias one higher than OCP, no infinities, the single NaN is 0x80 (−0).
const fnuz = (name: string, e: number, m: number): ElementFormat =>
  floatElement(name, {
    expBits: e,
    manBits: m,
    bias: 2 ** (e - 1),
    signed: true,
    infinity: false,
    nan: 'none',
    subnormals: true,
    zero: true,
    overflow: 'saturate',
  });

const NARROW: Partial<Record<PlainDtype, ElementFormat>> = {
  f16: ELEMENTS.fp16,
  f8_e4m3: ELEMENTS.fp8_e4m3,
  f8_e5m2: ELEMENTS.fp8_e5m2,
  f8_e8m0: ELEMENTS.e8m0,
  f8_e4m3fnuz: fnuz('fp8_e4m3fnuz', 4, 3),
  f8_e5m2fnuz: fnuz('fp8_e5m2fnuz', 5, 2),
  f6_e3m2: ELEMENTS.fp6_e3m2,
  f6_e2m3: ELEMENTS.fp6_e2m3,
  f4_e2m1: ELEMENTS.fp4_e2m1,
};

const tables = new Map<PlainDtype, Float32Array>();

/** float32 value of every code of a narrow float dtype (all values are exact in float32). */
export function codeTable(d: PlainDtype): Float32Array {
  let t = tables.get(d);
  if (!t) {
    const el = NARROW[d];
    if (!el) throw new Error(`no code table for ${d}`);
    t = new Float32Array(2 ** el.bits);
    for (let c = 0; c < t.length; c++) t[c] = decodeElement(el, c);
    if (d === 'f8_e4m3fnuz' || d === 'f8_e5m2fnuz') t[0x80] = NaN;
    tables.set(d, t);
  }
  return t;
}

const hostLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Convert `count` elements of `d` stored in `bytes` to float32. Multi-byte elements are little-endian
 * unless `bigEndian`. `bytes` must hold at least `plainByteLength(d, count)` bytes.
 */
export function decodePlain(bytes: Uint8Array, d: PlainDtype, count: number, bigEndian = false): Float32Array {
  const le = !bigEndian;
  // Aligned little-endian float32 needs no conversion: view the bytes just read (no second copy).
  if (d === 'f32' && le && hostLittleEndian && bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, count);
  const out = new Float32Array(count);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (d) {
    case 'f32':
      if (le && hostLittleEndian) new Uint8Array(out.buffer).set(bytes.subarray(0, 4 * count));
      else for (let i = 0; i < count; i++) out[i] = dv.getFloat32(4 * i, le);
      break;
    case 'f64':
      for (let i = 0; i < count; i++) out[i] = dv.getFloat64(8 * i, le);
      break;
    case 'bf16': {
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) bits[i] = dv.getUint16(2 * i, le) << 16;
      break;
    }
    case 'f16': {
      const t = codeTable(d);
      for (let i = 0; i < count; i++) out[i] = t[dv.getUint16(2 * i, le)]!;
      break;
    }
    case 'f8_e4m3':
    case 'f8_e5m2':
    case 'f8_e8m0':
    case 'f8_e4m3fnuz':
    case 'f8_e5m2fnuz': {
      const t = codeTable(d);
      for (let i = 0; i < count; i++) out[i] = t[bytes[i]!]!;
      break;
    }
    case 'f6_e3m2':
    case 'f6_e2m3':
    case 'f4_e2m1': {
      const t = codeTable(d);
      const codes = unpackCodes(bytes, PLAIN_BITS[d], count);
      for (let i = 0; i < count; i++) out[i] = t[codes[i]!]!;
      break;
    }
    case 'i64':
    case 'u64':
      for (let i = 0; i < count; i++) {
        const lo = dv.getUint32(8 * i + (le ? 0 : 4), le);
        const hi = d === 'i64' ? dv.getInt32(8 * i + (le ? 4 : 0), le) : dv.getUint32(8 * i + (le ? 4 : 0), le);
        out[i] = hi * 4294967296 + lo;
      }
      break;
    case 'i32':
      for (let i = 0; i < count; i++) out[i] = dv.getInt32(4 * i, le);
      break;
    case 'u32':
      for (let i = 0; i < count; i++) out[i] = dv.getUint32(4 * i, le);
      break;
    case 'i16':
      for (let i = 0; i < count; i++) out[i] = dv.getInt16(2 * i, le);
      break;
    case 'u16':
      for (let i = 0; i < count; i++) out[i] = dv.getUint16(2 * i, le);
      break;
    case 'i8':
      for (let i = 0; i < count; i++) out[i] = (bytes[i]! << 24) >> 24;
      break;
    case 'u8':
      for (let i = 0; i < count; i++) out[i] = bytes[i]!;
      break;
    case 'bool':
      for (let i = 0; i < count; i++) out[i] = bytes[i] ? 1 : 0;
      break;
    case 'i4':
    case 'u4':
    case 'i2':
    case 'u2': {
      const bits = PLAIN_BITS[d];
      const codes = unpackCodes(bytes, bits, count);
      const half = 2 ** (bits - 1);
      const signed = d[0] === 'i';
      for (let i = 0; i < count; i++) {
        const c = codes[i]!;
        out[i] = signed && c >= half ? c - 2 * half : c;
      }
      break;
    }
  }
  return out;
}

/** Product of a shape's dimensions, or Infinity when it exceeds 2^53 (so every size check fails). */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (n > Number.MAX_SAFE_INTEGER) return Infinity;
  }
  return n;
}

/** Whether `shape` is a list of non-negative safe integers. */
export function isShape(shape: unknown): shape is number[] {
  return Array.isArray(shape) && shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0);
}

/** Largest element count `read` will allocate a Float32Array for. */
export const MAX_READ_ELEMENTS = 2 ** 32 - 1;
