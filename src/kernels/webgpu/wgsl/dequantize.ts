// WGSL generators for decoding: reading packed codes, scales and microexponents, and the exact
// float32 value of each element (shared by the dequantize and matmul kernels).
import { decoderWgsl, fastDecoderWgsl, u32 } from './element.js';
import { NUMERIC_WGSL, WIDE_WGSL } from './numeric.js';
import type { Program } from './program.js';
import { D_PARAMS } from './uniforms.js';

/** Threads per workgroup of the dequantize kernel, and outputs per thread. */
export const DQ_WG = 256;
export const DQ_PER_THREAD = 4;

function bitReader(name: string, array: string, bits: number, base: string): string {
  if (bits === 32) return `fn ${name}(c: u32) -> u32 { return ${array}[c - ${base}]; }`;
  const mask = u32(2 ** bits - 1);
  return `fn ${name}(c: u32) -> u32 {
  let idx = c - ${base};
  let wi = (idx >> 5u) * ${u32(bits)} + (((idx & 31u) * ${u32(bits)}) >> 5u);
  let off = ((idx & 31u) * ${u32(bits)}) & 31u;
  var v = ${array}[wi] >> off;
  if (off + ${u32(bits)} > 32u) { v = v | (${array}[wi + 1u] << (32u - off)); }
  return v & ${mask};
}`;
}

/**
 * Decode helpers over bindings named `<prefix>codes`, `<prefix>scales`, `<prefix>subs`,
 * `<prefix>offsets` (minMax rule) and the uniform `P` (DParams): `get_code`, `scale_info(blk)` and
 * `combine(code, si, tau)` giving float32 bits equal to the reference's `value(code) · scale · 2^−tau`
 * rounded once (minMax: `value(code) · scale + offset` rounded as the reference rounds it).
 */
export function decodeSupportWgsl(p: Program, prefix: string, P: string): string {
  const parts: string[] = [];
  parts.push(decoderWgsl(`${prefix}dec_el`, p.element));
  parts.push(fastDecoderWgsl(`${prefix}dec_fast`, `${prefix}dec_el`, p.element));
  parts.push(bitReader(`${prefix}get_code`, `${prefix}codes`, p.codeBits, `${P}.code_base`));
  // off: float32 bits of the block offset (minMax rule), else 0
  parts.push(`struct ${prefix}SI { nan: u32, shift: i32, total: UF, off: u32 }`);
  if (p.scheme === 'cast') {
    parts.push(`fn ${prefix}scale_info(blk: u32) -> ${prefix}SI { return ${prefix}SI(0u, 0, UF(0u, 0u, 0, 0u), 0u); }`);
    parts.push(`fn ${prefix}combine(code: u32, si: ${prefix}SI, tau: u32) -> u32 { return ${prefix}dec_fast(code, 0); }`);
  } else {
    const sb = p.scaleCodeBits;
    const spw = 32 / sb;
    parts.push(`fn ${prefix}get_scale(b: u32) -> u32 {
  ${sb === 32 ? `return ${prefix}scales[b];` : `return (${prefix}scales[b / ${u32(spw)}] >> ((b % ${u32(spw)}) * ${u32(sb)})) & ${u32(2 ** sb - 1)};`}
}`);
    if (p.subBlock) parts.push(bitReader(`${prefix}get_sub`, `${prefix}subs`, p.subBlock.bits, '0u'));
    if (p.scheme === 'pow2') {
      parts.push(`fn ${prefix}scale_info(blk: u32) -> ${prefix}SI {
  let sc = ${prefix}get_scale(blk);
  return ${prefix}SI(select(0u, 1u, sc == ${P}.scale_nan), i32(sc) - ${P}.scale_bias, UF(0u, 0u, 0, 0u), 0u);
}
fn ${prefix}combine(code: u32, si: ${prefix}SI, tau: u32) -> u32 {
  if (si.nan == 1u) { return 0x7fc00000u; }
  return ${prefix}dec_fast(code, si.shift - i32(tau));
}`);
    } else if (p.scaleRule === 'minMax') {
      // value · scale + offset: the reference rounds the product and the sum to float64, then the
      // sum once more to float32
      parts.push(WIDE_WGSL);
      parts.push(decoderWgsl(`${prefix}dec_scale`, p.scaleElement!));
      parts.push(`fn ${prefix}get_offset(b: u32) -> u32 {
  ${sb === 32 ? `return ${prefix}offsets[b];` : `return (${prefix}offsets[b / ${u32(spw)}] >> ((b % ${u32(spw)}) * ${u32(sb)})) & ${u32(2 ** sb - 1)};`}
}
fn ${prefix}scale_info(blk: u32) -> ${prefix}SI {
  let total = uf_to_bits(${prefix}dec_scale(${prefix}get_scale(blk)));
  return ${prefix}SI(0u, 0, uf_from_bits(total), uf_to_bits(${prefix}dec_scale(${prefix}get_offset(blk))));
}
fn ${prefix}combine(code: u32, si: ${prefix}SI, tau: u32) -> u32 {
  return w_to_f32(round53(add_w(round53(mul_w(${prefix}dec_el(code), si.total)), w_from_uf(uf_from_bits(si.off)))));
}`);
    } else {
      parts.push(decoderWgsl(`${prefix}dec_scale`, p.scaleElement!));
      parts.push(`fn ${prefix}scale_info(blk: u32) -> ${prefix}SI {
  var total = uf_to_bits(${prefix}dec_scale(${prefix}get_scale(blk)));
  ${p.tensorScale ? `total = mul_f32(uf_from_bits(${P}.tensor_scale), uf_from_bits(total));` : ''}
  return ${prefix}SI(0u, 0, uf_from_bits(total), 0u);
}
fn ${prefix}combine(code: u32, si: ${prefix}SI, tau: u32) -> u32 { return mul_f32(${prefix}dec_el(code), si.total); }`);
    }
  }
  return parts.join('\n');
}

