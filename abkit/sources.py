"""An experiment's event data read through its engine: pandas, DuckDB, PostgreSQL or Spark.

The spec's ``[data] engine`` (see :class:`~abkit.experiment.DataSources`) says where the events live:

* ``"pandas"``: one CSV or Parquet file, loaded in memory; outcomes are per customer
  (:func:`abkit.outcomes`).
* ``"duckdb"``: CSV/Parquet files, directories (``"data/events/"``) or globs
  (``"data/events/*.parquet"``) of any size, scanned out of core (automatic for a directory or glob).
* ``"postgres"``: ``events`` is a table name or a ``SELECT`` query; the URL comes from the environment
  variable named by ``url_env`` (default ``ABKIT_DATABASE_URL``), never from the spec.
* ``"spark"``: ``events`` is a path, a glob, a cluster URL (``s3a://...``) or a catalog table; the
  active Spark session is used, else one is started (``spark_master``, else ``$ABKIT_SPARK_MASTER``,
  else ``local[*]``).

With an engine, only the sufficient statistics come back (one row per segment × variant: the unit
count ``n``, each rate's successes, each mean's sum and ``<m>_sumsq``), which :func:`abkit.evaluate`
reads with ``n_col="n"``. The numbers are those of the pandas path. The assignment stays the file
``abkit assign`` saved (one row per customer): DuckDB reads it directly, PostgreSQL receives it inside
the query as arrays (no write access to the database needed), Spark as a small DataFrame.
"""

from __future__ import annotations

import difflib
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from abkit._validate import check_columns, check_finite, resolve_control
from abkit.attribution import EVENT_NAMES, OUTCOME_COLUMNS, outcomes
from abkit.engines import duckdb as duckdb_engine
from abkit.engines import postgres as postgres_engine
from abkit.engines import redact
from abkit.engines import spark as spark_engine
from abkit.errors import DataError, ParameterError, SourceError, SpecError
from abkit.evaluation import check_costs, profit_moments, profit_table
from abkit.experiment import Experiment
from abkit.external import row_ids
from abkit.metrics import POOLED_SEGMENT, Mean, Proportion
from abkit.sql import quote_identifier, quote_literal, utc_time_sql
from abkit.tables import local_midnight, read_table, screen_rows, utc_naive

__all__ = [
    "ENGINE_METRICS",
    "N_COL",
    "EventSource",
    "OutcomeData",
    "customer_outcomes",
    "economics_from_aggregates",
    "event_source",
    "funnel",
    "match_ids",
    "outcome_data",
    "read_events",
    "read_outcomes",
]

#: Unit-count column of the aggregated outcome table (``evaluate(..., n_col=N_COL)``).
N_COL = "n"
#: Outcome columns an engine aggregates for the report: rates (successes) and means (sum, sum of squares).
ENGINE_METRICS: dict[str, str] = {
    "delivered": "proportion",
    "opened": "proportion",
    "clicked": "proportion",
    "repurchased": "proportion",
    "unsubscribed": "proportion",
    "complained": "proportion",
    "revenue": "mean",
    "n_purchases": "mean",
}
_FUNNEL_STEPS = ("delivered", "opened", "clicked", "repurchased")


class OutcomeData(NamedTuple):
    """Outcomes for the report: per customer (``n_col`` None) or aggregated per segment × variant."""

    data: pd.DataFrame
    diagnostics: pd.DataFrame
    n_col: str | None


# so that pdoc resolves the annotations of __new__ here (it names "namedtuple_<class>" otherwise)
OutcomeData.__new__.__module__ = __name__


