"""lmerTest's ``anova(m)``: an F test for every fixed-effect term of a linear mixed model.

For each term the joint test of L β = 0 (:func:`~mlm_jupyter.inference.contrasts.f_test_parts`,
lmerTest's ``contestMD``) with the term's Type I, II or III hypothesis matrix
(:mod:`~mlm_jupyter.inference.anova_hypotheses`) and Satterthwaite's or Kenward-Roger's
denominator df.  Columns as lmerTest prints them: ``Sum Sq = Mean Sq × NumDF``,
``Mean Sq = F σ²`` (for Kenward-Roger the F before its scaling), ``NumDF``, ``DenDF``,
``F value``, ``Pr(>F)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .anova_hypotheses import term_hypotheses
from .contrasts import _check_ddf, f_test_parts

__all__ = ["anova_table"]

_TYPES = {"1": 1, "i": 1, "2": 2, "ii": 2, "3": 3, "iii": 3}


def anova_table(res: Any, type: int | str = 3, ddf: str = "satterthwaite") -> pd.DataFrame:
    """F tests of every fixed-effect term, as lmerTest's ``anova(m, type, ddf)``.

    Parameters
    ----------
    res : MixedModelResult
    type : {3, 2, 1} or "III", "II", "I"
        Type III (lmerTest's default: each term adjusted for all others, its hypotheses
        independent of the contrast coding), Type II (adjusted for the terms that do not
        contain it) or Type I (sequential, in formula order).
    ddf : {"satterthwaite", "kenward-roger"}
        Denominator df; Kenward-Roger needs a REML fit.

    Returns
    -------
    DataFrame
        One row per term (R's term labels): ``sum_sq, mean_sq, num_df, den_df, F, p``.
        ``attrs["hypotheses"]`` holds each term's L (DataFrames over the fixed effects).
    """
    kind = _TYPES.get(str(type).strip().lower())
    if kind is None:
        raise ValueError(f"type must be 1, 2 or 3 (or 'I', 'II', 'III'), not {type!r}.")
    method = _check_ddf(ddf)
    if method == "residual":
        raise ValueError("anova() tests with Satterthwaite's or Kenward-Roger's df; "
                         "use ddf='satterthwaite' or 'kenward-roger'.")
    if method == "kenward-roger" and not res.reml:
        raise ValueError("Kenward-Roger's df need a REML fit (as lmerTest); refit with "
                         "reml=True or use ddf='satterthwaite'.")
    hypotheses = term_hypotheses(res, kind)
    sigma2 = float(res.sigma) ** 2
    rows = []
    for label, L in hypotheses.items():
        if L.shape[0] == 0:
            rows.append((label, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan))
            continue
        F, F_unscaled, q, den = f_test_parts(res, L, method)
        mean_sq = F_unscaled * sigma2
        rows.append((label, mean_sq * q, mean_sq, float(q), den, F, stats.f.sf(F, q, den)))
    table = pd.DataFrame(rows, columns=["term", "sum_sq", "mean_sq", "num_df", "den_df", "F",
                                        "p"]).set_index("term")
    table.index.name = None
    names = list(res.fixef.index)
    table.attrs["hypotheses"] = {label: pd.DataFrame(L, columns=names)
                                 for label, L in hypotheses.items()}
    roman = {1: "I", 2: "II", 3: "III"}[kind]
    method_name = "Satterthwaite's" if method == "satterthwaite" else "Kenward-Roger's"
    table.attrs["notes"] = [f"Type {roman} Analysis of Variance Table with {method_name} "
                            "method"]
    return table
