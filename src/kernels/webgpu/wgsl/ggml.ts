// WGSL for preset "ggml": ggml's own float32 quantizers (src/formats/reference/ggml.ts) on the
// block-kernel hooks (block_scale / mm_scale, offset_code, tau_of, encode_in_block). Every float32
// step of the reference (products, sums, quotients, reciprocals) is one correctly rounded integer
// operation here; the conversions of the reference's typed arrays (±∞ and NaN stored as 0, values
// kept modulo 2^bits by the packer) are reproduced too.
import { f32ToBits } from '../../../formats/bits.js';
import { float32Log2Thresholds } from '../../../formats/derived.js';
import type { IntElement } from '../../../formats/element.js';
import { decoderWgsl, encoderWgsl, u32 } from './element.js';
import { WIDE_WGSL } from './numeric.js';
import type { Program } from './program.js';

const F32_HALF = 0x3f000000;
const F32_ONE = 0x3f800000;

/** Float32 helpers of the ggml kernels: a correctly rounded sum, ggml's reciprocal and the
 * typed-array conversions of the reference's code arithmetic. Needs NUMERIC_WGSL. */
function ggmlHelpers(codeBits: number): string {
  const mask = u32(2 ** codeBits - 1);
  return `${WIDE_WGSL}
fn add_f32(a: u32, b: u32) -> u32 { return w_to_f32(add_w(w_from_uf(uf_from_bits(a)), w_from_uf(uf_from_bits(b)))); }

// id = d != 0 ? 1/d : 0
fn ggml_inv(d: u32) -> u32 {
  if ((d & 0x7fffffffu) == 0u) { return 0u; }
  return div_f32(uf_from_bits(${u32(F32_ONE)}), uf_from_bits(d));
}

// min(top, low byte of C's (int) cast as x86-64 computes it (reference/ggml.ts x86ToByte)): NaN,
// ±∞ and values out of int32 range truncate to INT32_MIN, whose low byte is 0
fn trunc_min(v: u32, top: u32) -> u32 {
  let a = v & 0x7fffffffu;
  let ex = i32(a >> 23u) - 127;
  if (a >= 0x7f800000u || ex >= 31) { return 0u; }
  var t = 0u;
  if (ex > 23) { t = ((a & 0x7fffffu) | 0x800000u) << u32(ex - 23); } else if (ex >= 0) { t = ((a & 0x7fffffu) | 0x800000u) >> u32(23 - ex); }
  return min(select(t, 0u - t, (v >> 31u) == 1u) & 0xffu, top);
}

// roundf (half away from zero) of v as a two's-complement code: ±∞ and NaN give 0
fn round_code(v: u32) -> u32 {
  let a = v & 0x7fffffffu;
  if (a >= 0x7f800000u) { return 0u; }
  let ex = i32(a >> 23u) - 127;
  let m = (a & 0x7fffffu) | 0x800000u;
  var r = 0u;
  if (ex >= 55) { r = 0u; } else if (ex >= 23) { r = m << u32(ex - 23); } else if (ex >= -1) { r = (m + (1u << u32(22 - ex))) >> u32(23 - ex); }
  if ((v >> 31u) == 1u) { return (0u - r) & ${mask}; }
  return r & ${mask};
}
`;
}

/** The ggml hooks for the scaled ggml types: Q8_0 (absmax), Q4_0/Q5_0 (signedMax), Q4_1/Q5_1
 * (minMax) and NVFP4. Scales and offsets go through GGML_FP32_TO_FP16 (overflow to ±∞). */
