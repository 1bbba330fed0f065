// GLSL ES 3.00 source of the exact WebGL2 kernels, generated from a KernelPlan. Every step works on
// integer bit fields (uint), never on float rounding: inputs arrive as two exact 16-bit halves of
// their float32 bit pattern, results leave as element codes or as the two halves of float32 bits.
// So subnormals, −0, NaN and Infinity survive whatever the GPU does to floats, and the results equal
// the reference codec bit for bit. Constants are baked in; the compiler folds every branch on them.
// Each kernel gets only the helpers it calls (shader compilation dominates the cost of a new format).
import type { KernelPlan } from './plan.js';

const u = (n: number): string => `${n >>> 0}u`;
const i = (n: number): string => `${n | 0}`;
const b = (v: boolean): string => (v ? 'true' : 'false');

/** The kernels of a plan: per-block/sub-block scan, per-element quantize (code or value), dequantize. */
export type GlslKernel = 'scan' | 'element' | 'dequant';

function constants(p: KernelPlan): string {
  const e = p.element;
  const k = p.block;
  return [
    `const bool EL_FLOAT = ${b(e.isFloat)};`,
    `const int EL_M = ${i(e.m)};`,
    `const uint EL_IMPLICIT = ${u(e.implicit)};`,
    `const int EL_BIAS = ${i(e.bias)};`,
    `const int EL_EMIN = ${i(e.emin)};`,
    `const bool EL_SIGNED = ${b(e.signed)};`,
    `const uint EL_SIGN_CODE = ${u(e.signCode)};`,
    `const bool EL_HAS_ZERO = ${b(e.hasZero)};`,
    `const bool EL_HAS_SUB = ${b(e.hasSubnormals)};`,
    `const int EL_TOP_EXP = ${i(e.topExpField)};`,
    `const uint EL_TOP_MAN = ${u(e.topManField)};`,
    `const uint EL_TOP_FIELD = ${u(e.topField)};`,
    `const uint EL_SPAN = ${u(Math.max(e.span, 1))};`,
    `const bool EL_INF = ${b(e.infinity)};`,
    `const int EL_NAN = ${i(e.nanKind)};`,
    `const uint EL_NAN_CODE = ${u(e.nanCode)};`,
    `const uint EL_OVF_CODE = ${u(e.overflowCode)};`,
    `const uint EL_INF_CODE = ${u(e.infinityCode)};`,
    `const int EL_ENC = ${i(e.encoding)};`,
    `const uint EL_KMAX = ${u(e.kMax)};`,
    `const uint EL_HALF = ${u(e.half)};`,
    `const uint EL_MOD = ${u(e.modulus)};`,
    `const uint EL_ZERO_CODE = ${u(e.zeroCode)};`,
    `const int ROUND_MODE = ${i(p.rounding)};`,
    `const int EMAX = ${i(e.emax)};`,
    `const uint RCEIL_SIG = ${u(e.rceilSig)};`,
    `const int SCALE_MODE = ${i(k ? k.scaleMode : 0)};`,
    `const int SMAX = ${i(k ? k.smax : 0)};`,
    `const uint NAN_SCALE = ${u(k ? k.nanScale : 0)};`,
    `const uint ZERO_SCALE = ${u(k ? k.zeroScale : 0)};`,
    `const uint EVEN_THRESHOLD = ${u(k ? k.evenThreshold : 0)};`,
    `const bool FLUSH = ${b(k ? k.flushSubnormalBlocks : false)};`,
    `const bool MICRO = ${b(k ? k.microxcaling : false)};`,
    `const int TMAX = ${i(k ? k.tauMax : 0)};`,
  ].join('\n');
}

const MSB = `
int ms_msb(uint x) {
  int n = 0;
  if (x >= 0x10000u) { x >>= 16u; n += 16; }
  if (x >= 0x100u) { x >>= 8u; n += 8; }
  if (x >= 0x10u) { x >>= 4u; n += 4; }
  if (x >= 0x4u) { x >>= 2u; n += 2; }
  if (x >= 0x2u) { n += 1; }
  return n;
}`;

