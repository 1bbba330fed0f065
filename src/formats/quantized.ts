import { bitsToF32, pow2 } from './bits.js';
import { pow2ScaleElement } from './catalog.js';
import { floatElement, intElement, type ElementFormat } from './element.js';
import { deserializeTensor, serializeTensor } from './container.js';
import { ContainerError } from './errors.js';
import type { Format } from './format.js';
import { layoutOf, type Layout } from './layout.js';
import type { Preset, ResolvedOptions } from './options.js';
import { packedByteLength } from './pack.js';
import { decodeElement } from './reference/element-codec.js';

/** Typed array holding scale codes: bytes for E8M0/UE4M3, 16-bit for FP16, 32-bit for FP32 patterns. */
export type ScaleArray = Uint8Array | Uint16Array | Uint32Array;

/** The parts of a quantized tensor, as produced by a quantizer or read from a container. */
export interface QuantizedParts {
  readonly format: Format;
  readonly options: ResolvedOptions;
  readonly codes: Uint8Array;
  readonly scales: ScaleArray;
  readonly subScales: Uint8Array;
  readonly offsets: ScaleArray;
  readonly tensorScale: number;
}

const signmagTwins = new WeakMap<ElementFormat, ElementFormat>();

/**
 * The element codes are stored in: the format's element, except that the microxcaling preset
 * stores integer elements sign-magnitude (as the emulator does), so that −0 survives.
 */
export function storedElement(format: Format, preset: Preset): ElementFormat {
  const el = format.element;
  if (preset !== 'microxcaling' || el.kind !== 'int' || el.encoding !== 'twos') return el;
  let twin = signmagTwins.get(el);
  if (!twin) {
    twin = intElement(`int(b=${el.bits},f=${el.fracBits},enc=signmag)`, { bits: el.bits, fracBits: el.fracBits, encoding: 'signmag' });
    signmagTwins.set(el, twin);
  }
  return twin;
}

const ggmlScaleTwins = new WeakMap<ElementFormat, ElementFormat>();

/**
 * ggml's reading of a scale element: ggml's E8M0 and UE4M3 decoders have no NaN, so under the
 * ggml preset a scale whose NaN is the all-ones code reads that code as a number (E8M0 0xFF =
 * 2^128, UE4M3 0x7F = 480). Other scale elements (FP16) are read as they are.
 */
export function ggmlScaleElement(el: ElementFormat): ElementFormat {
  if (el.kind !== 'float' || el.nan !== 'allOnes') return el;
  let twin = ggmlScaleTwins.get(el);
  if (!twin) {
    const { expBits, manBits, bias, signed, infinity, subnormals, zero, overflow } = el;
    twin = floatElement(`${el.name}(nan=none)`, { expBits, manBits, bias, signed, infinity, nan: 'none', subnormals, zero, overflow });
    ggmlScaleTwins.set(el, twin);
  }
  return twin;
}

/** The element that scale codes are stored in (an E8M0-like exponent of `scaleBits` for pow2
 * formats; without a NaN code under the ggml preset, as ggml reads them). */
export function scaleElementOf(format: Format, options: ResolvedOptions): ElementFormat | null {
  const el = format.scheme === 'pow2' ? pow2ScaleElement(options.scaleBits) : format.scaleElement;
  return el && options.preset === 'ggml' ? ggmlScaleElement(el) : el;
}

/** The code of a power-of-two scale that means NaN, or −1 when it has none (ggml's reading). */
export function pow2NanCode(scaleEl: ElementFormat): number {
  return scaleEl.kind === 'float' && scaleEl.nan === 'none' ? -1 : 2 ** scaleEl.bits - 1;
}

/** Bytes per stored scale code. */
export function scaleBytes(el: ElementFormat | null): number {
  return el === null ? 0 : el.bits <= 8 ? 1 : el.bits <= 16 ? 2 : 4;
}

/** An empty typed array of the right width for `count` scale codes. */
export function newScaleArray(el: ElementFormat | null, count: number): ScaleArray {
  const b = scaleBytes(el);
  return b === 4 ? new Uint32Array(count) : b === 2 ? new Uint16Array(count) : new Uint8Array(b === 0 ? 0 : count);
}

