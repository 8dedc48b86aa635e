// Panel 4: diagnostics. res.check() findings, an influence index plot (Cook's distance per
// cluster with the 4/G rule, flagged clusters labelled), residuals vs fitted and a normal QQ
// plot of a chosen random effect, all linked to the shared cluster selection: clicking or
// brushing here selects clusters (the BLUP scatter and caterpillar follow), and clusters
// selected elsewhere are highlighted here.
//
// Everything is precomputed in Python (state.diagnostics); the browser only builds rows and
// highlight subsets, so a selection update touches O(selected) rows.

import { h, fmt, fmtInt } from "../dom.js";
import { describeSelection } from "../selection.js";
import { clearBrush, containerWidth, embedChart, fitWidth, veilLayer } from "../charts.js";
import { selectField } from "./controls.js";

export const diagnosticsPanel = {
  id: "diagnostics",
  label: "Diagnostics",
  available: (state) => !!state.diagnostics,
  mount(section, ctx) {
    return new DiagnosticsPanel(section, ctx).ready;
  },
};

// ---------------------------------------------------------------------------------------
// Pure data helpers (unit-tested in js/tests/diagnostics.test.js)

/**
 * Influence rows: one per cluster in state order, `index` 1-based. `label` marks the flagged
 * clusters that get a text label: the `maxLabels` largest Cook's distances (more would overlap).
 */
export function influenceRows(inf, maxLabels = 12) {
  const rows = new Array(inf.ids.length);
  for (let i = 0; i < inf.ids.length; i++) {
    rows[i] = {
      id: inf.ids[i], index: i + 1, cooks: inf.cooks[i], covratio: inf.covratio[i],
      leverage: inf.leverage[i], n: inf.n[i], flag: !!inf.flag[i], note: inf.note?.[i] || "",
      label: false,
    };
  }
  const ranked = rows.filter((r) => r.flag).sort((a, b) => b.cooks - a.cooks);
  for (const r of ranked.slice(0, maxLabels)) r.label = true;
  return rows;
}

/** Ids of flagged clusters, largest Cook's distance first. */
export function flaggedIds(inf) {
  const out = [];
  for (let i = 0; i < inf.ids.length; i++) if (inf.flag[i]) out.push(i);
  out.sort((a, b) => (inf.cooks[b] ?? -Infinity) - (inf.cooks[a] ?? -Infinity));
  return out.map((i) => inf.ids[i]);
}

/** The `k` most influential clusters (largest Cook's distance; missing values last). */
export function topInfluential(inf, k = 8) {
  const idx = inf.ids.map((_, i) => i).filter((i) => Number.isFinite(inf.cooks[i]));
  idx.sort((a, b) => inf.cooks[b] - inf.cooks[a]);
  return idx.slice(0, k);
}

/** Residual rows; `id` is the cluster id (residuals.cluster indexes influence.ids). */
export function residualRows(diag) {
  const r = diag.residuals;
  const ids = diag.influence.ids;
  const rows = new Array(r.fitted.length);
  for (let i = 0; i < rows.length; i++) {
    rows[i] = { id: ids[r.cluster[i]], fitted: r.fitted[i], resid: r.residual[i] };
  }
  return rows;
}

/** Map id -> array of row positions (to highlight a cluster's rows in O(its rows)). */
export function rowsById(rows) {
  const map = new Map();
  rows.forEach((row, i) => {
    const list = map.get(row.id);
    if (list) list.push(i);
    else map.set(row.id, [i]);
  });
  return map;
}

/** QQ rows of one random effect; `out` marks points outside the pointwise envelope. */
export function qqRows(qq) {
  const rows = new Array(qq.ids.length);
  for (let i = 0; i < rows.length; i++) {
    const s = qq.sample[i];
    rows[i] = {
      id: qq.ids[i], theo: qq.theoretical[i], sample: s, lower: qq.lower[i], upper: qq.upper[i],
      out: s < qq.lower[i] || s > qq.upper[i],
    };
  }
  return rows;
}

