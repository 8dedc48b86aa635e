// Load the JSON fixtures written by tests/js_fixtures/make_fixtures.py.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "tests", "js_fixtures");

export function fixture(name) {
  return JSON.parse(readFileSync(path.join(dir, `${name}.json`), "utf8"));
}

export const MODEL_CASES = ["hsb_crosslevel", "hsb_rb", "categorical3", "sleep_slope_reml"];

/** |a - b| <= rel * max(|b|, floor) */
export function close(a, b, rel, floor = 1e-300) {
  return Math.abs(a - b) <= rel * Math.max(Math.abs(b), floor);
}
