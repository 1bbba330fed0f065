// safetensors: u64 little-endian header length N, N bytes of JSON
// { name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__": {...} }, then the data
// buffer; offsets are relative to the start of the data buffer. Row-major, little-endian.
import { elementCount, isFloatDtype, isShape, decodePlain, PLAIN_BITS, type PlainDtype } from './dtypes.js';
import { ModelFileError } from './errors.js';
import { checkRange, decodeUtf8, type ByteSource } from './source.js';
import { makeReader, type ModelReader, type TensorEntry } from './types.js';
import { readTensorBytes } from './tensor-io.js';

/** safetensors dtype names and the plain dtype each is stored as (null: listed but not decodable). */
const SAFETENSORS_DTYPES: Readonly<Record<string, PlainDtype | null>> = Object.freeze({
  F64: 'f64',
  F32: 'f32',
  F16: 'f16',
  BF16: 'bf16',
  F8_E4M3: 'f8_e4m3',
  F8_E5M2: 'f8_e5m2',
  F8_E8M0: 'f8_e8m0',
  F8_E4M3FNUZ: 'f8_e4m3fnuz',
  F8_E5M2FNUZ: 'f8_e5m2fnuz',
  F6_E3M2: 'f6_e3m2',
  F6_E2M3: 'f6_e2m3',
  F4: 'f4_e2m1',
  I64: 'i64',
  U64: 'u64',
  I32: 'i32',
  U32: 'u32',
  I16: 'i16',
  U16: 'u16',
  I8: 'i8',
  U8: 'u8',
  BOOL: 'bool',
  C64: null,
});

/** Largest JSON header accepted (the reference implementation's limit). */
export const SAFETENSORS_MAX_HEADER = 100_000_000;

/** Open a safetensors file: reads and validates the header only. */
export async function openSafetensors(source: ByteSource): Promise<ModelReader> {
  const file = source.name;
  if (source.size < 8) throw new ModelFileError(file, 'truncated', `${source.size} bytes is too short for a safetensors file (8-byte header length first)`);
  const lenBytes = await source.read(0, 8);
  const dv = new DataView(lenBytes.buffer, lenBytes.byteOffset, 8);
  const hi = dv.getUint32(4, true);
  const headerLen = hi * 2 ** 32 + dv.getUint32(0, true);
  if (headerLen > source.size - 8) {
    throw new ModelFileError(file, 'truncated', `header length ${headerLen} is larger than the ${source.size - 8} bytes after it; the file is truncated or not safetensors`);
  }
  if (headerLen > SAFETENSORS_MAX_HEADER) {
    throw new ModelFileError(file, 'out-of-range', `header length ${headerLen} exceeds the ${SAFETENSORS_MAX_HEADER}-byte limit`);
  }
  const text = decodeUtf8(await source.read(8, headerLen), file, 'the JSON header');
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw new ModelFileError(file, 'malformed', `the header is not valid JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw new ModelFileError(file, 'malformed', 'the header must be a JSON object of tensor entries');
  }
  const dataStart = 8 + headerLen;
  const dataSize = source.size - dataStart;
  const entries: { begin: number; entry: TensorEntry }[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') continue;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      throw new ModelFileError(file, 'malformed', 'entry must be an object with dtype, shape and data_offsets', name);
    }
    const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
    if (typeof dtype !== 'string' || !Object.prototype.hasOwnProperty.call(SAFETENSORS_DTYPES, dtype)) {
      throw new ModelFileError(
        file,
        'unknown-dtype',
        `${dtype === undefined ? 'no dtype' : `unknown dtype ${JSON.stringify(dtype)}`}; known: ${Object.keys(SAFETENSORS_DTYPES).join(', ')}`,
        name,
      );
    }
    if (!isShape(shape)) throw new ModelFileError(file, 'malformed', `shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`, name);
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0) ||
      offsets[0] > offsets[1]
    ) {
      throw new ModelFileError(file, 'malformed', `data_offsets must be [begin, end] with 0 ≤ begin ≤ end, got ${JSON.stringify(offsets)}`, name);
    }
    const [begin, end] = offsets as [number, number];
    if (end > dataSize) {
      throw new ModelFileError(file, 'out-of-range', `data_offsets [${begin}, ${end}] run past the ${dataSize}-byte data buffer (file truncated?)`, name);
    }
    const plain = SAFETENSORS_DTYPES[dtype]!;
    const bits = plain ? PLAIN_BITS[plain] : 64;
    const elements = elementCount(shape);
    const bitsTotal = elements * bits;
    if (bitsTotal % 8 !== 0) {
      throw new ModelFileError(file, 'size-mismatch', `${elements} elements of ${bits}-bit ${dtype} do not fill whole bytes`, name);
    }
    if (bitsTotal / 8 !== end - begin) {
      throw new ModelFileError(
        file,
        'size-mismatch',
        `shape [${shape.join(', ')}] of ${dtype} needs ${bitsTotal / 8} bytes but data_offsets span ${end - begin}`,
        name,
      );
    }
    const offset = dataStart + begin;
    const length = end - begin;
    checkRange(file, source.size, offset, length, 'tensor data', name);
    entries.push({ begin, entry: {
      info: Object.freeze({
        name,
        shape: Object.freeze([...shape]),
        dtype: plain ?? dtype.toLowerCase(),
        elements,
        byteLength: length,
        floating: plain ? isFloatDtype(plain) : true,
        readable: plain !== null,
      }),
      async decode() {
        if (!plain) throw new ModelFileError(file, 'unsupported', `dtype ${dtype} (complex) has no float32 reading`, name);
        const bytes = await readTensorBytes(source, offset, length, elements, name);
        return decodePlain(bytes, plain, elements);
      },
    } });
  }
  entries.sort((a, b) => a.begin - b.begin);
  return makeReader('safetensors', source, entries.map((e) => e.entry));
}
