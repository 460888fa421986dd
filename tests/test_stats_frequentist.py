"""Tests of abkit.stats.frequentist and abkit.stats.multiple against statsmodels, scipy, published values."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportions_ztest,
)
from statsmodels.stats.proportion import (
    test_proportions_2indep as sm_test_proportions_2indep,
)

from abkit.errors import ParameterError
from abkit.stats import (
    adjust_pvalues,
    compare_means,
    compare_proportions,
    restricted_mle_diff,
    restricted_mle_ratio,
    score_statistic_diff,
    score_statistic_ratio,
)


def _cases(seed: int, size: int, *, interior: bool = True) -> list[tuple[int, int, int, int]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(size):
        n0, n1 = (int(v) for v in rng.integers(2, 400, 2))
        lo = 1 if interior else 0
        x0 = int(rng.integers(lo, n0 + 1 - lo))
        x1 = int(rng.integers(lo, n1 + 1 - lo))
        out.append((n0, x0, n1, x1))
    return out


# ------------------------------------------------------------------------------------------------
# proportions: p-values
# ------------------------------------------------------------------------------------------------
# degenerate tables (no successes in either arm) are not estimable and are tested separately
_ESTIMABLE = [c for c in _cases(1, 40, interior=False) if compare_proportions(*c).estimable[0]]


@pytest.mark.parametrize(("n0", "x0", "n1", "x1"), _ESTIMABLE)
def test_p_value_equals_statsmodels_miettinen_nurminen_score_test(n0: int, x0: int, n1: int, x1: int) -> None:
    result = compare_proportions(n0, x0, n1, x1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels divides by zero when a rate is 0
        ref = sm_test_proportions_2indep(x1, n1, x0, n0, method="score", correction=True, compare="diff")
    assert result.p_value[0] == pytest.approx(ref.pvalue, rel=1e-12, abs=1e-15)
    assert result.statistic[0] == pytest.approx(ref.statistic, rel=1e-12)


@pytest.mark.parametrize(
    ("n0", "x0", "n1", "x1"), [(1000, 50, 1000, 70), (4000, 90, 3500, 101), (30, 2, 25, 7)]
)
def test_without_mn_factor_equals_pooled_z_test(n0: int, x0: int, n1: int, x1: int) -> None:
    result = compare_proportions(n0, x0, n1, x1, mn_correction=False)
    z, p = proportions_ztest([x1, x0], [n1, n0])
    assert result.statistic[0] == pytest.approx(z, rel=1e-12)
    assert result.p_value[0] == pytest.approx(p, rel=1e-12)


# ------------------------------------------------------------------------------------------------
# proportions: restricted MLEs and intervals
# ------------------------------------------------------------------------------------------------
def _loglik(n0: int, x0: int, n1: int, x1: int, p0: float, p1: float) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(
            stats.binom.logpmf(x0, n0, min(max(p0, 0.0), 1.0))
            + stats.binom.logpmf(x1, n1, min(max(p1, 0.0), 1.0))
        )


@pytest.mark.parametrize(("n0", "x0", "n1", "x1"), _cases(2, 25, interior=False))
def test_restricted_mle_maximises_the_likelihood(n0: int, x0: int, n1: int, x1: int) -> None:
    rng = np.random.default_rng(n0 * 1000 + n1)
    delta = float(rng.uniform(-0.9, 0.9))
    r0, r1 = (float(v) for v in restricted_mle_diff(n0, x0, n1, x1, delta))
    assert r1 - r0 == pytest.approx(delta, abs=1e-12)
    lo, hi = max(0.0, -delta), min(1.0, 1.0 - delta)
    best = optimize.minimize_scalar(
        lambda p: -_loglik(n0, x0, n1, x1, p, p + delta),
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": 1e-12},
    )
    assert _loglik(n0, x0, n1, x1, r0, r1) >= -best.fun - 1e-9

    ratio = float(np.exp(rng.uniform(-2, 2)))
    r0, r1 = (float(v) for v in restricted_mle_ratio(n0, x0, n1, x1, ratio))
    assert r1 == pytest.approx(ratio * r0, rel=1e-12, abs=1e-300)
    best = optimize.minimize_scalar(
        lambda p: -_loglik(n0, x0, n1, x1, p, p * ratio),
        bounds=(0.0, min(1.0, 1.0 / ratio)),
        method="bounded",
        options={"xatol": 1e-12},
    )
    assert _loglik(n0, x0, n1, x1, r0, r1) >= -best.fun - 1e-9


def test_difference_interval_matches_newcombe_1998_published_miettinen_nurminen() -> None:
    # Newcombe (1998), Stat Med 17:873-890, Table II, example (a): 56/70 vs 48/80, MN interval
    # 0.0528 to 0.3382.
    result = compare_proportions(80, 48, 70, 56)
    assert result.ci_low[0] == pytest.approx(0.0528, abs=5e-5)
    assert result.ci_high[0] == pytest.approx(0.3382, abs=5e-5)


@pytest.mark.parametrize(
    ("n0", "x0", "n1", "x1"), [(1000, 50, 1000, 70), (5000, 150, 5200, 181), (800, 40, 900, 41)]
)
def test_difference_interval_near_statsmodels_score_interval(n0: int, x0: int, n1: int, x1: int) -> None:
    # statsmodels' restricted MLE for the difference uses count*delta**2 where the Farrington-Manning
    # cubic has nobs*delta**2 (see test_restricted_mle_maximises_the_likelihood for ours); the effect
    # is O(delta**2), about 1e-4 on these bounds.
    result = compare_proportions(n0, x0, n1, x1)
    low, high = confint_proportions_2indep(x1, n1, x0, n0, method="score", compare="diff", correction=True)
    assert result.ci_low[0] == pytest.approx(low, abs=3e-4)
    assert result.ci_high[0] == pytest.approx(high, abs=3e-4)


# statsmodels' root finder fails when a rate is 1, so those tables are left out of this comparison
_BELOW_ONE = [(n0, x0, n1, x1) for n0, x0, n1, x1 in _cases(3, 40) if x0 < n0 and x1 < n1]


@pytest.mark.parametrize(("n0", "x0", "n1", "x1"), _BELOW_ONE)
def test_ratio_interval_equals_statsmodels_score_interval(n0: int, x0: int, n1: int, x1: int) -> None:
    result = compare_proportions(n0, x0, n1, x1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        low, high = confint_proportions_2indep(
            x1, n1, x0, n0, method="score", compare="ratio", correction=True
        )
    assert result.rel_ci_low[0] + 1 == pytest.approx(low, rel=1e-7)
    assert result.rel_ci_high[0] + 1 == pytest.approx(high, rel=1e-7)


def test_interval_bounds_solve_the_score_equation() -> None:
    rng = np.random.default_rng(4)
    n0 = rng.integers(1, 3000, 5000)
    n1 = rng.integers(1, 3000, 5000)
    x0 = rng.binomial(n0, rng.uniform(0, 1, 5000))
    x1 = rng.binomial(n1, rng.uniform(0, 1, 5000))
    r = compare_proportions(n0, x0, n1, x1, alpha=0.1)
    z = stats.norm.ppf(0.95)
    ok = r.estimable & (r.ci_low > -1 + 1e-9)
    assert np.allclose(score_statistic_diff(n0, x0, n1, x1, r.ci_low)[ok], z, atol=1e-7)
    ok = r.estimable & (r.ci_high < 1 - 1e-9)
    assert np.allclose(score_statistic_diff(n0, x0, n1, x1, r.ci_high)[ok], -z, atol=1e-7)
    ok = r.estimable & (x1 > 0)
    assert np.allclose(score_statistic_ratio(n0, x0, n1, x1, r.rel_ci_low + 1)[ok], z, atol=1e-7)
    ok = r.estimable & (x0 > 0)
    assert np.allclose(score_statistic_ratio(n0, x0, n1, x1, r.rel_ci_high + 1)[ok], -z, atol=1e-7)
    # edge conventions: no variant successes -> relative lower bound -100%; no control successes -> +inf
    assert np.all(r.rel_ci_low[r.estimable & (x1 == 0)] == -1.0)
    assert np.all(np.isinf(r.rel_ci_high[r.estimable & (x0 == 0)]))


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 5000),
    st.integers(1, 5000),
    st.floats(0, 1),
    st.floats(0, 1),
    st.sampled_from([0.01, 0.05, 0.1, 0.2]),
)
def test_interval_excludes_zero_iff_p_below_alpha(
    n0: int, n1: int, f0: float, f1: float, alpha: float
) -> None:
    x0, x1 = round(n0 * f0), round(n1 * f1)
    r = compare_proportions(n0, x0, n1, x1, alpha=alpha)
    if not r.estimable[0]:
        assert np.isnan(r.p_value[0])
        return
    significant = r.p_value[0] < alpha
    assert significant == (r.ci_low[0] > 0 or r.ci_high[0] < 0)
    assert significant == (r.rel_ci_low[0] > 0 or r.rel_ci_high[0] < 0)
    assert r.ci_low[0] <= r.abs_lift[0] <= r.ci_high[0]


def test_degenerate_tables_are_not_estimable_never_p_one() -> None:
    r = compare_proportions([500, 40, 300], [0, 40, 3], [600, 35, 280], [0, 35, 5])
    assert r.estimable.tolist() == [False, False, True]
    assert np.isnan(r.p_value[:2]).all()
    assert np.isnan(r.ci_low[:2]).all()
    assert r.reason[0] == "no successes in either arm"
    assert r.reason[1] == "every unit is a success in both arms"
    assert r.reason[2] == ""


def test_small_counts_flag_uses_expected_successes_below_ten() -> None:
    r = compare_proportions([100, 1000, 1000], [3, 30, 2], [100, 1000, 1000], [5, 35, 3])
    # expected successes per arm under H0: 4, 32.5, 2.5
    assert r.small_counts.tolist() == [True, False, True]


def test_values_and_relative_lift() -> None:
    r = compare_proportions(2000, 100, 2000, 130)
    assert r.control_value[0] == pytest.approx(0.05)
    assert r.variant_value[0] == pytest.approx(0.065)
    assert r.abs_lift[0] == pytest.approx(0.015)
    assert r.rel_lift[0] == pytest.approx(0.3)


# ------------------------------------------------------------------------------------------------
# means
# ------------------------------------------------------------------------------------------------
def _stats(values: np.ndarray) -> tuple[int, float, float]:
    return values.size, float(values.sum()), float((values**2).sum())


@pytest.mark.parametrize("seed", range(6))
def test_welch_equals_scipy_ttest_ind(seed: int) -> None:
    rng = np.random.default_rng(seed)
    control = rng.exponential(20.0, int(rng.integers(5, 400))) * (rng.uniform(size=1) < 2)
    variant = rng.exponential(24.0, int(rng.integers(5, 400)))
    r = compare_means(*_stats(control), *_stats(variant), alpha=0.1)
    ref = stats.ttest_ind(variant, control, equal_var=False)
    assert r.statistic[0] == pytest.approx(ref.statistic, rel=1e-9)
    assert r.p_value[0] == pytest.approx(ref.pvalue, rel=1e-9)
    assert r.df[0] == pytest.approx(ref.df, rel=1e-9)
    ci = ref.confidence_interval(confidence_level=0.9)
    assert r.ci_low[0] == pytest.approx(ci.low, rel=1e-9)
    assert r.ci_high[0] == pytest.approx(ci.high, rel=1e-9)
    # by hand: Welch-Satterthwaite df, t quantile, delta method on the log ratio
    v0, v1 = control.var(ddof=1) / control.size, variant.var(ddof=1) / variant.size
    df = (v0 + v1) ** 2 / (v0**2 / (control.size - 1) + v1**2 / (variant.size - 1))
    t = stats.t.ppf(0.95, df)
    diff = variant.mean() - control.mean()
    assert r.ci_low[0] == pytest.approx(diff - t * np.sqrt(v0 + v1), rel=1e-9)
    se_log = np.sqrt(v1 / variant.mean() ** 2 + v0 / control.mean() ** 2)
    log_ratio = np.log(variant.mean() / control.mean())
    assert r.rel_ci_low[0] == pytest.approx(np.expm1(log_ratio - t * se_log), rel=1e-9)
    assert r.rel_ci_high[0] == pytest.approx(np.expm1(log_ratio + t * se_log), rel=1e-9)
    assert r.rel_lift[0] == pytest.approx(variant.mean() / control.mean() - 1, rel=1e-12)


def test_means_zero_variance_in_both_arms_is_not_estimable() -> None:
    r = compare_means([10, 10], [50.0, 50.0], [250.0, 250.0], [12, 12], [72.0, 60.0], [432.0, 310.0])
    assert r.estimable.tolist() == [False, True]
    assert np.isnan(r.p_value[0]) and r.reason[0] == "zero variance in both arms"
    assert np.isfinite(r.p_value[1])


def test_means_relative_interval_needs_positive_means() -> None:
    r = compare_means(5, 0.0, 10.0, 5, 4.0, 12.0)
    assert np.isnan(r.rel_ci_low[0]) and np.isnan(r.rel_lift[0])
    assert "positive" in r.reason[0]
    assert np.isfinite(r.p_value[0])


# ------------------------------------------------------------------------------------------------
# multiple comparisons
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("ours", "theirs"), [("holm", "holm"), ("bonferroni", "bonferroni"), ("bh", "fdr_bh")]
)
def test_adjust_pvalues_within_families_equals_multipletests(ours: str, theirs: str) -> None:
    p = np.array([0.001, 0.02, 0.04, np.nan, 0.3, 0.01, 0.03])
    fam = np.array(["a", "a", "a", "a", "b", "b", "b"])
    out = adjust_pvalues(p, fam, ours)
    assert np.allclose(out[:3], multipletests(p[:3], method=theirs)[1])
    assert np.isnan(out[3])
    assert np.allclose(out[4:], multipletests(p[4:], method=theirs)[1])
    assert np.array_equal(adjust_pvalues(p, fam, None), p, equal_nan=True)


def test_adjust_pvalues_unknown_correction() -> None:
    with pytest.raises(ParameterError, match="correction='sidak'"):
        adjust_pvalues([0.1, 0.2], correction="sidak")


def test_holm_is_bit_identical_to_statsmodels() -> None:
    rng = np.random.default_rng(0)
    for size in (1, 2, 5, 17, 60, 400):  # (statsmodels' Holm calls gc.collect(): keep the loop short)
        p = rng.uniform(size=size) ** 3
        p[rng.uniform(size=p.size) < 0.2] = p[0]  # ties
        assert np.array_equal(adjust_pvalues(p, correction="holm"), multipletests(p, method="holm")[1])


def test_means_relative_lift_needs_a_positive_control_mean() -> None:
    control = np.array([-1.0, -0.5, 0.5, -1.0])  # mean -0.5
    variant = np.array([-0.4, 0.1, -0.3, -0.2])  # mean -0.2: an improvement
    positive = np.array([1.0, 2.0, 3.0, 2.0])  # mean 2
    negative = np.array([-1.0, 0.0, -2.0, -1.0])  # mean -1

    def stats_of(a: np.ndarray) -> tuple[int, float, float]:
        return len(a), float(a.sum()), float((a * a).sum())

    r = compare_means(
        *(np.array(v) for v in zip(stats_of(control), stats_of(positive), strict=True)),
        *(np.array(v) for v in zip(stats_of(variant), stats_of(negative), strict=True)),
    )
    welch = stats.ttest_ind(variant, control, equal_var=False)
    assert r.p_value[0] == pytest.approx(welch.pvalue, rel=1e-9)
    # -0.2 / -0.5 - 1 = -60% would read as a loss: not reported, with a reason
    assert np.isnan(r.rel_lift[0]) and np.isnan(r.rel_ci_low[0]) and np.isnan(r.rel_ci_high[0])
    assert "positive control mean" in r.reason[0] and r.estimable[0]
    # a positive control and a negative variant: the relative lift exists, its log-ratio interval not
    assert r.rel_lift[1] == pytest.approx(negative.mean() / positive.mean() - 1, rel=1e-12)
    assert (
        np.isnan(r.rel_ci_low[1])
        and r.reason[1] == "relative lift interval needs both means positive; not reported"
    )


def test_few_rows_solved_on_floats_equal_the_vectorised_solver() -> None:
    """Up to 8 rows the score intervals are solved row by row on floats, each search started at the
    Wald bound; same roots as the array path to the solvers' tolerance (1e-13 absolute)."""
    rng = np.random.default_rng(14)
    n = rng.integers(1, 3000, (2, 60)).astype(float)
    x = np.floor(rng.uniform(0, 1, (2, 60)) ** rng.uniform(0.3, 4, (2, 60)) * (n + 1)).clip(0, n)
    x[0, :5], x[1, 5:10] = 0, n[1, 5:10]  # edges: no successes, every unit a success
    for mn in (True, False):
        vector = compare_proportions(n[0], x[0], n[1], x[1], mn_correction=mn)  # 60 rows: arrays
        for i in range(60):
            row = compare_proportions(n[0, i], x[0, i], n[1, i], x[1, i], mn_correction=mn)
            for field in ("p_value", "ci_low", "ci_high", "rel_ci_low", "rel_ci_high"):
                np.testing.assert_allclose(
                    getattr(row, field)[0], getattr(vector, field)[i], rtol=1e-12, atol=2e-13, err_msg=field
                )


