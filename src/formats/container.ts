// The microscale container (docs/serialization.md). Layout, all integers little-endian:
//   0  4  magic "MSQT"            4  2  version (1)          6  2  flags (0)
//   8  4  header length H         12 4  CRC-32 of bytes [16, end)
//   16 H  header: UTF-8 JSON (format name, options, shape, tensor scale, section byte lengths)
//   then, each starting on an 8-byte boundary: codes, scales, subScales, offsets.
import { ContainerError, MicroscaleError } from './errors.js';
import { parseFormat } from './names.js';
import { layoutOf } from './layout.js';
import { optionsRecord, resolveOptions, type QuantizeOptions, type ResolvedOptions } from './options.js';
import type { ElementFormat } from './element.js';
import type { Format } from './format.js';
import { packCodes, packedByteLength, unpackCodes } from './pack.js';
import { QuantizedTensor, newScaleArray, scaleBytes, scaleElementOf } from './quantized.js';

export const CONTAINER_MAGIC = 'MSQT';
export const CONTAINER_VERSION = 1;
const PREFIX = 16;
const MAX_HEADER = 1 << 20;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE 802.3, as in zlib) of `bytes`. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

interface Header {
  format: string;
  shape: number[];
  axis: number;
  blockSize: number;
  rounding: string;
  seed: number;
  scaleMode: string;
  scaleBits: number;
  preset: string;
  flushSubnormalBlocks: boolean;
  scaleUpperBound: number | null;
  tensorScale: number | null;
  sections: { codes: number; scales: number; subScales: number; offsets: number };
}

const pad8 = (n: number) => (n + 7) & ~7;

function asBytes(a: Uint8Array | Uint16Array | Uint32Array): Uint8Array {
  const out = new Uint8Array(a.length * a.BYTES_PER_ELEMENT);
  const dv = new DataView(out.buffer);
  if (a.BYTES_PER_ELEMENT === 1) out.set(a as Uint8Array);
  else if (a.BYTES_PER_ELEMENT === 2) for (let i = 0; i < a.length; i++) dv.setUint16(2 * i, a[i]!, true);
  else for (let i = 0; i < a.length; i++) dv.setUint32(4 * i, a[i]!, true);
  return out;
}

/** Power-of-two scale exponents narrower than a byte are bit-packed like element codes. */
function packedScaleBits(format: Format, scaleEl: ElementFormat | null): number {
  return format.scheme === 'pow2' && scaleEl !== null && scaleEl.bits < 8 ? scaleEl.bits : 0;
}

export function serializeTensor(q: QuantizedTensor): Uint8Array {
  const o = q.options;
  const narrow = packedScaleBits(q.format, q.scaleElement);
  const scales = narrow ? packCodes(q.scales, narrow) : asBytes(q.scales);
  const sections = [q.codes, scales, q.subScales, asBytes(q.offsets)];
  const header: Header = {
    format: q.format.name,
    ...optionsRecord(o),
    tensorScale: q.format.tensorScale ? q.tensorScale : null,
    sections: { codes: sections[0]!.length, scales: sections[1]!.length, subScales: sections[2]!.length, offsets: sections[3]!.length },
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  let size = pad8(PREFIX + json.length);
  for (const s of sections) size += pad8(s.length);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < 4; i++) out[i] = CONTAINER_MAGIC.charCodeAt(i);
  dv.setUint16(4, CONTAINER_VERSION, true);
  dv.setUint16(6, 0, true);
  dv.setUint32(8, json.length, true);
  out.set(json, PREFIX);
  let at = pad8(PREFIX + json.length);
  for (const s of sections) {
    out.set(s, at);
    at += pad8(s.length);
  }
  dv.setUint32(12, crc32(out.subarray(PREFIX)), true);
  return out;
}

function fail(why: string): never {
  throw new ContainerError(`not a valid microscale container: ${why}`);
}

function field<T>(h: Record<string, unknown>, key: string, check: (v: unknown) => boolean, what: string): T {
  const v = h[key];
  if (!check(v)) fail(`header field "${key}" must be ${what}; got ${JSON.stringify(v)}`);
  return v as T;
}

const isInt = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v);
const isStr = (v: unknown) => typeof v === 'string';

