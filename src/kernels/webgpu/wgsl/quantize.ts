// WGSL generators for quantization. Two paths produce identical bits:
// - fused: one kernel per chunk when blocks are consecutive runs of the flat input (blocks along
//   the last axis, rows holding whole blocks or a single row). Each workgroup owns whole blocks and
//   whole output words; a block's maximum is one tree reduction in workgroup memory, its scale is
//   computed once by the block's first thread, and codes, scales and microexponents are written as
//   whole, consecutive u32 words.
// - general: any axis, partial blocks in every row and blocks of any size: block statistics by
//   atomics, one thread per block for the scale, then encoding and packing kernels.
import { FAST_ROUND_WGSL, LEAN_MISS, decoderWgsl, encoderWgsl, fastEncoderWgsl, i32, leanEncoderWgsl, u32 } from './element.js';
import { ggmlPow2Wgsl, ggmlScaledWgsl, log2F32Wgsl } from './ggml.js';
import { ENCODE_ERROR, NUMERIC_WGSL, WIDE_WGSL } from './numeric.js';
import type { Program } from './program.js';
import { Q_PARAMS } from './uniforms.js';

/** Threads per workgroup of every quantize-family kernel. */
export const WG = 256;
/** Flat elements handled by one thread in the general kernels. */
export const GENERAL_PER_THREAD = 4;
/** Partial maxima a block's first thread folds itself after the tree steps of the fused kernel. */
const LEADER_READS = 16;

const TWO_M6_BITS = 0x3c800000;

/** Helpers every block kernel shares: the element codec, the block scale and the per-element encode. */
export function blockCommonWgsl(p: Program): string {
  const parts: string[] = [NUMERIC_WGSL, Q_PARAMS.wgsl(), '@group(0) @binding(0) var<uniform> Q: QParams;'];
  parts.push(encoderWgsl('enc_el', p.element, p.overflow));
  parts.push(FAST_ROUND_WGSL);
  parts.push(fastEncoderWgsl('enc_fast', 'enc_el', p.element, p.overflow));
  parts.push(`
struct BS { code: u32, p: u32, eblock: i32, state: u32 }

fn f32_key(b: u32) -> u32 { return select(b ^ 0x80000000u, ~b, (b >> 31u) == 1u); }

// |x| bits with NaN as 0: ggml's block maximum (\`if (amax < fabsf(v))\`) never takes a NaN
fn nan_to_zero(b: u32) -> u32 { let a = b & 0x7fffffffu; return select(a, 0u, a > 0x7f800000u); }

fn uf_to_bits(x: UF) -> u32 {
  if (x.kind == 3u) { return 0x7fc00000u; }
  if (x.kind == 2u) { return (x.s << 31u) | 0x7f800000u; }
  if (x.kind == 0u) { return x.s << 31u; }
  return f32_bits(x.s, x.m, x.e);
}

fn bs_pack(b: BS) -> vec4<u32> { return vec4<u32>(b.code, b.p, bitcast<u32>(b.eblock), b.state); }
fn bs_unpack(v: vec4<u32>) -> BS { return BS(v.x, v.y, bitcast<i32>(v.z), v.w); }
`);
  if (p.scheme === 'pow2') {
    if (p.ggml) parts.push(ggmlPow2Wgsl(p));
    else parts.push(pow2Wgsl(p));
    const lean = leanEncoderWgsl(p);
    if (lean) parts.push(lean);
  }
  else if (p.scheme === 'scaled') parts.push(p.ggml ? ggmlScaledWgsl(p) : scaledWgsl(p));
  return parts.join('\n');
}

function pow2Wgsl(p: Program): string {
  const tmax = p.subBlock ? 2 ** p.subBlock.bits - 1 : 0;
  // microxcaling: the float32 log2's floor for the shared exponent (its floor rule) and the flush test
  const microFloor = 'Q.scale_mode == 0u';
  const flush = p.micro ? `select(a < 0x00800000u, flog2_f32(a) <= -127, ${microFloor})` : 'a < 0x00800000u';
  const exponent = p.micro ? `select(shared_exp(am, Q.scale_mode), flog2_f32(a) - ${i32(p.emax)}, ${microFloor})` : 'shared_exp(am, Q.scale_mode)';
  return `${p.micro ? `${log2F32Wgsl()}
${microEncoderWgsl(p)}` : ''}
fn shared_exp(a: UF, mode: u32) -> i32 {
  let e = a.e + 23;
  if (mode == 1u) { return select(e + 1, e, a.m == 0x800000u) - ${i32(p.emax)}; }
  if (mode == 2u) { return select(e, e + 1, a.m >= ${u32(p.evenThreshold)}) - ${i32(p.emax)}; }
  if (mode == 3u) { return select(e - ${i32(p.emax)} + 1, e - ${i32(p.emax)}, a.m <= ${u32(p.rceilMantissa)}); }
  return e - ${i32(p.emax)};
}

fn block_scale(key: u32) -> BS {
  let a = key & 0x7fffffffu;
  let nan_scale = u32(2 * Q.smax + 1);
  if (a >= 0x7f800000u) { return BS(nan_scale, 0u, 0, 2u); }
  if (a == 0u || (Q.flush == 1u && ${flush})) {
    // all-zero blocks keep each zero's sign (state 3) except under microxcaling; flushed blocks give +0
    var s = -Q.smax;
    var st = 1u;
    if (Q.micro == 1u) { s = max(${i32(-126 - p.emax)}, -Q.smax); } else if (a == 0u) { st = 3u; }
    return BS(u32(s + Q.smax), bitcast<u32>(s), 0, st);
  }
  let am = uf_from_bits(a);
  var s = ${exponent};
  if (s > Q.smax) { return BS(nan_scale, 0u, 0, 2u); }
  s = max(s, -Q.smax);
  // microexponents count down from the block's effective exponent s + emax
  return BS(u32(s + Q.smax), bitcast<u32>(s), s + ${i32(p.emax)}, 0u);
}

fn tau_of(sub_abs: u32, b: BS) -> u32 {
  if (b.state == 1u || b.state == 3u) { return ${u32(tmax)}; }
  if (b.state == 2u) { return 0u; }
  if (sub_abs == 0u) { return ${u32(tmax)}; }
  let fs = uf_from_bits(sub_abs);
  return u32(min(b.eblock - (fs.e + 23), ${i32(tmax)}));
}

fn encode_in_block(xb: u32, b: BS, tau: u32, u: u32) -> u32 {
  if (b.state == 3u) { return enc_el(UF(xb >> 31u, 0u, 0, 0u), 0u, 0u); }
  if (b.state != 0u) { return ${u32(p.zeroCode)}; }
  let d = i32(tau) - bitcast<i32>(b.p);
${p.micro ? MICRO_ENCODE : '  return enc_fast(xb, d, Q.rounding, u);'}
}
`;
}

