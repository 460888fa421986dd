"""Tests of abkit.stats.weighting and of the weighted rows of ``evaluate`` for a targeted wave.

A targeted wave gives each cell its own arm shares, so a row that mixes cells is biased when it
compares plain arm means; weighting by 1 / propensity (Hájek) is unbiased. With constant
propensities nothing changes (1e-12).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from abkit import economics, evaluate
from abkit.assignment import assign
from abkit.datasets import targeting_test
from abkit.errors import DataError, ParameterError
from abkit.stats.weighting import hajek_means, hajek_rows, policy_scores, propensities_vary

ARMS = ("holdout", "coupon", "personal", "reminder")


def _sums(y: np.ndarray, e: np.ndarray) -> tuple[float, ...]:
    w = 1.0 / e
    return (len(y), w.sum(), (w * w).sum(), (w * y).sum(), (w * w * y).sum(), (w * w * y * y).sum())


def test_hajek_mean_is_the_weighted_mean_with_the_sandwich_variance() -> None:
    rng = np.random.default_rng(1)
    y, e = rng.gamma(2.0, 10.0, 500), rng.choice([0.1, 0.3, 0.8], 500)
    mean, var = hajek_means(*_sums(y, e))
    w = 1 / e
    expected = np.average(y, weights=w)
    assert float(mean) == pytest.approx(expected, rel=1e-12)
    sandwich = len(y) / (len(y) - 1) * np.sum(w**2 * (y - expected) ** 2) / w.sum() ** 2
    assert float(var) == pytest.approx(sandwich, rel=1e-9)
    # constant weights: the plain mean and s² / n
    e1 = np.full(500, 0.25)
    m1, v1 = hajek_means(*_sums(y, e1))
    assert float(m1) == pytest.approx(y.mean(), rel=1e-12)
    assert float(v1) == pytest.approx(y.var(ddof=1) / len(y), rel=1e-9)
    n, sw, sw2 = _sums(y, e)[:3]
    assert propensities_vary([n, n], [sw, 500 / 0.25], [sw2, 500 / 0.0625]).tolist() == [True, False]


def test_policy_scores_match_the_textbook_ipw() -> None:
    rng = np.random.default_rng(2)
    n = 400
    cell = rng.integers(0, 2, n)
    probs = np.array([[0.5, 0.5], [0.2, 0.8]])
    arm = (rng.random(n) < probs[cell, 1]).astype(int)
    y = rng.normal(size=n) + arm
    e = probs[cell, arm]
    ipw, aipw = policy_scores(y, cell, arm, e, [[0.0, 1.0], [0.0, 1.0]])
    assert float(ipw.mean()) == pytest.approx(np.mean(y * (arm == 1) / e - y * (arm == 0) / e), rel=1e-12)
    post = sum(
        np.mean(cell == c) * (y[(cell == c) & (arm == 1)].mean() - y[(cell == c) & (arm == 0)].mean())
        for c in (0, 1)
    )
    assert float(aipw.mean()) == pytest.approx(post, rel=1e-12)  # constant propensities in each cell
    with pytest.raises(DataError, match="no customer in arm"):
        policy_scores(y[arm == 0], cell[arm == 0], arm[arm == 0], e[arm == 0], [[0.0, 1.0], [0.0, 1.0]])


def _targeted_wave(seed: int, t, n: int = 12_000) -> pd.DataFrame:
    """A next wave of ``t``'s population split by per-cell weights that favour each cell's best arm."""
    rng = np.random.default_rng(seed)
    units = t.outcomes[["customer_id", "segment", "recency_band"]].sample(n, replace=True, random_state=rng)
    units = units.assign(customer_id=[f"{seed}-{i:06d}" for i in range(n)]).reset_index(drop=True)
    weights = {
        "|".join(cell): {a: (0.7 if a == best else 0.1) for a in ARMS} for cell, best in t.oracle_plan.items()
    }
    out = assign(units, variants=weights, salt=f"wave-{seed}", strata=["segment", "recency_band"])
    out["propensity"] = [
        weights[f"{s}|{b}"][v]
        for s, b, v in zip(out["segment"], out["recency_band"], out["variant"], strict=True)
    ]
    return t.draw_outcomes(out, seed=seed)


def _true_lift(t, metric: str) -> dict[str, float]:
    col = {"repurchased": "repurchase_rate", "revenue": "revenue_per_customer"}[metric]
    wide = t.truth.pivot_table(index=["segment", "recency_band"], columns="arm", values=col)
    share = t.truth.drop_duplicates(["segment", "recency_band"]).set_index(["segment", "recency_band"])[
        "share"
    ]
    share = share.reindex(wide.index)
    return {a: float((share * (wide[a] - wide["holdout"])).sum() / share.sum()) for a in ARMS[1:]}


@pytest.mark.parametrize("segment_col", [None, "recency_band"])
def test_weighted_pooled_row_is_unbiased_where_the_plain_one_is_not(segment_col: str | None) -> None:
    t = targeting_test(4_000, seed=5)  # the population and its planted effects
    truth = _true_lift(t, "repurchased")
    plain, weighted = [], []
    for seed in range(40):
        wave = _targeted_wave(seed, t)
        args = {"metrics": ["repurchased"], "control": "holdout", "segment_col": segment_col}
        for store, kw in ((plain, {}), (weighted, {"propensity_col": "propensity"})):
            tab = evaluate(wave, **args, **kw).table
            store.append(tab[tab["segment"] == "all"].set_index("variant")["abs_lift"])
    plain_df, weighted_df = pd.DataFrame(plain), pd.DataFrame(weighted)
    for arm, true in truth.items():
        se = weighted_df[arm].std(ddof=1) / np.sqrt(len(weighted_df))
        assert abs(weighted_df[arm].mean() - true) < 2 * se, (arm, weighted_df[arm].mean(), true, se)
    # the plain comparison (pooled or post-stratified by segment only) is far off for some arm
    bias = {
        a: abs(plain_df[a].mean() - truth[a]) / (plain_df[a].std(ddof=1) / np.sqrt(len(plain_df)))
        for a in truth
    }
    assert max(bias.values()) > 6, bias
    methods = evaluate(wave, **args, propensity_col="propensity").table["method"]
    assert methods.str.contains("Hájek").any()


def test_constant_propensities_change_nothing() -> None:
    rng = np.random.default_rng(3)
    n = 3000
    df = pd.DataFrame(
        {
            "variant": rng.choice(["holdout", "coupon", "mail"], n),
            "segment": rng.choice(["a", "b", "c"], n),
            "repurchased": rng.integers(0, 2, n),
            "revenue": rng.gamma(2.0, 20.0, n),
            "frequency": rng.integers(1, 9, n).astype(float),
        }
    )
    df["propensity"] = 1 / 3
    for kw in (
        {},
        {"segment_col": "segment"},
        {"segment_col": "segment", "poststratify": False},
        {"segment_col": "segment", "covariates": ["frequency"]},
    ):
        base = evaluate(df, metrics=["repurchased", "revenue"], control="holdout", **kw).table
        got = evaluate(
            df, metrics=["repurchased", "revenue"], control="holdout", propensity_col="propensity", **kw
        )
        pd.testing.assert_frame_equal(got.table, base, rtol=1e-12, atol=1e-12)


def test_cells_equal_to_segments_keep_the_poststratified_row() -> None:
    """Propensities constant in each segment (cells are the segments): the post-stratified pooled row."""
    rng = np.random.default_rng(4)
    n = 6000
    seg = rng.choice(["a", "b"], n)
    p_coupon = np.where(seg == "a", 0.8, 0.2)
    coupon = rng.random(n) < p_coupon
    df = pd.DataFrame(
        {
            "segment": seg,
            "variant": np.where(coupon, "coupon", "holdout"),
            "revenue": rng.gamma(2.0, 20.0, n) + 20 * coupon * (seg == "a"),
            "propensity": np.where(coupon, p_coupon, 1 - p_coupon),
        }
    )
    post = evaluate(df, metrics=["revenue"], control="holdout", segment_col="segment").table
    got = evaluate(
        df, metrics=["revenue"], control="holdout", segment_col="segment", propensity_col="propensity"
    )
    pd.testing.assert_frame_equal(got.table, post, rtol=1e-12, atol=1e-12)
    # without segments the pooled row mixes the cells: Hájek, close to the post-stratified difference
    pooled = evaluate(df, metrics=["revenue"], control="holdout", propensity_col="propensity").table.iloc[0]
    assert "Hájek" in pooled["method"] and "inverse-propensity" in pooled["convention"]
    assert pooled["abs_lift"] == pytest.approx(post.iloc[0]["abs_lift"], abs=0.5)
    plain = evaluate(df, metrics=["revenue"], control="holdout").table.iloc[0]
    assert abs(plain["abs_lift"] - post.iloc[0]["abs_lift"]) > 4.0  # the plain pooled row is off


def test_hajek_rows_marks_rows_whose_propensities_vary() -> None:
    g = {
        "n": np.array([[3.0, 3.0, 3.0]]),
        "sum_w": np.array([[6.0, 6.0, 7.0]]),
        "sum_w2": np.array([[12.0, 12.0, 17.0]]),
        **{c: np.ones((1, 3)) for c in ("sum_wy", "sum_w2y", "sum_w2y2")},
    }
    mask, _ = hajek_rows(g)
    assert mask.tolist() == [False, True]


def test_propensity_errors_name_the_column_and_the_fix() -> None:
    df = pd.DataFrame({"variant": ["a", "a", "b", "b"], "y": [1.0, 2.0, 3.0, 4.0], "p": [0.5, 0.5, 0.0, 0.5]})
    with pytest.raises(DataError, match=r"column 'p' has 1 value\(s\) outside \(0, 1\]"):
        evaluate(df, metrics=["y"], control="a", propensity_col="p")
    with pytest.raises(ParameterError, match="Bayesian"):
        evaluate(df, metrics=["y"], control="a", propensity_col="p", method="bayesian")
    with pytest.raises(ParameterError, match="one row per unit"):
        evaluate(
            df.assign(n=1, y_sumsq=df["y"] ** 2), metrics=["y"], control="a", n_col="n", propensity_col="p"
        )
    with pytest.raises(Exception, match="'nope'"):
        evaluate(df, metrics=["y"], control="a", propensity_col="nope")


def test_weighted_rows_follow_the_one_sided_alternative() -> None:
    """A targeted wave evaluated one-sided: Hájek rows get the one-tailed p-value and an open bound."""
    t = targeting_test(4_000, seed=5)
    wave = _targeted_wave(1, t, n=6_000)
    args = {"metrics": ["repurchased"], "control": "holdout", "propensity_col": "propensity"}
    two = evaluate(wave, **args).table.set_index(["segment", "variant"])
    one = evaluate(wave, **args, alternative="larger").table.set_index(["segment", "variant"])
    rows = two["method"].str.contains("Hájek")
    assert rows.any()
    w2, w1 = two[rows], one[rows]
    np.testing.assert_allclose(w1["abs_lift"], w2["abs_lift"], rtol=1e-12)
    stat = w2["statistic"].to_numpy()
    np.testing.assert_allclose(w1["p_value"], sps.norm.sf(stat), rtol=1e-9)
    assert np.isinf(w1["ci_high"]).all() and (w1["ci_low"] > w2["ci_low"]).all()
    assert w1["method"].str.contains("one-sided \\(larger\\) normal test").all()


def test_profit_rows_of_a_targeted_wave_are_weighted_and_unbiased() -> None:
    """decision(objective="profit") on a targeted wave: Hájek profit means, equal (to 1e-9) to margin x
    the weighted revenue lift minus the costs at the weighted redemption rates; unbiased for the
    population's incremental profit where the unweighted profit is not."""
    t = targeting_test(4_000, seed=5)
    share = t.truth.drop_duplicates(["segment", "recency_band"])["share"].sum()
    truth = {
        a: float((t.truth.loc[t.truth["arm"] == a, "share"] * t.truth.loc[t.truth["arm"] == a,
                  "incremental_profit"]).sum() / share)
        for a in ARMS[1:]
    }  # fmt: skip
    args = {"metrics": ["repurchased", "revenue"], "control": "holdout"}
    kw = {"costs": t.costs, "margin": t.margin, "objective": "profit", "per": 1}
    weighted, plain = [], []
    for seed in range(30):
        wave = _targeted_wave(seed, t, n=8_000)
        ev = evaluate(wave, **args, propensity_col="propensity")
        dec = ev.decision(**kw).table.set_index("segment")
        profit = ev._profit_rows(t.costs, t.margin, "revenue", "repurchased", 1, 0.95).set_index("variant")
        weighted.append(profit["profit"])
        plain.append(evaluate(wave, **args)._profit_rows(t.costs, t.margin, "revenue", "repurchased", 1, 0.95)
                     .set_index("variant")["profit"])  # fmt: skip
        if seed == 0:
            assert profit["_weighted"].all() and np.isfinite(dec.loc["all", "profit"])
            tab = ev.table.set_index(["metric", "variant"])
            for arm in ARMS[1:]:
                cost = t.costs[arm]
                rev = tab.loc[("revenue", arm)]
                red = tab.loc[("repurchased", arm)]
                expect = (
                    t.margin * (rev["variant_value"] - rev["control_value"])
                    - cost["contact"] - cost["offer"] * red["variant_value"]
                )  # fmt: skip
                assert profit.loc[arm, "profit"] == pytest.approx(expect, rel=1e-9, abs=1e-9)
    w, p = pd.DataFrame(weighted), pd.DataFrame(plain)
    for arm, true in truth.items():
        se = w[arm].std(ddof=1) / np.sqrt(len(w))
        assert abs(w[arm].mean() - true) < 2.5 * se, (arm, w[arm].mean(), true)
    bias = {a: abs(p[a].mean() - truth[a]) / (p[a].std(ddof=1) / np.sqrt(len(p))) for a in truth}
    assert max(bias.values()) > 4, bias


def test_economics_of_a_targeted_wave_weights_the_profit_like_the_decision() -> None:
    t = targeting_test(4_000, seed=5)
    wave = _targeted_wave(2, t, n=6_000)
    money = {"costs": t.costs, "margin": t.margin, "control": "holdout", "per": 1}
    weighted = economics(wave, **money, propensity_col="propensity").table.set_index("variant")
    plain = economics(wave, **money).table.set_index("variant")
    ev = evaluate(wave, metrics=["repurchased", "revenue"], control="holdout", propensity_col="propensity")
    rows = ev._profit_rows(t.costs, t.margin, "revenue", "repurchased", 1, 0.95).set_index("variant")
    np.testing.assert_allclose(weighted["incremental_profit"], rows.loc[weighted.index, "profit"], rtol=1e-9)
    assert weighted["method"].str.contains("Hájek").all() and not plain["method"].str.contains("Hájek").any()
    assert (weighted["incremental_profit"] != plain["incremental_profit"]).all()
    const = wave.assign(propensity=0.25)  # constant propensities: the Welch rows, unchanged
    pd.testing.assert_frame_equal(
        economics(const, **money, propensity_col="propensity").table, economics(const, **money).table
    )
