"""Tests for abkit.views: typed tables render the same numbers in every medium, user text escaped."""

from __future__ import annotations

import pytest

from abkit.views import Column, TableView, escape_markdown, table_html, table_markdown, table_text, text_width

HOSTILE = ("4) $350 - $500", "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "*bold* _x_ [a](b)")


def _view(labels: tuple[str, ...] = HOSTILE, language: str = "en") -> TableView:
    return TableView(
        title="Lift <b>",
        columns=(
            Column("segment", "Segment"),
            Column("lift", "Lift", "points"),
            Column("ci", "95% interval", "points", interval=True),
            Column("profit", "Profit", "money", signed=True, digits=0),
        ),
        rows=tuple((name, 0.025, (0.013, 0.037), 1052.4) for name in labels),
        language=language,
        currency="JPY",
    )


def test_html_escapes_every_label() -> None:
    html = table_html(_view())
    assert "<script>" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "onerror=alert(1)&gt;" in html  # shown literally, inside escaped text
    assert "4) $350 - $500" in html
    assert "+¥1,052" in html and "+2.5 pp" in html and "+1.3 pp to +3.7 pp" in html


def test_markdown_shows_labels_literally() -> None:
    md = table_markdown(_view())
    assert "4\\) \\$350 \\- \\$500" in md
    assert "\\<script\\>" in md
    assert escape_markdown("a|b") == "a\\|b"


def test_text_fits_or_turns_into_records() -> None:
    wide = _view(("a" * 60,))
    text = table_text(wide, width=100)
    assert all(text_width(line) <= 100 for line in text.splitlines())
    narrow = table_text(_view(("all",)), width=100)
    assert "all" in narrow.splitlines()[2]


def test_japanese_units_and_interval_separator() -> None:
    html = table_html(_view(("全体",), language="ja"))
    assert "+2.5 pt" in html and "+1.3 pt 〜 +3.7 pt" in html


def test_raw_values_keep_full_precision() -> None:
    frame = _view(("all",)).to_pandas()
    assert list(frame.columns) == ["segment", "lift", "ci_low", "ci_high", "profit"]
    assert frame.loc[0, "profit"] == 1052.4


def test_row_length_and_kind_are_checked() -> None:
    with pytest.raises(ValueError, match="kind='colour'"):
        Column("x", "X", "colour")
    with pytest.raises(ValueError, match="a row has 1 cells for 4 columns"):
        TableView("t", _view().columns, (("only",),))


def test_html_tables_wrap_only_columns_that_hold_sentences() -> None:
    view = TableView(
        "t",
        (Column("segment", "Segment"), Column("reason", "Reason"), Column("n", "n", "count")),
        (("all", "planned sample reached and no variant clearly beats the control", 10), ("a", "ok", 3)),
    )
    html = table_html(view)
    assert "<td class='txt'>all</td>" in html and "<td class='txt long'>ok</td>" in html
    assert "<td class='num'>10</td>" in html
