import { pow2 } from './bits.js';
import { ELEMENTS, floatElement, intElement, type ElementFormat } from './element.js';
import type { Family, Format, GgmlLayout, Granularity, ScaleRule, Scheme, SubBlock } from './format.js';

interface FormatSpec {
  name: string;
  family: Family;
  description: string;
  element: ElementFormat;
  scheme: Scheme;
  granularity: Granularity;
  blockSize: number;
  scaleElement?: ElementFormat | null;
  subBlock?: SubBlock | null;
  scaleRule?: ScaleRule | null;
  tensorScale?: boolean;
  scaleClamp?: readonly [number, number] | null;
  amaxUpperBound?: number | null;
  requiresWholeBlocks?: boolean;
  ggml?: GgmlLayout | null;
}

function elementMagnitude(el: ElementFormat): number {
  return el.kind === 'int' ? Math.max(el.kMax, -el.kMin) * pow2(-el.fracBits) : el.maxFinite;
}

/** Freeze a descriptor and derive bitsPerElement and maxMagnitude from it. */
export function defineFormat(spec: FormatSpec): Format {
  const scaleElement = spec.scaleElement ?? null;
  const subBlock = spec.subBlock ?? null;
  const scaleRule = spec.scaleRule ?? null;
  let bits = spec.element.bits;
  if (spec.granularity === 'block' && scaleElement) {
    const scaleBits = spec.scheme === 'pow2' ? scaleElement.bits : Math.ceil(scaleElement.bits / 8) * 8;
    bits += (scaleBits * (scaleRule === 'minMax' ? 2 : 1)) / spec.blockSize;
    if (subBlock) bits += subBlock.bits / subBlock.size;
  }
  const elMax = elementMagnitude(spec.element);
  let maxMagnitude = elMax;
  if (spec.scheme === 'pow2' && scaleElement) maxMagnitude = elMax * pow2(2 ** (scaleElement.bits - 1) - 1);
  if (spec.scheme === 'scaled' && scaleElement) {
    const sMax = spec.scaleClamp ? Math.min(spec.scaleClamp[1], scaleElement.maxFinite) : scaleElement.maxFinite;
    maxMagnitude = elMax * sMax + (scaleRule === 'minMax' ? sMax : 0);
  }
  return Object.freeze({
    name: spec.name,
    family: spec.family,
    description: spec.description,
    element: spec.element,
    scheme: spec.scheme,
    granularity: spec.granularity,
    blockSize: spec.blockSize,
    scaleElement,
    subBlock: subBlock ? Object.freeze({ ...subBlock }) : null,
    scaleRule,
    tensorScale: spec.tensorScale ?? false,
    scaleClamp: spec.scaleClamp ? Object.freeze([...spec.scaleClamp] as [number, number]) : null,
    amaxUpperBound: spec.amaxUpperBound ?? null,
    requiresWholeBlocks: spec.requiresWholeBlocks ?? false,
    ggml: spec.ggml ? Object.freeze({ ...spec.ggml }) : null,
    bitsPerElement: bits,
    maxMagnitude,
  });
}

/** An E8M0-like power-of-two scale exponent of `bits` bits (bias 2^(bits−1)−1, all-ones = NaN). */
export function pow2ScaleElement(bits: number): ElementFormat {
  if (bits === 8) return ELEMENTS.e8m0;
  return floatElement(`e${bits}m0`, {
    expBits: bits,
    manBits: 0,
    bias: 2 ** (bits - 1) - 1,
    signed: false,
    infinity: false,
    nan: 'allOnes',
    subnormals: false,
    zero: false,
    overflow: 'saturate',
  });
}

/** Plain element-by-element cast to `el`. */
export function castFormat(el: ElementFormat, name = el.name): Format {
  return defineFormat({
    name,
    family: 'element',
    description: `scalar ${el.name} (${el.bits} bits)`,
    element: el,
    scheme: 'cast',
    granularity: 'element',
    blockSize: 1,
  });
}

