"""PostgreSQL engine: push the outcome aggregation down to the database and fetch only the statistics.

Sources are SQL queries (``"SELECT ... FROM crm.sends WHERE campaign = 'wb-05'"``) or table names in
the database at ``url`` (``postgresql://user:password@host:5432/db`` or a libpq conninfo string).
One query returns the per-(segment, variant) aggregates with the diagnostic counts; the rows stay
in the database. The driver is psycopg 3 (``pip install 'abkit[postgres]'``). No message ever holds
the password: URLs are shown redacted and driver messages are scrubbed.

"One read-only query" is held by two walls: a query text must be ONE ``SELECT`` (tokenized by
:func:`abkit.sql.single_select`: no ``;``, no transaction control, DDL or DML outside literals), and
every connection is a read-only session (``default_transaction_read_only=on``) whose queries run in
a read-only transaction through server-side cursors, which hold exactly one statement each.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Mapping
from typing import Any

from abkit.engines import (
    Aggregates,
    assemble,
    check_assigned,
    missing_columns_error,
    redact,
    scrub,
    secrets_of,
)
from abkit.engines import window_info as _window_info
from abkit.errors import AbkitError, ParameterError, SourceError
from abkit.sql import (
    assigned_checks_sql,
    single_select,
    sql_tokens,
    statistics_sql,
    table_ref,
    unknown_events_sql,
)

__all__ = [
    "SESSION_OPTIONS",
    "as_relation",
    "connect",
    "fetch",
    "postgres_query",
    "postgres_sufficient_statistics",
]

_QUERY_WORDS = ("select", "with", "values", "table")
_TIME_TYPES = {1082: "naive", 1114: "naive", 1184: "aware"}  # date, timestamp, timestamptz
#: Session settings of every abkit connection: read-only transactions by default (so even a
#: statement that ended abkit's transaction could not write), UTC, and the string syntax the
#: tokenizer of :func:`abkit.sql.sql_tokens` assumes.
SESSION_OPTIONS = (
    "-c default_transaction_read_only=on -c TimeZone=UTC -c standard_conforming_strings=on"
)


def as_relation(source: str, what: str) -> tuple[str, str]:
    """(relation SQL, description) of a query or a table name.

    A query must be one read-only SELECT (:func:`abkit.sql.single_select`); anything else is a table
    name, quoted part by part. The description never holds more than 80 characters of the query.

    >>> as_relation("crm.events", "events")
    ('(SELECT * FROM "crm"."events")', "table 'crm.events'")
    """
    if not isinstance(source, str) or not source.strip():
        raise ParameterError(f"{what} must be a SQL query or a table name, got {source!r}")
    text = source.strip()
    try:
        tokens = sql_tokens(text)
    except SourceError as exc:
        raise SourceError(f"{what} is not one read-only SELECT: {exc}") from None
    first = next((t for t in tokens if t.text != "("), None)
    if (tokens and tokens[0].text == "(") or (
        first is not None and first.kind == "word" and first.text.lower() in _QUERY_WORDS
    ):
        query = single_select(text, what=what)
        short = " ".join(query.split())
        short = short if len(short) <= 80 else short[:77] + "..."
        return f"(\n{query}\n)", f"query {short!r}"
    return f"(SELECT * FROM {table_ref(text.rstrip(';'), 'postgres')})", f"table {text!r}"


def connect(url: str, connect_timeout: float = 10) -> Any:
    """A psycopg connection whose transactions are read-only (:data:`SESSION_OPTIONS`).

    Errors raise :class:`~abkit.errors.SourceError` with the URL redacted and the driver's message
    scrubbed of the password.
    """
    try:
        import psycopg
        from psycopg.conninfo import conninfo_to_dict
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise SourceError(
            "reading from PostgreSQL needs psycopg 3: pip install 'abkit[postgres]' (or 'psycopg[binary]')"
        ) from exc
    secrets = secrets_of(url)
    try:
        given = conninfo_to_dict(url).get("options") or ""
        conn = psycopg.connect(
            url,
            connect_timeout=max(1, int(connect_timeout)),
            autocommit=False,
            options=f"{given} {SESSION_OPTIONS}".strip(),
        )
        conn.read_only = True
    except Exception as exc:
        message = scrub(str(exc).strip(), secrets)
        raise SourceError(f"cannot connect to PostgreSQL at {redact(url)}: {message}") from None
    return conn


def fetch(conn: Any, sql: str, where: str, secrets: list[str], *, rows: bool = True) -> Any:
    """Run ``sql`` through a server-side cursor in ``conn``'s read-only transaction.

    A server-side cursor (``DECLARE ... CURSOR FOR``) holds exactly one query: a text with a second
    statement is refused by the server, so it cannot end the transaction. Returns the rows as dicts,
    or with ``rows=False`` the column types ``{name: type oid}``. Errors raise
    :class:`~abkit.errors.SourceError` naming ``where``, with the password scrubbed.
    """
    try:
        with conn.cursor(name=f"abkit_{uuid.uuid4().hex[:12]}") as cur:
            cur.execute(sql)
            if not rows:
                return {d.name: int(d.type_code) for d in cur.description}
            names = [d.name for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    except AbkitError:
        raise
    except Exception as exc:
        with contextlib.suppress(Exception):
            conn.rollback()
        message = scrub(str(exc).strip(), secrets)
        if rows:
            raise SourceError(f"PostgreSQL could not run the query for {where}: {message}") from None
        raise SourceError(f"{where} cannot be read: {message}") from None


def _columns(conn: Any, rel: str, where: str, secrets: list[str]) -> dict[str, int]:
    return fetch(conn, f"SELECT * FROM {rel} AS abkit_q LIMIT 0", where, secrets, rows=False)


def postgres_query(url: str, sql: str, *, connect_timeout: float = 10) -> list[dict[str, Any]]:
    """Run one read-only query and return its rows as dicts (for small results, e.g. checks).

    ``sql`` must be one SELECT (:func:`abkit.sql.single_select`); it runs in a read-only session
    through a server-side cursor. Errors raise :class:`~abkit.errors.SourceError` with the URL
    redacted.
    """
    query = single_select(sql, what="the query")
    conn = connect(url, connect_timeout)
    try:
        return fetch(conn, query, f"PostgreSQL at {redact(url)}", secrets_of(url))
    finally:
        conn.close()


def postgres_sufficient_statistics(
    url: str,
    metrics: Any,
    *,
    assigned: str,
    events: str,
    send_date: Any,
    window_days: float = 14,
    variant_col: str = "variant",
    segment_col: str | None = None,
    id_col: str = "customer_id",
    event_col: str = "event",
    time_col: str = "timestamp",
    amount_col: str = "amount",
    event_names: Mapping[str, str] | None = None,
    connect_timeout: float = 10,
) -> Aggregates:
    """Sufficient statistics of campaign outcomes computed inside PostgreSQL (aggregation pushed down).

    ``assigned`` and ``events`` are SQL queries or table names in the database at ``url``; their
    columns are named by ``id_col`` etc. as in :func:`abkit.outcomes`. The definitions, errors and
    numbers are those of ``abkit.sufficient_statistics(abkit.outcomes(...), metrics, ...)``. Runs in a
    read-only transaction with the session time zone set to UTC. Unreachable servers, bad credentials,
    failing queries and missing columns raise :class:`~abkit.errors.SourceError` naming the source
    (the password is never shown).

    >>> postgres_sufficient_statistics("postgresql://ana:s3cret@127.0.0.1:1/crm", ["opened"],
    ...     assigned="crm.assigned", events="crm.events", send_date="2026-05-01",
    ...     connect_timeout=1)  # doctest: +IGNORE_EXCEPTION_DETAIL, +ELLIPSIS
    Traceback (most recent call last):
    abkit.errors.SourceError: cannot connect to PostgreSQL at postgresql://ana:***@127.0.0.1:1/crm: ...
    """
    window = _window_info(send_date, window_days)
    a_rel, a_desc = as_relation(assigned, "assigned")
    e_rel, e_desc = as_relation(events, "events")
    where = f"PostgreSQL at {redact(url)}"
    sources = {"assigned": f"{a_desc} ({where})", "events": f"{e_desc} ({where})"}
    secrets = secrets_of(url)
    conn = connect(url, connect_timeout)
    try:
        a_cols = [id_col, variant_col] + ([segment_col] if segment_col else [])
        have_a = _columns(conn, a_rel, f"assigned source {sources['assigned']}", secrets)
        missing = [c for c in a_cols if c not in have_a]
        if missing:
            raise missing_columns_error(sources["assigned"], "assigned", missing, list(have_a))
        have_e = _columns(conn, e_rel, f"events source {sources['events']}", secrets)
        missing = [c for c in (id_col, event_col, time_col, amount_col) if c not in have_e]
        if missing:
            raise missing_columns_error(sources["events"], "events", missing, list(have_e))
        kwargs = dict(
            assigned=a_rel,
            events=e_rel,
            send_date=send_date,
            window_days=window_days,
            id_col=id_col,
            variant_col=variant_col,
            segment_col=segment_col,
            event_col=event_col,
            time_col=time_col,
            amount_col=amount_col,
            event_names=event_names,
            time_type=_TIME_TYPES.get(have_e[time_col], "text"),
        )
        both = f"{sources['assigned']} and {sources['events']}"
        checks = assigned_checks_sql(
            "postgres", assigned=a_rel, id_col=id_col, variant_col=variant_col, segment_col=segment_col
        )
        check_assigned(
            fetch(conn, checks, both, secrets)[0],
            id_col=id_col,
            variant_col=variant_col,
            segment_col=segment_col,
            sources=sources,
        )
        rows = fetch(conn, statistics_sql("postgres", **kwargs), both, secrets)
        unknown: list[tuple[Any, Any]] = []
        if sum(int(r["abkit_unknown_event"] or 0) for r in rows):
            sql = unknown_events_sql("postgres", events=e_rel, event_col=event_col, event_names=event_names)
            unknown = [
                (r["abkit_event"], r["abkit_rows"]) for r in fetch(conn, sql, sources["events"], secrets)
            ]
        conn.rollback()
    finally:
        conn.close()
    return assemble(
        rows,
        metrics,
        engine="postgres",
        id_col=id_col,
        time_col=time_col,
        variant_col=variant_col,
        segment_col=segment_col,
        amount_col=amount_col,
        window=window,
        sources=sources,
        unknown_events=unknown,
    )
