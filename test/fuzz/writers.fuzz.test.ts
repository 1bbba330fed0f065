// Fuzzing the model writers' inputs: small valid models of each reader kind (odd shapes, an empty
// tensor, NaN and Inf among the weights) mutated as the reader targets are, then planned, checked,
// written and read back (./writers.ts). 40 cases per target here; `npm run fuzz` runs ≥ 10^5.
import { describe, expect, it } from 'vitest';
import { fuzz, fuzzRuns } from './campaign.js';
import { WRITER_SEEDS, WRITER_TARGETS } from './writers.js';

describe('writer fuzzing', () => {
  it('every writer and layout writes every valid seed or refuses it with a clear error', async () => {
    for (const target of WRITER_TARGETS) {
      const outcome = await target.run(target.original!);
      // the ONNX writer takes ONNX sources only; every other pairing writes
      const refusable = target.label.startsWith('write .onnx') && !target.seed.endsWith('.onnx');
      expect(outcome.ok, `${target.label}: ${outcome.ok ? '' : outcome.error.message}`).toBe(!refusable);
      if (!outcome.ok) expect(outcome.error.message).toMatch(/the ONNX writer rewrites ONNX models/);
    }
    expect(WRITER_SEEDS.map((s) => s.name.replace(/^.*\./, ''))).toEqual(['safetensors', 'gguf', 'onnx']);
  });

  for (const target of WRITER_TARGETS) fuzz(target, fuzzRuns(40));
});
