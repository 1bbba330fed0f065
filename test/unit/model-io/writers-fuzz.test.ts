// Random inputs for every writer and layout: odd and empty shapes, scalars, NaN, ±Inf and −0. Each
// run either writes a file whose quantized tensors read back equal to quantize() and whose kept
// tensors equal the source, or fails with an error naming the tensor.
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { dequantize, listFormats, quantize } from '../../../src/formats/api.js';
import type { Format } from '../../../src/formats/format.js';
import { openModel } from '../../../src/bdr-explorer/readers/open.js';
import { bytesSource } from '../../../src/bdr-explorer/readers/source.js';
import { readQuantizedSafetensors } from '../../../src/model-io/safetensors/reader.js';
import { readSafetensorsLayout } from '../../../src/model-io/safetensors/file.js';
import { safetensorsWriter } from '../../../src/model-io/safetensors/writer.js';
import { onnxWriter } from '../../../src/model-io/onnx/writer.js';
import { rng } from '../../helpers/random.js';
import { FLOAT, f32raw, model } from './onnx-build.js';
import { planFor, runWriter, safetensorsFile, weights, type SourceTensor } from './helpers.js';

/** Bitwise float32 equality (NaN equals NaN, −0 differs from 0). */
function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i] && !(Number.isNaN(a[i]!) && Number.isNaN(b[i]!))) return false;
  return true;
}

function randomTensors(seed: number, count: number, dims: number[]): SourceTensor[] {
  const next = rng(seed);
  return Array.from({ length: count }, (_, i) => {
    const rank = Math.floor(next() * 4);
    const shape = Array.from({ length: rank }, () => dims[Math.floor(next() * dims.length)]!);
    const values = weights(shape, seed * 100 + i);
    for (let j = 0; j < values.length; j++) {
      const r = next();
      if (r < 0.01) values[j] = NaN;
      else if (r < 0.015) values[j] = -0;
      else if (r < 0.02 && i % 2) values[j] = Infinity;
    }
    return { name: `layer${i}.weight`, shape, values };
  });
}

const signedFormats = listFormats().filter((f: Format) => !(f.scheme === 'cast' && f.element.kind === 'float' && !f.element.signed) && !f.requiresWholeBlocks);
/** Scalar formats without a NaN code refuse NaN inputs (tested on its own below). */
const holdsNaN = (f: Format) => !(f.scheme === 'cast' && (f.element.kind === 'int' || f.element.nan === 'none'));
const nanFormats = signedFormats.filter(holdsNaN);
const pick = (t: SourceTensor, i: number, k: number) => (t.values!.some(Number.isNaN) ? nanFormats[(i * k) % nanFormats.length]! : signedFormats[(i * k) % signedFormats.length]!).name;

