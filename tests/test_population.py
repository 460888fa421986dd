"""Tests for abkit.population: RFM, status, segments, eligibility, exclusions and bad input."""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import abkit
from abkit.datasets import winback_campaign
from abkit.errors import ColumnError, DataError, ParameterError
from abkit.population import Population, SegmentRules, build_population, rfm

AS_OF = pd.Timestamp("2024-06-30")


def _tx(rows: list[tuple[object, str, float]]) -> pd.DataFrame:
    ids, dates, amounts = zip(*rows, strict=True)
    return pd.DataFrame(
        {
            "customer_id": list(ids),
            "order_date": pd.to_datetime(list(dates), format="ISO8601"),
            "amount": amounts,
        }
    )


def _days_before(days: int) -> str:
    return str((AS_OF - pd.Timedelta(days=days)).date())


# --------------------------------------------------------------------------------------------------
# RFM: hand-computed values
# --------------------------------------------------------------------------------------------------


def test_rfm_hand_computed_values() -> None:
    tx = _tx(
        [
            ("a", "2024-01-10", 10.0),
            ("a", "2024-06-30 23:59", 30.0),  # same calendar day as as_of: counts, recency 0
            ("a", "2024-07-01 00:00", 99.0),  # next day: after as_of, ignored and counted
            ("b", "2023-12-31", 5.0),
            ("c", "2024-03-01", 0.0),  # a free order is still an order
            ("c", "2024-03-01", 20.0),
            ("c", "2024-02-01", 25.0),
            ("d", "2024-08-01", 7.0),  # only after as_of: not a customer yet
        ]
    )
    t = rfm(tx, as_of="2024-06-30")
    assert t["customer_id"].tolist() == ["a", "b", "c"]
    assert t["first_purchase"].tolist() == [
        pd.Timestamp("2024-01-10"),
        pd.Timestamp("2023-12-31"),
        pd.Timestamp("2024-02-01"),
    ]
    assert t["last_purchase"].tolist() == [
        pd.Timestamp("2024-06-30 23:59"),
        pd.Timestamp("2023-12-31"),
        pd.Timestamp("2024-03-01"),
    ]
    # 2023-12-31 -> 2024-06-30: 1 (Dec 31) + 182 days of 2024 up to Jun 30 = 182; Mar 1 -> Jun 30 = 121.
    assert t["recency_days"].tolist() == [0, 182, 121]
    assert t["frequency"].tolist() == [2, 1, 3]
    assert t["monetary_total"].tolist() == [40.0, 5.0, 45.0]
    assert t["monetary_avg"].tolist() == [20.0, 5.0, 15.0]
    # n = 3: score = max(1, ceil(5 * (rank - 1) / 2)) -> ranks 1, 2, 3 give 1, 3, 5.
    assert t["r_score"].tolist() == [5, 1, 3]
    assert t["f_score"].tolist() == [3, 1, 5]
    assert t["m_score"].tolist() == [3, 1, 5]
    assert t["rfm_score"].tolist() == ["533", "111", "355"]
    assert t["rfm_total"].tolist() == [11, 3, 13]
    assert t.attrs["transactions"] == 8
    assert t.attrs["transactions_used"] == 6
    assert t.attrs["transactions_after_as_of"] == 2
    assert t.attrs["customers_only_after_as_of"] == 1
    assert t.attrs["refunds_excluded"] == 0
    assert t.attrs["as_of"] == AS_OF
    assert list(t.columns) == [
        "customer_id",
        "first_purchase",
        "last_purchase",
        "recency_days",
        "frequency",
        "monetary_total",
        "monetary_avg",
        "r_score",
        "f_score",
        "m_score",
        "rfm_score",
        "rfm_total",
    ]


def test_rfm_custom_columns_string_dates_and_as_of_types() -> None:
    tx = pd.DataFrame(
        {"cid": [7, 7, 8], "when": ["2024-06-01", "2024-06-20", "2024-05-31"], "eur": [1.5, 2.5, 4]}
    )
    expected = None
    for as_of in ("2024-06-30", pd.Timestamp("2024-06-30 08:00"), np.datetime64("2024-06-30"), AS_OF.date()):
        t = rfm(tx, as_of=as_of, id_col="cid", date_col="when", amount_col="eur")
        assert t["cid"].tolist() == [7, 8]
        assert t["recency_days"].tolist() == [10, 30]
        assert t["monetary_total"].tolist() == [4.0, 4.0]
        if expected is not None:
            pd.testing.assert_frame_equal(t, expected)
        expected = t


