// Integer-only float arithmetic in WGSL. GPUs may flush subnormals and need not round float
// division correctly, so every step the reference does exactly (exponent extraction, rounding to
// an element grid, float32 rounding of products and quotients) is done here on u32 bit patterns.

// (the shaders switch on the codes of src/formats/codes.ts: rounding mode, shared-exponent rule)

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

/**
 * Float64-style helpers for the minMax rule, whose reference rounds some steps in float64 first
 * (hi − lo, value·scale + offset) and then to float32. Needs NUMERIC_WGSL.
 * - `W`: value (−1)^s · m · 2^e with a 64-bit significand m (x = low word, y = high word), kind as UF.
 * - `add_w(a, b)`: a + b for finite W in a 64-bit window; bits shifted out of the smaller operand
 *   leave a sticky 1 in bit 0 (exact enough for one later rounding to ≤ 61 bits).
 * - `round53(a)`: a rounded to 53 significant bits (float64 RNE; float64 range is never left here).
 * - `w_to_f32(a)`: a rounded once to float32 (RNE, gradual underflow, overflow to ∞).
 * - `div_w(a, q)`: a / q for a finite non-zero W of ≤ 54 bits and a normalised finite non-zero UF q
 *   (uf_from_bits), with ≥ 60 quotient bits and a sticky bit.
 * - `mul_w(a, b)`: the exact product of two UFs.
 */
export const WIDE_WGSL = /* wgsl */ `
struct W { s: u32, m: vec2<u32>, e: i32, kind: u32 }

fn w_from_uf(a: UF) -> W { return W(a.s, vec2<u32>(a.m, 0u), a.e, a.kind); }

fn lead64(m: vec2<u32>) -> i32 {
  if (m.y != 0u) { return 32 + i32(firstLeadingBit(m.y)); }
  if (m.x != 0u) { return i32(firstLeadingBit(m.x)); }
  return -1;
}

fn shl64(m: vec2<u32>, s: u32) -> vec2<u32> {
  if (s == 0u) { return m; }
  if (s >= 64u) { return vec2<u32>(0u, 0u); }
  if (s >= 32u) { return vec2<u32>(0u, m.x << (s - 32u)); }
  return vec2<u32>(m.x << s, (m.y << s) | (m.x >> (32u - s)));
}

fn shr64(m: vec2<u32>, s: u32) -> vec2<u32> {
  if (s == 0u) { return m; }
  if (s >= 64u) { return vec2<u32>(0u, 0u); }
  if (s >= 32u) { return vec2<u32>(m.y >> (s - 32u), 0u); }
  return vec2<u32>((m.x >> s) | (m.y << (32u - s)), m.y >> s);
}

fn add64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
  let lo = a.x + b.x;
  return vec2<u32>(lo, a.y + b.y + select(0u, 1u, lo < a.x));
}

fn sub64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
  return vec2<u32>(a.x - b.x, a.y - b.y - select(0u, 1u, a.x < b.x));
}

fn lt64(a: vec2<u32>, b: vec2<u32>) -> bool { return a.y < b.y || (a.y == b.y && a.x < b.x); }

fn w_norm62(a: W) -> W { return W(a.s, shl64(a.m, u32(62 - lead64(a.m))), a.e - (62 - lead64(a.m)), a.kind); }

fn add_w(a0: W, b0: W) -> W {
  if (a0.kind == 3u || b0.kind == 3u || (a0.kind == 2u && b0.kind == 2u && a0.s != b0.s)) { return W(0u, vec2<u32>(0u, 0u), 0, 3u); }
  if (a0.kind == 2u) { return a0; }
  if (b0.kind == 2u) { return b0; }
  if (a0.kind == 0u && b0.kind == 0u) { return W(a0.s & b0.s, vec2<u32>(0u, 0u), 0, 0u); }
  if (a0.kind == 0u) { return b0; }
  if (b0.kind == 0u) { return a0; }
  var a = w_norm62(a0);
  var b = w_norm62(b0);
  if (b.e > a.e || (b.e == a.e && lt64(a.m, b.m))) { let t = a; a = b; b = t; }
  let d = u32(a.e - b.e);
  let bt = shr64(b.m, d);
  let sticky = d > 0u && lt64(shl64(bt, d), b.m);
  var r = vec2<u32>(0u, 0u);
  if (a.s == b.s) {
    r = add64(a.m, bt);
  } else {
    r = sub64(a.m, bt);
    if (sticky) { r = sub64(r, vec2<u32>(1u, 0u)); }
  }
  if (sticky) { r.x = r.x | 1u; }
  if (r.x == 0u && r.y == 0u) { return W(0u, r, 0, 0u); }
  return W(a.s, r, a.e, 1u);
}

fn round53(a: W) -> W {
  if (a.kind != 1u) { return a; }
  let p = lead64(a.m);
  if (p <= 52) { return a; }
  let sh = u32(p - 52);
  var q = shr64(a.m, sh);
  let rem = a.m.x & ((1u << sh) - 1u);
  let half = 1u << (sh - 1u);
  if (rem > half || (rem == half && (q.x & 1u) == 1u)) { q = add64(q, vec2<u32>(1u, 0u)); }
  return W(a.s, q, a.e + i32(sh), 1u);
}

fn w_to_f32(a: W) -> u32 {
  if (a.kind == 3u) { return 0x7fc00000u; }
  if (a.kind == 2u) { return (a.s << 31u) | 0x7f800000u; }
  if (a.kind == 0u) { return a.s << 31u; }
  if (a.m.y == 0u) { return f32_bits(a.s, a.m.x, a.e); }
  let k = firstLeadingBit(a.m.y) + 1u;
  if (k == 32u) { return f32_bits(a.s, a.m.y | select(0u, 1u, a.m.x != 0u), a.e + 32); }
  let sticky = select(0u, 1u, (a.m.x & ((1u << k) - 1u)) != 0u);
  return f32_bits(a.s, (a.m.y << (32u - k)) | (a.m.x >> k) | sticky, a.e + i32(k));
}

fn div_w(a: W, q: UF) -> W {
  // (m · 2^32) / q.m by 8-bit digits: the remainder stays below q.m < 2^24, so r · 256 + digit fits
  // a u32; the quotient of a ≤ 53-bit m has at most 61 bits
  let den = q.m;
  var r = 0u;
  var quo = vec2<u32>(0u, 0u);
  for (var i = 0u; i < 12u; i = i + 1u) {
    let word = select(select(0u, a.m.x, i >= 4u && i < 8u), a.m.y, i < 4u);
    let byte = (word >> ((3u - (i & 3u)) * 8u)) & 0xffu;
    let t = r * 256u + byte;
    let dg = t / den;
    r = t - dg * den;
    quo = add64(shl64(quo, 8u), vec2<u32>(dg, 0u));
  }
  if (r != 0u) { quo.x = quo.x | 1u; }
  return W(a.s ^ q.s, quo, a.e - 32 - q.e, 1u);
}

fn mul_w(a: UF, b: UF) -> W {
  let s = a.s ^ b.s;
  if (a.kind == 3u || b.kind == 3u) { return W(0u, vec2<u32>(0u, 0u), 0, 3u); }
  if (a.kind == 2u || b.kind == 2u) {
    if (a.kind == 0u || b.kind == 0u) { return W(0u, vec2<u32>(0u, 0u), 0, 3u); }
    return W(s, vec2<u32>(0u, 0u), 0, 2u);
  }
  if (a.kind == 0u || b.kind == 0u) { return W(s, vec2<u32>(0u, 0u), 0, 0u); }
  return W(s, mul_wide(a.m, b.m), a.e + b.e, 1u);
}
`;
