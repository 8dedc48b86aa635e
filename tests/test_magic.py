"""%%mlm and %mlm driven through a real IPython InteractiveShell (``run_cell``).

Checks what is stored in the user namespace (against lme4's numbers), the MIME bundles the
cell displays, and every error path (message, where, what to do; no traceback).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import reference_case, reference_data

pytest.importorskip("IPython")
from IPython.testing.globalipapp import get_ipython  # noqa: E402
from IPython.utils.capture import capture_output  # noqa: E402

from mlm_jupyter.magic import DEFAULT_NAME, formula_from_cell  # noqa: E402


@pytest.fixture(scope="module")
def ip():
    import IPython

    # globalipapp starts its shell once per process and returns None afterwards.
    shell = get_ipython() or IPython.get_ipython()
    shell.run_line_magic("load_ext", "mlm_jupyter")
    shell.user_ns["hsb"] = reference_data("hsb").copy()
    shell.user_ns["sleep"] = reference_data("sleepstudy").copy()
    shell.user_ns["singular"] = reference_data("singular").copy()
    return shell


def run(ip, code: str):
    """Run a cell; return (outputs' MIME bundles, stdout+stderr, result)."""
    with capture_output() as cap:
        result = ip.run_cell(code)
    return [o.data for o in cap.outputs], cap.stdout + cap.stderr, result


def only_bundle(outputs) -> dict:
    assert len(outputs) == 1, outputs
    return outputs[0]


def test_cell_magic_fits_stores_and_displays(ip):
    ref = reference_case("hsb_crosslevel")
    before = ip.user_ns["hsb"].copy()
    outputs, stream, result = run(ip, (
        "%%mlm hsb -o m1 --no-explore\n"
        "mathach ~ cses * catholic + meanses   # fixed part\n"
        "   + (1 + cses | school)               # random intercept and slope\n"
    ))
    assert result.success and not stream
    m1 = ip.user_ns["m1"]
    assert m1.formula == ref["formula"]
    np.testing.assert_allclose(m1.fixef.to_numpy(), ref["fixef"], rtol=1e-4)
    np.testing.assert_allclose(m1.objective, ref["objective"], atol=1e-3)
    bundle = only_bundle(outputs)
    assert set(bundle) >= {"text/html", "text/plain"}
    assert "REML criterion at convergence: 46514.5" in bundle["text/plain"]
    assert "   Data: hsb" in bundle["text/plain"]
    assert "mlmj-summary" in bundle["text/html"] and "46514.53" in bundle["text/html"]
    assert ip.user_ns["hsb"].equals(before)  # the user's data is untouched


def test_default_name_ml_and_variable_expansion(ip):
    ip.user_ns["slope"] = "Days"
    cell = "%%mlm sleep --ml --no-explore\nReaction ~ {slope} + ({slope} | Subject)"
    outputs, _, _ = run(ip, cell)
    res = ip.user_ns[DEFAULT_NAME]
    ref = reference_case("sleep_slope_ml")
    assert not res.reml and res.formula == ref["formula"]
    np.testing.assert_allclose(res.objective, ref["objective"], atol=1e-3)
    assert "maximum likelihood" in only_bundle(outputs)["text/plain"].splitlines()[0]


def test_quiet_displays_nothing(ip):
    outputs, stream, _ = run(ip, "%%mlm sleep -o m_quiet --quiet\nReaction ~ Days + (1 | Subject)")
    assert outputs == [] and not stream
    assert ip.user_ns["m_quiet"].nobs == 180


def test_kenward_roger_option(ip):
    pytest.importorskip("mlm_jupyter.inference")
    outputs, _, _ = run(ip, "%%mlm hsb -o m_kr --ddf Kenward-Roger --no-explore\n"
                            "mathach ~ cses + (1 | school)")
    assert "Kenward-Roger's method" in only_bundle(outputs)["text/plain"]


def test_explorer_displayed_unless_disabled(ip):
    pytest.importorskip("anywidget")
    outputs, _, _ = run(ip, "%%mlm sleep -o m_ex\nReaction ~ Days + (Days | Subject)")
    assert len(outputs) == 3  # summary, live explorer, its offline copy
    assert "application/vnd.jupyter.widget-view+json" in outputs[1]
    assert 'class="mlm-fallback"' in outputs[2]["text/html"]


def test_singular_fit_warning_at_top(ip):
    outputs, _, _ = run(ip, "%%mlm singular -o m_sing --no-explore\ny ~ x + (1 + x | g)")
    html = only_bundle(outputs)["text/html"]
    assert html.find("Singular fit") < html.find("Random effects")
    assert ip.user_ns["m_sing"].is_singular


ERRORS = [
    # (cell, words that must appear in text/plain)
    ("%%mlm hsb -o bad\nmathach ~ cses + (1 + | school)",
     ["Dangling operator", "mathach ~ cses + (1 + | school)", "^"]),
    ("%%mlm hsb\nmathach ~ csse + (1 | school)",
     ["Unknown column", "'csse'", "Did you mean 'cses'?"]),
    ("%%mlm hbs\nmathach ~ cses + (1 | school)",
     ["Unknown data frame", "'hbs'", "Did you mean 'hsb'?"]),
    ("%%mlm\nmathach ~ cses + (1 | school)", ["No data", "%%mlm hsb -o m1"]),
    ("%%mlm hsb --ddf wald\nmathach ~ cses + (1 | school)", ["Bad option", "kenward-roger"]),
    ("%%mlm hsb --colour\nmathach ~ cses + (1 | school)", ["Bad option", "--colour", "%mlm help"]),
    ("%%mlm hsb -o 1m\nmathach ~ cses + (1 | school)", ["Bad option", "valid Python name"]),
    ("%%mlm hsb\nmathach ~ {undefined_var} + (1 | school)", ["Unknown variable", "undefined_var"]),
    ("%%mlm hsb\n# only a comment\n", ["No formula"]),
    ("%%mlm slope\nmathach ~ 1 + (1 | school)", ["Not a data frame", "str"]),
    ("%mlm compare m1 m_nope", ["Unknown model", "'m_nope'"]),
    ("%mlm compare m1", ["Missing models"]),
    ("%mlm explain m1", ["Unknown command", "explain"]),
    ("%mlm advice hsb", ["Not a model", "DataFrame"]),
]


@pytest.mark.parametrize(("cell", "words"), ERRORS, ids=[c.split("\n")[0] for c, _ in ERRORS])
def test_errors_are_short_messages(ip, cell, words):
    ip.user_ns["slope"] = "cses"
    run(ip, "%%mlm hsb -o m1 --quiet\nmathach ~ cses + (1 | school)")
    outputs, stream, result = run(ip, cell)
    assert result.success and "Traceback" not in stream
    bundle = only_bundle(outputs)
    for word in words:
        assert word in bundle["text/plain"], (word, bundle["text/plain"])
    assert 'class="mlmj-box mlmj-error"' in bundle["text/html"]
    assert "Traceback" not in bundle["text/plain"]


def test_debug_shows_the_traceback(ip):
    _, stream, result = run(ip, "%%mlm hsb --debug\nmathach ~ csse + (1 | school)")
    assert not result.success
    assert "FormulaError" in stream or isinstance(result.error_in_exec, ValueError)


def test_non_converged_fit_shows_a_warning(ip, monkeypatch):
    import dataclasses

    import mlm_jupyter

    real_fit = mlm_jupyter.fit

    def not_converged(*args, **kwargs):
        res = real_fit(*args, **kwargs)
        return dataclasses.replace(res, converged=False,
                                   messages=res.messages + ("Model failed to converge",))

    monkeypatch.setattr(mlm_jupyter, "fit", not_converged)
    outputs, _, _ = run(ip, "%%mlm sleep -o m_nc --no-explore\nReaction ~ Days + (Days | Subject)")
    html = only_bundle(outputs)["text/html"]
    assert "Convergence" in html and html.find("mlmj-box") < html.find("Random effects")


def test_help(ip):
    outputs, _, _ = run(ip, "%mlm help")
    text = only_bundle(outputs)["text/plain"]
    words = ("compare", "advice", "report", "explore", "--no-explore", "--ddf", "--quiet", "-o")
    for word in words:
        assert word in text
    outputs, _, _ = run(ip, "%%mlm --help\n# show the options")
    assert "--ml" in only_bundle(outputs)["text/plain"]
    outputs, _, _ = run(ip, "%mlm compare --help")
    assert "--nsim" in only_bundle(outputs)["text/plain"]


def test_compare_line_magic(ip):
    pytest.importorskip("mlm_jupyter.compare")
    run(ip, "%%mlm sleep -o s0 --quiet\nReaction ~ Days + (1 | Subject)")
    run(ip, "%%mlm sleep -o s1 --quiet\nReaction ~ Days + (Days | Subject)")
    outputs, stream, _ = run(ip, "%mlm compare s0 s1")
    bundle = only_bundle(outputs)
    assert "text/plain" in bundle and "Traceback" not in stream
    # lme4: anova(sleep_int_ml, sleep_slope_ml) deviance difference
    d = reference_case("sleep_int_ml")["objective"] - reference_case("sleep_slope_ml")["objective"]
    assert f"{d:.2f}"[:4] in bundle["text/plain"] or f"{d:.3f}" in bundle.get("text/html", "")


def test_anova_line_magic(ip):
    run(ip, "%%mlm hsb -o a1 --quiet\nmathach ~ cses * factor(catholic) + (1 + cses | school)")
    outputs, stream, _ = run(ip, "%mlm anova a1 --type 2")
    text = only_bundle(outputs)["text/plain"]
    assert "Type II Analysis of Variance Table with Satterthwaite's method" in text
    assert "cses:factor(catholic)" in text and "Traceback" not in stream
    F = ip.user_ns["a1"].anova(type=2).loc["cses:factor(catholic)", "F"]
    assert f"{F:.3f}"[:4] in text
    outputs, _, _ = run(ip, "%mlm anova a1 --type 5")
    assert "type must be 1, 2 or 3" in str(only_bundle(outputs))


def test_summary_and_explore_line_magics(ip):
    run(ip, "%%mlm sleep -o s1 --quiet\nReaction ~ Days + (Days | Subject)")
    outputs, _, _ = run(ip, "%mlm summary s1")
    assert "Number of obs: 180, groups:  Subject, 18" in only_bundle(outputs)["text/plain"]
    pytest.importorskip("anywidget")
    outputs, _, _ = run(ip, "%mlm explore s1")
    live, copy = outputs  # the live explorer and its offline copy
    assert "application/vnd.jupyter.widget-view+json" in live
    assert 'class="mlm-fallback"' in copy["text/html"]


def test_report_line_magic(ip, tmp_path):
    pytest.importorskip("mlm_jupyter.display.report")
    run(ip, "%%mlm sleep -o s1 --quiet\nReaction ~ Days + (Days | Subject)")
    path = tmp_path / "r.html"
    outputs, _, _ = run(ip, f"%mlm report s1 -o {path}")
    assert path.exists() and path.stat().st_size > 1000
    assert "Report written to" in only_bundle(outputs)["text/plain"]
    outputs, _, _ = run(ip, f"%mlm report s1 -o {tmp_path}/missing/r.html")
    assert "does not exist" in only_bundle(outputs)["text/plain"]


@pytest.mark.parametrize(
    ("cell", "formula"),
    [
        ("y ~ x\n  + (1 | g)\n", "y ~ x + (1 | g)"),
        ("y ~ x  # slope\n# whole-line comment\n + (x || g)", "y ~ x + (x || g)"),
        ("\n\n", ""),
    ],
)
def test_formula_from_cell(cell, formula):
    assert formula_from_cell(cell) == formula


def test_advice_line_magic(ip):
    pytest.importorskip("mlm_jupyter.advice")
    run(ip, "%%mlm hsb -o m_adv --quiet\nmathach ~ ses + (1 + ses | school)")
    outputs, stream, _ = run(ip, "%mlm advice m_adv")
    bundle = only_bundle(outputs)
    text = bundle["text/plain"]
    assert text.startswith("Random slope mixes within- and between-cluster differences: ")
    assert "smushed" not in text and "Traceback" not in stream
    assert "Try: mathach ~ ses + (1 + cwc(ses, school) | school)" in text
    assert "mlmj-advice" in bundle["text/html"]


@pytest.mark.parametrize("out, setup, what", [
    ("sleep", "", "the data frame this model is fitted to"),
    ("alias", "alias = sleep", "the data frame this model is fitted to"),
    ("np", "import numpy as np", "the module 'numpy'"),
    ("len", "", "a Python builtin"),
    ("lambda", "", "a Python keyword"),
])
def test_output_name_cannot_overwrite_data_modules_or_builtins(ip, out, setup, what):
    if setup:
        ip.run_cell(setup)
    data = "alias" if out == "alias" else "sleep"
    before = ip.user_ns[data]
    cell = f"%%mlm {data} -o {out} --no-explore\nReaction ~ Days + (1 | Subject)\n"
    outputs, _, _ = run(ip, cell)
    text = only_bundle(outputs)["text/plain"]
    assert f"-o {out} would overwrite {what}" in text
    assert len(text.splitlines()) == 1
    assert ip.user_ns[data] is before
    if out == "np":
        assert ip.user_ns["np"].__name__ == "numpy"


def test_cell_magic_fits_a_polars_frame(ip):
    pl = pytest.importorskip("polars")
    ip.user_ns["sleep_pl"] = pl.from_pandas(reference_data("sleepstudy"))
    cell = "%%mlm sleep_pl -o m_pl --quiet\nReaction ~ Days + (Days | Subject)\n"
    outputs, stream, result = run(ip, cell)
    assert result.success and not outputs
    ref = reference_case("sleep_slope_reml")
    np.testing.assert_allclose(ip.user_ns["m_pl"].fixef.to_numpy(), ref["fixef"], rtol=1e-5)


def test_cell_magic_alone_in_a_cell(ip):
    outputs, stream, result = run(ip, "%%mlm --help")
    assert result.success and "cell body is empty" not in stream
    text = only_bundle(outputs)["text/plain"]
    assert text.startswith("usage: %%mlm [-h]") and "::" not in text and "%%%" not in text
    outputs, stream, _ = run(ip, "%%mlm hsb -o m_empty")
    bundle = only_bundle(outputs)
    assert bundle["text/plain"].startswith("No formula: The cell body is empty.")
    assert "UsageError" not in stream
    ip.run_line_magic("reload_ext", "mlm_jupyter")  # the input transformer is added once
    names = [getattr(t, "__name__", "") for t in ip.input_transformers_cleanup]
    assert names.count("empty_cell_body") == 1


# -- GLMMs: %%mlm DATA -o m --family binomial ---------------------------------------------------
def _glmm_data(ip):
    from glmm_reference import glmm_data

    ip.user_ns.setdefault("cbpp", glmm_data("cbpp_laplace").copy())
    ip.user_ns.setdefault("germ", glmm_data("germination_weights").copy())


def test_glmm_family_option(ip):
    _glmm_data(ip)
    outputs, _, _ = run(ip, "%%mlm cbpp -o g1 --family binomial --no-explore\n"
                            "cbind(incidence, size - incidence) ~ period + (1 | herd)")
    res = ip.user_ns["g1"]
    assert res.family == "binomial"
    from glmm_reference import glmm_fit

    assert res.loglik == pytest.approx(glmm_fit("cbpp_laplace").loglik, abs=1e-8)
    bundle = outputs[0]
    assert "Odds ratios" in bundle["text/html"]
    assert bundle["text/plain"].startswith("Generalized linear mixed model fit by maximum")


def test_glmm_weights_link_and_nagq_options(ip):
    _glmm_data(ip)
    run(ip, "%%mlm germ -o g2 --family binomial --weights n --link probit --quiet\n"
            "prop ~ treatment + (1 | tray)")
    res = ip.user_ns["g2"]
    assert res.link == "probit" and res.nobs == 216
    run(ip, "%%mlm cbpp -o g3 --family binomial --nagq 5 --quiet\n"
            "cbind(incidence, size - incidence) ~ period + (1 | herd)")
    assert ip.user_ns["g3"].nagq == 5


def test_glmm_options_need_a_family_and_errors_are_shown(ip):
    _glmm_data(ip)
    outputs, _, _ = run(ip, "%%mlm cbpp -o bad --nagq 5\nincidence ~ period + (1 | herd)")
    assert "GLMMs only" in outputs[0]["text/plain"]
    outputs, _, _ = run(ip, "%%mlm cbpp -o bad --family binomial\nincidence ~ period + (1 | herd)")
    assert "outside" in outputs[0]["text/plain"]
