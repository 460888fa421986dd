"""Power analysis for win-back tests: sample sizes, power and detectable lifts for rates and means.

Conventions (each function repeats the ones it uses):

* ``baseline`` is the control's (holdout's) rate; ``mde`` is the absolute difference
  variant − control (negative for a decrease), or a relative lift when ``relative=True``
  (0.25 means +25%).
* ``n`` is the size of the control arm; every variant arm has ``ratio * n`` units, so a 10%
  holdout against three equal variants is ``ratio=3``. ``total = control + variants * per_variant``.
* ``alternative`` is ``"two-sided"``, ``"larger"`` or ``"smaller"`` (statsmodels' words). The
  power of a two-sided test counts both rejection regions (R's ``strict=TRUE``, statsmodels'
  convention); R's default ignores the far tail, which changes nothing visible at useful powers.
* ``variants`` treatment arms are each compared with the control. ``correction`` adjusts the
  critical value for those comparisons: ``"bonferroni"`` (alpha / variants), ``"dunnett"``
  (critical value of the maximum of the equicorrelated statistics, correlation
  ``ratio / (1 + ratio)`` from the allocation, computed by numerical integration, not read from a
  table) or ``None``. With ``variants=1`` all three coincide. **Power is per comparison**: the
  probability that one given variant, with the stated effect, is declared different from the control.
* Rates, ``method="pooled"`` (default): z test with the pooled variance under the null
  (allocation-weighted pooled rate) and the unpooled variance under the alternative, the convention
  of R's ``power.prop.test``, Stata's ``power twoproportions`` and Fleiss, Tytun & Ury (1980);
  ``"unpooled"``: unpooled variance under both (Chow, Shao & Wang); ``"arcsine"``: Cohen's effect
  size ``h = 2 asin(sqrt(p2)) - 2 asin(sqrt(p1))`` with variance ``1/n1 + 1/n2``.
  ``continuity=True`` applies the Fleiss–Tytun–Ury continuity correction: the test rejects when
  ``|p2 - p1| - (1/n1 + 1/n2) / 2`` exceeds the critical difference, which inverts to
  ``n' = n/4 (1 + sqrt(1 + 2 (1 + 1/ratio) / (n |mde|)))^2``.
* Means: two-sample t test with a pooled standard deviation ``sd``, power from the noncentral t
  distribution (R's ``power.t.test``, statsmodels' ``TTestIndPower``), ``df = n1 + n2 - 2``; with
  ``correction="dunnett"`` the critical value comes from the multivariate t of Dunnett's test,
  whose pooled variance uses every arm (``df = N - (variants + 1)``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd
from scipy import interpolate, optimize, special, stats

from abkit._display import Displayable
from abkit._validate import (
    ALTERNATIVES,
    check_choice,
    check_finite,
    check_positive,
    check_probability,
    resolve_control,
)
from abkit.errors import ParameterError
from abkit.stats.sequential import group_sequential_bounds, sample_size_inflation

__all__ = [
    "SampleSize",
    "dunnett_critical_value",
    "mde",
    "mde_mean",
    "plan",
    "plot_power_curve",
    "power",
    "power_curve",
    "power_mean",
    "sample_size",
    "sample_size_mean",
]

_ALTERNATIVES = ALTERNATIVES
_METHODS = ("pooled", "unpooled", "arcsine")
_CORRECTIONS = ("bonferroni", "dunnett", None)
_METHOD_NOTES = {
    "pooled": (
        "z test, pooled variance under H0, unpooled under H1 (R power.prop.test, Stata, Fleiss-Tytun-Ury)"
    ),
    "unpooled": "z test, unpooled variance under H0 and H1 (Chow-Shao-Wang)",
    "arcsine": "arcsine transformation, Cohen's h",
    "t": "two-sample t test, noncentral t (R power.t.test)",
}


# --------------------------------------------------------------------------------------------------
# argument checks


def _scalar(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, Real | np.ndarray | np.generic):
        raise ParameterError(f"{name} must be a real number, got {value!r}")
    arr = check_finite(name, value)
    if arr.ndim != 0:
        raise ParameterError(f"{name} must be a single number, got an array of shape {arr.shape}")
    return float(arr)


def _alpha(alpha: Any) -> float:
    _scalar("alpha", alpha)
    return float(check_probability("alpha", alpha, what="the significance level"))


def _target(power: Any) -> float:
    _scalar("power", power)
    return float(check_probability("power", power, what="the target power"))


def _ratio(ratio: Any) -> float:
    return float(check_positive("ratio", _scalar("ratio", ratio)))


def _variants(variants: Any) -> int:
    if isinstance(variants, bool) or not isinstance(variants, Real | np.generic):
        raise ParameterError(f"variants must be a whole number >= 1, got {variants!r}")
    v = float(variants)
    if not math.isfinite(v) or v != int(v) or v < 1:
        raise ParameterError(f"variants must be a whole number >= 1 (treatment arms), got {variants!r}")
    return int(v)


def _choices(alternative: Any, correction: Any, method: Any = "pooled") -> None:
    check_choice("alternative", alternative, _ALTERNATIVES)
    if not (correction is None or isinstance(correction, str)):
        raise ParameterError(
            f"correction={correction!r} is not known; use one of 'bonferroni', 'dunnett', None"
        )
    check_choice("correction", correction, _CORRECTIONS)
    check_choice("method", method, _METHODS)


def _continuity(continuity: Any, method: str) -> bool:
    if not isinstance(continuity, bool | np.bool_):
        raise ParameterError(f"continuity must be True or False, got {continuity!r}")
    if continuity and method == "arcsine":
        raise ParameterError(
            "continuity=True is defined for method='pooled' or 'unpooled', not method='arcsine'; "
            "drop continuity or change the method"
        )
    return bool(continuity)


def _nonzero_mde(mde: Any) -> np.ndarray:
    arr = check_finite("mde", mde)
    if np.any(arr == 0):
        raise ParameterError(f"mde must be non-zero (the effect to detect), got {mde!r}")
    return arr


def _variant_rate(baseline: np.ndarray, mde: np.ndarray, relative: bool) -> np.ndarray:
    diff = mde * baseline if relative else mde
    p2 = baseline + diff
    outside = (p2 <= 0) | (p2 >= 1)
    if np.any(outside):
        what = "baseline * (1 + mde)" if relative else "baseline + mde"
        raise ParameterError(
            f"the variant's rate {what} must be strictly between 0 and 1, got {float(p2[outside].flat[0])!r} "
            f"(baseline={_show(baseline)}, mde={_show(mde)}{', relative' if relative else ''}); "
            "use a smaller mde"
        )
    return p2


def _show(arr: np.ndarray) -> str:
    return repr(float(arr)) if np.ndim(arr) == 0 else f"array of {np.size(arr)}"


def _out(arr: np.ndarray) -> float | np.ndarray:
    return float(arr) if np.ndim(arr) == 0 else arr


# --------------------------------------------------------------------------------------------------
# critical values


def _tail_alpha(alpha: float, alternative: str, correction: str | None, variants: int) -> float:
    """Tail probability of each comparison's critical value under Bonferroni / no correction."""
    a = alpha / variants if correction == "bonferroni" else alpha
    return a / 2 if alternative == "two-sided" else a


