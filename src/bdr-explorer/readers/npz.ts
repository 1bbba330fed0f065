// NumPy .npz: a zip archive of .npy members (stored or deflated, zip64 when large). The central
// directory is read from the end of the file; each member is read, and inflated through fflate's
// streaming Inflate, only when its tensor is asked for.
import { Inflate } from 'fflate';
import { ModelFileError } from './errors.js';
import { decodeNpyData, npyInfo, parseNpyHeader, type NpyHeader } from './npy.js';
import { checkRange, Cursor, decodeUtf8, type ByteSource } from './source.js';
import { checkElements, readTensorBytes } from './tensor-io.js';
import { makeReader, type ModelReader, type TensorEntry } from './types.js';

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const U32_MAX = 0xffffffff;
/** Deflate cannot expand data by more than about 1032:1. */
const MAX_INFLATE_RATIO = 1032;
const CHUNK = 1 << 16;

interface Member {
  readonly name: string;
  readonly method: number;
  readonly compSize: number;
  readonly size: number;
  readonly localOffset: number;
}

/** Open an .npz archive: reads the central directory and each member's .npy header. */
export async function openNpz(source: ByteSource): Promise<ModelReader> {
  const file = source.name;
  const { cdOffset, cdSize, count, limit } = await findDirectory(source);
  const members = await readDirectory(source, cdOffset, cdSize, count);
  const entries: TensorEntry[] = [];
  const names = new Set<string>();
  for (const m of members) {
    if (!/\.npy$/i.test(m.name)) continue;
    const name = m.name.replace(/\.npy$/i, '');
    if (names.has(name)) throw new ModelFileError(file, 'malformed', 'two archive members have this name', name);
    names.add(name);
    if (m.method !== 0 && m.method !== 8) {
      throw new ModelFileError(file, 'unsupported', `zip compression method ${m.method} is not supported (stored and deflate are)`, name);
    }
    if (m.method === 0 && m.compSize !== m.size) {
      throw new ModelFileError(file, 'size-mismatch', `a stored member claims ${m.compSize} bytes compressed but ${m.size} uncompressed`, name);
    }
    if (m.method === 8 && m.size > m.compSize * MAX_INFLATE_RATIO + 1024) {
      throw new ModelFileError(file, 'malformed', `claims ${m.size} bytes inflated from ${m.compSize}, beyond what deflate can produce`, name);
    }
    const dataStart = await memberDataStart(source, m, name);
    if (dataStart + m.compSize > limit) {
      throw new ModelFileError(file, 'out-of-range', `member data at ${dataStart}..${dataStart + m.compSize} overlaps the central directory or runs past the file`, name);
    }
    const header = await readMemberHeader(source, m, dataStart, name);
    const info = npyInfo(name, header);
    if (!(header.dataOffset + info.byteLength <= m.size)) {
      throw new ModelFileError(
        file,
        'size-mismatch',
        `shape [${header.shape.join(', ')}] of '${header.descr}' needs ${info.byteLength} data bytes but the member holds ${m.size - header.dataOffset}`,
        name,
      );
    }
    entries.push({
      info,
      async decode() {
        if (!header.dtype) throw new ModelFileError(file, 'unsupported', `complex dtype '${header.descr}' has no float32 reading`, name);
        checkElements(file, header.elements, name);
        if (m.method === 0) {
          return decodeNpyData(await readTensorBytes(source, dataStart + header.dataOffset, info.byteLength, header.elements, name), header);
        }
        const all = await inflateMember(source, m, dataStart, m.size, name);
        return decodeNpyData(all.subarray(header.dataOffset, header.dataOffset + info.byteLength), header);
      },
    });
  }
  return makeReader('npz', source, entries);
}

/** Locate the central directory through the end-of-central-directory record (zip64 aware). */
async function findDirectory(source: ByteSource): Promise<{ cdOffset: number; cdSize: number; count: number; limit: number }> {
  const file = source.name;
  if (source.size < 22) throw new ModelFileError(file, 'truncated', `${source.size} bytes is too short for a zip archive`);
  const tailLen = Math.min(source.size, 22 + 0xffff);
  const tailStart = source.size - tailLen;
  const tail = await source.read(tailStart, tailLen);
  const dv = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  let at = -1;
  for (let p = tailLen - 22; p >= 0; p--) {
    if (dv.getUint32(p, true) === EOCD) {
      at = p;
      break;
    }
  }
  if (at < 0) throw new ModelFileError(file, 'truncated', 'no zip end-of-central-directory record (the archive is truncated or not a zip)');
  let count = dv.getUint16(at + 10, true);
  let cdSize = dv.getUint32(at + 12, true);
  let cdOffset = dv.getUint32(at + 16, true);
  let limit = tailStart + at;
  if ((count === 0xffff || cdSize === U32_MAX || cdOffset === U32_MAX) && at >= 20 && dv.getUint32(at - 20, true) === ZIP64_LOCATOR) {
    const z64 = new Cursor(source, 0, source.size);
    const locHi = dv.getUint32(at - 20 + 12, true);
    const rec = locHi >= 0x200000 ? Infinity : locHi * 2 ** 32 + dv.getUint32(at - 20 + 8, true);
    if (!(rec + 56 <= tailStart + at - 20)) throw new ModelFileError(file, 'out-of-range', `zip64 end record offset ${rec} lies outside the archive`);
    z64.pos = rec;
    await z64.need(56, 'the zip64 end-of-central-directory record');
    if (z64.u32() !== ZIP64_EOCD) throw new ModelFileError(file, 'bad-magic', 'the zip64 locator does not point at a zip64 end record');
    z64.skip(20, 'zip64 end record');
    z64.u64(); // entries on this disk
    count = z64.u64();
    cdSize = z64.u64();
    cdOffset = z64.u64();
    limit = rec;
  }
  if (!(cdOffset + cdSize <= limit)) {
    throw new ModelFileError(file, 'out-of-range', `central directory at ${cdOffset} (+${cdSize} bytes) runs past its end record at ${limit}`);
  }
  if (count * 46 > cdSize) throw new ModelFileError(file, 'out-of-range', `${count} members cannot fit in a ${cdSize}-byte central directory`);
  return { cdOffset, cdSize, count, limit: cdOffset };
}

