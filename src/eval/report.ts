// Evaluation output: terminal table, JSON, CSV and an HTML report with the model-level Pareto plot
// (output metric against bits per element, one point per format and for the searched plan) and
// the sensitivity ranking. Reuses the sweep report's plot.
import { paretoFrontier } from '../bdr-explorer/frontier.js';
import { REPORT_PAGE_CSS, REPORT_PLOT_CSS, tradeoffSvg } from '../bdr-explorer/report.js';
import type { SweepSummary } from '../bdr-explorer/sweep.js';
import type { EvaluationResult } from './evaluate.js';
import type { ModelMetrics } from './metrics.js';

const num = (v: number | undefined, digits: number) => (v === undefined ? '' : Number.isFinite(v) ? v.toFixed(digits) : v > 0 ? 'inf' : v < 0 ? '-inf' : 'nan');
const sci = (v: number | undefined) => (v === undefined ? '' : v === 0 ? '0' : Number.isFinite(v) ? v.toExponential(2) : String(v));
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

interface Row {
  readonly label: string;
  readonly tensors: number;
  readonly bitsPerElement: number;
  readonly tensorQsnrDb: number;
  readonly measured: ModelMetrics;
}

function rowsOf(r: EvaluationResult): Row[] {
  const rows: Row[] = r.formats.map((f) => ({ label: f.format, tensors: f.quantizedTensors, bitsPerElement: f.bitsPerElement, tensorQsnrDb: f.tensorQsnrDb, measured: f.measured }));
  if (r.plan) rows.push({ label: `plan (${r.plan.target})`, tensors: r.plan.proxy.quantizedTensors, bitsPerElement: r.plan.proxy.bitsPerElement, tensorQsnrDb: r.plan.proxy.tensorQsnrDb, measured: r.plan.measured });
  return rows;
}

/** The metric columns of the runner's kind. */
function metricColumns(kind: EvaluationResult['kind']): { head: string; cell: (m: ModelMetrics) => string }[] {
  if (kind === 'gguf') {
    return [
      { head: 'mean KL', cell: (m) => sci(m.meanKl) },
      { head: 'p99 KL', cell: (m) => sci(m.p99Kl) },
      { head: 'top-1', cell: (m) => num(m.top1Agreement, 4) },
      { head: 'PPL orig', cell: (m) => num(m.perplexityOriginal, 3) },
      { head: 'PPL quant', cell: (m) => num(m.perplexityQuantized, 3) },
    ];
  }
  return [
    { head: 'output QSNR dB', cell: (m) => num(m.qsnrDb, 2) },
    { head: 'max|err|', cell: (m) => sci(Math.max(...(m.outputs ?? []).map((o) => o.maxAbsError))) },
    { head: 'top-1', cell: (m) => num(m.top1Agreement, 4) },
  ];
}

