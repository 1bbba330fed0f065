// What GGUF can hold: the ggml types microscale writes, the format names that map to them, and
// llama.cpp's `general.file_type` (enum llama_ftype) for a file dominated by each type.
import { ELEMENTS } from '../../formats/element.js';
import { EncodingError, OptionError } from '../../formats/errors.js';
import type { Format } from '../../formats/format.js';
import { parseFormat } from '../../formats/names.js';
import { encodeFloat } from '../../formats/reference/element-codec.js';
import { quoted } from '../quote.js';

/** How a target type is produced. */
export type TargetKind = 'plain' | 'ggml' | 'ocp-mxfp4' | 'ocp-nvfp4';

export interface GgufTarget {
  /** ggml type written. */
  readonly typeId: number;
  /** ggml's name of the type (`q4_0`, `mxfp4`, `f16`, …). */
  readonly typeName: string;
  readonly blockElements: number;
  readonly blockBytes: number;
  readonly kind: TargetKind;
  /** The microscale format quantized to (null for the plain float types). */
  readonly format: Format | null;
  /** llama_ftype of a file whose quantized tensors are mostly of this type. */
  readonly fileType: number;
}

const plain = (typeId: number, typeName: string, bytes: number, fileType: number): GgufTarget =>
  Object.freeze({ typeId, typeName, blockElements: 1, blockBytes: bytes, kind: 'plain', format: null, fileType });

/** Plain float targets by microscale format name. */
const PLAIN: ReadonlyMap<string, GgufTarget> = new Map([
  ['fp32', plain(0, 'f32', 4, 0)],
  ['fp16', plain(1, 'f16', 2, 1)],
  ['bf16', plain(30, 'bf16', 2, 32)],
]);

/** llama_ftype by ggml type id (LLAMA_FTYPE_MOSTLY_*; MXFP4 is llama.cpp's MXFP4_MOE). */
const FILE_TYPE: ReadonlyMap<number, number> = new Map([
  [8, 7],
  [2, 2],
  [3, 3],
  [6, 8],
  [7, 9],
  [39, 38],
  [40, 39],
]);

/** Format names GGUF output takes, for messages. */
export const GGUF_FORMATS = 'fp32, fp16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, ggml_mxfp4, ggml_nvfp4, mxfp4 (re-laid as ggml MXFP4), nvfp4 (re-laid as ggml NVFP4 plus a .scale tensor)';

/** The GGUF target for a format name; an OptionError naming what GGUF takes otherwise. */
export function ggufTarget(formatName: string): GgufTarget {
  const format = parseFormat(formatName);
  const p = PLAIN.get(format.name);
  if (p) return p;
  if (format.ggml) {
    const g = format.ggml;
    return Object.freeze({ typeId: g.typeId, typeName: g.typeName, blockElements: g.blockElements, blockBytes: g.blockBytes, kind: 'ggml', format, fileType: FILE_TYPE.get(g.typeId)! });
  }
  if (format.name === 'mxfp4') {
    return Object.freeze({ typeId: 39, typeName: 'mxfp4', blockElements: 32, blockBytes: 17, kind: 'ocp-mxfp4', format, fileType: 38 });
  }
  if (format.name === 'nvfp4') {
    return Object.freeze({ typeId: 40, typeName: 'nvfp4', blockElements: 64, blockBytes: 36, kind: 'ocp-nvfp4', format, fileType: 39 });
  }
  throw new OptionError(`GGUF has no ggml type for ${format.name}; GGUF output takes ${GGUF_FORMATS}`);
}

/** Bytes of a tensor of `elements` (whole blocks) in a target type. */
export function targetByteLength(t: GgufTarget, elements: number): number {
  return (elements / t.blockElements) * t.blockBytes;
}

/** float32 bits → IEEE binary16, round to nearest even, overflow to ±Inf; NaN through the
 * reference codec (rare, and it decides NaN's payload). */
