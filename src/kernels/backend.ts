import type { Format } from '../formats/format.js';
import type { QuantizeOptions } from '../formats/options.js';
import type { QuantizedTensor } from '../formats/quantized.js';
import type { MatmulOptions } from '../formats/reference/matmul.js';

/** A value a backend may return directly or through a promise (GPU and threaded backends). */
export type MaybePromise<T> = T | Promise<T>;

/** What a backend guarantees, probed once at creation and frozen. */
export interface BackendCapabilities {
  /** `reference`, `wasm`, `webgpu`, `webgl`. */
  readonly name: string;
  /** quantize/dequantize/fakeQuantize equal the reference bit for bit on every input. */
  readonly bitExact: boolean;
  /** Relative bound on matmul error against the float64 reference: |y − y64| ≤ bound · Σ|a·w| (per output). */
  readonly matmulRelativeBound: number;
  /** Worker threads in use (1 = the calling thread only). */
  readonly threads: number;
  /** Whether SIMD code paths are in use. */
  readonly simd: boolean;
  /** Free-form notes: device name, build, reasons for fallbacks. */
  readonly notes: readonly string[];
}

/** One interface for every implementation of the core operations; the conformance suite runs on each. */
export interface Backend {
  readonly capabilities: BackendCapabilities;
  quantize(x: Float32Array, format: string | Format, opts?: QuantizeOptions): MaybePromise<QuantizedTensor>;
  dequantize(q: QuantizedTensor): MaybePromise<Float32Array>;
  fakeQuantize(x: Float32Array, format: string | Format, opts?: QuantizeOptions): MaybePromise<Float32Array>;
  matmul(a: Float32Array | QuantizedTensor, w: QuantizedTensor, opts: MatmulOptions): MaybePromise<Float32Array>;
  /** Release workers, memory and devices. The backend must not be used afterwards. */
  dispose(): MaybePromise<void>;
}
