"""Programme holdout and contact pressure: who a wave may contact (abkit.contacts + abkit assign)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from abkit.assignment import load_assignment
from abkit.contacts import (
    COOLDOWN_REASON,
    PROGRAMME_HOLDOUT_REASON,
    programme_holdout,
    read_programme_holdout,
    recent_contacts,
)
from abkit.datasets import winback_campaign
from abkit.errors import ParameterError
from abkit.experiment import Experiment
from abkit.workflow import assign_experiment, demo_spec_text


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One synthetic shop (transactions and customers) shared by every wave of a root."""
    data = tmp_path_factory.mktemp("shop")
    c = winback_campaign(4_000, seed=11)
    c.transactions.to_parquet(data / "transactions.parquet", index=False)
    c.customers.to_parquet(data / "customers.parquet", index=False)
    return data


def make_wave(
    root: Path,
    shop: Path,
    name: str,
    send_date: str,
    *,
    programme: str | None = "winback",
    holdout: float = 0.1,
    cooldown: int | None = None,
    transactions: str = "transactions.parquet",
) -> Path:
    """Write ROOT/NAME/experiment.toml: the demo spec with its own name, salt and send date."""
    text = demo_spec_text()
    text = re.sub(r'(?m)^name = ".*"', f'name = "{name}"', text, count=1)
    text = re.sub(r'(?m)^salt = ".*?"', f'salt = "{name}-salt"', text, count=1)
    text = re.sub(r"(?m)^send_date = .*", f"send_date = {send_date}", text, count=1)
    text = re.sub(r"(?m)^planned_end = .*\n", "", text, count=1)
    text = text.replace('"data/transactions.parquet"', repr(str(shop / transactions)).replace("'", '"'))
    text = text.replace('"data/customers.parquet"', repr(str(shop / "customers.parquet")).replace("'", '"'))
    if cooldown is not None:
        text = text.replace("[population]\n", f"[population]\ncooldown_days = {cooldown}\n", 1)
    if programme is not None:
        text += f'\n[programme]\nname = "{programme}"\nholdout = {holdout}\n'
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "experiment.toml").write_text(text, encoding="utf-8")
    Experiment.load(folder)  # the spec is valid
    return folder


def test_programme_holdout_is_a_stable_share_of_any_pool() -> None:
    ids = pd.Series([f"{i:07d}" for i in range(50_000)])
    member = programme_holdout(ids, "winback", 0.05)
    assert member.dtype == bool and member.index.equals(ids.index)
    assert abs(member.mean() - 0.05) < 0.005
    # the pool grows (new dormant customers, shuffled order): old ids keep their membership
    grown = pd.concat([ids, pd.Series([f"N{i}" for i in range(20_000)])], ignore_index=True)
    grown = grown.sample(frac=1, random_state=1)
    again = pd.Series(programme_holdout(grown, "winback", 0.05).to_numpy(), index=grown.to_numpy())
    assert (again.loc[ids.to_numpy()].to_numpy() == member.to_numpy()).all()
    assert programme_holdout(ids.iloc[:10], "winback", 0.05).equals(member.iloc[:10])
    # another programme draws an independent holdout; a larger share contains the smaller one
    other = programme_holdout(ids, "reactivation", 0.05)
    assert (member & other).mean() < 0.005
    assert (member <= programme_holdout(ids, "winback", 0.10)).all()


def test_programme_holdout_keeps_leading_zeros_apart() -> None:
    a = programme_holdout(["007", "7"], "winback", 0.5)
    b = programme_holdout(["007"], "winback", 0.5)
    assert a.iloc[0] == b.iloc[0]
    assert len(programme_holdout([], "winback", 0.05)) == 0


@pytest.mark.parametrize("share", [0, 1, -0.1, 1.5, float("nan")])
def test_programme_holdout_refuses_bad_shares(share: float) -> None:
    with pytest.raises(ParameterError, match="share"):
        programme_holdout(["a"], "winback", share)


