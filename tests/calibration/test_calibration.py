"""Calibration suite (fast): error rates and coverage of abkit's tests, by vectorised simulation.

Fixed seed, 4,000 simulated experiments per scenario, each analysed as one segment of a single
``abkit.evaluate`` call (aggregated counts; per-unit rows for CUPED; one call per look for the
daily-peeking scenario). ``make calibrate`` runs the same scenarios with
more simulations and writes ``benchmarks/calibration.md``.
"""

from __future__ import annotations

import pytest
from calibration_scenarios import (
    Figure,
    aa_false_positive_rate,
    coverage,
    cuped_variance_reduction,
    markdown,
    peeking,
    planned_power,
)

SIMS = 4000


def _check(figures: list[Figure]) -> None:
    failed = [f for f in figures if f.holds is False]
    assert not failed, "calibration failed:\n" + markdown(failed)


def test_peeking_daily_is_safe_with_sequential_evaluate() -> None:
    fixed, seq = peeking(0.02, 500, 14, SIMS, tag=4, maximum=0.055, fixed_minimum=0.10)
    _check([fixed, seq])
    assert fixed.value > 0.15  # the well-known ~20% of daily peeking at a fixed-horizon test
    assert seq.value <= 0.055
    assert "asymptotic confidence sequence (Waudby-Smith et al. 2024), N*=14000" in seq.measure


def test_cuped_variance_reduction_and_coverage() -> None:
    reduction, cov_abs, cov_rel = cuped_variance_reduction(200, SIMS, tag=6)
    _check([reduction, cov_abs, cov_rel])


def test_aa_false_positive_rate_at_two_percent() -> None:
    freq, bayes = aa_false_positive_rate(0.02, 5000, SIMS, tag=1, low=0.035, high=0.063)
    _check([freq])
    # "95% chance to beat" under A/A: about the one-sided 5% error rate of a flat prior
    assert 0.03 <= bayes.value <= 0.07


def test_aa_false_positive_rate_at_rare_events() -> None:
    freq, _ = aa_false_positive_rate(0.005, 2000, SIMS, tag=2, low=None, high=0.063)
    _check([freq])


def test_interval_coverage_at_rare_events() -> None:
    figures = coverage(0.005, 0.0065, 2000, SIMS, tag=3, minimum=0.935)
    _check(figures)


@pytest.mark.slow
def test_power_at_planned_sample_size() -> None:
    _check(planned_power(0.02, 0.25, SIMS, tag=5))
