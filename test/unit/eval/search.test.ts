// The sensitivity pass and the plan search over a runner whose "model output" is computed exactly
// from the plan: each quantized tensor adds a known error power, so every answer can be checked.
import { describe, expect, it } from 'vitest';
import type { ModelReader, TensorInfo } from '../../../src/bdr-explorer/readers/types.js';
import { buildPlan } from '../../../src/model-io/plan.js';
import type { TensorPlanEntry } from '../../../src/model-io/types.js';
import { evaluateModel } from '../../../src/eval/evaluate.js';
import { greedySteps } from '../../../src/eval/search.js';
import type { EvalRunner } from '../../../src/eval/runner.js';
import { gaussian } from '../../../src/bdr-explorer/synthetic.js';
import { damageOf, meets, parseTarget } from '../../../src/eval/target.js';

const SHAPES: Record<string, number[]> = { 'a.weight': [8, 64], 'b.weight': [16, 64], 'c.weight': [4, 64], 'norm.weight': [64] };
// error power each tensor adds in each format (the runner's model): b is sensitive, c is not
const NOISE: Record<string, Record<string, number>> = {
  'a.weight': { mxfp8_e4m3: 1e-4, mxfp4: 3e-3 },
  'b.weight': { mxfp8_e4m3: 2e-4, mxfp4: 5e-2 },
  'c.weight': { mxfp8_e4m3: 1e-5, mxfp4: 1e-4 },
};

function fakeRunner(): EvalRunner & { runs: number } {
  const infos: TensorInfo[] = Object.entries(SHAPES).map(([name, shape]) => {
    const elements = shape.reduce((a, b) => a * b, 1);
    return { name, shape, dtype: 'f32', elements, byteLength: 4 * elements, floating: true, readable: true };
  });
  const reader: ModelReader = {
    format: 'safetensors',
    file: 'fake.safetensors',
    tensors: () => infos,
    tensor: (n) => infos.find((t) => t.name === n)!,
    read: async (n) => gaussian(infos.find((t) => t.name === n)!.elements, n.length),
    close: async () => {},
  };
  const runner = {
    kind: 'safetensors' as const,
    reader,
    runs: 0,
    check: async (plan: readonly TensorPlanEntry[]) => plan,
    async evaluate(plans: readonly (readonly TensorPlanEntry[])[]) {
      return plans.map((plan) => {
        runner.runs++;
        const power = plan.reduce((s, e) => s + (e.format === null ? 0 : NOISE[e.name]![e.format]!), 0);
        return { qsnrDb: power === 0 ? Infinity : -10 * Math.log10(power) };
      });
    },
    close: async () => {},
  };
  return runner;
}

describe('sensitivity and target search', () => {
  it('ranks by damage per bit saved and costs one run per (tensor, format)', async () => {
    const runner = fakeRunner();
    const r = await evaluateModel(runner, { formats: ['mxfp8_e4m3', 'mxfp4'], sensitivity: 'qsnr' });
    expect(r.tensors).toBe(3); // the norm stays 1-D
    expect(r.sensitivity).toHaveLength(6);
    expect(runner.runs).toBe(2 + 6);
    const top = r.sensitivity![0]!;
    expect([top.tensor, top.format]).toEqual(['b.weight', 'mxfp4']);
    for (const s of r.sensitivity!) {
      expect(s.damage).toBeCloseTo(NOISE[s.tensor]![s.format]!, 12);
      expect(s.damagePerMbit).toBeCloseTo((s.damage / s.bitsSaved) * 1e6, 9);
    }
    const f4 = r.formats.find((f) => f.format === 'mxfp4')!;
    expect(f4.bitsPerElement).toBeCloseTo(4.25, 12);
    expect(f4.measured.qsnrDb).toBeCloseTo(-10 * Math.log10(3e-3 + 5e-2 + 1e-4), 9);
  });

  it('finds the cheapest mix meeting the target, measured by a real run', async () => {
    const runner = fakeRunner();
    const target = parseTarget('qsnr>=25'); // budget 10^-2.5 ≈ 3.16e-3
    const r = await evaluateModel(runner, { formats: ['mxfp8_e4m3', 'mxfp4'], target });
    const plan = r.plan!;
    expect(plan.meetsTarget).toBe(true);
    expect(meets(plan.measured, target)).toBe(true);
    // the chosen mix's error power, summed from the runner's model, fits the budget; c (cheap damage) goes to mxfp4
    const power = [...plan.assignment].reduce((s, [t, f]) => s + NOISE[t]![f]!, 0);
    expect(power).toBeLessThanOrEqual(damageOf(25, 'qsnr') * (1 + 1e-12));
    expect(plan.assignment.get('c.weight')).toBe('mxfp4');
    expect(plan.planMap['^b\\.weight$']).toBe(plan.assignment.get('b.weight') ?? null);
    // the plan map is what `microscale quantize --plan` reads: it rebuilds the same assignment
    const rebuilt = buildPlan(runner.reader.tensors(), { plan: plan.planMap });
    for (const e of rebuilt) expect(e.format).toBe(plan.assignment.get(e.name) ?? null);
  });

  it('a target nothing but the original meets keeps every tensor', async () => {
    const r = await evaluateModel(fakeRunner(), { formats: ['mxfp4'], target: parseTarget('qsnr>=60') });
    expect(r.plan!.assignment.size).toBe(0);
    expect(r.plan!.measured.qsnrDb).toBe(Infinity);
  });

  it('greedy steps move the cheapest damage per bit first', () => {
    const tensors = fakeRunner().reader.tensors().slice(0, 3);
    const rows = Object.entries(NOISE).flatMap(([tensor, fs]) => Object.entries(fs).map(([format, damage]) => ({ tensor, format, damage }))) as never;
    const steps = greedySteps(tensors, rows, (_t, f) => (f === 'mxfp4' ? 4.25 : 8.25));
    expect(steps[0]!.tensor).toBe('c.weight');
    expect(steps.at(-1)!.predictedDamage).toBeCloseTo(3e-3 + 5e-2 + 1e-4, 12);
  });
});
