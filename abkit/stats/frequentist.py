"""Frequentist two-arm comparisons on sufficient statistics: score tests for rates, Welch t for means.

Every function takes numpy arrays (one element per comparison) of per-arm sufficient statistics
and returns arrays, so thousands of segments cost milliseconds. Conventions (named in each result's
``method`` field):

* Proportions: the Miettinen–Nurminen (1985) score test of ``p_variant - p_control = 0`` and the
  Miettinen–Nurminen score interval for the difference, obtained by inverting the same score
  statistic, so the interval excludes 0 exactly when ``p < alpha``. The relative lift
  ``p_variant / p_control - 1`` gets the Miettinen–Nurminen score interval for the risk ratio
  (its score statistic at ratio 1 equals the difference statistic at 0, so it agrees too). The
  score method keeps its coverage at small counts (dormant-customer rates), where Wald fails; rows
  with an expected success count below 10 in an arm are flagged ``small_counts``.
* Means: Welch's t test with Welch–Satterthwaite degrees of freedom and the matching interval for
  the difference; the relative lift interval is the delta-method interval on the log of the ratio
  of means (needs both means positive), with the same t quantile. The relative lift of means is
  reported only for a positive control mean.

**One-sided tests** (``alternative="larger"``: H1 ``variant - control > 0``; ``"smaller"``: ``< 0``;
statsmodels' words): the same statistics with the one-tailed p-value, and one-sided bounds at level
``1 - alpha`` (the two-sided construction at ``2 * alpha``, one end kept): ``[low, +inf)`` for
``"larger"``, ``(-inf, high]`` for ``"smaller"``, for the difference and for the relative lift
alike. The open end is written as ``inf`` / ``-inf``; the bound excludes 0 exactly when
``p < alpha``. The default ``"two-sided"`` is unchanged.

A comparison that carries no information (no successes in either arm, every unit a success in both
arms, or zero variance in both arms of a mean) is returned as not estimable with NaN statistics and
a reason; it is never reported as ``p = 1``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from scipy import special, stats

from abkit._validate import check_alternative

__all__ = [
    "MEAN_METHOD",
    "PROPORTION_METHOD",
    "REL_CI_NEEDS_POSITIVE_MEANS",
    "REL_LIFT_NEEDS_POSITIVE_CONTROL",
    "Comparison",
    "compare_means",
    "compare_proportions",
    "comparison_method",
    "critical_value",
    "open_ends",
    "relative_lift_reason",
    "restricted_mle_diff",
    "restricted_mle_ratio",
    "score_statistic_diff",
    "score_statistic_ratio",
    "tail_p_value",
]

PROPORTION_METHOD = (
    "Miettinen-Nurminen score test; MN score interval for the difference and for the risk ratio"
)
MEAN_METHOD = "Welch t test (Welch-Satterthwaite df); log-ratio delta-method interval for the relative lift"



def comparison_method(kind: str, alternative: str = "two-sided") -> str:
    """The ``method`` text of a rate (``kind="proportion"``) or mean comparison, naming the alternative.

    >>> comparison_method("proportion", "larger")[:74]
    'Miettinen-Nurminen one-sided score test (larger: H1 variant - control > 0)'
    """
    alternative = check_alternative(alternative)
    if alternative == "two-sided":
        return PROPORTION_METHOD if kind == "proportion" else MEAN_METHOD
    h1 = f"{alternative}: H1 variant - control {'>' if alternative == 'larger' else '<'} 0"
    if kind == "proportion":
        return (
            f"Miettinen-Nurminen one-sided score test ({h1}); "
            "one-sided MN score bound for the difference and for the risk ratio"
        )
    return (
        f"one-sided Welch t test ({h1}; Welch-Satterthwaite df); "
        "one-sided log-ratio delta-method bound for the relative lift"
    )


def tail_p_value(statistic: np.ndarray, df: np.ndarray | float, alternative: str = "two-sided") -> np.ndarray:
    """P-value of a z (``df`` infinite) or t statistic for ``alternative`` (two-sided: both tails).

    >>> [round(float(tail_p_value(1.96, np.inf, a)), 4) for a in ("two-sided", "larger", "smaller")]
    [0.05, 0.025, 0.975]
    """
    stat = np.asarray(statistic, dtype=float)
    dof = np.asarray(df, dtype=float)
    with np.errstate(invalid="ignore"):
        if alternative == "two-sided":
            return 2.0 * stats.t.sf(np.abs(stat), dof)
        return stats.t.sf(stat if alternative == "larger" else -stat, dof)


def critical_value(alpha: float, df: np.ndarray | float, alternative: str = "two-sided") -> np.ndarray:
    """The t (z for infinite ``df``) quantile of a level ``1 - alpha`` interval or one-sided bound.

    >>> round(float(critical_value(0.05, np.inf)), 4), round(float(critical_value(0.05, np.inf, "larger")), 4)
    (1.96, 1.6449)
    """
    tail = alpha / 2.0 if alternative == "two-sided" else alpha
    with np.errstate(invalid="ignore"):
        return stats.t.isf(tail, np.asarray(df, dtype=float))


def open_ends(low: np.ndarray, high: np.ndarray, alternative: str) -> tuple[np.ndarray, np.ndarray]:
    """One-sided bounds from an interval: ``[low, +inf)`` (larger), ``(-inf, high]`` (smaller).

    NaN (not estimable) stays NaN; ``"two-sided"`` returns the interval unchanged.

    >>> open_ends(np.array([0.01, np.nan]), np.array([0.04, np.nan]), "larger")
    (array([0.01,  nan]), array([inf, nan]))
    """
    low, high = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    if alternative == "larger":
        return low, np.where(np.isnan(high), np.nan, np.inf)
    if alternative == "smaller":
        return np.where(np.isnan(low), np.nan, -np.inf), high
    return low, high


_MAX_STEPS = 200
_X_TOL = 1e-13
_LOG_RATIO_BOUND = 40.0  # |log risk ratio| searched; beyond it the bound is reported as 0 or inf
#: Up to this many comparisons, the score intervals are solved row by row on Python floats (the same
#: formulas and the same Illinois steps as the vectorised code): for a handful of rows, numpy's
#: per-call overhead on one-element arrays costs 20x the arithmetic.
_SCALAR_ROWS = 8


class Comparison(NamedTuple):
    """Result of a vectorised two-arm comparison; every field is an array with one element per row."""

    control_value: np.ndarray
    variant_value: np.ndarray
    abs_lift: np.ndarray
    rel_lift: np.ndarray
    statistic: np.ndarray
    df: np.ndarray
    p_value: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    rel_ci_low: np.ndarray
    rel_ci_high: np.ndarray
    estimable: np.ndarray
    reason: np.ndarray
    small_counts: np.ndarray


# so that pdoc resolves the annotations of __new__ here (it names "namedtuple_<class>" otherwise)
Comparison.__new__.__module__ = __name__


def _arrays(*values: object) -> list[np.ndarray]:
    return [
        np.asarray(v, dtype=float) for v in np.broadcast_arrays(*[np.asarray(v, dtype=float) for v in values])
    ]


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return a / b


def restricted_mle_diff(
    n_control: np.ndarray,
    x_control: np.ndarray,
    n_variant: np.ndarray,
    x_variant: np.ndarray,
    delta: np.ndarray | float,
) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-likelihood rates (control, variant) under ``p_variant - p_control = delta``.

    Closed-form root of the Farrington–Manning (1990) cubic, as used by Miettinen and Nurminen.
    (statsmodels 0.14/0.15 writes ``count * delta**2`` where the cubic has ``nobs * delta**2``,
    which moves its restricted estimate, and so its interval, when the rates differ a lot.)

    >>> [round(float(v), 6) for v in restricted_mle_diff(1000, 50, 1000, 70, 0.01)]
    [0.054607, 0.064607]
    """
    n0, x0, n1, x1, d = _arrays(n_control, x_control, n_variant, x_variant, delta)
    n = n0 + n1
    x = x0 + x1
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # The control plays group "1" of the paper, with dd = p_control - p_variant = -delta;
        # coefficients are divided by N.
        dd = -d
        b = -(n + x + dd * (n1 + 2 * n0)) / n
        c = (n0 * dd**2 + dd * (2 * x0 + n) + x) / n
        e = -x0 * dd * (1 + dd) / n
        v = b**3 / 27 - b * c / 6 + e / 2
        u = np.sign(v) * np.sqrt(np.maximum(b**2 / 9 - c / 3, 0.0))
        cos_arg = np.clip(np.where(u == 0, 0.0, v / u**3), -1.0, 1.0)
        w = (np.pi + np.arccos(cos_arg)) / 3
        r0 = np.clip(2 * u * np.cos(w) - b / 3, 0.0, 1.0)
    r0 = np.where(d == 0, x / n, r0)
    r0 = np.clip(r0, np.maximum(0.0, -d), np.minimum(1.0, 1.0 - d))
    return r0, r0 + d


