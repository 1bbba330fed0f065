// The fuzz harness shared by the suite (readers.fuzz.test.ts, 250 cases per seed in `npm test`) and
// the soak (`npm run fuzz`, ≥ 10^5 per seed): mutations of valid files, and targets that take the
// mutated bytes and must answer with a consistent result or a ModelFileError — never another error,
// a hang, a read past the bytes given, or an allocation out of proportion to them.
// How to add a target (e.g. a model writer): see test/fuzz/README.md.
import fc from 'fast-check';
import { getHeapStatistics } from 'node:v8';
import { bytesSource, ModelFileError, openModel, type ByteSource, type SiblingResolver } from '../../src/bdr-explorer/readers/index.js';
import { EXPECTED, fixtureBytes } from '../unit/readers/helpers.js';

/** Deflate expands at most ~1032:1 and a 4-bit code becomes one float: a generous bound on the
 * elements a file of n bytes may decode to. */
export const elementBound = (n: number) => 2 * 1032 * n + 4096;
export const CASE_TIMEOUT_MS = 5000;
export const SHARDS = ['group1-shard1of2.bin', 'group1-shard2of2.bin', 'group2-shard1of1.bin'];
/** One valid file per reader variant (every format, both GGUF versions, C/Fortran/v2 .npy). */
export const SEEDS = ['all-dtypes.safetensors', 'model-v3.gguf', 'model-v2.gguf', 'a_f4.npy', 'd_fortran.npy', 'h_v2.npy', 'arrays.npz', 'graph.onnx', 'model.json'];
export const shardBytes = (): Record<string, Uint8Array> => Object.fromEntries(SHARDS.map((s) => [s, fixtureBytes(s)]));

export type Outcome = { ok: true; tensors: number; elements: number } | { ok: false; error: ModelFileError };
/** A target's outcome: writers may also refuse with a MicroscaleError (writers.ts). */
export type TargetOutcome = Outcome | { ok: false; error: Error };

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

// ------------------------------------------------------------------------------ allocation watch
/** ArrayBuffer backing stores (external) and JS heap in use, in bytes. */
function memoryNow(): { external: number; heap: number } {
  const h = getHeapStatistics();
  return { external: h.external_memory, heap: h.used_heap_size };
}

/**
 * Fails when one step of a case (opening the file, or reading one tensor less the Float32Array it
 * returns) grew the ArrayBuffers or the JS heap by more than the bytes given justify. Garbage
 * collection during a step only lowers the growth, so the check never blames a correct reader;
 * a reader that sizes a buffer or an array from a corrupt header field is caught.
 */
export class AllocationWatch {
  private at = memoryNow();
  constructor(
    private readonly totalBytes: number,
    private readonly inflates: boolean,
  ) {}

  /** Bytes of ArrayBuffers a step may add: copies of what it read (×1032 for inflated members). */
  get externalBound(): number {
    return (this.inflates ? 1032 : 2) * this.totalBytes + (1 << 20);
  }
  /** JS heap a step may add: parsed headers (JSON, protobuf, tensor tables) plus young-generation slack. */
  get heapBound(): number {
    return 64 * this.totalBytes + (128 << 20);
  }

  /** End a step that returned `kept` bytes of results; the next step starts now. */
  step(what: string, kept = 0): void {
    const now = memoryNow();
    const external = now.external - this.at.external - kept;
    const heap = now.heap - this.at.heap;
    this.at = now;
    if (external > this.externalBound) throw new Error(`${what}: ${external} bytes of ArrayBuffers allocated for ${this.totalBytes} bytes of files`);
    if (heap > this.heapBound) throw new Error(`${what}: the JS heap grew by ${heap} bytes for ${this.totalBytes} bytes of files`);
  }
}

