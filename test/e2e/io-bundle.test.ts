// microscale/io is browser-safe: its built entry bundles without Node built-ins, and the bundle
// quantizes a model from a Blob into a Blob (and into a WritableStream).
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { tinyLlamaGguf } from '../helpers/tiny-llama.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'microscale-io-bundle-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('microscale/io in a browser bundle', () => {
  it('bundles with no Node built-ins and turns a Blob into a GGUF Blob', async () => {
    const { build } = await import('vite');
    const nodeImports: string[] = [];
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
    expect(nodeImports).toEqual([]);
    const io = (await import(pathToFileURL(join(out, readdirSync(out).find((f) => f.endsWith('.js'))!)).href)) as typeof import('../../src/model-io/index.js');
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
});
