"""Benchmark Bayesian evaluate at width: 10,000 aggregated two-arm segments against the frequentist time.

Target (issue 14 §3): ``evaluate(method="bayesian")`` on 10,000 aggregated two-arm segments takes at
most 5x the frequentist ``evaluate`` on the same table. Both are timed in CPU seconds of this process
(``time.process_time``) and wall seconds; the figure is the median of ``--repeat`` runs. The
Bayesian numbers are compared with the reference path (panel quadrature and a Newton search, the
general route of :mod:`abkit.stats.bayesian`) on the same posteriors: largest absolute difference.
``--arms 3`` times three arms per segment instead (prob_best of 3 arms takes the panel route).
Run: ``.venv/bin/python benchmarks/bench_bayes_width.py [--repeat 3] [--arms 2]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pandas as pd

from abkit.evaluation import evaluate
from abkit.stats import bayesian, beta_posterior


def two_arm_segments(n_segments: int, seed: int = 1, arms: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    units = rng.integers(200, 5000, arms * n_segments)
    names = ["control", "coupon", "voucher", "letter"][:arms]
    return pd.DataFrame(
        {
            "segment": np.repeat([f"s{i:05d}" for i in range(n_segments)], arms),
            "variant": np.tile(names, n_segments),
            "units": units,
            "repurchased": rng.binomial(units, 0.04),
        }
    )


def reference_difference(agg: pd.DataFrame, arms: int) -> float:
    """Largest |fast - reference| over P(beat), P(best), expected loss and the four interval bounds.

    Bounds are compared relative to their size above 1 (a +4,900% relative bound of 2 successes sits
    where the lift's density is tiny: the reference's own 1e-11 error in probability is 1e-8 there,
    while the fast bound solves the CDF to 1e-15; see tests/test_stats_bayesian.py).
    """
    n = agg["units"].to_numpy().reshape(-1, arms)
    x = agg["repurchased"].to_numpy().reshape(-1, arms)
    a, b = beta_posterior(n, x)
    fast = bayesian.beta_group_summary(a, b)
    with np.errstate(all="ignore"):
        slow = bayesian._summary(bayesian._BETA, a, b)
    worst = max(
        float(np.nanmax(np.abs(getattr(fast, f) - getattr(slow, f))))
        for f in ("prob_best", "prob_beat_control", "expected_loss")
    )
    ctrl = (np.repeat(a[:, 0], arms - 1), np.repeat(b[:, 0], arms - 1))
    var = (a[:, 1:].reshape(-1), b[:, 1:].reshape(-1))
    bounds = np.array(bayesian.lift_intervals("beta", ctrl, var))
    with np.errstate(all="ignore"):
        ref = np.array(bayesian._panel_intervals("beta", ctrl, var, 0.05))
    return max(worst, float(np.nanmax(np.abs(bounds - ref) / np.maximum(1.0, np.abs(ref)))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--arms", type=int, default=2, choices=[2, 3, 4])
    args = parser.parse_args()
    agg = two_arm_segments(10_000, arms=args.arms)
    kw = {"metrics": ["repurchased"], "segment_col": "segment", "n_col": "units"}
    figures = {}
    for method in ("frequentist", "bayesian"):
        evaluate(agg.head(200 * args.arms), method=method, **kw)  # warm-up
        walls, cpus = [], []
        for _ in range(args.repeat):
            wall, cpu = time.perf_counter(), time.process_time()
            evaluate(agg, method=method, **kw)
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        figures[method] = (statistics.median(walls), statistics.median(cpus))
    cells = 10_001 * args.arms
    print(
        f"10,000 aggregated {args.arms}-arm segments, one rate metric ({cells:,} cells with the pooled rows),"
        f" median of {args.repeat}"
    )
    for method, (wall, cpu) in figures.items():
        print(f"  evaluate(method={method!r:14})  wall {wall:7.3f} s   CPU {cpu:7.3f} s")
    ratio = figures["bayesian"][1] / figures["frequentist"][1]
    print(f"  ratio bayesian / frequentist (CPU)     {ratio:6.1f}x   (target <= 5x)")
    diff = reference_difference(agg, args.arms)
    print(f"  max difference vs the reference path {diff:.1e}   (bounds relative above 1; target <= 1e-9)")


if __name__ == "__main__":
    main()
