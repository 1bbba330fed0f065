// The WASM backend: validates like the core, lays a job out in linear memory, runs the kernels
// on the calling thread and the worker pool, and copies results into the core's QuantizedTensor.
import { checkInput, quantize as referenceQuantize, toFormat } from '../../formats/api.js';
import { OptionError } from '../../formats/errors.js';
import type { Format } from '../../formats/format.js';
import { layoutOf } from '../../formats/layout.js';
import { resolveOptions, type QuantizeOptions, type ResolvedOptions } from '../../formats/options.js';
import { packedByteLength } from '../../formats/pack.js';
import { QuantizedTensor, newScaleArray, scaleBytes } from '../../formats/quantized.js';
import { binadeStart, defaultTensorScale, float32Log2Thresholds, kernelConstants } from '../../formats/derived.js';
import type { ElementFormat } from '../../formats/element.js';
import { dequantizeReference } from '../../formats/reference/dequantize.js';
import { decodeTable } from '../../formats/reference/element-codec.js';
import { type MatmulOptions, checkActivations, matmulShape } from '../../formats/reference/matmul.js';
import { quantizeReference } from '../../formats/reference/quantize.js';
import type { Backend, BackendCapabilities } from '../backend.js';
import { JOB_BYTES, matmulDecodeOf, writeJob, type JobBuffers, type JobSpec, type MatmulDecode } from './params.js';
import { WorkerCallError, WorkerPool, type KernelCall } from './pool.js';
import {
  Heap,
  WasmKernelError,
  instantiate,
  isTrap,
  kernelModule,
  newMemory,
  sharedMemorySupported,
  simdSupported,
  type KernelExports,
  type WasmModule,
} from './runtime.js';

/** Options of {@link createWasmBackend}. */
export interface WasmBackendOptions {
  /** Threads doing the work, the calling thread included; default: the host's cores, at most 4. 1 = no workers. */
  threads?: number;
  /** Use the SIMD build when the engine supports it; default true. `false` forces the scalar build. */
  simd?: boolean;
  /** Smallest tensor (elements, or multiply-adds for matmul; a cast's element counts 1/64) that is
   * split between threads; default 65536. */
  minParallelWork?: number;
}

/** Each float32 lane of the matmul kernels sums at most this many products before a float64 flush. */
const LANE_DEPTH = 32;
/** Relative matmul error bound (see native/kernels.ts matmulRange). */
export const WASM_MATMUL_BOUND = (LANE_DEPTH + 4) * 2 ** -24;

const fround = Math.fround;

interface Tables {
  lut: number;
  lut32: number;
  /** Register decoding for matmul, when the element admits one. */
  matmul: MatmulDecode | null;
}

/** A job laid out in memory: the spec, its buffers, and how to split it into ranges. */
interface PlacedJob {
  P: number;
  spec: JobSpec;
  buf: JobBuffers;
  /** Ranges are blocks (elements for casts). */
  units: number;
}

class Engine {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly tables = new Map<ElementFormat, Tables>();
  private log2Table = 0;
  private ggmlTables = new Map<readonly number[], number>();
  private disposed = false;
  /** matmul weights kept in linear memory between calls, by tensor object (tensors are immutable). */
  private weights = new WeakMap<QuantizedTensor, CachedWeights>();

  constructor(
    private kernels: KernelExports,
    private readonly module: WasmModule,
    private readonly heap: Heap,
    private readonly pool: WorkerPool | null,
    private readonly minParallel: number,
  ) {}

  get threads(): number {
    return (this.pool?.size ?? 0) + 1;
  }

  /** Run `fn` after every earlier call has finished (one call owns the memory at a time). */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    if (this.disposed) return Promise.reject(new OptionError('this WASM backend was disposed; create a new one with createWasmBackend()'));
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  dispose(): void {
    this.disposed = true;
    this.pool?.terminate();
  }

  // ------------------------------------------------------------------------ running kernels

