import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeQuantize, type Backend, type QuantizeOptions } from '../../src/index.js';
import { createWasmBackend } from '../../src/kernels/wasm/index.js';
import { createWebGPUBackend } from '../../src/kernels/webgpu/index.js';
import { probeGpu } from '../unit/webgpu/gpu-env.js';

// The emulator's vectors, committed with their provenance (microxcaling/README.md).
const dir = fileURLToPath(new URL('./microxcaling/', import.meta.url));

interface GoldenRecord {
  id: string;
  format: string;
  block_size: number;
  rounding: 'nearest' | 'even' | 'floor';
  scale_bits: number;
  axis: number;
  shape: number[];
  flush_fp32_subnorms: boolean;
  input_hex: string[];
  output_hex: string[];
  quirks?: string[];
}

const ROUNDING = { nearest: 'rna', even: 'rne', floor: 'rtz' } as const;
const FORMAT: Record<string, string> = {
  int8: 'mxint8',
  int4: 'mxint4',
  int2: 'mxint2',
  fp8_e4m3: 'mxfp8_e4m3',
  fp8_e5m2: 'mxfp8_e5m2',
  fp6_e3m2: 'mxfp6_e3m2',
  fp6_e2m3: 'mxfp6_e2m3',
  fp4_e2m1: 'mxfp4',
  float16: 'mxfp16',
  bfloat16: 'mxbf16',
};

function load(name: string): GoldenRecord[] {
  return readFileSync(dir + name, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as GoldenRecord);
}

function hexToF32(hex: string[]): Float32Array {
  return new Float32Array(Uint32Array.from(hex, (h) => parseInt(h, 16)).buffer);
}

/** Mismatches under the golden comparison rule: bit-identical, except any NaN matches any NaN. */
function mismatches(got: Float32Array, want: string[]): string[] {
  const bits = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const bad: string[] = [];
  want.forEach((h, i) => {
    const w = parseInt(h, 16);
    const isNaN = (b: number) => (b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0;
    if (isNaN(w) && isNaN(bits[i]!)) return;
    if (bits[i] !== w) bad.push(`[${i}] got ${bits[i]!.toString(16).padStart(8, '0')} want ${h}`);
  });
  return bad;
}

function optionsOf(rec: GoldenRecord): QuantizeOptions {
  return {
    preset: 'microxcaling',
    shape: rec.shape,
    axis: rec.axis,
    blockSize: rec.block_size,
    rounding: ROUNDING[rec.rounding],
    scaleBits: rec.scale_bits,
    flushSubnormalBlocks: rec.flush_fp32_subnorms,
  };
}

function run(rec: GoldenRecord, expected: string[]): string[] {
  return mismatches(fakeQuantize(hexToF32(rec.input_hex), FORMAT[rec.format]!, optionsOf(rec)), expected);
}

describe('microxcaling golden vectors (preset: microxcaling)', () => {
  const manifest = JSON.parse(readFileSync(dir + 'manifest.json', 'utf8')) as { files: Record<string, { sha256: string; records: number }> };
  for (const [name, meta] of Object.entries(manifest.files)) {
    it(`${name} is the manifest's file (${meta.records} records)`, () => {
      expect(createHash('sha256').update(readFileSync(dir + name)).digest('hex')).toBe(meta.sha256);
      expect(load(name).length).toBe(meta.records);
    });
  }
  for (const rec of load('mx_public.jsonl')) {
    it(rec.id, () => expect(run(rec, rec.output_hex).slice(0, 5)).toEqual([]));
  }
});

// These records trigger the emulator's float32 artefacts (MICROXCALING.md §4): the preset
// reproduces the emulator's output, not the exact-arithmetic one.
describe('microxcaling quirk records: the emulator\'s float32 artefacts', () => {
  for (const rec of load('quirks_public.jsonl')) {
    it(`${rec.id} [${(rec.quirks ?? []).join(', ')}]`, () => expect(run(rec, rec.output_hex).slice(0, 5)).toEqual([]));
  }
});

// The backends reproduce the emulator too (their kernels carry the same float32 artefacts).
const gpu = await probeGpu();
const ALL = ['mx_public.jsonl', 'quirks_public.jsonl'];
const BACKENDS: [string, () => Promise<Backend>, string[]][] = [['wasm', () => createWasmBackend({ threads: 1 }), ALL]];
// (the main file takes half a minute on a software GPU; the conformance suite covers its semantics)
if (gpu.gpu) BACKENDS.push([`webgpu (${gpu.adapterName})`, () => createWebGPUBackend({ gpu: gpu.gpu! }), ['quirks_public.jsonl']]);

for (const [label, make, files] of BACKENDS) {
  describe(`microxcaling golden vectors on ${label}`, () => {
    let backend: Backend;
    beforeAll(async () => {
      backend = await make();
    });
    afterAll(async () => {
      await backend?.dispose();
    });
    for (const name of files) {
      it(`every record of ${name}`, async () => {
        const bad: string[] = [];
        for (const rec of load(name)) {
          const got = await backend.fakeQuantize(hexToF32(rec.input_hex), FORMAT[rec.format]!, optionsOf(rec));
          for (const m of mismatches(got, rec.output_hex).slice(0, 2)) bad.push(`${rec.id} ${m}`);
        }
        expect(bad.slice(0, 10)).toEqual([]);
      });
    }
  });
}
