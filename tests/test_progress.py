"""Progress bars: drawn only on a terminal, never changing what they wrap."""

from __future__ import annotations

import io
import sys

import numpy as np
import pandas as pd
import pytest

import abkit.assignment
from abkit._progress import progress, show_progress
from abkit.assignment import assign, unit_hash


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_no_bar_when_stderr_is_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    assert show_progress() is False
    assert list(progress(iter("abc"), total=3, desc="x")) == ["a", "b", "c"]
    assert capsys.readouterr() == ("", "")


def test_a_bar_on_a_terminal_yields_the_same_items(monkeypatch: pytest.MonkeyPatch) -> None:
    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    assert show_progress() is True
    assert list(progress(range(5), total=5, desc="hashing ids")) == [0, 1, 2, 3, 4]
    assert "hashing ids" in screen.getvalue() and "0/5" in screen.getvalue()  # then erased


def test_a_closed_or_missing_stderr_draws_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", None)
    assert show_progress() is False
    closed = io.StringIO()
    closed.close()
    monkeypatch.setattr(sys, "stderr", closed)
    assert show_progress() is False


@pytest.mark.parametrize(
    ("method", "text_ids"),
    [("block", False), ("block", True), ("hash", True)],  # block + integer ids: DuckDB returns cells
)
def test_assigning_in_chunks_with_a_bar_gives_the_same_split(
    monkeypatch: pytest.MonkeyPatch, method: str, text_ids: bool
) -> None:
    n = 5_003
    ids = [f"C{i:05d}" for i in range(n)] if text_ids else np.arange(n)
    units = pd.DataFrame({"customer_id": ids, "segment": np.where(np.arange(n) % 3, "a", "b")})
    units["segment"] = units["segment"].astype("string[pyarrow]")
    kwargs = {"variants": {"coupon": 2, "holdout": 1}, "salt": "wb", "strata": "segment", "method": method}
    whole = assign(units, **kwargs, _engine="python")
    screen = Terminal()
    monkeypatch.setattr(abkit.assignment, "_CHUNK_UNITS", 1_000)  # six DuckDB queries, six bar steps
    monkeypatch.setattr(sys, "stderr", screen)
    chunked = assign(units, **kwargs, _engine="duckdb")
    pd.testing.assert_frame_equal(chunked, whole)
    assert "abkit: " in screen.getvalue() and "0/6" in screen.getvalue()
    h = unit_hash(units["customer_id"], "wb", _engine="duckdb")
    assert np.array_equal(h, unit_hash(units["customer_id"], "wb", _engine="python"))
