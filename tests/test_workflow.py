"""Tests for abkit.workflow: the verbs behind the CLI and the report notebook, end to end."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import abkit
from abkit.assignment import load_assignment
from abkit.errors import DataError, FileExistsAbkitError, ParameterError, SourceError, SpecError
from abkit.experiment import Experiment
from abkit.sources import read_events
from abkit.workflow import (
    analyse,
    assign_experiment,
    demo_spec_text,
    init_experiment,
    plan_experiment,
    validate_experiment,
)


# ------------------------------------------------------------------------------------------ init
def test_init_writes_a_loadable_spec_and_refuses_to_overwrite(tmp_path: Path) -> None:
    folder = init_experiment("autumn", parent=tmp_path)
    exp = Experiment.load(folder)
    assert exp.name == "autumn"
    with pytest.raises(FileExistsAbkitError, match="overwrite"):
        init_experiment("autumn", parent=tmp_path)
    init_experiment("autumn", parent=tmp_path, force=True)


@pytest.mark.parametrize("name", ["", "has space", "../escape", "-dash"])
def test_init_refuses_bad_names(tmp_path: Path, name: str) -> None:
    with pytest.raises(ParameterError, match="not a valid experiment name"):
        init_experiment(name, parent=tmp_path)


def test_init_creates_a_missing_parent_but_not_over_a_file(tmp_path: Path) -> None:
    folder = init_experiment("x", parent=tmp_path / "nope" / "experiments")
    assert Experiment.load(folder).name == "x"
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(ParameterError, match="is a file"):
        init_experiment("x", parent=tmp_path / "file")


def test_init_salt_is_random_once_and_not_the_send_date(tmp_path: Path) -> None:
    first = Experiment.load(init_experiment("a", parent=tmp_path))
    second = Experiment.load(init_experiment("b", parent=tmp_path))
    again = Experiment.load(init_experiment("c", parent=tmp_path / "other"))
    assert first.dates.send_date.isoformat() not in first.salt
    assert re.fullmatch(r"a-[0-9a-f]{8}", first.salt) and re.fullmatch(r"c-[0-9a-f]{8}", again.salt)
    assert first.salt[2:] != second.salt[2:] != again.salt[2:]
    assert Experiment.load(first.folder).salt == first.salt  # written once, fixed in the file


# ----------------------------------------------------------------------------------- plan/assign
def test_plan_covers_all_and_each_segment(demo_experiment: Path) -> None:
    table = plan_experiment(demo_experiment)
    exp = Experiment.load(demo_experiment)
    assigned = load_assignment(exp.data_path("assignment")).frame
    assert set(table["segment"]) == {"all", *assigned["segment"].unique()}
    pool = table.loc[table["segment"] == "all", "n"].sum()
    assert pool == len(assigned)
    # the detectable lift of one comparison equals abkit.mde at the same arm sizes
    row = table.loc[(table["segment"] == "all") & (table["arm"] == "coupon")].iloc[0]
    control_n = table.loc[(table["segment"] == "all") & (table["arm"] == "holdout"), "n"].iloc[0]
    expected = abkit.mde(
        exp.analysis.baseline, control_n, ratio=row["n"] / control_n, variants=3, alpha=exp.analysis.alpha
    )
    assert row["mde"] == pytest.approx(expected, rel=1e-6)


def test_plan_needs_a_baseline(demo_experiment: Path) -> None:
    spec = demo_experiment / "experiment.toml"
    text = spec.read_text()
    spec.write_text("\n".join(line for line in text.splitlines() if not line.startswith("baseline")))
    with pytest.raises(SpecError, match=r"analysis\.baseline is not set"):
        plan_experiment(demo_experiment)
    assert len(plan_experiment(demo_experiment, baseline=0.05)) > 0


def test_assignment_is_saved_once_and_send_lists_exclude_the_holdout(demo_experiment: Path) -> None:
    with pytest.raises(FileExistsAbkitError):
        assign_experiment(demo_experiment)
    run = assign_experiment(demo_experiment, force=True)
    exp = Experiment.load(demo_experiment)
    assigned = load_assignment(exp.data_path("assignment")).frame
    assert int(run.counts.drop(columns="segment").to_numpy().sum()) == len(assigned)
    assert set(run.send_lists["variant"]) == set(exp.contacted_variants)
    for row in run.send_lists.itertuples():
        sent = pd.read_csv(row.path)
        assert set(sent["variant"]) == {row.variant}
        assert len(sent) == (assigned["variant"] == row.variant).sum()
    assert run.srm.ok is True
    assert "excluded before assignment" in str(run)


def test_the_demo_spec_is_shipped_and_is_the_repository_copy() -> None:
    repo_copy = Path(__file__).resolve().parents[1] / "experiments" / "winback-demo" / "experiment.toml"
    assert repo_copy.read_text(encoding="utf-8") == demo_spec_text()


# --------------------------------------------------------------------------------------- analyse
def test_analyse_matches_the_building_blocks(demo_experiment: Path) -> None:
    readout = analyse(demo_experiment, as_of="2026-06-20")
    exp = readout.experiment
    assert readout.status == "attribution window closed"
    assigned = load_assignment(exp.data_path("assignment")).frame
    events = pd.read_parquet(exp.data_path("events"))
    frame, diagnostics = abkit.outcomes(
        assigned, events, send_date="2026-06-01", window_days=14, return_diagnostics=True
    )
    pd.testing.assert_frame_equal(readout.diagnostics, diagnostics)
    # the demo spec asks for always-valid results (N* = holdout + largest variant) and CUPED
    n_star = len(assigned) * (0.2 + 0.3)
    direct = abkit.evaluate(
        frame,
        metrics=["repurchased", "revenue"],
        control="holdout",
        segment_col="segment",
        sequential=True,
        n_star=n_star,
        covariates=["monetary_total", "frequency", "recency_days"],
    ).table
    assert direct["method"].str.contains("N*=", regex=False).all()
    assert direct["method"].str.contains("CUPED", regex=False).all()
    mine = readout.evaluation.table
    mine = mine[mine["role"] != "guardrail"]
    cols = ["metric", "segment", "variant", "abs_lift", "ci_low", "ci_high", "p_value", "p_adjusted"]
    pd.testing.assert_frame_equal(mine[cols].reset_index(drop=True), direct[cols].reset_index(drop=True))
    funnel = readout.funnel.set_index("variant")
    for variant, group in frame.groupby("variant"):
        assert funnel.loc[variant, "assigned"] == len(group)
        assert funnel.loc[variant, "repurchased"] == group["repurchased"].sum()
        assert funnel.loc[variant, "revenue_per_recipient"] == pytest.approx(group["revenue"].mean())
    # opens and clicks are compared among contacted variants only
    assert "holdout" not in set(readout.engagement.table["variant"]) | set(
        readout.engagement.table["control"]
    )
    assert set(readout.decisions["segment"]) == {"all", *frame["segment"].unique()}
    assert readout.srm_assignment.ok is True


def test_analyse_counts_only_events_up_to_as_of(demo_experiment: Path) -> None:
    early = analyse(demo_experiment, as_of="2026-06-05")
    assert early.status.startswith("running: day 5 of a 14-day window")
    late = analyse(demo_experiment, as_of="2026-06-20")
    assert early.funnel["repurchased"].sum() < late.funnel["repurchased"].sum()
    frame = early.outcomes
    assert frame.attrs["abkit_window"]["end"] == "2026-06-06T00:00:00"


def test_analyse_refuses_bad_dates_and_stale_data(demo_experiment: Path) -> None:
    with pytest.raises(ParameterError, match="before the send date"):
        analyse(demo_experiment, as_of="2026-05-01")
    with pytest.raises(ParameterError, match="is not a date"):
        analyse(demo_experiment, as_of="yesterday")
    exp = Experiment.load(demo_experiment)
    events = pd.read_parquet(exp.data_path("events"))
    stamps = pd.to_datetime(events["timestamp"])
    events.loc[stamps < pd.Timestamp("2026-06-04")].to_parquet(exp.data_path("events"), index=False)
    with pytest.raises(SourceError, match="the data is stale"):
        analyse(demo_experiment, as_of="2026-06-10")


def test_analyse_refuses_a_changed_salt_and_unknown_variants(demo_experiment: Path) -> None:
    spec = demo_experiment / "experiment.toml"
    text = spec.read_text()
    spec.write_text(text.replace('salt = "winback-demo-2026-06"', 'salt = "another-salt"'))
    with pytest.raises(SpecError, match="differs from the salt"):
        analyse(demo_experiment, as_of="2026-06-20")
    spec.write_text(text.replace("[variants.reminder]", "[variants.urgency]"))
    with pytest.raises(SpecError, match=r"reminder|urgency"):
        analyse(demo_experiment, as_of="2026-06-20")


def test_analyse_with_the_bayesian_method(demo_experiment: Path) -> None:
    readout = analyse(demo_experiment, as_of="2026-06-20", method="bayesian")
    assert any("frequentist analysis only" in note for note in readout.notes)
    table = readout.evaluation.table
    assert {"prob_beat_control", "prob_best", "expected_loss"} <= set(table.columns)
    estimable = table[table["estimable"]]
    assert np.all((estimable["prob_beat_control"] >= 0) & (estimable["prob_beat_control"] <= 1))
    # no successes in either arm (e.g. complaints): not estimable, visibly, never a made-up 50%
    assert table.loc[~table["estimable"], "prob_beat_control"].isna().all()
    assert table["method"].str.contains("Beta(1, 1)", regex=False).any()
    with pytest.raises(ParameterError, match="method='magic'"):
        analyse(demo_experiment, as_of="2026-06-20", method="magic")


def test_analyse_decides_on_profit_when_costs_and_a_margin_are_declared(demo_experiment: Path) -> None:
    readout = analyse(demo_experiment, as_of="2026-06-20")
    decisions = readout.decisions
    assert set(decisions["objective"]) == {"profit"}
    shipped = decisions[decisions["decision"] == "ship"]
    # a shipped variant earns money: its profit interval lies above zero
    assert (shipped["profit_ci_low"] > 0).all()
    economics = readout.economics.set_index(["segment", "variant"])
    for row in shipped.itertuples():
        assert row.profit == pytest.approx(economics.loc[(row.segment, row.variant), "incremental_profit"])
    assert decisions["confidence"].isin(abkit.evaluation.CONFIDENCE_WORDS).all()


def test_analyse_decides_on_the_primary_metric_when_asked(demo_experiment: Path) -> None:
    spec = demo_experiment / "experiment.toml"
    text = spec.read_text(encoding="utf-8") + '\n[decision]\nobjective = "primary"\n'
    spec.write_text(text, encoding="utf-8")
    readout = analyse(demo_experiment, as_of="2026-06-20")
    assert set(readout.decisions["objective"]) == {"primary"}


def test_a_profit_objective_needs_a_margin_and_the_profit_metrics(demo_experiment: Path) -> None:
    spec = demo_experiment / "experiment.toml"
    text = spec.read_text(encoding="utf-8") + '\n[decision]\nobjective = "profit"\n'
    no_margin = re.sub(r"gross_margin = [^\n]*\n", "", text)
    spec.write_text(no_margin, encoding="utf-8")
    with pytest.raises(SpecError, match=r"decision.objective: \"profit\" needs analysis.gross_margin"):
        Experiment.load(demo_experiment)
    spec.write_text(text.replace('"profit"\n', '"profit"\nrevenue = "spend"\n'), encoding="utf-8")
    with pytest.raises(SpecError, match=r"'spend' is not among the metrics"):
        Experiment.load(demo_experiment)


# ------------------------------------------------------------------------- bring your own data
EXPORT_SPEC = """\
name = "email-test"
hypothesis = "An e-mail brings more site visits than none."
owner = "crm@example.com"
salt = "email-test-1"

