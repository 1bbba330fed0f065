import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
import SlowFirst from './test/setup/sequencer.js';

/** Files that quantize on a WebGPU device. They run without per-file isolation, so the files one
 * worker runs share the device of test/unit/webgpu/gpu-env.ts and every kernel it has compiled
 * (compiling dominates their time on SwiftShader). */
const GPU_FILES = ['test/conformance/webgpu-*.test.ts', 'test/unit/webgpu/{backend,minmax,ggml,fused-shape}.test.ts'];

export default defineConfig({
  test: {
    // MICROSCALE_SKIP_BUILD=1: tests that run vitest on a few files of their own skip the build.
    globalSetup: ['test/setup/tmp.ts', ...(process.env.MICROSCALE_SKIP_BUILD === '1' ? [] : ['test/setup/build.ts'])],
    setupFiles: ['test/setup/fast-check.ts'],
    reporters: ['default', './test/setup/skip-reasons.ts'],
    testTimeout: 120_000,
    pool: 'forks',
    // vitest's default is cores − 1, one worker on 2 cores; many files wait on child processes,
    // the browser or the GPU queue, so two share 2 cores well.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    sequence: { sequencer: SlowFirst },
    projects: [
      { extends: true, test: { name: 'webgpu', include: GPU_FILES, isolate: false } },
      { extends: true, test: { name: 'main', include: ['test/**/*.test.ts'], exclude: GPU_FILES } },
    ],
  },
});
