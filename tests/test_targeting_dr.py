"""Tests of abkit.targeting_dr and target(method="dr"): the cross-fitted doubly robust learner.

The closed-form ridge stages against scikit-learn's Ridge, the learner on the planted dataset (share
of the oracle gain, interval coverage of the true value), determinism, the errors naming the column
or the extra to install, and the CLI path with ``[targeting] features``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge

from abkit import AbkitError
from abkit.cli import EXIT_OK, main
from abkit.datasets import targeting_test
from abkit.errors import ColumnError, DataError, ParameterError
from abkit.experiment import Experiment
from abkit.next_wave import plan_document
from abkit.plan_report import plan_html
from abkit.targeting import target
from abkit.targeting_dr import design_matrix, dr_scores, dr_statistics, stack_statistics

CELLS = ["segment", "recency_band"]


def _plan(t, **kw):
    args = dict(costs=t.costs, margin=t.margin, control="holdout", cells=CELLS, method="dr", features=CELLS)
    return target(t.outcomes, **{**args, "n_boot": 30, **kw})


@pytest.fixture(scope="module")
def test12k():
    return targeting_test(12_000, seed=1)


@pytest.fixture(scope="module")
def plan12k(test12k):
    return _plan(test12k)


def test_ridge_stages_equal_sklearn_ridge():
    """Stage 1 of configuration 'all folds' for inner fold 0 is sklearn's Ridge on folds 1..4."""
    rng = np.random.default_rng(3)
    n = 600
    frame = pd.DataFrame({"x": rng.normal(size=n), "g": rng.choice(["a", "b", "c"], n)})
    z = design_matrix(frame, ["x", "g"])
    arm = rng.integers(0, 2, n)
    fold = np.arange(n) % 5
    y = z @ rng.normal(size=z.shape[1]) + arm * (frame["x"] > 0) + rng.normal(size=n)
    share = np.array([[0.5, 0.5]])
    reducer = dr_statistics(z, np.zeros(n, dtype=int), arm, fold, y, share, folds=5)
    stats = stack_statistics([reducer(np.ones((n, 1)))])
    # the statistics are the plain sums
    keep = (fold == 2) & (arm == 1)
    assert np.allclose(stats.xx[0, 2, 1], z[keep].T @ z[keep])
    assert np.allclose(stats.xy_ipw[0, 2, 1], z[keep].T @ y[keep] / 0.5)
    # stage 2 by hand (stage 1 per inner fold, AIPW pseudo-outcomes) against ours, then sklearn
    lam1, lam2 = 20.0, 1000.0
    phi = np.zeros((n, 2))
    for j in range(5):
        for a in range(2):
            train = (fold != j) & (arm == a)
            model = Ridge(alpha=lam1, fit_intercept=True).fit(z[train, 1:], y[train])
            mu = model.predict(z[fold == j, 1:])
            phi[fold == j, a] = mu + (arm[fold == j] == a) * (y[fold == j] - mu) / 0.5
    effect = Ridge(alpha=lam2, fit_intercept=True).fit(z[:, 1:], phi[:, 1] - phi[:, 0])
    _, coef = dr_scores(stats, ridge_outcome=lam1, ridge_effect=lam2)
    assert np.allclose(coef[0, 5, 1, 1:], effect.coef_, atol=1e-6)
    assert np.isclose(coef[0, 5, 1, 0], effect.intercept_, atol=1e-6)


def test_dr_plan_gains_most_of_the_oracle_and_its_interval_covers_the_truth():
    covered, shares = 0, []
    for seed in (1, 2, 3):
        t = targeting_test(12_000, seed=seed)
        plan = _plan(t, n_boot=40)
        chosen = {k: max(v, key=v.get) for k, v in plan.policy.items()}
        truth = t.true_value(chosen)
        shares.append(truth / t.true_value(t.oracle_plan))
        row = plan.value.set_index("policy").loc["plan"]
        covered += row["ci_low"] <= 1000 * truth <= row["ci_high"]
    # 12,000 customers: about 88% of the oracle on average (benchmarks/bench_targeting.py), never far off
    assert min(shares) >= 0.6 and np.mean(shares) >= 0.75, shares
    assert covered >= 2


def test_dr_table_and_summary(plan12k, test12k):
    tab = plan12k.table
    assert plan12k.method == "dr" and plan12k.features == tuple(CELLS)
    assert (tab["decided_at"] == "model").all() and tab["shrinkage"].isna().all()
    assert tab["learner_share"].between(0, 1).all()
    assert (tab["shrunk_ci_low"] <= tab["profit_shrunk"]).all()
    assert (tab["profit_shrunk"] <= tab["shrunk_ci_high"]).all()
    dog = tab.set_index(CELLS).loc[("high_frequency", "06m")]
    assert dog["arm"] == "holdout"  # the planted sleeping dog is left alone
    en, ja = plan12k.summary("en"), plan12k.summary("ja")
    assert "doubly robust learner on the customer features segment, recency_band" in en
    assert "二重頑健" in ja and "pooled" not in en
    weights = plan12k.weights()
    assert set(weights) == {"|".join(k) for k in plan12k.policy}
    page = plan_html(plan12k, name="wb", language="en", margin=test12k.margin)
    assert "Customers agreeing" in page and "ridge" in page and "Shrinkage" not in page


