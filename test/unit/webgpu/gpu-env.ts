// Shared set-up of the WebGPU tests: Dawn (the `webgpu` package) on whatever Vulkan driver the
// machine has, SwiftShader's when nothing else is configured. Tests skip visibly without an adapter.
import { existsSync } from 'node:fs';
import type { Gpu, GpuDevice } from '../../../src/kernels/webgpu/index.js';
import type { Missing } from '../../helpers/needs.js';
import { DEFAULT_DAWN_FLAGS, openDevice } from '../../../src/kernels/webgpu/runtime.js';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

export interface GpuProbe {
  readonly gpu: Gpu | null;
  /** One device for the backends of a test file (`createWebGPUBackend({ gpu, device })`): they
   * share its compiled kernels, so a file with several backends compiles each kernel once. */
  readonly device: GpuDevice | null;
  /** What the WebGPU tests lack (null when they run). */
  readonly missing: Missing | null;
  readonly adapterName: string;
}

let probe: Promise<GpuProbe> | null = null;

/** Load Dawn once per test file and check for an adapter. */
export function probeGpu(): Promise<GpuProbe> {
  probe ??= (async () => {
    if (!process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES && existsSync(SWIFTSHADER_ICD)) {
      process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    }
    let create: (flags: string[]) => Gpu;
    try {
      ({ create } = (await import('webgpu')) as unknown as { create: (flags: string[]) => Gpu });
    } catch (e) {
      return { gpu: null, device: null, missing: { what: `the optional package "webgpu" (${(e as Error).message})`, install: 'npm install webgpu' }, adapterName: '' };
    }
    const gpu = create([...DEFAULT_DAWN_FLAGS]);
    const adapter = await gpu.requestAdapter();
    if (!adapter) {
      return {
        gpu: null,
        device: null,
        missing: { what: 'a WebGPU adapter (no Vulkan driver found)', install: `apt-get install libvulkan1 chromium (SwiftShader's Vulkan driver at ${SWIFTSHADER_ICD}) or a GPU's Vulkan driver` },
        adapterName: '',
      };
    }
    const i = adapter.info ?? {};
    const { device } = await openDevice({ gpu });
    return { gpu, device, missing: null, adapterName: [i.vendor, i.architecture, i.device].filter(Boolean).join(' ') };
  })();
  return probe;
}
