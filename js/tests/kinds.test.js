// GLMM (response scale) and posterior (draws) computations of the explorer against Python
// (tests/js_fixtures/make_kind_fixtures.py) and R (emmeans on glmer, in the GLMM fixture).
import { describe, expect, it } from "vitest";
import { prepare } from "../src/model.js";
import { clusterCurves, inverseLink, linkSlope, ratioOf, responseCurve } from "../src/glmm.js";
import { mixtureQuantiles, quantileSorted, summarise } from "../src/draws.js";
import { credibleRegions, posteriorCurve, posteriorSlope, slopeRange } from "../src/posterior.js";
import { curveOf, kindOf, rangeOf, slopeOf } from "../src/kinds.js";
import { computeInteraction, jnSentence, moderatorCurves } from "../src/panels/interaction_model.js";
import { mainSpec, slopeTooltip } from "../src/panels/interaction_specs.js";
import { caterpillarRows, spaghettiRows, spaghettiSpec, effectLabel } from "../src/panels/cluster_specs.js";
import { fitLabel } from "../src/explorer.js";
import { THEME as LIGHT, runSpec } from "./spec_helpers.js";
import { close, fixture } from "./fixtures.js";

function valuesAt(state, at) {
  const v = {};
  for (const [name, info] of Object.entries(state.variables)) v[name] = info.mean;
  return { ...v, ...at };
}

describe("inverse links", () => {
  it("invert glmer's links and give dmu/deta", () => {
    for (const eta of [-30, -2.5, 0, 0.7, 30]) {
      // log(p) - log(1 - p) with 1 - p taken as g^-1(-eta): exact in the tails too
      expect(Math.log(inverseLink("logit", eta)) - Math.log(inverseLink("logit", -eta))).toBeCloseTo(eta, 6);
      expect(inverseLink("logit", eta) + inverseLink("logit", -eta)).toBeCloseTo(1, 14);
      expect(inverseLink("log", eta)).toBeCloseTo(Math.exp(eta), 10);
      const h = 1e-6;
      // a central difference of values near 1 is all rounding in the upper tail
      for (const link of ["logit", "probit", "cloglog", "log"].filter((l) => eta < 30 || l === "log")) {
        const numeric = (inverseLink(link, eta + h) - inverseLink(link, eta - h)) / (2 * h);
        expect(close(linkSlope(link, eta), numeric, 1e-5, 1e-12)).toBe(true);
      }
    }
    expect(inverseLink("probit", 1.959963984540054)).toBeCloseTo(0.975, 12);
    expect(inverseLink("cloglog", 0)).toBeCloseTo(1 - Math.exp(-1), 12);
    expect(close(linkSlope("logit", 30), Math.exp(-30) / (1 + Math.exp(-30)) ** 2, 1e-12)).toBe(true);
    expect(close(linkSlope("logit", -30), linkSlope("logit", 30), 1e-14)).toBe(true);
  });
});

describe.each(["glmm_students", "glmm_clinics"])("%s", (name) => {
  const fx = fixture(name);
  const m = prepare(fx.state);

  it("is a GLMM with z tests", () => {
    expect(kindOf(m)).toBe("glmm");
    expect(m.ddfFallback).toBe(Infinity);
    expect(fitLabel(fx.state)).toMatch(/GLMM, (logit|log) link · ML \(Laplace\)/);
  });

  it("reproduces curve_frame: typical cluster, Wald band, clusters' 95% range", () => {
    for (const c of fx.curves) {
      const rows = responseCurve(m, fx.x, valuesAt(fx.state, c.at), c.x);
      rows.forEach((r, i) => {
        for (const [mine, theirs] of [["fit", "fit"], ["lower", "lower"], ["upper", "upper"],
          ["spread_lo", "spread_lo"], ["spread_hi", "spread_hi"]]) {
          expect(close(r[mine], c[theirs][i], 1e-9)).toBe(true);
        }
        expect(r.spread_lo <= r.lower + 1e-12 && r.spread_hi >= r.upper - 1e-12).toBe(true);
      });
    }
  });

  it("draws each cluster's curve at its conditional modes (as res.coef)", () => {
    const { byCluster } = clusterCurves(m, fx.x, 12);
    for (const ref of fx.cluster_curves) {
      const mine = byCluster[ref.index];
      expect(mine[0].id).toBe(ref.id);
      // the state keeps the modes to 8 significant digits (_SIG_DIGITS), res.coef all of them
      mine.forEach((p, k) => expect(close(p.y, ref.y[k], 1e-7)).toBe(true));
    }
  });
});

