// Panel 2: clusters. BLUP scatter (brush/click), spaghetti plot of cluster-specific lines and
// a caterpillar plot, all linked through ctx.selection (synced to Python as `selected`).

import { h, fmt, fmtInt, fmtValue } from "../dom.js";
import { clusterLines, grid, predictionCurve } from "../model.js";
import { describeSelection, findClusters, idsInBox, rankOrder } from "../selection.js";
import { clearBrush, containerWidth, embedChart, fitWidth, veilLayer } from "../charts.js";
import { selectField } from "./controls.js";

const SIZE_KEY = "__n__";

export const clustersPanel = {
  id: "clusters",
  label: "Clusters",
  available: (state) => state.clusters.ids.length > 0 && !!state.random,
  mount(section, ctx) {
    return new ClustersPanel(section, ctx).ready;
  },
};

class ClustersPanel {
  constructor(section, ctx) {
    this.section = section;
    this.ctx = ctx;
    this.state = ctx.state;
    this.views = {};
    this.disposers = [];
    const terms = this.state.random.terms;
    this.axisX = terms.length > 1 ? terms[0] : SIZE_KEY;
    this.axisY = terms.length > 1 ? terms[1] : terms[0];
    this.catTerm = terms[0];
    this.colorBy = this.colorOptions()[1]?.[0] ?? "";
    this.layout();
    this.ready = this.build().then(() => this);
    this.disposers.push(ctx.selection.subscribe((sel, source) => this.onSelection(source)));
    this.disposers.push(ctx.ui.subscribe((patch) => {
      if ("predictor" in patch && this.views) this.rebuildView("spaghetti");
    }));
  }

  colorOptions() {
    const vars = this.state.variables;
    const opts = [["", "none"]];
    for (const name of Object.keys(this.state.clusters.factors || {})) opts.push([name, name]);
    for (const name of Object.keys(this.state.clusters.vars)) {
      if (vars[name]?.level === 2 && !vars[name].factor) opts.push([name, name]);
    }
    return opts;
  }

  colorValues() {
    const cl = this.state.clusters;
    if (!this.colorBy) return null;
    return cl.factors?.[this.colorBy] || cl.vars[this.colorBy];
  }

  layout() {
    const { state, ctx } = this;
    const terms = state.random.terms;
    const axisOpts = [...terms.map((t) => [t, `BLUP ${t}`]), [SIZE_KEY, "cluster size (n)"]];
    const noun = ctx.noun;
    this.findInput = h("input", {
      type: "search", class: "mlm-input", placeholder: "id", "aria-label": `Find ${noun} by id`,
      list: `${this.section.id}-ids`,
      onKeydown: (ev) => {
        if (ev.key === "Enter") {
          ev.preventDefault();
          this.find();
        }
      },
    });
    this.findMsg = h("span", { class: "mlm-hint", "aria-live": "polite" });
    const controls = h("div", { class: "mlm-toolbar", role: "group", "aria-label": "Cluster view settings" }, [
      selectField("x", axisOpts, this.axisX, (v) => { this.axisX = v; this.rebuildScatter(); }),
      selectField("y", axisOpts, this.axisY, (v) => { this.axisY = v; this.rebuildScatter(); }),
      selectField("colour", this.colorOptions(), this.colorBy, (v) => { this.colorBy = v; this.rebuild(); }),
      h("div", { class: "mlm-field mlm-field-inline mlm-find" }, [
        h("span", { class: "mlm-label", text: `Find ${noun.replace(/s$/, "")}` }),
        this.findInput,
        h("button", { type: "button", class: "mlm-button", text: "Find", onClick: () => this.find() }),
        this.findMsg,
        h("datalist", { id: `${this.section.id}-ids` }, state.clusters.ids.slice(0, 5000).map((id) => h("option", { value: id }))),
      ]),
    ]);
    this.clearButton = h("button", {
      type: "button", class: "mlm-button mlm-button-quiet", text: "Clear selection",
      onClick: () => ctx.selection.clear(),
    });
    this.scatterBox = h("div", { class: "mlm-chart", dataset: { chart: "blup" } });
    this.spagBox = h("div", { class: "mlm-chart", dataset: { chart: "spaghetti" } });
    this.spagTitle = h("div", { class: "mlm-subtitle" });
    this.catBox = h("div", { class: "mlm-chart", dataset: { chart: "caterpillar" } });
    this.summary = h("div", { class: "mlm-selection", "aria-live": "polite" });
    this.table = h("div", { class: "mlm-table-wrap" });
    const catHead = h("div", { class: "mlm-subhead" }, [
      h("span", { class: "mlm-subtitle", text: `Caterpillar: ${noun} ranked by BLUP with 95% intervals` }),
      terms.length > 1 ? selectField("term", terms.map((t) => [t, t]), this.catTerm, (v) => {
        this.catTerm = v;
        this.rebuildCaterpillar();
      }) : null,
    ]);
    this.section.append(
      controls,
      h("p", {
        class: "mlm-hint",
        text: "Drag on the BLUP scatter or the caterpillar to brush; click a point or line to select it " +
          "(Shift-click adds); double-click clears the brush.",
      }),
      h("div", { class: "mlm-two" }, [
        h("div", {}, [h("div", { class: "mlm-subtitle", text: "Empirical Bayes estimates (BLUPs)" }), this.scatterBox]),
        h("div", {}, [this.spagTitle, this.spagBox]),
      ]),
      catHead, this.catBox,
      h("div", { class: "mlm-selection-row" }, [this.summary, this.clearButton]),
      this.table,
    );
  }

