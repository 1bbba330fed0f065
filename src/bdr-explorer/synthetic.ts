// Deterministic test distributions (shared by the QSNR oracle test and the explorer's defaults).

/** A small, fast, seeded PRNG (PCG-like xorshift-multiply) returning uniforms in (0, 1). */
export function uniforms(seed: number): () => number {
  let s = BigInt.asUintN(64, BigInt(seed) * 0x9e3779b97f4a7c15n + 1n);
  return () => {
    s = BigInt.asUintN(64, s * 6364136223846793005n + 1442695040888963407n);
    const x = Number(s >> 11n);
    return (x + 0.5) / 2 ** 53;
  };
}

export function gaussian(n: number, seed: number): Float32Array {
  const u = uniforms(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(u()));
    const t = 2 * Math.PI * u();
    out[i] = r * Math.cos(t);
    if (i + 1 < n) out[i + 1] = r * Math.sin(t);
  }
  return out;
}

export function laplace(n: number, seed: number): Float32Array {
  const u = uniforms(seed);
  return Float32Array.from({ length: n }, () => {
    const v = u() - 0.5;
    return -Math.sign(v) * Math.log(1 - 2 * Math.abs(v));
  });
}

export function studentT(n: number, dof: number, seed: number): Float32Array {
  const g = gaussian(n * (dof + 1), seed);
  return Float32Array.from({ length: n }, (_, i) => {
    let chi = 0;
    for (let k = 1; k <= dof; k++) chi += g[i * (dof + 1) + k]! ** 2;
    return g[i * (dof + 1)]! / Math.sqrt(chi / dof);
  });
}

/** A named in-memory tensor, the unit the sweep works on. */
export interface SyntheticTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

function scaled(x: Float32Array, s: number): Float32Array {
  for (let i = 0; i < x.length; i++) x[i] = x[i]! * s;
  return x;
}

/**
 * The built-in default model: tensors shaped like a small transformer's weights ([out, in]) with the
 * distributions quantization meets in practice — Gaussian, Laplace, heavy-tailed Student-t, and a
 * weight whose few input channels carry large outliers (as in LLM activations folded into weights).
 */
export function defaultTensors(): SyntheticTensor[] {
  const d = 256;
  const outlier = scaled(gaussian(d * d, 4), 0.02);
  for (const c of [3, 77, 190]) for (let r = 0; r < d; r++) outlier[r * d + c] = outlier[r * d + c]! * 40;
  return [
    { name: 'layers.0.attn.q_proj.weight (gaussian)', shape: [d, d], data: scaled(gaussian(d * d, 11), 0.02) },
    { name: 'layers.0.attn.o_proj.weight (outlier channels)', shape: [d, d], data: outlier },
    { name: 'layers.0.mlp.up_proj.weight (laplace)', shape: [4 * d, d], data: scaled(laplace(4 * d * d, 12), 0.015) },
    { name: 'layers.0.mlp.down_proj.weight (student-t 3)', shape: [d, 4 * d], data: scaled(studentT(4 * d * d, 3, 13), 0.01) },
  ];
}
