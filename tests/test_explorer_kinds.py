"""The explorer's state for a GLMM and for a Bayesian fit, checked against glmer (with emmeans
and performance, tests/reference/glmm) and brms (tests/reference/bayes), and against the
result's own draws read through ArviZ (an independent path from the state's)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from glmm_reference import glmm_fit, glmm_reference
from scipy import special, stats

import mlm_jupyter as mlm
from mlm_jupyter.display.explorer_state import build_state

BAYES = Path(__file__).parent / "reference" / "bayes"


def _glmer(case: str) -> dict:
    """glmer's tight refit where recorded (our PIRLS iterates the modes to convergence, README)."""
    ref = glmm_reference(case)
    return {**ref, **ref.get("tight", {})}


def _row(state: dict, values: dict) -> np.ndarray:
    return np.array([np.prod([values[v] ** p for v, p in mono.items()]) if mono else 1.0
                     for mono in state["fixed"]["monomials"]])


@pytest.mark.parametrize("case", ["students_logit", "clinics_offset"])
def test_glmm_state_carries_glmers_numbers(case):
    res, ref = glmm_fit(case), _glmer(case)
    state = build_state(res, diagnostics=False)
    beta = np.array(state["fixed"]["estimate"])
    se = np.sqrt(np.diag(state["fixed"]["vcov"]))
    assert state["fixed"]["names"] == ref["fixef_names"]
    # README's tolerances: |Δβ| ≤ 1e-4 |β| + 1e-3 SE, SEs 1e-3 relative
    assert np.all(np.abs(beta - ref["fixef"]) <= 1e-4 * np.abs(ref["fixef"]) + 1e-3 * se)
    assert se == pytest.approx(ref["se"], rel=1e-3)
    # T of the explored factor, as VarCorr gives it
    group = state["group"]
    vc = {(r["var1"], r["var2"]): r["vcov"] for r in ref["varcorr"] if r["grp"] == group}
    terms = state["random"]["terms"]
    tau = np.array(state["random"]["tau"])
    for i, a in enumerate(terms):
        assert tau[i, i] == pytest.approx(vc[(a, "")], rel=1e-3)
        for j in range(i):
            assert tau[i, j] == pytest.approx(vc[(terms[j], a)], rel=1e-3)
    # conditional modes and SDs of every shown cluster, ranef(condVar = TRUE)
    rr = ref["ranef"][group]
    modes = pd.DataFrame(rr["values"], index=[str(v) for v in rr["levels"]], columns=rr["terms"])
    sds = pd.DataFrame(rr["condsd"], index=modes.index, columns=rr["terms"])
    cl = state["clusters"]
    for t in terms:
        scale = np.abs(modes[t]).max()
        assert np.abs(np.array(cl["ranef"][t]) - modes.loc[cl["ids"], t]).max() <= 1e-3 * scale
        assert np.array(cl["ranef_se"][t]) == pytest.approx(sds.loc[cl["ids"], t], rel=1e-3)
    # z tests, no Satterthwaite; no Gaussian Predictions tab
    assert state["satterthwaite"] is None and state["ddf_residual"] is None
    assert "predictions" not in state and state["reliability"] is None
    g = state["glmm"]
    assert (g["family"], g["link"]) == (ref["family"], ref["link"] or g["link"])
    # Merlo's median odds (rate) ratio from glmer's intercept variance
    mor = np.exp(np.sqrt(2 * vc[("(Intercept)", "")]) * stats.norm.ppf(0.75))
    assert g["median_ratio"][group] == pytest.approx(mor, rel=1e-3)


