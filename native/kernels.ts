// microscale WASM kernels. Every kernel reads a job (the descriptor's derived constants and the
// buffers) from linear memory at `P`, written by src/kernels/wasm/params.ts and converted once by
// `prepare`; kernels never see a format's name. Ranges are in blocks (elements for casts, rows for
// matmul) so the worker pool can split a tensor between threads that share one memory. The job
// ABI (slots, struct offsets, enum codes) comes from ./abi, generated from src/kernels/wasm/job-layout.ts.
import {
  BLOCK_ELEMENT,
  BLOCK_SCALE,
  D_BIAS,
  D_BITS,
  D_EMAX,
  D_EMIN,
  D_ENCODING,
  D_EXP_BITS,
  D_FRAC_BITS,
  D_INFINITY,
  D_KIND,
  D_K_MAX,
  D_K_MIN,
  D_LARGEST,
  D_MAN_BITS,
  D_MAX_FINITE,
  D_MOST_NEGATIVE,
  D_NAN,
  D_NEGATIVE_ZERO_CODE,
  D_OVERFLOW,
  D_ROUNDING_BITS,
  D_SIGNED,
  D_SUBNORMALS,
  D_TOP_EXP_FIELD,
  D_TOP_MAN_FIELD,
  D_ZERO,
  D_ZERO_CODE,
  J_BLOCKS_PER_ROW,
  J_BLOCK_SIZE,
  J_CLAMP_HI,
  J_CLAMP_LO,
  J_CODES,
  J_EL_IS_F32,
  J_EMULATOR_ELEMENT_STEP,
  J_FAST_DEQUANTIZE,
  J_FAST_QUANTIZE,
  J_FLUSH,
  J_GGML_QUANTIZERS,
  J_HAS_CLAMP,
  J_SCALE_FLOOR,
  J_SCALE_MAX,
  J_GGML_VALUES,
  J_HAS_TENSOR_SCALE,
  J_HAS_UPPER,
  J_INFINITY_MAGNITUDE_CODE,
  J_INNER,
  J_LOG2_TABLE,
  J_LUT,
  J_LUT32,
  J_MATMUL_MODE,
  J_MATMUL_SHIFT,
  J_MATMUL_SPECIAL,
  J_MATMUL_TABLE,
  J_MAX_MAGNITUDE_CODE,
  J_N,
  J_NAN_CODE,
  J_OFFSETS,
  J_OUT,
  J_POW2_NAN_CODE,
  J_ROUNDING,
  J_ROWS,
  J_ROW_LENGTH,
  J_RULE,
  J_SCALES,
  J_SCALE_BITS,
  J_SCALE_BYTES,
  J_SCALE_IS_F32,
  J_SCALE_LUT,
  J_SCALE_MODE,
  J_SCALE_NAN_CODE,
  J_SCHEME,
  J_SEED,
  J_SUB_BITS,
  J_SUB_PER_ROW,
  J_SUB_SCALES,
  J_SUB_SIZE,
  J_TENSOR_SCALE,
  J_UPPER,
  J_X,
  MODE_CEIL,
  MODE_EVEN,
  MODE_FLOOR,
  OFF_ELEMENT_FLOAT,
  OFF_ELEMENT_INT,
  OFF_JOB,
  OFF_SCALE_FLOAT,
  OVERFLOW_INFINITY,
  OVERFLOW_SATURATE,
  ROUND_RNA,
  ROUND_RNE,
  ROUND_RTZ,
  ROUND_STOCHASTIC,
  RULE_ABSMAX,
  RULE_MIN_MAX,
  RULE_SIGNED_MAX,
  SCHEME_CAST,
  SCHEME_POW2,
} from './abi';
import {
  FloatParams,
  IntParams,
  roundMagnitude,
  encodeFloat,
  encodeInt,
  flog2,
  pow2,
  seedMix,
  stochasticUniform,
} from './codec';

@unmanaged
class Job {
  scheme: i32 = 0;
  elIsFloat: bool = false;
  elBits: i32 = 0;
  elOverflow: i32 = 0;
  zeroCode: i64 = 0;
  negZeroCode: i64 = 0;
  emax: i32 = 0;
  roundingBits: i32 = 0;
  maxFinite: f64 = 0;
  elMax: f64 = 0;
  signedDen: f64 = 0;
  n: i32 = 0;
  rows: i32 = 0;
  rowLength: i32 = 0;
  inner: i32 = 0;
  bs: i32 = 0;
  bpr: i32 = 0;
  subSize: i32 = 0;
  subBits: i32 = 0;
  subPerRow: i32 = 0;
  rounding: i32 = 0;
  seedMix: u32 = 0;
  scaleBits: i32 = 0;
  micro: bool = false;
  ggml: bool = false;
  flush: bool = false;
  scaleMode: i32 = 0;
  rule: i32 = 0;
  upper: f64 = 0;
  hasUpper: bool = false;
  hasTensorScale: bool = false;
  tensorScale: f64 = 0;
  clampLo: f64 = 0;
  clampHi: f64 = 0;
  hasClamp: bool = false;
  scaleFloor: f64 = 0;
  scaleMax: f64 = 0;
  scaleBytes: i32 = 0;
  scaleNanCode: i64 = 0;
  scaleIsF32: bool = false;
  elIsF32: bool = false;
  fastDeq: bool = false;
  fastQuant: i32 = 0;
  maxMagCode: i32 = 0;
  infMagCode: i32 = 0;
  nanCode: i32 = 0;
  x: usize = 0;
  codes: usize = 0;
  scales: usize = 0;
  subs: usize = 0;
  offsets: usize = 0;
  out: usize = 0;
  lut: usize = 0;
  scaleLut: usize = 0;
  log2Table: usize = 0;
  lut32: usize = 0;
  ggmlValues: usize = 0;
  mmMode: i32 = 0;
  mmShift: i32 = 0;
  mmTab: usize = 0;
  mmSpecial: i32 = 0;
  pow2Nan: i32 = 0;
}

// @ts-ignore: decorator
@inline function slot(P: usize, i: i32): f64 {
  return load<f64>(P + (<usize>i << 3));
}
// @ts-ignore: decorator
@inline function islot(P: usize, i: i32): i32 {
  return <i32>load<f64>(P + (<usize>i << 3));
}
// @ts-ignore: decorator
@inline function uslot(P: usize, i: i32): usize {
  return <usize>load<f64>(P + (<usize>i << 3));
}

function fillFloat(P: usize, base: i32, f: FloatParams): void {
  f.bits = islot(P, base + D_BITS);
  f.expBits = islot(P, base + D_EXP_BITS);
  f.manBits = islot(P, base + D_MAN_BITS);
  f.bias = islot(P, base + D_BIAS);
  f.signed = islot(P, base + D_SIGNED) != 0;
  f.infinity = islot(P, base + D_INFINITY) != 0;
  f.nan = islot(P, base + D_NAN);
  f.subnormals = islot(P, base + D_SUBNORMALS) != 0;
  f.zero = islot(P, base + D_ZERO) != 0;
  f.topExpField = islot(P, base + D_TOP_EXP_FIELD);
  f.topManField = islot(P, base + D_TOP_MAN_FIELD);
  f.emin = islot(P, base + D_EMIN);
}

/** Convert the f64 slots at P into the typed structs the kernels read. Call once per job, before any range. */
export function prepare(P: usize): void {
  const J = changetype<Job>(P + OFF_JOB);
  const ef = changetype<FloatParams>(P + OFF_ELEMENT_FLOAT);
  const sf = changetype<FloatParams>(P + OFF_SCALE_FLOAT);
  const ei = changetype<IntParams>(P + OFF_ELEMENT_INT);
  fillFloat(P, BLOCK_ELEMENT, ef);
  fillFloat(P, BLOCK_SCALE, sf);
  ei.bits = islot(P, BLOCK_ELEMENT + D_BITS);
  ei.fracBits = islot(P, BLOCK_ELEMENT + D_FRAC_BITS);
  ei.encoding = islot(P, BLOCK_ELEMENT + D_ENCODING);
  ei.kMax = slot(P, BLOCK_ELEMENT + D_K_MAX);
  ei.kMin = slot(P, BLOCK_ELEMENT + D_K_MIN);
  J.scheme = islot(P, J_SCHEME);
  J.elIsFloat = islot(P, BLOCK_ELEMENT + D_KIND) == 0;
  J.elBits = islot(P, BLOCK_ELEMENT + D_BITS);
  J.elOverflow = islot(P, BLOCK_ELEMENT + D_OVERFLOW);
  J.zeroCode = <i64>slot(P, BLOCK_ELEMENT + D_ZERO_CODE);
  J.negZeroCode = <i64>slot(P, BLOCK_ELEMENT + D_NEGATIVE_ZERO_CODE);
  J.emax = islot(P, BLOCK_ELEMENT + D_EMAX);
  J.roundingBits = islot(P, BLOCK_ELEMENT + D_ROUNDING_BITS);
  J.maxFinite = slot(P, BLOCK_ELEMENT + D_MAX_FINITE);
  J.elMax = slot(P, BLOCK_ELEMENT + D_LARGEST);
  J.signedDen = slot(P, BLOCK_ELEMENT + D_MOST_NEGATIVE);
  J.n = islot(P, J_N);
  J.rows = islot(P, J_ROWS);
  J.rowLength = islot(P, J_ROW_LENGTH);
  J.inner = islot(P, J_INNER);
  J.bs = islot(P, J_BLOCK_SIZE);
  J.bpr = islot(P, J_BLOCKS_PER_ROW);
  J.subSize = islot(P, J_SUB_SIZE);
  J.subBits = islot(P, J_SUB_BITS);
  J.subPerRow = islot(P, J_SUB_PER_ROW);
  J.rounding = islot(P, J_ROUNDING);
  J.seedMix = seedMix(<u32>(<i64>slot(P, J_SEED)));
  J.scaleBits = islot(P, J_SCALE_BITS);
  J.micro = islot(P, J_EMULATOR_ELEMENT_STEP) != 0;
  J.ggml = islot(P, J_GGML_QUANTIZERS) != 0;
  J.flush = islot(P, J_FLUSH) != 0;
  J.scaleMode = islot(P, J_SCALE_MODE);
  J.rule = islot(P, J_RULE);
  J.upper = slot(P, J_UPPER);
  J.hasUpper = islot(P, J_HAS_UPPER) != 0;
  J.hasTensorScale = islot(P, J_HAS_TENSOR_SCALE) != 0;
  J.tensorScale = slot(P, J_TENSOR_SCALE);
  J.clampLo = slot(P, J_CLAMP_LO);
  J.clampHi = slot(P, J_CLAMP_HI);
  J.hasClamp = islot(P, J_HAS_CLAMP) != 0;
  J.scaleFloor = slot(P, J_SCALE_FLOOR);
  J.scaleMax = slot(P, J_SCALE_MAX);
  J.scaleBytes = islot(P, J_SCALE_BYTES);
  J.scaleNanCode = <i64>slot(P, J_SCALE_NAN_CODE);
  J.scaleIsF32 = islot(P, J_SCALE_IS_F32) != 0;
  J.elIsF32 = islot(P, J_EL_IS_F32) != 0;
  J.fastDeq = islot(P, J_FAST_DEQUANTIZE) != 0;
  J.fastQuant = islot(P, J_FAST_QUANTIZE);
  J.maxMagCode = islot(P, J_MAX_MAGNITUDE_CODE);
  J.infMagCode = islot(P, J_INFINITY_MAGNITUDE_CODE);
  J.nanCode = islot(P, J_NAN_CODE);
  J.x = uslot(P, J_X);
  J.codes = uslot(P, J_CODES);
  J.scales = uslot(P, J_SCALES);
  J.subs = uslot(P, J_SUB_SCALES);
  J.offsets = uslot(P, J_OFFSETS);
  J.out = uslot(P, J_OUT);
  J.lut = uslot(P, J_LUT);
  J.scaleLut = uslot(P, J_SCALE_LUT);
  J.log2Table = uslot(P, J_LOG2_TABLE);
  J.lut32 = uslot(P, J_LUT32);
  J.ggmlValues = uslot(P, J_GGML_VALUES);
  J.mmMode = islot(P, J_MATMUL_MODE);
  J.mmShift = islot(P, J_MATMUL_SHIFT);
  J.mmTab = uslot(P, J_MATMUL_TABLE);
  J.mmSpecial = islot(P, J_MATMUL_SPECIAL);
  J.pow2Nan = islot(P, J_POW2_NAN_CODE);
}

