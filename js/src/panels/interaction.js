// Panel 1: cross-level interaction. Predicted outcome against a level-1 predictor at the
// current moderator values (average line + CI band + random-slope fan), a live simple-slope
// readout, and the simple slope across a moderator with the Johnson-Neyman region.

import { h, fmt, fmtP, fmtDf, nextId } from "../dom.js";
import {
  grid, johnsonNeyman, predictionCurve, simpleSlope, slopeCurve, slopeSD,
} from "../model.js";
import { containerWidth, embedChart, fitWidth } from "../charts.js";
import { moderatorControl } from "./controls.js";
import { discreteValues, expandValues, isDiscrete, valueLabel } from "../variables.js";

const Z95 = 1.959963984540054;

export const interactionPanel = {
  id: "interaction",
  label: "Interaction",
  available: () => true,
  mount(section, ctx) {
    return new InteractionPanel(section, ctx).ready;
  },
};

class InteractionPanel {
  constructor(section, ctx) {
    this.section = section;
    this.ctx = ctx;
    this.state = ctx.state;
    this.views = {};
    this.disposers = [];
    this.frame = 0;
    if (!this.state.predictors.length) {
      section.append(h("p", {
        class: "mlm-empty",
        text: "This model has no level-1 predictor with a random or moderated slope, so there " +
          "is no slope to explore here. The Clusters and Variance panels still apply.",
      }));
      this.ready = Promise.resolve(this);
      return;
    }
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
    for (const v of Object.values(this.views)) v.finalize();
    this.views = {};
    this.disposers.forEach((d) => d());
    this.disposers = [];
    this.renderControls();
    const pred = this.predictor;
    const mods = pred.moderators;
    if (!mods.includes(this.slopeMod)) {
      this.slopeMod = mods.find((m) => !isDiscrete(this.state, m)) || mods[0] || null;
    }
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
    const held = [];
    for (const n of this.heldVariables()) {
      const f = state.variables[n].factor;
      if (!f) held.push(`${n} = ${fmt(state.variables[n].mean)}`);
      else if (!held.includes(`${f} (sample mix)`)) held.push(`${f} (sample mix)`);
    }
    if (held.length) {
      kids.push(h("p", { class: "mlm-hint", text: `Held at their means: ${held.join(", ")}.` }));
    }
    const toggles = h("div", { class: "mlm-toggles", role: "group", "aria-label": "Show on chart" });
    if (pred.random) toggles.append(this.checkbox("showFan", "Random-slope 95% range"));
    if (state.random) toggles.append(this.checkbox("showSpread", "95% range of cluster lines"));
    kids.push(toggles);
    this.controls.replaceChildren(...kids);
  }

  checkbox(key, label) {
    const id = nextId("mlm-cb");
    const input = h("input", {
      type: "checkbox", id, checked: !!this.ctx.ui.get(key),
      onChange: (ev) => {
        this.ctx.ui.set({ [key]: ev.target.checked });
        const view = this.views.main;
        if (view) view.signal(key, ev.target.checked).runAsync();
        this.renderLegend(this.last);
      },
    });
    return h("div", { class: "mlm-check" }, [input, h("label", { for: id, text: label })]);
  }

  heldVariables() {
    const pred = this.predictor;
    const skip = new Set([pred.name, ...pred.moderators]);
    return Object.keys(this.state.variables).filter((n) => {
      const v = this.state.variables[n];
      return !skip.has(n) && v.in_fixed && !(v.factor && skip.has(v.factor));
    });
  }

  /** Model-variable values at the current settings (factor levels expanded to dummies). */
  values() {
    return expandValues(this.state, this.ctx.ui.get("at"), this.predictor.moderators);
  }

