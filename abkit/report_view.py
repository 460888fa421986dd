"""The report's presentation: a :class:`ReportView` chosen from a Readout, and its renderers.

:func:`build` turns a :class:`~abkit.workflow.Readout` into typed view objects (frozen
dataclasses with the numbers already chosen: which lift, which interval, which profit, which
confidence word), in the reader's language. The renderers below only format and escape: the
report's HTML sections, the figures (with alt text), the Excel workbook and the JSON summary.
A renderer never computes statistics; every word comes from :mod:`abkit.messages`.

The JSON summary (``NAME-DATE.json``, schema ``"abkit.report/1"``), for schedulers and dashboards.
It holds no wall-clock time, so the same inputs give the same bytes::

    {
      "schema": "abkit.report/1",
      "abkit_version": "0.1.0",
      "experiment": "winback-demo",
      "as_of": "2026-06-14",                       # the report date
      "language": "en",                            # "en" | "ja"
      "currency": "USD",                           # ISO 4217 code, or null when not set
      "primary_metric": "repurchased",
      "per": 1000,                                 # profit is per this many customers targeted
      "method": {"name": "frequentist", "alpha": 0.05, "level": 0.95, "correction": "holm",
                 "interval": "always-valid",       # "confidence" | "always-valid" | "credible"
                 "sequential": true, "covariates": ["monetary_total"],
                 "alternative": "two-sided"},     # "two-sided" | "larger" | "smaller" (one-sided
                                                   # bounds: the open end is null)
      "status": {"window_open": false, "day": 14, "days": 14, "daily_reading_safe": true,
                 "send_date": "2026-06-01", "window_end": "2026-06-15", "planned_end": "2026-06-15"},
      "health": {"ok": true,
                 "srm_assignment": {"p_value": 0.99, "alert": false},
                 "srm_delivery": {"p_value": 0.99, "alert": false},
                 "imbalanced_covariates": [], "event_rows_not_counted": 645},
      "segments": [                                # "all" (every segment together) first
        {"segment": "all", "decision": "ship",     # ship | keep holdout | keep collecting | check the data
         "variant": "coupon",                      # the variant shipped, else null
         "shown_variant": "coupon",                # the variant the numbers below describe
         "objective": "profit",                    # null when the decision table has no objective
         "confidence": "very likely better",       # English word of abkit.evaluation, or null
         "primary_lift": {"abs": 0.025, "abs_ci_low": 0.013, "abs_ci_high": 0.037,
                          "rel": 0.85, "rel_ci_low": 0.35, "rel_ci_high": 1.53,  # null: no relative lift
                          "adjusted": true},       # covariate-adjusted (CUPED) lift
         "profit": {"value": 318.8, "ci_low": 25.6, "ci_high": 612.1}}   # per `per` customers; nulls
      ],                                           # when no margin is set
      "comparisons": [                             # every contacted variant against the control, on
        {"segment": "all", "variant": "coupon",    # the primary metric, per segment ("all" first,
         "family": "coupon",                       # then the evaluation's order); read by
         "control": "holdout", "kind": "proportion",  # abkit.learnings across waves
         "n_control": 2039, "n_variant": 3057, "control_value": 0.0395, "variant_value": 0.0636,
         "estimable": true,
         "primary_lift": {"abs": 0.024, "abs_ci_low": 0.005, "abs_ci_high": 0.043,
                          "rel": 0.61, "rel_ci_low": 0.11, "rel_ci_high": 1.5, "adjusted": true}}
      ]
    }

Numbers are unrounded; a value that does not exist (no relative lift against a zero control, no
profit without a margin) is ``null``.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import logging
import math
import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from importlib import util as importlib_util
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from abkit import __version__
from abkit import formatting as fmt
from abkit._display import frame_to_html
from abkit._io import atomic_path, write_text
from abkit.messages import LANGUAGES, label, message
from abkit.programme import follows_recommendation, read_decisions
from abkit.result_views import economics_view
from abkit.stats.weighting import HAJEK_METHOD
from abkit.views import Column, TableView, escape_html, format_cell
from abkit.views import table_html as render_table
from abkit.workflow import PROPENSITY_COL

__all__ = [
    "FONT_FAMILY",
    "JSON_SCHEMA",
    "REPORT_CSS",
    "Comparison",
    "DecisionRecord",
    "Health",
    "Recommendation",
    "ReportView",
    "Status",
    "balance_table",
    "build",
    "decision_table",
    "decisions_html",
    "decisions_table",
    "diagnostics_table",
    "economics_table",
    "economics_text",
    "figure_html",
    "font_path",
    "funnel_table",
    "guardrail_text",
    "health_text",
    "html_section",
    "interval_name",
    "methods",
    "notebook_html",
    "plan_text",
    "plot_balance",
    "plot_forest",
    "plot_funnel",
    "recommendation_sentences",
    "recommendation_table",
    "report_language",
    "results_tables",
    "srm_table",
    "status_lines",
    "style_html",
    "summary_dict",
    "summary_json",
    "table_html",
    "top_html",
    "use_fonts",
    "write_outputs",
    "write_workbook",
]

JSON_SCHEMA = "abkit.report/1"
#: Font family of figures with Japanese text (bundled by the ``matplotlib-fontja`` package).
FONT_FAMILY = "IPAexGothic"
LOG = logging.getLogger("abkit.report")
_POOLED = "all"


# ------------------------------------------------------------------------------------------------
# view objects
@dataclass(frozen=True)
class Status:
    """Where the experiment stands: window open or closed, day X of Y, safe to read daily."""

    as_of: dt.date
    send_date: dt.date
    window_end: dt.date
    planned_end: dt.date
    day: int
    days: int
    window_open: bool
    daily_safe: bool
    method: str


@dataclass(frozen=True)
class Health:
    """Data-health verdicts: sample ratio at assignment and delivery, balance, uncounted rows."""

    srm_assignment_p: float | None
    srm_assignment_alert: bool
    srm_delivery_p: float | None
    srm_delivery_alert: bool
    imbalanced: tuple[str, ...]
    rows_not_counted: int
    reasons_not_counted: tuple[tuple[str, int], ...]
    #: The export of another tool the split came from (``abkit import``), else None.
    split_made_outside: str | None = None

    @property
    def ok(self) -> bool:
        """No sample-ratio alert and no imbalanced covariate."""
        return not (self.srm_assignment_alert or self.srm_delivery_alert or self.imbalanced)


@dataclass(frozen=True)
class Recommendation:
    """One segment's answer: the action, the variant and its primary lift, profit and confidence."""

    segment: str
    decision: str
    variant: str | None
    shown_variant: str | None
    objective: str | None
    confidence: str | None
    kind: str
    lift: float | None
    lift_low: float | None
    lift_high: float | None
    rel_lift: float | None
    rel_low: float | None
    rel_high: float | None
    adjusted: bool
    profit: float | None
    profit_low: float | None
    profit_high: float | None
    reason: str


@dataclass(frozen=True)
class Comparison:
    """One contacted variant against the control on the primary metric, in one segment."""

    segment: str
    variant: str
    family: str
    control: str
    kind: str
    n_control: int
    n_variant: int
    control_value: float | None
    variant_value: float | None
    estimable: bool
    lift: float | None
    lift_low: float | None
    lift_high: float | None
    rel_lift: float | None
    rel_low: float | None
    rel_high: float | None


@dataclass(frozen=True)
class DecisionRecord:
    """A decision recorded with ``abkit decide`` (``DIR/decisions.jsonl``), as the report shows it."""

    date: str
    by: str
    segment: str
    action: str
    variant: str | None
    note: str
    follows: bool | None  # None: this report makes no recommendation for the segment


