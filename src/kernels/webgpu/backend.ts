// The WebGPU backend: plans each operation (fused or general kernels, chunks, fallbacks), records
// it into submissions and assembles the QuantizedTensor / Float32Array results.
import { f32ToBits, mix32 } from '../../formats/bits.js';
import { EncodingError, MicroscaleError, OptionError, ShapeError } from '../../formats/errors.js';
import type { Format } from '../../formats/format.js';
import { dequantize as refDequantize, matmul as refMatmul, quantize as refQuantize, toFormat } from '../../formats/api.js';
import { layoutOf, type Layout } from '../../formats/layout.js';
import { resolveOptions, type QuantizeOptions, type ResolvedOptions } from '../../formats/options.js';
import { packedByteLength } from '../../formats/pack.js';
import { QuantizedTensor, newScaleArray, scaleElementOf } from '../../formats/quantized.js';
import { defaultTensorScale, float32Log2ExactAtPowersOfTwo, kernelConstants } from '../../formats/derived.js';
import { encodeElement } from '../../formats/reference/element-codec.js';
import type { MatmulOptions } from '../../formats/reference/matmul.js';
import { castFormat } from '../../formats/catalog.js';
import { ELEMENTS } from '../../formats/element.js';
import type { Backend, BackendCapabilities } from '../backend.js';
import type { GpuAdapterInfo, GpuBuffer, GpuComputePipeline, GpuDevice } from './gpu-types.js';
import { Runtime, openDevice, type Submission, type WebGPUBackendOptions } from './runtime.js';
import { DQ_PER_THREAD, DQ_WG, dequantizeWgsl } from './wgsl/dequantize.js';
import { MM_TILE_M, MM_TILE_N, matmulWgsl } from './wgsl/matmul.js';
import { programOf, type Program } from './wgsl/program.js';
import {
  GENERAL_PER_THREAD,
  WG,
  encodeWgsl,
  finalizeWgsl,
  firstMaxWgsl,
  fusedQuantizeWgsl,
  fusedShape,
  packScalesWgsl,
  packSubsWgsl,
  statsWgsl,
  tensorAmaxWgsl,
  type FusedShape,
} from './wgsl/quantize.js';
import { D_PARAMS, Q_PARAMS } from './wgsl/uniforms.js';

const fround = Math.fround;
/** Largest K for which the declared matmul bound holds; larger K runs on the reference. */
const MATMUL_MAX_K = 2 ** 20;
const MATMUL_BOUND = 2 ** -10;
const INF_BITS = 0x7f800000;

/** Operations that keep tensors on the device, for pipelines and benchmarks. */
export interface WebGPUKernels {
  /** Quantize `n` device-generated values (or `x`) on every run. */
  prepareQuantize(format: string | Format, opts: QuantizeOptions & { n?: number; x?: Float32Array }): Promise<PreparedOp>;
  /** Dequantize the output of a prepared quantize on every run. */
  prepareDequantize(from: PreparedOp): Promise<PreparedOp>;
  /** y = a · wᵀ with a random [m, K] float32 activation and `w` on the device. */
  prepareMatmul(w: QuantizedTensor, m: number): Promise<PreparedOp>;
  /** A copy of `bytes` between two device buffers, the bandwidth baseline: `buffer` records
   * copyBufferToBuffer, `shader` a compute kernel moving one vec4 per thread. */
  prepareCopy(bytes: number, via?: 'buffer' | 'shader'): Promise<PreparedOp>;
}

/** A device-resident operation that can be run repeatedly. */
export interface PreparedOp {
  readonly label: string;
  /** Bytes read and written by one run (inputs, packed outputs). */
  readonly bytesRead: number;
  readonly bytesWritten: number;
  /** Multiply-adds ×2 of one run (matmul), else 0. */
  readonly flops: number;
  /** Run `times` times in one submission; resolves with the wall-clock seconds until the queue is done. */
  run(times?: number): Promise<number>;
  /** Release the device buffers. */
  dispose(): void;
}

/** The WebGPU implementation of {@link Backend} (every operation returns a promise), plus
 * device-resident kernels. */
export interface WebGPUBackend extends Backend {
  quantize(x: Float32Array, format: string | Format, opts?: QuantizeOptions): Promise<QuantizedTensor>;
  dequantize(q: QuantizedTensor): Promise<Float32Array>;
  fakeQuantize(x: Float32Array, format: string | Format, opts?: QuantizeOptions): Promise<Float32Array>;
  matmul(a: Float32Array | QuantizedTensor, w: QuantizedTensor, opts: MatmulOptions): Promise<Float32Array>;
  readonly device: GpuDevice;
  readonly adapterInfo: GpuAdapterInfo;
  readonly kernels: WebGPUKernels;
}

// ------------------------------------------------------------------------------------------ plans

interface QuantPlan {
  readonly format: Format;
  readonly opts: ResolvedOptions;
  readonly layout: Layout;
  readonly p: Program;
  readonly fused: FusedShape | null;
  /** Flat elements per chunk for fused plans. */
  readonly chunk: number;
  readonly k2: number;
  readonly tb: number;
  readonly pipes: Record<string, GpuComputePipeline>;
}

interface DequantPlan {
  readonly p: Program;
  readonly layout: Layout;
  readonly flat: boolean;
  readonly scale: Pow2ScaleUniforms;
  readonly pipe: GpuComputePipeline;
}

/** The dequantize uniforms of a power-of-two scale: its bias and NaN code (0xffffffff where the
 * scale is read without one); zeros for other schemes. */
interface Pow2ScaleUniforms {
  readonly scale_bias: number;
  readonly scale_nan: number;
}

function pow2ScaleUniforms(format: Format, options: ResolvedOptions): Pow2ScaleUniforms {
  const p = kernelConstants(format, options).pow2;
  return p ? { scale_bias: p.scaleBias, scale_nan: p.nanScaleCode ?? 0xffffffff } : { scale_bias: 0, scale_nan: 0 };
}

