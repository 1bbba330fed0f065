// Model file readers (browser-safe). Node file access: ./node-source.js.
export { openModel, sniffFormat, formatFromName } from './open.js';
export type { ModelInput, OpenModelOptions } from './open.js';
export type { ModelReader, TensorInfo, ModelFormat } from './types.js';
export { ModelFileError } from './errors.js';
export type { ModelFileProblem } from './errors.js';
export { bytesSource, blobSource, blobResolver, concatSource } from './source.js';
export type { ByteSource, BlobLike, SiblingResolver } from './source.js';
export { decodePlain, PLAIN_BITS } from './dtypes.js';
export type { PlainDtype } from './dtypes.js';
