// TensorFlow.js: model.json with weightsManifest [{ paths: [shard files], weights: [{ name, shape,
// dtype, quantization? }] }]. Each group's shards are one byte stream split into files; its weights
// lie back to back in manifest order, so a weight may start at any byte and cross shard files.
import { decodePlain, elementCount, type PlainDtype } from './dtypes.js';
import { ModelFileError } from './errors.js';
import { concatSource, Cursor, decodeUtf8, type ByteSource, type SiblingResolver } from './source.js';
import { readTensorBytes } from './tensor-io.js';
import { makeReader, type ModelReader, type TensorEntry } from './types.js';

/** Largest model.json accepted. */
const MAX_JSON = 256 * 1024 * 1024;

const STORED: Readonly<Record<string, { dtype: string; plain: PlainDtype | null; bytes: number; floating: boolean }>> = {
  float32: { dtype: 'f32', plain: 'f32', bytes: 4, floating: true },
  int32: { dtype: 'i32', plain: 'i32', bytes: 4, floating: false },
  bool: { dtype: 'bool', plain: 'bool', bytes: 1, floating: false },
  complex64: { dtype: 'c64', plain: null, bytes: 8, floating: true },
  float16: { dtype: 'f16', plain: 'f16', bytes: 2, floating: true },
};

const QUANTIZED: Readonly<Record<string, { dtype: string; plain: PlainDtype; bytes: number }>> = {
  uint8: { dtype: 'u8_affine', plain: 'u8', bytes: 1 },
  uint16: { dtype: 'u16_affine', plain: 'u16', bytes: 2 },
  float16: { dtype: 'f16', plain: 'f16', bytes: 2 },
};

/** True when `text` looks like a tfjs model.json (an object with a weightsManifest). */
export function looksLikeTfjs(head: Uint8Array): boolean {
  let i = 0;
  while (i < head.length && (head[i] === 0x20 || head[i] === 0x0a || head[i] === 0x0d || head[i] === 0x09 || head[i] === 0xef || head[i] === 0xbb || head[i] === 0xbf)) i++;
  return head[i] === 0x7b; // '{'
}

/** Open a tfjs model.json; `resolve` opens the weight shards it names (relative paths). */
export async function openTfjs(source: ByteSource, resolve: SiblingResolver | undefined): Promise<ModelReader> {
  const file = source.name;
  if (source.size > MAX_JSON) throw new ModelFileError(file, 'out-of-range', `the model JSON is ${source.size} bytes, over the ${MAX_JSON}-byte limit`);
  let json: unknown;
  try {
    json = JSON.parse(decodeUtf8(await source.read(0, source.size), file, 'the model JSON').replace(/^\uFEFF/, ''));
  } catch (e) {
    if (e instanceof ModelFileError) throw e;
    throw new ModelFileError(file, 'malformed', `the model JSON does not parse (${(e as Error).message})`);
  }
  const manifest = (json as { weightsManifest?: unknown } | null)?.weightsManifest;
  if (!Array.isArray(manifest)) throw new ModelFileError(file, 'malformed', 'no weightsManifest array: not a tfjs graph/layers model.json');
  if (manifest.length > 0 && !resolve) {
    throw new ModelFileError(file, 'not-found', 'the weight shards cannot be located; open the model through openModelFile(path) or pass options.resolve');
  }
  const opened: ByteSource[] = [];
  try {
    const entries: TensorEntry[] = [];
    const used = new Set<string>();
    for (let g = 0; g < manifest.length; g++) {
      const group = manifest[g] as { paths?: unknown; weights?: unknown } | null;
      if (!group || !Array.isArray(group.paths) || !group.paths.every((p) => typeof p === 'string') || !Array.isArray(group.weights)) {
        throw new ModelFileError(file, 'malformed', `weightsManifest[${g}] needs a paths array of strings and a weights array`);
      }
      const shards: ByteSource[] = [];
      const paths = group.paths as string[];
      for (let i = 0; i < paths.length; i++) {
        const shard = await openShard(file, resolve!, paths[i]!, `weightsManifest[${g}].paths[${i}]`);
        opened.push(shard);
        shards.push(shard);
      }
      const stream = concatSource(shards, `${file} [${(group.paths as string[]).join(', ')}]`);
      let offset = 0;
      for (let w = 0; w < group.weights.length; w++) {
        const spec = group.weights[w] as Record<string, unknown> | null;
        const where = `weightsManifest[${g}].weights[${w}]`;
        if (!spec || typeof spec.name !== 'string') throw new ModelFileError(file, 'malformed', `${where} has no name`);
        const name = spec.name;
        const shape = spec.shape;
        if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
          throw new ModelFileError(file, 'malformed', `shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`, name);
        }
        if (used.has(name)) throw new ModelFileError(file, 'malformed', 'the weight name appears twice in the manifest', name);
        used.add(name);
        const elements = elementCount(shape);
        const q = spec.quantization as Record<string, unknown> | undefined;
        const entry = q === undefined ? plainWeight(stream, file, name, shape, spec.dtype, elements, offset) : quantizedWeight(stream, file, name, shape, spec.dtype, q, elements, offset);
        if (entry === 'string') {
          const end = await skipStrings(stream, offset, elements, name);
          entries.push(stringEntry(file, name, shape, elements, end - offset));
          offset = end;
          continue;
        }
        if (!(offset + entry.info.byteLength <= stream.size)) {
          throw new ModelFileError(
            file,
            'truncated',
            `needs bytes ${offset}..${offset + entry.info.byteLength} of weight group ${g}, but its shards hold ${stream.size} (a shard is missing or truncated)`,
            name,
          );
        }
        offset += entry.info.byteLength;
        entries.push(entry);
      }
    }
    return makeReader('tfjs', source, entries, opened);
  } catch (e) {
    for (const s of opened) await s.close();
    throw e;
  }
}

