"""Variance reduction from sufficient statistics: CUPED regression adjustment and post-stratification.

**CUPED** (Deng, Xu, Kohavi & Walker 2013, "Improving the sensitivity of online controlled
experiments by utilizing pre-experiment data"): the outcome ``y`` is adjusted with pre-period
covariates ``x`` (past monetary value, frequency, recency) as ``y - theta' (x - mean(x))``.
``theta`` is pooled across the two arms: it is the within-arm least-squares slope
``(Sxx_c + Sxx_v)^-1 (Sxy_c + Sxy_v)`` (cross-products centred at each arm's means), so the
adjusted difference equals the ANCOVA estimate, the coefficient of the treatment indicator in
the OLS fit ``y ~ 1 + treatment + x``. Everything is computed from per-arm sufficient
statistics (:class:`CupedStats`): ``n``, ``sum y``, ``sum y²``, ``sum x``, ``sum x x'``, ``sum x y``.

Two variance conventions (``variance=``):

- ``"unequal"`` (default, Deng et al.; GrowthBook): each arm's adjusted mean has variance
  ``s²_res / n`` with ``s²_res`` the arm's residual variance about its own regression line at the
  pooled ``theta`` (divisor ``n - 1``), ``theta`` treated as known; Welch–Satterthwaite degrees
  of freedom. It agrees with the heteroskedasticity-robust (HC) OLS standard error up to terms
  of order ``1/n``.
- ``"classical"``: the homoskedastic OLS variance of the treatment coefficient,
  ``RSS / (N - k - 2) * (1/n_c + 1/n_v + d' W^-1 d)`` (``d`` the difference of covariate means,
  ``W`` the pooled within-arm cross-product matrix) with ``N - k - 2`` degrees of freedom;
  identical to statsmodels ``OLS(...).fit()`` (non-robust).

**Post-stratification** (:func:`poststratified_difference`): per-stratum differences combined
with weights equal to each stratum's share of all units (the total stratum sizes), variance
``sum w_s² (s²_v,s / n_v,s + s²_c,s / n_c,s)`` conditional on the stratum sizes; the same as the
HC2 standard error of Lin's (2013) fully interacted regression ``y ~ treatment * strata`` with
centred stratum dummies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from abkit._display import Displayable
from abkit._validate import check_choice, check_probability
from abkit.errors import DataError, ParameterError

__all__ = [
    "CupedResult",
    "CupedStats",
    "PostStratified",
    "constant_covariates",
    "cuped",
    "poststratified_difference",
]

_VARIANCES = ("unequal", "classical")


@dataclass(frozen=True)
class CupedStats:
    """Per-arm sufficient statistics for CUPED: leading axes are rows, the last axes covariates.

    Shapes: ``n``, ``sum``, ``sum_sq``: ``(...)``; ``sum_x``, ``sum_xy``: ``(..., k)``;
    ``sum_xx``: ``(..., k, k)``. Statistics of disjoint groups add with ``+``.

    >>> s = CupedStats.from_arrays([1.0, 2.0, 4.0], [[0.0], [1.0], [1.0]])
    >>> float(s.n), float(s.sum_xy[0])
    (3.0, 6.0)
    """

    n: np.ndarray
    sum: np.ndarray
    sum_sq: np.ndarray
    sum_x: np.ndarray
    sum_xx: np.ndarray
    sum_xy: np.ndarray

    @classmethod
    def from_arrays(cls, y: Any, x: Any) -> CupedStats:
        """Sufficient statistics of one arm from per-unit outcomes ``y`` (n,) and covariates ``x`` (n, k)."""
        y_arr = np.asarray(y, dtype=float)
        x_arr = np.asarray(x, dtype=float)
        if x_arr.ndim == 1:
            x_arr = x_arr[:, None]
        if y_arr.ndim != 1 or x_arr.ndim != 2 or x_arr.shape[0] != y_arr.shape[0]:
            raise ParameterError(
                f"y must be 1-d and x 2-d with as many rows, got shapes {y_arr.shape} and {x_arr.shape}"
            )
        return cls(
            n=np.asarray(float(y_arr.size)),
            sum=np.asarray(y_arr.sum()),
            sum_sq=np.asarray(y_arr @ y_arr),
            sum_x=x_arr.sum(axis=0),
            sum_xx=x_arr.T @ x_arr,
            sum_xy=x_arr.T @ y_arr,
        )

    def __add__(self, other: CupedStats) -> CupedStats:
        return CupedStats(
            *(np.asarray(a) + np.asarray(b) for a, b in zip(_fields(self), _fields(other), strict=True))
        )

    def select(self, rows: Any = slice(None), covariates: Any = slice(None)) -> CupedStats:
        """The statistics of some rows (leading axis) and some covariates (by position).

        >>> s = CupedStats.from_arrays([1.0, 2.0, 4.0], [[0.0, 1.0], [1.0, 1.0], [1.0, 3.0]])
        >>> s.select(covariates=[1]).sum_xx.tolist()
        [[11.0]]
        """
        cov = np.arange(np.shape(self.sum_x)[-1])[covariates]
        cov = np.atleast_1d(cov)
        n, tot, sq, sx, sxx, sxy = (np.asarray(a) for a in _fields(self))
        if n.ndim == 0:
            return CupedStats(n, tot, sq, sx[cov], sxx[np.ix_(cov, cov)], sxy[cov])
        return CupedStats(
            n[rows],
            tot[rows],
            sq[rows],
            sx[rows][..., cov],
            sxx[rows][..., cov, :][..., :, cov],
            sxy[rows][..., cov],
        )


def constant_covariates(control: CupedStats, variant: CupedStats) -> np.ndarray:
    """Which covariates have no within-arm variation, per row: boolean array ``(..., k)``.

    Such a covariate cannot adjust anything in that row (:func:`cuped` refuses it); callers that
    analyse many segments drop it from the rows where it is constant (e.g. ``frequency`` among
    one-time buyers) and say so.

    >>> c = CupedStats.from_arrays([1.0, 2.0, 4.0], [[0.0, 1.0], [1.0, 1.0], [1.0, 1.0]])
    >>> constant_covariates(c, c).tolist()
    [False, True]
    """
    w = 0.0
    raw = 0.0
    for s in (control, variant):
        n, _, _, sx, sxx, _ = (np.asarray(a, dtype=float) for a in _fields(s))
        diag = np.diagonal(sxx, axis1=-2, axis2=-1)
        mx = sx / n[..., None]
        w = w + diag - n[..., None] * mx**2
        raw = raw + diag
    return np.asarray(w <= 1e-10 * np.maximum(raw, np.finfo(float).tiny))


def _fields(s: CupedStats) -> tuple[Any, ...]:
    return (s.n, s.sum, s.sum_sq, s.sum_x, s.sum_xx, s.sum_xy)


@dataclass(frozen=True)
class CupedResult(Displayable):
    """CUPED-adjusted comparison of a variant with its control, one element per row.

    ``control_mean``/``variant_mean``: adjusted means (at the pooled covariate mean);
    ``difference``: adjusted variant − control, with ``variance``, ``df``, ``p_value`` (Student t)
    and ``ci_low``/``ci_high`` (level ``1 - alpha``); ``rel_lift`` with a log-ratio
    interval ``rel_ci_low``/``rel_ci_high`` (NaN unless both adjusted means are positive);
    ``variance_unadjusted`` the variance of the plain difference of means under the same
    convention, and ``variance_reduction = 1 - variance / variance_unadjusted``.
    """

    covariates: tuple[str, ...]
    theta: np.ndarray
    control_mean: np.ndarray
    variant_mean: np.ndarray
    control_var: np.ndarray
    variant_var: np.ndarray
    difference: np.ndarray
    variance: np.ndarray
    df: np.ndarray
    p_value: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    rel_lift: np.ndarray
    rel_ci_low: np.ndarray
    rel_ci_high: np.ndarray
    variance_unadjusted: np.ndarray
    variance_reduction: np.ndarray
    alpha: float
    method: str

    def to_pandas(self) -> Any:
        import pandas as pd

        cols = {
            "control_mean": self.control_mean,
            "variant_mean": self.variant_mean,
            "abs_lift": self.difference,
            "se": np.sqrt(self.variance),
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "rel_lift": self.rel_lift,
            "rel_ci_low": self.rel_ci_low,
            "rel_ci_high": self.rel_ci_high,
            "p_value": self.p_value,
            "variance_reduction": self.variance_reduction,
        }
        frame = pd.DataFrame({k: np.atleast_1d(v) for k, v in cols.items()})
        theta = np.atleast_2d(self.theta)
        for j, name in enumerate(self.covariates):
            frame[f"theta_{name}"] = theta[:, j]
        frame["method"] = self.method
        return frame

    def _title(self) -> str:
        return f"CUPED adjustment on {', '.join(self.covariates)}"

    def __repr__(self) -> str:
        vr = np.atleast_1d(self.variance_reduction)
        mean_vr = float(np.nanmean(vr))
        return f"CupedResult(rows={vr.size}, covariates={self.covariates}, variance_reduction≈{mean_vr:.3f})"


def cuped(
    control: CupedStats,
    variant: CupedStats,
    *,
    covariates: Sequence[str] | None = None,
    variance: str = "unequal",
    alpha: float = 0.05,
) -> CupedResult:
    """Regression-adjusted (CUPED) difference of means with pre-period covariates, per row.

    ``theta`` is pooled across arms (see the module docstring); ``covariates`` names the columns
    of ``x`` for messages and output (default ``x1, x2, ...``); ``variance`` is ``"unequal"``
    (per-arm residual variances, Welch df) or ``"classical"`` (OLS, equals statsmodels).
    Constant, collinear or non-finite covariates raise :class:`~abkit.errors.DataError`
    naming the covariate.

    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(2000, 1)); y = 2 * x[:, 0] + rng.normal(size=2000)
    >>> r = cuped(CupedStats.from_arrays(y[:1000], x[:1000]), CupedStats.from_arrays(y[1000:], x[1000:]),
    ...           covariates=["past_value"])
    >>> round(float(r.theta[0]), 2), round(float(r.variance_reduction), 2)
    (1.98, 0.8)
    """
    check_choice("variance", variance, _VARIANCES)
    check_probability("alpha", alpha)
    n_c, s_c, q_c, sx_c, sxx_c, sxy_c = _arrays(control, "control")
    n_v, s_v, q_v, sx_v, sxx_v, sxy_v = _arrays(variant, "variant")
    k = sx_c.shape[-1]
    if sx_v.shape[-1] != k:
        raise ParameterError(f"control has {k} covariate(s) but variant has {sx_v.shape[-1]}")
    names = _names(covariates, k)
    for arm, stats_ in (
        ("control", (n_c, s_c, q_c, sx_c, sxx_c, sxy_c)),
        ("variant", (n_v, s_v, q_v, sx_v, sxx_v, sxy_v)),
    ):
        _check_finite(arm, stats_, names)
        if np.any(stats_[0] < 2):
            raise DataError(
                f"n_{arm} must be at least 2 units in every row for CUPED, got min {stats_[0].min():g}"
            )

    def centred(
        n: np.ndarray, s: np.ndarray, q: np.ndarray, sx: np.ndarray, sxx: np.ndarray, sxy: np.ndarray
    ):
        my = s / n
        mx = sx / n[..., None]
        syy = q - n * my**2
        cxx = sxx - n[..., None, None] * mx[..., :, None] * mx[..., None, :]
        cxy = sxy - n[..., None] * mx * my[..., None]
        return my, mx, syy, cxx, cxy

    my_c, mx_c, syy_c, cxx_c, cxy_c = centred(n_c, s_c, q_c, sx_c, sxx_c, sxy_c)
    my_v, mx_v, syy_v, cxx_v, cxy_v = centred(n_v, s_v, q_v, sx_v, sxx_v, sxy_v)
    w = cxx_c + cxx_v
    _check_design(w, sxx_c + sxx_v, names)
    wxy = cxy_c + cxy_v
    theta = np.linalg.solve(w, wxy[..., None])[..., 0]
    n_all = n_c + n_v
    mx_pool = (sx_c + sx_v) / n_all[..., None]

    adj_c = my_c - np.sum(theta * (mx_c - mx_pool), axis=-1)
    adj_v = my_v - np.sum(theta * (mx_v - mx_pool), axis=-1)
    diff = adj_v - adj_c

    def rss(syy: np.ndarray, cxy: np.ndarray, cxx: np.ndarray) -> np.ndarray:
        quad = np.einsum("...i,...ij,...j->...", theta, cxx, theta)
        return np.maximum(syy - 2.0 * np.sum(theta * cxy, axis=-1) + quad, 0.0)

    rss_c, rss_v = rss(syy_c, cxy_c, cxx_c), rss(syy_v, cxy_v, cxx_v)
    if variance == "unequal":
        var_c = rss_c / (n_c - 1.0) / n_c
        var_v = rss_v / (n_v - 1.0) / n_v
        var = var_c + var_v
        with np.errstate(divide="ignore", invalid="ignore"):
            df = var**2 / (var_c**2 / (n_c - 1.0) + var_v**2 / (n_v - 1.0))
        u_c, u_v = np.maximum(syy_c, 0.0) / (n_c - 1.0) / n_c, np.maximum(syy_v, 0.0) / (n_v - 1.0) / n_v
        var_unadj = u_c + u_v
        label = "CUPED (Deng et al. 2013), theta pooled across arms, unequal variances (Welch df)"
    else:
        df = n_all - k - 2.0
        if np.any(df < 1):
            raise DataError(f"classical CUPED needs more than {k + 2} units in total per row")
        sigma2 = (rss_c + rss_v) / df
        d = mx_v - mx_c
        extra = np.sum(d * np.linalg.solve(w, d[..., None])[..., 0], axis=-1)
        var = sigma2 * (1.0 / n_c + 1.0 / n_v + extra)
        var_c = sigma2 * (1.0 / n_c + _quad(w, mx_c - mx_pool))
        var_v = sigma2 * (1.0 / n_v + _quad(w, mx_v - mx_pool))
        pooled = (np.maximum(syy_c, 0.0) + np.maximum(syy_v, 0.0)) / (n_all - 2.0)
        var_unadj = pooled * (1.0 / n_c + 1.0 / n_v)
        label = "CUPED / ANCOVA (Deng et al. 2013), theta pooled across arms, classical OLS variance"

    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(var)
        tstat = diff / se
        p = np.where(se > 0, 2.0 * stats.t.sf(np.abs(tstat), df), np.nan)
        q = stats.t.isf(alpha / 2.0, df)
        ok = (adj_c > 0) & (adj_v > 0)
        log_ratio = np.where(ok, np.log(np.where(ok, adj_v, 1.0)) - np.log(np.where(ok, adj_c, 1.0)), np.nan)
        se_log = np.sqrt(var_v / adj_v**2 + var_c / adj_c**2)
        reduction = 1.0 - var / var_unadj
    se = np.where(se > 0, se, np.nan)
    return CupedResult(
        covariates=names,
        theta=theta,
        control_mean=adj_c,
        variant_mean=adj_v,
        control_var=var_c,
        variant_var=var_v,
        difference=diff,
        variance=var,
        df=np.asarray(df, dtype=float),
        p_value=p,
        ci_low=diff - q * se,
        ci_high=diff + q * se,
        rel_lift=np.expm1(log_ratio),
        rel_ci_low=np.expm1(log_ratio - q * se_log),
        rel_ci_high=np.expm1(log_ratio + q * se_log),
        variance_unadjusted=var_unadj,
        variance_reduction=reduction,
        alpha=float(alpha),
        method=label,
    )


def _quad(w: np.ndarray, d: np.ndarray) -> np.ndarray:
    return np.sum(d * np.linalg.solve(w, d[..., None])[..., 0], axis=-1)


def _arrays(s: CupedStats, arm: str) -> tuple[np.ndarray, ...]:
    if not isinstance(s, CupedStats):
        raise ParameterError(f"{arm} must be a CupedStats, got {type(s).__name__}")
    try:
        n, tot, sq, sx, sxx, sxy = (np.asarray(a, dtype=float) for a in _fields(s))
    except (TypeError, ValueError) as exc:
        raise DataError(f"{arm} statistics must be numeric: {exc}") from exc
    if sx.ndim < 1 or sxy.shape != sx.shape or sxx.shape != (*sx.shape, sx.shape[-1]):
        raise ParameterError(
            f"{arm}: sum_x must be (..., k), sum_xy (..., k) and sum_xx (..., k, k); "
            f"got {sx.shape}, {sxy.shape}, {sxx.shape}"
        )
    shape = sx.shape[:-1]
    try:
        n, tot, sq = (np.broadcast_to(a, shape).astype(float) for a in (n, tot, sq))
    except ValueError as exc:
        raise ParameterError(f"{arm}: n, sum and sum_sq must have the row shape {shape}") from exc
    return n, tot, sq, sx, sxx, sxy


def _names(covariates: Sequence[str] | None, k: int) -> tuple[str, ...]:
    if covariates is None:
        return tuple(f"x{j + 1}" for j in range(k))
    names = tuple(str(c) for c in ([covariates] if isinstance(covariates, str) else covariates))
    if len(names) != k:
        raise ParameterError(f"covariates names {len(names)} column(s) {names} but the statistics hold {k}")
    return names


def _check_finite(arm: str, arrays: tuple[np.ndarray, ...], names: tuple[str, ...]) -> None:
    n, tot, sq, sx, sxx, sxy = arrays
    for label, a in ((f"n_{arm}", n), (f"sum_{arm}", tot), (f"sum_sq_{arm}", sq)):
        if not np.all(np.isfinite(a)):
            raise DataError(f"{label} holds NaN/infinite values; the outcome must be complete")
    for j, name in enumerate(names):
        parts = (sx[..., j], sxy[..., j], sxx[..., j, :], sxx[..., :, j])
        if not all(np.all(np.isfinite(p)) for p in parts):
            raise DataError(
                f"covariate {name!r} has NaN/infinite values in the {arm} statistics; "
                "fill missing pre-period values (e.g. 0 purchases) or drop the covariate"
            )


def _check_design(w: np.ndarray, raw: np.ndarray, names: tuple[str, ...]) -> None:
    diag = np.diagonal(w, axis1=-2, axis2=-1)
    scale = np.diagonal(raw, axis1=-2, axis2=-1)
    const = diag <= 1e-10 * np.maximum(scale, np.finfo(float).tiny)
    for j, name in enumerate(names):
        bad = const[..., j]
        if np.any(bad):
            rows = np.flatnonzero(np.atleast_1d(bad))[:5].tolist()
            raise DataError(
                f"covariate {name!r} is constant within arms (zero variance) in row(s) {rows}; "
                "it cannot adjust anything: drop it"
            )
    d = 1.0 / np.sqrt(diag)
    corr = w * d[..., :, None] * d[..., None, :]
    eig = np.linalg.eigvalsh(corr)
    if np.any(eig[..., 0] < 1e-10):
        raise DataError(f"covariates {list(names)} are collinear (one is a combination of others); drop one")


@dataclass(frozen=True)
class PostStratified:
    """Post-stratified comparison over strata, one element per row (the strata axis is reduced).

    ``control_mean``/``variant_mean`` are the stratum-weighted arm means, ``difference`` their
    difference with ``variance``; ``rel_lift`` the ratio of weighted means minus 1 with the
    delta-method variance of its log, ``rel_log_variance``; ``weights`` the stratum shares.
    """

    control_mean: np.ndarray
    variant_mean: np.ndarray
    control_var: np.ndarray
    variant_var: np.ndarray
    difference: np.ndarray
    variance: np.ndarray
    rel_lift: np.ndarray
    rel_log_variance: np.ndarray
    weights: np.ndarray
    method: str = "post-stratification, weights = total stratum shares, variance conditional on sizes"


def poststratified_difference(
    n_control: Any,
    sum_control: Any,
    sum_sq_control: Any,
    n_variant: Any,
    sum_variant: Any,
    sum_sq_variant: Any,
    *,
    stratum_sizes: Any = None,
    axis: int = -1,
) -> PostStratified:
    """Combine per-stratum comparisons into one post-stratified estimate (the pooled ``"all"`` row).

    Inputs are per-stratum sufficient statistics along ``axis`` (for proportions ``sum_sq ==
    sum``). Weights are the strata's shares of all units: ``stratum_sizes`` (e.g. every arm's
    units in the stratum, when there are more than two arms) or by default ``n_control +
    n_variant``. Each arm's mean is ``sum_s w_s mean_s`` with variance ``sum_s w_s² s²_s / n_s``
    (sample variance, divisor ``n_s - 1``), the difference's variance is their sum.

    >>> r = poststratified_difference([100, 300], [10, 60], [10, 60], [100, 300], [20, 60], [20, 60])
    >>> round(float(r.difference), 4), [round(float(w), 2) for w in r.weights]
    (0.025, [0.25, 0.75])
    """
    arrays = []
    for label, value in (
        ("n_control", n_control),
        ("sum_control", sum_control),
        ("sum_sq_control", sum_sq_control),
        ("n_variant", n_variant),
        ("sum_variant", sum_variant),
        ("sum_sq_variant", sum_sq_variant),
    ):
        a = np.asarray(value, dtype=float)
        if not np.all(np.isfinite(a)):
            raise DataError(f"{label} holds NaN/infinite values; pass complete per-stratum statistics")
        arrays.append(a)
    try:
        arrays = list(np.broadcast_arrays(*arrays))
    except ValueError as exc:
        raise ParameterError(f"per-stratum statistics do not have matching shapes: {exc}") from exc
    n_c, s_c, q_c, n_v, s_v, q_v = (np.moveaxis(a, axis, -1) for a in arrays)
    for label, n in (("n_control", n_c), ("n_variant", n_v)):
        if np.any(n < 2):
            raise DataError(f"{label} must be at least 2 units in every stratum, got min {n.min():g}")
    if stratum_sizes is None:
        sizes = n_c + n_v
    else:
        sizes = np.moveaxis(
            np.broadcast_to(np.asarray(stratum_sizes, dtype=float), arrays[0].shape), axis, -1
        )
        if not np.all(np.isfinite(sizes)) or np.any(sizes <= 0):
            raise DataError(f"stratum_sizes must be positive and finite, got {stratum_sizes!r}")
    weights = sizes / sizes.sum(axis=-1, keepdims=True)

    def arm(n: np.ndarray, s: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean = s / n
        s2 = np.maximum(q - s * mean, 0.0) / (n - 1.0)
        return np.sum(weights * mean, axis=-1), np.sum(weights**2 * s2 / n, axis=-1)

    m_c, v_c = arm(n_c, s_c, q_c)
    m_v, v_v = arm(n_v, s_v, q_v)
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = (m_c > 0) & (m_v > 0)
        rel = np.where(ok, m_v / m_c - 1.0, np.nan)
        rel_var = np.where(ok, v_v / m_v**2 + v_c / m_c**2, np.nan)
    return PostStratified(
        control_mean=m_c,
        variant_mean=m_v,
        control_var=v_c,
        variant_var=v_v,
        difference=m_v - m_c,
        variance=v_c + v_v,
        rel_lift=rel,
        rel_log_variance=rel_var,
        weights=weights,
    )
