// The shared conformance suite on the WebGPU backend, second half: sizes, shapes, special values
// and matmul (the first half is in webgpu-codes.test.ts). Skips visibly without an adapter.
import { createWebGPUBackend } from '../../src/kernels/webgpu/index.js';
import { describeWhen } from '../helpers/needs.js';
import { probeGpu } from '../unit/webgpu/gpu-env.js';
import { defineConformanceSuite } from './suite.js';

const env = await probeGpu();

describeWhen(`webgpu on ${env.adapterName || 'no adapter'}`, env.missing, () => {
  defineConformanceSuite('webgpu', () => createWebGPUBackend({ gpu: env.gpu!, device: env.device! }), ['shapes', 'matmul']);
});