async function readDirectory(source: ByteSource, cdOffset: number, cdSize: number, count: number): Promise<Member[]> {
  const c = new Cursor(source, cdOffset, cdOffset + cdSize);
  const out: Member[] = [];
  for (let i = 0; i < count; i++) {
    await c.need(46, `central directory entry ${i}`);
    if (c.u32() !== CENTRAL) throw new ModelFileError(source.name, 'bad-magic', `central directory entry ${i} has a bad signature`);
    c.skip(4, 'entry');
    const flags = c.u16();
    const method = c.u16();
    c.skip(8, 'entry');
    let compSize = c.u32();
    let size = c.u32();
    const nameLen = c.u16();
    const extraLen = c.u16();
    const commentLen = c.u16();
    c.skip(8, 'entry');
    let localOffset = c.u32();
    await c.need(nameLen + extraLen, `central directory entry ${i}`);
    const name = decodeUtf8(c.bytes(nameLen), source.name, `the name of archive member ${i}`);
    const extra = c.bytes(extraLen);
    const xv = new DataView(extra.buffer, extra.byteOffset, extra.byteLength);
    for (let p = 0; p + 4 <= extraLen; ) {
      const id = xv.getUint16(p, true);
      const len = xv.getUint16(p + 2, true);
      if (id === 1) {
        let q = p + 4;
        const next = (): number => {
          if (q + 8 > p + 4 + len || q + 8 > extraLen) throw new ModelFileError(source.name, 'malformed', 'zip64 extra field too short', name);
          const hi = xv.getUint32(q + 4, true);
          const v = hi >= 0x200000 ? Infinity : hi * 2 ** 32 + xv.getUint32(q, true);
          q += 8;
          return v;
        };
        if (size === U32_MAX) size = next();
        if (compSize === U32_MAX) compSize = next();
        if (localOffset === U32_MAX) localOffset = next();
      }
      p += 4 + len;
    }
    c.skip(commentLen, `central directory entry ${i}`);
    if (flags & 1) throw new ModelFileError(source.name, 'unsupported', 'encrypted archive members are not supported', name);
    out.push({ name, method, compSize, size, localOffset });
  }
  return out;
}

async function memberDataStart(source: ByteSource, m: Member, tensor: string): Promise<number> {
  checkRange(source.name, source.size, m.localOffset, 30, 'local file header', tensor);
  const h = await source.read(m.localOffset, 30);
  const dv = new DataView(h.buffer, h.byteOffset, 30);
  if (dv.getUint32(0, true) !== LOCAL) throw new ModelFileError(source.name, 'bad-magic', `no local file header at offset ${m.localOffset}`, tensor);
  return m.localOffset + 30 + dv.getUint16(26, true) + dv.getUint16(28, true);
}

/** The member's .npy header: read directly when stored, inflated just far enough when deflated. */
async function readMemberHeader(source: ByteSource, m: Member, dataStart: number, tensor: string): Promise<NpyHeader> {
  let want = Math.min(m.size, 128);
  for (;;) {
    const head = m.method === 0 ? await source.read(dataStart, want) : await inflateMember(source, m, dataStart, want, tensor);
    if (head.length < want) throw new ModelFileError(source.name, 'truncated', `member ends after ${head.length} bytes`, tensor);
    const h = parseNpyHeader(head, source.name, tensor);
    if (typeof h !== 'number') return h;
    if (h > m.size) throw new ModelFileError(source.name, 'truncated', `the .npy header needs ${h} bytes but the member holds ${m.size}`, tensor);
    want = h;
  }
}

/** Inflate the first `want` bytes of a deflated member (or all of them when `want` = its size). */
async function inflateMember(source: ByteSource, m: Member, dataStart: number, want: number, tensor: string): Promise<Uint8Array> {
  const file = source.name;
  const out = new Uint8Array(want);
  const whole = want === m.size;
  let got = 0;
  let overflow = false;
  const inflater = new Inflate((chunk) => {
    const take = Math.min(chunk.length, want - got);
    out.set(chunk.subarray(0, take), got);
    got += take;
    if (take < chunk.length) overflow = true;
  });
  // a whole-member read consumes every compressed byte so that excess output is noticed
  // small pieces while looking for a header, so that a highly compressed member is not inflated far
  const step = whole ? CHUNK : 1 << 12;
  for (let pos = 0; pos < m.compSize && (whole || got < want); pos += step) {
    const len = Math.min(step, m.compSize - pos);
    const piece = await source.read(dataStart + pos, len);
    try {
      inflater.push(piece, pos + len >= m.compSize);
    } catch (e) {
      throw new ModelFileError(file, 'malformed', `the deflate stream is corrupt (${(e as Error).message})`, tensor);
    }
    if (whole && overflow) throw new ModelFileError(file, 'size-mismatch', `inflates to more than the ${m.size} bytes the archive declares`, tensor);
  }
  if (got < want) throw new ModelFileError(file, 'truncated', `inflates to ${got} bytes, fewer than the ${want} needed`, tensor);
  return out;
}
