"""Tables the API returns display readably by themselves, with their values untouched.

``mlm.compare`` is checked cell by cell against lme4's printed ``anova`` (made by
``display_reference/anova.R``); the other tables against R's formatting rules, and a
property test checks that every displayed number reads back as the value it shows.
"""

from __future__ import annotations

import math
import re
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import reference_data
from hypothesis import given
from hypothesis import strategies as st

import mlm_jupyter as mlm
from mlm_jupyter.display.frame_format import format_column, frame_html, frame_text
from mlm_jupyter.frames import DisplayText, ResultFrame, ResultSeries

TEXTS = Path(__file__).parent / "display_reference"
ANOVA_CASES = {
    "anova_hsb_slope": ("hsb", ["mathach ~ cses + (1 | school)",
                                "mathach ~ cses + (1 + cses | school)"]),
    "anova_hsb_three": ("hsb", ["mathach ~ 1 + (1 | school)",
                                "mathach ~ cses + (1 + cses | school)",
                                "mathach ~ cses * catholic + meanses + (1 + cses | school)"]),
    "anova_sleep": ("sleepstudy", ["Reaction ~ Days + (1 | Subject)",
                                   "Reaction ~ Days + (Days | Subject)"]),
}


@cache
def _fit(formula: str, dataset: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mlm.fit(formula, reference_data(dataset))


@cache
def _hsb_model():
    return _fit("mathach ~ cses * catholic + meanses + (1 + cses | school)", "hsb")


def _r_rows(case: str) -> list[list[str]]:
    """lme4's printed anova rows (npar ... Pr(>Chisq)), significance stars dropped."""
    rows = []
    for line in (TEXTS / f"{case}.txt").read_text().splitlines():
        if re.match(r"MODEL\d+ ", line):
            cells = re.sub(r"< 2\.2e-16", "<2.2e-16", line).split()[1:]
            rows.append([c for c in cells if not re.fullmatch(r"[*.]+", c)])
    return rows


@pytest.mark.parametrize("case", list(ANOVA_CASES))
def test_compare_prints_lme4s_anova_cells(case):
    dataset, formulas = ANOVA_CASES[case]
    table = mlm.compare(*[_fit(f, dataset) for f in formulas])
    lines = repr(table).splitlines()
    # columns are separated by at least two spaces; the formula labels hold single spaces
    ours = [re.split(r"\s{2,}", line.replace("< 2.2e-16", "<2.2e-16").strip())[1:]
            for line in lines[1:1 + len(formulas)]]
    for row, theirs in zip(ours, _r_rows(case), strict=True):
        # ours has p_mixture after lme4's Pr(>Chisq) where the mixture applies
        assert row[: len(theirs)] == theirs, (row, theirs)
    assert "e+0" not in repr(table) and len(lines) == 1 + len(formulas) + len(table.notes)


def test_compare_values_and_pandas_api_are_untouched():
    m0, m1 = (_fit(f, "sleepstudy") for f in ANOVA_CASES["anova_sleep"][1])
    table = mlm.compare(m0, m1)
    assert isinstance(table, pd.DataFrame) and isinstance(table, ResultFrame)
    plain = pd.DataFrame(table)
    assert type(plain) is pd.DataFrame
    assert plain["deviance"].iloc[1] == m1.refit(reml=False).objective
    np.testing.assert_allclose(plain["chisq"].iloc[1], 42.139, atol=5e-4)  # lme4's Chisq
    sub = table[["chisq", "p"]].sort_values("chisq")
    assert isinstance(sub, ResultFrame) and sub.notes == table.notes
    html = table._repr_html_()
    for text in ("1763.9", "42.139", "7.072e-10", "mlmj-table", table.notes[0]):
        assert text in html
    assert "e+03" not in html and "NaN" not in html


def test_every_table_of_the_api_displays_readably():
    res = _hsb_model()
    tables = {
        "coef_table": res.coef_table,
        "coefficients": res.coefficients("residual"),
        "confint": res.confint(),
        "contrast rows": res.contrast(["cses", "meanses - cses"]),
        "random_slope_ranges": res.random_slope_ranges(),
        "simple_slopes": res.simple_slopes("cses", at={"catholic": [0, 1]}),
        "johnson_neyman": res.johnson_neyman("cses", "catholic"),
        "marginal_variance": res.marginal_variance([-1.0, 0.0, 1.0]),
        "reliability": res.reliability(),
        "influence": res.influence("school"),
        "varcorr": res.varcorr,
    }
    for name, table in tables.items():
        if isinstance(table, pd.Series):
            assert isinstance(table, ResultSeries), name
            continue
        assert isinstance(table, ResultFrame), name
        text = repr(table)
        shown = min(len(table), pd.get_option("display.max_rows"))
        assert len(text.splitlines()) >= 1 + min(shown, 10), name  # one line per row
        assert "e+0" not in text and "NaN" not in text, (name, text)
        assert table._repr_html_().count("<tr>") >= 1 + min(shown, 10), name
    series = {"contrast": res.contrast("cses + cses:catholic"), "icc": res.icc(), "r2": res.r2()}
    for name, values in series.items():
        assert isinstance(values, ResultSeries), name
        assert "e+0" not in repr(values) and "<table" in values._repr_html_(), name
    line = dict(row.split() for row in repr(series["contrast"]).splitlines()[:7])
    assert line["p"] == "7.31e-14" and line["df"] == "160.5"  # R: format.pval, 4 digits


def test_summary_is_a_str_that_displays_as_text():
    res = _hsb_model()
    text = res.summary()
    assert isinstance(text, str) and isinstance(text, DisplayText)
    assert repr(text) == str(text) and "\\n" not in repr(text)
    assert text.splitlines()[0].startswith("Linear mixed model fit by REML")
    from IPython.lib.pretty import pretty

    assert pretty(text) == str(text)
    assert pretty(res) == str(text)  # IPython's text display of the result is the summary
    assert text + "" == str(text) and type(text + "") is str


def test_long_tables_are_cut_like_pandas_and_never_wrapped():
    res = _hsb_model()
    table = res.influence("school")
    with pd.option_context("display.max_rows", 20, "display.min_rows", 6):
        lines = repr(table).splitlines()
    assert len(lines) == 1 + 6 + 1 + 1  # header, 3 + 3 rows, "...", the size line
    assert lines[-1] == "[160 rows x 12 columns]" and lines[4].startswith("...")
    # one line per row: every column name on the header line, the columns never wrapped
    assert all(str(c) in lines[0] for c in table.columns)


def test_html_escapes_labels_and_text():
    frame = pd.DataFrame({"<b>x</b>": [1.5, 2.25], "text": ["a & b", "<i>"]},
                         index=pd.Index(["<r1>", "r2"], name="<idx>"))
    html = frame_html(frame, ["note <script>"])
    for raw in ("<b>x</b>", "<i>", "<r1>", "<script>", "<idx>"):
        assert raw not in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "a &amp; b" in html
    assert "note &lt;script&gt;" in html


def test_missing_values_are_blank_and_integers_stay_integers():
    frame = pd.DataFrame({"n": [3, 40], "p": [np.nan, 1e-20], "est": [np.nan, 2.5]})
    text = frame_text(frame)
    assert text.splitlines()[1].split() == ["0", "3"]
    assert text.splitlines()[2].split() == ["1", "40", "<2e-16", "2.5"]


FLOATS = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).filter(
    lambda v: v == 0 or abs(v) > 1e-9)


