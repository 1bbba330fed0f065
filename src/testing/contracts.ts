// Reusable contracts: each takes the implementation under test (a Backend, or an object with some of
// its methods) and returns a fast-check async property. Run them with fc.assert or checkContract;
// a violation throws a ContractViolation naming the element, the values and their bit patterns.
import fc from 'fast-check';
import { f32ToBits, flog2, pow2 } from '../formats/bits.js';
import type { ElementFormat } from '../formats/element.js';
import { MicroscaleError, OptionError } from '../formats/errors.js';
import type { Format } from '../formats/format.js';
import { parseFormat } from '../formats/names.js';
import type { Preset, QuantizeOptions } from '../formats/options.js';
import {
  adjacentToGgmlSplit,
  fp6LsbToMsb,
  fp6MsbToLsb,
  ggmlSplitToAdjacent,
  packCodes,
  packedByteLength,
  unpackCodes,
} from '../formats/pack.js';
import { QuantizedTensor } from '../formats/quantized.js';
import { decodeElement, type Rounding } from '../formats/reference/element-codec.js';
import type { MatmulOptions } from '../formats/reference/matmul.js';
import type { BackendCapabilities, MaybePromise } from '../kernels/backend.js';
import { referenceBackend } from '../kernels/reference.js';
import { formatName, matmulCase, quantizeCase, representableFor, type MatmulCase, type MatmulCaseConstraints, type QuantizeCase, type QuantizeCaseConstraints } from './arbitraries.js';
import { blockMap, type BlockMap } from './blocks.js';

/** What a contract can exercise: any subset of the Backend methods (a Backend satisfies it). */
export interface Implementation {
  readonly capabilities?: Partial<BackendCapabilities>;
  quantize?(x: Float32Array, format: string | Format, opts?: QuantizeOptions): MaybePromise<QuantizedTensor>;
  dequantize?(q: QuantizedTensor): MaybePromise<Float32Array>;
  fakeQuantize?(x: Float32Array, format: string | Format, opts?: QuantizeOptions): MaybePromise<Float32Array>;
  matmul?(a: Float32Array | QuantizedTensor, w: QuantizedTensor, opts: MatmulOptions): MaybePromise<Float32Array>;
}

/** Thrown inside a property when the implementation breaks the contract. */
export class ContractViolation extends Error {
  constructor(contract: string, message: string) {
    super(`${contract}: ${message}`);
    this.name = 'ContractViolation';
  }
}

/** Options shared by the quantize contracts. */
export interface ContractConfig extends QuantizeCaseConstraints {
  /** Cases to run instead of {@link quantizeCase}(this config); cases the contract does not cover are skipped. */
  readonly cases?: fc.Arbitrary<QuantizeCase>;
  /** Supplies what the implementation lacks (dequantize for quantize-only kernels); default referenceBackend. */
  readonly reference?: Implementation;
}

/** Run a contract and throw if it fails, with fast-check's report (counterexample, seed and path
 * to replay it) followed by the violation. */
export function checkContract<Ts>(property: fc.IAsyncProperty<Ts>, params?: fc.Parameters<Ts>): Promise<void> {
  return fc.assert(property, { includeErrorInReport: true, ...params });
}

// ---------------------------------------------------------------------------------- helpers

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

async function attempt<T>(f: () => MaybePromise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await f() };
  } catch (error) {
    return { ok: false, error };
  }
}

const toFormat = (f: string | Format): Format => (typeof f === 'string' ? parseFormat(f) : f);

function show(v: number): string {
  if (v !== v) return 'NaN';
  return `${Object.is(v, -0) ? '-0' : v} (0x${f32ToBits(v).toString(16).padStart(8, '0')})`;
}

function where(c: QuantizeCase): string {
  return `${c.format} ${JSON.stringify(c.options)}`;
}

/** float32 equality of bit patterns, with every NaN equal to every NaN. */
export function sameFloat32(a: number, b: number): boolean {
  if (a !== a || b !== b) return a !== a && b !== b;
  return f32ToBits(a) === f32ToBits(b);
}

function sameArrays(contract: string, what: string, want: ArrayLike<number>, got: ArrayLike<number>, eq: (a: number, b: number) => boolean): void {
  if (want.length !== got.length) throw new ContractViolation(contract, `${what}: length ${got.length}, expected ${want.length}`);
  for (let i = 0; i < want.length; i++) {
    if (!eq(want[i]!, got[i]!)) throw new ContractViolation(contract, `${what}[${i}] = ${show(got[i]!)}, expected ${show(want[i]!)}`);
  }
}

const sameInt = (a: number, b: number) => a === b;

function copy(x: Float32Array): Float32Array {
  return new Float32Array(x);
}

function need<K extends keyof Implementation>(impl: Implementation, contract: string, ...keys: K[]): void {
  for (const k of keys) {
    if (typeof impl[k] !== 'function') throw new OptionError(`${contract} needs an implementation with a ${String(k)}() method`);
  }
}

/** fakeQuantize of an implementation, or its quantize followed by dequantize (the reference's when it has none). */
function fakeQuantizer(impl: Implementation, reference: Implementation, contract: string) {
  if (impl.fakeQuantize) return (x: Float32Array, f: string, o: QuantizeOptions) => impl.fakeQuantize!(x, f, o);
  if (impl.quantize) {
    const deq = impl.dequantize ?? reference.dequantize;
    if (!deq) throw new OptionError(`${contract} needs dequantize() on the implementation or the reference`);
    return async (x: Float32Array, f: string, o: QuantizeOptions) => deq(await impl.quantize!(x, f, o));
  }
  throw new OptionError(`${contract} needs an implementation with fakeQuantize() or quantize()`);
}

/** Rounding in force for `options` (the preset's default when none is given). */
export function effectiveRounding(options: QuantizeOptions): Rounding {
  return options.rounding ?? (options.preset === 'microxcaling' ? 'rna' : 'rne');
}

function casesFor(contract: string, config: ContractConfig, formatOk: (f: Format) => boolean, extra: Partial<QuantizeCaseConstraints> = {}): fc.Arbitrary<QuantizeCase> {
  if (config.cases) return config.cases;
  let formats: fc.Arbitrary<string>;
  if (config.formats === undefined) {
    formats = formatName().filter((n) => formatOk(parseFormat(n)));
  } else if (Array.isArray(config.formats)) {
    const kept = (config.formats as readonly string[]).filter((n) => formatOk(parseFormat(n)));
    if (kept.length === 0) throw new OptionError(`${contract} does not apply to any of the formats ${config.formats.join(', ')}`);
    formats = fc.constantFrom(...kept);
  } else {
    formats = config.formats as fc.Arbitrary<string>;
  }
  return quantizeCase({ ...config, ...extra, formats });
}

