// Random-access byte sources (browser-safe) and a bounds-checked cursor for parsing headers.
// Readers only ever ask a source for one header window or one tensor's bytes at a time.
import { ModelFileError } from './errors.js';

/** Random access to the bytes of one file. `read` returns exactly `length` bytes. */
export interface ByteSource {
  /** File name used in error messages. */
  readonly name: string;
  /** Size in bytes. */
  readonly size: number;
  /** Bytes [offset, offset + length); a ModelFileError if that runs past `size`. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Release the underlying handle (no-op for in-memory sources). */
  close(): Promise<void>;
}

/** What `Blob`/`File` offer (structural, so no DOM typings are needed). */
export interface BlobLike {
  readonly size: number;
  readonly name?: string;
  slice(start?: number, end?: number): { arrayBuffer(): Promise<ArrayBuffer> };
}

/** Opens a file that sits next to the model file (tfjs weight shards), by the relative path the
 * model file names. */
export type SiblingResolver = (relativePath: string) => Promise<ByteSource>;

/** Throw unless [offset, offset + length) lies inside a source of `size` bytes. */
export function checkRange(file: string, size: number, offset: number, length: number, what: string, tensor?: string): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
    throw new ModelFileError(
      file,
      offset + length > size && offset >= 0 && length >= 0 ? 'truncated' : 'out-of-range',
      `${what} at bytes ${offset}..${offset + length} lies outside the ${size}-byte file`,
      tensor,
    );
  }
}

/** A source over bytes already in memory. */
export function bytesSource(bytes: Uint8Array, name = 'buffer'): ByteSource {
  return {
    name,
    size: bytes.length,
    async read(offset, length) {
      checkRange(name, bytes.length, offset, length, 'read');
      return bytes.subarray(offset, offset + length);
    },
    async close() {},
  };
}

/** A source over a Blob or File: each read is one `slice().arrayBuffer()`. */
export function blobSource(blob: BlobLike, name = blob.name ?? 'blob'): ByteSource {
  const size = blob.size;
  return {
    name,
    size,
    async read(offset, length) {
      checkRange(name, size, offset, length, 'read');
      const buf = await blob.slice(offset, offset + length).arrayBuffer();
      if (buf.byteLength !== length) {
        throw new ModelFileError(name, 'truncated', `asked for ${length} bytes at ${offset}, the blob gave ${buf.byteLength}`);
      }
      return new Uint8Array(buf);
    },
    async close() {},
  };
}

/** A resolver over a set of Blobs/Files (for example from a multi-file input), matched by the last
 * path component of the name the model file uses. */
export function blobResolver(files: Iterable<BlobLike>): SiblingResolver {
  const byName = new Map<string, BlobLike>();
  for (const f of files) if (f.name) byName.set(baseName(f.name), f);
  return async (relativePath) => {
    const f = byName.get(baseName(relativePath));
    if (!f) {
      throw new ModelFileError(relativePath, 'not-found', `no file named ${baseName(relativePath)} was given; select it together with the model file`);
    }
    return blobSource(f, f.name);
  };
}

/** The last component of a slash- or backslash-separated path. */
export function baseName(path: string): string {
  const i = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return i < 0 ? path : path.slice(i + 1);
}

/** One source made of several laid end to end (tfjs weight shards). */
export function concatSource(parts: readonly ByteSource[], name: string): ByteSource {
  const starts: number[] = [];
  let size = 0;
  for (const p of parts) {
    starts.push(size);
    size += p.size;
  }
  return {
    name,
    size,
    async read(offset, length) {
      checkRange(name, size, offset, length, 'read');
      const out = new Uint8Array(length);
      let done = 0;
      for (let i = 0; i < parts.length && done < length; i++) {
        const p = parts[i]!;
        const s = starts[i]!;
        const at = offset + done;
        if (at >= s + p.size || p.size === 0) continue;
        const take = Math.min(length - done, s + p.size - at);
        out.set(await p.read(at - s, take), done);
        done += take;
      }
      return out;
    },
    async close() {
      for (const p of parts) await p.close();
    },
  };
}

const WINDOW = 1 << 16;

