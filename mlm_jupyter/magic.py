"""``%%mlm`` and ``%mlm``: write the model as in R, read the summary in the cell.

::

    %load_ext mlm_jupyter

    %%mlm hsb -o m1
    mathach ~ cses * catholic + meanses   # fixed part
        + (1 + cses | school)             # random intercept and slope

    %mlm compare m0 m1
    %mlm anova m1
    %mlm advice m1
    %mlm report m0 m1 -o report.html
    %mlm table m0 m1 --format latex
    %mlm explore m1
    %mlm help

The result is stored in the user's namespace under ``-o NAME`` (default ``mlm_last``).
Problems (bad formula, unknown column or data frame, bad option) are shown as a short
message in the cell: what is wrong, where, and what to do; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import difflib
import re
import traceback
import warnings
from typing import Any

import pandas as pd
from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import MagicArgumentParser
from IPython.display import display

from .display.html import advice_html, error_html, result_html
from .display.text import summary_text
from .formula import FormulaError
from .results import MixedModelResult

#: Where ``%%mlm`` stores its result when no ``-o`` is given.
DEFAULT_NAME = "mlm_last"
DDF_CHOICES = ("satterthwaite", "kenward-roger")


class MagicError(Exception):
    """A user-facing problem: short title, what is wrong, where, and what to do."""

    def __init__(self, title: str, message: str, where: str = "", todo: str = "") -> None:
        super().__init__(message)
        self.title, self.message, self.where, self.todo = title, message, where, todo

    def text(self) -> str:
        parts = [f"{self.title}: {self.message}"]
        if self.where:
            parts.append(self.where)
        if self.todo:
            parts.append(self.todo)
        return "\n".join(parts)


class _HelpFormatter(argparse.HelpFormatter):
    """Plain argparse help: ``usage: %%mlm ...`` (IPython's formatter writes reST for docstrings,
    ``::`` and an extra ``%`` in front of the program name)."""


def _parser(prog: str, description: str) -> MagicArgumentParser:
    parser = MagicArgumentParser(prog=prog, description=description,
                                 formatter_class=_HelpFormatter)
    parser.add_argument("-h", "--help", action="store_true", help="show this help")
    return parser


CELL = _parser(
    "%%mlm",
    "Fit a linear mixed model written in lme4 syntax in the cell body (lines may continue the "
    "formula; '#' starts a comment; {name} inserts a Python variable's value).",
)
CELL.add_argument("data", nargs="?", help="name of the pandas DataFrame in the notebook")
CELL.add_argument(
    "-o", "--out", default=None, help=f"store the result under this name (default {DEFAULT_NAME})"
)
CELL.add_argument("--ml", action="store_true", help="maximum likelihood instead of REML")
CELL.add_argument(
    "--ddf",
    default="satterthwaite",
    type=str.lower,
    help="denominator df of the t tests: satterthwaite (default) or kenward-roger",
)
CELL.add_argument(
    "--family", default="gaussian", type=str.lower,
    help="gaussian (linear mixed model, default), binomial, poisson or negative_binomial (GLMM)",
)
CELL.add_argument("--link", default=None, type=str.lower,
                  help="GLMM link: logit (default), probit, cloglog; log for counts")
CELL.add_argument("--weights", default=None,
                  help="GLMM prior weights: a column of the data (trials of a proportion)")
CELL.add_argument("--nagq", type=int, default=1,
                  help="GLMM quadrature points (glmer's nAGQ; 1 = Laplace)")
CELL.add_argument("--bayes", action="store_true",
                  help="Bayesian estimation (NUTS; brms' priors; needs mlm_jupyter[bayes])")
CELL.add_argument("--priors", default=None,
                  help="with --bayes: name of a dict of priors, e.g. {'b': 'normal(0, 10)'}")
CELL.add_argument("--draws", type=int, default=1000, help="with --bayes: draws per chain")
CELL.add_argument("--chains", type=int, default=4, help="with --bayes: chains")
CELL.add_argument("--seed", type=int, default=None, help="with --bayes: random seed")
CELL.add_argument("--target-accept", type=float, default=0.8,
                  help="with --bayes: NUTS target acceptance (brms' adapt_delta)")
CELL.add_argument("--no-explore", action="store_true", help="do not show the interactive explorer")
CELL.add_argument("--no-advice", action="store_true", help="leave the advice out of the summary")
CELL.add_argument("--quiet", action="store_true", help="store the result, display nothing")
CELL.add_argument("--debug", action="store_true", help="show Python tracebacks of errors")

COMPARE = _parser("%mlm compare", "Likelihood-ratio tests of nested models (lme4's anova).")
COMPARE.add_argument("models", nargs="*", help="names of two or more fitted models")
COMPARE.add_argument("--nsim", type=int, default=0, help="parametric-bootstrap replicates (p_boot)")
COMPARE.add_argument("--no-refit", action="store_true", help="compare REML fits without ML refits")
COMPARE.add_argument("--seed", type=int, default=None, help="random seed of the bootstrap")

ANOVA = _parser("%mlm anova", "F test of every fixed-effect term (lmerTest's anova).")
ANOVA.add_argument("model", nargs="?", help=f"name of a fitted model (default {DEFAULT_NAME})")
ANOVA.add_argument("--type", default="3", help="3 (default), 2 or 1 (sequential)")
ANOVA.add_argument("--ddf", default="satterthwaite", type=str.lower,
                   help="satterthwaite (default) or kenward-roger")

ONE = _parser("%mlm advice|explore|summary", "Advice, the explorer or the text summary of a model.")
ONE.add_argument("model", nargs="?", help=f"name of a fitted model (default {DEFAULT_NAME})")

REPORT = _parser("%mlm report", "Write a self-contained offline HTML report.")
REPORT.add_argument("models", nargs="*", help="names of fitted models")
REPORT.add_argument("-o", "--out", default="mlm_report.html", help="file to write")
REPORT.add_argument("--title", default=None, help="page title")

TABLE = _parser("%mlm table", "Models side by side for a paper (mlm.table).")
TABLE.add_argument("models", nargs="*", help="names of fitted models")
TABLE.add_argument("--format", default="html", type=str.lower,
                   help="html (default), latex, markdown or docx")
TABLE.add_argument("-o", "--out", default=None, help="also write the table to this file")
TABLE.add_argument("--ddf", default="satterthwaite", type=str.lower,
                   help="satterthwaite (default), kenward-roger or residual")
TABLE.add_argument("--se", action="store_true", help="standard errors instead of intervals")
TABLE.add_argument("--stars", action="store_true", help="significance marks")
TABLE.add_argument("--std", default=None, help="standardised coefficients: refit or basic")
TABLE.add_argument("--title", default=None, help="caption")

SUBCOMMANDS = {"compare": COMPARE, "anova": ANOVA, "advice": ONE, "explore": ONE, "summary": ONE,
               "report": REPORT, "table": TABLE}

LINE_HELP = """%mlm: commands on fitted models
  %mlm compare m0 m1 [--nsim N] [--no-refit] [--seed S]   likelihood-ratio tests
  %mlm anova m1 [--type 3] [--ddf kenward-roger]          F test of every term (lmerTest)
  %mlm advice m1                                          centering and model advice
  %mlm report m0 m1 -o file.html [--title T]              offline HTML report
  %mlm table m0 m1 [--format latex] [-o file] [--se]       table for a paper
  %mlm explore m1                                         interactive explorer
  %mlm summary m1                                         lme4-style text summary
  %mlm help                                               this help
