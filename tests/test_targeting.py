"""Tests of abkit.targeting (and its generator, abkit.datasets.targeting_test, and per-cell assign).

Exact identities (IPW = Horvitz-Thompson, AIPW on cell means = post-stratified difference), the
budget's greedy hull against scipy's linprog, the random-effects variance against statsmodels, the
gate, small-cell pooling, the summaries, the next wave's assignment and the argument errors. The
long simulations (accuracy, coverage, false adoption, unbiasedness) live in
benchmarks/calibrate_targeting.py.
"""

from __future__ import annotations

import re

import duckdb
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog
from statsmodels.stats.meta_analysis import combine_effects

from abkit import AbkitError
from abkit._validate import check_costs
from abkit.assignment import assign
from abkit.datasets import targeting_test
from abkit.errors import ColumnError, ParameterError
from abkit.sql import assignment_sql
from abkit.targeting import _tau2, allocate_budget, target, value_of

CELLS = ["segment", "recency_band"]


def plan12k_data():
    return targeting_test(12_000, seed=1)


@pytest.fixture(scope="module")
def test12k():
    return plan12k_data()


@pytest.fixture(scope="module")
def plan12k(test12k):
    t = test12k
    return target(t.outcomes, costs=t.costs, margin=t.margin, control="holdout", cells=CELLS, n_boot=40)


def _wave(seed: int = 0, n: int = 6000) -> tuple[pd.DataFrame, dict]:
    """A randomised wave with cell-dependent assignment probabilities stored per customer."""
    rng = np.random.default_rng(seed)
    arms = ["none", "mail", "coupon"]
    probs = {"a": [0.2, 0.5, 0.3], "b": [0.6, 0.2, 0.2], "c": [0.1, 0.1, 0.8]}
    cell = rng.choice(list(probs), size=n, p=[0.5, 0.3, 0.2])
    arm_idx = np.array([rng.choice(3, p=probs[c]) for c in cell])
    bought = rng.random(n) < 0.1 + 0.05 * arm_idx
    frame = pd.DataFrame(
        {
            "cell": cell,
            "variant": np.asarray(arms)[arm_idx],
            "repurchased": bought.astype(int),
            "revenue": np.where(bought, rng.gamma(2.0, 30.0, n), 0.0),
            "propensity": [probs[c][a] for c, a in zip(cell, arm_idx, strict=True)],
        }
    )
    costs = {"mail": {"contact": 0.5}, "coupon": {"contact": 0.1, "offer": 3.0}}
    return frame, costs


def _profit(frame: pd.DataFrame, costs: dict, margin: float) -> np.ndarray:
    contact = frame["variant"].map(lambda a: costs.get(a, {}).get("contact", 0.0))
    offer = frame["variant"].map(lambda a: costs.get(a, {}).get("offer", 0.0))
    return (margin * frame["revenue"] - contact - offer * frame["repurchased"]).to_numpy()


# --------------------------------------------------------------------------------------------------
# valuing a policy: exact identities
# --------------------------------------------------------------------------------------------------
def test_ipw_of_a_constant_plan_is_horvitz_thompson_and_aipw_the_poststratified_difference():
    frame, costs = _wave()
    y = _profit(frame, costs, 0.4)
    v = value_of("coupon", frame, costs=costs, margin=0.4, control="none", cells="cell").table
    e, arm = frame["propensity"].to_numpy(), frame["variant"].to_numpy()
    ht = (
        np.sum(y[arm == "coupon"] / e[arm == "coupon"]) - np.sum(y[arm == "none"] / e[arm == "none"])
    ) / len(y)
    assert v.loc[v.estimator == "ipw", "value"].item() == pytest.approx(ht, abs=1e-12)
    frame = frame.assign(profit=y)
    means = frame.groupby(["cell", "variant"])["profit"].mean().unstack()
    shares = frame["cell"].value_counts(normalize=True).reindex(means.index)
    post = float((shares * (means["coupon"] - means["none"])).sum())
    assert v.loc[v.estimator == "aipw", "value"].item() == pytest.approx(post, abs=1e-12)
    assert v["per_1000"].tolist() == pytest.approx((1000 * v["value"]).tolist())


