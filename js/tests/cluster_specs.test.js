// Rows and Vega-Lite specs of the Clusters panel (js/src/panels/cluster_specs.js), on the
// state of a real fit (hsb: mathach ~ cses*catholic + meanses + (1 + cses | school)).
import { describe, expect, it } from "vitest";
import { prepare } from "../src/model.js";
import { extent } from "../src/charts.js";
import {
  SIZE_KEY, axisTitle, caterpillarRows, caterpillarSpec, colorEncoding, colorOptions, colorValues,
  scatterRows, scatterSpec, shareEncoding, spaghettiRows, spaghettiSpec,
} from "../src/panels/cluster_specs.js";
import { fixture } from "./fixtures.js";
import { THEME, runSpec } from "./spec_helpers.js";

const st = fixture("hsb_crosslevel").state;
const model = prepare(st);
const G = st.clusters.ids.length;

describe("cluster rows", () => {
  it("offers the level-2 variables as colours, not the level-1 one", () => {
    expect(colorOptions(st)).toEqual([["", "none"], ["catholic", "catholic"], ["meanses", "meanses"]]);
    expect(colorValues(st, "")).toBeNull();
    expect(colorValues(st, "meanses")).toBe(st.clusters.vars.meanses);
  });

  it("puts one scatter point per cluster at its BLUPs (or its size)", () => {
    const rows = scatterRows(st, "(Intercept)", "cses", "catholic");
    expect(rows).toHaveLength(G);
    expect(rows[7]).toEqual({
      id: st.clusters.ids[7], x: st.clusters.ranef["(Intercept)"][7], y: st.clusters.ranef.cses[7],
      n: st.clusters.n[7], c: st.clusters.vars.catholic[7],
    });
    const bySize = scatterRows(st, SIZE_KEY, "cses", "");
    expect(bySize.map((r) => r.x)).toEqual(st.clusters.n);
    expect(bySize[0].c).toBeNull();
    expect(axisTitle(st, SIZE_KEY)).toBe("observations per school");
    expect(axisTitle(st, "cses")).toBe("BLUP: cses");
  });

  it("ranks the caterpillar by BLUP with 95% intervals and an inverse index", () => {
    const { rows, pos } = caterpillarRows(st, "cses");
    const est = st.clusters.ranef.cses;
    const se = st.clusters.ranef_se.cses;
    expect(rows.map((r) => r.rank)).toEqual(Array.from({ length: G }, (_, i) => i + 1));
    for (let k = 1; k < G; k++) expect(rows[k].est).toBeGreaterThanOrEqual(rows[k - 1].est);
    for (let i = 0; i < G; i++) {
      const r = rows[pos[i]];
      expect(r.id).toBe(st.clusters.ids[i]);
      expect(r.est).toBe(est[i]);
      expect(r.hi - r.est).toBeCloseTo(1.959963984540054 * se[i], 12);
      expect(r.est - r.lo).toBeCloseTo(1.959963984540054 * se[i], 12);
    }
  });

  it("draws each cluster's line over its own observed range, plus the average line", () => {
    const data = spaghettiRows(st, model, "cses", "");
    expect(data.x).toBe("cses");
    expect(data.rows).toHaveLength(G);
    data.rows.forEach((r, i) => {
      expect(r.x).toBeCloseTo(st.clusters.x_min.cses[i], 12);
      expect(r.x2).toBeCloseTo(st.clusters.x_max.cses[i], 12);
    });
    const xv = st.variables.cses;
    expect(data.avg).toHaveLength(1);
    expect([data.avg[0].x, data.avg[0].x2]).toEqual([xv.min, xv.max]);
    // Average line at catholic, meanses at their means: γ0 + γ_cath·c̄ + γ_mses·m̄ + (γ_cses + γ_int·c̄)·x
    const [b0, bx, bc, bm, bxc] = st.fixed.estimate;
    const names = st.fixed.names;
    expect(names).toEqual(["(Intercept)", "cses", "catholic", "meanses", "cses:catholic"]);
    const c = st.variables.catholic.mean;
    const m = st.variables.meanses.mean;
    expect(data.avg[0].y).toBeCloseTo(b0 + bc * c + bm * m + (bx + bxc * c) * xv.min, 9);
    expect(spaghettiRows(st, model, null, "")).toBeNull();
    expect(spaghettiRows(st, model, "meanses", "")).toBeNull(); // no per-cluster range
  });

  it("gives a constant field's axis some width", () => {
    expect(extent([{ v: 3 }, { v: 1 }, { v: 2 }], "v")).toEqual([1, 3]);
    expect(extent([{ v: 40 }, { v: 40 }], "v", { flat: (v) => Math.max(Math.abs(v) * 0.1, 0.5) })).toEqual([36, 44]);
    expect(extent([{ v: 2 }], "v")).toEqual([1.5, 2.5]);
    expect(extent([{ v: 1 }], "v", { pad: 3 })).toEqual([-3, 3]);
    expect(extent([], "v")).toEqual([0, 1]);
  });
});