Each command takes --help.

The cell magic (%%mlm --help alone in a cell shows this part):
""" + CELL.format_help()


def formula_from_cell(cell: str) -> str:
    """The formula in a cell body: '#' comments removed, lines joined by single spaces."""
    lines = [line.split("#", 1)[0] for line in cell.splitlines()]
    return " ".join(" ".join(lines).split())


def _close(name: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.5)
    return ("Did you mean " + " or ".join(repr(c) for c in close) + "?") if close else ""


@magics_class
class MLMMagics(Magics):
    """The ``%%mlm`` cell magic and ``%mlm`` line magic."""

    @line_cell_magic
    def mlm(self, line: str, cell: str | None = None) -> None:
        """Fit a model (``%%mlm DATA -o NAME``) or act on fitted ones (``%mlm help``)."""
        debug = "--debug" in line.split()
        try:
            if cell is None:
                self._line(line)
            else:
                self._cell(line, cell)
        except MagicError as err:
            _show_error(err)
        except UsageError as err:
            _show_error(MagicError("Bad option", str(err), todo="Run '%mlm help' for the options."))
        except Exception as err:  # last resort: a short message, the traceback only on --debug
            if debug:
                raise
            _show_error(
                MagicError(
                    type(err).__name__,
                    str(err),
                    todo="Add --debug to the %%mlm line to see the Python traceback.",
                )
            )

    # -- cell magic ----------------------------------------------------------------------------
    def _cell(self, line: str, cell: str) -> None:
        args = CELL.parse_argstring(line)
        if args.help:
            _show_text(CELL.format_help())
            return
        if args.ddf not in DDF_CHOICES:
            raise MagicError(
                "Bad option",
                f"--ddf {args.ddf!r} is not a df method.",
                todo="Use --ddf satterthwaite (default) or --ddf kenward-roger.",
            )
        out = args.out or DEFAULT_NAME
        if not out.isidentifier():
            raise MagicError(
                "Bad option",
                f"-o {out!r} is not a valid Python name.",
                todo="Use a name such as m1 or model_slope.",
            )
        if not args.data:
            raise MagicError(
                "No data",
                "The %%mlm line names no data frame.",
                todo="Write the DataFrame's name after %%mlm, e.g. '%%mlm hsb -o m1'.",
            )
        data = self._data(args.data)
        self._check_out(out, args.data, data)
        formula = self._expand(cell)
        if not formula:
            raise MagicError(
                "No formula",
                "The cell body is empty.",
                todo="Write the model below the %%mlm line, e.g. 'y ~ x + (1 | g)'.",
            )
        if args.bayes:
            if args.family not in ("gaussian", "normal"):
                raise MagicError("Bad option", "--bayes takes the Gaussian family only.",
                                 todo="Drop --family for a Bayesian fit, or --bayes for a GLMM.")
            self._bayes(args, formula, data, out)
            return
        glmm = {}
        if args.family not in ("gaussian", "normal"):
            glmm = {"family": args.family, "link": args.link, "nagq": args.nagq,
                    "weights": args.weights}
        elif args.link or args.weights or args.nagq != 1:
            raise MagicError(
                "Bad option",
                "--link, --weights and --nagq apply to GLMMs only.",
                todo="Add --family binomial (or poisson, negative_binomial).",
            )
        res = self._fit(formula, data, reml=not args.ml, debug=args.debug, **glmm)
        self.shell.user_ns[out] = res
        if args.quiet:
            return
        if getattr(res, "is_glmm", False):
            from .glmm.display import glmm_result_html
            from .glmm.summary import summary_text as glmm_text

            html = glmm_result_html(res, data_name=args.data)
            text = glmm_text(res, data_name=args.data)
            display({"text/html": html, "text/plain": text}, raw=True)
            if not args.no_explore:
                _show_explorer(res, debug=args.debug)
            return
        html = result_html(res, data_name=args.data, ddf=args.ddf, advice=not args.no_advice)
        text = summary_text(res, data_name=args.data, ddf=args.ddf)
        display({"text/html": html, "text/plain": text}, raw=True)
        if not args.no_explore:
            _show_explorer(res, debug=args.debug)

    def _bayes(self, args: Any, formula: str, data: pd.DataFrame, out: str) -> None:
        """``%%mlm data --bayes``: the posterior, its summary (and the PPC chart)."""
        priors = None
        if args.priors:
            priors = self.shell.user_ns.get(args.priors)
            if not isinstance(priors, dict):
                raise MagicError(
                    "Bad option", f"--priors {args.priors!r} does not name a dict.",
                    todo="Define e.g. p = {'b': 'normal(0, 10)', 'sd': 'student_t(3, 0, 10)'} "
                    "and pass --priors p.")
        options = {"method": "bayes", "priors": priors, "draws": args.draws,
                   "chains": args.chains, "seed": args.seed,
                   "target_accept": args.target_accept}
        res = self._fit(formula, data, reml=True, debug=args.debug, **options)
        self.shell.user_ns[out] = res
        if args.quiet:
            return
        display({"text/html": res._repr_html_(), "text/plain": res.summary()}, raw=True)
        if not args.no_explore:
            display(res.ppc_chart())

    def _check_out(self, out: str, data_name: str, data: Any) -> None:
        """``-o NAME`` must not overwrite the data it fits, a module or a builtin."""
        import builtins
        import keyword
        import types

        current = self.shell.user_ns.get(out)
        if out == data_name or (current is not None and current is data):
            what = "the data frame this model is fitted to"
        elif keyword.iskeyword(out):
            what = "a Python keyword"
        elif isinstance(current, types.ModuleType):
            what = f"the module {current.__name__!r}"
        elif hasattr(builtins, out) and current is None:
            what = "a Python builtin"
        else:
            return
        raise MagicError("Bad option", f"-o {out} would overwrite {what}; choose another "
                         "name, e.g. -o m1.")

    def _expand(self, cell: str) -> str:
        expanded = self.shell.var_expand(cell, depth=2)
        left = re.search(r"\{([^{}]*)\}", expanded)
        if left:
            raise MagicError(
                "Unknown variable",
                f"{{{left.group(1)}}} in the cell is not a Python variable.",
                todo="Define it in the notebook first, or remove the braces.",
            )
        return formula_from_cell(expanded)

    def _data(self, name: str) -> Any:
        ns = self.shell.user_ns
        if name in ns:
            data = ns[name]
        elif name.isidentifier():
            frames = [
                k for k, v in ns.items() if isinstance(v, pd.DataFrame) and not k.startswith("_")
            ]
            hint = _close(name, frames) or (
                "DataFrames defined: " + ", ".join(sorted(frames)[:12]) + "."
                if frames
                else "No DataFrame is defined yet: load one first, "
                "e.g. hsb = mlm.load_dataset('hsb')."
            )
            raise MagicError(
                "Unknown data frame", f"There is no variable named {name!r}.", todo=hint
            )
        else:
            try:
                data = eval(name, ns)  # an expression such as df[df.year > 0]
            except Exception as err:
                raise MagicError(
                    "Bad data expression",
                    f"{name!r} failed: {err}",
                    todo="Name a DataFrame defined in the notebook.",
                ) from err
        if not isinstance(data, pd.DataFrame):
            from .intake import as_pandas

            try:  # polars, pyarrow, ... frames are read through narwhals
                as_pandas(data, name)
            except TypeError as err:
                raise MagicError(
                    "Not a data frame",
                    f"{name!r} is a {type(data).__name__}, not a data frame.",
                    todo="Pass a DataFrame, e.g. pd.DataFrame(...) or mlm.load_dataset('hsb').",
                ) from err
        return data

    def _fit(self, formula: str, data: Any, reml: bool, debug: bool, **options: Any) -> Any:
        from . import fit

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the fit's messages are shown in the summary
                return fit(formula, data, reml=reml, **options)
        except FormulaError as err:
            if debug:
                raise
            shown = "".join(" " if c.isspace() else c for c in err.formula)
            where = shown
            if err.position is not None and err.position >= 0:
                where += "\n" + " " * min(err.position, len(shown)) + "^"
            raise MagicError(err.title, err.message, where=where, todo=err.hint) from err
        except (ValueError, TypeError, KeyError, ImportError) as err:
            if debug:
                raise
            message = str(err).strip("'\"")
            raise MagicError(
                "Cannot fit the model",
                message,
                where=formula,
                todo="Check the formula and the data's columns.",
            ) from err

    # -- line magic ----------------------------------------------------------------------------
    def _line(self, line: str) -> None:
        words = line.split(None, 1)
        if not words or words[0] in ("help", "--help", "-h"):
            _show_text(LINE_HELP)
            return
        command, rest = words[0], (words[1] if len(words) > 1 else "")
        if command not in SUBCOMMANDS:
            raise MagicError(
                "Unknown command",
                f"'%mlm {command}' is not a command.",
                todo=(
                    _close(command, list(SUBCOMMANDS))
                    + " Commands: "
                    + ", ".join(SUBCOMMANDS)
                    + ", help."
                ).strip(),
            )
        parser = SUBCOMMANDS[command]
        args = parser.parse_argstring(rest)
        if args.help:
            _show_text(parser.format_help())
            return
        getattr(self, f"_{command}")(args)

    def _model(self, name: str | None) -> MixedModelResult:
        name = name or DEFAULT_NAME
        ns = self.shell.user_ns
        if isinstance(ns.get(name), MixedModelResult):
            return ns[name]
        models = [k for k, v in ns.items() if isinstance(v, MixedModelResult)]
        if name in ns:
            raise MagicError(
                "Not a model",
                f"{name!r} is a {type(ns[name]).__name__}, not a fitted model.",
                todo="Fit one with %%mlm DATA -o NAME.",
            )
        hint = _close(name, models) or (
            "Fitted models: " + ", ".join(models) + "."
            if models
            else "Fit one first with %%mlm DATA -o NAME."
        )
        raise MagicError("Unknown model", f"There is no fitted model named {name!r}.", todo=hint)

    def _models(self, names: list[str], at_least: int) -> list[MixedModelResult]:
        if len(names) < at_least:
            raise MagicError(
                "Missing models",
                f"Name at least {at_least} fitted model(s).",
                todo="e.g. %mlm compare m0 m1",
            )
        return [self._model(n) for n in names]

    def _compare(self, args: Any) -> None:
        from . import compare

        models = self._models(args.models, 2)
        try:
            table = compare(*models, refit=not args.no_refit, nsim=args.nsim, seed=args.seed)
        except ValueError as err:
            raise MagicError(
                "Cannot compare", str(err), todo="Compare nested models fitted to the same rows."
            ) from err
        display(table)

    def _anova(self, args: Any) -> None:
        res = self._model(args.model)
        try:
            table = res.anova(type=args.type, ddf=args.ddf)
        except ValueError as err:
            raise MagicError("Cannot test the terms", str(err),
                             todo="e.g. %mlm anova m1 --type 3 --ddf satterthwaite") from err
        display(table)

    def _advice(self, args: Any) -> None:
        res = self._model(args.model)
        try:
            items = res.advice()
        except ImportError as err:
            raise MagicError(
                "Not available",
                f"The advisor could not be loaded ({err}).",
                todo="Update mlm_jupyter; the summary and tables still work.",
            ) from err
        text = "\n".join(str(a) for a in items) or "Advice: nothing to report."
        display({"text/html": advice_html(items), "text/plain": text}, raw=True)

    def _explore(self, args: Any) -> None:
        display(self._model(args.model).explore())

    def _summary(self, args: Any) -> None:
        _show_text(self._model(args.model).summary())

    def _report(self, args: Any) -> None:
        from pathlib import Path

        from . import report

        models = self._models(args.models, 1)
        path = Path(args.out)
        if path.parent and not path.parent.exists():
            raise MagicError(
                "Bad option",
                f"The folder {str(path.parent)!r} does not exist.",
                todo="Create it or write the report elsewhere with -o.",
            )
        report(*models, path=path, title=args.title)
        size = path.stat().st_size / 1024
        from html import escape

        message = f"Report written to {path} ({size:.0f} KB)."
        html = (
            f'<div class="mlmj-view">Report written to '
            f'<a href="{escape(str(path))}" target="_blank">'
            f"{escape(str(path))}</a> ({size:.0f} KB).</div>"
        )
        display({"text/html": html, "text/plain": message}, raw=True)


    def _table(self, args: Any) -> None:
        from .display.paper.table import render, table

        models = self._models(args.models, 1)
        if args.format == "docx" and not args.out:
            raise MagicError("Bad option", "--format docx writes a Word file.",
                             todo="Add -o table.docx.")
        statistics = ("estimate", "se", "p") if args.se else ("estimate", "ci", "p")
        title = args.title
        if title and len(title) > 1 and title[0] == title[-1] and title[0] in "'\"":
            title = title[1:-1]  # IPython's argument parser keeps the quotes
        try:
            text = table(*models, format=args.format, path=args.out, ddf=args.ddf,
                         statistics=statistics, stars=args.stars, std=args.std,
                         title=title, model_names=args.models)
        except ValueError as err:
            raise MagicError("Cannot make the table", str(err),
                             todo="Run '%mlm table --help' for the options.") from err
        if args.format == "html":
            display({"text/html": str(text), "text/plain": render(text.grid, "markdown")},
                    raw=True)
        elif args.format == "docx":
            _show_text(f"Table written to {text}.")
        else:
            _show_text(str(text))


def _show_text(text: str) -> None:
    from html import escape

    display({"text/plain": text, "text/html": f"<pre>{escape(text)}</pre>"}, raw=True)


def _show_error(err: MagicError) -> None:
    display(
        {
            "text/html": error_html(err.title, err.message, err.where, err.todo),
            "text/plain": err.text(),
        },
        raw=True,
    )


def _show_explorer(res: MixedModelResult, debug: bool = False) -> None:
    try:
        widget = res.explore()
    except ImportError:  # anywidget or the explorer are optional: the summary is enough
        if debug:
            traceback.print_exc()
        return
    display(widget)


def empty_cell_body(lines: list[str]) -> list[str]:
    """Input transformer: a cell holding only ``%%mlm ...`` gets an empty line as its body.

    IPython refuses a cell magic with an empty body before calling it ("the cell body is
    empty"), so ``%%mlm --help`` alone in a cell never reached our help.  With a blank body
    the magic runs: ``--help`` prints the options, anything else says what to write below
    the ``%%mlm`` line.
    """
    if lines and re.match(r"%%mlm(\s|$)", lines[0]) and not "".join(lines[1:]).strip():
        first = lines[0] if lines[0].endswith("\n") else lines[0] + "\n"
        return [first, "\n"]
    return lines


def register(ipython: Any) -> None:
    """Register ``%%mlm`` and ``%mlm`` (called by ``%load_ext mlm_jupyter``)."""
    ipython.register_magics(MLMMagics)
    cleanup = getattr(ipython, "input_transformers_cleanup", None)
    if cleanup is not None and not any(
        getattr(t, "__name__", "") == empty_cell_body.__name__ for t in cleanup
    ):  # once, also after %reload_ext
        cleanup.append(empty_cell_body)
