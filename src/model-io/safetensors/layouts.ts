// How each safetensors layout names, types and shapes the parts of a quantized tensor. Shared by
// the writer (which fills them) and the reader (which turns them back into QuantizedTensors).
import { pow2 } from '../../formats/bits.js';
import { ELEMENTS, type ElementFormat } from '../../formats/element.js';
import type { Format } from '../../formats/format.js';
import { layoutOf, type Layout } from '../../formats/layout.js';
import type { ResolvedOptions } from '../../formats/options.js';
import { packedByteLength } from '../../formats/pack.js';
import { scaleBytes, scaleElementOf, storedElement } from '../../formats/quantized.js';
import { SAFETENSORS_DTYPE_BITS } from './file.js';

/** The layouts, the first being the default. */
export const SAFETENSORS_LAYOUTS = ['microscale', 'gpt-oss', 'modelopt', 'compressed-tensors'] as const;
export type SafetensorsLayoutName = (typeof SAFETENSORS_LAYOUTS)[number];

/** `__metadata__` keys of the microscale layout. */
export const MICROSCALE_LAYOUT_KEY = 'microscale.layout';
export const MICROSCALE_VERSION = '1';
export const MICROSCALE_TENSOR_PREFIX = 'microscale.tensor.';

/** safetensors dtypes whose elements are exactly a catalog element's codes (same bits, same order). */
const ELEMENT_DTYPES: ReadonlyMap<ElementFormat, string> = new Map([
  [ELEMENTS.fp4_e2m1, 'F4'],
  [ELEMENTS.fp6_e2m3, 'F6_E2M3'],
  [ELEMENTS.fp6_e3m2, 'F6_E3M2'],
  [ELEMENTS.fp8_e4m3, 'F8_E4M3'],
  [ELEMENTS.fp8_e5m2, 'F8_E5M2'],
  [ELEMENTS.e8m0, 'F8_E8M0'],
  [ELEMENTS.fp16, 'F16'],
  [ELEMENTS.bf16, 'BF16'],
  [ELEMENTS.fp32, 'F32'],
  // UE4M3 codes 0…127 are the non-negative E4M3 codes
  [ELEMENTS.ue4m3, 'F8_E4M3'],
]);

/** One stored part of a quantized tensor in the microscale layout. */
export interface PartSpec {
  readonly key: 'codes' | 'scales' | 'subScales' | 'offsets' | 'tensorScale';
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly byteLength: number;
}

/** The tensor's shape with the block axis moved last: the order codes are stored in. */
export function blockedShape(format: Format, opts: ResolvedOptions): number[] {
  const s = [...opts.shape];
  if (format.granularity === 'element' || format.granularity === 'tensor') return s;
  const [a] = s.splice(opts.axis, 1);
  return [...s, a!];
}

/** A dtype for `count` codes of element `el` packed `bits` to a code, laid out as `shape`, or U8
 * (one code per byte, or the packed bytes as a flat list). */
function typedOrBytes(el: ElementFormat, bits: number, count: number, shape: readonly number[], bytes: number): { dtype: string; shape: readonly number[] } {
  const dtype = ELEMENT_DTYPES.get(el);
  if (dtype && SAFETENSORS_DTYPE_BITS[dtype] === bits && (count * bits) % 8 === 0) return { dtype, shape };
  if (bits === 8) return { dtype: 'U8', shape };
  return { dtype: 'U8', shape: [bytes] };
}

