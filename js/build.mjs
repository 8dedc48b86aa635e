// Build the explorer bundle: one ESM file + one CSS file in mlm_jupyter/static/, with vega,
// vega-lite and vega-embed inlined (no CDN at run time). `npm ci && npm run build`.
import * as esbuild from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const outdir = path.join(here, "..", "mlm_jupyter", "static");
const watch = process.argv.includes("--watch");

const options = {
  entryPoints: { explorer: path.join(here, "src", "index.js") },
  outdir,
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["es2020", "chrome100", "firefox100", "safari15"],
  minify: true,
  legalComments: "eof",
  sourcemap: false,
  logLevel: "info",
  // Reproducible output: no timestamps, stable names.
  define: { "process.env.NODE_ENV": '"production"' },
};

if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else {
  await esbuild.build(options);
}