const UF_TO_BITS = `
fn uf_to_bits(x: UF) -> u32 {
  if (x.kind == 3u) { return 0x7fc00000u; }
  if (x.kind == 2u) { return (x.s << 31u) | 0x7f800000u; }
  if (x.kind == 0u) { return x.s << 31u; }
  return f32_bits(x.s, x.m, x.e);
}`;

/** Numeric helpers plus uf_to_bits, for kernels that do not include the quantize helpers. */
export function decodeBaseWgsl(): string {
  return NUMERIC_WGSL + UF_TO_BITS;
}

/** Four consecutive codes of a flat layout: the block index is divided out once per thread, and
 * codes of at most 8 bits that share one word (and one block) are read with a single load. */
function flatRun(blocks: boolean, k2: number, bits: number): string {
  const oneWord = bits <= 8 && 32 % bits === 0;
  if (!blocks) {
    return `  for (var j = 0u; j < 4u; j = j + 1u) {
    if (f0 + j < D.n) { r[j] = combine(get_code(D.flat_base + f0 + j), scale_info(0u), 0u); }
  }`;
  }
  const lanes = ['x', 'y', 'z', 'w'];
  const tau = (j: number) => (k2 ? `get_sub((c + ${u32(j)}) / ${u32(k2)})` : '0u');
  const fast = oneWord
    ? `  if (f0 + 4u <= D.n && lb + 4u <= D.bs) {
    let idx = c - D.code_base;
    let word = codes[(idx >> 5u) * ${u32(bits)} + (((idx & 31u) * ${u32(bits)}) >> 5u)] >> (((idx & 31u) * ${u32(bits)}) & 31u);
${lanes.map((l, j) => `    let r${l} = combine((word >> ${u32(j * bits)}) & ${u32(2 ** bits - 1)}, si, ${tau(j)});`).join('\n')}
    outv[t] = vec4<u32>(rx, ry, rz, rw);
    return;
  }
`
    : '';
  return `  var c = D.flat_base + f0;
  var blk = 0u;
  var lb = 0u;
  if (D.bs_log2 < 32u) {
    blk = c >> D.bs_log2;
    lb = c & (D.bs - 1u);
  } else {
    blk = c / D.bs;
    lb = c - blk * D.bs;
  }
  var si = scale_info(blk);
${fast}  for (var j = 0u; j < 4u; j = j + 1u) {
    if (f0 + j < D.n) {
      if (lb == D.bs) { lb = 0u; blk = blk + 1u; si = scale_info(blk); }
      r[j] = combine(get_code(c), si, ${k2 ? `get_sub(c / ${u32(k2)})` : '0u'});
    }
    c = c + 1u;
    lb = lb + 1u;
  }`;
}

