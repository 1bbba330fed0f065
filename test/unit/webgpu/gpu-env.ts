// Shared set-up of the WebGPU tests: Dawn (the `webgpu` package) on whatever Vulkan driver the
// machine has, SwiftShader's when nothing else is configured. Tests skip visibly without an adapter.
import { existsSync } from 'node:fs';
import type { Gpu } from '../../../src/kernels/webgpu/index.js';
import { DEFAULT_DAWN_FLAGS } from '../../../src/kernels/webgpu/runtime.js';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

export interface GpuProbe {
  readonly gpu: Gpu | null;
  /** Why the WebGPU tests are skipped (empty when they run). */
  readonly skipReason: string;
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
      return { gpu: null, skipReason: `the optional package "webgpu" is not installed (${(e as Error).message})`, adapterName: '' };
    }
    const gpu = create([...DEFAULT_DAWN_FLAGS]);
    const adapter = await gpu.requestAdapter();
    if (!adapter) {
      return {
        gpu: null,
        skipReason: `no WebGPU adapter (install a Vulkan driver, e.g. Debian's chromium for SwiftShader at ${SWIFTSHADER_ICD})`,
        adapterName: '',
      };
    }
    const i = adapter.info ?? {};
    return { gpu, skipReason: '', adapterName: [i.vendor, i.architecture, i.device].filter(Boolean).join(' ') };
  })();
  return probe;
}
