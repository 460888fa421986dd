"""Benchmark: wall time of one scheduled report (`abkit report`) for a 200,000-customer shop.

Prepares the demo experiment once under ``benchmarks/.cache/`` (ignored by git), then times
``abkit.run_report`` (papermill + nbconvert, kernel start included) and, separately, the analysis
it runs (``abkit.workflow.analyse``). Target: the report in under 15 s.
Run: ``python benchmarks/bench_report.py [n_customers]``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from abkit.report import run_report
from abkit.workflow import analyse, prepare_demo

CACHE = Path(__file__).resolve().parent / ".cache"


def main(n_customers: int = 200_000) -> None:
    folder = CACHE / f"report-{n_customers}" / "winback-demo"
    start = time.perf_counter()
    exp = prepare_demo(folder, n_customers=n_customers, seed=7, say=lambda _: None)
    print(f"prepare (cached after the first run): {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    readout = analyse(exp, as_of="2026-06-14")
    print(f"analyse, {len(readout.assignment):,} assigned customers: {time.perf_counter() - start:.2f} s")
    times = []
    for _ in range(2):
        start = time.perf_counter()
        run_report(folder, as_of="2026-06-14", force=True)
        times.append(time.perf_counter() - start)
    print(
        f"abkit report, {n_customers:,} customers in the shop: "
        f"best {min(times):.1f} s of {len(times)} (target < 15 s)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
