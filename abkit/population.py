"""Who is dormant, and in which segment: RFM per customer, status, win-back segments and eligibility.

From a transaction log (one row per order: customer id, order date, amount) and an ``as_of`` date,
:func:`rfm` computes recency, frequency and monetary value per customer with 1–5 quintile scores, and
:func:`build_population` adds each customer's status (``active``, ``dormant``, ``lapsed``), a segment for
dormant customers (``high_value``, ``high_frequency``, ``one_time``, ``other``; rules in
:class:`SegmentRules`) and eligibility: opted-out, complaint-flagged and hard-bounced customers are
removed *before* assignment, so every arm (the holdout included) loses them equally. Everything left out
is counted in :attr:`Population.exclusions`, never dropped silently.

Conventions (the same in every function here):

* Dates are compared by **calendar day**; the time of day is ignored. A transaction counts when its day
  is on or before ``as_of``'s day; ``recency_days`` is the number of whole days from the last purchase's
  day to ``as_of``'s day (0 = bought on ``as_of``).
* Each transaction row is one order: ``frequency`` is the number of rows. Aggregate line items to orders
  first if your log has one row per item.
* Amounts must be ``>= 0``; refunds are rejected unless ``refunds="exclude"`` drops (and counts) them.
"""

from __future__ import annotations

import datetime as _dt
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from abkit._display import Displayable
from abkit._validate import check_choice, check_columns
from abkit.errors import DataError, ParameterError
from abkit.frames import to_pandas_frame

__all__ = ["Population", "SegmentRules", "build_population", "rfm"]

STATUSES: tuple[str, ...] = ("active", "dormant", "lapsed")
SEGMENTS: tuple[str, ...] = ("high_value", "high_frequency", "one_time", "other")
_RULED_SEGMENTS = ("high_value", "high_frequency", "one_time")
_RFM_COLUMNS = (
    "first_purchase",
    "last_purchase",
    "recency_days",
    "frequency",
    "monetary_total",
    "monetary_avg",
    "r_score",
    "f_score",
    "m_score",
    "rfm_score",
    "rfm_total",
)
_REFUNDS = ("error", "exclude")
_UNKNOWN = ("keep", "exclude", "error")
_VALUE_MEASURES = ("monetary_avg", "monetary_total")
_SCORE_RULE = (
    "quintile scores 1-5 (5 = most recent / most orders / highest total spend): "
    "score = max(1, ceil(5 * (rank - 1) / (n - 1))) with rank = SQL RANK() (ties share the lowest rank), "
    "i.e. pandas.qcut of the ranks into 5 bins when there are no ties"
)


