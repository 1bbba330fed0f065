import type { Format, ScaleMode } from '../formats/format.js';
import { getFormat } from '../formats/api.js';
import { MicroscaleError, OptionError } from '../formats/errors.js';
import { resolveOptions, type Preset, type QuantizeOptions } from '../formats/options.js';
import type { Rounding } from '../formats/reference/element-codec.js';
import type { Backend } from '../kernels/backend.js';
import { referenceBackend } from '../kernels/reference.js';
import { bdrGridFormats, paretoFrontier, type BdrGrid } from './frontier.js';
import { measure, storedBytes, type TensorMetrics } from './metrics.js';
import type { ModelReader } from './readers/types.js';

/** A tensor the sweep can read lazily (a file reader's entry or an in-memory array). */
export interface SweepTensor {
  readonly name: string;
  readonly shape: readonly number[];
  read(): Float32Array | Promise<Float32Array>;
}

/** The 14 formats swept when none are named: the paper's BDR family, OCP MX, NVFP4 and two baselines. */
export const DEFAULT_FORMATS: readonly string[] = Object.freeze([
  'mx9',
  'mx6',
  'mx4',
  'msfp16',
  'msfp12',
  'mxfp8_e4m3',
  'mxfp8_e5m2',
  'mxfp6_e3m2',
  'mxfp6_e2m3',
  'mxfp4',
  'mxint8',
  'nvfp4',
  'q4_0',
  'int8_channel',
]);

export interface SweepOptions {
  formats?: readonly string[];
  /** Block sizes to try for formats whose block size may change (fixed-block formats keep theirs). */
  blockSizes?: readonly number[];
  /** Block axis for every tensor (negative counts from the end); default the last axis. */
  axis?: number;
  scaleModes?: readonly ScaleMode[];
  roundings?: readonly Rounding[];
  /** Compatibility presets to try (`ggml` = llama.cpp's own quantizers, …); each runs on the formats
   * it applies to, and formats it applies to none of keep their default. */
  presets?: readonly Preset[];
  /** Add every bdr(...) format of this design-space grid. */
  bdrGrid?: BdrGrid;
  /** Only tensors whose name matches. */
  tensors?: RegExp;
  backend?: Backend;
  /** Called after each (tensor, variant) with the count done and the total. */
  onProgress?: (done: number, total: number, label: string) => void;
  /** Called once the arrays of finished (tensor, variant) pairs add up to `releaseAfterBytes`; the
   * CLI passes a full garbage collection here, so peak memory stays within the largest tensor's
   * arrays plus that much garbage (V8 collects them late: they are external memory). */
  releaseMemory?: () => void;
  /** Bytes of dropped arrays (inputs, codes, dequantized outputs) between two `releaseMemory` calls;
   * default {@link RELEASE_AFTER_BYTES}. */
  releaseAfterBytes?: number;
}

/** Default garbage allowance between two `releaseMemory` calls: 16 MiB. */
export const RELEASE_AFTER_BYTES = 16 * 2 ** 20;

/** One swept combination: a format with a set of options. */
export interface Variant {
  readonly label: string;
  readonly format: string;
  readonly options: QuantizeOptions;
}

/** One (tensor, variant) result. */
export interface SweepRow extends TensorMetrics {
  readonly tensor: string;
  readonly format: string;
  readonly formatName: string;
  readonly shape: readonly number[];
  readonly options: QuantizeOptions;
}

/** A tensor/variant combination that could not run (for example a ggml type on a row of 100). */
export interface SweepSkip {
  readonly tensor: string;
  readonly format: string;
  readonly formatName: string;
  readonly shape: readonly number[];
  readonly elements: number;
  readonly reason: string;
}

/**
 * One variant aggregated over the tensors it could take. Two QSNRs: `meanQsnrDb`, the
 * element-weighted mean of per-tensor QSNR (the ranking: every tensor counts by its size, whatever
 * its magnitude), and `pooledQsnrDb`, −10·log10(Σ error / Σ signal) over those tensors, which the
 * tensors of largest magnitude dominate (one 24-element tensor holding 1e8 can set it).
 */
