// ONNX models through onnxruntime (an optional peer, loaded on first use): the original runs once on
// fixed inputs, each quantized plan is written in memory with the ONNX writer's fake-quant layout
// (float32 weights holding dequantized values) and run on the same inputs.
import { concatBytes } from '../util/bytes.js';
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { openModel } from '../bdr-explorer/readers/open.js';
import { bytesSource } from '../bdr-explorer/readers/source.js';
import { uniforms } from '../bdr-explorer/synthetic.js';
import { OptionError } from '../formats/errors.js';
import type { Backend } from '../kernels/backend.js';
import { writeModel } from '../model-io/index.js';
import { onnxWriter } from '../model-io/onnx/writer.js';
import type { TensorPlanEntry } from '../model-io/types.js';
import { compareOutput, summarizeOutputs, type ModelMetrics } from './metrics.js';
import type { EvalRunner } from './runner.js';

type Ort = typeof import('onnxruntime-common');

/** One model input's values (read from .npy/.npz, or generated). */
export interface EvalInput {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export interface OnnxRunnerOptions {
  /** Inputs by name; inputs left out are generated from the graph's shapes and dtypes. */
  inputs?: readonly EvalInput[];
  /** Dimensions for generated inputs by input name (needed where the graph's are symbolic and the
   * default does not suit: symbolic axes get 1 for the first axis, {@link DEFAULT_SYMBOLIC_DIM} for others). */
  shapes?: Readonly<Record<string, readonly number[]>>;
  /** Seed of generated inputs. Default 1. */
  seed?: number;
  /** Kernels for quantize; the reference codec when absent. */
  backend?: Backend;
}

/** The size a generated input gets along a symbolic axis other than the first. */
export const DEFAULT_SYMBOLIC_DIM = 64;

let ortModule: Promise<Ort> | null = null;

/** onnxruntime-node, imported once; a clear error when it is not installed. */
function loadOnnxRuntime(): Promise<Ort> {
  ortModule ??= (import('onnxruntime-node' as string) as Promise<Ort>).catch((e: unknown) => {
    ortModule = null;
    throw new OptionError(`evaluating ONNX models needs onnxruntime-node, which did not load (${(e as Error).message.split('\n')[0]}); install it beside microscale: npm install onnxruntime-node`);
  });
  return ortModule;
}

/** The tensors of an .npy or .npz file as evaluation inputs (an .npy's one array is named after the file). */
export async function readInputs(bytes: Uint8Array, fileName: string): Promise<EvalInput[]> {
  const reader = await openModel(bytesSource(bytes, fileName), { name: fileName });
  try {
    if (reader.format !== 'npy' && reader.format !== 'npz') throw new OptionError(`--inputs ${fileName} is ${reader.format}; give a .npy (one input) or .npz (arrays named by input)`);
    const out: EvalInput[] = [];
    for (const t of reader.tensors()) out.push({ name: t.name, shape: t.shape, data: await reader.read(t.name) });
    return out;
  } finally {
    await reader.close();
  }
}

type TypedValues = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | BigUint64Array;

const MAKERS: Readonly<Record<string, (values: Float32Array) => TypedValues>> = {
  float32: (v) => v,
  float64: (v) => Float64Array.from(v),
  int32: (v) => Int32Array.from(v, Math.trunc),
  int64: (v) => BigInt64Array.from(v, (x) => BigInt(Math.trunc(x))),
  uint8: (v) => Uint8Array.from(v, Math.trunc),
  int8: (v) => Int8Array.from(v, Math.trunc),
  int16: (v) => Int16Array.from(v, Math.trunc),
  uint16: (v) => Uint16Array.from(v, Math.trunc),
  bool: (v) => Uint8Array.from(v, (x) => (x !== 0 ? 1 : 0)),
};

/** Seeded values for a generated input: N(0, 1) for floats, integers 0…15 for integer types, 0/1 for bool. */
function generated(type: string, n: number, seed: number): Float32Array {
  const u = uniforms(seed);
  const out = new Float32Array(n);
  if (type.startsWith('float')) {
    for (let i = 0; i < n; i += 2) {
      const r = Math.sqrt(-2 * Math.log(1 - u()));
      const a = 2 * Math.PI * u();
      out[i] = r * Math.cos(a);
      if (i + 1 < n) out[i + 1] = r * Math.sin(a);
    }
  } else {
    const top = type === 'bool' ? 2 : 16;
    for (let i = 0; i < n; i++) out[i] = Math.min(top - 1, Math.floor(u() * top));
  }
  return out;
}

interface Feed {
  readonly name: string;
  readonly type: string;
  readonly shape: readonly number[];
  readonly values: TypedValues;
  readonly generated: boolean;
}

/** Feeds for every graph input: the user's arrays where given, generated ones elsewhere. */
function makeFeeds(session: InferenceSession, model: string, opts: OnnxRunnerOptions): Feed[] {
  const metas = session.inputMetadata;
  const given = new Map((opts.inputs ?? []).map((i) => [i.name, i]));
  // one .npy for a one-input model: named after its file, not the input
  if (metas.length === 1 && given.size === 1 && !given.has(metas[0]!.name)) given.set(metas[0]!.name, [...given.values()][0]!);
  const names = new Set(metas.map((m) => m.name));
  for (const name of given.keys()) if (!names.has(name) && !(metas.length === 1 && given.size === 1)) throw new OptionError(`--inputs has an array named "${name}", which ${model} has no input of; its inputs: ${[...names].join(', ')}`);
  for (const name of Object.keys(opts.shapes ?? {})) if (!names.has(name)) throw new OptionError(`--shape names input "${name}", which ${model} does not have; its inputs: ${[...names].join(', ')}`);
  return metas.map((meta, index) => {
    if (!meta.isTensor) throw new OptionError(`${model}: input "${meta.name}" is not a tensor (sequence or map); evaluation feeds tensors only`);
    const type = meta.type;
    const make = MAKERS[type];
    if (!make) throw new OptionError(`${model}: input "${meta.name}" is ${type}; evaluation feeds ${Object.keys(MAKERS).join(', ')} inputs`);
    const user = given.get(meta.name);
    if (user) return { name: meta.name, type, shape: user.shape, values: make(user.data), generated: false };
    const forced = opts.shapes?.[meta.name];
    const shape = forced ?? meta.shape.map((d, axis) => (typeof d === 'number' && d > 0 ? d : axis === 0 ? 1 : DEFAULT_SYMBOLIC_DIM));
    if (forced && forced.length !== meta.shape.length) throw new OptionError(`--shape ${meta.name}: ${model} declares ${meta.shape.length} axes, got ${forced.length}`);
    const n = shape.reduce((a, b) => a * b, 1);
    return { name: meta.name, type, shape, values: make(generated(type, n, (opts.seed ?? 1) + index)), generated: true };
  });
}

/** An output as float64-comparable numbers. */
function numbers(t: Tensor): ArrayLike<number> {
  const d = t.data as ArrayLike<number | bigint>;
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) return Array.from(d, Number);
  if (typeof (d as unknown[])[0] === 'string') throw new OptionError(`output of type ${t.type} cannot be compared numerically`);
  return d as ArrayLike<number>;
}

