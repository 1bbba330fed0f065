// A second, independent oracle for the format core. It shares no code with src/formats/reference:
// element values are read from the bit fields named by the descriptor parameters, encoding is a
// nearest search over the sorted grid of every code, and the block quantizers are written from
// docs/specification.md (§3, §4, §5, §6) and from the documented steps of the scaled
// quantizer. Only descriptor *data* (Format, ElementFormat) is taken from the core.
import type { ElementFormat, Format } from '../../src/index.js';

export type OracleRounding = 'rne' | 'rna' | 'rtz' | 'stochastic';

// ------------------------------------------------------------------------------- exact helpers

const POW2_LO = -1074;
const POW2_TABLE: Float64Array = (() => {
  const t = new Float64Array(1023 - POW2_LO + 1);
  let v = 1;
  for (let k = 0; k <= 1023; k++, v *= 2) t[k - POW2_LO] = v;
  v = 1;
  for (let k = 0; k >= POW2_LO; k--, v /= 2) t[k - POW2_LO] = v;
  return t;
})();

/** Exactly 2^k (0 below 2^−1074, Infinity above 2^1023); built by repeated doubling and halving. */
export function twoTo(k: number): number {
  if (k < POW2_LO) return 0;
  if (k > 1023) return Infinity;
  return POW2_TABLE[k - POW2_LO]!;
}

/** ⌊log2 v⌋ for finite v > 0, by binary search over exact powers of two (no log2, no bit fields). */
export function floorLog2(v: number): number {
  let lo = POW2_LO;
  let hi = 1023;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (twoTo(mid) <= v) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

const f32view = new DataView(new ArrayBuffer(4));

/** The binary32 bit pattern of a number (rounded to float32 first). */
export function f32Bits(v: number): number {
  f32view.setFloat32(0, v, true);
  return f32view.getUint32(0, true);
}

/** The float32 whose bit pattern is `bits`. */
export function bitsF32(bits: number): number {
  f32view.setUint32(0, bits >>> 0, true);
  return f32view.getFloat32(0, true);
}

const fr = Math.fround;

/** Unpack `count` codes of `bits` bits from a least-significant-bit-first little-endian stream. */
export function unpackLsbFirst(bytes: Uint8Array, bits: number, count: number): Uint32Array {
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    let v = 0;
    for (let b = 0; b < bits; b++) {
      const pos = i * bits + b;
      if ((bytes[pos >> 3]! >> (pos & 7)) & 1) v += 2 ** b;
    }
    out[i] = v;
  }
  return out;
}

/** Pack codes into the LSB-first stream (used to build tensors holding every code). */
export function packLsbFirst(codes: ArrayLike<number>, bits: number): Uint8Array {
  const out = new Uint8Array(Math.ceil((codes.length * bits) / 8));
  for (let i = 0; i < codes.length; i++) {
    for (let b = 0; b < bits; b++) {
      if (Math.floor(codes[i]! / 2 ** b) % 2) {
        const pos = i * bits + b;
        out[pos >> 3]! |= 1 << (pos & 7);
      }
    }
  }
  return out;
}

/** Counter-based uniform in [0,1) of stochastic rounding, from its documented definition:
 * lowbias32 applied to (seed ^ 0x9e3779b9), xored with the flat element index, mixed again, / 2^32. */
export function uniformFor(seed: number, index: number): number {
  const mix = (x: number): number => {
    x = (x ^ (x >>> 16)) >>> 0;
    x = Math.imul(x, 0x7feb352d) >>> 0;
    x = (x ^ (x >>> 15)) >>> 0;
    x = Math.imul(x, 0x846ca68b) >>> 0;
    return (x ^ (x >>> 16)) >>> 0;
  };
  return mix((mix((seed ^ 0x9e3779b9) >>> 0) ^ (index >>> 0)) >>> 0) / 4294967296;
}

// ------------------------------------------------------------------------------- element tables

/** One sign's encodable grid: ascending magnitudes and the canonical code of each. */
interface Side {
  readonly mags: Float64Array;
  readonly codes: Int32Array;
}

