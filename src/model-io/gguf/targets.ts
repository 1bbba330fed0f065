// What GGUF can hold: the ggml types microscale writes, the format names that map to them, and
// llama.cpp's `general.file_type` (enum llama_ftype) for a file dominated by each type.
import { ELEMENTS } from '../../formats/element.js';
import { OptionError } from '../../formats/errors.js';
import type { Format } from '../../formats/format.js';
import { parseFormat } from '../../formats/names.js';
import { encodeFloat } from '../../formats/reference/element-codec.js';

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

/** Values as ggml F32 / F16 (IEEE, round to nearest even, overflow to ±Inf) / BF16 (round to nearest
 * even; NaN stays a quiet NaN), as ggml's own conversions do. */
export function encodePlain(x: Float32Array, typeId: number): Uint8Array {
  if (typeId === 0) return new Uint8Array(x.buffer.slice(x.byteOffset, x.byteOffset + x.byteLength));
  const out = new Uint16Array(x.length);
  if (typeId === 1) {
    for (let i = 0; i < x.length; i++) out[i] = encodeFloat(ELEMENTS.fp16, x[i]!, 'rne', 0, 'infinity');
  } else if (typeId === 30) {
    const bits = new Uint32Array(x.buffer, x.byteOffset, x.length);
    for (let i = 0; i < x.length; i++) {
      const b = bits[i]!;
      out[i] = (b & 0x7fffffff) > 0x7f800000 ? (b >>> 16) | 64 : (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
    }
  } else {
    throw new OptionError(`ggml type ${typeId} is not a plain float type`);
  }
  return new Uint8Array(out.buffer);
}
