"""Random-effects meta-analysis against statsmodels and a published metafor example."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.meta_analysis import combine_effects

from abkit.errors import ParameterError
from abkit.meta import random_effects

# Kacker (2004), the example of statsmodels' own meta-analysis tests
KACKER_Y = np.array([61.00, 61.40, 62.21, 62.30, 62.34, 62.60, 62.70, 62.84, 65.90])
KACKER_V = np.array([0.2025, 1.2100, 0.0900, 0.2025, 0.3844, 0.5625, 0.0676, 0.0225, 1.8225])

# BCG vaccine trials (Colditz et al. 1994; metafor's dat.bcg): tpos, tneg, cpos, cneg
BCG = np.array(
    [
        [4, 119, 11, 128],
        [6, 300, 29, 274],
        [3, 228, 11, 209],
        [62, 13536, 248, 12619],
        [33, 5036, 47, 5761],
        [180, 1361, 372, 1079],
        [8, 2537, 10, 619],
        [505, 87886, 499, 87892],
        [29, 7470, 45, 7232],
        [17, 1699, 65, 1600],
        [186, 50448, 141, 27197],
        [5, 2493, 3, 2338],
        [27, 16886, 29, 17825],
    ],
    dtype=float,
)


def _bcg() -> tuple[np.ndarray, np.ndarray]:
    a, b, c, d = BCG.T
    yi = np.log(a / (a + b)) - np.log(c / (c + d))
    vi = 1 / a - 1 / (a + b) + 1 / c - 1 / (c + d)
    return yi, vi


@pytest.mark.parametrize(
    "y, v", [(KACKER_Y, KACKER_V), _bcg(), ([0.01, 0.05, 0.02, 0.04], [1e-4, 4e-4, 2e-4, 1e-4])]
)
def test_dersimonian_laird_matches_statsmodels_combine_effects(y, v):
    ours = random_effects(y, v, method="dl")
    ref = combine_effects(np.asarray(y), np.asarray(v), method_re="chi2")
    assert ours.estimate == pytest.approx(ref.mean_effect_re, abs=1e-8)
    assert ours.se == pytest.approx(ref.sd_eff_w_re, abs=1e-8)
    assert ours.tau2 == pytest.approx(ref.tau2, abs=1e-8)
    assert ours.i2 == pytest.approx(ref.i2, abs=1e-8)
    assert ours.q == pytest.approx(ref.q, abs=1e-8)
    low, high = ref.conf_int(use_t=False)[1]  # the random-effects row
    assert (ours.ci_low, ours.ci_high) == pytest.approx((low, high), abs=1e-8)
    assert ours.method == "random effects (DerSimonian-Laird)"


def test_reml_matches_published_metafor_bcg_example():
    # metafor: rma(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg):
    # estimate -0.7145 (se 0.1798), tau^2 0.3132, I^2 92.22%, Q(df = 12) = 152.2330
    r = random_effects(*_bcg(), method="reml")
    assert r.estimate == pytest.approx(-0.7145, abs=5e-5)
    assert r.se == pytest.approx(0.1798, abs=5e-5)
    assert r.tau2 == pytest.approx(0.3132, abs=5e-5)
    assert r.i2 == pytest.approx(0.9222, abs=5e-5)
    assert r.q == pytest.approx(152.2330, abs=5e-4)
    assert r.q_df == 12 and r.q_p_value < 1e-20
    assert r.converged and r.method == "random effects (REML)"


def test_reml_is_a_maximum_of_the_restricted_likelihood():
    y, v = KACKER_Y, KACKER_V

    def restricted_loglik(tau2: float) -> float:
        w = 1 / (v + tau2)
        mu = np.sum(w * y) / np.sum(w)
        return -0.5 * (np.sum(np.log(v + tau2)) + np.log(np.sum(w)) + np.sum(w * (y - mu) ** 2))

    r = random_effects(y, v, method="reml")
    grid = np.linspace(0, 5, 5001)
    best = grid[np.argmax([restricted_loglik(t) for t in grid])]
    assert r.tau2 == pytest.approx(best, abs=1e-3)
    assert restricted_loglik(r.tau2) >= max(
        restricted_loglik(r.tau2 - 1e-4), restricted_loglik(r.tau2 + 1e-4)
    )


def test_homogeneous_waves_have_zero_tau2_and_one_wave_is_not_estimable():
    r = random_effects([0.03, 0.03, 0.03], [1e-4, 1e-4, 1e-4])
    assert r.tau2 == 0 and r.i2 == 0 and r.estimate == pytest.approx(0.03)
    one = random_effects([0.03], [1e-4])
    assert one.estimate == 0.03 and np.isnan(one.tau2) and np.isnan(one.i2) and np.isnan(one.q_p_value)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"effect": [], "variance": []}, "empty"),
        ({"effect": [1, 2], "variance": [1]}, "one variance each"),
        ({"effect": [1, 2], "variance": [1, 0]}, "positive"),
        ({"effect": [1, float("nan")], "variance": [1, 1]}, "finite"),
        ({"effect": [1, 2], "variance": [1, 1], "method": "pm"}, "'reml' or 'dl'"),
    ],
)
def test_bad_input_is_named(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        random_effects(**kwargs)
