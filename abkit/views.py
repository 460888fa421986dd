"""Typed table views and their thin renderers: HTML, Markdown, plain text and a raw DataFrame.

A :class:`TableView` holds the numbers already chosen (which lift, which interval) and, per
column, what kind of number it is and its header in the reader's language. Renderers only
format (:mod:`abkit.formatting`) and escape: a renderer never computes statistics, and every
text cell is user text until proven otherwise, so it is escaped for the medium.

>>> v = TableView(
...     title="Lift",
...     columns=(Column("segment", "Segment"), Column("lift", "Lift", "points"),
...              Column("ci", "95% interval", "points", interval=True)),
...     rows=(("<b>all</b>", 0.025, (0.013, 0.037)),),
... )
>>> print(v.to_text())
Lift
Segment   Lift     95% interval
<b>all</b> +2.5 pp +1.3 pp to +3.7 pp
>>> "&lt;b&gt;all&lt;/b&gt;" in v.to_html()
True
"""

from __future__ import annotations

import html
import re
import textwrap
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from abkit import formatting as fmt
from abkit.messages import message

__all__ = [
    "KINDS",
    "Column",
    "TableView",
    "escape_html",
    "escape_markdown",
    "format_cell",
    "interval_text",
    "rows_of",
    "table_html",
    "table_markdown",
    "table_text",
    "text_width",
    "wrap_lines",
]

#: Kinds of cells a column may hold (how the renderers format them).
KINDS = (
    "text",
    "count",
    "percent",
    "points",
    "relative",
    "money",
    "pvalue",
    "probability",
    "number",
    "bool",
)
_NUMERIC = frozenset(KINDS) - {"text", "bool"}
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|$~<>&])")


@dataclass(frozen=True)
class Column:
    """One column of a :class:`TableView`: machine key, header (in the reader's language), kind."""

    key: str
    header: str
    kind: str = "text"
    interval: bool = False  # the cell is a (low, high) pair
    digits: int | None = None
    signed: bool = False  # money: a change (+/−) rather than a level

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Column {self.key!r}: kind={self.kind!r} is not one of {KINDS}")


def interval_text(low: Any, high: Any, fmt_value: Any, *, language: str = "en", **kwargs: Any) -> str:
    """An interval in the reader's language; a one-sided bound (one end infinite) reads "at least x".

    >>> interval_text(0.013, float("inf"), fmt.points)
    'at least +1.3 pp'
    >>> interval_text(0.013, 0.037, fmt.points, language="ja")
    '+1.3 pp 〜 +3.7 pp'
    """
    return fmt.interval(
        low,
        high,
        fmt_value,
        sep=message("format.interval_sep", language),
        at_least=message("format.at_least", language, value="{}"),
        at_most=message("format.at_most", language, value="{}"),
        **kwargs,
    )


def format_cell(value: Any, column: Column, *, language: str = "en", currency: str | None = None) -> str:
    """Format one cell for reading (the only place a view's numbers become text).

    >>> format_cell(0.0312, Column("r", "Rate", "percent"))
    '3.1%'
    >>> profit = Column("p", "Profit", "money", interval=True, signed=True)
    >>> format_cell((-167.0, 206.0), profit, currency="JPY")
    '−¥167 to +¥206'
    """
    if column.interval:
        if not isinstance(value, tuple) or len(value) != 2:
            return fmt.MISSING
        low, high = value
        single = Column(column.key, column.header, column.kind, digits=column.digits, signed=column.signed)

        def one(v: Any) -> str:
            return format_cell(v, single, language=language, currency=currency)

        return interval_text(low, high, one, language=language)
    kind = column.kind
    if value is None or (kind != "text" and not isinstance(value, str) and pd.isna(value)):
        return fmt.MISSING
    digits = column.digits
    if kind == "text":
        return str(value)
    if kind == "bool":
        return message("format.yes", language) if bool(value) else ""
    if kind == "count":
        return fmt.count(value)
    if kind == "percent":
        return fmt.percent(value, 1 if digits is None else digits)
    if kind == "points":
        return fmt.points(
            value, 1 if digits is None else digits, unit=message("format.points_unit", language)
        )
    if kind == "relative":
        return fmt.relative(value, 1 if digits is None else digits)
    if kind == "money":
        return fmt.money(value, currency, sign=column.signed, decimals=digits)
    if kind == "pvalue":
        return fmt.p_value(value)
    if kind == "probability":
        return fmt.probability(value)
    return fmt.number(value, 2 if digits is None else digits)


