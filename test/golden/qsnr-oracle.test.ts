// QSNR of every format on the same data agrees with our independent numpy oracle
// (test/oracle/qsnr_oracle.py) to 0.01 dB.
import { expect, it } from 'vitest';
import { fakeQuantize, type QuantizeOptions } from '../../src/index.js';
import { gaussian, laplace, studentT } from '../../src/bdr-explorer/synthetic.js';
import { describeWhen, missingNumpy } from '../helpers/needs.js';
import { oracleLabels, runOracle } from '../oracle/run.js';

const N = 1 << 16;

const OURS: Record<string, [string, QuantizeOptions]> = {
  int8_tensor: ['int8_tensor', {}],
  int8_channel_1024: ['int8_channel', { shape: [N / 1024, 1024] }],
  fp8_e4m3_tensor: ['fp8_e4m3_tensor', {}],
  fp8_e5m2_tensor: ['fp8_e5m2_tensor', {}],
  msfp16: ['msfp16', {}],
  msfp12: ['msfp12', {}],
  mx9: ['mx9', {}],
  mx6: ['mx6', {}],
  mx4: ['mx4', {}],
  mxfp8_e4m3: ['mxfp8_e4m3', {}],
  mxfp8_e5m2: ['mxfp8_e5m2', {}],
  mxfp6_e3m2: ['mxfp6_e3m2', {}],
  mxfp6_e2m3: ['mxfp6_e2m3', {}],
  mxfp4: ['mxfp4', {}],
  mxfp4_ceil: ['mxfp4', { scaleMode: 'ceil' }],
  mxfp4_even: ['mxfp4', { scaleMode: 'even' }],
  mxfp4_rceil: ['mxfp4', { scaleMode: 'rceil' }],
  mxint8: ['mxint8', {}],
  nvfp4: ['nvfp4', {}],
  q8_0: ['q8_0', { preset: 'ggml' }],
  q5_1: ['q5_1', { preset: 'ggml' }],
  q5_0: ['q5_0', { preset: 'ggml' }],
  q4_1: ['q4_1', { preset: 'ggml' }],
  q4_0: ['q4_0', { preset: 'ggml' }],
  ggml_mxfp4: ['ggml_mxfp4', { preset: 'ggml' }],
};

function qsnr(x: Float32Array, q: Float32Array): number {
  let err = 0;
  let sig = 0;
  for (let i = 0; i < x.length; i++) {
    err += (x[i]! - q[i]!) ** 2;
    sig += x[i]! ** 2;
  }
  return err === 0 ? Infinity : -10 * Math.log10(err / sig);
}

describeWhen('QSNR against the numpy oracle test/oracle/qsnr_oracle.py', missingNumpy(), () => {
  const data = { gaussian: gaussian(N, 1), laplace: laplace(N, 2), studentT3: studentT(N, 3, 3) };
  const oracle = runOracle(data);
  it('the oracle models exactly the formats compared here', () => {
    expect(oracleLabels().sort()).toEqual(Object.keys(OURS).sort());
  });
  for (const [label, [name, opts]] of Object.entries(OURS)) {
    it(`${label}`, () => {
      for (const [dist, x] of Object.entries(data)) {
        const ours = qsnr(x, fakeQuantize(x, name, opts));
        const want = oracle[dist]![label]!;
        expect(Math.abs(ours - want), `${label} on ${dist}: ours ${ours.toFixed(4)} oracle ${want.toFixed(4)}`).toBeLessThan(0.01);
      }
    });
  }
});
