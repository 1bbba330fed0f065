// WASM matmul against a float64 reference within the declared bound; same errors as the core on
// bad input; the backend stays usable after failures; ggml's MXFP4 exponent at binade edges.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QuantizedTensor, quantize, referenceBackend, type Backend } from '../../../src/index.js';
import { WASM_MATMUL_BOUND, createWasmBackend } from '../../../src/kernels/wasm/index.js';
import { CONFIGS, adversarial, expectSameAsReference, rng } from './helpers.js';

/** Largest |y − y64| / Σ|a·w| over outputs, with y64 from the exactly dequantized operands. */
async function matmulRatio(b: Backend, a: Float32Array | QuantizedTensor, w: QuantizedTensor, m: number): Promise<number> {
  const y = (await b.matmul(a, w, { m })) as Float32Array;
  const [N, K] = w.shape as [number, number];
  const wv = (await referenceBackend.dequantize(w)) as Float32Array;
  const av = a instanceof QuantizedTensor ? ((await referenceBackend.dequantize(a)) as Float32Array) : a;
  let worst = 0;
  for (let i = 0; i < m; i++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      let abs = 0;
      for (let k = 0; k < K; k++) {
        s += av[i * K + k]! * wv[n * K + k]!;
        abs += Math.abs(av[i * K + k]! * wv[n * K + k]!);
      }
      const err = Math.abs(y[i * N + n]! - s);
      if (abs === 0) expect(err).toBe(0);
      else worst = Math.max(worst, err / abs);
    }
  }
  return worst;
}

function randomMatrix(n: number, seed: number, spread = 4): Float32Array {
  const next = rng(seed);
  return Float32Array.from({ length: n }, () => (next() - 0.5) * 2 ** Math.floor(next() * spread));
}

for (const cfg of CONFIGS) {
  describe(`wasm ${cfg.label}: matmul`, () => {
    let b: Backend;
    beforeAll(async () => {
      b = await createWasmBackend(cfg.options);
    });
    afterAll(async () => {
      await b.dispose();
    });

    it('declares a K-independent bound and meets it on GEMV and GEMM shapes of every weight format family', async () => {
      expect(b.capabilities.matmulRelativeBound).toBe(WASM_MATMUL_BOUND);
      expect(WASM_MATMUL_BOUND).toBeLessThan(2 ** -18);
      const weights = ['mxfp4', 'mxfp8_e4m3', 'mxint8', 'mx9', 'mx6', 'msfp12', 'nvfp4', 'q4_0', 'q4_1', 'q8_0', 'int8_channel', 'int8_tensor', 'fp16', 'bf16', 'int4_rowwise_affine'];
      let seed = 1;
      for (const name of weights) {
        for (const [m, N, K] of [
          [1, 7, 64],
          [1, 9, 256],
          [3, 5, 96],
          [6, 13, 160],
          [2, 4, 32],
        ] as const) {
          const w = quantize(randomMatrix(N * K, seed++), name, { shape: [N, K] });
          const ratio = await matmulRatio(b, randomMatrix(m * K, seed++), w, m);
          expect(ratio, `${name} m=${m} N=${N} K=${K}`).toBeLessThanOrEqual(WASM_MATMUL_BOUND);
        }
      }
    });

    it('odd K (SIMD tail), quantized activations, and adversarial cancellation', async () => {
      const K = 45;
      const wx = randomMatrix(6 * K, 99, 12);
      const w = quantize(wx, 'mxfp8_e4m3', { shape: [6, K] });
      expect(await matmulRatio(b, randomMatrix(2 * K, 5, 12), w, 2)).toBeLessThanOrEqual(WASM_MATMUL_BOUND);
      const a = quantize(randomMatrix(3 * K, 6), 'mxfp8_e5m2', { shape: [3, K] });
      expect(await matmulRatio(b, a, w, 3)).toBeLessThanOrEqual(WASM_MATMUL_BOUND);
      // products of equal size and alternating sign: large partial sums cancel to a small result
      const K2 = 4096;
      const wc = quantize(Float32Array.from({ length: 2 * K2 }, (_, i) => (i % 3 === 0 ? 1 + 2 ** -7 : 1)), 'mxfp8_e4m3', { shape: [2, K2] });
      const ac = Float32Array.from({ length: K2 }, (_, k) => (k % 2 === 0 ? 1 : -1) * (1 + k * 2 ** -12));
      expect(await matmulRatio(b, ac, wc, 1)).toBeLessThanOrEqual(WASM_MATMUL_BOUND);
      // long positive sums: the float64 flush keeps the error far below K·2^-24
      const K3 = 65536;
      const wl = quantize(randomMatrix(K3, 8).map(Math.abs), 'mxfp4', { shape: [1, K3] });
      const al = randomMatrix(K3, 9).map(Math.abs);
      expect(await matmulRatio(b, al, wl, 1)).toBeLessThanOrEqual(WASM_MATMUL_BOUND);
    });

    it('propagates NaN and Infinity like the reference', async () => {
      const w = quantize(new Float32Array([1, 2, NaN, 4, 1, 2, 3, 4]), 'fp16', { shape: [2, 4] });
      const y = (await b.matmul(new Float32Array([1, 1, 1, 1, Infinity, 0, 0, 0]), w, { m: 2 })) as Float32Array;
      const r = referenceBackend.matmul(new Float32Array([1, 1, 1, 1, Infinity, 0, 0, 0]), w, { m: 2 }) as Float32Array;
      expect(Array.from(y)).toEqual(Array.from(r));
    });

    it('empty shapes', async () => {
      const w = quantize(new Float32Array(0), 'mxfp4', { shape: [0, 32] });
      expect(Array.from((await b.matmul(new Float32Array(96), w, { m: 3 })) as Float32Array)).toEqual([]);
      const w2 = quantize(new Float32Array(64), 'mxfp4', { shape: [2, 32] });
      expect(Array.from((await b.matmul(new Float32Array(0), w2, { m: 0 })) as Float32Array)).toEqual([]);
    });
  });
}