/** Why an operation runs on the reference codec instead, or null. */
export function fallbackReason(format: Format, opts: ResolvedOptions, raw: QuantizeOptions | undefined): string | null {
  if (format.scaleRule === 'minMax' && !minMaxOnGpu(format)) return 'minMax scale rule outside integer elements with a signed float scale';
  if (kernelConstants(format, opts).rules.float32Log2 && !float32Log2ExactAtPowersOfTwo()) return "the float32 log2 rule: this engine's Math.log2 is not exact at powers of two";
  if (raw?.tensorScale !== undefined && fround(raw.tensorScale) !== raw.tensorScale) return 'tensorScale is not a float32 value';
  if (opts.scaleUpperBound !== null && fround(opts.scaleUpperBound) !== opts.scaleUpperBound) return 'scaleUpperBound is not a float32 value';
  if (layoutOf(format, opts).n === 0) return 'empty tensor';
  if (format.scheme === 'scaled' && format.scaleElement && (format.scaleElement.kind !== 'float' || format.scaleElement.nan === 'none')) return 'scale element without NaN';
  return null;
}

/** The minMax shapes the kernels take: integer elements, a signed float scale element (it stores
 * the offsets too), no tensor scale and no sub-blocks — every catalog affine format. */
function minMaxOnGpu(format: Format): boolean {
  const se = format.scaleElement;
  return format.element.kind === 'int' && se !== null && se.kind === 'float' && se.signed && !format.tensorScale && !format.subBlock;
}

function words(bits: number): number {
  return Math.ceil(bits / 32);
}

function isPow2Int(v: number): boolean {
  return v > 0 && (v & (v - 1)) === 0;
}

/** Copy `src` into `target` at byte `offset`. */
function bytesInto(target: Uint8Array, offset: number, src: Uint8Array): void {
  target.set(src, offset);
}

// ------------------------------------------------------------------------------------------ backend

class WebGPUBackendImpl implements WebGPUBackend {
  readonly capabilities: BackendCapabilities;
  readonly device: GpuDevice;
  readonly adapterInfo: GpuAdapterInfo;
  readonly kernels: WebGPUKernels;
  private readonly fusedEnabled: boolean;
  private readonly fusedPrefer: number | undefined;

  constructor(
    private readonly rt: Runtime,
    opts: WebGPUBackendOptions,
  ) {
    this.device = rt.device;
    this.adapterInfo = rt.info;
    this.fusedEnabled = opts.fused !== false;
    this.fusedPrefer = opts.fusedElementsPerThread;
    const i = rt.info;
    const name = [i.vendor, i.architecture, i.device, i.description].filter((s) => s).join(' ') || 'unknown adapter';
    this.capabilities = Object.freeze({
      name: 'webgpu',
      bitExact: true,
      matmulRelativeBound: MATMUL_BOUND,
      threads: 1,
      simd: false,
      notes: Object.freeze([
        `device: ${name}; storage binding limit ${rt.maxBinding} bytes (larger tensors are processed in chunks)`,
        'quantize, dequantize and fakeQuantize run on the GPU with integer-only arithmetic (bit-exact with the reference) for cast, power-of-two (OCP MX, MX extensions, BDR/MSFP, every scale mode, scaleBits, flushSubnormalBlocks, the microxcaling preset), absmax/signedMax scaled formats (NVFP4 incl. the torchao preset, software tensor/channel/row-wise scales, ggml types under the default preset), the minMax rule (int8_rowwise_affine, int4_rowwise_affine, q4_1, q5_1, on the general kernels; the reference\'s float64 steps are reproduced with 64-bit integer arithmetic) and preset "ggml" (ggml\'s own float32 quantizers for q8_0, q4_0, q4_1, q5_0, q5_1, ggml_mxfp4 and ggml_nvfp4, float32 log2 included)',
        'falls back to the reference codec on the CPU for: tensorScale or scaleUpperBound options that are not float32 values, empty tensors, and format descriptors outside the shapes above (minMax beyond integer elements with a signed float scale, scale elements without NaN)',
        `matmul: w decoded in the shader, float32 accumulation in chunks of 128 products; |y − y64| ≤ 2^-10·Σ|a·w| for K ≤ 2^20 (larger K runs on the reference) provided no product or partial sum is a float32 subnormal (GPUs may flush them); every weight format is decoded in the shader (prepareMatmul does not take minMax weights yet)`,
      ]),
    });
    this.kernels = {
      prepareQuantize: (format, o) => this.prepareQuantize(format, o),
      prepareDequantize: (from) => this.prepareDequantize(from),
      prepareMatmul: (w, m) => this.prepareMatmul(w, m),
      prepareCopy: (bytes, via) => this.prepareCopy(bytes, via),
    };
  }

  // -------------------------------------------------------------------------------- planning

  private async quantPlan(format: Format, opts: ResolvedOptions): Promise<QuantPlan> {
    const layout = layoutOf(format, opts);
    const p = programOf(format, opts);
    const flatBlocks = p.scheme === 'cast' || (layout.inner === 1 && (layout.rows <= 1 || layout.rowLength % layout.blockSize === 0));
    const bs = p.scheme === 'cast' ? 1 : layout.blockSize;
    let fused: FusedShape | null = null;
    // casts always take the fused kernel (it is their only kernel: no blocks to reduce)
    if (p.scheme === 'cast' || (this.fusedEnabled && flatBlocks && isPow2Int(bs))) fused = fusedShape(p, bs, this.fusedPrefer);
    const k2 = p.subBlock ? p.subBlock.size : 1;
    const tb = p.subBlock ? p.subBlock.bits : 0;
    const rt = this.rt;
    const pipes: Record<string, GpuComputePipeline> = {};
    const key = p.key;
    let chunk = layout.n;
    if (fused) {
      const shape = fused;
      pipes.fused = await rt.pipeline(`fused|${key}|${shape.elementsPerThread}|${shape.threadsPerBlock}`, () => fusedQuantizeWgsl(p, shape));
      const unit = Math.max(8 * bs * k2, 1024);
      const maxElems = Math.floor(rt.maxBinding / 4);
      chunk = Math.max(unit, Math.floor(maxElems / unit) * unit);
    } else {
      pipes.stats = await rt.pipeline(`stats|${key}`, () => statsWgsl(p));
      if (p.scaleRule === 'signedMax') pipes.first = await rt.pipeline(`first|${key}`, () => firstMaxWgsl(p));
      pipes.finalize = await rt.pipeline(`finalize|${key}`, () => finalizeWgsl(p));
      pipes.encode = await rt.pipeline(`encode|${key}`, () => encodeWgsl(p));
      pipes.packScales = await rt.pipeline(`packScales|${key}`, () => packScalesWgsl(p));
      if (p.subBlock) pipes.packSubs = await rt.pipeline(`packSubs|${key}`, () => packSubsWgsl(p));
    }
    if (p.tensorScale) pipes.amax = await rt.pipeline('tensorAmax', () => tensorAmaxWgsl());
    return { format, opts, layout, p, fused, chunk, k2, tb, pipes };
  }

