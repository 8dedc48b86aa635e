// Bundle entry: the anywidget front end (`export default { render }`) and `renderStatic`
// for offline HTML reports. Both draw the same explorer from the same state (STATE.md).

import "./explorer.css";
import { createExplorer, checkState, STATE_VERSION } from "./explorer.js";
import { registerPanel, PANELS } from "./panels/index.js";
import * as model from "./model.js";
import * as stats from "./stats.js";
import * as selection from "./selection.js";
import * as charts from "./charts.js";
import * as dom from "./dom.js";
import { readTheme } from "./theme.js";
import { claimLive, bootFallback as bootCopy, isLive } from "./fallback.js";

/**
 * anywidget entry: `state` and `selected` are synced traits of ModelExplorer.
 * @param {{model: any, el: HTMLElement}} args
 */
function render({ model, el }) {
  // While this live view exists, the output's offline copy (fallback.js) stays hidden.
  const release = claimLive(model.get("_fallback_id"));
  const destroy = createExplorer(el, model);
  return () => {
    destroy();
    release();
  };
}

/** Minimal stand-in for an anywidget model, so static pages share the widget code path. */
export class LocalModel {
  constructor(values) {
    this.values = { selected: [], ...values };
    this.handlers = new Map();
  }
  get(key) {
    return this.values[key];
  }
  set(key, value) {
    this.values[key] = value;
    for (const fn of this.handlers.get(`change:${key}`) || []) fn();
  }
  on(event, fn) {
    if (!this.handlers.has(event)) this.handlers.set(event, new Set());
    this.handlers.get(event).add(fn);
  }
  off(event, fn) {
    this.handlers.get(event)?.delete(fn);
  }
  save_changes() {}
}

/**
 * Render the explorer into `el` from a state object, with no kernel (reports, nbconvert).
 * @param {HTMLElement} el
 * @param {object} state explorer state (STATE.md)
 * @param {{selected?: string[], theme?: "auto"|"light"|"dark", onSelect?: (ids: string[]) => void}} options
 * @returns {{model: LocalModel, destroy: () => void}}
 */
export function renderStatic(el, state, options = {}) {
  const local = new LocalModel({ state, selected: options.selected || [] });
  if (options.onSelect) local.on("change:selected", () => options.onSelect(local.get("selected")));
  if (options.theme === "dark") el.classList.add("mlm-dark");
  if (options.theme === "light") el.classList.add("mlm-light");
  const destroy = createExplorer(el, local);
  return { model: local, destroy };
}

/**
 * Boot the offline copy of a notebook output (mlm_jupyter/display/fallback.py): render it
 * where the live widget is not shown, hide it while the live widget is.
 * @param {HTMLElement} el `.mlm-fallback` element
 * @param {object} state explorer state
 * @param {object} options as for renderStatic
 * @returns {() => void} cleanup
 */
export function bootFallback(el, state, options = {}) {
  return bootCopy(el, state, options, renderStatic);
}

// Offline copies on the page use the module a live widget already loaded (no second parse).
globalThis.__mlmExplorerModule ??= Promise.resolve({ renderStatic, bootFallback, isLive });

export {
  isLive, checkState, STATE_VERSION, registerPanel, PANELS, model, stats, selection, charts, dom, readTheme,
};

export default { render };
