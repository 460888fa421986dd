"""Benchmark abkit.power: a 1,000-point power curve (target: well under 50 ms) and the solvers."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np

from abkit import power as P


def best_ms(fn: Callable[[], object], repeat: int = 20) -> tuple[float, float]:
    """Median and best wall time of ``fn`` in milliseconds (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), min(times)


def main() -> None:
    n = np.linspace(200, 50_000, 1000)
    mdes = np.linspace(0.002, 0.04, 1000)
    cases: list[tuple[str, Callable[[], object]]] = [
        ("power(), rates, 1,000 n values (pooled)", lambda: P.power(0.04, 0.01, n)),
        (
            "power_curve(), rates, 1,000 n values, 3 variants, Dunnett",
            lambda: P.power_curve(0.04, 0.01, n=n, ratio=3, variants=3, correction="dunnett"),
        ),
        (
            "power_curve(), rates, 1,000 mde values (arcsine)",
            lambda: P.power_curve(0.04, mdes, n=5000, method="arcsine"),
        ),
        (
            "power_curve(), means, 1,000 n values (noncentral t)",
            lambda: P.power_curve(mde=2.0, n=n / 100, sd=30.0),
        ),
        ("sample_size(), rates, pooled", lambda: P.sample_size(0.04, 0.25, relative=True)),
        (
            "sample_size(), rates, 3 variants, Dunnett + continuity",
            lambda: P.sample_size(0.04, 0.01, variants=3, correction="dunnett", continuity=True),
        ),
        ("mde(), rates", lambda: P.mde(0.04, 6000)),
        ("sample_size_mean()", lambda: P.sample_size_mean(2.0, 30.0)),
        (
            "plan(), 12,000 customers, holdout + 3 variants, Dunnett",
            lambda: P.plan(
                12_000, 0.04, weights={"holdout": 1, "coupon": 3, "dm": 3, "sms": 3}, correction="dunnett"
            ),
        ),
    ]
    print(f"{'case':<62} {'median ms':>10} {'best ms':>9}")
    for name, fn in cases:
        med, best = best_ms(fn)
        print(f"{name:<62} {med:>10.3f} {best:>9.3f}")
    # cold: critical values are cached per design; these clear the caches before every run
    cold: list[tuple[str, Callable[[], object]]] = [
        (
            "power_curve(), rates, 1,000 n, 3 variants, Dunnett, cold",
            lambda: P.power_curve(0.04, 0.01, n=n, ratio=3, variants=3, correction="dunnett"),
        ),
        (
            "power_curve(), means, 1,000 n, 3 variants, Dunnett (mv t), cold",
            lambda: P.power_curve(mde=2.0, n=n / 100, sd=30.0, variants=3, correction="dunnett"),
        ),
        (
            "sample_size_mean(), 3 variants, Dunnett (mv t), cold",
            lambda: P.sample_size_mean(2.0, 30.0, variants=3, correction="dunnett"),
        ),
    ]
    for name, fn in cold:

        def run(fn: Callable[[], object] = fn) -> None:
            P._critical.cache_clear()
            P._max_cdf_spline.cache_clear()
            fn()

        med, best = best_ms(run, repeat=3)
        print(f"{name:<62} {med:>10.3f} {best:>9.3f}")


if __name__ == "__main__":
    main()