// ---------------------------------------------------------------------------------- bit streams

// One writer for element codes and one for microexponents; per instance, hence per thread.
let wPtr: usize = 0;
let wAcc: u64 = 0;
let wN: i32 = 0;
let wBits: i32 = 0;
let wMask: u64 = 0;
let tPtr: usize = 0;
let tAcc: u64 = 0;
let tN: i32 = 0;
let tBits: i32 = 0;

function writerStart(base: usize, index: i32, bits: i32): void {
  const bit = <u64>index * <u64>bits;
  wPtr = base + <usize>(bit >> 3);
  wN = <i32>(bit & 7);
  wAcc = wN != 0 ? <u64>load<u8>(wPtr) & ((<u64>1 << wN) - 1) : 0;
  wBits = bits;
  wMask = bits >= 64 ? <u64>-1 : (<u64>1 << bits) - 1;
}

// @ts-ignore: decorator
@inline function push(code: i64): void {
  wAcc |= (<u64>code & wMask) << <u64>wN;
  wN += wBits;
  if (wN >= 32) {
    store<u32>(wPtr, <u32>wAcc);
    wPtr += 4;
    wAcc >>= 32;
    wN -= 32;
  }
}

function writerEnd(): void {
  while (wN >= 8) {
    store<u8>(wPtr, <u8>wAcc);
    wPtr++;
    wAcc >>= 8;
    wN -= 8;
  }
  if (wN > 0) {
    const keep = <u32>load<u8>(wPtr) & ~((<u32>1 << wN) - 1);
    store<u8>(wPtr, <u8>(keep | <u32>wAcc));
  }
}

function tauStart(base: usize, index: i32, bits: i32): void {
  const bit = <u64>index * <u64>bits;
  tPtr = base + <usize>(bit >> 3);
  tN = <i32>(bit & 7);
  tAcc = tN != 0 ? <u64>load<u8>(tPtr) & ((<u64>1 << tN) - 1) : 0;
  tBits = bits;
}

// @ts-ignore: decorator
@inline function pushTau(tau: i32): void {
  tAcc |= (<u64>tau & ((<u64>1 << tBits) - 1)) << <u64>tN;
  tN += tBits;
  if (tN >= 32) {
    store<u32>(tPtr, <u32>tAcc);
    tPtr += 4;
    tAcc >>= 32;
    tN -= 32;
  }
}

function tauEnd(): void {
  while (tN >= 8) {
    store<u8>(tPtr, <u8>tAcc);
    tPtr++;
    tAcc >>= 8;
    tN -= 8;
  }
  if (tN > 0) {
    const keep = <u32>load<u8>(tPtr) & ~((<u32>1 << tN) - 1);
    store<u8>(tPtr, <u8>(keep | <u32>tAcc));
  }
}

/** Code `index` of `bits` bits from an LSB-first stream (the buffer has 8 bytes of slack). */
// @ts-ignore: decorator
@inline function readBits(base: usize, index: i32, bits: i32): u32 {
  const bit = <u64>index * <u64>bits;
  return <u32>((load<u64>(base + <usize>(bit >> 3)) >> (bit & 7)) & ((<u64>1 << bits) - 1));
}

// ---------------------------------------------------------------------------------- helpers

// @ts-ignore: decorator
@inline function isFiniteNumber(v: f64): bool {
  return v - v == 0.0;
}

// @ts-ignore: decorator
@inline function fround(v: f64): f64 {
  return <f64>(<f32>v);
}

/** Flat input index of element `l` of blocked row `row` (layout.ts flatIndex). */
// @ts-ignore: decorator
@inline function flatIndex(J: Job, row: i32, l: i32): u32 {
  if (J.inner == 1) return <u32>(row * J.rowLength + l);
  const o = row / J.inner;
  const i = row - o * J.inner;
  return <u32>((o * J.rowLength + l) * J.inner + i);
}

// @ts-ignore: decorator
@inline function storeScale(J: Job, base: usize, g: i32, code: i64): void {
  const sb = J.scaleBytes;
  if (sb == 1) store<u8>(base + <usize>g, <u8>code);
  else if (sb == 2) store<u16>(base + (<usize>g << 1), <u16>code);
  else store<u32>(base + (<usize>g << 2), <u32>code);
}

// @ts-ignore: decorator
@inline function loadScale(J: Job, base: usize, g: i32): u32 {
  const sb = J.scaleBytes;
  if (sb == 1) return <u32>load<u8>(base + <usize>g);
  if (sb == 2) return <u32>load<u16>(base + (<usize>g << 1));
  return load<u32>(base + (<usize>g << 2));
}

/** Exact value of a scale code of the scale element (fp32 bits or the decode table). */
// @ts-ignore: decorator
@inline function scaleValue(J: Job, code: u32): f64 {
  return J.scaleIsF32 ? <f64>reinterpret<f32>(code) : load<f64>(J.scaleLut + (<usize>code << 3));
}

/** Exact value of an element code (fp32 bits or the decode table). */
// @ts-ignore: decorator
@inline function elementValue(J: Job, code: u32): f64 {
  return J.elIsF32 ? <f64>reinterpret<f32>(code) : load<f64>(J.lut + (<usize>code << 3));
}

// @ts-ignore: decorator
@inline function encodeElementAt(P: usize, J: Job, a: f64, u: f64, overflow: i32): i64 {
  if (J.elIsFloat) return encodeFloat(changetype<FloatParams>(P + OFF_ELEMENT_FLOAT), a, J.rounding, u, overflow);
  return encodeInt(changetype<IntParams>(P + OFF_ELEMENT_INT), a, J.rounding, u);
}

// ---------------------------------------------------------------------------------- quantize

/**
 * Quantize blocks [g0, g1) (elements for casts) of the job at P. Returns −1, or the flat index
 * of the first element the format cannot encode (the caller re-runs the reference for the error).
 */
export function quantizeRange(P: usize, g0: i32, g1: i32): i32 {
  const J = changetype<Job>(P + OFF_JOB);
  if (g1 <= g0) return -1;
  if (J.scheme == SCHEME_CAST) return castRange(P, J, g0, g1);
  const row0 = g0 / J.bpr;
  const pos0 = row0 * J.rowLength + (g0 - row0 * J.bpr) * J.bs;
  writerStart(J.codes, pos0, J.elBits);
  if (J.subSize > 0) tauStart(J.subs, row0 * J.subPerRow + ((g0 - row0 * J.bpr) * J.bs) / J.subSize, J.subBits);
  if (J.fastQuant != FAST_NONE) fastSetup(P, J);
  let bad = -1;
  for (let g = g0; g < g1; g++) {
    const row = g / J.bpr;
    const start = (g - row * J.bpr) * J.bs;
    const len = min(J.bs, J.rowLength - start);
    const r =
      J.scheme == SCHEME_POW2
        ? J.fastQuant != FAST_NONE
          ? pow2FastBlock(P, J, g, row, start, len)
          : pow2Block(P, J, g, row, start, len)
        : scaledBlock(P, J, g, row, start, len);
    if (r >= 0 && bad < 0) bad = r;
  }
  writerEnd();
  if (J.subSize > 0) tauEnd();
  return bad;
}

function castRange(P: usize, J: Job, i0: i32, i1: i32): i32 {
  if (J.fastQuant != FAST_NONE) return castFastRange(J, i0, i1);
  writerStart(J.codes, i0, J.elBits);
  const overflow = J.elIsFloat ? J.elOverflow : OVERFLOW_SATURATE;
  const stochastic = J.rounding == ROUND_STOCHASTIC;
  let bad = -1;
  for (let i = i0; i < i1; i++) {
    const a = <f64>load<f32>(J.x + (<usize>i << 2));
    const u = stochastic ? stochasticUniform(J.seedMix, <u32>i) : 0.0;
    let c = encodeElementAt(P, J, a, u, overflow);
    if (c < 0) {
      if (bad < 0) bad = i;
      c = 0;
    }
    push(c);
  }
  writerEnd();
  return bad;
}

/** The code of a cast input that is NaN or ±Infinity, or −1 when the element cannot hold it. */
function castSpecial(J: Job, vb: u32): i32 {
  if ((vb & 0x7fffffff) > 0x7f800000) return J.nanCode;
  if (fKind == FAST_FLOAT || fKind == FAST_F32EXP) return J.infMagCode | (<i32>(vb >>> 31) << fSignShift);
  return encodeLane(0x7f7fffff, <i32>(vb >>> 31)); // integers saturate
}

function castFastRange(J: Job, i0: i32, i1: i32): i32 {
  fastSetup(changetype<usize>(J) - OFF_JOB, J);
  writerStart(J.codes, i0, J.elBits);
  const bits = J.elBits;
  let bad = -1;
  let i = i0;
  if (ASC_FEATURE_SIMD) {
    const absMask = i32x4.splat(0x7fffffff);
    const inf = i32x4.splat(0x7f800000);
    if (bits == 16 || bits == 8 || bits == 4) {
      // whole output bytes from here on: write vectors directly
      while (i < i1 && !writerFlushBytes()) {
        const vb = load<u32>(J.x + (<usize>i << 2));
        const c = (vb & 0x7fffffff) >= 0x7f800000 ? castSpecial(J, vb) : encodeLane(vb & 0x7fffffff, <i32>(vb >>> 31));
        if (c < 0 && bad < 0) bad = i;
        push(c < 0 ? 0 : c);
        i++;
      }
      for (; i + 16 <= i1; i += 16) {
        const p = J.x + (<usize>i << 2);
        const v0 = v128.load(p);
        const v1 = v128.load(p, 16);
        const v2 = v128.load(p, 32);
        const v3 = v128.load(p, 48);
        const special = v128.or(
          v128.or(i32x4.ge_u(v128.and(v0, absMask), inf), i32x4.ge_u(v128.and(v1, absMask), inf)),
          v128.or(i32x4.ge_u(v128.and(v2, absMask), inf), i32x4.ge_u(v128.and(v3, absMask), inf)),
        );
        if (v128.any_true(special)) {
          for (let k = 0; k < 16; k++) {
            const vb = load<u32>(p + (<usize>k << 2));
            const c = (vb & 0x7fffffff) >= 0x7f800000 ? castSpecial(J, vb) : encodeLane(vb & 0x7fffffff, <i32>(vb >>> 31));
            if (c < 0 && bad < 0) bad = i + k;
            push(c < 0 ? 0 : c);
          }
          continue;
        }
        const c0 = encodeLane4(v128.and(v0, absMask), i32x4.shr_u(v0, 31));
        const c1 = encodeLane4(v128.and(v1, absMask), i32x4.shr_u(v1, 31));
        const c2 = encodeLane4(v128.and(v2, absMask), i32x4.shr_u(v2, 31));
        const c3 = encodeLane4(v128.and(v3, absMask), i32x4.shr_u(v3, 31));
        if (bits == 16) {
          v128.store(wPtr, i16x8.narrow_i32x4_u(c0, c1));
          v128.store(wPtr, i16x8.narrow_i32x4_u(c2, c3), 16);
          wPtr += 32;
        } else {
          store16(c0, c1, c2, c3, bits);
        }
      }
    }
  }
  for (; i < i1; i++) {
    const vb = load<u32>(J.x + (<usize>i << 2));
    const c = (vb & 0x7fffffff) >= 0x7f800000 ? castSpecial(J, vb) : encodeLane(vb & 0x7fffffff, <i32>(vb >>> 31));
    if (c < 0 && bad < 0) bad = i;
    push(c < 0 ? 0 : c);
  }
  writerEnd();
  return bad;
}

