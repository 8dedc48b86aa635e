"""The engine against lme4 1.1-31 on every case in tests/reference/lme4.

Tolerances (from tests/reference/README.md): objective 1e-3 absolute; fixed effects and
variance components 1e-4 relative (1e-3 on singular fits, whose optimum is flat); standard
errors, conditional modes and conditional SDs 1e-3 relative.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import case_ids, fitted_case, reference_case

CASES = case_ids()


def _vc_tolerance(ref: dict) -> float:
    return 1e-3 if ref["is_singular"] else 1e-4


def _flat_tolerance(ref: dict, res) -> float:
    """1e-4 relative, or 2e-3 where lme4's optimizer stopped on a flat ridge.

    On hsb's slope variance the REML surface is so flat that lme4's default stopping rule
    leaves ~0.1% in the slope SD.  We accept the wider tolerance only when our criterion is
    no worse than lme4's and lme4's own θ is within 1e-5 of our optimum, i.e. the two
    estimates are equally good optima of the same function.
    """
    at_lme4 = res.engine(np.asarray(ref["theta"], dtype=float))
    flat = res.objective <= ref["objective"] + 1e-8 and at_lme4 - res.objective < 1e-5
    return max(_vc_tolerance(ref), 2e-3 if flat else 0.0)


@pytest.mark.parametrize("case_id", CASES)
def test_objective_and_likelihood(case_id: str) -> None:
    ref, res = reference_case(case_id), fitted_case(case_id)
    assert res.objective == pytest.approx(ref["objective"], abs=1e-3)
    assert res.loglik == pytest.approx(ref["loglik"], abs=1e-3)
    assert res.aic == pytest.approx(ref["aic"], abs=1e-3)
    assert res.bic == pytest.approx(ref["bic"], abs=1e-3)
    assert res.npar == ref["npar"]
    assert res.nobs == ref["nobs"]
    assert res.ngroups == ref["ngroups"]
    assert res.reml == ref["reml"]


@pytest.mark.parametrize("case_id", CASES)
def test_fixed_effects(case_id: str) -> None:
    ref, res = reference_case(case_id), fitted_case(case_id)
    assert list(res.fixef.index) == ref["fixef_names"]
    np.testing.assert_allclose(
        res.fixef.to_numpy(), ref["fixef"], rtol=_vc_tolerance(ref), atol=1e-10
    )
    se = np.sqrt(np.diag(res.vcov.to_numpy()))
    np.testing.assert_allclose(se, ref["se"], rtol=1e-3)
    np.testing.assert_allclose(res.vcov.to_numpy(), ref["vcov"], rtol=2e-3, atol=1e-8)


@pytest.mark.parametrize("case_id", CASES)
def test_variance_components(case_id: str) -> None:
    ref, res = reference_case(case_id), fitted_case(case_id)
    tol = _flat_tolerance(ref, res)
    assert res.sigma == pytest.approx(ref["sigma"], rel=tol)
    table = res.varcorr
    assert list(table["group"]) == [r["grp"] for r in ref["varcorr"]]
    assert ["" if pd.isna(v) else v for v in table["var1"]] == [r["var1"] for r in ref["varcorr"]]
    assert ["" if pd.isna(v) else v for v in table["var2"]] == [r["var2"] for r in ref["varcorr"]]
    ref_vcov = np.array([r["vcov"] for r in ref["varcorr"]])
    ref_sdcor = np.array([r["sdcor"] for r in ref["varcorr"]])
    # Variances relative; covariances near zero need an absolute floor scaled to the variances.
    scale = np.max(np.abs(ref_vcov))
    np.testing.assert_allclose(
        table["vcov"].to_numpy(), ref_vcov, rtol=tol, atol=tol * 1e-2 * scale
    )
    np.testing.assert_allclose(table["sdcor"].to_numpy(), ref_sdcor, rtol=tol, atol=tol * 1e-2)
    np.testing.assert_allclose(
        res.theta, ref["theta"], rtol=tol, atol=1e-4 if ref["is_singular"] else 1e-6
    )


@pytest.mark.parametrize("case_id", CASES)
def test_singularity_flag(case_id: str) -> None:
    ref, res = reference_case(case_id), fitted_case(case_id)
    assert res.is_singular == ref["is_singular"]
    assert res.converged
    if ref["is_singular"]:
        assert any("singular" in m for m in res.messages)


@pytest.mark.parametrize("case_id", CASES)
def test_conditional_modes_and_sds(case_id: str) -> None:
    ref, res = reference_case(case_id), fitted_case(case_id)
    for group, r in ref["ranef"].items():
        ours = res.ranef[group].loc[r["levels"], r["terms"]].to_numpy()
        ours_sd = res.ranef_se[group].loc[r["levels"], r["terms"]].to_numpy()
        values, condsd = np.array(r["values"]), np.array(r["condsd"])
        for k, term in enumerate(r["terms"]):
            # Conditional modes: 1e-3 relative, with a floor of 1e-3 of the term's largest
            # mode for the modes that are near zero.
            scale = float(np.max(np.abs(values[:, k])))
            np.testing.assert_allclose(
                ours[:, k], values[:, k], rtol=1e-3, atol=1e-3 * scale, err_msg=f"{group} {term}"
            )
        np.testing.assert_allclose(ours_sd, condsd, rtol=1e-3)


@pytest.mark.parametrize("case_id", CASES)
def test_cluster_coefficients(case_id: str) -> None:
    res = fitted_case(case_id)
    for group, re in res.ranef.items():
        coef = res.coef[group]
        for col in re.columns:
            base = res.fixef[col] if col in res.fixef.index else 0.0
            np.testing.assert_allclose(coef[col].to_numpy(), base + re[col].to_numpy())
