"""How numbers read wherever a person sees them: percent, points, money, counts, p-values.

One place for every display format (reports, notebook displays, the command line, Excel labels),
so the same number reads the same everywhere. These functions only format: the library stores
and returns unrounded numbers. None of them ever prints scientific notation; a missing or
non-finite value reads as an en dash.

>>> percent(0.03899), points(0.025182), relative(0.8478)
('3.9%', '+2.5 pp', '+84.8%')
>>> money(1052.4, "JPY"), money(-3.5, "USD"), money(12.0, None)
('¥1,052', '−$3.50', '12.00')
>>> p_value(2.734e-30), p_value(0.0374), count(1234567)
('< 0.001', '0.037', '1,234,567')
"""

from __future__ import annotations

import math
from typing import Any

__all__ = [
    "CURRENCIES",
    "MISSING",
    "count",
    "currency_decimals",
    "currency_symbol",
    "interval",
    "is_number",
    "money",
    "number",
    "p_value",
    "percent",
    "points",
    "probability",
    "relative",
]

#: What a missing, infinite or not estimable value reads as.
MISSING = "–"
#: Symbol and minor-unit digits of common ISO 4217 currencies; any other code is written before
#: the amount with two decimals (e.g. ``CHF 12.50``).
CURRENCIES: dict[str, tuple[str, int]] = {
    "USD": ("$", 2),
    "EUR": ("€", 2),
    "GBP": ("£", 2),
    "JPY": ("¥", 0),
    "CNY": ("CN¥", 2),
    "KRW": ("₩", 0),
    "TWD": ("NT$", 0),
    "HKD": ("HK$", 2),
    "SGD": ("S$", 2),
    "AUD": ("A$", 2),
    "CAD": ("CA$", 2),
    "INR": ("₹", 2),
    "VND": ("₫", 0),
}
_MINUS = "−"  # a typographic minus lines up with "+" in tables


def is_number(value: Any) -> bool:
    """True for a finite real number (not a bool).

    >>> is_number(0.5), is_number(float("nan")), is_number(True), is_number("1")
    (True, False, False, False)
    """
    if isinstance(value, (bool, str, bytes)) or value is None:
        return False
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _fixed(value: float, digits: int, *, sign: bool = False) -> str:
    text = f"{abs(value):,.{digits}f}"
    if float(text.replace(",", "")) == 0:  # no "−0.0" and no "+0.0"
        return text
    if value < 0:
        return _MINUS + text
    return ("+" if sign else "") + text


def number(value: Any, digits: int = 2, *, sign: bool = False) -> str:
    """A plain number with ``digits`` decimals and thousands separators.

    >>> number(1234.5678), number(-0.5, 1), number(3, 0, sign=True)
    ('1,234.57', '−0.5', '+3')
    """
    if not is_number(value):
        return MISSING
    return _fixed(float(value), digits, sign=sign)


def count(value: Any) -> str:
    """A whole count with thousands separators.

    >>> count(20442), count(None)
    ('20,442', '–')
    """
    if not is_number(value):
        return MISSING
    return f"{round(float(value)):,}"


def percent(value: Any, digits: int = 1) -> str:
    """A share (0.039) as a percentage (``3.9%``).

    >>> percent(0.05), percent(0.000123, 2)
    ('5.0%', '0.01%')
    """
    if not is_number(value):
        return MISSING
    return _fixed(100 * float(value), digits) + "%"


def points(value: Any, digits: int = 1, unit: str = "pp") -> str:
    """A difference of two shares in percentage points, signed (``+2.5 pp``).

    >>> points(0.025), points(-0.0004, 2), points(0.01, unit="pt")
    ('+2.5 pp', '−0.04 pp', '+1.0 pt')
    """
    if not is_number(value):
        return MISSING
    return f"{_fixed(100 * float(value), digits, sign=True)} {unit}"


def relative(value: Any, digits: int = 1) -> str:
    """A relative change (0.5 = +50%), signed; values beyond ±1,000% read as ``> +1,000%``.

    >>> relative(0.5), relative(-0.123), relative(7.258e4)
    ('+50.0%', '−12.3%', '> +1,000%')
    """
    if not is_number(value):
        return MISSING
    v = float(value)
    if v > 10:
        return "> +1,000%"
    return _fixed(100 * v, digits, sign=True) + "%"


