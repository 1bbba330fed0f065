// The conformance suite of the format core. One function defines it; every backend's test file
// calls it with a factory:
//   defineConformanceSuite('wasm', () => createWasmBackend());
// Each check compares the backend with the reference backend and with the independent oracle in
// ./oracle.ts (which shares no code with src/formats/reference). quantize, dequantize and
// fakeQuantize must be bit-exact (any NaN matches any NaN); matmul is held to the backend's
// declared bound against a float64 sum.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EncodingError,
  MicroscaleError,
  QuantizedTensor,
  decodeElement,
  encodeElement,
  fromGgmlBlocks,
  getFormat,
  listFormats,
  referenceBackend,
  stochasticUniform,
  toGgmlBlocks,
  type Backend,
  type ElementFormat,
  type Format,
  type QuantizeOptions,
  type Rounding,
} from '../../src/index.js';
import {
  OracleEncodingError,
  bitsF32,
  decodeCode,
  elementTable,
  encodeValue,
  f32Bits,
  oracleQuantize,
  packLsbFirst,
  uniformFor,
  unpackLsbFirst,
  type ElementTable,
  type OracleOptions,
} from './oracle.js';
import { rng } from '../helpers/random.js';
import { GGML_DECODE_CASES, GGML_ZERO_BLOCK, MICROXCALING_ARTEFACTS } from './reproducers.js';

// ------------------------------------------------------------------------------- shared helpers

const ROUNDINGS: readonly Rounding[] = ['rne', 'rna', 'rtz', 'stochastic'];

/** Named elements of at most 8 value bits. */
export const NAMED_SMALL_ELEMENTS = ['fp8_e4m3', 'fp8_e5m2', 'fp6_e3m2', 'fp6_e2m3', 'fp4_e2m1', 'e8m0', 'ue4m3', 'int8', 'int4', 'int2'];

/** Generic elements that exercise descriptor parameters the named ones leave fixed. */
export const GENERIC_SMALL_ELEMENTS = [
  'fp(e=4,m=3,nan=ones,sat=0)', // OFP8 E4M3 without saturation: overflow → NaN
  'fp(e=5,m=2,inf=1,sat=0)', // OFP8 E5M2 without saturation: overflow → Inf
  'fp(e=5,m=2,inf=1)', // saturating E5M2 that still keeps ±Inf
  'fp(e=3,m=2,sub=0)', // no subnormals
  'fp(e=3,m=0)', // no mantissa bits
  'fp(e=4,m=2,bias=12)', // non-IEEE bias
  'fp(e=4,m=3,signed=0)', // unsigned
  'int(b=6,f=3,enc=offset)',
  'int(b=3,f=0,enc=unsigned)',
];

/** Every element of ≤ 8 bits reachable by name: the named ones, the elements of catalog formats
 * (BDR, ggml and software int(...) elements), and the generic extras. Keys are scalar format names. */
export function smallElementNames(): string[] {
  const names = new Set<string>(NAMED_SMALL_ELEMENTS);
  for (const f of listFormats()) if (f.element.bits <= 8) names.add(f.element.name);
  for (const g of GENERIC_SMALL_ELEMENTS) names.add(getFormat(g).element.name);
  return [...names];
}

function isNaNBits(b: number): boolean {
  return (b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0;
}

function hex(b: number): string {
  return '0x' + (b >>> 0).toString(16).padStart(8, '0');
}

/** Positions where two float32 arrays differ bit for bit (any NaN matches any NaN). */
function f32Mismatches(got: Float32Array, want: Float32Array, input?: Float32Array, limit = 5): string[] {
  const bad: string[] = [];
  if (got.length !== want.length) return [`length ${got.length}, want ${want.length}`];
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  let count = 0;
  for (let i = 0; i < g.length; i++) {
    if (g[i] === w[i] || (isNaNBits(g[i]!) && isNaNBits(w[i]!))) continue;
    count++;
    if (bad.length < limit) {
      const x = input ? ` input ${input[i]} (${hex(f32Bits(input[i]!))})` : '';
      bad.push(`[${i}]${x}: got ${got[i]} (${hex(g[i]!)}), want ${want[i]} (${hex(w[i]!)})`);
    }
  }
  if (count > limit) bad.push(`… ${count} mismatches in all`);
  return bad;
}

/** Positions where two float64 arrays differ (Object.is; any NaN matches any NaN). */
function f64Mismatches(got: ArrayLike<number>, want: ArrayLike<number>, limit = 5): string[] {
  if (got.length !== want.length) return [`length ${got.length}, want ${want.length}`];
  const bad: string[] = [];
  for (let i = 0; i < got.length && bad.length < limit; i++) {
    const a = got[i]!;
    const b = want[i]!;
    if (Object.is(a, b) || (a !== a && b !== b)) continue;
    bad.push(`[${i}]: got ${a}, want ${b}`);
  }
  return bad;
}

function bytesMismatch(what: string, got: ArrayLike<number>, want: ArrayLike<number>): string[] {
  if (got.length !== want.length) return [`${what}: length ${got.length}, want ${want.length}`];
  for (let i = 0; i < got.length; i++) {
    if (got[i] !== want[i]) return [`${what}[${i}]: got ${got[i]}, want ${want[i]}`];
  }
  return [];
}

function shuffled<T extends { length: number; [i: number]: number }>(a: T, seed: number): T {
  const next = rng(seed);
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a;
}

function f32FromBits(bits: Uint32Array): Float32Array {
  return new Float32Array(bits.buffer, bits.byteOffset, bits.length);
}

/** Every bf16 bit pattern as a float32 (pattern << 16), in pattern order. */
export function allBf16(): Float32Array {
  const u = new Uint32Array(65536);
  for (let i = 0; i < 65536; i++) u[i] = i << 16;
  return f32FromBits(u);
}

async function attempt<T>(f: () => T | Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await f() };
  } catch (error) {
    return { ok: false, error };
  }
}

