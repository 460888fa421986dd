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


# ------------------------------------------------------------------------------------------------
# issue 12: secrets, one read-only query
# ------------------------------------------------------------------------------------------------
HOSTILE_PASSWORDS = [
    "Pa#ssw0rd",
    "Pa?ss=w0rd",
    "Pa/ssw0rd",
    "P@ssw0rd",
    "P@ss/w#rd?x",
    "50%off",
    "a%40b",
    "p",
    "pass word",
    "it's",
    "back\\slash",
    "crm",
]


@pytest.mark.parametrize("password", HOSTILE_PASSWORDS)
def test_redact_hides_any_password(password: str) -> None:
    from urllib.parse import quote

    from abkit.engines import redact, scrub, secrets_of

    raw = f"postgresql://reporter:{password}@db.example.com:5432/crm"
    encoded = f"postgresql://reporter:{quote(password, safe='')}@db.example.com:5432/crm"
    escaped = password.replace("\\", "\\\\").replace("'", "\\'")
    forms = {
        "raw URL": raw,
        "encoded URL": encoded,
        "query parameter": f"postgresql://db.example.com/crm?user=u&password={quote(password, safe='')}",
        "conninfo": f"host=db.example.com user=reporter password='{escaped}' dbname=crm",
    }
    for what, url in forms.items():
        shown = redact(url)
        assert "***" in shown, what
        leftover = shown.replace("db.example.com", "").replace("reporter", "").replace("crm", "")
        if password not in ("crm", "p"):  # a password equal to a word of the URL is hidden there too
            assert password not in leftover and quote(password, safe="") not in leftover, (what, shown)
        scrubbed = scrub(f"failed: password '{password}' for reporter rejected", secrets_of(url))
        expected = "failed: password *** for reporter rejected"
        assert scrubbed.replace("'***'", "***") == expected, (what, scrubbed)
    assert redact(raw).startswith("postgresql://reporter:***@")
    if password not in ("crm",):
        assert redact(raw).endswith("@db.example.com:5432/crm"), redact(raw)


def test_scrub_replaces_whole_tokens_only() -> None:
    from abkit.engines import redact, scrub, secrets_of

    message = "password authentication failed for user reporter at port 5432: p"
    assert scrub(message, ["p"]) == "password authentication failed for user reporter at port 5432: ***"
    assert redact("postgresql://u:p@h/db?application_name=p") == "postgresql://u:***@h/db?application_name=***"
    assert scrub("open opened", secrets_of("postgresql://u:open@h/db")) == "*** opened"


@pytest.mark.parametrize("password", ["Pa#ssw0rd", "Pa?ss", "Pa/ssw0rd", "P@ssw0rd", "50%off", "p"])
def test_failed_connection_messages_never_hold_the_password(postgres_server, password):  # noqa: F811
    for port in (postgres_server.port, free_port()):  # wrong password; nothing listening
        url = postgres_server.url(password=password, port=port)
        with pytest.raises(SourceError) as err:
            postgres_query(url, "SELECT 1", connect_timeout=2)
        text = str(err.value)
        assert "cannot connect to PostgreSQL at postgresql://abkit:***@" in text
        if password == "p":
            assert "p" not in text.replace("postgresql", "").split("@", 1)[0].split(":", 2)[-1]
        else:
            assert password not in text, text
            assert all(part not in text for part in ("Pa#", "ssw0rd", "50%")), text


@pytest.fixture
def victim(postgres_server: PostgresServer):  # noqa: F811
    """Schema sec: events (the campaign's) and victim (rows a hostile query would delete)."""
    import psycopg

    with psycopg.connect(postgres_server.url(), autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS sec CASCADE")
        conn.execute("CREATE SCHEMA sec")
        conn.execute('CREATE TABLE sec.assigned (customer_id text, variant text)')
        conn.execute("INSERT INTO sec.assigned VALUES ('1', 'a'), ('2', 'b')")
        conn.execute(
            'CREATE TABLE sec.events (customer_id text, event text, "timestamp" timestamp, amount float8)'
        )
        conn.execute("INSERT INTO sec.events VALUES ('1', 'opened', '2026-05-02', NULL)")
        conn.execute("CREATE TABLE sec.victim (a int)")
        conn.execute("INSERT INTO sec.victim VALUES (1), (2)")

    def untouched() -> bool:
        with psycopg.connect(postgres_server.url(), autocommit=True) as conn:
            rows = conn.execute("SELECT count(*) FROM sec.victim").fetchone()[0]
            pwned = conn.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'sec' AND tablename LIKE 'pwned%'"
            ).fetchone()[0]
        return rows == 2 and pwned == 0

    return postgres_server, untouched