  /** Fixed y range over the moderators' extremes, so the axis does not jump while sliding. */
  yDomain(xs) {
    const pred = this.predictor;
    const corners = [{}];
    for (const name of pred.moderators) {
      const v = this.state.variables[name];
      const ends = isDiscrete(this.state, name)
        ? discreteValues(this.state, name).map((d) => d.assign)
        : [{ [name]: v.min }, { [name]: v.max }];
      const next = [];
      for (const c of corners) for (const e of ends) next.push({ ...c, ...e });
      corners.splice(0, corners.length, ...next);
    }
    let lo = Infinity;
    let hi = -Infinity;
    for (const c of corners) {
      for (const r of predictionCurve(this.ctx.model, pred.name, { ...this.values(), ...c }, xs)) {
        lo = Math.min(lo, r.lower, r.fan_lo, r.spread_lo);
        hi = Math.max(hi, r.upper, r.fan_hi, r.spread_hi);
      }
    }
    return [lo, hi];
  }

  async buildCharts() {
    const { ctx, state } = this;
    const t = ctx.theme;
    const pred = this.predictor;
    const xv = state.variables[pred.name];
    this.xs = grid(xv.min, xv.max, 61);
    const yDomain = this.yDomain(this.xs);
    const first = this.compute();
    const yEnc = (field, extra = {}) => ({
      field, type: "quantitative", title: state.response,
      scale: { domain: yDomain, zero: false, nice: true }, ...extra,
    });
    const main = {
      width: containerWidth(this.mainBox),
      height: 280,
      datasets: { curve: first.curve },
      data: { name: "curve" },
      params: [
        { name: "showFan", value: !!ctx.ui.get("showFan") && !!pred.random },
        { name: "showSpread", value: !!ctx.ui.get("showSpread") },
      ],
      encoding: {
        x: {
          field: "x", type: "quantitative", title: pred.name,
          scale: { domain: [xv.min, xv.max], nice: false, zero: false },
        },
      },
      layer: [
        {
          mark: { type: "area", color: t.fan, clip: true },
          encoding: {
            y: yEnc("spread_lo"), y2: { field: "spread_hi" },
            opacity: { condition: { test: "showSpread", value: 0.1 }, value: 0 },
          },
        },
        {
          mark: { type: "area", color: t.fan, clip: true },
          encoding: {
            y: yEnc("fan_lo"), y2: { field: "fan_hi" },
            opacity: { condition: { test: "showFan", value: 0.12 }, value: 0 },
          },
        },
        ...["fan_lo", "fan_hi"].map((f) => ({
          mark: { type: "line", color: t.fan, strokeDash: [5, 4], strokeWidth: 1.5, clip: true },
          encoding: {
            y: yEnc(f),
            opacity: { condition: { test: "showFan", value: 0.9 }, value: 0 },
          },
        })),
        {
          mark: { type: "area", color: t.accent, opacity: t.dark ? 0.32 : 0.22, clip: true },
          encoding: { y: yEnc("lower"), y2: { field: "upper" } },
        },
        {
          mark: { type: "line", color: t.accent, strokeWidth: 2.5, clip: true },
          encoding: { y: yEnc("fit") },
        },
        {
          mark: { type: "point", opacity: 0, size: 80 },
          encoding: {
            y: yEnc("fit"),
            tooltip: [
              { field: "x", type: "quantitative", title: pred.name, format: ".2f" },
              { field: "fit", type: "quantitative", title: `predicted ${state.response}`, format: ".2f" },
              { field: "lower", type: "quantitative", title: "95% CI lower", format: ".2f" },
              { field: "upper", type: "quantitative", title: "95% CI upper", format: ".2f" },
            ],
          },
        },
      ],
    };
    this.views.main = await embedChart(this.mainBox, main, t, {
      label: `Predicted ${state.response} against ${pred.name}`, fileName: `mlm-${pred.name}-interaction`,
    });
    this.disposers.push(fitWidth(this.mainBox, this.views.main));

    this.slopeBox.replaceChildren();
    if (this.slopeMod) {
      this.views.slope = await embedChart(this.slopeBox, this.slopeSpec(first), t, {
        label: `Simple slope of ${pred.name} across ${this.slopeMod}`, fileName: `mlm-${pred.name}-slope`,
      });
      this.disposers.push(fitWidth(this.slopeBox, this.views.slope));
    }
    ctx.views.interaction = this.views.main;
    ctx.views.slope = this.views.slope;
  }