@dataclass(frozen=True)
class ReportView:
    """Everything the first screen shows, already chosen, in one language."""

    name: str
    as_of: dt.date
    language: str
    currency: str | None
    hypothesis: str
    owner: str
    primary_metric: str
    method: str
    alpha: float
    correction: str
    interval: str
    sequential: bool
    covariates: tuple[str, ...]
    per: int
    status: Status
    health: Health
    recommendations: tuple[Recommendation, ...]
    spec_file: str = "experiment.toml"
    notes: tuple[str, ...] = field(default=())
    #: Labels declared in ``[metrics.define.NAME] label`` (any language), shown instead of the name.
    metric_labels: Mapping[str, str] = field(default_factory=dict)
    comparisons: tuple[Comparison, ...] = ()
    decisions: tuple[DecisionRecord, ...] = ()
    #: ``"two-sided"``, ``"larger"`` or ``"smaller"`` (the primary metric's test, ``[analysis] alternative``).
    alternative: str = "two-sided"

    @property
    def level(self) -> float:
        """The interval level, ``1 - alpha``."""
        return 1 - self.alpha

    def msg(self, key: str, **values: Any) -> str:
        """A catalogue text in this view's language."""
        return message(key, self.language, **values)


def report_language(readout: Any, language: str | None = None) -> str:
    """The report's language: ``language`` when given, else the spec's ``[report] language``.

    >>> report_language(None, "ja")
    'ja'
    """
    chosen = language or getattr(
        getattr(getattr(readout, "experiment", None), "report", None), "language", None
    )
    chosen = chosen or "en"
    message("heading.health", chosen)  # an unknown language raises ParameterError here
    return chosen


def _currency(readout: Any) -> str | None:
    report = getattr(readout.experiment, "report", None)
    return getattr(report, "currency", None)


def _float(value: Any) -> float | None:
    return float(value) if fmt.is_number(value) else None


def _bound(value: Any) -> float | None:
    """An interval end: finite, or +-inf for the open end of a one-sided bound; None when missing."""
    if isinstance(value, (int, float, np.floating)) and not isinstance(value, bool) and math.isinf(value):
        return float(value)
    return _float(value)


def _status(readout: Any) -> Status:
    exp = readout.experiment
    dates = exp.dates
    window_end = dates.window_end
    day = min((readout.as_of - dates.send_date).days + 1, dates.window_days)
    window_open = readout.as_of + dt.timedelta(days=1) < window_end
    ev = readout.evaluation
    return Status(
        as_of=readout.as_of,
        send_date=dates.send_date,
        window_end=window_end,
        planned_end=dates.planned_end,
        day=day,
        days=dates.window_days,
        window_open=window_open,
        daily_safe=bool(readout.method == "frequentist" and getattr(ev, "sequential", False)),
        method=readout.method,
    )


def _health(readout: Any) -> Health:
    def srm(result: Any) -> tuple[float | None, bool]:
        return _float(getattr(result, "p_value", None)), getattr(result, "ok", None) is False

    a_p, a_alert = srm(readout.srm_assignment)
    d_p, d_alert = srm(readout.srm_delivery)
    imbalanced: tuple[str, ...] = ()
    if not readout.balance.empty and "imbalanced" in readout.balance.columns:
        bad = readout.balance.loc[readout.balance["imbalanced"].astype(bool)]
        imbalanced = tuple(f"{r.covariate} ({r.variant})" for r in bad.itertuples())
    diag = readout.diagnostics
    dropped = diag.loc[diag["reason"] != "counted"]
    reasons = tuple((str(r.reason), int(r.rows)) for r in dropped.itertuples() if r.rows)
    outside = getattr(readout, "split_made_outside", None)
    return Health(a_p, a_alert, d_p, d_alert, imbalanced, int(dropped["rows"].sum()), reasons, outside)


def _interval_kind(readout: Any) -> str:
    if readout.method == "bayesian":
        return "credible"
    return "always-valid" if getattr(readout.evaluation, "sequential", False) else "confidence"


def _lookup(frame: pd.DataFrame, **where: Any) -> pd.Series | None:
    if frame is None or frame.empty:
        return None
    mask = np.ones(len(frame), dtype=bool)
    for col, value in where.items():
        if col not in frame.columns:
            return None
        mask &= (frame[col].astype(str) == str(value)).to_numpy()
    hit = frame.loc[mask]
    return None if hit.empty else hit.iloc[0]


def _recommendation(readout: Any, row: pd.Series, adjusted: bool) -> Recommendation:
    get = row.get
    decision = str(get("decision", ""))
    variant = get("variant")
    variant = (
        None if variant is None or (isinstance(variant, float) and math.isnan(variant)) else str(variant)
    )
    best = get("best_variant")
    best = None if best is None or (isinstance(best, float) and math.isnan(best)) else str(best)
    shown = variant or best
    segment = str(get("segment", _POOLED))
    metric = str(get("metric", readout.experiment.metrics.primary))
    ev_row = (
        _lookup(readout.evaluation.to_pandas(), metric=metric, segment=segment, variant=shown)
        if shown
        else None
    )
    kind = str(ev_row["kind"]) if ev_row is not None else "proportion"
    rel = rel_low = rel_high = None
    control_observed = _observed(readout.evaluation).get((metric, segment, str(readout.evaluation.control)))
    if ev_row is not None and fmt.is_number(control_observed) and float(control_observed) > 0:
        rel = _float(ev_row.get("rel_lift"))
        rel_low, rel_high = (_bound(ev_row.get(c)) for c in ("rel_ci_low", "rel_ci_high"))
    if "profit" in row.index:  # the decision table carries the profit (contract 1)
        profit = [_float(get(c)) for c in ("profit", "profit_ci_low", "profit_ci_high")]
    else:  # before it does: the economics row of the variant shown
        econ = _lookup(readout.economics, segment=segment, variant=shown) if shown else None
        profit = [
            _float(econ.get(c)) if econ is not None else None
            for c in ("incremental_profit", "ci_low", "ci_high")
        ]
    confidence = get("confidence")
    objective = get("objective")
    return Recommendation(
        segment=segment,
        decision=decision,
        variant=variant,
        shown_variant=shown,
        objective=None if objective is None or pd.isna(objective) else str(objective),
        confidence=None if confidence is None or pd.isna(confidence) or confidence == "" else str(confidence),
        kind=kind,
        lift=_float(get("abs_lift")),
        lift_low=_bound(get("ci_low")),
        lift_high=_bound(get("ci_high")),
        rel_lift=rel,
        rel_low=rel_low,
        rel_high=rel_high,
        adjusted=adjusted,
        profit=profit[0],
        profit_low=profit[1],
        profit_high=profit[2],
        reason=str(get("reason", "") or ""),
    )


def _comparisons(readout: Any) -> tuple[Comparison, ...]:
    exp = readout.experiment
    table = readout.evaluation.to_pandas()
    table = table.loc[table["metric"] == exp.metrics.primary]
    families = {v.name: v.family for v in exp.variants}
    out = [
        Comparison(
            segment=str(r["segment"]),
            variant=str(r["variant"]),
            family=families.get(str(r["variant"]), str(r["variant"])),
            control=str(r["control"]),
            kind=str(r["kind"]),
            n_control=int(r["n_control"]),
            n_variant=int(r["n_variant"]),
            control_value=_float(r["control_value"]),
            variant_value=_float(r["variant_value"]),
            estimable=bool(r["estimable"]),
            lift=_float(r["abs_lift"]),
            lift_low=_bound(r["ci_low"]),
            lift_high=_bound(r["ci_high"]),
            rel_lift=_float(r["rel_lift"]),
            rel_low=_bound(r["rel_ci_low"]),
            rel_high=_bound(r["rel_ci_high"]),
        )
        for _, r in table.iterrows()
    ]
    return tuple(sorted(out, key=lambda c: c.segment != _POOLED))  # stable: "all" first


def _text_or_none(value: Any) -> str | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _decisions(folder: Path, recs: Sequence[Recommendation]) -> tuple[DecisionRecord, ...]:
    by_segment = {r.segment: r for r in recs}
    out = []
    for r in read_decisions(folder).to_dict("records"):
        segment, action, variant = str(r["segment"]), str(r["action"]), _text_or_none(r["variant"])
        rec = by_segment.get(segment)
        follows = (
            None if rec is None else follows_recommendation(action, variant, rec.decision, rec.variant)
        )
        out.append(
            DecisionRecord(
                date=str(r["time"] or "")[:10],
                by=_text_or_none(r["by"]) or "",
                segment=segment,
                action=action,
                variant=variant,
                note=_text_or_none(r["note"]) or "",
                follows=follows,
            )
        )
    return tuple(out)


