// The shared conformance suite on the WebGPU backend (Dawn in Node; SwiftShader where there is no
// GPU). Skips visibly when no adapter is available.
import { describe, it } from 'vitest';
import { createWebGPUBackend } from '../../src/kernels/webgpu/index.js';
import { probeGpu } from '../unit/webgpu/gpu-env.js';
import { defineConformanceSuite } from './suite.js';

const env = await probeGpu();

if (env.gpu) {
  describe(`webgpu on ${env.adapterName}`, () => {
    defineConformanceSuite('webgpu', () => createWebGPUBackend({ gpu: env.gpu! }));
  });
} else {
  describe('conformance: webgpu', () => {
    it.skip(`skipped: ${env.skipReason}`, () => {});
  });
}
