// The WASM backend as a browser app gets it: a tiny page importing `microscale/wasm` and
// `microscale` (the built package, dist) is bundled by vite and opened in Debian's headless
// Chromium. Served cross-origin isolated (COOP + COEP headers) the backend runs two threads on
// Web Workers over shared memory; served without them SharedArrayBuffer is unavailable and the
// backend falls back to one thread, saying so in its notes. Both must equal the reference codec.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWhen } from '../helpers/needs.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const PLAYWRIGHT = `${root}node_modules/playwright-core/package.json`;
const missing = !existsSync(CHROMIUM)
  ? { what: `Chromium (${CHROMIUM})`, install: 'apt-get install chromium' }
  : !existsSync(PLAYWRIGHT)
    ? { what: 'playwright-core', install: 'npm ci (a devDependency)' }
    : null;

const MAIN = `import { createWasmBackend } from 'microscale/wasm';
import { quantize } from 'microscale';

async function check(threads) {
  const b = await createWasmBackend({ threads, minParallelWork: 64 });
  const x = new Float32Array(8192).map((_, i) => Math.sin(i) * 2 ** ((i % 17) - 8));
  const q = await b.quantize(x, 'mxfp4');
  const ref = quantize(x, 'mxfp4');
  const same = q.codes.length === ref.codes.length && q.codes.every((c, i) => c === ref.codes[i]);
  const result = { threads: b.capabilities.threads, notes: [...b.capabilities.notes], same };
  b.dispose();
  return result;
}
globalThis.checkWasm = check;
globalThis.isolated = globalThis.crossOriginIsolated === true;
`;

/** vite build of the page, with the package names resolved to this checkout's dist. */
async function buildPage(): Promise<{ dir: string; files: Map<string, Buffer> }> {
  const dir = mkdtempSync(join(tmpdir(), 'microscale-wasm-page-'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><html><head><script type="module" src="./main.js"></script></head><body></body></html>');
  writeFileSync(join(dir, 'main.js'), MAIN);
  const { build } = await import('vite');
  await build({
    configFile: false,
    logLevel: 'error',
    root: dir,
    base: './',
    resolve: {
      alias: [
        { find: /^microscale\/wasm$/, replacement: `${root}dist/kernels/wasm/index.js` },
        { find: /^microscale$/, replacement: `${root}dist/index.js` },
      ],
    },
    build: { outDir: join(dir, 'out'), emptyOutDir: true, minify: false },
  });
  const files = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else files.set(`/${relative(join(dir, 'out'), p)}`, readFileSync(p));
    }
  };
  walk(join(dir, 'out'));
  return { dir, files };
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };

describeWhen('WASM backend bundled by vite, in headless Chromium', missing, () => {
  let server: Server;
  let base = '';
  let dir = '';
  let userDataDir = '';
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let context: any;
  const errors: string[] = [];

  beforeAll(async () => {
    const page = await buildPage();
    dir = page.dir;
    // /isolated/… is served with the headers that make a page cross-origin isolated; /plain/… without
    server = createServer((req, res) => {
      const [, mode, ...rest] = (req.url ?? '/').split('?')[0]!.split('/');
      const path = `/${rest.join('/') || 'index.html'}`;
      const body = page.files.get(path);
      if (!body || (mode !== 'isolated' && mode !== 'plain')) {
        res.writeHead(404).end();
        return;
      }
      const headers: Record<string, string> = { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' };
      if (mode === 'isolated') Object.assign(headers, { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' });
      res.writeHead(200, headers).end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const { chromium } = await import('playwright-core');
    userDataDir = mkdtempSync(join(tmpdir(), 'microscale-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    });
  }, 180_000);

  afterAll(async () => {
    await context?.close();
    await new Promise((r) => server?.close(r));
    for (const d of [dir, userDataDir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  async function open(mode: 'isolated' | 'plain') {
    const page = await context.newPage();
    page.on('pageerror', (e: Error) => errors.push(e.message));
    await page.goto(`${base}/${mode}/`);
    await page.waitForFunction(() => 'checkWasm' in globalThis);
    return page;
  }

  it('cross-origin isolated: two threads (Web Workers over shared memory), codes equal the reference', async () => {
    const page = await open('isolated');
    expect(await page.evaluate(() => (globalThis as never as { isolated: boolean }).isolated)).toBe(true);
    const r = await page.evaluate(() => (globalThis as never as { checkWasm: (t: number) => Promise<unknown> }).checkWasm(2));
    expect(r).toMatchObject({ threads: 2, same: true });
    await page.close();
    expect(errors).toEqual([]);
  });

  it('not isolated: threads: 2 falls back to one thread with a note, codes equal the reference', async () => {
    const page = await open('plain');
    expect(await page.evaluate(() => (globalThis as never as { isolated: boolean }).isolated)).toBe(false);
    const r = (await page.evaluate(() => (globalThis as never as { checkWasm: (t: number) => Promise<unknown> }).checkWasm(2))) as { threads: number; notes: string[]; same: boolean };
    expect(r.threads).toBe(1);
    expect(r.same).toBe(true);
    expect(r.notes.join('\n')).toMatch(/SharedArrayBuffer unavailable/);
    await page.close();
    expect(errors).toEqual([]);
  });
});
