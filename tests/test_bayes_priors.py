"""Priors in brms' vocabulary: parsing, brms' data-dependent defaults, centring, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlm_jupyter.bayes.distributions import PriorError, parse_distribution
from mlm_jupyter.bayes.names import brms_coef, parameter_names
from mlm_jupyter.bayes.priors import default_scale, resolve_priors
from mlm_jupyter.design import build_design
from mlm_jupyter.formula import parse

REF = Path(__file__).parent / "reference"


@pytest.fixture(scope="module")
def sleep_design():
    data = pd.read_csv(REF / "data" / "sleepstudy.csv", dtype={"Subject": str})
    return build_design(parse("Reaction ~ Days + (Days | Subject)"), data)


def _resolve(priors, design, center=None):
    return resolve_priors(priors, design, parameter_names(design), center)


@pytest.mark.parametrize("text, family, args", [
    ("normal(0, 10)", "normal", (0.0, 10.0)),
    (" student_t(3,0,2.5) ", "student_t", (3.0, 0.0, 2.5)),
    ("lkj_corr_cholesky(2)", "lkj", (2.0,)),
    ("", "flat", ()),
    ("(flat)", "flat", ()),
    ("exponential(1e-1)", "exponential", (0.1,)),
])
def test_parse(text, family, args):
    d = parse_distribution(text, "x")
    assert (d.family, d.args) == (family, args)


@pytest.mark.parametrize("text, words", [
    ("normal(0)", "takes 2 argument"),
    ("normal(0, -1)", "sigma must be > 0"),
    ("gaussian(0, 1)", "unknown distribution 'gaussian'"),
    ("normal 0 1", "not of the form"),
    ("normal(a, 1)", "must be numbers"),
    ("lkj(0)", "eta must be > 0"),
])
def test_parse_errors_say_what_is_wrong(text, words):
    with pytest.raises(PriorError, match=words):
        parse_distribution(text, "b")


def test_brms_default_priors_from_the_data(sleep_design):
    """brms 2.18's get_prior(Reaction ~ Days + (Days | Subject), sleepstudy): Intercept
    student_t(3, 288.7, 59.3) on the centred intercept, b flat, sd and sigma
    student_t(3, 0, 59.3), cor lkj(1)."""
    assert default_scale(sleep_design.y) == (288.7, 59.3)
    ps = _resolve(None, sleep_design)
    assert ps.center
    table = ps.table.set_index("parameter")["prior"]
    assert table["Intercept (centred)"] == "student_t(3, 288.7, 59.3)"
    assert table["b_Days"] == "(flat)"
    assert table["sd_Subject__Intercept"] == table["sigma"] == "student_t(3, 0, 59.3)"
    assert table["cor_Subject"] == "lkj(1)"
    assert set(ps.table["source"]) == {"default"}
    # the scale is at least 2.5 (brms' floor) for a response with a small spread
    assert default_scale(np.array([0.0, 0.1, 0.2, 0.3]))[1] == 2.5


def test_centring_rule(sleep_design):
    ref = {"b": "normal(0, 10)", "sd": "student_t(3, 0, 10)", "cor": "lkj(1)",
           "sigma": "student_t(3, 0, 10)"}
    ps = _resolve(ref, sleep_design)  # b but no Intercept: brms' center = FALSE
    assert not ps.center and str(ps.beta[0]) == "normal(0, 10)"
    ps = _resolve({**ref, "Intercept": "normal(250, 50)"}, sleep_design)
    assert ps.center and str(ps.beta[0]) == "normal(250, 50)" and str(ps.beta[1]) == \
        "normal(0, 10)"
    ps = _resolve(ref, sleep_design, center=True)  # explicit: brms' default Intercept prior
    assert ps.center and ps.beta[0].family == "student_t"
    ps = _resolve({"b_Days": "normal(10, 2)", "sd_Subject__Days": "exponential(1)"},
                  sleep_design)
    assert str(ps.beta[1]) == "normal(10, 2)" and str(ps.sd[1]) == "exponential(1)"
    assert ps.sd[0].family == "student_t"


def test_unknown_class_and_parameter_names(sleep_design):
    with pytest.raises(PriorError, match="Did you mean 'sigma'"):
        _resolve({"sigm": "normal(0, 1)"}, sleep_design)
    with pytest.raises(PriorError, match="Unknown prior class or parameter 'b_day'"):
        _resolve({"b_day": "normal(0, 1)"}, sleep_design)
    with pytest.raises(PriorError, match="must be a dict"):
        _resolve(["b", "normal(0, 1)"], sleep_design)


def test_improper_or_misplaced_priors_are_refused(sleep_design):
    with pytest.raises(PriorError, match="improper posterior"):
        _resolve({"sd": ""}, sleep_design)
    with pytest.raises(PriorError, match="not available for the fixed effect"):
        _resolve({"b": "exponential(1)"}, sleep_design)
    with pytest.raises(PriorError, match="LKJ prior"):
        _resolve({"cor": "normal(0, 1)"}, sleep_design)
    with pytest.raises(PriorError, match="for correlations"):
        _resolve({"sigma": "lkj(1)"}, sleep_design)
    # a flat prior on sigma is proper here (180 rows, 36 random effects) ...
    assert _resolve({"sigma": "flat"}, sleep_design).sigma.is_flat
    # ... but not when the random effects can absorb every observation
    tiny = pd.DataFrame({"y": [1.0, 2.0, 3.5, 2.5, 0.5], "g": ["a", "a", "b", "c", "d"]})
    design = build_design(parse("y ~ 1 + (1 | g)"), tiny)
    with pytest.raises(PriorError, match="flat prior on sigma"):
        _resolve({"sigma": ""}, design)


def test_no_intercept_model_rejects_an_intercept_prior():
    data = pd.read_csv(REF / "data" / "sleepstudy.csv", dtype={"Subject": str})
    design = build_design(parse("Reaction ~ 0 + Days + (1 | Subject)"), data)
    with pytest.raises(PriorError, match="no intercept"):
        _resolve({"Intercept": "normal(0, 1)"}, design)
    # class keys that name nothing in this model (no correlations) are ignored, like brms
    assert _resolve({"cor": "lkj(2)", "b": "normal(0, 5)"}, design).cor == {}


@pytest.mark.parametrize("lme4, brms", [
    ("(Intercept)", "Intercept"), ("cses:catholic", "cses:catholic"), ("I(Days^2)", "IDaysE2"),
    ("poly(x, 2)1", "polyx21"), ("sexFemale", "sexFemale"), ("log(x + 1)", "logxP1"),
])
def test_brms_names(lme4, brms):
    assert brms_coef(lme4) == brms


def test_parameter_names_nested_and_crossed():
    data = pd.read_csv(REF / "data" / "pastes.csv", dtype={"batch": str, "cask": str})
    names = parameter_names(build_design(parse("strength ~ 1 + (1 | batch/cask)"), data))
    assert [s.name for s in names.sds] == ["sd_cask:batch__Intercept", "sd_batch__Intercept"]
    assert names.all[-1] == "sigma" and names.fixed == ("b_Intercept",)
