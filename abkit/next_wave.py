"""``abkit target DIR``: plan the next wave of a finished experiment and publish the plan.

:func:`target_experiment` reads the experiment's per-customer outcomes the way the report does
(:func:`abkit.workflow.analyse`), takes the costs from the spec's variants, the margin from
``[analysis] gross_margin`` and the control from the spec, runs :func:`abkit.targeting.target` and
publishes ``DIR/targeting/`` as one unit (staged in a hidden folder, renamed into place under
the experiment's lock, never replaced without ``force``): ``plan.json`` and ``plan.html``.

``plan.json`` (schema ``"abkit.targeting/1"``, same inputs and seed, same bytes; no wall-clock
time) holds:

* ``schema``, ``experiment``, ``abkit_version``, ``language``, ``currency`` (ISO 4217 or null);
* ``cells`` (the cell columns), ``control``, ``arms``, ``method``, ``features`` (method ``"dr"``: the
  customer features it learned from; else null), ``seed``, ``n_boot``, ``alpha``,
  ``min_cell``, ``explore``, ``holdout``, ``budget`` (``{"contacts"|"offers"|"spend": amount}`` or
  null), ``customers``;
* ``adopt`` (bool), ``best_arm``, ``recommended`` (``"plan"``, ``"best"`` or ``"none"``),
  ``summary`` (the plan's summary lines in ``language``, money with the currency's symbol; the
  first says what to send to whom);
* ``value``: rows ``policy`` (``plan``, ``best``, ``none``) with ``per_1000``, ``ci_low``,
  ``ci_high``, ``vs_best``, ``vs_best_ci_low``, ``vs_best_ci_high`` (null where not defined);
* ``table``: one row per cell: ``key`` (the ``"|"``-joined cell values), ``values`` (cell column
  -> value), then ``customers``, ``arm``, ``arm_share``, ``campaign``, ``profit_shrunk``, ``shrunk_ci_low``,
  ``shrunk_ci_high``, ``profit_raw``, ``raw_ci_low``, ``raw_ci_high``, ``shrinkage``, ``contacts``,
  ``cost``, ``contribution``, ``sleeping_dog``, ``decided_at`` and with method ``"dr"``
  ``learner_share`` (see :meth:`abkit.targeting.TargetingPlan.to_pandas`; with ``"dr"`` the
  ``profit_shrunk`` columns hold the learner's cell estimate, ``shrinkage`` is null and
  ``decided_at`` is ``"model"``);
* ``chosen``: cell key -> the arm chosen for it (the recommendation: the plan's arm when adopted,
  else the best arm or the control for every cell);
* ``weights``: cell key -> ``{arm: weight}``, the next wave's split
  (:meth:`~abkit.targeting.TargetingPlan.weights`), which ``abkit init NEXT --from DIR --targeted``
  writes into the next spec's ``[targeting]`` table;
* ``curve``: the budget curve's rows (``contacts``/``offers``/``spend`` and ``per_1000``).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from abkit import __version__
from abkit._display import Displayable
from abkit._io import make_temp_dir, replace_dir, write_text
from abkit.errors import ColumnError, DataError, FileExistsAbkitError, ParameterError, SpecError
from abkit.experiment import Experiment
from abkit.lock import experiment_locked
from abkit.messages import LANGUAGES
from abkit.plan_file import PLAN_FILE, PLAN_SCHEMA, TARGETING_DIR, read_plan
from abkit.plan_report import plan_html
from abkit.targeting import TargetingPlan, target
from abkit.workflow import analyse

__all__ = ["PLAN_FILE", "PLAN_SCHEMA", "TARGETING_DIR", "TargetingRun", "plan_document", "read_plan",
           "target_experiment"]  # fmt: skip

REPORT_FILE = "plan.html"


def _plain(value: Any) -> Any:
    """JSON-ready value: numpy scalars as Python ones, NaN and infinities as None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): _plain(v) for k, v in rec.items()} for rec in frame.to_dict("records")]


