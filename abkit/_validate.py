"""Small argument checks shared by every module; each raises a named :class:`~abkit.errors.AbkitError`."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from abkit.errors import ColumnError, DataError, ParameterError

__all__ = [
    "ALTERNATIVES",
    "check_alternative",
    "check_choice",
    "check_columns",
    "check_costs",
    "check_date",
    "check_finite",
    "check_positive",
    "check_probability",
    "check_propensities",
    "resolve_control",
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


def check_propensities(values: Any, column: str) -> np.ndarray:
    """Propensities as floats in (0, 1]; anything else raises :class:`~abkit.errors.DataError`.

    >>> check_propensities([0.5, 1.0], "propensity").tolist()
    [0.5, 1.0]
    """
    e = np.asarray(values, dtype=float)
    bad = ~((e > 0) & (e <= 1))  # NaN fails both comparisons
    if bad.any():
        raise DataError(
            f"column {column!r} has {int(bad.sum()):,} value(s) outside (0, 1] or missing; it must hold each "
            "customer's probability of the arm they got (a targeted wave's assignment stores it)"
        )
    return e


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


#: Values of ``alternative`` everywhere in abkit (statsmodels' words): H1 is variant - control != 0,
#: > 0 or < 0.
ALTERNATIVES = ("two-sided", "larger", "smaller")
#: Other libraries' spellings, named in the error so the fix is one word.
_OTHER_WORDS = {"greater": "larger", "less": "smaller", "two_sided": "two-sided", "two.sided": "two-sided"}


def check_alternative(value: Any) -> str:
    """Check ``alternative``: one of :data:`ALTERNATIVES` (scipy's ``"greater"``/``"less"`` are named).

    >>> check_alternative("larger")
    'larger'
    >>> check_alternative("greater")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    abkit.errors.ParameterError: alternative='greater' is not known; write alternative='larger' ...
    """
    if isinstance(value, str) and value in _OTHER_WORDS:
        raise ParameterError(
            f"alternative={value!r} is not known; write alternative={_OTHER_WORDS[value]!r} "
            f"(abkit uses statsmodels' words: {', '.join(repr(a) for a in ALTERNATIVES)})"
        )
    check_choice("alternative", value, ALTERNATIVES)
    return str(value)


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


def check_costs(
    costs: Any, arms: Sequence[str], control: str, *, name: str = "costs"
) -> dict[str, tuple[float, float]]:
    """Validate ``{arm: {"contact": c, "offer": o}}`` (or ``(c, o)`` pairs) against the arms of a test.

    Every contacted arm needs its costs, the control (not contacted) has none, no cost is negative
    and no key names an arm the test does not have. Returns ``{arm: (contact, offer)}``, control
    included with ``(0.0, 0.0)``.

    >>> check_costs({"mail": {"contact": 0.5}}, ["holdout", "mail"], "holdout")
    {'mail': (0.5, 0.0), 'holdout': (0.0, 0.0)}
    """
    if not isinstance(costs, Mapping):
        raise ParameterError(
            f"{name} must map each arm to its costs, e.g. {{'coupon': {{'contact': 0.05, 'offer': 5.0}}}}; "
            f"got {type(costs).__name__}"
        )
    out: dict[str, tuple[float, float]] = {}
    for arm, value in costs.items():
        if str(arm) not in arms:
            raise ParameterError(
                f"{name} names arm {arm!r}, which is not an arm of the test ({', '.join(map(str, arms))}); "
                "remove it or fix its name"
            )
        if isinstance(value, Mapping):
            unknown = set(value) - {"contact", "offer"}
            if unknown:
                raise ParameterError(
                    f"{name}[{arm!r}] has unknown key(s) {sorted(unknown)}; use 'contact', 'offer'"
                )
            pair = (value.get("contact", 0.0), value.get("offer", 0.0))
        elif isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
            pair = (value[0], value[1])
        else:
            raise ParameterError(
                f"{name}[{arm!r}] must be {{'contact': ..., 'offer': ...}} or a pair (contact, offer); "
                f"got {value!r}"
            )
        contact, offer = (float(check_finite(f"{name}[{arm!r}]", v)) for v in pair)
        if contact < 0 or offer < 0:
            raise ParameterError(f"{name}[{arm!r}] = ({contact:g}, {offer:g}): costs cannot be negative")
        out[str(arm)] = (contact, offer)
    if control in out and out[control] != (0.0, 0.0):
        raise ParameterError(
            f"{name}[{control!r}]: the holdout (control) is not contacted and has no costs; remove it"
        )
    missing = [a for a in arms if a != control and a not in out]
    if missing:
        raise ParameterError(
            f"{name} lacks variant(s) {missing}; give each contacted variant its contact and offer cost"
        )
    out[control] = (0.0, 0.0)
    return out


#: Arm names that mean "the no-contact holdout" when ``control`` is not given.
CONTROL_NAMES: tuple[str, ...] = ("control", "holdout")


def resolve_control(labels: Iterable[Any], control: str | None = None, *, what: str = "variants") -> str:
    """The arm every variant is compared with: one rule for every abkit function.

    ``control`` when given (a non-empty string); else the one arm named ``"control"`` or
    ``"holdout"``; else :class:`~abkit.errors.ParameterError` naming the candidates. (Where an
    experiment spec is in play, its holdout is passed explicitly.)

    >>> resolve_control(["coupon", "holdout"])
    'holdout'
    >>> resolve_control(["coupon", "holdout"], "coupon")
    'coupon'
    """
    if control is not None:
        if not isinstance(control, str) or not control:
            raise ParameterError(
                f"control must be the label of the holdout variant (a string), got {control!r}"
            )
        return control
    names = list(dict.fromkeys(str(x) for x in labels))
    found = [n for n in CONTROL_NAMES if n in names]
    if len(found) == 1:
        return found[0]
    if found:
        raise ParameterError(
            f"control is not given and {what} hold both {found[0]!r} and {found[1]!r}; pass control=..."
        )
    raise ParameterError(
        f"control is not given and no arm is named 'control' or 'holdout' ({what}: {names}); "
        "pass control='<the holdout's name>'"
    )
