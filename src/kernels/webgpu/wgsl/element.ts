// WGSL encoders and decoders generated from an element descriptor, every limit baked in as a
// literal. They mirror src/formats/reference/element-codec.ts step by step on integers.
import type { ElementFormat, FloatElement, IntElement, OverflowPolicy } from '../../../formats/element.js';
import { ENCODE_ERROR } from './numeric.js';

/** A WGSL u32 literal. */
export function u32(v: number): string {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`not a u32: ${v}`);
  return `${v}u`;
}

/** A WGSL i32 literal. */
export function i32(v: number): string {
  if (!Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) throw new RangeError(`not an i32: ${v}`);
  return v < 0 ? `(${v}i)` : `${v}i`;
}

function nanCodePositive(el: FloatElement): number | null {
  if (el.nan === 'none') return null;
  const top = (2 ** el.expBits - 1) * 2 ** el.manBits;
  return el.nan === 'ieee' ? top + 2 ** (el.manBits - 1) : top + 2 ** el.manBits - 1;
}

function overflowCodePositive(el: FloatElement, policy: OverflowPolicy): number {
  if (policy === 'infinity' && el.infinity) return (2 ** el.expBits - 1) * 2 ** el.manBits;
  if (policy !== 'saturate' && el.nan !== 'none') return nanCodePositive(el)!;
  return el.topExpField * 2 ** el.manBits + el.topManField;
}

/**
 * `fn <name>(x: UF, mode: u32, u: u32) -> u32`: the code of x in `el` (encodeElement), or
 * ENCODE_ERROR where the reference throws. `overflow` is the policy for finite values above the
 * top (the reference passes `saturate` inside blocks and the element's own policy for casts).
 */
export function encoderWgsl(name: string, el: ElementFormat, overflow: OverflowPolicy): string {
  return el.kind === 'float' ? floatEncoder(name, el, overflow) : intEncoder(name, el);
}

function floatEncoder(name: string, el: FloatElement, overflow: OverflowPolicy): string {
  const m = el.manBits;
  const impl = 2 ** m;
  const signBit = el.signed ? 2 ** (el.bits - 1) : 0;
  const nan = nanCodePositive(el);
  // OFP8 saturating mode: ±Inf saturates too
  const infCode = overflowCodePositive(el, overflow === 'saturate' ? 'saturate' : el.infinity ? 'infinity' : overflow);
  const ovfCode = overflowCodePositive(el, overflow);
  const lines: string[] = [];
  lines.push(`fn ${name}(x: UF, mode: u32, u: u32) -> u32 {`);
  lines.push(`  if (x.kind == 3u) { return ${u32(nan ?? ENCODE_ERROR)}; }`);
  if (!el.signed) lines.push(`  if (x.s == 1u && x.kind != 0u) { return ${u32(ENCODE_ERROR)}; }`);
  lines.push(`  let sg = select(0u, ${u32(signBit)}, x.s == 1u);`);
  lines.push(`  if (x.kind == 2u) { return sg + ${u32(infCode)}; }`);
  lines.push(`  if (x.kind == 0u) { return ${el.zero ? 'sg' : '0u'}; }`);
  lines.push(`  var pe = x.e + 23;`);
  lines.push(`  if (pe < ${i32(el.emin)}) {`);
  if (!el.zero) {
    lines.push(`    return 0u;`);
  } else if (!el.subnormals) {
    lines.push(`    let r0 = round_shift(x.m, u32(${i32(el.emin)} - x.e), mode, u);`);
    lines.push(`    return select(sg, sg + ${u32((el.emin + el.bias) * impl)}, r0 >= 1u);`);
  } else {
    lines.push(`    pe = ${i32(el.emin)};`);
  }
  lines.push(`  }`);
  lines.push(`  var r = round_shift(x.m, u32(pe - ${i32(m)} - x.e), mode, u);`);
  lines.push(`  if (r == 0u) { return sg; }`);
  lines.push(`  if (r >= ${u32(2 * impl)}) { pe = pe + 1; r = ${u32(impl)}; }`);
  lines.push(`  var ef = 0i;`);
  lines.push(`  var man = r;`);
  lines.push(`  if (r >= ${u32(impl)}) { ef = pe + ${i32(el.bias)}; man = r - ${u32(impl)}; }`);
  // IEEE 754 §7.4: rounding toward zero (mode 2) carries a finite overflow to the largest finite value.
  const satCode = overflowCodePositive(el, 'saturate');
  lines.push(`  if (ef > ${i32(el.topExpField)} || (ef == ${i32(el.topExpField)} && man > ${u32(el.topManField)})) { return sg + select(${u32(ovfCode)}, ${u32(satCode)}, mode == 2u); }`);
  lines.push(`  return sg + u32(ef) * ${u32(impl)} + man;`);
  lines.push(`}`);
  return lines.join('\n');
}