/** Everything the oracle knows about one element, enumerated from its parameters. */
export interface ElementTable {
  readonly el: ElementFormat;
  readonly codeCount: number;
  /** Exact value of every code (NaN, ±Infinity, −0 included). */
  readonly values: Float64Array;
  /** Codes the encoder may produce for a finite value (two's complement's most negative code is decode-only). */
  readonly encodable: Uint8Array;
  readonly pos: Side;
  /** Magnitudes of the negative side (zero as −0 when a −0 code exists); empty for unsigned floats. */
  readonly neg: Side;
  readonly hasNaN: boolean;
  readonly nanCode: number;
  readonly posInfCode: number;
  readonly negInfCode: number;
  /** Whether negative inputs are rejected (unsigned floats) rather than clamped to zero (unsigned ints). */
  readonly rejectsNegative: boolean;
  /** Whether a −0 code exists. */
  readonly hasNegZero: boolean;
  /** Largest finite positive value the encoder produces. */
  readonly maxValue: number;
  /** Most negative finite value the encoder produces (0 for unsigned). */
  readonly minValue: number;
  /** Spacing of the top binade (floats) or the integer step: where the grid would continue. */
  readonly topGap: number;
}

function decodeFloatCode(el: Extract<ElementFormat, { kind: 'float' }>, code: number): number {
  const M = el.manBits;
  const E = el.expBits;
  const manMask = 2 ** M;
  const expAll = 2 ** E - 1;
  const f = code % manMask;
  const e = Math.floor(code / manMask) % (expAll + 1);
  const negative = el.signed && code >= 2 ** (E + M);
  let v: number;
  const topReserved = el.infinity || el.nan === 'ieee';
  if (topReserved && e === expAll) {
    v = f === 0 && el.infinity ? Infinity : NaN;
  } else if (el.nan === 'allOnes' && e === expAll && f === manMask - 1) {
    v = NaN;
  } else if (e === 0 && el.subnormals) {
    v = f * twoTo(1 - el.bias - M);
  } else if (e === 0 && el.zero) {
    v = 0; // no subnormals: every e = 0 pattern reads as zero
  } else {
    v = (manMask + f) * twoTo(e - el.bias - M);
  }
  return negative ? -v : v;
}

function decodeIntCode(el: Extract<ElementFormat, { kind: 'int' }>, code: number): number {
  const half = 2 ** (el.bits - 1);
  const unit = twoTo(-el.fracBits);
  switch (el.encoding) {
    case 'twos':
      return (code >= half ? code - 2 * half : code) * unit;
    case 'signmag':
      return code >= half ? -((code - half) * unit) : code * unit;
    case 'offset':
      return (code - half) * unit;
    case 'unsigned':
      return code * unit;
  }
}

/** Exact value of `code` of `el`, read from its bit fields. */
export function decodeCode(el: ElementFormat, code: number): number {
  return el.kind === 'float' ? decodeFloatCode(el, code) : decodeIntCode(el, code);
}

const tableCache = new Map<string, ElementTable>();
const tableByObject = new WeakMap<ElementFormat, ElementTable>();

function cacheKey(el: ElementFormat): string {
  return el.kind === 'float'
    ? `f:${el.expBits}:${el.manBits}:${el.bias}:${el.signed}:${el.infinity}:${el.nan}:${el.subnormals}:${el.zero}`
    : `i:${el.bits}:${el.fracBits}:${el.encoding}`;
}

/** Value bits of a code (sign included): floats count e + m (+1 when signed), ints their width. */
function codeBits(el: ElementFormat): number {
  return el.kind === 'float' ? el.expBits + el.manBits + (el.signed ? 1 : 0) : el.bits;
}