  private call<T>(name: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw this.trapped(name, e);
    }
  }

  private trapped(name: string, e: unknown): Error {
    if (isTrap(e) || (e instanceof WorkerCallError && e.trap)) {
      return new WasmKernelError(
        `WASM kernel ${name} trapped (${(e as Error).message}); the call was abandoned and the backend remains usable. Please report this with the format and options used.`,
      );
    }
    if (e instanceof WorkerCallError) {
      return new WasmKernelError(`a WASM worker thread failed during ${name} (${e.message}); it will be restarted on the next call`);
    }
    return e as Error;
  }

  /** Split [0, units) into up to `threads` ranges at units accepted by `aligned`. */
  private split(units: number, work: number, aligned: (u: number) => boolean): number[] {
    const parts = work >= this.minParallel ? Math.min(this.threads, units) : 1;
    const cuts = [0];
    for (let t = 1; t < parts; t++) {
      let u = Math.round((units * t) / parts);
      const limit = Math.min(units, u + 4096);
      while (u < limit && !aligned(u)) u++;
      if (u > cuts[cuts.length - 1]! && u < units) cuts.push(u);
    }
    cuts.push(units);
    return cuts;
  }

  /** Run kernel `name(P…, lo, hi)` over the ranges: the first on this thread, the rest on workers. */
  private async runRanges(name: string, cuts: number[], args: (lo: number, hi: number) => number[]): Promise<number[]> {
    const k = this.kernels as unknown as Record<string, (...a: number[]) => number>;
    const remote: Promise<number[]>[] = [];
    for (let i = 1; i + 1 < cuts.length; i++) {
      const call: KernelCall = [name, args(cuts[i]!, cuts[i + 1]!)];
      remote.push(this.pool!.run(i - 1, [call]));
    }
    let local: number | undefined;
    let localError: unknown = null;
    try {
      local = k[name]!(...args(cuts[0]!, cuts[1]!));
    } catch (e) {
      localError = e;
    }
    const settled = await Promise.allSettled(remote);
    if (localError !== null) throw this.trapped(name, localError);
    const results = [typeof local === 'number' ? local : 0];
    for (const s of settled) {
      if (s.status === 'rejected') throw this.trapped(name, s.reason);
      results.push(s.value[0] ?? 0);
    }
    return results;
  }

  /** Recover from a trap: a fresh instance on this thread (workers restart themselves). */
  private async recover(): Promise<void> {
    this.heap.reset();
    this.kernels = await instantiate(this.module, this.heap.memory);
    this.heap.useKernels(this.kernels);
  }

  private async guarded<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof WasmKernelError) await this.recover();
      throw e;
    } finally {
      this.heap.reset();
    }
  }

  // ------------------------------------------------------------------------ tables

  /** Make room for the decode tables of `els` (dropping the cache when it grew too large). */
  private reserveTables(els: readonly (ElementFormat | null)[]): void {
    const missing = els.some((el) => el !== null && !this.tables.has(el));
    if (missing && this.heap.persistentBytes > 32 * 2 ** 20) this.dropPersistent();
  }

  /** Forget every table and cached weight matrix (they share the persistent zone). */
  private dropPersistent(): void {
    this.tables.clear();
    this.log2Table = 0;
    this.ggmlTables.clear();
    this.weights = new WeakMap();
    this.heap.clearPersistent();
  }

  /** Decode tables of an element (float64 exact values, and float32 when every value is one). */
  private tablesFor(el: ElementFormat): Tables {
    let t = this.tables.get(el);
    if (t) return t;
    if (el.kind === 'float' && el.bits === 32) {
      t = { lut: 0, lut32: 0, matmul: null };
    } else {
      const values = decodeTable(el);
      const lut = this.heap.persist(values.length * 8);
      this.heap.f64(lut, values.length).set(values);
      let exact = true;
      for (let i = 0; i < values.length && exact; i++) {
        const v = values[i]!;
        if (v === v && fround(v) !== v) exact = false;
      }
      let lut32 = 0;
      if (exact) {
        lut32 = this.heap.persist(values.length * 4);
        const f = this.heap.f32(lut32, values.length);
        for (let i = 0; i < values.length; i++) f[i] = values[i]!;
      }
      let matmul: MatmulDecode | null = null;
      const d = exact ? matmulDecodeOf(el, values) : null;
      if (d) {
        let table = 0;
        if (d.table) {
          table = this.heap.persist(16);
          new Int8Array(this.heap.memory.buffer, table, 16).set(d.table);
        }
        matmul = { mode: d.mode, shift: d.shift, special: d.special, table };
      }
      t = { lut, lut32, matmul };
    }
    this.tables.set(el, t);
    return t;
  }

  /** float32Log2Thresholds as the kernels read it: a pattern per binade k = −149…127, the first
   * of binade k + 1 where none reaches k + 1 (native/kernels.ts floorLog2F32). */
  private float32Log2Table(): number {
    if (this.log2Table) return this.log2Table;
    const table = Uint32Array.from(float32Log2Thresholds(), (t, i) => t ?? binadeStart(i - 149 + 1));
    const p = this.heap.persist(table.length * 4);
    this.heap.u32(p, table.length).set(table);
    this.log2Table = p;
    return p;
  }

  /** A ggml value table (kernel constants' ggmlValues) as float64 in the persistent zone. */
  private ggmlValueTable(values: readonly number[]): number {
    const hit = this.ggmlTables.get(values);
    if (hit) return hit;
    const p = this.heap.persist(values.length * 8);
    this.heap.f64(p, values.length).set(values);
    this.ggmlTables.set(values, p);
    return p;
  }

  // ------------------------------------------------------------------------ layout of a job

  private spec(format: Format, options: ResolvedOptions, tensorScale: number): JobSpec {
    const layout = layoutOf(format, options);
    const constants = kernelConstants(format, options);
    return {
      format,
      options,
      layout,
      constants,
      element: constants.element.element,
      scaleElement: constants.scaleElement,
      tensorScale,
      fastDequantize: true,
    };
  }

  /** Allocate the quantized buffers of `spec`, plus input/output as asked, and write the job. */
  private place(spec: JobSpec, opts: { x?: boolean; out?: boolean; forDequantize?: boolean; forMatmul?: boolean }): PlacedJob {
    const { format, layout: L, element: el, scaleElement: sEl } = spec;
    // tables first: they live in the persistent zone
    this.reserveTables([el, sEl]);
    const elTables = opts.out || opts.forDequantize ? this.tablesFor(el) : { lut: 0, lut32: 0, matmul: null };
    const sTables = sEl && format.scheme === 'scaled' && !(sEl.kind === 'float' && sEl.bits === 32) ? this.tablesFor(sEl) : null;
    const log2 = spec.constants.rules.float32Log2 ? this.float32Log2Table() : 0;
    const ggmlValues = spec.constants.ggmlValues ? this.ggmlValueTable(spec.constants.ggmlValues) : 0;
    const P = this.heap.alloc(JOB_BYTES);
    const sb = scaleBytes(sEl);
    const buf: JobBuffers = {
      x: opts.x ? this.heap.alloc(L.n * 4, true) : 0,
      codes: this.heap.alloc(packedByteLength(L.n, el.bits) + 8),
      scales: this.heap.alloc(L.scaleCount * sb + 8),
      subScales: format.subBlock ? this.heap.alloc(packedByteLength(L.subScaleCount, format.subBlock.bits) + 8) : 0,
      offsets: format.scaleRule === 'minMax' ? this.heap.alloc(L.scaleCount * sb + 8) : 0,
      out: opts.out ? this.heap.alloc(L.n * 4, true) : 0,
      lut: elTables.lut,
      scaleLut: sTables ? sTables.lut : 0,
      log2Table: log2,
      ggmlValues,
      lut32: elTables.lut32,
      matmul: opts.forMatmul && registerDecodable(spec) ? elTables.matmul : null,
    };
    const slots = this.heap.f64(P, JOB_BYTES / 8);
    writeJob(slots, spec, buf);
    this.call('prepare', () => this.kernels.prepare(P));
    const units = format.scheme === 'cast' ? L.n : L.rows * L.blocksPerRow;
    return { P, spec, buf, units };
  }

  /** Element index where unit `u` starts. */
  private unitStart(job: PlacedJob, u: number): number {
    const L = job.spec.layout;
    if (job.spec.format.scheme === 'cast') return u;
    if (u >= L.rows * L.blocksPerRow) return L.n;
    const row = Math.floor(u / L.blocksPerRow);
    return row * L.rowLength + (u - row * L.blocksPerRow) * L.blockSize;
  }

  /** Whether writers may start at unit `u` without sharing a byte with the previous range. */
  private byteAligned(job: PlacedJob, u: number): boolean {
    const { format, layout: L, element: el } = job.spec;
    if ((this.unitStart(job, u) * el.bits) % 8 !== 0) return false;
    if (!format.subBlock) return true;
    const row = Math.floor(u / L.blocksPerRow);
    const sub = row * L.subBlocksPerRow + ((u - row * L.blocksPerRow) * L.blockSize) / format.subBlock.size;
    return (sub * format.subBlock.bits) % 8 === 0;
  }

  /** Copy x in, moving the block axis last when it is not. */
  private async loadInput(job: PlacedJob, x: Float32Array): Promise<void> {
    const L = job.spec.layout;
    if (L.inner === 1) {
      this.heap.f32(job.buf.x, L.n).set(x);
      return;
    }
    const tmp = this.heap.alloc(L.n * 4, true);
    this.heap.f32(tmp, L.n).set(x);
    const outer = L.n / (L.rowLength * L.inner);
    const cuts = this.split(outer, L.n, () => true);
    await this.runRanges('toBlocked', cuts, (lo, hi) => [tmp, job.buf.x, L.rowLength, L.inner, lo, hi]);
  }

  /** Copy the blocked output out, restoring the original axis order. */
  private async readOutput(job: PlacedJob): Promise<Float32Array> {
    const L = job.spec.layout;
    if (L.inner === 1 || job.spec.format.scheme === 'cast') return this.heap.f32(job.buf.out, L.n).slice();
    const tmp = this.heap.alloc(L.n * 4, true);
    const outer = L.n / (L.rowLength * L.inner);
    const cuts = this.split(outer, L.n, () => true);
    await this.runRanges('fromBlocked', cuts, (lo, hi) => [job.buf.out, tmp, L.rowLength, L.inner, lo, hi]);
    return this.heap.f32(tmp, L.n).slice();
  }

  private async tensorScaleOf(format: Format, x: Float32Array, given: number | undefined): Promise<number> {
    if (!format.tensorScale) return 1;
    if (given !== undefined) return given;
    const n = x.length;
    const p = this.heap.alloc(n * 4, true);
    this.heap.f32(p, n).set(x);
    const cuts = this.split(n, n, () => true);
    const parts = await this.runRanges('absmaxFinite', cuts, (lo, hi) => [p, lo, hi]);
    this.heap.reset();
    let amax = 0;
    for (const p of parts) if (p > amax) amax = p;
    return defaultTensorScale(format, amax);
  }

  /** Quantize into the job's buffers; on an unencodable input the reference is run to throw its error. */
  private async quantizeInto(job: PlacedJob, x: Float32Array, format: Format, opts: QuantizeOptions | undefined): Promise<void> {
    await this.loadInput(job, x);
    // a cast costs a few instructions per element: below 4 Mi elements, handing half of it to a
    // worker saved no time (fp16/bf16 at 1 Mi measured about even)
    const work = format.scheme === 'cast' ? job.spec.layout.n / CAST_WORK_DIVISOR : job.spec.layout.n;
    const cuts = this.split(job.units, work, (u) => this.byteAligned(job, u));
    const bad = await this.runRanges('quantizeRange', cuts, (lo, hi) => [job.P, lo, hi]);
    if (bad.some((b) => b >= 0)) {
      referenceQuantize(x, format, opts);
      throw new WasmKernelError(`WASM quantize of ${format.name} reported an unencodable input that the reference accepts; please report this`);
    }
  }

  private readTensor(job: PlacedJob): QuantizedTensor {
    const { format, options, layout: L, element: el, scaleElement: sEl } = job.spec;
    const h = this.heap;
    const codes = h.u8(job.buf.codes, packedByteLength(L.n, el.bits)).slice();
    const scales = newScaleArray(sEl, L.scaleCount);
    copyScales(h, job.buf.scales, scales);
    const subScales = format.subBlock ? h.u8(job.buf.subScales, packedByteLength(L.subScaleCount, format.subBlock.bits)).slice() : new Uint8Array(0);
    let offsets: QuantizedTensor['offsets'] = new Uint8Array(0);
    if (format.scaleRule === 'minMax') {
      offsets = newScaleArray(sEl, L.scaleCount);
      copyScales(h, job.buf.offsets, offsets);
    }
    return new QuantizedTensor({ format, options, codes, scales, subScales, offsets, tensorScale: job.spec.tensorScale });
  }

  private async dequantizeJob(job: PlacedJob): Promise<Float32Array> {
    const cuts = this.split(job.units, job.spec.layout.n, () => true);
    await this.runRanges('dequantizeRange', cuts, (lo, hi) => [job.P, lo, hi]);
    return this.readOutput(job);
  }

  // ------------------------------------------------------------------------ operations

  async quantize(x: Float32Array, format: Format, options: ResolvedOptions, opts: QuantizeOptions | undefined): Promise<QuantizedTensor> {
    if (x.length === 0) return quantizeReference(x, format, options, opts?.tensorScale);
    return this.guarded(async () => {
      const ts = await this.tensorScaleOf(format, x, opts?.tensorScale);
      const job = this.place(this.spec(format, options, ts), { x: true });
      await this.quantizeInto(job, x, format, opts);
      return this.readTensor(job);
    });
  }

  async fakeQuantize(x: Float32Array, format: Format, options: ResolvedOptions, opts: QuantizeOptions | undefined): Promise<Float32Array> {
    if (x.length === 0) return dequantizeReference(quantizeReference(x, format, options, opts?.tensorScale));
    return this.guarded(async () => {
      const ts = await this.tensorScaleOf(format, x, opts?.tensorScale);
      const job = this.place(this.spec(format, options, ts), { x: true, out: true });
      await this.quantizeInto(job, x, format, opts);
      return this.dequantizeJob(job);
    });
  }

  /** Place a QuantizedTensor's parts in memory for decoding. */
  private placeTensor(q: QuantizedTensor): PlacedJob {
    const job = this.place(this.spec(q.format, q.options, q.tensorScale), { out: true, forDequantize: true });
    this.paste(job, q);
    return job;
  }

  /** Copy q's codes, scales, microexponents and offsets into the buffers of `job`. */
  private paste(job: PlacedJob, q: QuantizedTensor): void {
    const h = this.heap;
    h.u8(job.buf.codes, q.codes.length).set(q.codes);
    pasteScales(h, job.buf.scales, q.scales);
    if (q.format.subBlock) h.u8(job.buf.subScales, q.subScales.length).set(q.subScales);
    if (q.format.scaleRule === 'minMax') pasteScales(h, job.buf.offsets, q.offsets);
  }

  /** w's parts in the persistent zone, uploaded on the first matmul with this tensor object. */
  private placeWeights(w: QuantizedTensor): PlacedJob {
    const hit = this.weights.get(w);
    if (hit && hit.codes === w.codes && hit.scales === w.scales && hit.subScales === w.subScales && hit.offsets === w.offsets) return hit.job;
    const need = w.codes.length + w.scales.byteLength * 2 + w.subScales.length + 4096;
    if (this.heap.persistentBytes + need > WEIGHT_CACHE_BYTES) this.dropPersistent();
    const job = this.heap.persistently(() => {
      const placed = this.place(this.spec(w.format, w.options, w.tensorScale), { forDequantize: true, forMatmul: true });
      this.paste(placed, w);
      return placed;
    });
    this.weights.set(w, { job, codes: w.codes, scales: w.scales, subScales: w.subScales, offsets: w.offsets });
    return job;
  }

  async dequantize(q: QuantizedTensor): Promise<Float32Array> {
    if (q.length === 0) return dequantizeReference(q);
    return this.guarded(async () => this.dequantizeJob(this.placeTensor(q)));
  }

  async matmul(a: Float32Array | QuantizedTensor, w: QuantizedTensor, opts: MatmulOptions): Promise<Float32Array> {
    const { N, K, m } = matmulShape(w, opts);
    const av = checkActivations(a instanceof QuantizedTensor ? await this.dequantize(a) : a, m, K);
    if (m === 0 || N === 0 || K === 0) return new Float32Array(m * N);
    return this.guarded(async () => {
      const h = this.heap;
      const job = this.placeWeights(w);
      const ap = h.alloc(m * K * 4, true);
      h.f32(ap, m * K).set(av);
      const y = h.alloc(m * N * 4, true);
      let dense = 0;
      if (w.format.granularity === 'tensor' || m >= GEMM_MIN_ROWS) {
        // decode w once into this call's memory, then multiply dense rows
        dense = h.alloc(N * K * 4, true);
        this.retarget(job, dense);
        await this.runRanges('dequantizeRange', this.split(job.units, N * K, () => true), (lo, hi) => [job.P, lo, hi]);
      }
      if (m >= GEMM_MIN_ROWS) {
        const y64 = h.alloc(m * N * 8, true);
        const cuts = this.split(Math.ceil(N / 2), m * N * K, () => true).map((c) => Math.min(N, c * 2));
        await this.runRanges('gemmRange', cuts, (lo, hi) => [ap, m, K, N, dense, y, y64, lo, hi]);
        return h.f32(y, m * N).slice();
      }
      const rowsOf4 = Math.ceil(N / 4);
      const cuts = this.split(rowsOf4, m * N * K, () => true).map((c) => Math.min(N, c * 4));
      const scratch = cuts.slice(1).map(() => (dense ? 0 : h.alloc(4 * K * 4, true)));
      await this.runRanges('matmulRange', cuts, (lo, hi) => {
        const i = cuts.indexOf(lo);
        return [job.P, ap, m, K, N, y, dense, scratch[i]!, lo, hi];
      });
      return h.f32(y, m * N).slice();
    });
  }

  /** Point a placed job's output at `out` (a buffer of this call). */
  private retarget(job: PlacedJob, out: number): void {
    job.buf.out = out;
    writeJob(this.heap.f64(job.P, JOB_BYTES / 8), job.spec, job.buf);
    this.call('prepare', () => this.kernels.prepare(job.P));
  }
}