def test_rfm_parses_iso_strings_in_mixed_precision() -> None:
    tx = pd.DataFrame(
        {"customer_id": [1, 1], "order_date": ["2024-06-01", "2024-06-30T23:59:00"], "amount": [1.0, 2.0]}
    )
    t = rfm(tx, as_of=AS_OF)
    assert t["last_purchase"].tolist() == [pd.Timestamp("2024-06-30 23:59")]
    assert t["recency_days"].tolist() == [0]


def test_rfm_timezone_aware_dates_use_local_calendar_days() -> None:
    tx = _tx([(1, "2024-06-30 23:30", 1.0), (2, "2024-06-29 00:10", 1.0)])
    tx["order_date"] = tx["order_date"].dt.tz_localize("Asia/Tokyo")
    t = rfm(tx, as_of="2024-06-30")
    assert t["recency_days"].tolist() == [0, 1]
    assert str(t["last_purchase"].dt.tz) == "Asia/Tokyo"
    assert t["last_purchase"].iloc[0] == pd.Timestamp("2024-06-30 23:30", tz="Asia/Tokyo")


def test_rfm_refunds_exclude_counts_them() -> None:
    tx = _tx(
        [(1, "2024-06-01", 10.0), (1, "2024-06-02", -10.0), (2, "2024-06-03", -5.0), (3, "2024-07-02", -1)]
    )
    t = rfm(tx, as_of=AS_OF, refunds="exclude")
    assert t["customer_id"].tolist() == [1]
    assert t["frequency"].tolist() == [1]
    assert t.attrs["refunds_excluded"] == 2  # the July refund is after as_of and counted there
    assert t.attrs["transactions_after_as_of"] == 1
    assert t.attrs["customers_only_refunds"] == 1
    assert t.attrs["customers_only_after_as_of"] == 1


# --------------------------------------------------------------------------------------------------
# quintile scores against an independent computation (pandas.qcut on ranks)
# --------------------------------------------------------------------------------------------------


def _qcut_scores(goodness: pd.Series) -> np.ndarray:
    """Independent reference: qcut of first-ranks into 5 bins, then the lowest score within each tie."""
    ranks = goodness.rank(method="first")
    if len(goodness) == 1:
        return np.array([1])
    q = pd.qcut(ranks, 5, labels=[1, 2, 3, 4, 5]).astype(int)
    return q.groupby(goodness.to_numpy()).transform("min").to_numpy()


def _rfm_frame_from_values(recency: np.ndarray, freq: np.ndarray, money: np.ndarray) -> pd.DataFrame:
    rows = []
    for i, (r, f, m) in enumerate(zip(recency, freq, money, strict=True)):
        day = AS_OF - pd.Timedelta(days=int(r))
        rows += [(i, day, float(m))] + [(i, day, 0.0)] * (int(f) - 1)
    return pd.DataFrame(rows, columns=["customer_id", "order_date", "amount"])


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6, 7, 10, 11, 13, 26, 101])
def test_scores_match_qcut_without_ties(n: int) -> None:
    rng = np.random.default_rng(n)
    recency = rng.permutation(n) * 3
    freq = rng.permutation(n) + 1
    money = rng.permutation(n) * 1.25 + 0.5
    t = rfm(_rfm_frame_from_values(recency, freq, money), as_of=AS_OF)
    assert t["r_score"].tolist() == _qcut_scores(-t["recency_days"]).tolist()
    assert t["f_score"].tolist() == _qcut_scores(t["frequency"]).tolist()
    assert t["m_score"].tolist() == _qcut_scores(t["monetary_total"]).tolist()
    # without ties every quintile holds floor(n/5) or ceil(n/5) customers when n >= 5
    if n >= 5:
        sizes = t["m_score"].value_counts()
        assert sizes.min() >= n // 5 and sizes.max() <= -(-n // 5) + 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.integers(0, 40), st.integers(1, 4), st.sampled_from([0.0, 5.0, 10.0, 12.5, 99.0])),
        min_size=1,
        max_size=40,
    )
)
def test_scores_match_qcut_with_ties(values: list[tuple[int, int, float]]) -> None:
    recency, freq, money = (np.array(v) for v in zip(*values, strict=True))
    t = rfm(_rfm_frame_from_values(recency, freq, money), as_of=AS_OF)
    assert t["recency_days"].tolist() == recency.tolist()
    assert t["frequency"].tolist() == freq.tolist()
    assert t["r_score"].tolist() == _qcut_scores(-t["recency_days"]).tolist()
    assert t["f_score"].tolist() == _qcut_scores(t["frequency"]).tolist()
    assert t["m_score"].tolist() == _qcut_scores(t["monetary_total"]).tolist()
    for col in ("r_score", "f_score", "m_score"):
        assert t[col].between(1, 5).all()


