// microscale/eval/node: evaluate a model file on disk (ONNX through onnxruntime-node, GGUF through
// llama.cpp), both optional peers loaded on first use.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { OptionError } from '../formats/errors.js';
import { evaluateModel, type EvaluateOptions, type EvaluationResult } from './evaluate.js';
import type { GgufRunnerOptions } from './gguf.js';
import { onnxRunner, readInputs, type OnnxRunnerOptions } from './onnx.js';
import type { EvalRunner } from './runner.js';

export { onnxRunner, readInputs, DEFAULT_SYMBOLIC_DIM } from './onnx.js';
export type { EvalInput, OnnxRunner, OnnxRunnerOptions } from './onnx.js';
export type { GgufRunnerOptions } from './gguf.js';

/** Open a GGUF model for evaluation through llama.cpp (loaded only here, so ONNX evaluation never
 * touches node-llama-cpp). */
export async function ggufRunner(path: string, opts: GgufRunnerOptions = {}): Promise<EvalRunner> {
  const gguf = await import('./gguf.js');
  return gguf.ggufRunner(path, opts);
}

export interface EvaluateFileOptions extends EvaluateOptions {
  /** ONNX: a .npy/.npz file of inputs (by input name). */
  inputsPath?: string;
  /** ONNX: dimensions of generated inputs, by input name. */
  shapes?: OnnxRunnerOptions['shapes'];
  seed?: number;
  /** GGUF: text to score (default: the bundled public-domain sample). */
  text?: string;
  contextSize?: GgufRunnerOptions['contextSize'];
  maxTokens?: GgufRunnerOptions['maxTokens'];
}

/** Open the right runner for a model file (by extension: .onnx or .gguf). */
export async function openRunner(path: string, opts: Omit<EvaluateFileOptions, 'formats'> = {}): Promise<EvalRunner> {
  if (/\.onnx$/i.test(path)) {
    if (opts.text !== undefined) throw new OptionError('--text is for GGUF language models; ONNX models take --inputs or --shape');
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(readFileSync(path));
    } catch (e) {
      throw new OptionError(`${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    const inputs = opts.inputsPath === undefined ? undefined : await readInputs(new Uint8Array(readFileSync(opts.inputsPath)), basename(opts.inputsPath));
    return onnxRunner(bytes, path, { ...(inputs && { inputs }), ...(opts.shapes && { shapes: opts.shapes }), ...(opts.seed !== undefined && { seed: opts.seed }), ...(opts.backend && { backend: opts.backend }) });
  }
  if (/\.gguf$/i.test(path)) {
    if (opts.inputsPath !== undefined || opts.shapes !== undefined) throw new OptionError('--inputs and --shape are for ONNX models; GGUF language models take --text');
    return ggufRunner(path, { ...(opts.text !== undefined && { text: opts.text }), ...(opts.contextSize !== undefined && { contextSize: opts.contextSize }), ...(opts.maxTokens !== undefined && { maxTokens: opts.maxTokens }), ...(opts.backend && { backend: opts.backend }) });
  }
  throw new OptionError(`${path}: evaluation runs .onnx models (onnxruntime) and .gguf language models (llama.cpp); convert the model to one of them`);
}

/** Evaluate a model file with every format (and optionally sensitivity and a target search). */
export async function evaluateModelFile(path: string, opts: EvaluateFileOptions): Promise<EvaluationResult> {
  const runner = await openRunner(path, opts);
  try {
    return await evaluateModel(runner, opts);
  } finally {
    await runner.close();
  }
}