function errorClass(e: unknown): string {
  return e instanceof Error ? e.constructor.name : typeof e;
}

/** Random float32 values spread over [lo, hi] in magnitude on a log scale, random sign. */
function logSpread(n: number, lo: number, hi: number, seed: number, signed = true): Float32Array {
  const next = rng(seed);
  const out = new Float32Array(n);
  const a = Math.log2(lo);
  const b = Math.log2(hi);
  for (let i = 0; i < n; i++) {
    const v = 2 ** (a + (b - a) * next());
    out[i] = signed && next() < 0.5 ? -v : v;
  }
  return out;
}

/** Random finite-or-not float32 bit patterns. */
function rawPatterns(n: number, seed: number): Float32Array {
  const next = rng(seed);
  const u = new Uint32Array(n);
  for (let i = 0; i < n; i++) u[i] = Math.floor(next() * 4294967296);
  return f32FromBits(u);
}

// ------------------------------------------------------------------------------- the suite

/** The parts of the suite; a backend's test files together must define all of them. */
export const CONFORMANCE_PARTS = ['elements', 'bf16', 'shapes', 'matmul'] as const;
export type ConformancePart = (typeof CONFORMANCE_PARTS)[number];

/**
 * Define the conformance suite for one backend. `makeBackend` is called once before the tests;
 * the backend is disposed after them. `parts` (default all) lets a slow backend spread the suite
 * over several test files, which run in parallel.
 */
export function defineConformanceSuite(label: string, makeBackend: () => Promise<Backend> | Backend, parts: readonly ConformancePart[] = CONFORMANCE_PARTS): void {
  const has = (p: ConformancePart) => parts.includes(p);
  describe(`conformance: ${label}${parts.length < CONFORMANCE_PARTS.length ? ` (${parts.join(', ')})` : ''}`, () => {
    let backend: Backend;
    beforeAll(async () => {
      backend = await makeBackend();
    });
    afterAll(async () => {
      await backend?.dispose();
    });

    it('declares its capabilities', () => {
      const c = backend.capabilities;
      expect(typeof c.name).toBe('string');
      expect(c.bitExact).toBe(true);
      expect(c.matmulRelativeBound).toBeGreaterThan(0);
      expect(c.matmulRelativeBound).toBeLessThan(1);
      expect(Number.isInteger(c.threads) && c.threads >= 1).toBe(true);
      expect(Object.isFrozen(c)).toBe(true);
    });

    it('oracle: the stochastic-rounding stream matches its documented definition', () => {
      for (const seed of [0, 1, 7, 0xffffffff, 123456789]) {
        for (const i of [0, 1, 2, 31, 32, 1000, 65535, 2 ** 31, 2 ** 32 - 1]) {
          expect(uniformFor(seed, i)).toBe(stochasticUniform(seed, i));
        }
      }
    });

    if (has('shapes')) describe('reproducers of the references\' behaviour (issue #10)', () => {
      for (const c of MICROXCALING_ARTEFACTS) {
        it(`microxcaling: ${c.label}`, async () => {
          const x = new Float32Array(Uint32Array.from(c.input).buffer);
          const want = new Float32Array(Uint32Array.from(c.want).buffer);
          expect(f32Mismatches(await backend.fakeQuantize(x, c.format, c.options), want, x)).toEqual([]);
        });
      }
      it('ggml_mxfp4: an all-zero block holding −0 is written as ggml writes it (all bytes 0)', async () => {
        const q = await backend.quantize(Float32Array.from(GGML_ZERO_BLOCK.input), GGML_ZERO_BLOCK.format, { preset: 'ggml' });
        expect(Array.from(toGgmlBlocks(q))).toEqual(GGML_ZERO_BLOCK.wantBlock);
        expect(Object.is((await backend.dequantize(q))[0], 0)).toBe(true);
      });
      for (const c of GGML_DECODE_CASES) {
        it(c.label, async () => {
          const n = c.format === 'ggml_nvfp4' ? 64 : 32;
          const got = new Uint32Array((await backend.dequantize(fromGgmlBlocks(Uint8Array.from(c.bytes), c.format, [n]))).buffer);
          for (const [i, bits] of Object.entries(c.want)) expect(hex(got[Number(i)]!)).toBe(hex(bits));
        });
      }
    });

    if (has('elements')) {
      describe('every code of every ≤ 8-bit element', () => {
        for (const name of smallElementNames()) {
          describe(name, () => defineElementTests(name, () => backend));
        }
      });
    }

    if (has('bf16')) describe('all 65,536 bf16 patterns through every format, equal to the oracle', () => {
      for (const run of bf16Runs()) {
        it(run.label, async () => {
          const bad = await checkBf16Run(backend, run);
          expect(bad).toEqual([]);
        });
      }
    });

    if (has('shapes')) describe('sizes, shapes and special values: backend equals reference and oracle', () => {
      for (const f of [...listFormats(), ...GENERIC_BLOCK_FORMATS.map((g) => getFormat(g))]) {
        it(f.name, async () => {
          const bad = await checkShapes(backend, f);
          expect(bad).toEqual([]);
        });
      }
    });

    if (has('matmul')) describe('matmul within the declared bound of a float64 reference', () => {
      for (const w of MATMUL_FORMATS) {
        it(`w: ${w.format}${w.activation ? `, a: ${w.activation}` : ''}`, async () => {
          const bad = await checkMatmul(backend, w.format, w.activation);
          expect(bad).toEqual([]);
        });
      }
    });
  });
}