  slopeSpec(first = this.compute()) {
    const { ctx, state } = this;
    const t = ctx.theme;
    const pred = this.predictor;
    const mod = this.slopeMod;
    const mv = state.variables[mod];
    const yTitle = `slope of ${pred.name}`;
    const base = { width: containerWidth(this.slopeBox), height: 170 };
    if (isDiscrete(state, mod)) {
      return {
        ...base,
        datasets: { slopes: first.slopes },
        data: { name: "slopes" },
        encoding: {
          x: { field: "label", type: "nominal", title: mod, sort: null, axis: { labelAngle: 0 } },
        },
        layer: [
          { mark: { type: "rule", color: t.fg3, strokeDash: [3, 3] }, encoding: { y: { datum: 0 }, x: null } },
          {
            mark: { type: "rule", strokeWidth: 2 },
            encoding: {
              y: { field: "lower", type: "quantitative", title: yTitle }, y2: { field: "upper" },
              color: { condition: { test: "datum.current", value: t.accent }, value: t.fg3 },
            },
          },
          {
            mark: { type: "point", filled: true },
            encoding: {
              y: { field: "estimate", type: "quantitative" },
              size: { condition: { test: "datum.current", value: 140 }, value: 70 },
              color: { condition: { test: "datum.current", value: t.accent }, value: t.fg3 },
              tooltip: slopeTooltip(mod, true),
            },
          },
        ],
      };
    }
    const xEnc = {
      type: "quantitative", title: mod, scale: { domain: [mv.min, mv.max], nice: false, zero: false },
    };
    return {
      ...base,
      datasets: { slopes: first.slopes, jn: first.jnRows, current: first.current },
      layer: [
        {
          data: { name: "jn" },
          mark: { type: "rect", color: t.sig, opacity: 0.13 },
          encoding: { x: { field: "start", ...xEnc }, x2: { field: "end" } },
        },
        {
          data: { name: "slopes" },
          layer: [
            {
              mark: { type: "area", color: t.accent, opacity: 0.2 },
              encoding: {
                x: { field: "m", ...xEnc },
                y: { field: "lower", type: "quantitative", title: yTitle }, y2: { field: "upper" },
              },
            },
            {
              mark: { type: "line", color: t.accent, strokeWidth: 2 },
              encoding: {
                x: { field: "m", ...xEnc }, y: { field: "estimate", type: "quantitative" },
                tooltip: slopeTooltip(mod),
              },
            },
          ],
        },
        {
          data: { name: "current" },
          layer: [
            { mark: { type: "rule", color: t.fg3, strokeDash: [3, 3] }, encoding: { y: { datum: 0 } } },
            {
              mark: { type: "rule", color: t.fg2, strokeWidth: 1 },
              encoding: { x: { field: "m", ...xEnc } },
            },
            {
              mark: { type: "rule", color: t.accent, strokeWidth: 3 },
              encoding: {
                x: { field: "m", ...xEnc }, y: { field: "lower", type: "quantitative" }, y2: { field: "upper" },
              },
            },
            {
              mark: { type: "point", filled: true, color: t.accent, size: 90, stroke: t.bg, strokeWidth: 1.5 },
              encoding: {
                x: { field: "m", ...xEnc }, y: { field: "estimate", type: "quantitative" },
                tooltip: slopeTooltip(mod),
              },
            },
          ],
        },
      ],
    };
  }

  schedule() {
    cancelAnimationFrame(this.frame);
    const t0 = performance.now();
    this.frame = requestAnimationFrame(() => this.update(t0));
  }

