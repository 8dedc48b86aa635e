"""The formulaic path of :func:`mlm_jupyter.design.build_design`: any lme4 fixed part.

Columns a formula reads (including those inside centring transforms), model matrices
built by formulaic, and R's ``model.matrix`` names for formulaic's columns.  Plain numeric
formulas skip this module (see :mod:`mlm_jupyter.plain_terms`).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from formulaic import Formula, model_matrix

from .formula import FormulaError, unknown_column_error
from .naming import r_column_name, split_interaction, to_formulaic
from .plain_terms import Matrices
from .spec import ModelSpec


def _required_variables(text: str, context: dict[str, Any]) -> set[str]:
    # Factor by factor: formulaic's Formula.required_variables reads a column named ``x.1``
    # as Python attribute access and reports ``x``; a lookup factor's name is the column.
    names: set[str] = set()
    for term in Formula(to_formulaic(text)):
        for factor in term.factors:
            if factor.eval_method.value == "lookup":
                names.add(str(factor.expr))
            elif factor.token is not None:
                names |= {str(n) for n in factor.token.required_variables}
    names |= _transform_arguments(to_formulaic(text), context)
    return {n for n in names if n not in context}


def _transform_arguments(text: str, context: dict[str, Any]) -> set[str]:
    """Variables in the first argument of stateful transforms (``center(x, 1)``, ``scale(x)``).

    formulaic reports no required variables inside its own transforms, so a column used only
    there would not be selected from the data; read them from the call's first argument.
    """
    import ast

    from formulaic.transforms import TRANSFORMS

    known = set(context) | set(TRANSFORMS)
    try:
        tree = ast.parse(text.replace(":", "*").replace("~", "+"), mode="eval")
    except SyntaxError:
        return set()
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args:
            if node.func.id in known:
                # Names called inside the argument (``offset(log(t))``) are functions.
                called = {c.func.id for c in ast.walk(node.args[0])
                          if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)}
                out |= {n.id for n in ast.walk(node.args[0])
                        if isinstance(n, ast.Name) and n.id not in called}
    return out


def check_columns(spec: ModelSpec, data: pd.DataFrame, context: dict[str, Any]) -> list[str]:
    """Every variable the formula uses, in a stable order; unknown ones raise FormulaError."""
    try:
        wanted = [*sorted(_required_variables(spec.response, context))]
        wanted += sorted(_required_variables(spec.fixed, context) - set(wanted))
        for term in spec.random:
            wanted += sorted(_required_variables(term.expr, context) - set(wanted))
            wanted += [g for g in term.group_columns if g not in wanted]
    except FormulaError:
        raise
    except Exception as exc:  # formulaic's own parse errors
        raise FormulaError(
            f"formulaic could not read part of the formula: {exc}",
            spec.formula,
            None,
            "Check the fixed part and the left sides of the bar terms.",
        ) from exc
    columns = [str(c) for c in data.columns]
    for name in wanted:
        if name not in columns:
            raise unknown_column_error(spec.formula, name, columns)
    return wanted


def _matrix(
    text: str, data: pd.DataFrame, context: dict[str, Any], where: str, formula: str
) -> tuple[np.ndarray, tuple[str, ...], Any]:
    """Values (float64), R names and formulaic ModelSpec of one formula part."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mm = model_matrix(to_formulaic(text), data, context=context, na_action="ignore")
    except FormulaError:
        raise
    except Exception as exc:
        raise FormulaError(
            f"could not build the {where} from '{text}': {exc}",
            formula,
            formula.find(text),
            "Check the variables and functions used in that part of the formula.",
        ) from exc
    values = np.asarray(mm.to_numpy() if hasattr(mm, "to_numpy") else mm, dtype=float)
    return values, r_style_names(mm.model_spec), mm.model_spec


def r_style_names(model_spec: Any) -> tuple[str, ...]:
    """R's column names for a formulaic model matrix.

    R orders the variables inside an interaction by their first appearance in the formula
    (``a*x + b*x`` labels the second interaction ``x:b``), formulaic by the term as written;
    reorder each column's parts by first appearance, then translate them.
    """
    order: dict[str, int] = {}
    for structure in model_spec.structure:
        for factor in structure.term.factors:
            order.setdefault(str(factor), len(order))
    names = []
    for structure in model_spec.structure:
        factors = [str(f) for f in structure.term.factors]
        for column in structure.columns:
            parts = split_interaction(str(column))
            if len(parts) == len(factors) > 1:
                ranked = sorted(
                    zip(factors, parts, strict=True), key=lambda fp: order.get(fp[0], 0)
                )
                column = ":".join(part for _, part in ranked)
            names.append(r_column_name(column))
    return tuple(names)


def formulaic_matrices(spec: ModelSpec, frame: pd.DataFrame, context: dict[str, Any]) -> Matrices:
    """y, X and every Z of ``spec`` on ``frame`` (rows without missing values), by formulaic.

    Formulaic errors become :class:`FormulaError` naming the part of the formula.
    """
    y, y_names, _ = _matrix(f"0 + {spec.response}", frame, context, "response", spec.formula)
    X, x_names, x_spec = _matrix(spec.fixed, frame, context, "fixed effects", spec.formula)
    random = [
        _matrix(term.expr, frame, context, "random-effects term", spec.formula)
        for term in spec.random
    ]
    return Matrices(y, y_names, X, x_names, x_spec, random)
