"""Peeking-safe inference: always-valid p-values, confidence sequences and group-sequential designs.

Two families of tools live here, both working on sufficient statistics only.

**Always-valid inference** (read the report every day, stop whenever): the p-value and interval
at each look stay valid at any data-dependent stopping time. Both methods are the same normal
mixture martingale (Robbins 1970), parameterised differently:

- ``method="asymptotic-cs"`` (default): the asymptotic confidence sequence of Waudby-Smith,
  Arnold, Wu, Howard & Ramdas, "Time-uniform central limit theory and asymptotic confidence
  sequences" (Ann. Statist. 2024), with GrowthBook's tuning: ``n_star`` is the total sample size
  (both arms) at which the sequence is tightest, ``rho**2 = (-2 log(alpha) + log(1 - 2 log(alpha)))
  / n_star``. With ``V`` the variance of the estimate at the look and ``N`` the units at the look,
  the mixing variance of the effect is ``tau**2 = rho**2 * N * V`` (it scales with the data).
- ``method="msprt"``: the mixture sequential probability ratio test of Johari, Koomen, Pekelis &
  Walsh, "Always valid inference: continuous monitoring of A/B tests" (Oper. Res. 2022), with a
  normal mixing distribution ``N(0, tau**2)`` on the effect, ``tau`` given in the effect's units.

With ``r = tau**2 / V`` the mixture likelihood ratio against "no difference" is
``Lambda = (1 + r)**-0.5 * exp(z**2 / 2 * r / (1 + r))`` with ``z = estimate / sqrt(V)``; the
always-valid p-value at a look is ``min(1, 1 / Lambda)`` and the confidence sequence is
``estimate ± sqrt(V * (1 + r) / r * (2 log(1 / alpha) + log(1 + r)))`` (two-sided, level
``1 - alpha``; ``p < alpha`` exactly when the sequence excludes 0). Each look needs only the
cumulative sufficient statistics at that look. Over successive looks the caller makes p-values
monotone with a running minimum (``np.minimum.accumulate(p, axis=look_axis)``) and may intersect
the intervals (running max of lows, running min of highs); both stay valid.

**One-sided** (``alternative="larger"``: H1 ``effect > 0``; ``"smaller"``: ``< 0``): the mixing
distribution is the half-normal on the side of H1 (Johari et al. 2022, sec. 4), so
``Lambda+ = 2 (1 + r)**-0.5 * exp(z**2 / 2 * r / (1 + r)) * Phi(z * sqrt(r / (1 + r)))`` with ``z``
signed towards H1; the p-value is ``min(1, 1 / Lambda+)`` and the one-sided sequence
``[estimate - c sqrt(V), +inf)`` (``"larger"``) or ``(-inf, estimate + c sqrt(V)]`` with
``Lambda+(c) = 1 / alpha``. It is a supermartingale under every effect on the side of H0, so it
keeps its level for ``effect <= 0`` (``>= 0``), not only at 0; ``p < alpha`` exactly when the
bound excludes 0. The open end is written ``inf`` / ``-inf``.

**Group-sequential designs** (a planned number of looks): Lan–DeMets alpha spending with the
O'Brien–Fleming-type or Pocock-type spending function, or the classic Pocock (1977) and
O'Brien–Fleming (1979) boundaries, computed by the recursive numerical integration of Armitage,
McPherson & Rowe (1969) (Jennison & Turnbull 2000, ch. 19), and the sample-size inflation factor.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from scipy import optimize, special, stats

from abkit._display import Displayable
from abkit._validate import ALTERNATIVES, check_choice, check_probability
from abkit._validate import check_alternative as check_alternative_word
from abkit.errors import DataError, ParameterError

__all__ = [
    "ALTERNATIVES",
    "DEFAULT_N_STAR",
    "GroupSequentialDesign",
    "SequentialResult",
    "always_valid_pvalue",
    "check_alternative",
    "confidence_sequence",
    "group_sequential_bounds",
    "mixture_ratio",
    "sample_size_inflation",
    "sequential_estimate",
    "sequential_method_name",
    "sequential_ratio_interval",
    "sequential_test",
]

#: GrowthBook's reference tuning: the confidence sequence is tightest at 5,000 units in total.
DEFAULT_N_STAR = 5000.0

_METHODS = ("asymptotic-cs", "msprt")
_LOG_MAX = math.log(np.finfo(float).max)
_RATIO_BOUND = 40.0  # |log ratio| searched by sequential_ratio_interval; beyond it: unbounded
_BISECTIONS = 70
_KINDS = ("proportion", "mean")
_SCALES = ("absolute", "relative")


# ----------------------------------------------------------------------------------------------
# always-valid inference
# ----------------------------------------------------------------------------------------------


class SequentialResult(NamedTuple):
    """Always-valid comparison of a variant with its control, one element per row.

    ``estimate`` is the absolute difference (variant − control) or the relative lift
    (variant / control − 1); ``ci_low``/``ci_high`` are the confidence sequence at that look;
    ``p_value`` is the always-valid p-value at that look (take a running minimum over looks).
    Rows that are not estimable (zero variance, control mean 0 on the relative scale) hold NaN.
    """

    estimate: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    p_value: np.ndarray
    method: str


# so that pdoc resolves the annotations of __new__ here (it names "namedtuple_<class>" otherwise)
SequentialResult.__new__.__module__ = __name__


def sequential_method_name(
    method: str = "asymptotic-cs", *, n_star: float = DEFAULT_N_STAR, tau: float | None = None
) -> str:
    """The label naming the always-valid method and its tuning, as shown in result tables.

    >>> sequential_method_name(n_star=5000)
    'asymptotic confidence sequence (Waudby-Smith et al. 2024), N*=5000'
    >>> sequential_method_name("msprt", tau=0.01)
    'mixture SPRT (Johari et al. 2022), normal mixture tau=0.01'
    """
    check_choice("method", method, _METHODS)
    if method == "asymptotic-cs":
        _check_tuning("n_star", n_star)
        return f"asymptotic confidence sequence (Waudby-Smith et al. 2024), N*={n_star:g}"
    if tau is None:
        raise ParameterError(
            "tau is required with method='msprt' (the mixing SD of the effect, in its units)"
        )
    _check_tuning("tau", tau)
    return f"mixture SPRT (Johari et al. 2022), normal mixture tau={tau:g}"


def mixture_ratio(
    estimate: Any,
    variance: Any,
    n: Any = None,
    *,
    alpha: float = 0.05,
    method: str = "asymptotic-cs",
    n_star: float = DEFAULT_N_STAR,
    tau: float | None = None,
) -> np.ndarray:
    """The ratio ``r = tau**2 / V`` of mixing variance to estimate variance at each look.

    ``n`` (units at the look, both arms) is needed for ``method="asymptotic-cs"``, where
    ``r = rho**2 * n``; for ``method="msprt"``, ``r = tau**2 / variance``.

    >>> round(float(mixture_ratio(0.0, 1e-4, 5000)), 4)
    7.9362
    """
    check_choice("method", method, _METHODS)
    check_probability("alpha", alpha)
    var = np.asarray(variance, dtype=float)
    if method == "asymptotic-cs":
        _check_tuning("n_star", n_star)
        if n is None:
            raise ParameterError("n (units at the look, both arms) is required with method='asymptotic-cs'")
        log_a = math.log(alpha)
        rho2 = (-2.0 * log_a + math.log(1.0 - 2.0 * log_a)) / float(n_star)
        return np.broadcast_to(
            rho2 * np.asarray(n, dtype=float), np.broadcast(var, np.asarray(n)).shape
        ).copy()
    if tau is None:
        raise ParameterError(
            "tau is required with method='msprt' (the mixing SD of the effect, in its units)"
        )
    _check_tuning("tau", tau)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(var > 0, float(tau) ** 2 / var, np.nan)


def _pvalue_from(estimate: np.ndarray, variance: np.ndarray, r: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        z2 = estimate**2 / variance
        log_lr = -0.5 * np.log1p(r) + 0.5 * z2 * r / (1.0 + r)
        p = np.minimum(1.0, np.exp(-log_lr))
    return np.where((variance > 0) & np.isfinite(estimate) & (r > 0), p, np.nan)


def _log_lr_one_sided(z: np.ndarray, r: np.ndarray) -> np.ndarray:
    """log of the half-normal mixture likelihood ratio, ``z`` signed towards H1."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return (
            math.log(2.0) - 0.5 * np.log1p(r) + 0.5 * z * z * r / (1.0 + r)
            + special.log_ndtr(z * np.sqrt(r / (1.0 + r)))
        )


