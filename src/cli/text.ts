// Plain-text and JSON rendering shared by the subcommands. Output is stable: fixed column order,
// left-aligned cells separated by two spaces, no colours, no trailing spaces.

/** A number for a table cell: integers in full, other values with up to `digits` significant digits. */
export function formatNumber(x: number, digits = 6): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Inf';
  if (x === -Infinity) return '-Inf';
  if (Object.is(x, -0)) return '-0';
  if (Number.isInteger(x) && Math.abs(x) < 1e15) return String(x);
  const s = x.toPrecision(digits);
  const [mant, exp] = s.split('e') as [string, string | undefined];
  const trimmed = mant.includes('.') ? mant.replace(/0+$/, '').replace(/\.$/, '') : mant;
  return exp === undefined ? trimmed : `${trimmed}e${exp}`;
}

/** The shortest decimal that reads back as exactly `x` (JavaScript's own rule), with -0, NaN, Inf spelled out. */
export function exactDecimal(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Inf';
  if (x === -Infinity) return '-Inf';
  if (Object.is(x, -0)) return '-0';
  return String(x);
}

/** A finite dyadic number as `k*2^e` with k odd (`0`, `-0`, `3*2^-1`, `2^6`, `-7*2^6`); exact. */
export function dyadic(x: number): string {
  if (!Number.isFinite(x)) return exactDecimal(x);
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  let k = Math.abs(x);
  let e = 0;
  while (!Number.isInteger(k)) {
    k *= 2;
    e -= 1;
  }
  while (k % 2 === 0) {
    k /= 2;
    e += 1;
  }
  const sign = x < 0 ? '-' : '';
  if (e === 0) return `${sign}${k}`;
  return k === 1 ? `${sign}2^${e}` : `${sign}${k}*2^${e}`;
}

/** Render rows under a header with columns padded to their widest cell. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[], indent = ''): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    indent + cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** Render `key  value` lines with keys padded to the longest. */
export function renderFields(fields: readonly (readonly [string, string])[], indent = '  '): string {
  const width = Math.max(0, ...fields.map(([k]) => k.length));
  return fields.map(([k, v]) => `${indent}${k.padEnd(width)}  ${v}`.trimEnd()).join('\n') + '\n';
}

/** JSON with two-space indent; non-finite numbers and -0 become strings that Number() reads back. */
export function toJson(value: unknown): string {
  return (
    JSON.stringify(
      value,
      (_key, v: unknown) => {
        if (typeof v !== 'number') return v;
        if (Number.isNaN(v)) return 'NaN';
        if (v === Infinity) return 'Infinity';
        if (v === -Infinity) return '-Infinity';
        if (Object.is(v, -0)) return '-0';
        return v;
      },
      2,
    ) + '\n'
  );
}
