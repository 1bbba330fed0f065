import { ModelFileError } from './errors.js';
import type { ByteSource } from './source.js';

/** File formats the readers understand. */
export type ModelFormat = 'safetensors' | 'gguf' | 'npy' | 'npz' | 'onnx' | 'tfjs';

/** One tensor of a model file, as listed before any data is read. */
export interface TensorInfo {
  /** Name, unique within the file. */
  readonly name: string;
  /** Dimensions, outermost first (GGUF's innermost-first order is reversed). */
  readonly shape: readonly number[];
  /** Stored dtype in one vocabulary for every format: `f32`, `f16`, `bf16`, `f8_e4m3`, `f4_e2m1`,
   * `i64`, `bool`, `q4_0`, `ggml_mxfp4`, `u8_affine`, … (see `DTYPES` in dtypes.ts). */
  readonly dtype: string;
  /** Number of elements (the product of `shape`). */
  readonly elements: number;
  /** Bytes the tensor occupies in the file. */
  readonly byteLength: number;
  /** Real-valued data (floats, block-quantized floats, affine-quantized floats): the tensors a format
   * sweep is meant for. False for integers and booleans. */
  readonly floating: boolean;
  /** Whether `read` can decode it (false for K-quants, strings, complex numbers, external data). */
  readonly readable: boolean;
}

/** A model file opened for lazy, one-tensor-at-a-time reading. */
export interface ModelReader {
  readonly format: ModelFormat;
  /** Name of the file (for messages). */
  readonly file: string;
  /** Every tensor, in file order. */
  tensors(): TensorInfo[];
  /** The tensor of that name; a ModelFileError ('not-found') if there is none. */
  tensor(name: string): TensorInfo;
  /** Read one tensor and convert it to float32 (exactly, for every dtype of 24 bits or less of
   * precision; integers beyond 2^24 and f64 values round to nearest). Reads only that tensor's bytes. */
  read(name: string): Promise<Float32Array>;
  /** Release file handles. Further reads fail. */
  close(): Promise<void>;
}

/** Where a tensor's data lives and how to turn it into float32: the part each format supplies. */
export interface TensorEntry {
  readonly info: TensorInfo;
  decode(): Promise<Float32Array>;
}

/** A ModelReader over entries that each format's parser produced. */
export function makeReader(format: ModelFormat, source: ByteSource, entries: readonly TensorEntry[], extra: readonly ByteSource[] = []): ModelReader {
  const byName = new Map<string, TensorEntry>();
  for (const e of entries) byName.set(e.info.name, e);
  let closed = false;
  const get = (name: string): TensorEntry => {
    const e = byName.get(name);
    if (!e) throw new ModelFileError(source.name, 'not-found', `no tensor named "${name}"; list names with tensors()`, name);
    return e;
  };
  return {
    format,
    file: source.name,
    tensors: () => entries.map((e) => e.info),
    tensor: (name) => get(name).info,
    async read(name) {
      if (closed) throw new ModelFileError(source.name, 'closed', 'the reader was closed; open the file again', name);
      return get(name).decode();
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const s of extra) await s.close();
      await source.close();
    },
  };
}
