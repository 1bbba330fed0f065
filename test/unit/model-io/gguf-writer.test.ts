import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readGgufHeader, readGgufMetadataValue, type GgufHeader } from '../../../src/bdr-explorer/readers/gguf.js';
import { openModel } from '../../../src/bdr-explorer/readers/open.js';
import { bytesSource } from '../../../src/bdr-explorer/readers/source.js';
import { EncodingError, fromGgmlBlocks, quantize, ShapeError, type QuantizedTensor } from '../../../src/index.js';
import { encodeGgufHeader, type GgufKv } from '../../../src/model-io/gguf/encode.js';
import { ggufWriter } from '../../../src/model-io/gguf/writer.js';
import { quantizeModel, quantizeModelTo, type QuantizeModelOptions } from '../../../src/model-io/index.js';
import { buildPlan } from '../../../src/model-io/plan.js';
import { rng } from '../../helpers/random.js';
import { tinyLlamaGguf, tinyLlamaTensors } from '../../helpers/tiny-llama.js';
import { concat, safetensors } from '../readers/builders.js';

async function run(input: Uint8Array, opts: QuantizeModelOptions): Promise<{ bytes: Uint8Array; header: GgufHeader }> {
  const parts: Uint8Array[] = [];
  await quantizeModelTo(input, { write: (c) => void parts.push(c.slice()) }, { kind: 'gguf', ...opts });
  const bytes = concat(parts);
  return { bytes, header: await readGgufHeader(bytesSource(bytes)) };
}

const tensorBytes = (bytes: Uint8Array, h: GgufHeader, name: string): Uint8Array => {
  const t = h.tensors.find((x) => x.name === name);
  if (!t) throw new Error(`no tensor ${name}`);
  return bytes.subarray(t.fileOffset, t.fileOffset + t.byteLength);
};

function metadataValue(bytes: Uint8Array, h: GgufHeader, key: string): Uint8Array {
  const m = h.metadata.find((x) => x.key === key)!;
  return bytes.subarray(m.valueStart, m.valueEnd);
}

/** A GGUF (F32 tensors) with the given tensors and metadata. */
function gguf(tensors: readonly { name: string; shape: readonly number[]; data: Float32Array }[], kvs: GgufKv[] = []): Uint8Array {
  const layout = encodeGgufHeader(kvs, tensors.map((t) => ({ name: t.name, dims: t.shape.slice().reverse(), typeId: 0, byteLength: t.data.byteLength })), 32);
  const out = new Uint8Array(layout.fileSize);
  out.set(layout.header);
  tensors.forEach((t, i) => out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), layout.header.length + layout.offsets[i]!));
  return out;
}

function expectSameTensor(a: QuantizedTensor, b: QuantizedTensor): void {
  expect(a.codes).toEqual(b.codes);
  expect(Array.from(a.scales)).toEqual(Array.from(b.scales));
  expect(Array.from(a.offsets)).toEqual(Array.from(b.offsets));
}

const source = tinyLlamaGguf();
const tensors = tinyLlamaTensors();

