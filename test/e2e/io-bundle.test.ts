// microscale/io is browser-safe: its built entry bundles without Node built-ins, and the bundle
// quantizes a model from a Blob into a Blob (and into a WritableStream), in Node and in Debian's
// headless Chromium, with the same bytes.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWhen } from '../helpers/needs.js';
import { quantizeModel } from '../../src/model-io/index.js';
import { tinyLlamaGguf } from '../helpers/tiny-llama.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'microscale-io-bundle-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));
const CHROMIUM = '/usr/bin/chromium';
let bundleFile = '';
const nodeImports: string[] = [];

describe('microscale/io in a browser bundle', () => {
  beforeAll(async () => {
    const { build } = await import('vite');
    await build({
      root,
      logLevel: 'error',
      configFile: false,
      plugins: [
        {
          name: 'forbid-node-builtins',
          enforce: 'pre',
          resolveId(id: string, importer?: string) {
            // protobufjs (the ONNX reader's decoder) probes for fs inside a try and runs without it
            if (id === 'fs' && importer?.endsWith('protobufjs/src/util/fs.js')) return null;
            if (id.startsWith('node:') || /^(fs|path|os|url|worker_threads|child_process|module)$/.test(id)) nodeImports.push(`${id} (from ${importer})`);
            return null;
          },
        },
      ],
      build: { lib: { entry: join(root, 'dist/model-io/index.js'), formats: ['es'], fileName: 'io' }, outDir: out, minify: false, emptyOutDir: true },
    });
    bundleFile = join(out, readdirSync(out).find((f) => f.endsWith('.js'))!);
  }, 120_000);

  it('bundles with no Node built-ins and turns a Blob into a GGUF Blob', async () => {
    expect(nodeImports).toEqual([]);
    const io = (await import(pathToFileURL(bundleFile).href)) as typeof import('../../src/model-io/index.js');
    const input = new Blob([tinyLlamaGguf()]);
    const { blob, summary } = await io.quantizeModel(input, { outputName: 'tiny-q4_0.gguf', format: 'q4_0' });
    expect(blob.size).toBe(summary.bytesWritten);
    const bytes = new Uint8Array(await blob.arrayBuffer());
    const header = await io.readGgufHeader(io.bytesSource(bytes));
    expect(header.tensors.filter((t) => t.typeId === 2)).toHaveLength(summary.quantized.length);

    const chunks: Uint8Array[] = [];
    const stream = new WritableStream<Uint8Array>({ write: (c) => void chunks.push(c) });
    const sink = io.writableStreamSink(stream);
    await io.quantizeModelTo(input, sink, { kind: 'gguf', format: 'q4_0' });
    await sink.close();
    expect(chunks.reduce((n, c) => n + c.length, 0)).toBe(bytes.length);
    expect(new Uint8Array(await new Blob(chunks).arrayBuffer())).toEqual(bytes);
  }, 120_000);

  describeWhen('the same bundle in headless Chromium', existsSync(CHROMIUM) ? null : { what: `Chromium (${CHROMIUM})`, install: 'apt-get install chromium' }, () => {
    it('writes the same bytes from a fetched Blob', async () => {
      const { blob } = await quantizeModel(new Blob([tinyLlamaGguf()]), { outputName: 'tiny-q4_0.gguf', format: 'q4_0' });
      const nodeDigest = createHash('sha256').update(new Uint8Array(await blob.arrayBuffer())).digest('hex');
      const { chromium } = await import('playwright-core');
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
      try {
        const page = await browser.newPage();
        // every request is answered here: nothing leaves the machine
        const files: Record<string, [string, Uint8Array | string]> = {
          '/index.html': ['text/html', '<!doctype html><title>io</title>'],
          '/io.js': ['text/javascript', readFileSync(bundleFile, 'utf8')],
          '/tiny.gguf': ['application/octet-stream', tinyLlamaGguf()],
        };
        await page.route('**/*', (route) => {
          const file = files[new URL(route.request().url()).pathname];
          return file ? route.fulfill({ status: 200, contentType: file[0], body: Buffer.from(file[1]) }) : route.fulfill({ status: 404 });
        });
        await page.goto('http://microscale.test/index.html');
        // a string, so that the test runner does not rewrite the page's dynamic import
        const result = (await page.evaluate(`(async () => {
          const io = await import('/io.js');
          const input = await (await fetch('/tiny.gguf')).blob();
          const { blob, summary } = await io.quantizeModel(input, { outputName: 'tiny-q4_0.gguf', format: 'q4_0' });
          return { bytes: Array.from(new Uint8Array(await blob.arrayBuffer())), quantized: summary.quantized.length };
        })()`)) as { bytes: number[]; quantized: number };
        expect(result.quantized).toBe(16);
        expect(createHash('sha256').update(Uint8Array.from(result.bytes)).digest('hex')).toBe(nodeDigest);
      } finally {
        await browser.close();
      }
    }, 120_000);
  });
});
