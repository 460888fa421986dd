"""abkit demo DIR --waves N: a synthetic programme through assign, report, decide and the programme report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from abkit.assignment import load_assignment
from abkit.cli import main
from abkit.contacts import programme_holdout, read_programme_holdout
from abkit.errors import ParameterError
from abkit.experiment import Experiment
from abkit.programme import latest_report, read_decisions, report_segments
from abkit.programme_demo import run_programme_demo


def test_waves_demo_end_to_end(tmp_path: Path, capsys) -> None:
    root = tmp_path / "programme-demo"
    assert main(["demo", str(root), "--waves", "3", "--customers", "6000", "--seed", "3"]) == 0
    html = Path(capsys.readouterr().out.strip())
    assert html.is_file() and html.parent.parent == root / "programme"
    summary = json.loads(html.with_suffix(".json").read_text(encoding="utf-8"))
    assert summary["waves"] == ["wave-1", "wave-2", "wave-3"] and summary["programme"] == "winback"
    assert summary["learnings"]["pooled"] and summary["learnings"]["not_read"] == []
    exps = [Experiment.load(root / f"wave-{k}") for k in (1, 2, 3)]
    contacted: dict[str, set[str]] = {}
    for exp in exps:
        assert exp.programme is not None and exp.population.cooldown_days == 60
        frame = load_assignment(exp.data_path("assignment")).frame
        ids = frame["customer_id"].astype(str)
        # the programme holdout is never contacted, and recorded by every wave
        assert not programme_holdout(ids, "winback", exp.programme.holdout).any()
        assert len(read_programme_holdout(exp)) > 0
        contacted[exp.name] = set(ids[frame["variant"].isin(exp.contacted_variants)])
        # one decision per segment of the published report, as it recommends
        report = latest_report(exp.folder)
        assert report is not None and report.summary is not None
        decisions = read_decisions(exp.folder)
        assert sorted(decisions["segment"]) == sorted(report_segments(report.summary)["segment"])
        assert not decisions["against_recommendation"].any()
    # one evolving pool: waves 56 days apart with a 60-day rest after a contact
    assert not contacted["wave-1"] & contacted["wave-2"]
    assert contacted["wave-1"] & contacted["wave-3"]  # rested one wave, eligible again
    assert contacted["wave-2"] - contacted["wave-1"]
    # the next waves started from the previous one (abkit init --from)
    assert "started from wave-1" in (root / "wave-2" / "experiment.toml").read_text(encoding="utf-8")


def test_waves_demo_writes_only_into_a_demo_folder(tmp_path: Path) -> None:
    real = tmp_path / "experiments"
    real.mkdir()
    (real / "keep.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(ParameterError, match="not a demo folder"):
        run_programme_demo(real, waves=2, n_customers=2000, say=lambda _: None)
    assert sorted(p.name for p in real.iterdir()) == ["keep.txt"]
    with pytest.raises(ParameterError, match="--waves"):
        run_programme_demo(tmp_path / "new", waves=0, say=lambda _: None)