function restrictRoundings(config: ContractConfig, allowed: readonly Rounding[]): readonly Rounding[] {
  const r = (config.roundings ?? allowed).filter((m) => allowed.includes(m));
  return r.length ? r : allowed;
}

function restrictPresets(config: ContractConfig, ...banned: Preset[]): readonly Preset[] {
  return (config.presets ?? ['ocp', 'microxcaling', 'torchao', 'ggml']).filter((p) => !banned.includes(p));
}

// ---------------------------------------------------------------------------------- where each property is a theorem

/**
 * True when fakeQuantize is idempotent for `format` and `options`: scalar casts and power-of-two
 * blocks, outside the ggml preset. A pow2 block's maximum lands in the same binade after rounding
 * (or saturates below the next one), so the recomputed exponent is the same or, for ceil/even/rceil,
 * lower; a lower exponent's grid contains the old one and every element value fits it.
 * Exceptions:
 * - `even` relies on the maximum rounding up into the next binade, so it needs rne or rna
 *   (mxfp8_e4m3, even, rtz: 1.9375·2^26 → 1.875·2^26 → 1.75·2^26).
 * - BDR microexponents: τ is measured from ⌊log2 amax⌋ while the step uses the scale, so when the
 *   scale sits above 2^(⌊log2 amax⌋ − emax) (ceil/even/rceil, or the lower clamp of a narrow
 *   scale) a scaled sub-block maximum below 1 may round up into the next binade and the next pass
 *   picks a smaller τ, a coarser grid (bdr(m=10,k1=10,d1=8,k2=10,d2=4), ceil: 1.1757814 →
 *   1.1796875 → 1.1875). Only floor qualifies here; the contract also skips clamped blocks.
 * - Scaled formats recompute a float scale from rounded data (NVFP4 also a new tensor scale),
 *   which may change in its last bit; the ggml preset takes ggml_mxfp4's exponent from a float32
 *   log2 that rounds up just below powers of two.
 * - Under the microxcaling preset x / X is rounded to float32 first, so the element must lie
 *   inside the float32 range.
 */
export function idempotenceHolds(format: Format | string, options: QuantizeOptions): boolean {
  const f = toFormat(format);
  if (f.scheme === 'scaled' || options.preset === 'ggml') return false;
  const mode = options.scaleMode ?? 'floor';
  const rounding = effectiveRounding(options);
  // `even` counts on the block maximum rounding up into the next binade; rtz or stochastic may round
  // it down, and the next pass then picks a smaller exponent at which the element clamps.
  if (mode === 'even' && rounding !== 'rne' && rounding !== 'rna') return false;
  // Microexponents are measured from ⌊log2 amax⌋ but the step uses the scale: when ceil/even/rceil
  // round the scale up, a sub-block maximum can round into the next binade and change its τ.
  if (f.subBlock && mode !== 'floor') return false;
  // The microxcaling preset rounds x / X to float32 first (as the emulator does): an element whose
  // range passes FLT_MAX sees 2^128 become Inf there and saturate. Its float32 log2 rounds up in
  // the top 44 float32 values of a binade, where grid values lie only for significands of more than
  // 18 bits.
  if (options.preset !== 'microxcaling') return true;
  const el = f.element;
  return el.maxFinite < 2 ** 128 && (el.kind === 'float' ? el.manBits <= 17 : el.bits <= 18);
}

/** True when the element grid is symmetric: signed floats and two's-complement or sign-magnitude integers. */
export function symmetricElement(el: ElementFormat): boolean {
  return el.kind === 'float' ? el.signed : el.encoding === 'twos' || el.encoding === 'signmag';
}

/**
 * True when fakeQuantize(−x) = −fakeQuantize(x) (as numbers, NaN ≡ NaN): a symmetric element, a
 * sign-blind scale (none, pow2 or absmax; not ggml's signed max or affine min/max) and rounding rne,
 * rna or rtz. Zeros compare by value because two's-complement integers and all-zero blocks (stored
 * with +0 codes) have no −0.
 */
export function signSymmetryHolds(format: Format | string, options: QuantizeOptions): boolean {
  const f = toFormat(format);
  return symmetricElement(f.element) && (f.scaleRule === null || f.scaleRule === 'absmax') && ['rne', 'rna', 'rtz'].includes(effectiveRounding(options));
}

/**
 * True when nearestRepresentable applies: rounding rne, rna or rtz, and neither the ggml preset
 * (ggml's own float32 recipes) nor the microxcaling preset (the emulator's float32 log2 and
 * ⌊|t| + 0.5⌋ artefacts, which round off the exact grid near powers of two). For scaled formats the element code is checked against
 * the float32 quotient x / scale, as FORMATS.md specifies the division in float32.
 */
export function nearestHolds(format: Format | string, options: QuantizeOptions): boolean {
  toFormat(format);
  const exactPreset = options.preset !== 'ggml' && options.preset !== 'microxcaling';
  return exactPreset && ['rne', 'rna', 'rtz'].includes(effectiveRounding(options));
}

/** True when scaleEquivariant applies: power-of-two block formats outside the ggml and
 * microxcaling presets (their float32 log2 is not exact, so scaling by 2^k may move the exponent
 * by k ± 1). */
export function scaleEquivarianceApplies(format: Format | string, options: QuantizeOptions): boolean {
  return toFormat(format).scheme === 'pow2' && options.preset !== 'ggml' && options.preset !== 'microxcaling';
}

// ---------------------------------------------------------------------------------- bit exactness

function sameOutcome<T>(contract: string, what: string, c: QuantizeCase, want: Outcome<T>, got: Outcome<T>): boolean {
  if (want.ok && got.ok) return true;
  if (!want.ok && !(want.error instanceof MicroscaleError)) throw want.error;
  if (want.ok && !got.ok) throw new ContractViolation(contract, `${what} threw ${String(got.error)} where the reference succeeds (${where(c)})`);
  if (!want.ok && got.ok) throw new ContractViolation(contract, `${what} succeeded where the reference throws ${String(want.error)} (${where(c)})`);
  const we = (want as { error: MicroscaleError }).error;
  const ge = (got as { error: unknown }).error;
  if (ge instanceof MicroscaleError && ge.code !== we.code) {
    throw new ContractViolation(contract, `${what} threw ${ge.code} where the reference throws ${we.code} (${where(c)})`);
  }
  return false;
}

function typedBytes(a: Uint8Array | Uint16Array | Uint32Array): number {
  return a.BYTES_PER_ELEMENT;
}