export function fp16Bits(b: number, value: number): number {
  const sign = (b >>> 16) & 0x8000;
  const abs = b & 0x7fffffff;
  if (abs > 0x7f800000) return encodeFloat(ELEMENTS.fp16, value, 'rne', 0, 'infinity');
  if (abs >= 0x477ff000) return sign | 0x7c00; // 65520 and up round to Inf
  if (abs >= 0x38800000) {
    // normal: rebias the exponent (127 → 15) and drop 13 mantissa bits with RNE (a carry moves into the exponent)
    let h = (abs - 0x38000000) >>> 13;
    const rest = abs & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++;
    return sign | h;
  }
  if (abs <= 0x33000000) return sign; // at most half the smallest subnormal (2^-25): ±0
  // subnormal: units of 2^-24
  const shift = 126 - (abs >>> 23);
  const m = (abs & 0x7fffff) | 0x800000;
  let h = m >>> shift;
  const rest = m & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rest > half || (rest === half && (h & 1) === 1)) h++;
  return sign | h;
}

/** Values as ggml F32 / F16 (IEEE, round to nearest even, overflow to ±Inf) / BF16 (round to nearest
 * even; NaN stays a quiet NaN), as ggml's own conversions do. */
export function encodePlain(x: Float32Array, typeId: number): Uint8Array {
  if (typeId === 0) return new Uint8Array(x.buffer.slice(x.byteOffset, x.byteOffset + x.byteLength));
  const out = new Uint16Array(x.length);
  const bits = new Uint32Array(x.buffer, x.byteOffset, x.length);
  if (typeId === 1) {
    for (let i = 0; i < x.length; i++) out[i] = fp16Bits(bits[i]!, x[i]!);
  } else if (typeId === 30) {
    for (let i = 0; i < x.length; i++) {
      const b = bits[i]!;
      out[i] = (b & 0x7fffffff) > 0x7f800000 ? (b >>> 16) | 64 : (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
    }
  } else {
    throw new OptionError(`ggml type ${typeId} is not a plain float type`);
  }
  return new Uint8Array(out.buffer);
}

/** ggml integer types by the narrowest source dtypes they hold exactly. */
const INTEGER: ReadonlyMap<string, GgufTarget> = new Map([
  ['i8', plain(24, 'i8', 1, 0)],
  ['bool', plain(24, 'i8', 1, 0)],
  ['u8', plain(25, 'i16', 2, 0)],
  ['i16', plain(25, 'i16', 2, 0)],
  ['u16', plain(26, 'i32', 4, 0)],
  ['i32', plain(26, 'i32', 4, 0)],
  ['u32', plain(27, 'i64', 8, 0)],
  ['i64', plain(27, 'i64', 8, 0)],
  ['u64', plain(27, 'i64', 8, 0)],
  ['i4', plain(24, 'i8', 1, 0)],
  ['u4', plain(24, 'i8', 1, 0)],
  ['i2', plain(24, 'i8', 1, 0)],
  ['u2', plain(24, 'i8', 1, 0)],
]);

/** The ggml integer type for an integer dtype of another reader, or null. */
export function integerTarget(dtype: string): GgufTarget | null {
  return INTEGER.get(dtype) ?? null;
}

/** Integer values (read as float32, exact below 2^24) as ggml I8/I16/I32/I64. A value of 2^24 or
 * more may have been rounded on the way in, so it is refused rather than written wrong. */
export function encodeInteger(x: Float32Array, typeId: number, tensor: string): Uint8Array {
  for (let i = 0; i < x.length; i++) {
    if (!(Math.abs(x[i]!) < 2 ** 24)) {
      throw new EncodingError(`tensor ${quoted(tensor)}: element ${i} is ${x[i]}; microscale reads integers through float32, exact only below 2^24, so it cannot copy this tensor exactly (convert it with another tool, or drop it)`);
    }
  }
  switch (typeId) {
    case 24:
      return new Uint8Array(Int8Array.from(x).buffer);
    case 25:
      return new Uint8Array(Int16Array.from(x).buffer);
    case 26:
      return new Uint8Array(Int32Array.from(x).buffer);
    case 27:
      return new Uint8Array(BigInt64Array.from(x, (v) => BigInt(v)).buffer);
    default:
      throw new OptionError(`ggml type ${typeId} is not an integer type`);
  }
}
