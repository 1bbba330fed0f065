// The shared conformance suite on the WASM backend: SIMD and scalar builds, one and two threads.
import { createWasmBackend } from '../../src/kernels/wasm/index.js';
import { defineConformanceSuite } from './suite.js';

defineConformanceSuite('wasm (SIMD, 1 thread)', () => createWasmBackend({ threads: 1 }));
defineConformanceSuite('wasm (scalar, 2 threads)', () => createWasmBackend({ threads: 2, simd: false, minParallelWork: 1 }));