/** The microxcaling element encode of a finite power-of-two block. */
const MICRO_ENCODE = `  // the emulator rounds the scaled value to float32 first, and its zeros are +0
  var x = uf_from_bits(xb);
  x.e = x.e + d;
  if (x.kind == 1u) { x = uf_from_bits(f32_bits(x.s, x.m, x.e)); }
  if (x.kind == 0u) { x.s = 0u; }
  return enc_micro(x, Q.rounding, u);`;

/**
 * `fn enc_micro(x: UF, mode: u32, u: u32) -> u32` (reference/microxcaling.ts): the emulator's
 * element step on a float32 x. Floats round at 2^(pe − manBits) with pe = max(⌊fl32(log2 |x|)⌋,
 * emin), integers at 2^−fracBits; ⌊|t| + 0.5⌋ in float32 rounds t = 0.5 − 2^−25 up (rna, rne);
 * the result saturates and is encoded exactly.
 */
function microEncoderWgsl(p: Program): string {
  const el = p.element;
  const float = el.kind === 'float';
  const step = float ? `pe - ${i32(el.manBits)}` : i32(-el.fracBits);
  return `
fn enc_micro(x: UF, mode: u32, u: u32) -> u32 {
  if (x.kind != 1u) { return enc_el(x, 0u, 0u); }
${float ? `  let pe = max(flog2_f32(f32_bits(0u, x.m, x.e)), ${i32(el.emin)});
` : ''}  let lsb = ${step};
  let sh = lsb - x.e;
  var r = 0u;
  if (sh <= 0) { r = select(0xffffffu, x.m << u32(-sh), sh > -8); } else { r = round_shift(x.m, u32(sh), mode, u); }
  if (mode <= 1u && sh == 25 && x.m == 0xffffffu) { r = 1u; }
${float ? '' : `  r = min(r, ${u32(el.kMax)});
`}  if (r == 0u) { return enc_el(UF(x.s, 0u, 0, 0u), 0u, 0u); }
  let fl = firstLeadingBit(r);
  if (fl > 23u) { return enc_el(UF(x.s, r >> (fl - 23u), lsb + i32(fl) - 23, 1u), 0u, 0u); }
  return enc_el(UF(x.s, r << (23u - fl), lsb + i32(fl) - 23, 1u), 0u, 0u);
}`;
}

function scaledWgsl(p: Program): string {
  const se = p.scaleElement!;
  const lines: string[] = [];
  lines.push(encoderWgsl('enc_scale', se, 'saturate'));
  lines.push(decoderWgsl('dec_scale', se));
  if (p.scaleRule === 'minMax') return minMaxWgsl(p, lines);
  lines.push(`fn block_scale(key: u32) -> BS {`);
  lines.push(`  let a = key & 0x7fffffffu;`);
  lines.push(`  if (a >= 0x7f800000u) { return BS(${u32(p.scaleNanCode)}, 0x7fc00000u, 0, 2u); }`);
  if (p.scaleRule === 'absmax') {
    lines.push(`  let mv = min(a, Q.bound);`);
    lines.push(`  var d = div_f32(uf_from_bits(mv), uf_from_bits(${u32(p.elMaxBits)}));`);
    if (p.tensorScale) lines.push(`  d = div_f32(uf_from_bits(d), uf_from_bits(Q.tensor_scale));`);
  } else if (p.scaleRule === 'signedMax') {
    lines.push(`  var d = div_f32(uf_from_bits(key), uf_from_bits(${u32(p.divisorBits)}));`);
  } else {
    throw new RangeError(`scale rule ${p.scaleRule} has no GPU kernel`);
  }
  if (p.clampBits) {
    lines.push(`  if (f32_key(d) < ${u32(keyOf(p.clampBits[0]))}) { d = ${u32(p.clampBits[0])}; }`);
    lines.push(`  if (f32_key(d) > ${u32(keyOf(p.clampBits[1]))}) { d = ${u32(p.clampBits[1])}; }`);
  }
  if (p.tensorScale) lines.push(`  if (Q.torchao == 1u && f32_key(d) < ${u32(keyOf(TWO_M6_BITS))}) { d = ${u32(TWO_M6_BITS)}; }`);
  lines.push(`  let code = enc_scale(uf_from_bits(d), 0u, 0u);`);
  lines.push(`  var total = uf_to_bits(dec_scale(code));`);
  if (p.tensorScale) lines.push(`  total = mul_f32(uf_from_bits(Q.tensor_scale), uf_from_bits(total));`);
  lines.push(`  return BS(code, total, 0, 0u);`);
  lines.push(`}`);
  lines.push(`
fn tau_of(sub_abs: u32, b: BS) -> u32 { return 0u; }

fn encode_in_block(xb: u32, b: BS, tau: u32, u: u32) -> u32 {
  if (b.state != 0u) { return ${u32(p.zeroCode)}; }
  // a zero total scale gives centred · 0: a zero with the input's sign
  if ((b.p & 0x7fffffffu) == 0u) { return enc_el(UF(xb >> 31u, 0u, 0, 0u), Q.rounding, u); }
  return enc_fast(div_f32(uf_from_bits(xb), uf_from_bits(b.p)), 0, Q.rounding, u);
}
`);
  return lines.join('\n');
}

