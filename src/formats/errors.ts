/** Machine-readable category of a {@link MicroscaleError}. */
export type MicroscaleErrorCode =
  | 'UNKNOWN_FORMAT'
  | 'INVALID_FORMAT_NAME'
  | 'INVALID_OPTION'
  | 'SHAPE_MISMATCH'
  | 'UNREPRESENTABLE'
  | 'CORRUPT_CONTAINER'
  | 'BACKEND_UNAVAILABLE'
  | 'BACKEND_FAILURE';

/** Base class of every error microscale throws on bad input. `code` says which kind it is. */
export class MicroscaleError extends Error {
  readonly code: MicroscaleErrorCode;
  constructor(code: MicroscaleErrorCode, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** An unknown format name, or a malformed name in the format grammar. */
export class FormatError extends MicroscaleError {}
/** An option with a bad value, or one that the chosen format does not accept. */
export class OptionError extends MicroscaleError {
  constructor(message: string) {
    super('INVALID_OPTION', message);
  }
}
/** Shape, length, axis or block size that do not fit together. */
export class ShapeError extends MicroscaleError {
  constructor(message: string) {
    super('SHAPE_MISMATCH', message);
  }
}
/** A value the target format cannot encode under the documented policy (for example NaN in FP4). */
export class EncodingError extends MicroscaleError {
  constructor(message: string) {
    super('UNREPRESENTABLE', message);
  }
}
/** A serialized container that is truncated, corrupt or inconsistent. */
export class ContainerError extends MicroscaleError {
  constructor(message: string) {
    super('CORRUPT_CONTAINER', message);
  }
}
/** A backend that cannot start (no WebAssembly, no GPU adapter, gpu.js missing: `BACKEND_UNAVAILABLE`) or
 * that failed while running (a trap, a lost device, out of device memory: `BACKEND_FAILURE`). */
export class BackendError extends MicroscaleError {}
