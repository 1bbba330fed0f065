// The GGUF writer. GGUF in: every metadata key/value is copied byte for byte (general.file_type
// updated), every kept tensor is copied as stored. Other inputs: a generic GGUF whose metadata says
// where the tensors came from. Tensors are streamed one at a time; sizes are known from shapes, so
// the header is written first.
import { readGgufHeader, readGgufMetadataValue, type GgufHeader } from '../../bdr-explorer/readers/gguf.js';
import type { TensorInfo } from '../../bdr-explorer/readers/types.js';
import { OptionError, ShapeError } from '../../formats/errors.js';
import type { ByteSink, ModelWriter, TensorPlanEntry, WriteContext, WriteSummary } from '../types.js';
import { tensorToGguf } from './blocks.js';
import { encodeGgufHeader, type GgufKv, type GgufTensorLayout } from './encode.js';
import { ggufTarget, integerTarget, targetByteLength, type GgufTarget } from './targets.js';
import { quoted } from '../quote.js';

const LAYOUT = 'llama.cpp';
const DEFAULT_ALIGNMENT = 32;

/** Matmul weights for which llama.cpp loads an optional per-tensor `.scale` (NVFP4's second level). */
const SCALED_WEIGHT = /^(blk\.\d+\.(attn_(q|k|v|output|qkv|gate)|ffn_(gate|down|up)(_shexp|_exps)?|ssm_(in|out|alpha|beta)|nextn\.(eh_proj|shared_head_head))|output)\.weight$/;

/** The companion tensor's name: `blk.0.attn_q.weight` → `blk.0.attn_q.scale`. */
export function scaleTensorName(weight: string): string {
  return weight.endsWith('.weight') ? `${weight.slice(0, -'.weight'.length)}.scale` : `${weight}.scale`;
}

/** Plain dtypes of other readers that GGUF stores exactly, by ggml type id. */
const PLAIN_COPY: Readonly<Record<string, GgufTarget>> = {
  f32: ggufTarget('fp32'),
  f16: ggufTarget('fp16'),
  bf16: ggufTarget('bf16'),
};
const F32 = PLAIN_COPY.f32!;

/** One tensor of the output file, in order. */
interface Planned {
  readonly name: string;
  readonly dims: readonly number[];
  readonly typeId: number;
  readonly byteLength: number;
  /** How its bytes are made. */
  readonly source:
    | { readonly kind: 'copy'; readonly fileOffset: number }
    | { readonly kind: 'convert'; readonly tensor: string; readonly target: GgufTarget; readonly entry: TensorPlanEntry }
    | { readonly kind: 'scale'; readonly of: string; readonly count: number };
}

interface Prepared {
  readonly header: GgufHeader | null;
  readonly plan: readonly TensorPlanEntry[];
  readonly tensors: readonly Planned[];
  readonly alignment: number;
}

/** GGUF dims (innermost first) of an outermost-first shape; a scalar becomes one element. */
const dimsOf = (shape: readonly number[]): number[] => (shape.length === 0 ? [1] : shape.slice().reverse());

