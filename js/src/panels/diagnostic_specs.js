// Vega-Lite specs of the Diagnostics panel's three linked charts: the influence index plot,
// residuals vs fitted and the QQ plot of one random effect. Pure functions of the rows from
// diagnostic_rows.js; the panel (diagnostics.js) embeds them and wires the selection.
//
// Every chart layers: its points (with an interval brush), the veil that dims them while
// anything is selected, and the selected clusters (`hl`) on top.

import { fmt } from "../dom.js";
import { extent, selectionParams, veilLayer } from "../charts.js";
import { labelRows } from "./diagnostic_rows.js";

const brushMark = (t) => ({ fill: t.select, fillOpacity: 0.08, stroke: t.select });

/**
 * Influence index plot: Cook's distance per cluster as needles in level order, the dashed
 * cutoff line with its rule, labels on the largest flagged clusters (brush "ibrush", x only).
 * @param {object} diag state.diagnostics
 * @param {object} theme
 * @param {{rows: object[], hl: object[], any: boolean, width: number}} o rows from
 *   influenceRows, hl its selected subset
 */
export function influenceSpec(diag, theme, { rows, hl, any, width }) {
  const t = theme;
  const inf = diag.influence;
  const g = diag.group;
  const maxC = Math.max(inf.cutoff, ...rows.map((r) => r.cooks ?? 0));
  const x = {
    field: "index", type: "quantitative", title: `${g} (index, in level order)`,
    scale: { domain: [0, rows.length + 1], nice: false, zero: false }, axis: { tickCount: 8 },
  };
  const y = { field: "cooks", type: "quantitative", title: "Cook's distance", scale: { domain: [0, maxC * 1.08], nice: true } };
  const tooltip = [
    { field: "id", type: "nominal", title: g },
    { field: "n", type: "quantitative", title: "n" },
    { field: "cooks", type: "quantitative", title: "Cook's distance", format: ".4f" },
    { field: "covratio", type: "quantitative", title: "covratio", format: ".3f" },
    { field: "leverage", type: "quantitative", title: "leverage", format: ".3f" },
  ];
  // Hundreds of clusters: thinner needles and smaller dots keep the plot readable.
  const many = rows.length > 300;
  const flagColor = t.select;
  return {
    width,
    height: 220,
    datasets: { inf: rows, hl, hlLab: labelRows(hl), cut: [{ y: inf.cutoff }] },
    params: selectionParams(any),
    layer: [
      {
        data: { name: "inf" },
        mark: { type: "rule", strokeWidth: many ? 1 : 1.5, color: t.fg3, opacity: 0.55 },
        encoding: { x, y, y2: { datum: 0 } },
      },
      {
        data: { name: "inf" },
        params: [{
          name: "ibrush", select: { type: "interval", encodings: ["x"], clear: "dblclick",
            mark: brushMark(t) },
        }],
        mark: { type: "circle", size: many ? 14 : 30, opacity: 0.9 },
        encoding: {
          x, y, tooltip,
          color: { condition: { test: "datum.flag", value: flagColor }, value: t.accent },
        },
      },
      {
        data: { name: "cut" },
        mark: { type: "rule", color: flagColor, strokeDash: [5, 4], strokeWidth: 1.5 },
        encoding: { y: { field: "y", type: "quantitative", scale: y.scale } },
      },
      {
        data: { name: "cut" },
        mark: { type: "text", align: "right", baseline: "bottom", dy: -3, x: { expr: "width" }, color: flagColor, fontSize: 11 },
        encoding: {
          y: { field: "y", type: "quantitative", scale: y.scale },
          text: { value: `${inf.cutoff_rule} = ${fmt(inf.cutoff, 4)}` },
        },
      },
      {
        name: "passive_labels",
        data: { name: "inf" },
        transform: [{ filter: "datum.label" }],
        mark: { type: "text", align: "left", dx: 5, dy: -5, fontSize: 11, color: t.fg },
        encoding: { x, y, text: { field: "id" } },
      },
      veilLayer(t),
      {
        data: { name: "hl" },
        mark: { type: "circle", size: 90, stroke: t.select, strokeWidth: 2.5, fill: t.select, fillOpacity: 0.35, opacity: 1 },
        encoding: { x, y, tooltip },
      },
      {
        name: "passive_hl_labels",
        data: { name: "hlLab" },
        mark: { type: "text", align: "left", dx: 5, dy: -5, fontSize: 11, fontWeight: 600, color: t.select },
        encoding: { x, y, text: { field: "id" } },
      },
    ],
  };
}

/**
 * Conditional residuals against fitted values with dashed lines at 0 and ±3σ (brush
 * "rbrush"); the y domain always includes ±3σ.
 * @param {object} diag state.diagnostics
 * @param {object} theme
 * @param {{rows: object[], hl: object[], any: boolean, response: string, width: number}} o
 *   rows from residualRows
 */
