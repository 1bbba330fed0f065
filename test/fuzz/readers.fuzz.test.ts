// Fuzzing the model file readers: valid fixture files of every format are truncated, bit-flipped,
// overwritten with huge length/offset values, shifted, and have the numbers in their JSON headers
// replaced. Every outcome must be either a consistent reading or a ModelFileError — never another
// error type, never a hang, never an allocation out of proportion to the file.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesSource, ModelFileError, openModel, type ByteSource, type SiblingResolver } from '../../src/bdr-explorer/readers/index.js';
import { EXPECTED, fixtureBytes } from '../unit/readers/helpers.js';

/** Deflate expands at most ~1032:1 and a 4-bit code becomes one float: a generous bound on the
 * elements a file of n bytes may decode to. */
const elementBound = (n: number) => 2 * 1032 * n + 4096;
const CASE_TIMEOUT_MS = 5000;
// READER_FUZZ_RUNS / READER_FUZZ_SEED widen or vary a campaign (defaults keep the suite fast and repeatable).
const RUNS = Number(process.env.READER_FUZZ_RUNS ?? 250);
const BASE_SEED = Number(process.env.READER_FUZZ_SEED ?? 0x5eed);
const SHARDS = ['group1-shard1of2.bin', 'group1-shard2of2.bin', 'group2-shard1of1.bin'];

type Outcome = { ok: true; tensors: number; elements: number } | { ok: false; error: ModelFileError };

/** Source that records the largest single read. */
function watched(src: ByteSource, stats: { maxRead: number }): ByteSource {
  return {
    name: src.name,
    size: src.size,
    read(offset, length) {
      stats.maxRead = Math.max(stats.maxRead, length);
      return src.read(offset, length);
    },
    close: () => src.close(),
  };
}

function resolverFor(shards: Record<string, Uint8Array>, stats: { maxRead: number }): SiblingResolver {
  return async (p) => {
    const bytes = shards[p];
    if (!bytes) throw new ModelFileError(p, 'not-found', 'no such shard');
    return watched(bytesSource(bytes, p), stats);
  };
}