def test_value_of_a_per_cell_policy_uses_each_cells_arm():
    frame, costs = _wave(seed=3)
    policy = {"a": "mail", "b": "none", "c": {"coupon": 0.5, "mail": 0.5}}
    v = value_of(policy, frame, costs=costs, margin=0.4, control="none", cells=["cell"]).table
    y, e = _profit(frame, costs, 0.4), frame["propensity"].to_numpy()
    pi = np.array(
        [
            {"a": {"mail": 1.0}, "b": {"none": 1.0}, "c": {"coupon": 0.5, "mail": 0.5}}[c].get(a, 0.0)
            for c, a in zip(frame["cell"], frame["variant"], strict=True)
        ]
    )
    expected = np.mean(y * (pi - (frame["variant"] == "none").to_numpy()) / e)
    assert v.loc[0, "value"] == pytest.approx(expected, abs=1e-12)
    with pytest.raises(ParameterError, match="cell"):
        value_of({"a": "mail"}, frame, costs=costs, margin=0.4, control="none", cells="cell")


# --------------------------------------------------------------------------------------------------
# budget: the greedy hull equals the linear programme
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(8))
def test_budget_greedy_hull_equals_linprog(seed):
    rng = np.random.default_rng(seed)
    cells, options = 7, 4
    cost = np.column_stack([np.zeros(cells), rng.uniform(1, 10, (cells, options - 1))])
    profit = np.column_stack([np.zeros(cells), rng.normal(2, 4, (cells, options - 1))])
    budget = float(rng.uniform(0, cost.sum(axis=1).mean() * cells / 2))
    w = allocate_budget(profit, cost, budget)
    assert np.allclose(w.sum(axis=1), 1) and (w >= 0).all()
    assert (w * cost).sum() <= budget + 1e-9
    a_eq = np.kron(np.eye(cells), np.ones(options))
    res = linprog(
        -profit.ravel(), A_ub=cost.ravel()[None, :], b_ub=[budget], A_eq=a_eq, b_eq=np.ones(cells),
        bounds=(0, 1), method="highs",
    )  # fmt: skip
    assert res.status == 0
    assert (w * profit).sum() == pytest.approx(-res.fun, abs=1e-9)
    assert (w > 1e-12).sum() <= cells + 1  # at most one cell split


def test_budget_limits_the_plans_contacts(test12k):
    t = test12k
    plan = target(
        t.outcomes, costs=t.costs, margin=t.margin, control="holdout", cells=CELLS, n_boot=20,
        budget={"contacts": 3000},
    )  # fmt: skip
    assert plan.table["contacts"].sum() <= 3000 + 1e-6
    assert plan.table["contacts"].sum() == pytest.approx(3000)
    assert plan.curve.columns.tolist() == ["contacts", "per_1000"]
    spend = target(
        t.outcomes, costs=t.costs, margin=t.margin, control="holdout", cells=CELLS, n_boot=20,
        budget={"spend": 2000.0},
    )  # fmt: skip
    assert spend.table["cost"].sum() <= 2000 + 1e-6


# --------------------------------------------------------------------------------------------------
# the estimator's parts
# --------------------------------------------------------------------------------------------------
def test_tau2_is_statsmodels_paule_mandel():
    rng = np.random.default_rng(5)
    d = rng.normal(0, 1.5, 9)
    se2 = rng.uniform(0.2, 2.0, 9)
    got = _tau2(d[:, None], se2[:, None], np.ones((9, 1), bool), np.ones((9, 1)))[0]
    ref = combine_effects(d, se2, method_re="iterated")
    assert got == pytest.approx(ref.tau2, rel=1e-6)


