import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
import SlowFirst from './test/setup/sequencer.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
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
  },
});
