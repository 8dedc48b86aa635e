"""Random two-level and crossed data sets on which the optimiser is checked against lme4.

Regenerate (writes CSVs and jobs.json to /tmp/stress), then fit them with lme4:

    mkdir -p /tmp/stress && python tests/reference/stress/make_stress.py
    Rscript benchmarks/lme4_timing.R /tmp/stress/jobs.json /tmp/stress/out.json

14 of the 42 data sets are kept here (gzipped) with lme4's criterion in manifest.json:
two of each formula plus the four where lme4 stopped at a clearly worse point.
"""

import json

import numpy as np
import pandas as pd

FORMULAS = [
    "y ~ x + (1 + x | g)",
    "y ~ x + (1 | g) + (1 | h)",
    "y ~ x + (1 + x | g) + (1 | h)",
    "y ~ x + (x || g)",
    "y ~ x + z + (1 + x + z | g)",
    "y ~ x + (1 | g/h)",
    "y ~ x * z + (1 + x | g)",
]


def main(out: str = "/tmp/stress") -> None:
    rng = np.random.default_rng(2026)
    jobs = []
    for i in range(42):
        formula = FORMULAS[i % len(FORMULAS)]
        n_g, n_h = int(rng.integers(6, 40)), int(rng.integers(3, 12))
        n = int(rng.integers(80, 600))
        g, h = rng.integers(0, n_g, n), rng.integers(0, n_h, n)
        x, z = rng.normal(size=n), rng.normal(size=n)
        # Zero variances on purpose: singular fits are where optimisers differ most.
        sd_int, sd_slope = rng.choice([0, 0.3, 1.0]), rng.choice([0, 0.2, 0.8])
        sd_h = rng.choice([0, 0.5])
        u0, u1 = rng.normal(0, sd_int, n_g), rng.normal(0, sd_slope, n_g)
        v = rng.normal(0, sd_h, n_h)
        y = 1 + 0.5 * x + 0.3 * z + u0[g] + u1[g] * x + v[h] + rng.normal(size=n)
        data = pd.DataFrame({
            "y": y, "x": x, "z": z, "g": [f"g{k}" for k in g], "h": [f"h{k}" for k in h],
        })
        path = f"{out}/d{i}.csv"
        data.to_csv(path, index=False)
        jobs.append({
            "id": f"s{i}", "csv": path, "formula": formula, "reml": bool(i % 3),
            "factors": ["g", "h"], "reps": 1, "kind": "fit", "warmup": False,
        })
    with open(f"{out}/jobs.json", "w") as fh:
        json.dump(jobs, fh)


if __name__ == "__main__":
    main()
