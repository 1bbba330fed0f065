// Child process of src/eval/llama.ts: runs llama.cpp (node-llama-cpp's prebuilt CPU build, never
// downloading or compiling) on GGUF models, one after the other, and reports over the IPC channel.
// It runs apart from the caller because a file llama.cpp rejects may abort the whole process.
//
// Job (a JSON file named by argv[2]): the models, the text, the window size and a scratch folder.
// The original model tokenizes the text; every model is then evaluated on the same windows, and the
// next-token probabilities at every scored position are either compared with the original's (kept
// in a scratch file, one float32 row per position, read back in order) or written out whole.
import { closeSync, openSync, readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { argmax, klDivergence, negativeLogLikelihood, quantile } from './llama-metrics.js';
import type { ChildJob, ChildMessage } from './llama-protocol.js';

// The node-llama-cpp surface used here, typed locally: the package is an optional peer dependency,
// loaded only at run time.
interface LlamaLike {
  loadModel(opts: { modelPath: string; gpuLayers: number }): Promise<ModelLike>;
  dispose(): Promise<void>;
}
interface ModelLike {
  tokenize(text: string): number[];
  readonly tokens: { readonly bos: number | null; readonly shouldPrependBosToken: boolean };
  readonly trainContextSize: number;
  createContext(opts: { contextSize: number; batchSize: number; flashAttention: boolean; threads?: number; sequences: number }): Promise<ContextLike>;
  dispose(): Promise<void>;
}
interface ContextLike {
  getSequence(): SequenceLike;
  dispose(): Promise<void>;
}
type EvaluateItem = number | [number, { generateNext: { probabilities: true } }];
interface SequenceLike {
  clearHistory(): Promise<void>;
  controlledEvaluate(input: EvaluateItem[]): Promise<Array<undefined | { next: { probabilities?: Map<number, number> } }>>;
}

/** Positions whose distributions are fetched per controlledEvaluate call (bounds the Maps held). */
const POSITIONS_PER_CALL = 16;

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve, reject) => process.send!(message, (e: Error | null) => (e ? reject(e) : resolve())));
}

/** One window: the tokens fed to the model and the index of the first scored position. */
interface Window {
  readonly tokens: number[];
  readonly firstScored: number;
}

/**
 * Split the text's tokens into windows of `contextSize` tokens (BOS first when the model wants one),
 * scoring the second half of each as llama-perplexity does: the logits at position j predict token
 * j + 1, for j from ⌊n/2⌋ to n − 2. Whole windows only, except that a text shorter than one window
 * makes one window of all of it.
 */
function windows(textTokens: number[], bos: number | null, contextSize: number): Window[] {
  const room = bos === null ? contextSize : contextSize - 1;
  const count = Math.max(1, Math.floor(textTokens.length / room));
  const out: Window[] = [];
  for (let w = 0; w < count; w++) {
    const slice = textTokens.slice(w * room, textTokens.length < room ? textTokens.length : (w + 1) * room);
    const tokens = bos === null ? slice : [bos, ...slice];
    out.push({ tokens, firstScored: Math.floor(tokens.length / 2) });
  }
  return out;
}

/** A probabilities Map (token id → p) as a dense row over the vocabulary. */
function denseRow(probabilities: Map<number, number>, vocabSize: number, file: string): Float32Array {
  const row = new Float32Array(vocabSize);
  for (const [token, p] of probabilities) {
    if (token >= vocabSize) throw new Error(`${file}: llama.cpp returned a probability for token ${token}, outside the original model's vocabulary of ${vocabSize} tokens; compare models with the same vocabulary`);
    row[token] = p;
  }
  return row;
}

/** Vocabulary size from a first distribution: one past the largest token id. */
function vocabularyOf(probabilities: Map<number, number>): number {
  let max = -1;
  for (const token of probabilities.keys()) if (token > max) max = token;
  return max + 1;
}

function sameTokens(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((t, i) => t === b[i]);
}

interface Scored {
  readonly target: number;
  readonly row: Float32Array;
}

