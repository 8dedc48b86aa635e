"""Text and HTML displays against lme4's own ``print(summary(m))`` output.

``tests/display_reference/<case>.txt`` holds R's printed summaries (lme4 1.1-31 + lmerTest,
made by ``display_reference/summaries.R``).  Layout and words must match exactly; every number
must match R's printed number within the engine's tolerances (see the reference README), so
formatting (decimals, widths, p-value style, stars, abbreviations) is checked digit by digit
while the last printed digit may differ where the optimum is flat.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import case_ids, fitted_case, reference_case

from mlm_jupyter.display.html import html_table, result_html
from mlm_jupyter.display.rformat import abbreviate, format_pval, format_r
from mlm_jupyter.display.tables import fixed_effects_table, random_effects_table
from mlm_jupyter.display.text import summary_text

TEXTS = Path(__file__).parent / "display_reference"
LME4_SINGULAR = "boundary (singular) fit: see help('isSingular')"
NUMBER = re.compile(r"-?\d+\.?\d*(?:e[-+]\d+)?")
#: Cases whose optimum is flat enough that the printed variances differ from lme4 beyond
#: 1e-3 relative (see the engine tests' own tolerances for these cases).
FLAT = {"hsb_rb": 5e-3, "crossed_slope": 2e-3, "categorical3_school": 2e-3}


def with_reference_tests(case_id: str):
    """Our fit with lmerTest's df and p from the reference (tests formatting, not inference)."""
    ref = reference_case(case_id)
    res = dataclasses.replace(fitted_case(case_id))
    res.__dict__["coef_table"] = pd.DataFrame(
        {"estimate": ref["fixef"], "std_error": ref["se"], "df": ref["satterthwaite_df"],
         "t": ref["t"], "p": ref["p"]},
        index=ref["fixef_names"],
    )
    return res


