// GGUF v3 encoding: metadata values, tensor infos and the data-section layout (offsets aligned to
// `general.alignment`, laid out contiguously in info order, as llama.cpp expects).
import { OptionError } from '../../formats/errors.js';
import { quoted } from '../quote.js';

/** gguf_type ids of metadata values. */
export const GGUF_TYPE = Object.freeze({
  u8: 0,
  i8: 1,
  u16: 2,
  i16: 3,
  u32: 4,
  i32: 5,
  f32: 6,
  bool: 7,
  string: 8,
  array: 9,
  u64: 10,
  i64: 11,
  f64: 12,
});

export type GgufScalarType = Exclude<keyof typeof GGUF_TYPE, 'array'>;

/** A metadata value to write: a typed scalar or string, an array of one element type, or bytes
 * copied unchanged from another GGUF file (`raw`: the encoded value of gguf_type `typeId`). */
export type GgufValue =
  | { readonly type: GgufScalarType; readonly value: number | bigint | boolean | string }
  | { readonly type: 'array'; readonly elementType: GgufScalarType; readonly values: readonly (number | bigint | boolean | string)[] }
  | { readonly type: 'raw'; readonly typeId: number; readonly bytes: Uint8Array };

export interface GgufKv {
  readonly key: string;
  readonly value: GgufValue;
}

/** One tensor of the file to write: ggml dims (innermost first), ggml type and data size. */
export interface GgufTensorLayout {
  readonly name: string;
  readonly dims: readonly number[];
  readonly typeId: number;
  readonly byteLength: number;
}

const utf8 = new TextEncoder();

type NumericType = Exclude<GgufScalarType, 'string' | 'bool' | 'u64' | 'i64'>;
/** Width and little-endian setter of each fixed-size numeric type. */
const NUMERIC: Readonly<Record<NumericType, readonly [number, (dv: DataView, at: number, v: number) => void]>> = {
  u8: [1, (dv, at, v) => dv.setUint8(at, v)],
  i8: [1, (dv, at, v) => dv.setInt8(at, v)],
  u16: [2, (dv, at, v) => dv.setUint16(at, v, true)],
  i16: [2, (dv, at, v) => dv.setInt16(at, v, true)],
  u32: [4, (dv, at, v) => dv.setUint32(at, v, true)],
  i32: [4, (dv, at, v) => dv.setInt32(at, v, true)],
  f32: [4, (dv, at, v) => dv.setFloat32(at, v, true)],
  f64: [8, (dv, at, v) => dv.setFloat64(at, v, true)],
};

/** Little-endian bytes appended in pieces, grown as needed (reserve before touching buf/view:
 * growing replaces both). */
class ByteWriter {
  private buf = new Uint8Array(1024);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private reserve(n: number): number {
    if (this.length + n > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < this.length + n) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.buf.subarray(0, this.length));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    const at = this.length;
    this.length += n;
    return at;
  }
  u8(v: number): void {
    const at = this.reserve(1);
    this.buf[at] = v;
  }
  u32(v: number): void {
    const at = this.reserve(4);
    this.view.setUint32(at, v, true);
  }
  u64(v: number | bigint): void {
    const at = this.reserve(8);
    this.view.setBigUint64(at, BigInt(v), true);
  }
  bytes(b: Uint8Array): void {
    const at = this.reserve(b.length);
    this.buf.set(b, at);
  }
  string(s: string): void {
    const b = utf8.encode(s);
    this.u64(b.length);
    this.bytes(b);
  }
  scalar(type: GgufScalarType, v: number | bigint | boolean | string, key: string): void {
    const bad = () => new OptionError(`GGUF metadata ${quoted(key)}: ${JSON.stringify(String(v))} is not a valid ${type}`);
    if (type === 'string') {
      if (typeof v !== 'string') throw bad();
      this.string(v);
      return;
    }
    if (type === 'bool') {
      if (typeof v !== 'boolean') throw bad();
      this.u8(v ? 1 : 0);
      return;
    }
    if (type === 'u64' || type === 'i64') {
      if (typeof v !== 'bigint' && !(typeof v === 'number' && Number.isSafeInteger(v))) throw bad();
      const at = this.reserve(8);
      if (type === 'u64') this.view.setBigUint64(at, BigInt(v), true);
      else this.view.setBigInt64(at, BigInt(v), true);
      return;
    }
    if (typeof v !== 'number') throw bad();
    if (type !== 'f32' && type !== 'f64' && !Number.isInteger(v)) throw bad();
    const [bytes, set] = NUMERIC[type];
    const at = this.reserve(bytes);
    set(this.view, at, v);
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** Round `n` up to a multiple of `alignment`. */
export function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

/** The header of a GGUF v3 file and each tensor's data offset (relative to the data section). */
export interface GgufLayout {
  /** Magic through the padding before the data section. */
  readonly header: Uint8Array;
  readonly offsets: readonly number[];
  /** Total file size. */
  readonly fileSize: number;
}

/** Encode the header for `kvs` and `tensors`, placing tensor data contiguously in info order, each
 * tensor at a multiple of `alignment` and followed by zero padding up to the next one (as ggml writes). */
export function encodeGgufHeader(kvs: readonly GgufKv[], tensors: readonly GgufTensorLayout[], alignment: number): GgufLayout {
  const w = new ByteWriter();
  w.bytes(utf8.encode('GGUF'));
  w.u32(3);
  w.u64(tensors.length);
  w.u64(kvs.length);
  const keys = new Set<string>();
  for (const { key, value } of kvs) {
    if (keys.has(key)) throw new OptionError(`GGUF metadata key ${quoted(key)} is given twice`);
    keys.add(key);
    w.string(key);
    if (value.type === 'raw') {
      w.u32(value.typeId);
      w.bytes(value.bytes);
    } else if (value.type === 'array') {
      w.u32(GGUF_TYPE.array);
      w.u32(GGUF_TYPE[value.elementType]);
      w.u64(value.values.length);
      for (const v of value.values) w.scalar(value.elementType, v, key);
    } else {
      w.u32(GGUF_TYPE[value.type]);
      w.scalar(value.type, value.value, key);
    }
  }
  const offsets: number[] = [];
  let at = 0;
  for (const t of tensors) {
    w.string(t.name);
    w.u32(t.dims.length);
    for (const d of t.dims) w.u64(d);
    w.u32(t.typeId);
    w.u64(at);
    offsets.push(at);
    at = alignUp(at + t.byteLength, alignment);
  }
  const dataStart = alignUp(w.length, alignment);
  w.bytes(new Uint8Array(dataStart - w.length));
  return { header: w.result(), offsets, fileSize: dataStart + at };
}