/** Casts count as 1/64 of a block format's work per element when deciding to use threads. */
const CAST_WORK_DIVISOR = 64;
/** matmul with at least this many rows of a decodes w once and runs the tiled GEMM kernel. */
const GEMM_MIN_ROWS = 4;
/** Bytes of linear memory kept for decode tables and cached matmul weights. */
const WEIGHT_CACHE_BYTES = 512 * 2 ** 20;

interface CachedWeights {
  job: PlacedJob;
  codes: Uint8Array;
  scales: QuantizedTensor['scales'];
  subScales: Uint8Array;
  offsets: QuantizedTensor['offsets'];
}

/** Whether matmul may decode w's blocks in registers: power-of-two scales, 32-multiple blocks tiling K. */
function registerDecodable(spec: JobSpec): boolean {
  const { format, layout: L, options } = spec;
  return (
    format.scheme === 'pow2' &&
    !format.subBlock &&
    options.scaleBits <= 8 &&
    L.inner === 1 &&
    L.blockSize % 32 === 0 &&
    L.rowLength % L.blockSize === 0
  );
}

function copyScales(h: Heap, ptr: number, dst: QuantizedTensor['scales']): void {
  if (dst.length === 0) return;
  if (dst.BYTES_PER_ELEMENT === 1) dst.set(h.u8(ptr, dst.length));
  else if (dst.BYTES_PER_ELEMENT === 2) dst.set(h.u16(ptr, dst.length));
  else dst.set(h.u32(ptr, dst.length));
}

