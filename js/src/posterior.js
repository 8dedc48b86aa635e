// A Bayesian fit's explorer: simple slopes, bands and the slope distribution from the
// posterior draws in state.posterior (STATE.md "Posterior states"), never from a normal
// approximation.
//
// For a contrast l (a simple slope, a point of the curve) the draws are s_d = l' beta_d;
// the readout shows their mean, SD, equal-tailed quantiles (R's type 7, numpy's default,
// as res.simple_slopes) and P(s > 0). A new cluster's slope (the random-slope fan) and a new
// cluster's line (the clusters' range) are posterior predictive: per draw d the normal
// N(l' beta_d, d' T_d d); their quantiles are those of the mixture over draws, found by
// bisection on its CDF (exact, no simulation noise).

import { contrastDraws, mixtureQuantiles, summarise } from "./draws.js";
import { positiveRegions, randomDerivative, randomRow, rowAt, slopeContrast } from "./model.js";

/** Posterior of the simple slope of x at the values. */
export function posteriorSlope(m, x, values, level = m.posterior.level) {
  return summarise(contrastDraws(m.posterior, slopeContrast(m, x, values)), level);
}

/** d' T_d d for every draw (0 without posterior covariance draws). */
function quadDraws(post, d) {
  const out = new Float64Array(post.D);
  if (!post.tau) return out;
  const q = post.q;
  for (let k = 0; k < post.D; k++) {
    let s = 0;
    const off = k * q * q;
    for (let i = 0; i < q; i++) {
      if (d[i] === 0) continue;
      let r = 0;
      for (let j = 0; j < q; j++) r += post.tau[off + i * q + j] * d[j];
      s += d[i] * r;
    }
    out[k] = Math.max(s, 0);
  }
  return out;
}

/**
 * The posterior predictive range of a new cluster's slope of x: the `level` quantiles of
 * N(l' beta_d, d' T_d d) mixed over draws; `sd` the posterior mean of sqrt(d' T_d d).
 */
export function slopeRange(m, x, values, level = m.posterior.level) {
  const post = m.posterior;
  const mu = contrastDraws(post, slopeContrast(m, x, values));
  const variance = m.random ? quadDraws(post, randomDerivative(m, x, values)) : new Float64Array(post.D);
  const a = (1 - level) / 2;
  const [lo, hi] = mixtureQuantiles(mu, variance, [a, 1 - a]);
  let sd = 0;
  for (let d = 0; d < post.D; d++) sd += Math.sqrt(variance[d]);
  return { lo, hi, sd: sd / post.D };
}

/**
 * Curve over x from the draws: per point the posterior mean of x(v)' beta with its credible
 * band, the random-slope fan (lines through the mean line at x = 0 whose slopes are the
 * predictive range's ends) and the posterior predictive 95% range of a new cluster's line.
 */
export function posteriorCurve(m, x, values, xs, { level = m.posterior.level, spread = true } = {}) {
  const post = m.posterior;
  const v = { ...values };
  const slope = posteriorSlope(m, x, v, level);
  const range = slopeRange(m, x, v, level);
  const a = (1 - level) / 2;
  return xs.map((xv) => {
    v[x] = xv;
    const draws = contrastDraws(post, rowAt(m, v));
    const s = summarise(draws, level);
    const dLo = (range.lo - slope.estimate) * xv;
    const dHi = (range.hi - slope.estimate) * xv;
    const row = {
      x: xv, fit: s.estimate, lower: s.lower, upper: s.upper, se: s.se,
      fan_lo: s.estimate + Math.min(dLo, dHi), fan_hi: s.estimate + Math.max(dLo, dHi),
      spread_lo: s.lower, spread_hi: s.upper,
    };
    if (spread && m.random) {
      const [lo, hi] = mixtureQuantiles(draws, quadDraws(post, randomRow(m, v)), [a, 1 - a], 1e-6);
      row.spread_lo = lo;
      row.spread_hi = hi;
    }
    return row;
  });
}

/** The posterior slope of x across moderator values `ms`; `significant`: the interval excludes 0. */
export function posteriorSlopeCurve(m, x, mod, values, ms, level = m.posterior.level) {
  const v = { ...values };
  return ms.map((val) => {
    v[mod] = val;
    const s = posteriorSlope(m, x, v, level);
    return { m: val, ...s, significant: s.lower > 0 || s.upper < 0 };
  });
}

/**
 * The Johnson-Neyman analogue: moderator values in [lo, hi] where the credible interval of
 * the slope of x excludes 0 (grid, then bisection on the nearer interval end).
 * @returns {{bounds:number[], regions:Array<[number, number]>, level:number}}
 */
export function credibleRegions(m, x, mod, values, lo, hi, level = m.posterior.level, n = 81) {
  const v = { ...values };
  const excess = (val) => {
    v[mod] = val;
    const s = posteriorSlope(m, x, v, level);
    return Math.max(s.lower, -s.upper); // > 0 where the interval excludes 0
  };
  return { ...positiveRegions(excess, lo, hi, n, 40, 1e-9), level };
}
