"""Tests of abkit.datasets: determinism, realistic rates, planted effects, messy rows, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from abkit.datasets import (
    DEFAULT_SEGMENT_RATES,
    EVENT_TYPES,
    SEGMENTS,
    default_messy_counts,
    simulate_events,
    true_rates,
    winback_campaign,
)
from abkit.errors import ColumnError, DataError, FileExistsAbkitError, ParameterError
from abkit.population import build_population

SEND = pd.Timestamp("2026-06-01")
FLAGS = ["repurchased", "delivered", "opened", "clicked", "unsubscribed", "complained"]


@pytest.fixture(scope="module")
def big():
    return winback_campaign(200_000, seed=11)


@pytest.fixture(scope="module")
def big_out(big):
    return clean_outcomes(big.assignment, big.events, big.send_date)


@pytest.fixture(scope="module")
def mid():
    return winback_campaign(40_000, seed=3)


def clean_outcomes(assigned: pd.DataFrame, events: pd.DataFrame, send: pd.Timestamp, days: int = 14):
    """Per-customer outcomes, computed here independently of abkit.outcomes."""
    end = send + pd.Timedelta(days=days)
    ev = events[events.customer_id.isin(assigned.customer_id)]
    ev = ev[(ev.timestamp >= send) & (ev.timestamp < end)].drop_duplicates()
    flags = pd.crosstab(ev.customer_id, ev.event).gt(0)
    out = assigned.set_index("customer_id")[["segment", "variant"]].copy()
    names = {"purchased": "repurchased"}
    for event in EVENT_TYPES:
        col = names.get(event, event)
        out[col] = flags[event].reindex(out.index, fill_value=False) if event in flags else False
    revenue = ev[ev.event == "purchased"].groupby("customer_id").amount.sum()
    out["revenue"] = revenue.reindex(out.index, fill_value=0.0)
    return out.reset_index()


def rate(out: pd.DataFrame, metric: str, segment: str, variant: str) -> tuple[int, int]:
    cell = out[(out.segment == segment) & (out.variant == variant)]
    return int(cell[metric].sum()), len(cell)


# ---------------------------------------------------------------------------- determinism


def test_same_seed_same_frames_other_seed_other_frames():
    a, b, c = (
        winback_campaign(3_000, seed=5),
        winback_campaign(3_000, seed=5),
        winback_campaign(3_000, seed=6),
    )
    for name in ("transactions", "customers", "assignment", "events", "truth"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert a.messy == b.messy
    assert not a.transactions.equals(c.transactions)
    assert not a.events.equals(c.events)


def test_simulate_events_is_deterministic_and_seed_sensitive(mid):
    kw = {"send_date": "2026-06-01"}
    e1 = simulate_events(mid.assignment, seed=1, **kw)
    pd.testing.assert_frame_equal(e1, simulate_events(mid.assignment, seed=1, **kw))
    assert not e1.equals(simulate_events(mid.assignment, seed=2, **kw))


# ---------------------------------------------------------------------------- shapes and history


def test_frames_have_the_shared_columns_and_dtypes(mid):
    tx, cust, asg, ev = mid.transactions, mid.customers, mid.assignment, mid.events
    assert list(tx.columns) == ["customer_id", "order_date", "amount"]
    assert tx.order_date.dtype == "datetime64[ns]" and (tx.amount > 0).all()
    assert list(cust.columns) == [
        "customer_id",
        "email",
        "opted_out",
        "complained",
        "hard_bounced",
        "cancelled",
    ]
    assert cust.customer_id.is_unique and len(cust) == 40_000
    assert all(cust[f].dtype == bool for f in ["opted_out", "complained", "hard_bounced", "cancelled"])
    assert list(asg.columns) == ["customer_id", "segment", "variant"] and asg.customer_id.is_unique
    assert list(ev.columns) == ["customer_id", "event", "timestamp", "amount"]
    assert set(ev.event) <= set(EVENT_TYPES) and ev.timestamp.dtype == "datetime64[ns]"
    assert ev.timestamp.is_monotonic_increasing
    assert ev[ev.event != "purchased"].amount.isna().all()
    assert (ev[ev.event == "purchased"].amount > 0).all()
    assert mid.as_of == mid.send_date == SEND and mid.window_end == SEND + pd.Timedelta(days=14)


def test_history_mix_is_realistic(mid):
    tx, cust = mid.transactions, mid.customers
    as_of = mid.as_of
    assert tx.order_date.max() < as_of
    assert tx.order_date.min() >= as_of - pd.Timedelta(days=1095)
    g = tx.groupby("customer_id")
    recency = (as_of - g.order_date.max()).dt.days
    freq = g.size()
    aov = g.amount.mean()
    assert len(freq) == len(cust)  # every customer has bought at least once
    dormant = ((recency >= 180) & (recency < 730)).mean()
    assert 0.45 < dormant < 0.65
    assert 0.2 < (recency < 180).mean() < 0.35 and 0.1 < (recency >= 730).mean() < 0.25
    assert 0.35 < (freq == 1).mean() < 0.45  # one-time buyers
    assert (freq >= 6).mean() > 0.1  # high-frequency buyers
    assert aov.quantile(0.95) > 3 * aov.median()  # a high-value tail
    for flag, p in [
        ("opted_out", 0.04),
        ("complained", 0.006),
        ("hard_bounced", 0.015),
        ("cancelled", 0.012),
    ]:
        k = int(cust[flag].sum())
        assert stats.binomtest(k, len(cust), p).pvalue > 1e-4, flag


def test_assignment_is_the_eligible_dormant_population_split_exactly(mid):
    tx, cust, asg = mid.transactions, mid.customers, mid.assignment
    g = tx.groupby("customer_id")
    recency = (mid.as_of - g.order_date.max()).dt.days
    c = cust.set_index("customer_id")
    dormant = (recency >= 180) & (recency < 730) & ~c.cancelled & ~c.complained
    eligible = dormant & ~c.opted_out & ~c.hard_bounced
    assert set(asg.customer_id) == set(eligible[eligible].index)
    assert set(asg.segment) == set(SEGMENTS)
    counts = asg.groupby(["segment", "variant"]).size().unstack()
    share = pd.Series(mid.variants) / sum(mid.variants.values())
    expected = counts.sum(axis=1).to_numpy()[:, None] * share[counts.columns].to_numpy()[None, :]
    assert np.all(np.abs(counts.to_numpy() - expected) < 1)  # exact within each segment


def test_segments_match_build_population_defaults(mid):
    pop = build_population(
        mid.transactions,
        as_of=mid.as_of,
        customers=mid.customers,
        lapsed_flag_col=("cancelled", "complained"),
    )
    mine = mid.assignment.set_index("customer_id").segment
    theirs = pop.eligible.set_index("customer_id").segment.astype(str)
    assert set(mine.index) == set(theirs.index)
    assert (mine == theirs.reindex(mine.index)).all()


# ---------------------------------------------------------------------------- rates and truth


def test_funnel_rates_are_realistic(big, big_out):
    out = big_out
    mailed = out[out.variant != "holdout"]
    assert 0.15 < mailed.opened.mean() < 0.25
    assert 0.02 < mailed.clicked.mean() < 0.04
    assert 0.97 < mailed.delivered.mean() < 0.99
    assert not (mailed.clicked & ~mailed.opened).any() and not (mailed.opened & ~mailed.delivered).any()
    assert 0.001 < mailed.unsubscribed.mean() < 0.005
    assert 0 < mailed.complained.mean() < 0.002
    hold = out[out.variant == "holdout"]
    assert not hold[["delivered", "opened", "clicked", "unsubscribed", "complained"]].any().any()
    by_segment = hold.groupby("segment").repurchased.mean()
    assert by_segment.between(0.015, 0.08).all()
    assert by_segment["high_frequency"] > by_segment["one_time"]


def test_observed_rates_agree_with_the_truth_table(big, big_out):
    """Every (segment, variant, metric) proportion is consistent with its true rate (exact binomial test)."""
    out = big_out
    truth = big.truth.set_index(["segment", "variant", "metric"]).value
    pvalues = []
    for (seg, var, metric), p in truth.items():
        if metric == "revenue":
            continue
        k, n = rate(out, metric, seg, var)
        if p == 0:
            assert k == 0, (seg, var, metric)
            continue
        pvalues.append(stats.binomtest(k, n, p).pvalue)
    assert len(pvalues) == 4 * 3 * 6 + 4  # contacted cells x 6 metrics + the holdout's repurchase
    assert min(pvalues) > 1e-4
    # under the truth the p-values are roughly uniform: about 5% below 0.05, not far more
    assert np.mean(np.array(pvalues) < 0.05) < 0.2


def test_revenue_matches_the_lognormal_truth(big, big_out):
    out = big_out
    truth = big.truth.set_index(["segment", "variant", "metric"]).value
    for seg in SEGMENTS:
        cell = out[(out.segment == seg) & (out.variant == "coupon")].revenue
        expect = truth[(seg, "coupon", "revenue")]
        se = cell.std(ddof=1) / np.sqrt(len(cell))
        assert abs(cell.mean() - expect) < 4.5 * se, seg


def test_purchase_amounts_follow_the_segment_lognormal(big):
    ev = big.events
    ev = ev[(ev.event == "purchased") & ev.customer_id.isin(big.assignment.customer_id)]
    seg = ev.merge(big.assignment, on="customer_id").groupby("segment").amount
    for s, amounts in seg:
        r = DEFAULT_SEGMENT_RATES[s]
        ref = stats.lognorm(s=r["amount_sigma"], scale=r["amount_median"])
        assert stats.kstest(amounts.to_numpy(), ref.cdf).pvalue > 1e-4, s  # rounding to cents is negligible


def test_true_rates_formulas_against_scipy_lognormal_mean():
    t = true_rates(["high_value"], ["holdout", "personal"], bounce_rate=0.02, repeat_rate=0.1)
    v = t.set_index(["variant", "metric"]).value
    r = DEFAULT_SEGMENT_RATES["high_value"]
    mean_amount = stats.lognorm(s=r["amount_sigma"], scale=r["amount_median"]).mean()
    treated = r["repurchased"] * 2.2  # DEFAULT_EFFECTS: personal lifts high value by 120%
    assert v["holdout", "repurchased"] == pytest.approx(r["repurchased"], rel=1e-12)
    assert v["personal", "repurchased"] == pytest.approx(0.98 * treated + 0.02 * r["repurchased"], rel=1e-12)
    assert v["personal", "opened"] == pytest.approx(0.98 * r["opened"] * 1.3, rel=1e-12)
    assert v["personal", "clicked"] == pytest.approx(0.98 * r["opened"] * 1.3 * r["clicked"], rel=1e-12)
    assert v["personal", "revenue"] == pytest.approx(
        v["personal", "repurchased"] * 1.1 * mean_amount, rel=1e-12
    )
    assert v["holdout", "opened"] == 0 and v["holdout", "delivered"] == 0
    row = t[(t.variant == "personal") & (t.metric == "repurchased")].iloc[0]
    assert row.rel_lift == pytest.approx(row.value / row.holdout_value - 1)
    assert set(t.per) == {"assigned customer"}


# ---------------------------------------------------------------------------- planted effects


def z_two_proportions(out: pd.DataFrame, segment: str, a: str, b: str) -> tuple[float, float]:
    ka, na = rate(out, "repurchased", segment, a)
    kb, nb = rate(out, "repurchased", segment, b)
    pa, pb, pool = ka / na, kb / nb, (ka + kb) / (na + nb)
    return pa - pb, (pa - pb) / np.sqrt(pool * (1 - pool) * (1 / na + 1 / nb))


def test_planted_effects_are_recoverable(big, big_out):
    out = big_out
    diff, z = z_two_proportions(out, "one_time", "coupon", "holdout")
    assert diff > 0.025 and z > 6
    diff, z = z_two_proportions(out, "high_value", "personal", "holdout")
    assert diff > 0.03 and z > 5
    for seg in SEGMENTS:
        assert abs(z_two_proportions(out, seg, "reminder", "holdout")[1]) < 3.5, seg
    # the coupon helps one-time buyers much more than high-value customers
    assert (
        z_two_proportions(out, "one_time", "coupon", "holdout")[0]
        > z_two_proportions(out, "high_value", "coupon", "holdout")[0]
    )


def test_effects_override_and_no_effect(mid):
    asg = mid.assignment
    none = simulate_events(asg, seed=4, send_date=SEND, effects={})
    out = clean_outcomes(asg, none, SEND)
    assert abs(z_two_proportions(out, "one_time", "coupon", "holdout")[1]) < 3.5
    huge = simulate_events(asg, seed=4, send_date=SEND, effects={"reminder": {"*": {"repurchased": 3.0}}})
    out = clean_outcomes(asg, huge, SEND)
    assert z_two_proportions(out, "other", "reminder", "holdout")[1] > 6
    assert (
        abs(z_two_proportions(out, "one_time", "coupon", "holdout")[1]) < 3.5
    )  # coupon not listed: no effect


# ---------------------------------------------------------------------------- messy rows


def test_messy_rows_are_present_in_known_counts(mid):
    ev, asg, send = mid.events, mid.assignment, mid.send_date
    assert mid.messy == default_messy_counts(len(asg))
    assert int(ev.duplicated().sum()) == mid.messy["duplicates"]
    assert int((~ev.customer_id.isin(asg.customer_id)).sum()) == mid.messy["unknown_customers"]
    assert int((ev.timestamp < send).sum()) == mid.messy["before_send"]
    assert (ev.timestamp >= send - pd.Timedelta(days=5)).all()
    late = ev[ev.timestamp >= mid.window_end]
    assert len(late) > 0 and set(late.event) == {"purchased"}  # organic purchases after the window
    assert (late.timestamp < mid.window_end + pd.Timedelta(days=7)).all()
    # the holdout is never contacted, even in the messy copies
    hold = ev[ev.customer_id.isin(asg[asg.variant == "holdout"].customer_id)]
    assert set(hold.event) == {"purchased"}


@pytest.mark.parametrize(("n", "seed"), [(1, 0), (1, 1), (1, 3), (5, 0), (50, 2)])
def test_tiny_campaigns_report_the_messy_rows_they_contain(n, seed):
    c = winback_campaign(n, seed=seed)
    ev = c.events
    assert list(ev.columns) == ["customer_id", "event", "timestamp", "amount"]
    assert ev.timestamp.dtype == "datetime64[ns]" and ev.amount.dtype == float
    assert int(ev.duplicated().sum()) == c.messy["duplicates"]
    assert int((~ev.customer_id.isin(c.assignment.customer_id)).sum()) == c.messy["unknown_customers"]
    assert int((ev.timestamp < c.send_date).sum()) == c.messy["before_send"]
    if len(c.assignment) == 0:
        assert len(ev) == 0 and c.messy == {"duplicates": 0, "unknown_customers": 0, "before_send": 0}


def test_messy_counts_are_parameters_and_ids_keep_their_type():
    units = pd.DataFrame(
        {"customer_id": np.arange(10, 2010), "segment": "other", "variant": ["holdout", "b"] * 1000}
    )
    ev = simulate_events(
        units, seed=0, send_date=SEND, effects={}, n_duplicates=7, n_unknown=3, n_before_send=4
    )
    assert ev.customer_id.dtype == np.int64
    assert int(ev.duplicated().sum()) == 7
    unknown = ev[~ev.customer_id.isin(units.customer_id)]
    assert len(unknown) == 3 and (unknown.customer_id > 2009).all()
    assert int((ev.timestamp < SEND).sum()) == 4
    clean = simulate_events(
        units, seed=0, send_date=SEND, effects={}, n_duplicates=0, n_unknown=0, n_before_send=0, late_days=0
    )
    assert not clean.duplicated().any() and clean.customer_id.isin(units.customer_id).all()
    assert clean.timestamp.between(SEND, SEND + pd.Timedelta(days=14), inclusive="left").all()
    assert default_messy_counts(0) == {"duplicates": 0, "unknown_customers": 0, "before_send": 0}


def test_string_ids_unknown_ids_do_not_collide():
    units = pd.DataFrame({"customer_id": [f"unknown-{i:06d}" for i in range(1, 401)], "variant": "holdout"})
    ev = simulate_events(units, seed=0, send_date=SEND, segment_col=None, n_unknown=5, effects={})
    unknown = ev[~ev.customer_id.isin(units.customer_id)]
    assert len(unknown) == 5 and ev.customer_id.dtype == units.customer_id.dtype


def test_hard_bounced_are_never_delivered_and_holdout_list():
    units = pd.DataFrame(
        {
            "customer_id": range(3000),
            "segment": "one_time",
            "variant": ["holdout", "ctrl", "mail"] * 1000,
            "hard_bounced": [True, False] * 1500,
        }
    )
    ev = simulate_events(units, seed=2, send_date=SEND, holdout=["holdout", "ctrl"], effects={})
    delivered = units[units.customer_id.isin(ev[ev.event == "delivered"].customer_id)]
    assert set(delivered.variant) == {"mail"} and not delivered.hard_bounced.any()


# ---------------------------------------------------------------------------- saving


def test_save_writes_atomically_and_refuses_to_overwrite(tmp_path):
    c = winback_campaign(500, seed=2)
    paths = c.save(tmp_path / "data")
    assert sorted(paths) == ["assignment", "customers", "events", "transactions", "truth"]
    pd.testing.assert_frame_equal(pd.read_parquet(paths["events"]), c.events, check_dtype=False)
    with pytest.raises(FileExistsAbkitError, match="overwrite=True"):
        c.save(tmp_path / "data", include=["events"])
    c.save(tmp_path / "data", include=["events"], overwrite=True)
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == sorted(p.name for p in paths.values())
    csv = c.save(tmp_path / "csv", fmt="csv", include=["customers"])
    assert csv["customers"].suffix == ".csv"
    with pytest.raises(ParameterError, match="fmt"):
        c.save(tmp_path, fmt="xlsx")
    with pytest.raises(ParameterError, match=r"include.*'events'"):
        c.save(tmp_path, include=["evnts"])


def test_winback_campaign_repr():
    c = winback_campaign(1_000, seed=0)
    assert repr(c).startswith("WinbackCampaign(customers=1,000, transactions=")
    assert "send_date=2026-06-01" in repr(c)


# ---------------------------------------------------------------------------- bad input

UNITS = pd.DataFrame({"customer_id": [1, 2, 3, 4], "segment": "other", "variant": ["holdout", "coupon"] * 2})


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"seed": -1}, ParameterError, "seed"),
        ({"seed": 1.5}, ParameterError, "seed must be an integer"),
        ({"send_date": "June first"}, ParameterError, "send_date='June first' is not a date"),
        ({"send_date": "2026-06-01 10:00"}, ParameterError, "send_date.*time of day"),
        ({"window_days": 0}, ParameterError, "window_days must be at least 1"),
        ({"bounce_rate": 1.2}, ParameterError, "bounce_rate"),
        ({"repeat_rate": 1.0}, ParameterError, "repeat_rate"),
        ({"variant_col": "arm"}, ColumnError, "'arm'"),
        ({"effects": {"cupon": {}}}, ParameterError, "variant 'cupon'.*did you mean 'coupon'"),
        ({"effects": {"holdout": {}}}, ParameterError, "'holdout' is the holdout"),
        ({"effects": {"coupon": {"vip": {}}}}, ParameterError, "segment 'vip'"),
        ({"effects": {"coupon": {"*": {"repurchase": 0.2}}}}, ParameterError, "did you mean 'repurchased'"),
        ({"effects": {"coupon": {"*": {"repurchased": -1.0}}}}, ParameterError, "above -1"),
        ({"effects": {"coupon": {"other": {"repurchased": 40.0}}}}, ParameterError, "probability.*> 1"),
        ({"effects": {"coupon": {"*": {"opened": float("nan")}}}}, ParameterError, "finite"),
        (
            {"segment_rates": {"other": {"repurchased": 0.1}}},
            ParameterError,
            "segment_rates\\['other'\\] lacks",
        ),
        ({"n_duplicates": -1}, ParameterError, "n_duplicates"),
    ],
)
def test_simulate_events_bad_input(kwargs, error, match):
    args = {"seed": 0, "send_date": SEND} | kwargs
    with pytest.raises(error, match=match):
        simulate_events(UNITS, **args)


def test_simulate_events_bad_frames():
    with pytest.raises(DataError, match="duplicate id"):
        simulate_events(pd.concat([UNITS, UNITS.head(1)]), seed=0, send_date=SEND)
    with pytest.raises(DataError, match="null id"):
        simulate_events(UNITS.assign(customer_id=[1, None, 3, 4]), seed=0, send_date=SEND)
    with pytest.raises(DataError, match="no rows"):
        simulate_events(UNITS.head(0), seed=0, send_date=SEND)
    with pytest.raises(DataError, match=r"'segment'.*null"):
        simulate_events(UNITS.assign(segment=["other", None, "other", "other"]), seed=0, send_date=SEND)
    with pytest.raises(ParameterError, match="segment 'vip' has no base rates"):
        simulate_events(UNITS.assign(segment="vip"), seed=0, send_date=SEND)
    with pytest.raises(ParameterError, match=r"default effects.*pass effects"):
        simulate_events(UNITS.assign(variant=["holdout", "b"] * 2), seed=0, send_date=SEND)
    with pytest.raises(ParameterError, match="assigned must be a pandas DataFrame"):
        simulate_events([1, 2], seed=0, send_date=SEND)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_customers": 0}, "n_customers must be at least 1"),
        ({"variants": {"holdout": 0.0, "a": 1.0}}, "variants\\['holdout'\\] must be a positive weight"),
        ({"variants": {"a": 1.0, "b": 1.0}}, "holdout='holdout' is not among the variants"),
        ({"variants": {}}, "variants is empty"),
        ({"dormant_after": 400, "lapsed_after": 300}, "lapsed_after=300 must be greater"),
        ({"send_date": "2026-02-30"}, "send_date='2026-02-30' is not a date"),
    ],
)
def test_winback_campaign_bad_input(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        winback_campaign(**({"n_customers": 200} | kwargs))
