"""Tests for abkit.formatting: what numbers read like, never scientific notation."""

from __future__ import annotations

import math
import re

from hypothesis import given
from hypothesis import strategies as st

from abkit import formatting as fmt

SCIENTIFIC = re.compile(r"\d[eE][+-]?\d")


@given(st.floats(allow_nan=True, allow_infinity=True, width=64))
def test_no_format_ever_uses_scientific_notation(value: float) -> None:
    outputs = [
        fmt.percent(value),
        fmt.points(value),
        fmt.relative(value),
        fmt.p_value(abs(value) if not math.isnan(value) else value),
        fmt.probability(value),
        fmt.money(value, "USD") if abs(value) < 1e15 or not math.isfinite(value) else "",
        fmt.number(value) if abs(value) < 1e15 or not math.isfinite(value) else "",
    ]
    for text in outputs:
        assert not SCIENTIFIC.search(text), text


def test_p_values_have_two_significant_digits_and_a_floor() -> None:
    assert fmt.p_value(2.734e-30) == "< 0.001"
    assert fmt.p_value(0.000999) == "< 0.001"
    assert fmt.p_value(0.001) == "0.0010"
    assert fmt.p_value(0.0374) == "0.037"
    assert fmt.p_value(0.0999) == "0.10"
    assert fmt.p_value(0.5) == "0.50"


def test_money_uses_the_iso_code_symbol_and_minor_units() -> None:
    assert fmt.money(1052.4, "JPY") == "¥1,052"
    assert fmt.money(1052.4, "USD") == "$1,052.40"
    assert fmt.money(-19, "EUR", sign=True) == "−€19.00"
    assert fmt.money(19, "CHF") == "CHF 19.00"
    assert fmt.money(0.004, "USD", sign=True) == "$0.00"  # no "+" or "−" on a zero


def test_missing_values_read_as_a_dash() -> None:
    for f in (fmt.percent, fmt.points, fmt.relative, fmt.p_value, fmt.count, fmt.number):
        assert f(float("nan")) == fmt.MISSING
        assert f(None) == fmt.MISSING
    assert fmt.interval(1.0, float("inf")) == fmt.MISSING


def test_a_huge_relative_lift_is_capped_in_words() -> None:
    assert fmt.relative(7.258e4) == "> +1,000%"
    assert fmt.relative(-0.999) == "−99.9%"