def escape_html(text: Any) -> str:
    """Escape text for HTML (quotes too, so it is safe inside attributes).

    >>> escape_html('<img src=x onerror="alert(1)">')
    '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;'
    """
    return html.escape(str(text), quote=True)


def escape_markdown(text: Any) -> str:
    """Escape text for Markdown so it shows literally (no emphasis, links, lists or ``$`` maths).

    >>> escape_markdown("4) $350 - $500")
    '4\\\\) \\\\$350 \\\\- \\\\$500'
    """
    return _MD_SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")


def text_width(text: str) -> int:
    """Columns a string takes in a terminal (East Asian wide characters take two).

    >>> text_width("abc"), text_width("再購入率")
    (3, 8)
    """
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool) -> str:
    space = " " * max(width - text_width(text), 0)
    return space + text if right else text + space


@dataclass(frozen=True)
class TableView:
    """A table to read: title, typed columns, rows of raw values, notes; language and currency."""

    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Any, ...], ...]
    notes: tuple[str, ...] = ()
    language: str = "en"
    currency: str | None = None

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.columns):
                raise ValueError(
                    f"table {self.title!r}: a row has {len(row)} cells for {len(self.columns)} columns"
                )

    def formatted(self) -> list[list[str]]:
        """Every cell as display text."""
        return [
            [
                format_cell(v, c, language=self.language, currency=self.currency)
                for v, c in zip(row, self.columns, strict=True)
            ]
            for row in self.rows
        ]

    def to_pandas(self) -> pd.DataFrame:
        """The raw values with machine column names (an interval becomes ``KEY_low`` and ``KEY_high``)."""
        data: dict[str, list[Any]] = {}
        for i, col in enumerate(self.columns):
            values = [row[i] for row in self.rows]
            if col.interval:
                data[f"{col.key}_low"] = [v[0] if isinstance(v, tuple) else None for v in values]
                data[f"{col.key}_high"] = [v[1] if isinstance(v, tuple) else None for v in values]
            else:
                data[col.key] = values
        return pd.DataFrame(data)

    def to_html(self) -> str:
        """See :func:`table_html`."""
        return table_html(self)

    def to_markdown(self) -> str:
        """See :func:`table_markdown`."""
        return table_markdown(self)

    def to_text(self, width: int = 100) -> str:
        """See :func:`table_text`."""
        return table_text(self, width=width)

    def _repr_html_(self) -> str:
        return table_html(self)

    def __str__(self) -> str:
        return table_text(self)


_LONG_TEXT = 40  # characters: a text cell longer than this makes its column wrap (class "long")


def table_html(view: TableView, *, caption: bool = True) -> str:
    """The table as an HTML fragment; every cell and header escaped, numbers right-aligned."""
    head = "".join(
        f"<th class='{'num' if c.kind in _NUMERIC else 'txt'}'>{escape_html(c.header)}</th>"
        for c in view.columns
    )
    rows = view.formatted()
    # a text column holding sentences (a reason, a split) wraps; labels and numbers stay on one line
    long = [any(len(r[j]) > _LONG_TEXT for r in rows) for j in range(len(view.columns))]
    kinds = [
        "num" if c.kind in _NUMERIC else "txt long" if wide else "txt"
        for c, wide in zip(view.columns, long, strict=True)
    ]
    body = []
    for cells in rows:
        tds = "".join(f"<td class='{k}'>{escape_html(t)}</td>" for t, k in zip(cells, kinds, strict=True))
        body.append(f"<tr>{tds}</tr>")
    parts = ["<div class='abkit-table-wrap'>"]
    if caption and view.title:
        parts.append(f"<p class='abkit-caption'><strong>{escape_html(view.title)}</strong></p>")
    parts.append(
        "<table class='abkit-table'><thead><tr>"
        + head
        + "</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table>"
    )
    parts.extend(f"<p class='abkit-note'>{escape_html(n)}</p>" for n in view.notes)
    parts.append("</div>")
    return "\n".join(parts)