def _max_cdf(x: Any, lambdas: tuple[float, ...], two_sided: bool, df: float) -> np.ndarray:
    """P(max_i T_i <= x) (or max |T_i|) for T_i = Z_i / S with Z_i = lam_i W + sqrt(1 - lam_i^2) E_i.

    ``S = 1`` when ``df`` is infinite (multivariate normal) and ``S = chi_df / sqrt(df)`` otherwise
    (multivariate t). The normal case is one integral over the common factor W; the t case
    integrates the normal one over the chi scale by Gauss-Legendre on its quantiles.
    """
    x = np.atleast_1d(np.asarray(x, dtype=float))
    if math.isinf(df):
        return _max_cdf_normal(x, lambdas, two_sided)
    scale, sw = _chi_nodes(float(df))
    xs = x[:, None] * scale[None, :]
    spline = _max_cdf_spline(lambdas, two_sided)
    vals = np.where(xs >= _SPLINE_END, 1.0, spline(np.minimum(xs, _SPLINE_END)))
    return vals @ sw


def _max_cdf_normal(x: np.ndarray, lambdas: tuple[float, ...], two_sided: bool) -> np.ndarray:
    # trapezoid rule over W: for this smooth Gaussian-weighted integrand it is exact to ~1e-13
    lam = np.asarray(lambdas, dtype=float)
    sig = np.sqrt(1.0 - lam**2)
    h = min(0.2, float(sig.min()) / 4)
    w = np.arange(-8.5, 8.5 + h / 2, h)
    wt = np.exp(-0.5 * w**2) * h / math.sqrt(2 * math.pi)
    shift = lam[None, None, :] * w[None, :, None]  # (1, w, k)
    prob = special.ndtr((x[:, None, None] - shift) / sig)
    if two_sided:
        prob = prob - special.ndtr((-x[:, None, None] - shift) / sig)
    return np.prod(prob, axis=-1) @ wt


_SPLINE_END = 12.0  # beyond this the maximum's distribution function is 1 to double precision


@lru_cache(maxsize=64)
def _max_cdf_spline(lambdas: tuple[float, ...], two_sided: bool) -> interpolate.CubicSpline:
    # the normal case on a fine grid (step 0.0025: interpolation error < 1e-11), reused by every df
    grid = np.linspace(0.0, _SPLINE_END, 4801)
    values = np.concatenate([_max_cdf_normal(part, lambdas, two_sided) for part in np.array_split(grid, 8)])
    return interpolate.CubicSpline(grid, values)


_GL_U, _GL_W = np.polynomial.legendre.leggauss(64)
_GL_U, _GL_W = (_GL_U + 1) / 2, _GL_W / 2  # Gauss-Legendre on (0, 1)


def _chi_nodes(df: float) -> tuple[np.ndarray, np.ndarray]:
    return np.sqrt(special.chdtri(df, 1 - _GL_U) / df), _GL_W


@lru_cache(maxsize=4096)
def _critical(
    alpha: float,
    alternative: str,
    correction: str | None,
    lambdas: tuple[float, ...],
    df: float = math.inf,
) -> float:
    """Critical value of each comparison's z (df=inf) or t statistic."""
    k = len(lambdas)

    def isf(q: float) -> float:
        return float(-special.ndtri(q) if math.isinf(df) else -special.stdtrit(df, q))

    if correction != "dunnett" or k == 1:
        return isf(_tail_alpha(alpha, alternative, correction, k))
    two = alternative == "two-sided"
    lo = isf(_tail_alpha(alpha, alternative, None, k))
    hi = isf(_tail_alpha(alpha, alternative, "bonferroni", k)) * 1.01 + 1e-6
    return float(
        optimize.brentq(lambda c: _max_cdf(c, lambdas, two, df)[0] - (1 - alpha), lo, hi, xtol=1e-10)
    )


def _lambdas(ratio: float, variants: int) -> tuple[float, ...]:
    return (math.sqrt(ratio / (1 + ratio)),) * variants


def dunnett_critical_value(
    alpha: float = 0.05,
    *,
    variants: int = 2,
    ratio: float = 1.0,
    alternative: str = "two-sided",
    df: float = math.inf,
) -> float:
    """Dunnett's critical value for ``variants`` comparisons with one control.

    The statistics comparing each variant (``ratio * n`` units) with the control (``n`` units) are
    equicorrelated with correlation ``ratio / (1 + ratio)``; the value ``c`` solves
    ``P(max |Z_i| <= c) = 1 - alpha`` (two-sided) or ``P(max Z_i <= c) = 1 - alpha`` (one-sided) for
    the multivariate normal (``df=inf``) or multivariate t with ``df`` degrees of freedom.

    >>> round(dunnett_critical_value(0.05, variants=3), 3)  # Dunnett (1955), infinite df
    2.349
    """
    alpha = _alpha(alpha)
    check_choice("alternative", alternative, _ALTERNATIVES)
    df = float(check_positive("df", df)) if not (isinstance(df, float) and math.isinf(df)) else math.inf
    return _critical(alpha, alternative, "dunnett", _lambdas(_ratio(ratio), _variants(variants)), df)


