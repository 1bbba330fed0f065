// QSNR of every format on shared data agrees with the spec's numpy oracle to 0.01 dB.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fakeQuantize, type QuantizeOptions } from '../../src/index.js';
import { gaussian, laplace, studentT } from '../../src/bdr-explorer/synthetic.js';

const ORACLE_DIR = fileURLToPath(new URL('../../../shared/spec/oracle/', import.meta.url));
const SCRIPT = fileURLToPath(new URL('../oracle/qsnr_oracle.py', import.meta.url));
const PYTHON = '/usr/bin/python3';
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

const haveOracle = existsSync(PYTHON) && (() => {
  try {
    execFileSync(PYTHON, ['-c', 'import numpy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!haveOracle)('QSNR against ../shared/spec/oracle/ref_qsnr.py (needs python3-numpy)', () => {
  const data = { gaussian: gaussian(N, 1), laplace: laplace(N, 2), studentT3: studentT(N, 3, 3) };
  const dir = mkdtempSync(join(tmpdir(), 'microscale-qsnr-'));
  const files = Object.entries(data).map(([k, x]) => {
    const f = join(dir, `${k}.f32`);
    writeFileSync(f, new Uint8Array(x.buffer));
    return [k, f, x] as const;
  });
  const oracle = haveOracle
    ? (JSON.parse(execFileSync(PYTHON, [SCRIPT, ORACLE_DIR, ...files.map((f) => f[1])], { encoding: 'utf8' })) as Record<string, Record<string, number>>)
    : {};
  for (const [label, [name, opts]] of Object.entries(OURS)) {
    it(`${label}`, () => {
      for (const [dist, file, x] of files) {
        const ours = qsnr(x, fakeQuantize(x, name, opts));
        const want = oracle[file]![label]!;
        expect(Math.abs(ours - want), `${label} on ${dist}: ours ${ours.toFixed(4)} oracle ${want.toFixed(4)}`).toBeLessThan(0.01);
      }
    });
  }
});