/** Enumerate every code of an element of at most 16 bits (cached by parameters). */
export function elementTable(el: ElementFormat): ElementTable {
  const quick = tableByObject.get(el);
  if (quick) return quick;
  const key = cacheKey(el);
  const hit = tableCache.get(key);
  if (hit) {
    tableByObject.set(el, hit);
    return hit;
  }
  const bits = codeBits(el);
  if (bits > 16) throw new RangeError(`the enumeration oracle handles elements of at most 16 bits; ${el.name} has ${bits}`);
  const count = 2 ** bits;
  const values = new Float64Array(count);
  const encodable = new Uint8Array(count);
  let nanCode = -1;
  let posInf = -1;
  let negInf = -1;
  for (let c = 0; c < count; c++) {
    const v = decodeCode(el, c);
    values[c] = v;
    if (v !== v) {
      if (nanCode < 0) nanCode = c;
      continue;
    }
    if (v === Infinity) {
      posInf = c;
      continue;
    }
    if (v === -Infinity) {
      negInf = c;
      continue;
    }
    encodable[c] = 1;
  }
  if (el.kind === 'int' && el.encoding === 'twos') encodable[2 ** (el.bits - 1)] = 0; // symmetric encode (docs/specification.md §1.2)
  // Canonical code of a value: the smallest code of that value and sign (e.g. the zero pattern
  // among flushed subnormals).
  const posMap = new Map<number, number>();
  const negMap = new Map<number, number>();
  let hasNegZero = false;
  for (let c = 0; c < count; c++) {
    if (!encodable[c]) continue;
    const v = values[c]!;
    const isNeg = v < 0 || Object.is(v, -0);
    if (Object.is(v, -0)) hasNegZero = true;
    const map = isNeg ? negMap : posMap;
    const m = Math.abs(v);
    if (!map.has(m)) map.set(m, c);
  }
  const unsignedFloat = el.kind === 'float' && !el.signed;
  // The negative side reaches zero through −0 when it exists, otherwise through +0 (two's
  // complement, offset and unsigned integers all turn a negative value that rounds to 0 into +0).
  if (!unsignedFloat && !negMap.has(0) && posMap.has(0)) negMap.set(0, posMap.get(0)!);
  const side = (map: Map<number, number>): Side => {
    const mags = [...map.keys()].sort((a, b) => a - b);
    return { mags: Float64Array.from(mags), codes: Int32Array.from(mags, (m) => map.get(m)!) };
  };
  const pos = side(posMap);
  const neg = side(negMap);
  const maxValue = pos.mags[pos.mags.length - 1]!;
  const minValue = neg.mags.length ? -neg.mags[neg.mags.length - 1]! : 0;
  let topGap: number;
  if (el.kind === 'float') {
    const topCode = pos.codes[pos.codes.length - 1]!;
    const e = Math.floor(topCode / 2 ** el.manBits) % 2 ** el.expBits;
    topGap = twoTo(Math.max(e, 1) - el.bias - el.manBits);
  } else {
    topGap = twoTo(-el.fracBits);
  }
  const t: ElementTable = {
    el,
    codeCount: count,
    values,
    encodable,
    pos,
    neg,
    hasNaN: nanCode >= 0,
    nanCode,
    posInfCode: posInf,
    negInfCode: negInf,
    rejectsNegative: unsignedFloat,
    hasNegZero,
    maxValue,
    minValue,
    topGap,
  };
  tableCache.set(key, t);
  tableByObject.set(el, t);
  return t;
}

const twins = new WeakMap<ElementFormat, ElementFormat>();

/** A signed-integer element read the way the microxcaling emulator stores it: sign-magnitude. */
function signMagnitudeTwin(el: ElementFormat): ElementFormat {
  if (el.kind !== 'int' || el.encoding !== 'twos') return el;
  let twin = twins.get(el);
  if (!twin) {
    twin = { ...el, encoding: 'signmag', name: `${el.name}~signmag` };
    twins.set(el, twin);
  }
  return twin;
}

// ------------------------------------------------------------------------------- scalar encode

/** Overflow treatment of a finite magnitude beyond the grid: clamp (block formats) or the
 * element's own policy (plain casts). */
export type Overflow = 'saturate' | 'infinity' | 'nan';

export class OracleEncodingError extends Error {}

/** Result of encoding one value. */
export interface Encoded {
  readonly code: number;
  readonly value: number;
}

function pick(lo: number, hi: number, m: number, mode: OracleRounding, u: number): 'lo' | 'hi' {
  if (m === lo) return 'lo';
  const gap = hi - lo;
  switch (mode) {
    case 'rtz':
      return 'lo';
    case 'stochastic':
      return u < (m - lo) / gap ? 'hi' : 'lo';
    case 'rna':
    case 'rne': {
      const dLo = m - lo;
      const dHi = hi - m;
      if (dLo < dHi) return 'lo';
      if (dHi < dLo) return 'hi';
      if (mode === 'rna') return 'hi';
      // Ties to even: the neighbour that is an even multiple of the gap between the two. That is
      // the code with an even last bit whenever both share a binade with ≥ 1 mantissa bit; for
      // codes without mantissa bits (E8M0-like) it is the larger one (significand 1.1₂ → 10₂), and
      // below the smallest normal of a format without subnormals it is zero.
      const loEven = (lo / gap) % 2 === 0;
      const hiEven = (hi / gap) % 2 === 0;
      if (loEven === hiEven) throw new Error(`oracle: tie between ${lo} and ${hi} has no even neighbour`);
      return loEven ? 'lo' : 'hi';
    }
  }
}

/**
 * Encode `a` into `el` by nearest search over the sorted grid of its codes. `overflow` applies to
 * finite magnitudes whose rounding leaves the grid (as if the top binade continued); `saturate`
 * clamps. Under `rtz` an overflow gives the largest finite value (IEEE 754 §7.4).
 */
