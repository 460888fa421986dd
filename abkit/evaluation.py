"""Evaluate a campaign test: per metric, segment and variant, lifts with intervals, tests or posteriors.

:func:`evaluate` aggregates the data once into sufficient statistics
(:func:`abkit.metrics.sufficient_statistics`) and then works on that small table only, with the
vectorised functions of :mod:`abkit.stats`. The :class:`Evaluation` it returns renders as a table,
summarises itself in plain language, draws a forest plot and turns into a per-segment
:meth:`~Evaluation.decision` (ship / keep the holdout / keep collecting) in which guardrail metrics
can veto a winner. :func:`economics` converts outcomes and costs into incremental profit.

Conventions (also written in every row's ``method`` and ``convention`` columns):

* frequentist rates: Miettinen–Nurminen score test and score intervals (difference and risk ratio),
  which agree with the p-value by construction; means: Welch t, log-ratio delta-method relative
  interval (see :mod:`abkit.stats.frequentist`);
* multiple comparisons: ``correction`` is applied within each primary metric across variants x
  segments; the pooled ``"all"`` rows form a separate family (across variants) because they answer
  a different question (the campaign overall) from the segment rows (where it works). Guardrail
  metrics are not corrected (a veto should not get harder to trigger as segments are added);
* Bayesian: Beta-Binomial rates and normal-approximation means (see :mod:`abkit.stats.bayesian`);
* values, ``abs_lift`` and ``rel_lift`` are the observed ones in both methods.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from scipy import stats as sps

from abkit import formatting as fmt
from abkit import power as power_module
from abkit._display import Displayable
from abkit._validate import (
    check_alternative,
    check_choice,
    check_columns,
    check_costs,
    check_finite,
    check_probability,
    resolve_control,
)
from abkit.checks import SRMResult
from abkit.errors import DataError, ParameterError
from abkit.frames import frame_from_columns, to_pandas_frame
from abkit.messages import LANGUAGES, Text, label, message
from abkit.metrics import POOLED_SEGMENT, Mean, covariate_columns, sufficient_columns, sufficient_statistics
from abkit.result_views import decision_summary, decision_view, economics_summary, economics_view
from abkit.stats.bayesian import (
    RELATIVE_NORMAL_RULE,
    beta_group_summary,
    beta_posterior,
    lift_intervals,
    normal_group_summary,
    normal_posterior,
)
from abkit.stats.cuped import CupedStats, constant_covariates, cuped, poststratified_difference
from abkit.stats.frequentist import (
    REL_LIFT_NEEDS_POSITIVE_CONTROL,
    compare_means,
    compare_proportions,
    comparison_method,
    critical_value,
    open_ends,
    relative_lift_reason,
    tail_p_value,
)
from abkit.stats.multiple import CORRECTION_NAMES, CORRECTIONS, adjust_pvalues
from abkit.stats.sequential import (
    DEFAULT_N_STAR,
    sequential_estimate,
    sequential_ratio_interval,
    sequential_test,
)
from abkit.stats.weighting import HAJEK_METHOD, WEIGHTED_COLUMNS, hajek_rows
from abkit.views import Column, TableView, interval_text, table_html, table_text, wrap_lines

__all__ = [
    "CONFIDENCE_WORDS",
    "OBJECTIVES",
    "Decision",
    "Economics",
    "Evaluation",
    "confidence_word",
    "economics",
    "evaluate",
    "profit_moments",
]

METHODS = ("frequentist", "bayesian")
SEQUENTIAL_METHODS = ("asymptotic-cs", "msprt")
#: Default mixing SD of the log lift for ``sequential_method="msprt"`` (lifts of about +-20%).
DEFAULT_REL_TAU = 0.2
_HTML_ROWS = 200
#: Written in the ``convention`` column and the summary of corrected frequentist results.
UNADJUSTED_INTERVALS = "per-comparison (unadjusted) intervals; significance uses the adjusted p-value"
_PROFIT = "__abkit_profit__"
#: Reason of a sequential rate row without a relative interval.
SEQ_REL_NEEDS_SUCCESSES = (
    "relative lift needs successes in the control (its rate is 0); the absolute interval gives the verdict"
)
#: Values of ``objective`` in :meth:`Evaluation.decision`.
OBJECTIVES = ("profit", "primary")
#: The words of the ``confidence`` column of :meth:`Evaluation.decision`, from the clearest gain to
#: the clearest loss (see :func:`confidence_word`).
CONFIDENCE_WORDS = ("very likely better", "likely better", "unclear", "likely worse", "very likely worse")


# --------------------------------------------------------------------------------------------------
# argument checks
# --------------------------------------------------------------------------------------------------
def _check_prior(prior: Any) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in prior)
    except (TypeError, ValueError):
        raise ParameterError(f"prior must be a pair (a, b) of a Beta(a, b) prior, got {prior!r}") from None
    if not (math.isfinite(a) and math.isfinite(b) and a > 0 and b > 0):
        raise ParameterError(f"prior=({a:g}, {b:g}): both Beta parameters must be positive and finite")
    return a, b


def _check_mean_prior(mean_prior: Any) -> tuple[float, float] | None:
    if mean_prior is None:
        return None
    try:
        mu, sd = (float(v) for v in mean_prior)
    except (TypeError, ValueError):
        raise ParameterError(
            f"mean_prior must be None (flat) or a pair (mean, sd) of a normal prior, got {mean_prior!r}"
        ) from None
    if not (math.isfinite(mu) and math.isfinite(sd) and sd > 0):
        raise ParameterError(f"mean_prior=({mu:g}, {sd:g}): the mean must be finite and sd positive")
    return mu, sd


def _check_int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise ParameterError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _unique(values: pd.Series) -> list[str]:
    """Distinct values in order of appearance (fast on Arrow-backed string columns)."""
    return [str(v) for v in pd.unique(values.to_numpy(dtype=object))]


def _expm1(x: np.ndarray) -> np.ndarray:
    """``exp(x) - 1`` with ``inf`` (not an overflow warning) beyond the largest float."""
    limit = math.log(np.finfo(float).max)
    return np.where(x > limit, np.inf, np.expm1(np.minimum(x, limit)))


def _pct(value: float, digits: int = 1) -> str:
    return f"{100 * value:.{digits}f}%"


def confidence_word(
    evidence: float, direction: float, *, method: str = "frequentist", alpha: float = 0.05,
    threshold: float | None = None,
) -> str:
    """How sure a comparison is, in words from :data:`CONFIDENCE_WORDS`.

    Frequentist (``evidence`` a p-value, adjusted when a correction is in use; ``direction`` the
    sign of the difference): ``p < alpha / 5`` is "very likely", ``p < alpha`` "likely", better or
    worse by the direction; otherwise "unclear". Bayesian (``evidence`` the probability that the
    variant is better, ``threshold`` default ``1 - alpha``): ``>= 1 - (1 - threshold) / 5`` "very
    likely better", ``>= threshold`` "likely better", ``<= (1 - threshold) / 5`` "very likely
    worse", ``<= 1 - threshold`` "likely worse"; otherwise "unclear". NaN evidence is "unclear".

    >>> confidence_word(0.003, +0.02), confidence_word(0.03, -1.0), confidence_word(0.2, 1.0)
    ('very likely better', 'likely worse', 'unclear')
    >>> confidence_word(0.97, 0.01, method="bayesian")
    'likely better'
    """
    very, likely, unclear, worse, very_worse = CONFIDENCE_WORDS
    if not (np.isfinite(evidence) and np.isfinite(direction)):
        return unclear
    if method == "frequentist":
        if evidence < alpha / 5:
            return very if direction > 0 else very_worse if direction < 0 else unclear
        if evidence < alpha:
            return likely if direction > 0 else worse if direction < 0 else unclear
        return unclear
    thr = 1 - alpha if threshold is None else threshold
    tail = 1 - thr
    if evidence >= 1 - tail / 5:
        return very
    if evidence >= thr:
        return likely
    if evidence <= tail / 5:
        return very_worse
    if evidence <= tail:
        return worse
    return unclear


def profit_moments(
    n: Any,
    redeemed: Any,
    revenue_sum: Any,
    revenue_sum_sq: Any,
    contact: Any,
    offer: Any,
    *,
    margin: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Sum and sum of squares of per-customer profit from an arm's sufficient statistics.

    Per customer ``profit = margin * revenue - contact - offer * redeemed``. With ``n`` customers,
    ``R`` redemptions, revenue sum ``S`` and sum of squares ``Q``, and revenue earned only by
    customers who redeemed (``revenue * redeemed = revenue``), the profit's sum is
    ``m S - n c - o R`` and its sum of squares ``m² Q + n c² + (o² + 2 c o) R - 2 m (c + o) S``.
    Arrays broadcast (e.g. (segments, arms) statistics against per-arm costs). Used by
    :meth:`Evaluation.decision` and :func:`abkit.sources.economics_from_aggregates`.

    >>> s, q = profit_moments(4, 2, 110.0, 6100.0, 1.0, 5.0, margin=0.4)
    >>> round(float(s), 6), round(float(q), 6)  # profits 14, 18, -1, -1 (revenue 50, 60, 0, 0)
    (30.0, 522.0)
    """
    n, r, rev, rev2, c, o = (np.asarray(v, dtype=float) for v in (n, redeemed, revenue_sum, revenue_sum_sq,
                                                                  contact, offer))  # fmt: skip
    s = margin * rev - n * c - o * r
    q = margin**2 * rev2 + n * c**2 + (o**2 + 2 * c * o) * r - 2 * margin * (c + o) * rev
    return s, q


