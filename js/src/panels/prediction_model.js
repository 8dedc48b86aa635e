// Numbers of the Predictions panel: population-level predicted values across a predictor, by a
// moderator, with confidence and prediction bands, computed from the state alone (no kernel),
// the same way as Python's res.predict_response / res.predict(include_re=False, interval=...):
//
//   fit = x(v)' beta,  se = sqrt(x(v)' V x(v)),
//   confidence: fit -/+ z se,
//   prediction: fit -/+ z sqrt(x(v)' V x(v) + sum_g z_g(v)' T_g z_g(v) + sigma^2),
//
// z the normal quantile (not t), the sum over every grouping factor (state.predictions.random).
// Variables not on the axes are held as ggeffects holds them: a continuous variable at its mean,
// a two-valued one at its lower value, a factor at its reference level.

import { qnorm } from "../stats.js";
import { rowAt } from "../model.js";
import { factorOf } from "../variables.js";

function quad(M, l) {
  let s = 0;
  for (let i = 0; i < l.length; i++) {
    if (l[i] === 0) continue;
    let r = 0;
    for (let j = 0; j < l.length; j++) r += M[i][j] * l[j];
    s += l[i] * r;
  }
  return s;
}

/** Variables that can be the x axis: continuous, in the fixed part, not a factor's dummy. */
export function xChoices(state) {
  return Object.entries(state.variables)
    .filter(([, v]) => v.kind === "continuous" && v.in_fixed && !v.factor)
    .map(([name]) => name);
}

/** Grouping choices: factors, then variables (not dummies) other than x. */
export function byChoices(state, x) {
  const factors = Object.keys(state.factors || {});
  const vars = Object.entries(state.variables)
    .filter(([name, v]) => name !== x && !v.factor && v.in_fixed)
    .map(([name]) => name);
  return [...factors, ...vars];
}

/**
 * The groups of `by`: [{key, label, assign}], `assign` the variable values it sets. A factor:
 * its levels; a two-valued variable: both values; a continuous one: mean - SD, mean, mean + SD
 * over the observations (as predict_response).
 */
export function groupsOf(state, by) {
  if (!by) return [{ key: "", label: "", assign: {} }];
  const f = factorOf(state, by);
  if (f) {
    return f.levels.map((level) => {
      const assign = {};
      for (const [dummy, lv] of Object.entries(f.dummies)) assign[dummy] = lv === level ? 1 : 0;
      return { key: level, label: level, assign };
    });
  }
  const v = state.variables[by];
  const vals = v.kind === "binary" ? v.values : [v.mean - v.sd, v.mean, v.mean + v.sd];
  return vals.map((val) => ({ key: val, label: label4(val), assign: { [by]: val } }));
}

/** A number as Python's f"{v:.4g}" (the group labels predict_response writes). */
export function label4(v) {
  if (v === 0) return "0";
  const exp = Math.floor(Math.log10(Math.abs(v)));
  if (exp < -4 || exp >= 4) {
    const [m, e] = v.toExponential(3).split("e");
    const mant = m.includes(".") ? m.replace(/0+$/, "").replace(/\.$/, "") : m;
    const ee = Number(e);
    return `${mant}e${ee < 0 ? "-" : "+"}${String(Math.abs(ee)).padStart(2, "0")}`;
  }
  return String(Number(v.toPrecision(4)));
}

/** Values of every variable when nothing is on an axis (see the module comment). */
export function heldValues(state) {
  const values = {};
  for (const [name, v] of Object.entries(state.variables)) {
    values[name] = v.factor ? 0 : v.kind === "binary" ? v.values[0] : v.mean;
  }
  return values;
}

/** Names and values held fixed, for the caption ("Held at ..."). */
export function heldLabels(state, x, by) {
  const out = [];
  for (const [name, v] of Object.entries(state.variables)) {
    if (name === x || name === by || v.factor || !v.in_fixed) continue;
    out.push(`${name} = ${label4(v.kind === "binary" ? v.values[0] : v.mean)}`);
  }
  for (const [name, f] of Object.entries(state.factors || {})) {
    if (name !== by) out.push(`${name} = ${f.reference}`);
  }
  return out;
}

/** The random part of every grouping factor as rowAt-able pieces. */
export function prepareRandom(state) {
  const blocks = state.predictions?.random || [];
  return blocks.map((b) => ({
    group: b.group, p: b.terms.length, monomials: b.monomials, held: b.held, tau: b.tau,
  }));
}

/**
 * Bands at every x for one set of variable values.
 * @param {object} m prepared model (model.prepare)
 * @param {object[]} random prepareRandom(state)
 * @param {object} values variable values (heldValues + the group's assignments)
 * @param {string} x the x variable
 * @param {number[]} xs its grid
 * @param {number} level confidence level
 * @returns {{x:number, fit:number, se:number, conf_lower:number, conf_upper:number, pred_lower:number, pred_upper:number, re_var:number}[]}
 */
export function predictionRows(m, random, values, x, xs, level = 0.95) {
  const z = qnorm(1 - (1 - level) / 2);
  const s2 = m.state.sigma * m.state.sigma;
  const v = { ...values };
  return xs.map((xv) => {
    v[x] = xv;
    const row = rowAt(m, v);
    let fit = 0;
    for (let j = 0; j < m.p; j++) fit += row[j] * m.beta[j];
    const xvx = Math.max(quad(m.V, row), 0);
    let reVar = 0;
    for (const b of random) reVar += Math.max(quad(b.tau, rowAt(b, v)), 0);
    const se = Math.sqrt(xvx);
    const sdPred = Math.sqrt(xvx + reVar + s2);
    return {
      x: xv, fit, se, re_var: reVar,
      conf_lower: fit - z * se, conf_upper: fit + z * se,
      pred_lower: fit - z * sdPred, pred_upper: fit + z * sdPred,
    };
  });
}

/** Rows for every group of `by`, each tagged with its group label. */
export function predictionTable(m, state, { x, by, xs, level = 0.95 }) {
  const random = prepareRandom(state);
  const base = heldValues(state);
  const out = [];
  for (const g of groupsOf(state, by)) {
    const values = { ...base, ...g.assign };
    for (const r of predictionRows(m, random, values, x, xs, level)) out.push({ ...r, group: g.label });
  }
  return out;
}