/** Codes of a block stored as zeros; with `xb` each keeps the sign of its (zero) input. */
function fillZeroBlock(J: Job, len: i32, tau: i32, xb: usize = 0): void {
  const z = J.zeroCode;
  if (xb != 0) {
    for (let j = 0; j < len; j++) push(load<u32>(xb + (<usize>j << 2)) >> 31 ? J.negZeroCode : z);
  } else {
    for (let j = 0; j < len; j++) push(z);
  }
  if (J.subSize > 0) {
    const count = (len + J.subSize - 1) / J.subSize;
    for (let t = 0; t < count; t++) pushTau(tau);
  }
}

/** sharedExponent of scale-rules.ts. */
function sharedExponent(J: Job, amax: f64): i32 {
  const e = flog2(amax);
  const mode = J.scaleMode;
  if (mode == MODE_FLOOR) return e - J.emax;
  if (mode == MODE_CEIL) return (amax == pow2(e) ? e : e + 1) - J.emax;
  if (mode == MODE_EVEN) {
    const frac = amax * pow2(-e) - 1.0;
    return (frac >= 1.0 - pow2(-(J.roundingBits + 1)) ? e + 1 : e) - J.emax;
  }
  const s = e - J.emax;
  return J.maxFinite * pow2(s) >= amax ? s : s + 1;
}

/** ⌊float32(log2 x)⌋ for finite x > 0 (bits.ts floorLog2F32): the table holds, per binade, the
 * first float32 pattern whose float32-rounded log2 reaches the next integer (measured on the
 * host's Math.log2). Used by the ggml and microxcaling presets only. */
function floorLog2F32(J: Job, x: f64): i32 {
  const k = flog2(x);
  const bits = reinterpret<u32>(<f32>x);
  const first = load<u32>(J.log2Table + (<usize>(k + 149) << 2));
  return bits >= first ? k + 1 : k;
}

/** C's float → 8-bit integer cast as x86-64 compiles it (reference/ggml.ts x86ToByte): truncate
 * to int32 (INT32_MIN for NaN, ±Inf and out of range), keep the low byte. */
function x86ToByte(v: f64): i64 {
  const t: i64 = Math.abs(v) < 2147483648.0 ? <i64>Math.trunc(v) : -2147483648;
  return t & 0xff;
}

/** The block's largest |x| as ggml finds it: NaN never wins, ±Inf does. */
function ggmlAmax(xb: usize, len: i32): f64 {
  let amax: f64 = 0;
  for (let j = 0; j < len; j++) {
    const a = Math.abs(<f64>load<f32>(xb + (<usize>j << 2)));
    if (amax < a) amax = a;
  }
  return amax;
}

/** ggml's quantize_row_mxfp4_ref (reference/ggml.ts ggmlMxfp4Block), x86-64 wrap included. */
function ggmlMxfp4Block(J: Job, g: i32, xb: usize, len: i32): void {
  const amax = ggmlAmax(xb, len);
  // ±Inf: (uint8_t)(+Inf) is INT32_MIN's low byte, 0
  const e = amax > 0.0 && amax < Infinity ? <i32>x86ToByte(<f64>(floorLog2F32(J, amax) - 2 + 127)) : 0;
  store<u8>(J.scales + <usize>g, <u8>e);
  const d = pow2(e - 128);
  for (let j = 0; j < len; j++) push(ggmlBestIndex(J, <f64>load<f32>(xb + (<usize>j << 2)), d));
}

/** ggml's best_index: the first index minimising |fround(K[i]·d) − x| in float32, K the job's
 * ggml value table (kvalues_mxfp4), one entry per element code. */
function ggmlBestIndex(J: Job, x: f64, d: f64): i32 {
  const count = 1 << J.elBits;
  let best = 0;
  let bestErr = Math.abs(fround(fround(load<f64>(J.ggmlValues) * d) - x));
  for (let i = 1; i < count; i++) {
    const err = Math.abs(fround(fround(load<f64>(J.ggmlValues + (<usize>i << 3)) * d) - x));
    if (err < bestErr) {
      best = i;
      bestErr = err;
    }
  }
  return best;
}

/** The emulator's rounding of a magnitude (reference/microxcaling.ts microxcalingRound): rna is
 * ⌊fl32(t + 0.5)⌋, rne subtracts 1 when t − 0.5 is an even integer, rtz and stochastic are exact. */
function microxcalingRound(t: f64, mode: i32, u: f64): f64 {
  if (mode == ROUND_RTZ || mode == ROUND_STOCHASTIC) return roundMagnitude(t, mode, u);
  const r = Math.floor(<f64>(<f32>t + <f32>0.5));
  if (mode == ROUND_RNA) return r;
  const h = t - 0.5;
  return t >= 0.5 && h - 2.0 * Math.floor(h * 0.5) == 0.0 ? r - 1.0 : r;
}

/** reference/microxcaling.ts encodeMicroxcaling: the emulator's element step on a float32 `a`. */
function encodeMicroxcaling(P: usize, J: Job, a: f64, u: f64): i64 {
  const mag = Math.abs(a);
  if (mag == Infinity) return encodeElementAt(P, J, a, u, OVERFLOW_SATURATE);
  let q: f64 = 0;
  if (mag != 0.0) {
    if (J.elIsFloat) {
      const ef = changetype<FloatParams>(P + OFF_ELEMENT_FLOAT);
      const pe = max(floorLog2F32(J, mag), ef.emin);
      const r = microxcalingRound(mag * pow2(ef.manBits - pe), J.rounding, u);
      q = Math.min(r * pow2(pe - ef.manBits), J.maxFinite);
    } else {
      const ei = changetype<IntParams>(P + OFF_ELEMENT_INT);
      const r = microxcalingRound(mag * pow2(ei.fracBits), J.rounding, u);
      q = Math.min(r, ei.kMax) * pow2(-ei.fracBits);
    }
  }
  const v = a < 0.0 ? -q : q;
  if (J.elIsFloat) return encodeFloat(changetype<FloatParams>(P + OFF_ELEMENT_FLOAT), v, ROUND_RNE, 0, OVERFLOW_SATURATE);
  return encodeInt(changetype<IntParams>(P + OFF_ELEMENT_INT), v, ROUND_RNE, 0);
}

function pow2Block(P: usize, J: Job, g: i32, row: i32, start: i32, len: i32): i32 {
  const xb = J.x + (<usize>(row * J.rowLength + start) << 2);
  const sb = J.scaleBits;
  const smax = (1 << (sb - 1)) - 1;
  const nanScale = (1 << sb) - 1;
  const tmax = J.subSize > 0 ? (1 << J.subBits) - 1 : 0;
  if (J.ggml) {
    ggmlMxfp4Block(J, g, xb, len);
    return -1;
  }
  // the emulator's shared exponent is the float32 log2's floor (its only scale rule is floor)
  const microLog2 = J.micro && J.scaleMode == MODE_FLOOR;
  let amax: f64 = 0;
  let finite = true;
  for (let j = 0; j < len; j++) {
    const v = <f64>load<f32>(xb + (<usize>j << 2));
    if (!isFiniteNumber(v)) finite = false;
    else if (Math.abs(v) > amax) amax = Math.abs(v);
  }
  if (!finite) {
    store<u8>(J.scales + <usize>g, <u8>nanScale);
    fillZeroBlock(J, len, 0);
    return -1;
  }
  const flush = J.flush && amax > 0.0 && (microLog2 ? floorLog2F32(J, amax) <= -127 : amax < pow2(-126));
  if (amax == 0.0 || flush) {
    // microxcaling takes log2(2^-126) for an all-zero block and gives +0; OCP uses the smallest
    // scale and keeps each zero's sign (flushed blocks become +0)
    const s0 = J.micro ? max(-126 - J.emax, -smax) : -smax;
    store<u8>(J.scales + <usize>g, <u8>(s0 + smax));
    fillZeroBlock(J, len, tmax, !J.micro && amax == 0.0 ? xb : 0);
    return -1;
  }
  let s = microLog2 ? floorLog2F32(J, amax) - J.emax : sharedExponent(J, amax);
  if (s > smax) {
    store<u8>(J.scales + <usize>g, <u8>nanScale);
    fillZeroBlock(J, len, 0);
    return -1;
  }
  if (s < -smax) s = -smax;
  store<u8>(J.scales + <usize>g, <u8>(s + smax));
  // microexponents count down from the block's effective exponent (after the clamp)
  const eBlock = s + J.emax;
  const k2 = J.subSize > 0 ? J.subSize : len;
  const stochastic = J.rounding == ROUND_STOCHASTIC;
  const micro = J.micro;
  let bad = -1;
  for (let j0 = 0; j0 < len; j0 += k2) {
    const end = min(j0 + k2, len);
    let tau = 0;
    if (J.subSize > 0) {
      let smaxSub: f64 = 0;
      for (let j = j0; j < end; j++) smaxSub = Math.max(smaxSub, Math.abs(<f64>load<f32>(xb + (<usize>j << 2))));
      tau = smaxSub == 0.0 ? tmax : min(eBlock - flog2(smaxSub), tmax);
      pushTau(tau);
    }
    const inv = pow2(tau - s);
    for (let j = j0; j < end; j++) {
      const v = <f64>load<f32>(xb + (<usize>j << 2));
      let a = v * inv;
      const u = stochastic ? stochasticUniform(J.seedMix, flatIndex(J, row, start + j)) : 0.0;
      let c: i64;
      if (micro) {
        // the emulator divides in float32; ±0 inputs and float32 underflow give +0
        a = fround(a);
        c = encodeMicroxcaling(P, J, a == 0.0 ? 0.0 : a, u);
      } else {
        c = encodeElementAt(P, J, a, u, OVERFLOW_SATURATE);
      }
      if (c < 0) {
        if (bad < 0) bad = <i32>flatIndex(J, row, start + j);
        c = 0;
      }
      push(c);
    }
  }
  return bad;
}

// ---------------------------------------------------------------------------------- fast pow2 path

// Power-of-two blocks with RNE or RTZ rounding, on float32 lanes. Exact because (1) v·2^−s is a
// power-of-two scaling, exact in float32 unless it falls below 2^−126, where every element the
// path accepts (half its smallest step ≥ 2^−126) encodes ±0 either way; (2) t = |a|·2^(m−pe) < 2^23,
// so (t + 2^23) − 2^23 is t rounded half-even and ⌊t⌋ is t toward zero; (3) float codes are
// ((pe + bias − 1) << m) + r, carries included, saturated at the largest finite code.
const FAST_NONE: i32 = 0;
const FAST_FLOAT: i32 = 1;
const FAST_TWOS: i32 = 2;
const FAST_SIGNMAG: i32 = 3;
const FAST_OFFSET: i32 = 4;
const FAST_UNSIGNED: i32 = 5;
/** Casts to a float with float32's exponent field (bf16): rounding on the bit pattern. */
const FAST_F32EXP: i32 = 6;

let fKind: i32 = 0;
let fMan: i32 = 0;
let fBase: i32 = 0; // bias − 1
let fEmin: i32 = 0;
let fClamp: i32 = 0; // largest magnitude code a finite value may take (max finite, or Inf under overflow=infinity)
let fSignShift: i32 = 0;
let fMask: i32 = 0;
let fHalf: i32 = 0;
let fFracScale: f32 = 0;
let fKMax: f32 = 0;
let fKMinAbs: f32 = 0;
let fRtz: bool = false;
let fShift: i32 = 0;

