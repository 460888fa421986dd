"""Tests for abkit/__init__.py: lazy public names and submodules."""

from __future__ import annotations

import subprocess
import sys

import pytest

import abkit


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        abkit.no_such_name  # noqa: B018


def test_submodules_load_on_first_use() -> None:
    code = "import abkit; print(round(abkit.power.power(0.5, 0.25, 50), 4), abkit.sql.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0.7402", "abkit.sql"]  # R: power.prop.test(n=50, p1=.5, p2=.75)


def test_every_public_name_resolves() -> None:
    missing = [name for name in abkit.__all__ if not hasattr(abkit, name)]
    assert missing == []
