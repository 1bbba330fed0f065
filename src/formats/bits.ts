// Exact bit-level helpers shared by the reference codec.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const f64 = new Float64Array(1);
const u64 = new Uint32Array(f64.buffer); // little-endian hosts: [lo, hi]
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const LO = 1 - HI;

/** The IEEE binary32 bit pattern of `x` (rounded to float32 first). */
export function f32ToBits(x: number): number {
  f32[0] = x;
  return u32[0]!;
}

/** The float32 value of a 32-bit pattern. */
export function bitsToF32(bits: number): number {
  u32[0] = bits >>> 0;
  return f32[0]!;
}

const POW2_MIN = -1100;
const POW2 = new Float64Array(2300);
for (let i = 0; i < POW2.length; i++) POW2[i] = Math.pow(2, i + POW2_MIN);

/** Exactly 2^n for integer n (0 or Infinity outside the float64 range). */
export function pow2(n: number): number {
  const i = n - POW2_MIN;
  if (i >= 0 && i < POW2.length) return POW2[i]!;
  return n < 0 ? 0 : Infinity;
}

/**
 * ⌊log2 |x|⌋ for finite non-zero x, read from the float64 exponent field (exact, subnormals
 * included). Never `Math.floor(Math.log2(x))`, which is off by one just below powers of two.
 */
export function flog2(x: number): number {
  f64[0] = x;
  const hi = u64[HI]!;
  const e = (hi >>> 20) & 0x7ff;
  if (e !== 0) return e - 1023;
  const mhi = hi & 0xfffff;
  if (mhi !== 0) return -1011 - Math.clz32(mhi);
  const lo = u64[LO]!;
  return -1074 + 31 - Math.clz32(lo);
}

/**
 * ⌊float32(log2 x)⌋ for finite x > 0: the exponent a float32 `log2` gives (C's `log2f`, torch's
 * CPU `log2`). Just below a power of two it is one too large, in the top N values of a binade
 * (MICROXCALING.md §4.1); elsewhere it equals {@link flog2}. Only the ggml and microxcaling
 * presets use it, to reproduce those references; exact code uses flog2.
 */
export function floorLog2F32(x: number): number {
  return Math.floor(Math.fround(Math.log2(x)));
}

/** True when finite x > 0 is an exact power of two. */
export function isPow2(x: number): boolean {
  return x === pow2(flog2(x));
}

/** Round a non-negative float64 to an integer, ties to even (exact). */
export function roundHalfEven(t: number): number {
  const f = Math.floor(t);
  const d = t - f;
  return d > 0.5 || (d === 0.5 && f % 2 === 1) ? f + 1 : f;
}

/** 32-bit avalanche mix (lowbias32). Integer-only, so GPU and WASM kernels can reproduce it. */
export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/**
 * The uniform number in [0, 1) used by stochastic rounding for element `index` under `seed`:
 * `mix32(mix32(seed ^ 0x9e3779b9) ^ index) / 2^32`. Counter-based, so every backend reproduces it.
 */
export function stochasticUniform(seed: number, index: number): number {
  return mix32(mix32((seed ^ 0x9e3779b9) >>> 0) ^ (index >>> 0)) / 4294967296;
}