  private async dequantPlan(p: Program, layout: Layout, scale: Pow2ScaleUniforms): Promise<DequantPlan> {
    const flat = p.scheme === 'cast' || (layout.inner === 1 && (layout.rows <= 1 || layout.rowLength % layout.blockSize === 0));
    const pipe = await this.rt.pipeline(`dequant|${p.key}|${flat}`, () => dequantizeWgsl(p, flat));
    return { p, layout, flat, scale, pipe };
  }

  private qParams(plan: QuantPlan, extra: Record<string, number>): Uint32Array {
    const { opts, layout } = plan;
    const k = kernelConstants(plan.format, opts);
    return Q_PARAMS.pack({
      seed_mix: mix32((opts.seed ^ 0x9e3779b9) >>> 0),
      rounding: k.roundingCode,
      scale_mode: k.scaleModeCode,
      smax: k.pow2 ? k.pow2.scaleBias : 0,
      flush: opts.flushSubnormalBlocks ? 1 : 0,
      micro: k.rules.emulatorElementStep ? 1 : 0,
      torchao: k.rules.scaleFloor !== null ? 1 : 0,
      bound: opts.scaleUpperBound !== null ? f32ToBits(opts.scaleUpperBound) : INF_BITS,
      row_len: layout.rowLength,
      inner: layout.inner,
      bs: Math.max(layout.blockSize, 1),
      bpr: layout.blocksPerRow,
      sbpr: layout.subBlocksPerRow,
      ...extra,
    });
  }

  /** Record one dispatch with its own parameter block. */
  private dispatchQ(sub: Submission, plan: QuantPlan, pipe: GpuComputePipeline, workgroups: number, extra: Record<string, number>, bindings: (GpuBuffer | null)[]): void {
    const g = this.rt.grid(workgroups);
    const u = sub.uniform(this.qParams(plan, { ...extra, wgx: g.x, n_wg: workgroups }));
    sub.dispatch(pipe, [u, ...bindings], g);
  }

  // -------------------------------------------------------------------------------- quantize kernels

  /** The default NVFP4 tensor scale: max finite |x| / (element max · scale max), never below 2^−149. */
  private async tensorScaleOf(plan: QuantPlan, x: Float32Array): Promise<number> {
    const chunk = Math.floor(this.rt.maxBinding / 4);
    let amaxBits = 0;
    for (let start = 0; start < x.length; start += chunk) {
      const part = x.subarray(start, Math.min(x.length, start + chunk));
      const sub = this.rt.begin();
      try {
        const xb = sub.upload(part);
        const out = sub.storage(4, true);
        this.dispatchQ(sub, plan, plan.pipes.amax!, Math.ceil(part.length / GENERAL_PER_THREAD / WG), { n: part.length }, [xb, out]);
        sub.read(out, 4);
      } catch (e) {
        sub.abort();
        throw e;
      }
      const [r] = await sub.finish();
      amaxBits = Math.max(amaxBits, new Uint32Array(r!.buffer, r!.byteOffset, 1)[0]!);
    }
    const amax = new Float32Array(new Uint32Array([amaxBits]).buffer)[0]!;
    return defaultTensorScale(plan.format, amax);
  }

  /** Record the fused kernel over one chunk already on the device. */
  private recordFused(sub: Submission, plan: QuantPlan, xb: GpuBuffer, n: number, flatBase: number, tensorScale: number): QuantBuffers {
    const p = plan.p;
    const c = fusedCounts(plan, n);
    const codes = sub.storage(c.codeWords * 4);
    const scales = p.scheme === 'cast' ? null : sub.storage(c.scaleWords * 4);
    const subs = p.subBlock ? sub.storage(c.subWords * 4) : null;
    const err = p.scheme === 'cast' ? sub.storage(4) : null;
    if (err) this.device.queue.writeBuffer(err, 0, new Uint32Array([0xffffffff]));
    this.dispatchQ(sub, plan, plan.pipes.fused!, c.workgroups, fusedFields(c, n, flatBase, tensorScale), [xb, codes, scales, subs, err]);
    return { codes, scales, subs, err, offsets: null, n, nBlocks: c.nBlocks, nSubs: c.nSubs };
  }

  /** Record the general kernels over the whole tensor, given its chunks on the device. */
  private recordGeneral(sub: Submission, plan: QuantPlan, chunks: { buffer: GpuBuffer; start: number; n: number }[], tensorScale: number): QuantBuffers {
    const { p, layout, tb } = plan;
    const nBlocks = layout.scaleCount;
    const nSubs = layout.subScaleCount;
    const codeWords = words(layout.n * p.codeBits);
    const scaleWords = words(nBlocks * p.scaleCodeBits);
    const subWords = words(nSubs * tb);
    const need = Math.max(nBlocks * 16, codeWords * 4, nSubs * 4);
    if (need > this.rt.maxBinding) {
      throw new ShapeError(
        `${plan.format.name} with shape [${plan.opts.shape.join(', ')}] needs a ${need}-byte buffer, above this device's ${this.rt.maxBinding}-byte binding limit; quantize along the last axis with a power-of-two block size, or split the tensor`,
      );
    }
    const common = {
      tensor_scale: f32ToBits(tensorScale),
      n_blocks: nBlocks,
      n_subs: nSubs,
      code_words: codeWords,
      scale_words: scaleWords,
      sub_words: subWords,
    };
    // block maxima, or four statistics per block under the minMax rule
    const bkey = sub.storage(nBlocks * (p.scaleRule === 'minMax' ? 16 : 4), true);
    const smax = p.subBlock ? sub.storage(nSubs * 4, true) : null;
    const bfirst = p.scaleRule === 'signedMax' ? sub.storage(nBlocks * 4, true) : null;
    const params = sub.storage(nBlocks * 16);
    const codes = sub.storage(codeWords * 4, true);
    const scales = sub.storage(scaleWords * 4);
    const subs = p.subBlock ? sub.storage(subWords * 4) : null;
    const offsets = p.scaleRule === 'minMax' ? sub.storage(scaleWords * 4) : null;
    const perThread = (n: number) => Math.ceil(Math.ceil(n / GENERAL_PER_THREAD) / WG);
    for (const c of chunks) this.dispatchQ(sub, plan, plan.pipes.stats!, perThread(c.n), { ...common, n: c.n, flat_base: c.start }, [c.buffer, bkey, smax]);
    if (bfirst) for (const c of chunks) this.dispatchQ(sub, plan, plan.pipes.first!, perThread(c.n), { ...common, n: c.n, flat_base: c.start }, [c.buffer, bkey, bfirst]);
    this.dispatchQ(sub, plan, plan.pipes.finalize!, Math.ceil(nBlocks / WG), common, [bkey, params, bfirst]);
    for (const c of chunks) this.dispatchQ(sub, plan, plan.pipes.encode!, perThread(c.n), { ...common, n: c.n, flat_base: c.start }, [c.buffer, params, codes, smax]);
    this.dispatchQ(sub, plan, plan.pipes.packScales!, Math.ceil(scaleWords / WG), common, [params, scales, offsets]);
    if (subs) this.dispatchQ(sub, plan, plan.pipes.packSubs!, Math.ceil(subWords / WG), common, [params, smax, subs]);
    return { codes, scales, subs, err: null, offsets, n: layout.n, nBlocks, nSubs };
  }

