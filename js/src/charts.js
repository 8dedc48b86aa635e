// Vega-Lite chart plumbing: embed a spec once, then update it only through named data sets
// and signals (view.data / view.signal), which costs a dataflow run, not a recompile.

import embed from "vega-embed";
import { vegaConfig } from "./theme.js";

const ACTIONS = { export: true, source: false, compiled: false, editor: false };

/**
 * Embed a Vega-Lite spec into `container` with the explorer's theme.
 * @param {HTMLElement} container
 * @param {object} spec Vega-Lite spec (named data sets, no URLs)
 * @param {object} theme palette from readTheme
 * @param {{renderer?: "canvas"|"svg", label?: string}} opts
 * @returns {Promise<import("vega").View>}
 */
export async function embedChart(container, spec, theme, opts = {}) {
  const full = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    autosize: { type: "fit", contains: "padding" },
    ...spec,
    config: { ...vegaConfig(theme), ...(spec.config || {}) },
  };
  const result = await embed(container, full, {
    mode: "vega-lite",
    renderer: opts.renderer || "canvas",
    actions: ACTIONS,
    tooltip: { theme: theme.dark ? "dark" : "light" },
    downloadFileName: opts.fileName || "mlm-chart",
    patch: nonInteractiveVeils,
    i18n: { PNG_ACTION: "Save as PNG", SVG_ACTION: "Save as SVG" },
  });
  const canvas = container.querySelector("canvas, svg");
  if (canvas && opts.label) {
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", opts.label);
  }
  return result.view;
}

/**
 * Make "veil" and "passive*" marks (see veilLayer) transparent to pointer events, so
 * brushing, clicks and tooltips reach the marks beneath.
 */
function nonInteractiveVeils(spec) {
  const visit = (node) => {
    for (const mark of node.marks || []) {
      if (typeof mark.name === "string" && /^(veil|passive)/.test(mark.name)) mark.interactive = false;
      visit(mark);
    }
  };
  visit(spec);
  return spec;
}

/**
 * A full-plot rectangle in the background colour that fades everything beneath it while
 * `signal` is true. Dimming the unselected clusters this way re-encodes one item instead
 * of every cluster's mark, which keeps selection updates fast with thousands of clusters.
 */
export function veilLayer(theme, signal = "anysel", strength = 0.72) {
  return {
    name: "veil",
    data: { values: [{}] },
    mark: {
      type: "rect", x: 0, y: 0, x2: { expr: "width" }, y2: { expr: "height" },
      fill: theme.bg, opacity: { expr: `${signal} ? ${strength} : 0` },
    },
  };
}

/**
 * The `anysel` signal that veilLayer reads: true while any cluster is selected. Views of
 * linked panels start with the current selection and are then updated by signal.
 * @param {boolean} any
 */
export function selectionParams(any) {
  return [{ name: "anysel", value: any }];
}

/**
 * Explicit [min, max] of `rows[i][field]` for a scale domain. Linked views set their domains
 * from the full data because the highlight layer (often empty) must not drive the scales.
 * @param {object[]} rows
 * @param {string} field
 * @param {{pad?: number, flat?: (v: number) => number}} opts `pad`: widen to include ±pad
 *   (e.g. ±3σ around 0); `flat(v)`: half-width given to a constant field so its axis has width
 * @returns {[number, number]} [0, 1] when no value is finite
 */
export function extent(rows, field, { pad = 0, flat = () => 0.5 } = {}) {
  let lo = pad ? -pad : Infinity;
  let hi = pad ? pad : -Infinity;
  for (const r of rows) {
    const v = r[field];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!Number.isFinite(lo)) return [0, 1];
  if (hi === lo) return [lo - flat(lo), hi + flat(hi)];
  return [lo, hi];
}

/** Replace a named data set's values. */
export function setData(view, name, values) {
  view.data(name, values);
}

/**
 * Right-hand gutter kept free for Vega's "⋯" actions button (explorer.css pads the embed by
 * the same amount), so the button never covers data such as the top-ranked caterpillar point.
 */
export const ACTIONS_GUTTER = 30;

/** Width available to a chart's view in `container` (at least `min`). */
export function containerWidth(container, min = 240) {
  const w = container.getBoundingClientRect().width;
  return Math.max(Math.floor(w || 0) - ACTIONS_GUTTER, min);
}

/**
 * Keep a view as wide as its container (notebook panes resize). Returns a disconnect.
 * @param {HTMLElement} container
 * @param {import("vega").View} view
 */
export function fitWidth(container, view) {
  if (typeof ResizeObserver === "undefined") return () => {};
  let last = containerWidth(container);
  let frame = 0;
  const ro = new ResizeObserver(() => {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(() => {
      const w = containerWidth(container);
      if (Math.abs(w - last) < 2) return;
      last = w;
      view.width(w).runAsync();
    });
  });
  ro.observe(container);
  return () => ro.disconnect();
}

/** Remove an interval brush drawn by a Vega-Lite `select: "interval"` param named `name`. */
export async function clearBrush(view, name) {
  const store = `${name}_store`;
  try {
    view.data(store, []);
    for (const suffix of ["_x", "_y"]) {
      try {
        view.signal(`${name}${suffix}`, []);
      } catch {
        /* this brush has no such channel */
      }
    }
    await view.runAsync();
  } catch {
    /* the view has no brush */
  }
}

/** Call `fn(width)` (debounced) when the container's width changes by more than `tol` px. */
export function onResize(container, fn, tol = 2) {
  if (typeof ResizeObserver === "undefined") return () => {};
  let last = containerWidth(container);
  let timer = 0;
  const ro = new ResizeObserver(() => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const w = containerWidth(container);
      if (Math.abs(w - last) <= tol) return;
      last = w;
      fn(w);
    }, 150);
  });
  ro.observe(container);
  return () => {
    clearTimeout(timer);
    ro.disconnect();
  };
}
