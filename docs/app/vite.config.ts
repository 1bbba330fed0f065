// Builds the in-browser explorer into docs/explorer/ (static files, opens from any web server).
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
});