  // -------------------------------------------------------------------------------- Backend: quantize

  async quantize(x: Float32Array, format: string | Format, opts?: QuantizeOptions): Promise<QuantizedTensor> {
    this.rt.check();
    const prep = this.prepare(x, format, opts);
    if (prep.fallback) return refQuantize(x, format, opts);
    const { f, resolved } = prep;
    const plan = await this.quantPlan(f, resolved);
    const tensorScale = f.tensorScale ? (opts?.tensorScale ?? (await this.tensorScaleOf(plan, x))) : 1;
    const L = plan.layout;
    const p = plan.p;
    const codeBytes = packedByteLength(L.n, p.codeBits);
    const codes = new Uint8Array(codeBytes);
    const scaleEl = scaleElementOf(f, resolved);
    const scales = newScaleArray(scaleEl, L.scaleCount);
    const scaleView = new Uint8Array(scales.buffer, scales.byteOffset, scales.byteLength);
    const subScales = new Uint8Array(p.subBlock ? packedByteLength(L.subScaleCount, plan.tb) : 0);
    const offsets = newScaleArray(p.scaleRule === 'minMax' ? scaleEl : null, L.scaleCount);
    let firstError = 0xffffffff;
    if (plan.fused) {
      const bs = p.scheme === 'cast' ? 1 : L.blockSize;
      for (let start = 0; start < L.n; start += plan.chunk) {
        const n = Math.min(plan.chunk, L.n - start);
        const sub = this.rt.begin();
        let qb: QuantBuffers;
        try {
          const xb = sub.upload(x.subarray(start, start + n));
          qb = this.recordFused(sub, plan, xb, n, start, tensorScale);
          this.readQuant(sub, plan, qb);
        } catch (e) {
          sub.abort();
          throw e;
        }
        const parts = await sub.finish();
        bytesInto(codes, (start * p.codeBits) / 8, parts[0]!);
        if (qb.scales) bytesInto(scaleView, ((start / bs) * p.scaleCodeBits) / 8, parts[1]!);
        if (qb.subs) bytesInto(subScales, ((start / plan.k2) * plan.tb) / 8, parts[2]!);
        if (qb.err) firstError = Math.min(firstError, new Uint32Array(parts[3]!.slice().buffer)[0]!);
        if (firstError !== 0xffffffff) break;
      }
    } else {
      const sub = this.rt.begin();
      let qb: QuantBuffers;
      try {
        const chunks = this.uploadChunks(sub, x);
        qb = this.recordGeneral(sub, plan, chunks, tensorScale);
        this.readQuant(sub, plan, qb);
        if (qb.offsets) sub.read(qb.offsets, offsets.byteLength);
      } catch (e) {
        sub.abort();
        throw e;
      }
      const parts = await sub.finish();
      codes.set(parts[0]!);
      scaleView.set(parts[1]!);
      if (qb.subs) subScales.set(parts[2]!);
      if (qb.offsets) new Uint8Array(offsets.buffer, offsets.byteOffset, offsets.byteLength).set(parts[4]!);
    }
    if (firstError !== 0xffffffff) throw this.castError(x, firstError, p, resolved);
    return new QuantizedTensor({
      format: f,
      options: resolved,
      codes,
      scales,
      subScales,
      offsets,
      tensorScale,
    });
  }

  private uploadChunks(sub: Submission, x: Float32Array): { buffer: GpuBuffer; start: number; n: number }[] {
    const chunk = Math.floor(this.rt.maxBinding / 4);
    const out = [];
    for (let start = 0; start < x.length; start += chunk) {
      const n = Math.min(chunk, x.length - start);
      out.push({ buffer: sub.upload(x.subarray(start, start + n)), start, n });
    }
    return out;
  }

  /** Register reads of codes, scales, subs and the error word (always in that order, 4 slots). */
  private readQuant(sub: Submission, plan: QuantPlan, qb: QuantBuffers): void {
    const p = plan.p;
    sub.read(qb.codes, packedByteLength(qb.n, p.codeBits));
    sub.read(qb.scales ?? qb.codes, qb.scales ? (qb.nBlocks * p.scaleCodeBits) / 8 : 0);
    sub.read(qb.subs ?? qb.codes, qb.subs ? packedByteLength(qb.nSubs, plan.tb) : 0);
    sub.read(qb.err ?? qb.codes, qb.err ? 4 : 0);
  }

  /** The error the reference raises for the first element the element cannot encode. */
  private castError(x: Float32Array, index: number, p: Program, opts: ResolvedOptions): Error {
    try {
      encodeElement(p.element, x[index]!, opts.rounding, 0, p.element.kind === 'float' ? p.element.overflow : 'saturate');
    } catch (e) {
      if (e instanceof MicroscaleError) return new EncodingError(`input[${index}] = ${x[index]}: ${e.message}`);
      return e as Error;
    }
    return new EncodingError(`input[${index}] = ${x[index]} cannot be encoded in ${p.element.name}`);
  }

  /** Validate like the reference; `fallback` when the reference should do the work. */
  private prepare(
    x: Float32Array,
    format: string | Format,
    opts: QuantizeOptions | undefined,
  ): { fallback: true } | { fallback: false; f: Format; resolved: ResolvedOptions } {
    if (!(x instanceof Float32Array)) return { fallback: true };
    const f = toFormat(format);
    const resolved = resolveOptions(f, x.length, opts);
    if (fallbackReason(f, resolved, opts) !== null) return { fallback: true };
    try {
      programOf(f, resolved);
    } catch (e) {
      if (e instanceof RangeError) return { fallback: true };
      throw e;
    }
    return { fallback: false, f, resolved };
  }

