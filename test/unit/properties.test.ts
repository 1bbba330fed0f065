// Every microscale/testing contract applied to the reference backend, each contract shown to catch
// a deliberately broken implementation, and checks of the arbitraries themselves.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ELEMENTS,
  QuantizedTensor,
  decodeElement,
  fakeQuantize,
  getFormat,
  quantize,
  referenceBackend,
  type Backend,
  type QuantizeOptions,
} from '../../src/index.js';
import {
  CORE_CONTAINER,
  CORE_PACKING,
  adversarialBlock,
  bf16Bits,
  bitExactWith,
  checkContract,
  f16ToF32Bits,
  float32ArrayOf,
  float32Bits,
  formatName,
  idempotent,
  matmulErrorBound,
  monotone,
  nearestRepresentable,
  packRoundTrip,
  quantizeCase,
  sameFloat32,
  scaleEquivariant,
  serializeRoundTrip,
  serializedSize,
  signSymmetric,
  type Implementation,
} from '../../src/testing/index.js';

const RUNS = 100;
const ref = referenceBackend;

const cases = (constraints: Parameters<typeof quantizeCase>[0] = {}) => quantizeCase(constraints);


/** Run a contract on a broken implementation; it must fail. Returns the violation message. */
async function fails<T>(property: fc.IAsyncProperty<T>, numRuns = 200): Promise<string> {
  const r = await fc.check(property, { numRuns, endOnFailure: true });
  expect(r.failed, 'the contract should have caught the broken implementation').toBe(true);
  return String((r.errorInstance as Error | undefined)?.message ?? r.errorInstance);
}

describe('contracts hold on the reference backend', () => {
  it('bitExactWith: reference against itself (determinism, error parity, inputs untouched)', async () => {
    await checkContract(bitExactWith(ref, { cases: quantizeCase({ representable: false }) }), { numRuns: RUNS });
  });

  it('idempotent: fakeQuantize ∘ fakeQuantize = fakeQuantize on casts and pow2 blocks', async () => {
    await checkContract(idempotent(ref), { numRuns: 2 * RUNS });
  });

  it('monotone: one element moved with its block scale fixed', async () => {
    await checkContract(monotone(ref, { cases: cases({ roundings: ['rne', 'rna', 'rtz'] }) }), { numRuns: 2 * RUNS });
  });

  it('signSymmetric: q(−x) = −q(x) for sign-blind formats', async () => {
    await checkContract(signSymmetric(ref), { numRuns: RUNS });
  });

  it('nearestRepresentable: rne, rna and rtz on every block grid', async () => {
    await checkContract(nearestRepresentable(ref, { cases: cases({ roundings: ['rne', 'rna', 'rtz'], presets: ['ocp', 'microxcaling', 'torchao'] }) }), {
      numRuns: 2 * RUNS,
    });
  });

  it('nearestRepresentable: exact ties on the grids of the OCP formats', async () => {
    const formats = ['mxfp4', 'mxfp6_e2m3', 'mxfp6_e3m2', 'mxfp8_e4m3', 'mxint8', 'mx6', 'msfp12', 'fp8_e4m3', 'fp4_e2m1'];
    await checkContract(nearestRepresentable(ref, { formats, blockKinds: ['ties', 'maxNormal'], roundings: ['rne', 'rna'], presets: ['ocp'] }), { numRuns: RUNS });
  });

  it('scaleEquivariant: scaling a pow2 block by 2^k shifts only its scale code', async () => {
    await checkContract(scaleEquivariant(ref), { numRuns: RUNS });
  });

  it('packRoundTrip: every width 1…32, ggml split order, FP6 MSB-first', async () => {
    await checkContract(packRoundTrip(), { numRuns: RUNS });
  });

  it('serializeRoundTrip: fromBytes(toBytes(q)) is the same tensor', async () => {
    await checkContract(serializeRoundTrip(ref, { cases: cases() }), { numRuns: RUNS });
  });

  it('serializedSize: codes, framing and bitsPerElement × n', async () => {
    await checkContract(serializedSize(ref, { cases: cases() }), { numRuns: RUNS });
  });

  it('matmulErrorBound: within capabilities.matmulRelativeBound of the float64 sum', async () => {
    await checkContract(matmulErrorBound(ref), { numRuns: RUNS });
  });
});

