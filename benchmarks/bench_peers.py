"""abkit side by side with statsmodels, tea-tasting and bayesian-testing: agreement and time ratio.

Target (issue 14 §5): ``make bench`` ends with one table comparing abkit with its peers on the same
inputs. For each comparison the table gives the numbers compared, the largest absolute difference
between abkit's and the peer's values (agreement), the median wall time of each (repeated runs,
same inputs, each side given the data as it takes them: aggregated counts or per-unit rows) and the
ratio abkit / peer (below 1: abkit is faster). Where the conventions differ (score vs Wald interval,
pooled vs unpooled variance, quadrature vs Monte Carlo), the note says so and the difference is
reported, not hidden.

The peers are only in the ``bench`` extra (``pip install 'abkit[bench]'``); statsmodels is a core
dependency. A peer that is not installed gets a row saying so. Runs in well under 2 minutes.
Run: ``.venv/bin/python benchmarks/bench_peers.py``.
"""

from __future__ import annotations

import importlib.util
import os
import statistics
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass

# One BLAS thread for every side: on a shared 2-core machine a threaded dot product (statsmodels'
# DescrStatsW) waits for busy cores, 0.15 ms becoming 80 ms. Set before numpy is imported.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from statsmodels.stats.proportion import confint_proportions_2indep, test_proportions_2indep  # noqa: E402
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW, ttest_ind  # noqa: E402

from abkit.evaluation import evaluate  # noqa: E402
from abkit.stats import compare_proportions  # noqa: E402

MISSING = "not installed (pip install 'abkit[bench]')"
ARMS = ["control", "coupon", "personal", "urgency"]
SEED = 14


@dataclass(frozen=True)
class Row:
    """One line of the table: ``diff`` is the largest absolute difference (or a text), times in seconds."""

    comparison: str
    peer: str
    numbers: str
    diff: float | str
    abkit_s: float | None = None
    peer_s: float | None = None
    note: str = ""


