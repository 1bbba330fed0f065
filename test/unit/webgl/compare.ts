// Checks of a backend against the reference codec, shared by the Node tests (gpu.js CPU mode) and the
// browser test (bundled into the page with the backend). `exact` compares bit for bit; `bound`
// holds a backend to its declared capabilities.codeStepBound on the element's value grid.
import {
  MicroscaleError,
  QuantizedTensor,
  decodeElement,
  dequantize,
  getFormat,
  quantize,
  unpackCodes,
  type Backend,
  type ElementFormat,
  type QuantizeOptions,
} from '../../../src/index.js';

/** One comparison: a format, a shape and options, an input recipe. */
export interface CaseSpec {
  readonly format: string;
  readonly shape: readonly number[];
  readonly opts?: QuantizeOptions;
  /** `mixed`: log-spread values with specials planted; `bf16`: all 65,536 bf16 patterns (shape ignored). */
  readonly data?: 'mixed' | 'bf16' | 'plain';
  readonly seed?: number;
}

/** What a run of cases found. */
export interface Report {
  readonly cases: number;
  /** Values compared (codes, scales, fake-quantized and dequantized values). */
  readonly compared: number;
  /** Of those, how many were identical to the reference's. */
  readonly identical: number;
  readonly problems: string[];
}

import { rng } from '../../helpers/random.js';
export { rng };

const f32 = (bits: number): number => new Float32Array(new Uint32Array([bits]).buffer)[0]!;

/** Values that break careless kernels: specials, subnormals, extremes, powers of two and their neighbours, ties. */
export const SPECIALS: readonly number[] = [
  NaN,
  Infinity,
  -Infinity,
  0,
  -0,
  f32(0x00000001),
  -f32(0x00000001),
  f32(0x007fffff),
  f32(0x00800000),
  -(2 ** -130),
  f32(0x7f7fffff),
  -f32(0x7f7fffff),
  1,
  f32(0x3f7fffff),
  -2,
  f32(0x3fffffff),
  0.5,
  1.5,
  2.5,
  -3.5,
  448,
  464,
  57344,
  65504,
  65520,
  6,
  7,
  2 ** 127,
  2 ** -126,
  1e-30,
];

/** The input of a case (finite values only where the format's element cannot encode NaN or negatives). */
export function caseInput(spec: CaseSpec): Float32Array {
  const next = rng(spec.seed ?? 1);
  let x: Float32Array;
  if (spec.data === 'bf16') {
    const u = new Uint32Array(65536);
    for (let j = 0; j < 65536; j++) u[j] = j << 16;
    x = new Float32Array(u.buffer);
  } else {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    x = new Float32Array(n);
    for (let j = 0; j < n; j++) {
      const mag = 2 ** (next() * 40 - 20) * (1 + next());
      x[j] = next() < 0.5 ? -mag : mag;
      if (spec.data !== 'plain' && next() < 0.15) x[j] = SPECIALS[Math.floor(next() * SPECIALS.length)]!;
    }
    // a few blocks of pure zeros, of tiny values and of a single large value
    if (spec.data !== 'plain' && n >= 64) {
      for (let j = 0; j < 16; j++) x[j] = j % 3 === 0 ? -0 : 0;
      for (let j = 16; j < 32; j++) x[j] = f32(1 + Math.floor(next() * 0x7fffff)) * (j % 2 ? -1 : 1);
    }
  }
  const f = getFormat(spec.format);
  const el = f.element;
  if (f.scheme === 'cast') {
    const noNaN = el.kind === 'int' || el.nan === 'none';
    const unsigned = el.kind === 'float' && !el.signed;
    x = x.map((v) => (noNaN && v !== v ? 0 : unsigned && v < 0 ? -v : v));
  }
  return x;
}

