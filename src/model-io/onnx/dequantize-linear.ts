// Blocked DequantizeLinear (ONNX opset 21): y = x · scale with x a narrow tensor of the weight's shape
// and scale of the same rank, the block axis divided into ⌈len/block⌉. A format fits when each
// block's values are element codes of an ONNX type times one float scale: integer elements of up to
// 8 bits (INT4 / INT8) and FP8 E4M3 / E5M2, under a power-of-two or multiplicative block scale (a
// tensor scale folds into the block scale exactly, as dequantize() applies it).
import { bitsToF32, pow2 } from '../../formats/bits.js';
import { ELEMENTS, type IntElement } from '../../formats/element.js';
import type { Format } from '../../formats/format.js';
import { flatIndex } from '../../formats/layout.js';
import type { ResolvedOptions } from '../../formats/options.js';
import { packCodes, unpackCodes } from '../../formats/pack.js';
import { storedElement, type QuantizedTensor } from '../../formats/quantized.js';
import { decodeElement } from '../../formats/reference/element-codec.js';

/** An ONNX element type for a format's codes: TensorProto.DataType, bits, and the opset it needs. */
export interface DqType {
  readonly dataType: number;
  readonly bits: number;
  readonly opset: number;
}

// FLOAT4E2M1 (opset 23) is left out: onnxruntime 1.23's CPU DequantizeLinear does not run it, so
// MXFP4/NVFP4 weights are written fake-quantized
const FLOAT_TYPES = new Map([
  [ELEMENTS.fp8_e4m3, { dataType: 17, bits: 8, opset: 21 }],
  [ELEMENTS.fp8_e5m2, { dataType: 19, bits: 8, opset: 21 }],
]);

/** The ONNX type a format's codes go to under blocked DequantizeLinear, or why there is none. */
export function dequantizeLinearType(format: Format, opts: ResolvedOptions): DqType | string {
  if (format.granularity !== 'block' && format.granularity !== 'axis') return `${format.name} has no per-block scales`;
  if (format.subBlock) return `${format.name} has microexponents; DequantizeLinear has one scale per block`;
  if (format.scaleRule === 'minMax') return `${format.name} has per-block offsets`;
  const el = storedElement(format, opts.preset);
  if (el.kind === 'int') {
    if (el.encoding === 'unsigned') return `${format.name} has unsigned codes with an offset`;
    if (el.bits <= 4) return { dataType: 22, bits: 4, opset: 21 };
    if (el.bits <= 8) return { dataType: 3, bits: 8, opset: 21 };
    return `${el.bits}-bit codes are wider than INT8`;
  }
  return FLOAT_TYPES.get(el) ?? `${format.name} has ${el.name} elements, which ONNX has no type for`;
}

function signedOf(el: IntElement, code: number): number {
  const half = 2 ** (el.bits - 1);
  if (el.encoding === 'twos') return code >= half ? code - 2 * half : code;
  if (el.encoding === 'signmag') return code >= half ? -(code - half) : code;
  return code - half; // offset
}

export interface DqWeight {
  /** Codes in the weight's own (row-major) order, packed as the ONNX type stores them. */
  readonly codes: Uint8Array;
  readonly scales: Float32Array;
  readonly scaleShape: number[];
  readonly axis: number;
  readonly blockSize: number;
}

/** Re-lay a quantized tensor for blocked DequantizeLinear. */
export function toDequantizeLinear(q: QuantizedTensor, type: DqType): DqWeight {
  const L = q.layout;
  const el = q.element;
  const codes = unpackCodes(q.codes, el.bits, L.n);
  const out = new Uint32Array(L.n);
  const mask = 2 ** type.bits - 1;
  for (let row = 0; row < L.rows; row++) {
    for (let l = 0; l < L.rowLength; l++) {
      const c = codes[row * L.rowLength + l]!;
      // ints become two's complement of the ONNX width; float codes are already the ONNX type's bits
      out[flatIndex(L, row, l)] = el.kind === 'int' ? signedOf(el, c) & mask : c;
    }
  }
  const scaleEl = q.scaleElement!;
  const pow2Bias = 2 ** (scaleEl.bits - 1) - 1;
  const pow2Nan = 2 ** scaleEl.bits - 1;
  const unit = el.kind === 'int' ? pow2(-el.fracBits) : 1;
  const scaleShape = [...q.shape];
  scaleShape[q.axis] = L.blocksPerRow;
  const scales = new Float32Array(L.scaleCount);
  const outerRows = L.rows / Math.max(L.inner, 1);
  for (let o = 0; o < outerRows; o++) {
    for (let i = 0; i < L.inner; i++) {
      for (let b = 0; b < L.blocksPerRow; b++) {
        const sc = q.scales[(o * L.inner + i) * L.blocksPerRow + b]!;
        let v: number;
        if (q.format.scheme === 'pow2') v = sc === pow2Nan ? NaN : pow2(sc - pow2Bias);
        else {
          const d = scaleEl.bits === 32 ? bitsToF32(sc) : decodeElement(scaleEl, sc);
          v = q.format.tensorScale ? Math.fround(q.tensorScale * d) : d;
        }
        scales[(o * L.blocksPerRow + b) * L.inner + i] = v * unit;
      }
    }
  }
  return { codes: packCodes(out, type.bits, L.n), scales, scaleShape, axis: q.axis, blockSize: L.blockSize };
}
