// Model writers by output kind. Each entry is one writer; the output kind comes from the output
// file's extension.
import { OptionError } from '../formats/errors.js';
import { ggufWriter } from './gguf/writer.js';
import { onnxWriter } from './onnx/writer.js';
import { safetensorsWriter } from './safetensors/writer.js';
import type { ModelWriter, OutputKind } from './types.js';

/** Every writer this build has. */
export const MODEL_WRITERS: readonly ModelWriter[] = [ggufWriter, safetensorsWriter, onnxWriter];

const EXTENSIONS: Readonly<Record<string, OutputKind>> = { gguf: 'gguf', safetensors: 'safetensors', onnx: 'onnx' };

/** The output kind a file name's extension names, or null. */
export function outputKindFromName(name: string): OutputKind | null {
  const m = /\.([a-z]+)$/i.exec(name);
  return m ? (EXTENSIONS[m[1]!.toLowerCase()] ?? null) : null;
}

/** The writer for an output kind; an OptionError listing the kinds this build writes otherwise. */
export function writerFor(kind: OutputKind | string): ModelWriter {
  const w = MODEL_WRITERS.find((x) => x.kind === kind);
  if (!w) throw new OptionError(`no writer for ${JSON.stringify(kind)} output in this build; it writes ${MODEL_WRITERS.map((x) => `.${x.kind}`).join(', ')}`);
  return w;
}

/** The writer for an output file name, by extension. */
export function writerForName(name: string): ModelWriter {
  const kind = outputKindFromName(name);
  if (kind === null) throw new OptionError(`cannot tell the output kind of ${JSON.stringify(name)}; name it .${MODEL_WRITERS.map((x) => x.kind).join(', .')}`);
  return writerFor(kind);
}