def test_all_tied_and_single_customer_score_one() -> None:
    t = rfm(_tx([(1, "2024-06-01", 5.0), (2, "2024-06-01", 5.0), (3, "2024-06-01", 5.0)]), as_of=AS_OF)
    assert t["rfm_score"].tolist() == ["111"] * 3
    one = rfm(_tx([(1, "2024-06-01", 5.0)]), as_of=AS_OF)
    assert one["rfm_score"].tolist() == ["111"]


# --------------------------------------------------------------------------------------------------
# RFM against a plain-Python reference, and row-order independence
# --------------------------------------------------------------------------------------------------

_amounts = st.floats(min_value=0, max_value=1000, allow_nan=False, allow_infinity=False)
_transactions = st.lists(
    st.tuples(st.integers(0, 12), st.integers(-30, 900), _amounts),  # (id, days before as_of, amount)
    min_size=1,
    max_size=60,
)


def _frame(rows: list[tuple[int, int, float]]) -> pd.DataFrame:
    base = AS_OF + pd.Timedelta(hours=13)
    return pd.DataFrame(
        {
            "customer_id": [f"c{i:02d}" for i, _, _ in rows],
            "order_date": [base - pd.Timedelta(days=d) for _, d, _ in rows],
            "amount": [a for _, _, a in rows],
        }
    )


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_transactions)
def test_rfm_matches_plain_python(rows: list[tuple[int, int, float]]) -> None:
    if all(d < 0 for _, d, _ in rows):
        rows = [*rows, (0, 0, 1.0)]
    t = rfm(_frame(rows), as_of=AS_OF)
    ref: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for i, d, a in rows:
        if d >= 0:
            ref[f"c{i:02d}"].append((d, a))
    assert t["customer_id"].tolist() == sorted(ref)
    for row in t.itertuples():
        orders = ref[row.customer_id]
        assert row.recency_days == min(d for d, _ in orders)
        assert row.frequency == len(orders)
        assert math.isclose(row.monetary_total, math.fsum(a for _, a in orders), rel_tol=1e-12, abs_tol=1e-9)
        assert row.first_purchase == AS_OF + pd.Timedelta(hours=13) - pd.Timedelta(
            days=max(d for d, _ in orders)
        )
    assert t.attrs["transactions_after_as_of"] == sum(d < 0 for _, d, _ in rows)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_transactions, st.randoms(use_true_random=False))
def test_population_does_not_depend_on_row_order(rows: list[tuple[int, int, float]], rnd) -> None:
    if all(d < 0 for _, d, _ in rows):
        rows = [*rows, (0, 0, 1.0)]
    tx = _frame(rows)
    shuffled = tx.iloc[rnd.sample(range(len(tx)), len(tx))].reset_index(drop=True)
    ids = sorted(set(tx["customer_id"]))
    cust = pd.DataFrame({"customer_id": ids, "opted_out": [i.endswith("3") for i in ids]})
    cust = cust.assign(complained=False, hard_bounced=False)
    cust_shuffled = cust.iloc[rnd.sample(range(len(cust)), len(cust))]
    kw = {"as_of": AS_OF, "dormant_after": 60, "lapsed_after": 400}
    a = build_population(tx, customers=cust, **kw)
    b = build_population(shuffled, customers=cust_shuffled, **kw)
    pd.testing.assert_frame_equal(a.customers, b.customers, check_exact=True)
    pd.testing.assert_frame_equal(a.eligible, b.eligible, check_exact=True)
    pd.testing.assert_frame_equal(a.exclusions, b.exclusions)
    pd.testing.assert_frame_equal(a.to_pandas(), b.to_pandas())
    assert pd.Series(a.segment_thresholds).equals(pd.Series(b.segment_thresholds))
    # same inputs, same result
    pd.testing.assert_frame_equal(a.customers, build_population(tx, customers=cust, **kw).customers)


def test_equal_amount_multisets_give_bit_identical_totals() -> None:
    # 0.1 + 0.2 + 0.3 != 0.3 + 0.2 + 0.1 in floating point; amounts are summed in sorted order.
    tx = _tx(
        [(1, "2024-06-01", a) for a in (0.1, 0.2, 0.3)] + [(2, "2024-06-01", a) for a in (0.3, 0.2, 0.1)]
    )
    t = rfm(tx, as_of=AS_OF)
    assert t["monetary_total"].iloc[0] == t["monetary_total"].iloc[1]
    assert t["m_score"].iloc[0] == t["m_score"].iloc[1]


# --------------------------------------------------------------------------------------------------
# status at the thresholds
# --------------------------------------------------------------------------------------------------


