// The reading side of the safetensors writer: turns the quantized tensors of a file back into
// QuantizedTensors. The microscale layout comes back bit for bit with every option; the gpt-oss,
// ModelOpt and compressed-tensors layouts carry codes, scales and the tensor scale but not the
// quantizer's options, which come back as the format's defaults.
import { parseFormat } from '../../formats/names.js';
import { MicroscaleError } from '../../formats/errors.js';
import { getFormat } from '../../formats/api.js';
import { resolveOptions, type QuantizeOptions } from '../../formats/options.js';
import { QuantizedTensor, newScaleArray, scaleBytes, scaleElementOf, type ScaleArray } from '../../formats/quantized.js';
import { ModelFileError } from '../../bdr-explorer/readers/errors.js';
import { openSafetensors } from '../../bdr-explorer/readers/safetensors.js';
import type { ByteSource } from '../../bdr-explorer/readers/source.js';
import { readSafetensorsLayout } from './file.js';
import { MICROSCALE_LAYOUT_KEY, MICROSCALE_TENSOR_PREFIX, MICROSCALE_VERSION, microscaleParts, partNames, type MicroscaleTensorMeta, type PartSpec } from './layouts.js';
import { quoted } from '../quote.js';

/** The quantized tensors of a file, by the name of the tensor they were made from. */
export interface QuantizedSafetensors {
  /** Layouts found (a file may mix kept and quantized tensors; each quantized one matches one layout). */
  readonly layouts: readonly string[];
  readonly tensors: ReadonlyMap<string, QuantizedTensor>;
  /** Names of the file's tensors that are no part of a quantized tensor (kept as stored). */
  readonly plain: readonly string[];
}

type Entry = { dtype: string; shape: number[]; offset: number; length: number };

function scalesFrom(bytes: Uint8Array, width: number, count: number, like: ScaleArray): ScaleArray {
  if (width === 1) return bytes.slice(0, count);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < count; i++) like[i] = width === 2 ? dv.getUint16(2 * i, true) : dv.getUint32(4 * i, true);
  return like;
}

/**
 * Read every quantized tensor of a safetensors file written by microscale's safetensors writer (any
 * layout). Validates the file with the explorer's reader first; a part that is missing, of the wrong
 * dtype or of the wrong size is a ModelFileError naming the tensor.
 */
