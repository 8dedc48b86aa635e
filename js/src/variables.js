// Variables as the user thinks of them: a binary 0/1 column, a factor (several treatment
// dummies shown as one control with its levels), or a continuous variable.

import { fmtValue } from "./dom.js";

/** The factor a name refers to (state.factors[name]) or null. */
export function factorOf(state, name) {
  return state.factors?.[name] || null;
}

/** True for moderators shown as discrete choices (binary variable or factor). */
export function isDiscrete(state, name) {
  return !!factorOf(state, name) || state.variables[name]?.kind === "binary";
}

/**
 * The discrete values of a moderator: [{key, label, assign}], where `assign` sets the
 * model variables (a factor level sets every dummy to 0/1).
 */
export function discreteValues(state, name) {
  const f = factorOf(state, name);
  if (f) {
    return f.levels.map((level) => {
      const assign = {};
      for (const [dummy, lv] of Object.entries(f.dummies)) assign[dummy] = lv === level ? 1 : 0;
      return { key: level, label: level, assign };
    });
  }
  const v = state.variables[name];
  return v.values.map((val, i) => ({
    key: val, label: v.labels?.[i] ?? fmtValue(val, v), assign: { [name]: val },
  }));
}

/** Default UI value of every variable and factor: binary -> first value, factor -> reference, else mean. */
export function defaultAt(state) {
  const at = {};
  for (const [name, v] of Object.entries(state.variables)) at[name] = v.kind === "binary" ? v.values[0] : v.mean;
  for (const [name, f] of Object.entries(state.factors || {})) at[name] = f.reference;
  return at;
}

/**
 * Model-variable values for computation: start from every variable's UI value (means for
 * the ones held fixed), then let the factor moderators set their dummies. Factors that are
 * not moderators keep their dummies at the sample means (the average over the factor's mix).
 */
export function expandValues(state, at, moderators) {
  const values = {};
  for (const [name, v] of Object.entries(state.variables)) {
    values[name] = v.factor ? v.mean : at[name] ?? v.mean;
  }
  for (const name of moderators) {
    const f = factorOf(state, name);
    if (!f) continue;
    const level = f.levels.includes(at[name]) ? at[name] : f.reference;
    for (const [dummy, lv] of Object.entries(f.dummies)) values[dummy] = lv === level ? 1 : 0;
  }
  return values;
}

/** Label of a moderator's current value ("catholic = 1", "intake = mid"). */
export function valueLabel(state, name, at) {
  const f = factorOf(state, name);
  if (f) return `${name} = ${f.levels.includes(at[name]) ? at[name] : f.reference}`;
  return `${name} = ${fmtValue(at[name], state.variables[name])}`;
}

/**
 * d3 format of a variable's value in a tooltip: whole numbers for a 0/1 (or other binary)
 * variable that is constant within clusters ("catholic 1", not "1.00"), else three
 * significant digits without trailing zeros (a cluster mean of a 0/1 variable is a share).
 */
export function tipFormat(state, name) {
  const v = state.variables?.[name];
  const whole = v?.kind === "binary" && v.level === 2 && (v.values || []).every(Number.isInteger);
  return whole ? "d" : ".3~r";
}

/** The values a continuous moderator's curves are drawn at: its ticks (mean − SD, mean,
 * mean + SD) or its mean. */
export function tickValues(state, name) {
  const v = state.variables[name];
  return v.ticks?.length ? v.ticks : [{ value: v.mean, label: "mean" }];
}
