"""Tests for the ``abkit`` command: sub-commands, exit codes and one-line errors a scheduler can act on."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from abkit import report_view as rv
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
    assert len(err) == 1 and "--force" in err[0] and "overwrite=True" not in err[0]


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


def test_a_failed_report_exits_non_zero_and_keeps_the_last_good_one(
    demo_experiment: Path, tmp_path: Path
) -> None:
    first = run("report", str(demo_experiment), "--as-of", "2026-06-20")
    assert first.returncode == 0, first.stderr
    html = Path(first.stdout.strip())
    before = html.read_bytes()
    reports = html.parent.parent
    published = sorted(p.name for p in html.parent.iterdir())
    # a notebook that fails: exit 3, the failed notebook is kept, nothing is replaced
    failed = subprocess.run(
        [sys.executable, "-c", FAST_CLI, "raise RuntimeError('the kernel broke')", str(tmp_path),
         "report", str(demo_experiment), "--as-of", "2026-06-20", "--force"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert failed.returncode == EXIT_NOTEBOOK, failed.stderr
    assert "nothing was published" in failed.stderr and "the kernel broke" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert html.read_bytes() == before
    assert (reports / "winback-demo-2026-06-20.failed.ipynb").exists()
    # bad data is caught before any notebook starts: exit 1, one line, nothing replaced
    events = demo_experiment / "data" / "events.parquet"
    pd.DataFrame({"customer_id": [], "event": [], "timestamp": []}).to_parquet(events)
    bad = run("report", str(demo_experiment), "--as-of", "2026-06-20", "--force")
    assert bad.returncode == EXIT_INPUT and "has no rows" in bad.stderr, bad.stderr
    assert "Traceback" not in bad.stderr
    assert html.read_bytes() == before
    assert not [p for p in reports.iterdir() if p.name.startswith(".")]
    assert sorted(p.name for p in html.parent.iterdir()) == published


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
        ("[variants.reminder]", "[variants.urgency]", EXIT_INPUT, "reminder|urgency"),
        (
            'events = "data/events.parquet"',
            'events = "data/missing.parquet"',
            EXIT_INPUT,
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
    assert out.returncode == EXIT_INPUT, out.stderr  # caught before the notebook starts
    assert "events.parquet" in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) <= 2  # "running ..." and the one-line reason


# ------------------------------------------------------------------ import, validate, report checks
def imported_experiment(tmp_path: Path, n: int = 300) -> Path:
    """A scaffolded experiment (holdout 0.2, coupon 0.4, personal 0.4) and a tool's export beside it."""
    folder = tmp_path / "imported"
    assert main(["init", "imported", "--parent", str(tmp_path)]) == EXIT_OK
    arms = (["No E-Mail"] + ["Coupon E-Mail", "personal"] * 2) * (n // 5)
    tiers = ["gold", "silver", "new"] * (n // 3)
    ids = [f"{i:06d}" for i in range(n)]
    pd.DataFrame({"cust": ids, "arm": arms, "tier": tiers}).to_parquet(folder / "export.parquet")
    return folder


def test_import_records_an_external_split_and_checks_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from abkit.assignment import load_assignment

    folder = imported_experiment(tmp_path)
    capsys.readouterr()
    args = ["import", str(folder), str(folder / "export.parquet"), "--id-col", "cust", "--variant-col", "arm"]
    maps = ["--map", "No E-Mail=holdout", "--map", "Coupon E-Mail=coupon", "--segment-col", "tier"]
    assert main([*args, *maps]) == EXIT_OK
    out = capsys.readouterr().out.strip()
    assert out.count("\n") == 0 and "made outside abkit" in out and "300 customers" in out
    assert "holdout 60 (20.0%)" in out and "matches the spec's weights" in out and str(tmp_path) not in out
    frame, meta = load_assignment(folder / "assignment.parquet")
    assert meta["method"] == "external" and meta["salt"] is None and meta["strata"] == ["segment"]
    source = meta["source"]
    assert source["file"] == "export.parquet" and len(source["sha256"]) == 64 and source["imported_at"]
    assert source["map"] == {"No E-Mail": "holdout", "Coupon E-Mail": "coupon"}
    assert frame["customer_id"].iloc[0] == "000000" and set(frame["segment"]) == {"gold", "silver", "new"}

    # never replaced silently; --force replaces it
    assert main([*args, *maps]) == EXIT_INPUT
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "already has an assignment" in err and "--force" in err
    assert main([*args, *maps, "--force"]) == EXIT_OK


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            [],
            r"holds 'Coupon E-Mail' \(120 rows\), 'No E-Mail' \(60 rows\), not variants of the spec "
            r".*--map 'Coupon E-Mail=VARIANT'",
        ),
        (["--map", "No E-Mail=holdout", "--map", "Coupon E-Mail=coupn"], r"'coupn'.*did you mean 'coupon'"),
        (["--map", "holdout"], r"--map 'holdout' is not OLD=NEW"),
    ],
    ids=["unmapped arm", "mapped to a typo", "bad --map"],
)
def test_import_refuses_arms_that_are_not_the_spec_variants(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    folder = imported_experiment(tmp_path)
    capsys.readouterr()
    args = ["import", str(folder), str(folder / "export.parquet"), "--id-col", "cust", "--variant-col", "arm"]
    code = main([*args, *extra])
    assert code == EXIT_INPUT
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and re.search(message, err), err
    assert not (folder / "assignment.parquet").exists()


def test_import_a_split_that_does_not_match_the_weights_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = imported_experiment(tmp_path)
    arms = ["holdout"] * 500 + ["coupon"] * 250 + ["personal"] * 250  # spec: 0.2 / 0.4 / 0.4
    pd.DataFrame({"id": range(1000), "arm": arms}).to_csv(folder / "skewed.csv", index=False)
    capsys.readouterr()
    args = ["import", str(folder), str(folder / "skewed.csv"), "--id-col", "id", "--variant-col", "arm"]
    assert main(args) == EXIT_OK
    out = capsys.readouterr().out
    assert "MISMATCH against the spec's weights" in out and "check [variants] weights" in out


class FakeValidation:
    """Stands in for abkit.workflow.validate_experiment's result (branch "data"): the same contract."""

    def __init__(self, rows: list[tuple[str, bool, str]], error: Exception | None = None) -> None:
        self.rows = rows
        self.problems = (error,) if error else ()
        self.ok = error is None
        self.calls: list[dict[str, object]] = []

    def to_pandas(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=["check", "ok", "detail"])

    def raise_for_problems(self) -> None:
        if self.problems:
            raise self.problems[0]


def fake_validate(monkeypatch: pytest.MonkeyPatch, validation: FakeValidation) -> list[dict[str, object]]:
    import abkit.workflow

    calls: list[dict[str, object]] = []

    def validate_experiment(
        experiment: object, *, as_of: object = None, command: str = "report"
    ) -> FakeValidation:
        calls.append({"experiment": experiment, "as_of": as_of, "command": command})
        return validation

    monkeypatch.setattr(abkit.workflow, "validate_experiment", validate_experiment, raising=False)
    return calls


def test_validate_prints_one_line_per_check_and_exits_0_or_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from abkit.errors import DataError

    good = FakeValidation([("spec", True, "experiment.toml read"), ("outcomes", True, "64,000 rows")])
    calls = fake_validate(monkeypatch, good)
    assert main(["validate", str(tmp_path), "--as-of", "2026-06-20"]) == EXIT_OK
    assert capsys.readouterr().out.splitlines() == [
        "✓ spec: experiment.toml read",
        "✓ outcomes: 64,000 rows",
        "ok: 2 checks passed",
    ]
    assert calls == [{"experiment": tmp_path, "as_of": "2026-06-20", "command": "report"}]

    bad = FakeValidation(
        [("spec", True, "read"), ("ids join the assignment", False, "12.0% of outcome ids are not assigned")],
        DataError("outcomes: 12.0% of ids are not in the assignment"),
    )
    fake_validate(monkeypatch, bad)
    assert main(["validate", str(tmp_path), "--for", "assign"]) == EXIT_INPUT
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "✗ ids join the assignment: 12.0% of outcome ids are not assigned"
    assert lines[-1] == "1 problem in 2 checks; fix the first one above"


def test_report_validates_first_and_bad_input_exits_1_before_any_kernel(
    demo_experiment: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import abkit.report
    from abkit.errors import SpecError

    problem = SpecError("experiment.toml, line 40: variants.coupon.weight: 0.5, the assignment's 0.4")
    calls = fake_validate(monkeypatch, FakeValidation([("weights", False, str(problem))], problem))

    def no_kernel(*args: object, **kwargs: object) -> None:
        raise AssertionError("the notebook must not start on bad input")

    monkeypatch.setattr(abkit.report, "run_notebook", no_kernel)
    assert main(["report", str(demo_experiment), "--as-of", "2026-06-20"]) == EXIT_INPUT
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"abkit report: {problem}"
    assert calls[0]["command"] == "report" and str(calls[0]["as_of"]) == "2026-06-20"
    assert not (demo_experiment / "reports").exists()


def test_max_lag_days_overrides_the_spec_and_reaches_the_notebook(
    demo_experiment: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import abkit.report
    from abkit.errors import NotebookError

    fake_validate(monkeypatch, FakeValidation([("spec", True, "read")]))
    seen: list[dict[str, object]] = []

    def capture(notebook: object, output: object, parameters: dict[str, object], **kwargs: object) -> None:
        seen.append(dict(parameters))
        raise NotebookError("stopped after the parameters were seen")

    monkeypatch.setattr(abkit.report, "run_notebook", capture)
    spec = demo_experiment / "experiment.toml"
    text = spec.read_text(encoding="utf-8")
    spec.write_text(text.replace("[report]\n", "[report]\nmax_data_lag_days = 9\n"), encoding="utf-8")
    report = ["report", str(demo_experiment), "--as-of", "2026-06-20"]
    assert main(report) == EXIT_NOTEBOOK
    assert main([*report, "--max-lag-days", "0"]) == EXIT_NOTEBOOK
    assert [p["max_data_lag_days"] for p in seen] == [9, 0]
    with pytest.raises(SystemExit) as usage:
        main(["report", str(demo_experiment), "--max-lag-days", "-1"])
    assert usage.value.code == 2 and "whole number of days" in capsys.readouterr().err


def test_init_works_in_an_empty_folder(tmp_path: Path) -> None:
    out = run("init", "spring", cwd=tmp_path)
    assert out.returncode == EXIT_OK, out.stderr
    assert (tmp_path / "experiments" / "spring" / "experiment.toml").exists()


# ------------------------------------------------------------------ unattended runs a scheduler can trust
HOLD_LOCK = """\
import sys, time
from abkit._io import experiment_lock
with experiment_lock(sys.argv[1], name="winback-demo"):
    print("locked", flush=True)
    time.sleep(120)
"""


def test_a_second_run_on_a_locked_experiment_exits_1_naming_it(demo_experiment: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(demo_experiment)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        for args in (("report", "--as-of", "2026-06-20"), ("assign", "--force")):
            out = run(args[0], str(demo_experiment), *args[1:])
            assert out.returncode == EXIT_INPUT, out.stderr
            lines = out.stderr.strip().splitlines()
            assert "another abkit run holds its lock" in lines[-1] and "'winback-demo'" in lines[-1]
            assert "Traceback" not in out.stderr
        assert not (demo_experiment / "reports").exists()
    finally:
        holder.kill()
        holder.wait()
    assert run("report", str(demo_experiment), "--as-of", "2026-06-20").returncode == EXIT_OK


def _edit(folder: Path, old: str, new: str) -> None:
    spec = folder / "experiment.toml"
    text = spec.read_text(encoding="utf-8")
    assert old in text
    spec.write_text(text.replace(old, new, 1), encoding="utf-8")


def _mixed_offsets(folder: Path) -> None:
    path = folder / "data" / "transactions.parquet"
    tx = pd.read_parquet(path)
    stamps = tx["order_date"].dt.strftime("%Y-%m-%dT%H:%M:%S")
    tx["order_date"] = stamps + ["+02:00" if i % 2 else "+05:00" for i in range(len(tx))]
    tx.to_parquet(path)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("demo into a file", r"is a file, not a folder"),
        ("over-long name", r"not a valid experiment name; use up to 64"),
        ("year 9999", r"9999-12-01 is outside the years"),
        ("mixed time-zone offsets", r"mixes time-zone offsets"),
        ("as-of before the send date", r"before the send date 2026-06-01"),
        ("as-of in the future", r"is in the future"),
        ("timeout zero", r"--timeout"),
    ],
)
def test_bad_input_exits_1_with_one_line_never_3_or_4(demo_experiment: Path, case: str, message: str) -> None:
    folder = str(demo_experiment)
    if case == "demo into a file":
        target = demo_experiment.parent / "notes.txt"
        target.write_text("mine")
        args: tuple[str, ...] = ("demo", str(target), "--customers", "2000")
    elif case == "over-long name":
        args = ("init", "a" * 300, "--parent", str(demo_experiment.parent))
    elif case == "year 9999":
        _edit(demo_experiment, "send_date = 2026-06-01", "send_date = 9999-12-01")
        _edit(demo_experiment, "planned_end = 2026-06-15", "planned_end = 9999-12-31")
        args = ("assign", folder, "--force")
    elif case == "mixed time-zone offsets":
        _mixed_offsets(demo_experiment)
        args = ("assign", folder, "--force")
    elif case == "as-of before the send date":
        args = ("report", folder, "--as-of", "2026-05-20")
    elif case == "as-of in the future":
        args = ("report", folder, "--as-of", "2999-01-01")
    else:
        args = ("report", folder, "--as-of", "2026-06-20", "--timeout", "0")
    out = run(*args)
    assert out.returncode == EXIT_INPUT, out.stderr
    lines = [line for line in out.stderr.splitlines() if not line.startswith("abkit: running")]
    assert len(lines) == 1 and re.search(message, lines[0]), out.stderr
    assert "force=True" not in lines[0] and "overwrite=True" not in lines[0]  # CLI flags, not arguments


def test_init_refuses_a_name_ending_in_a_newline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "spring\n", "--parent", str(tmp_path)]) == EXIT_INPUT
    assert not list(tmp_path.iterdir())
    assert "not a valid experiment name" in capsys.readouterr().err


