// Device acquisition, the pipeline cache, the buffer pool and submissions with readback.
import { WebGPUError } from './errors.js';
import {
  BufferUsage,
  MAP_READ_MODE,
  type Gpu,
  type GpuAdapter,
  type GpuAdapterInfo,
  type GpuBindGroup,
  type GpuBuffer,
  type GpuCommandEncoder,
  type GpuComputePassEncoder,
  type GpuComputePipeline,
  type GpuDevice,
} from './gpu-types.js';

/** Options of {@link createWebGPUBackend}. */
export interface WebGPUBackendOptions {
  /** The WebGPU entry point: `navigator.gpu` in browsers (the default there), or the object
   * returned by `create([...])` of the `webgpu` package in Node (the default loads that package). */
  gpu?: Gpu;
  /** Use this device instead of requesting one; it is not destroyed by dispose(). */
  device?: GpuDevice;
  /** Adapter preference; default `high-performance`. */
  powerPreference?: 'low-power' | 'high-performance';
  /** Flags for the `webgpu` package's `create()` when the backend loads it. Default
   * {@link DEFAULT_DAWN_FLAGS}; pass `[]` for Dawn's defaults. */
  dawnFlags?: string[];
  /** Use the fused single-pass quantize kernel where the layout allows it (default true). False
   * runs every quantization through the general multi-kernel path (for testing). */
  fused?: boolean;
  /** Elements each thread of the fused quantize kernel takes (1, 2, 4, 8 or 16) where the block
   * allows it; default chosen by tensor size (for tuning and testing). */
  fusedElementsPerThread?: number;
  /** Largest storage binding to use in bytes; default the device limit. Smaller values force
   * chunking (for testing). */
  maxBindingBytes?: number;
  /** Bytes of idle buffers kept for reuse; default 256 MiB. */
  poolBytes?: number;
}

/**
 * Dawn flags used when the backend loads the `webgpu` package itself. Skipping the zero-fill of
 * workgroup memory is safe because every kernel writes its workgroup arrays before reading them,
 * and it cuts shader compilation on software Vulkan (SwiftShader) from seconds to milliseconds.
 */
export const DEFAULT_DAWN_FLAGS: readonly string[] = Object.freeze(['enable-dawn-features=disable_workgroup_init']);

const dawnInstances = new Map<string, Gpu>();

/** The platform's WebGPU entry point, loading the optional `webgpu` package in Node. */
export async function acquireGpu(opts: WebGPUBackendOptions): Promise<Gpu> {
  if (opts.gpu) return opts.gpu;
  const nav = (globalThis as { navigator?: { gpu?: Gpu } }).navigator;
  if (nav && nav.gpu) return nav.gpu;
  const flags = [...(opts.dawnFlags ?? DEFAULT_DAWN_FLAGS)];
  const key = flags.join('\u0000');
  const cached = dawnInstances.get(key);
  if (cached) return cached;
  let mod: { create?: (flags: string[]) => Gpu };
  try {
    const specifier = 'webgpu';
    mod = (await import(/* @vite-ignore */ specifier)) as { create?: (flags: string[]) => Gpu };
  } catch (e) {
    throw new WebGPUError(
      'WEBGPU_UNAVAILABLE',
      `WebGPU is not available: there is no navigator.gpu and the optional package "webgpu" could not be loaded (${(e as Error).message}). In Node, install it with \`npm install webgpu\`; in browsers, use one with WebGPU enabled.`,
    );
  }
  if (typeof mod.create !== 'function') throw new WebGPUError('WEBGPU_UNAVAILABLE', 'the "webgpu" package does not export create(); install webgpu ≥ 0.3');
  const gpu = mod.create(flags);
  dawnInstances.set(key, gpu);
  return gpu;
}

/** Requested limits: the adapter's maxima for what large tensors need. */
function wantedLimits(adapter: GpuAdapter): Record<string, number> {
  const l = adapter.limits;
  return {
    maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
    maxBufferSize: l.maxBufferSize,
    maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
  };
}

