// Bit-for-bit comparison of a WebGPU backend with the reference, shared by the WebGPU unit tests:
// each helper returns null when equal, or a message naming the first difference.
import { dequantize, quantize, type QuantizeOptions } from '../../../src/index.js';
import type { WebGPUBackend } from '../../../src/kernels/webgpu/index.js';

/** Equal float32 bit patterns (any NaN matches any NaN). */
export function sameF32(got: Float32Array, want: Float32Array): string | null {
  if (got.length !== want.length) return `length ${got.length}, want ${want.length}`;
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < g.length; i++) {
    if (g[i] !== w[i] && !(Number.isNaN(got[i]) && Number.isNaN(want[i]))) return `[${i}]: got ${got[i]}, want ${want[i]}`;
  }
  return null;
}

/** Equal elements of two arrays of codes. */
export function sameArray(what: string, got: ArrayLike<number>, want: ArrayLike<number>): string | null {
  if (got.length !== want.length) return `${what}: length ${got.length}, want ${want.length}`;
  for (let i = 0; i < got.length; i++) if (got[i] !== want[i]) return `${what}[${i}]: got ${got[i]}, want ${want[i]}`;
  return null;
}

/** Quantize (every part of the tensor), dequantize and fakeQuantize on `b` against the reference. */
export async function compareWithReference(b: WebGPUBackend, x: Float32Array, format: string, opts: QuantizeOptions): Promise<string[]> {
  const where = `${format} ${JSON.stringify({ ...opts, shape: undefined })}`;
  const qr = quantize(x, format, opts);
  const qg = await b.quantize(x, format, opts);
  const bad = [
    sameArray('codes', qg.codes, qr.codes),
    sameArray('scales', qg.scales, qr.scales),
    sameArray('subScales', qg.subScales, qr.subScales),
    sameArray('offsets', qg.offsets, qr.offsets),
    Object.is(qg.tensorScale, qr.tensorScale) ? null : `tensorScale ${qg.tensorScale}, want ${qr.tensorScale}`,
  ];
  const dr = dequantize(qr);
  bad.push(sameF32(await b.dequantize(qr), dr), sameF32(await b.fakeQuantize(x, format, opts), dr));
  return bad.filter((s): s is string => s !== null).map((s) => `${where}: ${s}`);
}
