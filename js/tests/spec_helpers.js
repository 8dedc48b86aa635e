// Shared by the spec-builder tests: a fixed palette (as readTheme returns it) and a check
// that a Vega-Lite spec compiles and runs headless in Vega (no DOM), so the specs the
// panels embed are valid and their named data sets exist.
import { compile } from "vega-lite";
import { parse, View } from "vega";

export const THEME = {
  dark: false, bg: "#ffffff", fg: "#1f2328", fg2: "#57606a", fg3: "#8c959f", border: "#d0d7de",
  grid: "#eaeef2", font: "sans-serif", accent: "#2563eb", fan: "#7c3aed", select: "#ea580c",
  sig: "#16a34a", binary: ["#0d9488", "#c026d3"], scheme: "viridis",
};

/** Compile `spec` (throws on Vega-Lite errors) and run it in a headless View. */
export async function runSpec(spec) {
  const warnings = [];
  const logger = {
    level() { return this; }, error(...a) { throw new Error(a.join(" ")); },
    warn(...a) { warnings.push(a.join(" ")); return this; }, info() { return this; }, debug() { return this; },
  };
  const compiled = compile(spec, { logger }).spec;
  const view = new View(parse(compiled), { renderer: "none" });
  await view.runAsync();
  return { view, compiled, warnings };
}
