/** A point on the accuracy/bandwidth plane. */
export interface TradeoffPoint {
  readonly bitsPerElement: number;
  readonly qsnrDb: number;
}

/**
 * Indices of the Pareto-optimal points: no other point has at most as many bits per element and at
 * least as much QSNR with one of the two strictly better. Returned in increasing bits per element.
 */
export function paretoFrontier(points: readonly TradeoffPoint[]): number[] {
  const order = points
    .map((p, i) => i)
    .filter((i) => Number.isFinite(points[i]!.bitsPerElement) && !Number.isNaN(points[i]!.qsnrDb))
    .sort((a, b) => points[a]!.bitsPerElement - points[b]!.bitsPerElement || points[b]!.qsnrDb - points[a]!.qsnrDb);
  const out: number[] = [];
  let best = -Infinity;
  for (const i of order) {
    if (points[i]!.qsnrDb > best) {
      out.push(i);
      best = points[i]!.qsnrDb;
    }
  }
  return out;
}

/** Parameter lists of a BDR design-space sweep (FORMATS.md §1.1). */
export interface BdrGrid {
  readonly m: readonly number[];
  readonly k1: readonly number[];
  readonly d1: readonly number[];
  readonly k2: readonly number[];
  readonly d2: readonly number[];
}

/** The paper-style default grid: 2…7 magnitude bits, blocks of 8…64, one- and two-level scaling. */
export const DEFAULT_BDR_GRID: BdrGrid = Object.freeze({
  m: [2, 3, 4, 5, 7],
  k1: [8, 16, 32, 64],
  d1: [8],
  k2: [1, 2, 4],
  d2: [0, 1, 2],
});

/** Every valid `bdr(...)` name in the grid (k2 divides k1; d2 = 0 takes k2 = 1), without duplicates. */
export function bdrGridFormats(grid: BdrGrid): string[] {
  const names = new Set<string>();
  for (const m of grid.m)
    for (const k1 of grid.k1)
      for (const d1 of grid.d1)
        for (const d2 of grid.d2)
          for (const k2 of d2 === 0 ? [1] : grid.k2) {
            if (k1 % k2 !== 0 || (d2 > 0 && k2 >= k1)) continue;
            names.add(`bdr(m=${m},k1=${k1},d1=${d1},k2=${k2},d2=${d2})`);
          }
  return [...names];
}

/**
 * Parse a BDR grid: `key=v1,v2,…` or `key=a..b`, keys (m, k1, d1, k2, d2) separated by `;`;
 * missing keys keep {@link DEFAULT_BDR_GRID}. Throws RangeError with the offending part.
 */
export function parseBdrGrid(text: string): BdrGrid {
  const grid: Record<keyof BdrGrid, readonly number[]> = { ...DEFAULT_BDR_GRID };
  for (const part of text.split(';').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(m|k1|d1|k2|d2)\s*=\s*(.+)$/.exec(part);
    if (!m) throw new RangeError(`bad --bdr-grid part "${part}": use key=v1,v2 or key=a..b with keys m, k1, d1, k2, d2`);
    const values: number[] = [];
    for (const item of m[2]!.split(',').map((s) => s.trim())) {
      const range = /^(\d+)\.\.(\d+)$/.exec(item);
      if (range) {
        const [a, b] = [Number(range[1]), Number(range[2])];
        if (b < a || b - a > 64) throw new RangeError(`bad --bdr-grid range "${item}": need a..b with a ≤ b and at most 64 values`);
        for (let v = a; v <= b; v++) values.push(v);
      } else if (/^\d+$/.test(item)) {
        values.push(Number(item));
      } else {
        throw new RangeError(`bad --bdr-grid value "${item}" for ${m[1]}: use integers or a..b`);
      }
    }
    grid[m[1] as keyof BdrGrid] = values;
  }
  return grid;
}
