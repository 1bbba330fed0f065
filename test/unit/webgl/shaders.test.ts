// Kernel plans and generated kernel text, checked without a GPU: constants derived from descriptors
// against literal spec values, what each kernel includes, cache keys, and what is left to the reference.
import { describe, expect, it } from 'vitest';
import { getFormat, listFormats, type QuantizeOptions } from '../../../src/index.js';
import { resolveOptions } from '../../../src/formats/options.js';
import { glslEntries, glslLibrary } from '../../../src/kernels/webgl/glsl.js';
import { MATMUL_CHUNK, kernelSpec, matmulSpec, type KernelKind } from '../../../src/kernels/webgl/kernels.js';
import { MAX_KERNEL_BLOCK, dequantizePlan, quantizePlan, type KernelPlan } from '../../../src/kernels/webgl/plan.js';
import { portableFunctions } from '../../../src/kernels/webgl/portable.js';

function plan(name: string, opts: QuantizeOptions = {}, allowStochastic = true): KernelPlan {
  const f = getFormat(name);
  const r = quantizePlan(f, resolveOptions(f, 64, opts), allowStochastic);
  if (!r.plan) throw new Error(`no plan for ${name}: ${r.reason}`);
  return r.plan;
}

function constant(src: string, name: string): string {
  const m = new RegExp(`const \\w+ ${name} = ([^;]+);`).exec(src);
  if (!m) throw new Error(`no constant ${name}`);
  return m[1]!;
}

describe('plans: constants derived from descriptors equal the spec values', () => {
  it('MXFP4 (E2M1, OCP §5.3.3): emax 2, max 6, no Inf/NaN, E8M0 scale', () => {
    const p = plan('mxfp4');
    expect(p.scheme).toBe('pow2');
    expect(p.element).toMatchObject({ isFloat: true, bits: 4, m: 1, bias: 1, emin: 0, emax: 2, topExpField: 3, topManField: 1, nanKind: 0, infinity: false, signCode: 8 });
    expect(p.element.rceilSig).toBe(0xc00000); // 6 = 1.5 · 2^2
    expect(p.element.overflowCode).toBe(7); // saturates at ±6
    expect(p.block).toMatchObject({ size: 32, smax: 127, nanScale: 255, zeroScale: 0, subSize: 0, tauMax: 0 });
  });

  it('MXFP8 E4M3: max 448 (top mantissa 6 in the top exponent), NaN only at S.1111.111', () => {
    const e = plan('mxfp8_e4m3').element;
    expect(e).toMatchObject({ m: 3, bias: 7, emin: -6, emax: 8, topExpField: 15, topManField: 6, nanKind: 2, nanCode: 127 });
    expect(e.rceilSig).toBe(448 * 2 ** (23 - 8));
  });

  it('FP16 cast: overflow → Inf under rne, → 65504 under rtz (IEEE 754 §7.4); Inf code 0x7c00; NaN 0x7e00', () => {
    expect(plan('fp16').element).toMatchObject({ overflowCode: 0x7c00, infinityCode: 0x7c00, nanCode: 0x7e00, infinity: true, nanKind: 1 });
    expect(plan('fp16', { rounding: 'rtz' }).element.overflowCode).toBe(0x7bff);
    expect(plan('fp8_e4m3').element.overflowCode).toBe(0x7e); // OFP8 E4M3 saturates
  });

  it('MXINT8: integer element k · 2^-6, |k| ≤ 127, two’s complement; the emulator preset stores sign-magnitude', () => {
    expect(plan('mxint8').element).toMatchObject({ isFloat: false, m: 6, kMax: 127, half: 128, modulus: 256, encoding: 0, emax: 0 });
    const micro = plan('mxint8', { preset: 'microxcaling' });
    expect(micro.element.encoding).toBe(1);
    expect(micro.rounding).toBe(1); // the preset's default rounding is rna
    expect(micro.block!.microxcaling).toBe(true);
    expect(micro.block!.zeroScale).toBe(-126 + 127); // log2(2^-126) − emax(0), biased
  });

  it('MX9 (BDR m=7, k1=16, d1=8, k2=2, d2=1): sign-magnitude 8-bit element, 1-bit microexponent per pair', () => {
    const p = plan('mx9');
    expect(p.element).toMatchObject({ isFloat: false, bits: 8, m: 6, kMax: 127, encoding: 1 });
    expect(p.block).toMatchObject({ size: 16, subSize: 2, tauMax: 1, subBits: 1 });
  });

  it('scale options: scaleBits, the EVEN threshold, flush', () => {
    const p = plan('mxfp4', { scaleBits: 5, scaleMode: 'even', flushSubnormalBlocks: true });
    expect(p.block).toMatchObject({ smax: 15, nanScale: 31, zeroScale: 0, scaleMode: 2, flushSubnormalBlocks: true });
    // amax rounds up to the next binade when its significand ≥ 2 − 2^-(m+1) = 1.75 for E2M1
    expect(p.block!.evenThreshold).toBe(1.75 * 2 ** 23);
  });

  it('what the kernels leave to the reference, with reasons', () => {
    const reason = (name: string, opts: QuantizeOptions = {}, allowStochastic = true) => {
      const f = getFormat(name);
      return quantizePlan(f, resolveOptions(f, 64, opts), allowStochastic).reason;
    };
    expect(reason('nvfp4')).toMatch(/multiplicative/);
    expect(reason('q4_0')).toMatch(/multiplicative/);
    expect(reason('int8_channel', { shape: [4, 16] })).toMatch(/multiplicative/);
    expect(reason('ggml_mxfp4', { preset: 'ggml' })).toMatch(/ggml/);
    expect(reason('fp32')).toMatch(/16 bits/);
    expect(reason('mxfp4', { rounding: 'stochastic' }, false)).toMatch(/stochastic/);
    expect(reason('mxfp4', { rounding: 'stochastic' }, true)).toBeUndefined();
    expect(reason('ggml_mxfp4')).toBeUndefined();
    const big = getFormat('mxfp4');
    expect(quantizePlan(big, resolveOptions(big, MAX_KERNEL_BLOCK * 2, { blockSize: 0 }), true).reason).toMatch(/blocks of/);
    expect(dequantizePlan(getFormat('q8_0'), resolveOptions(getFormat('q8_0'), 64, {})).reason).toMatch(/multiplicative/);
  });

  it('every OCP MX, MX extension, BDR and scalar format of ≤ 16 bits gets a kernel plan', () => {
    const missing: string[] = [];
    for (const f of listFormats()) {
      if (f.scheme === 'scaled' || f.element.bits > 16) continue;
      const r = quantizePlan(f, resolveOptions(f, 64, {}), true);
      const d = dequantizePlan(f, resolveOptions(f, 64, {}));
      if (!r.plan || !d.plan) missing.push(`${f.name}: ${r.reason ?? d.reason}`);
    }
    expect(missing).toEqual([]);
  });
});

