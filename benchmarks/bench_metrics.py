"""Benchmark: sufficient_statistics on 10M per-customer rows vs a bare pandas groupby of the same sums.

Run: ``python benchmarks/bench_metrics.py [n_rows]``. Prints seconds and the ratio (target <= 3x).
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from abkit.metrics import sufficient_statistics


def make_data(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    variants = np.array(["holdout", "coupon", "personal", "thanks"])
    segments = np.array(["high_value", "high_freq", "one_time", "recent", "lapsed", "other"])
    return pd.DataFrame(
        {
            "variant": variants[rng.integers(0, 4, n)],
            "segment": segments[rng.integers(0, 6, n)],
            "opened": rng.random(n) < 0.2,
            "repurchased": (rng.random(n) < 0.05).astype(np.int64),
            "revenue": np.where(rng.random(n) < 0.05, rng.gamma(2.0, 30.0, n), 0.0),
        }
    )


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
    data = make_data(n)
    cols = ["opened", "repurchased", "revenue"]

    def bare() -> pd.DataFrame:
        # the same sums: count, sum of each metric, sum of squares of the mean metric
        frame = data[["segment", "variant", *cols]].assign(revenue_sq=data["revenue"] ** 2)
        return frame.groupby(["segment", "variant"]).agg(
            n=("opened", "size"),
            opened=("opened", "sum"),
            repurchased=("repurchased", "sum"),
            revenue=("revenue", "sum"),
            revenue_sq=("revenue_sq", "sum"),
        )

    def bare_sum() -> pd.DataFrame:
        return data.groupby(["segment", "variant"])[cols].sum()

    def abkit_stats() -> pd.DataFrame:
        return sufficient_statistics(data, cols, segment_col="segment")

    t_sum = best_of(bare_sum)
    t_bare = best_of(bare)
    t_abkit = best_of(abkit_stats)
    print(f"rows: {n:,}; 4 variants, 6 segments, 3 metrics (bool, 0/1 int, float)")
    print(f"bare pandas groupby(...)[cols].sum():          {t_sum:.3f} s")
    print(f"bare pandas groupby agg (n, sums, sum of sq):  {t_bare:.3f} s")
    print(f"abkit.sufficient_statistics (with validation): {t_abkit:.3f} s")
    print(f"ratio to bare groupby sum: {t_abkit / t_sum:.2f}x; to bare groupby agg: {t_abkit / t_bare:.2f}x")


if __name__ == "__main__":
    main()