def restricted_mle_ratio(
    n_control: np.ndarray,
    x_control: np.ndarray,
    n_variant: np.ndarray,
    x_variant: np.ndarray,
    ratio: np.ndarray | float,
) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-likelihood rates (control, variant) under ``p_variant / p_control = ratio``.

    Root of the Miettinen–Nurminen (1985) quadratic.

    >>> [round(float(v), 6) for v in restricted_mle_ratio(1000, 50, 1000, 70, 1.2)]
    [0.054569, 0.065483]
    """
    n0, x0, n1, x1, r = _arrays(n_control, x_control, n_variant, x_variant, ratio)
    n = n0 + n1
    x = x0 + x1
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        a = n * r
        b = -(n1 * r + x1 + n0 + x0 * r)
        # smaller root of a r0^2 + b r0 + x = 0 in the cancellation-free form (b < 0)
        r0 = 2 * x / (-b + np.sqrt(np.maximum(b**2 - 4 * a * x, 0.0)))
        r0 = np.where(r == 1, x / n, r0)
        r0 = np.clip(r0, 0.0, np.minimum(1.0, 1.0 / r))
    return r0, r0 * r


def score_statistic_diff(
    n_control: np.ndarray,
    x_control: np.ndarray,
    n_variant: np.ndarray,
    x_variant: np.ndarray,
    delta: np.ndarray | float = 0.0,
    *,
    mn_correction: bool = True,
) -> np.ndarray:
    """Miettinen–Nurminen score statistic for ``H0: p_variant - p_control = delta``.

    ``(p1 - p0 - delta) / sqrt(V)`` with ``V`` the variance at the restricted MLE
    (:func:`restricted_mle_diff`). ``mn_correction`` multiplies ``V`` by ``N / (N - 1)``; without
    it, at ``delta = 0`` the statistic is the pooled two-proportion z statistic.

    >>> round(float(score_statistic_diff(1000, 50, 1000, 70)), 6)
    1.882638
    """
    n0, x0, n1, x1, d = _arrays(n_control, x_control, n_variant, x_variant, delta)
    r0, r1 = restricted_mle_diff(n0, x0, n1, x1, d)
    n = n0 + n1
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        var = r1 * (1 - r1) / n1 + r0 * (1 - r0) / n0
        if mn_correction:
            var = var * n / (n - 1)
        diff = x1 / n1 - x0 / n0 - d
        return np.where(diff == 0, 0.0, diff / np.sqrt(var))


def score_statistic_ratio(
    n_control: np.ndarray,
    x_control: np.ndarray,
    n_variant: np.ndarray,
    x_variant: np.ndarray,
    ratio: np.ndarray | float = 1.0,
    *,
    mn_correction: bool = True,
) -> np.ndarray:
    """Miettinen–Nurminen score statistic for ``H0: p_variant / p_control = ratio``.

    ``(p1 - ratio * p0) / sqrt(V)`` with ``V`` at the restricted MLE (:func:`restricted_mle_ratio`).

    >>> round(float(score_statistic_ratio(1000, 50, 1000, 70)), 6)
    1.882638
    """
    n0, x0, n1, x1, r = _arrays(n_control, x_control, n_variant, x_variant, ratio)
    r0, r1 = restricted_mle_ratio(n0, x0, n1, x1, r)
    n = n0 + n1
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        var = r1 * (1 - r1) / n1 + r**2 * r0 * (1 - r0) / n0
        if mn_correction:
            var = var * n / (n - 1)
        diff = x1 / n1 - r * x0 / n0
        return np.where(diff == 0, 0.0, diff / np.sqrt(var))


def _solve_decreasing(
    func: Callable[[np.ndarray, np.ndarray], np.ndarray],
    lo: np.ndarray,
    hi: np.ndarray,
    target: float,
    f_tol: float = 1e-12,
) -> np.ndarray:
    """Vectorised root of ``func(x, rows) = target`` for ``func`` decreasing on ``[lo, hi]``.

    Illinois (modified regula falsi) steps, falling back to bisection whenever the secant point is
    not finite or not inside the bracket; rows leave the loop once converged. ``func`` receives the
    points and the indices of the rows they belong to. A bracket that does not change sign returns
    the end nearer the root (the bound lies at the edge of the parameter space).
    """
    a, b = lo.astype(float).copy(), hi.astype(float).copy()
    rows = np.arange(a.size)
    fa = func(a, rows) - target
    fb = func(b, rows) - target
    out = np.where(fb >= 0, b, a)  # no sign change: root at an edge
    active = np.flatnonzero((fa > 0) & (fb < 0))
    a, b, fa, fb = a[active], b[active], fa[active], fb[active]
    side = np.zeros(active.size, dtype=np.int8)
    for step in range(_MAX_STEPS):
        if active.size == 0:
            break
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            c = (a * fb - b * fa) / (fb - fa)
        bad = ~np.isfinite(c) | (c <= a) | (c >= b) | (step % 4 == 3)  # every 4th step bisects
        c = np.where(bad, 0.5 * (a + b), c)
        fc = func(c, active) - target
        fc = np.where(np.isnan(fc), 0.0, fc)
        right = fc > 0  # root lies to the right of c
        # Illinois: halve the stale end's value when the same end is kept twice in a row
        fa = np.where(right, fc, np.where(side == -1, fa * 0.5, fa))
        fb = np.where(right, np.where(side == 1, fb * 0.5, fb), fc)
        a = np.where(right, c, a)
        b = np.where(right, b, c)
        side = np.where(right, 1, -1).astype(np.int8)
        done = (b - a <= _X_TOL * np.maximum(1.0, np.abs(c))) | (np.abs(fc) < f_tol)
        if done.any():
            out[active[done]] = c[done]
            keep = ~done
            active, a, b, fa, fb, side = active[keep], a[keep], b[keep], fa[keep], fb[keep], side[keep]
    if active.size:
        out[active] = 0.5 * (a + b)
    return out


# --------------------------------------------------------------------------------------------------
# the same score statistics and root finder on Python floats (few rows: no per-call numpy overhead)
# --------------------------------------------------------------------------------------------------
def _clip(value: float, low: float, high: float) -> float:
    """``np.clip`` on one float (NaN stays NaN)."""
    return min(max(value, low), high)


def _divide(a: float, b: float) -> float:
    """``a / b`` with numpy's semantics for a zero divisor (inf with the sign of ``a``, or NaN)."""
    if b != 0 or math.isnan(b):
        return a / b
    return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a)


