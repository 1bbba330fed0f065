// The safetensors writer. Layouts:
//   microscale          every catalog format, lossless: codes, scales, microexponents and offsets as
//                       tensors (typed F4/F6/F8 where a dtype fits, U8 otherwise) and each tensor's
//                       format and options in __metadata__ (read back by readQuantizedSafetensors).
//   gpt-oss             MXFP4 as OpenAI's checkpoints and transformers' mxfp4 loader read it.
//   modelopt            NVFP4 as NVIDIA ModelOpt exports it (hf_quant_config.json beside it).
//   compressed-tensors  NVFP4 as llm-compressor exports it (quantization_config in config.json).
// The header is computed from the plan before any tensor is quantized, then tensors stream out one
// at a time in source order.
import { encodeElement } from '../../formats/reference/element-codec.js';
import { ELEMENTS } from '../../formats/element.js';
import { OptionError } from '../../formats/errors.js';
import { optionsRecord, type ResolvedOptions } from '../../formats/options.js';
import type { QuantizedTensor, ScaleArray } from '../../formats/quantized.js';
import type { PlainDtype } from '../../bdr-explorer/readers/dtypes.js';
import type { ByteSink, ModelWriter, Sidecar, TensorPlanEntry, WriteContext, WriteSummary } from '../types.js';
import { chooseLayout, keptEntry, matchPlan, moduleName, quantizePlanned, resolveOrKeep, resolvePlanned, type PlannedTensor } from '../write-helpers.js';
import { SAFETENSORS_DTYPE_BITS, encodeSafetensorsHeader, readSafetensorsLayout, safetensorsByteLength, type SafetensorsEntry } from './file.js';
import {
  MICROSCALE_LAYOUT_KEY,
  MICROSCALE_TENSOR_PREFIX,
  MICROSCALE_VERSION,
  SAFETENSORS_LAYOUTS,
  fusedGroup,
  isMxfp4,
  isNvfp4,
  microscaleParts,
  nvfp4TensorScale,
  partNames,
  type MicroscaleTensorMeta,
  type PartSpec,
  type SafetensorsLayoutName,
} from './layouts.js';
import { quoted } from '../quote.js';

/** Plain dtypes of the readers and the safetensors dtype a kept tensor is written as. */
const KEPT_DTYPES: Partial<Record<PlainDtype, string>> = {
  f64: 'F64',
  f32: 'F32',
  f16: 'F16',
  bf16: 'BF16',
  f8_e4m3: 'F8_E4M3',
  f8_e5m2: 'F8_E5M2',
  f8_e8m0: 'F8_E8M0',
  f6_e2m3: 'F6_E2M3',
  f6_e3m2: 'F6_E3M2',
  f4_e2m1: 'F4',
  i64: 'I64',
  u64: 'U64',
  i32: 'I32',
  u32: 'U32',
  i16: 'I16',
  u16: 'U16',
  i8: 'I8',
  u8: 'U8',
  bool: 'BOOL',
};

/** One source tensor's contribution to the file: its header entries and a producer of their bytes. */
interface Piece {
  readonly source: PlannedTensor;
  readonly entries: SafetensorsEntry[];
  /** The microscale layout's parts (for its metadata). */
  readonly parts?: readonly PartSpec[];
  /** Bytes of each entry, in order. */
  bytes(): Promise<Uint8Array[]>;
}

function scaleBytesLE(a: ScaleArray): Uint8Array {
  if (a.BYTES_PER_ELEMENT === 1) return a as Uint8Array;
  const out = new Uint8Array(a.length * a.BYTES_PER_ELEMENT);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) {
    if (a.BYTES_PER_ELEMENT === 2) dv.setUint16(2 * i, a[i]!, true);
    else dv.setUint32(4 * i, a[i]!, true);
  }
  return out;
}

function f32Bytes(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(4 * values.length);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => dv.setFloat32(4 * i, v, true));
  return out;
}

/** Re-encode float32 values read from a non-safetensors source in their stored dtype (exact: the
 * readers decode every dtype listed here exactly, integers up to 2^24). */