  spaghettiTitle() {
    const x = this.ctx.ui.get("predictor");
    return x ? `Cluster lines: ${this.state.response} on ${x}` : "Cluster lines";
  }

  axisValues(key) {
    const cl = this.state.clusters;
    return key === SIZE_KEY ? cl.n : cl.ranef[key];
  }

  axisTitle(key) {
    return key === SIZE_KEY ? `observations per ${this.state.group}` : `BLUP: ${key}`;
  }

  colorEncoding() {
    const t = this.ctx.theme;
    if (!this.colorBy) return { value: t.accent };
    const f = this.state.factors?.[this.colorBy];
    if (f) {
      return {
        field: "c", type: "nominal", title: this.colorBy,
        scale: { domain: f.levels, range: [...t.binary, t.accent, t.fan, t.sig, t.fg3] },
        legend: { orient: "top", direction: "horizontal", offset: 4 },
      };
    }
    const v = this.state.variables[this.colorBy];
    if (v.kind === "binary") {
      return {
        field: "c", type: "nominal", title: this.colorBy,
        scale: { domain: v.values, range: t.binary },
        legend: { orient: "top", direction: "horizontal", offset: 4 },
      };
    }
    return {
      field: "c", type: "quantitative", title: this.colorBy,
      scale: { domain: [v.min, v.max], scheme: { name: "viridis", extent: t.dark ? [0.3, 1] : [0, 0.9] } },
      legend: { orient: "top", direction: "horizontal", gradientLength: 120, offset: 4 },
    };
  }

  /** Signals shared by the three views: is anything selected (dims the unselected). */
  selParams() {
    return [{ name: "anysel", value: this.ctx.selection.size > 0 }];
  }

  /** Indices (into state.clusters) of the selected clusters. */
  selectedIndices() {
    const cl = this.state.clusters;
    const index = this.index || (this.index = new Map(cl.ids.map((id, i) => [id, i])));
    const out = [];
    for (const id of this.ctx.selection.ids) {
      const i = index.get(id);
      if (i !== undefined) out.push(i);
    }
    return out;
  }

  /** Highlight rows of one view for the current selection (small: only selected clusters). */
  highlightRows(name, idx = this.selectedIndices()) {
    if (name === "scatter") return idx.map((i) => this.scatterData[i]);
    if (name === "spaghetti") return idx.map((i) => this.spagData.rows[i]);
    if (name === "caterpillar") return idx.map((i) => this.catRows[this.catPos[i]]);
    return [];
  }

