// What differs between the kinds of fitted model the explorer shows: the curve of the
// Interaction panel, the simple slope and its interval, the random-slope range and the
// moderator region. A linear mixed model uses model.js (t tests, Satterthwaite df); a GLMM
// (state.glmm) the same link-scale contrasts drawn on the response scale (glmm.js); a
// Bayesian fit (state.posterior) its posterior draws (posterior.js).

import {
  johnsonNeyman, predictionCurve, simpleSlope, slopeCurve, slopeSD,
} from "./model.js";
import { responseCurve } from "./glmm.js";
import {
  credibleRegions, posteriorCurve, posteriorSlope, posteriorSlopeCurve, slopeRange,
} from "./posterior.js";

const Z95 = 1.959963984540054;

/** "lmm", "glmm" or "bayes" for a prepared model (model.prepare). */
export function kindOf(m) {
  if (m.posterior) return "bayes";
  if (m.glmm) return "glmm";
  return "lmm";
}

/** The Interaction panel's curve rows (fit, lower, upper, fan_lo/hi, spread_lo/hi). */
export function curveOf(m, x, values, xs, { spread = true } = {}) {
  const kind = kindOf(m);
  if (kind === "bayes") return posteriorCurve(m, x, values, xs, { spread });
  if (kind === "glmm") return responseCurve(m, x, values, xs);
  return predictionCurve(m, x, values, xs, { zFan: Z95 });
}

/** The simple slope of x at the values (link scale for a GLMM, posterior for Bayes). */
export function slopeOf(m, x, values) {
  return kindOf(m) === "bayes" ? posteriorSlope(m, x, values) : simpleSlope(m, x, values);
}

/** The 95% range of the clusters' slopes of x: {lo, hi, sd}. */
export function rangeOf(m, x, values, slope = slopeOf(m, x, values)) {
  if (kindOf(m) === "bayes") return slopeRange(m, x, values);
  const sd = slopeSD(m, x, values);
  return { lo: slope.estimate - Z95 * sd, hi: slope.estimate + Z95 * sd, sd };
}

/** The slope of x across moderator values `ms`. */
export function slopeCurveOf(m, x, mod, values, ms) {
  return kindOf(m) === "bayes" ? posteriorSlopeCurve(m, x, mod, values, ms)
    : slopeCurve(m, x, mod, values, ms);
}

/** Moderator regions where the slope differs from 0: Johnson-Neyman (p < .05) or, for a
 * posterior, where the 95% credible interval excludes 0. */
export function regionsOf(m, x, mod, values, lo, hi) {
  return kindOf(m) === "bayes" ? credibleRegions(m, x, mod, values, lo, hi)
    : johnsonNeyman(m, x, mod, values, lo, hi);
}
