"""The programme report: what the whole win-back programme brought in, and what the waves taught.

``abkit programme ROOT`` (:func:`run_programme_report`) executes the packaged notebook
``programme.ipynb`` with papermill and publishes ``ROOT/programme/programme-END/`` as one unit,
like an experiment's report (:func:`abkit.report.publish_notebook`): ``programme-END.html`` (no
code), ``programme-END.ipynb`` and the summary ``programme-END.json``. ``END`` is the last day
counted. The report reads, in English or Japanese (``--lang``, else the waves' ``[report]
language``):

* the cumulative effect against the programme holdout (:func:`abkit.programme.programme_effect`),
  overall and per segment, per customer with its interval and in total;
* the learnings table (:func:`abkit.programme.learnings`): each variant family's lift per segment
  in every wave, pooled by random-effects meta-analysis with τ² and I².

:func:`build` chooses what is shown (a :class:`ProgrammeView`); the renderers below only format
and escape, every word from :mod:`abkit.messages`. The JSON summary (schema
``"abkit.programme/1"``) holds no wall-clock time (same inputs, same bytes)::

    {
      "schema": "abkit.programme/1",
      "abkit_version": "0.1.0",
      "programme": "winback",
      "start": "2026-03-02", "end": "2026-09-13",   # the period counted, both days included
      "language": "en", "currency": "USD",          # currency: ISO 4217 code or null
      "waves": ["wave-1", "wave-2", "wave-3"],
      "pool": 5210, "holdout": 520,                 # customers in the pool / in the holdout
      "alpha": 0.05, "method": "Welch two-sample t interval on ...",
      "effects": [                                  # per metric ("repurchase_rate", "revenue",
        {"metric": "repurchase_rate", "segment": "all",   # "profit" when costs are declared), "all"
         "n_pool": 4690, "n_holdout": 520,          # first; values per customer
         "pool_value": 0.071, "holdout_value": 0.046, "incremental": 0.025,
         "ci_low": 0.004, "ci_high": 0.046, "p_value": 0.02, "total_incremental": 117.3}
      ],
      "learnings": {
        "metric": "repurchased",
        "pooled": [{"family": "coupon", "segment": "all", "method": "random effects (REML)",
                    "waves": 3, "estimate": 0.02, "se": 0.006, "ci_low": 0.008, "ci_high": 0.032,
                    "p_value": 0.001, "tau2": 0.0, "i2": 0.0, "q": 1.2, "q_df": 2,
                    "q_p_value": 0.55, "converged": true, "not_pooled": 0}],
        "waves": [{"family": "coupon", "segment": "all", "experiment": "wave-1",
                   "send_date": "2026-03-02", "variant": "coupon", "metric": "repurchased",
                   "kind": "proportion", "lift": 0.021, "ci_low": 0.001, "ci_high": 0.041,
                   "se": 0.009}],
        "not_read": []                              # waves whose report could not be read, and why
      }
    }

Numbers are unrounded; a value that does not exist is ``null``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from abkit import __version__
from abkit import formatting as fmt
from abkit._io import experiment_lock, remove_stale, write_text
from abkit.contacts import experiment_folders
from abkit.errors import AbkitError, ParameterError
from abkit.experiment import Experiment
from abkit.messages import LANGUAGES, label, message
from abkit.programme import METHOD_TEXT, Learnings, ProgrammeEffect, learnings, programme_effect
from abkit.report import KERNEL_NAME, ReportRun, check_timeout, publish_notebook
from abkit.report_view import html_section, style_html
from abkit.views import Column, TableView

__all__ = [
    "SCHEMA",
    "ProgrammeView",
    "answer_lines",
    "build",
    "build_view",
    "effect_html",
    "effect_tables",
    "learnings_html",
    "learnings_tables",
    "methods_html",
    "methods_lines",
    "programme_settings",
    "run_programme_report",
    "summary_dict",
    "summary_json",
    "top_html",
    "write_outputs",
]

SCHEMA = "abkit.programme/1"
FOLDER = "programme"
_POOLED = "all"
_MONEY_METRICS = frozenset({"revenue", "profit"})


@dataclass(frozen=True, eq=False)
class ProgrammeView:
    """Everything the programme report shows, already chosen, in one language."""

    programme: str
    start: dt.date
    end: dt.date
    language: str
    currency: str | None
    alpha: float
    waves: tuple[str, ...]
    n_pool: int
    n_holdout: int
    effects: pd.DataFrame
    metric: str
    pooled: pd.DataFrame
    lifts: pd.DataFrame
    not_read: tuple[str, ...] = field(default=())

    def msg(self, key: str, **values: Any) -> str:
        """A catalogue text in this view's language."""
        return message(key, self.language, **values)


