// The WebGL backend: gpu.js kernels for quantize, dequantize, fake-quantize and matmul. In WebGL2 the
// kernels are native GLSL ES 3.00 integer code and equal the reference bit for bit; in WebGL1,
// headless-gl and gpu.js's CPU mode the portable kernels run instead and are held to a stated bound.
import { checkInput, dequantize as referenceDequantize, quantize as referenceQuantize, toFormat } from '../../formats/api.js';
import type { ElementFormat } from '../../formats/element.js';
import { OptionError } from '../../formats/errors.js';
import type { Format } from '../../formats/format.js';
import { flatIndex, layoutOf, type Layout } from '../../formats/layout.js';
import { resolveOptions, type QuantizeOptions, type ResolvedOptions } from '../../formats/options.js';
import { packCodes, unpackCodes } from '../../formats/pack.js';
import { QuantizedTensor, newScaleArray, scaleElementOf, type ScaleArray } from '../../formats/quantized.js';
import { kernelConstants } from '../../formats/derived.js';
import { type MatmulOptions, checkActivations, matmulShape } from '../../formats/reference/matmul.js';
import type { Backend, BackendCapabilities } from '../backend.js';
import { WebGLBackendError } from './errors.js';
import { availability, chooseContext, loadGpuJs, maxTextureSize, type GpuJsInstance, type GpuJsKernel, type WebGLContextKind, type WebGLContextRequest } from './gpujs.js';
import { MATMUL_CHUNK, kernelSpec, matmulSpec, type KernelFlavor, type KernelSpec } from './kernels.js';
import { dequantizePlan, quantizePlan, type KernelPlan } from './plan.js';

/** Options of {@link createWebGLBackend}; every field is optional. */
export interface WebGLBackendOptions {
  /** `auto` (default): WebGL2, else WebGL1 (browser or headless-gl). `webgl2`, `webgl`, `headlessgl`
   * force one; `cpu` runs gpu.js's CPU mode (JavaScript, not a GPU backend). */
  context?: WebGLContextRequest;
  /** Let `auto` fall back to gpu.js's CPU mode where no WebGL context exists. Default false. */
  allowCpuFallback?: boolean;
  /** The gpu.js module, when neither `import('gpu.js')` nor the `GPU` global of its browser build finds it. */
  gpujs?: unknown;
  /** Elements per kernel dispatch, 1…2^22 (default 2^22, less where textures are smaller); larger
   * inputs run in several dispatches. */
  maxElementsPerDispatch?: number;
  /** Compare a few adversarial vectors with the reference at creation and report the result in the
   * capabilities (default true). */
  selfTest?: boolean;
}

/** Capabilities of a WebGL backend. */
export interface WebGLCapabilities extends BackendCapabilities {
  /** The gpu.js context in use. */
  readonly context: WebGLContextKind;
  /** False for gpu.js's CPU mode: then nothing runs on a GPU. */
  readonly gpu: boolean;
  /**
   * 0 where `bitExact`. Otherwise, for finite inputs, quantize's scales equal the reference's and every
   * element code lies within this many steps of the reference's code on the element's value grid
   * (fakeQuantize and dequantize values likewise); checked by the test suite.
   */
  readonly codeStepBound: number;
  /** What runs on the reference codec instead of the GPU, and why. */
  readonly delegated: readonly string[];
  readonly maxElementsPerDispatch: number;
}

/** The WebGL backend (the shared {@link Backend} interface; results are promises). */
export interface WebGLBackend extends Backend {
  readonly capabilities: WebGLCapabilities;
}

const MAX_DISPATCH = 2 ** 22;
/** Stand-in for the block info a level-0 scan does not read. */
const NO_INFO = new Float32Array(1);
const OPTION_KEYS = new Set(['context', 'allowCpuFallback', 'gpujs', 'maxElementsPerDispatch', 'selfTest']);
const CONTEXTS: readonly WebGLContextRequest[] = ['auto', 'webgl2', 'webgl', 'headlessgl', 'cpu'];