describe('GGUF in → GGUF out', () => {
  it('copies every metadata key byte for byte except general.file_type, and every kept tensor as stored', async () => {
    const sh = await readGgufHeader(bytesSource(source));
    const { bytes, header } = await run(source, { format: 'q4_0' });
    expect(header.metadata.map((m) => m.key)).toEqual(sh.metadata.map((m) => m.key));
    for (const m of sh.metadata) {
      if (m.key === 'general.file_type') continue;
      expect(metadataValue(bytes, header, m.key), m.key).toEqual(metadataValue(source, sh, m.key));
    }
    expect(new DataView(metadataValue(bytes, header, 'general.file_type').slice().buffer).getUint32(0, true)).toBe(2);
    for (const name of ['output_norm.weight', 'blk.1.ffn_norm.weight']) {
      expect(header.tensors.find((t) => t.name === name)!.typeId).toBe(0);
      expect(tensorBytes(bytes, header, name)).toEqual(tensorBytes(source, sh, name));
    }
  });

  it('metadata values decode after the copy as before it, file type aside', async () => {
    const { bytes, header } = await run(source, { format: 'q8_0' });
    const value = (key: string) => readGgufMetadataValue(bytesSource(bytes), header.metadata.find((m) => m.key === key)!);
    expect(await value('general.architecture')).toBe('llama');
    expect(await value('llama.block_count')).toBe(2);
    expect(await value('general.file_type')).toBe(7);
    expect(await value('llama.attention.layer_norm_rms_epsilon')).toBe(Math.fround(1e-5));
    const tokens = (await value('tokenizer.ggml.tokens')) as string[];
    expect(tokens).toHaveLength(320);
    expect(tokens.slice(0, 4)).toEqual(['<unk>', '<s>', '</s>', '<0x00>']);
    expect(((await value('tokenizer.ggml.token_type')) as number[]).slice(0, 4)).toEqual([2, 3, 3, 6]);
  });

  it('lays tensor data out contiguously in info order at aligned offsets', async () => {
    const { bytes, header } = await run(source, { format: 'q5_1' });
    let end = 0;
    for (const t of header.tensors) {
      expect(t.offset % header.alignment).toBe(0);
      expect(t.offset).toBe(Math.ceil(end / header.alignment) * header.alignment);
      end = t.offset + t.byteLength;
    }
    expect(bytes.length).toBe(header.dataStart + Math.ceil(end / header.alignment) * header.alignment);
  });

  it.each(['q8_0', 'q4_0', 'q4_1', 'q5_0', 'q5_1', 'ggml_mxfp4', 'ggml_nvfp4'])('%s: reading the blocks back gives the QuantizedTensor quantize() made', async (format) => {
    const { bytes, header } = await run(source, { format });
    for (const t of tensors.filter((x) => x.shape.length === 2)) {
      const back = fromGgmlBlocks(tensorBytes(bytes, header, t.name), format, t.shape);
      expectSameTensor(back, quantize(t.data, format, { shape: t.shape, preset: 'ggml' }));
    }
  });

  it('OCP mxfp4 and nvfp4 are re-laid into ggml blocks with the same codes and scales; nvfp4 adds its FP32 tensor scale as <name>.scale', async () => {
    for (const [format, ggml] of [['mxfp4', 'ggml_mxfp4'], ['nvfp4', 'ggml_nvfp4']] as const) {
      const { bytes, header } = await run(source, { format });
      const t = tensors.find((x) => x.name === 'blk.0.attn_v.weight')!;
      const q = quantize(t.data, format, { shape: t.shape });
      const back = fromGgmlBlocks(tensorBytes(bytes, header, t.name), ggml, t.shape);
      // the blocks hold the OCP codes unchanged; ggml reads E2M1 code 8 (−0) as code 0 (+0)
      const asGgmlReads = q.codes.map((b) => ((b & 0x0f) === 8 ? b & 0xf0 : b)).map((b) => (b >> 4 === 8 ? b & 0x0f : b));
      expect(back.codes).toEqual(asGgmlReads);
      expect(Array.from(back.scales)).toEqual(Array.from(q.scales));
      if (format === 'nvfp4') {
        const s = new Float32Array(tensorBytes(bytes, header, 'blk.0.attn_v.scale').slice().buffer);
        expect(Array.from(s)).toEqual([q.tensorScale]);
        // token_embd has no .scale slot in llama.cpp: kept, not silently changed
        expect(header.tensors.find((x) => x.name === 'token_embd.weight')!.typeId).toBe(0);
        expect(header.tensors.some((x) => x.name === 'token_embd.scale')).toBe(false);
      }
    }
  });

  it('sets general.file_type to the type holding most quantized elements', async () => {
    const fileType = async (opts: QuantizeModelOptions) => {
      const { bytes, header } = await run(source, opts);
      return new DataView(metadataValue(bytes, header, 'general.file_type').slice().buffer).getUint32(0, true);
    };
    expect(await fileType({ format: 'q8_0' })).toBe(7);
    expect(await fileType({ format: 'ggml_mxfp4' })).toBe(38);
    expect(await fileType({ format: 'nvfp4' })).toBe(39);
    expect(await fileType({ format: 'bf16' })).toBe(32);
    expect(await fileType({ format: 'q4_0', plan: { 'token_embd|output\\.': 'q8_0' } })).toBe(2);
  });

  it('reports what it quantized and what it kept', async () => {
    const { summary } = await quantizeModel(source, { outputName: 'x.gguf', format: 'q4_0', exclude: 'output\\.weight' });
    expect(summary.kind).toBe('gguf');
    expect(summary.quantized).toContain('blk.0.attn_q.weight');
    expect(summary.kept).toContainEqual({ name: 'output.weight', reason: 'matched by --exclude' });
    expect(summary.kept).toContainEqual({ name: 'output_norm.weight', reason: '1-D (norm, bias or scale)' });
  });

  it('refuses an NVFP4 token_embd that doubles as the output layer (llama.cpp aborts on it)', async () => {
    const untied = gguf(tensors.filter((t) => t.name !== 'output.weight'), [{ key: 'general.architecture', value: { type: 'string', value: 'llama' } }]);
    const { header } = await run(untied, { format: 'ggml_nvfp4' });
    expect(header.tensors.find((t) => t.name === 'token_embd.weight')!.typeId).toBe(0);
    expect(header.tensors.find((t) => t.name === 'blk.0.attn_q.weight')!.typeId).toBe(40);
  });
});

