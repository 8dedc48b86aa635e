// What the Interaction panel shows, computed from the state alone (no DOM, no kernel): the
// prediction curve with its bands, the simple slope and its random-slope range, the slope
// across the chosen moderator with the Johnson-Neyman region, the variables held at their
// means, and the sentences that describe the slope chart.

import { fmt, fmtP } from "../dom.js";
import {
  grid, johnsonNeyman, predictionCurve, simpleSlope, slopeCurve, slopeSD,
} from "../model.js";
import { discreteValues, isDiscrete } from "../variables.js";

const Z95 = 1.959963984540054;

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
    for (const r of predictionCurve(model, pred.name, { ...values, ...c }, xs)) {
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
export function computeInteraction(model, state, { pred, values, xs, mod, at }) {
  const m = model;
  const x = pred.name;
  const slope = simpleSlope(m, x, values);
  const sd = slopeSD(m, x, values);
  const r = {
    x, values, slope, sd, fanLo: slope.estimate - Z95 * sd, fanHi: slope.estimate + Z95 * sd,
    curve: predictionCurve(m, x, values, xs, { zFan: Z95 }),
  };
  if (mod) {
    const mv = state.variables[mod];
    if (isDiscrete(state, mod)) {
      const current = at[mod];
      r.byValue = discreteValues(state, mod).map((d) => ({
        m: d.key, ...simpleSlope(m, x, { ...values, ...d.assign }),
        label: `${mod} = ${d.label}`, current: d.key === current,
      }));
      r.slopes = r.byValue;
    } else {
      r.jn = johnsonNeyman(m, x, mod, values, mv.min, mv.max);
      r.slopes = slopeCurve(m, x, mod, values, grid(mv.min, mv.max, 81));
      r.jnRows = r.jn.regions.map(([start, end]) => ({ start, end }));
      r.current = [{ m: values[mod], ...slope }];
    }
  }
  return r;
}

/** Plain-language Johnson-Neyman summary over the observed moderator range. */
export function jnSentence(x, mod, jn, mv) {
  const range = `${fmt(mv.min)} to ${fmt(mv.max)}`;
  const shaded = "Shaded: Johnson–Neyman region where the slope differs from 0 (p < .05).";
  if (!jn.regions.length) {
    return `The slope of ${x} is not significantly different from 0 anywhere in the observed range of ${mod} (${range}).`;
  }
  const full = jn.regions.length === 1 && jn.regions[0][0] === mv.min && jn.regions[0][1] === mv.max;
  if (full) {
    return `The slope of ${x} differs from 0 (p < .05) across the whole observed range of ${mod} (${range}).`;
  }
  const parts = jn.regions.map(([a, b]) => {
    if (a === mv.min) return `${mod} below ${fmt(b)}`;
    if (b === mv.max) return `${mod} above ${fmt(a)}`;
    return `${mod} between ${fmt(a)} and ${fmt(b)}`;
  });
  return `${shaded} The slope of ${x} is significant for ${parts.join(" and for ")} (observed range ${range}).`;
}

/** The slope at each value of a discrete moderator, with p: "catholic = 0: slope 2.782 (p < .001) · …". */
export function discreteSentence(rows) {
  if (!rows.length) return "";
  return rows.map((r) => `${r.label}: slope ${fmt(r.estimate, 3)} (p ${fmtP(r.p).startsWith("<") ? fmtP(r.p) : "= " + fmtP(r.p)})`).join(" · ");
}
