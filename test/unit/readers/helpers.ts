// Shared helpers for the reader tests.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BlobLike, ByteSource } from '../../../src/bdr-explorer/readers/index.js';

export const FIXTURES = fileURLToPath(new URL('../../fixtures/files/', import.meta.url));
export const fixture = (name: string): string => join(FIXTURES, name);
export const fixtureBytes = (name: string): Uint8Array => new Uint8Array(readFileSync(fixture(name)));

export interface ExpectedTensor {
  shape: number[];
  dtype: string;
  readable: boolean;
  values: (number | string)[] | null;
}
export interface ExpectedFile {
  format: string;
  tensors: Record<string, ExpectedTensor>;
  order?: string[];
}
export const EXPECTED: Record<string, ExpectedFile> = JSON.parse(readFileSync(fixture('expected.json'), 'utf8'));

/** expected.json spells NaN, ±Infinity and −0 as strings. */
export function expectedValue(v: number | string): number {
  if (typeof v === 'number') return v;
  return v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v === '-0' ? -0 : Number(v);
}

/** Indices where `actual` differs from `expected` (Object.is: NaN equals NaN, −0 differs from 0
 * unless `zeroSign` is false). */
export function mismatches(actual: Float32Array, expected: readonly number[], zeroSign = true): string[] {
  const out: string[] = [];
  if (actual.length !== expected.length) return [`length ${actual.length} ≠ ${expected.length}`];
  for (let i = 0; i < expected.length && out.length < 5; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (!(Object.is(a, e) || (!zeroSign && a === 0 && e === 0))) out.push(`[${i}] ${Object.is(a, -0) ? '-0' : a} ≠ ${Object.is(e, -0) ? '-0' : e}`);
  }
  return out;
}

/** A Blob with a name (a File, without relying on the File global). */
export function namedBlob(bytes: Uint8Array, name: string): BlobLike {
  const blob = new Blob([bytes]);
  return { name, size: blob.size, slice: (a, b) => blob.slice(a, b) };
}

/** Wraps a source and records every read (offset, length). */
export function recordingSource(inner: ByteSource): ByteSource & { reads: [number, number][] } {
  const reads: [number, number][] = [];
  return {
    name: inner.name,
    size: inner.size,
    reads,
    read(offset, length) {
      reads.push([offset, length]);
      return inner.read(offset, length);
    },
    close: () => inner.close(),
  };
}

/** Index of the first element where the arrays differ bit for bit (Object.is), or −1; −2 for a length mismatch. */
export function firstDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return -2;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}
