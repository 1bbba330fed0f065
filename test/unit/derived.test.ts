// kernelConstants for every catalog format under every preset it accepts: the values are pinned by
// a snapshot (any change in what a kernel is handed shows up here), and checked against facts that
// do not go through derived.ts.
import { describe, expect, it } from 'vitest';
import { floorLog2F32, pow2 } from '../../src/formats/bits.js';
import { binadeStart, defaultTensorScale, float32Log2Thresholds, kernelConstants } from '../../src/formats/derived.js';
import type { Format } from '../../src/formats/format.js';
import { resolveOptions, type Preset, type ResolvedOptions } from '../../src/formats/options.js';
import { decodeElement, encodeElement } from '../../src/formats/reference/element-codec.js';
import { listFormats } from '../../src/index.js';

const PRESETS: readonly Preset[] = ['ocp', 'microxcaling', 'torchao', 'ggml'];

function cases(): { format: Format; preset: Preset; options: ResolvedOptions }[] {
  const out: { format: Format; preset: Preset; options: ResolvedOptions }[] = [];
  for (const format of listFormats()) {
    const length = format.ggml ? format.ggml.blockElements : 64;
    for (const preset of PRESETS) {
      let options: ResolvedOptions;
      try {
        options = resolveOptions(format, length, { preset });
      } catch {
        continue; // the preset does not apply to this format
      }
      out.push({ format, preset, options });
    }
  }
  return out;
}

describe('kernelConstants', () => {
  const all = cases();

  it('covers every catalog format under the default preset', () => {
    expect(new Set(all.filter((c) => c.preset === 'ocp').map((c) => c.format.name))).toEqual(new Set(listFormats().map((f) => f.name)));
  });

  it('pins every value for every format × preset', () => {
    const table: Record<string, unknown> = {};
    for (const { format, preset, options } of all) {
      const k = kernelConstants(format, options);
      table[`${format.name} | ${preset}`] = { ...k, element: { ...k.element, element: k.element.element.name }, scaleElement: k.scaleElement?.name ?? null };
    }
    expect(table).toMatchSnapshot();
  });

  it('matches the element codec', () => {
    for (const { format, options } of all) {
      const { element: e } = kernelConstants(format, options);
      const el = e.element;
      if (el.kind === 'int' || el.zero) expect(decodeElement(el, e.zeroCode)).toBe(0);
      if (e.nanCode !== null) expect(decodeElement(el, e.nanCode)).toBeNaN();
      if (el.kind === 'float') {
        expect(e.largest).toBe(el.maxFinite);
        expect(e.maxFiniteSignificand * pow2(el.emax - 23)).toBe(el.maxFinite);
      }
      expect(encodeElement(el, e.largest, 'rne')).toBeGreaterThanOrEqual(0);
    }
  });

  it('expands the presets into rule fields', () => {
    for (const { format, preset, options } of all) {
      const r = kernelConstants(format, options).rules;
      expect(r.ggmlQuantizers).toBe(preset === 'ggml');
      expect(r.emulatorElementStep).toBe(preset === 'microxcaling');
      expect(r.zeroBlockKeepsSign).toBe(preset !== 'microxcaling');
      expect(r.float32Log2).toBe(format.scheme === 'pow2' && (preset === 'ggml' || preset === 'microxcaling'));
      expect(r.scaleFloor).toBe(preset === 'torchao' && format.tensorScale ? 2 ** -6 : null);
    }
  });

  it('reads ggml power-of-two scales without NaN, others with the all-ones NaN', () => {
    for (const { format, preset, options } of all) {
      const p = kernelConstants(format, options).pow2;
      if (format.scheme !== 'pow2') expect(p).toBeNull();
      else expect(p!.nanScaleCode).toBe(preset === 'ggml' ? null : 2 ** options.scaleBits - 1);
    }
  });

  it("gives ggml's kvalues_mxfp4 for ggml's FP4 quantizers", () => {
    for (const { format, options } of all) {
      const k = kernelConstants(format, options);
      if (k.rules.ggmlQuantizers && format.element.kind === 'float') expect(k.ggmlValues).toEqual([0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12]);
      else expect(k.ggmlValues).toBeNull();
    }
  });

  it('takes the per-tensor scale of NVFP4 as amax / (6 · 448)', () => {
    for (const format of listFormats().filter((f) => f.tensorScale)) {
      expect(kernelConstants(format, resolveOptions(format, 16)).scaled!.scaleMax).toBe(448);
      expect(defaultTensorScale(format, 2688)).toBe(1);
      expect(defaultTensorScale(format, 0)).toBe(1);
      expect(defaultTensorScale(format, 2 ** -149)).toBe(2 ** -149);
    }
  });
});

describe('float32Log2Thresholds', () => {
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  const log2At = (bits: number) => {
    u[0] = bits;
    return floorLog2F32(f[0]!);
  };

  it('marks, per binade, the first pattern whose float32 log2 reaches the next integer', () => {
    const t = float32Log2Thresholds();
    expect(t).toHaveLength(277);
    for (let k = -149; k <= 127; k++) {
      const first = binadeStart(k);
      const last = binadeStart(k + 1) - 1;
      const at = t[k + 149]!;
      if (at === null) expect(log2At(last)).toBe(k);
      else {
        expect(at).toBeGreaterThanOrEqual(first);
        expect(at).toBeLessThanOrEqual(last);
        expect(log2At(at)).toBe(k + 1);
        if (at > first) expect(log2At(at - 1)).toBe(k);
      }
    }
  });
});
