import { describe, expect, it } from "vitest";
import { prepare } from "../src/model.js";
import { grid } from "../src/model.js";
import {
  byChoices, groupsOf, heldLabels, heldValues, label4, predictionRows, predictionTable, prepareRandom,
  xChoices,
} from "../src/panels/prediction_model.js";
import { predictionSpec } from "../src/panels/prediction_specs.js";
import { predictionsPanel } from "../src/panels/predictions.js";
import { PANELS } from "../src/panels/index.js";
import { fixture, close } from "./fixtures.js";
import { runSpec, THEME } from "./spec_helpers.js";

// predictions.json: tests/js_fixtures/make_prediction_fixtures.py. R's numbers (README of
// tests/reference/effects2): fit 1e-4 relative, SE 1e-3, bounds 1e-4 relative + 1e-3 of the
// half-width; Python's predict_response is the same arithmetic (1e-9).
const ALL = fixture("predictions");
const CASES = Object.keys(ALL);

function rowsAt(fx, values) {
  const m = prepare(fx.state);
  const random = prepareRandom(fx.state);
  return predictionRows(m, random, values, "__x", [0], fx.state.predictions.level)[0];
}

describe.each(CASES)("%s", (name) => {
  const fx = ALL[name];

  it("has a predictions block with every grouping factor", () => {
    const p = fx.state.predictions;
    expect(p.level).toBe(0.95);
    expect(p.random.map((b) => b.group).sort()).toEqual(Object.keys(fx.state.ngroups).sort());
  });

  it("reproduces R's population-level predictions with both intervals", () => {
    expect(fx.reference.length).toBeGreaterThan(0);
    for (const ref of fx.reference) {
      const r = rowsAt(fx, { ...heldValues(fx.state), ...ref.values });
      expect(close(r.fit, ref.fit, 1e-4, 1e-3 * ref.std_error / 1e-4)).toBe(true);
      expect(close(r.se, ref.std_error, 1e-3)).toBe(true);
      for (const [lo, hi] of [["conf_lower", "conf_upper"], ["pred_lower", "pred_upper"]]) {
        const half = (ref[hi] - ref[lo]) / 2;
        for (const key of [lo, hi]) {
          expect(Math.abs(r[key] - ref[key])).toBeLessThanOrEqual(1e-4 * Math.abs(ref[key]) + 1e-3 * half);
        }
      }
    }
  });

  it.skipIf(!fx.python)("equals res.predict_response from Python", () => {
    const { x, by, rows } = fx.python;
    const m = prepare(fx.state);
    const xs = [...new Set(rows.map((r) => r.x))];
    const out = predictionTable(m, fx.state, { x, by, xs, level: 0.95 });
    expect(out.length).toBe(rows.length);
    out.forEach((r, i) => {
      const want = rows[i];
      if (by) expect(r.group).toBe(want.group);
      for (const key of ["fit", "conf_lower", "conf_upper", "pred_lower", "pred_upper"]) {
        expect(close(r[key], want[key], 1e-9, 1)).toBe(true);
      }
      expect(close(r.se, want.std_error, 1e-9)).toBe(true);
    });
  });

  it.skipIf(!xChoices(fx.state).length)("builds a spec that compiles and runs in Vega", async () => {
    const m = prepare(fx.state);
    const x = xChoices(fx.state)[0];
    const by = byChoices(fx.state, x)[0] || null;
    const xv = fx.state.variables[x];
    const rows = predictionTable(m, fx.state, { x, by, xs: grid(xv.min, xv.max, 20) });
    const spec = predictionSpec(fx.state, THEME, {
      x, by, rows, level: 0.95, showConf: true, showPred: false, width: 400,
    });
    const { view } = await runSpec(spec);
    expect(view.data("pred").length).toBe(rows.length);
    expect(view.signal("showPred")).toBe(false);
    for (const r of rows) {
      expect(r.pred_lower).toBeLessThan(r.conf_lower);
      expect(r.pred_upper).toBeGreaterThan(r.conf_upper);
    }
  });
});

describe("prediction model helpers", () => {
  const st = ALL.pred_hsb_crosslevel.state;

  it("groups a two-valued variable by its values and a continuous one by mean -/+ SD", () => {
    expect(groupsOf(st, "catholic").map((g) => g.label)).toEqual(["0", "1"]);
    const v = st.variables.meanses;
    const g = groupsOf(st, "meanses");
    expect(g.map((x) => x.key)).toEqual([v.mean - v.sd, v.mean, v.mean + v.sd]);
    expect(groupsOf(st, null)).toHaveLength(1);
  });

  it("groups a factor by its levels, setting its dummies", () => {
    const fst = ALL.pred_bdf_factor_slope.state;
    const g = groupsOf(fst, "denomina");
    expect(g.map((x) => x.label)).toEqual(fst.factors.denomina.levels);
    expect(Object.values(g[0].assign).every((v) => v === 0)).toBe(true); // reference level
  });

  it("holds binary variables at their lower value and factors at the reference", () => {
    const fst = ALL.pred_bdf_factor_slope.state;
    const held = heldValues(fst);
    expect(held.sex).toBe(0);
    expect(heldLabels(fst, "IQ_verb", null)).toContain("denomina = catholic");
  });

  it("formats group labels as Python's .4g", () => {
    expect(label4(0)).toBe("0");
    expect(label4(1)).toBe("1");
    expect(label4(0.123456)).toBe("0.1235");
    expect(label4(-0.66279)).toBe("-0.6628");
    expect(label4(12345.6)).toBe("1.235e+04");
    expect(label4(0.0000123)).toBe("1.23e-05");
  });

  it("is registered as a panel and needs a continuous predictor", () => {
    expect(PANELS.map((p) => p.id)).toContain("predictions");
    expect(predictionsPanel.available(st)).toBe(true);
    expect(predictionsPanel.available({ ...st, predictions: undefined })).toBe(false);
    expect(predictionsPanel.available(ALL.pred_scots_crossed.state)).toBe(false);
  });
});
