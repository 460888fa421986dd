"""Benchmark of abkit.target: 100,000 customers x 40 cells x 4 arms, n_boot=200 (target: < 3 s).

The whole pipeline is timed: validation, five-fold cross-fitting, 200 Poisson-bootstrap replicates
of the learn-and-value pipeline (vectorised over the cell-level sums), the full-data plan, its
table and the cross-fitted budget curve. Best of three runs (wall and CPU seconds), after one
warm-up; the data come from abkit.datasets.targeting_test. A budgeted run is timed as well (its
greedy knapsack runs once per replicate and fold).

    .venv/bin/python benchmarks/bench_targeting.py [--n 100000] [--n-boot 200]
"""

from __future__ import annotations

import argparse
import time

from abkit.datasets import targeting_test
from abkit.targeting import target

TARGET_SECONDS = 3.0


def _time(fn, repeat: int = 3) -> tuple[float, float]:
    best_wall, best_cpu = float("inf"), float("inf")
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        best_wall = min(best_wall, time.perf_counter() - w0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return best_wall, best_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--n-boot", type=int, default=200)
    args = parser.parse_args()
    t = targeting_test(args.n, seed=0)
    kwargs = dict(
        costs=t.costs,
        margin=t.margin,
        control="holdout",
        cells=["segment", "recency_band"],
        n_boot=args.n_boot,
    )
    target(t.outcomes, **kwargs)  # warm-up (imports, caches)
    wall, cpu = _time(lambda: target(t.outcomes, **kwargs))
    verdict = "OK" if wall < TARGET_SECONDS else "SLOW"
    print(
        f"target: {args.n:,} customers x 40 cells x 4 arms, n_boot={args.n_boot}: "
        f"{wall:.2f} s wall, {cpu:.2f} s CPU (target < {TARGET_SECONDS:.0f} s) {verdict}"
    )
    wall_b, cpu_b = _time(lambda: target(t.outcomes, budget={"contacts": args.n // 2}, **kwargs), repeat=1)
    print(f"target with budget={{'contacts': {args.n // 2:,}}}: {wall_b:.2f} s wall, {cpu_b:.2f} s CPU")


if __name__ == "__main__":
    main()
