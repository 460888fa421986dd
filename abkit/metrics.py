"""Metrics and their sufficient statistics: the boundary between customer rows and the statistics.

A metric says which column it reads and which aggregates it needs (in the spirit of tea-tasting):
a :class:`Proportion` needs the unit count ``n`` and the number of successes ``sum``; a :class:`Mean`
also needs the sum of squares ``sum_sq``. :func:`sufficient_statistics` computes them all at once,
in one vectorised pass over the rows, and returns a small table with one row per
(metric, segment, variant). Every statistical routine in abkit works on that table, never on rows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from abkit._validate import check_columns, check_propensities
from abkit.errors import ColumnError, DataError, ParameterError
from abkit.frames import to_pandas_frame

__all__ = [
    "POOLED_SEGMENT",
    "STAT_COLUMNS",
    "Mean",
    "Metric",
    "Proportion",
    "covariate_columns",
    "sufficient_columns",
    "sufficient_statistics",
]

#: Label of the pooled segment (all units together); also used when there is no segment column.
POOLED_SEGMENT = "all"

#: Columns of the table returned by :func:`sufficient_statistics`, in order.
STAT_COLUMNS = ("metric", "kind", "segment", "variant", "n", "sum", "sum_sq")

#: Suffix of the sum-of-squares column of a mean metric in aggregated input (``revenue_sumsq``).
SUMSQ_SUFFIX = "_sumsq"


def covariate_columns(covariates: Sequence[str]) -> tuple[list[str], list[str], list[str]]:
    """Names of the CUPED columns of :func:`sufficient_statistics` for ``covariates``.

    Returns ``(sum_x, sum_xx, sum_xy)`` column names: ``sum_x:<c>`` (sum of the covariate),
    ``sum_xx:<a>:<b>`` for every pair ``a <= b`` in the given order (sum of products; the matrix is
    symmetric) and ``sum_xy:<c>`` (sum of covariate times metric value).

    >>> covariate_columns(["frequency", "recency_days"])[1]
    ['sum_xx:frequency:frequency', 'sum_xx:frequency:recency_days', 'sum_xx:recency_days:recency_days']
    """
    cov = list(covariates)
    xx = [f"sum_xx:{a}:{b}" for i, a in enumerate(cov) for b in cov[i:]]
    return [f"sum_x:{c}" for c in cov], xx, [f"sum_xy:{c}" for c in cov]


def _check_covariates(data: pd.DataFrame, covariates: Any, n_col: str | None) -> list[str]:
    if isinstance(covariates, str):
        covariates = [covariates]
    if not isinstance(covariates, Sequence) or not all(isinstance(c, str) and c for c in covariates):
        raise ParameterError(f"covariates must be a list of column names, got {covariates!r}")
    cov = list(covariates)
    dupes = sorted({c for c in cov if cov.count(c) > 1})
    if dupes:
        raise ParameterError(f"covariates: {dupes} listed more than once")
    if n_col is not None and cov:
        raise ParameterError(
            f"covariates={cov} need one row per unit (n_col=None): CUPED needs each unit's covariate "
            "values (sums of squares and of cross products with the metric), which aggregated counts "
            "do not carry. Pass the per-customer outcomes joined with the pre-period columns"
        )
    check_columns(data, cov, what="data (covariates)")
    return cov


@dataclass(frozen=True)
class _MetricBase:
    column: str
    name: str | None = field(default=None)

    kind: ClassVar[str] = ""
    aggregates: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.column, str) or not self.column:
            raise ParameterError(
                f"{type(self).__name__}(column=...) must be a non-empty column name, got {self.column!r}"
            )
        if self.name is None:
            object.__setattr__(self, "name", self.column)
        elif not isinstance(self.name, str) or not self.name:
            raise ParameterError(
                f"{type(self).__name__}(name=...) must be a non-empty string, got {self.name!r}"
            )

    def __repr__(self) -> str:
        extra = f", name={self.name!r}" if self.name != self.column else ""
        return f"{type(self).__name__}({self.column!r}{extra})"

    def renamed(self, name: str) -> _MetricBase:
        """The same metric under another display name."""
        return type(self)(self.column, name)


@dataclass(frozen=True, repr=False)
class Proportion(_MetricBase):
    """A rate: the share of units with a success (opened, clicked, repurchased, ...).

    Per-unit rows hold 0/1 or booleans in ``column``; aggregated rows hold the number of successes.
    Aggregates needed: ``n`` and ``sum`` (``sum_sq`` equals ``sum`` for 0/1 values).

    >>> Proportion("repurchased")
    Proportion('repurchased')
    >>> Proportion("repurchased", name="repurchase rate").name
    'repurchase rate'
    """

    kind: ClassVar[str] = "proportion"
    aggregates: ClassVar[tuple[str, ...]] = ("n", "sum")


@dataclass(frozen=True, repr=False)
class Mean(_MetricBase):
    """A mean per unit (revenue per recipient, zeros included).

    Per-unit rows hold the value in ``column``; aggregated rows hold the sum in ``column`` and the
    sum of squares in ``<column>_sumsq``. Aggregates needed: ``n``, ``sum`` and ``sum_sq``.

    >>> Mean("revenue").aggregates
    ('n', 'sum', 'sum_sq')
    """

    kind: ClassVar[str] = "mean"
    aggregates: ClassVar[tuple[str, ...]] = ("n", "sum", "sum_sq")


Metric = Proportion | Mean

MetricsArg = (
    str | Proportion | Mean | Sequence[str | Proportion | Mean] | Mapping[str, str | Proportion | Mean]
)


# --------------------------------------------------------------------------------------------------
# resolving the ``metrics`` argument
# --------------------------------------------------------------------------------------------------
def metric_items(metrics: Any) -> list[tuple[str | None, str | Proportion | Mean]]:
    """``metrics`` as a list of (display name or None, column name or metric object).

    Accepts what :func:`sufficient_statistics` accepts: a column name, a metric object, a list of
    them, or a mapping display name -> column or metric; anything else raises ParameterError.

    >>> metric_items({"Conversion": "repurchased"})
    [('Conversion', 'repurchased')]
    """
    if isinstance(metrics, str | Proportion | Mean):
        return [(None, metrics)]
    if isinstance(metrics, Mapping):
        items: list[tuple[str | None, Any]] = []
        for key, value in metrics.items():
            if not isinstance(key, str) or not key:
                raise ParameterError(f"metrics: display names must be non-empty strings, got {key!r}")
            items.append((key, value))
    elif isinstance(metrics, Sequence) or pd.api.types.is_list_like(metrics):
        items = [(None, value) for value in metrics]
    else:
        raise ParameterError(
            f"metrics must be a column name, a list of column names or metric objects, or a mapping "
            f"display name -> column; got {type(metrics).__name__}"
        )
    for _, value in items:
        if not isinstance(value, str | Proportion | Mean) or (isinstance(value, str) and not value):
            raise ParameterError(
                f"metrics: each metric must be a column name or abkit.Proportion/abkit.Mean, got {value!r}"
            )
    if not items:
        raise ParameterError("metrics is empty; name at least one metric column")
    return items


_as_items = metric_items  # the short name this module's functions use


def _numeric_values(data: pd.DataFrame, column: str) -> tuple[np.ndarray, bool]:
    """The column as float64 values, and whether its dtype is an integer or boolean one.

    Raises DataError for a non-numeric column, for missing values (counted) and for infinities.
    """
    series = data[column]
    dtype = series.dtype
    is_bool = pd.api.types.is_bool_dtype(dtype)
    is_int = pd.api.types.is_integer_dtype(dtype)
    if not (is_bool or pd.api.types.is_numeric_dtype(dtype)):
        raise DataError(
            f"column {column!r} is not numeric (dtype {dtype}); a metric column must hold numbers or "
            "booleans. Convert it (e.g. with pandas.to_numeric) before computing statistics"
        )
    if isinstance(dtype, np.dtype):
        values = series.to_numpy(dtype=np.float64, copy=False)
        n_missing = int(np.count_nonzero(np.isnan(values))) if dtype.kind == "f" else 0
    else:  # pandas nullable / arrow dtypes may hold NA
        mask = series.isna().to_numpy()
        n_missing = int(np.count_nonzero(mask))
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    if n_missing:
        raise DataError(
            f"{n_missing} NaN values in column {column!r}; fill or drop them explicitly "
            "(e.g. revenue 0.0 for customers who bought nothing)"
        )
    if not (is_bool or is_int) and not np.isfinite(values).all():
        n_inf = int(np.count_nonzero(~np.isfinite(values)))
        raise DataError(f"{n_inf} infinite values in column {column!r}; remove or fix them explicitly")
    return values, is_bool or is_int


def _is_zero_one(values: np.ndarray, exact_int: bool) -> bool:
    if values.size == 0:
        return True
    if exact_int:  # integer or bool dtype: min/max bound the values, cheap
        return bool(values.min() >= 0 and values.max() <= 1)
    return bool(np.all((values == 0) | (values == 1)))


# --------------------------------------------------------------------------------------------------
# grouping
# --------------------------------------------------------------------------------------------------
_SMALL_ROWS = 256  # up to this many rows, label columns are coded in Python (see _codes)


def _codes(data: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes and unique labels of a grouping column; DataError when it holds nulls."""
    series = data[column]
    if isinstance(series.dtype, pd.StringDtype) and len(series) <= _SMALL_ROWS:
        # a few aggregated rows of text labels: a dict is several times faster than pd.factorize
        index: dict[str, int] = {}
        values = series.tolist()  # str, or a missing value (NaN / pd.NA)
        codes = np.fromiter(
            (index.setdefault(v, len(index)) if isinstance(v, str) else -1 for v in values),
            dtype=np.intp, count=len(values),
        )  # fmt: skip
        labels = np.array(list(index), dtype=object)
    else:
        # factorize keeps only observed labels (unused categories of a categorical are not variants)
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        labels = np.asarray(uniques, dtype=object)
    n_null = int(np.count_nonzero(codes < 0))
    if n_null:
        raise DataError(
            f"{n_null} null values in column {column!r}; every unit needs a {column} label. "
            "Fill or drop those rows explicitly"
        )
    return codes, labels


