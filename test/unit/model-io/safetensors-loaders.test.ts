// The gpt-oss, ModelOpt and compressed-tensors safetensors layouts, decoded with each loader's
// documented formula written out here (independently of the library) and compared with dequantize().
import { describe, expect, it } from 'vitest';
import { dequantize, quantize } from '../../../src/formats/api.js';
import { openModel } from '../../../src/bdr-explorer/readers/open.js';
import { bytesSource } from '../../../src/bdr-explorer/readers/source.js';
import { readSafetensorsLayout } from '../../../src/model-io/safetensors/file.js';
import { readQuantizedSafetensors } from '../../../src/model-io/safetensors/reader.js';
import { safetensorsWriter } from '../../../src/model-io/safetensors/writer.js';
import { planFor, runWriter, safetensorsFile, weights, type SourceTensor } from './helpers.js';

// gpt-oss / transformers: FP4_VALUES[nibble], element 2j in the low nibble, times 2^(scale − 127)
const FP4_VALUES = [0, 0.5, 1, 1.5, 2, 3, 4, 6, -0, -0.5, -1, -1.5, -2, -3, -4, -6];
// float8_e4m3fn: bias 7, subnormals below exponent field 1, 0x7f/0xff NaN
function e4m3(code: number): number {
  const sign = code & 0x80 ? -1 : 1;
  const e = (code >> 3) & 15;
  const m = code & 7;
  if (e === 15 && m === 7) return NaN;
  return sign * (e === 0 ? (m / 8) * 2 ** -6 : (1 + m / 8) * 2 ** (e - 7));
}

async function part(out: Uint8Array, name: string): Promise<{ shape: number[]; dtype: string; bytes: Uint8Array }> {
  const layout = await readSafetensorsLayout(bytesSource(out));
  const e = layout.entries.get(name);
  expect(e, `tensor ${name} is written`).toBeDefined();
  return { shape: e!.shape, dtype: e!.dtype, bytes: out.slice(e!.offset, e!.offset + e!.length) };
}

const f32 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset).getFloat32(0, true);

/** A small Llama-like checkpoint: fused q/k/v and gate/up projections, a norm, ids, and gpt-oss experts. */
function model(): SourceTensor[] {
  const L = 'model.layers.0.';
  const t = (name: string, shape: number[], seed: number, scale = 1): SourceTensor => ({ name, shape, values: weights(shape, seed).map((v) => v * scale) });
  return [
    t('model.embed_tokens.weight', [16, 64], 1),
    t(`${L}self_attn.q_proj.weight`, [64, 64], 2),
    t(`${L}self_attn.k_proj.weight`, [32, 64], 3, 5), // larger: sets the fused group's amax
    t(`${L}self_attn.v_proj.weight`, [32, 64], 4, 0.25),
    t(`${L}self_attn.o_proj.weight`, [64, 64], 5),
    t(`${L}mlp.gate_proj.weight`, [96, 64], 6),
    t(`${L}mlp.up_proj.weight`, [96, 64], 7, 3),
    t(`${L}mlp.down_proj.weight`, [64, 96], 8),
    t(`${L}mlp.odd_proj.weight`, [8, 40], 9),
    t(`${L}mlp.experts.gate_up_proj`, [2, 24, 64], 10),
    t(`${L}input_layernorm.weight`, [64], 11),
    { name: 'position_ids', shape: [4], raw: { dtype: 'I64', bytes: new Uint8Array(new BigInt64Array([0n, 1n, 2n, 3n]).buffer) } },
  ];
}

const everyMatrix = (format: string) => (name: string, shape: readonly number[]) => (shape.length >= 2 && !name.includes('embed') ? { format } : null);