def plan_document(
    plan: TargetingPlan, *, experiment: str, language: str = "en", currency: str | None = None
) -> dict[str, Any]:
    """The ``plan.json`` document (schema ``abkit.targeting/1``, see the module docstring).

    ``currency`` (ISO 4217, the spec's ``[report] currency``) is how the summary writes money.

    >>> from abkit.datasets import targeting_test
    >>> from abkit.targeting import target
    >>> t = targeting_test(6_000, seed=1)
    >>> plan = target(t.outcomes, costs=t.costs, margin=t.margin, control="holdout", cells="segment",
    ...               n_boot=20)
    >>> doc = plan_document(plan, experiment="spring")
    >>> doc["schema"], doc["cells"], sorted(doc["weights"]) == sorted(doc["chosen"])
    ('abkit.targeting/1', ['segment'], True)
    """
    if language not in LANGUAGES:
        raise ParameterError(f"language={language!r} is not available; use one of {', '.join(LANGUAGES)}")
    table = plan.table
    cell_cols = list(plan.cells)
    keys = ["|".join(str(v) for v in row) for row in table[cell_cols].itertuples(index=False)]
    rows = [
        {"key": key, "values": values, **rest}
        for key, values, rest in zip(
            keys, _records(table[cell_cols]), _records(table.drop(columns=cell_cols)), strict=True
        )
    ]
    if plan.recommended == "plan":
        chosen = dict(zip(keys, table["arm"].astype(str), strict=True))
    else:
        arm = plan.best_arm if plan.recommended == "best" else plan.control
        chosen = dict.fromkeys(keys, arm)
    doc = {
        "schema": PLAN_SCHEMA,
        "experiment": experiment,
        "abkit_version": __version__,
        "language": language,
        "cells": list(plan.cells),
        "control": plan.control,
        "arms": list(plan.arms),
        "method": plan.method,
        "features": list(plan.features) if plan.method == "dr" else None,
        "seed": plan.seed,
        "n_boot": plan.n_boot,
        "alpha": plan.alpha,
        "min_cell": plan.min_cell,
        "explore": plan.explore,
        "holdout": plan.holdout,
        "budget": plan.budget,
        "customers": plan.customers,
        "adopt": plan.adopt,
        "best_arm": plan.best_arm,
        "recommended": plan.recommended,
        "currency": currency,
        "summary": plan.summary(language, currency).splitlines(),
        "value": _records(plan.value),
        "table": rows,
        "chosen": chosen,
        "weights": {k: {a: round(w, 12) for a, w in ws.items()} for k, ws in plan.weights().items()},
        "curve": _records(plan.curve),
    }
    return _plain(doc)


@dataclass(frozen=True, repr=False)
class TargetingRun(Displayable):
    """A published plan: the folder ``DIR/targeting``, its files and the plan itself."""

    experiment: str
    folder: Path
    plan: TargetingPlan
    language: str = "en"
    currency: str | None = None  # ISO 4217: how summaries write money

    @property
    def json(self) -> Path:
        """``DIR/targeting/plan.json``."""
        return self.folder / PLAN_FILE

    @property
    def html(self) -> Path:
        """``DIR/targeting/plan.html``."""
        return self.folder / REPORT_FILE

    @property
    def files(self) -> tuple[Path, ...]:
        return (self.json, self.html)

    def to_pandas(self) -> pd.DataFrame:
        return self.plan.to_pandas()

    def _title(self) -> str:
        return self.plan.summary(self.language, self.currency).splitlines()[0]

    def __repr__(self) -> str:
        rec = self.plan.recommended
        return f"TargetingRun({self.experiment!r}, folder={self.folder.name!r}, recommended={rec!r})"