function isNaNBits(b: number): boolean {
  return (b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0;
}

/** Sorted distinct finite values of an element (≤ 16 bits), for distances on its grid. */
const grids = new WeakMap<ElementFormat, Float64Array>();
function gridOf(el: ElementFormat): Float64Array {
  let g = grids.get(el);
  if (!g) {
    const vals = new Set<number>();
    for (let c = 0; c < 2 ** el.bits; c++) {
      const v = decodeElement(el, c);
      if (Number.isFinite(v)) vals.add(v === 0 ? 0 : v);
    }
    g = Float64Array.from([...vals].sort((a, b) => a - b));
    grids.set(el, g);
  }
  return g;
}

function nearest(grid: Float64Array, v: number): number {
  let lo = 0;
  let hi = grid.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (grid[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && Math.abs(grid[lo - 1]! - v) <= Math.abs(grid[lo]! - v)) return lo - 1;
  return lo;
}

/** Steps between two element values on the element's grid (NaN only matches NaN, ±Inf only itself). */
export function gridSteps(el: ElementFormat, a: number, b: number): number {
  if (a !== a || b !== b) return a !== a && b !== b ? 0 : Infinity;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return a === b ? 0 : Infinity;
  const g = gridOf(el);
  return Math.abs(nearest(g, a) - nearest(g, b));
}

async function attempt<T>(f: () => T | Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await f() };
  } catch (error) {
    return { ok: false, error };
  }
}

function label(spec: CaseSpec): string {
  return `${spec.format} [${spec.data === 'bf16' ? 'bf16' : spec.shape.join('x')}]${spec.opts ? ' ' + JSON.stringify(spec.opts) : ''}`;
}

/** Per-element scale factor 2^(s − τ) of a reference tensor of a power-of-two format (1 for casts). */
function elementScales(q: QuantizedTensor): Float64Array {
  const L = q.layout;
  const out = new Float64Array(L.n).fill(1);
  if (q.format.scheme !== 'pow2') return out;
  const scales = q.scaleValues();
  const sub = q.format.subBlock;
  const taus = sub ? unpackCodes(q.subScales, sub.bits, L.subScaleCount) : null;
  for (let row = 0; row < L.rows; row++) {
    for (let l = 0; l < L.rowLength; l++) {
      const s = scales[row * L.blocksPerRow + Math.floor(l / L.blockSize)]!;
      const tau = taus ? taus[row * L.subBlocksPerRow + Math.floor(l / sub!.size)]! : 0;
      out[row * L.rowLength + l] = s * 2 ** -tau;
    }
  }
  return out;
}

/** Blocked-order index → flat index (the layout helper, restated so this file stays self-contained). */
function flatOf(q: QuantizedTensor, p: number): number {
  const L = q.layout;
  if (L.inner === 1) return p;
  const row = Math.floor(p / L.rowLength);
  const l = p - row * L.rowLength;
  const o = Math.floor(row / L.inner);
  return (o * L.rowLength + l) * L.inner + (row - o * L.inner);
}

/**
 * Compare `backend` with the reference on each case: quantize (codes, scales, microexponents),
 * fakeQuantize, and dequantize of the reference's tensor. `bound` = null demands identical bits.
 */
