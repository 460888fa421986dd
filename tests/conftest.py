"""Shared fixtures: a small synthetic experiment folder, made once per test session (per worker)."""

from __future__ import annotations

import shutil
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")


@pytest.fixture(scope="session")
def demo_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo experiment with data, assignment and events (about 10,000 assigned customers)."""
    from abkit.workflow import prepare_demo

    folder = tmp_path_factory.mktemp("source") / "winback-demo"
    prepare_demo(folder, n_customers=20_000, seed=3, say=lambda _: None)
    return folder


@pytest.fixture
def demo_experiment(demo_source: Path, tmp_path: Path) -> Path:
    """A private copy of the demo experiment folder that a test may change."""
    folder = tmp_path / "winback-demo"
    shutil.copytree(demo_source, folder)
    return folder
