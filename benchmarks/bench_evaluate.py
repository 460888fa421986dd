"""Benchmark abkit.evaluate: 10M per-customer rows vs a bare pandas groupby, and 10,000 aggregated segments.

Targets (issue 4): evaluating 10 million rows (4 variants, 6 segments, 3 metrics) takes at most 3x a
bare pandas ``groupby`` computing the same sums; 10,000 segments of aggregated input take under 2 s
(frequentist). Run: ``.venv/bin/python benchmarks/bench_evaluate.py``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from abkit.evaluation import evaluate

VARIANTS = ["control", "coupon", "personal", "urgency"]


def timed(fn: Callable[[], object], repeat: int = 3) -> float:
    """Median wall time of ``fn`` in seconds (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def per_unit(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    variant = pd.Categorical.from_codes(rng.integers(0, 4, n), categories=VARIANTS)
    segment = pd.Categorical.from_codes(rng.integers(0, 6, n), categories=[f"seg{i}" for i in range(6)])
    repurchased = rng.uniform(size=n) < 0.04
    return pd.DataFrame(
        {
            "variant": variant,
            "segment": segment,
            "opened": rng.uniform(size=n) < 0.2,
            "repurchased": repurchased,
            "revenue": np.where(repurchased, rng.gamma(2.0, 30.0, n), 0.0),
        }
    )


def bare_groupby(df: pd.DataFrame) -> pd.DataFrame:
    """The same sums with pandas alone: n, sums of the 3 metrics, sum of squares of revenue."""
    keys = [df["segment"], df["variant"]]
    sums = df[["opened", "repurchased", "revenue"]].groupby(keys, observed=True).sum()
    sums["revenue_sq"] = (df["revenue"] ** 2).groupby(keys, observed=True).sum()
    sums["n"] = df.groupby(keys, observed=True).size()
    return sums


def aggregated(n_segments: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = n_segments * len(VARIANTS)
    units = rng.integers(200, 5000, rows)
    opened = rng.binomial(units, 0.2)
    bought = rng.binomial(units, 0.04)
    revenue = bought * 60.0 + rng.normal(0, 5, rows).clip(0)
    return pd.DataFrame(
        {
            "segment": np.repeat([f"s{i:05d}" for i in range(n_segments)], len(VARIANTS)),
            "variant": np.tile(VARIANTS, n_segments),
            "units": units,
            "opened": opened,
            "repurchased": bought,
            "revenue": revenue,
            "revenue_sumsq": bought * 7200.0 + revenue,
        }
    )


def main() -> None:
    n = 10_000_000
    df = per_unit(n)
    metrics = ["opened", "repurchased", "revenue"]
    print(f"per-unit input: {n:,} rows, 4 variants, 6 segments, 3 metrics (categorical variant/segment)")
    base = timed(lambda: bare_groupby(df))
    print(f"  bare pandas groupby (same sums)        {base:7.3f} s")
    for method in ("frequentist", "bayesian"):
        sec = timed(lambda m=method: evaluate(df, metrics=metrics, segment_col="segment", method=m))
        print(f"  evaluate(method={method!r:14})      {sec:7.3f} s   ratio {sec / base:5.2f}x (target <= 3x)")

    agg = aggregated(10_000)
    kw = {"metrics": metrics, "segment_col": "segment", "n_col": "units"}
    sec = timed(lambda: evaluate(agg, **kw), repeat=3)
    rows = len(evaluate(agg, **kw).table)
    print(f"aggregated input: 10,000 segments x 4 variants, 3 metrics ({rows:,} result rows)")
    print(f"  evaluate(method='frequentist')         {sec:7.3f} s   (target < 2 s)")
    agg = aggregated(10_000)
    kw = {"metrics": metrics, "segment_col": "segment", "n_col": "units", "method": "bayesian"}
    start = time.perf_counter()
    evaluate(agg, **kw)
    sec = time.perf_counter() - start
    print(f"  evaluate(method='bayesian')            {sec:7.3f} s   (quadrature, no target)")

    strings = df.astype({"variant": str, "segment": str})
    base = timed(lambda: bare_groupby(strings), repeat=1)
    sec = timed(lambda: evaluate(strings, metrics=metrics, segment_col="segment"), repeat=1)
    print(f"per-unit input with string variant/segment columns: groupby {base:.3f} s, evaluate {sec:.3f} s")
    print(f"  ratio {sec / base:5.2f}x")


if __name__ == "__main__":
    main()
