"""DuckDB engine: the same outcomes, statistics, diagnostics and assignment as the pandas path."""

from __future__ import annotations

import glob

import numpy as np
import pandas as pd
import pytest

from abkit.assignment import assign
from abkit.attribution import outcomes
from abkit.datasets import winback_campaign
from abkit.engines import Aggregates, redact
from abkit.engines.duckdb import duckdb_assign, duckdb_outcomes, duckdb_sufficient_statistics
from abkit.errors import ColumnError, DataError, FileExistsAbkitError, ParameterError, SourceError
from abkit.metrics import Mean, Proportion, sufficient_statistics

METRICS = ["delivered", "opened", "clicked", "repurchased", "unsubscribed", "complained", "revenue"]


@pytest.fixture(scope="module")
def campaign() -> tuple[pd.DataFrame, pd.DataFrame, pd.Timestamp, int]:
    """A synthetic campaign with every kind of messy event row added."""
    c = winback_campaign(12_000, seed=11)
    ev = c.events
    rng = np.random.default_rng(5)
    ids = c.assignment["customer_id"].to_numpy()
    start, end = c.send_date, c.window_end
    extra = pd.DataFrame(
        {
            "customer_id": np.concatenate([rng.choice(ids, 40), ["X-unknown"] * 3, rng.choice(ids, 5)]),
            "event": ["bounced"] * 10 + [None] * 5 + ["purchased"] * 25 + ["opened"] * 3 + ["clicked"] * 5,
            "timestamp": [end] * 10  # exactly at the end: after the window
            + [start] * 30
            + [end - pd.Timedelta(microseconds=1)] * 8,
            "amount": [np.nan] * 15 + list(np.round(rng.uniform(1, 90, 25), 2)) + [np.nan] * 8,
        }
    )
    purchases = ev[(ev["event"] == "purchased") & (ev["timestamp"] >= start)].head(7)
    events = pd.concat([ev, extra, purchases, purchases.head(2)], ignore_index=True)
    events = events.sample(frac=1.0, random_state=3).reset_index(drop=True)
    return c.assignment, events, c.send_date, c.window_days


def _reference(assigned, events, send_date, window_days, metrics, segment_col="segment"):
    out, diag = outcomes(
        assigned, events, send_date=send_date, window_days=window_days, return_diagnostics=True
    )
    return sufficient_statistics(out, metrics, segment_col=segment_col), diag


def _assert_same(got: pd.DataFrame, ref: pd.DataFrame) -> None:
    assert list(got.columns) == list(ref.columns)
    for col in ("metric", "kind", "segment", "variant"):
        assert got[col].tolist() == ref[col].tolist(), col
    assert got["n"].dtype == np.int64
    np.testing.assert_array_equal(got["n"].to_numpy(), ref["n"].to_numpy())
    prop = (ref["kind"] == "proportion").to_numpy()
    np.testing.assert_array_equal(got["sum"].to_numpy()[prop], ref["sum"].to_numpy()[prop])  # exact counts
    np.testing.assert_allclose(got["sum"].to_numpy(), ref["sum"].to_numpy(), rtol=1e-12, atol=0)
    np.testing.assert_allclose(got["sum_sq"].to_numpy(), ref["sum_sq"].to_numpy(), rtol=1e-12, atol=0)


def _write(events: pd.DataFrame, tmp_path, kind: str):
    if kind == "dataframe":
        return events
    folder = tmp_path / "events"
    folder.mkdir()
    parts = np.array_split(np.arange(len(events)), 3)
    for i, idx in enumerate(parts):
        chunk = events.iloc[idx]
        if kind.startswith("parquet"):
            chunk.to_parquet(folder / f"part-{i}.parquet", index=False)
        else:
            chunk.to_csv(folder / f"part-{i}.csv", index=False)
    return {
        "parquet-dir": folder,
        "parquet-glob": str(folder / "*.parquet"),
        "csv-glob": str(folder / "part-*.csv"),
    }[kind]


