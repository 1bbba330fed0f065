// ggml block structs straight from a QuantizedTensor's packed codes, one pass per block and no
// intermediate arrays: the same bytes as the core's toGgmlBlocks (its tests are the oracle), at
// I/O speed, so that writing a file is limited by the quantize kernels. Layouts: FORMATS.md §3.3–3.4.
import type { QuantizedTensor } from '../../formats/quantized.js';

/** Codes 0…count−1 of an LSB-first stream of 5-bit codes, 8 codes (5 bytes) at a time. */
function unpack5(p: Uint8Array, count: number): Uint8Array {
  const out = new Uint8Array(count);
  for (let k = 0, b = 0; k < count; k += 8, b += 5) {
    // 40 bits, little-endian: low 32 in w, high 8 in h
    const w = (p[b]! | (p[b + 1]! << 8) | (p[b + 2]! << 16) | (p[b + 3]! << 24)) >>> 0;
    const h = p[b + 4]!;
    out[k] = w & 31;
    out[k + 1] = (w >>> 5) & 31;
    out[k + 2] = (w >>> 10) & 31;
    out[k + 3] = (w >>> 15) & 31;
    out[k + 4] = (w >>> 20) & 31;
    out[k + 5] = (w >>> 25) & 31;
    out[k + 6] = ((w >>> 30) | (h << 2)) & 31;
    out[k + 7] = (h >>> 3) & 31;
  }
  return out;
}

/** The ggml block bytes of `q` (a ggml format, blocks along the last axis, whole blocks). */
export function layGgmlBlocks(q: QuantizedTensor): Uint8Array {
  const g = q.format.ggml!;
  const nb = q.length / g.blockElements;
  const out = new Uint8Array(nb * g.blockBytes);
  const p = q.codes;
  const s = q.scales;
  if (q.format.scheme === 'pow2') {
    // MXFP4: e, then qs[j] = code j | code j+16 << 4; codes are 4-bit pairs, so byte (c + j) / 2
    for (let b = 0, o = 0, c = 0; b < nb; b++, o += 17, c += 16) {
      out[o] = s[b]!;
      for (let j = 0; j < 16; j += 2) {
        const lo = p[c + (j >> 1)]!;
        const hi = p[c + 8 + (j >> 1)]!;
        out[o + 1 + j] = (lo & 15) | ((hi & 15) << 4);
        out[o + 2 + j] = (lo >> 4) | (hi & 0xf0);
      }
    }
    return out;
  }
  if (q.format.element.kind === 'float') {
    // NVFP4: d[4], then per 16-element sub-block qs[8s + j] = code j | code j+8 << 4
    for (let b = 0, o = 0, c = 0; b < nb; b++, o += 36, c += 32) {
      for (let t = 0; t < 4; t++) out[o + t] = s[4 * b + t]!;
      for (let t = 0; t < 4; t++) {
        for (let j = 0; j < 8; j += 2) {
          const lo = p[c + 8 * t + (j >> 1)]!;
          const hi = p[c + 8 * t + 4 + (j >> 1)]!;
          out[o + 4 + 8 * t + j] = (lo & 15) | ((hi & 15) << 4);
          out[o + 5 + 8 * t + j] = (lo >> 4) | (hi & 0xf0);
        }
      }
    }
    return out;
  }
  const dv = new DataView(out.buffer);
  const minMax = q.format.scaleRule === 'minMax';
  const bits = q.format.element.bits;
  const five = bits === 5 ? unpack5(p, q.length) : null;
  for (let b = 0, o = 0; b < nb; b++, o += g.blockBytes) {
    let at = o;
    dv.setUint16(at, s[b]!, true);
    at += 2;
    if (minMax) {
      dv.setUint16(at, q.offsets[b]!, true);
      at += 2;
    }
    const c = 32 * b;
    if (bits === 8) {
      out.set(p.subarray(c, c + 32), at);
    } else if (five) {
      let qh = 0;
      for (let j = 0; j < 32; j++) qh |= (five[c + j]! >> 4) << j;
      dv.setUint32(at, qh >>> 0, true);
      at += 4;
      for (let j = 0; j < 16; j++) out[at + j] = (five[c + j]! & 15) | ((five[c + j + 16]! & 15) << 4);
    } else {
      const h = c >> 1;
      for (let j = 0; j < 16; j += 2) {
        const lo = p[h + (j >> 1)]!;
        const hi = p[h + 8 + (j >> 1)]!;
        out[at + j] = (lo & 15) | ((hi & 15) << 4);
        out[at + j + 1] = (lo >> 4) | (hi & 0xf0);
      }
    }
  }
  return out;
}