describe('other inputs → a generic GGUF', () => {
  it('writes the tensors with metadata naming the source, plain dtypes exactly', async () => {
    const w = new Float32Array(64 * 32).map((_, i) => Math.sin(i));
    const b = new Uint16Array([0x3f80, 0xc000, 0x7f80, 0x0001]);
    const data = concat([new Uint8Array(w.buffer), new Uint8Array(b.buffer)]);
    const st = safetensors({ 'layer.weight': { dtype: 'F32', shape: [32, 64], data_offsets: [0, w.byteLength] }, 'layer.bias': { dtype: 'BF16', shape: [4], data_offsets: [w.byteLength, data.length] } }, data);
    const { bytes, header } = await run(st, { format: 'q8_0', open: { name: 'model.safetensors' } });
    const reader = await openModel(bytes);
    expect(reader.tensors().map((t) => [t.name, t.dtype])).toEqual([['layer.weight', 'q8_0'], ['layer.bias', 'bf16']]);
    expect(tensorBytes(bytes, header, 'layer.bias')).toEqual(new Uint8Array(b.buffer));
    const text = new TextDecoder().decode(bytes.subarray(0, header.metadataEnd));
    expect(text).toContain('microscale.source.format');
    expect(text).toContain('model.safetensors');
    expectSameTensor(fromGgmlBlocks(tensorBytes(bytes, header, 'layer.weight'), 'q8_0', [32, 64]), quantize(w, 'q8_0', { shape: [32, 64], preset: 'ggml' }));
  });
});

describe('other inputs: kept dtypes', () => {
  const st = (i64: bigint[]) => {
    const ints = new BigInt64Array(i64);
    const f64 = new Float64Array([0.1, -2.5]);
    const scalar = new Float32Array([3.5]);
    const data = concat([new Uint8Array(ints.buffer), new Uint8Array(f64.buffer), new Uint8Array(scalar.buffer)]);
    const a = ints.byteLength;
    const b = a + f64.byteLength;
    return safetensors({ ids: { dtype: 'I64', shape: [i64.length], data_offsets: [0, a] }, x: { dtype: 'F64', shape: [2], data_offsets: [a, b] }, s: { dtype: 'F32', shape: [], data_offsets: [b, data.length] } }, data);
  };

  it('integers go to GGUF I64 exactly, f64 to F32 (rounded, and said so), scalars to one element', async () => {
    const parts: Uint8Array[] = [];
    const summary = await quantizeModelTo(st([1n, -7n, 16777215n]), { write: (c) => void parts.push(c.slice()) }, { kind: 'gguf', format: 'q8_0' });
    const bytes = concat(parts);
    const header = await readGgufHeader(bytesSource(bytes));
    expect(header.tensors.map((t) => [t.name, t.typeId, t.dims])).toEqual([['ids', 27, [3]], ['x', 0, [2]], ['s', 0, [1]]]);
    expect(Array.from(new BigInt64Array(tensorBytes(bytes, header, 'ids').slice().buffer))).toEqual([1n, -7n, 16777215n]);
    expect(Array.from(new Float32Array(tensorBytes(bytes, header, 'x').slice().buffer))).toEqual([Math.fround(0.1), -2.5]);
    expect(summary.kept.find((k) => k.name === 'x')!.reason).toMatch(/f64 stored as F32 \(rounded to nearest\)/);
    expect(summary.kept.find((k) => k.name === 'ids')!.reason).toMatch(/i64 holds integers, not weights; i64 stored as GGUF i64/);
  });

  it('an integer that float32 may have rounded (2^24 or more) is refused, naming tensor and element', async () => {
    await expect(run(st([5n, 1n << 25n]), { format: 'q8_0' })).rejects.toThrow(/tensor "ids": element 1 is 33554432; .* exact only below 2\^24/);
  });
});