@pytest.mark.parametrize("kind", ["dataframe", "parquet-dir", "parquet-glob", "csv-glob"])
def test_statistics_equal_pandas_path(campaign, tmp_path, kind):
    assigned, events, send_date, window_days = campaign
    ref, ref_diag = _reference(assigned, events, send_date, window_days, METRICS)
    source = _write(events, tmp_path, kind)
    got = duckdb_sufficient_statistics(
        assigned, source, METRICS, send_date=send_date, window_days=window_days, segment_col="segment"
    )
    assert isinstance(got, Aggregates)
    _assert_same(got.statistics, ref)
    pd.testing.assert_frame_equal(got.diagnostics, ref_diag)
    # every kind of messy row is present, so each count is really checked
    assert (ref_diag["rows"] > 0).all(), ref_diag


@pytest.mark.parametrize("partitions", [2, 5])
def test_partitioned_aggregation_adds_up_exactly(campaign, tmp_path, partitions):
    """Customers split into disjoint hash partitions: the partial aggregates add up to the whole."""
    assigned, events, send_date, window_days = campaign
    ref, ref_diag = _reference(assigned, events, send_date, window_days, [*METRICS, "n_purchases"])
    source = _write(events, tmp_path, "parquet-dir")
    got = duckdb_sufficient_statistics(
        assigned, source, [*METRICS, "n_purchases"], send_date=send_date, window_days=window_days,
        segment_col="segment", partitions=partitions,
    )  # fmt: skip
    _assert_same(got.statistics, ref)
    pd.testing.assert_frame_equal(got.diagnostics, ref_diag)
    with pytest.raises(ParameterError, match="partitions must be a positive integer"):
        duckdb_sufficient_statistics(assigned, source, METRICS, send_date=send_date, partitions=0)


def test_assigned_from_parquet_and_no_segment(campaign, tmp_path):
    assigned, events, send_date, window_days = campaign
    path = tmp_path / "assigned.parquet"
    assigned.to_parquet(path, index=False)
    metrics = {
        "repurchase rate": "repurchased",
        "revenue per recipient": Mean("revenue"),
        "orders": "n_purchases",
    }
    ref, _ = _reference(assigned, events, send_date, window_days, metrics, segment_col=None)
    got = duckdb_sufficient_statistics(path, events, metrics, send_date=send_date, window_days=window_days)
    _assert_same(got.statistics, ref)
    assert set(got.statistics["segment"]) == {"all"}
    assert "Aggregates(engine='duckdb'" in repr(got)
    assert "window" in str(got) and "duplicate" in got._repr_html_()


def test_fractional_window_and_renamed_events(campaign):
    assigned, events, send_date, _ = campaign
    renamed = events.assign(event=events["event"].replace({"purchased": "order", "opened": "open"}))
    names = {"purchased": "order", "opened": "open"}
    out, diag = outcomes(
        assigned, renamed, send_date=send_date, window_days=2.5, event_names=names, return_diagnostics=True
    )
    ref = sufficient_statistics(out, ["opened", "repurchased", "revenue"], segment_col="segment")
    got = duckdb_sufficient_statistics(
        assigned,
        renamed,
        ["opened", "repurchased", "revenue"],
        send_date=send_date,
        window_days=2.5,
        segment_col="segment",
        event_names=names,
    )
    _assert_same(got.statistics, ref)
    pd.testing.assert_frame_equal(got.diagnostics, diag)
    assert got.window["end"] == out.attrs["abkit_window"]["end"]


def test_outcomes_equal_pandas_path(campaign, tmp_path):
    assigned, events, send_date, window_days = campaign
    ref = outcomes(assigned, events, send_date=send_date, window_days=window_days, return_diagnostics=True)[0]
    ref = ref.sort_values("customer_id").reset_index(drop=True)
    got = duckdb_outcomes(assigned, events, send_date=send_date, window_days=window_days)
    assert got["customer_id"].tolist() == ref["customer_id"].tolist()
    for col in (
        "variant",
        "segment",
        "delivered",
        "opened",
        "clicked",
        "repurchased",
        "unsubscribed",
        "complained",
    ):
        assert got[col].tolist() == ref[col].tolist(), col
    np.testing.assert_array_equal(got["n_purchases"].to_numpy(), ref["n_purchases"].to_numpy())
    np.testing.assert_allclose(got["revenue"].to_numpy(), ref["revenue"].to_numpy(), rtol=1e-12)
    path = duckdb_outcomes(
        assigned, events, send_date=send_date, window_days=window_days, path=tmp_path / "o.parquet"
    )
    back = pd.read_parquet(path).sort_values("customer_id").reset_index(drop=True)
    assert back["repurchased"].tolist() == ref["repurchased"].tolist()
    with pytest.raises(FileExistsAbkitError, match=r"o\.parquet"):
        duckdb_outcomes(assigned, events, send_date=send_date, path=tmp_path / "o.parquet")