function pasteScales(h: Heap, ptr: number, src: QuantizedTensor['scales']): void {
  if (src.length === 0) return;
  if (src.BYTES_PER_ELEMENT === 1) h.u8(ptr, src.length).set(src);
  else if (src.BYTES_PER_ELEMENT === 2) h.u16(ptr, src.length).set(src);
  else h.u32(ptr, src.length).set(src);
}

async function defaultThreads(): Promise<number> {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  let cores = nav?.hardwareConcurrency;
  if (!cores && typeof process !== 'undefined' && process.versions?.node) {
    const os = await import('node:os');
    cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  }
  return Math.max(1, Math.min(cores ?? 1, 4));
}

/**
 * Create the WASM backend: SIMD or scalar kernels (by feature detection), and worker threads over
 * shared memory when `threads` > 1 and SharedArrayBuffer is available (one thread otherwise).
 * Quantize, dequantize and fakeQuantize equal the reference bit for bit; matmul accumulates in
 * float32 lanes flushed to float64 (see capabilities.matmulRelativeBound).
 */
export async function createWasmBackend(options: WasmBackendOptions = {}): Promise<Backend> {
  if (options === null || typeof options !== 'object') throw new OptionError(`createWasmBackend options must be an object; got ${String(options)}`);
  const { threads: askedThreads, simd: askedSimd, minParallelWork } = options;
  if (askedThreads !== undefined && (!Number.isInteger(askedThreads) || askedThreads < 1 || askedThreads > 64)) {
    throw new OptionError(`threads must be an integer in 1…64; got ${askedThreads}`);
  }
  if (askedSimd !== undefined && typeof askedSimd !== 'boolean') throw new OptionError(`simd must be a boolean; got ${String(askedSimd)}`);
  if (minParallelWork !== undefined && (!Number.isInteger(minParallelWork) || minParallelWork < 1)) {
    throw new OptionError(`minParallelWork must be a positive integer; got ${minParallelWork}`);
  }
  const notes: string[] = [];
  const simd = askedSimd !== false && simdSupported();
  if (askedSimd !== false && !simd) notes.push('WebAssembly SIMD unavailable: scalar build');
  let threads = askedThreads ?? (await defaultThreads());
  const shared = threads > 1 && sharedMemorySupported();
  if (threads > 1 && !shared) {
    notes.push('SharedArrayBuffer unavailable (not cross-origin isolated?): one thread');
    threads = 1;
  }
  const module = await kernelModule(simd, shared);
  const memory = newMemory(shared);
  const kernels = await instantiate(module, memory);
  const pool = threads > 1 ? await WorkerPool.create(threads - 1, module, memory) : null;
  const heap = new Heap(memory);
  heap.useKernels(kernels);
  const engine = new Engine(kernels, module, heap, pool, minParallelWork ?? 65536);
  notes.push(`${simd ? 'SIMD' : 'scalar'} build, ${shared ? 'shared' : 'private'} memory`);
  notes.push(
    'every format, option and op runs in WASM; the reference is called only for empty tensors and, after the kernel reports an unencodable input, to throw the core’s exact error',
  );
  notes.push('float32-lane fast paths (RNE/RTZ, no microxcaling/ggml preset): pow2 blocks, scaled blocks and float/int casts; other cases use the exact float64 port of the reference');
  notes.push(
    'matmul: float32 products summed in float32 lanes of ≤ 32 terms, lanes added in float64; the bound assumes no float32 overflow/underflow in products or partial sums',
  );
  const capabilities: BackendCapabilities = Object.freeze({
    name: 'wasm',
    bitExact: true,
    matmulRelativeBound: WASM_MATMUL_BOUND,
    threads,
    simd,
    notes: Object.freeze(notes),
  });
  return Object.freeze({
    capabilities,
    async quantize(x: Float32Array, format: string | Format, opts?: QuantizeOptions) {
      const input = checkInput(x);
      const f = toFormat(format);
      const resolved = resolveOptions(f, input.length, opts);
      return engine.serial(() => engine.quantize(input, f, resolved, opts));
    },
    async dequantize(q: QuantizedTensor) {
      if (!(q instanceof QuantizedTensor)) throw new OptionError('dequantize expects a QuantizedTensor from quantize() or QuantizedTensor.fromBytes()');
      return engine.serial(() => engine.dequantize(q));
    },
    async fakeQuantize(x: Float32Array, format: string | Format, opts?: QuantizeOptions) {
      const input = checkInput(x);
      const f = toFormat(format);
      const resolved = resolveOptions(f, input.length, opts);
      return engine.serial(() => engine.fakeQuantize(input, f, resolved, opts));
    },
    async matmul(a: Float32Array | QuantizedTensor, w: QuantizedTensor, opts: MatmulOptions) {
      return engine.serial(() => engine.matmul(a, w, opts));
    },
    dispose() {
      engine.dispose();
    },
  });
}
