// Protobuf wire format, both ways, for rewriting ONNX models in place: fields of a message are
// walked over the original bytes and copied unchanged unless the writer replaces them, so every
// field microscale does not know (doc strings, metadata, value infos, training info) survives.
import { concatBytes } from '../../util/bytes.js';

/** One field of a message: its tag's start, its payload range, and the varint value for wire type 0. */
export interface WireField {
  readonly field: number;
  readonly wire: number;
  /** Start of the tag (the field's bytes are [start, end)). */
  readonly start: number;
  /** Payload range (for wire type 2: the bytes after the length). */
  readonly at: number;
  readonly end: number;
  readonly value: number;
}

function readVarint(b: Uint8Array, pos: number, end: number): [number, number] {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw new RangeError(`varint runs past its message at offset ${pos}`);
    const byte = b[pos++]!;
    v += (byte & 0x7f) * mul;
    mul *= 128;
    if (byte < 0x80) return [v, pos];
  }
  throw new RangeError(`varint longer than 10 bytes at offset ${pos}`);
}

/** The fields of the message at b[start, end). */
export function fields(b: Uint8Array, start: number, end: number): WireField[] {
  const out: WireField[] = [];
  let pos = start;
  while (pos < end) {
    const fieldStart = pos;
    const [tag, p1] = readVarint(b, pos, end);
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    pos = p1;
    if (wire === 0) {
      const [v, p2] = readVarint(b, pos, end);
      out.push({ field, wire, start: fieldStart, at: pos, end: p2, value: v });
      pos = p2;
    } else if (wire === 1 || wire === 5) {
      const size = wire === 1 ? 8 : 4;
      if (pos + size > end) throw new RangeError(`field ${field} runs past its message at offset ${pos}`);
      out.push({ field, wire, start: fieldStart, at: pos, end: pos + size, value: 0 });
      pos += size;
    } else if (wire === 2) {
      const [len, p2] = readVarint(b, pos, end);
      if (p2 + len > end) throw new RangeError(`field ${field} claims ${len} bytes at offset ${p2}, past its message`);
      out.push({ field, wire, start: fieldStart, at: p2, end: p2 + len, value: len });
      pos = p2 + len;
    } else {
      throw new RangeError(`wire type ${wire} at offset ${fieldStart}`);
    }
  }
  return out;
}

/** A string payload. */
export function text(b: Uint8Array, f: WireField): string {
  return new TextDecoder().decode(b.subarray(f.at, f.end));
}

/** Bytes under construction: a list of chunks with their total length. */
export class Chunks {
  readonly parts: Uint8Array[] = [];
  length = 0;
  push(...chunks: Uint8Array[]): this {
    for (const c of chunks) {
      this.parts.push(c);
      this.length += c.length;
    }
    return this;
  }
  append(other: Chunks): this {
    return this.push(...other.parts);
  }
}

export function varint(v: number): Uint8Array {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`varint of ${v}`);
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Uint8Array.from(out);
}

/** A signed int64 varint (two's complement for negatives, 10 bytes). */
export function svarint(v: number): Uint8Array {
  if (v >= 0) return varint(v);
  let big = BigInt.asUintN(64, BigInt(v));
  const out: number[] = [];
  while (big >= 0x80n) {
    out.push(Number(big & 0x7fn) | 0x80);
    big >>= 7n;
  }
  out.push(Number(big));
  return Uint8Array.from(out);
}

const tag = (field: number, wire: number) => varint(field * 8 + wire);

/** A length-delimited field around `body`. */
export function lenField(field: number, body: Chunks | Uint8Array): Chunks {
  const c = new Chunks().push(tag(field, 2), varint(body.length));
  return body instanceof Chunks ? c.append(body) : c.push(body);
}

export function stringField(field: number, s: string): Chunks {
  return lenField(field, new TextEncoder().encode(s));
}

export function intField(field: number, v: number): Chunks {
  return new Chunks().push(tag(field, 0), svarint(v));
}

export function floatField(field: number, v: number): Chunks {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setFloat32(0, v, true);
  return new Chunks().push(tag(field, 5), b);
}

/** Packed repeated int64 (TensorProto.dims, AttributeProto.ints). */
export function packedInts(field: number, values: readonly number[]): Chunks {
  const body = new Chunks();
  for (const v of values) body.push(svarint(v));
  return lenField(field, body);
}

/** Flatten chunks into one array. */
export function concat(c: Chunks): Uint8Array {
  return concatBytes(c.parts);
}
