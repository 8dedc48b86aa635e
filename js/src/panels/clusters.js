// Panel 2: clusters. BLUP scatter (brush/click), spaghetti plot of cluster-specific lines and
// a caterpillar plot, all linked through ctx.selection (synced to Python as `selected`).
// This module owns the DOM, the controls and the selection wiring; the rows and Vega-Lite
// specs come from cluster_specs.js.

import { h, fmt, fmtInt, fmtValue } from "../dom.js";
import { describeSelection, findClusters, idsInBox } from "../selection.js";
import { containerWidth } from "../charts.js";
import { ChartViews } from "../views.js";
import { SelectionLink } from "../linking.js";
import { selectField } from "./controls.js";
import {
  SIZE_KEY, axisTitle, axisValues, caterpillarRows, caterpillarSpec, colorOptions, effectLabel,
  scatterRows, scatterSpec, spaghettiRows, spaghettiSpec,
} from "./cluster_specs.js";

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
    this.views = new ChartViews(ctx, {
      aliases: { scatter: "blup" },
      builders: {
        scatter: () => this.buildScatter(),
        spaghetti: () => this.buildSpaghetti(),
        caterpillar: () => this.buildCaterpillar(),
      },
    });
    this.link = new SelectionLink(ctx, this.views, { brushPrefix: "brush:", clickSource: "click" });
    this.disposers = [];
    const terms = this.state.random.terms;
    this.axisX = terms.length > 1 ? terms[0] : SIZE_KEY;
    this.axisY = terms.length > 1 ? terms[1] : terms[0];
    this.catTerm = terms[0];
    this.colorBy = colorOptions(this.state)[1]?.[0] ?? "";
    this.index = new Map(this.state.clusters.ids.map((id, i) => [id, i]));
    this.layout();
    this.ready = this.build().then(() => this);
    this.disposers.push(ctx.selection.subscribe((sel, source) => this.onSelection(source)));
    this.disposers.push(ctx.ui.subscribe((patch) => {
      if ("predictor" in patch) this.views.rebuildView("spaghetti");
    }));
  }

  layout() {
    const { state, ctx } = this;
    const terms = state.random.terms;
    const label = effectLabel(state);
    const axisOpts = [...terms.map((t) => [t, `${label} ${t}`]), [SIZE_KEY, "cluster size (n)"]];
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
      selectField("x", axisOpts, this.axisX, (v) => { this.axisX = v; this.views.rebuildView("scatter"); }),
      selectField("y", axisOpts, this.axisY, (v) => { this.axisY = v; this.views.rebuildView("scatter"); }),
      selectField("colour", colorOptions(state), this.colorBy, (v) => { this.colorBy = v; this.views.rebuild(); }),
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
      h("span", { class: "mlm-subtitle", text: `Caterpillar: ${noun} ranked by ${label} with 95% ${state.clusters.ranef_lower ? "credible " : ""}intervals` +
        (state.glmm ? " (link scale)" : "") }),
      terms.length > 1 ? selectField("term", terms.map((t) => [t, t]), this.catTerm, (v) => {
        this.catTerm = v;
        this.views.rebuildView("caterpillar");
      }) : null,
    ]);
    this.section.append(
      controls,
      h("p", {
        class: "mlm-hint",
        text: `Drag on the ${label} scatter or the caterpillar to brush; click a point or line to select it ` +
          "(Shift-click adds); double-click clears the brush.",
      }),
      h("div", { class: "mlm-two" }, [
        h("div", {}, [h("div", {
          class: "mlm-subtitle",
          text: state.posterior?.method === "bayes" ? "Posterior means of the cluster effects"
            : state.glmm ? "Conditional modes (link scale)" : "Empirical Bayes estimates (BLUPs)",
        }), this.scatterBox]),
        h("div", {}, [this.spagTitle, this.spagBox]),
      ]),
      catHead, this.catBox,
      h("div", { class: "mlm-selection-row" }, [this.summary, this.clearButton]),
      this.table,
    );
  }

  /** Indices (into state.clusters) of the selected clusters. */
  selectedIndices() {
    const out = [];
    for (const id of this.ctx.selection.ids) {
      const i = this.index.get(id);
      if (i !== undefined) out.push(i);
    }
    return out;
  }

  /** Highlight rows of one view for the current selection (small: only selected clusters). */
  highlightRows(name, idx = this.selectedIndices()) {
    if (name === "scatter") return idx.map((i) => this.scatterData[i]);
    if (name === "spaghetti") {
      if (!this.spagData) return [];
      return this.spagData.curves ? idx.flatMap((i) => this.spagData.byCluster[i])
        : idx.map((i) => this.spagData.rows[i]);
    }
    if (name === "caterpillar") return idx.map((i) => this.catRows[this.catPos[i]]);
    return [];
  }

  async build() {
    await this.views.build();
    this.renderSummary();
  }

  /** Embed a view, make its marks clickable and publish it (ctx.views). */
  async mountView(name, box, spec, label, fileName) {
    const view = await this.views.mount(name, box, spec, { label, fileName });
    this.link.wireClick(view);
    return view;
  }

  async buildScatter() {
    const { state } = this;
    this.scatterData = scatterRows(state, this.axisX, this.axisY, this.colorBy);
    const spec = scatterSpec(state, this.ctx.theme, {
      rows: this.scatterData, hl: this.highlightRows("scatter"), any: this.ctx.selection.size > 0,
      axisX: this.axisX, axisY: this.axisY, colorBy: this.colorBy, width: containerWidth(this.scatterBox, 200),
    });
    const view = await this.mountView(
      "scatter", this.scatterBox, spec,
      `Scatter of ${axisTitle(state, this.axisY)} against ${axisTitle(state, this.axisX)}, one point per ${state.group}`,
      "mlm-blup-scatter",
    );
    this.link.wireBrush("scatter", view, "brush", (value) => {
      const xs = axisValues(state, this.axisX);
      const ys = axisValues(state, this.axisY);
      return idsInBox(state.clusters.ids, xs, ys, value.x || null, value.y || null);
    });
  }

  async buildSpaghetti() {
    const x = this.ctx.ui.get("predictor");
    const data = spaghettiRows(this.state, this.ctx.model, x, this.colorBy);
    this.spagData = data;
    const lines = this.state.glmm ? "Cluster curves" : "Cluster lines";
    const y = this.state.glmm ? this.state.glmm.scale_label : this.state.response;
    this.spagTitle.textContent = x ? `${lines}: ${y} on ${x}` : lines;
    if (!data) {
      this.spagBox.replaceChildren(h("p", { class: "mlm-empty", text: "No level-1 predictor to draw cluster lines against." }));
      return;
    }
    const spec = spaghettiSpec(this.state, this.ctx.theme, {
      data, hl: this.highlightRows("spaghetti"), any: this.ctx.selection.size > 0,
      colorBy: this.colorBy, width: containerWidth(this.spagBox, 200),
    });
    await this.mountView("spaghetti", this.spagBox, spec,
      `Cluster-specific ${data.curves ? "curves" : "lines"} of ${this.state.response} on ${data.x}`, "mlm-spaghetti");
  }

  async buildCaterpillar() {
    const { rows, pos } = caterpillarRows(this.state, this.catTerm);
    this.catRows = rows;
    this.catPos = pos;
    const spec = caterpillarSpec(this.state, this.ctx.theme, {
      rows, hl: this.highlightRows("caterpillar"), any: this.ctx.selection.size > 0,
      term: this.catTerm, noun: this.ctx.noun, width: containerWidth(this.catBox),
    });
    const view = await this.mountView("caterpillar", this.catBox, spec,
      `Caterpillar plot of ${this.catTerm} ${effectLabel(this.state)}s with 95% intervals`, "mlm-caterpillar");
    // The brush spans ranks (x only).
    this.link.wireBrush("caterpillar", view, "cbrush", (value) => {
      const ranks = this.catRows.map((r) => r.rank);
      return idsInBox(this.catRows.map((r) => r.id), ranks, ranks, value.x || value.rank || null, null);
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
      this.link.mark();
      this.ctx.selection.set(matches, "find");
    }
  }

  /** Push the selection into every view: small highlight data sets plus one dimming flag. */
  async onSelection(source) {
    const t0 = this.link.takeT0();
    const tStart = performance.now();
    const idx = this.selectedIndices();
    await this.link.push(source, idx.length > 0, (name, view) => view.data("hl", this.highlightRows(name, idx)));
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
    this.table.replaceChildren(...(sel.length ? [this.selectionTable(sel)] : []));
  }

  /** The first 8 selected clusters: size, BLUPs (SE) and level-2 values. */
  selectionTable(sel) {
    const { state } = this;
    const cl = state.clusters;
    const terms = state.random.terms;
    const l2 = Object.keys(cl.vars).filter((n) => state.variables[n]?.level === 2 && !state.variables[n].factor);
    const l2f = Object.keys(cl.factors || {});
    const head = h("tr", {}, [
      h("th", { scope: "col", text: state.group }), h("th", { scope: "col", text: "n" }),
      ...terms.map((t) => h("th", { scope: "col", text: `${effectLabel(state)} ${t} (SE)` })),
      ...l2f.map((n) => h("th", { scope: "col", text: n })),
      ...l2.map((n) => h("th", { scope: "col", text: n })),
    ]);
    const shown = sel.slice(0, 8);
    const body = shown.map((id) => {
      const i = this.index.get(id);
      return h("tr", {}, [
        h("th", { scope: "row", text: id }), h("td", { text: fmtInt(cl.n[i]) }),
        ...terms.map((t) => h("td", { text: `${fmt(cl.ranef[t][i], 3)} (${fmt(cl.ranef_se[t][i], 3)})` })),
        ...l2f.map((n) => h("td", { text: cl.factors[n][i] })),
        ...l2.map((n) => h("td", { text: fmtValue(cl.vars[n][i], state.variables[n]) })),
      ]);
    });
    return h("table", { class: "mlm-table" }, [
      h("caption", { text: sel.length > shown.length ? `First ${shown.length} of ${sel.length} selected` : "Selected" }),
      h("thead", {}, head), h("tbody", {}, body),
    ]);
  }

  retheme() {
    return this.views.rebuild();
  }

  destroy() {
    this.views.clear();
    this.disposers.forEach((d) => d());
  }
}
