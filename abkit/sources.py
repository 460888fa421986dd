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

import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from abkit.attribution import outcomes
from abkit.engines import duckdb as duckdb_engine
from abkit.engines import postgres as postgres_engine
from abkit.engines import redact
from abkit.engines import spark as spark_engine
from abkit.errors import SourceError, SpecError
from abkit.experiment import Experiment, _line_map, _where
from abkit.metrics import Mean, Proportion
from abkit.sql import quote_identifier, quote_literal, utc_time_sql

__all__ = [
    "ENGINE_METRICS",
    "N_COL",
    "EventSource",
    "OutcomeData",
    "economics_from_aggregates",
    "event_source",
    "funnel",
    "outcome_data",
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
            frame, diagnostics = outcomes(
                assigned,
                self._pandas_events(),
                send_date=send,
                window_days=window_days,
                id_col=cols.customer_id,
                event_col=cols.event,
                time_col=cols.timestamp,
                amount_col=cols.amount,
                return_diagnostics=True,
            )
            return OutcomeData(frame, diagnostics, None)
        unknown = [m for m in metrics if m not in ENGINE_METRICS]
        if unknown:
            lines = _line_map(exp._text())
            raise SpecError(
                f"{_where(exp.path, lines.get('metrics.custom') or lines.get('data.engine'))}: metric(s) "
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
            from abkit.workflow import read_table

            self._cache["events"] = read_table(self.experiment.data_path("events"), what="events")
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
            lines = _line_map(exp._text())
            where = _where(exp.path, lines.get("data.url_env") or lines.get("data"))
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
            lines = _line_map(exp._text())
            where = _where(exp.path, lines.get("data.events") or lines.get("data"))
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
    steps = list(_FUNNEL_STEPS)
    grouped = data.groupby("variant", observed=True)
    if n_col is None:
        table = grouped[steps].sum().astype("int64")
        table.insert(0, "assigned", grouped.size())
        revenue = grouped["revenue"].mean()
    else:
        sums = grouped[[n_col, *steps, "revenue"]].sum()
        table = sums[steps].round().astype("int64")
        table.insert(0, "assigned", sums[n_col].astype("int64"))
        revenue = sums["revenue"] / sums[n_col]
    table = table.reindex(list(variants)).fillna(0).astype("int64")
    for step in steps:
        table[f"{step}_rate"] = table[step] / table["assigned"]
    table["revenue_per_recipient"] = revenue.reindex(list(variants))
    table.index.name = "variant"
    return table.reset_index()


def economics_from_aggregates(
    data: pd.DataFrame,
    *,
    costs: Mapping[str, Any],
    margin: float,
    n_col: str,
    control: str,
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
    from abkit._validate import check_columns, check_finite
    from abkit.errors import DataError, ParameterError
    from abkit.evaluation import check_costs, profit_moments, profit_table
    from abkit.metrics import POOLED_SEGMENT

    margin = float(check_finite("margin", margin))
    if not 0 < margin <= 1:
        raise ParameterError(f"margin must be the gross margin share in (0, 1], got {margin!r}")
    sumsq = f"{revenue_col}_sumsq"
    by = [segment_col] if segment_col else []
    check_columns(data, ["variant", n_col, revenue_col, sumsq, redeemed_col, *by], what="aggregated outcomes")
    variants = sorted({str(v) for v in pd.unique(data["variant"].dropna())})
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