/**
 * The minMax rule (reference scaledBlock): d = float32(float64(float64(hi − lo) / elMax)), the
 * block minimum as the offset, both stored in the scale element; each element encodes
 * float32(float32(x − offset) / scale). The block's parameters keep the decoded offset's bits in
 * `eblock`; non-finite blocks store NaN scale and offset codes and zero codes (state 2).
 */
function minMaxWgsl(p: Program, lines: string[]): string {
  const nan = u32(p.scaleNanCode);
  lines.push(WIDE_WGSL);
  lines.push(`
fn key_bits(k: u32) -> u32 { return select(~k, k ^ 0x80000000u, k >= 0x80000000u); }

fn mm_scale(lo: u32, hi: u32, finite: bool) -> BS {
  if (!finite) { return BS(${nan}, 0x7fc00000u, bitcast<i32>(0x7fc00000u), 2u); }
  var d = 0u;
  let diff = round53(add_w(w_from_uf(uf_from_bits(hi)), w_from_uf(uf_from_bits(lo ^ 0x80000000u))));
  if (diff.kind == 1u) { d = w_to_f32(round53(div_w(diff, uf_from_bits(${u32(p.elMaxBits)})))); }`);
  if (p.clampBits) {
    lines.push(`  if (f32_key(d) < ${u32(keyOf(p.clampBits[0]))}) { d = ${u32(p.clampBits[0])}; }`);
    lines.push(`  if (f32_key(d) > ${u32(keyOf(p.clampBits[1]))}) { d = ${u32(p.clampBits[1])}; }`);
  }
  lines.push(`  let code = enc_scale(uf_from_bits(d), 0u, 0u);
  let off = uf_to_bits(dec_scale(enc_scale(uf_from_bits(lo), 0u, 0u)));
  return BS(code, uf_to_bits(dec_scale(code)), bitcast<i32>(off), 0u);
}

// the offset's code again: encode ∘ decode is the identity on the non-NaN codes of a float element
fn offset_code(b: BS) -> u32 {
  if (b.state != 0u) { return ${nan}; }
  return enc_scale(uf_from_bits(bitcast<u32>(b.eblock)), 0u, 0u);
}

fn tau_of(sub_abs: u32, b: BS) -> u32 { return 0u; }

fn encode_in_block(xb: u32, b: BS, tau: u32, u: u32) -> u32 {
  if (b.state != 0u) { return ${u32(p.zeroCode)}; }
  let centred = w_to_f32(add_w(w_from_uf(uf_from_bits(xb)), w_from_uf(uf_from_bits(bitcast<u32>(b.eblock) ^ 0x80000000u))));
  if ((b.p & 0x7fffffffu) == 0u) {
    // a zero scale gives centred · 0
    if ((centred & 0x7fffffffu) >= 0x7f800000u) { return enc_el(uf_nan(), Q.rounding, u); }
    return enc_el(UF(centred >> 31u, 0u, 0, 0u), Q.rounding, u);
  }
  return enc_fast(div_f32(uf_from_bits(centred), uf_from_bits(b.p)), 0, Q.rounding, u);
}
`);
  return lines.join('\n');
}

/** The order-preserving key `f32_key` computes, on the host. */
function keyOf(bits: number): number {
  return (bits >>> 31 === 1 ? ~bits : bits ^ 0x80000000) >>> 0;
}

/** A WGSL loop that packs `count` codes of `bits` bits from workgroup array `stage` into u32 words
 * written to `out[outBase + w]` for w < limit (the words this workgroup owns). */
function assembleWords(stage: string, count: number, bits: number, out: string, outBase: string, limit: string): string {
  const words = (count * bits) / 32;
  if (!Number.isInteger(words)) throw new RangeError(`${count} codes of ${bits} bits do not fill whole words`);
  return `
  for (var w = lane; w < ${u32(words)}; w = w + ${u32(WG)}) {
    var word = 0u;
    let c0 = (w * 32u) / ${u32(bits)};
    let c1 = min((w * 32u + 31u) / ${u32(bits)}, ${u32(count - 1)});
    for (var c = c0; c <= c1; c = c + 1u) {
      let sh = i32(c * ${u32(bits)}) - i32(w * 32u);
      if (sh >= 0) { word = word | (${stage}[c] << u32(sh)); } else { word = word | (${stage}[c] >> u32(-sh)); }
    }
    let gw = ${outBase} + w;
    if (gw < ${limit}) { ${out}[gw] = word; }
  }`;
}

/** How the fused kernel splits work: E elements per thread, T threads per block (a power of two). */
export interface FusedShape {
  readonly elementsPerThread: number;
  readonly threadsPerBlock: number;
}

/**
 * Choose a fused shape for blocks of `bs` elements, or null when the fused kernel cannot take them.
 * `prefer` (elements per thread) is tried first where the block allows it.
 */
