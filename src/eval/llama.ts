// GGUF language models judged by llama.cpp: the next-token distributions of an original model and
// of its quantized versions over a text, compared position by position, as `llama-perplexity
// --kl-divergence` does. llama.cpp (node-llama-cpp, an optional peer dependency) runs in a child
// process (./llama-child.ts), so a file that aborts it cannot take the caller down.
import { fork } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_EVAL_TEXT } from './default-text.js';
import type { ChildComparison, ChildJob, ChildMessage } from './llama-protocol.js';

export { DEFAULT_EVAL_TEXT };
export { PROBABILITY_FLOOR } from './llama-metrics.js';

export interface LlamaComparison {
  /** Positions compared. */
  readonly tokens: number;
  /** Mean over positions of KL(P_original ‖ P_quantized), nats. */
  readonly meanKl: number;
  /** 99th percentile of the per-position KL (linear between the nearest ranks), nats. */
  readonly p99Kl: number;
  /** Fraction of positions where the most likely next token agrees (lowest id among ties). */
  readonly top1Agreement: number;
  /** exp(mean NLL of the token that actually follows), for the original model. */
  readonly perplexityOriginal: number;
  readonly perplexityQuantized: number;
  /** Tokens per evaluation window (BOS included). */
  readonly contextSize?: number;
}

export interface GgufEvalOptions {
  /** The text to score; default DEFAULT_EVAL_TEXT. Tokenized by the original model's tokenizer. */
  text?: string;
  /** Tokens per window, BOS included; the second half of each window is scored. Default 512, or
   * the original model's training context when that is smaller. */
  contextSize?: number;
  /** Keep only the first `maxTokens` tokens of the text. Default: all. */
  maxTokens?: number;
  /** llama.cpp CPU threads. Default: node-llama-cpp's (all cores). */
  threads?: number;
  /** Stop the child when it reports no progress (a model loaded, a window evaluated) for this long.
   * Default 300000 ms. */
  timeoutMs?: number;
  /** Called as the child loads and evaluates each model. */
  onProgress?: (event: GgufEvalProgress) => void;
  /** The module the child imports instead of `node-llama-cpp` (a bare specifier resolved from
   * microscale's folder, or a file URL). For unusual installs and tests. */
  llamaModule?: string;
}

export type GgufEvalProgress =
  | { readonly file: string; readonly stage: 'loading' | 'evaluating' }
  | { readonly file: string; readonly stage: 'window'; readonly window: number; readonly windows: number };

/** Raw next-token distributions of several models at the same scored positions. */
export interface GgufDistributions {
  /** Token ids per probability row (the original's vocabulary). */
  readonly vocabSize: number;
  /** Tokens per window, BOS included. */
  readonly contextSize: number;
  /** The token that actually follows each scored position. */
  readonly targets: readonly number[];
  /** Per file (same order): positions × vocabSize float32 probabilities as llama.cpp returned them, row-major. */
  readonly probabilities: readonly Float32Array[];
}

const DEFAULT_TIMEOUT_MS = 300_000;
const GGUF_MAGIC = 'GGUF';

/** The child script: beside this module in dist; from sources (tests), the built one. */
function childScript(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const beside = join(here, 'llama-child.js');
  if (existsSync(beside)) return beside;
  const built = resolve(here, '../../dist/eval/llama-child.js');
  if (existsSync(join(here, 'llama-child.ts')) && existsSync(built)) return built;
  throw new Error(`the llama.cpp child script is missing (looked for ${beside}${existsSync(join(here, 'llama-child.ts')) ? ` and ${built}: run npm run build` : '; reinstall microscale'})`);
}

/** Throws unless `path` is a readable file starting with the GGUF magic. */
function checkGgufFile(path: string, role: string): void {
  let size: number;
  try {
    const s = statSync(path);
    if (!s.isFile()) throw new Error(`${role} ${path} is not a file; give the path of a .gguf model`);
    size = s.size;
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') throw new Error(`${role} ${path} does not exist; check the path`);
    throw e;
  }
  const head = Buffer.alloc(4);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, 4, 0);
  } finally {
    closeSync(fd);
  }
  if (size < 4 || head.toString('latin1') !== GGUF_MAGIC) throw new Error(`${role} ${path} is not a GGUF file (it does not start with "GGUF"); give a .gguf model`);
}

function checkCount(name: string, value: number | undefined, min: number): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= min)) throw new Error(`${name} must be an integer of at least ${min} (got ${value})`);
}

/** Keeps the last `limit` characters written to it. */
class Tail {
  private text = '';
  constructor(private readonly limit: number) {}
  push(chunk: string): void {
    this.text = (this.text + chunk).slice(-this.limit);
  }
  toString(): string {
    return this.text.trim();
  }
}

interface ChildRun {
  readonly comparisons: ChildComparison[];
  readonly tokenized: Extract<ChildMessage, { kind: 'tokenized' }> | null;
}