/** Rows of `rows` (via `index` from rowsById) belonging to the selected ids. */
export function highlight(rows, index, selectedIds) {
  const out = [];
  for (const id of selectedIds) {
    const list = index.get(id);
    if (list) for (const i of list) out.push(rows[i]);
  }
  return out;
}

/** Unique ids of rows whose x (and y) lie in a brush interval (either order; null = any). */
export function idsInBrush(rows, xField, yField, xr, yr) {
  const inside = (v, r) => !r || (v >= Math.min(r[0], r[1]) && v <= Math.max(r[0], r[1]));
  const seen = new Set();
  for (const row of rows) {
    if (inside(row[xField], xr) && (!yField || inside(row[yField], yr))) seen.add(row.id);
  }
  return [...seen];
}

// ---------------------------------------------------------------------------------------

const SEVERITY = { ok: "OK", note: "Note", warning: "Warning", error: "Problem" };

class DiagnosticsPanel {
  constructor(section, ctx) {
    this.section = section;
    this.ctx = ctx;
    this.state = ctx.state;
    this.diag = ctx.state.diagnostics;
    this.views = {};
    this.fits = {};
    this.brushes = {};
    this.disposers = [];
    const terms = Object.keys(this.diag.qq?.terms || {});
    this.qqTerm = terms[0] || null;
    this.infRows = influenceRows(this.diag.influence);
    this.infIndex = rowsById(this.infRows);
    this.resRows = residualRows(this.diag);
    this.resIndex = rowsById(this.resRows);
    this.prepareQQ();
    this.layout();
    this.ready = this.build().then(() => this);
    this.disposers.push(ctx.selection.subscribe((sel, source) => this.onSelection(source)));
  }

  prepareQQ() {
    const qq = this.qqTerm ? this.diag.qq.terms[this.qqTerm] : null;
    this.qqData = qq ? qqRows(qq) : [];
    this.qqIndex = rowsById(this.qqData);
  }

  layout() {
    const { ctx, diag } = this;
    const inf = diag.influence;
    const noun = ctx.noun;
    const flagged = flaggedIds(inf);
    this.flagged = flagged;
    const parts = [this.checksTable()];
    const method = h("p", { class: "mlm-note", dataset: { influenceMethod: inf.exact ? "exact" : "one-step" } }, [
      `Influence of each ${diag.group}: ${inf.method}; Cook's distance flagged above ${inf.cutoff_rule} = ${fmt(inf.cutoff, 4)}. `,
      inf.error ? inf.error : `${fmtInt(flagged.length)} of ${fmtInt(inf.ids.length)} ${noun} flagged.`,
    ]);
    parts.push(method);
    this.flagButton = h("button", {
      type: "button", class: "mlm-button", text: `Select flagged (${flagged.length})`, disabled: !flagged.length,
      onClick: () => { this.pendingT0 = performance.now(); ctx.selection.set(flagged, "diagnostics"); },
    });
    this.clearButton = h("button", {
      type: "button", class: "mlm-button mlm-button-quiet", text: "Clear selection",
      onClick: () => ctx.selection.clear("diagnostics"),
    });
    this.summary = h("span", { class: "mlm-diag-selection mlm-inline-label", "aria-live": "polite" });
    parts.push(h("div", { class: "mlm-selection-row" }, [this.flagButton, this.clearButton, this.summary]));
    parts.push(h("p", {
      class: "mlm-hint",
      text: `Click a point to select its ${noun.replace(/s$/, "")} (Shift-click adds); drag to brush; ` +
        "double-click clears the brush. The selection is shared with the Clusters tab.",
    }));
    this.infBox = h("div", { class: "mlm-chart", dataset: { chart: "influence" } });
    parts.push(h("div", { class: "mlm-subtitle", text: `Influence index plot: Cook's distance per ${diag.group}` }), this.infBox);
    this.resBox = h("div", { class: "mlm-chart", dataset: { chart: "residuals" } });
    this.qqBox = h("div", { class: "mlm-chart", dataset: { chart: "qq" } });
    const r = diag.residuals;
    const resTitle = `Residuals vs fitted ${this.state.response}`;
    this.resNote = h("p", {
      class: "mlm-caption",
      text: (r.sampled ? `A random sample of ${fmtInt(r.max_points)} of ${fmtInt(r.total)} rows (seed ${r.seed}). ` : "") +
        "Conditional residuals y − ŷ (fixed and random parts); dashed lines at 0 and ±3σ.",
    });
    const terms = Object.keys(diag.qq?.terms || {});
    const qqHead = h("div", { class: "mlm-subhead" }, [
      h("span", { class: "mlm-subtitle", text: `Normal QQ plot of the ${diag.group} BLUPs` }),
    ]);
    // The effect chooser sits above both charts so their titles and plots stay aligned.
    if (terms.length > 1) {
      parts.push(h("div", { class: "mlm-toolbar", role: "group", "aria-label": "QQ plot settings" }, [
        selectField("QQ plot of the random effect", terms.map((t) => [t, t]), this.qqTerm, (v) => {
          this.qqTerm = v;
          this.prepareQQ();
          this.rebuildView("qq");
        }),
      ]));
    }
    parts.push(h("div", { class: "mlm-two" }, [
      h("div", {}, [h("div", { class: "mlm-subhead" }, [h("span", { class: "mlm-subtitle", text: resTitle })]), this.resBox, this.resNote]),
      h("div", {}, [qqHead, this.qqBox, h("p", {
        class: "mlm-caption",
        text: `Standardized BLUPs against normal quantiles; shaded: pointwise ${Math.round(100 * (diag.qq?.level || 0.95))}% envelope, points outside it in orange.`,
      })]),
    ]));
    parts.push(this.topTable());
    this.section.append(...parts);
    this.renderSummary();
  }