def table_markdown(view: TableView) -> str:
    """The table as GitHub Markdown; user text escaped so labels like ``4) $350 - $500`` show literally."""
    cells = view.formatted()
    lines = []
    if view.title:
        lines += [f"**{escape_markdown(view.title)}**", ""]
    lines.append("| " + " | ".join(escape_markdown(c.header) for c in view.columns) + " |")
    lines.append("|" + "|".join("---:" if c.kind in _NUMERIC else "---" for c in view.columns) + "|")
    lines += ["| " + " | ".join(escape_markdown(t) for t in row) + " |" for row in cells]
    lines += [""] + [escape_markdown(n) for n in view.notes] if view.notes else []
    return "\n".join(lines)


def wrap_lines(text: str, width: int = 100, indent: str = "    ") -> str:
    """Wrap each line of ``text`` to ``width`` columns, continuation lines indented.

    >>> print(wrap_lines("all: " + "word " * 5, width=15))
    all: word word
        word word
        word
    """
    return "\n".join(
        textwrap.fill(line, width, subsequent_indent=indent, break_on_hyphens=False) if line.strip() else line
        for line in text.splitlines()
    )


def _wrap_header(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and text_width(lines[-1]) + 1 + text_width(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def table_text(view: TableView, *, width: int = 100) -> str:
    """The table as aligned plain text, headers wrapped; rows become indented records when still too wide."""
    cells = view.formatted()
    headers = [c.header for c in view.columns]
    cell_widths = [max([0] + [text_width(r[i]) for r in cells]) for i in range(len(headers))]
    widths = [max(text_width(h), c) for h, c in zip(headers, cell_widths, strict=True)]
    if sum(widths) + 2 * (len(widths) - 1) > width:  # wrap the headers at their spaces
        widths = [
            max(max((text_width(w) for w in h.split()), default=0), c)
            for h, c in zip(headers, cell_widths, strict=True)
        ]
    out = [view.title] if view.title else []
    if sum(widths) + 2 * (len(widths) - 1) <= width:
        right = [c.kind in _NUMERIC for c in view.columns]
        wrapped = [_wrap_header(h, w) for h, w in zip(headers, widths, strict=True)]
        depth = max(len(w) for w in wrapped)
        for k in range(depth):
            line = [
                _pad(w[k - (depth - len(w))] if k >= depth - len(w) else "", n, r)
                for w, n, r in zip(wrapped, widths, right, strict=True)
            ]
            out.append("  ".join(line).rstrip())
        for row in cells:
            out.append("  ".join(_pad(t, w, r) for t, w, r in zip(row, widths, right, strict=True)).rstrip())
    else:
        key = max(text_width(h) for h in headers[1:]) if len(headers) > 1 else 0
        for row in cells:
            out.append(f"{headers[0]}: {row[0]}")
            out += [f"  {_pad(h, key, False)}  {t}" for h, t in zip(headers[1:], row[1:], strict=True)]
    out += list(view.notes)
    return "\n".join(out)


def rows_of(frame: pd.DataFrame, columns: Sequence[Column]) -> tuple[tuple[Any, ...], ...]:
    """Rows for a :class:`TableView` from a frame (an interval column reads ``KEY_low`` and ``KEY_high``)."""
    out = []
    for rec in frame.to_dict("records"):
        row = []
        for c in columns:
            row.append((rec.get(f"{c.key}_low"), rec.get(f"{c.key}_high")) if c.interval else rec.get(c.key))
        out.append(tuple(row))
    return tuple(out)
