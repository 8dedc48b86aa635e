"""mlm.table: every number is the result's own (and R's), rows align, four formats are valid.

R numbers: tests/reference/paper/paper_reference.json, made by make_paper_reference.R
(parameters::model_parameters with Satterthwaite / Kenward-Roger df, performance's ICC and
R², effectsize's standardised coefficients, lmerTest's refit on z-scored data).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import warnings
from functools import cache
from html.parser import HTMLParser

import docx
import numpy as np
import pandas as pd
import pytest
from conftest import REFERENCE, fitted_case, reference_data
from hypothesis import given, settings
from hypothesis import strategies as st

import mlm_jupyter as mlm
from mlm_jupyter.display.paper.columns import ColumnOptions, model_column
from mlm_jupyter.display.paper.fixed_rows import fixed_rows
from mlm_jupyter.display.paper.formatting import fixed, pvalue
from mlm_jupyter.display.paper.render_latex import escape_latex
from mlm_jupyter.display.paper.render_markdown import escape_markdown
from mlm_jupyter.effects.standardize import standardized_coefficients

NASTY = "<b>x</b> & y_1 % $z$ #{a} ~^\\ |*"


@cache
def paper_reference() -> dict:
    return json.loads((REFERENCE / "paper" / "paper_reference.json").read_text())


def entries(t, section: str, statistic: str | None = None) -> pd.DataFrame:
    data = t.data[t.data["section"] == section]
    return data if statistic is None else data[data["statistic"] == statistic]


def value(t, model: str, section: str, row: str, statistic: str = "value"):
    d = t.data
    hit = d[(d.model == model) & (d.section == section) & (d.row == row)
            & (d.statistic == statistic)]
    assert len(hit) == 1, (model, section, row, statistic, hit)
    return hit["value"].iloc[0]


# -- the same numbers as the result's own tables ---------------------------------------------
@pytest.mark.parametrize("ddf", ["satterthwaite", "kenward-roger"])
def test_fixed_effects_are_the_coefficient_table_and_contrast(ddf):
    res = fitted_case("hsb_crosslevel" if ddf == "satterthwaite" else "sleep_slope_reml")
    t = mlm.table(res, format="markdown", statistics=("estimate", "se", "ci", "t", "df", "p"),
                  ddf=ddf, level=0.9)
    coefs = res.coef_table if ddf == "satterthwaite" else res.coefficients(ddf)
    for term in res.fixef.index:
        for stat, column in [("estimate", "estimate"), ("std_error", "std_error"), ("t", "t"),
                             ("df", "df"), ("p", "p")]:
            assert value(t, "Model 1", "fixed", term, stat) == coefs.loc[term, column]
        c = res.contrast(term, level=0.9, ddf=ddf)
        assert value(t, "Model 1", "fixed", term, "lower") == pytest.approx(c["lower"], rel=1e-12)
        assert value(t, "Model 1", "fixed", term, "upper") == pytest.approx(c["upper"], rel=1e-12)
    pd.testing.assert_frame_equal(pd.DataFrame(res.coef_table), pd.DataFrame(res.coefficients()))


def test_random_part_and_fit_are_varcorr_icc_r2_and_attributes():
    res = fitted_case("hsb_crosslevel")
    t = mlm.table(res, format="html", fit=("r2", "criterion", "aic", "bic", "loglik"))
    vc = res.varcorr
    assert value(t, "Model 1", "random", "sigma2") == vc.loc[vc.group == "Residual", "vcov"].item()
    assert value(t, "Model 1", "random", "tau|school|(Intercept)") == vc.vcov[0]
    assert value(t, "Model 1", "random", "tau|school|cses") == vc.vcov[1]
    assert value(t, "Model 1", "random", "rho|school|(Intercept)|cses") == vc.sdcor[2]
    assert value(t, "Model 1", "random", "icc") == res.icc()["adjusted"]
    assert value(t, "Model 1", "random", "ngroups|school") == res.ngroups["school"]
    assert value(t, "Model 1", "random", "nobs") == res.nobs
    assert value(t, "Model 1", "fit", "r2_marginal") == res.r2()["marginal"]
    assert value(t, "Model 1", "fit", "r2_conditional") == res.r2()["conditional"]
    assert value(t, "Model 1", "fit", "reml_criterion") == res.objective
    for key in ("aic", "bic", "loglik"):
        assert value(t, "Model 1", "fit", key) == getattr(res, key)


def _markdown_cells(text: str) -> dict[str, list[str]]:
    rows = {}
    for line in text.splitlines():
        if line.startswith("| ") and not line.startswith("|:"):
            cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
            rows.setdefault(cells[0], cells[1:])
    return rows


def test_cells_show_the_recorded_numbers_rounded():
    res = fitted_case("hsb_crosslevel")
    t = mlm.table(res, format="markdown", statistics=("estimate", "se", "ci", "p"), digits=3)
    rows = _markdown_cells(t)
    coefs = res.coef_table
    for term, label in [("(Intercept)", "Intercept"), ("cses", "cses"),
                        ("cses:catholic", "cses × catholic")]:
        est, se, ci, p = rows[label]
        assert float(est) == round(coefs.loc[term, "estimate"], 3)
        assert float(se) == round(coefs.loc[term, "std_error"], 3)
        lower, upper = (float(x) for x in ci.strip("[]").split(","))
        c = res.contrast(term)
        assert (lower, upper) == (round(c["lower"], 3), round(c["upper"], 3))
        assert p == "\\< .001"
    assert float(rows["σ²"][0]) == round(res.sigma**2, 3)
    assert float(rows["τ₁₁ school: cses"][0]) == round(res.varcorr.vcov[1], 3)
    assert rows["ρ₀₁ school"][0] == f"{res.varcorr.sdcor[2]:.3f}".lstrip("0")
    assert rows["ICC"][0] == f"{res.icc()['adjusted']:.3f}".lstrip("0")
    assert rows["Observations"][0] == "7,185"


# -- the same numbers as R's ----------------------------------------------------------------
@pytest.mark.parametrize("case,ddf,key", [
    ("hsb_crosslevel", "satterthwaite", "fixed_satterthwaite"),
    ("sleep_slope_ml", "satterthwaite", "fixed_satterthwaite"),
    ("sleep_slope_reml", "kenward-roger", "fixed_kr"),
])
@pytest.mark.parametrize("level", [0.95, 0.90])
def test_intervals_and_p_values_equal_parameters_package(case, ddf, key, level):
    ref = paper_reference()[case][key][f"level_{round(100 * level):02d}"]
    t = mlm.table(fitted_case(case), ddf=ddf, level=level,
                  statistics=("estimate", "se", "ci", "df", "p"))
    for k, term in enumerate(ref["term"]):
        for stat, rkey, rtol in [("estimate", "estimate", 1e-5), ("std_error", "se", 1e-3),
                                 ("df", "df", 1e-3), ("lower", "lower", 1e-4),
                                 ("upper", "upper", 1e-4), ("p", "p", 1e-2)]:
            assert value(t, "Model 1", "fixed", term, stat) == pytest.approx(
                ref[rkey][k], rel=rtol), (term, stat)


def test_satterthwaite_default_differs_from_parameters_residual_df():
    # parameters' (and tab_model's) default uses n - p df: our table follows summary() instead
    ref = paper_reference()["hsb_crosslevel"]["fixed_default_parameters"]["level_95"]
    t = mlm.table(fitted_case("hsb_crosslevel"), statistics=("estimate", "df"))
    assert ref["df"][1] == 7176
    assert value(t, "Model 1", "fixed", "cses", "df") == pytest.approx(144.19, abs=0.01)


@pytest.mark.parametrize("case", ["hsb_crosslevel", "hsb_empty", "hsb_uncorr_female",
                                  "sleep_slope_reml", "pastes_nested"])
def test_variance_components_icc_and_r2_equal_lme4_and_performance(case):
    ref = paper_reference()[case]
    t = mlm.table(fitted_case(case), fit=("r2", "criterion", "aic"))
    assert value(t, "Model 1", "random", "icc") == pytest.approx(ref["icc"]["adjusted"],
                                                                 rel=1e-4)
    assert value(t, "Model 1", "fit", "r2_conditional") == pytest.approx(
        ref["r2"]["conditional"], rel=1e-4, abs=1e-8)
    assert value(t, "Model 1", "random", "sigma2") == pytest.approx(
        ref["varcorr"][-1]["vcov"], rel=1e-4)
    taus = [r["vcov"] for r in ref["varcorr"] if r["grp"] != "Residual" and not r["var2"]]
    ours = entries(t, "random")
    ours = ours[ours.row.str.startswith("tau|")]["value"].to_numpy(float)
    np.testing.assert_allclose(sorted(ours), sorted(taus), rtol=1e-3)
    assert value(t, "Model 1", "fit", "aic") == pytest.approx(ref["fit"]["aic"], abs=1e-3)
    for group, n in ref["ngroups"].items():
        assert value(t, "Model 1", "random", f"ngroups|{group}") == n


@pytest.mark.parametrize("case", ["hsb_crosslevel", "hsb_uncorr_female", "sleep_slope_ml"])
def test_standardised_coefficients_equal_effectsize(case):
    ref = paper_reference()[case]
    res = fitted_case(case)
    refit = mlm.table(res, std="refit", statistics=("estimate", "std_estimate", "std_ci"))
    manual = ref["std_refit_lmertest"]
    for k, term in enumerate(ref["std_refit"]["term"]):
        assert value(refit, "Model 1", "fixed", term, "std_estimate") == pytest.approx(
            ref["std_refit"]["estimate"][k], rel=1e-4, abs=1e-6)
        assert value(refit, "Model 1", "fixed", term, "std_lower") == pytest.approx(
            ref["std_refit"]["lower"][k], rel=2e-3)
    std = standardized_coefficients(res, "refit")
    np.testing.assert_allclose(std["std_error"], manual["se"], rtol=1e-3)
    np.testing.assert_allclose(std["df"], manual["df"], rtol=1e-3)
    assert sorted(std.attrs["standardized"]) == sorted(manual["standardized"])
    basic = mlm.table(res, std="basic", statistics=("std_estimate", "std_ci"))
    for k, term in enumerate(ref["std_basic"]["term"]):
        if term == "(Intercept)":  # effectsize prints 0; there is no standardised intercept
            assert basic.data.query("row == '(Intercept)'").empty
            continue
        for stat, rkey in [("std_estimate", "estimate"), ("std_lower", "lower"),
                           ("std_upper", "upper")]:
            assert value(basic, "Model 1", "fixed", term, stat) == pytest.approx(
                ref["std_basic"][rkey][k], rel=1e-3)


def test_refit_standardisation_leaves_the_users_data_alone(hsb):
    res = mlm.fit("mathach ~ ses + (1 | school)", hsb)
    before = res.data.copy()
    standardized_coefficients(res, "refit")
    pd.testing.assert_frame_equal(res.data, before)


# -- rows aligned across models --------------------------------------------------------------
def test_union_of_terms_in_a_sensible_order(hsb):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = mlm.fit("mathach ~ catholic * cses + (1 | school)", hsb)  # writes catholic:cses
        b = mlm.fit("mathach ~ cses + meanses + (1 + cses | school)", hsb)
    cols = [model_column(r, ColumnOptions()) for r in (a, b)]
    assert fixed_rows(cols, None) == ["(Intercept)", "catholic", "cses", "meanses",
                                      "catholic:cses"]
    t = mlm.table(a, b, fitted_case("hsb_crosslevel"), format="markdown")
    rows = _markdown_cells(t)
    assert list(rows)[:7] == ["", "**Fixed effects**", "Intercept", "catholic", "cses",
                              "meanses", "catholic × cses"]
    # cses:catholic of model 3 is the same row as catholic:cses of model 1
    assert value(t, "Model 3", "fixed", "catholic:cses", "estimate") == pytest.approx(-1.3478,
                                                                                      rel=1e-3)
    assert rows["meanses"][:3] == ["", "", ""]  # model 1 has no meanses: empty cells
    assert rows["τ₁₁ school: cses"][0] == ""  # nor a random slope
    assert rows["τ₁₁ school: cses"][3] != ""


def test_labels_terms_and_model_names():
    m1, m2 = fitted_case("hsb_slope"), fitted_case("hsb_crosslevel")
    t = mlm.table({"Slope": m1, "Cross-level": m2}, format="markdown",
                  labels={"cses": "SES", "catholic": "Catholic", "school": "School",
                          "(Intercept)": "Constant"},
                  terms=["cses", "catholic:cses", "(Intercept)"])
    rows = _markdown_cells(t)
    assert "Slope" in t.splitlines()[0] and "Cross-level" in t.splitlines()[0]
    assert list(rows)[2:5] == ["SES", "SES × Catholic", "Constant"]
    assert "meanses" not in rows and "τ₁₁ School: SES" in rows and "*N* School" in rows


def test_several_grouping_factors_get_their_own_rows():
    t = mlm.table(fitted_case("pastes_nested"), fitted_case("penicillin_crossed"),
                  format="markdown")
    rows = _markdown_cells(t)
    for label in ("τ₀₀ cask:batch", "τ₀₀ batch", "τ₀₀ plate", "τ₀₀ sample", "*N* cask:batch",
                  "*N* plate"):
        assert label in rows, label
    assert rows["*N* batch"][0] == "10" and rows["*N* plate"][3] == "24"


def test_model_without_fixed_effects_is_refused_before_any_table():
    from mlm_jupyter.formula import FormulaError

    with pytest.raises(FormulaError, match="No fixed effects"):
        mlm.fit("Yield ~ 0 + (1 | Batch)", reference_data("dyestuff"))


# -- formats ---------------------------------------------------------------------------------
def test_html_escapes_every_user_string():
    t = mlm.table({NASTY: fitted_case("hsb_crosslevel")}, title=NASTY, notes=NASTY,
                  labels={"cses": NASTY, "school": NASTY})
    assert "<b>x</b>" not in t and "&lt;b&gt;x&lt;/b&gt;" in t
    assert t._repr_html_() == str(t) and isinstance(t, str)
    assert t.count("&lt;b&gt;x&lt;/b&gt;") >= 6  # caption, model, labels, group, note


def _latex_body(text: str) -> str:
    return re.sub(r"(?m)^%.*$", "", text)


def check_latex(text: str, columns: int) -> None:
    """Balanced braces and environments, booktabs rules, rows of the right width."""
    body = _latex_body(text).replace(r"\{", "").replace(r"\}", "")
    depth = 0
    for char in body:
        depth += char == "{"
        depth -= char == "}"
        assert depth >= 0
    assert depth == 0
    stack = []
    for kind, name in re.findall(r"\\(begin|end)\{(\w+)\}", body):
        if kind == "begin":
            stack.append(name)
        else:
            assert stack.pop() == name
    assert not stack
    for rule in (r"\toprule", r"\midrule", r"\bottomrule"):
        assert body.count(rule) == 1
    tabular = body.split(r"\midrule")[0].split(r"\toprule")[1] + body.split(r"\midrule")[1]
    tabular = tabular.split(r"\bottomrule")[0]
    for row in tabular.split(r"\\")[:-1]:
        row = re.sub(r"\\(cmidrule\(lr\)\{[^}]*\}|addlinespace)", "", row).strip()
        if not row:
            continue
        spans = sum(int(n) for n in re.findall(r"\\multicolumn\{(\d+)\}", row))
        plain = re.sub(r"\\multicolumn\{\d+\}\{[^}]*\}\{", "", row)
        cells = len(re.findall(r"(?<!\\)&", plain)) + 1
        n_multi = len(re.findall(r"\\multicolumn", row))
        assert cells - n_multi + spans == columns, row
    assert body.count("$") % 2 == 0


def test_latex_is_balanced_booktabs_and_escapes_specials():
    res = fitted_case("hsb_crosslevel")
    t = mlm.table(res, fitted_case("hsb_slope"), format="latex", title=NASTY,
                  labels={"cses": NASTY}, stars=True, std="basic")
    check_latex(t, columns=1 + 2 * 4)
    assert r"\&" in t and r"y\_1" in t and r"\%" in t and r"\$z\$" in t and r"\#" in t
    assert r"\textbackslash{}" in t and r"\textasciitilde{}" in t and r"\{a\}" in t
    assert r"\cmidrule(lr){2-5} \cmidrule(lr){6-9}" in t
    assert r"$-$1.35" in t and r"\textsuperscript{***}" in t
    stacked = mlm.table(res, format="latex", layout="stacked", statistics=("estimate", "se"))
    check_latex(stacked, columns=2)


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
def test_latex_compiles_with_pdflatex(tmp_path):
    t = mlm.table(fitted_case("hsb_crosslevel"), fitted_case("pastes_nested"), format="latex",
                  title=NASTY, labels={"cses": NASTY}, stars=True)
    doc = (r"\documentclass{article}\usepackage{booktabs}\usepackage{amsmath}"
           "\\begin{document}\n" + t + "\n\\[" + fitted_case("hsb_crosslevel").equations("latex")
           + "\\]\n\\end{document}\n")
    (tmp_path / "t.tex").write_text(doc, encoding="utf-8")
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-2000:]
    assert "Undefined control sequence" not in run.stdout


def test_markdown_is_a_pipe_table_with_escaped_labels():
    t = mlm.table(fitted_case("hsb_crosslevel"), format="markdown", labels={"cses": NASTY},
                  stars=True)
    lines = [line for line in t.splitlines() if line.startswith("|")]
    widths = {len(re.findall(r"(?<!\\)\|", line)) for line in lines}
    assert widths == {5}  # label + 3 statistics, every line
    assert lines[1] == "|:---|:---:|:---:|:---:|"
    assert escape_markdown(NASTY) in t and "<b>" not in t
    assert t._repr_markdown_() == str(t) and t._repr_html_() is None


def test_docx_is_a_real_table_with_the_same_cells(tmp_path):
    m1, m2 = fitted_case("hsb_slope"), fitted_case("hsb_crosslevel")
    path = tmp_path / "table.docx"
    out = mlm.table(m1, m2, format="docx", path=path, title="Table 1", stars=True,
                    labels={"school": NASTY})
    assert out == str(path) and out.format == "docx"
    document = docx.Document(str(path))
    assert document.paragraphs[0].text == "Table 1"
    assert document.paragraphs[1].text.startswith("Note. σ2: residual variance")
    (table,) = document.tables
    rows = [[c.text for c in r.cells] for r in table.rows]
    md = _markdown_cells(mlm.table(m1, m2, format="markdown", stars=True,
                                   labels={"school": NASTY}))
    assert rows[0][1:] == ["Model 1"] * 3 + ["Model 2"] * 3  # merged header cells
    assert rows[1][1:] == ["Estimate", "95% CI", "p"] * 2
    for row in rows[3:8]:
        assert row[1:] == [c.replace("\\", "") for c in md[row[0]]]
    sigma = next(r for r in rows if r[0] == "σ2")
    assert sigma[1:] == [f"{m1.sigma**2:.2f}"] * 3 + [f"{m2.sigma**2:.2f}"] * 3
    tau = next(r for r in table.rows if r.cells[0].text.startswith("τ11"))
    assert tau.cells[0].text == f"τ11 {NASTY}: cses"
    assert any(run.font.subscript for run in tau.cells[0].paragraphs[0].runs)
    first = table.rows[0].cells[0]._tc
    assert first.xpath("./w:tcPr/w:tcBorders/w:top")  # booktabs' top rule


def test_stacked_layout_puts_statistics_under_estimates():
    res = fitted_case("hsb_crosslevel")
    t = mlm.table(res, fitted_case("hsb_slope"), format="markdown", layout="stacked",
                  statistics=("estimate", "se", "p"))
    lines = [line for line in t.splitlines() if line.startswith("| ")]
    k = next(i for i, line in enumerate(lines) if line.startswith("| cses |"))
    se = res.coef_table.loc["cses", "std_error"]
    assert lines[k + 1] == f"|   | ({se:.2f}) | (0.13) |"
    assert lines[k + 2] == "|   | *p* \\< .001 | *p* \\< .001 |"
    assert "Under each estimate: (SE), p." in t


def test_options_are_checked_with_helpful_messages(tmp_path):
    res = fitted_case("hsb_crosslevel")
    with pytest.raises(ValueError, match="'sd' is not one of"):
        mlm.table(res, statistics=("estimate", "sd"))
    with pytest.raises(ValueError, match="Did you mean 'cses'"):
        mlm.table(res, labels={"csse": "SES"})
    with pytest.raises(ValueError, match="'ses' is not a fixed effect"):
        mlm.table(res, terms=["ses"])
    with pytest.raises(ValueError, match="pass path="):
        mlm.table(res, format="docx")
    with pytest.raises(ValueError, match="format must be one of"):
        mlm.table(res, format="pdf")
    with pytest.raises(ValueError, match="Model 1: Kenward-Roger df need a REML fit"):
        mlm.table(fitted_case("sleep_slope_ml"), ddf="kenward-roger")
    with pytest.raises(TypeError, match="Model 2: a DataFrame is not a fitted model"):
        mlm.table(res, reference_data("hsb"))
    with pytest.raises(ValueError, match="one name per model"):
        mlm.table(res, res, model_names=["a"])
    with pytest.raises(ValueError, match="level must be between 0 and 1"):
        mlm.table(res, level=95)
    with pytest.raises(ValueError, match="at least one fitted model"):
        mlm.table()


def test_singular_fit_is_noted_and_html_page_written(tmp_path):
    path = tmp_path / "t.html"
    t = mlm.table(fitted_case("singular_slope"), path=path, title="T")
    assert "Model 1: singular fit" in t
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and str(t) in page
    assert "prefers-color-scheme: dark" in page and "http" not in page.replace(
        'name="viewport"', "")


# -- properties ------------------------------------------------------------------------------
@settings(deadline=None)
@given(st.floats(-1e6, 1e6, allow_nan=False), st.integers(0, 4))
def test_fixed_decimals_read_back_within_half_a_unit(x, d):
    shown = fixed(x, d)
    if round(x, d) != 0 or x == 0:
        assert abs(float(shown) - x) <= 0.5 * 10**-d + 1e-9 * max(1, abs(x))
        assert shown.count(".") == (d > 0) and (d == 0 or len(shown.split(".")[1]) == d)
    else:  # too small for d decimals: significant digits instead of a misleading 0.00
        assert float(shown) != 0


@settings(deadline=None)
@given(st.floats(0, 1))
def test_p_values_never_read_as_zero_or_one(p):
    shown = pvalue(p)
    assert shown not in (".000", "1.000", "0", "1")
    if p < 0.001:
        assert shown == "< .001"


class _Cells(HTMLParser):
    """Text of every element and the set of tags of an HTML fragment."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)

    def handle_data(self, data):
        self.text.append(data)


LABELS = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30)


@settings(max_examples=60, deadline=None)  # each example renders a table
@given(LABELS)
def test_escaping_keeps_any_label_inert(text):
    html = mlm.table(fitted_case("hsb_slope"), labels={"cses": text, "school": text})
    parsed = _Cells()
    parsed.feed(html)
    assert parsed.tags <= {"div", "style", "table", "caption", "thead", "tbody", "tfoot", "tr",
                           "th", "td", "span", "sub", "sup", "i", "b", "br"}
    assert text in parsed.text and f" {text}: {text}" in parsed.text  # the τ11 label
    latex = escape_latex(text).replace(r"\{", "").replace(r"\}", "")
    assert latex.count("{") == latex.count("}")
    bare = latex.replace(r"\textbackslash{}", "")
    assert not re.search(r"(?<!\\)[&%#_]", bare)
    assert len(re.findall(r"(?<!\\)\$", bare)) % 2 == 0
    assert re.sub(r"\\(.)", r"\1", escape_markdown(text)) == text
