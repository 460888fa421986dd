"""Tests for abkit.report_view and the report notebook: answer first, clean, escaped, offline, bilingual."""

from __future__ import annotations

import dataclasses
import json
import re
import warnings
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from abkit import formatting as fmt
from abkit import report_view as rv
from abkit.views import Column, TableView, table_html
from abkit.workflow import analyse

AS_OF = "2026-06-20"
HOSTILE_SEGMENT = "4) $350 - $500 <script>alert(1)</script>"
HOSTILE_TEXT = "<img src=x onerror=alert(1)> $x$ **bold**"
SCIENTIFIC = re.compile(r"\d\.?\d*[eE][+-]?\d")


class _Visible(HTMLParser):
    """The text a reader sees (no style or script bodies, no attribute values) and the tables."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.skip = 0
        self.tables: list[int] = []  # header cells per table
        self.scripts: list[dict[str, Any]] = []
        self.images: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script"):
            self.skip += 1
        if tag == "script":
            self.scripts.append(dict(attrs))
        if tag == "img":
            self.images.append(dict(attrs))
        if tag == "table":
            self.tables.append(0)
        if tag == "th" and self.tables:
            self.tables[-1] += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.text.append(data)


def _visible(html: str) -> _Visible:
    parser = _Visible()
    parser.feed(html)
    return parser


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def readout(demo_source: Path) -> Any:
    return analyse(demo_source, as_of=AS_OF)


def _relabel(readout: Any, old: str, new: str) -> Any:
    """The readout with segment ``old`` renamed ``new`` everywhere, and hostile user text in the spec."""

    def seg(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        if "segment" in frame.columns:
            frame["segment"] = frame["segment"].astype(object).replace(old, new)
        return frame

    ev = readout.evaluation
    ev = dataclasses.replace(ev, _table=seg(ev.to_pandas()), _stats=seg(ev.stats))
    eng = readout.engagement
    if eng is not None:
        eng = dataclasses.replace(eng, _table=seg(eng.to_pandas()), _stats=seg(eng.stats))
    exp = dataclasses.replace(readout.experiment, hypothesis=HOSTILE_TEXT, owner=HOSTILE_TEXT)
    return dataclasses.replace(
        readout,
        experiment=exp,
        evaluation=ev,
        engagement=eng,
        decisions=seg(readout.decisions),
        economics=seg(readout.economics),
    )


def _contract_decisions(readout: Any) -> Any:
    """The readout with the decision columns of contract 1 (objective, profit, confidence)."""
    d = readout.decisions.copy()
    d["objective"] = "profit"
    d["profit"] = [123.4 + i for i in range(len(d))]
    d["profit_ci_low"] = d["profit"] - 100
    d["profit_ci_high"] = d["profit"] + 100
    d["confidence"] = ["very likely better", "likely better", "unclear", "likely worse", "very likely worse"][
        : len(d)
    ] + ["unclear"] * max(len(d) - 5, 0)
    return dataclasses.replace(readout, decisions=d)


# ------------------------------------------------------------------ view objects
def test_view_picks_numbers_without_computing(readout: Any) -> None:
    view = rv.build(readout)
    assert view.recommendations[0].segment == "all"
    d = readout.decisions.set_index("segment")
    for rec in view.recommendations:
        row = d.loc[rec.segment]
        assert rec.decision == row["decision"]
        assert rec.lift == pytest.approx(row["abs_lift"]) or (rec.lift is None and pd.isna(row["abs_lift"]))
    table = rv.recommendation_table(view)
    assert len(table.columns) <= 10


def test_contract_columns_are_shown_when_present(readout: Any) -> None:
    exp = readout.experiment
    priced = dataclasses.replace(exp, report=dataclasses.replace(exp.report, currency="USD"))
    view = rv.build(_contract_decisions(dataclasses.replace(readout, experiment=priced)), "ja")
    rec = view.recommendations[0]
    assert rec.profit == pytest.approx(123.4) and rec.confidence == "very likely better"
    html = rv.top_html(view)
    assert "ほぼ確実に改善" in html and "判断基準：増分利益" in html
    assert "+$123" in html  # the spec's currency, no decimals per 1,000


def test_relative_lift_is_left_out_against_a_zero_control(readout: Any) -> None:
    tables = rv.results_tables(readout)
    guard = next(t for t in tables if t.title.startswith("Guardrail, unsubscribe"))
    frame = guard.to_pandas()
    assert frame["rel_lift"].isna().all()  # the holdout unsubscribes nobody: no "+72,580%"
    assert (frame["control_observed"] == 0).all()


def test_observed_rates_one_per_arm_and_never_negative(readout: Any) -> None:
    for table in rv.results_tables(readout):
        frame = table.to_pandas()
        per_segment = frame.groupby("segment")["control_observed"].nunique()
        assert (per_segment == 1).all()
        assert (frame["control_observed"].dropna() >= 0).all()


def test_hostile_labels_and_user_text_are_escaped(readout: Any) -> None:
    hostile = _relabel(readout, "one_time", HOSTILE_SEGMENT)
    view = rv.build(hostile)
    parts = [rv.top_html(view)]
    parts += [table_html(t) for t in rv.results_tables(hostile)]
    parts += [table_html(rv.economics_table(hostile)), table_html(rv.decision_table(hostile))]
    html = "\n".join(parts)
    assert "<script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "4) $350 - $500" in html
    assert "&lt;img src=x onerror=alert(1)&gt; $x$ **bold**" in html


def test_workbook_never_turns_a_label_into_a_formula(readout: Any, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    hostile = _relabel(readout, "other", '=HYPERLINK("http://x","click")')
    path = rv.write_workbook(hostile, tmp_path / "r.xlsx")
    wb = load_workbook(path)
    assert wb.sheetnames == ["summary", "results", "economics", "decision", "health"]
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert not [c for c in cells if c.data_type == "f"]
    assert any(c.value == '=HYPERLINK("http://x","click")' for c in cells)


def test_json_summary_is_deterministic_and_documented(readout: Any) -> None:
    view = rv.build(readout)
    text = rv.summary_json(view)
    assert text == rv.summary_json(rv.build(readout))
    data = json.loads(text)
    assert data["schema"] == rv.JSON_SCHEMA == "abkit.report/1"
    for key in ("status", "health", "currency", "language", "method", "abkit_version", "segments"):
        assert key in data and key in (rv.__doc__ or "")
    seg = data["segments"][0]
    for key in ("segment", "decision", "variant", "objective", "primary_lift", "profit", "confidence"):
        assert key in seg
    assert set(seg["primary_lift"]) >= {
        "abs",
        "abs_ci_low",
        "abs_ci_high",
        "rel",
        "rel_ci_low",
        "rel_ci_high",
    }


def test_japanese_figures_use_the_bundled_font_with_every_glyph(readout: Any) -> None:
    from matplotlib import font_manager

    try:
        rv.use_fonts("ja")
        ax = rv.plot_funnel(readout, language="ja")
        assert "到達率" in [t.get_text() for t in ax.get_xticklabels()]
        used = font_manager.findfont(ax.title.get_fontproperties())
        assert Path(used).name == "ipaexg.ttf"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ax.figure.canvas.draw()
        assert not [w for w in caught if "missing from font" in str(w.message)]
        plt.close(ax.figure)
    finally:
        rv.use_fonts("en")


def test_forest_plot_is_in_points_with_legend_and_interval_type(readout: Any) -> None:
    ax = rv.plot_forest(readout)
    assert "percentage points" in ax.get_xlabel()
    assert "always-valid interval" in ax.get_title()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "clearly better",
        "clearly worse",
        "not clear",
    ]
    plt.close(ax.figure)
    ax = rv.plot_forest(readout, relative=True)
    assert "percent" in ax.get_xlabel()
    plt.close(ax.figure)


def test_funnel_is_linear_with_every_arm(readout: Any) -> None:
    ax = rv.plot_funnel(readout)
    assert ax.get_yscale() == "linear"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(readout.funnel["variant"])
    plt.close(ax.figure)


def test_table_views_fit_ten_columns(readout: Any) -> None:
    view = rv.build(readout)
    tables: list[TableView] = [
        rv.recommendation_table(view),
        rv.funnel_table(readout),
        rv.decision_table(readout),
    ]
    tables += rv.results_tables(readout) + rv.results_tables(readout, engagement=True)
    tables += [rv.economics_table(readout), rv.srm_table(readout), rv.balance_table(readout)]
    for table in tables:
        assert len(table.columns) <= 10, table.title
        assert all(isinstance(c, Column) for c in table.columns)


# ------------------------------------------------------------------ the published report, end to end
def _run(demo_experiment: Path, out: Path, language: str) -> tuple[str, dict[str, Any]]:
    from abkit.report import run_report

    run = run_report(
        demo_experiment,
        as_of=AS_OF,
        force=True,
        extra_parameters={"output_dir": str(out), "language": language},
    )
    data = json.loads((out / f"winback-demo-{AS_OF}.json").read_text(encoding="utf-8"))
    return run.html.read_text(encoding="utf-8"), data


def test_published_report_answer_first_clean_offline_and_consistent(
    demo_experiment: Path, tmp_path: Path
) -> None:
    spec = demo_experiment / "experiment.toml"
    text = spec.read_text(encoding="utf-8")
    start = text.index('hypothesis = """')
    end = text.index('"""', start + 16) + 3
    hostile = "hypothesis = '<script>alert(1)</script> <img src=x onerror=alert(2)> 4) $350 - $500'"
    assert 'currency = "USD"' in text  # the demo's amounts are in dollars
    spec.write_text(text[:start] + hostile + text[end:], encoding="utf-8")
    html, data = _run(demo_experiment, tmp_path / "out-en", "en")
    assert "<script>alert(1)" not in html and "<img src=x" not in html  # issue 12: stored XSS
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "4) $350 - $500" in html
    page = _visible(html)
    text = "".join(page.text)
    # answer first: status and recommendation before every detail section
    order = [
        text.index(s)
        for s in (
            "attribution window",
            "Recommendation per segment",
            "Data health",
            "Funnel per variant",
            "Results",
            "Economics",
            "Decision per segment",
            "Methods",
        )
    ]
    assert order == sorted(order)
    assert "Hypothesis:" in text
    # clean: no scientific notation, absolute path, warning or traceback
    assert not SCIENTIFIC.search(text), SCIENTIFIC.search(text)
    assert str(demo_experiment) not in html and str(tmp_path) not in html
    for noise in ("Warning", "Traceback", "site-packages", "/home/", "/tmp/"):
        assert noise not in text
    # offline: no script loaded from anywhere, no MathJax; every figure has alt text
    assert not [s for s in page.scripts if s.get("src")]
    assert "mathjax" not in html.lower() and "require.min.js" not in html
    assert len(page.images) >= 3 and all(img.get("alt") for img in page.images)
    assert all(str(img.get("src", "")).startswith("data:image/png;base64,") for img in page.images)
    assert max(page.tables) <= 10
    # the workbook and the JSON sit beside the report and agree with the HTML
    assert (tmp_path / "out-en" / f"winback-demo-{AS_OF}.xlsx").exists()
    assert data["language"] == "en" and data["currency"] == "USD"
    first = data["segments"][0]
    assert first["segment"] == "all"
    assert fmt.points(first["primary_lift"]["abs"]) in text
    if first["profit"]["value"] is not None:
        assert fmt.money(first["profit"]["value"], "USD", sign=True, decimals=0) in text
    assert "Beta(" not in text and "Pearson chi-square" in text