def test_status_boundaries() -> None:
    recencies = {1: 0, 2: 179, 3: 180, 4: 729, 5: 730, 6: 2000}
    tx = _tx([(cid, _days_before(r), 10.0) for cid, r in recencies.items()])
    pop = build_population(tx, as_of=AS_OF, dormant_after=180, lapsed_after=730)
    c = pop.customers
    assert c["recency_days"].tolist() == list(recencies.values())
    assert c["status"].tolist() == ["active", "active", "dormant", "dormant", "lapsed", "lapsed"]
    assert c["segment"].isna().tolist() == [True, True, False, False, True, True]
    assert pop.status_counts() == {"active": 2, "dormant": 2, "lapsed": 2}

    never = build_population(tx, as_of=AS_OF, dormant_after=180, lapsed_after=None)
    assert never.customers["status"].tolist() == ["active", "active"] + ["dormant"] * 4
    assert "lapsed after never" in str(never)


def test_lapsed_flags_force_lapsed_whatever_the_recency() -> None:
    tx = _tx([(1, _days_before(5), 10.0), (2, _days_before(200), 10.0), (3, _days_before(300), 10.0)])
    cust = pd.DataFrame(
        {
            "customer_id": [1, 2, 3],
            "cancelled": [True, False, False],
            "complained": [0, 1, 0],
            "opted_out": False,
            "hard_bounced": False,
        }
    )
    pop = build_population(tx, as_of=AS_OF, customers=cust, lapsed_flag_col=["cancelled", "complained"])
    assert pop.customers["status"].tolist() == ["lapsed", "lapsed", "dormant"]
    assert pop.customers["cancelled"].tolist() == [True, False, False]
    assert pop.eligible["customer_id"].tolist() == [3]
    single = build_population(tx, as_of=AS_OF, customers=cust, lapsed_flag_col="cancelled")
    assert single.customers["status"].tolist() == ["lapsed", "dormant", "dormant"]
    assert single.lapsed_flag_col == ("cancelled",)


# --------------------------------------------------------------------------------------------------
# segments
# --------------------------------------------------------------------------------------------------


def _dormant_tx() -> pd.DataFrame:
    d = _days_before(200)
    rows = [
        (1, d, 100.0),  # avg 100, 1 order: high_value beats one_time
        (2, d, 10.0),  # one_time
        (3, d, 10.0),
        (3, d, 20.0),  # 2 orders, avg 15: other
        (4, d, 10.0),
        (4, d, 10.0),
        (4, d, 10.0),  # 3 orders, avg 10: high_frequency
        (5, d, 80.0),
        (5, d, 80.0),
        (5, d, 80.0),  # 3 orders, avg 80: high_value beats high_frequency
        (6, _days_before(10), 500.0),  # active: no segment, and not in the dormant quantile
    ]
    return _tx(rows)


def test_segments_with_default_rules() -> None:
    pop = build_population(_dormant_tx(), as_of=AS_OF)
    c = pop.customers
    assert c["segment"].tolist()[:5] == [
        "high_value",
        "one_time",
        "other",
        "high_frequency",
        "high_frequency",
    ]
    assert pd.isna(c["segment"].iloc[5])
    # quantile 0.8 (type 7) of dormant averages [100, 10, 15, 10, 80]: sorted 10,10,15,80,100 ->
    # position 0.8 * 4 = 3.2 -> 80 + 0.2 * 20 = 84.
    assert pop.segment_thresholds["high_value"] == pytest.approx(84.0, rel=1e-12)
    assert pop.segment_thresholds["high_value"] == pytest.approx(np.quantile([100, 10, 15, 10, 80], 0.8))
    assert pop.segment_thresholds["high_frequency"] == 3.0
    # customer 5 (average 80 < 84, 3 orders) is therefore high_frequency, not high_value


def test_segments_with_absolute_thresholds_and_precedence() -> None:
    rules = SegmentRules(high_value_threshold=80.0, high_frequency_threshold=3)
    c = build_population(_dormant_tx(), as_of=AS_OF, segment_rules=rules).customers
    assert c["segment"].tolist()[:5] == ["high_value", "one_time", "other", "high_frequency", "high_value"]

    freq_first = SegmentRules(
        high_value_threshold=80.0, precedence=("high_frequency", "high_value", "one_time")
    )
    c = build_population(_dormant_tx(), as_of=AS_OF, segment_rules=freq_first).customers
    assert c["segment"].tolist()[:5] == [
        "high_value",
        "one_time",
        "other",
        "high_frequency",
        "high_frequency",
    ]

    no_value = SegmentRules(precedence=("one_time",))
    c = build_population(_dormant_tx(), as_of=AS_OF, segment_rules=no_value).customers
    assert c["segment"].tolist()[:5] == ["one_time", "one_time", "other", "other", "other"]

    total = SegmentRules(high_value_threshold=200.0, value_measure="monetary_total")
    c = build_population(_dormant_tx(), as_of=AS_OF, segment_rules=total).customers
    assert c["segment"].tolist()[:5] == ["one_time", "one_time", "other", "high_frequency", "high_value"]