function intEncoder(name: string, el: IntElement): string {
  const lines: string[] = [];
  lines.push(`fn ${name}(x: UF, mode: u32, u: u32) -> u32 {`);
  lines.push(`  if (x.kind == 3u) { return ${u32(ENCODE_ERROR)}; }`);
  lines.push(`  let neg = x.s == 1u;`);
  lines.push(`  var r = 0u;`);
  lines.push(`  if (x.kind == 2u) {`);
  lines.push(`    r = 0x7fffffffu;`);
  lines.push(`  } else if (x.kind == 1u) {`);
  lines.push(`    let ex = x.e + ${i32(el.fracBits)};`);
  lines.push(`    if (ex > 7) { r = 0x7fffffffu; } else if (ex >= 0) { r = x.m << u32(ex); } else { r = round_shift(x.m, u32(-ex), mode, u); }`);
  lines.push(`  }`);
  lines.push(intTail(el));
  lines.push(`}`);
  return lines.join('\n');
}

/** `fn <name>(code: u32) -> UF`: the exact value of a code (decodeElement); m is not normalised. */
export function decoderWgsl(name: string, el: ElementFormat): string {
  return el.kind === 'float' ? floatDecoder(name, el) : intDecoder(name, el);
}

function floatDecoder(name: string, el: FloatElement): string {
  const m = el.manBits;
  const impl = 2 ** m;
  const span = 2 ** (el.expBits + m);
  const topField = 2 ** el.expBits - 1;
  const lines: string[] = [];
  lines.push(`fn ${name}(code: u32) -> UF {`);
  lines.push(`  let s = ${el.signed ? `select(0u, 1u, code >= ${u32(span)})` : '0u'};`);
  lines.push(`  let c = code & ${u32(span - 1)};`);
  lines.push(`  let ef = c >> ${u32(m)};`);
  lines.push(`  let man = c & ${u32(impl - 1)};`);
  if (el.infinity || el.nan === 'ieee') {
    lines.push(`  if (ef == ${u32(topField)}) { return UF(s, 0u, 0, ${el.infinity ? 'select(3u, 2u, man == 0u)' : '3u'}); }`);
  } else if (el.nan === 'allOnes') {
    lines.push(`  if (ef == ${u32(topField)} && man == ${u32(impl - 1)}) { return UF(s, 0u, 0, 3u); }`);
  }
  if (el.subnormals) {
    lines.push(`  if (ef == 0u) { return UF(s, man, ${i32(el.emin - m)}, select(1u, 0u, man == 0u)); }`);
  } else if (el.zero) {
    lines.push(`  if (ef == 0u) { return UF(s, 0u, 0, 0u); }`);
  }
  lines.push(`  return UF(s, ${u32(impl)} + man, i32(ef) - ${i32(el.bias + m)}, 1u);`);
  lines.push(`}`);
  return lines.join('\n');
}

