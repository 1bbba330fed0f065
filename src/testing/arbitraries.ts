// fast-check arbitraries for narrow number formats: raw-bit floats, adversarial blocks, generated
// format names, shapes with partial blocks, and whole quantize/matmul cases built from them.
import fc from 'fast-check';
import { listFormats } from '../formats/api.js';
import { bitsToF32, f32ToBits, flog2, pow2 } from '../formats/bits.js';
import type { ElementFormat } from '../formats/element.js';
import { OptionError } from '../formats/errors.js';
import type { Format, ScaleMode } from '../formats/format.js';
import { parseFormat } from '../formats/names.js';
import type { Preset, QuantizeOptions } from '../formats/options.js';
import { decodeElement, type Rounding } from '../formats/reference/element-codec.js';
import { blockMap } from './blocks.js';

// ---------------------------------------------------------------------------------- raw-bit floats

/** Which classes of float32 values a raw-bit arbitrary may produce (all by default). */
export interface Float32BitsConstraints {
  readonly noNaN?: boolean;
  readonly noInfinity?: boolean;
  readonly noSubnormal?: boolean;
}

const F32_SPECIALS = [
  0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000, 0x7f800001, 0x7fffffff, 0x00000001,
  0x807fffff, 0x00800000, 0x7f7fffff, 0xff7fffff, 0x3f800000, 0x3f7fffff, 0xbf800000,
];

function classOk(bits: number, c: Float32BitsConstraints): boolean {
  const exp = (bits >>> 23) & 0xff;
  const man = bits & 0x7fffff;
  if (exp === 0xff) return man === 0 ? !c.noInfinity : !c.noNaN;
  if (exp === 0 && man !== 0) return !c.noSubnormal;
  return true;
}

const withSign = (sign: boolean, magnitudeBits: number) => ((sign ? 0x80000000 : 0) | magnitudeBits) >>> 0;

/**
 * Any 32-bit pattern, as an unsigned integer, biased toward the interesting ones: ±0, ±Inf, NaNs with
 * arbitrary payloads and signs, subnormals, values next to powers of two and moderate magnitudes.
 * Build arrays with {@link float32ArrayOf} so NaN payloads survive into the Float32Array.
 */
export function float32Bits(constraints: Float32BitsConstraints = {}): fc.Arbitrary<number> {
  const mantissa = fc.integer({ min: 0, max: 0x7fffff });
  const parts: fc.WeightedArbitrary<number>[] = [
    { arbitrary: fc.integer({ min: 0, max: 0xffffffff }), weight: 3 },
    { arbitrary: fc.constantFrom(...F32_SPECIALS), weight: 2 },
    {
      arbitrary: fc
        .tuple(fc.boolean(), fc.integer({ min: 127 - 24, max: 127 + 24 }), mantissa)
        .map(([s, e, m]) => withSign(s, (e << 23) | m)),
      weight: 4,
    },
    {
      arbitrary: fc
        .tuple(fc.boolean(), fc.integer({ min: 1, max: 254 }), fc.constantFrom(0, 1, 0x400000, 0x7fffff))
        .map(([s, e, m]) => withSign(s, (e << 23) | m)),
      weight: 2,
    },
  ];
  if (!constraints.noSubnormal) {
    parts.push({ arbitrary: fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 0x7fffff })).map(([s, m]) => withSign(s, m)), weight: 1 });
  }
  if (!constraints.noNaN) {
    parts.push({
      arbitrary: fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 0x7fffff })).map(([s, m]) => withSign(s, 0x7f800000 | m)),
      weight: 1,
    });
  }
  return fc.oneof(...parts).filter((b) => classOk(b, constraints));
}

/** The float32 value of a {@link float32Bits} pattern (a JS number; NaN payloads are not kept in numbers). */
export function float32Value(constraints: Float32BitsConstraints = {}): fc.Arbitrary<number> {
  return float32Bits(constraints).map(bitsToF32);
}

/** A bfloat16 value as a float32 bit pattern (low 16 bits zero): every one of the 65,536 bf16 codes. */
export function bf16Bits(constraints: Float32BitsConstraints = {}): fc.Arbitrary<number> {
  return fc
    .integer({ min: 0, max: 0xffff })
    .map((h) => (h << 16) >>> 0)
    .filter((b) => classOk(b, constraints));
}