/** Open a device, or throw WebGPUError('WEBGPU_UNAVAILABLE'). */
export async function openDevice(opts: WebGPUBackendOptions): Promise<{ device: GpuDevice; info: GpuAdapterInfo; owned: boolean }> {
  if (opts.device) return { device: opts.device, info: {}, owned: false };
  const gpu = await acquireGpu(opts);
  let adapter: GpuAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
  } catch (e) {
    throw new WebGPUError('WEBGPU_UNAVAILABLE', `requesting a WebGPU adapter failed: ${(e as Error).message}`);
  }
  if (!adapter) {
    throw new WebGPUError(
      'WEBGPU_UNAVAILABLE',
      'no WebGPU adapter is available (no GPU or driver). On Linux without a GPU, install a Vulkan driver such as SwiftShader (Debian: apt-get install chromium) and set VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json.',
    );
  }
  const features = ['timestamp-query'].filter((f) => adapter!.features.has(f));
  let device: GpuDevice;
  try {
    device = await adapter.requestDevice({ requiredLimits: wantedLimits(adapter), requiredFeatures: features, label: 'microscale' });
  } catch (e) {
    throw new WebGPUError('WEBGPU_UNAVAILABLE', `requesting a WebGPU device failed: ${(e as Error).message}`);
  }
  return { device, info: adapter.info ?? {}, owned: true };
}

/** One buffer and the bytes of it an operation uses. */
export interface Slice {
  readonly buffer: GpuBuffer;
  readonly bytes: number;
}

function sizeClass(bytes: number): number {
  const b = Math.max(256, Math.ceil(bytes / 4) * 4);
  const p = 2 ** Math.ceil(Math.log2(b));
  if (p <= 1 << 20) return p;
  const step = p / 8;
  return Math.ceil(b / step) * step;
}

/** Idle GPU buffers by (usage, size class), up to a byte budget. */
class BufferPool {
  private readonly free = new Map<string, GpuBuffer[]>();
  private idleBytes = 0;
  constructor(
    private readonly device: GpuDevice,
    private readonly budget: number,
  ) {}

  acquire(bytes: number, usage: number): GpuBuffer {
    const size = sizeClass(bytes);
    const list = this.free.get(`${usage}:${size}`);
    const hit = list?.pop();
    if (hit) {
      this.idleBytes -= size;
      return hit;
    }
    return this.device.createBuffer({ size, usage });
  }

  release(buffer: GpuBuffer): void {
    if (this.idleBytes + buffer.size > this.budget) {
      buffer.destroy();
      return;
    }
    const key = `${buffer.usage}:${buffer.size}`;
    let list = this.free.get(key);
    if (!list) this.free.set(key, (list = []));
    list.push(buffer);
    this.idleBytes += buffer.size;
  }

  clear(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.idleBytes = 0;
  }
}

const STORAGE = BufferUsage.STORAGE | BufferUsage.COPY_DST | BufferUsage.COPY_SRC;
const UNIFORM = BufferUsage.UNIFORM | BufferUsage.COPY_DST;
const READBACK = BufferUsage.MAP_READ | BufferUsage.COPY_DST;

/** The device and everything cached on it. */
/** Compiled pipelines by WGSL text, per device: backends sharing a device compile a kernel once. */
const compiledByDevice = new WeakMap<GpuDevice, Map<string, Promise<GpuComputePipeline>>>();

export class Runtime {
  readonly device: GpuDevice;
  readonly info: GpuAdapterInfo;
  readonly maxBinding: number;
  readonly maxWorkgroupsPerDim: number;
  private readonly owned: boolean;
  private readonly pool: BufferPool;
  private readonly pipelines = new Map<string, Promise<GpuComputePipeline>>();
  private lostReason: string | null = null;
  private disposed = false;

  constructor(opened: { device: GpuDevice; info: GpuAdapterInfo; owned: boolean }, opts: WebGPUBackendOptions) {
    this.device = opened.device;
    this.info = opened.info;
    this.owned = opened.owned;
    const limit = Math.min(this.device.limits.maxStorageBufferBindingSize, this.device.limits.maxBufferSize);
    this.maxBinding = Math.max(1 << 16, Math.floor(Math.min(limit, opts.maxBindingBytes ?? limit) / 256) * 256);
    this.maxWorkgroupsPerDim = this.device.limits.maxComputeWorkgroupsPerDimension;
    this.pool = new BufferPool(this.device, opts.poolBytes ?? 256 * 2 ** 20);
    this.device.lost.then((info) => {
      if (!this.disposed) this.lostReason = `${info.reason}: ${info.message}`;
    });
  }

  /** Throw if the backend can no longer run work. */
  check(): void {
    if (this.disposed) throw new WebGPUError('WEBGPU_DISPOSED', 'this WebGPU backend was disposed; create a new one with createWebGPUBackend()');
    if (this.lostReason !== null) {
      throw new WebGPUError('WEBGPU_DEVICE_LOST', `the WebGPU device was lost (${this.lostReason}); dispose this backend and create a new one`);
    }
  }