def test_n_purchases_kind_follows_pandas_inference():
    assigned = pd.DataFrame({"customer_id": [1, 2, 3, 4], "variant": ["a", "a", "b", "b"]})
    ts = pd.Timestamp("2026-05-02")
    once = pd.DataFrame({"customer_id": [1, 3], "event": "purchased", "timestamp": ts, "amount": [5.0, 7.0]})
    twice = pd.concat([once, once.assign(timestamp=ts + pd.Timedelta(hours=1))], ignore_index=True)
    for events, kind in ((once, "proportion"), (twice, "mean")):
        got = duckdb_sufficient_statistics(assigned, events, ["n_purchases"], send_date="2026-05-01")
        ref = sufficient_statistics(outcomes(assigned, events, send_date="2026-05-01"), ["n_purchases"])
        assert got.statistics["kind"].tolist() == [kind, kind] == ref["kind"].tolist()
        _assert_same(got.statistics, ref)
    with pytest.raises(DataError, match="n_purchases"):
        duckdb_sufficient_statistics(assigned, twice, [Proportion("n_purchases")], send_date="2026-05-01")


@pytest.mark.parametrize("method", ["block", "hash"])
def test_assign_equals_python(tmp_path, method):
    rng = np.random.default_rng(2)
    units = pd.DataFrame(
        {
            "customer_id": rng.permutation(5000) * 3 + 1,
            "segment": rng.choice(["hv", "hf", "one", "other"], 5000),
        }
    )
    variants = {"coupon": 0.3, "personal": 0.3, "holdout": 0.4}
    ref = assign(units, variants=variants, salt="wb-2026", strata="segment", method=method)
    ref = ref.sort_values("customer_id").reset_index(drop=True)
    got = duckdb_assign(units, variants=variants, salt="wb-2026", strata="segment", method=method)
    assert got["variant"].tolist() == ref["variant"].tolist()
    units.to_parquet(tmp_path / "units.parquet", index=False)
    out = duckdb_assign(
        tmp_path / "units.parquet",
        variants=variants,
        salt="wb-2026",
        strata="segment",
        method=method,
        path=tmp_path / "assigned.parquet",
    )
    back = pd.read_parquet(out).sort_values("customer_id").reset_index(drop=True)
    assert back["variant"].tolist() == ref["variant"].tolist()


# ------------------------------------------------------------------------------------------------ bad input
def test_glob_matching_nothing_names_the_source(campaign, tmp_path):
    assigned, _, send_date, _ = campaign
    pattern = str(tmp_path / "nothing" / "*.parquet")
    with pytest.raises(SourceError, match=r"events source .*nothing/\*\.parquet.* matches no files"):
        duckdb_sufficient_statistics(assigned, pattern, METRICS, send_date=send_date)
    with pytest.raises(SourceError, match="does not exist"):
        duckdb_sufficient_statistics(assigned, tmp_path / "missing.parquet", METRICS, send_date=send_date)
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match="holds no CSV or Parquet"):
        duckdb_sufficient_statistics(assigned, tmp_path / "empty", METRICS, send_date=send_date)
    (tmp_path / "notes.json").write_text("{}")
    with pytest.raises(SourceError, match="neither CSV nor Parquet"):
        duckdb_sufficient_statistics(assigned, tmp_path / "notes.json", METRICS, send_date=send_date)
    (tmp_path / "broken.parquet").write_text("not parquet")
    with pytest.raises(SourceError, match=r"events source .*broken\.parquet"):
        duckdb_sufficient_statistics(assigned, tmp_path / "broken.parquet", METRICS, send_date=send_date)
    with pytest.raises(ParameterError, match="events must be"):
        duckdb_sufficient_statistics(assigned, 42, METRICS, send_date=send_date)


