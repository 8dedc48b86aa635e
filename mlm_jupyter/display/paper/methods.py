"""``res.methods_text()``: a methods paragraph made of statements read off the fit.

Each sentence states something the result records: the formula and what it asks for, the
data used (observations, clusters, dropped rows), the criterion (REML or ML), the optimiser
with its number of evaluations and lme4's scaled-gradient check, whether the fit is
singular, the df method of the tests, how predictors were centred (the formula's
``cwc``/``cm``/``gmc``/``center`` transforms, and columns the data show to be centred
already), and the software with its versions.  Nothing is claimed that was not checked.
"""

from __future__ import annotations

import platform
import re
from typing import Any

import numpy as np

from ...effects._common import level_of
from ...naming import split_interaction

INTERCEPT = "(Intercept)"
_TRANSFORM = re.compile(r"\b(cwc|cm|gmc|center)\s*\(")

REFERENCES = {
    "bates": "Bates, D., Mächler, M., Bolker, B., & Walker, S. (2015). Fitting linear "
    "mixed-effects models using lme4. Journal of Statistical Software, 67(1), 1-48.",
    "kuznetsova": "Kuznetsova, A., Brockhoff, P. B., & Christensen, R. H. B. (2017). lmerTest "
    "package: Tests in linear mixed effects models. Journal of Statistical Software, "
    "82(13), 1-26.",
    "satterthwaite": "Satterthwaite, F. E. (1946). An approximate distribution of estimates "
    "of variance components. Biometrics Bulletin, 2(6), 110-114.",
    "kenward": "Kenward, M. G., & Roger, J. H. (1997). Small sample inference for fixed "
    "effects from restricted maximum likelihood. Biometrics, 53(3), 983-997.",
    "nakagawa": "Nakagawa, S., Johnson, P. C. D., & Schielzeth, H. (2017). The coefficient of "
    "determination R2 and intra-class correlation coefficient from generalized linear "
    "mixed-effects models revisited and expanded. Journal of the Royal Society Interface, "
    "14(134), 20170213.",
    "burkner": "Bürkner, P.-C. (2017). brms: An R package for Bayesian multilevel models using "
    "Stan. Journal of Statistical Software, 80(1), 1-28.",
    "hoffman": "Hoffman, M. D., & Gelman, A. (2014). The No-U-Turn sampler: Adaptively setting "
    "path lengths in Hamiltonian Monte Carlo. Journal of Machine Learning Research, 15, "
    "1593-1623.",
    "vehtari": "Vehtari, A., Gelman, A., Simpson, D., Carpenter, B., & Bürkner, P.-C. (2021). "
    "Rank-normalization, folding, and localization: An improved R-hat for assessing "
    "convergence of MCMC. Bayesian Analysis, 16(2), 667-718.",
    "rubin": "Rubin, D. B. (1987). Multiple imputation for nonresponse in surveys. Wiley.",
    "barnard": "Barnard, J., & Rubin, D. B. (1999). Small-sample degrees of freedom with "
    "multiple imputation. Biometrika, 86(4), 948-955.",
    "grund": "Grund, S., Robitzsch, A., & Lüdtke, O. (2023). mitml: Tools for multiple "
    "imputation in multilevel modeling. R package.",
}


def transform_calls(formula: str) -> list[tuple[str, list[str]]]:
    """Centring transforms written in a formula: ``[("cwc", ["ses", "school"]), ...]``."""
    out = []
    for match in _TRANSFORM.finditer(formula):
        depth, args, current = 1, [], []
        for char in formula[match.end():]:
            if char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
                if depth == 0:
                    break
            if char == "," and depth == 1:
                args.append("".join(current).strip())
                current = []
            else:
                current.append(char)
        args.append("".join(current).strip())
        call = (match.group(1), args)
        if call not in out:
            out.append(call)
    return out


def centring_of_transforms(formula: str) -> list[str]:
    words = {
        "cwc": lambda a: f"{a[0]} was centred within clusters of {a[1]} (cwc)",
        "cm": lambda a: f"the cluster means of {a[0]} by {a[1]} entered as a predictor (cm)",
        "gmc": lambda a: f"{a[0]} was centred at its grand mean (gmc)",
        "center": lambda a: (
            f"{a[0]} was centred at {a[1]}" if len(a) > 1 and a[1] else
            f"{a[0]} was centred at its mean"
        ) + " (center)",
    }
    return [words[name](args) for name, args in transform_calls(formula) if args and args[0]]


