"""Tests for abkit.report: papermill execution, failure handling and atomic publishing."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

from abkit.errors import FileExistsAbkitError, NotebookError, ParameterError
from abkit.report import notebook_parameters, notebook_path, render_html, run_notebook


def _notebook(path: Path, *cells: str, parameters: str = "x = 1\nmessage = 'hi'") -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(parameters)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, *[nbformat.v4.new_code_cell(c) for c in cells]]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))
    return path


def test_shipped_notebooks_are_package_data_and_declare_parameters() -> None:
    for name in ("report", "design"):
        path = notebook_path(name)
        assert path.is_file()
        assert "experiment_dir" in notebook_parameters(path)
    with pytest.raises(ParameterError, match="notebook='summary' is not known"):
        notebook_path("summary")


def test_top_level_notebooks_are_the_packaged_ones() -> None:
    # one source of truth: notebooks/ links to the files shipped inside the package
    top = Path(__file__).resolve().parents[1] / "notebooks"
    for name in ("report", "design"):
        assert (top / f"{name}.ipynb").resolve() == notebook_path(name).resolve()


def test_run_notebook_injects_parameters_and_publishes(tmp_path: Path) -> None:
    nb = _notebook(tmp_path / "in.ipynb", "print(x * 2, message)")
    out = run_notebook(nb, tmp_path / "out" / "done.ipynb", {"x": 21})
    executed = nbformat.read(str(out), as_version=4)
    texts = [o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert "42 hi\n" in texts
    html = render_html(out)
    assert "42 hi" in html
    assert "print(x * 2" not in html  # no code cells in the HTML


def test_unknown_parameter_is_refused_before_running(tmp_path: Path) -> None:
    nb = _notebook(tmp_path / "in.ipynb", "print(x)")
    with pytest.raises(NotebookError, match=r"parameter\(s\) 'y' are not declared by in.ipynb"):
        run_notebook(nb, tmp_path / "out.ipynb", {"y": 2})
    assert not (tmp_path / "out.ipynb").exists()


def test_failing_cell_keeps_failed_notebook_and_publishes_nothing(tmp_path: Path) -> None:
    nb = _notebook(tmp_path / "in.ipynb", "raise RuntimeError('data source is empty')")
    with pytest.raises(NotebookError, match="RuntimeError: data source is empty"):
        run_notebook(nb, tmp_path / "out.ipynb", {})
    assert not (tmp_path / "out.ipynb").exists()
    assert (tmp_path / "out.failed.ipynb").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left over


def test_timeout_is_a_failure(tmp_path: Path) -> None:
    nb = _notebook(tmp_path / "in.ipynb", "import time\ntime.sleep(30)")
    with pytest.raises(NotebookError, match=r"in\.ipynb failed"):
        run_notebook(nb, tmp_path / "out.ipynb", {}, timeout=2)
    assert not (tmp_path / "out.ipynb").exists()


def test_dead_kernel_is_a_failure(tmp_path: Path) -> None:
    nb = _notebook(tmp_path / "in.ipynb", "import os\nos._exit(1)")
    with pytest.raises(NotebookError, match=r"in\.ipynb failed"):
        run_notebook(nb, tmp_path / "out.ipynb", {}, timeout=60)
    assert not (tmp_path / "out.ipynb").exists()


def test_timeout_must_be_positive(tmp_path: Path) -> None:
    nb = _notebook(tmp_path / "in.ipynb", "pass")
    with pytest.raises(ParameterError, match="timeout must be a positive number"):
        run_notebook(nb, tmp_path / "out.ipynb", {}, timeout=0)


# ------------------------------------------------------------------ the shipped notebooks, end to end
def test_report_publishes_html_without_code_and_with_figures(demo_experiment: Path) -> None:
    from abkit.report import run_report

    run = run_report(demo_experiment, as_of="2026-06-20", method="bayesian")
    folder = demo_experiment / "reports" / "winback-demo-2026-06-20"
    assert run.folder == folder and run.html == folder / "winback-demo-2026-06-20.html"
    assert run.notebook == folder / "winback-demo-2026-06-20.ipynb" and run.notebook.exists()
    assert set(run.files) >= {run.html, run.notebook} and all(p.parent == folder for p in run.files)
    assert sorted(p.name for p in (demo_experiment / "reports").iterdir()) == [folder.name]
    html = run.html.read_text(encoding="utf-8")
    assert html.count("<img") >= 3  # balance, funnel and forest plots, embedded
    assert "readout = analyse(" not in html and "validate_parameters(" not in html  # no code cells
    for section in ("Data health", "Funnel per variant", "Results", "Economics", "Decision per segment"):
        assert section in html
    assert "Beta(1, 1)" in html  # the prior is named
    assert "Pearson chi-square" in html
    assert "winback-demo-2026-06-20" in repr(run)


def test_design_notebook_runs_statically_under_papermill(demo_experiment: Path, tmp_path: Path) -> None:
    out = run_notebook(
        notebook_path("design"),
        tmp_path / "design.ipynb",
        {"experiment_dir": str(demo_experiment), "interactive": False},
        cwd=demo_experiment,
    )
    html = render_html(out)
    assert "<img" in html
    assert "Power per comparison for a grid of pool sizes and lifts" in html
    assert "Detectable lift per comparison" in html


def test_report_refuses_undeclared_and_mistyped_parameters(demo_experiment: Path) -> None:
    from abkit.report import run_report

    with pytest.raises(NotebookError, match=r"'colour' are not declared"):
        run_report(demo_experiment, as_of="2026-06-20", extra_parameters={"colour": "red"})
    with pytest.raises(NotebookError, match=r"max_data_lag_days='two' must be of type int"):
        run_report(demo_experiment, as_of="2026-06-20", extra_parameters={"max_data_lag_days": "two"})
    reports = demo_experiment / "reports"
    assert not list(reports.rglob("*.html"))


def test_validate_parameters_names_the_problem() -> None:
    from abkit.report import validate_parameters

    good = {
        "experiment_dir": "x",
        "as_of": "",
        "method": "",
        "max_data_lag_days": 2,
        "output_dir": "",
        "language": "",
    }
    assert validate_parameters("report", good) == good
    assert validate_parameters("report", {**good, "output_dir": "/tmp/x"})["output_dir"] == "/tmp/x"
    with pytest.raises(ParameterError, match="output_dir=3 must be of type str"):
        validate_parameters("report", {**good, "output_dir": 3})
    with pytest.raises(ParameterError, match="method='magic' is not known"):
        validate_parameters("report", {**good, "method": "magic"})
    with pytest.raises(ParameterError, match="'extra' are not declared"):
        validate_parameters("report", {**good, "extra": 1})
    with pytest.raises(ParameterError, match="parameter 'as_of' of the report notebook is missing"):
        validate_parameters("report", {k: v for k, v in good.items() if k != "as_of"})
    with pytest.raises(ParameterError, match="experiment_dir is empty"):
        validate_parameters("report", {**good, "experiment_dir": ""})
    with pytest.raises(ParameterError, match="interactive=1 must be of type bool"):
        validate_parameters("design", {"experiment_dir": "x", "baseline": 0.0, "interactive": 1})


# ------------------------------------------------------------- publishing a report as one unit
FAST_REPORT = """\
import json, pathlib, time
out = pathlib.Path(output_dir)
name = pathlib.Path(experiment_dir).name
(out / f"{name}-{as_of}.json").write_text(json.dumps({"as_of": as_of, "tag": tag}))
time.sleep(pause)
if fail:
    raise RuntimeError("the data is not there")