/** The float32 bit pattern of an IEEE binary16 code, exactly (subnormals widened, NaN payload shifted up). */
export function f16ToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  const man = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (man << 13)) >>> 0;
  if (exp === 0) return (sign | f32ToBits(man * pow2(-24))) >>> 0;
  return (sign | ((exp - 15 + 127) << 23) | (man << 13)) >>> 0;
}

/** A float16 value as a float32 bit pattern: every one of the 65,536 fp16 codes, exactly. */
export function f16Bits(constraints: Float32BitsConstraints = {}): fc.Arbitrary<number> {
  return fc
    .integer({ min: 0, max: 0xffff })
    .map(f16ToF32Bits)
    .filter((b) => classOk(b, constraints));
}

/** A Float32Array whose elements are written bit for bit from `bits` (so NaN payloads are kept). */
export function float32ArrayOf(
  bits: fc.Arbitrary<number> = float32Bits(),
  constraints: { minLength?: number; maxLength?: number } = {},
): fc.Arbitrary<Float32Array> {
  return fc
    .array(bits, { minLength: constraints.minLength ?? 0, maxLength: constraints.maxLength ?? 64 })
    .map((b) => new Float32Array(Uint32Array.from(b).buffer));
}

// ---------------------------------------------------------------------------------- format grids

interface Grid {
  /** Finite non-negative element values, ascending, without duplicates (null for 32-bit elements). */
  readonly values: Float64Array | null;
  /** Largest positive finite value. */
  readonly maxFinite: number;
  /** Distance from the largest finite value to the next value the element would have without a limit. */
  readonly topStep: number;
}

const grids = new WeakMap<ElementFormat, Grid>();

function gridOf(el: ElementFormat): Grid {
  let g = grids.get(el);
  if (g) return g;
  let values: Float64Array | null = null;
  if (el.bits <= 16) {
    const set = new Set<number>();
    for (let c = 0; c < el.codeCount; c++) {
      const v = Math.abs(decodeElement(el, c));
      if (Number.isFinite(v)) set.add(v);
    }
    values = Float64Array.from(set).sort();
  }
  const maxFinite = el.maxFinite;
  const topStep = el.kind === 'int' ? pow2(-el.fracBits) : pow2(flog2(maxFinite) - el.manBits);
  g = { values, maxFinite, topStep };
  grids.set(el, g);
  return g;
}

/** The next float32 above `x` (toward +Infinity). */
export function nextUpF32(x: number): number {
  const v = Math.fround(x);
  if (v !== v || v === Infinity) return v;
  if (v === 0) return pow2(-149);
  const b = f32ToBits(v);
  return bitsToF32(v > 0 ? b + 1 : b - 1);
}

const isF32 = (v: number) => Number.isFinite(v) && Math.fround(v) === v;

// ---------------------------------------------------------------------------------- adversarial blocks

/** Kinds of block contents {@link adversarialBlock} draws from. */
export type BlockKind = 'random' | 'moderate' | 'zero' | 'outlier' | 'hugeRange' | 'ties' | 'maxNormal' | 'special';

/** All block kinds. */
export const BLOCK_KINDS: readonly BlockKind[] = ['random', 'moderate', 'zero', 'outlier', 'hugeRange', 'ties', 'maxNormal', 'special'];

/** Options of {@link adversarialBlock}. */
export interface AdversarialBlockConstraints {
  /** Kinds to draw from; default all of {@link BLOCK_KINDS}. */
  readonly kinds?: readonly BlockKind[];
  /** Range of the power-of-two scale exponent used to place grid ties and maxima; default −24…24. */
  readonly minScaleExponent?: number;
  readonly maxScaleExponent?: number;
}

const signed = (s: boolean, v: number) => (s ? -v : v);

function moderateValues(length: number, spread = 8): fc.Arbitrary<number[]> {
  return fc.integer({ min: -30, max: 30 }).chain((base) =>
    fc.array(
      fc
        .tuple(fc.boolean(), fc.integer({ min: -spread, max: spread }), fc.integer({ min: 0, max: 0x7fffff }))
        .map(([s, e, m]) => signed(s, (1 + m * pow2(-23)) * pow2(base + e))),
      { minLength: length, maxLength: length },
    ),
  );
}