function intDecoder(name: string, el: IntElement): string {
  const half = 2 ** (el.bits - 1);
  const e = i32(-el.fracBits);
  const lines: string[] = [];
  lines.push(`fn ${name}(code: u32) -> UF {`);
  switch (el.encoding) {
    case 'twos':
      lines.push(`  if (code >= ${u32(half)}) { let k = ${u32(2 * half)} - code; return UF(1u, k, ${e}, 1u); }`);
      lines.push(`  return UF(0u, code, ${e}, select(1u, 0u, code == 0u));`);
      break;
    case 'signmag':
      lines.push(`  if (code >= ${u32(half)}) { let k = code - ${u32(half)}; return UF(1u, k, ${e}, select(1u, 0u, k == 0u)); }`);
      lines.push(`  return UF(0u, code, ${e}, select(1u, 0u, code == 0u));`);
      break;
    case 'offset':
      lines.push(`  if (code < ${u32(half)}) { return UF(1u, ${u32(half)} - code, ${e}, 1u); }`);
      lines.push(`  let k = code - ${u32(half)};`);
      lines.push(`  return UF(0u, k, ${e}, select(1u, 0u, k == 0u));`);
      break;
    case 'unsigned':
      lines.push(`  return UF(0u, code, ${e}, select(1u, 0u, code == 0u));`);
      break;
  }
  lines.push(`}`);
  return lines.join('\n');
}

/**
 * `fn <name>(xb: u32, d: i32, mode: u32, u: u32) -> u32`: the code of (float32 bits xb) · 2^d,
 * equal to `<slow>(uf(xb)·2^d, mode, u)` (the generic encoder above). Finite normal inputs whose
 * result needs a shift of 1…31 bits round with one add and one shift (no unpacking, no branches
 * on the data); zeros, float32 subnormals, ±∞, NaN and far-out values take the generic encoder.
 * Needs the helper `rnd_add` from {@link FAST_ROUND_WGSL}.
 */
export function fastEncoderWgsl(name: string, slow: string, el: ElementFormat, overflow: OverflowPolicy): string {
  const lines: string[] = [];
  lines.push(`fn ${name}(xb: u32, d: i32, mode: u32, u: u32) -> u32 {`);
  lines.push(`  let ex = (xb >> 23u) & 0xffu;`);
  const slowCall = `{ var x = uf_from_bits(xb); x.e = x.e + d; return ${slow}(x, mode, u); }`;
  if (el.kind === 'int') {
    lines.push(`  if (ex == 0u || ex == 255u) ${slowCall}`);
    lines.push(`  let sh = ${i32(23 - el.fracBits)} - (i32(ex) - 127 + d);`);
    lines.push(`  var r = 0u;`);
    lines.push(`  if (sh <= 0) {`);
    lines.push(`    r = 0x7fffffffu;`);
    lines.push(`  } else if (sh > 31) {`);
    lines.push(`    if (mode == 3u) ${slowCall}`);
    lines.push(`  } else {`);
    lines.push(`    let v = (xb & 0x7fffffu) | 0x800000u;`);
    lines.push(`    r = (v + rnd_add(v, u32(sh), mode, u)) >> u32(sh);`);
    lines.push(`  }`);
    lines.push(`  let neg = (xb >> 31u) == 1u;`);
    lines.push(intTail(el));
    lines.push(`}`);
    return lines.join('\n');
  }
  const m = el.manBits;
  // fast rounding needs a shift of at least one bit and parity taken from the mantissa field
  if (m === 0 || m > 22 || !el.subnormals || !el.zero) {
    lines.push(`  ${slowCall}`);
    lines.push(`}`);
    return lines.join('\n');
  }
  const signBit = el.signed ? 2 ** (el.bits - 1) : 0;
  const maxField = el.topExpField * 2 ** m + el.topManField;
  const ovfCode = overflowCodePositive(el, overflow);
  const satCode = overflowCodePositive(el, 'saturate');
  lines.push(`  if (ex == 0u || ex == 255u${el.signed ? '' : ' || (xb >> 31u) == 1u'}) ${slowCall}`);
  lines.push(`  let sg = select(0u, ${u32(signBit)}, (xb >> 31u) == 1u);`);
  lines.push(`  let pe = i32(ex) - 127 + d;`);
  lines.push(`  if (pe > ${i32(el.topExpField - el.bias)}) { return sg + select(${u32(ovfCode)}, ${u32(satCode)}, mode == 2u); }`);
  lines.push(`  var v = (xb & 0x7fffffu) | 0x800000u;`);
  lines.push(`  var sh = ${u32(23 - m)};`);
  lines.push(`  if (pe >= ${i32(el.emin)}) {`);
  lines.push(`    v = (u32(pe + ${i32(el.bias)}) << 23u) | (xb & 0x7fffffu);`);
  lines.push(`  } else {`);
  lines.push(`    let s2 = ${i32(23 + el.emin - m)} - pe;`);
  // below 2^-8 of the smallest subnormal: zero under rne/rna/rtz; stochastic may still round up
  lines.push(`    if (s2 > 31) { if (mode == 3u) ${slowCall} return sg; }`);
  lines.push(`    sh = u32(s2);`);
  lines.push(`  }`);
  lines.push(`  let r = (v + rnd_add(v, sh, mode, u)) >> sh;`);
  lines.push(`  if (r > ${u32(maxField)}) { return sg + select(${u32(ovfCode)}, ${u32(satCode)}, mode == 2u); }`);
  lines.push(`  return sg + r;`);
  lines.push(`}`);
  return lines.join('\n');
}

