// Derived descriptor numbers against literal values from docs/specification.md (§1, §9).
import { describe, expect, it } from 'vitest';
import { ELEMENTS, FormatError, getElement, getFormat, listFormats } from '../../src/index.js';

describe('element descriptors (docs/specification.md §1.1)', () => {
  it.each([
    ['fp8_e5m2', 15, 57344, 2 ** -14, 0.75 * 2 ** -14, 2 ** -16, 15],
    ['fp8_e4m3', 7, 448, 2 ** -6, 0.875 * 2 ** -6, 2 ** -9, 8],
    ['fp6_e3m2', 3, 28, 0.25, 0.1875, 0.0625, 4],
    ['fp6_e2m3', 1, 7.5, 1, 0.875, 0.125, 2],
    ['fp4_e2m1', 1, 6, 1, 0.5, 0.5, 2],
    ['fp16', 15, 65504, 2 ** -14, 1023 * 2 ** -24, 2 ** -24, 15],
    ['bf16', 127, (2 - 2 ** -7) * 2 ** 127, 2 ** -126, 127 * 2 ** -133, 2 ** -133, 127],
  ])('%s: bias %d, max %d, min normal, max/min subnormal, emax', (name, bias, max, minNormal, maxSub, minSub, emax) => {
    const el = getElement(name);
    expect(el.kind).toBe('float');
    if (el.kind !== 'float') return;
    expect(el.bias).toBe(bias);
    expect(el.maxFinite).toBe(max);
    expect(el.minNormal).toBe(minNormal);
    expect(el.minPositive).toBe(minSub);
    expect(el.minNormal - el.minPositive).toBe(maxSub);
    expect(el.emax).toBe(emax);
  });

  it('E8M0: 2^-127 … 2^127, no zero, 0xFF NaN', () => {
    const e = ELEMENTS.e8m0;
    expect(e.maxFinite).toBe(2 ** 127);
    expect(e.minPositive).toBe(2 ** -127);
    expect(e.bits).toBe(8);
  });

  it('UE4M3 max 448, 7 value bits; int8 element 127/64', () => {
    expect(ELEMENTS.ue4m3.maxFinite).toBe(448);
    expect(ELEMENTS.ue4m3.bits).toBe(7);
    expect(ELEMENTS.int8.maxFinite).toBe(127 / 64);
    expect(ELEMENTS.int8.emax).toBe(0);
    expect(ELEMENTS.int4.maxFinite).toBe(1.75);
    expect(ELEMENTS.int2.maxFinite).toBe(1);
  });

  it('code counts', () => {
    expect(ELEMENTS.fp4_e2m1.codeCount).toBe(16);
    expect(ELEMENTS.fp6_e3m2.codeCount).toBe(64);
    expect(ELEMENTS.fp8_e4m3.codeCount).toBe(256);
    expect(ELEMENTS.fp16.codeCount).toBe(65536);
  });
});

describe('block formats (docs/specification.md §3, §4, §9)', () => {
  it.each([
    ['mxfp8_e4m3', 8.25, 448 * 2 ** 127],
    ['mxfp8_e5m2', 8.25, 57344 * 2 ** 127],
    ['mxfp6_e3m2', 6.25, 28 * 2 ** 127],
    ['mxfp6_e2m3', 6.25, 7.5 * 2 ** 127],
    ['mxfp4', 4.25, 6 * 2 ** 127],
    ['mxint8', 8.25, (127 / 64) * 2 ** 127],
    ['mx9', 9, 127 * 2 ** 121],
    ['mx6', 6, 15 * 2 ** 124],
    ['mx4', 4, 3 * 2 ** 126],
    ['msfp12', 4.5, 7 * 2 ** 125],
    ['msfp16', 8.5, 127 * 2 ** 121],
    ['nvfp4', 4.5, 2688],
    ['ggml_mxfp4', 4.25, 6 * 2 ** 127],
    ['ggml_nvfp4', 4.5, 2688],
    ['q8_0', 8.5, 8319008],
    ['q4_0', 4.5, 524032],
    ['q4_1', 5, 1048064],
    ['q5_0', 5.5, 1048064],
    ['q5_1', 6, 2096128],
    ['int8_tensor', 8, 127 * 3.4028234663852886e38],
  ])('%s: %d bits/element, max %d', (name, bits, max) => {
    const f = getFormat(name);
    expect(f.bitsPerElement).toBe(bits);
    expect(f.maxMagnitude).toBe(max);
  });

  it('paper BDR parameters: MX9/6/4 are k1=16, k2=2, d2=1', () => {
    for (const [name, m] of [['mx9', 7], ['mx6', 4], ['mx4', 2]] as const) {
      const f = getFormat(name);
      expect(f.blockSize).toBe(16);
      expect(f.subBlock).toEqual({ size: 2, bits: 1 });
      expect(f.element.bits).toBe(m + 1);
    }
  });

  it('descriptors are frozen', () => {
    const f = getFormat('mxfp4');
    expect(Object.isFrozen(f)).toBe(true);
    expect(Object.isFrozen(f.element)).toBe(true);
  });
});

