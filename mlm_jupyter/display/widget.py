"""``ModelExplorer``: the interactive explorer as an anywidget.

The widget's synced state is the compact model summary built by
:func:`mlm_jupyter.display.explorer_state.build_state`; every slider move, brush and click is
computed in the browser (``mlm_jupyter/static/explorer.js``, built from ``js/``), so the
explorer also works from saved widget state and in exported HTML. The one value that flows
back is the cluster selection, ``explorer.selected``.
"""

from __future__ import annotations

import sys
import uuid
import weakref
from pathlib import Path
from typing import Any

import anywidget
import pandas as pd
import traitlets

from .explorer_state import MAX_CLUSTERS, SAMPLE_SEED, build_state, choose_group

STATIC = Path(__file__).resolve().parent.parent / "static"
PANELS = ("interaction", "clusters", "variance")


def bundle_paths() -> tuple[Path, Path]:
    """Paths of the built front end (``explorer.js``, ``explorer.css``) for reports."""
    js, css = STATIC / "explorer.js", STATIC / "explorer.css"
    if not js.exists():
        raise FileNotFoundError(
            f"the explorer's front end is missing ({js}); reinstall mlm_jupyter, or build it "
            "from a source checkout with `cd js && npm ci && npm run build`."
        )
    return js, css


