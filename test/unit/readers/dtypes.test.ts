// Element conversion to float32, checked exhaustively against formulas written from the format
// definitions (not through the core codec the readers use), plus the npy header parser and the
// column-major to row-major reordering.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { codeTable, decodePlain, PLAIN_BITS, plainByteLength, type PlainDtype } from '../../../src/bdr-explorer/readers/dtypes.js';
import { ModelFileError } from '../../../src/bdr-explorer/readers/errors.js';
import { fortranToC, parseNpyHeader } from '../../../src/bdr-explorer/readers/npy.js';
import { npy } from './builders.js';
import { firstDifference } from './helpers.js';

/** Value of a sign/exponent/mantissa code with IEEE-style subnormals. */
function ieee(code: number, e: number, m: number, bias: number): number {
  const sign = code >> (e + m) ? -1 : 1;
  const exp = (code >> m) & ((1 << e) - 1);
  const man = code & ((1 << m) - 1);
  return exp === 0 ? sign * man * 2 ** (1 - bias - m) : sign * (1 + man / 2 ** m) * 2 ** (exp - bias);
}

function check(dtype: PlainDtype, expected: (code: number) => number): void {
  const bits = PLAIN_BITS[dtype];
  const count = 2 ** bits;
  const codes = Array.from({ length: count }, (_, c) => c);
  const bytes = new Uint8Array(plainByteLength(dtype, count));
  if (bits === 16) new Uint16Array(bytes.buffer).set(codes);
  else if (bits === 8) bytes.set(codes);
  else {
    // LSB-first bit stream
    codes.forEach((c, i) => {
      for (let b = 0; b < bits; b++) if ((c >> b) & 1) bytes[(i * bits + b) >> 3]! |= 1 << ((i * bits + b) & 7);
    });
  }
  const want = Float32Array.from(codes, expected);
  expect(firstDifference(decodePlain(bytes, dtype, count), want), dtype).toBe(-1);
}

describe('narrow float dtypes decode exactly (every code)', () => {
  it('f16: IEEE binary16', () => check('f16', (c) => ((c >> 10) & 31) === 31 ? ((c & 1023) ? NaN : c >> 15 ? -Infinity : Infinity) : ieee(c, 5, 10, 15)));
  it('bf16: the top half of a float32', () =>
    check('bf16', (c) => {
      const dv = new DataView(new ArrayBuffer(4));
      dv.setUint32(0, c << 16);
      return dv.getFloat32(0);
    }));
  it('f8_e4m3 (OCP E4M3FN): no infinities, NaN only at S.1111.111', () => check('f8_e4m3', (c) => ((c & 0x7f) === 0x7f ? NaN : ieee(c, 4, 3, 7))));
  it('f8_e5m2: IEEE-style with infinities', () => check('f8_e5m2', (c) => (((c >> 2) & 31) === 31 ? ((c & 3) ? NaN : c >> 7 ? -Infinity : Infinity) : ieee(c, 5, 2, 15))));
  it('f8_e8m0: 2^(c − 127), NaN at 0xff', () => check('f8_e8m0', (c) => (c === 255 ? NaN : 2 ** (c - 127))));
  it('f8_e4m3fnuz and f8_e5m2fnuz: bias + 1, one NaN at 0x80, no −0', () => {
    check('f8_e4m3fnuz', (c) => (c === 0x80 ? NaN : ieee(c, 4, 3, 8)));
    check('f8_e5m2fnuz', (c) => (c === 0x80 ? NaN : ieee(c, 5, 2, 16)));
    expect(Math.max(...codeTable('f8_e4m3fnuz').filter(Number.isFinite))).toBe(240);
    expect(Math.max(...codeTable('f8_e5m2fnuz').filter(Number.isFinite))).toBe(57344);
  });
  it('f6_e3m2, f6_e2m3, f4_e2m1: no infinities or NaN', () => {
    check('f6_e3m2', (c) => ieee(c, 3, 2, 3));
    check('f6_e2m3', (c) => ieee(c, 2, 3, 1));
    check('f4_e2m1', (c) => ieee(c, 2, 1, 1));
    expect([...decodePlain(new Uint8Array([0x21, 0xf7]), 'f4_e2m1', 4)]).toEqual([0.5, 1, 6, -6]);
  });
  it('f6 packs four codes into three bytes, first code in the low bits', () => {
    // codes 1, 2, 3, 4 → 24-bit word 1 | 2<<6 | 3<<12 | 4<<18
    const word = 1 | (2 << 6) | (3 << 12) | (4 << 18);
    const bytes = new Uint8Array([word & 255, (word >> 8) & 255, word >> 16]);
    expect([...decodePlain(bytes, 'f6_e2m3', 4)]).toEqual([0.125, 0.25, 0.375, 0.5]);
  });
});