[dates]
send_date = 2026-06-01
window_days = 14

[data]
outcomes = "data/export.csv"
assignment = "assignment.csv"

[data.columns]
customer_id = "id"

[data.columns.outcomes]
variant = "arm"

[population]
exclude = []
lapsed_flags = []

[variants."No E-Mail"]
weight = 1
contacted = false

[variants."Mens E-Mail"]
weight = 1

[variants."女性向け E-Mail"]
weight = 1
channel = "line"

[metrics]
primary = "visit"
secondary = ["conversion", "spend"]

[metrics.define.visit]
kind = "rate"
label = "サイト訪問"

[metrics.define.conversion]
kind = "rate"

[metrics.define.spend]
kind = "mean"

[analysis]
breakdowns = ["history_segment"]
"""
ARMS = ("No E-Mail", "Mens E-Mail", "女性向け E-Mail")


def write_export(folder: Path, n: int = 3000, *, seed: int = 1, encoding: str = "cp932") -> pd.DataFrame:
    """An e-mail tool's per-customer export (CP932 CSV, zero-padded ids) and its assignment."""
    from abkit.assignment import save_assignment

    rng = np.random.default_rng(seed)
    arm = np.array(ARMS)[np.arange(n) % 3]
    visit_rate = np.select([arm == ARMS[0], arm == ARMS[1]], [0.10, 0.18], 0.15)
    visit = rng.random(n) < visit_rate
    conversion = visit & (rng.random(n) < 0.1)
    table = pd.DataFrame(
        {
            "id": [f"{i:010d}" for i in range(1, n + 1)],
            "arm": arm,
            "history_segment": np.array(["1) $0 - $100", "2) $100 - $200", "3) $200+"])[
                rng.integers(0, 3, n)
            ],
            "visit": visit.astype(int),
            "conversion": conversion.astype(int),
            "spend": np.where(conversion, np.round(rng.gamma(2.0, 50.0, n), 2), 0.0),
        }
    )
    (folder / "data").mkdir(parents=True, exist_ok=True)
    (folder / "experiment.toml").write_text(EXPORT_SPEC, encoding="utf-8")
    (folder / "data" / "export.csv").write_bytes(table.to_csv(index=False).encode(encoding))
    save_assignment(
        table[["id", "arm", "history_segment"]],
        folder / "assignment.csv",
        salt="email-test-1",
        method="block",
        weights={a: 1 for a in ARMS},
        id_col="id",
        variant_col="arm",
    )
    return table