def test_high_frequency_quantile_never_below_two_orders() -> None:
    rules = SegmentRules(
        high_frequency_threshold=None, high_frequency_quantile=0.5, precedence=("high_frequency",)
    )
    pop = build_population(_dormant_tx(), as_of=AS_OF, segment_rules=rules)
    # median of dormant frequencies [1, 1, 2, 3, 3] is 2
    assert pop.segment_thresholds["high_frequency"] == 2.0
    assert pop.customers["segment"].tolist()[:5] == ["other", "other"] + ["high_frequency"] * 3
    ones = _tx([(i, _days_before(300), 5.0) for i in range(4)])
    pop = build_population(ones, as_of=AS_OF, segment_rules=rules)
    assert pop.segment_thresholds["high_frequency"] == 2.0  # quantile is 1, floored at 2
    assert set(pop.customers["segment"]) == {"other"}


def test_no_dormant_customers() -> None:
    pop = build_population(_tx([(1, _days_before(1), 5.0)]), as_of=AS_OF)
    assert pop.n_eligible == 0
    assert len(pop.eligible) == 0
    assert math.isnan(pop.segment_thresholds["high_value"])
    assert pop.to_pandas()["eligible"].sum() == 0


# --------------------------------------------------------------------------------------------------
# eligibility and exclusions
# --------------------------------------------------------------------------------------------------


def _excl_data() -> tuple[pd.DataFrame, pd.DataFrame]:
    dorm = _days_before(300)
    tx = _tx(
        [
            (1, dorm, 10.0),  # eligible
            (2, dorm, 10.0),  # opted out and complained: counted once, as opted_out (first in exclude)
            (3, dorm, 10.0),  # complained
            (4, dorm, 10.0),  # hard bounced
            (5, _days_before(3), 10.0),  # active and opted out: not counted as a dormant exclusion
            (6, dorm, 10.0),  # not in the customers table
            (7, "2024-09-01", 10.0),  # only after as_of
        ]
    )
    cust = pd.DataFrame(
        {
            "customer_id": [1, 2, 3, 4, 5, 8, 9],  # 8, 9: no transaction at all
            "opted_out": [False, True, False, False, True, False, False],
            "complained": [False, True, True, False, False, False, False],
            "hard_bounced": [False, False, False, True, False, False, False],
        }
    )
    return tx, cust


def test_exclusions_counted_by_first_reason() -> None:
    tx, cust = _excl_data()
    pop = build_population(tx, as_of=AS_OF, customers=cust, unknown_customers="keep")
    c = pop.customers.set_index("customer_id")
    assert c["exclusion_reason"].isna().tolist() == [True, False, False, False, False, True]
    assert c.loc[[2, 3, 4, 5], "exclusion_reason"].tolist() == [
        "opted_out",
        "complained",
        "hard_bounced",
        "opted_out",
    ]
    assert c["eligible"].to_dict() == {1: True, 2: False, 3: False, 4: False, 5: False, 6: True}
    assert c["in_customers_table"].to_dict() == {1: True, 2: True, 3: True, 4: True, 5: True, 6: False}
    assert pop.eligible["customer_id"].tolist() == [1, 6]
    assert list(pop.eligible.columns[:2]) == ["customer_id", "segment"]
    ex = pop.exclusions.set_index("reason")["count"].to_dict()
    assert ex == {
        "transactions_after_as_of": 1,
        "refunds_excluded": 0,
        "customers_only_after_as_of": 1,
        "customers_only_refunds": 0,
        "customers_without_transactions": 2,
        "not_in_customers_table": 1,
        "opted_out": 1,
        "complained": 1,
        "hard_bounced": 1,
    }
    summary = pop.to_pandas()
    total = summary[summary["status"] == "total"].iloc[0]
    assert (total["customers"], total["excluded"], total["eligible"]) == (6, 3, 2)
    dormant = summary[summary["status"] == "dormant"]
    assert dormant["customers"].sum() == 5
    assert dormant["excluded"].sum() == ex["opted_out"] + ex["complained"] + ex["hard_bounced"]
    assert dormant["eligible"].sum() == pop.n_eligible


def test_customers_absent_from_the_customers_table_are_excluded_by_default() -> None:
    # their opt-out status is unknown: never contact them unless asked to (unknown_customers="keep")
    tx, cust = _excl_data()
    pop = build_population(tx, as_of=AS_OF, customers=cust)
    assert pop.eligible["customer_id"].tolist() == [1]
    row = pop.exclusions.set_index("reason").loc["not_in_customers_table"]
    assert row["count"] == 1 and row["effect"].endswith("excluded")


