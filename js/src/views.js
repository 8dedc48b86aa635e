// The Vega views of one panel, by name: embed a spec, keep the view as wide as its box,
// publish it on ctx.views (the browser tests' hook), rebuild one or all of them (a control
// changed, the theme changed) and finalize them. Every panel used to carry its own copy of
// this bookkeeping (views + fits maps, rebuild, rebuildView, destroyViews).

import { embedChart, fitWidth } from "./charts.js";

export class ChartViews {
  /**
   * @param {{theme: object, views: object}} ctx the explorer context: charts use
   *   `ctx.theme`; mounted views are published as `ctx.views[alias or name]`
   * @param {{aliases?: Record<string, string>, builders?: Record<string, () => Promise<void>>}} opts
   *   `aliases`: panel-local name -> key under ctx.views where the public name differs (the
   *   Clusters panel's "scatter" is `ctx.views.blup`); `builders`: name -> function that
   *   computes the view's spec and mounts it (used by build, rebuild and rebuildView)
   */
  constructor(ctx, { aliases = {}, builders = {} } = {}) {
    this.ctx = ctx;
    this.aliases = aliases;
    this.builders = builders;
    /** @type {Map<string, import("vega").View>} */
    this.views = new Map();
    /** @type {Map<string, () => void>} width-observer disconnects */
    this.fits = new Map();
  }

  /**
   * Embed `spec` into `box` as view `name`, replacing (and finalizing) any view of that name.
   * @param {string} name
   * @param {HTMLElement} box
   * @param {object} spec Vega-Lite spec
   * @param {{label?: string, fileName?: string}} opts passed to embedChart
   * @returns {Promise<import("vega").View>}
   */
  async mount(name, box, spec, opts = {}) {
    this.drop(name);
    const view = await embedChart(box, spec, this.ctx.theme, opts);
    // Two overlapping rebuilds of one view (a colour change while the predictor changes):
    // the last to finish stays, the other is finalized rather than leaked.
    this.drop(name);
    this.views.set(name, view);
    this.fits.set(name, fitWidth(box, view));
    this.ctx.views[this.publicName(name)] = view;
    return view;
  }

  /** The view called `name`, or undefined. */
  get(name) {
    return this.views.get(name);
  }

  /** [name, view] pairs of the mounted views. */
  entries() {
    return [...this.views.entries()];
  }

  /** Finalize view `name` and stop tracking its width; no-op when there is none. */
  drop(name) {
    const view = this.views.get(name);
    if (!view) return;
    view.finalize();
    this.fits.get(name)?.();
    this.views.delete(name);
    this.fits.delete(name);
    // Tests read ctx.views: never leave a finalized view there.
    const key = this.publicName(name);
    if (this.ctx.views[key] === view) delete this.ctx.views[key];
  }

  /** Drop every view (before a full rebuild, and on destroy). */
  clear() {
    for (const name of [...this.views.keys()]) this.drop(name);
  }

  /** Run every builder, concurrently (the charts do not depend on each other). */
  async build() {
    await Promise.all(Object.values(this.builders).map((build) => build()));
  }

  /** Drop and rebuild every view (a setting all of them use changed, or the theme). */
  async rebuild() {
    this.clear();
    await this.build();
  }

  /** Drop and rebuild view `name` alone (a control of that chart changed). */
  async rebuildView(name) {
    this.drop(name);
    await this.builders[name]();
  }

  publicName(name) {
    return this.aliases[name] || name;
  }
}
