// NumPy .npy: "\x93NUMPY", u8 major, u8 minor, header length (u16 for v1, u32 for v2/v3), then a
// Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), } and the data.
import { decodePlain, elementCount, isFloatDtype, PLAIN_BITS, type PlainDtype } from './dtypes.js';
import { ModelFileError } from './errors.js';
import { baseName, decodeUtf8, type ByteSource } from './source.js';
import { readTensorBytes } from './tensor-io.js';
import { makeReader, type ModelReader, type TensorEntry } from './types.js';

/** A parsed .npy header. */
export interface NpyHeader {
  /** The descr string as written (`<f4`, `>f8`, `|u1`, …). */
  readonly descr: string;
  /** Plain dtype, or null for complex numbers (listed, not decodable). */
  readonly dtype: PlainDtype | null;
  readonly bigEndian: boolean;
  readonly fortranOrder: boolean;
  readonly shape: readonly number[];
  readonly elements: number;
  /** Bytes per element. */
  readonly itemSize: number;
  /** Offset of the data from the start of the .npy bytes. */
  readonly dataOffset: number;
}

export const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
/** Largest header accepted (NumPy writes a few hundred bytes). */
const MAX_HEADER = 1 << 20;

const KINDS: Readonly<Record<string, PlainDtype>> = {
  f2: 'f16',
  f4: 'f32',
  f8: 'f64',
  i1: 'i8',
  i2: 'i16',
  i4: 'i32',
  i8: 'i64',
  u1: 'u8',
  u2: 'u16',
  u4: 'u32',
  u8: 'u64',
  b1: 'bool',
};

/** Bytes of the fixed prelude before the dict (magic, version, header length) for a major version. */
export function npyPreludeBytes(major: number): number {
  return major === 1 ? 10 : 12;
}

/**
 * Parse a .npy header from `head` (the first bytes of the array: at least the prelude, and the
 * whole dict when `head` is long enough; otherwise returns the total header bytes needed).
 */
export function parseNpyHeader(head: Uint8Array, file: string, tensor?: string): NpyHeader | number {
  if (NPY_MAGIC.some((b, i) => i < head.length && head[i] !== b)) {
    throw new ModelFileError(file, 'bad-magic', 'does not start with the .npy magic "\\x93NUMPY"', tensor);
  }
  if (head.length < 10) throw new ModelFileError(file, 'truncated', `${head.length} bytes is too short for a .npy header`, tensor);
  const major = head[6]!;
  if (major < 1 || major > 3) throw new ModelFileError(file, 'unsupported', `.npy format version ${major}.${head[7]} is not supported (1.0–3.0 are)`, tensor);
  const prelude = npyPreludeBytes(major);
  if (head.length < prelude) return prelude;
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const headerLen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  if (headerLen > MAX_HEADER) throw new ModelFileError(file, 'out-of-range', `.npy header length ${headerLen} exceeds ${MAX_HEADER} bytes`, tensor);
  if (head.length < prelude + headerLen) return prelude + headerLen;
  const bytes = head.subarray(prelude, prelude + headerLen);
  const text = major === 3 ? decodeUtf8(bytes, file, 'the .npy header', tensor) : latin1(bytes);
  const dict = parseDict(text, file, tensor);
  const descr = dict.get('descr');
  const fortran = dict.get('fortran_order');
  const shape = dict.get('shape');
  if (descr === undefined) throw new ModelFileError(file, 'malformed', "the .npy header has no 'descr'", tensor);
  if (typeof descr !== 'string') {
    throw new ModelFileError(file, 'unsupported', `descr ${JSON.stringify(descr ?? null)} is not a simple dtype (structured arrays are not supported)`, tensor);
  }
  if (typeof fortran !== 'boolean') throw new ModelFileError(file, 'malformed', "'fortran_order' must be True or False", tensor);
  if (!Array.isArray(shape)) throw new ModelFileError(file, 'malformed', "'shape' must be a tuple of integers", tensor);
  const m = /^([<>|=])([a-zA-Z])(\d+)$/.exec(descr);
  if (!m) throw new ModelFileError(file, 'unknown-dtype', `unknown dtype descr '${descr}'`, tensor);
  const [, order, kind, sizeText] = m as unknown as [string, string, string, string];
  const itemSize = Number(sizeText);
  const complex = kind === 'c' && (itemSize === 8 || itemSize === 16);
  const dtype = KINDS[kind + sizeText] ?? null;
  if (!dtype && !complex) throw new ModelFileError(file, 'unknown-dtype', `dtype '${descr}' is not numeric (supported: f2/f4/f8, i1–i8, u1–u8, b1)`, tensor);
  if (order === '|' && itemSize > 1) throw new ModelFileError(file, 'malformed', `dtype '${descr}' needs a byte order`, tensor);
  const elements = elementCount(shape);
  return Object.freeze({
    descr,
    dtype,
    bigEndian: order === '>',
    fortranOrder: fortran,
    shape: Object.freeze(shape),
    elements,
    itemSize: dtype ? PLAIN_BITS[dtype] / 8 : itemSize,
    dataOffset: prelude + headerLen,
  });
}

function latin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

type PyValue = string | boolean | number[] | null;

