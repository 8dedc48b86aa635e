// What the Interaction panel shows, computed from the state alone (no DOM, no kernel): the
// prediction curve with its bands, the simple slope and its random-slope range, the slope
// across the chosen moderator with the Johnson-Neyman region, the variables held at their
// means, and the sentences that describe the slope chart.

import { fmt, fmtP } from "../dom.js";
import { grid } from "../model.js";
import {
  curveOf, kindOf, rangeOf, regionsOf, slopeCurveOf, slopeOf,
} from "../kinds.js";
import { discreteValues, isDiscrete, tickValues } from "../variables.js";

/**
 * Variables of the fixed part that the controls do not set (not the predictor, not a
 * moderator, not a dummy of a moderating factor): the curve holds them at their means.
 * @param {object} state
 * @param {{name: string, moderators: string[]}} pred an entry of state.predictors
 * @returns {string[]}
 */
export function heldVariables(state, pred) {
  const skip = new Set([pred.name, ...pred.moderators]);
  return Object.keys(state.variables).filter((n) => {
    const v = state.variables[n];
    return !skip.has(n) && v.in_fixed && !(v.factor && skip.has(v.factor));
  });
}

/**
 * How the held variables are described: "x = 0.12" each, a factor once as "f (sample mix)".
 * @returns {string[]}
 */
export function heldLabels(state, pred) {
  const held = [];
  for (const n of heldVariables(state, pred)) {
    const f = state.variables[n].factor;
    if (!f) held.push(`${n} = ${fmt(state.variables[n].mean)}`);
    else if (!held.includes(`${f} (sample mix)`)) held.push(`${f} (sample mix)`);
  }
  return held;
}

/** The moderator the slope chart starts with: the first continuous one, else the first. */
export function defaultSlopeModerator(state, pred) {
  const mods = pred.moderators;
  return mods.find((m) => !isDiscrete(state, m)) || mods[0] || null;
}

/**
 * Fixed y range of the main chart over every combination of the moderators' extremes (both
 * values of a discrete one), so the axis does not jump while a slider moves.
 * @param {object} model prepared model (model.prepare)
 * @param {object} state
 * @param {object} pred predictor entry
 * @param {object} values model-variable values at the current settings
 * @param {number[]} xs grid of predictor values
 * @returns {[number, number]}
 */