/** Throw unless two quantized tensors hold the same format, options, codes, scales, sub-scales, offsets and tensor scale. */
export function assertSameTensor(contract: string, want: QuantizedTensor, got: QuantizedTensor): void {
  if (got.format.name !== want.format.name) throw new ContractViolation(contract, `format ${got.format.name}, expected ${want.format.name}`);
  const wo = want.options as unknown as Record<string, unknown>;
  const go = got.options as unknown as Record<string, unknown>;
  for (const k of Object.keys(wo)) {
    if (JSON.stringify(wo[k]) !== JSON.stringify(go[k])) throw new ContractViolation(contract, `option ${k} = ${JSON.stringify(go[k])}, expected ${JSON.stringify(wo[k])}`);
  }
  sameArrays(contract, 'codes bytes', want.codes, got.codes, sameInt);
  if (want.scales.length && typedBytes(want.scales) !== typedBytes(got.scales)) {
    throw new ContractViolation(contract, `scales are ${typedBytes(got.scales)}-byte codes, expected ${typedBytes(want.scales)}`);
  }
  sameArrays(contract, 'scales', want.scales, got.scales, sameInt);
  sameArrays(contract, 'subScales bytes', want.subScales, got.subScales, sameInt);
  sameArrays(contract, 'offsets', want.offsets, got.offsets, sameInt);
  if (!Object.is(want.tensorScale, got.tensorScale)) throw new ContractViolation(contract, `tensorScale ${got.tensorScale}, expected ${want.tensorScale}`);
}

/**
 * The implementation equals the reference bit for bit: quantize gives the same codes, scales,
 * sub-scales, offsets and tensor scale; dequantize of the reference's tensor gives the same float32
 * bits (NaN matches NaN); fakeQuantize likewise; inputs the reference rejects are rejected too (with
 * the same error code when a MicroscaleError is thrown); no input array is modified. Each method the
 * implementation has is checked. Cases include unrepresentable inputs unless `representable` is set.
 */
export function bitExactWith(candidate: Implementation, config: ContractConfig = {}): fc.IAsyncProperty<[QuantizeCase]> {
  const C = 'bitExactWith';
  const reference = config.reference ?? referenceBackend;
  need(reference, C, 'quantize', 'dequantize');
  if (!candidate.quantize && !candidate.dequantize && !candidate.fakeQuantize) {
    throw new OptionError(`${C} needs an implementation with quantize(), dequantize() or fakeQuantize()`);
  }
  const cases = config.cases ?? casesFor(C, { ...config, representable: config.representable ?? false }, () => true);
  return fc.asyncProperty(cases, async (c) => {
    const want = await attempt(() => reference.quantize!(copy(c.x), c.format, c.options));
    if (!want.ok && !(want.error instanceof MicroscaleError)) throw want.error;
    if (candidate.quantize) {
      const input = copy(c.x);
      const got = await attempt(() => candidate.quantize!(input, c.format, c.options));
      sameArrays(C, 'quantize input (modified by the call)', c.x, input, sameFloat32);
      if (sameOutcome(C, 'quantize', c, want, got) && want.ok && got.ok) assertSameTensor(C, want.value, got.value);
    }
    if (candidate.dequantize && want.ok) {
      const expected = await reference.dequantize!(want.value);
      const got = await candidate.dequantize(want.value);
      sameArrays(C, `dequantize (${where(c)})`, expected, got, sameFloat32);
    }
    if (candidate.fakeQuantize) {
      const expected: Outcome<Float32Array> = want.ok ? { ok: true, value: await reference.dequantize!(want.value) } : want;
      const input = copy(c.x);
      const got = await attempt(() => candidate.fakeQuantize!(input, c.format, c.options));
      sameArrays(C, 'fakeQuantize input (modified by the call)', c.x, input, sameFloat32);
      if (sameOutcome(C, 'fakeQuantize', c, expected, got) && expected.ok && got.ok) {
        sameArrays(C, `fakeQuantize (${where(c)})`, expected.value, got.value, sameFloat32);
      }
    }
  });
}

// ---------------------------------------------------------------------------------- algebraic properties

/** True when some pow2 block of the case has its floor exponent below the scale's range (clamped up). */
function bottomClamped(f: Format, c: QuantizeCase): boolean {
  const map = blockMap(f, c.options, c.x.length);
  const smax = 2 ** ((c.options.scaleBits ?? f.scaleElement!.bits) - 1) - 1;
  for (let b = 0; b < map.blockStart.length; b++) {
    let amax = 0;
    for (let p = map.blockStart[b]!; p < map.blockStart[b]! + map.blockLength[b]!; p++) {
      const v = Math.abs(c.x[map.flat[p]!]!);
      if (v > amax && v !== Infinity) amax = v;
    }
    if (amax > 0 && flog2(amax) - f.element.emax < -smax) return true;
  }
  return false;
}

/** Equal float32 bits (NaN ≡ NaN), except that +0 and −0 are equal. */
export function sameUpToZeroSign(a: number, b: number): boolean {
  return (a === 0 && b === 0) || sameFloat32(a, b);
}

/**
 * fakeQuantize(fakeQuantize(x)) equals fakeQuantize(x) bit for bit (NaN ≡ NaN), on the formats and
 * options where that is a theorem ({@link idempotenceHolds}); other cases are skipped, as are
 * cases where a finite value of 2^128 or more dequantizes to ±Inf (a block under ceil, even or rceil
 * near FLT_MAX, or a generic element wider than float32), since ±Inf is read back as an infinity.
 * For pow2 blocks the sign of zero is exempt: a negative value that rounds to zero keeps its sign (−0), but
 * a block whose maximum is zero is written with +0 codes (and the microxcaling preset turns ±0
 * inputs into +0, as the emulator does), so a block of −0 outputs comes back as +0.
 */
export function idempotent(impl: Implementation, config: ContractConfig = {}): fc.IAsyncProperty<[QuantizeCase]> {
  const C = 'idempotent';
  const fq = fakeQuantizer(impl, config.reference ?? referenceBackend, C);
  const cases = casesFor(C, config, (f) => f.scheme !== 'scaled', { presets: restrictPresets(config, 'ggml') });
  return fc.asyncProperty(cases, async (c) => {
    fc.pre(idempotenceHolds(c.format, c.options));
    const once = await fq(copy(c.x), c.format, c.options);
    const f = parseFormat(c.format);
    const pow2Block = f.scheme === 'pow2';
    // A finite value of 2^128 or more (a block under ceil/even/rceil near FLT_MAX, or a generic
    // element wider than float32) dequantizes to ±Inf, which the second pass reads as an infinity
    // (NaN block, NaN or saturation): float32 cannot carry it, so such cases are skipped.
    if (pow2Block || f.element.maxFinite >= 2 ** 128) fc.pre(once.every((v, i) => Number.isFinite(v) || !Number.isFinite(c.x[i]!)));
    if (f.subBlock) fc.pre(!bottomClamped(f, c));
    const twice = await fq(copy(once), c.format, c.options);
    const eq = pow2Block ? sameUpToZeroSign : sameFloat32;
    sameArrays(C, `fakeQuantize twice vs once (${where(c)})`, once, twice, eq);
  });
}

