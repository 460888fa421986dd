"""Tests for abkit._io: atomic writes."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from abkit._io import (
    ExperimentBusyError,
    atomic_path,
    experiment_lock,
    make_temp_dir,
    make_temp_file,
    publish,
    write_frame,
    write_text,
)
from abkit.errors import FileExistsAbkitError


def test_failed_write_leaves_neither_target_nor_temporary(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    with pytest.raises(RuntimeError, match="half-way"), atomic_path(target) as tmp:
        tmp.write_text("half a report")
        raise RuntimeError("half-way")
    assert list(tmp_path.iterdir()) == []


def test_existing_file_is_kept_unless_overwrite(tmp_path: Path) -> None:
    target = write_text(tmp_path / "a.txt", "first")
    with pytest.raises(FileExistsAbkitError, match=r"a\.txt already exists; pass overwrite=True"):
        write_text(target, "second", overwrite=False)
    assert target.read_text() == "first"
    write_text(target, "second")
    assert target.read_text() == "second"


@pytest.mark.parametrize("name", ["t.csv", "t.parquet"])
def test_write_frame_by_suffix(tmp_path: Path, name: str) -> None:
    frame = pd.DataFrame({"customer_id": [1, 2], "amount": [1.5, 2.0]})
    path = write_frame(frame, tmp_path / "sub" / name)
    back = pd.read_parquet(path) if name.endswith("parquet") else pd.read_csv(path)
    pd.testing.assert_frame_equal(back, frame)


def test_published_files_and_folders_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        text = write_text(tmp_path / "a.txt", "x")
        frame = write_frame(pd.DataFrame({"a": [1]}), tmp_path / "a.parquet")
        folder = make_temp_dir(tmp_path, "stage")
    finally:
        os.umask(old)
    assert text.stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600: a web server can read it
    assert frame.stat().st_mode & 0o777 == 0o644
    assert folder.stat().st_mode & 0o777 == 0o755 and folder.name.startswith(".stage.")


def test_publish_is_all_or_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    targets = [tmp_path / f"{name}.csv" for name in "abc"]
    for t in targets[:2]:
        t.write_text(f"old {t.name}")
    staged = {}
    for t in targets:
        tmp = make_temp_file(t)
        tmp.write_text(f"new {t.name}")
        staged[tmp] = t
    real = os.replace
    calls = []

    def third_fails(src: object, dst: object) -> None:
        calls.append(dst)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        real(src, dst)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "replace", third_fails)
        with pytest.raises(OSError, match="No space"):
            publish(staged)
    assert [t.read_text() for t in targets[:2]] == ["old a.csv", "old b.csv"] and not targets[2].exists()
    for tmp in staged:  # the caller removes what was staged
        tmp.unlink(missing_ok=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.csv"]  # no hidden copy left


def test_the_experiment_lock_is_exclusive_across_processes(tmp_path: Path) -> None:
    import subprocess
    import sys

    hold = (
        "import sys, time\nfrom abkit._io import experiment_lock\n"
        "with experiment_lock(sys.argv[1], name='spring'):\n"
        "    print('locked', flush=True)\n    time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", hold, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        with pytest.raises(ExperimentBusyError, match="experiment 'spring' is busy: another abkit run"):
            with experiment_lock(tmp_path, name="spring"):
                pass
    finally:
        proc.kill()
        proc.wait()
    with experiment_lock(tmp_path, name="spring") as outermost:  # released when its holder died
        assert outermost
