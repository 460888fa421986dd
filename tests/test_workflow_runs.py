"""Tests for the unattended-run guarantees of abkit.workflow: demo folders, all-or-nothing assign,
exclusions that really exclude, and refusals before anything is written."""

from __future__ import annotations

import errno
from pathlib import Path

import pandas as pd
import pytest

import abkit.assignment
from abkit.assignment import export_send_lists, load_assignment
from abkit.errors import DataError, FileExistsAbkitError, ParameterError, SpecError
from abkit.experiment import Experiment
from abkit.workflow import DEMO_MARKER, assign_experiment, init_experiment, prepare_demo


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones too) with its bytes."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != ".abkit.lock")
    return {str(p.relative_to(folder)): p.read_bytes() for p in files}


def outputs(exp: Experiment) -> list[Path]:
    target = exp.data_path("assignment")
    lists = sorted(exp.send_lists_dir.glob("*")) if exp.send_lists_dir.exists() else []
    return [p for p in (target, target.with_name(f"{target.name}.meta.json")) if p.exists()] + lists


def hidden(exp: Experiment) -> list[Path]:
    folders = {exp.folder, exp.data_path("assignment").parent, exp.send_lists_dir}
    return [
        p
        for f in folders
        if f.exists()
        for p in f.iterdir()
        if p.name.startswith(".") and p.name not in (".abkit.lock", DEMO_MARKER, ".gitignore")
    ]


# ------------------------------------------------------------------------------------------ demo
def test_demo_refuses_a_real_experiment_folder_and_touches_nothing(tmp_path: Path) -> None:
    folder = init_experiment("spring", parent=tmp_path)  # its events file does not exist yet
    before = snapshot(folder)
    with pytest.raises(ParameterError, match=r"not a demo folder .*\.abkit-demo.*pass a new folder"):
        prepare_demo(folder, n_customers=2_000, say=lambda _: None)
    assert snapshot(folder) == before


def test_demo_refuses_an_experiment_with_data(demo_experiment: Path) -> None:
    (demo_experiment / DEMO_MARKER).unlink()  # a real experiment: same files, no marker
    before = snapshot(demo_experiment)
    with pytest.raises(ParameterError, match="not a demo folder"):
        prepare_demo(demo_experiment, n_customers=2_000, force=True, say=lambda _: None)
    assert snapshot(demo_experiment) == before


def test_demo_refuses_a_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("mine")
    with pytest.raises(ParameterError, match="is a file, not a folder"):
        prepare_demo(path, n_customers=2_000, say=lambda _: None)
    assert path.read_text() == "mine"


def test_demo_marks_the_folders_it_creates(demo_experiment: Path, tmp_path: Path) -> None:
    assert (demo_experiment / DEMO_MARKER).is_file()  # made by prepare_demo in the fixture
    empty = tmp_path / "empty"
    empty.mkdir()
    exp = prepare_demo(empty, n_customers=2_000, seed=1, say=lambda _: None)
    assert (empty / DEMO_MARKER).is_file() and exp.data_path("events").exists()


# ---------------------------------------------------------------------------------------- assign
def test_assign_refuses_existing_send_lists_before_saving_anything(demo_experiment: Path) -> None:
    exp = Experiment.load(demo_experiment)
    target = exp.data_path("assignment")
    target.unlink()
    target.with_name(f"{target.name}.meta.json").unlink()
    before = snapshot(demo_experiment)
    with pytest.raises(FileExistsAbkitError, match=r"send_list_coupon\.csv.*--force"):
        assign_experiment(exp)
    assert not target.exists()
    assert snapshot(demo_experiment) == before


def _fail_on_second_send_list(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    written: list[str] = []
    real = abkit.assignment._write_text_atomic

    def full_disk(path: Path, text: str, *, overwrite: bool) -> None:
        if path.name.startswith("send_list_"):
            written.append(path.name)
            if len(written) == 2:
                raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, text, overwrite=overwrite)

    monkeypatch.setattr(abkit.assignment, "_write_text_atomic", full_disk)
    return written


