"""``mlm.table``: fitted models side by side for a manuscript (HTML, LaTeX, Markdown, Word)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from . import columns_bayes, columns_glmm, columns_pooled  # noqa: F401 (register builders)
from .build import build_grid
from .columns import ColumnOptions, model_column
from .layout import Grid
from .options import DEFAULT_FIT, RANDOM_ROWS, make_options

FORMATS = ("html", "latex", "markdown", "docx")
_DDF = {"satterthwaite": "satterthwaite", "kenward-roger": "kenward-roger", "kr": "kenward-roger",
        "kenward_roger": "kenward-roger", "residual": "residual"}


class TableText(str):
    """The table's text (HTML, LaTeX or Markdown; the path of a .docx), displayed by Jupyter.

    A ``str`` (write it to a file, paste it, compare it), which notebooks render: HTML as
    the table, Markdown as Markdown, LaTeX and paths as plain text.

    Attributes
    ----------
    format : str
        ``"html"``, ``"latex"``, ``"markdown"`` or ``"docx"``.
    data : pandas.DataFrame
        Every number the table shows at full precision: ``model, section, row, statistic,
        value`` (section ``fixed``, ``random`` or ``fit``).
    grid : Grid
        The format-free layout (to render it in another format: :func:`render`).
    """

    format: str
    data: pd.DataFrame
    grid: Grid

    def __new__(cls, text: str, format: str, data: pd.DataFrame, grid: Grid) -> TableText:
        obj = super().__new__(cls, text)
        obj.format, obj.data, obj.grid = format, data, grid
        return obj

    def _repr_html_(self) -> str | None:
        return str(self) if self.format == "html" else None

    def _repr_markdown_(self) -> str | None:
        return str(self) if self.format == "markdown" else None

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(str(self))


def render(grid: Grid, format: str) -> str:
    """The text of a layout in ``"html"``, ``"latex"`` or ``"markdown"``."""
    if format == "html":
        from .render_html import to_html

        return to_html(grid)
    if format == "latex":
        from .render_latex import to_latex

        return to_latex(grid)
    if format == "markdown":
        from .render_markdown import to_markdown

        return to_markdown(grid)
    raise ValueError(f"format must be one of {FORMATS}, not {format!r}.")


def _models(results: tuple[Any, ...], names: Sequence[str] | None) -> tuple[list, list[str]]:
    """Results and their column names: positional results, lists and {name: result} dicts."""
    models: list[Any] = []
    given: list[str | None] = []
    for item in results:
        if isinstance(item, Mapping):
            for key, value in item.items():
                models.append(value)
                given.append(str(key))
        elif isinstance(item, (list, tuple)):
            models += list(item)
            given += [None] * len(item)
        else:
            models.append(item)
            given.append(None)
    if not models:
        raise ValueError("table() needs at least one fitted model: mlm.table(m0, m1).")
    if names is not None:
        if isinstance(names, str) or len(names) != len(models):
            raise ValueError(
                f"model_names needs one name per model ({len(models)}), got {names!r}."
            )
        given = [str(n) for n in names]
    return models, [g if g is not None else f"Model {k}" for k, g in enumerate(given, start=1)]


def table(
    *results: Any,
    format: str = "html",
    path: str | Path | None = None,
    model_names: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
    terms: Sequence[str] | None = None,
    statistics: Sequence[str] = ("estimate", "ci", "p"),
    std: bool | str | None = None,
    stars: bool | Mapping[str, float] = False,
    digits: int = 2,
    p_digits: int = 3,
    level: float = 0.95,
    ddf: str = "satterthwaite",
    random: Sequence[str] = RANDOM_ROWS,
    fit: Sequence[str] = DEFAULT_FIT,
    layout: str = "wide",
    title: str | None = None,
    notes: str | Sequence[str] | None = None,
    leading_zero: bool = False,
    exponentiate: bool = True,
) -> TableText:
    """Models side by side in one table, APA style: fixed effects, random part and fit.

    Every number is the result's own: estimates, SEs, df and p from ``res.coef_table`` /
    ``res.coefficients(ddf)`` (what ``summary()`` prints), intervals γ ± t_{df}·SE from the
    same t distribution (as ``res.contrast``), σ², τ and ρ from ``res.varcorr``, the ICC
    from ``res.icc()``, R² from ``res.r2()``.  ``table.data`` holds them at full precision.

    Every kind of fit can stand in one table:

    * a GLMM column shows odds / rate / hazard ratios exp(β) with exp of the Wald interval
      and the delta-method SE (``exponentiate=False``: the link scale), glmer's Wald z and
      p, the random part on the latent scale (σ² the distribution-specific variance, as
      sjPlot's tab_model and ``performance``), ICC and R² from ``res.icc()``/``res.r2()``;
    * a Bayesian column shows posterior means, posterior SDs and credible intervals
      (``res.coef_table``; statistics ``"rhat"`` and ``"ess"`` add R-hat and bulk ESS), no
      t, df or p;
    * a pooled column (``mlm.pool``) shows Rubin's rules with Barnard-Rubin df, the averaged
      variance components, and m in the note (statistic ``"fmi"``: fraction of missing
      information).

    Parameters
    ----------
    *results : results of mlm.fit / mlm.pool, lists of them, or dict {name: result}
        The models, left to right (a dict's keys name the columns): linear mixed models,
        GLMMs, Bayesian fits and pooled fits, mixed as needed.
    format : {"html", "latex", "markdown", "docx"}
        HTML displays in notebooks (light and dark themes); LaTeX uses booktabs; Markdown is
        a pipe table; docx writes a Word table to ``path`` (needs python-docx).
    path : str or Path, optional
        Also write the table there (HTML as a standalone page).  Required for docx.
    model_names : list of str, optional
        Column titles (default "Model 1", "Model 2", ... or the dict's keys).
    labels : dict, optional
        Display names of terms and grouping factors, e.g. ``{"cses": "SES (within school)",
        "school": "School"}``; interactions are labelled from their parts (``SES × sector``)
        unless labelled themselves.  Unknown names are an error (typos show).
    terms : list of str, optional
        Fixed effects to show, in this order (default: all; intercept, main effects in order
        of appearance, then interactions).
    statistics : sequence of str
        Per fixed effect, any of ``"estimate", "se", "ci", "t", "df", "p", "std_estimate",
        "std_se", "std_ci"`` (default estimate, CI, p), and ``"rhat", "ess"`` (Bayesian
        columns), ``"fmi"`` (pooled columns); a statistic a column lacks is left empty.
    std : {"refit", "basic"}, True or None
        Add standardised coefficients β (True means "refit"): ``"refit"`` refits on z-scored
        numeric variables, the response included (effectsize's default and sjPlot's
        ``show.std = "std"``); ``"basic"`` multiplies by SD(x)/SD(y).  See
        :mod:`mlm_jupyter.effects.standardize`.
    stars : bool or dict
        Significance marks after estimates; True means ``{"*": .05, "**": .01, "***": .001}``.
    digits, p_digits : int
        Decimals of estimates, SEs, intervals and variance components; of p, ICC and R².
    level : float
        Confidence level of the intervals.
    ddf : {"satterthwaite", "kenward-roger", "residual"}
        Denominator df of the t tests and intervals (Kenward-Roger needs REML fits).
    random : sequence of str
        Rows of the random part: ``"sigma2", "tau", "rho", "icc", "ngroups", "nobs"``.
    fit : sequence of str
        Fit rows: ``"r2", "criterion"`` (REML criterion or deviance), ``"aic", "bic",
        "loglik", "estimation", "ddf"`` (default r2, criterion, aic, estimation, ddf).
    layout : {"wide", "stacked"}
        ``"wide"``: a column per statistic (sjPlot, APA); ``"stacked"``: one column per model
        with the statistics under each estimate (texreg, modelsummary).
    title, notes : str, optional
        Caption above the table; notes added under it.
    leading_zero : bool
        Write 0.05 instead of APA's .05 for p, correlations, ICC and R².
    exponentiate : bool
        GLMM columns as ratios exp(β) (default; logit, log and cloglog links), or on the
        link scale (False).

    Returns
    -------
    TableText
        A ``str`` (the HTML, LaTeX or Markdown; for docx the path written) that notebooks
        display, with ``.data`` (every number) and ``.grid`` (the layout).
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, not {format!r}.")
    if format == "docx" and path is None:
        raise ValueError("format='docx' writes a Word file: pass path='table.docx'.")
    key = str(ddf).lower().replace(" ", "-")
    if key not in _DDF:
        raise ValueError(
            f"ddf must be 'satterthwaite', 'kenward-roger' or 'residual', not {ddf!r}."
        )
    options = make_options(
        statistics=statistics, random=random, fit=fit, labels=labels, terms=terms, stars=stars,
        digits=digits, p_digits=p_digits, level=level, std=std, layout=layout,
        leading_zero=leading_zero, title=title, notes=notes,
    )
    models, names = _models(results, model_names)
    column_options = ColumnOptions(ddf=_DDF[key], level=options.level, std=options.std,
                                   exponentiate=bool(exponentiate))
    columns = []
    for name, res in zip(names, models, strict=True):
        try:
            columns.append(model_column(res, column_options))
        except (TypeError, ValueError) as err:
            raise type(err)(f"{name}: {err}") from err
    grid, data = build_grid(columns, names, options)
    if format == "docx":
        from .render_word import write_docx

        written = write_docx(grid, path)
        return TableText(str(written), "docx", data, grid)
    text = render(grid, format)
    if path is not None:
        content = text
        if format == "html":
            from .render_html import html_page

            content = html_page(text, title)
        Path(path).write_text(content, encoding="utf-8")
    return TableText(text, format, data, grid)