describe("glmm_students: slopes, ratios and R", () => {
  const fx = fixture("glmm_students");
  const m = prepare(fx.state);

  it("gives res.simple_slopes' Wald z slopes and odds ratios", () => {
    for (const ref of fx.simple_slopes) {
      const s = slopeOf(m, fx.x, valuesAt(fx.state, ref.at));
      expect(close(s.estimate, ref.estimate, 1e-10)).toBe(true);
      expect(close(s.se, ref.se, 1e-10)).toBe(true);
      expect(close(s.t, ref.z, 1e-10)).toBe(true);
      expect(close(s.p, ref.p, 1e-6, 1e-300)).toBe(true);
      expect(close(s.lower, ref.lower, 1e-9)).toBe(true);
      const q = ratioOf(s);
      expect(close(q.ratio, ref.ratio, 1e-10)).toBe(true);
      expect(close(q.lower, ref.ratio_lower, 1e-9)).toBe(true);
      expect(close(q.upper, ref.ratio_upper, 1e-9)).toBe(true);
    }
  });

  it("gives glmer + emmeans' response-scale means at the mean of x", () => {
    expect(fx.r_emmeans.length).toBe(3);
    for (const ref of fx.r_emmeans) {
      const [r] = responseCurve(m, fx.x, valuesAt(fx.state, { climate: ref.climate }), [fx.x_mean]);
      expect(close(r.fit, ref.estimate, 3e-3)).toBe(true);
      expect(close(r.lower, ref.lower, 3e-3)).toBe(true);
      expect(close(r.upper, ref.upper, 3e-3)).toBe(true);
    }
  });

  it("builds the panel's data: curves by moderator, spaghetti curves, specs that run", async () => {
    const pred = fx.state.predictors[0];
    const values = valuesAt(fx.state, {});
    const xs = [-2, 0, 2];
    const r = computeInteraction(m, fx.state, { pred, values, xs, mod: "climate", at: values });
    expect(r.kind).toBe("glmm");
    expect(r.curve.every((p) => p.fit > 0 && p.fit < 1)).toBe(true);
    const labels = [...new Set(r.byModerator.map((p) => p.label))];
    expect(labels.length).toBe(3);
    expect(moderatorCurves(m, fx.state, pred, values, xs, null)).toEqual([]);
    expect(r.jn.regions.length).toBeGreaterThan(0);
    const spec = mainSpec(fx.state, LIGHT, {
      pred, curve: r.curve, yDomain: [0, 1], showFan: true, showSpread: true, width: 300,
      byModerator: r.byModerator,
    });
    expect(spec.layer[0].encoding.y.title).toBe("probability of pass");
    const { view } = await runSpec(spec);
    expect(view.data("bymod").length).toBe(9);
    const data = spaghettiRows(fx.state, m, "motiv", "");
    expect(data.curves).toBe(true);
    expect(data.byCluster.length).toBe(fx.state.clusters.ids.length);
    const { view: spag } = await runSpec(spaghettiSpec(fx.state, LIGHT, {
      data, hl: data.byCluster[0], any: true, colorBy: "", width: 300,
    }));
    expect(spag.data("hl").length).toBe(12);
    expect(effectLabel(fx.state)).toBe("mode");
    view.finalize();
    spag.finalize();
  });
});

describe("draw summaries", () => {
  it("type-7 quantiles and summaries as numpy", () => {
    const s = Float64Array.from([1, 2, 3, 4, 10]);
    expect(quantileSorted(s, 0.25)).toBe(2);
    expect(quantileSorted(s, 0.9)).toBeCloseTo(7.6, 12);
    const sum = summarise([3, -1, 2, 5], 0.5);
    expect(sum.estimate).toBe(2.25);
    expect(sum.prob_positive).toBe(0.75);
    expect(sum.lower).toBeCloseTo(1.25, 12);
  });

  it("mixture quantiles: one normal, and point masses", () => {
    const [lo, hi] = mixtureQuantiles([1], [4], [0.025, 0.975]);
    expect(lo).toBeCloseTo(1 - 2 * 1.959963984540054, 8);
    expect(hi).toBeCloseTo(1 + 2 * 1.959963984540054, 8);
    const [med] = mixtureQuantiles([0, 1, 2, 3], [0, 0, 0, 0], [0.5]);
    // the CDF steps to 1/2 at 1: bisection ends within its tolerance of the step
    expect(med).toBeGreaterThanOrEqual(1 - 1e-9);
    expect(med).toBeLessThanOrEqual(2 + 1e-9);
  });
});

