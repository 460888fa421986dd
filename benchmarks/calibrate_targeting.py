"""Calibration of abkit.target on abkit.datasets.targeting_test (planted cell effects, exact truth).

Prints, each against its target (issue 15):

* at 12,000 customers: the plan's true value as a share of the oracle's (>= 80%) and the share of
  cells whose arm is the oracle's (>= 85%);
* at 50,000 customers: the plan's true value as a share of the oracle's (>= 95%);
* coverage: the plan-value interval (``plan.value``, row "plan", 95%) covers the true value of the
  plan shown in >= 93.5% of seeds (at 12,000 customers);
* without heterogeneity (``heterogeneous=False``): the gate adopts a plan in <= 5% of seeds;
* after a next wave assigned by ``plan.assign`` (10% exploration, 5% holdout), the IPW value
  (``value_of``) of an arbitrary other plan is unbiased: mean error within 2 standard errors.

Each target() call uses n_boot=200, as by default. Seeds default to 300 (200 for the IPW check).

    .venv/bin/python benchmarks/calibrate_targeting.py [--seeds 300] [--ipw-seeds 200]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from abkit.datasets import targeting_test
from abkit.targeting import target, value_of

CELLS = ["segment", "recency_band"]


def _plan(t, seed: int):
    return target(t.outcomes, costs=t.costs, margin=t.margin, control=t.control, cells=CELLS, seed=seed)


def _arm_right(t, plan) -> float:
    oracle = t.oracle_plan
    return float(np.mean([max(plan.policy[k], key=plan.policy[k].get) == arm for k, arm in oracle.items()]))


def _accuracy(n: int, seeds: int) -> dict[str, float]:
    share, right, covered, adopted, width = [], [], [], [], []
    for seed in range(seeds):
        t = targeting_test(n, seed=seed)
        plan = _plan(t, seed)
        truth = t.true_value(plan)
        share.append(truth / t.true_value(t.oracle_plan))
        right.append(_arm_right(t, plan))
        row = plan.value.set_index("policy").loc["plan"]
        covered.append(row["ci_low"] <= 1000 * truth <= row["ci_high"])
        width.append(row["ci_high"] - row["ci_low"])
        adopted.append(plan.adopt)
    return {
        "share": float(np.mean(share)),
        "share_p10": float(np.percentile(share, 10)),
        "right": float(np.mean(right)),
        "coverage": float(np.mean(covered)),
        "adopted": float(np.mean(adopted)),
        "width": float(np.mean(width)),
    }


def _false_adoption(n: int, seeds: int) -> float:
    return float(
        np.mean([_plan(targeting_test(n, seed=s, heterogeneous=False), s).adopt for s in range(seeds)])
    )


def _ipw_unbiased(n: int, seeds: int) -> tuple[float, float, float, float]:
    """Mean IPW error of a fixed arbitrary plan over waves assigned with exploration, and its SE."""
    first = targeting_test(n, seed=10_000)
    plan = _plan(first, 0)
    rng = np.random.default_rng(123)
    other = {key: first.arms[int(rng.integers(len(first.arms)))] for key in first.oracle_plan}
    truth = first.true_value(other)
    errors, aipw = [], []
    for seed in range(seeds):
        units = targeting_test(n, seed=20_000 + seed).outcomes[["customer_id", *CELLS]]
        wave = plan.assign(units, salt=f"wave-{seed}")
        observed = first.draw_outcomes(wave, seed=seed)
        v = value_of(
            other, observed, costs=first.costs, margin=first.margin, control=first.control, cells=CELLS
        ).table.set_index("estimator")
        errors.append(v.loc["ipw", "value"] - truth)
        aipw.append(v.loc["aipw", "value"] - truth)
    errors_a = np.asarray(errors)
    return float(errors_a.mean()), float(errors_a.std(ddof=1) / np.sqrt(seeds)), float(np.mean(aipw)), truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=300)
    parser.add_argument("--ipw-seeds", type=int, default=200)
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # each figure shows as soon as it is known
    start = time.perf_counter()

    small = _accuracy(12_000, args.seeds)
    print(
        f"12,000 customers, {args.seeds} seeds: plan's true value "
        f"{100 * small['share']:.1f}% of the oracle's "
        f"(target >= 80%; 10th percentile {100 * small['share_p10']:.1f}%), best arm right in "
        f"{100 * small['right']:.1f}% of cells (target >= 85%), adopted in "
        f"{100 * small['adopted']:.1f}% of seeds"
    )
    print(
        f"coverage of the plan-value interval (12,000 customers): {100 * small['coverage']:.1f}% "
        f"(target >= 93.5%; mean width {small['width']:,.0f} per 1,000)"
    )
    large = _accuracy(50_000, args.seeds)
    print(
        f"50,000 customers, {args.seeds} seeds: plan's true value "
        f"{100 * large['share']:.1f}% of the oracle's "
        f"(target >= 95%), best arm right in {100 * large['right']:.1f}% of cells, coverage "
        f"{100 * large['coverage']:.1f}%"
    )
    false = _false_adoption(12_000, args.seeds)
    print(f"no heterogeneity, 12,000 customers: plan adopted in {100 * false:.1f}% of seeds (target <= 5%)")
    mean, se, aipw, truth = _ipw_unbiased(12_000, args.ipw_seeds)
    verdict = "within" if abs(mean) <= 2 * se else "OUTSIDE"
    print(
        f"IPW after a wave with exploration, {args.ipw_seeds} seeds: mean error {mean:+.4f} per customer "
        f"(SE {se:.4f}; {verdict} 2 SE; true value {truth:.4f}); AIPW mean error {aipw:+.4f}"
    )
    print(f"({time.perf_counter() - start:,.0f} s)")


if __name__ == "__main__":
    main()