# ------------------------------------------------------------------------------------------------
# one-sided alternatives ("larger": H1 variant - control > 0; "smaller": < 0; statsmodels' words)
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("alternative", ["larger", "smaller"])
@pytest.mark.parametrize(("n0", "x0", "n1", "x1"), _ESTIMABLE[:20])
def test_one_sided_p_value_equals_statsmodels_score_test(
    alternative: str, n0: int, x0: int, n1: int, x1: int
) -> None:
    result = compare_proportions(n0, x0, n1, x1, alternative=alternative)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = sm_test_proportions_2indep(
            x1, n1, x0, n0, method="score", correction=True, compare="diff", alternative=alternative
        )
    assert result.p_value[0] == pytest.approx(ref.pvalue, rel=1e-12, abs=1e-15)
    assert result.statistic[0] == pytest.approx(ref.statistic, rel=1e-12)


@pytest.mark.parametrize(
    ("n0", "x0", "n1", "x1"), [(1000, 50, 1000, 70), (5000, 150, 5200, 181), (800, 40, 900, 41)]
)
def test_one_sided_bounds_near_statsmodels_score_interval_at_twice_alpha(
    n0: int, x0: int, n1: int, x1: int
) -> None:
    # a one-sided bound at level 1 - alpha is one end of the two-sided interval at 1 - 2 alpha; the
    # tolerance is the two-sided test's (statsmodels' restricted MLE, see above)
    low, high = confint_proportions_2indep(x1, n1, x0, n0, method="score", compare="diff", alpha=0.1)
    rlow, rhigh = confint_proportions_2indep(x1, n1, x0, n0, method="score", compare="ratio", alpha=0.1)
    up = compare_proportions(n0, x0, n1, x1, alternative="larger")
    down = compare_proportions(n0, x0, n1, x1, alternative="smaller")
    assert up.ci_low[0] == pytest.approx(low, abs=3e-4)
    assert up.rel_ci_low[0] + 1 == pytest.approx(rlow, rel=1e-7)
    assert down.ci_high[0] == pytest.approx(high, abs=3e-4)
    assert down.rel_ci_high[0] + 1 == pytest.approx(rhigh, rel=1e-7)
    # the open ends are written as infinities
    assert up.ci_high[0] == np.inf and up.rel_ci_high[0] == np.inf
    assert down.ci_low[0] == -np.inf and down.rel_ci_low[0] == -np.inf
    # and the bound is exactly the two-sided bound at 2 alpha
    two = compare_proportions(n0, x0, n1, x1, alpha=0.1)
    assert up.ci_low[0] == two.ci_low[0] and down.ci_high[0] == two.ci_high[0]


