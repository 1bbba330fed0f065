import { BackendError } from '../../formats/errors.js';

/** Why a WebGPU operation failed. */
export type WebGPUErrorReason =
  /** No WebGPU implementation (no navigator.gpu, no `webgpu` package) or no adapter. */
  | 'WEBGPU_UNAVAILABLE'
  /** The device was lost (driver reset, another context destroyed it, or dispose()). */
  | 'WEBGPU_DEVICE_LOST'
  /** The device ran out of memory for a buffer. */
  | 'WEBGPU_OUT_OF_MEMORY'
  /** The backend was disposed. */
  | 'WEBGPU_DISPOSED'
  /** The device reported an internal or validation error. */
  | 'WEBGPU_DEVICE_ERROR';

/**
 * An error of the WebGPU backend: a missing adapter (`code` BACKEND_UNAVAILABLE), a lost device,
 * memory, or use after dispose (BACKEND_FAILURE); `reason` says which. Bad inputs still raise the
 * core's errors (OptionError, ShapeError, EncodingError, …).
 */
export class WebGPUError extends BackendError {
  readonly reason: WebGPUErrorReason;
  constructor(reason: WebGPUErrorReason, message: string) {
    super(reason === 'WEBGPU_UNAVAILABLE' ? 'BACKEND_UNAVAILABLE' : 'BACKEND_FAILURE', message);
    this.reason = reason;
  }
}
