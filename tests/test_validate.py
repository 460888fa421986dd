"""Tests for abkit._validate: shared argument checks."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from abkit._validate import check_choice, check_columns, check_finite, check_positive, check_probability
from abkit.errors import ColumnError, ParameterError


def test_check_finite_accepts_numbers_and_arrays() -> None:
    np.testing.assert_array_equal(check_finite("x", [1, 2.5]), np.array([1.0, 2.5]))


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, [1.0, math.nan]])
def test_check_finite_rejects_nan_and_inf(bad: object) -> None:
    with pytest.raises(ParameterError, match="alpha must be a finite number"):
        check_finite("alpha", bad)


def test_check_finite_rejects_text() -> None:
    with pytest.raises(ParameterError, match="n must be a number, got 'ten'"):
        check_finite("n", "ten")


@pytest.mark.parametrize("bad", [0, 1, -0.1, 1.5])
def test_check_probability_is_open_interval(bad: float) -> None:
    with pytest.raises(ParameterError, match=r"baseline must be strictly between 0 and 1.*got"):
        check_probability("baseline", bad)
    assert check_probability("baseline", 0.3) == pytest.approx(0.3)


def test_check_positive() -> None:
    with pytest.raises(ParameterError, match="ratio must be positive, got 0"):
        check_positive("ratio", 0)
    assert check_positive("ratio", 2) == 2


def test_check_choice_lists_the_options() -> None:
    with pytest.raises(ParameterError, match=r"method='exact' is not known; use one of 'pooled', 'unpooled'"):
        check_choice("method", "exact", ["pooled", "unpooled"])
    assert check_choice("method", "pooled", ["pooled", "unpooled"]) == "pooled"


def test_check_columns_names_missing_and_present() -> None:
    frame = pd.DataFrame({"a": [1], "b": [2]})
    check_columns(frame, ["a"])
    with pytest.raises(ColumnError, match=r"events lacks column\(s\) 'c'; it has: a, b"):
        check_columns(frame, ["a", "c"], what="events")


# ------------------------------------------------------------------------------------------------
# one control rule for every function (issue 14)


def test_resolve_control_rule() -> None:
    from abkit._validate import resolve_control

    assert resolve_control(["coupon", "holdout"]) == "holdout"
    assert resolve_control(["control", "coupon"]) == "control"
    assert resolve_control(["coupon", "holdout"], "coupon") == "coupon"  # explicit wins
    with pytest.raises(ParameterError, match=r"both 'control' and 'holdout'.*control="):
        resolve_control(["control", "holdout", "coupon"])
    with pytest.raises(ParameterError, match=r"no arm is named 'control' or 'holdout'.*\['a', 'b'\]"):
        resolve_control(["a", "b"])
    with pytest.raises(ParameterError, match="must be the label"):
        resolve_control(["a"], 3)  # type: ignore[arg-type]


def test_every_function_follows_the_control_rule() -> None:
    import abkit

    rng = np.random.default_rng(4)
    n = 4000
    df = pd.DataFrame(
        {
            "variant": np.where(np.arange(n) % 2 == 0, "holdout", "coupon"),
            "repurchased": rng.random(n) < 0.05,
            "spend": rng.gamma(2.0, 10.0, n),
        }
    )
    df["revenue"] = np.where(df["repurchased"], df["spend"], 0.0)
    ev = abkit.evaluate(df, metrics=["repurchased"])
    assert set(ev.table["control"]) == {"holdout"}
    econ = abkit.economics(df, costs={"coupon": {"contact": 0.1}}, margin=0.4)
    assert set(econ.table["control"]) == {"holdout"}
    plan = abkit.plan(10_000, 0.05, weights={"holdout": 0.2, "coupon": 0.8})
    assert plan["comparison"].dropna().tolist() == ["coupon vs holdout"]
    bal = abkit.balance(df, ["spend"])
    assert set(bal["control"]) == {"holdout"}
    both = df.assign(variant=np.where(np.arange(n) % 3 == 0, "control", df["variant"]))
    for call in (
        lambda: abkit.evaluate(both, metrics=["repurchased"]),
        lambda: abkit.economics(both, costs={"coupon": {"contact": 0.1}}, margin=0.4),
        lambda: abkit.balance(both, ["spend"]),
    ):
        with pytest.raises(ParameterError, match="both 'control' and 'holdout'"):
            call()
