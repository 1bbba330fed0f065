// One fuzz campaign per target, shared by the reader and writer suites: random mutations of the
// target's seed; most must be rejected (the mutations hit), none may misbehave.
// READER_FUZZ_RUNS / READER_FUZZ_SEED widen or vary a campaign (defaults keep the suite fast and
// repeatable); READER_FUZZ_REPORT names a file that gets one JSON line per target (the soak's table).
import { appendFileSync } from 'node:fs';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { fixtureBytes } from '../unit/readers/helpers.js';
import { applyAll, mutations, type FuzzTarget } from './harness.js';

const BASE_SEED = Number(process.env.READER_FUZZ_SEED ?? 0x5eed);
const REPORT = process.env.READER_FUZZ_REPORT;

/** Cases per target: READER_FUZZ_RUNS, else `fallback` (the suite's count in `npm test`). */
export const fuzzRuns = (fallback: number) => Number(process.env.READER_FUZZ_RUNS ?? fallback);

/** A test that runs `runs` random mutations of the target's seed through it. */
export function fuzz(target: FuzzTarget, runs = fuzzRuns(250)): void {
  it(`${target.label}: random mutations give a consistent result or a clear error`, async () => {
    const original = target.original ?? fixtureBytes(target.seed);
    const outcomes = { ok: 0, rejected: 0 };
    const started = performance.now();
    await fc.assert(
      fc.asyncProperty(mutations(original.length), async (list) => {
        const outcome = await target.run(applyAll(original, list));
        outcomes[outcome.ok ? 'ok' : 'rejected']++;
      }),
      { numRuns: runs, seed: BASE_SEED + target.seed.length, endOnFailure: true },
    );
    const seconds = (performance.now() - started) / 1000;
    // the mutations must actually hit: most corrupt files are rejected, some still read
    expect(outcomes.rejected).toBeGreaterThan(Math.min(25, runs / 10));
    if (REPORT) appendFileSync(REPORT, `${JSON.stringify({ label: target.label, format: target.format, cases: runs, ...outcomes, seconds })}\n`);
    if (process.env.READER_FUZZ_STATS) console.log(target.label, outcomes);
  });
}
