"""Data sets for the engine-trust reference (tests/test_trust.py), seeded and reproducible.

    python tests/reference/trust/make_data.py      # writes the CSV files next to this script

Then ``Rscript tests/reference/trust/trust_reference.R`` fits them with lme4 and writes
``trust_reference.json``.
"""

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent


def many_scalar_terms(n_pred: int, seed: int, mixed_units: bool = True) -> pd.DataFrame:
    """Two crossed factors G (40 levels) and H (25 levels), each with a random intercept and
    uncorrelated random slopes of ``n_pred - 1`` predictors: 2 * n_pred scalar variance
    terms, some of them truly 0.  With ``mixed_units`` predictor k is stored in units
    10^(k-1) times its simulation scale (0.1, 1, 10, ...), as real predictors are."""
    rng = np.random.default_rng(seed)
    n_g, n_h, reps = 40, 25, 3
    g = np.repeat(np.arange(n_g), n_h * reps)
    h = np.tile(np.repeat(np.arange(n_h), reps), n_g)
    n = g.size
    preds = rng.normal(size=(n, n_pred - 1))
    sd_g = rng.choice([0.0, 0.3, 0.8], size=n_pred)
    sd_h = rng.choice([0.0, 0.4, 1.0], size=n_pred)
    design = np.column_stack([np.ones(n), preds])
    y = design @ rng.normal(size=n_pred)
    y += np.einsum("nk,nk->n", design, rng.normal(size=(n_g, n_pred))[g] * sd_g)
    y += np.einsum("nk,nk->n", design, rng.normal(size=(n_h, n_pred))[h] * sd_h)
    y += rng.normal(size=n)
    if mixed_units:
        preds = preds * 10.0 ** (np.arange(n_pred - 1) - 1)
    frame = pd.DataFrame(preds, columns=[f"x{k + 1}" for k in range(n_pred - 1)])
    frame.insert(0, "y", y)
    frame["G"] = [f"g{v:02d}" for v in g]
    frame["H"] = [f"h{v:02d}" for v in h]
    return frame


def small_slope(seed: int) -> pd.DataFrame:
    """Few clusters with a correlated intercept and slope whose correlation is near 1."""
    rng = np.random.default_rng(seed)
    n_g, per = 8, 12
    g = np.repeat(np.arange(n_g), per)
    x = np.tile(np.linspace(-1, 1, per), n_g) + rng.normal(0, 0.1, n_g * per)
    u0 = rng.normal(0, 1.0, n_g)
    u1 = 0.9 * u0 + rng.normal(0, 0.2, n_g)
    y = 2 + 0.5 * x + u0[g] + u1[g] * x + rng.normal(0, 0.7, g.size)
    return pd.DataFrame({"y": y, "x": x, "g": [f"c{v}" for v in g]})


if __name__ == "__main__":
    many_scalar_terms(4, 22).to_csv(HERE / "crossed_scalar8.csv", index=False)
    many_scalar_terms(8, 23).to_csv(HERE / "crossed_scalar16.csv", index=False)
    many_scalar_terms(8, 20).to_csv(HERE / "crossed_scalar16b.csv", index=False)
    small_slope(5).to_csv(HERE / "small_slope.csv", index=False)