def test_japanese_report_has_japanese_headings_and_the_same_numbers(
    demo_experiment: Path, tmp_path: Path
) -> None:
    html, data = _run(demo_experiment, tmp_path / "out-ja", "ja")
    assert '<html lang="ja">' in html
    text = "".join(_visible(html).text)
    for heading in ("セグメント別の推奨", "データ健全性", "バリアント別ファネル", "指標別の結果", "分析方法"):
        assert heading in text
    assert not SCIENTIFIC.search(text)
    english = rv.summary_dict(rv.build(analyse(demo_experiment, as_of=AS_OF), "en"))
    assert {**data, "language": "en"} == english


def test_a_clear_primary_lift_without_a_shown_profit_is_said_in_words(readout: Any) -> None:
    view = rv.build(readout)
    first = view.recommendations[0]
    up = dataclasses.replace(
        first, decision="keep collecting", objective="profit", lift=0.03, lift_low=0.01, lift_high=0.05,
        profit=300.0, profit_low=-90.0, profit_high=700.0, shown_variant="coupon",
    )  # fmt: skip
    shown = dataclasses.replace(up, profit_low=10.0)
    expected = (("en", "the extra profit is not shown yet"), ("ja", "増分利益はまだ確認できません"))
    for language, words in expected:
        lang_view = dataclasses.replace(view, recommendations=(up, shown), language=language)
        first_sentence, second_sentence = rv.recommendation_sentences(lang_view)
        assert words in first_sentence
        assert words not in second_sentence