// round(m · 2^-k) to an integer; mode 0 rne, 1 rna, 2 rtz, 3 stochastic (draw r in [0, 2^32), up when
// r / 2^32 < the fraction). For k <= 0 the caller guarantees that m << -k fits.
const ROUND = `
uint ms_round(uint m, int k, int mode, uint r) {
  if (k <= 0) return m << uint(-k);
  uint f = k >= 32 ? 0u : m >> uint(k);
  uint rem = k >= 32 ? m : m - (f << uint(k));
  if (mode == 2) return f;
  if (mode == 3) {
    bool up;
    if (k <= 32) up = r < (rem << uint(32 - k));
    else if (k - 32 >= 31) up = r == 0u;
    else { uint j = uint(k - 32); up = r < ((rem + ((1u << j) - 1u)) >> j); }
    return (up && rem != 0u) ? f + 1u : f;
  }
  if (k > 32) return f;
  uint halfway = 1u << uint(k - 1);
  if (rem > halfway) return f + 1u;
  if (rem < halfway) return f;
  return (mode == 1 || (f & 1u) == 1u) ? f + 1u : f;
}`;

// The counter-based draw of stochastic rounding: mix32(mix32(seed ^ 0x9e3779b9) ^ index).
const DRAW = `
uint ms_mix(uint x) {
  x ^= x >> 16u;
  x *= 0x7feb352du;
  x ^= x >> 15u;
  x *= 0x846ca68bu;
  x ^= x >> 16u;
  return x;
}
uint ms_draw(float seedHi, float seedLo, uint position) {
  uint seed = (uint(seedHi) << 16u) | uint(seedLo);
  return ms_mix(ms_mix(seed ^ 0x9e3779b9u) ^ position);
}`;

// A float32 pattern from / to two 16-bit halves, and as sign, significand, exponent: |v| = sig · 2^q.
const BITS = `
uint ms_bits(float lo, float hi) {
  return (uint(hi) << 16u) | uint(lo);
}
vec2 ms_halves(uint bits) {
  return vec2(float(bits >> 16u), float(bits & 0xffffu));
}
void ms_unpack(uint bits, out bool neg, out uint sig, out int q) {
  neg = (bits >> 31u) != 0u;
  uint e = (bits >> 23u) & 0xffu;
  uint f = bits & 0x7fffffu;
  if (e == 0u) { sig = f; q = -149; } else { sig = f | 0x800000u; q = int(e) - 150; }
}`;

// ⌊log2⌋ and the 24-bit normalised significand of a positive finite magnitude pattern.
const LOG = `
int ms_flog2(uint a) {
  uint e = a >> 23u;
  return e > 0u ? int(e) - 127 : ms_msb(a) - 149;
}
uint ms_normsig(uint a) {
  uint e = a >> 23u;
  if (e > 0u) return (a & 0x7fffffu) | 0x800000u;
  return a << uint(23 - ms_msb(a));
}`;

// Float32 bits of (−1)^neg · sig · 2^q, rounded once to nearest even (subnormals, overflow to Inf).
const COMPOSE = `
uint ms_compose(bool neg, uint sig, int q) {
  uint s = neg ? 0x80000000u : 0u;
  if (sig == 0u) return s;
  int top = ms_msb(sig);
  int p = q + top;
  if (p > 127) return s | 0x7f800000u;
  if (p >= -126) {
    uint S;
    if (top <= 23) S = sig << uint(23 - top);
    else {
      S = ms_round(sig, top - 23, 0, 0u);
      if (S >= 0x1000000u) { S >>= 1u; p += 1; }
      if (p > 127) return s | 0x7f800000u;
    }
    return s | (uint(p + 127) << 23u) | (S & 0x7fffffu);
  }
  int k = -149 - q;
  return s | (k <= 0 ? sig << uint(-k) : ms_round(sig, k, 0, 0u));
}`;

// Math.fround of sig · 2^q (sig < 2^24, no overflow), then −0 → +0: the MX emulator's float32 step.
const FROUND = `
void ms_fround(inout bool neg, inout uint sig, inout int q) {
  if (sig == 0u) { neg = false; return; }
  if (q + ms_msb(sig) >= -126) return;
  int k = -149 - q;
  uint S = k <= 0 ? sig << uint(-k) : ms_round(sig, k, 0, 0u);
  if (S == 0u) { neg = false; sig = 0u; q = 0; return; }
  sig = S;
  q = -149;
}`;

