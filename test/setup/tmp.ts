// Vitest global setup: every temporary file of the run goes under one fresh folder (TMPDIR, which
// the test workers and their child processes inherit). At the end the folder is removed; a
// microscale-* folder that a test left behind fails the run, naming it. Vitest calls global
// setups once per project: the first call makes the folder, later ones (and vitest runs started
// by tests) keep it, so the path stays short enough for Chromium's socket.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const MARK = 'MICROSCALE_TEST_TMPDIR';

export default function setup(): () => void {
  if (process.env[MARK] && process.env[MARK] === process.env.TMPDIR) return () => {};
  const saved = process.env.TMPDIR;
  const run = mkdtempSync(join(tmpdir(), 'microscale-run-'));
  process.env.TMPDIR = run;
  process.env[MARK] = run;
  return () => {
    const left = readdirSync(run).filter((f) => f.startsWith('microscale-'));
    rmSync(run, { recursive: true, force: true });
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
    delete process.env[MARK];
    if (left.length > 0) {
      // vitest does not fail the run for an error thrown here, so report and set the exit code
      console.error(`\nFAIL: tests left temporary folders behind (removed now; remove them in afterAll): ${left.join(', ')}`);
      process.exitCode = 1;
    }
  };
}
