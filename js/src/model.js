// Client-side inference on the explorer state (see js/STATE.md).
//
// The fixed part is E[y] = x(v)' beta where every model-matrix column is a product of
// variables ("monomial"), e.g. cses:catholic -> {cses: 1, catholic: 1}. A simple slope of
// predictor x is then the contrast l = d x(v) / d x, and every quantity below is a linear
// contrast l' beta with Var = l' V l and Satterthwaite df
//     df(l) = 2 (l' V l)^2 / (g' A g),   g_k = l' (dV / d varpar_k) l,
// exactly as lmerTest's contest1D. Nothing here talks to the kernel.

import { pTwoSided, qt } from "./stats.js";
import { preparePosterior } from "./draws.js";

/**
 * Precompute typed arrays from a state object.
 * @param {object} state explorer state (version 1)
 */
export function prepare(state) {
  const f = state.fixed;
  const p = f.names.length;
  const V = f.vcov.map((row) => Float64Array.from(row));
  const sat = state.satterthwaite;
  const G = sat ? sat.vcov_grad.map((m) => m.map((row) => Float64Array.from(row))) : null;
  const A = sat ? sat.varpar_cov.map((row) => Float64Array.from(row)) : null;
  const rnd = state.random || null;
  return {
    state,
    p,
    names: f.names,
    beta: Float64Array.from(f.estimate),
    V,
    G,
    A,
    monomials: f.monomials,
    held: f.held || new Array(p).fill(0),
    ddfFallback: state.ddf_residual ?? Infinity,
    random: rnd && {
      terms: rnd.terms,
      monomials: rnd.monomials,
      held: rnd.held || new Array(rnd.terms.length).fill(0),
      tau: rnd.tau.map((row) => Float64Array.from(row)),
      sigma: state.sigma,
    },
    // A GLMM (response scale, glmm.js) or a posterior (draws, posterior.js); see kinds.js.
    glmm: state.glmm || null,
    posterior: preparePosterior(state),
    // sigma^2 of the implied-variance view; a GLMM's latent-scale residual variance
    residualVariance: state.glmm ? (state.glmm.latent_residual ?? NaN) : state.sigma * state.sigma,
  };
}

/** Value of one monomial at variable values; null monomial = opaque column held at `held`. */
function monomialValue(mono, held, values) {
  if (mono === null || mono === undefined) return held;
  let v = 1;
  for (const name in mono) {
    const x = values[name];
    v *= mono[name] === 1 ? x : Math.pow(x, mono[name]);
  }
  return v;
}

/** d monomial / d x at variable values. */
function monomialDerivative(mono, x, values) {
  if (!mono || !(x in mono)) return 0;
  const power = mono[x];
  let v = power;
  for (const name in mono) {
    const e = name === x ? power - 1 : mono[name];
    if (e !== 0) v *= Math.pow(values[name], e);
  }
  return v;
}

/** Model-matrix row x(v) for variable values v. */
export function rowAt(m, values) {
  const out = new Float64Array(m.p);
  for (let j = 0; j < m.p; j++) out[j] = monomialValue(m.monomials[j], m.held[j], values);
  return out;
}

/** Contrast of the simple slope of `x`: l_j = d x_j(v) / d x. */
export function slopeContrast(m, x, values) {
  const out = new Float64Array(m.p);
  for (let j = 0; j < m.p; j++) out[j] = monomialDerivative(m.monomials[j], x, values);
  return out;
}

/** l' M l for a (p x p) matrix of rows M. */
export function quad(M, l) {
  let s = 0;
  const p = l.length;
  for (let i = 0; i < p; i++) {
    if (l[i] === 0) continue;
    const row = M[i];
    let r = 0;
    for (let j = 0; j < p; j++) r += row[j] * l[j];
    s += l[i] * r;
  }
  return s;
}

/**
 * Satterthwaite df of the contrast l (lmerTest's contest1D).
 * Falls back to the residual df stored in the state when the state has no gradient.
 */