// ------------------------------------------------------------------------------- element codes

/** A quantized tensor of the scalar format `name` holding exactly `codes` (built from a reference template). */
async function tensorOfCodes(name: string, codes: ArrayLike<number>, bits: number): Promise<QuantizedTensor> {
  const template = await referenceBackend.quantize(new Float32Array(codes.length), name);
  return new QuantizedTensor({
    format: template.format,
    options: template.options,
    codes: packLsbFirst(codes, bits),
    scales: template.scales,
    subScales: template.subScales,
    offsets: template.offsets,
    tensorScale: template.tensorScale,
  });
}

/** Codes whose value the encoder reproduces: canonical codes of finite values and the ±Inf codes. */
function roundTripCodes(t: ElementTable, el: ElementFormat): number[] {
  const out: number[] = [];
  for (const side of [t.pos, t.neg]) for (const c of side.codes) out.push(c);
  // a saturating element encodes ±Inf as ±max finite (OFP8 saturating mode): no round trip
  if (t.posInfCode >= 0 && !(el.kind === 'float' && el.overflow === 'saturate')) out.push(t.posInfCode, t.negInfCode);
  return [...new Set(out)].sort((a, b) => a - b);
}

/** Sorted sweep of inputs across the element's range: grid values, midpoints, quarter points, beyond. */
function sweep(t: ElementTable, withNegatives: boolean): number[] {
  const vals: number[] = [];
  const mags = t.pos.mags;
  for (let i = 0; i < mags.length; i++) {
    const a = mags[i]!;
    vals.push(a);
    if (i + 1 < mags.length) {
      const b = mags[i + 1]!;
      vals.push((a + b) / 2, a + (b - a) / 4, a + (3 * (b - a)) / 4);
    }
  }
  const top = t.maxValue;
  vals.push(top + t.topGap / 4, top + t.topGap / 2, top + t.topGap, top * 4, 3e38, mags[0]! / 2, mags[0]! / 4);
  if (mags[0] === 0) vals.push(mags[1]! / 2, mags[1]! / 4, mags[1]! / 8, 1e-45);
  const pos = vals.map((v) => Math.fround(v)).filter((v) => v >= 0 && Number.isFinite(v));
  const all = withNegatives ? [...pos, ...pos.map((v) => -v)] : pos;
  return [...new Set(all)].sort((a, b) => a - b);
}