export interface SweepSummary {
  readonly format: string;
  readonly formatName: string;
  /** Tensors and elements this variant covered (it skips tensors it cannot take). */
  readonly tensors: number;
  readonly elements: number;
  /** Tensors and elements of the whole sweep, for coverage. */
  readonly totalTensors: number;
  readonly totalElements: number;
  /** Covered every tensor of the sweep; only complete variants are compared for the frontier. */
  readonly complete: boolean;
  readonly bitsPerElement: number;
  /** Element-weighted mean of per-tensor QSNR in dB (exact tensors count {@link QSNR_CAP_DB};
   * all-zero tensors have no signal and do not count). Infinity when every counted tensor is exact. */
  readonly meanQsnrDb: number;
  /** −10·log10(Σ(x−q)² / Σx²) with errors and signals summed over the covered tensors. */
  readonly pooledQsnrDb: number;
  readonly mse: number;
  readonly maxAbsError: number;
  readonly clippedFraction: number;
  readonly flushedFraction: number;
  readonly storedBytes: number;
  /** On the Pareto frontier of mean QSNR against bits per element, among complete variants. */
  readonly pareto: boolean;
  /** Sum of the tensors' error histograms (see HISTOGRAM_BINS). */
  readonly errorHistogram: number[];
}

export interface SweepResult {
  readonly results: SweepRow[];
  readonly summary: SweepSummary[];
  readonly skipped: SweepSkip[];
  readonly backend: string;
  readonly seconds: number;
}

/** Expand formats × block sizes × scale modes × roundings (+ a BDR grid) into variants. */
export function expandVariants(opts: SweepOptions = {}): Variant[] {
  const names = [...(opts.formats ?? DEFAULT_FORMATS), ...(opts.bdrGrid ? bdrGridFormats(opts.bdrGrid) : [])];
  const out: Variant[] = [];
  const seen = new Set<string>();
  for (const name of names) {
    const f: Format = getFormat(name);
    const blocks = f.granularity === 'block' && !f.requiresWholeBlocks && opts.blockSizes?.length ? opts.blockSizes : [undefined];
    const modes = f.scheme === 'pow2' && opts.scaleModes?.length ? opts.scaleModes : [undefined];
    const rounds = opts.roundings?.length ? opts.roundings : [undefined];
    const fitting = (opts.presets ?? []).filter((p) => presetApplies(f, p));
    const presets = fitting.length ? fitting : [undefined];
    for (const preset of presets)
      for (const blockSize of blocks)
        for (const scaleMode of modes)
          for (const rounding of rounds) {
            const options: QuantizeOptions = {};
            const parts = [f.name];
            if (preset !== undefined) {
              options.preset = preset;
              parts.push(preset);
            }
            if (blockSize !== undefined) {
              options.blockSize = blockSize;
              parts.push(`b${blockSize}`);
            }
            if (scaleMode !== undefined) {
              options.scaleMode = scaleMode;
              parts.push(scaleMode);
            }
            if (rounding !== undefined) {
              options.rounding = rounding;
              parts.push(rounding);
            }
            const label = parts.join(' ');
            if (seen.has(label)) continue;
            if (preset !== undefined) resolveOptions(f, f.blockSize || 1, { preset, rounding, scaleMode }); // throws on combinations the preset rejects
            seen.add(label);
            out.push({ label, format: f.name, options });
          }
  }
  return out;
}

/** Whether `preset` applies to format `f` (for example `ggml` only to ggml block types). */
export function presetApplies(f: Format, preset: Preset): boolean {
  try {
    resolveOptions(f, f.blockSize || 1, { preset });
    return true;
  } catch (e) {
    if (e instanceof OptionError) return false;
    throw e;
  }
}

/** The presets of `presets` that apply to none of the swept formats. */
export function unusedPresets(presets: readonly Preset[], formats: readonly string[]): Preset[] {
  return presets.filter((p) => !formats.some((name) => presetApplies(getFormat(name), p)));
}

/** Thrown when a tensor cannot be swept at all (for example it holds NaN). */
export class SweepError extends MicroscaleError {}

function checkFinite(name: string, x: Float32Array): void {
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i]!)) {
      throw new SweepError(
        'UNREPRESENTABLE',
        `tensor "${name}" holds ${Number.isNaN(x[i]!) ? 'NaN' : 'an infinity'} at element ${i}; QSNR is undefined — exclude it with --tensors`,
      );
    }
  }
}

/** How a tensor is blocked: rank ≥ 3 weights (convolutions, OIHW) are viewed as [out, in·kh·kw],
 * their GEMM reduction layout, unless an explicit axis asks for the original shape. */