export function yDomain(model, state, pred, values, xs) {
  // A posterior's bands cost a mixture quantile per point: the ends and a few points between
  // bound them as well (the curves are smooth).
  const pts = kindOf(model) === "bayes" ? grid(xs[0], xs[xs.length - 1], 7) : xs;
  const corners = [{}];
  for (const name of pred.moderators) {
    const v = state.variables[name];
    const ends = isDiscrete(state, name)
      ? discreteValues(state, name).map((d) => d.assign)
      : [{ [name]: v.min }, { [name]: v.max }];
    const next = [];
    for (const c of corners) for (const e of ends) next.push({ ...c, ...e });
    corners.splice(0, corners.length, ...next);
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (const c of corners) {
    for (const r of curveOf(model, pred.name, { ...values, ...c }, pts)) {
      lo = Math.min(lo, r.lower, r.fan_lo, r.spread_lo);
      hi = Math.max(hi, r.upper, r.fan_hi, r.spread_hi);
    }
  }
  return [lo, hi];
}

/**
 * Everything the charts and the readout show at the current settings.
 * @param {object} model prepared model
 * @param {object} state
 * @param {{pred: object, values: object, xs: number[], mod: string|null, at: object}} o
 *   `values` model-variable values, `xs` the curve's grid, `mod` the slope chart's
 *   moderator, `at` the UI values (a discrete moderator's current level)
 * @returns {object} {x, values, slope, sd, fanLo, fanHi, curve} and, with a moderator,
 *   `slopes` (chart rows) plus `byValue` (discrete) or `jn`, `jnRows`, `current` (continuous)
 */
export function computeInteraction(model, state, { pred, values, xs, mod, at, spread = true }) {
  const m = model;
  const x = pred.name;
  const slope = slopeOf(m, x, values);
  const range = rangeOf(m, x, values, slope);
  const r = {
    x, values, slope, sd: range.sd, fanLo: range.lo, fanHi: range.hi, kind: kindOf(m),
    curve: curveOf(m, x, values, xs, { spread }),
  };
  if (m.glmm) r.byModerator = moderatorCurves(m, state, pred, values, xs, mod);
  if (mod) {
    const mv = state.variables[mod];
    if (isDiscrete(state, mod)) {
      const current = at[mod];
      r.byValue = discreteValues(state, mod).map((d) => ({
        m: d.key, ...slopeOf(m, x, { ...values, ...d.assign }),
        label: `${mod} = ${d.label}`, current: d.key === current,
      }));
      r.slopes = r.byValue;
    } else {
      r.jn = regionsOf(m, x, mod, values, mv.min, mv.max);
      r.slopes = slopeCurveOf(m, x, mod, values, grid(mv.min, mv.max, 81));
      r.jnRows = r.jn.regions.map(([start, end]) => ({ start, end }));
      r.current = [{ m: values[mod], ...slope }];
    }
  }
  return r;
}

/**
 * A GLMM's curves "by moderator": the typical cluster's response curve at each value of
 * moderator `mod` (both values of a discrete one, mean - SD / mean / mean + SD of a
 * continuous one): rows {x, fit, label} for the thin lines under the current curve.
 */
export function moderatorCurves(m, state, pred, values, xs, mod) {
  if (!mod) return [];
  const choices = isDiscrete(state, mod)
    ? discreteValues(state, mod).map((d) => ({ assign: d.assign, label: `${mod} = ${d.label}` }))
    : tickValues(state, mod).map((t) => ({ assign: { [mod]: t.value }, label: `${mod} ${t.label} (${fmt(t.value)})` }));
  const rows = [];
  for (const c of choices) {
    for (const p of curveOf(m, pred.name, { ...values, ...c.assign }, xs)) {
      rows.push({ x: p.x, fit: p.fit, label: c.label });
    }
  }
  return rows;
}

/** Plain-language Johnson-Neyman summary over the observed moderator range (for a
 * posterior: where the 95% credible interval excludes 0). */
export function jnSentence(x, mod, jn, mv, kind = "lmm") {
  const range = `${fmt(mv.min)} to ${fmt(mv.max)}`;
  const bayes = kind === "bayes";
  const differs = bayes ? "its 95% credible interval excludes 0" : "differs from 0 (p < .05)";
  const shaded = bayes
    ? "Shaded: where the 95% credible interval of the slope excludes 0."
    : "Shaded: Johnson–Neyman region where the slope differs from 0 (p < .05).";
  if (!jn.regions.length) {
    return bayes
      ? `The 95% credible interval of the slope of ${x} includes 0 everywhere in the observed range of ${mod} (${range}).`
      : `The slope of ${x} is not significantly different from 0 anywhere in the observed range of ${mod} (${range}).`;
  }
  const full = jn.regions.length === 1 && jn.regions[0][0] === mv.min && jn.regions[0][1] === mv.max;
  if (full) {
    return bayes
      ? `The 95% credible interval of the slope of ${x} excludes 0 across the whole observed range of ${mod} (${range}).`
      : `The slope of ${x} ${differs} across the whole observed range of ${mod} (${range}).`;
  }
  const parts = jn.regions.map(([a, b]) => {
    if (a === mv.min) return `${mod} below ${fmt(b)}`;
    if (b === mv.max) return `${mod} above ${fmt(a)}`;
    return `${mod} between ${fmt(a)} and ${fmt(b)}`;
  });
  const what = bayes ? "credibly different from 0" : "significant";
  return `${shaded} The slope of ${x} is ${what} for ${parts.join(" and for ")} (observed range ${range}).`;
}

/** The slope at each value of a discrete moderator, with p (a posterior: P(slope > 0)):
 * "catholic = 0: slope 2.782 (p < .001) · …". */
export function discreteSentence(rows) {
  if (!rows.length) return "";
  return rows.map((r) => {
    if (Number.isNaN(r.p) && r.prob_positive !== undefined) {
      return `${r.label}: slope ${fmt(r.estimate, 3)} (P(> 0) = ${r.prob_positive.toFixed(3)})`;
    }
    return `${r.label}: slope ${fmt(r.estimate, 3)} (p ${fmtP(r.p).startsWith("<") ? fmtP(r.p) : "= " + fmtP(r.p)})`;
  }).join(" · ");
}
