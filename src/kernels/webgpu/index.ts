// microscale/webgpu: quantize, dequantize, fake-quantize and matmul on the GPU through WebGPU
// (navigator.gpu in browsers, the optional `webgpu` package in Node), bit-exact with the reference.
export { createWebGPUBackend } from './backend.js';
export type { WebGPUBackend, WebGPUKernels, PreparedOp } from './backend.js';
export { DEFAULT_DAWN_FLAGS } from './runtime.js';
export type { WebGPUBackendOptions } from './runtime.js';
export { WebGPUError } from './errors.js';
export type { WebGPUErrorReason } from './errors.js';
export type { GpuLimits, GpuAdapterInfo, Gpu, GpuAdapter, GpuError, GpuDeviceLostInfo, GpuDevice, GpuComputePipelineDescriptor, GpuShaderModule, GpuBindGroupLayout, GpuBindGroup, GpuBindGroupEntry, GpuComputePipeline, GpuBuffer, GpuQuerySet, GpuComputePassEncoder, GpuCommandEncoder, GpuCommandBuffer, GpuQueue } from './gpu-types.js';
