// A bit-level model of ggml's C quantizers and dequantizers (ggml-quants.c `quantize_row_*_ref`,
// `dequantize_row_*`, ggml-impl.h's FP16/E8M0/UE4M3 conversions) as GCC compiles them for x86-64.
// Written from those C steps, not from src/: float arithmetic is one Math.fround per C operation,
// conversions work on bit patterns, and log2f's floor comes from the measured per-binade table of
// MICROXCALING.md §4.1 (float32 log2 rounds up in the top N values of a binade).

const fr = Math.fround;
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function bitsOf(x: number): number {
  f32[0] = x;
  return u32[0]!;
}

export function fromBits(b: number): number {
  u32[0] = b >>> 0;
  return f32[0]!;
}

/** N_e: how many of the top float32 values of binade e have ⌊log2f(x)⌋ = e + 1 (MICROXCALING.md §4.1). */
export function log2RoundUpCount(e: number): number {
  const a = e < 0 ? -e : e + 1; // symmetric pairs: −1↔0, −2↔1, …
  if (e <= -127) return ([22, 11, 11, 5, 2, 1] as const)[-127 - e] ?? 0;
  if (a >= 65) return 44;
  if (a >= 33) return 22;
  if (a >= 17) return 11;
  if (a >= 9) return 5;
  if (a >= 5) return 2;
  if (a >= 3) return 1;
  return 0;
}

/** ⌊log2f(x)⌋ for a finite float32 x > 0. */
export function floorLog2f(x: number): number {
  const b = bitsOf(x);
  const field = b >>> 23;
  const e = field === 0 ? 31 - Math.clz32(b) - 149 : field - 127;
  const last = field === 0 ? 2 ** (e + 150) - 1 : (field + 1) * 2 ** 23 - 1;
  return b > last - log2RoundUpCount(e) ? e + 1 : e;
}

/** (int8_t)/(uint8_t) of a float on x86-64: cvttss2si to int32 (INT32_MIN when NaN, ±Inf or out
 * of range), then the low byte, as a signed byte. */
export function castToInt8(v: number): number {
  const t = Number.isNaN(v) || Math.abs(v) >= 2 ** 31 ? -(2 ** 31) : Math.trunc(v);
  const b = t & 0xff;
  return b >= 128 ? b - 256 : b;
}

/** GGML_FP32_TO_FP16 on x86 (F16C `vcvtps2ph`, imm 0): RNE, overflow to ±Inf, NaN quietened. */
export function fp32ToFp16(x: number): number {
  const b = bitsOf(x);
  const sign = (b >>> 16) & 0x8000;
  const ex = (b >>> 23) & 0xff;
  const man = b & 0x7fffff;
  if (ex === 0xff) return sign | 0x7c00 | (man ? 0x200 | (man >>> 13) : 0);
  const e = ex - 127;
  if (e > 15) return sign | 0x7c00;
  // value = (2^23 + man) · 2^(e − 23) for normals; keep 10 bits above the half's lsb
  const full = ex === 0 ? man : man | 0x800000;
  const lsbExp = Math.max(e, -14) - 10; // exponent of the half's last bit
  const shift = lsbExp - (ex === 0 ? -149 : e - 23);
  if (shift > 25) return sign;
  const q = Math.floor(full / 2 ** shift);
  const rem = full - q * 2 ** shift;
  const half = 2 ** (shift - 1);
  const r = rem > half || (rem === half && q % 2 === 1) ? q + 1 : q;
  // r counts half-lsbs of 2^lsbExp; normal halves carry their implicit bit in r
  const bitsOut = e >= -14 ? ((e + 15) << 10) + (r - 0x400) : r;
  return sign | Math.min(bitsOut, 0x7c00);
}

export function fp16ToFp32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 31;
  const m = h & 0x3ff;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (e === 0 ? m * 2 ** -24 : (1024 + m) * 2 ** (e - 25));
}

/** ggml_e8m0_to_fp32_half: bits 0x00200000 << x below 2, else (x − 1) << 23. */
export function e8m0Half(x: number): number {
  return fromBits(x < 2 ? 0x00200000 << x : (x - 1) << 23);
}

