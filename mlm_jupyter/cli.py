"""``mlm-report``: fit models from the command line and write an offline HTML report.

Examples
--------
::

    mlm-report data.csv "y ~ x + (1 | g)" "y ~ x + (1 + x | g)" -o report.html
    mlm-report data.csv "y ~ x + (1 | g)" -o report.html --ml --title "Pilot study"
    mlm-report --example hsb -o hsb_report.html
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

#: Bundled examples: data set and the models fitted, in the order they are compared.
EXAMPLES: dict[str, tuple[str, tuple[str, ...], str]] = {
    "hsb": (
        "hsb",
        (
            "mathach ~ 1 + (1 | school)",
            "mathach ~ cses + (1 + cses | school)",
            "mathach ~ cses * catholic + meanses + (1 + cses | school)",
        ),
        "High School and Beyond: empty model, random slope of SES, sector and school SES "
        "as moderators",
    ),
    "sleepstudy": (
        "sleepstudy",
        (
            "Reaction ~ Days + (1 | Subject)",
            "Reaction ~ Days + (Days | Subject)",
        ),
        "Sleep deprivation: random intercept, then random intercept and slope of Days",
    ),
}

_READERS = {".csv": ",", ".tsv": "\t", ".txt": None}


class CliError(Exception):
    """A problem the user can fix; printed without a traceback."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mlm-report",
        description="Fit multilevel models (lme4 formula syntax) and write one self-contained, "
        "offline HTML report: data summary, equations, summaries, advice, comparison, "
        "variance explained, diagnostics and the interactive explorer.",
        epilog='Example: mlm-report data.csv "y ~ x + (1 | g)" "y ~ x + (1 + x | g)" '
        "-o report.html",
    )
    p.add_argument("data", nargs="?", help="data file (.csv, .tsv, .txt, .parquet, .dta)")
    p.add_argument("formulas", nargs="*", metavar="formula",
                   help='model formulas in lme4 syntax, e.g. "y ~ x + (1 | g)"; several are '
                   "compared in the order given")
    p.add_argument("-o", "--output", required=True, help="HTML file to write")
    p.add_argument("--ml", action="store_true", help="fit by maximum likelihood (default REML)")
    p.add_argument("--title", help="report title")
    p.add_argument("--example", choices=sorted(EXAMPLES),
                   help="use a bundled data set and example models instead of DATA/FORMULA")
    p.add_argument("--no-explorer", action="store_true",
                   help="leave out the interactive explorers (smaller file)")
    return p


def read_data(path: str) -> pd.DataFrame:
    """Read a data file by its extension, with errors that say what to do."""
    file = Path(path)
    if not file.exists():
        raise CliError(f"data file not found: {path}")
    suffix = file.suffix.lower()
    try:
        if suffix == ".parquet":
            return pd.read_parquet(file)
        if suffix == ".dta":  # Stata: int8/int16 columns and labelled categories as they are
            return pd.read_stata(file)
        if suffix in _READERS:
            return pd.read_csv(file, sep=_READERS[suffix], engine="python" if suffix == ".txt"
                               else "c")
    except (ValueError, OSError, ImportError) as err:
        raise CliError(f"could not read {path}: {err}") from err
    raise CliError(
        f"unsupported data file type '{suffix or file.name}'; use .csv, .tsv, .txt, .parquet "
        "or .dta."
    )


def run(args: argparse.Namespace) -> Path:
    """Fit the models named by the arguments and write the report; returns its path."""
    import mlm_jupyter as mlm

    out = Path(args.output)
    if out.is_dir():
        raise CliError(f"-o {args.output} is a folder; give a file name such as "
                       f"{out / 'report.html'}.")
    if out.parent and not out.parent.exists():
        raise CliError(f"output folder does not exist: {out.parent}")
    if args.example:
        if args.data or args.formulas:
            raise CliError("give either --example or DATA and FORMULA arguments, not both.")
        name, formulas, default_title = EXAMPLES[args.example]
        data = mlm.load_dataset(name)
    else:
        if not args.data or not args.formulas:
            raise CliError(
                'give a data file and at least one formula: mlm-report data.csv "y ~ x + (1 | g)" '
                "-o report.html (or --example hsb)."
            )
        data = read_data(args.data)
        formulas = tuple(args.formulas)
        default_title = f"Multilevel models: {Path(args.data).name}"
    results: list[Any] = []
    for k, formula in enumerate(formulas, start=1):
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                res = mlm.fit(formula, data, reml=not args.ml)
        except (mlm.FormulaError, ValueError, KeyError, TypeError) as err:
            raise CliError(f"model {k} ({formula}): {err}") from err
        for w in caught:
            print(f"mlm-report: model {k}: {w.message}", file=sys.stderr)
        results.append(res)
    mlm.report(*results, path=out, title=args.title or default_title,
               explorer=not args.no_explorer)
    return out


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``mlm-report``; returns the process exit code."""
    args = _parser().parse_args(argv)
    try:
        out = run(args)
    except CliError as err:
        print(f"mlm-report: error: {err}", file=sys.stderr)
        return 2
    size = out.stat().st_size
    print(f"mlm-report: wrote {out} ({size / 1e6:.1f} MB); open it in any browser, offline.")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