def _group_codes(
    data: pd.DataFrame, variant_col: str, segment_col: str | None
) -> tuple[np.ndarray, list[str], list[str]]:
    var_codes, var_labels = _codes(data, variant_col)
    if segment_col is None:
        return var_codes, [POOLED_SEGMENT], [str(v) for v in var_labels]
    seg_codes, seg_labels = _codes(data, segment_col)
    segments = [str(s) for s in seg_labels]
    if POOLED_SEGMENT in segments:
        raise DataError(
            f"column {segment_col!r} holds the segment label {POOLED_SEGMENT!r}, which abkit reserves "
            "for the pooled rows; rename that segment"
        )
    codes = seg_codes * len(var_labels) + var_codes
    return codes, segments, [str(v) for v in var_labels]


# --------------------------------------------------------------------------------------------------
# the public function
# --------------------------------------------------------------------------------------------------
def sufficient_statistics(
    data: pd.DataFrame,
    metrics: MetricsArg,
    *,
    variant_col: str = "variant",
    segment_col: str | None = None,
    n_col: str | None = None,
    covariates: Sequence[str] | None = None,
    allow_empty: bool = False,
    propensity: str | None = None,
) -> pd.DataFrame:
    """Aggregate rows into ``n``, ``sum`` and ``sum_sq`` per (metric, segment, variant).

    ``data`` is either one row per unit (``n_col=None``) or aggregated rows (``n_col`` names the
    column of unit counts; several rows of the same segment and variant are added together).

    ``metrics`` is a column name, a list of column names and/or :class:`Proportion` / :class:`Mean`
    objects, or a mapping display name -> column (or metric object). Kinds are inferred unless a
    metric object is given:

    * per-unit rows: a column holding only 0 and 1 is a proportion whatever its dtype (bool, int,
      float, e.g. after ``fillna(0.0)``, or a pandas nullable integer/boolean); any other numeric
      column is a mean;
    * aggregated rows: a metric is a proportion (its column holds successes) unless a
      ``<column>_sumsq`` column exists, which makes it a mean (sum in ``<column>``, sum of squares in
      ``<column>_sumsq``), except when every row's sum of squares equals its sum and the sums are
      whole counts no larger than ``n``: those are the sums of a 0/1 column, a proportion again.
      A count column without ``_sumsq`` whose counts exceed ``n`` (orders rather than buyers) is
      refused with a :class:`~abkit.errors.DataError` saying how to declare the mean.

    An explicit :class:`Proportion` or :class:`Mean` always overrides the inference.

    Returns a DataFrame with columns ``metric, kind, segment, variant, n, sum, sum_sq``: ``metric``
    is the display name, ``n`` is int64, ``sum`` and ``sum_sq`` are float64 (exact for counts up to
    2**53; ``sum_sq == sum`` for a proportion), ``segment`` and ``variant`` are strings. Without
    ``segment_col`` every row has segment ``"all"``; with it, each segment has its rows and the
    pooled rows (segment ``"all"``, the sum of the segments) come FIRST within each metric. Rows are
    sorted by metric (in the order given), segment (``"all"`` first, then as strings) and variant
    (as strings). Every (segment, variant) combination must have at least one unit, else
    :class:`~abkit.errors.DataError`; with ``allow_empty=True`` such a cell is kept with ``n = 0``
    (and zero sums), for callers that report it as not estimable and evaluate the rest.

    ``covariates`` (per-unit rows only) adds the sufficient statistics of CUPED regression
    adjustment (:mod:`abkit.stats.cuped`) in the same pass: the columns named by
    :func:`covariate_columns` (``sum_x:<c>``, ``sum_xx:<a>:<b>``, ``sum_xy:<c>``). A covariate with
    missing values, or constant over all units, raises :class:`~abkit.errors.DataError` naming it.

    ``propensity`` (per-unit rows only) names the column of each unit's probability of the arm it
    got (a targeted wave) and adds the weighted sums of :mod:`abkit.stats.weighting` with ``w = 1 /
    propensity``: ``sum_w``, ``sum_w2`` and, per metric, ``sum_wy``, ``sum_w2y``, ``sum_w2y2``
    (:data:`~abkit.stats.weighting.WEIGHTED_COLUMNS`).

    >>> df = pd.DataFrame({"variant": ["a", "a", "b", "b", "b"],
    ...                    "opened": [True, False, True, True, False],
    ...                    "revenue": [0.0, 10.0, 5.0, 0.0, 0.0]})
    >>> sufficient_statistics(df, ["opened", "revenue"])
        metric        kind segment variant  n   sum  sum_sq
    0   opened  proportion     all       a  2   1.0     1.0
    1   opened  proportion     all       b  3   2.0     2.0
    2  revenue        mean     all       a  2  10.0   100.0
    3  revenue        mean     all       b  3   5.0    25.0

    Aggregated input (an email tool's report):

    >>> agg = pd.DataFrame({"variant": ["a", "b"], "sent": [100, 120], "opened": [30, 41]})
    >>> sufficient_statistics(agg, {"open rate": "opened"}, n_col="sent")[["metric", "variant", "n", "sum"]]
          metric variant    n   sum
    0  open rate       a  100  30.0
    1  open rate       b  120  41.0
    """
    columns = sufficient_columns(
        data, metrics, variant_col=variant_col, segment_col=segment_col, n_col=n_col,
        covariates=covariates, allow_empty=allow_empty, propensity=propensity,
    )  # fmt: skip
    # label columns hold Python str objects: pandas stores them as its string dtype (as astype(str))
    return pd.DataFrame(columns)