/** A byte count for messages (64-bit fields above 2^53 are carried as Infinity). */
const count = (n: number): string => (Number.isFinite(n) ? String(n) : 'more than 2^53');

/**
 * Sequential reader over a region of a source, fetching windows of ≥ 64 KiB. Callers `need(n)`
 * before the synchronous getters; `need` fails with a truncation error naming `what` when the
 * region ends first, so a corrupt count or length never causes a read past the region.
 */
export class Cursor {
  pos: number;
  readonly end: number;
  private buf: Uint8Array = new Uint8Array(0);
  private view = new DataView(this.buf.buffer);
  private bufStart = 0;

  constructor(
    readonly source: ByteSource,
    start = 0,
    end = source.size,
  ) {
    this.pos = start;
    this.end = end;
  }

  get file(): string {
    return this.source.name;
  }

  /** Bytes left in the region. */
  get remaining(): number {
    return this.end - this.pos;
  }

  /** True when the next `n` bytes are already buffered. */
  has(n: number): boolean {
    return this.pos >= this.bufStart && this.pos + n <= this.bufStart + this.buf.length;
  }

  /** Make the next `n` bytes available to the synchronous getters. */
  async need(n: number, what: string, tensor?: string): Promise<void> {
    if (this.has(n)) return;
    if (!Number.isSafeInteger(n) || n < 0 || this.pos + n > this.end) {
      throw new ModelFileError(
        this.file,
        'truncated',
        `${what} needs ${count(n)} bytes at offset ${this.pos}, but only ${Math.max(0, this.end - this.pos)} remain`,
        tensor,
      );
    }
    const len = Math.min(Math.max(n, WINDOW), this.end - this.pos);
    this.buf = await this.source.read(this.pos, len);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    this.bufStart = this.pos;
  }

  /** Advance `n` bytes (checked against the region end). */
  skip(n: number, what: string, tensor?: string): void {
    if (!Number.isSafeInteger(n) || n < 0 || this.pos + n > this.end) {
      throw new ModelFileError(
        this.file,
        'truncated',
        `${what} claims ${count(n)} bytes at offset ${this.pos}, but only ${Math.max(0, this.end - this.pos)} remain`,
        tensor,
      );
    }
    this.pos += n;
  }

  private at(n: number): number {
    if (!this.has(n)) throw new Error('Cursor: need() was not called before reading');
    const o = this.pos - this.bufStart;
    this.pos += n;
    return o;
  }

  u8(): number {
    return this.buf[this.at(1)]!;
  }
  u16(): number {
    return this.view.getUint16(this.at(2), true);
  }
  u32(): number {
    return this.view.getUint32(this.at(4), true);
  }
  i32(): number {
    return this.view.getInt32(this.at(4), true);
  }
  /** An unsigned 64-bit little-endian integer; values above 2^53 − 1 come back as Infinity so that
   * every range check against the file size fails on them. */
  u64(): number {
    const o = this.at(8);
    const lo = this.view.getUint32(o, true);
    const hi = this.view.getUint32(o + 4, true);
    return hi >= 0x200000 ? Infinity : hi * 2 ** 32 + lo;
  }
  /** A signed 64-bit little-endian integer (as u64; negative values come back negative). */
  i64(): number {
    const o = this.at(8);
    const lo = this.view.getUint32(o, true);
    const hi = this.view.getInt32(o + 4, true);
    if (hi >= 0x200000) return Infinity;
    if (hi < -0x200000) return -Infinity;
    return hi * 2 ** 32 + lo;
  }
  f32(): number {
    return this.view.getFloat32(this.at(4), true);
  }
  f64(): number {
    return this.view.getFloat64(this.at(8), true);
  }
  /** A view of the next `n` bytes (valid until the next `need`). */
  bytes(n: number): Uint8Array {
    const o = this.at(n);
    return this.buf.subarray(o, o + n);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decode UTF-8, failing with a typed error on invalid bytes. */
export function decodeUtf8(bytes: Uint8Array, file: string, what: string, tensor?: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new ModelFileError(file, 'malformed', `${what} is not valid UTF-8`, tensor);
  }
}