function tiesBlock(format: Format, length: number, sMin: number, sMax: number): fc.Arbitrary<number[]> {
  const el = format.element;
  const grid = gridOf(el).values;
  if (!grid || grid.length < 2 || format.scheme === 'scaled') return moderateValues(length);
  const shift = format.scheme === 'pow2' ? fc.integer({ min: sMin, max: sMax }) : fc.constant(0);
  const subSize = format.subBlock?.size ?? 0;
  return fc
    .tuple(
      shift,
      fc.integer({ min: 0, max: Math.max(length - 1, 0) }),
      fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: grid.length - 2 }), fc.boolean()), { minLength: length, maxLength: length }),
    )
    .map(([s, anchorAt, picks]) => {
      const scale = pow2(s);
      // The anchor 2^(emax+s) fixes the floor scale at s; sub-blocks each get one so that τ = 0.
      const anchor = pow2(el.emax + s);
      return picks.map(([neg, i, onGrid], j) => {
        const isAnchor = format.scheme === 'pow2' && (subSize ? j % subSize === 0 : j === anchorAt);
        if (isAnchor) return signed(neg, anchor);
        const v = (onGrid ? grid[i + 1]! : (grid[i]! + grid[i + 1]!) / 2) * scale;
        return isF32(v) ? signed(neg, v) : signed(neg, Math.fround(grid[i + 1]! * scale));
      });
    });
}

function maxNormalBlock(format: Format, length: number, sMin: number, sMax: number): fc.Arbitrary<number[]> {
  const el = format.element;
  const { maxFinite, topStep } = gridOf(el);
  const around = [maxFinite, maxFinite + topStep / 2, maxFinite + topStep, pow2(el.emax + 1) * (1 - pow2(-24))];
  const candidates = (s: number) => {
    const scale = format.scheme === 'pow2' ? pow2(s) : 1;
    // In a pow2 block, values from 2^(emax+1)·X on would move the block to the next scale.
    const inBinade = (v: number) => format.scheme !== 'pow2' || v < pow2(el.emax + 1);
    const out = around.filter(inBinade).map((v) => v * scale).filter(isF32);
    if (format.scheme !== 'pow2') {
      for (const v of [format.maxMagnitude, 0x7f7fffff]) {
        const f = v === 0x7f7fffff ? bitsToF32(v) : Math.fround(v);
        if (Number.isFinite(f)) out.push(f, nextUpF32(f));
      }
    } else out.push(...out.map(nextUpF32).filter((v) => v < pow2(el.emax + 1) * scale));
    return out.filter(Number.isFinite);
  };
  return fc.integer({ min: sMin, max: sMax }).chain((s) => {
    const c = candidates(s);
    const anchor = format.scheme === 'pow2' ? maxFinite * pow2(s) : c[0] ?? 1;
    return fc
      .tuple(
        fc.integer({ min: 0, max: Math.max(length - 1, 0) }),
        fc.array(fc.tuple(fc.boolean(), fc.nat(Math.max(c.length - 1, 0)), fc.integer({ min: 0, max: 4 })), { minLength: length, maxLength: length }),
      )
      .map(([at, picks]) =>
        picks.map(([neg, k, smaller], j) => {
          if (j === at && isF32(anchor)) return signed(neg, anchor);
          const v = c.length ? c[k]! : 1;
          return signed(neg, smaller === 0 ? Math.fround(v * pow2(-3)) : v);
        }),
      );
  });
}

/**
 * A block of `length` float32 values (as numbers) designed to break quantizers of `format`: all
 * zeros (either sign), one outlier among small values, a huge dynamic range, exact ties on the
 * format's grid (under the default floor scale; one anchor per sub-block fixes the scale),
 * values at and just past the largest normal (times the block scale), a NaN or ±Inf among normal
 * values, or any raw 32-bit patterns.
 */
