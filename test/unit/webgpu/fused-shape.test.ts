// The fused quantize kernel's work split (elements per thread) as a tuning option: the shape it
// picks, the option's validation, and bit-exact results under every shape the option allows.
// The GPU part runs on Dawn (SwiftShader without a GPU) and skips visibly without an adapter.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OptionError, getFormat, quantize } from '../../../src/index.js';
import { createWebGPUBackend, type WebGPUBackend } from '../../../src/kernels/webgpu/index.js';
import { resolveOptions } from '../../../src/formats/options.js';
import { programOf } from '../../../src/kernels/webgpu/wgsl/program.js';
import { fusedShape } from '../../../src/kernels/webgpu/wgsl/quantize.js';
import { rng } from '../../helpers/random.js';
import { probeGpu } from './gpu-env.js';
import { describeWhen } from '../../helpers/needs.js';

const env = await probeGpu();
const prog = (name: string) => programOf(getFormat(name), resolveOptions(getFormat(name), 64));

describe('fusedShape with a preferred number of elements per thread', () => {
  it('takes the preference where the block and the output words allow it', () => {
    expect(fusedShape(prog('mxfp8_e4m3'), 32, 4)).toEqual({ elementsPerThread: 4, threadsPerBlock: 8 });
    expect(fusedShape(prog('mxfp8_e4m3'), 32, 8)).toEqual({ elementsPerThread: 8, threadsPerBlock: 4 });
    expect(fusedShape(prog('mxfp4'), 32, 8)).toEqual({ elementsPerThread: 8, threadsPerBlock: 4 });
    expect(fusedShape(prog('mx9'), 16, 4)).toEqual({ elementsPerThread: 4, threadsPerBlock: 4 });
    // a two-element block with a preference of one element: one element per thread, two threads
    expect(fusedShape(prog('mxfp8_e4m3'), 2, 1)).toEqual({ elementsPerThread: 1, threadsPerBlock: 2 });
  });

  it('falls back to the default choice where the preference does not fit', () => {
    // 8 elements per thread would put 64-element blocks on 8 threads: allowed; 32 is not a choice
    expect(fusedShape(prog('mxfp8_e4m3'), 32, 32)).toEqual(fusedShape(prog('mxfp8_e4m3'), 32));
    // mx9 sub-blocks are pairs: one element per thread would split a pair
    expect(fusedShape(prog('mx9'), 16, 1)).toEqual(fusedShape(prog('mx9'), 16));
    // casts keep their word-filling shape
    expect(fusedShape(prog('fp16'), 1, 16)).toEqual(fusedShape(prog('fp16'), 1));
  });
});

describe('createWebGPUBackend({ fusedElementsPerThread })', () => {
  it('rejects values other than 1, 2, 4, 8 and 16 before touching the GPU', async () => {
    for (const bad of [0, 3, 32, 4.5, '4' as unknown as number]) {
      await expect(createWebGPUBackend({ fusedElementsPerThread: bad })).rejects.toThrow(OptionError);
      await expect(createWebGPUBackend({ fusedElementsPerThread: bad })).rejects.toThrow(/fusedElementsPerThread must be 1, 2, 4, 8 or 16/);
    }
  });
});

describeWhen('fused shapes on the GPU equal the reference', env.missing, () => {
  const backends = new Map<number, WebGPUBackend>();
  beforeAll(async () => {
    for (const e of [2, 4, 8]) backends.set(e, await createWebGPUBackend({ gpu: env.gpu!, device: env.device!, fusedElementsPerThread: e }));
  });
  afterAll(() => {
    for (const b of backends.values()) b.dispose();
  });

  for (const e of [2, 4, 8]) {
    for (const name of ['mxfp8_e4m3', 'mxfp4', 'mx9', 'nvfp4']) {
      it(`${name}, ${e} elements per thread`, async () => {
        const next = rng(17 * e + name.length);
        const x = new Float32Array(3000);
        for (let i = 0; i < x.length; i++) x[i] = (next() * 2 - 1) * 2 ** Math.floor(next() * 40 - 20);
        x[5] = NaN;
        x[77] = -0;
        x[300] = 1e-45;
        x[1001] = -Infinity;
        const want = quantize(x, name);
        const got = await backends.get(e)!.quantize(x, name);
        expect(Buffer.from(got.codes).equals(Buffer.from(want.codes))).toBe(true);
        expect(Array.from(got.scales)).toEqual(Array.from(want.scales));
        expect(Buffer.from(got.subScales).equals(Buffer.from(want.subScales))).toBe(true);
      });
    }
  }
});