  /** Everything the charts and the readout show, computed from the state (no kernel). */
  compute() {
    const m = this.ctx.model;
    const pred = this.predictor;
    const x = pred.name;
    const values = this.values();
    const slope = simpleSlope(m, x, values);
    const sd = slopeSD(m, x, values);
    const r = {
      x, values, slope, sd, fanLo: slope.estimate - Z95 * sd, fanHi: slope.estimate + Z95 * sd,
      curve: predictionCurve(m, x, values, this.xs, { zFan: Z95 }),
    };
    const mod = this.slopeMod;
    if (mod) {
      const mv = this.state.variables[mod];
      if (isDiscrete(this.state, mod)) {
        const current = this.ctx.ui.get("at")[mod];
        r.byValue = discreteValues(this.state, mod).map((d) => ({
          m: d.key, ...simpleSlope(m, x, { ...values, ...d.assign }),
          label: `${mod} = ${d.label}`, current: d.key === current,
        }));
        r.slopes = r.byValue;
      } else {
        r.jn = johnsonNeyman(m, x, mod, values, mv.min, mv.max);
        r.slopes = slopeCurve(m, x, mod, values, grid(mv.min, mv.max, 81));
        r.jnRows = r.jn.regions.map(([start, end]) => ({ start, end }));
        r.current = [{ m: values[mod], ...slope }];
      }
    }
    return r;
  }

  /** Recompute and push into the views through named data sets (no recompile). */
  async update(t0 = performance.now()) {
    const r = this.compute();
    const jobs = [];
    if (this.views.main) {
      this.views.main.data("curve", r.curve);
      jobs.push(this.views.main.runAsync());
    }
    if (this.views.slope && r.slopes) {
      this.views.slope.data("slopes", r.slopes);
      if (r.jnRows) {
        this.views.slope.data("jn", r.jnRows);
        this.views.slope.data("current", r.current);
      }
      jobs.push(this.views.slope.runAsync());
    }
    this.last = r;
    this.renderReadout(r);
    this.renderLegend(r);
    this.renderSlopeText(r);
    await Promise.all(jobs);
    this.ctx.timed("interaction", t0);
  }

  renderReadout(r) {
    const { slope: s, x, values } = r;
    const pred = this.predictor;
    const uiAt = this.ctx.ui.get("at");
    const at = pred.moderators.map((n) => valueLabel(this.state, n, uiAt)).join(", ");
    const rows = [
      h("div", { class: "mlm-readout-title", text: `Simple slope of ${x}` }),
      h("div", { class: "mlm-readout-at", text: at ? `at ${at}` : "(no moderators)" }),
      h("div", { class: "mlm-readout-est" }, [
        h("span", { class: "mlm-big", text: fmt(s.estimate, 3) }),
        h("span", { class: "mlm-ci", text: `95% CI [${fmt(s.lower, 3)}, ${fmt(s.upper, 3)}]` }),
      ]),
      h("div", {
        class: "mlm-readout-test",
        text: [`SE\u00a0${fmt(s.se, 3)}`, `t(${fmtDf(s.df)})\u00a0=\u00a0${fmt(s.t, 2)}`,
          `p\u00a0${fmtP(s.p).startsWith("<") ? fmtP(s.p).replace(" ", "\u00a0") : "=\u00a0" + fmtP(s.p)}`].join(" · "),
      }),
    ];
    if (pred.random) {
      rows.push(h("div", {
        class: "mlm-readout-range",
        text: `Random-slope 95% range: ${fmt(r.fanLo, 2)} to ${fmt(r.fanHi, 2)} (SD ${fmt(r.sd, 2)})`,
      }));
    }
    this.readout.replaceChildren(...rows);
    Object.assign(this.readout.dataset, {
      estimate: String(s.estimate), se: String(s.se), df: String(s.df), p: String(s.p),
      lower: String(s.lower), upper: String(s.upper), predictor: x,
      at: JSON.stringify(Object.fromEntries(pred.moderators.map((n) => [n, uiAt[n]]))),
    });
  }

