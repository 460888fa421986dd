"""DuckDB engine: outcomes, sufficient statistics and assignment over CSV/Parquet files of any size.

Sources are pandas DataFrames, files, directories or globs (``events/*.parquet``,
``events/**/*.csv``); DuckDB scans them in parallel, out of core, and only the small aggregated
table comes back to Python. The definitions are those of :func:`abkit.outcomes` and
:func:`abkit.sufficient_statistics` (the SQL is in :mod:`abkit.sql`), and the numbers are the same.
"""

from __future__ import annotations

import contextlib
import glob
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from abkit._io import atomic_path
from abkit.engines import Aggregates, assemble, check_assigned, missing_columns_error, window_info
from abkit.errors import AbkitError, ColumnError, DataError, FileExistsAbkitError, ParameterError, SourceError
from abkit.sql import (
    assigned_checks_sql,
    assignment_sql,
    compact_key_fits,
    customer_aggregates_sql,
    customer_statistics_sql,
    outcomes_sql,
    path_literal,
    quote_identifier,
    quote_literal,
    statistics_sql,
    unknown_events_sql,
)

__all__ = ["duckdb_assign", "duckdb_outcomes", "duckdb_sufficient_statistics", "resolve_files"]

Source = pd.DataFrame | str | os.PathLike[str] | Sequence[str | os.PathLike[str]]

_PARQUET = (".parquet", ".pq")
_CSV = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz", ".csv.zst")


def _kind(path: str) -> str | None:
    lower = path.lower()
    if lower.endswith(_PARQUET):
        return "parquet"
    if lower.endswith(_CSV):
        return "csv"
    return None


def resolve_files(
    source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], what: str
) -> tuple[str, list[str]]:
    """The format (``"parquet"`` or ``"csv"``) and the sorted files of a file, directory or glob.

    A path that exists is taken literally (``part[1].parquet`` is that file, not a pattern); only a
    path that does not exist is expanded as a glob. A file reached twice (listed twice, or by a
    pattern and by name) is refused, so no event is counted twice.

    Raises :class:`~abkit.errors.SourceError` naming the source when nothing matches, a path does
    not exist, or formats are mixed or unknown.

    >>> resolve_files("/nonexistent/events/*.parquet", "events")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    abkit.errors.SourceError: events source '/nonexistent/events/*.parquet' matches no files; ...
    """
    items = [source] if isinstance(source, str | os.PathLike) else list(source)
    if not items:
        raise SourceError(f"{what} source is an empty list of files")
    files: list[str] = []
    for item in items:
        text = os.fspath(item)
        if os.path.isfile(text):  # an existing file is that file, even if its name holds [ ] * ?
            files.append(text)
        elif not os.path.isdir(text) and any(ch in text for ch in "*?["):
            found = sorted(p for p in glob.glob(text, recursive=True) if os.path.isfile(p))
            if not found:
                raise SourceError(f"{what} source {text!r} matches no files; check the path and pattern")
            files += found
        elif os.path.isdir(text):
            found = sorted(
                os.path.join(root, name)
                for root, _, names in os.walk(text)
                for name in names
                if _kind(name) is not None and not name.startswith((".", "_"))
            )
            if not found:
                raise SourceError(f"{what} source directory {text!r} holds no CSV or Parquet files")
            files += found
        else:
            raise SourceError(f"{what} source {text!r} does not exist")
    seen: dict[str, str] = {}
    for f in files:
        key = os.path.realpath(f)
        if key in seen:
            raise SourceError(
                f"{what} source lists file {f!r} twice (also as {seen[key]!r}); each file is read once: "
                "list it once"
            )
        seen[key] = f
    kinds = {_kind(f) for f in files}
    if None in kinds:
        odd = next(f for f in files if _kind(f) is None)
        raise SourceError(
            f"{what} source file {odd!r} is neither CSV nor Parquet "
            "(by its suffix: .csv, .tsv, .parquet, .pq)"
        )
    if len(kinds) > 1:
        raise SourceError(f"{what} source mixes CSV and Parquet files; keep one format per source")
    return kinds.pop(), files  # type: ignore[return-value]