describe('name grammar', () => {
  it('every catalog name parses to itself', () => {
    for (const f of listFormats()) expect(getFormat(f.name)).toBe(f);
  });

  it('aliases and case', () => {
    expect(getFormat('MXFP4_E2M1').name).toBe('mxfp4');
    expect(getFormat('fp4').name).toBe('fp4_e2m1');
    expect(getFormat(' bfloat16 ').name).toBe('bf16');
  });

  it.each([
    ['bdr(m=4,k1=16,d1=8,k2=2,d2=1)', 'bdr(m=4,k1=16,d1=8,k2=2,d2=1)', 6],
    ['bdr(m=7, k1=16, d1=8)', 'bdr(m=7,k1=16,d1=8,k2=1,d2=0)', 8.5],
    ['bdr(d2=2,k2=4,m=3,k1=32,d1=8)', 'bdr(m=3,k1=32,d1=8,k2=4,d2=2)', 4 + 0.25 + 0.5],
    ['fp(e=4,m=3)', 'fp(e=4,m=3,bias=7,inf=0,nan=none,sub=1,sat=1,signed=1)', 8],
    ['fp(e=5,m=2,inf=1)', 'fp(e=5,m=2,bias=15,inf=1,nan=ieee,sub=1,sat=1,signed=1)', 8],
    ['int(b=6,f=4)', 'int(b=6,f=4,enc=twos)', 6],
    ['mx(elem=fp6_e3m2,k=16)', 'mx(elem=fp6_e3m2,k=16,d1=8)', 6.5],
    ['mx(elem=fp(e=3,m=1),k=8,d1=6)', 'mx(elem=fp(e=3,m=1,bias=3,inf=0,nan=none,sub=1,sat=1,signed=1),k=8,d1=6)', 5 + 6 / 8],
  ])('%s prints as %s and parses back (%d bits/element)', (text, canonical, bits) => {
    const f = getFormat(text);
    expect(f.name).toBe(canonical);
    expect(f.bitsPerElement).toBeCloseTo(bits, 12);
    const again = getFormat(f.name);
    expect(again.name).toBe(canonical);
    expect(JSON.stringify(again)).toBe(JSON.stringify(f));
  });

  it('generic bdr equal to mx6 behaves like mx6', () => {
    const a = getFormat('bdr(m=4,k1=16,d1=8,k2=2,d2=1)');
    const b = getFormat('mx6');
    expect({ ...a, name: '', description: '' }).toEqual({ ...b, name: '', description: '' });
  });

  it.each([
    ['mxfp5', /unknown format "mxfp5".*Did you mean mxfp4/],
    ['', /non-empty/],
    ['bdr(m=4,k1=16,d1=8,k2=3,d2=1)', /k2=3 must divide k1=16/],
    ['bdr(m=4)', /missing parameter k1/],
    ['bdr(m=99,k1=16)', /m=99 is outside/],
    ['fp(e=4,m=3,zz=1)', /unknown parameter zz/],
    ['fp(e=4,m=3', /missing closing parenthesis/],
    ['mx(elem=e8m0)', /must be signed/],
    ['fp(e=4,m=0,nan=ieee)', /nan=ieee needs m ≥ 1/],
    ['q4_0; rm -rf', /letters, digits/],
  ])('%j is rejected with a clear message', (text, msg) => {
    expect(() => getFormat(text)).toThrow(FormatError);
    expect(() => getFormat(text)).toThrow(msg);
  });
});