// Encode a finite value into the element: float (round on its grid, then the overflow code) or
// integer k · 2^-m (saturating, in its encoding).
const ENCODE = `
uint ms_encode_float(bool neg, uint sig, int q, uint r) {
  uint sc = (neg && EL_SIGNED) ? EL_SIGN_CODE : 0u;
  if (sig == 0u) return EL_HAS_ZERO ? sc : 0u;
  int pe = q + ms_msb(sig);
  if (pe < EL_EMIN) {
    if (!EL_HAS_ZERO) return 0u;
    if (!EL_HAS_SUB) {
      uint r0 = ms_round(sig, EL_EMIN - q, ROUND_MODE, r);
      return r0 >= 1u ? sc + uint(EL_EMIN + EL_BIAS) * EL_IMPLICIT : sc;
    }
    pe = EL_EMIN;
  }
  uint t = ms_round(sig, pe - EL_M - q, ROUND_MODE, r);
  if (t == 0u) return sc;
  if (t >= 2u * EL_IMPLICIT) { pe += 1; t = EL_IMPLICIT; }
  int ef = t < EL_IMPLICIT ? 0 : pe + EL_BIAS;
  uint man = t < EL_IMPLICIT ? t : t - EL_IMPLICIT;
  if (ef > EL_TOP_EXP || (ef == EL_TOP_EXP && man > EL_TOP_MAN)) return sc + EL_OVF_CODE;
  return sc + uint(ef) * EL_IMPLICIT + man;
}
uint ms_encode_int(bool neg, uint sig, int q, uint r) {
  uint t = 0u;
  if (sig != 0u) {
    int k = -(q + EL_M);
    if (k <= 0) t = (ms_msb(sig) - k >= 31) ? 0x7fffffffu : (sig << uint(-k));
    else t = ms_round(sig, k, ROUND_MODE, r);
  }
  if (EL_ENC == 0) { uint c = min(t, EL_KMAX); return (neg && c > 0u) ? EL_MOD - c : c; }
  if (EL_ENC == 1) { uint c = min(t, EL_KMAX); return neg ? EL_HALF + c : c; }
  if (EL_ENC == 2) return neg ? EL_HALF - min(t, EL_HALF) : min(t, EL_KMAX) + EL_HALF;
  return neg ? 0u : min(t, EL_KMAX);
}
uint ms_encode(bool neg, uint sig, int q, uint r) {
  return EL_FLOAT ? ms_encode_float(neg, sig, q, r) : ms_encode_int(neg, sig, q, r);
}`;

// Decode a code to sign, significand, exponent (0 finite, 1 infinite, 2 NaN), and to float32 bits
// of code · 2^shift (NaN as 0x7fc00000).
const DECODE = `
int ms_decode(uint c, out bool neg, out uint sig, out int q) {
  sig = 0u;
  q = 0;
  neg = false;
  if (EL_FLOAT) {
    neg = EL_SIGNED && c >= EL_SPAN;
    uint v = c % EL_SPAN;
    uint ef = v / EL_IMPLICIT;
    uint man = v % EL_IMPLICIT;
    if (ef == EL_TOP_FIELD && (EL_INF || EL_NAN == 1)) return (man == 0u && EL_INF) ? 1 : 2;
    if (ef == EL_TOP_FIELD && EL_NAN == 2 && man == EL_IMPLICIT - 1u) return 2;
    if (ef == 0u && EL_HAS_SUB) { sig = man; q = EL_EMIN - EL_M; return 0; }
    if (ef == 0u && EL_HAS_ZERO) return 0;
    sig = EL_IMPLICIT + man;
    q = int(ef) - EL_BIAS - EL_M;
    return 0;
  }
  q = -EL_M;
  if (EL_ENC == 0) { if (c >= EL_HALF) { neg = true; sig = EL_MOD - c; } else sig = c; }
  else if (EL_ENC == 1) { if (c >= EL_HALF) { neg = true; sig = c - EL_HALF; } else sig = c; }
  else if (EL_ENC == 2) { if (c >= EL_HALF) sig = c - EL_HALF; else { neg = true; sig = EL_HALF - c; } }
  else sig = c;
  return 0;
}
uint ms_value(uint c, int shift) {
  bool neg; uint sig; int q;
  int kind = ms_decode(c, neg, sig, q);
  if (kind == 2) return 0x7fc00000u;
  if (kind == 1) return (neg ? 0x80000000u : 0u) | 0x7f800000u;
  return ms_compose(neg, sig, q + shift);
}`;

