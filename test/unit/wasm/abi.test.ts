// The WASM job ABI has one source, src/kernels/wasm/job-layout.ts: native/abi.ts (what the
// AssemblyScript kernels import) must be exactly what native/build.mjs generates from it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module of the build, without type declarations
import { abiSource } from '../../../native/abi.mjs';
import { ELEMENT_BLOCKS, ELEMENT_SLOTS, JOB_BYTES, JOB_SLOTS, JOB_STRUCTS } from '../../../src/kernels/wasm/job-layout.js';

const root = join(import.meta.dirname, '../../..');

describe('WASM job ABI', () => {
  it('native/abi.ts is generated from job-layout.ts and codes.ts (run `npm run build:native` after editing them)', async () => {
    expect(readFileSync(join(root, 'native/abi.ts'), 'utf8')).toBe(await abiSource(root));
  });

  it('slots do not overlap: element blocks, job fields, then the structs prepare fills', () => {
    const elementSpan = Math.max(...Object.values(ELEMENT_SLOTS)) + 1;
    const starts = Object.values(ELEMENT_BLOCKS).sort((a, b) => a - b);
    for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(elementSpan);
    const jobSlots = Object.values(JOB_SLOTS);
    expect(new Set(jobSlots).size).toBe(jobSlots.length);
    expect(Math.min(...jobSlots)).toBeGreaterThanOrEqual(starts[starts.length - 1]! + elementSpan);
    expect((Math.max(...jobSlots) + 1) * 8).toBeLessThanOrEqual(Math.min(...Object.values(JOB_STRUCTS)));
    expect(Math.max(...Object.values(JOB_STRUCTS))).toBeLessThan(JOB_BYTES);
  });
});