def test_check_costs_validates_like_economics():
    assert check_costs({"mail": (0.5, 2)}, ["none", "mail"], "none") == {
        "mail": (0.5, 2.0),
        "none": (0.0, 0.0),
    }
    with pytest.raises(ParameterError, match="negative"):
        check_costs({"mail": {"contact": -1}}, ["none", "mail"], "none")
    with pytest.raises(ParameterError, match="lacks"):
        check_costs({}, ["none", "mail"], "none")


# --------------------------------------------------------------------------------------------------
# the plan, the gate, pooling and the summaries
# --------------------------------------------------------------------------------------------------
def test_plan_finds_the_planted_cells_and_is_adopted(test12k, plan12k):
    t, plan = test12k, plan12k
    assert plan.adopt and plan.recommended == "plan" and plan.best_arm == t.best_arm
    value = plan.value
    assert value["policy"].tolist() == ["plan", "best", "none"]
    assert value.loc[0, "vs_best_ci_low"] > 0
    assert t.true_value(plan) >= 0.8 * t.true_value(t.oracle_plan)
    table = plan.table
    assert set(table.loc[table.segment == "high_value", "arm"]) == {"personal"}
    assert set(table.loc[table.segment == "one_time", "arm"]) == {"coupon"}
    dog = table[(table.segment == "high_frequency") & (table.recency_band == "06m")]
    assert dog["arm"].item() == "holdout" and dog["sleeping_dog"].item()
    assert set(table.decided_at) == {"cell"}
    assert ((table["shrinkage"] >= 0) & (table["shrinkage"] <= 1)).all()


def test_gate_refuses_a_plan_without_heterogeneity():
    t = targeting_test(12_000, seed=4, heterogeneous=False)
    plan = target(t.outcomes, costs=t.costs, margin=t.margin, control="holdout", cells=CELLS, n_boot=40)
    assert not plan.adopt
    assert plan.recommended in ("best", "none")
    first = plan.summary().splitlines()[0]
    assert "Do not adopt" in first and "not shown" in first
    weights = plan.weights()
    key = "one_time|06m"
    if plan.recommended == "best":
        assert max(weights[key], key=weights[key].get) == plan.best_arm
    else:
        assert max(weights[key], key=weights[key].get) == "holdout"


def test_small_cells_are_pooled_upward_or_left_to_the_best_arm():
    t = targeting_test(3_000, seed=2)
    plan = target(
        t.outcomes, costs=t.costs, margin=t.margin, control="holdout", cells=CELLS, n_boot=20, min_cell=200
    )
    table = plan.table
    assert (table["customers"] < 200).all()  # 3,000 customers over 40 cells
    assert set(table["decided_at"]) <= {"pooled", "overall"} and "pooled" in set(table["decided_at"])
    for segment, rows in table.groupby("segment"):
        assert rows["arm"].nunique() == 1, segment  # one decision per pooled segment
    assert "fewer than 200 customers" in plan.summary()
    everything = target(
        t.outcomes, costs=t.costs, margin=t.margin, control="holdout", cells=CELLS, n_boot=20, min_cell=5000
    )
    assert set(everything.table["decided_at"]) == {"overall"}
    assert everything.table["arm"].nunique() == 1


def test_raw_method_keeps_the_cell_estimates(test12k):
    t = test12k
    raw = target(
        t.outcomes, costs=t.costs, margin=t.margin, control="holdout", cells=CELLS, method="raw", n_boot=20
    )
    table = raw.table
    assert np.allclose(table["profit_shrunk"], table["profit_raw"])
    assert (table["shrinkage"] == 0).all()