const BLOCK_VALUE = `
uint ms_block_value(uint c, uint scaleCode, int tau) {
  if (scaleCode == NAN_SCALE) return 0x7fc00000u;
  return ms_value(c, int(scaleCode) - SMAX - tau);
}`;

// Flat input index of local element e of a chunk (rows of seg elements from row row0, column l0):
// the counter of the stochastic draw, modulo 2^32 like the reference's index >>> 0.
const FLAT = `
uint ms_flat(float e, float seg, int row0, int l0, int rowLength, int inner) {
  int ei = int(e);
  int si = int(seg);
  int rr = ei / si;
  uint row = uint(row0) + uint(rr);
  uint col = uint(l0) + uint(ei - rr * si);
  if (inner == 1) return row * uint(rowLength) + col;
  uint o = row / uint(inner);
  return (o * uint(rowLength) + col) * uint(inner) + (row - o * uint(inner));
}`;

// Block kernels read a per-block info word: scaleCode + 256·fill, fill 0 none, 1 all-zero block
// (each zero keeps its sign), 2 NaN block, 3 +0 block (flushed, or all-zero under the MX emulator).
function blockCode(micro: boolean): string {
  return `
uint ms_block_code(float lo, float hi, float info, int tau, uint r) {
  uint word = uint(info);
  uint fill = (word >> 8u) & 3u;
  bool neg; uint sig; int q;
  ms_unpack(ms_bits(lo, hi), neg, sig, q);
  if (fill == 1u) return ms_encode(neg, 0u, 0, 0u);
  if (fill != 0u) return EL_ZERO_CODE;
  q += tau - (int(word & 255u) - SMAX);${micro ? '\n  ms_fround(neg, sig, q);' : ''}
  return ms_encode(neg, sig, q, r);
}`;
}

const CAST_CODE = `
uint ms_cast_code(float lo, float hi, uint r) {
  uint bits = ms_bits(lo, hi);
  bool neg; uint sig; int q;
  ms_unpack(bits, neg, sig, q);
  if (((bits >> 23u) & 0xffu) == 0xffu) {
    if ((bits & 0x7fffffu) != 0u) return EL_NAN_CODE;
    if (EL_FLOAT) return ((neg && EL_SIGNED) ? EL_SIGN_CODE : 0u) + EL_INF_CODE;
    return ms_encode_int(neg, 1u, 4096, r);
  }
  return ms_encode(neg, sig, q, r);
}`;

/** The injected GLSL (precision, constants, the helpers `kernel` calls) of a plan. */
export function glslLibrary(p: KernelPlan, kernel: GlslKernel): string {
  const parts = ['precision highp float;', 'precision highp int;', constants(p), MSB];
  const block = p.scheme === 'pow2';
  const micro = p.block?.microxcaling === true;
  const stochastic = p.rounding === 3;
  if (kernel === 'scan') parts.push(LOG);
  else if (kernel === 'dequant') parts.push(ROUND, BITS, COMPOSE, DECODE, block ? BLOCK_VALUE : '');
  else {
    parts.push(ROUND, BITS, COMPOSE, ENCODE, DECODE, stochastic ? DRAW : '');
    if (block) parts.push(micro ? FROUND : '', stochastic ? FLAT : '', blockCode(micro), BLOCK_VALUE);
    else parts.push(CAST_CODE);
  }
  return parts.filter(Boolean).join('\n');
}

const STOCHASTIC_BLOCK_ARGS = 'float e, float seg, int row0, int l0, int rowLength, int inner, float seedHi, float seedLo';
const STOCHASTIC_CAST_ARGS = 'float e, int l0, float seedHi, float seedLo';

/** A native entry point: gpu.js parses its float/int signature. */
export interface GlslEntry {
  readonly name: string;
  readonly source: string;
}

