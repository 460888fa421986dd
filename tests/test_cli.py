"""Tests for the ``abkit`` command: sub-commands, exit codes and one-line errors a scheduler can act on."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from abkit.cli import EXIT_INPUT, EXIT_NOTEBOOK, EXIT_OK, main

ABKIT = str(Path(sys.executable).parent / "abkit")


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ABKIT, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_help_lists_every_command() -> None:
    out = run("--help")
    assert out.returncode == 0
    for command in ("init", "plan", "assign", "report", "demo"):
        assert command in out.stdout
    for command in ("init", "plan", "assign", "report", "demo"):
        assert run(command, "--help").returncode == 0


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == EXIT_OK
    assert "usage: abkit" in capsys.readouterr().out


def test_init_then_refuse_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "spring", "--parent", str(tmp_path)]) == EXIT_OK
    assert (tmp_path / "spring" / "experiment.toml").exists()
    assert main(["init", "spring", "--parent", str(tmp_path)]) == EXIT_INPUT
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "overwrite" in err[0]


def test_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    out = run("report", str(tmp_path / "nowhere"))
    assert out.returncode == EXIT_INPUT
    assert "Traceback" not in out.stderr
    assert out.stderr.strip().count("\n") <= 1 and "nowhere" in out.stderr


def test_plan_and_report_from_the_shell(demo_experiment: Path) -> None:
    out = run("plan", str(demo_experiment))
    assert out.returncode == 0, out.stderr
    assert "holdout" in out.stdout and "coupon vs holdout" in out.stdout

    bad = run("report", str(demo_experiment), "--as-of", "June 20th")
    assert bad.returncode == EXIT_INPUT
    assert "as_of='June 20th' is not a date" in bad.stderr

    good = run("report", str(demo_experiment), "--as-of", "2026-06-20")
    assert good.returncode == 0, good.stderr
    html = Path(good.stdout.strip())
    assert html.name == "winback-demo-2026-06-20.html" and html.exists()
    assert html.parent == demo_experiment / "reports" / "winback-demo-2026-06-20"

    again = run("report", str(demo_experiment), "--as-of", "2026-06-20")
    assert again.returncode == EXIT_INPUT and "--force" in again.stderr


def test_a_failed_report_exits_non_zero_and_keeps_the_last_good_one(demo_experiment: Path) -> None:
    first = run("report", str(demo_experiment), "--as-of", "2026-06-20")
    assert first.returncode == 0, first.stderr
    html = Path(first.stdout.strip())
    before = html.read_bytes()
    # the events source turns into an empty table: the notebook fails, nothing is replaced
    events = demo_experiment / "data" / "events.parquet"
    pd.DataFrame({"customer_id": [], "event": [], "timestamp": []}).to_parquet(events)
    failed = run("report", str(demo_experiment), "--as-of", "2026-06-20", "--force")
    assert failed.returncode == EXIT_NOTEBOOK
    assert "nothing was published" in failed.stderr and "has no rows" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert html.read_bytes() == before
    reports = html.parent.parent
    assert (reports / "winback-demo-2026-06-20.failed.ipynb").exists()
    assert not [p for p in reports.iterdir() if p.name.startswith(".")]
    assert sorted(p.name for p in html.parent.iterdir()) == [
        "winback-demo-2026-06-20.html",
        "winback-demo-2026-06-20.ipynb",
    ]


def test_assign_refuses_to_replace_an_assignment(demo_experiment: Path) -> None:
    out = run("assign", str(demo_experiment))
    assert out.returncode == EXIT_INPUT
    assert "overwrite" in out.stderr or "--force" in out.stderr
    forced = run("assign", str(demo_experiment), "--force")
    assert forced.returncode == 0, forced.stderr
    assert "Assignment of winback-demo" in forced.stdout


@pytest.mark.parametrize(
    ("old", "new", "code", "message"),
    [
        ("[dates]", "colour = 'red'\n\n[dates]", EXIT_INPUT, r"line \d+: colour"),
        ('weight = 0.2\nchannel = "none"', 'weight = -1\nchannel = "none"', EXIT_INPUT, "weight"),
        ("window_days = 14", 'window_days = "two weeks"', EXIT_INPUT, "window_days"),
        ("[variants.reminder]", "[variants.urgency]", EXIT_NOTEBOOK, "reminder|urgency"),
        (
            'events = "data/events.parquet"',
            'events = "data/missing.parquet"',
            EXIT_NOTEBOOK,
            "missing.parquet",
        ),
    ],
    ids=["unknown key", "negative weight", "wrong type", "variant not in assignment", "missing events"],
)
def test_bad_specs_and_sources_exit_non_zero_and_publish_nothing(
    demo_experiment: Path, old: str, new: str, code: int, message: str
) -> None:
    spec = demo_experiment / "experiment.toml"
    text = spec.read_text(encoding="utf-8")
    assert old in text
    spec.write_text(text.replace(old, new, 1), encoding="utf-8")
    out = run("report", str(demo_experiment), "--as-of", "2026-06-20")
    assert out.returncode == code, out.stderr
    assert re.search(message, out.stderr), out.stderr
    assert "Traceback" not in out.stderr
    reports = demo_experiment / "reports"
    assert not reports.exists() or not list(reports.rglob("*.html"))


def test_a_table_that_is_not_a_table_is_refused(demo_experiment: Path) -> None:
    (demo_experiment / "data" / "events.parquet").write_text("customer_id;event\nthis is not parquet")
    out = run("report", str(demo_experiment), "--as-of", "2026-06-20")
    assert out.returncode == EXIT_NOTEBOOK
    assert "is not a readable table" in out.stderr and "nothing was published" in out.stderr
