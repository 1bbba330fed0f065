// Test file order: the files that take longest on a 2-core machine without a GPU (SwiftShader)
// start first, so no long file starts last and the workers finish together. Without this, a fresh
// clone (no timing cache) orders files by size, and the small WebGPU conformance files, the
// slowest of all, would start last. Other files keep vitest's order.
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Slowest first (measured on 2 cores with SwiftShader). */
export const SLOW_FIRST = [
  // the WebGPU files first and together: a worker that finishes one takes the next in the same
  // process (they are not isolated), reusing the kernels it compiled
  'test/conformance/webgpu-shapes.test.ts',
  'test/conformance/webgpu-codes.test.ts',
  'test/unit/webgpu/backend.test.ts',
  'test/unit/webgpu/minmax.test.ts',
  'test/unit/webgpu/ggml.test.ts',
  'test/unit/webgpu/fused-shape.test.ts',
  'test/e2e/browser-webgl.test.ts',
  'test/e2e/package.test.ts',
  'test/e2e/ci.test.ts',
  'test/conformance/wasm.test.ts',
  'test/conformance/reference.test.ts',
  'test/e2e/browser-explorer.test.ts',
  'test/e2e/sweep.test.ts',
  'test/e2e/cli.test.ts',
];

export default class SlowFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const base = await super.sort(files);
    const rank = (f: TestSpecification) => {
      const i = SLOW_FIRST.indexOf(relative(f.project.config.root, f.moduleId).split('\\').join('/'));
      return i < 0 ? SLOW_FIRST.length : i;
    };
    return base.map((f, i) => [f, i] as const).sort((a, b) => rank(a[0]) - rank(b[0]) || a[1] - b[1]).map(([f]) => f);
  }
}
