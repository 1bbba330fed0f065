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
  /** Counts of log10(|x − q| / rms(x)) in {@link HISTOGRAM_BINS} bins; exact elements go to bin 0. */
  readonly errorHistogram: number[];
}

/** Error histogram bins: log10 of the error relative to the tensor's RMS, from −8 to +1 in quarter decades. */
export const HISTOGRAM_BINS = Object.freeze({ min: -8, max: 1, perDecade: 4 });
const NBINS = (HISTOGRAM_BINS.max - HISTOGRAM_BINS.min) * HISTOGRAM_BINS.perDecade;

/** Per element, the range its block represents without saturating (half a top step past the extreme codes). */
function forEachBound(q: QuantizedTensor, visit: (flat: number, lo: number, hi: number) => void): void {
  const f = q.format;
  const L = q.layout;
  const el = f.element;
  const elMax = el.kind === 'int' ? el.kMax * 2 ** -el.fracBits : el.maxFinite;
  const elMin = el.kind === 'int' ? el.kMin * 2 ** -el.fracBits : -el.maxFinite;
  // Half the element's spacing at its largest value: beyond it a value was saturated, not rounded.
  const halfTop = 0.5 * (el.kind === 'int' ? 2 ** -el.fracBits : 2 ** (el.topExpField - el.bias - el.manBits));
  if (f.scheme === 'cast') {
    for (let i = 0; i < L.n; i++) visit(i, elMin - halfTop, elMax + halfTop);
    return;
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
      if (f.tensorScale) scale = Math.fround(scale * q.tensorScale);
      let off = 0;
      if (f.scaleRule === 'minMax') {
        const oc = q.offsets[si]!;
        off = scaleEl.bits === 32 ? bitsToF32(oc) : decodeElement(scaleEl, oc);
      }
      for (let j = 0; j < len; j++) {
        const s = taus ? scale * 2 ** -taus[row * L.subBlocksPerRow + Math.floor((start + j) / sub!.size)]! : scale;
        const a = (elMin - halfTop) * s + off;
        const c = (elMax + halfTop) * s + off;
        visit(L.inner === 1 ? row * L.rowLength + start + j : flatIndex(L, row, start + j), Math.min(a, c), Math.max(a, c));
      }
    }
  }
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
    for (let i = 0; i < n; i++) {
      const e = Math.abs(x[i]! - y[i]!) * inv;
      const b = e === 0 ? 0 : Math.floor((Math.log10(e) - HISTOGRAM_BINS.min) * HISTOGRAM_BINS.perDecade);
      hist[Math.min(Math.max(b, 0), NBINS - 1)]!++;
    }
  }
  let clipped = 0;
  forEachBound(q, (i, lo, hi) => {
    const xi = x[i]!;
    if (xi > hi || xi < lo) clipped++;
  });
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
