// The minMax scale rule (int8_rowwise_affine, int4_rowwise_affine, q4_1, q5_1) on the WebGPU
// backend: it takes the GPU path, its float64-then-float32 arithmetic matches the reference on
// inputs built to tell double rounding from single rounding, and special values, stored codes of
// every kind and the general layouts equal the reference bit for bit. Skips visibly without an adapter.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QuantizedTensor, dequantize, getFormat, listFormats, quantize, type QuantizeOptions } from '../../../src/index.js';
import { resolveOptions } from '../../../src/formats/options.js';
import { fallbackReason } from '../../../src/kernels/webgpu/backend.js';
import { createWebGPUBackend, type GpuDevice, type WebGPUBackend } from '../../../src/kernels/webgpu/index.js';
import { NUMERIC_WGSL, WIDE_WGSL } from '../../../src/kernels/webgpu/wgsl/numeric.js';
import { programOf } from '../../../src/kernels/webgpu/wgsl/program.js';
import { rng } from '../../helpers/random.js';
import { compareWithReference, sameF32 } from './compare.js';
import { probeGpu } from './gpu-env.js';
import { describeWhen } from '../../helpers/needs.js';

const env = await probeGpu();
const f = Math.fround;
const MIN_MAX = ['int8_rowwise_affine', 'int4_rowwise_affine', 'q4_1', 'q5_1'];



const compare = compareWithReference;

/**
 * Float32 pairs (hi, lo, correctly rounded quotient) whose reference scale float32(float64(float64(hi − lo) / 255)) differs from
 * the correctly rounded float32 of (hi − lo)/255: hi − lo rounds in float64 to exactly 255·M with M
 * halfway between two float32 values, so the last rounding is a tie the exact quotient would not be.
 */
function doubleRoundingPairs(count: number): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (let m25 = 2 ** 24 + 1; out.length < count; m25 += 2) {
    if ((255 * m25) % 512 !== 1) continue; // only the lowest bit lies below hi's 24 bits
    const tieUp = ((m25 - 1) / 2) % 2 === 1;
    const hi = (255 * m25 - 1) * 2 ** -24;
    const lo = -(2 ** -24) * (tieUp ? 1 - 2 ** -24 : 1 + 2 ** -23); // the exact quotient lies on the other side
    if (f(hi) !== hi || f(lo) !== lo) continue;
    const mid = m25 * 2 ** -24;
    out.push([hi, lo, f(tieUp ? mid - 2 ** -40 : mid + 2 ** -40)]); // the last: correctly rounded
  }
  return out;
}

/** Run `body` (WGSL statements over a: u32, b: u32, c: u32 writing r0, r1, r2: u32) on triples. */
async function runHelpers(device: GpuDevice, body: string, a: Uint32Array, b: Uint32Array, c: Uint32Array): Promise<Uint32Array[]> {
  const n = a.length;
  const code = `${NUMERIC_WGSL}
${WIDE_WGSL}
@group(0) @binding(0) var<storage, read> ins: array<u32>;
@group(0) @binding(1) var<storage, read_write> outs: array<u32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= ${n}u) { return; }
  let a = ins[i];
  let b = ins[${n}u + i];
  let c = ins[${2 * n}u + i];
  var r0 = 0u;
  var r1 = 0u;
  var r2 = 0u;
  ${body}
  outs[i] = r0;
  outs[${n}u + i] = r1;
  outs[${2 * n}u + i] = r2;
}`;
  const STORAGE = 0x80;
  const COPY_SRC = 0x4;
  const COPY_DST = 0x8;
  const MAP_READ = 0x1;
  const input = new Uint32Array(3 * n);
  input.set(a, 0);
  input.set(b, n);
  input.set(c, 2 * n);
  const inBuf = device.createBuffer({ size: input.byteLength, usage: STORAGE | COPY_DST });
  device.queue.writeBuffer(inBuf, 0, input);
  const outBuf = device.createBuffer({ size: input.byteLength, usage: STORAGE | COPY_SRC });
  const readBuf = device.createBuffer({ size: input.byteLength, usage: MAP_READ | COPY_DST });
  const pipe = await device.createComputePipelineAsync({ layout: 'auto', compute: { module: device.createShaderModule({ code }), entryPoint: 'main' } });
  const group = device.createBindGroup({
    layout: pipe.getBindGroupLayout(0),
    entries: [
      { binding: 0, resource: { buffer: inBuf } },
      { binding: 1, resource: { buffer: outBuf } },
    ],
  });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipe);
  pass.setBindGroup(0, group);
  pass.dispatchWorkgroups(Math.ceil(n / 64));
  pass.end();
  enc.copyBufferToBuffer(outBuf, 0, readBuf, 0, input.byteLength);
  device.queue.submit([enc.finish()]);
  await readBuf.mapAsync(MAP_READ);
  const out = new Uint32Array(readBuf.getMappedRange().slice(0));
  readBuf.unmap();
  for (const buf of [inBuf, outBuf, readBuf]) buf.destroy();
  return [out.subarray(0, n), out.subarray(n, 2 * n), out.subarray(2 * n)];
}