export function sweepShape(shape: readonly number[], axis: number | undefined): number[] {
  const n = shape.reduce((a, b) => a * b, 1);
  if (shape.length === 0) return [n];
  if (shape.length >= 3 && axis === undefined) return [shape[0]!, n / Math.max(shape[0]!, 1)];
  return [...shape];
}

const quoteSome = (names: readonly string[], count = 5) =>
  names.slice(0, count).map((n) => `"${n}"`).join(', ') + (names.length > count ? `, … (${names.length - count} more)` : '');

/**
 * The tensors of `tensors` that `opts.tensors` selects, checked against `opts.axis`. Throws
 * {@link OptionError} (naming a few tensors) when the pattern matches nothing or the axis does not
 * exist in some selected tensor, so a sweep never silently measures something else.
 */
export async function selectTensors(tensors: Iterable<SweepTensor> | AsyncIterable<SweepTensor>, opts: Pick<SweepOptions, 'tensors' | 'axis'> = {}): Promise<SweepTensor[]> {
  const all: SweepTensor[] = [];
  for await (const t of tensors as AsyncIterable<SweepTensor>) all.push(t);
  const list = opts.tensors ? all.filter((t) => opts.tensors!.test(t.name)) : all;
  if (opts.tensors && list.length === 0 && all.length > 0) {
    throw new OptionError(`no tensor name matches ${opts.tensors}; the ${all.length} tensors include ${quoteSome(all.map((t) => t.name))}`);
  }
  if (opts.axis !== undefined) {
    const axis = opts.axis;
    const bad = list.filter((t) => {
      const rank = sweepShape(t.shape, axis).length;
      return axis >= rank || axis < -rank;
    });
    if (bad.length) {
      const ranks = [...new Set(bad.map((t) => sweepShape(t.shape, axis).length))].sort((a, b) => a - b);
      throw new OptionError(
        `axis ${axis} does not exist in ${bad.length} of ${list.length} tensors (rank ${ranks.join(', ')}: ${quoteSome(bad.map((t) => `${t.name}[${t.shape.join(',')}]`), 3)}); ` +
          `rank-r tensors take axes −r…r−1, or select tensors by name`,
      );
    }
  }
  return list;
}

/** Sweep every variant over every tensor, one tensor in memory at a time. */
export async function sweep(tensors: Iterable<SweepTensor> | AsyncIterable<SweepTensor>, opts: SweepOptions = {}): Promise<SweepResult> {
  const backend = opts.backend ?? referenceBackend;
  const variants = expandVariants(opts);
  const list = await selectTensors(tensors, opts);
  const total = list.length * variants.length;
  const results: SweepRow[] = [];
  const skipped: SweepSkip[] = [];
  const releaseAfter = opts.releaseAfterBytes ?? RELEASE_AFTER_BYTES;
  let dropped = 0;
  const drop = (bytes: number) => {
    dropped += bytes;
    if (dropped >= releaseAfter && opts.releaseMemory) {
      opts.releaseMemory();
      dropped = 0;
    }
  };
  const t0 = Date.now();
  let done = 0;
  for (const t of list) {
    const x = await t.read();
    checkFinite(t.name, x);
    const shape = sweepShape(t.shape.length === 0 ? [x.length] : t.shape, opts.axis);
    const rank = shape.length;
    const axis = opts.axis === undefined ? rank - 1 : opts.axis < 0 ? opts.axis + rank : opts.axis;
    for (const v of variants) {
      const options: QuantizeOptions = { ...v.options, shape, axis };
      try {
        const q = await backend.quantize(x, v.format, options);
        const y = await backend.dequantize(q);
        results.push({ tensor: t.name, format: v.label, formatName: v.format, shape, options, ...measure(x, y, q) });
        drop(y.byteLength + storedBytes(q));
      } catch (e) {
        if (!(e instanceof MicroscaleError) || e.code === 'UNKNOWN_FORMAT') throw e;
        skipped.push({ tensor: t.name, format: v.label, formatName: v.format, shape, elements: x.length, reason: e.message });
      }
      opts.onProgress?.(++done, total, `${t.name} · ${v.label}`);
    }
    drop(x.byteLength);
  }
  const swept = list.map((t) => ({ name: t.name, elements: t.shape.reduce((a, b) => a * b, 1) }));
  return { results, summary: summarize(results, swept), skipped, backend: backend.capabilities.name, seconds: (Date.now() - t0) / 1000 };
}

