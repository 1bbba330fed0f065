import type { Format, ScaleMode } from '../formats/format.js';
import { getFormat } from '../formats/api.js';
import { MicroscaleError } from '../formats/errors.js';
import type { QuantizeOptions } from '../formats/options.js';
import type { Rounding } from '../formats/reference/element-codec.js';
import type { Backend } from '../kernels/backend.js';
import { referenceBackend } from '../kernels/reference.js';
import { bdrGridFormats, paretoFrontier, type BdrGrid } from './frontier.js';
import { measure, type TensorMetrics } from './metrics.js';
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
  /** Add every bdr(...) format of this design-space grid. */
  bdrGrid?: BdrGrid;
  /** Only tensors whose name matches. */
  tensors?: RegExp;
  backend?: Backend;
  /** Called after each (tensor, variant) with the count done and the total. */
  onProgress?: (done: number, total: number, label: string) => void;
  /** Called after each (tensor, variant) once its arrays are dropped; the CLI passes a full garbage
   * collection here so that peak memory follows the largest tensor, not the garbage of the last few. */
  releaseMemory?: () => void;
}

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
  readonly reason: string;
}

/** Element-weighted aggregate of one variant over all tensors. */
export interface SweepSummary {
  readonly format: string;
  readonly formatName: string;
  readonly tensors: number;
  readonly elements: number;
  readonly bitsPerElement: number;
  readonly qsnrDb: number;
  readonly mse: number;
  readonly maxAbsError: number;
  readonly clippedFraction: number;
  readonly flushedFraction: number;
  readonly storedBytes: number;
  /** On the Pareto frontier of QSNR against bits per element. */
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
    for (const blockSize of blocks)
      for (const scaleMode of modes)
        for (const rounding of rounds) {
          const options: QuantizeOptions = {};
          const parts = [f.name];
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
          seen.add(label);
          out.push({ label, format: f.name, options });
        }
  }
  return out;
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

/** Sweep every variant over every tensor, one tensor in memory at a time. */
export async function sweep(tensors: Iterable<SweepTensor> | AsyncIterable<SweepTensor>, opts: SweepOptions = {}): Promise<SweepResult> {
  const backend = opts.backend ?? referenceBackend;
  const variants = expandVariants(opts);
  const list: SweepTensor[] = [];
  for await (const t of tensors as AsyncIterable<SweepTensor>) if (!opts.tensors || opts.tensors.test(t.name)) list.push(t);
  const total = list.length * variants.length;
  const results: SweepRow[] = [];
  const skipped: SweepSkip[] = [];
  const t0 = Date.now();
  let done = 0;
  for (const t of list) {
    const x = await t.read();
    checkFinite(t.name, x);
    // Rank ≥ 3 weights (convolutions, OIHW) are viewed as [out, in·kh·kw], their GEMM reduction
    // layout, unless an explicit axis asks for the original shape.
    const shape =
      t.shape.length === 0 ? [x.length] : t.shape.length >= 3 && opts.axis === undefined ? [t.shape[0]!, x.length / Math.max(t.shape[0]!, 1)] : [...t.shape];
    const rank = shape.length;
    let axis = opts.axis ?? rank - 1;
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank) axis = rank - 1;
    for (const v of variants) {
      const options: QuantizeOptions = { ...v.options, shape, axis };
      try {
        const q = await backend.quantize(x, v.format, options);
        const y = await backend.dequantize(q);
        results.push({ tensor: t.name, format: v.label, formatName: v.format, shape, options, ...measure(x, y, q) });
      } catch (e) {
        if (!(e instanceof MicroscaleError) || e.code === 'UNKNOWN_FORMAT') throw e;
        skipped.push({ tensor: t.name, format: v.label, reason: e.message });
      }
      opts.releaseMemory?.();
      opts.onProgress?.(++done, total, `${t.name} · ${v.label}`);
    }
  }
  return { results, summary: summarize(results), skipped, backend: backend.capabilities.name, seconds: (Date.now() - t0) / 1000 };
}

/** Element-weighted aggregates per variant, with Pareto flags, sorted by bits per element. */
export function summarize(rows: readonly SweepRow[]): SweepSummary[] {
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
    }
    return {
      format: label,
      formatName: g[0]!.formatName,
      tensors: g.length,
      elements: n,
      bitsPerElement: n ? bits / n : 0,
      qsnrDb: err === 0 ? Infinity : -10 * Math.log10(err / sig),
      mse: n ? err / n : 0,
      maxAbsError: maxAbs,
      clippedFraction: n ? clipped / n : 0,
      flushedFraction: n ? flushed / n : 0,
      storedBytes: bytes,
      pareto: false,
      errorHistogram: hist,
    };
  });
  const front = new Set(paretoFrontier(out));
  return out
    .map((s, i) => ({ ...s, pareto: front.has(i) }))
    .sort((a, b) => a.bitsPerElement - b.bitsPerElement || b.qsnrDb - a.qsnrDb);
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
