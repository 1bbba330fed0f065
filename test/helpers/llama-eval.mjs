// Child process: load GGUF files with llama.cpp (node-llama-cpp's prebuilt CPU build, never
// downloading or compiling) and print, per file, the next-token probabilities after each prompt
// token (indexed by token id) as JSON on stdout. Runs apart from the test runner: a file llama.cpp
// rejects may abort the whole process.
// Usage: node llama-eval.mjs TOKEN,TOKEN,... MODEL.gguf [MODEL.gguf ...]
import { getLlama } from 'node-llama-cpp';

const [tokenList, ...models] = process.argv.slice(2);
const tokens = tokenList.split(',').map(Number);
const llama = await getLlama({ gpu: false, build: 'never', skipDownload: true, logLevel: 'error', progressLogs: false });
const results = {};
try {
  for (const path of models) {
    const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
    const context = await model.createContext({ contextSize: 64, batchSize: 64, flashAttention: false, threads: 1 });
    const evaluated = await context.getSequence().controlledEvaluate(tokens.map((t) => [t, { generateNext: { probabilities: true } }]));
    results[path] = evaluated.map((r) => {
      const p = r?.next?.probabilities;
      if (!p) throw new Error(`${path}: llama.cpp returned no probabilities`);
      const row = new Array(Math.max(...p.keys()) + 1).fill(0);
      for (const [token, probability] of p) row[token] = probability;
      return row;
    });
    await context.dispose();
    await model.dispose();
  }
  process.stdout.write(JSON.stringify(results));
} finally {
  await llama.dispose();
}
