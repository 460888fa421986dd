"""Execute abkit's parameterised notebooks with papermill and publish HTML reports atomically.

A report run either publishes a complete ``NAME-DATE.ipynb`` and ``NAME-DATE.html`` pair under
``DIR/reports/`` or publishes nothing: the notebook executes into a temporary file, a failure
(an exception in a cell, a cell running past the timeout, a dead kernel) keeps that notebook as
``NAME-DATE.failed.ipynb`` for debugging and raises :class:`~abkit.errors.NotebookError`, and only
a successful run is renamed into place, the HTML last (so a reader never sees half a report).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from abkit._display import Displayable
from abkit._io import write_text
from abkit._validate import check_date
from abkit.errors import FileExistsAbkitError, NotebookError, ParameterError
from abkit.messages import LANGUAGES
from abkit.report_view import notebook_html

__all__ = [
    "ReportRun",
    "notebook_parameters",
    "notebook_path",
    "render_html",
    "run_notebook",
    "run_report",
    "validate_parameters",
]

NOTEBOOKS = ("report", "design")
KERNEL_NAME = "python3"


def notebook_path(name: str) -> Path:
    """Return the path of a notebook shipped with abkit (``"report"`` or ``"design"``).

    The notebooks are package data, so an installed abkit finds them without a repository checkout.

    >>> notebook_path("report").name
    'report.ipynb'
    """
    if name not in NOTEBOOKS:
        raise ParameterError(f"notebook={name!r} is not known; use one of {', '.join(map(repr, NOTEBOOKS))}")
    path = Path(str(resources.files("abkit") / "notebooks" / f"{name}.ipynb"))
    if not path.is_file():  # pragma: no cover - a broken installation
        raise NotebookError(f"abkit's {name} notebook is missing at {path}; reinstall abkit")
    return path


#: The parameters each shipped notebook declares, with their types (checked in its first cell).
PARAMETERS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "report": {
        "experiment_dir": str,
        "as_of": str,
        "method": str,
        "max_data_lag_days": int,
        "output_dir": str,
        "language": str,
    },
    "design": {"experiment_dir": str, "baseline": (int, float), "interactive": bool},
}


def validate_parameters(notebook: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Check injected notebook parameters: known names, right types, known choices; return them.

    Called in the first code cell of the shipped notebooks, since papermill only warns about
    parameters a notebook does not declare.

    >>> good = {"experiment_dir": "x", "as_of": "", "method": "", "max_data_lag_days": 2,
    ...         "output_dir": "", "language": ""}
    >>> validate_parameters("report", good)["max_data_lag_days"]
    2
    >>> validate_parameters("report", {**good, "as_of": "June"})
    Traceback (most recent call last):
    ...
    abkit.errors.ParameterError: as_of='June' is not a date; write it as YYYY-MM-DD, e.g. 2026-06-15
    """
    schema = PARAMETERS.get(notebook)
    if schema is None:
        raise ParameterError(
            f"notebook={notebook!r} is not known; use one of {', '.join(map(repr, PARAMETERS))}"
        )
    unknown = sorted(set(values) - set(schema))
    if unknown:
        raise ParameterError(
            f"parameter(s) {', '.join(map(repr, unknown))} are not declared by the {notebook} notebook"
        )
    out: dict[str, Any] = {}
    for name, kind in schema.items():
        if name not in values:
            raise ParameterError(f"parameter {name!r} of the {notebook} notebook is missing")
        value = values[name]
        if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
            shown = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise ParameterError(f"parameter {name}={value!r} must be of type {shown}")
        out[name] = value
    if out.get("as_of"):
        check_date("as_of", out["as_of"])
    if out.get("method") not in (None, "", "frequentist", "bayesian"):
        raise ParameterError(
            f"parameter method={out['method']!r} is not known; use 'frequentist' or 'bayesian'"
        )
    if out.get("language") not in (None, "", *LANGUAGES):
        raise ParameterError(
            f"parameter language={out['language']!r} is not available; use one of {', '.join(LANGUAGES)}"
        )
    if "max_data_lag_days" in out and out["max_data_lag_days"] < 0:
        raise ParameterError(f"parameter max_data_lag_days={out['max_data_lag_days']!r} must be 0 or more")
    if "baseline" in out and not 0 <= out["baseline"] < 1:
        raise ParameterError(f"parameter baseline={out['baseline']!r} must be in [0, 1); 0 means the spec's")
    if not out["experiment_dir"]:
        raise ParameterError("parameter experiment_dir is empty; pass the experiment folder")
    return out


def notebook_parameters(path: str | Path) -> dict[str, dict[str, Any]]:
    """Return the parameters a notebook declares in its cell tagged ``parameters``.

    >>> sorted(notebook_parameters(notebook_path("report")))[:2]
    ['as_of', 'experiment_dir']
    """
    import papermill

    return dict(papermill.inspect_notebook(str(path)))


def _check_parameters(path: Path, parameters: Mapping[str, Any]) -> None:
    declared = notebook_parameters(path)
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise NotebookError(
            f"parameter(s) {', '.join(map(repr, unknown))} are not declared by {path.name}; "
            f"it declares: {', '.join(sorted(declared))}"
        )


def render_html(notebook: str | Path) -> str:
    """Render an executed notebook as standalone HTML without code cells or prompts.

    Figures are embedded (base64 PNG), so the HTML file can be mailed or served on its own; it
    loads no script from the network (see :func:`abkit.report_view.notebook_html`).
    """
    return notebook_html(notebook)