/** Open one weight shard; a failure is reported against model.json, naming the manifest entry. */
async function openShard(file: string, resolve: SiblingResolver, path: string, where: string): Promise<ByteSource> {
  try {
    return await resolve(path);
  } catch (e) {
    const problem = e instanceof ModelFileError ? e.problem : 'not-found';
    throw new ModelFileError(file, problem, `weight shard ${JSON.stringify(path)} (${where}) cannot be opened: ${(e as Error)?.message ?? String(e)}; shards must lie next to model.json`);
  }
}

function plainWeight(stream: ByteSource, file: string, name: string, shape: number[], dtype: unknown, elements: number, offset: number): TensorEntry | 'string' {
  if (dtype === 'string') return 'string';
  const st = typeof dtype === 'string' && Object.prototype.hasOwnProperty.call(STORED, dtype) ? STORED[dtype]! : null;
  if (!st) throw new ModelFileError(file, 'unknown-dtype', `unknown dtype ${JSON.stringify(dtype)} (tfjs stores float32, int32, bool, complex64, string)`, name);
  const byteLength = elements * st.bytes;
  return {
    info: Object.freeze({ name, shape: Object.freeze(shape), dtype: st.dtype, elements, byteLength, floating: st.floating, readable: st.plain !== null }),
    async decode() {
      if (!st.plain) throw new ModelFileError(file, 'unsupported', `${String(dtype)} weights have no float32 reading`, name);
      return decodePlain(await readTensorBytes(stream, offset, byteLength, elements, name), st.plain, elements);
    },
  };
}

function quantizedWeight(
  stream: ByteSource,
  file: string,
  name: string,
  shape: number[],
  dtype: unknown,
  q: Record<string, unknown>,
  elements: number,
  offset: number,
): TensorEntry {
  const qd = q.dtype;
  const kind = typeof qd === 'string' && Object.prototype.hasOwnProperty.call(QUANTIZED, qd) ? QUANTIZED[qd]! : null;
  if (!kind) throw new ModelFileError(file, 'unknown-dtype', `unknown quantization dtype ${JSON.stringify(qd)} (uint8, uint16 and float16 are defined)`, name);
  const original = q.original_dtype ?? dtype;
  if (original !== 'float32' && original !== 'int32') {
    throw new ModelFileError(file, 'unknown-dtype', `quantized weights must dequantize to float32 or int32, not ${JSON.stringify(original)}`, name);
  }
  const affine = kind.plain !== 'f16';
  const scale = q.scale;
  const min = q.min;
  if (affine && (typeof scale !== 'number' || typeof min !== 'number' || !Number.isFinite(scale) || !Number.isFinite(min))) {
    throw new ModelFileError(file, 'malformed', `${qd} quantization needs finite numbers scale and min, got ${JSON.stringify({ scale, min })}`, name);
  }
  const byteLength = elements * kind.bytes;
  const toInt = original === 'int32';
  return {
    info: Object.freeze({ name, shape: Object.freeze(shape), dtype: kind.dtype, elements, byteLength, floating: !toInt, readable: true }),
    async decode() {
      const codes = decodePlain(await readTensorBytes(stream, offset, byteLength, elements, name), kind.plain, elements);
      if (affine) {
        const s = scale as number;
        const m = min as number;
        // tfjs computes v·scale + min in double and stores float32
        for (let i = 0; i < elements; i++) {
          const v = codes[i]! * s + m;
          codes[i] = toInt ? Math.round(v) : v;
        }
      } else if (toInt) {
        for (let i = 0; i < elements; i++) codes[i] = Math.round(codes[i]!);
      }
      return codes;
    },
  };
}

/** Walk `count` length-prefixed strings (u32 little-endian byte count each) and return the end offset. */
async function skipStrings(stream: ByteSource, offset: number, count: number, name: string): Promise<number> {
  if (count * 4 > stream.size - offset) {
    throw new ModelFileError(stream.name, 'truncated', `${count} strings need at least ${count * 4} bytes, but ${stream.size - offset} remain`, name);
  }
  const c = new Cursor(stream, offset);
  for (let i = 0; i < count; i++) {
    if (!c.has(4)) await c.need(4, 'a string length', name);
    c.skip(c.u32(), 'a string', name);
  }
  return c.pos;
}

function stringEntry(file: string, name: string, shape: number[], elements: number, byteLength: number): TensorEntry {
  return {
    info: Object.freeze({ name, shape: Object.freeze(shape), dtype: 'string', elements, byteLength, floating: false, readable: false }),
    async decode() {
      throw new ModelFileError(file, 'unsupported', 'string weights have no float32 reading', name);
    },
  };
}