describe('contracts catch broken implementations', () => {
  const tiesOnly = { formats: ['mxfp4', 'fp8_e4m3', 'mx6'], blockKinds: ['ties'] as const, roundings: ['rne'] as const, presets: ['ocp'] as const };

  it('bitExactWith catches ties rounded away from zero', async () => {
    const broken: Implementation = { fakeQuantize: (x, f, o) => ref.fakeQuantize(x, f, { ...o, rounding: 'rna' }) };
    expect(await fails(bitExactWith(broken, tiesOnly))).toMatch(/fakeQuantize/);
  });

  it('bitExactWith catches a dequantizer that flushes float32 subnormals (as GPUs may)', async () => {
    const broken: Implementation = {
      dequantize: (q) => (ref.dequantize(q) as Float32Array).map((v) => (Math.abs(v) < 2 ** -126 ? 0 * v : v)),
    };
    expect(await fails(bitExactWith(broken, { formats: ['mxfp4', 'mxbf16', 'fp16', 'bf16', 'fp32'], blockKinds: ['hugeRange'] }))).toMatch(/dequantize/);
  });

  it('bitExactWith catches a kernel that modifies its input', async () => {
    const broken: Implementation = {
      fakeQuantize: (x, f, o) => {
        const y = ref.fakeQuantize(x, f, o) as Float32Array;
        x.set(y);
        return y;
      },
    };
    expect(await fails(bitExactWith(broken, { formats: ['mxfp4'], representable: true }))).toMatch(/modified/);
  });

  it('idempotent catches a quantizer that is not a projection', async () => {
    const broken: Implementation = { fakeQuantize: (x, f, o) => (ref.fakeQuantize(x, f, o) as Float32Array).map((v) => v * 1.25) };
    await fails(idempotent(broken, { formats: ['fp8_e4m3', 'mxfp4'] }));
  });

  it('monotone catches an order-reversing kernel', async () => {
    const broken: Implementation = { fakeQuantize: (x, f, o) => (ref.fakeQuantize(x, f, o) as Float32Array).map((v) => -v) };
    await fails(monotone(broken, { formats: ['fp8_e4m3', 'mxfp8_e4m3', 'nvfp4'] }));
  });

  it('signSymmetric catches rounding that depends on the sign', async () => {
    const broken: Implementation = {
      fakeQuantize: (x, f, o) => {
        const down = ref.fakeQuantize(x, f, { ...o, rounding: 'rtz' }) as Float32Array;
        const near = ref.fakeQuantize(x, f, o) as Float32Array;
        return near.map((v, i) => (x[i]! < 0 ? down[i]! : v));
      },
    };
    await fails(signSymmetric(broken, { formats: ['fp8_e4m3', 'mxfp4', 'int8_tensor'], roundings: ['rne'] }));
  });

  it('nearestRepresentable catches truncation that claims to round to nearest', async () => {
    const broken: Implementation = { quantize: (x, f, o) => ref.quantize(x, f, { ...o, rounding: 'rtz' }) };
    expect(await fails(nearestRepresentable(broken, { formats: ['fp8_e4m3', 'mxfp4', 'mx9', 'q8_0'], roundings: ['rne'] }))).toMatch(/is closer|not the even one/);
  });

  it('scaleEquivariant catches a quantizer with an absolute offset', async () => {
    const broken: Implementation = { quantize: (x, f, o) => ref.quantize(x.map((v) => v + 2 ** -8), f, o) };
    await fails(scaleEquivariant(broken, { formats: ['mxfp8_e4m3', 'mx9'], blockKinds: ['moderate'] }));
  });

  it('packRoundTrip catches high-nibble-first FP4 packing', async () => {
    const packCodes = (codes: ArrayLike<number>, bits: number, count = codes.length) => {
      const out = CORE_PACKING.packCodes(codes, bits, count);
      return bits === 4 ? out.map((b) => ((b & 15) << 4) | (b >> 4)) : out;
    };
    expect(await fails(packRoundTrip({ ...CORE_PACKING, packCodes }))).toMatch(/4-bit|nibble|ggml/);
  });

  it('serializeRoundTrip catches a reader that drops the stochastic seed', async () => {
    const container = {
      toBytes: CORE_CONTAINER.toBytes,
      fromBytes: (b: Uint8Array) => {
        const q = CORE_CONTAINER.fromBytes(b);
        return new QuantizedTensor({ ...q, options: { ...q.options, seed: 0 } });
      },
    };
    const stochastic = { formats: ['mxfp4', 'fp8_e4m3'], roundings: ['stochastic'] as const };
    expect(await fails(serializeRoundTrip(ref, { ...stochastic, container }))).toMatch(/seed/);
  });

  it('serializedSize catches a writer that pads the container', async () => {
    const container = { toBytes: (q: QuantizedTensor) => Uint8Array.from([...q.toBytes(), 0, 0, 0, 0, 0, 0, 0, 0]), fromBytes: CORE_CONTAINER.fromBytes };
    expect(await fails(serializedSize(ref, { formats: ['mxfp4', 'q4_0'], container }))).toMatch(/container has/);
  });

  it('matmulErrorBound catches an error above the declared bound', async () => {
    const broken: Backend = {
      ...ref,
      matmul: (a, w, o) => (ref.matmul(a, w, o) as Float32Array).map((v) => v * (1 + 2 ** -12)),
    };
    await fails(matmulErrorBound(broken, { formats: ['mxfp8_e4m3', 'int8_channel'], maxM: 3 }));
  });
});