export function ggmlScaledWgsl(p: Program): string {
  const se = p.scaleElement!;
  const nan = u32(p.scaleNanCode);
  const zero = u32(p.zeroCode);
  const parts: string[] = [ggmlHelpers(p.codeBits)];
  if (p.element.kind === 'float') {
    parts.push(decoderWgsl('dec_scale', se), nvfp4Wgsl(p, zero));
    return parts.join('\n');
  }
  const el = p.element as IntElement;
  const levels = 2 ** el.bits;
  const half = levels / 2;
  const top = u32(levels - 1);
  parts.push(encoderWgsl('enc_scale', se, 'infinity'));
  if (p.scaleRule === 'minMax') {
    parts.push(`
fn key_bits(k: u32) -> u32 { return select(~k, k ^ 0x80000000u, k >= 0x80000000u); }

// d = (hi − lo)/(levels − 1) in float32; the block keeps id and the minimum itself
fn mm_scale(lo: u32, hi: u32, finite: bool) -> BS {
  if (!finite) { return BS(${nan}, 0u, 0, 2u); }
  let d = div_f32(uf_from_bits(add_f32(hi, lo ^ 0x80000000u)), uf_from_bits(${u32(f32ToBits(levels - 1))}));
  return BS(enc_scale(uf_from_bits(d), 0u, 0u), ggml_inv(d), bitcast<i32>(lo), 0u);
}

fn offset_code(b: BS) -> u32 {
  if (b.state != 0u) { return ${nan}; }
  return enc_scale(uf_from_bits(bitcast<u32>(b.eblock)), 0u, 0u);
}

fn tau_of(sub_abs: u32, b: BS) -> u32 { return 0u; }

fn encode_in_block(xb: u32, b: BS, tau: u32, u: u32) -> u32 {
  if (b.state != 0u) { return ${zero}; }
  let centred = add_f32(xb, bitcast<u32>(b.eblock) ^ 0x80000000u);
  return trunc_min(add_f32(mul_f32(uf_from_bits(centred), uf_from_bits(b.p)), ${u32(F32_HALF)}), ${top});
}
`);
    return parts.join('\n');
  }
  const signed = p.scaleRule === 'signedMax';
  const divisor = signed ? -half : el.kMax;
  parts.push(`
fn block_scale(key: u32) -> BS {
  let a = key & 0x7fffffffu;
  if (a >= 0x7f800000u) { return BS(${nan}, 0u, 0, 2u); }
  let d = div_f32(uf_from_bits(${signed ? 'key' : 'a'}), uf_from_bits(${u32(f32ToBits(divisor))}));
  return BS(enc_scale(uf_from_bits(d), 0u, 0u), ggml_inv(d), 0, 0u);
}

fn tau_of(sub_abs: u32, b: BS) -> u32 { return 0u; }

fn encode_in_block(xb: u32, b: BS, tau: u32, u: u32) -> u32 {
  if (b.state != 0u) { return ${zero}; }
  let y = mul_f32(uf_from_bits(xb), uf_from_bits(b.p));
  ${signed ? `return trunc_min(add_f32(y, ${u32(f32ToBits(half + 0.5))}), ${top});` : 'return round_code(y);'}
}
`);
  return parts.join('\n');
}

/** The first index minimising |float32(float32(K[i]·d) − x)| over ggml's FP4 table. */
function bestIndexWgsl(): string {
  return `
fn best_fp4(xb: u32, d: UF) -> u32 {
  let nx = xb ^ 0x80000000u;
  var best = 0u;
  var best_err = 0xffffffffu;
  for (var i = 0u; i < 16u; i = i + 1u) {
    let err = add_f32(mul_f32(uf_from_bits(kvalues[i]), d), nx) & 0x7fffffffu;
    if (err < best_err) { best = i; best_err = err; }
  }
  return best;
}`;
}

/** ggml's FP4 table (kernel constants' ggmlValues), in index order. */
function kvaluesWgsl(p: Program): string {
  const values = p.ggmlValues;
  if (!values) throw new RangeError(`${p.key}: no ggml value table`);
  return `var<private> kvalues: array<u32, ${values.length}> = array<u32, ${values.length}>(${values.map((k) => u32(f32ToBits(k))).join(', ')});`;
}

/** ggml's NVFP4: UE4M3 scale by ggml_fp32_to_ue4m3(amax / element max) (half-up mantissa rounding,
 * capped at the scale element's max, small values clamped to the subnormals), d = scale/2, codes
 * by the nearest table entry. */
