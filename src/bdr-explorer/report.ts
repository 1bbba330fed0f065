// Sweep output: terminal table, CSV, JSON and a self-contained HTML report with SVG plots.
import { max, min } from 'd3-array';
import { scaleBand, scaleLinear } from 'd3-scale';
import { line } from 'd3-shape';
import { HISTOGRAM_BINS } from './metrics.js';
import type { SweepResult, SweepRow, SweepSummary } from './sweep.js';

const num = (v: number, digits: number) => (Number.isFinite(v) ? v.toFixed(digits) : v > 0 ? 'inf' : v < 0 ? '-inf' : 'nan');
const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
const sci = (v: number) => (v === 0 ? '0' : Number.isFinite(v) ? v.toExponential(2) : String(v));

/** A readable table of the per-format summary, sorted by bits per element; `*` marks the Pareto frontier. */
export function formatTable(r: SweepResult): string {
  const head = ['format', 'bits/elem', 'QSNR dB', 'MSE', 'max|err|', 'clipped', 'flushed', 'stored', 'pareto'];
  const rows = r.summary.map((s) => [
    s.format,
    num(s.bitsPerElement, 3),
    num(s.qsnrDb, 2),
    sci(s.mse),
    sci(s.maxAbsError),
    pct(s.clippedFraction),
    pct(s.flushedFraction),
    bytes(s.storedBytes),
    s.pareto ? '*' : '',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const lines = [fmt(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)];
  lines.push('', `${r.summary.length} variants · ${tensorCount(r)} tensors · ${elementCount(r).toLocaleString('en-US')} elements · ${r.backend} backend · ${r.seconds.toFixed(1)} s`);
  if (r.skipped.length) lines.push(`${r.skipped.length} combinations skipped (see --json for reasons)`);
  return lines.join('\n');
}

function tensorCount(r: SweepResult): number {
  return new Set(r.results.map((x) => x.tensor)).size;
}

/** Elements of the distinct tensors swept (each counted once, whatever the formats). */
function elementCount(r: SweepResult): number {
  const seen = new Map<string, number>();
  for (const x of r.results) seen.set(x.tensor, x.elements);
  let n = 0;
  for (const v of seen.values()) n += v;
  return n;
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
    bitsPerElement: s.bitsPerElement,
    qsnrDb: finiteOrNull(s.qsnrDb),
    mse: s.mse,
    maxAbsError: s.maxAbsError,
    clippedFraction: s.clippedFraction,
    flushedFraction: s.flushedFraction,
    storedBytes: s.storedBytes,
    pareto: s.pareto,
  };
}

/** JSON: `{ results: [...], summary: [...], skipped, backend, seconds }` (an exact QSNR is null). */
export function toJson(r: SweepResult): string {
  return JSON.stringify(
    { results: r.results.map(rowJson), summary: r.summary.map(summaryJson), skipped: r.skipped, backend: r.backend, seconds: r.seconds },
    null,
    2,
  );
}

const CSV_COLUMNS = ['tensor', 'format', 'formatName', 'shape', 'elements', 'bitsPerElement', 'qsnrDb', 'mse', 'maxAbsError', 'clippedFraction', 'flushedFraction', 'storedBytes'] as const;

function csvCell(v: unknown): string {
  const s = Array.isArray(v) ? v.join('x') : v === null ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** CSV with one row per (tensor, format). */
export function toCsv(r: SweepResult): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const row of r.results) {
    const j = rowJson(row) as Record<string, unknown>;
    lines.push(CSV_COLUMNS.map((c) => csvCell(j[c])).join(','));
  }
  return lines.join('\n') + '\n';
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Scatter of QSNR against bits per element, with the Pareto frontier drawn as a line. */
export function tradeoffSvg(summary: readonly SweepSummary[], width = 760, height = 440): string {
  const pts = summary.filter((s) => Number.isFinite(s.qsnrDb));
  const m = { l: 56, r: 150, t: 20, b: 44 };
  const x = scaleLinear()
    .domain([Math.floor(min(pts, (p) => p.bitsPerElement) ?? 0) - 0.5, Math.ceil(max(pts, (p) => p.bitsPerElement) ?? 1) + 0.5])
    .range([m.l, width - m.r]);
  const y = scaleLinear()
    .domain([Math.floor((min(pts, (p) => p.qsnrDb) ?? 0) / 5) * 5 - 2, Math.ceil((max(pts, (p) => p.qsnrDb) ?? 1) / 5) * 5 + 2])
    .range([height - m.b, m.t]);
  const front = pts.filter((p) => p.pareto).sort((a, b) => a.bitsPerElement - b.bitsPerElement);
  const path = line<SweepSummary>()
    .x((p) => x(p.bitsPerElement))
    .y((p) => y(p.qsnrDb))(front);
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="QSNR against bits per element">`];
  for (const t of x.ticks(10)) parts.push(`<line x1="${x(t)}" x2="${x(t)}" y1="${m.t}" y2="${height - m.b}" class="grid"/><text x="${x(t)}" y="${height - m.b + 16}" text-anchor="middle">${t}</text>`);
  for (const t of y.ticks(8)) parts.push(`<line x1="${m.l}" x2="${width - m.r}" y1="${y(t)}" y2="${y(t)}" class="grid"/><text x="${m.l - 6}" y="${y(t) + 4}" text-anchor="end">${t}</text>`);
  parts.push(`<text x="${(m.l + width - m.r) / 2}" y="${height - 8}" text-anchor="middle">bits per element</text>`);
  parts.push(`<text transform="translate(14 ${(m.t + height - m.b) / 2}) rotate(-90)" text-anchor="middle">QSNR (dB)</text>`);
  if (path) parts.push(`<path d="${path}" class="frontier"/>`);
  for (const p of pts) {
    parts.push(
      `<circle cx="${x(p.bitsPerElement).toFixed(1)}" cy="${y(p.qsnrDb).toFixed(1)}" r="4" class="${p.pareto ? 'pt pareto' : 'pt'}"><title>${esc(p.format)}: ${p.bitsPerElement.toFixed(3)} bits, ${p.qsnrDb.toFixed(2)} dB</title></circle>`,
    );
    if (p.pareto || pts.length <= 24) parts.push(`<text x="${x(p.bitsPerElement) + 6}" y="${y(p.qsnrDb) - 6}" class="lbl">${esc(p.format)}</text>`);
  }
  parts.push('</svg>');
  return parts.join('');
}

/** Heatmap of QSNR per tensor (rows) and format (columns). */
export function heatmapSvg(r: SweepResult): string {
  const tensors = [...new Set(r.results.map((x) => x.tensor))];
  const formats = r.summary.map((s) => s.format);
  const cell = 22;
  const left = Math.min(340, 7 * Math.max(...tensors.map((t) => t.length), 4) + 10);
  const top = 8 + 6 * Math.max(...formats.map((f) => f.length), 4);
  const width = left + cell * formats.length + 10;
  const height = top + cell * tensors.length + 10;
  const xs = scaleBand<string>().domain(formats).range([left, left + cell * formats.length]);
  const ys = scaleBand<string>().domain(tensors).range([top, top + cell * tensors.length]);
  const q = r.results.map((x) => x.qsnrDb).filter(Number.isFinite);
  const color = scaleLinear<string>()
    .domain([min(q) ?? 0, ((min(q) ?? 0) + (max(q) ?? 1)) / 2, max(q) ?? 1])
    .range(['#b2182b', '#f7f7f7', '#2166ac']);
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="QSNR per tensor and format">`];
  for (const f of formats) parts.push(`<text transform="translate(${xs(f)! + cell / 2 + 4} ${top - 4}) rotate(-60)" class="lbl">${esc(f)}</text>`);
  for (const t of tensors) parts.push(`<text x="${left - 6}" y="${ys(t)! + cell / 2 + 4}" text-anchor="end" class="lbl">${esc(t.length > 48 ? '…' + t.slice(-47) : t)}</text>`);
  for (const row of r.results) {
    const fill = Number.isFinite(row.qsnrDb) ? color(row.qsnrDb) : '#2166ac';
    parts.push(
      `<rect x="${xs(row.format)}" y="${ys(row.tensor)}" width="${cell - 1}" height="${cell - 1}" fill="${fill}"><title>${esc(row.tensor)} · ${esc(row.format)}: ${num(row.qsnrDb, 2)} dB</title></rect>`,
    );
  }
  parts.push('</svg>');
  return parts.join('');
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
    parts.push(`<text x="${ox + 4}" y="${oy + 12}" class="lbl">${esc(s.format)}</text>`);
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

/** One self-contained HTML file (inline CSS and SVG, no scripts or network) that opens offline. */
export function toHtml(r: SweepResult, title = 'microscale sweep'): string {
  const rows = r.summary
    .map(
      (s) =>
        `<tr${s.pareto ? ' class="pareto"' : ''}><td>${esc(s.format)}</td><td>${num(s.bitsPerElement, 3)}</td><td>${num(s.qsnrDb, 2)}</td><td>${sci(s.mse)}</td><td>${sci(s.maxAbsError)}</td><td>${pct(s.clippedFraction)}</td><td>${pct(s.flushedFraction)}</td><td>${bytes(s.storedBytes)}</td></tr>`,
    )
    .join('\n');
  const skipped = r.skipped.length
    ? `<h2>Skipped</h2><ul>${r.skipped.map((s) => `<li>${esc(s.tensor)} · ${esc(s.format)}: ${esc(s.reason)}</li>`).join('')}</ul>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}
table{border-collapse:collapse}td,th{padding:3px 10px;border-bottom:1px solid #ddd;text-align:right}
td:first-child,th:first-child{text-align:left}tr.pareto td:first-child{font-weight:600}
svg text{font:11px system-ui,sans-serif;fill:#333}.grid{stroke:#eee}.frontier{fill:none;stroke:#2166ac;stroke-width:2}
.pt{fill:#999}.pt.pareto{fill:#2166ac}.bar{fill:#4a7fb5}.lbl{font-size:11px}.tick{font-size:9px;fill:#777}
</style></head><body>
<h1>${esc(title)}</h1>
<p>${r.summary.length} variants over ${tensorCount(r)} tensors (${elementCount(r).toLocaleString('en-US')} elements), ${esc(r.backend)} backend, ${r.seconds.toFixed(1)} s. QSNR = −10·log10(Σ(x−q)²/Σx²), element-weighted over all tensors. Bold rows lie on the Pareto frontier.</p>
<h2>Accuracy against bandwidth</h2>
${tradeoffSvg(r.summary)}
<h2>Summary</h2>
<table><thead><tr><th>format</th><th>bits/elem</th><th>QSNR dB</th><th>MSE</th><th>max |err|</th><th>clipped</th><th>flushed</th><th>stored</th></tr></thead><tbody>
${rows}
</tbody></table>
<h2>QSNR per tensor</h2>
${heatmapSvg(r)}
<h2>Error distribution</h2>
<p>Histogram of log2(|x − q| / rms(x)) over all elements, one bar per octave, per format.</p>
${histogramsSvg(r.summary)}
${skipped}
</body></html>
`;
}