function fastSetup(P: usize, J: Job): void {
  const ef = changetype<FloatParams>(P + OFF_ELEMENT_FLOAT);
  const ei = changetype<IntParams>(P + OFF_ELEMENT_INT);
  fKind = J.fastQuant;
  fRtz = J.rounding != ROUND_RNE;
  fSignShift = J.elBits - 1;
  fMask = (1 << J.elBits) - 1;
  fHalf = 1 << (J.elBits - 1);
  fClamp = J.maxMagCode;
  if (fKind == FAST_FLOAT || fKind == FAST_F32EXP) {
    fMan = ef.manBits;
    fBase = ef.bias - 1;
    fEmin = ef.emin;
    fShift = 23 - ef.manBits;
  } else {
    fFracScale = <f32>pow2(ei.fracBits);
    fKMax = <f32>ei.kMax;
    fKMinAbs = <f32>-ei.kMin;
  }
}

const MAGIC: f32 = 8388608.0; // 2^23
const ABS_CLAMP: u32 = 227 << 23; // 2^100: every larger magnitude saturates alike

// @ts-ignore: decorator
@inline function roundLane(t: f32): f32 {
  return fRtz ? Mathf.floor(t) : (t + MAGIC) - MAGIC;
}

/** Code of a finite float32 value given as |a| bits (any size) and its sign. */
// @ts-ignore: decorator
@inline function encodeLane(ab0: u32, neg: i32): i32 {
  const ab = min(ab0, ABS_CLAMP);
  if (fKind == FAST_FLOAT) {
    const pe = max(<i32>(ab >>> 23) - 127, fEmin);
    const t = reinterpret<f32>(ab) * reinterpret<f32>((127 + fMan - pe) << 23);
    const code = min(((pe + fBase) << fMan) + <i32>roundLane(t), fClamp);
    return code | (neg << fSignShift);
  }
  if (fKind == FAST_F32EXP) {
    const r = fRtz ? ab0 >>> fShift : (ab0 + (1 << (fShift - 1)) - 1 + ((ab0 >>> fShift) & 1)) >>> fShift;
    return min(<i32>r, fClamp) | (neg << fSignShift);
  }
  const r = roundLane(reinterpret<f32>(ab) * fFracScale);
  const k = <i32>Mathf.min(r, fKMax);
  if (fKind == FAST_TWOS) return (neg != 0 ? -k : k) & fMask;
  if (fKind == FAST_SIGNMAG) return k | (neg << fSignShift);
  if (fKind == FAST_OFFSET) return neg != 0 ? fHalf - <i32>Mathf.min(r, fKMinAbs) : fHalf + k;
  return neg != 0 ? 0 : k;
}

/** Four codes at once (SIMD build). */
// @ts-ignore: decorator
@inline function encodeLane4(ab0: v128, neg: v128): v128 {
  const ab = i32x4.min_u(ab0, i32x4.splat(ABS_CLAMP));
  if (fKind == FAST_FLOAT) {
    const pe = i32x4.max_s(i32x4.sub(i32x4.shr_u(ab, 23), i32x4.splat(127)), i32x4.splat(fEmin));
    const sc = i32x4.shl(i32x4.sub(i32x4.splat(127 + fMan), pe), 23);
    const t = f32x4.mul(ab, sc);
    const r = fRtz ? f32x4.floor(t) : f32x4.sub(f32x4.add(t, f32x4.splat(MAGIC)), f32x4.splat(MAGIC));
    let code = i32x4.add(i32x4.shl(i32x4.add(pe, i32x4.splat(fBase)), fMan), i32x4.trunc_sat_f32x4_s(r));
    code = i32x4.min_s(code, i32x4.splat(fClamp));
    return v128.or(code, i32x4.shl(neg, fSignShift));
  }
  if (fKind == FAST_F32EXP) {
    let r: v128;
    if (fRtz) r = i32x4.shr_u(ab0, fShift);
    else {
      const odd = v128.and(i32x4.shr_u(ab0, fShift), i32x4.splat(1));
      r = i32x4.shr_u(i32x4.add(i32x4.add(ab0, i32x4.splat((1 << (fShift - 1)) - 1)), odd), fShift);
    }
    return v128.or(i32x4.min_s(r, i32x4.splat(fClamp)), i32x4.shl(neg, fSignShift));
  }
  const t = f32x4.mul(ab, f32x4.splat(fFracScale));
  const r = fRtz ? f32x4.floor(t) : f32x4.sub(f32x4.add(t, f32x4.splat(MAGIC)), f32x4.splat(MAGIC));
  const k = i32x4.trunc_sat_f32x4_s(f32x4.min(r, f32x4.splat(fKMax)));
  const isNeg = i32x4.ne(neg, i32x4.splat(0));
  if (fKind == FAST_TWOS) return v128.and(v128.bitselect(i32x4.neg(k), k, isNeg), i32x4.splat(fMask));
  if (fKind == FAST_SIGNMAG) return v128.or(k, i32x4.shl(neg, fSignShift));
  if (fKind == FAST_OFFSET) {
    const kn = i32x4.trunc_sat_f32x4_s(f32x4.min(r, f32x4.splat(fKMinAbs)));
    return v128.bitselect(i32x4.sub(i32x4.splat(fHalf), kn), i32x4.add(i32x4.splat(fHalf), k), isNeg);
  }
  return v128.andnot(k, isNeg);
}

/** One element's code from its float32 bits and the block's float32 inverse scale. */
// @ts-ignore: decorator
@inline function fastCode(vb: u32, inv: f32): i32 {
  const a = reinterpret<f32>(vb) * inv;
  return encodeLane(reinterpret<u32>(a) & 0x7fffffff, <i32>(vb >>> 31));
}

// @ts-ignore: decorator
@inline function fastCode4(vb: v128, inv: v128): v128 {
  const a = f32x4.mul(vb, inv);
  return encodeLane4(v128.and(a, i32x4.splat(0x7fffffff)), i32x4.shr_u(vb, 31));
}

/** Write 16 codes held in four vectors: bytes for 8-bit codes, nibble pairs for 4-bit ones. */
// @ts-ignore: decorator
@inline function store16(c0: v128, c1: v128, c2: v128, c3: v128, bits: i32): void {
  const b = i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_u(c0, c1), i16x8.narrow_i32x4_u(c2, c3));
  if (bits == 8) {
    v128.store(wPtr, b);
    wPtr += 16;
  } else {
    const even = i8x16.shuffle(b, b, 0, 2, 4, 6, 8, 10, 12, 14, 0, 0, 0, 0, 0, 0, 0, 0);
    const odd = i8x16.shuffle(b, b, 1, 3, 5, 7, 9, 11, 13, 15, 0, 0, 0, 0, 0, 0, 0, 0);
    v128.store64_lane(wPtr, v128.or(even, i8x16.shl(odd, 4)), 0);
    wPtr += 8;
  }
}

// @ts-ignore: decorator
@inline function push4(c: v128): void {
  push(i32x4.extract_lane(c, 0));
  push(i32x4.extract_lane(c, 1));
  push(i32x4.extract_lane(c, 2));
  push(i32x4.extract_lane(c, 3));
}

/** Store complete bytes of the code writer; true when it is then byte-aligned and empty. */
function writerFlushBytes(): bool {
  while (wN >= 8) {
    store<u8>(wPtr, <u8>wAcc);
    wPtr++;
    wAcc >>= 8;
    wN -= 8;
  }
  return wN == 0;
}

/**
 * A block with sub-blocks of two elements, four lanes at a time: τ = min(eBlock − ⌊log2 pair max⌋,
 * tmax) per pair from the exponent field, codes at 2^(τ − s), like the scalar loop of pow2FastBlock.
 */
function pow2PairsSimd(J: Job, xb: usize, len: i32, s: i32, eBlock: i32, tmax: i32): void {
  const absMask = i32x4.splat(0x7fffffff);
  const eb = i32x4.splat(eBlock + 127);
  const tm = i32x4.splat(tmax);
  const bias = i32x4.splat(127 - s);
  let j = 0;
  if (J.elBits == 8 && (len & 15) == 0 && writerFlushBytes()) {
    for (; j < len; j += 16) {
      const p = xb + (<usize>j << 2);
      const v0 = v128.load(p);
      const v1 = v128.load(p, 16);
      const v2 = v128.load(p, 32);
      const v3 = v128.load(p, 48);
      const t0 = pairTau(v0, absMask, eb, tm);
      const t1 = pairTau(v1, absMask, eb, tm);
      const t2 = pairTau(v2, absMask, eb, tm);
      const t3 = pairTau(v3, absMask, eb, tm);
      pushTau2(t0);
      pushTau2(t1);
      pushTau2(t2);
      pushTau2(t3);
      store16(
        fastCode4(v0, i32x4.shl(i32x4.add(t0, bias), 23)),
        fastCode4(v1, i32x4.shl(i32x4.add(t1, bias), 23)),
        fastCode4(v2, i32x4.shl(i32x4.add(t2, bias), 23)),
        fastCode4(v3, i32x4.shl(i32x4.add(t3, bias), 23)),
        8,
      );
    }
    return;
  }
  for (; j < len; j += 4) {
    const v = v128.load(xb + (<usize>j << 2));
    const t = pairTau(v, absMask, eb, tm);
    pushTau2(t);
    push4(fastCode4(v, i32x4.shl(i32x4.add(t, bias), 23)));
  }
}

/** The τ of lanes 0 and 2 (one per pair). */
// @ts-ignore: decorator
@inline function pushTau2(t: v128): void {
  pushTau(i32x4.extract_lane(t, 0));
  pushTau(i32x4.extract_lane(t, 2));
}

/** τ of each lane's pair: min(eBlock − (exponent field − 127), tmax), with `eb` = eBlock + 127. */
// @ts-ignore: decorator
@inline function pairTau(v: v128, absMask: v128, eb: v128, tm: v128): v128 {
  const a = v128.and(v, absMask);
  const m = i32x4.max_u(a, i8x16.shuffle(a, a, 4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11));
  return i32x4.min_s(i32x4.sub(eb, i32x4.shr_u(m, 23)), tm);
}

function pow2FastBlock(P: usize, J: Job, g: i32, row: i32, start: i32, len: i32): i32 {
  const xb = J.x + (<usize>(row * J.rowLength + start) << 2);
  let maxBits: u32 = 0;
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    let m4 = i32x4.splat(0);
    const absMask = i32x4.splat(0x7fffffff);
    for (; j + 4 <= len; j += 4) m4 = i32x4.max_u(m4, v128.and(v128.load(xb + (<usize>j << 2)), absMask));
    maxBits = max(max(i32x4.extract_lane(m4, 0), i32x4.extract_lane(m4, 1)), max(i32x4.extract_lane(m4, 2), i32x4.extract_lane(m4, 3)));
  }
  for (; j < len; j++) maxBits = max(maxBits, load<u32>(xb + (<usize>j << 2)) & 0x7fffffff);
  // non-finite, all-zero and flushed blocks take the general path
  if (maxBits >= 0x7f800000 || maxBits == 0 || (J.flush && maxBits < 0x00800000)) return pow2Block(P, J, g, row, start, len);
  const amax = <f64>reinterpret<f32>(maxBits);
  const smax = (1 << (J.scaleBits - 1)) - 1;
  let s = sharedExponent(J, amax);
  if (s > smax) return pow2Block(P, J, g, row, start, len);
  if (s < -smax) s = -smax;
  // 2^(tau − s) must be a float32 number; otherwise the float64 path
  if (J.subSize > 0 && (1 << J.subBits) - 1 - s > 127) return pow2Block(P, J, g, row, start, len);
  store<u8>(J.scales + <usize>g, <u8>(s + smax));
  if (J.subSize > 0) {
    const k2 = J.subSize;
    const tmax = (1 << J.subBits) - 1;
    const eBlock = s + J.emax;
    if (ASC_FEATURE_SIMD) {
      // pairs of elements (MX9/6/4) on lanes: exact when every 2^(τ − s) is a normal float32 and a
      // pair whose maximum is zero or subnormal gets τ = tmax either way (eBlock + 127 ≥ tmax)
      const tauMin = min(eBlock - flog2(amax), tmax);
      if (k2 == 2 && (len & 3) == 0 && eBlock + 127 >= tmax && tauMin - s >= -126) {
        pow2PairsSimd(J, xb, len, s, eBlock, tmax);
        return -1;
      }
    }
    for (let j0 = 0; j0 < len; j0 += k2) {
      const end = min(j0 + k2, len);
      let sm: u32 = 0;
      for (let i = j0; i < end; i++) sm = max(sm, load<u32>(xb + (<usize>i << 2)) & 0x7fffffff);
      const tau = sm == 0 ? tmax : min(eBlock - flog2(<f64>reinterpret<f32>(sm)), tmax);
      pushTau(tau);
      const inv = <f32>pow2(tau - s);
      for (let i = j0; i < end; i++) push(fastCode(load<u32>(xb + (<usize>i << 2)), inv));
    }
    return -1;
  }
  const inv = <f32>pow2(-s);
  j = 0;
  const bits = J.elBits;
  if (ASC_FEATURE_SIMD) {
    const iv = f32x4.splat(inv);
    if ((bits == 8 || bits == 4) && (len & 15) == 0 && writerFlushBytes()) {
      for (; j < len; j += 16) {
        const p = xb + (<usize>j << 2);
        store16(fastCode4(v128.load(p), iv), fastCode4(v128.load(p, 16), iv), fastCode4(v128.load(p, 32), iv), fastCode4(v128.load(p, 48), iv), bits);
      }
      return -1;
    }
    for (; j + 4 <= len; j += 4) push4(fastCode4(v128.load(xb + (<usize>j << 2)), iv));
  }
  for (; j < len; j++) push(fastCode(load<u32>(xb + (<usize>j << 2)), inv));
  return -1;
}