function intTail(el: IntElement): string {
  const half = 2 ** (el.bits - 1);
  switch (el.encoding) {
    case 'twos':
      return `  let k = min(r, ${u32(el.kMax)});
  return select(k, ${u32(2 * half)} - k, neg && k > 0u);`;
    case 'signmag':
      return `  let k = min(r, ${u32(el.kMax)});
  return select(k, ${u32(half)} + k, neg);`;
    case 'offset':
      return `  if (neg) { return ${u32(half)} - min(r, ${u32(-el.kMin)}); }
  return ${u32(half)} + min(r, ${u32(el.kMax)});`;
    case 'unsigned':
      return `  return select(min(r, ${u32(el.kMax)}), 0u, neg);`;
  }
}

/** `rnd_add(v, sh, mode, u)`: what to add to v before `>> sh` (1 ≤ sh ≤ 31) so the shift rounds
 * by `mode`; for stochastic, the add carries exactly when u/2^32 < (v mod 2^sh)/2^sh. */
export const FAST_ROUND_WGSL = `
fn rnd_add(v: u32, sh: u32, mode: u32, u: u32) -> u32 {
  let half = 1u << (sh - 1u);
  if (mode == 0u) { return half - 1u + ((v >> sh) & 1u); }
  if (mode == 1u) { return half; }
  if (mode == 2u) { return 0u; }
  return ((1u << sh) - 1u) - (u >> (32u - sh));
}
`;

/**
 * `fn <name>(code: u32, k: i32) -> u32`: float32 bits of value(code) · 2^k rounded once, equal to
 * `f32_bits` of the generic decoder; codes whose result is a normal float32 are assembled directly.
 */
export function fastDecoderWgsl(name: string, slow: string, el: ElementFormat): string {
  const lines: string[] = [];
  lines.push(`fn ${name}(code: u32, k: i32) -> u32 {`);
  const slowCall = `{ let v = ${slow}(code); if (v.kind != 1u) { return uf_to_bits(v); } return f32_bits(v.s, v.m, v.e + k); }`;
  if (el.kind === 'int') {
    lines.push(`  let v = ${slow}(code);`);
    lines.push(`  if (v.kind != 1u) { return uf_to_bits(v); }`);
    lines.push(`  let p = firstLeadingBit(v.m);`);
    lines.push(`  let e = i32(p) + v.e + k;`);
    lines.push(`  if (e < -126 || e > 127) { return f32_bits(v.s, v.m, v.e + k); }`);
    lines.push(`  return (v.s << 31u) | (u32(e + 127) << 23u) | ((v.m << (23u - p)) & 0x7fffffu);`);
    lines.push(`}`);
    return lines.join('\n');
  }
  const m = el.manBits;
  const span = 2 ** (el.expBits + m);
  const topField = 2 ** el.expBits - 1;
  const special = el.infinity || el.nan !== 'none';
  lines.push(`  let c = code & ${u32(span - 1)};`);
  lines.push(`  let ef = c >> ${u32(m)};`);
  lines.push(`  if (ef == 0u${special ? ` || ef == ${u32(topField)}` : ''}) ${slowCall}`);
  lines.push(`  let e = i32(ef) - ${i32(el.bias)} + k;`);
  lines.push(`  if (e < -126 || e > 127) ${slowCall}`);
  lines.push(`  let s = ${el.signed ? `select(0u, 0x80000000u, code >= ${u32(span)})` : '0u'};`);
  lines.push(`  return s | (u32(e + 127) << 23u) | ((c & ${u32(2 ** m - 1)}) << ${u32(23 - m)});`);
  lines.push(`}`);
  return lines.join('\n');
}