def _pvalue_one_sided(toward: np.ndarray, variance: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Always-valid one-sided p-value; ``toward`` is the estimate signed towards H1."""
    with np.errstate(divide="ignore", invalid="ignore"):
        z = toward / np.sqrt(variance)
        p = np.minimum(1.0, np.exp(-_log_lr_one_sided(z, r)))
    return np.where((variance > 0) & np.isfinite(toward) & (r > 0), p, np.nan)


def _one_sided_boundary(r: np.ndarray, alpha: float) -> np.ndarray:
    """The z at which the half-normal mixture ratio reaches ``1 / alpha`` (bisection, per element).

    It lies between 0 (where the ratio is below 1) and the two-sided boundary (where the ratio is
    at least the two-sided one, itself ``1 / alpha``).
    """
    r = np.asarray(r, dtype=float)
    target = math.log(1.0 / alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        hi = np.sqrt((1.0 + r) / r * (2.0 * math.log(1.0 / alpha) + np.log1p(r)))
    lo = np.zeros_like(hi)
    ok = np.isfinite(hi) & (r > 0)
    hi = np.where(ok, hi, 1.0)
    for _ in range(_BISECTIONS):
        mid = 0.5 * (lo + hi)
        above = _log_lr_one_sided(mid, r) >= target
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid)
    return np.where(ok, hi, np.nan)


def _halfwidth_from(variance: np.ndarray, r: np.ndarray, alpha: float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        hw = np.sqrt(variance * (1.0 + r) / r * (2.0 * math.log(1.0 / alpha) + np.log1p(r)))
    return np.where((variance > 0) & (r > 0), hw, np.nan)


def sequential_test(
    n_control: Any,
    sum_control: Any,
    sum_sq_control: Any,
    n_variant: Any,
    sum_variant: Any,
    sum_sq_variant: Any,
    *,
    kind: str = "mean",
    scale: str = "absolute",
    alpha: float = 0.05,
    method: str = "asymptotic-cs",
    n_star: float = DEFAULT_N_STAR,
    tau: float | None = None,
    alternative: str = "two-sided",
) -> SequentialResult:
    """Always-valid p-value and confidence sequence from cumulative sufficient statistics.

    Arrays broadcast against each other (one element per row: metric × segment × variant × look).
    ``kind="proportion"`` uses the per-unit variance ``p(1 - p)``, ``kind="mean"`` the sample
    variance with ``n - 1``. ``scale="absolute"`` compares ``mean_v - mean_c``;
    ``scale="relative"`` works on ``log(mean_v / mean_c)`` (delta-method variance) and reports the
    lift ``mean_v / mean_c - 1`` with the exponentiated sequence (with ``method="msprt"``, ``tau``
    is then on the log-ratio scale). ``method`` and its tuning are
    described in the module docstring; the label is ``SequentialResult.method``.
    ``alternative="larger"`` / ``"smaller"`` gives the one-sided test and sequence (module notes).

    >>> r = sequential_test(5000, 100, 100, 5000, 140, 140, kind="proportion")
    >>> round(float(r.estimate), 4), round(float(r.ci_low), 5), round(float(r.p_value), 4)
    (0.008, -0.00137, 0.1649)
    """
    check_choice("kind", kind, _KINDS)
    check_choice("scale", scale, _SCALES)
    check_probability("alpha", alpha)
    n_c, s_c, q_c = _arm("control", n_control, sum_control, sum_sq_control, kind)
    n_v, s_v, q_v = _arm("variant", n_variant, sum_variant, sum_sq_variant, kind)
    m_c, v_c = _mean_var(n_c, s_c, q_c, kind)
    m_v, v_v = _mean_var(n_v, s_v, q_v, kind)
    n_total = n_c + n_v
    with np.errstate(divide="ignore", invalid="ignore"):
        if scale == "absolute":
            est = m_v - m_c
            var = v_v / n_v + v_c / n_c
        else:
            ok = (m_c > 0) & (m_v > 0)
            est = np.where(ok, np.log(m_v) - np.log(m_c), np.nan)
            var = np.where(ok, v_v / (n_v * m_v**2) + v_c / (n_c * m_c**2), np.nan)
    return sequential_estimate(
        est, var, n_total, alpha=alpha, method=method, n_star=n_star, tau=tau, log_scale=scale == "relative",
        alternative=alternative,
    )  # fmt: skip


def sequential_estimate(
    estimate: Any,
    variance: Any,
    n: Any = None,
    *,
    alpha: float = 0.05,
    method: str = "asymptotic-cs",
    n_star: float = DEFAULT_N_STAR,
    tau: float | None = None,
    log_scale: bool = False,
    alternative: str = "two-sided",
) -> SequentialResult:
    """Always-valid p-value and confidence sequence for any asymptotically normal estimate.

    ``estimate`` and ``variance`` are the estimate of the effect at the look and its variance
    (e.g. a CUPED-adjusted or post-stratified difference); ``n`` the units at the look (both arms),
    needed by ``method="asymptotic-cs"``. With ``log_scale=True`` the estimate is a log ratio and
    the result is reported as a relative lift (``exp - 1``, the sequence exponentiated).
    :func:`sequential_test` is this function applied to the difference of two arm means.
    ``alternative="larger"`` / ``"smaller"``: one-sided p-value and sequence (half-normal mixture,
    module notes; the open end ``inf`` / ``-inf``), and the label says so.

    >>> r = sequential_estimate(0.008, 0.02 * 0.98 / 5000 + 0.028 * 0.972 / 5000, 10000)
    >>> round(float(r.p_value), 4)
    0.1649
    >>> r = sequential_estimate(0.008, 0.02 * 0.98 / 5000 + 0.028 * 0.972 / 5000, 10000, alternative="larger")
    >>> round(float(r.p_value), 4), float(r.ci_high)
    (0.0829, inf)
    """
    alternative = check_alternative(alternative)
    label = sequential_method_name(method, n_star=n_star, tau=tau)
    est = np.asarray(estimate, dtype=float)
    var = np.asarray(variance, dtype=float)
    r = mixture_ratio(est, var, n, alpha=alpha, method=method, n_star=n_star, tau=tau)
    if alternative == "two-sided":
        p = _pvalue_from(est, var, r)
        hw = _halfwidth_from(var, r, alpha)
        lo, hi = est - hw, est + hw
    else:
        sign = 1.0 if alternative == "larger" else -1.0
        p = _pvalue_one_sided(sign * est, var, r)
        with np.errstate(invalid="ignore"):
            hw = np.where(var > 0, np.sqrt(np.maximum(var, 0.0)) * _one_sided_boundary(r, alpha), np.nan)
        lo, hi = est - hw, est + hw
        label = f"{label}, one-sided ({alternative}, half-normal mixture)"
    if log_scale:
        # a bound beyond the largest float's log is an unbounded ratio: inf, without an overflow
        est, lo, hi = (
            np.where(v > _LOG_MAX, np.inf, np.expm1(np.minimum(v, _LOG_MAX))) for v in (est, lo, hi)
        )
    if alternative == "larger":
        hi = np.where(np.isnan(hi), np.nan, np.inf)
    elif alternative == "smaller":
        lo = np.where(np.isnan(lo), np.nan, -np.inf)
    return SequentialResult(est, lo, hi, p, label)


def sequential_ratio_interval(
    mean_control: Any,
    var_control: Any,
    mean_variant: Any,
    var_variant: Any,
    n: Any = None,
    *,
    alpha: float = 0.05,
    method: str = "asymptotic-cs",
    n_star: float = DEFAULT_N_STAR,
    tau: float | None = None,
    alternative: str = "two-sided",
) -> tuple[np.ndarray, np.ndarray]:
    """Always-valid interval of the relative lift ``variant / control - 1`` from the absolute test.

    ``mean_*`` are the arms' estimates and ``var_*`` the variances of those estimates (e.g.
    ``p (1 - p) / n``); ``n`` the units at the look (both arms, for ``method="asymptotic-cs"``);
    ``tau`` (``method="msprt"``) is in the absolute effect's units. The interval is the set of
    ratios ``l = 1 + lift`` that the always-valid test of the contrast ``variant - l * control``
    (variance ``var_variant + l**2 var_control``, the mixture of :func:`sequential_estimate`)
    does not reject: Fieller's construction applied to the confidence sequence. At ``l = 1`` that
    test is the absolute one, so the relative interval excludes 0 exactly when the absolute
    sequence does (when ``p < alpha``). A ratio that cannot be bounded gives ``inf`` (or ``-1``,
    the ratio 0). Rows whose control estimate is not positive, or whose variant estimate is
    negative, have no relative lift: NaN. ``alternative="larger"`` / ``"smaller"`` inverts the
    one-sided test of the same contrast: the bound ``[low, +inf)`` / ``(-inf, high]``.

    >>> lo, hi = sequential_ratio_interval(0.02, 0.02 * 0.98 / 5000, 0.03, 0.03 * 0.97 / 5000, 10000)
    >>> round(float(lo[0]), 4), round(float(hi[0]), 4)
    (0.0187, 1.2848)
    """
    check_probability("alpha", alpha)
    alternative = check_alternative(alternative)
    m_c, v_c, m_v, v_v = (
        np.atleast_1d(np.asarray(a, dtype=float)) for a in np.broadcast_arrays(
            mean_control, var_control, mean_variant, var_variant
        )
    )  # fmt: skip
    total = None if n is None else np.broadcast_to(np.asarray(n, dtype=float), m_c.shape)
    sequential_method_name(method, n_star=n_star, tau=tau)  # checks the tuning
    log_a = 2.0 * math.log(1.0 / alpha)
    valid = (
        np.isfinite(m_c) & np.isfinite(m_v) & np.isfinite(v_c) & np.isfinite(v_v)
        & (m_c > 0) & (m_v >= 0) & (v_c >= 0) & (v_v >= 0) & (v_c + v_v > 0)
    )  # fmt: skip

    def excess(log_ratio: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """z**2 of the contrast minus the boundary: > 0 where the ratio is rejected."""
        lam = np.exp(log_ratio)
        var = v_v[rows] + lam * lam * v_c[rows]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if method == "asymptotic-cs":
                r = mixture_ratio(log_ratio, var, total[rows], alpha=alpha, n_star=n_star)
            else:
                r = mixture_ratio(log_ratio, var, alpha=alpha, method="msprt", tau=tau)
            if alternative != "two-sided":
                sign = 1.0 if alternative == "larger" else -1.0
                z = sign * (m_v[rows] - lam * m_c[rows]) / np.sqrt(var)
                return np.where(var > 0, z - _one_sided_boundary(r, alpha), np.inf)
            z2 = (m_v[rows] - lam * m_c[rows]) ** 2 / var
            bound = (1.0 + r) / r * (log_a + np.log1p(r))
        return np.where(var > 0, z2 - bound, np.inf)

    lo = np.full(m_c.shape, np.nan)
    hi = np.full(m_c.shape, np.nan)
    rows = np.flatnonzero(valid)
    if rows.size:
        with np.errstate(divide="ignore"):
            s_hat = np.clip(np.log(m_v[rows] / m_c[rows]), -_RATIO_BOUND, _RATIO_BOUND)
        rejected_at_one = excess(np.zeros(rows.size), rows) > 0
        sides = {"two-sided": ((1.0, hi), (-1.0, lo)), "larger": ((-1.0, lo),), "smaller": ((1.0, hi),)}
        for side, out in sides[alternative]:
            # the bracket always has l = 1 (log 0) at one end when l = 1 lies on this side, so the
            # bound is on the same side of 0 as the absolute verdict says
            toward_one = side * s_hat < 0
            inner = np.where(toward_one & ~rejected_at_one, 0.0, s_hat)
            outer = np.where(toward_one & rejected_at_one, 0.0, side * _RATIO_BOUND)
            bound = _bisect_boundary(excess, inner, outer, rows)
            out[rows] = np.where(bound * side >= _RATIO_BOUND, side * np.inf, bound)
    with np.errstate(over="ignore"):
        lo, hi = np.expm1(lo), np.expm1(hi)
    if alternative == "larger":
        hi = np.where(valid, np.inf, np.nan)
    elif alternative == "smaller":
        lo = np.where(valid, -np.inf, np.nan)
    return lo, hi


def _bisect_boundary(
    func: Any, inner: np.ndarray, outer: np.ndarray, rows: np.ndarray
) -> np.ndarray:
    """The accepted end of the boundary between ``inner`` (accepted) and ``outer`` (rejected).

    Where ``inner`` is rejected already (a degenerate plug-in variance), the boundary is ``inner``;
    where ``outer`` is accepted, it is ``outer`` (the caller reads the search limit as unbounded).
    """
    a, b = inner.copy(), outer.copy()
    fa, fb = func(a, rows), func(b, rows)
    result = np.where(fa > 0, a, np.where(fb <= 0, b, np.nan))
    todo = np.flatnonzero(np.isnan(result))
    a, b = a[todo], b[todo]
    for _ in range(_BISECTIONS):
        mid = 0.5 * (a + b)
        rejected = func(mid, rows[todo]) > 0
        b = np.where(rejected, mid, b)
        a = np.where(rejected, a, mid)
    result[todo] = a
    return result


def always_valid_pvalue(
    n_control: Any,
    sum_control: Any,
    sum_sq_control: Any,
    n_variant: Any,
    sum_variant: Any,
    sum_sq_variant: Any,
    *,
    kind: str = "mean",
    scale: str = "absolute",
    alpha: float = 0.05,
    method: str = "asymptotic-cs",
    n_star: float = DEFAULT_N_STAR,
    tau: float | None = None,
    alternative: str = "two-sided",
) -> np.ndarray:
    """Always-valid p-value (``min(1, 1 / mixture likelihood ratio)``) at one look, per row.

    Arguments as in :func:`sequential_test`. ``alpha`` only tunes the asymptotic confidence
    sequence's mixing (GrowthBook's rho); the p-value is valid at every level. Over looks, report
    ``np.minimum.accumulate(p, axis=look_axis)``: it is still valid and never increases.

    >>> round(float(always_valid_pvalue(5000, 100, 100, 5000, 160, 160, kind="proportion")), 5)
    0.00508
    """
    return sequential_test(
        n_control, sum_control, sum_sq_control, n_variant, sum_variant, sum_sq_variant,
        kind=kind, scale=scale, alpha=alpha, method=method, n_star=n_star, tau=tau, alternative=alternative,
    ).p_value  # fmt: skip


def confidence_sequence(
    n_control: Any,
    sum_control: Any,
    sum_sq_control: Any,
    n_variant: Any,
    sum_variant: Any,
    sum_sq_variant: Any,
    *,
    kind: str = "mean",
    scale: str = "absolute",
    alpha: float = 0.05,
    method: str = "asymptotic-cs",
    n_star: float = DEFAULT_N_STAR,
    tau: float | None = None,
    alternative: str = "two-sided",
) -> tuple[np.ndarray, np.ndarray]:
    """``1 - alpha`` confidence sequence ``(low, high)`` of the lift at one look, per row.

    Arguments as in :func:`sequential_test` (two-sided unless ``alternative`` says otherwise);
    ``scale="relative"`` gives the relative lift's sequence (exponentiated log-ratio sequence,
    minus 1).

    >>> lo, hi = confidence_sequence(5000, 100, 100, 5000, 140, 140, kind="proportion")
    >>> round(float(lo), 5), round(float(hi), 5)
    (-0.00137, 0.01737)
    """
    res = sequential_test(
        n_control, sum_control, sum_sq_control, n_variant, sum_variant, sum_sq_variant,
        kind=kind, scale=scale, alpha=alpha, method=method, n_star=n_star, tau=tau, alternative=alternative,
    )  # fmt: skip
    return res.ci_low, res.ci_high


def _check_tuning(name: str, value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name} must be a positive number, got {value!r}") from exc
    if not math.isfinite(v) or v <= 0:
        raise ParameterError(
            f"{name} must be a positive finite number (the sequential tuning parameter), got {value!r}"
        )
    return v


def _arm(arm: str, n: Any, total: Any, total_sq: Any, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    arrays = []
    for label, value in ((f"n_{arm}", n), (f"sum_{arm}", total), (f"sum_sq_{arm}", total_sq)):
        try:
            arr = np.asarray(value, dtype=float)
        except (TypeError, ValueError) as exc:
            raise DataError(f"{label} must be numeric, got {value!r}") from exc
        bad = ~np.isfinite(arr)
        if np.any(bad):
            raise DataError(f"{label} has {int(bad.sum())} NaN/infinite value(s); pass finite sums")
        arrays.append(arr)
    n_a, s_a, q_a = arrays
    if np.any(n_a < 1):
        raise DataError(f"n_{arm} must be at least 1 unit in every row, got min {n_a.min():g}")
    if kind == "mean" and np.any(n_a < 2):
        raise DataError(f"n_{arm} must be at least 2 units for a mean metric, got min {n_a.min():g}")
    if kind == "proportion" and np.any((s_a < 0) | (s_a > n_a)):
        raise DataError(f"sum_{arm} (successes) must lie between 0 and n_{arm} for a proportion")
    return n_a, s_a, q_a


def _mean_var(n: np.ndarray, s: np.ndarray, q: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray]:
    mean = s / n
    if kind == "proportion":
        var = mean * (1.0 - mean)
    else:
        var = np.maximum(q - s * mean, 0.0) / (n - 1.0)
    return mean, var


# ----------------------------------------------------------------------------------------------
# group-sequential designs
# ----------------------------------------------------------------------------------------------

_SPENDING = ("obrien-fleming", "pocock", "obrien-fleming-classic", "pocock-classic")
#: Older spellings still accepted, with a DeprecationWarning (``ALTERNATIVES``, the words of
#: :mod:`abkit.power` and :func:`abkit.evaluate`, come from :mod:`abkit._validate`).
_OLD_ALTERNATIVES = {"greater": "larger"}
_SPENDING_LABEL = {
    "obrien-fleming": "Lan-DeMets O'Brien-Fleming-type alpha spending",
    "pocock": "Lan-DeMets Pocock-type alpha spending",
    "obrien-fleming-classic": "classic O'Brien-Fleming (1979) boundary",
    "pocock-classic": "classic Pocock (1977) boundary",
}
_GRID = 401  # points per continuation interval (Simpson's rule); 2001 points change bounds by < 1e-8


@dataclass(frozen=True)
class GroupSequentialDesign(Displayable):
    """Efficacy boundaries of a group-sequential test on the cumulative z-statistic.

    ``z_bounds[k]``: stop at look ``k`` when ``|z| >= z_bounds[k]`` (two-sided),
    ``z >= z_bounds[k]`` (``alternative="larger"``) or ``z <= -z_bounds[k]`` (``"smaller"``).
    ``nominal_p[k]`` is the matching fixed-look p-value threshold; ``cumulative_alpha[k]`` the type I
    error spent up to look ``k``.
    """

    information_fraction: tuple[float, ...]
    z_bounds: tuple[float, ...]
    nominal_p: tuple[float, ...]
    cumulative_alpha: tuple[float, ...]
    alpha: float
    spending: str
    alternative: str

    @property
    def method(self) -> str:
        """The boundary's name, e.g. ``"Lan-DeMets Pocock-type alpha spending, 5 looks"``."""
        return f"{_SPENDING_LABEL[self.spending]}, {len(self.z_bounds)} looks, {self.alternative}"

    def to_pandas(self) -> Any:
        import pandas as pd

        k = len(self.z_bounds)
        return pd.DataFrame(
            {
                "look": np.arange(1, k + 1),
                "information_fraction": self.information_fraction,
                "z_bound": self.z_bounds,
                "nominal_p": self.nominal_p,
                "cumulative_alpha": self.cumulative_alpha,
            }
        )

    def _title(self) -> str:
        return f"Group-sequential design: {self.method}, alpha={self.alpha:g}"

    def _notes(self) -> list[str]:
        return ["Stop for efficacy at the first look whose |z| reaches z_bound (no futility stop)."]

    def __repr__(self) -> str:
        bounds = ", ".join(f"{b:.3f}" for b in self.z_bounds)
        return f"GroupSequentialDesign({self.spending!r}, alpha={self.alpha:g}, z_bounds=({bounds}))"