describe('integer dtypes and byte order', () => {
  it('little- and big-endian multi-byte values', () => {
    const cases: [PlainDtype, number[], (dv: DataView, o: number, v: number, le: boolean) => void][] = [
      ['f32', [1.5, -2, 3e38], (dv, o, v, le) => dv.setFloat32(o, v, le)],
      ['f64', [0.1, -1e300, 5], (dv, o, v, le) => dv.setFloat64(o, v, le)],
      ['i16', [-32768, 1, 300], (dv, o, v, le) => dv.setInt16(o, v, le)],
      ['u16', [65535, 1, 300], (dv, o, v, le) => dv.setUint16(o, v, le)],
      ['i32', [-2147483648, 7, 16777217], (dv, o, v, le) => dv.setInt32(o, v, le)],
      ['u32', [4294967295, 7, 0], (dv, o, v, le) => dv.setUint32(o, v, le)],
      ['i64', [-(2 ** 40), -1, 2 ** 52], (dv, o, v, le) => dv.setBigInt64(o, BigInt(v), le)],
      ['u64', [2 ** 53, 1, 0], (dv, o, v, le) => dv.setBigUint64(o, BigInt(v), le)],
    ];
    for (const [dtype, values, set] of cases) {
      const size = PLAIN_BITS[dtype] / 8;
      for (const le of [true, false]) {
        const bytes = new Uint8Array(values.length * size);
        const dv = new DataView(bytes.buffer);
        values.forEach((v, i) => set(dv, i * size, v, le));
        expect([...decodePlain(bytes, dtype, values.length, !le)], `${dtype} ${le ? 'LE' : 'BE'}`).toEqual(values.map(Math.fround));
      }
    }
  });
  it('8-bit, boolean and packed 4/2-bit integers', () => {
    expect([...decodePlain(new Uint8Array([0x80, 0x7f, 0xff]), 'i8', 3)]).toEqual([-128, 127, -1]);
    expect([...decodePlain(new Uint8Array([0x80, 0x7f, 0xff]), 'u8', 3)]).toEqual([128, 127, 255]);
    expect([...decodePlain(new Uint8Array([0, 1, 2]), 'bool', 3)]).toEqual([0, 1, 1]);
    expect([...decodePlain(new Uint8Array([0xf8, 0x07]), 'i4', 3)]).toEqual([-8, -1, 7]);
    expect([...decodePlain(new Uint8Array([0xf8, 0x07]), 'u4', 3)]).toEqual([8, 15, 7]);
    expect([...decodePlain(new Uint8Array([0b11100100]), 'i2', 4)]).toEqual([0, 1, -2, -1]);
    expect([...decodePlain(new Uint8Array([0b11100100]), 'u2', 4)]).toEqual([0, 1, 2, 3]);
  });
});

describe('.npy headers', () => {
  const parse = (dict: string) => {
    const h = parseNpyHeader(npy(dict, new Uint8Array(0)), 'x.npy');
    if (typeof h === 'number') throw new Error('incomplete');
    return h;
  };
  it('reads the dict NumPy writes, in any key order and quoting', () => {
    expect(parse("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }")).toMatchObject({ dtype: 'f32', shape: [3, 4], fortranOrder: false, elements: 12 });
    expect(parse('{"shape": (5,), "fortran_order": True, "descr": ">f8"}')).toMatchObject({ dtype: 'f64', shape: [5], fortranOrder: true, bigEndian: true });
    expect(parse("{'descr': '|b1', 'fortran_order': False, 'shape': (), }")).toMatchObject({ dtype: 'bool', shape: [], elements: 1 });
    expect(parse("{'descr': '<i8', 'fortran_order': False, 'shape': (2L, 3L), }")).toMatchObject({ dtype: 'i64', shape: [2, 3] });
    expect(parse("{'descr': '<f2', 'fortran_order': False, 'shape': (0, 7), }")).toMatchObject({ dtype: 'f16', elements: 0 });
    expect(parse("{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }")).toMatchObject({ dtype: null, itemSize: 16 });
  });
  it('asks for more bytes when the header is longer than what it was given', () => {
    const whole = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(4));
    expect(parseNpyHeader(whole.subarray(0, 20), 'x.npy')).toBe(whole.length - 4);
  });
  it('rejects what is not a simple numeric array', () => {
    expect(() => parse("{'descr': '<M8', 'fortran_order': False, 'shape': (1,), }")).toThrow(ModelFileError);
    expect(() => parse("{'descr': '<f4', 'fortran_order': False, 'shape': (1, x), }")).toThrow(/dict literal/);
    expect(() => parseNpyHeader(new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 9, 0, 0, 0]), 'x.npy')).toThrow(/version 9/);
  });
});

describe('column-major to row-major', () => {
  it('matches index arithmetic on random shapes', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 5 }), (shape) => {
        const n = shape.reduce((a, b) => a * b, 1);
        const src = Float32Array.from({ length: n }, (_, i) => i);
        const out = fortranToC(src, shape);
        for (let c = 0; c < n; c++) {
          // row-major index c → multi-index → column-major offset
          let rest = c;
          let f = 0;
          const idx: number[] = [];
          for (let k = shape.length - 1; k >= 0; k--) {
            idx[k] = rest % shape[k]!;
            rest = Math.floor(rest / shape[k]!);
          }
          for (let k = shape.length - 1; k >= 0; k--) f = f * shape[k]! + idx[k]!;
          if (out[c] !== f) return false;
        }
        return true;
      }),
    );
  });
});
