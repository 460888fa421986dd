"""One rendering layer for every abkit result: text, HTML and Markdown from a table plus notes.

Results are frozen dataclasses that mix in :class:`Displayable` and implement ``to_pandas()``;
they then render the same way in a terminal, in JupyterLab and in the HTML report.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import pandas as pd

__all__ = ["Displayable", "format_number", "frame_to_html"]


def format_number(value: object, digits: int = 4) -> str:
    """Format a number for display only (the library never rounds its stored numbers)."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != value:  # NaN
            return "–"
        if value in (float("inf"), float("-inf")):
            return "∞" if value > 0 else "−∞"
        if value == int(value) and abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.{digits}g}"
    return str(value)


def frame_to_html(frame: pd.DataFrame, *, title: str = "", notes: Sequence[str] = (), digits: int = 4) -> str:
    """Render a DataFrame as a compact HTML table with a title and footnotes."""
    body = frame.to_html(
        index=False,
        float_format=lambda v: format_number(float(v), digits),
        na_rep="–",
        border=0,
        classes="abkit-table",
    )
    parts = ["<div class='abkit-result'>"]
    if title:
        parts.append(f"<p><strong>{html.escape(title)}</strong></p>")
    parts.append(body)
    for note in notes:
        parts.append(f"<p style='font-size:smaller;margin:2px 0'>{html.escape(note)}</p>")
    parts.append("</div>")
    return "\n".join(parts)


class Displayable:
    """Mixin: subclasses implement ``to_pandas()`` and may override ``_title()`` and ``_notes()``."""

    def to_pandas(self) -> pd.DataFrame:  # pragma: no cover - overridden
        raise AttributeError(f"{type(self).__name__} must define to_pandas()")

    @property
    def table(self) -> pd.DataFrame:
        """The result as a DataFrame (a copy; the result itself is immutable)."""
        return self.to_pandas()

    def _title(self) -> str:
        return type(self).__name__

    def _notes(self) -> list[str]:
        return []

    def _repr_html_(self) -> str:
        return frame_to_html(self.to_pandas(), title=self._title(), notes=self._notes())

    def _repr_markdown_(self) -> str:
        text = self.to_pandas().to_markdown(index=False) if _has_tabulate() else self.to_pandas().to_string()
        return f"**{self._title()}**\n\n{text}\n\n" + "\n".join(f"- {n}" for n in self._notes())

    def __str__(self) -> str:
        with pd.option_context("display.width", 120, "display.max_columns", 30):
            body = self.to_pandas().to_string(index=False)
        notes = "\n".join(self._notes())
        return f"{self._title()}\n{body}" + (f"\n{notes}" if notes else "")


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True
