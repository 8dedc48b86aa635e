"""glmer reference cases (tests/reference/glmm*/) and the bar's comparison rules.

Each case directory holds ``manifest.json``, ``data/`` and ``glmer/<id>.json`` written by
``generate_glmm.R`` (see tests/reference/glmm/README.md for the fields and tolerances).
"""

from __future__ import annotations

import json
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent / "reference"
GLMM_ROOTS = (HERE / "glmm", HERE / "glmm_extra")


@cache
def glmm_cases() -> dict[str, tuple[Path, dict]]:
    out = {}
    for root in GLMM_ROOTS:
        if (root / "manifest.json").exists():
            for case in json.loads((root / "manifest.json").read_text())["cases"]:
                out[case["id"]] = (root, case)
    return out


@cache
def glmm_reference(case_id: str) -> dict:
    root, _ = glmm_cases()[case_id]
    return json.loads((root / "glmer" / f"{case_id}.json").read_text())


@cache
def glmm_data(case_id: str) -> pd.DataFrame:
    root, case = glmm_cases()[case_id]
    return pd.read_csv(root / "data" / f"{case['dataset']}.csv",
                       dtype={c: str for c in case["factors"]})


def fit_kwargs(case_id: str) -> dict:
    _, case = glmm_cases()[case_id]
    df = glmm_data(case_id)
    kw = {"family": case["family"], "nagq": case.get("nagq", 1)}
    if case.get("link"):
        kw["link"] = case["link"]
    if case.get("weights"):
        kw["weights"] = df[case["weights"]].to_numpy(float)
    return kw


@cache
def glmm_fit(case_id: str):
    import mlm_jupyter as mlm

    _, case = glmm_cases()[case_id]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mlm.fit(case["formula"], glmm_data(case_id).copy(), **fit_kwargs(case_id))


def newdata_frame(case_id: str) -> pd.DataFrame:
    _, case = glmm_cases()[case_id]
    nd = pd.DataFrame(glmm_reference(case_id)["newdata"])
    for c in case["factors"]:
        if c in nd.columns:
            nd[c] = nd[c].astype(str)
    return nd


def _rel(a, b) -> np.ndarray:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.abs(a - b) / np.maximum(np.abs(b), 1e-300)


def mismatches(res, ref: dict, record: dict, loose: float = 1.0) -> list[str]:
    """The README's rules for one glmer record (the case itself or its ``tight`` refit)."""
    bad = []
    scale = 10.0 if record.get("is_singular", ref["is_singular"]) else 1.0
    scale *= loose
    lls = [record["loglik"], ref.get("loglik_exact_at_glmer", record["loglik"])]
    if ref.get("loglik_full") is not None:
        lls += [ref["loglik_full"]]
    if min(abs(res.loglik - v) for v in lls) > 1e-3 * scale:
        bad.append(f"loglik {res.loglik} vs {lls}")
    fe, se_ref = np.asarray(record["fixef"]), np.asarray(record["se"])
    d = np.abs(res.fixef.to_numpy() - fe)
    if np.any(d > (1e-4 * np.abs(fe) + 1e-3 * se_ref) * scale):
        bad.append(f"fixef {res.fixef.to_numpy()} vs {fe}")
    se = np.sqrt(np.diag(res.vcov.to_numpy()))
    ok_se = np.all(_rel(se, se_ref) <= 1e-3 * scale)
    if not ok_se and "rescaled" in ref:
        ok_se = np.all(_rel(se, ref["rescaled"]["se"]) <= 1e-3 * scale)
    if not ok_se:
        bad.append(f"se {se} vs {se_ref}")
    vc = pd.DataFrame(record["varcorr"])
    ours = res.varcorr
    is_var = vc["var2"].fillna("") == ""
    ours_var = ours["var2"].isna() | (ours["var2"].astype(str) == "None")
    if np.any(_rel(np.sort(ours.loc[ours_var, "vcov"]), np.sort(vc.loc[is_var, "vcov"]))
              > 1e-3 * scale):
        bad.append(f"variances {ours.loc[ours_var, 'vcov'].to_numpy()} vs "
                   f"{vc.loc[is_var, 'vcov'].to_numpy()}")
    if scale == loose and (~is_var).any():
        c_ref = np.sort(vc.loc[~is_var, "vcov"].to_numpy())
        c_us = np.sort(ours.loc[~ours_var, "vcov"].to_numpy())
        if np.any(np.abs(c_us - c_ref) > 1e-3 * np.maximum(np.abs(c_ref), 1e-3) * scale):
            bad.append(f"covariances {c_us} vs {c_ref}")
    for group, block in record["ranef"].items():
        levels = [str(v) for v in block["levels"]]
        values = np.asarray(block["values"], float).reshape(len(levels), -1)
        condsd = np.asarray(block["condsd"], float).reshape(len(levels), -1)
        ours_v = res.ranef[group].loc[levels].to_numpy()
        ours_sd = res.ranef_se[group].loc[levels].to_numpy()
        top = np.abs(values).max(axis=0)
        if np.any(np.abs(ours_v - values) > 1e-3 * top * scale + 1e-12):
            bad.append(f"modes of {group}")
        if np.any(_rel(ours_sd, condsd) > 1e-3 * scale):
            bad.append(f"conditional SDs of {group}: max rel {_rel(ours_sd, condsd).max()}")
    if record.get("dispersion") is not None:
        if _rel(res.dispersion, record["dispersion"]) > 1e-3 * scale:
            bad.append(f"dispersion {res.dispersion} vs {record['dispersion']}")
    if bool(res.is_singular) != bool(record.get("is_singular", ref["is_singular"])):
        bad.append(f"is_singular {res.is_singular}")
    if res.nobs != ref["nobs"]:
        bad.append(f"nobs {res.nobs}")
    return bad


def better_optimum(res, ref: dict) -> bool:
    """Our log-likelihood above glmer's best by more than 1e-3 (the README's rule)."""
    best = max(ref["loglik"], ref.get("loglik_exact_at_glmer", -np.inf),
               ref.get("tight", {}).get("loglik", -np.inf))
    if ref.get("loglik_full") is not None:
        return False
    return res.loglik > best + 1e-3


def check_case(res, ref: dict) -> list[str]:
    """[] when ``res`` matches glmer's default fit or its tight refit (or beats both)."""
    if better_optimum(res, ref):
        return []
    first = mismatches(res, ref, ref)
    if not first:
        return []
    if "tight" in ref:
        second = mismatches(res, ref, ref["tight"])
        if not second:
            return []
        return [f"default: {first}", f"tight: {second}"]
    return first