async function errorOf(f: () => unknown): Promise<string> {
  try {
    await f();
    return 'no error';
  } catch (e) {
    return `${(e as Error).constructor.name}: ${(e as Error).message}`;
  }
}

describe('wasm: bad input gets the core’s errors, and the backend stays usable', () => {
  let b: Backend;
  beforeAll(async () => {
    b = await createWasmBackend({ threads: 2, minParallelWork: 16 });
  });
  afterAll(async () => {
    await b.dispose();
  });

  it('same error class and message as the reference for every kind of bad call', async () => {
    const x = new Float32Array(64);
    const w = quantize(new Float32Array(64), 'mxfp4', { shape: [2, 32] });
    const wAxis0 = quantize(new Float32Array(64), 'mxfp4', { shape: [32, 2], axis: 0 });
    const calls: [string, (be: Backend) => unknown][] = [
      ['array input', (be) => be.quantize([1, 2] as unknown as Float32Array, 'mxfp4')],
      ['unknown format', (be) => be.quantize(x, 'mxfp5')],
      ['bad name', (be) => be.fakeQuantize(x, 'mx(')],
      ['bad shape', (be) => be.quantize(x, 'mxfp4', { shape: [3, 5] })],
      ['bad axis', (be) => be.quantize(x, 'mxfp4', { axis: 4 })],
      ['unknown option', (be) => be.quantize(x, 'mxfp4', { colour: 1 } as never)],
      ['bad rounding', (be) => be.fakeQuantize(x, 'mxfp4', { rounding: 'nearest' as never })],
      ['preset mismatch', (be) => be.quantize(x, 'nvfp4', { preset: 'ggml' })],
      ['ggml partial block', (be) => be.quantize(new Float32Array(40), 'q4_0')],
      ['NaN in fp4', (be) => be.quantize(new Float32Array([1, NaN]), 'fp4_e2m1')],
      ['negative in e8m0', (be) => be.fakeQuantize(new Float32Array([1, -2]), 'e8m0')],
      ['NaN in int8', (be) => be.quantize(new Float32Array([NaN]), 'int8')],
      ['dequantize non-tensor', (be) => be.dequantize({} as QuantizedTensor)],
      ['matmul w', (be) => be.matmul(x, {} as QuantizedTensor, { m: 2 })],
      ['matmul axis', (be) => be.matmul(x, wAxis0, { m: 1 })],
      ['matmul m', (be) => be.matmul(x, w, { m: -1 })],
      ['matmul a length', (be) => be.matmul(new Float32Array(5), w, { m: 1 })],
    ];
    for (const [label, call] of calls) {
      const want = await errorOf(() => call(referenceBackend));
      expect(want, label).not.toBe('no error');
      expect(await errorOf(() => call(b)), label).toBe(want);
    }
    await expectSameAsReference(b, adversarial(300, 3), 'mxfp4');
  });

  it('a tensor too large for WebAssembly memory is a ShapeError, and the next call works', async () => {
    const q = quantize(new Float32Array(64), 'mxfp8_e4m3');
    // claim 2^33 elements: more than a 4 GiB memory can hold
    Object.defineProperty(q, 'options', { value: { ...q.options, shape: [2 ** 33] } });
    expect(await errorOf(() => b.dequantize(q))).toMatch(/^ShapeError: the WASM backend needs \d+ MiB/);
    await expectSameAsReference(b, adversarial(1000, 4), 'mx9');
  });

  it('dispose terminates workers and later calls fail clearly', async () => {
    const c = await createWasmBackend({ threads: 2 });
    await c.dispose();
    expect(await errorOf(() => c.quantize(new Float32Array(4), 'mxfp4'))).toMatch(/disposed; create a new one/);
  });

  it('concurrent calls are serialized and each gets its own result', async () => {
    const xs = Array.from({ length: 6 }, (_, i) => adversarial(5000 + i * 77, 40 + i, { finite: true }));
    const got = await Promise.all(xs.map((x, i) => b.fakeQuantize(x, i % 2 ? 'mxfp4' : 'nvfp4')));
    xs.forEach((x, i) => expect(Array.from(got[i]!)).toEqual(Array.from(referenceBackend.fakeQuantize(x, i % 2 ? 'mxfp4' : 'nvfp4') as Float32Array)));
  });
});

describe('wasm: ggml MXFP4 exponent (float32 log2) at the top of every binade', () => {
  it('equals the reference for block maxima just below each power of two', async () => {
    const b = await createWasmBackend({ threads: 1 });
    const f = new Float32Array(1);
    const u = new Uint32Array(f.buffer);
    const values: number[] = [];
    for (let e = -149; e < 128; e++) {
      f[0] = 2 ** Math.min(e + 1, 127) * (e + 1 > 127 ? 2 - 2 ** -23 : 1);
      const top = e + 1 > 127 ? u[0]! : u[0]! - 1;
      for (let d = 0; d < 24; d++) values.push(top - d * d * 7);
    }
    // one block of 32 per value: the value and small others
    const x = new Float32Array(values.length * 32);
    const xb = new Uint32Array(x.buffer);
    values.forEach((v, i) => {
      xb[i * 32] = v;
      for (let j = 1; j < 32; j++) x[i * 32 + j] = x[i * 32]! * (j / 64) * (j % 2 ? 1 : -1);
    });
    await expectSameAsReference(b, x, 'ggml_mxfp4', { preset: 'ggml' });
    await b.dispose();
  });
});