def _score_diff_scalar(n0: float, x0: float, n1: float, x1: float, d: float, mn_correction: bool) -> float:
    """:func:`score_statistic_diff` for one row (:func:`restricted_mle_diff` inlined)."""
    n, x = n0 + n1, x0 + x1
    if d == 0:
        r0 = x / n
    else:
        dd = -d
        b = -(n + x + dd * (n1 + 2 * n0)) / n
        c = (n0 * dd**2 + dd * (2 * x0 + n) + x) / n
        e = -x0 * dd * (1 + dd) / n
        v = b**3 / 27 - b * c / 6 + e / 2
        u = (1.0 if v > 0 else -1.0 if v < 0 else 0.0) * math.sqrt(max(b**2 / 9 - c / 3, 0.0))
        cos_arg = _clip(0.0 if u == 0 else v / u**3, -1.0, 1.0)
        w = (math.pi + math.acos(cos_arg)) / 3
        r0 = _clip(2 * u * math.cos(w) - b / 3, 0.0, 1.0)
    r0 = _clip(r0, max(0.0, -d), min(1.0, 1.0 - d))
    r1 = r0 + d
    var = r1 * (1 - r1) / n1 + r0 * (1 - r0) / n0
    if mn_correction:
        var = var * n / (n - 1)
    diff = x1 / n1 - x0 / n0 - d
    return 0.0 if diff == 0 else _divide(diff, math.sqrt(var) if var >= 0 else math.nan)