/** Delegations common to every context (stated in the capabilities). */
const DELEGATED = [
  'formats with multiplicative scales (int8/fp8 software scales, nvfp4, ggml q4_0…q8_0, ggml_nvfp4): quantize and dequantize',
  'preset "ggml" (float32 log2 of the block maximum; dequantizing ggml_mxfp4 under it: E8M0 0xFF reads as 2^128)',
  'quantize under preset "microxcaling" (the emulator\'s float32 log2 and float32 half-add artefacts are not in the GLSL kernels yet; dequantize runs on the GPU)',
  'elements wider than 16 bits (fp32)',
  'block formats with unsigned float elements, and blocks of more than 65536 elements',
  'inputs the reference rejects (NaN or negative values a scalar format cannot encode): the reference throws its error',
];

// ----------------------------------------------------------------------------- small helpers

function bitsOf(x: Float32Array): Uint32Array {
  return new Uint32Array(x.buffer, x.byteOffset, x.length);
}

/** The input's bit patterns in blocked order (blocks contiguous). */
function blockedBits(x: Float32Array, L: Layout): Uint32Array {
  const src = bitsOf(x);
  if (L.inner === 1) return src;
  const out = new Uint32Array(L.n);
  for (let row = 0; row < L.rows; row++) {
    for (let l = 0; l < L.rowLength; l++) out[row * L.rowLength + l] = src[flatIndex(L, row, l)]!;
  }
  return out;
}

/** Blocked-order bit patterns back to the tensor's own order, as float32. */
function unblocked(bits: Uint32Array, L: Layout): Float32Array {
  if (L.inner === 1) return new Float32Array(bits.buffer, bits.byteOffset, bits.length);
  const out = new Uint32Array(L.n);
  for (let row = 0; row < L.rows; row++) {
    for (let l = 0; l < L.rowLength; l++) out[flatIndex(L, row, l)] = bits[row * L.rowLength + l]!;
  }
  return new Float32Array(out.buffer);
}

/** Two exact 16-bit halves per float32 pattern: [lo, hi, lo, hi, …]. */
function halves(bits: Uint32Array, start: number, count: number): Float32Array {
  const out = new Float32Array(2 * count);
  for (let j = 0; j < count; j++) {
    const b = bits[start + j]!;
    out[2 * j] = b & 0xffff;
    out[2 * j + 1] = b >>> 16;
  }
  return out;
}

/** A scalar input would make the reference throw (NaN without a NaN code, a negative unsigned float). */
function castWouldThrow(x: Float32Array, el: ElementFormat): boolean {
  const noNaN = el.kind === 'int' || el.nan === 'none';
  const noNegative = el.kind === 'float' && !el.signed;
  if (!noNaN && !noNegative) return false;
  for (let j = 0; j < x.length; j++) {
    const v = x[j]!;
    if ((noNaN && v !== v) || (noNegative && v < 0)) return true;
  }
  return false;
}

/** One dispatch: `rows` rows of `seg` elements starting at element `l0` of row `row0` (blocked order). */
interface Chunk {
  readonly row0: number;
  readonly rows: number;
  readonly l0: number;
  readonly seg: number;
}

/** Cut `rows × rowLength` (blocked order) into dispatches of at most `cap` elements, aligned to `unit`. */
export function chunksOf(rows: number, rowLength: number, unit: number, cap: number): Chunk[] {
  const out: Chunk[] = [];
  if (rows === 0 || rowLength === 0) return out;
  if (rowLength <= cap) {
    const per = Math.max(1, Math.floor(cap / rowLength));
    for (let row0 = 0; row0 < rows; row0 += per) out.push({ row0, rows: Math.min(per, rows - row0), l0: 0, seg: rowLength });
    return out;
  }
  const seg = Math.max(unit, Math.floor(cap / unit) * unit);
  for (let row = 0; row < rows; row++) {
    for (let l0 = 0; l0 < rowLength; l0 += seg) out.push({ row0: row, rows: 1, l0, seg: Math.min(seg, rowLength - l0) });
  }
  return out;
}

