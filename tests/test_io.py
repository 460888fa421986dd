"""Tests for abkit._io: atomic writes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from abkit._io import atomic_path, write_frame, write_text
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