export function fusedShape(p: Program, bs: number, prefer?: number): FusedShape | null {
  const want = wordFill(p.codeBits);
  if (p.scheme === 'cast') return { elementsPerThread: want <= 16 ? Math.max(want, 4) : 4, threadsPerBlock: 1 };
  if (p.scheme === 'scaled' && p.scaleRule === 'minMax') return null;
  const k2 = p.subBlock ? p.subBlock.size : 1;
  // Blocks of up to 4 elements: one thread per block (the block maximum is a register reduction,
  // no barrier); larger blocks: T threads per block reduce through workgroup memory. Measured on an
  // H200 (MXFP8, 256 Mi values): 16 elements per thread (T = 2) beat 4 or 8 (T = 8, 4), and a
  // thread per 32-element block was slowest (register pressure).
  if (bs <= MAX_THREAD_BLOCK && bs % k2 === 0 && isPow2(bs) && (prefer === undefined || prefer >= bs)) return { elementsPerThread: bs, threadsPerBlock: 1 };
  // 16 elements per thread where the block allows and the codes fill whole words (fastest on an
  // H200 for 32-element blocks); codes that straddle words are staged, with 4 elements per thread
  const first = (16 * p.codeBits) % 32 === 0 ? [16] : [];
  const preferred = prefer !== undefined && isPow2(prefer) ? [prefer] : [];
  const candidates = [...preferred, ...first, Math.max(want, 4), want, 4, 8, 2, 1].filter((e, i, a) => a.indexOf(e) === i && e <= 16);
  for (const e of candidates) {
    if (bs % e !== 0 || e % k2 !== 0) continue;
    const t = bs / e;
    if ((t & (t - 1)) !== 0 || t > WG) continue;
    const bpw = WG / t;
    if ((bpw * p.scaleCodeBits) % 32 !== 0) continue;
    return { elementsPerThread: e, threadsPerBlock: t };
  }
  return null;
}

/** Largest block one thread of the fused kernel quantizes on its own. */
const MAX_THREAD_BLOCK = 4;

function isPow2(v: number): boolean {
  return v > 0 && (v & (v - 1)) === 0;
}

/** Smallest number of codes of `bits` bits that fill whole u32 words. */
function wordFill(bits: number): number {
  let g = bits;
  let b = 32;
  while (b) [g, b] = [b, g % b];
  return 32 / g;
}

/** The fused quantize kernel (entry point `main`). Bindings: 0 params, 1 input bits, 2 codes,
 * 3 scales (blocks), 4 microexponents (sub-blocks), 5 first error index (casts). */