/** Per-element results in blocked order (codes or float32 bits), scale codes and BDR microexponents. */
interface Encoded<T> {
  readonly out: T;
  readonly scales: ScaleArray;
  readonly taus: Uint8Array | null;
}

interface TextureLike {
  renderRawOutput(): Float32Array;
}

function isTexture(v: unknown): v is TextureLike {
  return typeof v === 'object' && v !== null && typeof (v as TextureLike).renderRawOutput === 'function';
}

/** The first `count` results of a one-number-per-thread kernel (a Float32Array, or a pipeline texture). */
function scalars(result: unknown, count: number): Float32Array {
  if (isTexture(result)) {
    const raw = result.renderRawOutput();
    const out = new Float32Array(count);
    for (let j = 0; j < count; j++) out[j] = raw[4 * j]!;
    return out;
  }
  if (result instanceof Float32Array && result.length >= count) return result.subarray(0, count);
  throw new WebGLBackendError(`gpu.js returned ${Object.prototype.toString.call(result)} where ${count} numbers were expected`);
}

// ----------------------------------------------------------------------------- the backend

class WebGLBackendImpl implements WebGLBackend {
  capabilities!: WebGLCapabilities;
  private readonly kernels = new Map<string, GpuJsKernel>();
  private disposed = false;
  readonly flavor: KernelFlavor;

  constructor(
    private readonly gpu: GpuJsInstance,
    readonly context: WebGLContextKind,
    private readonly cap: number,
  ) {
    this.flavor = context === 'webgl2' ? 'exact' : 'portable';
  }

  // ---- kernels

  private alive(): void {
    if (this.disposed) throw new OptionError('this WebGL backend was disposed; create a new one with createWebGLBackend()');
  }

  private kernel(spec: KernelSpec): GpuJsKernel {
    let k = this.kernels.get(spec.key);
    if (k) return k;
    try {
      k = this.gpu.createKernel(spec.source, {
        output: [1],
        argumentTypes: { ...spec.argumentTypes },
        precision: 'single',
        tactic: 'precision',
        dynamicOutput: true,
        dynamicArguments: true,
        pipeline: spec.returnType === 'Array(2)',
        ...(spec.injected ? { injectedNative: spec.injected } : {}),
        nativeFunctions: spec.natives.map((n) => ({ name: n.name, source: n.source })),
        functions: spec.functions.map((f) => ({
          source: f.source,
          settings: { argumentTypes: new Array<string>(f.argumentCount).fill('Number'), returnType: 'Number' },
        })),
      });
    } catch (e) {
      throw new WebGLBackendError(`gpu.js could not create a kernel: ${e instanceof Error ? e.message : String(e)}`);
    }
    this.kernels.set(spec.key, k);
    return k;
  }

  /** Run a kernel over `output` threads; errors (lost context, rejected shader) become WebGLBackendError. */
  private run(spec: KernelSpec, output: number[], args: unknown[]): unknown {
    const k = this.kernel(spec);
    try {
      k.setOutput(output);
      return k(...args);
    } catch (e) {
      const ctx = k.kernel?.context as { isContextLost?: () => boolean } | undefined;
      const lost = typeof ctx?.isContextLost === 'function' && ctx.isContextLost();
      const why = lost ? 'the WebGL context was lost (dispose this backend and create a new one)' : e instanceof Error ? e.message : String(e);
      throw new WebGLBackendError(`WebGL kernel failed: ${why}`);
    }
  }

