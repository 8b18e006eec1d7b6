"""formatting.py against the APA Publication Manual (7th ed.) rules, worked by hand."""
from __future__ import annotations

import math
import re

import numpy as np
import pytest

from groupeval.base.exceptions import ConfigError
from groupeval.reporting.formatting import (
    MINUS,
    capitalize_first,
    fmt_ci,
    fmt_count,
    fmt_df,
    fmt_estimate_ci,
    fmt_mean_sd,
    fmt_number,
    fmt_p,
    fmt_percent,
    fmt_t,
    fmt_unit,
    fmt_weeks,
    is_suppressed,
    number_word,
    plain_fraction,
    plain_label,
    resolve_min_cell,
    round_half_up,
)


@pytest.mark.parametrize("x, digits, expected", [
    (2.675, 2, 2.68),      # binary 2.67499.. but the decimal the user sees is a half
    (2.5, 0, 3.0),         # half away from zero, not banker's (round(2.5) == 2)
    (-2.5, 0, -3.0),
    (0.125, 2, 0.13),
    (1.005, 2, 1.01),
    (-1.005, 2, -1.01),
    (3.14159, 3, 3.142),
])
def test_round_half_up_rounds_the_decimal_value_by_hand(x, digits, expected):
    assert round_half_up(x, digits) == expected


def test_round_half_up_passes_nan_and_inf_and_rejects_bad_digits():
    assert math.isnan(round_half_up(float("nan"), 1))
    assert round_half_up(float("inf"), 1) == float("inf")
    with pytest.raises(ConfigError, match="`digits` must be a whole number >= 0, got -1"):
        round_half_up(1.0, -1)


def test_fmt_number_uses_typographic_minus_and_no_negative_zero():
    assert fmt_number(-3.25, 1) == MINUS + "3.3"
    assert fmt_number(-0.04, 1) == "0.0"
    assert fmt_number(12345.678, 1, thousands=True) == "12,345.7"
    assert fmt_number(float("nan")) == "n/a"
    assert fmt_number(None) == "n/a"
    assert fmt_number(0.456, 2, leading_zero=False) == ".46"
    assert fmt_number(-float("inf")) == MINUS + "∞"


@pytest.mark.parametrize("p, expected", [
    (0.0324, "p = .032"),
    (0.0005, "p < .001"),
    (0.0, "p < .001"),
    (0.00049, "p < .001"),
    (0.0015, "p = .002"),   # half up
    (0.05, "p = .050"),
    (0.9996, "p > .999"),
    (1.0, "p > .999"),
    (0.5, "p = .500"),
])
def test_fmt_p_follows_APA_exact_p_no_leading_zero_and_lt_001(p, expected):
    assert fmt_p(p) == expected


def test_fmt_p_two_digits_and_without_prefix():
    assert fmt_p(0.0324, 2) == "p = .03"
    assert fmt_p(0.004, 2) == "p < .01"
    assert fmt_p(0.0324, prefix=False) == ".032"
    assert fmt_p(0.0001, prefix=False) == "< .001"


def test_fmt_p_rejects_values_outside_0_1_naming_the_value():
    with pytest.raises(ConfigError, match=r"p value must lie between 0 and 1, got 1\.2"):
        fmt_p(1.2)
    with pytest.raises(ConfigError, match="at least 1"):
        fmt_p(0.1, 0)


def test_fmt_unit_has_no_leading_zero_and_refuses_values_beyond_one():
    assert fmt_unit(0.4567) == ".46"
    assert fmt_unit(-0.05) == MINUS + ".05"
    assert fmt_unit(1.0) == "1.00"
    with pytest.raises(ConfigError, match="between −1 and 1"):
        fmt_unit(1.5)


def test_fmt_ci_matches_APA_bracket_form():
    assert fmt_ci(-3.94, -2.46) == f"95% CI [{MINUS}3.9, {MINUS}2.5]"
    assert fmt_ci(0.213, 0.478, 2, leading_zero=False) == "95% CI [.21, .48]"
    assert fmt_ci(1, 2, 0, level=0.9) == "90% CI [1, 2]"
    assert fmt_ci(1, 2, 0, level=0.995) == "99.5% CI [1, 2]"
    assert fmt_ci(1, 2, 0, level=None) == "[1, 2]"
    with pytest.raises(ConfigError, match="`level` must be a proportion"):
        fmt_ci(1, 2, level=95)


def test_fmt_percent_by_hand():
    assert fmt_percent(2 / 3) == "67%"
    assert fmt_percent(0.675, 1) == "67.5%"
    assert fmt_percent(0.005) == "1%"
    assert fmt_percent(float("nan")) == "n/a"


def test_fmt_count_masks_small_cells_1_to_10_like_privacy_suppress():
    assert fmt_count(1234) == "1,234"
    assert fmt_count(7) == "7"
    assert fmt_count(7, min_cell=11) == "fewer than 11"
    assert fmt_count(0, min_cell=11) == "0"
    assert fmt_count(0, min_cell=11, suppress_zero=True) == "fewer than 11"
    assert fmt_count(10, min_cell=11, short=True) == "<11"
    assert fmt_count(11, min_cell=11) == "11"
    assert fmt_count(np.int64(12), min_cell=11) == "12"
    assert fmt_count(12.0) == "12"
    with pytest.raises(ConfigError, match=r"A count must be a whole number >= 0, got 2\.5"):
        fmt_count(2.5)


def test_is_suppressed_is_vectorised_and_ignores_missing():
    out = is_suppressed([0, 5, 11, 30, np.nan], 11)
    assert out.tolist() == [False, True, False, False, False]
    assert is_suppressed([0, 5], 11, suppress_zero=True).tolist() == [True, True]
    assert is_suppressed(5, None) is False
    assert is_suppressed(5, 11) is True


