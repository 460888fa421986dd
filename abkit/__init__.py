"""abkit: design, run and evaluate A/B tests of win-back campaigns aimed at dormant customers.

The public API is re-exported here and loaded lazily, so ``import abkit`` (and the ``abkit``
command) starts fast. ``abkit.power`` is the power-analysis module; its function ``power`` is
reached as ``abkit.power.power`` or ``abkit.power_proportions``.

>>> import abkit
>>> abkit.sample_size(0.5, 0.25, power=0.9).control
77

Targeting the next wave of a finished test (synthetic data with planted cell effects):

>>> t = abkit.targeting_test(12_000, seed=1)
>>> plan = abkit.target(t.outcomes, costs=t.costs, margin=t.margin, control="holdout",
...                     cells=["segment", "recency_band"], n_boot=50)
>>> plan.recommended, plan.best_arm
('plan', 'reminder')
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from typing import TYPE_CHECKING, Any

from abkit.errors import (
    AbkitError,
    AbkitWarning,
    ColumnError,
    DataError,
    FileExistsAbkitError,
    NotebookError,
    ParameterError,
    SourceError,
    SpecError,
)

__version__ = "0.1.0"

# A library never configures logging: its messages go to the "abkit" loggers and are shown only
# where the application (the ``abkit`` command, or the user's own logging set-up) says so.
logging.getLogger("abkit").addHandler(logging.NullHandler())

# public name -> (module, attribute in that module)
_LAZY: dict[str, tuple[str, str]] = {
    # design: power
    "SampleSize": ("abkit.power", "SampleSize"),
    "sample_size": ("abkit.power", "sample_size"),
    "power_proportions": ("abkit.power", "power"),
    "mde": ("abkit.power", "mde"),
    "sample_size_mean": ("abkit.power", "sample_size_mean"),
    "power_mean": ("abkit.power", "power_mean"),
    "mde_mean": ("abkit.power", "mde_mean"),
    "plan": ("abkit.power", "plan"),
    "power_curve": ("abkit.power", "power_curve"),
    "plot_power_curve": ("abkit.power", "plot_power_curve"),
    "dunnett_critical_value": ("abkit.power", "dunnett_critical_value"),
    # design: population
    "Population": ("abkit.population", "Population"),
    "SegmentRules": ("abkit.population", "SegmentRules"),
    "rfm": ("abkit.population", "rfm"),
    "build_population": ("abkit.population", "build_population"),
    # design: assignment and checks
    "assign": ("abkit.assignment", "assign"),
    "unit_hash": ("abkit.assignment", "unit_hash"),
    "save_assignment": ("abkit.assignment", "save_assignment"),
    "load_assignment": ("abkit.assignment", "load_assignment"),
    "extend_assignment": ("abkit.assignment", "extend_assignment"),
    "export_send_lists": ("abkit.assignment", "export_send_lists"),
    "srm": ("abkit.checks", "srm"),
    "SRMResult": ("abkit.checks", "SRMResult"),
    "balance": ("abkit.checks", "balance"),
    "plot_balance": ("abkit.checks", "plot_balance"),
    # data
    "Proportion": ("abkit.metrics", "Proportion"),
    "Mean": ("abkit.metrics", "Mean"),
    "sufficient_statistics": ("abkit.metrics", "sufficient_statistics"),
    "outcomes": ("abkit.attribution", "outcomes"),
    # evaluation
    "evaluate": ("abkit.evaluation", "evaluate"),
    # targeting the next wave
    "target": ("abkit.targeting", "target"),
    "TargetingPlan": ("abkit.targeting", "TargetingPlan"),
    "value_of": ("abkit.targeting", "value_of"),
    # monitoring: group-sequential designs (always-valid inference lives in abkit.stats.sequential)
    "GroupSequentialDesign": ("abkit.stats.sequential", "GroupSequentialDesign"),
    "group_sequential_bounds": ("abkit.stats.sequential", "group_sequential_bounds"),
    "sample_size_inflation": ("abkit.stats.sequential", "sample_size_inflation"),
    "Evaluation": ("abkit.evaluation", "Evaluation"),
    "Decision": ("abkit.evaluation", "Decision"),
    "economics": ("abkit.evaluation", "economics"),
    "Economics": ("abkit.evaluation", "Economics"),
    # experiments and reports
    "Experiment": ("abkit.experiment", "Experiment"),
    # synthetic data
    "winback_campaign": ("abkit.datasets", "winback_campaign"),
    "simulate_events": ("abkit.datasets", "simulate_events"),
    "targeting_test": ("abkit.datasets", "targeting_test"),
    "TargetingTest": ("abkit.datasets", "TargetingTest"),
    "run_report": ("abkit.report", "run_report"),
    # act: decisions, status, learnings across waves, programme holdout and effect
    "decide": ("abkit.programme", "decide"),
    "read_decisions": ("abkit.programme", "read_decisions"),
    "status": ("abkit.programme", "status"),
    "learnings": ("abkit.programme", "learnings"),
    "programme_effect": ("abkit.programme", "programme_effect"),
    "programme_holdout": ("abkit.contacts", "programme_holdout"),
    "init_from": ("abkit.programme", "init_from"),
    "random_effects": ("abkit.meta", "random_effects"),
}

__all__ = [
    "AbkitError",
    "AbkitWarning",
    "ColumnError",
    "DataError",
    "FileExistsAbkitError",
    "NotebookError",
    "ParameterError",
    "SourceError",
    "SpecError",
    "__version__",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        # submodules (abkit.power, abkit.sql, ...) load on first use, like the functions
        if not name.startswith("_") and importlib.util.find_spec(f"abkit.{name}") is not None:
            return importlib.import_module(f"abkit.{name}")
        raise AttributeError(f"module 'abkit' has no attribute {name!r}")
    module_name, attr = _LAZY[name]
    value = getattr(importlib.import_module(module_name), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from abkit.assignment import (
        assign,
        export_send_lists,
        extend_assignment,
        load_assignment,
        save_assignment,
        unit_hash,
    )
    from abkit.attribution import outcomes
    from abkit.checks import SRMResult, balance, plot_balance, srm
    from abkit.contacts import programme_holdout
    from abkit.datasets import TargetingTest, simulate_events, targeting_test, winback_campaign
    from abkit.evaluation import Decision, Economics, Evaluation, economics, evaluate
    from abkit.experiment import Experiment
    from abkit.meta import random_effects
    from abkit.metrics import Mean, Proportion, sufficient_statistics
    from abkit.population import Population, SegmentRules, build_population, rfm
    from abkit.power import (
        SampleSize,
        dunnett_critical_value,
        mde,
        mde_mean,
        plan,
        plot_power_curve,
        power_curve,
        power_mean,
        sample_size,
        sample_size_mean,
    )
    from abkit.power import power as power_proportions
    from abkit.programme import decide, init_from, learnings, programme_effect, read_decisions, status
    from abkit.report import run_report
    from abkit.stats.sequential import GroupSequentialDesign, group_sequential_bounds, sample_size_inflation
    from abkit.targeting import TargetingPlan, target, value_of