def centring_in_data(res: Any) -> list[str]:
    """What the data show about predictors used as they are (no transform)."""
    data = res.data_used
    if data is None:
        return []
    term = res.design.terms[0]
    group = term.group
    names = list(res.design.fixed_names)
    centred_within, centred, raw = [], [], []
    for j, name in enumerate(names):
        if name == INTERCEPT or len(split_interaction(name)) > 1 or name not in data.columns:
            continue
        values = res.design.X[:, j]
        if set(np.unique(values)) <= {0.0, 1.0}:
            continue  # a 0/1 indicator: centring is not the question
        kind = level_of(values, term.codes, term.n_levels)
        spread = float(np.std(values))
        if kind == "L1-within":
            centred_within.append(name)
        elif abs(float(values.mean())) <= 1e-8 * max(spread, 1e-300):
            centred.append(name)
        else:
            raw.append(name)
    out = []
    if centred_within:
        out.append(f"{join_list(centred_within)} had a mean of zero within every {group} "
                   "(centred within clusters before the analysis)")
    if centred:
        out.append(f"{join_list(centred)} had a mean of zero (centred before the analysis)")
    if raw:
        out.append(f"{join_list(raw)} entered uncentred")
    return out


def join_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def random_part(res: Any) -> str:
    parts = []
    for group in dict.fromkeys(t.group for t in res.design.terms):
        terms = [t for t in res.design.terms if t.group == group]
        columns = [c for t in terms for c in t.columns]
        pieces = []
        if INTERCEPT in columns:
            pieces.append("random intercepts")
        slopes = [c for c in columns if c != INTERCEPT]
        if slopes:
            pieces.append(f"random slopes of {join_list(slopes)}")
        text = " and ".join(pieces) + f" across {group}"
        if len(columns) > 1:
            text += " (correlated)" if len(terms) == 1 else " (uncorrelated)"
        parts.append(text)
    return join_list(parts)


def level2_predictors(res: Any) -> str:
    from ..equations import classify_coefficients

    design = res.design
    if len({t.group for t in design.terms}) > 1:
        return ""
    level2 = [c.name for c in classify_coefficients(res)
              if c.slot == INTERCEPT and c.level2 and ":" not in c.name]
    if not level2:
        return ""
    return f" Predictors constant within {design.terms[0].group}: {join_list(level2)}."


def _is_variance(var2: Any) -> bool:
    """A varcorr row of a variance (var2 None, or NaN in a GLMM's table) or a correlation."""
    return var2 is None or (isinstance(var2, float) and np.isnan(var2))


def singular_detail(res: Any) -> str:
    """Which SDs were estimated at 0 and which correlations at ±1."""
    vc = res.varcorr
    sigma = res.sigma
    zero, one = [], []
    for group, var1, var2, sdcor in zip(vc["group"], vc["var1"], vc["var2"], vc["sdcor"],
                                        strict=True):
        if group == "Residual":
            continue
        if _is_variance(var2) and sdcor < 1e-4 * sigma:
            zero.append(f"the SD of {var1} across {group}")
        elif not _is_variance(var2) and abs(sdcor) > 1 - 1e-4:
            one.append(f"the correlation of {var1} and {var2} across {group}")
    details = []
    if zero:
        details.append(f"{join_list(zero)} {'was' if len(zero) == 1 else 'were'} estimated at 0")
    if one:
        details.append(f"{join_list(one)} {'was' if len(one) == 1 else 'were'} estimated at ±1")
    return "; ".join(details) or "a random-effects covariance matrix is not of full rank"


