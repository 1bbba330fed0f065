import type { Rounding } from './reference/element-codec.js';
import { OptionError, ShapeError } from './errors.js';
import type { Format, ScaleMode } from './format.js';

/** Compatibility presets: `ocp` (default, OCP MX v1.0), `microxcaling` (the reference PyTorch
 * emulator bit for bit), `torchao` (torchao's NVFP4 scale floor of 2^−6), `ggml` (ggml's reference
 * quantizers for ggml block types). */
export type Preset = 'ocp' | 'microxcaling' | 'torchao' | 'ggml';

/** Options of {@link quantize} and {@link fakeQuantize}; every field is optional. */
export interface QuantizeOptions {
  /** Tensor shape; default `[x.length]`. Its product must equal the input length. */
  shape?: readonly number[];
  /** Axis along which blocks run; default the last. Negative values count from the end. */
  axis?: number;
  /** Elements per scale block; default the format's. 0 = the whole axis. */
  blockSize?: number;
  /** Element rounding; default `rne` (`rna` under the microxcaling preset, like its "nearest"). */
  rounding?: Rounding;
  /** Seed of counter-based stochastic rounding; default 0. */
  seed?: number;
  /** Shared-exponent rule for power-of-two scales; default `floor` (OCP). */
  scaleMode?: ScaleMode;
  /** Width of a power-of-two scale (1 sign-less exponent, bias 2^(bits−1)−1); default the format's (8). */
  scaleBits?: number;
  preset?: Preset;
  /** Power-of-two blocks whose largest magnitude is below 2^−126 become +0 (microxcaling's
   * `flush_fp32_subnorms`). Default false. */
  flushSubnormalBlocks?: boolean;
  /** Upper bound on a row's max for `fp8_e4m3_rowwise`; default the format's (1200). */
  scaleUpperBound?: number;
  /** NVFP4: use this FP32 per-tensor scale instead of max|x| / 2688 (for calibrated scales). */
  tensorScale?: number;
}

/** Options after defaults and checks; stored with every quantized tensor. */
export interface ResolvedOptions {
  readonly shape: readonly number[];
  readonly axis: number;
  readonly blockSize: number;
  readonly rounding: Rounding;
  readonly seed: number;
  readonly scaleMode: ScaleMode;
  readonly scaleBits: number;
  readonly preset: Preset;
  readonly flushSubnormalBlocks: boolean;
  readonly scaleUpperBound: number | null;
}

const ROUNDINGS: readonly Rounding[] = ['rne', 'rna', 'rtz', 'stochastic'];
const SCALE_MODES: readonly ScaleMode[] = ['floor', 'ceil', 'even', 'rceil'];
const PRESETS: readonly Preset[] = ['ocp', 'microxcaling', 'torchao', 'ggml'];
const KNOWN_KEYS = new Set([
  'shape',
  'axis',
  'blockSize',
  'rounding',
  'seed',
  'scaleMode',
  'scaleBits',
  'preset',
  'flushSubnormalBlocks',
  'scaleUpperBound',
  'tensorScale',
]);

function oneOf<T extends string>(name: string, v: unknown, allowed: readonly T[], dflt: T): T {
  if (v === undefined) return dflt;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new OptionError(`${name} must be one of ${allowed.join(', ')}; got ${JSON.stringify(v)}`);
  }
  return v as T;
}

/** Check a shape: non-empty list of non-negative safe integers. */
export function checkShape(shape: unknown): number[] {
  if (!Array.isArray(shape) || shape.length === 0) throw new ShapeError(`shape must be a non-empty array of integers; got ${JSON.stringify(shape)}`);
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw new ShapeError(`shape entries must be non-negative integers; got ${JSON.stringify(shape)}`);
    }
  }
  return [...shape];
}