@pytest.mark.parametrize("alternative", ["larger", "smaller"])
def test_one_sided_bound_excludes_zero_iff_p_below_alpha(alternative: str) -> None:
    cases = np.array(_cases(11, 60))
    n0, x0, n1, x1 = cases.T
    r = compare_proportions(n0, x0, n1, x1, alternative=alternative)
    m = compare_means(n0, x0, x0, n1, x1, x1, alternative=alternative)  # 0/1 data as means
    for res in (r, m):
        ok = res.estimable & (np.abs(res.p_value - 0.05) > 1e-6)
        excludes = res.ci_low > 0 if alternative == "larger" else res.ci_high < 0
        assert np.array_equal(excludes[ok], (res.p_value < 0.05)[ok])


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(("alternative", "scipy_word"), [("larger", "greater"), ("smaller", "less")])
def test_one_sided_welch_equals_scipy_ttest_ind(seed: int, alternative: str, scipy_word: str) -> None:
    rng = np.random.default_rng(seed)
    control = rng.exponential(20.0, int(rng.integers(5, 400)))
    variant = rng.exponential(24.0, int(rng.integers(5, 400)))
    r = compare_means(*_stats(control), *_stats(variant), alpha=0.1, alternative=alternative)
    ref = stats.ttest_ind(variant, control, equal_var=False, alternative=scipy_word)
    assert r.p_value[0] == pytest.approx(ref.pvalue, rel=1e-9)
    ci = ref.confidence_interval(confidence_level=0.9)
    assert r.ci_low[0] == pytest.approx(ci.low, rel=1e-9)  # -inf for "less", as scipy
    assert r.ci_high[0] == pytest.approx(ci.high, rel=1e-9)  # +inf for "greater"
    two = compare_means(*_stats(control), *_stats(variant), alpha=0.2)
    if alternative == "larger":
        assert r.rel_ci_low[0] == pytest.approx(two.rel_ci_low[0], rel=1e-12) and r.rel_ci_high[0] == np.inf
    else:
        assert r.rel_ci_high[0] == pytest.approx(two.rel_ci_high[0], rel=1e-12) and r.rel_ci_low[0] == -np.inf