function encodeKept(values: Float32Array, dtype: string, name: string, file: string): Uint8Array {
  const n = values.length;
  const intRange: Record<string, [number, number, number]> = {
    I64: [8, -(2 ** 63), 2 ** 63], U64: [8, 0, 2 ** 64], I32: [4, -(2 ** 31), 2 ** 31], U32: [4, 0, 2 ** 32],
    I16: [2, -(2 ** 15), 2 ** 15], U16: [2, 0, 2 ** 16], I8: [1, -128, 128], U8: [1, 0, 256], BOOL: [1, 0, 2],
  };
  if (dtype === 'F32') return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + 4 * n));
  if (dtype === 'F64') {
    const out = new Float64Array(n);
    out.set(values);
    return new Uint8Array(out.buffer);
  }
  const r = intRange[dtype];
  if (r) {
    const [size] = r;
    const out = new Uint8Array(size * n);
    const dv = new DataView(out.buffer);
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      if (Math.abs(v) > 2 ** 24) {
        throw new OptionError(`tensor ${quoted(name)} of ${file}: integer ${v} is beyond 2^24, which the float32 read of a non-safetensors source cannot carry exactly; keep such tensors in the source format`);
      }
      if (size === 8) dv.setBigInt64(8 * i, BigInt(v), true);
      else if (size === 4) dtype === 'I32' ? dv.setInt32(4 * i, v, true) : dv.setUint32(4 * i, v, true);
      else if (size === 2) dtype === 'I16' ? dv.setInt16(2 * i, v, true) : dv.setUint16(2 * i, v, true);
      else dtype === 'I8' ? dv.setInt8(i, v) : dv.setUint8(i, v);
    }
    return out;
  }
  if (dtype === 'BF16') {
    const bits = new Uint32Array(values.buffer, values.byteOffset, n);
    const out = new Uint16Array(n);
    for (let i = 0; i < n; i++) out[i] = bits[i]! >>> 16;
    return new Uint8Array(out.buffer);
  }
  const el = { F16: ELEMENTS.fp16, F8_E4M3: ELEMENTS.fp8_e4m3, F8_E5M2: ELEMENTS.fp8_e5m2, F8_E8M0: ELEMENTS.e8m0, F6_E2M3: ELEMENTS.fp6_e2m3, F6_E3M2: ELEMENTS.fp6_e3m2, F4: ELEMENTS.fp4_e2m1 }[dtype];
  if (!el) throw new Error(`internal: no encoder for kept dtype ${dtype}`);
  const codes = new Uint32Array(n);
  for (let i = 0; i < n; i++) codes[i] = encodeElement(el, values[i]!, 'rne');
  if (el.bits === 16) {
    const out = new Uint8Array(2 * n);
    for (let i = 0; i < n; i++) {
      out[2 * i] = codes[i]! & 0xff;
      out[2 * i + 1] = codes[i]! >>> 8;
    }
    return out;
  }
  const out = new Uint8Array(Math.ceil((n * el.bits) / 8));
  for (let i = 0; i < n; i++) {
    const bit = i * el.bits;
    for (let b = 0; b < el.bits; b++) if ((codes[i]! >>> b) & 1) out[(bit + b) >> 3]! |= 1 << ((bit + b) & 7);
  }
  return out;
}

/** Why a tensor of this shape cannot take the layout, or null. */
function shapeProblem(layout: SafetensorsLayoutName, t: PlannedTensor): string | null {
  const shape = t.info.shape;
  const rank = shape.length;
  const K = shape[rank - 1] ?? 0;
  if (layout === 'gpt-oss') {
    if (rank < 2) return `gpt-oss stores MXFP4 blocks of matrices (rank ≥ 2); this tensor has rank ${rank}`;
    if (K % 32 !== 0) return `gpt-oss stores whole 32-element blocks; the last axis has length ${K}`;
  } else {
    if (rank !== 2) return `${layout} stores NVFP4 for 2-D Linear weights [N, K]; this tensor has rank ${rank}`;
    if (!t.info.name.endsWith('.weight')) return `${layout} quantizes Linear weights (names ending in ".weight")`;
    if (K % 16 !== 0) return `${layout} stores whole 16-element blocks; K = ${K}`;
  }
  return null;
}