def sufficient_columns(
    data: pd.DataFrame,
    metrics: MetricsArg,
    *,
    variant_col: str = "variant",
    segment_col: str | None = None,
    n_col: str | None = None,
    covariates: Sequence[str] | None = None,
    allow_empty: bool = False,
    propensity: str | None = None,
) -> dict[str, np.ndarray]:
    """:func:`sufficient_statistics` as a mapping column -> numpy array, without building a DataFrame.

    The same rows, order and checks; label columns (``metric, kind, segment, variant``) are object
    arrays of ``str``. For callers that compute on the arrays at once (``evaluate`` on small inputs,
    where building a DataFrame would cost more than the statistics).

    >>> agg = pd.DataFrame({"variant": ["a", "b"], "sent": [100, 120], "opened": [30, 41]})
    >>> cols = sufficient_columns(agg, ["opened"], n_col="sent")
    >>> list(cols["variant"]), cols["n"].tolist(), cols["sum"].tolist()
    (['a', 'b'], [100, 120], [30.0, 41.0])
    """
    data = to_pandas_frame(data, what="data")
    items = _as_items(metrics)
    for arg, value in (("variant_col", variant_col), ("segment_col", segment_col), ("n_col", n_col)):
        if value is not None and (not isinstance(value, str) or not value):
            raise ParameterError(f"{arg} must be a column name, got {value!r}")
    grouping = [variant_col] + ([segment_col] if segment_col is not None else [])
    check_columns(data, grouping, what="data")
    if n_col is not None:
        check_columns(data, [n_col], what="aggregated data (n_col)")
    columns = [value.column if not isinstance(value, str) else value for _, value in items]
    check_columns(data, list(dict.fromkeys(columns)), what="data (metric columns)")
    names = [
        name if name is not None else (value if isinstance(value, str) else value.name)
        for name, value in items
    ]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ParameterError(
            f"metrics: display name(s) {dupes} used more than once; give each metric its own name"
        )
    if len(data) == 0:
        raise DataError("data has no rows; there is nothing to aggregate")
    cov = _check_covariates(data, covariates, n_col) if covariates is not None else []
    weights = _propensity_weights(data, propensity, n_col) if propensity is not None else None

    codes, segments, variants = _group_codes(data, variant_col, segment_col)
    n_cells = len(segments) * len(variants)
    common: dict[str, np.ndarray] = {}
    per_metric: list[dict[str, np.ndarray]] = []
    x_values: list[np.ndarray] = []
    if cov:
        x_names, xx_names, _ = covariate_columns(cov)
        for c, name in zip(cov, x_names, strict=True):
            values, _ = _numeric_values(data, c)
            if values.min() == values.max():
                raise DataError(
                    f"covariate {c!r} is constant ({values[0]:g} for every unit); it cannot adjust "
                    "anything: drop it from covariates"
                )
            x_values.append(values)
            common[name] = np.bincount(codes, weights=values, minlength=n_cells)
        pairs = [(i, j) for i in range(len(cov)) for j in range(i, len(cov))]
        for (i, j), name in zip(pairs, xx_names, strict=True):
            common[name] = np.bincount(codes, weights=x_values[i] * x_values[j], minlength=n_cells)
    if weights is not None:
        common["sum_w"] = np.bincount(codes, weights=weights, minlength=n_cells)
        common["sum_w2"] = np.bincount(codes, weights=weights * weights, minlength=n_cells)

    specs: list[Proportion | Mean] = []
    stats: list[tuple[np.ndarray, np.ndarray]] = []  # per metric: sums, sums of squares per cell
    if n_col is None:
        counts = np.bincount(codes, minlength=n_cells).astype(np.int64)
        for name, value in items:
            column = value if isinstance(value, str) else value.column
            values, exact_int = _numeric_values(data, column)
            if isinstance(value, str):
                # the values decide, not the dtype: a 0/1 float column (e.g. after fillna(0.0)) is a
                # rate exactly like the same column as int, bool or a nullable integer/boolean
                spec: Proportion | Mean = (Proportion if _is_zero_one(values, exact_int) else Mean)(column)
            else:
                spec = value
                if isinstance(spec, Proportion) and not _is_zero_one(values, exact_int):
                    raise DataError(
                        f"column {column!r} is used as {spec!r} but holds values other than 0 and 1; "
                        "per-unit proportion columns must be 0/1 or booleans (or use abkit.Mean)"
                    )
            sums = np.bincount(codes, weights=values, minlength=n_cells)
            squares = (
                sums
                if isinstance(spec, Proportion)
                else np.bincount(codes, weights=values * values, minlength=n_cells)
            )
            specs.append(spec.renamed(name) if name is not None else spec)
            stats.append((sums, squares))
            extra = {
                f"sum_xy:{c}": np.bincount(codes, weights=values * x, minlength=n_cells)
                for c, x in zip(cov, x_values, strict=True)
            }
            if weights is not None:
                wy = weights * values
                extra["sum_wy"] = np.bincount(codes, weights=wy, minlength=n_cells)
                extra["sum_w2y"] = np.bincount(codes, weights=weights * wy, minlength=n_cells)
                extra["sum_w2y2"] = np.bincount(codes, weights=wy * wy, minlength=n_cells)
            per_metric.append(extra)
    else:
        n_values, _ = _numeric_values(data, n_col)
        _check_counts(n_values, n_col, what="unit counts")
        n_sum = np.bincount(codes, weights=n_values, minlength=n_cells)
        counts = np.rint(n_sum).astype(np.int64)
        for name, value in items:
            column = value if isinstance(value, str) else value.column
            sumsq_col = column + SUMSQ_SUFFIX
            values, _ = _numeric_values(data, column)
            if isinstance(value, str):
                is_mean = sumsq_col in data.columns and not _aggregated_zero_one(
                    data, column, sumsq_col, values, n_values
                )
                spec = (Mean if is_mean else Proportion)(column)
            else:
                spec = value
            if isinstance(spec, Proportion):
                _check_counts(values, column, what="successes")
                over = values > n_values
                if over.any():
                    i = int(np.flatnonzero(over)[0])
                    how = (
                        f"pass abkit.Mean({column!r})" if sumsq_col in data.columns
                        else f"add its sum of squares per row as column {sumsq_col!r}"
                    )
                    raise DataError(
                        f"{int(over.sum())} rows have more successes in column {column!r} than units in "
                        f"{n_col!r} (first: {values[i]:g} > {n_values[i]:g} at row {data.index[i]!r}); "
                        f"a proportion column must hold success counts no larger than {n_col}. If "
                        f"{column!r} counts something a unit can have several of (orders, not buyers), it "
                        f"is a mean per unit: {how}"
                    )
                sums = np.bincount(codes, weights=values, minlength=n_cells)
                squares = sums
            else:
                if sumsq_col not in data.columns:
                    raise ColumnError(
                        f"aggregated data lacks column {sumsq_col!r}: the mean metric {column!r} needs its "
                        f"sum of squares in {sumsq_col!r} (and its sum in {column!r}) to estimate a variance"
                    )
                sq_values, _ = _numeric_values(data, sumsq_col)
                _check_sum_squares(values, sq_values, n_values, column, sumsq_col, data.index)
                sums = np.bincount(codes, weights=values, minlength=n_cells)
                squares = np.bincount(codes, weights=sq_values, minlength=n_cells)
            specs.append(spec.renamed(name) if name is not None else spec)
            stats.append((sums, squares))

    return _assemble(
        specs, stats, counts, segments, variants, segment_col, variant_col, common, per_metric,
        allow_empty=allow_empty,
    )  # fmt: skip


