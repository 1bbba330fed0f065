import { ShapeError } from '../errors.js';
import { QuantizedTensor } from '../quantized.js';
import { dequantizeReference } from './dequantize.js';

/** Options of {@link matmul}. */
export interface MatmulOptions {
  /** Rows of the activation `a` (`a` holds m·K values, row-major). */
  m: number;
}

/**
 * y[m, n] = Σ_k a[m, k] · w[n, k] for weights w of shape [N, K] quantized along K (the layout of a
 * linear layer). The reference dequantizes both operands exactly, accumulates every product in
 * float64 and rounds each output once to float32, so |y − y_exact| ≤ 2^−24·|y_exact| + K·2^−53·Σ|a·w|.
 */
export function matmulReference(a: Float32Array | QuantizedTensor, w: QuantizedTensor, opts: MatmulOptions): Float32Array {
  const { N, K, m } = matmulShape(w, opts);
  const av = checkActivations(a instanceof QuantizedTensor ? dequantizeReference(a) : a, m, K);
  const wv = dequantizeReference(w);
  const y = new Float32Array(m * N);
  for (let i = 0; i < m; i++) {
    const ai = i * K;
    for (let n = 0; n < N; n++) {
      const wn = n * K;
      let s = 0;
      for (let k = 0; k < K; k++) s += av[ai + k]! * wv[wn + k]!;
      y[i * N + n] = s;
    }
  }
  return y;
}

/** The checks every matmul makes on `w` and `opts`, in order and with one set of messages. */
export function matmulShape(w: QuantizedTensor, opts: MatmulOptions): { N: number; K: number; m: number } {
  if (!(w instanceof QuantizedTensor)) throw new ShapeError('matmul: w must be a QuantizedTensor of shape [N, K] (quantize it first)');
  if (w.shape.length !== 2) throw new ShapeError(`matmul: w must have shape [N, K]; got [${w.shape.join(', ')}]`);
  const [N, K] = w.shape as [number, number];
  if (w.format.granularity !== 'tensor' && w.format.granularity !== 'element' && w.axis !== 1) {
    throw new ShapeError(`matmul: w must be blocked along K (axis 1); it was quantized along axis ${w.axis}`);
  }
  const m = opts?.m;
  if (!Number.isSafeInteger(m) || m < 0) throw new ShapeError(`matmul: opts.m must be a non-negative integer; got ${m}`);
  return { N, K, m };
}

/** Check the (dequantized) activations hold m·K float32 values. */
export function checkActivations(av: unknown, m: number, K: number): Float32Array {
  if (!(av instanceof Float32Array)) throw new ShapeError('matmul: a must be a Float32Array or a QuantizedTensor');
  if (av.length !== m * K) throw new ShapeError(`matmul: a has ${av.length} values but m·K = ${m}·${K} = ${m * K}`);
  return av;
}
