// Reference codec throughput (pure TypeScript), as a ratio of a Float32Array.set copy of the same input.
import Benchmark from 'benchmark';
import { quantize, dequantize, fakeQuantize } from '../dist/index.js';

const N = 1 << 16;
const x = Float32Array.from({ length: N }, (_, i) => Math.sin(i * 0.37) * (1 + (i % 13)));
const dst = new Float32Array(N);

export async function run() {
  const suite = new Benchmark.Suite();
  suite.add('memcpy (Float32Array.set)', () => dst.set(x));
  const formats = ['mxfp8_e4m3', 'mxfp4', 'mxint8', 'mx9', 'nvfp4', 'q4_0', 'bf16'];
  for (const f of formats) {
    const q = quantize(x, f);
    suite.add(`quantize ${f}`, () => quantize(x, f));
    suite.add(`dequantize ${f}`, () => dequantize(q));
  }
  suite.add('fakeQuantize mxfp4', () => fakeQuantize(x, 'mxfp4'));
  await new Promise((resolve) => suite.on('complete', resolve).run({ async: false }));
  const rows = suite.map((b) => ({ name: b.name, hz: b.hz, rme: b.stats.rme }));
  const base = rows[0].hz;
  console.log('| op | input MB/s | × memcpy | ±% |');
  console.log('|---|---|---|---|');
  for (const r of rows) {
    const mbs = (r.hz * N * 4) / 1e6;
    console.log(`| ${r.name} | ${mbs.toFixed(1)} | ${(r.hz / base).toFixed(4)} | ${r.rme.toFixed(1)} |`);
  }
}