/**
 * A quantized tensor with real packed storage: element codes packed LSB-first (`codes`), level-1
 * scale codes (`scales`), BDR microexponents packed LSB-first (`subScales`), per-block offsets of
 * affine formats (`offsets`), and the per-tensor FP32 scale of NVFP4 (`tensorScale`, 1 otherwise).
 */
export class QuantizedTensor {
  readonly format: Format;
  readonly options: ResolvedOptions;
  readonly codes: Uint8Array;
  readonly scales: ScaleArray;
  readonly subScales: Uint8Array;
  readonly offsets: ScaleArray;
  readonly tensorScale: number;
  /** Number of elements. */
  readonly length: number;
  /** Element format the codes are stored in: the format's element, or its sign-magnitude twin under the microxcaling preset. */
  readonly element: ElementFormat;
  /** Format of the scale codes, or null for scalar formats. */
  readonly scaleElement: ElementFormat | null;
  readonly layout: Layout;

  constructor(parts: QuantizedParts) {
    this.format = parts.format;
    this.options = parts.options;
    this.codes = parts.codes;
    this.scales = parts.scales;
    this.subScales = parts.subScales;
    this.offsets = parts.offsets;
    this.tensorScale = parts.tensorScale;
    this.layout = layoutOf(parts.format, parts.options);
    this.length = this.layout.n;
    this.element = storedElement(parts.format, parts.options.preset);
    this.scaleElement = scaleElementOf(parts.format, parts.options);
    this.check();
  }

  private check(): void {
    const L = this.layout;
    const want = (what: string, got: number, need: number) => {
      if (got !== need) throw new ContainerError(`${this.format.name} tensor of ${L.n} elements needs ${need} ${what}, got ${got}`);
    };
    want('code bytes', this.codes.length, packedByteLength(L.n, this.element.bits));
    want('scales', this.scales.length, L.scaleCount);
    const sb = scaleBytes(this.scaleElement);
    if (this.scales.length > 0 && this.scales.BYTES_PER_ELEMENT !== sb) {
      throw new ContainerError(`${this.format.name} scales must be ${sb}-byte codes`);
    }
    want('microexponent bytes', this.subScales.length, this.format.subBlock ? packedByteLength(L.subScaleCount, this.format.subBlock.bits) : 0);
    want('offsets', this.offsets.length, this.format.scaleRule === 'minMax' ? L.scaleCount : 0);
    if (!(this.tensorScale > 0) && !Number.isNaN(this.tensorScale)) {
      throw new ContainerError(`tensor scale must be positive; got ${this.tensorScale}`);
    }
  }

  get shape(): readonly number[] {
    return this.options.shape;
  }
  get axis(): number {
    return this.options.axis;
  }
  get blockSize(): number {
    return this.options.blockSize;
  }
  /** Bits actually stored per element: codes, scales, microexponents, offsets and the tensor scale. */
  get bitsPerElement(): number {
    if (this.length === 0) return 0;
    const bits =
      this.codes.length * 8 +
      (this.scales.length + this.offsets.length) * (this.format.scheme === 'pow2' ? this.scaleElement!.bits : this.scales.BYTES_PER_ELEMENT * 8) +
      (this.format.subBlock ? this.layout.subScaleCount * this.format.subBlock.bits : 0) +
      (this.format.tensorScale ? 32 : 0);
    return bits / this.length;
  }

  /** Decoded value of every level-1 scale (NaN for a NaN scale). */
  scaleValues(): Float64Array {
    const out = new Float64Array(this.scales.length);
    const el = this.scaleElement;
    if (!el) return out;
    if (this.format.scheme === 'pow2') {
      const bias = 2 ** (el.bits - 1) - 1;
      const nan = pow2NanCode(el);
      for (let i = 0; i < out.length; i++) out[i] = this.scales[i] === nan ? NaN : pow2(this.scales[i]! - bias);
      return out;
    }
    for (let i = 0; i < out.length; i++) {
      const c = this.scales[i]!;
      out[i] = el.bits === 32 ? bitsToF32(c) : decodeElement(el, c);
    }
    return out;
  }

  /** Serialize into the documented container (docs/serialization.md). */
  toBytes(): Uint8Array {
    return serializeTensor(this);
  }

  /** Read a container written by {@link QuantizedTensor.toBytes}; throws ContainerError on anything corrupt. */
  static fromBytes(bytes: Uint8Array): QuantizedTensor {
    return deserializeTensor(bytes);
  }
}