export function satterthwaiteDf(m, l, variance = quad(m.V, l)) {
  if (!m.G || !m.A) return m.ddfFallback;
  const k = m.G.length;
  const g = new Float64Array(k);
  for (let i = 0; i < k; i++) g[i] = quad(m.G[i], l);
  const denom = quad(m.A, g);
  if (!(denom > 0)) return m.ddfFallback;
  return (2 * variance * variance) / denom;
}

/**
 * Estimate, SE, Satterthwaite df, t, two-sided p and (1 - alpha) CI of l' beta.
 * @returns {{estimate:number, se:number, df:number, t:number, p:number, lower:number, upper:number}}
 */
export function contrast(m, l, alpha = 0.05) {
  let est = 0;
  for (let j = 0; j < m.p; j++) est += l[j] * m.beta[j];
  const variance = quad(m.V, l);
  const se = Math.sqrt(Math.max(variance, 0));
  const df = satterthwaiteDf(m, l, variance);
  const t = est / se;
  const crit = qt(1 - alpha / 2, df);
  return {
    estimate: est, se, df, t, p: pTwoSided(t, df), lower: est - crit * se, upper: est + crit * se,
  };
}

/** Simple slope of predictor `x` at variable values (moderators matter, others do not). */
export function simpleSlope(m, x, values, alpha = 0.05) {
  return contrast(m, slopeContrast(m, x, values), alpha);
}

/** Evenly spaced grid of n points over [lo, hi]. */
export function grid(lo, hi, n = 60) {
  if (!(hi > lo)) return [lo];
  const out = new Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + ((hi - lo) * i) / (n - 1);
  return out;
}

/** z(v): the random-effects design row of the explored grouping factor. */
export function randomRow(m, values) {
  const r = m.random;
  const out = new Float64Array(r.terms.length);
  for (let j = 0; j < out.length; j++) out[j] = monomialValue(r.monomials[j], r.held[j], values);
  return out;
}

/** d z(v) / d x: which random effects multiply x. */
export function randomDerivative(m, x, values) {
  const r = m.random;
  const out = new Float64Array(r.terms.length);
  for (let j = 0; j < out.length; j++) out[j] = monomialDerivative(r.monomials[j], x, values);
  return out;
}

/** SD across clusters of the slope of x: sqrt(d' T d), d = dz/dx (0 without a random slope). */
export function slopeSD(m, x, values) {
  if (!m.random) return 0;
  return Math.sqrt(Math.max(quad(m.random.tau, randomDerivative(m, x, values)), 0));
}

/**
 * Prediction curve over x at fixed values of the other variables.
 * Each point: fit, CI (lower, upper) of the average line, the random-slope fan
 * (fan_lo, fan_hi: lines with slope = average slope -/+ z SD through the line at x = 0),
 * and the 95% range of cluster lines (spread_lo, spread_hi = fit -/+ z sqrt(z(v)' T z(v))).
 */
export function predictionCurve(m, x, values, xs, { alpha = 0.05, zFan = 1.959963984540054 } = {}) {
  const v = { ...values };
  const sd = slopeSD(m, x, v);
  const out = new Array(xs.length);
  for (let i = 0; i < xs.length; i++) {
    v[x] = xs[i];
    const c = contrast(m, rowAt(m, v), alpha);
    const between = m.random ? Math.sqrt(Math.max(quad(m.random.tau, randomRow(m, v)), 0)) : 0;
    out[i] = {
      x: xs[i], fit: c.estimate, lower: c.lower, upper: c.upper, se: c.se, df: c.df,
      fan_lo: c.estimate - zFan * sd * xs[i], fan_hi: c.estimate + zFan * sd * xs[i],
      spread_lo: c.estimate - zFan * between, spread_hi: c.estimate + zFan * between,
    };
    if (xs[i] < 0) [out[i].fan_lo, out[i].fan_hi] = [out[i].fan_hi, out[i].fan_lo];
  }
  return out;
}

/**
 * Simple slope of x as a function of moderator `mod` (other variables fixed).
 * @returns {Array<{m:number, estimate:number, lower:number, upper:number, p:number, df:number, significant:boolean}>}
 */
export function slopeCurve(m, x, mod, values, ms, alpha = 0.05) {
  const v = { ...values };
  return ms.map((val) => {
    v[mod] = val;
    const s = simpleSlope(m, x, v, alpha);
    return { m: val, ...s, significant: s.p < alpha };
  });
}