# --------------------------------------------------------------------------------------------------
# segment rules
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SegmentRules:
    """Rules that put each dormant customer into one win-back segment.

    * ``high_value``: ``value_measure`` (default ``monetary_avg``, the average order value, as the
      literature's "large past order values") at or above ``high_value_threshold`` when it is set,
      otherwise at or above the ``high_value_quantile`` quantile of that measure among **all dormant
      customers** (``numpy.quantile``, linear interpolation = R type 7).
    * ``high_frequency``: ``frequency`` (orders) at or above ``high_frequency_threshold`` when it is set,
      otherwise at or above the ``high_frequency_quantile`` quantile among dormant customers; never below
      2 orders (a one-time buyer is not a frequent buyer).
    * ``one_time``: exactly one order.
    * ``other``: everyone else.

    A customer matching several rules gets the first segment in ``precedence`` (default
    ``high_value > high_frequency > one_time``); a segment left out of ``precedence`` is never used.
    Thresholds are computed from dormant customers before any exclusion, so a customer's segment
    depends only on purchase histories, not on other customers' opt-out flags.

    >>> rules = SegmentRules(high_value_threshold=100.0)
    >>> rules.high_value_threshold, rules.high_frequency_threshold, rules.precedence
    (100.0, 3.0, ('high_value', 'high_frequency', 'one_time'))
    """

    high_value_quantile: float = 0.8
    high_value_threshold: float | None = None
    value_measure: str = "monetary_avg"
    high_frequency_threshold: float | None = 3.0
    high_frequency_quantile: float | None = None
    precedence: tuple[str, ...] = _RULED_SEGMENTS

    def __post_init__(self) -> None:
        check_choice("SegmentRules.value_measure", self.value_measure, _VALUE_MEASURES)
        for name in ("high_value_quantile", "high_frequency_quantile"):
            q = getattr(self, name)
            if q is not None and (not _is_real(q) or not 0 < float(q) < 1):
                raise ParameterError(
                    f"SegmentRules.{name} must be a number strictly between 0 and 1 (a quantile), got {q!r}"
                )
        for name in ("high_value_threshold", "high_frequency_threshold"):
            t = getattr(self, name)
            if t is not None and (not _is_real(t) or not np.isfinite(float(t)) or float(t) <= 0):
                raise ParameterError(
                    f"SegmentRules.{name} must be a positive finite number or None, got {t!r}"
                )
            if t is not None:
                object.__setattr__(self, name, float(t))
        if self.high_value_threshold is None and self.high_value_quantile is None:
            raise ParameterError(
                "SegmentRules needs high_value_threshold or high_value_quantile; "
                "to disable the high_value segment, leave it out of precedence"
            )
        if self.high_frequency_threshold is None and self.high_frequency_quantile is None:
            raise ParameterError(
                "SegmentRules needs high_frequency_threshold or high_frequency_quantile; "
                "to disable the high_frequency segment, leave it out of precedence"
            )
        order = (self.precedence,) if isinstance(self.precedence, str) else tuple(self.precedence)
        unknown = [s for s in order if s not in _RULED_SEGMENTS]
        if unknown or len(set(order)) != len(order):
            raise ParameterError(
                f"SegmentRules.precedence={self.precedence!r} must list distinct names among "
                f"{', '.join(map(repr, _RULED_SEGMENTS))} (everyone else is 'other')"
            )
        object.__setattr__(self, "precedence", order)

    def _thresholds(self, dormant: pd.DataFrame) -> dict[str, float]:
        """Resolve the thresholds on the dormant customers (NaN when there are none)."""
        value = dormant[self.value_measure].to_numpy(dtype=float)
        freq = dormant["frequency"].to_numpy(dtype=float)
        if self.high_value_threshold is not None:
            hv = self.high_value_threshold
        else:
            hv = float(np.quantile(value, self.high_value_quantile)) if len(value) else float("nan")
        if self.high_frequency_threshold is not None:
            hf = self.high_frequency_threshold
        else:
            hf = float(np.quantile(freq, self.high_frequency_quantile)) if len(freq) else float("nan")
        return {"high_value": hv, "high_frequency": max(hf, 2.0) if hf == hf else hf}

    def _assign(self, dormant: pd.DataFrame, thresholds: Mapping[str, float]) -> np.ndarray:
        """Segment of each dormant customer (object array of str)."""
        freq = dormant["frequency"].to_numpy()
        masks = {
            "high_value": dormant[self.value_measure].to_numpy(dtype=float) >= thresholds["high_value"],
            "high_frequency": freq >= thresholds["high_frequency"],
            "one_time": freq == 1,
        }
        seg = np.full(len(dormant), "other", dtype=object)
        for name in reversed(self.precedence):  # the first name in precedence is written last and wins
            seg[masks[name]] = name
        return seg


# --------------------------------------------------------------------------------------------------
# RFM
# --------------------------------------------------------------------------------------------------


def rfm(
    transactions: pd.DataFrame,
    *,
    as_of: Any,
    id_col: str = "customer_id",
    date_col: str = "order_date",
    amount_col: str = "amount",
    refunds: str = "error",
) -> pd.DataFrame:
    """Recency, frequency and monetary value per customer, with 1–5 quintile scores.

    One row per customer with a purchase on or before ``as_of`` (sorted by id): ``id_col``,
    ``first_purchase``, ``last_purchase``, ``recency_days``, ``frequency`` (orders), ``monetary_total``,
    ``monetary_avg`` (total / orders), ``r_score``, ``f_score``, ``m_score``, ``rfm_score`` (the classic
    three-digit code as a string, e.g. ``"535"``) and ``rfm_total`` (r + f + m, 3–15).

    Scores are rank-based quintiles, 5 = best (most recent, most orders, highest ``monetary_total``):
    ``score = max(1, ceil(5 * (rank - 1) / (n - 1)))`` where ``rank`` is the 1-based rank from worst to
    best and tied customers share the lowest rank of their tie (SQL ``RANK()``). Without ties this is
    exactly ``pandas.qcut(ranks, 5)``; with ties equal values always share a score, so scores never depend
    on row order (with few distinct values some scores are simply unused; a single customer scores 1).

    Transactions dated after ``as_of`` are ignored and counted: ``result.attrs`` holds ``as_of``,
    ``transactions``, ``transactions_used``, ``transactions_after_as_of``, ``refunds_excluded`` and
    ``customers_only_after_as_of`` (customers whose first purchase is after ``as_of``) and
    ``customers_only_refunds`` (customers with nothing but excluded refunds on or before ``as_of``).

    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2, 3],
    ...                    "order_date": pd.to_datetime(["2024-01-01", "2024-03-01",
    ...                                                  "2024-02-01", "2024-07-01"]),
    ...                    "amount": [10.0, 30.0, 5.0, 8.0]})
    >>> t = rfm(tx, as_of="2024-03-31")
    >>> cols = ["customer_id", "recency_days", "frequency", "monetary_total", "rfm_score"]
    >>> print(t[cols].to_string(index=False))
     customer_id  recency_days  frequency  monetary_total rfm_score
               1            30          2            40.0       555
               2            59          1             5.0       111
    >>> t.attrs["transactions_after_as_of"]
    1
    """
    table, counts = _rfm(transactions, as_of, id_col, date_col, amount_col, refunds)
    table.attrs = dict(counts)
    return table