export function fusedQuantizeWgsl(p: Program, shape: FusedShape): string {
  // the block key below is one maximum; the minMax rule needs min, max and the first zero's sign
  if (p.scaleRule === 'minMax') throw new RangeError('the fused kernel does not take the minMax rule; use the general kernels');
  const E = shape.elementsPerThread;
  const T = shape.threadsPerBlock;
  const CB = p.codeBits;
  const blocks = p.scheme !== 'cast';
  const sub = p.subBlock;
  const k2 = sub ? sub.size : 1;
  const staged = (E * CB) % 32 !== 0;
  const vec = E % 4 === 0;
  const bpw = WG / T;
  const out: string[] = [blocks ? blockCommonWgsl(p) : castCommonWgsl(p)];
  out.push(`@group(0) @binding(1) var<storage, read> xin: array<${vec ? 'vec4<u32>' : 'u32'}>;`);
  const vecStore = !staged && ((E * CB) / 32) % 4 === 0;
  out.push(`@group(0) @binding(2) var<storage, read_write> codes: array<${vecStore ? 'vec4<u32>' : 'u32'}>;`);
  if (blocks) out.push(`@group(0) @binding(3) var<storage, read_write> scales: array<u32>;`);
  if (sub) out.push(`@group(0) @binding(4) var<storage, read_write> subs: array<u32>;`);
  if (!blocks) out.push(`@group(0) @binding(5) var<storage, read_write> err: array<atomic<u32>>;`);
  if (blocks) {
    if (T > 1) out.push(`var<workgroup> red: array<u32, ${WG}>;`);
    out.push(`var<workgroup> bsh: array<BS, ${bpw}>;`);
  }
  if (staged) out.push(`var<workgroup> stage: array<u32, ${WG * E}>;`);
  if (sub) out.push(`var<workgroup> tstage: array<u32, ${(WG * E) / k2}>;`);
  const b: string[] = [];
  b.push(`@compute @workgroup_size(${WG})`);
  b.push(`fn main(@builtin(local_invocation_index) lane: u32, @builtin(workgroup_id) wid: vec3<u32>) {`);
  b.push(`  let wg = wid.x + wid.y * Q.wgx;`);
  b.push(`  if (wg >= Q.n_wg) { return; }`);
  b.push(`  let t = wg * ${u32(WG)} + lane;`);
  b.push(`  let base = t * ${u32(E)};`);
  b.push(`  var xv: array<u32, ${E}>;`);
  if (vec) {
    for (let j = 0; j < E / 4; j++) {
      b.push(`  { let v = xin[t * ${u32(E / 4)} + ${u32(j)}]; xv[${4 * j}] = v.x; xv[${4 * j + 1}] = v.y; xv[${4 * j + 2}] = v.z; xv[${4 * j + 3}] = v.w; }`);
    }
  } else {
    for (let k = 0; k < E; k++) b.push(`  xv[${k}] = xin[base + ${u32(k)}];`);
  }
  // Per-element work is unrolled (constant indices keep xv/cv in registers); only the generic
  // encoder, taken for rounding modes other than RNE and for special blocks, loops over copies.
  const ks = Array.from({ length: E }, (_, k) => k);
  // only the last workgroup runs past the end
  b.push(`  let partial = base + ${u32(E)} > Q.n;`);
  b.push(`  if (partial) {`);
  for (const k of ks) b.push(`    if (base + ${u32(k)} >= Q.n) { xv[${k}] = 0u; }`);
  b.push(`  }`);
  b.push(`  var cv: array<u32, ${E}>;`);
  const lean = leanEncoderWgsl(p) !== null && p.scheme !== 'scaled' && !p.ggml;
  let leanCond = 'false';
  let leanArg = (_k: number) => '0';
  if (blocks) {
    const tm = T - 1;
    // The block key: the largest magnitude's bits (any ±∞/NaN compares above every finite value),
    // with the sign of its first occurrence where the signedMax rule needs it.
    b.push(`  var ka = 0u;`);
    if (p.scaleRule === 'signedMax') {
      b.push(`  var ks = 0u;`);
      for (const k of ks) b.push(`  if ((xv[${k}] & 0x7fffffffu) > ka) { ka = xv[${k}] & 0x7fffffffu; ks = xv[${k}] & 0x80000000u; }`);
      b.push(T === 1 ? `  let key0 = ka | ks;` : `  red[lane] = ka | ks;`);
    } else {
      for (const k of ks) b.push(`  ka = max(ka, ${ggmlNanFreeMax(p) ? `nan_to_zero(xv[${k}])` : `xv[${k}] & 0x7fffffffu`});`);
      b.push(T === 1 ? `  let key0 = ka;` : `  red[lane] = ka;`);
    }
    if (T === 1) {
      b.push(`  let bsc = block_scale(key0);`);
      b.push(`  bsh[lane] = bsc;`);
    } else {
    b.push(`  workgroupBarrier();`);
    // Tree steps (one barrier each) until LEADER_READS partials remain; the block's first thread
    // then folds those in order (ties keep the lower index: the first maximum) and derives the scale.
    const reads = Math.min(T, LEADER_READS);
    for (let stride = T / 2; stride >= reads; stride /= 2) {
      b.push(`  if ((lane & ${u32(tm)}) < ${u32(stride)}) { let o = red[lane + ${u32(stride)}]; if ((o & 0x7fffffffu) > (red[lane] & 0x7fffffffu)) { red[lane] = o; } }`);
      b.push(`  workgroupBarrier();`);
    }
    b.push(`  if ((lane & ${u32(tm)}) == 0u) {`);
    b.push(`    var key = red[lane];`);
    b.push(`    for (var r = 1u; r < ${u32(reads)}; r = r + 1u) { let o = red[lane + r]; if ((o & 0x7fffffffu) > (key & 0x7fffffffu)) { key = o; } }`);
    b.push(`    bsh[lane / ${u32(T)}] = block_scale(key);`);
    b.push(`  }`);
    b.push(`  workgroupBarrier();`);
    b.push(`  let bsc = bsh[lane / ${u32(T)}];`);
    }
    const subsPerThread = E / k2;
    b.push(`  var taus: array<u32, ${subsPerThread}>;`);
    if (sub) {
      for (let j = 0; j < subsPerThread; j++) {
        const terms = Array.from({ length: k2 }, (_, q) => `(xv[${j * k2 + q}] & 0x7fffffffu)`);
        const sm = terms.reduce((acc, t) => (acc ? `max(${acc}, ${t})` : t), '');
        b.push(`  taus[${j}] = tau_of(${sm}, bsc);`);
        b.push(`  tstage[lane * ${u32(subsPerThread)} + ${u32(j)}] = select(0u, taus[${j}], base + ${u32(j * k2)} < Q.n);`);
      }
    }
    leanCond = 'bsc.state == 0u && Q.rounding == 0u && Q.micro == 0u';
    b.push(`  let s_blk = bitcast<i32>(bsc.p);`);
    leanArg = (k) => `i32(taus[${Math.floor(k / k2)}]) - s_blk`;
  } else {
    leanCond = 'Q.rounding == 0u';
  }
  // The common case (RNE; a finite block under OCP arithmetic) takes the lean encoder, unrolled;
  // the elements it leaves (and every element otherwise) go through one generic loop over copies.
  for (const k of ks) b.push(`  cv[${k}] = ${u32(LEAN_MISS)};`);
  b.push(`  var miss = true;`);
  if (lean) {
    b.push(`  if (${leanCond}) {`);
    for (const k of ks) b.push(`    cv[${k}] = enc_lean(xv[${k}], ${leanArg(k)});`);
    b.push(`    miss = ${ks.map((k) => `cv[${k}] == ${u32(LEAN_MISS)}`).join(' || ')};`);
    b.push(`  }`);
  }
  b.push(`  if (miss) {`);
  b.push(`    var xg = xv;`);
  b.push(`    var cg = cv;`);
  b.push(`    for (var k = 0u; k < ${u32(E)}; k = k + 1u) {`);
  b.push(`      if (cg[k] != ${u32(LEAN_MISS)}) { continue; }`);
  b.push(`      let i = base + k;`);
  b.push(`      var u = 0u;`);
  b.push(`      if (Q.rounding == 3u) { u = mix32(Q.seed_mix ^ (Q.flat_base + i)); }`);
  if (blocks) {
    b.push(`      cg[k] = encode_in_block(xg[k], bsc, taus[k / ${u32(k2)}], u);`);
  } else {
    b.push(`      var c = enc_fast(xg[k], 0, Q.rounding, u);`);
    b.push(`      if (c == ${u32(ENCODE_ERROR)}) { if (i < Q.n) { atomicMin(&err[0], Q.flat_base + i); } c = 0u; }`);
    b.push(`      cg[k] = c;`);
  }
  b.push(`    }`);
  b.push(`    cv = cg;`);
  b.push(`  }`);
  b.push(`  if (partial) {`);
  for (const k of ks) b.push(`    if (base + ${u32(k)} >= Q.n) { cv[${k}] = 0u; }`);
  b.push(`  }`);
  if (!staged) {
    const wpt = (E * CB) / 32;
    b.push(`  var w: array<u32, ${wpt}>;`);
    for (let k = 0; k < E; k++) {
      const bit = k * CB;
      const wi = bit >> 5;
      const off = bit & 31;
      b.push(`  w[${wi}] = w[${wi}] | (cv[${k}] << ${u32(off)});`);
      if (off + CB > 32) b.push(`  w[${wi + 1}] = w[${wi + 1}] | (cv[${k}] >> ${u32(32 - off)});`);
    }
    if (wpt % 4 === 0) {
      // whole vec4s per thread (the buffer is sized in 16-byte steps)
      for (let j = 0; j < wpt / 4; j++) {
        b.push(`  if (t * ${u32(wpt)} + ${u32(4 * j)} < Q.code_words) { codes[t * ${u32(wpt / 4)} + ${u32(j)}] = vec4<u32>(w[${4 * j}], w[${4 * j + 1}], w[${4 * j + 2}], w[${4 * j + 3}]); }`);
      }
    } else {
      for (let j = 0; j < wpt; j++) {
        b.push(`  if (t * ${u32(wpt)} + ${u32(j)} < Q.code_words) { codes[t * ${u32(wpt)} + ${u32(j)}] = w[${j}]; }`);
      }
    }
  } else {
    for (let k = 0; k < E; k++) b.push(`  stage[lane * ${u32(E)} + ${u32(k)}] = cv[${k}];`);
  }
  if (staged || sub || (blocks && T === 1)) b.push(`  workgroupBarrier();`);
  if (staged) b.push(assembleWords('stage', WG * E, CB, 'codes', `wg * ${u32((WG * E * CB) / 32)}`, 'Q.code_words'));
  if (blocks) {
    const sb = p.scaleCodeBits;
    const spw = 32 / sb;
    const sw = bpw / spw;
    b.push(`  for (var w = lane; w < ${u32(sw)}; w = w + ${u32(WG)}) {`);
    b.push(`    var word = 0u;`);
    for (let i = 0; i < spw; i++) {
      b.push(`    if (wg * ${u32(bpw)} + w * ${u32(spw)} + ${u32(i)} < Q.n_blocks) { word = word | (bsh[w * ${u32(spw)} + ${u32(i)}].code << ${u32(i * sb)}); }`);
    }
    b.push(`    let gw = wg * ${u32(sw)} + w;`);
    b.push(`    if (gw < Q.scale_words) { scales[gw] = word; }`);
    b.push(`  }`);
  }
  if (sub) {
    const count = (WG * E) / k2;
    b.push(assembleWords('tstage', count, sub.bits, 'subs', `wg * ${u32((count * sub.bits) / 32)}`, 'Q.sub_words'));
  }
  b.push(`}`);
  out.push(b.join('\n'));
  return out.join('\n');
}