def test_a_full_disk_publishes_nothing_and_a_rerun_works(
    demo_experiment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exp = Experiment.load(demo_experiment)
    for path in outputs(exp):
        path.unlink()
    written = _fail_on_second_send_list(monkeypatch)
    with pytest.raises(OSError, match="No space left"):
        assign_experiment(exp)
    assert len(written) == 2
    assert outputs(exp) == [] and hidden(exp) == []
    monkeypatch.undo()
    run = assign_experiment(exp)
    assert len(load_assignment(run.assignment_path).frame) == int(run.send_lists["n"].sum()) + int(
        run.counts["holdout"].sum()
    )
    assert [Path(p).name for p in run.send_lists["path"]] == [
        "send_list_coupon.csv",
        "send_list_personal.csv",
        "send_list_reminder.csv",
    ]


def test_a_full_disk_keeps_the_previous_assignment_and_lists(
    demo_experiment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exp = Experiment.load(demo_experiment)
    before = snapshot(demo_experiment)
    _fail_on_second_send_list(monkeypatch)
    with pytest.raises(OSError, match="No space left"):
        assign_experiment(exp, force=True)
    assert snapshot(demo_experiment) == before
    load_assignment(exp.data_path("assignment"))  # still whole and consistent


# -------------------------------------------------------------------- exclusions and refusals
def test_customers_missing_from_the_customers_table_are_not_assigned(demo_experiment: Path) -> None:
    exp = Experiment.load(demo_experiment)
    assigned = load_assignment(exp.data_path("assignment")).frame
    missing = assigned["customer_id"].iloc[:40].tolist()
    path = exp.data_path("customers")
    customers = pd.read_parquet(path)
    customers[~customers["customer_id"].isin(missing)].to_parquet(path)
    run = assign_experiment(exp, force=True)
    again = load_assignment(exp.data_path("assignment")).frame
    assert not again["customer_id"].isin(missing).any()
    for p in run.send_lists["path"]:
        assert not pd.read_csv(p, dtype=str)["customer_id"].isin([str(m) for m in missing]).any()
    row = run.exclusions.set_index("reason").loc["not_in_customers_table"]
    assert row["count"] == 40
    assert "not in the customers table (opt-out status unknown): 40" in str(run)
    assert "kept and assigned" not in str(run)


def test_the_send_lists_are_checked_against_the_customers_table(tmp_path: Path) -> None:
    assigned = pd.DataFrame(
        {"customer_id": ["01", "02", "03"], "segment": "a", "variant": ["coupon", "holdout", "coupon"]}
    )
    customers = pd.DataFrame({"customer_id": ["01", "02", "03"], "opted_out": [False, False, True]})
    with pytest.raises(DataError, match=r"'coupon' would contact 1 customer\(s\) flagged 'opted_out'.*'03'"):
        export_send_lists(
            assigned, tmp_path, contact_variants=["coupon"], customers=customers, suppress=["opted_out"]
        )
    with pytest.raises(DataError, match=r"absent from the customers table"):
        export_send_lists(assigned, tmp_path, contact_variants=["coupon"], customers=customers.iloc[:1])
    assert list(tmp_path.iterdir()) == []
    allowed = customers.assign(opted_out=False)
    ok = export_send_lists(
        assigned, tmp_path, contact_variants=["coupon"], customers=allowed, suppress=["opted_out"]
    )
    assert ok["n"].tolist() == [2]


def test_a_stratum_without_holdout_is_refused_before_writing(demo_experiment: Path) -> None:
    spec = demo_experiment / "experiment.toml"
    text = spec.read_text(encoding="utf-8")
    spec.write_text(text.replace('weight = 0.2\nchannel = "none"', 'weight = 0.00001\nchannel = "none"'))
    before = snapshot(demo_experiment)
    refused = r"stratum segment='\w+' has .* gets no 'holdout' customer.*raise the weight of 'holdout'"
    with pytest.raises(SpecError, match=refused):
        assign_experiment(demo_experiment, force=True)
    assert snapshot(demo_experiment) == before
