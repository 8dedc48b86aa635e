"""Messages about a fit: plain words (what was checked, whether it matters, what to do), one
clean warning line, never Python internals, and no non-converged estimate shown as a finding.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import fitted_case, reference_data

import mlm_jupyter as mlm
from mlm_jupyter import messages
from mlm_jupyter.display.html import result_html
from mlm_jupyter.display.tables import display_messages
from mlm_jupyter.display.text import summary_text


def _sentences(text: str) -> int:
    """Sentences of a message (a full stop followed by a capital starts a new one)."""
    assert text.endswith(".")
    return 1 + len(re.findall(r"[.)]\s+(?=[A-Z])", text))


def _body(message: str) -> str:
    title, rest = messages.split_title(message)
    assert title, message
    return rest


def _null_clusters() -> pd.DataFrame:
    rng = np.random.default_rng(7)  # no cluster variance: a singular random intercept
    return pd.DataFrame({"y": rng.normal(size=200), "g": np.repeat(np.arange(20), 10)})


def test_singular_zero_variance_message():
    res = fitted_case("dyestuff2_singular")
    (message,) = [m for m in res.messages if m.startswith("Singular fit")]
    body = _body(message)
    assert "variance of the random intercept over Batch is estimated as zero" in body
    assert "do not distort the fixed effects" in body.replace("does not", "do not")
    assert "res.advice()" in body and "res.all_fit()" in body
    assert "help(" not in message and "isSingular" not in message
    assert _sentences(body.split("): ", 1)[1]) == 2


def test_singular_correlation_message():
    res = fitted_case("singular_slope")
    (message,) = [m for m in res.messages if m.startswith("Singular fit")]
    body = message.split("): ", 1)[1]
    assert "random intercept over g and the random slope of x over g are estimated as " \
        "perfectly correlated" in body
    assert "'||'" in body and "do not interpret that correlation" in body
    assert _sentences(body) == 2


def test_slope_of_a_cluster_level_variable_is_not_identified():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mlm.fit("mathach ~ meanses + (1 + meanses | school)", reference_data("hsb"))
    (message,) = [m for m in res.messages if m.startswith("Singular fit")]
    body = message.split("): ", 1)[1]
    assert "cannot be estimated, because meanses does not vary within school clusters" in body
    assert "keep it as a fixed effect" in body and _sentences(body) == 2


def test_convergence_message_says_what_to_do():
    from mlm_jupyter.engine.fit import OptimizationRecord
    from mlm_jupyter.engine.verify import OptimumCheck

    check = OptimumCheck(7.14, 0.0, np.zeros(0), None)
    record = OptimizationRecord(np.ones(1), np.ones(1), 10.0, 5, "L-BFGS-B", False, 7.14,
                                check=check)
    text = messages.not_converged(record)
    title, body = messages.split_title(text)
    assert title == "Convergence" and _sentences(body) == 2
    assert "7.14" in body and "0.002" in body and "res.all_fit()" in body
    assert "can be ignored" in body and "simplify the random part" in body
    saddle = OptimumCheck(1e-6, -0.3, np.zeros(0), None)
    record = OptimizationRecord(np.ones(1), np.ones(1), 10.0, 5, "L-BFGS-B", False, 1e-6,
                                check=saddle)
    assert "saddle point" in messages.not_converged(record)
    df = messages.satterthwaite_not_minimum(np.array([-0.5]))
    assert messages.split_title(df)[0] == "Degrees of freedom" and "-0.5" in df


def test_warn_is_one_clean_line_and_leaves_formatting_alone():
    before = warnings.formatwarning
    with pytest.warns(mlm.MixedModelWarning, match="Singular fit"):
        mlm.fit("y ~ 1 + (1 | g)", _null_clusters())
    assert warnings.formatwarning is before
    code = textwrap.dedent("""
        import warnings
        import numpy as np, pandas as pd
        import mlm_jupyter as mlm
        rng = np.random.default_rng(7)
        data = pd.DataFrame({"y": rng.normal(size=200), "g": np.repeat(np.arange(20), 10)})
        res = mlm.fit("y ~ 1 + (1 | g)", data)
        warnings.warn("other library", RuntimeWarning)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    lines = out.stderr.splitlines()
    assert lines[0].startswith("mlm_jupyter warning: Singular fit (")
    assert "site-packages" not in lines[0] and ".py:" not in lines[0]
    # other warnings keep Python's own format (file, line, category)
    assert re.match(r".*:\d+: RuntimeWarning: other library", lines[1])


def test_non_converged_fit_shows_no_python_internals(tmp_path):
    code = textwrap.dedent("""
        import dataclasses
        import mlm_jupyter as mlm, mlm_jupyter.fitting as fitting
        real = fitting.optimize
        fitting.optimize = lambda *a, **k: dataclasses.replace(
            real(*a, **k), converged=False, max_scaled_gradient=7.14)
        res = mlm.fit("Reaction ~ Days + (Days | Subject)", mlm.load_dataset("sleepstudy"))
        html = res._repr_html_()
        print(res.summary().splitlines()[-1])
        import re
        print(bool(re.search(r'ICC \\(adjusted\\): <b class="mlmj-num">[0-9]', html)),
              "not shown: the fit did not converge" in html)
        res.coef_table, res.check()
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stderr.splitlines() == [out.stderr.splitlines()[0]]  # one warning line
    assert out.stderr.startswith("mlm_jupyter warning: Convergence: the estimates were checked")
    assert "site-packages" not in out.stderr and "Warning:" not in out.stderr
    last, icc = out.stdout.splitlines()
    assert last.startswith("Convergence: ") and "7.14" in last
    assert icc == "False True"


def test_displays_show_every_message_with_its_title():
    res = fitted_case("sleep_slope_reml")
    stale = dataclasses.replace(res, converged=False, messages=("4 row(s) with missing values "
                                                                 "dropped (176 used).",))
    shown = display_messages(stale)
    assert shown[0].startswith("4 row(s)") and shown[1].startswith("Convergence: ")
    html = result_html(stale)
    assert html.find("<b>Rows dropped:</b>") < html.find("<b>Convergence:</b>")
    icc = re.compile(r'ICC \(adjusted\): <b class="mlmj-num">[0-9]')
    assert not icc.search(html) and "not shown: the fit did not converge" in html
    assert icc.search(result_html(res))  # a converged fit shows it


def test_df_message_from_a_bad_hessian_is_displayed(monkeypatch):
    import mlm_jupyter.inference.satterthwaite as satt

    res = fitted_case("sleep_slope_reml")
    parts = satt.cached_parts(res)
    fake = dataclasses.replace(parts, hessian_eigenvalues=np.array([-0.25, 1.0, 2.0, 3.0]))
    monkeypatch.setattr(satt, "cached_parts", lambda r: fake)
    (extra,) = [m for m in display_messages(res) if m.startswith("Degrees of freedom")]
    assert "-0.25" in extra and "unreliable" in extra
    assert summary_text(res).splitlines()[-1] == extra
    assert "<b>Degrees of freedom:</b>" in result_html(res)


def test_check_findings_point_to_what_to_do():
    res = fitted_case("sleep_slope_reml")
    stale = dataclasses.replace(res, converged=False)
    found = [f for f in stale.check() if f.check == "convergence"]
    assert found and "res.all_fit()" in found[0].look_at
    text = str(stale.check())
    assert text.startswith("[WARNING] convergence") and "Finding(" not in text
    assert "Model checks" in stale.check()._repr_html_()