  /** A bind group of `pipeline` with bindings in binding-number order (null = unused). */
  bindGroup(pipeline: GpuComputePipeline, bindings: readonly (Binding | null)[]): GpuBindGroup {
    const entries = [];
    for (let i = 0; i < bindings.length; i++) {
      const b = bindings[i];
      if (!b) continue;
      entries.push({ binding: i, resource: 'buffer' in b ? { buffer: b.buffer, offset: b.offset, size: b.size } : { buffer: b } });
    }
    return this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
  }

  /** A uniform buffer holding `data` that lives until the caller destroys it (prepared operations). */
  constantUniform(data: Uint32Array): GpuBuffer {
    const b = this.device.createBuffer({ size: Math.max(16, Math.ceil(data.byteLength / 16) * 16), usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST });
    this.device.queue.writeBuffer(b, 0, data);
    return b;
  }

  /** A compute pipeline for `code`, looked up once per key and compiled once per device and text. */
  pipeline(key: string, code: () => string): Promise<GpuComputePipeline> {
    let p = this.pipelines.get(key);
    if (!p) {
      const text = code();
      let compiled = compiledByDevice.get(this.device);
      if (!compiled) compiledByDevice.set(this.device, (compiled = new Map()));
      p = compiled.get(text);
      if (!p) {
        const fresh = this.compile(key, text);
        compiled.set(text, fresh);
        fresh.catch(() => compiled.delete(text));
        p = fresh;
      }
      this.pipelines.set(key, p);
      p.catch(() => this.pipelines.delete(key));
    }
    return p;
  }

  private async compile(key: string, code: string): Promise<GpuComputePipeline> {
    this.check();
    const module = this.device.createShaderModule({ code, label: key });
    try {
      return await this.device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: key });
    } catch (e) {
      let detail = '';
      if (module.getCompilationInfo) {
        const info = await module.getCompilationInfo();
        detail = info.messages
          .filter((m) => m.type === 'error')
          .map((m) => `line ${m.lineNum}: ${m.message}`)
          .join('; ');
      }
      throw new WebGPUError('WEBGPU_DEVICE_ERROR', `compiling kernel ${key} failed: ${(e as Error).message}${detail ? ` (${detail})` : ''}`);
    }
  }

  /** Workgroup grid for `count` workgroups (2-D when above the per-dimension limit). */
  grid(count: number): { x: number; y: number } {
    const x = Math.max(1, Math.min(count, this.maxWorkgroupsPerDim));
    return { x, y: Math.max(1, Math.ceil(count / x)) };
  }

  /** Start a submission. */
  begin(): Submission {
    this.check();
    return new Submission(this, this.pool);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.pool.clear();
    this.pipelines.clear();
    if (this.owned) this.device.destroy();
  }
}

/** A binding: a whole pooled buffer, or a range of one. */
export type Binding = GpuBuffer | { buffer: GpuBuffer; offset: number; size: number };

/**
 * Buffers, dispatches and copies of one queue submission. Everything from begin() to finish()'s
 * submit runs synchronously, so device error scopes pair up even with concurrent operations.
 */
export class Submission {
  private readonly encoder: GpuCommandEncoder;
  private pass: GpuComputePassEncoder | null = null;
  private readonly held: GpuBuffer[] = [];
  private readonly reads: { src: GpuBuffer; bytes: number; offset: number }[] = [];
  private readBytes = 0;

  constructor(
    private readonly rt: Runtime,
    private readonly pool: BufferPool,
  ) {
    rt.device.pushErrorScope('out-of-memory');
    rt.device.pushErrorScope('validation');
    this.encoder = rt.device.createCommandEncoder();
  }

  /** A storage buffer of at least `bytes` (contents undefined unless `zero`). */
  storage(bytes: number, zero = false): GpuBuffer {
    if (bytes > this.rt.maxBinding) {
      throw new WebGPUError('WEBGPU_OUT_OF_MEMORY', `a ${bytes}-byte buffer exceeds this device's storage binding limit of ${this.rt.maxBinding} bytes`);
    }
    const b = this.pool.acquire(Math.max(bytes, 16), STORAGE);
    this.held.push(b);
    if (zero) {
      this.endPass();
      this.encoder.clearBuffer(b, 0, Math.ceil(Math.max(bytes, 4) / 4) * 4);
    }
    return b;
  }

