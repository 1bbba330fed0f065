// The messages between src/eval/llama.ts and its llama.cpp child process (src/eval/llama-child.ts).
import type { LlamaComparison } from './llama.js';

/** What the child is asked to do; written to a JSON file whose path is the child's argument. */
export interface ChildJob {
  /** 'compare': metrics of files[1..] against files[0]; 'distributions': every file's rows written out. */
  readonly mode: 'compare' | 'distributions';
  /** The original first. */
  readonly files: readonly string[];
  readonly text: string;
  /** Tokens per window; null: 512, or the original's training context if smaller. */
  readonly contextSize: number | null;
  /** Text tokens kept (from the start); null: all. */
  readonly maxTokens: number | null;
  /** llama.cpp threads; undefined: node-llama-cpp's default. */
  readonly threads?: number;
  /** The module to import instead of node-llama-cpp (a specifier or file URL). */
  readonly module: string;
  /** A folder for the original's rows (compare) or every file's rows (distributions). */
  readonly scratch: string;
}

/** What the child reports per quantized file: a comparison with its window size always set. */
export type ChildComparison = Required<LlamaComparison>;

export type ChildMessage =
  | { readonly kind: 'stage'; readonly file: string; readonly stage: 'loading' | 'evaluating' }
  | { readonly kind: 'progress'; readonly file: string; readonly window: number; readonly windows: number }
  | { readonly kind: 'tokenized'; readonly positions: number; readonly vocabSize: number; readonly contextSize: number; readonly windows: number }
  | { readonly kind: 'comparison'; readonly index: number; readonly comparison: ChildComparison }
  | { readonly kind: 'done' }
  | { readonly kind: 'error'; readonly message: string };