def programme_settings(root: str | Path) -> tuple[str, str | None]:
    """The ``[report] language`` and ``currency`` of the latest wave with a ``[programme]`` table.

    >>> programme_settings("no/such/root")
    ('en', None)
    """
    latest: Experiment | None = None
    for folder in experiment_folders(root):
        try:
            exp = Experiment.load(folder)
        except AbkitError:
            continue  # named by programme_effect / learnings, which read the same folders
        if exp.programme is not None and (latest is None or exp.dates.send_date >= latest.dates.send_date):
            latest = exp
    if latest is None:
        return "en", None
    return latest.report.language or "en", latest.report.currency


def _check_language(language: str | None) -> str | None:
    if language not in (None, "", *LANGUAGES):
        raise ParameterError(
            f"language={language!r} (--lang) is not available; use one of {', '.join(LANGUAGES)}"
        )
    return language or None


def build(
    effect: ProgrammeEffect,
    lessons: Learnings,
    *,
    language: str = "en",
    currency: str | None = None,
    alpha: float = 0.05,
) -> ProgrammeView:
    """Choose what the programme report shows from the effect and the learnings.

    Nothing is computed here: the numbers are those of ``effect`` and ``lessons``.
    """
    language = _check_language(language) or "en"
    table = effect.to_pandas()
    first = table.loc[(table["segment"] == _POOLED)].head(1)
    n_pool = int(first["n_pool"].iloc[0]) if len(first) else 0
    n_holdout = int(first["n_holdout"].iloc[0]) if len(first) else 0
    lifts = lessons.waves.copy()
    metric = str(lifts["metric"].iloc[0]) if len(lifts) else ""
    return ProgrammeView(
        programme=effect.programme,
        start=effect.start,
        end=effect.end,
        language=language,
        currency=currency,
        alpha=alpha,
        waves=tuple(effect.waves),
        n_pool=n_pool,
        n_holdout=n_holdout,
        effects=table,
        metric=metric,
        pooled=lessons.pooled.copy(),
        lifts=lifts,
        not_read=tuple(lessons.skipped),
    )


def build_view(
    root: str | Path = "experiments",
    *,
    start: str | dt.date | None = None,
    end: str | dt.date | None = None,
    language: str | None = None,
    alpha: float = 0.05,
) -> ProgrammeView:
    """Measure the programme under ``root`` and read its learnings; return the view of its report.

    ``language`` overrides the waves' ``[report] language``.
    """
    spec_language, currency = programme_settings(root)
    effect = programme_effect(root, start=start, end=end, alpha=alpha)
    lessons = learnings(root, alpha=alpha)
    chosen = _check_language(language) or spec_language
    return build(effect, lessons, language=chosen, currency=currency, alpha=alpha)


# ------------------------------------------------------------------------------------------------
# renderers
def _segment(view: ProgrammeView, segment: str) -> str:
    return view.msg("segment.all") if segment == _POOLED else segment


def _metric(view: ProgrammeView, metric: str) -> str:
    return label("metric", metric, view.language)


def _value_kinds(metric: str) -> tuple[str, str]:
    """How a metric's levels and its differences read: (level kind, difference kind)."""
    return ("money", "money") if metric in _MONEY_METRICS else ("percent", "points")


def _cell(value: Any, column: Column, view: ProgrammeView) -> str:
    return TableView("", (column,), ((value,),), language=view.language, currency=view.currency).formatted()[
        0
    ][0]


def _number(value: Any) -> float | None:
    return float(value) if fmt.is_number(value) else None


def answer_lines(view: ProgrammeView) -> list[str]:
    """One sentence per metric: the whole pool's effect per customer against the holdout, in total."""
    out = []
    for r in view.effects.loc[view.effects["segment"] == _POOLED].itertuples(index=False):
        _, diff = _value_kinds(r.metric)
        seg, metric = _segment(view, r.segment), _metric(view, r.metric)
        if _number(r.incremental) is None:
            out.append(view.msg("programme.answer_missing", segment=seg, metric=metric))
            continue
        signed = Column("v", "", diff, signed=True, digits=2 if diff == "money" else None)
        interval = Column("i", "", diff, interval=True, signed=True, digits=2 if diff == "money" else None)
        total = (
            Column("t", "", "money", signed=True, digits=0)
            if diff == "money"
            else Column("t", "", "number", digits=0)
        )
        out.append(
            view.msg(
                "programme.answer",
                segment=seg,
                metric=metric,
                value=_cell(r.incremental, signed, view),
                interval=_cell((r.ci_low, r.ci_high), interval, view),
                total=_cell(r.total_incremental, total, view),
            )
        )
    return out


