// The matmul kernel y = a · wᵀ (a: [M, K] float32, w: [N, K] quantized along K). Tiles of a and
// of w go through workgroup memory; w is decoded in the shader with the same exact decoder as
// dequantize. Products accumulate in float32, in chunks of MM_CHUNK_K terms that are then added to
// a running total, so the rounding error stays below (MM_CHUNK_K + ⌈K/MM_CHUNK_K⌉ + 1)·2^−24·Σ|a·w|.
import { decodeBaseWgsl, decodeSupportWgsl } from './dequantize.js';
import { u32 } from './element.js';
import type { Program } from './program.js';
import { D_PARAMS } from './uniforms.js';

/** Rows of a (and of y) per workgroup tile, columns of y per tile, and K per staged tile. */
export const MM_TILE_M = 128;
export const MM_TILE_N = 64;
export const MM_TILE_K = 16;
/** Outputs per thread: MM_ROWS × MM_COLS (16 × 16 threads cover the tile). */
const MM_ROWS = MM_TILE_M / 16;
const MM_COLS = MM_TILE_N / 16;
/** Terms summed before the partial sum joins the running total. */
export const MM_CHUNK_K = 128;

const COMP = ['x', 'y', 'z', 'w'];

/** Bindings: 0 params, 1 w codes, 2 w scales, 3 w subs, 4 a (float32), 5 y (float32), 6 w offsets
 * (minMax rule). */
export function matmulWgsl(p: Program): string {
  const blocks = p.scheme !== 'cast';
  const sub = p.subBlock;
  const k2 = sub ? sub.size : 1;
  const BM = MM_TILE_M;
  const BN = MM_TILE_N;
  const BK = MM_TILE_K;
  const aRun = (BK * BM) / 256;
  const aLanesPerRow = BK / aRun;
  const wRun = (BK * BN) / 256;
  const wLanesPerRow = BK / wRun;
  const tilesPerChunk = MM_CHUNK_K / BK;
  if (MM_COLS !== 4) throw new RangeError('the matmul kernel keeps one vec4 of columns per row');
  const rows = Array.from({ length: MM_ROWS }, (_, i) => i);
  const out: string[] = [decodeBaseWgsl(), D_PARAMS.wgsl(), '@group(0) @binding(0) var<uniform> D: DParams;'];
  out.push('@group(0) @binding(1) var<storage, read> w_codes: array<u32>;');
  if (blocks) out.push('@group(0) @binding(2) var<storage, read> w_scales: array<u32>;');
  if (sub) out.push('@group(0) @binding(3) var<storage, read> w_subs: array<u32>;');
  out.push('@group(0) @binding(4) var<storage, read> a: array<f32>;');
  out.push('@group(0) @binding(5) var<storage, read_write> y: array<f32>;');
  if (p.scaleRule === 'minMax') out.push('@group(0) @binding(6) var<storage, read> w_offsets: array<u32>;');
  out.push(decodeSupportWgsl(p, 'w_', 'D'));
  out.push(`var<workgroup> As: array<f32, ${BK * BM}>;`);
  out.push(`var<workgroup> Ws: array<f32, ${BK * BN}>;`);
  out.push(`
@compute @workgroup_size(16, 16)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let tx = lid.x;
  let ty = lid.y;
  let lane = ty * 16u + tx;
  let n0 = wid.x * ${u32(BN)};
  let m0 = D.m_base + wid.y * ${u32(BM)};
  let ar = lane / ${u32(aLanesPerRow)};
  let ak = (lane % ${u32(aLanesPerRow)}) * ${u32(aRun)};
  let wr = lane / ${u32(wLanesPerRow)};
  let wk = (lane % ${u32(wLanesPerRow)}) * ${u32(wRun)};
${rows.map((i) => `  var acc${i} = vec4<f32>(0.0);\n  var tot${i} = vec4<f32>(0.0);`).join('\n')}
  var tile = 0u;
  for (var k0 = 0u; k0 < D.k; k0 = k0 + ${u32(BK)}) {
    let am = m0 + ar;
    for (var j = 0u; j < ${u32(aRun)}; j = j + 1u) {
      let k = k0 + ak + j;
      var v = 0.0;
      if (am < D.m && k < D.k) { v = a[am * D.k + k]; }
      As[(ak + j) * ${u32(BM)} + ar] = v;
    }
    let wn = n0 + wr;
    let kr = k0 + wk;
    if (wn < D.n_out && kr < D.k) {
      var row = wn;
      var l = kr;
      if (D.single_row == 1u) { row = 0u; l = wn * D.k + kr; }
      let c0 = row * D.row_len + l;
      ${blocks ? 'var blk = row * D.bpr + l / D.bs;\n      var lb = l % D.bs;\n      var si = w_scale_info(blk);' : 'let si = w_scale_info(0u);'}
      ${sub ? `var sidx = row * D.sbpr + l / ${u32(k2)};\n      var ls = l % ${u32(k2)};` : ''}
      for (var j = 0u; j < ${u32(wRun)}; j = j + 1u) {
        var v = 0u;
        if (kr + j < D.k) { v = w_combine(w_get_code(c0 + j), si, ${sub ? 'w_get_sub(sidx)' : '0u'}); }
        Ws[(wk + j) * ${u32(BN)} + wr] = bitcast<f32>(v);
        ${blocks ? 'lb = lb + 1u;\n        if (lb == D.bs && kr + j + 1u < D.k) { lb = 0u; blk = blk + 1u; si = w_scale_info(blk); }' : ''}
        ${sub ? `ls = ls + 1u;\n        if (ls == ${u32(k2)}) { ls = 0u; sidx = sidx + 1u; }` : ''}
      }
    } else {
      for (var j = 0u; j < ${u32(wRun)}; j = j + 1u) { Ws[(wk + j) * ${u32(BN)} + wr] = 0.0; }
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${u32(BK)}; kk = kk + 1u) {
      let ab = kk * ${u32(BM)} + ty * ${u32(MM_ROWS)};
      let wb = kk * ${u32(BN)} + tx * 4u;
      let wv = vec4<f32>(Ws[wb], Ws[wb + 1u], Ws[wb + 2u], Ws[wb + 3u]);
${rows.map((i) => `      acc${i} = acc${i} + As[ab + ${u32(i)}] * wv;`).join('\n')}
    }
    workgroupBarrier();
    tile = tile + 1u;
    if (tile == ${u32(tilesPerChunk)}) {
      tile = 0u;
${rows.map((i) => `      tot${i} = tot${i} + acc${i};\n      acc${i} = vec4<f32>(0.0);`).join('\n')}
    }
  }
  let nb = n0 + tx * 4u;
  let mb = m0 + ty * ${u32(MM_ROWS)};
${rows
  .map(
    (i) => `  if (mb + ${u32(i)} < D.m) {
    let r${i} = tot${i} + acc${i};
${COMP.map((c, j) => `    if (nb + ${u32(j)} < D.n_out) { y[(mb + ${u32(i)}) * D.n_out + nb + ${u32(j)}] = r${i}.${c}; }`).join('\n')}
  }`,
  )
  .join('\n')}
}
`);
  return out.join('\n');
}
