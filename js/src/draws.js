// Posterior draws as the explorer uses them (no model maths): the draws of state.posterior
// as flat arrays, contrasts draw by draw, type-7 quantiles (R's and numpy's default, as
// res.simple_slopes) and the quantiles of a mixture of normals over draws.

import { pnorm } from "./stats.js";

/** Prepared draws: beta (D x p, row-major), tau (D x q x q) of the explored factor. */
export function preparePosterior(state) {
  const post = state.posterior;
  if (!post || post.method !== "bayes") return null;
  const D = post.beta_draws.length;
  const p = state.fixed.names.length;
  const beta = new Float64Array(D * p);
  post.beta_draws.forEach((row, d) => beta.set(row, d * p));
  let tau = null;
  let q = 0;
  if (post.tau_draws && post.tau_draws.length === D) {
    q = post.tau_draws[0].length;
    tau = new Float64Array(D * q * q);
    post.tau_draws.forEach((mat, d) => mat.forEach((row, i) => tau.set(row, (d * q + i) * q)));
  }
  return { D, p, q, beta, tau, level: post.level ?? 0.95 };
}

/** s_d = l' beta_d for every draw. */
export function contrastDraws(post, l) {
  const out = new Float64Array(post.D);
  for (let d = 0; d < post.D; d++) {
    let s = 0;
    const off = d * post.p;
    for (let j = 0; j < post.p; j++) if (l[j] !== 0) s += l[j] * post.beta[off + j];
    out[d] = s;
  }
  return out;
}

/** Quantile of sorted values, R's type 7 (numpy's "linear"). */
export function quantileSorted(sorted, prob) {
  const n = sorted.length;
  if (!n) return NaN;
  const h = (n - 1) * prob;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/** Mean, SD (n - 1), equal-tailed interval and P(> 0) of draws. */
export function summarise(draws, level = 0.95) {
  const n = draws.length;
  let mean = 0;
  let positive = 0;
  for (let i = 0; i < n; i++) {
    mean += draws[i];
    if (draws[i] > 0) positive++;
  }
  mean /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (draws[i] - mean) ** 2;
  const sorted = Float64Array.from(draws).sort();
  const a = (1 - level) / 2;
  return {
    estimate: mean, se: Math.sqrt(ss / Math.max(n - 1, 1)), lower: quantileSorted(sorted, a),
    upper: quantileSorted(sorted, 1 - a), prob_positive: positive / n,
    df: NaN, t: NaN, p: NaN, draws: n,
  };
}

/**
 * Quantiles `probs` of the mixture (1/D) sum_d N(mu_d, var_d): bisection on its CDF.
 * Draws with var_d = 0 are point masses (their CDF a step).
 */
export function mixtureQuantiles(mu, variance, probs, tol = 1e-10) {
  const D = mu.length;
  const sd = Float64Array.from(variance, (v) => Math.sqrt(v));
  let lo = Infinity;
  let hi = -Infinity;
  for (let d = 0; d < D; d++) {
    lo = Math.min(lo, mu[d] - 9 * sd[d]);
    hi = Math.max(hi, mu[d] + 9 * sd[d]);
  }
  const cdf = (s) => {
    let f = 0;
    for (let d = 0; d < D; d++) f += sd[d] > 0 ? pnorm((s - mu[d]) / sd[d]) : (s >= mu[d] ? 1 : 0);
    return f / D;
  };
  return probs.map((prob) => {
    let a = lo;
    let b = hi;
    for (let it = 0; it < 200 && b - a > tol * Math.max(1, Math.abs(a), Math.abs(b)); it++) {
      const c = (a + b) / 2;
      if (cdf(c) < prob) a = c;
      else b = c;
    }
    return (a + b) / 2;
  });
}
