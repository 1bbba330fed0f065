// The WebGL backend in Debian's headless Chromium (playwright-core, WebGL2 through SwiftShader):
// the backend and the shared checks (test/unit/webgl/compare.ts) are bundled with vite, served with
// gpu.js's browser build from 127.0.0.1, and compared in the page with the reference codec, bit for
// bit on WebGL2 and against the declared bound on WebGL1.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { QuantizeOptions } from '../../src/index.js';
import { describeWhen, type Missing } from '../helpers/needs.js';
import { BLOCK_FORMATS, BLOCK_OPTION_SETS, CAST_FORMATS, DELEGATED_FORMATS, type CaseSpec, type Report } from '../unit/webgl/compare.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const GPUJS = `${root}node_modules/gpu.js/dist/gpu-browser.min.js`;
const PLAYWRIGHT = `${root}node_modules/playwright-core/package.json`;
const NEEDED: [string, Missing][] = [
  [CHROMIUM, { what: `Chromium (${CHROMIUM})`, install: 'apt-get install chromium' }],
  [GPUJS, { what: 'gpu.js', install: 'npm install gpu.js' }],
  [PLAYWRIGHT, { what: 'playwright-core', install: 'npm install playwright-core' }],
];
const missing = NEEDED.find(([path]) => !existsSync(path))?.[1] ?? null;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Page = any;

/** Bundle the backend, the core and the shared checks into one script exposing `Microscale`. */
async function bundle(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'microscale-webgl-'));
  const entry = join(dir, 'entry.ts');
  writeFileSync(
    entry,
    [
      `export { createWebGLBackend } from '${root}src/kernels/webgl/index.ts';`,
      `export * as core from '${root}src/index.ts';`,
      `export * as cmp from '${root}test/unit/webgl/compare.ts';`,
    ].join('\n'),
  );
  const { build } = await import('vite');
  const out = await build({
    configFile: false,
    logLevel: 'error',
    root,
    build: { write: false, minify: false, lib: { entry, formats: ['iife'], name: 'Microscale', fileName: 'microscale-webgl' } },
  });
  rmSync(dir, { recursive: true, force: true });
  const outputs = (Array.isArray(out) ? out : [out]) as { output: { type: string; code?: string }[] }[];
  const chunk = outputs[0]!.output.find((o) => o.type === 'chunk');
  if (!chunk?.code) throw new Error('vite produced no bundle');
  return chunk.code;
}

/** Run the shared case checks in the page on the backend stored as globalThis[name]. */
function runCases(page: Page, name: string, specs: CaseSpec[], bound: number | null): Promise<Report> {
  return page.evaluate(
    ([n, s, b]: [string, CaseSpec[], number | null]) =>
      (globalThis as never as { Microscale: { cmp: { checkCases: (...a: unknown[]) => Promise<Report> } } }).Microscale.cmp.checkCases((globalThis as Record<string, unknown>)[n], s, b),
    [name, specs, bound],
  );
}

function createIn(page: Page, name: string, opts: Record<string, unknown>): Promise<Record<string, unknown>> {
  return page.evaluate(
    async ([n, o]: [string, Record<string, unknown>]) => {
      const g = globalThis as never as Record<string, unknown> & { Microscale: { createWebGLBackend: (o: unknown) => Promise<{ capabilities: Record<string, unknown> }> } };
      const b = await g.Microscale.createWebGLBackend(o);
      g[n] = b;
      return { ...b.capabilities };
    },
    [name, opts],
  );
}

const ROUNDED_CASTS = ['fp16', 'fp8_e4m3', 'int4', 'e8m0'];
/** Option sets per format: every one on a float element, the element-side ones on an integer and a BDR format. */
const OPTION_SETS: readonly [string, QuantizeOptions][] = [
  ...BLOCK_OPTION_SETS.filter((o) => Object.keys(o).length > 0).map((o): [string, QuantizeOptions] => ['mxfp8_e4m3', o]),
  ['mxint8', { rounding: 'rtz' }],
  ['mxint8', { rounding: 'stochastic', seed: 2 }],
  ['mxint8', { preset: 'microxcaling' }],
  ['mxint8', { scaleMode: 'even' }],
  ['mx6', { rounding: 'rna' }],
  ['mx6', { preset: 'microxcaling' }],
  ['mx6', { scaleMode: 'rceil' }],
  ['mxfp4', { preset: 'microxcaling', flushSubnormalBlocks: true }],
];

