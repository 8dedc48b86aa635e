"""One fit of a hard design too long for the suite, in this process; figures to hard_separate.json.

    python benchmarks/hard_separate.py [crossed_uniform_3x5000]

Times ``mlm.fit`` (wall and CPU seconds), counts evaluations, reads the peak resident memory
and the load average before and after, and replaces the case's entry in
``hard_separate.json`` (which ``bench.py`` renders into RESULTS.md).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench  # noqa: E402

import mlm_jupyter as mlm  # noqa: E402
from mlm_jupyter.engine import threads  # noqa: E402


def main(case_id: str = "crossed_uniform_3x5000") -> None:
    formula, gen, _, reml, _, _ = bench.HARD_SEPARATE[case_id]
    data = gen()
    load0 = os.getloadavg()[0]
    started = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    t0, c0 = time.perf_counter(), time.process_time()
    res = mlm.fit(formula, data, reml=reml, progress=True)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    load1 = os.getloadavg()[0]
    # the fit's peak, before the timing below adds evaluations while the result is held
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    opt = res.optimization
    per_eval = bench._per_eval(res.engine, res.engine_theta)
    dense = res.engine.largest_dense_block()
    out = {
        "measured": (f"{started}-{time.strftime('%H:%M', time.gmtime())} UTC, load average "
                     f"{load0:.1f} / {load1:.1f}, one mlm.fit ({'REML' if reml else 'ML'}) in "
                     f"its own process, {threads.threads_for(dense)} BLAS thread(s)"),
        "ours": round(wall, 1),
        "cpu_seconds": round(cpu, 1),
        "evals": int(opt.n_evals),
        "objective": res.conditioning.criterion(opt.objective, reml, len(data)),
        "n": int(len(data)),
        "n_theta": int(len(res.engine_theta)),
        "peak_mb": round(peak, 1),
        "per_eval": round(per_eval, 2),
        "cost": opt.cost.describe() if opt.cost is not None else "",
        "optimizer": opt.optimizer,
        "note": ("lme4 not run: more than 10 minutes per the issue (CHOLMOD on a 15,000-row "
                 "factor that AMD leaves 68 % dense)"),
    }
    path = HERE / "hard_separate.json"
    saved = json.loads(path.read_text())
    saved[case_id] = out
    path.write_text(json.dumps(saved, indent=1) + "\n")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:])
