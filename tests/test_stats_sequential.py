"""Tests for abkit.stats.sequential: always-valid inference and group-sequential designs.

References: the asymptotic confidence sequence written out from Waudby-Smith et al. (2024) eq. 9
with GrowthBook's rho (gbstats), the mSPRT mixture likelihood ratio by numerical integration
(scipy.integrate.quad), exit probabilities by scipy's multivariate normal CDF, and published
boundaries / inflation factors (Jennison & Turnbull 2000 tables 2.1-2.4; R ldbounds/gsDesign
Lan-DeMets spending boundaries).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from abkit.errors import AbkitError, DataError, ParameterError
from abkit.stats.sequential import (
    GroupSequentialDesign,
    always_valid_pvalue,
    confidence_sequence,
    group_sequential_bounds,
    mixture_ratio,
    sample_size_inflation,
    sequential_estimate,
    sequential_method_name,
    sequential_ratio_interval,
    sequential_test,
)

# ------------------------------------------------------------------ always-valid inference


def _gb_halfwidth(s2: float, n: float, n_star: float, alpha: float) -> float:
    """Waudby-Smith et al. (2024) eq. 9 with GrowthBook's rho tuned to be tightest at n_star."""
    rho = math.sqrt((-2 * math.log(alpha) + math.log(-2 * math.log(alpha) + 1)) / n_star)
    return math.sqrt(s2) * math.sqrt(
        2 * (n * rho**2 + 1) / (n**2 * rho**2) * math.log(math.sqrt(n * rho**2 + 1) / alpha)
    )


@pytest.mark.parametrize(("n_star", "alpha"), [(5000, 0.05), (20000, 0.05), (1000, 0.1), (5000, 0.01)])
def test_asymptotic_cs_matches_waudby_smith_eq9(n_star: float, alpha: float) -> None:
    n_c, n_v = 4000, 4200
    s_c, s_v = 96.0, 130.0
    lo, hi = confidence_sequence(n_c, s_c, s_c, n_v, s_v, s_v, kind="proportion", alpha=alpha, n_star=n_star)
    p_c, p_v = s_c / n_c, s_v / n_v
    var = p_c * (1 - p_c) / n_c + p_v * (1 - p_v) / n_v
    n = n_c + n_v
    hw = _gb_halfwidth(var * n, n, n_star, alpha)
    assert float(lo) == pytest.approx(p_v - p_c - hw, rel=1e-12)
    assert float(hi) == pytest.approx(p_v - p_c + hw, rel=1e-12)