  // -------------------------------------------------------------------------------- Backend: dequantize

  async dequantize(q: QuantizedTensor): Promise<Float32Array> {
    this.rt.check();
    if (!(q instanceof QuantizedTensor) || !this.decodesOnGpu(q)) return refDequantize(q);
    const p = programOf(q.format, q.options);
    const plan = await this.dequantPlan(p, q.layout, pow2ScaleUniforms(q.format, q.options));
    const n = q.length;
    const out = new Float32Array(n);
    const chunk = Math.max(8, Math.floor(this.rt.maxBinding / 16) * 4);
    const codeBytes = q.codes;
    const scaleBytesView = new Uint8Array(q.scales.buffer, q.scales.byteOffset, q.scales.byteLength);
    if (!plan.flat && codeBytes.byteLength > this.rt.maxBinding) {
      throw new ShapeError(`the codes of this ${q.format.name} tensor (${codeBytes.byteLength} bytes) exceed this device's ${this.rt.maxBinding}-byte binding limit`);
    }
    if (scaleBytesView.byteLength > this.rt.maxBinding || q.subScales.byteLength > this.rt.maxBinding || q.offsets.byteLength > this.rt.maxBinding) {
      throw new ShapeError(`the scales of this ${q.format.name} tensor exceed this device's ${this.rt.maxBinding}-byte binding limit`);
    }
    for (let start = 0; start < n; start += chunk) {
      const len = Math.min(chunk, n - start);
      const sub = this.rt.begin();
      try {
        const codes = plan.flat
          ? sub.upload(codeBytes.subarray((start * p.codeBits) / 8, Math.ceil(((start + len) * p.codeBits) / 8)))
          : sub.upload(codeBytes);
        const scales = p.scheme === 'cast' ? null : sub.upload(scaleBytesView);
        const subs = p.subBlock ? sub.upload(q.subScales) : null;
        const offsets = p.scaleRule === 'minMax' ? sub.upload(q.offsets) : null;
        const outBuf = sub.storage(Math.ceil(len / 4) * 16);
        this.recordDequant(sub, plan, { codes, scales, subs, offsets }, outBuf, len, start, plan.flat ? start : 0, q.tensorScale);
        sub.read(outBuf, len * 4);
      } catch (e) {
        sub.abort();
        throw e;
      }
      const [bytes] = await sub.finish();
      new Uint8Array(out.buffer, start * 4, len * 4).set(bytes!);
    }
    return out;
  }

  /** Whether dequantize and matmul decode `q` in the shader: {@link gpuDecodable}, plus minMax
   * tensors (decoded with their offsets bound). */
  private decodesOnGpu(q: QuantizedTensor): boolean {
    if (this.gpuDecodable(q)) return true;
    if (q.format.scaleRule !== 'minMax' || q.length === 0 || !minMaxOnGpu(q.format)) return false;
    try {
      programOf(q.format, q.options);
    } catch {
      return false;
    }
    return true;
  }

  private gpuDecodable(q: QuantizedTensor): boolean {
    const f = q.format;
    if (f.scaleRule === 'minMax' || q.length === 0) return false;
    if (f.tensorScale && fround(q.tensorScale) !== q.tensorScale) return false;
    try {
      programOf(f, q.options);
    } catch {
      return false;
    }
    return true;
  }

  private recordDequant(
    sub: Submission,
    plan: DequantPlan,
    src: { codes: GpuBuffer; scales: GpuBuffer | null; subs: GpuBuffer | null; offsets?: GpuBuffer | null },
    out: GpuBuffer,
    n: number,
    flatBase: number,
    codeBase: number,
    tensorScale: number,
  ): void {
    const L = plan.layout;
    const wgCount = Math.ceil(n / (DQ_WG * DQ_PER_THREAD));
    const g = this.rt.grid(wgCount);
    const u = sub.uniform(
      D_PARAMS.pack({
        n,
        flat_base: flatBase,
        code_base: codeBase,
        wgx: g.x,
        n_wg: wgCount,
        row_len: L.rowLength,
        inner: L.inner,
        bs: Math.max(L.blockSize, 1),
        bs_log2: isPow2Int(L.blockSize) ? Math.log2(L.blockSize) : 32,
        bpr: L.blocksPerRow,
        sbpr: L.subBlocksPerRow,
        ...plan.scale,
        tensor_scale: plan.p.tensorScale ? f32ToBits(tensorScale) : 0,
      }),
    );
    sub.dispatch(plan.pipe, [u, src.codes, src.scales, src.subs, out, src.offsets ?? null], g);
  }

  // -------------------------------------------------------------------------------- Backend: fakeQuantize

  async fakeQuantize(x: Float32Array, format: string | Format, opts?: QuantizeOptions): Promise<Float32Array> {
    this.rt.check();
    const prep = this.prepare(x, format, opts);
    if (prep.fallback) return refDequantize(refQuantize(x, format, opts));
    const { f, resolved } = prep;
    const plan = await this.quantPlan(f, resolved);
    const L = plan.layout;
    if (!plan.fused || L.n > plan.chunk) return this.dequantize(await this.quantize(x, format, opts));
    const tensorScale = f.tensorScale ? (opts?.tensorScale ?? (await this.tensorScaleOf(plan, x))) : 1;
    const dplan = await this.dequantPlan(plan.p, L, pow2ScaleUniforms(f, resolved));
    const sub = this.rt.begin();
    try {
      const xb = sub.upload(x);
      const qb = this.recordFused(sub, plan, xb, L.n, 0, tensorScale);
      const outBuf = sub.storage(Math.ceil(L.n / 4) * 16);
      this.recordDequant(sub, dplan, qb, outBuf, L.n, 0, 0, tensorScale);
      sub.read(outBuf, L.n * 4);
      sub.read(qb.err ?? outBuf, qb.err ? 4 : 0);
    } catch (e) {
      sub.abort();
      throw e;
    }
    const [bytes, errBytes] = await sub.finish();
    if (errBytes!.byteLength === 4) {
      const first = new Uint32Array(errBytes!.slice().buffer)[0]!;
      if (first !== 0xffffffff) throw this.castError(x, first, plan.p, resolved);
    }
    return new Float32Array(bytes!.slice().buffer);
  }

  // -------------------------------------------------------------------------------- Backend: matmul