function defineElementTests(name: string, getBackend: () => Backend): void {
  const format = getFormat(name);
  const el = format.element;
  const t = elementTable(el);
  const bits = el.bits;
  const signBitCode = el.kind === 'float' && el.signed ? 2 ** (el.expBits + el.manBits) : el.kind === 'int' && el.encoding === 'signmag' ? 2 ** (el.bits - 1) : -1;
  const overflow = el.kind === 'float' ? el.overflow : 'saturate';

  it(`decodes all ${t.codeCount} codes like the oracle (backend dequantize and the core codec)`, async () => {
    const codes = Array.from({ length: t.codeCount }, (_, c) => c);
    const q = await tensorOfCodes(name, codes, bits);
    const got = await getBackend().dequantize(q);
    const want = Float32Array.from(t.values);
    expect(f32Mismatches(got, want)).toEqual([]);
    const codec = codes.map((c) => decodeElement(el, c));
    expect(f64Mismatches(codec, t.values)).toEqual([]);
  });

  it('decoded values are monotone over codes sorted by value', async () => {
    const codes = Array.from({ length: t.codeCount }, (_, c) => c).filter((c) => !Number.isNaN(t.values[c]!));
    codes.sort((a, b) => t.values[a]! - t.values[b]! || a - b);
    const q = await tensorOfCodes(name, codes, bits);
    const got = await getBackend().dequantize(q);
    for (let i = 1; i < got.length; i++) {
      if (!(got[i - 1]! <= got[i]!)) throw new Error(`code ${codes[i - 1]} → ${got[i - 1]} is above code ${codes[i]} → ${got[i]}`);
    }
  });

  it('decode → encode round trip of every code', async () => {
    const codes = roundTripCodes(t, el);
    const x = Float32Array.from(codes, (c) => t.values[c]!);
    const b = getBackend();
    const q = await b.quantize(x, name);
    const got = unpackLsbFirst(q.codes, bits, x.length);
    const bad: string[] = [];
    codes.forEach((c, i) => {
      if (got[i] !== c) bad.push(`value ${x[i]} (code ${c}) encoded as ${got[i]}`);
    });
    expect(bad.slice(0, 5)).toEqual([]);
    expect(f32Mismatches(await b.dequantize(q), x, x)).toEqual([]);
    expect(f32Mismatches(await b.fakeQuantize(x, name), x, x)).toEqual([]);
    // NaN: a NaN code where the element has one, a typed error where it has none.
    const nan = new Float32Array([NaN]);
    if (t.hasNaN) {
      const qn = await b.quantize(nan, name);
      expect(Number.isNaN(decodeCode(el, unpackLsbFirst(qn.codes, bits, 1)[0]!))).toBe(true);
    } else {
      const r = await attempt(() => b.quantize(nan, name));
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toBeInstanceOf(MicroscaleError);
    }
  });

  it('sign symmetry', async () => {
    const b = getBackend();
    if (signBitCode > 0) {
      for (let c = 0; c < signBitCode; c++) {
        const v = t.values[c]!;
        const w = t.values[c + signBitCode]!;
        if (!(Object.is(w, -v) || (v !== v && w !== w))) throw new Error(`code ${c} = ${v} but code ${c + signBitCode} = ${w}`);
      }
    } else if (el.kind === 'int' && el.encoding === 'twos') {
      for (let c = 1; c < 2 ** (bits - 1); c++) expect(t.values[2 ** bits - c]).toBe(-t.values[c]!);
    }
    if (t.rejectsNegative) {
      const r = await attempt(() => b.quantize(new Float32Array([-1]), name));
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toBeInstanceOf(MicroscaleError);
      return;
    }
    if (t.neg.mags.length === 1) {
      // unsigned integers: every negative input clamps to zero
      const y = await b.fakeQuantize(new Float32Array([-1, -0.25, -1e30]), name);
      expect(Array.from(y)).toEqual([0, 0, 0]);
      return;
    }
    const symmetricTop = Math.min(t.maxValue, -t.minValue);
    const xs = sweep(t, false).filter((v) => v <= symmetricTop || t.maxValue === -t.minValue);
    const pos = Float32Array.from(xs);
    const neg = Float32Array.from(xs, (v) => -v);
    for (const rounding of ['rne', 'rna', 'rtz'] as const) {
      const yp = await b.fakeQuantize(pos, name, { rounding });
      const yn = await b.fakeQuantize(neg, name, { rounding });
      for (let i = 0; i < xs.length; i++) {
        const want = -yp[i]!;
        const ok = Object.is(yn[i], want) || (yn[i] !== yn[i] && want !== want) || (!t.hasNegZero && yn[i] === 0 && want === 0);
        if (!ok) throw new Error(`${rounding}: fq(${xs[i]}) = ${yp[i]} but fq(${-xs[i]!}) = ${yn[i]}`);
      }
    }
  });

  it('every midpoint between neighbours rounds as the mode says', async () => {
    const b = getBackend();
    const mids: number[] = [];
    const lows: number[] = [];
    const highs: number[] = [];
    for (const [side, sign] of [
      [t.pos, 1],
      [t.neg, -1],
    ] as const) {
      if (sign < 0 && t.rejectsNegative) continue;
      for (let i = 0; i + 1 < side.mags.length; i++) {
        const lo = side.mags[i]!;
        const hi = side.mags[i + 1]!;
        const m = (lo + hi) / 2;
        expect(Math.fround(m)).toBe(m); // every midpoint is a float32 input
        mids.push(sign * m);
        lows.push(side.codes[i]!);
        highs.push(side.codes[i + 1]!);
      }
    }
    const x = Float32Array.from(mids);
    const exceptions: string[] = [];
    for (const rounding of ['rne', 'rna', 'rtz'] as const) {
      const q = await b.quantize(x, name, { rounding });
      const got = unpackLsbFirst(q.codes, bits, x.length);
      for (let i = 0; i < x.length; i++) {
        const want = rounding === 'rtz' ? lows[i]! : rounding === 'rna' ? highs[i]! : encodeValue(el, x[i]!, 'rne').code;
        if (got[i] !== want) throw new Error(`${rounding}: midpoint ${x[i]} → code ${got[i]}, want ${want}`);
        if (rounding === 'rne' && want % 2 !== 0) exceptions.push(`${x[i]} → ${t.values[want]}`);
      }
    }
    // The default rounding is rne.
    const qd = await b.quantize(x, name);
    const dflt = unpackLsbFirst(qd.codes, bits, x.length);
    for (let i = 0; i < x.length; i++) {
      const want = encodeValue(el, x[i]!, 'rne').code;
      if (dflt[i] !== want) throw new Error(`default rounding: midpoint ${x[i]} → code ${dflt[i]}, rne gives ${want}`);
    }
    // Ties go to the even code, except where the two neighbours do not share a binade with a
    // mantissa: codes without mantissa bits (the larger wins) and zero vs the smallest normal
    // of a format without subnormals (zero wins).
    const noMantissa = el.kind === 'float' && el.manBits === 0;
    if (!noMantissa) expect(exceptions).toEqual([]);
    // Stochastic: one of the two neighbours, reproducible, equal to the oracle's counter-based draw.
    const seeds = [0, 99];
    let up = 0;
    for (const seed of seeds) {
      const q1 = await b.quantize(x, name, { rounding: 'stochastic', seed });
      const q2 = await b.quantize(x, name, { rounding: 'stochastic', seed });
      const c1 = unpackLsbFirst(q1.codes, bits, x.length);
      const c2 = unpackLsbFirst(q2.codes, bits, x.length);
      for (let i = 0; i < x.length; i++) {
        if (c1[i] !== lows[i] && c1[i] !== highs[i]) throw new Error(`stochastic: ${x[i]} → code ${c1[i]}, not ${lows[i]} or ${highs[i]}`);
        if (c1[i] !== c2[i]) throw new Error(`stochastic seed ${seed}: ${x[i]} gave ${c1[i]} then ${c2[i]}`);
        const want = encodeValue(el, x[i]!, 'stochastic', uniformFor(seed, i)).code;
        if (c1[i] !== want) throw new Error(`stochastic seed ${seed}: ${x[i]} → ${c1[i]}, oracle ${want}`);
        if (c1[i] === highs[i]) up++;
      }
    }
    if (x.length >= 20) {
      const share = up / (x.length * seeds.length);
      expect(share).toBeGreaterThan(0.25);
      expect(share).toBeLessThan(0.75);
    }
  });

  it('encodes random values and the sorted sweep like the oracle, monotonically', async () => {
    const b = getBackend();
    const pos = t.pos.mags;
    const lo = pos[0]! > 0 ? pos[0]! : pos[1]!;
    const parts = [logSpread(3000, lo / 8, t.maxValue * 8, 17, !t.rejectsNegative), rawPatterns(1000, 29), Float32Array.from(sweep(t, !t.rejectsNegative))];
    let x = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      x.set(p, o);
      o += p.length;
    }
    x = x.filter((v) => (t.hasNaN || !Number.isNaN(v)) && (!t.rejectsNegative || !(v < 0)));
    for (const rounding of ROUNDINGS) {
      const seed = 5;
      const opts: QuantizeOptions = rounding === 'stochastic' ? { rounding, seed } : { rounding };
      const q = await b.quantize(x, name, opts);
      const codes = unpackLsbFirst(q.codes, bits, x.length);
      const got = await b.dequantize(q);
      const want = new Float32Array(x.length);
      const bad: string[] = [];
      for (let i = 0; i < x.length; i++) {
        const u = rounding === 'stochastic' ? uniformFor(seed, i) : 0;
        const e = encodeValue(el, x[i]!, rounding, u, overflow);
        want[i] = e.value;
        const codec = encodeElement(el, x[i]!, rounding, u, overflow);
        if (bad.length < 5 && !Number.isNaN(e.value) && codec !== e.code) bad.push(`codec ${rounding}: ${x[i]} → code ${codec}, oracle ${e.code} (${e.value})`);
        if (bad.length < 5 && !Number.isNaN(e.value) && codes[i] !== e.code) bad.push(`backend ${rounding}: ${x[i]} → code ${codes[i]}, oracle ${e.code} (${e.value})`);
      }
      expect(bad).toEqual([]);
      expect(f32Mismatches(got, want, x)).toEqual([]);
    }
    // monotone encoder over the sorted sweep
    const s = Float32Array.from(sweep(t, !t.rejectsNegative));
    for (const rounding of ['rne', 'rna', 'rtz'] as const) {
      const y = await b.fakeQuantize(s, name, { rounding });
      for (let i = 1; i < y.length; i++) {
        // overflow to NaN (non-saturating formats without Inf) is the documented policy, not an order
        if (Number.isNaN(y[i - 1]!) || Number.isNaN(y[i]!)) continue;
        if (!(y[i - 1]! <= y[i]!)) throw new Error(`${rounding}: fq(${s[i - 1]}) = ${y[i - 1]} > fq(${s[i]}) = ${y[i]}`);
      }
    }
  });
}