/** Errors for a format or options the layout cannot express at all (the user asked for something else). */
function checkLayoutFormat(layout: SafetensorsLayoutName, t: PlannedTensor, opts: ResolvedOptions): void {
  const f = t.format!;
  const rank = t.info.shape.length;
  if (layout === 'gpt-oss') {
    if (!isMxfp4(f)) throw new OptionError(`layout gpt-oss stores MXFP4 only, but tensor ${quoted(t.info.name)} is planned as ${f.name}; plan mxfp4, or use --layout microscale for any format`);
    if (!isMxfp4(f, opts)) throw new OptionError(`tensor ${quoted(t.info.name)}: gpt-oss reads 32-element blocks with 8-bit E8M0 scales; drop the blockSize/scaleBits options`);
  } else if (layout === 'modelopt' || layout === 'compressed-tensors') {
    if (!isNvfp4(f)) throw new OptionError(`layout ${layout} stores NVFP4 only, but tensor ${quoted(t.info.name)} is planned as ${f.name}; plan nvfp4, or use --layout microscale for any format`);
    if (!isNvfp4(f, opts)) throw new OptionError(`tensor ${quoted(t.info.name)}: ${layout} reads 16-element blocks; drop the blockSize option`);
  }
  if (layout !== 'microscale' && rank > 0 && opts.axis !== rank - 1) {
    throw new OptionError(`tensor ${quoted(t.info.name)}: ${layout} stores blocks along the last axis (K); drop the axis option`);
  }
}

async function checkPlan(ctx: WriteContext, layout: SafetensorsLayoutName): Promise<PlannedTensor[]> {
  const planned = matchPlan(ctx);
  return planned.map((t) => {
    if (!t.format) {
      if (!t.info.readable && ctx.reader.format !== 'safetensors') {
        throw new OptionError(`tensor ${quoted(t.info.name)} (${t.info.dtype}) of ${ctx.reader.file} cannot be read, so it cannot be copied into safetensors; convert the model with its own tools first`);
      }
      return t;
    }
    const { resolved: opts, kept } = resolveOrKeep(t);
    if (kept) return kept;
    checkLayoutFormat(layout, t, opts);
    const problem = layout === 'microscale' ? null : shapeProblem(layout, t);
    if (problem) return { ...t, entry: keptEntry(t.entry, problem), format: null };
    return t;
  });
}

/** Tensor scales shared by projections a loader fuses: for each fused group, the scale of the group's
 * combined |max| (or the one the plan gives, which must then agree across the group). */
async function sharedTensorScales(ctx: WriteContext, planned: readonly PlannedTensor[]): Promise<Map<string, number>> {
  const groups = new Map<string, PlannedTensor[]>();
  for (const t of planned) {
    const g = t.format ? fusedGroup(t.info.name) : null;
    if (g) groups.set(g, [...(groups.get(g) ?? []), t]);
  }
  const scales = new Map<string, number>();
  for (const members of groups.values()) {
    if (members.length < 2) continue;
    const given = [...new Set(members.map((m) => m.entry.options.tensorScale).filter((v) => v !== undefined))];
    let scale: number;
    if (given.length > 1) throw new OptionError(`fused projections ${members.map((m) => m.info.name).join(', ')} must share one tensor scale; the plan gives ${given.join(' and ')}`);
    if (given.length === 1) scale = given[0]!;
    else {
      let amax = 0;
      for (const m of members) {
        const v = await ctx.reader.read(m.info.name);
        for (let i = 0; i < v.length; i++) {
          const a = Math.abs(v[i]!);
          if (a > amax && a !== Infinity) amax = a;
        }
      }
      scale = nvfp4TensorScale(amax);
    }
    for (const m of members) scales.set(m.info.name, scale);
  }
  return scales;
}

const ctGlobal = (tensorScale: number) => Math.fround(1 / tensorScale);