/** Parts of a tensor of `format` with `opts` in the microscale layout, named after `name`. */
export function microscaleParts(name: string, format: Format, opts: ResolvedOptions): PartSpec[] {
  const L: Layout = layoutOf(format, opts);
  const el = storedElement(format, opts.preset);
  const shape = blockedShape(format, opts);
  const codeBytes = packedByteLength(L.n, el.bits);
  const parts: PartSpec[] = [{ key: 'codes', name, byteLength: codeBytes, ...typedOrBytes(el, el.bits, L.n, shape, codeBytes) }];
  const scaleEl = scaleElementOf(format, opts);
  if (scaleEl) {
    const sb = scaleBytes(scaleEl);
    const scaleShape = format.granularity === 'tensor' ? [L.scaleCount] : [...shape.slice(0, -1), L.blocksPerRow];
    // scale codes are stored one per byte (or 2/4-byte words): narrow pow2 exponents as U8
    const spec = { ...typedOrBytes(scaleEl, 8 * sb, L.scaleCount, scaleShape, L.scaleCount * sb), byteLength: L.scaleCount * sb };
    parts.push({ key: 'scales', name: `${name}.scales`, ...spec });
    if (format.scaleRule === 'minMax') parts.push({ key: 'offsets', name: `${name}.offsets`, ...spec });
  }
  if (format.subBlock) {
    const bytes = packedByteLength(L.subScaleCount, format.subBlock.bits);
    parts.push({ key: 'subScales', name: `${name}.sub_scales`, dtype: 'U8', shape: [bytes], byteLength: bytes });
  }
  if (format.tensorScale) parts.push({ key: 'tensorScale', name: `${name}.tensor_scale`, dtype: 'F32', shape: [1], byteLength: 4 });
  return parts;
}

/** What `__metadata__["microscale.tensor.<name>"]` holds (JSON): the resolved options and the part names. */
export interface MicroscaleTensorMeta {
  readonly format: string;
  readonly shape: readonly number[];
  readonly axis: number;
  readonly blockSize: number;
  readonly rounding: string;
  readonly seed: number;
  readonly scaleMode: string;
  readonly scaleBits: number;
  readonly preset: string;
  readonly flushSubnormalBlocks: boolean;
  readonly scaleUpperBound: number | null;
  readonly parts: Partial<Record<PartSpec['key'], string>>;
}

/** Whether a format is OCP MXFP4 as gpt-oss stores it (E2M1 codes, 32-element blocks, 8-bit E8M0 scale). */
export function isMxfp4(format: Format, opts?: ResolvedOptions): boolean {
  return format.element === ELEMENTS.fp4_e2m1 && format.scheme === 'pow2' && format.subBlock === null && format.granularity === 'block' &&
    format.scaleElement === ELEMENTS.e8m0 && (!opts || (opts.blockSize === 32 && opts.scaleBits === 8));
}

/** Whether a format is NVFP4 (E2M1 codes, 16-element UE4M3 blocks and an FP32 tensor scale). */
export function isNvfp4(format: Format, opts?: ResolvedOptions): boolean {
  return format.element === ELEMENTS.fp4_e2m1 && format.scheme === 'scaled' && format.scaleElement === ELEMENTS.ue4m3 && format.tensorScale &&
    format.granularity === 'block' && (!opts || opts.blockSize === 16);
}

/** Tensor names of each convention's parts, from the source tensor's name. */
export const partNames = {
  gptOss: (w: string) => ({ blocks: `${w}_blocks`, scales: `${w}_scales` }),
  modelopt: (w: string) => ({ weight: w, scale: `${w}_scale`, scale2: `${w}_scale_2` }),
  compressed: (w: string) => ({ weight: `${w}_packed`, scale: `${w}_scale`, global: `${w}_global_scale` }),
};

/** Projections that vLLM and TensorRT-LLM fuse into one GEMM, so their NVFP4 tensor scales must agree:
 * q/k/v, gate/up (dense and per-expert `w1`/`w3`). Returns the fused group's key, or null. */
export function fusedGroup(name: string): string | null {
  const m = /^(.*\.)(q_proj|k_proj|v_proj|gate_proj|up_proj|w1|w3)\.weight$/s.exec(name);
  if (!m) return null;
  const kind = m[2] === 'q_proj' || m[2] === 'k_proj' || m[2] === 'v_proj' ? 'qkv' : m[2] === 'w1' || m[2] === 'w3' ? 'w13' : 'gate_up';
  return `${m[1]}${kind}`;
}

/** NVFP4's default tensor scale for data whose finite |max| is `amax` (the reference's rule). */
export function nvfp4TensorScale(amax: number): number {
  if (amax === 0) return 1;
  return Math.max(Math.fround(amax / Math.fround(6 * 448)), pow2(-149));
}
