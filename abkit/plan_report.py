"""The targeting plan as a report a manager reads: one offline HTML page, in English or Japanese.

Rendered directly from a :class:`~abkit.targeting.TargetingPlan`'s views, answer first: the plan's
summary sentence (what to send to whom, the gain with its interval, adopt or not), the value table,
the per-cell table, the profit-against-budget figure (an embedded PNG with alt text) and a methods
note (cross-fitting, AIPW, bootstrap intervals, the shrinkage and its τ² method). Every text is
escaped and comes from the message catalogue (:mod:`abkit.messages`); numbers are formatted by
:mod:`abkit.formatting`; there is no code, script or network reference in the page.
"""

from __future__ import annotations

from typing import Any

from scipy import stats

from abkit import __version__
from abkit import formatting as fmt
from abkit.messages import message
from abkit.report_view import REPORT_CSS, figure_html, use_fonts
from abkit.targeting import TargetingPlan
from abkit.views import Column, TableView, escape_html, table_html

__all__ = ["cell_view", "plan_html", "value_view"]

_CSS = (
    'body { font-family: system-ui, -apple-system, "Segoe UI", "Hiragino Sans", Meiryo, sans-serif; '
    "margin: 16px; }\n"
    + REPORT_CSS
    + ".abkit-lead { font-size: 15px; background: #f4f6f8; border-left: 4px solid #4a78b5; "
    "padding: 6px 10px; }\n"
)


def _pair(low: Any, high: Any) -> tuple[float, float] | None:
    if fmt.is_number(low) and fmt.is_number(high):
        return float(low), float(high)
    return None


def value_view(plan: TargetingPlan, *, language: str = "en", currency: str | None = None) -> TableView:
    """The value table: the plan, the best single arm and no contact, per 1,000 customers.

    >>> from abkit.datasets import targeting_test
    >>> from abkit.targeting import target
    >>> t = targeting_test(6_000, seed=1)
    >>> plan = target(t.outcomes, costs=t.costs, margin=t.margin, control="holdout", cells="segment",
    ...               n_boot=20)
    >>> [row[0] for row in value_view(plan).rows]
    ['Targeted plan', 'Everyone gets reminder', 'No contact']
    """
    m = lambda key, **kw: message(key, language, **kw)  # noqa: E731
    columns = (
        Column("policy", m("target.col.policy")),
        Column("per_1000", m("target.col.per_1000"), "money", digits=0, signed=True),
        Column("ci", m("target.col.ci"), "money", interval=True, digits=0, signed=True),
        Column("vs_best", m("target.col.vs_best"), "money", digits=0, signed=True),
        Column("vs_best_ci", m("target.col.vs_best_ci"), "money", interval=True, digits=0, signed=True),
    )
    names = {
        "plan": m("target.policy.plan"),
        "best": m("target.policy.best", arm=plan.best_arm),
        "none": m("target.policy.none"),
    }
    rows = tuple(
        (
            names[r["policy"]],
            r["per_1000"],
            _pair(r["ci_low"], r["ci_high"]) if r["policy"] != "none" else None,
            r["vs_best"],
            _pair(r["vs_best_ci_low"], r["vs_best_ci_high"]),
        )
        for r in plan.value.to_dict("records")
    )
    gate = m("target.adopt.yes" if plan.adopt else "target.adopt.no", arm=plan.best_arm)
    return TableView(
        m("target.heading.value"), columns, rows, notes=(gate, m("target.value_note")),
        language=language, currency=currency,
    )  # fmt: skip


def _weights_text(weights: dict[str, float]) -> str:
    total = sum(weights.values())
    return ", ".join(f"{arm} {fmt.percent(w / total, 1)}" for arm, w in weights.items())


def cell_view(plan: TargetingPlan, *, language: str = "en", currency: str | None = None) -> TableView:
    """The per-cell table: what to send, the shrunk estimate, contacts, contribution and the next split.

    It keeps to about 10 columns so it fits a laptop screen; the raw (unshrunk) estimates, the best
    campaign, the cost and where each choice was made are in ``plan.json`` and ``plan.table``.

    >>> from abkit.datasets import targeting_test
    >>> from abkit.targeting import target
    >>> t = targeting_test(6_000, seed=1)
    >>> plan = target(t.outcomes, costs=t.costs, margin=t.margin, control="holdout", cells="segment",
    ...               n_boot=20)
    >>> view = cell_view(plan)
    >>> view.columns[0].header, len(view.rows) == len(plan.table)
    ('segment', True)
    """
    m = lambda key, **kw: message(key, language, **kw)  # noqa: E731
    dr = plan.method == "dr"  # the learner's cell estimate and the customers agreeing, not shrinkage
    columns = (
        *(Column(f"cell_{i}", col) for i, col in enumerate(plan.cells)),
        Column("customers", m("target.col.customers"), "count"),
        Column("arm", m("target.col.arm")),
        *(
            (Column("profit_shrunk", m("target.col.profit_dr"), "money", signed=True),
             Column("shrunk_ci", m("target.col.dr_ci"), "money", interval=True, signed=True),
             Column("learner_share", m("target.col.learner_share"), "percent", digits=0))
            if dr else
            (Column("profit_shrunk", m("target.col.profit_shrunk"), "money", signed=True),
             Column("shrunk_ci", m("target.col.shrunk_ci"), "money", interval=True, signed=True),
             Column("shrinkage", m("target.col.shrinkage"), "percent", digits=0))
        ),
        Column("contacts", m("target.col.contacts"), "count"),
        Column("contribution", m("target.col.contribution"), "money", digits=0, signed=True),
        Column("sleeping_dog", m("target.col.sleeping_dog"), "bool"),
        Column("weights", m("target.col.weights")),
    )
    weights = plan.weights()
    rows = []
    for r in plan.table.to_dict("records"):
        key = "|".join(str(r[c]) for c in plan.cells)
        arm = r["arm"]
        if arm == plan.control:
            arm = m("target.no_contact", arm=arm)
        elif r["arm_share"] < 1 - 1e-9:
            arm = f"{arm} {fmt.percent(r['arm_share'], 0)}"
        rows.append(
            (
                *(r[c] for c in plan.cells),
                r["customers"],
                arm,
                r["profit_shrunk"],
                _pair(r["shrunk_ci_low"], r["shrunk_ci_high"]),
                r["learner_share"] if dr else r["shrinkage"],
                r["contacts"],
                r["contribution"],
                bool(r["sleeping_dog"]),
                _weights_text(weights[key]) if key in weights else fmt.MISSING,
            )
        )
    return TableView(m("target.heading.cells"), columns, tuple(rows), language=language, currency=currency)