def test_per_customer_outcomes_with_declared_metrics_and_breakdowns(tmp_path: Path) -> None:
    table = write_export(tmp_path)
    readout = analyse(tmp_path)  # outcomes are final: no as_of, no events, no transactions
    assert readout.as_of.isoformat() == "2026-06-14" and readout.status == "outcomes declared final"
    assert readout.labels["visit"] == "サイト訪問"
    ev = readout.evaluation.table
    visit = ev[(ev["metric"] == "visit") & (ev["segment"] == "all")].set_index("variant")
    assert set(visit.index) == {"Mens E-Mail", "女性向け E-Mail"}  # each against the no-e-mail holdout
    by_arm = table.groupby("arm")["visit"].mean()
    assert visit.loc["Mens E-Mail", "abs_lift"] == pytest.approx(by_arm["Mens E-Mail"] - by_arm["No E-Mail"])
    assert visit.loc["Mens E-Mail", "significant"]
    spend = ev[(ev["metric"] == "spend") & (ev["segment"] == "all")].set_index("variant")
    assert spend.loc["Mens E-Mail", "variant_value"] == pytest.approx(
        table.loc[table["arm"] == "Mens E-Mail", "spend"].mean()
    )
    # ids keep their zeros; the assignment's own column names (id, arm) are honoured
    assert readout.outcomes["id"].iloc[0] == "0000000001"
    breakdown = readout.breakdowns["history_segment"].table
    assert set(breakdown["segment"]) == {"all", "1) $0 - $100", "2) $100 - $200", "3) $200+"}
    assert readout.decisions["variant"].isin([*ARMS, None]).all() or len(readout.decisions)
    assert np.isnan(readout.funnel["delivered_rate"]).all()  # not measured: missing, never zero
    with pytest.raises(SourceError, match=r"`abkit plan` reads data.transactions, which is not declared"):
        plan_experiment(tmp_path, baseline=0.1)