/** ggml's ggml_fp32_to_ue4m3 (reference/ggml.ts ggmlUe4m3): half-up mantissa, capped at `cap`
 * (the scale element's largest value), ≥ 248 → 0x7E. */
function ggmlUe4m3(v: f64, cap: f64): i64 {
  if (!(v > 0.0)) return 0;
  const x = Math.min(v, cap);
  const e = flog2(x);
  let ue = e + 7;
  if (ue <= 0) {
    const man = Math.trunc(fround(x * 512.0 + 0.5));
    return man < 1.0 ? 0 : <i64>Math.min(man, 7.0);
  }
  if (ue >= 15) return 0x7e;
  const frac8 = (x * pow2(-e) - 1.0) * 8.0;
  let m = <i32>Math.floor(frac8) + (frac8 - Math.floor(frac8) >= 0.5 ? 1 : 0);
  if (m > 7) {
    m = 0;
    ue += 1;
    if (ue >= 15) return 0x7e;
  }
  return <i64>((ue << 3) | m);
}

function scaledBlock(P: usize, J: Job, g: i32, row: i32, start: i32, len: i32): i32 {
  const xb = J.x + (<usize>(row * J.rowLength + start) << 2);
  const rule = J.rule;
  if (J.ggml && J.elIsFloat) {
    ggmlNvfp4Block(J, g, xb, len);
    return -1;
  }
  let amax: f64 = 0;
  let signedMax: f64 = 0;
  let lo: f64 = Infinity;
  let hi: f64 = -Infinity;
  let finite = true;
  for (let j = 0; j < len; j++) {
    const v = <f64>load<f32>(xb + (<usize>j << 2));
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
    storeScale(J, J.scales, g, J.scaleNanCode);
    if (rule == RULE_MIN_MAX) storeScale(J, J.offsets, g, J.scaleNanCode);
    for (let j = 0; j < len; j++) push(J.zeroCode);
    return -1;
  }
  const sf = changetype<FloatParams>(P + OFF_SCALE_FLOAT);
  if (J.ggml) {
    ggmlIntBlock(P, J, sf, g, xb, len, amax, signedMax, lo, hi);
    return -1;
  }
  let d: f64;
  let offset: f64 = 0;
  if (rule == RULE_ABSMAX) {
    const m = J.hasUpper ? Math.min(amax, J.upper) : amax;
    d = fround(m / J.elMax);
    if (J.hasTensorScale) d = fround(d / J.tensorScale);
  } else if (rule == RULE_SIGNED_MAX) {
    d = fround(signedMax / J.signedDen);
  } else {
    if (len == 0) {
      lo = 0;
      hi = 0;
    }
    d = fround((hi - lo) / J.elMax); // the float64 difference of two float32 values is exact
    offset = lo;
  }
  if (J.hasClamp) d = Math.min(Math.max(d, J.clampLo), J.clampHi);
  if (J.scaleFloor > 0.0) d = Math.max(d, J.scaleFloor);
  let scaleCode = encodeFloat(sf, d, ROUND_RNE, 0, OVERFLOW_SATURATE);
  if (scaleCode < 0) scaleCode = 0; // unreachable: d is finite and non-negative for unsigned scales
  storeScale(J, J.scales, g, scaleCode);
  const dq = scaleValue(J, <u32>scaleCode);
  const total = J.hasTensorScale ? fround(J.tensorScale * dq) : dq;
  let offq: f64 = 0;
  const minMax = rule == RULE_MIN_MAX;
  if (minMax) {
    let oc = encodeFloat(sf, offset, ROUND_RNE, 0, OVERFLOW_SATURATE);
    if (oc < 0) oc = 0; // an unsigned offset element cannot hold a negative minimum
    storeScale(J, J.offsets, g, oc);
    offq = scaleValue(J, <u32>oc);
  }
  if (J.fastQuant != FAST_NONE) {
    scaledFastElements(J, xb, len, <f32>total, <f32>offq, minMax);
    return -1;
  }
  const stochastic = J.rounding == ROUND_STOCHASTIC;
  let bad = -1;
  for (let j = 0; j < len; j++) {
    const v = <f64>load<f32>(xb + (<usize>j << 2));
    const centred = minMax ? fround(v - offq) : v;
    const a = total == 0.0 ? centred * 0.0 : fround(centred / total);
    const u = stochastic ? stochasticUniform(J.seedMix, flatIndex(J, row, start + j)) : 0.0;
    let c = encodeElementAt(P, J, a, u, OVERFLOW_SATURATE);
    if (c < 0) {
      if (bad < 0) bad = <i32>flatIndex(J, row, start + j);
      c = 0;
    }
    push(c);
  }
  return bad;
}

/** A scaled block's codes on float32 lanes: a = (v − offset) / total, rounded once like fround. */
function scaledFastElements(J: Job, xb: usize, len: i32, total: f32, off: f32, minMax: bool): void {
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    const tv = f32x4.splat(total);
    const ov = f32x4.splat(off);
    const absMask = i32x4.splat(0x7fffffff);
    for (; j + 4 <= len; j += 4) {
      let c = v128.load(xb + (<usize>j << 2));
      if (minMax) c = f32x4.sub(c, ov);
      const a = total == 0 ? f32x4.mul(c, f32x4.splat(0)) : f32x4.div(c, tv);
      push4(encodeLane4(v128.and(a, absMask), i32x4.shr_u(a, 31)));
    }
  }
  for (; j < len; j++) {
    let c = load<f32>(xb + (<usize>j << 2));
    if (minMax) c = c - off;
    const a = total == 0 ? c * 0 : c / total;
    push(encodeLane(reinterpret<u32>(a) & 0x7fffffff, <i32>(reinterpret<u32>(a) >>> 31)));
  }
}

/** roundf: half away from zero. */
// @ts-ignore: decorator
@inline function roundf(v: f64): f64 {
  const r = Math.floor(Math.abs(v) + 0.5);
  return v < 0.0 ? -r : r;
}

function ggmlIntBlock(P: usize, J: Job, sf: FloatParams, g: i32, xb: usize, len: i32, amax: f64, signedMax: f64, lo: f64, hi: f64): void {
  const ei = changetype<IntParams>(P + OFF_ELEMENT_INT);
  const bits = ei.bits;
  const levels: f64 = <f64>(1 << bits);
  const half = levels / 2.0;
  const rule = J.rule;
  let d: f64;
  if (rule == RULE_ABSMAX) d = fround(amax / ei.kMax);
  else if (rule == RULE_SIGNED_MAX) d = fround(signedMax / -half);
  else d = fround(fround(hi - lo) / (levels - 1.0));
  const id = d != 0.0 ? fround(1.0 / d) : 0.0;
  storeScale(J, J.scales, g, encodeFloat(sf, d, ROUND_RNE, 0, OVERFLOW_INFINITY));
  if (rule == RULE_MIN_MAX) storeScale(J, J.offsets, g, encodeFloat(sf, lo, ROUND_RNE, 0, OVERFLOW_INFINITY));
  for (let j = 0; j < len; j++) {
    const x = <f64>load<f32>(xb + (<usize>j << 2));
    // x86-64's code for the casts C leaves undefined when 1/d overflows (reference/ggml.ts)
    let q: i64;
    if (rule == RULE_ABSMAX) {
      q = x86ToByte(roundf(fround(x * id)));
    } else if (rule == RULE_SIGNED_MAX) {
      q = min(<i64>(levels - 1.0), x86ToByte(fround(fround(x * id) + (half + 0.5))));
    } else {
      q = min(<i64>(levels - 1.0), x86ToByte(fround(fround(fround(x - lo) * id) + 0.5)));
    }
    push(q);
  }
}

/** ggml's quantize_row_nvfp4_ref for one sub-block (reference/ggml.ts ggmlNvfp4Block). */
function ggmlNvfp4Block(J: Job, g: i32, xb: usize, len: i32): void {
  const code = ggmlUe4m3(fround(ggmlAmax(xb, len) / J.elMax), J.scaleMax);
  storeScale(J, J.scales, g, code);
  const d = code == 0 ? 0.0 : fround(scaleValue(J, <u32>code) / 2.0);
  for (let j = 0; j < len; j++) push(ggmlBestIndex(J, <f64>load<f32>(xb + (<usize>j << 2)), d));
}

// ---------------------------------------------------------------------------------- dequantize

/** Dequantize blocks [g0, g1) (elements for casts) into J.out, in blocked order. */
export function dequantizeRange(P: usize, g0: i32, g1: i32): void {
  const J = changetype<Job>(P + OFF_JOB);
  if (g1 <= g0) return;
  if (J.scheme == SCHEME_CAST) {
    const bits = J.elBits;
    for (let i = g0; i < g1; i++) {
      store<f32>(J.out + (<usize>i << 2), <f32>elementValue(J, readBits(J.codes, i, bits)));
    }
    return;
  }
  dequantizeBlocksTo(P, J, g0, g1, J.out + (<usize>(blockStart(J, g0)) << 2));
}

// @ts-ignore: decorator
@inline function blockStart(J: Job, g: i32): i32 {
  const row = g / J.bpr;
  return row * J.rowLength + (g - row * J.bpr) * J.bs;
}

