"""res.methods_text(), res.equations(format=), the report's "For the paper" section and
``%mlm table``: statements read off the fit, valid LaTeX, copyable, escaped."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import scipy
from conftest import fitted_case, reference_data

import mlm_jupyter as mlm
from mlm_jupyter.display.paper.methods import transform_calls
from mlm_jupyter.display.paper.report_section import paper_section


# -- methods paragraph -----------------------------------------------------------------------
def test_methods_text_states_what_the_fit_records():
    res = fitted_case("hsb_crosslevel")
    text = res.methods_text()
    assert f"lme4 formula: {res.formula}" in text
    assert "7,185 observations (160 levels of school)" in text
    assert "random intercepts and random slopes of cses across school (correlated)" in text
    assert "restricted maximum likelihood (REML)" in text
    opt = res.optimization
    assert f"optimised with {opt.optimizer} ({opt.n_evals:,} evaluations" in text
    assert f"{opt.max_scaled_gradient:.2g}, was below lme4's convergence tolerance of 0.002" in text
    assert "the Hessian of the criterion showed no negative curvature" in text
    assert opt.check.second_order and opt.converged  # what the sentence says
    assert "The fit is not singular." in text
    assert "Satterthwaite's (1946)" in text and "95% confidence intervals" in text
    assert f"NumPy {np.__version__}, SciPy {scipy.__version__}" in text
    assert f"mlm_jupyter {mlm.__version__}" in text
    # the data show cses to be centred within schools, meanses not; catholic is 0/1
    assert "cses had a mean of zero within every school" in text
    assert "meanses entered uncentred" in text and "catholic entered" not in text
    assert "Predictors constant within school: catholic and meanses." in text


def test_methods_text_of_singular_ml_and_kenward_roger_fits():
    singular = fitted_case("singular_slope").methods_text()
    assert "The fit is singular" in singular
    vc = fitted_case("singular_slope").varcorr
    assert abs(vc.sdcor[2]) > 1 - 1e-4  # what the sentence reports
    assert "the correlation of (Intercept) and x across g was estimated at ±1" in singular
    ml = fitted_case("sleep_slope_ml").methods_text(ddf="kenward-roger", level=0.9,
                                                    references=True)
    assert "maximum likelihood (ML)" in ml and "REML" not in ml.split("References")[0]
    assert "Kenward-Roger (1997)" in ml and "90% confidence intervals" in ml
    assert "Kenward, M. G., & Roger, J. H. (1997)" in ml.split("References")[1]
    zero = fitted_case("dyestuff2_singular")  # the only variance at 0: no interior checks
    assert len(zero.optimization.check.boundary_slopes) == len(zero.theta)
    text = zero.methods_text()
    assert "the criterion does not decrease off the variances estimated at 0" in text
    assert "scaled gradient" not in text
    assert "the SD of (Intercept) across Batch was estimated at 0" in text
    nested = fitted_case("pastes_nested").methods_text()
    assert "random intercepts across cask:batch and random intercepts across batch" in nested
    with pytest.raises(ValueError, match="ddf must be"):
        fitted_case("pastes_nested").methods_text(ddf="wald")


def test_methods_text_reports_centring_transforms_and_dropped_rows(hsb):
    data = hsb.copy()
    data.loc[data.index[:7], "ses"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mlm.fit("mathach ~ cwc(ses, school) + cm(ses, school) + center(female, 0.5)"
                      " + (1 + cwc(ses, school) | school)", data)
    text = res.methods_text()
    assert "7 rows with missing values in the model's variables were excluded" in text
    assert "ses was centred within clusters of school (cwc)" in text
    assert "the cluster means of ses by school entered as a predictor (cm)" in text
    assert "female was centred at 0.5 (center)" in text
    assert transform_calls("y ~ gmc(x) + cwc(a, g):gmc(x)") == [("gmc", ["x"]),
                                                                  ("cwc", ["a", "g"])]


# -- equations -------------------------------------------------------------------------------
def test_equations_as_text_and_latex():
    res = fitted_case("hsb_crosslevel")
    text = res.equations()
    assert text.splitlines()[0] == "Level 1:  mathach_ij = β_0j + β_1j·cses_ij + r_ij"
    assert text.splitlines()[-1].strip() == "r_ij ~ N(0, σ²);  (u_0j, u_1j)' ~ N(0, T)"
    latex = res.equations("latex")
    assert latex.startswith(r"\begin{aligned}") and latex.endswith(r"\end{aligned}")
    assert r"\beta_{1j} = \gamma_{10} + \gamma_{11}\,\text{catholic}_{j} + u_{1j}" in latex
    assert r"\tau_{00} & \tau_{01} \\ \tau_{01} & \tau_{11}" in latex
    body = latex.replace(r"\{", "").replace(r"\}", "")
    assert body.count("{") == body.count("}")
    assert "<sub>" in res.equations("html")
    with pytest.raises(ValueError, match="format must be"):
        res.equations("docx")


def test_equation_names_are_escaped_for_latex():
    data = reference_data("sleepstudy").rename(columns={"Days": "days_since%"})
    res = mlm.fit("Reaction ~ `days_since%` + (1 | Subject)", data)
    assert r"\text{days\_since\%}_{ij}" in res.equations("latex")


def test_tau_indices_of_table_and_equations_agree():
    res = fitted_case("hsb_hybrid")  # ses fixed only: the random cses slope is u_2j
    assert "β_2j = u_2j" in res.equations()
    t = mlm.table(res, format="markdown")
    assert "τ₂₂ school: cses" in t and "ρ₀₂ school" in t


# -- report and magic ------------------------------------------------------------------------
def test_report_has_a_copyable_for_the_paper_section():
    m1, m2 = fitted_case("sleep_int_ml"), fitted_case("sleep_slope_ml")
    page = mlm.report(m1, m2, explorer=False, diagnostics=False)
    assert '<a href="#paper">For the paper</a>' in page
    section = page[page.index('<section id="paper">'):]
    section = section[: section.index("</section>")]
    assert str(mlm.table(m1, m2, model_names=["Model 1", "Model 2"])) in section
    assert section.count('data-mlm-copy="') == 3 + 2 * 2  # table, LaTeX, Markdown; 2 a model
    assert r"\toprule" in section and r"\begin{aligned}" in section
    assert "navigator.clipboard" in section and "execCommand" in section
    assert "http" not in re.sub(r"<a href=\"#\w+\">", "", section)
    assert "For the paper" not in mlm.report(m1, explorer=False, diagnostics=False, paper=False)


def test_paper_section_escapes_model_names():
    html = paper_section([fitted_case("hsb_slope")], names=["<img src=x onerror=alert(1)>"])
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


@pytest.fixture(scope="module")
def ip():
    pytest.importorskip("IPython")
    from IPython.testing.globalipapp import get_ipython

    shell = get_ipython()
    shell.run_line_magic("load_ext", "mlm_jupyter")
    shell.user_ns["m0"] = fitted_case("hsb_empty")
    shell.user_ns["m1"] = fitted_case("hsb_crosslevel")
    return shell


def _run(ip, code: str):
    from IPython.utils.capture import capture_output

    with capture_output() as cap:
        ip.run_cell(code)
    return [o.data for o in cap.outputs]


def test_magic_table_formats_and_errors(ip, tmp_path):
    (bundle,) = _run(ip, "%mlm table m0 m1 --stars --title 'Table 1: math'")
    assert "mlm-paper-table" in bundle["text/html"] and "m1" in bundle["text/html"]
    assert "<caption>Table 1: math</caption>" in bundle["text/html"]
    assert "τ₀₀ school" in bundle["text/plain"]
    (latex,) = _run(ip, "%mlm table m1 --format latex --se")
    assert r"\textit{SE}" in latex["text/plain"] and r"\toprule" in latex["text/plain"]
    path = tmp_path / "t.docx"
    (done,) = _run(ip, f"%mlm table m0 m1 --format docx -o {path}")
    assert path.exists() and "Table written to" in done["text/plain"]
    (err,) = _run(ip, "%mlm table m1 --format docx")
    assert "writes a Word file" in err["text/plain"]
    (err,) = _run(ip, "%mlm table m1 --ddf wald")
    assert "Cannot make the table" in err["text/plain"]
    (err,) = _run(ip, "%mlm table nope")
    assert "There is no fitted model named 'nope'" in err["text/plain"]
