"""Inverse-propensity weighting: Hájek arm means from weighted sums, and IPW / AIPW policy scores.

A targeted wave (``TargetingPlan.assign``, ``abkit.assign`` with per-cell weights) gives each
customer a known probability ``e`` of the arm they got, and those probabilities differ from cell to
cell. Pooling such a wave by plain arm means mixes the cells with different weights in each arm, so
the difference is biased whenever the effect differs by cell. Weighting each customer by ``1 / e``
restores the population's cell mix in every arm.

* :func:`hajek_means`: the Hájek (ratio) estimator of each arm's mean, ``sum(w y) / sum(w)`` with
  ``w = 1 / e``, and its linearised variance ``n / (n - 1) * sum w² (y - m)² / (sum w)²``, from the
  weighted sufficient statistics ``n, sum w, sum w², sum w y, sum w² y, sum w² y²`` of the arm.
  With ``e`` constant in the arm it is the plain mean with the plain ``s² / n``; with ``e`` constant
  in each cell (and the cell's arm counts at their expected values) it is the post-stratified mean
  over the cells, i.e. AIPW on cell means.
* :func:`propensities_vary`: whether an arm's propensities are not all equal (then weighting
  changes the estimate; otherwise the plain or post-stratified comparison is already unbiased).
* :func:`policy_scores`: per-customer Horvitz-Thompson (IPW) and AIPW-on-cell-means scores of a
  policy against no contact (``abkit.targeting.value_of``).

Pure numpy; used by :mod:`abkit.evaluation` (the pooled row of a targeted wave) and
:mod:`abkit.targeting` (valuing a policy).

>>> m, v = hajek_means(n=3, sum_w=6.0, sum_w2=12.0, sum_wy=12.0, sum_w2y=24.0, sum_w2y2=80.0)
>>> float(m), round(float(v), 4)  # e = 0.5 for all three customers: the plain mean of 0, 2, 4
(2.0, 1.3333)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from abkit.errors import DataError

__all__ = [
    "HAJEK_METHOD",
    "WEIGHTED_COLUMNS",
    "hajek_means",
    "hajek_rows",
    "policy_scores",
    "propensities_vary",
]

#: Name of the estimator, as written in a result row's ``method``.
HAJEK_METHOD = "inverse-propensity weighted (Hájek) arm means, normal approximation"
#: Weighted sufficient statistics per (segment, arm) with ``w = 1 / propensity``: the first two are
#: shared by every metric, the last three are per metric (``y`` the metric's value).
WEIGHTED_COLUMNS: tuple[str, ...] = ("sum_w", "sum_w2", "sum_wy", "sum_w2y", "sum_w2y2")
_RTOL = 1e-9


def propensities_vary(n: Any, sum_w: Any, sum_w2: Any) -> np.ndarray:
    """True where the weights ``1 / e`` of a group are not all equal (relative tolerance 1e-9).

    >>> propensities_vary([2, 2], [4.0, 3.0], [8.0, 5.0]).tolist()  # (2, 2) and (1, 2)
    [False, True]
    """
    n, sw, sw2 = (np.asarray(x, dtype=float) for x in (n, sum_w, sum_w2))
    # n * sum w² - (sum w)² = n² Var(w) >= 0, zero exactly when every weight is the same
    spread = n * sw2 - sw * sw
    return (n >= 2) & (spread > _RTOL * sw * sw)


def hajek_means(
    n: Any, sum_w: Any, sum_w2: Any, sum_wy: Any, sum_w2y: Any, sum_w2y2: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Hájek mean ``sum(w y) / sum(w)`` of each group and its linearised variance (vectorised).

    Variance: ``n / (n - 1) * sum w² (y - m)² / (sum w)²`` (the sandwich variance of the ratio,
    with the small-sample factor that makes it ``s² / n`` when every weight is the same).

    >>> m, v = hajek_means(4, 4 + 4 + 2 + 2, 32.0 + 8, 4 + 2, 16.0 + 4, 16.0 + 4)  # y = 1, 0, 1, 0
    >>> round(float(m), 4)  # e = 0.25 for the first two, 0.5 for the last two
    0.5
    """
    n, sw, sw2, swy, sw2y, sw2y2 = (
        np.asarray(x, dtype=float) for x in (n, sum_w, sum_w2, sum_wy, sum_w2y, sum_w2y2)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = swy / sw
        resid = np.maximum(sw2y2 - 2.0 * mean * sw2y + mean * mean * sw2, 0.0)
        var = n / (n - 1.0) * resid / (sw * sw)
    return mean, var


def policy_scores(y: Any, cell: Any, arm: Any, propensity: Any, policy: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer IPW (Horvitz-Thompson) and AIPW scores of ``policy`` minus no contact (arm 0).

    ``cell`` and ``arm`` are integer codes (arm 0: no contact), ``policy`` a (cells x arms) array
    of shares. IPW: ``y (pi(A|cell) - [A = 0]) / e``. AIPW: the wave's cell-arm means as outcome
    model plus the weighted residual; with propensities constant in a cell it is the
    post-stratified difference. Means of the scores are the estimates, their standard deviations
    over ``sqrt(n)`` the standard errors. A (cell, arm) the policy needs without customers raises
    :class:`~abkit.errors.DataError`.

    >>> ipw, aipw = policy_scores([10.0, 0.0, 5.0, 0.0], [0, 0, 0, 0], [1, 1, 0, 0], [0.5] * 4,
    ...                           [[0.0, 1.0]])
    >>> float(ipw.mean()), float(aipw.mean())  # (10 + 0) / 2 - (5 + 0) / 2
    (2.5, 2.5)
    """
    y = np.asarray(y, dtype=float)
    cell = np.asarray(cell, dtype=np.int64)
    arm = np.asarray(arm, dtype=np.int64)
    e = np.asarray(propensity, dtype=float)
    pi = np.asarray(policy, dtype=float)
    c, a = pi.shape
    weight = (pi[cell, arm] - (arm == 0)) / e  # the policy's weight minus no contact's
    ipw = y * weight
    n_ca = np.bincount(cell * a + arm, minlength=c * a).reshape(c, a)
    s_ca = np.bincount(cell * a + arm, weights=y, minlength=c * a).reshape(c, a)
    needed = (pi - np.eye(a)[0][None, :]) != 0
    empty = needed & (n_ca == 0)
    if empty.any():
        i, j = np.argwhere(empty)[0]
        raise DataError(
            f"cell {int(i)} has no customer in arm {int(j)}, which the policy needs; AIPW cannot value it "
            "(assign with exploration)"
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        mu = np.where(n_ca > 0, s_ca / np.maximum(n_ca, 1), 0.0)
    direct = (pi * mu).sum(axis=1) - mu[:, 0]
    aipw = direct[cell] + (y - mu[cell, arm]) * weight
    return ipw, aipw


def hajek_rows(grid: Any) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Which comparisons need weighting, and their Hájek arm means, from (segments, arms) sums.

    ``grid`` maps ``"n"`` and the :data:`WEIGHTED_COLUMNS` to (segments, arms) arrays, the control in
    column 0. Rows are segment-major, one per (segment, variant) as in an evaluation table. A row
    needs weighting when the propensities of its control or its variant vary within the segment
    (a targeted wave whose cells are not the segments); otherwise its plain (or post-stratified)
    comparison is already unbiased. Returns the mask and ``(m_c, m_v, var_c, var_v)`` per row.

    >>> g = {"n": np.array([[2.0, 2.0]]), "sum_w": np.array([[4.0, 3.0]]),
    ...      "sum_w2": np.array([[8.0, 5.0]]), "sum_wy": np.array([[2.0, 2.0]]),
    ...      "sum_w2y": np.array([[4.0, 4.0]]), "sum_w2y2": np.array([[4.0, 4.0]])}
    >>> mask, (m_c, m_v, _, _) = hajek_rows(g)  # variant: y = 1 (e = 0.5), y = 0 (e = 1)
    >>> mask.tolist(), float(m_c[0]), round(float(m_v[0]), 4)
    ([True], 0.5, 0.6667)
    """
    n = np.asarray(grid["n"], dtype=float)
    k = n.shape[1]
    vary = propensities_vary(n, grid["sum_w"], grid["sum_w2"])
    mean, var = hajek_means(n, *(grid[c] for c in WEIGHTED_COLUMNS))

    def rows(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.repeat(a[:, 0], k - 1), a[:, 1:].reshape(-1)

    v_c, v_v = rows(vary)
    m_c, m_v = rows(mean)
    var_c, var_v = rows(var)
    return v_c | v_v, (m_c, m_v, var_c, var_v)