/** Run the child on `job`, resolving when it reports done; every failure becomes an Error. */
function runChild(job: ChildJob, jobPath: string, opts: GgufEvalOptions): Promise<ChildRun> {
  const script = childScript();
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolvePromise, reject) => {
    const child = fork(script, [jobPath], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      execArgv: [],
      env: { ...process.env, NODE_LLAMA_CPP_SKIP_DOWNLOAD: 'true' },
    });
    const output = new Tail(4000);
    child.stdout!.setEncoding('utf8').on('data', (c: string) => output.push(c));
    child.stderr!.setEncoding('utf8').on('data', (c: string) => output.push(c));
    const comparisons: ChildComparison[] = [];
    let tokenized: ChildRun['tokenized'] = null;
    let stage = 'starting llama.cpp';
    let failure: Error | null = null;
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        failure = new Error(`llama.cpp made no progress for ${timeoutMs / 1000} s while ${stage}; stopped it (raise timeoutMs for large models or slow machines)`);
        child.kill('SIGKILL');
      }, timeoutMs);
    };
    arm();
    child.on('message', (m: ChildMessage) => {
      arm();
      if (m.kind === 'stage') {
        stage = `${m.stage} ${m.file}`;
        opts.onProgress?.({ file: m.file, stage: m.stage });
      } else if (m.kind === 'progress') {
        stage = `evaluating ${m.file} (window ${m.window} of ${m.windows} done)`;
        opts.onProgress?.({ file: m.file, stage: 'window', window: m.window, windows: m.windows });
      } else if (m.kind === 'tokenized') tokenized = m;
      else if (m.kind === 'comparison') comparisons[m.index] = m.comparison;
      else if (m.kind === 'done') done = true;
      else if (m.kind === 'error') failure ??= new Error(m.message);
    });
    child.on('error', (e) => {
      failure ??= new Error(`could not start the llama.cpp child process (${script}): ${e.message}`);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const log = output.toString();
      if (failure) return reject(log ? new Error(`${failure.message}\nllama.cpp's last output:\n${log}`) : failure);
      if (done && code === 0) return resolvePromise({ comparisons, tokenized });
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      reject(new Error(`llama.cpp's child process ${how} while ${stage}; the file may be damaged or of a kind this llama.cpp cannot read${log ? `. Its last output:\n${log}` : ''}`));
    });
  });
}

async function withJob<T>(mode: ChildJob['mode'], files: string[], opts: GgufEvalOptions, use: (run: ChildRun, scratch: string) => T): Promise<T> {
  checkCount('contextSize', opts.contextSize, 3);
  checkCount('maxTokens', opts.maxTokens, 2);
  checkCount('threads', opts.threads, 1);
  if (opts.timeoutMs !== undefined && !(opts.timeoutMs > 0)) throw new Error(`timeoutMs must be positive (got ${opts.timeoutMs})`);
  files.forEach((f, i) => checkGgufFile(f, i === 0 && mode === 'compare' ? 'original model' : 'model'));
  const scratch = mkdtempSync(join(tmpdir(), 'microscale-llama-eval-'));
  try {
    const job: ChildJob = {
      mode,
      files: files.map((f) => resolve(f)),
      text: opts.text ?? DEFAULT_EVAL_TEXT,
      contextSize: opts.contextSize ?? null,
      maxTokens: opts.maxTokens ?? null,
      ...(opts.threads === undefined ? {} : { threads: opts.threads }),
      module: opts.llamaModule ?? 'node-llama-cpp',
      scratch,
    };
    const jobPath = join(scratch, 'job.json');
    writeFileSync(jobPath, JSON.stringify(job));
    return use(await runChild(job, jobPath, opts), scratch);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * Run llama.cpp (node-llama-cpp, CPU, never downloading or building) in a child process on the
 * original and each quantized GGUF over `text`; one comparison per quantized file, same order.
 * Models are loaded one after the other; the original's distributions wait in a scratch file.
 * Throws an Error with a clear message when node-llama-cpp is absent or a file is refused.
 */
export async function compareGgufModels(originalPath: string, quantizedPaths: readonly string[], opts: GgufEvalOptions = {}): Promise<LlamaComparison[]> {
  return withJob('compare', [originalPath, ...quantizedPaths], opts, ({ comparisons }) => {
    const reported = Array.from(comparisons).filter((c) => c !== undefined).length;
    if (reported !== quantizedPaths.length) {
      throw new Error(`llama.cpp's child process reported ${reported} comparisons for ${quantizedPaths.length} quantized files`);
    }
    return comparisons;
  });
}

/**
 * The raw next-token distributions of each GGUF model at the positions compareGgufModels scores
 * (the first file's tokenizer and windows). For checking the metrics and for custom ones: the
 * result holds positions × vocabulary floats per file.
 */
export async function ggufNextTokenDistributions(paths: readonly string[], opts: GgufEvalOptions = {}): Promise<GgufDistributions> {
  if (paths.length === 0) throw new Error('ggufNextTokenDistributions needs at least one model');
  return withJob('distributions', [...paths], opts, ({ tokenized }, scratch) => {
    if (!tokenized) throw new Error("llama.cpp's child process finished without reporting the text's tokens");
    const targets = JSON.parse(readFileSync(join(scratch, 'targets.json'), 'utf8')) as number[];
    const probabilities = paths.map((_, i) => {
      const bytes = readFileSync(join(scratch, `distributions-${i}.f32`));
      const rows = new Float32Array(bytes.byteLength / 4);
      new Uint8Array(rows.buffer).set(bytes);
      return rows;
    });
    return { vocabSize: tokenized.vocabSize, contextSize: tokenized.contextSize, targets, probabilities };
  });
}