def test_programme_holdout_refuses_an_empty_name() -> None:
    with pytest.raises(ParameterError, match="name"):
        programme_holdout(["a"], "", 0.1)


def test_waves_never_contact_the_programme_holdout_and_count_it(tmp_path: Path, shop: Path) -> None:
    root = tmp_path / "experiments"
    waves = [make_wave(root, shop, f"wave-{k}", day) for k, day in enumerate(["2026-06-01", "2026-09-01"], 1)]
    members_all = []
    for folder in waves:
        run = assign_experiment(folder)
        exp = Experiment.load(folder)
        assigned = load_assignment(exp.data_path("assignment")).frame
        members = read_programme_holdout(exp)
        members_all.append(members)
        assert len(members) > 0 and set(members.columns) == {"customer_id", "segment"}
        row = run.exclusions.set_index("reason").loc[PROGRAMME_HOLDOUT_REASON]
        assert row["count"] == len(members)
        assert f"{PROGRAMME_HOLDOUT_REASON}: {len(members):,}" in str(run)
        # members are outside the wave's split and on no send list
        assert not assigned["customer_id"].isin(members["customer_id"]).any()
        sent = pd.concat([pd.read_csv(p, dtype=str) for p in run.send_lists["path"]])
        assert not sent["customer_id"].isin(members["customer_id"]).any()
        # exactly the hashed members of the wave's eligible pool
        pool = pd.concat([assigned["customer_id"], members["customer_id"]])
        assert programme_holdout(pool, "winback", 0.1).sum() == len(members)
    # the same customer is in the holdout in both waves (membership never changes)
    common = set(members_all[0]["customer_id"]) | set(members_all[1]["customer_id"])
    assert programme_holdout(sorted(common), "winback", 0.1).all()


def test_cooldown_excludes_recent_contacts_of_the_root_but_not_the_holdout_arm(
    tmp_path: Path, shop: Path
) -> None:
    root = tmp_path / "experiments"
    first = make_wave(root, shop, "wave-1", "2026-06-01", programme=None)
    assign_experiment(first)
    exp1 = Experiment.load(first)
    assigned1 = load_assignment(exp1.data_path("assignment")).frame
    contacted = set(assigned1.loc[assigned1["variant"] != "holdout", "customer_id"])
    held = set(assigned1.loc[assigned1["variant"] == "holdout", "customer_id"])

    # 30 days later with a 60-day cooldown: last wave's contacted customers are left out
    second = make_wave(root, shop, "wave-2", "2026-07-01", programme=None, cooldown=60)
    run = assign_experiment(second)
    assigned2 = load_assignment(Experiment.load(second).data_path("assignment")).frame
    assert not assigned2["customer_id"].isin(contacted).any()
    assert assigned2["customer_id"].isin(held).any()  # the holdout arm was not contacted
    count = int(run.exclusions.set_index("reason").loc[COOLDOWN_REASON, "count"])
    eligible_again = len(set(assigned1["customer_id"]) & contacted)  # dormant on both dates
    assert 0 < count <= eligible_again
    assert f"{COOLDOWN_REASON}: {count:,}" in str(run)

    # 90 days later the same 60-day cooldown excludes nobody
    third = make_wave(root, shop, "wave-3", "2026-09-01", programme=None, cooldown=60)
    run3 = assign_experiment(third)
    assert int(run3.exclusions.set_index("reason").loc[COOLDOWN_REASON, "count"]) == 0


def test_recent_contacts_skips_unreadable_folders_and_says_why(tmp_path: Path, shop: Path) -> None:
    root = tmp_path / "experiments"
    make_wave(root, shop, "wave-1", "2026-06-01", programme=None)
    broken = root / "broken"
    broken.mkdir()
    (broken / "experiment.toml").write_text("name = [", encoding="utf-8")
    contacts, skipped = recent_contacts(root, send_date="2026-06-10", days=60)
    assert len(contacts) == 0  # wave-1 is a draft: no assignment, nobody contacted
    assert len(skipped) == 1 and skipped[0].startswith("broken (")