/** An OCP-style block: `k` elements of `el` share one power-of-two scale of `scaleBits` bits. */
export function mxFormat(el: ElementFormat, k: number, name: string, family: Family = 'ocp-mx', scaleBits = 8): Format {
  return defineFormat({
    name,
    family,
    description: `${k} × ${el.name} sharing one E8M0 scale`,
    element: el,
    scheme: 'pow2',
    granularity: 'block',
    blockSize: k,
    scaleElement: pow2ScaleElement(scaleBits),
  });
}

/** BDR (FORMATS.md §1): sign + m-bit magnitude, k1-blocks with a d1-bit exponent, and a d2-bit
 * microexponent per k2 adjacent elements (d2 = 0: plain block floating point). */
export function bdrFormat(m: number, k1: number, d1: number, k2: number, d2: number, name: string): Format {
  const el = intElement(`int(b=${m + 1},f=${m - 1},enc=signmag)`, { bits: m + 1, fracBits: m - 1, encoding: 'signmag' });
  return defineFormat({
    name,
    family: 'bdr',
    description:
      d2 > 0
        ? `sign + ${m}-bit magnitude, ${k1}-element blocks with a ${d1}-bit exponent, ${d2}-bit microexponent per ${k2}`
        : `block floating point: sign + ${m}-bit magnitude, ${k1}-element blocks with a ${d1}-bit exponent`,
    element: el,
    scheme: 'pow2',
    granularity: 'block',
    blockSize: k1,
    scaleElement: pow2ScaleElement(d1),
    subBlock: d2 > 0 ? { size: k2, bits: d2 } : null,
  });
}

const rawInt = (bits: number, encoding: 'twos' | 'offset' | 'unsigned') =>
  intElement(`int(b=${bits},f=0,enc=${encoding})`, { bits, fracBits: 0, encoding });

const ggmlQ = (
  name: string,
  typeId: number,
  blockBytes: number,
  element: ElementFormat,
  rule: ScaleRule,
  description: string,
): Format =>
  defineFormat({
    name,
    family: 'ggml',
    description,
    element,
    scheme: 'scaled',
    granularity: 'block',
    blockSize: 32,
    scaleElement: ELEMENTS.fp16,
    scaleRule: rule,
    requiresWholeBlocks: true,
    ggml: { typeName: name, typeId, blockElements: 32, blockBytes },
  });

const software = (
  name: string,
  element: ElementFormat,
  granularity: Granularity,
  description: string,
  extra: Partial<FormatSpec> = {},
): Format =>
  defineFormat({
    name,
    family: 'software',
    description,
    element,
    scheme: 'scaled',
    granularity,
    blockSize: 0,
    scaleElement: ELEMENTS.fp32,
    scaleRule: 'absmax',
    ...extra,
  });