/** Per-tensor QSNR that an exact tensor (no error at all) counts as in {@link SweepSummary.meanQsnrDb}:
 * above float32's own ≈ 145 dB, so no lossy result can reach it. */
export const QSNR_CAP_DB = 150;

/** A tensor of the sweep, for coverage: its name and element count. */
export interface SweptTensor {
  readonly name: string;
  readonly elements: number;
}

/**
 * Aggregates per variant (see {@link SweepSummary}) with coverage against `swept` (default: the
 * tensors that appear in `rows`) and Pareto flags among the complete variants, sorted by bits per element.
 */
export function summarize(rows: readonly SweepRow[], swept?: readonly SweptTensor[]): SweepSummary[] {
  const all = new Map<string, number>();
  for (const t of swept ?? rows.map((r) => ({ name: r.tensor, elements: r.elements }))) all.set(t.name, t.elements);
  let totalElements = 0;
  for (const n of all.values()) totalElements += n;
  const groups = new Map<string, SweepRow[]>();
  for (const r of rows) {
    const g = groups.get(r.format);
    if (g) g.push(r);
    else groups.set(r.format, [r]);
  }
  const out = [...groups.entries()].map(([label, g]) => {
    let n = 0;
    let err = 0;
    let sig = 0;
    let bits = 0;
    let clipped = 0;
    let flushed = 0;
    let bytes = 0;
    let maxAbs = 0;
    let qsnrWeighted = 0;
    let qsnrWeight = 0;
    const hist = g[0]!.errorHistogram.map(() => 0);
    for (const r of g) {
      r.errorHistogram.forEach((c, i) => (hist[i]! += c));
      n += r.elements;
      err += r.sumSquaredError;
      sig += r.sumSquaredSignal;
      bits += r.bitsPerElement * r.elements;
      clipped += r.clippedFraction * r.elements;
      flushed += r.flushedFraction * r.elements;
      bytes += r.storedBytes;
      maxAbs = Math.max(maxAbs, r.maxAbsError);
      if (r.sumSquaredSignal > 0) {
        qsnrWeighted += Math.min(r.qsnrDb, QSNR_CAP_DB) * r.elements;
        qsnrWeight += r.elements;
      }
    }
    const tensors = new Set(g.map((r) => r.tensor)).size;
    const exact = err === 0;
    return {
      format: label,
      formatName: g[0]!.formatName,
      tensors,
      elements: n,
      totalTensors: all.size,
      totalElements,
      complete: tensors === all.size,
      bitsPerElement: n ? bits / n : 0,
      meanQsnrDb: exact || qsnrWeight === 0 ? Infinity : qsnrWeighted / qsnrWeight,
      pooledQsnrDb: exact ? Infinity : -10 * Math.log10(err / sig),
      mse: n ? err / n : 0,
      maxAbsError: maxAbs,
      clippedFraction: n ? clipped / n : 0,
      flushedFraction: n ? flushed / n : 0,
      storedBytes: bytes,
      pareto: false,
      errorHistogram: hist,
    };
  });
  const complete = out.filter((s) => s.complete);
  const front = new Set(paretoFrontier(complete.map((s) => ({ bitsPerElement: s.bitsPerElement, qsnrDb: s.meanQsnrDb }))).map((i) => complete[i]!));
  return out
    .map((s) => ({ ...s, pareto: front.has(s) }))
    .sort((a, b) => a.bitsPerElement - b.bitsPerElement || b.meanQsnrDb - a.meanQsnrDb);
}

/** Wrap in-memory arrays as sweep tensors. */
export function memoryTensors(list: readonly { name: string; shape: readonly number[]; data: Float32Array }[]): SweepTensor[] {
  return list.map((t) => ({ name: t.name, shape: t.shape, read: () => t.data }));
}

/** The floating-point tensors of an open model file, read lazily one at a time. */
export function readerTensors(reader: ModelReader): SweepTensor[] {
  return reader
    .tensors()
    .filter((t) => t.floating && t.readable && t.elements > 0)
    .map((t) => ({ name: t.name, shape: t.shape, read: () => reader.read(t.name) }));
}