print("report for", as_of)
"""
FAST_PARAMETERS = (
    'experiment_dir = ""\nas_of = ""\nmethod = ""\nmax_data_lag_days = 2\noutput_dir = ""\n'
    'tag = ""\npause = 0.0\nfail = False'
)


@pytest.fixture
def fast_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A quick stand-in for the report notebook: writes NAME-DATE.json into output_dir."""
    import abkit.report

    nb = _notebook(tmp_path / "fast.ipynb", FAST_REPORT, parameters=FAST_PARAMETERS)
    monkeypatch.setattr(abkit.report, "notebook_path", lambda name: nb)
    return nb


def _published(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_a_report_is_one_dated_folder_with_every_file_the_notebook_wrote(
    demo_experiment: Path, fast_report: Path
) -> None:
    from abkit.report import run_report

    old = os.umask(0o022)
    try:
        run = run_report(demo_experiment, as_of="2026-06-20", extra_parameters={"tag": "first"})
    finally:
        os.umask(old)
    stem = "winback-demo-2026-06-20"
    assert run.folder == demo_experiment / "reports" / stem
    assert [p.name for p in run.files] == [f"{stem}.html", f"{stem}.ipynb", f"{stem}.json"]
    assert run.html.parent == run.notebook.parent == run.folder
    assert sorted(p.name for p in run.folder.parent.iterdir()) == [stem]  # nothing else, nothing hidden
    for path in (run.folder, *run.files):  # readable by a web server: the umask, not 0600
        assert path.stat().st_mode & 0o777 == (0o755 if path.is_dir() else 0o644), path
    with pytest.raises(FileExistsAbkitError, match=r"already exists.*--force"):
        run_report(demo_experiment, as_of="2026-06-20")
    again = run_report(demo_experiment, as_of="2026-06-20", force=True, extra_parameters={"tag": "second"})
    assert b"second" in (again.folder / f"{stem}.json").read_bytes()
    assert sorted(p.name for p in run.folder.parent.iterdir()) == [stem]


@pytest.mark.parametrize("step", ["notebook", "html", "rename in", "rename aside"])
def test_a_failure_at_any_step_publishes_nothing_and_keeps_the_last_report(
    demo_experiment: Path, fast_report: Path, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    import abkit._io
    import abkit.report
    from abkit.report import run_report

    first = run_report(demo_experiment, as_of="2026-06-20", extra_parameters={"tag": "first"})
    before = _published(first.folder)
    extra: dict[str, object] = {"tag": "second"}
    with pytest.MonkeyPatch.context() as patch:
        if step == "notebook":
            extra["fail"] = True
        elif step == "html":

            def full_disk(notebook: object) -> str:
                raise OSError(28, "No space left on device")

            patch.setattr(abkit.report, "render_html", full_disk)
        else:
            real = os.replace
            moves = {"rename aside": 1, "rename in": 2}[step]
            calls: list[str] = []

            def failing(src: object, dst: object) -> None:
                if Path(str(src)).parent == first.folder.parent and Path(str(src)).is_dir():
                    calls.append(str(dst))
                    if len(calls) == moves:
                        raise OSError(28, "No space left on device")
                real(src, dst)

            patch.setattr(abkit._io.os, "replace", failing)
        with pytest.raises((NotebookError, OSError)):
            run_report(demo_experiment, as_of="2026-06-20", force=True, extra_parameters=extra)
    assert _published(first.folder) == before
    reports = first.folder.parent
    leftovers = sorted(p.name for p in reports.iterdir() if p.name != first.folder.name)
    assert leftovers in ([], ["winback-demo-2026-06-20.failed.ipynb"])
    # a retry neither trips over leftovers nor claims a half-made report exists
    run_report(demo_experiment, as_of="2026-06-21", extra_parameters={"tag": "retry"})


KILLABLE = """\
import sys
from pathlib import Path
import abkit.report
abkit.report.notebook_path = lambda name: Path(sys.argv[1])
abkit.report.run_report(sys.argv[2], as_of="2026-06-20", force=True,
                        extra_parameters={"pause": 60.0, "tag": "killed"})
"""


@pytest.mark.parametrize("moment", ["staging folder made", "notebook wrote its files"])
def test_a_killed_report_leaves_no_half_report_and_a_retry_works(
    demo_experiment: Path, fast_report: Path, moment: str
) -> None:
    import signal
    import subprocess
    import sys
    import time

    from abkit.report import run_report

    reports = demo_experiment / "reports"
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLABLE, str(fast_report), str(demo_experiment)],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pattern = ".winback-demo-2026-06-20.*" + ("/*.json" if moment.startswith("notebook") else "")
    try:
        deadline = time.monotonic() + 120
        while not list(reports.glob(pattern)):
            assert proc.poll() is None and time.monotonic() < deadline, "the run ended before the kill"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert list(reports.glob(".winback-demo-2026-06-20.*"))  # what the killed run left behind
    assert not (reports / "winback-demo-2026-06-20").exists()  # and nothing published
    run = run_report(demo_experiment, as_of="2026-06-20", extra_parameters={"tag": "retry"})  # no --force
    assert sorted(p.name for p in reports.iterdir()) == ["winback-demo-2026-06-20"]  # leftovers cleaned
    assert b"retry" in (run.folder / "winback-demo-2026-06-20.json").read_bytes()


def test_stale_temporaries_of_killed_runs_are_removed_under_the_lock(
    demo_experiment: Path, fast_report: Path
) -> None:
    from abkit.report import run_report

    reports = demo_experiment / "reports"
    reports.mkdir()
    (reports / ".winback-demo-2026-06-18.x1y2.ipynb").write_text("{}")  # the old flat layout
    (reports / ".winback-demo-2026-06-19.abcd").mkdir()
    (reports / ".winback-demo-2026-06-19.abcd" / "winback-demo-2026-06-19.json").write_text("{}")
    (reports / "notes.txt").write_text("mine")  # not abkit's: kept
    (demo_experiment / ".abkit-assign-winback-demo.zz").mkdir()
    (demo_experiment / ".assignment.parquet.q1.tmp").write_text("half")
    run_report(demo_experiment, as_of="2026-06-20")
    assert sorted(p.name for p in reports.iterdir()) == ["notes.txt", "winback-demo-2026-06-20"]
    assert not [p for p in demo_experiment.iterdir() if p.name.startswith((".abkit-assign", ".assignment"))]


def test_timeouts_are_rounded_up_and_explained_in_one_line(tmp_path: Path) -> None:
    nb = _notebook(tmp_path / "in.ipynb", "import time\ntime.sleep(30)")
    with pytest.raises(NotebookError) as info:
        run_notebook(nb, tmp_path / "out.ipynb", {}, timeout=1.5)
    message = str(info.value)
    assert "a cell ran longer than the 2-second timeout" in message
    assert "\n" not in message and "CellTimeoutError" not in message
    with pytest.raises(ParameterError, match="timeout must be a positive number"):
        run_notebook(nb, tmp_path / "out.ipynb", {}, timeout=float("nan"))
