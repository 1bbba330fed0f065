// Integer-only float arithmetic in WGSL. GPUs may flush subnormals and need not round float
// division correctly, so every step the reference does exactly (exponent extraction, rounding to
// an element grid, float32 rounding of products and quotients) is done here on u32 bit patterns.

/** Rounding modes as the integers the shaders switch on. */
export const ROUNDING_IDS = Object.freeze({ rne: 0, rna: 1, rtz: 2, stochastic: 3 });
/** Shared-exponent rules as the integers the shaders switch on. */
export const SCALE_MODE_IDS = Object.freeze({ floor: 0, ceil: 1, even: 2, rceil: 3 });

/** Code returned by an element encoder for a value the element cannot encode (NaN without a NaN
 * code, a negative value for an unsigned float); the cast kernel reports its first index. */
export const ENCODE_ERROR = 0xffffffff;

/**
 * Helpers shared by every kernel:
 * - `UF`: an unpacked float, value = (−1)^s · m · 2^e, kind 0 zero / 1 finite / 2 infinite / 3 NaN;
 *   `uf_from_bits` normalises finite values so that bit 23 of m is the leading one.
 * - `round_shift(m, sh, mode, u)`: m · 2^−sh rounded to an integer by rne/rna/rtz or, for stochastic,
 *   up exactly when u/2^32 < the discarded fraction (the reference's `u < t − ⌊t⌋`).
 * - `f32_bits(s, m, e)`: m · 2^e rounded once to float32 (RNE, gradual underflow, overflow to ∞);
 *   a sticky bit may be OR-ed into the lowest bit of m.
 * - `mul_f32`, `div_f32`: correctly rounded float32 product and quotient of two UFs.
 * - `mix32`: the counter hash of stochastic rounding (src/formats/bits.ts).
 */
export const NUMERIC_WGSL = /* wgsl */ `
struct UF { s: u32, m: u32, e: i32, kind: u32 }

fn uf_from_bits(b: u32) -> UF {
  let s = b >> 31u;
  let ex = (b >> 23u) & 0xffu;
  let fr = b & 0x7fffffu;
  if (ex == 0xffu) { return UF(s, 0u, 0, select(3u, 2u, fr == 0u)); }
  if (ex == 0u) {
    if (fr == 0u) { return UF(s, 0u, 0, 0u); }
    let lz = 23u - firstLeadingBit(fr);
    return UF(s, fr << lz, -149 - i32(lz), 1u);
  }
  return UF(s, fr | 0x800000u, i32(ex) - 150, 1u);
}

fn uf_nan() -> UF { return UF(0u, 0u, 0, 3u); }

fn mix32(v: u32) -> u32 {
  var x = v;
  x = x ^ (x >> 16u);
  x = x * 0x7feb352du;
  x = x ^ (x >> 15u);
  x = x * 0x846ca68bu;
  x = x ^ (x >> 16u);
  return x;
}

fn round_shift(m: u32, sh: u32, mode: u32, u: u32) -> u32 {
  if (sh == 0u) { return m; }
  var q = 0u;
  var rem = m;
  if (sh < 32u) {
    q = m >> sh;
    rem = m & ((1u << sh) - 1u);
  }
  if (rem == 0u || mode == 2u) { return q; }
  if (mode == 3u) {
    var c = 0u;
    if (sh < 32u) {
      c = rem << (32u - sh);
    } else if (sh == 32u) {
      c = rem;
    } else if (sh - 32u < 32u) {
      let d = sh - 32u;
      c = (rem >> d) + select(0u, 1u, (rem & ((1u << d) - 1u)) != 0u);
    } else {
      c = 1u;
    }
    return select(q, q + 1u, u < c);
  }
  if (sh > 32u) { return q; }
  let half = 1u << (sh - 1u);
  if (mode == 1u) { return select(q, q + 1u, rem >= half); }
  return select(q, q + 1u, rem > half || (rem == half && (q & 1u) == 1u));
}

fn f32_bits(s: u32, m: u32, e: i32) -> u32 {
  let sgn = s << 31u;
  if (m == 0u) { return sgn; }
  let top = i32(firstLeadingBit(m)) + e;
  if (top > 127) { return sgn | 0x7f800000u; }
  let lsb = max(top - 23, -149);
  let sh = lsb - e;
  var mant = 0u;
  if (sh <= 0) {
    mant = m << u32(-sh);
  } else {
    mant = round_shift(m, u32(sh), 0u, 0u);
  }
  let base = select(0u, u32(top + 126) << 23u, top >= -126);
  return sgn | (base + mant);
}

fn mul_wide(a: u32, b: u32) -> vec2<u32> {
  let a0 = a & 0xffffu;
  let a1 = a >> 16u;
  let b0 = b & 0xffffu;
  let b1 = b >> 16u;
  let p00 = a0 * b0;
  let p01 = a0 * b1;
  let p10 = a1 * b0;
  let p11 = a1 * b1;
  let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
  let lo = (mid << 16u) | (p00 & 0xffffu);
  let hi = p11 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u);
  return vec2<u32>(lo, hi);
}

fn mul_f32(a: UF, b: UF) -> u32 {
  let s = a.s ^ b.s;
  if (a.kind == 3u || b.kind == 3u) { return 0x7fc00000u; }
  if (a.kind == 2u || b.kind == 2u) {
    if (a.kind == 0u || b.kind == 0u) { return 0x7fc00000u; }
    return (s << 31u) | 0x7f800000u;
  }
  if (a.kind == 0u || b.kind == 0u) { return s << 31u; }
  let p = mul_wide(a.m, b.m);
  var m = p.x;
  var e = a.e + b.e;
  if (p.y != 0u) {
    let k = firstLeadingBit(p.y) + 1u;
    let sticky = select(0u, 1u, (p.x & ((1u << k) - 1u)) != 0u);
    m = (p.y << (32u - k)) | (p.x >> k) | sticky;
    e = e + i32(k);
  }
  return f32_bits(s, m, e);
}

fn div_f32(p: UF, q: UF) -> u32 {
  let s = p.s ^ q.s;
  if (p.kind == 3u || q.kind == 3u) { return 0x7fc00000u; }
  if (p.kind == 2u) {
    if (q.kind == 2u) { return 0x7fc00000u; }
    return (s << 31u) | 0x7f800000u;
  }
  if (q.kind == 2u) { return s << 31u; }
  if (q.kind == 0u) {
    if (p.kind == 0u) { return 0x7fc00000u; }
    return (s << 31u) | 0x7f800000u;
  }
  if (p.kind == 0u) { return s << 31u; }
  var r = p.m;
  var quo = 0u;
  if (r >= q.m) {
    r = r - q.m;
    quo = 1u;
  }
  for (var i = 0u; i < 26u; i = i + 1u) {
    r = r << 1u;
    quo = quo << 1u;
    if (r >= q.m) {
      r = r - q.m;
      quo = quo | 1u;
    }
  }
  quo = quo | select(0u, 1u, r != 0u);
  return f32_bits(s, quo, p.e - q.e - 26);
}

fn uf_is_zero_bits(b: u32) -> bool { return (b & 0x7fffffffu) == 0u; }
`;
