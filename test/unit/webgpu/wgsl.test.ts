// Shader text and planning of the WebGPU backend, checked without a GPU: the constants baked into
// the WGSL come from the format descriptors, the fused kernel's structure (one reduction per block,
// whole-word stores) and the host-side packing of parameters.
import { describe, expect, it } from 'vitest';
import { getFormat } from '../../../src/index.js';
import { createWebGPUBackend, WebGPUError } from '../../../src/kernels/webgpu/index.js';
import type { Gpu } from '../../../src/kernels/webgpu/index.js';
import { decodeSupportWgsl, dequantizeWgsl } from '../../../src/kernels/webgpu/wgsl/dequantize.js';
import { FAST_ROUND_WGSL, decoderWgsl, encoderWgsl, fastDecoderWgsl, fastEncoderWgsl, i32, u32 } from '../../../src/kernels/webgpu/wgsl/element.js';
import { MM_CHUNK_K, MM_TILE_K, matmulWgsl } from '../../../src/kernels/webgpu/wgsl/matmul.js';
import { ENCODE_ERROR, NUMERIC_WGSL, WIDE_WGSL } from '../../../src/kernels/webgpu/wgsl/numeric.js';
import { resolveOptions, type Preset } from '../../../src/formats/options.js';
import { programOf } from '../../../src/kernels/webgpu/wgsl/program.js';
import {
  encodeWgsl,
  finalizeWgsl,
  firstMaxWgsl,
  fusedQuantizeWgsl,
  fusedShape,
  packScalesWgsl,
  packSubsWgsl,
  statsWgsl,
  tensorAmaxWgsl,
} from '../../../src/kernels/webgpu/wgsl/quantize.js';
import { D_PARAMS, Q_PARAMS } from '../../../src/kernels/webgpu/wgsl/uniforms.js';

const count = (text: string, needle: string) => text.split(needle).length - 1;
/** The program of a catalog format under a preset (options for one stored block). */
const programFor = (name: string, preset: Preset) => {
  const f = getFormat(name);
  return programOf(f, resolveOptions(f, f.ggml ? f.ggml.blockElements : 64, { preset }));
};
const prog = (name: string, preset: 'ocp' | 'microxcaling' = 'ocp') => programFor(name, preset);
const f32bits = (v: number) => new Uint32Array(new Float32Array([v]).buffer)[0]!;

/** The body of `fn name(...) {...}` in WGSL text (up to the closing brace at column 0). */
function fnBody(text: string, name: string): string {
  const start = text.indexOf(`fn ${name}(`);
  expect(start, `fn ${name} present`).toBeGreaterThanOrEqual(0);
  const end = text.indexOf('\n}', start);
  return text.slice(start, end + 2);
}

describe('WGSL literals', () => {
  it('u32 and i32 literals, with range checks', () => {
    expect(u32(0)).toBe('0u');
    expect(u32(0xffffffff)).toBe('4294967295u');
    expect(i32(-126)).toBe('(-126i)');
    expect(i32(7)).toBe('7i');
    expect(() => u32(-1)).toThrow(RangeError);
    expect(() => u32(1.5)).toThrow(RangeError);
    expect(() => i32(2 ** 31)).toThrow(RangeError);
  });
});