export function adversarialBlock(format: Format | string, length: number, constraints: AdversarialBlockConstraints = {}): fc.Arbitrary<number[]> {
  const f = typeof format === 'string' ? parseFormat(format) : format;
  const kinds = constraints.kinds ?? BLOCK_KINDS;
  if (kinds.length === 0) throw new OptionError('adversarialBlock: kinds must name at least one block kind');
  const el = f.element;
  // Keep the anchor 2^(emax+s) a float32 normal number.
  const lo = -126 - el.emax;
  const hi = 127 - el.emax;
  const clamp = (v: number) => Math.min(Math.max(v, lo), hi);
  const sMin = clamp(constraints.minScaleExponent ?? -24);
  const sMax = Math.max(sMin, clamp(constraints.maxScaleExponent ?? 24));
  const n = length;
  const build: Record<BlockKind, () => fc.Arbitrary<number[]>> = {
    random: () => fc.array(float32Value(), { minLength: n, maxLength: n }),
    moderate: () => moderateValues(n),
    zero: () => fc.array(fc.boolean().map((s) => (s ? -0 : 0)), { minLength: n, maxLength: n }),
    outlier: () =>
      fc
        .tuple(moderateValues(n, 2), fc.nat(Math.max(n - 1, 0)), fc.integer({ min: 8, max: 60 }), fc.boolean())
        .map(([v, at, jump, neg]) => {
          const out = [...v];
          if (n > 0) out[at] = Math.fround(signed(neg, Math.abs(v[at]!) * pow2(jump))) || signed(neg, 1);
          return out;
        }),
    hugeRange: () =>
      fc.array(
        fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 254 }), fc.integer({ min: 0, max: 0x7fffff })).map(([s, e, m]) => bitsToF32(withSign(s, (e << 23) | m))),
        { minLength: n, maxLength: n },
      ),
    ties: () => tiesBlock(f, n, sMin, sMax),
    maxNormal: () => maxNormalBlock(f, n, sMin, sMax),
    special: () =>
      fc
        .tuple(moderateValues(n), fc.nat(Math.max(n - 1, 0)), fc.constantFrom(NaN, Infinity, -Infinity))
        .map(([v, at, s]) => {
          const out = [...v];
          if (n > 0) out[at] = s;
          return out;
        }),
  };
  return fc.oneof(...kinds.map((k) => build[k]()));
}

// ---------------------------------------------------------------------------------- format names

/** Families of generated format names. */
export type FormatKind = 'catalog' | 'fp' | 'int' | 'mx' | 'bdr';

/** Options of {@link formatName}. */
export interface FormatNameConstraints {
  /** Which families to draw from; default all. */
  readonly kinds?: readonly FormatKind[];
  /** Largest generated block size (mx k, bdr k1); default 64. */
  readonly maxBlockSize?: number;
}

/** A valid generic float element name `fp(e=..,m=..,bias=..,inf=..,nan=..,sub=..,sat=..,signed=..)`. */
export function fpElementName(constraints: { signedOnly?: boolean } = {}): fc.Arbitrary<string> {
  return fc
    .record({
      e: fc.integer({ min: 1, max: 8 }),
      m: fc.integer({ min: 0, max: 10 }),
      biasShift: fc.oneof({ arbitrary: fc.constant(0), weight: 3 }, { arbitrary: fc.integer({ min: -6, max: 6 }), weight: 1 }),
      nan: fc.constantFrom('none', 'ones', 'ieee'),
      inf: fc.boolean(),
      sub: fc.oneof({ arbitrary: fc.constant(true), weight: 3 }, { arbitrary: fc.constant(false), weight: 1 }),
      sat: fc.boolean(),
      signed: constraints.signedOnly ? fc.constant(true) : fc.oneof({ arbitrary: fc.constant(true), weight: 4 }, { arbitrary: fc.constant(false), weight: 1 }),
    })
    .map((p) => {
      const m = Math.min(p.m, 16 - p.e - (p.signed ? 1 : 0));
      let nan = p.nan;
      if (nan === 'ieee' && (m < 1 || p.e < 2)) nan = 'none';
      const inf = p.inf && nan === 'ieee';
      const bias = 2 ** (p.e - 1) - 1 + p.biasShift;
      return `fp(e=${p.e},m=${m},bias=${bias},inf=${+inf},nan=${nan},sub=${+p.sub},sat=${+p.sat},signed=${+p.signed})`;
    });
}

/** A valid generic integer element name `int(b=..,f=..,enc=..)`. */
export function intElementName(constraints: { encodings?: readonly ('twos' | 'signmag' | 'offset' | 'unsigned')[] } = {}): fc.Arbitrary<string> {
  const encs = constraints.encodings ?? (['twos', 'signmag', 'offset', 'unsigned'] as const);
  return fc
    .record({ b: fc.integer({ min: 2, max: 16 }), f: fc.integer({ min: 0, max: 16 }), enc: fc.constantFrom(...encs) })
    .map(({ b, f, enc }) => `int(b=${b},f=${Math.min(f, b)},enc=${enc})`);
}

