"""Act: decisions on record, status, learnings across waves, init --from and the programme effect."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_contacts import make_wave

import abkit
from abkit.cli import main
from abkit.errors import ParameterError
from abkit.experiment import Experiment
from abkit.meta import random_effects
from abkit.programme import (
    DECISIONS_FILE,
    decide,
    latest_report,
    learnings,
    pool_lifts,
    read_decisions,
    report_segments,
    status,
    wave_lifts,
    wave_lifts_from_analyses,
)
from abkit.workflow import analyse, assign_experiment


def write_summary(folder: Path, day: str, segments: list[dict], **extra: object) -> Path:
    """A report summary shaped as abkit.report_view.summary_dict writes it, in reports/NAME-DATE/."""
    name = Experiment.load(folder).name
    stem = f"{name}-{day}"
    out = folder / "reports" / stem
    out.mkdir(parents=True, exist_ok=True)
    summary = {
        "schema": "abkit.report/1",
        "abkit_version": "0.1.0",
        "experiment": name,
        "as_of": day,
        "language": "en",
        "currency": "EUR",
        "primary_metric": "repurchased",
        "per": 1000,
        "method": {"name": "frequentist", "alpha": 0.05, "level": 0.95, "correction": "holm",
                   "interval": "confidence", "sequential": False, "covariates": []},
        "segments": segments,
        **extra,
    }  # fmt: skip
    (out / f"{stem}.html").write_text("<html></html>", encoding="utf-8")
    path = out / f"{stem}.json"
    path.write_text(json.dumps(summary), encoding="utf-8")
    return path


def seg(segment: str, decision: str, variant: str | None, lift: float, low: float, high: float) -> dict:
    return {
        "segment": segment,
        "decision": decision,
        "variant": variant if decision == "ship" else None,
        "shown_variant": variant,
        "objective": "primary",
        "confidence": "very likely better",
        "primary_lift": {"abs": lift, "abs_ci_low": low, "abs_ci_high": high, "rel": 0.5,
                         "rel_ci_low": 0.1, "rel_ci_high": 0.9, "adjusted": False},
        "profit": {"value": 120.0, "ci_low": 10.0, "ci_high": 230.0},
    }  # fmt: skip


def copy_wave(source: Path, root: Path, name: str, *, shift_days: int = 0, family: str | None = None) -> Path:
    """A copy of the demo experiment under ROOT/NAME (same data), renamed and optionally re-dated."""
    folder = root / name
    shutil.copytree(source, folder)
    exp = Experiment.load(folder)
    text = exp.to_toml().replace(f'name = "{exp.name}"', f'name = "{name}"', 1)
    if shift_days:
        send = exp.dates.send_date
        text = text.replace(f"send_date = {send}", f"send_date = {send + dt.timedelta(shift_days)}")
        end = exp.dates.planned_end
        text = text.replace(f"planned_end = {end}", f"planned_end = {end + dt.timedelta(shift_days)}")
    if family:
        text = text.replace("[variants.coupon]\n", f'[variants.coupon]\nfamily = "{family}"\n', 1)
    (folder / "experiment.toml").write_text(text, encoding="utf-8")
    return folder


# ------------------------------------------------------------------------------------- learnings
def test_pool_lifts_is_the_meta_analysis_of_each_family_and_segment() -> None:
    lifts = pd.DataFrame(
        {
            "family": ["coupon"] * 3 + ["personal"] * 2,
            "segment": ["one_time"] * 3 + ["high_value"] * 2,
            "lift": [0.020, 0.035, 0.050, 0.010, 0.012],
            "se": [0.010, 0.012, 0.009, 0.005, 0.006],
        }
    )
    table = pool_lifts(lifts)
    assert set(table["method"]) == {"random effects (REML)", "random effects (DerSimonian-Laird)"}
    row = table.loc[(table["family"] == "coupon") & (table["method"] == "random effects (REML)")].iloc[0]
    ref = random_effects([0.020, 0.035, 0.050], np.square([0.010, 0.012, 0.009]), method="reml")
    assert row["estimate"] == pytest.approx(ref.estimate) and row["tau2"] == pytest.approx(ref.tau2)
    assert row["waves"] == 3 and row["i2"] == pytest.approx(ref.i2)
    with pytest.raises(ParameterError, match="missing column"):
        pool_lifts(lifts.drop(columns="se"))


def test_learnings_read_the_latest_report_summary_of_each_wave(tmp_path: Path, demo_source: Path) -> None:
    root = tmp_path / "experiments"
    lifts = {"wave-1": (0.02, 0.01, 0.03), "wave-2": (0.05, 0.035, 0.065), "wave-3": (0.03, 0.0, 0.06)}
    for k, (name, (lift, low, high)) in enumerate(lifts.items()):
        folder = copy_wave(demo_source, root, name, shift_days=90 * k, family="discount")
        write_summary(folder, "2026-01-01", [seg("one_time", "keep collecting", "coupon", 0.0, -1, 1)])
        write_summary(
            folder,
            "2026-12-31",  # the latest report is the one read
            [seg("one_time", "ship", "coupon", lift, low, high), seg("all", "keep holdout", None, 0, 0, 0)],
        )
    result = learnings(root)
    waves = result.waves
    assert list(waves["experiment"]) == ["wave-1", "wave-2", "wave-3"]
    assert set(waves["family"]) == {"discount"} and set(waves["segment"]) == {"one_time"}
    se = np.array([(h - lo) / (2 * 1.959963984540054) for _, lo, h in lifts.values()])
    assert waves["se"].to_numpy() == pytest.approx(se)
    pooled = result.pooled.set_index("method")
    ref = random_effects([v[0] for v in lifts.values()], se**2, method="dl")
    assert pooled.loc["random effects (DerSimonian-Laird)", "estimate"] == pytest.approx(ref.estimate)
    assert pooled.loc["random effects (DerSimonian-Laird)", "q_p_value"] == pytest.approx(ref.q_p_value)
    assert "Learnings across 3 wave(s)" in str(result)


def test_learnings_from_analyse_need_no_report(tmp_path: Path, demo_source: Path) -> None:
    root = tmp_path / "experiments"
    copy_wave(demo_source, root, "wave-1")
    copy_wave(demo_source, root, "wave-2", family="discount")
    lifts, skipped = wave_lifts_from_analyses(root)
    assert skipped == ()
    readout = analyse(root / "wave-1", as_of="2026-06-14")
    table = readout.evaluation.to_pandas()
    primary = table.loc[table["metric"] == "repurchased"]
    one = wave_lifts(readout)
    assert len(one) == len(primary) and one["lift"].tolist() == pytest.approx(primary["abs_lift"].tolist())
    row = primary.iloc[0]
    p0, p1 = row["control_value"], row["variant_value"]
    se = np.sqrt(p0 * (1 - p0) / row["n_control"] + p1 * (1 - p1) / row["n_variant"])
    assert one["se"].iloc[0] == pytest.approx(se)
    # the coupon of wave-2 belongs to the family "discount": two families, one wave each
    coupon = lifts.loc[lifts["variant"] == "coupon"]
    assert set(coupon["family"]) == {"coupon", "discount"}
    pooled = learnings(root, source="analyse").pooled
    assert (pooled.loc[pooled["family"] == "personal", "waves"] == 2).all()


# ------------------------------------------------------------------------------------- decisions
def test_decide_records_evidence_and_appends(tmp_path: Path, demo_experiment: Path, capsys) -> None:
    summary = write_summary(
        demo_experiment,
        "2026-06-15",
        [
            seg("one_time", "ship", "coupon", 0.04, 0.02, 0.06),
            seg("all", "keep collecting", "coupon", 0.01, -0.01, 0.03),
        ],
    )
    when = dt.datetime(2026, 6, 16, 9, 30, tzinfo=dt.UTC)
    record = decide(
        demo_experiment, segment="one_time", action="ship", variant="coupon", note="clear", by="ana", now=when
    )
    assert record["time"] == "2026-06-16T09:30:00Z" and record["by"] == "ana"
    ev = record["evidence"]
    assert ev["report"] == "reports/winback-demo-2026-06-15/winback-demo-2026-06-15.json"
    assert ev["report_sha256"] == hashlib.sha256(summary.read_bytes()).hexdigest()
    assert (ev["lift"], ev["ci_low"], ev["ci_high"], ev["profit"]) == (0.04, 0.02, 0.06, 120.0)
    assert record["against_recommendation"] is False
    # the CLI: against the recommendation is recorded, with one warning line
    argv = ["--segment", "all", "--action", "ship", "--variant", "personal", "--note", "brand reasons"]
    code = main(["decide", str(demo_experiment), *argv])
    assert code == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "warning" in err and "keep collecting" in err
    table = read_decisions(demo_experiment)
    assert list(table["segment"]) == ["one_time", "all"] and list(table["against_recommendation"]) == [
        False,
        True,
    ]
    assert table["by"].iloc[1]  # the operating-system user
    lines = (demo_experiment / DECISIONS_FILE).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 and json.loads(lines[0]) == record


@pytest.mark.parametrize(
    "argv, named",
    [
        (["--segment", "one_time", "--action", "ship", "--variant", "voucher"], "coupon"),
        (["--segment", "vip", "--action", "keep-holdout"], "one_time"),
        (["--segment", "one_time", "--action", "ship"], "--variant"),
    ],
)
def test_decide_refuses_what_the_experiment_does_not_have(demo_experiment: Path, capsys, argv, named) -> None:
    assert main(["decide", str(demo_experiment), *argv]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and named in err
    assert not (demo_experiment / DECISIONS_FILE).exists()


# ---------------------------------------------------------------------------------------- status
def test_status_shows_every_phase_and_the_folders_it_cannot_read(
    tmp_path: Path, demo_source: Path, capsys
) -> None:
    root = tmp_path / "experiments"
    closed = copy_wave(demo_source, root, "a-closed")
    running = copy_wave(demo_source, root, "b-running", shift_days=30)
    copy_wave(demo_source, root, "c-assigned", shift_days=60)
    draft = copy_wave(demo_source, root, "d-draft")
    (draft / "assignment.parquet").unlink()
    decided = copy_wave(demo_source, root, "e-decided")
    old = copy_wave(demo_source, root, "f-old")
    (old / "reports").mkdir(exist_ok=True)
    (old / "reports" / "f-old-2026-06-10.html").write_text("<html></html>")  # an earlier abkit's flat report
    write_summary(closed, "2026-06-15", [seg("all", "ship", "coupon", 0.012, 0.004, 0.02)])
    decide(decided, segment="all", action="keep-holdout", note="no effect", by="bo")
    (root / "broken").mkdir()
    (root / "broken" / "experiment.toml").write_text("name = [", encoding="utf-8")
    (root / "notes").mkdir()
    result = status(root, as_of="2026-07-05")
    rows = result.rows.set_index("experiment")
    assert rows.loc["a-closed", "phase"] == "window closed"
    assert rows.loc["b-running", "phase"] == "running day 5 of 14"
    assert rows.loc["c-assigned", "phase"] == "assigned"
    assert rows.loc["d-draft", "phase"] == "draft"
    assert (
        rows.loc["e-decided", "phase"] == "decided"
        and rows.loc["e-decided", "decision"] == "keep-holdout (all)"
    )
    assert rows.loc["a-closed", "report_date"] == "2026-06-15"
    assert rows.loc["a-closed", "result"] == "all: ship coupon +1.2 pp (0.4 to 2.0)"
    assert rows.loc["a-closed", "folder"] == "a-closed"
    assert rows.loc["f-old", "report_date"] == "2026-06-10"
    assert "without a machine-readable summary" in rows.loc["f-old", "result"]
    assert len(result.problems) == 2
    assert result.problems[0].startswith("broken: ") and result.problems[1].startswith(
        "notes: no experiment.toml"
    )
    assert main(["status", str(root), "--as-of", "2026-07-05", "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert len(payload["experiments"]) == 6 and len(payload["problems"]) == 2
    assert main(["status", str(root), "--as-of", "2026-07-05"]) == 0
    out, err = capsys.readouterr()
    assert "running day 5 of 14" in out and err.count("cannot read") == 2
    assert latest_report(running) is None


# ------------------------------------------------------------------------------------ init --from
def test_init_from_starts_from_the_observed_holdout_rates_and_the_decisions(
    tmp_path: Path, demo_source: Path
) -> None:
    root = tmp_path / "experiments"
    prev = copy_wave(demo_source, root, "wave-1")
    decide(prev, segment="one_time", action="ship", variant="coupon", by="ana")
    decide(prev, segment="high_value", action="ship", variant="personal", by="ana")
    decide(prev, segment="other", action="keep-holdout", by="ana")
    assert (
        main(["init", "wave-2", "--parent", str(root), "--from", str(prev), "--send-date", "2026-09-01"]) == 0
    )
    nxt = Experiment.load(root / "wave-2")
    old = Experiment.load(prev)
    assert nxt.name == "wave-2" and nxt.salt != old.salt and nxt.dates.send_date == dt.date(2026, 9, 1)
    assert nxt.variant_names == ("holdout", "coupon", "personal")  # the reminder was never shipped
    readout = analyse(prev, as_of="2026-06-14")
    table = readout.evaluation.to_pandas()
    control = table.loc[(table["metric"] == "repurchased")].drop_duplicates("segment").set_index("segment")
    assert nxt.analysis.baseline == pytest.approx(control.loc["all", "control_value"])
    text = (root / "wave-2" / "experiment.toml").read_text(encoding="utf-8")
    for segment in ("one_time", "high_value"):
        assert f"#   {segment}: {control.loc[segment, 'control_value']:.2%}" in text
    assert "95% Wilson interval" in text
    # the data sources still point at the previous wave's files
    assert nxt.data_path("transactions").resolve() == old.data_path("transactions").resolve()
    assert (
        nxt.data_path("assignment").parent == (root / "wave-2").resolve()
        or nxt.data_path("assignment").parent.name == "wave-2"
    )
    # nothing is overwritten
    assert main(["init", "wave-2", "--parent", str(root), "--from", str(prev)]) == 1


# ------------------------------------------------------------------------------ programme effect
@pytest.fixture(scope="module")
def history():
    return abkit.datasets.programme_history(60_000, seed=5, lift=1.0, holdout=0.1)


def test_programme_history_shares_one_evolving_pool_and_a_stable_holdout(history) -> None:
    waves = history.waves
    assert sorted(waves["wave"].unique()) == [1, 2, 3]
    by_wave = [set(g["customer_id"]) for _, g in waves.groupby("wave")]
    assert by_wave[0] & by_wave[1] and by_wave[1] - by_wave[0]  # the pool evolves: stayers and newcomers
    member = abkit.programme_holdout(waves["customer_id"], "winback", 0.1).to_numpy()
    assert np.array_equal(member, (waves["arm"] == "programme holdout").to_numpy())
    assert history.pool["entered"].min() == history.start


def test_programme_effect_recovers_the_planted_effect(history) -> None:
    effect = abkit.programme_effect(
        history.pool, history.transactions, start=history.start.date(), end=history.end.date(), margin=0.4
    )
    table = effect.table.set_index(["metric", "segment"])
    truth = history.truth.set_index("segment")
    for metric in ("repurchase_rate", "revenue"):
        for segment in ("all", "one_time", "high_value"):
            row = table.loc[(metric, segment)]
            true = truth.loc[segment, metric]
            assert row["ci_low"] < true < row["ci_high"], (metric, segment, true, row.to_dict())
        assert table.loc[(metric, "all"), "ci_low"] > 0  # the programme clearly pays off in repurchases
    assert "profit" in table.index.get_level_values("metric")
    assert "Welch" in " ".join(effect._notes())


def test_without_a_planted_effect_the_interval_covers_zero() -> None:
    null = abkit.datasets.programme_history(30_000, seed=8, lift=0.0)
    assert (null.truth[["repurchase_rate", "revenue"]].to_numpy() == 0).all()
    start, end = null.start.date(), null.end.date()
    effect = abkit.programme_effect(null.pool, null.transactions, start=start, end=end)
    row = effect.table.set_index(["metric", "segment"]).loc[("repurchase_rate", "all")]
    assert row["ci_low"] < 0 < row["ci_high"]


def test_programme_effect_from_a_root_of_assigned_waves(tmp_path: Path, capsys) -> None:
    shop = tmp_path / "shop"
    shop.mkdir()
    h = abkit.datasets.programme_history(6_000, seed=2)
    h.transactions.to_parquet(shop / "transactions.parquet", index=False)
    customers = h.customers.assign(complained=False, hard_bounced=False, cancelled=False)
    customers.to_parquet(shop / "customers.parquet", index=False)
    root = tmp_path / "experiments"
    for k, day in enumerate(h.send_dates, 1):
        folder = make_wave(root, shop, f"wave-{k}", day.date().isoformat(), holdout=0.1)
        assign_experiment(folder)
    effect = abkit.programme_effect(root)
    assert effect.waves == ("wave-1", "wave-2", "wave-3") and effect.programme == "winback"
    overall = effect.table.set_index(["metric", "segment"]).loc[("repurchase_rate", "all")]
    assert overall["n_holdout"] > 0 and overall["n_pool"] > 5 * overall["n_holdout"]
    assert np.isfinite(overall[["incremental", "ci_low", "ci_high"]].to_numpy(float)).all()
    end = h.end.date().isoformat()
    assert main(["programme", str(root), "--to", end, "--format", "json", "--lang", "ja"]) == 0
    printed = capsys.readouterr().out
    folder = root / "programme" / f"programme-{end}"
    written = folder / f"programme-{end}.json"
    assert printed == written.read_text(encoding="utf-8")
    payload = json.loads(printed)
    assert payload["schema"] == "abkit.programme/1" and payload["waves"] == ["wave-1", "wave-2", "wave-3"]
    assert payload["end"] == end and payload["language"] == "ja" and payload["learnings"]["pooled"] == []
    effects = {(e["metric"], e["segment"]): e for e in payload["effects"]}
    all_rate = effects[("repurchase_rate", "all")]
    assert all_rate["incremental"] == pytest.approx(overall["incremental"])
    names = [f"programme-{end}.{x}" for x in ("html", "ipynb", "json")]
    assert sorted(p.name for p in folder.iterdir()) == names
    html = (folder / f"programme-{end}.html").read_text(encoding="utf-8")
    assert "プログラム・ホールドアウトに対する累積効果" in html
    assert "def " not in html and "Traceback" not in html
    assert main(["programme", str(root), "--to", end]) == 1  # never overwritten silently
    assert "--force" in capsys.readouterr().err
    assert "programme" not in set(status(root, as_of="2026-12-31").rows["experiment"])


# ------------------------------------------------------------------- a real published report
@pytest.fixture(scope="module")
def published(demo_source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo with two decisions on record (one hostile note), then its report published."""
    from abkit.report import run_report

    folder = tmp_path_factory.mktemp("published") / "experiments" / "wave-1"
    shutil.copytree(demo_source, folder)
    when = dt.datetime(2026, 6, 15, 8, 0, tzinfo=dt.UTC)
    decide(folder, segment="one_time", action="ship", variant="coupon", by="ana", now=when,
           note="<script>alert('x')</script> & co")  # fmt: skip
    decide(folder, segment="all", action="stop", by="<b>bo</b>", now=when, note="budget")
    run_report(folder, as_of="2026-06-14")
    return folder