def top_html(view: ProgrammeView) -> str:
    """The first screen: title, the pool and the waves, one answer per metric (all text escaped)."""
    title = view.msg(
        "programme.title", name=view.programme, start=view.start.isoformat(), end=view.end.isoformat()
    )
    lines = [
        view.msg("programme.pool", pool=fmt.count(view.n_pool), holdout=fmt.count(view.n_holdout)),
        view.msg("programme.waves", waves=", ".join(view.waves)),
    ]
    return style_html(view.language) + html_section(
        view.language, title, lines, bullets=answer_lines(view), level=1
    )


def effect_tables(view: ProgrammeView) -> list[TableView]:
    """One table per metric: per segment the pool, the holdout, the increment with its interval, the total."""
    out = []
    for metric, rows in view.effects.groupby("metric", sort=False):
        level, diff = _value_kinds(str(metric))
        digits = 2 if diff == "money" else None
        columns = (
            Column("segment", view.msg("column.segment")),
            Column("n_pool", view.msg("column.n_pool"), "count"),
            Column("n_holdout", view.msg("column.n_holdout"), "count"),
            Column("pool_value", view.msg("column.pool_value"), level, digits=digits),
            Column("holdout_value", view.msg("column.holdout_value"), level, digits=digits),
            Column("incremental", view.msg("column.incremental"), diff, signed=True, digits=digits),
            Column(
                "ci",
                view.msg(
                    "column.interval", interval=view.msg("interval.confidence", level=f"{1 - view.alpha:.0%}")
                ),
                diff,
                interval=True,
                signed=True,
                digits=digits,
            ),
            Column("p_value", view.msg("column.p_value"), "pvalue"),
            Column(
                "total",
                view.msg("column.total_incremental"),
                "money" if diff == "money" else "number",
                signed=diff == "money",
                digits=0,
            ),
        )
        body = tuple(
            (
                _segment(view, str(r.segment)),
                r.n_pool,
                r.n_holdout,
                r.pool_value,
                r.holdout_value,
                r.incremental,
                (r.ci_low, r.ci_high),
                r.p_value,
                r.total_incremental,
            )
            for r in rows.itertuples(index=False)
        )
        title = _metric(view, str(metric))
        out.append(TableView(title, columns, body, language=view.language, currency=view.currency))
    return out


def _lift_kind(view: ProgrammeView) -> str:
    kinds = set(view.lifts["kind"]) if "kind" in view.lifts.columns else set()
    return "money" if kinds and kinds <= {"mean"} else "points"


def learnings_tables(view: ProgrammeView) -> list[TableView]:
    """The pooled lift per variant family and segment (the first method), and the lift in each wave."""
    if view.pooled.empty:
        return []
    kind = _lift_kind(view)
    digits = 2 if kind == "money" else None
    interval = view.msg(
        "column.interval", interval=view.msg("interval.confidence", level=f"{1 - view.alpha:.0%}")
    )
    method = str(view.pooled["method"].iloc[0])
    pooled = view.pooled.loc[view.pooled["method"] == method]
    columns = (
        Column("family", view.msg("column.family")),
        Column("segment", view.msg("column.segment")),
        Column("waves", view.msg("column.waves"), "count"),
        Column("estimate", view.msg("column.pooled_lift"), kind, signed=True, digits=digits),
        Column("ci", interval, kind, interval=True, signed=True, digits=digits),
        Column("p_value", view.msg("column.p_value"), "pvalue"),
        Column("tau2", view.msg("column.tau2"), "number", digits=6),
        Column("i2", view.msg("column.i2"), "percent", digits=0),
    )
    rows = tuple(
        (
            r.family,
            _segment(view, str(r.segment)),
            r.waves,
            r.estimate,
            (r.ci_low, r.ci_high),
            r.p_value,
            r.tau2,
            r.i2,
        )
        for r in pooled.itertuples(index=False)
    )
    first = TableView(
        view.msg("heading.learnings"), columns, rows, language=view.language, currency=view.currency
    )
    columns = (
        Column("family", view.msg("column.family")),
        Column("segment", view.msg("column.segment")),
        Column("wave", view.msg("column.wave")),
        Column("send_date", view.msg("column.send_date")),
        Column("variant", view.msg("column.variant")),
        Column("lift", view.msg("column.lift_short"), kind, signed=True, digits=digits),
        Column("ci", interval, kind, interval=True, signed=True, digits=digits),
    )
    lifts = view.lifts.sort_values(["family", "segment", "send_date"], kind="stable")
    rows = tuple(
        (
            r.family,
            _segment(view, str(r.segment)),
            r.experiment,
            pd.Timestamp(r.send_date).date().isoformat(),
            r.variant,
            r.lift,
            (r.ci_low, r.ci_high),
        )
        for r in lifts.itertuples(index=False)
    )
    second = TableView(
        view.msg("heading.learnings_waves"), columns, rows, language=view.language, currency=view.currency
    )
    return [first, second]