def _score_ratio_scalar(
    n0: float, x0: float, n1: float, x1: float, log_r: float, mn_correction: bool
) -> float:
    """:func:`score_statistic_ratio` at ``exp(log_r)`` for one row (:func:`restricted_mle_ratio` inlined)."""
    r = math.exp(log_r)
    n, x = n0 + n1, x0 + x1
    a = n * r
    b = -(n1 * r + x1 + n0 + x0 * r)
    r0 = x / n if r == 1 else _divide(2 * x, -b + math.sqrt(max(b**2 - 4 * a * x, 0.0)))
    r0 = _clip(r0, 0.0, min(1.0, 1.0 / r))
    r1 = r0 * r
    var = r1 * (1 - r1) / n1 + r**2 * r0 * (1 - r0) / n0
    if mn_correction:
        var = var * n / (n - 1)
    diff = x1 / n1 - r * x0 / n0
    return 0.0 if diff == 0 else _divide(diff, math.sqrt(var) if var >= 0 else math.nan)


def _solve_decreasing_scalar(
    func: Callable[[float], float], lo: float, hi: float, target: float, f_tol: float = 1e-12
) -> float:
    """:func:`_solve_decreasing` for one row: the same Illinois and bisection steps on floats."""
    a, b = lo, hi
    fa, fb = func(a) - target, func(b) - target
    if not (fa > 0 and fb < 0):
        return b if fb >= 0 else a
    return _illinois(func, a, b, fa, fb, target, f_tol)


