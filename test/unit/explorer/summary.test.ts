// The sweep's summary: the two QSNRs (element-weighted mean of per-tensor QSNR, pooled ratio),
// coverage of formats that skip tensors, the frontier over complete formats, tensor selection and
// axis checks, presets, and how often the sweep asks for memory to be released.
import { describe, expect, it } from 'vitest';
import { OptionError } from '../../../src/index.js';
import { expandVariants, memoryTensors, QSNR_CAP_DB, RELEASE_AFTER_BYTES, selectTensors, summarize, sweep } from '../../../src/bdr-explorer/sweep.js';
import { gaussian } from '../../../src/bdr-explorer/synthetic.js';

/** A big ordinary tensor and a tiny one of huge magnitude, like the det model's batch-norm variance. */
function modelWithHugeTensor() {
  const weight = gaussian(64 * 256, 7);
  const huge = Float32Array.from({ length: 24 }, (_, i) => (i % 3 === 0 ? 9.8e7 : 1.3e6 * (i + 1)));
  return memoryTensors([
    { name: 'conv.weight', shape: [64, 256], data: weight },
    { name: 'bn.running_var', shape: [24], data: huge },
  ]);
}

describe('summary QSNRs', () => {
  it('mean QSNR weights per-tensor QSNR by elements; pooled QSNR sums errors and signals', async () => {
    const r = await sweep(modelWithHugeTensor(), { formats: ['mxfp4', 'nvfp4'] });
    for (const s of r.summary) {
      const rows = r.results.filter((x) => x.format === s.format);
      expect(rows).toHaveLength(2);
      const n = rows.reduce((a, x) => a + x.elements, 0);
      const mean = rows.reduce((a, x) => a + x.qsnrDb * x.elements, 0) / n;
      const pooled = -10 * Math.log10(rows.reduce((a, x) => a + x.sumSquaredError, 0) / rows.reduce((a, x) => a + x.sumSquaredSignal, 0));
      expect(s.meanQsnrDb).toBeCloseTo(mean, 10);
      expect(s.pooledQsnrDb).toBeCloseTo(pooled, 10);
      // the 24-element tensor sets the pooled value, not the 16 Ki-element weight
      const huge = rows.find((x) => x.tensor === 'bn.running_var')!;
      const weight = rows.find((x) => x.tensor === 'conv.weight')!;
      expect(Math.abs(s.pooledQsnrDb - huge.qsnrDb)).toBeLessThan(0.01);
      expect(Math.abs(s.meanQsnrDb - weight.qsnrDb)).toBeLessThan(0.05);
    }
  });

  it('an exact tensor counts as QSNR_CAP_DB in the mean; an all-zero tensor does not count', async () => {
    const r = await sweep(
      memoryTensors([
        { name: 'ones', shape: [32], data: new Float32Array(32).fill(1) },
        { name: 'zeros', shape: [32], data: new Float32Array(32) },
        { name: 'w', shape: [32], data: gaussian(32, 3) },
      ]),
      { formats: ['mxfp4'] },
    );
    const w = r.results.find((x) => x.tensor === 'w')!;
    expect(r.results.find((x) => x.tensor === 'ones')!.qsnrDb).toBe(Infinity);
    const s = r.summary[0]!;
    expect(s.meanQsnrDb).toBeCloseTo((QSNR_CAP_DB * 32 + w.qsnrDb * 32) / 64, 10);
    expect(s.pooledQsnrDb).toBeCloseTo(w.qsnrDb - 10 * Math.log10(w.sumSquaredSignal / (w.sumSquaredSignal + 32)), 10);
    expect(s.tensors).toBe(3);
  });
});

describe('coverage and the frontier', () => {
  // q4_0 needs rows that are a multiple of 32: it skips the 100-element bias.
  const tensors = () =>
    memoryTensors([
      { name: 'w', shape: [64, 64], data: gaussian(64 * 64, 11) },
      { name: 'bias', shape: [100], data: gaussian(100, 12) },
    ]);

  it('counts the tensors and elements each format covered and keeps partial formats off the frontier', async () => {
    const r = await sweep(tensors(), { formats: ['q4_0', 'nvfp4', 'mxfp4'] });
    const by = Object.fromEntries(r.summary.map((s) => [s.format, s]));
    expect(by['q4_0']).toMatchObject({ tensors: 1, elements: 4096, totalTensors: 2, totalElements: 4196, complete: false, pareto: false });
    expect(by['nvfp4']).toMatchObject({ tensors: 2, elements: 4196, complete: true, pareto: true });
    expect(by['mxfp4']).toMatchObject({ complete: true, pareto: true });
    // on the weight alone q4_0 dominates nvfp4: compared on its partial set it would have taken nvfp4's star
    const weightOnly = summarize(r.results.filter((x) => x.tensor === 'w'));
    expect(Object.fromEntries(weightOnly.map((s) => [s.format, s.pareto]))).toEqual({ q4_0: true, nvfp4: false, mxfp4: true });
  });

  it('a tensor every format skips still counts in the coverage denominators', async () => {
    const r = await sweep(tensors(), { formats: ['q4_0'] });
    expect(r.summary[0]).toMatchObject({ tensors: 1, totalTensors: 2, complete: false, pareto: false });
  });
});

