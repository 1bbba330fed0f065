// GGUF language models through llama.cpp (src/eval/llama.ts runs node-llama-cpp in a child
// process): each quantized plan is written with the GGUF writer into a temporary folder, and
// llama.cpp compares its next-token distributions with the original's over the same text.
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileSource } from '../bdr-explorer/readers/node-source.js';
import { openModel } from '../bdr-explorer/readers/open.js';
import { OptionError } from '../formats/errors.js';
import type { Backend } from '../kernels/backend.js';
import { writeModel } from '../model-io/index.js';
import { ggufWriter } from '../model-io/gguf/writer.js';
import { compareGgufModels } from './llama.js';
import type { ModelMetrics } from './metrics.js';
import type { EvalRunner } from './runner.js';

export interface GgufRunnerOptions {
  /** Text to score; default llama.ts's bundled public-domain sample. */
  text?: string;
  contextSize?: number;
  maxTokens?: number;
  /** Quantized files llama.cpp loads per child process run (each one a full copy of the model on disk). Default 8. */
  batch?: number;
  backend?: Backend;
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let at = 0;
  while (at < bytes.length) at += writeSync(fd, bytes, at, bytes.length - at);
}

/** Open a GGUF model file for evaluation through llama.cpp. */
export async function ggufRunner(path: string, opts: GgufRunnerOptions = {}): Promise<EvalRunner> {
  const source = await fileSource(path);
  const reader = await openModel(source, { name: path }).catch(async (e: unknown) => {
    await source.close();
    throw e;
  });
  if (reader.format !== 'gguf') {
    await reader.close();
    throw new OptionError(`${path} is ${reader.format}, not GGUF`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'microscale-eval-'));
  const batch = opts.batch ?? 8;
  let written = 0;
  const compareOptions = {
    ...(opts.text !== undefined && { text: opts.text }),
    ...(opts.contextSize !== undefined && { contextSize: opts.contextSize }),
    ...(opts.maxTokens !== undefined && { maxTokens: opts.maxTokens }),
  };
  return {
    kind: 'gguf',
    reader,
    check: (plan) => ggufWriter.check({ reader, source, plan }),
    async evaluate(plans) {
      const out: ModelMetrics[] = [];
      for (let at = 0; at < plans.length; at += batch) {
        const files: string[] = [];
        try {
          for (const plan of plans.slice(at, at + batch)) {
            const file = join(dir, `plan-${++written}.gguf`);
            files.push(file);
            const fd = openSync(file, 'wx');
            try {
              await writeModel(reader, source, { write: (c) => writeAll(fd, c) }, { kind: 'gguf', entries: plan, ...(opts.backend && { backend: opts.backend }) });
            } finally {
              closeSync(fd);
            }
          }
          for (const c of await compareGgufModels(path, files, compareOptions)) {
            out.push({ tokens: c.tokens, meanKl: c.meanKl, p99Kl: c.p99Kl, top1Agreement: c.top1Agreement, perplexityOriginal: c.perplexityOriginal, perplexityQuantized: c.perplexityQuantized });
          }
        } finally {
          for (const f of files) rmSync(f, { force: true });
        }
      }
      return out;
    },
    async close() {
      rmSync(dir, { recursive: true, force: true });
      await reader.close();
    },
  };
}
