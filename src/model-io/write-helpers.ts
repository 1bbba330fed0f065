// Pieces every writer shares: matching the plan to the source's tensors, turning entries a writer
// cannot take into kept ones, and quantizing one tensor as its entry says.
import { quantize } from '../formats/api.js';
import { OptionError, ShapeError } from '../formats/errors.js';
import { resolveOptions, type ResolvedOptions } from '../formats/options.js';
import type { Format } from '../formats/format.js';
import { parseFormat } from '../formats/names.js';
import type { QuantizedTensor } from '../formats/quantized.js';
import type { TensorInfo } from '../bdr-explorer/readers/types.js';
import type { TensorPlanEntry, WriteContext } from './types.js';
import { quoted } from './quote.js';

/** A plan entry with the source tensor it names and, when it is quantized, the parsed format. */
export interface PlannedTensor {
  readonly info: TensorInfo;
  readonly entry: TensorPlanEntry;
  readonly format: Format | null;
}

/** An entry that keeps its tensor, with the reason. */
export function keptEntry(entry: TensorPlanEntry, reason: string): TensorPlanEntry {
  return Object.freeze({ name: entry.name, format: null, options: {}, reason });
}

/** The layout a run asks for, checked against the writer's list (the first is the default). */
export function chooseLayout(ctx: WriteContext, layouts: readonly string[], kind: string): string {
  const layout = ctx.layout ?? layouts[0]!;
  if (!layouts.includes(layout)) throw new OptionError(`${kind} has no layout ${quoted(layout)}; choose one of ${layouts.join(', ')}`);
  return layout;
}

/**
 * Match the plan to the source: every entry must name a tensor of the source once; tensors the plan
 * leaves out are kept. Entries whose format does not parse, or whose tensor is not real-valued
 * readable data, are errors (the plan builder decides those; a writer must not guess).
 */
export function matchPlan(ctx: WriteContext): PlannedTensor[] {
  const byName = new Map<string, TensorPlanEntry>();
  for (const e of ctx.plan) {
    if (!e || typeof e.name !== 'string') throw new OptionError('every plan entry needs a tensor name');
    if (byName.has(e.name)) throw new OptionError(`the plan lists tensor ${quoted(e.name)} twice; give each tensor one entry`);
    byName.set(e.name, e);
  }
  const infos = ctx.reader.tensors();
  const known = new Set(infos.map((t) => t.name));
  for (const name of byName.keys()) {
    if (!known.has(name)) throw new OptionError(`the plan names tensor ${quoted(name)}, which ${ctx.reader.file} does not have; list its tensors with \`microscale inspect\``);
  }
  return infos.map((info) => {
    const entry = byName.get(info.name) ?? { name: info.name, format: null, options: {}, reason: 'not in the plan' };
    if (entry.format === null) return { info, entry, format: null };
    let format: Format;
    try {
      format = parseFormat(entry.format);
    } catch (e) {
      throw new OptionError(`tensor ${quoted(info.name)}: ${(e as Error).message}`);
    }
    if (info.shape.length === 0) return { info, entry: keptEntry(entry, 'a scalar has no blocks to quantize'), format: null };
    if (!info.readable || !info.floating) {
      throw new OptionError(`tensor ${quoted(info.name)} is stored as ${info.dtype}, which cannot be quantized (${info.readable ? 'not real-valued' : 'not readable'}); keep it (format null)`);
    }
    return { info, entry, format };
  });
}

/** The entry's options resolved for its tensor (errors name the tensor), before anything is read. */
export function resolvePlanned(t: PlannedTensor, extra: Record<string, unknown> = {}): ResolvedOptions {
  try {
    return resolveOptions(t.format!, t.info.elements, { ...t.entry.options, ...extra, shape: t.info.shape });
  } catch (e) {
    if (e instanceof Error) e.message = `tensor ${quoted(t.info.name)} (${t.format!.name}): ${e.message}`;
    throw e;
  }
}

/** The entry's options resolved for its tensor, or, when the format cannot take the tensor's shape
 * along the default axis (a ShapeError: e.g. whole ggml blocks on a row of 3), the tensor kept with
 * that reason. Option errors, and shape errors of an axis the plan names, still throw. */
export function resolveOrKeep(t: PlannedTensor): { resolved: ResolvedOptions; kept: null } | { resolved: null; kept: PlannedTensor } {
  try {
    return { resolved: resolvePlanned(t), kept: null };
  } catch (e) {
    if (!(e instanceof ShapeError) || t.entry.options.axis !== undefined) throw e;
    const reason = `${t.format!.name} cannot take shape [${t.info.shape.join(', ')}]: ${e.message.replace(/^tensor "[^"]*" \([^)]*\): /, '')}`;
    return { resolved: null, kept: { ...t, entry: keptEntry(t.entry, reason), format: null } };
  }
}

/** Quantize a source tensor as its entry says; `extra` overrides options (the axis a runtime needs, a shared tensor scale). */
export async function quantizePlanned(ctx: WriteContext, t: PlannedTensor, values: Float32Array, extra: Record<string, unknown> = {}): Promise<QuantizedTensor> {
  const given = t.entry.options.shape;
  if (given && (given.length !== t.info.shape.length || given.some((d, i) => d !== t.info.shape[i]))) {
    throw new OptionError(`tensor ${quoted(t.info.name)}: the plan's shape [${given.join(', ')}] differs from the stored [${t.info.shape.join(', ')}]; drop the shape option`);
  }
  const options = { ...t.entry.options, ...extra, shape: t.info.shape };
  try {
    return ctx.backend ? await ctx.backend.quantize(values, t.format!, options) : quantize(values, t.format!, options);
  } catch (e) {
    if (e instanceof Error) e.message = `tensor ${quoted(t.info.name)} (${t.format!.name}): ${e.message}`;
    throw e;
  }
}

/** The module a weight belongs to: the name without a trailing `.weight` / `.bias`. */
export function moduleName(tensor: string): string {
  return tensor.replace(/\.(weight|bias)$/, '');
}
