// microscale core: format descriptors, the bit-exact reference codec and packed storage.
// Synchronous, dependency-free, browser-safe. Backends and file readers live in subpaths.
export { quantize, dequantize, fakeQuantize, matmul, listFormats, getFormat } from './formats/api.js';
export type { QuantizeOptions, ResolvedOptions, Preset } from './formats/options.js';
export type { MatmulOptions } from './formats/reference/matmul.js';
export type { Rounding } from './formats/reference/element-codec.js';
export { QuantizedTensor } from './formats/quantized.js';
export type { QuantizedParts, ScaleArray } from './formats/quantized.js';
export type {
  Format,
  Family,
  Granularity,
  Scheme,
  ScaleMode,
  ScaleRule,
  SubBlock,
  GgmlLayout,
} from './formats/format.js';
export type {
  ElementFormat,
  FloatElement,
  IntElement,
  FloatElementParams,
  IntElementParams,
  NanEncoding,
  OverflowPolicy,
  IntEncoding,
} from './formats/element.js';
export { ELEMENTS } from './formats/element.js';
export { getElement, formatName } from './formats/names.js';
export { encodeElement, decodeElement } from './formats/reference/element-codec.js';
export {
  packCodes,
  unpackCodes,
  packedByteLength,
  adjacentToGgmlSplit,
  ggmlSplitToAdjacent,
  fp6LsbToMsb,
  fp6MsbToLsb,
} from './formats/pack.js';
export { toGgmlBlocks, fromGgmlBlocks } from './formats/reference/ggml.js';
export { stochasticUniform } from './formats/bits.js';
export {
  MicroscaleError,
  FormatError,
  OptionError,
  ShapeError,
  EncodingError,
  ContainerError,
  BackendError,
} from './formats/errors.js';
export type { MicroscaleErrorCode } from './formats/errors.js';
export { CONTAINER_MAGIC, CONTAINER_VERSION } from './formats/container.js';
export type { Backend, BackendCapabilities, MaybePromise } from './kernels/backend.js';
export { referenceBackend } from './kernels/reference.js';
export type { Layout } from './formats/layout.js';
