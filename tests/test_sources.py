"""Tests of abkit.sources: the report reads an experiment's events through DuckDB, PostgreSQL or Spark.

The reference is the pandas path on the same demo experiment (per-customer outcomes,
abkit.outcomes + abkit.evaluate/economics on rows): every engine must give the same evaluation,
engagement, funnel, economics, decisions and diagnostics (rtol 1e-9). The PostgreSQL cluster and the
Spark session are the session fixtures of tests/engines_fixtures.py (skipped, with the reason, where
PostgreSQL or Java is absent).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from engines_fixtures import PG_PASSWORD, PostgresServer, free_port, postgres_server, spark_session  # noqa: F401

from abkit.errors import SourceError, SpecError
from abkit.evaluation import economics
from abkit.experiment import Experiment
from abkit.sources import N_COL, economics_from_aggregates, event_source, funnel, outcome_data
from abkit.workflow import analyse

AS_OF = "2026-06-14"  # last day of the demo's attribution window
URL_ENV = "ABKIT_TEST_PG_URL"


# --------------------------------------------------------------------------------------- helpers
def copy_experiment(source: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "winback-demo"
    shutil.copytree(source, folder)
    return folder


def set_data(folder: Path, events: str, **keys: str) -> None:
    """Point data.events of the folder's spec elsewhere and add [data] keys."""
    spec = folder / "experiment.toml"
    text = spec.read_text(encoding="utf-8")
    old = 'events = "data/events.parquet"'
    assert old in text
    extra = "".join(f"\n{k} = {json.dumps(v)}" for k, v in keys.items())
    # CUPED needs per-customer outcomes (the pandas engine); the engines return aggregates
    text = re.sub(r"^covariates = [^\n]*\n", "", text, flags=re.M)
    spec.write_text(text.replace(old, f"events = {json.dumps(events)}" + extra), encoding="utf-8")


