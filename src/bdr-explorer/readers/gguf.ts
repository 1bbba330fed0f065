// GGUF v2/v3: "GGUF", u32 version, u64 tensor count, u64 metadata count, metadata key/values,
// tensor infos (name, u32 n_dims, u64 dims innermost first, u32 ggml type, u64 offset), padding to
// `general.alignment` (default 32), then the data section; tensor offsets are relative to it.
import { dequantize } from '../../formats/api.js';
import { fromGgmlBlocks } from '../../formats/reference/ggml.js';
import { decodePlain, elementCount, type PlainDtype } from './dtypes.js';
import { ModelFileError } from './errors.js';
import { Cursor, decodeUtf8, type ByteSource } from './source.js';
import { readTensorBytes } from './tensor-io.js';
import { makeReader, type ModelReader, type TensorEntry } from './types.js';

interface GgmlType {
  /** Our dtype name. */
  readonly dtype: string;
  readonly blockElements: number;
  readonly blockBytes: number;
  /** How to decode: a plain dtype, a core ggml format name, or null (listed, not decodable). */
  readonly plain?: PlainDtype;
  readonly core?: string;
  readonly floating: boolean;
}

const plainType = (dtype: PlainDtype, bytes: number, floating: boolean): GgmlType => ({ dtype, blockElements: 1, blockBytes: bytes, plain: dtype, floating });
const coreType = (core: string, elements: number, bytes: number): GgmlType => ({ dtype: core, blockElements: elements, blockBytes: bytes, core, floating: true });
const listedType = (dtype: string, elements: number, bytes: number): GgmlType => ({ dtype, blockElements: elements, blockBytes: bytes, floating: true });

/** ggml type ids (ggml.h `enum ggml_type`) with their block geometry. */
export const GGML_TYPES: ReadonlyMap<number, GgmlType> = new Map([
  [0, plainType('f32', 4, true)],
  [1, plainType('f16', 2, true)],
  [2, coreType('q4_0', 32, 18)],
  [3, coreType('q4_1', 32, 20)],
  [6, coreType('q5_0', 32, 22)],
  [7, coreType('q5_1', 32, 24)],
  [8, coreType('q8_0', 32, 34)],
  [9, listedType('q8_1', 32, 36)],
  [10, listedType('q2_k', 256, 84)],
  [11, listedType('q3_k', 256, 110)],
  [12, listedType('q4_k', 256, 144)],
  [13, listedType('q5_k', 256, 176)],
  [14, listedType('q6_k', 256, 210)],
  [15, listedType('q8_k', 256, 292)],
  [16, listedType('iq2_xxs', 256, 66)],
  [17, listedType('iq2_xs', 256, 74)],
  [18, listedType('iq3_xxs', 256, 98)],
  [19, listedType('iq1_s', 256, 50)],
  [20, listedType('iq4_nl', 32, 18)],
  [21, listedType('iq3_s', 256, 110)],
  [22, listedType('iq2_s', 256, 82)],
  [23, listedType('iq4_xs', 256, 136)],
  [24, plainType('i8', 1, false)],
  [25, plainType('i16', 2, false)],
  [26, plainType('i32', 4, false)],
  [27, plainType('i64', 8, false)],
  [28, plainType('f64', 8, true)],
  [29, listedType('iq1_m', 256, 56)],
  [30, plainType('bf16', 2, true)],
  [34, listedType('tq1_0', 256, 54)],
  [35, listedType('tq2_0', 256, 66)],
  [39, coreType('ggml_mxfp4', 32, 17)],
  [40, coreType('ggml_nvfp4', 64, 36)],
]);

/** gguf_type value sizes (0 = variable: string or array). */
const VALUE_SIZE = [1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8];
const TYPE_STRING = 8;
const TYPE_ARRAY = 9;
const TYPE_UINT32 = 4;
const MAX_DIMS = 4;
/** Smallest possible metadata pair (empty key, one-byte value) and tensor info (empty name, no dims). */
const MIN_KV_BYTES = 8 + 4 + 1;
const MIN_TENSOR_INFO_BYTES = 8 + 4 + 4 + 8;
const MAX_NAME_BYTES = 1 << 20;

