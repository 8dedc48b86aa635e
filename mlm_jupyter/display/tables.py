"""One table builder for every display: lme4-formatted cells feeding text, markdown and HTML.

Each builder returns a :class:`Table`: the numbers as a pandas DataFrame (for further work)
and the same numbers as strings formatted exactly as lme4's ``print(summary(m))`` formats
them (R's ``format``/``printCoefmat`` rules, see :mod:`.rformat`).  The text summary prints
the strings R's way; the HTML renderer puts the very same strings into ``<table>`` cells, so
the notebook and the terminal never disagree.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..messages import MixedModelWarning
from .rformat import (
    STARS_LEGEND,
    abbreviate,
    format_pval,
    format_r,
    print_matrix,
    round_r,
    signif_stars,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..results import MixedModelResult

#: lme4 prints summaries with ``digits = max(3, getOption("digits") - 3)`` = 4.
DIGITS = 4
DDF_NAMES = {"satterthwaite": "Satterthwaite", "kenward-roger": "Kenward-Roger"}


@dataclass(frozen=True)
class Table:
    """A display table: formatted cells plus the numbers behind them.

    Attributes
    ----------
    columns : tuple of str
        Column headers (the row-label column excluded).
    row_labels : tuple of str
        Row labels ("" where lme4 prints none).
    cells : tuple of tuple of str
        Formatted cells, rows x columns.
    right : bool
        Whether R right-justifies the cells (fixed effects) or left-justifies them
        (random effects).
    frame : pandas.DataFrame
        The numbers, for further work.
    notes : tuple of str
        Lines printed under the table (the significance legend).
    """

    columns: tuple[str, ...]
    row_labels: tuple[str, ...]
    cells: tuple[tuple[str, ...], ...]
    right: bool
    frame: pd.DataFrame = field(repr=False)
    notes: tuple[str, ...] = ()
    numeric: tuple[bool, ...] = ()

    def to_text(self) -> str:
        """R's ``print`` layout."""
        lines = print_matrix(self.cells, self.columns, self.row_labels, self.right)
        if self.notes:
            lines += ["---", *self.notes]
        return "\n".join(lines)

    def to_markdown(self) -> str:
        """A GitHub-style markdown table with the same strings."""

        def cell(text: str) -> str:
            return text.strip().replace("|", "\\|") or " "

        head = "| " + " | ".join([" "] + [cell(c) for c in self.columns]) + " |"
        rule = "|---|" + "|".join("---:" if n else "---" for n in self._numeric()) + "|"
        rows = [
            "| " + " | ".join([cell(label)] + [cell(c) for c in row]) + " |"
            for label, row in zip(self.row_labels, self.cells, strict=False)
        ]
        return "\n".join([head, rule, *rows, *(f"\n{n}" for n in self.notes)])

    def _numeric(self) -> tuple[bool, ...]:
        return self.numeric or tuple(self.right for _ in self.columns)


# -- random effects -------------------------------------------------------------------------
def _blocks(res: MixedModelResult) -> list[tuple[str, list[str], np.ndarray, np.ndarray | None]]:
    """(group, term names, SDs, correlation matrix or None) per VarCorr block, lme4's order."""
    vc = res.varcorr
    var2 = vc["var2"].where(vc["var2"].notna(), "").astype(str)
    blocks: list[tuple[str, list[str], list[float]]] = []
    corr: dict[tuple[str, str, str], float] = {}
    for group, var1, v2, sdcor in zip(vc["group"], vc["var1"], var2, vc["sdcor"], strict=False):
        if group == "Residual":
            continue
        if v2:
            corr[(group, str(var1), v2)] = float(sdcor)
            continue
        if not blocks or blocks[-1][0] != group:
            blocks.append((group, [], []))
        blocks[-1][1].append(str(var1))
        blocks[-1][2].append(float(sdcor))
    out = []
    for group, names, sds in blocks:
        q = len(names)
        mat = None
        if q > 1:
            mat = np.eye(q)
            for i in range(q):
                for j in range(i):
                    r = corr.get(
                        (group, names[j], names[i]), corr.get((group, names[i], names[j]), 0.0)
                    )
                    mat[i, j] = mat[j, i] = r
        out.append((group, names, np.array(sds), mat))
    return out