/** ggml_ue4m3_to_fp32 (the value times 0.5, as ggml returns it). */
export function ue4m3Half(x: number): number {
  if (x === 0 || x === 0x7f) return 0;
  const exp = (x >> 3) & 0xf;
  const man = x & 7;
  const raw = exp === 0 ? man * 2 ** -9 : (1 + man / 8) * 2 ** (exp - 7);
  return fr(raw * 0.5);
}

/** ggml_fp32_to_ue4m3. */
export function fp32ToUe4m3(x: number): number {
  if (!(x > 0)) return 0;
  if (x > 448) x = 448;
  const bits = bitsOf(x);
  const fexp = ((bits >>> 23) & 0xff) - 127;
  const fman = (bits >>> 20) & 7;
  let ue = fexp + 7;
  if (ue <= 0) {
    let man = Math.trunc(fr(fr(x * 512) + 0.5));
    if (man > 7) man = 7;
    return man < 1 ? 0 : man;
  }
  if (ue >= 15) return 0x7e;
  let m = fman + ((bits >>> 19) & 1);
  if (m > 7) {
    m = 0;
    ue++;
    if (ue >= 15) return 0x7e;
  }
  return (ue << 3) | m;
}

export const KVALUES_MXFP4 = [0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12] as const;

function bestIndexMxfp4(x: number, e: number): number {
  let best = 0;
  let bestErr = Math.abs(fr(fr(KVALUES_MXFP4[0] * e) - x));
  for (let i = 1; i < 16; i++) {
    const err = Math.abs(fr(fr(KVALUES_MXFP4[i]! * e) - x));
    if (err < bestErr) {
      best = i;
      bestErr = err;
    }
  }
  return best;
}

/** ggml's block size and bytes per block of each modelled type. */
export const GGML_BLOCKS = {
  q8_0: { qk: 32, bytes: 34 },
  q4_0: { qk: 32, bytes: 18 },
  q4_1: { qk: 32, bytes: 20 },
  q5_0: { qk: 32, bytes: 22 },
  q5_1: { qk: 32, bytes: 24 },
  ggml_mxfp4: { qk: 32, bytes: 17 },
  ggml_nvfp4: { qk: 64, bytes: 36 },
} as const;

export type GgmlType = keyof typeof GGML_BLOCKS;