describe.each(["posterior_sleep", "posterior_hsb"])("%s", (name) => {
  const fx = fixture(name);
  const m = prepare(fx.state);

  it("computes slopes from every draw, as res.simple_slopes", () => {
    expect(kindOf(m)).toBe("bayes");
    for (const ref of fx.simple_slopes) {
      const s = posteriorSlope(m, fx.x, valuesAt(fx.state, ref.at));
      expect(close(s.estimate, ref.estimate, 1e-10)).toBe(true);
      expect(close(s.se, ref.se, 1e-9)).toBe(true);
      expect(close(s.lower, ref.lower, 1e-10)).toBe(true);
      expect(close(s.upper, ref.upper, 1e-10)).toBe(true);
      expect(s.prob_positive).toBe(ref.prob_positive);
      expect(Number.isNaN(s.p)).toBe(true);
    }
  });

  it("gives a new cluster's slope range as the mixture over draws", () => {
    const r = slopeRange(m, fx.x, valuesAt(fx.state, fx.at[0]));
    expect(close(r.lo, fx.slope_range.lo, 1e-8)).toBe(true);
    expect(close(r.hi, fx.slope_range.hi, 1e-8)).toBe(true);
    expect(close(r.sd, fx.slope_range.sd, 1e-10)).toBe(true);
    expect(rangeOf(m, fx.x, valuesAt(fx.state, fx.at[0])).lo).toBe(r.lo);
  });

  it("bands the line with the draws' quantiles", () => {
    const rows = posteriorCurve(m, fx.x, valuesAt(fx.state, fx.at[0]), fx.lines.map((l) => l.x));
    rows.forEach((r, i) => {
      const ref = fx.lines[i];
      expect(close(r.fit, ref.mean, 1e-10)).toBe(true);
      expect(close(r.lower, ref.lower, 1e-10)).toBe(true);
      expect(close(r.upper, ref.upper, 1e-10)).toBe(true);
      expect(r.spread_lo).toBeLessThan(r.lower);
      expect(r.spread_hi).toBeGreaterThan(r.upper);
    });
    const noSpread = curveOf(m, fx.x, valuesAt(fx.state, fx.at[0]), [0], { spread: false });
    expect(noSpread[0].spread_lo).toBe(noSpread[0].lower);
  });
});

describe("posterior_hsb: the credible region across the moderator", () => {
  const fx = fixture("posterior_hsb");
  const m = prepare(fx.state);

  it("marks where the 95% credible interval excludes 0 and says so", () => {
    const mv = fx.state.variables.meanses;
    const values = valuesAt(fx.state, {});
    const jn = credibleRegions(m, "cses", "meanses", values, mv.min, mv.max);
    for (const b of jn.bounds) {
      const s = posteriorSlope(m, "cses", { ...values, meanses: b });
      expect(Math.min(Math.abs(s.lower), Math.abs(s.upper))).toBeLessThan(1e-6);
    }
    for (const [a, b] of jn.regions) {
      const s = posteriorSlope(m, "cses", { ...values, meanses: (a + b) / 2 });
      expect(s.lower > 0 || s.upper < 0).toBe(true);
    }
    expect(jnSentence("cses", "meanses", jn, mv, "bayes")).toMatch(/credible interval/);
    expect(slopeTooltip("meanses", false, fx.state).at(-1).field).toBe("prob_positive");
    expect(fitLabel(fx.state)).toMatch(/Bayesian fit · slopes from 500 posterior draws/);
  });
});

describe("a posterior's caterpillar", () => {
  it("uses the draws' quantiles where the state has them, mean ± 1.96 SE otherwise", () => {
    const state = {
      clusters: {
        ids: ["a", "b"], ranef: { t: [1, -1] }, ranef_se: { t: [0.5, 0.5] },
        ranef_lower: { t: [0.2, -2.5] }, ranef_upper: { t: [1.6, -0.1] },
      },
    };
    const { rows } = caterpillarRows(state, "t");
    expect(rows.map((r) => [r.id, r.lo, r.hi])).toEqual([["b", -2.5, -0.1], ["a", 0.2, 1.6]]);
    const plain = { clusters: { ...state.clusters, ranef_lower: undefined, ranef_upper: undefined } };
    expect(caterpillarRows(plain, "t").rows[1].lo).toBeCloseTo(1 - 1.959963984540054 * 0.5, 12);
  });
});