@dataclass(frozen=True)
class EventSource:
    """The events of one experiment, with the engine that reads them; make one with :func:`event_source`.

    ``description`` names the source in messages (database URLs with the password replaced by ``***``).
    """

    experiment: Experiment
    engine: str
    description: str
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    # -- the last event (staleness check) ------------------------------------------------------

    def last_event(self) -> pd.Timestamp:
        """Latest event timestamp in the source (``NaT`` when it has no parseable one), UTC-naive.

        The engines run one ``MAX`` query (DuckDB reads it from Parquet metadata).
        """
        ts = self.experiment.data.columns.timestamp
        if self.engine == "pandas":
            events = self._pandas_events()
            if ts not in events.columns:
                raise SourceError(
                    f"events source {self.description} lacks column {ts!r}; it has: "
                    f"{', '.join(map(str, events.columns[:20]))}"
                )
            return _as_naive_utc(pd.to_datetime(events[ts], errors="coerce").max())
        if self.engine == "duckdb":
            return _as_naive_utc(self._duckdb_last(ts))
        if self.engine == "postgres":
            return _as_naive_utc(self._postgres_last(ts))
        return _as_naive_utc(self._spark_last(ts))

    # -- outcomes ------------------------------------------------------------------------------

    def outcome_data(
        self, assigned: pd.DataFrame, *, window_days: float, metrics: Sequence[str] = ()
    ) -> OutcomeData:
        """Outcomes of ``assigned`` (the saved assignment, segment column named ``segment``).

        ``window_days`` counts from the send date (the report cuts it at its as-of date). ``metrics``
        are checked against what an engine computes (custom metrics need the pandas engine).
        """
        exp = self.experiment
        cols = exp.data.columns
        send = pd.Timestamp(exp.dates.send_date)
        if self.engine == "pandas":
            events = (self._pandas_events(), self._cache["events_diagnostics"])
            return customer_outcomes(exp, assigned, events=events, window_days=window_days, metrics=metrics)
        unknown = [m for m in metrics if m not in ENGINE_METRICS]
        if unknown:
            key = "metrics.custom" if exp.metrics.custom else "data.engine"
            raise SpecError(
                f"{exp.locate(key)}: metric(s) "
                f"{', '.join(map(repr, unknown))} are not outcomes engine {self.engine!r} computes "
                f"({', '.join(ENGINE_METRICS)}); custom metrics need engine = 'pandas'"
            )
        segment_col = "segment" if "segment" in assigned.columns else None
        keep = [cols.customer_id, "variant"] + ([segment_col] if segment_col else [])
        units = assigned[keep].copy()
        units["variant"] = units["variant"].astype(str).astype(object)
        if segment_col:
            units[segment_col] = units[segment_col].astype(str).astype(object)
        specs = {
            name: (Proportion(name) if kind == "proportion" else Mean(name))
            for name, kind in ENGINE_METRICS.items()
        }
        common: dict[str, Any] = {
            "send_date": send,
            "window_days": window_days,
            "variant_col": "variant",
            "segment_col": segment_col,
            "id_col": cols.customer_id,
            "event_col": cols.event,
            "time_col": cols.timestamp,
            "amount_col": cols.amount,
        }
        if self.engine == "duckdb":
            agg = duckdb_engine.duckdb_sufficient_statistics(units, self._location(), specs, **common)
        elif self.engine == "postgres":
            agg = postgres_engine.postgres_sufficient_statistics(
                self._url(),
                specs,
                assigned=_postgres_units(units, cols.customer_id, segment_col),
                events=str(exp.data.events),
                **common,
            )
        else:
            spark = self._spark()
            agg = spark_engine.spark_sufficient_statistics(
                spark,
                specs,
                assigned=_spark_units(spark, units, cols.customer_id, segment_col),
                events=self._location(),
                **common,
            )
        return OutcomeData(_wide(agg.statistics, segment_col), agg.diagnostics, N_COL)

    # -- engine plumbing -----------------------------------------------------------------------

    def _location(self) -> str:
        """Events path (absolute, relative ones resolved from the experiment folder) or table name."""
        raw = str(self.experiment.data.events)
        if self.engine == "spark" and not _looks_like_path(raw):
            return raw
        if "://" in raw or os.path.isabs(os.path.expanduser(raw)):
            return os.path.expanduser(raw)
        return os.path.join(str(self.experiment.folder), raw)

    def _pandas_events(self) -> pd.DataFrame:
        if "events" not in self._cache:
            self._cache["events"], self._cache["events_diagnostics"] = read_events(self.experiment)
        return self._cache["events"]

    def _duckdb_last(self, ts: str) -> Any:
        con = duckdb_engine.connect(None, None, None)
        try:
            rel, types = duckdb_engine.relation(con, self._location(), "events", [ts])
            col = quote_identifier(ts, "duckdb")
            kind = duckdb_engine.time_type(types[ts])
            if kind == "text":
                col = f"timezone('UTC', TRY_CAST({col} AS TIMESTAMPTZ))"
            elif kind == "aware":
                col = utc_time_sql(col, "duckdb", kind)
            try:
                return con.execute(f"SELECT MAX({col}) FROM {rel} AS t").fetchall()[0][0]
            except Exception as exc:
                raise SourceError(
                    f"events source {self.description} cannot be read by DuckDB: {exc}"
                ) from exc
        finally:
            con.close()

    def _url(self) -> str:
        exp = self.experiment
        name = exp.data.url_env or "ABKIT_DATABASE_URL"
        url = os.environ.get(name, "").strip()
        if not url:
            where = exp.locate("data.url_env")
            raise SourceError(
                f"{where}: data.url_env: environment variable {name} is not set; export the PostgreSQL "
                f"URL there (e.g. {name}=postgresql://user:password@host:5432/db) before running abkit"
            )
        return url

    def _postgres_last(self, ts: str) -> Any:
        rel, what = postgres_engine.as_relation(str(self.experiment.data.events), "events")
        sql = f"SELECT MAX({quote_identifier(ts, 'postgres')}) AS abkit_last FROM {rel} AS abkit_q"
        url = self._url()
        try:
            return postgres_engine.postgres_query(url, sql)[0]["abkit_last"]
        except SourceError as exc:  # the message names the server (password redacted)
            raise SourceError(f"events source data.events ({what}): {exc}") from None

    def _spark(self) -> Any:
        if "spark" in self._cache:
            return self._cache["spark"]
        try:
            with warnings.catch_warnings():  # pandas 3 is not fully supported; abkit never converts
                warnings.filterwarnings("ignore", message="PySpark does not yet fully support")
                from pyspark.sql import SparkSession
        except ImportError:
            raise SourceError(
                "data.engine = 'spark' needs pyspark: pip install 'abkit[spark]' (and Java 17+)"
            ) from None
        spark = SparkSession.getActiveSession()
        if spark is None:
            exp = self.experiment
            master = exp.data.spark_master or os.environ.get("ABKIT_SPARK_MASTER") or "local[*]"
            try:
                spark = (
                    SparkSession.builder.master(master)
                    .appName(f"abkit-{exp.name}")
                    .config("spark.sql.session.timeZone", "UTC")
                    .getOrCreate()
                )
            except Exception as exc:
                raise SourceError(f"cannot start a Spark session on master {master!r}: {exc}") from exc
        spark_engine.check_utc_session(spark)
        self._cache["spark"] = spark
        return spark

    def _spark_last(self, ts: str) -> Any:
        frame, desc = spark_engine.load(self._spark(), self._location(), "events")
        if ts not in frame.columns:
            raise SourceError(f"events source {desc} lacks column {ts!r}; it has: {', '.join(frame.columns)}")
        col = quote_identifier(ts, "spark")
        try:
            row = frame.selectExpr(f"CAST(MAX(CAST({col} AS TIMESTAMP)) AS STRING) AS abkit_last").collect()
        except Exception as exc:
            raise SourceError(f"events source {desc} cannot be read by Spark: {exc}") from exc
        return row[0][0]


