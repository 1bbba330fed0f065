// Fuzz targets for the model writers (test/fuzz/README.md, "Adding a target"): a mutated source
// model is opened, planned (buildPlan, as `microscale quantize` does), checked and written into
// memory. A case passes when the writer refuses with a one-line ModelFileError or MicroscaleError
// (OptionError, ShapeError, EncodingError, …), or writes a file that microscale's readers open
// whole and whose tensors read back as the summary says: quantized ones equal to quantize() of the
// source, kept ones bit for bit as stored.
import { dequantize, quantize } from '../../src/formats/api.js';
import { MicroscaleError } from '../../src/formats/errors.js';
import { bytesSource, ModelFileError, openModel, type ModelReader } from '../../src/bdr-explorer/readers/index.js';
import { buildPlan, type PlanOptions } from '../../src/model-io/plan.js';
import { encodeGgufHeader } from '../../src/model-io/gguf/encode.js';
import { encodeSafetensorsHeader } from '../../src/model-io/safetensors/file.js';
import { readQuantizedSafetensors } from '../../src/model-io/safetensors/reader.js';
import { ggufWriter } from '../../src/model-io/gguf/writer.js';
import { onnxWriter } from '../../src/model-io/onnx/writer.js';
import { safetensorsWriter } from '../../src/model-io/safetensors/writer.js';
import type { ModelWriter, TensorPlanEntry, WriteSummary } from '../../src/model-io/types.js';
import { FLOAT, f32raw, model } from '../unit/model-io/onnx-build.js';
import { AllocationWatch, asRejection, exerciseReader, withinTimeout, type FuzzTarget, type TargetOutcome } from './harness.js';

// ------------------------------------------------------------------------------------- seeds
/** One source tensor of a writer seed. */
interface SeedTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly values: Float32Array;
}

/** Deterministic weight-like values. */
function seedValues(n: number, salt: number): Float32Array {
  const out = new Float32Array(n);
  let state = 0x9e3779b9 ^ salt;
  for (let i = 0; i < n; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = ((state / 2 ** 32) * 2 - 1) * 2 ** ((i % 5) - 3);
  }
  return out;
}

/** The tensors every writer seed holds: whole-block weights, an odd shape holding NaN and −0 (the
 * formats planned for it have a NaN code), an empty tensor, a 1-D norm holding ±Inf and a scalar.
 * Mutations of the weights' bytes add NaN and Inf where formats cannot hold them. */
const SEED_TENSORS: readonly SeedTensor[] = (
  [
    ['blk.0.attn_q.weight', [4, 64], []],
    ['blk.0.ffn_up.weight', [2, 32], []],
    ['blk.0.ffn_down.weight', [3, 96], []],
    ['blk.0.odd.weight', [3, 5], [NaN, -0]],
    ['blk.0.empty.weight', [0, 32], []],
    ['blk.0.attn_norm.weight', [64], [Infinity, -Infinity]],
    ['scale', [], []],
  ] as [string, number[], number[]][]
).map(([name, shape, specials], i) => {
  const values = seedValues(shape.reduce((a, b) => a * b, 1), i);
  specials.forEach((v, j) => (values[2 * j + 1] = v));
  return { name, shape, values };
});

function safetensorsSeed(): Uint8Array {
  const header = encodeSafetensorsHeader(SEED_TENSORS.map((t) => ({ name: t.name, dtype: 'F32', shape: t.shape, byteLength: 4 * t.values.length })), {});
  const out = new Uint8Array(header.length + SEED_TENSORS.reduce((a, t) => a + 4 * t.values.length, 0));
  out.set(header);
  let at = header.length;
  for (const t of SEED_TENSORS) {
    out.set(f32raw(t.values), at);
    at += 4 * t.values.length;
  }
  return out;
}

function ggufSeed(): Uint8Array {
  const dims = (shape: readonly number[]) => (shape.length === 0 ? [1] : shape.slice().reverse());
  const layouts = SEED_TENSORS.map((t) => ({ name: t.name, dims: dims(t.shape), typeId: 0, byteLength: 4 * t.values.length }));
  const { header, offsets, fileSize } = encodeGgufHeader([{ key: 'general.architecture', value: { type: 'string', value: 'llama' } }], layouts, 32);
  const out = new Uint8Array(fileSize);
  out.set(header);
  SEED_TENSORS.forEach((t, i) => out.set(f32raw(t.values), header.length + offsets[i]!));
  return out;
}