  /** res.check() findings: problems and notes in a table, the passed checks folded away. */
  checksTable() {
    const checks = this.diag.checks || [];
    if (!checks.length) return h("p", { class: "mlm-hint", text: "No model checks available." });
    const rank = { error: 0, warning: 1, note: 2, ok: 3 };
    const sorted = [...checks].sort((a, b) => (rank[a.severity] ?? 2) - (rank[b.severity] ?? 2));
    const issues = sorted.filter((c) => c.severity !== "ok");
    const passed = sorted.filter((c) => c.severity === "ok");
    const prose = { whiteSpace: "normal", fontFamily: "inherit" };
    const table = (rows, caption) => h("table", { class: "mlm-table", dataset: { table: "checks" }, style: { width: "100%" } }, [
      caption ? h("caption", { text: caption }) : null,
      h("thead", {}, h("tr", {}, ["", "Check", "Finding", "Look at"].map((t) => h("th", { scope: "col", text: t })))),
      h("tbody", {}, rows.map((c) => h("tr", { dataset: { severity: c.severity } }, [
        h("td", { style: { width: "1%" } }, [h("span", {
          class: "mlm-chip", text: SEVERITY[c.severity] || c.severity,
          style: { color: this.severityColor(c.severity), borderColor: this.severityColor(c.severity), cursor: "default" },
        })]),
        h("th", { scope: "row", text: c.check, style: { ...prose, fontWeight: 600, width: "24%" } }),
        h("td", { text: c.finding, style: prose }),
        h("td", { text: c.look_at, style: { ...prose, width: "28%" } }),
      ]))),
    ]);
    const parts = [];
    const title = issues.length
      ? `Model checks (res.check()): ${issues.length} to look at, ${passed.length} passed`
      : `Model checks (res.check()): all ${passed.length} passed`;
    parts.push(h("div", { class: "mlm-subtitle", text: title }));
    if (issues.length) parts.push(table(issues));
    if (passed.length) {
      parts.push(h("details", { class: "mlm-checks-passed" }, [
        h("summary", { class: "mlm-hint", text: `Show the ${passed.length} passed checks`, style: { cursor: "pointer" } }),
        table(passed),
      ]));
    }
    return h("div", { class: "mlm-table-wrap mlm-checks" }, parts);
  }

  severityColor(sev) {
    const t = this.ctx.theme;
    if (sev === "ok") return t.sig;
    if (sev === "note") return t.accent;
    return t.select;
  }

