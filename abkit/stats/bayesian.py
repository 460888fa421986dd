"""Bayesian comparisons on sufficient statistics: Beta-Binomial rates and normal-approximation means.

Posteriors (named in each result's ``method`` field):

* Proportions: Beta-Binomial. With a ``Beta(a, b)`` prior (default ``Beta(1, 1)``, uniform) and
  ``x`` successes out of ``n``, each arm's rate has posterior ``Beta(a + x, b + n - x)``.
* Means: normal approximation (as GrowthBook's engine): each arm's mean has likelihood
  ``N(sample mean, s**2 / n)``; with a flat prior (default) that is the posterior, and with a proper
  ``Normal(mu0, sd0)`` prior on each arm's mean the usual precision-weighted update applies.
  The relative credible interval ``V / C - 1`` is given only when both posterior means are more
  than 6 posterior sd above 0 (otherwise the ratio has no usable distribution: NaN).

Decision quantities for a group of arms (one metric in one segment; arm 0 is the control) are
computed by deterministic one-dimensional Gauss–Legendre quadrature, exact to about 1e-9:

* ``prob_best[k] = ∫ f_k(t) Π_{j≠k} F_j(t) dt`` (every arm, the control included);
* ``prob_beat_control[k] = P(arm k > control) = ∫ f_k(t) F_0(t) dt``;
* ``expected_loss[k] = E[max(control - arm k, 0)] = ∫ F_k(t) (1 - F_0(t)) dt``.

The integration panels are the union over arms of each posterior's quantiles at
``Φ(z)`` for ``z`` in -7.5..7.5, with 8 Gauss–Legendre nodes per panel, so narrow and wide
posteriors are both resolved. For Beta posteriors, panels below 0.5 are integrated in ``log t``,
so a shape parameter below 1 (priors such as Jeffreys ``Beta(0.5, 0.5)`` with few successes: a
density unbounded at 0) keeps the same accuracy. Equal-tailed credible intervals of the lift
(``variant - control`` and ``variant / control - 1``) invert the lift's CDF,
``P(V - C <= x) = ∫ f_C(c) F_V(c + x) dc`` (``F_V(c (1 + x))`` for the ratio; for Beta posteriors
and ``x < 0`` the equivalent integral over the variant), computed by the same quadrature, with a
bracketed root finder:
no random numbers, so results never depend on a seed or on the order of arms or rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from scipy import special

from abkit._validate import check_choice

__all__ = [
    "RELATIVE_NORMAL_RULE",
    "GroupSummary",
    "beta_group_summary",
    "beta_posterior",
    "lift_intervals",
    "normal_group_summary",
    "normal_posterior",
]

_Z_LEVELS = np.array(
    [-7.5, -6.0, -5.0, -4.0, -3.0, -2.25, -1.5, -0.75, 0.0, 0.75, 1.5, 2.25, 3.0, 4.0, 5.0, 6.0, 7.5]
)
_GL_X, _GL_W = np.polynomial.legendre.leggauss(8)
# coarser panels for the lift CDFs inside the interval root finder (errors below 1e-7 in probability)
_Z_LIFT = np.array([-7.5, -5.5, -4.0, -2.75, -1.5, -0.5, 0.5, 1.5, 2.75, 4.0, 5.5, 7.5])
_GL6_X, _GL6_W = np.polynomial.legendre.leggauss(6)
_MAX_NEWTON = 100
_REL_SD = 6.0
#: When a relative credible interval of normal posteriors is computed (NaN otherwise).
RELATIVE_NORMAL_RULE = (
    "relative credible interval needs both posterior means more than 6 posterior sd above 0"
)
_CHUNK_NODES = 4_000_000  # (groups x arms x nodes) evaluated at once, to bound memory


class GroupSummary(NamedTuple):
    """Decision quantities for groups of arms; each field has shape (groups, arms), arm 0 the control.

    ``prob_beat_control`` and ``expected_loss`` are NaN for the control column.
    """

    prob_best: np.ndarray
    prob_beat_control: np.ndarray
    expected_loss: np.ndarray


# so that pdoc resolves the annotations of __new__ here (it names "namedtuple_<class>" otherwise)
GroupSummary.__new__.__module__ = __name__


# --------------------------------------------------------------------------------------------------
# posteriors
# --------------------------------------------------------------------------------------------------
def beta_posterior(
    n: np.ndarray, successes: np.ndarray, prior: tuple[float, float] = (1.0, 1.0)
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior ``Beta(a + x, b + n - x)`` parameters of a rate with a ``Beta(a, b)`` prior.

    >>> [float(v) for v in beta_posterior(100, 7)]
    [8.0, 94.0]
    """
    a, b = prior
    x = np.asarray(successes, dtype=float)
    return a + x, b + np.asarray(n, dtype=float) - x


