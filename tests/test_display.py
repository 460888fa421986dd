"""Tests for abkit._display: the shared rendering of results."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from abkit._display import Displayable, format_number, frame_to_html


@dataclass(frozen=True)
class _Result(Displayable):
    value: float

    def to_pandas(self) -> pd.DataFrame:
        return pd.DataFrame({"name": ["x<y"], "value": [self.value]})

    def _title(self) -> str:
        return "Demo result"

    def _notes(self) -> list[str]:
        return ["Welch t test"]


def test_format_number_does_not_change_stored_values() -> None:
    assert format_number(0.123456789) == "0.1235"
    assert format_number(12345) == "12,345"
    assert format_number(float("nan")) == "–"
    assert format_number(True) == "True"
    assert format_number(float("inf")) == "∞"
    assert format_number(float("-inf")) == "−∞"


def test_html_escapes_and_includes_title_and_notes() -> None:
    html = _Result(0.5)._repr_html_()
    assert "Demo result" in html and "Welch t test" in html
    assert "x&lt;y" in html
    assert "<table" in html


def test_table_is_a_copy_and_str_is_readable() -> None:
    result = _Result(0.25)
    table = result.table
    table.loc[0, "value"] = 99.0
    assert result.table.loc[0, "value"] == 0.25
    assert str(result).startswith("Demo result\n")


def test_frame_to_html_formats_floats_without_rounding_the_frame() -> None:
    frame = pd.DataFrame({"p": [0.0123456]})
    html = frame_to_html(frame, title="t")
    assert "0.01235" in html
    assert frame.loc[0, "p"] == 0.0123456