def test_the_reader_reads_the_summary_a_report_publishes(published: Path) -> None:
    report = latest_report(published)
    assert report is not None and report.path.name == "winback-demo-2026-06-14.json"
    readout = analyse(published, as_of="2026-06-14")
    rows = report_segments(report.summary).set_index("segment")
    decisions = readout.decisions.set_index("segment")
    assert set(rows.index) == set(decisions.index)
    for segment, d in decisions.iterrows():
        r = rows.loc[segment]
        assert r["decision"] == d["decision"] and r["lift"] == pytest.approx(d["abs_lift"])
        assert (r["ci_low"], r["ci_high"]) == pytest.approx((d["ci_low"], d["ci_high"]))
        assert r["profit"] == pytest.approx(d["profit"])  # profit sits in "profit": {"value": ...}
        assert r["profit_ci_high"] == pytest.approx(d["profit_ci_high"])
        assert r["variant"] == (d["variant"] if isinstance(d["variant"], str) else None)
    # every variant's lift, per segment, not only the recommended one
    table = readout.evaluation.to_pandas()
    primary = table.loc[table["metric"] == "repurchased"]
    comparisons = report_segments(report.summary, comparisons=True)
    assert len(comparisons) == len(primary)
    assert set(zip(comparisons["segment"], comparisons["variant"], strict=True)) == set(
        zip(primary["segment"], primary["variant"], strict=True)
    )
    merged = comparisons.merge(primary, on=["segment", "variant"])
    assert merged["lift"].to_numpy() == pytest.approx(merged["abs_lift"].to_numpy())
    assert merged["n_control_x"].to_numpy() == pytest.approx(merged["n_control_y"].to_numpy())