def _rfm(
    transactions: pd.DataFrame, as_of: Any, id_col: str, date_col: str, amount_col: str, refunds: str
) -> tuple[pd.DataFrame, dict[str, Any]]:
    for name, col in (("id_col", id_col), ("date_col", date_col), ("amount_col", amount_col)):
        if not isinstance(col, str):
            raise ParameterError(f"{name} must be a column name (str), got {col!r}")
    check_choice("refunds", refunds, _REFUNDS)
    transactions = to_pandas_frame(transactions, what="transactions")
    check_columns(transactions, [id_col, date_col, amount_col], what="transactions")
    if len(transactions) == 0:
        raise DataError("transactions is empty: there is no purchase history to build RFM values from")
    as_of_ts = _as_of_timestamp(as_of)

    ids = transactions[id_col]
    null_ids = ids.isna().to_numpy()
    if null_ids.any():
        raise DataError(
            f"transactions column {id_col!r} has {int(null_ids.sum()):,} null id(s) "
            f"(first at row {transactions.index[np.argmax(null_ids)]!r}); drop or fill them before calling"
        )
    dates = _to_datetime(transactions[date_col], date_col, "transactions")
    amounts = _to_amounts(transactions[amount_col], amount_col, ids)

    as_of_ts = _align_tz(as_of_ts, dates, date_col)
    as_of_day = as_of_ts.normalize()
    next_day = (as_of_day + pd.DateOffset(days=1)).normalize()
    first_day = dates.min().normalize()
    if as_of_day < first_day:
        raise ParameterError(
            f"as_of={as_of_day.date()} is before the data starts: the first transaction in {date_col!r} is "
            f"on {first_day.date()}; pass an as_of on or after it"
        )

    negative = amounts < 0
    n_refunds = int(negative.sum())
    if n_refunds and refunds == "error":
        at = int(np.argmax(negative))
        raise DataError(
            f"transactions column {amount_col!r} has {n_refunds:,} negative amount(s), e.g. {amounts[at]!r} "
            f"for customer {ids.iloc[at]!r}: refunds must be explicit, not silently summed. Net each refund "
            "against its order before calling, drop refund rows yourself, or pass refunds='exclude' to "
            "ignore them (they are then counted in the result)"
        )
    in_window = (dates < next_day).to_numpy()
    keep = in_window & ~negative
    n_after = int((~in_window).sum())
    n_refunds_excluded = int((in_window & negative).sum())

    # One pass over the rows: factorise the ids (sorted), then per-customer counts, sums, min and max.
    codes, uniques = pd.factorize(ids, sort=True)
    k = len(uniques)
    rows = np.flatnonzero(keep)
    # Sum each customer's amounts in ascending order of amount, whatever the input row order, so the
    # floating-point totals (and the scores ranked on them) are bit-identical under any shuffle.
    rows = rows[np.argsort(amounts[rows])]
    kept_codes = codes[rows]
    frequency = np.bincount(kept_codes, minlength=k)
    total = np.bincount(kept_codes, weights=amounts[rows], minlength=k)
    stamps = dates.array.asi8[rows]
    first = np.full(k, np.iinfo(np.int64).max)
    last = np.full(k, np.iinfo(np.int64).min)
    np.minimum.at(first, kept_codes, stamps)
    np.maximum.at(last, kept_codes, stamps)
    present = frequency > 0
    in_window_customers = int(np.count_nonzero(np.bincount(codes[in_window], minlength=k)))

    table = pd.DataFrame({id_col: uniques[present]})
    table["first_purchase"] = _stamps_to_dates(first[present], dates)
    table["last_purchase"] = _stamps_to_dates(last[present], dates)
    table["recency_days"] = (as_of_day - table["last_purchase"].dt.normalize()).dt.days.astype(np.int64)
    table["frequency"] = frequency[present].astype(np.int64)
    table["monetary_total"] = total[present]
    table["monetary_avg"] = table["monetary_total"] / table["frequency"]
    table["r_score"] = _quintile_scores(-table["recency_days"].to_numpy())
    table["f_score"] = _quintile_scores(table["frequency"].to_numpy())
    table["m_score"] = _quintile_scores(table["monetary_total"].to_numpy())
    code = 100 * table["r_score"].to_numpy() + 10 * table["f_score"].to_numpy() + table["m_score"].to_numpy()
    table["rfm_score"] = pd.Series(code).astype(str)
    table["rfm_total"] = table["r_score"] + table["f_score"] + table["m_score"]
    counts = {
        "as_of": as_of_day,
        "transactions": len(transactions),
        "transactions_used": len(rows),
        "transactions_after_as_of": n_after,
        "refunds_excluded": n_refunds_excluded,
        "customers_only_after_as_of": k - in_window_customers,
        "customers_only_refunds": in_window_customers - len(table),
    }
    return table, counts


