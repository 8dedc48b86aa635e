"""Likelihood-ratio comparison of nested models: lme4's ``anova`` plus boundary-aware p-values.

Rows are the models in order of npar.  For each model after the first, ``chisq`` is the drop in
deviance from the previous row, ``df`` the difference in npar, ``p`` = P(χ²_df > chisq).

``p_mixture`` (Self & Liang 1987; Stram & Lee 1994): when the larger model adds exactly one
random-effect variance (with its covariances with the q = df - 1 effects it is correlated with)
and keeps the fixed effects, the null variance sits on the boundary of its space and the LRT
follows the 50:50 mixture ½χ²_q + ½χ²_(q+1).  Limits: with several added variances the null
distribution is a mixture with weights that depend on the information matrix; those rows get
NaN (use ``nsim`` for a parametric bootstrap instead).

``p_boot`` (``nsim > 0``): responses simulated from the smaller model, both models refitted
(warm-started at their estimates, only the y part of the cross-products recomputed),
p = (1 + #{LRT* ≥ LRT}) / (1 + successful replicates); failed refits are counted in
``table.notes`` and ``table.attrs["n_failed"]``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .engine.simulate import ResponseUpdater, quick_refit, simulate_responses
from .engine.threads import single_blas_thread
from .frames import ResultFrame
from .nesting import added_variances, nesting_problem, same_fixed_effects
from .progress import Progress
from .validate import check_count, check_flag, check_result, check_seed


class ComparisonTable(ResultFrame):
    """A DataFrame shown in lme4's ``anova`` layout, with ``notes`` (refits, bootstrap
    failures) under the table; the values are the exact numbers (see :class:`ResultFrame`)."""

    display_digits = 5
    display_anova = True


def chibar_pvalue(x: float, df: int) -> float:
    """½P(χ²_(df-1) > x) + ½P(χ²_df > x); χ²_0 is a point mass at 0."""
    low = float(x <= 0) if df - 1 == 0 else stats.chi2.sf(x, df - 1)
    return 0.5 * float(low) + 0.5 * float(stats.chi2.sf(x, df))


def chibar_critical(df: int, alpha: float = 0.05) -> float:
    """Critical value of the 50:50 mixture of χ²_(df-1) and χ²_df (2.71 for df = 1)."""
    from scipy.optimize import brentq

    return float(brentq(lambda x: chibar_pvalue(x, df) - alpha, 1e-9, 200.0))


def _check(results: tuple, refit: bool) -> None:
    if len(results) < 2:
        raise ValueError("compare() needs at least two fitted models.")
    from .pooling import PooledResult

    if any(isinstance(r, PooledResult) for r in results):
        raise TypeError("compare() takes fits to one data set; compare models pooled over "
                        "imputations with mlm.test_models(model, null_model, method='D1').")
    for k, r in enumerate(results, start=1):
        check_result(r, f"model {k} of compare()")
    first = results[0]
    _check_families(results)
    for k, r in enumerate(results[1:], start=2):
        if r.spec.response != first.spec.response:
            raise ValueError(
                f"model {k} has response '{r.spec.response}' but model 1 has "
                f"'{first.spec.response}'; "
                "only models of the same response can be compared."
            )
        if r.nobs != first.nobs or not r.design.row_index.equals(first.design.row_index):
            raise ValueError(
                f"model {k} was fitted to different rows than model 1 ({r.nobs} vs {first.nobs} "
                "observations, usually from missing values in different columns); "
                "drop the incomplete rows from the data and refit both."
            )
    if not refit:
        remls = {r.reml for r in results}
        if len(remls) > 1:
            raise ValueError("with refit=False all models must be REML or all ML fits.")
        fixed = {tuple(r.fixef.index) for r in results}
        if True in remls and len(fixed) > 1:
            raise ValueError(
                "REML criteria of models with different fixed effects are not comparable; "
                "use refit=True (refits with ML) or fit with reml=False."
            )


def _check_families(results: tuple) -> None:
    """LMMs with LMMs; GLMMs with GLMMs of one approximation (nAGQ changes the constants)."""
    kinds = {bool(getattr(r, "is_glmm", False)) for r in results}
    if len(kinds) > 1:
        raise ValueError(
            "compare() cannot mix linear mixed models with GLMMs: their likelihoods are of "
            "different distributions of the response."
        )
    if True in kinds and len({r.nagq for r in results}) > 1:
        raise ValueError(
            "GLMMs fitted with different nagq are not comparable (glmer's nAGQ > 1 "
            "log-likelihood leaves out a constant); refit them with the same nagq."
        )


def _mixture_applies(small: Any, large: Any) -> bool:
    return same_fixed_effects(small, large) and added_variances(small, large) == 1


def _bootstrap(
    small: Any,
    large: Any,
    observed: float,
    nsim: int,
    rng: np.random.Generator,
    progress: bool | None,
) -> tuple[float, int]:
    """Parametric bootstrap LRT p-value and the number of failed replicates.

    Each replicate is simulated in the user's units and refitted in each model's own
    engine units; the criteria are mapped back (constants per model) before differencing.
    """
    if getattr(small, "is_glmm", False):
        from .glmm.bootstrap import bootstrap_lrt

        return bootstrap_lrt(small, large, observed, nsim, rng, progress)
    up_s = ResponseUpdater(small.engine_design, small.engine.cp)
    up_l = ResponseUpdater(large.engine_design, large.engine.cp)
    ys = simulate_responses(small, nsim, rng)
    stats_, failed = [], 0
    n = small.nobs
    with Progress(nsim, "bootstrap LRT", progress, unit="replicates") as bar, \
            single_blas_thread():
        for y in ys:
            cs, cl = small.conditioning, large.conditioning
            f0 = quick_refit(up_s.objective(cs.response(y, small.design.X), small.reml),
                             small.engine_theta)
            f1 = quick_refit(up_l.objective(cl.response(y, large.design.X), large.reml),
                             large.engine_theta)
            if f0.converged and f1.converged:
                d0 = cs.criterion(f0.objective, small.reml, n)
                d1 = cl.criterion(f1.objective, large.reml, n)
                stats_.append(max(d0 - d1, 0.0))
            else:
                failed += 1
            bar.update()
    arr = np.array(stats_)
    if arr.size == 0:
        return float("nan"), failed
    return float((1 + np.sum(arr >= observed - 1e-10)) / (1 + arr.size)), failed


def compare(
    *results: Any, refit: bool = True, nsim: int = 0, seed: Any = None,
    progress: bool | None = None, cv: bool | dict = False,
) -> ComparisonTable:
    """Likelihood-ratio tests of nested mixed models (lme4's ``anova(m0, m1, ...)``).

    Parameters
    ----------
    *results : MixedModelResult
        Two or more fits of the same response on the same rows, nested in order of npar.
    refit : bool, default True
        Refit REML fits with ML first (as lme4).  With ``refit=False`` REML fits can only be
        compared when their fixed effects are identical.
    nsim : int, default 0
        Parametric-bootstrap replicates for ``p_boot`` (0: none).
    seed : int or numpy Generator, optional
    progress : bool, optional
        Show a progress bar (default: when interactive).
    cv : bool or dict, default False
        Add ``elpd_cv``, the leave-one-cluster-out elpd of :func:`mlm.cross_validate` of the
        models as passed (REML or ML as fitted; higher is better); a dict is passed on to
        it, e.g. ``cv={"group": "Block"}`` or ``cv={"folds": 10, "seed": 1}``.

    Returns
    -------
    ComparisonTable
        A DataFrame (index: formulas) with ``npar, aic, bic, loglik, deviance, chisq, df, p,
        p_mixture[, p_boot][, elpd_cv]`` and a ``notes`` list.
    """
    check_flag("refit", refit)
    nsim = check_count("nsim", nsim)
    check_seed("seed", seed)
    check_flag("progress", progress, allow_none=True)
    _check(results, refit)
    notes: list[str] = []
    models = list(results)
    if refit and any(r.reml for r in models):
        models = [r.refit(reml=False) if r.reml else r for r in models]
        notes.append("REML fits were refitted with ML (refit=True) before comparing, as lme4 does.")
    order = sorted(range(len(models)), key=lambda i: models[i].npar)
    models = [models[i] for i in order]
    for a, b in zip(models, models[1:], strict=False):
        problem = nesting_problem(a, b)
        if problem:
            raise ValueError(
                f"'{a.formula}' is not nested in '{b.formula}': {problem}. A likelihood-ratio "
                "test needs the smaller model to be the larger one with some parameters fixed."
            )
    rng = np.random.default_rng(seed)
    rows, n_failed = [], 0
    for k, m in enumerate(models):
        row = {
            "npar": m.npar,
            "aic": m.aic,
            "bic": m.bic,
            "loglik": m.loglik,
            "deviance": m.objective,
            "chisq": np.nan,
            "df": np.nan,
            "p": np.nan,
            "p_mixture": np.nan,
        }
        if nsim:
            row["p_boot"] = np.nan
        if k:
            prev = models[k - 1]
            chisq = max(prev.objective - m.objective, 0.0)
            df = m.npar - prev.npar
            row.update(chisq=chisq, df=df, p=stats.chi2.sf(chisq, df) if df > 0 else np.nan)
            if df > 0 and _mixture_applies(prev, m):
                row["p_mixture"] = chibar_pvalue(chisq, df)
            elif added_variances(prev, m) > 1:
                notes.append(
                    f"row {k + 1}: {added_variances(prev, m)} random-effect variances are added "
                    "at once; their null distribution is not a 50:50 mixture, so p_mixture is "
                    "not given (use nsim for a bootstrap p-value)."
                )
            if nsim:
                row["p_boot"], failed = _bootstrap(prev, m, chisq, nsim, rng, progress)
                n_failed += failed
                if failed:
                    notes.append(
                        f"row {k + 1}: {failed} of {nsim} bootstrap refits failed and were "
                        "left out of p_boot."
                    )
        rows.append(row)
    if any(not np.isnan(r["p_mixture"]) for r in rows):
        notes.append(
            "p_mixture: 50:50 mixture of chi-square(df-1) and chi-square(df) for one added "
            "random-effect variance on the boundary (Stram & Lee 1994)."
        )
    if cv:
        from .crossval import cross_validate

        scores = cross_validate(*results, **(cv if isinstance(cv, dict) else {}))
        for row, i in zip(rows, order, strict=True):
            row["elpd_cv"] = float(scores["elpd"].iloc[i])
        notes.append("elpd_cv: " + scores.notes[0])
    index = pd.Index([m.formula for m in models], name="model")
    if index.has_duplicates:
        index = pd.Index([f"{i + 1}: {m.formula}" for i, m in enumerate(models)], name="model")
    table = ComparisonTable(pd.DataFrame(rows, index=index))
    table["npar"] = table["npar"].astype(int)
    table.notes = notes
    table.attrs.update(refit=refit, nsim=nsim, n_failed=n_failed, notes=list(notes))
    return table
