"""Tests of abkit.evaluation: evaluate, Evaluation (summary, plot, decision) and economics."""

from __future__ import annotations

import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import integrate, special, stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import test_proportions_2indep as sm_test_proportions_2indep

from abkit.errors import AbkitError, ColumnError, DataError, ParameterError
from abkit.evaluation import UNADJUSTED_INTERVALS, Evaluation, economics, evaluate
from abkit.metrics import Mean, Proportion
from abkit.power import sample_size, sample_size_mean

matplotlib.use("Agg")


def _campaign(seed: int = 0, n: int = 24_000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    variant = rng.choice(["control", "coupon", "personal"], n)
    segment = rng.choice(["high_value", "high_freq", "one_time"], n)
    rate = np.select([variant == "coupon", variant == "personal"], [0.06, 0.045], 0.03)
    repurchased = rng.uniform(size=n) < rate
    revenue = np.where(repurchased, rng.gamma(2.0, 30.0, n), 0.0)
    unsubscribed = (variant != "control") & (
        rng.uniform(size=n) < np.where(variant == "personal", 0.02, 0.005)
    )
    return pd.DataFrame(
        {
            "variant": variant,
            "segment": segment,
            "repurchased": repurchased,
            "revenue": revenue,
            "unsubscribed": unsubscribed,
        }
    )


@pytest.fixture(scope="module")
def campaign() -> pd.DataFrame:
    return _campaign()


@pytest.fixture(scope="module")
def freq(campaign: pd.DataFrame) -> Evaluation:
    return evaluate(
        campaign, metrics=["repurchased", "revenue"], segment_col="segment", guardrails=["unsubscribed"]
    )


@pytest.fixture(scope="module")
def bayes(campaign: pd.DataFrame) -> Evaluation:
    return evaluate(
        campaign,
        metrics=["repurchased", "revenue"],
        segment_col="segment",
        guardrails=["unsubscribed"],
        method="bayesian",
    )


REQUIRED = [
    "metric", "segment", "variant", "control", "n_control", "n_variant", "control_value", "variant_value",
    "abs_lift", "rel_lift", "ci_low", "ci_high", "rel_ci_low", "rel_ci_high", "method", "convention",
    "estimable", "kind", "role",
]  # fmt: skip


# ------------------------------------------------------------------------------------------------
# the table
# ------------------------------------------------------------------------------------------------
def test_frequentist_table_shape_and_columns(freq: Evaluation) -> None:
    t = freq.table
    assert set([*REQUIRED, "p_value", "p_adjusted", "significant"]) <= set(t.columns)
    # 3 metrics x (3 segments + "all") x 2 variants
    assert len(t) == 3 * 4 * 2
    assert next(iter(dict.fromkeys(t["segment"]))) == "all"
    assert set(t["variant"]) == {"coupon", "personal"} and set(t["control"]) == {"control"}
    assert t.loc[t["metric"] == "unsubscribed", "role"].eq("guardrail").all()
    assert t.loc[t["metric"] != "unsubscribed", "role"].eq("primary").all()
    assert t.loc[t["metric"] == "revenue", "kind"].eq("mean").all()
    assert t["method"].str.contains("Miettinen-Nurminen").any() and t["method"].str.contains("Welch").any()
    assert freq.table is not freq.table  # a copy each time: the result is immutable


def test_bayesian_table_columns_and_prior_named(bayes: Evaluation) -> None:
    t = bayes.table
    assert set([*REQUIRED, "prob_beat_control", "prob_best", "expected_loss"]) <= set(t.columns)
    assert "p_value" not in t.columns
    rates = t[t["kind"] == "proportion"]
    assert rates["method"].str.contains(r"prior Beta\(1, 1\)").all()
    assert t.loc[t["kind"] == "mean", "method"].str.contains("flat prior").all()


def _segment_rows(t: pd.DataFrame, metric: str) -> pd.DataFrame:
    return t[(t["metric"] == metric) & (t["segment"] != "all")]


def test_proportion_rows_equal_statsmodels_score_test(campaign: pd.DataFrame, freq: Evaluation) -> None:
    t = freq.table
    assert len(_segment_rows(t, "repurchased")) == 6
    for _, row in _segment_rows(t, "repurchased").iterrows():
        sub = campaign[campaign["segment"] == row["segment"]]
        c = sub.loc[sub["variant"] == "control", "repurchased"]
        v = sub.loc[sub["variant"] == row["variant"], "repurchased"]
        ref = sm_test_proportions_2indep(v.sum(), v.size, c.sum(), c.size, method="score", correction=True)
        assert row["p_value"] == pytest.approx(ref.pvalue, rel=1e-10)
        assert row["control_value"] == pytest.approx(c.mean()) and row["variant_value"] == pytest.approx(
            v.mean()
        )
        assert row["n_control"] == c.size and row["n_variant"] == v.size


def test_mean_rows_equal_scipy_welch(campaign: pd.DataFrame, freq: Evaluation) -> None:
    t = freq.table
    for _, row in _segment_rows(t, "revenue").iterrows():
        sub = campaign[campaign["segment"] == row["segment"]]
        c = sub.loc[sub["variant"] == "control", "revenue"].to_numpy()
        v = sub.loc[sub["variant"] == row["variant"], "revenue"].to_numpy()
        ref = stats.ttest_ind(v, c, equal_var=False)
        ci = ref.confidence_interval(0.95)
        assert row["p_value"] == pytest.approx(ref.pvalue, rel=1e-8)
        assert row["ci_low"] == pytest.approx(ci.low, rel=1e-8)
        assert row["ci_high"] == pytest.approx(ci.high, rel=1e-8)


def test_p_adjusted_holm_within_metric_families(freq: Evaluation) -> None:
    t = freq.table
    for metric in ("repurchased", "revenue"):
        rows = t[t["metric"] == metric]
        seg = rows[rows["segment"] != "all"]
        assert np.allclose(seg["p_adjusted"], multipletests(seg["p_value"], method="holm")[1])
        pooled = rows[rows["segment"] == "all"]
        assert np.allclose(pooled["p_adjusted"], multipletests(pooled["p_value"], method="holm")[1])
    guard = t[t["role"] == "guardrail"]
    assert np.array_equal(guard["p_adjusted"], guard["p_value"])  # guardrails are not in the family
    assert (t["significant"] == (t["p_adjusted"] < 0.05)).all()


@pytest.mark.parametrize(("ours", "theirs"), [("bonferroni", "bonferroni"), ("bh", "fdr_bh")])
def test_other_corrections(campaign: pd.DataFrame, ours: str, theirs: str) -> None:
    t = evaluate(campaign, metrics=["repurchased"], segment_col="segment", correction=ours).table
    seg = t[t["segment"] != "all"]
    assert np.allclose(seg["p_adjusted"], multipletests(seg["p_value"], method=theirs)[1])
    none = evaluate(campaign, metrics=["repurchased"], segment_col="segment", correction=None).table
    assert np.array_equal(none["p_adjusted"], none["p_value"])


def test_aggregated_input_gives_the_same_numbers(campaign: pd.DataFrame, freq: Evaluation) -> None:
    g = campaign.assign(revenue_sumsq=campaign["revenue"] ** 2, units=1).groupby(["segment", "variant"])
    agg = g.agg(
        units=("units", "sum"),
        repurchased=("repurchased", "sum"),
        revenue=("revenue", "sum"),
        revenue_sumsq=("revenue_sumsq", "sum"),
        unsubscribed=("unsubscribed", "sum"),
    ).reset_index()
    ev = evaluate(
        agg,
        metrics=["repurchased", "revenue"],
        guardrails=["unsubscribed"],
        segment_col="segment",
        n_col="units",
    )
    cols = ["p_value", "p_adjusted", "ci_low", "ci_high", "rel_ci_low", "rel_ci_high", "abs_lift"]
    assert np.allclose(ev.table[cols], freq.table[cols], rtol=1e-9, equal_nan=True)


def test_bayesian_numbers_against_exact_integration(campaign: pd.DataFrame, bayes: Evaluation) -> None:
    t = bayes.table
    row = t[
        (t["metric"] == "repurchased") & (t["segment"] == "one_time") & (t["variant"] == "personal")
    ].iloc[0]
    sub = campaign[campaign["segment"] == "one_time"]
    post = {}
    for v in ("control", "coupon", "personal"):
        x = sub.loc[sub["variant"] == v, "repurchased"]
        post[v] = stats.beta(1 + x.sum(), 1 + x.size - x.sum())
    c, p = post["control"], post["personal"]
    lo = min(d.ppf(1e-13) for d in post.values())
    hi = max(d.isf(1e-13) for d in post.values())
    pts = sorted(float(x) for d in post.values() for x in d.ppf([0.001, 0.1, 0.5, 0.9, 0.999]))
    beat = integrate.quad(lambda s: p.pdf(s) * c.cdf(s), lo, hi, points=pts, epsabs=1e-12, limit=500)[0]
    assert row["prob_beat_control"] == pytest.approx(beat, abs=1e-7)
    loss = integrate.quad(lambda s: p.cdf(s) * c.sf(s), lo, hi, points=pts, epsabs=1e-13, limit=500)[0]
    assert row["expected_loss"] == pytest.approx(loss, abs=1e-8)

    def best(s: float) -> float:
        return p.pdf(s) * c.cdf(s) * post["coupon"].cdf(s)

    assert row["prob_best"] == pytest.approx(
        integrate.quad(best, lo, hi, epsabs=1e-12, limit=500)[0], abs=1e-7
    )
    group = t[(t["metric"] == "repurchased") & (t["segment"] == "one_time")]
    assert group["prob_best"].sum() + group["control_prob_best"].iloc[0] == pytest.approx(1.0, abs=1e-8)


def test_bayesian_means_normal_approximation(campaign: pd.DataFrame, bayes: Evaluation) -> None:
    t = bayes.table
    row = t[(t["metric"] == "revenue") & (t["segment"] == "all") & (t["variant"] == "coupon")].iloc[0]
    c = campaign.loc[campaign["variant"] == "control", "revenue"]
    v = campaign.loc[campaign["variant"] == "coupon", "revenue"]
    sd = np.sqrt(c.var() / c.size + v.var() / v.size)
    assert row["prob_beat_control"] == pytest.approx(stats.norm.cdf((v.mean() - c.mean()) / sd), abs=1e-9)
    z = stats.norm.ppf(0.975)
    assert row["ci_low"] == pytest.approx(v.mean() - c.mean() - z * sd, rel=1e-9)


def test_bayesian_custom_priors_are_named(campaign: pd.DataFrame) -> None:
    ev = evaluate(
        campaign,
        metrics=["repurchased", "revenue"],
        method="bayesian",
        prior=(0.5, 0.5),
        mean_prior=(0.0, 50.0),
    )
    t = ev.table
    assert t.loc[t["kind"] == "proportion", "method"].str.contains(r"Beta\(0.5, 0.5\)").all()
    assert t.loc[t["kind"] == "mean", "method"].str.contains(r"Normal\(0, 50\*\*2\)").all()


def test_bayesian_is_deterministic(campaign: pd.DataFrame) -> None:
    a = evaluate(campaign, metrics=["repurchased"], method="bayesian").table
    b = evaluate(campaign, metrics=["repurchased"], method="bayesian").table
    pd.testing.assert_frame_equal(a, b)


# ------------------------------------------------------------------------------------------------
# degenerate comparisons
# ------------------------------------------------------------------------------------------------
def _agg(rows: list[tuple[str, str, int, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["segment", "variant", "units", "complained"])


def test_no_successes_in_either_arm_is_not_estimable_never_p_one() -> None:
    data = _agg(
        [("a", "control", 500, 0), ("a", "mail", 480, 0), ("b", "control", 300, 4), ("b", "mail", 310, 9)]
    )
    t = evaluate(data, metrics=["complained"], segment_col="segment", n_col="units")
    row = t.table[t.table["segment"] == "a"].iloc[0]
    assert not row["estimable"] and row["reason"] == "no successes in either arm"
    assert np.isnan(row["ci_low"])
    assert np.isnan(row["p_value"]) and np.isnan(row["p_adjusted"]) and not row["significant"]
    assert t.table[t.table["segment"] != "a"]["estimable"].all()
    assert "not estimable" in t.summary()


def test_no_successes_in_either_arm_gets_the_bayesian_answer() -> None:
    # issue 12 §4: the Beta posteriors are proper without successes; return their answer
    data = _agg(
        [("a", "control", 500, 0), ("a", "mail", 500, 0), ("b", "control", 300, 0), ("b", "mail", 100, 0)]
    )
    t = evaluate(data, metrics=["complained"], segment_col="segment", n_col="units", method="bayesian").table
    a = t[t["segment"] == "a"].iloc[0]
    assert a["estimable"] and a["prob_beat_control"] == pytest.approx(0.5, abs=1e-9)
    assert a["prob_best"] == pytest.approx(0.5, abs=1e-9) and a["ci_low"] == pytest.approx(-a["ci_high"])
    assert a["expected_loss"] > 0 and "no successes in either arm" in a["reason"]
    b = t[t["segment"] == "b"].iloc[0]  # Beta(1, 301) vs Beta(1, 101): P(mail > control) = 301 / 402
    assert b["estimable"] and b["prob_beat_control"] == pytest.approx(301 / 402, abs=1e-8)


def test_zero_variance_in_both_arms_is_not_estimable() -> None:
    data = pd.DataFrame({"variant": ["control"] * 5 + ["mail"] * 5, "spend": [3.0] * 10})
    row = evaluate(data, metrics=[Mean("spend")]).table.iloc[0]
    assert not row["estimable"] and np.isnan(row["p_value"]) and "zero variance" in row["reason"]


# ------------------------------------------------------------------------------------------------
# bad input
# ------------------------------------------------------------------------------------------------
def _small() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "variant": ["control", "control", "mail", "mail"],
            "opened": [1, 0, 1, 1],
            "revenue": [0.0, 5.0, 2.0, 1.0],
        }
    )


def test_control_label_absent() -> None:
    with pytest.raises(DataError, match=r"control='holdout' is not a value of column 'variant'"):
        evaluate(_small(), metrics=["opened"], control="holdout")


def test_only_one_variant() -> None:
    data = _small().assign(variant="control")
    with pytest.raises(DataError, match=r"column 'variant' holds only the control"):
        evaluate(data, metrics=["opened"])


def test_metric_column_missing() -> None:
    with pytest.raises(ColumnError, match="'clicked'"):
        evaluate(_small(), metrics=["clicked"])


def test_nan_in_metric_column() -> None:
    data = _small().astype({"revenue": float})
    data.loc[1, "revenue"] = np.nan
    with pytest.raises(DataError, match=r"NaN values in column 'revenue'"):
        evaluate(data, metrics=["revenue"])


def test_successes_above_n_in_aggregated_input() -> None:
    data = pd.DataFrame({"variant": ["control", "mail"], "sent": [100, 100], "opened": [30, 130]})
    with pytest.raises(DataError, match=r"more successes in column 'opened' than units in 'sent'"):
        evaluate(data, metrics=["opened"], n_col="sent")


def test_negative_counts_in_aggregated_input() -> None:
    data = pd.DataFrame({"variant": ["control", "mail"], "sent": [100, 100], "opened": [30, -1]})
    with pytest.raises(DataError, match=r"negative values in column 'opened'"):
        evaluate(data, metrics=["opened"], n_col="sent")
    data = pd.DataFrame({"variant": ["control", "mail"], "sent": [100, -100], "opened": [30, 1]})
    with pytest.raises(DataError, match=r"negative values in column 'sent'"):
        evaluate(data, metrics=["opened"], n_col="sent")


def test_variant_with_zero_units() -> None:
    data = pd.DataFrame({"variant": ["control", "mail"], "sent": [100, 0], "opened": [30, 0]})
    with pytest.raises(DataError, match=r"no units for variant 'mail'"):
        evaluate(data, metrics=["opened"], n_col="sent")


def test_mean_metric_with_fewer_than_two_units_in_an_arm() -> None:
    data = pd.DataFrame({"variant": ["control", "control", "mail"], "revenue": [1.0, 2.0, 3.0]})
    with pytest.raises(DataError, match=r"mean metric 'revenue' has 1 unit\(s\) for variant 'mail'"):
        evaluate(data, metrics=["revenue"])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "bootstrap"}, "method='bootstrap'"),
        ({"correction": "sidak"}, "correction='sidak'"),
        ({"alpha": 1.5}, "alpha"),
        ({"prior": (0.0, 1.0)}, "prior"),
        ({"mean_prior": (0.0, -1.0)}, "mean_prior"),
        ({"sequential": True, "method": "bayesian"}, "sequential=True does not apply to method='bayesian'"),
        ({"sequential": True, "n_star": 0}, "n_star must be a positive"),
        ({"sequential": True, "n_star": -5.0}, "n_star must be a positive"),
        ({"sequential": True, "n_star": float("nan")}, "n_star must be a positive"),
        ({"n_star": 1000}, "n_star tune"),
        ({"sequential": True, "sequential_method": "wald"}, "sequential_method='wald'"),
        ({"sequential": True, "sequential_method": "msprt"}, "needs tau"),
        ({"sequential": True, "sequential_method": "msprt", "tau": 0.0}, "tau must be a positive"),
        ({"sequential": True, "sequential_method": "msprt", "tau": 0.01, "rel_tau": -1}, "rel_tau must"),
        ({"sequential": True, "sequential_method": "msprt", "tau": 0.01, "n_star": 10}, "n_star tunes"),
        ({"sequential": True, "tau": 0.01}, "tau and rel_tau tune sequential_method='msprt'"),
        ({"sequential": "yes"}, "sequential must be True or False"),
        ({"poststratify": "no"}, "poststratify must be True or False"),
        ({"covariates": ["past"], "method": "bayesian"}, "Bayesian method does not take covariates"),
        ({"covariates": 3}, "covariates must be a list"),
        ({"guardrails": ["opened"]}, "guardrails"),
    ],
)
def test_bad_parameters(kwargs: dict, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        evaluate(_small(), metrics=["opened"], **kwargs)


def test_errors_are_abkit_errors() -> None:
    with pytest.raises(AbkitError):
        evaluate(_small(), metrics=["opened"], control="nobody")


# ------------------------------------------------------------------------------------------------
# invariances (property tests)
# ------------------------------------------------------------------------------------------------
NUMBERS = ["control_value", "variant_value", "abs_lift", "ci_low", "ci_high", "rel_ci_low", "rel_ci_high"]


@st.composite
def aggregated(draw: st.DrawFn) -> pd.DataFrame:
    n_seg = draw(st.integers(1, 3))
    rows = []
    for s in range(n_seg):
        for v in ("control", "a", "b"):
            n = draw(st.integers(20, 3000))
            rows.append((f"s{s}", v, n, draw(st.integers(0, n)), draw(st.integers(0, n // 10))))
    return pd.DataFrame(rows, columns=["segment", "variant", "units", "opened", "complained"])


def _keyed(t: pd.DataFrame) -> pd.DataFrame:
    return t.set_index(["metric", "segment", "variant"]).sort_index()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(aggregated(), st.randoms(use_true_random=False), st.sampled_from(["frequentist", "bayesian"]))
def test_swapping_variant_order_never_changes_a_row(data: pd.DataFrame, rnd, method: str) -> None:  # type: ignore[no-untyped-def]
    kw = {"metrics": ["opened"], "guardrails": ["complained"], "segment_col": "segment", "n_col": "units"}
    kw |= {"method": method}
    base = _keyed(evaluate(data, **kw).table)
    shuffled = data.sample(frac=1.0, random_state=rnd.randint(0, 10_000)).reset_index(drop=True)
    renamed = shuffled.replace({"variant": {"a": "zz_a", "b": "aa_b"}})  # flips the variants' sort order
    out = evaluate(renamed, **kw).table.replace({"variant": {"zz_a": "a", "aa_b": "b"}})
    other = _keyed(out)
    cols = NUMBERS + (
        ["p_value", "p_adjusted"] if method == "frequentist" else ["prob_beat_control", "prob_best"]
    )
    pd.testing.assert_frame_equal(base[cols], other[cols])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(aggregated(), st.permutations(["x", "m", "a"]))
def test_relabelling_segments_never_changes_results(data: pd.DataFrame, names: list[str]) -> None:
    mapping = {f"s{i}": names[i] for i in range(3)}
    back = {v: k for k, v in mapping.items()}
    kw = {"metrics": ["opened"], "guardrails": ["complained"], "segment_col": "segment", "n_col": "units"}
    base = _keyed(evaluate(data, **kw).table)
    out = evaluate(data.replace({"segment": mapping}), **kw).table.replace({"segment": back})
    cols = [*NUMBERS, "p_value", "p_adjusted", "significant"]
    pd.testing.assert_frame_equal(base[cols], _keyed(out)[cols])


@settings(max_examples=50, deadline=None)
@given(aggregated(), st.sampled_from([0.01, 0.05, 0.1]))
def test_interval_excludes_zero_iff_p_below_alpha(data: pd.DataFrame, alpha: float) -> None:
    t = evaluate(data, metrics=["opened"], segment_col="segment", n_col="units", alpha=alpha).table
    t = t[t["estimable"]]
    assert ((t["p_value"] < alpha) == ((t["ci_low"] > 0) | (t["ci_high"] < 0))).all()


# ------------------------------------------------------------------------------------------------
# rendering, summary, plot
# ------------------------------------------------------------------------------------------------
def test_repr_html_and_summary(freq: Evaluation, bayes: Evaluation) -> None:
    html = freq._repr_html_()
    assert "<table" in html and "Miettinen-Nurminen" in html
    assert repr(freq).startswith("Evaluation(method='frequentist', control='control'")
    text = freq.summary()
    assert "repurchased (proportion):" in text
    assert "all: coupon wins" in text and "adjusted p" in text
    assert "ALERT personal is higher" in text  # the unsubscribe guardrail
    assert "P(beats control)" in bayes.summary()


def test_plot_forest(freq: Evaluation) -> None:
    import matplotlib.pyplot as plt

    before = set(plt.get_fignums())
    ax = freq.plot(metric="revenue", relative=True)
    assert len(ax.get_yticklabels()) == 8  # 4 segments x 2 variants
    assert "variant / control - 1" in ax.get_xlabel()
    plt.close(ax.figure)
    assert set(plt.get_fignums()) == before
    fig, own = plt.subplots()
    assert freq.plot(ax=own) is own
    plt.close(fig)
    with pytest.raises(ParameterError, match="metric='nope'"):
        freq.plot(metric="nope")


# ------------------------------------------------------------------------------------------------
# decisions
# ------------------------------------------------------------------------------------------------
def test_decision_ship_and_guardrail_veto(freq: Evaluation) -> None:
    d = freq.decision(guardrail_margin=0.005).table
    assert (d["decision"] == "ship").all() and (d["variant"] == "coupon").all()
    # with no tolerated increase, coupon's unsubscribes (0.5% vs 0 in the holdout) veto it everywhere
    vetoed = freq.decision(guardrail_margin={"unsubscribed": 0.0}).table
    assert (vetoed["decision"] == "keep holdout").all()
    assert vetoed["vetoed_by"].str.contains("coupon: unsubscribed").all()
    assert vetoed["variant"].isna().all() and (vetoed["best_variant"] == "coupon").all()


def test_decision_keep_collecting_reports_extra_sample() -> None:
    rng = np.random.default_rng(5)
    n = 1500
    data = pd.DataFrame(
        {"variant": np.repeat(["control", "mail"], n), "repurchased": rng.uniform(size=2 * n) < 0.05}
    )
    ev = evaluate(data, metrics=["repurchased"])
    row = ev.decision(mde=0.2, relative=True, power=0.8).table.iloc[0]
    assert row["decision"] == "keep collecting"
    need = sample_size(row["control_value"], 0.2, relative=True, power=0.8, variants=1, correction=None)
    assert row["needed_per_arm"] == max(need.control, need.per_variant)
    assert row["extra_per_arm"] == row["needed_per_arm"] - n


def test_decision_keep_holdout_when_planned_sample_reached() -> None:
    n = 40_000
    data = pd.DataFrame(
        {"segment": "x", "variant": ["control", "mail"], "units": [n, n], "repurchased": [2000, 2010]}
    )
    ev = evaluate(data, metrics=["repurchased"], n_col="units")
    row = ev.decision(mde=0.2).table.iloc[0]
    assert row["decision"] == "keep holdout" and row["extra_per_arm"] == 0


def test_decision_bad_arguments(freq: Evaluation) -> None:
    with pytest.raises(ParameterError, match="guardrail"):
        freq.decision(metric="unsubscribed")
    with pytest.raises(ParameterError, match="mde"):
        freq.decision(mde=-0.1)
    with pytest.raises(ParameterError, match="guardrail_margin"):
        freq.decision(guardrail_margin={"clicks": 0.1})


# ------------------------------------------------------------------------------------------------
# economics
# ------------------------------------------------------------------------------------------------
def test_coupon_that_wins_on_repurchase_but_loses_money() -> None:
    rng = np.random.default_rng(11)
    n = 8000
    variant = np.repeat(["control", "coupon", "email"], n)
    rate = np.select([variant == "coupon", variant == "email"], [0.08, 0.05], 0.04)
    bought = rng.uniform(size=3 * n) < rate
    revenue = np.where(bought, rng.gamma(4.0, 10.0, 3 * n), 0.0)  # mean order 40
    data = pd.DataFrame({"variant": variant, "repurchased": bought, "revenue": revenue})
    rep = evaluate(data, metrics=["repurchased"]).table.set_index("variant")
    assert rep.loc["coupon", "significant"] and rep.loc["coupon", "abs_lift"] > 0
    costs = {"coupon": {"contact": 0.05, "offer": 20.0}, "email": (0.05, 0.0)}
    e = economics(data, costs=costs, margin=0.4).table.set_index("variant")
    assert e.loc["coupon", "incremental_profit"] < 0 and e.loc["coupon", "ci_high"] < 0
    # by hand: per-customer profit, Welch t from scipy
    profit = 0.4 * revenue - np.select([variant == "coupon", variant == "email"], [0.05, 0.05], 0.0)
    profit = profit - np.where(variant == "coupon", 20.0 * bought, 0.0)
    c, v = profit[variant == "control"], profit[variant == "coupon"]
    assert e.loc["coupon", "incremental_profit"] == pytest.approx(1000 * (v.mean() - c.mean()), rel=1e-9)
    ci = stats.ttest_ind(v, c, equal_var=False).confidence_interval(0.95)
    assert e.loc["coupon", "ci_low"] == pytest.approx(1000 * ci.low, rel=1e-9)
    assert e.loc["coupon", "ci_high"] == pytest.approx(1000 * ci.high, rel=1e-9)


def test_economics_by_segment_and_bad_costs(campaign: pd.DataFrame) -> None:
    costs = {"coupon": (0.05, 5.0), "personal": (0.05, 0.0)}
    e = economics(campaign, costs=costs, margin=0.5, segment_col="segment", per=100)
    assert len(e.table) == 4 * 2 and next(iter(e.table["segment"])) == "all"
    assert "per 100 customers" in e._title()
    with pytest.raises(ParameterError, match=r"costs lacks variant\(s\) \['personal'\]"):
        economics(campaign, costs={"coupon": (0.05, 5.0)}, margin=0.5)
    with pytest.raises(ParameterError, match="holdout"):
        economics(campaign, costs={**costs, "control": (1.0, 0.0)}, margin=0.5)
    with pytest.raises(ParameterError, match="negative"):
        economics(campaign, costs={**costs, "coupon": (-1.0, 0.0)}, margin=0.5)
    with pytest.raises(ParameterError, match="margin"):
        economics(campaign, costs=costs, margin=1.5)
    with pytest.raises(ColumnError, match="'spend'"):
        economics(campaign, costs=costs, margin=0.5, revenue_col="spend")


def test_proportion_and_mean_objects_override_inference() -> None:
    data = pd.DataFrame({"variant": ["control"] * 4 + ["mail"] * 4, "x": [0, 1, 2, 1, 1, 1, 0, 2]})
    t = evaluate(data, metrics=[Mean("x", name="items")]).table
    assert t["kind"].iloc[0] == "mean" and t["metric"].iloc[0] == "items"
    with pytest.raises(DataError, match="'x'"):
        evaluate(data, metrics=[Proportion("x")])


def test_special_functions_are_not_warned_about(campaign: pd.DataFrame) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        evaluate(campaign, metrics=["repurchased", "revenue"], segment_col="segment", method="bayesian")
    assert special.ndtr(0) == 0.5


def test_many_segments_summary_counts_and_html_is_truncated() -> None:
    rng = np.random.default_rng(2)
    n_seg = 250
    units = rng.integers(500, 1000, (n_seg, 2))
    success = rng.binomial(units, 0.05)
    success[:3, 1] = (units[:3, 1] * 0.2).astype(int)  # three segments with a clear winner
    data = pd.DataFrame(
        {
            "segment": np.repeat([f"s{i:03d}" for i in range(n_seg)], 2),
            "variant": np.tile(["control", "mail"], n_seg),
            "units": units.reshape(-1),
            "opened": success.reshape(-1),
        }
    )
    ev = evaluate(data, metrics=["opened"], segment_col="segment", n_col="units")
    text = ev.summary()
    assert len(text.splitlines()) == 4  # header, pooled, counted segments, interval convention
    assert text.splitlines()[-1] == f"  ({UNADJUSTED_INTERVALS})"
    assert "250 segments: a variant beats the control in 3 (largest: " in text
    html = ev._repr_html_()
    assert "showing the first 200 of 251 rows" in html
    assert html.count("<tr>") <= 202
    assert len(ev.table) == 251


# ------------------------------------------------------------------------------------------------
# post-stratification of the pooled "all" rows
# ------------------------------------------------------------------------------------------------
def _lin_hc2(sub: pd.DataFrame, metric: str, variant: str, shares: pd.Series, covariates=()) -> object:
    """Lin (2013): OLS of y on treatment x centred stratum dummies (and covariates), HC2 errors."""
    import statsmodels.api as sm

    t = (sub["variant"] == variant).to_numpy(float)
    segs = sorted(shares.index)[1:]
    d = np.column_stack([(sub["segment"] == s).to_numpy(float) - shares[s] for s in segs])
    x = np.column_stack([np.ones(len(sub)), t, d, d * t[:, None]])
    return sm.OLS(sub[metric].to_numpy(float), x).fit(cov_type="HC2")


def test_pooled_rows_are_poststratified_like_lins_regression(
    campaign: pd.DataFrame, freq: Evaluation
) -> None:
    t = freq.table
    shares = campaign["segment"].value_counts(normalize=True)  # segment shares of ALL units (3 arms)
    z = stats.norm.isf(0.025)
    for metric in ("repurchased", "revenue"):
        for variant in ("coupon", "personal"):
            row = t[(t["metric"] == metric) & (t["segment"] == "all") & (t["variant"] == variant)].iloc[0]
            sub = campaign[campaign["variant"].isin(["control", variant])]
            fit = _lin_hc2(sub, metric, variant, shares)
            coef, se = np.asarray(fit.params)[1], np.asarray(fit.bse)[1]
            assert row["abs_lift"] == pytest.approx(coef, rel=1e-9)
            assert row["ci_low"] == pytest.approx(coef - z * se, rel=1e-9)
            assert row["ci_high"] == pytest.approx(coef + z * se, rel=1e-9)
            assert row["p_value"] == pytest.approx(np.asarray(fit.pvalues)[1], rel=1e-9, abs=0)
            # values: segment-weighted means of each arm
            means = sub.groupby(["segment", "variant"])[metric].mean().unstack()
            assert row["control_value"] == pytest.approx((means["control"] * shares).sum(), rel=1e-12)
            assert row["variant_value"] == pytest.approx((means[variant] * shares).sum(), rel=1e-12)
            assert "post-stratified by segment" in row["method"]


def test_poststratify_false_gives_the_plain_pooled_comparison(campaign: pd.DataFrame) -> None:
    t = evaluate(campaign, metrics=["repurchased"], segment_col="segment", poststratify=False).table
    for _, row in t[t["segment"] == "all"].iterrows():
        c = campaign.loc[campaign["variant"] == "control", "repurchased"]
        v = campaign.loc[campaign["variant"] == row["variant"], "repurchased"]
        ref = sm_test_proportions_2indep(v.sum(), v.size, c.sum(), c.size, method="score", correction=True)
        assert row["p_value"] == pytest.approx(ref.pvalue, rel=1e-10, abs=0)
        assert row["control_value"] == pytest.approx(c.mean(), rel=1e-12)
        assert "post-stratified" not in row["method"]


def test_poststratification_falls_back_and_says_so_with_a_one_unit_arm() -> None:
    data = pd.DataFrame(
        {
            "variant": ["control"] * 50 + ["mail"] * 50 + ["control", "mail", "mail"],
            "segment": ["a"] * 100 + ["b"] * 3,
            "opened": [1] * 10 + [0] * 40 + [1] * 20 + [0] * 30 + [1, 0, 1],
        }
    )
    row = evaluate(data, metrics=["opened"], segment_col="segment").table.iloc[0]
    assert row["segment"] == "all" and "not post-stratified by segment" in row["method"]
    assert row["n_control"] == 51 and row["control_value"] == pytest.approx(11 / 51)


# ------------------------------------------------------------------------------------------------
# sequential (always-valid) evaluation
# ------------------------------------------------------------------------------------------------
def _mixture_p(est: np.ndarray, var: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Robbins' normal mixture: p = min(1, sqrt(1 + r) exp(-z^2 r / (2 (1 + r))))."""
    z2 = est**2 / var
    return np.minimum(1.0, np.sqrt(1 + r) * np.exp(-z2 * r / (2 * (1 + r))))


def _rho2(alpha: float, n_star: float) -> float:
    return (-2 * np.log(alpha) + np.log(1 - 2 * np.log(alpha))) / n_star


def test_sequential_rows_follow_the_confidence_sequence_formula(campaign: pd.DataFrame) -> None:
    ev = evaluate(
        campaign, metrics=["repurchased", "revenue"], segment_col="segment", sequential=True, n_star=16000,
        correction="holm",
    )  # fmt: skip
    t = ev.table
    assert (
        ev.sequential
        and t["method"]
        .str.startswith("asymptotic confidence sequence (Waudby-Smith et al. 2024), N*=16000")
        .all()
    )
    rho2 = _rho2(0.05, 16000)
    for _, row in t[t["segment"] != "all"].iterrows():
        sub = campaign[campaign["segment"] == row["segment"]]
        c = sub.loc[sub["variant"] == "control", row["metric"]].to_numpy(float)
        v = sub.loc[sub["variant"] == row["variant"], row["metric"]].to_numpy(float)
        ddof = 0 if row["kind"] == "proportion" else 1
        var = v.var(ddof=ddof) / v.size + c.var(ddof=ddof) / c.size
        est = v.mean() - c.mean()
        r = rho2 * (v.size + c.size)
        assert row["p_value"] == pytest.approx(_mixture_p(est, var, r), rel=1e-9)
        half = np.sqrt(var * (1 + r) / r * (2 * np.log(1 / 0.05) + np.log1p(r)))
        assert row["ci_low"] == pytest.approx(est - half, rel=1e-9)
        assert row["ci_high"] == pytest.approx(est + half, rel=1e-9)
        # relative bounds: ratios l where the contrast v - l c sits exactly on the same boundary (Fieller)
        bound = (1 + r) / r * (2 * np.log(1 / 0.05) + np.log1p(r))
        for lam in (1 + row["rel_ci_low"], 1 + row["rel_ci_high"]):
            var_l = v.var(ddof=ddof) / v.size + lam**2 * c.var(ddof=ddof) / c.size
            assert (v.mean() - lam * c.mean()) ** 2 / var_l == pytest.approx(bound, rel=1e-9)
        # the sequence excludes 0 exactly when the always-valid p is below alpha; so does the relative one
        assert (row["ci_low"] > 0 or row["ci_high"] < 0) == (row["p_value"] < 0.05)
        assert (row["rel_ci_low"] > 0 or row["rel_ci_high"] < 0) == (row["p_value"] < 0.05)
    # the correction applies on top, within the same families as the fixed-horizon analysis
    seg = t[(t["metric"] == "repurchased") & (t["segment"] != "all")]
    assert np.allclose(seg["p_adjusted"], multipletests(seg["p_value"], method="holm")[1])
    # wider than the fixed-horizon intervals
    fixed = evaluate(campaign, metrics=["repurchased", "revenue"], segment_col="segment").table
    assert ((t["ci_high"] - t["ci_low"]) > (fixed["ci_high"] - fixed["ci_low"])).all()
    assert "always valid" in t["convention"].iloc[0]


def test_sequential_pooled_row_uses_the_poststratified_estimate(campaign: pd.DataFrame) -> None:
    t = evaluate(campaign, metrics=["revenue"], segment_col="segment", sequential=True).table
    fixed = evaluate(campaign, metrics=["revenue"], segment_col="segment").table
    shares = campaign["segment"].value_counts(normalize=True)
    for variant in ("coupon", "personal"):
        row = t[(t["segment"] == "all") & (t["variant"] == variant)].iloc[0]
        sub = campaign[campaign["variant"].isin(["control", variant])]
        fit = _lin_hc2(sub, "revenue", variant, shares)
        est, var = np.asarray(fit.params)[1], np.asarray(fit.bse)[1] ** 2
        r = _rho2(0.05, 5000) * len(sub)  # default N* = 5000
        assert row["p_value"] == pytest.approx(_mixture_p(est, var, r), rel=1e-9)
        assert row["abs_lift"] == pytest.approx(fixed[fixed["variant"] == variant]["abs_lift"].iloc[0])
        assert "N*=5000" in row["method"] and "post-stratified by segment" in row["method"]


def test_sequential_msprt_with_per_metric_tau(campaign: pd.DataFrame) -> None:
    taus = {"repurchased": 0.01, "revenue": 0.5}
    t = evaluate(
        campaign, metrics=["repurchased", "revenue"], sequential=True, sequential_method="msprt", tau=taus,
    ).table  # fmt: skip
    with pytest.warns(DeprecationWarning, match="rel_tau is no longer used"):
        evaluate(campaign, metrics=["repurchased"], sequential=True, sequential_method="msprt", tau=0.01,
                 rel_tau=0.3)  # fmt: skip
    for _, row in t.iterrows():
        c = campaign.loc[campaign["variant"] == "control", row["metric"]].to_numpy(float)
        v = campaign.loc[campaign["variant"] == row["variant"], row["metric"]].to_numpy(float)
        ddof = 0 if row["kind"] == "proportion" else 1
        var = v.var(ddof=ddof) / v.size + c.var(ddof=ddof) / c.size
        r = taus[row["metric"]] ** 2 / var
        assert row["p_value"] == pytest.approx(_mixture_p(v.mean() - c.mean(), var, r), rel=1e-9)
        assert f"tau={taus[row['metric']]:g}" in row["method"]
        assert (row["rel_ci_low"] > 0 or row["rel_ci_high"] < 0) == (row["p_value"] < 0.05)
    with pytest.raises(ParameterError, match=r"tau: a mapping must give every metric"):
        evaluate(campaign, metrics=["repurchased", "revenue"], sequential=True, sequential_method="msprt",
                 tau={"repurchased": 0.01})  # fmt: skip


def test_sequential_results_drive_significance_summary_and_decision() -> None:
    # fixed horizon: p = 0.0011 (ships); always valid with N* = 4,000: p = 0.026, but Holm over
    # two variants with a null second variant keeps the first significant; a weaker lift does not
    df = pd.DataFrame(
        {
            "variant": ["control"] * 2000 + ["coupon"] * 2000,
            "repurchased": [1] * 100 + [0] * 1900 + [1] * 135 + [0] * 1865,
        }
    )
    fixed = evaluate(df, metrics=["repurchased"])
    seq = evaluate(df, metrics=["repurchased"], sequential=True, n_star=4000)
    assert fixed.table["p_value"].iloc[0] < 0.05 <= seq.table["p_value"].iloc[0]
    assert fixed.decision(mde=0.3).table["decision"].iloc[0] == "ship"
    assert seq.decision(mde=0.3).table["decision"].iloc[0] != "ship"
    assert "no clear difference" in seq.summary() and "coupon wins" in fixed.summary()
    assert "always valid" in " ".join(seq._notes())


# ------------------------------------------------------------------------------------------------
# CUPED
# ------------------------------------------------------------------------------------------------
def _with_history(seed: int = 3, n: int = 8000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    variant = rng.choice(["control", "mail"], n)
    segment = rng.choice(["high_value", "one_time"], n)
    monetary = rng.gamma(2.0, 50.0, n)
    frequency = np.where(segment == "one_time", 1.0, rng.poisson(3.0, n) + 2.0)
    revenue = np.maximum(0.0, 0.3 * monetary + 4 * frequency + rng.normal(0, 25, n) + 6 * (variant == "mail"))
    bought = rng.uniform(size=n) < 0.02 + 0.0003 * monetary + 0.01 * (variant == "mail")
    return pd.DataFrame(
        {"variant": variant, "segment": segment, "revenue": revenue, "repurchased": bought,
         "monetary_total": monetary, "frequency": frequency}
    )  # fmt: skip


def test_cuped_rows_equal_the_ols_treatment_coefficient() -> None:
    import statsmodels.api as sm

    data = _with_history()
    t = evaluate(data, metrics=["revenue", "repurchased"], covariates=["monetary_total", "frequency"]).table
    for _, row in t.iterrows():
        y = data[row["metric"]].to_numpy(float)
        x = np.column_stack(
            [np.ones(len(data)), (data["variant"] == "mail").to_numpy(float), data["monetary_total"],
             data["frequency"]]
        )  # fmt: skip
        fit = sm.OLS(y, x).fit(cov_type="HC2")
        coef, se = np.asarray(fit.params)[1], np.asarray(fit.bse)[1]
        assert row["abs_lift"] == pytest.approx(coef, rel=1e-9)
        q = stats.t.isf(0.025, row["df"])
        assert (row["ci_high"] - row["ci_low"]) / (2 * q) == pytest.approx(se, rel=2e-3)  # HC2 up to O(1/n)
        yv, yc = y[data["variant"] == "mail"], y[data["variant"] == "control"]
        welch = stats.ttest_ind(yv, yc, equal_var=False)
        plain_var = ((yv.mean() - yc.mean()) / welch.statistic) ** 2  # Welch's variance of the difference
        assert row["variance_reduction"] == pytest.approx(1 - se**2 / plain_var, abs=2e-3)
        assert row["method"].startswith(
            "CUPED regression adjustment (Deng et al. 2013), theta pooled within arms, "
            "covariates: monetary_total, frequency"
        )
    assert t.loc[t["metric"] == "revenue", "variance_reduction"].iloc[0] > 0.4


def test_cuped_drops_a_covariate_constant_within_a_segment_and_says_so() -> None:
    data = _with_history()
    t = evaluate(
        data, metrics=["revenue"], segment_col="segment", covariates=["monetary_total", "frequency"]
    ).table
    one = t[t["segment"] == "one_time"].iloc[0]
    assert "not used (constant in this segment): frequency" in one["method"]
    sub = data[data["segment"] == "one_time"]
    ref = evaluate(sub, metrics=["revenue"], covariates=["monetary_total"]).table.iloc[0]
    assert one["abs_lift"] == pytest.approx(ref["abs_lift"], rel=1e-12)
    assert one["p_value"] == pytest.approx(ref["p_value"], rel=1e-9)
    pooled = t[t["segment"] == "all"].iloc[0]
    assert "post-stratified by segment" in pooled["method"] and 0 < pooled["variance_reduction"] < 1
    # pooled = segment-share-weighted CUPED differences
    shares = data["segment"].value_counts(normalize=True)
    segs = t[t["segment"] != "all"].set_index("segment")
    assert pooled["abs_lift"] == pytest.approx((segs["abs_lift"] * shares).sum(), rel=1e-12)


def test_cuped_with_sequential() -> None:
    data = _with_history()
    t = evaluate(data, metrics=["revenue"], covariates=["monetary_total"], sequential=True, n_star=8000).table
    fixed = evaluate(data, metrics=["revenue"], covariates=["monetary_total"]).table
    row, ref = t.iloc[0], fixed.iloc[0]
    var = ((ref["ci_high"] - ref["ci_low"]) / (2 * stats.t.isf(0.025, ref["df"]))) ** 2
    r = _rho2(0.05, 8000) * len(data)
    assert row["p_value"] == pytest.approx(_mixture_p(ref["abs_lift"], var, r), rel=1e-9)
    assert row["method"].startswith("asymptotic confidence sequence") and "CUPED" in row["method"]
    assert row["variance_reduction"] == pytest.approx(ref["variance_reduction"])


def test_cuped_bad_covariates() -> None:
    data = _with_history()
    with pytest.raises(ColumnError, match="past_orders"):
        evaluate(data, metrics=["revenue"], covariates=["past_orders"])
    bad = data.assign(monetary_total=data["monetary_total"].where(data.index % 50 != 0))
    with pytest.raises(DataError, match=r"NaN values in column 'monetary_total'"):
        evaluate(bad, metrics=["revenue"], covariates=["monetary_total"])
    with pytest.raises(DataError, match=r"covariate 'flag' is constant"):
        evaluate(data.assign(flag=1.0), metrics=["revenue"], covariates=["flag"])
    agg = pd.DataFrame({"variant": ["control", "mail"], "n": [10, 10], "opened": [2, 3], "x": [1.0, 2.0]})
    with pytest.raises(ParameterError, match=r"covariates=\['x'\] need one row per unit"):
        evaluate(agg, metrics=["opened"], n_col="n", covariates=["x"])
    with pytest.raises(DataError, match="collinear"):
        evaluate(data.assign(m2=2 * data["monetary_total"]), metrics=["revenue"],
                 covariates=["monetary_total", "m2"])  # fmt: skip


# ------------------------------------------------------------------------------------------------
# review fixes: sample sizes respect the split; relative lifts of means; plot colours; conventions
# ------------------------------------------------------------------------------------------------
def test_decision_sample_size_respects_unequal_split() -> None:
    # 1 : 3 : 3 : 3 split; abkit.power with ratio=3 says the arms already hold the planned sample
    agg = pd.DataFrame(
        {
            "variant": ["control", "A", "B", "C"],
            "n": [12628, 37884, 37884, 37884],
            "rep": [379, 1265, 1130, 1160],
        }
    )
    ev = evaluate(agg, metrics=[Proportion("rep")], n_col="n")
    row = ev.decision(mde=0.2).table.iloc[0]
    ref = sample_size(379 / 12628, 0.2, relative=True, variants=3, ratio=3.0, correction="bonferroni")
    assert ref.control <= 12628 and ref.per_variant <= 37884
    assert row["needed_control"] == ref.control and row["needed_variant"] == ref.per_variant
    assert row["extra_control"] == 0 and row["extra_variant"] == 0 and row["extra_per_arm"] == 0
    assert row["decision"] == "keep holdout" and "planned sample reached" in row["reason"]


def test_decision_extra_units_per_arm_with_unequal_variants() -> None:
    agg = pd.DataFrame({"variant": ["control", "A", "B"], "n": [3000, 9000, 6000], "rep": [90, 290, 185]})
    ev = evaluate(agg, metrics=[Proportion("rep")], n_col="n")
    row = ev.decision(mde=0.2).table.iloc[0]
    refs = [
        sample_size(0.03, 0.2, relative=True, variants=2, ratio=r, correction="bonferroni")
        for r in (3.0, 2.0)
    ]
    assert row["decision"] == "keep collecting"
    assert row["needed_control"] == max(r.control for r in refs)
    assert row["needed_variant"] == max(r.per_variant for r in refs)
    assert row["extra_control"] == max(r.control for r in refs) - 3000
    assert row["extra_variant"] == max(refs[0].per_variant - 9000, refs[1].per_variant - 6000)
    assert row["extra_per_arm"] == max(row["extra_control"], row["extra_variant"])
    assert (row["n_control"], row["n_variant"], row["n_per_arm"]) == (3000, 6000, 3000)
    assert f"{row['extra_control']:,} more control" in row["reason"]


def test_decision_mean_sample_size_respects_split() -> None:
    # control: n=400, mean 10, sd 20; variant: n=1200 (ratio 3)
    n0, n1, sd = 400, 1200, 20.0
    agg = pd.DataFrame(
        {
            "variant": ["control", "mail"],
            "n": [n0, n1],
            "spend": [10.0 * n0, 10.3 * n1],
            "spend_sumsq": [sd**2 * (n0 - 1) + 100.0 * n0, sd**2 * (n1 - 1) + 10.3**2 * n1],
        }
    )
    ev = evaluate(agg, metrics=[Mean("spend")], n_col="n")
    row = ev.decision(mde=0.1).table.iloc[0]
    ref = sample_size_mean(1.0, sd, ratio=3.0, variants=1, correction=None)
    assert row["needed_control"] == ref.control and row["needed_variant"] == ref.per_variant
    assert row["extra_control"] == ref.control - n0 and row["extra_variant"] == max(ref.per_variant - n1, 0)


def _profit_data() -> pd.DataFrame:
    # profit per customer: the control loses money in both segments; variant A loses less
    return pd.DataFrame(
        {
            "variant": ["control", "A", "B"] * 2,
            "seg": ["s1"] * 3 + ["s2"] * 3,
            "n": [1000, 1000, 1000, 300, 300, 300],
            "profit": [-500.0, -200.0, 100.0, -30.0, -10.0, 0.0],
            "profit_sumsq": [5000.0, 5200.0, 4000.0, 400.0, 500.0, 300.0],
            "spend": [900.0, -60.0, 700.0, 270.0, -30.0, 200.0],
            "spend_sumsq": [5000.0, 5200.0, 4000.0, 900.0, 500.0, 600.0],
        }
    )


@pytest.mark.parametrize("method", ["frequentist", "bayesian"])
def test_relative_lift_of_means_needs_a_positive_control(method: str) -> None:
    ev = evaluate(
        _profit_data(), metrics=[Mean("profit"), Mean("spend")], segment_col="seg", n_col="n", method=method
    )
    t = ev.table
    profit = t[t["metric"] == "profit"]
    # -0.5 -> -0.2 would show as -60%: every row (segments and the pooled "all") leaves it out, saying why
    assert profit["rel_lift"].isna().all() and profit["rel_ci_low"].isna().all()
    assert profit["estimable"].all()
    assert profit["reason"].str.contains("positive control mean").all()
    # spend: positive control means, variant A negative: rel_lift = variant / control - 1 on every
    # row (the post-stratified pooled row included); the log-ratio interval is not available
    spend = t[(t["metric"] == "spend") & (t["variant"] == "A")]
    expected = spend["variant_value"] / spend["control_value"] - 1
    np.testing.assert_allclose(spend["rel_lift"], expected, rtol=1e-12)
    assert spend["rel_ci_low"].isna().all() and spend["reason"].str.contains("both").all()
    assert any("with a note" in n for n in ev._notes())


def test_bayesian_mean_reason_states_the_six_sd_rule() -> None:
    # variant posterior N(0.5, 1): not 6 sd above 0, so no relative credible interval
    agg = pd.DataFrame(
        {"variant": ["control", "mail"], "n": [100, 100], "spend": [1000.0, 50.0],
         "spend_sumsq": [100.0 * 99 + 100 * 100.0, 100.0 * 99 + 100 * 0.25]}
    )  # fmt: skip
    row = evaluate(agg, metrics=[Mean("spend")], n_col="n", method="bayesian").table.iloc[0]
    assert row["rel_lift"] == pytest.approx(0.05 - 1)
    assert np.isnan(row["rel_ci_low"]) and np.isnan(row["rel_ci_high"]) and np.isfinite(row["ci_low"])
    assert "6 posterior sd above 0" in row["reason"]


def _borderline() -> Evaluation:
    # segment s0: unadjusted p about 0.03 (its interval excludes 0) but Holm over 4 rows lifts it above 0.05
    agg = pd.DataFrame(
        {
            "variant": ["control", "mail"] * 4,
            "seg": np.repeat(["s0", "s1", "s2", "s3"], 2),
            "n": [2000] * 8,
            "rep": [100, 134, 100, 101, 100, 99, 100, 102],
        }
    )
    return evaluate(agg, metrics=[Proportion("rep")], segment_col="seg", n_col="n")


def test_plot_colours_rows_by_adjusted_significance() -> None:
    import matplotlib.pyplot as plt

    ev = _borderline()
    t = ev.table
    s0 = t[t["segment"] == "s0"].iloc[0]
    assert s0["ci_low"] > 0 and s0["p_adjusted"] > 0.05 and not s0["significant"]
    ax = ev.plot()
    colours = {line.get_color() for line in ax.lines}
    assert colours == {"tab:grey", "black"}  # no row is significant after adjustment; black: the 0 line
    assert "per-comparison" in ax.get_title()
    plt.close(ax.figure)
    clear = evaluate(
        pd.DataFrame({"variant": ["control", "mail"], "n": [2000, 2000], "rep": [100, 160]}),
        metrics=[Proportion("rep")], n_col="n",
    )  # fmt: skip
    ax = clear.plot()
    assert {line.get_color() for line in ax.lines} == {"tab:green", "black"}  # black: the zero line
    plt.close(ax.figure)


def test_convention_and_summary_say_intervals_are_unadjusted() -> None:
    ev = _borderline()
    assert ev.table["convention"].str.contains(UNADJUSTED_INTERVALS, regex=False).all()
    assert UNADJUSTED_INTERVALS in ev.summary()
    none = evaluate(
        pd.DataFrame({"variant": ["control", "mail"], "n": [2000, 2000], "rep": [100, 160]}),
        metrics=[Proportion("rep")], n_col="n", correction=None,
    )  # fmt: skip
    assert not none.table["convention"].str.contains("unadjusted").any()
    assert "unadjusted" not in none.summary()


# --------------------------------------------------------------------------------------------------
# issue 12 §4: statistical edge cases
# --------------------------------------------------------------------------------------------------
def _complaints() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    n = 2000
    return pd.DataFrame(
        {
            "variant": ["control"] * n + ["coupon"] * n,
            "repurchased": np.r_[rng.random(n) < 0.05, rng.random(n) < 0.08].astype(int),
            # a float 0/1 column, all zeros in the no-contact holdout
            "complaint": np.r_[np.zeros(n), (rng.random(n) < 0.01).astype(float)],
        }
    )


def test_bayesian_guardrail_with_a_zero_variance_holdout_still_vetoes() -> None:
    df = _complaints()
    for method in ("frequentist", "bayesian"):
        ev = evaluate(df, metrics=["repurchased"], guardrails=[Mean("complaint")], method=method)
        g = ev.table[ev.table["metric"] == "complaint"].iloc[0]
        assert g["estimable"] and np.isfinite(g["ci_low"]) and g["ci_low"] > 0
        d = ev.decision().table.iloc[0]
        assert d["decision"] == "keep holdout" and "complaint" in d["vetoed_by"]
        assert "nan" not in ev.summary()
    # the holdout is a point mass at 0: the lift's posterior is the variant's, N(mean, s / sqrt(n))
    v = df.loc[df["variant"] == "coupon", "complaint"].to_numpy()
    sd = v.std(ddof=1) / np.sqrt(v.size)
    z = stats.norm.isf(0.025)
    assert g["ci_low"] == pytest.approx(v.mean() - z * sd, rel=1e-9)
    assert g["prob_beat_control"] == pytest.approx(stats.norm.cdf(v.mean() / sd), abs=1e-6)


def test_zero_one_column_gets_the_same_test_whatever_its_dtype() -> None:
    df = _complaints()
    base = evaluate(df, metrics=["repurchased"]).table
    for values in (
        df["repurchased"].astype(float),
        df["repurchased"].astype("Int64"),
        df["repurchased"].astype(bool).astype("boolean"),
    ):
        t = evaluate(df.assign(repurchased=values), metrics=["repurchased"]).table
        assert t["kind"].iloc[0] == "proportion" and t["p_value"].iloc[0] == base["p_value"].iloc[0]
    agg = df.groupby("variant", as_index=False).agg(
        n=("repurchased", "size"), repurchased=("repurchased", "sum")
    )
    agg["repurchased_sumsq"] = agg["repurchased"].astype(float)
    t = evaluate(agg, metrics=["repurchased"], n_col="n").table
    assert t["p_value"].iloc[0] == pytest.approx(base["p_value"].iloc[0], rel=1e-12)
    # an explicit kind overrides: Welch t on the same column
    welch = evaluate(df, metrics=[Mean("repurchased")]).table
    assert welch["kind"].iloc[0] == "mean" and welch["p_value"].iloc[0] != base["p_value"].iloc[0]


def _with_empty_cell() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 3000
    df = pd.DataFrame(
        {
            "variant": rng.choice(["control", "coupon", "mail"], n),
            "segment": rng.choice(["a", "b", "c"], n),
            "repurchased": (rng.random(n) < 0.1).astype(int),
        }
    )
    df["revenue"] = df["repurchased"] * rng.exponential(40.0, n)
    return df[~((df["segment"] == "b") & (df["variant"] == "mail"))  # no mail in b
              & ~((df["segment"] == "c") & (df["variant"] == "control"))]  # no holdout in c  # fmt: skip


@pytest.mark.parametrize("method", ["frequentist", "bayesian"])
def test_an_empty_cell_marks_its_rows_and_the_rest_is_evaluated(method: str) -> None:
    df = _with_empty_cell()
    ev = evaluate(df, metrics=["repurchased", "revenue"], segment_col="segment", method=method)
    t = ev.table
    empty = ((t["segment"] == "b") & (t["variant"] == "mail")) | (t["segment"] == "c")
    assert not t.loc[empty, "estimable"].any()
    assert t.loc[empty, "reason"].str.startswith("too few units").all()
    assert t.loc[empty, "abs_lift"].isna().all()
    assert t.loc[~empty, "estimable"].all()
    # the other rows are exactly what the data without the empty cells gives
    full = df[df["segment"] == "a"]
    ref = evaluate(full, metrics=["repurchased", "revenue"], method=method).table
    mine = t[t["segment"] == "a"].reset_index(drop=True)
    cols = ["abs_lift", "ci_low", "ci_high"]
    assert np.allclose(mine[cols].to_numpy(float), ref[cols].to_numpy(float), rtol=1e-9)
    d = ev.decision(costs={"coupon": (0.01, 5.0), "mail": (0.01, 0.0)}, margin=0.4).table.set_index("segment")
    assert d.loc["c", "decision"] == "check the data" and "too few units" in d.loc["c", "reason"]
    assert d.loc["b", "decision"] != "check the data"
    e = economics(df, costs={"coupon": (0.01, 5.0), "mail": (0.01, 0.0)}, margin=0.4, segment_col="segment")
    et = e.table
    bad = (et["segment"] == "c") | ((et["segment"] == "b") & (et["variant"] == "mail"))
    assert not et.loc[bad, "estimable"].any() and et.loc[bad, "reason"].str.contains("too few units").all()
    assert et.loc[~bad, "estimable"].all()


def test_sequential_relative_interval_agrees_with_the_absolute_one() -> None:
    # the row: p 0.005 and significant, but the relative interval was (-0.018, 2.07)
    data = pd.DataFrame({"variant": ["control", "mail"], "n": [8041, 242], "x": [1557, 27]})
    ev = evaluate(data, metrics=["x"], n_col="n", sequential=True, n_star=20000, correction=None)
    row = ev.table.iloc[0]
    assert row["significant"] and row["rel_ci_high"] < 0 and row["ci_high"] < 0
    rng = np.random.default_rng(12)
    k = 600
    n0, n1 = rng.integers(20, 10000, k), rng.integers(20, 10000, k)
    p0 = rng.uniform(0.005, 0.3, k)
    p1 = p0 * rng.uniform(0.5, 2.0, k)
    rows = []
    for i in range(k):
        rows += [(f"r{i}", "control", n0[i], rng.binomial(n0[i], p0[i])),
                 (f"r{i}", "mail", n1[i], rng.binomial(n1[i], min(p1[i], 1.0)))]  # fmt: skip
    agg = pd.DataFrame(rows, columns=["segment", "variant", "n", "x"])
    t = evaluate(agg, metrics=["x"], n_col="n", segment_col="segment", sequential=True, n_star=20000,
                 correction=None).table  # fmt: skip
    t = t[t["estimable"] & (t["control_value"] > 0)]
    abs_excludes = (t["ci_low"] > 0) | (t["ci_high"] < 0)
    rel_excludes = (t["rel_ci_low"] > 0) | (t["rel_ci_high"] < 0)
    assert len(t) > 500 and (abs_excludes == t["significant"]).all() and (rel_excludes == abs_excludes).all()
    # no success in the control: no relative interval, and a reason saying why
    zero = pd.DataFrame({"variant": ["control", "mail"], "n": [2000, 2000], "x": [0, 40]})
    z = evaluate(zero, metrics=["x"], n_col="n", sequential=True).table.iloc[0]
    assert np.isnan(z["rel_ci_low"]) and "successes in the control" in z["reason"]


def test_no_runtime_warning_from_unbounded_sequential_ratios() -> None:
    from abkit.stats.sequential import sequential_estimate

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = sequential_estimate(1.0, 1e6, 100, log_scale=True)
    assert np.isinf(r.ci_high) and r.ci_low == pytest.approx(-1.0)


# --------------------------------------------------------------------------------------------------
# issue 10 §1: decisions that agree with the money
# --------------------------------------------------------------------------------------------------
COSTS = {"coupon": {"contact": 0.01, "offer": 5.0}, "personal": {"contact": 0.01, "offer": 0.0}}


def _money_campaign(seed: int = 5, n: int = 20000, coupon_rate: float = 0.045) -> pd.DataFrame:
    """The coupon wins on repurchase; "personal" brings fewer, bigger baskets and earns more."""
    rng = np.random.default_rng(seed)
    arms = {"control": (0.03, 60.0), "coupon": (coupon_rate, 60.0), "personal": (0.04, 90.0)}
    parts = []
    for arm, (rate, basket) in arms.items():
        bought = rng.random(n) < rate
        revenue = np.where(bought, basket * rng.uniform(0.5, 1.5, n), 0.0)
        parts.append(pd.DataFrame({"variant": arm, "repurchased": bought.astype(int), "revenue": revenue}))
    return pd.concat(parts, ignore_index=True)


def _aggregate(df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(revenue_sumsq=df["revenue"] ** 2).groupby("variant", as_index=False).agg(
        n=("revenue", "size"), repurchased=("repurchased", "sum"), revenue=("revenue", "sum"),
        revenue_sumsq=("revenue_sumsq", "sum"),
    )  # fmt: skip


@pytest.mark.parametrize("method", ["frequentist", "bayesian"])
def test_profit_objective_ships_the_variant_that_earns_most(method: str) -> None:
    from abkit.evaluation import CONFIDENCE_WORDS

    df = _money_campaign()
    ev = evaluate(df, metrics=["repurchased", "revenue"], method=method)
    primary = ev.decision().table.iloc[0]
    assert primary["objective"] == "primary" and primary["decision"] == "ship"
    assert primary["variant"] == "coupon" and np.isnan(primary["profit"])
    d = ev.decision(costs=COSTS, margin=0.4).table.iloc[0]
    assert d["objective"] == "profit" and d["decision"] == "ship" and d["variant"] == "personal"
    assert d["profit_ci_low"] > 0 and d["confidence"] in CONFIDENCE_WORDS
    assert pd.isna(d["extra_per_arm"]) and pd.isna(d["extra_control"]) and pd.isna(d["extra_variant"])
    # the primary metric's result of the shipped variant is shown alongside
    row = ev.table[(ev.table["metric"] == "repurchased") & (ev.table["variant"] == "personal")].iloc[0]
    assert d["abs_lift"] == row["abs_lift"]
    # profit matches abkit.economics on the same customers
    e = economics(df, costs=COSTS, margin=0.4).table.set_index("variant")
    assert d["profit"] == pytest.approx(e.loc["personal", "incremental_profit"], rel=1e-9)
    if method == "frequentist":
        assert d["profit_ci_low"] == pytest.approx(e.loc["personal", "ci_low"], rel=1e-9)


def test_primary_objective_warns_when_the_money_disagrees() -> None:
    ev = evaluate(_money_campaign(), metrics=["repurchased", "revenue"])
    d = ev.decision(costs=COSTS, margin=0.4, objective="primary").table.iloc[0]
    assert d["decision"] == "ship" and d["variant"] == "coupon"
    assert "personal earns significantly more" in d["profit_warning"] and "warning:" in d["reason"]
    dear = {"coupon": {"contact": 0.01, "offer": 30.0}, "personal": COSTS["personal"]}
    d = ev.decision(costs=dear, margin=0.4, objective="primary").table.iloc[0]
    assert d["variant"] == "coupon" and d["profit_ci_high"] < 0
    assert "coupon loses money" in d["profit_warning"]


@pytest.mark.parametrize("seed", range(6))
def test_profit_ship_invariants(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    size, rate = int(rng.integers(3000, 20000)), float(rng.uniform(0.03, 0.06))
    df = _money_campaign(seed=seed, n=size, coupon_rate=rate)
    offer = float(rng.uniform(0.0, 12.0))
    costs = {"coupon": {"contact": 0.01, "offer": offer}, "personal": COSTS["personal"]}
    ev = evaluate(df, metrics=["repurchased", "revenue"], correction="holm")
    d = ev.decision(costs=costs, margin=0.4).table.iloc[0]
    e = economics(df, costs=costs, margin=0.4).table
    significant = e[(multipletests(e["p_value"], method="holm")[1] < 0.05) & (e["incremental_profit"] > 0)]
    if d["decision"] == "ship":
        assert d["profit_ci_low"] > 0
        assert d["profit"] == pytest.approx(significant["incremental_profit"].max(), rel=1e-9)
    else:
        assert significant.empty


def test_aggregated_input_gives_the_same_decision() -> None:
    df = _money_campaign()
    per_customer = evaluate(df, metrics=["repurchased", "revenue"]).decision(costs=COSTS, margin=0.4).table
    agg = evaluate(_aggregate(df), metrics=["repurchased", "revenue"], n_col="n")
    aggregated = agg.decision(costs=COSTS, margin=0.4).table
    pd.testing.assert_frame_equal(per_customer, aggregated, check_exact=False, rtol=1e-9)


@pytest.mark.parametrize("method", ["frequentist", "bayesian"])
def test_a_sample_ratio_alert_never_ships(method: str) -> None:
    from abkit.checks import srm

    ev = evaluate(_money_campaign(), metrics=["repurchased", "revenue"], method=method)
    weights = {"control": 1, "coupon": 1, "personal": 1}
    bad = srm({"control": 1000, "coupon": 1300, "personal": 1000}, weights)
    good = srm({"control": 1000, "coupon": 1000, "personal": 1000}, weights)
    assert bad.ok is False and good.ok
    for kw in ({}, {"costs": COSTS, "margin": 0.4}):
        d = ev.decision(srm=[good, bad], **kw).table
        assert (d["decision"] == "check the data").all() and d["variant"].isna().all()
        assert d["reason"].str.contains("sample-ratio").all()
        assert (ev.decision(srm=good, **kw).table["decision"] == "ship").all()
    with pytest.raises(ParameterError, match="srm must be"):
        ev.decision(srm="mismatch")


def test_objective_defaults_and_errors() -> None:
    ev = evaluate(_money_campaign(n=3000), metrics=["repurchased", "revenue"])
    assert ev.decision().objective == "primary"
    assert ev.decision(costs=COSTS, margin=0.4).objective == "profit"
    assert ev.decision(costs=COSTS, margin=0.4, objective="primary").table["objective"].iloc[0] == "primary"
    with pytest.raises(ParameterError, match="objective='profit' needs costs"):
        ev.decision(objective="profit")
    with pytest.raises(ParameterError, match="margin is given without costs"):
        ev.decision(margin=0.4)
    with pytest.raises(ParameterError, match="objective"):
        ev.decision(objective="money")
    only_rate = evaluate(_money_campaign(n=3000), metrics=["repurchased"])
    with pytest.raises(ParameterError, match=r"lacks \['revenue'\].*revenue_col="):
        only_rate.decision(costs=COSTS, margin=0.4)


def test_confidence_words() -> None:
    from abkit.evaluation import CONFIDENCE_WORDS, confidence_word

    assert len(set(CONFIDENCE_WORDS)) == 5
    cases = ((0.001, 1), (0.02, 1), (0.5, 1), (0.02, -1), (0.001, -1))
    assert [confidence_word(p, d) for p, d in cases] == list(CONFIDENCE_WORDS)
    probs = (0.995, 0.96, 0.5, 0.04, 0.005)
    assert [confidence_word(p, 1, method="bayesian") for p in probs] == list(CONFIDENCE_WORDS)
    assert confidence_word(float("nan"), 1) == "unclear"


# ------------------------------------------------------------------------------------------------
# alternative: "two-sided" (default), "larger", "smaller"
# ------------------------------------------------------------------------------------------------
def _alt_frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 3000
    df = pd.DataFrame({
        "variant": rng.choice(["control", "coupon", "personal"], n),
        "segment": rng.choice(["a", "b", "c"], n),
        "repurchased": (rng.uniform(size=n) < 0.08).astype(int),
        "unsubscribed": (rng.uniform(size=n) < 0.02).astype(int),
        "revenue": rng.exponential(10, n) * (rng.uniform(size=n) < 0.3),
        "past": rng.exponential(5, n),
    })  # fmt: skip
    coupon = df["variant"] == "coupon"
    df.loc[coupon, "repurchased"] |= (rng.uniform(size=coupon.sum()) < 0.03).astype(int)
    return df


# sha256 of evaluate(...).table.to_csv() computed on main before `alternative` existed (the Bayesian
# digest after the sized-grid quadrature of abkit.stats.bayesian, which moved its bounds by < 3e-12,
# and after its Taylor steps in z (recurrence coefficients), which moved them by < 2e-12;
# plain and segments after the Wald-started score-bound search, which moved them by < 3e-13)
_TWO_SIDED_TABLES = {
    "plain": ({}, "ffe1144eaf82346721ea0ff07f2b91cb4eb117fc7a4045a699071fe4fac8daf8"),
    "segments": (
        {"segment_col": "segment"}, "0311410f8525aef2501c6a1f4a29f91f74585f32d9e849029d5ecebc77a1aec7"
    ),
    "cuped": (
        {"segment_col": "segment", "covariates": ["past"]},
        "060154dd404ffb1693d993cd629ebb016de9d5c62b3781d88b5a747fb3ea1952",
    ),
    "sequential": (
        {"segment_col": "segment", "sequential": True, "n_star": 3000},
        "fe821103e1c14bc6a394cf989ad03ab7f49b47a8c6153a8a19c17b15a22d8c09",
    ),
    "bayesian": (
        {"segment_col": "segment", "method": "bayesian"},
        "7bb898f46980eacccbfdb3cd32c27916822c2e6a3559d92dd56b19c0b23b348d",
    ),
}


@pytest.mark.parametrize("case", sorted(_TWO_SIDED_TABLES))
def test_two_sided_default_tables_are_byte_identical_to_before(case: str) -> None:
    import hashlib

    kw, digest = _TWO_SIDED_TABLES[case]
    df = _alt_frame()
    default = evaluate(df, metrics=["repurchased", "revenue"], guardrails=["unsubscribed"], **kw)
    explicit = evaluate(
        df, metrics=["repurchased", "revenue"], guardrails=["unsubscribed"], alternative="two-sided", **kw
    )
    text = default.table.to_csv(index=False)
    assert hashlib.sha256(text.encode()).hexdigest() == digest
    assert explicit.table.to_csv(index=False) == text and default.alternative == "two-sided"


@pytest.mark.parametrize("alternative", ["larger", "smaller"])
def test_one_sided_rows_match_statsmodels_and_scipy_and_guardrails_stay_two_sided(alternative: str) -> None:
    df = _alt_frame()
    names = {"metrics": ["repurchased", "revenue"], "guardrails": ["unsubscribed"]}
    ev = evaluate(df, **names, alternative=alternative)
    two = evaluate(df, **names)
    t = ev.table.set_index(["metric", "variant"])
    for variant in ("coupon", "personal"):
        c, v = df[df["variant"] == "control"], df[df["variant"] == variant]
        ref = sm_test_proportions_2indep(
            v["repurchased"].sum(), len(v), c["repurchased"].sum(), len(c), method="score",
            compare="diff", alternative=alternative,
        )  # fmt: skip
        row = t.loc[("repurchased", variant)]
        assert row["p_value"] == pytest.approx(ref.pvalue, rel=1e-12)
        scipy_word = "greater" if alternative == "larger" else "less"
        welch = stats.ttest_ind(v["revenue"], c["revenue"], equal_var=False, alternative=scipy_word)
        assert t.loc[("revenue", variant), "p_value"] == pytest.approx(welch.pvalue, rel=1e-9)
        for metric in ("repurchased", "revenue"):
            r = t.loc[(metric, variant)]
            if alternative == "larger":
                assert r["ci_high"] == np.inf and r["rel_ci_high"] == np.inf and np.isfinite(r["ci_low"])
            else:
                assert r["ci_low"] == -np.inf and r["rel_ci_low"] == -np.inf and np.isfinite(r["ci_high"])
            assert "one-sided" in r["method"] and f"({alternative}: H1 variant - control" in r["method"]
            assert r["convention"].startswith(f"one-sided ({alternative}: H1 variant - control")
    # the correction adjusts the one-sided p-values (Holm across the two variants)
    rows = ev.table[ev.table["metric"] == "repurchased"]
    holm = multipletests(rows["p_value"], method="holm")[1]
    np.testing.assert_allclose(rows["p_adjusted"], holm, rtol=1e-12)
    # guardrails keep the two-sided test (an increase is harm, whatever the metrics' H1)
    cols = ["p_value", "ci_low", "ci_high", "method", "convention"]
    guard, guard_two = (e.table[e.table["role"] == "guardrail"][cols] for e in (ev, two))
    pd.testing.assert_frame_equal(guard.reset_index(drop=True), guard_two.reset_index(drop=True))


@pytest.mark.parametrize(
    "kw", [{"segment_col": "segment"}, {"segment_col": "segment", "covariates": ["past"]}]
)
def test_one_sided_cuped_and_poststratified_rows_use_the_one_sided_normal_tail(kw: dict) -> None:
    df = _alt_frame()
    two = evaluate(df, metrics=["revenue"], alpha=0.1, **kw).table
    up = evaluate(df, metrics=["revenue"], alpha=0.05, alternative="larger", **kw).table
    custom = up["method"].str.contains("post-stratified|CUPED")
    assert custom.any()
    z = two["statistic"].to_numpy(dtype=float)
    dof = two["df"].fillna(np.inf).to_numpy(dtype=float)
    np.testing.assert_allclose(up["p_value"], stats.t.sf(z, dof), rtol=1e-12)
    # a bound at level 1 - alpha one-sided is the end of the two-sided 1 - 2 alpha interval
    np.testing.assert_allclose(up["ci_low"], two["ci_low"], rtol=1e-12)
    np.testing.assert_allclose(up["rel_ci_low"], two["rel_ci_low"], rtol=1e-12)
    assert (up["ci_high"] == np.inf).all()


def test_one_sided_sequential_rows_are_the_half_normal_mixture() -> None:
    df = _alt_frame()
    two = evaluate(df, metrics=["repurchased"], sequential=True, n_star=3000).table
    up = evaluate(df, metrics=["repurchased"], sequential=True, n_star=3000, alternative="larger").table
    assert (up["ci_high"] == np.inf).all() and (up["rel_ci_high"] == np.inf).all()
    assert (up["ci_low"] >= two["ci_low"]).all()  # alpha spent on one side only
    assert np.array_equal(up["ci_low"] > 0, up["p_value"] < 0.05)
    assert np.array_equal(up["rel_ci_low"] > 0, up["ci_low"] > 0)
    assert up["method"].str.contains("one-sided (larger)", regex=False).all()


def test_bayesian_smaller_reads_lower_as_better() -> None:
    df = _alt_frame()
    up = evaluate(df, metrics=["repurchased", "revenue"], method="bayesian").table
    down = evaluate(df, metrics=["repurchased", "revenue"], method="bayesian", alternative="smaller").table
    np.testing.assert_allclose(down["prob_beat_control"], 1 - up["prob_beat_control"], atol=1e-9)
    larger = evaluate(df, metrics=["repurchased"], method="bayesian", alternative="larger", alpha=0.05).table
    wide = evaluate(df, metrics=["repurchased"], method="bayesian", alpha=0.1).table
    np.testing.assert_allclose(larger["ci_low"], wide["ci_low"], rtol=1e-9)
    assert (larger["ci_high"] == np.inf).all() and (down["ci_low"] == -np.inf).all()
    assert down["method"].str.contains("P(variant lower than the control)", regex=False).all()


@pytest.mark.parametrize("bad", ["greater", "less", "both", 1])
def test_bad_alternative_names_the_argument_value_and_choices(bad: object) -> None:
    with pytest.raises(ParameterError, match=r"alternative=.*'two-sided', 'larger', 'smaller'"):
        evaluate(_alt_frame(), metrics=["repurchased"], alternative=bad)


def _unsubscribe_frame() -> pd.DataFrame:
    # coupon lowers the unsubscribe rate (7.5% -> 5.0%); worse lowers repurchases (5% -> 3%)
    return pd.DataFrame({
        "variant": ["control"] * 2000 + ["coupon"] * 2000 + ["worse"] * 2000,
        "unsub": [1] * 150 + [0] * 1850 + [1] * 100 + [0] * 1900 + [1] * 150 + [0] * 1850,
        "repurchased": [1] * 100 + [0] * 1900 + [1] * 100 + [0] * 1900 + [1] * 60 + [0] * 1940,
    })  # fmt: skip


@pytest.mark.parametrize("method", ["frequentist", "bayesian"])
def test_decision_with_smaller_ships_the_variant_that_lowers_the_metric(method: str) -> None:
    df = _unsubscribe_frame()
    d = evaluate(df, metrics=["unsub"], alternative="smaller", method=method).decision().table.iloc[0]
    assert (d["decision"], d["variant"], d["confidence"]) == ("ship", "coupon", "very likely better")
    assert d["ci_low"] == -np.inf and d["ci_high"] < 0
    two = evaluate(df, metrics=["unsub"], method=method).decision().table.iloc[0]
    assert two["decision"] != "ship"  # two-sided "larger is better" never ships a fall


def test_decision_with_larger_never_ships_a_worse_variant() -> None:
    df = _unsubscribe_frame()
    ev = evaluate(df, metrics=["repurchased"], alternative="larger")
    worse = ev.table.set_index("variant").loc["worse"]
    assert worse["abs_lift"] < 0 and worse["p_value"] > 0.5 and not worse["significant"]
    d = ev.decision().table.iloc[0]
    assert d["decision"] != "ship" and d["best_variant"] == "coupon"


def test_one_sided_displays_read_at_least_and_at_most() -> None:
    df = _unsubscribe_frame()
    down = evaluate(df, metrics=["unsub"], alternative="smaller")
    assert "95% one-sided CI: at most -1.25 pp" in down.summary()
    assert "片側信頼区間 -1.25 pt 以下" in down.summary(language="ja")
    assert "at most −1.2 pp" in str(down)
    assert "at most" in str(down.decision().summary())
    up = evaluate(df, metrics=["repurchased"], alternative="larger")
    assert "at least" in str(up) and "inf" not in str(up.summary())


@pytest.mark.parametrize("alternative", ["larger", "smaller"])
def test_forest_plot_draws_one_sided_bounds_as_arrows(alternative: str) -> None:
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(1)
    n = 3000
    df = pd.DataFrame({"variant": rng.choice(["control", "coupon"], n), "segment": rng.choice(["a", "b"], n)})
    df["repurchased"] = (rng.random(n) < np.where(df["variant"] == "coupon", 0.08, 0.05)).astype(int)
    ax = evaluate(df, metrics=["repurchased"], segment_col="segment", alternative=alternative).plot()
    arrows = [c for c in ax.get_children() if type(c).__name__ == "Annotation"]
    assert len(arrows) == 3  # all, a, b: one arrow to the open side each
    left, right = ax.get_xlim()
    ends = [a.xy[0] for a in arrows]
    assert all(e == (right if alternative == "larger" else left) for e in ends)
    assert f"one-sided ({alternative}) bounds" in ax.get_title()
    two = evaluate(df, metrics=["repurchased"], segment_col="segment").plot()
    assert not [c for c in two.get_children() if type(c).__name__ == "Annotation"]
    plt.close("all")


@pytest.mark.parametrize("method", ["frequentist", "bayesian"])
@pytest.mark.parametrize("alternative", ["larger", "smaller"])
def test_one_sided_decisions_keep_the_holdout_when_the_variant_clearly_loses(
    alternative: str, method: str
) -> None:
    """A one-sided bound is open on the side of the gain; the opposite one-sided bound (same level)
    still tells that the planned lift is out of reach, as the two-sided interval does."""
    rng = np.random.default_rng(1)
    n = 20_000
    v = rng.choice(["holdout", "mail"], n)
    worse = 0.03 if alternative == "larger" else 0.13  # "smaller": a rise is the loss
    df = pd.DataFrame({"variant": v, "repurchased": (rng.random(n) < np.where(v == "mail", worse, 0.08))})
    df["repurchased"] = df["repurchased"].astype(int)
    ev = evaluate(df, metrics=["repurchased"], control="holdout", alternative=alternative, method=method)
    row = ev.decision(metric="repurchased", mde=0.01).table.iloc[0]
    assert row["decision"] == "keep holdout", row["reason"]
    assert row["confidence"] == "very likely worse"
    assert "excludes the planned lift" in row["reason"]
    # no evidence either way: still "keep collecting"
    flat = df.assign(repurchased=(rng.random(n) < 0.08).astype(int)).head(400)
    ev = evaluate(flat, metrics=["repurchased"], control="holdout", alternative=alternative, method=method)
    flat_row = ev.decision(metric="repurchased", mde=0.25).table.iloc[0]  # 400 customers: too few
    assert flat_row["decision"] == "keep collecting", flat_row["reason"]


def test_forest_plot_colours_a_fall_as_the_gain_with_smaller() -> None:
    import matplotlib.colors as mcolors
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(2)
    n = 20_000
    v = rng.choice(["control", "quiet"], n)
    df = pd.DataFrame({"variant": v, "unsubscribed": (rng.random(n) < np.where(v == "quiet", 0.01, 0.03))})
    df["unsubscribed"] = df["unsubscribed"].astype(int)
    ev = evaluate(df, metrics=["unsubscribed"], alternative="smaller")
    assert ev.decision(metric="unsubscribed", mde=0.1).table.iloc[0]["decision"] == "ship"
    ax = ev.plot()
    colours = {mcolors.to_hex(line.get_color()) for line in ax.get_lines() if line.get_marker() == "o"}
    assert colours == {mcolors.to_hex("tab:green")}
    plt.close("all")