def test_cs_is_tightest_at_n_star() -> None:
    # the half-width relative to the fixed-horizon standard error is smallest at N = n_star
    ns = np.array([1000, 2500, 4000, 5000, 6000, 10000, 20000])
    ratios = []
    for n in ns:
        lo, hi = confidence_sequence(n // 2, 0.0, n // 2 * 1.0, n // 2, 0.0, n // 2 * 1.0, n_star=5000)
        se = math.sqrt(2 * (n // 2) / (n // 2 - 1) / (n // 2))
        ratios.append(float(hi - lo) / 2 / se)
    assert int(np.argmin(ratios)) == 3


def _msprt_by_quadrature(est: float, var: float, tau: float) -> float:
    """Mixture likelihood ratio int N(est; theta, V) / N(est; 0, V) dN(theta; 0, tau^2)."""

    def integrand(theta: float) -> float:
        return math.exp(
            stats.norm.logpdf(est, theta, math.sqrt(var))
            - stats.norm.logpdf(est, 0, math.sqrt(var))
            + stats.norm.logpdf(theta, 0, tau)
        )

    value, _ = integrate.quad(integrand, -12 * tau, 12 * tau, epsabs=0, epsrel=1e-12, limit=200)
    return value


@pytest.mark.parametrize("tau", [0.002, 0.01, 0.05])
def test_msprt_pvalue_is_inverse_of_integrated_mixture_likelihood_ratio(tau: float) -> None:
    n_c, n_v = 3000, 3000
    s_c, s_v = 60.0, 85.0
    p = float(always_valid_pvalue(n_c, s_c, s_c, n_v, s_v, s_v, kind="proportion", method="msprt", tau=tau))
    p_c, p_v = s_c / n_c, s_v / n_v
    var = p_c * (1 - p_c) / n_c + p_v * (1 - p_v) / n_v
    lam = _msprt_by_quadrature(p_v - p_c, var, tau)
    assert p == pytest.approx(min(1.0, 1.0 / lam), rel=1e-8)


def test_msprt_with_matching_tau_equals_asymptotic_cs() -> None:
    n_c, n_v, s_c, s_v = 2500, 2600, 50.0, 75.0
    acs = sequential_test(n_c, s_c, s_c, n_v, s_v, s_v, kind="proportion", n_star=8000)
    p_c, p_v = s_c / n_c, s_v / n_v
    var = p_c * (1 - p_c) / n_c + p_v * (1 - p_v) / n_v
    r = float(mixture_ratio(0.0, var, n_c + n_v, n_star=8000))
    tau = math.sqrt(r * var)
    ms = sequential_test(n_c, s_c, s_c, n_v, s_v, s_v, kind="proportion", method="msprt", tau=tau)
    for a, b in zip(acs[:4], ms[:4], strict=True):
        assert float(a) == pytest.approx(float(b), rel=1e-10)
    assert "N*=8000" in acs.method and "tau=" in ms.method


def test_pvalue_below_alpha_exactly_when_sequence_excludes_zero() -> None:
    rng = np.random.default_rng(3)
    n = rng.integers(200, 20000, size=4000).astype(float)
    s_c = rng.binomial(n.astype(int), 0.03).astype(float)
    s_v = rng.binomial(n.astype(int), 0.036).astype(float)
    for alpha in (0.05, 0.1):
        r = sequential_test(n, s_c, s_c, n, s_v, s_v, kind="proportion", alpha=alpha)
        ok = np.isfinite(r.p_value)
        excludes = (r.ci_low > 0) | (r.ci_high < 0)
        assert np.array_equal((r.p_value < alpha)[ok], excludes[ok])
        assert 0.05 < np.mean(excludes[ok]) < 0.95


def test_mean_kind_uses_sample_variance_and_relative_scale_uses_log_ratio() -> None:
    rng = np.random.default_rng(5)
    yc, yv = rng.gamma(2.0, 10.0, 800), rng.gamma(2.0, 11.0, 900)
    args = (yc.size, yc.sum(), (yc**2).sum(), yv.size, yv.sum(), (yv**2).sum())
    var = yc.var(ddof=1) / yc.size + yv.var(ddof=1) / yv.size
    hw = _gb_halfwidth(var * 1700, 1700, 5000, 0.05)
    ab = sequential_test(*args)
    assert float(ab.estimate) == pytest.approx(yv.mean() - yc.mean(), rel=1e-12)
    assert float(ab.ci_high - ab.estimate) == pytest.approx(hw, rel=1e-10)
    rel = sequential_test(*args, scale="relative")
    lvar = yc.var(ddof=1) / (yc.size * yc.mean() ** 2) + yv.var(ddof=1) / (yv.size * yv.mean() ** 2)
    lhw = _gb_halfwidth(lvar * 1700, 1700, 5000, 0.05)
    log_ratio = math.log(yv.mean() / yc.mean())
    assert float(rel.estimate) == pytest.approx(yv.mean() / yc.mean() - 1, rel=1e-12)
    assert float(rel.ci_low) == pytest.approx(math.exp(log_ratio - lhw) - 1, rel=1e-10)
    assert float(rel.ci_high) == pytest.approx(math.exp(log_ratio + lhw) - 1, rel=1e-10)


def test_time_uniform_type_one_error_under_many_looks() -> None:
    # Gaussian A/A: 2,000 experiments, 100 looks of 50 units per arm each; Ville's inequality
    # bounds the chance that any look's p-value falls below alpha by alpha.
    rng = np.random.default_rng(11)
    sims, looks, per = 2000, 100, 50
    inc_c = rng.normal(0, 1, (sims, looks, per))
    inc_v = rng.normal(0, 1, (sims, looks, per))
    s_c, q_c = np.cumsum(inc_c.sum(2), 1), np.cumsum((inc_c**2).sum(2), 1)
    s_v, q_v = np.cumsum(inc_v.sum(2), 1), np.cumsum((inc_v**2).sum(2), 1)
    n = np.arange(1, looks + 1) * float(per)
    p = always_valid_pvalue(n, s_c, q_c, n, s_v, q_v, n_star=2 * per * looks / 2)
    p = np.minimum.accumulate(p, axis=1)
    fpr = float(np.mean(p[:, -1] < 0.05))
    assert fpr <= 0.05 + 2 * math.sqrt(0.05 * 0.95 / sims)
    naive = 2 * stats.norm.sf(np.abs((s_v - s_c) / n) / np.sqrt(2 / n))
    assert float(np.mean(naive.min(axis=1) < 0.05)) > 0.2


def test_not_estimable_rows_are_nan_not_one() -> None:
    r = sequential_test([500, 500], [0, 10], [0, 10], [500, 500], [0, 0], [0, 0], kind="proportion")
    assert np.isnan(r.p_value[0]) and np.isnan(r.ci_low[0]) and np.isnan(r.ci_high[0])
    assert np.isfinite(r.p_value[1])
    rel = sequential_test(500, 0, 0, 500, 10, 10, kind="proportion", scale="relative")
    assert np.isnan(rel.p_value) and np.isnan(rel.estimate)


def test_method_names() -> None:
    assert sequential_method_name() == "asymptotic confidence sequence (Waudby-Smith et al. 2024), N*=5000"
    assert (
        sequential_method_name("msprt", tau=0.5)
        == "mixture SPRT (Johari et al. 2022), normal mixture tau=0.5"
    )


@pytest.mark.parametrize("bad", [0, -5, float("nan"), float("inf"), "many"])
def test_non_positive_n_star_is_refused(bad: object) -> None:
    with pytest.raises(ParameterError, match="n_star"):
        always_valid_pvalue(100, 5, 5, 100, 6, 6, kind="proportion", n_star=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [0, -0.01, float("nan")])
def test_non_positive_tau_is_refused(bad: float) -> None:
    with pytest.raises(ParameterError, match="tau"):
        confidence_sequence(100, 5, 5, 100, 6, 6, kind="proportion", method="msprt", tau=bad)


def test_bad_arguments_and_data() -> None:
    with pytest.raises(ParameterError, match="tau is required"):
        always_valid_pvalue(100, 5, 5, 100, 6, 6, method="msprt")
    with pytest.raises(ParameterError, match="method"):
        always_valid_pvalue(100, 5, 5, 100, 6, 6, method="bayes")
    with pytest.raises(ParameterError, match="kind"):
        always_valid_pvalue(100, 5, 5, 100, 6, 6, kind="ratio")
    with pytest.raises(ParameterError, match="scale"):
        always_valid_pvalue(100, 5, 5, 100, 6, 6, scale="log")
    with pytest.raises(ParameterError, match="alpha"):
        always_valid_pvalue(100, 5, 5, 100, 6, 6, alpha=1.5)
    with pytest.raises(DataError, match="sum_control"):
        always_valid_pvalue(100, float("nan"), 5, 100, 6, 6)
    with pytest.raises(DataError, match="sum_variant"):
        always_valid_pvalue(100, 5, 5, 100, 160, 160, kind="proportion")
    with pytest.raises(DataError, match="n_control"):
        always_valid_pvalue(0, 0, 0, 100, 6, 6, kind="proportion")
    with pytest.raises(DataError, match="n_variant"):
        always_valid_pvalue(10, 1, 1, 1, 0.5, 0.25, kind="mean")


# ------------------------------------------------------------------ group-sequential designs


def test_lan_demets_obrien_fleming_k5_matches_published_boundaries() -> None:
    # R ldbounds::ldBounds(t = (1:5)/5, iuse = 1, alpha = 0.05) / gsDesign sfLDOF, two-sided:
    d = group_sequential_bounds(5, spending="obrien-fleming")
    assert d.z_bounds == pytest.approx([4.8769, 3.3569, 2.6803, 2.2898, 2.0310], abs=2e-4)
    # the first look spends 2 * 2(1 - Phi(z_{0.0125} / sqrt(0.2))) exactly
    first = 2 * 2 * stats.norm.sf(stats.norm.isf(0.0125) / math.sqrt(0.2))
    assert d.cumulative_alpha[0] == pytest.approx(first, rel=1e-12)
    assert d.z_bounds[0] == pytest.approx(stats.norm.isf(first / 2), abs=1e-8)
    assert d.cumulative_alpha[-1] == pytest.approx(0.05)


def test_lan_demets_pocock_k5_matches_published_boundaries() -> None:
    d = group_sequential_bounds(5, spending="pocock")
    assert d.z_bounds == pytest.approx([2.4380, 2.4268, 2.4101, 2.3966, 2.3859], abs=3e-4)
    assert d.z_bounds[0] == pytest.approx(
        stats.norm.isf(0.05 * math.log(1 + (math.e - 1) * 0.2) / 2), abs=1e-8
    )


@pytest.mark.parametrize(
    ("k", "pocock", "obf"),
    # Jennison & Turnbull (2000) tables 2.1 and 2.3: C_P(K, 0.05) and C_B(K, 0.05)
    [(2, 2.178, 1.977), (3, 2.289, 2.004), (4, 2.361, 2.024), (5, 2.413, 2.040)],
)
def test_classic_boundaries_match_jennison_turnbull(k: int, pocock: float, obf: float) -> None:
    p = group_sequential_bounds(k, spending="pocock-classic")
    assert p.z_bounds == pytest.approx([pocock] * k, abs=6e-4)
    o = group_sequential_bounds(k, spending="obrien-fleming-classic")
    assert o.z_bounds[-1] == pytest.approx(obf, abs=6e-4)
    assert o.z_bounds[0] == pytest.approx(obf * math.sqrt(k), abs=6e-4 * math.sqrt(k))


@pytest.mark.parametrize(
    ("k", "power", "r_pocock", "r_obf"),
    # Jennison & Turnbull (2000) tables 2.2 and 2.4 (alpha = 0.05 two-sided)
    [(2, 0.8, 1.110, 1.008), (5, 0.8, 1.229, 1.028), (5, 0.9, 1.207, 1.026), (3, 0.9, 1.151, 1.016)],
)
def test_inflation_factors_match_jennison_turnbull(
    k: int, power: float, r_pocock: float, r_obf: float
) -> None:
    assert sample_size_inflation(k, power=power, spending="pocock-classic") == pytest.approx(
        r_pocock, abs=1e-3
    )
    assert sample_size_inflation(k, power=power, spending="obrien-fleming-classic") == pytest.approx(
        r_obf, abs=1e-3
    )


def _mvn_crossing(t: np.ndarray, bounds: np.ndarray, drift: float = 0.0) -> float:
    cov = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))
    mvn = stats.multivariate_normal(drift * np.sqrt(t), cov)
    stay = mvn.cdf(bounds, lower_limit=-bounds, rng=np.random.default_rng(0))
    return 1.0 - float(stay)


@pytest.mark.parametrize("spending", ["obrien-fleming", "pocock"])
def test_spending_boundaries_spend_alpha_by_multivariate_normal_cdf(spending: str) -> None:
    t = np.array([0.15, 0.4, 0.6, 1.0])
    d = group_sequential_bounds(t, spending=spending)
    for k in range(1, t.size + 1):
        assert _mvn_crossing(t[:k], np.array(d.z_bounds[:k])) == pytest.approx(
            d.cumulative_alpha[k - 1], abs=2e-5
        )
    r = sample_size_inflation(t, power=0.8, spending=spending)
    drift = (stats.norm.isf(0.025) + stats.norm.isf(0.2)) * math.sqrt(r)
    # power is the chance of crossing the upper boundary first; crossing the lower one under
    # this alternative (Pocock, first look at t = 0.15) adds a few 1e-4 to the either-side figure
    either = _mvn_crossing(t, np.array(d.z_bounds), drift)
    assert 0.8 - 2e-5 <= either <= 0.8 + 5e-4


def test_one_sided_and_single_look() -> None:
    one = group_sequential_bounds(1, alternative="larger")
    assert one.z_bounds[0] == pytest.approx(stats.norm.isf(0.05), abs=1e-8)
    two = group_sequential_bounds(1)
    assert two.z_bounds[0] == pytest.approx(stats.norm.isf(0.025), abs=1e-8)
    assert sample_size_inflation(1) == pytest.approx(1.0, abs=1e-8)
    g = group_sequential_bounds(3, alternative="larger", spending="pocock")
    # one-sided: exit probability of the upper boundary alone equals the spent alpha
    t = np.array(g.information_fraction)
    cov = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))
    stay = stats.multivariate_normal(np.zeros(3), cov).cdf(np.array(g.z_bounds), rng=np.random.default_rng(0))
    assert 1 - stay == pytest.approx(0.05, abs=2e-5)