/** The perturbation monotone applies to one element. */
export interface Perturbation {
  /** Which element (taken modulo the length). */
  readonly index: number;
  /** `ulps`: move by `amount` float32 steps; `inside`: a point at fraction `amount` of the range that
   * keeps the block's statistics; `any`: replace by `value`. */
  readonly kind: 'ulps' | 'inside' | 'any';
  readonly amount: number;
  readonly value: number;
}

const perturbation: fc.Arbitrary<Perturbation> = fc.record({
  index: fc.nat(),
  kind: fc.constantFrom<Perturbation['kind']>('ulps', 'inside', 'inside', 'any'),
  amount: fc.double({ min: 0, max: 1, noNaN: true }),
  value: fc.double({ noNaN: true, min: -3e38, max: 3e38 }).map(Math.fround),
});

/** `x` moved by `k` steps in the total order of float32 values (−0 and +0 count as one). */
function stepF32(x: number, k: number): number {
  const b = f32ToBits(x);
  const ordered = b >= 0x80000000 ? -(b - 0x80000000) : b;
  const moved = ordered + k;
  const bits = moved >= 0 ? moved : 0x80000000 - moved;
  return new Float32Array(new Uint32Array([bits >>> 0]).buffer)[0]!;
}

interface Neighbourhood {
  /** Largest |x| of the level-1 block without element `i`, and of its sub-block. */
  amax: number;
  subMax: number;
  lo: number;
  hi: number;
  finite: boolean;
}

function neighbourhood(map: BlockMap, x: Float32Array, pos: number): Neighbourhood {
  const b = map.block[pos]!;
  const start = map.blockStart[b]!;
  const len = map.blockLength[b]!;
  const out: Neighbourhood = { amax: 0, subMax: 0, lo: Infinity, hi: -Infinity, finite: true };
  for (let p = start; p < start + len; p++) {
    const v = x[map.flat[p]!]!;
    if (!Number.isFinite(v)) out.finite = false;
    if (p === pos) continue;
    out.amax = Math.max(out.amax, Math.abs(v));
    out.lo = Math.min(out.lo, v);
    out.hi = Math.max(out.hi, v);
    if (map.sub[p] === map.sub[pos]) out.subMax = Math.max(out.subMax, Math.abs(v));
  }
  if (map.sub[pos] === -1) out.subMax = Infinity;
  return out;
}

/** True when replacing `a` by `b` leaves the scale inputs of its block unchanged (max |x| strictly
 * above both, sub-block max at least both, both inside [min, max] of the others for affine formats). */
function keepsScale(f: Format, nb: Neighbourhood, a: number, b: number): boolean {
  if (!nb.finite || !Number.isFinite(b)) return false;
  for (const v of [a, b]) {
    if (!(Math.abs(v) < nb.amax) || Math.abs(v) > nb.subMax) return false;
    if (f.scaleRule === 'minMax' && (v < nb.lo || v > nb.hi)) return false;
  }
  return true;
}

/**
 * Monotone: x ≤ x′ ⇒ q(x) ≤ q(x′) for one element changed while its block's scale inputs stay fixed
 * (a scalar cast has none; a block keeps its max |x|, its sub-block max and, for affine formats, its
 * min and max), and every other element's output is unchanged. Rounding rne, rna or rtz (stochastic
 * rounding is not monotone). NaN outputs are not ordered and are skipped.
 */
export function monotone(impl: Implementation, config: ContractConfig = {}): fc.IAsyncProperty<[QuantizeCase, Perturbation]> {
  const C = 'monotone';
  const fq = fakeQuantizer(impl, config.reference ?? referenceBackend, C);
  const cases = casesFor(C, config, () => true, { roundings: restrictRoundings(config, ['rne', 'rna', 'rtz']) });
  return fc.asyncProperty(cases, perturbation, async (c, p) => {
    // ggml's reference quantizers are not monotone: with a saturated scale, its float32 nearest-code
    // search sees equal errors for every code and keeps code 0 (a huge value becomes 0).
    fc.pre(effectiveRounding(c.options) !== 'stochastic' && c.x.length > 0 && c.options.preset !== 'ggml');
    const f = parseFormat(c.format);
    const map = blockMap(f, c.options, c.x.length);
    const pos = p.index % c.x.length;
    const i = map.flat[pos]!;
    const old = c.x[i]!;
    let t: number;
    const nb = f.granularity === 'element' ? null : neighbourhood(map, c.x, pos);
    if (p.kind === 'ulps') t = stepF32(old, Math.round(p.amount * 8) - 4 || 1);
    else if (p.kind === 'inside' && nb) {
      let hi = Math.min(nb.amax, nb.subMax);
      let lo = -hi;
      if (f.scaleRule === 'minMax') {
        lo = Math.max(lo, nb.lo);
        hi = Math.min(hi, nb.hi);
      }
      t = Math.fround(lo + p.amount * (hi - lo));
    } else t = p.value;
    const y = copy(c.x);
    y[i] = t;
    t = representableFor(f, y)[i]!;
    y[i] = t;
    fc.pre(old === old && t === t && (nb === null || keepsScale(f, nb, old, t)));
    const qx = await fq(copy(c.x), c.format, c.options);
    const qy = await fq(y, c.format, c.options);
    for (let j = 0; j < qx.length; j++) {
      if (j === i) continue;
      if (!sameFloat32(qx[j]!, qy[j]!)) {
        throw new ContractViolation(C, `changing x[${i}] from ${show(old)} to ${show(t)} changed output ${j}: ${show(qx[j]!)} → ${show(qy[j]!)} (${where(c)})`);
      }
    }
    const a = qx[i]!;
    const b = qy[i]!;
    if (a !== a || b !== b) return;
    if ((old < t && a > b) || (old > t && a < b) || (old === t && a !== b)) {
      throw new ContractViolation(C, `x[${i}]: ${show(old)} → ${show(a)} but ${show(t)} → ${show(b)} (${where(c)})`);
    }
  });
}

function negate(x: Float32Array): Float32Array {
  const out = copy(x);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) bits[i] = (bits[i]! ^ 0x80000000) >>> 0;
  return out;
}

/** fakeQuantize(−x) = −fakeQuantize(x) as numbers (NaN ≡ NaN), where {@link signSymmetryHolds}. */
export function signSymmetric(impl: Implementation, config: ContractConfig = {}): fc.IAsyncProperty<[QuantizeCase]> {
  const C = 'signSymmetric';
  const fq = fakeQuantizer(impl, config.reference ?? referenceBackend, C);
  const cases = casesFor(C, config, (f) => signSymmetryHolds(f, {}), { roundings: restrictRoundings(config, ['rne', 'rna', 'rtz']) });
  return fc.asyncProperty(cases, async (c) => {
    fc.pre(signSymmetryHolds(c.format, c.options));
    const pos = await fq(copy(c.x), c.format, c.options);
    const neg = await fq(negate(c.x), c.format, c.options);
    sameArrays(C, `fakeQuantize(−x) vs −fakeQuantize(x) (${where(c)})`, pos.map((v) => -v), neg, (a, b) => (a !== a ? b !== b : a === b));
  });
}

