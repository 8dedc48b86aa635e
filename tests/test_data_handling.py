"""Data validation, missing values, naming and predictions (issue: foundation)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import fitted_case, reference_case, reference_data

import mlm_jupyter as mlm
from mlm_jupyter import FormulaError, MixedModelWarning


def quiet_fit(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mlm.fit(*args, **kwargs)


def test_missing_values_dropped_counted_and_frame_untouched(sleepstudy):
    df = sleepstudy.copy()
    df.loc[[3, 50, 51], "Reaction"] = np.nan
    df.loc[100, "Days"] = np.nan
    before = df.copy()
    with pytest.warns(MixedModelWarning, match="4 row"):
        res = mlm.fit("Reaction ~ Days + (Days | Subject)", df)
    pd.testing.assert_frame_equal(df, before)
    assert res.n_dropped == 4
    assert res.nobs == 176
    assert list(res.fitted().index) == [i for i in df.index if i not in (3, 50, 51, 100)]
    # The fit equals a fit on the complete rows.
    complete = quiet_fit("Reaction ~ Days + (Days | Subject)", df.dropna())
    assert res.objective == pytest.approx(complete.objective, abs=1e-8)


def test_rows_missing_only_in_unused_columns_are_kept(sleepstudy):
    df = sleepstudy.assign(unused=np.nan)
    res = quiet_fit("Reaction ~ Days + (Days | Subject)", df)
    assert res.n_dropped == 0 and res.nobs == 180


@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda d: d.assign(Days=d["Days"].where(d.index != 5, np.inf)), "Days.*infinite"),
        (
            lambda d: d.assign(Reaction=d["Reaction"].astype(str)),
            "response 'Reaction' is not numeric",
        ),
        (lambda d: d.iloc[:0], "empty"),
        (lambda d: d.assign(Subject="one"), "'Subject' has 1 level"),
    ],
)
def test_bad_data_gets_a_specific_error(sleepstudy, mutate, match):
    with pytest.raises(ValueError, match=match):
        mlm.fit("Reaction ~ Days + (Days | Subject)", mutate(sleepstudy.copy()))


def test_more_random_effects_than_observations():
    df = pd.DataFrame({"y": [1.0, 2, 3, 4, 5, 6], "x": [1.0, 2, 3, 1, 2, 3], "g": list("aabbcc")})
    with pytest.raises(ValueError, match=r"\(1 \+ x \| g\).*6 random effects for 6 observations"):
        mlm.fit("y ~ x + (1 + x | g)", df)
    with pytest.raises(ValueError, match="levels for 6 observations"):
        mlm.fit("y ~ x + (1 | id)", df.assign(id=range(6)))


def test_unknown_column_suggests_close_names(sleepstudy):
    with pytest.raises(FormulaError) as info:
        mlm.fit("Reaction ~ Dayz + (Days | Subject)", sleepstudy)
    text = str(info.value)
    assert "Dayz" in text and "Days" in text
    with pytest.raises(FormulaError, match="Subjct"):
        mlm.fit("Reaction ~ Days + (Days | Subjct)", sleepstudy)


@pytest.mark.parametrize(
    "convert",
    [
        lambda s: s.astype(int),
        lambda s: s.astype(float),
        lambda s: s.astype("category"),
        lambda s: "S" + s,
    ],
)
def test_any_dtype_can_group(sleepstudy, convert):
    ref = fitted_case("sleep_slope_reml")
    res = quiet_fit(
        "Reaction ~ Days + (Days | Subject)",
        sleepstudy.assign(Subject=convert(sleepstudy["Subject"])),
    )
    assert res.objective == pytest.approx(ref.objective, abs=1e-8)
    assert all(isinstance(level, str) for level in res.ranef["Subject"].index)


def test_rank_deficient_fixed_effects_dropped_with_message(sleepstudy):
    df = sleepstudy.assign(Days2=2 * sleepstudy["Days"])
    with pytest.warns(MixedModelWarning, match="rank deficient.*Days2"):
        res = mlm.fit("Reaction ~ Days + Days2 + (Days | Subject)", df)
    assert list(res.fixef.index) == ["(Intercept)", "Days"]
    assert res.objective == pytest.approx(reference_case("sleep_slope_reml")["objective"], abs=1e-3)


def test_categorical_predictor_r_names_and_treatment_contrasts(hsb):
    df = hsb.assign(
        sesgrp=pd.cut(hsb["ses"], [-10, -0.5, 0.5, 10], labels=["low", "mid", "high"]).astype(str)
    )
    res = quiet_fit("mathach ~ sesgrp * cses + (1 | school)", df)
    # Levels sorted as R's factor(): high < low < mid; "high" is the reference level.
    assert list(res.fixef.index) == [
        "(Intercept)",
        "sesgrplow",
        "sesgrpmid",
        "cses",
        "sesgrplow:cses",
        "sesgrpmid:cses",
    ]


def test_interaction_names_follow_variable_order_as_r():
    ref = reference_case("hsb_rb")
    assert list(fitted_case("hsb_rb").fixef.index) == ref["fixef_names"]


def test_power_inside_I_is_arithmetic(sleepstudy):
    res = quiet_fit("Reaction ~ Days + I(Days^2) + (Days | Subject)", sleepstudy)
    assert list(res.fixef.index) == ["(Intercept)", "Days", "I(Days^2)"]
    direct = quiet_fit(
        "Reaction ~ Days + D2 + (Days | Subject)", sleepstudy.assign(D2=sleepstudy["Days"] ** 2)
    )
    np.testing.assert_allclose(res.fixef.to_numpy(), direct.fixef.to_numpy(), rtol=1e-8)


def test_refit_switches_to_ml_and_matches_lme4():
    ml = fitted_case("sleep_slope_reml").refit(reml=False)
    assert ml.objective == pytest.approx(reference_case("sleep_slope_ml")["objective"], abs=1e-3)
    assert not ml.reml


def test_predict_new_data_and_new_levels(sleepstudy):
    res = fitted_case("sleep_slope_reml")
    new = pd.DataFrame({"Days": [0.0, 5.0, 5.0], "Subject": ["308", "308", "999"]})
    pred = res.predict(new)
    coef = res.coef["Subject"].loc["308"]
    assert pred[0] == pytest.approx(coef["(Intercept)"])
    assert pred[1] == pytest.approx(coef["(Intercept)"] + 5 * coef["Days"])
    assert pred[2] == pytest.approx(res.fixef["(Intercept)"] + 5 * res.fixef["Days"])
    np.testing.assert_allclose(res.predict(new, include_re=False)[1:], pred[2])
    np.testing.assert_allclose(res.predict(), res.fitted().to_numpy())


def test_load_dataset_ships_the_reference_data():
    for name in ["sleepstudy", "hsb", "pastes", "penicillin", "dyestuff"]:
        df = mlm.load_dataset(name)
        pd.testing.assert_frame_equal(df, reference_data(name), check_dtype=False)
    with pytest.raises(ValueError, match="Unknown data set 'nope'"):
        mlm.load_dataset("nope")


def test_result_is_immutable():
    res = fitted_case("dyestuff_reml")
    with pytest.raises(AttributeError):
        res.sigma = 1.0  # type: ignore[misc]


def test_tau_matrix_matches_varcorr():
    res = fitted_case("hsb_crosslevel")
    tau = res.tau("school")
    ref = reference_case("hsb_crosslevel")["varcorr"]
    assert tau.loc["(Intercept)", "(Intercept)"] == pytest.approx(ref[0]["vcov"], rel=1e-4)
    assert tau.loc["cses", "cses"] == pytest.approx(ref[1]["vcov"], rel=2e-3)
    assert tau.loc["cses", "(Intercept)"] == pytest.approx(ref[2]["vcov"], rel=2e-3)
    with pytest.raises(KeyError, match="not a grouping factor"):
        res.tau("district")
