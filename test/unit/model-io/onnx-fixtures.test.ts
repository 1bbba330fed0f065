// The ONNX writer on the readers' fixture graph.onnx: raw_data, float_data (packed and not), f16 in
// int32_data, duplicate names (#2), Constant nodes in If/Loop bodies, and a tensor in external data.
import { describe, expect, it } from 'vitest';
import { dequantize, quantize } from '../../../src/formats/api.js';
import { openModel } from '../../../src/bdr-explorer/readers/open.js';
import { onnxWriter } from '../../../src/model-io/onnx/writer.js';
import { fixtureBytes } from '../readers/helpers.js';
import { planFor, runWriter } from './helpers.js';

describe('ONNX writer on the fixture graph.onnx', () => {
  it('fake-quant rewrites every readable float32 weight wherever and however it is stored; the rest reads back unchanged', async () => {
    const bytes = fixtureBytes('graph.onnx');
    const src = await openModel(bytes, { name: 'graph.onnx' });
    const plan = await planFor(bytes, () => ({ format: 'fp8_e4m3' }), 'graph.onnx');
    const { out, summary } = await runWriter(onnxWriter, bytes, plan, 'fake-quant', 'graph.onnx');
    expect(summary.kept.find((k) => k.name === 'c_nested')!.reason).toMatch(/this one is f16/);
    const written = await openModel(out, { name: 'out.onnx' });
    expect(written.tensors().map((t) => [t.name, t.dtype, t.shape])).toEqual(src.tensors().map((t) => [t.name, t.dtype, t.shape]));
    const rewritten = ['w_raw', 'w_float_data', 'w_float_unpacked', 'c_main', 'w_float_data#2', 'c_then', 'c_body1', 'c_body2'];
    for (const name of rewritten) expect(summary.quantized, name).toContain(name);
    for (const t of src.tensors()) {
      if (!t.readable) {
        expect(written.tensor(t.name).readable).toBe(false); // external data: the reference is kept as it was
        continue;
      }
      const v = await src.read(t.name);
      const want = summary.quantized.includes(t.name) ? dequantize(quantize(v, 'fp8_e4m3', { shape: t.shape })) : v;
      expect(await written.read(t.name), t.name).toEqual(want);
    }
  });
});
