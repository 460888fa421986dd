"""The API reference (``make docs``, docs/build_api.py) builds without warnings and covers every module."""

from __future__ import annotations

import importlib.util
import pkgutil
from pathlib import Path

import abkit

BUILDER = Path(__file__).resolve().parents[1] / "docs" / "build_api.py"


def load_builder():
    spec = importlib.util.spec_from_file_location("build_api", BUILDER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_public_modules_are_every_non_private_submodule():
    names = load_builder().public_modules()
    walked = {m.name for m in pkgutil.walk_packages(abkit.__path__, "abkit.")}
    assert {"abkit.evaluation", "abkit.stats.frequentist", "abkit.engines.duckdb"} <= set(names)
    assert set(names) == {"abkit"} | {n for n in walked if "._" not in n}
    assert not any("._" in n for n in names)


def test_api_reference_builds_without_warnings(tmp_path):
    builder = load_builder()
    warnings = builder.build(tmp_path)
    assert warnings == []
    for name in builder.public_modules():
        page = tmp_path / (name.replace(".", "/") + ".html")
        assert page.is_file(), f"no page for {name}"
    assert (tmp_path / "index.html").is_file()
    # docstrings of the lazily exported names reach their module pages, with resolved annotations
    evaluation = (tmp_path / "abkit" / "evaluation.html").read_text(encoding="utf-8")
    assert "Compare every variant with" in evaluation
    frequentist = (tmp_path / "abkit" / "stats" / "frequentist.html").read_text(encoding="utf-8")
    assert "ForwardRef" not in frequentist
