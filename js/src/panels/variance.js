// Panel 3: variance. Tau with correlations, ICC, reliabilities, the random-slope range table
// and the model-implied variance of the outcome across the level-1 predictor.

import { h, fmt } from "../dom.js";
import { grid, impliedVariance } from "../model.js";
import { containerWidth, embedChart, onResize } from "../charts.js";

export const variancePanel = {
  id: "variance",
  label: "Variance",
  available: () => true,
  mount(section, ctx) {
    return new VariancePanel(section, ctx).ready;
  },
};

class VariancePanel {
  constructor(section, ctx) {
    this.section = section;
    this.ctx = ctx;
    this.state = ctx.state;
    this.disposers = [];
    section.append(this.cards(), this.tauTable());
    const extra = [this.reliabilityTable(), this.rangeTable()].filter(Boolean);
    if (extra.length) section.append(h("div", { class: "mlm-two mlm-two-tables" }, extra));
    this.chartHead = h("div", { class: "mlm-subhead" });
    this.chartBox = h("div", { class: "mlm-chart", dataset: { chart: "variance" } });
    this.caption = h("p", { class: "mlm-caption" });
    section.append(this.chartHead, this.chartBox, this.caption);
    this.disposers.push(ctx.ui.subscribe((patch) => {
      if ("predictor" in patch) this.buildChart();
    }));
    this.disposers.push(onResize(this.chartBox, (w) => {
      if (Math.abs(w - (this.builtWidth || 0)) > 16) this.buildChart();
    }));
    this.ready = this.buildChart().then(() => this);
  }

  cards() {
    const s = this.state;
    const g = s.glmm;
    const latent = g ? " (latent scale)" : "";
    const items = [];
    if (s.icc) {
      items.push([`ICC (adjusted)${latent}`, fmt(s.icc.adjusted, 3), "share of the random-effect variance in the total, fixed effects partialled out"]);
      items.push([`ICC (unadjusted)${latent}`, fmt(s.icc.unadjusted, 3), "share of the random-effect variance in the total including fixed-effect variance"]);
    }
    if (g) {
      if (g.latent_residual !== null) {
        items.push(["Latent residual variance", fmt(g.latent_residual, 3),
          "distribution-specific variance on the latent scale (performance's get_variance_residual)"]);
      }
      const mor = g.link === "logit" ? "MOR" : "MRR";
      for (const [group, v] of Object.entries(g.median_ratio || {})) {
        items.push([`${mor} (${group})`, fmt(v, 3), `median ${g.link === "logit" ? "odds" : "rate"} ratio of two random ${group}s (Merlo)`]);
      }
      if (g.dispersion !== null) items.push(["Dispersion θ", fmt(g.dispersion, 3), "negative binomial θ (glmer.nb)"]);
    } else {
      items.push(["Residual SD (σ)", fmt(s.sigma, 3), "within-cluster standard deviation"]);
    }
    if (s.r2) {
      items.push(["R² marginal", fmt(s.r2.marginal, 3), "variance explained by fixed effects (Nakagawa)"]);
      items.push(["R² conditional", fmt(s.r2.conditional, 3), "variance explained by fixed and random effects"]);
    }
    return h("div", { class: "mlm-cards" }, items.map(([label, value, title]) => h("div", { class: "mlm-card", title }, [
      h("div", { class: "mlm-card-label", text: label }), h("div", { class: "mlm-card-value", text: value }),
    ])));
  }