# --------------------------------------------------------------------------------------------------
# power kernels (vectorised)


def _combine(upper: np.ndarray, lower: np.ndarray, alternative: str) -> np.ndarray:
    if alternative == "larger":
        return upper
    if alternative == "smaller":
        return lower
    return upper + lower


def _prop_power(
    p1: np.ndarray,
    p2: np.ndarray,
    n1: np.ndarray,
    n2: np.ndarray,
    crit: float | np.ndarray,
    alternative: str,
    method: str,
    continuity: bool,
) -> np.ndarray:
    inv = 1.0 / n1 + 1.0 / n2
    if method == "arcsine":
        d = 2 * np.arcsin(np.sqrt(p2)) - 2 * np.arcsin(np.sqrt(p1))
        se0 = se1 = np.sqrt(inv)
    else:
        d = p2 - p1
        se1 = np.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
        if method == "pooled":
            pbar = (n1 * p1 + n2 * p2) / (n1 + n2)
            se0 = np.sqrt(pbar * (1 - pbar) * inv)
        else:
            se0 = se1
    cc = 0.5 * inv if continuity else 0.0
    upper = special.ndtr((d - cc - crit * se0) / se1)
    lower = special.ndtr((-d - cc - crit * se0) / se1)
    return _combine(upper, lower, alternative)


def _mean_power(
    d: np.ndarray,
    sd: np.ndarray,
    n1: np.ndarray,
    n2: np.ndarray,
    df: np.ndarray,
    crit: np.ndarray,
    alternative: str,
) -> np.ndarray:
    ncp = d / (sd * np.sqrt(1.0 / n1 + 1.0 / n2))
    upper = _nct_below(df, -ncp, -crit) if alternative != "smaller" else 0.0  # P(T > c) = P(-T < -c)
    lower = _nct_below(df, ncp, -crit) if alternative != "larger" else 0.0
    return _combine(np.asarray(upper), np.asarray(lower), alternative)


def _nct_below(df: Any, ncp: Any, x: Any) -> np.ndarray:
    """P(T < x) for the noncentral t; scipy returns NaN deep in the tail (probabilities < 1e-60),
    where the normal approximation of Abramowitz & Stegun 26.7.10 is used instead."""
    out = np.asarray(special.nctdtr(df, ncp, x), dtype=float)
    bad = np.isnan(out)
    if np.any(bad):
        df_, ncp_, x_ = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (df, ncp, x)))
        approx = special.ndtr((x_ * (1 - 1 / (4 * df_)) - ncp_) / np.sqrt(1 + x_**2 / (2 * df_)))
        out = np.where(bad, approx, out)
    return out


def _mean_df(n1: np.ndarray, n2: np.ndarray, variants: int, correction: str | None) -> np.ndarray:
    if correction == "dunnett" and variants > 1:
        return n1 + variants * n2 - (variants + 1)
    return n1 + n2 - 2


def _mean_crit(
    alpha: float, alternative: str, correction: str | None, lambdas: tuple[float, ...], df: np.ndarray
) -> np.ndarray:
    df = np.asarray(df, dtype=float)
    if correction != "dunnett" or len(lambdas) == 1:
        return np.asarray(stats.t.isf(_tail_alpha(alpha, alternative, correction, len(lambdas)), df))
    uniq, inverse = np.unique(df, return_inverse=True)
    vals = np.array([_critical(alpha, alternative, correction, lambdas, float(v)) for v in uniq])
    return vals[inverse].reshape(df.shape)


def _check_df(n1: np.ndarray, df: np.ndarray) -> None:
    if np.any(df <= 0):
        raise ParameterError(
            f"n={_show(n1)} is too small for a t test: the degrees of freedom must be positive; increase n"
        )


# --------------------------------------------------------------------------------------------------
# results


@dataclass(frozen=True, repr=False)
class SampleSize(Displayable):
    """Sample size per arm for a test of ``variants`` treatment arms against one control.

    ``control``, ``per_variant`` and ``total`` are whole units (each arm rounded up);
    ``control_exact`` and ``per_variant_exact`` are the unrounded solutions. ``achieved_power`` is the
    per-comparison power at the rounded sizes.
    """

    control: int
    per_variant: int
    total: int
    control_exact: float
    per_variant_exact: float
    variants: int
    ratio: float
    mde: float
    relative_mde: float | None
    baseline: float | None
    sd: float | None
    alpha: float
    power: float
    achieved_power: float
    alternative: str
    correction: str | None
    method: str
    continuity: bool
    critical_value: float

    @property
    def kind(self) -> str:
        """``"proportion"`` or ``"mean"``."""
        return "mean" if self.baseline is None else "proportion"

    def __repr__(self) -> str:
        return (
            f"SampleSize(control={self.control}, per_variant={self.per_variant}, total={self.total}, "
            f"variants={self.variants}, method={self.method!r}, power={self.power}, alpha={self.alpha})"
        )

    def _title(self) -> str:
        return f"Sample size ({self.kind}): {self.total:,} units in total"

    def to_pandas(self) -> pd.DataFrame:
        """One row per arm: the rounded and the exact size."""
        arms = ["control"] + [f"variant {i + 1}" for i in range(self.variants)]
        return pd.DataFrame(
            {
                "arm": arms,
                "n": np.array([self.control] + [self.per_variant] * self.variants, dtype=np.int64),
                "n_exact": [self.control_exact] + [self.per_variant_exact] * self.variants,
            }
        )

    def _notes(self) -> list[str]:
        if self.baseline is not None:
            effect = f"baseline {self.baseline:g} -> {self.baseline + self.mde:g} (mde {self.mde:+g})"
        else:
            effect = f"mean difference {self.mde:+g} with sd {self.sd:g}"
        corr = f"{self.correction} correction" if self.correction else "no multiplicity correction"
        cc = ", continuity-corrected" if self.continuity else ""
        return [
            f"{effect}; {self.alternative} test at alpha {self.alpha:g} ({corr}, critical value "
            f"{self.critical_value:.4g}); per-comparison power {self.power:g} "
            f"(achieved {self.achieved_power:.4f}).",
            f"Method: {_METHOD_NOTES[self.method]}{cc}.",
        ]


