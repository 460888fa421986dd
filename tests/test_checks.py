"""Tests for abkit.checks: SRM against scipy's chi-square test, SMD against a hand computation."""

from __future__ import annotations

import dataclasses
import math
import statistics

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from abkit.checks import SRMResult, balance, plot_balance, srm
from abkit.errors import ColumnError, DataError, ParameterError

matplotlib.use("Agg")
import matplotlib.pyplot as plt


# ------------------------------------------------------------------------------------------------
# srm
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("observed", "weights"),
    [
        ({"a": 5100, "b": 4900}, {"a": 1, "b": 1}),
        ({"a": 5300, "b": 4700}, {"a": 1, "b": 1}),
        ({"coupon": 2950, "message": 3100, "holdout": 1950}, {"coupon": 3, "message": 3, "holdout": 2}),
        ({"a": 811, "b": 190}, {"a": 0.8, "b": 0.2}),
        ({"a": 100, "b": 130, "c": 95, "d": 110}, ["a", "b", "c", "d"]),
    ],
)
def test_srm_matches_scipy_chisquare(observed: dict, weights: object) -> None:
    result = srm(observed, weights)
    arms = list(observed)
    f_obs = np.array([observed[a] for a in arms], dtype=float)
    w = np.array([weights[a] if isinstance(weights, dict) else 1.0 for a in arms], dtype=float)
    ref = stats.chisquare(f_obs, f_exp=f_obs.sum() * w / w.sum())
    assert result.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert result.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    assert result.df == len(arms) - 1
    assert result.ok is bool(ref.pvalue >= 0.001)
    assert result.status == ("ok" if result.ok else "mismatch")


def test_srm_published_value_and_alert() -> None:
    # chi-square = 2 * 100^2 / 5000 = 4 on 1 df; P(chi2_1 > 4) = 0.0455003 (standard table value)
    r = srm({"coupon": 5100, "holdout": 4900}, {"coupon": 1, "holdout": 1})
    assert r.statistic == pytest.approx(4.0, rel=1e-12)
    assert r.p_value == pytest.approx(0.04550026, rel=1e-6)
    assert r.ok is True
    bad = srm(pd.Series({"coupon": 5300, "holdout": 4700}), {"coupon": 1, "holdout": 1})
    assert bad.ok is False and bad.status == "mismatch" and bad.p_value < 0.001
    strict = srm({"coupon": 5100, "holdout": 4900}, {"coupon": 1, "holdout": 1}, threshold=0.05)
    assert strict.ok is False


def test_srm_zero_weight_arms() -> None:
    empty = srm({"a": 480, "b": 520, "paused": 0}, {"a": 1, "b": 1, "paused": 0})
    ref = stats.chisquare([480, 520])
    assert empty.p_value == pytest.approx(ref.pvalue) and empty.df == 1 and empty.ok
    assert empty.table.set_index("arm").loc["paused", "tested"] == False  # noqa: E712
    hit = srm({"a": 480, "b": 520, "paused": 3}, {"a": 1, "b": 1, "paused": 0})
    assert hit.ok is False and hit.status == "units in zero-weight arm"
    assert hit.statistic == math.inf and hit.p_value == 0.0
    stray = srm({"a": 480, "b": 520, "typo": 1}, {"a": 1, "b": 1})
    assert stray.status == "units in zero-weight arm" and "typo" in stray.arms


def test_srm_not_enough_units() -> None:
    r = srm({"a": 3, "b": 1}, {"a": 1, "b": 1})
    assert r.ok is None and r.status == "not enough units" and math.isnan(r.p_value)
    assert r.statistic == pytest.approx(1.0)
    none = srm({}, ["a", "b"])
    assert none.n == 0 and none.status == "not enough units"
    assert srm({"a": 4, "b": 6}, ["a", "b"], min_expected=1).status == "ok"


def test_srm_result_display() -> None:
    r = srm({"a": 5100, "b": 4900}, ["a", "b"])
    assert repr(r).startswith("SRMResult(status='ok', ok=True, p_value=0.0455")
    html = r._repr_html_()
    assert "Pearson chi-square" in html and "<table" in html
    table = r.to_pandas()
    assert table.columns.tolist() == [
        "arm", "observed", "expected", "observed_share", "expected_share", "difference", "pearson_residual",
        "tested",
    ]  # fmt: skip
    assert table["expected"].tolist() == [5000.0, 5000.0]
    assert table["pearson_residual"].tolist() == pytest.approx(
        [100 / math.sqrt(5000), -100 / math.sqrt(5000)]
    )
    assert "ok" in str(r)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.p_value = 1.0  # type: ignore[misc]
    assert isinstance(r, SRMResult)


@pytest.mark.parametrize(
    ("observed", "expected", "kwargs", "error", "pattern"),
    [
        ({"a": -1, "b": 5}, ["a", "b"], {}, DataError, r"observed\['a'\] = -1"),
        ({"a": 2.5, "b": 5}, ["a", "b"], {}, DataError, r"observed\['a'\] = 2.5"),
        ({"a": float("nan"), "b": 5}, ["a", "b"], {}, DataError, r"observed\['a'\]"),
        ([1, 2], ["a", "b"], {}, ParameterError, "observed must be a mapping"),
        ({"a": 1}, {"a": 1, "b": 0}, {}, ParameterError, "at least two"),
        ({"a": 1}, {"a": 1, "b": -1}, {}, ParameterError, r"expected\['b'\] weight is -1"),
        ({"a": 1}, {}, {}, ParameterError, "expected is empty"),
        ({"a": 1, "b": 1}, ["a", "b"], {"threshold": 0}, ParameterError, "threshold"),
        ({"a": 1, "b": 1}, ["a", "b"], {"threshold": 1.5}, ParameterError, "threshold"),
    ],
)
def test_srm_bad_input(observed: object, expected: object, kwargs: dict, error: type, pattern: str) -> None:
    with pytest.raises(error, match=pattern):
        srm(observed, expected, **kwargs)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------
