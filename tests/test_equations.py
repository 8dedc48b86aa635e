"""Level-1 / level-2 equations read the levels of predictors from the data."""

from __future__ import annotations

from conftest import fitted_case

from mlm_jupyter.display.equations import classify_coefficients, model_equations


def test_cross_level_model_in_raudenbush_bryk_notation():
    eq = model_equations(fitted_case("hsb_crosslevel"))
    assert eq.level1 == "mathach_ij = β_0j + β_1j·cses_ij + r_ij"
    assert eq.level2 == (
        "β_0j = γ_00 + γ_01·catholic_j + γ_02·meanses_j + u_0j",
        "β_1j = γ_10 + γ_11·catholic_j + u_1j",
    )
    assert eq.combined.endswith("+ u_0j + u_1j·cses_ij + r_ij")
    assert "γ_11·catholic_j·cses_ij" in eq.combined


def test_fixed_slope_and_slope_without_fixed_part():
    eq = model_equations(fitted_case("sleep_noint_slope"))
    assert eq.level2 == ("β_0j = γ_00", "β_1j = γ_10 + u_1j")
    hybrid = model_equations(fitted_case("hsb_hybrid"))
    # ses has a fixed slope only; cses has a random slope but no fixed part.
    assert "β_1j = γ_10" in hybrid.level2 and "β_2j = u_2j" in hybrid.level2


def test_interaction_split_into_level1_slot_and_level2_moderator():
    coefs = {c.name: c for c in classify_coefficients(fitted_case("hsb_rb"))}
    assert (coefs["cses:catholic"].slot, coefs["cses:catholic"].level2) == ("cses", "catholic")
    assert (coefs["meanses"].slot, coefs["meanses"].level2) == ("(Intercept)", "meanses")


def test_several_grouping_factors_get_the_combined_equation_only():
    eq = model_equations(fitted_case("pastes_nested"))
    assert eq.level1 == "" and eq.level2 == ()
    assert "cask:batch" in eq.combined and "batch" in eq.combined
    assert str(eq).startswith("Combined:")


def test_html_escapes_names():
    html = model_equations(fitted_case("hsb_crosslevel"))._repr_html_()
    assert "cses<sub>ij</sub>" in html and "<script" not in html


def test_uncorrelated_slope_keeps_its_random_part():
    # (cses || school) is split into (1 | school) + (0 + cses | school): both u's appear.
    eq = model_equations(fitted_case("hsb_uncorr_female"))
    assert "β_1j = γ_10 + u_1j" in eq.level2
    assert "u_0j + u_1j·cses_ij + r_ij" in eq.combined