describe('what llama.cpp refuses is refused, naming tensor and block', () => {
  const one = (data: Float32Array, shape = [2, 64]) => gguf([{ name: 'w', shape, data }]);

  it('a Q4_1/Q5_1 block whose minimum is below −65504 (its FP16 offset would be −Inf)', async () => {
    const data = new Float32Array(128).fill(1);
    data[70] = -70000;
    for (const format of ['q4_1', 'q5_1']) {
      await expect(run(one(data), { format })).rejects.toThrow(/tensor "w" block 2 \(row 1, elements 0…31\): the FP16 minimum \(offset\) is not finite/);
    }
  });

  it('a Q8_0 block too large for its FP16 scale', async () => {
    const data = new Float32Array(128);
    data[5] = 1e10;
    await expect(run(one(data), { format: 'q8_0' })).rejects.toThrow(/tensor "w" block 0 .*FP16 scale is not finite/);
  });

  it('NaN and Inf inputs', async () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      const data = new Float32Array(128);
      data[100] = bad;
      await expect(run(one(data), { format: 'ggml_mxfp4' })).rejects.toThrow(EncodingError);
      await expect(run(one(data), { format: 'nvfp4' })).rejects.toThrow(/tensor "w" block 1 \(row 1, elements 0…63\): element 100 is/);
    }
  });

  it('formats GGUF has no type for, and rows that are not whole blocks, before any byte is written', async () => {
    const src = one(new Float32Array(128));
    await expect(run(src, { format: 'mx6' })).rejects.toThrow(/GGUF has no ggml type for mx6; GGUF output takes/);
    const odd = gguf([{ name: 'w', shape: [2, 40], data: new Float32Array(80) }]);
    const reader = await openModel(odd);
    const plan = [{ name: 'w', format: 'q4_0', options: { preset: 'ggml' as const } }];
    let wrote = 0;
    const ctx = { reader, source: bytesSource(odd), plan };
    await expect(ggufWriter.check(ctx)).rejects.toThrow(/tensor "w": rows of 40 elements are not whole 32-element q4_0 blocks/);
    await expect(ggufWriter.write(ctx, { write: () => void wrote++ })).rejects.toThrow(ShapeError);
    expect(wrote).toBe(0);
    // through buildPlan the same tensor is kept, with the reason
    expect(buildPlan(reader.tensors(), { format: 'q4_0' })[0]!.reason).toMatch(/rows of 40 elements are not whole 32-element q4_0 blocks/);
  });

  it('a plan that does not match the source', async () => {
    const src = one(new Float32Array(128));
    const reader = await openModel(src);
    await expect(ggufWriter.check({ reader, source: bytesSource(src), plan: [] })).rejects.toThrow(/one entry per tensor/);
    await expect(ggufWriter.check({ reader, source: bytesSource(src), plan: buildPlan(reader.tensors(), { format: 'q8_0' }), layout: 'gpt-oss' })).rejects.toThrow(/GGUF has one layout/);
  });
});

