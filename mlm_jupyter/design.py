"""ModelSpec + DataFrame -> Design: validated arrays for the engine.

Everything that can be wrong with the user's data is caught here, with a message that
names the column, so the engine only ever sees finite, well-formed arrays.  The model
matrices come from NumPy for plain numeric formulas (:mod:`.plain_terms`, fast) and from
formulaic otherwise (:mod:`.formulaic_terms`); both give identical matrices and every
check below is shared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .formulaic_terms import check_columns, formulaic_matrices, r_style_names
from .plain_terms import plain_model
from .rank import dependent_columns
from .spec import ModelSpec, RandomTerm
from .transforms import formula_context

__all__ = ["Design", "RandomBlock", "build_design", "r_style_names", "used_frame"]


@dataclass(frozen=True)
class RandomBlock:
    """Design of one random term ``(expr | group)``.

    Attributes
    ----------
    group : str
        lme4's name of the grouping factor (``"school"``, ``"cask:batch"``).
    columns : tuple of str
        Names of the term's columns (``("(Intercept)", "cses")``).
    codes : ndarray of int, shape (n,)
        Level index of every observation.
    levels : tuple of str
        Level names (strings), in R's factor order.
    Z : ndarray, shape (n, q)
        The term's raw model matrix (one row per observation, before expansion by level).
    correlated : bool
        False for the pieces of an ``||`` term.
    model_spec : Any
        formulaic ModelSpec of the left side, for predictions on new data.
    """

    group: str
    columns: tuple[str, ...]
    codes: np.ndarray
    levels: tuple[str, ...]
    Z: np.ndarray
    correlated: bool
    model_spec: Any = field(repr=False, compare=False)

    @property
    def q(self) -> int:
        return len(self.columns)

    @property
    def group_columns(self) -> tuple[str, ...]:
        """Data columns whose interaction defines the grouping factor."""
        return tuple(part.strip().strip("()") for part in self.group.split(":"))

    @property
    def n_levels(self) -> int:
        return len(self.levels)


@dataclass(frozen=True)
class Design:
    """Validated arrays of a model (the engine's only input besides θ).

    Attributes
    ----------
    y : ndarray (n,)
    X : ndarray (n, p)
        Full-rank fixed-effects matrix (aliased columns already dropped).
    fixed_names : tuple of str
        Column names of X in R's ``model.matrix`` order.
    terms : tuple of RandomBlock
        Random terms in lme4's order (decreasing number of levels).
    row_index : pandas.Index
        Index labels of the user's rows that were used.
    n_dropped : int
        Rows dropped for missing values.
    dropped_columns : tuple of str
        Fixed-effect columns dropped as linearly dependent on earlier ones.
    messages : tuple of str
        Notes for the user (dropped rows, dropped columns).
    """

    spec: ModelSpec
    y: np.ndarray
    X: np.ndarray
    fixed_names: tuple[str, ...]
    terms: tuple[RandomBlock, ...]
    row_index: pd.Index
    n_dropped: int
    dropped_columns: tuple[str, ...]
    messages: tuple[str, ...]
    fixed_model_spec: Any = field(repr=False, compare=False)
    variables: tuple[str, ...] = ()
    # GLMM inputs (None for a linear mixed model): the offset(...) terms' sum, the trials
    # of a cbind(successes, failures) response (y is then the proportion) and prior weights.
    offset: np.ndarray | None = None
    trials: np.ndarray | None = None
    weights: np.ndarray | None = None

    @property
    def n(self) -> int:
        return int(self.y.shape[0])

    @property
    def p(self) -> int:
        return int(self.X.shape[1])


def _missing_mask(data: Any, used: list[str], n: int) -> np.ndarray:
    """Rows with a missing value in any used column (column by column: no frame copy).

    ``data`` is the user's frame or a mapping of its used columns; ``n`` its number of rows.
    """
    mask = np.zeros(n, dtype=bool)
    for name in used:
        column = data[name]
        dtype = getattr(column, "dtype", None)  # a DataFrame if the name is duplicated
        if isinstance(dtype, np.dtype) and dtype.kind in "biu":
            continue  # NumPy bool/int columns cannot hold a missing value
        if isinstance(dtype, np.dtype) and dtype.kind == "f":
            mask |= np.isnan(column.to_numpy())
            continue
        na = column.isna().to_numpy()
        mask |= na.any(axis=1) if na.ndim == 2 else na
    return mask


def _factor_levels(values: pd.Series) -> tuple[np.ndarray, tuple[str, ...]]:
    """Codes and string levels of one grouping column, in R's ``factor()`` order."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        cat = values.cat.remove_unused_categories()
        return cat.cat.codes.to_numpy(np.int64), tuple(str(c) for c in cat.cat.categories)
    # Hash-based and sorted: the same codes and levels as np.unique, 8x faster on strings.
    codes, uniques = pd.factorize(values.to_numpy(), sort=True)
    return codes.astype(np.int64), tuple(str(u) for u in uniques)


def _grouping_factor(data: Any, term: RandomTerm) -> tuple[np.ndarray, tuple[str, ...]]:
    """Codes and levels of ``term``'s grouping factor; ``data`` maps column names to Series."""
    parts = [_factor_levels(data[c]) for c in term.group_columns]
    if len(parts) == 1:
        return parts[0]
    # Interaction a:b: level "a_i:b_j" for combinations that occur (R's interaction(drop=TRUE)).
    combined = np.zeros(len(parts[0][0]), dtype=np.int64)
    for codes, levels in parts:
        combined = combined * len(levels) + codes
    uniques, codes = np.unique(combined, return_inverse=True)
    names = []
    for value in uniques:
        labels = []
        for _codes_k, levels_k in reversed(parts):
            labels.append(levels_k[value % len(levels_k)])
            value //= len(levels_k)
        names.append(":".join(reversed(labels)))
    return codes.astype(np.int64), tuple(names)


def _drop_aliased(
    X: np.ndarray, names: tuple[str, ...]
) -> tuple[np.ndarray, tuple[str, ...], tuple[str, ...]]:
    """Drop columns that are linear combinations of earlier ones (as lme4 does, tol 1e-7).

    Tested on each column's variation (:func:`.rank.dependent_columns`), so a predictor's
    units or offset never make it look collinear with the intercept.
    """
    if X.shape[1] == 0:
        return X, names, ()
    keep = ~dependent_columns(X)
    dropped = tuple(n for n, k in zip(names, keep, strict=True) if not k)
    return X[:, keep], tuple(n for n, k in zip(names, keep, strict=True) if k), dropped


def _lme4_term_order(levels_per_term: list[int]) -> list[int]:
    """lme4's mkReTrms: ``if (any(diff(nl) > 0)) ord <- rev(order(nl))``."""
    if not any(b > a for a, b in zip(levels_per_term, levels_per_term[1:], strict=False)):
        return list(range(len(levels_per_term)))
    ascending = sorted(range(len(levels_per_term)), key=lambda i: levels_per_term[i])
    return ascending[::-1]


def build_design(
    spec: ModelSpec,
    data: pd.DataFrame,
    *,
    plain: bool = True,
    weights: Any = None,
    single_row_groups: bool = False,
) -> Design:
    """Validate ``data`` against ``spec`` and build the engine's arrays.

    Parameters
    ----------
    spec : ModelSpec
        Parsed formula.
    data : pandas.DataFrame
        The user's data; never modified.
    plain : bool, default True
        Build the matrices of plain numeric formulas with NumPy (:mod:`.plain_terms`);
        False forces formulaic (the result is the same, only slower).

    Returns
    -------
    Design

    Raises
    ------
    FormulaError
        A variable is not a column of ``data`` (with the closest names).
    ValueError
        Empty data, non-numeric or infinite values, a grouping factor with fewer than two
        levels, or more random effects than observations.
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, not {type(data).__name__}.")
    if len(data) == 0:
        raise ValueError("The data frame is empty: there are no rows to fit the model to.")
    context = formula_context()
    model = plain_model(spec, data, context) if plain else None
    used = list(model.used) if model is not None else check_columns(spec, data, context)
    source: Any = data if model is None else model.columns  # columns looked up once
    missing = _missing_mask(source, used, len(data))
    n_dropped = int(missing.sum())
    n_used = len(data) - n_dropped
    if n_used == 0:
        raise ValueError(
            f"Every row has a missing value in at least one of {used}; nothing is left to fit."
        )
    messages = []
    if n_dropped:
        messages.append(f"{n_dropped} row(s) with missing values dropped ({n_used} used).")

    response_col = spec.response.strip().strip("`")
    if response_col in used and not pd.api.types.is_numeric_dtype(source[response_col]):
        raise ValueError(
            f"The response '{response_col}' is not numeric (dtype {source[response_col].dtype}); "
            "a linear mixed model needs a numeric outcome. Convert it, e.g. with pd.to_numeric."
        )
    keep = ~missing if n_dropped else None
    groups: Any
    if model is None:
        frame = data[used] if keep is None else data[used].loc[keep]
        mats = formulaic_matrices(spec, frame, context)
        groups, row_index = frame, frame.index
    else:
        mats = model.matrices(spec, keep)
        row_index = data.index if keep is None else data.index[keep]
        names = {g for term in spec.random for g in term.group_columns}
        groups = {g: source[g] if keep is None else source[g][keep] for g in names}

    y, trials = mats.y, None
    if mats.y.shape[1] == 2 and spec.response.strip().startswith("cbind("):
        y, trials = _cbind_response(mats.y, spec.response)
    elif mats.y.shape[1] != 1:
        raise ValueError(
            f"The response '{spec.response}' does not give one numeric column ({mats.y_names}); "
            "use a numeric variable on the left of '~'."
        )
    for values, names_, what in [
        (mats.y, mats.y_names, "response"),
        (mats.X, mats.x_names, "fixed effect"),
    ]:
        bad = ~np.isfinite(values)
        if bad.any():
            col = names_[int(np.argmax(bad.any(axis=0)))]
            raise ValueError(
                f"The {what} column '{col}' has {int(bad.sum())} infinite or undefined value(s) "
                "(e.g. log of 0 or a division by zero). Remove or recode those rows first."
            )
    X, x_names, offset = _split_offsets(mats.X, mats.x_names)
    X, fixed_names, dropped_cols = _drop_aliased(X, x_names)
    if dropped_cols:
        messages.append(
            "fixed-effect model matrix is rank deficient so dropping "
            f"{len(dropped_cols)} column(s): {', '.join(dropped_cols)}"
        )
    blocks = [
        _random_block(term, Z, z_names, z_spec, groups, n_used, single_row_groups)
        for term, (Z, z_names, z_spec) in zip(spec.random, mats.random, strict=True)
    ]
    order = _lme4_term_order([b.n_levels for b in blocks])
    blocks = [blocks[i] for i in order]

    return Design(
        spec=spec,
        y=y[:, 0].copy(),
        X=np.ascontiguousarray(X),
        fixed_names=fixed_names,
        terms=tuple(blocks),
        row_index=row_index,
        n_dropped=n_dropped,
        dropped_columns=dropped_cols,
        messages=tuple(messages),
        fixed_model_spec=mats.x_spec,
        variables=tuple(used),
        offset=offset,
        trials=trials,
        weights=_prior_weights(weights, len(data), keep),
    )


def _cbind_response(values: np.ndarray, text: str) -> tuple[np.ndarray, np.ndarray]:
    """``cbind(successes, failures)`` -> (proportion (n, 1), trials); 0 where no trials."""
    if np.any(values < 0):
        raise ValueError(
            f"The response {text} has negative counts ({int((values < 0).sum())} value(s)); "
            "successes and failures must be counts >= 0."
        )
    trials = values.sum(axis=1)
    prop = np.divide(values[:, 0], trials, out=np.zeros(len(trials)), where=trials > 0)
    return prop[:, None], trials


def _split_offsets(
    X: np.ndarray, names: tuple[str, ...]
) -> tuple[np.ndarray, tuple[str, ...], np.ndarray | None]:
    """Move ``offset(...)`` columns out of X: their sum is the offset (coefficient 1)."""
    is_offset = [n.startswith("offset(") for n in names]
    if not any(is_offset):
        return X, names, None
    keep = [i for i, o in enumerate(is_offset) if not o]
    offset = X[:, [i for i, o in enumerate(is_offset) if o]].sum(axis=1)
    return X[:, keep], tuple(names[i] for i in keep), offset


def _prior_weights(weights: Any, n_rows: int, keep: np.ndarray | None) -> np.ndarray | None:
    """The prior weights of the rows used; finite and >= 0, one per row of the data."""
    if weights is None:
        return None
    w = np.asarray(weights, dtype=float).ravel()
    if w.size != n_rows:
        raise ValueError(
            f"weights has {w.size} values for {n_rows} rows of data; give one per row."
        )
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(
            "weights must be finite and >= 0 "
            f"({int((~np.isfinite(w) | (w < 0)).sum())} value(s) are not)."
        )
    return w if keep is None else w[keep]


def _random_block(
    term: RandomTerm, Z: np.ndarray, z_names: tuple[str, ...], z_spec: Any, groups: Any, n: int,
    single_row_groups: bool = False,
) -> RandomBlock:
    """One random term's block, after checking that it can be estimated from ``n`` rows."""
    if not np.isfinite(Z).all():
        raise ValueError(
            f"The random term ({term.expr} | {term.group}) has infinite or undefined values."
        )
    codes, levels = _grouping_factor(groups, term)
    if len(levels) < 2:
        raise ValueError(
            f"The grouping factor '{term.group}' has {len(levels)} level(s) in the rows used; "
            "a random effect needs at least 2 groups (lme4 requires more than 1)."
        )
    if len(levels) >= n and not single_row_groups:
        raise ValueError(
            f"The grouping factor '{term.group}' has {len(levels)} levels for {n} "
            "observations: every group has a single row, so its variance cannot be told "
            "apart from the residual. Use a coarser grouping factor."
        )
    if len(levels) * len(z_names) >= n and not single_row_groups:
        raise ValueError(
            f"The term ({term.expr} | {term.group}) has {len(levels) * len(z_names)} random "
            f"effects for {n} observations; the model is not identified. Drop a "
            "random slope or use a coarser grouping factor."
        )
    dependent = dependent_columns(Z)
    if dependent.any():
        label = f"({term.expr} | {term.group})"
        bad = [z_names[i] for i in np.flatnonzero(dependent)]
        zero = [z_names[i] for i in np.flatnonzero(dependent) if not np.any(Z[:, i])]
        why = ("is 0 in every row used" if len(bad) == len(zero) and len(bad) == 1 else
               "is a linear combination of the term's other columns" if len(bad) == 1 else
               "are linear combinations of the term's other columns (or constant 0)")
        raise ValueError(
            f"The random term {label} cannot be estimated: its column"
            f"{'s' if len(bad) > 1 else ''} {', '.join(repr(b) for b in bad)} {why}, so the "
            "variances and covariances of this term are not identified. Remove "
            f"{'them' if len(bad) > 1 else 'it'} from the term (or recode the variable)."
        )
    return RandomBlock(term.group, z_names, codes, levels, Z, term.correlated, z_spec)


def used_frame(data: pd.DataFrame, design: Design) -> pd.DataFrame:
    """A copy of the rows and columns of ``data`` that ``design`` was built from.

    Column by column (no intermediate frames), and every column is copied: the result
    never shares memory with the user's frame.
    """
    columns = list(design.variables)
    if not data.columns.is_unique:
        return data.loc[design.row_index, columns].copy()
    if not design.n_dropped:
        return pd.DataFrame(
            {c: data[c].array.copy() for c in columns}, index=data.index, copy=False
        )
    keep = ~_missing_mask(data, columns, len(data))  # the rows build_design kept
    frame = {c: data[c].array[keep] for c in columns}  # boolean indexing copies
    return pd.DataFrame(frame, index=data.index[keep], copy=False)
