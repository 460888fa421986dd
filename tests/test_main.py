"""``python -m abkit`` runs the command line, and the version is written once."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import abkit

ROOT = Path(__file__).resolve().parents[1]


def test_python_dash_m_abkit_prints_the_version():
    out = subprocess.run(
        [sys.executable, "-m", "abkit", "--version"], capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"abkit {abkit.__version__}"


def test_python_dash_m_abkit_returns_the_exit_code_of_a_failure(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "abkit", "plan", str(tmp_path / "missing")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert out.returncode == 1
    assert len(out.stderr.strip().splitlines()) == 1


def test_version_is_single_sourced():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert "version" not in project and "version" in project["dynamic"]
    dynamic = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert dynamic["dynamic"]["version"] == {"attr": "abkit.__version__"}