  async build() {
    await Promise.all([this.buildScatter(), this.buildSpaghetti(), this.buildCaterpillar()]);
    this.renderSummary();
  }

  async rebuild() {
    this.destroyViews();
    await this.build();
  }

  async rebuildView(name) {
    this.views[name]?.finalize();
    delete this.views[name];
    this.fits[name]?.();
    if (name === "scatter") await this.buildScatter();
    else if (name === "spaghetti") await this.buildSpaghetti();
    else await this.buildCaterpillar();
  }

  rebuildScatter() {
    return this.rebuildView("scatter");
  }

  rebuildCaterpillar() {
    return this.rebuildView("caterpillar");
  }

  scatterRows() {
    const cl = this.state.clusters;
    const xs = this.axisValues(this.axisX);
    const ys = this.axisValues(this.axisY);
    const cs = this.colorValues();
    return cl.ids.map((id, i) => ({ id, x: xs[i], y: ys[i], n: cl.n[i], c: cs ? cs[i] : null }));
  }

  async mountView(name, box, spec, label, fileName) {
    const view = await embedChart(box, spec, this.ctx.theme, { label, fileName });
    this.views[name] = view;
    this.ctx.views[name === "scatter" ? "blup" : name] = view;
    this.fits = this.fits || {};
    this.fits[name] = fitWidth(box, view);
    this.wireClick(view, name);
    return view;
  }

