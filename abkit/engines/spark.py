"""Apache Spark engine: the outcome aggregation and the assignment as Spark SQL, for data beyond one machine.

Sources are Spark DataFrames, table names in the session's catalog, or Parquet/CSV paths (local
files, directories, globs, or cluster URLs such as ``s3a://bucket/events/``). The same SQL as the
other engines (:mod:`abkit.sql`, dialect ``"spark"``) runs on the cluster; only the per-(segment,
variant) aggregates are collected, as plain rows (no pandas conversion, so PySpark's pandas
version constraints do not apply). Use a session time zone of UTC
(``spark.sql.session.timeZone=UTC``) so that timestamps compare as in pandas.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from abkit.engines import Aggregates, assemble, check_assigned, missing_columns_error, window_info
from abkit.engines.duckdb import resolve_files
from abkit.errors import AbkitError, DataError, ParameterError, SourceError
from abkit.sql import assigned_checks_sql, assignment_sql, statistics_sql, table_ref, unknown_events_sql

__all__ = ["spark_assign", "spark_sufficient_statistics"]


def _is_dataframe(obj: Any) -> bool:
    return type(obj).__name__ == "DataFrame" and hasattr(obj, "createOrReplaceTempView")


_HADOOP_GLOB = re.compile(r"([\\{}\[\]*?])")


def hadoop_literal(path: str) -> str:
    """A local file path that Spark (Hadoop's glob) reads as exactly that file: ``{}[]*?\\`` escaped.

    >>> print(hadoop_literal("/data/part[1].parquet"))
    /data/part\\[1\\].parquet
    """
    return _HADOOP_GLOB.sub(r"\\\1", path)


def load(spark: Any, source: Any, what: str) -> tuple[Any, str]:
    """A Spark DataFrame for ``source`` (a DataFrame, catalog table or Parquet/CSV path) and its description.

    Unreadable sources raise :class:`~abkit.errors.SourceError` naming ``what`` and the source.
    """
    if _is_dataframe(source):
        return source, "<Spark DataFrame>"
    if isinstance(source, os.PathLike) or (isinstance(source, str) and ("/" in source or "*" in source)):
        text = os.fspath(source)
        if "://" in text:  # a cluster path: Spark checks it
            kind = "csv" if text.lower().rstrip("/").endswith((".csv", ".csv.gz", ".tsv")) else "parquet"
            files: list[str] = [text]
        else:
            kind, files = resolve_files(text, what)
        if "://" not in text:  # listed local files are literal paths, never Hadoop glob patterns
            files = [hadoop_literal(f) for f in files]
        try:
            reader = spark.read
            frame = (
                reader.parquet(*files)
                if kind == "parquet"
                else reader.option("header", True).option("inferSchema", True).csv(files)
            )
        except Exception as exc:
            hint = ""
            if "NANOS" in str(exc):
                hint = (
                    "; Spark reads microsecond timestamps only: write the files with "
                    "pandas.DataFrame.to_parquet(..., coerce_timestamps='us')"
                )
            raise SourceError(
                f"{what} source {text!r} cannot be read by Spark: {_first_line(exc)}{hint}"
            ) from exc
        return frame, repr(text)
    if isinstance(source, str) and source:
        try:
            return spark.table(table_ref(source, "spark")), f"table {source!r}"
        except Exception as exc:
            raise SourceError(
                f"{what} source table {source!r} cannot be read by Spark: {_first_line(exc)}"
            ) from exc
    raise ParameterError(
        f"{what} must be a Spark DataFrame, a table name or a Parquet/CSV path, got {type(source).__name__}"
    )


def _time_type(spark_type: str) -> str:
    """Spark ``timestamp`` columns are instants ("aware"), ``timestamp_ntz`` and ``date`` naive."""
    if spark_type == "timestamp":
        return "aware"
    if spark_type.startswith(("timestamp", "date")):
        return "naive"
    return "text"


def check_utc_session(spark: Any) -> None:
    """Refuse a Spark session whose time zone is not UTC (timestamps are compared in it).

    Raises :class:`~abkit.errors.SourceError` with the setting to change.
    """
    zone = str(spark.conf.get("spark.sql.session.timeZone"))
    if zone not in ("UTC", "Etc/UTC", "GMT", "Z", "+00:00"):
        raise SourceError(
            f"the Spark session's time zone is {zone!r}; abkit compares event times in UTC: "
            "set spark.sql.session.timeZone=UTC (spark-submit --conf) first"
        )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _view(frame: Any, what: str) -> str:
    name = f"abkit_{what}_{uuid.uuid4().hex[:12]}"
    frame.createOrReplaceTempView(name)
    return name


def _collect(spark: Any, sql: str, where: str) -> list[dict[str, Any]]:
    try:
        return [row.asDict() for row in spark.sql(sql).collect()]
    except AbkitError:
        raise
    except Exception as exc:
        raise SourceError(f"Spark could not compute the aggregates from {where}: {_first_line(exc)}") from exc


def spark_sufficient_statistics(
    spark: Any,
    metrics: Any,
    *,
    assigned: Any,
    events: Any,
    send_date: Any,
    window_days: float = 14,
    variant_col: str = "variant",
    segment_col: str | None = None,
    id_col: str = "customer_id",
    event_col: str = "event",
    time_col: str = "timestamp",
    amount_col: str = "amount",
    event_names: Mapping[str, str] | None = None,
) -> Aggregates:
    """Sufficient statistics of campaign outcomes computed by Spark (``spark`` is a SparkSession).

    ``assigned`` and ``events`` are Spark DataFrames, catalog table names or Parquet/CSV paths.
    Definitions, errors and numbers are those of ``abkit.sufficient_statistics(abkit.outcomes(...))``;
    the work runs as two Spark SQL queries and only the small aggregates are collected.
    """
    window = window_info(send_date, window_days)
    check_utc_session(spark)
    a_frame, a_desc = load(spark, assigned, "assigned")
    e_frame, e_desc = load(spark, events, "events")
    sources = {"assigned": a_desc, "events": e_desc}
    a_cols = [id_col, variant_col] + ([segment_col] if segment_col else [])
    missing = [c for c in a_cols if c not in a_frame.columns]
    if missing:
        raise missing_columns_error(a_desc, "assigned", missing, a_frame.columns)
    missing = [c for c in (id_col, event_col, time_col, amount_col) if c not in e_frame.columns]
    if missing:
        raise missing_columns_error(e_desc, "events", missing, e_frame.columns)
    e_time_type = dict(e_frame.dtypes)[time_col]
    views = [_view(a_frame, "assigned"), _view(e_frame, "events")]
    try:
        kwargs = dict(
            assigned=f"(SELECT * FROM {views[0]})",
            events=f"(SELECT * FROM {views[1]})",
            send_date=send_date,
            window_days=window_days,
            id_col=id_col,
            variant_col=variant_col,
            segment_col=segment_col,
            event_col=event_col,
            time_col=time_col,
            amount_col=amount_col,
            event_names=event_names,
            time_type=_time_type(str(e_time_type)),
        )
        where = f"assigned {a_desc} and events {e_desc}"
        checks = assigned_checks_sql(
            "spark",
            assigned=kwargs["assigned"],
            id_col=id_col,
            variant_col=variant_col,
            segment_col=segment_col,
        )
        check_assigned(
            _collect(spark, checks, where)[0],
            id_col=id_col,
            variant_col=variant_col,
            segment_col=segment_col,
            sources=sources,
        )
        rows = _collect(spark, statistics_sql("spark", **kwargs), where)
        unknown: list[tuple[Any, Any]] = []
        if sum(int(r["abkit_unknown_event"] or 0) for r in rows):
            sql = unknown_events_sql(
                "spark", events=kwargs["events"], event_col=event_col, event_names=event_names
            )
            unknown = [(r["abkit_event"], r["abkit_rows"]) for r in _collect(spark, sql, where)]
    finally:
        for name in views:
            spark.catalog.dropTempView(name)
    return assemble(
        rows,
        metrics,
        engine="spark",
        id_col=id_col,
        time_col=time_col,
        variant_col=variant_col,
        segment_col=segment_col,
        amount_col=amount_col,
        window=window,
        sources=sources,
        unknown_events=unknown,
    )


def spark_assign(
    spark: Any,
    units: Any,
    *,
    variants: Mapping[str, float] | Sequence[str],
    salt: str,
    strata: str | Sequence[str] | None = None,
    id_col: str = "customer_id",
    method: str = "block",
    variant_col: str = "variant",
) -> Any:
    """A Spark DataFrame: ``units`` with a ``variant_col`` column, identical to :func:`abkit.assign`.

    Runs :func:`abkit.sql.assignment_sql` (dialect ``"spark"``, hash by ``sha2``) lazily; nothing is
    collected. Ids must be unique non-null integers or strings (checked with one aggregation).
    """
    frame, desc = load(spark, units, "units")
    strata_cols = [] if strata is None else ([strata] if isinstance(strata, str) else list(strata))
    missing = [c for c in [id_col, *strata_cols] if c not in frame.columns]
    if missing:
        raise missing_columns_error(desc, "units", missing, frame.columns)
    if variant_col in frame.columns:
        raise ParameterError(
            f"units already has a {variant_col!r} column; drop it or pass another variant_col="
        )
    id_type = str(dict(frame.dtypes)[id_col])
    if not (id_type == "string" or id_type in ("tinyint", "smallint", "int", "bigint")):
        raise DataError(f"units column {id_col!r} has type {id_type}; ids must be integers or strings")
    view = _view(frame, "units")
    idq = table_ref(id_col, "spark")
    check = _collect(
        spark, f"SELECT COUNT(*) AS n, COUNT(DISTINCT {idq}) AS d, COUNT({idq}) AS nn FROM {view}", desc
    )[0]
    if check["nn"] != check["n"] or check["d"] != check["n"]:
        raise DataError(
            f"units column {id_col!r} has {check['n'] - check['nn']} null and {check['nn'] - check['d']} "
            "duplicated id(s); each unit must appear once with an id"
        )
    sql = assignment_sql(
        "spark",
        table=f"(SELECT * FROM {view})",
        salt=salt,
        variants=variants,
        id_col=id_col,
        method=method,
        strata=strata,
        variant_col=variant_col,
    )
    try:
        return spark.sql(sql)
    except Exception as exc:
        raise SourceError(f"Spark could not assign units from {desc}: {_first_line(exc)}") from exc
