// The in-browser explorer: reads a dropped model file with Blob slices (never uploaded), sweeps the
// formats with the fastest available backend and shows the same table and plots as the HTML report.
import {
  DEFAULT_FORMATS,
  defaultTensors,
  heatmapHtml,
  histogramsSvg,
  memoryTensors,
  openModel,
  readerTensors,
  REPORT_PLOT_CSS,
  sweep,
  tradeoffSvg,
  type SweepResult,
  type SweepTensor,
} from 'microscale/explorer';
import { referenceBackend, type Backend } from 'microscale';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = $('status');
const progress = $<HTMLProgressElement>('progress');
const errorBox = $('error');
const results = $('results');
const formatsInput = $<HTMLInputElement>('formats');
formatsInput.value = DEFAULT_FORMATS.join(',');

const backendSelect = $<HTMLSelectElement>('backend');
const webgpuOption = backendSelect.querySelector('option[value="webgpu"]') as HTMLOptionElement;
if (!('gpu' in navigator)) webgpuOption.disabled = true;

const backends = new Map<string, Promise<Backend>>();
async function wasmOrReference(): Promise<Backend> {
  try {
    const { createWasmBackend } = await import('microscale/wasm');
    return await createWasmBackend({});
  } catch (e) {
    console.warn('WASM backend unavailable, using the reference codec', e);
    return referenceBackend;
  }
}
/** The chosen backend, created once: WebGPU falls back to WASM when no adapter answers. */
function backend(): Promise<Backend> {
  const kind = backendSelect.value;
  let p = backends.get(kind);
  if (!p) {
    p =
      kind === 'reference'
        ? Promise.resolve(referenceBackend)
        : kind === 'webgpu'
          ? import('microscale/webgpu')
              .then(({ createWebGPUBackend }) => createWebGPUBackend() as Promise<Backend>)
              .catch((e: unknown) => {
                console.warn('WebGPU backend unavailable, using WASM', e);
                return wasmOrReference();
              })
          : wasmOrReference();
    backends.set(kind, p);
  }
  return p;
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const num = (v: number, d: number) => (Number.isFinite(v) ? v.toFixed(d) : 'inf');

function render(r: SweepResult, title: string): void {
  const rows = r.summary
    .map(
      (s) =>
        `<tr class="${s.pareto ? 'pareto' : ''}${s.complete ? '' : ' partial'}" data-format="${esc(s.format)}"><td>${esc(s.format)}</td><td>${num(s.bitsPerElement, 3)}</td><td>${num(s.meanQsnrDb, 2)}</td><td>${num(s.pooledQsnrDb, 2)}</td><td>${s.mse.toExponential(2)}</td><td>${(100 * s.clippedFraction).toFixed(2)}%</td><td>${(100 * s.flushedFraction).toFixed(2)}%</td><td>${s.tensors}/${s.totalTensors}${s.complete ? '' : ' (partial)'}</td></tr>`,
    )
    .join('');
  results.innerHTML = `<style>${REPORT_PLOT_CSS}</style><h2>${esc(title)}</h2>
<table id="summary"><thead><tr><th>format</th><th>bits/elem</th><th title="element-weighted mean of per-tensor QSNR">mean QSNR dB</th><th title="-10·log10(Σ error / Σ signal) over the model">pooled QSNR dB</th><th>MSE</th><th>clipped</th><th>flushed</th><th>tensors covered</th></tr></thead><tbody>${rows}</tbody></table>
<h2>Accuracy against bandwidth</h2>${tradeoffSvg(r.summary)}
<h2>QSNR per tensor</h2>${heatmapHtml(r)}
<h2>Error distribution</h2>${histogramsSvg(r.summary)}`;
}

async function run(tensors: SweepTensor[], title: string): Promise<void> {
  errorBox.textContent = '';
  results.innerHTML = '';
  progress.hidden = false;
  progress.value = 0;
  try {
    const b = await backend();
    status.textContent = `sweeping with the ${b.capabilities.name} backend…`;
    const formats = formatsInput.value.split(',').map((s) => s.trim()).filter(Boolean);
    const r = await sweep(tensors, {
      formats,
      backend: b,
      onProgress: (done, total, label) => {
        progress.max = total;
        progress.value = done;
        status.textContent = `${done}/${total} · ${label}`;
      },
    });
    render(r, title);
    status.textContent = `done: ${r.summary.length} formats over ${new Set(r.results.map((x) => x.tensor)).size} tensors in ${r.seconds.toFixed(1)} s (${r.backend} backend)`;
    document.body.dataset.state = 'done';
  } catch (e) {
    errorBox.textContent = (e as Error).message;
    status.textContent = '';
    document.body.dataset.state = 'error';
  } finally {
    progress.hidden = true;
  }
}

async function runFile(file: File): Promise<void> {
  try {
    const reader = await openModel(file, { name: file.name });
    await run(readerTensors(reader), `${file.name} (${reader.format})`);
  } catch (e) {
    errorBox.textContent = (e as Error).message;
    document.body.dataset.state = 'error';
  }
}

$<HTMLInputElement>('file').addEventListener('change', (ev) => {
  const f = (ev.target as HTMLInputElement).files?.[0];
  if (f) void runFile(f);
});
$('demo').addEventListener('click', () => void run(memoryTensors(defaultTensors()), 'built-in synthetic model'));
const drop = $('drop');
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const f = e.dataTransfer?.files?.[0];
  if (f) void runFile(f);
});
document.body.dataset.state = 'ready';
