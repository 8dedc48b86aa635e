"""What every fitted mixed model shows the same way, LMM or GLMM.

:class:`FittedMixedModel` is the protocol that display, effects and diagnostics code may
rely on for any fit; :class:`RandomEffectsViews` implements the part of it that is a pure
function of the design, θ, σ and the conditional modes (lme4's ``ranef``, ``coef``,
``VarCorr`` per group), so the LMM and GLMM results share one implementation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from .frozen import frozen_cached

if TYPE_CHECKING:  # pragma: no cover
    from .design import Design
    from .spec import ModelSpec


@runtime_checkable
class FittedMixedModel(Protocol):
    """The public surface shared by linear and generalised linear mixed-model results."""

    spec: ModelSpec
    design: Design
    fixef: pd.Series
    theta: np.ndarray
    objective: float
    loglik: float
    npar: int
    aic: float
    bic: float
    nobs: int
    ngroups: dict[str, int]
    n_dropped: int
    is_singular: bool
    converged: bool
    messages: tuple[str, ...]

    @property
    def vcov(self) -> pd.DataFrame: ...

    @property
    def varcorr(self) -> pd.DataFrame: ...

    @property
    def ranef(self) -> dict[str, pd.DataFrame]: ...

    def summary(self) -> str: ...


def relative_factors(design: Design, theta: np.ndarray) -> list[np.ndarray]:
    """θ -> the lower-triangular T_k of every term of ``design`` (lme4's column-major θ)."""
    from .engine.theta import unpack_theta

    return unpack_theta(theta, design)


class RandomEffectsViews:
    """``ranef``, ``ranef_se``, ``coef``, ``tau`` and identity properties of a fit.

    Tables are cached once and handed out as copies (:class:`~mlm_jupyter.frozen.frozen_cached`),
    so editing what a user reads cannot change the result.  Needs the attributes ``spec``,
    ``design``, ``data_used``, ``ngroups``, ``fixef``, ``theta``, ``sigma``,
    ``random_effects`` (b per term) and ``conditional_covariances``.
    """

    spec: Any
    design: Any
    data_used: Any
    ngroups: dict[str, int]
    fixef: pd.Series
    theta: np.ndarray
    random_effects: tuple[np.ndarray, ...]

    @property
    def formula(self) -> str:
        return self.spec.formula

    @property
    def data(self) -> pd.DataFrame:
        """The user's rows used in the fit (only the model's columns, original index)."""
        if self.data_used is None:
            raise AttributeError("this result was built without its data")
        return self.data_used

    @property
    def group_names(self) -> list[str]:
        """Grouping factors in lme4's order."""
        return list(self.ngroups)

    @frozen_cached
    def ranef(self) -> dict[str, pd.DataFrame]:
        """Conditional modes per grouping factor, levels x terms."""
        from .varcorr import ranef_tables

        return ranef_tables(self.design, list(self.random_effects))

    @frozen_cached
    def ranef_se(self) -> dict[str, pd.DataFrame]:
        """Conditional SDs of the random effects, levels x terms."""
        from .varcorr import ranef_tables

        sds = [
            np.sqrt(np.maximum(np.diagonal(c, axis1=1, axis2=2), 0.0))
            for c in self.conditional_covariances  # type: ignore[attr-defined]
        ]
        return ranef_tables(self.design, sds)

    def tau(self, group: str | None = None) -> pd.DataFrame:
        """Covariance matrix T of one grouping factor's random effects (terms x terms).

        Terms of the same factor from ``||`` are uncorrelated (zero covariances).
        """
        group = self.group_names[0] if group is None else group
        blocks = [(term, k) for k, term in enumerate(self.design.terms) if term.group == group]
        if not blocks:
            raise KeyError(
                f"'{group}' is not a grouping factor of this model; use one of {self.group_names}."
            )
        T = relative_factors(self.design, self.theta)
        names = [c for term, _ in blocks for c in term.columns]
        mat = np.zeros((len(names), len(names)))
        start = 0
        sigma2 = float(self.sigma) ** 2  # type: ignore[attr-defined]
        for term, k in blocks:
            q = term.q
            mat[start : start + q, start : start + q] = sigma2 * T[k] @ T[k].T
            start += q
        return pd.DataFrame(mat, index=names, columns=names)

    @frozen_cached
    def coef(self) -> dict[str, pd.DataFrame]:
        """Cluster-specific coefficients: γ plus each level's random effects (lme4's ``coef``)."""
        out = {}
        for group, re in self.ranef.items():
            table = pd.DataFrame(
                np.tile(self.fixef.to_numpy(), (len(re), 1)),
                index=re.index,
                columns=self.fixef.index,
            )
            for col in re.columns:
                if col in table.columns:
                    table[col] = table[col] + re[col]
                else:
                    table[col] = re[col]
            out[group] = table
        return out