describe("cluster specs", () => {
  const common = { any: false, width: 300 };

  it("scatter: explicit domains from every cluster, so an empty highlight cannot move them", async () => {
    const rows = scatterRows(st, "(Intercept)", "cses", "meanses");
    const spec = scatterSpec(st, THEME, { ...common, rows, hl: [], axisX: "(Intercept)", axisY: "cses", colorBy: "meanses" });
    const [points, veil, hl] = spec.layer;
    expect(points.encoding.x.scale.domain).toEqual(extent(rows, "x"));
    expect(points.params[0].name).toBe("brush");
    expect(veil.encoding).toBeUndefined(); // the veil covers the plot, it has no data fields
    expect(hl.data.name).toBe("hl");
    expect(points.encoding.color.type).toBe("quantitative");
    const { view } = await runSpec(spec);
    expect(view.data("points")).toHaveLength(G);
    expect(view.signal("anysel")).toBe(false);
    const before = view.scale("x").domain();
    view.data("hl", rows.slice(0, 3)).signal("anysel", true);
    await view.runAsync();
    expect(view.scale("x").domain()).toEqual(before);
    view.finalize();
  });

  it("colours by a binary level-2 variable as two categories", () => {
    const enc = colorEncoding(st, THEME, "catholic");
    expect(enc).toMatchObject({ field: "c", type: "nominal", scale: { domain: [0, 1], range: THEME.binary } });
    expect(colorEncoding(st, THEME, "")).toEqual({ value: THEME.accent });
  });

  it("spaghetti and caterpillar compile and carry their named data sets", async () => {
    const data = spaghettiRows(st, model, "cses", "catholic");
    const sp = await runSpec(spaghettiSpec(st, THEME, { ...common, data, hl: data.rows.slice(0, 2), colorBy: "catholic" }));
    expect(sp.view.data("lines")).toHaveLength(G);
    expect(sp.view.data("hl")).toHaveLength(2);
    sp.view.finalize();
    const { rows } = caterpillarRows(st, "(Intercept)");
    const spec = caterpillarSpec(st, THEME, { ...common, any: true, rows, hl: [], term: "(Intercept)", noun: "schools" });
    expect(spec.layer[0].encoding.x).toBeUndefined(); // the zero line spans the plot
    expect(spec.layer[1].params[0].select.encodings).toEqual(["x"]);
    const cat = await runSpec(spec);
    expect(cat.view.signal("anysel")).toBe(true);
    expect(cat.view.data("cat")).toHaveLength(G);
    cat.view.finalize();
  });

  it("shares the encoding with every layer but veils and opted-out ones", () => {
    const out = shareEncoding({ x: 1 }, [{ encoding: { y: 2 } }, { name: "veil" }, { shared: false, mark: "rule" }]);
    expect(out).toEqual([{ encoding: { x: 1, y: 2 } }, { name: "veil" }, { mark: "rule" }]);
  });
});