def _round_up(x: float) -> int:
    # guard against root-finder noise turning an exact whole number into the next one
    return math.ceil(x * (1 - 1e-12))


def _solve_n(f: Any, n_lo: float, n_hi: float, what: str) -> float:
    """Root of the increasing function f(n) (power minus target) with a bracketed search."""
    if f(n_lo) >= 0:
        raise ParameterError(
            f"power is already reached with the smallest {what} the approximation supports ({n_lo:.3g}), so "
            "no meaningful size exists: the effect is huge for this target power; raise power or reduce mde"
        )
    for _ in range(200):
        if f(n_hi) >= 0:
            break
        n_lo, n_hi = n_hi, n_hi * 4
    else:  # pragma: no cover - power -> 1 as n -> inf for every non-zero effect
        raise ParameterError(f"no finite {what} reaches the target power")
    return float(optimize.brentq(f, n_lo, n_hi, xtol=1e-10, rtol=1e-13, maxiter=500))


# --------------------------------------------------------------------------------------------------
# proportions


def sample_size(
    baseline: float,
    mde: float,
    *,
    relative: bool = False,
    alpha: float = 0.05,
    power: float = 0.8,
    alternative: str = "two-sided",
    ratio: float = 1.0,
    variants: int = 1,
    correction: str | None = "bonferroni",
    method: str = "pooled",
    continuity: bool = False,
) -> SampleSize:
    """Units per arm to detect a change of a rate from ``baseline`` by ``mde`` with the target power.

    ``n`` control units and ``ratio * n`` per variant; power is per comparison. ``method``:
    ``"pooled"`` (R ``power.prop.test``), ``"unpooled"`` or ``"arcsine"`` (Cohen's h);
    ``continuity=True`` uses the Fleiss–Tytun–Ury correction. The size solves the power equation
    numerically (both tails of a two-sided test counted), then each arm is rounded up.

    >>> s = sample_size(0.5, 0.25, power=0.9)  # R: power.prop.test(p1=.5, p2=.75, power=.9) -> 76.7069
    >>> s.control, round(s.control_exact, 2)
    (77, 76.71)
    >>> sample_size(0.04, 0.25, relative=True, ratio=3, variants=3).total
    61467
    """
    p1, d, target, alpha, ratio, k, cc = _prop_args(
        baseline, mde, relative, alpha, power, ratio, variants, method, continuity
    )
    _choices(alternative, correction, method)
    _check_direction(d, alternative)
    p2 = p1 + d
    crit = _critical(alpha, alternative, correction, _lambdas(ratio, k))

    def f(n: float) -> float:
        return float(_prop_power(p1, p2, n, ratio * n, crit, alternative, method, cc)) - target

    # closed form ignoring the far tail (an upper bound of the exact answer) brackets the root
    n_guess = _closed_form_prop(p1, p2, ratio, crit, target, method, cc)
    n_exact = _solve_n(f, max(n_guess * 1e-3, 1e-9), n_guess * 1.001 + 1e-9, "control size")
    return _make_size(
        n_exact, ratio, k, d, d / p1, p1, None, alpha, target, alternative, correction, method, cc, crit,
        lambda n1, n2: float(_prop_power(p1, p2, n1, n2, crit, alternative, method, cc)),
    )  # fmt: skip


def _closed_form_prop(
    p1: float, p2: float, r: float, crit: float, target: float, method: str, cc: bool
) -> float:
    zb = stats.norm.ppf(target)
    if method == "arcsine":
        h = abs(2 * math.asin(math.sqrt(p2)) - 2 * math.asin(math.sqrt(p1)))
        return (crit + zb) ** 2 * (1 + 1 / r) / h**2
    d = abs(p2 - p1)
    s1 = math.sqrt(p1 * (1 - p1) + p2 * (1 - p2) / r)
    pbar = (p1 + r * p2) / (1 + r)
    s0 = math.sqrt(pbar * (1 - pbar) * (1 + 1 / r)) if method == "pooled" else s1
    n = max(crit * s0 + zb * s1, 1e-9) ** 2 / d**2
    if cc:  # Fleiss, Tytun & Ury (1980)
        n = n / 4 * (1 + math.sqrt(1 + 2 * (1 + 1 / r) / (n * d))) ** 2
    return n


def _prop_args(
    baseline: Any,
    mde: Any,
    relative: Any,
    alpha: Any,
    power: Any,
    ratio: Any,
    variants: Any,
    method: Any,
    continuity: Any,
) -> tuple[float, float, float, float, float, int, bool]:
    p1 = float(check_probability("baseline", _scalar("baseline", baseline), what="the control's rate"))
    m = float(_nonzero_mde(_scalar("mde", mde)))
    rel = _relative(relative)
    d = m * p1 if rel else m
    _variant_rate(np.asarray(p1), np.asarray(m), rel)
    check_choice("method", method, _METHODS)
    return (
        p1,
        d,
        _target(power),
        _alpha(alpha),
        _ratio(ratio),
        _variants(variants),
        _continuity(continuity, method),
    )


def _relative(relative: Any) -> bool:
    if not isinstance(relative, bool | np.bool_):
        raise ParameterError(f"relative must be True or False, got {relative!r}")
    return bool(relative)


def _check_direction(d: float, alternative: str) -> None:
    if (alternative == "larger" and d < 0) or (alternative == "smaller" and d > 0):
        raise ParameterError(
            f"mde={d:g} points the other way from alternative={alternative!r}: the test can never reach the "
            "target power; flip the sign of mde or change alternative"
        )


def _make_size(
    n_exact: float,
    ratio: float,
    k: int,
    d: float,
    rel: float | None,
    baseline: float | None,
    sd: float | None,
    alpha: float,
    target: float,
    alternative: str,
    correction: str | None,
    method: str,
    cc: bool,
    crit: float,
    achieved: Any,
) -> SampleSize:
    control = _round_up(n_exact)
    per_variant = _round_up(ratio * n_exact)
    return SampleSize(
        control=control,
        per_variant=per_variant,
        total=control + k * per_variant,
        control_exact=n_exact,
        per_variant_exact=ratio * n_exact,
        variants=k,
        ratio=ratio,
        mde=d,
        relative_mde=rel,
        baseline=baseline,
        sd=sd,
        alpha=alpha,
        power=target,
        achieved_power=achieved(float(control), float(per_variant)),
        alternative=alternative,
        correction=correction,
        method=method,
        continuity=cc,
        critical_value=crit,
    )