def build(readout: Any, language: str | None = None) -> ReportView:
    """Choose what the report's first screen shows from a :class:`~abkit.workflow.Readout`.

    ``language`` overrides the spec's ``[report] language``. Nothing is computed here that the
    readout does not hold: lifts, intervals, profits and confidence words are picked, not derived.
    """
    lang = report_language(readout, language)
    exp = readout.experiment
    ev = readout.evaluation
    adjusted = bool(getattr(ev, "covariates", ()))
    decisions = readout.decisions
    recs = tuple(_recommendation(readout, r, adjusted) for _, r in decisions.iterrows())
    recs = tuple(sorted(recs, key=lambda r: r.segment != _POOLED))  # "all" first, then as decided
    analysis = exp.analysis
    return ReportView(
        name=exp.name,
        as_of=readout.as_of,
        language=lang,
        currency=_currency(readout),
        hypothesis=str(exp.hypothesis or "").strip(),
        owner=str(exp.owner or ""),
        primary_metric=exp.metrics.primary,
        method=readout.method,
        alpha=float(analysis.alpha),
        correction=str(analysis.correction),
        interval=_interval_kind(readout),
        sequential=bool(getattr(ev, "sequential", False)),
        covariates=tuple(getattr(ev, "covariates", ()) or ()),
        alternative=str(getattr(ev, "alternative", "two-sided")),
        per=1000,
        status=_status(readout),
        health=_health(readout),
        recommendations=recs,
        spec_file=Path(str(getattr(exp, "path", "experiment.toml"))).name,
        notes=tuple(readout.notes),
        metric_labels=_declared_labels(exp),
        comparisons=_comparisons(readout),
        decisions=_decisions(Path(exp.folder), recs),
    )


# ------------------------------------------------------------------------------------------------
# words
def _segment(view: ReportView, segment: str) -> str:
    return view.msg("segment.all") if segment == _POOLED else segment


def _metric(view: ReportView, metric: str) -> str:
    return view.metric_labels.get(metric) or label("metric", metric, view.language)


def metric_name(experiment: Any, metric: str, language: str = "en") -> str:
    """How a report names ``metric``: the label declared in ``[metrics.define.NAME]``, else the catalogue's.

    >>> metric_name(None, "repurchased", "ja")
    '再購入率'
    """
    declared = _declared_labels(experiment)
    return declared.get(metric) or label("metric", metric, language)


def _declared_labels(experiment: Any) -> dict[str, str]:
    define = getattr(getattr(experiment, "metrics", None), "define", None) or {}
    return {name: d.label for name, d in define.items() if getattr(d, "label", "")}


def _decision_word(view: ReportView, decision: str) -> str:
    return label("decision", decision, view.language)


def _confidence_word(view: ReportView, word: str | None) -> str:
    return label("confidence", word, view.language) if word else fmt.MISSING


def interval_name(view: ReportView) -> str:
    """The interval's name as the report writes it (a one-sided test: "... bound")."""
    family = "interval" if view.alternative == "two-sided" else "bound"
    return view.msg(f"{family}.{view.interval}", level=f"{view.level:.0%}")


def _lift_kind(kind: str) -> str:
    return "points" if kind == "proportion" else "money"


def _lift_column(key: str, header: str, kind: str, *, interval: bool = False) -> Column:
    return Column(key, header, _lift_kind(kind), interval=interval, signed=True)


def status_lines(view: ReportView) -> list[str]:
    """The status block: window, day X of Y, and whether reading daily is safe."""
    s = view.status
    window = (
        view.msg("status.running", day=s.day, days=s.days)
        if s.window_open
        else view.msg("status.closed", days=s.days, end=(s.window_end - dt.timedelta(days=1)).isoformat())
    )
    if s.method == "bayesian":
        daily = view.msg("status.daily_bayesian", end=s.planned_end.isoformat())
    elif s.daily_safe:
        daily = view.msg("status.daily_safe")
    else:
        daily = view.msg("status.daily_unsafe", end=s.planned_end.isoformat())
    health = view.msg("status.health_ok") if view.health.ok else view.msg("status.health_alert")
    objective = {r.objective for r in view.recommendations if r.objective} or {"primary"}
    judged = ", ".join(
        view.msg(f"objective.{o}", metric=_metric(view, view.primary_metric))
        if o in ("profit", "primary")
        else o
        for o in sorted(objective)
    )
    return [window, daily, health, view.msg("status.objective", objective=judged)]


def _variant_cell(view: ReportView, r: Recommendation) -> str:
    if r.shown_variant is None:
        return fmt.MISSING
    if r.decision == "ship":
        return r.shown_variant
    return view.msg("label.best_so_far", variant=r.shown_variant)  # not a recommendation to send


def recommendation_table(view: ReportView) -> TableView:
    """The answer: per segment the action, variant, primary lift, profit per 1,000 and confidence."""
    metric = _metric(view, view.primary_metric)
    kind = view.recommendations[0].kind if view.recommendations else "proportion"
    lift_header = view.msg("column.adjusted_lift" if view.covariates else "column.lift", metric=metric)
    columns = (
        Column("segment", view.msg("column.segment")),
        Column("action", view.msg("column.action")),
        Column("variant", view.msg("column.variant")),
        _lift_column("lift", lift_header, kind),
        _lift_column(
            "lift_ci", view.msg("column.interval", interval=interval_name(view)), kind, interval=True
        ),
        Column("rel_lift", view.msg("column.relative_lift"), "relative"),
        Column(
            "profit", view.msg("column.profit_per", per=fmt.count(view.per)), "money", digits=0, signed=True
        ),
        Column(
            "profit_ci", view.msg("column.profit_interval"), "money", interval=True, digits=0, signed=True
        ),
        Column("confidence", view.msg("column.confidence")),
    )
    rows = tuple(
        (
            _segment(view, r.segment),
            _decision_word(view, r.decision),
            _variant_cell(view, r),
            r.lift,
            (r.lift_low, r.lift_high),
            r.rel_lift,
            r.profit,
            (r.profit_low, r.profit_high),
            _confidence_word(view, r.confidence),
        )
        for r in view.recommendations
    )
    return TableView(
        title=view.msg("heading.recommendation"),
        columns=columns,
        rows=rows,
        language=view.language,
        currency=view.currency,
    )


def _up_without_profit(r: Recommendation) -> bool:
    """Deciding on profit, the primary lift's interval lies above zero but the profit's includes it."""
    return (
        r.objective == "profit"
        and r.decision == "keep collecting"
        and r.lift_low is not None
        and r.lift_low > 0
        and r.profit_low is not None
        and r.profit_high is not None
        and r.profit_low <= 0 <= r.profit_high
    )


def recommendation_sentences(view: ReportView) -> list[str]:
    """One plain sentence per segment saying what to do and why, in the view's language."""
    out = []
    metric = _metric(view, view.primary_metric)
    for r in view.recommendations:
        lift_col = _lift_column("lift", "", r.kind)
        lift = format_cell(r.lift, lift_col, language=view.language, currency=view.currency)
        if r.rel_lift is not None:
            lift += view.msg("sentence.relative", rel=fmt.relative(r.rel_lift))
        money = Column("profit", "", "money", digits=0, signed=True)
        if r.profit is not None:
            profit = view.msg(
                "sentence.profit",
                profit=format_cell(r.profit, money, language=view.language, currency=view.currency),
                interval=format_cell(
                    (r.profit_low, r.profit_high),
                    Column("p", "", "money", interval=True, digits=0, signed=True),
                    language=view.language,
                    currency=view.currency,
                ),
                per=fmt.count(view.per),
            )
        else:
            profit = view.msg("sentence.no_profit")
        values = {
            "segment": _segment(view, r.segment),
            "variant": r.shown_variant or fmt.MISSING,
            "metric": metric,
            "lift": lift,
            "profit": profit,
            "confidence": _confidence_word(view, r.confidence),
        }
        key = {
            "ship": "sentence.ship",
            "keep holdout": "sentence.keep_holdout",
            "keep collecting": "sentence.keep_collecting",
            "check the data": "sentence.check_data",
        }.get(r.decision, "sentence.other")
        if r.decision in ("keep holdout", "keep collecting") and r.shown_variant is None:
            key += "_none"
        elif r.decision == "keep collecting" and not view.status.window_open:
            key += "_closed"  # the window is over: more data means another wave
        values["decision"] = _decision_word(view, r.decision)
        text = view.msg(key, **values)
        if r.decision == "keep holdout":  # the surprising one: say why the campaign is not sent
            why = (
                r.reason
                if view.language == "en" and r.reason
                else label("decision_reason", r.decision, view.language)
            )
            text += view.msg("sentence.reason", reason=why)
        if _up_without_profit(r):  # the primary metric rose, the money is not shown: say both
            text += view.msg("sentence.profit_not_shown", metric=metric)
        if r.confidence and r.decision != "check the data":
            text += view.msg("sentence.confidence", confidence=_confidence_word(view, r.confidence))
        out.append(text)
    return out


