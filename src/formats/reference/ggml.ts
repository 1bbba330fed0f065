// ggml's reference quantizers (preset "ggml"), reproduced step by step in float32, and the
// conversion between our packed tensors and ggml's block structs (FORMATS.md §3.3–3.4).
import { floorLog2F32, flog2, pow2 } from '../bits.js';
import { ELEMENTS, type IntElement } from '../element.js';
import { OptionError, ShapeError } from '../errors.js';
import type { Format } from '../format.js';
import { parseFormat } from '../names.js';
import { resolveOptions } from '../options.js';
import { packCodes, unpackCodes } from '../pack.js';
import { QuantizedTensor, newScaleArray } from '../quantized.js';
import { ggmlValueTable } from '../derived.js';
import { encodeFloat } from './element-codec.js';
import type { QuantizeContext } from './quantize.js';

const fround = Math.fround;
/** ggml's kvalues_mxfp4 (E2M1 values doubled). */
const KVALUES = ggmlValueTable(ELEMENTS.fp4_e2m1);
const E2M1_NEGATIVE_ZERO = encodeFloat(ELEMENTS.fp4_e2m1, -0, 'rne');

/** GGML_FP32_TO_FP16: round to nearest even, overflow to ±Inf (IEEE). */
function fp16Code(v: number): number {
  return encodeFloat(ELEMENTS.fp16, v, 'rne', 0, 'infinity');
}

/** ggml's `best_index_mxfp4`: the first index minimising |kvalues[i]·d − x| in float32 (index 0
 * wins the tie with 8, both zero, so ggml never writes code 8; NaN and ±Inf give 0). */
export function ggmlBestIndex(x: number, d: number): number {
  let best = 0;
  let bestErr = Math.abs(fround(fround(KVALUES[0]! * d) - x));
  for (let i = 1; i < 16; i++) {
    const err = Math.abs(fround(fround(KVALUES[i]! * d) - x));
    if (err < bestErr) {
      best = i;
      bestErr = err;
    }
  }
  return best;
}

/**
 * C's conversion of a float to an 8-bit integer as GCC and Clang compile it for x86-64 (what
 * `llama-quantize` runs): `cvttss2si` truncates to int32, giving INT32_MIN for NaN, ±Inf and
 * anything out of range, and the low byte is kept. C leaves those cases undefined.
 */
export function x86ToByte(v: number): number {
  const t = Math.abs(v) < 2 ** 31 ? Math.trunc(v) : -(2 ** 31);
  return t & 0xff;
}

/** The largest |x| of a block the way ggml finds it (`if (amax < fabsf(v)) amax = fabsf(v)`):
 * NaN never wins, ±Inf does. */
function ggmlAmax(buf: Float64Array, len: number): number {
  let amax = 0;
  for (let j = 0; j < len; j++) if (amax < Math.abs(buf[j]!)) amax = Math.abs(buf[j]!);
  return amax;
}

/**
 * ggml's `quantize_row_mxfp4_ref`: e = (uint8_t)(⌊log2f(amax)⌋ − 2 + 127), 0 for amax = 0, and
 * codes by {@link ggmlBestIndex} with d = 2^(e − 128). Below amax = 2^−125 the exponent is
 * negative and the cast is undefined in C; x86-64 wraps it modulo 256 (2^−126 → 0xFF), and an
 * infinite amax gives 0x00 (INT32_MIN's low byte). Those bytes are written, as llama-quantize does.
 */
export function ggmlMxfp4Block(ctx: QuantizeContext, len: number, pos: number, si: number): void {
  const amax = ggmlAmax(ctx.buf, len);
  const e = amax > 0 ? x86ToByte(floorLog2F32(amax) - 2 + 127) : 0;
  ctx.scales[si] = e;
  const d = pow2(e - 128);
  for (let j = 0; j < len; j++) ctx.codes[pos + j] = ggmlBestIndex(ctx.buf[j]!, d);
}

export interface BlockStats {
  amax: number;
  signedMax: number;
  lo: number;
  hi: number;
}

/** roundf: half away from zero. */
function roundf(v: number): number {
  const r = Math.floor(Math.abs(v) + 0.5);
  return v < 0 ? -r : r;
}

