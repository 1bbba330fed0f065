import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // MICROSCALE_SKIP_BUILD=1: tests that run vitest on a few files of their own skip the build.
    globalSetup: ['test/setup/tmp.ts', ...(process.env.MICROSCALE_SKIP_BUILD === '1' ? [] : ['test/setup/build.ts'])],
    setupFiles: ['test/setup/fast-check.ts'],
    reporters: ['default', './test/setup/skip-reasons.ts'],
    testTimeout: 120_000,
    pool: 'forks',
  },
});