def effect_html(view: ProgrammeView) -> str:
    """The cumulative effect section."""
    return html_section(
        view.language,
        view.msg("heading.programme_effect"),
        [view.msg("intro.programme_effect")],
        effect_tables(view),
    )


def learnings_html(view: ProgrammeView) -> str:
    """The learnings section (says so when no wave has a report to learn from)."""
    tables = learnings_tables(view)
    heading = view.msg("heading.learnings")
    if not tables:
        return html_section(view.language, heading, [view.msg("learnings.none")])
    method = str(view.pooled["method"].iloc[0])
    intro = view.msg("intro.learnings", metric=_metric(view, view.metric), method=method)
    notes = [view.msg("learnings.not_read", what=s) for s in view.not_read]
    pooled, waves = tables
    return html_section(view.language, heading, [intro, *notes], [replace(pooled, title=""), waves])


def methods_lines(view: ProgrammeView) -> list[str]:
    """The methods bullets: the interval of the effect, the meta-analysis, the currency."""
    lines = [view.msg("programme.method", level=f"{1 - view.alpha:.0%}", end=view.end.isoformat())]
    if view.currency:
        lines.append(view.msg("programme.currency", currency=view.currency))
    return lines


def methods_html(view: ProgrammeView) -> str:
    """The methods appendix."""
    return html_section(view.language, view.msg("heading.methods"), bullets=methods_lines(view))


def _json_value(value: Any) -> Any:
    if isinstance(value, (pd.Timestamp, dt.date)):
        return pd.Timestamp(value).date().isoformat()
    if hasattr(value, "item"):  # a numpy scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): _json_value(v) for k, v in row.items()} for row in frame.to_dict("records")]


def summary_dict(view: ProgrammeView) -> dict[str, Any]:
    """The JSON summary as a dict (schema ``abkit.programme/1``, see the module docstring)."""
    return {
        "schema": SCHEMA,
        "abkit_version": __version__,
        "programme": view.programme,
        "start": view.start.isoformat(),
        "end": view.end.isoformat(),
        "language": view.language,
        "currency": view.currency,
        "waves": list(view.waves),
        "pool": view.n_pool,
        "holdout": view.n_holdout,
        "alpha": view.alpha,
        "method": METHOD_TEXT,
        "effects": _records(view.effects),
        "learnings": {
            "metric": view.metric or None,
            "pooled": _records(view.pooled),
            "waves": _records(view.lifts),
            "not_read": list(view.not_read),
        },
    }


def summary_json(view: ProgrammeView) -> str:
    """The JSON summary text: UTF-8, indented, no wall-clock time (same inputs, same bytes)."""
    return json.dumps(summary_dict(view), ensure_ascii=False, indent=2) + "\n"


def write_outputs(view: ProgrammeView, output_dir: str | Path) -> list[Path]:
    """Write ``programme-END.json`` into ``output_dir`` (the run's staging folder); "" writes nothing."""
    if not str(output_dir):
        return []
    path = Path(output_dir) / f"{FOLDER}-{view.end.isoformat()}.json"
    return [write_text(path, summary_json(view))]


# ------------------------------------------------------------------------------------------------
# the run
def run_programme_report(
    root: str | Path = "experiments",
    *,
    start: str | dt.date | None = None,
    end: str | dt.date | None = None,
    language: str | None = None,
    force: bool = False,
    timeout: float = 600,
    progress: bool = False,
    kernel_name: str = KERNEL_NAME,
) -> ReportRun:
    """Run the programme notebook for the waves under ``root``; publish ``ROOT/programme/programme-END/``.

    The effect is measured first (bad input fails here, in seconds, without a kernel), which also
    fixes ``END`` (default: the last purchase). The folder holds ``programme-END.html``,
    ``programme-END.ipynb`` and ``programme-END.json`` and appears whole or not at all; an existing
    one is kept unless ``force=True``. The run holds the lock of ``ROOT/programme/``.
    """
    root = Path(root)
    language = _check_language(language)
    check_timeout(timeout)
    effect = programme_effect(root, start=start, end=end)
    folder = root / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{FOLDER}-{effect.end.isoformat()}"
    target = folder / stem
    parameters: Mapping[str, Any] = {
        "root": str(root.resolve()),
        "start": effect.start.isoformat(),
        "end": effect.end.isoformat(),
        "language": language or "",
    }
    with experiment_lock(folder, name=f"programme {effect.programme}") as outermost:
        if outermost:
            remove_stale(folder, [f".{FOLDER}-*"])
        files = publish_notebook(
            "programme", parameters, target, force=force, timeout=timeout, progress=progress,
            kernel_name=kernel_name, cwd=root,
        )  # fmt: skip
    return ReportRun(
        experiment=effect.programme,
        as_of=effect.end,
        notebook=target / f"{stem}.ipynb",
        html=target / f"{stem}.html",
        folder=target,
        files=files,
    )
