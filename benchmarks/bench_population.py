"""Benchmark: abkit.rfm and abkit.build_population on 10 million transactions of 2 million customers.

Run: ``python benchmarks/bench_population.py [n_rows]``. Prints seconds and peak memory.
"""

from __future__ import annotations

import resource
import sys
import time

import numpy as np
import pandas as pd

from abkit.population import build_population, rfm


def main(n: int = 10_000_000) -> None:
    rng = np.random.default_rng(1)
    n_customers = max(n // 5, 1)
    transactions = pd.DataFrame(
        {
            "customer_id": rng.integers(0, n_customers, n),
            "order_date": pd.Timestamp("2020-01-01")
            + pd.to_timedelta(rng.integers(0, 5 * 365 * 86400, n), unit="s"),
            "amount": np.round(rng.gamma(2, 30, n), 2),
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": np.arange(n_customers),
            "opted_out": rng.random(n_customers) < 0.05,
            "complained": rng.random(n_customers) < 0.01,
            "hard_bounced": rng.random(n_customers) < 0.02,
        }
    )
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    rfm(transactions, as_of="2024-06-30")
    print(f"rfm, {n:,} rows / {n_customers:,} customers: {time.perf_counter() - start:.2f} s")
    start = time.perf_counter()
    population = build_population(transactions, as_of="2024-06-30", customers=customers)
    print(f"build_population, {n:,} rows: {time.perf_counter() - start:.2f} s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MB (input data alone {base:.0f} MB)")
    print(repr(population))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000)