/**
 * Evaluate `model` on the windows, calling `onRow` with the next-token distribution at every scored
 * position (in order) and the token that actually follows.
 */
async function evaluate(model: ModelLike, file: string, wins: Window[], contextSize: number, threads: number | undefined, vocab: { size: number }, onRow: (s: Scored) => void): Promise<void> {
  const context = await model.createContext({ contextSize, batchSize: contextSize, flashAttention: false, sequences: 1, ...(threads === undefined ? {} : { threads }) });
  try {
    const sequence = context.getSequence();
    for (let w = 0; w < wins.length; w++) {
      const { tokens, firstScored } = wins[w]!;
      await sequence.clearHistory();
      await sequence.controlledEvaluate(tokens.slice(0, firstScored));
      for (let at = firstScored; at < tokens.length - 1; at += POSITIONS_PER_CALL) {
        const end = Math.min(at + POSITIONS_PER_CALL, tokens.length - 1);
        const items: EvaluateItem[] = tokens.slice(at, end).map((t) => [t, { generateNext: { probabilities: true } }]);
        const results = await sequence.controlledEvaluate(items);
        for (let i = 0; i < items.length; i++) {
          const probabilities = results[i]?.next.probabilities;
          if (!probabilities) throw new Error(`${file}: llama.cpp returned no next-token probabilities at position ${at + i} of window ${w + 1}`);
          if (vocab.size === 0) vocab.size = vocabularyOf(probabilities);
          else if (w === 0 && at + i === firstScored && vocabularyOf(probabilities) !== vocab.size) {
            throw new Error(`${file} has a vocabulary of ${vocabularyOf(probabilities)} tokens where the original has ${vocab.size}; compare models with the same tokenizer`);
          }
          onRow({ target: tokens[at + i + 1]!, row: denseRow(probabilities, vocab.size, file) });
        }
      }
      await send({ kind: 'progress', file, window: w + 1, windows: wins.length });
    }
  } finally {
    await context.dispose();
  }
}

async function loadModel(llama: LlamaLike, file: string): Promise<ModelLike> {
  await send({ kind: 'stage', file, stage: 'loading' });
  try {
    return await llama.loadModel({ modelPath: file, gpuLayers: 0 });
  } catch (e) {
    throw new Error(`llama.cpp could not load ${file}: ${(e as Error).message}`);
  }
}

async function importLlama(specifier: string): Promise<{ getLlama: (opts: object) => Promise<LlamaLike> }> {
  try {
    return (await import(specifier)) as { getLlama: (opts: object) => Promise<LlamaLike> };
  } catch (e) {
    const code = (e as { code?: string }).code;
    // not found itself (rather than one of its own dependencies)
    if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && (e as Error).message.includes(`'${specifier}'`)) {
      throw new Error(`${specifier} is not installed; GGUF models are evaluated with llama.cpp through it: run \`npm install node-llama-cpp\` (an optional peer dependency of microscale) in your project`);
    }
    throw new Error(`could not load ${specifier}: ${(e as Error).message}`);
  }
}

