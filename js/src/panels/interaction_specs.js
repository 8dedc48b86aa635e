// Vega-Lite specs of the Interaction panel: the predicted outcome against the level-1
// predictor, and the simple slope across a moderator. Pure functions of the state and of a
// computeInteraction result; the panel updates the named data sets (curve; slopes, jn,
// current) and the showFan/showSpread signals afterwards, so these run once per build.

import { tipFormat } from "../variables.js";

/**
 * Main chart: average line with its 95% CI band, the random-slope fan (dashed, `showFan`)
 * and the 95% range of cluster lines (`showSpread`), one data set `curve`.
 * @param {object} state
 * @param {object} theme
 * @param {{pred: object, curve: object[], yDomain: [number, number], showFan: boolean,
 *   showSpread: boolean, width: number}} o `curve` rows from predictionCurve (with the fan)
 */
export function mainSpec(state, theme, {
  pred, curve, yDomain, showFan, showSpread, width, byModerator = [],
}) {
  const t = theme;
  const xv = state.variables[pred.name];
  const yTitle = state.glmm ? state.glmm.scale_label : state.response;
  const fitFormat = state.glmm ? ".3~r" : ".2f";
  // Every band and line shares one fixed y scale (see yDomain in interaction_model.js).
  const yEnc = (field, extra = {}) => ({
    field, type: "quantitative", title: yTitle,
    scale: { domain: yDomain, zero: false, nice: true }, ...extra,
  });
  // A GLMM's curves at each moderator value, thin and labelled, under the current curve.
  const moderatorLayers = byModerator.length ? [{
    data: { name: "bymod" },
    mark: { type: "line", strokeWidth: 1.4, opacity: 0.75, clip: true },
    encoding: {
      y: yEnc("fit"),
      color: {
        field: "label", type: "nominal", title: null, sort: null,
        scale: { range: moderatorColors(t, new Set(byModerator.map((r) => r.label)).size) },
        legend: { orient: "top", direction: "horizontal", offset: 2 },
      },
      strokeDash: { value: [4, 2] },
      tooltip: [{ field: "label", type: "nominal", title: "curve" },
        { field: "x", type: "quantitative", title: pred.name, format: ".3~r" },
        { field: "fit", type: "quantitative", title: yTitle, format: ".3~r" }],
    },
  }] : [];
  const base = {
    width,
    height: 280,
    datasets: byModerator.length ? { curve, bymod: byModerator } : { curve },
    data: { name: "curve" },
    params: [
      { name: "showFan", value: showFan },
      { name: "showSpread", value: showSpread },
    ],
    encoding: {
      x: {
        field: "x", type: "quantitative", title: pred.name,
        scale: { domain: [xv.min, xv.max], nice: false, zero: false },
      },
    },
    layer: [
      {
        mark: { type: "area", color: t.fan, clip: true },
        encoding: {
          y: yEnc("spread_lo"), y2: { field: "spread_hi" },
          opacity: { condition: { test: "showSpread", value: 0.1 }, value: 0 },
        },
      },
      {
        mark: { type: "area", color: t.fan, clip: true },
        encoding: {
          y: yEnc("fan_lo"), y2: { field: "fan_hi" },
          opacity: { condition: { test: "showFan", value: 0.12 }, value: 0 },
        },
      },
      ...["fan_lo", "fan_hi"].map((f) => ({
        mark: { type: "line", color: t.fan, strokeDash: [5, 4], strokeWidth: 1.5, clip: true },
        encoding: {
          y: yEnc(f),
          opacity: { condition: { test: "showFan", value: 0.9 }, value: 0 },
        },
      })),
      ...moderatorLayers,
      {
        mark: { type: "area", color: t.accent, opacity: t.dark ? 0.32 : 0.22, clip: true },
        encoding: { y: yEnc("lower"), y2: { field: "upper" } },
      },
      {
        mark: { type: "line", color: t.accent, strokeWidth: 2.5, clip: true },
        encoding: { y: yEnc("fit") },
      },
      {
        // Invisible points carry the tooltip (lines and areas have no per-x hover target).
        mark: { type: "point", opacity: 0, size: 80 },
        encoding: {
          y: yEnc("fit"),
          tooltip: [
            { field: "x", type: "quantitative", title: pred.name, format: ".3~r" },
            { field: "fit", type: "quantitative", title: `predicted ${yTitle}`, format: fitFormat },
            { field: "lower", type: "quantitative", title: `95% ${intervalWord(state)} lower`, format: fitFormat },
            { field: "upper", type: "quantitative", title: `95% ${intervalWord(state)} upper`, format: fitFormat },
          ],
        },
      },
    ],
  };
  return base;
}

/** Colours of the by-moderator curves: a pair, or low / middle / high for three ticks. */
export function moderatorColors(t, n) {
  return n === 2 ? [...t.binary] : [t.binary[0], t.fg3, t.binary[1], t.fan, t.sig];
}

/** "CI", or "CrI" for a posterior's credible intervals. */
export function intervalWord(state) {
  return state.posterior?.method === "bayes" ? "CrI" : "CI";
}