def normal_posterior(
    n: np.ndarray, total: np.ndarray, sum_sq: np.ndarray, prior: tuple[float, float] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mean and standard deviation of an arm's mean under the normal approximation.

    ``prior=None`` is the flat prior: posterior ``N(mean, s**2 / n)`` with ``s**2`` the unbiased
    sample variance. ``prior=(mu0, sd0)`` is a proper ``Normal(mu0, sd0**2)`` prior on the mean.

    >>> m, s = normal_posterior(4, 10.0, 30.0)  # values 1, 2, 3, 4
    >>> float(m), round(float(s), 6)
    (2.5, 0.645497)
    """
    n = np.asarray(n, dtype=float)
    total = np.asarray(total, dtype=float)
    mean = total / n
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.maximum(np.asarray(sum_sq, dtype=float) - total * mean, 0.0) / (n - 1)
        var = np.where(var <= 1e-13 * np.maximum(mean * mean, 1e-300), 0.0, var)
        se2 = var / n
        if prior is None:
            return mean, np.sqrt(se2)
        mu0, sd0 = prior
        precision = 1.0 / se2 + 1.0 / sd0**2
        post_mean = np.where(se2 == 0, mean, (mean / se2 + mu0 / sd0**2) / precision)
        post_sd = np.where(se2 == 0, 0.0, np.sqrt(1.0 / precision))
        return post_mean, post_sd


# --------------------------------------------------------------------------------------------------
# quadrature over a group of posteriors
# --------------------------------------------------------------------------------------------------
_Dist = tuple[
    Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],  # ppf(p1, p2, q)
    Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],  # pdf(p1, p2, x)
    Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],  # cdf(p1, p2, x)
]


def _beta_pdf(a: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    # betaln once per posterior, not once per node (it costs as much as the rest of the density)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_norm = special.betaln(a, b)
        shape = np.broadcast_shapes(np.shape(a), np.shape(b), np.shape(x))
        return np.exp(special.xlogy(a - 1, x) + special.xlog1py(b - 1, -x) - np.broadcast_to(log_norm, shape))


_BETA: _Dist = (special.betaincinv, _beta_pdf, special.betainc)


def _norm_ppf(m: np.ndarray, s: np.ndarray, q: np.ndarray) -> np.ndarray:
    return m + s * special.ndtri(q)


def _norm_pdf(m: np.ndarray, s: np.ndarray, x: np.ndarray) -> np.ndarray:
    z = (x - m) / s
    return np.exp(-0.5 * z * z) / (s * np.sqrt(2 * np.pi))


def _norm_cdf(m: np.ndarray, s: np.ndarray, x: np.ndarray) -> np.ndarray:
    return special.ndtr((x - m) / s)


_NORMAL: _Dist = (_norm_ppf, _norm_pdf, _norm_cdf)


def _panels(
    breaks: np.ndarray, x: np.ndarray, w: np.ndarray, geometric: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes and weights, shape (rows, panels * nodes), over sorted ``breaks``.

    With ``geometric`` (Beta posteriors on (0, 1)), panels in (0, 0.5] are integrated in ``log t``
    (nodes ``t = e^s``, weights times ``t``): a density ``t**(a - 1)`` with ``a < 1`` has an
    integrable singularity at 0 that polynomial rules resolve badly, while ``t**a`` is smooth in
    ``s = log t``. Panels of ordinary posteriors are nearly affine in ``log t``, so nothing is lost.
    """
    left, right = breaks[:, :-1, None], breaks[:, 1:, None]
    half = 0.5 * (right - left)
    nodes = left + half * (x + 1)
    weights = half * w
    if geometric:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_left = np.log(left)
            log_half = 0.5 * (np.log(right) - log_left)
            t = np.exp(log_left + log_half * (x + 1))
            use = (left > 0) & (right <= 0.5)
            nodes = np.where(use, t, nodes)
            weights = np.where(use, np.nan_to_num(log_half * w * t), weights)
    return nodes.reshape(breaks.shape[0], -1), weights.reshape(breaks.shape[0], -1)


def _beta_breaks(breaks: np.ndarray) -> np.ndarray:
    """Beta panel ends: kept above 0 (a quantile of a tiny ``a`` underflows) and split at 0.5."""
    half = np.full((breaks.shape[0], 1), 0.5)
    return np.sort(np.concatenate([np.clip(breaks, 1e-300, 1.0), half], axis=1), axis=1)


def _summary(dist: _Dist, p1: np.ndarray, p2: np.ndarray) -> GroupSummary:
    ppf, pdf, cdf = dist
    p1 = np.atleast_2d(np.asarray(p1, dtype=float))
    p2 = np.atleast_2d(np.asarray(p2, dtype=float))
    g, k = p1.shape
    n_nodes = (k * _Z_LEVELS.size) * _GL_X.size
    step = max(1, _CHUNK_NODES // (k * n_nodes))
    best = np.empty((g, k))
    beat = np.full((g, k), np.nan)
    loss = np.full((g, k), np.nan)
    levels = special.ndtr(_Z_LEVELS)
    geometric = dist is _BETA
    for start in range(0, g, step):
        sl = slice(start, min(g, start + step))
        a, b = p1[sl, :, None], p2[sl, :, None]  # (G, K, 1)
        breaks = np.sort(ppf(a, b, levels).reshape(a.shape[0], -1), axis=1)  # (G, K*L)
        if geometric:
            breaks = _beta_breaks(breaks)
        flat_nodes, weights = _panels(breaks, _GL_X, _GL_W, geometric)  # (G, M)
        nodes = flat_nodes[:, None, :]  # (G, 1, M)
        with np.errstate(invalid="ignore", over="ignore"):
            dens = np.nan_to_num(pdf(a, b, nodes), nan=0.0, posinf=0.0)  # (G, K, M); 0-width panels
        cum = np.clip(cdf(a, b, nodes), 0.0, 1.0)
        for j in range(k):
            others = np.prod(np.delete(cum, j, axis=1), axis=1)
            best[sl, j] = np.sum(weights * dens[:, j] * others, axis=1)
        beat[sl, 1:] = np.sum(weights[:, None] * dens[:, 1:] * cum[:, :1], axis=2)
        loss[sl, 1:] = np.sum(weights[:, None] * cum[:, 1:] * (1.0 - cum[:, :1]), axis=2)
    return GroupSummary(np.clip(best, 0.0, 1.0), np.clip(beat, 0.0, 1.0), np.maximum(loss, 0.0))


def beta_group_summary(a: np.ndarray, b: np.ndarray) -> GroupSummary:
    """``prob_best``, ``prob_beat_control`` and ``expected_loss`` for groups of Beta posteriors.

    ``a`` and ``b`` have shape (groups, arms), column 0 the control (see the module notes for the
    integrals). Accurate to about 1e-9 (tests compare with ``scipy.integrate.quad`` and with the
    closed form for integer parameters).

    >>> s = beta_group_summary([[8.0, 13.0]], [[94.0, 89.0]])
    >>> round(float(s.prob_beat_control[0, 1]), 6), round(float(s.prob_best[0, 0]), 6)
    (0.880827, 0.119173)
    """
    return _summary(_BETA, a, b)


def normal_group_summary(mean: np.ndarray, sd: np.ndarray) -> GroupSummary:
    """The same quantities for groups of normal posteriors ``N(mean, sd**2)`` (sd > 0).

    >>> s = normal_group_summary([[1.0, 1.5]], [[0.3, 0.4]])
    >>> round(float(s.prob_beat_control[0, 1]), 6)  # Φ(0.5 / 0.5)
    0.841345
    """
    mean = np.atleast_2d(np.asarray(mean, dtype=float))
    sd = np.atleast_2d(np.asarray(sd, dtype=float))
    # a zero-variance arm is (nearly) a point mass: give it a negligible width the panels resolve
    scale = np.maximum(np.max(np.abs(mean), axis=1, keepdims=True), np.max(sd, axis=1, keepdims=True))
    return _summary(_NORMAL, mean, np.maximum(sd, 1e-9 * np.maximum(scale, 1e-300)))


# --------------------------------------------------------------------------------------------------
# credible intervals of the lift by quadrature and root finding
# --------------------------------------------------------------------------------------------------
def _lift_cdf(
    dist: _Dist,
    control: tuple[np.ndarray, np.ndarray],
    variant: tuple[np.ndarray, np.ndarray],
    control_breaks: np.ndarray,
    variant_breaks: np.ndarray,
    x: np.ndarray,
    relative: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """CDF of the lift at ``x`` and its derivative, by Gauss–Legendre quadrature.

    Difference: ``P(V - C <= x) = ∫ f_C(c) F_V(c + x) dc``, derivative ``∫ f_C(c) f_V(c + x) dc``;
    for Beta posteriors and ``x < 0`` the same probability is computed over the variant,
    ``∫ f_V(v) (1 - F_C(v - x)) dv`` (derivative ``∫ f_V(v) f_C(v - x) dv``), so that the only
    non-smooth point of the integrand is 0, where the geometric panels of :func:`_panels` resolve a
    density with a shape parameter below 1.
    Ratio, on ``x = log(V / C)``: ``∫ f_C(c) F_V(c e^x) dc``, derivative ``∫ f_C(c) f_V(c e^x) c e^x dc``.
    Panels: the integrated arm's quantile breakpoints and the other arm's moved to its scale, so a
    narrow posterior is resolved whichever arm it belongs to.
    """
    _, pdf, cdf = dist
    beta = dist is _BETA
    flip = (~relative & beta) & (x < 0)
    f = flip[:, None]
    b1 = np.where(flip, variant[0], control[0])[:, None]
    b2 = np.where(flip, variant[1], control[1])[:, None]
    o1 = np.where(flip, control[0], variant[0])[:, None]
    o2 = np.where(flip, control[1], variant[1])[:, None]
    base_breaks = np.where(f, variant_breaks, control_breaks)
    other_breaks = np.where(f, control_breaks, variant_breaks)
    shift = (np.abs(x) if beta else x)[:, None]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        scale = np.exp(x)[:, None] if relative else None
        moved = other_breaks / scale if relative else other_breaks - shift
        moved = np.clip(np.nan_to_num(moved), base_breaks[:, :1], base_breaks[:, -1:])
        breaks = np.sort(np.concatenate([base_breaks, moved], axis=1), axis=1)
        if beta:
            breaks = _beta_breaks(breaks)
        nodes, weights = _panels(breaks, _GL6_X, _GL6_W, beta)
        arg = nodes * scale if relative else nodes + shift
        dens_b = np.nan_to_num(pdf(b1, b2, nodes), nan=0.0, posinf=0.0)
        if beta:
            inside = (arg > 0) & (arg < 1)
            arg = np.clip(arg, 0.0, 1.0)
        else:
            inside = np.ones(arg.shape, dtype=bool)
        dens_o = np.where(inside, np.nan_to_num(pdf(o1, o2, arg), nan=0.0, posinf=0.0), 0.0)
        if relative:
            dens_o = dens_o * arg
        cum_o = np.clip(cdf(o1, o2, arg), 0.0, 1.0)
        wd = weights * dens_b
        return np.sum(wd * np.where(f, 1.0 - cum_o, cum_o), axis=1), np.sum(wd * dens_o, axis=1)


def _newton(
    func: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
    guess: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    target: float,
) -> np.ndarray:
    """Root of an increasing ``F(x) = target`` by Newton steps kept inside a shrinking bracket."""
    x = np.clip(guess, lo, hi)
    lo, hi = lo.copy(), hi.copy()
    out = x.copy()
    active = np.arange(x.size)
    for _ in range(_MAX_NEWTON):
        if active.size == 0:
            break
        value, slope = func(x, active)
        g = value - target
        lo = np.where(g < 0, x, lo)
        hi = np.where(g > 0, x, hi)
        done = (np.abs(g) < 1e-11) | (hi - lo <= 1e-14 * np.maximum(1.0, np.abs(x)))
        out[active[done]] = x[done]
        with np.errstate(divide="ignore", invalid="ignore"):
            step = x - g / slope
        bad = ~np.isfinite(step) | (step <= lo) | (step >= hi)
        step = np.where(bad, 0.5 * (lo + hi), step)
        keep = ~done
        active, x, lo, hi = active[keep], step[keep], lo[keep], hi[keep]
    if active.size:
        out[active] = x
    return out


def lift_intervals(
    family: str,
    control: tuple[np.ndarray, np.ndarray],
    variant: tuple[np.ndarray, np.ndarray],
    *,
    alpha: float = 0.05,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Equal-tailed ``1 - alpha`` credible intervals of ``V - C`` and ``V / C - 1``, deterministic.

    ``family`` is ``"beta"`` (parameters ``a, b``) or ``"normal"`` (``mean, sd``); ``control`` and
    ``variant`` hold parameter arrays of equal length (one row per comparison). Each bound solves
    ``P(lift <= bound) = alpha / 2`` (or ``1 - alpha / 2``) with the CDF of the lift computed by
    Gauss–Legendre quadrature over the control's posterior and a bracketed root finder, so bounds
    are accurate to about 1e-9 in probability. The difference of two normals uses its closed form;
    the relative interval of normal posteriors is NaN unless both posterior means (control and
    variant) are more than 6 posterior sd above 0 (:data:`RELATIVE_NORMAL_RULE`). A normal arm with
    sd 0 (no variance in its data) is a point mass: the intervals are then the other arm's, in
    closed form (NaN only when both sds are 0). Returns
    ``(abs_low, abs_high, rel_low, rel_high)``.

    >>> lo, hi, rlo, rhi = lift_intervals("beta", ([8.0], [94.0]), ([13.0], [89.0]))
    >>> round(float(lo[0]), 4), round(float(hi[0]), 4)
    (-0.0331, 0.1334)
    """
    check_choice("family", family, ["beta", "normal"])
    c1, c2 = (np.atleast_1d(np.asarray(v, dtype=float)) for v in control)
    v1, v2 = (np.atleast_1d(np.asarray(v, dtype=float)) for v in variant)
    dist = _BETA if family == "beta" else _NORMAL
    ppf = dist[0]
    rows = c1.size
    out = np.full((4, rows), np.nan)
    ok = np.isfinite(c1) & np.isfinite(c2) & np.isfinite(v1) & np.isfinite(v2)
    point = np.zeros(rows, dtype=bool)
    if family == "normal":
        # one arm without posterior variance (e.g. no complaint at all in the holdout) is a point
        # mass: the lift's posterior is then the other arm's, shifted (or, for the ratio, scaled)
        ok &= (c2 >= 0) & (v2 >= 0) & ((c2 > 0) | (v2 > 0))
        z = special.ndtri(1 - alpha / 2)
        spread = np.hypot(c2, v2)
        out[0] = np.where(ok, v1 - c1 - z * spread, np.nan)
        out[1] = np.where(ok, v1 - c1 + z * spread, np.nan)
        point = ok & ((c2 == 0) | (v2 == 0))
        with np.errstate(divide="ignore", invalid="ignore"):
            ctrl_point = point & (c2 == 0) & (c1 > 0) & (v1 > _REL_SD * v2)
            out[2] = np.where(ctrl_point, (v1 - z * v2) / c1 - 1, out[2])
            out[3] = np.where(ctrl_point, (v1 + z * v2) / c1 - 1, out[3])
            var_point = point & (v2 == 0) & (v1 > 0) & (c1 > _REL_SD * c2)
            out[2] = np.where(var_point, v1 / (c1 + z * c2) - 1, out[2])
            out[3] = np.where(var_point, v1 / (c1 - z * c2) - 1, out[3])
        ok &= ~point
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return out[0], out[1], out[2], out[3]
    levels = special.ndtr(_Z_LIFT)
    cb = ppf(c1[idx, None], c2[idx, None], levels)
    vb = ppf(v1[idx, None], v2[idx, None], levels)
    ctrl, var = (c1[idx], c2[idx]), (v1[idx], v2[idx])
    if family == "beta":
        mean_c, mean_v = ctrl[0] / (ctrl[0] + ctrl[1]), var[0] / (var[0] + var[1])
        var_c = mean_c * (1 - mean_c) / (ctrl[0] + ctrl[1] + 1)
        var_v = mean_v * (1 - mean_v) / (var[0] + var[1] + 1)
    else:
        mean_c, mean_v, var_c, var_v = ctrl[0], var[0], ctrl[1] ** 2, var[1] ** 2

    def solve(
        relative: bool,
        target: float,
        guess: np.ndarray,
        full: tuple[np.ndarray, np.ndarray],
        sub: np.ndarray,
    ) -> np.ndarray:
        # relative bounds are searched on s = log(1 + r), where the bracket is narrow
        def cdf_and_slope(x: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            rr = sub[r]
            return _lift_cdf(
                dist, (ctrl[0][rr], ctrl[1][rr]), (var[0][rr], var[1][rr]), cb[rr], vb[rr], x, relative
            )

        root = _newton(cdf_and_slope, guess, full[0], full[1], target)
        return np.expm1(root) if relative else root

    everything = np.arange(idx.size)
    q_lo, q_hi = special.ndtri(alpha / 2), special.ndtri(1 - alpha / 2)
    # full brackets from the extreme quantiles (probability outside them is below 1e-13)
    if family == "beta":
        full = (vb[:, 0] - cb[:, -1], vb[:, -1] - cb[:, 0])
        mu, sd = mean_v - mean_c, np.sqrt(var_c + var_v)
        out[0, idx] = solve(False, alpha / 2, mu + q_lo * sd, full, everything)
        out[1, idx] = solve(False, 1 - alpha / 2, mu + q_hi * sd, full, everything)
        rel_rows = everything
    else:
        # V / C - 1 is solved on log(V / C): both posteriors must put (practically) no mass at or
        # below 0, else the log-scale search truncates the interval at -100% (RELATIVE_NORMAL_RULE)
        rel_rows = np.flatnonzero((ctrl[0] > _REL_SD * ctrl[1]) & (var[0] > _REL_SD * var[1]))
    if rel_rows.size:
        r = rel_rows
        with np.errstate(divide="ignore", invalid="ignore"):
            s_full = (
                np.log(np.maximum(vb[r, 0], 1e-300) / cb[r, -1]),
                np.log(vb[r, -1] / np.maximum(cb[r, 0], 1e-300)),
            )
            mu = np.log(mean_v[r] / mean_c[r])
            sd = np.sqrt(var_v[r] / mean_v[r] ** 2 + var_c[r] / mean_c[r] ** 2)
        mu, sd = np.nan_to_num(mu), np.nan_to_num(sd, nan=1.0)
        out[2, idx[r]] = solve(True, alpha / 2, mu + q_lo * sd, s_full, r)
        out[3, idx[r]] = solve(True, 1 - alpha / 2, mu + q_hi * sd, s_full, r)
    return out[0], out[1], out[2], out[3]
