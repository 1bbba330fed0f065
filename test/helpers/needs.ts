// Suites that need something outside npm (python3-numpy, Chromium, a Vulkan driver) go through
// describeWhen: when the thing is missing they define one skipped test whose note says what is
// missing and how to install it (test/setup/skip-reasons.ts prints it in the default output).
// .ci/run sets MICROSCALE_REQUIRE_ALL=1, which turns that skip into a failure.
import { execFileSync } from 'node:child_process';
import { describe, it } from 'vitest';

export const REQUIRE_ALL = process.env.MICROSCALE_REQUIRE_ALL === '1';

/** What a suite lacks and the command that provides it; null when nothing is missing. */
export interface Missing {
  readonly what: string;
  readonly install: string;
}

export function skipNote(m: Missing): string {
  return `${m.what}; install: ${m.install}`;
}

/**
 * `describe(title, body)` when `missing` is null. Otherwise body is never called (nothing it
 * would compute at collection runs) and the suite holds one test that skips with the reason,
 * or fails with it under MICROSCALE_REQUIRE_ALL=1.
 */
export function describeWhen(title: string, missing: Missing | null, body: () => void | Promise<void>): void {
  if (missing === null) {
    describe(title, body);
    return;
  }
  describe(title, () => {
    it(`needs ${missing.what}`, (ctx) => {
      if (REQUIRE_ALL) throw new Error(`MICROSCALE_REQUIRE_ALL=1 (set by .ci/run) requires this suite, but: ${skipNote(missing)}`);
      ctx.skip(skipNote(missing));
    });
  });
}

/** The interpreter the numpy oracle runs on: $MICROSCALE_PYTHON, else python3 on the PATH. */
export const PYTHON = process.env.MICROSCALE_PYTHON || 'python3';

let numpyProbe: Missing | null | undefined;

/** Whether PYTHON can import numpy; the reason when it cannot. */
export function missingNumpy(): Missing | null {
  if (numpyProbe !== undefined) return numpyProbe;
  const install = 'apt-get install python3-numpy (or pip install numpy; MICROSCALE_PYTHON=/path/to/python picks the interpreter)';
  try {
    execFileSync(PYTHON, ['-c', 'import numpy'], { stdio: 'pipe' });
    numpyProbe = null;
  } catch (e) {
    const notFound = (e as NodeJS.ErrnoException).code === 'ENOENT';
    numpyProbe = { what: notFound ? `a Python interpreter (${PYTHON} not found)` : `numpy for ${PYTHON}`, install };
  }
  return numpyProbe;
}