describe('programs derive every constant from the descriptor', () => {
  it('OCP MXFP8 E4M3: emax 8, RCEIL mantissa 448·2^15, EVEN threshold for 3 mantissa bits', () => {
    const p = prog('mxfp8_e4m3');
    expect(p.scheme).toBe('pow2');
    expect(p.codeBits).toBe(8);
    expect(p.emax).toBe(8);
    expect(p.rceilMantissa).toBe(448 * 2 ** 15);
    expect(p.evenThreshold).toBe(2 ** 24 - 2 ** 19);
    expect(p.zeroCode).toBe(0);
    expect(p.scaleCodeBits).toBe(8);
    expect(p.overflow).toBe('saturate');
  });

  it('NVFP4: divides by 6, clamps the scale to [2^-9, 448], UE4M3 NaN code 0x7f', () => {
    const p = prog('nvfp4');
    expect(p.scheme).toBe('scaled');
    expect(p.elMaxBits).toBe(f32bits(6));
    expect(p.clampBits).toEqual([f32bits(2 ** -9), f32bits(448)]);
    expect(p.scaleNanCode).toBe(0x7f);
    expect(p.tensorScale).toBe(true);
    expect(p.scaleCodeBits).toBe(8);
  });

  it('Q4_0 divides the signed maximum by −8 and stores FP16 scales; int8_tensor stores FP32 scales', () => {
    expect(prog('q4_0').divisorBits).toBe(f32bits(-8));
    expect(prog('q4_0').scaleCodeBits).toBe(16);
    expect(prog('q4_0').zeroCode).toBe(8);
    expect(prog('int8_tensor').scaleCodeBits).toBe(32);
    expect(prog('int8_tensor').elMaxBits).toBe(f32bits(127));
  });

  it('casts keep the element overflow policy; the microxcaling preset stores mxint8 as sign-magnitude', () => {
    expect(prog('fp8_e5m2').overflow).toBe('infinity');
    expect(prog('fp16').overflow).toBe('infinity');
    expect(prog('fp8_e4m3').overflow).toBe('saturate');
    const micro = prog('mxint8', 'microxcaling');
    expect(micro.element.kind === 'int' && micro.element.encoding).toBe('signmag');
    expect(micro.key).not.toBe(prog('mxint8').key);
  });

  it('BDR mx9: 8-bit codes, 1-bit microexponents per 2 elements', () => {
    const p = prog('mx9');
    expect(p.codeBits).toBe(8);
    expect(p.subBlock).toEqual({ size: 2, bits: 1 });
  });
});