def _fractions(looks: int | Sequence[float]) -> np.ndarray:
    if isinstance(looks, bool):
        raise ParameterError(
            f"looks must be a number of looks or a list of information fractions, got {looks!r}"
        )
    if isinstance(looks, (int, np.integer)):
        if looks < 1 or looks > 50:
            raise ParameterError(f"looks must be between 1 and 50, got {looks!r}")
        return np.arange(1, int(looks) + 1) / float(looks)
    try:
        t = np.asarray(looks, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ParameterError(
            f"looks must be an int or a list of information fractions, got {looks!r}"
        ) from exc
    if t.ndim != 1 or t.size < 1 or t.size > 50:
        raise ParameterError(f"looks must hold 1 to 50 information fractions, got {looks!r}")
    if (
        not np.all(np.isfinite(t))
        or np.any(t <= 0)
        or np.any(np.diff(t) <= 0)
        or not math.isclose(t[-1], 1.0)
    ):
        raise ParameterError(
            f"looks must be strictly increasing information fractions in (0, 1] ending at 1, got {looks!r}"
        )
    t[-1] = 1.0
    return t


def _spent(t: np.ndarray, alpha: float, spending: str, sides: int) -> np.ndarray:
    """Cumulative alpha spent (both sides together) at information fractions ``t``."""
    a_side = alpha / sides
    if spending == "obrien-fleming":
        # per side: 2 - 2 Phi(z_{a_side / 2} / sqrt(t)) (Lan & DeMets 1983; as ldbounds, gsDesign sfLDOF)
        z = stats.norm.isf(a_side / 2.0)
        return sides * 2.0 * stats.norm.sf(z / np.sqrt(t))
    # Pocock type: alpha log(1 + (e - 1) t)
    return alpha * np.log1p((math.e - 1.0) * t)


class _Recursion:
    """Armitage–McPherson–Rowe recursion for the score process S_k = Z_k sqrt(t_k) with drift."""

    def __init__(self, t: np.ndarray, drift: float = 0.0) -> None:
        self.t = t
        self.drift = drift
        self.nodes: np.ndarray | None = None  # grid of S at the previous look
        self.dens: np.ndarray | None = None  # density times Simpson weights at the nodes
        self.k = 0

    def _increment(self) -> tuple[float, float]:
        dt = self.t[self.k] - (self.t[self.k - 1] if self.k > 0 else 0.0)
        return self.drift * dt, math.sqrt(dt)

    def exit_prob(self, lower: float, upper: float) -> tuple[float, float]:
        """P(continue so far, then S_k <= lower) and P(continue so far, then S_k >= upper)."""
        mu, sd = self._increment()
        if self.nodes is None:
            return float(stats.norm.cdf((lower - mu) / sd)), float(stats.norm.sf((upper - mu) / sd))
        lo = float(np.dot(self.dens, special.ndtr((lower - self.nodes - mu) / sd)))
        hi = float(np.dot(self.dens, special.ndtr(-(upper - self.nodes - mu) / sd)))
        return lo, hi

    def advance(self, lower: float, upper: float) -> None:
        """Move to the next look, keeping the sub-density of S on the continuation region."""
        mu, sd = self._increment()
        tk = self.t[self.k]
        centre = self.drift * tk
        lower = max(lower, centre - 9.0 * math.sqrt(tk))
        upper = min(upper, centre + 9.0 * math.sqrt(tk))
        s = np.linspace(lower, upper, _GRID)
        h = (upper - lower) / (_GRID - 1)
        w = np.ones(_GRID)
        w[1:-1:2], w[2:-1:2] = 4.0, 2.0
        w *= h / 3.0
        if self.nodes is None:
            f = stats.norm.pdf((s - mu) / sd) / sd
        else:
            kern = np.exp(-0.5 * ((s[:, None] - self.nodes[None, :] - mu) / sd) ** 2) / (
                sd * math.sqrt(2 * math.pi)
            )
            f = kern @ self.dens
        self.nodes, self.dens = s, f * w
        self.k += 1


def _crossing(
    t: np.ndarray, bounds: np.ndarray, sides: int, drift: float, *, upper_only: bool = False
) -> float:
    """P(some look crosses) for z-bounds ``bounds`` with drift ``drift`` (two-sided: either side)."""
    rec = _Recursion(t, drift)
    total = 0.0
    for k, c in enumerate(bounds):
        up = c * math.sqrt(t[k])
        low = -up if sides == 2 else -math.inf
        lo, hi = rec.exit_prob(low, up)
        total += hi if upper_only else hi + lo
        if k + 1 < len(bounds):
            rec.advance(low, up)
    return total


def _spending_bounds(t: np.ndarray, alpha: float, spending: str, sides: int) -> tuple[np.ndarray, np.ndarray]:
    spent = _spent(t, alpha, spending, sides)
    spent[-1] = alpha
    rec = _Recursion(t)
    bounds = np.empty(t.size)
    for k in range(t.size):
        target = spent[k] - (spent[k - 1] if k else 0.0)
        sk = math.sqrt(t[k])

        def excess(c: float, sk: float = sk, target: float = target) -> float:
            lo, hi = rec.exit_prob(-c * sk if sides == 2 else -math.inf, c * sk)
            return lo + hi - target

        if target <= 1e-15:
            bounds[k] = math.inf
        else:
            bounds[k] = optimize.brentq(excess, 0.0, 40.0, xtol=1e-10)
        if k + 1 < t.size:
            up = min(bounds[k], 40.0) * sk
            rec.advance(-up if sides == 2 else -math.inf, up)
    return bounds, spent


def _classic_bounds(t: np.ndarray, alpha: float, spending: str, sides: int) -> tuple[np.ndarray, np.ndarray]:
    shape = np.ones(t.size) if spending == "pocock-classic" else 1.0 / np.sqrt(t)

    def excess(c: float) -> float:
        return _crossing(t, c * shape, sides, 0.0) - alpha

    c = optimize.brentq(excess, 0.5, 10.0, xtol=1e-10)
    bounds = c * shape
    # cumulative alpha spent by look k: crossing probability of the first k looks
    spent = np.array([_crossing(t[: k + 1], bounds[: k + 1], sides, 0.0) for k in range(t.size)])
    return bounds, spent


def check_alternative(alternative: Any) -> str:
    """``alternative`` as one of :data:`ALTERNATIVES`; the old ``"greater"`` means ``"larger"``.

    The old spelling still works, with a :class:`DeprecationWarning` naming the new word; anything
    else raises :class:`~abkit.errors.ParameterError`.

    >>> check_alternative("larger")
    'larger'
    """
    if isinstance(alternative, str) and alternative in _OLD_ALTERNATIVES:
        new = _OLD_ALTERNATIVES[alternative]
        warnings.warn(
            f"alternative={alternative!r} is deprecated; write alternative={new!r} "
            f"(abkit's words: {', '.join(repr(a) for a in ALTERNATIVES)})",
            DeprecationWarning,
            stacklevel=3,
        )
        return new
    return check_alternative_word(alternative)


def group_sequential_bounds(
    looks: int | Sequence[float],
    *,
    alpha: float = 0.05,
    spending: str = "obrien-fleming",
    alternative: str = "two-sided",
) -> GroupSequentialDesign:
    """Efficacy boundaries for ``looks`` analyses of the cumulative z-statistic.

    ``looks`` is the number of equally spaced looks or the increasing information fractions
    (ending at 1). ``spending``: ``"obrien-fleming"`` (Lan–DeMets 1983 spending, per side
    ``2 - 2 Phi(z_{a/2} / sqrt(t))`` with ``a`` that side's alpha, as R's ldbounds and gsDesign
    ``sfLDOF``), ``"pocock"`` (``alpha log(1 + (e - 1) t)``), or the classic constant-shape
    ``"obrien-fleming-classic"`` / ``"pocock-classic"`` boundaries. Two-sided designs are
    symmetric with ``alpha / 2`` per side. Probabilities come from the recursive integration of
    Armitage, McPherson & Rowe (1969) on the score scale with Simpson's rule.

    >>> d = group_sequential_bounds(5, spending="pocock-classic")
    >>> round(d.z_bounds[0], 3)
    2.413
    """
    check_probability("alpha", alpha)
    check_choice("spending", spending, _SPENDING)
    alternative = check_alternative(alternative)
    t = _fractions(looks)
    sides = 2 if alternative == "two-sided" else 1
    if spending.endswith("classic"):
        bounds, spent = _classic_bounds(t, alpha, spending, sides)
    else:
        bounds, spent = _spending_bounds(t, alpha, spending, sides)
    nominal = sides * stats.norm.sf(bounds)
    return GroupSequentialDesign(
        information_fraction=tuple(float(x) for x in t),
        z_bounds=tuple(float(x) for x in bounds),
        nominal_p=tuple(float(x) for x in nominal),
        cumulative_alpha=tuple(float(x) for x in spent),
        alpha=float(alpha),
        spending=spending,
        alternative=alternative,
    )


def sample_size_inflation(
    looks: int | Sequence[float],
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    spending: str = "obrien-fleming",
    alternative: str = "two-sided",
) -> float:
    """Factor by which the fixed-horizon sample size grows to keep ``power`` with these looks.

    ``R = I_max / I_fixed`` (Jennison & Turnbull 2000, ch. 2): the maximum information of the
    group-sequential test with the boundaries of :func:`group_sequential_bounds` over the
    information of the fixed-sample test with the same ``alpha`` and ``power``. Power is the
    probability of crossing the upper boundary (the effect's direction) under the alternative.

    >>> round(sample_size_inflation(5, spending="pocock-classic", power=0.9), 2)
    1.21
    """
    check_probability("power", power)
    alternative = check_alternative(alternative)
    design = group_sequential_bounds(looks, alpha=alpha, spending=spending, alternative=alternative)
    t = np.asarray(design.information_fraction)
    bounds = np.minimum(np.asarray(design.z_bounds), 40.0)
    sides = 2 if alternative == "two-sided" else 1
    fixed = stats.norm.isf(alpha / sides) + stats.norm.isf(1.0 - power)

    def shortfall(drift: float) -> float:
        return _crossing(t, bounds, sides, drift, upper_only=True) - power

    drift = optimize.brentq(shortfall, fixed * 0.5, fixed * 2.0, xtol=1e-10)
    return float((drift / fixed) ** 2)
