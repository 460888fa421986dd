"""Tests of abkit.frames: polars DataFrames and pyarrow Tables are accepted wherever pandas is."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from abkit.assignment import assign
from abkit.attribution import outcomes
from abkit.checks import balance
from abkit.errors import ParameterError
from abkit.evaluation import economics, evaluate
from abkit.frames import frame_from_columns, to_pandas_frame
from abkit.metrics import sufficient_statistics
from abkit.population import build_population


def _per_customer(seed: int = 3, n: int = 3000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    variant = np.repeat(["control", "coupon"], n)
    bought = rng.uniform(size=2 * n) < np.where(variant == "coupon", 0.07, 0.05)
    return pd.DataFrame(
        {
            "customer_id": [f"{i:06d}" for i in range(2 * n)],
            "variant": variant,
            "segment": rng.choice(["new", "old"], 2 * n),
            "repurchased": bought,
            "revenue": np.where(bought, rng.gamma(3.0, 15.0, 2 * n), 0.0),
            "age": rng.normal(40, 10, 2 * n),
        }
    )


def _kinds(df: pd.DataFrame) -> list[object]:
    return [df, pl.from_pandas(df), pa.Table.from_pandas(df, preserve_index=False)]


@pytest.mark.parametrize("kind", ["pandas", "polars", "pyarrow"])
def test_evaluate_and_statistics_give_the_pandas_numbers(kind: str) -> None:
    df = _per_customer()
    other = dict(zip(["pandas", "polars", "pyarrow"], _kinds(df), strict=True))[kind]
    kw = {"metrics": ["repurchased", "revenue"], "segment_col": "segment"}
    pd.testing.assert_frame_equal(evaluate(other, **kw).table, evaluate(df, **kw).table)
    pd.testing.assert_frame_equal(
        sufficient_statistics(other, ["repurchased"], segment_col="segment"),
        sufficient_statistics(df, ["repurchased"], segment_col="segment"),
    )
    costs = {"coupon": (0.05, 5.0)}
    pd.testing.assert_frame_equal(
        economics(other, costs=costs, margin=0.4).table, economics(df, costs=costs, margin=0.4).table
    )
    pd.testing.assert_frame_equal(balance(other, ["age"]), balance(df, ["age"]))


def test_aggregated_polars_counts() -> None:
    agg = pd.DataFrame({"variant": ["control", "coupon"], "sent": [2000, 2000], "repurchased": [100, 150]})
    pd.testing.assert_frame_equal(
        evaluate(pl.from_pandas(agg), metrics=["repurchased"], n_col="sent").table,
        evaluate(agg, metrics=["repurchased"], n_col="sent").table,
    )


def test_assign_outcomes_and_population_take_polars() -> None:
    units = pd.DataFrame({"customer_id": [f"{i:05d}" for i in range(400)], "segment": ["a", "b"] * 200})
    kw = {"variants": {"holdout": 1, "coupon": 1}, "salt": "s1", "strata": "segment"}
    pd.testing.assert_frame_equal(assign(pl.from_pandas(units), **kw), assign(units, **kw))
    assigned = assign(units, **kw)
    events = pd.DataFrame(
        {
            "customer_id": ["00001", "00002", "00003"],
            "event": ["purchased", "opened", "purchased"],
            "timestamp": pd.to_datetime(["2026-05-02", "2026-05-03", "2026-05-04"]),
            "amount": [20.0, np.nan, 35.0],
        }
    )
    pd.testing.assert_frame_equal(
        outcomes(pl.from_pandas(assigned), pa.Table.from_pandas(events), send_date="2026-05-01"),
        outcomes(assigned, events, send_date="2026-05-01"),
    )
    tx = pd.DataFrame(
        {
            "customer_id": ["1", "1", "2", "3"],
            "order_date": pd.to_datetime(["2025-01-05", "2025-03-01", "2024-11-20", "2026-01-10"]),
            "amount": [30.0, 12.0, 80.0, 5.0],
        }
    )
    a = build_population(pl.from_pandas(tx), as_of="2026-04-01", exclude=None)
    b = build_population(tx, as_of="2026-04-01", exclude=None)
    pd.testing.assert_frame_equal(a.table, b.table)


def test_anything_else_is_refused_naming_the_argument() -> None:
    refused = r"^units must be a pandas DataFrame \(or a polars DataFrame or pyarrow Table\), got dict"
    with pytest.raises(ParameterError, match=refused):
        assign({"customer_id": ["1"]}, variants={"a": 1, "b": 1}, salt="s")
    lazy = pl.DataFrame({"variant": ["a"], "x": [1]}).lazy()
    with pytest.raises(ParameterError, match=r"^data must .*got LazyFrame \(a lazy frame"):
        evaluate(lazy, metrics=["x"])
    assert to_pandas_frame(frame := pd.DataFrame({"a": [1]})) is frame  # pandas: not copied


def test_frame_from_columns_builds_what_the_constructor_builds() -> None:
    cols = {
        "metric": np.array(["rate", "rate", "revenue"], dtype=object),
        "segment": np.array(["all", "a", "all"], dtype=object),
        "reason": np.array(["", "no units", ""], dtype=object),
        "mixed": np.array(["x", 1, None], dtype=object),  # not all text: left to pandas
        "value": np.array([0.1, np.nan, 3.0]),
        "n": np.array([1, 2, 3]),
        "flag": np.array([True, False, True]),
    }
    got = frame_from_columns(cols)
    pd.testing.assert_frame_equal(got, pd.DataFrame(cols))
    assert str(got["metric"].dtype) == "str" and got["mixed"].dtype == object
    empty = {k: v[:0] for k, v in cols.items()}
    pd.testing.assert_frame_equal(frame_from_columns(empty), pd.DataFrame(empty))