def events_of(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(folder / "data" / "events.parquet")


def assert_frames_close(got: pd.DataFrame, want: pd.DataFrame, what: str) -> None:
    got, want = got.reset_index(drop=True), want.reset_index(drop=True)
    assert list(got.columns) == list(want.columns), what
    assert len(got) == len(want), what
    for col in want.columns:
        a, b = got[col], want[col]
        if pd.api.types.is_numeric_dtype(b) and not pd.api.types.is_bool_dtype(b):
            np.testing.assert_allclose(
                a.to_numpy(dtype=float),
                b.to_numpy(dtype=float),
                rtol=1e-9,
                atol=1e-12,
                err_msg=f"{what}.{col}",
            )
        else:
            assert a.astype(object).tolist() == b.astype(object).tolist(), f"{what}.{col}"


def assert_same_readout(got, want) -> None:
    assert_frames_close(got.evaluation.table, want.evaluation.table, "evaluation")
    assert_frames_close(got.engagement.table, want.engagement.table, "engagement")
    assert_frames_close(got.funnel, want.funnel, "funnel")
    assert_frames_close(got.economics, want.economics, "economics")
    assert_frames_close(got.decisions, want.decisions, "decisions")
    pd.testing.assert_frame_equal(got.diagnostics, want.diagnostics)
    assert got.srm_delivery == want.srm_delivery
    assert got.status == want.status and got.notes == want.notes


@pytest.fixture(scope="module")
def reference(demo_source: Path, tmp_path_factory: pytest.TempPathFactory):
    """The pandas path's readouts (frequentist and Bayesian) of the demo experiment, without CUPED."""
    folder = copy_experiment(demo_source, tmp_path_factory.mktemp("reference"))
    set_data(folder, "data/events.parquet")  # same events; drops analysis.covariates like the engines
    assert Experiment.load(folder).data.engine == "pandas"
    return {m: analyse(folder, as_of=AS_OF, method=m) for m in ("frequentist", "bayesian")}


# ----------------------------------------------------------------------------------------- DuckDB
def test_parquet_glob_runs_on_duckdb_with_the_pandas_numbers(demo_source, tmp_path, reference):
    folder = copy_experiment(demo_source, tmp_path)
    events = events_of(folder)
    parts = folder / "data" / "events"
    parts.mkdir()
    for i, chunk in enumerate(np.array_split(np.arange(len(events)), 4)):
        events.iloc[chunk].to_parquet(parts / f"part-{i}.parquet", index=False)
    (folder / "data" / "events.parquet").unlink()  # nothing can fall back to the single file
    set_data(folder, "data/events/*.parquet")
    exp = Experiment.load(folder)
    assert exp.data.engine == "duckdb"  # automatic for a glob
    for method in ("frequentist", "bayesian"):
        got = analyse(folder, as_of=AS_OF, method=method)
        assert got.outcomes.columns[:3].tolist() == ["segment", "variant", N_COL]
        assert_same_readout(got, reference[method])


def test_csv_directory_report_runs_unchanged(demo_source, tmp_path, reference):
    from abkit.report import run_report

    folder = copy_experiment(demo_source, tmp_path)
    events = events_of(folder)
    parts = folder / "data" / "events_csv"
    parts.mkdir()
    for i, chunk in enumerate(np.array_split(np.arange(len(events)), 3)):
        events.iloc[chunk].to_csv(parts / f"day-{i}.csv", index=False)
    set_data(folder, "data/events_csv/")  # a directory (text timestamps, cast by DuckDB)
    got = analyse(folder, as_of=AS_OF)
    assert_same_readout(got, reference["frequentist"])
    run = run_report(folder, as_of=AS_OF, force=True)
    html = Path(run.html).read_text(encoding="utf-8")
    counted = int(got.diagnostics.set_index("reason").loc["counted", "rows"])
    assert "Incremental profit" in html and "<img" in html
    assert f"{counted:,}" in html or str(counted) in html


def test_stale_engine_data_is_refused_with_the_max_timestamp(demo_source, tmp_path):
    folder = copy_experiment(demo_source, tmp_path)
    events = events_of(folder)
    (folder / "data" / "ev").mkdir()
    old = events[events["timestamp"] < "2026-06-05"]
    old.to_parquet(folder / "data" / "ev" / "a.parquet", index=False)
    set_data(folder, "data/ev/")
    assert event_source(folder).last_event() == old["timestamp"].max()
    with pytest.raises(SourceError, match=r"events source .*data/ev/ ends at 2026-06-04.*stale"):
        analyse(folder, as_of=AS_OF)


def test_glob_matching_nothing_names_the_source(demo_source, tmp_path):
    folder = copy_experiment(demo_source, tmp_path)
    set_data(folder, "data/nothing/*.parquet")
    with pytest.raises(SourceError, match=r"events source '.*data/nothing/\*\.parquet' matches no files"):
        analyse(folder, as_of=AS_OF)


def test_custom_metrics_need_the_pandas_engine(demo_source, tmp_path):
    folder = copy_experiment(demo_source, tmp_path)
    set_data(folder, "data/events.parquet", engine="duckdb")
    exp = Experiment.load(folder)
    from abkit.assignment import load_assignment

    assigned = load_assignment(exp.data_path("assignment")).frame
    with pytest.raises(SpecError, match=r"metric\(s\) 'frequency' are not outcomes engine 'duckdb'"):
        outcome_data(exp, assigned=assigned, window_days=14, metrics=["repurchased", "frequency"])


# ---------------------------------------------------------------------- aggregated funnel/economics
def test_funnel_and_economics_from_aggregates_equal_the_per_customer_ones(demo_source, reference):
    ref = reference["frequentist"]
    rows = ref.outcomes
    agg = rows.groupby(["segment", "variant"], observed=True).agg(
        **{N_COL: ("variant", "size")},
        **{c: (c, "sum") for c in ("delivered", "opened", "clicked", "repurchased")},
        revenue=("revenue", "sum"),
        revenue_sumsq=("revenue", lambda r: float(np.sum(np.square(r)))),
    )
    agg = agg.reset_index()
    variants = list(ref.experiment.variant_names)
    assert_frames_close(funnel(agg, variants, n_col=N_COL), ref.funnel, "funnel")
    costs = {"coupon": {"contact": 0.02, "offer": 5.0}, "personal": (0.05, 0.0), "reminder": (0.01, 2.5)}
    costs = {v: costs[v] for v in variants if v != "holdout"}
    for segment_col in ("segment", None):
        want = economics(rows, costs=costs, margin=0.35, control="holdout", segment_col=segment_col)
        data = agg if segment_col else agg.drop(columns="segment")
        got = economics_from_aggregates(
            data, costs=costs, margin=0.35, control="holdout", segment_col=segment_col, n_col=N_COL
        )
        assert_frames_close(got.table, want.table, f"economics[{segment_col}]")


# ------------------------------------------------------------------------------------- PostgreSQL
@pytest.fixture(scope="module")
def pg_events(postgres_server: PostgresServer, demo_source: Path):  # noqa: F811
    """The demo's events in table wb.events of the throwaway cluster."""
    import psycopg

    events = events_of(demo_source)
    with psycopg.connect(postgres_server.url(), autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS wb CASCADE")
        conn.execute("CREATE SCHEMA wb")
        conn.execute(
            "CREATE TABLE wb.events (customer_id text, event text, "
            '"timestamp" timestamp, amount double precision)'
        )
        with conn.cursor() as cur, cur.copy("COPY wb.events FROM STDIN") as cp:
            for cid, ev, ts, amount in events.itertuples(index=False):
                cp.write_row((cid, ev, ts.to_pydatetime(), None if np.isnan(amount) else float(amount)))
    return postgres_server


def test_postgres_query_source_gives_the_pandas_numbers(
    pg_events, demo_source, tmp_path, reference, monkeypatch
):
    folder = copy_experiment(demo_source, tmp_path)
    query = 'SELECT customer_id, event, "timestamp", amount FROM wb.events WHERE event IS NOT NULL'
    set_data(folder, query, engine="postgres", url_env=URL_ENV)
    monkeypatch.setenv(URL_ENV, pg_events.url())
    got = analyse(folder, as_of=AS_OF)
    assert_same_readout(got, reference["frequentist"])
    assert PG_PASSWORD not in event_source(folder).description


def test_postgres_errors_name_the_source_and_never_the_password(
    pg_events, demo_source, tmp_path, monkeypatch
):
    folder = copy_experiment(demo_source, tmp_path)
    set_data(folder, "wb.events", engine="postgres", url_env=URL_ENV)
    monkeypatch.delenv(URL_ENV, raising=False)
    with pytest.raises(SourceError, match=rf"data\.url_env: environment variable {URL_ENV} is not set"):
        analyse(folder, as_of=AS_OF)
    cases = {
        "bad password": (pg_events.url(password="wr0ng-Secret"), "wr0ng-Secret"),
        "unreachable": (pg_events.url(port=free_port()), PG_PASSWORD),
    }
    for what, (url, secret) in cases.items():
        monkeypatch.setenv(URL_ENV, url)
        with pytest.raises(
            SourceError, match=r"PostgreSQL at postgresql://abkit:\*\*\*@127\.0\.0\.1"
        ) as info:
            analyse(folder, as_of=AS_OF)
        message = str(info.value)
        assert "events source data.events (table 'wb.events')" in message, what
        assert secret not in message and PG_PASSWORD not in message, what
    monkeypatch.setenv(URL_ENV, pg_events.url())
    spec = folder / "experiment.toml"
    spec.write_text(spec.read_text().replace('events = "wb.events"', 'events = "wb.no_such_table"', 1))
    with pytest.raises(SourceError, match=r"wb\.no_such_table.*does not exist") as info:
        analyse(folder, as_of=AS_OF)
    assert PG_PASSWORD not in str(info.value)


# ------------------------------------------------------------------------------------------ Spark
def test_spark_source_gives_the_pandas_numbers(spark_session, demo_source, tmp_path, reference):  # noqa: F811
    folder = copy_experiment(demo_source, tmp_path)
    events = events_of(folder)
    parts = folder / "data" / "spark-events"
    parts.mkdir()
    for i, chunk in enumerate(np.array_split(np.arange(len(events)), 2)):
        events.iloc[chunk].to_parquet(parts / f"part-{i}.parquet", index=False, coerce_timestamps="us")
    set_data(folder, "data/spark-events/", engine="spark")
    got = analyse(folder, as_of=AS_OF)
    assert_same_readout(got, reference["frequentist"])


def test_cuped_needs_the_pandas_engine(demo_experiment: Path) -> None:
    from abkit.errors import SpecError
    from abkit.workflow import analyse

    spec = demo_experiment / "experiment.toml"
    text = spec.read_text(encoding="utf-8").replace(
        'events = "data/events.parquet"', 'events = "data/events.parquet"\nengine = "duckdb"'
    )
    spec.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError, match=r"analysis\.covariates \(CUPED\) needs per-customer outcomes"):
        analyse(demo_experiment, as_of="2026-06-20")


HOSTILE_EVENTS = (
    "SELECT * FROM wb.events) AS x; COMMIT; DELETE FROM wb.events; CREATE TABLE wb.pwned (a int); "
    "SELECT * FROM (SELECT 1"
)


def test_cli_refuses_a_hostile_events_query_before_anything_runs(pg_events, demo_source, tmp_path):
    """Issue 12: [data] events that ends the query, COMMITs and writes: exit 1, nothing written."""
    import os
    import subprocess
    import sys

    import psycopg

    folder = copy_experiment(demo_source, tmp_path)
    set_data(folder, HOSTILE_EVENTS, engine="postgres", url_env=URL_ENV)
    with psycopg.connect(pg_events.url(), autocommit=True) as conn:
        before = conn.execute("SELECT count(*) FROM wb.events").fetchone()[0]
    abkit = str(Path(sys.executable).parent / "abkit")
    env = {**os.environ, URL_ENV: pg_events.url()}
    out = subprocess.run(
        [abkit, "report", str(folder), "--as-of", AS_OF], capture_output=True, text=True, env=env, timeout=300
    )
    assert out.returncode == 1, out.stderr
    assert "is not one read-only SELECT" in out.stderr and "data.events" in out.stderr
    assert PG_PASSWORD not in out.stderr + out.stdout
    assert not (folder / "reports").exists() or not any((folder / "reports").iterdir())
    with psycopg.connect(pg_events.url(), autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM wb.events").fetchone()[0] == before
        assert conn.execute("SELECT to_regclass('wb.pwned')").fetchone()[0] is None
    refused = r"experiment\.toml, line \d+: data\.events is not one read-only SELECT"
    with pytest.raises(SourceError, match=refused):
        event_source(folder)


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_data_columns_amount_is_used_for_events(demo_source, tmp_path, reference, engine):
    """Issue 12: [data.columns] amount names the purchase amount column of the events too."""
    folder = copy_experiment(demo_source, tmp_path)
    for name in ("events", "transactions"):
        path = folder / "data" / f"{name}.parquet"
        pd.read_parquet(path).rename(columns={"amount": "order_value"}).to_parquet(path, index=False)
    set_data(folder, "data/events.parquet", **({"engine": engine} if engine != "pandas" else {}))
    spec = folder / "experiment.toml"
    spec.write_text(spec.read_text() + '\n[data.columns]\namount = "order_value"\n', encoding="utf-8")
    assert Experiment.load(folder).data.columns.amount == "order_value"
    got = analyse(folder, as_of=AS_OF)
    assert_same_readout(got, reference["frequentist"])


# --------------------------------------------------------------- declared metrics from the events
def test_a_declared_event_metric_honours_the_report_date(demo_experiment) -> None:
    from abkit.errors import DataError
    from abkit.experiment import Experiment
    from abkit.workflow import analyse

    exp = Experiment.load(demo_experiment)
    events = pd.read_parquet(exp.data_path("events"))
    ids = events["customer_id"].drop_duplicates().iloc[:60].tolist()
    visits = pd.DataFrame(
        {
            "customer_id": ids,
            "event": "site_visit",
            "timestamp": pd.to_datetime(["2026-06-03 10:00"] * 30 + ["2026-06-10 10:00"] * 30),
            "amount": np.nan,
        }
    )
    pd.concat([events, visits], ignore_index=True).to_parquet(exp.data_path("events"), index=False)
    spec = demo_experiment / "experiment.toml"
    text = spec.read_text().replace(
        'secondary = ["revenue", "opened", "clicked"]',
        'secondary = ["revenue", "opened", "clicked", "visit"]',
    )
    spec.write_text(
        text + '\n[metrics.define.visit]\ncolumn = "site_visit"\nlabel = "Visit"\n', encoding="utf-8"
    )
    early = analyse(demo_experiment, as_of="2026-06-05")
    late = analyse(demo_experiment, as_of="2026-06-20")
    assert int(early.outcomes["visit"].sum()) == 30 and int(late.outcomes["visit"].sum()) == 60
    assert "visit" in set(late.evaluation.table["metric"]) and late.labels["visit"] == "Visit"
    counted = late.diagnostics.set_index("reason").loc["counted", "rows"]
    assert (
        counted
        == analyse(demo_experiment, as_of="2026-06-20").diagnostics.set_index("reason").loc["counted", "rows"]
    )
    spec.write_text(text + '\n[metrics.define.visit]\ncolumn = "site_vists"\n', encoding="utf-8")
    with pytest.raises(
        DataError,
        match=r"metric 'visit': no event named 'site_vists' in events source "
        r"data/events.parquet; 'site_visit' looks like 'site_vists'",
    ):
        analyse(demo_experiment, as_of="2026-06-20")