def test_design_renders_as_a_table() -> None:
    d = group_sequential_bounds(4, spending="pocock", alpha=0.1)
    assert isinstance(d, GroupSequentialDesign)
    table = d.to_pandas()
    assert list(table.columns) == ["look", "information_fraction", "z_bound", "nominal_p", "cumulative_alpha"]
    assert table["nominal_p"].to_numpy() == pytest.approx(2 * stats.norm.sf(table["z_bound"].to_numpy()))
    assert "Pocock-type" in d.method and "Pocock" in d._repr_html_()
    assert repr(d).startswith("GroupSequentialDesign('pocock'")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"looks": 0}, "looks"),
        ({"looks": [0.5, 0.4, 1.0]}, "looks"),
        ({"looks": [0.3, 0.6]}, "looks"),
        ({"looks": True}, "looks"),
        ({"looks": 3, "spending": "haybittle"}, "spending"),
        ({"looks": 3, "alternative": "less"}, "alternative"),
        ({"looks": 3, "alpha": 0}, "alpha"),
    ],
)
def test_bad_design_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        group_sequential_bounds(**kwargs)


def test_bad_power_is_refused() -> None:
    with pytest.raises(AbkitError, match="power"):
        sample_size_inflation(3, power=1.0)


def test_alternative_uses_abkit_words_and_the_old_one_still_works() -> None:
    larger = group_sequential_bounds(3, alternative="larger", spending="pocock")
    smaller = group_sequential_bounds(3, alternative="smaller", spending="pocock")
    assert larger.z_bounds == smaller.z_bounds and larger.alternative == "larger"
    deprecated = "alternative='greater' is deprecated; write alternative='larger'"
    with pytest.warns(DeprecationWarning, match=deprecated):
        old = group_sequential_bounds(3, alternative="greater", spending="pocock")
    assert old == larger
    with pytest.warns(DeprecationWarning, match=deprecated):
        inflation = sample_size_inflation(3, alternative="greater")
    assert inflation == sample_size_inflation(3, alternative="larger")
    with pytest.raises(ParameterError, match="alternative"):
        group_sequential_bounds(3, alternative="less")