def _illinois(
    func: Callable[[float], float], a: float, b: float, fa: float, fb: float, target: float, f_tol: float
) -> float:
    """Root of decreasing ``func - target`` in ``[a, b]`` given ``fa > 0 > fb`` (Illinois, bisection)."""
    side = 0
    c = 0.5 * (a + b)
    for step in range(_MAX_STEPS):
        den = fb - fa
        c = (a * fb - b * fa) / den if den != 0 else math.nan
        if not math.isfinite(c) or c <= a or c >= b or step % 4 == 3:
            c = 0.5 * (a + b)
        fc = func(c) - target
        if math.isnan(fc):
            fc = 0.0
        if fc > 0:
            fa, fb, a = fc, (fb * 0.5 if side == 1 else fb), c
            side = 1
        else:
            fa, fb, b = (fa * 0.5 if side == -1 else fa), fc, c
            side = -1
        if b - a <= _X_TOL * max(1.0, abs(c)) or abs(fc) < f_tol:
            return c
    return 0.5 * (a + b)


def _solve_near(
    func: Callable[[float], float], lo: float, hi: float, target: float, guess: float, step: float
) -> float:
    """:func:`_solve_decreasing_scalar` on ``[lo, hi]``, starting from a close ``guess`` of the root.

    Two evaluations (``guess`` and ``guess +- step`` towards the root) usually bracket the root
    tightly, and the Illinois steps then converge in a few more; when they do not, the search goes
    on over the remaining part of ``[lo, hi]`` with the same end rules, so the root is the same.
    """
    if not (math.isfinite(guess) and math.isfinite(step) and step > 0 and lo < guess < hi):
        return _solve_decreasing_scalar(func, lo, hi, target)
    fg = func(guess) - target
    if fg > 0:  # decreasing: the root lies above the guess
        b = guess + step
        if b < hi:
            fb = func(b) - target
            if fb < 0:
                return _illinois(func, guess, b, fg, fb, target, 1e-12)
            return _solve_decreasing_scalar(func, b, hi, target)
        return _solve_decreasing_scalar(func, guess, hi, target)
    if fg < 0:
        a = guess - step
        if a > lo:
            fa = func(a) - target
            if fa > 0:
                return _illinois(func, a, guess, fa, fg, target, 1e-12)
            return _solve_decreasing_scalar(func, lo, a, target)
        return _solve_decreasing_scalar(func, lo, guess, target)
    return _solve_decreasing_scalar(func, lo, hi, target)  # NaN or an exact hit: the plain search


def _score_bounds_scalar(
    n0: np.ndarray, x0: np.ndarray, n1: np.ndarray, x1: np.ndarray, est: np.ndarray,
    log_est: np.ndarray, z_crit: float, eps: float, mn_correction: bool,
) -> tuple[np.ndarray, ...]:
    """The four score-interval roots of :func:`compare_proportions`, row by row on floats.

    Each search starts from the Wald bound (of the difference; of the log risk ratio, Katz), which
    lies close to the score bound, so a few evaluations of the score statistic suffice.
    """
    out = np.empty((4, n0.size))
    for i in range(n0.size):
        row = (float(n0[i]), float(x0[i]), float(n1[i]), float(x1[i]))

        def diff(d: float, row: tuple[float, ...] = row) -> float:
            return _score_diff_scalar(*row, d, mn_correction)

        def ratio(s: float, row: tuple[float, ...] = row) -> float:
            return _score_ratio_scalar(*row, s, mn_correction)

        e, le = float(est[i]), float(log_est[i])
        c0, s0, c1, s1 = row
        p0, p1 = s0 / c0, s1 / c1
        half = z_crit * math.sqrt(max(p0 * (1 - p0) / c0 + p1 * (1 - p1) / c1, 0.0))
        log_half = z_crit * math.sqrt((1 - p1) / s1 + (1 - p0) / s0) if s0 > 0 and s1 > 0 else math.nan
        out[0, i] = _solve_near(diff, -1 + eps, e, z_crit, e - half, 0.25 * half)
        out[1, i] = _solve_near(diff, e, 1 - eps, -z_crit, e + half, 0.25 * half)
        out[2, i] = _solve_near(ratio, -_LOG_RATIO_BOUND, le, z_crit, le - log_half, 0.25 * log_half)
        out[3, i] = _solve_near(ratio, le, _LOG_RATIO_BOUND, -z_crit, le + log_half, 0.25 * log_half)
    return tuple(out)