def random_effects_table(res: MixedModelResult) -> Table:
    """lme4's ``Random effects:`` block (``formatVC``): Groups, Name, Variance, Std.Dev., Corr.

    The variance components are the diagonal of each T (τ₀₀, τ₁₁, ...) and σ²; correlations
    are ρ = τ₀₁ / √(τ₀₀ τ₁₁), printed in the lower triangle as lme4 does.
    """
    blocks = _blocks(res)
    groups, names, sds = [], [], []
    for group, terms, sd, _ in blocks:
        groups += [group] + [""] * (len(terms) - 1)
        names += terms
        sds += list(sd)
    if not getattr(res, "is_glmm", False):  # a GLMM has no residual variance (glmer)
        groups.append("Residual")
        names.append("")
        sds.append(res.sigma)
    variances = [s * s for s in sds]
    var_txt = format_r(variances, DIGITS)
    sd_txt = format_r(sds, DIGITS)
    maxlen = max((len(t) for _, t, _, _ in blocks), default=1)
    ncorr = maxlen - 1
    corr_rows: list[list[str]] = []
    corr_num: list[list[float]] = []
    for _, terms, _, mat in blocks:
        q = len(terms)
        if mat is None:
            corr_rows += [[""] * ncorr for _ in range(q)]
            corr_num += [[math.nan] * ncorr for _ in range(q)]
            continue
        dig = max(2, DIGITS - 2)
        flat = format_r(round_r(mat.ravel().tolist(), dig), 7, nsmall=dig)
        for i in range(q):
            corr_rows.append([flat[i * q + j] if j < i else "" for j in range(ncorr)])
            corr_num.append([float(mat[i, j]) if j < i else math.nan for j in range(ncorr)])
    if not getattr(res, "is_glmm", False):
        corr_rows.append([""] * ncorr)
        corr_num.append([math.nan] * ncorr)
    columns = ("Groups", "Name", "Variance", "Std.Dev.") + (
        ("Corr",) + ("",) * (ncorr - 1) if ncorr > 0 else ()
    )
    cells = tuple(
        (g, n, v, s, *c)
        for g, n, v, s, c in zip(groups, names, var_txt, sd_txt, corr_rows, strict=True)
    )
    group_filled = pd.Series(groups).replace("", np.nan).ffill().tolist()
    frame = pd.DataFrame(
        {"group": group_filled, "name": names, "variance": variances, "std_dev": sds}
    )
    for k in range(ncorr):
        frame[f"corr_{k + 1}"] = [row[k] for row in corr_num]
    return Table(
        columns=columns,
        row_labels=("",) * len(cells),
        cells=cells,
        right=False,
        frame=frame,
        numeric=(False, False, True, True) + (True,) * ncorr,
    )


# -- fixed effects --------------------------------------------------------------------------
def coefficient_frame(
    res: MixedModelResult, ddf: str = "satterthwaite"
) -> tuple[pd.DataFrame, bool]:
    """(estimate, std_error[, df], t[, p]) and whether df/p are available.

    The df/p columns come from :mod:`mlm_jupyter.inference`; without it the table is lme4's
    own (estimates, SEs and t = γ / SE only), which is still correct.
    """
    if getattr(res, "is_glmm", False):  # Wald z tests (glmer): no df column
        return res.coef_table.loc[:, ["estimate", "std_error", "z", "p"]], True
    try:
        with warnings.catch_warnings():
            # the displays show these in words at the top (display_messages), not on stderr
            warnings.simplefilter("ignore", MixedModelWarning)
            table = res.coef_table if ddf == "satterthwaite" else res.coefficients(ddf)
        return pd.DataFrame(table.loc[:, ["estimate", "std_error", "df", "t", "p"]]), True
    except ImportError:
        se = np.sqrt(np.diag(res.vcov.to_numpy()))
        table = pd.DataFrame(
            {"estimate": res.fixef.to_numpy(), "std_error": se, "t": res.fixef.to_numpy() / se},
            index=res.fixef.index,
        )
        return table, False


