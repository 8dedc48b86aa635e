// What the Clusters panel draws, as pure functions of the state: one row per cluster for the
// BLUP scatter, the spaghetti plot and the caterpillar plot, and their Vega-Lite specs. The
// panel (clusters.js) owns the DOM and the selection wiring; nothing here touches either.

import { clusterLines, grid, predictionCurve } from "../model.js";
import { clusterCurves, responseCurve } from "../glmm.js";
import { rankOrder } from "../selection.js";
import { extent, selectionParams, veilLayer } from "../charts.js";
import { tipFormat } from "../variables.js";

/** What a cluster's random effect is called: BLUP (LMM), mode (a GLMM's conditional mode,
 * link scale) or posterior mean (Bayes). */
export function effectLabel(state) {
  if (state.posterior?.method === "bayes") return "posterior mean";
  return state.glmm ? "mode" : "BLUP";
}

/** Axis key of the scatter's "cluster size (n)" choice (random-effect terms are the others). */
export const SIZE_KEY = "__n__";

const Z95 = 1.959963984540054;

// A constant (e.g. balanced cluster sizes) still needs an axis with some width.
const FLAT = { flat: (v) => Math.max(Math.abs(v) * 0.1, 0.5) };

/** [value, label] choices of the "colour" control: none, level-2 factors, level-2 variables. */
export function colorOptions(state) {
  const vars = state.variables;
  const opts = [["", "none"]];
  for (const name of Object.keys(state.clusters.factors || {})) opts.push([name, name]);
  for (const name of Object.keys(state.clusters.vars)) {
    if (vars[name]?.level === 2 && !vars[name].factor) opts.push([name, name]);
  }
  return opts;
}

/** Per-cluster values of the colour variable `colorBy`, or null for no colouring. */
export function colorValues(state, colorBy) {
  const cl = state.clusters;
  if (!colorBy) return null;
  return cl.factors?.[colorBy] || cl.vars[colorBy];
}

/** Per-cluster values of a scatter axis: a term's BLUPs or, for SIZE_KEY, cluster sizes. */
export function axisValues(state, key) {
  const cl = state.clusters;
  return key === SIZE_KEY ? cl.n : cl.ranef[key];
}

/** Title of a scatter axis. */
export function axisTitle(state, key) {
  return key === SIZE_KEY ? `observations per ${state.group}` : `${effectLabel(state)}: ${key}`;
}

/**
 * Colour encoding of field `c`: a fixed accent without `colorBy`, the factor's levels or a
 * binary variable's two values as categories, a continuous variable on viridis.
 */
export function colorEncoding(state, theme, colorBy) {
  const t = theme;
  if (!colorBy) return { value: t.accent };
  const f = state.factors?.[colorBy];
  if (f) {
    return {
      field: "c", type: "nominal", title: colorBy,
      scale: { domain: f.levels, range: [...t.binary, t.accent, t.fan, t.sig, t.fg3] },
      legend: { orient: "top", direction: "horizontal", offset: 4 },
    };
  }
  const v = state.variables[colorBy];
  if (v.kind === "binary") {
    return {
      field: "c", type: "nominal", title: colorBy,
      scale: { domain: v.values, range: t.binary },
      legend: { orient: "top", direction: "horizontal", offset: 4 },
    };
  }
  return {
    field: "c", type: "quantitative", title: colorBy,
    scale: { domain: [v.min, v.max], scheme: { name: "viridis", extent: t.dark ? [0.3, 1] : [0, 0.9] } },
    legend: { orient: "top", direction: "horizontal", gradientLength: 120, offset: 4 },
  };
}

/** Scatter rows {id, x, y, n, c}, one per cluster in state order. */
export function scatterRows(state, axisX, axisY, colorBy) {
  const cl = state.clusters;
  const xs = axisValues(state, axisX);
  const ys = axisValues(state, axisY);
  const cs = colorValues(state, colorBy);
  return cl.ids.map((id, i) => ({ id, x: xs[i], y: ys[i], n: cl.n[i], c: cs ? cs[i] : null }));
}

/**
 * Spaghetti data for predictor `x`: `rows` holds one segment {id, x, y, x2, y2, c} per cluster
 * (its line over its observed x range), `avg` the average line over the whole range with
 * every other variable at its mean. Null when `x` has no per-cluster range.
 */