  /** Run an element or dequantize kernel for float32 results (two 16-bit halves per thread). */
  private runBits(plan: KernelPlan, kind: 'element' | 'dequant', count: number, args: unknown[]): Uint32Array {
    const spec = kernelSpec(kind, plan, this.flavor);
    const out = new Uint32Array(count);
    if (this.flavor === 'exact') {
      const raw = this.rawPairs(spec, count, kind === 'element' ? [...args, 1] : args);
      for (let j = 0; j < count; j++) out[j] = ((raw[4 * j]! << 16) | raw[4 * j + 1]!) >>> 0;
      return out;
    }
    const select = kind === 'element' ? [1, 2] : [1, 0];
    const hi = Float32Array.from(scalars(this.run(spec, [count], [...args, select[0]]), count));
    const lo = scalars(this.run(spec, [count], [...args, select[1]]), count);
    for (let j = 0; j < count; j++) out[j] = ((hi[j]! << 16) | lo[j]!) >>> 0;
    return out;
  }

  /** Run an element kernel for codes. */
  private runCodes(plan: KernelPlan, count: number, args: unknown[]): Float32Array {
    const spec = kernelSpec('element', plan, this.flavor);
    if (this.flavor === 'exact') {
      const raw = this.rawPairs(spec, count, [...args, 0]);
      const out = new Float32Array(count);
      for (let j = 0; j < count; j++) out[j] = raw[4 * j]!;
      return out;
    }
    return Float32Array.from(scalars(this.run(spec, [count], [...args, 0]), count));
  }

  /** The raw RGBA texels of a two-channel (Array(2)) kernel. */
  private rawPairs(spec: KernelSpec, count: number, args: unknown[]): Float32Array {
    const result = this.run(spec, [count], args);
    if (!isTexture(result)) throw new WebGLBackendError('gpu.js returned no texture for a two-channel kernel');
    return result.renderRawOutput();
  }

  /** Run a block scan (level 0: block info per block; 1: microexponent per sub-block). */
  private runScan(plan: KernelPlan, count: number, xs: Float32Array, seg: number, info: Float32Array | null): Float32Array {
    const spec = kernelSpec('scan', plan, this.flavor);
    const sub = plan.block!.subSize > 0;
    const args: unknown[] = sub ? [xs, info ?? NO_INFO, seg, info ? 1 : 0] : [xs, seg];
    return Float32Array.from(scalars(this.run(spec, [count], args), count));
  }

  // ---- quantize / fake-quantize

  async quantize(x: Float32Array, format: string | Format, opts?: QuantizeOptions): Promise<QuantizedTensor> {
    this.alive();
    const input = checkInput(x);
    const f = toFormat(format);
    const resolved = resolveOptions(f, input.length, opts);
    const plan = this.planFor(f, resolved, input);
    if (!plan) return referenceQuantize(input, f, opts);
    const r = this.encode(plan, input, f, resolved, 'codes');
    return new QuantizedTensor({
      format: f,
      options: resolved,
      codes: packCodes(r.out, plan.element.bits, r.out.length),
      scales: r.scales,
      subScales: r.taus ? packCodes(r.taus, plan.block!.subBits) : new Uint8Array(0),
      offsets: new Uint8Array(0),
      tensorScale: 1,
    });
  }

  async fakeQuantize(x: Float32Array, format: string | Format, opts?: QuantizeOptions): Promise<Float32Array> {
    this.alive();
    const input = checkInput(x);
    const f = toFormat(format);
    const resolved = resolveOptions(f, input.length, opts);
    const plan = this.planFor(f, resolved, input);
    if (!plan) return referenceDequantize(referenceQuantize(input, f, opts));
    return unblocked(this.encode(plan, input, f, resolved, 'values').out, layoutOf(f, resolved));
  }