def _figure(plan: TargetingPlan, language: str) -> str:
    m = lambda key, **kw: message(key, language, **kw)  # noqa: E731
    import matplotlib  # plotting libraries load only when a figure is drawn
    from matplotlib.figure import Figure

    kind = str(plan.curve.columns[0])
    with matplotlib.rc_context():
        use_fonts(language)
        fig = Figure(figsize=(6.4, 4))
        ax = plan.plot(ax=fig.subplots())
        ax.set_xlabel(m(f"target.budget.{kind}"))
        ax.set_ylabel(m("target.figure.y"))
        ax.set_title(m("target.figure.title"))
        lines = ax.get_lines()
        lines[0].set_label(m("target.figure.plan"))
        lines[1].set_label(m("target.figure.best", arm=plan.best_arm))
        ax.legend(loc="best", fontsize="small")
        return figure_html(fig, m("target.figure.alt", kind=m(f"target.budget.{kind}"), arm=plan.best_arm))


def _methods(plan: TargetingPlan, language: str, *, margin: float | None, spec: str) -> list[str]:
    m = lambda key, **kw: message(key, language, **kw)  # noqa: E731
    z = float(stats.norm.ppf(1 - plan.alpha / 2))
    out = [
        m("target.methods.crossfit"),
        m("target.methods.bootstrap", n_boot=fmt.count(plan.n_boot), z=fmt.number(z, 2),
          level=fmt.percent(1 - plan.alpha, 0)),
        m(f"target.methods.{plan.method}", features=", ".join(plan.features)),
    ]  # fmt: skip
    if margin is not None:
        out.append(
            m("target.methods.profit", margin=fmt.percent(margin, 0), control=plan.control,
              min_cell=fmt.count(plan.min_cell))
        )  # fmt: skip
    out.append(m("target.methods.gate"))
    if plan.explore > 0 or plan.holdout > 0:
        shares = {"holdout": fmt.percent(plan.holdout, 0), "explore": fmt.percent(plan.explore, 0)}
        out.append(m("target.methods.wave", **shares))
    out.append(m("target.methods.generated", version=__version__, spec=spec, seed=plan.seed))
    return out


def plan_html(
    plan: TargetingPlan,
    *,
    name: str,
    language: str = "en",
    currency: str | None = None,
    margin: float | None = None,
    spec: str = "experiment.toml",
) -> str:
    """The plan report: a whole offline HTML page, answer first, every text escaped.

    ``name`` is the experiment's name (the title), ``margin`` the share of revenue kept (stated in
    the methods note), ``spec`` the spec file's name.

    >>> from abkit.datasets import targeting_test
    >>> from abkit.targeting import target
    >>> t = targeting_test(6_000, seed=1)
    >>> plan = target(t.outcomes, costs=t.costs, margin=t.margin, control="holdout", cells="segment",
    ...               n_boot=20)
    >>> page = plan_html(plan, name="<spring>", language="ja")
    >>> "<html lang='ja'>" in page, "&lt;spring&gt;" in page, "<script" in page
    (True, True, False)
    """
    m = lambda key, **kw: message(key, language, **kw)  # noqa: E731
    summary = plan.summary(language, currency).splitlines()
    # the summary's lines: the lead, how it was valued, the method, then budget, dogs, pooling, next wave
    lead, details = summary[0], summary[3:]
    title = m("target.title", name=name)
    lang = escape_html(language)
    parts = [
        "<!DOCTYPE html>",
        f"<html lang='{lang}'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{escape_html(title)}</title><style>{_CSS}</style></head><body>",
        f"<div class='abkit-report' lang='{lang}'>",
        f"<h1>{escape_html(title)}</h1>",
        f"<p class='abkit-lead'>{escape_html(lead)}</p>",
    ]
    if details:
        parts.append("<ul>" + "".join(f"<li>{escape_html(d)}</li>" for d in details) + "</ul>")
    value = value_view(plan, language=language, currency=currency)
    cells = cell_view(plan, language=language, currency=currency)
    parts += [
        f"<h2>{escape_html(value.title)}</h2>",
        table_html(value, caption=False),
        f"<h2>{escape_html(cells.title)}</h2>",
        table_html(cells, caption=False),
        f"<h2>{escape_html(m('target.heading.curve'))}</h2>",
        _figure(plan, language),
        f"<h2>{escape_html(m('target.heading.methods'))}</h2>",
        "<ul>"
        + "".join(f"<li>{escape_html(t)}</li>" for t in _methods(plan, language, margin=margin, spec=spec))
        + "</ul>",
        "</div></body></html>",
    ]
    return "\n".join(parts) + "\n"