def test_summaries_in_english_and_japanese(plan12k):
    en = plan12k.summary()
    first = en.splitlines()[0]
    assert first.startswith("Send ") and "per 1,000 customers over no contact" in first
    assert "over sending everyone reminder" in first and first.endswith("Adopt the plan.")
    assert "personal to 10 cell(s)" in first
    assert "Sleeping dogs" in en and "high_frequency / 06m" in en
    ja = plan12k.summary(language="ja")
    lines = ja.splitlines()
    assert "増分利益" in lines[0] and "この計画を採用してください" in lines[0]
    assert "ホールドアウト" in ja and "休眠顧客" in ja and "交差適合" in ja
    for text in (en, ja):
        assert "e+" not in text and "e-" not in text and "nan" not in text.lower()
    with pytest.raises(ParameterError, match="language"):
        plan12k.summary(language="fr")


def test_summaries_write_money_with_the_currency(plan12k):
    from abkit import formatting as fmt

    plan = plan12k.value.set_index("policy").loc["plan"]
    gain, lo = fmt.money(plan["per_1000"], "USD", decimals=0), fmt.money(plan["ci_low"], "USD", decimals=0)
    en = plan12k.summary(currency="USD")
    assert f"{gain} per 1,000 customers over no contact (95% interval {lo} to " in en.splitlines()[0]
    assert re.search(r"costs \$[\d,]+ per 1,000 customers .* gain of \$\d+\.\d\d per customer", en)
    ja = plan12k.summary(language="ja", currency="JPY")
    yen = fmt.money(plan["per_1000"], "JPY")
    assert f"1,000人あたり{yen}（95%区間 ¥" in ja.splitlines()[0] and "$" not in ja
    assert "1人あたり¥" in ja  # the detectable gain per customer: yen have no decimals
    plain = plan12k.summary()  # no currency: amounts without a symbol, as before
    assert "$" not in plain and "¥" not in plain and f"{gain[1:]} per 1,000" in plain
    budgeted = target(
        plan12k_data().outcomes, costs=plan12k_data().costs, margin=0.4, control="holdout", cells=CELLS,
        n_boot=20, budget={"spend": 2500},
    )  # fmt: skip
    assert "Budget: spend up to €2,500.00." in budgeted.summary(currency="EUR")
    assert "予算: 費用は¥2,500まで。" in budgeted.summary("ja", "JPY")


def test_displays_and_plot(plan12k):
    html = plan12k._repr_html_()
    assert "<table" in html and "Adopt the plan" in html
    assert repr(plan12k).startswith("TargetingPlan(cells=40")
    assert plan12k.to_pandas().shape[0] == 40
    ax = plan12k.plot()
    assert ax.get_xlabel() == "contacts"
    plt.close(ax.figure)
    fig, given = plt.subplots()
    assert plan12k.plot(ax=given) is given
    plt.close(fig)
    with pytest.raises(AttributeError):
        plan12k.adopt = False  # type: ignore[misc]


def test_determinism(test12k):
    t = test12k
    kwargs = dict(costs=t.costs, margin=t.margin, control="holdout", cells=CELLS, n_boot=20, seed=3)
    a, b = target(t.outcomes, **kwargs), target(t.outcomes.sample(frac=1.0, random_state=1), **kwargs)
    pd.testing.assert_frame_equal(a.value, target(t.outcomes, **kwargs).value)
    assert a.policy == b.policy  # the choices do not depend on row order


# --------------------------------------------------------------------------------------------------
# the next wave: per-cell weights, propensities, SQL reproduction
# --------------------------------------------------------------------------------------------------
def test_plan_assign_stores_propensities_and_keeps_a_holdout(plan12k, test12k):
    units = test12k.outcomes[["customer_id", *CELLS]]
    wave = plan12k.assign(units, salt="wave-2")
    assert len(wave) == len(units) and wave["propensity"].between(0, 1).all()
    weights = plan12k.weights()
    for _key, w in weights.items():
        assert sum(w.values()) == pytest.approx(1.0)
        assert set(w) == set(plan12k.arms)  # exploration reaches every arm
    hv = weights["high_value|06m"]
    assert hv["personal"] == pytest.approx(1 - 0.10 - 0.05 + 0.10 / 4)
    assert hv["holdout"] == pytest.approx(0.05 + 0.10 / 4)
    keys = wave[CELLS].astype(str).agg("|".join, axis=1)
    expected = [weights[k][a] for k, a in zip(keys, wave["variant"], strict=True)]
    assert np.allclose(wave["propensity"], expected)
    meta = wave.attrs["abkit_targeting"]
    assert meta["salt"] == "wave-2" and meta["weights"]["high_value|06m"] == hv
    again = plan12k.assign(units, salt="wave-2")
    assert wave["variant"].equals(again["variant"])


