// gpu.js kernel bodies and their settings. A body only moves data (reads the input halves, finds the
// block and sub-block of its thread) and calls one entry point: native GLSL (exact, WebGL2) or the
// portable helpers (WebGL1, CPU mode). All index arithmetic stays below 2^24, where float and
// integer arithmetic agree; larger inputs are cut into dispatches by the caller.
import { IDIV_ENTRY, glslEntries, glslLibrary, type GlslEntry } from './glsl.js';
import type { KernelPlan } from './plan.js';
import { IDIV_FUNCTION, portableFunctions, type PortableFunction } from './portable.js';

/**
 * The kernels of a plan. `scan`: one thread per block (level 0) or per BDR sub-block (level 1)
 * finds the largest magnitude and returns the packed block info or the microexponent. `element`:
 * one thread per element returns its code (what = 0) or its fake-quantized value. `dequant`: one
 * thread per code returns its value.
 */
export type KernelKind = 'scan' | 'element' | 'dequant';

/** gpu.js argument types used here. */
export type ArgumentType = 'Array' | 'Float' | 'Integer';

/** Everything needed to create one gpu.js kernel. */
export interface KernelSpec {
  /** Cache key: equal keys compute the same function (the constants a kernel reads are in it). */
  readonly key: string;
  readonly source: string;
  readonly argumentTypes: Readonly<Record<string, ArgumentType>>;
  /** 'Array(2)': two values per thread in one texel (exact path: a code, or the halves of a float32). */
  readonly returnType: 'Number' | 'Array(2)';
  /** GLSL injected ahead of the kernel (exact path only). */
  readonly injected: string | null;
  readonly natives: readonly GlslEntry[];
  readonly functions: readonly PortableFunction[];
}

/** Exact kernels use native GLSL ES 3.00; portable ones the gpu.js-translated helpers. */
export type KernelFlavor = 'exact' | 'portable';

const lit = (n: number): string => `${n}.0`;

const STOCHASTIC_BLOCK: Record<string, ArgumentType> = { row0: 'Integer', l0: 'Integer', rowLength: 'Integer', inner: 'Integer', seedHi: 'Float', seedLo: 'Float' };
const STOCHASTIC_CAST: Record<string, ArgumentType> = { l0: 'Integer', seedHi: 'Float', seedLo: 'Float' };

/** The constants each kernel reads, as its cache key (so option changes recompile only what they touch). */
function constantsKey(p: KernelPlan, kind: KernelKind): string {
  const e = p.element;
  const k = p.block;
  if (kind === 'element') return p.key;
  const decode = [+e.isFloat, e.m, e.bias, e.emin, +e.signed, e.span, +e.hasZero, +e.hasSubnormals, e.topField, +e.infinity, e.nanKind, e.encoding, e.half, e.modulus].join(',');
  if (kind === 'dequant') return `${p.scheme}|${decode}|${k ? [k.smax, k.nanScale, k.size, k.subSize].join(',') : '-'}`;
  if (!k) throw new Error('internal: scalar formats have no scan kernel');
  return [k.size, k.subSize, k.tauMax, k.scaleMode, e.emax, k.smax, k.nanScale, k.zeroScale, k.evenThreshold, e.rceilSig, +k.flushSubnormalBlocks, +k.microxcaling].join(',');
}

/** The loop that finds the largest finite magnitude (as halves mh:ml) of `len` elements from `start`. */
function maxLoop(bound: number): string {
  return `  let mh = 0.0;
  let ml = 0.0;
  let bad = 0.0;
  for (let e = 0; e < ${bound}; e++) {
    if (e < len) {
      const p = (start + e) * 2.0;
      const lo = xs[p];
      const hi = xs[p + 1.0];
      let ah = hi;
      if (hi >= 32768.0) { ah = hi - 32768.0; }
      if (ah >= 32640.0) {
        bad = 1.0;
      } else if (ah > mh || (ah == mh && lo > ml)) {
        mh = ah;
        ml = lo;
      }
    }
  }`;
}

/**
 * The kernel of `kind` for `plan`. Block kernels see a chunk of `rows × rowLen` elements in blocked
 * order (blocks and sub-blocks never straddle a chunk's rows). Exact element and dequantize kernels
 * return Array(2) texels; portable ones return one number, selected by `what` / `part`.
 */
