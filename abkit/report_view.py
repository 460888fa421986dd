"""Presentation of a :class:`~abkit.workflow.Readout` for the report notebook: text, tables and plots.

The notebook stays thin (a call per section); everything here is plain Python that tests can call.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from abkit._display import frame_to_html

__all__ = [
    "balance_table",
    "decision_table",
    "decision_text",
    "economics_table",
    "economics_text",
    "footer",
    "guardrail_text",
    "header",
    "health_text",
    "plan_text",
    "plot_balance",
    "plot_funnel",
    "results_table",
    "results_text",
    "results_title",
    "srm_table",
    "table_html",
]

#: Columns of the results table shown in the report, in order (those present are shown).
RESULT_COLUMNS = (
    "metric",
    "segment",
    "variant",
    "n_variant",
    "control_value",
    "variant_value",
    "abs_lift",
    "ci_low",
    "ci_high",
    "rel_lift",
    "rel_ci_low",
    "rel_ci_high",
    "p_value",
    "p_adjusted",
    "significant",
    "prob_beat_control",
    "prob_best",
    "expected_loss",
    "variance_reduction",
    "estimable",
)


def table_html(frame: pd.DataFrame, title: str = "") -> str:
    """Render a table for the report (numbers formatted for display only)."""
    return frame_to_html(frame.reset_index(drop=True), title=title)


def header(readout: Any) -> str:
    """Markdown heading: the experiment, its hypothesis, status and how it is judged."""
    exp = readout.experiment
    arms = ", ".join(
        f"**{v.name}** ({v.weight:g}, {v.channel}{'' if v.contacted else ', not contacted'})"
        for v in exp.variants
    )
    analysis = exp.analysis
    judged = (
        f"Bayesian (Beta({analysis.prior.alpha:g}, {analysis.prior.beta:g}) prior for rates)"
        if readout.method == "bayesian"
        else f"frequentist, alpha = {analysis.alpha:g}, {analysis.correction} correction"
    )
    evaluation = readout.evaluation
    extras = []
    if getattr(evaluation, "sequential", False):
        extras.append(
            "- **Monitoring:** always-valid (sequential) p-values and intervals, "
            f"{evaluation.sequential_label}: reading this report every day does not inflate false winners."
        )
    elif readout.method == "frequentist":
        extras.append(
            "- **Monitoring:** fixed-horizon tests: read the verdict once, at the planned end "
            f"({exp.dates.planned_end.isoformat()}); daily peeking inflates false winners "
            "(set analysis.sequential = true for a report that is safe to read daily)."
        )
    if getattr(evaluation, "covariates", ()):
        extras.append(
            f"- **Variance reduction:** CUPED regression adjustment on {', '.join(evaluation.covariates)} "
            "(pre-campaign values); see the variance_reduction column."
        )
    return "\n".join(
        [
            f"# {exp.name}: report as of {readout.as_of.isoformat()}",
            "",
            f"*{exp.hypothesis.strip()}*",
            "",
            f"- **Status:** {readout.status}; sent {exp.dates.send_date.isoformat()}, "
            f"{exp.dates.window_days}-day attribution window.",
            f"- **Owner:** {exp.owner}",
            f"- **Arms:** {arms}",
            f"- **Primary metric:** {exp.metrics.primary}; "
            f"secondary: {', '.join(exp.metrics.secondary) or 'none'}; "
            f"guardrails: {', '.join(exp.metrics.guardrails) or 'none'}.",
            f"- **Analysis:** {judged}.",
            f"- **Customers assigned:** {len(readout.assignment):,}.",
            *extras,
        ]
    )


def srm_table(readout: Any) -> pd.DataFrame:
    """One row per sample-ratio check: at assignment and at delivery."""
    rows = []
    for label, result in (
        ("assignment", readout.srm_assignment),
        ("delivery (contacted arms)", readout.srm_delivery),
    ):
        rows.append(
            {
                "check": label,
                "units": result.n,
                "chi_square": result.statistic,
                "df": result.df,
                "p_value": result.p_value,
                "status": result.status,
            }
        )
    return pd.DataFrame(rows)


#: Columns of the balance table shown in the report.
BALANCE_COLUMNS = ("covariate", "variant", "mean_variant", "mean_control", "smd", "imbalanced")


def balance_table(readout: Any) -> pd.DataFrame:
    """The balance table restricted to what a reader needs."""
    return readout.balance[[c for c in BALANCE_COLUMNS if c in readout.balance.columns]]


def health_text(readout: Any) -> str:
    """Plain-language summary of the data-health checks."""
    lines = []
    for label, result in (("The split", readout.srm_assignment), ("Delivery", readout.srm_delivery)):
        ok = getattr(result, "ok", None)
        if ok is True:
            lines.append(f"- {label} matches the planned weights (p = {result.p_value:.3g}).")
        elif ok is False:
            lines.append(
                f"- **{label} does not match the planned weights (p = {result.p_value:.3g})**: "
                "results may be biased; find the cause before trusting them."
            )
        else:
            lines.append(f"- {label}: {getattr(result, 'status', 'not checked')}.")
    if not readout.balance.empty and "imbalanced" in readout.balance.columns:
        bad = readout.balance.loc[readout.balance["imbalanced"]]
        if bad.empty:
            lines.append("- Pre-campaign covariates are balanced (every |SMD| ≤ 0.1).")
        else:
            shown = ", ".join(f"{r.covariate} in {r.variant}" for r in bad.itertuples())
            lines.append(f"- **Imbalanced covariates (|SMD| > 0.1): {shown}.**")
    diag = readout.diagnostics
    dropped = diag.loc[diag["reason"] != "counted"]
    total = int(dropped["rows"].sum())
    if total:
        parts = ", ".join(f"{r.rows:,} {r.reason.replace('_', ' ')}" for r in dropped.itertuples() if r.rows)
        lines.append(f"- {total:,} event rows were not counted ({parts}); see the table below.")
    else:
        lines.append("- Every event row was counted.")
    return "\n".join(lines)


def plot_balance(readout: Any, ax: Any = None) -> Any:
    """Love plot of the pre-campaign balance (delegates to :func:`abkit.plot_balance`)."""
    from abkit.checks import plot_balance as _plot

    return _plot(readout.balance, ax=ax)


def plot_funnel(readout: Any, ax: Any = None) -> Any:
    """Grouped bars: delivered, opened, clicked and repurchased rates per variant; returns the Axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.2))
    funnel = readout.funnel
    steps = ["delivered", "opened", "clicked", "repurchased"]
    x = np.arange(len(funnel))
    width = 0.8 / len(steps)
    for i, step in enumerate(steps):
        ax.bar(x + (i - 1.5) * width, funnel[f"{step}_rate"], width, label=step)
    ax.set_xticks(x, funnel["variant"])
    ax.set_yscale("symlog", linthresh=0.01)
    ax.set_ylabel("share of assigned")
    ax.legend(ncols=4, fontsize="small", loc="upper center", bbox_to_anchor=(0.5, 1.18), frameon=False)
    return ax


