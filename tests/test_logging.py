"""abkit's diagnostics go through the ``abkit`` loggers: quiet on import, shown only where asked."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from abkit.cli import main
from abkit.workflow import prepare_demo

IMPORT_EVERYTHING = """
import logging, pkgutil, importlib
import abkit
names = [m.name for m in pkgutil.walk_packages(abkit.__path__, "abkit.") if m.name != "abkit.__main__"]
for name in names:
    importlib.import_module(name)
logger = logging.getLogger("abkit")
extra = [h for h in logger.handlers if not isinstance(h, logging.NullHandler)]
children = [n for n in logging.root.manager.loggerDict if n.startswith("abkit.")]
child_handlers = [n for n in children if getattr(logging.getLogger(n), "handlers", [])]
print(len(names), extra, logging.root.handlers, logger.level, child_handlers)
"""


def test_importing_abkit_and_every_module_configures_no_logging_and_says_nothing() -> None:
    out = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERYTHING], capture_output=True, text=True, timeout=300, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    count, rest = out.stdout.split(" ", 1)
    assert int(count) > 30  # every module was imported
    # no handler but the library's NullHandler, nothing on the root logger, no level set
    assert rest.strip() == "[] [] 0 []"


def test_the_library_logs_the_demo_steps_at_info_and_prints_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    with caplog.at_level(logging.INFO, logger="abkit"):
        prepare_demo(tmp_path / "demo", n_customers=2_000, seed=1)
    assert capsys.readouterr() == ("", "")  # no print(): the caller decides what is shown
    steps = [r.getMessage() for r in caplog.records if r.name == "abkit.workflow"]
    assert steps[0] == "generating 2,000 synthetic customers (seed 1) ..."
    assert any(m.startswith("simulating what happened") for m in steps)
    assert {r.levelno for r in caplog.records if r.name == "abkit.workflow"} == {logging.INFO}


def test_an_earlier_callers_say_still_gets_the_demo_lines(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lines: list[str] = []
    with caplog.at_level(logging.INFO, logger="abkit"):
        prepare_demo(tmp_path / "demo", n_customers=2_000, seed=1, say=lines.append)
    assert lines[0] == "abkit demo: generating 2,000 synthetic customers (seed 1) ..."
    assert not [r for r in caplog.records if r.name == "abkit.workflow"]


def test_the_command_removes_its_handler_and_restores_the_level(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    logger = logging.getLogger("abkit")
    before = (list(logger.handlers), logger.level)
    assert main(["-vv", "init", "bad name!", "--parent", str(tmp_path)]) == 1
    assert main(["init", "ok", "--parent", str(tmp_path), "-q"]) == 0
    assert (list(logger.handlers), logger.level) == before
    # after the command, a library message reaches nobody's stderr
    logging.getLogger("abkit.workflow").warning("not shown")
    assert "not shown" not in capsys.readouterr().err