def test_missing_columns_name_the_source(campaign, tmp_path):
    assigned, events, send_date, _ = campaign
    path = tmp_path / "ev.parquet"
    events.rename(columns={"timestamp": "ts"}).to_parquet(path, index=False)
    with pytest.raises(SourceError, match=r"events source .*ev\.parquet.* lacks column\(s\) 'timestamp'"):
        duckdb_sufficient_statistics(assigned, path, METRICS, send_date=send_date)
    with pytest.raises(SourceError, match=r"assigned source .* lacks column\(s\) 'segment'"):
        duckdb_sufficient_statistics(
            assigned.drop(columns="segment"), events, METRICS, send_date=send_date, segment_col="segment"
        )
    with pytest.raises(ColumnError, match="'basket'"):
        duckdb_sufficient_statistics(assigned, events, ["basket"], send_date=send_date)
    with pytest.raises(ParameterError, match="revenue"):
        duckdb_sufficient_statistics(assigned, events, [Proportion("revenue")], send_date=send_date)


def test_bad_rows_raise_like_pandas(campaign):
    assigned, events, send_date, _ = campaign
    cases = [
        (pd.concat([assigned, assigned.head(2)]), events, "duplicate ids in column 'customer_id'"),
        (
            assigned.assign(variant=assigned["variant"].where(assigned.index > 2)),
            events,
            "null values in column 'variant'",
        ),
        (
            assigned,
            events.assign(customer_id=events["customer_id"].where(events.index > 0)),
            "null values in column 'customer_id' of events",
        ),
        (
            assigned,
            events.assign(timestamp=events["timestamp"].where(events.index > 0)),
            "timestamps in column 'timestamp'",
        ),
    ]
    for a, e, message in cases:
        with pytest.raises(DataError, match=message):
            outcomes(a, e, send_date=send_date, return_diagnostics=True)
        with pytest.raises(DataError, match=message):
            duckdb_sufficient_statistics(a, e, METRICS, send_date=send_date)
    bad = events.copy()
    k = bad.index[(bad["event"] == "purchased") & (bad["timestamp"] >= send_date)][0]
    bad.loc[k, "amount"] = -5.0
    with pytest.raises(DataError, match="1 negative, 0 missing, 0 infinite"):
        duckdb_sufficient_statistics(assigned, bad, METRICS, send_date=send_date)
    bad.loc[k, "amount"] = np.nan
    with pytest.raises(DataError, match="0 negative, 1 missing, 0 infinite"):
        duckdb_sufficient_statistics(assigned, bad, METRICS, send_date=send_date)
    with pytest.raises(ParameterError, match="window_days"):
        duckdb_sufficient_statistics(assigned, events, METRICS, send_date=send_date, window_days=0)
    with pytest.raises(ParameterError, match="send_date"):
        duckdb_sufficient_statistics(assigned, events, METRICS, send_date="soon")


def test_assign_bad_input(tmp_path):
    units = pd.DataFrame({"customer_id": [1, 2, 2], "segment": ["a", "a", "b"]})
    with pytest.raises(DataError, match="duplicated"):
        duckdb_assign(units, variants=["a", "b"], salt="s")
    with pytest.raises(DataError, match="integers or strings"):
        duckdb_assign(pd.DataFrame({"customer_id": [1.5, 2.5]}), variants=["a", "b"], salt="s")
    with pytest.raises(ParameterError, match="variant"):
        duckdb_assign(units.assign(variant="x").drop_duplicates("customer_id"), variants=["a", "b"], salt="s")
    with pytest.raises(SourceError, match="matches no files"):
        duckdb_assign(str(tmp_path / "*.csv"), variants=["a", "b"], salt="s")


def test_redact_hides_passwords():
    assert redact("postgresql://u:p%40ss@h/db") == "postgresql://u:***@h/db"
    assert "secret" not in redact("postgresql://u:secret@h:5/db?password=secret")
    assert redact("postgresql://h/db") == "postgresql://h/db"


