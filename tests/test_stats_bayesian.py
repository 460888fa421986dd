"""Tests of abkit.stats.bayesian against exact integration (scipy.integrate.quad) and closed forms."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, special, stats

from abkit.errors import ParameterError
from abkit.stats import (
    bayesian,
    beta_group_summary,
    beta_posterior,
    lift_intervals,
    normal_group_summary,
    normal_posterior,
)
from abkit.stats.bayesian import RELATIVE_NORMAL_RULE

LEVELS = [1e-8, 1e-4, 0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99, 1 - 1e-4, 1 - 1e-8]


def _points(*dists: stats.rv_continuous) -> list[float]:
    pts = sorted({float(v) for d in dists for v in d.ppf(LEVELS)})
    return pts


def _quad(func, dists) -> float:  # type: ignore[no-untyped-def]
    lo = min(float(d.ppf(1e-15)) for d in dists)
    hi = max(float(d.isf(1e-15)) for d in dists)
    pts = [p for p in _points(*dists) if lo < p < hi]
    return integrate.quad(func, lo, hi, points=pts, epsabs=1e-13, epsrel=1e-12, limit=1000)[0]


def _evan_miller(a_c: int, b_c: int, a_v: int, b_v: int) -> float:
    """P(V > C) for V ~ Beta(a_v, b_v), C ~ Beta(a_c, b_c), integer a_v (Evan Miller's closed form)."""
    i = np.arange(a_v)
    terms = (
        special.betaln(a_c + i, b_c + b_v)
        - np.log(b_v + i)
        - special.betaln(1 + i, b_v)
        - special.betaln(a_c, b_c)
    )
    return float(np.sum(np.exp(terms)))


BETA_CASES = [
    (1, 1, 1, 1),
    (8, 94, 13, 89),
    (31, 971, 45, 957),
    (2, 3, 500, 20000),
    (301, 9701, 331, 9671),
    (5, 200000, 30, 20),
    (1, 1001, 1, 6),
    (1, 1, 3000, 5),
    (1201, 40001, 1251, 39951),
]


@pytest.mark.parametrize(("a_c", "b_c", "a_v", "b_v"), BETA_CASES)
def test_prob_beat_control_equals_closed_form_and_quad(a_c: int, b_c: int, a_v: int, b_v: int) -> None:
    s = beta_group_summary([[a_c, a_v]], [[b_c, b_v]])
    control, variant = stats.beta(a_c, b_c), stats.beta(a_v, b_v)
    assert s.prob_beat_control[0, 1] == pytest.approx(_evan_miller(a_c, b_c, a_v, b_v), abs=1e-8)
    ref = _quad(lambda t: variant.pdf(t) * control.cdf(t), [control, variant])
    assert s.prob_beat_control[0, 1] == pytest.approx(ref, abs=1e-8)
    # two arms: the variant is best exactly when it beats the control
    assert s.prob_best[0, 1] == pytest.approx(ref, abs=1e-8)
    assert s.prob_best[0].sum() == pytest.approx(1.0, abs=1e-8)
    assert np.isnan(s.prob_beat_control[0, 0]) and np.isnan(s.expected_loss[0, 0])


@pytest.mark.parametrize(
    ("a_c", "b_c", "a_v", "b_v"), [*BETA_CASES, (0.5, 0.5, 0.5, 120.5), (0.5, 1e6, 2.5, 4e5)]
)
def test_expected_loss_equals_double_integral(a_c: float, b_c: float, a_v: float, b_v: float) -> None:
    # E[max(C - V, 0)] = ∫ f_C(c) (c F_V(c) - E[V] F_{Beta(a_v + 1, b_v)}(c)) dc, a different formula
    # from the one abkit integrates.
    s = beta_group_summary([[a_c, a_v]], [[b_c, b_v]])
    control, variant = stats.beta(a_c, b_c), stats.beta(a_v, b_v)
    shifted = stats.beta(a_v + 1, b_v)
    mean_v = a_v / (a_v + b_v)

    def g(c: float) -> float:  # E[max(c - V, 0)] for a fixed control value c
        return float(c * variant.cdf(c) - mean_v * shifted.cdf(c))

    # E_C[g(C)] = ∫_0^1 g(F_C^-1(u)) du: the quantile scale removes the density's singularities;
    # the upper half is integrated through the survival function to keep its tail precise.
    cut = [float(x) for x in control.cdf(variant.ppf(LEVELS))] + LEVELS
    low_pts = sorted({x for x in cut if 0 < x < 0.5})
    high_pts = sorted({1 - x for x in cut if 0.5 < x < 1})
    opts = {"epsabs": 1e-13, "epsrel": 1e-11, "limit": 1000}
    ref = integrate.quad(lambda u: g(control.ppf(u)), 0, 0.5, points=low_pts, **opts)[0]
    ref += integrate.quad(lambda w: g(control.isf(w)), 0, 0.5, points=high_pts, **opts)[0]
    scale = float(np.sqrt(control.var() + variant.var()))
    assert s.expected_loss[0, 1] == pytest.approx(ref, abs=1e-6 * scale)


def test_prob_best_of_four_arms_equals_quad() -> None:
    a = np.array([[31.0, 45.0, 38.0, 3.0]])
    b = np.array([[971.0, 957.0, 964.0, 60.0]])
    s = beta_group_summary(a, b)
    dists = [stats.beta(x, y) for x, y in zip(a[0], b[0], strict=True)]
    for k, dist in enumerate(dists):
        others = [d for j, d in enumerate(dists) if j != k]

        def integrand(t: float, dist: stats.rv_continuous = dist, others: list = others) -> float:
            return float(dist.pdf(t) * np.prod([o.cdf(t) for o in others]))

        assert s.prob_best[0, k] == pytest.approx(_quad(integrand, dists), abs=1e-8)
    assert s.prob_best.sum() == pytest.approx(1.0, abs=1e-8)


def test_group_summary_is_vectorised_and_order_invariant() -> None:
    a = np.array([[31.0, 45.0, 38.0], [8.0, 13.0, 9.0]])
    b = np.array([[971.0, 957.0, 964.0], [94.0, 89.0, 93.0]])
    s = beta_group_summary(a, b)
    single = beta_group_summary(a[1:], b[1:])
    assert np.allclose(s.prob_best[1], single.prob_best[0], rtol=0, atol=1e-15)
    swapped = beta_group_summary(a[:, [0, 2, 1]], b[:, [0, 2, 1]])
    assert np.allclose(swapped.prob_best, s.prob_best[:, [0, 2, 1]], atol=1e-12)
    assert np.allclose(swapped.prob_beat_control[:, 1:], s.prob_beat_control[:, [2, 1]], atol=1e-12)


def test_beta_posterior_with_prior() -> None:
    a, b = beta_posterior(np.array([100, 50]), np.array([7, 0]), prior=(0.5, 0.5))
    assert a.tolist() == [7.5, 0.5] and b.tolist() == [93.5, 50.5]


# ------------------------------------------------------------------------------------------------
# normal approximation
# ------------------------------------------------------------------------------------------------
def test_normal_summary_equals_closed_forms() -> None:
    mean = np.array([[10.0, 10.6, 9.0]])
    sd = np.array([[0.4, 0.3, 1.2]])
    s = normal_group_summary(mean, sd)
    for k in (1, 2):
        d_mean, d_sd = mean[0, k] - mean[0, 0], np.hypot(sd[0, k], sd[0, 0])
        assert s.prob_beat_control[0, k] == pytest.approx(stats.norm.cdf(d_mean / d_sd), abs=1e-9)
        # E[max(C - V, 0)] with C - V ~ N(-d_mean, d_sd^2)
        m = -d_mean
        ref = m * stats.norm.cdf(m / d_sd) + d_sd * stats.norm.pdf(m / d_sd)
        assert s.expected_loss[0, k] == pytest.approx(ref, abs=1e-9)
    dists = [stats.norm(m, v) for m, v in zip(mean[0], sd[0], strict=True)]
    for k, dist in enumerate(dists):
        others = [d for j, d in enumerate(dists) if j != k]
        ref = _quad(
            lambda t, dist=dist, others=others: dist.pdf(t) * np.prod([o.cdf(t) for o in others]), dists
        )
        assert s.prob_best[0, k] == pytest.approx(ref, abs=1e-9)


def test_normal_posterior_flat_and_proper_prior() -> None:
    values = np.array([12.0, 0.0, 3.5, 8.0, 0.0, 20.0])
    n, total, sq = values.size, values.sum(), (values**2).sum()
    m, s = normal_posterior(n, total, sq)
    assert m == pytest.approx(values.mean())
    assert s == pytest.approx(values.std(ddof=1) / np.sqrt(n))
    mu0, sd0 = 5.0, 2.0
    m2, s2 = normal_posterior(n, total, sq, prior=(mu0, sd0))
    prec = 1 / s**2 + 1 / sd0**2
    assert s2 == pytest.approx(np.sqrt(1 / prec))
    assert m2 == pytest.approx((m / s**2 + mu0 / sd0**2) / prec)


# ------------------------------------------------------------------------------------------------
# credible intervals by quadrature
# ------------------------------------------------------------------------------------------------
def test_lift_intervals_are_deterministic_and_order_free() -> None:
    control = (np.array([31.0, 8.0, 1.0]), np.array([971.0, 94.0, 2001.0]))
    variant = (np.array([45.0, 13.0, 4.0]), np.array([957.0, 89.0, 1998.0]))
    first = lift_intervals("beta", control, variant)
    again = lift_intervals("beta", control, variant)
    assert all(np.array_equal(x, y) for x, y in zip(first, again, strict=True))
    reversed_rows = lift_intervals("beta", tuple(v[::-1] for v in control), tuple(v[::-1] for v in variant))
    assert all(
        np.allclose(x, y[::-1], rtol=1e-9, atol=1e-12) for x, y in zip(first, reversed_rows, strict=True)
    )
    single = lift_intervals("beta", (control[0][1:2], control[1][1:2]), (variant[0][1:2], variant[1][1:2]))
    assert all(np.allclose(x[1], y[0], rtol=1e-9, atol=1e-12) for x, y in zip(first, single, strict=True))


@pytest.mark.parametrize(("a_c", "b_c", "a_v", "b_v"), BETA_CASES[1:])
def test_lift_interval_tails_match_exact_integration(a_c: float, b_c: float, a_v: float, b_v: float) -> None:
    lo, hi, rlo, rhi = lift_intervals("beta", ([a_c], [b_c]), ([a_v], [b_v]), alpha=0.1)
    control, variant = stats.beta(a_c, b_c), stats.beta(a_v, b_v)

    def over_control(func) -> float:  # type: ignore[no-untyped-def]
        # E_C[func(C)] on the control's quantile scale, split at the median for precise tails
        opts = {"epsabs": 1e-13, "epsrel": 1e-11, "limit": 1000}
        cut = [float(x) for x in control.cdf(variant.ppf(LEVELS))] + LEVELS
        low = sorted({x for x in cut if 0 < x < 0.5})
        high = sorted({1 - x for x in cut if 0.5 < x < 1})
        total = integrate.quad(lambda u: func(control.ppf(u)), 0, 0.5, points=low, **opts)[0]
        return total + integrate.quad(lambda w: func(control.isf(w)), 0, 0.5, points=high, **opts)[0]

    assert over_control(lambda c: variant.cdf(c + lo[0])) == pytest.approx(0.05, abs=1e-8)
    assert over_control(lambda c: variant.cdf(c + hi[0])) == pytest.approx(0.95, abs=1e-8)
    assert over_control(lambda c: variant.cdf(c * (1 + rlo[0]))) == pytest.approx(0.05, abs=1e-8)
    assert over_control(lambda c: variant.cdf(c * (1 + rhi[0]))) == pytest.approx(0.95, abs=1e-8)


def test_normal_lift_intervals() -> None:
    lo, hi, rlo, rhi = lift_intervals("normal", ([10.0, 0.1], [0.4, 0.3]), ([10.6, 0.2], [0.3, 0.3]))
    sd = np.hypot(0.4, 0.3)
    z = stats.norm.ppf(0.975)
    assert lo[0] == pytest.approx(0.6 - z * sd, rel=1e-12) and hi[0] == pytest.approx(0.6 + z * sd, rel=1e-12)
    # ratio of independent normals: P(V <= (1 + r) C) = E_C[Φ(((1 + r) C - 10.6) / 0.3)]
    for bound, level in ((rlo[0], 0.025), (rhi[0], 0.975)):
        prob = integrate.quad(
            lambda c, b=bound: stats.norm.pdf(c, 10.0, 0.4) * stats.norm.cdf(((1 + b) * c - 10.6) / 0.3),
            6.0,
            14.0,
            epsabs=1e-13,
        )[0]
        assert prob == pytest.approx(level, abs=1e-8)
    assert np.isnan(rlo[1]) and np.isnan(rhi[1])  # control mean too close to 0 for a ratio


def test_lift_intervals_unknown_family() -> None:
    with pytest.raises(ParameterError, match="family='gamma'"):
        lift_intervals("gamma", ([1.0], [1.0]), ([1.0], [1.0]))


# ------------------------------------------------------------------------------------------------
# shape parameters below 1 (priors such as Jeffreys Beta(0.5, 0.5) or Beta(0.1, 0.1) with few
# successes): the posterior density is unbounded at 0. References integrate over the control's
# probability scale, p = F_C(c), where the integrands are bounded:
# P(V <= C + x) = ∫_0^1 F_V(F_C^-1(p) + x) dp.
# ------------------------------------------------------------------------------------------------
_P_POINTS = [1e-12, 1e-9, 1e-6, 1e-3, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999]


def _quad_p(func) -> float:  # type: ignore[no-untyped-def]
    return integrate.quad(func, 0.0, 1.0, points=_P_POINTS, limit=1000, epsabs=1e-14, epsrel=1e-13)[0]


def _ref_below(ac: float, bc: float, av: float, bv: float, x: float = 0.0, ratio: bool = False) -> float:
    """P(V <= C + x) (or P(V <= C (1 + x)) with ratio) for C ~ Beta(ac, bc), V ~ Beta(av, bv)."""

    def f(p: float) -> float:
        c = special.betaincinv(ac, bc, p)
        return special.betainc(av, bv, np.clip(c * (1 + x) if ratio else c + x, 0.0, 1.0))

    return _quad_p(f)


def _ref_loss(ac: float, bc: float, av: float, bv: float) -> float:
    """E[max(C - V, 0)] = ∫ F_V(t) (1 - F_C(t)) dt, integrated in s = log t (bounded, smooth)."""

    def f(s: float) -> float:
        t = np.exp(s)
        return special.betainc(av, bv, t) * special.betainc(bc, ac, 1 - t) * t

    pts = sorted({float(np.log(special.betaincinv(a, b, q))) for a, b in ((ac, bc), (av, bv))
                  for q in (1e-9, 1e-6, 1e-3, 0.1, 0.5, 0.9, 0.999)})  # fmt: skip
    return integrate.quad(f, -700.0, 0.0, points=pts, limit=1000, epsabs=1e-15, epsrel=1e-12)[0]


@pytest.mark.parametrize("prior", [(0.5, 0.5), (0.1, 0.1)])
@pytest.mark.parametrize(
    ("x0", "n0", "x1", "n1"), [(0, 1000, 0, 300), (0, 1000, 0, 1000), (0, 2000, 3, 2000)]
)
def test_beta_summary_with_shape_below_one_matches_quad(
    prior: tuple[float, float], x0: int, n0: int, x1: int, n1: int
) -> None:
    (ac, av), (bc, bv) = beta_posterior(np.array([n0, n1]), np.array([x0, x1]), prior)
    s = beta_group_summary([[ac, av]], [[bc, bv]])
    beat = 1 - _ref_below(ac, bc, av, bv)  # P(V > C)
    assert s.prob_beat_control[0, 1] == pytest.approx(beat, abs=1e-6)
    # two arms: the control is best exactly when the variant does not beat it
    assert s.prob_best[0, 0] + s.prob_beat_control[0, 1] == pytest.approx(1.0, abs=1e-6)
    assert s.prob_best[0].sum() == pytest.approx(1.0, abs=1e-6)
    loss = _ref_loss(ac, bc, av, bv)
    assert s.expected_loss[0, 1] == pytest.approx(loss, rel=1e-5, abs=1e-9)


@pytest.mark.parametrize(
    ("control", "variant"),
    [((0.5, 1000.5), (0.5, 1000.5)), ((0.1, 300.1), (2.1, 298.1)), ((0.5, 2000.5), (3.5, 1997.5))],
)
def test_beta_lift_intervals_with_shape_below_one_match_quad(
    control: tuple[float, float], variant: tuple[float, float]
) -> None:
    lo, hi, rlo, rhi = lift_intervals("beta", ([control[0]], [control[1]]), ([variant[0]], [variant[1]]))
    args = (*control, *variant)
    assert _ref_below(*args, x=lo[0]) == pytest.approx(0.025, abs=1e-6)
    assert _ref_below(*args, x=hi[0]) == pytest.approx(0.975, abs=1e-6)
    assert _ref_below(*args, x=rlo[0], ratio=True) == pytest.approx(0.025, abs=1e-6)
    assert _ref_below(*args, x=rhi[0], ratio=True) == pytest.approx(0.975, abs=1e-6)
    if control == variant:  # V - C is symmetric about 0
        assert lo[0] == pytest.approx(-hi[0], rel=1e-6)


def test_normal_relative_interval_needs_both_posteriors_above_zero() -> None:
    # the variant's posterior N(0.5, 1) has mass below 0: V / C - 1 can fall below -100%, which a
    # log-scale interval cannot show (it used to report -1.000 where the 2.5% quantile is -1.148)
    lo, hi, rlo, rhi = lift_intervals("normal", ([10.0, 10.0], [1.0, 1.0]), ([0.5, 7.0], [1.0, 1.0]))
    assert np.isnan(rlo[0]) and np.isnan(rhi[0])
    assert np.isfinite(lo[0]) and np.isfinite(hi[0])  # the difference is always available
    # both means 7 sd above 0: bounds solve P(V <= C (1 + r)) = 0.025 / 0.975, checked by quad
    assert np.isfinite(rlo[1]) and np.isfinite(rhi[1])

    def below(r: float) -> float:
        f = lambda c: stats.norm.pdf(c, 10.0, 1.0) * stats.norm.cdf(c * (1 + r), 7.0, 1.0)  # noqa: E731
        return integrate.quad(f, 0.0, 20.0, points=[8, 10, 12], epsabs=1e-13, limit=200)[0]

    assert below(rlo[1]) == pytest.approx(0.025, abs=1e-6)
    assert below(rhi[1]) == pytest.approx(0.975, abs=1e-6)
    assert "6 posterior sd" in RELATIVE_NORMAL_RULE



def test_segments_evaluated_together_equal_segments_evaluated_one_by_one() -> None:
    """The quadrature is vectorised across segments: a batch gives each segment its own numbers."""
    rng = np.random.default_rng(14)
    n_seg = 300
    n = rng.integers(20, 5000, (n_seg, 2)).astype(float)
    x = rng.binomial(n.astype(int), rng.choice([0.002, 0.04, 0.3], (n_seg, 2))).astype(float)
    a, b = beta_posterior(n, x)
    batch = beta_group_summary(a, b)
    intervals = lift_intervals("beta", (a[:, 0], b[:, 0]), (a[:, 1], b[:, 1]))
    for i in range(n_seg):
        alone = beta_group_summary(a[i : i + 1], b[i : i + 1])
        for field in ("prob_best", "prob_beat_control", "expected_loss"):
            np.testing.assert_allclose(getattr(alone, field)[0], getattr(batch, field)[i], rtol=0, atol=1e-9)
        one = lift_intervals("beta", ([a[i, 0]], [b[i, 0]]), ([a[i, 1]], [b[i, 1]]))
        np.testing.assert_allclose(
            [v[0] for v in one], [v[i] for v in intervals], rtol=0, atol=1e-9, err_msg=f"segment {i}"
        )


def test_fast_beta_pairs_match_the_panel_quadrature_to_1e9() -> None:
    # issue 14 §3: the logit-grid trapezoid + Taylor path for two Beta arms gives the same numbers as
    # the panel quadrature with a Newton search (the general path, kept for every other case)
    rng = np.random.default_rng(14)
    units = rng.integers(200, 5000, (300, 2))
    rate = rng.choice([0.01, 0.04, 0.1, 0.3], 300)[:, None] * rng.uniform(0.8, 1.2, (300, 2))
    a, b = beta_posterior(units, rng.binomial(units, rate))
    with np.errstate(all="ignore"):
        beat, loss, fast = bayesian._fast_pair_summary((a[:, 0], b[:, 0]), (a[:, 1], b[:, 1]))
        bounds, fast_bounds = bayesian._fast_intervals((a[:, 0], b[:, 0]), (a[:, 1], b[:, 1]), 0.05)
    assert fast.mean() > 0.95 and fast_bounds.mean() > 0.8  # the fast path is what is compared
    panel = bayesian._summary(bayesian._BETA, a, b)
    np.testing.assert_allclose(beat[fast], panel.prob_beat_control[fast, 1], rtol=0, atol=1e-9)
    np.testing.assert_allclose(loss[fast], panel.expected_loss[fast, 1], rtol=0, atol=1e-9)
    reference = np.array(bayesian._panel_intervals("beta", (a[:, 0], b[:, 0]), (a[:, 1], b[:, 1]), 0.05))
    # rtol: a relative bound of +380% (2 successes) sits where the lift's density is ~0.02, so the
    # panel path's own 2e-11 error in probability is 1e-9 there (the fast bound solves it exactly)
    np.testing.assert_allclose(bounds[:, fast_bounds], reference[:, fast_bounds], rtol=1e-9, atol=1e-9)
    # and the public functions agree with the panel path on every row (fast or not)
    s = beta_group_summary(a, b)
    np.testing.assert_allclose(s.prob_best, panel.prob_best, rtol=0, atol=1e-9)
    np.testing.assert_allclose(s.expected_loss[:, 1], panel.expected_loss[:, 1], rtol=0, atol=1e-9)
    public = np.array(lift_intervals("beta", (a[:, 0], b[:, 0]), (a[:, 1], b[:, 1])))
    np.testing.assert_allclose(public, reference, rtol=1e-9, atol=1e-9)


# rows that took the slow panel route before the grids were sized per row (issue 14 §3): a narrow
# arm whose credible bound puts the other arm's CDF kink (at 0 or 1) under its density, so the
# integral must run over the wide arm on a finer grid; and extremes: no successes, all successes,
# tiny and huge n, very unequal arms
FORMER_FALLBACKS = [
    ((200, 8), (4981, 200)), ((4995, 200), (202, 8)), ((400, 2), (4800, 190)), ((1000, 0), (1000, 0)),
    ((100000, 3000), (20, 1)), ((1000, 1000), (1000, 1000)), ((10**6, 1000), (50, 50)),
    ((3000, 4), (250, 30)), ((20, 1), (5000, 600)), ((10**7, 100000), (10**7, 100500)),
    ((300, 0), (4000, 3)), ((50, 25), (50, 40)), ((3, 3), (5, 5)), ((500, 500), (500, 0)),
]  # fmt: skip


def test_sized_grids_match_the_panel_path_on_former_fallbacks() -> None:
    rng = np.random.default_rng(3)
    units = rng.integers(200, 5000, (400, 2))  # the benchmark's shape: 4% with very unequal arms
    successes = rng.binomial(units, 0.04)
    extreme_n = np.array([[c[0], v[0]] for c, v in FORMER_FALLBACKS])
    extreme_x = np.array([[c[1], v[1]] for c, v in FORMER_FALLBACKS])
    n, x = np.vstack([units, extreme_n]), np.vstack([successes, extreme_x])
    a, b = beta_posterior(n, x)
    ctrl, var = (a[:, 0], b[:, 0]), (a[:, 1], b[:, 1])
    with np.errstate(all="ignore"):
        beat, loss, fast = bayesian._fast_pair_summary(ctrl, var)
        bounds, fast_bounds = bayesian._fast_intervals(ctrl, var, 0.05)
    # the benchmark's rows all take the fast path now (about 7% of their bounds did not)
    assert fast[:400].all() and fast_bounds[:400].all()
    assert fast_bounds[400:].sum() >= 6  # and so do some of the extremes: those are compared below
    panel = bayesian._summary(bayesian._BETA, a, b)
    np.testing.assert_allclose(beat[fast], panel.prob_beat_control[fast, 1], rtol=0, atol=1e-9)
    np.testing.assert_allclose(loss[fast], panel.expected_loss[fast, 1], rtol=0, atol=1e-9)
    reference = np.array(bayesian._panel_intervals("beta", ctrl, var, 0.05))
    np.testing.assert_allclose(bounds[:, fast_bounds], reference[:, fast_bounds], rtol=1e-9, atol=1e-9)
    public = beta_group_summary(a, b)
    np.testing.assert_allclose(public.prob_best, panel.prob_best, rtol=0, atol=1e-9)
    np.testing.assert_allclose(np.array(lift_intervals("beta", ctrl, var)), reference, rtol=1e-9, atol=1e-9)


def test_fast_bounds_solve_the_exact_cdf_where_the_other_arm_has_a_kink() -> None:
    # 1000 of 10**6 against 50 of 50: P(V <= C (1 + x)) = E[min(1, C (1 + x))**51] in closed form
    ac, bc, av = 1001.0, 999001.0, 51.0

    def below(x: float) -> float:
        s = 1 + x
        head = np.exp(av * np.log(s) + special.betaln(ac + av, bc) - special.betaln(ac, bc))
        return float(head * special.betainc(ac + av, bc, 1 / s) + special.betaincc(ac, bc, 1 / s))

    with np.errstate(all="ignore"):
        ctrl, var = (np.array([ac]), np.array([bc])), (np.array([av]), np.array([1.0]))
        bounds, fast = bayesian._fast_intervals(ctrl, var, 0.05)
    assert fast[0]
    assert below(bounds[2, 0]) == pytest.approx(0.025, abs=1e-10)
    assert below(bounds[3, 0]) == pytest.approx(0.975, abs=1e-10)


@pytest.mark.parametrize("relative", [False, True])
def test_lift_taylor_series_matches_the_cdf_sum_it_expands(relative: bool) -> None:
    # the three-term recurrence of the Beta density's Taylor coefficients (one series in z for the
    # difference and the ratio, both orientations) reproduces Σ w F(arg) at moved lifts
    rng = np.random.default_rng(5)
    nodes = np.sort(rng.uniform(0.02, 0.06, (4, 30)), axis=1)
    weights = rng.uniform(0, 1, (4, 30))
    weights /= weights.sum(axis=1, keepdims=True)
    other = (np.array([40.0, 9.0, 200.0, 40.0]), np.array([960.0, 191.0, 4800.0, 900.0]))
    flip = np.array([False, True, False, True])
    p0 = np.array([0.004, -0.01, 0.1, -0.2]) if relative else np.array([0.004, -0.01, 0.002, -0.003])
    coef = bayesian._lift_taylor(weights, nodes, other, p0, flip, relative)
    for delta in (-2e-4, 1e-4, 2e-4):  # short moves: the order-8 series is exact to rounding there
        p = p0 + delta
        sign = np.where(flip, -1.0, 1.0)[:, None]
        arg = nodes * np.exp(sign * p[:, None]) if relative else nodes + sign * p[:, None]
        cdf = special.betainc(other[0][:, None], other[1][:, None], arg)
        direct = np.sum(weights * np.where(flip[:, None], 1.0 - cdf, cdf), axis=1)
        z = np.where(flip, -delta, delta)
        z = np.expm1(z) if relative else z
        series = np.polynomial.polynomial.polyval(z, coef.T, tensor=False)
        np.testing.assert_allclose(series, direct, rtol=0, atol=1e-13)
        np.testing.assert_allclose(bayesian._lift_step(z, flip, relative), delta, rtol=1e-12)


def test_bounds_a_coarse_grid_cannot_take_are_redone_alone_on_a_finer_one() -> None:
    # very unequal arms: the narrow arm's grid holds the relative bounds but not the lower difference
    # bound (the other arm's CDF kink at 0 under it); only that bound is redone on a finer grid, and
    # every bound still matches the panel path to 1e-9
    n = np.array([[4981, 200], [4995, 202], [4800, 400], [5000, 210]])
    x = np.array([[200, 8], [200, 8], [190, 2], [190, 9]])
    a, b = beta_posterior(n, x)
    ctrl, var = (a[:, 0], b[:, 0]), (a[:, 1], b[:, 1])
    with np.errstate(all="ignore"):
        pair = bayesian._pair(ctrl, var)
        setups = bayesian._interval_setups(pair, 0.05)
        _, coarse = bayesian._intervals_on_grid(pair, setups, 36, np.ones((4, 4), dtype=bool))
        bounds, fast = bayesian._fast_intervals(ctrl, var, 0.05)
    assert coarse.any(axis=0).all() and not coarse.all()  # some bounds of each row on the coarse grid
    assert fast.all()
    reference = np.array(bayesian._panel_intervals("beta", ctrl, var, 0.05))
    np.testing.assert_allclose(bounds, reference, rtol=1e-9, atol=1e-9)