// ---------------------------------------------------------------------------------- the readers
/** Open, list and read every readable tensor; check everything the reader reports is consistent. */
export async function exerciseReader(bytes: Uint8Array, name: string, shards: Record<string, Uint8Array> = {}): Promise<Outcome> {
  const stats = { maxRead: 0 };
  const totalBytes = bytes.length + Object.values(shards).reduce((a, s) => a + s.length, 0);
  const work = async (): Promise<Outcome> => {
    const watch = new AllocationWatch(totalBytes, name.endsWith('.npz'));
    const reader = await openModel(watched(bytesSource(bytes, name), stats), { resolve: resolverFor(shards, stats) });
    watch.step('opening');
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
        watch.step(`reading ${t.name}`, values.byteLength);
        elements += values.length;
      }
      return { ok: true, tensors: infos.length, elements };
    } finally {
      await reader.close();
    }
  };
  try {
    return await withinTimeout(work(), name);
  } catch (e) {
    return asRejection(e, name);
  } finally {
    if (stats.maxRead > totalBytes) throw new Error(`${name}: a read of ${stats.maxRead} bytes from ${totalBytes} bytes of files`);
  }
}

/** Settle within CASE_TIMEOUT_MS (an asynchronous hang; a synchronous one stalls the whole run,
 * which the soak's overall time limit reports). */
export async function withinTimeout<T>(work: Promise<T>, name: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${name}: no answer within ${CASE_TIMEOUT_MS} ms`)), CASE_TIMEOUT_MS);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A ModelFileError with a one-line message that starts with its file becomes a rejection;
 * anything else is a finding and is thrown with its stack. */
export function asRejection(e: unknown, name: string): Outcome {
  if (e instanceof ModelFileError) {
    if (e.message.includes('\n')) throw new Error(`multi-line message: ${e.message}`);
    if (!e.message.startsWith(e.file)) throw new Error(`message does not start with the file name: ${e.message}`);
    return { ok: false, error: e };
  }
  throw new Error(`${name}: ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}\n${(e as Error)?.stack}`);
}

// ---------------------------------------------------------------------------------- mutations
export type Mutation =
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

/** One mutation of a file of n bytes. */
export function mutation(n: number): fc.Arbitrary<Mutation> {
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

/** One to three mutations of a file of n bytes. */
export const mutations = (n: number) => fc.array(mutation(n), { minLength: 1, maxLength: 3 });

/** Apply mutations in order (stopping at an empty file). */
export function applyAll(src: Uint8Array, list: readonly Mutation[]): Uint8Array {
  let bytes = src;
  for (const m of list) if (bytes.length > 0) bytes = apply(bytes, m);
  return bytes;
}

/** Apply a mutation; positions drawn for the original length wrap onto the current one. */
export function apply(src: Uint8Array, mut: Mutation): Uint8Array {
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

// ---------------------------------------------------------------------------------- targets
/** Something that takes a file's bytes and must answer consistently or with a ModelFileError. */
export interface FuzzTarget {
  /** Label in test names and in the soak's table (e.g. `read graph.onnx`). */
  readonly label: string;
  /** The valid file the mutations start from (in test/fixtures/files, unless `original` is given). */
  readonly seed: string;
  /** The seed's bytes when it is generated rather than a fixture file. */
  readonly original?: Uint8Array;
  /** The file format under test, for the soak's per-format totals. */
  readonly format: string;
  /** Run the target on (mutated) bytes of `seed`; throw a plain Error for a finding. */
  run(bytes: Uint8Array): Promise<TargetOutcome>;
}

/** The reader targets: every seed through openModel, tensors() and read(). */
export const READER_TARGETS: readonly FuzzTarget[] = SEEDS.map((seed) => ({
  label: `read ${seed}`,
  seed,
  format: EXPECTED[seed]!.format,
  run: (bytes: Uint8Array) => exerciseReader(bytes, seed, shardBytes()),
}));

/** model.json read with one of its weight shards mutated. */
export const SHARD_TARGETS: readonly FuzzTarget[] = SHARDS.map((shard) => ({
  label: `read model.json, mutated ${shard}`,
  seed: shard,
  format: 'tfjs',
  run: (bytes: Uint8Array) => exerciseReader(fixtureBytes('model.json'), 'model.json', { ...shardBytes(), [shard]: bytes }),
}));
