// The README's formats table is generated from the catalog; this keeps them in sync.
// Regenerate after changing the catalog: UPDATE_README=1 npx vitest run test/unit/readme.test.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { listFormats, type Format } from '../../src/index.js';

const README = fileURLToPath(new URL('../../README.md', import.meta.url));
const BEGIN = '<!-- formats-table:begin (generated from the catalog by test/unit/readme.test.ts) -->';
const END = '<!-- formats-table:end -->';

function block(f: Format): string {
  if (f.granularity === 'element') return '—';
  if (f.granularity === 'tensor') return 'tensor';
  if (f.granularity === 'axis') return 'row';
  return f.subBlock ? `${f.blockSize} / ${f.subBlock.size}` : String(f.blockSize);
}

function scale(f: Format): string {
  if (!f.scaleElement) return '—';
  const base = f.scheme === 'pow2' ? `2^e (${f.scaleElement.bits}-bit)` : f.scaleElement.name.toUpperCase();
  const sub = f.subBlock ? ` + ${f.subBlock.bits}-bit shift` : '';
  const off = f.scaleRule === 'minMax' ? ' + min' : '';
  return base + sub + off + (f.tensorScale ? ' × FP32/tensor' : '');
}

function maxText(v: number): string {
  if (v >= 1e6 || v < 1e-3) return v.toExponential(3).replace('e+', 'e');
  return String(+v.toPrecision(6));
}

export function formatsTable(): string {
  const rows = listFormats().map((f) => `| \`${f.name}\` | ${f.family} | ${f.element.name} | ${block(f)} | ${scale(f)} | ${+f.bitsPerElement.toFixed(4)} | ${maxText(f.maxMagnitude)} |`);
  return ['| name | family | element | block | scale | bits/element | max magnitude |', '|---|---|---|---|---|---|---|', ...rows].join('\n');
}

it('README formats table matches the catalog', () => {
  const text = readFileSync(README, 'utf8');
  const start = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  expect(start, 'README lacks the formats-table markers').toBeGreaterThan(-1);
  const want = `${BEGIN}\n${formatsTable()}\n${END}`;
  if (process.env.UPDATE_README) writeFileSync(README, text.slice(0, start) + want + text.slice(end + END.length));
  expect(readFileSync(README, 'utf8').slice(start, start + want.length)).toBe(want);
});
