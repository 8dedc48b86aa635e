"""``res.methods_text()`` of a GLMM: family and link, Laplace or adaptive quadrature, the
optimiser and the checks of its optimum, Wald z tests, latent-scale effect sizes.

As for the linear mixed model (:mod:`.methods`), every sentence states something the fit
records; nothing is claimed that was not checked.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .methods import (
    REFERENCES,
    centring_in_data,
    centring_of_transforms,
    join_list,
    level2_predictors,
    random_part,
    singular_detail,
    software,
)

FAMILY_WORDS = {"binomial": "binomial", "poisson": "Poisson",
                "negative_binomial": "negative binomial"}
_DISTRIBUTION_VARIANCE = {"logit": "π²/3", "probit": "1", "cloglog": "π²/6"}


def approximation(res: Any) -> str:
    """How the marginal likelihood was computed, in words."""
    if res.nagq == 1:
        return ("the Laplace approximation to the marginal likelihood (glmer's nAGQ = 1), at "
                "conditional modes found by penalised iteratively reweighted least squares")
    return (f"adaptive Gauss-Hermite quadrature with {res.nagq} nodes per cluster (glmer's "
            f"nAGQ = {res.nagq})")


def _optimiser(res: Any) -> str:
    from ...engine.verify import GRAD_TOL

    opt = res.optimization
    found = (f"The parameters (θ and the fixed effects jointly) were optimised with "
             f"{opt.optimizer} ({opt.n_evals:,} evaluations of the deviance)")
    gradient = f"the largest scaled gradient, {opt.max_scaled_gradient:.2g},"
    if not res.converged:
        problem = "; ".join(opt.messages) or "the convergence check failed"
        return f"{found}; the checks of the optimum failed ({problem}; {gradient} against " \
               f"lme4's tolerance of {GRAD_TOL:g})."
    passed = [f"{gradient} was below lme4's convergence tolerance of {GRAD_TOL:g}"]
    hessian = np.asarray(opt.hessian, dtype=float)
    if hessian.size and np.all(np.linalg.eigvalsh((hessian + hessian.T) / 2) > 0):
        passed.append("the Hessian of the deviance was positive definite")
    return f"{found}; at the optimum {join_list(passed)}."


def _tests(res: Any, level: float) -> str:
    pct = f"{100 * level:g}%"
    se = ("the inverse finite-difference Hessian of the deviance over all parameters (glmer's "
          "default)" if res.vcov_method == "hessian" else
          "R_X, conditional on θ (the Hessian was not positive definite; glmer falls back to "
          "the same)")
    text = (f"Fixed effects were tested by Wald z tests as in glmer's summary, with standard "
            f"errors from {se}, and {pct} Wald confidence intervals")
    kind = {"logit": "odds ratios", "log": "rate ratios", "cloglog": "hazard ratios"}
    if res.link in kind:
        text += f"; exp(β) and its interval are reported as {kind[res.link]}"
    return text + "."


def _effect_sizes(res: Any) -> str:
    try:
        res.icc()
        res.r2()
    except (ValueError, ArithmeticError):
        return ""
    variance = _DISTRIBUTION_VARIANCE.get(res.link)
    how = (f"a distribution-specific variance of {variance} for the {res.link} link"
           if variance and res.family == "binomial" else
           "the lognormal approximation of the distribution-specific variance")
    return (f"ICC and R² are on the latent scale (Nakagawa et al., 2017), with {how}, as "
            "performance::icc and r2_nakagawa compute them.")


def methods_text_glmm(res: Any, level: float = 0.95, references: bool = False) -> str:
    """A methods paragraph for a GLMM (``GLMMResult``), every sentence read off the fit.

    Parameters
    ----------
    res : GLMMResult
    level : float
        Confidence level of the intervals reported.
    references : bool
        Append the references cited.

    Returns
    -------
    str
    """
    from ...engine.fit import SINGULAR_TOL

    response = res.spec.response.strip()
    if response.startswith("cbind("):
        response = f"{response} (successes, failures)"
    groups = "; ".join(f"{n:,} levels of {g}" for g, n in res.ngroups.items())
    family = FAMILY_WORDS.get(res.family, res.family)
    text = [f"A generalised linear mixed model of {response} ({family} family, {res.link} link; "
            f"lme4 formula: {res.formula}) was fitted to {res.nobs:,} observations ({groups}), "
            f"with {random_part(res)}."]
    if res.n_dropped:
        text.append(f"{res.n_dropped:,} rows with missing values in the model's variables were "
                    "excluded.")
    text.append(level2_predictors(res).strip())
    text.append(f"Parameters were estimated by maximum likelihood with {approximation(res)}, "
                f"using {software()}, which maximises the criterion of lme4's glmer "
                "(Bates et al., 2015).")
    if res.family == "negative_binomial":
        text.append(f"The negative binomial dispersion θ was estimated with the other "
                    f"parameters (θ̂ = {res.dispersion:.4g}, as glmer.nb).")
    text.append(_optimiser(res))
    if res.is_singular:
        text.append(f"The fit is singular (a relative covariance parameter below "
                    f"{SINGULAR_TOL:g}, lme4's criterion): {singular_detail(res)}.")
    else:
        text.append("The fit is not singular.")
    if len(res.fixef):
        text.append(_tests(res, level))
    effect_sizes = _effect_sizes(res)
    text.append(effect_sizes)
    centring = centring_of_transforms(res.formula) + centring_in_data(res)
    if centring:
        text.append("Centring: " + "; ".join(centring) + ".")
    paragraph = " ".join(t for t in text if t)
    if references:
        cited = ["bates"] + (["nakagawa"] if effect_sizes else [])
        paragraph += "\n\nReferences\n" + "\n".join(REFERENCES[k] for k in cited)
    return paragraph