describe('exact GLSL text', () => {
  const kinds: KernelKind[] = ['scan', 'element', 'dequant'];

  it('bakes the plan constants in and never names a format', () => {
    for (const name of ['mxfp4', 'mx9', 'mxfp8_e5m2', 'fp16', 'int4']) {
      const p = plan(name);
      for (const kind of p.scheme === 'cast' ? (['element', 'dequant'] as const) : kinds) {
        const lib = glslLibrary(p, kind);
        expect(lib.startsWith('precision highp float;\nprecision highp int;')).toBe(true);
        expect(lib).not.toContain(name);
        expect(constant(lib, 'EL_M')).toBe(String(p.element.m));
        expect(constant(lib, 'EMAX')).toBe(String(p.element.emax));
        expect(constant(lib, 'ROUND_MODE')).toBe(String(p.rounding));
        // integer bit manipulation only: no float rounding builtins in the helpers
        expect(lib).not.toMatch(/\b(round|roundEven|floor|log2|exp2|pow)\s*\(/);
      }
    }
    expect(constant(glslLibrary(plan('mxfp8_e4m3'), 'element'), 'EL_OVF_CODE')).toBe('126u');
    expect(constant(glslLibrary(plan('mxfp4', { scaleBits: 5 }), 'scan'), 'SMAX')).toBe('15');
  });

  it('each kernel carries only the helpers it calls', () => {
    const p = plan('mxfp4');
    const scan = glslLibrary(p, 'scan');
    expect(scan).toContain('int ms_flog2(uint a)');
    expect(scan).not.toContain('ms_encode');
    const element = glslLibrary(p, 'element');
    expect(element).toContain('uint ms_encode_float(');
    expect(element).toContain('uint ms_compose(');
    expect(element).not.toContain('ms_draw'); // no stochastic rounding
    expect(element).not.toContain('ms_fround('); // not the emulator preset
    expect(glslLibrary(plan('mxfp4', { rounding: 'stochastic' }), 'element')).toContain('x *= 0x7feb352du;');
    expect(glslLibrary(plan('mxfp4', { preset: 'microxcaling' }), 'element')).toContain('ms_fround(neg, sig, q);');
    const dequant = glslLibrary(p, 'dequant');
    expect(dequant).toContain('uint ms_block_value(');
    expect(dequant).not.toContain('ms_encode');
  });

  it('entry points have float/int signatures gpu.js can parse, and match the bodies that call them', () => {
    for (const name of ['mxfp4', 'mx6', 'bf16']) {
      for (const opts of [{}, { rounding: 'stochastic' as const }]) {
        const p = plan(name, opts);
        for (const kind of p.scheme === 'cast' ? (['element', 'dequant'] as const) : kinds) {
          const spec = kernelSpec(kind, p, 'exact');
          for (const e of glslEntries(p, kind)) {
            const sig = /^(float|vec2) (\w+)\(([^)]*)\)/.exec(e.source);
            expect(sig, e.source).not.toBeNull();
            expect(sig![2]).toBe(e.name);
            for (const arg of sig![3]!.split(',')) expect(arg.trim()).toMatch(/^(float|int) \w+$/);
            if (e.name !== 'idiv') expect(spec.source).toContain(`${e.name}(`);
          }
          expect(spec.returnType).toBe(kind === 'scan' ? 'Number' : 'Array(2)');
        }
      }
    }
  });

  it('kernel bodies are gpu.js functions whose parameters are the declared arguments', () => {
    const p = plan('mx9', { rounding: 'stochastic' });
    const spec = kernelSpec('element', p, 'exact');
    expect(spec.source).toMatch(/^function \(xs, info, taus, rowLen, row0, l0, rowLength, inner, seedHi, seedLo, what\) \{/);
    expect(spec.argumentTypes).toMatchObject({ xs: 'Array', info: 'Array', taus: 'Array', rowLen: 'Float', row0: 'Integer', what: 'Float' });
    expect(() => new Function(`return (${spec.source})`)()).not.toThrow();
    // the microexponent lookup uses the sub-block size, the scale lookup the block size
    expect(spec.source).toContain('idiv(l, 2.0)');
    expect(spec.source).toContain('idiv(l, 16.0)');
    const scan = kernelSpec('scan', p, 'exact');
    expect(scan.source).toContain('for (let e = 0; e < 16; e++)');
  });

  it('cache keys: options recompile only the kernels that read them', () => {
    const base = plan('mxfp4');
    const rna = plan('mxfp4', { rounding: 'rna' });
    const ceil = plan('mxfp4', { scaleMode: 'ceil' });
    const key = (p: KernelPlan, k: KernelKind) => kernelSpec(k, p, 'exact').key;
    expect(key(rna, 'scan')).toBe(key(base, 'scan'));
    expect(key(rna, 'dequant')).toBe(key(base, 'dequant'));
    expect(key(rna, 'element')).not.toBe(key(base, 'element'));
    expect(key(ceil, 'scan')).not.toBe(key(base, 'scan'));
    expect(key(ceil, 'dequant')).toBe(key(base, 'dequant'));
    expect(kernelSpec('element', base, 'portable').key).not.toBe(key(base, 'element'));
    expect(plan('mxfp4', { blockSize: 16 }).key).not.toBe(base.key);
  });
});

describe('portable kernels (WebGL1, headless-gl, CPU mode)', () => {
  it('are plain JavaScript functions of numbers, with the plan constants baked in', () => {
    for (const name of ['mxfp4', 'mx9', 'fp16', 'int(b=6,f=3,enc=offset)']) {
      const p = plan(name, {}, false);
      const fns = portableFunctions(p);
      const names = fns.map((f) => f.name);
      expect(new Set(names).size).toBe(names.length);
      for (const f of fns) {
        const made = new Function(`return (${f.source})`)() as (...a: number[]) => number;
        expect(made.length).toBe(f.argumentCount);
        expect(f.source).not.toContain(name);
        expect(f.source).not.toMatch(/Math\.(round|log2|pow)\b/);
      }
      const kinds: KernelKind[] = p.scheme === 'cast' ? ['element', 'dequant'] : ['scan', 'element', 'dequant'];
      for (const kind of kinds) {
        const spec = kernelSpec(kind, p, 'portable');
        expect(spec.injected).toBeNull();
        expect(spec.natives).toEqual([]);
        expect(spec.returnType).toBe('Number');
        for (const call of spec.source.matchAll(/\b(ms\w+|idiv)\(/g)) expect(names).toContain(call[1]);
      }
    }
  });

  it('have a call graph gpu.js orders correctly: a helper with callees has a single caller', () => {
    // gpu.js emits translated functions in the order of a call-graph walk that moves a function seen
    // twice to the end without moving its callees, so GLSL would see such a function before them.
    for (const [name, opts] of [
      ['mxint8', { preset: 'microxcaling' }],
      ['mx9', {}],
      ['int(b=6,f=3,enc=offset)', {}],
      ['fp16', { rounding: 'rtz' }],
      ['fp(e=3,m=2,sub=0)', {}],
    ] as const) {
      const p = plan(name, opts, false);
      const fns = portableFunctions(p);
      const calls = new Map(fns.map((f) => [f.name, new Set([...f.source.slice(f.source.indexOf('{')).matchAll(/\b(ms\w+|idiv)\(/g)].map((m) => m[1]!))]));
      for (const kind of (p.scheme === 'cast' ? ['element', 'dequant'] : ['scan', 'element', 'dequant']) as KernelKind[]) {
        const body = kernelSpec(kind, p, 'portable').source;
        const roots = new Set([...body.matchAll(/\b(ms\w+|idiv)\(/g)].map((m) => m[1]!));
        const reached = new Set<string>();
        const visit = (n: string) => {
          if (reached.has(n)) return;
          reached.add(n);
          for (const c of calls.get(n) ?? []) visit(c);
        };
        roots.forEach(visit);
        for (const n of reached) {
          const callers = [...reached].filter((m) => calls.get(m)?.has(n)).length + (roots.has(n) ? 1 : 0);
          if ((calls.get(n)?.size ?? 0) > 0) expect(callers, `${name} ${kind}: ${n}`).toBe(1);
        }
      }
    }
  });

  it('compute what the reference computes when run as plain JavaScript', async () => {
    // Evaluate the helpers directly (no gpu.js) on MXFP4: codes of a block with a known scale.
    const { quantize, dequantize } = await import('../../../src/index.js');
    const p = plan('mxfp4', {}, false);
    const scope = new Function(`${portableFunctions(p).map((f) => f.source).join('\n')}; return { msBlockInfo, msElementPart };`)() as {
      msBlockInfo: (mh: number, ml: number, bad: number) => number;
      msElementPart: (lo: number, hi: number, info: number, what: number) => number;
    };
    const x = new Float32Array([0.3, -1.7, 5.9, 2.5, -0.0, 1e-40, 12, -3.1]);
    const bits = new Uint32Array(x.buffer);
    let amax = 0;
    for (const b of bits) amax = Math.max(amax, b & 0x7fffffff);
    const info = scope.msBlockInfo(amax >>> 16, amax & 0xffff, 0);
    const q = quantize(x, 'mxfp4');
    expect(info % 256).toBe(q.scales[0]);
    const want = dequantize(q);
    const wantBits = new Uint32Array(want.buffer);
    bits.forEach((b, j) => {
      const code = scope.msElementPart(b & 0xffff, b >>> 16, info, 0);
      expect(code).toBe(j % 2 ? q.codes[j >> 1]! >> 4 : q.codes[j >> 1]! & 15);
      const hi = scope.msElementPart(b & 0xffff, b >>> 16, info, 1);
      const lo = scope.msElementPart(b & 0xffff, b >>> 16, info, 2);
      expect(((hi << 16) | lo) >>> 0).toBe(wantBits[j]);
    });
  });
});

describe('matmul kernel', () => {
  it('sums a fixed chunk of products per thread (the declared bound is (chunk + 2) · 2^-24)', () => {
    const spec = matmulSpec('exact');
    expect(spec.source).toContain(`for (let j = 0; j < ${MATMUL_CHUNK}; j++)`);
    expect(spec.argumentTypes).toEqual({ a: 'Array', w: 'Array', K: 'Float', kc: 'Float', nn: 'Float' });
    expect(spec.natives.map((n) => n.name)).toEqual(['idiv']);
    expect(matmulSpec('portable').functions.map((f) => f.name)).toEqual(['idiv']);
  });
});