  /** Keyboard route to the same selection: the most influential clusters as buttons. */
  topTable() {
    const inf = this.diag.influence;
    const top = topInfluential(inf, 8);
    if (!top.length) return h("div");
    const one = this.ctx.noun.replace(/s$/, "");
    this.topButtons = new Map();
    const rows = top.map((i) => {
      const id = inf.ids[i];
      const button = h("button", {
        type: "button", class: "mlm-chip", text: id, "aria-pressed": "false",
        "aria-label": `Select ${one} ${id}`,
        onClick: (ev) => {
          this.pendingT0 = performance.now();
          const sel = this.ctx.selection;
          if (ev.shiftKey || ev.metaKey || ev.ctrlKey) sel.toggle(id, "diagnostics");
          else if (sel.size === 1 && sel.has(id)) sel.clear("diagnostics");
          else sel.set([id], "diagnostics");
        },
      });
      this.topButtons.set(id, button);
      return h("tr", {}, [
        h("th", { scope: "row" }, [button]),
        h("td", { class: "mlm-num", text: fmtInt(inf.n[i]) }),
        h("td", { class: "mlm-num", text: fmt(inf.cooks[i], 4) }),
        h("td", { class: "mlm-num", text: fmt(inf.covratio[i], 3) }),
        h("td", { class: "mlm-num", text: fmt(inf.leverage[i], 3) }),
        h("td", { text: inf.flag[i] ? `> ${inf.cutoff_rule}` : "" }),
        h("td", { text: inf.note?.[i] || "" }),
      ]);
    });
    return h("div", { class: "mlm-table-wrap" }, [h("table", { class: "mlm-table", dataset: { table: "influence" } }, [
      h("caption", { text: `Most influential ${this.ctx.noun} (${inf.exact ? "exact refits" : "one-step approximation"})` }),
      h("thead", {}, h("tr", {}, [this.diag.group, "n", "Cook's D", "covratio", "leverage", "flag", "note"].map((t, k) =>
        h("th", { scope: "col", class: k >= 1 && k <= 4 ? "mlm-num" : null, text: t })))),
      h("tbody", {}, rows),
    ])]);
  }

  selParams() {
    return [{ name: "anysel", value: this.ctx.selection.size > 0 }];
  }

  highlightRows(name, ids = this.ctx.selection.list()) {
    if (name === "influence") return highlight(this.infRows, this.infIndex, ids);
    if (name === "residuals") return highlight(this.resRows, this.resIndex, ids);
    if (name === "qq") return highlight(this.qqData, this.qqIndex, ids);
    return [];
  }

  async build() {
    await Promise.all([this.buildInfluence(), this.buildResiduals(), this.buildQQ()]);
  }

  async rebuild() {
    this.destroyViews();
    await this.build();
  }

  async rebuildView(name) {
    this.views[name]?.finalize();
    delete this.views[name];
    this.fits[name]?.();
    if (name === "influence") await this.buildInfluence();
    else if (name === "residuals") await this.buildResiduals();
    else await this.buildQQ();
  }

  async mountView(name, box, spec, label, fileName) {
    const view = await embedChart(box, spec, this.ctx.theme, { label, fileName });
    this.views[name] = view;
    this.ctx.views[name === "qq" ? "qq" : name] = view;
    this.fits[name] = fitWidth(box, view);
    this.wireClick(view);
    return view;
  }

