// Builds the in-browser explorer into docs/explorer/ (static files, opens from any web server;
// `vite preview --config docs/app/vite.config.ts` serves it with the headers WASM threads need).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));
const dist = fileURLToPath(new URL('../../dist/', import.meta.url));

export default defineConfig({
  root: here,
  base: './',
  resolve: {
    alias: [
      { find: /^microscale\/explorer$/, replacement: `${dist}bdr-explorer/index.js` },
      { find: /^microscale\/wasm$/, replacement: `${dist}kernels/wasm/index.js` },
      { find: /^microscale\/webgpu$/, replacement: `${dist}kernels/webgpu/index.js` },
      { find: /^microscale$/, replacement: `${dist}index.js` },
    ],
  },
  build: { outDir: fileURLToPath(new URL('../explorer/', import.meta.url)), emptyOutDir: true, target: 'es2022' },
  worker: { format: 'es' },
  // cross-origin isolation, so the WASM backend may use SharedArrayBuffer threads
  preview: { headers: { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' } },
});
