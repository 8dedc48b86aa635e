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


def _sentence(column: ModelColumn) -> str:
    return column.inference or _DDF_SENTENCES.get(column.ddf, column.ddf)


def _inference_note(columns: Sequence[ModelColumn], names: Sequence[str], opt: Options) -> str:
    shown = [s for s in opt.statistics if s in ("ci", "p", "std_ci", "t", "df")]
    if not shown and not opt.stars:
        return ""
    if all(c.kind == "lmm" for c in columns):
        what = []
        if "ci" in shown or "std_ci" in shown:
            what.append(f"{100 * opt.level:g}% confidence intervals")
        if "p" in shown or opt.stars:
            what.append("two-sided p-values")
        if not what:
            what.append("test statistics")
        head = f"Fixed effects: {' and '.join(what)} from "
    else:  # each kind's sentence says what its intervals and tests are
        head = "Fixed effects: "
    sentences = dict.fromkeys(_sentence(c) for c in columns)
    if len(sentences) == 1:
        how = next(iter(sentences))
    else:
        how = "; ".join(f"{n}: {_sentence(c)}" for n, c in zip(names, columns, strict=True))
    return f"{head}{how}."


def _symbol_notes(columns: Sequence[ModelColumn], opt: Options, body: Sequence[Row]
                  ) -> list[Rich]:
    labels = [lab[0].text for lab in (r.label for r in body) if lab]
    kinds = {c.kind for c in columns}
    out: list[Rich] = []
    if "σ" in labels:
        extra = ("; GLMMs: on the latent scale, the distribution-specific variance "
                 "(performance's get_variance_residual)" if "glmm" in kinds else "")
        out.append(rich("σ", ("2", "sup"), f": residual variance{extra}"))
    if "τ" in labels:
        out.append(rich("τ: variances of the random effects (subscripts as the u's of the model "
                        "equations)"))
    if "ρ" in labels:
        out.append(rich("ρ: correlations of the random effects"))
    if "bayes" in kinds and ("σ" in labels or "τ" in labels):
        out.append(rich("Bayesian columns: posterior means of the variances and correlations"))
    if "ICC" in labels:
        extra = "; GLMMs on the latent scale" if "glmm" in kinds else ""
        out.append(rich(f"ICC: adjusted intraclass correlation (Nakagawa{extra})"))
    if "Marginal R" in labels:
        out.append(rich("R", ("2", "sup"), ": Nakagawa's marginal (fixed effects) and "
                        "conditional (fixed and random effects)"))
    return out


def table_notes(
    columns: Sequence[ModelColumn], names: Sequence[str], opt: Options, body: Sequence[Row]
) -> list[Rich]:
    """Lines of the note; the first starts with an italic *Note.*"""
    notes: list[Rich] = []
    symbols = _symbol_notes(columns, opt, body)
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
                 "std_ci": f"[{100 * opt.level:g}% CI of β]", "rhat": "R̂", "ess": "ESS",
                 "fmi": "FMI"}
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
    if "rhat" in opt.statistics or "ess" in opt.statistics:
        notes.append(rich("R̂: rank-normalised split R-hat; ESS: bulk effective sample size "
                          "(Vehtari et al., 2021)."))
    if "fmi" in opt.statistics:
        notes.append(rich("FMI: fraction of missing information."))
    if opt.stars:
        notes.append(rich(fmt.stars_legend(opt.stars, opt.leading_zero) + "."))
    for name, column in zip(names, columns, strict=True):
        for note in column.notes:
            notes.append(rich(f"{name}: {note}."))
    notes += [rich(n) for n in opt.notes]
    if notes:
        notes[0] = concat(rich(("Note.", "italic"), " "), notes[0])
    return notes
