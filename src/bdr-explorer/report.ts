// Sweep output: terminal table, CSV, JSON and a self-contained HTML report with SVG plots.
import { max, min } from 'd3-array';
import { scaleLinear } from 'd3-scale';
import { line } from 'd3-shape';
import { HISTOGRAM_BINS } from './metrics.js';
import { QSNR_CAP_DB, type SweepResult, type SweepRow, type SweepSummary } from './sweep.js';

const num = (v: number, digits: number) => (Number.isFinite(v) ? v.toFixed(digits) : v > 0 ? 'inf' : v < 0 ? '-inf' : 'nan');
const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
const sci = (v: number) => (v === 0 ? '0' : Number.isFinite(v) ? v.toExponential(2) : String(v));

/** Coverage cell: tensors covered of the sweep's, and the share of its elements when partial. */
function coverage(s: SweepSummary): string {
  return s.complete ? `${s.tensors}/${s.totalTensors}` : `${s.tensors}/${s.totalTensors} (${pct(s.totalElements ? s.elements / s.totalElements : 0)} el.)`;
}

/** `*` on the frontier, `partial` when the variant skipped tensors (and so is not compared). */
const frontierCell = (s: SweepSummary) => (s.pareto ? '*' : s.complete ? '' : 'partial');

/** What the two QSNR columns and the frontier mean, in one paragraph for every output. */
export const SUMMARY_LEGEND =
  'mean QSNR = element-weighted mean of per-tensor QSNR (the ranking); pooled QSNR = -10*log10(sum of errors / sum of signals) over the ' +
  'covered tensors, dominated by the largest-magnitude tensors. The frontier (*) compares only variants that covered every tensor; ' +
  "'partial' rows skipped some tensors (coverage column) and are not comparable.";

