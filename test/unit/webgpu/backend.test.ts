// Paths of the WebGPU backend that the shared conformance suite does not reach: the general
// (multi-kernel) quantizer on layouts the fused kernel would take, chunking past the binding
// limit, fallbacks, errors, disposal and lost devices, prepared device-resident kernels and matmul
// at tile boundaries. Runs on Dawn (SwiftShader without a GPU); skips visibly without an adapter.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EncodingError,
  OptionError,
  QuantizedTensor,
  dequantize,
  fakeQuantize,
  getFormat,
  matmul,
  quantize,
  type QuantizeOptions,
} from '../../../src/index.js';
import { createWebGPUBackend, WebGPUError, type WebGPUBackend } from '../../../src/kernels/webgpu/index.js';
import { compareWithReference, sameF32 } from './compare.js';
import { probeGpu } from './gpu-env.js';
import { describeWhen } from '../../helpers/needs.js';
import { rng } from '../../helpers/random.js';

const env = await probeGpu();


const SPECIALS = [NaN, Infinity, -Infinity, -0, 0, 1e-45, -(2 ** -130), 2 ** -126, 3e38, -3.3e38, 448, 6, 65504];

/** Values over a wide exponent range with a few special values planted in (none when `finite`). */
function input(n: number, seed: number, finite = false): Float32Array {
  const next = rng(seed);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = (next() * 2 - 1) * 2 ** Math.floor(next() * 40 - 20);
  for (let i = 0; i < n; i++) {
    if (next() < 0.02) {
      const s = SPECIALS[Math.floor(next() * SPECIALS.length)]!;
      x[i] = finite && !Number.isFinite(s) ? 0 : s;
    }
  }
  return x;
}



const compare = compareWithReference;

