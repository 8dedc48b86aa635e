// Student t and normal distribution functions for the explorer's client-side inference.
//
// Everything the widget shows (simple-slope p-values, confidence bands, Johnson-Neyman
// boundaries) needs pt/qt at non-integer Satterthwaite df, in the browser, with no kernel.
// Accuracy target: ~1e-12 relative for pt, ~1e-10 for qt (checked against SciPy fixtures).

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
  -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
  1.5056327351493116e-7,
];

/** log Gamma(x) for x > 0 (Lanczos, g = 7). */
export function lgamma(x) {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lgamma(1 - x);
  x -= 1;
  let a = LANCZOS[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction for the incomplete beta function (modified Lentz). */
function betacf(a, b, x) {
  const TINY = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 10000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-16) break;
  }
  return h;
}

/** Regularised incomplete beta I_x(a, b). */
export function ibeta(x, a, b) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * Math.log(x) + b * Math.log1p(-x);
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(lbt) * betacf(a, b, x)) / a;
  return 1 - (Math.exp(lbt) * betacf(b, a, 1 - x)) / b;
}

/** Standard normal CDF (erfc from W. J. Cody's rational approximations via Math). */
export function pnorm(z) {
  return 0.5 * erfc(-z / Math.SQRT2);
}

function erfc(x) {
  // Numerical Recipes erfc with Chebyshev fit: relative error < 1.2e-7 is not enough for
  // tiny p-values, so use the incomplete gamma relation erfc(x) = Q(1/2, x^2) for accuracy.
  if (x < 0) return 2 - erfc(-x);
  if (x === 0) return 1;
  return upperGammaHalf(x * x);
}

/** Q(1/2, y) = erfc(sqrt(y)) by series / continued fraction (NR gser/gcf). */
function upperGammaHalf(y) {
  const a = 0.5;
  const gln = lgamma(a);
  if (y < a + 1) {
    let sum = 1 / a;
    let del = sum;
    let ap = a;
    for (let n = 0; n < 1000; n++) {
      ap += 1;
      del *= y / ap;
      sum += del;
      if (Math.abs(del) < Math.abs(sum) * 1e-16) break;
    }
    return 1 - sum * Math.exp(-y + a * Math.log(y) - gln);
  }
  const TINY = 1e-300;
  let b = y + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-16) break;
  }
  return Math.exp(-y + a * Math.log(y) - gln) * h;
}

/** Standard normal quantile (Acklam's algorithm refined by one Halley step). */
export function qnorm(p) {
  if (p <= 0) return -Infinity;
  if (p >= 1) return Infinity;
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269,
    -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972,
    -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734,
    4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const plow = 0.02425;
  let x;
  if (p < plow) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
      ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= 1 - plow) {
    const q = p - 0.5;
    const r = q * q;
    x = ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) /
      (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
      ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  const e = pnorm(x) - p;
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
}

// Above this df the t distribution is the normal to double precision for our purposes.
const NORMAL_DF = 1e7;

/** Student t CDF P(T <= t) with df > 0 degrees of freedom (df may be fractional). */
export function pt(t, df) {
  if (!(df > 0)) return NaN;
  if (!Number.isFinite(t)) return t > 0 ? 1 : 0;
  if (df > NORMAL_DF) return pnorm(t);
  const tail = 0.5 * ibeta(df / (df + t * t), df / 2, 0.5);
  return t > 0 ? 1 - tail : tail;
}

/** Two-sided p-value 2 P(T >= |t|), accurate for tiny p (no 1 - x cancellation). */
export function pTwoSided(t, df) {
  if (!(df > 0)) return NaN;
  if (!Number.isFinite(t)) return 0;
  if (df > NORMAL_DF) return erfc(Math.abs(t) / Math.SQRT2);
  return ibeta(df / (df + t * t), df / 2, 0.5);
}

/** Density of the t distribution (for Newton steps in qt). */
function dt(t, df) {
  return Math.exp(lgamma((df + 1) / 2) - lgamma(df / 2) - 0.5 * Math.log(df * Math.PI) -
    ((df + 1) / 2) * Math.log1p((t * t) / df));
}

/**
 * Student t quantile: the t with P(T <= t) = p.
 * Starts from the Cornish-Fisher expansion around the normal quantile, then Newton steps
 * on the CDF (guarded by bisection), so fractional Satterthwaite df cost a few CDF calls.
 */
export function qt(p, df) {
  if (!(df > 0) || !(p >= 0 && p <= 1)) return NaN;
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  if (p === 0.5) return 0;
  if (df > NORMAL_DF) return qnorm(p);
  if (p > 0.5) return -qt(1 - p, df);
  const z = qnorm(p);
  const z2 = z * z;
  let x = z + (z * (z2 + 1)) / (4 * df) + (z * ((5 * z2 + 16) * z2 + 3)) / (96 * df * df);
  if (df < 3 || !Number.isFinite(x)) x = Math.min(z, -1e-8) * (1 + 2 / df);
  let lo = -Infinity;
  let hi = 0;
  for (let i = 0; i < 100; i++) {
    const f = pt(x, df) - p;
    if (f > 0) hi = Math.min(hi, x);
    else lo = Math.max(lo, x);
    const step = f / dt(x, df);
    let next = x - step;
    if (!(next > lo && next < hi)) next = Number.isFinite(lo) ? (lo + hi) / 2 : x * 2;
    if (Math.abs(next - x) <= 1e-13 * Math.max(1, Math.abs(x))) return next;
    x = next;
  }
  return x;
}
