"""Engines that compute outcomes and sufficient statistics where the data lives (DuckDB, PostgreSQL, Spark).

Every engine runs the SQL of :mod:`abkit.sql` (same definitions as :func:`abkit.outcomes` and
:func:`abkit.sufficient_statistics`) and brings back only a small table: one row per
(segment, variant) with unit counts, sums and sums of squares, plus one row of diagnostic counts.
This module holds what the engines share: the result type :class:`Aggregates`, the metric
resolution, the checks that turn the counts into the same errors as the pandas path, and
:func:`redact` (no password from a database URL ever reaches a message).

* :func:`abkit.engines.duckdb.duckdb_sufficient_statistics`: CSV/Parquet files, directories, globs or
  DataFrames, embedded (the default for files).
* :func:`abkit.engines.postgres.postgres_sufficient_statistics`: SQL queries or tables in PostgreSQL.
* :func:`abkit.engines.spark.spark_sufficient_statistics`: Spark DataFrames, tables or files.

Pointing a scheduled report at a warehouse or a cluster instead of files: the report only needs
the sufficient statistics, so swap the engine call and keep everything downstream unchanged.
Keep credentials out of specs and notebooks: read the database URL from an environment variable
(e.g. ``os.environ["ABKIT_PG_URL"]``) set by the scheduler; abkit redacts it in every message. For
Spark, the scheduler submits the job with a session configured for the cluster
(``SparkSession.builder.master("yarn")`` or ``spark-submit``, ``spark.sql.session.timeZone=UTC``)
and passes catalog table names or ``s3a://``/``hdfs://`` paths as sources.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

import numpy as np
import pandas as pd

from abkit._display import Displayable
from abkit.attribution import REASONS, attribution_window
from abkit.errors import ColumnError, DataError, ParameterError, SourceError
from abkit.metrics import Mean, Proportion, metric_items, sufficient_statistics
from abkit.sql import FLAG_OUTCOMES, STATISTICS_COLUMNS

__all__ = ["OUTCOME_METRICS", "Aggregates", "redact", "scrub", "secrets_of"]

#: Outcome columns an engine can aggregate, with their natural metric kind.
OUTCOME_METRICS: dict[str, str] = {
    **{c: "proportion" for c in FLAG_OUTCOMES},
    "revenue": "mean",
    "n_purchases": "mean",  # a proportion when every customer bought at most once (as in pandas)
}

_DIAGNOSTIC_REASONS = (
    "unknown_event",
    "unknown_customer",
    "before_send",
    "after_window",
    "duplicate",
    "counted",
)


@dataclass(frozen=True, repr=False)
class Aggregates(Displayable):
    """Sufficient statistics computed by an engine, with the event diagnostics and where they came from.

    ``statistics`` is the table of :func:`abkit.sufficient_statistics` (``metric, kind, segment,
    variant, n, sum, sum_sq``); ``diagnostics`` has one row per reason an event row was not counted
    (``reason, rows, detail``, as :func:`abkit.outcomes` with ``return_diagnostics=True``);
    ``window`` holds the attribution window; ``sources`` describes the inputs (passwords removed).
    """

    statistics: pd.DataFrame
    diagnostics: pd.DataFrame
    engine: str
    window: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)

    def to_pandas(self) -> pd.DataFrame:
        return self.statistics.copy()

    def _title(self) -> str:
        return f"Sufficient statistics ({self.engine})"

    def _notes(self) -> list[str]:
        counts = dict(zip(self.diagnostics["reason"], self.diagnostics["rows"], strict=True))
        excluded = {r: int(c) for r, c in counts.items() if r != "counted" and c}
        window = f"window {self.window.get('start')} <= timestamp < {self.window.get('end')}"
        if not excluded:
            return [f"{window}; all {int(counts.get('counted', 0)):,} event rows counted"]
        listed = ", ".join(f"{c:,} {r.replace('_', ' ')}" for r, c in excluded.items())
        return [f"{window}; event rows not counted: {listed}"]

    def __repr__(self) -> str:
        n_metrics = self.statistics["metric"].nunique()
        return (
            f"Aggregates(engine={self.engine!r}, metrics={n_metrics}, rows={len(self.statistics)}, "
            f"counted_events={int(self.diagnostics['rows'].iloc[-1]):,})"
        )


# --------------------------------------------------------------------------------------------------
# passwords
# --------------------------------------------------------------------------------------------------
_URL_SCHEMES = ("postgresql://", "postgres://")
_KV_PASSWORD = re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'?|\S*)", re.IGNORECASE)
_QUERY_PASSWORD = re.compile(r"([?&]password=)([^&]*)", re.IGNORECASE)
#: Characters that end a fragment of a password libpq split at (a host, a port, a database name).
_FRAGMENT_SPLIT = re.compile(r"[@/?#:&=\s]+")
_WORD = re.compile(r"\w")


@dataclass(frozen=True)
class _Split:
    """A URL cut around its user information: ``head`` (scheme and user), raw password, ``tail``."""

    head: str
    password: str
    tail: str
    misread: bool  # libpq reads this URL differently (or not at all): parts of the password may leak


def _is_url(text: str) -> bool:
    return text.lower().startswith(_URL_SCHEMES)


def _libpq_fields(conninfo: str) -> dict[str, str] | None:
    """The fields libpq reads from ``conninfo`` (None when psycopg is absent or libpq refuses it)."""
    try:
        from psycopg.conninfo import conninfo_to_dict
    except ImportError:  # pragma: no cover - depends on the installation
        return None
    try:
        return {str(k): str(v) for k, v in conninfo_to_dict(conninfo).items() if v is not None}
    except Exception:  # libpq's parse errors: fall back to abkit's own split
        return None


def _split_url(url: str, fields: dict[str, str] | None) -> _Split | None:
    """Where the password of a ``postgresql://`` URL sits.

    libpq ends the user information at the first ``@``; a password holding an unencoded ``@`` or
    ``/`` makes libpq read a host, port or database that contains part of it. When libpq's reading
    is plausible (host and database without ``@``, numeric port) its password is used; otherwise
    the password runs from the first ``:`` of the user information to the LAST ``@`` before the
    host, which covers every character a password can hold.
    """
    lower = url.lower()
    scheme = next((s for s in _URL_SCHEMES if lower.startswith(s)), None)
    if scheme is None:
        return None
    rest = url[len(scheme) :]
    first_at, last_at = rest.find("@"), rest.rfind("@")
    if first_at < 0:
        return None
    plausible = fields is not None and all(
        "@" not in fields.get(key, "") for key in ("host", "dbname", "user")
    ) and all(part.strip().isdigit() for part in fields.get("port", "0").split(",") if part.strip())
    at = first_at if plausible and "/" not in rest[:first_at] else last_at
    userinfo = rest[:at]
    colon = userinfo.find(":")
    if colon < 0:
        return None
    misread = at != first_at or not plausible
    return _Split(url[: len(scheme) + colon + 1], userinfo[colon + 1 :], url[len(scheme) + at :], misread)


def _kv_values(text: str) -> list[str]:
    """Raw ``password=`` values of a key=value conninfo string (quotes and escapes removed too)."""
    out: list[str] = []
    for m in _KV_PASSWORD.finditer(text):
        raw = m.group(2)
        out.append(raw)
        if raw.startswith("'"):
            inner = raw[1:-1] if raw.endswith("'") and len(raw) > 1 else raw[1:]
            out += [inner, re.sub(r"\\(.)", r"\1", inner)]
    return out


def secrets_of(url: str) -> list[str]:
    """Every form in which the password of ``url`` can appear in a message, longest first.

    The password as libpq reads it, as written in the URL (raw and percent-decoded), and the pieces
    libpq makes of a password it misreads (a port, host or database name cut out of it).

    >>> secrets_of("postgresql://ana:Pa#ss@db/crm")
    ['Pa%23ss', 'Pa#ss']
    """
    text = str(url)
    fields = _libpq_fields(text)
    found: list[str] = []
    if fields is not None and fields.get("password"):
        found.append(fields["password"])
    split = _split_url(text, fields)
    if split is not None and split.password:
        found += [split.password, unquote(split.password)]
        if split.misread:
            found += [p for p in _FRAGMENT_SPLIT.split(split.password) if p]
    for m in _QUERY_PASSWORD.finditer(text):
        found += [m.group(2), unquote(m.group(2))]
    if not _is_url(text):
        found += _kv_values(text)
    forms = [s for s in found if s]
    forms += [quote(s, safe="") for s in forms]
    return sorted({s for s in forms if s}, key=lambda s: (-len(s), s))


def scrub(message: str, secrets: Sequence[str]) -> str:
    """``message`` with every whole occurrence of a secret replaced by ``***``.

    A secret is replaced only as a whole token: where it starts or ends with a letter or digit,
    the neighbouring character must not be one (a password ``p`` never turns ``"port"`` into
    ``"***ort"``).

    >>> scrub("password authentication failed for p (p=p)", ["p"])
    'password authentication failed for *** (***=***)'
    """
    text = str(message)
    ordered = sorted({s for s in secrets if s}, key=len, reverse=True)
    if not ordered:
        return text
    parts = []
    for secret in ordered:
        before = r"(?<!\w)" if _WORD.match(secret[0]) else ""
        after = r"(?!\w)" if _WORD.match(secret[-1]) else ""
        parts.append(before + re.escape(secret) + after)
    return re.sub("|".join(parts), "***", text)


def redact(url: str) -> str:
    """A database URL or conninfo string with its password replaced by ``***``.

    Holds for any password libpq accepts (and for those it misreads): unencoded ``#``, ``?``, ``/``,
    ``@`` or ``%`` in a URL, ``password=`` query parameters and quoted key=value values.

    >>> redact("postgresql://ana:s3cret@db.example.com:5432/crm")
    'postgresql://ana:***@db.example.com:5432/crm'
    >>> redact("postgresql://reporter:Pa#ssw0rd@db/crm")
    'postgresql://reporter:***@db/crm'
    >>> redact("host=db user=ana password='s3 cret' dbname=crm")
    'host=db user=ana password=*** dbname=crm'
    """
    text = str(url)
    secrets = secrets_of(text)
    split = _split_url(text, _libpq_fields(text))
    if split is not None:
        text = f"{split.head}***{split.tail}"
    text = _QUERY_PASSWORD.sub(lambda m: m.group(1) + "***", text)
    if not _is_url(text):
        text = _KV_PASSWORD.sub(lambda m: m.group(1) + "***", text)
    return scrub(text, secrets)


# --------------------------------------------------------------------------------------------------
# from counts to the pandas path's errors and tables
# --------------------------------------------------------------------------------------------------
def resolve_metrics(metrics: Any) -> list[tuple[str, str, type]]:
    """(display name, outcome column, Proportion/Mean or None for inferred) for each metric."""
    out: list[tuple[str, str, type]] = []
    for name, value in metric_items(metrics):
        column = value if isinstance(value, str) else value.column
        if column not in OUTCOME_METRICS:
            raise ColumnError(
                f"metric column {column!r} is not an outcome an engine computes; use one of "
                f"{', '.join(OUTCOME_METRICS)}"
            )
        display = name if name is not None else (value if isinstance(value, str) else value.name)
        kind: type = type(value) if not isinstance(value, str) else type(None)
        if kind is Proportion and column in ("revenue",):
            raise ParameterError(
                "metrics: 'revenue' is an amount, not a 0/1 outcome; use abkit.Mean('revenue')"
            )
        out.append((display, column, kind))
    return out


def check_assigned(
    diag: Mapping[str, Any],
    *,
    id_col: str,
    variant_col: str,
    segment_col: str | None,
    sources: Mapping[str, str],
) -> None:
    """Raise the pandas path's DataError for null or duplicate ids and null labels in ``assigned``."""
    a_src = sources.get("assigned", "assigned")
    null_id = int(diag["assigned_null_id"] or 0)
    if null_id:
        raise DataError(
            f"{null_id} null values in column {id_col!r} of assigned ({a_src}); "
            "fill or drop those rows explicitly"
        )
    null_variant = int(diag["assigned_null_variant"] or 0)
    if null_variant:
        raise DataError(
            f"{null_variant} null values in column {variant_col!r} of assigned ({a_src}); "
            "fill or drop those rows explicitly"
        )
    if segment_col is not None and int(diag["assigned_null_segment"] or 0):
        raise DataError(
            f"{int(diag['assigned_null_segment'])} null values in column {segment_col!r} of assigned "
            f"({a_src}); "
            f"every unit needs a {segment_col} label. Fill or drop those rows explicitly"
        )
    dup = int(diag["assigned_rows"]) - int(diag["assigned_ids"])
    if dup:
        raise DataError(
            f"{dup} duplicate ids in column {id_col!r} of assigned ({a_src}); "
            "each customer must be assigned exactly once"
        )