def _describe(source: Any) -> str:
    if isinstance(source, pd.DataFrame):
        return f"<DataFrame {len(source):,} rows>"
    if isinstance(source, str | os.PathLike):
        return repr(os.fspath(source))
    if not isinstance(source, Sequence) or not all(isinstance(s, str | os.PathLike) for s in source):
        return f"<{type(source).__name__}>"
    items = [os.fspath(s) for s in source]
    if not items:
        return "[]"
    return repr(items[0]) + (f" (+{len(items) - 1} more)" if len(items) > 1 else "")


def connect(threads: int | None, memory_limit: str | None, temp_directory: str | None) -> Any:
    """A DuckDB in-memory connection with abkit's settings (``None`` keeps DuckDB's default)."""
    import duckdb

    config: dict[str, Any] = {"preserve_insertion_order": False}
    if threads is not None:
        config["threads"] = int(threads)
    if memory_limit is not None:
        config["memory_limit"] = str(memory_limit)
    if temp_directory is not None:
        config["temp_directory"] = str(temp_directory)
    con = duckdb.connect(config=config)
    with contextlib.suppress(Exception):  # without the ICU extension DuckDB's time zone is UTC already
        con.execute("SET TimeZone = 'UTC'")
    return con


def time_type(column_type: str) -> str:
    """How DuckDB stores an event time column: ``"aware"``, ``"naive"`` or ``"text"`` (see TIME_TYPES).

    >>> time_type("TIMESTAMP WITH TIME ZONE"), time_type("TIMESTAMP_NS"), time_type("VARCHAR")
    ('aware', 'naive', 'text')
    """
    upper = column_type.upper()
    if upper.startswith(("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ")):
        return "aware"
    if upper.startswith(("TIMESTAMP", "DATE")):
        return "naive"
    return "text"


def relation(con: Any, source: Any, what: str, columns: Sequence[str]) -> tuple[str, dict[str, str]]:
    """Register ``source`` with DuckDB; return the relation SQL and its column types.

    ``source`` is a DataFrame (registered as a view) or CSV/Parquet files (:func:`resolve_files`),
    passed to DuckDB as a list of literal paths. ``columns`` must exist, else
    :class:`~abkit.errors.SourceError` names the source and the columns it has.

    >>> con = connect(None, None, None)
    >>> relation(con, pd.DataFrame({"a": [1]}), "units", ["a"])
    ('(SELECT * FROM "abkit_units")', {'a': 'BIGINT'})
    """
    if isinstance(source, pd.DataFrame):
        name = f"abkit_{what}"
        con.register(name, source)
        rel = f"(SELECT * FROM {quote_identifier(name, 'duckdb')})"
    elif isinstance(source, str | os.PathLike) or (
        isinstance(source, Sequence) and all(isinstance(s, str | os.PathLike) for s in source)
    ):
        kind, files = resolve_files(source, what)
        listed = "[" + ", ".join(path_literal(f) for f in files) + "]"
        reader = "read_parquet" if kind == "parquet" else "read_csv"
        rel = f"(SELECT * FROM {reader}({listed}, union_by_name = true))"
    else:
        raise ParameterError(
            f"{what} must be a pandas DataFrame or a CSV/Parquet file, directory or glob, "
            f"got {type(source).__name__}"
        )
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {rel} AS t").fetchall()
    except Exception as exc:  # duckdb raises its own exception classes
        raise SourceError(f"{what} source {_describe(source)} cannot be read by DuckDB: {exc}") from exc
    types = {str(row[0]): str(row[1]) for row in described}
    missing = [c for c in columns if c not in types]
    if missing:
        raise missing_columns_error(_describe(source), what, missing, list(types))
    return rel, types


def _run(con: Any, sql: str, sources: Mapping[str, str]) -> list[dict[str, Any]]:
    try:
        cur = con.execute(sql)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    except AbkitError:
        raise
    except Exception as exc:
        shown = ", ".join(f"{k} {v}" for k, v in sources.items())
        raise SourceError(f"DuckDB could not compute the aggregates from {shown}: {exc}") from exc


def _execute(con: Any, sql: str, sources: Mapping[str, str]) -> None:
    """Run a statement that returns no rows, with the error of :func:`_run`."""
    try:
        con.execute(sql)
    except Exception as exc:
        shown = ", ".join(f"{k} {v}" for k, v in sources.items())
        raise SourceError(f"DuckDB could not compute the aggregates from {shown}: {exc}") from exc


_ROWS_PER_PARTITION = 10_000_000
_CSV_BYTES_PER_PARTITION = 750_000_000


