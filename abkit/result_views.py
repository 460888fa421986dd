"""Readable views of abkit's result tables: decisions, economics and power plans.

Each function takes a result's table (a DataFrame with the documented columns) and returns a
compact :class:`~abkit.views.TableView` (at most 10 columns) or a plain-language
:class:`~abkit.messages.Text`, in the reader's language. They only pick and format: the numbers
are the table's. The result classes (:class:`~abkit.evaluation.Decision`,
:class:`~abkit.evaluation.Economics`) display through them; the full table stays ``.table``.

>>> import pandas as pd
>>> d = pd.DataFrame({"segment": ["all"], "decision": ["ship"], "variant": ["coupon"],
...                   "best_variant": ["coupon"], "abs_lift": [0.025], "ci_low": [0.01],
...                   "ci_high": [0.04], "reason": ["coupon beats the control"]})
>>> print(decision_summary(d))
all: Ship coupon (+2.5 pp, +1.0 pp to +4.0 pp): coupon beats the control
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from abkit import formatting as fmt
from abkit.messages import Text, label, message
from abkit.metrics import POOLED_SEGMENT
from abkit.views import Column, TableView, interval_text

__all__ = ["decision_summary", "decision_view", "economics_summary", "economics_view", "plan_view"]


def _text(value: Any) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)) or value == "":
        return None
    return str(value)


def _lift(value: Any, language: str) -> str:
    return fmt.points(value, 1, unit=message("format.points_unit", language))


def decision_summary(table: pd.DataFrame, language: str = "en") -> Text:
    """One line per segment: the action, the variant, its lift and interval, and why."""
    lines = []
    for rec in table.to_dict("records"):
        decision = str(rec.get("decision", ""))
        variant = _text(rec.get("variant")) or _text(rec.get("best_variant"))
        head = label("decision", decision, language)
        if variant and decision == "ship":
            head = message("result.ship_variant", language, variant=variant)
        detail = ""
        if variant and fmt.is_number(rec.get("abs_lift")):
            detail = message(
                "result.lift_detail",
                language,
                lift=_lift(rec["abs_lift"], language),
                interval=interval_text(
                    rec.get("ci_low"), rec.get("ci_high"), lambda v: _lift(v, language), language=language
                ),
            )
        if decision != "ship" and variant:
            detail = message("result.best_so_far", language, variant=variant) + detail
        reason = (
            _text(rec.get("reason")) if language == "en" else label("decision_reason", decision, language)
        )
        segment = str(rec.get("segment", "all"))
        lines.append(
            f"{segment}: {head}{detail}"
            + (message("result.reason", language, reason=reason) if reason else "")
        )
    return Text("\n".join(lines))


def decision_view(
    table: pd.DataFrame, language: str = "en", *, title: str = "", currency: str | None = None
) -> TableView:
    """The decision per segment in at most 10 columns (profit and confidence when the table has them)."""
    bayes = "evidence_kind" in table.columns and (table["evidence_kind"] == "prob_beat_control").any()
    specs: list[tuple[Column, Any]] = [
        (Column("segment", message("column.segment", language)), lambda r: str(r.get("segment"))),
        (
            Column("decision", message("column.action", language)),
            lambda r: label("decision", str(r.get("decision")), language),
        ),
        (
            Column("variant", message("column.variant", language)),
            lambda r: _text(r.get("variant")) or fmt.MISSING,
        ),
        (
            Column("best_variant", message("column.best_variant", language)),
            lambda r: _text(r.get("best_variant")) or fmt.MISSING,
        ),
        (Column("abs_lift", message("column.lift_short", language), "points"), lambda r: r.get("abs_lift")),
        (
            Column("ci", message("column.interval_plain", language), "points", interval=True),
            lambda r: (r.get("ci_low"), r.get("ci_high")),
        ),
    ]
    if "profit" in table.columns:
        per = message("column.profit_per", language, per="1,000")
        specs.append(
            (Column("profit", per, "money", digits=0, signed=True), lambda r: r.get("profit")),
        )
    if "confidence" in table.columns:
        specs.append(
            (
                Column("confidence", message("column.confidence", language)),
                lambda r: (
                    label("confidence", str(r.get("confidence")), language)
                    if _text(r.get("confidence"))
                    else fmt.MISSING
                ),
            )
        )
    evidence = (
        Column("evidence", message("column.prob_beat", language), "probability")
        if bayes
        else Column("evidence", message("column.p_adjusted", language), "pvalue")
    )
    specs.append((evidence, lambda r: r.get("evidence")))
    specs.append(
        (
            Column("extra_per_arm", message("column.extra_needed", language), "count"),
            lambda r: None if r.get("decision") in ("ship", "check the data") else r.get("extra_per_arm"),
        )
    )
    specs = specs[:10]
    rows = tuple(tuple(get(rec) for _, get in specs) for rec in table.to_dict("records"))
    return TableView(title, tuple(c for c, _ in specs), rows, language=language, currency=currency)


def economics_summary(
    table: pd.DataFrame, per: int, language: str = "en", currency: str | None = None
) -> Text:
    """One line per segment and variant: incremental profit per ``per`` customers and its interval."""
    lines = []
    for rec in table.to_dict("records"):
        lines.append(
            message(
                "result.economics_line",
                language,
                segment=str(rec.get("segment")),
                variant=str(rec.get("variant")),
                profit=fmt.money(rec.get("incremental_profit"), currency, sign=True, decimals=0),
                interval=fmt.interval(
                    rec.get("ci_low"),
                    rec.get("ci_high"),
                    fmt.money,
                    sep=message("format.interval_sep", language),
                    currency=currency,
                    sign=True,
                    decimals=0,
                ),
                per=fmt.count(per),
            )
        )
    return Text("\n".join(lines))


def economics_view(
    table: pd.DataFrame,
    per: int,
    language: str = "en",
    *,
    title: str = "",
    currency: str | None = None,
    pooled_label: str | None = None,
) -> TableView:
    """Incremental profit per segment and variant in 7 columns (:func:`abkit.economics` rows).

    ``pooled_label`` replaces the pooled segment's name (``"all"``) in the table, as the report does.
    """
    control = str(table["control"].iloc[0]) if "control" in table.columns and len(table) else "holdout"
    columns = (
        Column("segment", message("column.segment", language)),
        Column("variant", message("column.variant", language)),
        Column(
            "profit_per_customer_control",
            message("column.profit_customer_control", language, control=control),
            "money",
        ),
        Column("profit_per_customer_variant", message("column.profit_customer_variant", language), "money"),
        Column(
            "incremental_profit",
            message("column.profit_per", language, per=fmt.count(per)),
            "money",
            digits=0,
            signed=True,
        ),
        Column(
            "ci", message("column.profit_interval", language), "money", interval=True, digits=0, signed=True
        ),
        Column("p_value", message("column.p_value", language), "pvalue"),
    )
    def segment(value: Any) -> str:
        return pooled_label if pooled_label is not None and str(value) == POOLED_SEGMENT else str(value)

    rows = tuple(
        (
            segment(r.get("segment")),
            str(r.get("variant")),
            r.get("profit_per_customer_control"),
            r.get("profit_per_customer_variant"),
            r.get("incremental_profit"),
            (r.get("ci_low"), r.get("ci_high")),
            r.get("p_value"),
        )
        for r in table.to_dict("records")
    )
    return TableView(title, columns, rows, language=language, currency=currency)


def plan_view(table: pd.DataFrame, language: str = "en", *, title: str = "") -> TableView:
    """A power plan (:func:`abkit.power.plan` rows, optionally with ``segment``) in points and percent.

    >>> t = pd.DataFrame({"arm": ["holdout", "coupon"], "comparison": [None, "coupon vs holdout"],
    ...                   "n": [1200, 5400], "mde": [float("nan"), 0.0123],
    ...                   "relative_mde": [float("nan"), 0.31]})
    >>> print(plan_view(t).to_text())  # doctest: +NORMALIZE_WHITESPACE
    Arm      Comparison         Customers  Detectable lift  Detectable relative lift
    holdout  –                      1,200                –                         –
    coupon   coupon vs holdout      5,400          +1.2 pp                    +31.0%
    """
    has_segment = "segment" in table.columns
    columns = []
    if has_segment:
        columns.append(Column("segment", message("column.segment", language)))
    columns += [
        Column("arm", message("column.arm", language)),
        Column("comparison", message("column.comparison", language)),
        Column("n", message("column.customers", language), "count"),
        Column("mde", message("column.detectable_lift", language), "points"),
    ]
    if "relative_mde" in table.columns:
        columns.append(Column("relative_mde", message("column.detectable_relative", language), "relative"))
    rows = tuple(
        tuple(fmt.MISSING if c.key == "comparison" and not isinstance(rec.get(c.key), str) else rec.get(c.key)
              for c in columns)
        for rec in table.to_dict("records")
    )  # fmt: skip
    return TableView(title, tuple(columns), rows, language=language)