# ------------------------------------------------------------------------------------------------
# issue 12: hostile identifiers, literal file lists, time zones
# ------------------------------------------------------------------------------------------------
def test_engine_functions_quote_hostile_identifiers(tmp_path) -> None:
    target = tmp_path / "pwned.csv"
    payload = f"COPY (SELECT 42) TO '{target}'"
    cid, arm, ev = f'id" FROM t); {payload}; --', f'arm"; {payload}; --', f"ev\n; {payload} --"
    ts, amt = 'ts"--', 'amt";'
    units = pd.DataFrame({cid: [f"c{i}" for i in range(20)]})
    out = duckdb_assign(units, variants=["a", "b"], salt="s", id_col=cid, variant_col=arm)
    ref = assign(units, variants=["a", "b"], salt="s", id_col=cid, variant_col=arm)
    assert out.set_index(cid)[arm].to_dict() == ref.set_index(cid)[arm].to_dict()
    path = tmp_path / "a.parquet"
    duckdb_assign(units, variants=["a", "b"], salt="s", id_col=cid, variant_col=arm, path=path)
    events = pd.DataFrame(
        {
            cid: ["c1", "c2"],
            ev: ["opened", "purchased"],
            ts: pd.to_datetime(["2026-05-02", "2026-05-03"]),
            amt: [np.nan, 9.5],
        }
    )
    kwargs = dict(
        send_date="2026-05-01", id_col=cid, variant_col=arm, event_col=ev, time_col=ts, amount_col=amt
    )
    got = duckdb_outcomes(ref, events, **kwargs)
    want = outcomes(ref, events, **kwargs)
    assert got["opened"].tolist() == want["opened"].tolist() and got["revenue"].sum() == 9.5
    duckdb_outcomes(ref, events, path=tmp_path / "o.parquet", **kwargs)
    agg = duckdb_sufficient_statistics(ref, events, ["revenue"], **kwargs)
    assert agg.statistics["sum"].sum() == 9.5
    assert not target.exists()


def test_listed_file_names_are_read_literally_once(tmp_path) -> None:
    assigned = pd.DataFrame({"customer_id": ["a", "b", "c"], "variant": ["x", "y", "x"]})
    folder = tmp_path / "ev[2026]"
    folder.mkdir()

    def part(name: str, cid: str, amount: float) -> str:
        pd.DataFrame(
            {"customer_id": [cid], "event": ["purchased"], "timestamp": pd.to_datetime(["2026-05-02"]),
             "amount": [amount]}
        ).to_parquet(folder / name, index=False)
        return str(folder / name)

    files = [
        part("part1.parquet", "a", 1.0),
        part("part[1].parquet", "b", 10.0),
        part("p*?{x}.parquet", "c", 100.0),
    ]
    agg = duckdb_sufficient_statistics(assigned, files, ["revenue"], send_date="2026-05-01")
    assert agg.statistics["sum"].sum() == 111.0  # each file once, none twice
    assert agg.diagnostics.set_index("reason").loc["counted", "rows"] == 3
    one = duckdb_sufficient_statistics(assigned, files[1], ["revenue"], send_date="2026-05-01")
    assert one.statistics["sum"].sum() == 10.0  # "part[1].parquet" is that file, not part1.parquet
    twice = [files[0], glob.escape(str(folder)) + "/part1*.parquet"]
    with pytest.raises(SourceError, match=r"lists file .* twice"):
        duckdb_sufficient_statistics(assigned, twice, ["revenue"], send_date="2026-05-01")


