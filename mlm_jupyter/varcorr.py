"""Variance components in lme4's layouts: VarCorr rows, per-group Tau, ranef tables."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .design import Design


def r_make_unique(names: list[str]) -> list[str]:
    """R's ``make.unique``: repeated names get ``.1``, ``.2``, ... (``Subject``, ``Subject.1``)."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        if name in seen:
            seen[name] += 1
            out.append(f"{name}.{seen[name]}")
        else:
            seen[name] = 0
            out.append(name)
    return out


def term_covariances(T: list[np.ndarray], sigma: float) -> list[np.ndarray]:
    """Σ_k = σ² T_k T_k' for every term."""
    return [sigma**2 * (Tk @ Tk.T) for Tk in T]


def varcorr_table(design: Design, covs: list[np.ndarray], sigma: float) -> pd.DataFrame:
    """``as.data.frame(VarCorr(m))``: grp, var1, var2, vcov, sdcor.

    Per term: all variances, then covariances in lme4's order (lower triangle, column by
    column); the residual row last.  ``sdcor`` holds SDs for variances and correlations
    for covariances.
    """
    rows = []
    groups = r_make_unique([t.group for t in design.terms])
    for grp, term, S in zip(groups, design.terms, covs, strict=True):
        sd = np.sqrt(np.diag(S))
        for i, name in enumerate(term.columns):
            rows.append((grp, name, None, S[i, i], sd[i]))
        for j in range(term.q):
            for i in range(j + 1, term.q):
                denom = sd[i] * sd[j]
                corr = S[i, j] / denom if denom > 0 else np.nan
                rows.append((grp, term.columns[j], term.columns[i], S[i, j], corr))
    rows.append(("Residual", None, None, sigma**2, sigma))
    return pd.DataFrame(rows, columns=["group", "var1", "var2", "vcov", "sdcor"])


def ranef_tables(design: Design, values: list[np.ndarray]) -> dict[str, pd.DataFrame]:
    """One levels x terms table per grouping factor; terms of the same factor side by side.

    lme4's ``ranef()`` merges ``(1 | g) + (0 + x | g)`` into one table for ``g``.
    """
    out: dict[str, pd.DataFrame] = {}
    for term, vals in zip(design.terms, values, strict=True):
        frame = pd.DataFrame(
            vals, index=pd.Index(term.levels, name=term.group), columns=list(term.columns)
        )
        if term.group in out:
            left = out[term.group]
            # A name the factor already has (``(1 | g) + (1 | g)``) gets lme4's ".1".
            frame = frame.rename(columns={c: f"{c}.1" for c in frame.columns if c in left})
            out[term.group] = left.join(frame)
        else:
            out[term.group] = frame
    return out


def group_levels(design: Design) -> dict[str, int]:
    """Number of levels of every grouping factor (lme4's ``ngrps``)."""
    out: dict[str, int] = {}
    for term in design.terms:
        out.setdefault(term.group, term.n_levels)
    return out