def power(
    baseline: float | np.ndarray,
    mde: float | np.ndarray,
    n: float | np.ndarray,
    *,
    alpha: float = 0.05,
    alternative: str = "two-sided",
    ratio: float = 1.0,
    variants: int = 1,
    correction: str | None = "bonferroni",
    method: str = "pooled",
    continuity: bool = False,
    relative: bool = False,
) -> float | np.ndarray:
    """Per-comparison power of the test of one variant against the control, for rates.

    ``n`` control units and ``ratio * n`` per variant; ``mde`` absolute (or relative with
    ``relative=True``). ``baseline``, ``mde`` and ``n`` broadcast as numpy arrays (an array in, an
    array out). Conventions as :func:`sample_size`; a two-sided test's power counts both tails.

    >>> round(power(0.5, 0.25, 50), 4)  # R: power.prop.test(n=50, p1=.5, p2=.75) -> 0.7401659
    0.7402
    >>> power(0.05, 0.01, [1000, 8000]).round(3)
    array([0.165, 0.792])
    """
    p1 = check_probability("baseline", baseline, what="the control's rate")
    m = _nonzero_mde(mde)
    rel = _relative(relative)
    p2 = _variant_rate(p1, m, rel)
    n1 = check_positive("n", n)
    alpha, r, k = _alpha(alpha), _ratio(ratio), _variants(variants)
    _choices(alternative, correction, method)
    cc = _continuity(continuity, method)
    crit = _critical(alpha, alternative, correction, _lambdas(r, k))
    return _out(_prop_power(p1, p2, n1, r * n1, crit, alternative, method, cc))


def _direction(direction: Any, alternative: str) -> int:
    if direction is None:
        return -1 if alternative == "smaller" else 1
    check_choice("direction", direction, ("increase", "decrease", None))
    sign = 1 if direction == "increase" else -1
    if (alternative == "larger" and sign < 0) or (alternative == "smaller" and sign > 0):
        raise ParameterError(
            f"direction={direction!r} contradicts alternative={alternative!r}; drop direction or use "
            "alternative='two-sided'"
        )
    return sign


def mde(
    baseline: float,
    n: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    alternative: str = "two-sided",
    ratio: float = 1.0,
    variants: int = 1,
    correction: str | None = "bonferroni",
    method: str = "pooled",
    relative: bool = False,
    continuity: bool = False,
    direction: str | None = None,
) -> float:
    """Smallest change of the rate detectable with the target power, given ``n`` control units.

    Solved with a bracketed root finder (Brent) on :func:`power`, so the two round-trip. The
    search keeps the variant's rate inside (0, 1) and goes in the direction of ``alternative``:
    ``"smaller"`` gives a negative mde, ``"larger"`` and ``"two-sided"`` a positive one (pass
    ``direction="decrease"`` for the detectable decrease of a two-sided test). Relative to the
    baseline with ``relative=True``. Power is per comparison.

    >>> round(mde(0.05, 6000), 5)
    0.01176
    >>> round(mde(0.05, 6000, relative=True, alternative="smaller"), 4)
    -0.1888
    """
    p1 = float(check_probability("baseline", _scalar("baseline", baseline), what="the control's rate"))
    n1 = float(check_positive("n", _scalar("n", n)))
    alpha, target, r, k = _alpha(alpha), _target(power), _ratio(ratio), _variants(variants)
    _choices(alternative, correction, method)
    cc = _continuity(continuity, method)
    rel = _relative(relative)
    sign = _direction(direction, alternative)
    crit = _critical(alpha, alternative, correction, _lambdas(r, k))
    room = (1 - p1) if sign > 0 else p1

    def f(a: float) -> float:
        return float(_prop_power(p1, p1 + sign * a, n1, r * n1, crit, alternative, method, cc)) - target

    lo, hi = room * 1e-12, room * (1 - 1e-12)
    if f(hi) < 0:
        best = float(_prop_power(p1, p1 + sign * hi, n1, r * n1, crit, alternative, method, cc))
        raise ParameterError(
            f"n={n1:g} is too small: even a variant rate of {p1 + sign * hi:.6g} is detected with power "
            f"{best:.3f} < power={target}; increase n or lower the target power"
        )
    if f(lo) >= 0:
        raise ParameterError(f"power={target} does not exceed the test's size; ask for a higher power")
    a = optimize.brentq(f, lo, hi, xtol=1e-14, rtol=1e-13, maxiter=500)
    d = sign * a
    return d / p1 if rel else d


# --------------------------------------------------------------------------------------------------
# means


def _mean_args(
    alpha: Any, ratio: Any, variants: Any, alternative: Any, correction: Any
) -> tuple[float, float, int]:
    a, r, k = _alpha(alpha), _ratio(ratio), _variants(variants)
    _choices(alternative, correction)
    return a, r, k


def _mean_power_full(
    d: Any, sd: Any, n1: Any, r: float, k: int, alpha: float, alternative: str, correction: Any
) -> np.ndarray:
    d, sd, n1 = np.asarray(d, dtype=float), np.asarray(sd, dtype=float), np.asarray(n1, dtype=float)
    n2 = r * n1
    df = _mean_df(n1, n2, k, correction)
    _check_df(n1, df)
    crit = _mean_crit(alpha, alternative, correction, _lambdas(r, k), df)
    return _mean_power(d, sd, n1, n2, df, crit, alternative)


