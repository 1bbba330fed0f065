import { dequantize, fakeQuantize, matmul, quantize } from '../formats/api.js';
import type { Backend } from './backend.js';

/** The reference codec as a Backend: synchronous, exact, single-threaded. */
export const referenceBackend: Backend = Object.freeze({
  capabilities: Object.freeze({
    name: 'reference',
    bitExact: true,
    matmulRelativeBound: 2 ** -24,
    threads: 1,
    simd: false,
    notes: Object.freeze(['pure TypeScript; float64 accumulation in matmul']),
  }),
  quantize,
  dequantize,
  fakeQuantize,
  matmul,
  dispose() {},
});