class ModelExplorer(anywidget.AnyWidget):
    """Interactive explorer of a fitted multilevel model.

    Panels: cross-level interaction (moderator sliders, simple slopes with Satterthwaite df,
    Johnson-Neyman region, random-slope range), clusters (BLUP scatter linked to a spaghetti
    and a caterpillar plot) and variance (Tau, ICC, reliabilities, model-implied variance).

    Parameters
    ----------
    result : MixedModelResult
        A fitted model (``mlm.fit(...)``).
    group : str, optional
        Grouping factor for the cluster views (default: the first with a random slope).
    predictor : str, optional
        Level-1 predictor shown first in the interaction panel.
    at : dict, optional
        Initial moderator values, e.g. ``{"catholic": 1}``.
    tab : {"interaction", "clusters", "variance"}, optional
        Panel shown first.
    selected : list, optional
        Initially selected cluster ids.
    max_clusters : int
        Cluster views draw a seeded random sample above this many clusters.
    seed : int
        Seed of that sample (``numpy.random.default_rng(seed)``).

    Attributes
    ----------
    selected : list of str
        Ids of the clusters selected in the browser (brush, click, find box); assign to
        select from Python.
    """

    _esm = STATIC / "explorer.js"
    _css = STATIC / "explorer.css"

    state = traitlets.Dict().tag(sync=True)
    # Element types are checked (and numbers coerced to level strings) by _validate_selected.
    selected = traitlets.List().tag(sync=True)
    # Shared with the output's offline copy (display/fallback.py), which hides while a live
    # view with this id is rendered.
    _fallback_id = traitlets.Unicode("").tag(sync=True)

    def __init__(
        self,
        result: Any,
        *,
        group: str | None = None,
        predictor: str | None = None,
        at: dict[str, float] | None = None,
        tab: str | None = None,
        selected: list[Any] | tuple[Any, ...] = (),
        max_clusters: int = MAX_CLUSTERS,
        seed: int = SAMPLE_SEED,
        posterior: Any = None,
        **kwargs: Any,
    ) -> None:
        bundle_paths()
        group = choose_group(result, group)
        self._result = result
        self._shown_in: set[str] = set()  # notebook cells whose outputs show this explorer
        self._group = group
        self._levels = tuple(str(lv) for lv in result.ranef[group].index)
        ids = self._check_ids(selected)
        initial = _initial(tab, predictor, at)
        state = build_state(
            result, group, max_clusters=max_clusters, seed=seed, selected=ids, initial=initial,
            diagnostics=posterior is None,  # a posterior's state has no REML diagnostics
        )
        _check_initial(state, initial)
        if posterior is not None:  # a BayesianResult: estimates and slopes from its draws
            from ..bayes.explorer import with_posterior

            state = with_posterior(state, posterior)
        super().__init__(
            state=state, selected=ids, _fallback_id="mlm-" + uuid.uuid4().hex, **kwargs
        )

    # -- selection -------------------------------------------------------------------------
    def _check_ids(self, ids: Any) -> list[str]:
        if isinstance(ids, (str, bytes)) or not hasattr(ids, "__iter__"):
            raise TypeError(
                f"selected must be a list of {self._group} ids, e.g. ['{self._levels[0]}'], "
                f"not {type(ids).__name__}."
            )
        out = [str(i) for i in ids]
        known = set(self._levels)
        unknown = [i for i in out if i not in known]
        if unknown:
            raise ValueError(
                f"unknown {self._group} id(s) {unknown[:5]}; ids are the levels of "
                f"'{self._group}' as strings, e.g. {list(self._levels[:3])}."
            )
        return list(dict.fromkeys(out))

    @traitlets.validate("selected")
    def _validate_selected(self, proposal: dict) -> list[str]:
        return self._check_ids(proposal["value"])

    @property
    def result(self) -> Any:
        """The fitted model this explorer shows."""
        if self._result is None:
            raise RuntimeError(
                "this explorer was replaced when its cell ran again, and let go of its model; "
                "use the new explorer, or call res.explore() again."
            )
        return self._result

    # -- display ---------------------------------------------------------------------------
    def _ipython_display_(self, **kwargs: Any) -> None:
        """Two outputs: the live widget view, then its offline copy (``display.fallback``).

        The copy renders wherever the live view cannot (no kernel, exported HTML) and hides
        while it is shown. Explorers shown earlier by the same notebook cell are released
        (``release``), so re-running a cell does not keep every earlier fit alive.
        """
        from IPython.display import display

        from .fallback import fallback_bundle, picture_png

        cell, run = _cell_and_run()
        _release_earlier(self, cell, run)
        display(self._repr_mimebundle_(), raw=True)
        if "google.colab" in sys.modules:
            # Colab renders every output in its own frame, where the copy could not see the
            # live view to step aside for it; Colab keeps widget state itself.
            return
        first_of_run = _BUNDLE_RUNS.get("run") != run or run is None
        _BUNDLE_RUNS["run"] = run
        display(
            fallback_bundle(
                self.state, self._fallback_id, include_bundle=first_of_run,
                selected=list(self.selected), picture=picture_png(self.state),
            ),
            raw=True,
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        bundle = super()._repr_mimebundle_(**kwargs)
        # ipywidgets returns (data, metadata) in some versions and data in others.
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        data = dict(data or {})
        data["text/plain"] = repr(self)
        return data

    def release(self) -> None:
        """Close the widget and let go of its model and state (frees their memory)."""
        self._result = None
        self.close()
        with self.hold_trait_notifications():
            self.set_trait("state", {})

    @property
    def group(self) -> str:
        """The grouping factor of the cluster views."""
        return self._group

    def selected_data(self) -> pd.DataFrame:
        """Rows of the model's data that belong to the selected clusters."""
        data = self._result.data
        cols = [c.strip() for c in self._group.split(":")]
        if len(cols) == 1:
            key = data[cols[0]].astype(str)
        else:
            key = data[cols].astype(str).agg(":".join, axis=1)
        return data[key.isin(set(self.selected))]

    def __repr__(self) -> str:
        formula = self.state.get("formula", "") if self._result is None else self._result.formula
        return (
            f"ModelExplorer({formula!r}, group={self._group!r}, "
            f"selected={len(self.selected)} of {len(self._levels)})"
        )


# Explorers displayed by each notebook cell (weakly held), with the run that displayed them.
_SHOWN: dict[str, list[tuple[Any, weakref.ref]]] = {}
_BUNDLE_RUNS: dict[str, Any] = {}


def _cell_and_run() -> tuple[str | None, Any]:
    """The notebook cell id and the execute request being run, when inside a kernel."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
        kernel = getattr(shell, "kernel", None)
        if kernel is None:
            return None, None
        parent = kernel.get_parent("shell") if hasattr(kernel, "get_parent") else {}
        parent = parent or getattr(shell, "parent_header", {}) or {}
    except Exception:  # noqa: BLE001 - outside a kernel: no cell to key on
        return None, None
    cell = (parent.get("metadata") or {}).get("cellId")
    run = (parent.get("header") or {}).get("msg_id")
    return cell, run


def _release_earlier(widget: ModelExplorer, cell: str | None, run: Any) -> None:
    """Release explorers whose every output has been replaced by re-running its cells.

    An explorer shown by an earlier run of ``cell`` lost that output; once no other cell
    shows it, it is released.
    """
    if cell is None:
        return
    kept = []
    for shown_run, ref in _SHOWN.get(cell, []):
        old = ref()
        if old is None or old is widget:
            continue
        if shown_run == run:
            kept.append((shown_run, ref))
            continue
        old._shown_in.discard(cell)
        if not old._shown_in:
            old.release()
    kept.append((run, weakref.ref(widget)))
    _SHOWN[cell] = kept
    widget._shown_in.add(cell)


def _initial(tab: str | None, predictor: str | None, at: dict | None) -> dict:
    if tab is not None and tab not in PANELS:
        raise ValueError(f"tab must be one of {list(PANELS)}, not {tab!r}.")
    out: dict[str, Any] = {}
    if tab:
        out["tab"] = tab
    if predictor:
        out["predictor"] = str(predictor)
    if at:
        out["at"] = {str(k): float(v) for k, v in dict(at).items()}
    return out


def _check_initial(state: dict, initial: dict) -> None:
    names = [p["name"] for p in state["predictors"]]
    if "predictor" in initial and initial["predictor"] not in names:
        raise ValueError(
            f"predictor {initial['predictor']!r} has no random or moderated slope in this model; "
            f"choose one of {names}."
        )
    for key in initial.get("at", {}):
        if key not in state["variables"]:
            raise ValueError(
                f"'{key}' in at= is not a variable of the fixed part; use one of "
                f"{sorted(state['variables'])}."
            )