// ------------------------------------------------------------------------------- bf16 exhaustive

interface Bf16Run {
  label: string;
  format: Format;
  input: 'natural' | 'shuffled' | 'finite' | 'finiteShuffled';
  opts: QuantizeOptions;
  /** Also compare the backend's quantize (scale values, dequantize) on this run. */
  checkScales: boolean;
}

const inputCache = new Map<string, Float32Array>();

function bf16Input(kind: Bf16Run['input'], format: Format): Float32Array {
  const key = `${kind}|${format.scheme === 'cast' ? castFilterKey(format.element) : ''}`;
  let x = inputCache.get(key);
  if (x) return x;
  let bitsArr = new Uint32Array(65536);
  for (let i = 0; i < 65536; i++) bitsArr[i] = i << 16;
  if (kind === 'finite' || kind === 'finiteShuffled') bitsArr = bitsArr.filter((b) => (b & 0x7f800000) !== 0x7f800000);
  if (format.scheme === 'cast') {
    const t = format.element.bits <= 16 ? elementTable(format.element) : null;
    // scalar casts reject NaN without a NaN code and negative values when unsigned
    bitsArr = bitsArr.filter((b) => {
      const v = bitsF32(b);
      if (t && !t.hasNaN && Number.isNaN(v)) return false;
      if (t && t.rejectsNegative && v < 0) return false;
      return true;
    });
  }
  if (kind === 'shuffled' || kind === 'finiteShuffled') shuffled(bitsArr, 0x5eed);
  x = f32FromBits(bitsArr);
  inputCache.set(key, x);
  return x;
}

