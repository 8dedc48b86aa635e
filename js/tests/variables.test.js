import { describe, expect, it } from "vitest";
import { defaultAt, discreteValues, expandValues, isDiscrete, valueLabel } from "../src/variables.js";
import { fmt, fmtP, fmtDf, plural } from "../src/dom.js";
import { niceStep } from "../src/panels/controls.js";
import { fixture } from "./fixtures.js";

describe("factor moderators", () => {
  const st = fixture("categorical3").state;

  it("shows intake as one control with its levels", () => {
    expect(st.predictors[0].moderators).toEqual(["intake"]);
    expect(isDiscrete(st, "intake")).toBe(true);
    expect(discreteValues(st, "intake").map((d) => d.key)).toEqual(["bottom", "mid", "top"]);
  });

  it("expands a level to its dummies and holds other factors at their mix", () => {
    const at = defaultAt(st);
    expect(at.intake).toBe("bottom");
    const v = expandValues(st, { ...at, intake: "top" }, ["intake"]);
    expect(v.intakemid).toBe(0);
    expect(v.intaketop).toBe(1);
    const held = expandValues(st, at, []);
    expect(held.intakemid).toBeCloseTo(st.variables.intakemid.mean, 14);
    expect(valueLabel(st, "intake", { intake: "mid" })).toBe("intake = mid");
  });
});

describe("formatting", () => {
  it("numbers, p-values, df and plurals", () => {
    expect(fmt(-0.0001)).toBe("0.00");
    expect(fmt(-1.5)).toBe("−1.50");
    expect(fmt(2.5e7)).toBe("2.5e+7");
    expect(fmtP(0.0004)).toBe("< .001");
    expect(fmtP(0.0321)).toBe(".032");
    expect(fmtDf(144.1877)).toBe("144.2");
    expect(fmtDf(7180)).toBe("7,180");
    expect(plural("school")).toBe("schools");
    expect(plural("Batch")).toBe("Batches");
    expect(plural("g")).toBe("clusters");
    expect(plural("childid:schoolid")).toBe("clusters");
  });

  it("picks round slider steps", () => {
    expect(niceStep(2.02)).toBeCloseTo(0.01, 12);
    expect(niceStep(6.5)).toBeCloseTo(0.02, 12);
    expect(niceStep(9)).toBeCloseTo(0.05, 12);
    expect(niceStep(0)).toBe(1);
  });
});

describe("tooltip formats", () => {
  it("shows a 0/1 level-2 variable as a whole number, a share with three digits", async () => {
    const { tipFormat } = await import("../src/variables.js");
    const { format } = await import("d3-format");
    const state = {
      variables: {
        catholic: { kind: "binary", level: 2, values: [0, 1] },
        female: { kind: "binary", level: 1, values: [0, 1] },
        ses: { kind: "continuous", level: 1 },
      },
    };
    expect(format(tipFormat(state, "catholic"))(1)).toBe("1");
    expect(format(tipFormat(state, "female"))(0.35)).toBe("0.35");
    expect(format(tipFormat(state, "ses"))(1.5)).toBe("1.5");
    expect(format(tipFormat(state, "ses"))(-0.123456)).toBe("−0.123");
  });
});