const MX_ELEMENTS = ['fp8_e4m3', 'fp8_e5m2', 'fp6_e3m2', 'fp6_e2m3', 'fp4_e2m1', 'fp16', 'bf16', 'int8', 'int4', 'int2'];

/** Every catalog format name. */
export function catalogName(): fc.Arbitrary<string> {
  return fc.constantFrom(...listFormats().map((f) => f.name));
}

/**
 * A format name in the grammar: catalog names, generic `fp(...)`/`int(...)` casts, OCP-style
 * `mx(elem=..,k=..,d1=..)` blocks (named, generic float or integer elements) and
 * `bdr(m=..,k1=..,d1=..,k2=..,d2=..)` with k2 dividing k1. Every generated name parses.
 */
export function formatName(constraints: FormatNameConstraints = {}): fc.Arbitrary<string> {
  const kinds = constraints.kinds ?? (['catalog', 'fp', 'int', 'mx', 'bdr'] as const);
  if (kinds.length === 0) throw new OptionError('formatName: kinds must name at least one family');
  const maxK = Math.max(1, constraints.maxBlockSize ?? 64);
  const build: Record<FormatKind, { arbitrary: fc.Arbitrary<string>; weight: number }> = {
    catalog: { arbitrary: catalogName(), weight: 4 },
    fp: { arbitrary: fpElementName(), weight: 1 },
    int: { arbitrary: intElementName(), weight: 1 },
    mx: {
      arbitrary: fc
        .record({
          elem: fc.oneof(fc.constantFrom(...MX_ELEMENTS), fpElementName({ signedOnly: true }), intElementName({ encodings: ['twos', 'signmag'] })),
          k: fc.integer({ min: 1, max: maxK }),
          d1: fc.oneof({ arbitrary: fc.constant(8), weight: 3 }, { arbitrary: fc.integer({ min: 2, max: 8 }), weight: 1 }),
        })
        .map(({ elem, k, d1 }) => `mx(elem=${elem},k=${k},d1=${d1})`),
      weight: 2,
    },
    bdr: {
      arbitrary: fc
        .record({
          m: fc.integer({ min: 1, max: 15 }),
          k1: fc.integer({ min: 1, max: maxK }),
          d1: fc.oneof({ arbitrary: fc.constant(8), weight: 3 }, { arbitrary: fc.integer({ min: 2, max: 8 }), weight: 1 }),
          d2: fc.integer({ min: 0, max: 4 }),
          k2pick: fc.nat(),
        })
        .map(({ m, k1, d1, d2, k2pick }) => {
          const divisors = [];
          for (let d = 1; d <= k1; d++) if (k1 % d === 0) divisors.push(d);
          const k2 = d2 === 0 ? 1 : divisors[k2pick % divisors.length]!;
          return `bdr(m=${m},k1=${k1},d1=${d1},k2=${k2},d2=${d2})`;
        }),
      weight: 2,
    },
  };
  return fc.oneof(...kinds.map((k) => build[k]));
}

// ---------------------------------------------------------------------------------- shapes and options

/** Shape, axis and block size of one quantize call. */
export interface LayoutCase {
  readonly shape: readonly number[];
  readonly axis: number;
  /** Undefined: the format's default block. */
  readonly blockSize?: number;
}

/** Options of {@link layoutFor}. */
export interface LayoutConstraints {
  /** Upper bound on the element count; default 128. */
  readonly maxElements?: number;
  /** Highest rank; default 3. `flat` (rank 1, last axis, default block) when 1. */
  readonly maxRank?: number;
  /** Allow block sizes other than the format's default; default true. */
  readonly varyBlockSize?: boolean;
}

/**
 * A shape, block axis (sometimes negative) and block size that fit `format`: partial last blocks,
 * whole-axis blocks (blockSize 0), block sizes that are multiples of the sub-block, and axis lengths
 * that are whole multiples of the stored block for ggml types. Rarely an empty tensor.
 */
