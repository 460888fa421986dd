"""The synthetic demo end to end: ``abkit demo`` generates, assigns, plans and publishes a report.

This sits above :mod:`abkit.workflow` (which prepares the demo's data) and :mod:`abkit.report`
(which publishes the report), so neither of those needs the other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from abkit._validate import check_date
from abkit.lock import experiment_locked
from abkit.report import ReportRun, run_report
from abkit.result_views import plan_view
from abkit.workflow import demo_say, load_demo, plan_experiment, prepare_demo

__all__ = ["run_demo"]


def run_demo(
    folder: str | Path = "experiments/winback-demo",
    *,
    n_customers: int = 200_000,
    seed: int = 7,
    force: bool = False,
    as_of: str | dt.date | None = None,
    say: Callable[[str], None] | None = None,
    language: str | None = None,
) -> ReportRun:
    """Generate the synthetic demo experiment into ``folder`` (see :func:`prepare_demo`), plan and report it.

    The report is dated ``as_of`` (default: the last day of the attribution window) and replaced on
    every demo run; ``language`` (``"en"``, ``"ja"``) overrides the spec's ``[report] language``.
    Returns the :class:`~abkit.report.ReportRun` with the HTML path. Like :func:`prepare_demo` it
    only ever writes into a new folder or one an earlier demo made, and logs its steps (and the
    plan) at INFO on the ``abkit.workflow`` logger unless ``say`` is given.
    """
    exp = load_demo(folder)
    tell = demo_say(say)
    with experiment_locked(exp):  # one lock for the data and the report (re-entrant in this process)
        prepare_demo(exp.folder, n_customers=n_customers, seed=seed, force=force, say=say)
        day = check_date("as_of", as_of) if as_of else exp.dates.window_end - dt.timedelta(days=1)
        table = plan_experiment(exp)
        plan = plan_view(table).to_text(width=100)  # points and percent, as `abkit plan` prints it
        tell(f"plan for {exp.name} (what each comparison can detect):\n{plan}")
        tell(f"running the report as of {day.isoformat()} ...")
        extra = {"language": language} if language else None
        return run_report(folder, as_of=day, force=True, extra_parameters=extra)
