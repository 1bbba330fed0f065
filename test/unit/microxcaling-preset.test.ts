// The float32 log2 the microxcaling and ggml presets use, on every backend's threshold table.
import { describe, expect, it } from 'vitest';
import { fakeQuantize } from '../../src/index.js';
import { floorLog2F32 } from '../../src/formats/bits.js';
import { float32Log2Thresholds } from '../../src/formats/derived.js';
import { fromBits, log2RoundUpCount } from './ggml-c-model.js';

describe('⌊float32(log2 x)⌋', () => {
  it('the kernels\' per-binade thresholds are MICROXCALING.md §4.1\'s top-N_e rule', () => {
    const table = float32Log2Thresholds().map((t) => t ?? 0xffffffff);
    const bad: string[] = [];
    for (let e = -149; e <= 127; e++) {
      const last = e < -126 ? 2 ** (e + 150) - 1 : (e + 128) * 2 ** 23 - 1;
      const n = log2RoundUpCount(e);
      const want = n === 0 ? 0xffffffff : last - n + 1;
      if (table[e + 149] !== want) bad.push(`binade ${e}: ${table[e + 149]!.toString(16)} vs ${want.toString(16)}`);
    }
    expect(bad).toEqual([]);
  });

  it('floorLog2F32 follows the rule on samples of every binade (exhaustive: test/tools/log2-floor-exhaustive.mjs)', () => {
    const bad: string[] = [];
    let seed = 12345;
    const rnd = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0);
    for (let e = -149; e <= 127; e++) {
      const first = e < -126 ? 2 ** (e + 149) : (e + 127) * 2 ** 23;
      const last = e < -126 ? 2 ** (e + 150) - 1 : (e + 128) * 2 ** 23 - 1;
      const n = log2RoundUpCount(e);
      const samples = [first, last, last - n, last - n + 1, ...Array.from({ length: 20 }, () => first + (rnd() % (last - first + 1)))];
      for (const b of samples) {
        if (b < first || b > last) continue;
        const want = b > last - n ? e + 1 : e;
        if (floorLog2F32(fromBits(b)) !== want) bad.push(b.toString(16));
      }
    }
    expect(bad).toEqual([]);
  });
});

describe('preset microxcaling: the exact OCP reading stays the default', () => {
  it('0x62ffffff in mxfp8_e4m3: 448·2^62 under ocp, 2^71 under the emulator preset', () => {
    const x = new Float32Array(new Uint32Array([0x62ffffff]).buffer);
    expect(fakeQuantize(x, 'mxfp8_e4m3', { rounding: 'rna' })[0]).toBe(448 * 2 ** 62);
    expect(fakeQuantize(x, 'mxfp8_e4m3', { preset: 'microxcaling' })[0]).toBe(2 ** 71);
  });

  it('flushSubnormalBlocks under the preset tests the float32-log2 exponent (E ≤ −127)', () => {
    // 0x007fffff (just below 2^-126) has ⌊fl32(log2)⌋ = −126: not flushed by the emulator
    const x = new Float32Array(new Uint32Array([0x007fffff]).buffer);
    expect(fakeQuantize(x, 'mxint8', { preset: 'microxcaling', flushSubnormalBlocks: true })[0]).not.toBe(0);
    expect(fakeQuantize(x, 'mxint8', { flushSubnormalBlocks: true })[0]).toBe(0);
  });
});