describe('element encoders and decoders', () => {
  it('FP8 E4M3 (saturating, one NaN): bias 7, emin −6, top field 15 with mantissa ≤ 6, NaN 0x7f', () => {
    const el = getFormat('fp8_e4m3').element;
    const enc = encoderWgsl('enc', el, 'saturate');
    expect(enc).toContain('pe < (-6i)');
    expect(enc).toContain('ef = pe + 7i');
    expect(enc).toContain('ef > 15i || (ef == 15i && man > 6u)');
    expect(enc).toContain('return 127u;'); // NaN code
    expect(enc).toContain('select(126u, 126u, mode == 2u)'); // overflow saturates, rtz too
    expect(enc).toContain('sg + 126u'); // ±Inf saturate
  });

  it('FP8 E5M2 cast: infinities stay infinite, finite overflow goes to ∞ except under rtz', () => {
    const el = getFormat('fp8_e5m2').element;
    const enc = encoderWgsl('enc', el, 'infinity');
    expect(enc).toContain('if (x.kind == 2u) { return sg + 124u; }');
    expect(enc).toContain('select(124u, 123u, mode == 2u)');
    expect(enc).toContain('return 126u;'); // quiet NaN 0x7e
  });

  it('fast encoders round normal values with one add and shift, and defer specials to the generic encoder', () => {
    const el = getFormat('fp8_e4m3').element;
    const fast = fastEncoderWgsl('enc_fast', 'enc_el', el, 'saturate');
    expect(fast).toContain('if (ex == 0u || ex == 255u) { var x = uf_from_bits(xb); x.e = x.e + d; return enc_el(x, mode, u); }');
    expect(fast).toContain('var sh = 20u;'); // 23 − 3 mantissa bits
    expect(fast).toContain('if (pe > 8i)'); // above 2^8 every value overflows
    expect(fast).toContain('v = (u32(pe + 7i) << 23u) | (xb & 0x7fffffu);');
    expect(fast).toContain('if (r > 126u)');
    // FP32 (no bits to drop) and mantissa-less elements always take the generic encoder
    expect(fastEncoderWgsl('f', 'enc_el', getFormat('fp32').element, 'infinity').split('\n')).toHaveLength(4);
    expect(fastEncoderWgsl('f', 'enc_el', getFormat('e8m0').element, 'saturate')).not.toContain('rnd_add');
    expect(fastEncoderWgsl('f', 'enc_el', getFormat('mxint8').element, 'saturate')).toContain('let sh = 17i - (i32(ex) - 127 + d);');
    expect(FAST_ROUND_WGSL).toContain('return ((1u << sh) - 1u) - (u >> (32u - sh));');
  });

  it('fast decoders assemble normal float32 results directly', () => {
    const dec = fastDecoderWgsl('dec_fast', 'dec_el', getFormat('fp4_e2m1').element);
    expect(dec).toContain('let e = i32(ef) - 1i + k;');
    expect(dec).toContain('return s | (u32(e + 127) << 23u) | ((c & 1u) << 22u);');
  });

  it('elements without NaN return the error marker for NaN; unsigned floats reject negatives', () => {
    expect(encoderWgsl('enc', getFormat('fp4_e2m1').element, 'saturate')).toContain(`return ${ENCODE_ERROR}u;`);
    const ue = encoderWgsl('enc', getFormat('ue4m3').element, 'saturate');
    expect(ue).toContain(`if (x.s == 1u && x.kind != 0u) { return ${ENCODE_ERROR}u; }`);
    expect(ue).toContain('select(0u, 0u, x.s == 1u)'); // no sign bit
  });

  it('E8M0 has no zero: magnitudes below 2^-127 encode as code 0', () => {
    const enc = encoderWgsl('enc', getFormat('e8m0').element, 'saturate');
    expect(enc).toMatch(/if \(pe < \(-127i\)\) \{\n\s+return 0u;/);
  });

  it('integer encoders follow the encoding (two’s complement, sign-magnitude, offset, unsigned)', () => {
    expect(encoderWgsl('e', getFormat('int8').element, 'saturate')).toContain('select(k, 256u - k, neg && k > 0u)');
    expect(encoderWgsl('e', getFormat('mx9').element, 'saturate')).toContain('select(k, 128u + k, neg)');
    expect(encoderWgsl('e', getFormat('q4_0').element, 'saturate')).toContain('if (neg) { return 8u - min(r, 8u); }');
    expect(encoderWgsl('e', getFormat('q4_1').element, 'saturate')).toContain('select(min(r, 15u), 0u, neg)');
  });

  it('decoders: FP16 infinities and NaNs, subnormals at 2^(emin−m), sign-magnitude −0', () => {
    const dec = decoderWgsl('d', getFormat('fp16').element);
    expect(dec).toContain('if (ef == 31u) { return UF(s, 0u, 0, select(3u, 2u, man == 0u)); }');
    expect(dec).toContain('return UF(s, man, (-24i), select(1u, 0u, man == 0u))');
    expect(decoderWgsl('d', getFormat('mx9').element)).toContain('return UF(1u, k, (-6i), select(1u, 0u, k == 0u))');
  });
});

describe('numeric helpers', () => {
  it('define the integer float toolbox once, with no float arithmetic', () => {
    for (const fn of ['uf_from_bits', 'round_shift', 'f32_bits', 'mul_wide', 'mul_f32', 'div_f32', 'mix32']) expect(count(NUMERIC_WGSL, `fn ${fn}(`)).toBe(1);
    expect(NUMERIC_WGSL).not.toMatch(/\bf32\b|bitcast<f32>/);
    // the counter hash of stochastic rounding uses the same multipliers as src/formats/bits.ts
    expect(fnBody(NUMERIC_WGSL, 'mix32')).toContain('0x7feb352du');
    expect(fnBody(NUMERIC_WGSL, 'mix32')).toContain('0x846ca68bu');
  });

  it('division keeps 26 quotient bits plus a sticky bit, enough for one correct rounding', () => {
    const body = fnBody(NUMERIC_WGSL, 'div_f32');
    expect(body).toContain('i < 26u');
    expect(body).toContain("quo = quo | select(0u, 1u, r != 0u)");
    expect(body).toContain('f32_bits(s, quo, p.e - q.e - 26)');
  });
});

describe('fused quantize kernel', () => {
  it('picks elements per thread that fill whole output words', () => {
    const shape = (name: string, bs = getFormat(name).blockSize) => fusedShape(prog(name), bs);
    expect(shape('mxfp8_e4m3')).toEqual({ elementsPerThread: 16, threadsPerBlock: 2 });
    expect(shape('mxfp4')).toEqual({ elementsPerThread: 16, threadsPerBlock: 2 });
    expect(shape('mxfp6_e3m2')).toEqual({ elementsPerThread: 16, threadsPerBlock: 2 });
    expect(shape('mx9')).toEqual({ elementsPerThread: 16, threadsPerBlock: 1 });
    expect(shape('nvfp4')).toEqual({ elementsPerThread: 16, threadsPerBlock: 1 });
    expect(shape('mx6')).toEqual({ elementsPerThread: 4, threadsPerBlock: 4 }); // 5-bit codes: staged
    expect(shape('mxfp8_e4m3', 4)).toEqual({ elementsPerThread: 4, threadsPerBlock: 1 });
    expect(shape('mxfp8_e4m3', 1024)).toEqual({ elementsPerThread: 16, threadsPerBlock: 64 });
    expect(shape('fp16', 1)).toEqual({ elementsPerThread: 4, threadsPerBlock: 1 });
    expect(shape('mxfp8_e4m3', 48)).toBeNull(); // not a power-of-two block
    expect(shape('mxfp8_e4m3', 8192)).toBeNull(); // more than one workgroup per block
    expect(shape('q4_1')).toBeNull(); // minMax runs elsewhere
  });

  it('MXFP8: one reduction per block folded by its first thread, two barriers, whole-vec4 coalesced stores', () => {
    const p = prog('mxfp8_e4m3');
    const text = fusedQuantizeWgsl(p, fusedShape(p, 32)!);
    expect(count(text, 'workgroupBarrier()')).toBe(2);
    expect(count(text, 'block_scale(')).toBe(2); // definition + the one call by the block's first thread
    expect(text).toContain('if ((lane & 1u) == 0u) {');
    expect(text).toContain('for (var r = 1u; r < 2u; r = r + 1u)');
    expect(text).toContain('var<storage, read> xin: array<vec4<u32>>');
    expect(text).toContain('codes[t * 1u + 0u] = vec4<u32>(w[0], w[1], w[2], w[3]);');
    expect(count(text, 'enc_lean(xv[')).toBe(16); // the lean encoder, unrolled
    expect(text).not.toContain('atomic');
    expect(text).not.toContain('stage');
    expect(text).not.toContain('mxfp8'); // nothing branches on a format's name
  });

  it('blocks of at most 16 elements take one thread each and reduce in registers', () => {
    const p = prog('nvfp4');
    const text = fusedQuantizeWgsl(p, fusedShape(p, 16)!);
    expect(text).toContain('let bsc = block_scale(key0);');
    expect(text).not.toContain('var<workgroup> red');
    expect(count(text, 'workgroupBarrier()')).toBe(1); // only to pack the scale bytes of 4 blocks per word
  });

  it('large blocks reduce by tree steps first; 5-bit codes are staged and packed by the workgroup', () => {
    const p = prog('mxfp8_e4m3');
    const big = fusedQuantizeWgsl(p, fusedShape(p, 1024)!);
    expect(count(big, 'workgroupBarrier()')).toBe(4); // two tree steps (64 → 16 partials), then as above
    const mx6 = prog('mx6');
    const staged = fusedQuantizeWgsl(mx6, fusedShape(mx6, 16)!);
    expect(staged).toContain('var<workgroup> stage: array<u32, 1024>;');
    expect(staged).toContain('var<workgroup> tstage: array<u32, 512>;');
    expect(count(staged, 'workgroupBarrier()')).toBe(3);
  });

  it('casts record the first unencodable index with atomicMin and have no barrier', () => {
    const p = prog('int8');
    const text = fusedQuantizeWgsl(p, fusedShape(p, 1)!);
    expect(text).toContain('atomicMin(&err[0], Q.flat_base + i)');
    expect(text).not.toContain('workgroupBarrier');
  });

  it('scaled formats divide exactly; pow2 formats never divide', () => {
    const nv = prog('nvfp4');
    const nvText = fusedQuantizeWgsl(nv, fusedShape(nv, 16)!);
    expect(fnBody(nvText, 'encode_in_block')).toContain('enc_fast(div_f32(uf_from_bits(xb), uf_from_bits(b.p)), 0, Q.rounding, u)');
    expect(fnBody(nvText, 'block_scale')).toContain('d = div_f32(uf_from_bits(d), uf_from_bits(Q.tensor_scale));');
    const mx = prog('mxfp4');
    expect(fnBody(fusedQuantizeWgsl(mx, fusedShape(mx, 32)!), 'encode_in_block')).not.toContain('div_f32');
  });
});

describe('general quantize kernels', () => {
  it('cover statistics, scales, encoding and packing for any axis', () => {
    const p = prog('mx9');
    expect(statsWgsl(p)).toContain('atomicMax(&bkey[cur], ka)');
    expect(statsWgsl(p)).toContain('atomicMax(&smax[loc.x * Q.sbpr + loc.y / 2u], a0)');
    expect(finalizeWgsl(p)).toContain('params[t] = bs_pack(block_scale(key));');
    expect(encodeWgsl(p)).toContain('atomicOr(&codes[curw], acc)');
    expect(packScalesWgsl(p)).toContain('params[t * 4u + 3u].x << 24u');
    expect(packSubsWgsl(p)).toContain('fn tau_at(s: u32) -> u32');
    expect(firstMaxWgsl(prog('q4_0'))).toContain('atomicMax(&bfirst[blk], ~((pos << 1u) | (v >> 31u)))');
    expect(finalizeWgsl(prog('q4_0'))).toContain('(~bfirst[t]) & 1u');
    expect(tensorAmaxWgsl()).toContain('if (a < 0x7f800000u) { m = max(m, a); }');
  });
});

describe('minMax rule kernels (int8_rowwise_affine, int4_rowwise_affine, q4_1, q5_1)', () => {
  it('the wide helpers are integer-only too and defined once', () => {
    for (const fn of ['add_w', 'round53', 'w_to_f32', 'div_w', 'mul_w', 'shl64', 'shr64']) expect(count(WIDE_WGSL, `fn ${fn}(`)).toBe(1);
    expect(WIDE_WGSL).not.toMatch(/\bf32\b|bitcast<f32>/);
    // the division by the element maximum keeps 8-bit digits of a u32 remainder and a sticky bit
    expect(fnBody(WIDE_WGSL, 'div_w')).toContain('let t = r * 256u + byte;');
    expect(fnBody(WIDE_WGSL, 'div_w')).toContain('if (r != 0u) { quo.x = quo.x | 1u; }');
  });

  it('statistics keep min, max, a non-finite flag and the first zero per block; no maxima or sub-blocks', () => {
    const stats = statsWgsl(prog('q4_1'));
    expect(stats).toContain('atomicMax(&bst[cur * 4u], ~kmin)');
    expect(stats).toContain('atomicMax(&bst[cur * 4u + 1u], kmax)');
    expect(stats).toContain('atomicMax(&bst[cur * 4u + 2u], 1u)');
    expect(stats).toContain('zf = max(zf, ~(((loc.y % Q.bs) << 1u) | (v >> 31u)))');
    expect(stats).not.toContain('&smax[');
    const fin = finalizeWgsl(prog('q4_1'));
    expect(fin).toContain('if (lo == 0u) { lo = ((~bst[t * 4u + 3u]) & 1u) << 31u; }'); // a zero minimum keeps the first zero's sign
    expect(fin).toContain('params[t] = bs_pack(mm_scale(lo, key_bits(bst[t * 4u + 1u]), bst[t * 4u + 2u] == 0u));');
  });

  it('the scale is float32(float64(float64(hi − lo) / elMax)) with elMax from the element', () => {
    const scale = (name: string) => fnBody(finalizeWgsl(prog(name)), 'mm_scale');
    expect(scale('q4_1')).toContain(`round53(div_w(diff, uf_from_bits(${f32bits(15)}u)))`);
    expect(scale('q5_1')).toContain(`uf_from_bits(${f32bits(31)}u)`);
    expect(scale('int8_rowwise_affine')).toContain(`uf_from_bits(${f32bits(255)}u)`);
    expect(scale('int4_rowwise_affine')).toContain('let diff = round53(add_w(');
    expect(scale('q4_1')).toContain('return BS(32256u, 0x7fc00000u'); // FP16 NaN scale and offset for non-finite blocks
    const enc = fnBody(encodeWgsl(prog('q4_1')), 'encode_in_block');
    expect(enc).toContain('let centred = w_to_f32(add_w(');
    expect(enc).toContain('enc_fast(div_f32(uf_from_bits(centred), uf_from_bits(b.p)), 0, Q.rounding, u)');
  });

  it('scale packing writes the offset codes as well; other rules bind no offsets', () => {
    const pack = packScalesWgsl(prog('q4_1'));
    expect(pack).toContain('@group(0) @binding(3) var<storage, read_write> offsets: array<u32>;');
    expect(pack).toContain('oword = oword | (offset_code(bs_unpack(params[t * 2u + 1u])) << 16u);');
    expect(packScalesWgsl(prog('q4_0'))).not.toContain('offsets');
    expect(packScalesWgsl(prog('int8_rowwise_affine'))).toContain('offsets[t] = oword;');
  });

  it('decoding adds the offset after a float64 product, rounding to float64 and then to float32', () => {
    const text = dequantizeWgsl(prog('int4_rowwise_affine'), false);
    expect(text).toContain('@group(0) @binding(5) var<storage, read> offsets: array<u32>;');
    expect(fnBody(text, 'combine')).toContain('w_to_f32(round53(add_w(round53(mul_w(dec_el(code), si.total)), w_from_uf(uf_from_bits(si.off)))))');
    expect(dequantizeWgsl(prog('q4_0'), true)).not.toContain('struct W ');
    const mm = matmulWgsl(prog('q4_1'));
    expect(mm).toContain('@group(0) @binding(6) var<storage, read> w_offsets: array<u32>;');
    expect(mm).toContain('fn w_get_offset(b: u32) -> u32');
  });
});

describe('preset "ggml" kernels', () => {
  const ggml = (name: string) => programFor(name, 'ggml');

  it('ggml programs are keyed apart from the default preset and skip the lean RNE encoder', () => {
    expect(ggml('q8_0').key).toBe(`${prog('q8_0').key}|ggml`);
    expect(prog('q8_0').ggml).toBe(false);
    const mx = ggml('ggml_mxfp4');
    const text = fusedQuantizeWgsl(mx, fusedShape(mx, 32)!);
    expect(text).not.toContain('enc_lean(xv[');
    // (uint8_t)(⌊log2f(amax)⌋ − 2 + 127) wrapping as on x86-64; a NaN-free block key (ggml skips NaN)
    expect(fnBody(text, 'block_scale')).toContain('e = bitcast<u32>(flog2_f32(a) + 125) & 0xffu;');
    expect(fnBody(text, 'encode_in_block')).toContain('return best_fp4(xb, UF(0u, 0x800000u, bitcast<i32>(b.p) - 24, 1u));');
    expect(text).toContain('var<private> log2_up: array<u32, 277>');
    expect(text).toContain('ka = max(ka, nan_to_zero(xv[0]));');
    expect(fusedQuantizeWgsl(prog('ggml_mxfp4'), fusedShape(prog('ggml_mxfp4'), 32)!)).toContain('ka = max(ka, xv[0] & 0x7fffffffu);');
  });

  it('Q8_0: d = amax/127, id = 1/d, roundf codes; FP16 scales overflow to ∞ as GGML_FP32_TO_FP16 does', () => {
    const text = fusedQuantizeWgsl(ggml('q8_0'), fusedShape(ggml('q8_0'), 32)!);
    expect(fnBody(text, 'block_scale')).toContain(`uf_from_bits(${f32bits(127)}u)`);
    expect(fnBody(text, 'block_scale')).toContain('ggml_inv(d)');
    expect(fnBody(text, 'encode_in_block')).toContain('return round_code(y);');
    expect(fnBody(text, 'enc_scale')).toContain('select(31744u, 31743u, mode == 2u)');
    const ocp = fusedQuantizeWgsl(prog('q8_0'), fusedShape(prog('q8_0'), 32)!);
    expect(fnBody(ocp, 'enc_scale')).toContain('select(31743u, 31743u, mode == 2u)');
  });

  it('Q4_0 adds 8.5 and truncates; Q4_1 subtracts the raw minimum, adds 0.5 and keeps lo for the offset', () => {
    const q40 = fusedQuantizeWgsl(ggml('q4_0'), fusedShape(ggml('q4_0'), 32)!);
    expect(fnBody(q40, 'block_scale')).toContain(`uf_from_bits(${f32bits(-8)}u)`);
    expect(fnBody(q40, 'encode_in_block')).toContain(`return trunc_min(add_f32(y, ${f32bits(8.5)}u), 15u);`);
    const q41 = encodeWgsl(ggml('q4_1'));
    expect(fnBody(q41, 'encode_in_block')).toContain('let centred = add_f32(xb, bitcast<u32>(b.eblock) ^ 0x80000000u);');
    expect(fnBody(q41, 'mm_scale')).toContain(`uf_from_bits(${f32bits(15)}u)`);
    expect(fnBody(q41, 'mm_scale')).toContain('bitcast<i32>(lo)');
  });

  it('NVFP4: ggml_fp32_to_ue4m3 of amax/6 and the nearest entry of the doubled FP4 table', () => {
    const text = fusedQuantizeWgsl(ggml('ggml_nvfp4'), fusedShape(ggml('ggml_nvfp4'), 16)!);
    expect(fnBody(text, 'ue4m3_ggml')).toContain('var m = (frac >> 20u) + ((frac >> 19u) & 1u);'); // half up
    expect(fnBody(text, 'ue4m3_ggml')).toContain('if (ue >= 15) { return 0x7eu; }');
    expect(fnBody(text, 'block_scale')).toContain(`uf_from_bits(${f32bits(6)}u)`);
    expect(fnBody(text, 'best_fp4')).toContain('if (err < best_err) { best = i; best_err = err; }'); // the first minimum
    expect(text).toContain(`var<private> kvalues: array<u32, 16> = array<u32, 16>(0u, ${f32bits(1)}u,`);
  });
});

describe('decoding and matmul kernels', () => {
  it('dequantize reads codes by bit offset and scales by width; pow2 applies the exponent exactly', () => {
    const p = prog('mx6');
    const text = dequantizeWgsl(p, true);
    expect(text).toContain('let wi = (idx >> 5u) * 5u + (((idx & 31u) * 5u) >> 5u);');
    expect(text).toContain('return dec_fast(code, si.shift - i32(tau));');
    expect(text).toContain('blk = c / D.bs;'); // once per thread; consecutive codes step through blocks
    expect(text).toContain('blk = c >> D.bs_log2;'); // power-of-two blocks shift instead
    expect(dequantizeWgsl(p, false)).toContain('let blk = row * D.bpr + l / D.bs;');
    const nv = decodeSupportWgsl(prog('nvfp4'), 'w_', 'D');
    expect(nv).toContain('total = mul_f32(uf_from_bits(D.tensor_scale), uf_from_bits(total));');
  });

  it('matmul tiles through workgroup memory and folds partial sums every MM_CHUNK_K products', () => {
    const text = matmulWgsl(prog('mxfp4'));
    expect(count(text, 'workgroupBarrier()')).toBe(2);
    expect(text).toContain('var<workgroup> As: array<f32, 2048>;');
    expect(text).toContain(`if (tile == ${MM_CHUNK_K / MM_TILE_K}u) {`);
    expect(text).toContain('w_combine(w_get_code(c0 + j), si, 0u)');
  });
});

describe('uniform structs', () => {
  it('declare every field as a 32-bit scalar and pack integers as two’s complement', () => {
    expect(Q_PARAMS.wgsl()).toContain('  smax: i32,');
    expect(Q_PARAMS.byteLength % 16).toBe(0);
    const packed = D_PARAMS.pack({ scale_bias: -1, n: 5 });
    expect(packed[0]).toBe(5);
    expect(packed[10]).toBe(0xffffffff);
    expect(() => Q_PARAMS.pack({ n: 1.5 })).toThrow(RangeError);
  });
});

describe('device acquisition', () => {
  it('reports a missing adapter as WebGPUError WEBGPU_UNAVAILABLE', async () => {
    const gpu: Gpu = { requestAdapter: async () => null };
    const err = await createWebGPUBackend({ gpu }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WebGPUError);
    expect((err as WebGPUError).reason).toBe('WEBGPU_UNAVAILABLE');
    expect((err as WebGPUError).message).toMatch(/VK_ICD_FILENAMES/);
  });

  it('reports a failing adapter request the same way', async () => {
    const gpu: Gpu = {
      requestAdapter: async () => {
        throw new Error('driver exploded');
      },
    };
    const err = await createWebGPUBackend({ gpu }).catch((e: unknown) => e);
    expect((err as WebGPUError).reason).toBe('WEBGPU_UNAVAILABLE');
    expect((err as WebGPUError).message).toContain('driver exploded');
  });
});
