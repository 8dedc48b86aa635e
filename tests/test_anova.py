"""``res.anova()`` equals lmerTest's ``anova(m, type, ddf)``: hypotheses, F, df and p.

References: ``tests/reference/anova/`` (lme4 1.1-31, lmerTest, pbkrtest; made by
``make_anova_reference.R``): split-plot and factorial designs (oats, cake), a random-slope
model with a factor-by-covariate interaction and a three-way interaction (bdf), and ordered
factors (polynomial contrasts), for Type I, II and III with Satterthwaite and Kenward-Roger.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mlm_jupyter as mlm

REF_DIR = Path(__file__).parent / "reference"
REF = json.loads((REF_DIR / "anova" / "anova_reference.json").read_text())
BANDS = np.array(["early", "early", "mid", "mid", "mid", "late", "late", "late", "end", "end"])


def _data(name: str) -> pd.DataFrame:
    if name == "oats":
        return pd.read_csv(REF_DIR / "effects2" / "data" / "oats.csv")
    if name == "cake":
        d = pd.read_csv(REF_DIR / "textbook" / "data" / "cake.csv",
                        dtype={"recipe": str, "temperature": str, "replicate": str})
        d["temp_o"] = pd.Categorical(d["temperature"], ordered=True,
                                     categories=sorted(d["temperature"].unique()))
        return d
    if name == "bdf":
        return pd.read_csv(REF_DIR / "effects2" / "data" / "bdf.csv", dtype={"school": str})
    d = pd.read_csv(REF_DIR / "data" / "sleepstudy.csv")
    d["band"] = pd.Categorical(BANDS[d["Days"]], categories=["early", "mid", "late", "end"],
                               ordered=True)
    return d


@pytest.fixture(scope="module")
def fits() -> dict:
    return {key: mlm.fit(case["formula"], _data(case["data"]), warn=False)
            for key, case in REF.items()}


CASES = [(key, kind, ddf) for key in REF for kind in (1, 2, 3)
         for ddf in ("satterthwaite", "kenward-roger")]


@pytest.mark.parametrize("key, kind, ddf", CASES, ids=[f"{k}-type{t}-{d}" for k, t, d in CASES])
def test_anova_table_equals_lmertest(fits: dict, key: str, kind: int, ddf: str) -> None:
    res = fits[key]
    want = REF[key][f"type{kind}_{ddf.replace('-', '_')}"]
    got = res.anova(type=kind, ddf=ddf)
    assert list(got.index) == want["terms"]
    np.testing.assert_array_equal(got["num_df"].to_numpy(), want["num_df"])
    # Tolerances: the optimum agrees with lme4's to ~1e-6 relative; df and F inherit it.
    np.testing.assert_allclose(got["F"].to_numpy(), want["F"], rtol=5e-5)
    np.testing.assert_allclose(got["den_df"].to_numpy(), want["den_df"], rtol=2e-4)
    np.testing.assert_allclose(got["sum_sq"].to_numpy(), want["sum_sq"], rtol=5e-5)
    np.testing.assert_allclose(got["mean_sq"].to_numpy(), want["mean_sq"], rtol=5e-5)
    np.testing.assert_allclose(got["p"].to_numpy(), want["p"], rtol=2e-3, atol=1e-12)


HYP = [(key, kind) for key in REF for kind in (1, 2, 3)]


@pytest.mark.parametrize("key, kind", HYP, ids=[f"{k}-type{t}" for k, t in HYP])
def test_hypothesis_matrices_equal_lmertest(fits: dict, key: str, kind: int) -> None:
    got = fits[key].anova(type=kind).attrs["hypotheses"]
    want = REF[key][f"hypotheses_type{kind}"]
    p = len(REF[key]["fixef_names"])
    assert list(got) == list(want)
    for term, rows in want.items():
        expected = np.asarray(rows, dtype=float).reshape(-1, p)
        np.testing.assert_allclose(got[term].to_numpy(), expected, atol=1e-6, err_msg=term)


def test_type3_does_not_depend_on_the_contrast_coding(fits: dict) -> None:
    ordered = fits["cake_ordered"].anova()
    treatment = fits["cake_split"].anova()
    # Two fits of one model (the codings' REML criteria differ by a constant): equal to the
    # optimiser's tolerance.
    np.testing.assert_allclose(ordered["F"].to_numpy(), treatment["F"].to_numpy(), rtol=1e-5)
    np.testing.assert_allclose(ordered["den_df"].to_numpy(), treatment["den_df"].to_numpy(),
                               rtol=1e-4)


def test_anova_is_invariant_to_units_and_row_order(fits: dict) -> None:
    data = _data("bdf")
    base = fits["bdf_mixed"].anova()
    shuffled = data.sample(frac=1.0, random_state=3).assign(IQ_verb=lambda d: d.IQ_verb * 1000)
    moved = mlm.fit(REF["bdf_mixed"]["formula"], shuffled, warn=False).anova()
    np.testing.assert_allclose(moved["F"].to_numpy(), base["F"].to_numpy(), rtol=1e-5)
    np.testing.assert_allclose(moved["den_df"].to_numpy(), base["den_df"].to_numpy(), rtol=1e-4)


def test_anova_bad_arguments_get_specific_messages(fits: dict) -> None:
    res = fits["oats_factorial"]
    with pytest.raises(ValueError, match="type must be 1, 2 or 3"):
        res.anova(type=4)
    with pytest.raises(ValueError, match="Satterthwaite's or Kenward-Roger's"):
        res.anova(ddf="residual")
    ml = res.refit(reml=False)
    with pytest.raises(ValueError, match="REML fit"):
        ml.anova(ddf="kenward-roger")
    assert list(ml.anova(type="III").index) == REF["oats_factorial"]["type3_satterthwaite"]["terms"]


def test_anova_displays_as_lmertest_heading(fits: dict) -> None:
    text = repr(fits["oats_factorial"].anova())
    assert "Type III Analysis of Variance Table with Satterthwaite's method" in text
    assert "Variety:nitro_f" in text


def test_anova_of_a_glmm_says_what_to_use_instead() -> None:
    sleep = _data("sleep")
    binary = sleep.assign(slow=(sleep["Reaction"] > 300).astype(int))
    res = mlm.fit("slow ~ Days + (1 | Subject)", binary, family="binomial", warn=False)
    with pytest.raises(ValueError, match=r"mlm.compare"):
        res.anova()