def results_title(readout: Any, *, engagement: bool = False) -> str:
    """Title of the results table naming the conventions used."""
    evaluation = readout.engagement if engagement else readout.evaluation
    table = evaluation.to_pandas()
    methods = sorted(set(table["method"].dropna().astype(str))) if "method" in table.columns else []
    level = 1 - readout.experiment.analysis.alpha
    return f"Lift vs {table['control'].iloc[0]} ({level:.0%} intervals); methods: " + "; ".join(methods)


def results_table(readout: Any, *, engagement: bool = False) -> pd.DataFrame:
    """The evaluation table restricted to the columns a reader needs."""
    evaluation = readout.engagement if engagement else readout.evaluation
    table = evaluation.to_pandas()
    return table[[c for c in RESULT_COLUMNS if c in table.columns]]


def results_text(readout: Any) -> str:
    """The evaluation's plain-language summary as a Markdown list (guardrails are read in the decision)."""
    lines: list[str] = []
    keep = True
    for line in str(readout.evaluation.summary()).splitlines():
        if not line.startswith(" "):
            keep = "guardrail" not in line
            if keep:
                lines.append(f"- **{line.rstrip(':')}**")
        elif keep:
            lines.append(f"    - {line.strip()}")
    return "\n".join(lines)


def guardrail_text(readout: Any) -> str:
    """Which winners a guardrail (unsubscribes, complaints) vetoed, against the tolerated margin."""
    margin = readout.experiment.analysis.guardrail_margin
    guardrails = ", ".join(readout.experiment.metrics.guardrails) or "none"
    decisions = readout.decisions
    vetoed = decisions.iloc[:0]
    if "vetoed_by" in decisions.columns:
        vetoed = decisions[decisions["vetoed_by"].fillna("").astype(str) != ""]
    head = (
        f"Guardrails ({guardrails}): a winner is vetoed when the lower bound of its increase over "
        f"the holdout exceeds {margin:.2%} (analysis.guardrail_margin)."
    )
    if len(vetoed) == 0:
        return head + " No winner was vetoed."
    parts = "; ".join(f"{r.segment}: {r.vetoed_by}" for r in vetoed.itertuples())
    return head + f" **Vetoed:** {parts}."