export function encodeValue(el: ElementFormat, a: number, mode: OracleRounding, u = 0, overflow: Overflow = 'saturate'): Encoded {
  const t = elementTable(el);
  const negative = a < 0 || Object.is(a, -0);
  if (a !== a) {
    if (!t.hasNaN) throw new OracleEncodingError(`${el.name} has no NaN`);
    return { code: t.nanCode, value: NaN };
  }
  if (negative && a !== 0 && t.rejectsNegative) throw new OracleEncodingError(`${el.name} is unsigned`);
  const side = negative && !t.rejectsNegative ? t.neg : t.pos;
  const sign = negative && !t.rejectsNegative ? -1 : 1;
  const top = side.mags.length - 1;
  const result = (i: number): Encoded => {
    const code = side.codes[i]!;
    return { code, value: t.values[code]! };
  };
  const overflowed = (): Encoded => {
    if (mode !== 'rtz' && overflow === 'infinity' && t.posInfCode >= 0) {
      const code = sign < 0 ? t.negInfCode : t.posInfCode;
      return { code, value: sign * Infinity };
    }
    if (mode !== 'rtz' && overflow !== 'saturate' && t.hasNaN) return { code: t.nanCode, value: NaN };
    return result(top);
  };
  const m = Math.abs(a);
  if (m === Infinity) {
    // OFP8 saturating mode clamps ±Inf to the largest finite magnitude as well
    if (overflow === 'saturate') return result(top);
    if (t.posInfCode >= 0) return { code: sign < 0 ? t.negInfCode : t.posInfCode, value: sign * Infinity };
    if (!t.hasNaN) return result(top);
    return { code: t.nanCode, value: NaN };
  }
  if (m <= side.mags[0]!) {
    if (m === side.mags[0] || side.mags[0]! > 0) return result(0); // no zero (E8M0): the lowest code
  }
  if (m >= side.mags[top]!) {
    if (overflow === 'saturate') return result(top);
    const next = side.mags[top]! + t.topGap;
    if (m >= next) return overflowed();
    return pick(side.mags[top]!, next, m, mode, u) === 'lo' ? result(top) : overflowed();
  }
  // side.mags[i] <= m < side.mags[i + 1]
  let lo = 0;
  let hi = top;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (side.mags[mid]! <= m) lo = mid;
    else hi = mid;
  }
  return pick(side.mags[lo]!, side.mags[hi]!, m, mode, u) === 'lo' ? result(lo) : result(hi);
}

/** The largest power-of-two exponent ≤ the element's largest magnitude (OCP `emax_elem`). */
export function elementEmax(el: ElementFormat): number {
  return floorLog2(elementTable(el).maxValue);
}

/** Bits below the leading bit of values in the element's top binade (the EVEN rule's width). */
export function elementTopPrecision(el: ElementFormat): number {
  if (el.kind === 'float') return el.manBits;
  return elementEmax(el) + el.fracBits;
}

// ------------------------------------------------------------------------------- block quantizers

/** Options the oracle understands: the public QuantizeOptions, resolved by the oracle itself. */
export interface OracleOptions {
  shape?: readonly number[];
  axis?: number;
  blockSize?: number;
  rounding?: OracleRounding;
  seed?: number;
  scaleMode?: 'floor' | 'ceil' | 'even' | 'rceil';
  scaleBits?: number;
  preset?: 'ocp' | 'microxcaling' | 'torchao' | 'ggml';
  flushSubnormalBlocks?: boolean;
  scaleUpperBound?: number;
  tensorScale?: number;
}

/** What the oracle predicts for one tensor. */
export interface OracleResult {
  /** fakeQuantize output as float32. */
  readonly values: Float32Array;
  /** Decoded level-1 scale of every block in storage order (NaN for a NaN block); empty for casts. */
  readonly scales: Float64Array;
  /** Per-tensor scale (NVFP4), 1 otherwise. */
  readonly tensorScale: number;
  /** Contract breaches the oracle saw while following the documented steps (e.g. a finite block
   * whose float32 steps overflow to NaN); each is a failure of the format core, not of the oracle. */
  readonly violations: string[];
}

interface Geometry {
  rows: number;
  rowLength: number;
  blockSize: number;
  blocksPerRow: number;
  /** Flat index in the input of element `l` of row `r`. */
  index(r: number, l: number): number;
}

