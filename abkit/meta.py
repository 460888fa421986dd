"""Random-effects meta-analysis: pool one effect measured in several waves (pure numpy/scipy).

:func:`random_effects` combines estimates ``y_i`` with known sampling variances ``v_i`` under the
model ``y_i = mu + u_i + e_i``, ``u_i ~ N(0, tau²)``, ``e_i ~ N(0, v_i)``:

* ``method="dl"``: DerSimonian–Laird moment estimator of ``tau²`` (DerSimonian and Laird 1986),
  the same numbers as ``statsmodels.stats.meta_analysis.combine_effects(..., method_re="chi2")``;
* ``method="reml"``: restricted maximum likelihood by Fisher scoring (Viechtbauer 2005), as R's
  ``metafor::rma(method="REML")``.

The pooled estimate weights each wave by ``1 / (v_i + tau²)``; its interval is the normal one.
Heterogeneity: Cochran's ``Q`` (with the fixed-effect weights, ``k - 1`` degrees of freedom) and
its chi-square p-value, and ``I²`` (a fraction) as in metafor, ``tau² / (tau² + s²)`` with the
typical within-wave variance ``s² = (k - 1) Σw / ((Σw)² - Σw²)``; for DerSimonian–Laird this is
``max(0, (Q - (k - 1)) / Q)``. One wave: the pooled value is that wave's, ``tau²``, ``I²`` and the
Q p-value are NaN (not estimable), never a made-up zero.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

from abkit.errors import ParameterError

__all__ = ["META_METHODS", "MetaResult", "random_effects"]

#: Estimators of the between-wave variance tau² and the names they carry in result tables.
META_METHODS: dict[str, str] = {
    "dl": "random effects (DerSimonian-Laird)",
    "reml": "random effects (REML)",
}


@dataclass(frozen=True)
class MetaResult:
    """A pooled random-effects estimate with its heterogeneity statistics."""

    method: str
    k: int
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    tau2: float
    i2: float
    q: float
    q_df: int
    q_p_value: float
    converged: bool = True

    def to_dict(self) -> dict[str, float | int | str | bool]:
        """The fields as a plain dict (one row of a learnings table)."""
        return asdict(self)


def _check(effect: object, variance: object) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(effect, dtype=float).ravel()
    v = np.asarray(variance, dtype=float).ravel()
    if y.size == 0:
        raise ParameterError("effect is empty; pass at least one estimate")
    if y.shape != v.shape:
        raise ParameterError(f"effect has {y.size} values but variance has {v.size}; pass one variance each")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(v))):
        raise ParameterError(
            "effect and variance must be finite numbers (drop the waves that are not estimable)"
        )
    if np.any(v <= 0):
        raise ParameterError(f"variance must be positive, got {float(v.min())!r}")
    return y, v


def _tau2_dl(y: np.ndarray, v: np.ndarray) -> float:
    w = 1.0 / v
    mu = np.sum(w * y) / np.sum(w)
    q = float(np.sum(w * (y - mu) ** 2))
    c = float(np.sum(w) - np.sum(w**2) / np.sum(w))
    return max(0.0, (q - (y.size - 1)) / c) if c > 0 else 0.0


def _tau2_reml(
    y: np.ndarray, v: np.ndarray, *, tol: float = 1e-12, max_iter: int = 1000
) -> tuple[float, bool]:
    tau2 = _tau2_dl(y, v)  # starting value; REML's fixed point does not depend on it
    for _ in range(max_iter):
        w = 1.0 / (v + tau2)
        sw = np.sum(w)
        mu = np.sum(w * y) / sw
        r = y - mu
        # P = W - w w' / sum(w): Py = w * r; tr(P) = sum(w) - sum(w²)/sum(w); tr(PP) as below
        py = w * r
        tr_p = sw - np.sum(w**2) / sw
        tr_pp = np.sum(w**2) - 2 * np.sum(w**3) / sw + (np.sum(w**2) / sw) ** 2
        step = (float(py @ py) - tr_p) / tr_pp
        new = tau2 + step
        while new < 0:  # step halving keeps tau² in [0, inf)
            step /= 2
            new = tau2 + step
            if abs(step) < tol:
                new = 0.0
                break
        if abs(new - tau2) < tol * max(1.0, tau2):
            return float(new), True
        tau2 = new
    return float(tau2), False


def random_effects(
    effect: object, variance: object, *, method: str = "reml", alpha: float = 0.05
) -> MetaResult:
    """Pool estimates ``effect`` with sampling variances ``variance`` by random-effects meta-analysis.

    >>> r = random_effects([0.02, 0.03, 0.05], [1e-4, 2e-4, 1e-4], method="dl")
    >>> r.method, r.k, round(r.estimate, 4), round(r.tau2, 6), round(r.i2, 3)
    ('random effects (DerSimonian-Laird)', 3, 0.0337, 0.000163, 0.565)
    """
    if method not in META_METHODS:
        raise ParameterError(f"method={method!r} is not known; use 'reml' or 'dl'")
    if not 0 < alpha < 1:
        raise ParameterError(f"alpha={alpha!r} must be between 0 and 1, e.g. 0.05")
    y, v = _check(effect, variance)
    k = int(y.size)
    w_fe = 1.0 / v
    mu_fe = float(np.sum(w_fe * y) / np.sum(w_fe))
    q = float(np.sum(w_fe * (y - mu_fe) ** 2))
    converged = True
    if k == 1:
        tau2 = i2 = q_p = float("nan")
        tau_used = 0.0
    else:
        if method == "dl":
            tau2 = _tau2_dl(y, v)
        else:
            tau2, converged = _tau2_reml(y, v)
        tau_used = tau2
        s2 = (k - 1) * np.sum(w_fe) / (np.sum(w_fe) ** 2 - np.sum(w_fe**2))
        i2 = float(tau2 / (tau2 + s2))
        q_p = float(stats.chi2.sf(q, k - 1))
    w = 1.0 / (v + tau_used)
    estimate = float(np.sum(w * y) / np.sum(w))
    se = float(np.sqrt(1.0 / np.sum(w)))
    z = float(stats.norm.ppf(1 - alpha / 2))
    p_value = float(2 * stats.norm.sf(abs(estimate / se)))
    return MetaResult(
        method=META_METHODS[method],
        k=k,
        estimate=estimate,
        se=se,
        ci_low=estimate - z * se,
        ci_high=estimate + z * se,
        p_value=p_value,
        tau2=tau2,
        i2=i2,
        q=q,
        q_df=k - 1,
        q_p_value=q_p,
        converged=converged,
    )
