import { bitsToF32 } from '../formats/bits.js';
import { flatIndex } from '../formats/layout.js';
import { unpackCodes } from '../formats/pack.js';
import type { QuantizedTensor } from '../formats/quantized.js';
import { decodeElement } from '../formats/reference/element-codec.js';

/** Accuracy and cost of one tensor in one format. */
export interface TensorMetrics {
  readonly elements: number;
  /** −10·log10(Σ(x−q)² / Σx²) in dB, accumulated in float64 (Infinity when exact). */
  readonly qsnrDb: number;
  readonly mse: number;
  readonly maxAbsError: number;
  /** Fraction of elements beyond the block's largest code by more than half its top step (saturated). */
  readonly clippedFraction: number;
  /** Fraction of elements that were non-zero and became zero. */
  readonly flushedFraction: number;
  readonly bitsPerElement: number;
  /** Bytes of codes, scales, microexponents, offsets and tensor scale. */
  readonly storedBytes: number;
  /** Σ(x−q)² and Σx², kept for element-weighted aggregates. */
  readonly sumSquaredError: number;
  readonly sumSquaredSignal: number;
  /** Counts of log2(|x − q| / rms(x)) in {@link HISTOGRAM_BINS} bins (one per octave); exact elements go to bin 0. */
  readonly errorHistogram: number[];
}

/** Error histogram bins: ⌊log2⌋ of the error relative to the tensor's RMS, one bin per octave from
 * 2^min to 2^max (read from the float32 exponent, no logarithms in the loop). */
export const HISTOGRAM_BINS = Object.freeze({ min: -28, max: 4 });
const NBINS = HISTOGRAM_BINS.max - HISTOGRAM_BINS.min;

/**
 * Elements beyond their block's range by more than half the element's top step (saturated rather
 * than rounded), walking blocks in storage order.
 */
function countClipped(q: QuantizedTensor, x: Float32Array): number {
  const f = q.format;
  const L = q.layout;
  const el = f.element;
  const elMax = el.kind === 'int' ? el.kMax * 2 ** -el.fracBits : el.maxFinite;
  const elMin = el.kind === 'int' ? el.kMin * 2 ** -el.fracBits : -el.maxFinite;
  const halfTop = 0.5 * (el.kind === 'int' ? 2 ** -el.fracBits : 2 ** (el.topExpField - el.bias - el.manBits));
  const hiUnit = elMax + halfTop;
  const loUnit = elMin - halfTop;
  let clipped = 0;
  if (f.scheme === 'cast') {
    for (let i = 0; i < L.n; i++) if (x[i]! > hiUnit || x[i]! < loUnit) clipped++;
    return clipped;
  }
  const scales = q.scaleValues();
  const sub = f.subBlock;
  const taus = sub ? unpackCodes(q.subScales, sub.bits, L.subScaleCount) : null;
  const scaleEl = q.scaleElement!;
  for (let row = 0; row < L.rows; row++) {
    for (let b = 0; b < L.blocksPerRow; b++) {
      const si = row * L.blocksPerRow + b;
      const start = b * L.blockSize;
      const len = Math.min(L.blockSize, L.rowLength - start);
      let scale = scales[si]!;
      if (scale !== scale) continue;
      if (f.tensorScale) scale = Math.fround(scale * q.tensorScale);
      let off = 0;
      if (f.scaleRule === 'minMax') {
        const oc = q.offsets[si]!;
        off = scaleEl.bits === 32 ? bitsToF32(oc) : decodeElement(scaleEl, oc);
      }
      const k2 = sub ? sub.size : len;
      for (let j0 = 0; j0 < len; j0 += k2) {
        const s = taus ? scale * 2 ** -taus[row * L.subBlocksPerRow + (start + j0) / k2]! : scale;
        const lo = Math.min(loUnit * s, hiUnit * s) + off;
        const hi = Math.max(loUnit * s, hiUnit * s) + off;
        const end = Math.min(j0 + k2, len);
        if (L.inner === 1) {
          const base = row * L.rowLength + start;
          for (let j = j0; j < end; j++) {
            const v = x[base + j]!;
            if (v > hi || v < lo) clipped++;
          }
        } else {
          for (let j = j0; j < end; j++) {
            const v = x[flatIndex(L, row, start + j)]!;
            if (v > hi || v < lo) clipped++;
          }
        }
      }
    }
  }
  return clipped;
}

/** Bytes a quantized tensor occupies (codes, scales, microexponents, offsets, tensor scale). */
export function storedBytes(q: QuantizedTensor): number {
  return (q.bitsPerElement * q.length) / 8;
}

/** Compare the original `x` with its dequantized `y` (from `q`). */
export function measure(x: Float32Array, y: Float32Array, q: QuantizedTensor): TensorMetrics {
  const n = x.length;
  let err = 0;
  let sig = 0;
  let maxAbs = 0;
  let flushed = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[i]!;
    const d = xi - y[i]!;
    err += d * d;
    sig += xi * xi;
    const a = Math.abs(d);
    if (a > maxAbs) maxAbs = a;
    if (xi !== 0 && y[i] === 0) flushed++;
  }
  const hist = new Array<number>(NBINS).fill(0);
  const rms = n ? Math.sqrt(sig / n) : 0;
  if (rms > 0) {
    const inv = 1 / rms;
    const f32 = new Float32Array(1);
    const u32 = new Uint32Array(f32.buffer);
    const counts = new Float64Array(NBINS);
    for (let i = 0; i < n; i++) {
      f32[0] = Math.abs(x[i]! - y[i]!) * inv;
      const e = (u32[0]! >>> 23) - 127; // ⌊log2⌋ for normal float32; zero and subnormals fall to bin 0
      counts[e < HISTOGRAM_BINS.min ? 0 : e >= HISTOGRAM_BINS.max ? NBINS - 1 : e - HISTOGRAM_BINS.min]!++;
    }
    counts.forEach((c, i) => (hist[i] = c));
  }
  const clipped = countClipped(q, x);
  return {
    elements: n,
    qsnrDb: err === 0 ? Infinity : sig === 0 ? -Infinity : -10 * Math.log10(err / sig),
    mse: n ? err / n : 0,
    maxAbsError: maxAbs,
    clippedFraction: n ? clipped / n : 0,
    flushedFraction: n ? flushed / n : 0,
    bitsPerElement: q.bitsPerElement,
    storedBytes: storedBytes(q),
    sumSquaredError: err,
    sumSquaredSignal: sig,
    errorHistogram: hist,
  };
}