describe('safetensors writer, gpt-oss layout (transformers mxfp4)', () => {
  it('writes <w>_blocks [..., rows, K/32, 16] and <w>_scales [..., rows, K/32] that the loader formula decodes to dequantize()', async () => {
    const tensors = model();
    const src = safetensorsFile(tensors);
    const { out, summary, checked } = await runWriter(safetensorsWriter, src, await planFor(src, everyMatrix('mxfp4')), 'gpt-oss');
    expect(checked.find((e) => e.name.endsWith('odd_proj.weight'))!.reason).toMatch(/whole 32-element blocks; the last axis has length 40/);
    expect(summary.kept.map((k) => k.name)).toContain('model.layers.0.mlp.odd_proj.weight');
    let checkedTensors = 0;
    for (const t of tensors) {
      if (!summary.quantized.includes(t.name)) continue;
      const blocks = await part(out, `${t.name}_blocks`);
      const scales = await part(out, `${t.name}_scales`);
      const K = t.shape[t.shape.length - 1]!;
      const lead = t.shape.slice(0, -1);
      expect(blocks.dtype).toBe('U8');
      expect(scales.dtype).toBe('U8');
      expect(blocks.shape).toEqual([...lead, K / 32, 16]);
      expect(scales.shape).toEqual([...lead, K / 32]);
      const decoded = new Float32Array(t.values!.length);
      for (let i = 0; i < blocks.bytes.length; i++) {
        const scale = 2 ** (scales.bytes[Math.floor(i / 16)]! - 127);
        decoded[2 * i] = FP4_VALUES[blocks.bytes[i]! & 15]! * scale;
        decoded[2 * i + 1] = FP4_VALUES[blocks.bytes[i]! >> 4]! * scale;
      }
      expect(decoded).toEqual(dequantize(quantize(t.values!, 'mxfp4', { shape: t.shape })));
      checkedTensors++;
    }
    expect(checkedTensors).toBe(8);
    expect(summary.sidecars).toEqual([
      {
        file: 'config.json',
        mergeKey: 'quantization_config',
        json: { quant_method: 'mxfp4', modules_to_not_convert: ['model.embed_tokens', 'model.layers.0.mlp.odd_proj'] },
      },
    ]);
    // kept tensors are copied as stored; the reader returns the quantized ones
    const reader = await openModel(out);
    expect(Array.from(await reader.read('position_ids'))).toEqual([0, 1, 2, 3]);
    expect(await reader.read('model.layers.0.input_layernorm.weight')).toEqual(tensors[10]!.values);
    const back = await readQuantizedSafetensors(bytesSource(out));
    expect(back.layouts).toEqual(['gpt-oss']);
    expect([...back.tensors.keys()].sort()).toEqual([...summary.quantized].sort());
    for (const name of summary.quantized) {
      const t = tensors.find((x) => x.name === name)!;
      const want = quantize(t.values!, 'mxfp4', { shape: t.shape });
      expect(back.tensors.get(name)!.codes).toEqual(want.codes);
      expect(back.tensors.get(name)!.scales).toEqual(want.scales);
    }
  });

  it('refuses formats and options gpt-oss cannot store', async () => {
    const src = safetensorsFile(model());
    const plan = await planFor(src, everyMatrix('nvfp4'));
    await expect(runWriter(safetensorsWriter, src, plan, 'gpt-oss')).rejects.toThrow(/gpt-oss stores MXFP4 only, but tensor ".*" is planned as nvfp4/);
    const axis = await planFor(src, (n, s) => (s.length === 2 && n.includes('q_proj') ? { format: 'mxfp4', options: { axis: 0 } } : null));
    await expect(runWriter(safetensorsWriter, src, axis, 'gpt-oss')).rejects.toThrow(/stores blocks along the last axis \(K\); drop the axis option/);
  });
});