  async matmul(a: Float32Array | QuantizedTensor, w: QuantizedTensor, opts: MatmulOptions): Promise<Float32Array> {
    this.rt.check();
    if (!(w instanceof QuantizedTensor) || w.shape.length !== 2) return refMatmul(a, w, opts);
    const [N, K] = w.shape as [number, number];
    if (w.format.granularity !== 'tensor' && w.format.granularity !== 'element' && w.axis !== 1) return refMatmul(a, w, opts);
    const m = opts?.m;
    if (!Number.isSafeInteger(m) || m < 0) return refMatmul(a, w, opts);
    if (!(a instanceof Float32Array) && !(a instanceof QuantizedTensor)) return refMatmul(a, w, opts);
    if (a.length !== m * K) return refMatmul(a, w, opts);
    if (K > MATMUL_MAX_K || m === 0 || N === 0 || K === 0) return refMatmul(a, w, opts);
    const av = a instanceof QuantizedTensor ? await this.dequantize(a) : a;
    const wt = this.decodesOnGpu(w) ? w : this.plainWeights(w);
    const p = programOf(wt.format, wt.options);
    const pipe = await this.rt.pipeline(`matmul|${p.key}`, () => matmulWgsl(p));
    const rowsPerChunk = Math.max(MM_TILE_M, Math.floor(this.rt.maxBinding / Math.max(4 * K, 4 * N) / MM_TILE_M) * MM_TILE_M);
    const y = new Float32Array(m * N);
    const wScaleView = new Uint8Array(wt.scales.buffer, wt.scales.byteOffset, wt.scales.byteLength);
    if (wt.codes.byteLength > this.rt.maxBinding) {
      throw new ShapeError(`the weight codes (${wt.codes.byteLength} bytes) exceed this device's ${this.rt.maxBinding}-byte binding limit; split w along N`);
    }
    for (let m0 = 0; m0 < m; m0 += rowsPerChunk) {
      const mc = Math.min(rowsPerChunk, m - m0);
      const sub = this.rt.begin();
      try {
        const codes = sub.upload(wt.codes);
        const scales = p.scheme === 'cast' ? null : sub.upload(wScaleView);
        const subs = p.subBlock ? sub.upload(wt.subScales) : null;
        const offsets = p.scaleRule === 'minMax' ? sub.upload(wt.offsets) : null;
        const ab = sub.upload(av.subarray(m0 * K, (m0 + mc) * K));
        const yb = sub.storage(mc * N * 4);
        this.recordMatmul(sub, pipe, wt, { codes, scales, subs, offsets }, ab, yb, mc, N, K);
        sub.read(yb, mc * N * 4);
      } catch (e) {
        sub.abort();
        throw e;
      }
      const [bytes] = await sub.finish();
      new Uint8Array(y.buffer, m0 * N * 4, mc * N * 4).set(bytes!);
    }
    return y;
  }

  /** Weights the shader cannot decode, as float32 codes of an fp32 cast tensor. */
  private plainWeights(w: QuantizedTensor): QuantizedTensor {
    const values = refDequantize(w);
    const fmt = castFormat(ELEMENTS.fp32);
    const opts = resolveOptions(fmt, values.length, { shape: w.shape });
    return new QuantizedTensor({
      format: fmt,
      options: opts,
      codes: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
      scales: new Uint8Array(0),
      subScales: new Uint8Array(0),
      offsets: new Uint8Array(0),
      tensorScale: 1,
    });
  }

  private recordMatmul(
    sub: Submission,
    pipe: GpuComputePipeline,
    w: QuantizedTensor,
    wb: { codes: GpuBuffer; scales: GpuBuffer | null; subs: GpuBuffer | null; offsets?: GpuBuffer | null },
    ab: GpuBuffer,
    yb: GpuBuffer,
    m: number,
    N: number,
    K: number,
  ): void {
    const L = w.layout;
    const single = w.format.granularity === 'tensor' || w.format.granularity === 'element';
    const gx = Math.ceil(N / MM_TILE_N);
    const tilesM = Math.ceil(m / MM_TILE_M);
    const maxY = this.rt.maxWorkgroupsPerDim;
    if (gx > maxY) throw new ShapeError(`matmul: N = ${N} needs ${gx} workgroups along one dimension, above the device limit of ${maxY}`);
    for (let t0 = 0; t0 < tilesM; t0 += maxY) {
      const gy = Math.min(maxY, tilesM - t0);
      const u = sub.uniform(
        D_PARAMS.pack({
          row_len: L.rowLength,
          inner: 1,
          bs: Math.max(L.blockSize, 1),
          bpr: L.blocksPerRow,
          sbpr: L.subBlocksPerRow,
          ...pow2ScaleUniforms(w.format, w.options),
          tensor_scale: w.format.tensorScale ? f32ToBits(w.tensorScale) : 0,
          m,
          n_out: N,
          k: K,
          m_base: t0 * MM_TILE_M,
          single_row: single ? 1 : 0,
        }),
      );
      sub.dispatch(pipe, [u, wb.codes, wb.scales, wb.subs, ab, yb, wb.offsets ?? null], { x: gx, y: gy });
    }
  }

  // -------------------------------------------------------------------------------- prepared kernels

  private async prepareQuantize(format: string | Format, o: QuantizeOptions & { n?: number; x?: Float32Array }): Promise<PreparedOp> {
    const { n: nOpt, x: xOpt, ...qopts } = o;
    const n = xOpt ? xOpt.length : (nOpt ?? 0);
    const f = toFormat(format);
    const resolved = resolveOptions(f, n, qopts);
    const reason = fallbackReason(f, resolved, qopts);
    if (reason) throw new OptionError(`prepareQuantize: ${f.name} with these options runs on the CPU (${reason})`);
    const plan = await this.quantPlan(f, resolved);
    if (!plan.fused || n > plan.chunk) throw new ShapeError('prepareQuantize needs a layout the fused kernel takes (blocks along the last axis) that fits one binding');
    const fill = await this.rt.pipeline('fill', () => FILL_WGSL);
    const tensorScale = f.tensorScale ? (qopts.tensorScale ?? 1) : 1;
    const device = this.device;
    const xb = device.createBuffer({ size: Math.ceil(n / 4) * 16 + 16, usage: 0x80 | 0x8 | 0x4 });
    if (xOpt) device.queue.writeBuffer(xb, 0, xOpt);
    else {
      const sub = this.rt.begin();
      const g = this.rt.grid(Math.ceil(n / WG));
      sub.dispatch(fill, [sub.uniform(Q_PARAMS.pack({ n, wgx: g.x, n_wg: Math.ceil(n / WG) })), xb], g);
      await sub.finish();
    }
    const p = plan.p;
    const c = fusedCounts(plan, n);
    const bytesWritten = Math.ceil((n * p.codeBits) / 8) + (c.nBlocks * p.scaleCodeBits) / 8 + Math.ceil((c.nSubs * plan.tb) / 8);
    const outputs = createQuantOutputs(device, plan, n);
    if (outputs.err) device.queue.writeBuffer(outputs.err, 0, new Uint32Array([0xffffffff]));
    const { record, uniform } = this.fusedRecorder(plan, xb, n, tensorScale, outputs);
    const op: PreparedQuantize = {
      label: `quantize ${f.name}`,
      bytesRead: n * 4,
      bytesWritten,
      flops: 0,
      plan,
      outputs,
      n,
      tensorScale,
      run: (times = 1) => this.timed(times, record),
      dispose: () => {
        xb.destroy();
        uniform.destroy();
        for (const b of Object.values(outputs)) b?.destroy();
      },
    };
    return op;
  }