/** Parse the header's dict literal: string keys; string, True/False/None or integer-tuple values. */
function parseDict(text: string, file: string, tensor?: string): Map<string, PyValue> {
  let i = 0;
  const fail = (what: string): never => {
    throw new ModelFileError(file, 'malformed', `the .npy header is not a dict literal (${what} at character ${i})`, tensor);
  };
  const ws = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const str = (): string => {
    const q = text[i];
    if (q !== "'" && q !== '"') return fail('expected a string');
    const end = text.indexOf(q, i + 1);
    if (end < 0) return fail('unterminated string');
    const s = text.slice(i + 1, end);
    i = end + 1;
    return s;
  };
  const int = (): number => {
    const m = /^\d+L?/.exec(text.slice(i, i + 24));
    if (!m) return fail('expected an integer');
    i += m[0].length;
    const v = Number(m[0].replace('L', ''));
    if (!Number.isSafeInteger(v)) return fail('integer too large');
    return v;
  };
  const value = (): PyValue => {
    const ch = text[i];
    if (ch === "'" || ch === '"') return str();
    if (text.startsWith('True', i)) return (i += 4), true;
    if (text.startsWith('False', i)) return (i += 5), false;
    if (text.startsWith('None', i)) return (i += 4), null;
    if (ch === '(' || ch === '[') {
      const close = ch === '(' ? ')' : ']';
      i++;
      const items: number[] = [];
      for (;;) {
        ws();
        if (text[i] === close) break;
        items.push(int());
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== close) return fail(`expected , or ${close}`);
        if (items.length > 64) return fail('more than 64 dimensions');
      }
      i++;
      return items;
    }
    return fail('unsupported value');
  };
  const out = new Map<string, PyValue>();
  ws();
  if (text[i] !== '{') fail('expected {');
  i++;
  for (;;) {
    ws();
    if (text[i] === '}') break;
    const key = str();
    ws();
    if (text[i] !== ':') fail('expected :');
    i++;
    ws();
    out.set(key, value());
    ws();
    if (text[i] === ',') i++;
    else if (text[i] !== '}') fail('expected , or }');
  }
  return out;
}

/** Convert raw .npy data to float32 in C order. */
export function decodeNpyData(bytes: Uint8Array, h: NpyHeader): Float32Array {
  const flat = decodePlain(bytes, h.dtype!, h.elements, h.bigEndian);
  return h.fortranOrder && h.shape.length > 1 ? fortranToC(flat, h.shape) : flat;
}

/** Reorder a column-major array into row-major order. */
export function fortranToC(src: Float32Array, shape: readonly number[]): Float32Array {
  const n = src.length;
  const out = new Float32Array(n);
  if (n === 0) return out;
  const rank = shape.length;
  const stride: number[] = [];
  let s = 1;
  for (let k = 0; k < rank; k++) {
    stride.push(s);
    s *= shape[k]!;
  }
  const idx = new Array<number>(rank).fill(0);
  let f = 0;
  for (let c = 0; c < n; c++) {
    out[c] = src[f]!;
    // advance the row-major multi-index (last axis fastest), tracking the column-major offset
    for (let k = rank - 1; k >= 0; k--) {
      if (++idx[k]! < shape[k]!) {
        f += stride[k]!;
        break;
      }
      f -= (shape[k]! - 1) * stride[k]!;
      idx[k] = 0;
    }
  }
  return out;
}

/** A TensorInfo for a parsed header. */
export function npyInfo(name: string, h: NpyHeader) {
  return Object.freeze({
    name,
    shape: h.shape,
    dtype: h.dtype ?? (h.itemSize === 8 ? 'c64' : 'c128'),
    elements: h.elements,
    byteLength: h.elements * h.itemSize,
    floating: h.dtype ? isFloatDtype(h.dtype) : true,
    readable: h.dtype !== null,
  });
}

/** Open a standalone .npy file; its one tensor is named after the file. */
export async function openNpy(source: ByteSource): Promise<ModelReader> {
  const file = source.name;
  let want = Math.min(source.size, 12);
  let h = parseNpyHeader(await source.read(0, want), file);
  if (typeof h === 'number') {
    if (h > source.size) throw new ModelFileError(file, 'truncated', `the .npy header needs ${h} bytes but the file has ${source.size}`);
    want = h;
    h = parseNpyHeader(await source.read(0, want), file);
    if (typeof h === 'number') throw new ModelFileError(file, 'truncated', `the .npy header needs ${h} bytes`);
  }
  const header = h;
  const name = baseName(file).replace(/\.npy$/i, '') || 'array';
  const info = npyInfo(name, header);
  if (!(header.dataOffset + info.byteLength <= source.size)) {
    throw new ModelFileError(file, 'truncated', `shape [${header.shape.join(', ')}] of '${header.descr}' needs ${info.byteLength} data bytes but ${source.size - header.dataOffset} follow the header`, name);
  }
  const entry: TensorEntry = {
    info,
    async decode() {
      if (!header.dtype) throw new ModelFileError(file, 'unsupported', `complex dtype '${header.descr}' has no float32 reading`, name);
      return decodeNpyData(await readTensorBytes(source, header.dataOffset, info.byteLength, header.elements, name), header);
    },
  };
  return makeReader('npy', source, [entry]);
}