function nvfp4Wgsl(p: Program, zero: string): string {
  return `${kvaluesWgsl(p)}
${bestIndexWgsl()}

fn ue4m3_ggml(v: u32) -> u32 {
  if ((v >> 31u) == 1u || v == 0u) { return 0u; }
  let x = min(v, ${u32(p.scaleMaxBits)});
  var e = i32(x >> 23u) - 127;
  if ((x >> 23u) == 0u) { e = i32(firstLeadingBit(x)) - 149; }
  var ue = e + 7;
  if (ue <= 0) {
    let man = trunc_min(add_f32(mul_f32(uf_from_bits(x), uf_from_bits(${u32(f32ToBits(512))})), ${u32(F32_HALF)}), 7u);
    return man;
  }
  if (ue >= 15) { return 0x7eu; }
  let frac = x & 0x7fffffu;
  var m = (frac >> 20u) + ((frac >> 19u) & 1u);
  if (m > 7u) {
    m = 0u;
    ue = ue + 1;
    if (ue >= 15) { return 0x7eu; }
  }
  return (u32(ue) << 3u) | m;
}

// the block key comes without NaNs (ggml skips them); ±Inf saturates the scale to 0x7E
fn block_scale(key: u32) -> BS {
  let a = key & 0x7fffffffu;
  let code = ue4m3_ggml(div_f32(uf_from_bits(a), uf_from_bits(${u32(p.elMaxBits)})));
  var d = 0u;
  if (code != 0u && code != 0x7fu) { d = mul_f32(dec_scale(code), uf_from_bits(${u32(F32_HALF)})); }
  return BS(code, d, 0, 0u);
}

fn tau_of(sub_abs: u32, b: BS) -> u32 { return 0u; }

fn encode_in_block(xb: u32, b: BS, tau: u32, u: u32) -> u32 {
  if (b.state != 0u) { return ${zero}; }
  return best_fp4(xb, uf_from_bits(b.p));
}
`;
}

/** `fn flog2_f32(a: u32) -> i32`: ⌊float32(log2 x)⌋ of the float32 magnitude bits a (finite,
 * non-zero), from the per-binade thresholds (bits.ts floorLog2F32). ggml and microxcaling presets. */
export function log2F32Wgsl(): string {
  // 0xffffffff where a binade has no threshold: no magnitude reaches it
  const table = float32Log2Thresholds().map((t) => t ?? 0xffffffff);
  return `var<private> log2_up: array<u32, ${table.length}> = array<u32, ${table.length}>(${table.map((b) => u32(b)).join(', ')});

fn flog2_f32(a: u32) -> i32 {
  var e = i32(a >> 23u) - 127;
  if ((a >> 23u) == 0u) { e = i32(firstLeadingBit(a)) - 149; }
  if (a >= log2_up[e + 149]) { e = e + 1; }
  return e;
}`;
}

/** ggml's MXFP4 hooks (reference/ggml.ts ggmlMxfp4Block): the scale byte (uint8_t)(⌊log2f(amax)⌋ −
 * 2 + 127) as x86-64 computes it (wrapping below 2^−125, 0 for ±Inf and for amax = 0), codes by
 * the nearest entry of kvalues · 2^(e−128). The block key comes without NaNs (ggml skips them). */
export function ggmlPow2Wgsl(p: Program): string {
  return `${ggmlHelpers(p.codeBits)}
${kvaluesWgsl(p)}
${log2F32Wgsl()}
${bestIndexWgsl()}

fn block_scale(key: u32) -> BS {
  let a = key & 0x7fffffffu;
  var e = 0u;
  if (a != 0u && a < 0x7f800000u) { e = bitcast<u32>(flog2_f32(a) + 125) & 0xffu; }
  return BS(e, bitcast<u32>(i32(e) - 127), 0, 0u);
}

fn tau_of(sub_abs: u32, b: BS) -> u32 { return 0u; }

fn encode_in_block(xb: u32, b: BS, tau: u32, u: u32) -> u32 { return best_fp4(xb, UF(0u, 0x800000u, bitcast<i32>(b.p) - 24, 1u)); }
`;
}
