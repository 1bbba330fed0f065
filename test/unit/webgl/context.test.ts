// Finding gpu.js and choosing a context, without a browser: the optional dependency may be missing,
// Node has no WebGL, and gpu.js's CPU mode is used only on request.
import { describe, expect, it } from 'vitest';
import { MicroscaleError, OptionError } from '../../../src/index.js';
import { createWebGLBackend, WebGLBackendError } from '../../../src/kernels/webgl/index.js';
import { chunksOf } from '../../../src/kernels/webgl/backend.js';
import { chooseContext, loadGpuJs, maxTextureSize, type ContextAvailability } from '../../../src/kernels/webgl/gpujs.js';

const none: ContextAvailability = { webgl2: false, webgl: false, headlessgl: false, singlePrecision: false };
const all: ContextAvailability = { webgl2: true, webgl: true, headlessgl: false, singlePrecision: true };

describe('loading gpu.js (an optional peer dependency)', () => {
  it('a missing package is a WebGLBackendError (a MicroscaleError) that says how to install it', async () => {
    const missing = () => Promise.reject(Object.assign(new Error("Cannot find package 'gpu.js'"), { code: 'ERR_MODULE_NOT_FOUND' }));
    const err = await loadGpuJs(undefined, missing).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WebGLBackendError);
    expect(err).toBeInstanceOf(MicroscaleError);
    expect((err as MicroscaleError).code).toBe('BACKEND_UNAVAILABLE');
    expect((err as Error).message).toMatch(/npm install gpu\.js/);
    expect((err as Error).message).toMatch(/Cannot find package/);
  });

  it('a module without a GPU class is refused, as is a bad gpujs option', async () => {
    await expect(loadGpuJs(undefined, () => Promise.resolve({ something: 1 }))).rejects.toBeInstanceOf(WebGLBackendError);
    await expect(loadGpuJs({ GPU: 'nope' })).rejects.toThrow(/gpujs option/);
    await expect(createWebGLBackend({ gpujs: 42 })).rejects.toBeInstanceOf(WebGLBackendError);
  });

  it('accepts the module, its CommonJS default export, or the GPU class itself', async () => {
    class GPU {
      static isWebGL2Supported = false;
    }
    expect((await loadGpuJs({ GPU })).GPU).toBe(GPU);
    expect((await loadGpuJs(undefined, () => Promise.resolve({ default: { GPU } }))).GPU).toBe(GPU);
    expect((await loadGpuJs(GPU)).GPU).toBe(GPU);
  });

  it('finds the installed gpu.js by import', async () => {
    const m = await loadGpuJs();
    expect(typeof m.GPU).toBe('function');
  });
});

describe('choosing the context', () => {
  it('auto prefers WebGL2, then WebGL1, then headless-gl', () => {
    expect(chooseContext(all, 'auto', false)).toBe('webgl2');
    expect(chooseContext({ ...all, webgl2: false }, 'auto', false)).toBe('webgl');
    expect(chooseContext({ ...none, headlessgl: true, singlePrecision: true }, 'auto', false)).toBe('headlessgl');
  });

  it('never falls back to the CPU silently; only when allowed or asked', () => {
    expect(() => chooseContext(none, 'auto', false)).toThrow(WebGLBackendError);
    expect(() => chooseContext(none, 'auto', false)).toThrow(/context: 'cpu'/);
    expect(chooseContext(none, 'auto', true)).toBe('cpu');
    expect(chooseContext(none, 'cpu', false)).toBe('cpu');
  });

  it('a forced context must exist and render to float textures', () => {
    expect(() => chooseContext({ ...all, webgl2: false }, 'webgl2', false)).toThrow(/no WEBGL2 context/);
    expect(() => chooseContext({ ...all, singlePrecision: false }, 'webgl', false)).toThrow(/float textures/);
    expect(() => chooseContext(none, 'headlessgl', false)).toThrow(/headless-gl/);
  });

  it('in Node (no WebGL, no headless-gl) createWebGLBackend() fails clearly', async () => {
    const err = await createWebGLBackend().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WebGLBackendError);
    expect((err as Error).message).toMatch(/no WebGL context is available/);
    await expect(createWebGLBackend({ context: 'webgl2' })).rejects.toThrow(/no WEBGL2 context/);
  });

  it('bad options are OptionErrors', async () => {
    await expect(createWebGLBackend({ context: 'webgpu' as never })).rejects.toBeInstanceOf(OptionError);
    await expect(createWebGLBackend({ maxElementsPerDispatch: 0 })).rejects.toBeInstanceOf(OptionError);
    await expect(createWebGLBackend({ maxElementsPerDispatch: 2 ** 23 })).rejects.toThrow(/1…4194304/);
    await expect(createWebGLBackend({ contxt: 'cpu' } as never)).rejects.toThrow(/unknown option "contxt"/);
  });
});