# ------------------------------------------------------------------------------------------------
# HTML of the report's parts
#: The reports' stylesheet (evaluation, programme and targeting-plan reports share it).
REPORT_CSS = """
.abkit-report { font-size: 14px; line-height: 1.45; max-width: 1180px; }
.abkit-report h1 { font-size: 22px; margin: 0 0 6px 0; }
.abkit-report h2 { font-size: 18px; margin: 18px 0 6px 0; border-bottom: 1px solid #ddd;
  padding-bottom: 2px; }
.abkit-report h3 { font-size: 15px; margin: 12px 0 4px 0; }
.abkit-report p, .abkit-report ul { margin: 4px 0; }
.abkit-status { display: flex; flex-wrap: wrap; gap: 6px 18px; background: #f4f6f8; padding: 6px 10px;
  border-left: 4px solid #4a78b5; margin: 6px 0; }
.abkit-status.alert { border-left-color: #c0392b; background: #fbeeee; }
.abkit-hypothesis { color: #333; margin: 4px 0 8px 0; }
.abkit-table-wrap { overflow-x: auto; max-width: 100%; margin: 6px 0 10px 0; }
.abkit-table { border-collapse: collapse; font-size: 13px; }
.abkit-table th, .abkit-table td { padding: 3px 7px; border-bottom: 1px solid #e3e3e3; white-space: nowrap; }
.abkit-table th { background: #f4f6f8; font-weight: 600; white-space: normal; vertical-align: bottom;
  max-width: 150px; }
.abkit-report[lang='ja'] .abkit-table th { word-break: keep-all; max-width: 120px; }
.abkit-table td.num, .abkit-table th.num { text-align: right; font-variant-numeric: tabular-nums; }
.abkit-table td.txt, .abkit-table th.txt { text-align: left; }
.abkit-table td.long { white-space: normal; min-width: 200px; max-width: 240px; }
.abkit-caption { margin: 8px 0 2px 0; }
.abkit-note { font-size: 12px; color: #555; margin: 2px 0; }
.abkit-sentences li { margin: 2px 0; }
.abkit-figure img { max-width: 100%; height: auto; }
"""


def style_html(language: str = "en") -> str:
    """The reports' stylesheet, in the wrapper every report part uses (the first part of a report)."""
    return _wrap(language, f"<style>{REPORT_CSS}</style>")


def _wrap(view_or_lang: ReportView | str, inner: str) -> str:
    lang = view_or_lang.language if isinstance(view_or_lang, ReportView) else view_or_lang
    return f"<div class='abkit-report' lang='{escape_html(lang)}'>{inner}</div>"


def top_html(view: ReportView) -> str:
    """The first screen: title, status, hypothesis, recommendation table and one sentence per segment."""
    title = view.msg("report.title", name=view.name, date=view.as_of.isoformat())
    status = "".join(f"<span>{escape_html(s)}</span>" for s in status_lines(view))
    alert = "" if view.health.ok else " alert"
    hypothesis = ""
    if view.hypothesis:
        hypothesis = (
            f"<p class='abkit-hypothesis'><strong>{escape_html(view.msg('label.hypothesis'))}</strong> "
            f"{escape_html(view.hypothesis)}</p>"
        )
    sentences = "".join(f"<li>{escape_html(s)}</li>" for s in recommendation_sentences(view))
    table = recommendation_table(view)
    return _wrap(
        view,
        f"<style>{REPORT_CSS}</style><h1>{escape_html(title)}</h1>"
        f"<div class='abkit-status{alert}'>{status}</div>{hypothesis}"
        f"<h2>{escape_html(table.title)}</h2>{render_table(table, caption=False)}"
        f"<ul class='abkit-sentences'>{sentences}</ul>",
    )


def decisions_table(view: ReportView) -> TableView:
    """The decisions on record: date, who, segment, action, variant, note, follows the recommendation."""
    columns = (
        Column("date", view.msg("column.decided_on")),
        Column("by", view.msg("column.decided_by")),
        Column("segment", view.msg("column.segment")),
        Column("action", view.msg("column.action")),
        Column("variant", view.msg("column.variant")),
        Column("note", view.msg("column.note")),
        Column("follows", view.msg("column.follows")),
    )
    yes_no = {True: view.msg("format.yes"), False: view.msg("format.no"), None: fmt.MISSING}
    rows = tuple(
        (
            d.date,
            d.by,
            _segment(view, d.segment),
            label("action", d.action, view.language),
            d.variant or fmt.MISSING,
            d.note,
            yes_no[d.follows],
        )
        for d in view.decisions
    )
    return TableView(view.msg("heading.decisions_on_record"), columns, rows, language=view.language)


def decisions_html(view: ReportView) -> str:
    """The "Decisions on record" section (empty text when no decision is recorded), all text escaped."""
    if not view.decisions:
        return ""
    table = decisions_table(view)
    intro = [view.msg("intro.decisions_on_record")]
    return html_section(view.language, table.title, intro, [replace(table, title="")])


def html_section(
    language: str,
    heading: str | None = None,
    paragraphs: Sequence[str] = (),
    tables: Sequence[TableView] = (),
    *,
    level: int = 2,
    bullets: Sequence[str] = (),
) -> str:
    """A report section as HTML: heading, paragraphs, bullets and tables, all escaped."""
    parts = []
    if heading:
        parts.append(f"<h{level}>{escape_html(heading)}</h{level}>")
    parts += [f"<p>{escape_html(p)}</p>" for p in paragraphs]
    if bullets:
        parts.append("<ul>" + "".join(f"<li>{escape_html(b)}</li>" for b in bullets) + "</ul>")
    parts += [render_table(t) for t in tables]
    return _wrap(language, "".join(parts))


# ------------------------------------------------------------------------------------------------
# detail tables
def health_text(view: ReportView) -> list[str]:
    """Plain-language bullets of the data-health checks."""
    h = view.health
    out = []
    if h.split_made_outside:  # said plainly: abkit did not randomise this split
        out.append(view.msg("health.external_split", file=h.split_made_outside))
    for what, p, alert in (
        ("assignment", h.srm_assignment_p, h.srm_assignment_alert),
        ("delivery", h.srm_delivery_p, h.srm_delivery_alert),
    ):
        if p is None:
            out.append(view.msg(f"health.{what}_unchecked"))
        else:
            out.append(view.msg(f"health.{what}_{'alert' if alert else 'ok'}", p=fmt.p_value(p)))
    if h.imbalanced:
        out.append(view.msg("health.imbalanced", covariates=", ".join(h.imbalanced)))
    else:
        out.append(view.msg("health.balanced"))
    if h.rows_not_counted:
        parts = ", ".join(
            f"{label('reason', r, view.language)}: {fmt.count(n)}" for r, n in h.reasons_not_counted
        )
        out.append(view.msg("health.not_counted", rows=fmt.count(h.rows_not_counted), parts=parts))
    else:
        out.append(view.msg("health.all_counted"))
    return out


