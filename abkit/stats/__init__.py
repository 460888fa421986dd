"""Statistics on sufficient statistics: pure, vectorised functions of per-arm ``n``, ``sum``, ``sum_sq``.

* :mod:`abkit.stats.frequentist`: Miettinen–Nurminen score tests and intervals for rates, Welch t
  for means.
* :mod:`abkit.stats.bayesian`: Beta-Binomial and normal-approximation posteriors; probability to
  beat the control, probability to be best and expected loss by quadrature.
* :mod:`abkit.stats.multiple`: Holm, Bonferroni and Benjamini–Hochberg corrections within families.

These modules use numpy, scipy and statsmodels only; they never see customer rows.

>>> from abkit.stats import compare_proportions
>>> round(float(compare_proportions(1000, 50, 1000, 70).p_value[0]), 4)
0.0597
"""

from __future__ import annotations

from abkit.stats.bayesian import (
    GroupSummary,
    beta_group_summary,
    beta_posterior,
    lift_intervals,
    normal_group_summary,
    normal_posterior,
)
from abkit.stats.frequentist import (
    MEAN_METHOD,
    PROPORTION_METHOD,
    Comparison,
    compare_means,
    compare_proportions,
    restricted_mle_diff,
    restricted_mle_ratio,
    score_statistic_diff,
    score_statistic_ratio,
)
from abkit.stats.multiple import CORRECTION_NAMES, CORRECTIONS, adjust_pvalues

__all__ = [
    "CORRECTIONS",
    "CORRECTION_NAMES",
    "MEAN_METHOD",
    "PROPORTION_METHOD",
    "Comparison",
    "GroupSummary",
    "adjust_pvalues",
    "beta_group_summary",
    "beta_posterior",
    "compare_means",
    "compare_proportions",
    "lift_intervals",
    "normal_group_summary",
    "normal_posterior",
    "restricted_mle_diff",
    "restricted_mle_ratio",
    "score_statistic_diff",
    "score_statistic_ratio",
]
