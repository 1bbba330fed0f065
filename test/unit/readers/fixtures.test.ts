// Every fixture file written by test/fixtures/make-fixtures.mjs reads back exactly: names, order,
// shapes, dtypes, and every value bit for bit (NaN and −0 included), through a Node file handle and
// through a browser Blob.
import { describe, expect, it } from 'vitest';
import { blobResolver, ModelFileError, openModel, type ModelReader } from '../../../src/bdr-explorer/readers/index.js';
import { openModelFile } from '../../../src/bdr-explorer/readers/node-source.js';
import { EXPECTED, expectedValue, fixture, fixtureBytes, mismatches, namedBlob } from './helpers.js';

const GGML_FP4 = new Set(['ggml_mxfp4', 'ggml_nvfp4']);
const TFJS_FILES = ['model.json', 'group1-shard1of2.bin', 'group1-shard2of2.bin', 'group2-shard1of1.bin'];

async function checkAgainstExpected(reader: ModelReader, file: string): Promise<void> {
  const exp = EXPECTED[file]!;
  expect(reader.format).toBe(exp.format);
  const infos = reader.tensors();
  const names = infos.map((t) => t.name);
  expect(new Set(names)).toEqual(new Set(Object.keys(exp.tensors)));
  if (exp.order) expect(names).toEqual(exp.order);
  for (const info of infos) {
    const e = exp.tensors[info.name]!;
    expect({ name: info.name, shape: [...info.shape], dtype: info.dtype, readable: info.readable }).toEqual({
      name: info.name,
      shape: e.shape,
      dtype: e.dtype,
      readable: e.readable,
    });
    expect(info.elements).toBe(e.shape.reduce((a, b) => a * b, 1));
    expect(reader.tensor(info.name)).toBe(info);
    if (e.values === null) {
      const err = await reader.read(info.name).then(
        () => null,
        (x: unknown) => x,
      );
      expect(err).toBeInstanceOf(ModelFileError);
      expect((err as ModelFileError).problem).toBe('unsupported');
      expect((err as ModelFileError).message).toContain(info.name);
      continue;
    }
    const values = await reader.read(info.name);
    expect(values).toBeInstanceOf(Float32Array);
    // ggml's kvalues table holds +0 at code 8; microscale decodes E2M1 code 8 as −0 (documented in
    // docs/formats.md), so the sign of zero is not compared for those two types.
    const zeroSign = !GGML_FP4.has(info.dtype);
    expect(mismatches(values, e.values.map(expectedValue), zeroSign), `${file}: ${info.name}`).toEqual([]);
  }
}

const files = Object.keys(EXPECTED);

describe('fixtures read back exactly', () => {
  it('covers every format', () => {
    expect(new Set(files.map((f) => EXPECTED[f]!.format))).toEqual(new Set(['safetensors', 'gguf', 'npy', 'npz', 'onnx', 'tfjs']));
  });

  for (const file of files) {
    it(`${file} through a file handle`, async () => {
      const reader = await openModelFile(fixture(file));
      try {
        await checkAgainstExpected(reader, file);
      } finally {
        await reader.close();
      }
    });

    it(`${file} through a Blob`, async () => {
      const resolve = blobResolver(TFJS_FILES.map((f) => namedBlob(fixtureBytes(f), f)));
      const reader = await openModel(namedBlob(fixtureBytes(file), file), { resolve });
      try {
        await checkAgainstExpected(reader, file);
      } finally {
        await reader.close();
      }
    });
  }

  it('reads bytes in memory when the format is given explicitly', async () => {
    const reader = await openModel(fixtureBytes('all-dtypes.safetensors'), { format: 'safetensors', name: 'mem' });
    expect(reader.file).toBe('mem');
    expect([...(await reader.read('fp4'))]).toEqual(EXPECTED['all-dtypes.safetensors']!.tensors['fp4']!.values!.map(expectedValue));
  });

  it('fails reads after close', async () => {
    const reader = await openModelFile(fixture('a_f4.npy'));
    await reader.close();
    await expect(reader.read('a_f4')).rejects.toMatchObject({ problem: 'closed' });
  });

  it('names a missing tensor', async () => {
    const reader = await openModelFile(fixture('model-v3.gguf'));
    expect(() => reader.tensor('nope')).toThrow(/no tensor named "nope"/);
    await expect(reader.read('nope')).rejects.toBeInstanceOf(ModelFileError);
    await reader.close();
  });
});
