// compareGgufModels (src/eval/llama.ts) as built in dist, on the tiny seeded-random llama GGUF and
// its q8_0 / q4_0 quantizations: a byte copy compares as identical, the metrics equal those
// recomputed here from the raw distributions, and bad inputs fail with clear errors.
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWhen } from '../helpers/needs.js';
import { quantizeModelFile } from '../../src/model-io/node.js';
import { llamaBinaries } from '../helpers/llama-cpp.js';
import { TINY, tinyLlamaGguf } from '../helpers/tiny-llama.js';

type LlamaEval = typeof import('../../src/eval/llama.js');

const root = fileURLToPath(new URL('../../', import.meta.url));
const bins = llamaBinaries();
const skip = 'skip' in bins ? bins.skip : null;

/** Small and single-threaded: 4 windows of 64 tokens (63 text tokens after BOS). */
const OPTS = { contextSize: 64, maxTokens: 252, threads: 1 };

describeWhen('compareGgufModels through llama.cpp on the tiny llama', skip === null ? null : { what: skip, install: 'npm ci (node-llama-cpp and @node-llama-cpp/linux-x64 are devDependencies)' }, () => {
  let dir = '';
  let original = '';
  let copy = '';
  let q8 = '';
  let q4 = '';
  let llama: LlamaEval;

  beforeAll(async () => {
    // test/setup/build.ts has built dist; the child script runs from there, as users get it
    llama = (await import(pathToFileURL(`${root}dist/eval/llama.js`).href)) as LlamaEval;
    dir = mkdtempSync(join(tmpdir(), 'microscale-eval-llama-'));
    original = join(dir, 'f32.gguf');
    copy = join(dir, 'copy.gguf');
    q8 = join(dir, 'q8_0.gguf');
    q4 = join(dir, 'q4_0.gguf');
    writeFileSync(original, tinyLlamaGguf());
    copyFileSync(original, copy);
    await quantizeModelFile(original, q8, { format: 'q8_0' });
    await quantizeModelFile(original, q4, { format: 'q4_0' });
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a byte copy gives KL 0, agreement 1 and the same perplexity; quantized files give KL > 0', async () => {
    const [same, c8, c4] = await llama.compareGgufModels(original, [copy, q8, q4], { maxTokens: 254, threads: 1 });
    // default window: the tiny model's training context (128) is below 512
    expect(same!.contextSize).toBe(TINY.context);
    // 254 text tokens fill 2 windows of BOS + 127; each scores positions 64 … 126
    expect(same!.tokens).toBe(2 * 63);
    expect(same!.meanKl).toBe(0);
    expect(same!.p99Kl).toBe(0);
    expect(same!.top1Agreement).toBe(1);
    expect(same!.perplexityQuantized).toBe(same!.perplexityOriginal);
    for (const c of [c8!, c4!]) {
      expect(c.tokens).toBe(same!.tokens);
      expect(c.perplexityOriginal).toBe(same!.perplexityOriginal);
      expect(c.meanKl).toBeGreaterThan(0);
      expect(c.p99Kl).toBeGreaterThanOrEqual(c.meanKl);
      expect(Number.isFinite(c.perplexityQuantized)).toBe(true);
    }
    // q4_0 strays further from the F32 model than q8_0
    expect(c4!.meanKl).toBeGreaterThan(c8!.meanKl);
  });

  it('KL, p99, agreement and perplexities equal those recomputed from the raw distributions', async () => {
    const [comparisons, raw] = await Promise.all([llama.compareGgufModels(original, [q8, q4], OPTS), llama.ggufNextTokenDistributions([original, q8, q4], OPTS)]);
    const { vocabSize, targets, probabilities } = raw;
    expect(vocabSize).toBe(TINY.vocab);
    expect(raw.contextSize).toBe(64);
    // 252 text tokens: 4 windows of BOS + 63, each scoring positions 32 … 62
    expect(targets.length).toBe(4 * 31);
    const rows = probabilities.map((p) => Array.from({ length: targets.length }, (_, i) => Array.from(p.subarray(i * vocabSize, (i + 1) * vocabSize))));
    for (const file of rows) {
      expect(file.length).toBe(targets.length);
      for (const row of file) expect(Math.abs(row.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-5);
    }
    // recomputed here in plain double arithmetic, each row normalized to sum 1
    const normalize = (row: number[]) => {
      const s = row.reduce((a, b) => a + b, 0);
      return row.map((v) => v / s);
    };
    const klOf = (p: number[], q: number[]) => {
      const [np, nq] = [normalize(p), normalize(q)];
      return np.reduce((sum, pt, t) => (pt === 0 ? sum : sum + pt * Math.log(pt / Math.max(nq[t]!, 2 ** -149))), 0);
    };
    const top = (row: number[]) => row.indexOf(Math.max(...row));
    const perplexity = (file: number[][]) => Math.exp(-file.reduce((sum, row, i) => sum + Math.log(normalize(row)[targets[i]!]!), 0) / file.length);
    const p99 = (values: number[]) => {
      const s = [...values].sort((a, b) => a - b);
      const at = 0.99 * (s.length - 1);
      const lo = Math.floor(at);
      return s[lo]! + (at - lo) * (s[lo + 1]! - s[lo]!);
    };
    comparisons.forEach((c, k) => {
      const quantized = rows[k + 1]!;
      const kl = rows[0]!.map((p, i) => klOf(p, quantized[i]!));
      const agreement = rows[0]!.filter((p, i) => top(p) === top(quantized[i]!)).length / targets.length;
      expect(c.tokens).toBe(targets.length);
      expect(c.meanKl).toBeCloseTo(kl.reduce((a, b) => a + b, 0) / kl.length, 10);
      expect(c.p99Kl).toBeCloseTo(p99(kl), 10);
      expect(c.top1Agreement).toBe(agreement);
      expect(c.perplexityOriginal).toBeCloseTo(perplexity(rows[0]!), 9);
      expect(c.perplexityQuantized).toBeCloseTo(perplexity(quantized), 9);
    });
    // the quantized models disagree somewhere, so the agreement check above is not vacuous for q4_0
    expect(comparisons[1]!.top1Agreement).toBeLessThan(1);
  });

  it('reports a missing file, a non-GGUF file, a damaged GGUF and another tokenizer by name', async () => {
    const missing = join(dir, 'absent.gguf');
    await expect(llama.compareGgufModels(original, [missing], OPTS)).rejects.toThrow(`model ${missing} does not exist`);
    const text = join(dir, 'notes.gguf');
    writeFileSync(text, 'not a model\n');
    await expect(llama.compareGgufModels(text, [q8], OPTS)).rejects.toThrow(`original model ${text} is not a GGUF file`);
    // the GGUF magic, then a header cut short: llama.cpp itself refuses it, in the child
    const damaged = join(dir, 'damaged.gguf');
    writeFileSync(damaged, tinyLlamaGguf().subarray(0, 3000));
    await expect(llama.compareGgufModels(original, [damaged], OPTS)).rejects.toThrow(`llama.cpp could not load ${damaged}`);
    // the same vocabulary size, but its byte tokens in another order: other ids for the same text
    const otherTokenizer = join(dir, 'other-tokenizer.gguf');
    writeFileSync(otherTokenizer, tinyLlamaGguf(undefined, true));
    await expect(llama.compareGgufModels(original, [otherTokenizer], OPTS)).rejects.toThrow(`${otherTokenizer} tokenizes the text differently from ${original}`);
  });

  it('a text shorter than one window is scored as one window; an empty one is refused', async () => {
    // BOS + 20 tokens: positions 10 … 19 predict the next token
    const [c] = await llama.compareGgufModels(original, [copy], { ...OPTS, maxTokens: 20 });
    expect(c!.tokens).toBe(10);
    await expect(llama.compareGgufModels(original, [copy], { ...OPTS, text: '' })).rejects.toThrow(/the text makes only 0 token\(s\).*give a longer text/);
  });

  it('reports a child that llama.cpp aborts, naming the file it was loading', async () => {
    // stands in for node-llama-cpp: its loadModel aborts the process, as llama.cpp does on some bad files
    const aborting = join(dir, 'aborting-llama.mjs');
    writeFileSync(aborting, "export async function getLlama() { return { loadModel: () => process.kill(process.pid, 'SIGABRT'), dispose: async () => {} }; }\n");
    await expect(llama.compareGgufModels(original, [q8], { ...OPTS, llamaModule: pathToFileURL(aborting).href })).rejects.toThrow(`llama.cpp's child process was killed by SIGABRT while loading ${original}`);
  });

  it('says how to install node-llama-cpp when the child cannot import it', async () => {
    await expect(llama.compareGgufModels(original, [q8], { ...OPTS, llamaModule: 'node-llama-cpp-not-installed' })).rejects.toThrow(/node-llama-cpp-not-installed is not installed.*npm install node-llama-cpp/);
  });

  it('stops a child that makes no progress within timeoutMs', async () => {
    await expect(llama.compareGgufModels(original, [q8], { ...OPTS, timeoutMs: 1 })).rejects.toThrow(/no progress for 0.001 s while starting llama.cpp/);
  });
});
