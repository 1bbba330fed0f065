// One tensor to GGUF bytes: quantize, check every scale the way llama.cpp validates rows, and lay
// the codes out as ggml's block structs. OCP MXFP4 and NVFP4 carry the same codes and scale bytes
// as ggml's MXFP4 and NVFP4; only the nibble order and block grouping differ, so they are re-laid
// through the ggml descriptors (NVFP4's per-tensor FP32 scale becomes a `.scale` tensor).
import { quantize } from '../../formats/api.js';
import { EncodingError } from '../../formats/errors.js';
import { parseFormat } from '../../formats/names.js';
import type { QuantizeOptions } from '../../formats/options.js';
import { resolveOptions } from '../../formats/options.js';
import { QuantizedTensor } from '../../formats/quantized.js';
import type { Backend } from '../../kernels/backend.js';
import { layGgmlBlocks } from './lay.js';
import { encodeInteger, encodePlain, type GgufTarget } from './targets.js';
import { quoted } from '../quote.js';

/** A tensor's bytes in its GGUF type, and the per-tensor scale that goes with an NVFP4 tensor. */
export interface GgufTensorBytes {
  readonly bytes: Uint8Array;
  /** The OCP NVFP4 per-tensor FP32 scale (written as `<name>.scale`), null otherwise. */
  readonly tensorScale: number | null;
  /** The quantized tensor the bytes hold (null for plain float types). */
  readonly quantized: QuantizedTensor | null;
}

/** Where a flat element index lies, for messages: block number and the row it starts. */
function blockWhere(block: number, blockElements: number, rowLength: number): string {
  const first = block * blockElements;
  return `block ${block} (row ${Math.floor(first / rowLength)}, elements ${first % rowLength}…${(first % rowLength) + blockElements - 1})`;
}

/** Index of the first NaN or ±Inf, or −1 (v − v is 0 exactly for finite v). */
function firstNonFinite(x: Float32Array): number {
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (v - v !== 0) return i;
  }
  return -1;
}

/** Index of the first code whose bits `mask` are all set, or −1 (one monomorphic loop per array type). */
function firstWithBits(codes: Uint8Array | Uint16Array | Uint32Array, mask: number): number {
  for (let i = 0; i < codes.length; i++) if ((codes[i]! & mask) === mask) return i;
  return -1;
}

const FP16_EXP = 0x7c00;

/**
 * Check the scales llama.cpp's `ggml_validate_row_data` checks: FP16 scales and minimums must be
 * finite (Q8_0 … Q5_1), E8M0 exponents must not be 0xFF (MXFP4), UE4M3 scales must not be the NaN
 * code 0x7F (NVFP4).
 */
function checkScales(q: QuantizedTensor, target: GgufTarget, tensor: string, rowLength: number): void {
  const perBlock = q.scales.length / (q.length / target.blockElements);
  const fail = (i: number, what: string, fix: string) => {
    const block = Math.floor(i / perBlock);
    throw new EncodingError(`tensor ${quoted(tensor)} ${blockWhere(block, target.blockElements, rowLength)}: ${what}, which llama.cpp rejects; ${fix}`);
  };
  if (q.format.scheme === 'pow2') {
    const i = firstWithBits(q.scales, 0xff);
    if (i >= 0) fail(i, 'the E8M0 scale is 0xFF (NaN)', 'the block holds NaN or Inf: clean the weights first');
    return;
  }
  if (q.format.element.kind === 'float') {
    const i = firstWithBits(q.scales, 0x7f);
    if (i >= 0) fail(i, `the UE4M3 scale byte is 0x${q.scales[i]!.toString(16)} (NaN)`, 'the block holds NaN or Inf: clean the weights first');
    return;
  }
  const i = firstWithBits(q.scales, FP16_EXP);
  if (i >= 0) fail(i, 'the FP16 scale is not finite (the block spans more than FP16 can hold)', 'scale the weights down or keep this tensor in F32/F16');
  const j = firstWithBits(q.offsets, FP16_EXP);
  if (j >= 0) fail(j, 'the FP16 minimum (offset) is not finite: the block minimum is below −65504', `use ${q.format.name.replace('_1', '_0')} (no offset) or keep this tensor in F32/F16`);
}

/** The same codes and scale bytes under a ggml descriptor, so they are laid out as ggml blocks. */
function asGgml(q: QuantizedTensor, ggmlName: string): QuantizedTensor {
  const f = parseFormat(ggmlName);
  return new QuantizedTensor({
    format: f,
    options: resolveOptions(f, q.length, { shape: q.shape, preset: 'ggml' }),
    codes: q.codes,
    scales: q.scales,
    subScales: new Uint8Array(0),
    offsets: new Uint8Array(0),
    tensorScale: 1,
  });
}

/**
 * Quantize `x` (of `shape`, outermost first) to `target` and return the GGUF bytes. Throws an
 * EncodingError naming the tensor and block for NaN/Inf inputs and for scales llama.cpp refuses.
 */
export async function tensorToGguf(x: Float32Array, shape: readonly number[], target: GgufTarget, options: QuantizeOptions, tensor: string, backend?: Backend): Promise<GgufTensorBytes> {
  if (target.kind === 'plain') {
    const bytes = target.typeId >= 24 && target.typeId <= 27 ? encodeInteger(x, target.typeId, tensor) : encodePlain(x, target.typeId);
    return { bytes, tensorScale: null, quantized: null };
  }
  const rowLength = shape.length === 0 ? 1 : shape[shape.length - 1]!;
  const bad = firstNonFinite(x);
  if (bad >= 0) {
    const block = Math.floor(bad / target.blockElements);
    throw new EncodingError(
      `tensor ${quoted(tensor)} ${blockWhere(block, target.blockElements, rowLength)}: element ${bad} is ${x[bad]}; ${target.typeName} blocks cannot hold NaN or Inf (llama.cpp rejects them): clean the weights or keep this tensor unquantized with --exclude`,
    );
  }
  const opts: QuantizeOptions = { ...options, shape };
  const format = target.format!;
  const q = backend ? await backend.quantize(x, format, opts) : quantize(x, format, opts);
  checkScales(q, target, tensor, rowLength);
  if (target.kind === 'ggml') return { bytes: layGgmlBlocks(q), tensorScale: null, quantized: q };
  if (q.axis !== shape.length - 1) throw new EncodingError(`tensor ${quoted(tensor)}: ggml blocks run along the last axis; drop the axis option`);
  const expectBlock = target.kind === 'ocp-mxfp4' ? 32 : 16;
  if (q.blockSize !== expectBlock || (q.format.scheme === 'pow2' && q.options.scaleBits !== 8)) {
    throw new EncodingError(`tensor ${quoted(tensor)}: ggml ${target.typeName} needs ${expectBlock}-element blocks with 8-bit scales; drop --block-size`);
  }
  const relaid = asGgml(q, target.kind === 'ocp-mxfp4' ? 'ggml_mxfp4' : 'ggml_nvfp4');
  return { bytes: layGgmlBlocks(relaid), tensorScale: target.kind === 'ocp-nvfp4' ? q.tensorScale : null, quantized: q };
}