def test_two_sided_default_is_unchanged_by_the_alternative_argument() -> None:
    cases = np.array(_cases(5, 30, interior=False))
    a = compare_proportions(*cases.T)
    b = compare_proportions(*cases.T, alternative="two-sided")
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.mark.parametrize("bad", ["greater", "less", "two_sided", "up", None])
def test_bad_alternative_names_the_argument_and_the_words(bad: object) -> None:
    for call in (
        lambda: compare_proportions(100, 5, 100, 9, alternative=bad),
        lambda: compare_means(3, 6.0, 14.0, 3, 9.0, 29.0, alternative=bad),
    ):
        with pytest.raises(ParameterError, match=r"alternative=.*'two-sided', 'larger', 'smaller'"):
            call()
    if bad == "greater":
        with pytest.raises(ParameterError, match="write alternative='larger'"):
            compare_proportions(100, 5, 100, 9, alternative=bad)


@pytest.mark.parametrize("alternative", ["two-sided", "larger", "smaller"])
def test_interval_searches_skipped_and_one_sided_searches_only_the_finite_end(alternative: str) -> None:
    rng = np.random.default_rng(3)
    n = rng.integers(20, 3000, (2, 40)).astype(float)
    x = np.floor(rng.uniform(0, 1, (2, 40)) * (n + 1)).clip(0, n)
    x[0, :3] = 0
    full = compare_proportions(n[0], x[0], n[1], x[1], alternative=alternative)  # 40 rows: arrays
    bare = compare_proportions(n[0], x[0], n[1], x[1], alternative=alternative, intervals=False)
    for field in ("control_value", "variant_value", "abs_lift", "rel_lift", "statistic", "p_value"):
        np.testing.assert_array_equal(getattr(bare, field), getattr(full, field))
    for field in ("ci_low", "ci_high", "rel_ci_low", "rel_ci_high"):
        assert np.isnan(getattr(bare, field)).all()
    rows = [
        compare_proportions(n[0, i], x[0, i], n[1, i], x[1, i], alternative=alternative) for i in range(40)
    ]
    for field in ("ci_low", "ci_high", "rel_ci_low", "rel_ci_high"):  # the scalar path searches all four
        np.testing.assert_allclose(
            [getattr(r, field)[0] for r in rows], getattr(full, field), rtol=1e-12, atol=2e-13, err_msg=field
        )
