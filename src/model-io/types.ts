// The contract between `microscale quantize` (and its library form) and the model writers. A plan
// says, per tensor of the source model, which format it gets or why it keeps its stored dtype; a
// writer checks the whole plan before writing a byte, then streams tensors one at a time.
import type { ModelReader } from '../bdr-explorer/readers/types.js';
import type { ByteSource } from '../bdr-explorer/readers/source.js';
import type { QuantizeOptions } from '../formats/options.js';
import type { Backend } from '../kernels/backend.js';

/** Output kinds, chosen from the output file's extension. */
export type OutputKind = 'gguf' | 'safetensors' | 'onnx';

/** What happens to one tensor of the source model. */
export interface TensorPlanEntry {
  /** Tensor name as the source reader lists it. */
  readonly name: string;
  /** Target format (a catalog name or generic constructor), or null to keep the tensor as stored. */
  readonly format: string | null;
  /** Options passed to quantize (preset, blockSize, axis, …); empty when `format` is null. */
  readonly options: QuantizeOptions;
  /** Why the tensor keeps its stored dtype (1-D, excluded by a pattern, shape the format cannot take). */
  readonly reason?: string;
}

/** Sequential bytes out: a file written all-or-nothing in Node, Blob parts in a browser. */
export interface ByteSink {
  write(chunk: Uint8Array): void | Promise<void>;
}

/** Everything a writer needs for one run. */
export interface WriteContext {
  /** The source model, opened for one-tensor-at-a-time reads. */
  readonly reader: ModelReader;
  /** The source file's bytes, for writers that copy metadata, graphs or raw tensors unchanged. */
  readonly source: ByteSource;
  /** One entry per tensor of the source, in the source's order. */
  readonly plan: readonly TensorPlanEntry[];
  /** A convention where one output kind has several (e.g. safetensors `gpt-oss`, `modelopt`). */
  readonly layout?: string;
  /** Kernels for quantize; the reference codec when absent. */
  readonly backend?: Backend;
  readonly onProgress?: (done: number, total: number, tensor: string) => void;
}

/** A config file that a layout's loaders read beside the model file (safetensors `hf_quant_config.json`,
 * `config.json`'s `quantization_config`). The command writes it next to the output. */
export interface Sidecar {
  /** File name, relative to the output file's folder. */
  readonly file: string;
  /** The file's JSON; with `mergeKey`, the value to set under that key of the file the model already
   * has (config.json is the model's own; the writer only knows its quantization part). */
  readonly json: unknown;
  readonly mergeKey?: string;
}

/** What a writer reports once the file is complete. */
export interface WriteSummary {
  readonly kind: OutputKind;
  readonly layout: string;
  readonly bytesWritten: number;
  /** Tensors written quantized, and kept (with the reason), by name. */
  readonly quantized: readonly string[];
  readonly kept: readonly { readonly name: string; readonly reason: string }[];
  /** Config files to write beside the output (optional; absent when the layout needs none). */
  readonly sidecars?: readonly Sidecar[];
  /** Tensors stored in a runtime's packed form, with the operator that reads them (ONNX `packed`). */
  readonly packed?: readonly { readonly name: string; readonly as: string }[];
}

/** One output kind. */
export interface ModelWriter {
  readonly kind: OutputKind;
  /** Conventions this kind can write; the first is the default. */
  readonly layouts: readonly string[];
  /** Throw a clear error (naming tensor, block and fix) for anything the target runtime would refuse,
   * before any byte is written. Returns the plan as it will be written (entries a layout cannot
   * take turned into kept ones, with their reason). */
  check(ctx: WriteContext): Promise<readonly TensorPlanEntry[]>;
  /** Write the whole file to `sink`. */
  write(ctx: WriteContext, sink: ByteSink): Promise<WriteSummary>;
}