export function spaghettiRows(state, model, x, colorBy) {
  const cl = state.clusters;
  if (!x || !cl.x_min?.[x]) return null;
  const cs = colorValues(state, colorBy);
  if (model.glmm) return glmmCurveRows(state, model, x, cs);
  const lines = clusterLines(model, x);
  // Cluster lines are straight: one rule (segment) per cluster, no per-cluster grouping.
  const rows = new Array(cl.ids.length);
  for (let i = 0; i < cl.ids.length; i++) {
    rows[i] = {
      id: cl.ids[i], x: lines.x0[i], y: lines.y0[i], x2: lines.x1[i], y2: lines.y1[i], c: cs ? cs[i] : null,
    };
  }
  const xv = state.variables[x];
  const means = {};
  for (const [name, v] of Object.entries(state.variables)) means[name] = v.mean;
  const ends = predictionCurve(model, x, means, grid(xv.min, xv.max, 2));
  const avg = [{ x: ends[0].x, y: ends[0].fit, x2: ends[1].x, y2: ends[1].fit }];
  return { rows, avg, x };
}

/**
 * A GLMM's spaghetti data: each cluster's curve on the response scale ({id, x, y, k, c}
 * rows, `byCluster[i]` those of cluster i, for highlights) and the typical cluster's curve
 * (`avg`, every other variable at its mean); `curves` tells the spec to draw lines.
 */
function glmmCurveRows(state, model, x, colors) {
  const { rows, byCluster } = clusterCurves(model, x, 12, colors);
  const xv = state.variables[x];
  const means = {};
  for (const [name, v] of Object.entries(state.variables)) means[name] = v.mean;
  const avg = responseCurve(model, x, means, grid(xv.min, xv.max, 40)).map((r, k) => ({ x: r.x, y: r.fit, k }));
  return { rows, byCluster, avg, x, curves: true };
}

/**
 * Caterpillar rows of `term`, ranked by BLUP: {id, rank (1-based), est, lo, hi} with 95%
 * intervals BLUP ± 1.96·SE (a posterior: the draws' 2.5% and 97.5% quantiles,
 * `clusters.ranef_lower/upper`); `pos[i]` is the rank position of cluster i (for highlights).
 */
export function caterpillarRows(state, term) {
  const cl = state.clusters;
  const est = cl.ranef[term];
  const se = cl.ranef_se[term];
  // a posterior's state carries the draws' quantiles (credible intervals)
  const lower = cl.ranef_lower?.[term];
  const upper = cl.ranef_upper?.[term];
  const order = rankOrder(est);
  const rows = new Array(order.length);
  const pos = new Array(order.length);
  order.forEach((i, rank) => {
    pos[i] = rank;
    rows[rank] = {
      id: cl.ids[i], rank: rank + 1, est: est[i],
      lo: lower ? lower[i] : est[i] - Z95 * se[i], hi: upper ? upper[i] : est[i] + Z95 * se[i],
    };
  });
  return { rows, pos };
}

/**
 * BLUP scatter: one point per cluster (brush "brush"), the veil and the highlighted points.
 * @param {object} state
 * @param {object} theme
 * @param {{rows: object[], hl: object[], any: boolean, axisX: string, axisY: string,
 *   colorBy: string, width: number}} o rows from scatterRows, hl its selected subset
 */