# ----------------------------------------------------------------------------------------------
# one-sided always-valid inference (half-normal mixture)
# ----------------------------------------------------------------------------------------------
def test_one_sided_mixture_ratio_equals_the_half_normal_mixture_integral() -> None:
    # Lambda+ = int_0^inf LR(theta) 2 phi(theta / tau) / tau dtheta, LR the normal likelihood ratio
    est, var, tau = 0.012, 2.5e-5, 0.01
    lr = integrate.quad(
        lambda th: math.exp((th * est - th * th / 2) / var) * 2 * stats.norm.pdf(th, scale=tau),
        0, np.inf,
    )[0]  # fmt: skip
    res = sequential_estimate(est, var, alternative="larger", method="msprt", tau=tau)
    assert float(res.p_value) == pytest.approx(min(1.0, 1.0 / lr), rel=1e-8)
    down = sequential_estimate(-est, var, alternative="smaller", method="msprt", tau=tau)
    assert float(down.p_value) == pytest.approx(float(res.p_value), rel=1e-12)


@pytest.mark.parametrize("method", ["asymptotic-cs", "msprt"])
def test_one_sided_bound_excludes_zero_iff_p_below_alpha_and_is_tighter(method: str) -> None:
    rng = np.random.default_rng(4)
    est = rng.normal(0, 0.01, 400)
    var = rng.uniform(1e-5, 4e-5, 400)
    kw = {"method": method, "tau": 0.01} if method == "msprt" else {"n_star": 8000}
    two = sequential_estimate(est, var, 6000, **kw)
    up = sequential_estimate(est, var, 6000, alternative="larger", **kw)
    down = sequential_estimate(est, var, 6000, alternative="smaller", **kw)
    assert np.all(np.isinf(up.ci_high)) and np.all(up.ci_high > 0)
    assert np.all(np.isinf(down.ci_low)) and np.all(down.ci_low < 0)
    assert np.array_equal(up.ci_low > 0, up.p_value < 0.05)
    assert np.array_equal(down.ci_high < 0, down.p_value < 0.05)
    # one side of the two-sided sequence, made tighter (never looser) by spending alpha on one side
    assert np.all(up.ci_low >= two.ci_low) and np.all(down.ci_high <= two.ci_high)
    assert np.all(up.p_value[est > 0] <= two.p_value[est > 0])
    assert "one-sided (larger" in up.method