def sample_size_mean(
    mde: float,
    sd: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    alternative: str = "two-sided",
    ratio: float = 1.0,
    variants: int = 1,
    correction: str | None = "bonferroni",
) -> SampleSize:
    """Units per arm to detect a difference ``mde`` in means (e.g. revenue per recipient).

    Two-sample t test with common standard deviation ``sd``, power from the noncentral t (R's
    ``power.t.test``; unequal allocation through ``ratio``: variants get ``ratio * n``). Power is
    per comparison; Dunnett's critical value uses the multivariate t with ``N - (variants + 1)`` df.

    >>> s = sample_size_mean(1, 1, power=0.9)  # R: power.t.test(delta=1, sd=1, power=.9) -> 22.02110
    >>> s.control, round(s.control_exact, 3)
    (23, 22.021)
    """
    d = float(_nonzero_mde(_scalar("mde", mde)))
    s = float(check_positive("sd", _scalar("sd", sd)))
    alpha, r, k = _mean_args(alpha, ratio, variants, alternative, correction)
    target = _target(power)
    _check_direction(d, alternative)

    def f(n: float) -> float:
        return float(_mean_power_full(d, s, n, r, k, alpha, alternative, correction)) - target

    pooled_all = correction == "dunnett" and k > 1  # Dunnett's pooled variance uses every arm
    n_lo = (k + 2) / (1 + k * r) if pooled_all else 3 / (1 + r)  # one degree of freedom
    z = stats.norm.isf(_tail_alpha(alpha, alternative, correction, k)) + stats.norm.ppf(target)
    n_guess = max(z**2 * (s / d) ** 2 * (1 + 1 / r), n_lo * 2)
    n_exact = _solve_n(f, n_lo, n_guess, "control size")
    df = _mean_df(n_exact, r * n_exact, k, correction)
    crit = float(_mean_crit(alpha, alternative, correction, _lambdas(r, k), np.asarray(df)))

    def achieved(n1: float, n2: float) -> float:
        df_ = _mean_df(n1, n2, k, correction)
        crit_ = _mean_crit(alpha, alternative, correction, _lambdas(n2 / n1, k), np.asarray(df_))
        return float(_mean_power(d, s, n1, n2, df_, crit_, alternative))

    return _make_size(
        n_exact, r, k, d, None, None, s, alpha, target, alternative, correction, "t", False, crit, achieved
    )


def power_mean(
    mde: float | np.ndarray,
    sd: float | np.ndarray,
    n: float | np.ndarray,
    *,
    alpha: float = 0.05,
    alternative: str = "two-sided",
    ratio: float = 1.0,
    variants: int = 1,
    correction: str | None = "bonferroni",
) -> float | np.ndarray:
    """Per-comparison power of the two-sample t test for a difference ``mde`` in means.

    Noncentral t (R's ``power.t.test``, counting both tails of a two-sided test); ``n`` control
    units and ``ratio * n`` per variant; ``mde``, ``sd`` and ``n`` broadcast as numpy arrays.

    >>> round(power_mean(1, 1, 20), 4)  # R: power.t.test(n=20, delta=1) -> 0.8689528
    0.869
    """
    d = _nonzero_mde(mde)
    s = check_positive("sd", sd)
    n1 = check_positive("n", n)
    alpha, r, k = _mean_args(alpha, ratio, variants, alternative, correction)
    return _out(_mean_power_full(d, s, n1, r, k, alpha, alternative, correction))


def mde_mean(
    sd: float,
    n: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    alternative: str = "two-sided",
    ratio: float = 1.0,
    variants: int = 1,
    correction: str | None = "bonferroni",
) -> float:
    """Smallest difference in means detectable with the target power, given ``n`` control units.

    Solved with Brent's method on :func:`power_mean` (they round-trip); negative for
    ``alternative="smaller"``, positive otherwise (the two-sided test is symmetric). Per comparison.

    >>> round(mde_mean(1, 22.021098, power=0.9), 4)  # R: power.t.test(n=22.02110, sd=1, power=.9)
    1.0
    """
    s = float(check_positive("sd", _scalar("sd", sd)))
    n1 = float(check_positive("n", _scalar("n", n)))
    alpha, r, k = _mean_args(alpha, ratio, variants, alternative, correction)
    target = _target(power)
    sign = -1.0 if alternative == "smaller" else 1.0
    _check_df(np.asarray(n1), _mean_df(np.asarray(n1), np.asarray(r * n1), k, correction))

    def f(a: float) -> float:
        pw = _mean_power_full(sign * a, s, n1, r, k, alpha, alternative, correction)
        return float(pw) - target

    lo, hi = s * 1e-12, s
    for _ in range(200):
        if f(hi) >= 0:
            break
        lo, hi = hi, hi * 2
    if f(lo) >= 0:
        raise ParameterError(f"power={target} does not exceed the test's size; ask for a higher power")
    return sign * float(optimize.brentq(f, lo, hi, xtol=1e-14 * s, rtol=1e-13, maxiter=500))


# --------------------------------------------------------------------------------------------------
# planning helpers


