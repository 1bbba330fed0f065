// com.microsoft.MatMulNBits (onnxruntime's block-quantized MatMul, what transformers.js calls q4):
// Y = A · dequant(B)ᵀ with B of logical shape [N, K] stored as uint8 [N, ⌈K/block⌉, block·bits/8],
// codes packed LSB-first along K, value = (code − zero_point) · scale, one float scale per block and
// the default zero point 2^(bits−1). A format fits when each block's values are integers times one
// scale: integer elements (two's complement, sign-magnitude or offset) under a power-of-two or
// multiplicative block scale, without microexponents, offsets or a tensor scale.
import { bitsToF32, pow2 } from '../../formats/bits.js';
import type { IntElement } from '../../formats/element.js';
import type { Format } from '../../formats/format.js';
import type { ResolvedOptions } from '../../formats/options.js';
import { unpackCodes } from '../../formats/pack.js';
import { storedElement, type QuantizedTensor } from '../../formats/quantized.js';
import { decodeElement } from '../../formats/reference/element-codec.js';

/** Code widths MatMulNBits runs on the CPU. */
const NBITS = [4, 8] as const;

/** MatMulNBits' code width for a format, or why it has none. */
export function matMulNBitsBits(format: Format, opts: ResolvedOptions): number | string {
  const el = storedElement(format, opts.preset);
  if (el.kind !== 'int') return `${format.name} has ${el.name} elements; MatMulNBits stores integer codes`;
  if (el.encoding === 'unsigned') return `${format.name} has unsigned codes with a per-block offset; MatMulNBits' uint8 zero points cannot hold it exactly`;
  if (format.granularity !== 'block') return `${format.name} is not block-scaled`;
  if (format.subBlock) return `${format.name} has microexponents; MatMulNBits has one scale per block`;
  if (format.tensorScale || format.scaleRule === 'minMax') return `${format.name} has a second scale or an offset`;
  const bs = opts.blockSize;
  if (bs < 16 || (bs & (bs - 1)) !== 0) return `MatMulNBits needs a power-of-two block of at least 16 elements; this one is ${bs}`;
  const bits = NBITS.find((b) => el.bits <= b);
  if (bits === undefined) return `${el.bits}-bit codes are wider than MatMulNBits' 8`;
  return bits;
}

/** The signed integer a code stands for (before the element's 2^−fracBits). */
function intOf(el: IntElement, code: number): number {
  const half = 2 ** (el.bits - 1);
  switch (el.encoding) {
    case 'twos':
      return code >= half ? code - 2 * half : code;
    case 'signmag':
      return code >= half ? -(code - half) : code;
    case 'offset':
      return code - half;
    case 'unsigned':
      return code;
  }
}

export interface MatMulNBitsWeight {
  readonly N: number;
  readonly K: number;
  readonly bits: number;
  readonly blockSize: number;
  /** uint8 [N, blocks, blockSize·bits/8]. */
  readonly B: Uint8Array;
  /** float32 [N, blocks]. */
  readonly scales: Float32Array;
}

/** Repack a 2-D weight quantized along K ([K, N] along axis 0, or [N, K] along axis 1) for MatMulNBits. */
export function toMatMulNBits(q: QuantizedTensor, bits: number): MatMulNBitsWeight {
  const K = q.shape[q.axis]!;
  const N = q.shape[1 - q.axis]!;
  const L = q.layout;
  const el = q.element as IntElement;
  const bs = L.blockSize;
  const blocks = L.blocksPerRow;
  const blob = (bs * bits) / 8;
  const zero = 2 ** (bits - 1);
  const codes = unpackCodes(q.codes, el.bits, L.n);
  const B = new Uint8Array(N * blocks * blob);
  const scales = new Float32Array(N * blocks);
  const scaleEl = q.scaleElement!;
  const pow2Bias = 2 ** (scaleEl.bits - 1) - 1;
  const pow2Nan = 2 ** scaleEl.bits - 1;
  const unit = pow2(-el.fracBits);
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < blocks; b++) {
      const si = n * blocks + b;
      const sc = q.scales[si]!;
      const value =
        q.format.scheme === 'pow2' ? (sc === pow2Nan ? NaN : pow2(sc - pow2Bias)) : scaleEl.bits === 32 ? bitsToF32(sc) : decodeElement(scaleEl, sc);
      scales[si] = value * unit;
      for (let j = 0; j < bs; j++) {
        const k = b * bs + j;
        // blocked order: row n holds the K codes of output n (either orientation); past K, the zero point (value 0)
        const u = k < K ? intOf(el, codes[n * K + k]!) + zero : zero;
        const at = si * blob * 8 + j * bits;
        B[at >> 3]! |= u << (at & 7);
      }
    }
  }
  return { N, K, bits, blockSize: bs, B, scales };
}