def srm_table(readout: Any, language: str = "en") -> TableView:
    """One row per sample-ratio check (assignment, delivery)."""
    rows = []
    for key, result in (("assignment", readout.srm_assignment), ("delivery", readout.srm_delivery)):
        ok = getattr(result, "ok", None)
        verdict = message(
            "health.check_ok" if ok else "health.check_alert" if ok is False else "health.check_none",
            language,
        )
        rows.append(
            (
                message(f"health.check_{key}", language),
                getattr(result, "n", None),
                getattr(result, "p_value", None),
                verdict,
            )
        )
    return TableView(
        title=message("table.srm", language),
        columns=(
            Column("check", message("column.check", language)),
            Column("units", message("column.customers", language), "count"),
            Column("p_value", message("column.p_value", language), "pvalue"),
            Column("status", message("column.status", language)),
        ),
        rows=tuple(rows),
        language=language,
    )


def balance_table(readout: Any, language: str = "en") -> TableView:
    """Pre-campaign balance per covariate and variant (standardised mean difference vs the holdout)."""
    b = readout.balance
    columns = (
        Column("covariate", message("column.covariate", language)),
        Column("variant", message("column.variant", language)),
        Column("mean_variant", message("column.mean_variant", language), "number"),
        Column("mean_control", message("column.mean_control", language), "number"),
        Column("smd", message("column.smd", language), "number", digits=3),
        Column("imbalanced", message("column.imbalanced", language), "bool"),
    )
    rows = (
        tuple(
            (
                label("covariate", str(r["covariate"]), language),
                str(r["variant"]),
                r["mean_variant"],
                r["mean_control"],
                r["smd"],
                bool(r["imbalanced"]),
            )
            for _, r in b.iterrows()
        )
        if not b.empty
        else ()
    )
    return TableView(message("table.balance", language), columns, rows, language=language)


def diagnostics_table(readout: Any, language: str = "en") -> TableView:
    """Event rows counted and not counted, by reason."""
    d = readout.diagnostics
    rows = tuple((label("reason", str(r["reason"]), language), int(r["rows"])) for _, r in d.iterrows())
    return TableView(
        message("table.diagnostics", language),
        (
            Column("reason", message("column.reason", language)),
            Column("rows", message("column.rows", language), "count"),
        ),
        rows,
        language=language,
    )


def funnel_table(readout: Any, language: str = "en") -> TableView:
    """Per arm: assigned customers and the share that was delivered, opened, clicked and bought again."""
    f = readout.funnel
    currency = _currency(readout)
    columns = [
        Column("variant", message("column.variant", language)),
        Column("assigned", message("column.assigned", language), "count"),
    ]
    for step in ("delivered", "opened", "clicked", "repurchased"):
        if f"{step}_rate" in f.columns:
            columns.append(Column(f"{step}_rate", label("metric", step, language), "percent"))
    if "revenue_per_recipient" in f.columns:
        columns.append(
            Column("revenue_per_recipient", message("column.revenue_per_customer", language), "money")
        )
    rows = tuple(tuple(rec.get(c.key) for c in columns) for rec in f.to_dict("records"))
    return TableView(
        message("table.funnel", language), tuple(columns), rows, language=language, currency=currency
    )


def _observed(evaluation: Any) -> dict[tuple[str, str, str], float]:
    st = evaluation.stats
    means = st["sum"].to_numpy(dtype=float) / st["n"].to_numpy(dtype=float)
    keys = zip(st["metric"].astype(str), st["segment"].astype(str), st["variant"].astype(str), strict=True)
    return dict(zip(keys, means, strict=True))


def results_tables(
    readout: Any,
    language: str = "en",
    *,
    engagement: bool = False,
    evaluation: Any = None,
    group_label: str | None = None,
) -> list[TableView]:
    """One compact table per metric: observed values per arm, the lift with its interval and the evidence.

    Values are the observed ones (one per arm); with covariates (CUPED) the lift and its interval
    are the adjusted ones and the header says so. Relative lifts are left out where the control's
    value is zero, negative or not estimable. ``evaluation`` shows another evaluation of the
    readout (a breakdown), whose groups are headed ``group_label`` instead of "Segment".
    """
    ev = evaluation if evaluation is not None else (readout.engagement if engagement else readout.evaluation)
    if ev is None:
        return []
    t = ev.to_pandas()
    observed = _observed(ev)
    level = 1 - float(ev.alpha)
    kind_of_interval = (
        "credible"
        if ev.method == "bayesian"
        else ("always-valid" if getattr(ev, "sequential", False) else "confidence")
    )
    interval = message(f"interval.{kind_of_interval}", language, level=f"{level:.0%}")
    adjusted = bool(getattr(ev, "covariates", ()))
    currency = _currency(readout)
    tables = []
    for metric in (*ev.metrics, *ev.guardrails):
        rows = t[t["metric"] == metric]
        if rows.empty:
            continue
        kind = str(rows["kind"].iloc[0])
        value_kind = "percent" if kind == "proportion" else "money"
        control = str(ev.control)
        adjusted_p = ev.method == "frequentist" and bool(ev.correction) and rows["role"].iloc[0] == "primary"
        if ev.method == "frequentist":
            evidence = Column(
                "p", message("column.p_adjusted" if adjusted_p else "column.p_value", language), "pvalue"
            )
            evidence_col = "p_adjusted" if adjusted_p else "p_value"
        else:
            evidence = Column("prob", message("column.prob_beat", language), "probability")
            evidence_col = "prob_beat_control"
        columns = [
            Column("segment", group_label or message("column.segment", language)),
            Column("variant", message("column.variant", language)),
            Column("n_variant", message("column.customers", language), "count"),
            Column(
                "control_observed", message("column.control_value", language, control=control), value_kind
            ),
            Column("variant_observed", message("column.variant_value", language), value_kind),
            _lift_column(
                "abs_lift",
                message("column.adjusted_lift_short" if adjusted else "column.lift_short", language),
                kind,
            ),
            _lift_column("ci", message("column.interval", language, interval=interval), kind, interval=True),
            Column("rel_lift", message("column.relative_lift", language), "relative"),
            evidence,
        ]
        if ev.method == "frequentist":
            columns.append(Column("significant", message("column.significant", language), "bool"))
        out_rows = []
        for _, r in rows.iterrows():
            seg, var = str(r["segment"]), str(r["variant"])
            c_obs = observed.get((metric, seg, control))
            v_obs = observed.get((metric, seg, var))
            # relative to the observed control: none against a zero (e.g. unsubscribes of a holdout)
            rel_ok = bool(r["estimable"]) and fmt.is_number(c_obs) and float(c_obs) > 0
            row = [
                message("segment.all", language) if seg == _POOLED else seg,
                var,
                r["n_variant"],
                c_obs,
                v_obs,
                r["abs_lift"] if r["estimable"] else None,
                (r["ci_low"], r["ci_high"]) if r["estimable"] else None,
                r["rel_lift"] if rel_ok else None,
                r[evidence_col],
            ]
            if ev.method == "frequentist":
                row.append(bool(r["significant"]))
            out_rows.append(tuple(row))
        role = str(rows["role"].iloc[0])
        title = message(
            "table.results_guardrail" if role == "guardrail" else "table.results",
            language,
            metric=metric_name(readout.experiment, metric, language),
            control=control,
        )
        tables.append(TableView(title, tuple(columns), tuple(out_rows), language=language, currency=currency))
    return tables


def breakdown_tables(readout: Any, language: str = "en") -> list[tuple[str, list[TableView]]]:
    """Per ``[analysis] breakdowns`` column: its results tables (each column its own correction family)."""
    out = []
    for column, evaluation in dict(getattr(readout, "breakdowns", {}) or {}).items():
        tables = results_tables(readout, language, evaluation=evaluation, group_label=str(column))
        out.append((str(column), tables))
    return out


def economics_table(readout: Any, language: str = "en") -> TableView | None:
    """Incremental profit per 1,000 customers targeted against the holdout, per segment and variant."""
    e = readout.economics
    if e is None or e.empty:
        return None
    return economics_view(
        e, 1000, language, title=message("table.economics", language), currency=_currency(readout),
        pooled_label=message("segment.all", language),
    )  # fmt: skip