export function residualSpec(diag, theme, { rows, hl, any, response, width }) {
  const t = theme;
  const r = diag.residuals;
  const g = diag.group;
  const x = { field: "fitted", type: "quantitative", title: `fitted ${response}`, scale: { zero: false, nice: true, domain: extent(rows, "fitted") } };
  // a GLMM ships Pearson residuals (SD 1 under the model) against fitted means
  const yTitle = r.kind === "pearson" ? `Pearson residual (${response})` : `residual (${response})`;
  const y = { field: "resid", type: "quantitative", title: yTitle, scale: { zero: false, nice: true, domain: extent(rows, "resid", { pad: 3 * r.sigma }) } };
  const tooltip = [
    { field: "id", type: "nominal", title: g },
    { field: "fitted", type: "quantitative", title: "fitted", format: ".3f" },
    { field: "resid", type: "quantitative", title: "residual", format: ".3f" },
  ];
  // Dense clouds: smaller, fainter points so the structure (funnels, curvature) shows.
  const n = rows.length;
  return {
    width,
    height: 250,
    datasets: { pts: rows, hl, refs: [-3, 0, 3].map((k) => ({ y: k * r.sigma, k })) },
    params: selectionParams(any),
    layer: [
      {
        data: { name: "refs" },
        mark: { type: "rule", color: t.fg3, strokeDash: [4, 3] },
        encoding: { y: { field: "y", type: "quantitative", scale: y.scale }, strokeOpacity: { condition: { test: "datum.k === 0", value: 0.9 }, value: 0.5 } },
      },
      {
        data: { name: "pts" },
        params: [{
          name: "rbrush", select: { type: "interval", clear: "dblclick",
            mark: brushMark(t) },
        }],
        mark: { type: "circle", size: n > 1000 ? 10 : 16, opacity: n > 1000 ? 0.45 : 0.6, color: t.accent },
        encoding: { x, y, tooltip },
      },
      veilLayer(t),
      {
        data: { name: "hl" },
        mark: { type: "circle", size: 36, color: t.select, stroke: t.bg, strokeWidth: 0.8, opacity: 1 },
        encoding: { x, y, tooltip },
      },
    ],
  };
}

/**
 * Normal QQ plot of the standardized BLUPs of `term`: the pointwise envelope as a band, the
 * identity line, points outside the envelope in the selection colour (brush "qbrush").
 * @param {object} diag state.diagnostics
 * @param {object} theme
 * @param {{rows: object[], hl: object[], any: boolean, term: string, width: number}} o rows
 *   from qqRows (sorted by theoretical quantile)
 */
export function qqSpec(diag, theme, { rows, hl, any, term, width }) {
  const t = theme;
  const g = diag.group;
  const lo = Math.min(...rows.map((r) => Math.min(r.lower, r.sample, r.theo)));
  const hi = Math.max(...rows.map((r) => Math.max(r.upper, r.sample, r.theo)));
  const tlo = rows.length ? rows[0].theo : -1;
  const thi = rows.length ? rows[rows.length - 1].theo : 1;
  const x = { field: "theo", type: "quantitative", title: "normal quantile", scale: { domain: [tlo, thi], nice: true, zero: false } };
  const y = { field: "sample", type: "quantitative", title: `BLUP: ${term} (standardized)`, scale: { domain: [lo, hi], nice: true, zero: false } };
  const tooltip = [
    { field: "id", type: "nominal", title: g },
    { field: "sample", type: "quantitative", title: "standardized BLUP", format: ".3f" },
    { field: "theo", type: "quantitative", title: "normal quantile", format: ".3f" },
  ];
  return {
    width,
    height: 250,
    datasets: { qq: rows, hl, diag: [{ v: tlo }, { v: thi }] },
    params: selectionParams(any),
    layer: [
      {
        name: "passive_band",
        data: { name: "qq" },
        mark: { type: "area", color: t.fan, opacity: 0.16 },
        encoding: { x, y: { field: "lower", type: "quantitative", scale: y.scale }, y2: { field: "upper" } },
      },
      {
        data: { name: "diag" },
        mark: { type: "line", color: t.fg3, strokeDash: [4, 3] },
        encoding: { x: { field: "v", type: "quantitative", scale: x.scale }, y: { field: "v", type: "quantitative", scale: y.scale } },
      },
      {
        data: { name: "qq" },
        params: [{
          name: "qbrush", select: { type: "interval", clear: "dblclick",
            mark: brushMark(t) },
        }],
        mark: { type: "circle", size: rows.length > 500 ? 14 : 26, opacity: 0.85 },
        encoding: {
          x, y, tooltip,
          color: { condition: { test: "datum.out", value: t.select }, value: t.accent },
        },
      },
      veilLayer(t),
      {
        data: { name: "hl" },
        mark: { type: "circle", size: 80, stroke: t.select, strokeWidth: 2.5, fill: t.select, fillOpacity: 0.35, opacity: 1 },
        encoding: { x, y, tooltip },
      },
    ],
  };
}