  /** A storage buffer holding `data` (its size rounded up to 16 bytes for vector loads). */
  upload(data: ArrayBufferView): GpuBuffer {
    const bytes = data.byteLength;
    const b = this.storage(Math.ceil(bytes / 16) * 16);
    const whole = Math.floor(bytes / 4) * 4;
    const src = new Uint8Array(data.buffer, data.byteOffset, bytes);
    if (whole > 0) this.rt.device.queue.writeBuffer(b, 0, src, 0, whole);
    if (whole < bytes) {
      const tail = new Uint8Array(4);
      tail.set(src.subarray(whole));
      this.rt.device.queue.writeBuffer(b, whole, tail);
    }
    return b;
  }

  /** A uniform buffer holding `data`. */
  uniform(data: Uint32Array): GpuBuffer {
    const b = this.pool.acquire(data.byteLength, UNIFORM);
    this.held.push(b);
    this.rt.device.queue.writeBuffer(b, 0, data);
    return b;
  }

  /** Record a dispatch of `pipeline` over `grid` with bindings in binding-number order (null = unused). */
  dispatch(pipeline: GpuComputePipeline, bindings: readonly (Binding | null)[], grid: { x: number; y: number }): void {
    this.dispatchGroup(pipeline, this.rt.bindGroup(pipeline, bindings), grid);
  }

  /** Record a dispatch with a bind group made earlier by {@link Runtime.bindGroup} (repeated runs). */
  dispatchGroup(pipeline: GpuComputePipeline, group: GpuBindGroup, grid: { x: number; y: number }): void {
    if (!this.pass) this.pass = this.encoder.beginComputePass();
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(0, group);
    this.pass.dispatchWorkgroups(grid.x, grid.y);
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  /** Record a buffer-to-buffer copy. */
  copy(src: GpuBuffer, dst: GpuBuffer, bytes: number): void {
    this.endPass();
    this.encoder.copyBufferToBuffer(src, 0, dst, 0, bytes);
  }

  /** Copy `bytes` of `src` back to the host at finish(); returns the index of the result. */
  read(src: GpuBuffer, bytes: number): number {
    this.endPass();
    const offset = this.readBytes;
    const size = Math.ceil(bytes / 4) * 4;
    this.reads.push({ src, bytes, offset });
    this.readBytes += size;
    return this.reads.length - 1;
  }

  /** Submit, wait, and return the bytes of every read (in read() order). */
  async finish(): Promise<Uint8Array[]> {
    this.endPass();
    let staging: GpuBuffer | null = null;
    if (this.readBytes > 0) {
      staging = this.pool.acquire(this.readBytes, READBACK);
      this.held.push(staging);
      for (const r of this.reads) if (r.bytes > 0) this.encoder.copyBufferToBuffer(r.src, 0, staging, r.offset, Math.ceil(r.bytes / 4) * 4);
    }
    const device = this.rt.device;
    device.queue.submit([this.encoder.finish()]);
    const validation = device.popErrorScope();
    const memory = device.popErrorScope();
    try {
      const [v, m] = await Promise.all([validation, memory]);
      if (m) throw new WebGPUError('WEBGPU_OUT_OF_MEMORY', `the GPU ran out of memory: ${m.message}`);
      if (v) throw new WebGPUError('WEBGPU_DEVICE_ERROR', `the GPU rejected the work: ${v.message}`);
      this.rt.check();
      if (!staging) {
        await device.queue.onSubmittedWorkDone();
        return [];
      }
      try {
        await staging.mapAsync(MAP_READ_MODE, 0, this.readBytes);
      } catch (e) {
        this.rt.check();
        throw new WebGPUError('WEBGPU_DEVICE_ERROR', `reading results back failed: ${(e as Error).message}`);
      }
      const all = new Uint8Array(staging.getMappedRange(0, this.readBytes).slice(0));
      staging.unmap();
      return this.reads.map((r) => all.subarray(r.offset, r.offset + r.bytes));
    } finally {
      for (const b of this.held) {
        if (b.mapState === 'mapped') b.unmap();
        this.pool.release(b);
      }
      this.held.length = 0;
    }
  }

  /** Abandon the submission after an error while building it (pops the error scopes). */
  abort(): void {
    this.endPass();
    void this.rt.device.popErrorScope().catch(() => null);
    void this.rt.device.popErrorScope().catch(() => null);
    for (const b of this.held) this.pool.release(b);
    this.held.length = 0;
  }
}