def decision_table(readout: Any, language: str = "en") -> TableView:
    """The decision per segment with its evidence and, when not shipping, the customers still needed."""
    d = readout.decisions
    evidence_kind = (
        str(d["evidence_kind"].iloc[0]) if "evidence_kind" in d.columns and len(d) else "p_adjusted"
    )
    evidence = (
        Column("evidence", message("column.prob_beat", language), "probability")
        if evidence_kind == "prob_beat_control"
        else Column("evidence", message("column.p_adjusted", language), "pvalue")
    )
    columns = [
        Column("segment", message("column.segment", language)),
        Column("decision", message("column.action", language)),
        Column("variant", message("column.variant", language)),
        Column("best_variant", message("column.best_variant", language)),
        evidence,
        Column("extra_per_arm", message("column.extra_needed", language), "count"),
        Column("reason", message("column.reason", language)),
    ]
    rows = []
    for _, r in d.iterrows():
        decision = str(r.get("decision", ""))
        reason = (
            str(r.get("reason", "")) if language == "en" else label("decision_reason", decision, language)
        )
        extra = None if decision in ("ship", "check the data") else r.get("extra_per_arm")
        rows.append(
            (
                message("segment.all", language) if str(r["segment"]) == _POOLED else str(r["segment"]),
                label("decision", decision, language),
                r.get("variant") if isinstance(r.get("variant"), str) else fmt.MISSING,
                r.get("best_variant") if isinstance(r.get("best_variant"), str) else fmt.MISSING,
                r.get("evidence"),
                extra,
                reason,
            )
        )
    return TableView(message("table.decision", language), tuple(columns), tuple(rows), language=language)


def guardrail_text(readout: Any, language: str = "en") -> str:
    """Which winners a guardrail vetoed, against the tolerated margin."""
    exp = readout.experiment
    margin = fmt.points(exp.analysis.guardrail_margin, 1, unit=message("format.points_unit", language))
    guardrails = ", ".join(metric_name(exp, g, language) for g in exp.metrics.guardrails) or fmt.MISSING
    d = readout.decisions
    vetoed = d[d["vetoed_by"].fillna("").astype(str) != ""] if "vetoed_by" in d.columns else d.iloc[:0]
    text = message("guardrail.rule", language, guardrails=guardrails, margin=margin)
    if len(vetoed) == 0:
        return text + message("guardrail.none", language)
    parts = "; ".join(f"{r.segment}: {r.vetoed_by}" for r in vetoed.itertuples())
    return text + message("guardrail.vetoed", language, parts=parts)


def economics_text(readout: Any, language: str = "en") -> str:
    """What the profit numbers mean, or why there are none."""
    exp = readout.experiment
    if readout.economics is None or readout.economics.empty:
        return message("economics.none", language)
    currency = _currency(readout)
    costs = "; ".join(
        message(
            "economics.costs",
            language,
            variant=v.name,
            contact=fmt.money(v.contact_cost, currency),
            offer=fmt.money(v.offer_cost, currency),
        )
        for v in exp.variants
        if v.contacted
    )
    return message(
        "economics.formula", language, margin=fmt.number(exp.analysis.gross_margin, 2), costs=costs
    )


def methods(readout: Any, language: str = "en") -> list[str]:
    """The methods appendix: every convention the report uses, named once."""
    view = build(readout, language)
    exp = readout.experiment
    a = exp.analysis
    ev = readout.evaluation
    msg = view.msg
    out = []
    if readout.method == "bayesian":
        out.append(msg("methods.bayesian", prior_a=f"{a.prior.alpha:g}", prior_b=f"{a.prior.beta:g}"))
        assigned = getattr(readout, "assignment", None)
        if isinstance(assigned, pd.DataFrame) and PROPENSITY_COL in assigned.columns:
            shares = assigned.groupby("variant", observed=True)[PROPENSITY_COL].nunique()
            if (shares > 1).any():  # a targeted wave whose arm shares differ by cell: not weighted here
                out.append(msg("methods.weighted_bayesian", column=PROPENSITY_COL))
    else:
        if a.correction == "none":
            out.append(msg("methods.frequentist_none", alpha=f"{a.alpha:g}"))
        else:
            correction = label("correction", a.correction, view.language)
            out.append(msg("methods.frequentist", alpha=f"{a.alpha:g}", correction=correction))
            out.append(msg("methods.unadjusted"))
    out.append(msg("methods.interval", interval=interval_name(view)))
    alternative = str(getattr(ev, "alternative", "two-sided"))
    if alternative != "two-sided":
        op = ">" if alternative == "larger" else "<"
        out.append(msg("methods.alternative", alternative=alternative, op=op))
    if view.sequential:
        out.append(msg("methods.sequential", label=str(getattr(ev, "sequential_label", "") or "")))
    t = ev.to_pandas()
    # each row names its methods as "a; b; c": name every part once
    parts = (
        [p.strip() for m in t["method"].dropna().astype(str) for p in m.split(";")] if "method" in t else []
    )
    tests = list(dict.fromkeys(p for p in parts if p))
    if tests:
        out.append(msg("methods.tests", tests="; ".join(tests)))
    if view.covariates:
        out.append(msg("methods.cuped", covariates=", ".join(view.covariates)))
    if any(HAJEK_METHOD in p for p in tests):  # a targeted wave whose cells are not the segments
        out.append(msg("methods.weighted", column=PROPENSITY_COL))
    out.append(msg("methods.observed"))
    out.append(msg("methods.relative"))
    out.append(
        msg(
            "methods.window",
            start=exp.dates.send_date.isoformat(),
            end=exp.dates.window_end.isoformat(),
            control=exp.control,
        )
    )
    out.append(msg("methods.srm"))
    out.append(msg("methods.balance"))
    if not (readout.economics is None or readout.economics.empty):
        out.append(msg("methods.profit", per=fmt.count(view.per)))
    out.append(msg("methods.confidence"))
    out.append(msg("methods.currency", currency=view.currency or msg("methods.no_currency")))
    out.append(msg("methods.generated", version=__version__, spec=view.spec_file))
    return out


# ------------------------------------------------------------------------------------------------
# figures
def font_path() -> Path:
    """The bundled Japanese font (IPAexGothic, from the ``matplotlib-fontja`` package).

    Located without importing the package, whose import changes matplotlib's global settings.
    """
    spec = importlib_util.find_spec("matplotlib_fontja")
    if spec is None or spec.origin is None:  # pragma: no cover - a broken installation
        raise FileNotFoundError("the matplotlib-fontja package is missing; reinstall abkit")
    return Path(spec.origin).parent / "fonts" / "ipaexg.ttf"


def use_fonts(language: str = "en") -> None:
    """Make matplotlib draw the language's glyphs: for Japanese, the bundled IPAexGothic font.

    Registers the font once and puts it first in ``font.family`` (DejaVu Sans stays as fallback).
    """
    import matplotlib
    from matplotlib import font_manager

    if language == "ja":
        path = str(font_path())
        if not any(f.fname == path for f in font_manager.fontManager.ttflist):
            font_manager.fontManager.addfont(path)
        matplotlib.rcParams["font.family"] = [FONT_FAMILY, "DejaVu Sans"]
    else:
        matplotlib.rcParams["font.family"] = ["DejaVu Sans"]