describe('dispatch planning', () => {
  it('reads the texture limit of the chosen context from gpu.js (dispatches stay within it)', () => {
    const GPU = class {} as never;
    const m = { GPU, WebGL2Kernel: { features: { maxTextureSize: 4096 } }, WebGLKernel: { features: {} } };
    expect(maxTextureSize(m, 'webgl2')).toBe(4096);
    expect(maxTextureSize(m, 'webgl')).toBeNull();
    expect(maxTextureSize(m, 'cpu')).toBeNull();
    const throwing = { GPU, WebGL2Kernel: { get features(): never { throw new Error('no context'); } } };
    expect(maxTextureSize(throwing, 'webgl2')).toBeNull();
  });

  it('whole rows per dispatch while they fit, else block-aligned row segments', () => {
    expect(chunksOf(10, 7, 4, 20)).toEqual([
      { row0: 0, rows: 2, l0: 0, seg: 7 },
      { row0: 2, rows: 2, l0: 0, seg: 7 },
      { row0: 4, rows: 2, l0: 0, seg: 7 },
      { row0: 6, rows: 2, l0: 0, seg: 7 },
      { row0: 8, rows: 2, l0: 0, seg: 7 },
    ]);
    expect(chunksOf(2, 50, 8, 20)).toEqual([
      { row0: 0, rows: 1, l0: 0, seg: 16 },
      { row0: 0, rows: 1, l0: 16, seg: 16 },
      { row0: 0, rows: 1, l0: 32, seg: 16 },
      { row0: 0, rows: 1, l0: 48, seg: 2 },
      { row0: 1, rows: 1, l0: 0, seg: 16 },
      { row0: 1, rows: 1, l0: 16, seg: 16 },
      { row0: 1, rows: 1, l0: 32, seg: 16 },
      { row0: 1, rows: 1, l0: 48, seg: 2 },
    ]);
    // a block larger than the dispatch limit still goes whole
    expect(chunksOf(1, 100, 64, 10)).toEqual([
      { row0: 0, rows: 1, l0: 0, seg: 64 },
      { row0: 0, rows: 1, l0: 64, seg: 36 },
    ]);
    expect(chunksOf(0, 5, 1, 10)).toEqual([]);
    expect(chunksOf(3, 0, 1, 10)).toEqual([]);
  });

  it('covers every element exactly once', () => {
    for (const [rows, len, unit, cap] of [
      [7, 33, 16, 40],
      [1, 1000, 32, 100],
      [5, 5, 1, 3],
    ] as const) {
      const seen = new Uint8Array(rows * len);
      for (const c of chunksOf(rows, len, unit, cap)) {
        expect(c.l0 % unit).toBe(0);
        for (let r = 0; r < c.rows; r++) for (let l = 0; l < c.seg; l++) seen[(c.row0 + r) * len + c.l0 + l]! += 1;
      }
      expect(seen.every((v) => v === 1)).toBe(true);
    }
  });
});