def _propensity_weights(data: pd.DataFrame, propensity: Any, n_col: str | None) -> np.ndarray:
    """``1 / propensity`` per unit, after checking the column."""
    if not isinstance(propensity, str) or not propensity:
        raise ParameterError(f"propensity must be a column name, got {propensity!r}")
    if n_col is not None:
        raise ParameterError(
            f"propensity={propensity!r} needs one row per unit (n_col=None): each unit is weighted by the "
            "inverse of its own assignment probability"
        )
    check_columns(data, [propensity], what="data (propensity)")
    values, _ = _numeric_values(data, propensity)
    return 1.0 / check_propensities(values, propensity)


def _aggregated_zero_one(
    data: pd.DataFrame, column: str, sumsq_col: str, sums: np.ndarray, n: np.ndarray
) -> bool:
    """Whether aggregated rows are the sums of a 0/1 column: whole counts up to n, sum_sq == sum.

    For whole-number values ``x**2 >= x`` with equality only at 0 and 1, so ``sum_sq == sum`` in
    every row (with whole sums no larger than ``n``) is the signature of a 0/1 (success) column.
    """
    squares, _ = _numeric_values(data, sumsq_col)
    return bool(
        np.all(sums == np.rint(sums)) and np.all((sums >= 0) & (sums <= n)) and np.array_equal(squares, sums)
    )