export async function readQuantizedSafetensors(source: ByteSource): Promise<QuantizedSafetensors> {
  await openSafetensors(source); // validates the header and every entry's size
  const file = source.name;
  const { entries, metadata } = await readSafetensorsLayout(source);
  const used = new Set<string>();
  const tensors = new Map<string, QuantizedTensor>();
  const layouts = new Set<string>();
  const bytesOf = async (name: string, owner: string, dtypes: readonly string[]): Promise<{ e: Entry; bytes: Uint8Array }> => {
    const e = entries.get(name);
    if (!e) throw new ModelFileError(file, 'not-found', `part ${quoted(name)} is missing`, owner);
    if (!dtypes.includes(e.dtype)) throw new ModelFileError(file, 'malformed', `part ${quoted(name)} is ${e.dtype}; expected ${dtypes.join(' or ')}`, owner);
    used.add(name);
    return { e, bytes: (await source.read(e.offset, e.length)).slice() };
  };
  const make = <T>(owner: string, build: () => T): T => {
    try {
      return build();
    } catch (err) {
      if (err instanceof MicroscaleError && !(err instanceof ModelFileError)) throw new ModelFileError(file, 'size-mismatch', err.message, owner);
      throw err;
    }
  };

  const version = metadata[MICROSCALE_LAYOUT_KEY];
  if (version !== undefined) {
    if (version !== MICROSCALE_VERSION) throw new ModelFileError(file, 'unsupported', `microscale layout version ${version}; this library reads version ${MICROSCALE_VERSION}`);
    layouts.add('microscale');
    for (const [key, text] of Object.entries(metadata)) {
      if (!key.startsWith(MICROSCALE_TENSOR_PREFIX)) continue;
      const name = key.slice(MICROSCALE_TENSOR_PREFIX.length);
      let meta: MicroscaleTensorMeta;
      try {
        meta = JSON.parse(text) as MicroscaleTensorMeta;
      } catch {
        throw new ModelFileError(file, 'malformed', `metadata ${quoted(key)} is not JSON`, name);
      }
      let format;
      try {
        format = parseFormat(meta.format);
      } catch (err) {
        throw new ModelFileError(file, 'malformed', (err as Error).message, name);
      }
      const n = meta.shape.reduce((a, b) => a * b, 1);
      const opts: QuantizeOptions = { shape: meta.shape, axis: meta.axis, rounding: meta.rounding as QuantizeOptions['rounding'], seed: meta.seed, preset: meta.preset as QuantizeOptions['preset'], flushSubnormalBlocks: meta.flushSubnormalBlocks };
      if (format.granularity === 'block') opts.blockSize = meta.blockSize;
      if (format.scheme === 'pow2') {
        opts.scaleMode = meta.scaleMode as QuantizeOptions['scaleMode'];
        opts.scaleBits = meta.scaleBits;
      }
      if (format.amaxUpperBound !== null && meta.scaleUpperBound !== null) opts.scaleUpperBound = meta.scaleUpperBound;
      const options = make(name, () => resolveOptions(format, n, opts));
      const scaleEl = scaleElementOf(format, options);
      const width = scaleBytes(scaleEl);
      // each part must have the dtype the writer gives it for this format and these options
      const specs = new Map(microscaleParts(name, format, options).map((p) => [p.key, p]));
      const part = async (k: PartSpec['key']): Promise<Uint8Array> => {
        const partName = meta.parts[k];
        if (!partName) throw new ModelFileError(file, 'malformed', `metadata lists no ${quoted(k)} part`, name);
        const spec = specs.get(k)!;
        const got = await bytesOf(partName, name, [spec.dtype]);
        if (got.bytes.length !== spec.byteLength) {
          throw new ModelFileError(file, 'size-mismatch', `part ${quoted(partName)} holds ${got.bytes.length} bytes; ${format.name} [${meta.shape.join(', ')}] needs ${spec.byteLength}`, name);
        }
        return got.bytes;
      };
      const codes = await part('codes');
      const count = (b: Uint8Array) => b.length / Math.max(width, 1);
      const scales = scaleEl ? await part('scales') : new Uint8Array(0);
      const offsets = format.scaleRule === 'minMax' ? await part('offsets') : null;
      const subScales = format.subBlock ? await part('subScales') : new Uint8Array(0);
      const tensorScale = format.tensorScale ? new DataView((await part('tensorScale')).buffer).getFloat32(0, true) : 1;
      tensors.set(name, make(name, () => new QuantizedTensor({
        format,
        options,
        codes,
        scales: scalesFrom(scales, width, count(scales), newScaleArray(scaleEl, count(scales))),
        subScales,
        offsets: offsets ? scalesFrom(offsets, width, count(offsets), newScaleArray(scaleEl, count(offsets))) : new Uint8Array(0),
        tensorScale,
      })));
    }
  }

  const mxfp4 = getFormat('mxfp4');
  const nvfp4 = getFormat('nvfp4');
  for (const [name, e] of entries) {
    if (used.has(name)) continue;
    const gpt = /^(.*)_blocks$/s.exec(name);
    if (gpt && entries.has(partNames.gptOss(gpt[1]!).scales) && e.dtype === 'U8' && e.shape.length >= 3 && e.shape[e.shape.length - 1] === 16) {
      const w = gpt[1]!;
      const blocks = (await bytesOf(name, w, ['U8'])).bytes;
      const sc = await bytesOf(partNames.gptOss(w).scales, w, ['U8', 'F8_E8M0']);
      const shape = [...e.shape.slice(0, -2), e.shape[e.shape.length - 2]! * 32];
      const options = make(w, () => resolveOptions(mxfp4, blocks.length * 2, { shape }));
      tensors.set(w, make(w, () => new QuantizedTensor({ format: mxfp4, options, codes: blocks, scales: sc.bytes, subScales: new Uint8Array(0), offsets: new Uint8Array(0), tensorScale: 1 })));
      layouts.add('gpt-oss');
      continue;
    }
    const unused = (...names: string[]) => names.every((n) => entries.has(n) && !used.has(n));
    const ctBase = /^(.*)_packed$/s.exec(name)?.[1];
    const ct = ctBase !== undefined ? partNames.compressed(ctBase) : null;
    const mo = partNames.modelopt(name);
    const found = ct && unused(ct.weight, ct.scale, ct.global)
      ? { w: ctBase!, weight: ct.weight, scale: ct.scale, global: ct.global, reciprocal: true, layout: 'compressed-tensors' }
      : e.dtype === 'U8' && unused(mo.weight, mo.scale, mo.scale2)
        ? { w: name, weight: mo.weight, scale: mo.scale, global: mo.scale2, reciprocal: false, layout: 'modelopt' }
        : null;
    if (!found) continue;
    const codes = (await bytesOf(found.weight, found.w, ['U8'])).bytes;
    const wEntry = entries.get(found.weight)!;
    if (wEntry.shape.length !== 2) throw new ModelFileError(file, 'malformed', `NVFP4 weight must be 2-D [N, K/2]; got [${wEntry.shape.join(', ')}]`, found.w);
    const scales = (await bytesOf(found.scale, found.w, ['F8_E4M3'])).bytes;
    const g = new DataView((await bytesOf(found.global, found.w, ['F32'])).bytes.buffer).getFloat32(0, true);
    const shape = [wEntry.shape[0]!, wEntry.shape[1]! * 2];
    const options = make(found.w, () => resolveOptions(nvfp4, shape[0]! * shape[1]!, { shape }));
    const tensorScale = found.reciprocal ? Math.fround(1 / g) : g;
    tensors.set(found.w, make(found.w, () => new QuantizedTensor({ format: nvfp4, options, codes, scales, subScales: new Uint8Array(0), offsets: new Uint8Array(0), tensorScale })));
    layouts.add(found.layout);
  }
  return { layouts: [...layouts], tensors, plain: [...entries.keys()].filter((n) => !used.has(n)) };
}