/** Decode blocks [g0, g1) of a blocked tensor into `dst` (dst holds block g0's first element). */
function dequantizeBlocksTo(P: usize, J: Job, g0: i32, g1: i32, dst: usize): void {
  const bits = J.elBits;
  const pow2Scheme = J.scheme == SCHEME_POW2;
  const pow2Bias = (1 << (J.scaleBits - 1)) - 1;
  const pow2Nan = J.pow2Nan;
  const minMax = J.rule == RULE_MIN_MAX && !pow2Scheme;
  const sub = J.subSize;
  const base = blockStart(J, g0);
  for (let g = g0; g < g1; g++) {
    const row = g / J.bpr;
    const start = (g - row * J.bpr) * J.bs;
    const len = min(J.bs, J.rowLength - start);
    const pos = row * J.rowLength + start;
    const o = dst + (<usize>(pos - base) << 2);
    const sc = loadScale(J, J.scales, g);
    let total: f64;
    let offset: f64 = 0;
    if (pow2Scheme) {
      total = <i32>sc == pow2Nan ? NaN : pow2(<i32>sc - pow2Bias);
    } else {
      const dq = scaleValue(J, sc);
      total = J.hasTensorScale ? fround(J.tensorScale * dq) : dq;
      if (minMax) offset = scaleValue(J, loadScale(J, J.offsets, g));
    }
    // (ggml's E8M0 0xFF is 2^128, past float32: the float64 path keeps 0 · 2^128 = 0)
    if (J.fastDeq && sub == 0 && !minMax && (<f64>(<f32>total) == total || total != total)) {
      // Element values and the scale are float32 numbers whose exact product is rounded once,
      // so a float32 multiply gives the reference's bits.
      fastScaleBlock(J, pos, len, <f32>total, o);
      continue;
    }
    for (let j = 0; j < len; j++) {
      const value = elementValue(J, readBits(J.codes, pos + j, bits));
      let v: f64;
      if (sub > 0) {
        const tau = readBits(J.subs, row * J.subPerRow + (start + j) / sub, J.subBits);
        v = value * total * pow2(-<i32>tau);
      } else if (minMax) {
        v = value * total + offset; // rounded once, on the float32 store
      } else {
        v = value * total;
      }
      store<f32>(o + (<usize>j << 2), <f32>v);
    }
  }
}

