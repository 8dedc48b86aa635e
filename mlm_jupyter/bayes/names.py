"""brms' parameter names for a design: ``b_Intercept``, ``sd_g__x``, ``cor_g__Intercept__x``."""

from __future__ import annotations

from dataclasses import dataclass

from ..design import Design

# brms' rename(): these characters are dropped or spelt out in Stan variable names.
_RENAME = ((" ", ""), ("(", ""), (")", ""), ("[", ""), ("]", ""), (",", ""), ('"', ""),
           ("'", ""), ("?", ""), ("+", "P"), ("-", "M"), ("*", "MU"), ("/", "D"), ("^", "E"),
           ("=", "EQ"))


def brms_coef(name: str) -> str:
    """An lme4 column name as brms spells it: ``I(x^2)`` -> ``IxE2``."""
    if name == "(Intercept)":
        return "Intercept"
    for old, new in _RENAME:
        name = name.replace(old, new)
    return name


@dataclass(frozen=True)
class SdName:
    """One group-level SD: its term (index into design.terms), column and brms name."""

    term: int
    column: int
    group: str
    coef: str
    name: str


@dataclass(frozen=True)
class CorName:
    """One correlation of a correlated term: columns i < j."""

    term: int
    i: int
    j: int
    group: str
    name: str


@dataclass(frozen=True)
class ParameterNames:
    """Every brms name of a model, in brms' order (b, sd, cor, sigma)."""

    fixed: tuple[str, ...]
    sds: tuple[SdName, ...]
    cors: tuple[CorName, ...]

    @property
    def all(self) -> list[str]:
        return [*self.fixed, *(s.name for s in self.sds), *(c.name for c in self.cors), "sigma"]

    @property
    def groups(self) -> list[str]:
        seen: list[str] = []
        for s in self.sds:
            if s.group not in seen:
                seen.append(s.group)
        return seen


def parameter_names(design: Design) -> ParameterNames:
    """brms' names of the fixed effects, SDs and correlations of ``design``.

    Raises
    ------
    ValueError
        Two random terms give the same name (e.g. ``(1 | g) + (1 | g)``): brms refuses
        such models too.
    """
    fixed = tuple("b_" + brms_coef(n) for n in design.fixed_names)
    sds, cors, seen = [], [], set()
    for k, term in enumerate(design.terms):
        coefs = [brms_coef(c) for c in term.columns]
        for i, coef in enumerate(coefs):
            name = f"sd_{term.group}__{coef}"
            if name in seen:
                raise ValueError(
                    f"The random part has '{term.columns[i]}' twice for the grouping factor "
                    f"'{term.group}' ({name}); remove the duplicated term from the formula."
                )
            seen.add(name)
            sds.append(SdName(k, i, term.group, coef, name))
        if term.q > 1 and term.correlated:
            for i in range(term.q):
                for j in range(i + 1, term.q):
                    cors.append(CorName(k, i, j, term.group,
                                        f"cor_{term.group}__{coefs[i]}__{coefs[j]}"))
    return ParameterNames(fixed, tuple(sds), tuple(cors))
