import { describe, expect, it } from 'vitest';
import { compareOutput, klDivergence, maxAbsError, qsnrDb, quantile, summarizeOutputs, top1Agreement } from '../../../src/eval/metrics.js';
import { damageBudget, damageOf, meets, parseTarget } from '../../../src/eval/target.js';

describe('output metrics', () => {
  it('QSNR, max error and top-1 agree with a hand computation', () => {
    const x = [1, 2, 3, 4];
    const y = [1, 2.5, 3, 3];
    // error 0.25 + 1 = 1.25, signal 30
    expect(qsnrDb(x, y)).toBeCloseTo(-10 * Math.log10(1.25 / 30), 12);
    expect(maxAbsError(x, y)).toBe(1);
    // rows [1,2] / [1,2.5] agree (argmax 1); rows [3,4] / [3,3] do not (first maximum 0)
    expect(top1Agreement(x, y, 2)).toBe(0.5);
    const c = compareOutput('out', [2, 2], x, y);
    expect(c.top1Agreement).toBe(0.5);
    expect(compareOutput('flat', [4], x, y).top1Agreement).toBeUndefined();
    expect(compareOutput('map', [1, 1, 2, 2], x, y).top1Agreement).toBeUndefined();
  });

  it('identical outputs are exact: QSNR ∞, error 0, agreement 1', () => {
    const x = Float32Array.from([0.1, -3, 7, 2e-9, 0, 5, 5, 1]);
    const m = summarizeOutputs([compareOutput('o', [2, 4], x, x.slice())]);
    expect(m.qsnrDb).toBe(Infinity);
    expect(m.outputs![0]!.maxAbsError).toBe(0);
    expect(m.top1Agreement).toBe(1);
  });

  it('the model QSNR is the lowest output QSNR; NaN against a number is flagged', () => {
    const a = compareOutput('a', [2], [1, 1], [1, 1.1]);
    const b = compareOutput('b', [2], [1, 1], [1, 1.01]);
    expect(summarizeOutputs([b, a]).qsnrDb).toBe(a.qsnrDb);
    expect(maxAbsError([1, NaN], [1, 2])).toBeNaN();
  });

  it('KL divergence and nearest-rank quantiles', () => {
    expect(klDivergence([0.5, 0.5], [0.5, 0.5])).toBe(0);
    expect(klDivergence([1, 0], [0.5, 0.5])).toBeCloseTo(Math.log(2), 15);
    expect(quantile([5, 1, 3, 2, 4], 0.99)).toBe(5);
    expect(quantile([5, 1, 3, 2, 4], 0.5)).toBe(3);
  });
});

describe('targets', () => {
  it('parses the three metrics and refuses the wrong direction or an unknown metric', () => {
    expect(parseTarget('qsnr>=30')).toEqual({ metric: 'qsnr', bound: 30 });
    expect(parseTarget(' kl <= 1e-2 ')).toEqual({ metric: 'kl', bound: 0.01 });
    expect(parseTarget('top1>=0.99')).toEqual({ metric: 'top1', bound: 0.99 });
    expect(() => parseTarget('qsnr<=30')).toThrow(/qsnr is bounded with >=/);
    expect(() => parseTarget('psnr>=30')).toThrow(/write qsnr>=DB/);
    expect(() => parseTarget('top1>=2')).toThrow(/fraction/);
  });

  it('damage is 0 for the original and the budget is the damage at the bound', () => {
    expect(damageOf(Infinity, 'qsnr')).toBe(0);
    expect(damageOf(30, 'qsnr')).toBeCloseTo(1e-3, 15);
    expect(damageBudget(parseTarget('kl<=0.01'))).toBe(0.01);
    expect(damageOf(0.97, 'top1')).toBeCloseTo(0.03, 15);
    expect(meets({ qsnrDb: 30 }, parseTarget('qsnr>=30'))).toBe(true);
    expect(meets({ meanKl: 0.02 }, parseTarget('kl<=0.01'))).toBe(false);
    expect(() => meets({ qsnrDb: 30 }, parseTarget('kl<=0.01'))).toThrow(/no kl metric.*use qsnr/);
  });
});
