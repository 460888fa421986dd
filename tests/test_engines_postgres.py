"""PostgreSQL engine against a throwaway cluster on 127.0.0.1: same numbers as the pandas path.

The session fixture ``postgres_server`` (tests/engines_fixtures.py) runs initdb/pg_ctl as the
``postgres`` user when the tests run as root, and skips with the reason where PostgreSQL is absent.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from engines_fixtures import PG_PASSWORD, PostgresServer, free_port, postgres_server  # noqa: F401

from abkit.assignment import assign, unit_hash
from abkit.attribution import outcomes
from abkit.datasets import winback_campaign
from abkit.engines.postgres import postgres_query, postgres_sufficient_statistics
from abkit.errors import DataError, SourceError
from abkit.metrics import sufficient_statistics
from abkit.sql import assignment_sql, hash_sql, quote_literal

METRICS = ["delivered", "opened", "clicked", "repurchased", "unsubscribed", "complained", "revenue"]


@pytest.fixture(scope="module")
def loaded(postgres_server: PostgresServer):  # noqa: F811
    """The synthetic campaign (plus messy rows) loaded into tables crm.assigned and crm.events."""
    import psycopg

    c = winback_campaign(6_000, seed=21)
    events = c.events.copy()
    extra = pd.DataFrame(
        {
            "customer_id": c.assignment["customer_id"].iloc[:6].tolist(),
            "event": ["bounced", "bounced", "opened", "opened", "purchased", "purchased"],
            "timestamp": [c.send_date] * 2 + [c.window_end] * 2 + [c.send_date + pd.Timedelta(hours=3)] * 2,
            "amount": [np.nan] * 4 + [19.99, 19.99],
        }
    )
    extra.loc[5, "customer_id"] = extra.loc[4, "customer_id"]  # an exact duplicate purchase
    events = pd.concat([events, extra], ignore_index=True)
    with psycopg.connect(postgres_server.url(), autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS crm CASCADE")
        conn.execute("CREATE SCHEMA crm")
        conn.execute("CREATE TABLE crm.assigned (customer_id text, segment text, variant text)")
        conn.execute(
            "CREATE TABLE crm.events (customer_id text, event text, "
            '"timestamp" timestamp, amount double precision)'
        )
        with conn.cursor() as cur:
            with cur.copy("COPY crm.assigned FROM STDIN") as cp:
                for row in c.assignment[["customer_id", "segment", "variant"]].itertuples(index=False):
                    cp.write_row(tuple(row))
            with cur.copy("COPY crm.events FROM STDIN") as cp:
                for cid, ev, ts, amount in events.itertuples(index=False):
                    cp.write_row((cid, ev, ts.to_pydatetime(), None if np.isnan(amount) else float(amount)))
    return postgres_server, c, events


def test_pushdown_equals_pandas_path(loaded):
    server, c, events = loaded
    out, diag = outcomes(
        c.assignment, events, send_date=c.send_date, window_days=c.window_days, return_diagnostics=True
    )
    ref = sufficient_statistics(out, METRICS, segment_col="segment")
    got = postgres_sufficient_statistics(
        server.url(),
        METRICS,
        assigned="SELECT customer_id, segment, variant FROM crm.assigned",
        events="crm.events",
        send_date=c.send_date,
        window_days=c.window_days,
        segment_col="segment",
    )
    for col in ("metric", "kind", "segment", "variant", "n"):
        assert got.statistics[col].tolist() == ref[col].tolist(), col
    np.testing.assert_allclose(got.statistics["sum"], ref["sum"], rtol=1e-12, atol=0)
    np.testing.assert_allclose(got.statistics["sum_sq"], ref["sum_sq"], rtol=1e-12, atol=0)
    pd.testing.assert_frame_equal(got.diagnostics, diag)
    assert (diag.set_index("reason").loc[["unknown_event", "after_window", "duplicate"], "rows"] > 0).all()
    assert PG_PASSWORD not in repr(got.sources) and "***" in got.sources["events"]


def test_sql_hash_and_assignment_match_python(loaded):
    server, c, _ = loaded
    ids = [0, 1, 42, -7, 10**15, "C0000001", "ümlaut-ß", "o'brien"]
    salt = "wb'2026\\x"
    exprs = [str(i) if isinstance(i, int) else quote_literal(i, "postgres") for i in ids]
    select = ", ".join(f"{hash_sql('postgres', e, salt)} AS h{k}" for k, e in enumerate(exprs))
    rows = postgres_query(server.url(), f"SELECT {select}")
    expected = unit_hash(ids[:5], salt).tolist() + unit_hash(ids[5:], salt).tolist()
    assert [rows[0][f"h{k}"] for k in range(len(ids))] == expected
    variants = {"coupon 'A'": 1, "message": 2, "holdout": 1.5}
    for method in ("hash", "block"):
        sql = assignment_sql(
            "postgres",
            table="crm.assigned",
            salt=salt,
            variants=variants,
            method=method,
            strata="segment",
            variant_col="new_variant",
        )
        got = pd.DataFrame(postgres_query(server.url(), f"SELECT customer_id, new_variant FROM ({sql}) q"))
        ref = assign(
            c.assignment.drop(columns="variant"),
            variants=variants,
            salt=salt,
            strata="segment",
            method=method,
        )
        merged = ref.merge(got, on="customer_id")
        assert len(merged) == len(ref)
        assert (merged["variant"] == merged["new_variant"]).all(), method


def test_unreachable_database_hides_password(postgres_server):  # noqa: F811
    url = postgres_server.url(port=free_port())
    with pytest.raises(
        SourceError, match=r"cannot connect to PostgreSQL at postgresql://abkit:\*\*\*@127\.0\.0\.1"
    ) as err:
        postgres_sufficient_statistics(
            url,
            METRICS,
            assigned="crm.assigned",
            events="crm.events",
            send_date="2026-06-01",
            connect_timeout=2,
        )
    assert PG_PASSWORD not in str(err.value) and PG_PASSWORD not in repr(err.value)


def test_bad_credentials_hide_password(postgres_server):  # noqa: F811
    wrong = "Wr0ng-Secret-Word"
    url = postgres_server.url(password=wrong)
    with pytest.raises(SourceError, match="password authentication failed") as err:
        postgres_sufficient_statistics(
            url, METRICS, assigned="crm.assigned", events="crm.events", send_date="2026-06-01"
        )
    text = str(err.value)
    assert wrong not in text and PG_PASSWORD not in text and "postgresql://abkit:***@" in text
    assert err.value.__cause__ is None and err.value.__suppress_context__  # no chained driver message


def test_query_with_wrong_columns_names_the_source(loaded):
    server, c, _ = loaded
    query = "SELECT customer_id, event AS kind, amount FROM crm.events"
    with pytest.raises(
        SourceError,
        match=r"events source query 'SELECT customer_id, event AS kind.*lacks column\(s\) "
        r"'event', 'timestamp'",
    ) as err:
        postgres_sufficient_statistics(
            server.url(), METRICS, assigned="crm.assigned", events=query, send_date=c.send_date
        )
    assert PG_PASSWORD not in str(err.value)
    with pytest.raises(
        SourceError, match=r"assigned source table 'crm.nope'.*cannot be read.*does not exist"
    ) as err:
        postgres_sufficient_statistics(
            server.url(), METRICS, assigned="crm.nope", events="crm.events", send_date=c.send_date
        )
    assert PG_PASSWORD not in str(err.value)
    with pytest.raises(SourceError, match="syntax error"):
        postgres_sufficient_statistics(
            server.url(), METRICS, assigned="SELECT FROM WHERE", events="crm.events", send_date=c.send_date
        )


def test_bad_rows_raise_like_pandas(loaded):
    server, c, _ = loaded
    dup = "SELECT * FROM crm.assigned UNION ALL (SELECT * FROM crm.assigned LIMIT 3)"
    with pytest.raises(DataError, match="3 duplicate ids in column 'customer_id' of assigned"):
        postgres_sufficient_statistics(
            server.url(), METRICS, assigned=dup, events="crm.events", send_date=c.send_date
        )
    neg = (
        'SELECT customer_id, event, "timestamp", '
        "CASE WHEN event = 'purchased' THEN -amount ELSE amount END AS amount FROM crm.events"
    )
    with pytest.raises(DataError, match="negative"):
        postgres_sufficient_statistics(
            server.url(), METRICS, assigned="crm.assigned", events=neg, send_date=c.send_date
        )