  renderLegend(r) {
    if (!r) return;
    const t = this.ctx.theme;
    const items = [[t.accent, "solid", `Average line with 95% CI (${this.state.response} at the chosen values)`]];
    if (this.predictor.random && this.ctx.ui.get("showFan")) {
      items.push([t.fan, "dashed", `Random-slope 95% range: slopes ${fmt(r.fanLo)} to ${fmt(r.fanHi)}`]);
    }
    if (this.state.random && this.ctx.ui.get("showSpread")) {
      items.push([t.fan, "area", "95% range of cluster lines (intercept and slope variance)"]);
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
          this.views.slope?.finalize();
          this.views.slope = await embedChart(this.slopeBox, this.slopeSpec(), this.ctx.theme, {
            label: `Simple slope of ${pred.name} across ${this.slopeMod}`,
          });
          this.ctx.views.slope = this.views.slope;
          this.update();
        },
      }, mods.map((n) => h("option", { value: n, text: n, selected: n === mod }))));
    }
    if (this.slopeHead.dataset.key !== `${pred.name}|${mod}|${mods.join()}`) {
      this.slopeHead.replaceChildren(...head);
      this.slopeHead.dataset.key = `${pred.name}|${mod}|${mods.join()}`;
    }
    this.jnText.textContent = r.jn ? jnSentence(pred.name, mod, r.jn, this.state.variables[mod])
      : binarySentence(pred.name, mod, r.byValue || []);
  }

  retheme() {
    return this.build();
  }

  destroy() {
    cancelAnimationFrame(this.frame);
    for (const v of Object.values(this.views)) v.finalize();
    this.disposers.forEach((d) => d());
  }
}

function slopeTooltip(mod, discrete = false) {
  return [
    discrete ? { field: "label", type: "nominal", title: mod } : { field: "m", type: "quantitative", title: mod, format: ".2f" },
    { field: "estimate", type: "quantitative", title: "slope", format: ".3f" },
    { field: "lower", type: "quantitative", title: "95% CI lower", format: ".3f" },
    { field: "upper", type: "quantitative", title: "95% CI upper", format: ".3f" },
    { field: "p", type: "quantitative", title: "p", format: ".3g" },
  ];
}

/** Plain-language Johnson-Neyman summary over the observed moderator range. */
export function jnSentence(x, mod, jn, mv) {
  const range = `${fmt(mv.min)} to ${fmt(mv.max)}`;
  const shaded = "Shaded: Johnson–Neyman region where the slope differs from 0 (p < .05).";
  if (!jn.regions.length) {
    return `The slope of ${x} is not significantly different from 0 anywhere in the observed range of ${mod} (${range}).`;
  }
  const full = jn.regions.length === 1 && jn.regions[0][0] === mv.min && jn.regions[0][1] === mv.max;
  if (full) {
    return `The slope of ${x} differs from 0 (p < .05) across the whole observed range of ${mod} (${range}).`;
  }
  const parts = jn.regions.map(([a, b]) => {
    if (a === mv.min) return `${mod} below ${fmt(b)}`;
    if (b === mv.max) return `${mod} above ${fmt(a)}`;
    return `${mod} between ${fmt(a)} and ${fmt(b)}`;
  });
  return `${shaded} The slope of ${x} is significant for ${parts.join(" and for ")} (observed range ${range}).`;
}

function binarySentence(x, mod, rows) {
  if (!rows.length) return "";
  return rows.map((r) => `${r.label}: slope ${fmt(r.estimate, 3)} (p ${fmtP(r.p).startsWith("<") ? fmtP(r.p) : "= " + fmtP(r.p)})`).join(" · ");
}