// ---------------------------------------------------------------------------------- nearest representable

interface ElementGrid {
  /** Every finite value of the element, ascending, ±0 merged (null above 16 bits). */
  readonly values: Float64Array | null;
  readonly maxFinite: number;
}

const elementGrids = new WeakMap<ElementFormat, ElementGrid>();

function elementGrid(el: ElementFormat): ElementGrid {
  let g = elementGrids.get(el);
  if (!g) {
    let values: Float64Array | null = null;
    let maxFinite = el.kind === 'int' ? Math.max(el.kMax, -el.kMin) * pow2(-el.fracBits) : el.maxFinite;
    if (el.kind === 'int') {
      // Encodable values only: two's complement decodes −2^(b−1) (permissively) but never encodes it.
      values = new Float64Array(el.kMax - el.kMin + 1);
      for (let k = el.kMin; k <= el.kMax; k++) values[k - el.kMin] = k * pow2(-el.fracBits);
      maxFinite = el.maxFinite;
    } else if (el.bits <= 16) {
      const set = new Set<number>();
      for (let c = 0; c < el.codeCount; c++) {
        const v = decodeElement(el, c);
        if (Number.isFinite(v)) set.add(v === 0 ? 0 : v);
      }
      values = Float64Array.from(set).sort();
      maxFinite = Math.max(Math.abs(values[0]!), Math.abs(values[values.length - 1]!));
    }
    g = { values, maxFinite };
    elementGrids.set(el, g);
  }
  return g;
}

/** Index of the first grid value ≥ a (values.length when none). */
function lowerBound(values: Float64Array, a: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid]! < a) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first grid value > a. */
function upperBound(values: Float64Array, a: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid]! <= a) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Why `v` (the decoded element) is not the `mode` rounding of `a` on the element grid, or null when it is. */
function roundingError(el: ElementFormat, a: number, v: number, mode: Rounding): string | null {
  const grid = elementGrid(el);
  if (a !== a) return v !== v ? null : `NaN input encoded as ${v}`;
  const values = grid.values;
  if (!values) return v === a || (v !== v && a !== a) ? null : `${a} encoded as ${v} (the element holds every float32)`;
  if (!Number.isFinite(a)) {
    // ±Inf becomes ±Inf, NaN (overflow policy) or the grid's extreme value on that side.
    const extreme = a > 0 ? values[values.length - 1]! : values[0]!;
    return v === a || v !== v || v === extreme ? null : `${a} encoded as ${v}, expected ${extreme}`;
  }
  if (!Number.isFinite(v)) return Math.abs(a) > grid.maxFinite ? null : `finite ${a} (inside the range) encoded as ${v}`;
  const k = lowerBound(values, a);
  const above = k < values.length ? values[k]! : null;
  const below = above === a ? a : k > 0 ? values[k - 1]! : null;
  if (mode === 'rtz') {
    // The grid value of largest magnitude that does not pass a (zero side included).
    let want: number | null = null;
    if (a >= 0) {
      const j = upperBound(values, a) - 1;
      if (j >= 0 && values[j]! >= 0) want = values[j]!;
    } else {
      const j = lowerBound(values, a);
      if (j < values.length && values[j]! <= 0) want = values[j]!;
    }
    if (want === null) {
      // No grid value between a and zero (E8M0 has no zero): the smallest magnitude is the answer.
      let smallest = Infinity;
      for (const g of values) smallest = Math.min(smallest, Math.abs(g));
      return Math.abs(v) === smallest ? null : `rtz ${a} encoded as ${v}, expected magnitude ${smallest}`;
    }
    return v === want ? null : `rtz ${a} encoded as ${v}, expected ${want}`;
  }
  const dv = Math.abs(a - v);
  const dBelow = below === null ? Infinity : a - below;
  const dAbove = above === null ? Infinity : above - a;
  const best = Math.min(dBelow, dAbove);
  if (dv > best) return `${a} encoded as ${v}, but ${dBelow <= dAbove ? below : above} is closer`;
  if (below !== null && above !== null && dBelow === dAbove && below !== above) {
    // A tie: rne keeps the neighbour that is an even multiple of the spacing, rna the larger magnitude.
    if (mode === 'rne' && (Math.abs(v) / (above - below)) % 2 !== 0) return `tie ${a} between ${below} and ${above} went to ${v}, not the even one (rne)`;
    if (mode === 'rna' && Math.abs(v) < Math.max(Math.abs(below), Math.abs(above))) return `tie ${a} went to ${v}, toward zero (rna)`;
  }
  return null;
}

/**
 * Every element code is the rounding of its input on the block's grid: for rne and rna no finite
 * value of the element (times the block's scale) is strictly closer, and ties go to the even code
 * (rne) or away from zero (rna); for rtz the code is the first grid value toward zero. Overflow of a
 * scalar cast to Inf/NaN follows the element's policy; NaN-scale blocks must contain NaN/Inf or a
 * maximum too large for the scale; blocks flushed by `flushSubnormalBlocks` are skipped. Uses
 * quantize (codes and scales) of the implementation. Not a theorem under the ggml preset (ggml's
 * own rounding) or the microxcaling preset (the emulator's float32 log2 and half-add artefacts),
 * which are excluded.
 */
