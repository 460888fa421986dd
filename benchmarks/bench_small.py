"""Benchmark abkit.evaluate on one two-arm table of counts against statsmodels' score test + interval.

Target (issue 14 §2): ``evaluate()`` on aggregated two-arm counts (``n_col``) takes at most 2 ms
(median) and at most 1x statsmodels' Miettinen-Nurminen score test plus score interval on the same
counts (``test_proportions_2indep`` + ``confint_proportions_2indep``, ``method="score"``), with the
same p-value and interval. The two are timed alternately in the same process so that the load of the
machine affects both alike. Also prints the time of a 1,000-point power curve (target < 1 ms).
Run: ``.venv/bin/python benchmarks/bench_small.py``.
"""

from __future__ import annotations

import statistics
import time
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import confint_proportions_2indep, test_proportions_2indep

from abkit.evaluation import evaluate
from abkit.power import power

COUNTS = pd.DataFrame({"variant": ["control", "coupon"], "sent": [2000, 2000], "repurchased": [100, 150]})


def run_abkit() -> tuple[float, float, float]:
    row = evaluate(COUNTS, metrics=["repurchased"], n_col="sent").table.iloc[0]
    return float(row["p_value"]), float(row["ci_low"]), float(row["ci_high"])


def run_statsmodels() -> tuple[float, float, float]:
    test = test_proportions_2indep(150, 2000, 100, 2000, method="score")
    low, high = confint_proportions_2indep(150, 2000, 100, 2000, method="score")
    return float(test.pvalue), float(low), float(high)


def alternate(
    fns: list[Callable[[], object]], repeat: int, clock: Callable[[], float] = time.perf_counter
) -> list[float]:
    """Median time of each function in seconds, calls interleaved (after warm-up calls).

    ``clock`` is wall time by default; ``time.process_time`` counts only this process's CPU time,
    which a machine shared with other jobs distorts less.
    """
    for fn in fns:
        for _ in range(5):
            fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            start = clock()
            fn()
            times[i].append(clock() - start)
    return [statistics.median(t) for t in times]


def main() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, ref = run_abkit(), run_statsmodels()
        t_abkit, t_sm = alternate([run_abkit, run_statsmodels], repeat=300)
        c_abkit, c_sm = alternate([run_abkit, run_statsmodels], repeat=300, clock=time.process_time)
    print("two-arm table of counts (2,000 + 2,000 units, 100 vs 150 successes)")
    print("                                              wall median   CPU median")
    print(f"  abkit.evaluate(n_col=...)                  {t_abkit * 1e3:8.3f} ms  {c_abkit * 1e3:8.3f} ms"
          "   (target <= 2 ms)")
    print(f"  statsmodels score test + score interval    {t_sm * 1e3:8.3f} ms  {c_sm * 1e3:8.3f} ms")
    print(f"  ratio abkit / statsmodels                  {t_abkit / t_sm:8.2f}x    {c_abkit / c_sm:8.2f}x"
          "     (target <= 1x)")
    print(f"  p-value difference                         {abs(ours[0] - ref[0]):.1e}")
    gap = max(abs(ours[1] - ref[1]), abs(ours[2] - ref[2]))
    print(f"  interval difference                        {gap:.1e}"
          "  (statsmodels' restricted MLE differs: see abkit.stats.frequentist.restricted_mle_diff)")
    mde = np.linspace(0.005, 0.05, 1000)
    (t_curve,) = alternate([lambda: power(0.05, mde, 2000)], repeat=200)
    print(f"power curve, 1,000 points                    {t_curve * 1e3:7.3f} ms median (target < 1 ms)")


if __name__ == "__main__":
    main()