export async function checkCases(backend: Backend, specs: readonly CaseSpec[], bound: number | null, limit = 20): Promise<Report> {
  const problems: string[] = [];
  let compared = 0;
  let identical = 0;
  const note = (s: string) => {
    if (problems.length < limit) problems.push(s);
  };
  for (const spec of specs) {
    const where = label(spec);
    const x = caseInput(spec);
    const opts: QuantizeOptions = { ...spec.opts, shape: spec.data === 'bf16' ? [x.length] : [...spec.shape] };
    const want = await attempt(() => quantize(x, spec.format, opts));
    const got = await attempt(() => backend.quantize(x, spec.format, opts));
    if (!want.ok) {
      const wc = (want.error as Error).constructor.name;
      if (got.ok) note(`${where}: reference throws ${wc}, backend returns`);
      else if ((got.error as Error).constructor.name !== wc) note(`${where}: backend throws ${String(got.error)}, reference ${wc}`);
      continue;
    }
    if (!got.ok) {
      note(`${where}: backend throws ${String(got.error)}`);
      continue;
    }
    const qr = want.value;
    const qb = got.value;
    const el = qr.element;
    // scales and microexponents: always identical
    for (const [what, a, b] of [
      ['scales', qb.scales, qr.scales],
      ['subScales', qb.subScales, qr.subScales],
      ['offsets', qb.offsets, qr.offsets],
    ] as const) {
      compared += b.length;
      let same = a.length === b.length;
      for (let j = 0; same && j < b.length; j++) same = a[j] === b[j];
      if (same) identical += b.length;
      else note(`${where}: ${what} differ`);
    }
    if (!Object.is(qb.tensorScale, qr.tensorScale)) note(`${where}: tensorScale ${qb.tensorScale}, want ${qr.tensorScale}`);
    const n = x.length;
    const cb = unpackCodes(qb.codes, el.bits, n);
    const cr = unpackCodes(qr.codes, el.bits, n);
    compared += n;
    for (let p = 0; p < n; p++) {
      if (cb[p] === cr[p]) {
        identical++;
        continue;
      }
      const steps = gridSteps(el, decodeElement(el, cb[p]!), decodeElement(el, cr[p]!));
      if (bound === null || steps > bound) note(`${where}: code[${p}] of input ${x[flatOf(qr, p)]} is ${cb[p]}, reference ${cr[p]} (${steps} steps)`);
    }
    // float results: fakeQuantize(x) and dequantize(reference tensor)
    const scale = elementScales(qr);
    const yr = dequantize(qr);
    for (const [what, run] of [
      ['fakeQuantize', () => backend.fakeQuantize(x, spec.format, opts)],
      ['dequantize', () => backend.dequantize(qr)],
    ] as const) {
      const r = await attempt(run);
      if (!r.ok) {
        note(`${where}: ${what} throws ${String(r.error)}`);
        continue;
      }
      const yb = r.value as Float32Array;
      const gb = new Uint32Array(yb.buffer, yb.byteOffset, yb.length);
      const gr = new Uint32Array(yr.buffer, yr.byteOffset, yr.length);
      compared += n;
      for (let p = 0; p < n; p++) {
        const j = flatOf(qr, p);
        if (gb[j] === gr[j] || (isNaNBits(gb[j]!) && isNaNBits(gr[j]!))) {
          identical++;
          continue;
        }
        const steps = gridSteps(el, yb[j]! / scale[p]!, yr[j]! / scale[p]!);
        if (bound === null || steps > bound) note(`${where}: ${what}[${j}] of input ${x[j]} is ${yb[j]}, reference ${yr[j]} (${steps} steps)`);
      }
    }
  }
  return { cases: specs.length, compared, identical, problems };
}

/**
 * dequantize of tensors holding arbitrary codes, scale codes (NaN included) and microexponents:
 * products that overflow to ±Inf, round into float32 subnormals or underflow to zero.
 */
export async function checkArbitraryTensors(backend: Backend, formats: readonly string[], bound: number | null, n = 300): Promise<Report> {
  const problems: string[] = [];
  let compared = 0;
  let identical = 0;
  let seed = 900;
  for (const format of formats) {
    const next = rng(seed++);
    const bytes = (len: number) => Uint8Array.from({ length: len }, () => Math.floor(next() * 256));
    const f = getFormat(format);
    const size = f.requiresWholeBlocks ? 64 * Math.ceil(n / 64) : n;
    const opts: QuantizeOptions = f.scheme === 'cast' ? {} : f.requiresWholeBlocks ? { shape: [size / 64, 64] } : { shape: [size / 3, 3], axis: 0 };
    const template = quantize(new Float32Array(size), format, opts);
    const scaleBytes = bytes(template.scales.length * template.scales.BYTES_PER_ELEMENT);
    const scales = new (template.scales.constructor as new (b: ArrayBufferLike) => typeof template.scales)(scaleBytes.buffer);
    const q = new QuantizedTensor({
      format: template.format,
      options: template.options,
      codes: bytes(template.codes.length),
      scales,
      subScales: bytes(template.subScales.length),
      offsets: template.offsets,
      tensorScale: template.tensorScale,
    });
    const want = dequantize(q);
    const got = await attempt(() => backend.dequantize(q));
    if (!got.ok) {
      problems.push(`${format}: dequantize throws ${String(got.error)}`);
      continue;
    }
    const gb = new Uint32Array(got.value.buffer, got.value.byteOffset, got.value.length);
    const wb = new Uint32Array(want.buffer);
    const scale = elementScales(q);
    compared += want.length;
    for (let p = 0; p < want.length; p++) {
      const j = flatOf(q, p);
      if (gb[j] === wb[j] || (isNaNBits(gb[j]!) && isNaNBits(wb[j]!))) {
        identical++;
        continue;
      }
      const steps = gridSteps(q.element, got.value[j]! / scale[p]!, want[j]! / scale[p]!);
      if ((bound === null || steps > bound) && problems.length < 20) problems.push(`${format}: value[${j}] ${got.value[j]}, reference ${want[j]} (${steps} steps)`);
    }
  }
  return { cases: formats.length, compared, identical, problems };
}

