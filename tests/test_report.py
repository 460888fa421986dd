"""Tests for abkit.report: papermill execution, failure handling and atomic publishing."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from abkit.errors import NotebookError, ParameterError
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
    assert run.html == demo_experiment / "reports" / "winback-demo-2026-06-20.html"
    assert run.notebook.exists()
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
    assert not list(reports.glob("*.html"))


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