@contextmanager
def _quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def figure_html(fig: Any, alt: str, *, dpi: int = 100) -> str:
    """An embedded PNG ``<img>`` with alt text (no network, no file); closes the figure."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return (
        f"<div class='abkit-figure'><img alt='{escape_html(alt)}' title='{escape_html(alt)}' "
        f"src='data:image/png;base64,{data}'></div>"
    )


def plot_funnel(readout: Any, ax: Any = None, *, language: str = "en") -> Any:
    """Grouped bars on a linear scale: the share of each arm delivered, opened, clicked and repurchased."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3.4))
    funnel = readout.funnel
    steps = [s for s in ("delivered", "opened", "clicked", "repurchased") if f"{s}_rate" in funnel.columns]
    x = np.arange(len(steps))
    n = len(funnel)
    width = 0.8 / max(n, 1)
    for i, rec in enumerate(funnel.to_dict("records")):
        values = [100 * float(rec[f"{s}_rate"]) for s in steps]
        bars = ax.bar(x + (i - (n - 1) / 2) * width, values, width, label=str(rec["variant"]))
        for bar, v in zip(bars, values, strict=True):
            ax.annotate(
                f"{v:.1f}", (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom",
                fontsize=7, xytext=(0, 1), textcoords="offset points",
            )  # fmt: skip
    ax.set_xticks(x, [label("metric", s, language) for s in steps])
    ax.set_ylabel(message("plot.funnel_y", language))
    ax.set_title(message("plot.funnel_title", language))
    ax.set_ylim(0, max(ax.get_ylim()[1], 1) * 1.08)
    ax.legend(title=message("column.variant", language), fontsize="small", frameon=False, loc="upper right")
    ax.spines[["top", "right"]].set_visible(False)
    return ax


def plot_forest(
    readout: Any, ax: Any = None, *, metric: str | None = None, relative: bool = False, language: str = "en"
) -> Any:
    """Forest plot of one metric's lifts in percentage points (or percent), with the table's intervals.

    Green: the variant is clearly better than the control (as in the table's significance column);
    red: clearly worse; grey: not clear. The interval type and level are those of the tables.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    ev = readout.evaluation
    name = metric or ev.metrics[0]
    t = ev.to_pandas()
    rows = t[t["metric"] == name].reset_index(drop=True)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.32 * len(rows) + 1.6))
    key = ("rel_lift", "rel_ci_low", "rel_ci_high") if relative else ("abs_lift", "ci_low", "ci_high")
    scale = 100.0 if relative or str(rows["kind"].iloc[0]) == "proportion" else 1.0
    est, lo, hi = (rows[c].to_numpy(dtype=float) * scale for c in key)
    if relative:
        ok_rel = rows["control_value"].to_numpy(dtype=float) > 0
        est = np.where(ok_rel, est, np.nan)
    if ev.method == "frequentist":
        clear = rows["significant"].to_numpy(dtype=bool)
    else:
        prob = rows["prob_beat_control"].to_numpy(dtype=float)
        clear = (prob >= 1 - ev.alpha) | (prob <= ev.alpha)
    sign = rows["abs_lift"].to_numpy(dtype=float)
    colours = np.where(clear & (sign > 0), "tab:green", np.where(clear & (sign < 0), "tab:red", "tab:grey"))
    y = np.arange(len(rows))[::-1].astype(float)
    for i in range(len(rows)):
        if not np.isfinite(est[i]):
            continue
        if np.isfinite(lo[i]) and np.isfinite(hi[i]):
            ax.plot([lo[i], hi[i]], [y[i], y[i]], color=colours[i], linewidth=2)
        ax.plot([est[i]], [y[i]], "o", color=colours[i], markersize=5)
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.set_yticks(
        y,
        [
            f"{message('segment.all', language) if s == _POOLED else s} · {v}"
            for s, v in zip(rows["segment"], rows["variant"], strict=True)
        ],
    )
    ax.tick_params(axis="y", labelsize=8)
    level = f"{1 - ev.alpha:.0%}"
    kind = (
        "credible"
        if ev.method == "bayesian"
        else ("always-valid" if getattr(ev, "sequential", False) else "confidence")
    )
    interval = message(f"interval.{kind}", language, level=level)
    unit = message(
        "plot.unit_percent" if relative else ("plot.unit_points" if scale == 100 else "plot.unit_value"),
        language,
    )
    metric_label = metric_name(readout.experiment, name, language)
    ax.set_xlabel(message("plot.forest_x", language, metric=metric_label, unit=unit))
    ax.set_title(
        message(
            "plot.forest_title", language, metric=metric_label, control=str(ev.control), interval=interval
        )
    )
    handles = [
        Line2D(
            [0], [0], color="tab:green", marker="o", linewidth=2, label=message("plot.clear_better", language)
        ),
        Line2D(
            [0], [0], color="tab:red", marker="o", linewidth=2, label=message("plot.clear_worse", language)
        ),
        Line2D(
            [0], [0], color="tab:grey", marker="o", linewidth=2, label=message("plot.not_clear", language)
        ),
    ]
    ax.legend(handles=handles, fontsize="small", frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.spines[["top", "right"]].set_visible(False)
    return ax


def plot_balance(readout: Any, ax: Any = None, *, language: str = "en") -> Any:
    """Standardised mean differences of the pre-campaign covariates per variant (|SMD| > 0.1 flagged)."""
    import matplotlib.pyplot as plt

    b = readout.balance
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.25 * max(len(b), 1) + 1.4))
    y = np.arange(len(b))[::-1]
    smd = b["smd"].to_numpy(dtype=float)
    colours = np.where(np.abs(smd) > 0.1, "tab:red", "tab:blue")
    ax.scatter(smd, y, c=colours, s=18)
    ax.axvline(0, color="black", linewidth=0.8)
    for edge in (-0.1, 0.1):
        ax.axvline(edge, color="grey", linestyle="--", linewidth=0.8)
    ax.set_yticks(
        y,
        [
            f"{label('covariate', str(c), language)} · {v}"
            for c, v in zip(b["covariate"], b["variant"], strict=True)
        ],
    )
    ax.tick_params(axis="y", labelsize=8)
    ax.set_xlabel(message("plot.balance_x", language))
    ax.set_title(message("plot.balance_title", language))
    ax.spines[["top", "right"]].set_visible(False)
    return ax


# ------------------------------------------------------------------------------------------------
# files: the JSON summary and the Excel workbook
def _json_number(value: Any) -> float | None:
    return float(value) if fmt.is_number(value) else None


def summary_dict(view: ReportView) -> dict[str, Any]:
    """The JSON summary as a dict (schema ``abkit.report/1``, see the module docstring)."""
    s, h = view.status, view.health
    return {
        "schema": JSON_SCHEMA,
        "abkit_version": __version__,
        "experiment": view.name,
        "as_of": view.as_of.isoformat(),
        "language": view.language,
        "currency": view.currency,
        "primary_metric": view.primary_metric,
        "per": view.per,
        "method": {
            "name": view.method,
            "alpha": view.alpha,
            "level": view.level,
            "correction": view.correction,
            "interval": view.interval,
            "sequential": view.sequential,
            "covariates": list(view.covariates),
            "alternative": view.alternative,
        },
        "status": {
            "window_open": s.window_open,
            "day": s.day,
            "days": s.days,
            "daily_reading_safe": s.daily_safe,
            "send_date": s.send_date.isoformat(),
            "window_end": s.window_end.isoformat(),
            "planned_end": s.planned_end.isoformat(),
        },
        "health": {
            "ok": h.ok,
            "srm_assignment": {"p_value": _json_number(h.srm_assignment_p), "alert": h.srm_assignment_alert},
            "srm_delivery": {"p_value": _json_number(h.srm_delivery_p), "alert": h.srm_delivery_alert},
            "imbalanced_covariates": list(h.imbalanced),
            "event_rows_not_counted": h.rows_not_counted,
        },
        "segments": [
            {
                "segment": r.segment,
                "decision": r.decision,
                "variant": r.variant,
                "shown_variant": r.shown_variant,
                "objective": r.objective,
                "confidence": r.confidence,
                "primary_lift": {
                    "abs": _json_number(r.lift),
                    "abs_ci_low": _json_number(r.lift_low),
                    "abs_ci_high": _json_number(r.lift_high),
                    "rel": _json_number(r.rel_lift),
                    "rel_ci_low": _json_number(r.rel_low),
                    "rel_ci_high": _json_number(r.rel_high),
                    "adjusted": r.adjusted,
                },
                "profit": {
                    "value": _json_number(r.profit),
                    "ci_low": _json_number(r.profit_low),
                    "ci_high": _json_number(r.profit_high),
                },
            }
            for r in view.recommendations
        ],
        "comparisons": [
            {
                "segment": c.segment,
                "variant": c.variant,
                "family": c.family,
                "control": c.control,
                "kind": c.kind,
                "n_control": c.n_control,
                "n_variant": c.n_variant,
                "control_value": _json_number(c.control_value),
                "variant_value": _json_number(c.variant_value),
                "estimable": c.estimable,
                "primary_lift": {
                    "abs": _json_number(c.lift),
                    "abs_ci_low": _json_number(c.lift_low),
                    "abs_ci_high": _json_number(c.lift_high),
                    "rel": _json_number(c.rel_lift),
                    "rel_ci_low": _json_number(c.rel_low),
                    "rel_ci_high": _json_number(c.rel_high),
                    "adjusted": bool(view.covariates),
                },
            }
            for c in view.comparisons
        ],
    }


def summary_json(view: ReportView) -> str:
    """The JSON summary text: UTF-8, indented, no wall-clock time (same inputs, same bytes)."""
    return json.dumps(summary_dict(view), ensure_ascii=False, indent=2) + "\n"


_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def _sheet_title(text: str) -> str:
    return _SHEET_BAD.sub(" ", text)[:31]


def _write_frame(ws: Any, frame: pd.DataFrame, start_row: int = 1, title: str | None = None) -> int:
    """Write a frame (header + rows) from ``start_row``; text is always text (never a formula)."""
    row = start_row
    if title:
        _set(ws.cell(row=row, column=1), title)
        row += 1
    for j, name in enumerate(frame.columns, start=1):
        _set(ws.cell(row=row, column=j), str(name))
    for values in frame.itertuples(index=False):
        row += 1
        for j, value in enumerate(values, start=1):
            _set(ws.cell(row=row, column=j), value)
    return row + 2


def _set(cell: Any, value: Any) -> None:
    if value is None or value is pd.NA or (isinstance(value, float) and not math.isfinite(value)):
        return
    if isinstance(value, (bool, np.bool_)):
        cell.value = bool(value)
    elif isinstance(value, (int, np.integer)):
        cell.value = int(value)
    elif isinstance(value, (float, np.floating)):
        cell.value = float(value)
    elif isinstance(value, (dt.date, pd.Timestamp)):
        cell.value = str(value)
    else:
        cell.value = str(value)
        cell.data_type = "s"  # "=HYPERLINK(...)" from a label stays text, never a formula


def write_workbook(
    readout: Any, path: str | Path, language: str | None = None, *, overwrite: bool = True
) -> Path:
    """Write the complete tables as an Excel workbook (sheets: summary, results, economics, decision, health).

    Sheet names and the summary's headers come from the catalogue; the other sheets hold every
    column of the statistical tables, unrounded. Written atomically.
    """
    from openpyxl import Workbook

    view = build(readout, language)
    lang = view.language
    wb = Workbook()
    ws = wb.active
    ws.title = _sheet_title(message("sheet.summary", lang))
    summary = recommendation_table(view)
    frame = summary.to_pandas()
    frame.columns = _summary_headers(summary)
    _write_frame(ws, frame)
    results = [readout.evaluation.to_pandas()]
    if readout.engagement is not None:
        results.append(readout.engagement.to_pandas())
    _write_frame(
        wb.create_sheet(_sheet_title(message("sheet.results", lang))), pd.concat(results, ignore_index=True)
    )
    _write_frame(wb.create_sheet(_sheet_title(message("sheet.economics", lang))), readout.economics)
    _write_frame(wb.create_sheet(_sheet_title(message("sheet.decision", lang))), readout.decisions)
    ws = wb.create_sheet(_sheet_title(message("sheet.health", lang)))
    row = 1
    for key, result in (("assignment", readout.srm_assignment), ("delivery", readout.srm_delivery)):
        table = getattr(result, "table", None)
        if isinstance(table, pd.DataFrame):
            head = (
                message(f"health.check_{key}", lang)
                + f" (p = {fmt.p_value(getattr(result, 'p_value', None))})"
            )
            row = _write_frame(ws, table, row, head)
    if not readout.balance.empty:
        row = _write_frame(ws, readout.balance, row, message("table.balance", lang))
    _write_frame(ws, readout.diagnostics, row, message("table.diagnostics", lang))
    path = Path(path)
    with atomic_path(path, overwrite=overwrite) as tmp:
        wb.save(tmp)
    return path


def _summary_headers(view: TableView) -> list[str]:
    low, high = message("column.low", view.language), message("column.high", view.language)
    out = []
    for c in view.columns:
        if c.interval:
            out += [f"{c.header} ({low})", f"{c.header} ({high})"]
        else:
            out.append(c.header)
    return out


def write_outputs(readout: Any, output_dir: str | Path, language: str | None = None) -> list[Path]:
    """Write ``NAME-DATE.xlsx`` and ``NAME-DATE.json`` into ``output_dir``; return their paths.

    ``output_dir`` is the report run's staging folder (``abkit report`` publishes it as a unit);
    an empty string writes nothing.
    """
    if not str(output_dir):
        return []
    folder = Path(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    view = build(readout, language)
    stem = f"{view.name}-{view.as_of.isoformat()}"
    xlsx = write_workbook(readout, folder / f"{stem}.xlsx", view.language)
    js = write_text(folder / f"{stem}.json", summary_json(view))
    return [xlsx, js]


# ------------------------------------------------------------------------------------------------
# the notebook as offline HTML
_LANG_RE = re.compile(r"<div class='abkit-report' lang='([a-z]{2})'>")
#: The page around the report's parts: the lab template's look without its scripts.
_PAGE_CSS = (
    "body{margin:0;padding:8px 24px;font-family:system-ui,-apple-system,'Segoe UI',Roboto,"
    "'Noto Sans CJK JP','Hiragino Sans',sans-serif;font-size:14px;line-height:1.45;color:#1a1a1a;"
    "background:#fff}main{max-width:1232px}pre.abkit-output{white-space:pre-wrap;font-size:13px}"
)


def _joined(value: Any) -> str:
    """A notebook output's text, stored as one string or as a list of lines."""
    return "".join(value) if isinstance(value, list) else str(value)


def notebook_html(notebook: str | Path) -> str:
    """Render an executed report notebook as one standalone HTML page that needs no network.

    The page holds the notebook's displayed outputs in order (HTML as the report renders it; other
    text escaped), never its code, prompts, stderr or errors, and no script at all (no require.js,
    MathJax or widget manager); ``<html lang>`` is the report's language and figures are embedded.
    abkit assembles the page itself, so a report needs no HTML exporter.
    """
    import nbformat  # notebook files: a dependency of papermill

    nb = nbformat.read(str(notebook), as_version=4)
    language, title, parts = "en", "", []
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            if kind == "stream":
                if out.get("name") == "stdout" and out.get("text"):
                    parts.append(f"<pre class='abkit-output'>{escape_html(str(out['text']))}</pre>")
                continue
            if kind not in ("display_data", "execute_result"):
                continue  # errors never reach the published page
            data = out.get("data", {})
            if "text/html" in data:
                html = _joined(data["text/html"])
                found = _LANG_RE.search(html)
                if found and found.group(1) in LANGUAGES and not title:
                    language = found.group(1)
                heading = re.search(r"<h1>(.*?)</h1>", html, flags=re.S)
                if heading and not title:
                    title = re.sub(r"<[^>]+>", "", heading.group(1))
                parts.append(html)
            elif "image/png" in data:
                png = _joined(data["image/png"])
                parts.append(f"<img alt='' src='data:image/png;base64,{png.strip()}'>")
            elif "text/plain" in data:
                parts.append(f"<pre class='abkit-output'>{escape_html(_joined(data['text/plain']))}</pre>")
    body = "\n".join(parts)
    return (
        f"<!DOCTYPE html>\n<html lang=\"{escape_html(language)}\">\n<head>\n<meta charset=\"utf-8\"/>\n"
        "<meta content=\"width=device-width, initial-scale=1.0\" name=\"viewport\"/>\n"
        f"<title>{title or 'abkit report'}</title>\n<style>{_PAGE_CSS}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


# ------------------------------------------------------------------------------------------------
# the design notebook
def plan_text(experiment: Any, table: pd.DataFrame, baseline: float) -> str:
    """One paragraph for the design notebook: the pool and the weakest comparison."""
    pool = table.loc[table["segment"] == "all", "n"].sum()
    return (
        f"**{experiment.name}**: {int(pool):,} eligible dormant customers, expected control rate of "
        f"{experiment.metrics.primary} {baseline:.2%}, alpha {experiment.analysis.alpha:g}, "
        f"power {experiment.analysis.power:.0%}."
    )


def table_html(table: TableView | pd.DataFrame, title: str = "") -> str:
    """Render a :class:`~abkit.views.TableView`, or a raw frame (design notebook), as an HTML table."""
    if isinstance(table, TableView):
        return render_table(table)
    return frame_to_html(table.reset_index(drop=True), title=title)