def plan(
    pool_size: int,
    baseline: float | None = None,
    *,
    weights: dict[str, float],
    control: str | None = None,
    sd: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    alternative: str = "two-sided",
    correction: str | None = "bonferroni",
    method: str = "pooled",
    continuity: bool = False,
    looks: int | Sequence[float] | None = None,
    spending: str = "obrien-fleming",
) -> pd.DataFrame:
    """Split a finite dormant pool by ``weights`` and report the lift each comparison can detect.

    ``weights`` maps arm names to shares (normalised to sum to one), e.g.
    ``{"holdout": 0.1, "coupon": 0.3, "personal": 0.3, "urgency": 0.3}``; arm sizes are the shares
    of ``pool_size`` rounded by largest remainder so they add up to the pool. Each variant is
    compared with ``control`` (the no-contact holdout) at the target per-comparison power, with
    ``correction`` over all ``len(weights) - 1`` comparisons (Dunnett uses each arm's own
    allocation). For rates give ``baseline`` (conventions of :func:`mde`, increases); for means
    give ``sd`` (conventions of :func:`mde_mean`, lift in the metric's units).

    Returns one row per arm: ``arm``, ``role``, ``weight``, ``n`` and, for variants, ``comparison``,
    ``mde`` (absolute detectable lift), ``relative_mde`` (lift / baseline, rates only),
    ``detectable_rate`` (rates only), ``power``, ``alpha``, ``alternative``, ``correction``,
    ``method`` and ``critical_value``.

    ``looks`` (a number of equally spaced analyses, or increasing information fractions ending at
    1) plans a group-sequential test with ``spending`` (``"obrien-fleming"``, ``"pocock"`` or the
    ``"-classic"`` boundaries of :func:`abkit.stats.sequential.group_sequential_bounds`). Variants
    then gain ``looks``, ``spending``, ``inflation`` (the sample-size inflation factor
    ``R = I_max / I_fixed`` of :func:`abkit.stats.sequential.sample_size_inflation` at the
    comparison's alpha: alpha / variants under a correction, Dunnett approximated by Bonferroni; a
    one-sided design for ``"larger"``/``"smaller"``) and ``sequential_mde = mde * sqrt(R)`` (the
    lift the fixed pool detects with that design, normal approximation; ``sequential_relative_mde``
    for rates).

    >>> t = plan(12000, 0.04, weights={"holdout": 0.1, "coupon": 0.45, "personal": 0.45})
    >>> t[["arm", "n"]].to_dict("list")
    {'arm': ['holdout', 'coupon', 'personal'], 'n': [1200, 5400, 5400]}
    >>> t["relative_mde"].round(3).tolist()
    [nan, 0.556, 0.556]
    """
    if isinstance(pool_size, bool) or not isinstance(pool_size, Integral) or pool_size < 2:
        raise ParameterError(f"pool_size must be a whole number of customers >= 2, got {pool_size!r}")
    if isinstance(weights, dict):
        control = resolve_control(weights, control, what="weights")
    sizes, shares = _split(int(pool_size), weights, control)
    alpha_, target = _alpha(alpha), _target(power)
    _choices(alternative, correction, method)
    cc = _continuity(continuity, method)
    if (baseline is None) == (sd is None):
        raise ParameterError(
            "give exactly one of baseline (a rate metric) or sd (a mean metric); "
            f"got baseline={baseline!r}, sd={sd!r}"
        )
    if looks is None and spending != "obrien-fleming":
        raise ParameterError(f"spending={spending!r} applies to a group-sequential plan; give looks=...")
    if baseline is not None:
        p1 = float(check_probability("baseline", _scalar("baseline", baseline), what="the control's rate"))
    else:
        s = float(check_positive("sd", _scalar("sd", sd)))
    arms = list(sizes)
    treated = [a for a in arms if a != control]
    n1 = float(sizes[control])
    ratios = {a: sizes[a] / n1 for a in treated}
    lambdas = tuple(math.sqrt(ratios[a] / (1 + ratios[a])) for a in treated)
    k = len(treated)
    sign = -1.0 if alternative == "smaller" else 1.0
    label = "t" if baseline is None else method + (" + continuity" if cc else "")
    rows = []
    for arm in arms:
        row: dict[str, Any] = {"arm": arm, "role": "control" if arm == control else "variant"}
        row.update(weight=shares[arm], n=sizes[arm], power=target, alpha=alpha_, alternative=alternative)
        row.update(correction=correction or "none", method=label)
        if arm == control:
            rows.append(row)
            continue
        n2 = float(sizes[arm])
        if baseline is not None:
            crit = _critical(alpha_, alternative, correction, lambdas)
            room = (1 - p1) if sign > 0 else p1

            def f(a: float, n2: float = n2, crit: float = crit) -> float:
                return float(_prop_power(p1, p1 + sign * a, n1, n2, crit, alternative, method, cc)) - target

            if f(room * (1 - 1e-12)) < 0:
                raise ParameterError(
                    f"arm {arm!r} ({sizes[arm]} units) against {control!r} ({sizes[control]}) cannot reach "
                    f"power={target} for any rate; enlarge the pool or the arms"
                )
            d = sign * optimize.brentq(f, room * 1e-12, room * (1 - 1e-12), xtol=1e-14, rtol=1e-13)
            row.update(comparison=f"{arm} vs {control}", mde=d, relative_mde=d / p1, detectable_rate=p1 + d)
        else:
            df = (
                n1 + sum(sizes[a] for a in treated) - (k + 1)
                if correction == "dunnett" and k > 1
                else n1 + n2 - 2
            )
            _check_df(np.asarray(n1), np.asarray(df))
            crit = float(_mean_crit(alpha_, alternative, correction, lambdas, np.asarray(float(df))))

            def g(a: float, n2: float = n2, df: float = df, crit: float = crit) -> float:
                return float(_mean_power(np.asarray(sign * a), s, n1, n2, df, crit, alternative)) - target

            hi = s
            for _ in range(200):  # power -> 1 as the difference grows, so this ends
                if g(hi) >= 0:
                    break
                hi *= 2
            d = sign * optimize.brentq(g, s * 1e-12, hi, xtol=1e-14 * s, rtol=1e-13)
            row.update(comparison=f"{arm} vs {control}", mde=d)
        row["critical_value"] = crit
        rows.append(row)
    frame = pd.DataFrame(rows)
    frame["n"] = frame["n"].astype(np.int64)
    if looks is not None:
        a_eff = alpha_ / k if correction is not None and k > 1 else alpha_
        side = alternative  # the same words in abkit.stats.sequential
        design = group_sequential_bounds(looks, alpha=a_eff, spending=spending, alternative=side)
        inflation = sample_size_inflation(
            looks, alpha=a_eff, power=target, spending=spending, alternative=side
        )
        variant = (frame["role"] == "variant").to_numpy()
        frame["looks"] = pd.array([len(design.z_bounds) if v else None for v in variant], dtype="Int64")
        frame["spending"] = np.where(variant, spending, None)
        frame["inflation"] = np.where(variant, inflation, np.nan)
        frame["sequential_mde"] = frame["mde"] * math.sqrt(inflation)
        if baseline is not None:
            frame["sequential_relative_mde"] = frame["sequential_mde"] / p1
    first = ["arm", "role", "weight", "n", "comparison", "mde", "relative_mde", "detectable_rate"]
    order = [c for c in first if c in frame] + [c for c in frame if c not in first]
    return frame[order]