/** Inputs the reference rejects must make the backend throw the same MicroscaleError class. */
export async function checkErrors(backend: Backend): Promise<string[]> {
  const bad: string[] = [];
  const cases: [string, () => unknown, () => unknown][] = [
    ['NaN into fp4_e2m1', () => quantize(new Float32Array([1, NaN]), 'fp4_e2m1'), () => backend.quantize(new Float32Array([1, NaN]), 'fp4_e2m1')],
    ['negative into e8m0', () => quantize(new Float32Array([1, -2]), 'e8m0'), () => backend.fakeQuantize(new Float32Array([1, -2]), 'e8m0')],
    ['NaN into int8', () => quantize(new Float32Array([NaN]), 'int8'), () => backend.quantize(new Float32Array([NaN]), 'int8')],
    ['unknown format', () => quantize(new Float32Array(4), 'mxfp5'), () => backend.quantize(new Float32Array(4), 'mxfp5')],
    ['bad shape', () => quantize(new Float32Array(6), 'mxfp4', { shape: [4, 2] }), () => backend.quantize(new Float32Array(6), 'mxfp4', { shape: [4, 2] })],
    ['not a Float32Array', () => quantize([1, 2] as unknown as Float32Array, 'mxfp4'), () => backend.quantize([1, 2] as unknown as Float32Array, 'mxfp4')],
    ['dequantize of a non-tensor', () => dequantize({} as QuantizedTensor), () => backend.dequantize({} as QuantizedTensor)],
  ];
  for (const [what, ref, run] of cases) {
    const r = await attempt(ref);
    const g = await attempt(run);
    if (r.ok) bad.push(`${what}: the reference does not throw`);
    else if (g.ok) bad.push(`${what}: backend returns, reference throws ${(r.error as Error).constructor.name}`);
    else if (!(g.error instanceof MicroscaleError) || (g.error as Error).constructor.name !== (r.error as Error).constructor.name) {
      bad.push(`${what}: backend throws ${String(g.error)}, reference ${(r.error as Error).constructor.name}`);
    }
  }
  return bad;
}

/** matmul within the backend's declared bound of a float64 reference, on random data. */
export async function checkMatmul(backend: Backend, cases: readonly { w: string; a?: string; m: number; n: number; k: number }[]): Promise<string[]> {
  const bad: string[] = [];
  const bound = backend.capabilities.matmulRelativeBound;
  let seed = 100;
  for (const c of cases) {
    const next = rng(seed++);
    const wx = Float32Array.from({ length: c.n * c.k }, () => (next() * 2 - 1) * 2 ** Math.floor(next() * 8 - 4));
    const ax = Float32Array.from({ length: c.m * c.k }, () => (next() * 2 - 1) * 2 ** Math.floor(next() * 8 - 4));
    const w = quantize(wx, c.w, { shape: [c.n, c.k] });
    const a = c.a ? quantize(ax, c.a, { shape: [c.m, c.k] }) : ax;
    const r = await attempt(() => backend.matmul(a, w, { m: c.m }));
    const where = `matmul w ${c.w}${c.a ? ` a ${c.a}` : ''} [${c.m},${c.n},${c.k}]`;
    if (!r.ok) {
      bad.push(`${where}: throws ${String(r.error)}`);
      continue;
    }
    const y = r.value;
    if (y.length !== c.m * c.n) {
      bad.push(`${where}: ${y.length} results`);
      continue;
    }
    const wv = dequantize(w);
    const av = a instanceof QuantizedTensor ? dequantize(a) : ax;
    for (let i = 0; i < c.m; i++) {
      for (let n = 0; n < c.n; n++) {
        let s = 0;
        let mag = 0;
        for (let k = 0; k < c.k; k++) {
          const p = av[i * c.k + k]! * wv[n * c.k + k]!;
          s += p;
          mag += Math.abs(p);
        }
        const tol = bound * mag + c.k * 2 ** -53 * mag + 2 ** -149;
        const g = y[i * c.n + n]!;
        if (!(Math.abs(g - s) <= tol) && bad.length < 8) bad.push(`${where}: y[${i},${n}] = ${g}, float64 ${s}, |diff| ${Math.abs(g - s)} > ${tol}`);
      }
    }
  }
  return bad;
}

