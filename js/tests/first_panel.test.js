import { describe, expect, it } from "vitest";
import { firstPanel } from "../src/explorer.js";
import { PANELS } from "../src/panels/index.js";
import { fixture as loadFixture } from "./fixtures.js";

const ids = (state) => PANELS.filter((p) => p.available(state));

describe("first panel", () => {
  it("opens a cross-level interaction on Interaction", () => {
    const state = loadFixture("hsb_crosslevel").state;
    expect(firstPanel(state, ids(state))).toBe("interaction");
  });

  it("opens a random-intercept model with plain slopes on Clusters", () => {
    const state = loadFixture("hsb_crosslevel").state;
    const ri = { ...state, predictors: [{ name: "cses", random: false, moderators: [] }] };
    expect(firstPanel(ri, ids(ri))).toBe("clusters");
    expect(ids(ri).map((p) => p.id)).toContain("interaction");
  });

  it("drops the Interaction tab when there is no level-1 predictor", () => {
    const state = loadFixture("hsb_crosslevel").state;
    const empty = { ...state, predictors: [] };
    expect(ids(empty).map((p) => p.id)).not.toContain("interaction");
    expect(firstPanel(empty, ids(empty))).toBe("clusters");
  });

  it("honours an explicit initial tab", () => {
    const state = { ...loadFixture("hsb_crosslevel").state, initial: { tab: "variance" } };
    expect(firstPanel(state, ids(state))).toBe("variance");
  });
});