export function scatterSpec(state, theme, { rows, hl, any, axisX, axisY, colorBy, width }) {
  const t = theme;
  const tooltip = [
    { field: "id", type: "nominal", title: state.group },
    { field: "x", type: "quantitative", title: axisTitle(state, axisX), format: ".3f" },
    { field: "y", type: "quantitative", title: axisTitle(state, axisY), format: ".3f" },
    { field: "n", type: "quantitative", title: "n" },
  ];
  if (colorBy) {
    tooltip.push(state.factors?.[colorBy]
      ? { field: "c", type: "nominal", title: colorBy }
      : { field: "c", type: "quantitative", title: colorBy, format: tipFormat(state, colorBy) });
  }
  const x = {
    field: "x", type: "quantitative", title: axisTitle(state, axisX),
    scale: { domain: extent(rows, "x", FLAT), zero: false, nice: true },
  };
  const y = {
    field: "y", type: "quantitative", title: axisTitle(state, axisY),
    scale: { domain: extent(rows, "y", FLAT), zero: false, nice: true },
  };
  return {
    width,
    height: 270,
    datasets: { points: rows, hl },
    params: selectionParams(any),
    layer: shareEncoding({ x, y }, [
      {
        data: { name: "points" },
        params: [{
          name: "brush",
          select: {
            type: "interval", clear: "dblclick",
            mark: { fill: t.select, fillOpacity: 0.08, stroke: t.select, strokeWidth: 1 },
          },
        }],
        mark: { type: "circle", size: 42, opacity: 0.85 },
        encoding: { color: colorEncoding(state, t, colorBy), tooltip },
      },
      veilLayer(t),
      {
        data: { name: "hl" },
        mark: { type: "circle", size: 95, stroke: t.select, strokeWidth: 2.5, opacity: 1 },
        encoding: { color: colorEncoding(state, t, colorBy), tooltip },
      },
    ]),
  };
}

/**
 * Spaghetti plot: one rule per cluster, the dashed average line, the veil and the
 * highlighted clusters' lines.
 * @param {object} state
 * @param {object} theme
 * @param {{data: {rows: object[], avg: object[], x: string}, hl: object[], any: boolean,
 *   colorBy: string, width: number}} o data from spaghettiRows
 */
export function spaghettiSpec(state, theme, { data, hl, any, colorBy, width }) {
  const t = theme;
  if (data.curves) return curvesSpec(state, theme, { data, hl, any, colorBy, width });
  const xs = [...data.rows.map((r) => ({ v: r.x })), ...data.rows.map((r) => ({ v: r.x2 }))];
  const ys = [...data.rows.map((r) => ({ v: r.y })), ...data.rows.map((r) => ({ v: r.y2 })),
    ...data.avg.flatMap((r) => [{ v: r.y }, { v: r.y2 }])];
  const enc = {
    x: { field: "x", type: "quantitative", title: data.x, scale: { domain: extent(xs, "v", FLAT), nice: false } },
    y: {
      field: "y", type: "quantitative", title: state.response,
      scale: { domain: extent(ys, "v", FLAT), nice: true, zero: false },
    },
    x2: { field: "x2" },
    y2: { field: "y2" },
  };
  const idTip = [{ field: "id", type: "nominal", title: state.group }];
  return {
    width,
    height: 270,
    datasets: { lines: data.rows, avg: data.avg, hl },
    params: selectionParams(any),
    layer: shareEncoding(enc, [
      {
        data: { name: "lines" },
        mark: { type: "rule", strokeWidth: 1, strokeCap: "round", opacity: 0.5 },
        encoding: {
          color: colorBy ? { ...colorEncoding(state, t, colorBy), legend: null } : { value: t.fg3 },
          tooltip: idTip,
        },
      },
      {
        data: { name: "avg" },
        mark: { type: "rule", strokeWidth: 3, color: t.fg, strokeDash: [6, 3] },
      },
      veilLayer(t),
      {
        data: { name: "hl" },
        mark: { type: "rule", strokeWidth: 2.5, color: t.select, strokeCap: "round" },
        encoding: { tooltip: idTip },
      },
    ]),
  };
}

/** A GLMM's spaghetti plot: the clusters' curves (line per id), the typical cluster's dashed
 * curve, the veil and the highlighted clusters' curves. */
