// The reference quantizer: boring, exact, one block at a time. Every other backend is judged
// against it. Arithmetic is exact float64 except where a step is documented as float32
// (`Math.fround`), which reproduces the float32 kernels of the references.
import { floorLog2F32, flog2, pow2, stochasticUniform } from '../bits.js';
import type { ElementFormat } from '../element.js';
import { EncodingError, MicroscaleError } from '../errors.js';
import type { Format } from '../format.js';
import { flatIndex, layoutOf, type Layout } from '../layout.js';
import type { ResolvedOptions } from '../options.js';
import { packCodes, packedByteLength } from '../pack.js';
import { QuantizedTensor, newScaleArray, scaleElementOf, storedElement, type ScaleArray } from '../quantized.js';
import { defaultTensorScale as defaultTensorScaleOf, kernelRules, type KernelRules } from '../derived.js';
import { decodeElement, encodeElement, type Rounding } from './element-codec.js';
import { ggmlMxfp4Block, ggmlNvfp4Block, ggmlScaledBlock } from './ggml.js';
import { encodeMicroxcaling } from './microxcaling.js';
import { sharedExponent } from './scale-rules.js';

const fround = Math.fround;
const TWO_M126 = pow2(-126);

/** Per-call state shared by the block quantizers. */
interface Ctx {
  readonly format: Format;
  readonly opts: ResolvedOptions;
  readonly layout: Layout;
  readonly el: ElementFormat;
  readonly scaleEl: ElementFormat | null;
  readonly codes: Uint16Array | Uint32Array;
  readonly scales: ScaleArray;
  readonly offsets: ScaleArray;
  readonly taus: Uint8Array | null;
  readonly rounding: Rounding;
  readonly stochastic: boolean;
  readonly rules: KernelRules;
  tensorScale: number;
  /** Flat input index of each value in `buf` (filled only for stochastic rounding). */
  readonly flat: Float64Array;
  readonly buf: Float64Array;
}

function uniformAt(ctx: Ctx, j: number): number {
  return ctx.stochastic ? stochasticUniform(ctx.opts.seed, ctx.flat[j]!) : 0;
}

function isFiniteNumber(v: number): boolean {
  return v - v === 0;
}

/** Quantize `x` into a packed {@link QuantizedTensor}. `opts` must come from resolveOptions. */
export function quantizeReference(x: Float32Array, format: Format, opts: ResolvedOptions, tensorScale?: number): QuantizedTensor {
  const layout = layoutOf(format, opts);
  const el = storedElement(format, opts.preset);
  const scaleEl = scaleElementOf(format, opts);
  const n = layout.n;
  const ctx: Ctx = {
    format,
    opts,
    layout,
    el,
    scaleEl,
    codes: el.bits <= 16 ? new Uint16Array(n) : new Uint32Array(n),
    scales: newScaleArray(scaleEl, layout.scaleCount),
    offsets: format.scaleRule === 'minMax' ? newScaleArray(scaleEl, layout.scaleCount) : new Uint8Array(0),
    taus: format.subBlock ? new Uint8Array(layout.subScaleCount) : null,
    rounding: opts.rounding,
    stochastic: opts.rounding === 'stochastic',
    rules: kernelRules(format, opts),
    tensorScale: 1,
    flat: new Float64Array(opts.rounding === 'stochastic' ? Math.max(layout.blockSize, 1) : 0),
    buf: new Float64Array(Math.max(layout.blockSize, 1)),
  };
  if (format.scheme === 'cast') {
    quantizeCast(ctx, x);
  } else {
    if (format.tensorScale) ctx.tensorScale = tensorScale ?? tensorAmaxScale(x, format);
    const bs = layout.blockSize;
    for (let row = 0; row < layout.rows; row++) {
      for (let b = 0; b < layout.blocksPerRow; b++) {
        const start = b * bs;
        const len = Math.min(bs, layout.rowLength - start);
        const pos = row * layout.rowLength + start;
        if (layout.inner === 1) {
          for (let j = 0; j < len; j++) ctx.buf[j] = x[pos + j]!;
          if (ctx.stochastic) for (let j = 0; j < len; j++) ctx.flat[j] = pos + j;
        } else {
          for (let j = 0; j < len; j++) {
            const f = flatIndex(layout, row, start + j);
            ctx.buf[j] = x[f]!;
            if (ctx.stochastic) ctx.flat[j] = f;
          }
        }
        const si = row * layout.blocksPerRow + b;
        if (format.scheme === 'pow2') pow2Block(ctx, len, pos, si, row * layout.subBlocksPerRow + start / (format.subBlock?.size ?? 1));
        else scaledBlock(ctx, len, pos, si);
      }
    }
  }
  const packed = packCodes(ctx.codes, el.bits, n);
  const subScales = format.subBlock ? packCodes(ctx.taus!, format.subBlock.bits) : new Uint8Array(0);
  return new QuantizedTensor({
    format,
    options: opts,
    codes: packed.length === packedByteLength(n, el.bits) ? packed : packed.subarray(0, packedByteLength(n, el.bits)),
    scales: ctx.scales,
    subScales,
    offsets: ctx.offsets,
    tensorScale: ctx.tensorScale,
  });
}

