// microscale/webgl: quantize, dequantize, fake-quantize and matmul as gpu.js kernels (WebGL2 exact).
export { createWebGLBackend } from './backend.js';
export type { WebGLBackend, WebGLBackendOptions, WebGLCapabilities } from './backend.js';
export { WebGLBackendError } from './errors.js';
export type { WebGLContextKind, WebGLContextRequest } from './gpujs.js';