def _zap_error(largest: float, digits: int) -> float:
    """Largest absolute change of R's zapsmall(x, digits) for a column whose max is largest."""
    if largest == 0:
        return 0.0
    decimals = max(0, math.floor(digits - math.log10(largest) + 0.5))
    return 0.5 * 10.0 ** -decimals


@given(values=st.lists(FLOATS, min_size=1, max_size=8),
       name=st.sampled_from(["estimate", "t", "chisq", "aic", "df"]),
       digits=st.sampled_from([4, 5]), anova=st.booleans())
def test_displayed_numbers_read_back_as_the_values(values, name, digits, anova):
    """Every cell parses to its value within what the rules allow: ``digits`` significant
    digits, after rounding test statistics to digits - 1 decimals or zapping values that are
    tiny next to the column's largest (digits for anova tables, digits + 3 elsewhere)."""
    shown = format_column(name, pd.Series(values, dtype=float), digits, anova)
    largest = max(abs(v) for v in values)
    if name in ("t", "chisq"):
        before = 0.5 * 10.0 ** -(digits - 1)
    else:
        before = _zap_error(largest, digits if anova and name != "df" else digits + 3)
    for value, cell in zip(values, shown, strict=True):
        bound = 1.01 * (before + 0.5 * 10.0 ** (1 - digits) * (abs(value) + before))
        assert abs(float(cell) - value) <= bound + 1e-300, (values, shown)


@given(st.lists(st.floats(min_value=0, max_value=1), min_size=1, max_size=8))
def test_pvalues_read_back(values):
    shown = format_column("p_mixture", pd.Series(values), 4)
    for value, cell in zip(values, shown, strict=True):
        if cell.startswith("<"):
            assert value < 2.3e-16
        else:
            assert math.isclose(float(cell), value, rel_tol=5e-3, abs_tol=1e-300)
