// The safetensors container, written and re-read by the writers: an 8-byte little-endian header
// length, a JSON header { name: { dtype, shape, data_offsets }, "__metadata__": { string: string } }
// padded with spaces to a multiple of 8 bytes, then the tensors' bytes in header order.
import { OptionError } from '../../formats/errors.js';
import { ModelFileError } from '../../bdr-explorer/readers/errors.js';
import { decodeUtf8, type ByteSource } from '../../bdr-explorer/readers/source.js';
import { SAFETENSORS_MAX_HEADER } from '../../bdr-explorer/readers/safetensors.js';
import { quoted } from '../quote.js';

/** Bits per element of each safetensors dtype the writers emit. */
export const SAFETENSORS_DTYPE_BITS: Readonly<Record<string, number>> = Object.freeze({
  F64: 64,
  F32: 32,
  F16: 16,
  BF16: 16,
  F8_E4M3: 8,
  F8_E5M2: 8,
  F8_E8M0: 8,
  F6_E2M3: 6,
  F6_E3M2: 6,
  F4: 4,
  I64: 64,
  U64: 64,
  I32: 32,
  U32: 32,
  I16: 16,
  U16: 16,
  I8: 8,
  U8: 8,
  BOOL: 8,
});

/** One tensor as the header lists it; `byteLength` must equal shape × dtype bits / 8. */
export interface SafetensorsEntry {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly byteLength: number;
}

/** Bytes of `shape` elements of `dtype` (an error when they do not fill whole bytes). */
export function safetensorsByteLength(dtype: string, shape: readonly number[], tensor: string): number {
  const bits = SAFETENSORS_DTYPE_BITS[dtype];
  if (bits === undefined) throw new OptionError(`tensor ${quoted(tensor)}: safetensors has no dtype ${dtype}`);
  const n = shape.reduce((a, b) => a * b, 1);
  if ((n * bits) % 8 !== 0) throw new OptionError(`tensor ${quoted(tensor)}: ${n} elements of ${bits}-bit ${dtype} do not fill whole bytes`);
  return (n * bits) / 8;
}

/** The header bytes (length prefix included) for `entries` stored in that order. */
export function encodeSafetensorsHeader(entries: readonly SafetensorsEntry[], metadata: Readonly<Record<string, string>>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header['__metadata__'] = metadata;
  let at = 0;
  const seen = new Set<string>();
  for (const e of entries) {
    if (e.name === '__metadata__' || seen.has(e.name)) throw new OptionError(`safetensors tensor name ${quoted(e.name)} is reserved or used twice; rename the source tensor`);
    seen.add(e.name);
    const need = safetensorsByteLength(e.dtype, e.shape, e.name);
    if (need !== e.byteLength) throw new Error(`internal: ${e.name} declares ${e.byteLength} bytes, ${e.dtype} [${e.shape.join(', ')}] needs ${need}`);
    header[e.name] = { dtype: e.dtype, shape: [...e.shape], data_offsets: [at, at + e.byteLength] };
    at += e.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = (json.length + 7) & ~7;
  const out = new Uint8Array(8 + padded).fill(0x20, 8);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  return out;
}

/** A parsed header: entries with absolute file offsets, and the metadata strings. */
export interface SafetensorsLayout {
  readonly entries: ReadonlyMap<string, { dtype: string; shape: number[]; offset: number; length: number }>;
  readonly metadata: Readonly<Record<string, string>>;
}

/** Read the header of a safetensors file (the explorer's reader validates the same file first). */
export async function readSafetensorsLayout(source: ByteSource): Promise<SafetensorsLayout> {
  const file = source.name;
  if (source.size < 8) throw new ModelFileError(file, 'truncated', 'too short for a safetensors file');
  const dv = new DataView((await source.read(0, 8)).slice().buffer);
  const len = dv.getUint32(4, true) * 2 ** 32 + dv.getUint32(0, true);
  if (len > source.size - 8 || len > SAFETENSORS_MAX_HEADER) throw new ModelFileError(file, 'truncated', `header length ${len} does not fit the ${source.size}-byte file`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(decodeUtf8(await source.read(8, len), file, 'the JSON header')) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof ModelFileError) throw e;
    throw new ModelFileError(file, 'malformed', `the header is not valid JSON (${(e as Error).message})`);
  }
  const entries = new Map<string, { dtype: string; shape: number[]; offset: number; length: number }>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header)) {
    const r = raw as { dtype: string; shape: number[]; data_offsets: [number, number] };
    if (name === '__metadata__') {
      metadata = raw as Record<string, string>;
      continue;
    }
    if (!r || !Array.isArray(r.data_offsets)) throw new ModelFileError(file, 'malformed', 'entry has no data_offsets', name);
    entries.set(name, { dtype: r.dtype, shape: r.shape, offset: 8 + len + r.data_offsets[0], length: r.data_offsets[1] - r.data_offsets[0] });
  }
  return { entries, metadata };
}