export function nearestRepresentable(impl: Implementation, config: ContractConfig = {}): fc.IAsyncProperty<[QuantizeCase]> {
  const C = 'nearestRepresentable';
  need(impl, C, 'quantize');
  const cases = casesFor(C, config, () => true, {
    roundings: restrictRoundings(config, ['rne', 'rna', 'rtz']),
    presets: restrictPresets(config, 'ggml', 'microxcaling'),
  });
  return fc.asyncProperty(cases, async (c) => {
    fc.pre(nearestHolds(c.format, c.options));
    const q = await impl.quantize!(copy(c.x), c.format, c.options);
    const f = q.format;
    const el = q.element;
    const map = blockMap(f, c.options, c.x.length);
    const codes = unpackCodes(q.codes, el.bits, q.length);
    const mode = effectiveRounding(c.options);
    const micro = q.options.preset === 'microxcaling';
    const taus = f.subBlock ? unpackCodes(q.subScales, f.subBlock.bits, q.layout.subScaleCount) : null;
    const scaleEl = q.scaleElement;
    const scaleValues = q.scaleValues();
    const offsetValues = f.scaleRule === 'minMax' ? Array.from(q.offsets, (o) => (scaleEl!.bits === 32 ? new Float32Array(new Uint32Array([o]).buffer)[0]! : decodeElement(scaleEl!, o))) : null;
    const blockAmax = new Float64Array(map.blockStart.length);
    const blockFinite = new Uint8Array(map.blockStart.length).fill(1);
    for (let p = 0; p < q.length; p++) {
      const v = c.x[map.flat[p]!]!;
      const b = map.block[p]!;
      if (!Number.isFinite(v)) blockFinite[b] = 0;
      else blockAmax[b] = Math.max(blockAmax[b]!, Math.abs(v));
    }
    for (let p = 0; p < q.length; p++) {
      const i = map.flat[p]!;
      const x = c.x[i]!;
      const b = map.block[p]!;
      let a: number;
      if (f.scheme === 'cast') {
        a = x;
      } else if (f.scheme === 'pow2') {
        const scale = scaleValues[b]!;
        if (scale !== scale) {
          const smax = 2 ** (scaleEl!.bits - 1) - 1;
          if (!blockFinite[b] || (blockAmax[b]! > 0 && flog2(blockAmax[b]!) >= smax + el.emax)) continue;
          throw new ContractViolation(C, `block ${b} has the NaN scale but its inputs are finite with max ${blockAmax[b]} (${where(c)})`);
        }
        if (q.options.flushSubnormalBlocks && blockAmax[b]! < pow2(-126)) continue;
        const tau = taus ? taus[map.sub[p]!]! : 0;
        a = x * pow2(tau - flog2(scale));
        if (micro) a = Math.fround(a) || 0;
      } else {
        const dq = scaleValues[b]!;
        if (dq !== dq) {
          if (!blockFinite[b]) continue;
          throw new ContractViolation(C, `block ${b} has a NaN scale but finite inputs (${where(c)})`);
        }
        const total = f.tensorScale ? Math.fround(q.tensorScale * dq) : dq;
        const centred = offsetValues ? Math.fround(x - offsetValues[b]!) : x;
        a = total === 0 ? centred * 0 : Math.fround(centred / total);
      }
      const why = roundingError(el, a, decodeElement(el, codes[p]!), mode);
      if (why) throw new ContractViolation(C, `element ${i} (x = ${show(x)}): ${why} (${where(c)})`);
    }
  });
}

// ---------------------------------------------------------------------------------- scale equivariance

/**
 * Multiplying a power-of-two block by 2^k (exactly, in float32) adds k to its scale code and leaves
 * its element codes and microexponents unchanged. Blocks are exempt when they are all zero, hold
 * NaN/Inf, use the lowest or the NaN scale code before or after (clamped, saturated), are flushed by
 * `flushSubnormalBlocks`, or do not scale exactly in float32. Uses quantize of the implementation.
 * The ggml and microxcaling presets are excluded: their float32 log2 rounds up in the top N values
 * of a binade, and N differs between binades.
 */
export function scaleEquivariant(impl: Implementation, config: ContractConfig = {}): fc.IAsyncProperty<[QuantizeCase, number]> {
  const C = 'scaleEquivariant';
  need(impl, C, 'quantize');
  const cases = casesFor(C, config, (f) => f.scheme === 'pow2', { presets: restrictPresets(config, 'ggml', 'microxcaling') });
  const shift = fc.integer({ min: -20, max: 20 }).filter((k) => k !== 0);
  return fc.asyncProperty(cases, shift, async (c, k) => {
    fc.pre(scaleEquivarianceApplies(c.format, c.options));
    const f = parseFormat(c.format);
    const n = c.x.length;
    const y = new Float32Array(n);
    const exact = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const v = c.x[i]! * pow2(k);
      y[i] = v;
      exact[i] = Number.isFinite(v) && y[i] === v && (v !== 0 || c.x[i] === 0) ? 1 : 0;
    }
    const q1 = await impl.quantize!(copy(c.x), c.format, c.options);
    const q2 = await impl.quantize!(y, c.format, c.options);
    const map = blockMap(f, c.options, n);
    const el = q1.element;
    const c1 = unpackCodes(q1.codes, el.bits, n);
    const c2 = unpackCodes(q2.codes, el.bits, n);
    const sub = f.subBlock;
    const t1 = sub ? unpackCodes(q1.subScales, sub.bits, q1.layout.subScaleCount) : null;
    const t2 = sub ? unpackCodes(q2.subScales, sub.bits, q2.layout.subScaleCount) : null;
    const nanCode = 2 ** q1.scaleElement!.bits - 1;
    const flush = q1.options.flushSubnormalBlocks;
    for (let b = 0; b < map.blockStart.length; b++) {
      const start = map.blockStart[b]!;
      const len = map.blockLength[b]!;
      let amax = 0;
      let ok = true;
      for (let p = start; p < start + len; p++) {
        const i = map.flat[p]!;
        if (!exact[i]) ok = false;
        amax = Math.max(amax, Math.abs(c.x[i]!));
      }
      const s1 = q1.scales[b]!;
      const s2 = q2.scales[b]!;
      if (!ok || amax === 0 || s1 === 0 || s2 === 0 || s1 === nanCode || s2 === nanCode) continue;
      if (flush && Math.min(amax, amax * pow2(k)) < pow2(-126)) continue;
      if (s2 !== s1 + k) throw new ContractViolation(C, `block ${b}: scale code ${s1} became ${s2} after scaling by 2^${k}, expected ${s1 + k} (${where(c)})`);
      for (let p = start; p < start + len; p++) {
        if (c1[p] !== c2[p]) throw new ContractViolation(C, `block ${b}: element ${map.flat[p]} code ${c1[p]} became ${c2[p]} after scaling by 2^${k} (${where(c)})`);
        if (t1 && t1[map.sub[p]!] !== t2![map.sub[p]!]) throw new ContractViolation(C, `block ${b}: microexponent of element ${map.flat[p]} changed after scaling by 2^${k} (${where(c)})`);
      }
    }
  });
}

// ---------------------------------------------------------------------------------- packing

/** The packing functions under test (defaults: the core's). */
export interface Packing {
  packCodes(codes: ArrayLike<number>, bits: number, count?: number): Uint8Array;
  unpackCodes(bytes: Uint8Array, bits: number, count: number): ArrayLike<number>;
  adjacentToGgmlSplit(packed: Uint8Array, count: number, group?: number): Uint8Array;
  ggmlSplitToAdjacent(split: Uint8Array, count: number, group?: number): Uint8Array;
  fp6LsbToMsb(packed: Uint8Array, count: number): Uint8Array;
  fp6MsbToLsb(packed: Uint8Array, count: number): Uint8Array;
}