def test_one_sided_ratio_interval_agrees_with_the_absolute_verdict() -> None:
    rng = np.random.default_rng(7)
    m0 = rng.uniform(0.02, 0.05, 200)
    m1 = m0 * rng.uniform(0.8, 1.3, 200)
    v0, v1 = m0 * (1 - m0) / 4000, m1 * (1 - m1) / 4000
    for alternative in ("larger", "smaller"):
        lo, hi = sequential_ratio_interval(m0, v0, m1, v1, 8000, alternative=alternative)
        absolute = sequential_estimate(m1 - m0, v0 + v1, 8000, alternative=alternative)
        if alternative == "larger":
            assert np.all(hi == np.inf) and np.array_equal(lo > 0, absolute.ci_low > 0)
        else:
            assert np.all(lo == -np.inf) and np.array_equal(hi < 0, absolute.ci_high < 0)


def test_one_sided_sequential_test_accepts_the_old_word_as_an_alias() -> None:
    with pytest.warns(DeprecationWarning, match="write alternative='larger'"):
        old = sequential_test(5000, 100, 100, 5000, 140, 140, kind="proportion", alternative="greater")
    new = sequential_test(5000, 100, 100, 5000, 140, 140, kind="proportion", alternative="larger")
    assert float(old.p_value) == float(new.p_value) and float(old.ci_low) == float(new.ci_low)
    with pytest.raises(ParameterError, match="alternative='less' is not known; write alternative='smaller'"):
        sequential_test(5000, 100, 100, 5000, 140, 140, kind="proportion", alternative="less")