interface OutputValues {
  readonly name: string;
  readonly shape: readonly number[];
  readonly values: ArrayLike<number>;
}

/** The ONNX runner of {@link onnxRunner}, with the feeds it used. */
export interface OnnxRunner extends EvalRunner {
  /** The feeds, for reports: name, shape, dtype and whether generated. */
  readonly inputs: readonly { name: string; shape: readonly number[]; type: string; generated: boolean }[];
}

/** Open an ONNX model from its bytes and run the original once. */
export async function onnxRunner(bytes: Uint8Array, name: string, opts: OnnxRunnerOptions = {}): Promise<OnnxRunner> {
  const ort = await loadOnnxRuntime();
  const source = bytesSource(bytes, name);
  const reader = await openModel(source, { name });
  if (reader.format !== 'onnx') {
    await reader.close();
    throw new OptionError(`${name} is ${reader.format}, not ONNX`);
  }
  const sessionOptions: InferenceSession.SessionOptions = { executionProviders: ['cpu'], graphOptimizationLevel: 'all' };
  let feeds: Feed[];
  let original: OutputValues[];
  try {
    const session = await ort.InferenceSession.create(bytes, sessionOptions);
    feeds = makeFeeds(session, name, opts);
    original = await runSession(ort, session, feeds);
    await session.release();
  } catch (e) {
    await reader.close();
    throw e instanceof OptionError ? e : new OptionError(`onnxruntime could not run ${name} (${(e as Error).message.split('\n')[0]}); if its inputs have symbolic sizes, pass --shape INPUT=d0,d1,… or --inputs`);
  }
  const writeOptions = (plan: readonly TensorPlanEntry[]) => ({ kind: 'onnx' as const, layout: 'fake-quant', entries: plan, ...(opts.backend && { backend: opts.backend }) });
  return {
    kind: 'onnx',
    reader,
    inputs: feeds.map((f) => ({ name: f.name, shape: f.shape, type: f.type, generated: f.generated })),
    check: (plan) => onnxWriter.check({ reader, source, plan, layout: 'fake-quant' }),
    async evaluate(plans) {
      const out: ModelMetrics[] = [];
      for (const plan of plans) {
        const parts: Uint8Array[] = [];
        await writeModel(reader, source, { write: (c) => void parts.push(c.slice()) }, writeOptions(plan));
        const model = concatBytes(parts);
        const session = await ort.InferenceSession.create(model, sessionOptions);
        try {
          const outputs = await runSession(ort, session, feeds);
          out.push(summarizeOutputs(outputs.map((o, i) => compareOutput(o.name, o.shape, original[i]!.values, o.values))));
        } finally {
          await session.release();
        }
      }
      return out;
    },
    close: () => reader.close(),
  };
}

async function runSession(ort: Ort, session: InferenceSession, feeds: readonly Feed[]): Promise<OutputValues[]> {
  const inputs: Record<string, Tensor> = {};
  for (const f of feeds) inputs[f.name] = new ort.Tensor(f.type as 'float32', f.values as Float32Array, f.shape);
  const result = await session.run(inputs);
  return session.outputNames.map((n) => ({ name: n, shape: result[n]!.dims, values: numbers(result[n]!) }));
}

