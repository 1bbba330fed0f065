// Output-level accuracy: how far a quantized model's outputs are from the original's, computed in
// float64 from the two output arrays (ONNX) or taken from llama.cpp's next-token distributions (GGUF).

/** One output of a model compared between the original and a quantized run. */
export interface OutputComparison {
  readonly name: string;
  readonly shape: readonly number[];
  /** −10·log10(Σ(x−y)² / Σx²) in dB over the output's elements; Infinity when equal. */
  readonly qsnrDb: number;
  readonly maxAbsError: number;
  /** Fraction of rows (all axes but the last) whose argmax agrees; only for classifier-like outputs
   * (rank 2 or 3, last axis ≥ 2). */
  readonly top1Agreement?: number;
}

/** A quantized model's accuracy against the original: ONNX outputs, or GGUF next-token statistics. */
export interface ModelMetrics {
  /** ONNX: one comparison per model output. */
  readonly outputs?: readonly OutputComparison[];
  /** The lowest output QSNR (ONNX), the figure `--target qsnr>=…` holds to. */
  readonly qsnrDb?: number;
  /** Fraction of positions (GGUF) or rows (ONNX, lowest over classifier-like outputs) whose top-1 agrees. */
  readonly top1Agreement?: number;
  /** GGUF: mean and 99th percentile over positions of KL(P_original ‖ P_quantized), nats. */
  readonly meanKl?: number;
  readonly p99Kl?: number;
  readonly perplexityOriginal?: number;
  readonly perplexityQuantized?: number;
  /** GGUF: positions compared. */
  readonly tokens?: number;
}

/** Σ(x−y)² and Σx² in float64 as a QSNR in dB (Infinity when exact; −Infinity for an all-zero signal with error). */
export function qsnrDb(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let err = 0;
  let sig = 0;
  for (let i = 0; i < x.length; i++) {
    const d = x[i]! - y[i]!;
    err += d * d;
    sig += x[i]! * x[i]!;
  }
  if (err === 0) return Infinity;
  return sig === 0 ? -Infinity : -10 * Math.log10(err / sig);
}

/** Largest |x − y| (NaN when either side has a NaN where the other does not). */
export function maxAbsError(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    if (Number.isNaN(x[i]!) !== Number.isNaN(y[i]!)) return NaN;
    const d = Math.abs(x[i]! - y[i]!);
    if (d > m) m = d;
  }
  return m;
}

function argmax(v: ArrayLike<number>, from: number, length: number): number {
  let best = from;
  for (let i = from + 1; i < from + length; i++) if (v[i]! > v[best]!) best = i;
  return best - from;
}

/** Fraction of rows of `classes` values whose argmax (first maximum) is the same in x and y. */
export function top1Agreement(x: ArrayLike<number>, y: ArrayLike<number>, classes: number): number {
  const rows = x.length / classes;
  if (!Number.isInteger(rows) || rows === 0) throw new RangeError(`${x.length} values are not whole rows of ${classes} classes`);
  let same = 0;
  for (let r = 0; r < rows; r++) if (argmax(x, r * classes, classes) === argmax(y, r * classes, classes)) same++;
  return same / rows;
}

/** Whether an output looks like class scores: [batch, classes] or [batch, positions, classes] with
 * at least 2 classes. Rank-4 outputs (image maps such as a detector's [N, 1, H, W]) are not. */
export function isClassifierLike(shape: readonly number[]): boolean {
  return (shape.length === 2 || shape.length === 3) && shape[shape.length - 1]! >= 2;
}

/** Compare one output of the original and of a quantized run. */
export function compareOutput(name: string, shape: readonly number[], original: ArrayLike<number>, quantized: ArrayLike<number>): OutputComparison {
  if (original.length !== quantized.length) throw new RangeError(`output ${name}: the quantized model gave ${quantized.length} values, the original ${original.length}`);
  const base = { name, shape, qsnrDb: qsnrDb(original, quantized), maxAbsError: maxAbsError(original, quantized) };
  return isClassifierLike(shape) && original.length > 0 ? { ...base, top1Agreement: top1Agreement(original, quantized, shape[shape.length - 1]!) } : base;
}

/** Model metrics from the comparisons of every output. */
export function summarizeOutputs(outputs: readonly OutputComparison[]): ModelMetrics {
  const agreements = outputs.flatMap((o) => (o.top1Agreement === undefined ? [] : [o.top1Agreement]));
  return {
    outputs,
    qsnrDb: Math.min(...outputs.map((o) => o.qsnrDb)),
    ...(agreements.length > 0 && { top1Agreement: Math.min(...agreements) }),
  };
}

/** KL(p ‖ q) in nats for two probability vectors (terms with p = 0 count 0). */
export function klDivergence(p: ArrayLike<number>, q: ArrayLike<number>): number {
  let kl = 0;
  for (let i = 0; i < p.length; i++) if (p[i]! > 0) kl += p[i]! * Math.log(p[i]! / q[i]!);
  return kl;
}

/** The `fraction` quantile (0…1) of `values` by the nearest-rank rule. */
export function quantile(values: readonly number[], fraction: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))]!;
}