def _stamps_to_dates(stamps: np.ndarray, like: pd.Series) -> pd.Series:
    """Integer epoch stamps (in ``like``'s unit, UTC) back to ``like``'s datetime dtype."""
    out = pd.Series(stamps.view(f"datetime64[{like.dt.unit}]"))
    tz = like.dt.tz
    return out if tz is None else out.dt.tz_localize("UTC").dt.tz_convert(tz)


def _quintile_scores(goodness: np.ndarray) -> np.ndarray:
    """1–5 scores from values where larger is better; ties share the score of their lowest rank."""
    n = len(goodness)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if n == 1:
        return np.ones(1, dtype=np.int64)
    lo = int(goodness.min()) if goodness.dtype.kind in "iu" else 0
    if goodness.dtype.kind in "iu" and int(goodness.max()) - lo <= 4 * n:
        # small integer range (days, order counts): counting sort, no comparison sort needed
        offset = goodness - lo
        tally = np.bincount(offset)
        below = np.concatenate(([0], np.cumsum(tally)[:-1]))  # customers strictly worse than each value
        rank = below[offset] + 1
    else:
        _, inverse, tie_sizes = np.unique(goodness, return_inverse=True, return_counts=True)
        below = np.concatenate(([0], np.cumsum(tie_sizes)[:-1]))
        rank = below[inverse] + 1  # SQL RANK(): 1 = worst, ties share their lowest rank
    score = -(-5 * (rank - 1) // (n - 1))  # exact integer ceil
    return np.maximum(score, 1).astype(np.int64)


# --------------------------------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------------------------------


def _is_real(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


def _as_of_timestamp(as_of: Any) -> pd.Timestamp:
    hint = "pass a date such as '2024-06-30', datetime.date(2024, 6, 30) or pd.Timestamp('2024-06-30')"
    if not isinstance(as_of, str | _dt.date | np.datetime64 | pd.Timestamp):
        raise ParameterError(f"as_of must be a date, got {as_of!r} ({type(as_of).__name__}); {hint}")
    try:
        ts = pd.Timestamp(as_of)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ParameterError(f"as_of={as_of!r} is not a date pandas can parse; {hint}") from exc
    if pd.isna(ts):
        raise ParameterError(f"as_of={as_of!r} is not a date (NaT); {hint}")
    naive = ts.tz_localize(None) if ts.tz is not None else ts
    if not pd.Timestamp.min <= naive <= pd.Timestamp.max:
        raise ParameterError(
            f"as_of={ts:%Y-%m-%d} is outside the dates abkit can compute with "
            f"({pd.Timestamp.min:%Y-%m-%d} to {pd.Timestamp.max:%Y-%m-%d}); check the date (the send date)"
        )
    return ts


def _align_tz(as_of: pd.Timestamp, dates: pd.Series, date_col: str) -> pd.Timestamp:
    tz = dates.dt.tz
    if tz is None:
        if as_of.tz is not None:
            raise ParameterError(
                f"as_of={as_of} has a time zone but {date_col!r} has none; pass a naive as_of "
                "or localise the dates"
            )
        return as_of
    return as_of.tz_localize(tz) if as_of.tz is None else as_of.tz_convert(tz)


def _to_datetime(values: pd.Series, name: str, what: str) -> pd.Series:
    """Convert a date column to datetime64, naming the column and a bad example on failure."""
    if isinstance(values.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(values.dtype):
        out = values
    elif pd.api.types.is_bool_dtype(values.dtype) or pd.api.types.is_numeric_dtype(values.dtype):
        raise DataError(
            f"{what} column {name!r} holds {values.dtype} numbers, not dates (e.g. {values.iloc[0]!r}); "
            "convert it first, e.g. pd.to_datetime(values, unit='s') for Unix seconds"
        )
    else:
        try:
            out = _parse_dates(values)
        except (ValueError, TypeError, OverflowError) as exc:
            if "Mixed timezones" in str(exc) or "mixed time zones" in str(exc).lower():
                raise DataError(
                    f"{what} column {name!r} mixes time-zone offsets (e.g. {values.iloc[0]!r}); "
                    "write every date in one zone, or convert them first, e.g. "
                    "pd.to_datetime(values, utc=True)"
                ) from None
            try:
                coerced = pd.to_datetime(values, errors="coerce", format="mixed")
            except (ValueError, TypeError, OverflowError):
                coerced = pd.Series(pd.NaT, index=values.index)
            bad = coerced.isna() & values.notna()
            example = f"e.g. {values[bad].iloc[0]!r}" if bad.any() else f"in mixed formats ({exc})"
            raise DataError(
                f"{what} column {name!r} has values that cannot be parsed as dates, {example}; "
                "fix or drop those rows, or parse the column yourself with pd.to_datetime(..., format=...)"
            ) from exc
    nulls = out.isna().to_numpy()
    if nulls.any():
        raise DataError(
            f"{what} column {name!r} has {int(nulls.sum()):,} missing date(s) "
            f"(first at row {values.index[np.argmax(nulls)]!r}); drop or fill them before calling"
        )
    return out


def _parse_dates(values: pd.Series) -> pd.Series:
    """Parse date strings: one inferred format, else ISO 8601 variants; never guess day/month order."""
    try:
        return pd.to_datetime(values)
    except (ValueError, TypeError, OverflowError):
        return pd.to_datetime(values, format="ISO8601")


def _to_amounts(values: pd.Series, name: str, ids: pd.Series) -> np.ndarray:
    if pd.api.types.is_bool_dtype(values.dtype) or not pd.api.types.is_numeric_dtype(values.dtype):
        raise DataError(
            f"transactions column {name!r} must be numeric (order amounts), got dtype {values.dtype} "
            f"(e.g. {values.iloc[0]!r}); convert it with pd.to_numeric"
        )
    arr = values.to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(arr)
    if bad.any():
        at = int(np.argmax(bad))
        raise DataError(
            f"transactions column {name!r} has {int(bad.sum()):,} missing or infinite amount(s), e.g. "
            f"{arr[at]!r} for customer {ids.iloc[at]!r}; drop or fill them before calling"
        )
    return arr


def _days(name: str, value: Any) -> int:
    if not _is_real(value) or not np.isfinite(float(value)) or float(value) != int(value) or value <= 0:
        raise ParameterError(f"{name} must be a positive whole number of days, got {value!r}")
    return int(value)


def _names(name: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    names = (value,) if isinstance(value, str) else tuple(value)
    if not all(isinstance(v, str) for v in names):
        raise ParameterError(f"{name} must be a column name or a list of column names, got {value!r}")
    return names


def _flag_array(customers: pd.DataFrame, col: str) -> np.ndarray:
    s = customers[col]
    nulls = s.isna().to_numpy()
    if nulls.any():
        raise DataError(
            f"customers column {col!r} has {int(nulls.sum()):,} missing value(s); a suppression or "
            f"status flag must be True/False. If missing means 'no', fill it: "
            f"customers[{col!r}].fillna(False)"
        )
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(s.dtype):
        arr = s.to_numpy(dtype=float)
        if np.isin(arr, (0.0, 1.0)).all():
            return arr == 1.0
    bad = s[~s.isin([True, False, 0, 1])]
    example = bad.iloc[0] if len(bad) else s.iloc[0]
    raise DataError(
        f"customers column {col!r} must hold True/False (or 0/1) flags, got dtype {s.dtype} "
        f"with values such as {example!r}; convert it to booleans first"
    )


# --------------------------------------------------------------------------------------------------
# population
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class Population(Displayable):
    """The customers at ``as_of`` with RFM values, status, segment and eligibility (immutable).

    * ``customers``: every customer with a purchase on or before ``as_of``: the :func:`rfm` columns
      plus ``status``, ``segment`` (dormant customers only; missing otherwise), the flag columns used,
      ``exclusion_reason`` (first matching suppression flag, missing if none) and ``eligible``.
    * ``eligible``: the dormant customers left after exclusions, one row per customer with ``segment``
      and the RFM columns: the input to assignment.
    * ``exclusions``: what was left out and why: ``reason``, ``unit`` (transactions or customers),
      ``count`` and ``effect``. Flag rows count *dormant* customers by their first matching flag in
      ``exclude`` order, so they add up to the number of dormant customers removed.
    * ``to_pandas()``: customers by status and segment, with excluded and eligible counts.
    """

    _customers: pd.DataFrame = field(repr=False)
    _eligible: pd.DataFrame = field(repr=False)
    _exclusions: pd.DataFrame = field(repr=False)
    as_of: pd.Timestamp
    dormant_after: int
    lapsed_after: int | None
    segment_rules: SegmentRules
    segment_thresholds: Mapping[str, float]
    exclude: tuple[str, ...]
    lapsed_flag_col: tuple[str, ...]
    id_col: str
    unknown_customers: str
    refunds: str
    suppression_applied: bool

    @property
    def customers(self) -> pd.DataFrame:
        """Every customer (a copy-on-write copy: changing it does not change the population)."""
        return self._customers.copy(deep=False)

    @property
    def eligible(self) -> pd.DataFrame:
        """The dormant customers eligible for the campaign, one row each, with ``segment``."""
        return self._eligible.copy(deep=False)

    @property
    def exclusions(self) -> pd.DataFrame:
        """What was left out and why (reason, unit, count, effect)."""
        return self._exclusions.copy(deep=False)

    @property
    def n_eligible(self) -> int:
        """Number of eligible dormant customers."""
        return len(self._eligible)

    def status_counts(self) -> dict[str, int]:
        """Customers per status."""
        counts = self._customers["status"].value_counts()
        return {s: int(counts.get(s, 0)) for s in STATUSES}

    def to_pandas(self) -> pd.DataFrame:
        """Customers by status and segment, with how many were excluded and how many are eligible."""
        c = self._customers
        rows: list[dict[str, Any]] = []
        for status in STATUSES:
            part = c[c["status"] == status]
            segments: Sequence[Any] = SEGMENTS if status == "dormant" else (None,)
            for seg in segments:
                sub = part if seg is None else part[part["segment"] == seg]
                n_elig = int(sub["eligible"].sum())
                rows.append(
                    {
                        "status": status,
                        "segment": seg if seg is not None else pd.NA,
                        "customers": len(sub),
                        "excluded": len(sub) - n_elig if status == "dormant" else 0,
                        "eligible": n_elig,
                    }
                )
        rows.append(
            {
                "status": "total",
                "segment": pd.NA,
                "customers": len(c),
                "excluded": int(((c["status"] == "dormant") & ~c["eligible"]).sum()),
                "eligible": int(c["eligible"].sum()),
            }
        )
        out = pd.DataFrame(rows)
        for col in ("customers", "excluded", "eligible"):
            out[col] = out[col].astype(np.int64)
        return out

    def _title(self) -> str:
        lapsed = f"{self.lapsed_after}" if self.lapsed_after is not None else "never"
        return (
            f"Population as of {self.as_of.date()} (dormant after {self.dormant_after} days, "
            f"lapsed after {lapsed})"
        )

    def _notes(self) -> list[str]:
        ex = self._exclusions
        notes = []
        left_out = ex[ex["count"] > 0]
        if len(left_out):
            notes.append(
                "Left out or flagged: "
                + "; ".join(f"{r.reason}: {r.count:,} {r.unit}" for r in left_out.itertuples())
            )
        th = self.segment_thresholds
        notes.append(
            f"Segments (dormant only, precedence {' > '.join(self.segment_rules.precedence)}): "
            f"high_value if {self.segment_rules.value_measure} >= {th['high_value']:.6g}; "
            f"high_frequency if orders >= {th['high_frequency']:.6g}; one_time if exactly 1 order."
        )
        if not self.suppression_applied:
            notes.append(
                "WARNING: no customers table was given, so no opted-out / complained / hard-bounced "
                "customer was excluded. Pass customers=... before contacting anyone."
            )
        notes.append("RFM scores: " + _SCORE_RULE + ".")
        return notes

    def summary(self) -> str:
        """A readable text summary: counts by status and segment, exclusions and conventions."""
        with pd.option_context("display.width", 120, "display.max_columns", 30):
            ex = self._exclusions.to_string(index=False)
        return f"{self}\n\nExclusions\n{ex}"

    def __repr__(self) -> str:
        s = self.status_counts()
        return (
            f"Population(as_of={self.as_of.date()}, customers={len(self._customers):,}, "
            f"active={s['active']:,}, dormant={s['dormant']:,}, lapsed={s['lapsed']:,}, "
            f"eligible={self.n_eligible:,})"
        )


def build_population(
    transactions: pd.DataFrame,
    *,
    as_of: Any,
    customers: pd.DataFrame | None = None,
    dormant_after: int = 180,
    lapsed_after: int | None = 730,
    lapsed_flag_col: str | Sequence[str] | None = None,
    segment_rules: SegmentRules | None = None,
    exclude: str | Sequence[str] | None = ("opted_out", "complained", "hard_bounced"),
    id_col: str = "customer_id",
    date_col: str = "order_date",
    amount_col: str = "amount",
    refunds: str = "error",
    unknown_customers: str = "exclude",
) -> Population:
    """Status, segment and eligibility of every customer at ``as_of``: the win-back population.

    Status from ``recency_days`` (see :func:`rfm`): ``active`` if ``recency < dormant_after``,
    ``dormant`` if ``dormant_after <= recency < lapsed_after``, ``lapsed`` if ``recency >= lapsed_after``
    (never by recency when ``lapsed_after=None``) or if any ``lapsed_flag_col`` flag of the customers
    table is true (cancelled, complained: an explicit break-up, whatever the recency).

    Dormant customers get a segment from ``segment_rules`` (default :class:`SegmentRules`). Eligible =
    dormant and not flagged in any ``exclude`` column of ``customers`` (opted out, complained, hard
    bounced): they are removed **before** assignment, so every arm loses them equally. Customers in the
    transactions but absent from ``customers`` have an unknown opt-out status: per
    ``unknown_customers`` they are excluded (``"exclude"``, the default: never contact someone who
    may have opted out), kept as not flagged (``"keep"``) or rejected (``"error"``); they are
    counted either way, as ``not_in_customers_table``.
    Every column named in ``exclude`` and ``lapsed_flag_col`` must be in ``customers`` and hold True/False
    (or 0/1) without missing values; with ``customers=None`` nothing is suppressed and the result says so.
    Customers in ``customers`` without any purchase on or before ``as_of`` are not in the population
    (never bought, or first bought later) and are counted in ``exclusions``.

    >>> tx = pd.DataFrame({"customer_id": [1, 2, 2, 3, 4],
    ...                    "order_date": pd.to_datetime(["2024-06-01", "2023-10-01", "2023-11-01",
    ...                                                  "2023-09-01", "2021-01-01"]),
    ...                    "amount": [20.0, 50.0, 70.0, 15.0, 30.0]})
    >>> cust = pd.DataFrame({"customer_id": [1, 2, 3, 4], "opted_out": [False, False, True, False],
    ...                      "complained": False, "hard_bounced": False})
    >>> pop = build_population(tx, as_of="2024-06-30", customers=cust)
    >>> pop
    Population(as_of=2024-06-30, customers=4, active=1, dormant=2, lapsed=1, eligible=1)
    >>> print(pop.eligible[["customer_id", "segment", "recency_days", "frequency"]].to_string(index=False))
     customer_id    segment  recency_days  frequency
               2 high_value           242          2
    """
    rules = SegmentRules() if segment_rules is None else segment_rules
    if not isinstance(rules, SegmentRules):
        raise ParameterError(f"segment_rules must be a SegmentRules, got {type(segment_rules).__name__}")
    dormant_days = _days("dormant_after", dormant_after)
    lapsed_days = None if lapsed_after is None else _days("lapsed_after", lapsed_after)
    if lapsed_days is not None and lapsed_days <= dormant_days:
        raise ParameterError(
            f"lapsed_after={lapsed_after!r} must be greater than dormant_after={dormant_after!r} "
            "(dormant customers are those with dormant_after <= recency < lapsed_after)"
        )
    excl = _names("exclude", exclude)
    lapsed_cols = _names("lapsed_flag_col", lapsed_flag_col)
    check_choice("unknown_customers", unknown_customers, _UNKNOWN)
    if customers is None and lapsed_cols:
        raise ParameterError(
            f"lapsed_flag_col={lapsed_flag_col!r} needs a customers table holding that flag; "
            "pass customers=..."
        )
    if customers is not None:
        customers = to_pandas_frame(customers, what="customers")

    table, counts = _rfm(transactions, as_of, id_col, date_col, amount_col, refunds)
    n = len(table)
    flag_cols = list(dict.fromkeys([*lapsed_cols, *excl]))
    flags: dict[str, np.ndarray] = {}
    unknown = np.zeros(n, dtype=bool)
    without_tx = 0
    if customers is not None:
        check_columns(customers, [id_col], what="customers")
        check_columns(customers, flag_cols, what="customers (flag columns from exclude / lapsed_flag_col)")
        cid = customers[id_col]
        if cid.isna().any():
            nulls = cid.isna().to_numpy()
            raise DataError(
                f"customers column {id_col!r} has {int(nulls.sum()):,} null id(s) "
                f"(first at row {customers.index[np.argmax(nulls)]!r}); drop or fill them"
            )
        dup = cid.duplicated(keep=False).to_numpy()
        if dup.any():
            examples = pd.unique(cid[dup])[:3].tolist()
            raise DataError(
                f"customers column {id_col!r} has {int(cid[dup].nunique()):,} duplicated id(s), e.g. "
                f"{', '.join(map(repr, examples))}; the customers table needs one row per customer"
            )
        pos = pd.Index(cid).get_indexer(pd.Index(table[id_col]))
        unknown = pos < 0
        if n and len(cid) and unknown.all():
            raise DataError(
                f"no {id_col!r} of the transactions appears in customers (dtypes {table[id_col].dtype} and "
                f"{cid.dtype}); check that both use the same ids and the same type"
            )
        if unknown.any() and unknown_customers == "error":
            examples = table.loc[unknown, id_col].head(3).tolist()
            raise DataError(
                f"{int(unknown.sum()):,} customer(s) of the transactions are not in the customers table "
                f"(column {id_col!r}), e.g. {', '.join(map(repr, examples))}; add them or pass "
                "unknown_customers='keep' (treated as not flagged) or 'exclude'"
            )
        without_tx = int((~cid.isin(table[id_col])).sum())
        safe = np.where(unknown, 0, pos)
        for col in flag_cols:
            arr = _flag_array(customers, col)
            flags[col] = np.where(unknown, False, arr[safe]) if len(arr) else np.zeros(n, dtype=bool)

    recency = table["recency_days"].to_numpy()
    lapsed = recency >= lapsed_days if lapsed_days is not None else np.zeros(n, dtype=bool)
    for col in lapsed_cols:
        lapsed = lapsed | flags[col]
    status = np.where(lapsed, "lapsed", np.where(recency < dormant_days, "active", "dormant")).astype(object)
    dormant = status == "dormant"

    thresholds = rules._thresholds(table.loc[dormant])
    segment = np.full(n, None, dtype=object)
    segment[dormant] = rules._assign(table.loc[dormant], thresholds)

    reason = np.full(n, None, dtype=object)
    if unknown_customers == "exclude":
        reason[unknown] = "not_in_customers_table"
    for col in reversed(excl if customers is not None else ()):  # first flag in `exclude` wins
        reason[flags[col]] = col
    eligible = dormant & pd.isna(reason)

    out = table.copy()
    out["status"] = pd.array(status, dtype="str")
    out["segment"] = pd.array(segment, dtype="str")
    for col in flag_cols:
        if col in flags:
            out[col] = flags[col]
    if customers is not None:
        out["in_customers_table"] = ~unknown
    out["exclusion_reason"] = pd.array(reason, dtype="str")
    out["eligible"] = eligible

    rfm_cols = [c for c in table.columns if c != id_col]
    elig = out.loc[eligible, [id_col, "segment", *rfm_cols]].reset_index(drop=True)

    ex_rows: list[tuple[str, str, int, str]] = [
        (
            "transactions_after_as_of",
            "transactions",
            counts["transactions_after_as_of"],
            "ignored: dated after as_of",
        ),
        (
            "refunds_excluded",
            "transactions",
            counts["refunds_excluded"],
            "ignored: negative amount (refunds='exclude')",
        ),
        (
            "customers_only_after_as_of",
            "customers",
            counts["customers_only_after_as_of"],
            "not in the population: first purchase after as_of",
        ),
        (
            "customers_only_refunds",
            "customers",
            counts["customers_only_refunds"],
            "not in the population: only refunds on or before as_of (refunds='exclude')",
        ),
        (
            "customers_without_transactions",
            "customers",
            without_tx,
            "not in the population: in the customers table but no purchase on or before as_of",
        ),
        (
            "not_in_customers_table",
            "customers",
            int((unknown & dormant).sum()),
            "dormant customers absent from the customers table: "
            + ("excluded" if unknown_customers == "exclude" else "kept, treated as not flagged"),
        ),
    ]
    if customers is not None:
        for col in excl:
            ex_rows.append(
                (
                    col,
                    "customers",
                    int((dormant & (reason == col)).sum()),
                    f"dormant customers excluded: {col}",
                )
            )
    exclusions = pd.DataFrame(ex_rows, columns=["reason", "unit", "count", "effect"])
    exclusions["count"] = exclusions["count"].astype(np.int64)

    return Population(
        _customers=out,
        _eligible=elig,
        _exclusions=exclusions,
        as_of=counts["as_of"],
        dormant_after=dormant_days,
        lapsed_after=lapsed_days,
        segment_rules=rules,
        segment_thresholds=types.MappingProxyType(thresholds),
        exclude=excl,
        lapsed_flag_col=lapsed_cols,
        id_col=id_col,
        unknown_customers=unknown_customers,
        refunds=refunds,
        suppression_applied=customers is not None,
    )