export function kernelSpec(kind: KernelKind, plan: KernelPlan, flavor: KernelFlavor): KernelSpec {
  const exact = flavor === 'exact';
  const stochastic = plan.rounding === 3;
  const argumentTypes: Record<string, ArgumentType> = {};
  let body: string;
  if (plan.scheme === 'cast') {
    if (kind === 'dequant') {
      argumentTypes.codes = 'Array';
      if (!exact) argumentTypes.part = 'Float';
      body = exact ? '  return msCastDequant(codes[this.thread.x]);' : '  return msCastDequantPart(codes[this.thread.x], part);';
    } else if (kind === 'element') {
      argumentTypes.xs = 'Array';
      if (stochastic) Object.assign(argumentTypes, STOCHASTIC_CAST);
      argumentTypes.what = 'Float';
      const extra = stochastic ? ', i, l0, seedHi, seedLo' : '';
      body = `  const i = this.thread.x * 1.0;
  return ${exact ? 'msCastElement' : 'msCastElementPart'}(xs[i * 2.0], xs[i * 2.0 + 1.0]${extra}, what);`;
    } else {
      throw new Error('internal: scalar formats have no scan kernel');
    }
  } else {
    const k = plan.block!;
    const bs = k.size;
    const k2 = k.subSize;
    const sub = k2 > 0;
    const blockOf = `const b = r * idiv(rowLen + ${lit(bs - 1)}, ${lit(bs)}) + idiv(l, ${lit(bs)});`;
    const subOf = sub ? `\n  const t = r * idiv(rowLen + ${lit(k2 - 1)}, ${lit(k2)}) + idiv(l, ${lit(k2)});` : '';
    const tauRead = sub ? ', taus[t]' : '';
    if (kind === 'scan') {
      argumentTypes.xs = 'Array';
      if (sub) argumentTypes.info = 'Array';
      argumentTypes.rowLen = 'Float';
      if (sub) argumentTypes.level = 'Float';
      const size = sub ? `let size = ${lit(bs)};\n  if (level > 0.5) { size = ${lit(k2)}; }` : `const size = ${lit(bs)};`;
      const finish = sub ? '  if (level > 0.5) { return msSubTau(info[b], mh, ml); }\n  return msBlockInfo(mh, ml, bad);' : '  return msBlockInfo(mh, ml, bad);';
      body = `  const ti = this.thread.x * 1.0;
  ${size}
  const per = idiv(rowLen + size - 1.0, size);
  const r = idiv(ti, per);
  const j = ti - r * per;
  const start = r * rowLen + j * size;
  const len = Math.min(size, rowLen - j * size);
  const b = r * idiv(rowLen + ${lit(bs - 1)}, ${lit(bs)}) + idiv(j * size, ${lit(bs)});
${maxLoop(bs)}
${finish}`;
    } else if (kind === 'element') {
      argumentTypes.xs = 'Array';
      argumentTypes.info = 'Array';
      if (sub) argumentTypes.taus = 'Array';
      argumentTypes.rowLen = 'Float';
      if (stochastic) Object.assign(argumentTypes, STOCHASTIC_BLOCK);
      argumentTypes.what = 'Float';
      const extra = stochastic ? ', i, rowLen, row0, l0, rowLength, inner, seedHi, seedLo' : '';
      body = `  const i = this.thread.x * 1.0;
  const r = idiv(i, rowLen);
  const l = i - r * rowLen;
  ${blockOf}${subOf}
  return ${exact ? 'msElement' : 'msElementPart'}(xs[i * 2.0], xs[i * 2.0 + 1.0], info[b]${tauRead}${extra}, what);`;
    } else {
      argumentTypes.codes = 'Array';
      argumentTypes.scales = 'Array';
      if (sub) argumentTypes.taus = 'Array';
      argumentTypes.rowLen = 'Float';
      if (!exact) argumentTypes.part = 'Float';
      body = `  const i = this.thread.x * 1.0;
  const r = idiv(i, rowLen);
  const l = i - r * rowLen;
  ${blockOf}${subOf}
  return ${exact ? 'msDequant' : 'msDequantPart'}(codes[i], scales[b]${tauRead}${exact ? '' : ', part'});`;
    }
  }
  const source = `function (${Object.keys(argumentTypes).join(', ')}) {\n${body}\n}`;
  return {
    key: `${flavor}|${kind}|${constantsKey(plan, kind)}`,
    source,
    argumentTypes,
    returnType: exact && kind !== 'scan' ? 'Array(2)' : 'Number',
    injected: exact ? glslLibrary(plan, kind) : null,
    natives: exact ? glslEntries(plan, kind) : [],
    functions: exact ? [] : portableFunctions(plan),
  };
}

/** Products summed per thread in the matmul; the declared error bound follows from it. */
export const MATMUL_CHUNK = 64;

/** Partial dot products: thread t = (i·N + n)·KC + c sums a[i, k]·w[n, k] for k in chunk c, in float32. */
export function matmulSpec(flavor: KernelFlavor): KernelSpec {
  // plain float arithmetic (indices stay below 2^24): the same body serves every context
  const source = `function (a, w, K, kc, nn) {
  const t = this.thread.x * 1.0;
  const o = idiv(t, kc);
  const c = t - o * kc;
  const i = idiv(o, nn);
  const n = o - i * nn;
  let s = 0.0;
  for (let j = 0; j < ${MATMUL_CHUNK}; j++) {
    const k = c * ${lit(MATMUL_CHUNK)} + j;
    if (k < K) {
      s += a[i * K + k] * w[n * K + k];
    }
  }
  return s;
}`;
  return {
    key: `${flavor}|matmul|${MATMUL_CHUNK}`,
    source,
    argumentTypes: { a: 'Array', w: 'Array', K: 'Float', kc: 'Float', nn: 'Float' },
    returnType: 'Number',
    injected: null,
    natives: flavor === 'exact' ? [IDIV_ENTRY] : [],
    functions: flavor === 'exact' ? [] : [IDIV_FUNCTION],
  };
}
