"""Tests for the displays of Evaluation, Decision and Economics in Jupyter and in a terminal."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from abkit.evaluation import economics, evaluate
from abkit.messages import Text
from abkit.result_views import plan_view

SCIENTIFIC = re.compile(r"\d[eE][+-]?\d")


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    n = 4000
    return pd.DataFrame(
        {
            "variant": ["control"] * n + ["coupon"] * n + ["personal"] * n,
            "segment": ["a", "b <script>", "4) $350 - $500", "d"] * (3 * n // 4),
            "repurchased": [1] * 100
            + [0] * (n - 100)
            + [1] * 400
            + [0] * (n - 400)
            + [1] * 110
            + [0] * (n - 110),
            "revenue": [0.0] * (n - 100)
            + [40.0] * 100
            + [0.0] * (n - 400)
            + [45.0] * 400
            + [0.0] * (n - 110)
            + [80.0] * 110,
            "unsubscribed": [0] * n + [1] * 30 + [0] * (n - 30) + [0] * n,
        }
    )


def test_evaluation_html_leads_with_the_summary_and_a_compact_table(data: pd.DataFrame) -> None:
    ev = evaluate(
        data, metrics=["repurchased", "revenue"], guardrails=["unsubscribed"], segment_col="segment"
    )
    html = ev._repr_html_()
    assert html.index("<pre") < html.index("<table")  # the words first
    assert len(re.findall(r"<th[ >]", html)) <= 10  # one header row of at most 10 columns
    assert "<script>" not in html and "b &lt;script&gt;" in html
    assert not SCIENTIFIC.search(re.sub(r"<[^>]+>", "", html))
    assert len(ev.table.columns) > 10  # .table keeps every column


def test_print_fits_a_100_column_terminal(data: pd.DataFrame) -> None:
    ev = evaluate(
        data, metrics=["repurchased", "revenue"], guardrails=["unsubscribed"], segment_col="segment"
    )
    for result in (
        ev,
        ev.decision(),
        economics(
            data, costs={"coupon": (0.01, 5.0), "personal": (0.01, 0.0)}, margin=0.4, segment_col="segment"
        ),
    ):
        text = str(result)
        assert max(len(line) for line in text.splitlines()) <= 100, type(result).__name__
        assert not SCIENTIFIC.search(text)


def test_summary_is_a_str_that_displays_as_text_in_both_languages(data: pd.DataFrame) -> None:
    ev = evaluate(data, metrics=["repurchased"], segment_col="segment")
    english, japanese = ev.summary(), ev.summary(language="ja")
    assert isinstance(english, Text) and isinstance(english, str)
    assert "\\n" not in english._repr_html_() and "<pre" in english._repr_html_()
    assert "coupon wins" in english
    assert "再購入率" in japanese and "couponの勝ち" in japanese
    numbers = re.compile(r"\d+\.\d+%")
    assert numbers.findall(english) == numbers.findall(japanese)  # the same numbers underneath


def test_tiny_p_values_read_below_a_floor(data: pd.DataFrame) -> None:
    text = evaluate(data, metrics=["repurchased"]).summary()
    assert "adjusted p < 0.001" in text and "e-" not in text


def test_decision_and_economics_display_words_then_table(data: pd.DataFrame) -> None:
    ev = evaluate(data, metrics=["repurchased"], segment_col="segment")
    decision = ev.decision()
    html = decision._repr_html_()
    assert html.index("Ship coupon") < html.index("<table")
    assert "Ship" in str(decision.summary()) and "本展開" in decision.summary(language="ja")
    assert len(decision.compact_view().columns) <= 10
    econ = economics(data, costs={"coupon": (0.01, 5.0), "personal": (0.01, 0.0)}, margin=0.4)
    assert "per 1,000 customers targeted" in econ.summary()
    assert "$" in econ.summary(currency="USD")


def test_decision_view_shows_contract_columns_when_present() -> None:
    from abkit.result_views import decision_view

    table = pd.DataFrame(
        {
            "segment": ["all"],
            "decision": ["check the data"],
            "variant": [None],
            "best_variant": ["coupon"],
            "abs_lift": [0.01],
            "ci_low": [0.0],
            "ci_high": [0.02],
            "profit": [19.0],
            "confidence": ["unclear"],
            "evidence": [0.2],
            "extra_per_arm": [100],
        }
    )
    view = decision_view(table, "ja", currency="JPY")
    headers = [c.header for c in view.columns]
    assert "確からしさ" in headers and "1,000人あたり増分利益" in headers
    cells = view.formatted()[0]
    assert "データを確認" in cells and "差は不明確" in cells and "+¥19" in cells
    assert cells[-1] == "–"  # no "units still needed" when the data must be checked first


def test_plan_view_reads_points_and_percent() -> None:
    t = pd.DataFrame(
        {
            "arm": ["h", "c"],
            "comparison": [None, "c vs h"],
            "n": [10, 20],
            "mde": [None, 0.0123],
            "relative_mde": [None, 0.31],
        }
    )
    text = plan_view(t).to_text()
    assert "+1.2 pp" in text and "+31.0%" in text
