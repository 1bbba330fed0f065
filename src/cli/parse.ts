// Option-value parsers for commander. Each throws InvalidArgumentError, which commander reports as
// "option '--x <v>' argument 'v' is invalid. <reason>" and which exits with the usage code.
import { InvalidArgumentError } from 'commander';

const INTEGER = /^[+-]?\d+$/;

/** A safe integer within [min, max]. */
export function integerIn(min: number, max: number): (value: string) => number {
  return (value) => {
    const v = value.trim();
    if (!INTEGER.test(v)) throw new InvalidArgumentError(`Expected an integer in ${min}…${max}.`);
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`Expected an integer in ${min}…${max}.`);
    return n;
  };
}

/** A positive finite number (decimal or exponent notation). */
export function positiveNumber(value: string): number {
  const v = value.trim();
  const n = v === '' ? NaN : Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('Expected a positive finite number such as 0.5 or 1e-3.');
  return n;
}

/** A tensor shape: non-negative integers separated by commas or `x` (`4,64`, `4x64`, `256`). */
export function shapeList(value: string): number[] {
  const v = value.trim();
  const parts = v === '' ? [] : v.split(/\s*[,x]\s*/i);
  if (parts.length === 0 || parts.some((p) => !/^\d+$/.test(p))) {
    throw new InvalidArgumentError('Expected dimensions separated by commas, such as 4,64.');
  }
  const dims = parts.map(Number);
  if (dims.some((d) => !Number.isSafeInteger(d))) throw new InvalidArgumentError('Dimensions must be safe integers.');
  return dims;
}
