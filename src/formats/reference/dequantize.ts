import { bitsToF32, pow2 } from '../bits.js';
import { flatIndex } from '../layout.js';
import { unpackCodes } from '../pack.js';
import { pow2NanCode, type QuantizedTensor } from '../quantized.js';
import { decodeElement, decodeTable } from './element-codec.js';

const fround = Math.fround;

/** Decode every code to float32 (values are exact products, rounded once to float32). */
export function dequantizeReference(q: QuantizedTensor): Float32Array {
  const L = q.layout;
  const out = new Float32Array(L.n);
  const el = q.element;
  const codes = unpackCodes(q.codes, el.bits, L.n);
  const value =
    el.bits <= 16
      ? ((t: Float64Array) => (c: number) => t[c]!)(decodeTable(el))
      : el.kind === 'float' && el.bits === 32
        ? bitsToF32
        : (c: number) => decodeElement(el, c);
  const f = q.format;
  if (f.scheme === 'cast') {
    for (let i = 0; i < L.n; i++) out[i] = value(codes[i]!);
    return out;
  }
  const scaleEl = q.scaleElement!;
  const sub = f.subBlock;
  const taus = sub ? unpackCodes(q.subScales, sub.bits, L.subScaleCount) : null;
  const pow2Bias = 2 ** (scaleEl.bits - 1) - 1;
  const pow2Nan = pow2NanCode(scaleEl);
  for (let row = 0; row < L.rows; row++) {
    for (let b = 0; b < L.blocksPerRow; b++) {
      const si = row * L.blocksPerRow + b;
      const start = b * L.blockSize;
      const len = Math.min(L.blockSize, L.rowLength - start);
      const pos = row * L.rowLength + start;
      const sc = q.scales[si]!;
      let total: number;
      let offset = 0;
      if (f.scheme === 'pow2') {
        total = sc === pow2Nan ? NaN : pow2(sc - pow2Bias);
      } else {
        const dq = scaleEl.bits === 32 ? bitsToF32(sc) : decodeElement(scaleEl, sc);
        total = f.tensorScale ? fround(q.tensorScale * dq) : dq;
        if (f.scaleRule === 'minMax') {
          const oc = q.offsets[si]!;
          offset = scaleEl.bits === 32 ? bitsToF32(oc) : decodeElement(scaleEl, oc);
        }
      }
      for (let j = 0; j < len; j++) {
        let v: number;
        if (taus) {
          const tau = taus[row * L.subBlocksPerRow + (start + j) / sub!.size | 0]!;
          v = value(codes[pos + j]!) * total * pow2(-tau);
        } else if (f.scaleRule === 'minMax') {
          v = value(codes[pos + j]!) * total + offset; // rounded once, on the float32 store
        } else {
          v = value(codes[pos + j]!) * total;
        }
        out[L.inner === 1 ? pos + j : flatIndex(L, row, start + j)] = v;
      }
    }
  }
  return out;
}