def test_outcomes_from_an_xlsx_sheet(tmp_path: Path) -> None:
    table = write_export(tmp_path)
    with pd.ExcelWriter(tmp_path / "data" / "export.xlsx", engine="openpyxl") as writer:
        pd.DataFrame({"note": ["summary"]}).to_excel(writer, sheet_name="summary", index=False)
        table.to_excel(writer, sheet_name="customers", index=False)
    spec = tmp_path / "experiment.toml"
    spec.write_text(
        EXPORT_SPEC.replace(
            'outcomes = "data/export.csv"', 'outcomes = "data/export.xlsx"\nsheet = "customers"'
        ),
        encoding="utf-8",
    )
    readout = analyse(tmp_path)
    assert readout.outcomes["id"].iloc[0] == "0000000001"
    assert int(readout.outcomes["visit"].sum()) == int(table["visit"].sum())


def test_a_contacted_population_metric_compares_contacted_arms_only(tmp_path: Path) -> None:
    write_export(tmp_path)
    spec = tmp_path / "experiment.toml"
    spec.write_text(
        EXPORT_SPEC.replace('label = "サイト訪問"', 'label = "サイト訪問"\npopulation = "contacted"'),
        encoding="utf-8",
    )
    readout = analyse(tmp_path)
    engaged = readout.engagement.table
    assert set(engaged.loc[engaged["metric"] == "visit", "variant"]) == {"女性向け E-Mail"}
    assert "visit" not in set(readout.evaluation.table["metric"])


