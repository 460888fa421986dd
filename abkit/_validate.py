"""Small argument checks shared by every module; each raises a named :class:`~abkit.errors.AbkitError`."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from abkit.errors import ColumnError, ParameterError

__all__ = [
    "check_choice",
    "check_columns",
    "check_date",
    "check_finite",
    "check_positive",
    "check_probability",
]


def check_finite(name: str, value: Any) -> np.ndarray:
    """Return ``value`` as a float array; raise if any element is NaN or infinite."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name} must be a number, got {value!r}") from exc
    if not np.all(np.isfinite(arr)):
        raise ParameterError(f"{name} must be a finite number, got {value!r}; pass a real value")
    return arr


def check_probability(name: str, value: Any, *, what: str = "") -> np.ndarray:
    """Check that ``value`` lies strictly inside (0, 1)."""
    arr = check_finite(name, value)
    if np.any((arr <= 0) | (arr >= 1)):
        extra = f" ({what})" if what else ""
        raise ParameterError(f"{name} must be strictly between 0 and 1{extra}, got {value!r}")
    return arr


def check_positive(name: str, value: Any) -> np.ndarray:
    """Check that ``value`` is finite and strictly positive."""
    arr = check_finite(name, value)
    if np.any(arr <= 0):
        raise ParameterError(f"{name} must be positive, got {value!r}")
    return arr


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """Check that ``value`` is one of ``choices``."""
    options = list(choices)
    if value not in options or (isinstance(value, float) and math.isnan(value)):
        shown = ", ".join(repr(c) for c in options)
        raise ParameterError(f"{name}={value!r} is not known; use one of {shown}")
    return value


def check_columns(frame: Any, columns: Sequence[str], *, what: str = "data") -> None:
    """Check that every name in ``columns`` is a column of ``frame``."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        have = ", ".join(map(str, list(frame.columns)[:20]))
        raise ColumnError(
            f"{what} lacks column(s) {', '.join(map(repr, missing))}; it has: {have}. "
            "Pass the right column name or rename the column."
        )


def check_date(name: str, value: Any) -> dt.date:
    """Parse an ISO date (``YYYY-MM-DD``, a ``date`` or a ``datetime``); ``None``/``""``: today (UTC).

    >>> check_date("as_of", "2026-06-15")
    datetime.date(2026, 6, 15)
    """
    if value is None or (isinstance(value, str) and value == ""):
        return dt.datetime.now(dt.UTC).date()
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ParameterError(
            f"{name}={value!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-06-15"
        ) from None