def compare_proportions(
    n_control: np.ndarray,
    x_control: np.ndarray,
    n_variant: np.ndarray,
    x_variant: np.ndarray,
    *,
    alpha: float = 0.05,
    mn_correction: bool = True,
    alternative: str = "two-sided",
    intervals: bool = True,
) -> Comparison:
    """Compare success rates: Miettinen–Nurminen score test and score intervals (see module notes).

    ``x_*`` are success counts and ``n_*`` unit counts (arrays of equal length, or scalars).
    ``abs_lift = p_variant - p_control`` with its MN score interval at level ``1 - alpha``;
    ``rel_lift = p_variant / p_control - 1`` with the MN score interval of the risk ratio minus 1
    (upper bound ``inf`` when the control has no successes). ``mn_correction=False`` drops the
    ``N / (N - 1)`` variance factor; the p-value then equals the pooled two-proportion z test.
    ``alternative="larger"`` / ``"smaller"``: one-sided p-value and one-sided score bounds (the open
    end ``inf`` / ``-inf``; see the module notes). ``intervals=False`` skips the interval searches
    (the interval columns are NaN), for callers that need only the estimates and the test.

    >>> r = compare_proportions(1000, 50, 1000, 70)
    >>> round(float(r.p_value[0]), 6), round(float(r.ci_low[0]), 5), round(float(r.ci_high[0]), 5)
    (0.059749, -0.00083, 0.04127)
    >>> r = compare_proportions(1000, 50, 1000, 70, alternative="larger")
    >>> round(float(r.p_value[0]), 6), round(float(r.ci_low[0]), 5), float(r.ci_high[0])
    (0.029875, 0.00255, inf)
    """
    alternative = check_alternative(alternative)
    n0, x0, n1, x1 = (np.atleast_1d(v) for v in _arrays(n_control, x_control, n_variant, x_variant))
    z_crit = float(special.ndtri(1 - (alpha / 2 if alternative == "two-sided" else alpha)))
    p0, p1 = x0 / n0, x1 / n1
    degenerate = ((x0 == 0) & (x1 == 0)) | ((x0 == n0) & (x1 == n1))
    reason = np.where(
        (x0 == 0) & (x1 == 0),
        "no successes in either arm",
        np.where(degenerate, "every unit is a success in both arms", ""),
    ).astype(object)
    pooled = (x0 + x1) / (n0 + n1)
    # expected successes (or failures) under H0 below 10 in the smaller arm
    small = np.minimum(n0, n1) * np.minimum(pooled, 1 - pooled) < 10

    def stat_d(d: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return score_statistic_diff(n0[rows], x0[rows], n1[rows], x1[rows], d, mn_correction=mn_correction)

    # a few valid rows: plain floats (numpy's per-call overhead dominates arrays of one element)
    scalar = n0.size <= _SCALAR_ROWS and bool(
        np.all((n0 > 0) & (n1 > 0) & (x0 >= 0) & (x1 >= 0) & (x0 <= n0) & (x1 <= n1))
    )
    if scalar:
        rows = zip(n0.tolist(), x0.tolist(), n1.tolist(), x1.tolist(), strict=True)
        stat = np.array([_score_diff_scalar(a, b, c, d, 0.0, mn_correction) for a, b, c, d in rows])
    else:
        stat = score_statistic_diff(n0, x0, n1, x1, 0.0, mn_correction=mn_correction)
    if alternative == "two-sided":
        p_value = 2 * special.ndtr(-np.abs(stat))
    else:
        p_value = special.ndtr(-stat if alternative == "larger" else stat)
    eps = 1e-12
    est = p1 - p0
    with np.errstate(divide="ignore"):
        log_est = np.clip(np.log(_ratio(p1, p0)), -_LOG_RATIO_BOUND, _LOG_RATIO_BOUND)
    log_est = np.where(np.isnan(log_est), 0.0, log_est)
    # a one-sided bound needs one search per scale; the open end is set by open_ends below
    need_low, need_high = alternative != "smaller", alternative != "larger"
    nan = np.full_like(p0, np.nan)
    if not intervals:
        ci_low, ci_high, log_lo, log_hi = nan, nan, nan, nan
    elif scalar:
        ci_low, ci_high, log_lo, log_hi = _score_bounds_scalar(
            n0, x0, n1, x1, est, log_est, z_crit, eps, mn_correction
        )
    else:
        # the unneeded end keeps a finite stand-in (the estimate) that open_ends turns into +-inf
        ci_low = _solve_decreasing(stat_d, np.full_like(est, -1 + eps), est, z_crit) if need_low else est
        ci_high = _solve_decreasing(stat_d, est, np.full_like(est, 1 - eps), -z_crit) if need_high else est
    # a root at the edge of the search range is the edge of the parameter space
    ci_low = np.where(ci_low <= -1 + 2 * eps, -1.0, np.minimum(ci_low, est))
    ci_high = np.where(ci_high >= 1 - 2 * eps, 1.0, np.maximum(ci_high, est))

    # Risk ratio: bisection on the log scale; a bound at the edge of the search range is 0 or inf.
    def stat_r(log_r: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return score_statistic_ratio(
            n0[rows], x0[rows], n1[rows], x1[rows], np.exp(log_r), mn_correction=mn_correction
        )

    if intervals and not scalar:
        bound = np.full_like(log_est, _LOG_RATIO_BOUND)
        log_lo = _solve_decreasing(stat_r, -bound, log_est, z_crit) if need_low else log_est
        log_hi = _solve_decreasing(stat_r, log_est, bound, -z_crit) if need_high else log_est
    rel_lo = np.where((x1 == 0) | (log_lo <= -_LOG_RATIO_BOUND + 1e-9), 0.0, np.exp(log_lo)) - 1
    rel_hi = np.where((x0 == 0) | (log_hi >= _LOG_RATIO_BOUND - 1e-9), np.inf, np.exp(log_hi)) - 1
    rel_lift = _ratio(p1, p0) - 1
    if intervals:
        ci_low, ci_high = open_ends(ci_low, ci_high, alternative)
        rel_lo, rel_hi = open_ends(rel_lo, rel_hi, alternative)
    else:
        rel_lo, rel_hi = nan, nan
    out = Comparison(
        control_value=p0,
        variant_value=p1,
        abs_lift=est,
        rel_lift=np.where(degenerate, nan, rel_lift),
        statistic=np.where(degenerate, nan, stat),
        df=np.full_like(p0, np.inf),
        p_value=np.where(degenerate, nan, p_value),
        ci_low=np.where(degenerate, nan, ci_low),
        ci_high=np.where(degenerate, nan, ci_high),
        rel_ci_low=np.where(degenerate, nan, rel_lo),
        rel_ci_high=np.where(degenerate, nan, rel_hi),
        estimable=~degenerate,
        reason=reason,
        small_counts=small,
    )
    return out


#: Reasons attached to mean comparisons whose relative lift (or its interval) is not reported.
REL_LIFT_NEEDS_POSITIVE_CONTROL = (
    "relative lift needs a positive control mean (its interval: both means positive); not reported"
)
REL_CI_NEEDS_POSITIVE_MEANS = "relative lift interval needs both means positive; not reported"


def relative_lift_reason(control_mean: np.ndarray, variant_mean: np.ndarray) -> np.ndarray:
    """Why a relative lift of means (``variant / control - 1``) or its interval is NaN, else ``""``.

    The relative lift is reported only when the control mean is positive (a ratio to a negative or
    zero baseline has no "higher is better" reading: -0.5 -> -0.2 is an improvement, yet
    ``-0.2 / -0.5 - 1 = -60%``); its log-ratio interval also needs a positive variant mean.

    >>> relative_lift_reason(np.array([-0.5, 2.0, 2.0]), np.array([-0.2, -1.0, 3.0])).tolist()[1:]
    ['relative lift interval needs both means positive; not reported', '']
    """
    m0 = np.asarray(control_mean, dtype=float)
    m1 = np.asarray(variant_mean, dtype=float)
    return np.where(
        ~(m0 > 0), REL_LIFT_NEEDS_POSITIVE_CONTROL, np.where(~(m1 > 0), REL_CI_NEEDS_POSITIVE_MEANS, "")
    ).astype(object)


def compare_means(
    n_control: np.ndarray,
    sum_control: np.ndarray,
    sum_sq_control: np.ndarray,
    n_variant: np.ndarray,
    sum_variant: np.ndarray,
    sum_sq_variant: np.ndarray,
    *,
    alpha: float = 0.05,
    alternative: str = "two-sided",
) -> Comparison:
    """Compare means: Welch t test and interval, log-ratio delta-method interval for the relative lift.

    Each arm is described by its unit count, sum and sum of squares; the variance is the unbiased
    sample variance ``(sum_sq - sum**2 / n) / (n - 1)`` (arms need ``n >= 2``). The relative-lift
    interval is ``exp(log(m1/m0) ± t * se) - 1`` with
    ``se**2 = s1**2 / (n1 m1**2) + s0**2 / (n0 m0**2)`` and the Welch t quantile; it is NaN (with a
    reason) unless both means are positive. ``rel_lift`` itself is NaN unless the control mean is
    positive (:func:`relative_lift_reason`): for a negative baseline (e.g. profit) the ratio's sign
    reads backwards. ``alternative="larger"`` / ``"smaller"``: one-sided Welch t (as
    ``scipy.stats.ttest_ind(..., equal_var=False, alternative="greater"/"less")``) and one-sided
    bounds (the open end ``inf`` / ``-inf``).

    >>> r = compare_means(3, 6.0, 14.0, 3, 9.0, 29.0)  # control 1,2,3; variant 2,3,4
    >>> round(float(r.abs_lift[0]), 6), round(float(r.p_value[0]), 6)
    (1.0, 0.287864)
    >>> round(float(compare_means(3, 6.0, 14.0, 3, 9.0, 29.0, alternative="larger").p_value[0]), 6)
    0.143932
    """
    alternative = check_alternative(alternative)
    n0, s0, q0, n1, s1, q1 = (
        np.atleast_1d(v)
        for v in _arrays(n_control, sum_control, sum_sq_control, n_variant, sum_variant, sum_sq_variant)
    )
    m0, m1 = s0 / n0, s1 / n1
    with np.errstate(divide="ignore", invalid="ignore"):
        v0 = np.maximum(q0 - s0 * m0, 0.0) / (n0 - 1)
        v1 = np.maximum(q1 - s1 * m1, 0.0) / (n1 - 1)
        # Cancellation in sum_sq - sum**2/n leaves tiny positive noise for constant columns.
        v0 = np.where(v0 <= 1e-13 * np.maximum(m0 * m0, 1e-300), 0.0, v0)
        v1 = np.where(v1 <= 1e-13 * np.maximum(m1 * m1, 1e-300), 0.0, v1)
        a0, a1 = v0 / n0, v1 / n1
        se = np.sqrt(a0 + a1)
        df = (a0 + a1) ** 2 / (a0**2 / (n0 - 1) + a1**2 / (n1 - 1))
        diff = m1 - m0
        t = diff / se
        if alternative == "two-sided":
            p_value = 2 * stats.t.sf(np.abs(t), df)
            t_crit = stats.t.ppf(1 - alpha / 2, df)
        else:
            p_value = stats.t.sf(t if alternative == "larger" else -t, df)
            t_crit = stats.t.ppf(1 - alpha, df)
        ci_low, ci_high = diff - t_crit * se, diff + t_crit * se
        positive = (m0 > 0) & (m1 > 0)
        log_ratio = np.log(np.where(positive, m1 / m0, np.nan))
        se_log = np.sqrt(v1 / (n1 * m1**2) + v0 / (n0 * m0**2))
        rel_lo = np.exp(log_ratio - t_crit * se_log) - 1
        rel_hi = np.exp(log_ratio + t_crit * se_log) - 1
        rel_lift = _ratio(m1, m0) - 1
    ci_low, ci_high = open_ends(ci_low, ci_high, alternative)
    rel_lo, rel_hi = open_ends(rel_lo, rel_hi, alternative)
    degenerate = (a0 + a1) == 0
    reason = np.where(degenerate, "zero variance in both arms", "").astype(object)
    reason = np.where(~degenerate, relative_lift_reason(m0, m1), reason).astype(object)
    nan = np.full_like(m0, np.nan)
    return Comparison(
        control_value=m0,
        variant_value=m1,
        abs_lift=diff,
        rel_lift=np.where(m0 > 0, rel_lift, nan),
        statistic=np.where(degenerate, nan, t),
        df=np.where(degenerate, nan, df),
        p_value=np.where(degenerate, nan, p_value),
        ci_low=np.where(degenerate, nan, ci_low),
        ci_high=np.where(degenerate, nan, ci_high),
        rel_ci_low=np.where(degenerate | ~positive, nan, rel_lo),
        rel_ci_high=np.where(degenerate | ~positive, nan, rel_hi),
        estimable=~degenerate,
        reason=reason,
        small_counts=np.zeros(m0.shape, dtype=bool),
    )
