// Shared helpers of the WASM backend tests: bitwise comparison with the reference backend.
import { expect } from 'vitest';
import { QuantizedTensor, referenceBackend, type Backend, type Format, type QuantizeOptions } from '../../../src/index.js';

/** The backend configurations every bit-exactness test runs on. */
export const CONFIGS = [
  { label: 'SIMD, 1 thread', options: { threads: 1 } },
  { label: 'scalar, 1 thread', options: { threads: 1, simd: false } },
  { label: 'SIMD, 2 threads', options: { threads: 2, minParallelWork: 16 } },
  { label: 'scalar, 2 threads', options: { threads: 2, simd: false, minParallelWork: 16 } },
] as const;

import { rng } from '../../helpers/random.js';
export { rng };

const SPECIALS = [0, -0, NaN, Infinity, -Infinity, 1.401298464324817e-45, -1.1754942106924411e-38, 1.1754943508222875e-38, 3.4028234663852886e38, -3.4028234663852886e38, 0.5, -1, 448, 449, 57344, 6, 6.5, 1e-10, 65504, 65520];

/** Mixed data: random magnitudes over the float32 range, specials, exact ties and raw bit patterns. */
export function adversarial(n: number, seed: number, opts: { finite?: boolean } = {}): Float32Array {
  const next = rng(seed);
  const x = new Float32Array(n);
  const bits = new Uint32Array(x.buffer);
  for (let i = 0; i < n; i++) {
    const r = next();
    if (r < 0.15) x[i] = SPECIALS[Math.floor(next() * SPECIALS.length)]!;
    else if (r < 0.3) bits[i] = Math.floor(next() * 4294967296);
    else if (r < 0.45) x[i] = (Math.floor(next() * 64) - 32) / 8; // ties on small grids
    else x[i] = (next() - 0.5) * 2 ** Math.floor(next() * 40 - 20);
    if (opts.finite && !Number.isFinite(x[i]!)) x[i] = next() - 0.5;
  }
  return x;
}

export function f32Bits(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

/** Up to 3 positions where two integer arrays differ, plus a length check (fast on large arrays). */
export function diff(label: string, got: ArrayLike<number>, want: ArrayLike<number>): string[] {
  if (got.length !== want.length) return [`${label}: length ${got.length}, want ${want.length}`];
  const out: string[] = [];
  let count = 0;
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i]) {
      if (count++ < 3) out.push(`${label}[${i}]: got ${got[i]}, want ${want[i]}`);
    }
  }
  if (count > 3) out.push(`${label}: ${count} mismatches in all`);
  return out;
}

/** Differences between two quantized tensors, part by part (empty when identical). */
export function tensorDiff(got: QuantizedTensor, want: QuantizedTensor): string[] {
  const out: string[] = [];
  if (got.format.name !== want.format.name) out.push(`format ${got.format.name}, want ${want.format.name}`);
  if (JSON.stringify(got.options) !== JSON.stringify(want.options)) out.push(`options ${JSON.stringify(got.options)}, want ${JSON.stringify(want.options)}`);
  if (!Object.is(got.tensorScale, want.tensorScale)) out.push(`tensorScale ${got.tensorScale}, want ${want.tensorScale}`);
  if (got.scales.BYTES_PER_ELEMENT !== want.scales.BYTES_PER_ELEMENT) out.push('scale width differs');
  if (got.offsets.BYTES_PER_ELEMENT !== want.offsets.BYTES_PER_ELEMENT) out.push('offset width differs');
  out.push(...diff('codes', got.codes, want.codes), ...diff('scales', got.scales, want.scales));
  out.push(...diff('subScales', got.subScales, want.subScales), ...diff('offsets', got.offsets, want.offsets));
  return out;
}

async function settle<T>(f: () => T | Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await f() };
  } catch (error) {
    return { ok: false, error };
  }
}

function describeError(e: unknown): string {
  return e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e);
}

/**
 * Quantize, fakeQuantize and dequantize `x` on `backend` and on the reference; every output must be
 * equal bit for bit (NaN payloads included), and errors must be the same class and message.
 */
export async function expectSameAsReference(backend: Backend, x: Float32Array, format: string | Format, opts?: QuantizeOptions): Promise<void> {
  const where = `${typeof format === 'string' ? format : format.name} ${JSON.stringify(opts ?? {})} n=${x.length}`;
  const want = await settle(() => referenceBackend.quantize(x, format, opts));
  const got = await settle(() => backend.quantize(x, format, opts));
  if (!want.ok) {
    expect(got.ok, `${where}: reference throws ${describeError(want.error)}`).toBe(false);
    if (!got.ok) expect(describeError(got.error), where).toBe(describeError(want.error));
    const fq = await settle(() => backend.fakeQuantize(x, format, opts));
    expect(fq.ok, where).toBe(false);
    if (!fq.ok) expect(describeError(fq.error), where).toBe(describeError(want.error));
    return;
  }
  if (!got.ok) throw new Error(`${where}: backend throws ${describeError(got.error)}`);
  expect(tensorDiff(got.value, want.value), where).toEqual([]);
  const ref = f32Bits((await referenceBackend.dequantize(want.value)) as Float32Array);
  expect(diff('fakeQuantize', f32Bits(await backend.fakeQuantize(x, format, opts)), ref), where).toEqual([]);
  expect(diff('dequantize', f32Bits(await backend.dequantize(want.value)), ref), where).toEqual([]);
}