def test_dr_is_deterministic_and_takes_a_budget(test12k):
    t = test12k
    texts = [json.dumps(plan_document(_plan(t, n_boot=20, seed=4), experiment="wb")) for _ in range(2)]
    assert texts[0] == texts[1] and json.loads(texts[0])["features"] == CELLS
    assert texts[0] != json.dumps(plan_document(_plan(t, n_boot=20, seed=5), experiment="wb"))
    budgeted = _plan(t, n_boot=20, budget={"contacts": 3000})
    assert budgeted.table["contacts"].sum() <= 3000 + 1e-6


def test_numeric_features_and_errors_name_the_column(test12k):
    t = test12k
    frame = t.outcomes.copy()
    rng = np.random.default_rng(0)
    frame["days"] = rng.integers(180, 720, len(frame))
    frame["vip"] = rng.random(len(frame)) < 0.1
    plan = target(
        frame, costs=t.costs, margin=t.margin, control="holdout", cells="segment", method="dr",
        features=["days", "vip", "recency_band"], n_boot=20,
    )  # fmt: skip
    assert plan.features == ("days", "vip", "recency_band")
    base = dict(costs=t.costs, margin=t.margin, control="holdout", cells="segment", method="dr", n_boot=20)
    gaps = frame.assign(days=frame["days"].where(frame.index % 50 > 0))
    dates = frame.assign(days=pd.Timestamp("2026-01-01") + pd.to_timedelta(frame["days"], "D"))
    cases = [
        (frame, ["nope"], ColumnError, "'nope'"),
        (gaps, ["days"], DataError, "feature 'days' has 240 missing value"),
        (dates, ["days"], DataError, "feature 'days' is of type datetime64"),
        (frame, ["customer_id"], DataError, "feature 'customer_id' has 12,000 distinct values"),
        (frame.assign(days=3), ["days"], DataError, "feature 'days' is constant"),
        (frame, ["revenue"], ParameterError, "feature 'revenue' is the arm or an outcome"),
        (frame, [], ParameterError, "features must be a non-empty list"),
    ]
    for data, features, error, text in cases:
        with pytest.raises(error, match=text):
            target(data, features=features, **base)
        assert issubclass(error, AbkitError)


def test_without_scikit_learn_dr_names_the_extra(test12k, monkeypatch):
    for name in [m for m in sys.modules if m == "sklearn" or m.startswith("sklearn.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "sklearn", None)
    with pytest.raises(ParameterError, match=r"pip install 'abkit\[dr\]'"):
        _plan(test12k, n_boot=20)
    target(test12k.outcomes, costs=test12k.costs, margin=test12k.margin, control="holdout", cells=CELLS,
           n_boot=20)  # fmt: skip  # shrunk needs no scikit-learn


def test_spec_features_round_trip_and_refuse_an_empty_list():
    from abkit.errors import SpecError
    from abkit.experiment import scaffold

    text = scaffold("spring", send_date="2026-06-01") + '\n[targeting]\nfeatures = ["recency_days"]\n'
    exp = Experiment.from_toml(text)
    assert exp.target_features == ("recency_days",) and exp.targeting is None
    assert Experiment.from_toml(exp.to_toml()) == exp
    with pytest.raises(SpecError, match=r"targeting\.features"):
        Experiment.from_toml(text.replace('["recency_days"]', "[]"))


def test_cli_target_method_dr_with_spec_features(demo_experiment: Path, capsys) -> None:
    spec = demo_experiment / "experiment.toml"
    extra = '\n[targeting]\nfeatures = ["recency_days", "frequency", "segment"]\n'
    spec.write_text(spec.read_text(encoding="utf-8") + extra, encoding="utf-8")
    assert main(["target", str(demo_experiment), "--method", "dr", "--n-boot", "20"]) == EXIT_OK
    out = capsys.readouterr().out.splitlines()
    doc = json.loads((demo_experiment / "targeting" / "plan.json").read_text(encoding="utf-8"))
    assert doc["method"] == "dr" and doc["features"] == ["recency_days", "frequency", "segment"]
    assert out[0] == doc["summary"][0]
    args = ["target", str(demo_experiment), "--method", "dr", "--n-boot", "20", "--force"]
    assert main([*args, "--features", "monetary_avg,first_purchase"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "feature 'first_purchase'" in err[0] and "convert it" in err[0]