/** Apply defaults to `opts` for `format` and an input of `length` elements, throwing on anything inconsistent. */
export function resolveOptions(format: Format, length: number, opts: QuantizeOptions = {}): ResolvedOptions {
  if (opts === null || typeof opts !== 'object') throw new OptionError(`options must be an object; got ${String(opts)}`);
  for (const k of Object.keys(opts)) {
    if (!KNOWN_KEYS.has(k)) throw new OptionError(`unknown option "${k}"; known options: ${[...KNOWN_KEYS].join(', ')}`);
  }
  const shape = checkShape(opts.shape ?? [length]);
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== length) {
    throw new ShapeError(`shape [${shape.join(', ')}] holds ${n} elements but the input has ${length}; pass a shape whose product is ${length}`);
  }
  const rank = shape.length;
  let axis = opts.axis ?? rank - 1;
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new ShapeError(`axis ${opts.axis} is out of range for a rank-${rank} shape; use -${rank}…${rank - 1}`);
  }
  if (axis < 0) axis += rank;
  const preset = oneOf('preset', opts.preset, PRESETS, 'ocp');
  if (preset === 'microxcaling' && format.scheme !== 'pow2') {
    throw new OptionError(`preset "microxcaling" reproduces the MX emulator and applies to power-of-two block formats (mxfp8_e4m3, mxint8, …), not ${format.name}`);
  }
  if (preset === 'ggml' && format.family !== 'ggml') {
    throw new OptionError(`preset "ggml" reproduces ggml's reference quantizers and applies to ggml types (q8_0, q4_0, q4_1, q5_0, q5_1, ggml_mxfp4, ggml_nvfp4), not ${format.name}`);
  }
  const rounding = oneOf('rounding', opts.rounding, ROUNDINGS, preset === 'microxcaling' ? 'rna' : 'rne');
  if (preset === 'ggml' && opts.rounding !== undefined && opts.rounding !== 'rne') {
    throw new OptionError(`preset "ggml" uses ggml's own rounding; drop the rounding option`);
  }
  if (preset === 'ggml' && format.scheme === 'pow2') {
    // (the defaults are accepted: containers store every option)
    const changed = { scaleMode: (opts.scaleMode ?? 'floor') !== 'floor', scaleBits: (opts.scaleBits ?? format.scaleElement!.bits) !== format.scaleElement!.bits, flushSubnormalBlocks: opts.flushSubnormalBlocks === true };
    for (const [k, v] of Object.entries(changed)) {
      if (v) throw new OptionError(`preset "ggml" computes ggml's own 8-bit block scale; drop the ${k} option`);
    }
  }
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new OptionError(`seed must be an integer in 0…2^32−1; got ${opts.seed}`);
  const scaleMode = oneOf('scaleMode', opts.scaleMode, SCALE_MODES, 'floor');
  if (opts.scaleMode !== undefined && format.scheme !== 'pow2') {
    throw new OptionError(`scaleMode applies to power-of-two scales (OCP MX, BDR); ${format.name} has ${format.scheme === 'cast' ? 'no scale' : 'a multiplicative scale'}`);
  }
  const defaultScaleBits = format.scheme === 'pow2' ? format.scaleElement!.bits : 0;
  const scaleBits = opts.scaleBits ?? defaultScaleBits;
  if (opts.scaleBits !== undefined) {
    if (format.scheme !== 'pow2') throw new OptionError(`scaleBits applies to power-of-two scales; ${format.name} has none`);
    if (!Number.isInteger(scaleBits) || scaleBits < 2 || scaleBits > 8) throw new OptionError(`scaleBits must be an integer in 2…8; got ${opts.scaleBits}`);
  }
  const flush = opts.flushSubnormalBlocks ?? false;
  if (typeof flush !== 'boolean') throw new OptionError(`flushSubnormalBlocks must be a boolean`);
  if (flush && format.scheme !== 'pow2') throw new OptionError(`flushSubnormalBlocks applies to power-of-two block formats, not ${format.name}`);
  let scaleUpperBound = format.amaxUpperBound;
  if (opts.scaleUpperBound !== undefined) {
    if (format.amaxUpperBound === null) throw new OptionError(`scaleUpperBound applies to formats with a capped row max (fp8_e4m3_rowwise), not ${format.name}`);
    if (!(opts.scaleUpperBound > 0) || !Number.isFinite(opts.scaleUpperBound)) throw new OptionError(`scaleUpperBound must be a positive finite number; got ${opts.scaleUpperBound}`);
    scaleUpperBound = opts.scaleUpperBound;
  }
  if (opts.tensorScale !== undefined) {
    if (!format.tensorScale) throw new OptionError(`tensorScale applies to formats with a per-tensor scale (nvfp4), not ${format.name}`);
    if (!(opts.tensorScale > 0) || !Number.isFinite(opts.tensorScale)) throw new OptionError(`tensorScale must be a positive finite number; got ${opts.tensorScale}`);
  }
  let blockSize: number;
  const axisLen = shape[axis]!;
  switch (format.granularity) {
    case 'element':
      if (opts.blockSize !== undefined && opts.blockSize !== 1) throw new OptionError(`${format.name} is a scalar format; it has no blocks (drop blockSize)`);
      blockSize = 1;
      break;
    case 'tensor':
      if (opts.blockSize !== undefined) throw new OptionError(`${format.name} has one scale per tensor; drop blockSize`);
      blockSize = n;
      break;
    case 'axis':
      if (opts.blockSize !== undefined && opts.blockSize !== 0) throw new OptionError(`${format.name} has one scale per row along the axis; drop blockSize`);
      blockSize = axisLen;
      break;
    case 'block': {
      const bs = opts.blockSize ?? format.blockSize;
      if (!Number.isInteger(bs) || bs < 0 || bs > 2 ** 31) throw new OptionError(`blockSize must be a non-negative integer (0 = whole axis); got ${opts.blockSize}`);
      if (format.requiresWholeBlocks && bs !== format.blockSize) {
        throw new OptionError(`${format.name} has a fixed block of ${format.blockSize} elements; drop blockSize or pass ${format.blockSize}`);
      }
      blockSize = bs === 0 ? axisLen : bs;
      const sub = format.subBlock;
      if (sub && blockSize % sub.size !== 0) {
        throw new OptionError(`${format.name} needs blockSize to be a multiple of its ${sub.size}-element sub-block; got ${bs}`);
      }
      const whole = format.ggml ? format.ggml.blockElements : format.blockSize;
      if (format.requiresWholeBlocks && axisLen % whole !== 0) {
        throw new ShapeError(`${format.name} stores whole ${whole}-element blocks, but axis ${axis} has length ${axisLen}; pad the axis to a multiple of ${whole}`);
      }
      break;
    }
  }
  return Object.freeze({
    shape: Object.freeze(shape),
    axis,
    blockSize,
    rounding,
    seed,
    scaleMode,
    scaleBits,
    preset,
    flushSubnormalBlocks: flush,
    scaleUpperBound,
  });
}

/** The stored fields of resolved options as a plain JSON-ready record (the container header and the
 * safetensors `microscale` layout store exactly these). */
export function optionsRecord(o: ResolvedOptions): {
  shape: number[];
  axis: number;
  blockSize: number;
  rounding: Rounding;
  seed: number;
  scaleMode: ScaleMode;
  scaleBits: number;
  preset: Preset;
  flushSubnormalBlocks: boolean;
  scaleUpperBound: number | null;
} {
  return {
    shape: [...o.shape],
    axis: o.axis,
    blockSize: o.blockSize,
    rounding: o.rounding,
    seed: o.seed,
    scaleMode: o.scaleMode,
    scaleBits: o.scaleBits,
    preset: o.preset,
    flushSubnormalBlocks: o.flushSubnormalBlocks,
    scaleUpperBound: o.scaleUpperBound,
  };
}