/** A readable table of the per-format summary, sorted by bits per element; `*` marks the Pareto frontier. */
export function formatTable(r: SweepResult): string {
  const head = ['format', 'bits/elem', 'mean QSNR dB', 'pooled QSNR dB', 'MSE', 'max|err|', 'clipped', 'flushed', 'stored', 'tensors', 'frontier'];
  const rows = r.summary.map((s) => [
    s.format,
    num(s.bitsPerElement, 3),
    num(s.meanQsnrDb, 2),
    num(s.pooledQsnrDb, 2),
    sci(s.mse),
    sci(s.maxAbsError),
    pct(s.clippedFraction),
    pct(s.flushedFraction),
    bytes(s.storedBytes),
    coverage(s),
    frontierCell(s),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const lines = [fmt(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)];
  lines.push('', `${r.summary.length} variants · ${tensorCount(r)} tensors · ${elementCount(r).toLocaleString('en-US')} elements · ${r.backend} backend · ${r.seconds.toFixed(1)} s`);
  if (r.skipped.length) lines.push(`${r.skipped.length} combinations skipped (see --json for reasons)`);
  lines.push(SUMMARY_LEGEND);
  return lines.join('\n');
}

/** Tensors of the sweep (those every variant skipped included). */
function tensorCount(r: SweepResult): number {
  return r.summary[0]?.totalTensors ?? new Set(r.skipped.map((x) => x.tensor)).size;
}

/** Elements of the sweep's tensors (each counted once, whatever the formats). */
function elementCount(r: SweepResult): number {
  return r.summary[0]?.totalElements ?? 0;
}

function bytes(b: number): string {
  if (b < 1024) return `${b.toFixed(0)} B`;
  if (b < 1024 ** 2) return `${(b / 1024).toFixed(1)} KiB`;
  if (b < 1024 ** 3) return `${(b / 1024 ** 2).toFixed(1)} MiB`;
  return `${(b / 1024 ** 3).toFixed(2)} GiB`;
}

const finiteOrNull = (v: number) => (Number.isFinite(v) ? v : null);

function rowJson(r: SweepRow) {
  return {
    tensor: r.tensor,
    format: r.format,
    formatName: r.formatName,
    shape: r.shape,
    elements: r.elements,
    bitsPerElement: r.bitsPerElement,
    qsnrDb: finiteOrNull(r.qsnrDb),
    mse: r.mse,
    maxAbsError: r.maxAbsError,
    clippedFraction: r.clippedFraction,
    flushedFraction: r.flushedFraction,
    storedBytes: r.storedBytes,
  };
}

function summaryJson(s: SweepSummary) {
  return {
    format: s.format,
    formatName: s.formatName,
    tensors: s.tensors,
    elements: s.elements,
    totalTensors: s.totalTensors,
    totalElements: s.totalElements,
    complete: s.complete,
    bitsPerElement: s.bitsPerElement,
    meanQsnrDb: finiteOrNull(s.meanQsnrDb),
    pooledQsnrDb: finiteOrNull(s.pooledQsnrDb),
    mse: s.mse,
    maxAbsError: s.maxAbsError,
    clippedFraction: s.clippedFraction,
    flushedFraction: s.flushedFraction,
    storedBytes: s.storedBytes,
    pareto: s.pareto,
  };
}

/** JSON: `{ results: [...], summary: [...], skipped, backend, seconds }` (an exact QSNR is null).
 * Summary rows carry both QSNRs (`meanQsnrDb`, `pooledQsnrDb`) and coverage (`tensors`/`totalTensors`,
 * `elements`/`totalElements`, `complete`). */
export function toJson(r: SweepResult): string {
  return JSON.stringify(
    { results: r.results.map(rowJson), summary: r.summary.map(summaryJson), skipped: r.skipped, backend: r.backend, seconds: r.seconds },
    null,
    2,
  );
}

const CSV_COLUMNS = ['tensor', 'format', 'formatName', 'shape', 'elements', 'bitsPerElement', 'qsnrDb', 'mse', 'maxAbsError', 'clippedFraction', 'flushedFraction', 'storedBytes', 'skipped'] as const;

function csvCell(v: unknown): string {
  const s = Array.isArray(v) ? v.join('x') : v === null || v === undefined ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const SUMMARY_CSV_COLUMNS = [
  'format',
  'formatName',
  'bitsPerElement',
  'meanQsnrDb',
  'pooledQsnrDb',
  'mse',
  'maxAbsError',
  'clippedFraction',
  'flushedFraction',
  'storedBytes',
  'tensors',
  'totalTensors',
  'elements',
  'totalElements',
  'complete',
  'pareto',
] as const;

/** CSV with one row per format: both QSNRs (`meanQsnrDb`, `pooledQsnrDb`), coverage and the frontier flag. */
export function summaryToCsv(r: SweepResult): string {
  const lines = [SUMMARY_CSV_COLUMNS.join(',')];
  for (const s of r.summary) {
    const j = summaryJson(s) as Record<string, unknown>;
    lines.push(SUMMARY_CSV_COLUMNS.map((c) => csvCell(j[c])).join(','));
  }
  return lines.join('\n') + '\n';
}

/** CSV with one row per (tensor, format): measured rows, then skipped pairs with empty metrics and
 * the reason in `skipped` (so coverage is visible here too). */
export function toCsv(r: SweepResult): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const row of r.results) {
    const j = rowJson(row) as Record<string, unknown>;
    lines.push(CSV_COLUMNS.map((c) => csvCell(j[c])).join(','));
  }
  for (const skip of r.skipped) {
    const j: Record<string, unknown> = { ...skip, skipped: skip.reason };
    lines.push(CSV_COLUMNS.map((c) => csvCell(j[c])).join(','));
  }
  return lines.join('\n') + '\n';
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** An axis-aligned box, for label placement. */
export interface LabelBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

const overlaps = (a: LabelBox, b: LabelBox) => a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;

/** Width of `text` at the plots' 12 px label font, rounded up (system-ui averages ≈ 0.56 em per character). */
const labelWidth = (text: string) => Math.ceil(text.length * 7 + 2);
const LABEL_HEIGHT = 14;

/** Where each label goes: beside its point when there is room, else farther out on a leader line. */
export interface PlacedLabel {
  readonly text: string;
  /** The point it names. */
  readonly px: number;
  readonly py: number;
  /** Its text box (top-left corner and size). */
  readonly box: LabelBox;
  readonly leader: boolean;
}

const distanceToBox = (x: number, y: number, b: LabelBox) => Math.hypot(Math.max(b.x0 - x, 0, x - b.x1), Math.max(b.y0 - y, 0, y - b.y1));

/**
 * Greedy label placement: each label (in the order given) takes the first of 8 directions × 5
 * distances around its point whose box stays inside `area` and overlaps no label placed before and
 * no point. Right beside its point a label must also lie clearly nearer that point than any other
 * (so it cannot be read as another's); farther out a leader line joins it to its point. Labels that
 * find no room are left out (their point keeps its hover title).
 */
export function placeLabels(points: readonly { text: string; x: number; y: number }[], area: LabelBox, pointRadius = 5): (PlacedLabel | null)[] {
  const placed: LabelBox[] = [];
  const dots: LabelBox[] = points.map((p) => ({ x0: p.x - pointRadius, y0: p.y - pointRadius, x1: p.x + pointRadius, y1: p.y + pointRadius }));
  const directions = [
    [1, -1],
    [1, 1],
    [-1, -1],
    [-1, 1],
    [0, -1],
    [0, 1],
    [1, 0],
    [-1, 0],
  ] as const;
  return points.map((p, self) => {
    const w = labelWidth(p.text);
    const h = LABEL_HEIGHT;
    for (const d of [6, 18, 34, 54, 80]) {
      const leader = d > 6;
      for (const [dx, dy] of directions) {
        const cx = p.x + dx * (d + (dx === 0 ? 0 : w / 2));
        const cy = p.y + dy * (d * (dx === 0 ? 1 : 0.8) + h / 2);
        const box = { x0: cx - w / 2, y0: cy - h / 2, x1: cx + w / 2, y1: cy + h / 2 };
        if (box.x0 < area.x0 || box.x1 > area.x1 || box.y0 < area.y0 || box.y1 > area.y1) continue;
        if (placed.some((b) => overlaps(b, box)) || dots.some((b) => overlaps(b, box))) continue;
        if (!leader) {
          const own = distanceToBox(p.x, p.y, box);
          if (points.some((q, i) => i !== self && distanceToBox(q.x, q.y, box) < 2 * own + 4)) continue;
        }
        placed.push(box);
        return { text: p.text, px: p.x, py: p.y, box, leader };
      }
    }
    return null;
  });
}

/** Scatter of mean QSNR against bits per element, with the Pareto frontier drawn as a line; partial
 * variants (that skipped tensors) are hollow. Labels are placed so that they do not collide.
 * `yLabel` names the vertical axis when the points carry another metric in `meanQsnrDb` (the
 * model-level report plots output QSNR there). */
export function tradeoffSvg(summary: readonly SweepSummary[], width = 960, height = 560, yLabel = 'mean QSNR (dB)'): string {
  const pts = summary.filter((s) => Number.isFinite(s.meanQsnrDb));
  const m = { l: 56, r: 24, t: 20, b: 44 };
  const x = scaleLinear()
    .domain([Math.floor(min(pts, (p) => p.bitsPerElement) ?? 0) - 0.5, Math.ceil(max(pts, (p) => p.bitsPerElement) ?? 1) + 0.5])
    .range([m.l, width - m.r]);
  const y = scaleLinear()
    .domain([Math.floor((min(pts, (p) => p.meanQsnrDb) ?? 0) / 5) * 5 - 3, Math.ceil((max(pts, (p) => p.meanQsnrDb) ?? 1) / 5) * 5 + 3])
    .range([height - m.b, m.t]);
  const front = pts.filter((p) => p.pareto).sort((a, b) => a.bitsPerElement - b.bitsPerElement);
  const path = line<SweepSummary>()
    .x((p) => x(p.bitsPerElement))
    .y((p) => y(p.meanQsnrDb))(front);
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" class="tradeoff" role="img" aria-label="${esc(yLabel)} against bits per element">`];
  for (const t of x.ticks(10)) parts.push(`<line x1="${x(t)}" x2="${x(t)}" y1="${m.t}" y2="${height - m.b}" class="grid"/><text x="${x(t)}" y="${height - m.b + 16}" text-anchor="middle">${t}</text>`);
  for (const t of y.ticks(8)) parts.push(`<line x1="${m.l}" x2="${width - m.r}" y1="${y(t)}" y2="${y(t)}" class="grid"/><text x="${m.l - 6}" y="${y(t) + 4}" text-anchor="end">${t}</text>`);
  parts.push(`<text x="${(m.l + width - m.r) / 2}" y="${height - 8}" text-anchor="middle">bits per element</text>`);
  parts.push(`<text transform="translate(14 ${(m.t + height - m.b) / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`);
  if (path) parts.push(`<path d="${path}" class="frontier"/>`);
  // Frontier points are labelled first, so they win the room near their points; beyond 40 points only they are.
  const order = pts.map((p, i) => i).sort((a, b) => Number(pts[b]!.pareto) - Number(pts[a]!.pareto));
  const labelled = order.filter((i) => pts[i]!.pareto || pts.length <= 40);
  const labels = placeLabels(
    labelled.map((i) => ({ text: pts[i]!.format, x: x(pts[i]!.bitsPerElement), y: y(pts[i]!.meanQsnrDb) })),
    { x0: m.l + 2, y0: m.t, x1: width - m.r, y1: height - m.b - 2 },
  );
  for (const p of pts) {
    const cls = `pt${p.pareto ? ' pareto' : ''}${p.complete ? '' : ' partial'}`;
    const cover = p.complete ? '' : `, partial: ${p.tensors}/${p.totalTensors} tensors`;
    parts.push(
      `<circle cx="${x(p.bitsPerElement).toFixed(1)}" cy="${y(p.meanQsnrDb).toFixed(1)}" r="4.5" class="${cls}"><title>${esc(p.format)}: ${p.bitsPerElement.toFixed(3)} bits, mean ${p.meanQsnrDb.toFixed(2)} dB, pooled ${num(p.pooledQsnrDb, 2)} dB${cover}</title></circle>`,
    );
  }
  for (const l of labels) {
    if (!l) continue;
    const { box } = l;
    const parts2 = [`<g class="label" data-format="${esc(l.text)}">`];
    if (l.leader) {
      const tx = Math.max(box.x0, Math.min(l.px, box.x1));
      const ty = Math.max(box.y0, Math.min(l.py, box.y1));
      parts2.push(`<line x1="${l.px.toFixed(1)}" y1="${l.py.toFixed(1)}" x2="${tx.toFixed(1)}" y2="${ty.toFixed(1)}" class="leader"/>`);
    }
    parts2.push(`<text x="${((box.x0 + box.x1) / 2).toFixed(1)}" y="${(box.y1 - 3).toFixed(1)}" text-anchor="middle" class="ptlabel">${esc(l.text)}</text></g>`);
    parts.push(parts2.join(''));
  }
  const lx = m.l + 12;
  parts.push(
    `<g class="legend"><circle cx="${lx}" cy="${m.t + 10}" r="4.5" class="pt pareto"/><text x="${lx + 10}" y="${m.t + 14}">on the frontier</text>` +
      `<circle cx="${lx + 120}" cy="${m.t + 10}" r="4.5" class="pt"/><text x="${lx + 130}" y="${m.t + 14}">dominated</text>` +
      `<circle cx="${lx + 220}" cy="${m.t + 10}" r="4.5" class="pt partial"/><text x="${lx + 230}" y="${m.t + 14}">partial (skipped tensors; not compared)</text></g>`,
  );
  parts.push('</svg>');
  return parts.join('');
}

/** How many of the worst tensors the heat map shows before the rest fold away. */
export const HEATMAP_WORST = 30;
/** The heat map's colour scale spans ± this many dB around each format's mean QSNR. */
export const HEATMAP_RANGE_DB = 12;

const heatColor = scaleLinear<string>().domain([-HEATMAP_RANGE_DB, 0, HEATMAP_RANGE_DB]).range(['#b2182b', '#f7f7f7', '#2166ac']).clamp(true);

/** A colour bar for the heat map: dB relative to the format's mean QSNR. */
function heatLegendSvg(): string {
  const w = 360;
  const x0 = 56;
  const R = HEATMAP_RANGE_DB;
  const stops = [-1, -0.5, 0, 0.5, 1].map((f) => `<stop offset="${(f + 1) * 50}%" stop-color="${heatColor(f * R)}"/>`).join('');
  const ticks = [-R, -R / 2, 0, R / 2, R]
    .map((t) => `<text x="${x0 + ((t / R + 1) / 2) * w}" y="38" text-anchor="middle">${t > 0 ? '+' : t < 0 ? '−' : ''}${Math.abs(t)}</text>`)
    .join('');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${x0 + w + 340}" height="62" class="heat-legend" role="img" aria-label="colour scale: tensor QSNR minus the format's mean QSNR">` +
    `<defs><linearGradient id="heat-grad">${stops}</linearGradient></defs><text x="${x0 - 8}" y="18" text-anchor="end">colour</text>` +
    `<rect x="${x0}" y="6" width="${w}" height="16" fill="url(#heat-grad)" stroke="#999"/>${ticks}` +
    `<text x="${x0 + w + 10}" y="18">dB: the tensor's QSNR minus the format's mean QSNR</text>` +
    `<text x="${x0}" y="56">red: the tensor is harder than average for that format; ±${R} dB and beyond share the end colours</text></svg>`
  );
}

/** One row of the heat map: a tensor and its QSNR in every format (null where skipped). */
interface HeatRow {
  readonly tensor: string;
  readonly shape: readonly number[];
  readonly elements: number;
  readonly cells: (SweepRow | null)[];
  /** Mean over its formats of (this tensor's QSNR − the format's mean QSNR): how hard it is. */
  readonly deviation: number;
}

function heatRows(r: SweepResult): HeatRow[] {
  const byTensor = new Map<string, Map<string, SweepRow>>();
  for (const row of r.results) {
    let m = byTensor.get(row.tensor);
    if (!m) byTensor.set(row.tensor, (m = new Map()));
    m.set(row.format, row);
  }
  for (const skip of r.skipped) if (!byTensor.has(skip.tensor)) byTensor.set(skip.tensor, new Map());
  const shapes = new Map<string, { shape: readonly number[]; elements: number }>();
  for (const x of [...r.results, ...r.skipped]) shapes.set(x.tensor, { shape: x.shape, elements: x.elements });
  const rows = [...byTensor.entries()].map(([tensor, m]) => {
    const cells = r.summary.map((s) => m.get(s.format) ?? null);
    let dev = 0;
    let k = 0;
    r.summary.forEach((s, i) => {
      const c = cells[i];
      if (!c || c.sumSquaredSignal === 0 || !Number.isFinite(s.meanQsnrDb)) return;
      dev += Math.min(c.qsnrDb, QSNR_CAP_DB) - s.meanQsnrDb;
      k++;
    });
    return { tensor, ...shapes.get(tensor)!, cells, deviation: k ? dev / k : Infinity };
  });
  return rows.sort((a, b) => a.deviation - b.deviation || b.elements - a.elements);
}

function heatTable(r: SweepResult, rows: readonly HeatRow[], firstRank: number): string {
  const head = r.summary.map((s) => `<th class="fmt" title="${esc(s.format)}: mean ${num(s.meanQsnrDb, 2)} dB"><span>${esc(s.format)}</span></th>`).join('');
  const body = rows
    .map((row, i) => {
      const cells = row.cells
        .map((c, j) => {
          const s = r.summary[j]!;
          if (!c) return `<td class="skip" title="${esc(row.tensor)} · ${esc(s.format)}: skipped">–</td>`;
          const exact = !Number.isFinite(c.qsnrDb);
          const dev = exact ? HEATMAP_RANGE_DB : c.qsnrDb - s.meanQsnrDb;
          const dark = Math.abs(dev) > 0.6 * HEATMAP_RANGE_DB ? ' class="dark"' : '';
          const rel = exact ? 'exact' : `${dev >= 0 ? '+' : '−'}${Math.abs(dev).toFixed(1)} dB against its mean`;
          return `<td style="background:${heatColor(dev)}"${dark} title="${esc(row.tensor)} · ${esc(s.format)}: ${num(c.qsnrDb, 2)} dB (${rel}); ${pct(c.clippedFraction)} clipped, ${pct(c.flushedFraction)} flushed">${exact ? 'exact' : c.qsnrDb.toFixed(1)}</td>`;
        })
        .join('');
      const name = row.tensor.length > 60 ? '…' + row.tensor.slice(-59) : row.tensor;
      return `<tr><td class="rank">${firstRank + i}</td><th class="tensor" title="${esc(row.tensor)}">${esc(name)}</th><td class="shape">${esc(row.shape.join('×'))}</td>${cells}</tr>`;
    })
    .join('\n');
  return `<table class="heat"><thead><tr><th>#</th><th class="tensor">tensor</th><th>shape</th>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/**
 * QSNR per tensor (rows) and format (columns) as an HTML table: each cell shows the tensor's QSNR in
 * dB and is coloured by how far it lies from that format's mean (red: worse), with a colour legend.
 * Tensors are sorted hardest first (lowest mean deviation over the formats); the `worst` hardest are
 * shown and the rest fold into a <details> element, with the column headers repeated.
 */
export function heatmapHtml(r: SweepResult, worst = HEATMAP_WORST): string {
  const rows = heatRows(r);
  const top = rows.slice(0, worst);
  const rest = rows.slice(worst);
  const more = rest.length
    ? `<details class="heat-rest"><summary>Show the other ${rest.length} tensors</summary>${heatTable(r, rest, worst + 1)}</details>`
    : '';
  return `<div class="heatmap"><p>Each cell: the tensor's QSNR in dB for that format; colour: how far it lies from the format's mean QSNR (hover a cell for details). Hardest tensors first${rest.length ? `; the ${top.length} hardest of ${rows.length} are shown` : ''}.</p>
${heatLegendSvg()}
${heatTable(r, top, 1)}
${more}</div>`;
}

/** Small-multiple histograms of log2(|error| / rms) per format. */
export function histogramsSvg(summary: readonly SweepSummary[]): string {
  const w = 180;
  const h = 90;
  const cols = 4;
  const rowsN = Math.ceil(summary.length / cols);
  const width = cols * (w + 16);
  const height = rowsN * (h + 34);
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="error histograms">`];
  summary.forEach((s, i) => {
    const ox = (i % cols) * (w + 16);
    const oy = Math.floor(i / cols) * (h + 34);
    const total = s.errorHistogram.reduce((a, b) => a + b, 0) || 1;
    const peak = Math.max(...s.errorHistogram, 1) / total;
    const x = scaleLinear().domain([HISTOGRAM_BINS.min, HISTOGRAM_BINS.max]).range([ox + 4, ox + w]);
    const y = scaleLinear().domain([0, peak]).range([oy + h, oy + 16]);
    // 10 px keeps the longest names (bdr(m=…,d2=…), 29 characters) inside the panel
    parts.push(`<text x="${ox + 4}" y="${oy + 12}" class="htitle">${esc(s.format)}</text>`);
    s.errorHistogram.forEach((c, b) => {
      const lo = HISTOGRAM_BINS.min + b;
      const bw = x(lo + 1) - x(lo);
      parts.push(`<rect x="${x(lo).toFixed(1)}" y="${y(c / total).toFixed(1)}" width="${Math.max(bw - 0.5, 0.5).toFixed(1)}" height="${(oy + h - y(c / total)).toFixed(1)}" class="bar"/>`);
    });
    for (const t of [-24, -16, -8, 0]) parts.push(`<text x="${x(t)}" y="${oy + h + 12}" text-anchor="middle" class="tick">2^${t}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

/** Styles of the plots, the heat map and its legend (the in-browser explorer page uses them too). */
/** Page and table styles shared by the sweep and eval reports. */
export const REPORT_PAGE_CSS = `body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#222}
p,ul,details{max-width:1000px}
table{border-collapse:collapse}td,th{padding:3px 10px;border-bottom:1px solid #ddd;text-align:right}
td:first-child,th:first-child{text-align:left}`;

export const REPORT_PLOT_CSS = `svg text{font:11px system-ui,sans-serif;fill:#333}.grid{stroke:#eee}.frontier{fill:none;stroke:#2166ac;stroke-width:2}
.tradeoff{max-width:100%;height:auto}.ptlabel{font-size:12px}.leader{stroke:#aaa;stroke-width:1}
.pt{fill:#999}.pt.pareto{fill:#2166ac}.pt.partial{fill:#fff;stroke:#d6604d;stroke-width:2}.bar{fill:#4a7fb5}.lbl{font-size:11px}.htitle{font-size:10px}.tick{font-size:9px;fill:#777}
table.heat td,table.heat th{padding:2px 5px;border-bottom:1px solid #eee;font-size:11px}
table.heat td{font-family:ui-monospace,monospace;min-width:38px}table.heat td.dark{color:#fff}
table.heat td.skip{color:#aaa;background:#f0f0f0;text-align:center}table.heat td.rank,table.heat td.shape{color:#777}
table.heat th.tensor{text-align:left;font-weight:normal;max-width:420px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
table.heat thead th{position:sticky;top:0;background:#fff;z-index:1;vertical-align:bottom;border-bottom:1px solid #999}
table.heat th.fmt span{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap;font-weight:600}
details.heat-rest summary{cursor:pointer;margin:8px 0;color:#2166ac}`;

/** One self-contained HTML file (inline CSS and SVG, no scripts or network) that opens offline. */
export function toHtml(r: SweepResult, title = 'microscale sweep'): string {
  const rows = r.summary
    .map(
      (s) =>
        `<tr class="${[s.pareto ? 'pareto' : '', s.complete ? '' : 'partial'].filter(Boolean).join(' ')}"><td>${esc(s.format)}</td><td>${num(s.bitsPerElement, 3)}</td><td>${num(s.meanQsnrDb, 2)}</td><td>${num(s.pooledQsnrDb, 2)}</td><td>${sci(s.mse)}</td><td>${sci(s.maxAbsError)}</td><td>${pct(s.clippedFraction)}</td><td>${pct(s.flushedFraction)}</td><td>${bytes(s.storedBytes)}</td><td>${coverage(s)}</td><td>${frontierCell(s)}</td></tr>`,
    )
    .join('\n');
  const skipped = r.skipped.length
    ? `<details><summary>${r.skipped.length} skipped (tensor, format) pairs</summary><ul>${r.skipped.map((s) => `<li>${esc(s.tensor)} · ${esc(s.format)}: ${esc(s.reason)}</li>`).join('')}</ul></details>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
${REPORT_PAGE_CSS}
tr.pareto td:first-child{font-weight:600}tr.partial td{color:#777}
${REPORT_PLOT_CSS}
</style></head><body>
<h1>${esc(title)}</h1>
<p>${r.summary.length} variants over ${tensorCount(r)} tensors (${elementCount(r).toLocaleString('en-US')} elements), ${esc(r.backend)} backend, ${r.seconds.toFixed(1)} s.
<b>Mean QSNR</b> is the element-weighted mean of per-tensor QSNR (−10·log10(Σ(x−q)²/Σx²) of each tensor), the ranking used here;
<b>pooled QSNR</b> sums errors and signals over the whole model first, so the tensors of largest magnitude dominate it.
Bold rows lie on the Pareto frontier, which compares only variants that covered every tensor; grey rows marked <i>partial</i> skipped some tensors (see the coverage column) and are not comparable.</p>
<h2>Accuracy against bandwidth</h2>
${tradeoffSvg(r.summary)}
<h2>Summary</h2>
<table id="summary"><thead><tr><th>format</th><th>bits/elem</th><th>mean QSNR dB</th><th>pooled QSNR dB</th><th>MSE</th><th>max |err|</th><th>clipped</th><th>flushed</th><th>stored</th><th>tensors covered</th><th>frontier</th></tr></thead><tbody>
${rows}
</tbody></table>
<h2>QSNR per tensor</h2>
${heatmapHtml(r)}
<h2>Error distribution</h2>
<p>Histogram of log2(|x − q| / rms(x)) over all elements, one bar per octave, per format.</p>
${histogramsSvg(r.summary)}
${skipped}
</body></html>
`;
}
