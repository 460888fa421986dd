"""Benchmark: abkit.outcomes on 1 million events for 200,000 assigned customers.

Run: ``python benchmarks/bench_outcomes.py [n_events]``. Prints seconds (target: about 1 s).
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from abkit.attribution import outcomes


def main() -> None:
    n_events = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    n_customers = n_events // 5
    rng = np.random.default_rng(0)
    assigned = pd.DataFrame(
        {
            "customer_id": np.arange(n_customers),
            "variant": rng.choice(["holdout", "coupon", "thanks"], n_customers),
            "segment": rng.choice(["high_value", "one_time"], n_customers),
        }
    )
    names = ["delivered", "opened", "clicked", "purchased", "unsubscribed", "complained", "bounced"]
    event = rng.choice(names, n_events, p=[0.3, 0.25, 0.15, 0.15, 0.05, 0.05, 0.05])
    events = pd.DataFrame(
        {
            "customer_id": rng.integers(0, int(n_customers * 1.05), n_events),
            "event": event,
            "timestamp": pd.Timestamp("2026-05-01")
            + pd.to_timedelta(rng.uniform(-3, 20, n_events), unit="D"),
            "amount": np.where(event == "purchased", rng.gamma(2.0, 20.0, n_events), np.nan),
        }
    )
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        _, diagnostics = outcomes(assigned, events, send_date="2026-05-01", return_diagnostics=True)
        times.append(time.perf_counter() - t0)
    print(f"events: {n_events:,}; assigned customers: {n_customers:,}")
    print(f"abkit.outcomes: {min(times):.3f} s (best of 3)")
    print(diagnostics[["reason", "rows"]].to_string(index=False))


if __name__ == "__main__":
    main()