function castFilterKey(el: ElementFormat): string {
  if (el.bits > 16) return 'all';
  const t = elementTable(el);
  return `${t.hasNaN}${t.rejectsNegative}`;
}

function shapeFor(format: Format, n: number): number[] {
  if (format.granularity === 'axis') return [n / 256, 256];
  return [n];
}

/** The runs of the exhaustive bf16 check: every format, its defaults on several orders of the
 * 65,536 patterns, and each option it takes (rounding, scale rule, preset, …) on one order. */
/** Generic block formats from the grammar, beyond the catalog. */
export const GENERIC_BLOCK_FORMATS = [
  'mx(elem=int(b=8,f=0),k=32)',
  'mx(elem=fp(e=3,m=4),k=16,d1=6)',
  'mx(elem=fp8_e5m2,k=8)',
  'bdr(m=5,k1=32,d1=6,k2=4,d2=2)',
  'bdr(m=3,k1=8,d1=8)',
];

export function bf16Runs(): Bf16Run[] {
  const runs: Bf16Run[] = [];
  const add = (format: Format, input: Bf16Run['input'], opts: QuantizeOptions, checkScales = false) => {
    const o = Object.entries(opts)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    runs.push({ label: `${format.name} [${input}${o ? ' ' + o : ''}]`, format, input, opts, checkScales });
  };
  for (const f of [...listFormats(), ...GENERIC_BLOCK_FORMATS.map((g) => getFormat(g))]) {
    if (f.scheme === 'cast') {
      add(f, 'natural', {});
      for (const rounding of ['rna', 'rtz'] as const) add(f, 'natural', { rounding });
      add(f, 'shuffled', { rounding: 'stochastic', seed: 3 });
      continue;
    }
    add(f, 'natural', {}, true);
    add(f, 'shuffled', {}, true);
    add(f, 'finiteShuffled', {}, true);
    if (f.granularity !== 'block') add(f, 'finite', {}, true);
    const probe = f.granularity === 'block' ? 'shuffled' : 'finiteShuffled';
    for (const rounding of ['rna', 'rtz'] as const) add(f, probe, { rounding });
    add(f, probe, { rounding: 'stochastic', seed: 11 });
    if (f.scheme === 'pow2') {
      for (const scaleMode of ['ceil', 'even', 'rceil'] as const) add(f, probe, { scaleMode }, true);
      add(f, probe, { scaleBits: 5 }, true);
      add(f, 'natural', { flushSubnormalBlocks: true });
      for (const rounding of [undefined, 'rne', 'rtz'] as const) add(f, probe, rounding ? { preset: 'microxcaling', rounding } : { preset: 'microxcaling' });
    }
    if (f.family === 'ggml') {
      add(f, 'natural', { preset: 'ggml' }, true);
      add(f, 'shuffled', { preset: 'ggml' }, true);
      add(f, 'finiteShuffled', { preset: 'ggml' }, true);
    }
    if (f.tensorScale) {
      add(f, probe, { preset: 'torchao' }, true);
      add(f, probe, { tensorScale: 1e-3 }, true);
      add(f, probe, { tensorScale: 1e30 }, true);
    }
    if (f.amaxUpperBound !== null) add(f, probe, { scaleUpperBound: 50 }, true);
  }
  return runs;
}

async function checkBf16Run(backend: Backend, run: Bf16Run): Promise<string[]> {
  const x = bf16Input(run.input, run.format);
  const opts: QuantizeOptions = { ...run.opts, shape: shapeFor(run.format, x.length) };
  const oracle = oracleQuantize(x, run.format, opts as OracleOptions);
  const bad = [...oracle.violations];
  const fq = await attempt(() => backend.fakeQuantize(x, run.format.name, opts));
  if (!fq.ok) return [...bad, `backend fakeQuantize throws ${errorClass(fq.error)}: ${(fq.error as Error).message}`];
  const got = fq.value;
  bad.push(...f32Mismatches(got, oracle.values, x));
  if (run.checkScales) {
    const r = await attempt(() => backend.quantize(x, run.format.name, opts));
    if (!r.ok) return [...bad, `backend quantize throws ${errorClass(r.error)}: ${(r.error as Error).message}`];
    const q = r.value;
    bad.push(...f64Mismatches(q.scaleValues(), oracle.scales).map((s) => `scale ${s}`));
    if (run.format.tensorScale && !Object.is(q.tensorScale, oracle.tensorScale)) bad.push(`tensorScale ${q.tensorScale}, oracle ${oracle.tensorScale}`);
    bad.push(...f32Mismatches(await backend.dequantize(q), got, x).map((s) => `dequantize(quantize) vs fakeQuantize ${s}`));
  }
  return bad;
}

// ------------------------------------------------------------------------------- sizes and shapes

interface ShapeCase {
  shape: number[];
  opts: QuantizeOptions;
}