/** The pieces of one planned tensor in the chosen layout. */
function pieceOf(ctx: WriteContext, layout: SafetensorsLayoutName, t: PlannedTensor, shared: Map<string, number>, keptRaw: ReadonlyMap<string, { offset: number; length: number; dtype: string }> | null): Piece {
  const name = t.info.name;
  if (!t.format) {
    const raw = keptRaw?.get(name);
    if (raw) {
      return { source: t, entries: [{ name, dtype: raw.dtype, shape: t.info.shape, byteLength: raw.length }], bytes: async () => [await ctx.source.read(raw.offset, raw.length)] };
    }
    // a dtype safetensors has is kept; others (ggml blocks, affine u8, …) become their float32 values,
    // as do sub-byte tensors whose element count does not fill whole bytes
    const stored = KEPT_DTYPES[t.info.dtype as PlainDtype];
    const fits = stored !== undefined && (t.info.elements * SAFETENSORS_DTYPE_BITS[stored]!) % 8 === 0;
    const out = fits ? stored : 'F32';
    const len = safetensorsByteLength(out, t.info.shape, name);
    return {
      source: t,
      entries: [{ name, dtype: out, shape: t.info.shape, byteLength: len }],
      bytes: async () => [encodeKept(await ctx.reader.read(name), out, name, ctx.reader.file)],
    };
  }
  let tensorScale = shared.get(name);
  if (layout === 'compressed-tensors') {
    // the file stores the reciprocal (global scale); quantize with the scale that reciprocal reads back as
    const base = tensorScale ?? t.entry.options.tensorScale;
    if (base !== undefined) tensorScale = Math.fround(1 / ctGlobal(base));
  }
  const extra = tensorScale !== undefined ? { tensorScale } : {};
  const opts = resolvePlanned(t, extra);
  const quantized = async (): Promise<QuantizedTensor> => {
    const values = await ctx.reader.read(name);
    if (layout === 'compressed-tensors' && tensorScale === undefined) {
      let amax = 0;
      for (let i = 0; i < values.length; i++) {
        const a = Math.abs(values[i]!);
        if (a > amax && a !== Infinity) amax = a;
      }
      return quantizePlanned(ctx, t, values, { tensorScale: Math.fround(1 / ctGlobal(nvfp4TensorScale(amax))) });
    }
    return quantizePlanned(ctx, t, values, extra);
  };
  const shape = t.info.shape;
  const K = shape[shape.length - 1] ?? 0;
  const lead = shape.slice(0, -1);
  const n = t.info.elements;
  switch (layout) {
    case 'microscale': {
      const parts = microscaleParts(name, t.format, opts);
      const bytesOf = (q: QuantizedTensor, key: PartSpec['key']): Uint8Array => {
        switch (key) {
          case 'codes':
            return q.codes;
          case 'scales':
            return scaleBytesLE(q.scales);
          case 'offsets':
            return scaleBytesLE(q.offsets);
          case 'subScales':
            return q.subScales;
          case 'tensorScale':
            return f32Bytes([q.tensorScale]);
        }
      };
      return {
        source: t,
        parts,
        entries: parts.map((p) => ({ name: p.name, dtype: p.dtype, shape: p.shape, byteLength: p.byteLength })),
        bytes: async () => {
          const q = await quantized();
          return parts.map((p) => bytesOf(q, p.key));
        },
      };
    }
    case 'gpt-oss': {
      const names = partNames.gptOss(name);
      return {
        source: t,
        entries: [
          { name: names.blocks, dtype: 'U8', shape: [...lead, K / 32, 16], byteLength: n / 2 },
          { name: names.scales, dtype: 'U8', shape: [...lead, K / 32], byteLength: n / 32 },
        ],
        bytes: async () => {
          const q = await quantized();
          return [q.codes, q.scales as Uint8Array];
        },
      };
    }
    case 'modelopt':
    case 'compressed-tensors': {
      const names = layout === 'modelopt' ? partNames.modelopt(name) : partNames.compressed(name);
      const last = layout === 'modelopt' ? partNames.modelopt(name).scale2 : partNames.compressed(name).global;
      return {
        source: t,
        entries: [
          { name: names.weight, dtype: 'U8', shape: [shape[0]!, K / 2], byteLength: n / 2 },
          { name: names.scale, dtype: 'F8_E4M3', shape: [shape[0]!, K / 16], byteLength: n / 16 },
          { name: last, dtype: 'F32', shape: layout === 'modelopt' ? [] : [1], byteLength: 4 },
        ],
        bytes: async () => {
          const q = await quantized();
          const global = layout === 'modelopt' ? q.tensorScale : ctGlobal(q.tensorScale);
          return [q.codes, q.scales as Uint8Array, f32Bytes([global])];
        },
      };
    }
  }
}