  private planFor(f: Format, resolved: ResolvedOptions, input: Float32Array): KernelPlan | null {
    if (input.length === 0) return null;
    const k = kernelConstants(f, resolved);
    // the emulator's float32 log2 and half-add artefacts are not in the GLSL block kernels
    if (k.rules.emulatorElementStep) return null;
    const p = quantizePlan(f, resolved, this.flavor === 'exact').plan;
    if (!p) return null;
    if (p.scheme === 'cast' && castWouldThrow(input, k.element.element)) return null;
    return p;
  }

  /**
   * Quantize in dispatches: per chunk, the block scan (scales), the sub-block scan (BDR
   * microexponents), then the element kernel for codes or fake-quantized float32 bits. Results are in
   * blocked order.
   */
  private encode(plan: KernelPlan, input: Float32Array, f: Format, resolved: ResolvedOptions, want: 'codes'): Encoded<Uint16Array>;
  private encode(plan: KernelPlan, input: Float32Array, f: Format, resolved: ResolvedOptions, want: 'values'): Encoded<Uint32Array>;
  private encode(plan: KernelPlan, input: Float32Array, f: Format, resolved: ResolvedOptions, want: 'codes' | 'values'): Encoded<Uint16Array | Uint32Array> {
    const L = layoutOf(f, resolved);
    const bits = blockedBits(input, L);
    const seed = plan.rounding === 3 ? [resolved.seed >>> 16, resolved.seed & 0xffff] : null;
    const out = want === 'codes' ? new Uint16Array(L.n) : new Uint32Array(L.n);
    const element = (count: number, args: unknown[], at: number) => out.set(want === 'codes' ? this.runCodes(plan, count, args) : this.runBits(plan, 'element', count, args), at);
    const k = plan.block;
    if (!k) {
      for (const c of chunksOf(1, L.n, 1, this.cap)) element(c.seg, seed ? [halves(bits, c.l0, c.seg), c.l0, ...seed] : [halves(bits, c.l0, c.seg)], c.l0);
      return { out, scales: new Uint8Array(0), taus: null };
    }
    const scales = newScaleArray(scaleElementOf(f, resolved), L.scaleCount);
    const taus = k.subSize > 0 ? new Uint8Array(L.subScaleCount) : null;
    for (const c of chunksOf(L.rows, L.rowLength, k.size, this.cap)) {
      const p0 = c.row0 * L.rowLength + c.l0;
      const count = c.rows * c.seg;
      const xs = halves(bits, p0, count);
      const nb = c.rows * Math.ceil(c.seg / k.size);
      const info = this.runScan(plan, nb, xs, c.seg, null);
      const base = c.row0 * L.blocksPerRow + c.l0 / k.size;
      for (let b = 0; b < nb; b++) scales[base + b] = info[b]! % 256;
      const args: unknown[] = [xs, info];
      if (taus) {
        const t = this.runScan(plan, c.rows * Math.ceil(c.seg / k.subSize), xs, c.seg, info);
        taus.set(t, c.row0 * L.subBlocksPerRow + c.l0 / k.subSize);
        args.push(t);
      }
      args.push(c.seg);
      if (seed) args.push(c.row0, c.l0, L.rowLength, L.inner, ...seed);
      element(count, args, p0);
    }
    return { out, scales, taus };
  }

  // ---- dequantize