async function prepare(ctx: WriteContext): Promise<Prepared & { metadataBytes: Uint8Array | null }> {
  const infos = ctx.reader.tensors();
  if (ctx.plan.length !== infos.length || ctx.plan.some((e, i) => e.name !== infos[i]!.name)) {
    throw new OptionError('the plan must have one entry per tensor of the source, in the source order; build it with buildPlan()');
  }
  if (ctx.layout !== undefined && ctx.layout !== LAYOUT) throw new OptionError(`GGUF has one layout, ${quoted(LAYOUT)}; drop --layout ${ctx.layout}`);
  const isGguf = ctx.reader.format === 'gguf';
  const header = isGguf ? await readGgufHeader(ctx.source) : null;
  const metadataBytes = header ? await ctx.source.read(header.metadataStart, header.metadataEnd - header.metadataStart) : null;
  const archEntry = header?.metadata.find((m) => m.key === 'general.architecture');
  const archValue = archEntry ? await readGgufMetadataValue(ctx.source, archEntry) : null;
  const arch = typeof archValue === 'string' ? archValue : null;
  const names = new Set(infos.map((t) => t.name));
  const tiedOutput = arch !== null && !names.has('output.weight');
  const plan: TensorPlanEntry[] = [];
  const tensors: Planned[] = [];
  infos.forEach((info: TensorInfo, i) => {
    let entry = ctx.plan[i]!;
    const stored = header?.tensors[i];
    if (entry.format !== null) {
      const target = ggufTarget(entry.format);
      const row = info.shape[info.shape.length - 1] ?? 1;
      if (row % target.blockElements !== 0) {
        throw new ShapeError(`tensor ${quoted(info.name)}: rows of ${row} elements are not whole ${target.blockElements}-element ${target.typeName} blocks, which llama.cpp refuses; keep it (--exclude) or pick a format with smaller blocks`);
      }
      const blockSize = entry.options.blockSize;
      const native = target.kind === 'ocp-mxfp4' ? 32 : target.kind === 'ocp-nvfp4' ? 16 : undefined;
      if (native !== undefined && blockSize !== undefined && blockSize !== native) {
        throw new OptionError(`tensor ${quoted(info.name)}: ggml ${target.typeName} blocks hold ${native}-element ${entry.format} blocks; drop --block-size ${blockSize}`);
      }
      if (entry.options.axis !== undefined && entry.options.axis !== -1 && entry.options.axis !== info.shape.length - 1) {
        throw new OptionError(`tensor ${quoted(info.name)}: ggml blocks run along the last axis; drop the axis option`);
      }
      if (target.kind === 'ocp-nvfp4' && arch !== null && !SCALED_WEIGHT.test(info.name)) {
        entry = { name: info.name, format: null, options: {}, reason: `llama.cpp reads no per-tensor .scale for ${info.name}, so nvfp4's second-level scale has nowhere to go; use ggml_nvfp4 for it` };
      } else if (target.typeId === 40 && tiedOutput && info.name === 'token_embd.weight') {
        entry = { name: info.name, format: null, options: {}, reason: 'token_embd doubles as the output layer (no output.weight), and llama.cpp refuses an NVFP4 tied output' };
      } else {
        plan.push(entry);
        tensors.push({ name: info.name, dims: dimsOf(info.shape), typeId: target.typeId, byteLength: targetByteLength(target, info.elements), source: { kind: 'convert', tensor: info.name, target, entry } });
        if (target.kind === 'ocp-nvfp4') {
          const scaleName = scaleTensorName(info.name);
          if (names.has(scaleName)) throw new OptionError(`tensor ${quoted(info.name)}: its NVFP4 scale tensor ${quoted(scaleName)} already exists in the source; keep one of them`);
          const experts = /_exps\.weight$/.test(info.name) && info.shape.length === 3 ? info.shape[0]! : 1;
          tensors.push({ name: scaleName, dims: [experts], typeId: 0, byteLength: 4 * experts, source: { kind: 'scale', of: info.name, count: experts } });
        }
        return;
      }
    }
    if (stored) {
      plan.push(entry);
      tensors.push({ name: info.name, dims: stored.dims, typeId: stored.typeId, byteLength: stored.byteLength, source: { kind: 'copy', fileOffset: stored.fileOffset } });
      return;
    }
    if (!info.readable) {
      throw new OptionError(`tensor ${quoted(info.name)}: its ${info.dtype} data cannot be read by microscale, so it cannot be copied into a GGUF from a ${ctx.reader.format} file`);
    }
    const same = info.floating ? PLAIN_COPY[info.dtype] : integerTarget(info.dtype);
    if (!same && !info.floating) {
      throw new OptionError(`tensor ${quoted(info.name)}: GGUF has no type for ${info.dtype}; drop the tensor from the source or convert it with another tool`);
    }
    const target = same ?? F32;
    const note = same ? (info.floating ? '' : `; ${info.dtype} stored as GGUF ${target.typeName}`) : `; ${info.dtype} stored as F32 (${info.dtype === 'f64' ? 'rounded to nearest' : 'exactly'})`;
    plan.push({ ...entry, reason: `${entry.reason ?? 'kept'}${note}` });
    tensors.push({ name: info.name, dims: dimsOf(info.shape), typeId: target.typeId, byteLength: targetByteLength(target, info.elements), source: { kind: 'convert', tensor: info.name, target, entry: { name: info.name, format: null, options: {} } } });
  });
  const seen = new Set<string>();
  for (const t of tensors) {
    if (seen.has(t.name)) throw new OptionError(`two output tensors are named ${quoted(t.name)}; rename one in the source`);
    seen.add(t.name);
  }
  return { header, metadataBytes, plan, tensors, alignment: header?.alignment ?? DEFAULT_ALIGNMENT };
}

/** llama_ftype of the output: the type holding the most quantized elements; null when none is quantized. */
function fileTypeOf(prepared: Prepared, infos: readonly TensorInfo[]): number | null {
  const elements = new Map<number, number>();
  const byName = new Map(infos.map((t) => [t.name, t]));
  for (const t of prepared.tensors) {
    if (t.source.kind !== 'convert' || t.source.entry.format === null) continue;
    const ft = t.source.target.fileType;
    elements.set(ft, (elements.get(ft) ?? 0) + byName.get(t.name)!.elements);
  }
  let best: number | null = null;
  let most = -1;
  for (const [ft, n] of elements) if (n > most) [best, most] = [ft, n];
  return best;
}

