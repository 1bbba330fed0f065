import { MicroscaleError } from '../../formats/errors.js';

/**
 * The WebGL backend cannot run here: gpu.js is missing, no WebGL context exists, or the context
 * failed (lost, out of memory, shader rejected). The message says which and what to do.
 * (Code `INVALID_OPTION` until the core gains a dedicated code for unavailable backends.)
 */
export class WebGLBackendError extends MicroscaleError {
  constructor(message: string) {
    super('INVALID_OPTION', message);
  }
}