def test_outcome_rows_of_unknown_customers_are_counted_up_to_the_share(tmp_path: Path) -> None:
    table = write_export(tmp_path)
    extra = table.iloc[:2].assign(id=["9999999998", "9999999999"])
    path = tmp_path / "data" / "export.csv"
    path.write_bytes(pd.concat([table, extra]).to_csv(index=False).encode("cp932"))
    readout = analyse(tmp_path)  # 2 of 3,002 rows: below 0.1% -> counted, dropped, reported
    diag = readout.diagnostics.set_index("reason")
    assert int(diag.loc["unknown_customer", "rows"]) == 2
    assert "'9999999998'" in diag.loc["unknown_customer", "detail"]
    many = table.iloc[:10].assign(id=[f"99999999{i:02d}" for i in range(10)])
    path.write_bytes(pd.concat([table, many]).to_csv(index=False).encode("cp932"))
    with pytest.raises(
        DataError,
        match=r"outcomes source data/export.csv: 10 of 3,010 rows \(0.33%\) are "
        r"malformed.*10 id in column 'id' is not in the assignment \(e.g. row 3001: id='9999999900'",
    ):
        analyse(tmp_path)


def test_validate_experiment_lists_checks_and_raises_the_first_problem(tmp_path: Path) -> None:
    write_export(tmp_path)
    good = validate_experiment(tmp_path)
    assert good.ok and good.problems == ()
    assert [c.name for c in good.checks] == ["spec", "dates", "assignment", "outcomes", "breakdowns"]
    assert good.to_pandas()["ok"].all() and "ok" in repr(good)
    good.raise_for_problems()
    spec = tmp_path / "experiment.toml"
    spec.write_text(
        EXPORT_SPEC.replace('[variants."Mens E-Mail"]\nweight = 1', '[variants."Mens E-Mail"]\nweight = 2'),
        encoding="utf-8",
    )
    changed = validate_experiment(tmp_path)
    assert not changed.ok and len(changed.problems) == 1
    message = changed.problems[0]
    assert "variants.Mens E-Mail.weight = 2 (50.0% of the split) differs from the weight 1 (33.3%)" in message
    assert "line 29:" in message
    with pytest.raises(SpecError, match="differs from the weight 1"):
        changed.raise_for_problems()
    with pytest.raises(SpecError, match="differs from the weight 1"):
        analyse(tmp_path)
    spec.write_text(EXPORT_SPEC.replace('primary = "visit"', 'primary = "visits"'), encoding="utf-8")
    broken = validate_experiment(tmp_path)
    assert [c.name for c in broken.checks] == [
        "spec"
    ] and "'visits' is not a known metric" in broken.problems[0]
    spec.write_text(
        EXPORT_SPEC.replace('kind = "mean"', 'kind = "mean"\ncolumn = "amount_spent"'), encoding="utf-8"
    )
    missing = validate_experiment(tmp_path)
    assert "metric 'spend': column 'amount_spent' is not in the outcomes table" in missing.problems[0]
    with pytest.raises(DataError, match="amount_spent"):
        missing.raise_for_problems()


