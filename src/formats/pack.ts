// Packing of element codes into bytes. Every width uses one rule: codes form a little-endian,
// least-significant-bit-first bit stream (code i occupies bits [b·i, b·i + b)). For 4-bit codes
// that is the OCP/torchao "adjacent" layout (element 2j in the low nibble of byte j); for 6-bit
// codes it is the 24-bit little-endian word v0 | v1<<6 | v2<<12 | v3<<18; for 8 and 16 bits it is
// plain little-endian storage.
import { OptionError } from './errors.js';

/** Bytes needed for `count` codes of `bits` bits. */
export function packedByteLength(count: number, bits: number): number {
  return Math.ceil((count * bits) / 8);
}

/** Pack `codes` (each < 2^bits, bits ≤ 32) into an LSB-first bit stream. */
export function packCodes(codes: ArrayLike<number>, bits: number, count = codes.length): Uint8Array {
  const out = new Uint8Array(packedByteLength(count, bits));
  if (bits === 8) {
    for (let i = 0; i < count; i++) out[i] = codes[i]!;
    return out;
  }
  if (bits === 4) {
    for (let i = 0; i + 1 < count; i += 2) out[i >> 1] = (codes[i]! & 15) | ((codes[i + 1]! & 15) << 4);
    if (count & 1) out[count >> 1] = codes[count - 1]! & 15;
    return out;
  }
  if (bits === 16) {
    for (let i = 0; i < count; i++) {
      out[2 * i] = codes[i]! & 0xff;
      out[2 * i + 1] = (codes[i]! >>> 8) & 0xff;
    }
    return out;
  }
  let acc = 0;
  let nacc = 0;
  let o = 0;
  for (let i = 0; i < count; i++) {
    let c = codes[i]!;
    let left = bits;
    while (left > 0) {
      const take = Math.min(left, 8 - nacc);
      acc |= (c & ((1 << take) - 1)) << nacc;
      nacc += take;
      left -= take;
      c >>>= take;
      if (nacc === 8) {
        out[o++] = acc;
        acc = 0;
        nacc = 0;
      }
    }
  }
  if (nacc > 0) out[o] = acc;
  return out;
}

/** Unpack `count` codes of `bits` bits from an LSB-first bit stream. */
export function unpackCodes(bytes: Uint8Array, bits: number, count: number, out?: Uint32Array): Uint32Array {
  if (bytes.length < packedByteLength(count, bits)) {
    throw new RangeError(`need ${packedByteLength(count, bits)} bytes for ${count} ${bits}-bit codes, got ${bytes.length}`);
  }
  const res = out ?? new Uint32Array(count);
  if (bits === 8) {
    for (let i = 0; i < count; i++) res[i] = bytes[i]!;
    return res;
  }
  if (bits === 4) {
    for (let i = 0; i < count; i++) res[i] = (bytes[i >> 1]! >> ((i & 1) << 2)) & 15;
    return res;
  }
  if (bits === 16) {
    for (let i = 0; i < count; i++) res[i] = bytes[2 * i]! | (bytes[2 * i + 1]! << 8);
    return res;
  }
  for (let i = 0; i < count; i++) {
    let bit = i * bits;
    let v = 0;
    let got = 0;
    while (got < bits) {
      const byte = bytes[bit >>> 3]!;
      const off = bit & 7;
      const take = Math.min(bits - got, 8 - off);
      v += ((byte >>> off) & ((1 << take) - 1)) * 2 ** got;
      got += take;
      bit += take;
    }
    res[i] = v;
  }
  return res;
}

/**
 * Convert 4-bit codes packed "adjacent" (element 2j low nibble) into ggml's split order, in which
 * each group of `group` elements stores element j in the low nibble and j + group/2 in the high
 * nibble of byte j (group 32 for MXFP4/Q4/Q5, 16 for NVFP4).
 */
export function adjacentToGgmlSplit(packed: Uint8Array, count: number, group = 32): Uint8Array {
  if (count % group !== 0 || group % 2 !== 0) {
    throw new OptionError(`ggml split packing needs a whole number of ${group}-element groups; got ${count} elements`);
  }
  const codes = unpackCodes(packed, 4, count);
  const out = new Uint8Array(count / 2);
  const half = group / 2;
  for (let g = 0; g < count; g += group) {
    for (let j = 0; j < half; j++) out[(g >> 1) + j] = codes[g + j]! | (codes[g + j + half]! << 4);
  }
  return out;
}

/** Inverse of {@link adjacentToGgmlSplit}. */
export function ggmlSplitToAdjacent(split: Uint8Array, count: number, group = 32): Uint8Array {
  if (count % group !== 0 || group % 2 !== 0) {
    throw new OptionError(`ggml split packing needs a whole number of ${group}-element groups; got ${count} elements`);
  }
  if (split.length < count / 2) throw new RangeError(`need ${count / 2} bytes for ${count} nibbles, got ${split.length}`);
  const codes = new Uint32Array(count);
  const half = group / 2;
  for (let g = 0; g < count; g += group) {
    for (let j = 0; j < half; j++) {
      const b = split[(g >> 1) + j]!;
      codes[g + j] = b & 15;
      codes[g + j + half] = b >> 4;
    }
  }
  return packCodes(codes, 4);
}

/** Convert FP6 codes from the default LSB-first stream to the MSB-first (big-endian 24-bit word
 * `v0<<18 | v1<<12 | v2<<6 | v3`) layout of torchao's FP6-LLM, and back with {@link fp6MsbToLsb}. */
export function fp6LsbToMsb(packed: Uint8Array, count: number): Uint8Array {
  const codes = unpackCodes(packed, 6, count);
  const out = new Uint8Array(packedByteLength(count, 6));
  for (let i = 0; i < count; i += 4) {
    const w = (codes[i]! << 18) | ((codes[i + 1] ?? 0) << 12) | ((codes[i + 2] ?? 0) << 6) | (codes[i + 3] ?? 0);
    const o = (i / 4) * 3;
    out[o] = (w >>> 16) & 0xff;
    if (o + 1 < out.length) out[o + 1] = (w >>> 8) & 0xff;
    if (o + 2 < out.length) out[o + 2] = w & 0xff;
  }
  return out;
}

/** Inverse of {@link fp6LsbToMsb}. */
export function fp6MsbToLsb(packed: Uint8Array, count: number): Uint8Array {
  const codes = new Uint32Array(count);
  for (let i = 0; i < count; i += 4) {
    const o = (i / 4) * 3;
    const w = ((packed[o] ?? 0) << 16) | ((packed[o + 1] ?? 0) << 8) | (packed[o + 2] ?? 0);
    codes[i] = (w >>> 18) & 63;
    if (i + 1 < count) codes[i + 1] = (w >>> 12) & 63;
    if (i + 2 < count) codes[i + 2] = (w >>> 6) & 63;
    if (i + 3 < count) codes[i + 3] = w & 63;
  }
  return packCodes(codes, 6);
}
