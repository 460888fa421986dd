"""Benchmark Bayesian evaluate at width: 10,000 aggregated two-arm segments against the frequentist time.

Target (issue 14 §3): ``evaluate(method="bayesian")`` on 10,000 aggregated two-arm segments takes at
most 5x the frequentist ``evaluate`` on the same table. Both are timed in CPU seconds of this process
(``time.process_time``) and wall seconds. Run: ``.venv/bin/python benchmarks/bench_bayes_width.py``.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from abkit.evaluation import evaluate


def two_arm_segments(n_segments: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    units = rng.integers(200, 5000, 2 * n_segments)
    return pd.DataFrame(
        {
            "segment": np.repeat([f"s{i:05d}" for i in range(n_segments)], 2),
            "variant": np.tile(["control", "coupon"], n_segments),
            "units": units,
            "repurchased": rng.binomial(units, 0.04),
        }
    )


def main() -> None:
    agg = two_arm_segments(10_000)
    kw = {"metrics": ["repurchased"], "segment_col": "segment", "n_col": "units"}
    figures = {}
    for method in ("frequentist", "bayesian"):
        evaluate(agg.head(200), method=method, **kw)  # warm-up
        wall, cpu = time.perf_counter(), time.process_time()
        evaluate(agg, method=method, **kw)
        figures[method] = (time.perf_counter() - wall, time.process_time() - cpu)
    print("10,000 aggregated two-arm segments, one rate metric (20,002 cells with the pooled rows)")
    for method, (wall, cpu) in figures.items():
        print(f"  evaluate(method={method!r:14})  wall {wall:7.3f} s   CPU {cpu:7.3f} s")
    ratio = figures["bayesian"][1] / figures["frequentist"][1]
    print(f"  ratio bayesian / frequentist (CPU)     {ratio:6.1f}x   (target <= 5x)")


if __name__ == "__main__":
    main()
