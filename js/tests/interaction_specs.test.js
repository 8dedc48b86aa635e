// The Interaction panel's numbers, sentences and specs (js/src/panels/interaction_model.js,
// interaction_specs.js). Simple slopes are checked against lme4 + emmeans::emtrends
// (tests/reference, copied into the fixtures), with the tolerances of model.test.js.
import { describe, expect, it } from "vitest";
import { grid, predictionCurve, prepare } from "../src/model.js";
import { defaultAt, expandValues } from "../src/variables.js";
import {
  computeInteraction, defaultSlopeModerator, discreteSentence, heldLabels, heldVariables, jnSentence,
  yDomain,
} from "../src/panels/interaction_model.js";
import { mainSpec, slopeSpec } from "../src/panels/interaction_specs.js";
import { close, fixture } from "./fixtures.js";
import { THEME, runSpec } from "./spec_helpers.js";

const TOL_EST = 2e-4;
const TOL_SE = 1e-3;

/** The panel's inputs for a fixture at UI values `patch`. */
function setup(name, patch = {}, mod = undefined) {
  const fx = fixture(name);
  const st = fx.state;
  const model = prepare(st);
  const pred = st.predictors[0];
  const at = { ...defaultAt(st), ...patch };
  const values = expandValues(st, at, pred.moderators);
  const xv = st.variables[pred.name];
  const xs = grid(xv.min, xv.max, 61);
  const m = mod === undefined ? defaultSlopeModerator(st, pred) : mod;
  return { fx, st, model, pred, at, values, xs, mod: m };
}

describe("computeInteraction", () => {
  it("gives lme4's simple slope at each level of a binary moderator", () => {
    const { fx, st, model, pred, at, values, xs, mod } = setup("hsb_crosslevel", { catholic: 1 });
    expect(mod).toBe("catholic");
    const r = computeInteraction(model, st, { pred, values, xs, mod, at });
    expect(r.curve).toHaveLength(61);
    expect(r.slopes).toBe(r.byValue);
    expect(r.byValue.map((d) => [d.label, d.current])).toEqual([["catholic = 0", false], ["catholic = 1", true]]);
    for (const ref of fx.reference) {
      const row = r.byValue.find((d) => d.m === ref.at.catholic);
      expect(close(row.estimate, ref.estimate, TOL_EST)).toBe(true);
      expect(close(row.se, ref.se, TOL_SE)).toBe(true);
    }
    const cur = fx.reference.find((ref) => ref.at.catholic === 1);
    expect(close(r.slope.estimate, cur.estimate, TOL_EST)).toBe(true);
    // Random-slope range: the average slope ± 1.96 SD of the cses slopes across schools.
    expect(r.fanHi - r.slope.estimate).toBeCloseTo(1.959963984540054 * r.sd, 12);
    expect(r.jn).toBeUndefined();
  });

  it("draws the slope across a continuous moderator with its Johnson-Neyman region", () => {
    const { fx, st, model, pred, at, values, xs } = setup("hsb_rb", { meanses: 0.5, catholic: 0 });
    const mod = defaultSlopeModerator(st, pred);
    expect(mod).toBe("meanses");
    const r = computeInteraction(model, st, { pred, values, xs, mod, at });
    const ref = fx.reference.find((x) => x.at.meanses === 0.5 && x.at.catholic === 0);
    expect(close(r.slope.estimate, ref.estimate, TOL_EST)).toBe(true);
    expect(r.current).toEqual([{ m: 0.5, ...r.slope }]);
    expect(r.slopes).toHaveLength(81);
    expect(r.jnRows).toEqual(r.jn.regions.map(([start, end]) => ({ start, end })));
    for (const row of r.slopes) {
      const inRegion = r.jnRows.some((g) => row.m >= g.start && row.m <= g.end);
      if (Math.abs(row.p - 0.05) > 1e-3) expect(inRegion).toBe(row.p < 0.05);
    }
  });

  it("has no slope chart without moderators", () => {
    const { st, model, pred, at, values, xs, mod } = setup("sleep_slope_reml");
    expect(mod).toBeNull();
    const r = computeInteraction(model, st, { pred, values, xs, mod, at });
    expect(r.slopes).toBeUndefined();
  });
});

describe("yDomain", () => {
  it("spans every band at every combination of moderator extremes, and no more", () => {
    const { st, model, pred, values, xs } = setup("hsb_rb");
    const [lo, hi] = yDomain(model, st, pred, values, xs);
    let attained = false;
    for (const catholic of [0, 1]) {
      for (const meanses of [st.variables.meanses.min, st.variables.meanses.max]) {
        for (const r of predictionCurve(model, "cses", { ...values, catholic, meanses }, xs)) {
          for (const v of [r.lower, r.upper, r.fan_lo, r.fan_hi, r.spread_lo, r.spread_hi]) {
            expect(v).toBeGreaterThanOrEqual(lo - 1e-9);
            expect(v).toBeLessThanOrEqual(hi + 1e-9);
            if (Math.abs(v - lo) < 1e-9 || Math.abs(v - hi) < 1e-9) attained = true;
          }
        }
      }
    }
    expect(attained).toBe(true); // tight, not just wide
  });
});

