// The shared view lifecycle (js/src/views.js) and selection linking (js/src/linking.js),
// with Vega views replaced by small fakes (vitest runs without a DOM).
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Selection } from "../src/selection.js";

vi.mock("../src/charts.js", async (importOriginal) => {
  const real = await importOriginal();
  return {
    ...real,
    embedChart: vi.fn(async (box, spec) => fakeView(spec)),
    fitWidth: vi.fn(() => vi.fn()),
  };
});

const { ChartViews } = await import("../src/views.js");
const { SelectionLink } = await import("../src/linking.js");
const charts = await import("../src/charts.js");

/** Enough of a Vega view for the helpers: data sets, signals, listeners, finalize. */
function fakeView(spec = {}) {
  const data = { ...(spec.datasets || {}) };
  const signals = {};
  const listeners = {};
  const clicks = [];
  return {
    spec, finalized: false, runs: 0,
    data(name, rows) {
      if (rows === undefined) return data[name];
      data[name] = rows;
      return this;
    },
    signal(name, value) {
      if (value === undefined) return signals[name];
      signals[name] = value;
      return this;
    },
    addSignalListener(name, fn) { (listeners[name] ||= []).push(fn); },
    fire(name, value) { for (const fn of listeners[name] || []) fn(name, value); },
    addEventListener(type, fn) { if (type === "click") clicks.push(fn); },
    click(ev, item) { for (const fn of clicks) fn(ev, item); },
    dom: {},
    container() {
      const dom = this.dom;
      return { addEventListener(type, fn) { (dom[type] ||= []).push(fn); } };
    },
    dblclick() { for (const fn of this.dom.dblclick || []) fn(); },
    async runAsync() { this.runs += 1; return this; },
    finalize() { this.finalized = true; },
  };
}

function makeCtx(ids = ["a", "b", "c"]) {
  return { theme: {}, views: {}, selection: new Selection(ids) };
}

describe("ChartViews", () => {
  it("mounts, publishes under an alias, replaces and drops views", async () => {
    const ctx = makeCtx();
    const views = new ChartViews(ctx, { aliases: { scatter: "blup" } });
    const first = await views.mount("scatter", {}, { datasets: { hl: [] } });
    expect(ctx.views.blup).toBe(first);
    expect(views.get("scatter")).toBe(first);
    const off = views.fits.get("scatter");
    const second = await views.mount("scatter", {}, {});
    expect(first.finalized).toBe(true);
    expect(off).toHaveBeenCalledOnce(); // the old view's width observer is disconnected
    expect(ctx.views.blup).toBe(second);
    await views.mount("cat", {}, {});
    expect(views.entries().map(([name]) => name)).toEqual(["scatter", "cat"]);
    views.drop("cat");
    expect(ctx.views.cat).toBeUndefined();
    views.drop("nothing");
    views.clear();
    expect(second.finalized).toBe(true);
    expect(views.entries()).toEqual([]);
    expect(ctx.views).toEqual({});
  });

  it("builds all views, rebuilds all or one through the builders", async () => {
    const ctx = makeCtx();
    const built = [];
    const views = new ChartViews(ctx, {
      builders: {
        a: async () => { built.push("a"); await views.mount("a", {}, {}); },
        b: async () => { built.push("b"); await views.mount("b", {}, {}); },
      },
    });
    await views.build();
    const [a0, b0] = [views.get("a"), views.get("b")];
    await views.rebuildView("b");
    expect(b0.finalized).toBe(true);
    expect(a0.finalized).toBe(false);
    await views.rebuild();
    expect(a0.finalized).toBe(true);
    expect(built).toEqual(["a", "b", "b", "a", "b"]);
    expect(Object.keys(ctx.views)).toEqual(["a", "b"]);
  });

  it("keeps one view when two rebuilds of it overlap, and finalizes the other", async () => {
    const ctx = makeCtx();
    const views = new ChartViews(ctx);
    const [a, b] = await Promise.all([views.mount("v", {}, {}), views.mount("v", {}, {})]);
    const kept = views.get("v");
    expect([a, b]).toContain(kept);
    expect((kept === a ? b : a).finalized).toBe(true);
    expect(kept.finalized).toBe(false);
    expect(charts.embedChart).toHaveBeenCalled();
  });
});

