import { CATALOG } from './catalog.js';
import { OptionError } from './errors.js';
import type { Format } from './format.js';
import { parseFormat } from './names.js';
import { resolveOptions, type QuantizeOptions } from './options.js';
import { QuantizedTensor } from './quantized.js';
import { dequantizeReference } from './reference/dequantize.js';
import { matmulReference, type MatmulOptions } from './reference/matmul.js';
import { quantizeReference } from './reference/quantize.js';

/** Every named format's descriptor, in catalog order. */
export function listFormats(): Format[] {
  return [...CATALOG.values()];
}

/** The descriptor of a format name (see the grammar in docs/formats.md); throws FormatError listing known names. */
export function getFormat(name: string): Format {
  return parseFormat(name);
}

/** A descriptor from a format name or a descriptor; OptionError otherwise (shared by the backends). */
export function toFormat(format: string | Format): Format {
  if (typeof format === 'string') return parseFormat(format);
  if (format && typeof format === 'object' && typeof (format as Format).name === 'string' && (format as Format).element) {
    return format;
  }
  throw new OptionError(`format must be a format name or a descriptor from getFormat(); got ${String(format)}`);
}

/** The input as a Float32Array; OptionError naming what was passed otherwise (shared by the backends). */
export function checkInput(x: unknown): Float32Array {
  if (!(x instanceof Float32Array)) {
    throw new OptionError(`input must be a Float32Array; got ${x === null ? 'null' : typeof x === 'object' ? x.constructor?.name : typeof x} (wrap numbers with new Float32Array(...))`);
  }
  return x;
}

/** Quantize `x` into packed codes and scales of `format` (defaults: OCP v1.0 — floor scale, RNE, saturation). */
export function quantize(x: Float32Array, format: string | Format, opts?: QuantizeOptions): QuantizedTensor {
  const input = checkInput(x);
  const f = toFormat(format);
  const resolved = resolveOptions(f, input.length, opts);
  return quantizeReference(input, f, resolved, opts?.tensorScale);
}

/** Decode a quantized tensor to float32 (each value is the exact product rounded once). */
export function dequantize(q: QuantizedTensor): Float32Array {
  if (!(q instanceof QuantizedTensor)) throw new OptionError('dequantize expects a QuantizedTensor from quantize() or QuantizedTensor.fromBytes()');
  return dequantizeReference(q);
}

/** `dequantize(quantize(x, format, opts))`: the values `x` takes in `format`. */
export function fakeQuantize(x: Float32Array, format: string | Format, opts?: QuantizeOptions): Float32Array {
  return dequantizeReference(quantize(x, format, opts));
}

/** y[m, n] = Σ_k a[m, k]·w[n, k] with w of shape [N, K] quantized along K; f64 accumulation. */
export function matmul(a: Float32Array | QuantizedTensor, w: QuantizedTensor, opts: MatmulOptions): Float32Array {
  return matmulReference(a, w, opts);
}
