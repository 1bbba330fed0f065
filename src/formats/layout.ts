import type { Format } from './format.js';
import type { ResolvedOptions } from './options.js';

/**
 * How a tensor is cut into rows and blocks. Codes are stored in "blocked order": the tensor with
 * the block axis moved last, row after row (row-major over the other axes in their order), so each
 * block is a contiguous run of codes. For blocks along the last axis this is plain row-major order.
 * Scales are stored row after row, `blocksPerRow` per row.
 */
export interface Layout {
  readonly n: number;
  readonly rows: number;
  readonly rowLength: number;
  /** Product of the dimensions after the block axis (1 when blocks run along the last axis). */
  readonly inner: number;
  readonly blockSize: number;
  readonly blocksPerRow: number;
  /** Level-2 sub-blocks per row (BDR microexponents); 0 without them. */
  readonly subBlocksPerRow: number;
  readonly scaleCount: number;
  readonly subScaleCount: number;
}

export function layoutOf(format: Format, opts: ResolvedOptions): Layout {
  const { shape, axis } = opts;
  const n = shape.reduce((a, b) => a * b, 1);
  let rows: number;
  let rowLength: number;
  let inner: number;
  if (format.granularity === 'element' || format.granularity === 'tensor') {
    rows = n === 0 ? 0 : 1;
    rowLength = n;
    inner = 1;
  } else {
    rowLength = shape[axis]!;
    inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    rows = rowLength === 0 ? 0 : n / rowLength;
  }
  const blockSize = opts.blockSize;
  const blocksPerRow = rowLength === 0 || blockSize === 0 ? 0 : Math.ceil(rowLength / blockSize);
  const sub = format.subBlock;
  const subBlocksPerRow = sub && rowLength > 0 ? Math.ceil(rowLength / sub.size) : 0;
  return {
    n,
    rows,
    rowLength,
    inner,
    blockSize,
    blocksPerRow,
    subBlocksPerRow,
    scaleCount: format.granularity === 'element' ? 0 : rows * blocksPerRow,
    subScaleCount: rows * subBlocksPerRow,
  };
}

/** Flat (row-major) index in the original tensor of element `l` of blocked row `row`. */
export function flatIndex(layout: Layout, row: number, l: number): number {
  if (layout.inner === 1) return row * layout.rowLength + l;
  const o = Math.floor(row / layout.inner);
  const i = row - o * layout.inner;
  return (o * layout.rowLength + l) * layout.inner + i;
}
