// Vega-Lite specs of the Diagnostics panel (js/src/panels/diagnostic_specs.js): domains,
// reference lines, labels and highlight layers, and that each spec runs in Vega.
import { describe, expect, it } from "vitest";
import { influenceRows, labelRows, qqRows, residualRows } from "../src/panels/diagnostic_rows.js";
import { influenceSpec, qqSpec, residualSpec } from "../src/panels/diagnostic_specs.js";
import { THEME, runSpec } from "./spec_helpers.js";

const diag = {
  group: "school",
  influence: {
    ids: ["a", "b", "c", "d"], n: [10, 12, 8, 20], cooks: [0.5, 2.0, null, 1.5],
    covratio: [1.1, 0.7, null, 0.9], leverage: [0.3, 0.6, 0.2, 0.8], flag: [false, true, false, true],
    note: ["", "", "", ""], cutoff: 1.0, cutoff_rule: "4/G",
  },
  residuals: {
    fitted: [10, 12, 11, 14, 9], residual: [0.5, -1, 2, -0.5, 1], cluster: [0, 1, 1, 3, 0], sigma: 1.5,
  },
  qq: {
    level: 0.95,
    terms: {
      "(Intercept)": {
        ids: ["c", "a", "d", "b"], theoretical: [-1.15, -0.32, 0.32, 1.15], sample: [-1.4, -0.2, 1.0, 1.6],
        lower: [-2.1, -0.9, -0.4, 0.5], upper: [-0.5, 0.4, 0.9, 2.0],
      },
    },
  },
};
const common = { any: false, width: 320 };

describe("influence index plot", () => {
  const rows = influenceRows(diag.influence);

  it("scales to the larger of the cutoff and the largest Cook's distance, and states the rule", async () => {
    const spec = influenceSpec(diag, THEME, { ...common, rows, hl: [] });
    const dots = spec.layer[1];
    expect(dots.encoding.y.scale.domain).toEqual([0, 2.0 * 1.08]);
    expect(dots.encoding.x.scale.domain).toEqual([0, 5]);
    expect(dots.params[0]).toMatchObject({ name: "ibrush", select: { encodings: ["x"] } });
    expect(spec.datasets.cut).toEqual([{ y: 1.0 }]);
    expect(spec.layer[3].encoding.text.value).toBe("4/G = 1.0000");
    const small = influenceSpec({ ...diag, influence: { ...diag.influence, cutoff: 5 } }, THEME, { ...common, rows, hl: [] });
    expect(small.layer[1].encoding.y.scale.domain).toEqual([0, 5 * 1.08]);
    const { view } = await runSpec(spec);
    expect(view.data("inf")).toHaveLength(4);
    view.finalize();
  });

  it("labels a few highlighted clusters, not hundreds", () => {
    const hl = rows.slice(0, 2);
    expect(influenceSpec(diag, THEME, { ...common, rows, hl }).datasets.hlLab).toEqual(hl);
    const many = Array.from({ length: 21 }, (_, i) => ({ ...rows[0], id: `x${i}` }));
    expect(influenceSpec(diag, THEME, { ...common, rows, hl: many }).datasets.hlLab).toEqual([]);
    expect(labelRows(many, 30)).toBe(many);
  });
});

describe("residuals vs fitted", () => {
  it("draws 0 and ±3σ and keeps ±3σ inside the y domain", async () => {
    const rows = residualRows(diag);
    const spec = residualSpec(diag, THEME, { ...common, rows, hl: [rows[0]], response: "mathach" });
    expect(spec.datasets.refs).toEqual([{ y: -4.5, k: -3 }, { y: 0, k: 0 }, { y: 4.5, k: 3 }]);
    const pts = spec.layer[1];
    expect(pts.encoding.y.scale.domain).toEqual([-4.5, 4.5]);
    expect(pts.encoding.x.scale.domain).toEqual([9, 14]);
    expect(pts.encoding.x.title).toBe("fitted mathach");
    const { view } = await runSpec(spec);
    expect(view.data("hl")).toHaveLength(1);
    expect(view.scale("y").domain()[0]).toBeLessThanOrEqual(-4.5);
    view.finalize();
  });
});

describe("QQ plot", () => {
  it("spans the envelope and the points, with the identity line over the quantiles; marks points outside", async () => {
    const rows = qqRows(diag.qq.terms["(Intercept)"]);
    const spec = qqSpec(diag, THEME, { ...common, rows, hl: [], term: "(Intercept)" });
    expect(spec.datasets.diag).toEqual([{ v: -1.15 }, { v: 1.15 }]);
    const pts = spec.layer[2];
    expect(pts.encoding.y.scale.domain).toEqual([-2.1, 2.0]);
    expect(pts.encoding.x.scale.domain).toEqual([-1.15, 1.15]);
    expect(pts.encoding.y.title).toBe("BLUP: (Intercept) (standardized)");
    const { view } = await runSpec(spec);
    expect(view.data("qq").filter((r) => r.out).map((r) => r.id)).toEqual(["d"]);
    view.finalize();
  });
});