function buildCatalog(): Map<string, Format> {
  const E = ELEMENTS;
  const list: Format[] = [];
  for (const el of Object.values(E)) list.push(castFormat(el));
  list.push(
    mxFormat(E.fp8_e4m3, 32, 'mxfp8_e4m3'),
    mxFormat(E.fp8_e5m2, 32, 'mxfp8_e5m2'),
    mxFormat(E.fp6_e3m2, 32, 'mxfp6_e3m2'),
    mxFormat(E.fp6_e2m3, 32, 'mxfp6_e2m3'),
    mxFormat(E.fp4_e2m1, 32, 'mxfp4'),
    mxFormat(E.int8, 32, 'mxint8'),
    mxFormat(E.int4, 32, 'mxint4', 'mx-extension'),
    mxFormat(E.int2, 32, 'mxint2', 'mx-extension'),
    mxFormat(E.fp16, 32, 'mxfp16', 'mx-extension'),
    mxFormat(E.bf16, 32, 'mxbf16', 'mx-extension'),
    bdrFormat(7, 16, 8, 2, 1, 'mx9'),
    bdrFormat(4, 16, 8, 2, 1, 'mx6'),
    bdrFormat(2, 16, 8, 2, 1, 'mx4'),
    bdrFormat(3, 16, 8, 1, 0, 'msfp12'),
    bdrFormat(7, 16, 8, 1, 0, 'msfp16'),
    software('int8_tensor', rawInt(8, 'twos'), 'tensor', 'int8 (±127) with one FP32 scale per tensor'),
    software('int8_channel', rawInt(8, 'twos'), 'axis', 'int8 (±127) with one FP32 scale per channel (row along the axis)'),
    software('fp8_e4m3_tensor', E.fp8_e4m3, 'tensor', 'FP8 E4M3 with one FP32 scale per tensor'),
    software('fp8_e5m2_tensor', E.fp8_e5m2, 'tensor', 'FP8 E5M2 with one FP32 scale per tensor'),
    software('fp8_e4m3_rowwise', E.fp8_e4m3, 'axis', 'FP8 E4M3, Llama-3 row-wise dynamic FP32 scale, row max capped at 1200', {
      amaxUpperBound: 1200,
    }),
    software('int8_rowwise_affine', rawInt(8, 'unsigned'), 'axis', 'uint8 per row with FP32 scale and bias (embedding tables)', {
      scaleRule: 'minMax',
    }),
    software('int4_rowwise_affine', rawInt(4, 'unsigned'), 'axis', 'uint4 per row with FP16 scale and bias (embedding tables)', {
      scaleRule: 'minMax',
      scaleElement: E.fp16,
    }),
    defineFormat({
      name: 'nvfp4',
      family: 'nvfp4',
      description: '16 × FP4 E2M1 sharing a UE4M3 scale, plus one FP32 scale per tensor',
      element: E.fp4_e2m1,
      scheme: 'scaled',
      granularity: 'block',
      blockSize: 16,
      scaleElement: E.ue4m3,
      scaleRule: 'absmax',
      tensorScale: true,
      scaleClamp: [pow2(-9), 448],
    }),
    ggmlQ('q8_0', 8, 34, rawInt(8, 'twos'), 'absmax', 'ggml Q8_0: 32 × int8 with an FP16 scale'),
    ggmlQ('q4_0', 2, 18, rawInt(4, 'offset'), 'signedMax', 'ggml Q4_0: 32 × 4-bit (offset 8) with an FP16 scale'),
    ggmlQ('q4_1', 3, 20, rawInt(4, 'unsigned'), 'minMax', 'ggml Q4_1: 32 × 4-bit with FP16 scale and minimum'),
    ggmlQ('q5_0', 6, 22, rawInt(5, 'offset'), 'signedMax', 'ggml Q5_0: 32 × 5-bit (offset 16) with an FP16 scale'),
    ggmlQ('q5_1', 7, 24, rawInt(5, 'unsigned'), 'minMax', 'ggml Q5_1: 32 × 5-bit with FP16 scale and minimum'),
    defineFormat({
      name: 'ggml_mxfp4',
      family: 'ggml',
      description: 'ggml MXFP4 (type 39): OCP MXFP4 values in 17-byte blocks',
      element: E.fp4_e2m1,
      scheme: 'pow2',
      granularity: 'block',
      blockSize: 32,
      scaleElement: E.e8m0,
      requiresWholeBlocks: true,
      ggml: { typeName: 'mxfp4', typeId: 39, blockElements: 32, blockBytes: 17 },
    }),
    defineFormat({
      name: 'ggml_nvfp4',
      family: 'ggml',
      description: 'ggml NVFP4 (type 40): 16 × FP4 E2M1 per UE4M3 scale, no tensor scale, 64-element blocks',
      element: E.fp4_e2m1,
      scheme: 'scaled',
      granularity: 'block',
      blockSize: 16,
      scaleElement: E.ue4m3,
      scaleRule: 'absmax',
      scaleClamp: [0, 448],
      requiresWholeBlocks: true,
      ggml: { typeName: 'nvfp4', typeId: 40, blockElements: 64, blockBytes: 36 },
    }),
  );
  return new Map(list.map((f) => [f.name, f]));
}

/** Every named format, keyed by canonical name. */
export const CATALOG: ReadonlyMap<string, Format> = buildCatalog();

/** Alternative spellings accepted by the parser. */
export const ALIASES: ReadonlyMap<string, string> = new Map([
  ['fp4', 'fp4_e2m1'],
  ['mxfp4_e2m1', 'mxfp4'],
  ['float16', 'fp16'],
  ['half', 'fp16'],
  ['bfloat16', 'bf16'],
  ['float32', 'fp32'],
  ['fp8_e4m3fn', 'fp8_e4m3'],
  ['fp8_e8m0', 'e8m0'],
]);