function table(head: readonly string[], body: readonly (readonly string[])[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n') + '\n';
}

/** How many sensitivity rows the terminal table shows (JSON and CSV have all). */
export const SENSITIVITY_SHOWN = 20;

/** The terminal table: one row per format (and the plan), then the most sensitive tensors. */
export function formatEvalTable(r: EvaluationResult): string {
  const cols = metricColumns(r.kind);
  const out = [
    table(
      ['format', 'tensors', 'bits/elem', 'tensor QSNR dB', ...cols.map((c) => c.head)],
      rowsOf(r).map((x) => [x.label, `${x.tensors}/${r.tensors}`, num(x.bitsPerElement, 3), num(x.tensorQsnrDb, 2), ...cols.map((c) => c.cell(x.measured))]),
    ),
  ];
  if (r.sensitivity) {
    out.push(`\nmost sensitive (${r.sensitivityMetric} with one tensor quantized, damage per Mbit saved; ${r.sensitivity.length} runs):\n`);
    out.push(
      table(
        ['tensor', 'format', 'elements', r.sensitivityMetric!, 'damage/Mbit', 'tensor QSNR dB'],
        r.sensitivity.slice(0, SENSITIVITY_SHOWN).map((s) => [s.tensor, s.format, String(s.elements), r.sensitivityMetric === 'qsnr' ? num(s.metric, 2) : sci(s.metric), sci(s.damagePerMbit), num(s.tensorQsnrDb, 2)]),
      ),
    );
  }
  return out.join('');
}

/** Infinity and NaN as strings ("inf", "nan") so the JSON stays valid and exact results stay visible. */
const jsonNumber = (_key: string, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? (Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf') : v);

/** The whole result as JSON (the plan's map is the file `microscale quantize --plan` reads). */
export function evalToJson(r: EvaluationResult): string {
  const plan = r.plan && { ...r.plan, assignment: Object.fromEntries(r.plan.assignment) };
  return JSON.stringify({ ...r, ...(plan && { plan }) }, jsonNumber, 2) + '\n';
}

const CSV_COLUMNS = ['kind', 'label', 'tensor', 'format', 'tensors', 'elements', 'bits_per_element', 'tensor_qsnr_db', 'output_qsnr_db', 'max_abs_error', 'top1_agreement', 'mean_kl', 'p99_kl', 'perplexity_original', 'perplexity_quantized', 'damage_per_mbit'] as const;

const csvCell = (v: unknown) => (v === undefined ? '' : typeof v === 'number' ? (Number.isFinite(v) ? String(v) : Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf') : /[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));

function metricCells(m: ModelMetrics): Record<string, number | undefined> {
  const outs = m.outputs ?? [];
  return {
    output_qsnr_db: m.qsnrDb,
    max_abs_error: outs.length ? Math.max(...outs.map((o) => o.maxAbsError)) : undefined,
    top1_agreement: m.top1Agreement,
    mean_kl: m.meanKl,
    p99_kl: m.p99Kl,
    perplexity_original: m.perplexityOriginal,
    perplexity_quantized: m.perplexityQuantized,
  };
}

/** One CSV row per format and plan (kind "format"/"plan"), then per sensitivity measurement (kind "sensitivity"). */
export function evalToCsv(r: EvaluationResult): string {
  const lines = [CSV_COLUMNS.join(',')];
  const push = (j: Record<string, unknown>) => lines.push(CSV_COLUMNS.map((c) => csvCell(j[c])).join(','));
  for (const x of rowsOf(r)) push({ kind: x.label.startsWith('plan') && r.plan ? 'plan' : 'format', label: x.label, tensors: x.tensors, bits_per_element: x.bitsPerElement, tensor_qsnr_db: x.tensorQsnrDb, ...metricCells(x.measured) });
  for (const s of r.sensitivity ?? []) push({ kind: 'sensitivity', label: `${s.tensor} · ${s.format}`, tensor: s.tensor, format: s.format, tensors: 1, elements: s.elements, tensor_qsnr_db: s.tensorQsnrDb, damage_per_mbit: s.damagePerMbit, ...metricCells(s.measured) });
  return lines.join('\n') + '\n';
}

/** The plotted figure: output QSNR (ONNX) or −10·log10(mean KL) (GGUF), higher is better. */
function plotted(r: EvaluationResult, m: ModelMetrics): number {
  if (r.kind === 'gguf') return m.meanKl === undefined ? NaN : m.meanKl === 0 ? Infinity : -10 * Math.log10(m.meanKl);
  return m.qsnrDb ?? NaN;
}

/** Points of the model-level Pareto plot, in the sweep plot's shape (its y value is the output metric). */
function paretoPoints(r: EvaluationResult): SweepSummary[] {
  const rows = rowsOf(r).filter((x) => x.tensors > 0 && Number.isFinite(plotted(r, x.measured)));
  const front = new Set(paretoFrontier(rows.map((x) => ({ bitsPerElement: x.bitsPerElement, qsnrDb: plotted(r, x.measured) }))));
  return rows.map((x, i) => ({
    format: x.label,
    formatName: x.label,
    tensors: x.tensors,
    elements: 0,
    totalTensors: x.tensors,
    totalElements: 0,
    complete: true,
    bitsPerElement: x.bitsPerElement,
    meanQsnrDb: plotted(r, x.measured),
    pooledQsnrDb: x.tensorQsnrDb,
    mse: 0,
    maxAbsError: 0,
    clippedFraction: 0,
    flushedFraction: 0,
    storedBytes: 0,
    pareto: front.has(i),
    errorHistogram: [],
  }));
}

/** A self-contained HTML report (inline CSS and SVG, no scripts). */
export function evalToHtml(r: EvaluationResult, title = 'microscale eval'): string {
  const cols = metricColumns(r.kind);
  const body = rowsOf(r)
    .map((x) => `<tr><td>${esc(x.label)}</td><td>${x.tensors}/${r.tensors}</td><td>${num(x.bitsPerElement, 3)}</td><td>${num(x.tensorQsnrDb, 2)}</td>${cols.map((c) => `<td>${c.cell(x.measured)}</td>`).join('')}</tr>`)
    .join('\n');
  const yLabel = r.kind === 'gguf' ? '−10·log10(mean KL) (dB)' : 'output QSNR (dB, lowest output)';
  const points = paretoPoints(r);
  const plot = points.length > 0 ? tradeoffSvg(points, 960, 520, yLabel) : '<p>No lossy point to plot (every measured format was exact or quantized nothing).</p>';
  const sens = r.sensitivity
    ? `<h2>Sensitivity ranking</h2><p>Each row quantizes one tensor alone (all else original) and measures ${esc(r.sensitivityMetric!)}; rows are ordered by damage per million bits saved, most sensitive first (damage: 10^(−QSNR/10) for QSNR, the KL itself, or 1 − top-1 agreement).</p>
<table id="sensitivity"><thead><tr><th>#</th><th>tensor</th><th>format</th><th>elements</th><th>${esc(r.sensitivityMetric!)}</th><th>damage / Mbit</th><th>tensor QSNR dB</th></tr></thead><tbody>
${r.sensitivity.map((s, i) => `<tr><td>${i + 1}</td><td>${esc(s.tensor)}</td><td>${esc(s.format)}</td><td>${s.elements}</td><td>${r.sensitivityMetric === 'qsnr' ? num(s.metric, 2) : sci(s.metric)}</td><td>${sci(s.damagePerMbit)}</td><td>${num(s.tensorQsnrDb, 2)}</td></tr>`).join('\n')}
</tbody></table>`
    : '';
  const plan = r.plan
    ? `<h2>Searched plan</h2><p>Target ${esc(r.plan.target)}: ${r.plan.meetsTarget ? 'met' : 'not met'} by a real run; ${r.plan.proxy.quantizedTensors} tensors quantized, ${num(r.plan.proxy.bitsPerElement, 3)} bits per element; ${r.plan.stepsTaken} of ${r.plan.steps.length} greedy steps taken, ${r.plan.runs} verification runs.</p><pre>${esc(JSON.stringify(r.plan.planMap, null, 2))}</pre>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
${REPORT_PAGE_CSS}
#sensitivity td:nth-child(2){text-align:left}
${REPORT_PLOT_CSS}
</style></head><body>
<h1>${esc(title)}</h1>
<p>${esc(r.model)} (${r.kind}): ${r.tensors} tensors (${r.elements.toLocaleString('en-US')} elements) that some format quantizes; ${r.runs} quantized runs against the original, ${r.seconds.toFixed(1)} s.
Bits per element count every candidate tensor (kept ones at their stored width). <b>Tensor QSNR</b> is the sweep's element-weighted mean over the quantized tensors: the proxy; the output metric is what the model produced.</p>
<h2>Model accuracy against bits per element</h2>
${plot}
<h2>Per format</h2>
<table id="formats"><thead><tr><th>format</th><th>tensors</th><th>bits/elem</th><th>tensor QSNR dB</th>${cols.map((c) => `<th>${esc(c.head)}</th>`).join('')}</tr></thead><tbody>
${body}
</tbody></table>
${plan}
${sens}
</body></html>
`;
}
