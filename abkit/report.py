"""Execute abkit's parameterised notebooks with papermill and publish HTML reports atomically.

A report run either publishes the whole dated folder ``DIR/reports/NAME-DATE/`` or nothing: the
notebook executes in a private staging folder (its ``output_dir`` parameter, where it may write
more files such as ``NAME-DATE.xlsx`` and ``NAME-DATE.json``), the HTML is rendered there, and
the folder is renamed into place in one step. A failure (an exception in a cell, a cell running
past the timeout, a dead kernel) keeps the executed notebook as ``NAME-DATE.failed.ipynb`` for
debugging and raises :class:`~abkit.errors.NotebookError`; the last good report stays in place.
A run holds the experiment's lock (:mod:`abkit.lock`) and removes the leftovers of killed runs.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from abkit import workflow
from abkit._display import Displayable
from abkit._io import make_temp_dir, make_temp_file, replace_dir, write_text
from abkit._validate import check_date
from abkit.engines.postgres import as_relation
from abkit.errors import FileExistsAbkitError, NotebookError, ParameterError
from abkit.experiment import Experiment
from abkit.lock import experiment_locked
from abkit.messages import LANGUAGES
from abkit.report_view import notebook_html

__all__ = [
    "ReportRun",
    "check_as_of",
    "check_timeout",
    "notebook_parameters",
    "notebook_path",
    "publish_notebook",
    "render_html",
    "run_notebook",
    "run_report",
    "validate_parameters",
]

NOTEBOOKS = ("report", "design", "programme")
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
    "programme": {"root": str, "start": str, "end": str, "output_dir": str, "language": str},
}
#: Parameters a caller may leave out (``output_dir``: "" or absent means the notebook writes no files).
OPTIONAL_PARAMETERS: dict[str, frozenset[str]] = {
    "report": frozenset({"output_dir"}),
    "programme": frozenset({"output_dir"}),
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
            if name in OPTIONAL_PARAMETERS.get(notebook, ()):
                continue
            raise ParameterError(f"parameter {name!r} of the {notebook} notebook is missing")
        value = values[name]
        if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
            shown = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise ParameterError(f"parameter {name}={value!r} must be of type {shown}")
        out[name] = value
    for day in ("as_of", "start", "end"):
        if out.get(day):
            check_date(day, out[day])
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
    for folder in ("experiment_dir", "root"):
        if folder in schema and not out[folder]:
            raise ParameterError(f"parameter {folder} is empty; pass the folder")
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


#: The longest per-cell timeout accepted, in seconds (one week).
MAX_TIMEOUT = 7 * 24 * 3600


def check_timeout(timeout: Any) -> int:
    """Return a per-cell timeout in whole seconds (rounded up); refuse what is not a positive number.

    >>> check_timeout(1.5)
    2
    >>> check_timeout(0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    abkit.errors.ParameterError: timeout must be a positive number of seconds (--timeout), ...
    """
    fine = isinstance(timeout, int | float) and not isinstance(timeout, bool)
    if not fine or not 0 < timeout <= MAX_TIMEOUT:  # also refuses NaN
        raise ParameterError(
            f"timeout must be a positive number of seconds (--timeout), at most {MAX_TIMEOUT} "
            f"(a week), got {timeout!r}"
        )
    return math.ceil(timeout)


def _failure_reason(exc: BaseException, timeout: int) -> str:
    kind = type(exc).__name__
    if kind == "CellTimeoutError" or (kind == "TimeoutError" and "execute reply" in str(exc)):
        return f"a cell ran longer than the {timeout}-second timeout (--timeout)"
    if kind == "DeadKernelError":
        return "the notebook's kernel died (out of memory or killed)"
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

    ``timeout`` is the per-cell execution timeout in seconds (rounded up to whole seconds, as
    papermill wants; see :func:`check_timeout`). The output notebook is
    written atomically: it appears at ``output`` only when every cell succeeded.
    """
    import papermill

    notebook = Path(notebook)
    output = Path(output)
    seconds = check_timeout(timeout)
    _check_parameters(notebook, parameters)
    tmp = make_temp_file(output, suffix=".ipynb")
    quiet = logging.getLogger("papermill")  # nbclient logs timeouts there; the reason is raised below
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        papermill.execute_notebook(
            str(notebook),
            str(tmp),
            parameters=dict(parameters),
            kernel_name=kernel_name,
            execution_timeout=seconds,
            progress_bar=progress,
            log_output=False,
            cwd=str(cwd) if cwd is not None else None,
            # the kernel's own log (start-up warnings, "KeyboardInterrupt caught in kernel" when a
            # timeout interrupts it, ZMQ tracebacks at shutdown) is noise: the reason is raised here
            extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
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
        raise NotebookError(f"{notebook.name} failed: {_failure_reason(exc, seconds)}{where}") from exc
    finally:
        quiet.setLevel(level)
    os.replace(tmp, output)
    return output


@dataclass(frozen=True)
class ReportRun(Displayable):
    """The report a successful run published: the dated folder and every file in it.

    ``folder`` is ``DIR/reports/NAME-DATE/``; ``notebook`` and ``html`` point inside it, and
    ``files`` lists everything published with them (e.g. the Excel and JSON exports), sorted.
    """

    experiment: str
    as_of: dt.date
    notebook: Path
    html: Path
    folder: Path
    files: tuple[Path, ...]

    def to_pandas(self) -> Any:
        import pandas as pd

        return pd.DataFrame(
            {
                "experiment": [self.experiment],
                "as_of": [self.as_of.isoformat()],
                "folder": [str(self.folder)],
                "html": [str(self.html)],
                "files": [len(self.files)],
            }
        )

    def _title(self) -> str:
        return f"Report for {self.experiment} as of {self.as_of.isoformat()}"

    def _notes(self) -> list[str]:
        return [f"published in {self.folder}: {', '.join(p.name for p in self.files)}"]

    def __repr__(self) -> str:
        day = self.as_of.isoformat()
        return f"ReportRun(experiment={self.experiment!r}, as_of={day}, html={str(self.html)!r})"


def check_as_of(experiment: Experiment, day: dt.date) -> None:
    """Refuse a report date before the send date or after tomorrow (UTC): there is nothing to report.

    Checked before the notebook starts, so such a date is bad input (exit 1), not a notebook failure.

    >>> import datetime as dt
    >>> from abkit.workflow import demo_spec_text
    >>> check_as_of(Experiment.from_toml(demo_spec_text()), dt.date(2026, 5, 1))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    abkit.errors.ParameterError: as_of=2026-05-01 (--as-of) is before the send date 2026-06-01 of ...
    """
    send = experiment.dates.send_date
    if day < send:
        raise ParameterError(
            f"as_of={day.isoformat()} (--as-of) is before the send date {send.isoformat()} of "
            f"{experiment.name}; nothing to report yet: pass a date on or after the send date"
        )
    latest = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
    if day > latest:
        raise ParameterError(
            f"as_of={day.isoformat()} (--as-of) is in the future (today is "
            f"{(latest - dt.timedelta(days=1)).isoformat()} UTC); pass a date up to today"
        )


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
    max_data_lag_days: int | None = None,
) -> ReportRun:
    """Execute the report notebook for an experiment folder and publish ``reports/NAME-DATE/`` as one unit.

    The notebook executes in a private staging folder ``reports/.NAME-DATE.<random>/``, which it
    receives as the parameter ``output_dir`` (every file it writes there is published with the
    report); the HTML is rendered into it, and the folder is renamed to ``reports/NAME-DATE/``
    (holding ``NAME-DATE.ipynb``, ``NAME-DATE.html`` and the notebook's files) in one step, so a
    reader sees the whole report or none. The run holds the experiment's lock (a concurrent run
    fails at once) and removes the leftovers of killed runs. ``method`` overrides the experiment's
    analysis method (``"frequentist"`` or ``"bayesian"``). An existing report for the same date is
    kept unless ``force=True``; a failed run publishes nothing, keeps the executed notebook as
    ``reports/NAME-DATE.failed.ipynb`` and raises :class:`~abkit.errors.NotebookError` (the last
    good report stays in place).

    Before the notebook starts, :func:`abkit.workflow.validate_experiment` checks the spec and every
    source the report reads: bad input raises its first problem (an :class:`~abkit.errors.AbkitError`,
    exit 1 from the command line) in seconds, without a kernel. ``max_data_lag_days`` overrides the
    spec's ``[report] max_data_lag_days`` (how stale the events may be).

    Example (a folder made by ``abkit demo``)::

        run = abkit.run_report("experiments/winback-demo", as_of="2026-06-15")
        run.html  # experiments/winback-demo/reports/winback-demo-2026-06-15/winback-demo-2026-06-15.html
    """
    experiment = Experiment.load(experiment_dir)
    if experiment.data.engine == "postgres":  # one read-only SELECT or a table name, before any kernel
        as_relation(str(experiment.data.events), "data.events")
    day = check_date("as_of", as_of)
    if method is not None and method not in ("frequentist", "bayesian"):
        raise ParameterError(f"method={method!r} (--method) is not known; use 'frequentist' or 'bayesian'")
    check_as_of(experiment, day)
    check_timeout(timeout)
    if max_data_lag_days is not None and (
        isinstance(max_data_lag_days, bool) or not isinstance(max_data_lag_days, int) or max_data_lag_days < 0
    ):
        raise ParameterError(
            f"max_data_lag_days={max_data_lag_days!r} (--max-lag-days) must be a whole number of days, "
            "0 or more"
        )
    # bad input fails here, in seconds and with its own one-line message, not in a kernel
    workflow.validate_experiment(experiment, as_of=day, command="report").raise_for_problems()
    folder = Path(experiment.folder)
    reports = folder / "reports"
    stem = f"{experiment.name}-{day.isoformat()}"
    target = reports / stem
    with experiment_locked(experiment):
        if not force and (target.exists() or target.is_symlink()):
            raise FileExistsAbkitError(
                f"a report for {day.isoformat()} already exists at {target}; "
                "pass force=True (--force) to replace it"
            )
        staging = make_temp_dir(reports, stem)
        try:
            _execute_report(
                experiment, day, staging, method, timeout, progress, kernel_name, extra_parameters,
                max_data_lag_days,
            )  # fmt: skip
            replace_dir(staging, target, overwrite=force)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        (reports / f"{stem}.failed.ipynb").unlink(missing_ok=True)
    return ReportRun(
        experiment=experiment.name,
        as_of=day,
        notebook=target / f"{stem}.ipynb",
        html=target / f"{stem}.html",
        folder=target,
        files=tuple(sorted(p for p in target.iterdir() if not p.name.startswith("."))),
    )


def _execute_report(
    experiment: Experiment,
    day: dt.date,
    staging: Path,
    method: str | None,
    timeout: float,
    progress: bool,
    kernel_name: str,
    extra_parameters: Mapping[str, Any] | None,
    max_data_lag_days: int | None = None,
) -> None:
    """Execute the report notebook into ``staging`` and render its HTML there; raise on failure."""
    folder = Path(experiment.folder)
    stem = f"{experiment.name}-{day.isoformat()}"
    parameters: dict[str, Any] = {
        "experiment_dir": str(folder.resolve()),
        "as_of": day.isoformat(),
        "output_dir": str(staging.resolve()),
    }
    if method is not None:
        parameters["method"] = method
    parameters["max_data_lag_days"] = (
        experiment.report.max_data_lag_days if max_data_lag_days is None else max_data_lag_days
    )
    parameters.update(extra_parameters or {})
    notebook = staging / f"{stem}.ipynb"
    try:
        run_notebook(
            notebook_path("report"),
            notebook,
            parameters,
            timeout=timeout,
            kernel_name=kernel_name,
            progress=progress,
            cwd=folder,
        )
    except NotebookError as err:
        staged_failure = staging / f"{stem}.failed.ipynb"
        kept = staging.parent / f"{stem}.failed.ipynb"
        if staged_failure.exists():
            os.replace(staged_failure, kept)
        raise NotebookError(
            f"report for {experiment.name} as of {day.isoformat()} failed and nothing was published: "
            + str(err).replace(str(staged_failure), str(kept))
        ) from err
    write_text(staging / f"{stem}.html", render_html(notebook))


def publish_notebook(
    notebook: str,
    parameters: Mapping[str, Any],
    target: str | Path,
    *,
    force: bool = False,
    timeout: float = 600,
    progress: bool = False,
    kernel_name: str = KERNEL_NAME,
    cwd: str | Path | None = None,
) -> tuple[Path, ...]:
    """Execute a shipped notebook and publish the dated folder ``target`` (``.../STEM/``) as one unit.

    The same path as :func:`run_report`, for reports that are not an experiment's (the programme
    report): the notebook runs in a private staging folder beside ``target``, which it receives as
    the parameter ``output_dir``; ``STEM.ipynb``, ``STEM.html`` and every file it writes there are
    renamed into place in one step, or nothing is (a failure keeps ``STEM.failed.ipynb`` beside
    ``target`` and raises :class:`~abkit.errors.NotebookError`). An existing ``target`` is kept
    unless ``force=True``. The caller holds the lock of what it publishes into. Returns the files.
    """
    target = Path(target)
    stem = target.name
    if not force and (target.exists() or target.is_symlink()):
        raise FileExistsAbkitError(
            f"a report already exists at {target}; pass force=True (--force) to replace it"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = make_temp_dir(target.parent, stem)
    kept = target.parent / f"{stem}.failed.ipynb"
    try:
        output = staging / f"{stem}.ipynb"
        values = {**parameters, "output_dir": str(staging.resolve())}
        try:
            run_notebook(
                notebook_path(notebook), output, values, timeout=timeout, kernel_name=kernel_name,
                progress=progress, cwd=cwd,
            )  # fmt: skip
        except NotebookError as err:
            failed = staging / f"{stem}.failed.ipynb"
            if failed.exists():
                os.replace(failed, kept)
            raise NotebookError(
                f"{stem} failed and nothing was published: " + str(err).replace(str(failed), str(kept))
            ) from err
        write_text(staging / f"{stem}.html", render_html(output))
        replace_dir(staging, target, overwrite=force)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    kept.unlink(missing_ok=True)
    return tuple(sorted(p for p in target.iterdir() if not p.name.startswith(".")))
