import { BackendError } from '../../formats/errors.js';

/**
 * The WebGL backend cannot run here (gpu.js missing, no WebGL context: `BACKEND_UNAVAILABLE`) or a
 * context failed (lost, out of memory, shader rejected: `BACKEND_FAILURE`). The message says which
 * and what to do.
 */
export class WebGLBackendError extends BackendError {
  constructor(message: string, code: 'BACKEND_UNAVAILABLE' | 'BACKEND_FAILURE' = 'BACKEND_FAILURE') {
    super(code, message);
  }
}
