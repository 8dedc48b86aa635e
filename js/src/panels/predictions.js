// Panel: Predictions. Population-level predicted outcome across a predictor, by a factor or a
// moderator, with confidence and prediction bands (ggeffects' predict_response idea), computed
// in the browser from state.predictions (prediction_model.js), so it also works in exported
// HTML. The numbers equal Python's res.predict_response.

import { h, nextId } from "../dom.js";
import { grid } from "../model.js";
import { containerWidth } from "../charts.js";
import { ChartViews } from "../views.js";
import { selectField } from "./controls.js";
import { byChoices, heldLabels, predictionTable, xChoices } from "./prediction_model.js";
import { predictionSpec } from "./prediction_specs.js";

export const predictionsPanel = {
  id: "predictions",
  label: "Predictions",
  available: (state) => !!state.predictions && xChoices(state).length > 0,
  mount(section, ctx) {
    return new PredictionsPanel(section, ctx).ready;
  },
};

const N_POINTS = 50;

class PredictionsPanel {
  constructor(section, ctx) {
    this.ctx = ctx;
    this.state = ctx.state;
    this.views = new ChartViews(ctx, { aliases: { chart: "predictions" } });
    const p = this.state.predictions;
    const xs = xChoices(this.state);
    this.x = xs.includes(p.x) ? p.x : xs[0];
    this.by = byChoices(this.state, this.x).includes(p.by) ? p.by : null;
    this.showConf = true;
    this.showPred = true;
    this.controls = h("div", { class: "mlm-controls", role: "group", "aria-label": "Prediction settings" });
    this.box = h("div", { class: "mlm-chart", dataset: { chart: "predictions" } });
    this.caption = h("p", { class: "mlm-caption mlm-pred-caption" });
    section.append(h("div", { class: "mlm-split" }, [
      h("div", { class: "mlm-side" }, [this.controls]),
      h("div", { class: "mlm-main" }, [this.box, this.caption]),
    ]));
    this.renderControls();
    this.ready = this.build().then(() => this);
  }

  rows() {
    const xv = this.state.variables[this.x];
    return predictionTable(this.ctx.model, this.state, {
      x: this.x, by: this.by, xs: grid(xv.min, xv.max, N_POINTS), level: this.state.predictions.level,
    });
  }

  renderControls() {
    const xs = xChoices(this.state);
    const bys = byChoices(this.state, this.x);
    const kids = [
      selectField("Predictor (x axis)", xs.map((n) => [n, n]), this.x, (value) => {
        this.x = value;
        if (this.by === value) this.by = null;
        this.renderControls();
        this.build();
      }, { dataset: { control: "pred-x" } }),
      selectField("Lines by", [["", "(none)"], ...bys.map((n) => [n, n])], this.by || "", (value) => {
        this.by = value || null;
        this.build();
      }, { dataset: { control: "pred-by" } }),
    ];
    const toggles = h("div", { class: "mlm-toggles", role: "group", "aria-label": "Bands" });
    toggles.append(this.checkbox("showConf", "Confidence band (mean)"));
    toggles.append(this.checkbox("showPred", "Prediction band (new observation, new cluster)"));
    kids.push(toggles);
    this.controls.replaceChildren(...kids);
  }

  checkbox(key, label) {
    const id = nextId("mlm-cb");
    const input = h("input", {
      type: "checkbox", id, checked: this[key], dataset: { toggle: key },
      onChange: (ev) => {
        this[key] = ev.target.checked;
        const view = this.views.get("chart");
        if (view) view.signal(key, this[key]).runAsync();
      },
    });
    return h("div", { class: "mlm-check" }, [input, h("label", { for: id, text: label })]);
  }

  async build() {
    const t0 = performance.now();
    const rows = this.rows();
    const level = this.state.predictions.level;
    const spec = predictionSpec(this.state, this.ctx.theme, {
      x: this.x, by: this.by, rows, level, showConf: this.showConf, showPred: this.showPred,
      width: containerWidth(this.box),
    });
    await this.views.mount("chart", this.box, spec, {
      label: `Predicted ${this.state.response} across ${this.x}`, fileName: `mlm-${this.x}-predictions`,
    });
    this.ctx.timed?.("predictions", t0);
    const pct = `${Math.round(level * 100)}%`;
    const held = heldLabels(this.state, this.x, this.by);
    this.caption.dataset.x = this.x;
    this.caption.dataset.by = this.by || "";
    this.caption.textContent = `Population-level predictions (a new cluster): ${pct} confidence band ` +
      `for the mean, fit ± z·√(x′Vx), and ${pct} prediction band for a new observation, adding every ` +
      `grouping factor's z′Tz and σ². ${held.length ? `Held at ${held.join(", ")}.` : ""}`;
  }

  retheme() {
    return this.build();
  }

  destroy() {
    this.views.clear();
  }
}
