// Linked cluster views: clicks and interval brushes in a panel's charts set the shared
// ctx.selection, and every selection change (from any panel or from Python) is pushed back
// into the charts as a small highlight data set plus the `anysel` dimming signal. The
// Clusters and Diagnostics panels share this wiring.

import { clearBrush, selectionParams } from "./charts.js";

export class SelectionLink {
  /**
   * @param {object} ctx explorer context (`selection`)
   * @param {import("./views.js").ChartViews} views the panel's views
   * @param {{brushPrefix: string, clickSource: string}} sources selection sources: a brush
   *   `b` reports `${brushPrefix}${b}` (so other brushes know to clear themselves), a click
   *   reports `clickSource`
   */
  constructor(ctx, views, { brushPrefix, clickSource }) {
    this.ctx = ctx;
    this.views = views;
    this.brushPrefix = brushPrefix;
    this.clickSource = clickSource;
    /** brush name -> view name; the view is looked up at use, so rebuilt views are found. */
    this.brushes = new Map();
    /** brushes the user has drawn (only clearing one of those clears the selection) */
    this.brushActive = new Set();
    /** brushes being cleared by push (their own signal events are not the user's) */
    this.clearing = new Set();
    this.pendingT0 = undefined;
  }

  /** The `anysel` param for a new view's spec, from the current selection. */
  params() {
    return selectionParams(this.ctx.selection.size > 0);
  }

  /** Note when a user action started, so the update it causes is timed from there. */
  mark(t0 = performance.now()) {
    this.pendingT0 = t0;
  }

  /** When the pending action started (or now), and forget it. */
  takeT0() {
    const t0 = this.pendingT0 ?? performance.now();
    this.pendingT0 = undefined;
    return t0;
  }

  /**
   * Brush -> selection, coalesced to one update per animation frame.
   * @param {string} viewName the view's name in `views`
   * @param {import("vega").View} view
   * @param {string} brush name of the view's `select: "interval"` param
   * @param {(value: object) => string[]} pick ids inside the brush; `value` maps each brushed
   *   field to its [lo, hi] interval
   */
  wireBrush(viewName, view, brush, pick) {
    let frame = 0;
    let cleared = false;
    const source = `${this.brushPrefix}${brush}`;
    // Only a double-click (Vega-Lite's `clear`) empties the selection from a brush. A click
    // also starts a zero-size brush, and a rebuilt view reports an empty one: reading those
    // as "clear" raced with the click's own selection and swallowed the next drag.
    view.container().addEventListener("dblclick", () => { cleared = true; }, true);
    view.addSignalListener(brush, (_, value) => {
      if (this.clearing.has(brush)) return;
      cancelAnimationFrame(frame);
      const t0 = performance.now();
      frame = requestAnimationFrame(() => {
        if (!Object.keys(value || {}).length) {
          if (cleared && this.brushActive.has(brush)) this.ctx.selection.clear(source);
          cleared = false;
          this.brushActive.delete(brush);
          return;
        }
        if (degenerate(value)) return;
        this.brushActive.add(brush);
        this.mark(t0);
        this.ctx.selection.set(pick(value), source);
      });
    });
    this.brushes.set(brush, viewName);
  }

  /** Click a mark with an id: select it alone, click it again to clear, Shift/Ctrl/Cmd toggles. */
  wireClick(view) {
    let down = null;
    view.container().addEventListener("pointerdown", (ev) => { down = [ev.clientX, ev.clientY]; });
    view.addEventListener("click", (ev, item) => {
      if (down && Math.hypot(ev.clientX - down[0], ev.clientY - down[1]) > 4) return; // a drag
      const id = item?.datum?.id;
      if (id === undefined) return;
      this.pick(String(id), ev);
    });
  }

  /** Select one id as a click on it would (buttons use this too). */
  pick(id, ev = {}) {
    this.mark();
    const sel = this.ctx.selection;
    if (ev.shiftKey || ev.metaKey || ev.ctrlKey) sel.toggle(id, this.clickSource);
    else if (sel.size === 1 && sel.has(id)) sel.clear(this.clickSource);
    else sel.set([id], this.clickSource);
  }

  /**
   * Push a selection change into every view: `fill(name, view)` sets its highlight data
   * sets, `any` the dimming flag; brushes other than the one that made the change are
   * cleared (their rectangle no longer describes the selection).
   * @param {string} source the selection's source
   * @param {boolean} any whether anything is selected in these views
   * @param {(name: string, view: import("vega").View) => void} fill
   */
  async push(source, any, fill) {
    const jobs = [];
    for (const [name, view] of this.views.entries()) {
      fill(name, view);
      if (view.signal("anysel") !== any) view.signal("anysel", any);
      jobs.push(view.runAsync());
    }
    const clearing = [];
    for (const [brush, viewName] of this.brushes) {
      const view = this.views.get(viewName);
      if (!view || source === `${this.brushPrefix}${brush}`) continue;
      if (view.data(`${brush}_store`)?.length) {
        this.brushActive.delete(brush);
        this.clearing.add(brush);
        clearing.push(brush);
        jobs.push(clearBrush(view, brush));
      }
    }
    try {
      await Promise.all(jobs);
    } finally {
      for (const brush of clearing) this.clearing.delete(brush);
    }
  }
}

/** A brush of zero width in some field: what a plain click leaves behind, not a drag. */
export function degenerate(value) {
  return Object.values(value).some((v) => Array.isArray(v) && v.length === 2 &&
    typeof v[0] === "number" && v[0] === v[1]);
}