describe("SelectionLink", () => {
  let ctx;
  let views;
  let link;

  beforeEach(() => {
    globalThis.requestAnimationFrame = (fn) => setTimeout(fn, 0);
    globalThis.cancelAnimationFrame = (id) => clearTimeout(id);
    ctx = makeCtx();
    views = new ChartViews(ctx);
    link = new SelectionLink(ctx, views, { brushPrefix: "brush:", clickSource: "click" });
  });
  afterEach(() => {
    delete globalThis.requestAnimationFrame;
    delete globalThis.cancelAnimationFrame;
  });

  it("clicks select one cluster, toggle with Shift, and clear on a second click", () => {
    const sources = [];
    ctx.selection.subscribe((sel, source) => sources.push([sel.list().join(), source]));
    link.pick("a");
    link.pick("b", { shiftKey: true });
    link.pick("a", { metaKey: true });
    link.pick("b");
    expect(sources).toEqual([["a", "click"], ["a,b", "click"], ["b", "click"], ["", "click"]]);
    expect(link.takeT0()).toBeGreaterThan(0);
    expect(link.pendingT0).toBeUndefined();
  });

  it("a drawn brush selects, and only clearing a drawn brush clears the selection", async () => {
    const view = await views.mount("scatter", {}, {});
    link.wireBrush("scatter", view, "brush", (value) => (value.x[0] < 0 ? ["a", "b"] : ["c"]));
    const sources = [];
    ctx.selection.subscribe((sel, source) => sources.push(source));
    view.fire("brush", {}); // a new view reports an empty brush: no change
    await new Promise((r) => setTimeout(r, 5));
    expect(ctx.selection.list()).toEqual([]);
    view.fire("brush", { x: [-1, 1] });
    await new Promise((r) => setTimeout(r, 5));
    expect(ctx.selection.list()).toEqual(["a", "b"]);
    expect(sources).toEqual(["brush:brush"]);
    view.fire("brush", { x: [0.5, 0.5] }); // a click's zero-size brush: not a selection
    await new Promise((r) => setTimeout(r, 5));
    expect(ctx.selection.list()).toEqual(["a", "b"]);
    view.fire("brush", {}); // emptied without a double-click (a click starting a new brush)
    await new Promise((r) => setTimeout(r, 5));
    expect(ctx.selection.list()).toEqual(["a", "b"]);
    view.fire("brush", { x: [-1, 1] });
    await new Promise((r) => setTimeout(r, 5));
    view.dblclick(); // Vega-Lite's clear: the user removed the brush
    view.fire("brush", {});
    await new Promise((r) => setTimeout(r, 5));
    expect(ctx.selection.list()).toEqual([]);
  });

  it("a click's selection survives the brush events the click itself causes", async () => {
    const view = await views.mount("scatter", {}, {});
    link.wireBrush("scatter", view, "brush", () => ["c"]);
    ctx.selection.set(["a", "b"], "brush:brush");
    view.fire("brush", { x: [0.2, 0.2], y: [1, 1] }); // pointerdown of the click
    link.pick("b"); // the click
    view.fire("brush", {}); // the zero-size brush collapses
    await new Promise((r) => setTimeout(r, 5));
    expect(ctx.selection.list()).toEqual(["b"]);
    view.fire("brush", { x: [0, 1], y: [0, 1] }); // the next drag selects at once
    await new Promise((r) => setTimeout(r, 5));
    expect(ctx.selection.list()).toEqual(["c"]);
  });

  it("pushes highlights and the dimming flag, and clears the other views' brushes", async () => {
    const a = await views.mount("scatter", {}, { datasets: { brush_store: [{ x: 1 }] } });
    const b = await views.mount("cat", {}, { datasets: { cbrush_store: [{ x: 1 }] } });
    link.wireBrush("scatter", a, "brush", () => []);
    link.wireBrush("cat", b, "cbrush", () => []);
    ctx.selection.set(["c"], "brush:brush");
    const filled = [];
    await link.push("brush:brush", true, (name, view) => {
      filled.push(name);
      view.data("hl", [name]);
    });
    expect(filled).toEqual(["scatter", "cat"]);
    expect(a.signal("anysel")).toBe(true);
    expect(b.data("hl")).toEqual(["cat"]);
    expect(a.data("brush_store")).toHaveLength(1); // the brush that made the selection stays
    expect(b.data("cbrush_store")).toEqual([]); // the other one no longer describes it
    expect(link.clearing.size).toBe(0);
    // A dropped view's brush is skipped, not touched after finalize.
    views.drop("cat");
    await link.push("python", false, () => {});
    expect(a.data("brush_store")).toEqual([]);
    expect(a.signal("anysel")).toBe(false);
  });
});
