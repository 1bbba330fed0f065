// Loading the kernel builds (feature detection picks SIMD or scalar; shared memory when threads
// are wanted and SharedArrayBuffer is available) and a simple allocator over linear memory.
import { MicroscaleError, ShapeError } from '../../formats/errors.js';
import { KERNELS_SCALAR, KERNELS_SCALAR_SHARED, KERNELS_SIMD, KERNELS_SIMD_SHARED } from './build/modules.js';

// The subset of the WebAssembly JS API used here, typed locally: the project's lib settings
// (ES2022 + Node types) do not declare the WebAssembly namespace.
/** A compiled module (WebAssembly.Module). */
export type WasmModule = object;
/** A linear memory (WebAssembly.Memory). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  compile(bytes: Uint8Array): Promise<WasmModule>;
  instantiate(module: WasmModule, imports: object): Promise<{ exports: object }>;
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  RuntimeError: new (...a: never[]) => Error;
}
/** The host's WebAssembly object. */
export const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** True for a WebAssembly trap (WebAssembly.RuntimeError). */
export function isTrap(e: unknown): boolean {
  return e instanceof WA.RuntimeError;
}

/** The kernels' exports (native/kernels.ts). Pointers and sizes are byte offsets / counts. */
export interface KernelExports {
  prepare(P: number): void;
  quantizeRange(P: number, g0: number, g1: number): number;
  dequantizeRange(P: number, g0: number, g1: number): void;
  toBlocked(src: number, dst: number, len: number, inner: number, o0: number, o1: number): void;
  fromBlocked(src: number, dst: number, len: number, inner: number, o0: number, o1: number): void;
  absmaxFinite(x: number, i0: number, i1: number): number;
  zeroBytes(ptr: number, len: number): void;
  matmulRange(P: number, a: number, m: number, K: number, N: number, y: number, dense: number, scratch: number, n0: number, n1: number): void;
  gemmRange(a: number, m: number, K: number, N: number, w: number, y: number, y64: number, n0: number, n1: number): void;
}

/** A kernel trapped (out-of-bounds access, or memory that could not grow). The backend stays usable. */
export class WasmKernelError extends MicroscaleError {
  constructor(message: string) {
    super('INVALID_OPTION', message);
  }
}

const PAGE = 65536;
/** wasm32 limit: 65536 pages of 64 KiB. */
const MAX_PAGES = 65536;
/** Low memory left to the module (its stack-free statics live below 1 KiB). */
const HEAP_BASE = 65536;

// (module (func (result v128) (v128.const i32x4 0 0 0 0)))
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 22, 1, 20, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 11,
]);