function metadataFor(ctx: WriteContext, prepared: Prepared & { metadataBytes: Uint8Array | null }): GgufKv[] {
  const fileType = fileTypeOf(prepared, ctx.reader.tensors());
  const { header, metadataBytes } = prepared;
  if (header && metadataBytes) {
    const kvs: GgufKv[] = header.metadata.map((m) => {
      if (m.key === 'general.file_type' && fileType !== null) return { key: m.key, value: { type: 'u32', value: fileType } };
      return { key: m.key, value: { type: 'raw', typeId: m.type, bytes: metadataBytes.subarray(m.valueStart - header.metadataStart, m.valueEnd - header.metadataStart) } };
    });
    if (fileType !== null && !header.metadata.some((m) => m.key === 'general.file_type')) kvs.push({ key: 'general.file_type', value: { type: 'u32', value: fileType } });
    return kvs;
  }
  const base = ctx.reader.file.replace(/^.*[\\/]/, '').replace(/\.[^.]*$/, '');
  return [
    { key: 'general.architecture', value: { type: 'string', value: 'unknown' } },
    { key: 'general.type', value: { type: 'string', value: 'model' } },
    { key: 'general.name', value: { type: 'string', value: base } },
    { key: 'general.quantized_by', value: { type: 'string', value: 'microscale' } },
    { key: 'general.file_type', value: { type: 'u32', value: fileType ?? 0 } },
    { key: 'microscale.source.file', value: { type: 'string', value: ctx.reader.file.replace(/^.*[\\/]/, '') } },
    { key: 'microscale.source.format', value: { type: 'string', value: ctx.reader.format } },
  ];
}

async function check(ctx: WriteContext): Promise<readonly TensorPlanEntry[]> {
  return (await prepare(ctx)).plan;
}

async function write(ctx: WriteContext, sink: ByteSink): Promise<WriteSummary> {
  const prepared = await prepare(ctx);
  const layouts: GgufTensorLayout[] = prepared.tensors.map(({ name, dims, typeId, byteLength }) => ({ name, dims, typeId, byteLength }));
  const { header, offsets, fileSize } = encodeGgufHeader(metadataFor(ctx, prepared), layouts, prepared.alignment);
  await sink.write(header);
  let written = header.length;
  const scales = new Map<string, number>();
  const total = prepared.tensors.length;
  for (let i = 0; i < total; i++) {
    const t = prepared.tensors[i]!;
    let bytes: Uint8Array;
    if (t.source.kind === 'copy') {
      bytes = await ctx.source.read(t.source.fileOffset, t.byteLength);
    } else if (t.source.kind === 'scale') {
      const s = scales.get(t.source.of)!;
      bytes = new Uint8Array(new Float32Array(t.source.count).fill(s).buffer);
    } else {
      const info = ctx.reader.tensor(t.source.tensor);
      const x = await ctx.reader.read(t.source.tensor);
      const out = await tensorToGguf(x, info.shape, t.source.target, t.source.entry.options, info.name, ctx.backend);
      if (out.tensorScale !== null) scales.set(info.name, out.tensorScale);
      bytes = out.bytes;
    }
    if (bytes.length !== t.byteLength) throw new Error(`GGUF writer: tensor ${quoted(t.name)} came out ${bytes.length} bytes, expected ${t.byteLength}`);
    await sink.write(bytes);
    written += bytes.length;
    const end = i + 1 < total ? header.length + offsets[i + 1]! : fileSize;
    if (end > written) {
      await sink.write(new Uint8Array(end - written));
      written = end;
    }
    ctx.onProgress?.(i + 1, total, t.name);
  }
  if (written !== fileSize) throw new Error(`GGUF writer: wrote ${written} bytes, expected ${fileSize}`);
  return {
    kind: 'gguf',
    layout: LAYOUT,
    bytesWritten: written,
    quantized: prepared.plan.filter((e) => e.format !== null).map((e) => e.name),
    kept: prepared.plan.filter((e) => e.format === null).map((e) => ({ name: e.name, reason: e.reason ?? 'kept as stored' })),
  };
}

/** Writes llama.cpp's GGUF (see docs/export.md). */
export const ggufWriter: ModelWriter = Object.freeze({ kind: 'gguf', layouts: Object.freeze([LAYOUT]), check, write });