function geometry(format: Format, n: number, o: OracleOptions): Geometry {
  const shape = o.shape ?? [n];
  const rank = shape.length;
  let axis = o.axis ?? rank - 1;
  if (axis < 0) axis += rank;
  let rowLength: number;
  let inner: number;
  if (format.granularity === 'tensor' || format.granularity === 'element') {
    rowLength = n;
    inner = 1;
  } else {
    rowLength = shape[axis]!;
    inner = 1;
    for (let d = axis + 1; d < rank; d++) inner *= shape[d]!;
  }
  const rows = rowLength === 0 ? 0 : n / rowLength;
  let blockSize: number;
  if (format.granularity === 'element') blockSize = 1;
  else if (format.granularity === 'block') blockSize = (o.blockSize ?? format.blockSize) || rowLength;
  else blockSize = rowLength;
  return {
    rows,
    rowLength,
    blockSize,
    blocksPerRow: rowLength === 0 || blockSize === 0 ? 0 : Math.ceil(rowLength / blockSize),
    index: (r, l) => {
      const outer = Math.floor(r / inner);
      const i = r - outer * inner;
      return (outer * rowLength + l) * inner + i;
    },
  };
}

/** Predict fakeQuantize(x, format, opts) and the block scales, independently of the core. */
export function oracleQuantize(x: Float32Array, format: Format, opts: OracleOptions = {}): OracleResult {
  const preset = opts.preset ?? 'ocp';
  const rounding: OracleRounding = opts.rounding ?? (preset === 'microxcaling' ? 'rna' : 'rne');
  const seed = opts.seed ?? 0;
  const out = new Float32Array(x.length);
  if (format.scheme === 'cast') {
    const el = format.element;
    if (el.kind === 'float' && el.expBits === 8 && el.manBits === 23) {
      out.set(x); // fp32 cast of float32 input: the identity
      return { values: out, scales: new Float64Array(0), tensorScale: 1, violations: [] };
    }
    const overflow: Overflow = el.kind === 'float' ? el.overflow : 'saturate';
    for (let i = 0; i < x.length; i++) out[i] = encodeValue(el, x[i]!, rounding, rounding === 'stochastic' ? uniformFor(seed, i) : 0, overflow).value;
    return { values: out, scales: new Float64Array(0), tensorScale: 1, violations: [] };
  }
  const g = geometry(format, x.length, opts);
  const scales = new Float64Array(g.rows * g.blocksPerRow);
  const tensorScale = format.tensorScale ? (opts.tensorScale ?? nvfp4TensorScale(x, format)) : 1;
  const violations: string[] = [];
  const vals = new Float64Array(g.blockSize);
  const idx = new Int32Array(g.blockSize);
  const res = new Float64Array(g.blockSize);
  for (let r = 0; r < g.rows; r++) {
    for (let b = 0; b < g.blocksPerRow; b++) {
      const start = b * g.blockSize;
      const len = Math.min(g.blockSize, g.rowLength - start);
      for (let j = 0; j < len; j++) {
        idx[j] = g.index(r, start + j);
        vals[j] = x[idx[j]!]!;
      }
      const blk: Block = { vals, idx, len, out: res, rounding, seed, violations };
      let scale: number;
      if (format.scheme === 'pow2') {
        scale = preset === 'ggml' ? ggmlMxfp4Block(format, blk) : pow2Block(format, blk, opts, preset);
      } else if (preset === 'ggml') {
        scale = format.element.kind === 'float' ? ggmlNvfp4Block(blk) : ggmlIntBlock(format, blk);
      } else {
        scale = scaledBlock(format, blk, opts, preset, tensorScale);
      }
      scales[r * g.blocksPerRow + b] = scale;
      for (let j = 0; j < len; j++) out[idx[j]!] = res[j]!;
    }
  }
  return { values: out, scales, tensorScale, violations };
}

interface Block {
  readonly vals: Float64Array;
  readonly idx: Int32Array;
  readonly len: number;
  /** Output values (exact; stored to float32 by the caller). */
  readonly out: Float64Array;
  readonly rounding: OracleRounding;
  readonly seed: number;
  readonly violations: string[];
}

function blockIsFinite(blk: Block): boolean {
  for (let j = 0; j < blk.len; j++) if (!Number.isFinite(blk.vals[j]!)) return false;
  return true;
}

function blockAmax(blk: Block): number {
  let m = 0;
  for (let j = 0; j < blk.len; j++) m = Math.max(m, Math.abs(blk.vals[j]!));
  return m;
}

function fillNaN(blk: Block): number {
  for (let j = 0; j < blk.len; j++) blk.out[j] = NaN;
  return NaN;
}

function uAt(blk: Block, j: number): number {
  return blk.rounding === 'stochastic' ? uniformFor(blk.seed, blk.idx[j]!) : 0;
}