describe('safetensors writer on random inputs', () => {
  const cases: [string, (t: SourceTensor, i: number) => string][] = [
    ['microscale', (t, i) => pick(t, i, 7)],
    ['gpt-oss', () => 'mxfp4'],
    ['modelopt', () => 'nvfp4'],
    ['compressed-tensors', () => 'nvfp4'],
  ];
  for (const [index, [layout, formatOf]] of cases.entries()) {
    it(`${layout}: quantized tensors read back as quantize() made them, kept ones as stored`, async () => {
      const tensors = randomTensors(11 + index, 40, [0, 1, 3, 16, 17, 32, 48, 64]);
      const src = safetensorsFile(tensors);
      const plan = await planFor(src, (name) => {
        const i = Number(name.match(/\d+/)![0]);
        return { format: formatOf(tensors[i]!, i) };
      });
      const { out, summary } = await runWriter(safetensorsWriter, src, plan, layout);
      expect(summary.quantized.length).toBeGreaterThan(layout === 'microscale' ? 20 : 1);
      expect(summary.quantized.length + summary.kept.length).toBe(tensors.length);
      const back = await readQuantizedSafetensors(bytesSource(out));
      expect([...back.tensors.keys()].sort()).toEqual([...summary.quantized].sort());
      const reader = await openModel(out);
      for (const t of tensors) {
        const q = back.tensors.get(t.name);
        if (!q) {
          expect(sameBits(await reader.read(t.name), t.values!), t.name).toBe(true);
          continue;
        }
        const e = plan.find((p) => p.name === t.name)!;
        const want = quantize(t.values!, e.format!, { shape: t.shape, ...(q.format.tensorScale ? { tensorScale: q.tensorScale } : {}) });
        expect(q.codes, t.name).toEqual(want.codes);
        expect(q.scales, t.name).toEqual(want.scales);
        expect(sameBits(dequantize(q), dequantize(want)), t.name).toBe(true);
      }
    });
  }

  it('reports a damaged microscale file clearly', async () => {
    const src = safetensorsFile([{ name: 'w', shape: [2, 32], values: weights([2, 32], 1) }]);
    const { out } = await runWriter(safetensorsWriter, src, await planFor(src, () => ({ format: 'mxfp4' })));
    const layout = await readSafetensorsLayout(bytesSource(out));
    const parts = [...layout.entries].map(([name, e]) => ({ name, shape: e.shape, raw: { dtype: e.dtype, bytes: out.slice(e.offset, e.offset + e.length) } }));
    const meta = { ...layout.metadata };
    await expect(readQuantizedSafetensors(bytesSource(safetensorsFile(parts.filter((p) => p.name !== 'w.scales'), meta)))).rejects.toThrow(/tensor "w"\): part "w.scales" is missing/);
    await expect(readQuantizedSafetensors(bytesSource(safetensorsFile(parts, { ...meta, 'microscale.layout': '9' })))).rejects.toThrow(/layout version 9; this library reads version 1/);
    const wrong = parts.map((p) => (p.name === 'w.scales' ? { ...p, raw: { ...p.raw, dtype: 'U8' } } : p));
    const bad = { ...meta, 'microscale.tensor.w': meta['microscale.tensor.w']!.replace('"shape":[2,32]', '"shape":[4,32]') };
    await expect(readQuantizedSafetensors(bytesSource(safetensorsFile(wrong, meta)))).rejects.toThrow(/part "w.scales" is U8; expected F8_E8M0/);
    await expect(readQuantizedSafetensors(bytesSource(safetensorsFile(parts, bad)))).rejects.toThrow(/tensor "w"\).*holds 32 bytes; mxfp4 \[4, 32\] needs 64/);
  });
});

describe('ONNX writer on random inputs', () => {
  it('names the tensor and the fix when a value cannot be encoded', async () => {
    const w = Float32Array.of(1, NaN, 2, 3);
    const bytes = model({ name: 'g', nodes: [{ opType: 'Identity', inputs: ['w'], outputs: ['y'] }], initializers: [{ name: 'w', dims: [4], raw: f32raw(w) }], outputs: [['y', FLOAT, [4]]] });
    await expect(runWriter(onnxWriter, bytes, await planFor(bytes, () => ({ format: 'fp4_e2m1' }), 'g.onnx'), 'fake-quant', 'g.onnx')).rejects.toThrow(
      /tensor "w" \(fp4_e2m1\): input\[1\] = NaN: fp4_e2m1 has no NaN encoding; remove NaNs from the input or use a block format/,
    );
  });

  it('fake-quant: onnxruntime returns exactly the dequantized weights (odd, empty and scalar shapes, NaN, ±Inf)', async () => {
    const tensors = randomTensors(5, 24, [0, 1, 3, 16, 17, 32]);
    const bytes = model({
      name: 'identity',
      nodes: tensors.map((t, i) => ({ opType: 'Identity', inputs: [t.name], outputs: [`out${i}`] })),
      initializers: tensors.map((t) => ({ name: t.name, dims: t.shape, raw: f32raw(t.values!) })),
      outputs: tensors.map((t, i) => [`out${i}`, FLOAT, t.shape] as [string, number, number[]]),
    });
    const plan = await planFor(bytes, (name) => {
      const i = Number(name.match(/\d+/)![0]);
      return { format: pick(tensors[i]!, i, 5) };
    }, 'id.onnx');
    const { out, summary } = await runWriter(onnxWriter, bytes, plan, 'fake-quant', 'id.onnx');
    const session = await ort.InferenceSession.create(out);
    const results = await session.run({});
    for (const [i, t] of tensors.entries()) {
      const got = results[`out${i}`]!.data as Float32Array;
      if (!summary.quantized.includes(t.name)) {
        expect(summary.kept.find((k) => k.name === t.name)!.reason, t.name).toMatch(/scalar/);
        expect(sameBits(got, t.values!)).toBe(true);
        continue;
      }
      const e = plan.find((p) => p.name === t.name)!;
      const want = dequantize(quantize(t.values!, e.format!, { shape: t.shape }));
      expect(sameBits(got, want), `${t.name} ${e.format} [${t.shape}]`).toBe(true);
    }
  });
});
