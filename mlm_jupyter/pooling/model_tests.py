"""Pooled comparison of two nested models over m imputations: mitml's ``testModels``.

With k the number of tested parameters and m imputations (mitml 0.4's formulas):

- **D1** (Wald; Li, Raghunathan & Rubin 1991), for the k fixed effects the larger model adds,
  from the fits as given: Q̄, Ū, B as in Rubin's rules, r = (1 + 1/m) tr(B Ū⁻¹) / k,
  F = Q̄'((1 + r) Ū)⁻¹Q̄ / k on (k, ν) df, t = k(m - 1),
  ν = 4 + (t - 4)(1 + (1 - 2/t)/r)² (t > 4), else t(1 + 1/k)(1 + 1/r)²/2; with ``df_com``
  Reiter's (2007) small-sample ν.
- **D2** (Li, Meng, Raghunathan & Rubin 1991) from the m statistics d_i (Wald statistics of
  the added fixed effects, or likelihood-ratio statistics of ML refits):
  r = (1 + 1/m) var(√d_i), F = (d̄/k - (m + 1)/(m - 1) r) / (1 + r),
  ν = k^(-3/m) (m - 1)(1 + 1/r)².
- **D3** (Meng & Rubin 1992), likelihood-based, from ML fits (REML fits are refitted with ML,
  as mitml does): d̄ = mean of the m LRTs at each imputation's own estimates, d̃ = mean of
  the LRTs with both models' likelihoods evaluated at their *pooled* estimates (γ̄, the
  averaged τ matrices and σ², :func:`~mlm_jupyter.engine.density.marginal_logdensity`),
  r = (m + 1)/(k(m - 1)) (d̄ - d̃), F = d̃ / (k(1 + r)), ν as D1's.

``ariv="positive"`` truncates r at 0 (D2, D3).  D1 and Wald-D2 test only fixed effects; the
likelihood-based statistics also compare random-effects structures (then a variance on its
boundary makes F conservative, as a naive likelihood-ratio test is).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from ..compare import ComparisonTable
from ..engine.density import marginal_logdensity, theta_from_covariances
from ..nesting import nesting_problem
from .result import PooledResult, averaged_covariances

_METHODS = ("D1", "D2", "D3")


def _d1(Q: np.ndarray, U: np.ndarray, df_com: float | None) -> tuple[float, float, float]:
    m, k = Q.shape
    qbar = Q.mean(axis=0)
    ubar = U.mean(axis=0)
    dev = Q - qbar
    B = dev.T @ dev / (m - 1)
    r = (1 + 1 / m) * float(np.trace(B @ np.linalg.inv(ubar))) / k
    F = float(qbar @ np.linalg.solve((1 + r) * ubar, qbar)) / k
    t = k * (m - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        if df_com is not None:
            a = r * t / (t - 2)
            vstar = (df_com + 1) / (df_com + 3) * df_com
            c0 = np.float64(1.0) / np.float64(t - 4)
            c1 = vstar - 2 * (1 + a)
            c2 = vstar - 4 * (1 + a)
            z = (1 / c2 + c0 * (a**2 * c1 / ((1 + a) ** 2 * c2))
                 + c0 * (8 * a**2 * c1 / ((1 + a) * c2**2) + 4 * a**2 / ((1 + a) * c2))
                 + c0 * (4 * a**2 / (c2 * c1) + 16 * a**2 * c1 / c2**3)
                 + c0 * (8 * a**2 / c2**2))
            v = 4 + 1 / z
        else:
            v = _df_d1_d3(t, k, r)
    return F, float(v), r


def _df_d1_d3(t: int, k: int, r: float) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_r = np.float64(1.0) / np.float64(r)
        if t > 4:
            return float(4 + (t - 4) * (1 + (1 - 2 / t) * inv_r) ** 2)
        return float(t * (1 + 1 / k) * (1 + inv_r) ** 2 / 2)


def _d2(d: np.ndarray, k: int, positive: bool) -> tuple[float, float, float]:
    m = d.size
    with np.errstate(invalid="ignore"):
        r = (1 + 1 / m) * float(np.var(np.sqrt(d), ddof=1))
    if positive:
        r = max(0.0, r)
    F = (d.mean() / k - (m + 1) / (m - 1) * r) / (1 + r)
    with np.errstate(divide="ignore"):
        v = k ** (-3 / m) * (m - 1) * (1 + np.float64(1.0) / np.float64(r)) ** 2
    return float(F), float(v), r


def _check_pair(model: Any, null: Any) -> None:
    for name, obj in (("model", model), ("null_model", null)):
        if not isinstance(obj, PooledResult):
            raise TypeError(
                f"{name} is a {type(obj).__name__}; test_models() compares two pooled "
                "results (mlm.fit(formula, data=[df_1, ..., df_m]) or mlm.pool(fits)). For "
                "models of one data set use mlm.compare()."
            )
    if model.m != null.m:
        raise ValueError(f"model has m = {model.m} imputations but null_model has m = {null.m}; "
                         "fit both to the same imputed data sets.")
    if model.spec.response != null.spec.response:
        raise ValueError(f"the models have different responses ('{model.spec.response}', "
                         f"'{null.spec.response}'); only models of one response can be compared.")
    # Same data set i for both models: same responses and same values of the common fixed
    # effects (a variable only one model uses cannot tell the order, nor does it matter).
    common = [c for c in model.fixef.index if c in set(null.fixef.index)]
    for i, (a, b) in enumerate(zip(model.results, null.results, strict=True), start=1):
        same = a.nobs == b.nobs and np.array_equal(a.design.y, b.design.y) and np.array_equal(
            a.design.X[:, [a.design.fixed_names.index(c) for c in common]],
            b.design.X[:, [b.design.fixed_names.index(c) for c in common]])
        if not same:
            raise ValueError(
                f"model and null_model were not fitted to the same imputed data sets (data set "
                f"{i} differs in its rows or in the values of common variables); fit both "
                "to the same list of data sets, in the same order."
            )
    small, large = null.results[0], model.results[0]
    forward, backward = nesting_problem(small, large), nesting_problem(large, small)
    if not forward and not backward:
        raise ValueError(f"'{model.formula}' and '{null.formula}' have the same parameters; "
                         "there is nothing to test.")
    if forward and not backward:
        raise ValueError(
            f"null_model '{null.formula}' is the larger model: pass the larger model first, "
            "test_models(model=larger, null_model=smaller)."
        )
    if forward:
        raise ValueError(
            f"'{null.formula}' is not nested in '{model.formula}': {forward}. testModels "
            "compares nested models only (the null model's fixed effects and random-effect "
            "(co)variances must all be in the larger one)."
        )


def _ml_fits(pooled: PooledResult) -> list[Any]:
    return [r.refit(reml=False) if r.reml else r for r in pooled.results]


def _pooled_logliks(fits: list[Any]) -> np.ndarray:
    """Each data set's log-likelihood at the pooled estimates (γ̄, averaged τ and σ²)."""
    beta = np.mean([r.fixef.to_numpy() for r in fits], axis=0)
    covs, sigma = averaged_covariances(fits)
    theta = theta_from_covariances(fits[0].design, covs, sigma)
    return np.array([marginal_logdensity(r.engine_design, beta, theta, sigma,
                                         conditioning=r.conditioning) for r in fits])