/** Power-of-two block formats of the OCP MX and BDR families, and their extensions. */
export const BLOCK_FORMATS = [
  'mxfp8_e4m3',
  'mxfp8_e5m2',
  'mxfp6_e3m2',
  'mxfp6_e2m3',
  'mxfp4',
  'mxint8',
  'mxint4',
  'mxint2',
  'mxfp16',
  'mxbf16',
  'mx9',
  'mx6',
  'mx4',
  'msfp12',
  'msfp16',
  'bdr(m=3,k1=8,d1=6,k2=4,d2=2)',
  'mx(elem=fp(e=3,m=4,bias=5),k=12,d1=6)',
  'ggml_mxfp4',
];

/** Scalar formats, named and generic. */
export const CAST_FORMATS = [
  'fp16',
  'bf16',
  'fp8_e4m3',
  'fp8_e5m2',
  'fp6_e3m2',
  'fp6_e2m3',
  'fp4_e2m1',
  'e8m0',
  'ue4m3',
  'int8',
  'int4',
  'int2',
  'fp(e=5,m=2,inf=1,sat=0)',
  'fp(e=4,m=3,nan=ones,sat=0)',
  'fp(e=3,m=2,sub=0)',
  'fp(e=4,m=3,signed=0)',
  'fp(e=4,m=2,bias=12)',
  'int(b=6,f=3,enc=offset)',
  'int(b=3,f=0,enc=unsigned)',
];

/** Formats the backend hands to the reference (must still equal it). */
export const DELEGATED_FORMATS = ['nvfp4', 'q4_0', 'q8_0', 'int8_channel', 'fp8_e4m3_tensor', 'fp32'];

/** Option sets that exercise every baked constant of the block kernels. */
export const BLOCK_OPTION_SETS: readonly QuantizeOptions[] = [
  {},
  { rounding: 'rna' },
  { rounding: 'rtz' },
  { rounding: 'stochastic', seed: 7 },
  { scaleMode: 'ceil' },
  { scaleMode: 'even' },
  { scaleMode: 'rceil', scaleBits: 5 },
  { flushSubnormalBlocks: true },
  { preset: 'microxcaling' },
  { blockSize: 0 },
];

function shapeFor(format: string, seed: number): readonly number[] {
  const f = getFormat(format);
  if (f.requiresWholeBlocks) return [3, 64];
  return seed % 2 ? [5, 77] : [3, 45];
}

/**
 * The cases of a full run: every block format with defaults (and axis 0), `deep` formats with every
 * option set, every scalar format with each rounding (stochastic only if `stochastic`), delegated
 * formats, and `bf16Formats` on all 65,536 bf16 patterns.
 */
export function caseList(deep: readonly string[], bf16Formats: readonly string[], stochastic = true): CaseSpec[] {
  const out: CaseSpec[] = [];
  let seed = 1;
  const keep = (o: QuantizeOptions) => stochastic || o.rounding !== 'stochastic';
  for (const format of BLOCK_FORMATS) {
    const f = getFormat(format);
    out.push({ format, shape: shapeFor(format, seed), seed: seed++ });
    if (!f.requiresWholeBlocks) out.push({ format, shape: [45, 3], opts: { axis: 0 }, seed: seed++ });
    if (deep.includes(format)) {
      for (const opts of BLOCK_OPTION_SETS.slice(1)) if (keep(opts)) out.push({ format, shape: shapeFor(format, seed), opts, seed: seed++ });
      out.push({ format, shape: [2, 3, 40], opts: { axis: 1, rounding: 'rna' }, seed: seed++ });
      out.push({ format, shape: [97], seed: seed++ });
    }
  }
  for (const format of CAST_FORMATS) {
    out.push({ format, shape: [3, 50], seed: seed++ });
    for (const rounding of ['rna', 'rtz', 'stochastic'] as const) {
      if (keep({ rounding })) out.push({ format, shape: [150], opts: rounding === 'stochastic' ? { rounding, seed: 3 } : { rounding }, seed: seed++ });
    }
  }
  for (const format of DELEGATED_FORMATS) out.push({ format, shape: [4, 64], seed: seed++ });
  for (const format of bf16Formats) out.push({ format, shape: [65536], data: 'bf16' });
  return out;
}