/**
 * Power-of-two block (OCP MX §2.5 with the §3.1 scale rules; BDR §1.5 with microexponents):
 * any NaN/Inf → NaN block; all-zero block → smallest scale and +0 elements; otherwise
 * X = 2^s from the rule, clamped below at −(2^(w−1)−1), NaN above +(2^(w−1)−1).
 */
function pow2Block(format: Format, blk: Block, opts: OracleOptions, preset: string): number {
  const micro = preset === 'microxcaling';
  const el = micro ? signMagnitudeTwin(format.element) : format.element;
  const w = opts.scaleBits ?? format.scaleElement!.bits;
  const sMax = 2 ** (w - 1) - 1;
  const emax = elementEmax(el);
  if (!blockIsFinite(blk)) return fillNaN(blk);
  const amax = blockAmax(blk);
  if (amax === 0 || (opts.flushSubnormalBlocks && amax < twoTo(-126))) {
    // OCP keeps each zero's sign in an all-zero block; microxcaling and flushed blocks give +0.
    const keepSign = !micro && amax === 0;
    for (let j = 0; j < blk.len; j++) blk.out[j] = keepSign && canHoldNegativeZero(el) ? blk.vals[j]! * 0 : 0;
    // microxcaling takes the scale of amax = 2^−126 for such blocks (MICROXCALING.md); OCP the smallest.
    return twoTo(micro ? Math.max(-126 - emax, -sMax) : -sMax);
  }
  const E = floorLog2(amax);
  let s: number;
  switch (opts.scaleMode ?? 'floor') {
    case 'floor':
      s = E - emax;
      break;
    case 'ceil':
      s = (amax === twoTo(E) ? E : E + 1) - emax;
      break;
    case 'even': {
      // Round amax half-up to the element's precision; a carry into the next binade raises E.
      const carry = amax >= twoTo(E + 1) - twoTo(E - elementTopPrecision(el) - 1);
      s = (carry ? E + 1 : E) - emax;
      break;
    }
    case 'rceil': {
      // Smallest s with maxValue·2^s ≥ amax.
      const maxV = elementTable(el).maxValue;
      s = E - emax - 2;
      while (maxV * twoTo(s) < amax) s++;
      break;
    }
  }
  if (s > sMax) return fillNaN(blk);
  if (s < -sMax) s = -sMax;
  const sub = format.subBlock;
  const k2 = sub ? sub.size : blk.len;
  const tauMax = sub ? 2 ** sub.bits - 1 : 0;
  for (let j0 = 0; j0 < blk.len; j0 += k2) {
    const end = Math.min(j0 + k2, blk.len);
    let tau = 0;
    if (sub) {
      let m = 0;
      for (let j = j0; j < end; j++) m = Math.max(m, Math.abs(blk.vals[j]!));
      tau = m === 0 ? tauMax : Math.min(s + emax - floorLog2(m), tauMax);
    }
    const down = twoTo(tau - s);
    const up = twoTo(s - tau);
    for (let j = j0; j < end; j++) {
      let a = blk.vals[j]! * down;
      if (micro) {
        a = fr(a);
        if (a === 0) a = 0;
      }
      blk.out[j] = encodeValue(el, a, blk.rounding, uAt(blk, j)).value * up;
    }
  }
  return twoTo(s);
}

/** Whether the element has a −0 code (floats and sign-magnitude integers). */
function canHoldNegativeZero(el: ElementFormat): boolean {
  return el.kind === 'float' ? el.signed : el.encoding === 'signmag';
}

/** NVFP4's default per-tensor scale: max finite |x| / (element max · scale max) in float32. */
function nvfp4TensorScale(x: Float32Array, format: Format): number {
  let amax = 0;
  for (let i = 0; i < x.length; i++) if (Number.isFinite(x[i]!)) amax = Math.max(amax, Math.abs(x[i]!));
  if (amax === 0) return 1;
  const denom = fr(elementTable(format.element).maxValue * elementTable(format.scaleElement!).maxValue);
  return Math.max(fr(amax / denom), twoTo(-149));
}

/** Encode a scale into the scale element with RNE (fp32 scales hold the float32 value itself). */
function encodeScale(el: ElementFormat, v: number, overflow: Overflow = 'saturate'): number {
  if (el.kind === 'float' && el.expBits === 8 && el.manBits === 23) return fr(v);
  return encodeValue(el, v, 'rne', 0, overflow).value;
}