SHOP_SPEC = """\
name = "shop-test"
hypothesis = "A LINE coupon brings dormant customers back."
owner = "crm@example.com"
salt = "shop-test-1"

[dates]
send_date = 2026-06-01
window_days = 14

[data]
transactions = "data/transactions.csv"
events = "data/events.csv"
outcomes = "data/opens.csv"
assignment = "assignment.csv"
timezone = "Asia/Tokyo"
timestamp_format = "%d/%m/%Y %H:%M"

[data.columns]
customer_id = "会員番号"

[data.columns.events]
event = "種別"
timestamp = "日時"
amount = "金額"

[population]
exclude = []
lapsed_flags = []

[variants."No contact"]
weight = 1
contacted = false

[variants."クーポン (LINE)"]
weight = 1
channel = "line"

[variants."Reminder, e-mail"]
weight = 1

[metrics]
primary = "repurchased"
secondary = ["revenue", "opened"]
"""
SHOP_ARMS = ("No contact", "クーポン (LINE)", "Reminder, e-mail")


def write_shop(folder: Path, n: int = 1500) -> None:
    rng = np.random.default_rng(5)
    ids = [f"{i:010d}" for i in range(1, n + 1)]
    days = rng.integers(200, 600, n)
    orders = pd.DataFrame(
        {
            "会員番号": ids,
            "order_date": [
                (pd.Timestamp("2026-06-01") - pd.Timedelta(days=int(d))).date().isoformat() for d in days
            ],
            "amount": np.round(rng.gamma(2.0, 30.0, n), 0),
        }
    )
    (folder / "data").mkdir(parents=True, exist_ok=True)
    (folder / "experiment.toml").write_text(SHOP_SPEC, encoding="utf-8")
    (folder / "data" / "transactions.csv").write_bytes(orders.to_csv(index=False).encode("cp932"))


