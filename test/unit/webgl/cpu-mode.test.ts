// The WebGL backend on gpu.js's CPU mode (what Node offers without the native `gl` package): the
// portable kernels run as JavaScript. The backend declares itself inexact and not a GPU backend, and
// is held to its stated bound; the test also reports how many results were identical anyway.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OptionError, quantize } from '../../../src/index.js';
import { createWebGLBackend, type WebGLBackend } from '../../../src/kernels/webgl/index.js';
import { BLOCK_FORMATS, CAST_FORMATS, caseList, checkArbitraryTensors, checkCases, checkErrors, checkMatmul, type CaseSpec } from './compare.js';

let backend: WebGLBackend;
let small: WebGLBackend;

beforeAll(async () => {
  backend = await createWebGLBackend({ context: 'cpu' });
  small = await createWebGLBackend({ context: 'cpu', maxElementsPerDispatch: 50, selfTest: false });
});

afterAll(async () => {
  await backend?.dispose();
  await small?.dispose();
});

describe('gpu.js CPU mode', () => {
  it('says it is not a GPU backend and not bit-exact, with a stated bound', () => {
    const c = backend.capabilities;
    expect(c.name).toBe('webgl');
    expect(c.context).toBe('cpu');
    expect(c.gpu).toBe(false);
    expect(c.bitExact).toBe(false);
    expect(c.codeStepBound).toBe(1);
    expect(c.matmulRelativeBound).toBeGreaterThan(0);
    expect(c.matmulRelativeBound).toBeLessThan(2 ** -16);
    expect(c.notes.join('\n')).toMatch(/CPU mode.*not a WebGL backend/);
    expect(c.delegated.join('\n')).toMatch(/stochastic/);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('quantize, fakeQuantize and dequantize stay within the bound on MX, BDR and scalar formats', async () => {
    // every block format with defaults and axis 0, two with every option, every scalar format
    const specs: CaseSpec[] = caseList(['mxfp8_e4m3', 'mx6'], [], true).map((s) => (s.shape.length === 2 && s.shape[1] === 77 ? { ...s, shape: [2, 77] } : s));
    expect(specs.filter((s) => BLOCK_FORMATS.includes(s.format)).length).toBeGreaterThan(40);
    expect(specs.filter((s) => CAST_FORMATS.includes(s.format)).length).toBe(CAST_FORMATS.length * 4);
    const report = await checkCases(backend, specs, backend.capabilities.codeStepBound);
    expect(report.problems).toEqual([]);
    console.log(`CPU mode: ${report.identical} of ${report.compared} results identical to the reference in ${report.cases} cases`);
    expect(report.compared).toBeGreaterThan(50_000);
  });

  it('all 65,536 bf16 patterns through MXFP4 and FP16 stay within the bound', async () => {
    const report = await checkCases(backend, [{ format: 'mxfp4', shape: [65536], data: 'bf16' }, { format: 'fp16', shape: [65536], data: 'bf16' }], backend.capabilities.codeStepBound);
    expect(report.problems).toEqual([]);
    expect(report.compared).toBe(2 * 3 * 65536 + 2048);
  });

  it('cuts inputs into dispatches (rows, row segments, axis 0) without changing results', async () => {
    const specs: CaseSpec[] = [
      { format: 'mxfp4', shape: [7, 40] },
      { format: 'mx9', shape: [3, 130], seed: 5 },
      { format: 'mxint8', shape: [2, 200], opts: { blockSize: 0 } },
      { format: 'mx6', shape: [50, 3], opts: { axis: 0 } },
      { format: 'bf16', shape: [333] },
    ];
    const report = await checkCases(small, specs, small.capabilities.codeStepBound);
    expect(report.problems).toEqual([]);
  });

  it('dequantizes arbitrary codes, scales (NaN included) and microexponents within the bound', async () => {
    const r = await checkArbitraryTensors(backend, [...BLOCK_FORMATS, ...CAST_FORMATS], backend.capabilities.codeStepBound);
    expect(r.problems).toEqual([]);
    expect(r.compared).toBeGreaterThan(10_000);
  });

  it('rejects what the reference rejects, with the same error classes', async () => {
    expect(await checkErrors(backend)).toEqual([]);
  });

  it('matmul within the declared bound (float32 chunks of 64 products, float64 sum)', async () => {
    const bad = await checkMatmul(backend, [
      { w: 'mxfp4', m: 1, n: 1, k: 1 },
      { w: 'mxfp8_e4m3', m: 3, n: 5, k: 17 },
      { w: 'mx6', a: 'mx9', m: 2, n: 3, k: 200 },
      { w: 'nvfp4', m: 2, n: 3, k: 64 },
      { w: 'fp8_e4m3', m: 0, n: 3, k: 5 },
    ]);
    expect(bad).toEqual([]);
    expect(await checkMatmul(small, [{ w: 'mxint8', m: 3, n: 4, k: 150 }])).toEqual([]);
  });

  it('stochastic rounding is left to the reference here (it needs 32-bit integer products)', async () => {
    const x = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i) * 3);
    const q = await backend.quantize(x, 'mxfp4', { rounding: 'stochastic', seed: 9 });
    expect(Array.from(q.codes)).toEqual(Array.from(quantize(x, 'mxfp4', { rounding: 'stochastic', seed: 9 }).codes));
  });

  it('can be disposed, then refuses work; a new one can be created', async () => {
    const b = await createWebGLBackend({ context: 'cpu', selfTest: false });
    await b.dispose();
    await b.dispose();
    await expect(b.fakeQuantize(new Float32Array(4), 'mxfp4')).rejects.toBeInstanceOf(OptionError);
    const again = await createWebGLBackend({ context: 'cpu', selfTest: false });
    expect(Array.from(await again.fakeQuantize(new Float32Array([1, 2, 3, 4]), 'mxfp4'))).toEqual([1, 2, 3, 4]);
    await again.dispose();
  });
});
