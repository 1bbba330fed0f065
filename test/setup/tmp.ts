// Vitest global setup: every temporary file of the run goes under one fresh folder (TMPDIR, which
// the test workers and their child processes inherit). At the end the folder is removed; a
// microscale-* folder that a test left behind fails the run, naming it.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const outer = tmpdir();
  const run = mkdtempSync(join(outer, 'microscale-test-run-'));
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = run;
  return () => {
    const left = readdirSync(run).filter((f) => f.startsWith('microscale-'));
    rmSync(run, { recursive: true, force: true });
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
    if (left.length > 0) {
      // vitest does not fail the run for an error thrown here, so report and set the exit code
      console.error(`\nFAIL: tests left temporary folders behind (removed now; remove them in afterAll): ${left.join(', ')}`);
      process.exitCode = 1;
    }
  };
}