def timed(fn: Callable[[], object], budget: float = 0.4) -> float:
    """Median wall time of ``fn`` in seconds over 5 to 41 runs (about ``budget`` seconds), after a warm-up."""
    start = time.perf_counter()
    fn()
    first = time.perf_counter() - start
    repeat = int(min(41, max(5, budget / max(first, 1e-6))))
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def installed(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def max_diff(a: object, b: object) -> float:
    return float(np.max(np.abs(np.asarray(a, dtype=float) - np.asarray(b, dtype=float))))


# --------------------------------------------------------------------------------------------------
# inputs: seeded, one set per shape
# --------------------------------------------------------------------------------------------------
def count_tables(k: int, arms: int, seed: int = SEED) -> pd.DataFrame:
    """``k`` segments of aggregated counts (units, repurchases), ``arms`` arms, dormant-customer rates."""
    rng = np.random.default_rng(seed)
    units = rng.integers(2_000, 60_000, (k, arms))
    base = rng.uniform(0.005, 0.08, (k, 1))
    rates = base * (1 + rng.normal(0.08, 0.08, (k, arms)))
    rates[:, 0] = base[:, 0]
    return pd.DataFrame(
        {
            "segment": np.repeat([f"s{i:04d}" for i in range(k)], arms),
            "variant": np.tile(ARMS[:arms], k),
            "units": units.ravel(),
            "repurchased": rng.binomial(units, rates).ravel(),
        }
    )


def customers(n_per_arm: int, seed: int = SEED) -> pd.DataFrame:
    """Per-customer rows of two arms: repurchase flag (0/1) and revenue (0 unless repurchased)."""
    rng = np.random.default_rng(seed)
    variant = np.repeat(["control", "coupon"], n_per_arm)
    bought = rng.uniform(size=2 * n_per_arm) < np.where(variant == "control", 0.040, 0.046)
    revenue = np.where(bought, rng.gamma(2.0, 30.0, 2 * n_per_arm), 0.0).round(2)
    return pd.DataFrame({"variant": variant, "repurchased": bought.astype(int), "revenue": revenue})


def arm_counts(table: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per arm: (units, successes) arrays over segments, in segment order."""
    out = {}
    for arm, part in table.groupby("variant", sort=False):
        part = part.sort_values("segment")
        out[arm] = (part["units"].to_numpy(), part["repurchased"].to_numpy())
    return out


def variant_rows(result: pd.DataFrame, arms: list[str]) -> dict[str, pd.DataFrame]:
    """abkit rows per variant (segment order), without the pooled ``all`` row of a segmented table."""
    rows = result[result["segment"] != "all"] if result["segment"].nunique() > 1 else result
    return {arm: rows[rows["variant"] == arm].sort_values("segment") for arm in arms[1:]}


# --------------------------------------------------------------------------------------------------
# rates and means vs statsmodels
# --------------------------------------------------------------------------------------------------
def sm_score(n0: int, x0: int, n1: int, x1: int) -> tuple[float, float, float, float, float]:
    """statsmodels' score test and score intervals (diff and ratio), variant as its group 1.

    A diff interval that statsmodels fails to compute (its root finder's bracket has no sign change:
    ``ValueError``) is NaN here and counted in the table.
    """
    p = test_proportions_2indep(x1, n1, x0, n0, method="score", compare="diff", correction=True).pvalue
    try:
        lo, hi = confint_proportions_2indep(x1, n1, x0, n0, method="score", compare="diff", correction=True)
    except ValueError:
        lo = hi = np.nan
    rlo, rhi = confint_proportions_2indep(x1, n1, x0, n0, method="score", compare="ratio", correction=True)
    return float(p), float(lo), float(hi), float(rlo) - 1, float(rhi) - 1


def rates_vs_statsmodels(k: int, arms: int, label: str) -> list[Row]:
    table = count_tables(k, arms)
    counts = arm_counts(table)
    n0, x0 = counts[ARMS[0]]
    kw = {"metrics": ["repurchased"], "n_col": "units", "correction": None}
    if k > 1:
        kw["segment_col"] = "segment"
    res = variant_rows(evaluate(table, **kw).table, ARMS[:arms])

    def peer() -> list[list[tuple[float, ...]]]:
        return [
            [sm_score(n0[i], x0[i], *(v[i] for v in counts[arm])) for i in range(k)] for arm in ARMS[1:arms]
        ]

    sm = peer()
    p_diff = ci_diff = rel_diff = 0.0
    failed = 0
    wide = []  # statsmodels' diff-interval bound at the widest gap: its restricted MLE differs
    for arm, rows in zip(ARMS[1:arms], sm, strict=True):
        got = np.array(rows)
        ab = res[arm]
        p_diff = max(p_diff, max_diff(ab["p_value"], got[:, 0]))
        ok = ~np.isnan(got[:, 1])
        failed += int((~ok).sum())
        gap = np.abs(ab[["ci_low", "ci_high"]].to_numpy()[ok] - got[ok, 1:3])
        ci_diff = max(ci_diff, float(gap.max()))
        wide.append(float((gap.max(axis=1) / (got[ok, 2] - got[ok, 1])).max()))
        rel_diff = max(rel_diff, max_diff(ab[["rel_ci_low", "rel_ci_high"]], got[:, 3:5]))
    mn_p = max_diff(
        compare_proportions(n0, x0, *counts[ARMS[1]]).p_value, [r[0] for r in sm[0]]
    )  # the vectorised function directly
    t_ab = timed(lambda: evaluate(table, **kw))
    t_sm = timed(peer)
    t_stats = timed(lambda: [compare_proportions(n0, x0, *counts[arm]) for arm in ARMS[1:arms]])
    segs = f"{k:,} segments x {arms} arms" if k > 1 else f"{arms} arms"
    return [
        Row(
            f"{label} ({segs}, counts)",
            "statsmodels",
            "p-value (score test)",
            p_diff,
            t_ab,
            t_sm,
            "same test: Miettinen-Nurminen score with the N/(N-1) factor (statsmodels correction=True);"
            f" abkit.stats.compare_proportions alone differs by {fmt_diff(mn_p)} and takes"
            f" {fmt_ms(t_stats)} ms (the rest of evaluate's time is its pandas layer)",
        ),
        Row(
            "",
            "",
            "interval of p1 - p0",
            ci_diff,
            note="score interval both; statsmodels' restricted MLE writes count*delta^2 where the"
            " Farrington-Manning cubic has nobs*delta^2, so its bounds move by up to "
            f"{max(wide):.2%} of the interval width (abkit solves the cubic as published)"
            + (
                f"; statsmodels raised ValueError (no sign change in its root bracket) on {failed} of"
                f" {k * (arms - 1):,} comparisons, compared on the others"
                if failed
                else ""
            ),
        ),
        Row("", "", "interval of p1/p0 - 1", rel_diff, note="MN score interval of the risk ratio, both"),
    ]


def means_vs_statsmodels(df: pd.DataFrame) -> list[Row]:
    kw = {"metrics": ["revenue"], "correction": None}
    ab = evaluate(df, **kw).table.iloc[0]
    x1 = df.loc[df["variant"] == "coupon", "revenue"].to_numpy()
    x0 = df.loc[df["variant"] == "control", "revenue"].to_numpy()

    def peer() -> tuple[float, ...]:
        t, p, dof = ttest_ind(x1, x0, usevar="unequal")
        lo, hi = CompareMeans(DescrStatsW(x1), DescrStatsW(x0)).tconfint_diff(usevar="unequal")
        return t, p, dof, lo, hi

    t, p, dof, lo, hi = peer()
    return [
        Row(
            f"means, Welch ({len(df):,} customers, 2 arms)",
            "statsmodels",
            "t, p-value, interval",
            max(max_diff([ab.statistic, ab.p_value], [t, p]), max_diff([ab.ci_low, ab.ci_high], [lo, hi])),
            timed(lambda: evaluate(df, **kw)),
            timed(peer),
            f"ttest_ind(usevar='unequal') on the two arms' arrays (already split); abkit reads the"
            f" DataFrame of customers; Welch df differ by {fmt_diff(abs(ab.df - dof))}",
        )
    ]


# --------------------------------------------------------------------------------------------------
# vs tea-tasting (per-customer rows)
# --------------------------------------------------------------------------------------------------
def vs_tea_tasting(df: pd.DataFrame) -> list[Row]:
    label_mean = f"means, Welch ({len(df):,} customers, 2 arms)"
    label_rate = f"rates ({len(df):,} customers, 2 arms)"
    if not installed("tea_tasting"):
        return [Row(label_mean, "tea-tasting", MISSING, ""), Row(label_rate, "tea-tasting", MISSING, "")]
    import tea_tasting as tt  # optional peer: only in the bench extra

    rows = []
    kw = {"metrics": ["revenue"], "correction": None}
    ab = evaluate(df, **kw).table.iloc[0]
    experiment = tt.Experiment(revenue=tt.Mean("revenue"))
    got = experiment.analyze(df, control="control")["revenue"]
    rows.append(
        Row(
            label_mean,
            "tea-tasting",
            "lift, p-value, both intervals",
            max_diff(
                [ab.abs_lift, ab.p_value, ab.ci_low, ab.ci_high, ab.rel_ci_low, ab.rel_ci_high],
                [
                    got.effect_size,
                    got.pvalue,
                    got.effect_size_ci_lower,
                    got.effect_size_ci_upper,
                    got.rel_effect_size_ci_lower,
                    got.rel_effect_size_ci_upper,
                ],
            ),
            timed(lambda: evaluate(df, **kw)),
            timed(lambda: experiment.analyze(df, control="control")),
            "tt.Mean defaults: Welch t (equal_var=False, use_t=True), same numbers; its relative"
            " interval is abkit's delta method on the log ratio but takes the t quantile at a Welch df"
            " recomputed on the log scale (abkit: the test's df)",
        )
    )

    kw = {"metrics": ["repurchased"], "correction": None}
    ab = evaluate(df, **kw).table.iloc[0]
    n0, x0 = (df["variant"] == "control").sum(), df.loc[df["variant"] == "control", "repurchased"].sum()
    n1, x1 = (df["variant"] == "coupon").sum(), df.loc[df["variant"] == "coupon", "repurchased"].sum()
    pooled_z = compare_proportions(n0, x0, n1, x1, mn_correction=False)
    prop = tt.Experiment(rate=tt.Proportion("repurchased", method="norm", correction=False))
    got = prop.analyze(df, control="control")["rate"]
    rows.append(
        Row(
            label_rate,
            "tea-tasting",
            "p-value",
            abs(ab.p_value - got.pvalue),
            timed(lambda: evaluate(df, **kw)),
            timed(lambda: prop.analyze(df, control="control")),
            "tt.Proportion(method='norm', correction=False): pooled two-proportion z test, the"
            " score test without MN's N/(N-1) factor (abkit's compare_proportions(mn_correction=False)"
            f" gives its p-value to {fmt_diff(abs(float(pooled_z.p_value[0]) - got.pvalue))}); its"
            " defaults add a continuity correction and use Barnard's exact test below 1,000 units",
        )
    )
    rows.append(
        Row(
            "",
            "",
            "both intervals",
            max_diff(
                [ab.ci_low, ab.ci_high, ab.rel_ci_low, ab.rel_ci_high],
                [
                    got.effect_size_ci_lower,
                    got.effect_size_ci_upper,
                    got.rel_effect_size_ci_lower,
                    got.rel_effect_size_ci_upper,
                ],
            ),
            note="different intervals: tea-tasting's are Wald with the pooled (null) standard error,"
            " abkit's the MN score intervals (coverage kept at small counts)",
        )
    )
    mean01 = tt.Experiment(rate=tt.Mean("repurchased")).analyze(df, control="control")["rate"]
    rows.append(
        Row(
            "",
            "",
            "p-value with tt.Mean on 0/1",
            abs(ab.p_value - mean01.pvalue),
            note="tt.Mean on a 0/1 column is Welch's t test (unpooled variance, t quantiles):"
            " close to but not the score test",
        )
    )
    return rows


# --------------------------------------------------------------------------------------------------
# Bayesian vs bayesian-testing (aggregated counts, Beta(1, 1) prior)
# --------------------------------------------------------------------------------------------------
SIMS = 20_000


def mc_errors(n: np.ndarray, x: np.ndarray, seed: int = SEED) -> tuple[float, float]:
    """Monte-Carlo standard errors of P(B > A) and E[max(A - B, 0)] with ``SIMS`` draws (two arms)."""
    rng = np.random.default_rng(seed)
    draws = rng.beta(1 + x[:, None], 1 + n[:, None] - x[:, None], (2, 100_000))
    beat = (draws[1] > draws[0]).mean()
    loss = np.maximum(draws[0] - draws[1], 0.0)
    return float(np.sqrt(beat * (1 - beat) / SIMS)), float(loss.std() / np.sqrt(SIMS))


def vs_bayesian_testing() -> list[Row]:
    label2, label4 = "Bayesian rates (2 arms, counts)", "Bayesian rates (4 arms, counts)"
    if not installed("bayesian_testing"):
        return [Row(label2, "bayesian-testing", MISSING, ""), Row(label4, "bayesian-testing", MISSING, "")]
    from bayesian_testing.experiments import BinaryDataTest  # optional peer: only in the bench extra

    rows = []
    for arms, label in ((2, label2), (4, label4)):
        table = count_tables(1, arms, seed=SEED + arms)
        kw = {"metrics": ["repurchased"], "n_col": "units", "method": "bayesian"}
        ab = evaluate(table, **kw).table

        def peer(table: pd.DataFrame = table) -> list[dict]:
            test = BinaryDataTest()
            for arm, units, bought in table[["variant", "units", "repurchased"]].itertuples(index=False):
                test.add_variant_data_agg(arm, int(units), int(bought), a_prior=1, b_prior=1)
            return test.evaluate(sim_count=SIMS, seed=SEED)

        got = {r["variant"]: r for r in peer()}
        t_ab, t_peer = timed(lambda table=table, kw=kw: evaluate(table, **kw)), timed(peer)
        if arms == 2:
            b = ab.iloc[0]
            se_p, se_loss = mc_errors(table["units"].to_numpy(), table["repurchased"].to_numpy())
            d_p = abs(b.prob_beat_control - got["coupon"]["prob_being_best"])
            d_loss = abs(b.expected_loss - got["coupon"]["expected_loss"])
            rows.append(
                Row(
                    label,
                    "bayesian-testing",
                    "P(B > A)",
                    d_p,
                    t_ab,
                    t_peer,
                    f"abkit: quadrature (about 1e-9); bayesian-testing: Monte Carlo, {SIMS:,} draws,"
                    f" standard error {fmt_diff(se_p)}: difference = {d_p / se_p:.2f} SE",
                )
            )
            rows.append(
                Row(
                    "",
                    "",
                    "expected loss",
                    d_loss,
                    note=f"E[max(A - B, 0)] both (its loss vs the best other arm); Monte-Carlo SE"
                    f" {fmt_diff(se_loss)}: difference = {d_loss / se_loss:.2f} SE",
                )
            )
        else:
            ours = [float(ab["control_prob_best"].iloc[0])] + [
                float(ab.loc[ab["variant"] == arm, "prob_best"].iloc[0]) for arm in ARMS[1:arms]
            ]
            theirs = [got[arm]["prob_being_best"] for arm in ARMS[:arms]]
            # standard errors of the draws' frequencies at abkit's (exact) probabilities
            se = [np.sqrt(max(a * (1 - a), 1e-12) / SIMS) for a in ours]
            worst = max(abs(a - b) / s for a, b, s in zip(ours, theirs, se, strict=True))
            rows.append(
                Row(
                    label,
                    "bayesian-testing",
                    "P(best) of every arm",
                    max_diff(ours, theirs),
                    t_ab,
                    t_peer,
                    f"Monte Carlo ({SIMS:,} draws): largest difference = {worst:.2f} SE; its expected"
                    " loss (vs the best other arm) is not abkit's (vs the control), not compared",
                )
            )
    return rows


# --------------------------------------------------------------------------------------------------
# the table
# --------------------------------------------------------------------------------------------------
def fmt_diff(value: float | str) -> str:
    if isinstance(value, str):
        return value
    if value == 0:
        return "0"
    if value < 1e-6:  # an upper bound, without scientific notation's mantissa
        return f"< 1e-{min(int(np.floor(-np.log10(value))), 12)}"
    return np.format_float_positional(value, precision=2, unique=False, fractional=False, trim="-")


def fmt_ms(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return f"{seconds * 1000:,.2f}" if seconds < 0.1 else f"{seconds * 1000:,.0f}"


NOTE_WIDTH = 56


def render(rows: list[Row]) -> str:
    head = ("comparison", "peer", "numbers compared", "max |diff|", "abkit ms", "peer ms", "abkit/peer")
    cells = []
    for r in rows:
        ratio = f"{r.abkit_s / r.peer_s:.2f}x" if r.abkit_s and r.peer_s else ""
        cells.append(
            (r.comparison, r.peer, r.numbers, fmt_diff(r.diff), fmt_ms(r.abkit_s), fmt_ms(r.peer_s), ratio)
        )
    widths = [max(len(head[i]), *(len(c[i]) for c in cells)) for i in range(len(head))]
    right = {3, 4, 5, 6}

    def line(values: tuple[str, ...], note: str) -> str:
        pairs = enumerate(zip(values, widths, strict=True))
        out = [v.rjust(w) if i in right else v.ljust(w) for i, (v, w) in pairs]
        return "  ".join([*out, note]).rstrip()

    indent = sum(widths) + 2 * len(widths)
    lines = [line(head, "note"), "-" * (indent + NOTE_WIDTH)]
    for r, c in zip(rows, cells, strict=True):
        if r.comparison and len(lines) > 2:
            lines.append("")
        wrapped = textwrap.wrap(r.note, NOTE_WIDTH) or [""]
        lines.append(line(c, wrapped[0]))
        lines.extend(" " * indent + more for more in wrapped[1:])
    return "\n".join(lines)


def main() -> None:
    start = time.perf_counter()
    df = customers(20_000)
    rows = [
        *rates_vs_statsmodels(1, 2, "rates"),
        *rates_vs_statsmodels(1, 4, "rates"),
        *rates_vs_statsmodels(300, 2, "rates"),
        *means_vs_statsmodels(df),
        *vs_tea_tasting(df),
        *vs_bayesian_testing(),
    ]
    print("abkit side by side with its peers (same inputs; times: median of repeated runs, one BLAS thread)")
    print(render(rows))
    print(
        f"\nmax |diff|: largest absolute difference between abkit's and the peer's numbers listed;"
        f" abkit/peer below 1: abkit faster. Total {time.perf_counter() - start:.0f} s."
    )


if __name__ == "__main__":
    main()