def event_source(experiment: Experiment | str | os.PathLike[str]) -> EventSource:
    """The experiment's events and the engine that reads them (``[data] engine``).

    >>> import tempfile, pathlib
    >>> from abkit.experiment import scaffold
    >>> with tempfile.TemporaryDirectory() as d:
    ...     text = scaffold("w", send_date="2026-06-01").replace(
    ...         '"data/events.parquet"', '"data/events/*.parquet"')
    ...     _ = pathlib.Path(d, "experiment.toml").write_text(text)
    ...     source = event_source(d)
    >>> source.engine, source.description.endswith("data/events/*.parquet")
    ('duckdb', True)
    """
    exp = experiment if isinstance(experiment, Experiment) else Experiment.load(experiment)
    engine = exp.data.engine
    if engine == "pandas":
        description = str(exp.data_path("events"))
    elif engine == "postgres":
        try:  # one read-only SELECT or a table name, refused here before any connection or notebook
            postgres_engine.as_relation(str(exp.data.events), "data.events")
        except SourceError as exc:
            where = exp.locate("data.events")
            raise SourceError(f"{where}: {exc}") from None
        url = os.environ.get(exp.data.url_env or "ABKIT_DATABASE_URL", "")
        text = " ".join(str(exp.data.events).split())
        text = text if len(text) <= 80 else text[:77] + "..."
        where = f"PostgreSQL at {redact(url)}" if url else f"PostgreSQL (${exp.data.url_env})"
        description = f"data.events {text!r} in {where}"
    else:
        description = EventSource(exp, engine, "")._location()
    return EventSource(exp, engine, description)


def outcome_data(
    experiment: Experiment | str | os.PathLike[str],
    *,
    assigned: pd.DataFrame,
    window_days: float,
    metrics: Sequence[str] = (),
) -> OutcomeData:
    """Outcomes of the experiment's assigned customers, read through its engine.

    For ``engine = "pandas"`` the per-customer table of :func:`abkit.outcomes` (``n_col`` None); for
    the others the aggregated table (one row per segment × variant, ``n_col`` = :data:`N_COL`), built
    from the engine's sufficient statistics. Both come with the diagnostics of the event rows.
    """
    return event_source(experiment).outcome_data(assigned, window_days=window_days, metrics=metrics)


# ----------------------------------------------------------------------------------------------
# per-customer outcomes (pandas): events, an outcomes table, or both

#: The event each built-in outcome column counts (``[data.event_names]`` maps it to the data's name).
METRIC_EVENTS: dict[str, str] = {
    "delivered": "delivered",
    "opened": "opened",
    "clicked": "clicked",
    "repurchased": "purchased",
    "revenue": "purchased",
    "n_purchases": "purchased",
    "unsubscribed": "unsubscribed",
    "complained": "complained",
}
_ROW_REASONS = {
    "missing_customer_id": "customer id is missing",
    "bad_timestamp": "timestamp is missing or cannot be read",
    "bad_amount": "amount is not a number",
    "negative_amount": "amount is negative",
}