/** Random finite float32 bit patterns: every exponent (subnormals and zeros included), both signs. */
function finiteBits(next: () => number, n: number): Uint32Array {
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    let v = Math.floor(next() * 2 ** 32) >>> 0;
    if (((v >>> 23) & 0xff) === 0xff) v ^= 0x40000000;
    if (next() < 0.03) v &= 0x80000000;
    out[i] = v;
  }
  return out;
}

const toF32 = (u: Uint32Array) => new Float32Array(u.buffer.slice(u.byteOffset, u.byteOffset + u.byteLength));

describe('which operations take the GPU path', () => {
  it('every catalog format, under every preset it accepts, takes the GPU path', () => {
    const taken: string[] = [];
    for (const format of listFormats()) {
      const n = format.ggml ? format.ggml.blockElements * 2 : 64;
      const shape = format.granularity === 'axis' ? [2, n / 2] : [n];
      for (const preset of ['ocp', 'microxcaling', 'torchao', 'ggml'] as const) {
        let resolved;
        try {
          resolved = resolveOptions(format, n, { shape, preset });
        } catch {
          continue; // the preset does not apply to this format
        }
        expect(fallbackReason(format, resolved, { shape, preset }), `${format.name} ${preset}`).toBeNull();
        expect(() => programOf(format, resolved)).not.toThrow();
        taken.push(`${format.name}/${preset}`);
      }
    }
    expect(taken).toContain('q4_1/ggml');
    expect(taken).toContain('int8_rowwise_affine/ocp');
  });

  it('fallbackReason is null for every catalog affine format and option set', () => {
    for (const name of MIN_MAX) {
      const format = getFormat(name);
      expect(format.scaleRule).toBe('minMax');
      for (const opts of [{ shape: [4, 64] }, { shape: [64, 4], axis: 0 }, { shape: [256], rounding: 'stochastic', seed: 3 }] as QuantizeOptions[]) {
        expect(fallbackReason(format, resolveOptions(format, 256, opts), opts), name).toBeNull();
      }
    }
    // a descriptor outside the kernels' shapes (a float element with the minMax rule) still falls back
    const floatAffine = { ...getFormat('int4_rowwise_affine'), name: 'fp4_rowwise_affine', element: getFormat('fp4_e2m1').element };
    expect(fallbackReason(floatAffine, resolveOptions(floatAffine, 64, { shape: [2, 32] }), { shape: [2, 32] })).toMatch(/minMax/);
  });
});

