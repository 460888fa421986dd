"""The tutorial notebook in notebooks/ runs from top to bottom under papermill (small data)."""

from __future__ import annotations

from pathlib import Path

from abkit.report import render_html, run_notebook

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def test_tutorial_runs_and_shows_tables_and_plots(tmp_path: Path) -> None:
    out = run_notebook(
        NOTEBOOKS / "tutorial.ipynb",
        tmp_path / "tutorial.ipynb",
        {"n_customers": 12_000, "seed": 5, "workdir": str(tmp_path / "work")},
        cwd=tmp_path,
        timeout=300,
    )
    html = render_html(out)
    assert html.count("<img") >= 2  # balance love plot and forest plot
    assert "Sample ratio check" in html
    assert "prob_beat_control" in html
    assert (tmp_path / "work" / "assignment.parquet").exists()
    assert (tmp_path / "work" / "send_lists").is_dir()