  /** lme4-style variance components: variance, SD and correlations per grouping factor. */
  tauTable() {
    const blocks = this.state.variance_components || [];
    const maxq = Math.max(1, ...blocks.map((b) => b.terms.length));
    const rows = [];
    for (const b of blocks) {
      b.terms.forEach((term, i) => {
        const corr = [];
        for (let j = 0; j < maxq - 1; j++) {
          corr.push(h("td", { class: "mlm-num mlm-corr", text: j < i && b.corr ? fmt(b.corr[i][j], 2) : "" }));
        }
        rows.push(h("tr", {}, [
          h("th", { scope: "row", text: i === 0 ? b.group : "" }),
          h("td", { text: term }),
          h("td", { class: "mlm-num", text: fmt(b.cov[i][i], 3) }),
          h("td", { class: "mlm-num", text: fmt(Math.sqrt(b.cov[i][i]), 3) }),
          ...corr,
        ]));
      });
    }
    const g = this.state.glmm;
    const s2 = g ? g.latent_residual : this.state.sigma ** 2;
    if (s2 !== null && s2 !== undefined) {
      rows.push(h("tr", { class: "mlm-row-resid" }, [
        h("th", { scope: "row", text: g ? "Residual (latent)" : "Residual" }), h("td", { text: "" }),
        h("td", { class: "mlm-num", text: fmt(s2, 3) }), h("td", { class: "mlm-num", text: fmt(Math.sqrt(s2), 3) }),
        ...Array.from({ length: maxq - 1 }, () => h("td", {})),
      ]));
    }
    const head = h("tr", {}, [
      h("th", { scope: "col", text: "Group" }), h("th", { scope: "col", text: "Term" }),
      h("th", { scope: "col", class: "mlm-num", text: "Variance" }), h("th", { scope: "col", class: "mlm-num", text: "SD" }),
      ...(maxq > 1 ? [h("th", { scope: "col", class: "mlm-num", colSpan: maxq - 1, text: "Correlation" })] : []),
    ]);
    return h("div", { class: "mlm-table-wrap" }, [h("table", { class: "mlm-table", dataset: { table: "tau" } }, [
      h("caption", { text: `Random effects: Tau (variances) with correlations${g ? ", link scale" : ""}` }),
      h("thead", {}, head), h("tbody", {}, rows),
    ])]);
  }

  reliabilityTable() {
    const rel = this.state.reliability;
    if (!rel || !Object.keys(rel).length) return null;
    return h("div", { class: "mlm-table-wrap" }, [h("table", { class: "mlm-table", dataset: { table: "reliability" } }, [
      h("caption", { text: `Reliability (mean over ${this.ctx.noun})`, title: `Mean reliability of the ${this.ctx.noun}' OLS estimates, τ/(τ + σ²(Z′Z)⁻¹) (Raudenbush & Bryk)` }),
      h("thead", {}, h("tr", {}, [h("th", { scope: "col", text: "Term" }), h("th", { scope: "col", class: "mlm-num", text: "Reliability" })])),
      h("tbody", {}, Object.entries(rel).map(([term, v]) => h("tr", {}, [
        h("th", { scope: "row", text: term }),
        h("td", { class: "mlm-num" }, [meter(v), fmt(v, 3)]),
      ]))),
    ])]);
  }

  rangeTable() {
    const rows = this.state.slope_ranges || [];
    if (!rows.length) return null;
    // One grouping factor: name it in the caption instead of repeating it on every row.
    const groups = [...new Set(rows.map((r) => r.group))];
    const oneGroup = groups.length === 1;
    const head = [...(oneGroup ? [] : ["Group"]), "Term", "Fixed", "SD", "95% range", "Other sign"];
    return h("div", { class: "mlm-table-wrap" }, [h("table", { class: "mlm-table", dataset: { table: "ranges" } }, [
      h("caption", { text: `Random-effect 95% ranges, fixed ± 1.96 SD${oneGroup ? ` (${groups[0]})` : ""}` }),
      h("thead", {}, h("tr", {}, head.map((t) => h("th", {
        scope: "col", class: ["Group", "Term"].includes(t) ? null : "mlm-num", text: t,
        title: t === "Other sign" ? `Share of ${this.ctx.noun} whose coefficient has the opposite sign of the fixed effect (normal random effects)` : null,
      })))),
      h("tbody", {}, rows.map((r) => h("tr", {}, [
        oneGroup ? null : h("th", { scope: "row", text: r.group }),
        oneGroup ? h("th", { scope: "row", text: r.term }) : h("td", { text: r.term }),
        h("td", { class: "mlm-num", text: fmt(r.estimate, 3) }), h("td", { class: "mlm-num", text: fmt(r.sd, 3) }),
        h("td", { class: "mlm-num", text: `${fmt(r.lower, 2)} to ${fmt(r.upper, 2)}` }),
        h("td", { class: "mlm-num", text: fmtShare(r.share_opposite_sign) }),
      ]))),
    ])]);
  }