def _failure_reason(exc: BaseException) -> str:
    ename = getattr(exc, "ename", None)
    evalue = getattr(exc, "evalue", None)
    if ename:
        return f"{ename}: {evalue}".strip().splitlines()[0]
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[-1] if text else ''}".strip()


def run_notebook(
    notebook: str | Path,
    output: str | Path,
    parameters: Mapping[str, Any],
    *,
    timeout: float = 600,
    kernel_name: str = KERNEL_NAME,
    progress: bool = False,
    cwd: str | Path | None = None,
) -> Path:
    """Execute ``notebook`` with papermill into ``output``; on failure keep ``*.failed.ipynb`` and raise.

    ``timeout`` is papermill's per-cell execution timeout in seconds. The output notebook is
    written atomically: it appears at ``output`` only when every cell succeeded.
    """
    import papermill

    notebook = Path(notebook)
    output = Path(output)
    if not timeout or timeout <= 0:
        raise ParameterError(f"timeout must be a positive number of seconds, got {timeout!r}")
    _check_parameters(notebook, parameters)
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{output.stem}.", suffix=".ipynb", dir=output.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        papermill.execute_notebook(
            str(notebook),
            str(tmp),
            parameters=dict(parameters),
            kernel_name=kernel_name,
            execution_timeout=timeout,
            progress_bar=progress,
            log_output=False,
            cwd=str(cwd) if cwd is not None else None,
            # the kernel's own start-up warnings (e.g. about local TCP) are noise in a scheduled run
            extra_arguments=["--log-level=ERROR"],
        )
    except BaseException as exc:
        failed = output.with_name(f"{output.stem}.failed.ipynb")
        if tmp.exists() and tmp.stat().st_size > 0:
            os.replace(tmp, failed)
            where = f"; the failed notebook is kept at {failed}"
        else:
            tmp.unlink(missing_ok=True)
            where = ""
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise NotebookError(f"{notebook.name} failed: {_failure_reason(exc)}{where}") from exc
    os.replace(tmp, output)
    return output


@dataclass(frozen=True)
class ReportRun(Displayable):
    """The files a successful report run published."""

    experiment: str
    as_of: dt.date
    notebook: Path
    html: Path

    def to_pandas(self) -> Any:
        import pandas as pd

        return pd.DataFrame(
            {"experiment": [self.experiment], "as_of": [self.as_of.isoformat()], "html": [str(self.html)]}
        )

    def _title(self) -> str:
        return f"Report for {self.experiment} as of {self.as_of.isoformat()}"

    def __repr__(self) -> str:
        day = self.as_of.isoformat()
        return f"ReportRun(experiment={self.experiment!r}, as_of={day}, html={str(self.html)!r})"


def run_report(
    experiment_dir: str | Path,
    *,
    as_of: str | dt.date | None = None,
    method: str | None = None,
    timeout: float = 600,
    force: bool = False,
    progress: bool = False,
    kernel_name: str = KERNEL_NAME,
    extra_parameters: Mapping[str, Any] | None = None,
) -> ReportRun:
    """Execute the report notebook for an experiment folder and publish ``reports/NAME-DATE.{ipynb,html}``.

    ``method`` overrides the experiment's analysis method (``"frequentist"`` or ``"bayesian"``).
    An existing report for the same date is kept unless ``force=True``; a failed run publishes
    nothing and raises :class:`~abkit.errors.NotebookError` (the last good report stays in place).

    Example (a folder made by ``abkit demo``)::

        run = abkit.run_report("experiments/winback-demo", as_of="2026-06-15")
        run.html  # experiments/winback-demo/reports/winback-demo-2026-06-15.html
    """
    from abkit.experiment import Experiment

    experiment = Experiment.load(experiment_dir)
    day = check_date("as_of", as_of)
    if method is not None and method not in ("frequentist", "bayesian"):
        raise ParameterError(f"method={method!r} is not known; use 'frequentist' or 'bayesian'")
    folder = Path(experiment.folder)
    reports = folder / "reports"
    stem = f"{experiment.name}-{day.isoformat()}"
    html_path = reports / f"{stem}.html"
    nb_path = reports / f"{stem}.ipynb"
    if not force and (html_path.exists() or nb_path.exists()):
        raise FileExistsAbkitError(
            f"a report for {day.isoformat()} already exists at {html_path}; "
            "pass force=True (--force) to replace it"
        )
    parameters: dict[str, Any] = {"experiment_dir": str(folder.resolve()), "as_of": day.isoformat()}
    if method is not None:
        parameters["method"] = method
    parameters.update(extra_parameters or {})
    reports.mkdir(parents=True, exist_ok=True)
    fd, staged_name = tempfile.mkstemp(prefix=f".{stem}.", suffix=".ipynb", dir=reports)
    os.close(fd)
    staged = Path(staged_name)
    try:
        try:
            run_notebook(
                notebook_path("report"),
                staged,
                parameters,
                timeout=timeout,
                kernel_name=kernel_name,
                progress=progress,
                cwd=folder,
            )
        except NotebookError as err:
            staged_failure = staged.with_name(f"{staged.stem}.failed.ipynb")
            kept = reports / f"{stem}.failed.ipynb"
            if staged_failure.exists():
                os.replace(staged_failure, kept)
            raise NotebookError(
                f"report for {experiment.name} as of {day.isoformat()} failed and nothing was published: "
                + str(err).replace(str(staged_failure), str(kept))
            ) from err
        html = render_html(staged)
        os.replace(staged, nb_path)
        write_text(html_path, html)
    finally:
        staged.unlink(missing_ok=True)
    (reports / f"{stem}.failed.ipynb").unlink(missing_ok=True)
    return ReportRun(experiment=experiment.name, as_of=day, notebook=nb_path, html=html_path)