@pytest.mark.parametrize("method", ["block", "hash"])
def test_per_cell_weights_reproduce_the_sql_split_of_each_cell(method):
    rng = np.random.default_rng(9)
    n = 2400
    units = pd.DataFrame(
        {"customer_id": rng.permutation(n) * 7 + 1, "segment": rng.choice(["hv", "ot", "x'y"], n)}
    )
    weights = {
        "hv": {"mail": 3, "none": 1},
        "ot": {"coupon": 0.6, "none": 0.3, "mail": 0.1},
        "x'y": {"none": 1},
    }
    out = assign(units, variants=weights, salt="cells-1", strata="segment", method=method)
    con = duckdb.connect()
    for cell, w in weights.items():
        part = units[units.segment == cell].reset_index(drop=True)
        alone = assign(part, variants=w, salt="cells-1", strata="segment", method=method)
        con.register("part", part)
        sql = con.execute(
            assignment_sql(
                "duckdb", table="part", salt="cells-1", variants=w, strata="segment", method=method
            )
        ).df()
        merged = alone.merge(sql, on="customer_id").merge(out, on="customer_id")
        assert len(merged) == len(part)
        assert (merged["variant_x"] == merged["variant_y"]).all()
        assert (merged["variant_x"] == merged["variant"]).all()
        con.unregister("part")
    with pytest.raises(ParameterError, match="no weights for cell"):
        assign(units, variants={"hv": {"mail": 1}}, salt="s", strata="segment")


# --------------------------------------------------------------------------------------------------
# errors name the argument
# --------------------------------------------------------------------------------------------------
def test_errors_name_the_argument(test12k):
    t = test12k
    o = t.outcomes
    base = dict(costs=t.costs, margin=t.margin, control="holdout", cells=CELLS, n_boot=20)
    cases = [
        (dict(base, costs={**t.costs, "sms": {"contact": 0.2}}), ParameterError, "sms"),
        (dict(base, control="nobody"), ParameterError, "control"),
        (dict(base, cells=["segment", "tier"]), ColumnError, "tier"),
        (dict(base, budget={"emails": 100}), ParameterError, "budget key 'emails'"),
        (dict(base, budget={"contacts": -1}), ParameterError, "budget"),
        (dict(base, method="dr"), ParameterError, "features="),
        (dict(base, features=["segment"]), ParameterError, "method='dr'"),
        (dict(base, method="magic"), ParameterError, "method"),
        (dict(base, explore=0.6, holdout=0.5), ParameterError, "explore"),
        (dict(base, costs={"coupon": {"contact": 1}}), ParameterError, "costs lacks"),
        (dict(base, n_boot=3), ParameterError, "n_boot"),
    ]
    for kwargs, error, text in cases:
        with pytest.raises(error, match=text):
            target(o, **kwargs)
        assert issubclass(error, AbkitError)
    with pytest.raises(ParameterError, match="outcomes"):
        target([1, 2], **base)


