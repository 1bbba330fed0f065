// The WASM backend through the same public contracts users run on their own kernels
// (microscale/testing), on top of the shared conformance suite.
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { Backend } from '../../../src/index.js';
import { createWasmBackend } from '../../../src/kernels/wasm/index.js';
import { bitExactWith, checkContract, matmulErrorBound, serializeRoundTrip, signSymmetric } from '../../../src/testing/index.js';

describe('microscale/testing contracts on the WASM backend', () => {
  let wasm: Backend;
  beforeAll(async () => {
    wasm = await createWasmBackend({ threads: 2 });
  });
  afterAll(async () => {
    await wasm.dispose();
  });

  it('bitExactWith(reference): codes, scales and float32 bits on generated formats and inputs', async () => {
    await checkContract(bitExactWith(wasm), { numRuns: 300 });
  });
  it('signSymmetric', async () => {
    await checkContract(signSymmetric(wasm), { numRuns: 150 });
  });
  it('serializeRoundTrip', async () => {
    await checkContract(serializeRoundTrip(wasm), { numRuns: 100 });
  });
  it('matmulErrorBound within capabilities.matmulRelativeBound', async () => {
    await checkContract(matmulErrorBound(wasm), { numRuns: 100 });
  });
});