  async buildInfluence() {
    const t = this.ctx.theme;
    const inf = this.diag.influence;
    if (inf.error || !this.infRows.length) {
      this.infBox.replaceChildren(h("p", { class: "mlm-empty", text: inf.error || "No influence values." }));
      return;
    }
    const g = this.diag.group;
    const maxC = Math.max(inf.cutoff, ...this.infRows.map((r) => r.cooks ?? 0));
    const x = {
      field: "index", type: "quantitative", title: `${g} (index, in level order)`,
      scale: { domain: [0, this.infRows.length + 1], nice: false, zero: false }, axis: { tickCount: 8 },
    };
    const y = { field: "cooks", type: "quantitative", title: "Cook's distance", scale: { domain: [0, maxC * 1.08], nice: true } };
    const tooltip = [
      { field: "id", type: "nominal", title: g },
      { field: "n", type: "quantitative", title: "n" },
      { field: "cooks", type: "quantitative", title: "Cook's distance", format: ".4f" },
      { field: "covratio", type: "quantitative", title: "covratio", format: ".3f" },
      { field: "leverage", type: "quantitative", title: "leverage", format: ".3f" },
    ];
    const many = this.infRows.length > 300;
    const flagColor = t.select;
    const hlInf = this.highlightRows("influence");
    const spec = {
      width: containerWidth(this.infBox),
      height: 220,
      datasets: { inf: this.infRows, hl: hlInf, hlLab: labelRows(hlInf), cut: [{ y: inf.cutoff }] },
      params: this.selParams(),
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
              mark: { fill: t.select, fillOpacity: 0.08, stroke: t.select } },
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
    const view = await this.mountView("influence", this.infBox, spec,
      `Influence index plot: Cook's distance for each ${g}; ${this.flagged.length} flagged above ${inf.cutoff_rule}`,
      "mlm-influence");
    this.wireBrush(view, "ibrush", (v) => idsInBrush(this.infRows, "index", null, v.index || null, null));
  }

  async buildResiduals() {
    const t = this.ctx.theme;
    const r = this.diag.residuals;
    const resp = this.state.response;
    const g = this.diag.group;
    if (!this.resRows.length) {
      this.resBox.replaceChildren(h("p", { class: "mlm-empty", text: "No residuals." }));
      return;
    }
    const x = { field: "fitted", type: "quantitative", title: `fitted ${resp}`, scale: { zero: false, nice: true, domain: extent(this.resRows, "fitted") } };
    const y = { field: "resid", type: "quantitative", title: `residual (${resp})`, scale: { zero: false, nice: true, domain: extent(this.resRows, "resid", 3 * r.sigma) } };
    const tooltip = [
      { field: "id", type: "nominal", title: g },
      { field: "fitted", type: "quantitative", title: "fitted", format: ".3f" },
      { field: "resid", type: "quantitative", title: "residual", format: ".3f" },
    ];
    const n = this.resRows.length;
    const spec = {
      width: containerWidth(this.resBox, 200),
      height: 250,
      datasets: { pts: this.resRows, hl: this.highlightRows("residuals"), refs: [-3, 0, 3].map((k) => ({ y: k * r.sigma, k })) },
      params: this.selParams(),
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
              mark: { fill: t.select, fillOpacity: 0.08, stroke: t.select } },
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
    const view = await this.mountView("residuals", this.resBox, spec,
      `Conditional residuals against fitted values of ${resp}, dashed lines at 0 and ±3σ`, "mlm-residuals");
    this.wireBrush(view, "rbrush", (v) => idsInBrush(this.resRows, "fitted", "resid", v.fitted || null, v.resid || null));
  }

  async buildQQ() {
    const t = this.ctx.theme;
    const term = this.qqTerm;
    if (!term) {
      this.qqBox.replaceChildren(h("p", { class: "mlm-empty", text: "No random effects." }));
      return;
    }
    const g = this.diag.group;
    const rows = this.qqData;
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
    const level = Math.round(100 * (this.diag.qq.level || 0.95));
    const spec = {
      width: containerWidth(this.qqBox, 200),
      height: 250,
      datasets: { qq: rows, hl: this.highlightRows("qq"), diag: [{ v: tlo }, { v: thi }] },
      params: this.selParams(),
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
              mark: { fill: t.select, fillOpacity: 0.08, stroke: t.select } },
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
    const view = await this.mountView("qq", this.qqBox, spec,
      `Normal QQ plot of the standardized ${term} BLUPs of ${g} with a pointwise ${level}% envelope`, "mlm-qq");
    this.wireBrush(view, "qbrush", (v) => idsInBrush(this.qqData, "theo", "sample", v.theo || null, v.sample || null));
  }