describe('safetensors writer, NVFP4 layouts', () => {
  const tensors = model();
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const amaxOf = (names: string[]) => Math.max(...names.flatMap((n) => Array.from(byName.get(n)!.values!, Math.abs)));
  const L = 'model.layers.0.';
  const groups = [
    [`${L}self_attn.q_proj.weight`, `${L}self_attn.k_proj.weight`, `${L}self_attn.v_proj.weight`],
    [`${L}mlp.gate_proj.weight`, `${L}mlp.up_proj.weight`],
  ];
  const groupOf = (name: string) => groups.find((g) => g.includes(name)) ?? [name];

  it('ModelOpt: weight U8 [N, K/2], weight_scale F8_E4M3 [N, K/16], weight_scale_2 = amax/(6·448) shared by fused projections', async () => {
    const src = safetensorsFile(tensors);
    const { out, summary } = await runWriter(safetensorsWriter, src, await planFor(src, everyMatrix('nvfp4')), 'modelopt');
    expect(summary.kept.find((k) => k.name.endsWith('gate_up_proj'))!.reason).toMatch(/2-D Linear weights/);
    expect(summary.quantized.length).toBe(7);
    for (const name of summary.quantized) {
      const t = byName.get(name)!;
      const [N, K] = t.shape as [number, number];
      const w = await part(out, name);
      const s = await part(out, `${name}_scale`);
      const s2 = await part(out, `${name}_scale_2`);
      expect([w.dtype, s.dtype, s2.dtype]).toEqual(['U8', 'F8_E4M3', 'F32']);
      expect([w.shape, s.shape, s2.shape]).toEqual([[N, K / 2], [N, K / 16], []]);
      const global = f32(s2.bytes);
      expect(global).toBe(Math.fround(amaxOf(groupOf(name)) / 2688));
      const decoded = new Float32Array(N * K);
      for (let i = 0; i < N * K; i++) {
        const nibble = (w.bytes[i >> 1]! >> ((i & 1) * 4)) & 15;
        decoded[i] = FP4_VALUES[nibble]! * Math.fround(e4m3(s.bytes[Math.floor(i / 16)]!) * global);
      }
      expect(decoded, name).toEqual(dequantize(quantize(t.values!, 'nvfp4', { shape: t.shape, tensorScale: global })));
    }
    const hf = summary.sidecars!.find((c) => c.file === 'hf_quant_config.json')!.json as { quantization: Record<string, unknown> };
    expect(hf.quantization).toEqual({
      quant_algo: 'NVFP4',
      kv_cache_quant_algo: null,
      group_size: 16,
      exclude_modules: ['model.embed_tokens', 'model.layers.0.mlp.odd_proj', 'model.layers.0.mlp.experts.gate_up_proj'],
    });
    const back = await readQuantizedSafetensors(bytesSource(out));
    expect(back.layouts).toEqual(['modelopt']);
    for (const name of summary.quantized) {
      const t = byName.get(name)!;
      const want = quantize(t.values!, 'nvfp4', { shape: t.shape, tensorScale: Math.fround(amaxOf(groupOf(name)) / 2688) });
      const got = back.tensors.get(name)!;
      expect([got.codes, got.scales, got.tensorScale]).toEqual([want.codes, want.scales, want.tensorScale]);
    }
  });

  it('compressed-tensors: weight_packed, weight_scale, weight_global_scale = 6·448/amax (the reciprocal), shared by fused projections', async () => {
    const src = safetensorsFile(tensors);
    const { out, summary } = await runWriter(safetensorsWriter, src, await planFor(src, everyMatrix('nvfp4')), 'compressed-tensors');
    expect(summary.quantized.length).toBe(7);
    let exact = 0;
    let total = 0;
    for (const name of summary.quantized) {
      const t = byName.get(name)!;
      const [N, K] = t.shape as [number, number];
      const w = await part(out, `${name}_packed`);
      const s = await part(out, `${name}_scale`);
      const g = await part(out, `${name}_global_scale`);
      expect([w.dtype, s.dtype, g.dtype]).toEqual(['U8', 'F8_E4M3', 'F32']);
      expect([w.shape, s.shape, g.shape]).toEqual([[N, K / 2], [N, K / 16], [1]]);
      const global = f32(g.bytes);
      // the reciprocal convention: about 2688 / amax (within float32 rounding of the two divisions)
      expect(Math.abs(global * (amaxOf(groupOf(name)) / 2688) - 1)).toBeLessThan(2 ** -22);
      for (const other of groupOf(name)) expect(f32((await part(out, `${other}_global_scale`)).bytes)).toBe(global);
      // the loader divides the block scale by the global scale; dequantize() multiplies by its reciprocal
      const ref = dequantize(quantize(t.values!, 'nvfp4', { shape: t.shape, tensorScale: Math.fround(1 / global) }));
      for (let i = 0; i < N * K; i++) {
        const nibble = (w.bytes[i >> 1]! >> ((i & 1) * 4)) & 15;
        const v = FP4_VALUES[nibble]! * Math.fround(e4m3(s.bytes[Math.floor(i / 16)]!) / global);
        const r = ref[i]!;
        expect(Math.abs(Math.fround(v) - r), `${name}[${i}]`).toBeLessThanOrEqual(Math.abs(r) * 2 ** -22);
        if (Math.fround(v) === r) exact++;
        total++;
      }
    }
    expect(exact / total).toBeGreaterThan(0.5);
    const qc = summary.sidecars!.find((c) => c.file === 'config.json')!;
    expect(qc.mergeKey).toBe('quantization_config');
    expect(qc.json).toMatchObject({
      quant_method: 'compressed-tensors',
      format: 'nvfp4-pack-quantized',
      config_groups: { group_0: { targets: ['Linear'], weights: { num_bits: 4, type: 'float', strategy: 'tensor_group', group_size: 16, symmetric: true } } },
      ignore: ['model.embed_tokens', 'model.layers.0.mlp.odd_proj', 'model.layers.0.mlp.experts.gate_up_proj'],
    });
    // round trip: the reader's tensor scale is 1 / global, the one the writer quantized with
    const back = await readQuantizedSafetensors(bytesSource(out));
    expect(back.layouts).toEqual(['compressed-tensors']);
    for (const name of summary.quantized) {
      const t = byName.get(name)!;
      const global = f32((await part(out, `${name}_global_scale`)).bytes);
      const want = quantize(t.values!, 'nvfp4', { shape: t.shape, tensorScale: Math.fround(1 / global) });
      const got = back.tensors.get(name)!;
      expect([got.codes, got.scales, got.tensorScale]).toEqual([want.codes, want.scales, want.tensorScale]);
    }
  });

  it('a tensor scale given in the plan must agree across fused projections', async () => {
    const src = safetensorsFile(tensors);
    const plan = await planFor(src, (n, s) => (s.length === 2 && n.includes('_proj') ? { format: 'nvfp4', options: n.includes('q_proj') ? { tensorScale: 0.01 } : n.includes('k_proj') ? { tensorScale: 0.02 } : {} } : null));
    await expect(runWriter(safetensorsWriter, src, plan, 'modelopt')).rejects.toThrow(/must share one tensor scale/);
  });
});