/** The element encoder alone, for casts (no scales). */
function castCommonWgsl(p: Program): string {
  return [
    NUMERIC_WGSL,
    Q_PARAMS.wgsl(),
    '@group(0) @binding(0) var<uniform> Q: QParams;',
    encoderWgsl('enc_el', p.element, p.overflow),
    FAST_ROUND_WGSL,
    fastEncoderWgsl('enc_fast', 'enc_el', p.element, p.overflow),
    leanEncoderWgsl(p) ?? '',
  ].join('\n');
}

// ------------------------------------------------------------------------------------- general path

const LOCATE_WGSL = `
// (row, position in row, code index) of flat input element f, for blocks along any axis.
fn locate(f: u32) -> vec3<u32> {
  let rl = Q.row_len * Q.inner;
  let o = f / rl;
  let r = f - o * rl;
  let l = r / Q.inner;
  let i = r - l * Q.inner;
  let row = o * Q.inner + i;
  return vec3<u32>(row, l, row * Q.row_len + l);
}
`;

function generalHead(p: Program): string {
  return [blockCommonWgsl(p), LOCATE_WGSL].join('\n');
}

const THREAD_HEAD = `
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lane: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let wg = wid.x + wid.y * Q.wgx;
  if (wg >= Q.n_wg) { return; }
  let t = wg * ${u32(WG)} + lane;`;

/** ggml's MXFP4 and NVFP4 quantizers take the block maximum without NaNs (the Q types keep the
 * NaN-scale rule, whose key must see them). */
function ggmlNanFreeMax(p: Program): boolean {
  return p.ggml && (p.scheme === 'pow2' || p.element.kind === 'float');
}

/** Block maxima (and sub-block maxima) by atomics. Bindings: 1 input, 2 block keys, 3 sub maxima. */
export function statsWgsl(p: Program): string {
  if (p.scaleRule === 'minMax') return minMaxStatsWgsl(p);
  const sub = p.subBlock;
  return `${generalHead(p)}
@group(0) @binding(1) var<storage, read> xin: array<u32>;
@group(0) @binding(2) var<storage, read_write> bkey: array<atomic<u32>>;
${sub ? '@group(0) @binding(3) var<storage, read_write> smax: array<atomic<u32>>;' : ''}
${THREAD_HEAD}
  var cur = 0xffffffffu;
  var ka = 0u;
  for (var k = 0u; k < ${u32(GENERAL_PER_THREAD)}; k = k + 1u) {
    let fl = t * ${u32(GENERAL_PER_THREAD)} + k;
    if (fl >= Q.n) { break; }
    let loc = locate(Q.flat_base + fl);
    let blk = loc.x * Q.bpr + loc.y / Q.bs;
    let a0 = xin[fl] & 0x7fffffffu;
    let a = ${ggmlNanFreeMax(p) ? 'nan_to_zero(a0)' : 'a0'};
    if (blk != cur) {
      if (cur != 0xffffffffu && ka != 0u) { atomicMax(&bkey[cur], ka); }
      cur = blk;
      ka = 0u;
    }
    ka = max(ka, a);
    ${sub ? `if (a0 < 0x7f800000u && a0 != 0u) { atomicMax(&smax[loc.x * Q.sbpr + loc.y / ${u32(sub.size)}], a0); }` : ''}
  }
  if (cur != 0xffffffffu && ka != 0u) { atomicMax(&bkey[cur], ka); }
}
`;
}

