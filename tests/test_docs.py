"""docs/experiment-toml.md cannot drift from the spec reader: same tables, same keys, valid examples."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from abkit.experiment import spec_keys

DOC = Path(__file__).resolve().parents[1] / "docs" / "experiment-toml.md"

#: Keys documented ahead of the reader on this branch: branch "data" (issue 11 §1, §3, §4) adds them
#: to abkit.experiment. Once both branches are merged the reader accepts every one of them, and
#: test_keys_documented_ahead_of_the_reader_are_not_accepted_yet fails: then empty this set.

_HEADING = re.compile(r"^## (?:Top level|`\[(?P<table>[^\]]+)\]`)\s*$")
_ROW = re.compile(r"^\| `(?P<key>[A-Za-z_]+)` \|(?P<rest>.*)\|\s*$")


def documented() -> dict[tuple[str, str], list[str]]:
    """(table, key) -> the row's cells after the key: type, default, meaning, example."""
    rows: dict[tuple[str, str], list[str]] = {}
    table: str | None = None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        heading = _HEADING.match(line)
        if heading:
            table = heading.group("table") or ""
            continue
        if line.startswith("## "):
            table = None
        row = _ROW.match(line)
        if row and table is not None:
            assert (table, row.group("key")) not in rows, f"[{table}] {row.group('key')} is documented twice"
            rows[(table, row.group("key"))] = [c.strip() for c in row.group("rest").split(" | ")]
    return rows


def accepted() -> set[tuple[str, str]]:
    return {(table, key) for table, keys in spec_keys().items() for key in keys}


def test_every_key_the_reader_accepts_is_documented() -> None:
    missing = sorted(accepted() - set(documented()))
    assert not missing, f"add these keys to {DOC.name}: {missing}"


def test_every_documented_key_is_accepted_by_the_reader() -> None:
    unknown = sorted(set(documented()) - accepted())
    assert not unknown, f"{DOC.name} documents keys the reader refuses: {unknown}"


@pytest.mark.parametrize("cell", ["type", "default", "meaning", "example"])
def test_every_row_gives_type_default_meaning_and_example(cell: str) -> None:
    index = ["type", "default", "meaning", "example"].index(cell)
    empty = [k for k, cells in documented().items() if len(cells) != 4 or not cells[index]]
    assert not empty, f"rows without a {cell}: {empty}"


def test_every_example_is_valid_toml_for_its_key() -> None:
    for (table, key), cells in documented().items():
        example = re.fullmatch(r"`([^`]+)`", cells[3])
        assert example, f"[{table}] {key}: the example must be one `code` span, got {cells[3]!r}"
        parsed = tomllib.loads(example.group(1))
        if cells[0].startswith("table"):
            assert example.group(1).startswith("["), f"[{table}] {key}: a table's example is its header"
        else:
            assert list(parsed) == [key], f"[{table}] {key}: the example sets {list(parsed)}"