def _split(pool: int, weights: Any, control: str) -> tuple[dict[str, int], dict[str, float]]:
    if not isinstance(weights, dict) or len(weights) < 2:
        raise ParameterError(
            f"weights must be a dict of at least two arms (control and variants) to shares, got {weights!r}"
        )
    if control not in weights:
        raise ParameterError(f"control={control!r} is not one of the arms in weights: {list(weights)}")
    names = [str(a) for a in weights]
    w = np.array([_scalar(f"weights[{a!r}]", v) for a, v in weights.items()])
    if np.any(w <= 0):
        raise ParameterError(f"weights must all be positive, got {weights!r}")
    shares = w / w.sum()
    raw = shares * pool
    base = np.floor(raw).astype(np.int64)
    extra = pool - int(base.sum())
    order = np.argsort(-(raw - base), kind="stable")[:extra]  # largest remainders, ties by order given
    base[order] += 1
    if np.any(base < 1):
        raise ParameterError(
            f"pool_size={pool} leaves an empty arm with weights {weights!r}; enlarge the pool"
        )
    return dict(zip(names, base.tolist(), strict=True)), dict(zip(names, shares.tolist(), strict=True))


def power_curve(
    baseline: float | None = None,
    mde: float | np.ndarray | None = None,
    n: float | np.ndarray | None = None,
    *,
    sd: float | None = None,
    relative: bool = False,
    alpha: float = 0.05,
    alternative: str = "two-sided",
    ratio: float = 1.0,
    variants: int = 1,
    correction: str | None = "bonferroni",
    method: str = "pooled",
    continuity: bool = False,
) -> pd.DataFrame:
    """Tidy table of power over a grid of control sizes ``n`` and/or effects ``mde``.

    ``n`` and ``mde`` may each be a number or a 1-D array; the table has one row per pair
    (outer product, ``mde`` slowest). Give ``baseline`` for a rate (conventions of :func:`power`)
    or ``sd`` for a mean (:func:`power_mean`). The computation is vectorised: a 1,000-point curve
    takes about a millisecond for rates. Columns: ``n`` (control), ``n_variant``, ``total``,
    ``mde`` (absolute), ``relative_mde`` (rates), ``power`` (per comparison), ``alpha``,
    ``alternative``, ``correction``, ``method``.

    >>> c = power_curve(0.05, 0.01, n=[2000, 4000, 8000])
    >>> c["power"].round(3).tolist()
    [0.284, 0.501, 0.792]
    """
    if mde is None or n is None:
        raise ParameterError(
            f"power_curve needs both mde and n (numbers or arrays), got mde={mde!r}, n={n!r}"
        )
    mde_arr = np.atleast_1d(_nonzero_mde(mde))
    n_arr = np.atleast_1d(check_positive("n", n))
    if mde_arr.ndim != 1 or n_arr.ndim != 1:
        raise ParameterError("mde and n must be numbers or 1-D arrays")
    alpha_, r, k = _alpha(alpha), _ratio(ratio), _variants(variants)
    mm, nn = (g.ravel() for g in np.meshgrid(mde_arr, n_arr, indexing="ij"))
    if (baseline is None) == (sd is None):
        raise ParameterError(
            f"give exactly one of baseline (rate) or sd (mean); got baseline={baseline!r}, sd={sd!r}"
        )
    if baseline is not None:
        p1 = float(check_probability("baseline", _scalar("baseline", baseline), what="the control's rate"))
        rel = _relative(relative)
        p2 = _variant_rate(np.asarray(p1), mm, rel)
        _choices(alternative, correction, method)
        cc = _continuity(continuity, method)
        crit = _critical(alpha_, alternative, correction, _lambdas(r, k))
        pw = _prop_power(np.asarray(p1), p2, nn, r * nn, crit, alternative, method, cc)
        d = p2 - p1
        extra = {"baseline": p1, "relative_mde": d / p1}
        label = method + (" + continuity" if cc else "")
    else:
        s = float(check_positive("sd", _scalar("sd", sd)))
        _choices(alternative, correction)
        pw = _mean_power_full(mm, np.asarray(s), nn, r, k, alpha_, alternative, correction)
        d = mm
        extra = {"sd": s}
        label = "t"
    return pd.DataFrame(
        {
            "n": nn,
            "n_variant": r * nn,
            "total": nn + k * r * nn,
            "mde": d,
            **extra,
            "power": pw,
            "alpha": alpha_,
            "alternative": alternative,
            "correction": correction or "none",
            "method": label,
        }
    )


def plot_power_curve(
    baseline: float | None = None,
    mde: float | np.ndarray | None = None,
    n: float | np.ndarray | None = None,
    *,
    target: float | None = 0.8,
    ax: Any = None,
    **kwargs: Any,
) -> Any:
    """Plot power against ``n`` (one line per mde) or against ``mde`` when ``n`` is a single number.

    Takes the arguments of :func:`power_curve`; ``target`` draws a dashed line at the target power
    (``None`` for none). Draws on ``ax`` (a new figure when ``None``) and returns the Axes.

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> ax = plot_power_curve(0.05, [0.01, 0.02], n=np.linspace(500, 10000, 50))
    >>> ax.get_xlabel()
    'control arm size n'
    >>> import matplotlib.pyplot as plt; plt.close(ax.figure)
    """
    frame = power_curve(baseline, mde, n, **kwargs)
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6, 4))
    over_n = np.size(n) > 1 or np.size(mde) == 1
    x, key = ("n", "mde") if over_n else ("mde", "n")
    for value, part in frame.groupby(key, sort=False):
        label = f"{key} = {value:g}"
        if key == "mde" and "relative_mde" in part:
            label += f" ({part['relative_mde'].iloc[0]:+.1%})"
        ax.plot(part[x], part["power"], label=label)
    if target is not None:
        ax.axhline(_target(target), color="grey", linestyle="--", linewidth=1, label=f"target {target:g}")
    ax.set_xlabel("control arm size n" if over_n else "absolute effect (mde)")
    ax.set_ylabel("power (per comparison)")
    ax.set_ylim(0, 1.02)
    ax.set_title(
        f"Power, {frame['alternative'].iloc[0]} alpha={frame['alpha'].iloc[0]:g}, {frame['method'].iloc[0]}"
    )
    ax.legend(fontsize="small")
    return ax