  /**
   * The fused kernel writing into fixed output buffers (prepared ops): its uniform and bind group
   * are made once, so each run records a single dispatch, like the copy baselines.
   */
  private fusedRecorder(plan: QuantPlan, xb: GpuBuffer, n: number, tensorScale: number, out: QuantOutputs): { record: (sub: Submission) => void; uniform: GpuBuffer } {
    const c = fusedCounts(plan, n);
    const g = this.rt.grid(c.workgroups);
    const uniform = this.rt.constantUniform(this.qParams(plan, { ...fusedFields(c, n, 0, tensorScale), wgx: g.x, n_wg: c.workgroups }));
    const pipe = plan.pipes.fused!;
    const group = this.rt.bindGroup(pipe, [uniform, xb, out.codes, out.scales, out.subs, out.err]);
    return { record: (sub) => sub.dispatchGroup(pipe, group, g), uniform };
  }

  private async prepareDequantize(from: PreparedOp): Promise<PreparedOp> {
    const q = from as PreparedQuantize;
    if (!q.plan || !q.outputs) throw new OptionError('prepareDequantize takes the result of prepareQuantize');
    const plan = await this.dequantPlan(q.plan.p, q.plan.layout, pow2ScaleUniforms(q.plan.format, q.plan.opts));
    const n = q.n;
    const outBuf = this.device.createBuffer({ size: Math.ceil(n / 4) * 16, usage: 0x80 | 0x4 });
    const record = (sub: Submission) => this.recordDequant(sub, plan, q.outputs, outBuf, n, 0, 0, q.tensorScale);
    return {
      label: `dequantize ${q.plan.format.name}`,
      bytesRead: q.bytesWritten,
      bytesWritten: n * 4,
      flops: 0,
      run: (times = 1) => this.timed(times, record),
      dispose: () => outBuf.destroy(),
    };
  }

  private async prepareMatmul(w: QuantizedTensor, m: number): Promise<PreparedOp> {
    if (!(w instanceof QuantizedTensor) || w.shape.length !== 2) throw new ShapeError('prepareMatmul: w must be a QuantizedTensor of shape [N, K]');
    const [N, K] = w.shape as [number, number];
    if (!this.decodesOnGpu(w)) throw new OptionError(`prepareMatmul: ${w.format.name} weights are decoded on the CPU`);
    const p = programOf(w.format, w.options);
    const pipe = await this.rt.pipeline(`matmul|${p.key}`, () => matmulWgsl(p));
    const fill = await this.rt.pipeline('fill', () => FILL_WGSL);
    const device = this.device;
    const make = (bytes: number) => device.createBuffer({ size: Math.max(16, Math.ceil(bytes / 16) * 16), usage: 0x80 | 0x8 | 0x4 });
    const codes = make(w.codes.byteLength);
    device.queue.writeBuffer(codes, 0, padded(w.codes));
    const scales = p.scheme === 'cast' ? null : make(w.scales.byteLength);
    if (scales) device.queue.writeBuffer(scales, 0, padded(new Uint8Array(w.scales.buffer, w.scales.byteOffset, w.scales.byteLength)));
    const subs = p.subBlock ? make(w.subScales.byteLength) : null;
    if (subs) device.queue.writeBuffer(subs, 0, padded(w.subScales));
    const offsets = p.scaleRule === 'minMax' ? make(w.offsets.byteLength) : null;
    if (offsets) device.queue.writeBuffer(offsets, 0, padded(new Uint8Array(w.offsets.buffer, w.offsets.byteOffset, w.offsets.byteLength)));
    const ab = make(m * K * 4);
    const yb = make(m * N * 4);
    const sub = this.rt.begin();
    const g = this.rt.grid(Math.ceil((m * K) / WG));
    sub.dispatch(fill, [sub.uniform(Q_PARAMS.pack({ n: m * K, wgx: g.x, n_wg: Math.ceil((m * K) / WG) })), ab], g);
    await sub.finish();
    const record = (s: Submission) => this.recordMatmul(s, pipe, w, { codes, scales, subs, offsets }, ab, yb, m, N, K);
    return {
      label: `matmul ${w.format.name} ${m}x${N}x${K}`,
      bytesRead: m * K * 4 + w.codes.byteLength + w.scales.byteLength + w.offsets.byteLength,
      bytesWritten: m * N * 4,
      flops: 2 * m * N * K,
      run: (times = 1) => this.timed(times, record),
      dispose: () => {
        for (const b of [codes, scales, subs, offsets, ab, yb]) b?.destroy();
      },
    };
  }

  private async prepareCopy(bytes: number, via: 'buffer' | 'shader' = 'buffer'): Promise<PreparedOp> {
    if (via !== 'buffer' && via !== 'shader') throw new OptionError(`prepareCopy: via must be "buffer" or "shader"; got ${String(via)}`);
    const size = Math.ceil(bytes / 16) * 16;
    const src = this.device.createBuffer({ size, usage: 0x4 | 0x8 | 0x80 });
    const dst = this.device.createBuffer({ size, usage: 0x4 | 0x8 | 0x80 });
    const vecs = size / 16;
    const pipe = via === 'shader' ? await this.rt.pipeline('copy', () => COPY_WGSL) : null;
    const wgs = Math.ceil(vecs / WG);
    const g = this.rt.grid(wgs);
    const uniform = pipe ? this.rt.constantUniform(Q_PARAMS.pack({ n: vecs, wgx: g.x, n_wg: wgs })) : null;
    const group = pipe ? this.rt.bindGroup(pipe, [uniform, src, dst]) : null;
    return {
      label: `${via} copy of ${bytes} bytes`,
      bytesRead: size,
      bytesWritten: size,
      flops: 0,
      run: (times = 1) => this.timed(times, (sub) => (pipe ? sub.dispatchGroup(pipe, group!, g) : sub.copy(src, dst, size))),
      dispose: () => {
        src.destroy();
        dst.destroy();
        uniform?.destroy();
      },
    };
  }