/** Whether this engine runs WebAssembly SIMD (validated once on a tiny SIMD module). */
export function simdSupported(): boolean {
  try {
    return WA.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

/** Whether shared WebAssembly memory (SharedArrayBuffer) is available here. */
export function sharedMemorySupported(): boolean {
  if (typeof SharedArrayBuffer === 'undefined') return false;
  try {
    const m = new WA.Memory({ initial: 1, maximum: 1, shared: true });
    return m.buffer instanceof SharedArrayBuffer;
  } catch {
    return false;
  }
}

function base64ToBytes(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

const compiled = new Map<string, Promise<WasmModule>>();

/** Compile (once per process) the build for the given features. */
export function kernelModule(simd: boolean, shared: boolean): Promise<WasmModule> {
  const key = `${simd ? 'simd' : 'scalar'}${shared ? '-shared' : ''}`;
  const hit = compiled.get(key);
  if (hit) return hit;
  const b64 = simd ? (shared ? KERNELS_SIMD_SHARED : KERNELS_SIMD) : shared ? KERNELS_SCALAR_SHARED : KERNELS_SCALAR;
  const m = WA.compile(base64ToBytes(b64));
  compiled.set(key, m);
  return m;
}

export function newMemory(shared: boolean): WasmMemory {
  return new WA.Memory({ initial: 32, maximum: MAX_PAGES, shared });
}

export async function instantiate(module: WasmModule, memory: WasmMemory): Promise<KernelExports> {
  const inst = await WA.instantiate(module, { env: { memory } });
  return inst.exports as unknown as KernelExports;
}

/**
 * Bump allocation over linear memory in two zones: persistent tables (decode tables, kept between
 * calls) at the bottom, then per-call buffers released by `reset`. Calls are serialized by the
 * backend, so a single cursor suffices.
 */
export class Heap {
  private persistentEnd = HEAP_BASE;
  private cursor = HEAP_BASE;

  /** Zero-fill through the module (memory.fill), much faster than TypedArray.fill on shared memory. */
  private zero: ((ptr: number, len: number) => void) | null = null;

  constructor(readonly memory: WasmMemory) {}

  /** Use `kernels.zeroBytes` for zero-filled allocations (again after a re-instantiation). */
  useKernels(kernels: KernelExports): void {
    this.zero = kernels.zeroBytes;
  }

  private fill0(p: number, bytes: number): void {
    if (this.zero) this.zero(p, bytes);
    else new Uint8Array(this.memory.buffer, p, bytes).fill(0);
  }

  private pinning = false;

  /** Run `fn` with every `alloc` made persistent (only between calls). */
  persistently<T>(fn: () => T): T {
    this.pinning = true;
    try {
      return fn();
    } finally {
      this.pinning = false;
    }
  }

  /** Reserve `bytes` (16-byte aligned, zero-filled unless `dirty`) for this call. */
  alloc(bytes: number, dirty = false): number {
    if (this.pinning) {
      const q = this.persist(bytes);
      if (!dirty) this.fill0(q, bytes + 16);
      return q;
    }
    const p = (this.cursor + 15) & ~15;
    const end = p + bytes + 16;
    this.ensure(end);
    this.cursor = end;
    if (!dirty) this.fill0(p, bytes + 16);
    return p;
  }

  /** Reserve `bytes` that survive `reset` (only between calls). */
  persist(bytes: number): number {
    if (this.cursor !== this.persistentEnd) throw new Error('persistent allocation during a call');
    const p = (this.persistentEnd + 15) & ~15;
    const end = p + bytes + 16;
    this.ensure(end);
    this.persistentEnd = this.cursor = end;
    return p;
  }

  get persistentBytes(): number {
    return this.persistentEnd - HEAP_BASE;
  }

  /** Drop the persistent zone (cached tables) too. */
  clearPersistent(): void {
    this.persistentEnd = this.cursor = HEAP_BASE;
  }

  reset(): void {
    this.cursor = this.persistentEnd;
  }

  private ensure(end: number): void {
    if (end > MAX_PAGES * PAGE - PAGE) {
      this.reset();
      throw new ShapeError(
        `the WASM backend needs ${(end / 2 ** 20).toFixed(0)} MiB of linear memory for this call, more than WebAssembly's 4 GiB; split the tensor into parts or use the reference backend`,
      );
    }
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    const pages = Math.ceil((end - have) / PAGE);
    try {
      this.memory.grow(Math.max(pages, Math.min(have / PAGE, MAX_PAGES - have / PAGE - 1) >>> 2));
    } catch {
      try {
        this.memory.grow(pages);
      } catch {
        this.reset();
        throw new ShapeError(
          `the WASM backend could not grow its memory to ${(end / 2 ** 20).toFixed(0)} MiB (the host refused); split the tensor into parts or use the reference backend`,
        );
      }
    }
  }

  f32(ptr: number, n: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, n);
  }
  u8(ptr: number, n: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, ptr, n);
  }
  u16(ptr: number, n: number): Uint16Array {
    return new Uint16Array(this.memory.buffer, ptr, n);
  }
  u32(ptr: number, n: number): Uint32Array {
    return new Uint32Array(this.memory.buffer, ptr, n);
  }
  f64(ptr: number, n: number): Float64Array {
    return new Float64Array(this.memory.buffer, ptr, n);
  }
}
