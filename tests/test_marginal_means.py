"""Marginal means and pairwise comparisons against emmeans 1.8.4 (pbkrtest / lmerTest df).

References: tests/reference/effects2/mm_*.json (the shared cases) and effects2_more/mm_*.json
(make_more.R: two-valued numerics as specs and by, several specs, Satterthwaite factorial,
factor levels restricted by `at`, a crossed design, a numeric spec through I(x^2)).
Tolerances as tests/reference/effects2/README.md: estimates 1e-4 relative (floor 1e-3 SE),
bounds 1e-4 relative + 1e-3 half-width, SE/df/t 1e-3 relative, p 1e-3 absolute.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from effects2_reference import (
    assert_bounds,
    assert_estimate,
    assert_rel,
    case_files,
    data,
    fitted,
    load,
    same_contrast,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import mlm_jupyter as mlm

TABLES = [(path, k) for path in case_files("mm") for k in range(len(load(path)["tables"]))]


def _ids(item) -> str:
    path, k = item
    return f"{path.stem}-{k}"


def _call(path, k):
    case, table = load(path), load(path)["tables"][k]
    kw = {"level": table["level"], "ddf": case["df_method"]}
    if table["by"] is not None:
        kw["by"] = table["by"]
    if table["at"] is not None:
        kw["at"] = table["at"]
    return fitted(path), table, kw


def _match(frame: pd.DataFrame, row: dict, columns: list[str]) -> pd.Series:
    mask = np.ones(len(frame), dtype=bool)
    for col in columns:
        if isinstance(row[col], str):
            mask &= (frame[col] == row[col]).to_numpy()
        else:
            mask &= np.abs(frame[col].to_numpy(dtype=float) - row[col]) < 1e-9
    assert mask.sum() == 1, (row, frame[columns])
    return frame[mask].iloc[0]


@pytest.mark.parametrize("item", TABLES, ids=_ids)
def test_marginal_means_match_emmeans(item) -> None:
    res, table, kw = _call(*item)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # at outside the data: checked below
        out = res.marginal_means(table["specs"], **kw)
    ref = pd.DataFrame(table["emmeans"])
    assert list(out.columns) == [*table["level_columns"], "estimate", "std_error", "df",
                                 "lower", "upper"]
    assert len(out) == len(ref)
    L = out.attrs["linfct"].to_numpy()
    for i, row in ref.iterrows():
        got = _match(out, row.to_dict(), table["level_columns"])
        np.testing.assert_allclose(L[got.name], table["linfct"][i], atol=1e-10)
        assert_estimate(got["estimate"], row["estimate"], row["std_error"])
        assert_rel(got["std_error"], row["std_error"])
        assert_rel(got["df"], row["df"])
        half = (row["upper"] - row["lower"]) / 2
        assert_bounds([got["lower"], got["upper"]], [row["lower"], row["upper"]], half)
    averaged = [n for n in table["notes"] if n.startswith("Results are averaged")]
    assert [n for n in out.attrs["notes"] if n.startswith("Results are averaged")] == averaged


@pytest.mark.parametrize("adjust", ["tukey", "holm"])
@pytest.mark.parametrize("item", TABLES, ids=_ids)
def test_pairwise_match_emmeans_pairs(item, adjust) -> None:
    res, table, kw = _call(*item)
    kw.pop("level")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = res.pairwise(table["specs"], adjust=adjust, **kw)
    ref = [r for r in table["pairs"][adjust]["rows"] if r["contrast"] != "(nothing)"]
    assert len(out) == len(ref)
    by = table["by"] or []
    assert list(out.columns) == ["contrast", *by, "estimate", "std_error", "df", "t", "p",
                                 "lower", "upper"]
    for row in ref:
        mask = out["contrast"].map(lambda c, want=row["contrast"]: same_contrast(c, want))
        got = _match(out[mask.to_numpy()], row, by)
        assert_estimate(got["estimate"], row["estimate"], row["std_error"])
        assert_rel(got["std_error"], row["std_error"])
        assert_rel(got["df"], row["df"])
        assert_rel(got["t"], row["t"], abs_=1e-3)
        assert abs(got["p"] - row["p"]) <= 1e-3
    if ref:
        assert out.attrs["notes"][-1] == table["pairs"][adjust]["notes"][-1]


def test_contrast_labels_are_emmeans_own():
    """Labels equal emmeans' exactly, parentheses included (not only up to the README's rule)."""
    for path in case_files("mm"):
        res = fitted(path)
        for k, table in enumerate(load(path)["tables"]):
            _, _, kw = _call(path, k)
            kw.pop("level")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = res.pairwise(table["specs"], adjust="none", **kw)
            want = [r["contrast"] for r in table["pairs"]["holm"]["rows"]
                    if r["contrast"] != "(nothing)"]
            assert sorted(set(out["contrast"])) == sorted(set(want)), path.stem


def test_bonferroni_sidak_none_follow_their_definitions():
    path = next(p for p in case_files("mm") if p.stem == "mm_oats_factorial")
    res = fitted(path)
    raw = res.pairwise("nitro_f", by="Variety", adjust="none")
    p = 2 * stats.t.sf(np.abs(raw["t"]), raw["df"])
    np.testing.assert_allclose(raw["p"], p, rtol=1e-12)
    bonf = res.pairwise("nitro_f", by="Variety", adjust="bonferroni")
    np.testing.assert_allclose(bonf["p"], np.minimum(1, 6 * p), rtol=1e-12)
    sidak = res.pairwise("nitro_f", by="Variety", adjust="sidak")
    np.testing.assert_allclose(sidak["p"], 1 - (1 - p) ** 6, rtol=1e-10)
    ref = pd.DataFrame(load(path)["tables"][0]["pairs"]["holm"]["rows"])
    holm_ref = ref.groupby("Variety")["p"].apply(list)
    # emmeans' Holm equals p.adjust(p_none, "holm") within each Variety, so ours must too
    holm = res.pairwise("nitro_f", by="Variety", adjust="holm")
    for variety, values in holm_ref.items():
        np.testing.assert_allclose(sorted(holm.loc[holm["Variety"] == variety, "p"]),
                                   sorted(values), atol=1e-3)


def test_response_type_equals_link_for_a_linear_mixed_model():
    res = fitted(case_files("mm")[0])
    link = res.marginal_means("denomina", ddf="satterthwaite")
    response = res.marginal_means("denomina", ddf="satterthwaite", type="response")
    pd.testing.assert_frame_equal(link, response)
    with pytest.raises(ValueError, match="type must be 'link' or 'response'"):
        res.marginal_means("denomina", type="probability")


def test_asymptotic_ddf_uses_z():
    res = fitted(case_files("mm")[0])
    out = res.marginal_means("denomina", ddf="asymptotic")
    assert np.isinf(out["df"]).all()
    z = stats.norm.ppf(0.975)
    np.testing.assert_allclose(out["upper"] - out["estimate"], z * out["std_error"])
    sat = res.marginal_means("denomina", ddf="satterthwaite")
    np.testing.assert_allclose(out["std_error"], sat["std_error"], rtol=1e-12)


# ---- bad input ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def oats():
    return fitted(next(p for p in case_files("mm") if p.stem == "mm_oats_numeric"))


def test_specs_not_a_factor_names_the_models_factors(oats):
    with pytest.raises(ValueError, match=r"'nitrogen'.*not a factor.*\['Variety'\]"):
        oats.marginal_means("nitrogen")
    with pytest.raises(ValueError, match="grouping factor"):
        oats.pairwise("Block")
    with pytest.raises(ValueError, match="by names 'Varety'"):
        oats.marginal_means("Variety", by="Varety")


def test_at_outside_the_data_is_allowed_with_a_note(oats):
    with pytest.warns(UserWarning, match="outside the data"):
        out = oats.marginal_means("Variety", at={"nitro": [0.3, 1.2]}, by="nitro")
    assert any("outside the data" in n for n in out.attrs["notes"])
    assert len(out) == 6 and np.isfinite(out["estimate"]).all()


def test_bad_at_values_are_specific(oats):
    with pytest.raises(ValueError, match=r"at\['Variety'\] has level\(s\) \['Oats'\]"):
        oats.marginal_means("Variety", at={"Variety": ["Victory", "Oats"]})
    with pytest.raises(ValueError, match="must be numbers"):
        oats.marginal_means("Variety", at={"nitro": ["high"]})
    with pytest.raises(ValueError, match="does not use"):
        oats.marginal_means("Variety", at={"rain": [1]})
    with pytest.raises(ValueError, match="adjust must be one of"):
        oats.pairwise("Variety", adjust="scheffe")
    with pytest.raises(ValueError, match="ddf must be one of"):
        oats.marginal_means("Variety", ddf="welch")


def test_formula_specs_and_levels_subset(oats):
    a = oats.marginal_means("~ Variety | nitro", at={"nitro": [0, 0.6]}, ddf="satterthwaite")
    b = oats.marginal_means("Variety", by="nitro", at={"nitro": [0, 0.6]}, ddf="satterthwaite")
    pd.testing.assert_frame_equal(a, b)
    sub = oats.marginal_means("Variety", at={"Variety": ["Victory", "Marvellous"]})
    assert list(sub["Variety"]) == ["Victory", "Marvellous"]


def test_rank_deficient_cells_are_not_estimable():
    path = next(p for p in case_files("mm") if p.stem == "mm_oats_factorial")
    df = data(path)
    empty = (df["Variety"] == "Victory") & (df["nitro_f"] == "0.6cwt")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mlm.fit("yield ~ Variety * nitro_f + (1 | Block/Variety)", df[~empty])
    out = res.marginal_means("nitro_f", by="Variety", ddf="satterthwaite")
    missing = (out["Variety"] == "Victory") & (out["nitro_f"] == "0.6cwt")
    assert out.loc[missing, "estimate"].isna().all()
    assert out.loc[~missing, "estimate"].notna().all()
    assert any("not estimable" in n for n in out.attrs["notes"])
    # an estimable cell keeps its cell mean (a saturated factorial: the cell's average yield)
    cell = df[~empty].query("Variety == 'Victory' and nitro_f == '0.4cwt'")["yield"].mean()
    got = out.loc[(out["Variety"] == "Victory") & (out["nitro_f"] == "0.4cwt"), "estimate"]
    assert float(got.iloc[0]) == pytest.approx(cell, rel=1e-8)


# ---- what must not matter -----------------------------------------------------------------
@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 2**16), shift=st.floats(-50, 50), scale=st.sampled_from([0.1, 3.0]),
       prefix=st.sampled_from(["", "v_", "Sorte "]))
def test_row_order_units_offset_and_label_spelling_do_not_matter(seed, shift, scale, prefix):
    path = next(p for p in case_files("mm") if p.stem == "mm_oats_factorial")
    base = fitted(path).marginal_means("Variety", ddf="satterthwaite")
    df = data(path).sample(frac=1.0, random_state=seed).copy()
    df["yield"] = df["yield"] * scale + shift
    df["Variety"] = prefix + df["Variety"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mlm.fit("yield ~ Variety * nitro_f + (1 | Block/Variety)", df)
    out = res.marginal_means("Variety", ddf="satterthwaite")
    assert list(out["Variety"]) == [prefix + v for v in base["Variety"]]
    np.testing.assert_allclose(out["estimate"], base["estimate"] * scale + shift, rtol=1e-6)
    np.testing.assert_allclose(out["std_error"], base["std_error"] * scale, rtol=1e-5)
    np.testing.assert_allclose(out["df"], base["df"], rtol=1e-4)
    pairs = res.pairwise("Variety", ddf="satterthwaite")
    base_pairs = fitted(path).pairwise("Variety", ddf="satterthwaite")
    np.testing.assert_allclose(pairs["p"], base_pairs["p"], atol=1e-6)


def test_user_data_is_not_modified(oats):
    path = next(p for p in case_files("mm") if p.stem == "mm_oats_numeric")
    before = data(path).copy()
    oats.marginal_means("Variety", by="nitro", at={"nitro": [0, 0.6]})
    oats.pairwise("Variety")
    pd.testing.assert_frame_equal(data(path), before)


# ---- the fit's own coding of factor columns; display tables ---------------------------------
def _oats_variety(kind: str, order: list[str]) -> pd.DataFrame:
    path = next(p for p in case_files("mm") if p.stem == "mm_oats_factorial")
    df = data(path).copy()
    if kind == "categorical":
        df["Variety"] = pd.Categorical(df["Variety"], categories=order)
    elif kind == "string":
        df["Variety"] = df["Variety"].astype("string")
    elif kind == "pyarrow":
        df["Variety"] = df["Variety"].astype("string[pyarrow]")
    return df


@settings(max_examples=4, deadline=None, derandomize=True)
@given(kind=st.sampled_from(["object", "categorical", "string", "pyarrow"]),
       order=st.permutations(["Golden Rain", "Marvellous", "Victory"]))
def test_factor_dtype_and_category_order_do_not_change_the_means(kind, order):
    """Text, pandas string or pyarrow columns and categoricals give the same means per level;
    rows follow the fit's level order (a categorical's categories, else sorted text)."""
    path = next(p for p in case_files("mm") if p.stem == "mm_oats_factorial")
    base = fitted(path).marginal_means("Variety", ddf="satterthwaite").set_index("Variety")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mlm.fit("yield ~ Variety * nitro_f + (1 | Block/Variety)", _oats_variety(kind, order))
    out = res.marginal_means("Variety", ddf="satterthwaite")
    want = order if kind == "categorical" else sorted(order)
    assert list(out["Variety"]) == want
    got = out.set_index("Variety").loc[base.index]
    np.testing.assert_allclose(got["estimate"], base["estimate"], rtol=1e-8)
    np.testing.assert_allclose(got["std_error"], base["std_error"], rtol=1e-6)
    sub = res.marginal_means("nitro_f", by="Variety", at={"Variety": [order[0]]},
                             ddf="satterthwaite")
    assert set(sub["Variety"]) == {order[0]} and len(sub) == 4


def test_boolean_and_coerced_factors_are_coded_as_the_fit_coded_them():
    path = next(p for p in case_files("mm") if p.stem == "mm_oats_numeric")
    df = data(path).copy()
    df["high"] = df["nitro"] > 0.3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mlm.fit("yield ~ Variety + high + (1 | Block)", df)
    out = res.marginal_means("high", ddf="satterthwaite")
    assert list(out["high"]) == ["FALSE", "TRUE"]
    beta = res.fixef
    means_v = beta["(Intercept)"] + (beta["VarietyMarvellous"] + beta["VarietyVictory"]) / 3
    np.testing.assert_allclose(out["estimate"], [means_v, means_v + beta["highTRUE"]])
    assert list(res.pairwise("high", at={"high": [True, "FALSE"]}, ddf="satterthwaite")
                ["contrast"]) == ["TRUE - FALSE"]
    coerced = fitted(next(p for p in case_files("mm") if p.stem == "mm_oats_coerced"))
    with pytest.raises(ValueError, match=r"at\['nitro'\] has level\(s\) \[0.3\]"):
        coerced.marginal_means("nitro", at={"nitro": [0.3]})
    picked = coerced.marginal_means("nitro", at={"nitro": ["0.6", 0]})
    assert list(picked["nitro"]) == [0.6, 0.0]


def test_tables_display_with_their_notes():
    from mlm_jupyter.frames import ResultFrame

    path = next(p for p in case_files("mm") if p.stem == "mm_oats_offset")
    res = fitted(path)
    means = res.marginal_means("Variety", ddf="satterthwaite")
    pairs = res.pairwise("Variety", ddf="satterthwaite")
    for table in (means, pairs):
        assert isinstance(table, ResultFrame)
        assert table.notes == table.attrs["notes"]
        assert all(note in repr(table) for note in table.notes)
    assert any("Offset held at its mean" in n for n in means.notes)
    assert not any("Offset" in n for n in pairs.notes)  # differences do not involve it
    assert "linfct" in means.attrs
    means["estimate"] = 0.0  # a copy: the next call is unaffected
    assert (res.marginal_means("Variety", ddf="satterthwaite")["estimate"] > 50).all()