def _auto_partitions(con: Any, e_rel: str, events: Any, scale: int = 1) -> int:
    """Partitions for an event source: Parquet row counts come from metadata, CSV from file sizes
    (one per ``scale`` x 10M rows or x 750 MB)."""
    if isinstance(events, pd.DataFrame):
        return max(1, -(-len(events) // (scale * _ROWS_PER_PARTITION)))
    if "read_parquet" in e_rel:
        n = int(con.execute(f"SELECT COUNT(*) FROM {e_rel} AS t").fetchall()[0][0])
        return max(1, -(-n // (scale * _ROWS_PER_PARTITION)))
    _, files = resolve_files(events, "events")
    size = sum(os.path.getsize(f) for f in files)
    return max(1, -(-size // (scale * _CSV_BYTES_PER_PARTITION)))


#: The compact query's slices are 5x larger (its per-row state is smaller; each slice is a full scan).
_COMPACT_SCALE = 5


#: The compact per-customer query packs two counts in a BIGINT: it needs fewer event rows than this.
_COMPACT_MAX_ROWS = 2**31


def _row_bound(con: Any, e_rel: str, events: Any) -> int:
    """An upper bound on the number of event rows (Parquet: metadata; CSV: a quarter of the bytes)."""
    if isinstance(events, pd.DataFrame):
        return len(events)
    if "read_parquet" in e_rel:
        return int(con.execute(f"SELECT COUNT(*) FROM {e_rel} AS t").fetchall()[0][0])
    _, files = resolve_files(events, "events")
    return sum(os.path.getsize(f) for f in files) // 4 + 1


def _time_unit(column_type: str) -> str:
    """``ns`` for a nanosecond timestamp column (duplicates compare every digit), else ``us``."""
    return "ns" if column_type.upper().startswith("TIMESTAMP_NS") else "us"


def _compact_rows(
    con: Any, kwargs: dict[str, Any], k: int, sources: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Per-(segment, variant) rows of the compact query (per-customer rows in a temporary table)."""
    a_kwargs = {key: kwargs[key] for key in ("id_col", "variant_col", "segment_col")}
    e_kwargs = {
        key: kwargs[key]
        for key in (
            "send_date",
            "window_days",
            "id_col",
            "event_col",
            "time_col",
            "amount_col",
            "event_names",
            "time_type",
        )
    }
    for i in range(k):
        sql = customer_aggregates_sql(
            events=kwargs["events"],
            time_unit=kwargs["time_unit"],
            partition=None if k == 1 else (i, k),
            **e_kwargs,
        )
        verb = "CREATE TEMP TABLE abkit_customers AS" if i == 0 else "INSERT INTO abkit_customers"
        _execute(con, f"{verb}\n{sql}", sources)
    sql = customer_statistics_sql(assigned=kwargs["assigned"], customers="abkit_customers", **a_kwargs)
    rows = _run(con, sql, sources)
    _execute(con, "DROP TABLE abkit_customers", sources)
    return rows


def _needs_exact(rows: Sequence[Mapping[str, Any]]) -> bool:
    """Whether the data will be refused (times or ids missing, invalid purchase amounts): the
    error messages quote the counts of :func:`abkit.sql.statistics_sql`."""
    return any(
        int(r["abkit_null_time"] or 0)
        or int(r["abkit_null_id"] or 0)
        or (not r["abkit_unmatched"] and int(r["abkit_bad_amounts"] or 0))
        for r in rows
    )


def _from_compact(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The compact rows in the layout of :func:`abkit.sql.statistics_sql` (no invalid amount counted)."""
    out = []
    for row in rows:
        row = dict(row)
        del row["abkit_bad_amounts"]
        row.update(abkit_bad_missing=0, abkit_bad_negative=0, abkit_bad_infinite=0)
        out.append(row)
    return out


def _combine(parts: list[list[dict[str, Any]]], segmented: bool) -> list[dict[str, Any]]:
    """Add the per-partition aggregates (maximum for ``n_purchases_max``)."""
    keys = (["abkit_segment"] if segmented else []) + ["abkit_variant", "abkit_unmatched"]
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for rows in parts:
        for row in rows:
            key = tuple(row[k] for k in keys)
            if key not in out:
                out[key] = dict(row)
                continue
            acc = out[key]
            for col, value in row.items():
                if col in keys or value is None:
                    continue
                if acc[col] is None:
                    acc[col] = value
                elif col == "n_purchases_max":
                    acc[col] = max(acc[col], value)
                else:
                    acc[col] = acc[col] + value
    return list(out.values())


def duckdb_sufficient_statistics(
    assigned: Source,
    events: Source,
    metrics: Any,
    *,
    send_date: Any,
    window_days: float = 14,
    variant_col: str = "variant",
    segment_col: str | None = None,
    id_col: str = "customer_id",
    event_col: str = "event",
    time_col: str = "timestamp",
    amount_col: str = "amount",
    event_names: Mapping[str, str] | None = None,
    threads: int | None = None,
    memory_limit: str | None = None,
    temp_directory: str | None = None,
    partitions: int | None = None,
) -> Aggregates:
    """Sufficient statistics of campaign outcomes, computed inside DuckDB from files or DataFrames.

    Equivalent to ``abkit.sufficient_statistics(abkit.outcomes(assigned, events, ...), metrics, ...)``
    (same window, exclusions, duplicate rule, errors and numbers) without loading event rows into
    pandas. ``assigned`` and ``events`` are DataFrames or CSV/Parquet files, directories or globs.
    ``metrics`` names outcome columns (``delivered, opened, clicked, repurchased, unsubscribed,
    complained, revenue, n_purchases``) or is a mapping display name -> column, or metric objects.
    ``threads``, ``memory_limit`` (e.g. ``"3GB"``) and ``temp_directory`` (for spilling) tune DuckDB.
    One pass over the events (:func:`abkit.sql.customer_aggregates_sql`: exact duplicates and then
    customers grouped on a packed key) feeds a per-customer temporary table, joined once to the
    assignment (:func:`abkit.sql.customer_statistics_sql`); DuckDB spills to ``temp_directory``
    beyond ``memory_limit``. ``partitions=k`` processes the events in ``k`` disjoint slices of
    customers (by a hash of the id), each a full scan, whose rows add up exactly (default: one per
    ~50 million Parquet rows or ~3.75 GB of CSV, measured faster than spilling). Data that will be
    refused (missing times or ids, invalid purchase amounts), windows too long to pack and inputs of
    2**31 rows or more take the general query (:func:`abkit.sql.statistics_sql`, by default in
    slices of ~10 million Parquet rows or ~750 MB of CSV), whose counts the errors quote.

    Returns :class:`~abkit.engines.Aggregates` (``.statistics``, ``.diagnostics``, ``.window``).

    >>> assigned = pd.DataFrame({"customer_id": [1, 2, 3], "variant": ["coupon", "coupon", "holdout"]})
    >>> events = pd.DataFrame({"customer_id": [1, 1, 2, 3], "event": ["delivered", "purchased", "delivered",
    ...     "purchased"], "timestamp": pd.to_datetime(["2026-05-01 09:00", "2026-05-03 10:00",
    ...     "2026-05-01 09:00", "2026-05-20 10:00"]), "amount": [None, 42.5, None, 10.0]})
    >>> agg = duckdb_sufficient_statistics(assigned, events, ["repurchased", "revenue"],
    ...                                    send_date="2026-05-01")
    >>> agg.statistics[["metric", "variant", "n", "sum", "sum_sq"]]
            metric  variant  n   sum   sum_sq
    0  repurchased   coupon  2   1.0     1.00
    1  repurchased  holdout  1   0.0     0.00
    2      revenue   coupon  2  42.5  1806.25
    3      revenue  holdout  1   0.0     0.00
    >>> agg.diagnostics["rows"].tolist()  # unknown event/customer, before, after, duplicate, counted
    [0, 0, 0, 1, 0, 3]
    """
    window = window_info(send_date, window_days)
    sources = {"assigned": _describe(assigned), "events": _describe(events)}
    con = connect(threads, memory_limit, temp_directory)
    try:
        a_cols = [id_col, variant_col] + ([segment_col] if segment_col else [])
        a_rel, _ = relation(con, assigned, "assigned", a_cols)
        e_rel, e_types = relation(con, events, "events", [id_col, event_col, time_col, amount_col])
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
            time_type=time_type(e_types[time_col]),
        )
        checks = assigned_checks_sql(
            "duckdb", assigned=a_rel, id_col=id_col, variant_col=variant_col, segment_col=segment_col
        )
        check_assigned(
            _run(con, checks, sources)[0],
            id_col=id_col,
            variant_col=variant_col,
            segment_col=segment_col,
            sources=sources,
        )
        if partitions is not None and (
            not isinstance(partitions, int) or isinstance(partitions, bool) or partitions < 1
        ):
            raise ParameterError(f"partitions must be a positive integer, got {partitions!r}")
        unit = _time_unit(e_types[time_col])
        rows = []
        fits = compact_key_fits(send_date, window_days, unit)
        if fits and _row_bound(con, e_rel, events) < _COMPACT_MAX_ROWS:
            k = partitions or _auto_partitions(con, e_rel, events, _COMPACT_SCALE)
            rows = _compact_rows(con, {**kwargs, "time_unit": unit}, k, sources)
            rows = [] if _needs_exact(rows) else _from_compact(rows)
        if not rows:  # the general query: errors quote its counts; long windows, huge inputs
            k = partitions if partitions is not None else _auto_partitions(con, e_rel, events)
            if k == 1:
                rows = _run(con, statistics_sql("duckdb", **kwargs), sources)
            else:
                parts = [
                    _run(con, statistics_sql("duckdb", partition=(i, k), **kwargs), sources)
                    for i in range(k)
                ]
                rows = _combine(parts, segment_col is not None)
        unknown: list[tuple[Any, Any]] = []
        if sum(int(r["abkit_unknown_event"] or 0) for r in rows):
            sql = unknown_events_sql("duckdb", events=e_rel, event_col=event_col, event_names=event_names)
            unknown = [(r["abkit_event"], r["abkit_rows"]) for r in _run(con, sql, sources)]
    finally:
        con.close()
    return assemble(
        rows,
        metrics,
        engine="duckdb",
        id_col=id_col,
        time_col=time_col,
        variant_col=variant_col,
        segment_col=segment_col,
        amount_col=amount_col,
        window=window,
        sources=sources,
        unknown_events=unknown,
    )


def duckdb_outcomes(
    assigned: Source,
    events: Source,
    *,
    send_date: Any,
    window_days: float = 14,
    id_col: str = "customer_id",
    variant_col: str = "variant",
    event_col: str = "event",
    time_col: str = "timestamp",
    amount_col: str = "amount",
    event_names: Mapping[str, str] | None = None,
    path: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    threads: int | None = None,
    memory_limit: str | None = None,
) -> pd.DataFrame | Path:
    """Per-customer outcomes (the table of :func:`abkit.outcomes`) computed by DuckDB.

    Without ``path`` returns a DataFrame sorted by ``id_col`` (for populations that fit in memory);
    with ``path`` writes a Parquet file atomically (refusing to overwrite unless ``overwrite=True``)
    and returns its path, never holding the rows in Python.

    >>> assigned = pd.DataFrame({"customer_id": [2, 1], "variant": ["a", "b"]})
    >>> events = pd.DataFrame({"customer_id": [1], "event": ["opened"],
    ...                        "timestamp": pd.to_datetime(["2026-05-02"]), "amount": [float("nan")]})
    >>> duckdb_outcomes(assigned, events, send_date="2026-05-01")[["customer_id", "opened", "revenue"]]
       customer_id  opened  revenue
    0            1    True      0.0
    1            2   False      0.0
    """
    sources = {"assigned": _describe(assigned), "events": _describe(events)}
    target = None if path is None else Path(path)
    if target is not None and target.exists() and not overwrite:
        raise FileExistsAbkitError(f"{str(target)!r} already exists; pass overwrite=True to replace it")
    con = connect(threads, memory_limit, None)
    try:
        a_rel, a_types = relation(con, assigned, "assigned", [id_col, variant_col])
        clash = [
            c
            for c in (
                "delivered",
                "opened",
                "clicked",
                "repurchased",
                "unsubscribed",
                "complained",
                "revenue",
                "n_purchases",
            )
            if c in a_types
        ]
        if clash:
            raise ColumnError(
                f"assigned already has column(s) {', '.join(map(repr, clash))}, which outcomes add; "
                "rename them first"
            )
        e_rel, e_types = relation(con, events, "events", [id_col, event_col, time_col, amount_col])
        checks = assigned_checks_sql("duckdb", assigned=a_rel, id_col=id_col, variant_col=variant_col)
        check_assigned(
            _run(con, checks, sources)[0],
            id_col=id_col,
            variant_col=variant_col,
            segment_col=None,
            sources=sources,
        )
        kwargs = dict(
            assigned=a_rel,
            events=e_rel,
            send_date=send_date,
            window_days=window_days,
            id_col=id_col,
            event_col=event_col,
            time_col=time_col,
            amount_col=amount_col,
            event_names=event_names,
            time_type=time_type(e_types[time_col]),
        )
        stats = _run(con, statistics_sql("duckdb", variant_col=variant_col, **kwargs), sources)
        # the checks of abkit.outcomes (null event ids or times, bad purchase amounts) raise here
        assemble(
            stats,
            ["delivered"],
            engine="duckdb",
            id_col=id_col,
            time_col=time_col,
            variant_col=variant_col,
            segment_col=None,
            amount_col=amount_col,
            window={},
            sources=sources,
        )
        sql = outcomes_sql("duckdb", **kwargs) + f" ORDER BY a.{quote_identifier(id_col, 'duckdb')}"
        if target is None:
            try:
                return con.execute(sql).df().reset_index(drop=True)
            except Exception as exc:
                raise SourceError(f"DuckDB could not compute outcomes from {sources}: {exc}") from exc
        with atomic_path(target) as tmp:
            con.execute(f"COPY ({sql}) TO {quote_literal(str(tmp), 'duckdb')} (FORMAT parquet)")
        return target
    finally:
        con.close()


def duckdb_assign(
    units: Source,
    *,
    variants: Mapping[str, float] | Sequence[str],
    salt: str,
    strata: str | Sequence[str] | None = None,
    id_col: str = "customer_id",
    method: str = "block",
    variant_col: str = "variant",
    path: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    threads: int | None = None,
) -> pd.DataFrame | Path:
    """Assign units from a DataFrame or CSV/Parquet files inside DuckDB, identical to :func:`abkit.assign`.

    Runs :func:`abkit.sql.assignment_sql` (both ``"block"`` and ``"hash"``); ids must be unique,
    non-null integers or strings (checked). Without ``path`` returns a DataFrame sorted by
    ``id_col``; with ``path`` writes Parquet atomically and returns the path.

    >>> units = pd.DataFrame({"customer_id": range(10), "segment": ["a", "b"] * 5})
    >>> out = duckdb_assign(units, variants=["coupon", "holdout"], salt="wb", strata="segment")
    >>> from abkit.assignment import assign
    >>> ref = assign(units, variants=["coupon", "holdout"], salt="wb", strata="segment")
    >>> out["variant"].tolist() == ref["variant"].tolist()
    True
    """
    target = None if path is None else Path(path)
    if target is not None and target.exists() and not overwrite:
        raise FileExistsAbkitError(f"{str(target)!r} already exists; pass overwrite=True to replace it")
    strata_cols = [] if strata is None else ([strata] if isinstance(strata, str) else list(strata))
    con = connect(threads, None, None)
    try:
        rel, types = relation(con, units, "units", [id_col, *strata_cols])
        if variant_col in types:
            raise ParameterError(
                f"units already has a {variant_col!r} column; drop it or pass another variant_col="
            )
        id_type = types[id_col].upper()
        if not (id_type in ("VARCHAR", "UUID") or "INT" in id_type):
            raise DataError(
                f"units column {id_col!r} has type {types[id_col]}; ids must be integers or strings so that "
                "their text form matches Python's str(id)"
            )
        idq = quote_identifier(id_col, "duckdb")
        counts = _run(
            con,
            f"SELECT COUNT(*) AS n, COUNT(DISTINCT {idq}) AS d, COUNT({idq}) AS nn FROM {rel} AS t",
            {"units": _describe(units)},
        )[0]
        if counts["nn"] != counts["n"] or counts["d"] != counts["n"]:
            raise DataError(
                f"units column {id_col!r} has {counts['n'] - counts['nn']} null and "
                f"{counts['nn'] - counts['d']} duplicated id(s); each unit must appear once with an id"
            )
        sql = assignment_sql(
            "duckdb",
            table=rel,
            salt=salt,
            variants=variants,
            id_col=id_col,
            method=method,
            strata=strata,
            variant_col=variant_col,
        )
        sql = f"SELECT * FROM ({sql}) AS x ORDER BY {idq}"
        if target is None:
            return con.execute(sql).df()
        with atomic_path(target) as tmp:
            con.execute(f"COPY ({sql}) TO {quote_literal(str(tmp), 'duckdb')} (FORMAT parquet)")
        return target
    finally:
        con.close()