/** Largest magnitude (and the first value reaching it, with its sign), minimum and maximum of a block. */
function blockStats(blk: Block): { amax: number; signedMax: number; lo: number; hi: number } {
  let amax = 0;
  let signedMax = 0;
  let lo = Infinity;
  let hi = -Infinity;
  for (let j = 0; j < blk.len; j++) {
    const v = blk.vals[j]!;
    if (Math.abs(v) > amax) {
      amax = Math.abs(v);
      signedMax = v;
    }
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  return { amax, signedMax, lo, hi };
}

/**
 * Multiplicative-scale block (software formats, NVFP4, ggml types outside the ggml preset), as the
 * reference documents it: float32 steps, scale d from the block statistics, clamped, encoded with
 * RNE into the scale element; elements = RNE(x / (tensorScale·d)) saturated; affine rows subtract
 * their encoded minimum first.
 */
function scaledBlock(format: Format, blk: Block, opts: OracleOptions, preset: string, tensorScale: number): number {
  const el = format.element;
  const scaleEl = format.scaleElement!;
  const t = elementTable(el);
  if (!blockIsFinite(blk)) return fillNaN(blk);
  const { amax, signedMax, lo, hi } = blockStats(blk);
  let d: number;
  let offset = 0;
  const rule = format.scaleRule!;
  if (rule === 'absmax') {
    const bound = opts.scaleUpperBound ?? format.amaxUpperBound;
    d = fr((bound !== null ? Math.min(amax, bound) : amax) / t.maxValue);
    if (format.tensorScale) d = fr(d / tensorScale);
  } else if (rule === 'signedMax') {
    d = fr(signedMax / -Math.abs(t.minValue));
  } else {
    d = fr((hi - lo) / t.maxValue); // exact float64 difference, one rounding
    offset = lo;
  }
  if (format.scaleClamp) d = Math.min(Math.max(d, format.scaleClamp[0]), format.scaleClamp[1]);
  if (preset === 'torchao' && format.tensorScale) d = Math.max(d, twoTo(-6));
  const dq = encodeScale(scaleEl, d);
  const total = format.tensorScale ? fr(tensorScale * dq) : dq;
  const offq = rule === 'minMax' ? encodeScale(scaleEl, offset) : 0;
  for (let j = 0; j < blk.len; j++) {
    const v = blk.vals[j]!;
    const centred = rule === 'minMax' ? fr(v - offq) : v;
    const a = total === 0 ? centred * 0 : fr(centred / total);
    const q = a !== a ? NaN : encodeValue(el, a, blk.rounding, uAt(blk, j)).value;
    const y = rule === 'minMax' ? q * total + offq : q * total;
    if (y !== y && blk.violations.length < 3) {
      // A finite block must not decode to NaN; the documented float32 steps do when hi − lo or
      // the scale overflows. Record it and predict the NaN the steps give.
      blk.violations.push(`${format.name}: finite block (min ${lo}, max ${hi}) has scale ${dq} and decodes element ${v} to NaN`);
    }
    blk.out[j] = y;
  }
  return dq;
}

// ------------------------------------------------------------------------------- ggml preset

/** ggml's doubled E2M1 table, kvalues_mxfp4 (docs/specification.md §6.2). */
const KVALUES = [0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12];

/** First index minimising |kvalues[i]·d − x| in float32 (ggml's best_index_mxfp4). */
function bestKIndex(x: number, d: number): number {
  let best = 0;
  let bestErr = Infinity;
  for (let i = 0; i < 16; i++) {
    const err = Math.abs(fr(fr(KVALUES[i]! * d) - x));
    if (err < bestErr) {
      bestErr = err;
      best = i;
    }
  }
  return best;
}

/** ggml's block maximum: `if (amax < fabsf(v)) amax = fabsf(v)`, so NaN never wins and ±Inf does. */
function ggmlAmax(blk: Block): number {
  let amax = 0;
  for (let j = 0; j < blk.len; j++) if (amax < Math.abs(blk.vals[j]!)) amax = Math.abs(blk.vals[j]!);
  return amax;
}

/** ggml MXFP4: e = (uint8_t)(⌊log2f(amax)⌋ − 2 + 127), 0 when amax = 0; d = 2^(e − 128)
 * (GGML_E8M0_TO_FP32_HALF). The cast as x86 does it: negative exponents wrap, ±Inf gives 0. */
function ggmlMxfp4Block(format: Format, blk: Block): number {
  const amax = ggmlAmax(blk);
  // log2f as C computes it: the real log2 rounded to float32 (emulated with a float64 log2).
  const e = amax > 0 ? cFloatToSmallInt(Math.floor(fr(Math.log2(amax))) - 2 + 127) & 0xff : 0;
  const d = twoTo(e - 128);
  for (let j = 0; j < blk.len; j++) blk.out[j] = fr(KVALUES[bestKIndex(blk.vals[j]!, d)]! * d);
  return twoTo(e - 127);
}

/** ggml_fp32_to_ue4m3 as docs/specification.md §6.2 describes it: clamp to 448, half-up mantissa rounding on
 * the float32 pattern, the top binade (exponent field 15) always 0x7E, subnormals via x·512 + 0.5
 * in float32 capped at 7. Returns the code. */
export function ggmlUe4m3Code(x: number): number {
  if (!(x > 0)) return 0;
  const v = Math.min(x, 448);
  const bits = f32Bits(v);
  const e = ((bits >>> 23) & 0xff) - 127 + 7;
  if (e <= 0) return Math.min(Math.trunc(fr(fr(v * 512) + 0.5)), 7);
  if (e >= 15) return 0x7e;
  let m = ((bits >>> 20) & 7) + ((bits >>> 19) & 1);
  let ee = e;
  if (m > 7) {
    m = 0;
    ee += 1;
    if (ee >= 15) return 0x7e;
  }
  return ee * 8 + m;
}

/** ggml NVFP4 sub-block: UE4M3 scale of amax/6 by ggml's encoder, elements by first-minimum search. */
function ggmlNvfp4Block(blk: Block): number {
  const amax = ggmlAmax(blk);
  const code = ggmlUe4m3Code(fr(amax / 6));
  const e = code >> 3;
  const m = code & 7;
  const full = e === 0 ? m * twoTo(-9) : (8 + m) * twoTo(e - 10);
  const d = code === 0 ? 0 : fr(full / 2);
  for (let j = 0; j < blk.len; j++) blk.out[j] = KVALUES[bestKIndex(blk.vals[j]!, d)]! * d;
  return full;
}

/** GGML_FP32_TO_FP16: RNE to binary16 with IEEE overflow to ±Inf. */
function ggmlHalf(v: number, fp16: ElementFormat): number {
  return encodeValue(fp16, v, 'rne', 0, 'infinity').value;
}

/**
 * C's conversion of a float to int8_t/uint8_t as x86 compilers emit it (cvttss2si, then the low
 * byte): truncation toward zero; NaN, ±Inf and out-of-range values give INT32_MIN, whose low byte
 * is 0. ggml meets NaN/±Inf here when 1/d overflows float32 (blocks with amax below ~2^−121).
 */
function cFloatToSmallInt(v: number): number {
  if (!Number.isFinite(v) || Math.abs(v) >= 2 ** 31) return 0;
  const low = (((Math.trunc(v) % 256) + 256) % 256) + 0; // + 0: no −0
  return low >= 128 ? low - 256 : low;
}

/** ggml's reference Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 quantizers (docs/specification.md §6.1), step by step in float32. */
function ggmlIntBlock(format: Format, blk: Block): number {
  if (!blockIsFinite(blk)) return fillNaN(blk);
  const el = format.element;
  const bits = el.bits;
  const levels = 2 ** bits;
  const { amax, signedMax: max, lo, hi } = blockStats(blk);
  const fp16 = format.scaleElement!;
  const rule = format.scaleRule!;
  let d: number;
  if (rule === 'absmax') d = fr(amax / (levels / 2 - 1));
  else if (rule === 'signedMax') d = fr(max / -(levels / 2));
  else d = fr(fr(hi - lo) / (levels - 1));
  const id = d !== 0 ? fr(1 / d) : 0;
  const d16 = ggmlHalf(d, fp16);
  const m16 = rule === 'minMax' ? ggmlHalf(lo, fp16) : 0;
  for (let j = 0; j < blk.len; j++) {
    const x = blk.vals[j]!;
    let y: number;
    if (rule === 'absmax') {
      const p = fr(x * id);
      const q = cFloatToSmallInt(p < 0 ? -Math.floor(-p + 0.5) : Math.floor(p + 0.5)); // roundf: half away from zero
      y = q * d16;
    } else if (rule === 'signedMax') {
      const q = Math.min(levels - 1, cFloatToSmallInt(fr(fr(x * id) + (levels / 2 + 0.5))));
      y = (q - levels / 2) * d16;
    } else {
      let q = cFloatToSmallInt(fr(fr(fr(x - lo) * id) + 0.5));
      if (q > levels - 1) {
        // Q4_1 clamps to 15; Q5_1's reference has no clamp, so a 32 there would be a real divergence.
        if (bits === 5) throw new Error(`oracle: ggml ${format.name} code ${q} exceeds ${levels - 1}`);
        q = levels - 1;
      }
      y = fr(q * d16) + m16;
    }
    blk.out[j] = y;
  }
  return d16;
}