# balance
# ------------------------------------------------------------------------------------------------
def assigned_frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 300
    return pd.DataFrame(
        {
            "variant": np.array(["holdout", "coupon", "message"])[np.arange(n) % 3],
            "recency": rng.normal(400, 80, n).round(),
            "spend": rng.gamma(2, 50, n),
            "vip": rng.random(n) < 0.2,
        }
    )


def test_balance_matches_hand_computation() -> None:
    df = assigned_frame()
    table = balance(df, ["recency", "spend", "vip"])
    assert table["control"].eq("holdout").all()
    assert table[["covariate", "variant"]].values.tolist() == [
        [c, v] for c in ["recency", "spend", "vip"] for v in ["coupon", "message"]
    ]
    for row in table.itertuples():
        t = [float(x) for x in df.loc[df["variant"] == row.variant, row.covariate]]
        c = [float(x) for x in df.loc[df["variant"] == "holdout", row.covariate]]
        expected = (statistics.fmean(t) - statistics.fmean(c)) / math.sqrt(
            (statistics.variance(t) + statistics.variance(c)) / 2
        )
        assert row.smd == pytest.approx(expected, rel=1e-10)
        assert row.imbalanced == (abs(expected) > 0.1)
        assert row.sd_control == pytest.approx(statistics.stdev(c))
        assert row.n_variant == len(t) and row.n_control == len(c)
    assert "ddof=1" in table["method"].iloc[0]


def test_balance_known_small_example() -> None:
    # means 45 vs 40, both sample variances 100: SMD = 5 / 10 = 0.5
    df = pd.DataFrame({"variant": ["holdout"] * 3 + ["coupon"] * 3, "age": [30, 40, 50, 35, 45, 55]})
    table = balance(df, "age")
    assert table["smd"].tolist() == [0.5] and table["imbalanced"].tolist() == [True]
    assert balance(df, "age", threshold=0.6)["imbalanced"].tolist() == [False]
    flipped = balance(df.assign(variant=df["variant"].map({"holdout": "control", "coupon": "coupon"})), "age")
    assert flipped["control"].tolist() == ["control"]
    explicit = balance(df, "age", control="coupon")
    assert explicit["smd"].tolist() == [-0.5]


def test_balance_missing_values_and_constant_covariates() -> None:
    df = pd.DataFrame(
        {
            "variant": ["holdout"] * 4 + ["coupon"] * 4,
            "x": [1.0, 2.0, np.nan, 3.0, 2.0, 3.0, 4.0, np.nan],
            "flat": [1.0] * 8,
            "step": [1.0] * 4 + [2.0] * 4,
        }
    )
    table = balance(df, ["x", "flat", "step"]).set_index("covariate")
    assert table.loc["x", "missing_variant"] == 1 and table.loc["x", "missing_control"] == 1
    assert table.loc["x", "smd"] == pytest.approx(1.0)  # means 3 vs 2, variances 1 and 1
    assert table.loc["flat", "smd"] == 0.0 and not table.loc["flat", "imbalanced"]
    assert table.loc["step", "smd"] == math.inf and table.loc["step", "imbalanced"]


def test_balance_bad_input() -> None:
    df = assigned_frame()
    with pytest.raises(ColumnError, match="'age'"):
        balance(df, ["age"])
    with pytest.raises(ColumnError, match="'arm'"):
        balance(df, "spend", variant_col="arm")
    with pytest.raises(ParameterError, match=r"control='placebo' is not a variant"):
        balance(df, "spend", control="placebo")
    with pytest.raises(ParameterError, match=r"no arm is named 'control' or 'holdout'.*control="):
        balance(df.assign(variant=df["variant"].replace("holdout", "base")), "spend")
    with pytest.raises(DataError, match="covariate 'variant' has dtype"):
        balance(df.assign(v2=df["variant"]), "variant", variant_col="v2")
    with pytest.raises(DataError, match=r"fewer than 2 non-missing values in variant 'coupon'"):
        balance(df.assign(spend=np.where(df["variant"] == "coupon", np.nan, df["spend"])), "spend")
    with pytest.raises(DataError, match="unit\\(s\\) without a variant"):
        balance(df.assign(variant=df["variant"].where(df.index > 0)), "spend")
    with pytest.raises(ParameterError, match="covariates is empty"):
        balance(df, [])


def test_plot_balance_returns_axes_and_leaves_no_figure() -> None:
    table = balance(assigned_frame(), ["recency", "spend", "vip"])
    before = plt.get_fignums()
    fig, ax = plt.subplots()
    got = plot_balance(table, ax=ax)
    assert got is ax
    assert len(ax.collections) == 2  # one marker set per variant
    assert [t.get_text() for t in ax.get_yticklabels()] == ["recency", "spend", "vip"]
    xs = sorted({round(line.get_xdata()[0], 6) for line in ax.lines})
    assert xs == [-0.1, 0.0, 0.1]
    plt.close(fig)
    new_ax = plot_balance(table, threshold=0.25)
    assert sorted({round(line.get_xdata()[0], 6) for line in new_ax.lines}) == [-0.25, 0.0, 0.25]
    plt.close(new_ax.figure)
    assert plt.get_fignums() == before
    with pytest.raises(ColumnError, match="'smd'"):
        plot_balance(table.drop(columns="smd"))
    with pytest.raises(DataError, match="table is empty"):
        plot_balance(table.iloc[:0])