export function layoutFor(format: Format | string, constraints: LayoutConstraints = {}): fc.Arbitrary<LayoutCase> {
  const f = typeof format === 'string' ? parseFormat(format) : format;
  const maxN = Math.max(1, constraints.maxElements ?? 128);
  const maxRank = Math.max(1, constraints.maxRank ?? 3);
  const vary = constraints.varyBlockSize ?? true;
  const whole = f.requiresWholeBlocks ? (f.ggml ? f.ggml.blockElements : f.blockSize) : 0;
  const sub = f.subBlock?.size ?? 1;
  const axisLength = whole
    ? fc.integer({ min: 0, max: Math.max(0, Math.min(2, Math.floor(maxN / whole))) }).map((c) => c * whole)
    : fc.oneof({ arbitrary: fc.integer({ min: 1, max: Math.min(maxN, 72) }), weight: 12 }, { arbitrary: fc.constant(0), weight: 1 });
  return fc
    .record({
      rank: fc.integer({ min: 1, max: maxRank }),
      axisLen: axisLength,
      otherDims: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 2, maxLength: 2 }),
      axisPick: fc.nat(),
      negativeAxis: fc.boolean(),
      block: fc.oneof(
        { arbitrary: fc.constant<number | undefined>(undefined), weight: 3 },
        { arbitrary: fc.constant<number | undefined>(0), weight: 1 },
        { arbitrary: fc.integer({ min: 1, max: 8 }).map<number | undefined>((k) => k * sub), weight: 2 },
      ),
    })
    .map(({ rank, axisLen, otherDims, axisPick, negativeAxis, block }) => {
      const axis = rank === 1 ? 0 : axisPick % rank;
      const shape: number[] = [];
      let budget = axisLen === 0 ? maxN : Math.max(1, Math.floor(maxN / axisLen));
      let o = 0;
      for (let d = 0; d < rank; d++) {
        if (d === axis) {
          shape.push(axisLen);
          continue;
        }
        const dim = Math.max(1, Math.min(otherDims[o++ % 2]!, budget));
        budget = Math.max(1, Math.floor(budget / dim));
        shape.push(dim);
      }
      let blockSize: number | undefined;
      if (f.granularity === 'block' && !f.requiresWholeBlocks && vary) {
        blockSize = block === 0 && axisLen % sub !== 0 ? undefined : block;
      }
      const out: LayoutCase = { shape, axis: negativeAxis && rank > 1 ? axis - rank : axis };
      return blockSize === undefined ? out : { ...out, blockSize };
    })
    .filter((c) => c.shape.reduce((a, b) => a * b, 1) <= Math.max(maxN, whole));
}

/** Options of {@link optionsFor}. */
export interface OptionConstraints {
  /** Rounding modes to draw (the default of the chosen preset is drawn too when `rne` is allowed). */
  readonly roundings?: readonly Rounding[];
  /** Presets to draw; default every preset the format accepts. */
  readonly presets?: readonly Preset[];
}

/**
 * Quantize options valid for `format` (everything except the layout): rounding, seed, and where the
 * format accepts them scale mode, scale width, flushing of subnormal blocks, presets, the NVFP4
 * tensor scale and the row-max cap of `fp8_e4m3_rowwise`.
 */