# ------------------------------------------------------------------ decisions on record
def test_decisions_on_record_say_whether_they_follow_this_report(readout: Any, tmp_path: Path) -> None:
    import shutil

    from abkit.programme import decide

    folder = tmp_path / "wave"
    shutil.copytree(readout.experiment.folder, folder)
    moved = analyse(folder, as_of=AS_OF)
    recs = {r.segment: r for r in rv.build(moved).recommendations}
    rec = recs["all"]
    shipped = rec.variant or "coupon"
    decide(folder, segment="all", action="ship", variant=shipped, note="<i>why</i>", by="ana")
    decide(folder, segment="all", action="keep-holdout", by="ana")
    view = rv.build(analyse(folder, as_of=AS_OF))
    first, second = view.decisions
    assert (first.action, first.variant, first.by) == ("ship", shipped, "ana")
    assert first.follows is (rec.decision == "ship") and second.follows is (rec.decision != "ship")
    table = rv.decisions_table(view).to_pandas()
    assert list(table["action"]) == ["Ship", "Keep holdout"] and table["segment"].iloc[0] == "All customers"
    html = rv.decisions_html(view)
    assert "Decisions on record" in html and "&lt;i&gt;why&lt;/i&gt;" in html and "<i>why" not in html
    ja = rv.build(analyse(folder, as_of=AS_OF), "ja")
    ja_table = rv.decisions_table(ja).to_pandas()
    assert list(ja_table["action"]) == ["本展開", "見送り（ホールドアウト維持）"]
    assert "記録済みの判断" in rv.decisions_html(ja)
    assert set(ja_table["follows"]) <= {"○", "×"}
    # no record, no section
    assert rv.decisions_html(rv.build(readout)) == ""


