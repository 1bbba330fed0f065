import { describe, expect, it } from 'vitest';
import { bdrGridFormats, paretoFrontier } from '../../../src/bdr-explorer/frontier.js';
import { formatTable, toCsv, toHtml, toJson } from '../../../src/bdr-explorer/report.js';
import { DEFAULT_FORMATS, expandVariants, memoryTensors, sweep, SweepError } from '../../../src/bdr-explorer/sweep.js';
import { defaultTensors, gaussian, laplace, studentT } from '../../../src/bdr-explorer/synthetic.js';
import { describeWhen, missingNumpy } from '../../helpers/needs.js';
import { runOracle } from '../../oracle/run.js';

describe('Pareto frontier', () => {
  it('keeps points no other point beats on both axes', () => {
    const pts = [
      { bitsPerElement: 4, qsnrDb: 15 },
      { bitsPerElement: 4.25, qsnrDb: 18 },
      { bitsPerElement: 4.5, qsnrDb: 17 }, // dominated by 4.25
      { bitsPerElement: 6, qsnrDb: 28 },
      { bitsPerElement: 6, qsnrDb: 27 }, // dominated, same bits
      { bitsPerElement: 9, qsnrDb: 46 },
      { bitsPerElement: 8.25, qsnrDb: 30 },
    ];
    expect(paretoFrontier(pts)).toEqual([0, 1, 3, 6, 5]);
  });

  it('BDR grid: only valid combinations, no duplicates', () => {
    const names = bdrGridFormats({ m: [4], k1: [16], d1: [8], k2: [1, 2, 32], d2: [0, 1] });
    expect(names).toEqual(['bdr(m=4,k1=16,d1=8,k2=1,d2=0)', 'bdr(m=4,k1=16,d1=8,k2=1,d2=1)', 'bdr(m=4,k1=16,d1=8,k2=2,d2=1)']);
  });
});

describe('variants', () => {
  it('default grid is 14 formats', () => expect(expandVariants().map((v) => v.label)).toEqual([...DEFAULT_FORMATS]));
  it('block sizes, scale modes and roundings multiply where they apply', () => {
    const v = expandVariants({ formats: ['mxfp4', 'q4_0', 'nvfp4'], blockSizes: [16, 32], scaleModes: ['floor', 'rceil'], roundings: ['rne'] });
    expect(v.map((x) => x.label)).toEqual([
      'mxfp4 b16 floor rne',
      'mxfp4 b16 rceil rne',
      'mxfp4 b32 floor rne',
      'mxfp4 b32 rceil rne',
      'q4_0 rne',
      'nvfp4 b16 rne',
      'nvfp4 b32 rne',
    ]);
  });
});

describe('sweep on the built-in default model', async () => {
  const r = await sweep(memoryTensors(defaultTensors()));
  it('one row per tensor and format, element-weighted summary, Pareto flags', () => {
    expect(r.results.length).toBe(4 * 14);
    expect(r.summary.length).toBe(14);
    const by = Object.fromEntries(r.summary.map((s) => [s.format, s]));
    expect(by['mx9']!.bitsPerElement).toBe(9);
    expect(by['mxfp4']!.bitsPerElement).toBe(4.25);
    expect(by['mx9']!.meanQsnrDb).toBeGreaterThan(by['msfp16']!.meanQsnrDb);
    expect(by['mx9']!.pareto).toBe(true);
    expect(r.summary.map((s) => s.bitsPerElement)).toEqual([...r.summary.map((s) => s.bitsPerElement)].sort((a, b) => a - b));
    // the outlier-channel tensor clips with MXFP4 (floor rule) but never with RCEIL-free int8 per channel
    const outlier = r.results.filter((x) => x.tensor.includes('outlier'));
    expect(outlier.find((x) => x.format === 'int8_channel')!.clippedFraction).toBe(0);
    expect(outlier.find((x) => x.format === 'mxfp4')!.clippedFraction).toBeGreaterThan(0);
  });

  it('renders table, CSV, JSON and a self-contained HTML report', () => {
    const table = formatTable(r);
    expect(table.split('\n')[0]).toMatch(/^format\s+bits\/elem\s+mean QSNR dB\s+pooled QSNR dB/);
    expect(table).toMatch(/mx9\s+9\.000\s+\d+\.\d\d/);
    const json = JSON.parse(toJson(r));
    expect(Object.keys(json.results[0])).toEqual(
      expect.arrayContaining(['tensor', 'format', 'elements', 'bitsPerElement', 'qsnrDb', 'mse', 'maxAbsError', 'clippedFraction', 'flushedFraction']),
    );
    expect(json.summary.length).toBe(14);
    const csv = toCsv(r).trim().split('\n');
    expect(csv.length).toBe(1 + 56);
    expect(csv[0]).toBe('tensor,format,formatName,shape,elements,bitsPerElement,qsnrDb,mse,maxAbsError,clippedFraction,flushedFraction,storedBytes,skipped');
    const html = toHtml(r);
    expect(html.match(/<svg/g)!.length).toBe(3);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    expect(html).toContain('class="frontier"');
  });
});

describe('sweep errors and skips', () => {
  it('a NaN tensor is a clear error naming the tensor', async () => {
    const bad = memoryTensors([{ name: 'w.bad', shape: [2], data: Float32Array.from([1, NaN]) }]);
    await expect(sweep(bad)).rejects.toThrow(SweepError);
    await expect(sweep(bad)).rejects.toThrow(/tensor "w.bad" holds NaN at element 1/);
  });
  it('formats that cannot take a tensor are skipped with the reason', async () => {
    const r = await sweep(memoryTensors([{ name: 'bias', shape: [100], data: new Float32Array(100).fill(0.5) }]), { formats: ['q4_0', 'mxfp4'] });
    expect(r.results.map((x) => x.format)).toEqual(['mxfp4']);
    expect(r.skipped[0]!.reason).toMatch(/multiple of 32/);
  });
});

describeWhen('sweep agrees with the numpy oracle test/oracle/qsnr_oracle.py on the same data (within 0.01 dB)', missingNumpy(), async () => {
  const N = 1 << 16;
  const dists = { gaussian: gaussian(N, 21), laplace: laplace(N, 22), studentT3: studentT(N, 3, 23) };
  const oracle = runOracle(dists);
  const formats = ['msfp16', 'msfp12', 'mx9', 'mx6', 'mx4', 'mxfp8_e4m3', 'mxfp8_e5m2', 'mxfp6_e3m2', 'mxfp6_e2m3', 'mxfp4', 'mxint8', 'nvfp4', 'fp8_e4m3_tensor', 'fp8_e5m2_tensor', 'int8_tensor'];
  const names = Object.keys(dists);
  const r = await sweep(
    memoryTensors(names.map((k) => ({ name: k, shape: [N], data: dists[k as keyof typeof dists] }))),
    { formats },
  );
  it.each(formats)('%s', (f) => {
    for (const k of names) {
      const row = r.results.find((x) => x.tensor === k && x.format === f)!;
      const want = oracle[k]![f]!;
      expect(Math.abs(row.qsnrDb - want), `${f} ${k}: ${row.qsnrDb} vs ${want}`).toBeLessThan(0.01);
    }
  });
});
