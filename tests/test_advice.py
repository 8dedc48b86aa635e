"""The centring advisor: every kind, positive and negative, on hsb and on simulated data.

hsb's ``ses`` varies within and between schools (its school means are ``meanses``), ``cses``
is ``ses`` centred on the school mean, ``catholic`` is a school-level variable.  Where a
suggestion is a corrected formula, the tests refit it and check the advice is gone.
"""

from __future__ import annotations

import keyword
import warnings
from functools import cache

import numpy as np
import pandas as pd
import pytest
from conftest import fitted_case, reference_data
from hypothesis import given, settings
from hypothesis import strategies as st

import mlm_jupyter as mlm
from mlm_jupyter.advice import KINDS, Advice


def _fit(formula: str, data: pd.DataFrame):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mlm.fit(formula, data)


@cache
def _hsb(formula: str):
    return _fit(formula, reference_data("hsb").copy())


@cache
def _simulated() -> pd.DataFrame:
    """60 clusters of 15: x = cluster part + within part, w a cluster-level moderator.

    Within slope 1, between (contextual) slope 2, cross-level effect 0.5, random slope SD 0.5.
    """
    rng = np.random.default_rng(20261123)
    J, n = 60, 15
    g = np.repeat(np.arange(J), n)
    x_mean = rng.normal(0, 1, J)
    w = rng.normal(0, 1, J)
    x = x_mean[g] + rng.normal(0, 1, J * n)
    u0, u1 = rng.normal(0, 1, J), rng.normal(0, 0.5, J)
    xw = x - x_mean[g]
    slope = 1 + 0.5 * w[g] + u1[g]
    y = (1 + u0[g]) + slope * xw + 2 * x_mean[g] + w[g] + rng.normal(0, 1, J * n)
    return pd.DataFrame({"y": y, "x": x, "w": w[g], "g": [f"c{j:02d}" for j in g]})


def _kinds(res) -> list[str]:
    return [a.kind for a in res.advice()]


def _of_kind(res, kind: str) -> list[Advice]:
    return [a for a in res.advice() if a.kind == kind]


@cache
def _perfectly_correlated() -> pd.DataFrame:
    """80 clusters of 20 whose random slope is exactly 0.5 x the random intercept."""
    rng = np.random.default_rng(11)
    J, n = 80, 20
    g = np.repeat(np.arange(J), n)
    x = rng.normal(size=J * n)
    u = rng.normal(0, 1.0, J)
    y = 1 + 0.5 * x + u[g] + 0.5 * u[g] * x + rng.normal(0, 1, J * n)
    return pd.DataFrame({"y": y, "x": x, "g": g})


RECOMMENDED_HSB = (
    "mathach ~ cwc(ses, school) * catholic + cm(ses, school) * catholic + "
    "(1 + cwc(ses, school) | school)"
)
RECOMMENDED_SIM = "y ~ cwc(x, g) * w + cm(x, g) * w + (1 + cwc(x, g) | g)"


def test_recommended_models_get_no_advice() -> None:
    assert _hsb(RECOMMENDED_HSB).advice() == []
    assert _fit(RECOMMENDED_SIM, _simulated()).advice() == []
    # Precomputed centring is recognised from the data (cses, meanses).
    for case in ("hsb_crosslevel", "hsb_rb", "hsb_hybrid", "hsb_cmc", "hsb_empty"):
        assert fitted_case(case).advice() == [], case


def test_smushed_random_slope() -> None:
    res = _hsb("mathach ~ ses + meanses + (1 + ses | school)")
    (advice,) = _of_kind(res, "smushed_random_slope")
    assert advice.variables == ("ses", "school")
    assert advice.suggestion == "mathach ~ ses + meanses + (1 + cwc(ses, school) | school)"
    assert "smushed_random_slope" not in _kinds(_hsb(advice.suggestion))
    assert "smushed_random_slope" not in _kinds(fitted_case("hsb_hybrid"))
    sim = _fit("y ~ cwc(x, g) + cm(x, g) + (1 + x | g)", _simulated())
    assert _kinds(sim) == ["smushed_random_slope"]
    assert _kinds(_fit(sim.advice()[0].suggestion, _simulated())) == []