/** Exact integer division of two non-negative integer-valued floats. */
export const IDIV_ENTRY: GlslEntry = { name: 'idiv', source: 'float idiv(float a, float b) { return float(int(a) / int(b)); }' };

/**
 * The exact entry points of one kernel of `plan` (kernels.ts holds the bodies that call them).
 * Element kernels return vec2(code, 0) for what = 0 and the halves of the decoded value for what = 1.
 */
export function glslEntries(p: KernelPlan, kernel: GlslKernel): GlslEntry[] {
  const stochastic = p.rounding === 3;
  if (p.scheme === 'cast') {
    if (kernel === 'dequant') return [{ name: 'msCastDequant', source: 'vec2 msCastDequant(float code) { return ms_halves(ms_value(uint(code), 0)); }' }];
    if (kernel !== 'element') throw new Error('internal: scalar formats have no scan kernel');
    const draw = stochastic ? 'ms_draw(seedHi, seedLo, uint(l0) + uint(int(e)))' : '0u';
    return [
      {
        name: 'msCastElement',
        source: `vec2 msCastElement(float lo, float hi${stochastic ? ', ' + STOCHASTIC_CAST_ARGS : ''}, float what) {
  uint c = ms_cast_code(lo, hi, ${draw});
  return what < 0.5 ? vec2(float(c), 0.0) : ms_halves(ms_value(c, 0));
}`,
      },
    ];
  }
  const k = p.block!;
  const sub = k.subSize > 0;
  const tauArg = sub ? ', float tau' : '';
  const tau = sub ? 'int(tau)' : '0';
  if (kernel === 'scan') {
    const out: GlslEntry[] = [
      IDIV_ENTRY,
      {
        name: 'msBlockInfo',
        source: `float msBlockInfo(float mh, float ml, float bad) {
  if (bad > 0.5) return float(NAN_SCALE) + 512.0;
  uint a = (uint(mh) << 16u) | uint(ml);
  if (a == 0u) return float(ZERO_SCALE) + (MICRO ? 768.0 : 256.0);
  if (FLUSH && a < 0x800000u) return float(ZERO_SCALE) + 768.0;
  int s = ms_flog2(a) - EMAX;
  if (SCALE_MODE == 1 && ms_normsig(a) != 0x800000u) s += 1;
  if (SCALE_MODE == 2 && EVEN_THRESHOLD != 0u && ms_normsig(a) >= EVEN_THRESHOLD) s += 1;
  if (SCALE_MODE == 3 && RCEIL_SIG < ms_normsig(a)) s += 1;
  if (s > SMAX) return float(NAN_SCALE) + 512.0;
  if (s < -SMAX) s = -SMAX;
  return float(s + SMAX);
}`,
      },
    ];
    if (sub) {
      out.push({
        name: 'msSubTau',
        source: `float msSubTau(float info, float mh, float ml) {
  uint word = uint(info);
  uint fill = (word >> 8u) & 3u;
  if (fill == 2u) return 0.0;
  uint a = (uint(mh) << 16u) | uint(ml);
  if (fill != 0u || a == 0u) return float(TMAX);
  // microexponents count down from the block's exponent s + emax (after the clamp)
  return float(min(int(word & 255u) - SMAX + EMAX - ms_flog2(a), TMAX));
}`,
      });
    }
    return out;
  }
  if (kernel === 'dequant') {
    return [IDIV_ENTRY, { name: 'msDequant', source: `vec2 msDequant(float code, float scale${tauArg}) { return ms_halves(ms_block_value(uint(code), uint(scale), ${tau})); }` }];
  }
  const draw = stochastic ? 'ms_draw(seedHi, seedLo, ms_flat(e, seg, row0, l0, rowLength, inner))' : '0u';
  return [
    IDIV_ENTRY,
    {
      name: 'msElement',
      source: `vec2 msElement(float lo, float hi, float info${tauArg}${stochastic ? ', ' + STOCHASTIC_BLOCK_ARGS : ''}, float what) {
  uint c = ms_block_code(lo, hi, info, ${tau}, ${draw});
  return what < 0.5 ? vec2(float(c), 0.0) : ms_halves(ms_block_value(c, uint(info) & 255u, ${tau}));
}`,
    },
  ];
}