def target_experiment(
    experiment: Experiment | str | Path,
    *,
    cells: str | Sequence[str] | None = None,
    budget: Mapping[str, float] | None = None,
    explore: float = 0.10,
    holdout: float = 0.05,
    method: str = "shrunk",
    features: Sequence[str] | None = None,
    language: str | None = None,
    as_of: str | dt.date | None = None,
    min_cell: int = 200,
    n_boot: int = 200,
    seed: int = 0,
    force: bool = False,
) -> TargetingRun:
    """Plan the next wave of ``experiment`` and publish ``DIR/targeting/`` (plan.json and plan.html).

    ``cells``: the outcome columns that make a cell (default: the spec's ``[strata] column``).
    ``as_of``: the date the outcomes are read at (default: the attribution window's last day).
    ``features`` (method ``"dr"``): the customer columns the learner uses (default: the spec's
    ``[targeting] features``; an error naming that key when neither is given).
    The other arguments are those of :func:`abkit.targeting.target`. An existing plan is refused
    unless ``force=True``; nothing is published when anything fails.
    """
    exp = experiment if isinstance(experiment, Experiment) else Experiment.load(experiment)
    if method == "dr" and features is None:
        if not exp.target_features:
            raise SpecError(
                f"{exp.path}: method 'dr' learns from customer features; name them in the spec as "
                '[targeting] features = ["recency_days", "frequency", ...] (or pass --features a,b)'
            )
        features = list(exp.target_features)
    margin = exp.analysis.gross_margin
    if margin is None:
        raise SpecError(
            f"{exp.locate('analysis.gross_margin')}: targeting values incremental profit and needs "
            "analysis.gross_margin (the share of revenue kept, e.g. 0.4); add it"
        )
    language = language or exp.report.language
    if language not in LANGUAGES:
        raise ParameterError(f"language={language!r} is not available; use one of {', '.join(LANGUAGES)}")
    destination = exp.folder / TARGETING_DIR
    with experiment_locked(exp):
        if destination.exists() and not force:
            raise FileExistsAbkitError(
                f"{destination} already exists; a plan is never replaced silently: pass force=True "
                "(--force) to replace it"
            )
        day = as_of or (exp.dates.window_end - dt.timedelta(days=1))
        readout = analyse(exp, as_of=day, max_data_lag_days=exp.report.max_data_lag_days)
        frame = readout.outcomes
        id_col = exp.data.columns.customer_id
        if id_col not in frame.columns:
            raise DataError(
                f"{exp.path}: targeting needs per-customer outcomes, but the {exp.data.engine} engine "
                "returns aggregates; use engine = 'pandas' in [data]"
            )
        if exp.strata and exp.strata not in frame.columns and "segment" in frame.columns:
            frame = frame.rename(columns={"segment": exp.strata})
        if cells is None:
            if not exp.strata:
                raise ParameterError(
                    f"{exp.path} has no [strata] column to make the cells; name them with --cells COL "
                    "(cells=)"
                )
            cell_cols = [exp.strata]
        else:
            cell_cols = [cells] if isinstance(cells, str) else list(cells)
        missing = [c for c in cell_cols if c not in frame.columns]
        if missing:
            shown = ", ".join(str(c) for c in frame.columns[:25])
            raise ColumnError(
                f"--cells (cells=) names {', '.join(map(repr, missing))}, not a column of {exp.name}'s "
                f"outcomes; columns: {shown}"
            )
        costs = {v.name: {"contact": v.contact_cost, "offer": v.offer_cost} for v in exp.variants}
        plan = target(
            frame, costs=costs, margin=margin, control=exp.control, cells=cell_cols,
            revenue=exp.decision.revenue, redeemed=exp.decision.redeemed, method=method,
            features=features if method == "dr" else None, budget=budget,
            explore=explore, holdout=holdout, min_cell=min_cell, n_boot=n_boot, seed=seed,
        )  # fmt: skip
        document = plan_document(plan, experiment=exp.name, language=language, currency=exp.report.currency)
        page = plan_html(
            plan, name=exp.name, language=language, currency=exp.report.currency, margin=margin,
            spec=exp.path.name,
        )  # fmt: skip
        stage = make_temp_dir(exp.folder, TARGETING_DIR)
        try:
            text = json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
            write_text(stage / PLAN_FILE, text)
            write_text(stage / REPORT_FILE, page)
            replace_dir(stage, destination, overwrite=force)
        finally:
            shutil.rmtree(stage, ignore_errors=True)
    return TargetingRun(
        experiment=exp.name, folder=destination, plan=plan, language=language, currency=exp.report.currency
    )