function quantizeCast(ctx: Ctx, x: Float32Array): void {
  const { el, codes, rounding } = ctx;
  const overflow = el.kind === 'float' ? el.overflow : 'saturate';
  for (let i = 0; i < x.length; i++) {
    const u = ctx.stochastic ? stochasticUniform(ctx.opts.seed, i) : 0;
    try {
      codes[i] = encodeElement(el, x[i]!, rounding, u, overflow);
    } catch (e) {
      if (e instanceof MicroscaleError) throw new EncodingError(`input[${i}] = ${x[i]}: ${e.message}`);
      throw e;
    }
  }
}

// ---------------------------------------------------------------------------- power-of-two blocks

function pow2Block(ctx: Ctx, len: number, pos: number, si: number, subBase: number): void {
  const { buf, el, codes, opts, format } = ctx;
  if (ctx.rules.ggmlQuantizers) return ggmlMxfp4Block(ctx, len, pos, si);
  const sb = opts.scaleBits;
  const smax = 2 ** (sb - 1) - 1;
  const nanScale = 2 ** sb - 1;
  const micro = ctx.rules.emulatorElementStep;
  // the emulator's shared exponent is the float32 log2's floor (its only scale rule is floor)
  const microLog2 = micro && opts.scaleMode === 'floor';
  const sub = format.subBlock;
  const tmax = sub ? 2 ** sub.bits - 1 : 0;
  let amax = 0;
  let finite = true;
  for (let j = 0; j < len; j++) {
    const v = buf[j]!;
    if (!isFiniteNumber(v)) finite = false;
    else if (Math.abs(v) > amax) amax = Math.abs(v);
  }
  const zeroCode = encodeElement(el, 0, 'rne');
  const fillZero = (scaleCode: number, tau: number, keepSign: boolean) => {
    ctx.scales[si] = scaleCode;
    for (let j = 0; j < len; j++) codes[pos + j] = keepSign ? encodeElement(el, buf[j]! * 0, 'rne') : zeroCode;
    if (sub) for (let j = 0; j < Math.ceil(len / sub.size); j++) ctx.taus![subBase + j] = tau;
  };
  if (!finite) return fillZero(nanScale, 0, false);
  // microxcaling flushes blocks whose (float32-log2) exponent is ≤ −127
  const flush = opts.flushSubnormalBlocks && amax > 0 && (microLog2 ? floorLog2F32(amax) <= -127 : amax < TWO_M126);
  if (amax === 0 || flush) {
    // microxcaling takes log2(2^-126) for an all-zero block and gives +0; OCP uses the smallest
    // scale and keeps each zero's sign (flushed blocks become +0).
    const s = micro ? Math.max(-126 - el.emax, -smax) : -smax;
    return fillZero(s + smax, tmax, !micro && amax === 0);
  }
  let s = microLog2 ? floorLog2F32(amax) - el.emax : sharedExponent(amax, opts.scaleMode, el);
  if (s > smax) return fillZero(nanScale, 0, false);
  if (s < -smax) s = -smax;
  ctx.scales[si] = s + smax;
  // Microexponents count down from the block's effective exponent (⌊log2 amax⌋ under floor, after
  // the clamp; the rounded-up exponent under ceil/even/rceil), so every rule uses the full range.
  const eBlock = s + el.emax;
  const k2 = sub ? sub.size : len;
  for (let j0 = 0; j0 < len; j0 += k2) {
    const end = Math.min(j0 + k2, len);
    let tau = 0;
    if (sub) {
      let smaxSub = 0;
      for (let j = j0; j < end; j++) smaxSub = Math.max(smaxSub, Math.abs(buf[j]!));
      tau = smaxSub === 0 ? tmax : Math.min(eBlock - flog2(smaxSub), tmax);
      ctx.taus![subBase + j0 / k2] = tau;
    }
    const inv = pow2(tau - s);
    for (let j = j0; j < end; j++) {
      const a = buf[j]! * inv;
      if (micro) {
        // the emulator divides in float32; ±0 inputs and float32 underflow give +0
        const a32 = fround(a);
        codes[pos + j] = encodeMicroxcaling(el, a32 === 0 ? 0 : a32, ctx.rounding, uniformAt(ctx, j));
      } else {
        codes[pos + j] = encodeElement(el, a, ctx.rounding, uniformAt(ctx, j));
      }
    }
  }
}

