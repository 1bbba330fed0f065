// Per-position metrics over next-token distributions as llama.cpp returns them: float32 softmax
// probabilities over the whole vocabulary, indexed by token id. Used by the llama.cpp child process.

/**
 * The smallest positive float32 (2^-149). llama.cpp's probabilities are float32, so a zero is a
 * probability that underflowed (a logit about 103 or more below the largest); its log is taken as
 * ln(2^-149) ≈ -103.28. This floor can only make a KL term or a token's NLL smaller than the true one.
 */
export const PROBABILITY_FLOOR = 2 ** -149;

/** The natural log of a probability, zero floored at PROBABILITY_FLOOR. */
function flooredLog(p: number): number {
  return Math.log(p > PROBABILITY_FLOOR ? p : PROBABILITY_FLOOR);
}

/** Sum of a row (float32 softmax outputs sum to 1 only within rounding; metrics renormalize). */
function rowSum(row: Float32Array): number {
  let s = 0;
  for (let i = 0; i < row.length; i++) s += row[i]!;
  return s;
}

/** Index of the largest probability; the lowest token id among equal ones. */
export function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

/** −ln P(token) under the row renormalized to sum 1, zero floored (nats). */
export function negativeLogLikelihood(row: Float32Array, token: number): number {
  return Math.log(rowSum(row)) - flooredLog(row[token]!);
}

/**
 * KL(P ‖ Q) in nats: Σ p_t (ln p_t − ln q_t) over tokens with p_t > 0, both rows renormalized to
 * sum 1, q_t = 0 floored at PROBABILITY_FLOOR. Equal rows give exactly 0.
 */
export function klDivergence(p: Float32Array, q: Float32Array): number {
  if (p.length !== q.length) throw new Error(`KL divergence of distributions over ${p.length} and ${q.length} tokens: the models' vocabularies differ`);
  const sp = rowSum(p);
  const sq = rowSum(q);
  let kl = 0;
  for (let t = 0; t < p.length; t++) {
    const pt = p[t]!;
    if (pt > 0) kl += pt * (Math.log(pt) - flooredLog(q[t]!));
  }
  // Σ p̂ (ln p̂ − ln q̂) with p̂ = p/sp, q̂ = q/sq
  return kl / sp - Math.log(sp) + Math.log(sq);
}

/** The q-quantile (0 ≤ q ≤ 1) of values, linear between the two nearest ranks (numpy's default). */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const at = q * (sorted.length - 1);
  const lo = Math.floor(at);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (at - lo) * (sorted[hi]! - sorted[lo]!);
}
