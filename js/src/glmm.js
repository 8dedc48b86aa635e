// A GLMM's explorer on the response scale (state.glmm, STATE.md "GLMM states").
//
// The linear predictor is the LMM's: eta(v) = x(v)' beta + offset (the offset held at its
// mean), with Var(x' beta) = x' V x, and every test is a Wald z test (the state has no
// Satterthwaite parts, so model.js's contrast uses df = Infinity). The response-scale views
// apply the inverse link g^-1 to the link-scale quantities:
//   typical cluster (b = 0):   g^-1(eta),  Wald band g^-1(eta -/+ z sqrt(x'Vx));
//   clusters' 95% range:        g^-1(eta -/+ z sqrt(z(v)' T z(v)))  (exact quantiles of the
//                               clusters' curves: g is monotone and z'b is normal);
//   random-slope fan:           g^-1(eta -/+ z SD_slope x), the LMM's fan on this scale;
//   cluster j's curve:          g^-1(x(v_j)' beta + z(v_j)' u_j + offset) at its modes.

import { pnorm } from "./stats.js";
import { contrast, quad, randomRow, rowAt, slopeSD } from "./model.js";

const Z95 = 1.959963984540054;

/** g^-1(eta) for glmer's links: logit, probit, cloglog, log (identity otherwise). */
export function inverseLink(link, eta) {
  switch (link) {
    case "logit":
      return eta >= 0 ? 1 / (1 + Math.exp(-eta)) : Math.exp(eta) / (1 + Math.exp(eta));
    case "probit":
      return pnorm(eta);
    case "cloglog":
      return -Math.expm1(-Math.exp(eta));
    case "log":
      return Math.exp(eta);
    default:
      return eta;
  }
}

/** d mu / d eta at eta. */
export function linkSlope(link, eta) {
  switch (link) {
    case "logit": // mu (1 - mu), with 1 - mu = g^-1(-eta) so the tails keep their precision
      return inverseLink(link, eta) * inverseLink(link, -eta);
    case "probit":
      return Math.exp(-0.5 * eta * eta) / Math.sqrt(2 * Math.PI);
    case "cloglog":
      return Math.exp(eta - Math.exp(eta));
    case "log":
      return Math.exp(eta);
    default:
      return 1;
  }
}

/**
 * Response-scale curve over x at fixed values of the other variables: per point the
 * typical cluster's fit with its Wald band (lower, upper), the random-slope fan
 * (fan_lo, fan_hi), the clusters' 95% range (spread_lo, spread_hi) and the link-scale eta, se.
 */
export function responseCurve(m, x, values, xs, { alpha = 0.05, z = Z95 } = {}) {
  const g = m.glmm;
  const v = { ...values };
  const sd = slopeSD(m, x, v);
  const out = new Array(xs.length);
  for (let i = 0; i < xs.length; i++) {
    v[x] = xs[i];
    const c = contrast(m, rowAt(m, v), alpha);
    const eta = c.estimate + g.offset;
    const between = m.random ? Math.sqrt(Math.max(quad(m.random.tau, randomRow(m, v)), 0)) : 0;
    const crit = c.upper - c.estimate; // z * se (df = Infinity)
    const fan = z * sd * xs[i];
    const lo = Math.min(-fan, fan);
    out[i] = {
      x: xs[i], eta, se: c.se, fit: inverseLink(g.link, eta),
      lower: inverseLink(g.link, eta - crit), upper: inverseLink(g.link, eta + crit),
      fan_lo: inverseLink(g.link, eta + lo), fan_hi: inverseLink(g.link, eta - lo),
      spread_lo: inverseLink(g.link, eta - z * between), spread_hi: inverseLink(g.link, eta + z * between),
    };
  }
  return out;
}

/** exp of a link-scale slope and its interval: the odds (rate, hazard) ratio per unit. */
export function ratioOf(slope) {
  return { ratio: Math.exp(slope.estimate), lower: Math.exp(slope.lower), upper: Math.exp(slope.upper) };
}

/** d mu / d x at the values (the slope on the response scale for a typical cluster). */
export function responseSlope(m, x, values, slope) {
  const c = contrast(m, rowAt(m, { ...values }));
  return linkSlope(m.glmm.link, c.estimate + m.glmm.offset) * slope.estimate;
}

/**
 * Each cluster's curve on the response scale over its observed x range, `k` points each,
 * at its own values (level-2 values, cluster means of the other level-1 variables) and its
 * conditional modes: {rows: [{id, x, y, k, c}], byCluster: [[row, ...] per cluster]}.
 */
export function clusterCurves(m, x, k = 12, colors = null) {
  const cl = m.state.clusters;
  const n = cl.ids.length;
  const vars = Object.keys(cl.vars);
  const terms = m.random ? m.random.terms : [];
  const g = m.glmm;
  const v = {};
  const rows = [];
  const byCluster = new Array(n);
  for (let j = 0; j < n; j++) {
    for (const name of vars) v[name] = cl.vars[name][j];
    const lo = cl.x_min[x][j];
    const hi = cl.x_max[x][j];
    const mine = [];
    for (let s = 0; s < k; s++) {
      v[x] = k === 1 || !(hi > lo) ? lo : lo + ((hi - lo) * s) / (k - 1);
      const row = rowAt(m, v);
      let eta = g.offset;
      for (let c = 0; c < m.p; c++) eta += row[c] * m.beta[c];
      if (m.random) {
        const zrow = randomRow(m, v);
        for (let t = 0; t < terms.length; t++) eta += zrow[t] * cl.ranef[terms[t]][j];
      }
      const point = { id: cl.ids[j], x: v[x], y: inverseLink(g.link, eta), k: s, c: colors ? colors[j] : null };
      mine.push(point);
      rows.push(point);
      if (!(hi > lo)) break;
    }
    byCluster[j] = mine;
  }
  return { rows, byCluster };
}