/** The weights as MatMul initializers (x @ W, so W is [K, N]), the rest feeding Identity nodes. */
function onnxSeed(): Uint8Array {
  const matmul = (t: SeedTensor) => t.shape.length === 2 && t.shape[0]! > 0 && t.shape[1]! % 32 === 0;
  return model({
    name: 'writer-seed',
    nodes: SEED_TENSORS.map((t, i) =>
      matmul(t) ? { opType: 'MatMul', inputs: [`x${i}`, t.name], outputs: [`y${i}`] } : { opType: 'Identity', inputs: [t.name], outputs: [`y${i}`] },
    ),
    initializers: SEED_TENSORS.map((t) => ({ name: t.name, dims: [...t.shape], raw: f32raw(t.values) })),
    inputs: SEED_TENSORS.flatMap((t, i) => (matmul(t) ? [[`x${i}`, FLOAT, [1, t.shape[0]!]] as [string, number, number[]]] : [])),
    outputs: SEED_TENSORS.map((t, i) => [`y${i}`, FLOAT, matmul(t) ? [1, t.shape[1]!] : [...t.shape]] as [string, number, number[]]),
  });
}

/** A small valid model of each reader kind the writers take, with the tensors above. */
export const WRITER_SEEDS: readonly { readonly name: string; readonly bytes: Uint8Array }[] = [
  { name: 'weights.safetensors', bytes: safetensorsSeed() },
  { name: 'weights.gguf', bytes: ggufSeed() },
  { name: 'weights.onnx', bytes: onnxSeed() },
];

// ------------------------------------------------------------------------------------- checks
/** Bitwise float32 equality, any NaN equal to any NaN; with `signedZero` false, −0 equals +0. */
function sameValues(a: Float32Array, b: Float32Array, signedZero = true): boolean {
  if (a.length !== b.length) return false;
  if (!signedZero) return a.every((v, i) => v === b[i] || (Number.isNaN(v) && Number.isNaN(b[i]!)));
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i] && !(Number.isNaN(a[i]!) && Number.isNaN(b[i]!))) return false;
  return true;
}

/** What quantize() gives for a planned source tensor, dequantized. */
async function expected(source: ModelReader, entry: TensorPlanEntry, tensorScale?: number): Promise<Float32Array> {
  const info = source.tensor(entry.name);
  const q = quantize(await source.read(entry.name), entry.format!, { ...entry.options, shape: info.shape, ...(tensorScale !== undefined && { tensorScale }) });
  return dequantize(q);
}

/** Throws (a finding) unless `out` is a file the readers open whole and whose tensors are what
 * `summary` and the checked plan say. */
async function checkOutput(writer: ModelWriter, source: ModelReader, checked: readonly TensorPlanEntry[], summary: WriteSummary, out: Uint8Array): Promise<void> {
  const fail = (what: string): never => {
    throw new Error(`.${writer.kind} ${summary.layout} from ${source.file}: ${what}`);
  };
  if (summary.bytesWritten !== out.length) fail(`summary says ${summary.bytesWritten} bytes, ${out.length} were written`);
  const sourceNames = source.tensors().map((t) => t.name);
  const reported = [...summary.quantized, ...summary.kept.map((k) => k.name)];
  if (reported.length !== sourceNames.length || [...reported].sort().join('\n') !== [...sourceNames].sort().join('\n')) {
    fail(`the summary's quantized and kept tensors (${reported.length}) are not the source's ${sourceNames.length}`);
  }
  const outName = `out.${writer.kind}`;
  const whole = await exerciseReader(out, outName);
  if (!whole.ok) fail(`its reader rejects the output: ${whole.error.message}`);
  const output = await openModel(bytesSource(out, outName));
  try {
    const outNames = new Set(output.tensors().map((t) => t.name));
    const byName = new Map(checked.map((e) => [e.name, e]));
    const stQuantized = writer.kind === 'safetensors' ? (await readQuantizedSafetensors(bytesSource(out, outName))).tensors : null;
    if (stQuantized && [...stQuantized.keys()].sort().join('\n') !== [...summary.quantized].sort().join('\n')) {
      fail(`readQuantizedSafetensors finds [${[...stQuantized.keys()].join(', ')}], the summary quantized [${summary.quantized.join(', ')}]`);
    }
    for (const name of summary.quantized) {
      const entry = byName.get(name);
      if (!entry || entry.format === null) fail(`"${name}" is reported quantized but the checked plan keeps it`);
      if (stQuantized) {
        const q = stQuantized.get(name)!;
        if (!sameValues(dequantize(q), await expected(source, entry!, q.format.tensorScale ? q.tensorScale : undefined))) fail(`"${name}" reads back unlike quantize(${entry!.format})`);
      } else if (writer.kind === 'gguf') {
        // ggml reads the E2M1 code of −0 as +0 (MXFP4/NVFP4 blocks re-laid from OCP's)
        if (!sameValues(await output.read(name), await expected(source, entry!), false)) fail(`"${name}" reads back unlike quantize(${entry!.format})`);
      } else if (outNames.has(name)) {
        // ONNX fake-quant in float: the initializer holds the dequantized values
        if (!sameValues(await output.read(name), await expected(source, entry!))) fail(`"${name}" reads back unlike quantize(${entry!.format})`);
      } else if (![...outNames].some((n) => n.startsWith(`${name}_`))) {
        // ONNX codes + scales (DequantizeLinear, MatMulNBits) are named after the weight (`w_quantized`, `w_Q4`)
        fail(`"${name}" is reported quantized but no output tensor is named after it (${[...outNames].join(', ')})`);
      }
    }
    for (const { name } of summary.kept) {
      const info = source.tensor(name);
      if (!info.floating || !info.readable) continue;
      if (!outNames.has(name)) fail(`kept tensor "${name}" is missing from the output`);
      if (!sameValues(await output.read(name), await source.read(name))) fail(`kept tensor "${name}" reads back changed`);
    }
  } finally {
    await output.close();
  }
}

