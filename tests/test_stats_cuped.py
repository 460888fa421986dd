"""Tests for abkit.stats.cuped: CUPED regression adjustment and post-stratification.

References: statsmodels OLS of ``y ~ 1 + treatment + centred covariates`` (the ANCOVA estimate;
classical and HC2 standard errors) and of Lin's (2013) fully interacted regression
``y ~ treatment * centred stratum dummies`` with HC2 standard errors.
"""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from abkit.errors import DataError, ParameterError
from abkit.stats.cuped import CupedResult, CupedStats, cuped, poststratified_difference


def _experiment(seed: int, n: int = 3000, k: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 2, n)
    # pre-period monetary value, frequency, recency of dormant customers: skewed and correlated
    freq = rng.poisson(3.0, n).astype(float)
    value = rng.gamma(2.0, 20.0, n) + 5 * freq
    recency = rng.uniform(180, 720, n)
    x = np.column_stack([value, freq, recency])[:, :k]
    y = 2.0 + 1.5 * t + 0.08 * value + 0.5 * freq - 0.002 * recency + rng.gamma(1.5, 2.0, n) * (1 + 0.4 * t)
    return y, x, t


def _ols(y: np.ndarray, x: np.ndarray, t: np.ndarray, cov_type: str = "nonrobust"):
    design = sm.add_constant(np.column_stack([t, x - x.mean(axis=0)]))
    return sm.OLS(y, design).fit(cov_type=cov_type)


def _split(y: np.ndarray, x: np.ndarray, t: np.ndarray) -> tuple[CupedStats, CupedStats]:
    return CupedStats.from_arrays(y[t == 0], x[t == 0]), CupedStats.from_arrays(y[t == 1], x[t == 1])


@pytest.mark.parametrize("k", [1, 2, 3])
def test_classical_matches_statsmodels_ols_exactly(k: int) -> None:
    y, x, t = _experiment(1, k=k)
    fit = _ols(y, x, t)
    r = cuped(*_split(y, x, t), variance="classical")
    assert float(r.difference) == pytest.approx(fit.params[1], rel=1e-10)
    assert float(np.sqrt(r.variance)) == pytest.approx(fit.bse[1], rel=1e-9)
    assert float(r.df) == fit.df_resid
    assert float(r.p_value) == pytest.approx(fit.pvalues[1], rel=1e-6)
    low, high = fit.conf_int(alpha=0.05)[1]
    assert float(r.ci_low) == pytest.approx(low, rel=1e-9)
    assert float(r.ci_high) == pytest.approx(high, rel=1e-9)
    assert r.theta == pytest.approx(fit.params[2:], rel=1e-9)


def test_unequal_variance_is_per_arm_residual_variance_and_close_to_hc2() -> None:
    y, x, t = _experiment(2, n=6000, k=2)
    fit = _ols(y, x, t, cov_type="HC2")
    r = cuped(*_split(y, x, t))
    theta = fit.params[2:]
    assert float(r.difference) == pytest.approx(fit.params[1], rel=1e-10)
    var = sum(np.var(y[t == a] - x[t == a] @ theta, ddof=1) / np.sum(t == a) for a in (0, 1))
    assert float(r.variance) == pytest.approx(var, rel=1e-9)
    # theta treated as known: agrees with the robust (HC2) OLS standard error to O(1/n)
    assert float(np.sqrt(r.variance)) == pytest.approx(fit.bse[1], rel=0.01)
    # Welch-Satterthwaite degrees of freedom on the residual variances
    v0, v1 = float(r.control_var), float(r.variant_var)
    n0, n1 = np.sum(t == 0), np.sum(t == 1)
    assert float(r.df) == pytest.approx((v0 + v1) ** 2 / (v0**2 / (n0 - 1) + v1**2 / (n1 - 1)), rel=1e-10)