def probability(value: Any) -> str:
    """A probability as a percentage with no false certainty: ``> 99.9%`` and ``< 0.1%`` at the ends.

    >>> probability(0.9731), probability(0.99999), probability(1e-7)
    ('97.3%', '> 99.9%', '< 0.1%')
    """
    if not is_number(value):
        return MISSING
    v = float(value)
    if v > 0.999:
        return "> 99.9%"
    if v < 0.001:
        return "< 0.1%"
    return percent(v, 1)


def p_value(value: Any) -> str:
    """A p-value with two significant digits, ``< 0.001`` below that.

    >>> p_value(0.0374), p_value(0.5), p_value(1.0), p_value(0.00104), p_value(3e-9)
    ('0.037', '0.50', '1.0', '0.0010', '< 0.001')
    """
    if not is_number(value):
        return MISSING
    v = float(value)
    if v < 0.001:
        return "< 0.001"
    digits = max(1, 1 - math.floor(math.log10(v)))
    text = f"{v:.{digits}f}"
    if float(text) >= 10 ** (2 - digits) and digits > 1:  # 0.0999 rounds to 0.10: one digit fewer
        text = f"{v:.{digits - 1}f}"
    return text


def currency_symbol(code: str | None) -> str:
    """The symbol of an ISO 4217 code (``"JPY"`` -> ``"¥"``); the code itself when abkit has none.

    >>> currency_symbol("EUR"), currency_symbol("CHF"), currency_symbol(None)
    ('€', 'CHF', '')
    """
    if not code:
        return ""
    return CURRENCIES.get(code.upper(), (code.upper(), 2))[0]


def currency_decimals(code: str | None) -> int:
    """Decimals of the currency's minor unit (yen and won have none).

    >>> currency_decimals("JPY"), currency_decimals("USD"), currency_decimals(None)
    (0, 2, 2)
    """
    if not code:
        return 2
    return CURRENCIES.get(code.upper(), ("", 2))[1]


def money(value: Any, currency: str | None = None, *, sign: bool = False, decimals: int | None = None) -> str:
    """An amount with the currency's symbol and decimals (no symbol when ``currency`` is None).

    >>> money(1234.5, "USD"), money(1234.5, "JPY", sign=True), money(0.9, "CHF"), money(-2, "EUR")
    ('$1,234.50', '+¥1,234', 'CHF 0.90', '−€2.00')
    """
    if not is_number(value):
        return MISSING
    v = float(value)
    digits = currency_decimals(currency) if decimals is None else decimals
    text = f"{abs(v):,.{digits}f}"
    symbol = currency_symbol(currency)
    if symbol and symbol.isalpha():
        symbol += " "
    zero = float(text.replace(",", "")) == 0
    prefix = _MINUS if v < 0 and not zero else ("+" if sign and not zero else "")
    return f"{prefix}{symbol}{text}"


def interval(
    low: Any,
    high: Any,
    fmt: Any = number,
    *,
    sep: str = " to ",
    at_least: str | None = None,
    at_most: str | None = None,
    **kwargs: Any,
) -> str:
    """An interval ``low to high`` formatted with ``fmt`` (an en dash when either end is missing).

    With ``at_least`` / ``at_most`` (templates with one ``{}``), a one-sided bound (the other end
    infinite, as one-sided tests write it) reads ``at_least`` / ``at_most`` with the finite end
    filled in; without them it is a dash like any other missing end.

    >>> interval(0.013, 0.037, points)
    '+1.3 pp to +3.7 pp'
    >>> interval(-167, 206, money, currency="USD", sign=True)
    '−$167.00 to +$206.00'
    >>> interval(0.013, float("inf"), points, at_least="at least {}")
    'at least +1.3 pp'
    >>> interval(float("-inf"), -0.002, points, at_most="at most {}")
    'at most −0.2 pp'
    """
    if at_least is not None and is_number(low) and _is_inf(high, 1):
        return at_least.format(fmt(low, **kwargs))
    if at_most is not None and _is_inf(low, -1) and is_number(high):
        return at_most.format(fmt(high, **kwargs))
    if not (is_number(low) and is_number(high)):
        return MISSING
    return f"{fmt(low, **kwargs)}{sep}{fmt(high, **kwargs)}"


def _is_inf(value: Any, sign: int) -> bool:
    """True for ``+inf`` (``sign=1``) or ``-inf`` (``sign=-1``)."""
    if isinstance(value, (bool, str, bytes)) or value is None:
        return False
    try:
        v = float(value)
    except (TypeError, ValueError):
        return False
    return math.isinf(v) and (v > 0) == (sign > 0)