/** minMax rule: four words per block, by atomicMax: ~(smallest key), largest key (finite values,
 * −0 counted as +0), 1 when a value is ±∞/NaN, and ~((position << 1) | sign) of the first zero
 * (the sign of a zero minimum). Bindings: 1 input, 2 block statistics. */
function minMaxStatsWgsl(p: Program): string {
  const flush = `if (cur != 0xffffffffu) {
      if (kmin != 0xffffffffu) { atomicMax(&bst[cur * 4u], ~kmin); atomicMax(&bst[cur * 4u + 1u], kmax); }
      if (bad) { atomicMax(&bst[cur * 4u + 2u], 1u); }
      if (zf != 0u) { atomicMax(&bst[cur * 4u + 3u], zf); }
    }`;
  return `${generalHead(p)}
@group(0) @binding(1) var<storage, read> xin: array<u32>;
@group(0) @binding(2) var<storage, read_write> bst: array<atomic<u32>>;
${THREAD_HEAD}
  var cur = 0xffffffffu;
  var kmin = 0xffffffffu;
  var kmax = 0u;
  var bad = false;
  var zf = 0u;
  for (var k = 0u; k < ${u32(GENERAL_PER_THREAD)}; k = k + 1u) {
    let fl = t * ${u32(GENERAL_PER_THREAD)} + k;
    if (fl >= Q.n) { break; }
    let loc = locate(Q.flat_base + fl);
    let blk = loc.x * Q.bpr + loc.y / Q.bs;
    if (blk != cur) {
      ${flush}
      cur = blk;
      kmin = 0xffffffffu;
      kmax = 0u;
      bad = false;
      zf = 0u;
    }
    let v = xin[fl];
    let a = v & 0x7fffffffu;
    if (a >= 0x7f800000u) {
      bad = true;
    } else {
      let key = f32_key(select(v, 0u, a == 0u));
      kmin = min(kmin, key);
      kmax = max(kmax, key);
      if (a == 0u) { zf = max(zf, ~(((loc.y % Q.bs) << 1u) | (v >> 31u))); }
    }
  }
  ${flush}
}
`;
}

/** signedMax rule: the first position in each block holding the block maximum, with its sign, as
 * atomicMax of ~((position << 1) | sign). Bindings: 1 input, 2 block keys (read), 3 first keys. */
export function firstMaxWgsl(p: Program): string {
  return `${generalHead(p)}
@group(0) @binding(1) var<storage, read> xin: array<u32>;
@group(0) @binding(2) var<storage, read> bkey: array<u32>;
@group(0) @binding(3) var<storage, read_write> bfirst: array<atomic<u32>>;
${THREAD_HEAD}
  for (var k = 0u; k < ${u32(GENERAL_PER_THREAD)}; k = k + 1u) {
    let fl = t * ${u32(GENERAL_PER_THREAD)} + k;
    if (fl >= Q.n) { break; }
    let loc = locate(Q.flat_base + fl);
    let blk = loc.x * Q.bpr + loc.y / Q.bs;
    let v = xin[fl];
    let a = v & 0x7fffffffu;
    if (a != 0u && a < 0x7f800000u && a == bkey[blk]) {
      let pos = loc.y - (loc.y / Q.bs) * Q.bs;
      atomicMax(&bfirst[blk], ~((pos << 1u) | (v >> 31u)));
    }
  }
}
`;
}

/** One thread per block: the block scale from its statistics. Bindings: 1 block keys, 2 params
 * (vec4 per block), 3 first keys (signedMax). */
export function finalizeWgsl(p: Program): string {
  if (p.scaleRule === 'minMax') {
    return `${generalHead(p)}
@group(0) @binding(1) var<storage, read> bst: array<u32>;
@group(0) @binding(2) var<storage, read_write> params: array<vec4<u32>>;
${THREAD_HEAD}
  if (t >= Q.n_blocks) { return; }
  var lo = key_bits(~bst[t * 4u]);
  if (lo == 0u) { lo = ((~bst[t * 4u + 3u]) & 1u) << 31u; }
  params[t] = bs_pack(mm_scale(lo, key_bits(bst[t * 4u + 1u]), bst[t * 4u + 2u] == 0u));
}
`;
  }
  const signed = p.scaleRule === 'signedMax';
  return `${generalHead(p)}
@group(0) @binding(1) var<storage, read> bkey: array<u32>;
@group(0) @binding(2) var<storage, read_write> params: array<vec4<u32>>;
${signed ? '@group(0) @binding(3) var<storage, read> bfirst: array<u32>;' : ''}
${THREAD_HEAD}
  if (t >= Q.n_blocks) { return; }
  var key = bkey[t];
  ${signed ? 'if (key != 0u && key < 0x7f800000u) { key = key | (((~bfirst[t]) & 1u) << 31u); }' : ''}
  params[t] = bs_pack(block_scale(key));
}
`;
}

/** Encode every element with its block's scale and OR the code into the packed words (zeroed
 * first). Bindings: 1 input, 2 params, 3 codes, 4 sub maxima. */