describe('fuzzed writer inputs', () => {
  const FORMATS = ['q8_0', 'q4_0', 'q4_1', 'q5_0', 'q5_1', 'ggml_mxfp4', 'ggml_nvfp4', 'mxfp4', 'nvfp4', 'fp16', 'bf16'];
  it('odd shapes, empty tensors and NaN: a readable file or a clear error, never a crash', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...FORMATS),
        fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 0, max: 4 }),
        fc.integer({ min: 1, max: 2 ** 31 }),
        fc.boolean(),
        async (format, outer, rowBlocks, seed, withNaN) => {
          const row = rowBlocks === 4 ? 40 : rowBlocks * 64;
          const shape = [...outer, row];
          const n = shape.reduce((a, b) => a * b, 1);
          const r = rng(seed);
          const data = new Float32Array(n).map(() => (r() - 0.5) * 8);
          if (withNaN && n > 0) data[Math.floor(r() * n)] = NaN;
          const src = gguf([{ name: 't', shape, data }]);
          let out;
          try {
            out = await run(src, { format });
          } catch (e) {
            expect(e).toBeInstanceOf(EncodingError);
            expect((e as Error).message).toMatch(/tensor "t" block \d+/);
            return;
          }
          const reader = await openModel(out.bytes);
          const back = await reader.read('t');
          expect(back.length).toBe(n);
          if (!withNaN || n === 0) expect(back.every(Number.isFinite) || format === 'fp16').toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('kernels', () => {
  it('the WASM backend writes the same bytes as the reference codec, for every GGUF type', async () => {
    const { createWasmBackend } = await import('../../../src/kernels/wasm/index.js');
    const wasm = await createWasmBackend({ threads: 1 });
    try {
      for (const format of ['q8_0', 'q4_0', 'q4_1', 'q5_0', 'q5_1', 'ggml_mxfp4', 'ggml_nvfp4', 'mxfp4', 'nvfp4', 'fp16', 'bf16']) {
        const reference = await run(source, { format });
        const fast = await run(source, { format, backend: wasm });
        expect(Buffer.compare(Buffer.from(fast.bytes), Buffer.from(reference.bytes)), format).toBe(0);
      }
    } finally {
      await wasm.dispose();
    }
  });
});

describe('plain float encodings', () => {
  it('fp16 conversion equals the reference codec on every binade edge, subnormal, tie and random bit pattern', async () => {
    const { fp16Bits } = await import('../../../src/model-io/gguf/targets.js');
    const { encodeFloat } = await import('../../../src/formats/reference/element-codec.js');
    const { ELEMENTS } = await import('../../../src/formats/element.js');
    const bits = new Uint32Array(1);
    const f = new Float32Array(bits.buffer);
    const wrong: string[] = [];
    const check = (b: number) => {
      bits[0] = b;
      if (fp16Bits(bits[0]!, f[0]!) !== encodeFloat(ELEMENTS.fp16, f[0]!, 'rne', 0, 'infinity')) wrong.push(`0x${bits[0]!.toString(16)}`);
    };
    for (let e = 0; e < 256; e++) for (const m of [0, 1, 0xfff, 0x1000, 0x1001, 0x2000, 0x3000, 0x7fffff, 0x7ff000, 0x400000]) for (const s of [0, 0x80000000]) check((s | (e << 23) | m) >>> 0);
    const r = rng(7);
    for (let i = 0; i < 100_000; i++) check(Math.floor(r() * 2 ** 32));
    expect(wrong.slice(0, 10)).toEqual([]);
  });
});

describe('block laying', () => {
  it("layGgmlBlocks equals the core's toGgmlBlocks for every ggml type (random, zero, extreme and NaN-free adversarial blocks)", async () => {
    const { layGgmlBlocks } = await import('../../../src/model-io/gguf/lay.js');
    const { toGgmlBlocks } = await import('../../../src/formats/reference/ggml.js');
    const r = rng(11);
    const x = new Float32Array(6 * 256).map((_, i) => (i % 97 === 0 ? 0 : (r() - 0.5) * 2 ** Math.floor(r() * 20 - 10)));
    x.fill(0, 256, 320);
    x.fill(-3, 512, 576);
    for (const format of ['q8_0', 'q4_0', 'q4_1', 'q5_0', 'q5_1', 'ggml_mxfp4', 'ggml_nvfp4']) {
      const q = quantize(x, format, { shape: [6, 256], preset: 'ggml' });
      expect(Buffer.compare(Buffer.from(layGgmlBlocks(q)), Buffer.from(toGgmlBlocks(q))), format).toBe(0);
    }
  });
});

describe('options GGUF cannot take', () => {
  it('a block size other than ggml MXFP4/NVFP4 blocks hold is refused before any byte', async () => {
    const reader = await openModel(source);
    const plan = buildPlan(reader.tensors(), { format: 'mxfp4', blockSize: 16 });
    let wrote = 0;
    await expect(ggufWriter.write({ reader, source: bytesSource(source), plan }, { write: () => void wrote++ })).rejects.toThrow(/ggml mxfp4 blocks hold 32-element mxfp4 blocks; drop --block-size 16/);
    expect(wrote).toBe(0);
  });
});