HOSTILE_EVENTS = [
    "SELECT * FROM sec.events) AS x; COMMIT; DELETE FROM sec.victim; CREATE TABLE sec.pwned (a int); "
    "SELECT * FROM (SELECT 1",
    "SELECT * FROM sec.events /* ) */ ; COMMIT; DELETE FROM sec.victim --",
    "SELECT * FROM sec.events WHERE event = $$x$$; COMMIT; CREATE TABLE sec.pwned (a int); SELECT $$y$$",
    "SELECT * FROM sec.events WHERE event = E'\\'';COMMIT;DELETE FROM sec.victim;SELECT '",
    "WITH d AS (DELETE FROM sec.victim RETURNING *) SELECT * FROM sec.events",
    "SELECT * INTO sec.pwned FROM sec.events",
    "SELECT * FROM sec.events FOR UPDATE",
    "SELECT * FROM sec.events; commit",
    "select * from sec.events\n;\nbegin; drop table sec.victim",
]


@pytest.mark.parametrize("events", HOSTILE_EVENTS)
def test_hostile_events_text_is_refused_and_writes_nothing(victim, events: str) -> None:
    server, untouched = victim
    with pytest.raises(SourceError, match="is not one read-only SELECT"):
        postgres_sufficient_statistics(
            server.url(), ["opened"], assigned="sec.assigned", events=events, send_date="2026-05-01"
        )
    assert untouched()


def test_one_select_with_quotes_comments_and_a_trailing_semicolon_runs(victim) -> None:
    server, untouched = victim
    query = (
        "SELECT customer_id, event, \"timestamp\", amount FROM sec.events -- ; COMMIT\n"
        "WHERE event <> 'x; COMMIT; DELETE FROM sec.victim' AND event <> $t$;$t$ /* ; */;"
    )
    got = postgres_sufficient_statistics(
        server.url(), ["opened"], assigned="sec.assigned", events=query, send_date="2026-05-01"
    )
    assert got.statistics["sum"].tolist() == [1.0, 0.0]
    assert untouched()


def test_the_session_is_read_only_even_without_the_parser(victim) -> None:
    """Bypass abkit.sql.single_select: the connection itself refuses every write."""
    from abkit.engines.postgres import connect, fetch

    server, untouched = victim
    attacks = [
        "DELETE FROM sec.victim RETURNING a",
        "SELECT 1; COMMIT; DELETE FROM sec.victim; CREATE TABLE sec.pwned (a int)",
        "WITH d AS (DELETE FROM sec.victim RETURNING *) SELECT * FROM d",
    ]
    for sql in attacks:
        conn = connect(server.url())
        try:
            with pytest.raises(SourceError):
                fetch(conn, sql, "test", [])
        finally:
            conn.close()
        assert untouched(), sql
    # even a raw cursor that ends abkit's transaction starts a new read-only one
    conn = connect(server.url())
    try:
        conn.execute("COMMIT")
        with pytest.raises(Exception, match="read-only transaction"):
            conn.execute("CREATE TABLE sec.pwned (a int)")
    finally:
        conn.close()
    assert untouched()
    with pytest.raises(SourceError, match="is not one read-only SELECT"):
        postgres_query(server.url(), "SELECT 1; DELETE FROM sec.victim")
    assert untouched()


def test_time_zone_aware_events_give_the_pandas_numbers(postgres_server):  # noqa: F811
    """One rule (issue 12): timestamptz and offset text are compared in UTC, as pandas and DuckDB do."""
    import psycopg

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
    assert out["revenue"].tolist() == [0.0, 2.0, 4.0, 0.0]
    zones = ["UTC", "Asia/Tokyo", "America/New_York", "UTC", "Europe/Paris"]
    with psycopg.connect(postgres_server.url(), autocommit=True) as conn:
        conn.execute("SET TimeZone = 'America/Los_Angeles'")  # the loader's zone must not matter
        conn.execute("DROP SCHEMA IF EXISTS tz CASCADE")
        conn.execute("CREATE SCHEMA tz")
        conn.execute("CREATE TABLE tz.assigned (customer_id text, variant text)")
        for row in assigned.itertuples(index=False):
            conn.execute("INSERT INTO tz.assigned VALUES (%s, %s)", tuple(row))
        for table, kind in (("aware", "timestamptz"), ("text", "text")):
            conn.execute(
                f'CREATE TABLE tz.{table} (customer_id text, event text, "timestamp" {kind}, amount float8)'
            )
            for (cid, ev, ts, amount), zone in zip(events.itertuples(index=False), zones, strict=True):
                value = ts.tz_convert(zone).isoformat() if kind == "text" else ts.to_pydatetime()
                conn.execute(
                    f"INSERT INTO tz.{table} VALUES (%s, %s, %s, %s)",
                    (cid, ev, value, None if np.isnan(amount) else amount),
                )
    for table in ("aware", "text"):
        got = postgres_sufficient_statistics(
            postgres_server.url(),
            metrics,
            assigned="tz.assigned",
            events=f"tz.{table}",
            send_date="2026-05-01",
        )
        pd.testing.assert_frame_equal(got.statistics, want, obj=table)
        pd.testing.assert_frame_equal(got.diagnostics, diag, obj=table)