  async dequantize(q: QuantizedTensor): Promise<Float32Array> {
    this.alive();
    if (!(q instanceof QuantizedTensor)) throw new OptionError('dequantize expects a QuantizedTensor from quantize() or QuantizedTensor.fromBytes()');
    const plan = q.length === 0 ? null : (dequantizePlan(q.format, q.options).plan ?? null);
    if (!plan) return referenceDequantize(q);
    const L = q.layout;
    const codes = unpackCodes(q.codes, plan.element.bits, L.n);
    const out = new Uint32Array(L.n);
    const k = plan.block;
    if (!k) {
      for (const c of chunksOf(1, L.n, 1, this.cap)) {
        out.set(this.runBits(plan, 'dequant', c.seg, [Float32Array.from(codes.subarray(c.l0, c.l0 + c.seg))]), c.l0);
      }
      return new Float32Array(out.buffer);
    }
    const taus = k.subSize > 0 ? unpackCodes(q.subScales, k.subBits, L.subScaleCount) : null;
    for (const c of chunksOf(L.rows, L.rowLength, k.size, this.cap)) {
      const p0 = c.row0 * L.rowLength + c.l0;
      const count = c.rows * c.seg;
      const nb = c.rows * Math.ceil(c.seg / k.size);
      const base = c.row0 * L.blocksPerRow + c.l0 / k.size;
      const args: unknown[] = [Float32Array.from(codes.subarray(p0, p0 + count)), Float32Array.from(q.scales.subarray(base, base + nb))];
      if (taus) {
        const ns = c.rows * Math.ceil(c.seg / k.subSize);
        const sb = c.row0 * L.subBlocksPerRow + c.l0 / k.subSize;
        args.push(Float32Array.from(taus.subarray(sb, sb + ns)));
      }
      args.push(c.seg);
      out.set(this.runBits(plan, 'dequant', count, args), p0);
    }
    return unblocked(out, L);
  }

  // ---- matmul

  async matmul(a: Float32Array | QuantizedTensor, w: QuantizedTensor, opts: MatmulOptions): Promise<Float32Array> {
    this.alive();
    const { N, K, m } = matmulShape(w, opts);
    const av = checkActivations(a instanceof QuantizedTensor ? await this.dequantize(a) : a, m, K);
    const wv = await this.dequantize(w);
    return this.dot(av, wv, m, N, K);
  }

  /** y[i, n] = Σ_k a[i, k]·w[n, k]: float32 partial sums of MATMUL_CHUNK products on the GPU, added in float64. */
  private dot(a: Float32Array, w: Float32Array, m: number, N: number, K: number): Float32Array {
    const y = new Float32Array(m * N);
    if (m === 0 || N === 0 || K === 0) return y;
    const spec = matmulSpec(this.flavor);
    const cap = this.cap;
    const kSeg = Math.max(MATMUL_CHUNK, Math.min(K, Math.floor(cap / MATMUL_CHUNK) * MATMUL_CHUNK));
    const acc = new Float64Array(m * N);
    for (let k0 = 0; k0 < K; k0 += kSeg) {
      const kl = Math.min(kSeg, K - k0);
      const kc = Math.ceil(kl / MATMUL_CHUNK);
      const rowsA = Math.max(1, Math.min(m, Math.floor(cap / kl)));
      const rowsW = Math.max(1, Math.min(N, Math.floor(cap / kl), Math.floor(cap / (kc * rowsA))));
      for (let i0 = 0; i0 < m; i0 += rowsA) {
        const mi = Math.min(rowsA, m - i0);
        const at = new Float32Array(mi * kl);
        for (let i = 0; i < mi; i++) at.set(a.subarray((i0 + i) * K + k0, (i0 + i) * K + k0 + kl), i * kl);
        for (let n0 = 0; n0 < N; n0 += rowsW) {
          const ni = Math.min(rowsW, N - n0);
          const wt = new Float32Array(ni * kl);
          for (let n = 0; n < ni; n++) wt.set(w.subarray((n0 + n) * K + k0, (n0 + n) * K + k0 + kl), n * kl);
          const part = scalars(this.run(spec, [kc * ni * mi], [at, wt, kl, kc, ni]), kc * ni * mi);
          for (let i = 0; i < mi; i++) {
            for (let n = 0; n < ni; n++) {
              let s = 0;
              const o = (i * ni + n) * kc;
              for (let c = 0; c < kc; c++) s += part[o + c]!;
              acc[(i0 + i) * N + n0 + n] += s;
            }
          }
        }
      }
    }
    for (let j = 0; j < y.length; j++) y[j] = acc[j]!;
    return y;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const k of this.kernels.values()) {
      try {
        k.destroy?.(true);
      } catch {
        // a kernel whose context is already gone has nothing left to free
      }
    }
    this.kernels.clear();
    try {
      await this.gpu.destroy();
    } catch {
      // same: destroying a lost context may throw, and there is nothing more to release
    }
  }

  /** The renderer string and texture limit of the context, where the context tells them. */
  deviceNotes(): string[] {
    const k = [...this.kernels.values()][0];
    const gl = k?.kernel?.context as { getParameter?: (p: number) => unknown; getExtension?: (n: string) => unknown; RENDERER?: number; MAX_TEXTURE_SIZE?: number } | undefined;
    if (!gl || typeof gl.getParameter !== 'function') return [];
    const notes: string[] = [];
    try {
      const dbg = gl.getExtension?.('WEBGL_debug_renderer_info') as { UNMASKED_RENDERER_WEBGL?: number } | null | undefined;
      const renderer = dbg?.UNMASKED_RENDERER_WEBGL !== undefined ? gl.getParameter(dbg.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER ?? 0x1f01);
      notes.push(`renderer: ${String(renderer)}`);
      notes.push(`max texture size: ${String(gl.getParameter(gl.MAX_TEXTURE_SIZE ?? 0x0d33))}`);
    } catch {
      // the parameters are informative only
    }
    return notes;
  }
}