def test_unknown_customers_policies() -> None:
    tx, cust = _excl_data()
    pop = build_population(tx, as_of=AS_OF, customers=cust, unknown_customers="exclude")
    assert pop.eligible["customer_id"].tolist() == [1]
    c = pop.customers.set_index("customer_id")
    assert c.loc[6, "exclusion_reason"] == "not_in_customers_table"
    row = pop.exclusions.set_index("reason").loc["not_in_customers_table"]
    assert row["count"] == 1 and "excluded" in row["effect"]
    with pytest.raises(DataError, match=r"not in the customers table.*'customer_id'.*6"):
        build_population(tx, as_of=AS_OF, customers=cust, unknown_customers="error")


def test_custom_and_empty_exclude() -> None:
    tx, cust = _excl_data()
    pop = build_population(tx, as_of=AS_OF, customers=cust, exclude="hard_bounced")
    assert pop.eligible["customer_id"].tolist() == [1, 2, 3]  # 6 is not in the customers table
    pop = build_population(
        tx, as_of=AS_OF, customers=cust[["customer_id"]], exclude=None, unknown_customers="keep"
    )
    assert pop.eligible["customer_id"].tolist() == [1, 2, 3, 4, 6]


def test_without_customers_table_says_no_suppression() -> None:
    tx, _ = _excl_data()
    pop = build_population(tx, as_of=AS_OF)
    assert not pop.suppression_applied
    assert "no opted-out" in str(pop)
    assert pop.eligible["customer_id"].tolist() == [1, 2, 3, 4, 6]


# --------------------------------------------------------------------------------------------------
# the result object
# --------------------------------------------------------------------------------------------------