  async buildScatter() {
    const t = this.ctx.theme;
    const tooltip = [
      { field: "id", type: "nominal", title: this.state.group },
      { field: "x", type: "quantitative", title: this.axisTitle(this.axisX), format: ".3f" },
      { field: "y", type: "quantitative", title: this.axisTitle(this.axisY), format: ".3f" },
      { field: "n", type: "quantitative", title: "n" },
    ];
    if (this.colorBy) {
      tooltip.push(this.state.factors?.[this.colorBy]
        ? { field: "c", type: "nominal", title: this.colorBy }
        : { field: "c", type: "quantitative", title: this.colorBy, format: ".3g" });
    }
    this.scatterData = this.scatterRows();
    // Explicit domains: the highlight layer is often empty and must not drive the scales.
    const x = {
      field: "x", type: "quantitative", title: this.axisTitle(this.axisX),
      scale: { domain: extent(this.scatterData, "x"), zero: false, nice: true },
    };
    const y = {
      field: "y", type: "quantitative", title: this.axisTitle(this.axisY),
      scale: { domain: extent(this.scatterData, "y"), zero: false, nice: true },
    };
    const spec = {
      width: containerWidth(this.scatterBox, 200),
      height: 270,
      datasets: { points: this.scatterData, hl: this.highlightRows("scatter") },
      params: this.selParams(),
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
          encoding: { color: this.colorEncoding(), tooltip },
        },
        veilLayer(t),
        {
          data: { name: "hl" },
          mark: { type: "circle", size: 95, stroke: t.select, strokeWidth: 2.5, opacity: 1 },
          encoding: { color: this.colorEncoding(), tooltip },
        },
      ]),
    };
    const view = await this.mountView(
      "scatter", this.scatterBox, spec,
      `Scatter of ${this.axisTitle(this.axisY)} against ${this.axisTitle(this.axisX)}, one point per ${this.state.group}`,
      "mlm-blup-scatter",
    );
    this.wireBrush(view, "brush", () => {
      const cl = this.state.clusters;
      return { ids: cl.ids, xs: this.axisValues(this.axisX), ys: this.axisValues(this.axisY) };
    });
  }

  spaghettiData() {
    const x = this.ctx.ui.get("predictor");
    const cl = this.state.clusters;
    if (!x || !cl.x_min?.[x]) return null;
    const lines = clusterLines(this.ctx.model, x);
    const cs = this.colorValues();
    // Cluster lines are straight: one rule (segment) per cluster, no per-cluster grouping.
    const rows = new Array(cl.ids.length);
    for (let i = 0; i < cl.ids.length; i++) {
      rows[i] = {
        id: cl.ids[i], x: lines.x0[i], y: lines.y0[i], x2: lines.x1[i], y2: lines.y1[i], c: cs ? cs[i] : null,
      };
    }
    const xv = this.state.variables[x];
    const means = {};
    for (const [name, v] of Object.entries(this.state.variables)) means[name] = v.mean;
    const ends = predictionCurve(this.ctx.model, x, means, grid(xv.min, xv.max, 2));
    const avg = [{ x: ends[0].x, y: ends[0].fit, x2: ends[1].x, y2: ends[1].fit }];
    return { rows, avg, x };
  }

  async buildSpaghetti() {
    const t = this.ctx.theme;
    const data = this.spaghettiData();
    this.spagData = data;
    this.spagTitle.textContent = this.spaghettiTitle();
    if (!data) {
      this.spagBox.replaceChildren(h("p", { class: "mlm-empty", text: "No level-1 predictor to draw cluster lines against." }));
      return;
    }
    // Explicit domains: the highlight layer is often empty and must not drive the scales.
    const xs = [...data.rows.map((r) => ({ v: r.x })), ...data.rows.map((r) => ({ v: r.x2 }))];
    const ys = [...data.rows.map((r) => ({ v: r.y })), ...data.rows.map((r) => ({ v: r.y2 })),
      ...data.avg.flatMap((r) => [{ v: r.y }, { v: r.y2 }])];
    const enc = {
      x: { field: "x", type: "quantitative", title: data.x, scale: { domain: extent(xs, "v"), nice: false } },
      y: {
        field: "y", type: "quantitative", title: this.state.response,
        scale: { domain: extent(ys, "v"), nice: true, zero: false },
      },
      x2: { field: "x2" },
      y2: { field: "y2" },
    };
    const idTip = [{ field: "id", type: "nominal", title: this.state.group }];
    const spec = {
      width: containerWidth(this.spagBox, 200),
      height: 270,
      datasets: { lines: data.rows, avg: data.avg, hl: this.highlightRows("spaghetti") },
      params: this.selParams(),
      layer: shareEncoding(enc, [
        {
          data: { name: "lines" },
          mark: { type: "rule", strokeWidth: 1, strokeCap: "round", opacity: 0.5 },
          encoding: {
            color: this.colorBy ? { ...this.colorEncoding(), legend: null } : { value: t.fg3 },
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
    await this.mountView("spaghetti", this.spagBox, spec,
      `Cluster-specific lines of ${this.state.response} on ${data.x}`, "mlm-spaghetti");
  }

  caterpillarRows() {
    const cl = this.state.clusters;
    const est = cl.ranef[this.catTerm];
    const se = cl.ranef_se[this.catTerm];
    const order = rankOrder(est);
    const z = 1.959963984540054;
    const rows = new Array(order.length);
    this.catPos = new Array(order.length);
    order.forEach((i, rank) => {
      this.catPos[i] = rank;
      rows[rank] = { id: cl.ids[i], rank: rank + 1, est: est[i], lo: est[i] - z * se[i], hi: est[i] + z * se[i] };
    });
    return rows;
  }

  async buildCaterpillar() {
    const t = this.ctx.theme;
    const rows = this.caterpillarRows();
    this.catRows = rows;
    const x = {
      field: "rank", type: "quantitative", title: `${this.ctx.noun} ranked by BLUP of ${this.catTerm}`,
      scale: { domain: [0, rows.length + 1], nice: false, zero: false }, axis: { tickCount: 8 },
    };
    const y = {
      field: "lo", type: "quantitative", title: `BLUP: ${this.catTerm}`,
      scale: { domain: [Math.min(0, ...rows.map((r) => r.lo)), Math.max(0, ...rows.map((r) => r.hi))], nice: true },
    };
    const tooltip = [
      { field: "id", type: "nominal", title: this.state.group },
      { field: "est", type: "quantitative", title: "BLUP", format: ".3f" },
      { field: "lo", type: "quantitative", title: "95% lower", format: ".3f" },
      { field: "hi", type: "quantitative", title: "95% upper", format: ".3f" },
    ];
    const thin = rows.length > 300;
    const spec = {
      width: containerWidth(this.catBox),
      height: 210,
      datasets: { cat: rows, hl: this.highlightRows("caterpillar") },
      params: this.selParams(),
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
    const view = await this.mountView("caterpillar", this.catBox, spec,
      `Caterpillar plot of ${this.catTerm} BLUPs with 95% intervals`, "mlm-caterpillar");
    this.wireBrush(view, "cbrush", () => ({
      ids: this.catRows.map((r) => r.id), xs: this.catRows.map((r) => r.rank), ys: null,
    }));
  }

  /** Brush -> selection (coalesced to one update per animation frame). */
  wireBrush(view, name, columns) {
    let frame = 0;
    view.addSignalListener(name, (_, value) => {
      if (this.clearing) return;
      cancelAnimationFrame(frame);
      const t0 = performance.now();
      frame = requestAnimationFrame(() => {
        const keys = Object.keys(value || {});
        if (!keys.length) {
          // Only a user clearing *this* brush (double-click) clears the selection; a new or
          // rebuilt view also reports an empty brush.
          if (this.brushActive?.[name]) this.ctx.selection.clear(`brush:${name}`);
          this.brushActive = { ...this.brushActive, [name]: false };
          return;
        }
        this.brushActive = { ...this.brushActive, [name]: true };
        const { ids, xs, ys } = columns();
        const picked = idsInBox(ids, xs, ys || xs, value.x || value.rank || null, ys ? value.y || null : null);
        this.pendingT0 = t0;
        this.ctx.selection.set(picked, `brush:${name}`);
      });
    });
    this.brushes = { ...(this.brushes || {}), [name]: view };
  }

  /** Click a mark with an id: select it alone, or toggle it with Shift/Ctrl/Cmd. */
  wireClick(view, name) {
    let down = null;
    const canvas = view.container();
    const onDown = (ev) => { down = [ev.clientX, ev.clientY]; };
    canvas.addEventListener("pointerdown", onDown);
    view.addEventListener("click", (ev, item) => {
      if (down && Math.hypot(ev.clientX - down[0], ev.clientY - down[1]) > 4) return; // a drag
      const id = item?.datum?.id;
      if (id === undefined) return;
      this.pendingT0 = performance.now();
      const sel = this.ctx.selection;
      if (ev.shiftKey || ev.metaKey || ev.ctrlKey) sel.toggle(String(id), "click");
      else if (sel.size === 1 && sel.has(String(id))) sel.clear("click");
      else sel.set([String(id)], "click");
    });
  }

  find() {
    const q = this.findInput.value;
    const ids = this.state.clusters.ids;
    const matches = findClusters(ids, q);
    const noun = this.ctx.noun;
    if (!q.trim()) {
      this.findMsg.textContent = "";
      return;
    }
    if (!matches.length) {
      this.findMsg.textContent = `No ${noun.replace(/s$/, "")} "${q}"` +
        (this.state.clusters.sampled ? " in the drawn sample." : ".");
    } else {
      this.findMsg.textContent = matches.length === 1 ? "" : `${matches.length} matches`;
      this.pendingT0 = performance.now();
      this.ctx.selection.set(matches, "find");
    }
  }

  /** Push the selection into every view: small highlight data sets plus one dimming flag. */
  async onSelection(source) {
    const t0 = this.pendingT0 ?? performance.now();
    const tStart = performance.now();
    this.pendingT0 = undefined;
    const idx = this.selectedIndices();
    const any = idx.length > 0;
    const jobs = [];
    for (const [name, view] of Object.entries(this.views)) {
      view.data("hl", this.highlightRows(name, idx));
      if (view.signal("anysel") !== any) view.signal("anysel", any);
      jobs.push(view.runAsync());
    }
    this.clearing = true;
    try {
      for (const [name, view] of Object.entries(this.brushes || {})) {
        if (source !== `brush:${name}` && view.data(`${name}_store`)?.length) {
          this.brushActive = { ...this.brushActive, [name]: false };
          jobs.push(clearBrush(view, name));
        }
      }
      await Promise.all(jobs);
    } finally {
      this.clearing = false;
    }
    this.renderSummary();
    this.ctx.timed(`selection:${source}`, t0);
    this.ctx.perf.push({ what: "detail:selection", wait: tStart - t0, work: performance.now() - tStart, n: idx.length });
  }

  renderSummary() {
    const sel = this.ctx.selection.list();
    const noun = this.ctx.noun;
    this.summary.textContent = describeSelection(sel, noun);
    this.clearButton.disabled = !sel.length;
    this.summary.dataset.selected = JSON.stringify(sel);
    if (!sel.length) {
      this.table.replaceChildren();
      return;
    }
    const cl = this.state.clusters;
    const index = this.index || (this.index = new Map(cl.ids.map((id, i) => [id, i])));
    const terms = this.state.random.terms;
    const l2 = Object.keys(cl.vars).filter((n) => this.state.variables[n]?.level === 2 && !this.state.variables[n].factor);
    const l2f = Object.keys(cl.factors || {});
    const head = h("tr", {}, [
      h("th", { scope: "col", text: this.state.group }), h("th", { scope: "col", text: "n" }),
      ...terms.map((t) => h("th", { scope: "col", text: `BLUP ${t} (SE)` })),
      ...l2f.map((n) => h("th", { scope: "col", text: n })),
      ...l2.map((n) => h("th", { scope: "col", text: n })),
    ]);
    const shown = sel.slice(0, 8);
    const body = shown.map((id) => {
      const i = index.get(id);
      return h("tr", {}, [
        h("th", { scope: "row", text: id }), h("td", { text: fmtInt(cl.n[i]) }),
        ...terms.map((t) => h("td", { text: `${fmt(cl.ranef[t][i], 3)} (${fmt(cl.ranef_se[t][i], 3)})` })),
        ...l2f.map((n) => h("td", { text: cl.factors[n][i] })),
        ...l2.map((n) => h("td", { text: fmtValue(cl.vars[n][i], this.state.variables[n]) })),
      ]);
    });
    const table = h("table", { class: "mlm-table" }, [
      h("caption", { text: sel.length > shown.length ? `First ${shown.length} of ${sel.length} selected` : "Selected" }),
      h("thead", {}, head), h("tbody", {}, body),
    ]);
    this.table.replaceChildren(table);
  }

  destroyViews() {
    for (const v of Object.values(this.views)) v.finalize();
    for (const off of Object.values(this.fits || {})) off();
    this.views = {};
    this.fits = {};
    this.brushes = {};
  }

  retheme() {
    return this.rebuild();
  }

  destroy() {
    this.destroyViews();
    this.disposers.forEach((d) => d());
  }
}

function extent(rows, field) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const r of rows) {
    const v = r[field];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!Number.isFinite(lo)) return [0, 1];
  // A constant (e.g. balanced cluster sizes) still needs an axis with some width.
  if (hi === lo) return [lo - Math.max(Math.abs(lo) * 0.1, 0.5), hi + Math.max(Math.abs(hi) * 0.1, 0.5)];
  return [lo, hi];
}

/** Give every layer the shared encoding except veils and layers marked `shared: false`. */
function shareEncoding(enc, layers) {
  return layers.map((layer) => {
    const { shared, ...rest } = layer;
    if (shared === false || rest.name === "veil") return rest;
    return { ...rest, encoding: { ...enc, ...(rest.encoding || {}) } };
  });
}
