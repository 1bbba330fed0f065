// Fuzzing the model file readers: valid fixture files of every format are truncated, bit-flipped,
// overwritten with huge length/offset values, shifted, and have the numbers in their JSON headers
// replaced. Every outcome must be either a consistent reading or a ModelFileError — never another
// error type, never a hang, never a read or an allocation out of proportion to the file (the
// harness: ./harness.ts). `npm run fuzz` runs the same cases at ≥ 10^5 per seed (./soak.mjs).
import { describe, expect, it } from 'vitest';
import { EXPECTED, fixtureBytes } from '../unit/readers/helpers.js';
import { fuzz } from './campaign.js';
import { exerciseReader, READER_TARGETS, SEEDS, SHARD_TARGETS, shardBytes } from './harness.js';

describe('reader fuzzing', () => {
  it('seeds cover every format and read cleanly', async () => {
    expect(new Set(SEEDS.map((s) => EXPECTED[s]!.format))).toEqual(new Set(['safetensors', 'gguf', 'npy', 'npz', 'onnx', 'tfjs']));
    for (const seed of SEEDS) {
      const outcome = await exerciseReader(fixtureBytes(seed), seed, shardBytes());
      expect(outcome.ok, seed).toBe(true);
    }
  });

  for (const target of READER_TARGETS) fuzz(target);

  for (const target of SHARD_TARGETS) fuzz(target);

  it('every truncation of every seed', async () => {
    for (const seed of SEEDS) {
      const original = fixtureBytes(seed);
      const accepted: number[] = [];
      for (let n = 0; n < original.length; n++) {
        const outcome = await exerciseReader(original.subarray(0, n), seed, shardBytes());
        if (outcome.ok) accepted.push(n);
      }
      // a cut that loses data the header promised is rejected; only trailing padding (GGUF pads
      // the last tensor to the alignment) may go, so the accepted lengths are a short tail
      if (accepted.length > 0) {
        expect(accepted, seed).toEqual([...Array(original.length - accepted[0]!).keys()].map((i) => accepted[0]! + i));
        expect(original.length - accepted[0]!, seed).toBeLessThanOrEqual(64);
        expect(seed.endsWith('.gguf'), seed).toBe(true);
      }
    }
  });

  it('0xff and 0x00 over every byte of every header', async () => {
    for (const seed of SEEDS) {
      const original = fixtureBytes(seed);
      const span = seed.endsWith('.npz') ? [...Array(original.length).keys()] : [...Array(Math.min(original.length, 400)).keys()];
      for (const at of span) {
        for (const v of [0xff, 0x00]) {
          const b = original.slice();
          b[at] = v;
          await exerciseReader(b, seed, shardBytes());
        }
      }
    }
  });
});
