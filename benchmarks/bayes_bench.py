"""Bayesian estimation against brms: time, ESS, R-hat and the reference check, in one run.

    PYTHONPATH=. python benchmarks/bayes_bench.py [--out benchmarks/bayes_results.json]
    PYTHONPATH=. python benchmarks/bayes_bench.py --brms --cases hsb_crosslevel


For every case in tests/reference/bayes (brms 2.18 with the same priors), fits
``mlm.fit(..., method="bayes")`` at the library's default size (4 chains x 1000 draws) and
reports wall seconds (parse to summary, numba's cached kernel loaded), the smallest bulk ESS,
the largest R-hat, the README's comparison rule, and brms' compile + sample time for
4 x (1000 + 1000) on the reference machine (``timing`` in each JSON; brms' own run on this
machine is in ``brms_here`` when measured: ``--brms`` runs ``brms_timing.R`` on the same
data, formula, priors and sampler size just before our fit, and the ratio is then to that).
It also times one log-posterior evaluation (compiled kernel and NumPy reference) and counts
gradient evaluations per draw, the two numbers behind the sampler's cost.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from test_bayes_fit import BAYES, _case, _check  # noqa: E402

import mlm_jupyter as mlm  # noqa: E402

CASES = ["sleep_slope", "sleep_slope_wide", "small_singular_slope", "hsb_crosslevel",
         "sleep_defaults", "sleep_centred_t", "penicillin_crossed"]


def _eval_cost(res) -> dict:
    from mlm_jupyter.bayes.posterior import LogPosterior

    lp = LogPosterior(*_link(res))
    zeta = np.zeros(lp.dim)
    zeta[: lp.n_sd] = np.log(res.draws.sd.mean(axis=(0, 1)))
    zeta[lp.i_sigma] = np.log(res.sigma)
    n = 2000
    t = time.perf_counter()
    for _ in range(n):
        lp(zeta)
    compiled = (time.perf_counter() - t) / n * 1e6
    import mlm_jupyter.bayes.kernel as kernel

    saved = kernel.single_factor
    kernel.single_factor = None
    try:
        t = time.perf_counter()
        for _ in range(n // 4):
            lp(zeta)
        numpy_us = (time.perf_counter() - t) / (n // 4) * 1e6
    finally:
        kernel.single_factor = saved
    steps = float(np.asarray(res.idata.sample_stats["n_steps"]).mean())
    return {"log_posterior_us": compiled, "log_posterior_numpy_us": numpy_us,
            "gradient_evals_per_draw": steps}


def _link(res):
    from mlm_jupyter.bayes.engine_link import build_link

    return build_link(res.reml_fit), res.names, res.prior_set


def brms_here(case_id: str, ref: dict) -> dict:
    """brms' compile + sample time on this machine (``brms_timing.R``), 4 x (1000 + 1000)."""
    groups = ref["groups"] if isinstance(ref["groups"], list) else [ref["groups"]]
    job = {"id": case_id, "csv": str(BAYES / ref["data"]), "formula": ref["formula"],
           "groups": groups, "priors": ref["priors"] or {},
           "adapt_delta": ref["sampler"]["adapt_delta"], "chains": 4, "warmup": 1000,
           "draws": 1000, "seed": 1}
    work = Path(tempfile.mkdtemp(prefix="mlm_brms_bench_"))
    (work / "job.json").write_text(json.dumps(job))
    run = subprocess.run(["Rscript", str(ROOT / "benchmarks" / "brms_timing.R"),
                          str(work / "job.json"), str(work / "out.json")],
                         capture_output=True, text=True, timeout=3600)
    if run.returncode != 0:
        return {"error": (run.stderr or run.stdout)[-2000:]}
    return json.loads((work / "out.json").read_text())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "bayes_results.json"))
    ap.add_argument("--cases", nargs="*", default=CASES)
    ap.add_argument("--brms", action="store_true", help="time brms on this machine too")
    args = ap.parse_args()
    rows = []
    for case_id in args.cases:
        if not (BAYES / f"{case_id}.json").exists():
            continue
        ref, data = _case(case_id)
        here = brms_here(case_id, ref) if args.brms else None
        if here is not None:
            print(json.dumps({k: v for k, v in here.items() if k != "chain_seconds"}), flush=True)
        load = os.getloadavg()[0]
        t = time.perf_counter()
        res = mlm.fit(ref["formula"], data, method="bayes", priors=ref["priors"] or None,
                      seed=1, target_accept=ref["sampler"]["adapt_delta"], warn=False)
        s = res.posterior_summary()
        seconds = time.perf_counter() - t
        timing = ref.get("timing", {})
        brms = (timing.get("compile_seconds", np.nan) + timing.get("check_sample_seconds", np.nan)
                if timing else ref.get("seconds_compile_and_sample", np.nan))
        note = ("4 x (1000 + 1000) on the reference machine" if timing else
                "4 x (1000 + 5000), adapt_delta 0.95, this machine (brms_extra.R)")
        if here is not None and "total_seconds" in here:
            brms, note = here["total_seconds"], "4 x (1000 + 1000) on this machine, this run"
        misses = _check(s, ref["posterior"])
        row = {"case": case_id, "seconds": seconds, "load_avg_before": load,
               "min_ess_bulk": float(s["ess_bulk"].min()), "max_rhat": float(s["rhat"].max()),
               "divergent": res.sampler.divergent, "reference_misses": misses,
               "brms_compile_plus_sample_seconds": brms,
               "brms_note": note, "brms_here": here, "load_avg_after": os.getloadavg()[0],
               "n_params": int(len(s)), "ess_bulk": s["ess_bulk"].round(0).to_dict(),
               "rhat": s["rhat"].round(4).to_dict(),
               "ratio_to_brms": seconds / brms if brms == brms else None, **_eval_cost(res)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    Path(args.out).write_text(json.dumps({"rows": rows, "python": sys.version.split()[0],
                                          "pandas": pd.__version__}, indent=1))


if __name__ == "__main__":
    main()