/** quantize_row_<type>_ref of one block of float32 values: the block's bytes. */
export function quantizeBlock(type: GgmlType, x: readonly number[]): Uint8Array {
  const out = new Uint8Array(GGML_BLOCKS[type].bytes);
  const dv = new DataView(out.buffer);
  const qk = x.length;
  if (type === 'ggml_mxfp4') {
    let amax = 0;
    for (const v of x) if (amax < Math.abs(v)) amax = Math.abs(v);
    const e = amax > 0 ? castToInt8(fr(fr(floorIfFinite(amax) - 2) + 127)) & 0xff : 0;
    const d = e8m0Half(e);
    out[0] = e;
    for (let j = 0; j < qk / 2; j++) out[1 + j] = bestIndexMxfp4(x[j]!, d) | (bestIndexMxfp4(x[j + qk / 2]!, d) << 4);
    return out;
  }
  if (type === 'ggml_nvfp4') {
    for (let s = 0; s < 4; s++) {
      const xb = x.slice(16 * s, 16 * s + 16);
      let amax = 0;
      for (const v of xb) if (amax < Math.abs(v)) amax = Math.abs(v);
      const ue = fp32ToUe4m3(fr(amax / 6));
      out[s] = ue;
      const d = ue4m3Half(ue);
      for (let j = 0; j < 8; j++) out[4 + 8 * s + j] = bestIndexMxfp4(xb[j]!, d) | (bestIndexMxfp4(xb[j + 8]!, d) << 4);
    }
    return out;
  }
  if (type === 'q8_0') {
    let amax = 0;
    for (const v of x) amax = amax > Math.abs(v) ? amax : Math.abs(v); // MAX(amax, fabsf(v))
    const d = fr(amax / 127);
    const id = d ? fr(1 / d) : 0;
    dv.setUint16(0, fp32ToFp16(d), true);
    for (let j = 0; j < qk; j++) {
      const v = fr(x[j]! * id);
      const r = v < 0 ? -Math.floor(-v + 0.5) : Math.floor(v + 0.5); // roundf
      out[2 + j] = castToInt8(r) & 0xff;
    }
    return out;
  }
  if (type === 'q4_0' || type === 'q5_0') {
    const nq = type === 'q4_0' ? 8 : 16;
    let amax = 0;
    let max = 0;
    for (const v of x) {
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = fr(max / -nq);
    const id = d ? fr(1 / d) : 0;
    dv.setUint16(0, fp32ToFp16(d), true);
    const q = x.map((v) => Math.min(2 * nq - 1, castToInt8(fr(fr(v * id) + (nq + 0.5)))) & 0xff);
    packNibbles(type === 'q5_0', q, out, dv, 2);
    return out;
  }
  // q4_1, q5_1
  const five = type === 'q5_1';
  let min = fromBits(0x7f7fffff);
  let max = -min;
  for (const v of x) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const d = fr(fr(max - min) / (five ? 31 : 15));
  const id = d ? fr(1 / d) : 0;
  dv.setUint16(0, fp32ToFp16(d), true);
  dv.setUint16(2, fp32ToFp16(min), true);
  const q = x.map((v) => {
    const c = castToInt8(fr(fr(fr(v - min) * id) + 0.5)) & 0xff;
    return five ? c : Math.min(15, castToInt8(fr(fr(fr(v - min) * id) + 0.5))) & 0xff;
  });
  packNibbles(five, q, out, dv, 4);
  return out;
}

/** ⌊log2f(amax)⌋ as a float, +Inf for amax = +Inf (log2f(∞) = ∞, floorf(∞) = ∞). */
function floorIfFinite(amax: number): number {
  return amax === Infinity ? Infinity : floorLog2f(amax);
}

function packNibbles(five: boolean, q: number[], out: Uint8Array, dv: DataView, at: number): void {
  let qh = 0;
  if (five) {
    for (let j = 0; j < 16; j++) {
      qh |= ((q[j]! & 0x10) >> 4) << j;
      qh |= ((q[j + 16]! & 0x10) >> 4) << (j + 16);
    }
    dv.setUint32(at, qh >>> 0, true);
    at += 4;
  }
  for (let j = 0; j < 16; j++) out[at + j] = (five ? q[j]! & 0x0f : q[j]!) | (((five ? q[j + 16]! & 0x0f : q[j + 16]!) << 4) & 0xff);
}

/** dequantize_row_<type> of one block's bytes. */
export function dequantizeBlock(type: GgmlType, b: Uint8Array): Float32Array {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const qk = GGML_BLOCKS[type].qk;
  const y = new Float32Array(qk);
  if (type === 'ggml_mxfp4') {
    const d = e8m0Half(b[0]!);
    for (let j = 0; j < 16; j++) {
      y[j] = KVALUES_MXFP4[b[1 + j]! & 15]! * d;
      y[j + 16] = KVALUES_MXFP4[b[1 + j]! >> 4]! * d;
    }
    return y;
  }
  if (type === 'ggml_nvfp4') {
    for (let s = 0; s < 4; s++) {
      const d = ue4m3Half(b[s]!);
      for (let j = 0; j < 8; j++) {
        y[16 * s + j] = KVALUES_MXFP4[b[4 + 8 * s + j]! & 15]! * d;
        y[16 * s + j + 8] = KVALUES_MXFP4[b[4 + 8 * s + j]! >> 4]! * d;
      }
    }
    return y;
  }
  const d = fp16ToFp32(dv.getUint16(0, true));
  if (type === 'q8_0') {
    for (let j = 0; j < 32; j++) y[j] = dv.getInt8(2 + j) * d;
    return y;
  }
  const affine = type === 'q4_1' || type === 'q5_1';
  const m = affine ? fp16ToFp32(dv.getUint16(2, true)) : 0;
  const five = type === 'q5_0' || type === 'q5_1';
  let at = affine ? 4 : 2;
  const qh = five ? dv.getUint32(at, true) : 0;
  if (five) at += 4;
  const bias = affine ? 0 : five ? 16 : 8;
  for (let j = 0; j < 16; j++) {
    const h0 = five ? ((qh >>> j) << 4) & 0x10 : 0;
    const h1 = five ? (qh >>> (j + 12)) & 0x10 : 0;
    const x0 = ((b[at + j]! & 0x0f) | h0) - bias;
    const x1 = ((b[at + j]! >> 4) | h1) - bias;
    y[j] = affine ? fr(x0 * d) + m : x0 * d;
    y[j + 16] = affine ? fr(x1 * d) + m : x1 * d;
  }
  return y;
}
