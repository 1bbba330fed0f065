// Writes a synthetic safetensors model of transformer-shaped float32 weights (for explorer benchmarks).
// Usage: node bench/make-model.mjs OUT.safetensors [millions-of-parameters=100]
import { open } from 'node:fs/promises';
import { gaussian, laplace, studentT } from '../dist/bdr-explorer/synthetic.js';

const [out, millions = '100'] = process.argv.slice(2);
if (!out) throw new Error('usage: node bench/make-model.mjs OUT.safetensors [millions]');
const rows = 4096;
const cols = 1024;
const count = Math.max(1, Math.round((Number(millions) * 1e6) / (rows * cols)));
const header = {};
let offset = 0;
for (let i = 0; i < count; i++) {
  header[`layers.${i}.weight`] = { dtype: 'F32', shape: [rows, cols], data_offsets: [offset, offset + rows * cols * 4] };
  offset += rows * cols * 4;
}
let json = JSON.stringify(header);
json += ' '.repeat((8 - (json.length % 8)) % 8);
const fh = await open(out, 'w');
const len = Buffer.alloc(8);
len.writeBigUInt64LE(BigInt(json.length));
await fh.write(len);
await fh.write(json);
for (let i = 0; i < count; i++) {
  const gen = [gaussian, laplace, (n, s) => studentT(n, 3, s)][i % 3];
  const x = gen(rows * cols, 100 + i);
  for (let j = 0; j < x.length; j++) x[j] *= 0.02;
  await fh.write(new Uint8Array(x.buffer));
}
await fh.close();
console.log(`${out}: ${count} tensors of [${rows}, ${cols}], ${((count * rows * cols) / 1e6).toFixed(1)} M parameters`);