/** The core's packing functions. */
export const CORE_PACKING: Packing = Object.freeze({ packCodes, unpackCodes, adjacentToGgmlSplit, ggmlSplitToAdjacent, fp6LsbToMsb, fp6MsbToLsb });

/** Codes of one width for {@link packRoundTrip}. */
export interface PackCase {
  readonly bits: number;
  readonly codes: readonly number[];
  /** 4-bit codes in whole ggml groups and the group size (16 or 32). */
  readonly nibbles: readonly number[];
  readonly group: number;
  /** 6-bit codes, any count. */
  readonly fp6: readonly number[];
}

const packCase: fc.Arbitrary<PackCase> = fc
  .record({
    bits: fc.integer({ min: 1, max: 32 }),
    raw: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 70 }),
    group: fc.constantFrom(16, 32),
    groups: fc.integer({ min: 0, max: 3 }),
    nib: fc.array(fc.integer({ min: 0, max: 15 }), { minLength: 96, maxLength: 96 }),
    fp6: fc.array(fc.integer({ min: 0, max: 63 }), { maxLength: 41 }),
  })
  .map(({ bits, raw, group, groups, nib, fp6 }) => ({
    bits,
    codes: raw.map((r) => (bits === 32 ? r : r % 2 ** bits)),
    nibbles: nib.slice(0, group * groups),
    group,
    fp6,
  }));

function bitAt(bytes: Uint8Array, i: number): number {
  return (bytes[i >>> 3]! >>> (i & 7)) & 1;
}

/**
 * Packing round trips and layouts: unpack(pack(codes)) = codes for every width 1…32, with
 * ceil(n·bits/8) bytes, code i in stream bits [i·bits, (i+1)·bits) LSB first, zero padding, and
 * pack(unpack(bytes)) = bytes; ggml split order (element j low nibble, j + group/2 high nibble of
 * byte j of each group) round trips with the adjacent order; FP6 MSB-first words
 * (v0<<18 | v1<<12 | v2<<6 | v3, big-endian) round trip with the LSB-first stream.
 */
export function packRoundTrip(packing: Packing = CORE_PACKING): fc.IAsyncProperty<[PackCase]> {
  const C = 'packRoundTrip';
  return fc.asyncProperty(packCase, async (p) => {
    const n = p.codes.length;
    const packed = packing.packCodes(p.codes, p.bits);
    if (packed.length !== packedByteLength(n, p.bits)) throw new ContractViolation(C, `${n} ${p.bits}-bit codes packed into ${packed.length} bytes, expected ${packedByteLength(n, p.bits)}`);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < p.bits; j++) {
        if (bitAt(packed, i * p.bits + j) !== Math.floor(p.codes[i]! / 2 ** j) % 2) throw new ContractViolation(C, `bit ${j} of ${p.bits}-bit code ${i} is not at stream bit ${i * p.bits + j}`);
      }
    }
    for (let s = n * p.bits; s < packed.length * 8; s++) if (bitAt(packed, s)) throw new ContractViolation(C, `padding bit ${s} is set (${p.bits}-bit codes)`);
    sameArrays(C, `unpack(pack(${p.bits}-bit codes))`, p.codes, packing.unpackCodes(packed, p.bits, n), sameInt);
    sameArrays(C, `pack(unpack(bytes)) (${p.bits} bits)`, packed, packing.packCodes(packing.unpackCodes(packed, p.bits, n), p.bits, n), sameInt);

    const count = p.nibbles.length;
    const adjacent = packing.packCodes(p.nibbles, 4);
    const split = packing.adjacentToGgmlSplit(adjacent, count, p.group);
    const half = p.group / 2;
    for (let g = 0; g < count; g += p.group) {
      for (let j = 0; j < half; j++) {
        const byte = split[g / 2 + j]!;
        if ((byte & 15) !== p.nibbles[g + j] || byte >> 4 !== p.nibbles[g + j + half]) {
          throw new ContractViolation(C, `ggml split byte ${g / 2 + j} (group ${p.group}) does not hold elements ${g + j} and ${g + j + half}`);
        }
      }
    }
    sameArrays(C, `ggmlSplitToAdjacent(adjacentToGgmlSplit) (group ${p.group})`, adjacent, packing.ggmlSplitToAdjacent(split, count, p.group), sameInt);

    const lsb = packing.packCodes(p.fp6, 6);
    const msb = packing.fp6LsbToMsb(lsb, p.fp6.length);
    if (msb.length !== lsb.length) throw new ContractViolation(C, `FP6 MSB-first packing of ${p.fp6.length} codes has ${msb.length} bytes, expected ${lsb.length}`);
    for (let i = 0; i + 4 <= p.fp6.length; i += 4) {
      const o = (i / 4) * 3;
      const w = (msb[o]! << 16) | (msb[o + 1]! << 8) | msb[o + 2]!;
      const want = (p.fp6[i]! << 18) | (p.fp6[i + 1]! << 12) | (p.fp6[i + 2]! << 6) | p.fp6[i + 3]!;
      if (w !== want) throw new ContractViolation(C, `FP6 MSB-first word ${i / 4} is 0x${w.toString(16)}, expected 0x${want.toString(16)}`);
    }
    sameArrays(C, 'fp6MsbToLsb(fp6LsbToMsb)', lsb, packing.fp6MsbToLsb(msb, p.fp6.length), sameInt);
  });
}

// ---------------------------------------------------------------------------------- serialization

/** The container functions under test (defaults: QuantizedTensor.toBytes / fromBytes). */
export interface Container {
  toBytes(q: QuantizedTensor): Uint8Array;
  fromBytes(bytes: Uint8Array): QuantizedTensor;
}

/** The core's container. */
export const CORE_CONTAINER: Container = Object.freeze({ toBytes: (q: QuantizedTensor) => q.toBytes(), fromBytes: (b: Uint8Array) => QuantizedTensor.fromBytes(b) });

/** Options of the serialization contracts. */
export interface SerializeConfig extends ContractConfig {
  readonly container?: Container;
}

/**
 * fromBytes(toBytes(q)) is the same tensor: identical bytes when written again, identical codes,
 * scales, options and tensor scale, and bit-identical dequantized values (NaN ≡ NaN); reading the
 * bytes from inside a larger buffer at an odd offset gives the same tensor.
 */