def test_smushed_fixed_effect() -> None:
    res = _hsb("mathach ~ ses + (1 | school)")
    (advice,) = _of_kind(res, "smushed_fixed_effect")
    assert advice.suggestion == "mathach ~ ses + cm(ses, school) + (1 | school)"
    assert _hsb(advice.suggestion).advice() == []
    assert _hsb("mathach ~ ses + meanses + (1 | school)").advice() == []
    sim = _fit("y ~ x + (1 | g)", _simulated())
    assert _kinds(sim) == ["smushed_fixed_effect"]
    assert _fit("y ~ x + cm(x, g) + (1 | g)", _simulated()).advice() == []


def test_smushed_cross_level() -> None:
    formula = "mathach ~ ses * catholic + meanses + (1 + cwc(ses, school) | school)"
    (advice,) = _of_kind(_hsb(formula), "smushed_cross_level")
    assert set(advice.variables) == {"ses", "catholic", "school"}
    assert advice.suggestion.endswith("meanses:catholic + (1 + cwc(ses, school) | school)")
    assert "smushed_cross_level" not in _kinds(_hsb(advice.suggestion))
    # cwc(x) in the interaction needs no matching cm(x) interaction.
    assert "smushed_cross_level" not in _kinds(_hsb(RECOMMENDED_HSB))
    sim = _fit("y ~ x * w + cm(x, g) + (1 + cwc(x, g) | g)", _simulated())
    assert _kinds(sim) == ["smushed_cross_level"]
    assert _fit(sim.advice()[0].suggestion, _simulated()).advice() == []


def test_cross_level_without_random_slope() -> None:
    res = fitted_case("hsb_crosslevel_int_ml")
    (advice,) = _of_kind(res, "cross_level_without_random_slope")
    assert "mlm.compare" in advice.message
    assert advice.suggestion == "mathach ~ cses * catholic + meanses + (1 + cses | school)"
    assert "cross_level_without_random_slope" not in _kinds(fitted_case("hsb_crosslevel"))
    sim = _fit("y ~ cwc(x, g) * w + cm(x, g) * w + (1 | g)", _simulated())
    assert _kinds(sim) == ["cross_level_without_random_slope"]
    assert sim.advice()[0].suggestion == RECOMMENDED_SIM


def test_singular_fit() -> None:
    (advice,) = _of_kind(fitted_case("dyestuff2_singular"), "singular_fit")
    assert "estimated as 0" in advice.message and "Batch" in advice.variables
    # the only random term: no formula to try (lme4 needs a random term), the message says so
    assert advice.suggestion == "" and "ordinary linear regression" in advice.message
    # a singular slope the data do not support gets one piece of advice, with the evidence
    singular = fitted_case("singular_slope")
    (sparse,) = singular.advice()
    assert sparse.kind == "sparse_clusters" and "also singular" in sparse.message
    assert "likelihood-ratio test" in sparse.message
    (corr,) = _of_kind(_fit("y ~ x + (1 + x | g)", _perfectly_correlated()), "singular_fit")
    assert corr.suggestion == "y ~ x + (1 + x || g)" and "perfectly correlated" in corr.message
    rng = np.random.default_rng(7)
    data = pd.DataFrame({"y": rng.normal(size=200), "g": np.repeat(np.arange(20), 10)})
    res = _fit("y ~ 1 + (1 | g)", data)
    assert res.is_singular  # no cluster variance in the simulation
    assert _kinds(res) == ["singular_fit"]
    assert "singular_fit" not in _kinds(fitted_case("hsb_crosslevel"))
    assert "singular_fit" not in _kinds(_fit(RECOMMENDED_SIM, _simulated()))


def test_sparse_clusters() -> None:
    data = reference_data("hsb")
    few = data[data["school"].isin(sorted(data["school"].unique())[:8])].copy()
    res = _fit("mathach ~ cses + meanses + (1 + cses | school)", few)
    (advice,) = _of_kind(res, "sparse_clusters")
    assert "8 clusters" in advice.message
    assert advice.suggestion == "mathach ~ cses + meanses + (1 | school)"
    assert "sparse_clusters" not in _kinds(_fit(advice.suggestion, few))
    small = _simulated().groupby("g").head(5)  # 60 clusters of 5
    assert "sparse_clusters" in _kinds(_fit(RECOMMENDED_SIM, small))
    assert "sparse_clusters" not in _kinds(_fit(RECOMMENDED_SIM, _simulated()))


