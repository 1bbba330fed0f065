// llama.cpp itself judges microscale's GGUF output: (a) every written type loads and evaluates,
// (b) a model whose only quantized tensor is token_embd gives next-token probabilities identical to
// an F32 model holding microscale's dequantize() of it, (c) the blocks equal llama.cpp's own
// quantizer byte for byte. llama.cpp runs in child processes (a bad file can abort the process).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWhen } from '../helpers/needs.js';
import { bytesSource } from '../../src/bdr-explorer/readers/source.js';
import { readGgufHeader } from '../../src/bdr-explorer/readers/gguf.js';
import { dequantize, fromGgmlBlocks, quantize } from '../../src/index.js';
import { quantizeModelTo, type QuantizeModelOptions } from '../../src/model-io/index.js';
import { llamaBinaries } from '../helpers/llama-cpp.js';
import { TINY, tinyLlamaGguf, tinyLlamaTensors } from '../helpers/tiny-llama.js';

const here = dirname(fileURLToPath(import.meta.url));
const evalScript = join(here, '../helpers/llama-eval.mjs');

const bins = llamaBinaries();
const skip = 'skip' in bins ? bins.skip : null;
if (skip) console.warn(`llama.cpp tests skipped: ${skip}`);

/** A prompt: BOS, a few byte tokens, a few word tokens. */
const PROMPT = [1, 3 + 0x41, 3 + 0x62, 300, 301, 310];

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'microscale-llama-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function quantizeBytes(input: Uint8Array, opts: QuantizeModelOptions): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  await quantizeModelTo(input, { write: (c) => void parts.push(c.slice()) }, { kind: 'gguf', ...opts });
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Next-token probabilities of each model (by path) after each PROMPT token, from llama.cpp. */
function evaluate(paths: string[]): Record<string, number[][]> {
  const r = spawnSync(process.execPath, [evalScript, PROMPT.join(','), ...paths], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, NODE_LLAMA_CPP_SKIP_DOWNLOAD: 'true' } });
  if (r.status !== 0) throw new Error(`llama.cpp child exited with ${r.status ?? r.signal}:\n${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, number[][]>;
}

/** Largest |p − q| over every position and token. */
function maxDiff(p: number[][], q: number[][]): number {
  let m = 0;
  for (let i = 0; i < p.length; i++) for (let t = 0; t < p[i]!.length; t++) m = Math.max(m, Math.abs(p[i]![t]! - q[i]![t]!));
  return m;
}

const source = tinyLlamaGguf();

/** Every format the GGUF writer takes, with the ggml type id it writes and how far (max |Δp|)
 * its next-token probabilities may stray from the F32 model's on this random model (about twice
 * what was measured: 2.3e-4 fp16 … 7e-2 nvfp4). */
const TYPES: [format: string, typeId: number, tolerance: number][] = [
  ['fp32', 0, 1e-6],
  ['fp16', 1, 1e-3],
  ['bf16', 30, 5e-3],
  ['q8_0', 8, 1e-2],
  ['q5_0', 6, 4e-2],
  ['q5_1', 7, 4e-2],
  ['q4_0', 2, 8e-2],
  ['q4_1', 3, 8e-2],
  ['ggml_mxfp4', 39, 0.1],
  ['mxfp4', 39, 0.1],
  ['ggml_nvfp4', 40, 0.12],
  // without its .scale tensor applied, every nvfp4 weight would be off by a factor 2688 / max|w|
  ['nvfp4', 40, 0.15],
];

describeWhen('llama.cpp loads and evaluates every type microscale writes', skip === null ? null : { what: skip, install: 'npm ci (node-llama-cpp and @node-llama-cpp/linux-x64 are devDependencies)' }, () => {
  it('(a) each model loads, evaluates to a distribution, and stays near the F32 model', async () => {
    const f32Path = join(dir, 'f32.gguf');
    writeFileSync(f32Path, source);
    const paths: string[] = [];
    for (const [format, typeId] of TYPES) {
      const out = await quantizeBytes(source, { format });
      const header = await readGgufHeader(bytesSource(out));
      const q = header.tensors.find((t) => t.name === 'blk.0.ffn_down.weight')!;
      expect(q.typeId, format).toBe(typeId);
      if (format === 'nvfp4') {
        // OCP NVFP4's per-tensor scale travels in the .scale tensor llama.cpp applies after the matmul
        const scale = header.tensors.find((t) => t.name === 'blk.0.ffn_down.scale');
        expect(scale?.typeId).toBe(0);
        expect(scale?.dims).toEqual([1]);
      }
      const path = join(dir, `${format}.gguf`);
      writeFileSync(path, out);
      paths.push(path);
    }
    // mixed precision from a plan: four ggml types in one file
    const mixed = await quantizeBytes(source, { format: 'q4_0', plan: { attn_: 'ggml_mxfp4', ffn_down: 'q8_0', '^output\\.': 'q5_1', token_embd: 'ggml_nvfp4' } });
    const mixedTypes = new Set((await readGgufHeader(bytesSource(mixed))).tensors.map((t) => t.typeId));
    expect([...mixedTypes].sort((a, b) => a - b)).toEqual([0, 2, 7, 8, 39, 40]);
    const mixedPath = join(dir, 'mixed.gguf');
    writeFileSync(mixedPath, mixed);
    const results = evaluate([f32Path, ...paths, mixedPath]);
    const reference = results[f32Path]!;
    expect(maxDiff(results[mixedPath]!, reference)).toBeLessThan(0.15);
    TYPES.forEach(([format, , tolerance], i) => {
      const p = results[paths[i]!]!;
      expect(p.length, format).toBe(PROMPT.length);
      for (const row of p) {
        expect(row.every((v) => Number.isFinite(v) && v >= 0), format).toBe(true);
        expect(Math.abs(row.reduce((a, b) => a + b, 0) - 1), format).toBeLessThan(1e-3);
      }
      expect(maxDiff(p, reference), format).toBeLessThan(tolerance);
    });
  });

  it('(b) a quantized token_embd gives probabilities identical to an F32 model holding its dequantize()', async () => {
    const formats = ['q8_0', 'q4_0', 'q4_1', 'q5_0', 'q5_1', 'ggml_mxfp4', 'ggml_nvfp4', 'mxfp4'];
    const tensors = tinyLlamaTensors();
    const embd = tensors.find((t) => t.name === 'token_embd.weight')!;
    const pairs: [string, string][] = [];
    for (const format of formats) {
      const quantized = await quantizeBytes(source, { format, tensors: '^token_embd\\.weight$' });
      const header = await readGgufHeader(bytesSource(quantized));
      const info = header.tensors.find((t) => t.name === 'token_embd.weight')!;
      expect(header.tensors.filter((t) => t.typeId !== 0).map((t) => t.name)).toEqual(['token_embd.weight']);
      // microscale's own dequantize of what it quantized (not of bytes read back)
      const q = quantize(embd.data, format, { shape: embd.shape, ...(format.startsWith('q') || format.startsWith('ggml_') ? { preset: 'ggml' as const } : {}) });
      const values = dequantize(q);
      // and the bytes in the file decode to the same values
      const stored = quantized.subarray(info.fileOffset, info.fileOffset + info.byteLength);
      const ggmlName = format === 'mxfp4' ? 'ggml_mxfp4' : format;
      // (ggml reads OCP mxfp4's E2M1 code 8, −0, as +0)
      expect(dequantize(fromGgmlBlocks(stored, ggmlName, embd.shape))).toEqual(format === 'mxfp4' ? values.map((v) => v + 0) : values);
      const reference = tinyLlamaGguf(tensors.map((t) => (t === embd ? { ...t, data: values } : t)));
      const qPath = join(dir, `embd-${format}.gguf`);
      const rPath = join(dir, `embd-${format}-dequantized-f32.gguf`);
      writeFileSync(qPath, quantized);
      writeFileSync(rPath, reference);
      pairs.push([qPath, rPath]);
    }
    const results = evaluate(pairs.flat());
    for (const [qPath, rPath] of pairs) {
      expect(results[qPath], qPath).toEqual(results[rPath]);
    }
  });
});

/** Builds the helper that calls llama.cpp's quantizer, or says why it cannot. */
function quantizerHelper(): { exe: string; lib: string; ggmlBase: string } | { skip: string } {
  if (skip) return { skip };
  const b = bins as { dir: string };
  const lib = readdirSync(b.dir).find((f) => /^libllama[.\w]*\.so$/.test(f));
  if (!lib) return { skip: `no libllama*.so in ${b.dir}` };
  const cc = spawnSync('cc', ['--version'], { encoding: 'utf8' });
  if (cc.error || cc.status !== 0) return { skip: 'no C compiler (cc) to build the helper that calls llama_model_quantize' };
  const exe = join(mkdtempSync(join(tmpdir(), 'microscale-llq-')), 'llama-quantize');
  const r = spawnSync('cc', ['-O1', '-o', exe, join(here, '../helpers/llama-quantize.c'), '-ldl'], { encoding: 'utf8' });
  if (r.status !== 0) return { skip: `the llama_model_quantize helper did not compile: ${r.stderr}` };
  return { exe, lib: join(b.dir, lib), ggmlBase: join(b.dir, 'libggml-base.so') };
}

const helper = skip ? { skip } : quantizerHelper();
const helperSkip = 'skip' in helper ? helper.skip : null;
afterAll(() => {
  if ('exe' in helper) rmSync(dirname(helper.exe), { recursive: true, force: true });
});
if (helperSkip && !skip) console.warn(`llama.cpp byte comparison skipped: ${helperSkip}`);

/** microscale format → llama_ftype for llama_model_quantize (pure). */
const FILE_TYPES: [format: string, ftype: number][] = [
  ['q8_0', 7],
  ['q4_0', 2],
  ['q4_1', 3],
  ['q5_0', 8],
  ['q5_1', 9],
  ['ggml_mxfp4', 38],
  ['fp16', 1],
  ['bf16', 32],
];

describeWhen("(c) microscale's blocks equal llama.cpp's quantizer byte for byte", helperSkip === null ? null : { what: helperSkip, install: 'npm ci, and a C compiler (apt-get install gcc libc6-dev)' }, () => {
  const h = helper as { exe: string; lib: string; ggmlBase: string };

  it.each(FILE_TYPES)('%s: every tensor equals llama_model_quantize (pure) output', async (format, ftype) => {
    const inPath = join(dir, `src-${format}.gguf`);
    const llamaPath = join(dir, `llama-${format}.gguf`);
    writeFileSync(inPath, source);
    const r = spawnSync(h.exe, ['model', h.lib, inPath, llamaPath, String(ftype)], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr.slice(-2000)).toBe(0);
    const theirs = readFileSync(llamaPath);
    const ours = await quantizeBytes(source, { format });
    const th = await readGgufHeader(bytesSource(theirs));
    const oh = await readGgufHeader(bytesSource(ours));
    expect(oh.tensors.map((t) => t.name).sort()).toEqual(th.tensors.map((t) => t.name).sort());
    let quantized = 0;
    for (const t of oh.tensors) {
      const u = th.tensors.find((x) => x.name === t.name)!;
      expect(t.typeId, t.name).toBe(u.typeId);
      const a = ours.subarray(t.fileOffset, t.fileOffset + t.byteLength);
      const b = theirs.subarray(u.fileOffset, u.fileOffset + u.byteLength);
      expect(Buffer.compare(Buffer.from(a), Buffer.from(b)), `${format} ${t.name}`).toBe(0);
      if (t.typeId !== 0) quantized++;
    }
    expect(quantized).toBe(2 + 7 * TINY.layers);
  });

  it('ggml_nvfp4: every 2-D tensor equals ggml_quantize_chunk (the per-tensor quantizer; llama_model_quantize has no NVFP4 file type)', async () => {
    const ours = await quantizeBytes(source, { format: 'ggml_nvfp4' });
    const oh = await readGgufHeader(bytesSource(ours));
    for (const t of tinyLlamaTensors().filter((x) => x.shape.length === 2)) {
      const f32 = join(dir, 'rows.f32');
      const out = join(dir, 'rows.bin');
      writeFileSync(f32, new Uint8Array(t.data.buffer));
      const r = spawnSync(h.exe, ['rows', h.ggmlBase, '40', String(t.shape[1]), f32, out], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const info = oh.tensors.find((x) => x.name === t.name)!;
      const mine = Buffer.from(ours.subarray(info.fileOffset, info.fileOffset + info.byteLength));
      expect(Buffer.compare(mine, readFileSync(out)), t.name).toBe(0);
    }
  });
});