def fixed_effects_table(res: MixedModelResult, ddf: str = "satterthwaite") -> Table:
    """lme4/lmerTest's ``Fixed effects:`` block, formatted by R's ``printCoefmat`` rules.

    Estimates γ, standard errors √diag(σ² (RX'RX)⁻¹), denominator df (Satterthwaite or
    Kenward-Roger), t = γ / SE and two-sided p = 2 P(T_df > |t|), with significance marks.
    """
    frame, has_p = coefficient_frame(res, ddf)
    frame = frame.copy()
    xm = frame.to_numpy(dtype=float)
    nc = xm.shape[1]
    has_df = "df" in frame.columns
    cs = list(range(3 if has_df else 2))  # printCoefmat's cs.ind: estimate, SE (and df)
    tst = cs[-1] + 1
    cols: list[list[str]] = [[""] * len(frame) for _ in range(nc)]
    acs = np.abs(xm[:, cs])
    nz = acs[np.isfinite(acs) & (acs != 0)]
    digmin = 1 + (np.floor(np.log10([nz.min(), nz.max()])) if nz.size else np.zeros(2))
    decimals = int(max(1, max(DIGITS - digmin)))
    block = format_r(round_r(xm[:, cs].T.ravel().tolist(), decimals), DIGITS)
    n = len(frame)
    for k, j in enumerate(cs):
        cols[j] = block[k * n : (k + 1) * n]
    dig_tst = max(1, min(5, DIGITS - 1))
    cols[tst] = format_r(round_r(xm[:, tst].tolist(), dig_tst), DIGITS)
    # printCoefmat: a non-zero number shown as 0 is reformatted with one digit less
    for j in cs:
        for i in range(n):
            if xm[i, j] != 0 and float(cols[j][i]) == 0:
                cols[j][i] = format_r([xm[i, j]], max(1, DIGITS - 1))[0]
    headers = ["Estimate", "Std. Error", "t value"]
    notes: tuple[str, ...] = ()
    numeric = [True] * nc
    if has_p and not has_df:
        headers = ["Estimate", "Std. Error", "z value", "Pr(>|z|)"]
    elif has_p:
        headers = ["Estimate", "Std. Error", "df", "t value", "Pr(>|t|)"]
    if has_p:
        cols[-1] = format_pval(xm[:, -1].tolist(), dig_tst)
        pvals = xm[:, -1]
        if np.any(pvals[np.isfinite(pvals)] < 0.1):
            stars = [signif_stars(p) for p in pvals]
            width = max(len(s) for s in stars)
            cols.append([s.ljust(width) for s in stars])
            headers.append("")
            numeric.append(False)
            notes = (STARS_LEGEND,)
        frame["stars"] = [signif_stars(p).strip() for p in pvals]
    cells = tuple(tuple(c[i] for c in cols) for i in range(n))
    return Table(
        columns=tuple(headers),
        row_labels=tuple(str(i) for i in frame.index),
        cells=cells,
        right=True,
        frame=frame,
        notes=notes,
        numeric=tuple(numeric),
    )


def fixed_correlation_table(res: MixedModelResult) -> Table | None:
    """lme4's ``Correlation of Fixed Effects:`` (lower triangle, abbreviated names), p > 1."""
    names = [str(n) for n in res.fixef.index]
    p = len(names)
    if p < 2:
        return None
    cov = res.vcov.to_numpy()
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd)
    # R formats the column-major vector of the whole matrix in one go
    flat = format_r(round_r(corr.T.ravel().tolist(), 3), 7, nsmall=3)
    rows_ab = abbreviate(names, 11)
    cols_ab = abbreviate(names, 6)
    cells = tuple(
        tuple(flat[j * p + i] if j < i else "" for j in range(p - 1)) for i in range(1, p)
    )
    return Table(
        columns=tuple(cols_ab[:-1]),
        row_labels=tuple(rows_ab[1:]),
        cells=cells,
        right=False,
        frame=pd.DataFrame(corr, index=names, columns=names),
    )


# -- fit statistics -------------------------------------------------------------------------
def fit_statistics_table(res: MixedModelResult) -> Table:
    """REML criterion (REML) or AIC, BIC, logLik, deviance, df.resid (ML), as lme4 prints them."""
    if res.reml:
        values = {"REML criterion": res.objective}
    else:
        values = {
            "AIC": res.aic,
            "BIC": res.bic,
            "logLik": res.loglik,
            "deviance": res.objective,
            "df.resid": float(res.nobs - res.npar),
        }
    names = list(values)
    shown = format_r(round_r(list(values.values()), 1), 7)
    if "df.resid" in values:
        shown[-1] = format_r([values["df.resid"]], 7)[0]
    extra = {"Number of obs": float(res.nobs)}
    for group, n in res.ngroups.items():
        extra[f"Groups ({group})"] = float(n)
    names += list(extra)
    shown += [str(int(v)) for v in extra.values()]
    frame = pd.DataFrame({"value": list(values.values()) + list(extra.values())}, index=names)
    return Table(
        columns=("value",),
        row_labels=tuple(names),
        cells=tuple((s.strip(),) for s in shown),
        right=True,
        frame=frame,
    )


def display_messages(res: MixedModelResult, ddf: str = "satterthwaite") -> list[str]:
    """The fit's messages plus those of the t tests shown (df resting on a bad Hessian)."""
    out = list(res.messages)
    if not res.converged and not any(m.startswith("Convergence") for m in out):
        from ..messages import not_converged

        out.append(not_converged(res.optimization))
    if ddf == "satterthwaite":
        try:
            from ..inference.satterthwaite import hessian_message

            extra = hessian_message(res)
        except Exception:  # no df parts for this model: the table says so itself
            extra = ""
        if extra:
            out.append(extra)
    return out


def ddf_label(ddf: str) -> str:
    """lmerTest's name of a df method (for the title line)."""
    key = ddf.lower().replace("_", "-")
    if key not in DDF_NAMES:
        raise ValueError(f"Unknown ddf {ddf!r}; use 'satterthwaite' or 'kenward-roger'.")
    return DDF_NAMES[key]