/**
 * The dequantize kernel: one thread per 4 consecutive flat outputs. `flat` = blocks are
 * consecutive runs of codes (the code index equals the flat index); otherwise each output finds its
 * row and position through the axis. Bindings: 0 params, 1 codes, 2 scales, 3 subs, 4 output,
 * 5 offsets (minMax rule).
 */
export function dequantizeWgsl(p: Program, flat: boolean): string {
  const blocks = p.scheme !== 'cast';
  const sub = p.subBlock;
  const k2 = sub ? sub.size : 1;
  const lines: string[] = [decodeBaseWgsl(), D_PARAMS.wgsl(), '@group(0) @binding(0) var<uniform> D: DParams;'];
  lines.push('@group(0) @binding(1) var<storage, read> codes: array<u32>;');
  if (blocks) lines.push('@group(0) @binding(2) var<storage, read> scales: array<u32>;');
  if (sub) lines.push('@group(0) @binding(3) var<storage, read> subs: array<u32>;');
  lines.push('@group(0) @binding(4) var<storage, read_write> outv: array<vec4<u32>>;');
  if (p.scaleRule === 'minMax') lines.push('@group(0) @binding(5) var<storage, read> offsets: array<u32>;');
  lines.push(decodeSupportWgsl(p, '', 'D'));
  lines.push(`
fn value_at(f: u32) -> u32 {
  var row = 0u;
  var l = f;
  var c = f;
  ${
    flat
      ? ''
      : `let rl = D.row_len * D.inner;
  let o = f / rl;
  let r = f - o * rl;
  l = r / D.inner;
  let i = r - l * D.inner;
  row = o * D.inner + i;
  c = row * D.row_len + l;`
  }
  ${
    !blocks
      ? 'return combine(get_code(c), scale_info(0u), 0u);'
      : flat
        ? `let blk = c / D.bs;
  ${sub ? `let tau = get_sub(c / ${u32(k2)});` : 'let tau = 0u;'}
  return combine(get_code(c), scale_info(blk), tau);`
        : `let blk = row * D.bpr + l / D.bs;
  ${sub ? `let tau = get_sub(row * D.sbpr + l / ${u32(k2)});` : 'let tau = 0u;'}
  return combine(get_code(c), scale_info(blk), tau);`
  }
}

@compute @workgroup_size(${DQ_WG})
fn main(@builtin(local_invocation_index) lane: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let wg = wid.x + wid.y * D.wgx;
  if (wg >= D.n_wg) { return; }
  let t = wg * ${u32(DQ_WG)} + lane;
  let f0 = t * 4u;
  if (f0 >= D.n) { return; }
  var r = vec4<u32>(0u, 0u, 0u, 0u);
${flat ? flatRun(blocks, sub ? k2 : 0, p.codeBits) : `  for (var j = 0u; j < 4u; j = j + 1u) {
    if (f0 + j < D.n) { r[j] = value_at(D.flat_base + f0 + j); }
  }`}
  outv[t] = r;
}
`);
  return lines.join('\n');
}
