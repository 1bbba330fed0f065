import type { ElementFormat } from './element.js';

/** How a pow2 block picks its shared exponent (FORMATS.md §3.1). */
export type ScaleMode = 'floor' | 'ceil' | 'even' | 'rceil';
/** How many elements share a scale: each its own (plain cast), a fixed block, a whole axis, the whole tensor. */
export type Granularity = 'element' | 'block' | 'axis' | 'tensor';
/**
 * The quantization algorithm: `cast` rounds each element on its own; `pow2` shares a power-of-two
 * exponent per block (OCP MX, BDR, MSFP), optionally refined per sub-block by a microexponent;
 * `scaled` shares a multiplicative scale stored in a float format (software scales, NVFP4, ggml).
 */
export type Scheme = 'cast' | 'pow2' | 'scaled';
/** How a `scaled` block derives its scale: |x|max / max element; signed max / most negative
 * element (ggml `_0` types); (max − min) / largest code with an offset at min (ggml `_1`, affine rows). */
export type ScaleRule = 'absmax' | 'signedMax' | 'minMax';
/** Where the format comes from, for tables and docs only (kernels never branch on it). */
export type Family = 'element' | 'ocp-mx' | 'mx-extension' | 'bdr' | 'software' | 'nvfp4' | 'ggml';

/** ggml's on-disk block struct for a format (FORMATS.md §3.3–3.4). */
export interface GgmlLayout {
  readonly typeName: string;
  readonly typeId: number;
  /** Elements per stored block (64 for NVFP4: four 16-element scale blocks). */
  readonly blockElements: number;
  readonly blockBytes: number;
}

/** A second scaling level inside each block: BDR microexponents. */
export interface SubBlock {
  readonly size: number;
  readonly bits: number;
}

/** One frozen descriptor per format; everything else (kernels, tables, docs, limits) derives from it. */
export interface Format {
  /** Canonical name in the format grammar (`mxfp4`, `mx9`, `bdr(m=4,k1=16,d1=8,k2=2,d2=1)`, `q4_0`). */
  readonly name: string;
  readonly family: Family;
  readonly description: string;
  readonly element: ElementFormat;
  readonly scheme: Scheme;
  readonly granularity: Granularity;
  /** Elements per level-1 scale for `block` granularity; 1 for `element`; 0 for `axis`/`tensor`. */
  readonly blockSize: number;
  /** The stored level-1 scale's format: `e8m0`-like exponent for pow2, fp32/fp16/ue4m3 for scaled. */
  readonly scaleElement: ElementFormat | null;
  readonly subBlock: SubBlock | null;
  readonly scaleRule: ScaleRule | null;
  /** NVFP4: a second, per-tensor FP32 scale. */
  readonly tensorScale: boolean;
  /** Clamp applied to a scaled block's scale before it is encoded (NVFP4: [2^−9, 448]). */
  readonly scaleClamp: readonly [number, number] | null;
  /** Upper bound on the block maximum used for the scale (Llama-3 FP8 row-wise scaling). */
  readonly amaxUpperBound: number | null;
  /** True when axis lengths must be whole multiples of the block (ggml block structs). */
  readonly requiresWholeBlocks: boolean;
  readonly ggml: GgmlLayout | null;
  /** Stored bits per element, amortised scales included; per-axis and per-tensor scales are
   * left out (they add 32/axis or 32/N). */
  readonly bitsPerElement: number;
  /** Largest finite magnitude the encoding can express (scale included). */
  readonly maxMagnitude: number;
}