// ---------------------------------------------------------------------------- multiplicative scales

function tensorAmaxScale(x: Float32Array, format: Format): number {
  let amax = 0;
  for (let i = 0; i < x.length; i++) {
    const a = Math.abs(x[i]!);
    if (a > amax && a !== Infinity) amax = a;
  }
  return defaultTensorScaleOf(format, amax);
}

function scaledBlock(ctx: Ctx, len: number, pos: number, si: number): void {
  const { buf, el, codes, format, scaleEl } = ctx;
  const rule = format.scaleRule!;
  if (ctx.rules.ggmlQuantizers && el.kind === 'float') return ggmlNvfp4Block(ctx, len, pos, si);
  let amax = 0;
  let signedMax = 0;
  let lo = Infinity;
  let hi = -Infinity;
  let finite = true;
  for (let j = 0; j < len; j++) {
    const v = buf[j]!;
    if (!isFiniteNumber(v)) {
      finite = false;
      continue;
    }
    const a = Math.abs(v);
    if (a > amax) {
      amax = a;
      signedMax = v;
    }
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!finite) {
    ctx.scales[si] = encodeElement(scaleEl!, NaN, 'rne');
    if (rule === 'minMax') ctx.offsets[si] = encodeElement(scaleEl!, NaN, 'rne');
    const zero = encodeElement(el, 0, 'rne');
    for (let j = 0; j < len; j++) codes[pos + j] = zero;
    return;
  }
  if (ctx.rules.ggmlQuantizers) {
    ggmlScaledBlock(ctx, len, pos, si, { amax, signedMax, lo, hi });
    return;
  }
  const elMax = el.kind === 'int' ? el.kMax * pow2(-el.fracBits) : el.maxFinite;
  let d: number;
  let offset = 0;
  if (rule === 'absmax') {
    const m = ctx.opts.scaleUpperBound !== null ? Math.min(amax, ctx.opts.scaleUpperBound) : amax;
    d = fround(m / elMax);
    if (format.tensorScale) d = fround(d / ctx.tensorScale);
  } else if (rule === 'signedMax') {
    d = fround(signedMax / (el.kind === 'int' ? el.kMin * pow2(-el.fracBits) : -el.maxFinite));
  } else {
    if (len === 0) lo = hi = 0;
    d = fround((hi - lo) / elMax); // float64 difference and quotient, then float32 (the difference rounds when the exponents differ by more than 29)
    offset = lo;
  }
  if (format.scaleClamp) d = Math.min(Math.max(d, format.scaleClamp[0]), format.scaleClamp[1]);
  if (ctx.rules.scaleFloor !== null) d = Math.max(d, ctx.rules.scaleFloor);
  const scaleCode = encodeElement(scaleEl!, d, 'rne');
  ctx.scales[si] = scaleCode;
  const dq = decodeElement(scaleEl!, scaleCode);
  const total = format.tensorScale ? fround(ctx.tensorScale * dq) : dq;
  let offq = 0;
  if (rule === 'minMax') {
    const oc = encodeElement(scaleEl!, offset, 'rne');
    ctx.offsets[si] = oc;
    offq = decodeElement(scaleEl!, oc);
  }
  for (let j = 0; j < len; j++) {
    const v = buf[j]!;
    const centred = rule === 'minMax' ? fround(v - offq) : v;
    const a = total === 0 ? centred * 0 : fround(centred / total);
    codes[pos + j] = encodeElement(el, a, ctx.rounding, uniformAt(ctx, j));
  }
}

export type { Ctx as QuantizeContext };
