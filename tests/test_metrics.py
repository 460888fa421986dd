"""Tests for abkit.metrics: metric objects, kind inference and sufficient statistics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import abkit
from abkit.errors import AbkitError, ColumnError, DataError, ParameterError
from abkit.metrics import STAT_COLUMNS, Mean, Proportion, sufficient_columns, sufficient_statistics


def units(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "variant": rng.choice(["holdout", "coupon", "thanks"], n),
            "segment": rng.choice(["high_value", "one_time"], n),
            "opened": rng.random(n) < 0.3,
            "repurchased": (rng.random(n) < 0.1).astype(np.int64),
            "revenue": np.where(rng.random(n) < 0.1, rng.gamma(2.0, 25.0, n), 0.0),
        }
    )


def reference(data: pd.DataFrame, column: str, by: list[str]) -> pd.DataFrame:
    """n, sum and sum of squares computed independently with a plain pandas groupby."""
    values = data[column].astype(float)
    frame = data[by].assign(v=values, v2=values**2)
    return frame.groupby(by).agg(n=("v", "size"), sum=("v", "sum"), sum_sq=("v2", "sum"))


# ----------------------------------------------------------------------------------------- metric objects
def test_metric_objects() -> None:
    p = Proportion("opened")
    assert (p.column, p.name, p.kind, p.aggregates) == ("opened", "opened", "proportion", ("n", "sum"))
    m = Mean("revenue", name="revenue per recipient")
    assert (m.column, m.name, m.kind) == ("revenue", "revenue per recipient", "mean")
    assert m.aggregates == ("n", "sum", "sum_sq")
    assert repr(m) == "Mean('revenue', name='revenue per recipient')"
    assert Proportion("x") == Proportion("x", "x")
    with pytest.raises(AttributeError):
        p.column = "clicked"  # type: ignore[misc]
    assert abkit.Proportion is Proportion and abkit.Mean is Mean
    assert abkit.sufficient_statistics is sufficient_statistics


@pytest.mark.parametrize("bad", ["", None, 3])
def test_metric_object_bad_column(bad: object) -> None:
    with pytest.raises(ParameterError, match="column"):
        Proportion(bad)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="name"):
        Mean("revenue", name="")


# ----------------------------------------------------------------------------------------- per-unit rows
def test_exact_small_table() -> None:
    df = pd.DataFrame(
        {
            "variant": ["b", "a", "b", "a", "b"],
            "opened": [True, False, True, True, False],
            "revenue": [2.0, 0.0, 3.0, 10.0, 0.0],
        }
    )
    out = sufficient_statistics(df, ["revenue", "opened"])
    assert list(out.columns) == list(STAT_COLUMNS)
    expected = pd.DataFrame(
        {
            "metric": ["revenue", "revenue", "opened", "opened"],
            "kind": ["mean", "mean", "proportion", "proportion"],
            "segment": ["all"] * 4,
            "variant": ["a", "b", "a", "b"],
            "n": np.array([2, 3, 2, 3], dtype=np.int64),
            "sum": [10.0, 5.0, 1.0, 2.0],
            "sum_sq": [100.0, 13.0, 1.0, 2.0],
        }
    )
    pd.testing.assert_frame_equal(out, expected, check_dtype=False)
    assert out["n"].dtype == np.int64
    assert out["sum"].dtype == np.float64 and out["sum_sq"].dtype == np.float64


def test_matches_pandas_groupby_with_segments() -> None:
    df = units()
    out = sufficient_statistics(df, ["opened", "repurchased", "revenue"], segment_col="segment")
    # 3 metrics x (2 segments + pooled) x 3 variants
    assert len(out) == 27
    for metric in ["opened", "repurchased", "revenue"]:
        rows = out[out["metric"] == metric]
        seg = rows[rows["segment"] != "all"].set_index(["segment", "variant"])[["n", "sum", "sum_sq"]]
        ref = reference(df, metric, ["segment", "variant"])
        pd.testing.assert_frame_equal(seg, ref, check_dtype=False, check_names=False, rtol=1e-12)
        pooled = rows[rows["segment"] == "all"].set_index("variant")[["n", "sum", "sum_sq"]]
        ref_pooled = reference(df, metric, ["variant"])
        pd.testing.assert_frame_equal(pooled, ref_pooled, check_dtype=False, check_names=False, rtol=1e-12)


def test_sorting_all_first_and_metric_order() -> None:
    df = units()
    out = sufficient_statistics(df, ["revenue", "opened"], segment_col="segment")
    assert list(dict.fromkeys(out["metric"])) == ["revenue", "opened"]
    block = out[out["metric"] == "revenue"]
    assert list(block["segment"]) == ["all"] * 3 + ["high_value"] * 3 + ["one_time"] * 3
    assert list(block["variant"]) == ["coupon", "holdout", "thanks"] * 3
    assert out.index.equals(pd.RangeIndex(len(out)))


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (pd.Series([True, False, True, False]), "proportion"),
        (pd.Series([1, 0, 1, 0], dtype=np.int64), "proportion"),
        (pd.Series([1, 0, 1, 0], dtype=np.uint8), "proportion"),
        (pd.Series([1, 0, 1, 0], dtype="Int64"), "proportion"),
        (pd.Series([True, False, True, False], dtype="boolean"), "proportion"),
        (pd.Series([0, 0, 0, 0], dtype=np.int64), "proportion"),
        (pd.Series([1, 0, 2, 0], dtype=np.int64), "mean"),
        # 0/1 is a rate whatever the dtype (a fillna(0.0) must not change the method)
        (pd.Series([1.0, 0.0, 1.0, 0.0]), "proportion"),
        (pd.Series([1.0, 0.0, 1.0, 0.0], dtype="Float64"), "proportion"),
        (pd.Series([0.0, 0.0, 0.0, 0.0]), "proportion"),
        (pd.Series([1.0, 0.0, 0.5, 0.0]), "mean"),
        (pd.Series([1.5, 0.0, 2.0, 0.0]), "mean"),
    ],
)
def test_kind_inference(values: pd.Series, kind: str) -> None:
    df = pd.DataFrame({"variant": ["a", "a", "b", "b"], "x": values})
    out = sufficient_statistics(df, ["x"])
    assert set(out["kind"]) == {kind}
    v = values.astype(float).to_numpy()
    assert list(out["sum"]) == [v[:2].sum(), v[2:].sum()]
    assert list(out["sum_sq"]) == [(v[:2] ** 2).sum(), (v[2:] ** 2).sum()]


def test_metric_objects_override_inference_and_names() -> None:
    df = pd.DataFrame(
        {"variant": ["a", "a", "b", "b"], "x": [1.0, 0.0, 1.0, 1.0], "y": [True, False, True, True]}
    )
    out = sufficient_statistics(df, [Proportion("x"), Mean("y", name="y as mean")])
    assert list(out["kind"]) == ["proportion", "proportion", "mean", "mean"]
    assert list(out["metric"]) == ["x", "x", "y as mean", "y as mean"]
    out = sufficient_statistics(df, {"rate": "x", "flag": Proportion("y"), "avg": Mean("x")})
    assert list(dict.fromkeys(out["metric"])) == ["rate", "flag", "avg"]
    assert list(out.drop_duplicates("metric")["kind"]) == ["proportion", "proportion", "mean"]
    from_index = sufficient_statistics(df, pd.Index(["x", "y"]))
    assert list(from_index["kind"]) == ["proportion"] * 4
    single = sufficient_statistics(df, "y")
    assert list(single["kind"]) == ["proportion", "proportion"]


def test_labels_become_strings_and_categoricals() -> None:
    df = pd.DataFrame({"variant": [2, 1, 10, 1, 2, 10], "seg": [1, 1, 1, 2, 2, 2], "y": [1, 0, 1, 1, 0, 0]})
    out = sufficient_statistics(df, ["y"], segment_col="seg")
    assert list(out["variant"].iloc[:3]) == ["1", "10", "2"]  # sorted as strings
    assert list(out["segment"].unique()) == ["all", "1", "2"]
    assert all(isinstance(v, str) for v in out["variant"])
    cat = df.assign(variant=pd.Categorical(df["variant"].astype(str), categories=["2", "1", "10", "unused"]))
    out_cat = sufficient_statistics(cat, ["y"], segment_col="seg")
    pd.testing.assert_frame_equal(out_cat, out)  # unused categories are not variants


def test_same_string_form_is_merged() -> None:
    df = pd.DataFrame({"variant": pd.Series([1, "1", "2", "2"], dtype=object), "y": [1, 0, 1, 1]})
    out = sufficient_statistics(df, ["y"])
    assert list(out["variant"]) == ["1", "2"] and list(out["n"]) == [2, 2] and list(out["sum"]) == [1.0, 2.0]


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(12, 200),
)
def test_row_order_and_aggregation_invariance(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "variant": np.tile(["a", "b", "c"], n),
            "segment": np.tile(["s1"] * 3 + ["s2"] * 3, n)[: 3 * n],
            "clicked": rng.random(3 * n) < 0.3,
            "revenue": np.round(rng.exponential(20.0, 3 * n) * (rng.random(3 * n) < 0.4), 2),
        }
    )
    base = sufficient_statistics(df, ["clicked", "revenue"], segment_col="segment")
    shuffled = df.sample(frac=1.0, random_state=int(seed % 2**31)).reset_index(drop=True)
    pd.testing.assert_frame_equal(
        sufficient_statistics(shuffled, ["clicked", "revenue"], segment_col="segment"), base, rtol=1e-12
    )
    # aggregate into random chunks of each (segment, variant) cell: the same statistics
    chunk = rng.integers(0, 3, len(df))
    agg = (
        df.assign(chunk=chunk, units=1, revenue_sumsq=df["revenue"] ** 2, clicked=df["clicked"].astype(int))
        .groupby(["segment", "variant", "chunk"], as_index=False)[
            ["units", "clicked", "revenue", "revenue_sumsq"]
        ]
        .sum()
    )
    from_agg = sufficient_statistics(agg, ["clicked", "revenue"], segment_col="segment", n_col="units")
    pd.testing.assert_frame_equal(from_agg, base, rtol=1e-9)


# ----------------------------------------------------------------------------------------- aggregated rows
def test_aggregated_rows_are_summed_and_kinds_inferred() -> None:
    agg = pd.DataFrame(
        {
            "variant": ["a", "a", "b"],
            "sent": [100, 50, 120],
            "opened": [30, 10, 41],
            "revenue": [200.0, 50.0, 300.0],
            "revenue_sumsq": [9000.0, 1000.0, 20000.0],
        }
    )
    out = sufficient_statistics(agg, ["opened", "revenue"], n_col="sent")
    assert list(out["kind"]) == ["proportion", "proportion", "mean", "mean"]
    assert list(out["n"]) == [150, 120, 150, 120]
    assert list(out["sum"]) == [40.0, 41.0, 250.0, 300.0]
    assert list(out["sum_sq"]) == [40.0, 41.0, 10000.0, 20000.0]
    # a Proportion object wins over a present _sumsq column
    forced = sufficient_statistics(
        agg.assign(opened_sumsq=agg["opened"]), [Proportion("opened")], n_col="sent"
    )
    assert set(forced["kind"]) == {"proportion"}


def test_aggregated_mean_without_sumsq_is_a_column_error() -> None:
    agg = pd.DataFrame({"variant": ["a", "b"], "n": [10, 10], "revenue": [5.0, 6.0]})
    with pytest.raises(ColumnError, match=r"'revenue_sumsq'.*sum of squares"):
        sufficient_statistics(agg, [Mean("revenue")], n_col="n")


# ----------------------------------------------------------------------------------------- bad input
@pytest.fixture
def df() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "variant": ["a", "a", "b", "b"],
            "segment": ["x", "y", "x", "y"],
            "opened": [True, False, True, True],
            "revenue": [1.0, 0.0, 2.0, 0.0],
        }
    )


def test_missing_columns(df: pd.DataFrame) -> None:
    with pytest.raises(ColumnError, match="'arm'"):
        sufficient_statistics(df, ["opened"], variant_col="arm")
    with pytest.raises(ColumnError, match="'clicked'"):
        sufficient_statistics(df, ["opened", "clicked"])
    with pytest.raises(ColumnError, match="'tier'"):
        sufficient_statistics(df, ["opened"], segment_col="tier")
    with pytest.raises(ColumnError, match="'sent'"):
        sufficient_statistics(df, ["opened"], n_col="sent")
    with pytest.raises(ColumnError, match="'clicked'"):
        sufficient_statistics(df, [Proportion("clicked")])


def test_nan_in_metric_is_counted() -> None:
    df = pd.DataFrame({"variant": ["a", "a", "b", "b", "b"], "revenue": [1.0, np.nan, np.nan, 2.0, np.nan]})
    with pytest.raises(DataError, match=r"3 NaN values in column 'revenue'; fill or drop them explicitly"):
        sufficient_statistics(df, ["revenue"])
    nullable = pd.DataFrame({"variant": ["a", "b"], "opened": pd.Series([True, None], dtype="boolean")})
    with pytest.raises(DataError, match="1 NaN values in column 'opened'"):
        sufficient_statistics(nullable, ["opened"])


def test_infinite_and_non_numeric_metric(df: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="1 infinite values in column 'revenue'"):
        sufficient_statistics(df.assign(revenue=[1.0, np.inf, 0.0, 0.0]), ["revenue"])
    with pytest.raises(DataError, match="column 'opened' is not numeric"):
        sufficient_statistics(df.assign(opened=["yes", "no", "yes", "no"]), ["opened"])


def test_proportion_object_on_non_binary_column(df: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"'revenue'.*other than 0 and 1"):
        sufficient_statistics(df.assign(revenue=[1.0, 0.0, 2.0, 0.0]), [Proportion("revenue")])


def test_null_labels(df: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="2 null values in column 'variant'"):
        sufficient_statistics(df.assign(variant=["a", None, np.nan, "b"]), ["opened"])
    with pytest.raises(DataError, match="1 null values in column 'segment'"):
        sufficient_statistics(df.assign(segment=["x", None, "x", "y"]), ["opened"], segment_col="segment")


def test_reserved_segment_label(df: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"'segment'.*'all'.*reserves"):
        sufficient_statistics(df.assign(segment=["all", "y", "all", "y"]), ["opened"], segment_col="segment")


def test_empty_data(df: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="no rows"):
        sufficient_statistics(df.iloc[:0], ["opened"])


def test_variant_missing_in_a_segment(df: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="no units for variant 'b' in segment 'y'"):
        sufficient_statistics(df.iloc[:3], ["opened"], segment_col="segment")
    kept = sufficient_statistics(df.iloc[:3], ["opened"], segment_col="segment", allow_empty=True)
    cell = kept[(kept["segment"] == "y") & (kept["variant"] == "b")]
    assert cell[["n", "sum", "sum_sq"]].to_numpy().tolist() == [[0, 0.0, 0.0]]


def test_same_zero_one_data_is_a_rate_per_unit_and_aggregated() -> None:
    # issue 12 §4: the same 0/1 data gets the same test whatever its dtype or form
    flags = [1, 0, 0, 1, 1, 0, 1, 1]
    variant = ["a"] * 4 + ["b"] * 4
    kinds = set()
    for values in (flags, [float(v) for v in flags], pd.array(flags, dtype="Int8"),
                   pd.array([bool(v) for v in flags], dtype="boolean")):  # fmt: skip
        kinds |= set(sufficient_statistics(pd.DataFrame({"variant": variant, "x": values}), "x")["kind"])
    agg = pd.DataFrame({"variant": ["a", "b"], "n": [4, 4], "x": [2.0, 3.0], "x_sumsq": [2.0, 3.0]})
    kinds |= set(sufficient_statistics(agg, "x", n_col="n")["kind"])
    assert kinds == {"proportion"}
    # an explicit kind overrides; a real mean with its sum of squares stays a mean
    assert set(sufficient_statistics(agg, Mean("x"), n_col="n")["kind"]) == {"mean"}
    orders = agg.assign(x=[2.0, 5.0], x_sumsq=[2.0, 9.0])
    assert set(sufficient_statistics(orders, "x", n_col="n")["kind"]) == {"mean"}


def test_aggregated_counts_above_n_say_how_to_declare_a_mean() -> None:
    orders = pd.DataFrame({"variant": ["a", "b"], "n": [4, 4], "orders": [3, 6]})
    with pytest.raises(DataError, match=r"orders, not buyers.*'orders_sumsq'"):
        sufficient_statistics(orders, "orders", n_col="n")


def test_bad_metrics_argument(df: pd.DataFrame) -> None:
    with pytest.raises(ParameterError, match="metrics is empty"):
        sufficient_statistics(df, [])
    with pytest.raises(ParameterError, match="metrics"):
        sufficient_statistics(df, 3)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="metrics"):
        sufficient_statistics(df, ["opened", 3])  # type: ignore[list-item]
    with pytest.raises(ParameterError, match=r"'opened'.*more than once"):
        sufficient_statistics(df, ["opened", Mean("revenue", name="opened")])
    with pytest.raises(ParameterError, match="data must be a pandas DataFrame"):
        sufficient_statistics(df.to_dict(), ["opened"])  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="segment_col"):
        sufficient_statistics(df, ["opened"], segment_col=3)  # type: ignore[arg-type]


@pytest.fixture
def agg() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "variant": ["a", "b"],
            "sent": [100, 120],
            "opened": [30, 41],
            "revenue": [200.0, 300.0],
            "revenue_sumsq": [9000.0, 20000.0],
        }
    )


def test_aggregated_bad_counts(agg: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"more successes in column 'opened' than units in 'sent'.*130 > 120"):
        sufficient_statistics(agg.assign(opened=[30, 130]), ["opened"], n_col="sent")
    with pytest.raises(DataError, match="1 negative values in column 'opened'"):
        sufficient_statistics(agg.assign(opened=[-1, 4]), ["opened"], n_col="sent")
    with pytest.raises(DataError, match="1 negative values in column 'sent'"):
        sufficient_statistics(agg.assign(sent=[-5, 120]), ["revenue"], n_col="sent")
    with pytest.raises(DataError, match="non-integer values in column 'sent'"):
        sufficient_statistics(agg.assign(sent=[100.5, 120.0]), ["opened"], n_col="sent")
    with pytest.raises(DataError, match="NaN values in column 'sent'"):
        sufficient_statistics(agg.assign(sent=[np.nan, 120.0]), ["opened"], n_col="sent")


def test_aggregated_bad_sum_of_squares(agg: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="negative values in column 'revenue_sumsq'"):
        sufficient_statistics(agg.assign(revenue_sumsq=[-1.0, 20000.0]), ["revenue"], n_col="sent")
    # 100 units summing to 200 need sum of squares >= 200**2 / 100 = 400
    with pytest.raises(DataError, match="'revenue_sumsq' inconsistent with the sum in 'revenue'"):
        sufficient_statistics(agg.assign(revenue_sumsq=[399.0, 20000.0]), ["revenue"], n_col="sent")
    ok = sufficient_statistics(agg.assign(revenue_sumsq=[400.0, 20000.0]), ["revenue"], n_col="sent")
    assert ok["sum_sq"].iloc[0] == 400.0


def test_aggregated_variant_with_zero_units(agg: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="no units for variant 'b'"):
        sufficient_statistics(agg.assign(sent=[100, 0], opened=[30, 0]), ["opened"], n_col="sent")


def test_errors_are_abkit_errors_and_value_errors(df: pd.DataFrame) -> None:
    with pytest.raises(AbkitError):
        sufficient_statistics(df, ["nope"])
    with pytest.raises(ValueError):
        sufficient_statistics(df, ["nope"])


# ------------------------------------------------------------------------------------------------
# CUPED sufficient statistics (covariates)
# ------------------------------------------------------------------------------------------------
def test_covariate_sums_equal_pandas_groupby() -> None:
    from abkit.metrics import covariate_columns

    rng = np.random.default_rng(7)
    n = 3000
    df = pd.DataFrame(
        {
            "variant": rng.choice(["control", "mail"], n),
            "segment": rng.choice(["x", "y", "z"], n),
            "opened": rng.uniform(size=n) < 0.3,
            "revenue": rng.gamma(1.0, 20.0, n),
            "frequency": rng.poisson(3, n).astype(np.int64),
            "monetary_total": rng.gamma(2.0, 40.0, n),
        }
    )
    cov = ["frequency", "monetary_total"]
    st = sufficient_statistics(df, ["opened", "revenue"], segment_col="segment", covariates=cov)
    x_cols, xx_cols, xy_cols = covariate_columns(cov)
    assert list(st.columns) == [*STAT_COLUMNS, *x_cols, *xx_cols, *xy_cols]
    assert xx_cols == [
        "sum_xx:frequency:frequency",
        "sum_xx:frequency:monetary_total",
        "sum_xx:monetary_total:monetary_total",
    ]
    plain = sufficient_statistics(df, ["opened", "revenue"], segment_col="segment")
    pd.testing.assert_frame_equal(st[list(STAT_COLUMNS)], plain)
    f, m = df["frequency"].astype(float), df["monetary_total"]
    for metric in ("opened", "revenue"):
        y = df[metric].astype(float)
        frame = df.assign(fx=f, mx=m, ff=f * f, fm=f * m, mm=m * m, fy=f * y, my=m * y)
        ref = frame.groupby(["segment", "variant"])[["fx", "mx", "ff", "fm", "mm", "fy", "my"]].sum()
        pooled = frame.groupby("variant")[["fx", "mx", "ff", "fm", "mm", "fy", "my"]].sum()
        for _, row in st[st["metric"] == metric].iterrows():
            r = (
                pooled.loc[row["variant"]]
                if row["segment"] == "all"
                else ref.loc[(row["segment"], row["variant"])]
            )
            got = row[[*x_cols, *xx_cols, *xy_cols]].to_numpy(float)
            assert np.allclose(got, r.to_numpy(float), rtol=1e-12)


def test_covariate_errors() -> None:
    df = pd.DataFrame({"variant": ["a", "a", "b", "b"], "y": [1.0, 2.0, 3.0, 4.0], "x": [1.0, 2.0, 3.0, 5.0]})
    with pytest.raises(ColumnError, match="'z'"):
        sufficient_statistics(df, ["y"], covariates=["z"])
    with pytest.raises(DataError, match="1 NaN values in column 'x'"):
        sufficient_statistics(df.assign(x=[1.0, np.nan, 2.0, 3.0]), ["y"], covariates=["x"])
    with pytest.raises(DataError, match="covariate 'k' is constant"):
        sufficient_statistics(df.assign(k=2.0), ["y"], covariates=["k"])
    with pytest.raises(ParameterError, match="covariates: \\['x'\\] listed more than once"):
        sufficient_statistics(df, ["y"], covariates=["x", "x"])
    with pytest.raises(ParameterError, match="need one row per unit"):
        sufficient_statistics(df.assign(n=1), ["y"], n_col="n", covariates=["x"])
    with pytest.raises(DataError, match="not numeric"):
        sufficient_statistics(df.assign(x=list("abcd")), ["y"], covariates=["x"])


def test_sufficient_columns_are_the_table_as_arrays() -> None:
    df = units(300, seed=4)
    cols = sufficient_columns(df, ["opened", "revenue"], segment_col="segment")
    table = sufficient_statistics(df, ["opened", "revenue"], segment_col="segment")
    assert list(cols) == list(table.columns)
    assert all(isinstance(v, np.ndarray) for v in cols.values())
    pd.testing.assert_frame_equal(pd.DataFrame(cols), table)


@pytest.mark.parametrize("rows", [3, 255, 256, 257, 1000])
def test_small_and_large_label_columns_code_alike(rows: int) -> None:
    """Text labels of a few rows are coded by a dict, longer ones by pd.factorize: same statistics."""
    rng = np.random.default_rng(rows)
    df = pd.DataFrame({
        "variant": pd.array(rng.choice(["b", "a", "c"], rows), dtype="str"),
        "segment": pd.array(rng.choice(["x", "y"], rows), dtype="str"),
        "n": rng.integers(1, 50, rows), "k": np.zeros(rows, dtype=np.int64),
    })  # fmt: skip
    df["k"] = rng.integers(0, df["n"] + 1)
    got = sufficient_statistics(df, ["k"], n_col="n", segment_col="segment", allow_empty=True)
    ref = df.astype({"variant": object, "segment": object})  # object columns: always pd.factorize
    want = sufficient_statistics(ref, ["k"], n_col="n", segment_col="segment", allow_empty=True)
    pd.testing.assert_frame_equal(got, want)
    missing = df.copy()
    missing.loc[1, "variant"] = None
    with pytest.raises(DataError, match=r"^1 null values in column 'variant'"):
        sufficient_statistics(missing, ["k"], n_col="n")
