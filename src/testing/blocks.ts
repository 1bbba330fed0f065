// Which elements share a scale, derived from the core's layout rules (internal to microscale/testing).
import type { Format } from '../formats/format.js';
import { flatIndex, layoutOf, type Layout } from '../formats/layout.js';
import { resolveOptions, type QuantizeOptions, type ResolvedOptions } from '../formats/options.js';

/** Elements grouped by shared scale. Positions are indices into the blocked code stream. */
export interface BlockMap {
  readonly layout: Layout;
  readonly options: ResolvedOptions;
  /** Flat (row-major) input index of each code position. */
  readonly flat: Int32Array;
  /** Level-1 block (scale index for block/axis/tensor formats) of each position. */
  readonly block: Int32Array;
  /** Sub-block (microexponent index) of each position, −1 without sub-blocks. */
  readonly sub: Int32Array;
  /** First position and length of every level-1 block, in scale order. */
  readonly blockStart: Int32Array;
  readonly blockLength: Int32Array;
}

/** Resolve `options` for `format` and an input of `n` elements and list which elements share a scale. */
export function blockMap(format: Format, options: QuantizeOptions, n: number): BlockMap {
  const resolved = resolveOptions(format, n, options);
  const L = layoutOf(format, resolved);
  const flat = new Int32Array(L.n);
  const block = new Int32Array(L.n);
  const sub = new Int32Array(L.n).fill(-1);
  const count = L.rows * L.blocksPerRow;
  const blockStart = new Int32Array(count);
  const blockLength = new Int32Array(count);
  const subSize = format.subBlock?.size ?? 0;
  for (let row = 0; row < L.rows; row++) {
    for (let b = 0; b < L.blocksPerRow; b++) {
      const start = b * L.blockSize;
      const len = Math.min(L.blockSize, L.rowLength - start);
      const si = row * L.blocksPerRow + b;
      const pos = row * L.rowLength + start;
      blockStart[si] = pos;
      blockLength[si] = len;
      for (let j = 0; j < len; j++) {
        flat[pos + j] = flatIndex(L, row, start + j);
        block[pos + j] = si;
        if (subSize) sub[pos + j] = row * L.subBlocksPerRow + Math.floor((start + j) / subSize);
      }
    }
  }
  return { layout: L, options: resolved, flat, block, sub, blockStart, blockLength };
}