#: Columns of the economics table shown in the report.
ECONOMICS_COLUMNS = (
    "segment",
    "variant",
    "profit_per_customer_control",
    "profit_per_customer_variant",
    "incremental_profit",
    "ci_low",
    "ci_high",
    "p_value",
)


def economics_table(readout: Any) -> pd.DataFrame:
    """The economics table restricted to what a reader needs."""
    return readout.economics[[c for c in ECONOMICS_COLUMNS if c in readout.economics.columns]]


def economics_text(readout: Any) -> str:
    """What the economics table means, or why it is absent."""
    if readout.economics.empty:
        return "No gross margin is set in `analysis.gross_margin`, so no profit is computed."
    margin = readout.experiment.analysis.gross_margin
    costs = "; ".join(
        f"{v.name}: {v.contact_cost:g} per contact, {v.offer_cost:g} per redeemed offer"
        for v in readout.experiment.variants
        if v.contacted
    )
    return (
        f"Profit per customer = {margin:g} × revenue − contact cost − offer cost × repurchased "
        f"(costs: {costs}); the holdout costs nothing. A variant can win on repurchase and still lose money."
    )


def decision_text(readout: Any) -> str:
    """Plain-language decision per segment (from the decisions table)."""
    decisions = readout.decisions
    if decisions is None or len(decisions) == 0:
        return "No decision could be made."
    text_col = next((c for c in ("reason", "explanation", "text") if c in decisions.columns), None)
    lines = []
    for row in decisions.itertuples(index=False):
        row_dict = row._asdict()
        what = row_dict.get("decision", "")
        segment = row_dict.get("segment", "all")
        detail = f": {row_dict[text_col]}" if text_col else ""
        lines.append(f"- **{segment}**: {what}{detail}")
    return "\n".join(lines)


#: Columns of the decision table shown in the report.
DECISION_COLUMNS = (
    "segment",
    "decision",
    "variant",
    "control_value",
    "variant_value",
    "abs_lift",
    "ci_low",
    "ci_high",
    "evidence",
    "evidence_kind",
    "vetoed_by",
    "extra_control",
    "extra_variant",
    "reason",
)


def decision_table(readout: Any) -> pd.DataFrame:
    """The decision table restricted to what a reader needs."""
    return readout.decisions[[c for c in DECISION_COLUMNS if c in readout.decisions.columns]]


def footer(readout: Any) -> str:
    """Conventions and provenance."""
    import abkit

    notes = "\n".join(f"- {n}" for n in readout.notes)
    return f"---\n{notes}\n- Generated by abkit {abkit.__version__} for `{readout.experiment.path}`."


def plan_text(experiment: Any, table: pd.DataFrame, baseline: float) -> str:
    """One paragraph for the design notebook: the pool and the weakest comparison."""
    pool = table.loc[table["segment"] == "all", "n"].sum()
    return (
        f"**{experiment.name}**: {int(pool):,} eligible dormant customers, expected control rate of "
        f"{experiment.metrics.primary} {baseline:.2%}, alpha {experiment.analysis.alpha:g}, "
        f"power {experiment.analysis.power:.0%}."
    )