function shapeCases(f: Format): ShapeCase[] {
  const cases: ShapeCase[] = [];
  const add = (shape: number[], opts: QuantizeOptions = {}) => cases.push({ shape, opts: { ...opts, shape } });
  if (f.requiresWholeBlocks) {
    const w = f.ggml ? f.ggml.blockElements : f.blockSize;
    for (const k of [1, 2, 3]) add([k * w]);
    add([3, w]);
    add([2, 3, 2 * w]);
    add([w, 3], { axis: 0 });
    add([2, w, 3], { axis: 1 });
    if (f.family === 'ggml') {
      add([3, 2 * w], { preset: 'ggml' });
      add([w, 2], { axis: 0, preset: 'ggml' });
    }
    add([5, w], { rounding: 'stochastic', seed: 9 });
    add([w, 5], { axis: 0, rounding: 'stochastic', seed: 10 });
    return cases;
  }
  for (const n of BOUNDARY_LENGTHS) add([n]);
  for (const n of [95, 96, 97, 127, 128, 129, 255, 257]) add([n]);
  add([3, 17]);
  add([7, 31]);
  add([5, 33]);
  add([2, 64]);
  add([33, 3], { axis: 0 });
  add([17, 4], { axis: -2 });
  add([2, 5, 7], { axis: 0 });
  add([2, 5, 7], { axis: 1 });
  add([2, 5, 7]);
  add([3, 33, 2], { axis: 1 });
  add([2, 3, 40], { axis: 2 });
  add([4, 1, 6]);
  add([0]);
  add([3, 0]);
  add([2, 37, 3], { axis: 1, rounding: 'stochastic', seed: 77 });
  add([37, 2], { axis: 0, rounding: 'stochastic', seed: 78 });
  add([41, 3], { axis: 0, rounding: 'rtz' });
  add([3, 41], { rounding: 'rna' });
  if (f.granularity === 'block') {
    add([3, 45], { blockSize: 0 });
    add([40, 3], { axis: 0, blockSize: 0 });
    add([2, 3, 19], { blockSize: 0, axis: 2 });
    const even = f.subBlock ? f.subBlock.size : 1;
    for (const bs of [even * 3, even * 5, even * 12]) add([3, 29], { blockSize: bs });
    add([23, 2], { axis: 0, blockSize: even * 5 });
  }
  if (f.scheme === 'pow2') {
    add([3, 40], { scaleMode: 'even' });
    add([3, 40], { scaleMode: 'rceil', scaleBits: 4 });
    add([2, 45], { preset: 'microxcaling' });
    add([2, 45], { flushSubnormalBlocks: true, scaleMode: 'ceil' });
  }
  if (f.tensorScale) {
    add([3, 40], { preset: 'torchao' });
    add([3, 40], { tensorScale: 0.01 });
  }
  return cases;
}

/** 1-D lengths: every length up to 9 (sub-blocks of 1, 2 and 4, partial 8-blocks), k − 1, k and k + 1
 * for every multiple k of 8 up to 64 (whole and partial blocks of 8, 16 and 32, and two or more
 * blocks), and a few odd lengths in between. */
export const BOUNDARY_LENGTHS: readonly number[] = [
  ...Array.from({ length: 9 }, (_, i) => i + 1),
  ...[16, 24, 32, 40, 48, 56, 64].flatMap((k) => [k - 1, k, k + 1]),
  11,
  13,
  27,
  37,
];

/** Test inputs of length n: ordinary values, and the same with special values planted in. */
function shapeInputs(n: number, seed: number): Float32Array[] {
  const next = rng(seed);
  const plain = new Float32Array(n);
  for (let i = 0; i < n; i++) plain[i] = (next() * 2 - 1) * 2 ** Math.floor(next() * 12 - 6);
  const special = plain.slice();
  const specials = [NaN, Infinity, -Infinity, -0, 0, 1e-45, -(2 ** -130), 2 ** -126, 3e38, -3.3e38, 1e-30, 65504, 448, 6, 2 ** 127];
  for (let i = 0; i < n; i++) if (next() < 0.3) special[i] = specials[Math.floor(next() * specials.length)]!;
  const range = new Float32Array(n);
  for (let i = 0; i < n; i++) range[i] = (next() < 0.5 ? -1 : 1) * 2 ** Math.floor(next() * 250 - 140) * (1 + next());
  return [plain, special, range];
}

