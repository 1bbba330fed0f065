// docs/specification.md states literal values; they must agree with the descriptors the catalog
// derives (element limits, BDR parameters, bits per element, largest magnitudes), and its test
// vectors must be the ones test/golden/spec-vectors.test.ts checks.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ELEMENTS, getFormat, listFormats } from '../../src/index.js';

const SPEC = readFileSync(fileURLToPath(new URL('../../docs/specification.md', import.meta.url)), 'utf8');
const VECTORS_TEST = readFileSync(fileURLToPath(new URL('../golden/spec-vectors.test.ts', import.meta.url)), 'utf8');

/** The text of the section whose heading starts with `## n.`. */
function section(n: number): string {
  const start = SPEC.indexOf(`\n## ${n}. `);
  expect(start, `section ${n}`).toBeGreaterThan(-1);
  const end = SPEC.indexOf('\n## ', start + 1);
  return SPEC.slice(start, end < 0 ? undefined : end);
}

/** Rows of the markdown table whose first cell is a `code` name. */
function rows(text: string): string[][] {
  return text
    .split('\n')
    .filter((l) => /^\| `[^`]+` \|/.test(l))
    .map((l) => l.split('|').slice(1, -1).map((c) => c.trim().replace(/^`|`$/g, '')));
}

/** "448", "2^-6", "3.390e38", "2^127" as a number. */
function num(s: string): number {
  const p = /^2\^(-?\d+)$/.exec(s);
  return p ? 2 ** Number(p[1]) : Number(s);
}

/** Equal to the written precision: e-notation values to their digits, others exactly. */
function agrees(written: string, actual: number): boolean {
  if (/e/.test(written)) {
    const digits = written.split('e')[0]!.replace(/[-.]/g, '').length;
    return Number(actual.toPrecision(digits)) === num(written);
  }
  return num(written) === actual;
}

describe('docs/specification.md', () => {
  it('§1.1: every float element row matches its descriptor', () => {
    const table = rows(section(1)).filter((r) => r.length === 10);
    expect(table.map((r) => r[0])).toEqual(['fp8_e4m3', 'fp8_e5m2', 'fp6_e3m2', 'fp6_e2m3', 'fp4_e2m1', 'fp16', 'bf16', 'fp32', 'ue4m3', 'e8m0']);
    for (const [name, e, m, bias, , , max, minNormal, minSub, emax] of table) {
      const el = ELEMENTS[name as keyof typeof ELEMENTS];
      if (el.kind !== 'float') throw new Error(`${name} is not a float element`);
      expect([el.expBits, el.manBits, el.bias, el.emax], name).toEqual([Number(e), Number(m), Number(bias), Number(emax)]);
      expect(agrees(max!, el.maxFinite), `${name} max ${max} vs ${el.maxFinite}`).toBe(true);
      expect(el.minNormal, `${name} min normal`).toBe(num(minNormal!));
      expect(el.minPositive, `${name} min subnormal`).toBe(minSub === '—' ? el.minNormal : num(minSub!));
    }
  });

  it('§4: the BDR parameter table matches the catalog', () => {
    const table = rows(section(4)).filter((r) => r.length === 7);
    expect(table.map((r) => r[0]).sort()).toEqual(listFormats().filter((f) => f.family === 'bdr').map((f) => f.name).sort());
    for (const [name, m, k1, d1, k2, d2, bits] of table) {
      const f = getFormat(name!);
      expect(f.element.bits, name).toBe(Number(m) + 1);
      expect(f.blockSize, name).toBe(Number(k1));
      expect(f.scaleElement!.bits, name).toBe(Number(d1));
      expect(f.subBlock ? [f.subBlock.size, f.subBlock.bits] : ['–', 0], name).toEqual(k2 === '–' ? ['–', 0] : [Number(k2), Number(d2)]);
      expect(f.bitsPerElement, name).toBe(Number(bits));
    }
  });

  it('§9: one row per catalog format, bits per element and largest magnitude as derived', () => {
    const table = rows(section(9));
    expect(table.map((r) => r[0])).toEqual(listFormats().map((f) => f.name));
    for (const [name, bits, max] of table) {
      const f = getFormat(name!);
      expect(f.bitsPerElement, name).toBe(Number(bits));
      expect(agrees(max!, f.maxMagnitude), `${name}: spec ${max}, catalog ${f.maxMagnitude}`).toBe(true);
    }
  });

  it('§10: every byte string is one the golden vector test checks', () => {
    const strings = [...section(10).matchAll(/`([0-9a-f]{2}(?: [0-9a-f]{2})*)`/g)].map((m) => m[1]!);
    expect(strings.length).toBeGreaterThanOrEqual(8);
    const missing = strings.filter((s) => s.length > 2 && !VECTORS_TEST.includes(`'${s}'`) && !VECTORS_TEST.includes(s));
    expect(missing).toEqual([]);
  });
});