describe('arbitraries', () => {
  it('generated format names parse and are canonical', () => {
    fc.assert(
      fc.property(formatName(), (name) => {
        expect(getFormat(name).name).toBe(name);
      }),
      { numRuns: 300 },
    );
  });

  it('f16ToF32Bits is exact for all 65,536 fp16 codes; bf16Bits covers the bf16 codes', () => {
    const f32 = new Float32Array(1);
    const u32 = new Uint32Array(f32.buffer);
    const wrong: string[] = [];
    for (let h = 0; h < 65536; h++) {
      u32[0] = f16ToF32Bits(h);
      if (!sameFloat32(f32[0]!, decodeElement(ELEMENTS.fp16, h))) wrong.push(`fp16 ${h}`);
      u32[0] = (h << 16) >>> 0;
      if (!sameFloat32(f32[0]!, decodeElement(ELEMENTS.bf16, h))) wrong.push(`bf16 ${h}`);
    }
    expect(wrong).toEqual([]);
    fc.assert(fc.property(bf16Bits(), (b) => (b & 0xffff) === 0));
  });

  it('float32ArrayOf writes every bit pattern, NaN payloads included', () => {
    fc.assert(
      fc.property(fc.array(float32Bits(), { maxLength: 20 }), (bits) => {
        const x = fc.sample(float32ArrayOf(fc.constantFrom(...(bits.length ? bits : [0])), { minLength: 1, maxLength: 1 }), 1)[0]!;
        expect(bits.length === 0 || bits.includes(new Uint32Array(x.buffer)[0]!)).toBe(true);
      }),
      { numRuns: 50 },
    );
    const payloads = fc.sample(float32Bits({ noInfinity: true }).filter((b) => (b & 0x7f800000) === 0x7f800000), 200);
    expect(new Set(payloads).size, 'NaNs with many payloads').toBeGreaterThan(50);
  });

  it('float32Bits honours its constraints', () => {
    fc.assert(
      fc.property(float32Bits({ noNaN: true, noInfinity: true, noSubnormal: true }), (b) => {
        const e = (b >>> 23) & 0xff;
        return e !== 0xff && (e !== 0 || (b & 0x7fffff) === 0);
      }),
    );
  });

  it('every generated case is accepted by quantize', () => {
    fc.assert(
      fc.property(cases(), (c) => {
        const q = quantize(c.x, c.format, c.options);
        expect(q.length).toBe(c.x.length);
      }),
      { numRuns: 200 },
    );
  });

  it('ties blocks hit exact midpoints of the grid (rne and rna disagree on them)', () => {
    let differ = 0;
    for (const format of ['mxfp4', 'mxfp8_e4m3', 'mx9', 'fp8_e5m2']) {
      for (const block of fc.sample(adversarialBlock(format, 32, { kinds: ['ties'] }), 20)) {
        const x = Float32Array.from(block);
        const opts: QuantizeOptions = { blockSize: getFormat(format).scheme === 'cast' ? undefined : 32 };
        const a = fakeQuantize(x, format, { ...opts, rounding: 'rne' });
        const b = fakeQuantize(x, format, { ...opts, rounding: 'rna' });
        for (let i = 0; i < 32; i++) if (a[i] !== b[i]) differ++;
      }
    }
    expect(differ).toBeGreaterThan(100);
  });

  it('maxNormal blocks reach and pass the largest normal of the block', () => {
    let past = 0;
    for (const block of fc.sample(adversarialBlock('mxfp4', 32, { kinds: ['maxNormal'] }), 30)) {
      const x = Float32Array.from(block);
      const q = quantize(x, 'mxfp4');
      const scale = q.scaleValues()[0]!;
      if (x.some((v) => Math.abs(v) > 6 * scale)) past++;
    }
    expect(past).toBeGreaterThan(5);
  });
});

describe('regressions: affine range overflow, narrow scale packing', () => {
  it('affine formats quantize finite rows whose max − min exceeds FLT_MAX', () => {
    for (const format of ['int8_rowwise_affine', 'int4_rowwise_affine']) {
      const y = fakeQuantize(new Float32Array([-2e38, 2e38]), format);
      expect(y.every(Number.isFinite)).toBe(true);
    }
    const x = new Float32Array(32).fill(2e38);
    x[0] = -2e38;
    expect(fakeQuantize(x, 'q4_1').every(Number.isFinite)).toBe(true);
  });

  it('serialized size of pow2 formats with scales narrower than 8 bits matches bitsPerElement', async () => {
    const formats = formatName({ kinds: ['mx', 'bdr'] }).filter((n) => getFormat(n).scaleElement!.bits < 8);
    await checkContract(serializedSize(ref, { cases: cases({ formats }) }), { numRuns: RUNS });
  });
});
