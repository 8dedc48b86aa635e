"""``fit(formula, data=[df_1, ..., df_m])``: fit every imputed data set, check them, pool.

Any imputer's output works, as long as it is m completed copies of one data frame: same
columns, same rows in the same order, only the imputed cells differ.  Multilevel data need
an imputation model that respects the clustering (a single-level imputer shrinks the
between-cluster variance of the imputed variable and biases its random effects), e.g.

- R ``mice`` with the ``2l.pan``, ``2l.norm``, ``2l.pmm`` (miceadds) or ``2l.bin`` methods,
  the cluster as a ``-2`` in the predictor matrix, then
  ``lapply(1:m, function(k) complete(imp, k))`` written to m CSV files, or
  ``complete(imp, "long")`` split by ``.imp``;
- R ``jomo`` / ``mitml::jomoImpute`` (joint multilevel model, also for level-2 variables
  and random slopes) or ``mitml::panImpute``; Blimp (fully Bayesian, interactions and random
  slopes); Mplus ``TYPE = TWOLEVEL`` imputation;
- in Python, few imputers know clusters: ``statsmodels``' MICE and scikit-learn's
  ``IterativeImputer`` are single-level; include the cluster means of the variables (and,
  for a random slope, their products with the cluster dummies) as predictors, or impute in R.

With a long frame (``.imp`` column, as ``complete(imp, "long")``) pass
``[d.drop(columns=[".imp", ".id"]) for _, d in long.groupby(".imp")]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..formula import as_spec
from ..progress import Progress
from .result import PooledResult, pool


def _names(items: Sequence[Any]) -> str:
    shown = ", ".join(repr(str(c)) for c in list(items)[:6])
    return shown + (" ..." if len(items) > 6 else "")


def check_imputations(datasets: Sequence[Any]) -> list[pd.DataFrame]:
    """The imputed data sets as a list, after checking they are copies of one frame."""
    frames = list(datasets)
    if not frames:
        raise ValueError("data=[] holds no imputed data sets; pass the m completed data frames.")
    if len(frames) == 1:
        raise ValueError(
            "data is a list of one data frame: pooling needs m >= 2 imputed data sets (with "
            "one there is no between-imputation variance). To fit a single data set pass the "
            "DataFrame itself: mlm.fit(formula, data=df)."
        )
    for k, d in enumerate(frames, start=1):
        if not isinstance(d, pd.DataFrame):
            raise TypeError(f"imputed data set {k} is a {type(d).__name__}, not a pandas "
                            "DataFrame; pass a list of completed data frames.")
    first = frames[0]
    cols = list(first.columns)
    for k, d in enumerate(frames[1:], start=2):
        missing = [c for c in cols if c not in d.columns]
        extra = [c for c in d.columns if c not in set(cols)]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"lacks {_names(missing)}")
            if extra:
                parts.append(f"has {_names(extra)} that data set 1 lacks")
            raise ValueError(
                f"imputed data set {k} has other columns than data set 1: it "
                + " and ".join(parts)
                + ". Every imputed data set must be a completed copy of the same data frame."
            )
        if len(d) != len(first):
            raise ValueError(
                f"imputed data set {k} has {len(d)} rows but data set 1 has {len(first)}: "
                "every imputed data set must hold the same rows (impute values, do not drop "
                "or add rows)."
            )
    return frames


def _check_alignment(frames: list[pd.DataFrame], group_columns: list[str]) -> None:
    """Grouping columns must agree row by row: otherwise the rows are not in the same order."""
    first = frames[0]
    for col in group_columns:
        if col not in first.columns:
            continue  # the design reports the missing column with its own message
        ref = first[col].astype(str).to_numpy()
        for k, d in enumerate(frames[1:], start=2):
            differs = int(np.count_nonzero(d[col].astype(str).to_numpy() != ref))
            if differs:
                raise ValueError(
                    f"imputed data set {k} differs from data set 1 in grouping column '{col}' "
                    f"in {differs} rows: the data sets must hold the same rows in the same "
                    "order, with only imputed values differing (sort them the same way, e.g. "
                    "by an id column)."
                )


def _missing_rows(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    present = [c for c in columns if c in frame.columns]
    return frame[present].isna().any(axis=1).to_numpy() if present else np.zeros(len(frame), bool)


def fit_imputed(formula: Any, datasets: Sequence[Any], reml: bool = True, *,
                start: np.ndarray | None = None, warn: bool = True,
                df_com: float | None = None, progress: bool | None = None) -> PooledResult:
    """Fit ``formula`` to every imputed data set and pool the fits (:func:`.pool`).

    Parameters
    ----------
    formula : str or ModelSpec
    datasets : list of pandas.DataFrame
        The m completed data sets (see the module docstring for multilevel imputers).
    reml : bool, default True
    start : ndarray, optional
        Starting θ for the first fit; later fits start from the previous θ̂.
    warn : bool, default True
        Emit one MixedModelWarning per distinct message, naming the imputations.
    df_com : float, optional
        Complete-data df for Barnard-Rubin (default lme4's ``df.residual``).
    progress : bool, optional
        Progress bar over the m fits; default: shown for large jobs (m·N > 10⁶).

    Returns
    -------
    PooledResult
    """
    import warnings

    from ..fitting import MixedModelWarning, fit

    frames = check_imputations(datasets)
    spec = as_spec(formula)
    group_columns = list(dict.fromkeys(c for t in spec.random for c in t.group_columns))
    _check_alignment(frames, group_columns)
    big = len(frames) * len(frames[0]) > 1_000_000
    fits = []
    theta = start
    with Progress(len(frames), "imputations", progress if progress is not None
                  else (None if big else False)) as bar:
        for d in frames:
            res = fit(spec, d, reml=reml, start=theta, warn=False)
            theta = res.theta
            fits.append(res)
            bar.update()
    variables = list(fits[0].design.variables)
    masks = [_missing_rows(d, variables) for d in frames]
    for k, mask in enumerate(masks[1:], start=2):
        if not np.array_equal(mask, masks[0]):
            cols = [c for c in variables if c in frames[k - 1].columns
                    and frames[k - 1][c].isna().to_numpy().tolist() != frames[0][c].isna()
                    .to_numpy().tolist()]
            raise ValueError(
                f"imputed data set {k} has missing values in other rows than data set 1 (in "
                f"{_names(cols)}): each data set must be completed, or miss exactly the same "
                "rows; pass the completed data sets (every imputed variable filled in)."
            )
    result = pool(fits, df_com=df_com)
    if warn:
        for message in result.messages:
            warnings.warn(message, MixedModelWarning, stacklevel=3)
    return result