export function optionsFor(format: Format | string, constraints: OptionConstraints = {}): fc.Arbitrary<QuantizeOptions> {
  const f = typeof format === 'string' ? parseFormat(format) : format;
  const roundings = constraints.roundings ?? (['rne', 'rna', 'rtz', 'stochastic'] as const);
  if (roundings.length === 0) throw new OptionError('optionsFor: roundings must name at least one rounding mode');
  const possible: Preset[] = ['ocp'];
  if (f.scheme === 'pow2') possible.push('microxcaling');
  if (f.family === 'ggml') possible.push('ggml');
  if (f.tensorScale) possible.push('torchao');
  const presets = possible.filter((p) => !constraints.presets || constraints.presets.includes(p));
  if (presets.length === 0) throw new OptionError(`optionsFor: none of the allowed presets applies to ${f.name}`);
  const sometimes = <T>(a: fc.Arbitrary<T>, weight: number) =>
    fc.oneof({ arbitrary: fc.constant<T | undefined>(undefined), weight }, { arbitrary: a.map<T | undefined>((v) => v), weight: 1 });
  return fc
    .record({
      preset: fc.constantFrom(...presets),
      rounding: fc.constantFrom(...roundings),
      seed: sometimes(fc.integer({ min: 0, max: 0xffffffff }), 1),
      scaleMode: sometimes(fc.constantFrom<ScaleMode>('floor', 'ceil', 'even', 'rceil'), 1),
      scaleBits: sometimes(fc.integer({ min: 2, max: 8 }), 4),
      flush: sometimes(fc.boolean(), 3),
      tensorScale: sometimes(fc.double({ min: pow2(-20), max: pow2(20), noNaN: true }).map(Math.fround), 4),
      cap: sometimes(fc.double({ min: 1, max: 1e4, noNaN: true }).map(Math.fround), 3),
    })
    .filter((r) => r.preset !== 'ggml' || r.rounding === 'rne')
    .map((r) => {
      const o: QuantizeOptions = {};
      if (r.preset !== 'ocp') o.preset = r.preset;
      if (r.preset !== 'ggml' && !(r.rounding === 'rne' && r.preset === 'ocp')) o.rounding = r.rounding;
      if (r.rounding === 'stochastic' && r.seed !== undefined) o.seed = r.seed;
      if (f.scheme === 'pow2') {
        if (r.scaleMode !== undefined) o.scaleMode = r.scaleMode;
        if (r.scaleBits !== undefined) o.scaleBits = r.scaleBits;
        if (r.flush !== undefined) o.flushSubnormalBlocks = r.flush;
      }
      if (f.tensorScale && r.tensorScale !== undefined) o.tensorScale = r.tensorScale;
      if (f.amaxUpperBound !== null && r.cap !== undefined) o.scaleUpperBound = r.cap;
      return o;
    });
}

// ---------------------------------------------------------------------------------- whole cases

/** One quantize call: a format name, its input and its options (shape and axis included). */
export interface QuantizeCase {
  readonly format: string;
  readonly x: Float32Array;
  readonly options: QuantizeOptions;
}

/** Options of {@link quantizeCase}. */
export interface QuantizeCaseConstraints extends OptionConstraints, LayoutConstraints {
  /** Format names to draw: a list or an arbitrary; default {@link formatName}(). */
  readonly formats?: readonly string[] | fc.Arbitrary<string>;
  /** `vary` (default) draws options with {@link optionsFor}; `default` uses each format's defaults
   * (its own block size included; only shape and axis are drawn). */
  readonly options?: 'vary' | 'default';
  /** Block contents; default all {@link BLOCK_KINDS}. */
  readonly blockKinds?: readonly BlockKind[];
  /** Only inputs the format accepts (default true): scalar casts get no NaN when the element has no
   * NaN code and no negative values when it is unsigned. False keeps them, for error-parity checks. */
  readonly representable?: boolean;
}

/** The format arbitrary of a constraint (list or arbitrary), default every family. */
export function formatsOf(formats: readonly string[] | fc.Arbitrary<string> | undefined): fc.Arbitrary<string> {
  if (formats === undefined) return formatName();
  if (Array.isArray(formats)) {
    if (formats.length === 0) throw new OptionError('formats must list at least one format name');
    for (const name of formats) parseFormat(name);
    return fc.constantFrom(...(formats as readonly string[]));
  }
  return formats as fc.Arbitrary<string>;
}

/** Make `x` acceptable to a scalar cast into `format` (see {@link QuantizeCaseConstraints.representable}). */
export function representableFor(format: Format, x: Float32Array): Float32Array {
  if (format.scheme !== 'cast') return x;
  const el = format.element;
  const noNaN = el.kind === 'int' || el.nan === 'none';
  const unsigned = el.kind === 'float' && !el.signed;
  if (!noNaN && !unsigned) return x;
  const out = new Float32Array(x);
  for (let i = 0; i < out.length; i++) {
    let v = out[i]!;
    if (noNaN && v !== v) v = 0;
    if (unsigned && v < 0) v = -v;
    out[i] = v;
  }
  return out;
}

/**
 * A whole quantize call: a format (from `formats`), a layout with partial blocks, options valid for
 * it, and an input whose blocks (in the format's blocking) are {@link adversarialBlock}s.
 */