/** out[j] = lut32[code] · scale for one block (J.lut32 holds each code's float32 value). */
function fastScaleBlock(J: Job, pos: i32, len: i32, scale: f32, o: usize): void {
  const bits = J.elBits;
  const lut = J.lut32;
  let j = 0;
  if (bits == 4 && (pos & 1) == 0) {
    const cb = J.codes + (<usize>pos >> 1);
    if (ASC_FEATURE_SIMD) {
      const sv = f32x4.splat(scale);
      if (len >= 16) {
        // byte planes of the 16-entry float32 table: plane p holds byte p of every entry
        const l0 = v128.load(lut);
        const l1 = v128.load(lut, 16);
        const l2 = v128.load(lut, 32);
        const l3 = v128.load(lut, 48);
        const p0 = i8x16.shuffle(
          i8x16.shuffle(l0, l1, 0, 4, 8, 12, 16, 20, 24, 28, 0, 0, 0, 0, 0, 0, 0, 0),
          i8x16.shuffle(l2, l3, 0, 4, 8, 12, 16, 20, 24, 28, 0, 0, 0, 0, 0, 0, 0, 0),
          0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23,
        );
        const p1 = i8x16.shuffle(
          i8x16.shuffle(l0, l1, 1, 5, 9, 13, 17, 21, 25, 29, 0, 0, 0, 0, 0, 0, 0, 0),
          i8x16.shuffle(l2, l3, 1, 5, 9, 13, 17, 21, 25, 29, 0, 0, 0, 0, 0, 0, 0, 0),
          0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23,
        );
        const p2 = i8x16.shuffle(
          i8x16.shuffle(l0, l1, 2, 6, 10, 14, 18, 22, 26, 30, 0, 0, 0, 0, 0, 0, 0, 0),
          i8x16.shuffle(l2, l3, 2, 6, 10, 14, 18, 22, 26, 30, 0, 0, 0, 0, 0, 0, 0, 0),
          0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23,
        );
        const p3 = i8x16.shuffle(
          i8x16.shuffle(l0, l1, 3, 7, 11, 15, 19, 23, 27, 31, 0, 0, 0, 0, 0, 0, 0, 0),
          i8x16.shuffle(l2, l3, 3, 7, 11, 15, 19, 23, 27, 31, 0, 0, 0, 0, 0, 0, 0, 0),
          0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23,
        );
        for (; j + 16 <= len; j += 16) {
          const v = v128.load64_zero(cb + (<usize>j >> 1));
          const idx = i8x16.shuffle(v128.and(v, i8x16.splat(15)), i8x16.shr_u(v, 4), 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
          const b0 = i8x16.swizzle(p0, idx);
          const b1 = i8x16.swizzle(p1, idx);
          const b2 = i8x16.swizzle(p2, idx);
          const b3 = i8x16.swizzle(p3, idx);
          const lo01 = i8x16.shuffle(b0, b1, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
          const hi01 = i8x16.shuffle(b0, b1, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
          const lo23 = i8x16.shuffle(b2, b3, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
          const hi23 = i8x16.shuffle(b2, b3, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
          const q = o + (<usize>j << 2);
          v128.store(q, f32x4.mul(i8x16.shuffle(lo01, lo23, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23), sv));
          v128.store(q, f32x4.mul(i8x16.shuffle(lo01, lo23, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31), sv), 16);
          v128.store(q, f32x4.mul(i8x16.shuffle(hi01, hi23, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23), sv), 32);
          v128.store(q, f32x4.mul(i8x16.shuffle(hi01, hi23, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31), sv), 48);
        }
      }
      for (; j + 8 <= len; j += 8) {
        const w = load<u32>(cb + (<usize>j >> 1));
        const a = f32x4(
          load<f32>(lut + ((<usize>w & 15) << 2)),
          load<f32>(lut + ((<usize>(w >> 4) & 15) << 2)),
          load<f32>(lut + ((<usize>(w >> 8) & 15) << 2)),
          load<f32>(lut + ((<usize>(w >> 12) & 15) << 2)),
        );
        const b = f32x4(
          load<f32>(lut + ((<usize>(w >> 16) & 15) << 2)),
          load<f32>(lut + ((<usize>(w >> 20) & 15) << 2)),
          load<f32>(lut + ((<usize>(w >> 24) & 15) << 2)),
          load<f32>(lut + ((<usize>(w >> 28) & 15) << 2)),
        );
        v128.store(o + (<usize>j << 2), f32x4.mul(a, sv));
        v128.store(o + (<usize>j << 2), f32x4.mul(b, sv), 16);
      }
    }
    for (; j + 2 <= len; j += 2) {
      const b = <usize>load<u8>(cb + (<usize>j >> 1));
      store<f32>(o + (<usize>j << 2), load<f32>(lut + ((b & 15) << 2)) * scale);
      store<f32>(o + (<usize>j << 2) + 4, load<f32>(lut + ((b >> 4) << 2)) * scale);
    }
  } else if (bits == 8) {
    const cb = J.codes + <usize>pos;
    if (ASC_FEATURE_SIMD) {
      const sv = f32x4.splat(scale);
      for (; j + 4 <= len; j += 4) {
        const w = load<u32>(cb + <usize>j);
        const a = f32x4(
          load<f32>(lut + ((<usize>w & 255) << 2)),
          load<f32>(lut + ((<usize>(w >> 8) & 255) << 2)),
          load<f32>(lut + ((<usize>(w >> 16) & 255) << 2)),
          load<f32>(lut + ((<usize>(w >> 24)) << 2)),
        );
        v128.store(o + (<usize>j << 2), f32x4.mul(a, sv));
      }
    }
  }
  for (; j < len; j++) {
    store<f32>(o + (<usize>j << 2), load<f32>(lut + (<usize>readBits(J.codes, pos + j, bits) << 2)) * scale);
  }
}

// ---------------------------------------------------------------------------------- layout

/** Move the block axis last: dst[(o·inner + i)·len + l] = src[(o·len + l)·inner + i] for o in [o0, o1). */
export function toBlocked(src: usize, dst: usize, len: i32, inner: i32, o0: i32, o1: i32): void {
  for (let o = o0; o < o1; o++) {
    for (let i = 0; i < inner; i++) {
      const d = dst + (<usize>((o * inner + i) * len) << 2);
      const s = src + (<usize>(o * len * inner + i) << 2);
      for (let l = 0; l < len; l++) store<u32>(d + (<usize>l << 2), load<u32>(s + (<usize>(l * inner) << 2)));
    }
  }
}

/** Inverse of toBlocked. */
export function fromBlocked(src: usize, dst: usize, len: i32, inner: i32, o0: i32, o1: i32): void {
  for (let o = o0; o < o1; o++) {
    for (let i = 0; i < inner; i++) {
      const s = src + (<usize>((o * inner + i) * len) << 2);
      const d = dst + (<usize>(o * len * inner + i) << 2);
      for (let l = 0; l < len; l++) store<u32>(d + (<usize>(l * inner) << 2), load<u32>(s + (<usize>l << 2)));
    }
  }
}

/** Largest finite |x[i]| over [i0, i1) (NaN and ±Inf skipped), for NVFP4's default tensor scale. */
/** Zero `len` bytes at `ptr` (the host's typed-array fill is slow on shared memory). */
export function zeroBytes(ptr: usize, len: usize): void {
  memory.fill(ptr, 0, len);
}

export function absmaxFinite(x: usize, i0: i32, i1: i32): f64 {
  let amax: f64 = 0;
  for (let i = i0; i < i1; i++) {
    const a = Math.abs(<f64>load<f32>(x + (<usize>i << 2)));
    if (a > amax && a != Infinity) amax = a;
  }
  return amax;
}

// ---------------------------------------------------------------------------------- matmul

/** Products accumulated in float32 per lane before a flush into float64 (4 lanes × 32 = 128 k). */
const CHUNK: i32 = 128;

/**
 * y[i, n] = Σ_k a[i, k]·w[n, k] for rows n in [n0, n1) and all m rows of a. w is the job's
 * quantized tensor, decoded four rows at a time into `scratch` (4·K floats), or a dense float32
 * matrix at `dense` when that is non-zero. Each float32 lane sums at most 32 products before its
 * partial sum is added in float64, so the error stays below 36·2^−24·Σ|a·w| for any K.
 */
export function matmulRange(P: usize, a: usize, m: i32, K: i32, N: i32, y: usize, dense: usize, scratch: usize, n0: i32, n1: i32): void {
  const J = changetype<Job>(P + OFF_JOB);
  if (ASC_FEATURE_SIMD) {
    if (dense == 0 && J.mmMode != 0) {
      matmulFusedRange(J, a, m, K, N, y, scratch, n0, n1);
      return;
    }
  }
  denseOrDecodedRows(J, P, a, m, K, N, y, dense, scratch, n0, n1);
}

function denseOrDecodedRows(J: Job, P: usize, a: usize, m: i32, K: i32, N: i32, y: usize, dense: usize, scratch: usize, n0: i32, n1: i32): void {
  const rowBytes = <usize>K << 2;
  for (let n = n0; n < n1; n += 4) {
    const rowsHere = min(4, n1 - n);
    let w: usize;
    if (dense != 0) {
      w = dense + <usize>n * rowBytes;
    } else {
      w = scratch;
      if (J.scheme == SCHEME_CAST) dequantizeCastTo(J, n * K, (n + rowsHere) * K, w);
      else dequantizeBlocksTo(P, J, n * J.bpr, (n + rowsHere) * J.bpr, w);
    }
    for (let i = 0; i < m; i++) {
      const ar = a + <usize>i * rowBytes;
      const yr = y + (<usize>(i * N + n) << 2);
      if (rowsHere == 4) dot4(ar, w, K, yr);
      else for (let r = 0; r < rowsHere; r++) store<f32>(yr + (<usize>r << 2), <f32>dot1(ar, w + <usize>r * rowBytes, K));
    }
  }
}

function dequantizeCastTo(J: Job, i0: i32, i1: i32, dst: usize): void {
  const bits = J.elBits;
  for (let i = i0; i < i1; i++) store<f32>(dst + (<usize>(i - i0) << 2), <f32>elementValue(J, readBits(J.codes, i, bits)));
}

/** Σ a[k]·w[k] with float32 lanes flushed to float64 every CHUNK products. */
function dot1(a: usize, w: usize, K: i32): f64 {
  let total: f64 = 0;
  const kv = K & ~3;
  for (let k0 = 0; k0 < kv; k0 += CHUNK) {
    const k1 = min(k0 + CHUNK, kv);
    if (ASC_FEATURE_SIMD) {
      let acc = f32x4.splat(0);
      for (let k = k0; k < k1; k += 4) {
        const o = <usize>k << 2;
        acc = f32x4.add(acc, f32x4.mul(v128.load(a + o), v128.load(w + o)));
      }
      total += sumLanes(acc);
    } else {
      total += chunkScalar(a, w, k0, k1);
    }
  }
  for (let k = kv; k < K; k++) total += <f64>(load<f32>(a + (<usize>k << 2)) * load<f32>(w + (<usize>k << 2)));
  return total;
}

// @ts-ignore: decorator
@inline function sumLanes(v: v128): f64 {
  return ((<f64>f32x4.extract_lane(v, 0) + <f64>f32x4.extract_lane(v, 1)) + <f64>f32x4.extract_lane(v, 2)) + <f64>f32x4.extract_lane(v, 3);
}

/** Four dot products of one row of a with four consecutive rows of w, stored to y[0..3]. */
function dot4(a: usize, w: usize, K: i32, y: usize): void {
  const rb = <usize>K << 2;
  let t0: f64 = 0;
  let t1: f64 = 0;
  let t2: f64 = 0;
  let t3: f64 = 0;
  const kv = K & ~3;
  for (let k0 = 0; k0 < kv; k0 += CHUNK) {
    const k1 = min(k0 + CHUNK, kv);
    if (ASC_FEATURE_SIMD) {
      let c0 = f32x4.splat(0);
      let c1 = f32x4.splat(0);
      let c2 = f32x4.splat(0);
      let c3 = f32x4.splat(0);
      for (let k = k0; k < k1; k += 4) {
        const o = <usize>k << 2;
        const av = v128.load(a + o);
        c0 = f32x4.add(c0, f32x4.mul(av, v128.load(w + o)));
        c1 = f32x4.add(c1, f32x4.mul(av, v128.load(w + rb + o)));
        c2 = f32x4.add(c2, f32x4.mul(av, v128.load(w + 2 * rb + o)));
        c3 = f32x4.add(c3, f32x4.mul(av, v128.load(w + 3 * rb + o)));
      }
      t0 += sumLanes(c0);
      t1 += sumLanes(c1);
      t2 += sumLanes(c2);
      t3 += sumLanes(c3);
    } else {
      t0 += chunkScalar(a, w, k0, k1);
      t1 += chunkScalar(a, w + rb, k0, k1);
      t2 += chunkScalar(a, w + 2 * rb, k0, k1);
      t3 += chunkScalar(a, w + 3 * rb, k0, k1);
    }
  }
  for (let k = kv; k < K; k++) {
    const o = <usize>k << 2;
    const av = load<f32>(a + o);
    t0 += <f64>(av * load<f32>(w + o));
    t1 += <f64>(av * load<f32>(w + rb + o));
    t2 += <f64>(av * load<f32>(w + 2 * rb + o));
    t3 += <f64>(av * load<f32>(w + 3 * rb + o));
  }
  store<f32>(y, <f32>t0);
  store<f32>(y, <f32>t1, 4);
  store<f32>(y, <f32>t2, 8);
  store<f32>(y, <f32>t3, 12);
}

/** The scalar build's version of one SIMD chunk: four float32 lanes, summed the same way. */
// @ts-ignore: decorator
@inline function chunkScalar(a: usize, w: usize, k0: i32, k1: i32): f64 {
  let s0: f32 = 0;
  let s1: f32 = 0;
  let s2: f32 = 0;
  let s3: f32 = 0;
  for (let k = k0; k < k1; k += 4) {
    const o = <usize>k << 2;
    s0 += load<f32>(a + o) * load<f32>(w + o);
    s1 += load<f32>(a + o + 4) * load<f32>(w + o + 4);
    s2 += load<f32>(a + o + 8) * load<f32>(w + o + 8);
    s3 += load<f32>(a + o + 12) * load<f32>(w + o + 12);
  }
  return ((<f64>s0 + <f64>s1) + <f64>s2) + <f64>s3;
}

// ---------------------------------------------------------------------------------- fused GEMV

// Modes of matmulFusedRange (chosen in src/kernels/wasm/params.ts after checking every code):
// 4-bit codes whose values are int8 table entries · 2^−shift; 8-bit two's-complement codes
// worth code · 2^−shift; 8-bit floats whose magnitude bits, moved into a float32's top bits and
// scaled by 2^shift, give their value (codes at or above mmSpecial — NaN/Inf — take a table path).
const MM_NIBBLE: i32 = 1;
const MM_INT8: i32 = 2;
const MM_FP8: i32 = 3;

/** a's 32-element groups reordered evens first, odds second, to match a nibble-pair decode. */
function deinterleave32(src: usize, dst: usize, K: i32): void {
  for (let g = 0; g < K; g += 32) {
    const s = src + (<usize>g << 2);
    const d = dst + (<usize>g << 2);
    for (let j = 0; j < 16; j++) {
      store<f32>(d + (<usize>j << 2), load<f32>(s + (<usize>(2 * j) << 2)));
      store<f32>(d + (<usize>(16 + j) << 2), load<f32>(s + (<usize>(2 * j + 1) << 2)));
    }
  }
}

/** Four float32 lanes from four sign-extended int8 lanes of `v` starting at lane 4·q. */
// @ts-ignore: decorator
@inline function i8ToF32(v16: v128, high: bool): v128 {
  return f32x4.convert_i32x4_s(high ? i32x4.extend_high_i16x8_s(v16) : i32x4.extend_low_i16x8_s(v16));
}

/** Σ over one 16-lane vector of int8 values t: acc += (t·f)·a[0..15] (products of decoded weights). */
// @ts-ignore: decorator
@inline function madd16(acc: v128, t: v128, f: v128, ap: usize): v128 {
  const lo = i16x8.extend_low_i8x16_s(t);
  const hi = i16x8.extend_high_i8x16_s(t);
  acc = f32x4.add(acc, f32x4.mul(f32x4.mul(i8ToF32(lo, false), f), v128.load(ap)));
  acc = f32x4.add(acc, f32x4.mul(f32x4.mul(i8ToF32(lo, true), f), v128.load(ap, 16)));
  acc = f32x4.add(acc, f32x4.mul(f32x4.mul(i8ToF32(hi, false), f), v128.load(ap, 32)));
  acc = f32x4.add(acc, f32x4.mul(f32x4.mul(i8ToF32(hi, true), f), v128.load(ap, 48)));
  return acc;
}

/** acc += (fp8 value · f)·a[0..15] for 16 float8 codes without NaN/Inf (MM_FP8). */
// @ts-ignore: decorator
@inline function maddFp8(acc: v128, c: v128, up: v128, f: v128, ap: usize, magShift: i32): v128 {
  const zero = i32x4.splat(0);
  const x0 = i16x8.extend_low_i8x16_u(c);
  const x1 = i16x8.extend_high_i8x16_u(c);
  const h0 = v128.or(i16x8.shl(v128.and(x0, i16x8.splat(0x7f)), magShift), i16x8.shl(v128.and(x0, i16x8.splat(0x80)), 8));
  const h1 = v128.or(i16x8.shl(v128.and(x1, i16x8.splat(0x7f)), magShift), i16x8.shl(v128.and(x1, i16x8.splat(0x80)), 8));
  const w0 = i8x16.shuffle(zero, h0, 0, 1, 16, 17, 0, 1, 18, 19, 0, 1, 20, 21, 0, 1, 22, 23);
  const w1 = i8x16.shuffle(zero, h0, 0, 1, 24, 25, 0, 1, 26, 27, 0, 1, 28, 29, 0, 1, 30, 31);
  const w2 = i8x16.shuffle(zero, h1, 0, 1, 16, 17, 0, 1, 18, 19, 0, 1, 20, 21, 0, 1, 22, 23);
  const w3 = i8x16.shuffle(zero, h1, 0, 1, 24, 25, 0, 1, 26, 27, 0, 1, 28, 29, 0, 1, 30, 31);
  acc = f32x4.add(acc, f32x4.mul(f32x4.mul(f32x4.mul(w0, up), f), v128.load(ap)));
  acc = f32x4.add(acc, f32x4.mul(f32x4.mul(f32x4.mul(w1, up), f), v128.load(ap, 16)));
  acc = f32x4.add(acc, f32x4.mul(f32x4.mul(f32x4.mul(w2, up), f), v128.load(ap, 32)));
  acc = f32x4.add(acc, f32x4.mul(f32x4.mul(f32x4.mul(w3, up), f), v128.load(ap, 48)));
  return acc;
}

/**
 * Rows n and n + 1 of y for one row of a (MM_NIBBLE with a de-interleaved, or MM_INT8): both rows
 * share each load of a. Integer weight values t are multiplied by a in float32 lanes, each group of
 * 32 elements summed (8 products per lane), scaled by the block's 2^scale (exact: a power of two)
 * and added to a float32 accumulator flushed into float64 every 4 groups, so no lane sums more than
 * 32 products, the bound of matmulRange.
 */
function gemvIntPair(J: Job, ar: usize, K: i32, n: i32, tab: v128, bias: i32, nanScale: i32, shift: i32, yr: usize): void {
  const nibble = J.mmMode == MM_NIBBLE;
  const bs = J.bs;
  const bpr = J.bpr;
  let total0: f64 = 0;
  let total1: f64 = 0;
  let acc0 = f32x4.splat(0);
  let acc1 = f32x4.splat(0);
  let groups = 0;
  const low = i8x16.splat(15);
  for (let b = 0; b < bpr; b++) {
    const s0 = <i32>load<u8>(J.scales + <usize>(n * bpr + b));
    const s1 = <i32>load<u8>(J.scales + <usize>((n + 1) * bpr + b));
    const f0 = f32x4.splat(s0 == nanScale ? NaN : <f32>pow2(s0 - bias - shift));
    const f1 = f32x4.splat(s1 == nanScale ? NaN : <f32>pow2(s1 - bias - shift));
    for (let j = 0; j < bs; j += 32) {
      const k = b * bs + j;
      const ap = ar + (<usize>k << 2);
      let e0: v128, o0: v128, e1: v128, o1: v128;
      if (nibble) {
        const v0 = v128.load(J.codes + (<usize>(n * K + k) >> 1));
        const v1 = v128.load(J.codes + (<usize>((n + 1) * K + k) >> 1));
        e0 = i8x16.swizzle(tab, v128.and(v0, low));
        o0 = i8x16.swizzle(tab, i8x16.shr_u(v0, 4));
        e1 = i8x16.swizzle(tab, v128.and(v1, low));
        o1 = i8x16.swizzle(tab, i8x16.shr_u(v1, 4));
      } else {
        const c0 = J.codes + <usize>(n * K + k);
        const c1 = J.codes + <usize>((n + 1) * K + k);
        e0 = v128.load(c0);
        o0 = v128.load(c0, 16);
        e1 = v128.load(c1);
        o1 = v128.load(c1, 16);
      }
      const e0l = i16x8.extend_low_i8x16_s(e0);
      const e0h = i16x8.extend_high_i8x16_s(e0);
      const o0l = i16x8.extend_low_i8x16_s(o0);
      const o0h = i16x8.extend_high_i8x16_s(o0);
      const e1l = i16x8.extend_low_i8x16_s(e1);
      const e1h = i16x8.extend_high_i8x16_s(e1);
      const o1l = i16x8.extend_low_i8x16_s(o1);
      const o1h = i16x8.extend_high_i8x16_s(o1);
      // four quarters written out: a loop over them with a lane selector measured slower
      let ae = v128.load(ap);
      let ao = v128.load(ap, 64);
      let pe0 = f32x4.mul(i8ToF32(e0l, false), ae);
      let pe1 = f32x4.mul(i8ToF32(e1l, false), ae);
      let po0 = f32x4.mul(i8ToF32(o0l, false), ao);
      let po1 = f32x4.mul(i8ToF32(o1l, false), ao);
      ae = v128.load(ap, 16);
      ao = v128.load(ap, 80);
      pe0 = f32x4.add(pe0, f32x4.mul(i8ToF32(e0l, true), ae));
      pe1 = f32x4.add(pe1, f32x4.mul(i8ToF32(e1l, true), ae));
      po0 = f32x4.add(po0, f32x4.mul(i8ToF32(o0l, true), ao));
      po1 = f32x4.add(po1, f32x4.mul(i8ToF32(o1l, true), ao));
      ae = v128.load(ap, 32);
      ao = v128.load(ap, 96);
      pe0 = f32x4.add(pe0, f32x4.mul(i8ToF32(e0h, false), ae));
      pe1 = f32x4.add(pe1, f32x4.mul(i8ToF32(e1h, false), ae));
      po0 = f32x4.add(po0, f32x4.mul(i8ToF32(o0h, false), ao));
      po1 = f32x4.add(po1, f32x4.mul(i8ToF32(o1h, false), ao));
      ae = v128.load(ap, 48);
      ao = v128.load(ap, 112);
      pe0 = f32x4.add(pe0, f32x4.mul(i8ToF32(e0h, true), ae));
      pe1 = f32x4.add(pe1, f32x4.mul(i8ToF32(e1h, true), ae));
      po0 = f32x4.add(po0, f32x4.mul(i8ToF32(o0h, true), ao));
      po1 = f32x4.add(po1, f32x4.mul(i8ToF32(o1h, true), ao));
      acc0 = f32x4.add(acc0, f32x4.mul(f32x4.add(pe0, po0), f0));
      acc1 = f32x4.add(acc1, f32x4.mul(f32x4.add(pe1, po1), f1));
      if (++groups == 4) {
        total0 += sumLanes(acc0);
        total1 += sumLanes(acc1);
        acc0 = f32x4.splat(0);
        acc1 = f32x4.splat(0);
        groups = 0;
      }
    }
  }
  total0 += sumLanes(acc0);
  total1 += sumLanes(acc1);
  store<f32>(yr + (<usize>n << 2), <f32>total0);
  store<f32>(yr + (<usize>(n + 1) << 2), <f32>total1);
}

/**
 * y[i, n] for n in [n0, n1) with w decoded in registers: power-of-two blocks (no sub-blocks) whose
 * size is a multiple of 32 and divides K. Each weight is formed exactly as dequantize forms it
 * (value · 2^scale, rounded once), then multiplied by a in float32; two float32 accumulators each
 * take 4 products per lane per 32 elements and are flushed into float64 every 256 elements, so no
 * lane sums more than 32 products (the bound of matmulRange). SIMD builds only.
 */
function matmulFusedRange(J: Job, a: usize, m: i32, K: i32, N: i32, y: usize, scratch: usize, n0: i32, n1: i32): void {
  const mode = J.mmMode;
  const bs = J.bs;
  const bpr = J.bpr;
  const bias = (1 << (J.scaleBits - 1)) - 1;
  const nanScale = J.pow2Nan;
  const shift = J.mmShift;
  const tab = mode == MM_NIBBLE ? v128.load(J.mmTab) : i32x4.splat(0);
  const up = f32x4.splat(<f32>pow2(shift));
  const special = i8x16.splat(<i8>J.mmSpecial);
  const magShift = mode == MM_FP8 ? 7 - changetype<FloatParams>(changetype<usize>(J) - OFF_JOB + OFF_ELEMENT_FLOAT).manBits : 0;
  for (let i = 0; i < m; i++) {
    let ar = a + <usize>i * (<usize>K << 2);
    if (mode == MM_NIBBLE) {
      deinterleave32(ar, scratch, K);
      ar = scratch;
    }
    let nStart = n0;
    if (mode != MM_FP8) {
      const yr = y + (<usize>(i * N) << 2);
      for (; nStart + 2 <= n1; nStart += 2) gemvIntPair(J, ar, K, nStart, tab, bias, nanScale, shift, yr);
    }
    for (let n = nStart; n < n1; n++) {
      let total: f64 = 0;
      let acc0 = f32x4.splat(0);
      let acc1 = f32x4.splat(0);
      let groups = 0;
      for (let b = 0; b < bpr; b++) {
        const sc = <i32>load<u8>(J.scales + <usize>(n * bpr + b));
        const fs: f32 = sc == nanScale ? NaN : <f32>pow2(sc - bias - (mode == MM_FP8 ? 0 : shift));
        const fv = f32x4.splat(fs);
        for (let j = 0; j < bs; j += 32) {
          const k = b * bs + j;
          const ap = ar + (<usize>k << 2);
          if (mode == MM_NIBBLE) {
            const v = v128.load(J.codes + (<usize>(n * K + k) >> 1));
            acc0 = madd16(acc0, i8x16.swizzle(tab, v128.and(v, i8x16.splat(15))), fv, ap);
            acc1 = madd16(acc1, i8x16.swizzle(tab, i8x16.shr_u(v, 4)), fv, ap + 64);
          } else {
            const cp = J.codes + <usize>(n * K + k);
            const c0 = v128.load(cp);
            const c1 = v128.load(cp, 16);
            if (mode == MM_INT8) {
              acc0 = madd16(acc0, c0, fv, ap);
              acc1 = madd16(acc1, c1, fv, ap + 64);
            } else {
              const m7 = i8x16.splat(0x7f);
              if (v128.any_true(v128.or(i8x16.ge_u(v128.and(c0, m7), special), i8x16.ge_u(v128.and(c1, m7), special)))) {
                // NaN or Inf codes: their float32 values from the table, products summed in float64
                for (let t = 0; t < 32; t++) {
                  const wv = load<f32>(J.lut32 + (<usize>load<u8>(cp + <usize>t) << 2)) * fs;
                  total += <f64>(wv * load<f32>(ap + (<usize>t << 2)));
                }
              } else {
                acc0 = maddFp8(acc0, c0, up, fv, ap, magShift);
                acc1 = maddFp8(acc1, c1, up, fv, ap + 64, magShift);
              }
            }
          }
          if (++groups == 8) {
            total += sumLanes(acc0) + sumLanes(acc1);
            acc0 = f32x4.splat(0);
            acc1 = f32x4.splat(0);
            groups = 0;
          }
        }
      }
      total += sumLanes(acc0) + sumLanes(acc1);
      store<f32>(y + (<usize>(i * N + n) << 2), <f32>total);
    }
  }
}

// ---------------------------------------------------------------------------------- dense GEMM

/** Elements of K per cache block; every float32 lane takes KC / 4 = 32 products per block. */
const KC: i32 = 128;

/** Add the lanes of c (for output n) and d (for output n + 1) in float64 into y64[0..1]. */
// @ts-ignore: decorator
@inline function flushPair(y64: usize, c: v128, d: v128): void {
  const pc = f64x2.add(f64x2.promote_low_f32x4(c), f64x2.promote_low_f32x4(i8x16.shuffle(c, c, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7)));
  const pd = f64x2.add(f64x2.promote_low_f32x4(d), f64x2.promote_low_f32x4(i8x16.shuffle(d, d, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7)));
  const s = f64x2.add(
    i8x16.shuffle(pc, pd, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23),
    i8x16.shuffle(pc, pd, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31),
  );
  v128.store(y64, f64x2.add(v128.load(y64), s));
}

/** Σ over [k0, k1) of a·w for one output in float32 lanes, added to y64[0] in float64. */
// @ts-ignore: decorator
@inline function tile1(a: usize, w: usize, k0: i32, k1: i32, y64: usize): void {
  let c = f32x4.splat(0);
  for (let k = k0; k < k1; k += 4) {
    const o = <usize>k << 2;
    c = f32x4.add(c, f32x4.mul(v128.load(a + o), v128.load(w + o)));
  }
  store<f64>(y64, load<f64>(y64) + sumLanes(c));
}

/**
 * y = a·wᵀ for rows n in [n0, n1) of a dense float32 w [N, K] (SIMD builds): K in blocks of KC so
 * w's block of rows stays in cache, 4 rows of a × 2 rows of w per register tile, each float32 lane
 * summing KC / 4 = 32 products before it is added in float64 to y64 (m × N float64, the caller's).
 */
export function gemmRange(a: usize, m: i32, K: i32, N: i32, w: usize, y: usize, y64: usize, n0: i32, n1: i32): void {
  if (n1 <= n0) return;
  if (ASC_FEATURE_SIMD) gemmTiles(a, m, K, N, w, y, y64, n0, n1);
  else denseOrDecodedRows(changetype<Job>(0), 0, a, m, K, N, y, w, 0, n0, n1);
}

function gemmTiles(a: usize, m: i32, K: i32, N: i32, w: usize, y: usize, y64: usize, n0: i32, n1: i32): void {
  const rb = <usize>K << 2;
  for (let i = 0; i < m; i++) memory.fill(y64 + (<usize>(i * N + n0) << 3), 0, <usize>(n1 - n0) << 3);
  const kv = K & ~3;
  const m4 = m & ~3;
  const n2 = n0 + ((n1 - n0) & ~1);
  for (let k0 = 0; k0 < kv; k0 += KC) {
    const k1 = min(k0 + KC, kv);
    for (let i = 0; i < m4; i += 4) {
      const a0 = a + <usize>i * rb;
      const a1 = a0 + rb;
      const a2 = a1 + rb;
      const a3 = a2 + rb;
      for (let n = n0; n < n2; n += 2) {
        const w0 = w + <usize>n * rb;
        const w1 = w0 + rb;
        let c00 = f32x4.splat(0);
        let c01 = f32x4.splat(0);
        let c10 = f32x4.splat(0);
        let c11 = f32x4.splat(0);
        let c20 = f32x4.splat(0);
        let c21 = f32x4.splat(0);
        let c30 = f32x4.splat(0);
        let c31 = f32x4.splat(0);
        for (let k = k0; k < k1; k += 4) {
          const o = <usize>k << 2;
          const x0 = v128.load(w0 + o);
          const x1 = v128.load(w1 + o);
          const v0 = v128.load(a0 + o);
          c00 = f32x4.add(c00, f32x4.mul(v0, x0));
          c01 = f32x4.add(c01, f32x4.mul(v0, x1));
          const v1 = v128.load(a1 + o);
          c10 = f32x4.add(c10, f32x4.mul(v1, x0));
          c11 = f32x4.add(c11, f32x4.mul(v1, x1));
          const v2 = v128.load(a2 + o);
          c20 = f32x4.add(c20, f32x4.mul(v2, x0));
          c21 = f32x4.add(c21, f32x4.mul(v2, x1));
          const v3 = v128.load(a3 + o);
          c30 = f32x4.add(c30, f32x4.mul(v3, x0));
          c31 = f32x4.add(c31, f32x4.mul(v3, x1));
        }
        const yp = y64 + (<usize>(i * N + n) << 3);
        const ys = <usize>N << 3;
        flushPair(yp, c00, c01);
        flushPair(yp + ys, c10, c11);
        flushPair(yp + 2 * ys, c20, c21);
        flushPair(yp + 3 * ys, c30, c31);
      }
      if (n2 < n1) for (let r = 0; r < 4; r++) tile1(a0 + <usize>r * rb, w + <usize>n2 * rb, k0, k1, y64 + (<usize>((i + r) * N + n2) << 3));
    }
    for (let i = m4; i < m; i++) {
      for (let n = n0; n < n1; n++) tile1(a + <usize>i * rb, w + <usize>n * rb, k0, k1, y64 + (<usize>(i * N + n) << 3));
    }
  }
  for (let i = 0; i < m; i++) {
    for (let n = n0; n < n1; n++) {
      const yp = y64 + (<usize>(i * N + n) << 3);
      let t = load<f64>(yp);
      for (let k = kv; k < K; k++) t += <f64>(load<f32>(a + <usize>i * rb + (<usize>k << 2)) * load<f32>(w + <usize>n * rb + (<usize>k << 2)));
      store<f32>(y + (<usize>(i * N + n) << 2), <f32>t);
    }
  }
}