describe('tensor selection and axis', () => {
  const list = memoryTensors([
    { name: 'blk.0.attn.weight', shape: [4, 32], data: gaussian(128, 1) },
    { name: 'blk.0.norm', shape: [32], data: gaussian(32, 2) },
    { name: 'conv', shape: [2, 2, 4, 4], data: gaussian(64, 3) },
  ]);

  it('a pattern matching nothing is an error that lists tensor names', async () => {
    await expect(selectTensors(list, { tensors: /ffn/ })).rejects.toThrow(OptionError);
    await expect(selectTensors(list, { tensors: /ffn/ })).rejects.toThrow(/no tensor name matches \/ffn\/; the 3 tensors include "blk\.0\.attn\.weight", "blk\.0\.norm", "conv"/);
    await expect(sweep(list, { tensors: /ffn/ })).rejects.toThrow(OptionError);
  });

  it('an axis outside some tensor is an error naming those tensors, not a silent last axis', async () => {
    await expect(selectTensors(list, { axis: 5 })).rejects.toThrow(/axis 5 does not exist in 3 of 3 tensors \(rank 1, 2, 4: "blk\.0\.attn\.weight\[4,32\]"/);
    await expect(selectTensors(list, { axis: 1 })).rejects.toThrow(/axis 1 does not exist in 1 of 3 tensors \(rank 1: "blk\.0\.norm\[32\]"\)/);
    await expect(selectTensors(list, { axis: -3 })).rejects.toThrow(/does not exist in 2 of 3/);
    expect((await selectTensors(list, { axis: 0 })).length).toBe(3);
    expect((await selectTensors(list, { axis: 1, tensors: /weight|conv/ })).map((t) => t.name)).toEqual(['blk.0.attn.weight', 'conv']);
    const r = await sweep(list, { axis: -1, formats: ['mxfp4'] });
    expect(r.results.map((x) => x.options.axis)).toEqual([1, 0, 3]);
  });
});

describe('presets', () => {
  it('each preset runs on the formats it applies to; the others keep their defaults', () => {
    expect(expandVariants({ formats: ['q4_0', 'mxfp4'], presets: ['ggml'] }).map((v) => [v.label, v.options.preset])).toEqual([
      ['q4_0 ggml', 'ggml'],
      ['mxfp4', undefined],
    ]);
    expect(expandVariants({ formats: ['q4_0', 'mxfp8_e4m3'], presets: ['ggml', 'microxcaling', 'ocp'] }).map((v) => v.label)).toEqual([
      'q4_0 ggml',
      'q4_0 ocp',
      'mxfp8_e4m3 microxcaling',
      'mxfp8_e4m3 ocp',
    ]);
  });

  it('a combination the preset rejects fails before any work', () => {
    expect(() => expandVariants({ formats: ['q4_0'], presets: ['ggml'], roundings: ['rtz'] })).toThrow(/preset "ggml" uses ggml's own rounding/);
  });

  it("llama.cpp's Q8_0 (roundf) differs from the default Q8_0 (ties to even) on the same tensor", async () => {
    const r = await sweep(memoryTensors([{ name: 'w', shape: [8, 64], data: gaussian(512, 5) }]), { formats: ['q8_0'], presets: ['ggml', 'ocp'] });
    const [ggml, ocp] = ['q8_0 ggml', 'q8_0 ocp'].map((f) => r.results.find((x) => x.format === f)!);
    expect(ggml!.options.preset).toBe('ggml');
    expect(ggml!.qsnrDb).not.toBe(ocp!.qsnrDb);
  });
});

describe('memory release', () => {
  it('is asked for after every RELEASE_AFTER_BYTES of dropped arrays, not after every pair', async () => {
    // 4 tensors × 14 formats = 56 pairs of 640 KiB inputs: a few releases, not 56
    const tensors = memoryTensors(Array.from({ length: 4 }, (_, i) => ({ name: `t${i}`, shape: [160, 1024], data: gaussian(160 * 1024, i) })));
    let releases = 0;
    const r = await sweep(tensors, { releaseMemory: () => releases++ });
    const outputs = r.results.reduce((a, x) => a + 4 * x.elements + x.storedBytes, 0) + 4 * 4 * 160 * 1024;
    expect(releases).toBeGreaterThan(0);
    expect(releases).toBeLessThanOrEqual(Math.floor(outputs / RELEASE_AFTER_BYTES));
    expect(releases).toBeLessThan(r.results.length / 4);
    let every = 0;
    await sweep(tensors.slice(0, 1), { formats: ['mxfp4', 'mx9'], releaseMemory: () => every++, releaseAfterBytes: 1 });
    expect(every).toBe(3); // after each of the two pairs and after the tensor
  });
});
