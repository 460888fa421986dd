"""Calibration scenarios: vectorised A/A and known-effect simulations run through the public API.

Each scenario simulates thousands of experiments at once, aggregates them into counts (one
segment per simulated experiment, so one ``abkit.evaluate`` call analyses them all) and returns
a :class:`Figure`: what was measured, the simulated value, the requirement and whether it holds.
Used by ``tests/calibration/test_calibration.py`` (fast, fixed seed) and by
``benchmarks/calibrate.py`` (more simulations, writes ``benchmarks/calibration.md``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

import abkit

SEED = 20261123
ALPHA = 0.05


@dataclass(frozen=True)
class Figure:
    """One line of the calibration table."""

    scenario: str
    measure: str
    value: float
    sims: int
    requirement: str
    holds: bool | None  # None: reported only, no requirement
    se: float | None = None  # Monte Carlo standard error when the value is a mean, not a share

    @property
    def mc_se(self) -> float:
        """Monte Carlo standard error of the simulated share (or the given one of a mean)."""
        if self.se is not None:
            return self.se
        return math.sqrt(max(self.value * (1 - self.value), 1e-12) / self.sims)


def _rng(tag: int, seed: int = SEED) -> np.random.Generator:
    return np.random.default_rng([seed, tag])


def _aggregated(
    succ_control: np.ndarray, succ_variant: np.ndarray, n_control: int, n_variant: int
) -> pd.DataFrame:
    """Two rows per simulated experiment: segment ``sim`` is the simulation id."""
    sims = succ_control.size
    ids = np.char.add("s", np.arange(sims).astype(str))
    return pd.DataFrame(
        {
            "sim": np.repeat(ids, 2),
            "variant": np.tile(["control", "treatment"], sims),
            "n": np.tile([n_control, n_variant], sims).astype(np.int64),
            "repurchased": np.column_stack([succ_control, succ_variant]).ravel().astype(np.int64),
        }
    )


def _evaluate(agg: pd.DataFrame, **kwargs: object) -> pd.DataFrame:
    ev = abkit.evaluate(agg, metrics=["repurchased"], n_col="n", segment_col="sim", correction=None, **kwargs)
    table = ev.table
    return table[table["segment"] != "all"]


def aa_false_positive_rate(
    base: float, n: int, sims: int, *, tag: int, low: float | None, high: float
) -> list[Figure]:
    """A/A at ``base`` rate with ``n`` per arm: frequentist FPR and the Bayesian 'P(beat) > 95%' share."""
    rng = _rng(tag)
    agg = _aggregated(rng.binomial(n, base, sims), rng.binomial(n, base, sims), n, n)
    freq = _evaluate(agg)
    fpr = float(np.mean(freq["significant"].to_numpy(dtype=bool)))
    name = f"A/A, {base:.1%} base rate, {n:,} per arm"
    need = f"within {low:.1%}–{high:.1%}" if low is not None else f"at most {high:.1%}"
    holds = (low is None or fpr >= low) and fpr <= high
    figures = [Figure(name, "false-positive rate (fixed horizon, alpha 5%)", fpr, sims, need, holds)]
    # prob_beat_control is computed by deterministic quadrature, not by random draws
    bayes = _evaluate(agg, method="bayesian")
    share = float(np.mean(bayes["prob_beat_control"].to_numpy(dtype=float) > 0.95))
    figures.append(
        Figure(
            name, "share with prob_beat_control > 95% (Bayesian, Beta(1,1))", share, sims, "reported", None
        )
    )
    return figures


def coverage(base: float, treated: float, n: int, sims: int, *, tag: int, minimum: float) -> list[Figure]:
    """Coverage of the absolute and relative lift intervals when the truth is ``treated`` vs ``base``."""
    rng = _rng(tag)
    agg = _aggregated(rng.binomial(n, base, sims), rng.binomial(n, treated, sims), n, n)
    table = _evaluate(agg)
    abs_true, rel_true = treated - base, treated / base - 1
    name = f"{base:.2%} → {treated:.2%}, {n:,} per arm"
    cov_abs = float(np.mean((table["ci_low"] <= abs_true) & (abs_true <= table["ci_high"])))
    cov_rel = float(np.mean((table["rel_ci_low"] <= rel_true) & (rel_true <= table["rel_ci_high"])))
    need = f"at least {minimum:.1%}"
    return [
        Figure(name, "coverage of the absolute-lift 95% interval", cov_abs, sims, need, cov_abs >= minimum),
        Figure(name, "coverage of the relative-lift 95% interval", cov_rel, sims, need, cov_rel >= minimum),
    ]


def peeking(
    base: float, per_day: int, days: int, sims: int, *, tag: int, maximum: float, fixed_minimum: float
) -> list[Figure]:
    """A/A read daily, stopping at the first significant look: fixed-horizon vs ``sequential=True``.

    Each look is one public ``abkit.evaluate`` call on the cumulative counts of every simulated
    experiment (one segment each): once as the fixed-horizon test, once with ``sequential=True``
    (asymptotic confidence sequence tuned to the planned total ``N* = 2 x per_day x days``).
    """
    rng = _rng(tag)
    succ_c = rng.binomial(per_day, base, (sims, days)).cumsum(axis=1)
    succ_v = rng.binomial(per_day, base, (sims, days)).cumsum(axis=1)
    n_star = 2.0 * per_day * days  # tuned to the planned total sample size of the two arms
    ids = np.char.add("s", np.arange(sims).astype(str))
    hit_fixed = np.zeros(sims, dtype=bool)
    hit_seq = np.zeros(sims, dtype=bool)
    method = ""
    for day in range(days):
        n = per_day * (day + 1)
        agg = _aggregated(succ_c[:, day], succ_v[:, day], n, n)
        fixed = _evaluate(agg).set_index("segment").loc[ids]
        seq = _evaluate(agg, sequential=True, n_star=n_star).set_index("segment").loc[ids]
        hit_fixed |= fixed["significant"].to_numpy(dtype=bool)
        hit_seq |= seq["significant"].to_numpy(dtype=bool)
        method = str(seq["method"].iloc[0]).split(";")[0]
    fpr_fixed, fpr_seq = float(hit_fixed.mean()), float(hit_seq.mean())
    name = f"A/A, {days} daily looks, {base:.1%} base, {per_day:,} per arm per day"
    return [
        Figure(
            name, "false-positive rate, fixed-horizon evaluate read daily", fpr_fixed, sims,
            f"shows the problem (above {fixed_minimum:.0%})", fpr_fixed > fixed_minimum,
        ),
        Figure(
            name, f"false-positive rate, evaluate(sequential=True): {method}", fpr_seq, sims,
            f"at most {maximum:.1%}", fpr_seq <= maximum,
        ),
    ]  # fmt: skip


def cuped_variance_reduction(
    n: int, sims: int, *, tag: int, rho: float = 0.6, effect: float = 2.0, minimum: float = 0.935
) -> list[Figure]:
    """CUPED with one pre-period covariate correlated ``rho`` with the outcome (revenue-like units).

    Per unit: past spend ``x ~ Gamma(2, 25)`` and revenue ``y = 0.5 x + e + effect x treated`` with
    normal noise ``e`` sized so that corr(x, y) = ``rho`` within an arm; theory says the variance of
    the adjusted difference is ``1 - rho**2`` times the plain one. Every simulated experiment is one
    segment of a single ``abkit.evaluate(..., covariates=["past_spend"])`` call on per-unit rows.
    """
    rng = _rng(tag)
    units = sims * 2 * n
    x = rng.gamma(2.0, 25.0, units)
    slope_var = 0.25 * 2.0 * 25.0**2
    noise_sd = math.sqrt(slope_var * (1 - rho**2) / rho**2)
    treated = np.tile(np.repeat([0.0, 1.0], n), sims)
    y = 0.5 * x + rng.normal(0.0, noise_sd, units) + effect * treated
    data = pd.DataFrame(
        {
            "sim": np.repeat(np.arange(sims), 2 * n),
            "variant": pd.Categorical.from_codes(treated.astype(np.int8), ["control", "treatment"]),
            "revenue": y,
            "past_spend": x,
        }
    )
    ev = abkit.evaluate(
        data, metrics=["revenue"], segment_col="sim", correction=None, covariates=["past_spend"]
    )
    table = ev.table
    table = table[table["segment"] != "all"]
    reduction = float(table["variance_reduction"].mean())
    reduction_se = float(table["variance_reduction"].std(ddof=1)) / math.sqrt(len(table))
    control_mean = 0.5 * 2.0 * 25.0
    rel_true = effect / control_mean
    cov_abs = float(np.mean((table["ci_low"] <= effect) & (effect <= table["ci_high"])))
    cov_rel = float(np.mean((table["rel_ci_low"] <= rel_true) & (rel_true <= table["rel_ci_high"])))
    name = f"CUPED, covariate correlation {rho:g}, {n:,} per arm, lift +{effect:g} on mean {control_mean:g}"
    need = f"at least {minimum:.1%}"
    theory = rho**2
    return [
        Figure(
            name, f"mean variance reduction (theory rho^2 = {theory:.0%})", reduction, sims,
            f"within 2 points of {theory:.0%}", abs(reduction - theory) <= 0.02, reduction_se,
        ),
        Figure(name, "coverage of the CUPED absolute-lift 95% interval", cov_abs, sims, need,
               cov_abs >= minimum),
        Figure(name, "coverage of the CUPED relative-lift 95% interval", cov_rel, sims, need,
               cov_rel >= minimum),
    ]  # fmt: skip


def planned_power(
    base: float, relative_mde: float, sims: int, *, tag: int, tolerance: float = 0.02
) -> list[Figure]:
    """Simulated power at the sample size ``abkit.sample_size`` plans for 80% power."""
    plan = abkit.sample_size(base, relative_mde, relative=True, power=0.8)
    n = int(plan.control)
    rng = _rng(tag)
    treated = base * (1 + relative_mde)
    agg = _aggregated(rng.binomial(n, base, sims), rng.binomial(n, treated, sims), n, n)
    table = _evaluate(agg)
    power = float(np.mean(table["significant"].to_numpy(dtype=bool) & (table["abs_lift"].to_numpy() > 0)))
    name = f"{base:.1%} → {treated:.2%} at the planned {n:,} per arm"
    return [
        Figure(
            name, "simulated power (planned 80%)", power, sims,
            f"within {tolerance:.0%} of 80%", abs(power - 0.8) <= tolerance,
        )
    ]  # fmt: skip


def all_figures(scale: int = 1) -> list[Figure]:
    """Every required figure, ``scale`` times the fast suite's number of simulations."""
    s = 4000 * scale
    return [
        *aa_false_positive_rate(0.02, 5000, s, tag=1, low=0.035, high=0.063),
        *aa_false_positive_rate(0.005, 2000, s, tag=2, low=None, high=0.063),
        *coverage(0.005, 0.0065, 2000, s, tag=3, minimum=0.935),
        *peeking(0.02, 500, 14, s, tag=4, maximum=0.055, fixed_minimum=0.10),
        *cuped_variance_reduction(200, s, tag=6),
        *planned_power(0.02, 0.25, s, tag=5),
    ]


def markdown(figures: list[Figure]) -> str:
    """The calibration table as Markdown."""
    lines = [
        "| scenario | measure | simulated | ± MC s.e. | simulations | requirement | holds |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for f in figures:
        holds = "–" if f.holds is None else ("yes" if f.holds else "**NO**")
        cells = [f.scenario, f.measure, f"{f.value:.2%}", f"{f.mc_se:.2%}", f"{f.sims:,}"]
        cells += [f.requirement, holds]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
