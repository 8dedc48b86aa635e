// Panel 1: cross-level interaction. Predicted outcome against a level-1 predictor at the
// current moderator values (average line + CI band + random-slope fan), a live simple-slope
// readout, and the simple slope across a moderator with the Johnson-Neyman region.
// This module owns the DOM and the controls; the numbers come from interaction_model.js and
// the Vega-Lite specs from interaction_specs.js.

import { h, fmt, fmtP, fmtDf, nextId } from "../dom.js";
import { grid } from "../model.js";
import { containerWidth } from "../charts.js";
import { ChartViews } from "../views.js";
import { moderatorControl } from "./controls.js";
import { expandValues, isDiscrete, valueLabel } from "../variables.js";
import {
  computeInteraction, defaultSlopeModerator, discreteSentence, heldLabels, jnSentence, yDomain,
} from "./interaction_model.js";
import { intervalWord, mainSpec, slopeSpec } from "./interaction_specs.js";
import { ratioOf, responseSlope } from "../glmm.js";

export const interactionPanel = {
  id: "interaction",
  label: "Interaction",
  // Without a level-1 predictor there is no line to draw: no tab (it would be empty).
  available: (state) => state.predictors.length > 0,
  mount(section, ctx) {
    return new InteractionPanel(section, ctx).ready;
  },
};

class InteractionPanel {
  constructor(section, ctx) {
    this.section = section;
    this.ctx = ctx;
    this.state = ctx.state;
    this.views = new ChartViews(ctx, { aliases: { main: "interaction" } });
    this.frame = 0;
    this.layout();
    this.ready = this.build().then(() => this);
  }

  get predictor() {
    return this.state.predictors.find((p) => p.name === this.ctx.ui.get("predictor"));
  }

  layout() {
    const { section } = this;
    this.controls = h("div", { class: "mlm-controls", role: "group", "aria-label": "Interaction settings" });
    this.readout = h("div", { class: "mlm-readout", "aria-live": "polite" });
    this.mainBox = h("div", { class: "mlm-chart", dataset: { chart: "interaction" } });
    this.legend = h("div", { class: "mlm-legend" });
    this.slopeBox = h("div", { class: "mlm-chart", dataset: { chart: "slope" } });
    this.slopeHead = h("div", { class: "mlm-subhead" });
    this.jnText = h("p", { class: "mlm-caption" });
    section.append(h("div", { class: "mlm-split" }, [
      h("div", { class: "mlm-side" }, [this.controls, this.readout]),
      h("div", { class: "mlm-main" }, [
        this.mainBox, this.legend, this.slopeHead, this.slopeBox, this.jnText,
      ]),
    ]));
  }

  /** (Re)build controls and charts for the current predictor. */
  async build() {
    this.views.clear();
    this.renderControls();
    const pred = this.predictor;
    if (!pred.moderators.includes(this.slopeMod)) this.slopeMod = defaultSlopeModerator(this.state, pred);
    await this.buildCharts();
    await this.update();
  }