describe("held variables and sentences", () => {
  it("holds the non-moderators at their means and a factor once, at its sample mix", () => {
    const { st, pred } = setup("hsb_crosslevel");
    expect(heldVariables(st, pred)).toEqual(["meanses"]);
    expect(heldLabels(st, pred)[0]).toMatch(/^meanses = −?\d/);
    const cat = setup("categorical3");
    expect(heldVariables(cat.st, cat.pred)).toEqual([]); // intake's dummies are its moderator's
    const other = { ...cat.pred, moderators: [] };
    expect(heldLabels(cat.st, other)).toEqual(["intake (sample mix)"]);
  });

  it("picks a continuous moderator for the slope chart when there is one", () => {
    const { st } = setup("hsb_rb");
    expect(defaultSlopeModerator(st, { name: "cses", moderators: ["catholic", "meanses"] })).toBe("meanses");
    expect(defaultSlopeModerator(st, { name: "cses", moderators: ["catholic"] })).toBe("catholic");
  });

  it("describes the Johnson-Neyman region in words", () => {
    const mv = { min: -2, max: 1 };
    expect(jnSentence("cses", "meanses", { regions: [] }, mv)).toMatch(/not significantly different from 0 anywhere/);
    expect(jnSentence("cses", "meanses", { regions: [[-2, 1]] }, mv)).toMatch(/across the whole observed range of meanses \(−2.00 to 1.00\)/);
    expect(jnSentence("cses", "meanses", { regions: [[-2, -0.5], [0.25, 1]] }, mv))
      .toMatch(/significant for meanses below −0.50 and for meanses above 0.25 \(observed range −2.00 to 1.00\)/);
    expect(jnSentence("cses", "meanses", { regions: [[-1, 0]] }, mv)).toMatch(/meanses between −1.00 and 0.00/);
  });

  it("lists the slope at each level of a discrete moderator", () => {
    const rows = [{ label: "catholic = 0", estimate: 2.78774, p: 2e-38 }, { label: "catholic = 1", estimate: 1.44, p: 0.0321 }];
    expect(discreteSentence(rows)).toBe("catholic = 0: slope 2.788 (p < .001) · catholic = 1: slope 1.440 (p = .032)");
    expect(discreteSentence([])).toBe("");
  });
});

describe("interaction specs", () => {
  it("main chart: one curve data set on a fixed y scale, bands behind toggles", async () => {
    const { st, model, pred, at, values, xs, mod } = setup("hsb_crosslevel");
    const r = computeInteraction(model, st, { pred, values, xs, mod, at });
    const dom = yDomain(model, st, pred, values, xs);
    const spec = mainSpec(st, THEME, { pred, curve: r.curve, yDomain: dom, showFan: true, showSpread: false, width: 400 });
    expect(spec.params).toEqual([{ name: "showFan", value: true }, { name: "showSpread", value: false }]);
    for (const layer of spec.layer) expect(layer.encoding.y.scale.domain).toBe(dom);
    const { view } = await runSpec(spec);
    expect(view.data("curve")).toHaveLength(61);
    expect(view.signal("showSpread")).toBe(false);
    view.finalize();
  });

  it("slope chart: intervals per level for a binary moderator", async () => {
    const { st, model, pred, at, values, xs, mod } = setup("hsb_crosslevel");
    const data = computeInteraction(model, st, { pred, values, xs, mod, at });
    const spec = slopeSpec(st, THEME, { pred, mod, data, discrete: true, width: 400 });
    expect(spec.encoding.x).toMatchObject({ field: "label", type: "nominal" });
    expect(spec.datasets.jn).toBeUndefined();
    const { view } = await runSpec(spec);
    expect(view.data("slopes")).toHaveLength(2);
    view.finalize();
  });

  it("slope chart: band, Johnson-Neyman rectangles and the current value for a continuous one", async () => {
    const { st, model, pred, at, values, xs, mod } = setup("hsb_rb");
    const data = computeInteraction(model, st, { pred, values, xs, mod, at });
    const spec = slopeSpec(st, THEME, { pred, mod, data, discrete: false, width: 400 });
    expect(Object.keys(spec.datasets)).toEqual(["slopes", "jn", "current"]);
    expect(spec.layer[0].encoding.x.scale.domain).toEqual([st.variables.meanses.min, st.variables.meanses.max]);
    const { view } = await runSpec(spec);
    expect(view.data("slopes")).toHaveLength(81);
    expect(view.data("current")).toHaveLength(1);
    view.finalize();
  });
});
