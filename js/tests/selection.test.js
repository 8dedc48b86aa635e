import { describe, expect, it, vi } from "vitest";
import { Selection, describeSelection, findClusters, idsInBox, rankOrder } from "../src/selection.js";

describe("Selection", () => {
  it("keeps valid ids only, in order, and notifies with the source", () => {
    const sel = new Selection(["a", "b", "c"]);
    const fn = vi.fn();
    sel.subscribe(fn);
    expect(sel.set(["c", "x", "a", "c"], "brush")).toBe(true);
    expect(sel.list()).toEqual(["c", "a"]);
    expect(fn).toHaveBeenCalledWith(sel, "brush");
    expect(sel.set(["a", "c"], "python")).toBe(false); // same set: no echo
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it("toggles, adds and clears", () => {
    const sel = new Selection(["1", "2", "3"]);
    sel.toggle("2");
    sel.add(["3"]);
    expect(sel.asObject()).toEqual({ 2: true, 3: true });
    sel.toggle("2");
    expect(sel.list()).toEqual(["3"]);
    sel.clear();
    expect(sel.size).toBe(0);
  });

  it("accepts numeric ids as strings", () => {
    const sel = new Selection(["1224", "1288"]);
    sel.set([1224]);
    expect(sel.has("1224")).toBe(true);
  });
});

describe("brush, find and rank helpers", () => {
  const ids = ["a", "b", "c", "d"];
  const xs = [0, 1, 2, 3];
  const ys = [3, 2, 1, 0];

  it("selects the points inside a rectangle whatever the drag direction", () => {
    expect(idsInBox(ids, xs, ys, [2.5, 0.5], [0.5, 3])).toEqual(["b", "c"]);
    expect(idsInBox(ids, xs, ys, [1, 2], null)).toEqual(["b", "c"]);
    expect(idsInBox(ids, xs, ys, null, [2.5, 9])).toEqual(["a"]);
  });

  it("finds by exact id first, then prefix, then substring, case-insensitively", () => {
    const all = ["1224", "1288", "2124", "School-A", "school-ab"];
    expect(findClusters(all, "1224")).toEqual(["1224"]);
    expect(findClusters(all, "12")).toEqual(["1224", "1288", "2124"]);
    expect(findClusters(all, "SCHOOL-A")).toEqual(["School-A"]);
    expect(findClusters(all, "  ")).toEqual([]);
    expect(findClusters(all, "zzz")).toEqual([]);
  });

  it("ranks ascending with stable ties", () => {
    expect(rankOrder([0.5, -1, 0.5, 2])).toEqual([1, 0, 2, 3]);
  });

  it("summarises a selection in words", () => {
    expect(describeSelection([], "schools")).toBe("No schools selected");
    expect(describeSelection(["1224"], "schools")).toBe("1 school selected: 1224");
    expect(describeSelection(["1", "2", "3"], "schools", 2)).toBe("3 schools selected: 1, 2, … (+1)");
  });
});
