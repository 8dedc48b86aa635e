"""``res.methods_text()`` of a model pooled over multiple imputations: m, the pooling rules,
the df method, and what the m fits reported (convergence, singular fits)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .methods import REFERENCES, random_part, software


def methods_text_pooled(res: Any, level: float = 0.95, references: bool = False) -> str:
    """A methods paragraph for a pooled result (``PooledResult``).

    Parameters
    ----------
    res : PooledResult
    level : float
        Confidence level of the intervals reported.
    references : bool
        Append the references cited (Rubin, Barnard & Rubin, mitml, lme4).
    """
    first = res.results[0]
    groups = "; ".join(f"{n:,} levels of {g}" for g, n in res.ngroups.items())
    criterion = "restricted maximum likelihood (REML)" if res.reml else "maximum likelihood (ML)"
    df = (f"Barnard and Rubin's (1999) degrees of freedom (complete-data df {res.df_com:,.0f})"
          if np.isfinite(res.df_com) else "Rubin's (1987) large-sample degrees of freedom")
    fmi = res.coef_table["fmi"].to_numpy(float)
    text = [
        f"A linear mixed model (lme4 formula: {res.formula}) with {random_part(first)} was "
        f"fitted by {criterion} to each of m = {res.m} imputed data sets ({res.nobs:,} "
        f"observations and {groups} each), using {software()}.",
        f"The m estimates were pooled by Rubin's (1987) rules: each fixed effect as the mean "
        f"over imputations, with total variance T = W + (1 + 1/m) B (W the mean squared "
        f"standard error, B the variance between imputations), tested by t tests with {df}, "
        f"with {100 * level:g}% intervals from the same t distributions, as mitml's "
        "testEstimates and mice's pool; the variance components were averaged over the "
        "imputations.",
    ]
    if fmi.size and np.isfinite(fmi).all():
        text.append(f"The fraction of missing information ranged from {fmi.min():.2f} to "
                    f"{fmi.max():.2f}.")
    failed = [k for k, r in enumerate(res.results, start=1) if not r.converged]
    singular = [k for k, r in enumerate(res.results, start=1) if r.is_singular]
    text.append("Every fit passed the convergence checks." if not failed else
                f"The convergence checks failed for imputation(s) {', '.join(map(str, failed))}.")
    text.append("No fit is singular." if not singular else
                f"The fits to imputation(s) {', '.join(map(str, singular))} are singular.")
    paragraph = " ".join(text)
    if references:
        paragraph += "\n\nReferences\n" + "\n".join(
            REFERENCES[k] for k in ("rubin", "barnard", "grund", "bates"))
    return paragraph
