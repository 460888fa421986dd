"""The README's Python examples run as written (in one namespace, in a temporary folder)."""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_examples_run(tmp_path: Path) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) >= 3
    namespace: dict[str, object] = {}
    cwd = Path.cwd()
    os.chdir(tmp_path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for block in blocks:
                exec(compile(block, str(README), "exec"), namespace)
    finally:
        os.chdir(cwd)
    need = namespace["need"]
    assert (need.control, need.per_variant, need.total) == (5709, 17125, 57084)
    assert (tmp_path / "assignment.parquet").exists()
    assert (tmp_path / "send_lists").is_dir()


@pytest.mark.parametrize("command", ["make test", "make demo"])
def test_readme_shows_the_two_commands_first(command: str) -> None:
    text = README.read_text(encoding="utf-8")
    assert command in text[: text.index("## A short tour")]