async function main(job: ChildJob): Promise<void> {
  const { getLlama } = await importLlama(job.module);
  let llama: LlamaLike;
  try {
    llama = await getLlama({
      gpu: false,
      build: 'never',
      skipDownload: true,
      progressLogs: false,
      logLevel: 'error',
      logger: (_level: string, message: string) => void process.stderr.write(message.endsWith('\n') ? message : `${message}\n`),
    });
  } catch (e) {
    throw new Error(`node-llama-cpp has no usable prebuilt llama.cpp binary for this machine (${process.platform}-${process.arch}, CPU); microscale never compiles or downloads one. Install node-llama-cpp's prebuilt package for this platform, or build it yourself (npx node-llama-cpp source download). Cause: ${(e as Error).message}`);
  }
  try {
    const [originalPath, ...others] = job.files;
    const original = await loadModel(llama, originalPath!);
    const textTokens = original.tokenize(job.text).slice(0, job.maxTokens ?? undefined);
    const bos = original.tokens.shouldPrependBosToken ? original.tokens.bos : null;
    const contextSize = job.contextSize ?? Math.min(512, original.trainContextSize);
    const wins = windows(textTokens, bos, contextSize);
    if (wins[0]!.tokens.length < 3) throw new Error(`the text makes only ${textTokens.length} token(s) with ${originalPath}'s tokenizer; give a longer text (at least 3 tokens are needed to score one)`);
    const vocab = { size: 0 };
    const targets: number[] = [];
    const originalNll: number[] = [];
    // the original's rows, one after the other, to read back in the same order for each other model
    const rowsPath = join(job.scratch, job.mode === 'compare' ? 'original.f32' : 'distributions-0.f32');
    let fd = openSync(rowsPath, 'w');
    await send({ kind: 'stage', file: originalPath!, stage: 'evaluating' });
    await evaluate(original, originalPath!, wins, contextSize, job.threads, vocab, ({ target, row }) => {
      targets.push(target);
      originalNll.push(negativeLogLikelihood(row, target));
      writeSync(fd, new Uint8Array(row.buffer, row.byteOffset, row.byteLength));
    });
    closeSync(fd);
    await original.dispose();
    const perplexityOriginal = Math.exp(originalNll.reduce((a, b) => a + b, 0) / originalNll.length);
    if (job.mode === 'distributions') writeFileSync(join(job.scratch, 'targets.json'), JSON.stringify(targets));
    await send({ kind: 'tokenized', positions: targets.length, vocabSize: vocab.size, contextSize, windows: wins.length });

    for (let index = 0; index < others.length; index++) {
      const file = others[index]!;
      const model = await loadModel(llama, file);
      const modelBos = model.tokens.shouldPrependBosToken ? model.tokens.bos : null;
      if (modelBos !== bos || !sameTokens(model.tokenize(job.text).slice(0, job.maxTokens ?? undefined), textTokens)) {
        throw new Error(`${file} tokenizes the text differently from ${originalPath}; compare models with the same tokenizer`);
      }
      await send({ kind: 'stage', file, stage: 'evaluating' });
      let position = 0;
      if (job.mode === 'distributions') {
        fd = openSync(join(job.scratch, `distributions-${index + 1}.f32`), 'w');
        await evaluate(model, file, wins, contextSize, job.threads, vocab, ({ row }) => {
          position++;
          writeSync(fd, new Uint8Array(row.buffer, row.byteOffset, row.byteLength));
        });
        closeSync(fd);
      } else {
        fd = openSync(rowsPath, 'r');
        const reference = new Float32Array(vocab.size);
        const referenceBytes = new Uint8Array(reference.buffer);
        const kl: number[] = [];
        let agree = 0;
        let nll = 0;
        await evaluate(model, file, wins, contextSize, job.threads, vocab, ({ target, row }) => {
          readSync(fd, referenceBytes, 0, referenceBytes.length, position * referenceBytes.length);
          kl.push(klDivergence(reference, row));
          if (argmax(reference) === argmax(row)) agree++;
          nll += negativeLogLikelihood(row, target);
          position++;
        });
        closeSync(fd);
        await send({
          kind: 'comparison',
          index,
          comparison: {
            tokens: kl.length,
            meanKl: kl.reduce((a, b) => a + b, 0) / kl.length,
            p99Kl: quantile(kl, 0.99),
            top1Agreement: agree / kl.length,
            perplexityOriginal,
            perplexityQuantized: Math.exp(nll / kl.length),
            contextSize,
          },
        });
      }
      await model.dispose();
      if (position !== targets.length) throw new Error(`${file}: scored ${position} positions where the original gave ${targets.length}`);
    }
    await send({ kind: 'done' });
  } finally {
    await llama.dispose();
  }
}

// the caller went away: nobody is left to read the results
process.on('disconnect', () => process.exit(1));
const job = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as ChildJob;
main(job).then(
  () => {
    process.removeAllListeners('disconnect');
    process.disconnect();
    process.exit(0);
  },
  async (e: unknown) => {
    await send({ kind: 'error', message: e instanceof Error ? e.message : String(e) }).catch(() => undefined);
    process.exit(1);
  },
);
