"""Random two-level and crossed data sets on which the optimiser is checked against lme4.

Regenerate (writes CSVs and jobs.json to /tmp/stress), then time and fit them with lme4:

    mkdir -p /tmp/stress && python tests/reference/stress/make_stress.py
    Rscript benchmarks/lme4_timing.R /tmp/stress/jobs.json /tmp/stress/out.json

14 of the 42 data sets are kept here (gzipped) with lme4's criterion in manifest.json:
two of each formula plus the four where lme4 stopped at a clearly worse point.
"""

import numpy as np, pandas as pd, json
rng = np.random.default_rng(2026)
forms = ["y ~ x + (1 + x | g)", "y ~ x + (1 | g) + (1 | h)", "y ~ x + (1 + x | g) + (1 | h)",
         "y ~ x + (x || g)", "y ~ x + z + (1 + x + z | g)", "y ~ x + (1 | g/h)", "y ~ x * z + (1 + x | g)"]
jobs = []
for i in range(42):
    f = forms[i % len(forms)]
    G = int(rng.integers(6, 40)); H = int(rng.integers(3, 12)); n = int(rng.integers(80, 600))
    g = rng.integers(0, G, n); h = rng.integers(0, H, n)
    x = rng.normal(size=n); z = rng.normal(size=n)
    sd_int, sd_slope, sd_h = rng.choice([0, 0.3, 1.0]), rng.choice([0, 0.2, 0.8]), rng.choice([0, 0.5])
    u0 = rng.normal(0, sd_int, G); u1 = rng.normal(0, sd_slope, G); v = rng.normal(0, sd_h, H)
    y = 1 + 0.5 * x + 0.3 * z + u0[g] + u1[g] * x + v[h] + rng.normal(size=n)
    d = pd.DataFrame({"y": y, "x": x, "z": z, "g": [f"g{k}" for k in g], "h": [f"h{k}" for k in h]})
    path = f"/tmp/stress/d{i}.csv"; d.to_csv(path, index=False)
    jobs.append({"id": f"s{i}", "csv": path, "formula": f, "reml": bool(i % 3), "factors": ["g", "h"], "reps": 1, "kind": "fit", "warmup": False})
json.dump(jobs, open("/tmp/stress/jobs.json", "w"))
