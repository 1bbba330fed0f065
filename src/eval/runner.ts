// What every model runner offers the evaluation (ONNX through onnxruntime, GGUF through llama.cpp),
// and the candidate plans they share: per format, which tensors it quantizes and with what options.
import type { ModelReader, TensorInfo } from '../bdr-explorer/readers/types.js';
import { PLAIN_BITS, type PlainDtype } from '../bdr-explorer/readers/dtypes.js';
import { buildPlan, type PlanMap } from '../model-io/plan.js';
import type { OutputKind, TensorPlanEntry } from '../model-io/types.js';
import type { ModelMetrics } from './metrics.js';

/** Runs the original model once and any number of quantized plans of it on the same inputs. */
export interface EvalRunner {
  readonly kind: OutputKind;
  /** The source model, for tensor lists and the tensor-level proxy. */
  readonly reader: ModelReader;
  /** The plan as the writer will write it (entries its layout cannot take turned into kept ones). */
  check(plan: readonly TensorPlanEntry[]): Promise<readonly TensorPlanEntry[]>;
  /** One measurement per plan, in order, each against the original's cached outputs. */
  evaluate(plans: readonly (readonly TensorPlanEntry[])[]): Promise<ModelMetrics[]>;
  close(): Promise<void>;
}

/** Which tensors the evaluation may quantize (the `microscale quantize` filters). */
export interface CandidateOptions {
  tensors?: string;
  exclude?: string;
  minElements?: number;
}

/** Per format: the checked plan for the whole model, and the tensors it quantizes. */
export interface Candidate {
  readonly format: string;
  readonly plan: readonly TensorPlanEntry[];
  readonly quantized: ReadonlyMap<string, TensorPlanEntry>;
}

/** The checked plan of each format (same order as `formats`). */
export async function candidatePlans(runner: EvalRunner, formats: readonly string[], opts: CandidateOptions = {}): Promise<Candidate[]> {
  const out: Candidate[] = [];
  for (const format of formats) {
    const plan = await runner.check(buildPlan(runner.reader.tensors(), { ...opts, format, kind: runner.kind }));
    out.push({ format, plan, quantized: new Map(plan.filter((e) => e.format !== null).map((e) => [e.name, e])) });
  }
  return out;
}

/** A format per tensor by name (absent: kept as stored). */
export type Assignment = ReadonlyMap<string, string>;

/** The whole-model plan of an assignment: each assigned tensor takes its format's candidate entry. */
export function planOf(tensors: readonly TensorInfo[], candidates: readonly Candidate[], assignment: Assignment): TensorPlanEntry[] {
  const byFormat = new Map(candidates.map((c) => [c.format, c]));
  return tensors.map((t) => {
    const f = assignment.get(t.name);
    const entry = f === undefined ? undefined : byFormat.get(f)?.quantized.get(t.name);
    if (f !== undefined && !entry) throw new Error(`internal: ${f} cannot take tensor ${t.name}`);
    return entry ?? Object.freeze({ name: t.name, format: null, options: Object.freeze({}), reason: 'kept by the evaluated plan' });
  });
}

/** The tensors at least one candidate quantizes, in model order. */
export function candidateTensors(tensors: readonly TensorInfo[], candidates: readonly Candidate[]): TensorInfo[] {
  return tensors.filter((t) => candidates.some((c) => c.quantized.has(t.name)));
}

/** Bits per element a tensor keeps as stored (plain dtypes; 32 when the dtype has no plain width). */
export function storedBits(t: TensorInfo): number {
  return (PLAIN_BITS as Readonly<Record<string, number>>)[t.dtype as PlainDtype] ?? (t.elements > 0 ? (8 * t.byteLength) / t.elements : 32);
}

/** An assignment as a `microscale quantize --plan` file: one anchored pattern per candidate tensor
 * (its format, or null to keep it), so the plan reproduces exactly what was evaluated. */
export function assignmentToPlanMap(tensors: readonly TensorInfo[], assignment: Assignment): PlanMap {
  const out: Record<string, string | null> = {};
  for (const t of tensors) out[`^${t.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`] = assignment.get(t.name) ?? null;
  return out;
}