/** One metadata key/value of a GGUF file: its value's type and where the encoded value lies. */
export interface GgufMetadataEntry {
  readonly key: string;
  /** gguf_type of the value (0 u8 … 12 f64; 8 string, 9 array). */
  readonly type: number;
  /** File offsets of the encoded value (after the key and type), [valueStart, valueEnd). */
  readonly valueStart: number;
  readonly valueEnd: number;
}

/** One tensor info of a GGUF file, validated against the file size and alignment. */
export interface GgufTensorInfo {
  readonly name: string;
  /** ggml's dimensions, innermost first. */
  readonly dims: readonly number[];
  /** Dimensions outermost first (`dims` reversed), as TensorInfo.shape. */
  readonly shape: readonly number[];
  readonly typeId: number;
  /** Offset relative to the data section, and absolute in the file. */
  readonly offset: number;
  readonly fileOffset: number;
  readonly byteLength: number;
}

/** The parsed header of a GGUF file: everything before the data section. */
export interface GgufHeader {
  readonly version: number;
  readonly alignment: number;
  /** File offsets of the metadata key/values: [metadataStart, metadataEnd). */
  readonly metadataStart: number;
  readonly metadataEnd: number;
  readonly metadata: readonly GgufMetadataEntry[];
  readonly tensors: readonly GgufTensorInfo[];
  /** File offset of the data section. */
  readonly dataStart: number;
}

/** Parse and validate a GGUF header (metadata positions and tensor infos) without reading tensor data. */
export async function readGgufHeader(source: ByteSource): Promise<GgufHeader> {
  const file = source.name;
  const c = new Cursor(source);
  await c.need(24, 'the GGUF header');
  const magic = c.bytes(4);
  if (magic[0] !== 0x47 || magic[1] !== 0x47 || magic[2] !== 0x55 || magic[3] !== 0x46) {
    throw new ModelFileError(file, 'bad-magic', 'does not start with "GGUF"');
  }
  const version = c.u32();
  if (version !== 2 && version !== 3) {
    const hint = version >= 0x01000000 ? ' (a big-endian GGUF file; convert it to little-endian)' : version === 1 ? ' (GGUF v1; re-convert the model with a current llama.cpp)' : '';
    throw new ModelFileError(file, version === 1 || version >= 0x01000000 ? 'unsupported' : 'malformed', `GGUF version ${version} is not supported; v2 and v3 are${hint}`);
  }
  const tensorCount = c.u64();
  const kvCount = c.u64();
  if (kvCount * MIN_KV_BYTES > c.remaining) {
    throw new ModelFileError(file, 'out-of-range', `metadata count ${big(kvCount)} cannot fit in the ${c.remaining} bytes left`);
  }
  if (tensorCount * MIN_TENSOR_INFO_BYTES > c.remaining) {
    throw new ModelFileError(file, 'out-of-range', `tensor count ${big(tensorCount)} cannot fit in the ${c.remaining} bytes left`);
  }

  let alignment = 32;
  const metadataStart = c.pos;
  const metadata: GgufMetadataEntry[] = [];
  for (let i = 0; i < kvCount; i++) {
    const key = await readString(c, 'a metadata key');
    await c.need(4, `the type of metadata "${key}"`);
    const type = c.u32();
    const valueStart = c.pos;
    if (key === 'general.alignment') {
      if (type !== TYPE_UINT32) throw new ModelFileError(file, 'malformed', `general.alignment must be a uint32, found type ${type}`);
      await c.need(4, 'general.alignment');
      alignment = c.u32();
      if (alignment === 0 || (alignment & (alignment - 1)) !== 0) {
        throw new ModelFileError(file, 'malformed', `general.alignment ${alignment} is not a power of two`);
      }
    } else {
      await skipValue(c, type, key, 0);
    }
    metadata.push({ key, type, valueStart, valueEnd: c.pos });
  }
  const metadataEnd = c.pos;

  const infos: { name: string; dims: number[]; type: GgmlType; typeId: number; offset: number }[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const name = await readString(c, `the name of tensor ${i}`);
    await c.need(4, 'n_dims', name);
    const nDims = c.u32();
    if (nDims > MAX_DIMS) throw new ModelFileError(file, 'malformed', `${nDims} dimensions; ggml allows at most ${MAX_DIMS}`, name);
    await c.need(8 * nDims + 12, 'the dimensions, type and offset', name);
    const dims: number[] = [];
    for (let d = 0; d < nDims; d++) dims.push(c.i64());
    const typeId = c.u32();
    const offset = c.u64();
    if (dims.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      throw new ModelFileError(file, 'malformed', `dimensions [${dims.join(', ')}] must be non-negative integers`, name);
    }
    const type = GGML_TYPES.get(typeId);
    if (!type) throw new ModelFileError(file, 'unknown-dtype', `unknown ggml type id ${typeId}`, name);
    if (seen.has(name)) throw new ModelFileError(file, 'malformed', 'the tensor name appears twice', name);
    seen.add(name);
    infos.push({ name, dims, type, typeId, offset });
  }

  const dataStart = Math.ceil(c.pos / alignment) * alignment;
  const dataSize = source.size - dataStart;
  const tensors: GgufTensorInfo[] = [];
  for (const { name, dims, type, typeId, offset } of infos) {
    const shape = dims.slice().reverse();
    const elements = elementCount(shape);
    const row = dims.length > 0 ? dims[0]! : 1;
    if (row % type.blockElements !== 0) {
      throw new ModelFileError(file, 'size-mismatch', `rows of ${row} elements are not whole ${type.blockElements}-element ${type.dtype} blocks`, name);
    }
    const byteLength = (elements / type.blockElements) * type.blockBytes;
    if (!(offset + byteLength <= dataSize)) {
      throw new ModelFileError(
        file,
        dataStart + offset <= source.size ? 'truncated' : 'out-of-range',
        `data at offset ${big(offset)} (+${big(byteLength)} bytes of ${type.dtype}, shape [${shape.join(', ')}]) runs past the ${Math.max(0, dataSize)}-byte data section`,
        name,
      );
    }
    if (offset % alignment !== 0) {
      throw new ModelFileError(file, 'malformed', `data offset ${offset} is not a multiple of the alignment ${alignment}`, name);
    }
    tensors.push(Object.freeze({ name, dims: Object.freeze(dims), shape: Object.freeze(shape), typeId, offset, fileOffset: dataStart + offset, byteLength }));
  }
  return { version, alignment, metadataStart, metadataEnd, metadata, tensors, dataStart };
}