describeWhen(`webgpu minMax on ${env.adapterName}`, env.missing, () => {
  let b: WebGPUBackend;
  beforeAll(async () => {
    b = await createWebGPUBackend({ gpu: env.gpu!, device: env.device! });
  });
  afterAll(() => b?.dispose());

  it('the capability notes no longer list the minMax rule among the fallbacks', () => {
    const fallback = b.capabilities.notes.find((s) => s.startsWith('falls back'));
    expect(fallback).toBeDefined();
    expect(fallback).not.toMatch(/int8_rowwise_affine|int4_rowwise_affine|q4_1|q5_1/);
    expect(b.capabilities.notes.join(' ')).toMatch(/minMax/);
  });

  it('wide helpers: float64-then-float32 rounding of a·b + c, (a − b)/c and a − b equal JavaScript', async () => {
    const next = rng(2024);
    const n = 4096;
    const a = finiteBits(next, n);
    const bb = finiteBits(next, n);
    const c = finiteBits(next, n);
    // a third of the quotient cases divide by the elements' maxima; the rest by random normal values
    const divisor = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      divisor[i] = i % 3 === 0 ? new Uint32Array(new Float32Array([[15, 31, 255][i % 9 / 3]!]).buffer)[0]! : (c[i]! & 0x7fffffff) | 0x00800000;
      if (((divisor[i]! >>> 23) & 0xff) === 0xff) divisor[i] = 0x3f800000;
    }
    for (const [hi, lo] of doubleRoundingPairs(8)) {
      const i = Math.floor(next() * n);
      a[i] = new Uint32Array(new Float32Array([hi]).buffer)[0]!;
      bb[i] = new Uint32Array(new Float32Array([lo]).buffer)[0]!;
      divisor[i] = 0x437f0000; // 255
    }
    const [sum, quo, diff] = await runHelpers(
      b.device,
      `let fa = uf_from_bits(a);
  let fb = uf_from_bits(b);
  r0 = w_to_f32(round53(add_w(round53(mul_w(fa, fb)), w_from_uf(uf_from_bits(c)))));
  let d = round53(add_w(w_from_uf(fa), w_from_uf(uf_from_bits(b ^ 0x80000000u))));
  if (d.kind == 1u) { r1 = w_to_f32(round53(div_w(d, uf_from_bits(c)))); } else { r1 = w_to_f32(d); }
  r2 = w_to_f32(add_w(w_from_uf(fa), w_from_uf(uf_from_bits(b ^ 0x80000000u))));`,
      a,
      bb,
      divisor,
    );
    // the same triples for a·b + c use c, not the divisor
    const [sum2] = await runHelpers(b.device, 'r0 = w_to_f32(round53(add_w(round53(mul_w(uf_from_bits(a), uf_from_bits(b))), w_from_uf(uf_from_bits(c)))));', a, bb, c);
    const fa = toF32(a);
    const fb = toF32(bb);
    const fc = toF32(c);
    const fd = toF32(divisor);
    const bad: string[] = [];
    const check = (what: string, got: number, want: number) => {
      const w = new Uint32Array(new Float32Array([want]).buffer)[0]!;
      if (got >>> 0 !== w && bad.length < 10) bad.push(`${what}: got 0x${got.toString(16)}, want ${want} (0x${w.toString(16)})`);
    };
    for (let i = 0; i < n; i++) {
      const x = fa[i]!;
      const y = fb[i]!;
      check(`${x}·${y} + ${fd[i]}`, sum[i]!, f(x * y + fd[i]!));
      check(`${x}·${y} + ${fc[i]}`, sum2![i]!, f(x * y + fc[i]!));
      check(`(${x} − ${y}) / ${fd[i]}`, quo[i]!, f((x - y) / fd[i]!));
      check(`${x} − ${y}`, diff[i]!, f(x - y));
    }
    expect(bad).toEqual([]);
  });

  it('scales of rows built so that double and single rounding differ equal the reference', async () => {
    const pairs = doubleRoundingPairs(6);
    const x = new Float32Array(pairs.length * 8);
    pairs.forEach(([hi, lo], r) => {
      for (let j = 0; j < 8; j++) x[r * 8 + j] = j === 0 ? lo : j === 5 ? hi : lo + ((hi - lo) * j) / 8;
    });
    const q = quantize(x, 'int8_rowwise_affine', { shape: [pairs.length, 8] });
    // the reference's scales are the ties, not the single-rounded quotients
    const scales = new Float32Array(q.scales.buffer, q.scales.byteOffset, pairs.length);
    pairs.forEach(([, , single], r) => expect(scales[r]).not.toBe(single));
    expect(await compare(b, x, 'int8_rowwise_affine', { shape: [pairs.length, 8] })).toEqual([]);
  });

  it('special rows: ±0 orders, constant rows, ±∞/NaN, subnormals, float32 overflow of hi − lo, fp16 saturation', async () => {
    const rows: number[][] = [
      [0, -0, 1, 2],
      [-0, 0, 1, 2],
      [-0, -0, -0, -0],
      [0, -0, -0, 0],
      [-0, 3, -0, 0],
      [5, 5, 5, 5],
      [-7.25, -7.25, -7.25, -7.25],
      [1e-45, -1e-45, 2e-40, 0],
      [1, NaN, 2, 3],
      [Infinity, 1, 2, 3],
      [1, 2, 3, -Infinity],
      [3e38, -3.3e38, 1, 0],
      [3.4028234663852886e38, -3.4028234663852886e38, 0, 1],
      [70000, 65504, 100000, 1e9],
      [-1e6, -70000, -65520, 1],
      [2 ** -24, 2 ** -25, 3 * 2 ** -26, 0],
      [1e30, 1e30, 1e30, 1e30],
      [-3e38, -3e38, -3e38, -3e38],
      [1.5, 1.5 + 2 ** -22, 1.5, 1.5],
      [0.1, 0.2, 0.30000001192092896, 0.4],
    ];
    const x = Float32Array.from(rows.flat());
    const bad: string[] = [];
    for (const format of ['int8_rowwise_affine', 'int4_rowwise_affine']) {
      for (const rounding of ['rne', 'rna', 'rtz'] as const) bad.push(...(await compare(b, x, format, { shape: [rows.length, 4], rounding })));
      bad.push(...(await compare(b, x, format, { shape: [rows.length, 4], rounding: 'stochastic', seed: 17 })));
      // the same values as columns: blocks along axis 0
      const t = new Float32Array(x.length);
      for (let r = 0; r < rows.length; r++) for (let j = 0; j < 4; j++) t[j * rows.length + r] = x[r * 4 + j]!;
      bad.push(...(await compare(b, t, format, { shape: [4, rows.length], axis: 0 })));
    }
    // ggml types: the same rows padded to whole 32-element blocks (repeat each row 8 times)
    const blocks = Float32Array.from(rows.flatMap((r) => Array.from({ length: 8 }, () => r).flat()));
    for (const format of ['q4_1', 'q5_1']) bad.push(...(await compare(b, blocks, format, { shape: [rows.length, 32] })));
    expect(bad).toEqual([]);
  });

  it('random tensors over the whole float32 range, every layout the general kernels take', async () => {
    const bad: string[] = [];
    let seed = 40;
    for (const [format, opts] of [
      ['int8_rowwise_affine', { shape: [7, 300] }],
      ['int8_rowwise_affine', { shape: [2, 9, 5], axis: 1 }],
      ['int4_rowwise_affine', { shape: [33, 6], axis: 0, rounding: 'stochastic', seed: 2 }],
      ['q4_1', { shape: [3, 96] }],
      ['q4_1', { shape: [64, 3], axis: 0, rounding: 'rna' }],
      ['q5_1', { shape: [2, 128], rounding: 'stochastic', seed: 9 }],
      ['q5_1', { shape: [2, 32, 2], axis: 1, rounding: 'rtz' }],
    ] as [string, QuantizeOptions][]) {
      const n = opts.shape!.reduce((p, c) => p * c, 1);
      const next = rng(seed++);
      const wide = toF32(finiteBits(next, n));
      const narrow = Float32Array.from({ length: n }, () => (next() * 2 - 1) * 2 ** Math.floor(next() * 30 - 15));
      for (const x of [wide, narrow]) bad.push(...(await compare(b, x, format, opts)));
    }
    expect(bad).toEqual([]);
  });

  it('dequantize decodes any stored scale and offset code like the reference (NaN, ±∞, −0, subnormal)', async () => {
    const next = rng(77);
    const bad: string[] = [];
    for (const [format, shape] of [
      ['int4_rowwise_affine', [512, 8]],
      ['q4_1', [8, 512]],
      ['q5_1', [4, 256]],
      ['int8_rowwise_affine', [512, 4]],
    ] as [string, number[]][]) {
      const template = quantize(new Float32Array(shape[0]! * shape[1]!), format, { shape });
      const codes = template.codes.map(() => Math.floor(next() * 256));
      const scales = template.scales.map(() => Math.floor(next() * 2 ** 32));
      const offsets = template.offsets.map(() => Math.floor(next() * 2 ** 32));
      const q = new QuantizedTensor({ format: template.format, options: template.options, codes, scales, subScales: template.subScales, offsets, tensorScale: 1 });
      const s = sameF32(await b.dequantize(q), dequantize(q));
      if (s) bad.push(`${format}: ${s}`);
    }
    expect(bad).toEqual([]);
  });

  it('dequantize rounds value·scale + offset in float64 first, then to float32, like the reference', async () => {
    // scale t = t24·2^-23 and code 3 give 3t = a float32 midpoint; a tiny offset makes float64 round
    // back onto the midpoint, so float32 sees a tie the exact sum would not be
    const scales: number[] = [];
    const offsets: number[] = [];
    const single: number[] = [];
    for (let t24 = Math.ceil(2 ** 24 / 3) | 1; scales.length < 64; t24 += 2) {
      const m25 = 3 * t24;
      const tieUp = ((m25 - 1) / 2) % 2 === 1;
      scales.push(t24 * 2 ** -23);
      offsets.push(tieUp ? -(2 ** -60) : 2 ** -60);
      single.push(f(m25 * 2 ** -23 + (tieUp ? -(2 ** -40) : 2 ** -40)));
    }
    const rows = scales.length;
    const template = quantize(new Float32Array(rows * 4), 'int8_rowwise_affine', { shape: [rows, 4] });
    const q = new QuantizedTensor({
      format: template.format,
      options: template.options,
      codes: new Uint8Array(rows * 4).fill(3),
      scales: new Uint32Array(new Float32Array(scales).buffer),
      subScales: template.subScales,
      offsets: new Uint32Array(new Float32Array(offsets).buffer),
      tensorScale: 1,
    });
    const want = dequantize(q);
    for (let r = 0; r < rows; r++) expect(want[r * 4], 'the reference rounds the tie').not.toBe(single[r]);
    expect(sameF32(await b.dequantize(q), want)).toBeNull();
  });
});