def test_advice_object_text_and_escaped_html() -> None:
    a = Advice("smushed_fixed_effect", "x <b>bad</b> & co", "y ~ x + cm(x, g) + (1|g)", ("<x>",))
    html = a._repr_html_()
    assert "<b>bad</b>" not in html and "&lt;b&gt;bad&lt;/b&gt;" in html
    assert "&amp; co" in html and "smushed_fixed_effect" not in html
    assert str(a).startswith("Within- and between-cluster effects mixed in one slope: x <b>bad")
    assert "    Try: y ~ x + cm(x, g)" in str(a)
    with pytest.raises(AttributeError):
        a.kind = "other"  # frozen
    assert set(KINDS) == {
        "smushed_random_slope", "smushed_fixed_effect", "smushed_cross_level",
        "cross_level_without_random_slope", "slope_not_identified", "singular_fit",
        "sparse_clusters",
    }


# -- the random part: identification and evidence ----------------------------------------------
def test_slope_of_a_level2_variable_is_not_identified() -> None:
    res = _hsb("mathach ~ meanses + (1 + meanses | school)")
    (advice,) = res.advice()  # one piece of advice, not a correlation problem as well
    assert advice.kind == "slope_not_identified"
    assert "'meanses' does not vary within school clusters" in advice.message
    assert advice.suggestion == "mathach ~ meanses + (1 | school)"
    assert _hsb(advice.suggestion).advice() == []


def test_random_slope_the_data_support_is_not_advised_away() -> None:
    sleep = reference_data("sleepstudy")
    res = _fit("Reaction ~ Days + (Days | Subject)", sleep)
    assert res.ngroups["Subject"] == 18  # fewer than MIN_CLUSTERS ...
    table = mlm.compare(_fit("Reaction ~ Days + (1 | Subject)", sleep), res)
    assert table["p_mixture"].iloc[1] < 1e-8  # ... but the evidence shown beside it is strong
    assert res.advice() == []


def test_small_sample_caution_quotes_the_test_mlm_compare_gives() -> None:
    data = reference_data("hsb")
    few = data[data["school"].isin(sorted(data["school"].unique())[:8])].copy()
    res = _fit("mathach ~ cses + meanses + (1 + cses | school)", few)
    (advice,) = _of_kind(res, "sparse_clusters")
    p = mlm.compare(_fit(advice.suggestion, few), res)["p_mixture"].iloc[1]
    assert f"p = {p:.2f}, boundary-corrected" in advice.message
    assert "8 clusters" in advice.message and "mean reliability" in advice.message


# -- every suggestion parses and differs from the formula, for any column names ----------------
def _name_part():
    return st.from_regex(r"[a-z][a-z0-9]{0,3}", fullmatch=True).filter(
        lambda n: not keyword.iskeyword(n) and n not in {"cwc", "cm", "gmc", "center", "log",
                                                            "exp", "sqrt", "scale", "I", "C"})


def _column_name():
    """Plain (ses), dotted (ses.c), spaced (my var) or underscored (my_var) column names."""
    return st.builds(lambda a, sep, b: a if not sep else f"{a}{sep}{b}",
                     _name_part(), st.sampled_from(["", ".", " ", "_"]), _name_part())


def _column_names():
    return st.lists(_column_name(), min_size=5, max_size=5, unique=True)


TEMPLATES = [
    "{y} ~ {x} + (1 + {x} | {g})",
    "{y} ~ {x} * {w} + (1 | {g})",
    "{y} ~ {x} + {m} + (1 + {m} | {g})",
    "{y} ~ {x} * {w} + (1 + {x} | {g})",
]


@settings(max_examples=25, deadline=None)
@given(names=_column_names(), template=st.sampled_from(TEMPLATES))
def test_suggestions_parse_and_differ_for_any_column_names(names, template) -> None:
    from mlm_jupyter import parse
    from mlm_jupyter.formula_edit import quote

    data = _simulated().assign(m=lambda d: d.groupby("g")["x"].transform("mean"))
    data = data.rename(columns=dict(zip(["y", "x", "w", "g", "m"], names, strict=True)))
    formula = template.format(**{k: quote(n) for k, n in zip("yxwgm", names, strict=True)})
    res = _fit(formula, data)
    advice = res.advice()
    assert advice, formula  # each template has something to advise
    for a in advice:
        if "~" not in a.suggestion:
            continue
        spec = parse(a.suggestion)
        assert (spec.response, spec.fixed, spec.random) != (
            res.spec.response, res.spec.fixed, res.spec.random), a
        if not any("." in n for n in names):  # dotted names inside calls: see formula_edit
            _fit(a.suggestion, data)  # and it is a model that can be fitted