def test_glmm_state_latent_scale_and_curves_match_performance_and_emmeans():
    res, ref = glmm_fit("students_logit"), glmm_reference("students_logit")
    state = build_state(res, diagnostics=False)
    g = state["glmm"]
    # performance: π²/3 on the logit scale, ICC and Nakagawa R² (glmer's default fit)
    assert g["latent_residual"] == pytest.approx(ref["insight_variance"]["var.distribution"],
                                                 rel=1e-12)
    assert state["icc"]["adjusted"] == pytest.approx(ref["icc"]["adjusted"], rel=2e-3)
    assert state["icc"]["unadjusted"] == pytest.approx(ref["icc"]["unadjusted"], rel=2e-3)
    assert state["r2"]["marginal"] == pytest.approx(ref["r2_nakagawa"]["marginal"], rel=2e-3)
    assert g["scale_label"] == "probability of pass" and g["ratio"] == "odds ratio"
    # the browser's typical-cluster curve: g^-1(x'β̂) with a Wald band from Var(β̂); at the
    # mean of motiv these are emmeans' response-scale means and asymptotic intervals
    beta, V = np.array(state["fixed"]["estimate"]), np.array(state["fixed"]["vcov"])
    means = {k: v["mean"] for k, v in state["variables"].items()}
    for row in ref["emmeans"]["response"]["rows"]:
        x = _row(state, {**means, "climate": float(row["climate"])})
        eta, se = x @ beta, np.sqrt(x @ V @ x)
        z = stats.norm.ppf(0.975)
        assert special.expit(eta) == pytest.approx(row["estimate"], rel=3e-3)
        assert special.expit(eta - z * se) == pytest.approx(row["lower"], rel=3e-3)
        assert special.expit(eta + z * se) == pytest.approx(row["upper"], rel=3e-3)


def test_glmm_offset_held_at_its_mean_as_emmeans_and_diagnostics_are_pearson():
    res = glmm_fit("clinics_offset")
    ref = glmm_reference("clinics_offset")
    state = build_state(res, diagnostics=True)
    g = state["glmm"]
    # emmeans' reference grid: the offset at mean(log(exposure))
    assert g["offset"] == pytest.approx(float(np.mean(res.design.offset)), rel=1e-12)
    beta = np.array(state["fixed"]["estimate"])
    means = {k: v["mean"] for k, v in state["variables"].items()}
    for row in ref["emmeans"]["response"]["rows"]:
        at = {k: float(v) for k, v in row.items() if k in means}
        eta = _row(state, {**means, **at}) @ beta + g["offset"]
        assert np.exp(eta) == pytest.approx(row["estimate"], rel=3e-3)
    resid = state["diagnostics"]["residuals"]
    assert resid["kind"] == "pearson"
    pearson = res.residuals("pearson").to_numpy(float)
    assert np.array(resid["residual"][:20]) == pytest.approx(pearson[:20], rel=1e-3, abs=1e-4)


def test_glmm_explore_is_the_widget():
    widget = glmm_fit("students_logit").explore(predictor="motiv")
    assert widget.state["glmm"]["family"] == "binomial"
    assert widget.state["initial"]["predictor"] == "motiv"
    # the scale is named after the successes of cbind() and a column without its backticks
    block = build_state(glmm_fit("panel_cbind_slope"), diagnostics=False)["glmm"]
    assert block["scale_label"] == "probability of success"
    df = pd.DataFrame({"<b>y": [0, 1, 1, 0, 1, 0, 0, 1] * 5, "g": list("abcdefgh") * 5})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        odd = mlm.fit("`<b>y` ~ 1 + (1 | g)", df, family="binomial")
    assert build_state(odd, diagnostics=False)["glmm"]["scale_label"] == "probability of <b>y"


# -- Bayesian fits: one small fit for the module (few draws) ------------------------------

@pytest.fixture(scope="module")
def sleep_bayes():
    pytest.importorskip("nutpie")
    ref = json.loads((BAYES / "sleep_slope.json").read_text())
    data = pd.read_csv(BAYES / "sleepstudy.csv", dtype={"Subject": str})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mlm.fit(ref["formula"], data, method="bayes", priors=ref["priors"], seed=4,
                      draws=300, warmup=300, chains=2, warn=False)
    return res, ref