def aware_events() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Events in Tokyo time around the UTC window edges, plus the same events as mixed-offset text."""
    assigned = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "variant": ["x", "x", "y", "y"]})
    local = pd.to_datetime(
        ["2026-05-01 08:30", "2026-05-01 09:30", "2026-05-15 08:59", "2026-05-15 09:00", "2026-05-02 12:00"]
    ).tz_localize("Asia/Tokyo")  # 23:30 Apr 30 UTC (before), 00:30 (in), 23:59 May 14 (in), 00:00 (after)
    events = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "b"],
            "event": ["purchased"] * 4 + ["opened"],
            "timestamp": local,
            "amount": [1.0, 2.0, 4.0, 8.0, np.nan],
        }
    )
    return assigned, events


def test_time_zone_aware_events_give_the_pandas_numbers() -> None:
    assigned, events = aware_events()
    want_out, want_diag = outcomes(assigned, events, send_date="2026-05-01", return_diagnostics=True)
    assert want_out["revenue"].tolist() == [0.0, 2.0, 4.0, 0.0]
    want = sufficient_statistics(want_out, ["repurchased", "revenue", "opened"])
    zones = ["UTC", "Asia/Tokyo", "America/New_York", "UTC", "UTC"]
    stamps = [t.tz_convert(z).isoformat() for t, z in zip(events["timestamp"], zones, strict=True)]
    text = events.assign(timestamp=stamps)
    naive_utc = events.assign(timestamp=events["timestamp"].dt.tz_convert("UTC").dt.tz_localize(None))
    for what, data in {"aware": events, "mixed-offset text": text, "naive UTC": naive_utc}.items():
        out = outcomes(assigned, data, send_date="2026-05-01", return_diagnostics=True)[0]
        pd.testing.assert_frame_equal(out, want_out, obj=what)
        metrics = ["repurchased", "revenue", "opened"]
        agg = duckdb_sufficient_statistics(assigned, data, metrics, send_date="2026-05-01")
        pd.testing.assert_frame_equal(agg.statistics, want, obj=what)
        pd.testing.assert_frame_equal(agg.diagnostics, want_diag, obj=what)


def test_compact_query_gives_the_pandas_numbers_without_the_general_query(campaign, tmp_path, monkeypatch):
    """Clean data takes the compact per-customer query (the general one is never run), in one pass
    or in slices, with the numbers and diagnostics of the pandas path."""
    import abkit.engines.duckdb as engine

    assigned, events, send_date, window_days = campaign
    metrics = [*METRICS, "n_purchases"]
    ref, ref_diag = _reference(assigned, events, send_date, window_days, metrics)

    def refuse(*args, **kwargs):
        raise AssertionError("the general statistics query ran")

    monkeypatch.setattr(engine, "statistics_sql", refuse)
    source = _write(events, tmp_path, "parquet-dir")
    for partitions in (None, 3):
        got = duckdb_sufficient_statistics(
            assigned, source, metrics, send_date=send_date, window_days=window_days,
            segment_col="segment", partitions=partitions,
        )  # fmt: skip
        _assert_same(got.statistics, ref)
        pd.testing.assert_frame_equal(got.diagnostics, ref_diag)


def test_compact_query_edges_match_pandas(campaign, tmp_path):
    """Nanosecond times (rows 1 ns apart are distinct), an invalid amount of an unknown customer
    (ignored, as in pandas), NaN amounts on non-purchase rows and a window too long to pack in
    nanoseconds (the general query) all give the pandas numbers."""
    assigned, events, send_date, window_days = campaign
    ids = assigned["customer_id"].tolist()
    t = pd.Timestamp(send_date) + pd.Timedelta(hours=5)
    extra = pd.DataFrame(
        {
            "customer_id": [ids[0], ids[0], ids[0], "X-stranger", ids[1], ids[1]],
            "event": ["purchased", "purchased", "purchased", "purchased", "opened", "opened"],
            "timestamp": [t, t + pd.Timedelta(nanoseconds=1), t, t, t, t],
            "amount": [10.0, 10.0, 10.0, -3.0, np.nan, np.nan],
        }
    )
    messy = pd.concat([events, extra], ignore_index=True)
    messy["timestamp"] = messy["timestamp"].astype("datetime64[ns]")
    for days in (window_days, 20_000):
        (tmp_path / str(days)).mkdir()
        ref, ref_diag = _reference(assigned, messy, send_date, days, [*METRICS, "n_purchases"])
        for source in (messy, _write(messy, tmp_path / str(days), "parquet-dir")):
            got = duckdb_sufficient_statistics(
                assigned, source, [*METRICS, "n_purchases"], send_date=send_date, window_days=days,
                segment_col="segment",
            )  # fmt: skip
            _assert_same(got.statistics, ref)
            pd.testing.assert_frame_equal(got.diagnostics, ref_diag)
