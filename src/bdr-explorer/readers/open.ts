// openModel: pick the format from magic bytes (then from the file extension) and open it.
import { ModelFileError } from './errors.js';
import { openGguf } from './gguf.js';
import { NPY_MAGIC, openNpy } from './npy.js';
import { openNpz } from './npz.js';
import { openOnnx } from './onnx.js';
import { openSafetensors } from './safetensors.js';
import { blobSource, bytesSource, type BlobLike, type ByteSource, type SiblingResolver } from './source.js';
import { looksLikeTfjs, openTfjs } from './tfjs.js';
import type { ModelFormat, ModelReader } from './types.js';

/** Anything openModel can read: a ByteSource, a Blob/File, or bytes in memory. */
export type ModelInput = ByteSource | BlobLike | Uint8Array;

export interface OpenModelOptions {
  /** Skip detection and read the file as this format. */
  format?: ModelFormat;
  /** Name for messages (default: the File name, or 'buffer'). */
  name?: string;
  /** Opens files next to the model file (tfjs weight shards). */
  resolve?: SiblingResolver;
}

const EXTENSIONS: Readonly<Record<string, ModelFormat>> = {
  safetensors: 'safetensors',
  gguf: 'gguf',
  npy: 'npy',
  npz: 'npz',
  onnx: 'onnx',
  json: 'tfjs',
};

function toSource(input: ModelInput, name: string | undefined): ByteSource {
  if (input instanceof Uint8Array) return bytesSource(input, name);
  if (typeof (input as ByteSource).read === 'function') return input as ByteSource;
  if (typeof (input as BlobLike).slice === 'function') return blobSource(input as BlobLike, name);
  throw new ModelFileError(name ?? 'input', 'malformed', 'openModel takes a Uint8Array, a Blob/File or a ByteSource');
}

/** The format a file's magic bytes announce, or null (safetensors counts when its 8-byte header
 * length fits the file and the JSON starts with '{'). */
export function sniffFormat(head: Uint8Array, size: number): ModelFormat | null {
  const starts = (sig: readonly number[]) => sig.every((b, i) => head[i] === b);
  if (starts([0x47, 0x47, 0x55, 0x46])) return 'gguf';
  if (starts(NPY_MAGIC)) return 'npy';
  if (starts([0x50, 0x4b, 0x03, 0x04]) || starts([0x50, 0x4b, 0x05, 0x06])) return 'npz';
  if (head.length >= 9 && head[8] === 0x7b) {
    const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
    const len = dv.getUint32(4, true) * 2 ** 32 + dv.getUint32(0, true);
    if (len <= size - 8) return 'safetensors';
  }
  return null;
}

/** A guess for files without magic: JSON text is a tfjs model.json, a leading ir_version field an
 * ONNX ModelProto. */
function guessFormat(head: Uint8Array): ModelFormat | null {
  if (looksLikeTfjs(head)) return 'tfjs';
  if (head[0] === 0x08) return 'onnx';
  return null;
}

/** The format a file name's extension suggests, or null. */
export function formatFromName(name: string): ModelFormat | null {
  const m = /\.([a-z0-9]+)$/i.exec(name);
  return m ? (EXTENSIONS[m[1]!.toLowerCase()] ?? null) : null;
}

/**
 * Open a model file for lazy reading. Detects safetensors, GGUF, .npy and .npz by their first
 * bytes, then goes by the name's extension (.onnx, .json, or the others when their magic is
 * damaged, so that their reader can say what is wrong), then guesses ONNX or tfjs from content. Only headers are read here; each
 * `read(name)` then reads one tensor. On success the reader owns the source (`close()` closes it);
 * on failure a caller-supplied ByteSource is left open.
 */
export async function openModel(input: ModelInput, options: OpenModelOptions = {}): Promise<ModelReader> {
  const source = toSource(input, options.name);
  const head = await source.read(0, Math.min(16, source.size));
  const format = options.format ?? sniffFormat(head, source.size) ?? formatFromName(source.name) ?? guessFormat(head);
  switch (format) {
    case 'safetensors':
      return openSafetensors(source);
    case 'gguf':
      return openGguf(source);
    case 'npy':
      return openNpy(source);
    case 'npz':
      return openNpz(source);
    case 'onnx':
      return openOnnx(source);
    case 'tfjs':
      return openTfjs(source, options.resolve);
    case null:
      throw new ModelFileError(
        source.name,
        source.size === 0 ? 'truncated' : 'bad-magic',
        source.size === 0 ? 'the file is empty' : 'not a recognised model file (safetensors, GGUF, .npy, .npz, ONNX or tfjs model.json)',
      );
    default:
      throw new ModelFileError(source.name, 'malformed', `unknown format option ${JSON.stringify(format)}`);
  }
}