export function deserializeTensor(bytes: Uint8Array): QuantizedTensor {
  if (!(bytes instanceof Uint8Array)) fail('input must be a Uint8Array');
  if (bytes.length < PREFIX) fail(`only ${bytes.length} bytes; the fixed prefix alone is ${PREFIX} (file truncated?)`);
  for (let i = 0; i < 4; i++) if (bytes[i] !== CONTAINER_MAGIC.charCodeAt(i)) fail(`bad magic (expected "MSQT")`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint16(4, true);
  if (version !== CONTAINER_VERSION) fail(`version ${version} is not supported (this library reads version ${CONTAINER_VERSION})`);
  if (dv.getUint16(6, true) !== 0) fail('unknown flags set');
  const hlen = dv.getUint32(8, true);
  if (hlen > MAX_HEADER || PREFIX + hlen > bytes.length) fail(`header length ${hlen} runs past the end of the ${bytes.length}-byte input (truncated?)`);
  if (crc32(bytes.subarray(PREFIX)) !== dv.getUint32(12, true)) fail('checksum mismatch (corrupt or truncated)');
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(PREFIX, PREFIX + hlen)));
  } catch {
    fail('header is not valid UTF-8 JSON');
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail('header is not a JSON object');
  const h = raw as Record<string, unknown>;
  const formatName = field<string>(h, 'format', isStr, 'a format name');
  const shape = field<number[]>(h, 'shape', (v) => Array.isArray(v) && v.length > 0 && v.length <= 32 && v.every((d) => isInt(d) && d >= 0), 'a list of non-negative integers');
  let n = 1;
  for (const d of shape) n *= d;
  if (!Number.isSafeInteger(n)) fail(`shape [${shape.join(', ')}] is too large`);
  const sections = field<Header['sections']>(h, 'sections', (v) => v !== null && typeof v === 'object', 'an object');
  for (const k of ['codes', 'scales', 'subScales', 'offsets'] as const) {
    if (!isInt(sections[k]) || sections[k] < 0) fail(`section length "${k}" must be a non-negative integer`);
  }
  let total = pad8(PREFIX + hlen);
  for (const k of ['codes', 'scales', 'subScales', 'offsets'] as const) total += pad8(sections[k]);
  if (total !== bytes.length) fail(`sections add up to ${total} bytes but the input has ${bytes.length} (truncated or padded?)`);
  let q: QuantizedTensor;
  try {
    const format = parseFormat(formatName);
    const tensorScale = h['tensorScale'];
    const opts: QuantizeOptions = {
      shape,
      axis: field<number>(h, 'axis', isInt, 'an integer'),
      rounding: field(h, 'rounding', isStr, 'a rounding mode'),
      seed: field<number>(h, 'seed', isInt, 'an integer'),
      preset: field(h, 'preset', isStr, 'a preset'),
      flushSubnormalBlocks: field<boolean>(h, 'flushSubnormalBlocks', (v) => typeof v === 'boolean', 'a boolean'),
    };
    if (format.granularity === 'block') opts.blockSize = field<number>(h, 'blockSize', isInt, 'an integer');
    if (format.scheme === 'pow2') {
      opts.scaleMode = field(h, 'scaleMode', isStr, 'a scale mode');
      opts.scaleBits = field<number>(h, 'scaleBits', isInt, 'an integer');
    }
    if (format.amaxUpperBound !== null) opts.scaleUpperBound = field<number>(h, 'scaleUpperBound', (v) => typeof v === 'number', 'a number');
    const options: ResolvedOptions = resolveOptions(format, n, opts);
    if (options.blockSize !== h['blockSize']) fail(`blockSize ${String(h['blockSize'])} does not match the format's ${options.blockSize}`);
    const layout = layoutOf(format, options);
    const scaleEl = scaleElementOf(format, options);
    const sb = scaleBytes(scaleEl);
    const narrow = packedScaleBits(format, scaleEl);
    const need = {
      codes: packedByteLength(n, format.element.bits),
      scales: narrow ? packedByteLength(layout.scaleCount, narrow) : layout.scaleCount * sb,
      subScales: format.subBlock ? packedByteLength(layout.subScaleCount, format.subBlock.bits) : 0,
      offsets: format.scaleRule === 'minMax' ? layout.scaleCount * sb : 0,
    };
    for (const k of ['codes', 'scales', 'subScales', 'offsets'] as const) {
      if (sections[k] !== need[k]) fail(`section "${k}" holds ${sections[k]} bytes but ${format.name} [${shape.join(', ')}] needs ${need[k]}`);
    }
    let at = pad8(PREFIX + hlen);
    const take = (len: number) => {
      const s = bytes.slice(at, at + len);
      at += pad8(len);
      return s;
    };
    const readScales = (len: number) => {
      const raw8 = take(len);
      const arr = newScaleArray(scaleEl, len / Math.max(sb, 1));
      const v = new DataView(raw8.buffer);
      for (let i = 0; i < arr.length; i++) arr[i] = sb === 1 ? raw8[i]! : sb === 2 ? v.getUint16(2 * i, true) : v.getUint32(4 * i, true);
      return arr;
    };
    const codes = take(need.codes);
    const scales = narrow ? Uint8Array.from(unpackCodes(take(need.scales), narrow, layout.scaleCount)) : readScales(need.scales);
    const subScales = take(need.subScales);
    const offsets = format.scaleRule === 'minMax' ? readScales(need.offsets) : new Uint8Array(0);
    if (format.tensorScale && !(typeof tensorScale === 'number' && (tensorScale > 0 || Number.isNaN(tensorScale)))) {
      fail('tensorScale must be a positive number');
    }
    q = new QuantizedTensor({
      format,
      options,
      codes,
      scales,
      subScales,
      offsets,
      tensorScale: format.tensorScale ? (tensorScale as number) : 1,
    });
  } catch (e) {
    if (e instanceof ContainerError) throw e;
    if (e instanceof MicroscaleError) fail(e.message);
    throw e;
  }
  return q;
}
