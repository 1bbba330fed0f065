// Which format each tensor of a model gets: from one --format, name filters, a size floor and a
// JSON plan of name patterns (mixed precision). Tensors that should not or cannot be quantized
// keep their stored dtype, each with the reason the command prints.
import type { TensorInfo } from '../bdr-explorer/readers/types.js';
import { OptionError } from '../formats/errors.js';
import type { Format } from '../formats/format.js';
import { parseFormat } from '../formats/names.js';
import { resolveOptions, type Preset, type QuantizeOptions } from '../formats/options.js';
import type { OutputKind, TensorPlanEntry } from './types.js';

/** A --plan file: tensor-name regular expressions mapped to a format, or to null / "keep" to keep
 * matching tensors as stored. The first matching pattern (in file order) wins. */
export type PlanMap = Readonly<Record<string, string | null>>;

export interface PlanOptions {
  /** Format for every tensor the filters select (unless `plan` names one). */
  format?: string;
  /** Only tensors whose name matches this regular expression are quantized. */
  tensors?: string;
  /** Tensors whose name matches this regular expression keep their dtype. */
  exclude?: string;
  /** Tensors with fewer elements keep their dtype. Default 0. */
  minElements?: number;
  /** Mixed precision: name patterns → format (see {@link PlanMap}). */
  plan?: PlanMap;
  /** Preset for every quantized tensor; default `ggml` for ggml types, the format's default otherwise. */
  preset?: Preset;
  /** Block size for formats whose block may change. */
  blockSize?: number;
  /** The output kind the plan is for. For GGUF (and an unnamed kind) the plan keeps tensors whose
   * rows are not whole blocks; other kinds leave shape limits to their writer's check. */
  kind?: OutputKind;
}

/** GGUF's dtype spellings accepted as format names. */
const FORMAT_ALIASES: ReadonlyMap<string, string> = new Map([
  ['f32', 'fp32'],
  ['f16', 'fp16'],
]);

/** A format name with GGUF's `f32`/`f16` spellings accepted. */
export function normalizeFormatName(name: string): string {
  const t = name.trim();
  return FORMAT_ALIASES.get(t.toLowerCase()) ?? t;
}

function compile(pattern: string, what: string): RegExp {
  try {
    return new RegExp(pattern);
  } catch (e) {
    throw new OptionError(`${what} ${JSON.stringify(pattern)} is not a valid regular expression (${(e as Error).message})`);
  }
}

/** Check a parsed --plan JSON value: an object whose values are format names, null or "keep". */
export function checkPlanMap(value: unknown, file = '--plan'): PlanMap {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new OptionError(`${file} must be a JSON object mapping tensor-name patterns to formats, e.g. {"ffn_down": "q8_0", ".*": "q4_0"}`);
  }
  const out: Record<string, string | null> = {};
  for (const [pattern, format] of Object.entries(value as Record<string, unknown>)) {
    compile(pattern, `${file}: pattern`);
    if (format !== null && typeof format !== 'string') {
      throw new OptionError(`${file}: pattern ${JSON.stringify(pattern)} maps to ${JSON.stringify(format)}; use a format name, "keep" or null`);
    }
    if (typeof format === 'string' && format !== 'keep') parseFormat(normalizeFormatName(format));
    out[pattern] = format === 'keep' ? null : format;
  }
  return out;
}

/** Options for quantize with a format: the preset rule above and the block size where one applies. */
function optionsFor(format: Format, opts: PlanOptions): QuantizeOptions {
  const q: QuantizeOptions = {};
  const preset = opts.preset ?? (format.family === 'ggml' ? 'ggml' : undefined);
  if (preset !== undefined) q.preset = preset;
  if (opts.blockSize !== undefined && format.granularity === 'block' && !format.requiresWholeBlocks) q.blockSize = opts.blockSize;
  return q;
}

/** Why `format` cannot take a tensor of `info.shape` with `options`, or null when it can. */
function shapeProblem(info: TensorInfo, format: Format, options: QuantizeOptions): string | null {
  const row = info.shape[info.shape.length - 1]!;
  const whole = format.ggml?.blockElements ?? (format.name === 'nvfp4' ? 64 : format.name === 'mxfp4' ? 32 : 1);
  if (row % whole !== 0) return `rows of ${row} elements are not whole ${whole}-element ${format.name} blocks`;
  try {
    resolveOptions(format, info.elements, { ...options, shape: info.shape });
    return null;
  } catch (e) {
    if (e instanceof OptionError) throw e;
    return (e as Error).message;
  }
}

const kept = (info: TensorInfo, reason: string): TensorPlanEntry => Object.freeze({ name: info.name, format: null, options: Object.freeze({}), reason });

/**
 * One entry per tensor, in the reader's order. Kept (format null, with a reason): integer and
 * undecodable tensors, 1-D tensors (norms, biases), tensors outside --tensors or inside --exclude,
 * tensors below --min-elements, tensors the plan keeps, tensors already in a quantized ggml type,
 * and tensors whose shape the format cannot take.
 */
export function buildPlan(tensors: readonly TensorInfo[], opts: PlanOptions): TensorPlanEntry[] {
  if (opts.format === undefined && opts.plan === undefined) throw new OptionError('choose a target: pass --format (e.g. q8_0) or a --plan file');
  const base = opts.format === undefined ? null : parseFormat(normalizeFormatName(opts.format));
  const include = opts.tensors === undefined ? null : compile(opts.tensors, '--tensors');
  const exclude = opts.exclude === undefined ? null : compile(opts.exclude, '--exclude');
  const minElements = opts.minElements ?? 0;
  if (!Number.isSafeInteger(minElements) || minElements < 0) throw new OptionError(`--min-elements must be a non-negative integer; got ${opts.minElements}`);
  const plan = opts.plan === undefined ? [] : Object.entries(checkPlanMap(opts.plan)).map(([p, f]) => ({ pattern: p, re: compile(p, '--plan pattern'), format: f }));
  return tensors.map((info) => {
    if (!info.floating) return kept(info, `${info.dtype} holds integers, not weights`);
    if (!info.readable) return kept(info, `${info.dtype} is not decoded by microscale; copied as stored`);
    if (info.shape.length <= 1) return kept(info, '1-D (norm, bias or scale)');
    if (include && !include.test(info.name)) return kept(info, 'not matched by --tensors');
    if (exclude && exclude.test(info.name)) return kept(info, 'matched by --exclude');
    if (info.elements < minElements) return kept(info, `${info.elements} elements, below --min-elements ${minElements}`);
    let format = base;
    const rule = plan.find((r) => r.re.test(info.name));
    if (rule) {
      if (rule.format === null) return kept(info, `--plan pattern ${JSON.stringify(rule.pattern)} keeps it`);
      format = parseFormat(normalizeFormatName(rule.format));
    }
    if (format === null) return kept(info, 'no --plan pattern matches and no --format was given');
    if (/^(q\d|iq|tq|ggml_|mxfp4$|nvfp4$)/.test(info.dtype)) return kept(info, `already quantized (${info.dtype}); requantizing would compound the error`);
    const options = optionsFor(format, opts);
    // GGUF blocks every row along its last axis; other kinds' writers choose the axis (ONNX packed
    // blocks MatMul weights along K) and keep, with a reason, what their layout cannot take.
    const problem = opts.kind === undefined || opts.kind === 'gguf' ? shapeProblem(info, format, options) : null;
    if (problem !== null) return kept(info, `${format.name} cannot take shape [${info.shape.join(', ')}]: ${problem}`);
    return Object.freeze({ name: info.name, format: format.name, options: Object.freeze(options) });
  });
}