/**
 * `fn enc_lean(xb: u32, d: i32) -> u32`: the RNE code of (float32 bits xb) · 2^d, with a single
 * add-and-shift for values that are normal in the element (floats) or need a 1…31-bit shift
 * (integers), and LEAN_MISS for everything else. Null when the element has no such path (no
 * mantissa bits, no subnormals, unsigned).
 */
export function leanEncoderWgsl(p: { element: ElementFormat; overflow: OverflowPolicy }): string | null {
  const el = p.element;
  const lines: string[] = ['fn enc_lean(xb: u32, d: i32) -> u32 {', '  let abs = xb & 0x7fffffffu;'];
  if (el.kind === 'float') {
    const m = el.manBits;
    if (m === 0 || m > 22 || !el.subnormals || !el.zero || !el.signed) return null;
    const tope = el.topExpField - el.bias;
    const sh = 23 - m;
    lines.push(`  let t = i32(abs >> 23u) + d - ${i32(127 + el.emin)};`);
    lines.push(`  if (abs >= 0x00800000u && u32(t) <= ${u32(tope - el.emin)}) {`);
    lines.push(`    let v = abs + bitcast<u32>((d + ${i32(el.bias - 127)}) << 23u);`);
    const maxField = el.topExpField * 2 ** m + el.topManField;
    const ovf = overflowCodePositive(el, p.overflow);
    lines.push(`    let r0 = (v + ${u32(2 ** (sh - 1) - 1)} + ((v >> ${u32(sh)}) & 1u)) >> ${u32(sh)};`);
    lines.push(
      ovf === maxField ? `    let r = min(r0, ${u32(maxField)});` : `    let r = select(r0, ${u32(ovf)}, r0 > ${u32(maxField)});`,
    );
    lines.push(`    return ((xb >> 31u) << ${u32(el.bits - 1)}) | r;`);
    lines.push(`  }`);
    // below the element's normal range: a variable shift of the 24-bit significand; zeros and
    // values under 2^-8 of the smallest subnormal give a signed zero
    lines.push(`  let sg = (xb >> 31u) << ${u32(el.bits - 1)};`);
    lines.push(`  if (abs == 0u) { return sg; }`);
    lines.push(`  if (abs >= 0x00800000u && t < 0) {`);
    lines.push(`    let s2 = ${i32(23 - m)} - t;`);
    lines.push(`    if (s2 > 31) { return sg; }`);
    lines.push(`    let v = (abs & 0x7fffffu) | 0x800000u;`);
    lines.push(`    return sg | ((v + ((1u << u32(s2 - 1)) - 1u) + ((v >> u32(s2)) & 1u)) >> u32(s2));`);
    lines.push(`  }`);
  } else {
    lines.push(`  let sh = ${i32(23 - el.fracBits + 127)} - d - i32(abs >> 23u);`);
    lines.push(`  if ((abs >= 0x00800000u && abs < 0x7f800000u) || abs == 0u) {`);
    lines.push(`    var r = 0u;`);
    lines.push(`    if (abs != 0u && sh <= 0) { r = 0x7fffffffu; }`);
    lines.push(`    if (abs != 0u && u32(sh - 1) < 31u) {`);
    lines.push(`      let v = (abs & 0x7fffffu) | 0x800000u;`);
    lines.push(`      r = (v + ((1u << u32(sh - 1)) - 1u) + ((v >> u32(sh)) & 1u)) >> u32(sh);`);
    lines.push(`    }`);
    lines.push(`    let neg = (xb >> 31u) == 1u;`);
    lines.push(intTail(el).replace(/^/gm, '  '));
    lines.push(`  }`);
  }
  lines.push(`  return ${u32(LEAN_MISS)};`);
  lines.push(`}`);
  return lines.join('\n');
}

/** What enc_lean returns for a value outside its range (the caller encodes it generically). */
export const LEAN_MISS = 0xfffffffe;