// ----------------------------------------------------------------------------- self-test

/** Adversarial values: zeros of both signs, subnormals, powers of two and their neighbours, ties, specials. */
export function selfTestInput(): Float32Array {
  const bits = [
    0x00000000, 0x80000000, 0x00000001, 0x80000001, 0x007fffff, 0x00800000, 0x3f800000, 0x3fbfffff, 0x3fc00000, 0xbf400000, 0x477fe000, 0x477ff000,
    0x7f7fffff, 0xff7fffff, 0x33800000, 0x33000001, 0x43e00000, 0x43e80000, 0x40c00000, 0x3e800001, 0x7f800000, 0xff800000, 0x7fc00000, 0x3f7fffff,
    0x40400000, 0xc0a00000, 0x41200000, 0x3dcccccd, 0xbe99999a, 0x42c80000, 0x00400000, 0x80000000,
  ];
  return new Float32Array(Uint32Array.from(bits).buffer);
}

/** Run the self-test vectors; returns mismatch descriptions (empty when exact). */
async function selfTest(b: WebGLBackendImpl): Promise<string[]> {
  const x = selfTestInput();
  const finite = x.map((v) => (Number.isFinite(v) ? v : 1.5));
  const bad: string[] = [];
  const cases: [string, Float32Array, QuantizeOptions][] = [
    ['fp16', x, {}],
    ['mxfp8_e4m3', finite, {}],
    ['mx9', finite, { shape: [2, 16] }],
    ['mxint8', x, { rounding: 'rna' }],
  ];
  for (const [name, input, opts] of cases) {
    const got = await b.fakeQuantize(input, name, opts);
    const want = referenceDequantize(referenceQuantize(input, name, opts));
    const g = bitsOf(got);
    const w = bitsOf(want);
    for (let j = 0; j < g.length; j++) {
      const bothNaN = got[j] !== got[j] && want[j] !== want[j];
      if (g[j] !== w[j] && !bothNaN) {
        bad.push(`${name}: input ${x[j]} gave ${got[j]}, reference ${want[j]}`);
        break;
      }
    }
  }
  return bad;
}

// ----------------------------------------------------------------------------- factory

/**
 * Create the WebGL backend (gpu.js). Uses WebGL2 where available (exact kernels), else WebGL1 or
 * headless-gl (portable kernels, `bitExact: false`); gpu.js's CPU mode only on request. Throws
 * {@link WebGLBackendError} when gpu.js or a context is missing.
 */