export function serializeRoundTrip(impl: Implementation, config: SerializeConfig = {}): fc.IAsyncProperty<[QuantizeCase]> {
  const C = 'serializeRoundTrip';
  need(impl, C, 'quantize');
  const reference = config.reference ?? referenceBackend;
  const deq = impl.dequantize ?? reference.dequantize;
  if (!deq) throw new OptionError(`${C} needs dequantize() on the implementation or the reference`);
  const box = config.container ?? CORE_CONTAINER;
  return fc.asyncProperty(casesFor(C, config, () => true), async (c) => {
    const q = await impl.quantize!(copy(c.x), c.format, c.options);
    const bytes = box.toBytes(q);
    const back = box.fromBytes(bytes.slice());
    assertSameTensor(C, q, back);
    sameArrays(C, 'toBytes(fromBytes(bytes))', bytes, box.toBytes(back), sameInt);
    const shifted = new Uint8Array(bytes.length + 5);
    shifted.set(bytes, 3);
    assertSameTensor(C, q, box.fromBytes(shifted.subarray(3, 3 + bytes.length)));
    sameArrays(C, `dequantize after the round trip (${where(c)})`, await deq(q), await deq(back), sameFloat32);
  });
}

const pad8 = (n: number) => (n + 7) & ~7;

/**
 * Serialized sizes: codes take ceil(n·bits/8) bytes; the container is the 16-byte prefix plus the
 * header, then codes, scales, sub-scales and offsets, each padded to 8 bytes; and the payload is
 * bitsPerElement × n bits up to byte rounding (< 8 bits per packed section) plus the per-row or
 * per-tensor scales that bitsPerElement leaves out. The last clause is checked with the format's
 * own block size and scale width and whole blocks in every row (partial blocks store a full scale).
 */
export function serializedSize(impl: Implementation, config: SerializeConfig = {}): fc.IAsyncProperty<[QuantizeCase]> {
  const C = 'serializedSize';
  need(impl, C, 'quantize');
  const box = config.container ?? CORE_CONTAINER;
  return fc.asyncProperty(casesFor(C, config, () => true), async (c) => {
    const q = await impl.quantize!(copy(c.x), c.format, c.options);
    const f = q.format;
    const n = q.length;
    const L = q.layout;
    if (q.codes.length !== packedByteLength(n, q.element.bits)) {
      throw new ContractViolation(C, `${n} ${q.element.bits}-bit codes take ${q.codes.length} bytes, expected ${packedByteLength(n, q.element.bits)} (${where(c)})`);
    }
    // power-of-two exponents narrower than a byte are bit-packed in the container
    const narrow = f.scheme === 'pow2' && q.scaleElement !== null && q.scaleElement.bits < 8 ? q.scaleElement.bits : 0;
    const scaleBytes = narrow ? packedByteLength(q.scales.length, narrow) : q.scales.length * q.scales.BYTES_PER_ELEMENT;
    const sections = [q.codes.length, scaleBytes, q.subScales.length, q.offsets.length * q.offsets.BYTES_PER_ELEMENT];
    const bytes = box.toBytes(q);
    const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
    const framed = pad8(16 + headerLength) + sections.reduce((s, b) => s + pad8(b), 0);
    if (bytes.length !== framed) throw new ContractViolation(C, `container has ${bytes.length} bytes, expected ${framed} (prefix, ${headerLength}-byte header, padded sections) (${where(c)})`);
    const defaultScaleBits = f.scheme !== 'pow2' || q.options.scaleBits === f.scaleElement!.bits;
    const canonical =
      defaultScaleBits &&
      (f.granularity !== 'block' ||
        (L.blockSize === f.blockSize && L.rowLength % L.blockSize === 0 && (!f.subBlock || L.rowLength % f.subBlock.size === 0)));
    if (!canonical || n === 0) return;
    const payloadBits = 8 * sections.reduce((s, b) => s + b, 0);
    const outside = f.granularity === 'axis' || f.granularity === 'tensor' ? 8 * (sections[1]! + sections[3]!) : 0;
    const extra = payloadBits - n * f.bitsPerElement - outside;
    if (extra < -1e-9 || extra >= 16) {
      throw new ContractViolation(
        C,
        `payload is ${payloadBits} bits for ${n} elements at ${f.bitsPerElement} bits per element (+${outside} bits of row/tensor scales): ${extra} bits off (${where(c)})`,
      );
    }
  });
}

// ---------------------------------------------------------------------------------- matmul

/** Options of {@link matmulErrorBound}. */
export interface MatmulConfig extends MatmulCaseConstraints {
  readonly cases?: fc.Arbitrary<MatmulCase>;
  /** Relative bound; default the implementation's capabilities.matmulRelativeBound. */
  readonly bound?: number;
  /** Quantizes the weights when the implementation has no quantize, and dequantizes for the float64 sum. */
  readonly reference?: Implementation;
}

/**
 * matmul is within its stated error: for every output |y − y64| ≤ bound · Σ|a·w| + 2^−149, where
 * y64 is the float64 sum of the exactly dequantized operands and the last term is the float32
 * subnormal spacing (an output below 2^−126 cannot be closer than that).
 */
export function matmulErrorBound(impl: Implementation, config: MatmulConfig = {}): fc.IAsyncProperty<[MatmulCase]> {
  const C = 'matmulErrorBound';
  need(impl, C, 'matmul');
  const reference = config.reference ?? referenceBackend;
  need(reference, C, 'quantize', 'dequantize');
  const bound = config.bound ?? impl.capabilities?.matmulRelativeBound;
  if (typeof bound !== 'number' || !(bound >= 0)) {
    throw new OptionError(`${C} needs a bound: pass config.bound or give the implementation capabilities.matmulRelativeBound`);
  }
  const quantizer = impl.quantize ? impl : reference;
  return fc.asyncProperty(config.cases ?? matmulCase(config), async (c) => {
    const w = await quantizer.quantize!(copy(c.w), c.format, c.options);
    const aq = c.quantizeA ? await quantizer.quantize!(copy(c.a), c.format, { ...c.options, shape: [c.m, c.k] }) : null;
    const y = await impl.matmul!(aq ?? copy(c.a), w, { m: c.m });
    const wv = await reference.dequantize!(w);
    const av = aq ? await reference.dequantize!(aq) : c.a;
    if (y.length !== c.m * c.n) throw new ContractViolation(C, `output has ${y.length} values, expected m·N = ${c.m * c.n}`);
    for (let i = 0; i < c.m; i++) {
      for (let j = 0; j < c.n; j++) {
        let sum = 0;
        let mag = 0;
        for (let k = 0; k < c.k; k++) {
          const p = av[i * c.k + k]! * wv[j * c.k + k]!;
          sum += p;
          mag += Math.abs(p);
        }
        const got = y[i * c.n + j]!;
        if (sum !== sum || !Number.isFinite(mag)) {
          if (sum !== sum && got === got) throw new ContractViolation(C, `y[${i}, ${j}] = ${got}, expected NaN (${c.format})`);
          continue;
        }
        const err = Math.abs(got - sum);
        if (!(err <= bound * mag + pow2(-149))) {
          throw new ContractViolation(C, `y[${i}, ${j}] = ${show(got)}, float64 sum ${sum}: error ${err} > ${bound} · ${mag} (${c.format}, K = ${c.k})`);
        }
      }
    }
  });
}