async function checkShapes(backend: Backend, f: Format): Promise<string[]> {
  const bad: string[] = [];
  let seed = 1;
  for (const c of shapeCases(f)) {
    const n = c.shape.reduce((a, b) => a * b, 1);
    for (const x of shapeInputs(n, seed++)) {
      const where = `${f.name} shape [${c.shape}] ${JSON.stringify({ ...c.opts, shape: undefined })} input #${seed}`;
      const want = await attempt(() => referenceBackend.quantize(x, f.name, c.opts));
      const got = await attempt(() => backend.quantize(x, f.name, c.opts));
      if (!want.ok) {
        if (got.ok) bad.push(`${where}: reference throws ${errorClass(want.error)} (${(want.error as Error).message}), backend returns`);
        else if (errorClass(got.error) !== errorClass(want.error)) bad.push(`${where}: backend throws ${errorClass(got.error)}, reference ${errorClass(want.error)}`);
        if (want.error instanceof EncodingError) {
          // An encoding error is justified only where the oracle cannot encode the input either.
          const o = await attempt(() => oracleQuantize(x, f, c.opts as OracleOptions));
          if (o.ok) {
            bad.push(`${where}: reference throws "${(want.error as Error).message}" but the input is encodable`, ...o.value.violations);
          } else if (!(o.error instanceof OracleEncodingError)) {
            throw o.error;
          }
        }
        continue;
      }
      if (!got.ok) {
        bad.push(`${where}: backend throws ${String(got.error)}`);
        continue;
      }
      const qr = want.value;
      const qb = got.value;
      bad.push(
        ...[
          ...bytesMismatch('codes', qb.codes, qr.codes),
          ...bytesMismatch('scales', qb.scales, qr.scales),
          ...bytesMismatch('subScales', qb.subScales, qr.subScales),
          ...bytesMismatch('offsets', qb.offsets, qr.offsets),
          ...(Object.is(qb.tensorScale, qr.tensorScale) ? [] : [`tensorScale ${qb.tensorScale}, want ${qr.tensorScale}`]),
          ...bytesMismatch('toBytes()', qb.toBytes(), qr.toBytes()),
        ].map((s) => `${where}: ${s}`),
      );
      const dref = await referenceBackend.dequantize(qr);
      bad.push(...f32Mismatches(await backend.dequantize(qr), dref, x, 2).map((s) => `${where}: dequantize ${s}`));
      bad.push(...f32Mismatches(await backend.fakeQuantize(x, f.name, c.opts), dref, x, 2).map((s) => `${where}: fakeQuantize ${s}`));
      const oracle = oracleQuantize(x, f, c.opts as OracleOptions);
      bad.push(...oracle.violations.map((s) => `${where}: ${s}`));
      bad.push(...f32Mismatches(dref, oracle.values, x, 2).map((s) => `${where}: reference vs oracle ${s}`));
      if (bad.length > 12) return bad;
    }
  }
  return bad;
}

// ------------------------------------------------------------------------------- matmul

const MATMUL_FORMATS: readonly { format: string; activation?: string }[] = [
  { format: 'mxfp4' },
  { format: 'mxfp8_e4m3' },
  { format: 'mxint8' },
  { format: 'mx6' },
  { format: 'mx9' },
  { format: 'msfp12' },
  { format: 'nvfp4' },
  { format: 'int8_channel' },
  { format: 'fp8_e4m3_tensor' },
  { format: 'int4_rowwise_affine' },
  { format: 'fp8_e4m3' },
  { format: 'q4_0' },
  { format: 'q8_0' },
  { format: 'ggml_nvfp4' },
  { format: 'mxfp4', activation: 'mxfp8_e4m3' },
  { format: 'mx6', activation: 'mx9' },
  { format: 'q4_1', activation: 'q8_0' },
  { format: 'nvfp4', activation: 'fp8_e4m3_rowwise' },
];

async function checkMatmul(backend: Backend, wName: string, aName?: string): Promise<string[]> {
  const f = getFormat(wName);
  const whole = f.requiresWholeBlocks ? (f.ggml ? f.ggml.blockElements : f.blockSize) : 0;
  const aWhole = aName && getFormat(aName).requiresWholeBlocks ? 64 : 0;
  const sizes: [number, number, number][] = whole || aWhole ? [[1, 1, 64], [3, 5, 128], [4, 7, 192], [0, 2, 64]] : [[1, 1, 1], [1, 3, 7], [3, 5, 17], [4, 7, 33], [2, 3, 64], [5, 9, 100], [1, 16, 257], [0, 3, 5]];
  const bound = backend.capabilities.matmulRelativeBound;
  const bad: string[] = [];
  let seed = 100;
  for (const [m, N, K] of sizes) {
    const next = rng(seed++);
    const wx = Float32Array.from({ length: N * K }, () => (next() * 2 - 1) * 2 ** Math.floor(next() * 8 - 4));
    const ax = Float32Array.from({ length: m * K }, () => (next() * 2 - 1) * 2 ** Math.floor(next() * 8 - 4));
    const w = await backend.quantize(wx, wName, { shape: [N, K] });
    const a = aName ? await backend.quantize(ax, aName, { shape: [m, K] }) : ax;
    const y = await backend.matmul(a, w, { m });
    if (y.length !== m * N) {
      bad.push(`[${m},${N},${K}]: result length ${y.length}, want ${m * N}`);
      continue;
    }
    const wv = await referenceBackend.dequantize(w);
    const av = a instanceof QuantizedTensor ? await referenceBackend.dequantize(a) : ax;
    for (let i = 0; i < m; i++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        let mag = 0;
        for (let k = 0; k < K; k++) {
          const p = av[i * K + k]! * wv[n * K + k]!;
          s += p;
          mag += Math.abs(p);
        }
        // float64 products of float32 values are exact; the sum adds ≤ K·2^−53·Σ|a·w|.
        const tol = bound * mag + K * 2 ** -53 * mag + 2 ** -149;
        const got = y[i * N + n]!;
        if (!(Math.abs(got - s) <= tol)) bad.push(`[${m},${N},${K}] y[${i},${n}] = ${got}, float64 ${s}, |diff| ${Math.abs(got - s)} > ${tol}`);
      }
    }
  }
  return bad.slice(0, 8);
}