  async buildChart(retry = false) {
    this.view?.finalize();
    const x = this.ctx.ui.get("predictor");
    const s = this.state;
    if (!x || !s.random) {
      this.chartHead.replaceChildren();
      this.chartBox.replaceChildren();
      this.caption.textContent = "";
      return;
    }
    const t = this.ctx.theme;
    const xv = s.variables[x];
    const means = {};
    for (const [name, v] of Object.entries(s.variables)) means[name] = v.mean;
    const rows = impliedVariance(this.ctx.model, x, means, grid(xv.min, xv.max, 61));
    const one = this.ctx.noun.replace(/s$/, "");
    this.chartHead.replaceChildren(h("span", { class: "mlm-subtitle", text: `Model-implied variance of ${s.response} across ${x}` }));
    // Plot widths exclude axes (autosize "pad"), so leave ~64 px per chart for them.
    this.builtWidth = containerWidth(this.chartBox);
    const half = Math.max(Math.floor((this.builtWidth - 24 - 2 * 64) / 2), 160);
    const xEnc = { field: "x", type: "quantitative", title: x, scale: { nice: false, zero: false } };
    const tooltip = [
      { field: "x", type: "quantitative", title: x, format: ".2f" },
      { field: "between", type: "quantitative", title: `between-${one} variance`, format: ".3f" },
      { field: "residual", type: "quantitative", title: "residual variance σ²", format: ".3f" },
      { field: "share", type: "quantitative", title: `share between ${this.ctx.noun}`, format: ".3f" },
    ];
    const spec = {
      datasets: { v: rows },
      data: { name: "v" },
      autosize: { type: "pad" },
      hconcat: [
        {
          width: half, height: 190,
          title: { text: `Between-${one} variance z′Tz`, fontSize: 12 },
          encoding: { x: xEnc },
          layer: [
            { mark: { type: "area", color: t.accent, opacity: 0.18 }, encoding: { y: { field: "between", type: "quantitative", title: "variance", scale: { zero: true } } } },
            { mark: { type: "line", color: t.accent, strokeWidth: 2.5 }, encoding: { y: { field: "between", type: "quantitative" } } },
            { mark: { type: "point", opacity: 0, size: 60 }, encoding: { y: { field: "between", type: "quantitative" }, tooltip } },
          ],
        },
        {
          width: half, height: 190,
          title: { text: `Share of total variance between ${this.ctx.noun}`, fontSize: 12 },
          encoding: { x: xEnc },
          layer: [
            { mark: { type: "area", color: t.fan, opacity: 0.15 }, encoding: { y: { field: "share", type: "quantitative", title: "proportion", scale: { zero: true }, axis: { format: ".0%" } } } },
            { mark: { type: "line", color: t.fan, strokeWidth: 2.5 }, encoding: { y: { field: "share", type: "quantitative" } } },
            { mark: { type: "point", opacity: 0, size: 60 }, encoding: { y: { field: "share", type: "quantitative" }, tooltip } },
          ],
        },
      ],
      config: { concat: { spacing: 24 } },
    };
    this.view = await embedChart(this.chartBox, spec, t, { label: `Model-implied variance across ${x}`, fileName: "mlm-variance" });
    // Built during a host re-layout (theme switch)? Rebuild once at the settled width.
    if (!retry && Math.abs(containerWidth(this.chartBox) - this.builtWidth) > 16) return this.buildChart(true);
    this.ctx.views.variance = this.view;
    const min = rows.reduce((a, r) => (r.between < a.between ? r : a), rows[0]);
    const max = rows.reduce((a, r) => (r.between > a.between ? r : a), rows[0]);
    const residual = s.glmm
      ? `The latent residual variance ${fmt(this.ctx.model.residualVariance, 2)} (distribution-specific) is constant; all on the latent (link) scale.`
      : `Residual variance σ² = ${fmt(s.sigma ** 2, 2)} is constant.`;
    this.caption.textContent = `Between-${this.ctx.noun.replace(/s$/, "")} variance z′Tz ranges from ${fmt(min.between, 2)} ` +
      `(at ${x} = ${fmt(min.x)}) to ${fmt(max.between, 2)} (at ${x} = ${fmt(max.x)}); its share of the total ` +
      `goes from ${fmt(min.share, 3)} to ${fmt(max.share, 3)}. ${residual}`;
  }

  retheme() {
    return this.buildChart();
  }

  destroy() {
    this.view?.finalize();
    this.disposers.forEach((d) => d());
  }
}

function meter(v) {
  const pct = Math.max(0, Math.min(1, v)) * 100;
  return h("span", { class: "mlm-meter", "aria-hidden": "true" }, [h("span", { style: { width: `${pct}%` } })]);
}

/** A small share as a readable percentage ("< 0.1%", "2.3%"). */
export function fmtShare(p) {
  if (p === null || p === undefined || !Number.isFinite(p)) return "–";
  if (p < 0.001) return "< 0.1%";
  return `${(100 * p).toFixed(p < 0.1 ? 1 : 0)}%`;
}