/** A writer's refusal: a one-line ModelFileError (the source is corrupt) or MicroscaleError (the
 * plan or the values cannot be written) with a message; anything else is a finding. */
function asWriterRejection(e: unknown, name: string): TargetOutcome {
  if (e instanceof MicroscaleError && !(e instanceof ModelFileError)) {
    if (e.message.includes('\n')) throw new Error(`multi-line ${e.constructor.name}: ${e.message}`);
    if (e.message.trim().length < 16) throw new Error(`${e.constructor.name} without a message naming the problem: ${JSON.stringify(e.message)}`);
    return { ok: false, error: e };
  }
  return asRejection(e, name);
}

// ------------------------------------------------------------------------------------- targets
/** Mutated `seed` through `writer` (with `layout`) under the plan `planOptions` builds. */
export function writerTarget(writer: ModelWriter, layout: string, seed: { name: string; bytes: Uint8Array }, planOptions: PlanOptions): FuzzTarget {
  return {
    label: `write .${writer.kind} ${layout} from ${seed.name}`,
    seed: seed.name,
    original: seed.bytes,
    format: `${writer.kind} writer`,
    async run(bytes) {
      const work = async (): Promise<TargetOutcome> => {
        const watch = new AllocationWatch(bytes.length, false);
        const source = bytesSource(bytes, seed.name);
        const reader = await openModel(source);
        watch.step('opening');
        try {
          const plan = buildPlan(reader.tensors(), { ...planOptions, kind: writer.kind });
          const ctx = { reader, source, plan, layout };
          const checked = await writer.check(ctx);
          watch.step('checking');
          const parts: Uint8Array[] = [];
          const summary = await writer.write(ctx, { write: (c) => void parts.push(c.slice()) });
          watch.step('writing', summary.bytesWritten);
          const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
          parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
          await checkOutput(writer, reader, checked, summary, out);
          return { ok: true, tensors: reported(summary), elements: out.length };
        } finally {
          await reader.close();
        }
      };
      try {
        return await withinTimeout(work(), seed.name);
      } catch (e) {
        return asWriterRejection(e, seed.name);
      }
    },
  };
}

const reported = (s: WriteSummary) => s.quantized.length + s.kept.length;

/** Per writer and layout, the formats its plan asks for (ones the layout's loaders take). */
const WRITER_PLANS: readonly [ModelWriter, string, PlanOptions][] = [
  [ggufWriter, 'llama.cpp', { plan: { ffn_down: 'mxfp4', ffn_up: 'q4_0', '.*': 'q8_0' } }],
  [safetensorsWriter, 'microscale', { plan: { ffn_down: 'nvfp4', ffn_up: 'mx6', odd: 'fp8_e4m3', '.*': 'mxfp8_e4m3' } }],
  [safetensorsWriter, 'gpt-oss', { format: 'mxfp4' }],
  [safetensorsWriter, 'modelopt', { format: 'nvfp4' }],
  [safetensorsWriter, 'compressed-tensors', { format: 'nvfp4' }],
  [onnxWriter, 'fake-quant', { plan: { ffn_up: 'q4_0', '.*': 'mxfp8_e4m3' } }],
  [onnxWriter, 'packed', { format: 'q4_0' }],
];

/** Every writer and layout from every seed. */
export const WRITER_TARGETS: readonly FuzzTarget[] = WRITER_PLANS.flatMap(([writer, layout, plan]) => WRITER_SEEDS.map((seed) => writerTarget(writer, layout, seed, plan)));
