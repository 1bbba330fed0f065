// Finding gpu.js (an optional peer dependency) and choosing its context. Only the few members the
// backend uses are typed here, so nothing in microscale's types depends on gpu.js being installed.
import { WebGLBackendError } from './errors.js';

/** A compiled gpu.js kernel (its "run shortcut"). */
export interface GpuJsKernel {
  (...args: unknown[]): unknown;
  setOutput(output: number[]): unknown;
  destroy?(removeCanvasReferences?: boolean): void;
  readonly kernel?: { readonly context?: unknown; readonly constructor?: { readonly features?: { readonly maxTextureSize?: number } } };
}

/** A gpu.js `GPU` instance. */
export interface GpuJsInstance {
  readonly mode: string;
  createKernel(source: string, settings: Record<string, unknown>): GpuJsKernel;
  destroy(): unknown;
}

/** The gpu.js `GPU` class with the static feature flags the backend reads. */
export interface GpuJsClass {
  new (settings?: Record<string, unknown>): GpuJsInstance;
  readonly isWebGL2Supported: boolean;
  readonly isWebGLSupported: boolean;
  readonly isHeadlessGLSupported: boolean;
  readonly isSinglePrecisionSupported: boolean;
}

/** A gpu.js kernel class, for its static feature report. */
export interface GpuJsKernelClass {
  readonly features?: { readonly maxTextureSize?: number };
}

/** What the backend needs from the gpu.js module (kernel classes are read only for their limits). */
export interface GpuJsModule {
  readonly GPU: GpuJsClass;
  readonly WebGL2Kernel?: GpuJsKernelClass;
  readonly WebGLKernel?: GpuJsKernelClass;
  readonly HeadlessGLKernel?: GpuJsKernelClass;
}

const MISSING =
  'gpu.js is not available: the WebGL backend needs the optional peer dependency gpu.js ' +
  '(npm install gpu.js), or, in a browser without a bundler, its dist/gpu-browser.min.js loaded so that ' +
  'globalThis.GPU exists, or the module passed as createWebGLBackend({ gpujs }).';

function asModule(candidate: unknown): GpuJsModule | null {
  if (candidate === null || candidate === undefined) return null;
  const c = candidate as Partial<GpuJsModule> & { default?: Partial<GpuJsModule> };
  if (typeof c.GPU === 'function') return c as GpuJsModule;
  if (typeof c.default?.GPU === 'function') return c.default as GpuJsModule;
  if (typeof candidate === 'function' && 'isWebGL2Supported' in candidate) return { GPU: candidate as GpuJsClass };
  return null;
}

/** The largest texture side of a context kind, where gpu.js reports it. */
export function maxTextureSize(m: GpuJsModule, kind: WebGLContextKind): number | null {
  const cls = kind === 'webgl2' ? m.WebGL2Kernel : kind === 'webgl' ? m.WebGLKernel : kind === 'headlessgl' ? m.HeadlessGLKernel : undefined;
  try {
    const size = cls?.features?.maxTextureSize;
    return typeof size === 'number' && size > 0 ? size : null;
  } catch {
    return null;
  }
}

/** Import something by a name bundlers leave alone (gpu.js is optional). */
export type Importer = (specifier: string) => Promise<unknown>;

const defaultImporter: Importer = (specifier) => import(/* @vite-ignore */ specifier);

/**
 * gpu.js from, in order: the module passed in, the `GPU` global of its browser build, `import('gpu.js')`.
 * Throws {@link WebGLBackendError} naming the fix when none is there.
 */
export async function loadGpuJs(given?: unknown, importer: Importer = defaultImporter): Promise<GpuJsModule> {
  if (given !== undefined) {
    const m = asModule(given);
    if (!m) throw new WebGLBackendError('createWebGLBackend: the gpujs option must be the gpu.js module (an object whose GPU member is the GPU class)');
    return m;
  }
  const fromGlobal = asModule((globalThis as { GPU?: unknown }).GPU);
  if (fromGlobal) return fromGlobal;
  let imported: unknown;
  try {
    imported = await importer('gpu.js');
  } catch (e) {
    throw new WebGLBackendError(`${MISSING} (import failed: ${e instanceof Error ? e.message : String(e)})`, 'BACKEND_UNAVAILABLE');
  }
  const m = asModule(imported);
  if (!m) throw new WebGLBackendError(`${MISSING} (the module that was found has no GPU class)`, 'BACKEND_UNAVAILABLE');
  return m;
}

/** The gpu.js contexts this backend runs on. Only `webgl2` is exact. */
export type WebGLContextKind = 'webgl2' | 'webgl' | 'headlessgl' | 'cpu';
/** What the caller may ask for. */
export type WebGLContextRequest = 'auto' | WebGLContextKind;

/** What gpu.js reports it can do here. */
export interface ContextAvailability {
  readonly webgl2: boolean;
  readonly webgl: boolean;
  readonly headlessgl: boolean;
  readonly singlePrecision: boolean;
}

/** Read gpu.js's feature flags (each probes a context; any failure counts as unavailable). */
export function availability(GPU: GpuJsClass): ContextAvailability {
  const flag = (read: () => boolean): boolean => {
    try {
      return read() === true;
    } catch {
      return false;
    }
  };
  return {
    webgl2: flag(() => GPU.isWebGL2Supported),
    webgl: flag(() => GPU.isWebGLSupported),
    headlessgl: flag(() => GPU.isHeadlessGLSupported),
    singlePrecision: flag(() => GPU.isSinglePrecisionSupported),
  };
}

/**
 * The context to use. `auto` takes WebGL2, then WebGL1 (browser or headless-gl); gpu.js's CPU mode
 * is used only when asked for (`cpu`) or allowed as a fallback, because it is not a GPU backend.
 */
export function chooseContext(avail: ContextAvailability, request: WebGLContextRequest, allowCpuFallback: boolean): WebGLContextKind {
  const needFloat = (kind: WebGLContextKind): WebGLContextKind => {
    if (!avail.singlePrecision) {
      throw new WebGLBackendError(`the ${kind} context cannot render to float textures (OES_texture_float is missing), which the WebGL backend needs for exact integer results`, 'BACKEND_UNAVAILABLE');
    }
    return kind;
  };
  switch (request) {
    case 'cpu':
      return 'cpu';
    case 'webgl2':
    case 'webgl':
    case 'headlessgl':
      if (!avail[request]) {
        throw new WebGLBackendError(`no ${request === 'headlessgl' ? 'headless-gl (npm package "gl")' : request.toUpperCase()} context is available here; use createWebGLBackend({ context: 'auto' }) or another backend`, 'BACKEND_UNAVAILABLE');
      }
      return needFloat(request);
    case 'auto':
      if (avail.webgl2) return needFloat('webgl2');
      if (avail.webgl) return needFloat('webgl');
      if (avail.headlessgl) return needFloat('headlessgl');
      if (allowCpuFallback) return 'cpu';
      throw new WebGLBackendError(
        'no WebGL context is available here (in Node, gpu.js needs its optional native dependency "gl"); ' +
          "use the reference or WASM backend, or createWebGLBackend({ context: 'cpu' }) for gpu.js's CPU mode (not a GPU backend, and not bit-exact by declaration)",
        'BACKEND_UNAVAILABLE',
      );
  }
}