def optimiser_sentence(res: Any) -> str:
    """The optimiser, its evaluations and the checks of the optimum it passed (or failed)."""
    from ...engine.verify import GRAD_TOL

    opt = res.optimization
    found = (f"The variance parameters were optimised with {opt.optimizer} "
             f"({opt.n_evals:,} evaluations of the criterion")
    restarts = getattr(opt, "n_restarts", 0)
    if restarts:
        found += f", {restarts} restart{'s' if restarts > 1 else ''} from better points the "
        found += "checks of the optimum found"
    found += ")"
    gradient = f"the largest scaled gradient, {opt.max_scaled_gradient:.2g}, "
    check = getattr(opt, "check", None)
    if not res.converged:
        from ...messages import not_converged

        problem = not_converged(opt).split(": ", 1)[-1].split(", so ")[0]
        return (found + f"; the checks of the optimum failed ({problem}; {gradient}against "
                f"lme4's tolerance of {GRAD_TOL:g}).")
    at_zero = len(check.boundary_slopes) if check is not None else 0
    passed = []
    if at_zero < len(res.theta):  # parameters off the bounds: first- and second-order checks
        passed.append(f"{gradient}was below lme4's convergence tolerance of {GRAD_TOL:g}")
        if check is not None and check.second_order:
            passed.append("the Hessian of the criterion showed no negative curvature")
    if at_zero:
        passed.append("the criterion does not decrease off the variances estimated at 0")
    return found + "; at the optimum " + join_list(passed) + "."


def software() -> str:
    import pandas
    import scipy

    from ... import __version__

    return (f"mlm_jupyter {__version__} (Python {platform.python_version()}, NumPy "
            f"{np.__version__}, SciPy {scipy.__version__}, pandas {pandas.__version__})")


def methods_text(
    res: Any, ddf: str = "satterthwaite", level: float = 0.95, references: bool = False
) -> str:
    """A methods paragraph for a linear mixed model, every sentence read off the fit.

    Parameters
    ----------
    res : MixedModelResult
    ddf : {"satterthwaite", "kenward-roger", "residual"}
        The df method the paper's tests use (as in ``mlm.table(..., ddf=)``).
    level : float
        Confidence level of the intervals reported.
    references : bool
        Append the references cited (lme4, lmerTest, the df method).

    Returns
    -------
    str
    """
    from ...engine.fit import SINGULAR_TOL

    ddf = str(ddf).lower().replace("_", "-")
    if ddf not in ("satterthwaite", "kenward-roger", "residual"):
        raise ValueError(
            f"ddf must be 'satterthwaite', 'kenward-roger' or 'residual', not {ddf!r}."
        )
    response = res.spec.response.strip()
    groups = "; ".join(f"{n:,} levels of {g}" for g, n in res.ngroups.items())
    text = [
        f"A linear mixed model of {response} (lme4 formula: {res.formula}) was fitted to "
        f"{res.nobs:,} observations ({groups}), with {random_part(res)}."
    ]
    if res.n_dropped:
        text.append(f"{res.n_dropped:,} rows with missing values in the model's variables were "
                    "excluded.")
    text.append(level2_predictors(res).strip())
    criterion = "restricted maximum likelihood (REML)" if res.reml else "maximum likelihood (ML)"
    text.append(
        f"Parameters were estimated by {criterion} with {software()}, which optimises lme4's "
        "profiled criterion (Bates et al., 2015)."
    )
    text.append(optimiser_sentence(res))
    if res.is_singular:
        text.append(f"The fit is singular (a relative covariance parameter below "
                    f"{SINGULAR_TOL:g}, lme4's criterion): {singular_detail(res)}.")
    else:
        text.append("The fit is not singular.")
    pct = f"{100 * level:g}%"
    if ddf == "satterthwaite":
        tests = ("t tests with Satterthwaite's (1946) approximation to the degrees of freedom, "
                 "as in lmerTest (Kuznetsova et al., 2017)")
    elif ddf == "kenward-roger":
        tests = ("t tests with the Kenward-Roger (1997) degrees of freedom and adjusted "
                 "standard errors, as in pbkrtest and lmerTest (Kuznetsova et al., 2017)")
    else:
        tests = f"t tests with n - p = {res.nobs - len(res.fixef)} residual degrees of freedom"
    if len(res.fixef):
        text.append(f"Fixed effects were tested by {tests}; {pct} confidence intervals use the "
                    "same t distributions.")
    centring = centring_of_transforms(res.formula) + centring_in_data(res)
    if centring:
        text.append("Centring: " + "; ".join(centring) + ".")
    paragraph = " ".join(t for t in text if t)
    if references:
        cited = ["bates"] + (["kuznetsova"] if ddf != "residual" else [])
        cited += {"satterthwaite": ["satterthwaite"], "kenward-roger": ["kenward"]}.get(ddf, [])
        paragraph += "\n\nReferences\n" + "\n".join(REFERENCES[k] for k in cited)
    return paragraph