def test_names_with_spaces_and_japanese_and_zero_padded_ids_from_assign_to_report(tmp_path: Path) -> None:
    write_shop(tmp_path)
    run = assign_experiment(tmp_path)
    assigned = load_assignment(tmp_path / "assignment.csv").frame
    assert assigned["会員番号"].iloc[0].startswith("000000")
    assert set(assigned["variant"]) == set(SHOP_ARMS)
    files = sorted(Path(p).name for p in run.send_lists["path"])
    assert len(files) == 2 and all(" " not in f and "," not in f for f in files)
    for path in run.send_lists["path"]:
        sent = pd.read_csv(path, dtype=str)
        assert sent["会員番号"].str.fullmatch(r"\d{10}").all()  # 0000000003 stays 0000000003
    # the shop's events: day-first local (JST) times, CP932; one purchase 30 minutes after midnight JST
    # of the send day (still 31 May in UTC) counts only because the time zone is declared
    coupon = assigned.loc[assigned["variant"] == "クーポン (LINE)", "会員番号"].tolist()
    holdout = assigned.loc[assigned["variant"] == "No contact", "会員番号"].tolist()
    rows = [(c, "purchased", "01/06/2026 00:30", 40.0) for c in coupon[:1]]
    rows += [(c, "purchased", f"{(i % 13) + 2:02d}/06/2026 12:00", 25.0) for i, c in enumerate(coupon[1:120])]
    rows += [(c, "purchased", f"{(i % 13) + 2:02d}/06/2026 12:00", 25.0) for i, c in enumerate(holdout[:40])]
    rows += [(c, "delivered", "01/06/2026 09:00", None) for c in coupon]
    rows += [("0000000001", "purchased", "not a date", 10.0)]  # one malformed row among ~700: counted
    events = pd.DataFrame(rows, columns=["会員番号", "種別", "日時", "金額"])
    (tmp_path / "data" / "events.csv").write_bytes(events.to_csv(index=False).encode("cp932"))
    opens = assigned[["会員番号"]].assign(
        opened=assigned["variant"].ne("No contact") & (np.arange(len(assigned)) % 4 == 0)
    )
    opens.to_csv(tmp_path / "data" / "opens.csv", index=False, encoding="utf-8-sig")
    spec = tmp_path / "experiment.toml"
    spec.write_text(SHOP_SPEC.replace("[data]\n", "[data]\nmax_bad_share = 0.002\n"), encoding="utf-8")
    readout = analyse(tmp_path, as_of="2026-06-20")
    funnel = readout.funnel.set_index("variant")
    assert int(funnel.loc["クーポン (LINE)", "repurchased"]) == 120
    assert int(funnel.loc["No contact", "repurchased"]) == 40
    diag = readout.diagnostics.set_index("reason")
    assert (
        int(diag.loc["bad_timestamp", "rows"]) == 1 and "'not a date'" in diag.loc["bad_timestamp", "detail"]
    )
    ev = readout.evaluation.table
    assert set(ev.loc[ev["metric"] == "repurchased", "variant"]) == {"クーポン (LINE)", "Reminder, e-mail"}
    # opens come from the e-mail tool's table, compared among the contacted arms
    assert set(readout.engagement.table["metric"]) == {"opened"}
    assert readout.outcomes["opened"].sum() == opens["opened"].sum()
    # local times are converted to UTC, and so is the window: it starts at midnight in Tokyo
    assert readout.outcomes.attrs["abkit_window"]["start"] == "2026-05-31T15:00:00"
    stamps = read_events(Experiment.load(tmp_path))[0]["timestamp"]
    assert stamps.min() == pd.Timestamp("2026-05-31 15:30")  # 01/06/2026 00:30 JST
    assert "(Asia/Tokyo)" in readout.notes[0]
    # above the share of malformed rows: refused with the counts and the first example
    spec.write_text(SHOP_SPEC, encoding="utf-8")
    with pytest.raises(
        DataError,
        match=r"events source events.csv: 1 of [\d,]+ rows .* more than \[data\] "
        r"max_bad_share = 0.10%: 1 timestamp in column '日時' is missing or not a time \(format "
        r"'%d/%m/%Y %H:%M'\) \(e.g. row \d+: 会員番号='0000000001', 日時='not a date'",
    ):
        analyse(tmp_path, as_of="2026-06-20")


