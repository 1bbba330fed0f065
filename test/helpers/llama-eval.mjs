// Child process: load a GGUF with llama.cpp (node-llama-cpp's prebuilt CPU build, never
// downloading or compiling) and print the next-token probabilities after each prompt token as
// JSON on stdout. Run apart from the test runner: a file llama.cpp rejects may abort the process.
// Usage: node llama-eval.mjs MODEL.gguf TOKEN,TOKEN,...
import { getLlama } from 'node-llama-cpp';

const [model, tokenList] = process.argv.slice(2);
const tokens = tokenList.split(',').map(Number);
const llama = await getLlama({ gpu: false, build: 'never', skipDownload: true, logLevel: 'error', progressLogs: false });
try {
  const m = await llama.loadModel({ modelPath: model, gpuLayers: 0 });
  const context = await m.createContext({ contextSize: 64, batchSize: 64, flashAttention: false, threads: 1 });
  const sequence = context.getSequence();
  const results = await sequence.controlledEvaluate(tokens.map((t) => [t, { generateNext: { probabilities: true } }]));
  const out = results.map((r) => {
    const p = r?.next?.probabilities;
    if (!p) throw new Error('llama.cpp returned no probabilities');
    // token id → probability as the float64 the binding hands over, in token order
    return [...p.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v);
  });
  process.stdout.write(JSON.stringify({ probabilities: out }));
  await context.dispose();
  await m.dispose();
} finally {
  await llama.dispose();
}