def test_generator_truth(test12k):
    t = test12k
    assert len(t.truth) == 40 * 4 and t.outcomes["customer_id"].str.len().eq(6).all()
    oracle = t.true_value(t.oracle_plan)
    for arm in t.arms:
        assert t.true_value(arm) <= oracle
    assert t.true_value(dict.fromkeys(t.oracle_plan, "holdout")) == 0.0
    assert t.oracle_plan[("high_frequency", "06m")] == "holdout"  # the sleeping dog
    flat = targeting_test(2_000, seed=1, heterogeneous=False)
    wide = flat.truth.pivot_table(index=CELLS, columns="arm", values="incremental_profit")
    assert np.allclose(wide.std(), 0)
    pd.testing.assert_frame_equal(targeting_test(500, seed=5).outcomes, targeting_test(500, seed=5).outcomes)


# ------------------------------------------------------------------ plan.json, plan report, [targeting]
def _hostile_plan(seed: int = 0):
    t = targeting_test(8_000, seed=4)
    frame = t.outcomes.copy()
    frame["segment"] = frame["segment"].replace({"one_time": "<script>alert('x')</script> & \"one\""})
    return target(
        frame, costs=t.costs, margin=t.margin, control="holdout", cells="segment", n_boot=30, seed=seed
    )


def test_plan_document_is_json_without_nan_and_the_same_bytes_for_the_same_seed():
    import json

    from abkit.next_wave import PLAN_SCHEMA, plan_document

    texts = [
        json.dumps(plan_document(_hostile_plan(), experiment="wb", language="ja"), allow_nan=False)
        for _ in range(2)
    ]
    assert texts[0] == texts[1]
    doc = json.loads(texts[0])
    assert doc["schema"] == PLAN_SCHEMA and doc["language"] == "ja"
    best = next(r for r in doc["value"] if r["policy"] == "best")
    assert best["vs_best"] is None  # NaN is written as null, never as NaN
    assert any("<script>" in r["key"] for r in doc["table"])  # ids and labels kept as written
    other = json.dumps(plan_document(_hostile_plan(seed=1), experiment="wb"), allow_nan=False)
    assert other != texts[0]


def test_plan_report_escapes_user_text_and_reads_answer_first():
    from abkit.plan_report import plan_html

    plan = _hostile_plan()
    for language in ("en", "ja"):
        page = plan_html(plan, name="<b>wb</b>", language=language, currency="JPY", margin=0.4)
        assert "<script" not in page and "<b>wb</b>" not in page and "&lt;b&gt;wb&lt;/b&gt;" in page
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;one&quot;" in page
        assert f"<html lang='{language}'>" in page and "e+" not in page.split("base64")[0]
        lead = page.index("abkit-lead")
        assert lead < page.index("<table") < page.index("<img alt='") < page.index("τ²")
        assert "Traceback" not in page and "/work/" not in page


def test_targeting_spec_reader_refuses_bad_weights_naming_the_key():
    from abkit.errors import SpecError
    from abkit.experiment import Experiment, scaffold

    base = scaffold("spring", send_date="2026-06-01")
    good = base + (
        '\n[targeting]\ncells = ["segment"]\n\n[targeting.weights."one|time"]\ncoupon = 0.9\nholdout = 0.1\n'
    )
    exp = Experiment.from_toml(good)
    assert exp.targeting.weights == {"one|time": {"coupon": 0.9, "holdout": 0.1}}
    assert Experiment.from_toml(exp.to_toml()) == exp
    for bad, key in [
        (good.replace("coupon = 0.9", "mystery = 0.9"), "targeting.weights.one|time.mystery"),
        (good.replace("coupon = 0.9", "coupon = -1"), "targeting.weights.one|time.coupon"),
        (good.replace("coupon = 0.9\nholdout = 0.1", "coupon = 0"), "targeting.weights.one|time"),
        (good.replace('cells = ["segment"]', "cells = []"), "targeting.cells"),
        (good.replace('cells = ["segment"]', 'cells = ["segment"]\nwhat = 1'), "targeting.what"),
    ]:
        with pytest.raises(SpecError, match=re.escape(key)):
            Experiment.from_toml(bad)