def test_a_summary_missing_a_field_is_named(published: Path) -> None:
    summary = json.loads(latest_report(published).path.read_text(encoding="utf-8"))
    del summary["segments"][1]["profit"]
    with pytest.raises(abkit.DataError, match=r"segments row 2 has no 'profit'"):
        report_segments(summary)
    summary["schema"] = "abkit.report/0"
    with pytest.raises(abkit.DataError, match="schema"):
        report_segments(summary)


def test_learnings_from_published_reports_cover_every_variant(published: Path, tmp_path: Path) -> None:
    root = tmp_path / "experiments"
    copy_wave(published, root, "wave-1")
    copy_wave(published, root, "wave-2", shift_days=90)
    result = learnings(root)
    assert result.skipped == ()
    waves = result.waves
    assert set(waves["variant"]) == {"coupon", "personal", "reminder"}
    assert set(waves["segment"]) == {"all", "high_frequency", "high_value", "one_time", "other"}
    # the standard errors are those of the analysis (Wald, from rates and counts)
    readout = analyse(published, as_of="2026-06-14")
    one = wave_lifts(readout).set_index(["segment", "variant"]).sort_index()
    first = waves.loc[waves["experiment"] == "wave-1"].set_index(["segment", "variant"]).sort_index()
    assert first["se"].to_numpy() == pytest.approx(one["se"].to_numpy())
    assert first["lift"].to_numpy() == pytest.approx(one["lift"].to_numpy())
    pooled = result.pooled
    assert len(pooled) == 2 * 3 * 5 and (pooled["waves"] == 2).all()


def test_decide_keeps_the_real_reports_evidence(published: Path, tmp_path: Path) -> None:
    folder = tmp_path / "wave"
    shutil.copytree(published, folder)
    (folder / DECISIONS_FILE).unlink()
    record = decide(folder, segment="all", action="keep-holdout", by="cy")
    rows = report_segments(latest_report(folder).summary).set_index("segment")
    ev = record["evidence"]
    assert ev["profit"] == pytest.approx(rows.loc["all", "profit"]) and ev["lift"] == rows.loc["all", "lift"]
    assert record["recommendation"] == rows.loc["all", "decision"]


def test_the_report_shows_the_decisions_on_record(published: Path) -> None:
    html = next((published / "reports").glob("*/*.html")).read_text(encoding="utf-8")
    at = html.index("Decisions on record")
    assert html.index("Recommendation per segment") < at < html.index("Data health")
    assert "<script>alert(" not in html and "&lt;script&gt;alert(" in html
    assert "&lt;b&gt;bo&lt;/b&gt;" in html and "2026-06-15" in html