def test_bayes_state_is_the_posterior_as_arviz_reads_it(sleep_bayes):
    res, _ = sleep_bayes
    state = res.explore().state
    post = res.idata.posterior
    flat = {name: post[name].values.reshape(-1) for name in
            ("b_Intercept", "b_Days", "sd_Subject__Intercept", "sd_Subject__Days",
             "cor_Subject__Intercept__Days", "sigma")}
    total = flat["sigma"].size
    assert state["posterior"]["total_draws"] == total == 600
    # at most 1,000 draws: the state holds every one, in chain-major order as ArviZ flattens
    beta = np.array(state["posterior"]["beta_draws"])
    assert beta[:, 0] == pytest.approx(flat["b_Intercept"], rel=1e-12)
    assert beta[:, 1] == pytest.approx(flat["b_Days"], rel=1e-12)
    T = np.array(state["posterior"]["tau_draws"])
    assert np.sqrt(T[:, 0, 0]) == pytest.approx(flat["sd_Subject__Intercept"], rel=1e-12)
    assert np.sqrt(T[:, 1, 1]) == pytest.approx(flat["sd_Subject__Days"], rel=1e-12)
    cor = T[:, 0, 1] / np.sqrt(T[:, 0, 0] * T[:, 1, 1])
    assert cor == pytest.approx(flat["cor_Subject__Intercept__Days"], rel=1e-9, abs=1e-12)
    assert state["posterior"]["sigma_draws"] == pytest.approx(flat["sigma"], rel=1e-12)
    # posterior means shown in the tables: β, E[T] (not sd-means squared), σ, the modes
    s = res.posterior_summary()
    assert state["fixed"]["estimate"] == pytest.approx(
        [s.loc["b_Intercept", "mean"], s.loc["b_Days", "mean"]], rel=1e-12)
    assert np.sqrt(np.diag(state["fixed"]["vcov"])) == pytest.approx(
        [s.loc["b_Intercept", "sd"], s.loc["b_Days", "sd"]], rel=1e-9)
    tau = np.array(state["random"]["tau"])
    assert tau[1, 1] == pytest.approx(np.mean(flat["sd_Subject__Days"] ** 2), rel=1e-12)
    assert tau[0, 1] == pytest.approx(np.mean(flat["cor_Subject__Intercept__Days"]
                                              * flat["sd_Subject__Intercept"]
                                              * flat["sd_Subject__Days"]), rel=1e-9)
    assert np.array(state["variance_components"][0]["cov"]) == pytest.approx(tau, rel=1e-12)
    assert state["sigma"] == pytest.approx(s.loc["sigma", "mean"], rel=1e-12)
    r = post["r_Subject"].values  # (chain, draw, level, coef)
    levels = [str(v) for v in post["r_Subject"].coords[post["r_Subject"].dims[2]].values]
    cl = state["clusters"]
    means = pd.Series(r[..., 1].reshape(-1, len(levels)).mean(axis=0), index=levels)
    assert cl["ranef"]["Days"] == pytest.approx(means.loc[cl["ids"]].to_numpy(), rel=1e-7)
    # the caterpillar's credible intervals: the draws' 2.5% / 97.5% quantiles
    draws = pd.DataFrame(r[..., 1].reshape(-1, len(levels)), columns=levels)[cl["ids"]]
    assert cl["ranef_lower"]["Days"] == pytest.approx(draws.quantile(0.025).to_numpy(), rel=1e-9)
    assert cl["ranef_upper"]["Days"] == pytest.approx(draws.quantile(0.975).to_numpy(), rel=1e-9)
    # what a REML fit would add and the draws do not give is not shown
    assert state["satterthwaite"] is None and state["icc"] is None
    assert "diagnostics" not in state and "predictions" not in state


def test_bayes_state_means_agree_with_brms(sleep_bayes):
    """The state's posterior means within 4 combined MCSEs of brms (README's rule)."""
    res, ref = sleep_bayes
    state = res.explore().state
    s = res.posterior_summary()
    brms = ref["posterior"]
    for k, name in enumerate(("b_Intercept", "b_Days")):
        tol = 4 * np.hypot(s.loc[name, "mcse_mean"], brms[name]["mcse_mean"])
        assert abs(state["fixed"]["estimate"][k] - brms[name]["mean"]) <= tol
    sd_days = np.sqrt(np.array(state["posterior"]["tau_draws"])[:, 1, 1]).mean()
    tol = 4 * np.hypot(s.loc["sd_Subject__Days", "mcse_mean"],
                       brms["sd_Subject__Days"]["mcse_mean"])
    assert abs(sd_days - brms["sd_Subject__Days"]["mean"]) <= tol
    sigma = np.mean(state["posterior"]["sigma_draws"])
    assert abs(sigma - brms["sigma"]["mean"]) <= 4 * np.hypot(s.loc["sigma", "mcse_mean"],
                                                              brms["sigma"]["mcse_mean"])
