"""Tests for abkit.workflow: the verbs behind the CLI and the report notebook, end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import abkit
from abkit.assignment import load_assignment
from abkit.errors import FileExistsAbkitError, ParameterError, SourceError, SpecError
from abkit.experiment import Experiment
from abkit.workflow import (
    analyse,
    assign_experiment,
    demo_spec_text,
    init_experiment,
    plan_experiment,
)


# ------------------------------------------------------------------------------------------ init
def test_init_writes_a_loadable_spec_and_refuses_to_overwrite(tmp_path: Path) -> None:
    folder = init_experiment("autumn", parent=tmp_path)
    exp = Experiment.load(folder)
    assert exp.name == "autumn"
    with pytest.raises(FileExistsAbkitError, match="overwrite"):
        init_experiment("autumn", parent=tmp_path)
    init_experiment("autumn", parent=tmp_path, force=True)


@pytest.mark.parametrize("name", ["", "has space", "../escape", "-dash"])
def test_init_refuses_bad_names(tmp_path: Path, name: str) -> None:
    with pytest.raises(ParameterError, match="not a valid experiment name"):
        init_experiment(name, parent=tmp_path)


def test_init_refuses_a_missing_parent(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="does not exist"):
        init_experiment("x", parent=tmp_path / "nope")


# ----------------------------------------------------------------------------------- plan/assign
def test_plan_covers_all_and_each_segment(demo_experiment: Path) -> None:
    table = plan_experiment(demo_experiment)
    exp = Experiment.load(demo_experiment)
    assigned = load_assignment(exp.data_path("assignment")).frame
    assert set(table["segment"]) == {"all", *assigned["segment"].unique()}
    pool = table.loc[table["segment"] == "all", "n"].sum()
    assert pool == len(assigned)
    # the detectable lift of one comparison equals abkit.mde at the same arm sizes
    row = table.loc[(table["segment"] == "all") & (table["arm"] == "coupon")].iloc[0]
    control_n = table.loc[(table["segment"] == "all") & (table["arm"] == "holdout"), "n"].iloc[0]
    expected = abkit.mde(
        exp.analysis.baseline, control_n, ratio=row["n"] / control_n, variants=3, alpha=exp.analysis.alpha
    )
    assert row["mde"] == pytest.approx(expected, rel=1e-6)


def test_plan_needs_a_baseline(demo_experiment: Path) -> None:
    spec = demo_experiment / "experiment.toml"
    text = spec.read_text()
    spec.write_text("\n".join(line for line in text.splitlines() if not line.startswith("baseline")))
    with pytest.raises(SpecError, match=r"analysis\.baseline is not set"):
        plan_experiment(demo_experiment)
    assert len(plan_experiment(demo_experiment, baseline=0.05)) > 0


def test_assignment_is_saved_once_and_send_lists_exclude_the_holdout(demo_experiment: Path) -> None:
    with pytest.raises(FileExistsAbkitError):
        assign_experiment(demo_experiment)
    run = assign_experiment(demo_experiment, force=True)
    exp = Experiment.load(demo_experiment)
    assigned = load_assignment(exp.data_path("assignment")).frame
    assert int(run.counts.drop(columns="segment").to_numpy().sum()) == len(assigned)
    assert set(run.send_lists["variant"]) == set(exp.contacted_variants)
    for row in run.send_lists.itertuples():
        sent = pd.read_csv(row.path)
        assert set(sent["variant"]) == {row.variant}
        assert len(sent) == (assigned["variant"] == row.variant).sum()
    assert run.srm.ok is True
    assert "excluded before assignment" in str(run)


def test_the_demo_spec_is_shipped_and_is_the_repository_copy() -> None:
    repo_copy = Path(__file__).resolve().parents[1] / "experiments" / "winback-demo" / "experiment.toml"
    assert repo_copy.read_text(encoding="utf-8") == demo_spec_text()


# --------------------------------------------------------------------------------------- analyse
def test_analyse_matches_the_building_blocks(demo_experiment: Path) -> None:
    readout = analyse(demo_experiment, as_of="2026-06-20")
    exp = readout.experiment
    assert readout.status == "attribution window closed"
    assigned = load_assignment(exp.data_path("assignment")).frame
    events = pd.read_parquet(exp.data_path("events"))
    frame, diagnostics = abkit.outcomes(
        assigned, events, send_date="2026-06-01", window_days=14, return_diagnostics=True
    )
    pd.testing.assert_frame_equal(readout.diagnostics, diagnostics)
    # the demo spec asks for always-valid results (N* = holdout + largest variant) and CUPED
    n_star = len(assigned) * (0.2 + 0.3)
    direct = abkit.evaluate(
        frame,
        metrics=["repurchased", "revenue"],
        control="holdout",
        segment_col="segment",
        sequential=True,
        n_star=n_star,
        covariates=["monetary_total", "frequency", "recency_days"],
    ).table
    assert direct["method"].str.contains("N*=", regex=False).all()
    assert direct["method"].str.contains("CUPED", regex=False).all()
    mine = readout.evaluation.table
    mine = mine[mine["role"] != "guardrail"]
    cols = ["metric", "segment", "variant", "abs_lift", "ci_low", "ci_high", "p_value", "p_adjusted"]
    pd.testing.assert_frame_equal(mine[cols].reset_index(drop=True), direct[cols].reset_index(drop=True))
    funnel = readout.funnel.set_index("variant")
    for variant, group in frame.groupby("variant"):
        assert funnel.loc[variant, "assigned"] == len(group)
        assert funnel.loc[variant, "repurchased"] == group["repurchased"].sum()
        assert funnel.loc[variant, "revenue_per_recipient"] == pytest.approx(group["revenue"].mean())
    # opens and clicks are compared among contacted variants only
    assert "holdout" not in set(readout.engagement.table["variant"]) | set(
        readout.engagement.table["control"]
    )
    assert set(readout.decisions["segment"]) == {"all", *frame["segment"].unique()}
    assert readout.srm_assignment.ok is True


def test_analyse_counts_only_events_up_to_as_of(demo_experiment: Path) -> None:
    early = analyse(demo_experiment, as_of="2026-06-05")
    assert early.status.startswith("running: day 5 of a 14-day window")
    late = analyse(demo_experiment, as_of="2026-06-20")
    assert early.funnel["repurchased"].sum() < late.funnel["repurchased"].sum()
    frame = early.outcomes
    assert frame.attrs["abkit_window"]["end"] == "2026-06-06T00:00:00"


def test_analyse_refuses_bad_dates_and_stale_data(demo_experiment: Path) -> None:
    with pytest.raises(ParameterError, match="before the send date"):
        analyse(demo_experiment, as_of="2026-05-01")
    with pytest.raises(ParameterError, match="is not a date"):
        analyse(demo_experiment, as_of="yesterday")
    exp = Experiment.load(demo_experiment)
    events = pd.read_parquet(exp.data_path("events"))
    stamps = pd.to_datetime(events["timestamp"])
    events.loc[stamps < pd.Timestamp("2026-06-04")].to_parquet(exp.data_path("events"), index=False)
    with pytest.raises(SourceError, match="the data is stale"):
        analyse(demo_experiment, as_of="2026-06-10")


def test_analyse_refuses_a_changed_salt_and_unknown_variants(demo_experiment: Path) -> None:
    spec = demo_experiment / "experiment.toml"
    text = spec.read_text()
    spec.write_text(text.replace('salt = "winback-demo-2026-06"', 'salt = "another-salt"'))
    with pytest.raises(SpecError, match="differs from the salt"):
        analyse(demo_experiment, as_of="2026-06-20")
    spec.write_text(text.replace("[variants.reminder]", "[variants.urgency]"))
    with pytest.raises(SpecError, match=r"reminder|urgency"):
        analyse(demo_experiment, as_of="2026-06-20")


def test_analyse_with_the_bayesian_method(demo_experiment: Path) -> None:
    readout = analyse(demo_experiment, as_of="2026-06-20", method="bayesian")
    assert any("frequentist analysis only" in note for note in readout.notes)
    table = readout.evaluation.table
    assert {"prob_beat_control", "prob_best", "expected_loss"} <= set(table.columns)
    estimable = table[table["estimable"]]
    assert np.all((estimable["prob_beat_control"] >= 0) & (estimable["prob_beat_control"] <= 1))
    # no successes in either arm (e.g. complaints): not estimable, visibly, never a made-up 50%
    assert table.loc[~table["estimable"], "prob_beat_control"].isna().all()
    assert table["method"].str.contains("Beta(1, 1)", regex=False).any()
    with pytest.raises(ParameterError, match="method='magic'"):
        analyse(demo_experiment, as_of="2026-06-20", method="magic")
