// Client-side helpers of the Diagnostics panel (js/src/panels/diagnostic_rows.js): rows built from
// state.diagnostics, flagged clusters, highlight subsets for a selection, brush -> ids.
import { describe, expect, it } from "vitest";
import {
  flaggedIds, highlight, idsInBrush, influenceRows, qqRows, residualRows, rowsById, topInfluential,
} from "../src/panels/diagnostic_rows.js";

const inf = {
  ids: ["a", "b", "c", "d"],
  n: [10, 12, 8, 20],
  cooks: [0.5, 2.0, null, 1.5],
  covratio: [1.1, 0.7, null, 0.9],
  leverage: [0.3, 0.6, 0.2, 0.8],
  flag: [false, true, false, true],
  note: ["", "", "removing this cluster leaves a factor with one level", ""],
  cutoff: 1.0,
};
const diag = {
  influence: inf,
  residuals: { fitted: [1, 2, 3, 4, 5], residual: [0.1, -0.2, 0.3, -0.4, 0.5], cluster: [0, 1, 1, 3, 0] },
};

describe("influence rows", () => {
  it("keeps state order with 1-based indices and notes", () => {
    const rows = influenceRows(inf);
    expect(rows.map((r) => r.index)).toEqual([1, 2, 3, 4]);
    expect(rows[1]).toMatchObject({ id: "b", cooks: 2.0, flag: true, n: 12 });
    expect(rows[2].note).toMatch(/one level/);
  });
  it("labels only the largest flagged Cook's distances", () => {
    expect(influenceRows(inf).filter((r) => r.label).map((r) => r.id)).toEqual(["b", "d"]);
    expect(influenceRows(inf, 1).filter((r) => r.label).map((r) => r.id)).toEqual(["b"]);
  });
  it("lists flagged clusters by decreasing Cook's distance", () => {
    expect(flaggedIds(inf)).toEqual(["b", "d"]);
  });
  it("ranks the top clusters, skipping missing values", () => {
    expect(topInfluential(inf, 3).map((i) => inf.ids[i])).toEqual(["b", "d", "a"]);
    expect(topInfluential(inf, 1)).toEqual([1]);
  });
});

describe("residual rows and highlights", () => {
  it("maps each residual to its cluster id", () => {
    const rows = residualRows(diag);
    expect(rows.map((r) => r.id)).toEqual(["a", "b", "b", "d", "a"]);
    expect(rows[3]).toEqual({ id: "d", fitted: 4, resid: -0.4 });
  });
  it("highlights every row of the selected clusters and nothing else", () => {
    const rows = residualRows(diag);
    const index = rowsById(rows);
    expect(highlight(rows, index, ["a"]).map((r) => r.fitted)).toEqual([1, 5]);
    expect(highlight(rows, index, ["b", "zzz"]).map((r) => r.fitted)).toEqual([2, 3]);
    expect(highlight(rows, index, [])).toEqual([]);
  });
  it("a brush selects unique ids inside the box (either order, null = any)", () => {
    const rows = residualRows(diag);
    expect(idsInBrush(rows, "fitted", "resid", [4.5, 1.5], null).sort()).toEqual(["b", "d"]);
    expect(idsInBrush(rows, "fitted", "resid", [0, 10], [0, 1]).sort()).toEqual(["a", "b"]);
    expect(idsInBrush(rows, "fitted", null, null, null).sort()).toEqual(["a", "b", "d"]);
  });
});

describe("QQ rows", () => {
  it("marks points outside the pointwise envelope", () => {
    const rows = qqRows({
      ids: ["x", "y", "z"], theoretical: [-1, 0, 1], sample: [-2, 0.1, 1.2],
      lower: [-1.8, -0.5, 0.3], upper: [-0.2, 0.5, 1.1],
    });
    expect(rows.map((r) => r.out)).toEqual([true, false, true]);
    expect(rows[1]).toMatchObject({ id: "y", theo: 0, sample: 0.1 });
  });
});

describe("speed with 1,000 clusters and 2,000 residuals", () => {
  it("builds the highlight subsets of a 100-cluster selection in well under 50 ms", () => {
    const G = 1000;
    const big = {
      ids: Array.from({ length: G }, (_, i) => `c${i}`), n: new Array(G).fill(5),
      cooks: Array.from({ length: G }, (_, i) => (i * 7919) % 1000 / 1e5), covratio: new Array(G).fill(1),
      leverage: new Array(G).fill(0.5), flag: new Array(G).fill(false), cutoff: 0.004,
    };
    const d = { influence: big, residuals: {
      fitted: Array.from({ length: 2000 }, (_, i) => i), residual: new Array(2000).fill(0),
      cluster: Array.from({ length: 2000 }, (_, i) => i % G),
    } };
    const infRows = influenceRows(big);
    const resRows = residualRows(d);
    const infIndex = rowsById(infRows);
    const resIndex = rowsById(resRows);
    const sel = big.ids.slice(0, 100);
    const t0 = performance.now();
    const a = highlight(infRows, infIndex, sel);
    const b = highlight(resRows, resIndex, sel);
    const ms = performance.now() - t0;
    expect(a).toHaveLength(100);
    expect(b).toHaveLength(200);
    expect(ms).toBeLessThan(20);
  });
});
