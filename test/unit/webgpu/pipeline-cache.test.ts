// Backends on one device share compiled kernels: the runtime compiles a WGSL text once per device
// (compiling dominates WebGPU start-up on software Vulkan), and separate devices compile their own.
import { describe, expect, it } from 'vitest';
import type { GpuDevice } from '../../../src/kernels/webgpu/index.js';
import { Runtime } from '../../../src/kernels/webgpu/runtime.js';

/** Just enough of a device for Runtime.pipeline, counting compilations. */
function countingDevice(): { device: GpuDevice; compiled: string[] } {
  const compiled: string[] = [];
  const device = {
    limits: { maxStorageBufferBindingSize: 1 << 27, maxBufferSize: 1 << 28, maxComputeWorkgroupsPerDimension: 65535 },
    lost: new Promise(() => {}),
    createShaderModule: ({ code }: { code: string }) => ({ code }),
    createComputePipelineAsync: async ({ compute }: { compute: { module: { code: string } } }) => {
      compiled.push(compute.module.code);
      return { code: compute.module.code };
    },
  };
  return { device: device as unknown as GpuDevice, compiled };
}

const runtime = (device: GpuDevice) => new Runtime({ device, info: {}, owned: false }, {});

describe('compiled pipelines', () => {
  it('one compilation per WGSL text and device, shared by every runtime on it', async () => {
    const { device, compiled } = countingDevice();
    const a = runtime(device);
    const b = runtime(device);
    const pa = await a.pipeline('quant|x', () => 'fn main() {}');
    const pb = await b.pipeline('other-key', () => 'fn main() {}');
    expect(pb).toBe(pa);
    await a.pipeline('dequant|x', () => 'fn main() { let y = 1; }');
    expect(compiled).toEqual(['fn main() {}', 'fn main() { let y = 1; }']);
  });

  it('another device compiles its own', async () => {
    const one = countingDevice();
    const two = countingDevice();
    await runtime(one.device).pipeline('k', () => 'fn main() {}');
    await runtime(two.device).pipeline('k', () => 'fn main() {}');
    expect([one.compiled.length, two.compiled.length]).toEqual([1, 1]);
  });
});