def test_population_result_object() -> None:
    tx, cust = _excl_data()
    pop = build_population(tx, as_of="2024-06-30", customers=cust)
    assert isinstance(pop, Population)
    assert repr(pop) == "Population(as_of=2024-06-30, customers=6, active=1, dormant=5, lapsed=0, eligible=1)"
    text = pop.summary()
    assert "dormant after 180 days" in text and "Exclusions" in text and "hard_bounced" in text
    assert "transactions_after_as_of: 1 transactions" in str(pop)
    assert "<table" in pop._repr_html_()
    assert "**Population as of 2024-06-30" in pop._repr_markdown_()
    assert pop.as_of == AS_OF and pop.dormant_after == 180 and pop.lapsed_after == 730
    assert pop.exclude == ("opted_out", "complained", "hard_bounced")
    table = pop.to_pandas()
    assert list(table.columns) == ["status", "segment", "customers", "excluded", "eligible"]
    assert table["status"].tolist() == ["active"] + ["dormant"] * 4 + ["lapsed", "total"]
    pd.testing.assert_frame_equal(pop.table, table)
    # immutable: changing what it hands out does not change it
    c = pop.customers
    c["status"] = "x"
    c.pop("eligible")
    e = pop.eligible
    e.loc[0, "segment"] = "tampered"
    assert set(pop.customers["status"]) == {"active", "dormant"}
    assert "tampered" not in set(pop.eligible["segment"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        pop.as_of = AS_OF  # type: ignore[misc]
    with pytest.raises(TypeError):
        pop.segment_thresholds["high_value"] = 0.0  # type: ignore[index]


def test_public_names() -> None:
    assert abkit.rfm is rfm
    assert abkit.build_population is build_population
    assert abkit.Population is Population
    assert abkit.SegmentRules is SegmentRules


# --------------------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------------------


def _ok_tx() -> pd.DataFrame:
    return _tx([(1, "2024-01-01", 10.0), (2, "2024-02-01", 5.0)])


def test_null_ids_in_transactions() -> None:
    tx = _ok_tx().astype({"customer_id": "float"})
    tx.loc[1, "customer_id"] = np.nan
    with pytest.raises(DataError, match=r"'customer_id' has 1 null id"):
        rfm(tx, as_of=AS_OF)


def test_null_and_duplicate_ids_in_customers() -> None:
    cust = pd.DataFrame(
        {"customer_id": [1, 2, 2], "opted_out": False, "complained": False, "hard_bounced": False}
    )
    with pytest.raises(DataError, match=r"customers column 'customer_id' has 1 duplicated id.*\b2\b"):
        build_population(_ok_tx(), as_of=AS_OF, customers=cust)
    cust = pd.DataFrame(
        {"customer_id": [1.0, np.nan], "opted_out": False, "complained": False, "hard_bounced": False}
    )
    with pytest.raises(DataError, match=r"customers column 'customer_id' has 1 null id"):
        build_population(_ok_tx(), as_of=AS_OF, customers=cust)


@pytest.mark.parametrize("column", ["customer_id", "order_date", "amount"])
def test_missing_transaction_columns(column: str) -> None:
    with pytest.raises(ColumnError, match=rf"transactions lacks column\(s\) '{column}'"):
        rfm(_ok_tx().drop(columns=column), as_of=AS_OF)
    with pytest.raises(ColumnError, match=rf"'{column}'"):
        build_population(_ok_tx().drop(columns=column), as_of=AS_OF)


def test_missing_customer_columns() -> None:
    with pytest.raises(ColumnError, match=r"customers lacks column\(s\) 'customer_id'"):
        build_population(_ok_tx(), as_of=AS_OF, customers=pd.DataFrame({"id": [1]}))
    cust = pd.DataFrame({"customer_id": [1, 2], "opted_out": False})
    with pytest.raises(ColumnError, match=r"'complained', 'hard_bounced'"):
        build_population(_ok_tx(), as_of=AS_OF, customers=cust)
    with pytest.raises(ColumnError, match=r"'cancelled'"):
        build_population(
            _ok_tx(), as_of=AS_OF, customers=cust, exclude="opted_out", lapsed_flag_col="cancelled"
        )


def test_unparseable_dates_name_column_and_example() -> None:
    tx = pd.DataFrame({"customer_id": [1, 2, 3], "order_date": ["2024-01-01", "2024-02-01", "yesterday-ish"]})
    tx["amount"] = 1.0
    with pytest.raises(
        DataError, match=r"'order_date' has values that cannot be parsed as dates, e\.g\. 'yesterday-ish'"
    ):
        rfm(tx, as_of=AS_OF)
    tx = _ok_tx().assign(order_date=[20240101, 20240201])
    with pytest.raises(DataError, match=r"'order_date' holds int64 numbers, not dates"):
        rfm(tx, as_of=AS_OF)
    tx = _ok_tx()
    tx.loc[1, "order_date"] = pd.NaT
    with pytest.raises(DataError, match=r"'order_date' has 1 missing date"):
        rfm(tx, as_of=AS_OF)


def test_negative_amounts_must_be_explicit() -> None:
    tx = _tx([(1, "2024-01-01", 10.0), (1, "2024-01-05", -10.0)])
    with pytest.raises(
        DataError,
        match=r"'amount' has 1 negative amount.*-10\.0.*refunds must be explicit.*refunds='exclude'",
    ):
        rfm(tx, as_of=AS_OF)
    with pytest.raises(DataError, match=r"refunds must be explicit"):
        build_population(tx, as_of=AS_OF)


def test_bad_amount_values() -> None:
    with pytest.raises(DataError, match=r"'amount' must be numeric.*pd\.to_numeric"):
        rfm(_ok_tx().assign(amount=["10", "5"]), as_of=AS_OF)
    with pytest.raises(DataError, match=r"'amount' has 1 missing or infinite"):
        rfm(_ok_tx().assign(amount=[1.0, np.nan]), as_of=AS_OF)
    with pytest.raises(DataError, match=r"'amount' has 1 missing or infinite"):
        rfm(_ok_tx().assign(amount=[1.0, np.inf]), as_of=AS_OF)


def test_as_of_before_the_data_starts() -> None:
    with pytest.raises(
        ParameterError, match=r"as_of=2023-12-31 is before the data starts.*'order_date'.*2024-01-01"
    ):
        rfm(_ok_tx(), as_of="2023-12-31")
    with pytest.raises(ParameterError, match=r"before the data starts"):
        build_population(_ok_tx(), as_of="2023-06-30")
    assert len(rfm(_ok_tx(), as_of="2024-01-01")) == 1  # on the first day is fine


@pytest.mark.parametrize(
    "bad", [20240630, 1.5, None, True, "not a date", "2024-13-45", pd.NaT, ["2024-06-30"]]
)
def test_as_of_not_a_date(bad: object) -> None:
    with pytest.raises(ParameterError, match=r"as_of"):
        rfm(_ok_tx(), as_of=bad)


def test_as_of_time_zone_mismatch() -> None:
    with pytest.raises(ParameterError, match=r"as_of=.*has a time zone but 'order_date' has none"):
        rfm(_ok_tx(), as_of=pd.Timestamp("2024-06-30", tz="UTC"))


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"dormant_after": 0}, r"dormant_after must be a positive whole number of days, got 0"),
        ({"dormant_after": -30}, r"dormant_after must be a positive"),
        ({"dormant_after": 90.5}, r"dormant_after must be a positive whole number"),
        ({"dormant_after": True}, r"dormant_after"),
        ({"dormant_after": "180"}, r"dormant_after"),
        ({"lapsed_after": 0}, r"lapsed_after must be a positive"),
        ({"lapsed_after": 180}, r"lapsed_after=180 must be greater than dormant_after=180"),
        (
            {"dormant_after": 400, "lapsed_after": 365},
            r"lapsed_after=365 must be greater than dormant_after=400",
        ),
        ({"refunds": "net"}, r"refunds='net' is not known"),
        ({"unknown_customers": "drop"}, r"unknown_customers='drop' is not known"),
        ({"segment_rules": {"high_value_quantile": 0.9}}, r"segment_rules must be a SegmentRules"),
        ({"lapsed_flag_col": "cancelled"}, r"lapsed_flag_col='cancelled' needs a customers table"),
        ({"exclude": [1, 2]}, r"exclude must be a column name"),
        ({"customers": [1, 2]}, r"customers must be a pandas DataFrame"),
        ({"id_col": 3}, r"id_col must be a column name"),
    ],
)
def test_bad_parameters(kwargs: dict, pattern: str) -> None:
    with pytest.raises(ParameterError, match=pattern):
        build_population(_ok_tx(), as_of=AS_OF, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        (
            {"high_value_quantile": 1.0},
            r"SegmentRules.high_value_quantile must be a number strictly between 0 and 1",
        ),
        ({"high_value_quantile": 0}, r"high_value_quantile"),
        ({"high_frequency_quantile": 1.5}, r"high_frequency_quantile"),
        ({"high_value_threshold": -5}, r"SegmentRules.high_value_threshold must be a positive"),
        ({"high_frequency_threshold": float("nan")}, r"high_frequency_threshold"),
        ({"high_value_quantile": None}, r"needs high_value_threshold or high_value_quantile"),
        ({"high_frequency_threshold": None}, r"needs high_frequency_threshold or high_frequency_quantile"),
        ({"value_measure": "recency"}, r"SegmentRules.value_measure='recency' is not known"),
        ({"precedence": ("high_value", "vip")}, r"SegmentRules.precedence=.*'vip'"),
        ({"precedence": ("one_time", "one_time")}, r"distinct names"),
    ],
)
def test_bad_segment_rules(kwargs: dict, pattern: str) -> None:
    with pytest.raises(ParameterError, match=pattern):
        SegmentRules(**kwargs)


