// `microscale/wasm`: the WebAssembly backend (SIMD and scalar builds, worker threads over shared memory).
export { createWasmBackend, WASM_MATMUL_BOUND } from './backend.js';
export type { WasmBackendOptions } from './backend.js';
export { WasmKernelError, simdSupported, sharedMemorySupported } from './runtime.js';
