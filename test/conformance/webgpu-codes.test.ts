// The shared conformance suite on the WebGPU backend (Dawn in Node; SwiftShader where there is no
// GPU), first half: every element code and the exhaustive bf16 runs. The other half is in
// webgpu-shapes.test.ts; the two files run in parallel. Skips visibly without an adapter.
import { createWebGPUBackend } from '../../src/kernels/webgpu/index.js';
import { describeWhen } from '../helpers/needs.js';
import { probeGpu } from '../unit/webgpu/gpu-env.js';
import { defineConformanceSuite } from './suite.js';

const env = await probeGpu();

describeWhen(`webgpu on ${env.adapterName || 'no adapter'}`, env.missing, () => {
  defineConformanceSuite('webgpu', () => createWebGPUBackend({ gpu: env.gpu!, device: env.device! }), ['elements', 'bf16']);
});
