"""Spark engine in local mode on 127.0.0.1: same numbers as the DuckDB and pandas paths.

One session for the module (``spark_session`` in tests/engines_fixtures.py, skipped with the reason
where Java or pyspark is absent). Data reach Spark as Parquet files written by pandas, so no
pandas <-> Spark conversion is involved.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from engines_fixtures import spark_session  # noqa: F401

from abkit.assignment import assign, unit_hash
from abkit.datasets import winback_campaign
from abkit.engines.duckdb import duckdb_sufficient_statistics
from abkit.engines.spark import spark_assign, spark_sufficient_statistics
from abkit.errors import DataError, SourceError
from abkit.sql import assignment_sql, hash_sql, quote_literal

# PySpark warns that it does not fully support pandas 3; abkit's Spark path never converts to pandas
pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support:FutureWarning")

METRICS = [
    "delivered",
    "opened",
    "clicked",
    "repurchased",
    "unsubscribed",
    "complained",
    "revenue",
    "n_purchases",
]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    c = winback_campaign(6_000, seed=31)
    folder = tmp_path_factory.mktemp("spark")
    extra = pd.DataFrame(
        {
            "customer_id": c.assignment["customer_id"].iloc[:4].tolist(),
            "event": ["bounced", "opened", "purchased", "purchased"],
            "timestamp": [c.send_date, c.window_end, c.send_date, c.send_date],
            "amount": [np.nan, np.nan, 12.5, 12.5],
        }
    )
    extra.loc[3, "customer_id"] = extra.loc[2, "customer_id"]
    events = pd.concat([c.events, extra], ignore_index=True)
    (folder / "events").mkdir()
    for i, idx in enumerate(np.array_split(np.arange(len(events)), 2)):
        events.iloc[idx].to_parquet(
            folder / "events" / f"part-{i}.parquet", index=False, coerce_timestamps="us"
        )
    c.assignment.to_parquet(folder / "assigned.parquet", index=False)
    # Spark cannot read nanosecond timestamps (pandas' default unit): the engine says so
    events.head(3).to_parquet(folder / "ns.parquet", index=False)
    return c, events, folder


def test_statistics_equal_duckdb_path(spark_session, files):  # noqa: F811
    c, events, folder = files
    kwargs = dict(send_date=c.send_date, window_days=c.window_days, segment_col="segment")
    ref = duckdb_sufficient_statistics(c.assignment, events, METRICS, **kwargs)
    got = spark_sufficient_statistics(
        spark_session,
        METRICS,
        assigned=str(folder / "assigned.parquet"),
        events=str(folder / "events" / "*.parquet"),
        **kwargs,
    )
    for col in ("metric", "kind", "segment", "variant", "n"):
        assert got.statistics[col].tolist() == ref.statistics[col].tolist(), col
    np.testing.assert_allclose(got.statistics["sum"], ref.statistics["sum"], rtol=1e-12, atol=0)
    np.testing.assert_allclose(got.statistics["sum_sq"], ref.statistics["sum_sq"], rtol=1e-12, atol=0)
    pd.testing.assert_frame_equal(got.diagnostics, ref.diagnostics)
    assert (got.diagnostics["rows"].iloc[[0, 3, 4]] > 0).all()
    assert got.engine == "spark"


def test_hash_and_assignment_match_python(spark_session, files):  # noqa: F811
    c, _, folder = files
    ids = [0, 42, -7, 10**15, "C0000001", "ümlaut-ß", "o'brien\\x"]
    salt = "wb'26\\"
    exprs = [str(i) if isinstance(i, int) else quote_literal(i, "spark") for i in ids]
    row = spark_session.sql(
        "SELECT " + ", ".join(hash_sql("spark", e, salt) + f" AS h{k}" for k, e in enumerate(exprs))
    ).collect()[0]
    assert [row[f"h{k}"] for k in range(len(ids))] == unit_hash(ids[:4], salt).tolist() + unit_hash(
        ids[4:], salt
    ).tolist()
    units = c.assignment.drop(columns="variant")
    variants = {"coupon 'A'": 0.2, "message": 0.5, "holdout": 0.3}
    for method in ("block", "hash"):
        ref = assign(units, variants=variants, salt=salt, strata="segment", method=method)
        got = spark_assign(
            spark_session,
            str(folder / "assigned.parquet"),
            variants=variants,
            salt=salt,
            strata="segment",
            method=method,
            variant_col="arm",
        )
        mapping = {r["customer_id"]: r["arm"] for r in got.select("customer_id", "arm").collect()}
        assert [mapping[i] for i in ref["customer_id"]] == ref["variant"].tolist(), method
    # the text assignment_sql emits runs as is on a catalog table
    spark_session.read.parquet(str(folder / "assigned.parquet")).createOrReplaceTempView("dormant")
    sql = assignment_sql(
        "spark", table="dormant", salt=salt, variants=variants, method="hash", variant_col="arm"
    )
    assert spark_session.sql(sql).columns == [*c.assignment.columns, "arm"]


def test_bad_sources(spark_session, files, tmp_path):  # noqa: F811
    c, _, folder = files
    with pytest.raises(SourceError, match=r"events source .*nothing.*matches no files"):
        spark_sufficient_statistics(
            spark_session,
            METRICS,
            assigned=str(folder / "assigned.parquet"),
            events=str(tmp_path / "nothing" / "*.parquet"),
            send_date=c.send_date,
        )
    with pytest.raises(SourceError, match=r"assigned source .*assigned\.parquet.* lacks column\(s\) 'arm'"):
        spark_sufficient_statistics(
            spark_session,
            METRICS,
            assigned=str(folder / "assigned.parquet"),
            events=str(folder / "events"),
            send_date=c.send_date,
            variant_col="arm",
        )
    with pytest.raises(SourceError, match=r"ns\.parquet.*coerce_timestamps='us'"):
        spark_sufficient_statistics(
            spark_session,
            METRICS,
            assigned=str(folder / "assigned.parquet"),
            events=str(folder / "ns.parquet"),
            send_date=c.send_date,
        )
    with pytest.raises(SourceError, match="table 'no_such_table'"):
        spark_sufficient_statistics(
            spark_session,
            METRICS,
            assigned="no_such_table",
            events=str(folder / "events"),
            send_date=c.send_date,
        )
    with pytest.raises(DataError, match="duplicated"):
        dup = spark_session.read.parquet(str(folder / "assigned.parquet")).limit(5)
        spark_assign(spark_session, dup.unionAll(dup).drop("variant"), variants=["a", "b"], salt="s")


def test_time_zone_aware_events_give_the_pandas_numbers(spark_session, tmp_path):  # noqa: F811
    """One rule (issue 12): aware Parquet timestamps and offset text compare in UTC, as in pandas."""
    from abkit.attribution import outcomes
    from abkit.metrics import sufficient_statistics

    assigned = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "variant": ["x", "x", "y", "y"]})
    local = pd.to_datetime(
        ["2026-05-01 08:30", "2026-05-01 09:30", "2026-05-15 08:59", "2026-05-15 09:00", "2026-05-02 12:00"]
    ).tz_localize("Asia/Tokyo")
    events = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "b"],
            "event": ["purchased"] * 4 + ["opened"],
            "timestamp": local,
            "amount": [1.0, 2.0, 4.0, 8.0, np.nan],
        }
    )
    metrics = ["repurchased", "revenue", "opened"]
    out, diag = outcomes(assigned, events, send_date="2026-05-01", return_diagnostics=True)
    want = sufficient_statistics(out, metrics)
    zones = ["UTC", "Asia/Tokyo", "America/New_York", "UTC", "Europe/Paris"]
    text = events.assign(
        timestamp=[t.tz_convert(z).isoformat() for t, z in zip(local, zones, strict=True)]
    )
    assigned.to_parquet(tmp_path / "assigned.parquet", index=False)
    events.to_parquet(tmp_path / "aware.parquet", index=False, coerce_timestamps="us")
    text.to_parquet(tmp_path / "text.parquet", index=False)
    for name in ("aware", "text"):
        got = spark_sufficient_statistics(
            spark_session,
            metrics,
            assigned=str(tmp_path / "assigned.parquet"),
            events=str(tmp_path / f"{name}.parquet"),
            send_date="2026-05-01",
        )
        pd.testing.assert_frame_equal(got.statistics, want, obj=name)
        pd.testing.assert_frame_equal(got.diagnostics, diag, obj=name)
    spark_session.conf.set("spark.sql.session.timeZone", "Asia/Tokyo")
    try:
        with pytest.raises(SourceError, match="time zone is 'Asia/Tokyo'"):
            spark_sufficient_statistics(
                spark_session,
                metrics,
                assigned=str(tmp_path / "assigned.parquet"),
                events=str(tmp_path / "aware.parquet"),
                send_date="2026-05-01",
            )
    finally:
        spark_session.conf.set("spark.sql.session.timeZone", "UTC")


def test_listed_file_names_are_read_literally_once(spark_session, tmp_path):  # noqa: F811
    """Issue 12: a folder holding part1.parquet and part[1].parquet: each read once by Spark."""
    assigned = pd.DataFrame({"customer_id": ["a", "b"], "variant": ["x", "y"]})
    assigned.to_parquet(tmp_path / "assigned.parquet", index=False)
    folder = tmp_path / "events"
    folder.mkdir()
    for name, cid, amount in (("part1.parquet", "a", 1.0), ("part[1].parquet", "b", 10.0)):
        pd.DataFrame(
            {
                "customer_id": [cid],
                "event": ["purchased"],
                "timestamp": pd.to_datetime(["2026-05-02"]),
                "amount": [amount],
            }
        ).to_parquet(folder / name, index=False, coerce_timestamps="us")
    got = spark_sufficient_statistics(
        spark_session,
        ["revenue"],
        assigned=str(tmp_path / "assigned.parquet"),
        events=str(folder),
        send_date="2026-05-01",
    )
    assert got.statistics.set_index("variant")["sum"].to_dict() == {"x": 1.0, "y": 10.0}