def _r_lines(case_id: str) -> list[str]:
    lines = [line.rstrip() for line in (TEXTS / f"{case_id}.txt").read_text().splitlines()]
    # lme4 adds its optimizer's code before the messages; ours has another optimizer
    lines = [line for line in lines if not line.startswith("optimizer (")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _same_line(ours: str, theirs: str, rtol: float, layout: bool = True) -> bool:
    if ours == theirs:
        return True
    if not layout:
        # where our estimate differs in the 4th digit, R's format() may pick other widths
        ours, theirs = " ".join(ours.split()), " ".join(theirs.split())
    # identical words and spacing, numbers within tolerance of R's printed numbers
    if NUMBER.sub("#", ours) != NUMBER.sub("#", theirs):
        return False
    for a, b in zip(NUMBER.findall(ours), NUMBER.findall(theirs), strict=True):
        if layout and len(a) != len(b):  # same number of printed digits
            return False
        x, y = float(a), float(b)
        last_digit = 10.0 ** (-len(b.split(".")[1])) if "." in b and "e" not in b else 0.0
        if abs(x - y) > max(rtol * abs(y), 1.01 * last_digit) and not np.isclose(x, y, rtol=rtol):
            return False
    return True


@pytest.mark.parametrize("case_id", case_ids())
def test_summary_text_matches_lme4_print(case_id):
    ref = reference_case(case_id)
    ours = summary_text(with_reference_tests(case_id), data_name=ref["dataset"]).splitlines()
    # lme4's pointer to R's help page is replaced by a message that says what to do
    # (mlm_jupyter.messages; its wording is tested in test_messages.py)
    ours = [LME4_SINGULAR if line.startswith("Singular fit (") else line.rstrip()
            for line in ours]
    theirs = _r_lines(case_id)
    assert len(ours) == len(theirs), "\n".join(ours)
    rtol = FLAT.get(case_id, 1e-3)
    layout = case_id not in FLAT
    bad = [
        (o, t) for o, t in zip(ours, theirs, strict=True) if not _same_line(o, t, rtol, layout)
    ]
    assert not bad, "\n".join(f"ours: {o}\nlme4: {t}" for o, t in bad)


def test_sleepstudy_summary_has_lme4_numbers():
    text = summary_text(with_reference_tests("sleep_slope_reml"), data_name="sleepstudy")
    assert "REML criterion at convergence: 1743.6" in text
    assert re.search(r"Days\s+35\.07\s+5\.922\s+0\.07", text)
    assert re.search(r"Residual\s+654\.9[45]\s+25\.592", text)
    assert "Number of obs: 180, groups:  Subject, 18" in text
    intercept = r"\(Intercept\)\s+251\.405\s+6\.825\s+17\.000\s+36\.838\s+< 2e-16 \*\*\*"
    assert re.search(intercept, text)
    assert "Days -0.138" in text


def test_kenward_roger_title_and_table():
    res = fitted_case("hsb_crosslevel")
    try:
        text = summary_text(res, ddf="kenward-roger")
    except ImportError:
        pytest.skip("mlm_jupyter.inference is not available")
    assert text.splitlines()[0].startswith(
        "Linear mixed model fit by REML. t-tests use Kenward-Roger's method"
    )
    with pytest.raises(ValueError, match="satterthwaite"):
        summary_text(res, ddf="wald")


def test_singular_message_printed_last():
    text = summary_text(fitted_case("singular_slope"))
    last = text.splitlines()[-1]
    assert last.startswith("Singular fit (") and "help(" not in last
    assert "perfectly correlated" in last and "res.advice()" in last


@pytest.mark.parametrize(
    ("values", "digits", "expected"),
    [
        ([612.0946, 35.0716, 654.941], 4, ["612.09", " 35.07", "654.94"]),  # R: format(x, 4)
        ([1764.05, 2451.25], 4, ["1764", "2451"]),
        ([3.26e-06], 3, ["3.26e-06"]),
        ([0.000652], 3, ["0.000652"]),
        ([-0.0], 4, ["0"]),
    ],
)
def test_format_r(values, digits, expected):
    assert format_r(values, digits) == expected


def test_format_pval_like_r():
    # R: format.pval(c(1e-20, 3.26e-06), digits = 3) and format.pval(c(1e-20, 0.0316), 3)
    assert format_pval([1e-20, 3.26e-06]) == ["< 2e-16", "3.26e-06"]
    assert format_pval([1e-20, 0.0316]) == ["<2e-16", "0.0316"]
    assert format_pval([0.949, 0.135]) == ["0.949", "0.135"]


def test_abbreviate_like_r():
    names = ["(Intercept)", "cses", "catholic", "meanses", "cses:catholic"]
    assert abbreviate(names, 6) == ["(Intr)", "cses", "cathlc", "meanss", "css:ct"]
    assert abbreviate(names, 11)[-1] == "cses:cathlc"


def test_tables_expose_numbers_as_pandas():
    res = fitted_case("hsb_crosslevel")
    ref = reference_case("hsb_crosslevel")
    re_frame = random_effects_table(res).frame
    assert list(re_frame.columns[:4]) == ["group", "name", "variance", "std_dev"]
    np.testing.assert_allclose(re_frame["variance"].iloc[0], ref["varcorr"][0]["vcov"], rtol=1e-3)
    np.testing.assert_allclose(re_frame["corr_1"].iloc[1], ref["varcorr"][2]["sdcor"], rtol=1e-3)
    fe = fixed_effects_table(with_reference_tests("hsb_crosslevel")).frame
    np.testing.assert_allclose(fe["estimate"], ref["fixef"], rtol=1e-4)
    assert list(fe["stars"]) == ["***"] * 5


def test_markdown_table():
    md = fixed_effects_table(with_reference_tests("sleep_slope_reml")).to_markdown()
    assert md.splitlines()[0].startswith("|   | Estimate | Std. Error | df |")
    assert "| Days | 10.467 | 1.546 | 17.000 | 6.771 | 3.26e-06 | *** |" in md


# -- HTML ---------------------------------------------------------------------------------
def test_html_warnings_first_for_singular_fit():
    html = result_html(fitted_case("singular_slope"))
    warn = html.find("mlmj-box")
    assert warn != -1 and "Singular fit" in html
    assert warn < html.find("Random effects") < html.find("Fixed effects")
    assert "help(" not in html and "res.all_fit()" in html


def test_html_has_lme4_numbers_and_no_warning_for_regular_fit():
    html = result_html(with_reference_tests("sleep_slope_reml"), data_name="sleepstudy")
    assert 'role="alert"' not in html
    for text in ("612.09", "24.74", "0.07", "251.405", "6.825", "17.000", "&lt; 2e-16", "***",
                 "REML criterion", "sleepstudy"):
        assert text in html, text
    # scoped CSS, theme variables with fallbacks, nothing loaded from the network
    assert "var(--jp-content-font-color1, inherit)" in html
    assert "http" not in html and "<script" not in html


def test_html_escapes_user_text():
    evil = "<img src=x onerror=alert(1)>"
    rng = np.random.default_rng(1)
    g = np.repeat(np.arange(12), 8)
    data = pd.DataFrame({
        "y": rng.normal(size=96) + rng.normal(size=12)[g],
        evil: rng.normal(size=96),
        "g<b>": [f"<i>{k}</i>" for k in g],
    })
    import mlm_jupyter as mlm

    res = mlm.fit(f"y ~ `{evil}` + (1 | `g<b>`)", data)
    html = result_html(res, data_name="<script>x</script>")
    assert "<img" not in html and "<i>" not in html and "<script>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html
    assert data.columns[1] == evil  # the user's frame is untouched


def test_html_table_for_any_frame():
    df = pd.DataFrame({"npar": [3, 5], "p": [np.nan, 1.2e-5], "<b>": ["a", "b"]},
                      index=["m0", "m1 <x>"])
    html = html_table(df, caption="Comparison <1>")
    assert "Comparison &lt;1&gt;" in html and "m1 &lt;x&gt;" in html and "&lt;b&gt;" in html
    assert "1.2e-05" in html and ">3<" in html


def test_html_lists_advice_after_the_tables(hsb):
    pytest.importorskip("mlm_jupyter.advice")
    import mlm_jupyter as mlm

    res = mlm.fit("mathach ~ ses + (1 + ses | school)", hsb, warn=False)
    kinds = [a.kind for a in res.advice()]
    assert "smushed_random_slope" in kinds  # the advisor's verdict for an uncentred slope
    html = result_html(res)
    assert html.find("Fixed effects") < html.find("<h4>Advice</h4>")
    assert "Random slope mixes within- and between-cluster differences" in html
    assert "cwc(ses, school)" in html and "smushed" not in html
