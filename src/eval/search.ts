// The cheapest mix of formats that meets a target: a greedy walk over the sensitivity measurements
// (each step moves the tensor whose next cheaper format costs the least damage per bit saved),
// the longest prefix whose predicted damage fits the target's budget, then real runs: the prefix is
// verified, and bisected back (about log2(steps) runs) when the real model misses the target.
import type { TensorInfo } from '../bdr-explorer/readers/types.js';
import type { PlanMap } from '../model-io/plan.js';
import type { ModelMetrics } from './metrics.js';
import type { PlanProxy, TensorProxy } from './proxy.js';
import { assignmentToPlanMap, candidateTensors, planOf, storedBits, type Assignment, type Candidate, type EvalRunner } from './runner.js';
import type { SensitivityRow } from './sensitivity.js';
import { damageBudget, meets, metricValue, targetText, type EvalTarget } from './target.js';

/** One greedy step: a tensor moved to a cheaper format. */
export interface SearchStep {
  readonly tensor: string;
  readonly format: string;
  /** The sum of single-tensor damages after this step (the additive prediction). */
  readonly predictedDamage: number;
}

export interface PlanSearchResult {
  readonly target: string;
  /** The chosen format per tensor (absent: kept as stored). */
  readonly assignment: Assignment;
  /** The assignment as a `microscale quantize --plan` file. */
  readonly planMap: PlanMap;
  readonly proxy: PlanProxy;
  /** The real run of the chosen plan. */
  readonly measured: ModelMetrics;
  readonly metric: number;
  readonly meetsTarget: boolean;
  /** Greedy steps found, and how many of them the chosen plan takes. */
  readonly steps: readonly SearchStep[];
  readonly stepsTaken: number;
  /** Model runs the search made (the verification and the bisection). */
  readonly runs: number;
}

/** The greedy order of moves over the single-tensor measurements. */
export function greedySteps(tensors: readonly TensorInfo[], rows: readonly SensitivityRow[], bitsOf: (tensor: string, format: string) => number): SearchStep[] {
  const options = new Map<string, { format: string; bits: number; damage: number }[]>();
  for (const r of rows) options.set(r.tensor, [...(options.get(r.tensor) ?? []), { format: r.format, bits: bitsOf(r.tensor, r.format), damage: r.damage }]);
  const state = new Map(tensors.map((t) => [t.name, { bits: storedBits(t), damage: 0, elements: t.elements }]));
  const steps: SearchStep[] = [];
  let total = 0;
  for (;;) {
    let best: { tensor: string; format: string; bits: number; damage: number; ratio: number } | null = null;
    for (const [tensor, opts] of options) {
      const cur = state.get(tensor)!;
      for (const o of opts) {
        if (o.bits >= cur.bits) continue;
        const ratio = (o.damage - cur.damage) / ((cur.bits - o.bits) * cur.elements);
        if (!best || ratio < best.ratio || (ratio === best.ratio && o.bits < best.bits)) best = { tensor, format: o.format, bits: o.bits, damage: o.damage, ratio };
      }
    }
    if (!best) return steps;
    const cur = state.get(best.tensor)!;
    total += best.damage - cur.damage;
    state.set(best.tensor, { ...cur, bits: best.bits, damage: best.damage });
    steps.push({ tensor: best.tensor, format: best.format, predictedDamage: Math.max(0, total) });
  }
}

function assignmentAfter(steps: readonly SearchStep[], k: number): Map<string, string> {
  const a = new Map<string, string>();
  for (const s of steps.slice(0, k)) a.set(s.tensor, s.format);
  return a;
}

export interface SearchOptions {
  onRun?: (stepsTaken: number, metric: number, ok: boolean) => void;
}

/** Search the cheapest assignment meeting `target` from the sensitivity rows; every answer is a measured run. */
export async function searchPlan(runner: EvalRunner, candidates: readonly Candidate[], proxy: TensorProxy, rows: readonly SensitivityRow[], target: EvalTarget, opts: SearchOptions = {}): Promise<PlanSearchResult> {
  const all = runner.reader.tensors();
  const tensors = candidateTensors(all, candidates);
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const bits = new Map<string, number>();
  for (const r of rows) bits.set(`${r.format}\u0000${r.tensor}`, (await proxy.metrics(byName.get(r.tensor)!, r.format)).bitsPerElement);
  const steps = greedySteps(tensors, rows, (t, f) => bits.get(`${f}\u0000${t}`)!);
  const budget = damageBudget(target);
  let k = 0;
  steps.forEach((s, i) => {
    if (s.predictedDamage <= budget) k = i + 1;
  });
  let runs = 0;
  const run = async (n: number): Promise<ModelMetrics> => {
    runs++;
    const [m] = await runner.evaluate([planOf(all, candidates, assignmentAfter(steps, n))]);
    opts.onRun?.(n, metricValue(m!, target.metric), meets(m!, target));
    return m!;
  };
  let measured = await run(k);
  if (!meets(measured, target) && k > 0) {
    // the prediction was too hopeful: bisect between nothing quantized (meets) and k (misses)
    let lo = 0;
    let hi = k;
    let loMeasured: ModelMetrics | null = null;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      const m = await run(mid);
      if (meets(m, target)) {
        lo = mid;
        loMeasured = m;
      } else hi = mid;
    }
    k = lo;
    measured = loMeasured ?? (await run(0));
  }
  const assignment = assignmentAfter(steps, k);
  return {
    target: targetText(target),
    assignment,
    planMap: assignmentToPlanMap(tensors, assignment),
    proxy: await proxy.plan(tensors, assignment, 'plan'),
    measured,
    metric: metricValue(measured, target.metric),
    meetsTarget: meets(measured, target),
    steps,
    stepsTaken: k,
    runs,
  };
}