  renderControls() {
    const { ctx, state } = this;
    const pred = this.predictor;
    const kids = [];
    if (state.predictors.length > 1) {
      const id = nextId("mlm-pred");
      const select = h("select", {
        id, class: "mlm-select",
        onChange: (ev) => {
          ctx.ui.set({ predictor: ev.target.value });
          this.build();
        },
      }, state.predictors.map((p) => h("option", { value: p.name, text: p.name, selected: p.name === pred.name })));
      kids.push(h("div", { class: "mlm-field" }, [h("label", { for: id, text: "Predictor (x axis)" }), select]));
    } else {
      kids.push(h("div", { class: "mlm-field" }, [
        h("span", { class: "mlm-label", text: "Predictor (x axis)" }),
        h("span", { class: "mlm-value-strong", text: pred.name }),
      ]));
    }
    const kinds = [pred.random ? "random slope" : null, pred.moderators.length ? "moderated" : null]
      .filter(Boolean).join(", ");
    if (kinds) kids.push(h("p", { class: "mlm-hint", text: `${pred.name}: ${kinds}` }));
    if (pred.moderators.length) {
      kids.push(h("div", { class: "mlm-label mlm-section-label", text: "Moderators" }));
      for (const name of pred.moderators) {
        kids.push(moderatorControl(state, name, ctx.ui.get("at")[name], (value) => {
          ctx.ui.set({ at: { ...ctx.ui.get("at"), [name]: value } });
          this.schedule();
        }));
      }
    } else {
      kids.push(h("p", { class: "mlm-hint", text: `No variable moderates the slope of ${pred.name}.` }));
    }
    const held = heldLabels(state, pred);
    if (held.length) {
      kids.push(h("p", { class: "mlm-hint", text: `Held at their means: ${held.join(", ")}.` }));
    }
    const toggles = h("div", { class: "mlm-toggles", role: "group", "aria-label": "Show on chart" });
    if (pred.random) toggles.append(this.checkbox("showFan", "Random-slope 95% range"));
    if (state.random) {
      toggles.append(this.checkbox("showSpread", state.glmm ? "95% range of clusters' curves"
        : "95% range of cluster lines"));
    }
    kids.push(toggles);
    this.controls.replaceChildren(...kids);
  }

  /** A toggle of a main-chart layer: flips its signal, no rebuild. */
  checkbox(key, label) {
    const id = nextId("mlm-cb");
    const input = h("input", {
      type: "checkbox", id, checked: !!this.ctx.ui.get(key),
      onChange: (ev) => {
        this.ctx.ui.set({ [key]: ev.target.checked });
        const view = this.views.get("main");
        if (view) view.signal(key, ev.target.checked).runAsync();
        // A posterior's clusters' range costs mixture quantiles: computed only while shown.
        if (key === "showSpread" && this.state.posterior) this.schedule();
        this.renderLegend(this.last);
      },
    });
    return h("div", { class: "mlm-check" }, [input, h("label", { for: id, text: label })]);
  }

  /** Model-variable values at the current settings (factor levels expanded to dummies). */
  values() {
    return expandValues(this.state, this.ctx.ui.get("at"), this.predictor.moderators);
  }

  async buildCharts() {
    const { ctx, state } = this;
    const pred = this.predictor;
    const xv = state.variables[pred.name];
    this.xs = grid(xv.min, xv.max, 61);
    const first = this.compute();
    const main = mainSpec(state, ctx.theme, {
      pred, curve: first.curve, yDomain: yDomain(ctx.model, state, pred, this.values(), this.xs),
      showFan: !!ctx.ui.get("showFan") && !!pred.random, showSpread: !!ctx.ui.get("showSpread"),
      width: containerWidth(this.mainBox), byModerator: first.byModerator || [],
    });
    await this.views.mount("main", this.mainBox, main, {
      label: `Predicted ${state.glmm ? state.glmm.scale_label : state.response} against ${pred.name}`,
      fileName: `mlm-${pred.name}-interaction`,
    });
    // A predictor without moderators has no slope chart: clear the previous one's canvas.
    this.slopeBox.replaceChildren();
    if (this.slopeMod) await this.mountSlope(first);
  }

  /** (Re)draw the slope chart for `this.slopeMod` from a computeInteraction result. */
  mountSlope(data) {
    const pred = this.predictor;
    const spec = slopeSpec(this.state, this.ctx.theme, {
      pred, mod: this.slopeMod, data, discrete: isDiscrete(this.state, this.slopeMod),
      width: containerWidth(this.slopeBox),
    });
    return this.views.mount("slope", this.slopeBox, spec, {
      label: `Simple slope of ${pred.name} across ${this.slopeMod}`, fileName: `mlm-${pred.name}-slope`,
    });
  }

  /** Coalesce slider moves to one update per animation frame, timed from the first move. */
  schedule() {
    cancelAnimationFrame(this.frame);
    const t0 = performance.now();
    this.frame = requestAnimationFrame(() => this.update(t0));
  }

