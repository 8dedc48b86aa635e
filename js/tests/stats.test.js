import { describe, expect, it } from "vitest";
import { pt, pTwoSided, qt, qnorm, pnorm, lgamma } from "../src/stats.js";
import { fixture, close } from "./fixtures.js";

const fx = fixture("stats");

describe("Student t distribution against SciPy", () => {
  it.each(fx.pt)("pt($t, $df)", ({ t, df, cdf }) => {
    // Relative accuracy in the smaller tail, where p-values live.
    const got = pt(t, df);
    if (cdf < 0.5) expect(close(got, cdf, 1e-9, 1e-300)).toBe(true);
    else expect(close(1 - got, 1 - cdf, 1e-9, 1e-15)).toBe(true);
  });

  it.each(fx.pt)("two-sided p at t=$t, df=$df", ({ t, df, p2 }) => {
    expect(close(pTwoSided(t, df), p2, 1e-9, 1e-300)).toBe(true);
  });

  it.each(fx.qt)("qt($p, $df)", ({ p, df, q }) => {
    expect(close(qt(p, df), q, 1e-9, 1e-12)).toBe(true);
  });

  it("round-trips qt and pt", () => {
    for (const df of [1.3, 7.7, 160.45]) {
      for (const p of [0.001, 0.2, 0.975]) expect(pt(qt(p, df), df)).toBeCloseTo(p, 12);
    }
  });

  it("uses the normal limit for huge df and rejects invalid df", () => {
    expect(qt(0.975, 1e9)).toBeCloseTo(1.959963984540054, 12);
    expect(Number.isNaN(pt(1, 0))).toBe(true);
    expect(Number.isNaN(qt(0.5, -1))).toBe(true);
  });
});

describe("normal and gamma helpers", () => {
  it("pnorm / qnorm", () => {
    expect(pnorm(1.959963984540054)).toBeCloseTo(0.975, 14);
    expect(qnorm(0.025)).toBeCloseTo(-1.959963984540054, 12);
    expect(pnorm(-10)).toBeCloseTo(7.61985302416047e-24, 35);
  });
  it("lgamma", () => {
    expect(lgamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 13);
    expect(lgamma(10)).toBeCloseTo(Math.log(362880), 12);
  });
});