def test_adjusted_means_relative_lift_and_variance_reduction() -> None:
    y, x, t = _experiment(3, n=8000, k=1)
    r = cuped(*_split(y, x, t), covariates=["past_value"])
    theta = float(r.theta[0])
    xbar = x[:, 0].mean()
    for arm, mean in ((0, r.control_mean), (1, r.variant_mean)):
        adj = y[t == arm] - theta * (x[t == arm, 0] - xbar)
        assert float(mean) == pytest.approx(adj.mean(), rel=1e-12)
    assert float(r.rel_lift) == pytest.approx(float(r.variant_mean / r.control_mean) - 1, rel=1e-12)
    assert float(r.rel_ci_low) < float(r.rel_lift) < float(r.rel_ci_high)
    unadj = np.var(y[t == 0], ddof=1) / np.sum(t == 0) + np.var(y[t == 1], ddof=1) / np.sum(t == 1)
    assert float(r.variance_unadjusted) == pytest.approx(unadj, rel=1e-10)
    assert float(r.variance_reduction) == pytest.approx(1 - float(r.variance) / unadj, rel=1e-12)
    # with one covariate each arm's variance shrinks by about its squared correlation (Deng et al.)
    parts = [np.var(y[t == a], ddof=1) / np.sum(t == a) for a in (0, 1)]
    rho2 = [np.corrcoef(y[t == a], x[t == a, 0])[0, 1] ** 2 for a in (0, 1)]
    expected = (parts[0] * rho2[0] + parts[1] * rho2[1]) / (parts[0] + parts[1])
    assert float(r.variance_reduction) == pytest.approx(expected, abs=0.005)
    assert 0.2 < float(r.variance_reduction) < 0.9


def test_rows_are_vectorised_and_statistics_add() -> None:
    sets = [_experiment(s, n=1500) for s in (4, 5, 6)]
    pairs = [_split(*d) for d in sets]
    stacked = [
        CupedStats(
            *(
                np.stack([getattr(p[a], f) for p in pairs])
                for f in ("n", "sum", "sum_sq", "sum_x", "sum_xx", "sum_xy")
            )
        )
        for a in (0, 1)
    ]
    together = cuped(*stacked, variance="classical")
    for i, (c, v) in enumerate(pairs):
        alone = cuped(c, v, variance="classical")
        assert together.difference[i] == pytest.approx(float(alone.difference), rel=1e-12)
        assert together.variance[i] == pytest.approx(float(alone.variance), rel=1e-12)
    y, x, _ = sets[0]
    whole = CupedStats.from_arrays(y, x)
    halves = CupedStats.from_arrays(y[:700], x[:700]) + CupedStats.from_arrays(y[700:], x[700:])
    assert halves.sum_xx == pytest.approx(whole.sum_xx) and float(halves.n) == 1500


def test_result_renders() -> None:
    y, x, t = _experiment(7, k=2)
    r = cuped(*_split(y, x, t), covariates=("value", "frequency"))
    assert isinstance(r, CupedResult)
    table = r.to_pandas()
    for col in ("abs_lift", "ci_low", "rel_lift", "p_value", "variance_reduction", "theta_value", "method"):
        assert col in table.columns
    assert "pooled across arms" in table["method"].iloc[0]
    assert "variance_reduction" in repr(r) and "value" in r._repr_html_()


def test_constant_covariate_is_named() -> None:
    y, x, t = _experiment(8, k=2)
    x = x.copy()
    x[:, 1] = 4.0
    with pytest.raises(DataError, match=r"'frequency'.*constant"):
        cuped(*_split(y, x, t), covariates=["value", "frequency"])


def test_nan_covariate_is_named() -> None:
    y, x, t = _experiment(9, k=2)
    x = x.copy()
    x[5, 0] = np.nan
    with pytest.raises(DataError, match=r"'value'.*NaN"):
        cuped(*_split(y, x, t), covariates=["value", "frequency"])


def test_other_bad_input() -> None:
    y, x, t = _experiment(10, k=1)
    c, v = _split(y, x, t)
    with pytest.raises(DataError, match="collinear"):
        cuped(*_split(y, np.column_stack([x, 2 * x]), t), covariates=["a", "b"])
    with pytest.raises(ParameterError, match="covariates"):
        cuped(c, v, covariates=["a", "b"])
    with pytest.raises(ParameterError, match="variance"):
        cuped(c, v, variance="robust")
    with pytest.raises(ParameterError, match="control must be a CupedStats"):
        cuped({"n": 3}, v)  # type: ignore[arg-type]
    tiny = CupedStats.from_arrays([1.0], [[2.0]])
    with pytest.raises(DataError, match="n_control"):
        cuped(tiny, v)
    with pytest.raises(DataError, match="sum_variant"):
        cuped(c, CupedStats(v.n, np.asarray(np.nan), v.sum_sq, v.sum_x, v.sum_xx, v.sum_xy))


