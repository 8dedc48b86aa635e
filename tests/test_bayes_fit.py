"""mlm.fit(..., method="bayes") against brms (tests/reference/bayes, README's rule), seeds,
sampling problems reported with advice, bad input, the result's tables and the magic."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mlm_jupyter as mlm

pytest.importorskip("nutpie")
pytest.importorskip("arviz")

from mlm_jupyter.bayes import PriorError  # noqa: E402
from mlm_jupyter.bayes.fit import sampling_messages  # noqa: E402

BAYES = Path(__file__).parent / "reference" / "bayes"
SHARED = ["sleep_slope", "sleep_slope_wide", "small_singular_slope", "hsb_crosslevel"]
EXTRA = [p.stem for p in sorted(BAYES.glob("*.json"))
         if p.stem in ("sleep_defaults", "sleep_centred_t", "penicillin_crossed")]


def _case(case_id: str) -> tuple[dict, pd.DataFrame]:
    ref = json.loads((BAYES / f"{case_id}.json").read_text())
    groups = ref["groups"] if isinstance(ref["groups"], list) else [ref["groups"]]
    data = pd.read_csv(BAYES / ref["data"], dtype={g: str for g in groups})
    return ref, data


def _check(summary: pd.DataFrame, posterior: dict) -> list[str]:
    """The README's rule: means within 4 combined MCSEs, quantiles within
    max(0.1 sd, 4 combined MCSEs), R-hat ≤ 1.01, bulk ESS ≥ 100, every parameter present."""
    misses = []
    for name, b in posterior.items():
        if name not in summary.index:
            misses.append(f"{name} missing")
            continue
        o = summary.loc[name]
        if abs(o["mean"] - b["mean"]) > 4 * np.hypot(o["mcse_mean"], b["mcse_mean"]):
            misses.append(f"{name} mean {o['mean']:.4g} vs {b['mean']:.4g}")
        for q in ("q2.5", "q97.5"):
            tol = max(0.1 * b["sd"], 4 * np.hypot(o[f"mcse_{q}"], b[f"mcse_{q}"]))
            if abs(o[q] - b[q]) > tol:
                misses.append(f"{name} {q} {o[q]:.4g} vs {b[q]:.4g} (tol {tol:.3g})")
        if not o["rhat"] <= 1.01:
            misses.append(f"{name} rhat {o['rhat']:.4f}")
        if not o["ess_bulk"] >= 100:
            misses.append(f"{name} ess_bulk {o['ess_bulk']:.0f}")
    return misses


#: hsb's correlation has its upper 2.5% tail against +1 when sd_school__cses is small: at
#: 1,000 draws per chain that quantile's error exceeds its MCSE estimate, so twice the draws
DRAWS = {"hsb_crosslevel": 2000}


@pytest.mark.parametrize("case_id", SHARED + EXTRA)
def test_posterior_matches_brms(case_id):
    ref, data = _case(case_id)
    res = mlm.fit(ref["formula"], data, method="bayes", priors=ref["priors"] or None, seed=1,
                  target_accept=ref["sampler"]["adapt_delta"], draws=DRAWS.get(case_id, 1000),
                  warn=False)
    assert _check(res.posterior_summary(), ref["posterior"]) == []
    assert res.sampler.divergent == 0
    assert res.nobs == ref["nobs"]


@pytest.fixture(scope="module")
def sleep():
    return pd.read_csv(BAYES / "sleepstudy.csv", dtype={"Subject": str})


@pytest.fixture(scope="module")
def small(sleep):
    return mlm.fit("Reaction ~ Days + (Days | Subject)", sleep, method="bayes", seed=11,
                   draws=200, warmup=200, chains=2, warn=False)


def test_same_seed_same_draws_other_seed_other_draws(sleep, small):
    again = mlm.fit("Reaction ~ Days + (Days | Subject)", sleep, method="bayes", seed=11,
                    draws=200, warmup=200, chains=2, warn=False)
    assert np.array_equal(small.draws.beta, again.draws.beta)
    assert np.array_equal(small.draws.ranef[0], again.draws.ranef[0])
    other = mlm.fit("Reaction ~ Days + (Days | Subject)", sleep, method="bayes", seed=12,
                    draws=200, warmup=200, chains=2, warn=False)
    assert not np.array_equal(small.draws.sd, other.draws.sd)


def test_inference_data_and_tables_use_brms_names(small, sleep):
    post = small.idata.posterior
    assert list(post.data_vars)[:6] == ["b_Intercept", "b_Days", "sd_Subject__Intercept",
                                        "sd_Subject__Days", "cor_Subject__Intercept__Days",
                                        "sigma"]
    assert post["r_Subject"].shape == (2, 200, 18, 2)
    assert list(post["r_Subject"].coords["r_Subject_coef"].values) == ["Intercept", "Days"]
    assert small.idata.posterior_predictive["y"].shape[-1] == 180
    assert "diverging" in small.idata.sample_stats
    s = small.posterior_summary()
    for col in ("mean", "sd", "q2.5", "q97.5", "rhat", "ess_bulk"):
        assert col in s.columns
    # tables: estimates with credible intervals, varcorr rows as lme4, counts
    ct = small.coef_table
    assert list(ct.index) == ["(Intercept)", "Days"]
    assert ct.loc["Days", "estimate"] == pytest.approx(s.loc["b_Days", "mean"])
    assert ct.loc["Days", "lower"] == pytest.approx(s.loc["b_Days", "q2.5"])
    vc = small.varcorr
    assert list(vc["group"]) == ["Subject", "Subject", "Subject", "Residual"]
    assert vc["sdcor"].iloc[-1] == pytest.approx(s.loc["sigma", "mean"])
    assert small.nobs == 180 and small.ngroups == {"Subject": 18}
    # cluster effects: brms' ranef() layout, means consistent with the draws
    rs = small.ranef_summary()
    assert len(rs) == 36 and rs["parameter"].iloc[0] == "r_Subject[308,Intercept]"
    assert rs["mean"].iloc[0] == pytest.approx(small.ranef["Subject"].iloc[0, 0])
    # simple slopes from the draws: the slope of Days is b_Days
    sl = small.simple_slopes("Days")
    assert sl["estimate"].iloc[0] == pytest.approx(s.loc["b_Days", "mean"])
    assert 0 <= sl["prob_positive"].iloc[0] <= 1
    assert small.predict(sleep.head(3)).shape == (3,)


def test_displays_and_report_escape_and_work_offline(small, tmp_path):
    text = small.summary()
    assert "Regression coefficients" in text and "sd_Subject__Days" in text
    html = small._repr_html_()
    assert "cor_Subject__Intercept__Days" in html
    page = small.to_html(tmp_path / "r.html")
    assert "Posterior predictive check" in page and "<script src=" not in page
    assert (tmp_path / "r.html").exists()
    spec = small.ppc_chart().to_dict()
    assert spec["title"].startswith("Posterior predictive check")


def test_explorer_shows_the_posterior(small):
    widget = small.explore()
    state = widget.state
    assert state["posterior"]["method"] == "bayes"
    assert state["fixed"]["estimate"][1] == pytest.approx(float(small.fixef["Days"]))
    ranges = {r["term"]: r for r in state["slope_ranges"]}
    assert ranges["Days"]["lower"] < ranges["Days"]["estimate"] < ranges["Days"]["upper"]


def test_divergences_are_reported_with_advice(small):
    info = dataclasses.replace(small.sampler, divergent=7)
    messages = sampling_messages(dataclasses.replace(small, sampler=info))
    assert any("7 of 400 transitions" in m and "target_accept" in m for m in messages)


def test_bad_input(sleep):
    f = "Reaction ~ Days + (Days | Subject)"
    with pytest.raises(PriorError, match="Unknown prior class"):
        mlm.fit(f, sleep, method="bayes", priors={"slope": "normal(0, 1)"})
    with pytest.raises(PriorError, match="improper posterior"):
        mlm.fit(f, sleep, method="bayes", priors={"sd": "flat"})
    with pytest.raises(ValueError, match="draws must be an integer"):
        mlm.fit(f, sleep, method="bayes", draws=0)
    with pytest.raises(ValueError, match="target_accept"):
        mlm.fit(f, sleep, method="bayes", target_accept=1.5)
    with pytest.raises(ValueError, match="No random-effects term"):
        mlm.fit("Reaction ~ Days", sleep, method="bayes")
    with pytest.raises(ValueError, match="method must be"):
        mlm.fit(f, sleep, method="mcmc")
    with pytest.raises(TypeError, match="priors, seed only apply to method='bayes'"):
        mlm.fit(f, sleep, priors={"b": "normal(0, 1)"}, seed=3)
    before = sleep.copy()
    mlm.fit(f, sleep, method="bayes", draws=50, warmup=50, chains=1, seed=1, warn=False)
    pd.testing.assert_frame_equal(sleep, before)  # the user's frame is never modified


def test_magic_bayes(sleep):
    import IPython
    from IPython.testing.globalipapp import get_ipython

    # globalipapp starts its shell once per process and returns None afterwards.
    ip = get_ipython() or IPython.get_ipython()
    ip.run_line_magic("load_ext", "mlm_jupyter")
    ip.user_ns["sleep"] = sleep
    ip.user_ns["pri"] = {"b": "normal(0, 100)"}
    ip.run_cell_magic("mlm", "sleep -o mb --bayes --priors pri --draws 100 --chains 2 --seed 3 "
                      "--quiet", "Reaction ~ Days + (1 | Subject)")
    res = ip.user_ns["mb"]
    assert res.method == "bayes" and res.sampler.draws == 100
    assert res.priors.set_index("parameter").loc["b_Days", "prior"] == "normal(0, 100)"
