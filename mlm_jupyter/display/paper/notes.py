"""The table note (APA's *Note.*): symbols shown, how the tests and intervals were made, the
standardisation, significance marks, problems of the fits, the user's notes."""

from __future__ import annotations

from collections.abc import Sequence

from . import formatting as fmt
from .columns import ModelColumn
from .layout import Row
from .options import Options
from .richtext import Rich, Span, concat, rich

_DDF_SENTENCES = {
    "Satterthwaite": "t tests with Satterthwaite's degrees of freedom (as lmerTest's summary)",
    "Kenward-Roger": "t tests with Kenward-Roger degrees of freedom and adjusted standard "
    "errors (as pbkrtest)",
    "Residual": "t tests with n - p residual degrees of freedom",
}


def _inference_note(columns: Sequence[ModelColumn], names: Sequence[str], opt: Options) -> str:
    shown = [s for s in opt.statistics if s in ("ci", "p", "std_ci", "t", "df")]
    if not shown and not opt.stars:
        return ""
    what = []
    if "ci" in shown or "std_ci" in shown:
        what.append(f"{100 * opt.level:g}% confidence intervals")
    if "p" in shown or opt.stars:
        what.append("two-sided p-values")
    if not what:
        what.append("test statistics")
    methods = dict.fromkeys(c.ddf for c in columns)
    if len(methods) == 1:
        how = _DDF_SENTENCES.get(next(iter(methods)), next(iter(methods)))
    else:
        how = "; ".join(
            f"{n}: {_DDF_SENTENCES.get(c.ddf, c.ddf)}" for n, c in zip(names, columns, strict=True)
        )
    return f"Fixed effects: {' and '.join(what)} from {how}."


def _symbol_notes(opt: Options, body: Sequence[Row]) -> list[Rich]:
    labels = [lab[0].text for lab in (r.label for r in body) if lab]
    out: list[Rich] = []
    if "σ" in labels:
        out.append(rich("σ", ("2", "sup"), ": residual variance"))
    if "τ" in labels:
        out.append(rich("τ: variances of the random effects (subscripts as the u's of the model "
                        "equations)"))
    if "ρ" in labels:
        out.append(rich("ρ: correlations of the random effects"))
    if "ICC" in labels:
        out.append(rich("ICC: adjusted intraclass correlation (Nakagawa)"))
    if "Marginal R" in labels:
        out.append(rich("R", ("2", "sup"), ": Nakagawa's marginal (fixed effects) and "
                        "conditional (fixed and random effects)"))
    return out


def table_notes(
    columns: Sequence[ModelColumn], names: Sequence[str], opt: Options, body: Sequence[Row]
) -> list[Rich]:
    """Lines of the note; the first starts with an italic *Note.*"""
    notes: list[Rich] = []
    symbols = _symbol_notes(opt, body)
    if symbols:
        joined: list[Span] = []
        for k, s in enumerate(symbols):
            joined += ([Span("; ")] if k else []) + list(s)
        notes.append(concat(tuple(joined), rich(".")))
    inference = _inference_note(columns, names, opt)
    if inference:
        notes.append(rich(inference))
    if opt.layout == "stacked" and len(opt.statistics) > 1:
        under = {"se": "(SE)", "ci": f"[{100 * opt.level:g}% CI]", "p": "p", "t": "t",
                 "df": "df", "std_estimate": "β", "std_se": "(SE of β)",
                 "std_ci": f"[{100 * opt.level:g}% CI of β]"}
        listed = ", ".join(under[s] for s in opt.statistics if s != "estimate")
        notes.append(rich(f"Under each estimate: {listed}."))
    if opt.std == "refit":
        scaled = sorted({v for c in columns for v in c.std_info.get("standardized", ())})
        which = f" ({', '.join(scaled)})" if scaled else ""
        notes.append(rich(f"β: standardised coefficients, from a refit with every numeric "
                          f"variable z-scored{which}, the response included (effectsize's "
                          "refit method, as sjPlot's show.std)."))
    elif opt.std == "basic":
        notes.append(rich("β: coefficients times SD(predictor column) / SD(response) "
                          "(effectsize's basic method)."))
    if "aic" in opt.fit and any(c.estimation == "REML" for c in columns):
        notes.append(rich("AIC of REML fits is based on the REML criterion (as lme4's): it "
                          "compares only models with the same fixed effects."))
    if opt.stars:
        notes.append(rich(fmt.stars_legend(opt.stars, opt.leading_zero) + "."))
    for name, column in zip(names, columns, strict=True):
        for note in column.notes:
            notes.append(rich(f"{name}: {note}."))
    notes += [rich(n) for n in opt.notes]
    if notes:
        notes[0] = concat(rich(("Note.", "italic"), " "), notes[0])
    return notes