export function quantizeCase(constraints: QuantizeCaseConstraints = {}): fc.Arbitrary<QuantizeCase> {
  const names = formatsOf(constraints.formats);
  const representable = constraints.representable ?? true;
  return names.chain((name) => {
    const f = parseFormat(name);
    const defaults = constraints.options === 'default';
    const opts = defaults ? fc.constant<QuantizeOptions>({}) : optionsFor(f, constraints);
    const layout = layoutFor(f, defaults ? { ...constraints, varyBlockSize: false } : constraints);
    return fc.tuple(layout, opts).chain(([lay, o]) => {
      const options: QuantizeOptions = { ...o, shape: lay.shape, axis: lay.axis, ...(lay.blockSize === undefined ? {} : { blockSize: lay.blockSize }) };
      const n = lay.shape.reduce((a, b) => a * b, 1);
      const map = blockMap(f, options, n);
      // Scalar casts have one "block" per element; draw their data in chunks of 16 instead.
      const chunk = f.granularity === 'element' ? 16 : Math.max(1, map.layout.blockSize);
      const chunks = f.granularity === 'element' ? Math.ceil(n / chunk) : map.blockStart.length;
      const block = adversarialBlock(f, chunk, { kinds: constraints.blockKinds ?? BLOCK_KINDS });
      return fc.array(block, { minLength: chunks, maxLength: chunks }).map((blocks) => {
        const x = new Float32Array(n);
        if (f.granularity === 'element') {
          for (let i = 0; i < n; i++) x[i] = blocks[Math.floor(i / chunk)]![i % chunk]!;
        } else {
          for (let b = 0; b < map.blockStart.length; b++) {
            const start = map.blockStart[b]!;
            for (let j = 0; j < map.blockLength[b]!; j++) x[map.flat[start + j]!] = blocks[b]![j]!;
          }
        }
        return { format: name, x: representable ? representableFor(f, x) : x, options };
      });
    });
  });
}

/** One matmul call: y[m, N] = a[m, K] · w[N, K]ᵀ with w quantized along K. */
export interface MatmulCase {
  readonly format: string;
  readonly options: QuantizeOptions;
  readonly m: number;
  readonly n: number;
  readonly k: number;
  /** Activations, m·K values (moderate magnitudes, no NaN/Inf). */
  readonly a: Float32Array;
  /** Weights before quantization, N·K values. */
  readonly w: Float32Array;
  /** Quantize the activations too, with the same format and options. */
  readonly quantizeA: boolean;
}

/** Options of {@link matmulCase}. */
export interface MatmulCaseConstraints extends OptionConstraints {
  readonly formats?: readonly string[] | fc.Arbitrary<string>;
  /** Largest K; default 80 (crosses 1, 2 and partial blocks of 32). */
  readonly maxK?: number;
  readonly maxM?: number;
  readonly maxN?: number;
}

/** A matmul case: finite moderate inputs, K around block boundaries, optional quantized activations. */
export function matmulCase(constraints: MatmulCaseConstraints = {}): fc.Arbitrary<MatmulCase> {
  const names = formatsOf(constraints.formats);
  const maxK = Math.max(1, constraints.maxK ?? 80);
  return names.chain((name) => {
    const f = parseFormat(name);
    const whole = f.requiresWholeBlocks ? (f.ggml ? f.ggml.blockElements : f.blockSize) : 0;
    const kArb = whole ? fc.integer({ min: 1, max: Math.max(1, Math.floor(maxK / whole)) }).map((c) => c * whole) : fc.integer({ min: 1, max: maxK });
    return fc
      .record({
        m: fc.integer({ min: 0, max: constraints.maxM ?? 3 }),
        n: fc.integer({ min: 1, max: constraints.maxN ?? 4 }),
        k: kArb,
        options: optionsFor(f, { ...constraints, roundings: constraints.roundings ?? ['rne', 'rna', 'rtz'] }),
        quantizeA: fc.boolean(),
      })
      .chain(({ m, n, k, options, quantizeA }) => {
        const values = (count: number) =>
          fc.array(
            fc.tuple(fc.boolean(), fc.integer({ min: -12, max: 12 }), fc.integer({ min: 0, max: 0x7fffff })).map(([s, e, mm]) => signed(s, (1 + mm * pow2(-23)) * pow2(e))),
            { minLength: count, maxLength: count },
          );
        return fc.tuple(values(m * k), values(n * k)).map(([a, w]) => ({
          format: name,
          options: { ...options, shape: [n, k], axis: 1 },
          m,
          n,
          k,
          a: quantizeA ? representableFor(f, Float32Array.from(a)) : Float32Array.from(a),
          w: representableFor(f, Float32Array.from(w)),
          quantizeA,
        }));
      });
  });
}