  /** Everything the charts and the readout show, computed from the state (no kernel). */
  compute() {
    return computeInteraction(this.ctx.model, this.state, {
      pred: this.predictor, values: this.values(), xs: this.xs, mod: this.slopeMod, at: this.ctx.ui.get("at"),
      spread: !this.state.posterior || !!this.ctx.ui.get("showSpread"),
    });
  }

  /** Recompute and push into the views through named data sets (no recompile). */
  async update(t0 = performance.now()) {
    const r = this.compute();
    const jobs = [];
    const main = this.views.get("main");
    const slope = this.views.get("slope");
    if (main) {
      main.data("curve", r.curve);
      if (r.byModerator?.length) main.data("bymod", r.byModerator);
      jobs.push(main.runAsync());
    }
    if (slope && r.slopes) {
      slope.data("slopes", r.slopes);
      if (r.jnRows) {
        slope.data("jn", r.jnRows);
        slope.data("current", r.current);
      }
      jobs.push(slope.runAsync());
    }
    this.last = r;
    this.renderReadout(r);
    this.renderLegend(r);
    this.renderSlopeText(r);
    await Promise.all(jobs);
    this.ctx.timed("interaction", t0);
  }

  renderReadout(r) {
    const { slope: s, x } = r;
    const pred = this.predictor;
    const uiAt = this.ctx.ui.get("at");
    const at = pred.moderators.map((n) => valueLabel(this.state, n, uiAt)).join(", ");
    const word = intervalWord(this.state);
    const title = r.kind === "bayes" ? `Posterior of the slope of ${x}`
      : r.kind === "glmm" ? `Simple slope of ${x} (link scale)` : `Simple slope of ${x}`;
    const rows = [
      h("div", { class: "mlm-readout-title", text: title }),
      h("div", { class: "mlm-readout-at", text: at ? `at ${at}` : "(no moderators)" }),
      h("div", { class: "mlm-readout-est" }, [
        h("span", { class: "mlm-big", text: fmt(s.estimate, 3) }),
        h("span", { class: "mlm-ci", text: `95% ${word} [${fmt(s.lower, 3)}, ${fmt(s.upper, 3)}]` }),
      ]),
      h("div", { class: "mlm-readout-test", text: this.testLine(r) }),
    ];
    const g = this.state.glmm;
    const data = {};
    if (g?.ratio) {
      const q = ratioOf(s);
      rows.push(h("div", {
        class: "mlm-readout-ratio",
        text: `${g.ratio[0].toUpperCase()}${g.ratio.slice(1)} per unit of ${x}: ${fmt(q.ratio, 3)} ` +
          `[${fmt(q.lower, 3)}, ${fmt(q.upper, 3)}]`,
      }));
      Object.assign(data, { ratio: String(q.ratio), ratioLower: String(q.lower), ratioUpper: String(q.upper) });
    }
    if (g) {
      const dmu = responseSlope(this.ctx.model, x, r.values, s);
      rows.push(h("div", {
        class: "mlm-readout-range",
        text: `Change in ${g.scale} per unit of ${x} at these values (typical cluster): ${fmt(dmu, 3)}`,
      }));
      data.responseSlope = String(dmu);
    }
    if (pred.random) {
      const what = r.kind === "bayes" ? "Posterior predictive 95% range of a cluster's slope"
        : "Random-slope 95% range";
      rows.push(h("div", {
        class: "mlm-readout-range",
        text: `${what}: ${fmt(r.fanLo, 2)} to ${fmt(r.fanHi, 2)} (SD ${fmt(r.sd, 2)})`,
      }));
      Object.assign(data, { rangeLower: String(r.fanLo), rangeUpper: String(r.fanHi) });
    }
    this.readout.replaceChildren(...rows);
    // Full-precision numbers for tests and scripts (the text above is rounded).
    for (const key of ["ratio", "ratioLower", "ratioUpper", "responseSlope", "rangeLower", "rangeUpper", "probPositive"]) {
      delete this.readout.dataset[key];
    }
    Object.assign(this.readout.dataset, {
      estimate: String(s.estimate), se: String(s.se), df: String(s.df), p: String(s.p),
      lower: String(s.lower), upper: String(s.upper), predictor: x, kind: r.kind,
      at: JSON.stringify(Object.fromEntries(pred.moderators.map((n) => [n, uiAt[n]]))),
      ...data, ...(s.prob_positive !== undefined ? { probPositive: String(s.prob_positive) } : {}),
    });
  }

