// One evaluation: each format's whole-model plan run against the original, with the tensor-level
// proxy beside it; optionally the sensitivity ranking and a target search on top.
import type { Backend } from '../kernels/backend.js';
import type { ModelMetrics } from './metrics.js';
import { TensorProxy, type PlanProxy } from './proxy.js';
import { candidatePlans, candidateTensors, type CandidateOptions, type EvalRunner } from './runner.js';
import { searchPlan, type PlanSearchResult } from './search.js';
import { sensitivity, type SensitivityRow } from './sensitivity.js';
import type { EvalMetric, EvalTarget } from './target.js';

/** One format applied to every tensor it can take. */
export interface FormatEvaluation extends PlanProxy {
  readonly format: string;
  readonly measured: ModelMetrics;
}

export interface EvaluateOptions extends CandidateOptions {
  formats: readonly string[];
  /** Rank tensors one at a time by this metric (runs once per tensor per format). */
  sensitivity?: EvalMetric;
  /** Search the cheapest mix of `formats` meeting this (implies a sensitivity pass on its metric). */
  target?: EvalTarget;
  /** Kernels for the tensor-level proxy. */
  backend?: Backend;
  onProgress?: (stage: 'formats' | 'sensitivity' | 'search', done: number, total: number, label: string) => void;
}

export interface EvaluationResult {
  readonly model: string;
  readonly kind: EvalRunner['kind'];
  /** Candidate tensors (those some format quantizes) and their elements. */
  readonly tensors: number;
  readonly elements: number;
  readonly formats: readonly FormatEvaluation[];
  readonly sensitivity?: readonly SensitivityRow[];
  readonly sensitivityMetric?: EvalMetric;
  readonly plan?: PlanSearchResult;
  /** Model runs made after the original's. */
  readonly runs: number;
  readonly seconds: number;
}

/** Evaluate `opts.formats` on an open runner (closing it stays with the caller). */
export async function evaluateModel(runner: EvalRunner, opts: EvaluateOptions): Promise<EvaluationResult> {
  const t0 = Date.now();
  const candidates = await candidatePlans(runner, opts.formats, opts);
  const all = runner.reader.tensors();
  const tensors = candidateTensors(all, candidates);
  const proxy = new TensorProxy(runner.reader, candidates, opts.backend);
  const measured = await runner.evaluate(candidates.map((c) => c.plan));
  let runs = measured.length;
  const formats: FormatEvaluation[] = [];
  for (const [i, c] of candidates.entries()) {
    const assignment = new Map([...c.quantized.keys()].map((n) => [n, c.format]));
    formats.push({ format: c.format, measured: measured[i]!, ...(await proxy.plan(tensors, assignment, c.format)) });
    opts.onProgress?.('formats', i + 1, candidates.length, c.format);
  }
  const metric = opts.target?.metric ?? opts.sensitivity;
  let rows: SensitivityRow[] | undefined;
  if (metric !== undefined) {
    rows = await sensitivity(runner, candidates, proxy, metric, { onProgress: (d, n, l) => opts.onProgress?.('sensitivity', d, n, l) });
    runs += rows.length;
  }
  let plan: PlanSearchResult | undefined;
  if (opts.target !== undefined) {
    let tries = 0;
    plan = await searchPlan(runner, candidates, proxy, rows!, opts.target, { onRun: (k) => opts.onProgress?.('search', ++tries, tries, `${k} steps`) });
    runs += plan.runs;
  }
  return {
    model: runner.reader.file,
    kind: runner.kind,
    tensors: tensors.length,
    elements: tensors.reduce((a, t) => a + t.elements, 0),
    formats,
    ...(rows && { sensitivity: rows, sensitivityMetric: metric! }),
    ...(plan && { plan }),
    runs,
    seconds: (Date.now() - t0) / 1000,
  };
}
