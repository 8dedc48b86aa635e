"""GLMM responses as lme4 takes them, checked against the family's support.

Binomial: 0/1 (numbers or logical), a two-level factor (its first level, in R's sorted
order, is the failure), ``cbind(successes, failures)``, or a proportion with
``weights`` = trials.  Counts (Poisson, negative binomial): non-negative integers.
Everything else is refused with a message that says what is wrong and what to do.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..design import Design
from ..engine.families import DEFAULT_LINK, FAMILIES, LINKS, Family, make_family

FAMILY_ALIASES = {"nb": "negative_binomial", "negbin": "negative_binomial",
                  "negative.binomial": "negative_binomial", "negative binomial":
                  "negative_binomial", "bernoulli": "binomial"}


def check_family(family: str, link: str | None) -> tuple[str, str]:
    """Normalised (family, link); unknown names raise ValueError listing the choices."""
    if not isinstance(family, str):
        raise TypeError(f"family must be a string such as 'binomial', not {type(family).__name__}.")
    name = FAMILY_ALIASES.get(family.strip().lower(), family.strip().lower())
    if name not in FAMILIES:
        raise ValueError(
            f"family '{family}' is not available; use 'gaussian' (linear mixed model), "
            f"'binomial', 'poisson' or 'negative_binomial'."
        )
    link = DEFAULT_LINK[name] if link is None else str(link).strip().lower()
    if link not in LINKS[name]:
        raise ValueError(
            f"link '{link}' is not available for the {name} family; "
            f"use one of {', '.join(LINKS[name])}."
        )
    return name, link


def binary_column(data: pd.DataFrame, response: str, family: str) -> pd.DataFrame:
    """``data`` with a non-numeric binomial response recoded 0/1 (a copy; else unchanged).

    A logical column becomes 0/1; a two-level factor or string column becomes 0 for its
    first level (R's sorted order) and 1 for the other, as glmer reads a factor.
    """
    name = response.strip().strip("`")
    if family != "binomial" or name not in data.columns:
        return data
    column = data[name]
    if pd.api.types.is_bool_dtype(column.dtype) and not column.isna().any():
        return data.assign(**{name: column.astype(np.float64)})
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(
        column.dtype
    ):
        return data
    values = column.dropna()
    if isinstance(column.dtype, pd.CategoricalDtype):
        levels = [c for c in column.cat.categories if c in set(values)]
    else:
        levels = sorted(pd.unique(values), key=str)
    if len(levels) != 2:
        shown = ", ".join(map(str, levels[:6])) + (" ..." if len(levels) > 6 else "")
        raise ValueError(
            f"The binomial response '{name}' has {len(levels)} distinct value(s) ({shown}); "
            "a binary outcome needs exactly 2. Recode it to 0/1 (e.g. "
            f"df['{name}'] == '<success level>'), or model an ordered or multi-category "
            "outcome with another method."
        )
    coded = column.map({levels[0]: 0.0, levels[1]: 1.0}).astype(np.float64)
    return data.assign(**{name: coded})


def response_family(design: Design, family: str, link: str) -> Family:
    """The validated :class:`Family` of a design (y, prior weights, constants)."""
    y = design.y
    user_w = design.weights
    name = design.spec.response
    if family == "binomial":
        if design.trials is not None:
            trials = design.trials
            w = trials if user_w is None else trials * user_w
            _warn_non_integer(trials * y, name)
            return make_family(family, link, y, w, trials=trials)
        outside = (y < 0) | (y > 1)
        if outside.any():
            raise ValueError(
                f"The binomial response '{name}' has {int(outside.sum())} value(s) outside "
                f"[0, 1] (range {y.min():g} to {y.max():g}). Give 0/1 outcomes, a proportion "
                "with weights = number of trials, or cbind(successes, failures) for counts."
            )
        binary = np.all((y == 0) | (y == 1))
        if not binary and user_w is None:
            raise ValueError(
                f"The binomial response '{name}' holds proportions (values between 0 and 1) "
                "but no weights were given: pass weights = the number of trials of each row "
                "(glmer's weights=), or write cbind(successes, failures)."
            )
        w = np.ones_like(y) if user_w is None else user_w
        if not binary:
            _warn_non_integer(w * y, name)
        return make_family(family, link, y, w)
    if design.trials is not None:
        raise ValueError(
            f"cbind(...) responses are binomial (successes, failures); the {family} family "
            "takes a single count column."
        )
    negative = y < 0
    if negative.any():
        raise ValueError(
            f"The {family.replace('_', ' ')} response '{name}' has {int(negative.sum())} "
            f"negative value(s) (minimum {y.min():g}); counts must be >= 0."
        )
    fractional = np.abs(y - np.round(y)) > 1e-8
    if fractional.any():
        raise ValueError(
            f"The {family.replace('_', ' ')} response '{name}' has {int(fractional.sum())} "
            f"non-integer value(s) (e.g. {y[fractional][0]:g}); it needs counts. For rates "
            "use the count as the response with offset(log(exposure))."
        )
    w = np.ones_like(y) if user_w is None else user_w
    return make_family(family, link, y, w, theta=1.0)


def _warn_non_integer(successes: np.ndarray, name: str) -> None:
    if np.any(np.abs(successes - np.round(successes)) > 1e-3):
        warnings.warn(
            f"non-integer #successes in the binomial response '{name}' (proportion x weights "
            "is not a whole number): the likelihood's constants are then R's continuous "
            "extension.", UserWarning, stacklevel=4,
        )
