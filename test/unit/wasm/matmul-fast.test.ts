// The matmul fast paths: register decoding of w (4-bit table, 8-bit integer, 8-bit float bits),
// the tiled GEMM (m ≥ 4), and weights cached between calls by tensor object.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getFormat, quantize, referenceBackend, type Backend } from '../../../src/index.js';
import { decodeTable } from '../../../src/formats/reference/element-codec.js';
import { storedElement } from '../../../src/formats/quantized.js';
import { WASM_MATMUL_BOUND, createWasmBackend } from '../../../src/kernels/wasm/index.js';
import { matmulDecodeOf } from '../../../src/kernels/wasm/params.js';
import { CONFIGS, rng } from './helpers.js';

function randomMatrix(n: number, seed: number): Float32Array {
  const next = rng(seed);
  return Float32Array.from({ length: n }, () => (next() - 0.5) * 2 ** Math.floor(next() * 6 - 3));
}

/** Largest |y − exact| / Σ|a·w|, with NaN outputs required exactly where the float64 sum is NaN. */
async function check(b: Backend, a: Float32Array, w: ReturnType<typeof quantize>, m: number): Promise<number> {
  const y = (await b.matmul(a, w, { m })) as Float32Array;
  const [N, K] = w.shape as [number, number];
  const wv = (await referenceBackend.dequantize(w)) as Float32Array;
  let worst = 0;
  for (let i = 0; i < m; i++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      let abs = 0;
      for (let k = 0; k < K; k++) {
        s += a[i * K + k]! * wv[n * K + k]!;
        abs += Math.abs(a[i * K + k]! * wv[n * K + k]!);
      }
      const got = y[i * N + n]!;
      if (!Number.isFinite(s)) expect(got, `y[${i}, ${n}]`).toBe(Math.fround(s));
      else if (abs > 0) worst = Math.max(worst, Math.abs(got - s) / abs);
      else expect(got).toBe(0);
    }
  }
  return worst;
}

describe('wasm: matmul register decoding', () => {
  it('admits exactly the elements whose every code matches the decode rule', () => {
    const modeOf = (name: string) => {
      const el = storedElement(getFormat(name), 'ocp');
      return matmulDecodeOf(el, decodeTable(el))?.mode ?? 0;
    };
    expect(modeOf('mxfp4')).toBe(1);
    expect(modeOf('mxint8')).toBe(2);
    expect(modeOf('mxfp8_e4m3')).toBe(3);
    expect(modeOf('mxfp8_e5m2')).toBe(3);
    expect(modeOf('mxfp6_e3m2')).toBe(0);
    const e4m3 = storedElement(getFormat('mxfp8_e4m3'), 'ocp');
    expect(matmulDecodeOf(e4m3, decodeTable(e4m3))?.special).toBe(0x7f);
    const e5m2 = storedElement(getFormat('mxfp8_e5m2'), 'ocp');
    expect(matmulDecodeOf(e5m2, decodeTable(e5m2))?.special).toBe(0x7c);
    // one wrong table entry disables the rule
    const bad = Float64Array.from(decodeTable(e4m3));
    bad[5] = 1;
    expect(matmulDecodeOf(e4m3, bad)).toBeNull();
  });
});

for (const cfg of CONFIGS) {
  describe(`wasm ${cfg.label}: matmul fast paths`, () => {
    let b: Backend;
    beforeAll(async () => {
      b = await createWasmBackend(cfg.options);
    });
    afterAll(async () => {
      await b.dispose();
    });

    it('NaN, ±Inf, extreme scales and −0 in w follow the float64 sum (GEMV and GEMM shapes)', async () => {
      const N = 9;
      const K = 320;
      for (const name of ['mxfp4', 'mxint8', 'mxfp8_e4m3', 'mxfp8_e5m2']) {
        const wx = randomMatrix(N * K, 3);
        wx[5] = NaN; // row 0: NaN scale
        wx[K + 40] = Infinity; // row 1: non-finite block
        for (let k = 0; k < 32; k++) wx[2 * K + k] = 2 ** -140 * (k + 1); // row 2: smallest scales
        for (let k = 0; k < 32; k++) wx[3 * K + 64 + k] = 2 ** 120 * (k % 3); // row 3: large scales
        wx[4 * K + 7] = -0;
        const w = quantize(wx, name, { shape: [N, K] });
        for (const m of [1, 2, 5]) {
          const a = randomMatrix(m * K, 7 + m);
          expect(await check(b, a, w, m), `${name} m=${m}`).toBeLessThanOrEqual(WASM_MATMUL_BOUND);
        }
      }
      // NaN/Inf element codes inside blocks (e5m2 keeps Inf, e4m3 its NaN code via a NaN scale row)
      const we = quantize(Float32Array.from({ length: 4 * 64 }, (_, i) => (i === 70 ? -Infinity : Math.sin(i))), 'mxfp8_e5m2', { shape: [4, 64] });
      expect(await check(b, randomMatrix(64, 11), we, 1)).toBeLessThanOrEqual(WASM_MATMUL_BOUND);
    });

    it('GEMM tiles with odd m, odd N and K not a multiple of 4 or of KC', async () => {
      for (const [m, N, K] of [
        [4, 2, 128],
        [7, 5, 131],
        [9, 11, 300],
        [5, 3, 1],
      ] as const) {
        const w = quantize(randomMatrix(N * K, m + N), 'mxfp8_e4m3', { shape: [N, K] });
        expect(await check(b, randomMatrix(m * K, K), w, m), `m=${m} N=${N} K=${K}`).toBeLessThanOrEqual(WASM_MATMUL_BOUND);
      }
    });

    it('cached weights: repeated calls agree, and a different tensor is not confused with a cached one', async () => {
      const w1 = quantize(randomMatrix(8 * 64, 21), 'mxfp4', { shape: [8, 64] });
      const w2 = quantize(randomMatrix(8 * 64, 22), 'mxfp4', { shape: [8, 64] });
      const a = randomMatrix(64, 23);
      const y1 = Array.from((await b.matmul(a, w1, { m: 1 })) as Float32Array);
      const y2 = Array.from((await b.matmul(a, w2, { m: 1 })) as Float32Array);
      expect(y1).not.toEqual(y2);
      expect(Array.from((await b.matmul(a, w1, { m: 1 })) as Float32Array)).toEqual(y1);
      expect(Array.from((await b.matmul(a, w2, { m: 1 })) as Float32Array)).toEqual(y2);
      // a quantize and dequantize in between reuse the per-call zone only
      await b.dequantize(quantize(randomMatrix(4096, 24), 'mxfp8_e4m3'));
      expect(Array.from((await b.matmul(a, w1, { m: 1 })) as Float32Array)).toEqual(y1);
    });
  });
}