/** ggml's scalar-scaled reference quantizers (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1) and NVFP4. */
export function ggmlScaledBlock(ctx: QuantizeContext, len: number, pos: number, si: number, st: BlockStats): void {
  const { format, buf, codes } = ctx;
  const el = format.element as IntElement;
  const levels = 2 ** el.bits;
  const half = levels / 2;
  let d: number;
  if (format.scaleRule === 'absmax') d = fround(st.amax / el.kMax);
  else if (format.scaleRule === 'signedMax') d = fround(st.signedMax / -half);
  else d = fround(fround(st.hi - st.lo) / (levels - 1));
  const id = d !== 0 ? fround(1 / d) : 0;
  ctx.scales[si] = fp16Code(d);
  if (format.scaleRule === 'minMax') ctx.offsets[si] = fp16Code(st.lo);
  for (let j = 0; j < len; j++) {
    const x = buf[j]!;
    let q: number;
    // The float → int8 casts are undefined in C when 1/d overflows to ±Inf (block max below about
    // 2^−123): x·id is then ±Inf or NaN, and x86-64 gives code 0 (see x86ToByte).
    if (format.scaleRule === 'absmax') {
      q = x86ToByte(roundf(fround(x * id))); // int8 two's complement
    } else if (format.scaleRule === 'signedMax') {
      q = Math.min(levels - 1, x86ToByte(fround(fround(x * id) + (half + 0.5))));
    } else {
      q = Math.min(levels - 1, x86ToByte(fround(fround(fround(x - st.lo) * id) + 0.5)));
    }
    codes[pos + j] = q;
  }
}

/**
 * ggml's `ggml_fp32_to_ue4m3`: round half up on the mantissa (not RNE), every value ≥ 248 becomes
 * 0x7E (448), and values just below 2^−6 clamp to the subnormal 0x07 instead of rounding to 0x08.
 */
export function ggmlUe4m3(v: number): number {
  if (!(v > 0)) return 0;
  const x = Math.min(v, 448);
  const e = flog2(x);
  let ue = e + 7;
  if (ue <= 0) {
    const man = Math.trunc(fround(x * 512 + 0.5));
    return man < 1 ? 0 : Math.min(man, 7);
  }
  if (ue >= 15) return 0x7e;
  const frac8 = (x * pow2(-e) - 1) * 8; // mantissa field plus the fraction below it
  let m = Math.floor(frac8) + (frac8 - Math.floor(frac8) >= 0.5 ? 1 : 0);
  if (m > 7) {
    m = 0;
    ue += 1;
    if (ue >= 15) return 0x7e;
  }
  return (ue << 3) | m;
}

/** ggml's `quantize_row_nvfp4_ref` for one 16-element sub-block: UE4M3 scale of amax / 6 by
 * {@link ggmlUe4m3}, codes by {@link ggmlBestIndex} against half the scale. NaN and ±Inf inputs
 * follow ggml (NaN never sets amax, Inf saturates the scale to 0x7E, both encode code 0). */
export function ggmlNvfp4Block(ctx: QuantizeContext, len: number, pos: number, si: number): void {
  const code = ggmlUe4m3(fround(ggmlAmax(ctx.buf, len) / 6));
  ctx.scales[si] = code;
  const d = code === 0 ? 0 : fround(decodeUe4m3(code) / 2);
  for (let j = 0; j < len; j++) ctx.codes[pos + j] = ggmlBestIndex(ctx.buf[j]!, d);
}

function decodeUe4m3(code: number): number {
  const e = (code >> 3) & 15;
  const m = code & 7;
  return e === 0 ? m * pow2(-9) : (8 + m) * pow2(e - 10);
}

// ---------------------------------------------------------------------------- block structs

function ggmlFormat(format: Format | string): Format {
  const f = typeof format === 'string' ? parseFormat(format) : format;
  if (!f.ggml) throw new OptionError(`${f.name} has no ggml block layout; use q8_0, q4_0, q4_1, q5_0, q5_1, ggml_mxfp4 or ggml_nvfp4`);
  return f;
}

/**
 * Write a tensor of a ggml type as ggml's block structs (the bytes a GGUF file holds). Blocks
 * must run along the last axis, as in ggml.
 */
export function toGgmlBlocks(q: QuantizedTensor): Uint8Array {
  const f = ggmlFormat(q.format);
  const g = f.ggml!;
  if (q.axis !== q.shape.length - 1) throw new ShapeError('ggml blocks run along the last axis; quantize with the default axis');
  const n = q.length;
  const codes = unpackCodes(q.codes, f.element.bits, n);
  const nb = n / g.blockElements;
  const out = new Uint8Array(nb * g.blockBytes);
  const dv = new DataView(out.buffer);
  const el = f.element;
  for (let b = 0; b < nb; b++) {
    const o = b * g.blockBytes;
    const c = b * g.blockElements;
    if (f.scheme === 'pow2') {
      out[o] = q.scales[b]!;
      for (let j = 0; j < 16; j++) out[o + 1 + j] = codes[c + j]! | (codes[c + j + 16]! << 4);
    } else if (el.kind === 'float') {
      for (let s = 0; s < 4; s++) out[o + s] = q.scales[4 * b + s]!;
      for (let s = 0; s < 4; s++) {
        for (let j = 0; j < 8; j++) out[o + 4 + 8 * s + j] = codes[c + 16 * s + j]! | (codes[c + 16 * s + j + 8]! << 4);
      }
    } else {
      let at = o;
      dv.setUint16(at, q.scales[b]!, true);
      at += 2;
      if (f.scaleRule === 'minMax') {
        dv.setUint16(at, q.offsets[b]!, true);
        at += 2;
      }
      if (el.bits === 8) {
        for (let j = 0; j < 32; j++) out[at + j] = codes[c + j]!;
      } else {
        if (el.bits === 5) {
          let qh = 0;
          for (let j = 0; j < 32; j++) qh += ((codes[c + j]! >> 4) & 1) * 2 ** j;
          dv.setUint32(at, qh, true);
          at += 4;
        }
        for (let j = 0; j < 16; j++) out[at + j] = (codes[c + j]! & 15) | ((codes[c + j + 16]! & 15) << 4);
      }
    }
  }
  return out;
}