def _normal_comparison(diff: np.ndarray, var: np.ndarray, alpha: float) -> tuple[np.ndarray, ...]:
    """Two-sided normal interval (level ``1 - alpha``) and p-value of ``diff`` with variance ``var``."""
    z = float(sps.norm.isf(alpha / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        sd = np.sqrt(var)
        return diff - z * sd, diff + z * sd, 2.0 * sps.norm.sf(np.abs(diff / sd))


def _check_margin(margin: Any) -> float:
    margin = float(check_finite("margin", margin))
    if not 0 < margin <= 1:
        raise ParameterError(f"margin must be the gross margin share in (0, 1], got {margin!r}")
    return margin


def _srm_alerts(srm: Any) -> str:
    """The sample-ratio alerts among ``srm`` (None, one SRMResult or a sequence), as one text."""
    if srm is None:
        return ""
    results = [srm] if isinstance(srm, SRMResult) else srm
    if not isinstance(results, Sequence) or not all(isinstance(r, SRMResult) for r in results):
        raise ParameterError(
            f"srm must be an abkit.SRMResult (from abkit.srm) or a list of them, got {type(srm).__name__}"
        )
    texts = [
        f"{r.status} (p = {r.p_value:.2g}; observed {dict(zip(r.arms, r.observed, strict=True))})"
        for r in results
        if r.ok is False
    ]
    return "; ".join(texts)


# --------------------------------------------------------------------------------------------------
# evaluate
# --------------------------------------------------------------------------------------------------
def evaluate(
    data: pd.DataFrame,
    *,
    metrics: Any,
    control: str | None = None,
    variant_col: str = "variant",
    segment_col: str | None = None,
    method: str = "frequentist",
    alpha: float = 0.05,
    correction: str | None = "holm",
    alternative: str = "two-sided",
    n_col: str | None = None,
    guardrails: Any = None,
    prior: tuple[float, float] = (1.0, 1.0),
    mean_prior: tuple[float, float] | None = None,
    sequential: bool = False,
    n_star: float | None = None,
    sequential_method: str = "asymptotic-cs",
    tau: float | Mapping[str, float] | None = None,
    rel_tau: float | None = None,
    covariates: Sequence[str] | None = None,
    poststratify: bool = True,
    propensity_col: str | None = None,
) -> Evaluation:
    """Compare every variant with ``control`` for each metric and segment.

    ``data`` holds one row per unit (customer) or, with ``n_col``, aggregated rows (``n_col`` the
    unit count; a proportion metric's column its successes; a mean metric ``m`` its sum in ``m`` and
    its sum of squares in ``m_sumsq``). ``metrics`` and ``guardrails`` are column names, lists of
    them or of :class:`abkit.Proportion` / :class:`abkit.Mean`, or mappings display name -> column;
    a bool or 0/1 integer column is a rate, any other numeric column a mean.

    ``method="frequentist"`` gives ``p_value``, ``p_adjusted`` (``correction``: ``"holm"``,
    ``"bonferroni"``, ``"bh"`` or None) and ``significant`` (``p_adjusted < alpha``);
    ``method="bayesian"`` gives ``prob_beat_control``, ``prob_best`` (among all arms of the metric
    and segment, control included; the control's own is ``control_prob_best``) and
    ``expected_loss`` = E[max(control - variant, 0)], with a ``Beta(*prior)`` prior for rates and a
    flat (``mean_prior=None``) or ``Normal(*mean_prior)`` prior for means; credible intervals use
    quadrature (deterministic, no random draws). Intervals are at level ``1 - alpha``.

    **Alternative** (statsmodels' words): ``"two-sided"`` (default), ``"larger"`` (H1: variant -
    control > 0, for each variant against the control) or ``"smaller"`` (H1: variant - control < 0,
    e.g. an unsubscribe rate as the metric to lower). One-sided, ``p_value`` is the one-tailed
    p-value of the same test (score test for rates, Welch t for means, normal theory for CUPED and
    post-stratified rows, the half-normal-mixture always-valid test with ``sequential=True``),
    ``correction`` adjusts those one-sided p-values, and every interval becomes a one-sided bound at
    level ``1 - alpha``: ``ci_low``/``rel_ci_low`` with ``ci_high = rel_ci_high = inf``
    (``"larger"``), or ``ci_high``/``rel_ci_high`` with the lows ``-inf`` (``"smaller"``); displays
    read them "at least" / "at most". Bayesian rows answer the same one-sided question:
    ``prob_beat_control`` is P(variant - control is on the side of H1) (with ``"smaller"``: P(lower),
    and ``prob_best``/``expected_loss`` treat lower as better), and the credible interval becomes a
    one-sided credible bound. The alternative applies to ``metrics``; guardrails keep two-sided tests
    and intervals (their direction is fixed: an increase is harm). Every row's ``method`` and
    ``convention`` name the alternative, and :meth:`Evaluation.decision` decides in its direction.

    **Post-stratification** (frequentist, with ``segment_col`` and ``poststratify=True``, the
    default): the pooled ``"all"`` row combines the per-segment differences with weights equal to
    each segment's share of all units (:func:`abkit.stats.cuped.poststratified_difference`; normal
    approximation), so ``control_value``/``variant_value`` are segment-weighted means. With a
    segment that has fewer than 2 units in an arm the row stays the plain pooled comparison and its
    ``method`` says why; ``poststratify=False`` gives the plain pooled comparison. Bayesian pooled
    rows are always the posterior of the pooled counts.

    **Targeted waves** (``propensity_col``, frequentist, per-unit rows): the column of each unit's
    probability of the arm it got (``TargetingPlan.assign`` and ``abkit assign`` of a targeted spec
    store it as ``propensity``). Where an arm's propensities vary within a row's units (cells that
    are not the segments, or the pooled row without post-stratification), that row compares
    inverse-propensity weighted (Hájek) arm means (:mod:`abkit.stats.weighting`), which restores the
    population's cell mix in every arm; the pooled row post-stratifies those segment estimates.
    Rows whose propensities are constant are computed as without weights. Weighted rows are not
    covariate-adjusted (their ``method`` says so).

    **CUPED** (frequentist, per-unit rows): ``covariates`` names pre-campaign columns (past
    monetary value, frequency, recency) used for regression adjustment
    (:func:`abkit.stats.cuped.cuped`, Deng et al. 2013; theta pooled within the two arms of each
    comparison, Welch t). ``abs_lift``, ``rel_lift`` and the values are then the adjusted ones and
    ``variance_reduction`` = 1 - Var(adjusted) / Var(unadjusted) per row. A covariate constant
    within one segment is left out of that segment's rows (named in ``method``); one missing from
    the data raises :class:`~abkit.errors.ColumnError`, one with NaN or constant over all units
    :class:`~abkit.errors.DataError`. Aggregated input (``n_col``) cannot carry the cross products:
    :class:`~abkit.errors.ParameterError`. The Bayesian method does not take covariates.

    **Sequential** (``sequential=True``, frequentist): every row's p-value and intervals (absolute
    and relative) are always valid, i.e. they keep their error rates however often the report is
    read and whenever the test is stopped (:mod:`abkit.stats.sequential`). Each look needs only the
    cumulative data at that look. ``sequential_method="asymptotic-cs"`` (default) is the asymptotic
    confidence sequence of Waudby-Smith et al. (2024), tightest at ``n_star`` units in total in the
    two arms of a comparison: pass the planned total of the two arms at the horizon; the default
    (``None``) is GrowthBook's reference 5,000. ``"msprt"`` is the normal-mixture SPRT of Johari et
    al. (2022) with mixing SD ``tau`` (required; the absolute effect's units, one number or a
    mapping metric -> tau). The relative interval inverts the same always-valid test of the
    contrast ``variant - (1 + lift) * control`` (Fieller's construction,
    :func:`abkit.stats.sequential.sequential_ratio_interval`), so it excludes 0 exactly when the
    absolute interval does; without successes in the control it is NaN with a reason.
    (``rel_tau`` is deprecated and ignored.) The
    tuning never depends on the data at the look, as validity requires. ``correction`` still applies
    on top (the always-valid p-values are valid p-values at any stopping time, so Holm/Bonferroni/BH
    keep their guarantees), and ``significant``, :meth:`~Evaluation.summary` and
    :meth:`~Evaluation.decision` use the sequential results. A daily reader may keep, per row, the
    running minimum of ``p_value`` over looks (and intersect the intervals): still valid. Bayesian
    posteriors condition on the data and need no peeking correction, so ``sequential=True`` with
    ``method="bayesian"`` raises :class:`~abkit.errors.ParameterError` (read
    ``prob_beat_control`` as it is, or use the frequentist method with ``sequential=True`` for
    error-rate guarantees).

    Guardrail metrics (unsubscribe or complaint rates: higher is worse) are evaluated with
    ``role == "guardrail"``, outside the multiple-comparison family; :meth:`Evaluation.decision`
    lets them veto a winner. Comparisons with no information (no successes in either arm, zero
    variance in both arms) are kept with ``estimable=False``, NaN statistics and a ``reason``.

    >>> df = pd.DataFrame({"variant": ["control"] * 2000 + ["coupon"] * 2000,
    ...                    "repurchased": [1] * 100 + [0] * 1900 + [1] * 150 + [0] * 1850})
    >>> ev = evaluate(df, metrics=["repurchased"])
    >>> row = ev.table.iloc[0]
    >>> row["variant"], round(float(row["abs_lift"]), 3), round(float(row["p_value"]), 4)
    ('coupon', 0.025, 0.0011)
    >>> bool(row["significant"])
    True
    >>> seq = evaluate(df, metrics=["repurchased"], sequential=True, n_star=4000).table.iloc[0]
    >>> round(float(seq["p_value"]), 4), seq["method"][:60]
    (0.0259, 'asymptotic confidence sequence (Waudby-Smith et al. 2024), N')
    """
    check_choice("method", method, METHODS)
    check_choice("correction", correction, list(CORRECTIONS))
    alternative = check_alternative(alternative)
    alpha = float(check_probability("alpha", alpha, what="the test level"))
    if alternative != "two-sided" and method == "bayesian" and alpha >= 0.5:
        raise ParameterError(
            f"alpha={alpha:g} with alternative={alternative!r}: a one-sided credible bound needs alpha < 0.5 "
            "(e.g. 0.05)"
        )
    a_prior, b_prior = _check_prior(prior)
    mprior = _check_mean_prior(mean_prior)
    if control is not None:
        resolve_control((), control)  # the type check of an explicit control, before any work
    if not isinstance(poststratify, bool):
        raise ParameterError(f"poststratify must be True or False, got {poststratify!r}")
    seq = _check_sequential(sequential, method, n_star, sequential_method, tau, rel_tau)
    if propensity_col is not None and method == "bayesian":
        raise ParameterError(
            f"propensity_col={propensity_col!r} weights a targeted wave's frequentist rows; the Bayesian "
            "method does not take weights. Use method='frequentist', or drop propensity_col"
        )
    cov = _check_covariate_arg(covariates)
    if cov and method == "bayesian":
        raise ParameterError(
            f"covariates={cov} (CUPED) is a frequentist regression adjustment; the Bayesian method does not "
            "take covariates. Use method='frequentist' with covariates, or drop covariates"
        )

    data = to_pandas_frame(data, what="data")
    # numpy from here on (one DataFrame at the end): pandas' per-call overhead dominates small inputs
    columns = sufficient_columns(
        data, metrics, variant_col=variant_col, segment_col=segment_col, n_col=n_col, covariates=cov or None,
        allow_empty=True, propensity=propensity_col,
    )  # fmt: skip
    roles = {name: "primary" for name in dict.fromkeys(columns["metric"])}
    if guardrails is not None:
        gcolumns = sufficient_columns(
            data, guardrails, variant_col=variant_col, segment_col=segment_col, n_col=n_col,
            covariates=cov or None, allow_empty=True, propensity=propensity_col,
        )  # fmt: skip
        gnames = list(dict.fromkeys(gcolumns["metric"]))
        clash = sorted(set(gnames) & set(roles))
        if clash:
            raise ParameterError(
                f"guardrails: {clash} also listed in metrics; a metric is primary or a guardrail"
            )
        roles.update({name: "guardrail" for name in gnames})
        columns = {c: np.concatenate([columns[c], gcolumns[c]]) for c in columns}
    if seq is not None:
        seq = seq.resolved(list(roles))

    variants = sorted(dict.fromkeys(columns["variant"]))
    control = resolve_control(variants, control, what=f"column {variant_col!r}")
    if control not in variants:
        raise DataError(
            f"control={control!r} is not a value of column {variant_col!r} (values: {variants}); "
            "pass the label of the holdout with control=..."
        )
    if len(variants) < 2:
        raise DataError(
            f"column {variant_col!r} holds only the control {control!r}; there is nothing to compare it with"
        )
    # an arm without units at all is a data error; an empty (segment, arm) cell only makes that
    # segment's comparisons not estimable (marked in _evaluate_metric), the rest is evaluated
    pooled = columns["segment"] == POOLED_SEGMENT
    n_units = columns["n"]
    absent = np.flatnonzero(pooled & (n_units == 0))
    if len(absent):
        raise DataError(
            f"no units for variant {columns['variant'][absent[0]]!r} (column {variant_col!r}); every variant "
            "needs units: drop that variant explicitly"
        )
    small = np.flatnonzero((n_units < 2) if cov else (pooled & (columns["kind"] == "mean") & (n_units < 2)))
    if len(small):
        i = small[0]
        what, label = ("CUPED (covariates)", "metric") if cov else ("a mean", "mean metric")
        raise DataError(
            f"{label} {columns['metric'][i]!r} has {int(n_units[i])} unit(s) for variant "
            f"{columns['variant'][i]!r} in segment {columns['segment'][i]!r}; {what} needs at least 2 "
            "units per arm to estimate a variance"
        )

    settings = _Settings(
        method=method,
        alpha=alpha,
        correction=correction,
        alternative=alternative,
        prior=(a_prior, b_prior),
        mean_prior=mprior,
        segmented=segment_col is not None,
        segment_col=segment_col,
        poststratify=poststratify,
        covariates=tuple(cov),
        sequential=seq,
        weighted=propensity_col is not None,
    )
    others = [v for v in variants if v != control]
    metric_of_row = columns["metric"]
    parts = []
    frames = {}
    for name in roles:
        rows = np.flatnonzero(metric_of_row == name)
        frames[name] = {c: v[rows] for c, v in columns.items()}
        parts.append(_evaluate_metric(frames[name], control, others, roles[name], settings))
    opposite = None
    if alternative != "two-sided":
        # the finite bound on the other side (the opposite one-sided test, same level): a decision
        # needs it to tell that a variant cannot reach the planned lift
        flipped = replace(settings, alternative="smaller" if alternative == "larger" else "larger")
        end = "ci_high" if alternative == "larger" else "ci_low"
        opposite = np.concatenate([
            _evaluate_metric(frames[name], control, others, role, flipped)[end] if role == "primary"
            else part[end]  # guardrails are two-sided either way
            for (name, role), part in zip(roles.items(), parts, strict=True)
        ])  # fmt: skip
    merged = parts[0]  # one metric: its rows as they are
    if len(parts) > 1:
        merged = {c: np.concatenate([part[c] for part in parts]) for c in parts[0]}
    if method == "frequentist":
        primary = merged["role"] == "primary"
        adjusted = merged["p_value"].astype(float)
        if np.count_nonzero(primary) > 1:  # a single comparison is its own family: nothing to adjust
            families = np.char.add(
                merged["metric"].astype(str),
                np.where(merged["segment"] == POOLED_SEGMENT, "|pooled", "|segments"),
            )
            adjusted[primary] = adjust_pvalues(adjusted[primary], families[primary], correction)
        merged["p_adjusted"] = adjusted
        merged["significant"] = adjusted < alpha  # NaN (not estimable) compares False
        order = _FREQ_COLUMNS
    else:
        order = _BAYES_COLUMNS
    table = frame_from_columns({c: merged[c] for c in order if c in merged})
    return Evaluation(
        _table=table,
        _stats=columns,
        method=method,
        alpha=alpha,
        correction=correction,
        control=control,
        variants=tuple(others),
        metrics=tuple(n for n, r in roles.items() if r == "primary"),
        guardrails=tuple(n for n, r in roles.items() if r == "guardrail"),
        segment_col=segment_col,
        prior=(a_prior, b_prior),
        mean_prior=mprior,
        sequential=seq is not None,
        sequential_label=seq.label if seq is not None else None,
        covariates=tuple(cov),
        poststratify=poststratify and segment_col is not None and method == "frequentist",
        sequential_n_star=seq.n_star if seq is not None else None,
        alternative=alternative,
        _opposite=opposite,
    )


@dataclass(frozen=True)
class _Sequential:
    method: str
    n_star: float
    tau: float | dict[str, float] | None
    rel_tau: float

    def resolved(self, metric_names: list[str]) -> _Sequential:
        if isinstance(self.tau, dict):
            unknown = sorted(set(self.tau) - set(metric_names))
            missing = [m for m in metric_names if m not in self.tau]
            if unknown or missing:
                raise ParameterError(
                    f"tau: a mapping must give every metric its mixing SD; unknown {unknown}, "
                    f"missing {missing}"
                )
        return self

    def tau_for(self, metric: str) -> float | None:
        return self.tau.get(metric) if isinstance(self.tau, dict) else self.tau

    @property
    def label(self) -> str:
        if self.method == "asymptotic-cs":
            return f"asymptotic confidence sequence (Waudby-Smith et al. 2024), N*={self.n_star:g}"
        return "mixture SPRT (Johari et al. 2022), normal mixture"

    def row_label(self, metric: str) -> str:
        if self.method == "asymptotic-cs":
            return self.label
        return f"mixture SPRT (Johari et al. 2022), normal mixture tau={self.tau_for(metric):g}"


def _positive(name: str, value: Any, what: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a positive number ({what}), got {value!r}") from None
    if isinstance(value, bool) or not math.isfinite(v) or v <= 0:
        raise ParameterError(f"{name} must be a positive finite number ({what}), got {value!r}")
    return v


def _check_sequential(
    sequential: Any, method: str, n_star: Any, sequential_method: Any, tau: Any, rel_tau: Any
) -> _Sequential | None:
    if not isinstance(sequential, bool):
        raise ParameterError(f"sequential must be True or False, got {sequential!r}")
    check_choice("sequential_method", sequential_method, SEQUENTIAL_METHODS)
    if not sequential:
        extra = [k for k, v in (("n_star", n_star), ("tau", tau), ("rel_tau", rel_tau)) if v is not None]
        if extra or sequential_method != "asymptotic-cs":
            shown = extra or ["sequential_method"]
            raise ParameterError(
                f"{', '.join(shown)} tune(s) the sequential (always-valid) analysis, which is off; "
                "pass sequential=True or leave them out"
            )
        return None
    if method == "bayesian":
        raise ParameterError(
            "sequential=True does not apply to method='bayesian': a posterior conditions on the data seen so "
            "far and needs no correction for repeated looks (prob_beat_control may be read daily, but it "
            "carries no false-positive guarantee). For peeking-safe error rates use method='frequentist' "
            "with sequential=True; otherwise pass sequential=False"
        )
    if sequential_method == "asymptotic-cs":
        if tau is not None or rel_tau is not None:
            raise ParameterError(
                "tau and rel_tau tune sequential_method='msprt'; the asymptotic confidence sequence is tuned "
                "by n_star"
            )
        ns = DEFAULT_N_STAR if n_star is None else _positive("n_star", n_star, "planned units in two arms")
        return _Sequential("asymptotic-cs", ns, None, DEFAULT_REL_TAU)
    if n_star is not None:
        raise ParameterError(
            "n_star tunes sequential_method='asymptotic-cs'; the mixture SPRT is tuned by tau (and rel_tau)"
        )
    if tau is None:
        raise ParameterError(
            "sequential_method='msprt' needs tau, the mixing SD of the absolute effect in the metric's units "
            "(e.g. tau=0.01 for a 1 pp typical lift; a mapping metric -> tau for several metrics)"
        )
    if isinstance(tau, Mapping):
        taus: float | dict[str, float] = {
            str(k): _positive(f"tau[{k!r}]", v, "mixing SD") for k, v in tau.items()
        }
    else:
        taus = _positive("tau", tau, "mixing SD of the effect")
    rt = DEFAULT_REL_TAU if rel_tau is None else _positive("rel_tau", rel_tau, "mixing SD of the log lift")
    if rel_tau is not None:
        warnings.warn(
            "rel_tau is no longer used: the relative interval now inverts the absolute always-valid test "
            "(tau), so it agrees with the absolute interval; leave rel_tau out",
            DeprecationWarning,
            stacklevel=3,
        )
    return _Sequential("msprt", DEFAULT_N_STAR, taus, rt)


def _check_covariate_arg(covariates: Any) -> list[str]:
    if covariates is None:
        return []
    if isinstance(covariates, str):
        covariates = [covariates]
    if not isinstance(covariates, Sequence) or not all(isinstance(c, str) and c for c in covariates):
        raise ParameterError(f"covariates must be a list of column names, got {covariates!r}")
    return list(covariates)


@dataclass(frozen=True)
class _Settings:
    method: str
    alpha: float
    correction: str | None
    prior: tuple[float, float]
    mean_prior: tuple[float, float] | None
    segmented: bool
    segment_col: str | None = None
    poststratify: bool = True
    covariates: tuple[str, ...] = ()
    sequential: _Sequential | None = None
    weighted: bool = False  # the statistics carry the weighted sums of a targeted wave
    alternative: str = "two-sided"

    def sided(self, role: str) -> str:
        """The alternative of a row: the evaluation's for metrics, two-sided for guardrails."""
        return self.alternative if role == "primary" else "two-sided"


#: The shape of a one-sided bound, as written in the ``convention`` column.
_OPEN_END = {"larger": "[low, +inf)", "smaller": "(-inf, high]"}


def _sides_text(alternative: str, level: str) -> str:
    """The first part of a frequentist row's ``convention``: the alternative and the interval shape."""
    if alternative == "two-sided":
        return f"two-sided, {level} intervals"
    op = ">" if alternative == "larger" else "<"
    return (
        f"one-sided ({alternative}: H1 variant - control {op} 0), {level} one-sided bounds "
        f"{_OPEN_END[alternative]}"
    )


_BASE = [
    "metric", "kind", "role", "segment", "variant", "control", "n_control", "n_variant",
    "control_value", "variant_value", "abs_lift", "ci_low", "ci_high", "rel_lift", "rel_ci_low",
    "rel_ci_high",
]  # fmt: skip
_TAIL = ["estimable", "reason", "small_counts", "method", "convention"]
_FREQ_COLUMNS = [
    *_BASE, "statistic", "df", "p_value", "p_adjusted", "significant", "variance_reduction", *_TAIL
]  # fmt: skip
_BAYES_COLUMNS = [*_BASE, "prob_beat_control", "prob_best", "control_prob_best", "expected_loss", *_TAIL]


def _grid(
    frame: Mapping[str, np.ndarray], control: str, others: list[str], extra: Sequence[str] = ()
) -> tuple[list[str], dict[str, np.ndarray]]:
    """Per-metric statistics as (segments, arms) arrays, control in column 0, segments "all" first."""
    segment = frame["segment"].astype(object)
    segments = sorted(dict.fromkeys(str(v) for v in segment), key=lambda s: (s != POOLED_SEGMENT, s))
    seg_index = {label: i for i, label in enumerate(segments)}
    arm_index = {label: i for i, label in enumerate([control, *others])}
    seg_code = np.fromiter((seg_index[str(v)] for v in segment), dtype=np.intp, count=len(segment))
    arm_code = np.fromiter(
        (arm_index[str(v)] for v in frame["variant"].astype(object)), dtype=np.intp, count=len(segment)
    )
    out = {}
    for col in ("n", "sum", "sum_sq", *extra):
        arr = np.full((len(segments), len(arm_index)), np.nan)
        arr[seg_code, arm_code] = np.asarray(frame[col], dtype=float)
        out[col] = arr
    return segments, out


class _Estimates(NamedTuple):
    """Per-row arm means and their variances for rows estimated outside compare_* (normal theory)."""

    m_c: np.ndarray
    m_v: np.ndarray
    var_c: np.ndarray
    var_v: np.ndarray
    df: np.ndarray  # inf: normal approximation
    var_unadj: np.ndarray


def _pairs(arr: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(segments, arms, ...) -> control and variant arrays with one entry per row (segment-major)."""
    tail = arr.shape[2:]
    return np.repeat(arr[:, 0], k - 1, axis=0), arr[:, 1:].reshape(-1, *tail)


def _plain_estimates(n: np.ndarray, s: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = s / n
    return mean, np.maximum(q - s * mean, 0.0) / (n - 1.0) / n


def _cuped_estimates(
    g: dict[str, np.ndarray], k: int, cfg: _Settings, segments: list[str]
) -> tuple[_Estimates, np.ndarray]:
    """CUPED per row; covariates constant within a row's two arms are left out of that row."""
    cov = list(cfg.covariates)
    x_names, xx_names, xy_names = covariate_columns(cov)
    p = len(cov)
    n_seg, arms = g["n"].shape
    sx = np.stack([g[c] for c in x_names], axis=-1)
    sxy = np.stack([g[c] for c in xy_names], axis=-1)
    sxx = np.empty((n_seg, arms, p, p))
    pos = 0
    for i in range(p):
        for j in range(i, p):
            sxx[..., i, j] = sxx[..., j, i] = g[xx_names[pos]]
            pos += 1
    n0, n1 = _pairs(g["n"], k)
    s0, s1 = _pairs(g["sum"], k)
    q0, q1 = _pairs(g["sum_sq"], k)
    ctrl = CupedStats(n0, s0, q0, *(_pairs(a, k)[0] for a in (sx, sxx, sxy)))
    var = CupedStats(n1, s1, q1, *(_pairs(a, k)[1] for a in (sx, sxx, sxy)))
    const = constant_covariates(ctrl, var)
    m_c, var_c = _plain_estimates(n0, s0, q0)
    m_v, var_v = _plain_estimates(n1, s1, q1)
    unadj = var_c + var_v
    with np.errstate(divide="ignore", invalid="ignore"):
        df = unadj**2 / (var_c**2 / (n0 - 1.0) + var_v**2 / (n1 - 1.0))
    used = np.full(len(n0), "", dtype=object)
    patterns, inverse = np.unique(const, axis=0, return_inverse=True)
    for pi, pattern in enumerate(patterns):
        rows = np.flatnonzero(inverse.reshape(-1) == pi)
        keep = np.flatnonzero(~pattern)
        dropped = [cov[j] for j in np.flatnonzero(pattern)]
        note = f"; not used (constant in this segment): {', '.join(dropped)}" if dropped else ""
        if keep.size == 0:
            used[rows] = f"no covariate varies in this segment ({', '.join(cov)}): unadjusted"
            continue
        names = [cov[j] for j in keep]
        try:
            res = cuped(ctrl.select(rows, keep), var.select(rows, keep), covariates=names, alpha=cfg.alpha)
        except DataError as exc:
            seg = sorted({segments[r // (k - 1)] for r in rows})[:5]
            raise DataError(f"CUPED in segment(s) {seg}: {exc}") from exc
        m_c[rows], m_v[rows] = res.control_mean, res.variant_mean
        var_c[rows], var_v[rows] = res.control_var, res.variant_var
        df[rows] = res.df
        used[rows] = f"covariates: {', '.join(names)}{note}"
    return _Estimates(m_c, m_v, var_c, var_v, df, unadj), used


def _poststratified(
    n: np.ndarray, s: np.ndarray, q: np.ndarray, est: _Estimates | None, k: int
) -> _Estimates:
    """Post-stratified "all" rows (one per variant) from the segment rows; segment 0 is "all"."""
    sizes = n[1:].sum(axis=1)  # every arm's units per segment
    if est is None:
        res = poststratified_difference(
            n[1:, :1].T, s[1:, :1].T, q[1:, :1].T, n[1:, 1:].T, s[1:, 1:].T, q[1:, 1:].T,
            stratum_sizes=sizes[None, :],
        )  # fmt: skip
        inf = np.full(k - 1, np.inf)
        return _Estimates(
            res.control_mean, res.variant_mean, res.control_var, res.variant_var, inf, inf * np.nan
        )
    w = (sizes / sizes.sum())[:, None]  # (segments, 1) against the (segments, variants) rows

    def seg(a: np.ndarray) -> np.ndarray:
        return a[k - 1 :].reshape(-1, k - 1)

    return _Estimates(
        np.sum(w * seg(est.m_c), axis=0),
        np.sum(w * seg(est.m_v), axis=0),
        np.sum(w**2 * seg(est.var_c), axis=0),
        np.sum(w**2 * seg(est.var_v), axis=0),
        np.full(k - 1, np.inf),
        np.sum(w**2 * seg(est.var_unadj), axis=0),
    )


def _weighted_rows(
    g: dict[str, np.ndarray], k: int, cfg: _Settings, est: _Estimates, custom: np.ndarray,
    what: np.ndarray, fixed: np.ndarray, test: str = "",
) -> np.ndarray:  # fmt: skip
    """Put Hájek estimates into the rows of a targeted wave whose propensities vary; return those rows.

    Changes ``est``, ``custom``, ``what`` and ``fixed`` in place. Without covariates the other rows'
    plain estimates fill ``est`` too, so that the pooled row can post-stratify the segment rows.
    """
    weighted, (m_c, m_v, var_c, var_v) = hajek_rows(g)
    if not weighted.any():
        return weighted
    if not cfg.covariates:
        n0, n1 = _pairs(g["n"], k)
        pm_c, pv_c = _plain_estimates(n0, *(_pairs(g[c], k)[0] for c in ("sum", "sum_sq")))
        pm_v, pv_v = _plain_estimates(n1, *(_pairs(g[c], k)[1] for c in ("sum", "sum_sq")))
        for name, value in zip(_Estimates._fields, (pm_c, pm_v, pv_c, pv_v), strict=False):
            getattr(est, name)[:] = value
        est.var_unadj[:] = pv_c + pv_v
    for name, value in zip(_Estimates._fields, (m_c, m_v, var_c, var_v), strict=False):
        getattr(est, name)[weighted] = value[weighted]
    est.df[weighted] = np.inf
    est.var_unadj[weighted] = var_c[weighted] + var_v[weighted]
    custom |= weighted
    note = f"{HAJEK_METHOD} (not covariate-adjusted)" if cfg.covariates else HAJEK_METHOD
    what[weighted] = note
    fixed[weighted] = note + test + "; log-ratio relative interval"
    return weighted


def _frequentist_rows(
    out: dict[str, np.ndarray],
    comp: Any,
    name: str,
    kind: str,
    role: str,
    segments: list[str],
    g: dict[str, np.ndarray],
    k: int,
    cfg: _Settings,
    level: str,
    thin: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Fixed-horizon or sequential rows: plain, CUPED-adjusted and/or post-stratified."""
    n, s, q = g["n"], g["sum"], g["sum_sq"]
    rows = len(out["metric"])
    alt = cfg.sided(role)
    one_sided = "" if alt == "two-sided" else f"one-sided ({alt}) "
    cols = {
        c: np.array(getattr(comp, c), dtype=float)
        for c in ("control_value", "variant_value", "abs_lift", "rel_lift", "ci_low", "ci_high",
                  "rel_ci_low", "rel_ci_high", "statistic", "df", "p_value")
    }  # fmt: skip
    estimable = np.array(comp.estimable, dtype=bool)
    reason = np.array(comp.reason, dtype=object)
    what = np.full(rows, "difference of the arm means", dtype=object)
    fixed = np.full(rows, comparison_method(kind, alt), dtype=object)
    custom = np.zeros(rows, dtype=bool)
    est = _Estimates(*(np.full(rows, np.nan) for _ in range(6)))
    cuped_name = "CUPED regression adjustment (Deng et al. 2013), theta pooled within arms"
    if cfg.covariates:
        est, used = _cuped_estimates(g, k, cfg, segments)
        custom[:] = True
        what = np.array([f"{cuped_name}, {u}" for u in used], dtype=object)
        fixed = np.array(
            [f"{w}; {one_sided}Welch t (Welch-Satterthwaite df), log-ratio relative interval" for w in what]
        )
    pooled_rows = np.arange(k - 1)
    test = f"; {one_sided}normal test" if one_sided else ""
    weighted = (
        _weighted_rows(g, k, cfg, est, custom, what, fixed, test)
        if cfg.weighted
        else np.zeros(rows, dtype=bool)
    )
    n_strata = len(segments) - 1
    post_note = ""
    if cfg.segmented and cfg.poststratify and n_strata >= 1:
        if np.all(n[1:] >= 2) and not (thin is not None and thin[1:].any()):
            by_est = cfg.covariates or weighted[k - 1 :].any()
            ps = _poststratified(n, s, q, est if by_est else None, k)
            for field_name in _Estimates._fields:
                getattr(est, field_name)[pooled_rows] = getattr(ps, field_name)
            custom[pooled_rows] = True
            base = f"{cuped_name}, covariates: {', '.join(cfg.covariates)}; " if cfg.covariates else ""
            post = (
                f"{base}post-stratified by {cfg.segment_col} (weights: segment shares of all units), "
                "normal approximation"
            )
            if weighted[k - 1 :].any():
                post += f"; segment rows with varying propensities: {HAJEK_METHOD}"
            weighted[pooled_rows] = weighted[k - 1 :].reshape(-1, k - 1).any(axis=0)
            what[pooled_rows] = post
            fixed[pooled_rows] = post + test + "; log-ratio relative interval"
        else:
            post_note = (
                f"; not post-stratified by {cfg.segment_col}: a segment has fewer than 2 units in an arm"
            )
            fixed[pooled_rows] = fixed[pooled_rows] + post_note
            what[pooled_rows] = what[pooled_rows] + post_note

    # estimate, variance, log ratio and its variance of the custom rows (normal theory)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        diff = est.m_v - est.m_c
        var = est.var_c + est.var_v
        pos = (est.m_c > 0) & (est.m_v > 0)
        log_ratio = np.where(pos, np.log(np.where(pos, est.m_v, 1.0) / np.where(pos, est.m_c, 1.0)), np.nan)
        log_var = np.where(pos, est.var_v / est.m_v**2 + est.var_c / est.m_c**2, np.nan)
    ok = custom & (var > 0) & np.isfinite(var)
    if custom.any():
        cols["control_value"] = np.where(custom, est.m_c, cols["control_value"])
        cols["variant_value"] = np.where(custom, est.m_v, cols["variant_value"])
        cols["abs_lift"] = np.where(custom, diff, cols["abs_lift"])
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.where(est.m_c > 0, est.m_v / est.m_c - 1.0, np.nan)
        cols["rel_lift"] = np.where(custom, rel, cols["rel_lift"])
        newly_bad = custom & estimable & ~ok
        reason = np.where(newly_bad, "zero variance after adjustment", reason)
        estimable = np.where(custom, estimable & ok, estimable)
        with np.errstate(divide="ignore", invalid="ignore"):
            se = np.sqrt(var)
            stat = diff / se
            quant = critical_value(cfg.alpha, est.df, alt)
            p = tail_p_value(stat, est.df, alt)
            se_log = np.sqrt(log_var)
        nan = np.full(rows, np.nan)
        c_low, c_high = open_ends(diff - quant * se, diff + quant * se, alt)
        r_low, r_high = open_ends(_expm1(log_ratio - quant * se_log), _expm1(log_ratio + quant * se_log), alt)
        upd = {
            "statistic": stat,
            "df": np.where(np.isinf(est.df), np.nan, est.df),
            "p_value": p,
            "ci_low": c_low,
            "ci_high": c_high,
            "rel_ci_low": r_low,
            "rel_ci_high": r_high,
        }
        for c, v in upd.items():
            cols[c] = np.where(custom, np.where(estimable, v, nan), cols[c])

    seq = cfg.sequential
    if seq is not None:
        tau = seq.tau_for(name)
        kw = {"alpha": cfg.alpha, "method": seq.method, "n_star": seq.n_star, "alternative": alt}
        n0, n1 = _pairs(n, k)
        s0, s1 = _pairs(s, k)
        q0, q1 = _pairs(q, k)
        total = n0 + n1
        args = (n0, s0, q0, n1, s1, q1)
        absolute = sequential_test(*args, kind=kind, scale="absolute", tau=tau, **kw)
        # arm estimates and the variances of those estimates, as in the absolute test
        with np.errstate(divide="ignore", invalid="ignore"):
            arm_m0, arm_m1 = s0 / n0, s1 / n1
            if kind == "proportion":
                arm_v0, arm_v1 = arm_m0 * (1 - arm_m0) / n0, arm_m1 * (1 - arm_m1) / n1
            else:
                arm_v0, arm_v1 = _plain_estimates(n0, s0, q0)[1], _plain_estimates(n1, s1, q1)[1]
        if custom.any():
            c_abs = sequential_estimate(diff, var, total, tau=tau, **kw)
            absolute = type(absolute)(
                *(np.where(custom, a, b) for a, b in zip(c_abs[:4], absolute[:4], strict=True)), ""
            )
            arm_m0, arm_m1 = np.where(custom, est.m_c, arm_m0), np.where(custom, est.m_v, arm_m1)
            arm_v0, arm_v1 = np.where(custom, est.var_c, arm_v0), np.where(custom, est.var_v, arm_v1)
        # the relative interval inverts the same always-valid test (Fieller): it excludes 0 exactly
        # when the absolute interval does
        rel_lo, rel_hi = sequential_ratio_interval(arm_m0, arm_v0, arm_m1, arm_v1, total, tau=tau, **kw)
        p_seq = np.asarray(absolute.p_value, dtype=float)
        estimable = estimable & np.isfinite(p_seq)
        nan = np.full(rows, np.nan)
        for c, v in (
            ("p_value", p_seq), ("ci_low", absolute.ci_low), ("ci_high", absolute.ci_high),
            ("rel_ci_low", rel_lo), ("rel_ci_high", rel_hi),
        ):  # fmt: skip
            cols[c] = np.where(estimable, v, nan)
        cols["statistic"] = nan
        cols["df"] = nan
        label = seq.row_label(name) + (f", {one_sided}(half-normal mixture)" if one_sided else "")
        methods = np.array([f"{label}; {w}" for w in what], dtype=object)
    else:
        methods = fixed

    for c, v in cols.items():
        out[c] = v
    out["estimable"] = estimable
    rel_note = (
        relative_lift_reason(cols["control_value"], cols["variant_value"])
        if kind == "mean"
        else np.full(rows, "", dtype=object)
    )
    if seq is not None and kind == "proportion":
        rel_note = np.where(
            np.isnan(cols["rel_ci_low"]) & ~(cols["control_value"] > 0), SEQ_REL_NEEDS_SUCCESSES, rel_note
        ).astype(object)
    out["reason"] = np.where(estimable, rel_note, reason).astype(object)
    out["small_counts"] = comp.small_counts
    if cfg.covariates:
        with np.errstate(divide="ignore", invalid="ignore"):
            out["variance_reduction"] = np.where(estimable, 1.0 - var / est.var_unadj, np.nan)
    out["method"] = methods
    parts = [_sides_text(alt, level)]
    if seq is not None:
        parts.append(
            "always valid at every look (a daily reader may keep each row's running minimum p-value and "
            "intersect its intervals); statistic and df not used"
        )
    if cfg.covariates:
        parts.append("values and lifts covariate-adjusted (at the pooled covariate means)")
    if role == "guardrail":
        parts.append("guardrail: not corrected for multiple comparisons")
    else:
        scope = "variants x segments (pooled 'all' rows: own family)" if cfg.segmented else "variants"
        on_top = " on the always-valid p-values" if seq is not None else ""
        parts.append(
            f"p_adjusted: {CORRECTION_NAMES[cfg.correction]}{on_top} across {scope} within the metric"
        )
        if cfg.correction is not None:
            parts.append(UNADJUSTED_INTERVALS)
    convention = np.full(rows, "; ".join(parts), dtype=object)
    if custom[pooled_rows].any() and cfg.segmented:
        convention[pooled_rows] = convention[pooled_rows] + "; pooled values are segment-weighted means"
    convention[weighted] = convention[weighted] + "; values are inverse-propensity weighted means"
    out["convention"] = convention
    return out


def _evaluate_metric(
    frame: dict[str, np.ndarray], control: str, others: list[str], role: str, cfg: _Settings
) -> dict[str, np.ndarray]:
    """Result columns (numpy arrays) of one metric from its rows of the sufficient statistics."""
    name = str(frame["metric"][0])
    kind = str(frame["kind"][0])
    extra = [c for c in frame if c.startswith(("sum_x:", "sum_xx:", "sum_xy:")) or c in WEIGHTED_COLUMNS]
    segments, g = _grid(frame, control, others, extra)
    real_n, real_s = g["n"].copy(), g["sum"].copy()
    thin = g["n"] < (2 if kind == "mean" else 1)  # (segments, arms): too few units to estimate
    if thin.any():
        # stand-in statistics keep the vectorised code finite; those rows are masked afterwards
        g = {**g, "n": np.where(thin, 2.0, g["n"]), "sum": np.where(thin, 1.0, g["sum"])}
        g["sum_sq"] = np.where(thin, 1.0, g["sum_sq"])
    k = g["n"].shape[1]

    def pair(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.repeat(arr[:, 0], k - 1), arr[:, 1:].reshape(-1)

    out = _evaluate_cells(name, kind, role, segments, g, control, others, cfg, thin)
    if not thin.any():
        return out
    thin_c, thin_v = pair(thin)
    bad = thin_c | thin_v
    need = "a mean needs at least 2 units per arm" if kind == "mean" else "a rate needs units in both arms"
    seg_col = f"segment {{}} of {cfg.segment_col!r}" if cfg.segmented else "the data"
    rn0, rn1 = pair(real_n)
    rs0, rs1 = pair(real_s)
    reasons = [
        f"too few units: {int(a)} in the control and {int(b)} in this variant in "
        + seg_col.format(repr(seg))
        + f"; {need}"
        for a, b, seg in zip(rn0, rn1, out["segment"], strict=True)
    ]
    out["n_control"] = rn0.astype(np.int64)
    out["n_variant"] = rn1.astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["control_value"] = np.where(rn0 > 0, rs0 / rn0, np.nan)
        out["variant_value"] = np.where(rn1 > 0, rs1 / rn1, np.nan)
    stat_cols = [
        "abs_lift", "rel_lift", "ci_low", "ci_high", "rel_ci_low", "rel_ci_high", "statistic", "df",
        "p_value", "variance_reduction", "prob_beat_control", "expected_loss",
    ]  # fmt: skip
    for col in stat_cols:
        if col in out:
            out[col] = np.where(bad, np.nan, out[col])
    if "prob_best" in out:  # a group quantity: not defined when one arm of the group is empty
        group_bad = np.repeat(thin.any(axis=1), k - 1)
        for col in ("prob_best", "control_prob_best"):
            out[col] = np.where(group_bad, np.nan, out[col])
    out["estimable"] = out["estimable"].astype(bool) & ~bad
    out["reason"] = np.where(bad, np.asarray(reasons, dtype=object), out["reason"].astype(object))
    out["small_counts"] = out["small_counts"].astype(bool) | bad
    return out


def _evaluate_cells(
    name: str,
    kind: str,
    role: str,
    segments: list[str],
    g: dict[str, np.ndarray],
    control: str,
    others: list[str],
    cfg: _Settings,
    thin: np.ndarray,
) -> dict[str, np.ndarray]:
    """Rows of one metric from its (segment, arm) statistics; ``thin`` cells hold stand-in values."""
    n, s, q = g["n"], g["sum"], g["sum_sq"]
    n_seg, k = n.shape
    rows = n_seg * (k - 1)

    def pair(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.repeat(arr[:, 0], k - 1), arr[:, 1:].reshape(-1)

    n0, n1 = pair(n)
    s0, s1 = pair(s)
    q0, q1 = pair(q)
    alt = cfg.sided(role)
    if kind == "proportion":
        # the Bayesian rows take only the estimates from it: no score-interval searches
        comp = compare_proportions(
            n0, s0, n1, s1, alpha=cfg.alpha, alternative=alt, intervals=cfg.method == "frequentist"
        )
    else:
        comp = compare_means(n0, s0, q0, n1, s1, q1, alpha=cfg.alpha, alternative=alt)
    out = {
        "metric": np.full(rows, name, dtype=object),
        "kind": np.full(rows, kind, dtype=object),
        "role": np.full(rows, role, dtype=object),
        "segment": np.repeat(np.asarray(segments, dtype=object), k - 1),
        "variant": np.tile(np.asarray(others, dtype=object), n_seg),
        "control": np.full(rows, control, dtype=object),
        "n_control": n0.astype(np.int64),
        "n_variant": n1.astype(np.int64),
        "control_value": np.asarray(comp.control_value, dtype=float),
        "variant_value": np.asarray(comp.variant_value, dtype=float),
        "abs_lift": np.asarray(comp.abs_lift, dtype=float),
        "rel_lift": np.asarray(comp.rel_lift, dtype=float),
    }
    level = f"{1 - cfg.alpha:.4g}"
    if cfg.method == "frequentist":
        return _frequentist_rows(out, comp, name, kind, role, segments, g, k, cfg, level, thin)

    # Bayesian
    if kind == "proportion":
        a, b = beta_posterior(n, s, cfg.prior)
        # "smaller": lower is better; 1 - p ~ Beta(b, a), so the summary of Beta(b, a) gives
        # P(lower than the control), P(lowest) and E[max(variant - control, 0)]
        summary = beta_group_summary(b, a) if alt == "smaller" else beta_group_summary(a, b)
        family, p1, p2 = "beta", a, b
        # Beta posteriors are proper even without successes (or failures) in both arms: the answer
        # is the Bayesian one (P(beat) = 0.5 for equal arms), kept with a note in ``reason``
        degenerate = np.zeros(rows, dtype=bool)
        group_degenerate = np.zeros(n_seg, dtype=bool)
        no_information = ~np.asarray(comp.estimable, dtype=bool)
        prior_name = f"prior Beta({cfg.prior[0]:g}, {cfg.prior[1]:g})"
        method_name = f"Beta-Binomial posterior, {prior_name}"
    else:
        mean, sd = normal_posterior(n, s, q, cfg.mean_prior)
        zero = sd == 0
        degenerate = np.repeat(zero[:, 0], k - 1) & zero[:, 1:].reshape(-1)
        group_degenerate = zero.all(axis=1)
        summary = normal_group_summary(-mean if alt == "smaller" else mean, sd)
        family, p1, p2 = "normal", mean, sd
        prior_name = (
            "flat prior"
            if cfg.mean_prior is None
            else f"prior Normal({cfg.mean_prior[0]:g}, {cfg.mean_prior[1]:g}**2) on each arm mean"
        )
        method_name = f"Normal approximation to each arm mean, {prior_name}"
    c1, v1 = pair(p1)
    c2, v2 = pair(p2)
    # one-sided: the equal-tailed interval at 2 * alpha, its open end dropped (the alpha quantile)
    level_alpha = cfg.alpha if alt == "two-sided" else 2.0 * cfg.alpha
    lo, hi, rlo, rhi = lift_intervals(family, (c1, c2), (v1, v2), alpha=level_alpha)
    lo, hi = open_ends(lo, hi, alt)
    rlo, rhi = open_ends(rlo, rhi, alt)
    nan = np.full(rows, np.nan)
    out["ci_low"] = np.where(degenerate, nan, lo)
    out["ci_high"] = np.where(degenerate, nan, hi)
    out["rel_ci_low"] = np.where(degenerate, nan, rlo)
    out["rel_ci_high"] = np.where(degenerate, nan, rhi)
    out["prob_beat_control"] = np.where(degenerate, nan, summary.prob_beat_control[:, 1:].reshape(-1))
    best = np.where(group_degenerate[:, None], np.nan, summary.prob_best)
    out["prob_best"] = best[:, 1:].reshape(-1)
    out["control_prob_best"] = np.repeat(best[:, 0], k - 1)
    out["expected_loss"] = np.where(degenerate, nan, summary.expected_loss[:, 1:].reshape(-1))
    out["estimable"] = ~degenerate
    reason = np.where(degenerate, comp.reason, "")
    if kind == "proportion":
        note = np.char.add(comp.reason.astype(str), ": the answer leans on the prior")
        reason = np.where(no_information, note, reason)
    if kind == "mean":
        no_rel = ~(np.asarray(comp.control_value) > 0)
        no_ci = np.isnan(rlo)
        note = np.where(no_rel, REL_LIFT_NEEDS_POSITIVE_CONTROL, "").astype(object)
        note = note + np.where(no_rel & no_ci, "; ", "") + np.where(no_ci, RELATIVE_NORMAL_RULE, "")
        reason = np.where(~degenerate & (no_rel | no_ci), note, reason)
    out["reason"] = reason.astype(object)
    out["small_counts"] = comp.small_counts
    bayes_text = (
        f"{method_name}; P(beat control), P(best), expected loss by Gauss-Legendre quadrature; "
        "credible intervals by inverting the lift's CDF (quadrature)"
    )
    shape = f"{level} equal-tailed credible intervals"
    if alt != "two-sided":
        better = "higher" if alt == "larger" else "lower"
        bayes_text += f"; one-sided ({alt}): P(beat control) = P(variant {better} than the control)"
        shape = f"{level} one-sided ({alt}) credible bounds ({_OPEN_END[alt]})"
    out["method"] = np.full(rows, bayes_text, dtype=object)
    convention = f"{shape}; observed values and lifts" + ("; guardrail" if role == "guardrail" else "")
    pooled_note = "; pooled 'all' rows: posterior of the pooled counts (not post-stratified)"
    out["convention"] = np.where(
        cfg.segmented & (out["segment"] == POOLED_SEGMENT), convention + pooled_note, convention
    ).astype(object)
    return out


# --------------------------------------------------------------------------------------------------
# the result
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Evaluation(Displayable):
    """Result of :func:`evaluate`: one row per (metric, segment, variant other than the control).

    ``table`` / ``to_pandas()`` give the rows (a copy); ``stats`` the sufficient statistics they
    were computed from. ``summary()`` reads the result in words, ``plot()`` draws a forest plot,
    ``decision()`` recommends an action per segment.
    """

    _table: pd.DataFrame
    _stats: pd.DataFrame | Mapping[str, np.ndarray]  # columns until .stats first builds the frame
    method: str
    alpha: float
    correction: str | None
    control: str
    variants: tuple[str, ...]
    metrics: tuple[str, ...]
    guardrails: tuple[str, ...]
    segment_col: str | None
    prior: tuple[float, float]
    mean_prior: tuple[float, float] | None
    sequential: bool = False
    sequential_label: str | None = None
    covariates: tuple[str, ...] = ()
    poststratify: bool = False
    sequential_n_star: float | None = None
    #: ``"two-sided"``, ``"larger"`` or ``"smaller"`` (see :func:`evaluate`).
    alternative: str = "two-sided"
    #: one-sided tests: per row, the finite bound of the opposite one-sided test (same level)
    _opposite: np.ndarray | None = field(default=None, compare=False, repr=False)

    def to_pandas(self) -> pd.DataFrame:
        """The result table (a copy)."""
        return self._table.copy()

    @property
    def stats(self) -> pd.DataFrame:
        """The sufficient statistics the rows were computed from (:func:`abkit.sufficient_statistics`)."""
        if not isinstance(self._stats, pd.DataFrame):  # built on first use: most callers never read it
            object.__setattr__(self, "_stats", pd.DataFrame(self._stats))
        return self._stats

    @property
    def segments(self) -> tuple[str, ...]:
        """Segment labels, ``"all"`` (pooled) first."""
        return tuple(_unique(self._table["segment"]))

    def _repr_html_(self) -> str:
        # the plain-language summary first, then a compact table (the full result is .table)
        return self.summary()._repr_html_() + table_html(self.compact_view())

    def compact_view(self, language: str = "en", max_rows: int = _HTML_ROWS) -> TableView:
        """A readable table of at most 10 columns: observed values, lift, interval, evidence.

        Values are the observed ones per arm (``stats``); with covariates the lift and interval are
        the adjusted ones. No relative lift against a control whose observed value is not positive.
        """
        t = self._table.head(max_rows)
        st = self.stats
        observed = dict(
            zip(
                zip(*(st[c].astype(str) for c in ("metric", "segment", "variant")), strict=True),
                st["sum"].to_numpy(dtype=float) / st["n"].to_numpy(dtype=float),
                strict=True,
            )
        )
        freq = self.method == "frequentist"
        unit = message("format.points_unit", language)
        rows = []
        for r in t.itertuples(index=False):
            kind = r.kind
            c_obs = observed.get((r.metric, str(r.segment), self.control))
            v_obs = observed.get((r.metric, str(r.segment), str(r.variant)))
            show = fmt.percent if kind == "proportion" else (lambda v: fmt.number(v, 2))

            def lift(v: float, kind: str = kind) -> str:
                return fmt.points(v, 1, unit=unit) if kind == "proportion" else fmt.number(v, 2, sign=True)

            rel = r.rel_lift if r.estimable and fmt.is_number(c_obs) and c_obs > 0 else None
            p = (r.p_adjusted if r.role == "primary" else r.p_value) if freq else r.prob_beat_control
            rows.append(
                (
                    r.metric,
                    str(r.segment),
                    str(r.variant),
                    show(c_obs),
                    show(v_obs),
                    lift(r.abs_lift) if r.estimable else fmt.MISSING,
                    interval_text(r.ci_low, r.ci_high, lift, language=language)
                    if r.estimable
                    else fmt.MISSING,
                    rel,
                    p,
                    bool(r.significant) if freq else None,
                )
            )
        headers = [
            ("metric", "column.metric", "text"),
            ("segment", "column.segment", "text"),
            ("variant", "column.variant", "text"),
            ("control_value", "column.control_value", "text"),
            ("variant_value", "column.variant_value", "text"),
            ("abs_lift", "column.adjusted_lift_short" if self.covariates else "column.lift_short", "text"),
            ("ci", "column.interval_short", "text"),
            ("rel_lift", "column.relative_lift", "relative"),
            ("p", "column.p_adjusted" if freq and self.correction else "column.p_value", "pvalue"),
            ("significant", "column.significant", "bool"),
        ]
        if not freq:
            headers[8] = ("prob", "column.prob_beat", "probability")
            headers = headers[:9]
            rows = [row[:9] for row in rows]
        columns = tuple(
            Column(key, message(msg, language, control=self.control, level=f"{1 - self.alpha:.0%}"), kind)
            for key, msg, kind in headers
        )
        notes = tuple(self._notes())
        if len(self._table) > max_rows:
            notes += (
                f"showing the first {max_rows} of {len(self._table):,} rows; the full result is .table",
            )
        return TableView(self._title(), columns, tuple(rows), notes=notes, language=language)

    def _title(self) -> str:
        return (
            f"Evaluation ({self.method}, alpha={self.alpha:g}) of {len(self.variants)} variant(s) "
            f"vs {self.control!r}"
        )

    def _notes(self) -> list[str]:
        pairs = self._table[["method", "convention"]].drop_duplicates()
        notes = [f"{m}: {c}" for m, c in zip(pairs["method"], pairs["convention"], strict=True)]
        bad = self._table[~self._table["estimable"]]
        if len(bad):
            notes.append(f"{len(bad)} comparison(s) not estimable: " + "; ".join(sorted(set(bad["reason"]))))
        partial = self._table[self._table["estimable"] & (self._table["reason"] != "")]
        if len(partial):
            notes.append(
                f"{len(partial)} estimable comparison(s) with a note: "
                + "; ".join(sorted(set(partial["reason"])))
            )
        return notes

    def __str__(self) -> str:
        # one narrow table per metric (no metric or significance column) so it fits 100 columns
        view = self.compact_view()
        keep = [i for i, c in enumerate(view.columns) if c.key not in ("metric", "significant")]
        parts = [self._title(), wrap_lines(self.summary())]
        for name in (*self.metrics, *self.guardrails):
            rows = tuple(tuple(row[i] for i in keep) for row in view.rows if row[0] == name)
            if rows:
                cols = tuple(view.columns[i] for i in keep)
                parts.append(table_text(TableView(name, cols, rows, language=view.language), width=100))
        return "\n\n".join(parts)

    def __repr__(self) -> str:
        extra = ""
        if self.method == "frequentist":
            extra = f", significant={int(self._table['significant'].sum())}"
        return (
            f"Evaluation(method={self.method!r}, control={self.control!r}, variants={list(self.variants)}, "
            f"metrics={list(self.metrics)}, guardrails={list(self.guardrails)}, "
            f"segments={len(self.segments)}, "
            f"rows={len(self._table)}{extra}"
            + (", sequential=True" if self.sequential else "")
            + (f", covariates={list(self.covariates)}" if self.covariates else "")
            + ")"
        )

    # ---------------------------------------------------------------------------------------------
    def _fmt_lift(self, kind: str, value: float, lang: str = "en") -> str:
        if kind == "proportion":
            return f"{100 * value:+.2f} {message('format.points_unit', lang)}"
        return fmt.number(value, 4, sign=True) if abs(value) < 1 else fmt.number(value, 2, sign=True)

    def _fmt_loss(self, kind: str, value: float, lang: str = "en") -> str:
        if kind == "proportion":
            return f"{fmt.number(100 * value, 3)} {message('format.points_unit', lang)}"
        return fmt.number(value, 4)

    def _fmt_value(self, kind: str, value: float) -> str:
        return _pct(value, 2) if kind == "proportion" else fmt.number(value, 4 if abs(value) < 1 else 2)

    def summary(self, max_segments: int = 12, *, language: str = "en") -> Text:
        """Plain-language reading: which variant wins where, by how much, and how sure we are.

        Each metric gets the pooled result and one sentence per segment; with more than
        ``max_segments`` segments, the segments are counted instead (with the largest wins named).
        "Wins" means adjusted p < alpha (frequentist) or P(beats control) >= 1 - alpha (Bayesian).
        With a multiple-comparison correction, the intervals quoted are per comparison (unadjusted)
        while "wins" uses the adjusted p-value, as a closing line per metric says. ``language``
        (``"en"``, ``"ja"``) picks the message catalogue; the numbers are the same. The result is a
        ``str`` that prints cleanly and displays as text in Jupyter.

        >>> df = pd.DataFrame({"variant": ["control"] * 2000 + ["coupon"] * 2000,
        ...                    "repurchased": [1] * 100 + [0] * 1900 + [1] * 150 + [0] * 1850})
        >>> print(evaluate(df, metrics=["repurchased"]).summary())
        repurchased (proportion):
          all: coupon wins: 5.00% -> 7.50% (+2.50 pp, +50.0%; 95% CI +1.01 pp to +4.02 pp;
          adjusted p = 0.0011)
          (per-comparison (unadjusted) intervals; significance uses the adjusted p-value)
        """
        max_segments = _check_int("max_segments", max_segments, 0)
        check_choice("language", language, LANGUAGES)
        lang = language
        lines: list[str] = []
        level = f"{1 - self.alpha:.0%}"
        t = self._table.assign(_hit=self._hits())
        for name in (*self.metrics, *self.guardrails):
            rows = t[t["metric"] == name]
            role = rows["role"].iloc[0]
            kind = message(f"summary.kind_{rows['kind'].iloc[0]}", lang)
            shown = name if lang == "en" else label("metric", name, lang)
            key = "summary.header_guardrail" if role == "guardrail" else "summary.header"
            lines.append(message(key, lang, metric=shown, kind=kind))
            pooled = rows["segment"] == POOLED_SEGMENT
            everyone = POOLED_SEGMENT if lang == "en" else message("segment.all", lang)
            lines.append(f"  {everyone}: " + self._segment_sentence(rows[pooled], role, level, lang))
            rest = rows[~pooled]
            n_seg = rest["segment"].nunique()
            if n_seg <= max_segments:
                for seg, part in rest.groupby("segment", sort=False):
                    lines.append(f"  {seg}: " + self._segment_sentence(part, role, level, lang))
            elif n_seg:
                lines.append("  " + self._segments_count(rest, role, n_seg, lang))
            if role == "primary" and self.method == "frequentist" and self.correction is not None:
                lines.append("  " + message("summary.unadjusted", lang))
        return Text("\n".join(lines))

    def _hits(self) -> np.ndarray:
        """Rows whose difference from the control is clear at level alpha (either direction)."""
        t = self._table
        if self.method == "frequentist":
            p = np.where(t["role"] == "primary", t["p_adjusted"], t["p_value"])
            return t["estimable"].to_numpy() & (np.nan_to_num(p, nan=1.0) < self.alpha)
        prob = t["prob_beat_control"].to_numpy(dtype=float)
        return t["estimable"].to_numpy() & ((prob >= 1 - self.alpha) | (prob <= self.alpha))

    def _better(self, role: str) -> float:
        """+1 when a higher value is better for rows of ``role``, -1 when lower is (``"smaller"``)."""
        return -1.0 if self.alternative == "smaller" and role == "primary" else 1.0

    def _segments_count(self, rest: pd.DataFrame, role: str, n_seg: int, lang: str = "en") -> str:
        gain = self._better(role) * rest["abs_lift"]
        up = rest[rest["_hit"] & (gain > 0)]
        up = up.assign(_gain=self._better(role) * up["abs_lift"])
        down = rest[rest["_hit"] & (gain < 0)]
        best = up.sort_values("_gain", ascending=False).drop_duplicates("segment")
        kind = rest["kind"].iloc[0]
        named = ", ".join(
            f"{r.segment} ({r.variant} {self._fmt_lift(kind, r.abs_lift, lang)})"
            for r in best.head(5).itertuples()
        )
        key = "summary.count_guardrail" if role == "guardrail" else "summary.count"
        text = message(key, lang, segments=f"{n_seg:,}", hits=f"{best['segment'].nunique():,}")
        text += message("summary.count_largest", lang, named=named) if named else ""
        if role == "primary":
            text += message("summary.count_worse", lang, worse=f"{down['segment'].nunique():,}")
        bad = rest.loc[~rest["estimable"], "segment"].nunique()
        return text + (message("summary.count_not_estimable", lang, bad=f"{bad:,}") if bad else "")

    def _describe(self, r: pd.Series, level: str, lang: str = "en") -> str:
        kind = r["kind"]
        rel = ""
        if np.isfinite(r["rel_lift"]):
            rel = message("summary.rel", lang, rel=f"{100 * r['rel_lift']:+.1f}%")
        if self.method != "frequentist":
            interval = message("summary.interval_credible", lang)
        else:
            key = "summary.interval_always_valid" if self.sequential else "summary.interval_ci"
            interval = message(key, lang)
        values = {
            "control": self._fmt_value(kind, r["control_value"]),
            "variant": self._fmt_value(kind, r["variant_value"]),
            "lift": self._fmt_lift(kind, r["abs_lift"], lang) + rel,
            "level": level,
            "interval": interval,
        }
        if np.isinf(r["ci_low"]) or np.isinf(r["ci_high"]):  # a one-sided bound
            bound = interval_text(
                r["ci_low"], r["ci_high"], lambda v: self._fmt_lift(kind, v, lang), language=lang
            )
            text = message("summary.describe_bound", lang, bound=bound, **values)
        else:
            text = message(
                "summary.describe",
                lang,
                low=self._fmt_lift(kind, r["ci_low"], lang),
                high=self._fmt_lift(kind, r["ci_high"], lang),
                **values,
            )
        if self.method == "frequentist":
            p = r["p_adjusted"] if r["role"] == "primary" else r["p_value"]
            adjusted = r["role"] == "primary" and self.correction
            shown = fmt.p_value(p)
            name = message("summary.p_adjusted" if adjusted else "summary.p", lang)
            close = message("summary.close", lang)
            return text + (f"{name} {shown}{close}" if shown.startswith("<") else f"{name} = {shown}{close}")
        if r["role"] == "guardrail":
            prob = _pct(r["prob_beat_control"])
            return text + message("summary.prob_higher", lang, prob=prob) + message("summary.close", lang)
        return (
            text
            + message(
                "summary.prob_lower" if self._better(r["role"]) < 0 else "summary.prob_beats",
                lang,
                prob=_pct(r["prob_beat_control"]),
                loss=self._fmt_loss(kind, r["expected_loss"], lang),
            )
            + message("summary.close", lang)
        )

    def _say(self, key: str, r: pd.Series, level: str, lang: str) -> str:
        return message(key, lang, variant=r["variant"], describe=self._describe(r, level, lang))

    def _segment_sentence(self, part: pd.DataFrame, role: str, level: str, lang: str = "en") -> str:
        est = part[part["estimable"]]
        if est.empty:
            return message("summary.not_estimable", lang, reasons="; ".join(sorted(set(part["reason"]))))
        hit = est[est["_hit"]]
        sign = self._better(role)  # guardrails: higher is worse, +1
        gain = sign * hit["abs_lift"]
        up = hit[gain > 0]
        up = up.assign(_gain=sign * up["abs_lift"]).sort_values("_gain", ascending=False)
        down = hit[gain < 0]
        pieces = []
        if role == "guardrail":
            for _, r in up.iterrows():
                pieces.append(self._say("summary.alert", r, level, lang))
            if not pieces:
                pieces.append(message("summary.no_alert", lang))
            return "; ".join(pieces)
        if len(up):
            r = up.iloc[0]
            pieces.append(self._say("summary.wins", r, level, lang))
            pieces.extend(message("summary.also_beats", lang, variant=v) for v in up["variant"].iloc[1:])
        for _, r in down.iterrows():
            pieces.append(self._say("summary.worse", r, level, lang))
        if not pieces:
            r = est.assign(_gain=sign * est["abs_lift"]).sort_values("_gain", ascending=False).iloc[0]
            pieces.append(
                self._say("summary.no_clear", r, level, lang)
            )
        skipped = part[~part["estimable"]]
        if len(skipped):
            pieces.append(message("summary.some_not_estimable", lang, n=len(skipped)))
        return "; ".join(pieces)

    # ---------------------------------------------------------------------------------------------
    def plot(self, ax: Any = None, *, metric: str | None = None, relative: bool = False) -> Any:
        """Forest plot of the lifts of ``metric`` (default: the first) with intervals, per segment.

        ``relative=True`` plots the relative lift. Draws on ``ax`` (a new figure when ``None``) and
        returns the Axes. Rows are coloured by the result, not by the drawn interval: green (red)
        when the variant is clearly better (worse) than the control — higher (lower), or with
        ``alternative="smaller"`` lower (higher) for the metrics —, i.e. ``significant`` (adjusted
        p-value; unadjusted for guardrails) in the frequentist method and ``prob_beat_control >=
        1 - alpha`` (``<= alpha``) in the Bayesian one; grey otherwise. The intervals drawn are per
        comparison (unadjusted), so a grey interval may exclude 0.

        >>> df = pd.DataFrame({"variant": ["control"] * 200 + ["coupon"] * 200,
        ...                    "repurchased": [1] * 10 + [0] * 190 + [1] * 15 + [0] * 185})
        >>> ax = evaluate(df, metrics=["repurchased"]).plot()
        >>> ax.get_xlabel()
        'repurchased: variant - control'
        >>> import matplotlib.pyplot as plt; plt.close(ax.figure)
        """
        name = self._metric_arg(metric)
        rows = self._table[self._table["metric"] == name].reset_index(drop=True)
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(figsize=(7, 0.45 * len(rows) + 1.5))
        key = ("rel_lift", "rel_ci_low", "rel_ci_high") if relative else ("abs_lift", "ci_low", "ci_high")
        est, lo, hi = (rows[c].to_numpy(dtype=float) for c in key)
        y = np.arange(len(rows))[::-1].astype(float)
        ok = np.isfinite(est)
        hit = self._hits()[(self._table["metric"] == name).to_numpy()]
        better = np.where(rows["role"].to_numpy() == "primary", self._better("primary"), 1.0)
        sign = better * rows["abs_lift"].to_numpy(dtype=float)  # "smaller": a fall is the gain
        colors = np.where(
            hit & ok & (sign > 0), "tab:green", np.where(hit & ok & (sign < 0), "tab:red", "tab:grey")
        )
        open_rows = []  # one-sided bounds (an infinite end): an arrow to the edge of the axes
        for i in np.flatnonzero(ok):
            low = lo[i] if np.isfinite(lo[i]) else est[i]
            high = hi[i] if np.isfinite(hi[i]) else est[i]
            ax.plot([low, high], [y[i], y[i]], color=colors[i], linewidth=2)
            ax.plot([est[i]], [y[i]], "o", color=colors[i])
            if (np.isinf(lo[i]) and np.isfinite(hi[i])) or (np.isinf(hi[i]) and np.isfinite(lo[i])):
                open_rows.append((i, -1.0 if np.isinf(lo[i]) else 1.0, high if np.isinf(lo[i]) else low))
        ax.axvline(0.0, color="black", linewidth=0.8)
        if open_rows:
            left, right = ax.get_xlim()
            pad = 0.15 * (right - left)
            left, right = left - pad, right + pad
            for i, side, start in open_rows:
                ax.annotate(
                    "", xy=(right if side > 0 else left, y[i]), xytext=(start, y[i]),
                    arrowprops={"arrowstyle": "->", "color": colors[i], "linewidth": 2},
                )  # fmt: skip
            ax.set_xlim(left, right)
        ax.set_yticks(y)
        ax.set_yticklabels([f"{s} · {v}" for s, v in zip(rows["segment"], rows["variant"], strict=True)])
        ax.set_xlabel(f"{name}: " + ("variant / control - 1" if relative else "variant - control"))
        per = " per-comparison" if self.method == "frequentist" and self.correction is not None else ""
        shape = "intervals" if self.alternative == "two-sided" else f"one-sided ({self.alternative}) bounds"
        ax.set_title(
            f"{name}: lift vs {self.control!r}, {1 - self.alpha:.0%}{per} {shape} ({self.method})"
            + ("\ncolour: significant after adjustment" if per else "")
        )
        return ax

    def _metric_arg(self, metric: str | None) -> str:
        if metric is None:
            return self.metrics[0] if self.metrics else self.guardrails[0]
        check_choice("metric", metric, [*self.metrics, *self.guardrails])
        return metric

    # ---------------------------------------------------------------------------------------------
    def decision(
        self,
        *,
        metric: str | None = None,
        mde: float = 0.1,
        relative: bool = True,
        power: float = 0.8,
        threshold: float | None = None,
        guardrail_margin: float | Mapping[str, float] = 0.0,
        objective: str | None = None,
        costs: Mapping[str, Any] | None = None,
        margin: float | None = None,
        revenue_col: str = "revenue",
        redeemed_col: str = "repurchased",
        per: int = 1000,
        srm: Any = None,
    ) -> Decision:
        """Recommend per segment: ship a variant, keep the holdout, keep collecting, or check the data.

        **Objective.** ``objective="primary"`` decides on ``metric``; ``objective="profit"`` on the
        incremental profit per customer targeted; ``None`` (default) is ``"profit"`` when ``costs``
        and ``margin`` are given, else ``"primary"``. ``costs`` and ``margin`` are those of
        :func:`economics` (``costs[variant] = {"contact": ..., "offer": ...}``, ``margin`` the gross
        margin share): per customer ``profit = margin * revenue - contact - offer * redeemed`` (the
        holdout: ``margin * revenue``), computed from the evaluation's sufficient statistics of the
        metrics ``revenue_col`` (a mean) and ``redeemed_col`` (a rate) with the identity of
        :func:`profit_moments` (revenue is only earned by customers who redeemed), so the
        evaluation must include both metrics (as metrics or guardrails). The profit gain of each
        variant over the holdout is tested like the primary metric: frequentist Welch t (always
        valid with ``sequential=True``: the asymptotic confidence sequence), with the evaluation's
        ``correction`` within the segment rows and, separately, within the pooled ``"all"`` rows;
        Bayesian: normal approximation, ``P(profit gain > 0) >= threshold``.

        * ``ship``: objective ``"primary"``: the variant with the largest lift among those that beat
          the control on ``metric`` (frequentist: adjusted p < alpha and a positive lift; Bayesian:
          ``prob_beat_control >= threshold``, default ``1 - alpha``) and that no guardrail vetoes.
          Objective ``"profit"``: the variant with the highest incremental profit among those whose
          profit gain is significant (as above), unless a guardrail vetoes it. A guardrail vetoes a
          variant in a segment when the lower bound of the interval (level ``1 - alpha``) of the
          guardrail's difference variant - control exceeds ``guardrail_margin`` (the tolerated
          increase, absolute; one number or a mapping guardrail name -> margin). With the default 0
          any clear increase vetoes; against a no-contact holdout, whose unsubscribe rate is 0 by
          construction, give the increase you accept (e.g. ``0.002`` for 0.2 pp).
        * ``keep holdout``: the only winners were vetoed; or every variant's upper interval bound is
          below the planned lift ``mde`` (objective ``"profit"``: below zero profit); or the arms
          already hold the sample needed for ``power`` to detect ``mde`` and no variant won. With a
          one-sided ``alternative`` the bound on the side of the gain is open, so the opposite
          one-sided bound at the same level stands in (for ``"larger"``: the upper bound of the
          ``"smaller"`` test), and ``confidence`` against the gain reads the opposite one-sided
          p-value ``1 - p`` (unadjusted).
        * ``check the data``: ``srm`` (one :class:`abkit.SRMResult` or a sequence of them, e.g. of
          the assignment and of the delivery) holds a sample-ratio alert (``ok`` is False): no segment
          ships, whatever the results; or a segment has too few units in an arm to compare anything.
        * ``keep collecting``: otherwise.

        Columns: ``objective``; the primary metric's result for the chosen variant (``variant`` when
        shipped, else ``best_variant``: the largest lift, or under the profit objective the highest
        profit): ``variant_value``, ``abs_lift``, ``ci_low``, ``ci_high``; ``evidence`` (the
        adjusted p-value or the probability of the deciding comparison: the primary metric's, or
        the profit gain's under the profit objective) and ``evidence_kind``; ``confidence``, that
        evidence in words from :data:`CONFIDENCE_WORDS` (see :func:`confidence_word`); ``profit``,
        ``profit_ci_low``, ``profit_ci_high``: the incremental profit of that variant per ``per``
        customers targeted and its interval (NaN without ``costs`` and ``margin``);
        ``profit_warning``: under the primary objective, why the money disagrees with the
        decision (the shipped variant's profit interval lies below zero, or another variant earns
        significantly more than it: Welch t between the two variants at level ``alpha``), also
        appended to ``reason``; ``vetoed_by``; the sample sizes below.

        Sample sizes (for ``power`` at ``mde``, relative to the control's value when ``relative``)
        come from :func:`abkit.power.sample_size` (rates) or :func:`abkit.power.sample_size_mean`
        (means), Bonferroni-adjusted over the variants when a correction is in use, and respect the
        actual split: each variant is planned with ``ratio = n_variant / n_control``. Columns:
        ``needed_control`` / ``needed_variant`` (the largest over the variants) are the arm sizes
        required, ``extra_control`` / ``extra_variant`` the additional units the control and (the
        most lacking) variant still need, ``n_control`` / ``n_variant`` (the smallest variant) the
        current sizes; ``n_per_arm`` is the smallest arm, ``needed_per_arm`` the largest required arm
        and ``extra_per_arm = max(extra_control, extra_variant)``, the most any single arm still
        needs. Sizes are ``<NA>`` (and the reason says why) when no sample size exists; the
        ``extra_*`` columns are ``<NA>`` in rows that ship (no more units are needed).

        >>> df = pd.DataFrame({"variant": ["control"] * 2000 + ["coupon"] * 2000,
        ...                    "repurchased": [1] * 100 + [0] * 1900 + [1] * 150 + [0] * 1850})
        >>> d = evaluate(df, metrics=["repurchased"]).decision()
        >>> d.table[["segment", "decision", "variant", "confidence"]].to_dict("records")
        [{'segment': 'all', 'decision': 'ship', 'variant': 'coupon', 'confidence': 'very likely better'}]
        """
        name = self._metric_arg(metric)
        if name in self.guardrails:
            raise ParameterError(f"metric={name!r} is a guardrail; decide on a primary metric")
        mde = float(check_finite("mde", mde))
        if mde <= 0:
            raise ParameterError(f"mde must be a positive planned lift, got {mde!r}")
        power = float(check_probability("power", power, what="the planned power"))
        thr = 1 - self.alpha if threshold is None else float(check_probability("threshold", threshold))
        margins = self._margins(guardrail_margin)
        if objective is not None:
            check_choice("objective", objective, OBJECTIVES)
        if (costs is None) != (margin is None):
            given, lacking = ("costs", "margin") if margin is None else ("margin", "costs")
            raise ParameterError(
                f"{given} is given without {lacking}: the profit needs both (costs per variant and the gross "
                "margin share), or neither"
            )
        money = costs is not None
        objective = objective or ("profit" if money else "primary")
        if objective == "profit" and not money:
            raise ParameterError(
                "objective='profit' needs costs={variant: {'contact': ..., 'offer': ...}} and margin=<gross "
                "margin share>; pass them, or objective='primary'"
            )
        profit = (
            self._profit_rows(costs, margin, revenue_col, redeemed_col, _check_int("per", per, 1), thr)
            if money
            else None
        )
        alerts = _srm_alerts(srm)
        table = self._decide(name, mde, relative, power, thr, margins, objective, profit, alerts, int(per))
        return Decision(
            _table=table,
            metric=name,
            mde=mde,
            relative=relative,
            power=power,
            method=self.method,
            guardrail_margins=margins,
            objective=objective,
            per=int(per),
        )

    def _profit_rows(
        self, costs: Any, margin: Any, revenue_col: str, redeemed_col: str, per: int, thr: float
    ) -> pd.DataFrame:
        """Profit gain of every (segment, variant) over the control, tested like the primary metric."""
        margin = _check_margin(margin)
        st = self.stats
        kinds = dict(zip(st["metric"], st["kind"], strict=False))
        lacking = [c for c in (revenue_col, redeemed_col) if c not in kinds]
        if lacking:
            raise ParameterError(
                f"the profit needs the metrics revenue_col={revenue_col!r} and "
                f"redeemed_col={redeemed_col!r}, but the evaluation lacks {lacking} (it has {list(kinds)}): "
                "add them to evaluate(metrics=... or guardrails=...), or name the evaluation's revenue and "
                "redemption metrics with revenue_col= and redeemed_col="
            )
        if kinds[revenue_col] != "mean" or kinds[redeemed_col] != "proportion":
            raise ParameterError(
                f"revenue_col={revenue_col!r} must be a mean (it is a {kinds[revenue_col]}) and "
                f"redeemed_col={redeemed_col!r} a rate (it is a {kinds[redeemed_col]}); pass abkit.Mean / "
                "abkit.Proportion to evaluate() to say so"
            )
        arms = [self.control, *self.variants]
        cost = check_costs(costs, arms, self.control)
        segments, rev = _grid(st[st["metric"] == revenue_col], self.control, list(self.variants))
        _, red = _grid(st[st["metric"] == redeemed_col], self.control, list(self.variants))
        contact = np.array([cost[v][0] for v in arms])
        offer = np.array([cost[v][1] for v in arms])
        n = rev["n"]
        s, q = profit_moments(n, red["sum"], rev["sum"], rev["sum_sq"], contact, offer, margin=margin)
        thin = n < 2
        k = len(arms)
        n_safe = np.where(thin, 2.0, n)
        s_safe, q_safe = np.where(thin, 0.0, s), np.where(thin, 1.0, q)
        n0, n1 = _pairs(n_safe, k)
        s0, s1 = _pairs(s_safe, k)
        q0, q1 = _pairs(q_safe, k)
        comp = compare_means(n0, s0, q0, n1, s1, q1, alpha=self.alpha)
        bad = np.logical_or(*_pairs(thin, k))
        est = np.asarray(comp.estimable, dtype=bool) & ~bad
        diff = np.where(est, comp.abs_lift, np.nan)
        seg = np.repeat(np.asarray(segments, dtype=object), k - 1)
        _, v0 = _plain_estimates(n0, s0, q0)
        m1, v1 = _plain_estimates(n1, s1, q1)
        var = v0 + v1
        weighted, pgrid = self._weighted_profit(st, revenue_col, redeemed_col, contact, offer, margin)
        weighted = weighted & ~bad
        if weighted.any():  # a targeted wave: Hájek profit means where a row mixes cells (normal theory)
            _, (wm0, wm1, wv0, wv1) = hajek_rows(pgrid)
            diff = np.where(weighted, wm1 - wm0, diff)
            var = np.where(weighted, wv0 + wv1, var)
            m1, v1 = np.where(weighted, wm1, m1), np.where(weighted, wv1, v1)
            est = est & ~(weighted & ~(var > 0))
        if self.method == "bayesian":
            sd = np.sqrt(var)
            with np.errstate(divide="ignore", invalid="ignore"):
                prob = np.where(est, sps.norm.cdf(diff / sd), np.nan)
            lo, hi, _ = _normal_comparison(diff, var, self.alpha)
            evidence, win = prob, est & (prob >= thr) & (diff > 0)
            p_raw = np.full(len(diff), np.nan)
        else:
            lo, hi, p_raw = comp.ci_low, comp.ci_high, comp.p_value
            if weighted.any():
                w_lo, w_hi, w_p = _normal_comparison(diff, var, self.alpha)
                lo, hi = np.where(weighted, w_lo, lo), np.where(weighted, w_hi, hi)
                p_raw = np.where(weighted, w_p, p_raw)
            if self.sequential:
                res = sequential_estimate(
                    diff, var, n0 + n1, alpha=self.alpha, method="asymptotic-cs",
                    n_star=self.sequential_n_star or DEFAULT_N_STAR,
                )  # fmt: skip
                lo, hi, p_raw = res.ci_low, res.ci_high, res.p_value
            p_raw = np.where(est, p_raw, np.nan)
            families = np.where(seg == POOLED_SEGMENT, "pooled", "segments")
            evidence = adjust_pvalues(p_raw, families, self.correction)
            win = est & (np.nan_to_num(evidence, nan=1.0) < self.alpha) & (diff > 0)
        return pd.DataFrame(
            {
                "segment": seg,
                "variant": np.tile(np.asarray(self.variants, dtype=object), len(segments)),
                "profit": per * diff,
                "profit_ci_low": np.where(est, per * lo, np.nan),
                "profit_ci_high": np.where(est, per * hi, np.nan),
                "profit_p_value": p_raw,
                "profit_evidence": evidence,
                "profit_win": win,
                "profit_estimable": est,
                # per-customer mean profit and its variance, for comparisons between two variants
                "_m1": m1,
                "_v1": v1,
                "_n1": n1,
                "_q1": q1,
                "_s1": s1,
                "_weighted": weighted,
            }
        )

    def _weighted_profit(
        self, st: pd.DataFrame, revenue_col: str, redeemed_col: str, contact: np.ndarray,
        offer: np.ndarray, margin: float,
    ) -> tuple[np.ndarray, dict[str, np.ndarray] | None]:  # fmt: skip
        """Rows (segment-major, per variant) whose profit needs inverse-propensity weighting.

        Only a targeted wave evaluated with ``propensity_col`` carries the weighted sums. The profit's
        weighted sums follow from those of revenue and redemptions as in :func:`profit_moments`
        (revenue earned only by customers who redeemed); returned as a (segments, arms) grid.
        """
        if not all(c in st.columns for c in WEIGHTED_COLUMNS):
            return np.zeros(len(_unique(st["segment"])) * len(self.variants), dtype=bool), None
        others = list(self.variants)
        _, rev = _grid(st[st["metric"] == revenue_col], self.control, others, WEIGHTED_COLUMNS)
        _, red = _grid(st[st["metric"] == redeemed_col], self.control, others, WEIGHTED_COLUMNS)
        c, o = contact[None, :], offer[None, :]
        grid = {
            "n": rev["n"],
            "sum_w": rev["sum_w"],
            "sum_w2": rev["sum_w2"],
            "sum_wy": margin * rev["sum_wy"] - c * rev["sum_w"] - o * red["sum_wy"],
            "sum_w2y": margin * rev["sum_w2y"] - c * rev["sum_w2"] - o * red["sum_w2y"],
            "sum_w2y2": margin**2 * rev["sum_w2y2"] + c**2 * rev["sum_w2"]
            + (o**2 + 2 * c * o) * red["sum_w2y"] - 2 * margin * (c + o) * rev["sum_w2y"],
        }  # fmt: skip
        mask, _ = hajek_rows(grid)
        return mask, grid

    def _decide(
        self,
        name: str,
        mde: float,
        relative: bool,
        power: float,
        thr: float,
        margins: dict[str, float],
        objective: str = "primary",
        profit: pd.DataFrame | None = None,
        alerts: str = "",
        per: int = 1000,
    ) -> pd.DataFrame:
        """Vectorised over segments: one row per segment of metric ``name``."""
        t = self._table
        rows = t[t["metric"] == name].reset_index(drop=True)
        est = rows["estimable"].to_numpy()
        sign = self._better("primary")  # "smaller": a fall is the gain
        lift = sign * rows["abs_lift"].to_numpy(dtype=float)
        if self.method == "frequentist":
            evidence_col = "p_adjusted"
            win = est & rows["significant"].to_numpy() & (lift > 0)
        else:
            evidence_col = "prob_beat_control"
            win = est & (rows["prob_beat_control"].to_numpy(dtype=float) >= thr) & (lift > 0)
        guard = t[t["role"] == "guardrail"]
        margin = guard["metric"].map(margins).to_numpy(dtype=float)
        bad = guard[guard["estimable"].to_numpy() & (guard["ci_low"].to_numpy(dtype=float) > margin)]
        vetoes = bad.groupby(["segment", "variant"], sort=True)["metric"].agg(", ".join)
        found = vetoes.to_dict()
        pairs = zip(rows["segment"], rows["variant"], strict=True)
        veto = np.array([found.get(key, "") for key in pairs], dtype=object)
        if profit is not None:
            # profit rows come in the same (segment, variant) order as the metric's rows
            rows = pd.concat([rows, profit.drop(columns=["segment", "variant"])], axis=1)
        by_profit = objective == "profit"
        if by_profit:
            assert profit is not None
            est_d = rows["profit_estimable"].to_numpy(dtype=bool)
            win = rows["profit_win"].to_numpy(dtype=bool)
            rank = np.where(est_d, rows["profit"].to_numpy(dtype=float), -np.inf)
        else:
            rank = np.where(est, lift, -np.inf)
        allowed = win & (veto == "")
        rows = rows.assign(
            _win=win,
            _allowed=allowed,
            _veto=np.where(win & (veto != ""), rows["variant"].to_numpy(dtype=object) + ": " + veto, ""),
            _rank=rank,
            _order=np.arange(len(rows)),
            _have=np.minimum(rows["n_control"], rows["n_variant"]),
            _thin=rows["reason"].astype(str).str.startswith("too few units").to_numpy(),
        )
        k = int(rows.groupby("segment", sort=False).size().iloc[0])
        need_c, need_v, row_notes = self._needed(name, rows, k, mde, relative, power)
        rows = rows.assign(
            _need_c=need_c,
            _need_v=need_v,
            _extra_c=np.maximum(need_c - rows["n_control"].to_numpy(dtype=float), 0.0),
            _extra_v=np.maximum(need_v - rows["n_variant"].to_numpy(dtype=float), 0.0),
            _note=row_notes,
        )
        # best row per segment: an allowed winner first, else the largest estimable lift (profit)
        best = rows.sort_values(["_allowed", "_rank"], ascending=False, kind="stable").drop_duplicates(
            "segment"
        )
        by_seg = rows.groupby("segment", sort=False)
        control_value = by_seg["control_value"].first()
        if by_profit:
            high = rows["profit_ci_high"].where(rows["profit_estimable"])
            below = (high < 0) | ~rows["profit_estimable"]
            all_below = below.groupby(rows["segment"], sort=False).all() & by_seg["profit_estimable"].any()
        else:
            mde_abs = mde * control_value.abs() if relative else pd.Series(mde, index=control_value.index)
            # the interval's end on the side of the gain ("smaller": minus the low end); a one-sided
            # bound is open on that side, so the opposite one-sided bound (same level) stands in
            if self._opposite is not None:
                other = pd.Series(self._opposite[(t["metric"] == name).to_numpy()], index=rows.index)
                gain_high = other if sign > 0 else -other
            else:
                gain_high = rows["ci_high"] if sign > 0 else -rows["ci_low"]
            ci_high = gain_high.where(rows["estimable"])
            below = (ci_high < rows["segment"].map(mde_abs)) | ~rows["estimable"]
            all_below = below.groupby(rows["segment"], sort=False).all() & by_seg["estimable"].any()
        out = pd.DataFrame(
            {
                "segment": control_value.index.to_numpy(dtype=object),
                "metric": name,
                "control": self.control,
                "control_value": control_value.to_numpy(),
            }
        )
        best = best.set_index("segment").reindex(out["segment"])
        any_allowed = best["_allowed"].to_numpy(dtype=bool)
        any_win = by_seg["_win"].any().to_numpy()
        has_est = by_seg["estimable"].any().to_numpy()
        thin_text = by_seg["reason"].agg(
            lambda v: next((x for x in v if str(x).startswith("too few units")), "")
        ).to_numpy()
        vetoed_text = by_seg["_veto"].agg(lambda v: "; ".join(x for x in v if x)).to_numpy()
        have = by_seg["_have"].min().to_numpy()
        notes = by_seg["_note"].agg(lambda v: next((x for x in v if x), "")).to_numpy()
        unknown = notes != ""

        def worst(col: str) -> np.ndarray:
            return np.where(unknown, np.nan, by_seg[col].max().to_numpy(dtype=float))

        needed_c, needed_v, extra_c, extra_v = (
            worst(c) for c in ("_need_c", "_need_v", "_extra_c", "_extra_v")
        )
        extra = np.fmax(extra_c, extra_v)
        extra[unknown] = np.nan
        what = "earns more than the holdout" if by_profit else "beats the control"
        corrected = self.method == "frequentist" and self.correction is not None
        decision, reason = [], []
        for i in range(len(out)):
            if alerts:
                decision.append("check the data")
                reason.append(f"sample-ratio alert: {alerts}; no decision until the split is explained")
            elif any_allowed[i]:
                decision.append("ship")
                reason.append(f"{best['variant'].iloc[i]} {what}")
            elif any_win[i]:
                decision.append("keep holdout")
                reason.append(f"winner(s) vetoed by guardrails ({vetoed_text[i]})")
            elif not has_est[i] and thin_text[i]:
                decision.append("check the data")
                reason.append(f"nothing to compare: {thin_text[i]}")
            elif all_below.iloc[i]:
                decision.append("keep holdout")
                reason.append(
                    "every variant's profit interval lies below zero"
                    if by_profit
                    else "every variant's interval excludes the planned lift"
                )
            elif extra[i] == 0:
                decision.append("keep holdout")
                # the interval shown per comparison may exclude 0 while the corrected test does not
                adjusted = " after the multiple-comparison correction" if corrected else ""
                reason.append(
                    "planned sample reached and no variant's profit gain is clear" + adjusted
                    if by_profit
                    else "planned sample reached and no variant clearly beats the control" + adjusted
                )
            elif unknown[i] or not np.isfinite(extra[i]):
                decision.append("keep collecting")
                reason.append(f"no conclusive result yet ({notes[i] or thin_text[i]})")
            else:
                decision.append("keep collecting")
                reason.append(
                    f"no conclusive result yet; power {power:g} at the planned lift needs "
                    f"{extra_c[i]:,.0f} more control unit(s) and {extra_v[i]:,.0f} more per variant"
                )
        has_best = np.isfinite(best["_rank"].to_numpy(dtype=float))
        shipped = np.array([d == "ship" for d in decision])
        out["decision"] = decision
        out["objective"] = objective
        out["variant"] = np.where(shipped, best["variant"].to_numpy(dtype=object), None)
        out["best_variant"] = np.where(has_best, best["variant"].to_numpy(dtype=object), None)
        for col in ("variant_value", "abs_lift", "ci_low", "ci_high"):
            out[col] = np.where(has_best, best[col].to_numpy(dtype=float), np.nan)
        evid = best["profit_evidence" if by_profit else evidence_col].to_numpy(dtype=float)
        out["evidence"] = np.where(has_best, evid, np.nan)
        out["evidence_kind"] = ("profit_" if by_profit else "") + (
            "p_adjusted" if self.method == "frequentist" else "prob_gain" if by_profit else evidence_col
        )
        gains = best["profit"] if by_profit else sign * best["abs_lift"]
        direction = gains.to_numpy(dtype=float)
        evidence = out["evidence"].to_numpy(dtype=float)
        if self.alternative != "two-sided" and self.method == "frequentist" and not by_profit:
            # a one-sided p-value only weighs the gain; against it, the opposite one-sided p-value
            # (1 - p, unadjusted) says how sure "worse" is
            against = has_best & (direction < 0)
            evidence = np.where(against, 1.0 - best["p_value"].to_numpy(dtype=float), evidence)
        out["confidence"] = [
            confidence_word(e, d, method=self.method, alpha=self.alpha, threshold=thr)
            for e, d in zip(evidence, np.where(has_best, direction, np.nan), strict=True)
        ]
        money_notes = np.full(len(out), "", dtype=object)
        for col in ("profit", "profit_ci_low", "profit_ci_high"):
            out[col] = (
                np.where(has_best, best[col].to_numpy(dtype=float), np.nan) if profit is not None else np.nan
            )
        if profit is not None and not by_profit:
            money_notes = self._profit_warnings(rows, best, shipped, per)
        out["profit_warning"] = money_notes
        out["vetoed_by"] = vetoed_text
        out["n_per_arm"] = have.astype(np.int64)
        out["needed_per_arm"] = _int_array(np.fmax(needed_c, needed_v))
        no_extra = shipped | ~np.isfinite(extra)
        out["extra_per_arm"] = _int_array(np.where(no_extra, np.nan, extra))
        out["n_control"] = by_seg["n_control"].first().to_numpy(dtype=np.int64)
        out["n_variant"] = by_seg["n_variant"].min().to_numpy(dtype=np.int64)
        out["needed_control"] = _int_array(needed_c)
        out["needed_variant"] = _int_array(needed_v)
        out["extra_control"] = _int_array(np.where(no_extra, np.nan, extra_c))
        out["extra_variant"] = _int_array(np.where(no_extra, np.nan, extra_v))
        out["reason"] = [
            r + (f"; warning: {w}" if w else "") for r, w in zip(reason, money_notes, strict=True)
        ]
        return out

    def _profit_warnings(
        self, rows: pd.DataFrame, best: pd.DataFrame, shipped: np.ndarray, per: int
    ) -> np.ndarray:
        """Objective "primary": where the shipped variant's money disagrees with the decision."""
        out = np.full(len(best), "", dtype=object)
        for i, seg in enumerate(best.index):
            if not shipped[i]:
                continue
            b = best.iloc[i]
            texts = []
            if np.isfinite(b["profit_ci_high"]) and b["profit_ci_high"] < 0:
                texts.append(
                    f"{b['variant']} loses money: profit {b['profit']:+,.0f} per {per:,} "
                    f"customers targeted (interval {b['profit_ci_low']:+,.0f} to {b['profit_ci_high']:+,.0f})"
                )
            others = rows[(rows["segment"] == seg) & (rows["variant"] != b["variant"])]
            for _, o in others.iterrows():
                if not (o["profit_estimable"] and b["profit_estimable"]):
                    continue
                if b["_weighted"] or o["_weighted"]:  # Hájek means of a targeted wave: normal test
                    gap, sd = o["_m1"] - b["_m1"], float(np.sqrt(o["_v1"] + b["_v1"]))
                    more = sd > 0 and 2.0 * sps.norm.sf(abs(gap / sd)) < self.alpha and gap > 0
                else:
                    comp = compare_means(
                        b["_n1"], b["_s1"], b["_q1"], o["_n1"], o["_s1"], o["_q1"], alpha=self.alpha
                    )
                    more = comp.estimable[0] and comp.p_value[0] < self.alpha and comp.abs_lift[0] > 0
                if more:
                    texts.append(
                        f"{o['variant']} earns significantly more ({o['profit']:+,.0f} vs "
                        f"{b['profit']:+,.0f} per {per:,} customers targeted)"
                    )
            out[i] = "; ".join(texts)
        return out

    def _margins(self, guardrail_margin: Any) -> dict[str, float]:
        if isinstance(guardrail_margin, Mapping):
            unknown = sorted(set(guardrail_margin) - set(self.guardrails))
            if unknown:
                raise ParameterError(
                    f"guardrail_margin names {unknown}, which are not guardrails {self.guardrails}"
                )
            raw = {g: guardrail_margin.get(g, 0.0) for g in self.guardrails}
        else:
            raw = dict.fromkeys(self.guardrails, guardrail_margin)
        out = {}
        for name, value in raw.items():
            v = float(check_finite(f"guardrail_margin[{name!r}]", value))
            if v < 0:
                raise ParameterError(
                    f"guardrail_margin[{name!r}] must be >= 0 (a tolerated increase), got {v:g}"
                )
            out[name] = v
        return out

    def _needed(
        self, name: str, rows: pd.DataFrame, k: int, mde: float, relative: bool, power: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Units needed in the control and in the variant of each row for ``power`` at the planned lift.

        Each row is planned with its own allocation, ``ratio = n_variant / n_control``
        (:func:`abkit.power.sample_size` for rates, :func:`abkit.power.sample_size_mean` for means with
        the control's standard deviation), Bonferroni over the ``k`` variants when a correction is in
        use. Returns (needed control, needed variant, note); NaN and a note when unavailable.
        """
        correction = "bonferroni" if self.correction is not None and k > 1 else None
        alternative, sign = self.alternative, self._better("primary")
        st = self.stats[(self.stats["metric"] == name) & (self.stats["variant"] == self.control)]
        st = st.set_index("segment").reindex(rows["segment"].to_numpy())
        n, s, q = (st[c].to_numpy(dtype=float) for c in ("n", "sum", "sum_sq"))
        kind = str(st["kind"].iloc[0])
        values = rows["control_value"].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):  # empty arms are skipped below
            ratios = rows["n_variant"].to_numpy(dtype=float) / rows["n_control"].to_numpy(dtype=float)
        need_c = np.full(len(rows), np.nan)
        need_v = np.full(len(rows), np.nan)
        notes = np.full(len(rows), "", dtype=object)
        done: dict[tuple[float, float, float], Any] = {}
        thin = rows["_thin"].to_numpy(dtype=bool) if "_thin" in rows.columns else np.zeros(len(rows), bool)
        for i, (value, ratio) in enumerate(zip(values, ratios, strict=True)):
            if thin[i]:  # an empty or one-unit arm: nothing to plan from (the row says why)
                continue
            sd = math.sqrt(max(q[i] - s[i] * s[i] / n[i], 0.0) / (n[i] - 1)) if kind == "mean" else 0.0
            key = (value, ratio, sd)
            if key not in done:
                try:
                    if kind == "proportion":
                        done[key] = power_module.sample_size(
                            value, sign * mde, relative=relative, alpha=self.alpha, power=power, variants=k,
                            correction=correction, ratio=ratio, alternative=alternative,
                        )  # fmt: skip
                    else:
                        d = sign * (mde * abs(value) if relative else mde)
                        done[key] = power_module.sample_size_mean(
                            d, sd, alpha=self.alpha, power=power, variants=k, correction=correction,
                            ratio=ratio, alternative=alternative,
                        )  # fmt: skip
                except ParameterError as exc:
                    done[key] = f"sample size unavailable: {exc}"
            size = done[key]
            if isinstance(size, str):
                notes[i] = size
            else:
                need_c[i], need_v[i] = size.control, size.per_variant
        return need_c, need_v, notes


def _int_array(values: np.ndarray) -> pd.arrays.IntegerArray:
    """Nullable integers (NaN -> <NA>) for unit counts that may be unavailable."""
    return pd.array([None if np.isnan(v) else int(v) for v in values], dtype="Int64")


# --------------------------------------------------------------------------------------------------
# decisions
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Decision(Displayable):
    """Per-segment recommendation from :meth:`Evaluation.decision`."""

    _table: pd.DataFrame
    metric: str
    mde: float
    relative: bool
    power: float
    method: str
    guardrail_margins: dict[str, float]
    objective: str = "primary"
    per: int = 1000

    def to_pandas(self) -> pd.DataFrame:
        """One row per segment: ``decision`` in ``ship``, ``keep holdout``, ``keep collecting``,
        ``check the data``."""
        return self._table.copy()

    def _title(self) -> str:
        return f"Decision on {self.metric!r} ({self.method})"

    def _notes(self) -> list[str]:
        mde = f"{self.mde:.0%} relative" if self.relative else f"{self.mde:g} absolute"
        notes = [f"planned lift (mde): {mde}; planned power {self.power:g}"]
        if self.guardrail_margins:
            shown = ", ".join(f"{k} +{v:g}" for k, v in self.guardrail_margins.items())
            notes.append(
                f"guardrails veto a winner whose interval lies above the tolerated increase: {shown}"
            )
        return notes

    def __repr__(self) -> str:
        counts = self._table["decision"].value_counts().to_dict()
        return f"Decision(metric={self.metric!r}, segments={len(self._table)}, {counts})"

    def summary(self, *, language: str = "en") -> Text:
        """One plain line per segment: the action, the variant, its lift and why (prints cleanly)."""
        check_choice("language", language, LANGUAGES)
        return decision_summary(self._table, language)

    def compact_view(self, language: str = "en") -> TableView:
        """The decision in at most 10 columns (the full table is ``.table``)."""
        return decision_view(self._table, language, title=self._title())

    def _repr_html_(self) -> str:
        return self.summary()._repr_html_() + table_html(self.compact_view())

    def __str__(self) -> str:
        table = table_text(self.compact_view(), width=100)
        return f"{self._title()}\n{wrap_lines(self.summary())}\n\n{table}"


# --------------------------------------------------------------------------------------------------
# economics
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Economics(Displayable):
    """Incremental profit per ``per`` customers targeted, each variant vs the holdout (Welch interval)."""

    _table: pd.DataFrame
    per: int
    margin: float
    alpha: float

    def to_pandas(self) -> pd.DataFrame:
        """One row per (segment, variant); money columns are per ``per`` customers targeted."""
        return self._table.copy()

    def _title(self) -> str:
        return f"Incremental profit per {self.per:,} customers targeted vs the holdout"

    def _notes(self) -> list[str]:
        return [
            f"profit per customer = {self.margin:g} x revenue - contact cost - offer cost x redeemed "
            "(holdout: no costs); Welch t interval at level "
            f"{1 - self.alpha:g} for the difference in mean profit"
        ]

    def __repr__(self) -> str:
        losing = int((self._table["incremental_profit"] < 0).sum())
        return f"Economics(rows={len(self._table)}, per={self.per}, losing_money={losing})"

    def summary(self, *, language: str = "en", currency: str | None = None) -> Text:
        """One plain line per segment and variant: incremental profit and its interval."""
        check_choice("language", language, LANGUAGES)
        return economics_summary(self._table, self.per, language, currency)

    def compact_view(self, language: str = "en", currency: str | None = None) -> TableView:
        """The profit table in 7 columns (the full table is ``.table``)."""
        return economics_view(self._table, self.per, language, title=self._title(), currency=currency)

    def _repr_html_(self) -> str:
        return self.summary()._repr_html_() + table_html(self.compact_view())

    def __str__(self) -> str:
        table = table_text(self.compact_view(), width=100)
        return f"{self._title()}\n{wrap_lines(self.summary())}\n\n{table}"


def economics(
    outcomes: pd.DataFrame,
    *,
    costs: Mapping[str, Any],
    margin: float,
    revenue_col: str = "revenue",
    redeemed_col: str = "repurchased",
    variant_col: str = "variant",
    control: str | None = None,
    segment_col: str | None = None,
    per: int = 1000,
    alpha: float = 0.05,
    propensity_col: str | None = None,
) -> Economics:
    """Incremental profit of each variant over the no-contact holdout, per ``per`` customers targeted.

    Per customer: ``profit = margin * revenue - contact_cost - offer_cost * redeemed`` for a
    contacted variant (``costs[variant] = {"contact": ..., "offer": ...}``, the offer cost paid per
    redemption) and ``margin * revenue`` for the holdout. The mean profits are compared with
    Welch's t (interval at level ``1 - alpha``), and scaled by ``per``. A coupon that wins on
    repurchase rate can still lose money: its ``incremental_profit`` is then negative.
    ``propensity_col`` (a targeted wave, as in :func:`evaluate`): rows whose customers' arm
    probabilities vary compare inverse-propensity weighted (Hájek) mean profits, normal interval.

    >>> df = pd.DataFrame({"variant": ["control"] * 4 + ["mail"] * 4,
    ...                    "revenue": [0.0, 50.0, 0.0, 0.0, 50.0, 0.0, 60.0, 0.0],
    ...                    "repurchased": [0, 1, 0, 0, 1, 0, 1, 0]})
    >>> e = economics(df, costs={"mail": {"contact": 1.0, "offer": 5.0}}, margin=0.4)
    >>> float(e.table["incremental_profit"].iloc[0])  # (0.4 * 110 - 4 - 10) / 4 - 0.4 * 50 / 4 = 2.5
    2500.0
    """
    outcomes = to_pandas_frame(outcomes, what="outcomes")
    margin = _check_margin(margin)
    per = _check_int("per", per, 1)
    alpha = float(check_probability("alpha", alpha, what="the interval level is 1 - alpha"))
    cols = [variant_col, revenue_col, redeemed_col] + ([segment_col] if segment_col else [])
    check_columns(outcomes, cols, what="outcomes")
    variants = sorted({str(v) for v in pd.unique(outcomes[variant_col].dropna())})
    control = resolve_control(variants, control, what=f"column {variant_col!r}")
    if control not in variants:
        raise DataError(f"control={control!r} is not a value of column {variant_col!r} (values: {variants})")
    cost = check_costs(costs, variants, control)
    redeemed = outcomes[redeemed_col]
    red = redeemed.to_numpy(dtype=float, na_value=np.nan)
    if np.isnan(red).any() or not np.isin(red, (0.0, 1.0)).all():
        raise DataError(f"column {redeemed_col!r} must hold 0/1 or booleans without missing values")
    revenue = outcomes[revenue_col].to_numpy(dtype=float, na_value=np.nan)
    if not np.isfinite(revenue).all():
        raise DataError(
            f"{int((~np.isfinite(revenue)).sum())} missing or infinite values in column {revenue_col!r}"
        )
    labels = outcomes[variant_col].astype(str).to_numpy()
    contact = pd.Series({v: c[0] for v, c in cost.items()}).reindex(labels).to_numpy(dtype=float)
    offer = pd.Series({v: c[1] for v, c in cost.items()}).reindex(labels).to_numpy(dtype=float)
    frame = pd.DataFrame({variant_col: outcomes[variant_col].to_numpy()})
    if segment_col:
        frame[segment_col] = outcomes[segment_col].to_numpy()
    frame[_PROFIT] = margin * revenue - contact - offer * red
    if propensity_col is not None:
        check_columns(outcomes, [propensity_col], what="outcomes (propensity_col)")
        frame[propensity_col] = outcomes[propensity_col].to_numpy()
    st = sufficient_statistics(
        frame, [Mean(_PROFIT, name="profit")], variant_col=variant_col, segment_col=segment_col,
        allow_empty=True, propensity=propensity_col,
    )  # fmt: skip
    others = [v for v in variants if v != control]
    segments, g = _grid(st, control, others, WEIGHTED_COLUMNS if propensity_col is not None else ())
    return profit_table(
        segments, [control, *others], g["n"], g["sum"], g["sum_sq"],
        weighted={c: g[c] for c in WEIGHTED_COLUMNS} if propensity_col is not None else None,
        cost=cost, margin=margin, per=per, alpha=alpha,
    )  # fmt: skip


def profit_table(
    segments: Sequence[str],
    arms: Sequence[str],
    n: np.ndarray,
    s: np.ndarray,
    q: np.ndarray,
    *,
    cost: Mapping[str, tuple[float, float]],
    margin: float,
    per: int,
    alpha: float,
    weighted: Mapping[str, np.ndarray] | None = None,
) -> Economics:
    """Welch comparisons of per-customer profit from its n, sum and sum of squares per (segment, arm).

    ``arms[0]`` is the control; ``n``, ``s`` and ``q`` have one row per segment and one column per arm.
    Shared by :func:`economics` (per-customer rows) and :func:`abkit.sources.economics_from_aggregates`.
    ``weighted`` (a targeted wave): the :data:`abkit.stats.weighting.WEIGHTED_COLUMNS` of the profit
    per (segment, arm); rows whose propensities vary compare Hájek means instead (normal interval).
    """
    control, others = arms[0], list(arms[1:])
    k = len(arms)
    n = np.nan_to_num(np.asarray(n, dtype=float))  # a (segment, arm) cell without rows has no units
    thin = n < 2
    if thin.any():  # stand-in statistics keep the arithmetic finite; those rows are masked below
        n, s, q = np.where(thin, 2.0, n), np.where(thin, 0.0, s), np.where(thin, 1.0, q)
    n0, n1 = _pairs(np.where(thin, 0.0, n), k)
    (nc, nv), (sc, sv), (qc, qv) = (_pairs(a, k) for a in (n, s, q))
    comp = compare_means(nc, sc, qc, nv, sv, qv, alpha=alpha)
    thin_c, thin_v = _pairs(thin, k)
    bad = thin_c | thin_v
    welch = f"Welch t on per-customer profit (margin {margin:g}); per {per:,} customers targeted"
    method = np.full(len(nc), welch, dtype=object)
    if weighted is not None:
        w_rows, (m_c, m_v, v_c, v_v) = hajek_rows({"n": n, **weighted})
        w_rows &= ~bad
        if w_rows.any():
            diff, var = m_v - m_c, v_c + v_v
            w_lo, w_hi, w_p = _normal_comparison(diff, var, alpha)
            comp = comp._replace(
                control_value=np.where(w_rows, m_c, comp.control_value),
                variant_value=np.where(w_rows, m_v, comp.variant_value),
                abs_lift=np.where(w_rows, diff, comp.abs_lift),
                ci_low=np.where(w_rows, w_lo, comp.ci_low),
                ci_high=np.where(w_rows, w_hi, comp.ci_high),
                p_value=np.where(w_rows, w_p, comp.p_value),
                estimable=np.where(w_rows, var > 0, comp.estimable),
            )
            method = np.where(
                w_rows, f"{HAJEK_METHOD} of per-customer profit (margin {margin:g}); per {per:,} customers "
                "targeted", method,
            )  # fmt: skip
    variant = np.tile(np.asarray(others, dtype=object), len(segments))
    seg = np.repeat(np.asarray(segments, dtype=object), k - 1)
    reason = np.where(
        bad,
        [f"too few units in segment {g!r}: {a:.0f} in {control!r} and {b:.0f} in {v!r}; needs 2 per arm"
         for g, a, b, v in zip(seg, n0, n1, variant, strict=True)],
        "",
    )  # fmt: skip

    def masked(values: np.ndarray) -> np.ndarray:
        return np.where(bad, np.nan, values)

    table = pd.DataFrame(
        {
            "segment": seg,
            "variant": variant,
            "control": control,
            "n_control": n0.astype(np.int64),
            "n_variant": n1.astype(np.int64),
            "contact_cost": [cost[v][0] for v in variant],
            "offer_cost": [cost[v][1] for v in variant],
            "profit_per_customer_control": np.where(thin_c, np.nan, comp.control_value),
            "profit_per_customer_variant": np.where(thin_v, np.nan, comp.variant_value),
            "incremental_profit": masked(per * comp.abs_lift),
            "ci_low": masked(per * comp.ci_low),
            "ci_high": masked(per * comp.ci_high),
            "p_value": masked(comp.p_value),
            "estimable": comp.estimable & ~bad,
            "reason": np.where(bad, reason, comp.reason).astype(object),
            "method": method.astype(object),
        }
    )
    return Economics(_table=table, per=per, margin=margin, alpha=alpha)