def test_messages_name_cli_flags(demo_experiment: Path) -> None:
    out = run("assign", str(demo_experiment))
    assert out.returncode == EXIT_INPUT
    assert "--force" in out.stderr and "force=True" not in out.stderr and "overwrite=True" not in out.stderr


FAST_CLI = """\
import sys
from pathlib import Path
import nbformat
import abkit.report
from abkit.cli import main

nb = nbformat.v4.new_notebook()
params = nbformat.v4.new_code_cell(
    'experiment_dir = ""\\nas_of = ""\\nmethod = ""\\nmax_data_lag_days = 2\\noutput_dir = ""'
)
params.metadata["tags"] = ["parameters"]
nb.cells = [params, nbformat.v4.new_code_cell(sys.argv[1])]
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
path = Path(sys.argv[2]) / "fast.ipynb"
nbformat.write(nb, str(path))
abkit.report.notebook_path = lambda name: path
sys.exit(main(sys.argv[3:]))
"""


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("import time\ntime.sleep(30)", "a cell ran longer than the 2-second timeout"),
        ("raise RuntimeError('the events table is empty')", "RuntimeError: the events table is empty"),
    ],
    ids=["timeout", "exception"],
)
def test_notebook_failures_are_one_clean_line(
    demo_experiment: Path, tmp_path: Path, cell: str, reason: str
) -> None:
    args = ["report", str(demo_experiment), "--as-of", "2026-06-20", "--timeout", "1.5"]
    out = subprocess.run(
        [sys.executable, "-c", FAST_CLI, cell, str(tmp_path), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == EXIT_NOTEBOOK, out.stderr
    lines = [line for line in out.stderr.splitlines() if not line.startswith("abkit: running")]
    assert len(lines) == 1 and reason in lines[0] and "nothing was published" in lines[0], out.stderr
    for noise in ("IPKernelApp", "KeyboardInterrupt", "Traceback", "ZMQ", "CellTimeoutError"):
        assert noise not in out.stderr


def test_debug_keeps_the_documented_exit_codes(
    demo_experiment: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import abkit.cli

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(abkit.cli, "plan_experiment", broken)
    assert main(["--debug", "plan", str(demo_experiment)]) == 4
    err = capsys.readouterr().err
    assert "Traceback" in err and err.strip().splitlines()[-1].startswith("abkit plan: internal error")
    assert main(["--debug", "report", str(demo_experiment), "--as-of", "2026-05-01"]) == EXIT_INPUT
    assert "Traceback" in capsys.readouterr().err
    out = subprocess.run(
        [sys.executable, "-c", FAST_CLI, "raise RuntimeError('broken cell')", str(tmp_path),
         "--debug", "report", str(demo_experiment), "--as-of", "2026-06-20"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert out.returncode == EXIT_NOTEBOOK and "Traceback" in out.stderr, out.stderr


# ------------------------------------------------------------- global options and logging (issue 14)
@pytest.mark.parametrize("where", ["before", "after"])
def test_verbose_and_quiet_work_before_or_after_the_command(
    demo_experiment: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    def call(flag: str) -> tuple[int, list[str]]:
        verb = ["report", str(demo_experiment), "--as-of", "June 20th"]
        code = main([flag, *verb] if where == "before" else [*verb, flag])
        return code, capsys.readouterr().err.strip().splitlines()

    code, lines = call("-v")  # INFO: what is being done, then the one error line
    assert code == EXIT_INPUT and len(lines) == 2
    assert lines[0].startswith("abkit report: running the report notebook for ")
    assert lines[1].startswith("abkit report: as_of='June 20th' is not a date")
    for flag in ("-q", "--quiet"):  # errors only: the error line stays, exactly as without flags
        code, lines = call(flag)
        assert code == EXIT_INPUT and len(lines) == 1 and "is not a date" in lines[0]
    assert call("--verbose")[1][0].startswith("abkit report: running")
    code, lines = main(["report", str(demo_experiment), "--as-of", "June 20th"]), capsys.readouterr().err
    assert code == EXIT_INPUT and lines.count("\n") == 1  # default WARNING: no progress line


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_works_before_or_after_the_command(
    demo_experiment: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    import abkit.cli

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(abkit.cli, "plan_experiment", broken)
    verb = ["plan", str(demo_experiment)]
    assert main(["--debug", *verb] if where == "before" else [*verb, "--debug"]) == 4
    err = capsys.readouterr().err
    assert "Traceback" in err and err.strip().splitlines()[-1].startswith("abkit plan: internal error")
    debug = ["--debug"] if where == "after" else []
    assert main(["init", "bad name!", "--parent", str(demo_experiment), *debug]) == EXIT_INPUT
    assert ("Traceback" in capsys.readouterr().err) == (where == "after")


def test_global_options_after_every_command_are_accepted() -> None:
    from abkit.cli import build_parser, log_level

    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert {"init", "plan", "assign", "report", "import", "validate", "demo", "status"} <= set(commands)
    for name, sub in commands.items():
        needed = [a for a in sub._actions if a.required or (a.nargs is None and not a.option_strings)]
        argv = [name, *(["X"] * len([a for a in needed if not a.option_strings]))]
        argv += [x for a in needed if a.option_strings for x in (a.option_strings[0], "ship")]
        assert log_level(parser.parse_args([*argv, "-vv"])) == 10, name
        assert log_level(parser.parse_args([*argv, "-q"])) == 40, name
        assert parser.parse_args([*argv, "--debug"]).debug is True, name


def test_demo_shows_its_progress_by_default_and_q_silences_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import abkit.demo

    class Run:
        html = Path("reports/demo.html")

    monkeypatch.setattr(abkit.demo, "run_report", lambda *a, **k: Run())  # the notebook is tested elsewhere
    folder = str(tmp_path / "demo")
    assert main(["demo", folder, "--customers", "2000", "--seed", "1"]) == EXIT_OK
    out, err = capsys.readouterr()
    assert out.strip() == str(Path("reports/demo.html"))
    lines = err.splitlines()
    assert lines[0] == "abkit demo: generating 2,000 synthetic customers (seed 1) ..."
    assert "abkit demo: plan for winback-demo (what each comparison can detect):" in lines
    assert lines[-1].startswith("abkit demo: running the report as of ")
    assert main(["demo", folder, "--customers", "2000", "--force", "-q"]) == EXIT_OK
    assert capsys.readouterr().err == ""
    assert main(["-q", "demo", folder, "--customers", "2000"]) == EXIT_OK
    assert capsys.readouterr().err == ""


def test_python_dash_m_abkit_takes_options_after_the_command(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "abkit", "init", "bad name!", "--parent", str(tmp_path), "-q", "--debug"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert out.returncode == EXIT_INPUT and "Traceback" in out.stderr
    assert out.stderr.strip().splitlines()[-1].startswith("abkit init: ")


# ------------------------------------------------------------------------------ abkit target (issue 15)
def _target(folder: Path, *extra: str) -> int:
    return main(["target", str(folder), "--n-boot", "20", *extra])


def test_target_publishes_plan_json_and_report_deterministically(
    demo_experiment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    assert _target(demo_experiment) == EXIT_OK
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(("Send ", "Contact nobody"))
    assert re.search(r"\$[\d,]+ per 1,000 customers", out[0]), out[0]  # the demo's [report] currency = "USD"
    assert out[1] == f"plan: {demo_experiment}/targeting/plan.json"
    folder = demo_experiment / "targeting"
    assert sorted(p.name for p in folder.iterdir()) == ["plan.html", "plan.json"]
    assert not [p.name for p in demo_experiment.iterdir() if p.name.startswith(".targeting")]
    doc = json.loads((folder / "plan.json").read_text(encoding="utf-8"))
    assert doc["schema"] == "abkit.targeting/1" and doc["cells"] == ["segment"]
    assert doc["currency"] == "USD" and "$" in doc["summary"][0]
    assert "per 1,000 customers over no contact (95% interval $" in (folder / "plan.html").read_text("utf-8")
    assert {r["policy"] for r in doc["value"]} == {"plan", "best", "none"}
    columns = {"per_1000", "ci_low", "ci_high", "vs_best", "vs_best_ci_low", "vs_best_ci_high"}
    assert set(doc["value"][0]) >= columns
    assert doc["adopt"] is (doc["recommended"] == "plan") and doc["best_arm"] in doc["arms"]
    assert doc["method"] == "shrunk" and doc["seed"] == 0
    assert set(doc["weights"]) == set(doc["chosen"]) == {r["key"] for r in doc["table"]}
    for weights in doc["weights"].values():
        assert abs(sum(weights.values()) - 1) < 1e-9
    page = (folder / "plan.html").read_text(encoding="utf-8")
    assert "<html lang='en'>" in page and "<script" not in page and "http" not in page
    assert page.index(doc["summary"][0].split(":")[0]) < page.index("<table") < page.index("<img alt=")
    assert "AIPW" in page and "Paule" in page and "bootstrap" in page and "Traceback" not in page
    first = (folder / "plan.json").read_bytes(), (folder / "plan.html").read_bytes()
    assert _target(demo_experiment) == EXIT_INPUT  # never replaced without --force
    assert "--force" in capsys.readouterr().err
    assert _target(demo_experiment, "--force") == EXIT_OK
    assert ((folder / "plan.json").read_bytes(), (folder / "plan.html").read_bytes()) == first


def test_target_in_japanese_with_a_budget_and_two_cell_columns(
    demo_experiment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    args = ["--lang", "ja", "--cells", "segment", "r_score", "--budget-contacts", "3000", "--seed", "3"]
    assert _target(demo_experiment, *args) == EXIT_OK
    doc = json.loads((demo_experiment / "targeting" / "plan.json").read_text(encoding="utf-8"))
    assert doc["cells"] == ["segment", "r_score"] and doc["seed"] == 3
    assert doc["budget"] == {"contacts": 3000.0}
    page = (demo_experiment / "targeting" / "plan.html").read_text(encoding="utf-8")
    assert "<html lang='ja'>" in page and "増分利益" in page and "ホールドアウト" in page


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["--explore", "1.5"], EXIT_INPUT, "--explore"),
        (["--explore", "0.6", "--holdout", "0.5"], EXIT_INPUT, "--explore + --holdout"),
        (["--budget-spend", "-1"], EXIT_INPUT, "--budget-spend"),
        (["--cells", "no_such_column"], EXIT_INPUT, "no_such_column"),
        (["--method", "dr"], EXIT_INPUT, "[targeting] features"),
        (["--features", "recency_days"], EXIT_INPUT, "--method dr"),
        (["--method", "magic"], 2, "invalid choice"),
        (["--budget-contacts", "10", "--budget-spend", "5"], 2, "not allowed with"),
        (["--explore", "lots"], 2, "invalid float"),
    ],
)
def test_target_bad_flags_exit_1_with_one_line_or_2_for_usage(
    demo_experiment: Path, capsys: pytest.CaptureFixture[str], args: list[str], code: int, words: str
) -> None:
    if code == 2:
        with pytest.raises(SystemExit) as exc:
            _target(demo_experiment, *args)
        assert exc.value.code == 2
    else:
        assert _target(demo_experiment, *args) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert words in err[-1] and (code == 2 or len(err) == 1)
    assert not (demo_experiment / "targeting").exists()


def test_target_needs_a_margin(demo_experiment: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = demo_experiment / "experiment.toml"
    spec.write_text(re.sub(r"(?m)^gross_margin = .*\n", "", spec.read_text()))
    assert _target(demo_experiment) == EXIT_INPUT
    assert "analysis.gross_margin" in capsys.readouterr().err


def test_init_targeted_round_trip_then_assign_by_cell_weights(
    demo_experiment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from abkit.assignment import load_assignment
    from abkit.experiment import Experiment

    assert _target(demo_experiment) == EXIT_OK
    doc = json.loads((demo_experiment / "targeting" / "plan.json").read_text(encoding="utf-8"))
    parent = demo_experiment.parent
    argv = ["init", "next", "--parent", str(parent), "--from", str(demo_experiment), "--targeted"]
    assert main([*argv, "--send-date", "2026-09-01"]) == EXIT_OK
    nxt = Experiment.load(parent / "next")
    assert nxt.targeting is not None and list(nxt.targeting.cells) == doc["cells"]
    assert {k: dict(v) for k, v in nxt.targeting.weights.items()} == doc["weights"]
    assert set(nxt.variant_names) == set(doc["arms"])
    assert Experiment.from_toml(nxt.to_toml(), path=nxt.path) == nxt
    capsys.readouterr()
    assert main(["assign", str(parent / "next")]) == EXIT_OK
    assert "matches the planned weights" in capsys.readouterr().out
    frame, meta = load_assignment(parent / "next" / "assignment.parquet")
    assert meta["targeting"]["weights"] == doc["weights"] and meta["targeting"]["cells"] == doc["cells"]
    for key, weights in doc["weights"].items():
        rows = frame[frame["segment"] == key]
        for arm, w in weights.items():
            got = rows.loc[rows["variant"] == arm, "propensity"]
            assert got.tolist() == pytest.approx([w] * len(got))
            assert abs(len(got) - w * len(rows)) <= 1  # block design: exact counts per cell


def test_report_of_a_targeted_wave_weights_rows_that_mix_cells(
    demo_experiment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Cells (segment x r_score) finer than the report's segments: rows mixing cells are weighted."""
    from abkit.workflow import analyse

    assert _target(demo_experiment, "--cells", "segment", "r_score") == EXIT_OK
    parent = demo_experiment.parent
    argv = ["init", "wave2", "--parent", str(parent), "--from", str(demo_experiment), "--targeted"]
    assert main([*argv, "--send-date", "2026-06-01"]) == EXIT_OK  # the demo's events cover this window
    spec = parent / "wave2" / "experiment.toml"
    text = spec.read_text(encoding="utf-8")
    assert "[targeting]" in text
    # per-cell weights that differ within each segment (the plan may have kept one arm per segment)
    cells = [f"{s}|{r}" for s in ("high_frequency", "high_value", "one_time", "other") for r in range(1, 6)]
    tables = "".join(
        f'\n[targeting.weights."{c}"]\nholdout = 0.2\ncoupon = {0.7 if int(c[-1]) > 2 else 0.1}\n'
        f"personal = {0.1 if int(c[-1]) > 2 else 0.6}\nreminder = 0.1\n"
        for c in cells
    )
    head = text[: text.index("[targeting]")]
    spec.write_text(head + '[targeting]\ncells = ["segment", "r_score"]\n' + tables, encoding="utf-8")
    assert main(["assign", str(parent / "wave2")]) == EXIT_OK
    table = analyse(parent / "wave2").evaluation.table
    pooled = table[(table["segment"] == "all") & (table["metric"] == "repurchased")]
    assert pooled["method"].str.contains("Hájek").all()
    assert pooled["convention"].str.contains("inverse-propensity weighted").all()
    capsys.readouterr()
    assert main(["report", str(parent / "wave2")]) == EXIT_OK
    out = capsys.readouterr()
    assert "Traceback" not in out.err and "Warning" not in out.err
    html = next((parent / "wave2" / "reports").rglob("*.html")).read_text(encoding="utf-8")
    assert "Targeted wave: each customer" in html and "Hájek" in html
    # the profit rows of the economics table are weighted too
    readout = analyse(parent / "wave2")
    assert readout.economics["method"].str.contains("Hájek").any()
    # a Bayesian reading is not weighted, and its methods appendix says so (en and ja)
    bayes = analyse(parent / "wave2", method="bayesian")
    assert "Targeted wave read with the Bayesian method" in " ".join(rv.methods(bayes))
    assert "ベイズ法" in " ".join(rv.methods(bayes, "ja"))
    assert "Bayesian method" not in " ".join(rv.methods(readout))


def test_init_targeted_without_a_plan_or_without_from_exits_1(
    demo_experiment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parent = demo_experiment.parent
    assert main(["init", "n2", "--parent", str(parent), "--from", str(demo_experiment), "--targeted"]) == 1
    assert "abkit target" in capsys.readouterr().err
    assert main(["init", "n3", "--parent", str(parent), "--targeted"]) == EXIT_INPUT
    assert "--from" in capsys.readouterr().err
    assert not (parent / "n2").exists() and not (parent / "n3").exists()