/** Open, list and read every readable tensor; check everything the reader reports is consistent. */
async function exercise(bytes: Uint8Array, name: string, shards: Record<string, Uint8Array> = {}): Promise<Outcome> {
  const stats = { maxRead: 0 };
  const totalBytes = bytes.length + Object.values(shards).reduce((a, s) => a + s.length, 0);
  const work = (async (): Promise<Outcome> => {
    const reader = await openModel(watched(bytesSource(bytes, name), stats), { resolve: resolverFor(shards, stats) });
    let elements = 0;
    try {
      const infos = reader.tensors();
      const names = new Set(infos.map((t) => t.name));
      if (names.size !== infos.length) throw new Error('duplicate tensor names');
      for (const t of infos) {
        const product = t.shape.reduce((a, b) => a * b, 1);
        if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new Error(`bad shape ${JSON.stringify(t.shape)}`);
        if (t.elements !== product) throw new Error(`${t.name}: elements ${t.elements} ≠ product ${product}`);
        // stored bytes fit in the file, except inflated .npz members
        const byteBound = reader.format === 'npz' ? 1032 * totalBytes + 4096 : totalBytes;
        if (!(t.byteLength >= 0 && t.byteLength <= byteBound)) throw new Error(`${t.name}: byteLength ${t.byteLength} exceeds the ${totalBytes} bytes given`);
        if (!t.readable) continue;
        if (t.elements > elementBound(totalBytes)) throw new Error(`${t.name}: ${t.elements} elements from ${totalBytes} bytes`);
        const values = await reader.read(t.name);
        if (!(values instanceof Float32Array) || values.length !== t.elements) throw new Error(`${t.name}: read ${values.length} values, listed ${t.elements}`);
        elements += values.length;
      }
      return { ok: true, tensors: infos.length, elements };
    } finally {
      await reader.close();
    }
  })();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CASE_TIMEOUT_MS} ms`)), CASE_TIMEOUT_MS);
  });
  try {
    const outcome = await Promise.race([work, timeout]);
    return outcome;
  } catch (e) {
    if (e instanceof ModelFileError) {
      if (e.message.includes('\n')) throw new Error(`multi-line message: ${e.message}`);
      if (!e.message.startsWith(e.file)) throw new Error(`message does not start with the file name: ${e.message}`);
      return { ok: false, error: e };
    }
    throw new Error(`${name}: ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}\n${(e as Error)?.stack}`);
  } finally {
    clearTimeout(timer);
    if (stats.maxRead > totalBytes) throw new Error(`${name}: a read of ${stats.maxRead} bytes from ${totalBytes} bytes of files`);
  }
}

// ---------------------------------------------------------------------------------- mutations
type Mutation =
  | { kind: 'truncate'; at: number }
  | { kind: 'flip'; at: number; mask: number }
  | { kind: 'overwrite'; at: number; bytes: number[] }
  | { kind: 'huge'; at: number; width: 2 | 4 | 8; value: bigint }
  | { kind: 'insert'; at: number; bytes: number[] }
  | { kind: 'delete'; at: number; count: number }
  | { kind: 'number'; index: number; text: string };

const HUGE = [0n, 1n, 0x7fn, 0xffn, 0xffffn, 0x7fffffffn, 0xffffffffn, 2n ** 32n, 2n ** 53n, 2n ** 62n, 2n ** 63n - 1n, 2n ** 64n - 1n];

/** Positions biased to where headers live: the first 256 bytes and the last 64 (zip end records). */
const position = (n: number) => fc.oneof(fc.nat(Math.min(255, n - 1)), fc.nat(n - 1), fc.integer({ min: Math.max(0, n - 64), max: n - 1 }));

function mutation(n: number): fc.Arbitrary<Mutation> {
  return fc.oneof(
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(n - 1) }),
    fc.record({ kind: fc.constant('flip' as const), at: position(n), mask: fc.integer({ min: 1, max: 255 }) }),
    fc.record({ kind: fc.constant('overwrite' as const), at: position(n), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 8 }) }),
    fc.record({
      kind: fc.constant('huge' as const),
      at: position(n),
      width: fc.constantFrom(2 as const, 4 as const, 8 as const),
      value: fc.oneof(fc.constantFrom(...HUGE), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })),
    }),
    fc.record({ kind: fc.constant('insert' as const), at: position(n), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 8 }) }),
    fc.record({ kind: fc.constant('delete' as const), at: position(n), count: fc.integer({ min: 1, max: 16 }) }),
    fc.record({
      kind: fc.constant('number' as const),
      index: fc.nat(200),
      text: fc.constantFrom('0', '-1', '1e308', '0.5', '99999999999999999999', '4294967296', '9007199254740993', '18446744073709551615', 'null', '"x"', '[]'),
    }),
  );
}

/** Apply a mutation; positions drawn for the original length wrap onto the current one. */
function apply(src: Uint8Array, mut: Mutation): Uint8Array {
  const m = 'at' in mut ? { ...mut, at: mut.at % Math.max(1, src.length) } : mut;
  switch (m.kind) {
    case 'truncate':
      return src.slice(0, m.at);
    case 'flip': {
      const b = src.slice();
      b[m.at] = b[m.at]! ^ m.mask;
      return b;
    }
    case 'overwrite': {
      const b = src.slice();
      m.bytes.forEach((v, i) => {
        if (m.at + i < b.length) b[m.at + i] = v;
      });
      return b;
    }
    case 'huge': {
      const b = src.slice();
      for (let i = 0; i < m.width && m.at + i < b.length; i++) b[m.at + i] = Number((m.value >> BigInt(8 * i)) & 0xffn);
      return b;
    }
    case 'insert': {
      const b = new Uint8Array(src.length + m.bytes.length);
      b.set(src.subarray(0, m.at));
      b.set(m.bytes, m.at);
      b.set(src.subarray(m.at), m.at + m.bytes.length);
      return b;
    }
    case 'delete': {
      const count = Math.min(m.count, src.length - m.at);
      const b = new Uint8Array(src.length - count);
      b.set(src.subarray(0, m.at));
      b.set(src.subarray(m.at + count), m.at);
      return b;
    }
    case 'number': {
      // replace the index-th run of ASCII digits (JSON header numbers: lengths, offsets, shapes)
      const runs: [number, number][] = [];
      for (let i = 0; i < src.length; ) {
        if (src[i]! >= 0x30 && src[i]! <= 0x39) {
          let j = i;
          while (j < src.length && src[j]! >= 0x30 && src[j]! <= 0x39) j++;
          runs.push([i, j]);
          i = j;
        } else i++;
      }
      if (runs.length === 0) return src;
      const [a, b] = runs[m.index % runs.length]!;
      const text = new TextEncoder().encode(m.text);
      const out = new Uint8Array(src.length - (b - a) + text.length);
      out.set(src.subarray(0, a));
      out.set(text, a);
      out.set(src.subarray(b), a + text.length);
      return out;
    }
  }
}

const SEEDS = ['all-dtypes.safetensors', 'model-v3.gguf', 'model-v2.gguf', 'a_f4.npy', 'd_fortran.npy', 'h_v2.npy', 'arrays.npz', 'graph.onnx', 'model.json'];
const shardBytes = () => Object.fromEntries(SHARDS.map((s) => [s, fixtureBytes(s)]));

describe('reader fuzzing', () => {
  it('seeds cover every format and read cleanly', async () => {
    expect(new Set(SEEDS.map((s) => EXPECTED[s]!.format))).toEqual(new Set(['safetensors', 'gguf', 'npy', 'npz', 'onnx', 'tfjs']));
    for (const seed of SEEDS) {
      const outcome = await exercise(fixtureBytes(seed), seed, shardBytes());
      expect(outcome.ok, seed).toBe(true);
    }
  });

  for (const seed of SEEDS) {
    it(`${seed}: random mutations give a consistent reading or a ModelFileError`, async () => {
      const original = fixtureBytes(seed);
      const shards = shardBytes();
      const outcomes = { ok: 0, rejected: 0 };
      await fc.assert(
        fc.asyncProperty(fc.array(mutation(original.length), { minLength: 1, maxLength: 3 }), async (mutations) => {
          let bytes = original;
          for (const m of mutations) if (bytes.length > 0) bytes = apply(bytes, m);
          const outcome = await exercise(bytes, seed, shards);
          outcomes[outcome.ok ? 'ok' : 'rejected']++;
        }),
        { numRuns: RUNS, seed: BASE_SEED + seed.length, endOnFailure: true },
      );
      // the mutations must actually hit: most corrupt files are rejected, some still read
      expect(outcomes.rejected).toBeGreaterThan(25);
      if (process.env.READER_FUZZ_STATS) console.log(seed, outcomes);
    });
  }

  it('tfjs weight shards: random mutations of the shard files', async () => {
    const json = fixtureBytes('model.json');
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...SHARDS), fc.array(mutation(8), { minLength: 1, maxLength: 3 }), async (shard, mutations) => {
        const shards = shardBytes();
        let bytes = shards[shard]!;
        for (const m of mutations) if (bytes.length > 0) bytes = apply(bytes, m);
        shards[shard] = bytes;
        await exercise(json, 'model.json', shards);
      }),
      { numRuns: Math.ceil(RUNS / 2), seed: BASE_SEED + 7 },
    );
  });

  it('every truncation of every seed', async () => {
    for (const seed of SEEDS) {
      const original = fixtureBytes(seed);
      const accepted: number[] = [];
      for (let n = 0; n < original.length; n++) {
        const outcome = await exercise(original.subarray(0, n), seed, shardBytes());
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
          await exercise(b, seed, shardBytes());
        }
      }
    }
  });
});