# ------------------------------------------------------------------ post-stratification


def _stratified(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    sizes = np.array([900, 2500, 600, 1400])
    s = np.repeat(np.arange(4), sizes)
    t = rng.integers(0, 2, s.size)
    base = np.array([5.0, 12.0, 30.0, 8.0])[s]
    y = rng.gamma(1.2, base * (1 + 0.1 * t * (s + 1)) / 1.2)
    return y, s, t


def test_poststratified_difference_matches_lin_regression_hc2() -> None:
    y, s, t = _stratified(12)
    dummies = np.column_stack([(s == j).astype(float) for j in (1, 2, 3)])
    dummies -= dummies.mean(axis=0)
    design = sm.add_constant(np.column_stack([t, dummies, t[:, None] * dummies]))
    fit = sm.OLS(y, design).fit(cov_type="HC2")
    stats_ = {}
    for arm in (0, 1):
        sel = [y[(s == j) & (t == arm)] for j in range(4)]
        stats_[arm] = ([a.size for a in sel], [a.sum() for a in sel], [(a**2).sum() for a in sel])
    r = poststratified_difference(*stats_[0], *stats_[1])
    assert float(r.difference) == pytest.approx(fit.params[1], rel=1e-10)
    assert float(np.sqrt(r.variance)) == pytest.approx(fit.bse[1], rel=1e-10)
    assert r.weights == pytest.approx(np.bincount(s) / s.size)
    assert float(r.rel_lift) == pytest.approx(float(r.variant_mean / r.control_mean) - 1)
    assert float(r.rel_log_variance) == pytest.approx(
        float(r.variant_var / r.variant_mean**2 + r.control_var / r.control_mean**2)
    )


def test_poststratification_weights_axis_and_proportions() -> None:
    n_c = np.array([[400, 600], [100, 100]])
    succ_c = np.array([[8, 30], [2, 5]])
    n_v = np.array([[410, 590], [100, 100]])
    succ_v = np.array([[12, 33], [4, 5]])
    r = poststratified_difference(n_c, succ_c, succ_c, n_v, succ_v, succ_v)
    w = (n_c + n_v) / (n_c + n_v).sum(axis=1, keepdims=True)
    assert r.difference == pytest.approx((w * (succ_v / n_v - succ_c / n_c)).sum(axis=1))
    # sample variance of a 0/1 outcome has divisor n - 1: p(1 - p) n / (n - 1)
    p = succ_c / n_c
    assert r.control_var == pytest.approx((w**2 * p * (1 - p) / (n_c - 1)).sum(axis=1))
    by_col = poststratified_difference(n_c.T, succ_c.T, succ_c.T, n_v.T, succ_v.T, succ_v.T, axis=0)
    assert by_col.difference == pytest.approx(r.difference)
    fixed = poststratified_difference(n_c, succ_c, succ_c, n_v, succ_v, succ_v, stratum_sizes=[3000, 1000])
    assert fixed.weights[0] == pytest.approx([0.75, 0.25])


def test_poststratification_bad_input() -> None:
    with pytest.raises(DataError, match="sum_control"):
        poststratified_difference([10, 10], [1, np.nan], [1, 1], [10, 10], [1, 1], [1, 1])
    with pytest.raises(DataError, match="n_variant"):
        poststratified_difference([10, 10], [1, 1], [1, 1], [10, 1], [1, 1], [1, 1])
    with pytest.raises(DataError, match="stratum_sizes"):
        poststratified_difference([10, 10], [1, 1], [1, 1], [10, 10], [1, 1], [1, 1], stratum_sizes=[0, 5])
    with pytest.raises(ParameterError, match="shapes"):
        poststratified_difference([10, 10, 10], [1, 1], [1, 1], [10, 10], [1, 1], [1, 1])