describeWhen(`webgpu backend on ${env.adapterName}`, env.missing, () => {
  describe('general kernels (fused off) equal the reference on every layout', () => {
    let b: WebGPUBackend;
    beforeAll(async () => {
      b = await createWebGPUBackend({ gpu: env.gpu!, device: env.device!, fused: false });
    });
    afterAll(() => b?.dispose());
    const cases: [string, QuantizeOptions][] = [
      ['mxfp8_e4m3', { shape: [3, 70] }],
      ['mxfp8_e4m3', { shape: [2, 64], rounding: 'stochastic', seed: 5 }],
      ['mxfp4', { shape: [5, 33, 2], axis: 1 }],
      ['mxfp4', { shape: [4, 40], scaleMode: 'rceil', scaleBits: 5 }],
      ['mxint8', { shape: [2, 45], preset: 'microxcaling' }],
      ['mx9', { shape: [3, 50] }],
      ['mx6', { shape: [6, 20], axis: 0, scaleMode: 'even' }],
      ['mx4', { shape: [2, 48], flushSubnormalBlocks: true, scaleMode: 'ceil' }],
      ['nvfp4', { shape: [3, 40] }],
      ['nvfp4', { shape: [3, 40], preset: 'torchao' }],
      ['q4_0', { shape: [32, 3], axis: 0 }],
      ['q8_0', { shape: [2, 64] }],
      ['int8_tensor', { shape: [100] }],
      ['fp8_e4m3_rowwise', { shape: [4, 30], scaleUpperBound: 50 }],
      ['int8_rowwise_affine', { shape: [3, 70] }],
      ['int4_rowwise_affine', { shape: [20, 6], axis: 0 }],
      ['q4_1', { shape: [2, 64], rounding: 'stochastic', seed: 4 }],
      ['q5_1', { shape: [32, 3], axis: 0 }],
    ];
    for (const [format, opts] of cases) {
      it(`${format} ${JSON.stringify(opts)}`, async () => {
        const n = opts.shape!.reduce((a, c) => a * c, 1);
        for (const seed of [1, 2]) expect(await compare(b, input(n, seed), format, opts)).toEqual([]);
        expect(await compare(b, input(n, 3, true), format, opts)).toEqual([]);
      });
    }
  });

  describe('chunking past the storage binding limit', () => {
    let b: WebGPUBackend;
    let g: WebGPUBackend;
    beforeAll(async () => {
      // 128 KiB bindings: the 200 kB inputs below take two chunks (the general path's per-block and
      // per-sub-block statistics must still fit one binding each)
      b = await createWebGPUBackend({ gpu: env.gpu!, device: env.device!, maxBindingBytes: 131072 });
      g = await createWebGPUBackend({ gpu: env.gpu!, device: env.device!, maxBindingBytes: 131072, fused: false });
    });
    afterAll(() => {
      b?.dispose();
      g?.dispose();
    });
    const n = 50000;
    const cases: [string, QuantizeOptions][] = [
      ['mxfp8_e4m3', {}],
      ['mxfp8_e4m3', { rounding: 'stochastic', seed: 21 }],
      ['mx9', { shape: [500, 100] }],
      ['mx9', { shape: [500, 96] }],
      ['nvfp4', {}],
      ['fp16', { rounding: 'stochastic', seed: 3 }],
      ['mx6', { shape: [1000, 50], axis: 0 }],
      ['q4_1', { shape: [500, 96] }],
      ['int8_rowwise_affine', { shape: [250, 200], axis: 0 }],
      ['q5_1', { shape: [500, 96], preset: 'ggml' }],
      ['q4_0', { shape: [400, 128], preset: 'ggml' }],
      ['ggml_nvfp4', { shape: [400, 128], preset: 'ggml' }],
    ];
    for (const [format, opts] of cases) {
      const len = opts.shape ? opts.shape.reduce((a, c) => a * c, 1) : n;
      it(`${format} over ${len} elements ${JSON.stringify(opts)} (fused and general)`, async () => {
        const x = input(len, 9, format === 'fp16');
        const o = { shape: [len], ...opts };
        expect(await compare(b, x, format, o)).toEqual([]);
        expect(await compare(g, x, format, o)).toEqual([]);
      });
    }

    it('reports the first unencodable element of a later chunk with the reference message', async () => {
      const x = new Float32Array(n).fill(1.5);
      x[40000] = NaN;
      x[45000] = NaN;
      const want = (() => {
        try {
          quantize(x, 'int8');
        } catch (e) {
          return e as Error;
        }
        throw new Error('reference did not throw');
      })();
      const got = await b.quantize(x, 'int8').catch((e: unknown) => e);
      expect(got).toBeInstanceOf(EncodingError);
      expect((got as Error).message).toBe(want.message);
      expect((got as Error).message).toMatch(/^input\[40000\]/);
    });

    it('matmul splits the activation rows', async () => {
      const next = rng(4);
      const [m, N, K] = [300, 20, 96];
      const w = quantize(Float32Array.from({ length: N * K }, () => next() * 2 - 1), 'mxfp8_e4m3', { shape: [N, K] });
      const a = Float32Array.from({ length: m * K }, () => next() * 2 - 1);
      expectWithinBound(await b.matmul(a, w, { m }), a, w, m, N, K, b.capabilities.matmulRelativeBound);
    });
  });

  describe('errors, fallbacks and lifecycle', () => {
    let b: WebGPUBackend;
    beforeAll(async () => {
      b = await createWebGPUBackend({ gpu: env.gpu!, device: env.device! });
    });
    afterAll(() => b?.dispose());

    it('rejects bad input with the reference’s errors', async () => {
      const x = new Float32Array([1, NaN, 2]);
      const ref = (() => {
        try {
          fakeQuantize(x, 'fp4_e2m1');
        } catch (e) {
          return e as Error;
        }
        throw new Error('reference did not throw');
      })();
      const got = await b.fakeQuantize(x, 'fp4_e2m1').catch((e: unknown) => e);
      expect(got).toBeInstanceOf(EncodingError);
      expect((got as Error).message).toBe(ref.message);
      await expect(b.quantize(new Float32Array([-1]), 'ue4m3')).rejects.toBeInstanceOf(EncodingError);
      await expect(b.quantize(new Float32Array(4), 'mxfp4', { rounding: 'nearest' as never })).rejects.toBeInstanceOf(OptionError);
      await expect(b.quantize([1, 2] as unknown as Float32Array, 'mxfp4')).rejects.toBeInstanceOf(OptionError);
    });

    it('runs the formats it does not take on the reference, with identical results', async () => {
      const x = input(128, 5, true);
      for (const [format, opts] of [
        ['nvfp4', { tensorScale: 0.1 }],
        ['fp8_e4m3_rowwise', { shape: [4, 32], scaleUpperBound: 0.1 }],
      ] as [string, QuantizeOptions][]) {
        expect(await compare(b, x, format, opts)).toEqual([]);
      }
      expect(b.capabilities.notes.join(' ')).toMatch(/options that are not float32 values/);
    });

    it('declares frozen capabilities', () => {
      const c = b.capabilities;
      expect(c.name).toBe('webgpu');
      expect(c.bitExact).toBe(true);
      expect(c.matmulRelativeBound).toBe(2 ** -10);
      expect(Object.isFrozen(c)).toBe(true);
      expect(c.notes[0]).toMatch(/^device: /);
    });

    it('throws WEBGPU_DISPOSED after dispose, and a new backend works', async () => {
      const tmp = await createWebGPUBackend({ gpu: env.gpu! });
      await tmp.quantize(new Float32Array(32).fill(1), 'mxfp8_e4m3');
      tmp.dispose();
      const err = await tmp.quantize(new Float32Array(32).fill(1), 'mxfp8_e4m3').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WebGPUError);
      expect((err as WebGPUError).reason).toBe('WEBGPU_DISPOSED');
      // also for work it would have run on the CPU
      await expect(tmp.quantize(new Float32Array(32), 'nvfp4', { tensorScale: 0.1 })).rejects.toBeInstanceOf(WebGPUError);
      const again = await createWebGPUBackend({ gpu: env.gpu! });
      const q = await again.quantize(new Float32Array(32).fill(1), 'mxfp8_e4m3');
      expect(Array.from(q.scales)).toEqual(Array.from(quantize(new Float32Array(32).fill(1), 'mxfp8_e4m3').scales));
      again.dispose();
    });

    it('throws WEBGPU_DEVICE_LOST once its device is lost', async () => {
      const tmp = await createWebGPUBackend({ gpu: env.gpu! });
      tmp.device.destroy();
      await tmp.device.lost;
      const err = await tmp.fakeQuantize(new Float32Array(32), 'mxfp4').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WebGPUError);
      expect((err as WebGPUError).reason).toBe('WEBGPU_DEVICE_LOST');
      tmp.dispose();
    });
  });

  describe('matmul', () => {
    let b: WebGPUBackend;
    beforeAll(async () => {
      b = await createWebGPUBackend({ gpu: env.gpu!, device: env.device! });
    });
    afterAll(() => b?.dispose());

    for (const [format, m, N, K, aFormat] of [
      ['mxfp4', 65, 67, 129, undefined],
      ['mx9', 1, 130, 48, undefined],
      ['nvfp4', 63, 64, 160, 'mxfp8_e4m3'],
      ['fp8_e4m3_tensor', 7, 9, 33, undefined],
      ['int4_rowwise_affine', 5, 6, 64, undefined],
    ] as [string, number, number, number, string | undefined][]) {
      it(`${format} weights, [${m}, ${N}, ${K}]${aFormat ? `, ${aFormat} activations` : ''}`, async () => {
        const next = rng(m * 31 + K);
        const w = quantize(Float32Array.from({ length: N * K }, () => (next() * 2 - 1) * 2 ** Math.floor(next() * 6 - 3)), format, { shape: [N, K] });
        const ax = Float32Array.from({ length: m * K }, () => (next() * 2 - 1) * 2 ** Math.floor(next() * 6 - 3));
        const a = aFormat ? quantize(ax, aFormat, { shape: [m, K] }) : ax;
        expectWithinBound(await b.matmul(a, w, { m }), a instanceof QuantizedTensor ? dequantize(a) : a, w, m, N, K, b.capabilities.matmulRelativeBound);
      });
    }

    it('runs K above 2^20 on the reference (the declared bound covers K ≤ 2^20)', async () => {
      const K = 2 ** 20 + 64;
      const next = rng(77);
      const w = quantize(Float32Array.from({ length: K }, () => next() - 0.5), 'mxfp8_e4m3', { shape: [1, K] });
      const a = Float32Array.from({ length: K }, () => next() - 0.5);
      expect(sameF32(await b.matmul(a, w, { m: 1 }), matmul(a, w, { m: 1 }))).toBeNull();
    });

    it('rejects bad shapes like the reference', async () => {
      const w = quantize(new Float32Array(64), 'mxfp4', { shape: [2, 32] });
      await expect(b.matmul(new Float32Array(31), w, { m: 1 })).rejects.toThrow(/m·K/);
    });
  });

  describe('prepared device-resident kernels', () => {
    let b: WebGPUBackend;
    beforeAll(async () => {
      b = await createWebGPUBackend({ gpu: env.gpu!, device: env.device! });
    });
    afterAll(() => b?.dispose());

    it('quantize, dequantize, matmul and copy run repeatedly and report their traffic', async () => {
      const n = 1 << 14;
      const q = await b.kernels.prepareQuantize('mxfp4', { n });
      expect(q.bytesRead).toBe(n * 4);
      expect(q.bytesWritten).toBe(n / 2 + n / 32);
      expect(await q.run(3)).toBeGreaterThan(0);
      const d = await b.kernels.prepareDequantize(q);
      expect(d.bytesRead).toBe(q.bytesWritten);
      expect(d.bytesWritten).toBe(n * 4);
      expect(await d.run(2)).toBeGreaterThan(0);
      const w = quantize(new Float32Array(64 * 64).fill(0.5), 'mxfp8_e4m3', { shape: [64, 64] });
      const mm = await b.kernels.prepareMatmul(w, 64);
      expect(mm.flops).toBe(2 * 64 * 64 * 64);
      expect(await mm.run(1)).toBeGreaterThan(0);
      // minMax weights bind their offsets too
      const w41 = quantize(Float32Array.from({ length: 64 * 64 }, (_, i) => Math.sin(i)), 'q4_1', { shape: [64, 64] });
      const mm41 = await b.kernels.prepareMatmul(w41, 8);
      expect(mm41.bytesRead).toBe(8 * 64 * 4 + w41.codes.byteLength + w41.scales.byteLength + w41.offsets.byteLength);
      expect(await mm41.run(2)).toBeGreaterThan(0);
      mm41.dispose();
      const c = await b.kernels.prepareCopy(n * 4);
      expect(c.bytesRead + c.bytesWritten).toBe(2 * n * 4);
      expect(await c.run(2)).toBeGreaterThan(0);
      for (const op of [q, d, mm, c]) op.dispose();
    });

    it('refuses formats that would run on the CPU', async () => {
      await expect(b.kernels.prepareQuantize('nvfp4', { n: 64, tensorScale: 0.1 })).rejects.toBeInstanceOf(OptionError);
      expect(getFormat('nvfp4').tensorScale).toBe(true);
    });
  });
});

/** |y − y64| ≤ bound·Σ|a·w| + K·2^−53·Σ|a·w| for every output, against float64 sums of the decoded values. */
function expectWithinBound(y: Float32Array, a: Float32Array, w: QuantizedTensor, m: number, N: number, K: number, bound: number): void {
  const wv = dequantize(w);
  expect(y.length).toBe(m * N);
  const bad: string[] = [];
  for (let i = 0; i < m; i++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      let mag = 0;
      for (let k = 0; k < K; k++) {
        const p = a[i * K + k]! * wv[n * K + k]!;
        s += p;
        mag += Math.abs(p);
      }
      const tol = bound * mag + K * 2 ** -53 * mag + 2 ** -149;
      if (!(Math.abs(y[i * N + n]! - s) <= tol) && bad.length < 5) bad.push(`y[${i},${n}] = ${y[i * N + n]}, float64 ${s}, tol ${tol}`);
    }
  }
  expect(bad).toEqual([]);
}