/** The slope axis' title: a GLMM's slopes are on the link scale. */
export function slopeTitle(state, name) {
  const scale = { logit: "log-odds", probit: "probit", cloglog: "cloglog", log: "log" };
  // short: the axis title runs along a 170 px high chart (the chart's heading names x)
  return state.glmm ? `slope (${scale[state.glmm.link] || state.glmm.link})`
    : `slope of ${name}`;
}

/**
 * Simple slope of the predictor across moderator `mod`. A discrete moderator gets one
 * interval per value (the current one in the accent colour, data set `slopes`); a
 * continuous one a band over its range with the Johnson-Neyman region shaded (`jn`) and the
 * current value marked (`current`).
 * @param {object} state
 * @param {object} theme
 * @param {{pred: object, mod: string, data: object, discrete: boolean, width: number}} o
 *   `data` a computeInteraction result for `mod`
 */
export function slopeSpec(state, theme, { pred, mod, data, discrete, width }) {
  const t = theme;
  const mv = state.variables[mod];
  const yTitle = slopeTitle(state, pred.name);
  const base = { width, height: 170 };
  if (discrete) {
    return {
      ...base,
      datasets: { slopes: data.slopes },
      data: { name: "slopes" },
      encoding: {
        x: { field: "label", type: "nominal", title: mod, sort: null, axis: { labelAngle: 0 } },
      },
      layer: [
        { mark: { type: "rule", color: t.fg3, strokeDash: [3, 3] }, encoding: { y: { datum: 0 }, x: null } },
        {
          mark: { type: "rule", strokeWidth: 2 },
          encoding: {
            y: { field: "lower", type: "quantitative", title: yTitle }, y2: { field: "upper" },
            color: { condition: { test: "datum.current", value: t.accent }, value: t.fg3 },
          },
        },
        {
          mark: { type: "point", filled: true },
          encoding: {
            y: { field: "estimate", type: "quantitative" },
            size: { condition: { test: "datum.current", value: 140 }, value: 70 },
            color: { condition: { test: "datum.current", value: t.accent }, value: t.fg3 },
            tooltip: slopeTooltip(mod, true, state),
          },
        },
      ],
    };
  }
  const xEnc = {
    type: "quantitative", title: mod, scale: { domain: [mv.min, mv.max], nice: false, zero: false },
  };
  return {
    ...base,
    datasets: { slopes: data.slopes, jn: data.jnRows, current: data.current },
    layer: [
      {
        data: { name: "jn" },
        mark: { type: "rect", color: t.sig, opacity: 0.13 },
        encoding: { x: { field: "start", ...xEnc }, x2: { field: "end" } },
      },
      {
        data: { name: "slopes" },
        layer: [
          {
            mark: { type: "area", color: t.accent, opacity: 0.2 },
            encoding: {
              x: { field: "m", ...xEnc },
              y: { field: "lower", type: "quantitative", title: yTitle }, y2: { field: "upper" },
            },
          },
          {
            mark: { type: "line", color: t.accent, strokeWidth: 2 },
            encoding: {
              x: { field: "m", ...xEnc }, y: { field: "estimate", type: "quantitative" },
              tooltip: slopeTooltip(mod, false, state),
            },
          },
        ],
      },
      {
        data: { name: "current" },
        layer: [
          { mark: { type: "rule", color: t.fg3, strokeDash: [3, 3] }, encoding: { y: { datum: 0 } } },
          {
            mark: { type: "rule", color: t.fg2, strokeWidth: 1 },
            encoding: { x: { field: "m", ...xEnc } },
          },
          {
            mark: { type: "rule", color: t.accent, strokeWidth: 3 },
            encoding: {
              x: { field: "m", ...xEnc }, y: { field: "lower", type: "quantitative" }, y2: { field: "upper" },
            },
          },
          {
            mark: { type: "point", filled: true, color: t.accent, size: 90, stroke: t.bg, strokeWidth: 1.5 },
            encoding: {
              x: { field: "m", ...xEnc }, y: { field: "estimate", type: "quantitative" },
              tooltip: slopeTooltip(mod, false, state),
            },
          },
        ],
      },
    ],
  };
}

/** Tooltip of a slope mark: moderator value (or level), slope, its CI and p. */
export function slopeTooltip(mod, discrete = false, state = {}) {
  const word = intervalWord(state);
  const bayes = word === "CrI";
  return [
    discrete ? { field: "label", type: "nominal", title: mod } : { field: "m", type: "quantitative", title: mod, format: tipFormat(state, mod) },
    { field: "estimate", type: "quantitative", title: bayes ? "posterior mean slope" : "slope", format: ".3f" },
    { field: "lower", type: "quantitative", title: `95% ${word} lower`, format: ".3f" },
    { field: "upper", type: "quantitative", title: `95% ${word} upper`, format: ".3f" },
    bayes ? { field: "prob_positive", type: "quantitative", title: "P(slope > 0)", format: ".3f" }
      : { field: "p", type: "quantitative", title: "p", format: ".3g" },
  ];
}