def test_methods_appendix_and_rows_name_a_one_sided_alternative(demo_experiment: Path) -> None:
    spec = demo_experiment / "experiment.toml"
    text = spec.read_text(encoding="utf-8")
    assert "[analysis]\n" in text
    spec.write_text(text.replace("[analysis]\n", '[analysis]\nalternative = "larger"\n', 1), encoding="utf-8")
    readout = analyse(demo_experiment, as_of=AS_OF)
    ev = readout.evaluation
    assert ev.alternative == "larger"
    t = ev.to_pandas()
    metrics = t[t["role"] == "primary"]
    assert (metrics["ci_high"] == float("inf")).all()
    assert t.loc[t["role"] == "guardrail", "convention"].str.startswith("two-sided").all()
    appendix = " ".join(rv.methods(readout))
    assert "Tests are one-sided (larger: the alternative hypothesis is variant − control > 0)" in appendix
    assert "one-sided (larger)" in appendix.split("Tests: ")[1]
    assert "inf" not in " ".join(rv.methods(readout, "ja")).replace("Miettinen", "")
    data = json.loads(rv.summary_json(rv.build(readout)), parse_constant=lambda c: pytest.fail(c))
    assert data["method"]["alternative"] == "larger"
    lifts = [s["primary_lift"] for s in data["segments"] if s.get("primary_lift")]
    assert lifts and all(lift["abs_ci_high"] is None for lift in lifts)  # the open end: null
    for lang, bound, at_least in (("en", "one-sided", "at least +"), ("ja", "片側", " 以上")):
        first = rv.top_html(rv.build(readout, lang))
        assert bound in first and at_least in first and "–</td>" not in first, lang
