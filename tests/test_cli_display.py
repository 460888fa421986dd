"""Tests for what the ``abkit`` command prints: plan in points and percent, assign in sentences, --lang."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from abkit.cli import EXIT_OK, build_parser, main


def test_plan_table_csv_and_json(demo_experiment: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", str(demo_experiment)]) == EXIT_OK
    table = capsys.readouterr().out
    assert "spec correction holm, planned with Bonferroni" in table
    assert " pp" in table and "%" in table and "coupon vs holdout" in table
    assert max(len(line) for line in table.splitlines()) <= 100
    assert main(["plan", str(demo_experiment), "--format", "json"]) == EXIT_OK
    records = json.loads(capsys.readouterr().out)
    assert records[0]["arm"] == "holdout" and records[0]["mde"] is None
    assert main(["plan", str(demo_experiment), "--format", "csv"]) == EXIT_OK
    assert capsys.readouterr().out.startswith("segment,arm,role,weight,n,comparison,mde")


def test_assign_prints_a_sentence_for_the_split_check(
    demo_experiment: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(demo_experiment)
    assert main(["assign", ".", "--force"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "The split matches the planned weights (p = " in out
    assert "SRMResult" not in out and "Sample ratio check:" not in out
    assert "saved to assignment.parquet" in out  # relative to the working folder
    assert str(demo_experiment) not in out


def test_lang_is_offered_on_report_and_demo() -> None:
    parser = build_parser()
    assert parser.parse_args(["report", "x", "--lang", "ja"]).lang == "ja"
    assert parser.parse_args(["demo", "--lang", "ja"]).lang == "ja"
    with pytest.raises(SystemExit):
        parser.parse_args(["report", "x", "--lang", "fr"])
