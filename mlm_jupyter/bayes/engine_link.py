"""The one place where the Bayesian fit meets the engine: its units and their maps back.

The sampler works in the engine's well-conditioned units (:mod:`..engine.conditioning`),
read from a REML fit's public ``engine_design`` and ``conditioning``: X° = XA, Z°_k = Z_kB_k,
y° = (y - Xγ̂)/s.  The model in the user's units maps exactly:

    β = γ̂ + s A β°,    b_k = s B_k b°_k,    σ = s σ°,
    b°_k = T°_k u_k, u_k ~ N(0, σ°² I)  with  T°_k = B_k⁻¹ D_k L_k / σ,

where S_k = D_k L_k L_k' D_k is term k's covariance in the user's units (D_k its SDs, L_k
the Cholesky factor of its correlation matrix): then Cov(b_k) = s² B_k σ°² T°T°' B_k' = S_k.
The maps are linear with constant Jacobians, so the posterior in the engine's units is
the user's posterior.  Cross-products per level of a single grouping factor (or one dense
block for several factors) are formed once here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..results import MixedModelResult
from .kernel import Blocks

#: several grouping factors use one dense block of all random effects: at most this many
MAX_DENSE_EFFECTS = 1500


@dataclass(frozen=True)
class TermMap:
    """One random term in the sampling problem."""

    q: int
    n_levels: int
    cols: slice  # its columns in a level block (single factor) or its rows of the dense Λ
    dense_offset: int  # first row in the dense block (several factors)
    B: np.ndarray  # Z°_k = Z_k B_k
    B_inv: np.ndarray
    levels: tuple[str, ...]


@dataclass(frozen=True)
class EngineLink:
    """Cross-products in the engine's units and the exact maps to the user's units."""

    blocks: Blocks
    terms: tuple[TermMap, ...]
    single_factor: bool  # one grouping factor: one block per level
    codes: tuple[np.ndarray, ...]  # per term, level of each row
    scale: float  # s
    A: np.ndarray
    gamma: np.ndarray
    X_mean: np.ndarray  # column means of X in the user's units (for the centred intercept)

    def beta(self, beta_engine: np.ndarray) -> np.ndarray:
        """β = γ̂ + s A β° (rows of draws: shape (..., p))."""
        return self.gamma + self.scale * (beta_engine @ self.A.T)

    def random_effects(self, k: int, b_engine: np.ndarray) -> np.ndarray:
        """b_k = s B_k b°_k (shape (..., levels, q))."""
        return self.scale * (b_engine @ self.terms[k].B.T)


def _per_level(codes: np.ndarray, left: np.ndarray, right: np.ndarray, n_levels: int) -> np.ndarray:
    out = np.empty((n_levels, left.shape[1], right.shape[1]))
    for a in range(left.shape[1]):
        for b in range(right.shape[1]):
            out[:, a, b] = np.bincount(codes, weights=left[:, a] * right[:, b], minlength=n_levels)
    return out


def _same_factor(design) -> bool:
    first = design.terms[0]
    return all(t.group == first.group and np.array_equal(t.codes, first.codes)
               for t in design.terms[1:])


def build_link(res: MixedModelResult) -> EngineLink:
    """The sampling problem of a fitted model (its REML fit gives the units).

    Raises
    ------
    ValueError
        Several grouping factors with more random effects than :data:`MAX_DENSE_EFFECTS`.
    """
    ed = res.engine_design
    cond = res.conditioning
    W = np.column_stack([ed.X, ed.y])
    terms, col = [], 0
    single = _same_factor(ed)
    offset = 0
    for k, term in enumerate(ed.terms):
        terms.append(TermMap(term.q, term.n_levels, slice(col, col + term.q), offset,
                             np.asarray(cond.B[k]), np.asarray(cond.B_inv[k]), term.levels))
        col += term.q
        offset += term.q * term.n_levels
    if single:
        Z = np.column_stack([t.Z for t in ed.terms])
        codes = ed.terms[0].codes
        nl = ed.terms[0].n_levels
        blocks = Blocks(_per_level(codes, Z, Z, nl), _per_level(codes, Z, W, nl), W.T @ W, ed.n)
    else:
        if offset > MAX_DENSE_EFFECTS:
            raise ValueError(
                f"Bayesian estimation with several grouping factors handles up to "
                f"{MAX_DENSE_EFFECTS} random effects for now; this model has {offset}. Fit "
                "it by REML (method=None), or simplify the random part."
            )
        Zfull = np.zeros((ed.n, offset))
        rows = np.arange(ed.n)
        for t, term in zip(terms, ed.terms, strict=True):
            for a in range(term.q):
                Zfull[rows, t.dense_offset + term.codes * term.q + a] = term.Z[:, a]
        blocks = Blocks((Zfull.T @ Zfull)[None], (Zfull.T @ W)[None], W.T @ W, ed.n)
    return EngineLink(
        blocks=blocks, terms=tuple(terms), single_factor=single,
        codes=tuple(t.codes for t in ed.terms), scale=float(cond.scale),
        A=np.asarray(cond.A), gamma=np.asarray(cond.gamma),
        X_mean=res.design.X.mean(axis=0) if res.design.p else np.zeros(0),
    )
