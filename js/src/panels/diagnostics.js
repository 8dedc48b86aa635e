// Panel 4: diagnostics. res.check() findings, an influence index plot (Cook's distance per
// cluster with the 4/G rule, flagged clusters labelled), residuals vs fitted and a normal QQ
// plot of a chosen random effect, all linked to the shared cluster selection: clicking or
// brushing here selects clusters (the BLUP scatter and caterpillar follow), and clusters
// selected elsewhere are highlighted here.
//
// Everything is precomputed in Python (state.diagnostics). This module owns the DOM (check
// table, influence table, controls) and the selection wiring; rows come from
// diagnostic_rows.js, the Vega-Lite specs from diagnostic_specs.js.

import { h, fmt, fmtInt } from "../dom.js";
import { describeSelection } from "../selection.js";
import { containerWidth } from "../charts.js";
import { ChartViews } from "../views.js";
import { SelectionLink } from "../linking.js";
import { selectField } from "./controls.js";
import {
  flaggedIds, highlight, idsInBrush, influenceRows, labelRows, qqRows, residualRows, rowsById,
  topInfluential,
} from "./diagnostic_rows.js";
import { influenceSpec, qqSpec, residualSpec } from "./diagnostic_specs.js";

export const diagnosticsPanel = {
  id: "diagnostics",
  label: "Diagnostics",
  available: (state) => !!state.diagnostics,
  mount(section, ctx) {
    return new DiagnosticsPanel(section, ctx).ready;
  },
};

const SEVERITY = { ok: "OK", note: "Note", warning: "Warning", error: "Problem" };

class DiagnosticsPanel {
  constructor(section, ctx) {
    this.section = section;
    this.ctx = ctx;
    this.state = ctx.state;
    this.diag = ctx.state.diagnostics;
    this.views = new ChartViews(ctx, {
      builders: {
        influence: () => this.buildInfluence(),
        residuals: () => this.buildResiduals(),
        qq: () => this.buildQQ(),
      },
    });
    this.link = new SelectionLink(ctx, this.views, { brushPrefix: "diagnostics:", clickSource: "diagnostics" });
    this.disposers = [];
    const terms = Object.keys(this.diag.qq?.terms || {});
    this.qqTerm = terms[0] || null;
    this.infRows = influenceRows(this.diag.influence);
    this.infIndex = rowsById(this.infRows);
    this.resRows = residualRows(this.diag);
    this.resIndex = rowsById(this.resRows);
    this.prepareQQ();
    this.layout();
    this.ready = this.views.build().then(() => this);
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
      onClick: () => { this.link.mark(); ctx.selection.set(flagged, "diagnostics"); },
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
          this.views.rebuildView("qq");
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
      ? `Model checks: ${issues.length} to look at, ${passed.length} passed`
      : `Model checks: all ${passed.length} passed`;
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
        onClick: (ev) => this.link.pick(id, ev),
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

  highlightRows(name, ids = this.ctx.selection.list()) {
    if (name === "influence") return highlight(this.infRows, this.infIndex, ids);
    if (name === "residuals") return highlight(this.resRows, this.resIndex, ids);
    if (name === "qq") return highlight(this.qqData, this.qqIndex, ids);
    return [];
  }

  /** Embed a chart, make its points clickable and let brush `brush` select via `pick`. */
  async mountView(name, box, spec, { label, fileName, brush, pick }) {
    const view = await this.views.mount(name, box, spec, { label, fileName });
    this.link.wireClick(view);
    this.link.wireBrush(name, view, brush, pick);
    return view;
  }

  /** Spec inputs every chart shares: its highlight rows, the dimming flag and its width. */
  common(name, box, min) {
    return { hl: this.highlightRows(name), any: this.ctx.selection.size > 0, width: containerWidth(box, min) };
  }

  async buildInfluence() {
    const inf = this.diag.influence;
    if (inf.error || !this.infRows.length) {
      this.infBox.replaceChildren(h("p", { class: "mlm-empty", text: inf.error || "No influence values." }));
      return;
    }
    const spec = influenceSpec(this.diag, this.ctx.theme, { rows: this.infRows, ...this.common("influence", this.infBox) });
    await this.mountView("influence", this.infBox, spec, {
      label: `Influence index plot: Cook's distance for each ${this.diag.group}; ${this.flagged.length} flagged above ${inf.cutoff_rule}`,
      fileName: "mlm-influence",
      brush: "ibrush",
      pick: (v) => idsInBrush(this.infRows, "index", null, v.index || null, null),
    });
  }

  async buildResiduals() {
    const resp = this.state.response;
    if (!this.resRows.length) {
      this.resBox.replaceChildren(h("p", { class: "mlm-empty", text: "No residuals." }));
      return;
    }
    const spec = residualSpec(this.diag, this.ctx.theme, {
      rows: this.resRows, response: resp, ...this.common("residuals", this.resBox, 200),
    });
    await this.mountView("residuals", this.resBox, spec, {
      label: `Conditional residuals against fitted values of ${resp}, dashed lines at 0 and ±3σ`,
      fileName: "mlm-residuals",
      brush: "rbrush",
      pick: (v) => idsInBrush(this.resRows, "fitted", "resid", v.fitted || null, v.resid || null),
    });
  }

  async buildQQ() {
    const term = this.qqTerm;
    if (!term) {
      this.qqBox.replaceChildren(h("p", { class: "mlm-empty", text: "No random effects." }));
      return;
    }
    const spec = qqSpec(this.diag, this.ctx.theme, { rows: this.qqData, term, ...this.common("qq", this.qqBox, 200) });
    const level = Math.round(100 * (this.diag.qq.level || 0.95));
    await this.mountView("qq", this.qqBox, spec, {
      label: `Normal QQ plot of the standardized ${term} BLUPs of ${this.diag.group} with a pointwise ${level}% envelope`,
      fileName: "mlm-qq",
      brush: "qbrush",
      pick: (v) => idsInBrush(this.qqData, "theo", "sample", v.theo || null, v.sample || null),
    });
  }

  async onSelection(source) {
    const t0 = this.link.takeT0();
    const ids = this.ctx.selection.list();
    await this.link.push(source, ids.length > 0, (name, view) => {
      const rows = this.highlightRows(name, ids);
      view.data("hl", rows);
      if (name === "influence") view.data("hlLab", labelRows(rows));
    });
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

  retheme() {
    // Severity chips carry theme colours too.
    const old = this.section.querySelector(".mlm-checks");
    if (old) old.replaceWith(this.checksTable());
    return this.views.rebuild();
  }

  destroy() {
    this.views.clear();
    this.disposers.forEach((d) => d());
  }
}