def assemble(
    stats_rows: Sequence[Mapping[str, Any]],
    metrics: Any,
    *,
    engine: str,
    id_col: str,
    time_col: str,
    variant_col: str,
    segment_col: str | None,
    amount_col: str,
    window: dict[str, Any],
    sources: dict[str, str],
    unknown_events: Sequence[tuple[Any, Any]] = (),
) -> Aggregates:
    """Turn an engine's per-(segment, variant) rows and diagnostic counts into :class:`Aggregates`."""
    resolved = resolve_metrics(metrics)
    every = pd.DataFrame([dict(r) for r in stats_rows])
    if every.empty:
        raise DataError(
            f"assigned ({sources.get('assigned', 'assigned')}) has no rows; there is nothing to aggregate"
        )
    for col in STATISTICS_COLUMNS:
        every[col] = pd.to_numeric(every[col]).fillna(0)
    e_src = sources.get("events", "events")
    null_id = int(every["abkit_null_id"].sum())
    if null_id:
        raise DataError(
            f"{null_id} null values in column {id_col!r} of events ({e_src}); "
            "fill or drop those rows explicitly"
        )
    null_time = int(every["abkit_null_time"].sum())
    if null_time:
        raise DataError(
            f"{null_time} missing or unparseable timestamps in column {time_col!r} of events ({e_src}); "
            "fix or drop those events explicitly"
        )
    unmatched = every["abkit_unmatched"].to_numpy() == 1
    frame = every[~unmatched].reset_index(drop=True)
    lost = every[unmatched]
    if frame.empty or int(frame["abkit_n"].sum()) == 0:
        raise DataError(
            f"assigned ({sources.get('assigned', 'assigned')}) has no rows; there is nothing to aggregate"
        )
    bad = {k: int(frame[f"abkit_bad_{k}"].sum()) for k in ("negative", "missing", "infinite")}
    if any(bad.values()):
        raise DataError(
            f"purchase events in the window have invalid amounts in column {amount_col!r} "
            f"({e_src}): {bad['negative']} negative, {bad['missing']} missing, "
            f"{bad['infinite']} infinite; refunds and unknown amounts must be fixed or removed explicitly"
        )
    duplicates = int(frame["abkit_duplicates"].sum())
    counts = {
        "unknown_event": int(every["abkit_unknown_event"].sum()),
        "unknown_customer": int(
            lost[["abkit_before_send", "abkit_after_window", "abkit_in_window"]].to_numpy().sum()
        ),
        "before_send": int(frame["abkit_before_send"].sum()),
        "after_window": int(frame["abkit_after_window"].sum()),
        "duplicate": duplicates,
        "counted": int(frame["abkit_in_window"].sum()) - duplicates,
    }
    details = dict(REASONS)
    if counts["unknown_event"] and unknown_events:
        details["unknown_event"] += ": " + ", ".join(
            f"{'<null>' if name is None else str(name)!r} ({int(c)})" for name, c in unknown_events
        )
    diagnostics = pd.DataFrame(
        {
            "reason": list(counts),
            "rows": np.array(list(counts.values()), dtype=np.int64),
            "detail": [details[r] for r in counts],
        }
    )
    # the aggregated table abkit.sufficient_statistics reads (n_col="abkit_n")
    agg = pd.DataFrame({variant_col: frame["abkit_variant"].to_numpy(dtype=object)})
    if segment_col is not None:
        agg.insert(0, segment_col, frame["abkit_segment"].to_numpy(dtype=object))
    agg["abkit_n"] = frame["abkit_n"].to_numpy(dtype=np.int64)
    specs: list[Proportion | Mean] = []
    for display, column, kind in resolved:
        sums = frame[column].to_numpy(dtype=np.float64)
        if column in FLAG_OUTCOMES:
            squares = sums
        else:
            squares = frame[f"{column}_sumsq"].to_numpy(dtype=np.float64)
        if kind is type(None):
            zero_one = column in FLAG_OUTCOMES or (
                column == "n_purchases" and float(frame["n_purchases_max"].max()) <= 1
            )
            kind = Proportion if zero_one else Mean
        elif kind is Proportion and column == "n_purchases" and float(frame["n_purchases_max"].max()) > 1:
            raise DataError(
                "column 'n_purchases' is used as Proportion('n_purchases') but holds values other than "
                "0 and 1; "
                "per-unit proportion columns must be 0/1 or booleans (or use abkit.Mean)"
            )
        agg[column] = sums
        if kind is Mean:
            agg[f"{column}_sumsq"] = squares
        specs.append(kind(column, display))
    statistics = sufficient_statistics(
        agg, specs, n_col="abkit_n", variant_col=variant_col, segment_col=segment_col
    )
    return Aggregates(statistics, diagnostics, engine, window, sources)


def window_info(send_date: Any, window_days: float) -> dict[str, Any]:
    """The window description stored with the results (as :func:`abkit.outcomes` does)."""
    start, end = attribution_window(send_date, window_days)
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "window_days": float(window_days),
        "convention": "start <= timestamp < end",
    }


def missing_columns_error(source: str, what: str, missing: Sequence[str], have: Sequence[str]) -> SourceError:
    """The error for a source that lacks columns (names the source, never a password)."""
    shown = ", ".join(map(str, list(have)[:20]))
    return SourceError(
        f"{what} source {source} lacks column(s) {', '.join(map(repr, missing))}; it has: {shown}. "
        "Select or rename the columns in the source (or pass the column names as parameters)"
    )