  /** Record `times` repetitions in one submission and time it to completion. */
  private async timed(times: number, record: (sub: Submission) => void): Promise<number> {
    const sub = this.rt.begin();
    try {
      for (let i = 0; i < times; i++) record(sub);
    } catch (e) {
      sub.abort();
      throw e;
    }
    const t0 = performance.now();
    await sub.finish();
    return (performance.now() - t0) / 1000;
  }

  // -------------------------------------------------------------------------------- lifecycle

  dispose(): void {
    this.rt.dispose();
  }
}

interface QuantBuffers {
  codes: GpuBuffer;
  scales: GpuBuffer | null;
  subs: GpuBuffer | null;
  err: GpuBuffer | null;
  /** Offset codes (minMax rule, general kernels only). */
  offsets: GpuBuffer | null;
  n: number;
  nBlocks: number;
  nSubs: number;
}

interface QuantOutputs {
  codes: GpuBuffer;
  scales: GpuBuffer | null;
  subs: GpuBuffer | null;
  err: GpuBuffer | null;
}

interface PreparedQuantize extends PreparedOp {
  readonly plan: QuantPlan;
  readonly outputs: QuantOutputs;
  readonly n: number;
  readonly tensorScale: number;
}

function createQuantOutputs(device: GpuDevice, plan: QuantPlan, n: number): QuantOutputs {
  const p = plan.p;
  const usage = 0x80 | 0x4 | 0x8;
  const make = (w: number) => device.createBuffer({ size: Math.max(16, Math.ceil(w / 4) * 16), usage });
  const c = fusedCounts(plan, n);
  return {
    codes: make(c.codeWords),
    scales: p.scheme === 'cast' ? null : make(c.scaleWords),
    subs: p.subBlock ? make(c.subWords) : null,
    err: p.scheme === 'cast' ? make(1) : null,
  };
}

interface FusedCounts {
  nBlocks: number;
  nSubs: number;
  codeWords: number;
  scaleWords: number;
  subWords: number;
  workgroups: number;
}

/** Sizes of a fused quantize of `n` flat elements: blocks, sub-blocks, output words, workgroups. */
function fusedCounts(plan: QuantPlan, n: number): FusedCounts {
  const p = plan.p;
  const nBlocks = p.scheme === 'cast' ? 0 : Math.ceil(n / plan.layout.blockSize);
  const nSubs = p.subBlock ? Math.ceil(n / plan.k2) : 0;
  return {
    nBlocks,
    nSubs,
    codeWords: words(n * p.codeBits),
    scaleWords: words(nBlocks * p.scaleCodeBits),
    subWords: words(nSubs * plan.tb),
    workgroups: Math.ceil(n / (WG * plan.fused!.elementsPerThread)),
  };
}

/** The fused kernel's uniform fields for `n` elements from flat index `flatBase`. */
function fusedFields(c: FusedCounts, n: number, flatBase: number, tensorScale: number): Record<string, number> {
  return {
    n,
    flat_base: flatBase,
    tensor_scale: f32ToBits(tensorScale),
    n_blocks: c.nBlocks,
    n_subs: c.nSubs,
    code_words: c.codeWords,
    scale_words: c.scaleWords,
    sub_words: c.subWords,
  };
}

function padded(bytes: Uint8Array): Uint8Array {
  if (bytes.byteLength % 4 === 0 && bytes.byteOffset % 4 === 0) return bytes;
  const out = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
  out.set(bytes);
  return out;
}

/** Fills a buffer with reproducible values spread over ±2^−8…2^8 (benchmark inputs). */
const FILL_WGSL = `${Q_PARAMS.wgsl()}
@group(0) @binding(0) var<uniform> Q: QParams;
@group(0) @binding(1) var<storage, read_write> x: array<u32>;
fn mix32(v: u32) -> u32 {
  var h = v;
  h = h ^ (h >> 16u); h = h * 0x7feb352du; h = h ^ (h >> 15u); h = h * 0x846ca68bu; h = h ^ (h >> 16u);
  return h;
}
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lane: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let wg = wid.x + wid.y * Q.wgx;
  if (wg >= Q.n_wg) { return; }
  let i = wg * ${WG}u + lane;
  if (i >= Q.n) { return; }
  let h = mix32(i * 0x9e3779b9u + 1u);
  let e = 119u + (h >> 28u);
  x[i] = (h & 0x80000000u) | (e << 23u) | ((h >> 5u) & 0x7fffffu);
}
`;

/** The shader-copy baseline: one vec4 per thread. */
const COPY_WGSL = `${Q_PARAMS.wgsl()}
@group(0) @binding(0) var<uniform> Q: QParams;
@group(0) @binding(1) var<storage, read> src: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<u32>>;
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lane: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let wg = wid.x + wid.y * Q.wgx;
  if (wg >= Q.n_wg) { return; }
  let i = wg * ${WG}u + lane;
  if (i < Q.n) { dst[i] = src[i]; }
}
`;

/** Open a WebGPU device and return a {@link WebGPUBackend}. Throws WebGPUError('WEBGPU_UNAVAILABLE')
 * when no adapter exists. */
export async function createWebGPUBackend(opts: WebGPUBackendOptions = {}): Promise<WebGPUBackend> {
  if (opts === null || typeof opts !== 'object') throw new OptionError(`createWebGPUBackend options must be an object; got ${String(opts)}`);
  const ept = opts.fusedElementsPerThread;
  if (ept !== undefined && ![1, 2, 4, 8, 16].includes(ept)) {
    throw new OptionError(`fusedElementsPerThread must be 1, 2, 4, 8 or 16; got ${String(ept)}`);
  }
  const opened = await openDevice(opts);
  return new WebGPUBackendImpl(new Runtime(opened, opts), opts);
}