# ----------------------------------------------------------------- events that cannot be reported
def test_renamed_events_fail_with_a_suggestion(demo_experiment: Path) -> None:
    exp = Experiment.load(demo_experiment)
    events = pd.read_parquet(exp.data_path("events"))
    events["event"] = events["event"].replace({"purchased": "Purchased"})
    events.to_parquet(exp.data_path("events"), index=False)
    with pytest.raises(
        DataError,
        match=r"metric 'repurchased' counts 'purchased' events, and there are none, but "
        r"[\d,]+ rows are named 'Purchased': 'Purchased' looks like 'purchased'.*"
        r"\[data.event_names\] purchased = 'Purchased'",
    ):
        analyse(demo_experiment, as_of="2026-06-20")
    spec = demo_experiment / "experiment.toml"  # the fix the message names
    text = spec.read_text().replace(
        'assignment = "assignment.parquet"',
        'assignment = "assignment.parquet"\nevent_names = { purchased = "Purchased" }',
    )
    spec.write_text(text, encoding="utf-8")
    assert analyse(demo_experiment, as_of="2026-06-20").funnel["repurchased"].sum() > 0


def test_a_report_where_no_event_matches_an_assigned_customer_fails(demo_experiment: Path) -> None:
    exp = Experiment.load(demo_experiment)
    events = pd.read_parquet(exp.data_path("events"))
    events["customer_id"] = "C-" + events["customer_id"].astype(str)
    events.to_parquet(exp.data_path("events"), index=False)
    with pytest.raises(
        DataError,
        match=r"no event row matched an assigned customer inside the window .*unknown "
        r"customer\); no customer id matched: assigned ids look like 'C\d+' \(text\), "
        r"event ids like 'C-C\d+'",
    ):
        analyse(demo_experiment, as_of="2026-06-20")


def test_weights_changed_after_the_assignment_are_refused(demo_experiment: Path) -> None:
    spec = demo_experiment / "experiment.toml"
    text = spec.read_text()
    spec.write_text(text.replace("[variants.coupon]\nweight = 0.3", "[variants.coupon]\nweight = 0.4"))
    with pytest.raises(
        SpecError,
        match=r"variants.coupon.weight = 0.4 \(36.4% of the split\) differs from the "
        r"weight 0.3 \(30.0%\) the assignment assignment.parquet was made with; restore 0.3",
    ):
        analyse(demo_experiment, as_of="2026-06-20")


def test_the_tolerated_lag_comes_from_the_spec_and_never_exceeds_the_window(demo_experiment: Path) -> None:
    exp = Experiment.load(demo_experiment)
    events = pd.read_parquet(exp.data_path("events"))
    stamps = pd.to_datetime(events["timestamp"])
    events.loc[stamps < pd.Timestamp("2026-06-11")].to_parquet(exp.data_path("events"), index=False)
    with pytest.raises(SourceError, match=r"more than 2 days .*raise \[report\] max_data_lag_days"):
        analyse(demo_experiment, as_of="2026-06-20")
    spec = demo_experiment / "experiment.toml"
    spec.write_text(spec.read_text().replace("[report]\n", "[report]\nmax_data_lag_days = 5\n"))
    assert analyse(demo_experiment, as_of="2026-06-20").status == "attribution window closed"
    with pytest.raises(SourceError, match="more than 3 days"):
        analyse(demo_experiment, as_of="2026-06-20", max_data_lag_days=3)
    # a report long after the window closed needs data up to the window's end only
    events.loc[stamps < pd.Timestamp("2026-06-14 12:00")].to_parquet(exp.data_path("events"), index=False)
    assert (
        analyse(demo_experiment, as_of="2026-09-30", max_data_lag_days=1).status
        == "attribution window closed"
    )


def test_an_export_whose_arms_disagree_with_the_assignment_is_refused(tmp_path: Path) -> None:
    table = write_export(tmp_path)
    table.loc[4, "arm"] = "Mens E-Mail" if table.loc[4, "arm"] != "Mens E-Mail" else "No E-Mail"
    (tmp_path / "data" / "export.csv").write_bytes(table.to_csv(index=False).encode("cp932"))
    with pytest.raises(
        DataError,
        match=r"outcomes source data/export.csv: 1 customer\(s\) have another variant "
        r"than in the assignment \(first: id '0000000005'",
    ):
        analyse(tmp_path)
