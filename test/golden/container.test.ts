// The container format is frozen by small golden byte files (docs/serialization.md).
// Regenerate only on an intentional format change: UPDATE_GOLDEN=1 npx vitest run test/golden/container.test.ts
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ContainerError, QuantizedTensor, dequantize, quantize, type QuantizeOptions } from '../../src/index.js';

const DIR = fileURLToPath(new URL('./containers/', import.meta.url));
const ramp = (n: number, scale: number) => Float32Array.from({ length: n }, (_, i) => Math.fround(Math.sin(i * 0.7) * scale * (1 + (i % 5))));

const CASES: [string, string, Float32Array, QuantizeOptions][] = [
  ['mxfp4-2x32', 'mxfp4', ramp(64, 1.5), { shape: [2, 32] }],
  ['mx6-16', 'mx6', ramp(16, 0.3), {}],
  ['mxfp6_e3m2-axis0-3x8', 'mxfp6_e3m2', ramp(24, 7), { shape: [3, 8], axis: 0, blockSize: 2 }],
  ['mxint8-microxcaling-40', 'mxint8', ramp(40, 2), { preset: 'microxcaling', rounding: 'rne' }],
  ['nvfp4-32', 'nvfp4', ramp(32, 3), {}],
  ['q4_1-64', 'q4_1', ramp(64, 1), {}],
  ['int8_channel-2x5', 'int8_channel', ramp(10, 4), { shape: [2, 5] }],
  ['fp16-5', 'fp16', Float32Array.from([1, -0, 65520, 1e-8, -3.14159]), {}],
  ['mxfp8_e4m3-stochastic-33', 'mxfp8_e4m3', ramp(33, 100), { rounding: 'stochastic', seed: 42 }],
];

describe('container golden files', () => {
  for (const [file, name, x, opts] of CASES) {
    it(`${file}.msqt`, () => {
      const bytes = quantize(x, name, opts).toBytes();
      const path = `${DIR}${file}.msqt`;
      if (process.env.UPDATE_GOLDEN) {
        mkdirSync(DIR, { recursive: true });
        writeFileSync(path, bytes);
      }
      expect(existsSync(path), `missing golden ${path}`).toBe(true);
      const golden = new Uint8Array(readFileSync(path));
      expect(Buffer.from(bytes).toString('hex')).toBe(Buffer.from(golden).toString('hex'));
      const back = QuantizedTensor.fromBytes(golden);
      expect(back.format.name).toBe(name);
      expect(Array.from(dequantize(back))).toEqual(Array.from(dequantize(quantize(x, name, opts))));
      expect(back.toBytes()).toEqual(golden);
    });
  }
});

describe('corrupt containers are rejected with ContainerError', () => {
  const good = quantize(ramp(64, 1.5), 'mxfp4', { shape: [2, 32] }).toBytes();
  const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
  const mutate = (f: (b: Uint8Array) => void) => {
    const b = good.slice();
    f(b);
    return b;
  };
  const fixCrc = async (b: Uint8Array) => {
    const { crc32 } = await import('../../src/formats/container.js');
    dv(b).setUint32(12, crc32(b.subarray(16)), true);
    return b;
  };
  const header = (b: Uint8Array) => new TextDecoder().decode(b.subarray(16, 16 + dv(b).getUint32(8, true)));
  const withHeader = async (edit: (h: Record<string, unknown>) => void) => {
    const hlen = dv(good).getUint32(8, true);
    const h = JSON.parse(header(good)) as Record<string, unknown>;
    edit(h);
    const json = new TextEncoder().encode(JSON.stringify(h));
    const body = good.subarray((16 + hlen + 7) & ~7);
    const start = (16 + json.length + 7) & ~7;
    const b = new Uint8Array(start + body.length);
    b.set(good.subarray(0, 16));
    dv(b).setUint32(8, json.length, true);
    b.set(json, 16);
    b.set(body, start);
    return fixCrc(b);
  };

  it.each([
    ['empty', new Uint8Array(0), /truncated/],
    ['truncated prefix', good.subarray(0, 10), /truncated/],
    ['bad magic', mutate((b) => (b[0] = 0x58)), /bad magic/],
    ['future version', mutate((b) => dv(b).setUint16(4, 9, true)), /version 9/],
    ['flags', mutate((b) => dv(b).setUint16(6, 1, true)), /flags/],
    ['huge header length', mutate((b) => dv(b).setUint32(8, 0xfffffff0, true)), /header length/],
    ['flipped payload byte', mutate((b) => (b[b.length - 9]! ^= 0xff)), /checksum/],
    ['truncated payload', good.subarray(0, good.length - 8), /checksum|add up/],
  ])('%s', (_, bytes, msg) => {
    expect(() => QuantizedTensor.fromBytes(bytes)).toThrow(ContainerError);
    expect(() => QuantizedTensor.fromBytes(bytes)).toThrow(msg);
  });

  it('header lies are caught before anything is allocated', async () => {
    const cases: [(h: Record<string, unknown>) => void, RegExp][] = [
      [(h) => (h['shape'] = [2 ** 40, 2 ** 12]), /add up|needs|too large/],
      [(h) => (h['format'] = 'nope'), /unknown format/],
      [(h) => (h['shape'] = [2, 33]), /needs|add up/],
      [(h) => (h['axis'] = 7), /axis 7 is out of range/],
      [(h) => (h['sections'] = { codes: 1 }), /section length/],
      [(h) => (h['rounding'] = 'nearest'), /rounding must be one of/],
      [(h) => (h['shape'] = 'x'), /shape/],
    ];
    for (const [edit, msg] of cases) {
      const b = await withHeader(edit);
      expect(() => QuantizedTensor.fromBytes(b)).toThrow(ContainerError);
      expect(() => QuantizedTensor.fromBytes(b)).toThrow(msg);
    }
  });
});