def _is_text(ids: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(ids.dtype)


def match_ids(ids: pd.Series, like: pd.Series) -> pd.Series:
    """``ids`` in the type of ``like`` (the assignment's ids), so that ``3`` meets ``"3"``.

    Integer ids meeting text ids become text; text ids meeting integer ids become integers when every
    one is written as a plain integer (``"3"``, not ``"0003"``, which never equals an integer id).

    >>> match_ids(pd.Series([3, 12]), pd.Series(["3", "7"])).tolist()
    ['3', '12']
    >>> match_ids(pd.Series(["3", "0004"]), pd.Series([3, 4])).tolist()
    ['3', '0004']
    """
    if _is_text(ids) == _is_text(like):
        return ids
    if _is_text(like):
        return ids.astype("Int64").astype("string").astype(object).where(ids.notna(), None)
    text = ids.astype("string")
    plain = text.str.fullmatch(r"-?(?:0|[1-9][0-9]*)").fillna(False)
    if bool(plain.all()):
        return pd.to_numeric(text).astype(
            like.dtype if pd.api.types.is_integer_dtype(like.dtype) else "int64"
        )
    return ids


def _among(values: pd.Series, unique: pd.Series) -> np.ndarray:
    """Which ``values`` are in ``unique`` (distinct ids), by hashing (Arrow strings' isin loops in Python)."""
    return pd.Index(unique).get_indexer(pd.Index(values)) >= 0


def read_events(experiment: Experiment) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The events file (``engine = "pandas"``) with the spec's column names and timestamps in naive UTC.

    Columns of ``[data.columns.events]`` are renamed to those of ``[data.columns]``; timestamps are
    read with ``[data] timestamp_format`` and ``timezone`` (:func:`abkit.tables.utc_naive`); ids stay
    text. Rows without an id, with an unreadable timestamp, or with a non-numeric or negative amount
    are dropped and counted (the second table, ``reason, rows, detail``), up to ``[data]
    max_bad_share``; above it :class:`~abkit.errors.DataError` names the counts and examples.
    """
    exp = experiment
    data, flat, own = exp.data, exp.data.columns, exp.data.columns_for("events")
    path = exp.data_path("events", needed_by="report")
    events = read_table(
        path, what="events", encoding=data.encoding, sheet=data.sheet, id_cols=[own.customer_id]
    )
    missing = [c for c in (own.customer_id, own.event, own.timestamp) if c not in events.columns]
    if missing:
        raise SourceError(
            f"events source {path.name} lacks column(s) {', '.join(map(repr, missing))}; it has: "
            f"{', '.join(map(str, events.columns[:20]))}; map yours in [data.columns] "
            "(or [data.columns.events])"
        )
    stamps = utc_naive(events[own.timestamp], timezone=data.timezone, format=data.timestamp_format)
    if own.amount in events.columns:
        raw_amount = events[own.amount]
        if pd.api.types.is_bool_dtype(raw_amount.dtype):
            raise DataError(f"events source {path.name}: column {own.amount!r} holds true/false, not amounts")
        amount = pd.to_numeric(raw_amount, errors="coerce")
        bad_amount = (amount.isna() & raw_amount.notna()).to_numpy()
        negative = (amount < 0).fillna(False).to_numpy()
    else:
        amount = pd.Series(np.nan, index=events.index)
        bad_amount = negative = np.zeros(len(events), dtype=bool)
    fmt = f" (format {data.timestamp_format!r})" if data.timestamp_format else " (ISO 8601)"
    kept, diagnostics = screen_rows(
        events,
        {
            "missing_customer_id": events[own.customer_id].isna().to_numpy(),
            "bad_timestamp": stamps.isna().to_numpy(),
            "bad_amount": bad_amount,
            "negative_amount": negative,
        },
        what=f"events source {path.name}",
        max_share=data.max_bad_share,
        details={
            **_ROW_REASONS,
            "bad_timestamp": f"timestamp in column {own.timestamp!r} is missing or not a time{fmt}",
            "bad_amount": f"amount in column {own.amount!r} is not a number",
            "negative_amount": f"amount in column {own.amount!r} is negative",
        },
        show=[own.customer_id, own.timestamp, own.amount],
    )
    kept = kept.copy()
    kept[own.timestamp] = stamps.loc[kept.index]
    kept[own.amount] = amount.loc[kept.index].astype("float64")
    renames = {getattr(own, k): getattr(flat, k) for k in ("customer_id", "event", "timestamp", "amount")}
    kept = kept.rename(columns={a: b for a, b in renames.items() if a != b})
    return kept.reset_index(drop=True), diagnostics


def read_outcomes(experiment: Experiment) -> pd.DataFrame:
    """The per-customer outcomes table (``[data] outcomes``), its columns named as in ``[data.columns]``.

    Its ``[data.columns.outcomes]`` id, variant and segment columns are renamed to the flat names
    (``[data.columns] customer_id``, ``"variant"``, ``"segment"``); ids stay text. Without an id
    column the row number (1, 2, ...) is the id, as ``abkit import`` records it for the same file.
    """
    exp = experiment
    data, flat, own = exp.data, exp.data.columns, exp.data.columns_for("outcomes")
    path = exp.data_path("outcomes", needed_by="report")
    table = read_table(
        path, what="outcomes", encoding=data.encoding, sheet=data.sheet, id_cols=[own.customer_id]
    )
    renames = {own.customer_id: flat.customer_id, own.variant: "variant", own.segment: "segment"}
    table = table.rename(columns={a: b for a, b in renames.items() if a != b and a in table.columns})
    if flat.customer_id not in table.columns:
        table.insert(0, flat.customer_id, row_ids(table))  # as `abkit import` records them: "1", "2", ...
    return table


def _unknown_names(events: pd.DataFrame, event_col: str, known: set[str]) -> pd.Series:
    names = events[event_col].astype("string").fillna("<missing>")
    return names[~names.isin(known)].value_counts()


def _check_event_metrics(
    exp: Experiment,
    frame: pd.DataFrame,
    events: pd.DataFrame,
    diagnostics: pd.DataFrame,
    metrics: Sequence[str],
    known: set[str],
    replaced: set[str],
) -> None:
    """Refuse results that would be empty because event names or ids do not match the assignment."""
    flat = exp.data.columns
    where = f"events source {exp.data.events}"
    counts = dict(zip(diagnostics["reason"], diagnostics["rows"], strict=True))
    unknown = _unknown_names(events, flat.event, known)
    if len(events) and counts.get("counted", 0) == 0:
        reasons = [f"{int(n):,} {r.replace('_', ' ')}" for r, n in counts.items() if r != "counted" and n]
        why = ""
        if counts.get("unknown_customer", 0) and counts.get("unknown_customer", 0) >= counts.get(
            "unknown_event", 0
        ):
            ids, eids = frame[flat.customer_id], events[flat.customer_id]
            why = (
                f"; no customer id matched: assigned ids look like {ids.iloc[0]!r} "
                f"({'text' if _is_text(ids) else 'numbers'}), event ids like {eids.iloc[0]!r} "
                f"({'text' if _is_text(eids) else 'numbers'}): check data.columns.customer_id and the "
                "ids' format"
            )
        elif len(unknown):
            shown = ", ".join(f"{n!r}" for n in unknown.index[:5])
            why = f"; only unrecognised event names ({shown}): map them in [data.event_names]"
        raise DataError(
            f"{where}: no event row matched an assigned customer inside the window "
            f"({', '.join(reasons)}){why}; nothing to report"
        )
    if not len(unknown):
        return
    present = set(events[flat.event].dropna().astype(str))
    for metric in metrics:
        if metric in replaced or metric not in METRIC_EVENTS:
            continue
        expected = exp.data.event_names.get(METRIC_EVENTS[metric], METRIC_EVENTS[metric])
        if expected in present or frame[metric].astype(bool).any():
            continue
        names = [str(n) for n in unknown.index]
        close = [n for n in names if n.casefold() == expected.casefold()] or difflib.get_close_matches(
            expected, names, n=1, cutoff=0.75
        )
        if close:
            found = close[0]
            raise DataError(
                f"{where}: metric {metric!r} counts {expected!r} events, and there are none, but "
                f"{int(unknown[found]):,} rows are named {found!r}: {found!r} looks like {expected!r}; "
                f"rename them in the file or add [data.event_names] {METRIC_EVENTS[metric]} = {found!r}"
            )
        if metric == exp.metrics.primary:
            shown = ", ".join(f"{n!r} ({int(c):,})" for n, c in unknown.head(5).items())
            raise DataError(
                f"{where}: the primary metric {metric!r} counts {expected!r} events, and there are none; "
                f"unrecognised event names: {shown}; map yours in [data.event_names]"
            )


def _metric_values(
    exp: Experiment, frame: pd.DataFrame, metric: str, column: str, kind: str, where: str
) -> pd.Series:
    values = frame[column]
    missing = int(values.isna().sum())
    if missing:
        raise DataError(
            f"{where}: column {column!r} (metric {metric!r}) has {missing:,} empty value(s) among the "
            "assigned "
            "customers; write 0 (or false) where nothing happened"
        )
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype(bool) if kind == "rate" else values.astype("float64")
    numeric = (
        pd.to_numeric(values, errors="coerce") if not pd.api.types.is_numeric_dtype(values.dtype) else values
    )
    if numeric.isna().any():
        text = values.astype("string").str.strip().str.lower()
        truth = {"true": True, "false": False, "yes": True, "no": False, "1": True, "0": False}
        mapped = text.map(truth)
        if kind == "rate" and mapped.notna().all():
            return mapped.astype(bool)
        bad = values[numeric.isna()].iloc[0]
        raise DataError(
            f"{where}: column {column!r} (metric {metric!r}) holds {bad!r}, which is not a number"
            + (" or true/false" if kind == "rate" else "")
        )
    if kind == "rate":
        odd = ~numeric.isin([0, 1])
        if odd.any():
            raise DataError(
                f'{where}: column {column!r} (metric {metric!r}, kind = "rate") holds '
                f"{numeric[odd].iloc[0]!r}; "
                'a rate column holds 0/1 or true/false: declare kind = "mean" for amounts or counts'
            )
        return numeric.astype(bool)
    return numeric.astype("float64")


def customer_outcomes(
    experiment: Experiment,
    assigned: pd.DataFrame,
    *,
    window_days: float,
    events: tuple[pd.DataFrame, pd.DataFrame] | None = None,
    metrics: Sequence[str] = (),
) -> OutcomeData:
    """Per-customer outcomes of ``assigned`` from the events, the outcomes table, or both (``n_col`` None).

    The window starts at midnight of ``send_date`` in ``[data] timezone`` and lasts ``window_days``.
    ``events`` is :func:`read_events`' pair (None: read it when ``data.events`` is declared). Built-in
    outcome columns come from the events (:func:`abkit.outcomes`); a declared metric's column comes
    from the outcomes table when it has it (which replaces the events' column of the same name), else
    from the events named like the column (a rate: at least one such event in the window; a mean:
    the sum of their amounts). Outcome rows of unknown customers and assigned customers without an
    outcome row are dropped and counted, up to ``[data] max_bad_share``.
    """
    exp = experiment
    data, flat = exp.data, exp.data.columns
    id_col = flat.customer_id
    start = local_midnight(exp.dates.send_date, data.timezone)
    table = read_outcomes(exp) if data.outcomes else None
    table_cols = set(table.columns) - {id_col, "variant", "segment"} if table is not None else set()
    definitions = exp.metrics.define
    columns = {m: (definitions[m].column if m in definitions else m) for m in metrics}
    parts: list[pd.DataFrame] = []
    frame = assigned
    if table is not None:
        where = f"outcomes source {data.outcomes}"
        table[id_col] = match_ids(table[id_col], assigned[id_col])
        if not table[id_col].is_unique:
            dup = table.loc[table[id_col].duplicated(), id_col]
            raise DataError(
                f"{where}: {len(dup):,} duplicate id(s) in column {id_col!r} (first: {dup.iloc[0]!r}); "
                "the outcomes table holds one row per customer"
            )
        known = pd.Series(_among(table[id_col], assigned[id_col]), index=table.index)
        table, diag = screen_rows(
            table,
            {"unknown_customer": ~known.to_numpy()},
            what=where,
            max_share=data.max_bad_share,
            details={"unknown_customer": f"id in column {id_col!r} is not in the assignment"},
            show=[id_col],
        )
        if "variant" in table.columns:  # the export's own arm column must agree with the assignment
            arms = assigned.set_index(id_col)["variant"].astype(str)
            theirs = table.set_index(id_col)["variant"].astype(str)
            differ = theirs.index[theirs.to_numpy() != arms.reindex(theirs.index).to_numpy()]
            if len(differ):
                first = differ[0]
                raise DataError(
                    f"{where}: {len(differ):,} customer(s) have another variant than in the assignment "
                    f"(first: id {first!r}, {theirs[first]!r} here, {arms[first]!r} assigned); use the "
                    "outcomes of this assignment, or map the variant column in [data.columns.outcomes]"
                )
        has_row = pd.Series(_among(assigned[id_col], table[id_col]), index=assigned.index)
        frame, diag_missing = screen_rows(
            assigned,
            {"no_outcome_row": ~has_row.to_numpy()},
            what=where,
            max_share=data.max_bad_share,
            details={"no_outcome_row": "assigned customer has no row in the outcomes table"},
            show=[id_col],
        )
        counted = pd.DataFrame(
            {
                "reason": ["counted"],
                "rows": [len(table)],
                "detail": ["outcome rows counted (one per customer)"],
            }
        )
        parts += [diag, diag_missing, counted]
    events_needed = data.events is not None
    from_events: dict[str, str] = {}
    if events_needed:
        ev, ev_diag = events if events is not None else read_events(exp)
        ev = ev.copy()
        ev[id_col] = match_ids(ev[id_col], frame[id_col])
        if flat.amount not in ev.columns:
            ev[flat.amount] = np.nan
        names = {**{n: n for n in EVENT_NAMES}, **dict(data.event_names)}
        own = {
            m: c
            for m, c in columns.items()
            if c not in OUTCOME_COLUMNS and c not in table_cols and c not in names.values() and c not in frame
        }
        custom_names = set(own.values())
        from_events = own
        present = set(ev[flat.event].dropna().astype(str))
        for metric, column in own.items():
            if column not in present:
                unknown = _unknown_names(ev, flat.event, set(names.values()) | custom_names)
                close = difflib.get_close_matches(column, [str(n) for n in unknown.index], n=1, cutoff=0.75)
                hint = f"; {close[0]!r} looks like {column!r}" if close else ""
                raise DataError(
                    f"metric {metric!r}: no event named {column!r} in events source {data.events}"
                    + (
                        f" and no column {column!r} in outcomes source {data.outcomes}"
                        if table is not None
                        else ""
                    )
                    + f'{hint}; rename the events or set column = "..." in [metrics.define.{metric}]'
                )
        is_custom = ev[flat.event].isin(custom_names).to_numpy()
        standard = ev.loc[~is_custom]
        base = frame.drop(columns=[c for c in OUTCOME_COLUMNS if c in frame.columns])
        common = {
            "send_date": start,
            "window_days": window_days,
            "id_col": id_col,
            "event_col": flat.event,
            "time_col": flat.timestamp,
            "amount_col": flat.amount,
        }
        out, diag = outcomes(
            base, standard, event_names=dict(data.event_names), return_diagnostics=True, **common
        )
        for name in sorted(custom_names):
            sub = ev.loc[ev[flat.event] == name]
            kinds = {definitions[m].kind if m in definitions else "rate" for m, c in own.items() if c == name}
            if "mean" not in kinds:
                sub = sub.assign(**{flat.amount: sub[flat.amount].fillna(0.0)})
            o, d = outcomes(
                base[[id_col, "variant"]],
                sub,
                event_names={"purchased": name},
                return_diagnostics=True,
                **common,
            )
            for metric, column in own.items():
                if column == name:
                    kind = definitions[metric].kind if metric in definitions else "rate"
                    out[metric] = o["repurchased"].to_numpy() if kind == "rate" else o["revenue"].to_numpy()
            diag["rows"] += d["rows"].to_numpy()
        _check_event_metrics(
            exp, out, standard, diag, metrics, known=set(names.values()), replaced=table_cols & set(metrics)
        )
        diag = diag.copy()
        if custom_names:
            diag.loc[diag["reason"] == "unknown_event", "detail"] = (
                "event name is neither a known event nor a declared metric's column"
            )
        frame = out
        parts = [*parts, ev_diag, diag]
        window = out.attrs.get("abkit_window")
    else:
        window = {
            "start": start.isoformat(),
            "end": (start + pd.Timedelta(days=float(window_days))).isoformat(),
            "window_days": float(window_days),
            "convention": "outcomes declared final by the outcomes table",
        }
    frame = frame.copy()
    if table is not None:
        extra = table.drop(columns=[c for c in ("variant", "segment") if c in table.columns]).set_index(
            id_col
        )
        aligned = extra.reindex(frame[id_col].to_numpy())
        for col in aligned.columns:
            frame[col] = aligned[col].to_numpy()
    where_of = {
        c: (f"outcomes source {data.outcomes}" if c in table_cols else f"events source {data.events}")
        for c in columns.values()
    }
    for metric, column in columns.items():
        if metric in from_events:  # counted from the events above
            continue
        if column not in frame.columns:
            raise DataError(
                f"metric {metric!r}: column {column!r} is not in the outcomes table ({data.outcomes}); set "
                f'column = "..." in [metrics.define.{metric}] to the column that holds it'
            )
        if metric in definitions or column in table_cols:
            kind = (
                definitions[metric].kind
                if metric in definitions
                else ("rate" if column not in ("revenue", "n_purchases") else "mean")
            )
            frame[metric] = _metric_values(exp, frame, metric, column, kind, where_of[column])
    # dropped rows are listed when there are some; the event counts of abkit.outcomes always
    parts = [p if (p["reason"] == "counted").any() else p.loc[p["rows"] > 0] for p in parts]
    diagnostics = pd.concat([p for p in parts if len(p)], ignore_index=True).astype({"rows": "int64"})
    frame = frame.reset_index(drop=True)
    frame.attrs["abkit_window"] = window
    return OutcomeData(frame, diagnostics, None)


# ----------------------------------------------------------------------------------------------
# funnel and economics from either shape


def funnel(data: pd.DataFrame, variants: Sequence[str], *, n_col: str | None = None) -> pd.DataFrame:
    """Customers per variant at each step (delivered, opened, clicked, repurchased), rates and revenue.

    ``data`` holds one row per customer (``n_col`` None) or aggregated rows with unit counts in
    ``n_col`` and the number of customers at each step in the step's column (revenue: its sum).

    >>> agg = pd.DataFrame({"variant": ["a", "b"], "n": [10, 20], "delivered": [0, 18], "opened": [0, 5],
    ...                     "clicked": [0, 2], "repurchased": [1, 4], "revenue": [30.0, 100.0]})
    >>> table = funnel(agg, ["a", "b"], n_col="n")
    >>> table[["variant", "assigned", "repurchased_rate", "revenue_per_recipient"]]
      variant  assigned  repurchased_rate  revenue_per_recipient
    0       a        10               0.1                    3.0
    1       b        20               0.2                    5.0
    """
    steps = [s for s in _FUNNEL_STEPS if s in data.columns]  # per-customer outcomes may lack some
    has_revenue = "revenue" in data.columns
    grouped = data.groupby("variant", observed=True)
    if n_col is None:
        table = grouped[steps].sum().astype("int64")
        table.insert(0, "assigned", grouped.size())
        revenue = grouped["revenue"].mean() if has_revenue else None
    else:
        sums = grouped[[n_col, *steps, *(["revenue"] * has_revenue)]].sum()
        table = sums[steps].round().astype("int64")
        table.insert(0, "assigned", sums[n_col].astype("int64"))
        revenue = sums["revenue"] / sums[n_col] if has_revenue else None
    table = table.reindex(list(variants)).fillna(0).astype("int64")
    for step in _FUNNEL_STEPS:
        if step in steps:
            table[f"{step}_rate"] = table[step] / table["assigned"]
        else:  # not measured: shown as missing, never as zero
            table[step] = pd.array([pd.NA] * len(table), dtype="Int64")
            table[f"{step}_rate"] = np.nan
    table = table[["assigned", *_FUNNEL_STEPS, *(f"{s}_rate" for s in _FUNNEL_STEPS)]]
    table["revenue_per_recipient"] = revenue.reindex(list(variants)) if revenue is not None else np.nan
    table.index.name = "variant"
    return table.reset_index()


def economics_from_aggregates(
    data: pd.DataFrame,
    *,
    costs: Mapping[str, Any],
    margin: float,
    n_col: str,
    control: str | None = None,
    segment_col: str | None = None,
    revenue_col: str = "revenue",
    redeemed_col: str = "repurchased",
    per: int = 1000,
    alpha: float = 0.05,
) -> Any:
    """:func:`abkit.economics` from aggregated outcomes (the same table, the same numbers).

    Per customer ``profit = margin * revenue - contact - offer * redeemed`` (holdout: ``margin *
    revenue``). Its sum and sum of squares per arm follow exactly from the arm's unit count ``n``,
    redemptions ``R``, revenue sum ``S`` and sum of squares ``Q``, because revenue is only earned by
    customers who redeemed (``revenue * redeemed = revenue``):
    ``sum = m S - n c - o R`` and ``sum_sq = m² Q + n c² + (o² + 2 c o) R - 2 m (c + o) S``.
    The comparison is Welch's t, as in :func:`abkit.economics`.

    >>> agg = pd.DataFrame({"variant": ["control", "mail"], "n": [4, 4], "repurchased": [1, 2],
    ...                     "revenue": [50.0, 110.0], "revenue_sumsq": [2500.0, 6100.0]})
    >>> e = economics_from_aggregates(agg, costs={"mail": {"contact": 1.0, "offer": 5.0}}, margin=0.4,
    ...                               n_col="n", control="control")
    >>> float(e.table["incremental_profit"].iloc[0])  # as abkit.economics on the 8 customers
    2500.0
    """
    margin = float(check_finite("margin", margin))
    if not 0 < margin <= 1:
        raise ParameterError(f"margin must be the gross margin share in (0, 1], got {margin!r}")
    sumsq = f"{revenue_col}_sumsq"
    by = [segment_col] if segment_col else []
    check_columns(data, ["variant", n_col, revenue_col, sumsq, redeemed_col, *by], what="aggregated outcomes")
    variants = sorted({str(v) for v in pd.unique(data["variant"].dropna())})
    control = resolve_control(variants, control, what="column 'variant'")
    if control not in variants:
        raise DataError(f"control={control!r} is not a value of column 'variant' (values: {variants})")
    cost = check_costs(costs, variants, control)
    sums = data.groupby([*by, "variant"], observed=True)[[n_col, redeemed_col, revenue_col, sumsq]].sum()
    if segment_col:
        pooled = sums.groupby(level="variant").sum()
        pooled.index = pd.MultiIndex.from_product([[POOLED_SEGMENT], pooled.index])
        sums.index = sums.index.set_names(["segment", "variant"])
        sums = pd.concat([pooled.rename_axis(["segment", "variant"]), sums])
        segments = [POOLED_SEGMENT, *sorted(str(s) for s in sums.index.get_level_values(0).unique()[1:])]
    else:
        sums.index = pd.MultiIndex.from_product([[POOLED_SEGMENT], sums.index], names=["segment", "variant"])
        segments = [POOLED_SEGMENT]
    others = [v for v in variants if v != control]
    arms = [control, *others]
    grid = sums.reindex(pd.MultiIndex.from_product([segments, arms]))
    n = grid[n_col].to_numpy(dtype=float).reshape(len(segments), len(arms))
    red = grid[redeemed_col].to_numpy(dtype=float).reshape(n.shape)
    rev = grid[revenue_col].to_numpy(dtype=float).reshape(n.shape)
    rev2 = grid[sumsq].to_numpy(dtype=float).reshape(n.shape)
    c = np.array([cost[v][0] for v in arms])
    o = np.array([cost[v][1] for v in arms])
    s, q = profit_moments(n, red, rev, rev2, c, o, margin=margin)
    return profit_table(segments, arms, n, s, q, cost=cost, margin=margin, per=per, alpha=alpha)


# ----------------------------------------------------------------------------------------------
# helpers


def _wide(statistics: pd.DataFrame, segment_col: str | None) -> pd.DataFrame:
    """The long sufficient statistics as evaluate's aggregated input: one row per (segment,) variant."""
    st = statistics
    if segment_col is not None:
        st = st[st["segment"] != "all"]
    keys = ["segment", "variant"]
    first = st[st["metric"] == next(iter(ENGINE_METRICS))]
    wide = first[[*keys, "n"]].rename(columns={"n": N_COL}).set_index(keys)
    for name, kind in ENGINE_METRICS.items():
        rows = st[st["metric"] == name].set_index(keys)
        wide[name] = rows["sum"]
        if kind == "mean":
            wide[f"{name}_sumsq"] = rows["sum_sq"]
    wide = wide.reset_index()
    wide[N_COL] = wide[N_COL].astype("int64")
    if segment_col is None:
        wide = wide.drop(columns="segment")
    return wide


def _looks_like_path(raw: str) -> bool:
    lower = raw.lower().rstrip("/")
    return (
        "/" in raw
        or "\\" in raw
        or any(ch in raw for ch in "*?[")
        or lower.endswith((".csv", ".parquet", ".pq"))
    )


def _as_naive_utc(value: Any) -> pd.Timestamp:
    if value is None:
        return pd.NaT
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        return pd.NaT
    if stamp is pd.NaT:
        return stamp
    if stamp.tz is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp


def _postgres_units(units: pd.DataFrame, id_col: str, segment_col: str | None) -> str:
    """The assignment as a PostgreSQL query over literal arrays (ids, variant and segment codes)."""

    q = lambda name: quote_identifier(name, "postgres")  # noqa: E731
    ids = units[id_col]
    if pd.api.types.is_integer_dtype(ids.dtype):
        id_array = "CAST('{" + ",".join(str(int(v)) for v in ids.to_numpy()) + "}' AS bigint[])"
    else:
        id_array = "CAST(ARRAY[" + ",".join(quote_literal(str(v), "postgres") for v in ids) + "] AS text[])"
    arrays, selects = [id_array], [f"abkit_u.c0 AS {q(id_col)}"]
    labels = ["variant"] + ([segment_col] if segment_col else [])
    for i, col in enumerate(labels, 1):
        codes, names = pd.factorize(units[col], sort=True)
        listed = ",".join(quote_literal(str(v), "postgres") for v in names)
        arrays.append("CAST('{" + ",".join(str(int(c) + 1) for c in codes) + "}' AS int[])")
        selects.append(f"(CAST(ARRAY[{listed}] AS text[]))[abkit_u.c{i}] AS {q(col)}")
    aliases = ", ".join(f"c{i}" for i in range(len(arrays)))
    return f"SELECT {', '.join(selects)} FROM unnest({', '.join(arrays)}) AS abkit_u({aliases})"


def _spark_units(spark: Any, units: pd.DataFrame, id_col: str, segment_col: str | None) -> Any:
    """The assignment as a Spark DataFrame built from plain Python rows (no pandas conversion)."""

    ids = units[id_col]
    id_type = "BIGINT" if pd.api.types.is_integer_dtype(ids.dtype) else "STRING"
    cols = [id_col, "variant"] + ([segment_col] if segment_col else [])
    schema = ", ".join(f"{quote_identifier(c, 'spark')} {id_type if c == id_col else 'STRING'}" for c in cols)
    id_values = [int(v) for v in ids.to_numpy()] if id_type == "BIGINT" else [str(v) for v in ids]
    columns = [id_values] + [[str(v) for v in units[c]] for c in cols[1:]]
    try:
        with warnings.catch_warnings():  # createDataFrame probes the pandas version; no pandas is used
            warnings.filterwarnings("ignore", message="PySpark does not yet fully support")
            return spark.createDataFrame(list(zip(*columns, strict=True)), schema=schema)
    except Exception as exc:
        raise SourceError(f"Spark could not take the assignment ({len(units):,} rows): {exc}") from exc