export async function createWebGLBackend(opts: WebGLBackendOptions = {}): Promise<WebGLBackend> {
  if (opts === null || typeof opts !== 'object') throw new OptionError(`createWebGLBackend options must be an object; got ${String(opts)}`);
  for (const key of Object.keys(opts)) {
    if (!OPTION_KEYS.has(key)) throw new OptionError(`unknown option "${key}" for createWebGLBackend; known: ${[...OPTION_KEYS].join(', ')}`);
  }
  const request = opts.context ?? 'auto';
  if (!CONTEXTS.includes(request)) throw new OptionError(`context must be one of ${CONTEXTS.join(', ')}; got ${JSON.stringify(opts.context)}`);
  const asked = opts.maxElementsPerDispatch ?? MAX_DISPATCH;
  if (!Number.isInteger(asked) || asked < 1 || asked > MAX_DISPATCH) {
    throw new OptionError(`maxElementsPerDispatch must be an integer in 1…${MAX_DISPATCH}; got ${opts.maxElementsPerDispatch}`);
  }
  const gpujs = await loadGpuJs(opts.gpujs);
  const kind = chooseContext(request === 'cpu' ? { webgl2: false, webgl: false, headlessgl: false, singlePrecision: true } : availability(gpujs.GPU), request, opts.allowCpuFallback === true);
  // one texel per thread and per input value at most: stay within the context's textures
  const side = maxTextureSize(gpujs, kind);
  const cap = side === null ? asked : Math.min(asked, side * side);
  let gpu: GpuJsInstance;
  try {
    gpu = new gpujs.GPU({ mode: kind });
  } catch (e) {
    throw new WebGLBackendError(`gpu.js could not start its ${kind} mode: ${e instanceof Error ? e.message : String(e)}`, 'BACKEND_UNAVAILABLE');
  }
  const backend = new WebGLBackendImpl(gpu, kind, cap);
  const exact = kind === 'webgl2';
  const notes: string[] = [];
  let bitExact = exact;
  if (opts.selfTest !== false) {
    let bad: string[];
    try {
      bad = await selfTest(backend);
    } catch (e) {
      await backend.dispose();
      throw e;
    }
    if (bad.length === 0) notes.push('self-test: adversarial vectors equal the reference bit for bit');
    else {
      bitExact = false;
      notes.push(`self-test found differences from the reference (declared inexact): ${bad.join('; ')}`);
    }
  }
  if (kind === 'webgl2') {
    notes.unshift('WebGL2: native GLSL ES 3.00 integer kernels; float32 values cross textures as two exact 16-bit halves');
  } else if (kind === 'cpu') {
    notes.unshift("gpu.js CPU mode: no WebGL context, nothing runs on a GPU (not a WebGL backend); portable kernels run as JavaScript; not bit-exact by declaration");
  } else {
    notes.unshift(`${kind === 'webgl' ? 'WebGL1' : 'headless-gl (WebGL1)'}: portable float kernels, exact where highp arithmetic is IEEE float32, which GLSL ES 1.00 does not promise: not bit-exact by declaration`);
  }
  notes.push(...backend.deviceNotes());
  notes.push(`matmul: operands dequantized by this backend; float32 partial sums of ${MATMUL_CHUNK} products on the device, added in float64`);
  const delegated = exact ? DELEGATED : [...DELEGATED, 'stochastic rounding (needs 32-bit integer arithmetic)'];
  notes.push(`delegated to the reference codec: ${delegated.join('; ')}`);
  backend.capabilities = Object.freeze({
    name: 'webgl',
    bitExact,
    matmulRelativeBound: (MATMUL_CHUNK + 2) * 2 ** -24,
    threads: 1,
    simd: false,
    notes: Object.freeze(notes),
    context: kind,
    gpu: kind !== 'cpu',
    codeStepBound: bitExact ? 0 : 1,
    delegated: Object.freeze(delegated),
    maxElementsPerDispatch: cap,
  });
  return backend;
}
