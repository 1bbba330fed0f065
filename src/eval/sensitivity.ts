// Sensitivity: quantize one tensor at a time (all else original) in each candidate format and rank
// tensors by the output damage they cause per bit saved. One model run per (tensor, format).
import type { TensorInfo } from '../bdr-explorer/readers/types.js';
import type { ModelMetrics } from './metrics.js';
import type { TensorProxy } from './proxy.js';
import { candidateTensors, planOf, storedBits, type Candidate, type EvalRunner } from './runner.js';
import { damageOf, metricValue, type EvalMetric } from './target.js';

/** One tensor quantized alone in one format. */
export interface SensitivityRow {
  readonly tensor: string;
  readonly format: string;
  readonly elements: number;
  /** Bits saved against the tensor as stored: (stored bits − format bits) × elements. */
  readonly bitsSaved: number;
  /** The model metric with only this tensor quantized. */
  readonly metric: number;
  /** {@link damageOf} that metric (0 = no change). */
  readonly damage: number;
  /** Damage per million bits saved: the ranking key (highest first = most sensitive). */
  readonly damagePerMbit: number;
  /** The tensor-level QSNR of this tensor in this format (the proxy). */
  readonly tensorQsnrDb: number;
  readonly measured: ModelMetrics;
}

export interface SensitivityOptions {
  /** Model runs per batch handed to the runner. Default 16. */
  batch?: number;
  onProgress?: (done: number, total: number, label: string) => void;
}

/** Every (tensor, format) pair the candidates allow, measured alone; sorted most sensitive first. */
export async function sensitivity(runner: EvalRunner, candidates: readonly Candidate[], proxy: TensorProxy, metric: EvalMetric, opts: SensitivityOptions = {}): Promise<SensitivityRow[]> {
  const all = runner.reader.tensors();
  const pairs: { tensor: TensorInfo; format: string }[] = [];
  for (const t of candidateTensors(all, candidates)) for (const c of candidates) if (c.quantized.has(t.name)) pairs.push({ tensor: t, format: c.format });
  const batch = opts.batch ?? 16;
  const rows: SensitivityRow[] = [];
  for (let at = 0; at < pairs.length; at += batch) {
    const group = pairs.slice(at, at + batch);
    const measured = await runner.evaluate(group.map((p) => planOf(all, candidates, new Map([[p.tensor.name, p.format]]))));
    for (const [i, p] of group.entries()) {
      const m = await proxy.metrics(p.tensor, p.format);
      const value = metricValue(measured[i]!, metric);
      const damage = damageOf(value, metric);
      const bitsSaved = (storedBits(p.tensor) - m.bitsPerElement) * p.tensor.elements;
      rows.push({
        tensor: p.tensor.name,
        format: p.format,
        elements: p.tensor.elements,
        bitsSaved,
        metric: value,
        damage,
        damagePerMbit: bitsSaved > 0 ? (damage / bitsSaved) * 1e6 : damage > 0 ? Infinity : 0,
        tensorQsnrDb: m.qsnrDb,
        measured: measured[i]!,
      });
      opts.onProgress?.(at + i + 1, pairs.length, `${p.tensor.name} · ${p.format}`);
    }
  }
  return rows.sort((a, b) => b.damagePerMbit - a.damagePerMbit || a.tensor.localeCompare(b.tensor));
}