/** E2M1 code 8 (−0) is the integer 0 in ggml's `kvalues_mxfp4`, so ggml decodes it as +0. */
function e2m1AsGgml(code: number): number {
  return code === E2M1_NEGATIVE_ZERO ? 0 : code;
}

/**
 * A UE4M3 byte as ggml's `ggml_ue4m3_to_fp32` reads it: 0x00 and 0x7F are 0, and bit 7 is
 * ignored otherwise (0x80 is 0, 0xFF is 480). Under the ggml preset the scale element has no NaN,
 * so code 0x7F stands for 480.
 */
function ue4m3AsGgml(byte: number): number {
  return byte === 0x7f ? 0 : byte & 0x7f;
}

/** Read ggml block structs of `type` holding a tensor of `shape` (ggml's dimensions reversed:
 * outermost first) into a QuantizedTensor that decodes as llama.cpp's dequantizers do: E2M1 code 8
 * reads as +0, UE4M3 bytes as ggml_ue4m3_to_fp32 reads them, and E8M0 0xFF as 2^128 (preset
 * "ggml"; docs/serialization.md compares this with the OCP reading). */
export function fromGgmlBlocks(bytes: Uint8Array, type: Format | string, shape: readonly number[]): QuantizedTensor {
  const f = ggmlFormat(type);
  const g = f.ggml!;
  const n = shape.reduce((a, b) => a * b, 1);
  const opts = resolveOptions(f, n, { shape, preset: 'ggml' });
  const nb = n / g.blockElements;
  if (bytes.length !== nb * g.blockBytes) {
    throw new ShapeError(`${g.typeName}: ${n} elements need ${nb * g.blockBytes} bytes of blocks, got ${bytes.length}`);
  }
  const el = f.element;
  const codes = new Uint32Array(n);
  const scaleCount = f.scheme === 'scaled' && el.kind === 'float' ? nb * 4 : nb;
  const scales = newScaleArray(f.scaleElement, scaleCount);
  const offsets = f.scaleRule === 'minMax' ? newScaleArray(f.scaleElement, nb) : new Uint8Array(0);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let b = 0; b < nb; b++) {
    const o = b * g.blockBytes;
    const c = b * g.blockElements;
    if (f.scheme === 'pow2') {
      scales[b] = bytes[o]!;
      for (let j = 0; j < 16; j++) {
        codes[c + j] = e2m1AsGgml(bytes[o + 1 + j]! & 15);
        codes[c + j + 16] = e2m1AsGgml(bytes[o + 1 + j]! >> 4);
      }
    } else if (el.kind === 'float') {
      for (let s = 0; s < 4; s++) scales[4 * b + s] = ue4m3AsGgml(bytes[o + s]!);
      for (let s = 0; s < 4; s++) {
        for (let j = 0; j < 8; j++) {
          const v = bytes[o + 4 + 8 * s + j]!;
          codes[c + 16 * s + j] = e2m1AsGgml(v & 15);
          codes[c + 16 * s + j + 8] = e2m1AsGgml(v >> 4);
        }
      }
    } else {
      let at = o;
      scales[b] = dv.getUint16(at, true);
      at += 2;
      if (f.scaleRule === 'minMax') {
        offsets[b] = dv.getUint16(at, true);
        at += 2;
      }
      if (el.bits === 8) {
        for (let j = 0; j < 32; j++) codes[c + j] = bytes[at + j]!;
      } else {
        let qh = 0;
        if (el.bits === 5) {
          qh = dv.getUint32(at, true);
          at += 4;
        }
        for (let j = 0; j < 16; j++) {
          const v = bytes[at + j]!;
          codes[c + j] = (v & 15) | (el.bits === 5 ? ((qh >>> j) & 1) << 4 : 0);
          codes[c + j + 16] = (v >> 4) | (el.bits === 5 ? ((qh >>> (j + 16)) & 1) << 4 : 0);
        }
      }
    }
  }
  return new QuantizedTensor({ format: f, options: opts, codes: packCodes(codes, el.bits), scales, subScales: new Uint8Array(0), offsets, tensorScale: 1 });
}
