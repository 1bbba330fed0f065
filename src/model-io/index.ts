// microscale/io: write quantized model files (browser-safe). A model comes in as a Blob/File, bytes
// or a ByteSource; the output goes to a ByteSink, a WritableStream or a Blob. Node file paths:
// 'microscale/io/node'.
import { openModel, type ModelInput, type OpenModelOptions } from '../bdr-explorer/readers/open.js';
import { blobSource, bytesSource, type BlobLike, type ByteSource } from '../bdr-explorer/readers/source.js';
import type { ModelReader } from '../bdr-explorer/readers/types.js';
import type { Backend } from '../kernels/backend.js';
import { buildPlan, type PlanOptions } from './plan.js';
import type { ByteSink, ModelWriter, OutputKind, TensorPlanEntry, WriteContext, WriteSummary } from './types.js';
import { writerFor, writerForName } from './writers.js';

export { buildPlan, checkPlanMap, normalizeFormatName } from './plan.js';
export type { PlanMap, PlanOptions } from './plan.js';
export { MODEL_WRITERS, outputKindFromName, writerFor, writerForName } from './writers.js';
export { ggufWriter, scaleTensorName } from './gguf/writer.js';
export { safetensorsWriter } from './safetensors/writer.js';
export { SAFETENSORS_LAYOUTS } from './safetensors/layouts.js';
export { readQuantizedSafetensors } from './safetensors/reader.js';
export type { QuantizedSafetensors } from './safetensors/reader.js';
export { onnxWriter, ONNX_LAYOUTS } from './onnx/writer.js';
export { readGgufHeader, readGgufMetadataValue } from '../bdr-explorer/readers/gguf.js';
export type { GgufHeader, GgufMetadataEntry, GgufMetadataValue, GgufTensorInfo } from '../bdr-explorer/readers/gguf.js';
export { encodeGgufHeader, GGUF_TYPE } from './gguf/encode.js';
export type { GgufKv, GgufValue, GgufScalarType, GgufTensorLayout, GgufLayout } from './gguf/encode.js';
export { ggufTarget, encodePlain, GGUF_FORMATS } from './gguf/targets.js';
export type { GgufTarget, TargetKind } from './gguf/targets.js';
export { openModel, sniffFormat, formatFromName, ModelFileError, bytesSource, blobSource, blobResolver, concatSource } from '../bdr-explorer/readers/index.js';
export type { ModelInput, OpenModelOptions, ModelReader, TensorInfo, ModelFormat, ByteSource, BlobLike } from '../bdr-explorer/readers/index.js';
export type { ByteSink, ModelWriter, OutputKind, Sidecar, TensorPlanEntry, WriteContext, WriteSummary } from './types.js';

/** Options of {@link quantizeModel} and {@link quantizeModelTo}: the plan options plus the output. */
export interface QuantizeModelOptions extends PlanOptions {
  /** Output kind; default from `outputName`'s extension. One of the two is needed. */
  kind?: OutputKind;
  /** Output file name (its extension picks the kind). */
  outputName?: string;
  /** A convention where one output kind has several. */
  layout?: string;
  /** Kernels for quantize; the reference codec when absent. */
  backend?: Backend;
  /** A ready plan (one entry per source tensor) instead of building one from the options. */
  entries?: readonly TensorPlanEntry[];
  /** Called once the writer has checked the plan, before any byte is written. */
  onPlan?: (plan: readonly TensorPlanEntry[]) => void;
  onProgress?: (done: number, total: number, tensor: string) => void;
  /** How to open the input (format override, sibling files for tfjs). */
  open?: OpenModelOptions;
}

function toSource(input: ModelInput, name: string | undefined): ByteSource {
  if (input instanceof Uint8Array) return bytesSource(input, name);
  if (typeof (input as ByteSource).read === 'function') return input as ByteSource;
  return blobSource(input as BlobLike, name);
}

function pickWriter(opts: QuantizeModelOptions): ModelWriter {
  if (opts.kind !== undefined) return writerFor(opts.kind);
  if (opts.outputName !== undefined) return writerForName(opts.outputName);
  return writerFor('gguf');
}

/** Plan, check and write an opened model. */
export async function writeModel(reader: ModelReader, source: ByteSource, sink: ByteSink, opts: QuantizeModelOptions): Promise<WriteSummary> {
  const writer = pickWriter(opts);
  const plan = opts.entries ?? buildPlan(reader.tensors(), { ...opts, kind: writer.kind });
  const base: WriteContext = { reader, source, plan, ...(opts.layout !== undefined && { layout: opts.layout }), ...(opts.backend && { backend: opts.backend }) };
  const checked = await writer.check(base);
  opts.onPlan?.(checked);
  return writer.write({ ...base, ...(opts.onProgress && { onProgress: opts.onProgress }) }, sink);
}

/** Quantize a model and write the output file to `sink`, one tensor at a time. */
export async function quantizeModelTo(input: ModelInput, sink: ByteSink, opts: QuantizeModelOptions): Promise<WriteSummary> {
  const source = toSource(input, opts.open?.name);
  const reader = await openModel(source, opts.open ?? {});
  try {
    return await writeModel(reader, source, sink, opts);
  } finally {
    await reader.close();
  }
}

/** Quantize a model into a Blob (the browser keeps the parts; nothing is copied into one buffer). */
export async function quantizeModel(input: ModelInput, opts: QuantizeModelOptions): Promise<{ blob: Blob; summary: WriteSummary }> {
  const parts: Uint8Array[] = [];
  const summary = await quantizeModelTo(input, { write: (chunk) => void parts.push(chunk) }, opts);
  return { blob: new Blob(parts as unknown as ConstructorParameters<typeof Blob>[0], { type: 'application/octet-stream' }), summary };
}

/** A ByteSink over a WritableStream (e.g. from the File System Access API); waits for back-pressure. */
export function writableStreamSink(stream: WritableStream<Uint8Array>): ByteSink & { close(): Promise<void>; abort(reason?: unknown): Promise<void> } {
  const writer = stream.getWriter();
  return {
    async write(chunk) {
      await writer.ready;
      await writer.write(chunk);
    },
    close: () => writer.close(),
    abort: (reason) => writer.abort(reason),
  };
}