export function encodeWgsl(p: Program): string {
  const sub = p.subBlock;
  const CB = p.codeBits;
  return `${generalHead(p)}
@group(0) @binding(1) var<storage, read> xin: array<u32>;
@group(0) @binding(2) var<storage, read> params: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read_write> codes: array<atomic<u32>>;
${sub ? '@group(0) @binding(4) var<storage, read> smax: array<u32>;' : ''}
${THREAD_HEAD}
  var curw = 0xffffffffu;
  var acc = 0u;
  var cur_blk = 0xffffffffu;
  var b = BS(0u, 0u, 0, 0u);
  for (var k = 0u; k < ${u32(GENERAL_PER_THREAD)}; k = k + 1u) {
    let fl = t * ${u32(GENERAL_PER_THREAD)} + k;
    if (fl >= Q.n) { break; }
    let g = Q.flat_base + fl;
    let loc = locate(g);
    let blk = loc.x * Q.bpr + loc.y / Q.bs;
    if (blk != cur_blk) { b = bs_unpack(params[blk]); cur_blk = blk; }
    ${sub ? `let tau = tau_of(smax[loc.x * Q.sbpr + loc.y / ${u32(sub.size)}], b);` : 'let tau = 0u;'}
    var u = 0u;
    if (Q.rounding == 3u) { u = mix32(Q.seed_mix ^ g); }
    let code = encode_in_block(xin[fl], b, tau, u);
    let c = loc.z;
    let wi = (c >> 5u) * ${u32(CB)} + (((c & 31u) * ${u32(CB)}) >> 5u);
    let off = ((c & 31u) * ${u32(CB)}) & 31u;
    if (wi != curw) {
      if (curw != 0xffffffffu && acc != 0u) { atomicOr(&codes[curw], acc); }
      curw = wi;
      acc = 0u;
    }
    acc = acc | (code << off);
    ${CB > 1 ? `if (off + ${u32(CB)} > 32u && code != 0u) { atomicOr(&codes[wi + 1u], code >> (32u - off)); }` : ''}
  }
  if (curw != 0xffffffffu && acc != 0u) { atomicOr(&codes[curw], acc); }
}
`;
}

/** Pack the scale codes of params into u32 words (and, for the minMax rule, the offset codes).
 * Bindings: 1 params, 2 scales, 3 offsets. */
export function packScalesWgsl(p: Program): string {
  const sb = p.scaleCodeBits;
  const spw = 32 / sb;
  const minMax = p.scaleRule === 'minMax';
  const lines: string[] = [];
  for (let i = 0; i < spw; i++) {
    const at = `t * ${u32(spw)} + ${u32(i)}`;
    lines.push(`  if (${at} < Q.n_blocks) {`);
    lines.push(`    word = word | (params[${at}].x << ${u32(i * sb)});`);
    if (minMax) lines.push(`    oword = oword | (offset_code(bs_unpack(params[${at}])) << ${u32(i * sb)});`);
    lines.push(`  }`);
  }
  return `${generalHead(p)}
@group(0) @binding(1) var<storage, read> params: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> scales: array<u32>;
${minMax ? '@group(0) @binding(3) var<storage, read_write> offsets: array<u32>;' : ''}
${THREAD_HEAD}
  if (t >= Q.scale_words) { return; }
  var word = 0u;
  ${minMax ? 'var oword = 0u;' : ''}
${lines.join('\n')}
  scales[t] = word;
  ${minMax ? 'offsets[t] = oword;' : ''}
}
`;
}

/** Pack the microexponents (from sub-block maxima and block params) into u32 words. Bindings:
 * 1 params, 2 sub maxima, 3 packed microexponents. */
export function packSubsWgsl(p: Program): string {
  const sub = p.subBlock!;
  const tb = sub.bits;
  return `${generalHead(p)}
@group(0) @binding(1) var<storage, read> params: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> smax: array<u32>;
@group(0) @binding(3) var<storage, read_write> subs: array<u32>;
fn tau_at(s: u32) -> u32 {
  let row = s / Q.sbpr;
  let ls = s - row * Q.sbpr;
  let blk = row * Q.bpr + (ls * ${u32(sub.size)}) / Q.bs;
  return tau_of(smax[s], bs_unpack(params[blk]));
}
${THREAD_HEAD}
  if (t >= Q.sub_words) { return; }
  var word = 0u;
  let c0 = (t * 32u) / ${u32(tb)};
  let c1 = min((t * 32u + 31u) / ${u32(tb)}, Q.n_subs - 1u);
  for (var c = c0; c <= c1; c = c + 1u) {
    let sh = i32(c * ${u32(tb)}) - i32(t * 32u);
    let v = tau_at(c);
    if (sh >= 0) { word = word | (v << u32(sh)); } else { word = word | (v >> u32(-sh)); }
  }
  subs[t] = word;
}
`;
}

/** Largest finite magnitude of the whole input (NVFP4's default tensor scale), as atomicMax of
 * float32 bit patterns. Bindings: 0 params, 1 input, 2 result. */
export function tensorAmaxWgsl(): string {
  return `${Q_PARAMS.wgsl()}
@group(0) @binding(0) var<uniform> Q: QParams;
@group(0) @binding(1) var<storage, read> xin: array<u32>;
@group(0) @binding(2) var<storage, read_write> amax: array<atomic<u32>>;
var<workgroup> red: array<u32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lane: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let wg = wid.x + wid.y * Q.wgx;
  if (wg >= Q.n_wg) { return; }
  let t = wg * ${u32(WG)} + lane;
  var m = 0u;
  for (var k = 0u; k < ${u32(GENERAL_PER_THREAD)}; k = k + 1u) {
    let fl = t * ${u32(GENERAL_PER_THREAD)} + k;
    if (fl < Q.n) {
      let a = xin[fl] & 0x7fffffffu;
      if (a < 0x7f800000u) { m = max(m, a); }
    }
  }
  red[lane] = m;
  workgroupBarrier();
  for (var s = ${u32(WG / 2)}; s > 0u; s = s >> 1u) {
    if (lane < s) { red[lane] = max(red[lane], red[lane + s]); }
    workgroupBarrier();
  }
  if (lane == 0u && red[0] != 0u) { atomicMax(&amax[0], red[0]); }
}
`;
}
