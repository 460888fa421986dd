"""Per-customer outcomes of a campaign: events inside the attribution window, one row per assigned customer.

:func:`outcomes` turns the event log a sending tool and a shop produce (delivered, opened, clicked,
purchased, unsubscribed, complained) into one row per *assigned* customer, the holdout included
(intention to treat), ready for :func:`abkit.sufficient_statistics`. Events that cannot be counted
(unknown customers, outside the window, duplicates, unknown event names) are counted and reported,
never dropped silently.

Time zones: one rule, the same in pandas and in every engine (DuckDB, PostgreSQL, Spark, and the SQL
of :mod:`abkit.sql`), kept in one function, :func:`to_utc_naive`:

* a time-zone-aware timestamp (a ``datetime64[ns, tz]`` column, ``timestamptz`` in PostgreSQL,
  ``TIMESTAMP WITH TIME ZONE`` in DuckDB, ISO 8601 text with an offset or ``Z``) is converted to
  UTC; a column mixing offsets is converted value by value;
* a naive timestamp (no zone, no offset) is UTC;
* the send date follows the same rule (a date means midnight UTC; an aware one is converted), and
  the window ``send_date <= timestamp < send_date + window_days`` is compared in UTC.

So the same events give the same numbers whatever zone they were written in, and an aware event
log needs no conversion first. (``to_utc_naive(..., assume_tz=...)`` reads naive values in another
zone, for data exported in local time.)
"""

from __future__ import annotations

import datetime as _dt
import re
import warnings
from collections.abc import Mapping
from typing import Any, Literal, overload

import numpy as np
import pandas as pd

from abkit._validate import check_columns, check_positive
from abkit.errors import AbkitWarning, ColumnError, DataError, ParameterError
from abkit.frames import to_pandas_frame

__all__ = [
    "EVENT_NAMES",
    "OUTCOME_COLUMNS",
    "REASONS",
    "as_timestamp",
    "attribution_window",
    "event_map",
    "outcomes",
    "to_utc_naive",
]

#: Standard event names, in the order of the outcome columns they feed.
EVENT_NAMES = ("delivered", "opened", "clicked", "purchased", "unsubscribed", "complained")

#: Columns added to the assigned customers (``purchased`` events become ``repurchased``).
OUTCOME_COLUMNS = (
    "delivered",
    "opened",
    "clicked",
    "repurchased",
    "unsubscribed",
    "complained",
    "revenue",
    "n_purchases",
)

#: Diagnostic reasons, in the order they are tested; an excluded event row is counted under the first.
REASONS: dict[str, str] = {
    "unknown_event": "event name is not one of the known event names",
    "unknown_customer": "customer id is not in the assigned customers",
    "before_send": "timestamp is before the send date",
    "after_window": "timestamp is at or after the end of the attribution window",
    "duplicate": "identical to an earlier counted row (same id, event, timestamp and amount)",
    "counted": "counted in the outcomes",
}


def as_timestamp(value: Any, *, assume_tz: str = "UTC", what: str = "send_date") -> pd.Timestamp:
    """A date or timestamp as a UTC-naive :class:`pandas.Timestamp` (the time-zone rule above).

    An aware value is converted to UTC; a naive one is read in ``assume_tz`` (UTC by default).
    Anything that is not a date raises :class:`~abkit.errors.ParameterError` naming ``what``.

    >>> as_timestamp("2026-05-01")
    Timestamp('2026-05-01 00:00:00')
    >>> as_timestamp(pd.Timestamp("2026-05-01 09:00", tz="Asia/Tokyo"))
    Timestamp('2026-05-01 00:00:00')
    """
    if isinstance(value, bool) or not isinstance(value, str | _dt.date | np.datetime64 | pd.Timestamp):
        raise ParameterError(
            f"{what} must be a date (e.g. '2026-05-01', datetime.date or pandas.Timestamp), got {value!r}"
        )
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ParameterError(f"{what}={value!r} is not a date; use e.g. '2026-05-01'") from exc
    if stamp is pd.NaT or pd.isna(stamp):
        raise ParameterError(f"{what}={value!r} is not a date; use e.g. '2026-05-01'")
    if stamp.tz is None and assume_tz != "UTC":
        try:
            stamp = stamp.tz_localize(assume_tz, ambiguous="raise", nonexistent="raise")
        except Exception as exc:
            raise ParameterError(f"{what}={value!r} does not exist or is ambiguous in {assume_tz}") from exc
    if stamp.tz is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp


def attribution_window(send_date: Any, window_days: float) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The half-open window ``[start, end)`` of :func:`outcomes`, both UTC-naive.

    >>> attribution_window("2026-05-01", 14)
    (Timestamp('2026-05-01 00:00:00'), Timestamp('2026-05-15 00:00:00'))
    """
    if isinstance(window_days, bool) or not isinstance(window_days, int | float | np.integer | np.floating):
        raise ParameterError(f"window_days must be a positive number of days, got {window_days!r}")
    check_positive("window_days", window_days)
    start = as_timestamp(send_date)
    try:
        return start, start + pd.Timedelta(days=float(window_days))
    except (OverflowError, ValueError) as exc:
        raise ParameterError(
            f"window_days={window_days!r} puts the end of the window beyond the dates pandas can hold"
        ) from exc


_OFFSET = re.compile(r"(?:Z|[+-]\d{2}(?::?\d{2})?)\s*$", re.IGNORECASE)


def _is_naive(value: Any) -> bool:
    if isinstance(value, str):
        return _OFFSET.search(value.strip()) is None
    return getattr(value, "tzinfo", None) is None


def to_utc_naive(values: Any, *, assume_tz: str = "UTC", what: str = "timestamp") -> pd.Series:
    """Event timestamps as UTC-naive ``datetime64`` values, by the one rule every engine applies.

    Aware values (a time-zone dtype, ISO 8601 strings with an offset or ``Z``, aware datetime
    objects) are converted to UTC value by value, so a column mixing offsets is fine; naive values
    are read in ``assume_tz`` (UTC by default). Values that cannot be read become ``NaT`` (the
    caller counts them); a local time that does not exist or is ambiguous in ``assume_tz`` raises
    :class:`~abkit.errors.DataError` naming ``what``.

    >>> to_utc_naive(pd.Series(["2026-05-01T10:00+02:00", "2026-05-01 09:00", "2026-05-01T09:00Z"])).tolist()
    [Timestamp('2026-05-01 08:00:00'), Timestamp('2026-05-01 09:00:00'), Timestamp('2026-05-01 09:00:00')]
    """
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        return series.dt.tz_convert("UTC").dt.tz_localize(None)
    try:
        if pd.api.types.is_datetime64_dtype(dtype):
            naive = pd.Series(True, index=series.index)
            parsed = series.dt.tz_localize("UTC")
        else:
            naive = series.map(_is_naive).astype(bool)
            parsed = pd.to_datetime(series, errors="coerce", format="ISO8601", utc=True)
        if assume_tz != "UTC" and naive.any():
            local = parsed[naive].dt.tz_localize(None).dt.tz_localize(
                assume_tz, ambiguous="raise", nonexistent="raise"
            )
            parsed = parsed.where(~naive, local.dt.tz_convert("UTC"))
    except (TypeError, ValueError) as exc:
        raise DataError(f"{what} cannot be read as timestamps in {assume_tz}: {exc}") from exc
    return parsed.dt.tz_localize(None)


def event_map(event_names: Mapping[str, str] | None) -> dict[str, str]:
    """Standard name -> name used in the data, checked (unknown keys, empty or clashing names).

    >>> event_map({"purchased": "order"})["purchased"]
    'order'
    """
    mapping = {name: name for name in EVENT_NAMES}
    if event_names is None:
        return mapping
    if not isinstance(event_names, Mapping):
        raise ParameterError(
            f"event_names must be a mapping from standard names to the names in the data, got {event_names!r}"
        )
    for key, value in event_names.items():
        if key not in mapping:
            raise ParameterError(
                f"event_names has unknown key {key!r}; keys are the standard names {', '.join(EVENT_NAMES)}"
            )
        if not isinstance(value, str) or not value:
            raise ParameterError(f"event_names[{key!r}] must be a non-empty string, got {value!r}")
        mapping[key] = value
    used = list(mapping.values())
    clash = sorted({v for v in used if used.count(v) > 1})
    if clash:
        raise ParameterError(f"event_names maps several standard names to {clash}; each needs its own name")
    return mapping


def _timestamps(events: pd.DataFrame, time_col: str) -> pd.Series:
    raw = events[time_col]
    if not (
        pd.api.types.is_datetime64_any_dtype(raw.dtype)
        or pd.api.types.is_string_dtype(raw.dtype)
        or pd.api.types.is_object_dtype(raw.dtype)
    ):
        raise DataError(
            f"column {time_col!r} of events has dtype {raw.dtype}, not timestamps; convert it with "
            "pandas.to_datetime first"
        )
    parsed = to_utc_naive(raw, what=f"column {time_col!r} of events")
    bad = parsed.isna().to_numpy()
    if bad.any():
        first = raw[bad].iloc[0]
        raise DataError(
            f"{int(bad.sum())} missing or unparseable timestamps in column {time_col!r} (first: {first!r}); "
            "fix or drop those events explicitly (strings must be ISO 8601; convert other formats with "
            "pandas.to_datetime(..., format=...) first)"
        )
    return parsed


def _count_nulls(frame: pd.DataFrame, column: str, what: str) -> None:
    n_null = int(frame[column].isna().sum())
    if n_null:
        raise DataError(
            f"{n_null} null values in column {column!r} of {what}; fill or drop those rows explicitly"
        )


@overload
def outcomes(
    assigned: pd.DataFrame,
    events: pd.DataFrame,
    *,
    send_date: Any,
    window_days: float = ...,
    id_col: str = ...,
    variant_col: str = ...,
    event_col: str = ...,
    time_col: str = ...,
    amount_col: str = ...,
    event_names: Mapping[str, str] | None = ...,
    return_diagnostics: Literal[False] = ...,
) -> pd.DataFrame: ...
@overload
def outcomes(
    assigned: pd.DataFrame,
    events: pd.DataFrame,
    *,
    send_date: Any,
    window_days: float = ...,
    id_col: str = ...,
    variant_col: str = ...,
    event_col: str = ...,
    time_col: str = ...,
    amount_col: str = ...,
    event_names: Mapping[str, str] | None = ...,
    return_diagnostics: Literal[True],
) -> tuple[pd.DataFrame, pd.DataFrame]: ...
def outcomes(
    assigned: pd.DataFrame,
    events: pd.DataFrame,
    *,
    send_date: Any,
    window_days: float = 14,
    id_col: str = "customer_id",
    variant_col: str = "variant",
    event_col: str = "event",
    time_col: str = "timestamp",
    amount_col: str = "amount",
    event_names: Mapping[str, str] | None = None,
    return_diagnostics: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """One row per assigned customer with what they did inside the attribution window.

    The window is half-open: an event counts when ``send_date <= timestamp < send_date +
    window_days`` (a date ``send_date`` means midnight). Every assigned customer gets a row, in the
    order of ``assigned`` and with all its columns kept (intention to treat: the holdout and customers
    without any event included), plus boolean ``delivered``, ``opened``, ``clicked``, ``repurchased``
    (at least one purchase), ``unsubscribed``, ``complained``, float ``revenue`` (sum of purchase
    amounts, 0.0 without purchases) and int ``n_purchases``.

    ``event_names`` maps standard names (``delivered``, ``opened``, ``clicked``, ``purchased``,
    ``unsubscribed``, ``complained``) to the names used in ``events`` (e.g. ``{"purchased": "order"}``).

    Event rows that are not counted are counted per reason, each row under the first that applies:
    ``unknown_event``, ``unknown_customer``, ``before_send``, ``after_window``, ``duplicate`` (a row
    identical in id, event, timestamp and amount to one already counted). The diagnostics table
    (columns ``reason, rows, detail``, one row per reason plus ``counted``) is returned with
    ``return_diagnostics=True``; otherwise an :class:`AbkitWarning` names the counts whenever a row
    was excluded. The counts are also stored as a dict in ``frame.attrs["abkit_diagnostics"]`` and
    the window in ``frame.attrs["abkit_window"]``.

    >>> assigned = pd.DataFrame({"customer_id": [1, 2, 3], "variant": ["coupon", "coupon", "holdout"]})
    >>> events = pd.DataFrame({
    ...     "customer_id": [1, 1, 2, 3],
    ...     "event": ["delivered", "purchased", "delivered", "purchased"],
    ...     "timestamp": pd.to_datetime(["2026-05-01 09:00", "2026-05-03 12:00",
    ...                                  "2026-05-01 09:00", "2026-05-20 08:00"]),
    ...     "amount": [None, 42.5, None, 10.0]})
    >>> out, diag = outcomes(assigned, events, send_date="2026-05-01", return_diagnostics=True)
    >>> out[["customer_id", "variant", "delivered", "repurchased", "revenue"]]
       customer_id  variant  delivered  repurchased  revenue
    0            1   coupon       True         True     42.5
    1            2   coupon       True        False      0.0
    2            3  holdout      False        False      0.0
    >>> diag[["reason", "rows"]]
                 reason  rows
    0     unknown_event     0
    1  unknown_customer     0
    2       before_send     0
    3      after_window     1
    4         duplicate     0
    5           counted     3
    """
    # ---------------------------------------------------------------- arguments
    for arg, frame in (("assigned", assigned), ("events", events)):
        to_pandas_frame(frame, what=arg)  # checks the type before anything else
    assigned, events = to_pandas_frame(assigned, what="assigned"), to_pandas_frame(events, what="events")
    start, end = attribution_window(send_date, window_days)
    names = event_map(event_names)
    check_columns(assigned, [id_col, variant_col], what="assigned")
    check_columns(events, [id_col, event_col, time_col, amount_col], what="events")
    clash = [c for c in OUTCOME_COLUMNS if c in assigned.columns]
    if clash:
        raise ColumnError(
            f"assigned already has column(s) {', '.join(map(repr, clash))}, which outcomes() adds; "
            "rename them first (e.g. 'complained' -> 'complained_before') so no information is overwritten"
        )

    # ---------------------------------------------------------------- assigned customers
    _count_nulls(assigned, id_col, "assigned")
    _count_nulls(assigned, variant_col, "assigned")
    ids = pd.Index(assigned[id_col])
    if not ids.is_unique:
        dup = ids[ids.duplicated()]
        raise DataError(
            f"{len(dup)} duplicate ids in column {id_col!r} of assigned (first: {dup[0]!r}); "
            "each customer must be assigned exactly once"
        )

    # ---------------------------------------------------------------- events
    _count_nulls(events, id_col, "events")
    stamps = _timestamps(events, time_col)
    if not pd.api.types.is_numeric_dtype(events[amount_col].dtype) or pd.api.types.is_bool_dtype(
        events[amount_col].dtype
    ):
        raise DataError(
            f"column {amount_col!r} of events is not numeric (dtype {events[amount_col].dtype}); "
            "purchase amounts must be numbers"
        )

    # event name -> standard index (-1 unknown), through the few distinct names
    ev_codes, ev_uniques = pd.factorize(events[event_col], use_na_sentinel=True)
    lookup = {data_name: k for k, data_name in enumerate(names[s] for s in EVENT_NAMES)}
    uniq_std = np.array([lookup.get(u, -1) if isinstance(u, str) else -1 for u in ev_uniques], dtype=np.intp)
    std = np.where(ev_codes >= 0, uniq_std[np.maximum(ev_codes, 0)] if len(uniq_std) else -1, -1)
    unknown_event = std < 0

    pos = ids.get_indexer(pd.Index(events[id_col]))  # position in assigned, -1 unknown
    t = stamps.to_numpy()
    before = t < start.to_datetime64()
    after = t >= end.to_datetime64()

    reasons: dict[str, np.ndarray] = {}
    remaining = np.ones(len(events), dtype=bool)
    for reason, mask in (
        ("unknown_event", unknown_event),
        ("unknown_customer", pos < 0),
        ("before_send", before),
        ("after_window", after),
    ):
        reasons[reason] = remaining & mask
        remaining &= ~mask
    keep_idx = np.flatnonzero(remaining)
    # duplicates compare the UTC instant, so one event written with two offsets counts once
    kept = events.iloc[keep_idx][[id_col, event_col, amount_col]].assign(abkit_utc=t[keep_idx])
    dup_in_kept = kept.duplicated(keep="first").to_numpy()
    duplicate = np.zeros(len(events), dtype=bool)
    duplicate[keep_idx[dup_in_kept]] = True
    reasons["duplicate"] = duplicate
    remaining &= ~duplicate

    # ---------------------------------------------------------------- purchases
    amounts = events[amount_col].to_numpy(dtype=np.float64, na_value=np.nan)
    k_purchase = EVENT_NAMES.index("purchased")
    purchase = remaining & (std == k_purchase)
    p_amount = amounts[purchase]
    bad_amount = ~np.isfinite(p_amount) | (p_amount < 0)
    if bad_amount.any():
        n_nan = int(np.count_nonzero(np.isnan(p_amount)))
        n_neg = int(np.count_nonzero(p_amount < 0))
        n_inf = int(np.count_nonzero(np.isinf(p_amount)))
        raise DataError(
            f"purchase events in the window have invalid amounts in column {amount_col!r}: "
            f"{n_neg} negative, {n_nan} missing, {n_inf} infinite; "
            "refunds and unknown amounts must be fixed or removed explicitly"
        )

    # ---------------------------------------------------------------- per-customer outcomes
    n = len(assigned)
    out = assigned.copy()
    for k, std_name in enumerate(EVENT_NAMES):
        column = "repurchased" if std_name == "purchased" else std_name
        flag = np.zeros(n, dtype=bool)
        flag[pos[remaining & (std == k)]] = True
        out[column] = flag
    out["revenue"] = np.bincount(pos[purchase], weights=p_amount, minlength=n).astype(np.float64)
    out["n_purchases"] = np.bincount(pos[purchase], minlength=n).astype(np.int64)

    # ---------------------------------------------------------------- diagnostics
    counts = {reason: int(np.count_nonzero(mask)) for reason, mask in reasons.items()}
    counts["counted"] = int(np.count_nonzero(remaining))
    details = dict(REASONS)
    if counts["unknown_event"]:
        bad_names = pd.Series(events[event_col].to_numpy()[unknown_event], dtype=object).fillna("<null>")
        top = bad_names.value_counts().head(5)
        details["unknown_event"] += ": " + ", ".join(f"{name!r} ({c})" for name, c in top.items())
    if counts["unknown_customer"] and counts["unknown_customer"] == len(events):
        a_dtype, e_dtype = assigned[id_col].dtype, events[id_col].dtype
        if a_dtype != e_dtype:
            details["unknown_customer"] += (
                f" (no id matched: assigned ids are {a_dtype}, event ids {e_dtype})"
            )
    diagnostics = pd.DataFrame(
        {
            "reason": list(counts),
            "rows": np.array(list(counts.values()), dtype=np.int64),
            "detail": [details[r] for r in counts],
        }
    )
    out.attrs["abkit_diagnostics"] = dict(counts)
    out.attrs["abkit_window"] = {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "window_days": float(window_days),
        "convention": "start <= timestamp < end",
    }
    excluded = {r: c for r, c in counts.items() if r != "counted" and c}
    if excluded and not return_diagnostics:
        listed = ", ".join(f"{c} {r.replace('_', ' ')}" for r, c in excluded.items())
        warnings.warn(
            f"outcomes(): {sum(excluded.values())} of {len(events)} event rows were not counted ({listed}); "
            "pass return_diagnostics=True to get the table",
            AbkitWarning,
            stacklevel=2,
        )
    if return_diagnostics:
        return out, diagnostics
    return out