def test_resolve_min_cell_by_audience():
    assert resolve_min_cell("funder") == 11
    assert resolve_min_cell("public") == 11
    assert resolve_min_cell("program") is None
    assert resolve_min_cell("research") is None
    assert resolve_min_cell("program", 5) == 5
    assert resolve_min_cell(None, 20) == 20
    with pytest.raises(ConfigError,
                       match="`audience` must be one of 'program', 'research', 'funder', 'public', got 'board'"):
        resolve_min_cell("board")
    with pytest.raises(ConfigError, match="`min_cell` must be a whole number >= 1, got 0"):
        resolve_min_cell("funder", 0)


def test_composite_APA_pieces_by_hand():
    assert fmt_mean_sd(11.24, 4.06) == "11.2 (SD 4.1)"
    assert fmt_mean_sd(11.24, float("nan")) == "11.2"
    assert fmt_t(-9.104, 180) == f"t(180) = {MINUS}9.10"
    assert fmt_df(180.0) == "180"
    assert fmt_df(37.42) == "37.4"
    assert fmt_estimate_ci("d_z", -0.6789, -0.8412, -0.5155) == \
        f"d_z = {MINUS}0.68, 95% CI [{MINUS}0.84, {MINUS}0.52]"


@pytest.mark.parametrize("share, text", [
    (0, "none"),
    (1, "all"),
    (0.01, "fewer than one in twenty"),
    (0.97, "nearly all"),
    (0.5, "half"),
    (0.51, "about half"),
    (2 / 3, "two in three"),
    (0.65, "about two in three"),
    (0.665, "two in three"),     # within .005: no "about"
    (0.75, "three in four"),
    (0.62, "about three in five"),
    (0.2, "one in five"),
    (0.1, "one in ten"),
    (0.3, "three in ten"),
    (0.07, "about one in twenty"),  # 1/10 is .03 away, 1/20 within .02
    (0.08, "about one in ten"),     # nothing within .02 -> nearest tenth
    (0.86, "about nine in ten"),
])
def test_plain_fraction_by_hand(share, text):
    assert plain_fraction(share) == text


def test_plain_fraction_rejects_shares_outside_0_1():
    with pytest.raises(ConfigError, match=r"A share must lie between 0 and 1, got 1\.5"):
        plain_fraction(1.5)


def test_plain_words():
    assert plain_label("week_12") == "week 12"
    assert fmt_weeks(12) == "12 weeks"
    assert fmt_weeks(1) == "1 week"
    assert fmt_weeks(3.5, 1) == "3.5 weeks"
    assert number_word(3) == "three"
    assert number_word(12) == "12"
    assert capitalize_first("two in three") == "Two in three"
    assert capitalize_first("PHQ-9 scores") == "PHQ-9 scores"


def test_format_frame_formats_by_column_kind_by_hand():
    import pandas as pd

    from groupeval.reporting.formatting import format_frame

    tab = pd.DataFrame({"group_type": ["12-step", "peer"], "n": [1234, 7], "mean_change": [-3.25, 0.04],
                        "p_value": [0.0004, 0.0324], "retention_12w": [0.6667, 0.5],
                        "retention_12w_ci_low": [0.6, 0.41], "flag": [True, False]})
    out = format_frame(tab, digits={"mean_change": 1})
    assert out.to_dict("list") == {
        "group_type": ["12-step", "peer"], "n": ["1,234", "7"], "mean_change": [f"{MINUS}3.3", "0.0"],
        "p_value": ["< .001", ".032"], "retention_12w": ["66.7%", "50.0%"],
        "retention_12w_ci_low": ["60.0%", "41.0%"], "flag": [True, False]}
    assert format_frame(tab, audience="funder")["n"].tolist() == ["1,234", "<11"]
    assert tab["n"].tolist() == [1234, 7]   # the statistics table is untouched
    with pytest.raises(ConfigError, match="format_frame: 'x' is not a column"):
        format_frame(tab, counts=["x"])


# ---------------------------------------------------------------------------
# properties (hypothesis, modest example counts)
# ---------------------------------------------------------------------------
from decimal import Decimal  # noqa: E402

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(x=finite, digits=st.integers(0, 4))
def test_fmt_number_parses_back_to_the_decimal_rounding_of_repr(x, digits):
    text = fmt_number(x, digits)
    value = float(text.replace(MINUS, "-"))
    exact = Decimal(repr(x))
    # within half a unit of the last digit of the decimal the user sees, and never "-0"
    assert abs(Decimal(str(value)) - exact) <= Decimal(1).scaleb(-digits) / 2
    assert not text.startswith(MINUS) or value != 0
    assert len(text.split(".")[1]) == digits if digits else "." not in text


@settings(max_examples=200, deadline=None)
@given(p=st.floats(min_value=0, max_value=1))
def test_fmt_p_is_always_APA_shaped(p):
    text = fmt_p(p)
    assert re.fullmatch(r"p (= \.\d{3}|< \.001|> \.999)", text)
    if text.startswith("p = "):
        assert abs(float(text[4:]) - p) <= 0.0005 + 1e-12


@settings(max_examples=200, deadline=None)
@given(n=st.integers(0, 10_000), m=st.integers(1, 50))
def test_fmt_count_never_shows_a_count_between_1_and_min_cell(n, m):
    text = fmt_count(n, min_cell=m)
    if 0 < n < m:
        assert text == f"fewer than {m}"
    else:
        assert int(text.replace(",", "")) == n