def test_bad_tables() -> None:
    with pytest.raises(ParameterError, match=r"transactions must be a pandas DataFrame"):
        rfm({"customer_id": [1]}, as_of=AS_OF)  # type: ignore[arg-type]
    with pytest.raises(DataError, match=r"transactions is empty"):
        rfm(_ok_tx().iloc[:0], as_of=AS_OF)


def test_bad_flag_columns() -> None:
    cust = pd.DataFrame(
        {"customer_id": [1, 2], "opted_out": [False, None], "complained": False, "hard_bounced": False}
    )
    with pytest.raises(DataError, match=r"'opted_out' has 1 missing value.*fillna\(False\)"):
        build_population(_ok_tx(), as_of=AS_OF, customers=cust)
    cust = cust.assign(opted_out=["no", "yes"])
    with pytest.raises(DataError, match=r"'opted_out' must hold True/False.*'no'"):
        build_population(_ok_tx(), as_of=AS_OF, customers=cust)
    cust = cust.assign(opted_out=[0, 2])
    with pytest.raises(DataError, match=r"'opted_out' must hold True/False.*2"):
        build_population(_ok_tx(), as_of=AS_OF, customers=cust)


def test_ids_of_different_types_do_not_match() -> None:
    cust = pd.DataFrame(
        {"customer_id": ["1", "2"], "opted_out": False, "complained": False, "hard_bounced": False}
    )
    with pytest.raises(DataError, match=r"no 'customer_id' of the transactions appears in customers.*int64"):
        build_population(_ok_tx(), as_of=AS_OF, customers=cust)


def test_integer_and_float_ranking_paths_agree() -> None:
    from abkit.population import _quintile_scores

    rng = np.random.default_rng(7)
    for values in (rng.integers(0, 30, 200), rng.integers(0, 10_000, 50), np.array([3, 3, 3, 1])):
        expected = _qcut_scores(pd.Series(values))
        assert _quintile_scores(values).tolist() == expected.tolist()
        assert _quintile_scores(values.astype(float)).tolist() == expected.tolist()


def test_agrees_with_the_synthetic_shop_segmentation() -> None:
    # abkit.datasets draws its standalone assignment with its own (separately written) implementation
    # of the default status, exclusion and segment rules; both must pick the same customers and segments.
    shop = winback_campaign(3000, seed=3)
    pop = build_population(
        shop.transactions,
        as_of=shop.send_date,
        customers=shop.customers,
        lapsed_flag_col=["cancelled", "complained"],
    )
    theirs = shop.assignment.set_index("customer_id")["segment"].sort_index()
    ours = pop.eligible.set_index("customer_id")["segment"].sort_index()
    pd.testing.assert_series_equal(ours, theirs, check_dtype=False)
