// `--target` expressions (`qsnr>=30`, `kl<=0.01`, `top1>=0.99`) and the damage figure that the
// sensitivity ranking and the plan search add up across tensors.
import { OptionError } from '../formats/errors.js';
import type { ModelMetrics } from './metrics.js';

/** Model-level metrics a target or a sensitivity ranking can use. */
export type EvalMetric = 'qsnr' | 'kl' | 'top1';

export const EVAL_METRICS: readonly EvalMetric[] = ['qsnr', 'kl', 'top1'];

/** A bound on one metric: `qsnr >= 30` (dB, lowest output), `kl <= 0.01` (mean nats), `top1 >= 0.99`. */
export interface EvalTarget {
  readonly metric: EvalMetric;
  readonly bound: number;
}

const DIRECTION: Readonly<Record<EvalMetric, '>=' | '<='>> = { qsnr: '>=', kl: '<=', top1: '>=' };

/** Parse `qsnr>=30`, `kl<=0.01` or `top1>=0.99` (spaces allowed). */
export function parseTarget(text: string): EvalTarget {
  const m = /^\s*([a-z0-9]+)\s*(>=|<=)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)\s*$/i.exec(text);
  const metric = m?.[1]!.toLowerCase() as EvalMetric | undefined;
  if (!m || !metric || !EVAL_METRICS.includes(metric)) {
    throw new OptionError(`--target ${JSON.stringify(text)}: write qsnr>=DB (lowest output QSNR), kl<=NATS (mean KL divergence) or top1>=FRACTION, e.g. "qsnr>=30"`);
  }
  if (m[2] !== DIRECTION[metric]) throw new OptionError(`--target ${JSON.stringify(text)}: ${metric} is bounded with ${DIRECTION[metric]} (e.g. ${metric}${DIRECTION[metric]}${metric === 'qsnr' ? 30 : metric === 'kl' ? 0.01 : 0.99})`);
  const bound = Number(m[3]);
  if (metric === 'top1' && (bound < 0 || bound > 1)) throw new OptionError(`--target ${text}: top1 agreement is a fraction from 0 to 1`);
  if (metric === 'kl' && bound < 0) throw new OptionError(`--target ${text}: KL divergence is never negative`);
  return { metric, bound };
}

/** A target as it was written. */
export function targetText(t: EvalTarget): string {
  return `${t.metric}${DIRECTION[t.metric]}${t.bound}`;
}

/** The metric's value in a measurement; a clear error when the runner does not measure it. */
export function metricValue(m: ModelMetrics, metric: EvalMetric): number {
  const v = metric === 'qsnr' ? m.qsnrDb : metric === 'kl' ? m.meanKl : m.top1Agreement;
  if (v === undefined) {
    const has = EVAL_METRICS.filter((x) => (x === 'qsnr' ? m.qsnrDb : x === 'kl' ? m.meanKl : m.top1Agreement) !== undefined);
    throw new OptionError(`this model's evaluation has no ${metric} metric (${metric === 'top1' ? 'no classifier-like output' : metric === 'kl' ? 'KL divergence is measured for GGUF language models' : 'output QSNR is measured for ONNX models'}); use ${has.join(' or ')}`);
  }
  return v;
}

/** Whether a measurement meets the target. */
export function meets(m: ModelMetrics, t: EvalTarget): boolean {
  const v = metricValue(m, t.metric);
  return DIRECTION[t.metric] === '>=' ? v >= t.bound : v <= t.bound;
}

/**
 * Damage: a figure that is 0 for the original and that roughly adds up when several tensors are
 * quantized. QSNR: the error-to-signal power ratio 10^(−QSNR/10) (independent errors add in power);
 * KL: the mean KL itself; top-1: the fraction of disagreements.
 */
export function damageOf(value: number, metric: EvalMetric): number {
  if (metric === 'qsnr') return value === Infinity ? 0 : 10 ** (-value / 10);
  if (metric === 'kl') return Math.max(0, value);
  return Math.max(0, 1 - value);
}

/** The damage a target allows (the damage at its bound). */
export function damageBudget(t: EvalTarget): number {
  return damageOf(t.bound, t.metric);
}