/** Open a GGUF file: parses metadata (keeping only `general.alignment`) and tensor infos. */
export async function openGguf(source: ByteSource): Promise<ModelReader> {
  const file = source.name;
  const header = await readGgufHeader(source);
  const entries: TensorEntry[] = [];
  for (const { name, shape, typeId, fileOffset: at, byteLength } of header.tensors) {
    const type = GGML_TYPES.get(typeId)!;
    const elements = elementCount(shape);
    entries.push({
      info: Object.freeze({
        name,
        shape,
        dtype: type.dtype,
        elements,
        byteLength,
        floating: type.floating,
        readable: type.plain !== undefined || type.core !== undefined,
      }),
      async decode() {
        if (type.plain === undefined && type.core === undefined) {
          throw new ModelFileError(file, 'unsupported', `ggml type ${type.dtype} is not decoded by microscale (supported: f32, f16, bf16, f64, i8–i64, q8_0, q4_0, q4_1, q5_0, q5_1, mxfp4, nvfp4)`, name);
        }
        const bytes = await readTensorBytes(source, at, byteLength, elements, name);
        if (type.plain !== undefined) return decodePlain(bytes, type.plain, elements);
        if (elements === 0) return new Float32Array(0);
        return dequantize(fromGgmlBlocks(bytes, type.core!, shape));
      },
    });
  }
  return makeReader('gguf', source, entries);
}

/** A decoded metadata value: numbers (u64/i64 as bigint), booleans, strings, or arrays of them. */
export type GgufMetadataValue = number | bigint | boolean | string | GgufMetadataValue[];

/** Largest metadata value {@link readGgufMetadataValue} decodes (a tokenizer's token list is a few MB). */
const MAX_METADATA_VALUE_BYTES = 64 << 20;