  /** Brush -> selection (one update per animation frame). */
  wireBrush(view, name, pick) {
    let frame = 0;
    view.addSignalListener(name, (_, value) => {
      if (this.clearing) return;
      cancelAnimationFrame(frame);
      const t0 = performance.now();
      frame = requestAnimationFrame(() => {
        if (!Object.keys(value || {}).length) {
          if (this.brushActive?.[name]) this.ctx.selection.clear(`diagnostics:${name}`);
          this.brushActive = { ...this.brushActive, [name]: false };
          return;
        }
        this.brushActive = { ...this.brushActive, [name]: true };
        this.pendingT0 = t0;
        this.ctx.selection.set(pick(value), `diagnostics:${name}`);
      });
    });
    this.brushes[name] = view;
  }

  wireClick(view) {
    let down = null;
    view.container().addEventListener("pointerdown", (ev) => { down = [ev.clientX, ev.clientY]; });
    view.addEventListener("click", (ev, item) => {
      if (down && Math.hypot(ev.clientX - down[0], ev.clientY - down[1]) > 4) return; // a drag
      const id = item?.datum?.id;
      if (id === undefined) return;
      this.pendingT0 = performance.now();
      const sel = this.ctx.selection;
      if (ev.shiftKey || ev.metaKey || ev.ctrlKey) sel.toggle(String(id), "diagnostics");
      else if (sel.size === 1 && sel.has(String(id))) sel.clear("diagnostics");
      else sel.set([String(id)], "diagnostics");
    });
  }

  async onSelection(source) {
    const t0 = this.pendingT0 ?? performance.now();
    this.pendingT0 = undefined;
    const ids = this.ctx.selection.list();
    const any = ids.length > 0;
    const jobs = [];
    for (const [name, view] of Object.entries(this.views)) {
      const rows = this.highlightRows(name, ids);
      view.data("hl", rows);
      if (name === "influence") view.data("hlLab", labelRows(rows));
      if (view.signal("anysel") !== any) view.signal("anysel", any);
      jobs.push(view.runAsync());
    }
    this.clearing = true;
    try {
      for (const [name, view] of Object.entries(this.brushes)) {
        if (source !== `diagnostics:${name}` && view.data(`${name}_store`)?.length) {
          this.brushActive = { ...this.brushActive, [name]: false };
          jobs.push(clearBrush(view, name));
        }
      }
      await Promise.all(jobs);
    } finally {
      this.clearing = false;
    }
    this.renderSummary();
    this.ctx.timed(`diagnostics:selection:${source}`, t0);
  }

  renderSummary() {
    const sel = this.ctx.selection.list();
    this.summary.textContent = sel.length ? describeSelection(sel, this.ctx.noun) : "";
    this.summary.dataset.selected = JSON.stringify(sel);
    this.clearButton.disabled = !sel.length;
    const t = this.ctx.theme;
    for (const [id, b] of this.topButtons || []) {
      const on = this.ctx.selection.has(id);
      b.setAttribute("aria-pressed", String(on));
      b.style.borderColor = on ? t.select : "";
      b.style.color = on ? t.select : "";
      b.style.fontWeight = on ? "600" : "";
    }
  }

  destroyViews() {
    for (const v of Object.values(this.views)) v.finalize();
    for (const off of Object.values(this.fits)) off();
    this.views = {};
    this.fits = {};
    this.brushes = {};
  }

  retheme() {
    // Severity chips carry theme colours too.
    const old = this.section.querySelector(".mlm-checks");
    if (old) old.replaceWith(this.checksTable());
    return this.rebuild();
  }

  destroy() {
    this.destroyViews();
    this.disposers.forEach((d) => d());
  }
}

/** Selected clusters named on the influence plot: a few labels help, hundreds only cost time. */
export function labelRows(rows, max = 20) {
  return rows.length <= max ? rows : [];
}

/** [min, max] of a field, widened to include ±`pad` around 0 when given. */
function extent(rows, field, pad = 0) {
  let lo = pad ? -pad : Infinity;
  let hi = pad ? pad : -Infinity;
  for (const r of rows) {
    const v = r[field];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!Number.isFinite(lo)) return [0, 1];
  if (hi === lo) return [lo - 0.5, hi + 0.5];
  return [lo, hi];
}
