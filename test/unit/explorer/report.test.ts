// Sweep outputs name both QSNRs and show coverage; the heat map sorts hardest tensors first and
// folds the rest; scatter labels never collide.
import { describe, expect, it } from 'vitest';
import { formatTable, heatmapHtml, placeLabels, summaryToCsv, toCsv, toHtml, toJson } from '../../../src/bdr-explorer/report.js';
import { memoryTensors, sweep, type SweepResult } from '../../../src/bdr-explorer/sweep.js';
import { gaussian, studentT } from '../../../src/bdr-explorer/synthetic.js';

// q4_0 takes rows that are a multiple of 32, so it skips the 100-element bias: a partial format.
async function partialSweep(): Promise<SweepResult> {
  return sweep(
    memoryTensors([
      { name: 'w.easy', shape: [32, 64], data: gaussian(2048, 1) },
      { name: 'w.heavy_tail', shape: [32, 64], data: studentT(2048, 2, 2) },
      { name: 'bias', shape: [100], data: gaussian(100, 3) },
    ]),
    { formats: ['q4_0', 'mxfp4', 'mx9'] },
  );
}

describe('coverage and the two QSNRs in every output', () => {
  it('table: named QSNR columns, coverage, partial rows kept off the frontier, a legend', async () => {
    const t = formatTable(await partialSweep());
    expect(t.split('\n')[0]).toMatch(/^format\s+bits\/elem\s+mean QSNR dB\s+pooled QSNR dB\s.*\stensors\s+frontier$/);
    expect(t).toMatch(/^q4_0\s.*\s2\/3 \(97\.62% el\.\)\s+partial$/m);
    expect(t).toMatch(/^mxfp4\s.*\s3\/3\s+\*$/m);
    expect(t).toMatch(/mean QSNR = element-weighted mean of per-tensor QSNR \(the ranking\); pooled QSNR = /);
  });

  it('JSON: meanQsnrDb, pooledQsnrDb and coverage fields; no ambiguous qsnrDb in the summary', async () => {
    const j = JSON.parse(toJson(await partialSweep()));
    const q = j.summary.find((s: { format: string }) => s.format === 'q4_0');
    expect(q).toMatchObject({ tensors: 2, totalTensors: 3, elements: 4096, totalElements: 4196, complete: false, pareto: false });
    expect(typeof q.meanQsnrDb).toBe('number');
    expect(typeof q.pooledQsnrDb).toBe('number');
    expect(q).not.toHaveProperty('qsnrDb');
    expect(j.skipped[0]).toMatchObject({ tensor: 'bias', format: 'q4_0', elements: 100, shape: [100] });
  });

  it('CSV: skipped pairs are rows with empty metrics and the reason', async () => {
    const lines = toCsv(await partialSweep()).trim().split('\n');
    expect(lines).toHaveLength(1 + 3 * 3);
    const skipped = lines.filter((l) => l.startsWith('bias,q4_0,'));
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toMatch(/^bias,q4_0,q4_0,100,100,,,,,,,,"?.*multiple of 32/);
  });

  it('summary CSV: one row per format with both QSNRs, coverage and the frontier flag', async () => {
    const r = await partialSweep();
    const lines = summaryToCsv(r).trim().split('\n');
    expect(lines).toHaveLength(1 + 3);
    const head = lines[0]!.split(',');
    const q4 = Object.fromEntries(lines.find((l) => l.startsWith('q4_0,'))!.split(',').map((v, i) => [head[i], v]));
    const s = r.summary.find((x) => x.format === 'q4_0')!;
    expect(q4).toMatchObject({ meanQsnrDb: String(s.meanQsnrDb), pooledQsnrDb: String(s.pooledQsnrDb), tensors: '2', totalTensors: '3', complete: 'false', pareto: 'false' });
  });

  it('HTML: both QSNRs, coverage and partial rows in the summary table', async () => {
    const html = toHtml(await partialSweep());
    expect(html).toContain('<th>mean QSNR dB</th><th>pooled QSNR dB</th>');
    expect(html).toMatch(/<tr class="partial"><td>q4_0<\/td>.*<td>2\/3 \(97\.62% el\.\)<\/td><td>partial<\/td><\/tr>/);
    expect(html).toMatch(/<circle [^>]*class="pt partial"/);
  });
});

describe('heat map', () => {
  it('shows values, sorts the hardest tensor first and folds tensors beyond the worst N', async () => {
    const r = await partialSweep();
    const html = heatmapHtml(r, 2);
    const shown = html.slice(0, html.indexOf('<details'));
    const names = [...shown.matchAll(/<th class="tensor" title="([^"]+)">/g)].map((m) => m[1]);
    // heavy tails (Student-t, ν = 2) are the hardest for every block format
    expect(names).toEqual(['w.heavy_tail', expect.any(String)]);
    expect(html).toMatch(/<details class="heat-rest"><summary>Show the other 1 tensors<\/summary>/);
    expect(html).toContain('class="heat-legend"');
    const mx9 = r.results.find((x) => x.tensor === 'w.heavy_tail' && x.format === 'mx9')!;
    expect(shown).toContain(`>${mx9.qsnrDb.toFixed(1)}</td>`);
    expect(html).toMatch(/<td class="skip" title="bias · q4_0: skipped">–<\/td>/);
    expect(heatmapHtml(r)).not.toContain('<details');
  });
});

describe('label placement', () => {
  it('never overlaps labels or points, even for a tight cluster', () => {
    // mxfp4, q4_0, msfp12 and nvfp4 within 0.3 bits and 3 dB of each other, as on PP-OCRv4 det
    const pts = ['mxfp4', 'q4_0', 'msfp12', 'nvfp4', 'bdr(m=3,k1=16,d1=8,k2=2,d2=1)', 'mx4'].map((text, i) => ({ text, x: 200 + 7 * i, y: 300 - 5 * (i % 3) }));
    const placed = placeLabels(pts, { x0: 0, y0: 0, x1: 800, y1: 600 });
    expect(placed.every((p) => p !== null)).toBe(true);
    const boxes = placed.map((p) => p!.box);
    for (const [i, a] of boxes.entries()) {
      for (const b of boxes.slice(i + 1)) expect(a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1).toBe(false);
      for (const p of pts) expect(a.x0 < p.x + 5 && p.x - 5 < a.x1 && a.y0 < p.y + 5 && p.y - 5 < a.y1).toBe(false);
    }
    // in a cluster this tight most labels need a leader line
    expect(placed.filter((p) => p!.leader).length).toBeGreaterThan(2);
  });

  it('leaves a label out rather than overlapping when there is no room', () => {
    const pts = Array.from({ length: 40 }, (_, i) => ({ text: `format_${i}`, x: 50 + (i % 2), y: 50 }));
    const placed = placeLabels(pts, { x0: 0, y0: 0, x1: 120, y1: 100 });
    expect(placed.some((p) => p === null)).toBe(true);
    const boxes = placed.filter((p) => p !== null).map((p) => p!.box);
    for (const [i, a] of boxes.entries()) for (const b of boxes.slice(i + 1)) expect(a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1).toBe(false);
  });
});