  /** "SE · t(df) = · p" (a GLMM: z; a posterior: its SD, P(slope > 0) and the draws). */
  testLine(r) {
    const s = r.slope;
    if (r.kind === "bayes") {
      return [`posterior SD\u00a0${fmt(s.se, 3)}`, `P(slope\u00a0>\u00a00)\u00a0=\u00a0${s.prob_positive.toFixed(3)}`,
        `${s.draws.toLocaleString("en-US")} draws`].join(" · ");
    }
    const p = fmtP(s.p).startsWith("<") ? fmtP(s.p).replace(" ", "\u00a0") : "=\u00a0" + fmtP(s.p);
    const stat = r.kind === "glmm" ? `z\u00a0=\u00a0${fmt(s.t, 2)}` : `t(${fmtDf(s.df)})\u00a0=\u00a0${fmt(s.t, 2)}`;
    return [`SE\u00a0${fmt(s.se, 3)}`, stat, `p\u00a0${p}`].join(" · ");
  }

  renderLegend(r) {
    if (!r) return;
    const t = this.ctx.theme;
    const g = this.state.glmm;
    const first = r.kind === "bayes"
      ? `Posterior mean line with 95% credible band (${this.state.response} at the chosen values)`
      : g ? `Typical cluster (random effects 0) with 95% CI: ${g.scale_label} at the chosen values`
        : `Average line with 95% CI (${this.state.response} at the chosen values)`;
    const items = [[t.accent, "solid", first]];
    if (this.predictor.random && this.ctx.ui.get("showFan")) {
      items.push([t.fan, "dashed", `Random-slope 95% range: slopes ${fmt(r.fanLo)} to ${fmt(r.fanHi)}` +
        (g ? " (link scale)" : "")]);
    }
    if (this.state.random && this.ctx.ui.get("showSpread")) {
      items.push([t.fan, "area", g ? "95% range of the clusters' curves (intercept and slope variance)"
        : "95% range of cluster lines (intercept and slope variance)"]);
    }
    this.legend.replaceChildren(...items.map(([color, kind, text]) => h("span", { class: "mlm-key" }, [
      h("span", { class: `mlm-swatch mlm-swatch-${kind}`, style: { "--sw": color }, "aria-hidden": "true" }),
      text,
    ])));
  }

  renderSlopeText(r) {
    const pred = this.predictor;
    const mod = this.slopeMod;
    const mods = pred.moderators;
    if (!mod) {
      this.slopeHead.replaceChildren();
      this.jnText.textContent = "";
      return;
    }
    const head = [h("span", { class: "mlm-subtitle", text: `Simple slope of ${pred.name} across ${mod}` })];
    if (mods.length > 1) {
      const id = nextId("mlm-mod");
      head.push(h("label", { for: id, class: "mlm-inline-label", text: "against" }), h("select", {
        id, class: "mlm-select mlm-select-small",
        onChange: async (ev) => {
          this.slopeMod = ev.target.value;
          await this.mountSlope(this.compute());
          this.update();
        },
      }, mods.map((n) => h("option", { value: n, text: n, selected: n === mod }))));
    }
    // Rebuilding the header on every slider step would steal focus from its select.
    if (this.slopeHead.dataset.key !== `${pred.name}|${mod}|${mods.join()}`) {
      this.slopeHead.replaceChildren(...head);
      this.slopeHead.dataset.key = `${pred.name}|${mod}|${mods.join()}`;
    }
    this.jnText.textContent = r.jn ? jnSentence(pred.name, mod, r.jn, this.state.variables[mod], r.kind)
      : discreteSentence(r.byValue || []);
  }

  retheme() {
    return this.build();
  }

  destroy() {
    cancelAnimationFrame(this.frame);
    this.views.clear();
  }
}
