"""Small reference data sets shipped with the package (the lme4 test cases)."""

from __future__ import annotations

from importlib import resources

import pandas as pd

#: name -> (description, grouping columns read as strings)
DATASETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "sleepstudy": ("Reaction times (ms) of 18 subjects over 10 days of sleep deprivation "
                   "(lme4::sleepstudy).", ("Subject",)),
    "hsb": ("High School and Beyond: math achievement of 7,185 students in 160 schools "
            "(mlmRev::Hsb82; catholic 1 = Catholic sector, cses = ses centred on the school "
            "mean, meanses = school mean ses).", ("school",)),
    "pastes": ("Strength of paste from 3 casks in each of 10 batches (lme4::Pastes).",
               ("batch", "cask")),
    "penicillin": ("Penicillin potency: 6 samples on each of 24 plates, crossed "
                   "(lme4::Penicillin).", ("plate", "sample")),
    "dyestuff": ("Yield of dyestuff from 6 batches of an intermediate product "
                 "(lme4::Dyestuff).", ("Batch",)),
    "oats": ("Split-plot field trial: yield of 3 oat varieties (whole plots) at 4 nitrogen "
             "doses (subplots, nitro in cwt/acre; nitro_f the dose as a factor) in 6 blocks "
             "(nlme::Oats).", ("Block",)),
}


def load_dataset(name: str) -> pd.DataFrame:
    """Load a bundled data set as a new DataFrame.

    Parameters
    ----------
    name : str
        One of ``sleepstudy``, ``hsb``, ``pastes``, ``penicillin``, ``dyestuff``, ``oats``.

    Returns
    -------
    pandas.DataFrame
        Grouping factors are strings (as lme4's factors).
    """
    key = str(name).lower()
    if key not in DATASETS:
        raise ValueError(f"Unknown data set '{name}'. Available: {', '.join(sorted(DATASETS))}.")
    path = resources.files(__package__).joinpath(f"{key}.csv")
    with path.open("r", encoding="utf-8") as handle:
        return pd.read_csv(handle, dtype={c: str for c in DATASETS[key][1]})