def test_models(model: PooledResult, null_model: PooledResult, method: str = "D1",
                use: str = "wald", df_com: float | None = None,
                ariv: str = "default") -> ComparisonTable:
    """Compare two nested models pooled over the same imputations (mitml's ``testModels``).

    Parameters
    ----------
    model, null_model : PooledResult
        The larger and the smaller model, fitted to the same m imputed data sets.
    method : {"D1", "D2", "D3"}, default "D1"
        D1: pooled Wald test of the fixed effects ``model`` adds.  D2: combined χ²
        statistics (``use="wald"``: per-imputation Wald statistics of those fixed effects;
        ``use="likelihood"``: likelihood-ratio statistics of ML fits).  D3: pooled
        likelihood-ratio test (Meng & Rubin), also for random-effects structures.
    use : {"wald", "likelihood"}, default "wald"
        For D2 only.
    df_com : float, optional
        For D1 only: complete-data df for Reiter's (2007) small-sample denominator df
        (mitml's ``df.com``; default: the large-sample df).
    ariv : {"default", "positive"}
        "positive" truncates a negative relative increase in variance at 0 (D2, D3).

    Returns
    -------
    ComparisonTable
        One row (index: the method) with ``F, df1, df2, p, riv``; ``notes`` says what was
        tested, m, and whether REML fits were refitted with ML.

    Examples
    --------
    >>> full = mlm.fit("y ~ x + w + (1 | g)", data=imputations)
    >>> null = mlm.fit("y ~ x + (1 | g)", data=imputations)
    >>> mlm.test_models(full, null)                 # D1: are the w effects zero?
    >>> mlm.test_models(full, null, method="D3")    # likelihood-based
    """
    if method not in _METHODS:
        raise ValueError(f"method={method!r}: use 'D1', 'D2' or 'D3'.")
    if use not in ("wald", "likelihood"):
        raise ValueError(f"use={use!r}: use 'wald' or 'likelihood' (for D2).")
    if ariv not in ("default", "positive"):
        raise ValueError(f"ariv={ariv!r}: use 'default' or 'positive'.")
    if df_com is not None and method != "D1":
        raise ValueError("df_com is used by method='D1' only (Reiter's small-sample df).")
    _check_pair(model, null_model)
    m = model.m
    positive = ariv == "positive"
    wald = method == "D1" or (method == "D2" and use == "wald")
    notes = []
    refit = False
    if wald:
        added = [c for c in model.fixef.index if c not in set(null_model.fixef.index)]
        if not added:
            raise ValueError(
                f"method='{method}'{' with use=wald' if method == 'D2' else ''} tests fixed "
                "effects, but the models differ only in their random effects; use "
                "method='D3' (or 'D2' with use='likelihood'), which compare likelihoods."
            )
        Q = np.array([r.fixef[added].to_numpy() for r in model.results])
        U = np.array([r.vcov.loc[added, added].to_numpy() for r in model.results])
        k = len(added)
        if method == "D1":
            F, v, r = _d1(Q, U, df_com)
        else:
            d = np.array([q @ np.linalg.solve(u, q) for q, u in zip(Q, U, strict=True)])
            F, v, r = _d2(d, k, positive)
        notes.append(f"{method}: Wald test of {k} fixed effect{'s' if k > 1 else ''} "
                     f"({', '.join(added)}) over m = {m} imputations.")
    else:
        full_fits, null_fits = _ml_fits(model), _ml_fits(null_model)
        refit = model.reml or null_model.reml
        ll1 = np.array([r.loglik for r in full_fits])
        ll0 = np.array([r.loglik for r in null_fits])
        k = int(full_fits[0].npar - null_fits[0].npar)
        diff = ll0 - ll1
        diff[np.isclose(ll0, ll1, rtol=1.5e-8, atol=0.0)] = 0.0  # R's all.equal
        if method == "D2":
            F, v, r = _d2(-2.0 * diff, k, positive)
        else:
            d_bar = float(np.mean(-2.0 * diff))
            at_pooled = _pooled_logliks(null_fits) - _pooled_logliks(full_fits)
            d_tilde = float(np.mean(-2.0 * at_pooled))
            r = (m + 1) / (k * (m - 1)) * (d_bar - d_tilde)
            if positive:
                r = max(0.0, r)
            F = d_tilde / (k * (1 + r))
            v = _df_d1_d3(k * (m - 1), k, r)
        notes.append(f"{method}: likelihood-ratio test of {k} parameter{'s' if k > 1 else ''} "
                     f"over m = {m} imputations.")
        if refit:
            notes.append("REML fits were refitted with ML for the likelihoods, as mitml does.")
    if not np.isfinite(F):
        p = float("nan")
    elif np.isinf(v):  # F(k, ∞) is χ²_k / k
        p = float(stats.chi2.sf(F * k, k))
    else:
        p = float(stats.f.sf(F, k, v))
    label = method + (f" ({use})" if method == "D2" else "")
    table = ComparisonTable({"F": [F], "df1": [int(k)], "df2": [v], "p": [p], "riv": [r]},
                            index=[label])
    table.notes = notes
    table.attrs.update(method=method, use=use, m=m, refit_ml=refit, notes=list(notes))
    return table


test_models.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