describeWhen('WebGL backend in headless Chromium (gpu.js on WebGL2 via SwiftShader)', missing, () => {
  let server: Server;
  let url = '';
  let userDataDir = '';
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let context: any;
  let page: Page;
  const requests: string[] = [];
  const errors: string[] = [];

  beforeAll(async () => {
    const files: Record<string, [string, string]> = {
      '/': ['text/html', '<!doctype html><html><head><script src="/gpu-browser.min.js"></script><script src="/microscale-webgl.js"></script></head><body></body></html>'],
      '/gpu-browser.min.js': ['text/javascript', readFileSync(GPUJS, 'utf8')],
      '/microscale-webgl.js': ['text/javascript', await bundle()],
    };
    server = createServer((req, res) => {
      const file = files[(req.url ?? '/').split('?')[0]!];
      if (!file) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': file[0] }).end(file[1]);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
    const { chromium } = await import('playwright-core');
    userDataDir = mkdtempSync(join(tmpdir(), 'microscale-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
        '--use-angle=swiftshader',
        '--enable-unsafe-swiftshader',
      ],
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('request', (r: { url(): string }) => requests.push(r.url()));
    page.on('pageerror', (e: Error) => errors.push(e.message));
    await page.goto(url);
    await page.waitForFunction(() => 'Microscale' in globalThis && 'GPU' in globalThis);
  }, 180_000);

  afterAll(async () => {
    await context?.close();
    await new Promise((r) => server?.close(r));
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  it('creates the backend on WebGL2: exact kernels, declared bit-exact, self-test passed', async () => {
    const caps = await createIn(page, 'webgl2', { context: 'webgl2' });
    expect(caps).toMatchObject({ name: 'webgl', context: 'webgl2', gpu: true, bitExact: true, codeStepBound: 0 });
    const notes = (caps.notes as string[]).join('\n');
    expect(notes).toMatch(/self-test: adversarial vectors equal the reference bit for bit/);
    expect(notes).toMatch(/renderer: .*SwiftShader/i);
    // auto picks WebGL2 too
    const auto = await createIn(page, 'auto', { selfTest: false });
    expect(auto.context).toBe('webgl2');
    await page.evaluate(() => (globalThis as never as { auto: { dispose(): Promise<void> } }).auto.dispose());
  }, 120_000);

  it('every OCP MX, MX-extension and BDR format: quantize, fakeQuantize, dequantize equal the reference bit for bit (random + adversarial data, partial blocks, axis 0)', async () => {
    const specs: CaseSpec[] = [];
    let seed = 1;
    for (const [format, n] of [['mxfp4', 1], ['mx9', 2], ['mxint8', 31], ['mxfp6_e2m3', 33], ['mx6', 17]] as const) specs.push({ format, shape: [n], seed: seed++ });
    for (const format of BLOCK_FORMATS) {
      const whole = format === 'ggml_mxfp4';
      specs.push({ format, shape: whole ? [3, 64] : [5, 77], seed: seed++ });
      if (!whole) specs.push({ format, shape: [45, 3], opts: { axis: 0 }, seed: seed++ });
    }
    const r = await runCases(page, 'webgl2', specs, null);
    expect(r.problems).toEqual([]);
    expect(r.identical).toBe(r.compared);
    expect(r.compared).toBeGreaterThan(20_000);
  }, 240_000);

  it('every rounding, scale rule, scale width, flush, the microxcaling preset and whole-axis blocks, bit for bit', async () => {
    let seed = 100;
    const specs: CaseSpec[] = OPTION_SETS.map(([format, opts]) => ({ format, shape: [3, 45], opts, seed: seed++ }));
    specs.push({ format: 'mx9', shape: [2, 3, 40], opts: { axis: 1, rounding: 'stochastic', seed: 3 }, seed: seed++ });
    specs.push({ format: 'mxfp4', shape: [2, 3, 40], opts: { axis: 1, rounding: 'rna' }, seed: seed++ });
    const r = await runCases(page, 'webgl2', specs, null);
    expect(r.problems).toEqual([]);
    expect(r.identical).toBe(r.compared);
  }, 240_000);

  it('scalar formats (FP16, BF16, FP8/6/4, E8M0, UE4M3, integers, generic fp/int) with every rounding, bit for bit', async () => {
    const specs: CaseSpec[] = [];
    let seed = 200;
    specs.push({ format: 'fp16', shape: [1], seed: seed++ }, { format: 'bf16', shape: [2, 1], seed: seed++ });
    for (const format of CAST_FORMATS) {
      specs.push({ format, shape: [3, 50], seed: seed++ });
      if (ROUNDED_CASTS.includes(format)) {
        for (const opts of [{ rounding: 'rna' }, { rounding: 'rtz' }, { rounding: 'stochastic', seed: 5 }] as const) specs.push({ format, shape: [150], opts, seed: seed++ });
      }
    }
    const r = await runCases(page, 'webgl2', specs, null);
    expect(r.problems).toEqual([]);
    expect(r.identical).toBe(r.compared);
  }, 240_000);

  it('all 65,536 bf16 patterns (NaN payloads, ±Inf, ±0, every subnormal) through FP16, BF16, FP8 E4M3, MXFP4, MXFP8 E5M2, MXINT8 and MX9, bit for bit', async () => {
    const specs: CaseSpec[] = ['fp16', 'bf16', 'fp8_e4m3', 'mxfp4', 'mxfp8_e5m2', 'mxint8', 'mx9'].map((format) => ({ format, shape: [65536], data: 'bf16' }));
    const r = await runCases(page, 'webgl2', specs, null);
    expect(r.problems).toEqual([]);
    expect(r.compared).toBeGreaterThan(7 * 3 * 65536);
    expect(r.identical).toBe(r.compared);
  }, 240_000);

  it('dequantize of arbitrary codes, scale codes (NaN included) and microexponents: overflow to ±Inf, float32 subnormals, underflow, bit for bit', async () => {
    const r: Report = await page.evaluate(
      (formats: string[]) => {
        const g = globalThis as never as { Microscale: { cmp: { checkArbitraryTensors(b: unknown, f: string[], bound: null): Promise<Report> } }; webgl2: unknown };
        return g.Microscale.cmp.checkArbitraryTensors(g.webgl2, formats, null);
      },
      [...BLOCK_FORMATS, ...CAST_FORMATS],
    );
    expect(r.problems).toEqual([]);
    expect(r.identical).toBe(r.compared);
  }, 120_000);

  it('formats left to the reference (multiplicative scales, fp32) still equal it', async () => {
    const specs: CaseSpec[] = DELEGATED_FORMATS.map((format, j) => ({ format, shape: [4, 64], seed: 300 + j }));
    const r = await runCases(page, 'webgl2', specs, null);
    expect(r.problems).toEqual([]);
  }, 120_000);

  it('inputs cut into many dispatches (row groups, row segments, blocked axis 0, stochastic counters) give the same bits', async () => {
    await createIn(page, 'chunked', { context: 'webgl2', maxElementsPerDispatch: 64, selfTest: false });
    const specs: CaseSpec[] = [
      { format: 'mxfp4', shape: [9, 40], seed: 1 },
      { format: 'mx9', shape: [3, 200], seed: 2 },
      { format: 'mxint8', shape: [2, 300], opts: { blockSize: 0 }, seed: 3 },
      { format: 'mx6', shape: [70, 3], opts: { axis: 0, rounding: 'stochastic', seed: 4 }, seed: 4 },
      { format: 'mxfp8_e4m3', shape: [3, 150], opts: { rounding: 'stochastic', seed: 8 }, seed: 5 },
      { format: 'fp16', shape: [500], opts: { rounding: 'stochastic', seed: 6 }, seed: 6 },
    ];
    const r = await runCases(page, 'chunked', specs, null);
    expect(r.problems).toEqual([]);
    expect(r.identical).toBe(r.compared);
  }, 240_000);

  it('rejects what the reference rejects with the same error classes', async () => {
    const bad = await page.evaluate(() => {
      const g = globalThis as never as { Microscale: { cmp: { checkErrors(b: unknown): Promise<string[]> } }; webgl2: unknown };
      return g.Microscale.cmp.checkErrors(g.webgl2);
    });
    expect(bad).toEqual([]);
  }, 60_000);

  it('matmul stays within the declared bound of a float64 reference (chunked K, quantized activations, many dispatches)', async () => {
    const cases = [
      { w: 'mxfp4', m: 1, n: 1, k: 1 },
      { w: 'mxfp8_e4m3', m: 3, n: 5, k: 17 },
      { w: 'mx9', m: 4, n: 7, k: 33 },
      { w: 'mx6', a: 'mx9', m: 2, n: 3, k: 200 },
      { w: 'mxfp4', a: 'mxfp8_e4m3', m: 5, n: 9, k: 100 },
      { w: 'nvfp4', m: 2, n: 16, k: 257 },
      { w: 'fp8_e4m3', m: 0, n: 3, k: 5 },
    ];
    const bad = await page.evaluate(
      async (c: unknown) => {
        const g = globalThis as never as { Microscale: { cmp: { checkMatmul(b: unknown, c: unknown): Promise<string[]> } }; webgl2: unknown; chunked: unknown };
        return [...(await g.Microscale.cmp.checkMatmul(g.webgl2, c)), ...(await g.Microscale.cmp.checkMatmul(g.chunked, [{ w: 'mxint8', m: 3, n: 4, k: 150 }]))];
      },
      cases,
    );
    expect(bad).toEqual([]);
  }, 120_000);

  it('WebGL1 (portable kernels): declared inexact, within its stated bound', async () => {
    const caps = await createIn(page, 'webgl1', { context: 'webgl' });
    expect(caps).toMatchObject({ context: 'webgl', gpu: true, bitExact: false, codeStepBound: 1 });
    const specs: CaseSpec[] = [
      { format: 'mxfp4', shape: [5, 77], seed: 1 },
      { format: 'mx9', shape: [45, 3], opts: { axis: 0 }, seed: 2 },
      { format: 'mxint8', shape: [3, 45], opts: { preset: 'microxcaling' }, seed: 3 },
      { format: 'mxfp8_e5m2', shape: [3, 45], opts: { scaleMode: 'even', rounding: 'rtz' }, seed: 4 },
      { format: 'fp16', shape: [65536], data: 'bf16' },
      { format: 'e8m0', shape: [200], seed: 5 },
    ];
    const r = await runCases(page, 'webgl1', specs, 1);
    expect(r.problems).toEqual([]);
    console.log(`WebGL1: ${r.identical} of ${r.compared} results identical to the reference`);
  }, 240_000);

  it('disposes and recreates; nothing left the page', async () => {
    const res = await page.evaluate(async () => {
      const g = globalThis as never as { Microscale: { createWebGLBackend(o: unknown): Promise<{ dispose(): Promise<void>; fakeQuantize(x: Float32Array, f: string): Promise<Float32Array> }> }; webgl2: { dispose(): Promise<void> } };
      await g.webgl2.dispose();
      let refused = '';
      try {
        await (g.webgl2 as never as { fakeQuantize(x: Float32Array, f: string): Promise<Float32Array> }).fakeQuantize(new Float32Array(4), 'mxfp4');
      } catch (e) {
        refused = (e as Error).constructor.name;
      }
      const again = await g.Microscale.createWebGLBackend({ context: 'webgl2', selfTest: false });
      const y = Array.from(await again.fakeQuantize(new Float32Array([1, -2, 3, 0.25]), 'mxfp4'));
      await again.dispose();
      return { refused, y };
    });
    expect(res).toEqual({ refused: 'OptionError', y: [1, -2, 3, 0.25] });
    expect(requests.filter((u) => !u.startsWith(url))).toEqual([]);
    expect(errors).toEqual([]);
  }, 120_000);
});