function curvesSpec(state, theme, { data, hl, any, colorBy, width }) {
  const t = theme;
  const enc = {
    x: { field: "x", type: "quantitative", title: data.x, scale: { domain: extent(data.rows, "x", FLAT), nice: false } },
    y: {
      field: "y", type: "quantitative", title: state.glmm.scale_label,
      scale: { domain: extent([...data.rows, ...data.avg], "y", FLAT), nice: true, zero: false },
    },
    order: { field: "k", type: "quantitative" },
  };
  const idTip = [{ field: "id", type: "nominal", title: state.group },
    { field: "y", type: "quantitative", title: state.glmm.scale, format: ".3~r" }];
  return {
    width,
    height: 270,
    datasets: { lines: data.rows, avg: data.avg, hl },
    params: selectionParams(any),
    layer: shareEncoding(enc, [
      {
        data: { name: "lines" },
        mark: { type: "line", strokeWidth: 1, opacity: 0.5 },
        encoding: {
          detail: { field: "id", type: "nominal" },
          color: colorBy ? { ...colorEncoding(state, t, colorBy), legend: null } : { value: t.fg3 },
          tooltip: idTip,
        },
      },
      { data: { name: "avg" }, mark: { type: "line", strokeWidth: 3, color: t.fg, strokeDash: [6, 3] } },
      veilLayer(t),
      {
        data: { name: "hl" },
        mark: { type: "line", strokeWidth: 2.5, color: t.select },
        encoding: { detail: { field: "id", type: "nominal" }, tooltip: idTip },
      },
    ]),
  };
}

/**
 * Caterpillar plot: 95% intervals and BLUPs by rank (brush "cbrush" along x), the veil and
 * the highlighted clusters.
 * @param {object} state
 * @param {object} theme
 * @param {{rows: object[], hl: object[], any: boolean, term: string, noun: string,
 *   width: number}} o rows from caterpillarRows
 */
export function caterpillarSpec(state, theme, { rows, hl, any, term, noun, width }) {
  const t = theme;
  const x = {
    field: "rank", type: "quantitative", title: `${noun} ranked by ${effectLabel(state)} of ${term}`,
    scale: { domain: [0, rows.length + 1], nice: false, zero: false }, axis: { tickCount: 8 },
  };
  const y = {
    // short: the title runs along a low chart (the x axis names the effect in full)
    field: "lo", type: "quantitative",
    title: `${effectLabel(state).replace("posterior ", "")}: ${term}${state.glmm ? " (link)" : ""}`,
    scale: { domain: [Math.min(0, ...rows.map((r) => r.lo)), Math.max(0, ...rows.map((r) => r.hi))], nice: true },
  };
  const tooltip = [
    { field: "id", type: "nominal", title: state.group },
    { field: "est", type: "quantitative", title: effectLabel(state), format: ".3f" },
    { field: "lo", type: "quantitative", title: "95% lower", format: ".3f" },
    { field: "hi", type: "quantitative", title: "95% upper", format: ".3f" },
  ];
  // Hundreds of intervals: thinner, fainter marks keep the ranking readable.
  const thin = rows.length > 300;
  return {
    width,
    height: 210,
    datasets: { cat: rows, hl },
    params: selectionParams(any),
    layer: shareEncoding({ x }, [
      { data: { name: "cat" }, mark: { type: "rule", color: t.fg3, strokeDash: [3, 3] }, encoding: { y: { datum: 0, scale: y.scale } }, shared: false },
      {
        data: { name: "cat" },
        params: [{
          name: "cbrush", select: { type: "interval", encodings: ["x"], clear: "dblclick",
            mark: { fill: t.select, fillOpacity: 0.08, stroke: t.select } },
        }],
        mark: { type: "rule", strokeWidth: thin ? 1 : 1.5, color: t.fg3, opacity: thin ? 0.4 : 0.6 },
        encoding: { y, y2: { field: "hi" } },
      },
      {
        data: { name: "cat" },
        mark: { type: "circle", size: thin ? 8 : 18, color: t.accent, opacity: 0.9 },
        encoding: { y: { ...y, field: "est" }, tooltip },
      },
      veilLayer(t),
      {
        data: { name: "hl" },
        mark: { type: "rule", strokeWidth: 2, color: t.select },
        encoding: { y, y2: { field: "hi" } },
      },
      {
        data: { name: "hl" },
        mark: { type: "circle", size: 50, color: t.select, stroke: t.bg, strokeWidth: 1, opacity: 1 },
        encoding: { y: { ...y, field: "est" }, tooltip },
      },
    ]),
  };
}

/** Give every layer the shared encoding except veils and layers marked `shared: false`. */
export function shareEncoding(enc, layers) {
  return layers.map((layer) => {
    const { shared, ...rest } = layer;
    if (shared === false || rest.name === "veil") return rest;
    return { ...rest, encoding: { ...enc, ...(rest.encoding || {}) } };
  });
}