def _check_counts(values: np.ndarray, column: str, *, what: str) -> None:
    negative = values < 0
    if negative.any():
        raise DataError(
            f"{int(negative.sum())} negative values in column {column!r} ({what} cannot be negative; "
            f"smallest {values.min():g})"
        )
    fractional = values != np.rint(values)
    if fractional.any():
        raise DataError(
            f"{int(fractional.sum())} non-integer values in column {column!r} ({what} must be whole numbers, "
            f"e.g. {values[fractional][0]:g})"
        )


def _check_sum_squares(
    sums: np.ndarray, squares: np.ndarray, n: np.ndarray, column: str, sumsq_col: str, index: pd.Index
) -> None:
    negative = squares < 0
    if negative.any():
        raise DataError(
            f"{int(negative.sum())} negative values in column {sumsq_col!r}; "
            "a sum of squares cannot be negative"
        )
    # Cauchy-Schwarz: n * sum_sq >= sum**2 for real values (a small relative tolerance for rounding).
    bad = n * squares < sums * sums * (1 - 1e-9) - 1e-9
    bad |= (n == 0) & ((sums != 0) | (squares != 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{int(bad.sum())} rows have a sum of squares in {sumsq_col!r} inconsistent with the sum in "
            f"{column!r} (need n * sum_sq >= sum**2; first at row {index[i]!r}: n={n[i]:g}, sum={sums[i]:g}, "
            f"sum_sq={squares[i]:g}); check that {sumsq_col!r} holds the sum of squared values"
        )


def _assemble(
    specs: list[Proportion | Mean],
    stats: list[tuple[np.ndarray, np.ndarray]],
    counts: np.ndarray,
    segments: list[str],
    variants: list[str],
    segment_col: str | None,
    variant_col: str,
    common: dict[str, np.ndarray] | None = None,
    per_metric: list[dict[str, np.ndarray]] | None = None,
    *,
    allow_empty: bool = False,
) -> dict[str, np.ndarray]:
    """Build the sorted long table (as columns) from per-cell arrays (cells are segment-major, variant-minor).

    ``common`` holds extra per-cell sums shared by every metric (covariate sums), ``per_metric``
    one dict of extra per-cell sums per metric (cross products with the metric).
    """
    common = common or {}
    per_metric = per_metric or [{} for _ in specs]
    # Distinct raw labels can share a string form (1 and "1"): merge them; np.unique also sorts the
    # labels (as strings, like sorted()). Cells are segment-major, variant-minor before and after.
    seg_labels, seg_inverse = np.unique(np.asarray(segments, dtype=str), return_inverse=True)
    var_labels, var_inverse = np.unique(np.asarray(variants, dtype=str), return_inverse=True)
    n_seg, n_var = len(seg_labels), len(var_labels)
    merged = len(seg_labels) < len(segments) or len(var_labels) < len(variants)
    new_cell = (seg_inverse[:, None] * n_var + var_inverse[None, :]).reshape(-1)
    order = np.argsort(new_cell, kind="stable")

    def cells_of(values: np.ndarray) -> np.ndarray:
        """Per-cell values in the sorted (segment, variant) order, merged cells added together."""
        if merged:
            return np.bincount(new_cell, weights=values, minlength=n_seg * n_var)
        return values[order]

    counts = np.rint(cells_of(counts.astype(np.float64))).astype(np.int64) if merged else counts[order]
    seg_of_cell = np.repeat(seg_labels.astype(object), n_var)
    var_of_cell = np.tile(var_labels.astype(object), n_seg)
    empty = np.flatnonzero(counts == 0)
    if len(empty) and not allow_empty:
        shown = ", ".join(
            (
                f"variant {var_of_cell[i]!r}"
                if segment_col is None
                else f"variant {var_of_cell[i]!r} in segment {seg_of_cell[i]!r}"
            )
            for i in empty[:5]
        )
        more = f" (and {len(empty) - 5} more)" if len(empty) > 5 else ""
        raise DataError(
            f"no units for {shown}{more} (column {variant_col!r}); every variant needs units"
            + ("" if segment_col is None else f" in every segment of {segment_col!r}")
            + ": drop that variant or segment explicitly, or merge small segments"
        )
    pooled = segment_col is not None

    def with_pooled(values: np.ndarray) -> np.ndarray:
        """Cell values with the pooled rows (sums over segments, per variant) in front."""
        if not pooled:
            return values
        grid = values.reshape(n_seg, n_var)
        if values.dtype.kind == "f":  # correctly rounded sums: independent of the number of segments
            sums = np.array([math.fsum(grid[:, j]) for j in range(n_var)])
        else:
            sums = grid.sum(axis=0)
        return np.concatenate([sums, values])

    if pooled:
        seg_of_cell = np.concatenate([np.full(n_var, POOLED_SEGMENT, dtype=object), seg_of_cell])
        var_of_cell = np.concatenate([var_labels.astype(object), var_of_cell])
    n_values = with_pooled(counts).astype(np.int64)
    extra_common = {
        name: with_pooled(cells_of(np.asarray(v, dtype=np.float64))) for name, v in common.items()
    }
    rows = len(n_values)
    columns: dict[str, Any] = {
        "metric": np.repeat(np.array([spec.name for spec in specs], dtype=object), rows),
        "kind": np.repeat(np.array([spec.kind for spec in specs], dtype=object), rows),
        "segment": np.tile(seg_of_cell, len(specs)),
        "variant": np.tile(var_of_cell, len(specs)),
        "n": np.tile(n_values, len(specs)),
        "sum": np.concatenate([with_pooled(cells_of(np.asarray(a, dtype=np.float64))) for a, _ in stats]),
        "sum_sq": np.concatenate([with_pooled(cells_of(np.asarray(b, dtype=np.float64))) for _, b in stats]),
    }
    for name, values in extra_common.items():
        columns[name] = np.tile(values, len(specs))
    for name in per_metric[0] if per_metric else {}:
        columns[name] = np.concatenate([with_pooled(cells_of(extra[name])) for extra in per_metric])
    return columns