/** Decode one metadata value of a header from {@link readGgufHeader} (read from `source` on demand). */
export async function readGgufMetadataValue(source: ByteSource, entry: GgufMetadataEntry): Promise<GgufMetadataValue> {
  const length = entry.valueEnd - entry.valueStart;
  if (length > MAX_METADATA_VALUE_BYTES) {
    throw new ModelFileError(source.name, 'too-large', `metadata "${entry.key}" takes ${length} bytes; decode at most ${MAX_METADATA_VALUE_BYTES} (read its bytes at ${entry.valueStart} instead)`);
  }
  const bytes = await source.read(entry.valueStart, length);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  /** The offset of the next `n` bytes, moving past them. */
  const take = (n: number): number => {
    at += n;
    return at - n;
  };
  const one = (type: number): GgufMetadataValue => {
    switch (type) {
      case 0: return dv.getUint8(take(1));
      case 1: return dv.getInt8(take(1));
      case 2: return dv.getUint16(take(2), true);
      case 3: return dv.getInt16(take(2), true);
      case 4: return dv.getUint32(take(4), true);
      case 5: return dv.getInt32(take(4), true);
      case 6: return dv.getFloat32(take(4), true);
      case 7: return dv.getUint8(take(1)) !== 0;
      case 10: return dv.getBigUint64(take(8), true);
      case 11: return dv.getBigInt64(take(8), true);
      case 12: return dv.getFloat64(take(8), true);
      case TYPE_STRING: {
        const len = Number(dv.getBigUint64(take(8), true));
        const start = take(len);
        return decodeUtf8(bytes.subarray(start, start + len), source.name, `metadata "${entry.key}"`);
      }
      case TYPE_ARRAY: {
        const elType = dv.getUint32(take(4), true);
        const count = Number(dv.getBigUint64(take(8), true));
        const out: GgufMetadataValue[] = [];
        for (let i = 0; i < count; i++) out.push(one(elType));
        return out;
      }
      default:
        throw new ModelFileError(source.name, 'malformed', `metadata "${entry.key}" has unknown value type ${type}`);
    }
  };
  return one(entry.type);
}

/** A count or offset for a message (u64 fields above 2^53 are read as Infinity). */
function big(v: number): string {
  return Number.isFinite(v) ? String(v) : 'beyond 2^53';
}

async function readString(c: Cursor, what: string): Promise<string> {
  await c.need(8, `the length of ${what}`);
  const len = c.u64();
  if (len > MAX_NAME_BYTES) {
    throw new ModelFileError(c.file, len > c.remaining ? 'out-of-range' : 'malformed', `${what} claims ${big(len)} bytes (at offset ${c.pos - 8})`);
  }
  await c.need(len, what);
  return decodeUtf8(c.bytes(len), c.file, what);
}

/** Skip one metadata value without keeping it. Arrays of fixed-size values are skipped in one step. */
async function skipValue(c: Cursor, type: number, key: string, depth: number): Promise<void> {
  if (type === TYPE_STRING) {
    await c.need(8, `string metadata "${key}"`);
    c.skip(c.u64(), `string metadata "${key}"`);
    return;
  }
  if (type === TYPE_ARRAY) {
    if (depth > 2) throw new ModelFileError(c.file, 'malformed', `metadata "${key}" nests arrays too deeply`);
    await c.need(12, `array metadata "${key}"`);
    const elType = c.u32();
    const count = c.u64();
    const size = VALUE_SIZE[elType];
    if (size === undefined) throw new ModelFileError(c.file, 'malformed', `metadata "${key}" has unknown element type ${elType}`);
    if (size > 0) {
      c.skip(count * size, `array metadata "${key}"`);
      return;
    }
    // strings or nested arrays take at least 8 bytes each
    if (count * 8 > c.remaining) {
      throw new ModelFileError(c.file, 'out-of-range', `array metadata "${key}" claims ${big(count)} elements, more than the file can hold`);
    }
    for (let i = 0; i < count; i++) {
      if (elType === TYPE_STRING) {
        if (!c.has(8)) await c.need(8, `array metadata "${key}"`);
        c.skip(c.u64(), `array metadata "${key}"`);
      } else {
        await skipValue(c, elType, key, depth + 1);
      }
    }
    return;
  }
  const size = VALUE_SIZE[type];
  if (size === undefined) throw new ModelFileError(c.file, 'malformed', `metadata "${key}" has unknown value type ${type}`);
  await c.need(size, `metadata "${key}"`);
  c.skip(size, `metadata "${key}"`);
}