/**
 * Johnson-Neyman regions: the moderator values in [lo, hi] where the simple slope of x is
 * significant at level alpha (Satterthwaite df at each value). Boundaries are found on a
 * grid and refined by bisection on p(m) - alpha.
 * @returns {{bounds:number[], regions:Array<[number, number]>, alpha:number}}
 */
export function johnsonNeyman(m, x, mod, values, lo, hi, alpha = 0.05, n = 200) {
  const v = { ...values };
  const excess = (val) => {
    v[mod] = val;
    return alpha - simpleSlope(m, x, v, alpha).p; // > 0 where significant
  };
  return { ...positiveRegions(excess, lo, hi, n, 60, 1e-12), alpha };
}

/**
 * The sub-intervals of [lo, hi] where f > 0: sign changes found on an n-point grid, each
 * boundary refined by bisection (at most maxIter halvings, to a width of tol relative).
 * @returns {{bounds:number[], regions:Array<[number, number]>}}
 */
export function positiveRegions(f, lo, hi, n, maxIter, tol) {
  const xs = grid(lo, hi, n);
  const fs = xs.map(f);
  const bounds = [];
  for (let i = 1; i < xs.length; i++) {
    if ((fs[i - 1] > 0) === (fs[i] > 0)) continue;
    let a = xs[i - 1];
    let b = xs[i];
    const left = fs[i - 1] > 0;
    for (let it = 0; it < maxIter && b - a > tol * Math.max(1, Math.abs(a)); it++) {
      const c = (a + b) / 2;
      if ((f(c) > 0) === left) a = c;
      else b = c;
    }
    bounds.push((a + b) / 2);
  }
  const regions = [];
  const edges = [lo, ...bounds, hi];
  for (let i = 0; i + 1 < edges.length; i++) {
    if (f((edges[i] + edges[i + 1]) / 2) > 0) regions.push([edges[i], edges[i + 1]]);
  }
  return { bounds, regions };
}

/**
 * Model-implied variance of y across x: between-cluster z(v)' T z(v) and residual sigma^2.
 * @returns {Array<{x:number, between:number, residual:number, total:number, share:number}>}
 */
export function impliedVariance(m, x, values, xs) {
  const v = { ...values };
  const s2 = m.residualVariance;
  return xs.map((val) => {
    v[x] = val;
    const between = m.random ? Math.max(quad(m.random.tau, randomRow(m, v)), 0) : 0;
    return { x: val, between, residual: s2, total: between + s2, share: between / (between + s2) };
  });
}

/**
 * Cluster-specific lines over each cluster's observed x range (spaghetti plot).
 * y_j(x) = x(v_j)' beta + z(v_j)' u_j with v_j the cluster's own values (level-2 values,
 * cluster means of other level-1 variables).
 * @returns {{x0:Float64Array, y0:Float64Array, x1:Float64Array, y1:Float64Array}}
 */
export function clusterLines(m, x) {
  const cl = m.state.clusters;
  const n = cl.ids.length;
  const vars = Object.keys(cl.vars);
  const terms = m.random ? m.random.terms : [];
  const out = {
    x0: new Float64Array(n), y0: new Float64Array(n), x1: new Float64Array(n), y1: new Float64Array(n),
  };
  const xmin = cl.x_min[x];
  const xmax = cl.x_max[x];
  const v = {};
  const u = new Float64Array(terms.length);
  for (let j = 0; j < n; j++) {
    for (const name of vars) v[name] = cl.vars[name][j];
    for (let t = 0; t < terms.length; t++) u[t] = cl.ranef[terms[t]][j];
    for (const [end, xv] of [[0, xmin[j]], [1, xmax[j]]]) {
      v[x] = xv;
      const row = rowAt(m, v);
      let y = 0;
      for (let k = 0; k < m.p; k++) y += row[k] * m.beta[k];
      if (m.random) {
        const z = randomRow(m, v);
        for (let t = 0; t < terms.length; t++) y += z[t] * u[t];
      }
      out[end ? "x1" : "x0"][j] = xv;
      out[end ? "y1" : "y0"][j] = y;
    }
  }
  return out;
}