/** The config files a layout's loaders read, from the kept tensors' modules. */
function sidecarsOf(layout: SafetensorsLayoutName, planned: readonly PlannedTensor[]): Sidecar[] {
  const keptModules = [...new Set(planned.filter((t) => !t.format && t.info.shape.length >= 2).map((t) => moduleName(t.info.name)))];
  switch (layout) {
    case 'microscale':
      return [];
    case 'gpt-oss':
      return [{ file: 'config.json', mergeKey: 'quantization_config', json: { quant_method: 'mxfp4', modules_to_not_convert: keptModules } }];
    case 'modelopt':
      return [
        {
          file: 'hf_quant_config.json',
          json: {
            producer: { name: 'microscale', version: MICROSCALE_VERSION },
            quantization: { quant_algo: 'NVFP4', kv_cache_quant_algo: null, group_size: 16, exclude_modules: keptModules },
          },
        },
      ];
    case 'compressed-tensors':
      return [
        {
          file: 'config.json',
          mergeKey: 'quantization_config',
          json: {
            quant_method: 'compressed-tensors',
            format: 'nvfp4-pack-quantized',
            quantization_status: 'compressed',
            config_groups: {
              group_0: {
                targets: ['Linear'],
                weights: { num_bits: 4, type: 'float', strategy: 'tensor_group', group_size: 16, symmetric: true, dynamic: false },
                input_activations: null,
                output_activations: null,
              },
            },
            ignore: keptModules,
          },
        },
      ];
  }
}

/** The microscale layout's `__metadata__`: the layout version, and per quantized tensor its format,
 * resolved options and part names. */
function metadataOf(layout: SafetensorsLayoutName, planned: readonly PlannedTensor[], pieces: readonly Piece[]): Record<string, string> {
  if (layout !== 'microscale') return {};
  const meta: Record<string, string> = { [MICROSCALE_LAYOUT_KEY]: MICROSCALE_VERSION };
  pieces.forEach((piece, i) => {
    const t = planned[i]!;
    if (!t.format) return;
    const o = resolvePlanned(t);
    const parts: Record<string, string> = {};
    for (const p of piece.parts!) parts[p.key] = p.name;
    meta[MICROSCALE_TENSOR_PREFIX + t.info.name] = JSON.stringify({
      format: t.format.name,
      ...optionsRecord(o),
      parts,
    } satisfies MicroscaleTensorMeta);
  });
  return meta;
}

export const safetensorsWriter: ModelWriter = {
  kind: 'safetensors',
  layouts: SAFETENSORS_LAYOUTS,

  async check(ctx: WriteContext): Promise<readonly TensorPlanEntry[]> {
    const layout = chooseLayout(ctx, SAFETENSORS_LAYOUTS, 'safetensors') as SafetensorsLayoutName;
    return (await checkPlan(ctx, layout)).map((t) => t.entry);
  },

  async write(ctx: WriteContext, sink: ByteSink): Promise<WriteSummary> {
    const layout = chooseLayout(ctx, SAFETENSORS_LAYOUTS, 'safetensors') as SafetensorsLayoutName;
    const planned = await checkPlan(ctx, layout);
    const keptRaw = ctx.reader.format === 'safetensors' ? (await readSafetensorsLayout(ctx.source)).entries : null;
    const shared = layout === 'modelopt' || layout === 'compressed-tensors' ? await sharedTensorScales(ctx, planned) : new Map<string, number>();
    const pieces = planned.map((t) => pieceOf(ctx, layout, t, shared, keptRaw));
    const entries = pieces.flatMap((p) => p.entries);
    let written = 0;
    const emit = async (chunk: Uint8Array) => {
      await sink.write(chunk);
      written += chunk.length;
    };
    const header = encodeSafetensorsHeader(entries, metadataOf(layout, planned, pieces));
    await emit(header);
    const quantizedNames: string[] = [];
    const kept: { name: string; reason: string }[] = [];
    for (const [i, piece] of pieces.entries()) {
      const t = planned[i]!;
      const bytes = await piece.bytes();
      bytes.forEach((b, j) => {
        if (b.length !== piece.entries[j]!.byteLength) throw new Error(`internal: ${piece.entries[j]!.name} produced ${b.length} bytes, header says ${piece.entries[j]!.byteLength}`);
      });
      for (const b of bytes) await emit(b);
      if (t.format) quantizedNames.push(t.info.name);
      else kept.push({ name: t.info.name, reason: t.entry.reason ?? 'kept as stored' });
      ctx.onProgress?.(i + 1, pieces.length, t.info.name);
    }
    return { kind: 'safetensors', layout, bytesWritten: written, quantized: quantizedNames, kept, sidecars: sidecarsOf(layout, planned) };
  },
};

