"""Tests for abkit.attribution (public function abkit.outcomes): events to per-customer outcomes."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import abkit
from abkit.attribution import outcomes
from abkit.errors import AbkitWarning, ColumnError, DataError, ParameterError
from abkit.metrics import sufficient_statistics

SEND = pd.Timestamp("2026-05-01")


def ts(days: float = 0, seconds: float = 0) -> pd.Timestamp:
    return SEND + pd.Timedelta(days=days, seconds=seconds)


@pytest.fixture
def assigned() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3", "c4"],
            "variant": ["coupon", "coupon", "holdout", "holdout"],
            "segment": ["one_time", "high_value", "one_time", "high_value"],
            "recency_days": [200, 400, 250, 300],
        }
    )


@pytest.fixture
def events() -> pd.DataFrame:
    rows = [
        ("c1", "delivered", ts(0, 9 * 3600), np.nan),
        ("c1", "opened", ts(0, 10 * 3600), np.nan),
        ("c1", "clicked", ts(0, 11 * 3600), np.nan),
        ("c1", "purchased", ts(2), 30.0),
        ("c1", "purchased", ts(14, -1), 20.0),  # last second inside the window
        ("c1", "purchased", ts(14), 99.0),  # exactly at the end: outside (half-open)
        ("c1", "purchased", ts(0, -1), 5.0),  # one second before the send
        ("c2", "delivered", ts(0, 9 * 3600), np.nan),
        ("c2", "delivered", ts(0, 9 * 3600), np.nan),  # identical row: duplicate
        ("c2", "unsubscribed", ts(1), np.nan),
        ("c2", "complained", ts(1), np.nan),
        ("c2", "bounce", ts(0), np.nan),  # unknown event name
        ("c3", "purchased", ts(0), 12.5),  # exactly at the send: inside
        ("c9", "purchased", ts(3), 50.0),  # unknown customer
    ]
    return pd.DataFrame(rows, columns=["customer_id", "event", "timestamp", "amount"])


EXPECTED_DIAG = {
    "unknown_event": 1,
    "unknown_customer": 1,
    "before_send": 1,
    "after_window": 1,
    "duplicate": 1,
    "counted": 9,
}


def test_exact_rows(assigned: pd.DataFrame, events: pd.DataFrame) -> None:
    out, diag = outcomes(assigned, events, send_date="2026-05-01", return_diagnostics=True)
    expected = assigned.assign(
        delivered=[True, True, False, False],
        opened=[True, False, False, False],
        clicked=[True, False, False, False],
        repurchased=[True, False, True, False],
        unsubscribed=[False, True, False, False],
        complained=[False, True, False, False],
        revenue=[50.0, 0.0, 12.5, 0.0],
        n_purchases=np.array([2, 0, 1, 0], dtype=np.int64),
    )
    pd.testing.assert_frame_equal(out, expected)
    for col in ["delivered", "opened", "clicked", "repurchased", "unsubscribed", "complained"]:
        assert out[col].dtype == bool
    assert out["revenue"].dtype == np.float64
    assert list(diag.columns) == ["reason", "rows", "detail"]
    assert dict(zip(diag["reason"], diag["rows"], strict=True)) == EXPECTED_DIAG
    assert diag["rows"].iloc[:-1].sum() + diag["rows"].iloc[-1] == len(events)
    assert "'bounce' (1)" in diag.set_index("reason").loc["unknown_event", "detail"]
    assert out.attrs["abkit_diagnostics"] == EXPECTED_DIAG
    assert out.attrs["abkit_window"]["start"] == "2026-05-01T00:00:00"
    assert out.attrs["abkit_window"]["end"] == "2026-05-15T00:00:00"
    # the public name abkit.outcomes is the function
    via_package, _ = abkit.outcomes(assigned, events, send_date="2026-05-01", return_diagnostics=True)
    pd.testing.assert_frame_equal(via_package, out)


def test_warning_names_counts(assigned: pd.DataFrame, events: pd.DataFrame) -> None:
    with pytest.warns(
        AbkitWarning, match=r"5 of 14 event rows were not counted.*1 unknown customer.*1 duplicate"
    ):
        out = outcomes(assigned, events, send_date="2026-05-01")
    assert out["revenue"].tolist() == [50.0, 0.0, 12.5, 0.0]
    assert issubclass(AbkitWarning, UserWarning)


def test_no_warning_when_nothing_excluded(assigned: pd.DataFrame, events: pd.DataFrame) -> None:
    clean = events.iloc[[0, 1, 3, 7, 12]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = outcomes(assigned, clean, send_date=dt.date(2026, 5, 1))
    assert out.attrs["abkit_diagnostics"]["counted"] == 5


@pytest.mark.parametrize(
    ("offset", "inside"),
    [
        (ts(0), True),
        (ts(0, -1e-6), False),
        (ts(6, 86399), True),
        (ts(7), False),
        (ts(7, 1), False),
    ],
)
def test_window_edges(offset: pd.Timestamp, inside: bool) -> None:
    assigned = pd.DataFrame({"customer_id": [1], "variant": ["a"]})
    events = pd.DataFrame(
        {"customer_id": [1], "event": ["opened"], "timestamp": [offset], "amount": [np.nan]}
    )
    out, _ = outcomes(assigned, events, send_date=SEND, window_days=7, return_diagnostics=True)
    assert bool(out["opened"].iloc[0]) is inside


def test_fractional_window_and_datetime_send() -> None:
    assigned = pd.DataFrame({"customer_id": [1, 2], "variant": ["a", "b"]})
    events = pd.DataFrame(
        {
            "customer_id": [1, 2],
            "event": ["clicked", "clicked"],
            "timestamp": [ts(0, 12 * 3600 + 60), ts(0, 12 * 3600 - 60)],
            "amount": [np.nan, np.nan],
        }
    )
    send = dt.datetime(2026, 5, 1, 0, 0)
    out, diag = outcomes(assigned, events, send_date=send, window_days=0.5, return_diagnostics=True)
    assert out["clicked"].tolist() == [False, True]
    assert dict(zip(diag["reason"], diag["rows"], strict=True))["after_window"] == 1


def test_holdout_without_events_and_empty_events(assigned: pd.DataFrame) -> None:
    empty = pd.DataFrame(
        {
            "customer_id": pd.Series([], dtype=object),
            "event": pd.Series([], dtype=object),
            "timestamp": pd.Series([], dtype="datetime64[ns]"),
            "amount": pd.Series([], dtype=float),
        }
    )
    out = outcomes(assigned, empty, send_date="2026-05-01")
    assert len(out) == 4
    assert (
        not out[["delivered", "opened", "clicked", "repurchased", "unsubscribed", "complained"]].any().any()
    )
    assert out["revenue"].tolist() == [0.0] * 4 and out["n_purchases"].tolist() == [0] * 4


def test_custom_event_names_and_columns() -> None:
    assigned = pd.DataFrame({"uid": [10, 11], "arm": ["mail", "holdout"]})
    events = pd.DataFrame(
        {
            "uid": [10, 10, 11],
            "type": ["open", "order", "purchased"],  # "purchased" is not a name in this data
            "at": ["2026-05-02T08:00:00", "2026-05-03", "2026-05-04T10:30"],  # ISO 8601 of any precision
            "value": [None, 80.0, 10.0],
        }
    )
    out, diag = outcomes(
        assigned,
        events,
        send_date="2026-05-01",
        id_col="uid",
        variant_col="arm",
        event_col="type",
        time_col="at",
        amount_col="value",
        event_names={"opened": "open", "purchased": "order"},
        return_diagnostics=True,
    )
    assert out["opened"].tolist() == [True, False]
    assert out["repurchased"].tolist() == [True, False]
    assert out["revenue"].tolist() == [80.0, 0.0]
    assert dict(zip(diag["reason"], diag["rows"], strict=True))["unknown_event"] == 1


def test_time_zones() -> None:
    assigned = pd.DataFrame({"customer_id": [1, 2], "variant": ["a", "b"]})
    stamps = pd.to_datetime(["2026-05-01 08:30", "2026-05-01 09:30"]).tz_localize("Asia/Tokyo")
    events = pd.DataFrame(
        {"customer_id": [1, 2], "event": ["opened"] * 2, "timestamp": stamps, "amount": [np.nan] * 2}
    )
    send = pd.Timestamp("2026-05-01 09:00", tz="Asia/Tokyo")
    out, _ = outcomes(assigned, events, send_date=send, return_diagnostics=True)
    assert out["opened"].tolist() == [False, True]
    # the same instant in UTC gives the same answer
    out_utc, _ = outcomes(assigned, events, send_date=send.tz_convert("UTC"), return_diagnostics=True)
    assert out_utc["opened"].tolist() == [False, True]
    # one rule (issue 12): a naive send date is UTC; aware events are converted to UTC. 08:30 and
    # 09:30 in Tokyo are 23:30 (the day before) and 00:30 UTC
    out_naive, diag = outcomes(assigned, events, send_date="2026-05-01", return_diagnostics=True)
    assert out_naive["opened"].tolist() == [False, True]
    assert dict(zip(diag["reason"], diag["rows"], strict=True))["before_send"] == 1


def test_unknown_customers_with_mismatched_id_types(assigned: pd.DataFrame) -> None:
    events = pd.DataFrame(
        {"customer_id": [1, 2], "event": ["opened"] * 2, "timestamp": [ts(1)] * 2, "amount": [np.nan] * 2}
    )
    _, diag = outcomes(assigned, events, send_date=SEND, return_diagnostics=True)
    row = diag.set_index("reason").loc["unknown_customer"]
    assert row["rows"] == 2 and "no id matched" in row["detail"]


def test_negative_amount_outside_window_is_not_an_error() -> None:
    assigned = pd.DataFrame({"customer_id": [1], "variant": ["a"]})
    events = pd.DataFrame(
        {"customer_id": [1], "event": ["purchased"], "timestamp": [ts(30)], "amount": [-5.0]}
    )
    out, diag = outcomes(assigned, events, send_date=SEND, return_diagnostics=True)
    assert out["revenue"].tolist() == [0.0]
    assert dict(zip(diag["reason"], diag["rows"], strict=True))["after_window"] == 1


def test_feeds_sufficient_statistics(assigned: pd.DataFrame, events: pd.DataFrame) -> None:
    out, _ = outcomes(assigned, events, send_date=SEND, return_diagnostics=True)
    stats = sufficient_statistics(out, ["repurchased", "revenue"], segment_col="segment")
    pooled = stats[stats["segment"] == "all"].set_index(["metric", "variant"])
    assert pooled.loc[("repurchased", "coupon"), "kind"] == "proportion"
    assert pooled.loc[("repurchased", "coupon"), ["n", "sum"]].tolist() == [2, 1.0]
    assert pooled.loc[("revenue", "coupon"), "kind"] == "mean"
    assert pooled.loc[("revenue", "coupon"), ["sum", "sum_sq"]].tolist() == [50.0, 2500.0]
    assert pooled.loc[("revenue", "holdout"), ["sum", "sum_sq"]].tolist() == [12.5, 156.25]


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_event_order_does_not_matter(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_customers, n_events = 30, 200
    assigned = pd.DataFrame(
        {"customer_id": np.arange(n_customers), "variant": rng.choice(["a", "b"], n_customers)}
    )
    names = np.array(["delivered", "opened", "clicked", "purchased", "unsubscribed", "complained", "bounce"])
    event = names[rng.integers(0, len(names), n_events)]
    events = pd.DataFrame(
        {
            "customer_id": rng.integers(0, n_customers + 3, n_events),
            "event": event,
            "timestamp": SEND + pd.to_timedelta(rng.integers(-3, 20, n_events), unit="D"),
            "amount": np.where(event == "purchased", rng.integers(1, 100, n_events).astype(float), np.nan),
        }
    )
    events = pd.concat([events, events.sample(20, random_state=seed)], ignore_index=True)  # duplicates
    base, base_diag = outcomes(assigned, events, send_date=SEND, return_diagnostics=True)
    perm = rng.permutation(len(events))
    shuffled, shuffled_diag = outcomes(assigned, events.iloc[perm], send_date=SEND, return_diagnostics=True)
    pd.testing.assert_frame_equal(shuffled, base)
    pd.testing.assert_frame_equal(shuffled_diag, base_diag)
    # a brute-force reference: revenue per customer from in-window, de-duplicated purchases
    inside = events[(events["timestamp"] >= SEND) & (events["timestamp"] < SEND + pd.Timedelta(days=14))]
    inside = inside[inside["event"] == "purchased"].drop_duplicates()
    ref = inside.groupby("customer_id")["amount"].sum().reindex(assigned["customer_id"], fill_value=0.0)
    np.testing.assert_allclose(base["revenue"].to_numpy(), ref.to_numpy(), rtol=1e-12)
    assert base_diag["rows"].sum() == len(events)


# ----------------------------------------------------------------------------------------- bad input
def test_missing_columns(assigned: pd.DataFrame, events: pd.DataFrame) -> None:
    with pytest.raises(ColumnError, match=r"assigned lacks column.*'variant'"):
        outcomes(assigned.drop(columns="variant"), events, send_date=SEND)
    with pytest.raises(ColumnError, match=r"assigned lacks column.*'customer_id'"):
        outcomes(assigned.drop(columns="customer_id"), events, send_date=SEND)
    for col in ["customer_id", "event", "timestamp", "amount"]:
        with pytest.raises(ColumnError, match=f"events lacks column.*'{col}'"):
            outcomes(assigned, events.drop(columns=col), send_date=SEND)


def test_outcome_column_already_in_assigned(assigned: pd.DataFrame, events: pd.DataFrame) -> None:
    with pytest.raises(ColumnError, match=r"already has column.*'complained'"):
        outcomes(assigned.assign(complained=False), events, send_date=SEND)


def test_null_ids_and_labels(assigned: pd.DataFrame, events: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="1 null values in column 'customer_id' of assigned"):
        outcomes(assigned.assign(customer_id=["c1", None, "c3", "c4"]), events, send_date=SEND)
    with pytest.raises(DataError, match="1 null values in column 'variant' of assigned"):
        outcomes(assigned.assign(variant=["a", "b", None, "a"]), events, send_date=SEND)
    bad = events.copy()
    bad.loc[[0, 5], "customer_id"] = None
    with pytest.raises(DataError, match="2 null values in column 'customer_id' of events"):
        outcomes(assigned, bad, send_date=SEND)


def test_duplicate_assigned_ids(assigned: pd.DataFrame, events: pd.DataFrame) -> None:
    with pytest.raises(
        DataError, match=r"1 duplicate ids in column 'customer_id' of assigned \(first: 'c1'\)"
    ):
        outcomes(assigned.assign(customer_id=["c1", "c2", "c1", "c4"]), events, send_date=SEND)


def test_bad_purchase_amounts(assigned: pd.DataFrame, events: pd.DataFrame) -> None:
    neg = events.copy()
    neg.loc[3, "amount"] = -30.0
    with pytest.raises(DataError, match="'amount': 1 negative, 0 missing"):
        outcomes(assigned, neg, send_date=SEND)
    missing = events.copy()
    missing.loc[[3, 12], "amount"] = np.nan
    with pytest.raises(DataError, match="'amount': 0 negative, 2 missing"):
        outcomes(assigned, missing, send_date=SEND)
    with pytest.raises(DataError, match="'amount' of events is not numeric"):
        outcomes(assigned, events.assign(amount="12"), send_date=SEND)


def test_unparseable_timestamps(assigned: pd.DataFrame, events: pd.DataFrame) -> None:
    text = events["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S").astype(object)
    ok = outcomes(assigned, events.assign(timestamp=text), send_date=SEND, return_diagnostics=True)[0]
    pd.testing.assert_frame_equal(ok, outcomes(assigned, events, send_date=SEND, return_diagnostics=True)[0])
    text[[2, 4]] = ["yesterday", "31/05/2026"]
    with pytest.raises(
        DataError, match=r"2 missing or unparseable timestamps in column 'timestamp' \(first: 'yesterday'\)"
    ):
        outcomes(assigned, events.assign(timestamp=text), send_date=SEND)
    nat = events.copy()
    nat.loc[1, "timestamp"] = pd.NaT
    with pytest.raises(DataError, match="1 missing or unparseable timestamps"):
        outcomes(assigned, nat, send_date=SEND)


@pytest.mark.parametrize("bad", [None, 42, True, "tomorrow", "2026-13-45", 3.5, pd.NaT])
def test_bad_send_date(assigned: pd.DataFrame, events: pd.DataFrame, bad: object) -> None:
    with pytest.raises(ParameterError, match="send_date"):
        outcomes(assigned, events, send_date=bad)


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), True, "14"])
def test_bad_window(assigned: pd.DataFrame, events: pd.DataFrame, bad: object) -> None:
    with pytest.raises(ParameterError, match="window_days"):
        outcomes(assigned, events, send_date=SEND, window_days=bad)  # type: ignore[arg-type]


def test_bad_event_names_and_frames(assigned: pd.DataFrame, events: pd.DataFrame) -> None:
    with pytest.raises(ParameterError, match="event_names has unknown key 'bought'"):
        outcomes(assigned, events, send_date=SEND, event_names={"bought": "purchase"})
    with pytest.raises(ParameterError, match=r"event_names\['opened'\] must be a non-empty string"):
        outcomes(assigned, events, send_date=SEND, event_names={"opened": ""})
    with pytest.raises(ParameterError, match="event_names maps several standard names"):
        outcomes(assigned, events, send_date=SEND, event_names={"opened": "clicked"})
    with pytest.raises(ParameterError, match="events must be a pandas DataFrame"):
        outcomes(assigned, events.to_dict(), send_date=SEND)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="assigned must be a pandas DataFrame"):
        outcomes([1, 2], events, send_date=SEND)  # type: ignore[arg-type]
