"""``abkit demo DIR --waves 3``: a synthetic win-back programme, wave after wave, through the act step.

Under ``DIR`` (a new folder, or one an earlier demo made: :data:`abkit.workflow.DEMO_MARKER`)
:func:`run_programme_demo` writes one synthetic shop (customers and a purchase history that
grows as the waves go by, in ``wave-1/data/``) and a root of experiment folders
``wave-1``, ``wave-2``, ... sharing its dormant pool. Every wave runs the whole cycle:

1. its spec: the first from the demo spec (with ``[programme]`` and ``[population]
   cooldown_days``), the next ones by :func:`abkit.programme.init_from` from the previous wave
   (observed baseline, the shipped variants kept);
2. the assignment (the programme holdout and the customers contacted within the cooldown come
   off first), then what happened after the send, simulated for that very assignment, whose
   purchases join the shop's history (so the won-back leave the pool and others become dormant);
3. its report, published, and a decision recorded per segment: the report's recommendation
   (:func:`abkit.programme.decide`).

Then the programme report is published (:func:`abkit.programme_report.run_programme_report`).
Everything is seeded: the same arguments give the same data, assignments, decisions and numbers.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from abkit._io import write_frame, write_text
from abkit.assignment import load_assignment
from abkit.contacts import read_programme_holdout
from abkit.datasets import simulate_events, winback_campaign
from abkit.errors import ParameterError
from abkit.experiment import SPEC_FILE, Experiment
from abkit.programme import DECISIONS_FILE, decide, init_from, latest_report, report_segments
from abkit.programme_report import run_programme_report
from abkit.report import ReportRun, run_report
from abkit.workflow import assign_experiment, demo_folder, demo_spec_text, read_table

__all__ = ["DEMO_PROGRAMME", "run_programme_demo"]

#: The demo programme's name (``[programme] name``).
DEMO_PROGRAMME = "winback"
_ACTIONS = {"ship": "ship", "keep holdout": "keep-holdout", "keep collecting": "keep-holdout"}


def _first_spec(*, holdout: float, cooldown_days: int) -> str:
    text = demo_spec_text()
    text = re.sub(r'(?m)^name = ".*"', 'name = "wave-1"', text, count=1)
    text = re.sub(r'(?m)^salt = ".*?"', 'salt = "winback-wave-1"', text, count=1)
    text = text.replace("[population]\n", f"[population]\ncooldown_days = {cooldown_days}\n", 1)
    return text + f'\n[programme]\nname = "{DEMO_PROGRAMME}"\nholdout = {holdout}\n'


def _simulate(exp: Experiment, seen: dict[str, str], *, seed: int) -> pd.DataFrame:
    """What followed the wave's send: its assignment's events, and the purchases of the rest of the pool.

    ``seen`` (customer id to segment: everyone a wave found eligible so far, this wave's programme
    holdout included) is updated. Pool members this wave does not assign (the programme holdout,
    those resting after a recent contact) are never contacted: they buy at their segment's organic
    rate.
    """
    id_col = exp.data.columns.customer_id
    assigned = load_assignment(exp.data_path("assignment")).frame
    customers = read_table(exp.data_path("customers"), what="customers")
    assigned = assigned.merge(customers[[id_col, "hard_bounced"]], how="left", on=id_col)
    events = simulate_events(
        assigned,
        seed=seed,
        send_date=exp.dates.send_date,
        window_days=exp.dates.window_days,
        holdout=list(exp.holdouts),
    )
    seg = exp.strata if exp.strata in assigned.columns else None
    ids = assigned[id_col].astype(str)
    seen.update(zip(ids, assigned[seg].astype(str) if seg else ["other"] * len(ids), strict=True))
    held = read_programme_holdout(exp)
    held_segments = held["segment"].astype(str) if "segment" in held.columns else ["other"] * len(held)
    seen.update(zip(held[id_col].astype(str), held_segments, strict=True))
    rest = sorted(set(seen) - set(ids))
    if not rest:
        return events
    others = pd.DataFrame({id_col: rest, "segment": [seen[i] for i in rest], "variant": "holdout"})
    organic = simulate_events(
        others, seed=seed + 1, send_date=exp.dates.send_date, window_days=exp.dates.window_days,
        id_col=id_col, hard_bounced_col=None, n_duplicates=0, n_unknown=0, n_before_send=0,
    )  # fmt: skip
    return pd.concat([events, organic.loc[organic["event"] == "purchased"]], ignore_index=True)


def _grow_history(path: Path, events: pd.DataFrame, id_col: str) -> None:
    buys = events.loc[events["event"] == "purchased", ["customer_id", "timestamp", "amount"]]
    buys = buys.drop_duplicates()
    new = pd.DataFrame(
        {
            id_col: buys["customer_id"].astype(str).to_numpy(),
            "order_date": pd.to_datetime(buys["timestamp"]).dt.normalize().to_numpy(),
            "amount": buys["amount"].to_numpy(float),
        }
    )
    history = read_table(path, what="transactions")
    grown = pd.concat([history, new], ignore_index=True)
    write_frame(grown.sort_values(["order_date", id_col], kind="stable").reset_index(drop=True), path)


def _decide_as_recommended(exp: Experiment) -> int:
    report = latest_report(exp.folder)
    if report is None or report.summary is None:  # pragma: no cover - run_report just published it
        raise ParameterError(f"{exp.name}: no report summary to decide from")
    when = dt.datetime.combine(exp.dates.window_end, dt.time(9), tzinfo=dt.UTC)
    rows = report_segments(report.summary)
    for r in rows.itertuples(index=False):
        action = _ACTIONS.get(str(r.decision), "stop")
        note = f"as the report of {report.date.isoformat()} recommends: {r.decision}"
        variant = r.variant if action == "ship" else None
        by = "abkit demo"
        decide(exp.folder, segment=r.segment, action=action, variant=variant, note=note, by=by, now=when)
    return len(rows)


def run_programme_demo(
    folder: str | Path = "experiments/winback-programme",
    *,
    waves: int = 3,
    n_customers: int = 20_000,
    seed: int = 7,
    interval_days: int = 56,
    holdout: float = 0.05,
    cooldown_days: int = 60,
    language: str | None = None,
    say: Callable[[str], None] = print,
) -> ReportRun:
    """Build a synthetic programme of ``waves`` waves under ``folder`` and publish its programme report.

    Waves are sent every ``interval_days`` from 2026-06-01; ``holdout`` is the programme holdout's
    share and ``cooldown_days`` the rest period after a contact (60 days against waves 56 days
    apart: a customer mailed in one wave sits the next one out). ``language`` overrides the specs'
    ``[report] language``. Every run rebuilds the demo from its seed. Returns the programme
    report's :class:`~abkit.report.ReportRun`.
    """
    if isinstance(waves, bool) or not isinstance(waves, int) or not 1 <= waves <= 12:
        raise ParameterError(f"waves={waves!r} (--waves) must be a whole number from 1 to 12")
    root = demo_folder(folder)
    for old in [root / "programme", *sorted(root.glob("wave-*"))]:
        shutil.rmtree(old, ignore_errors=True)  # only inside a demo folder: rebuilt from the seed
    first = root / "wave-1"
    write_text(first / SPEC_FILE, _first_spec(holdout=holdout, cooldown_days=cooldown_days))
    exp = Experiment.load(first)
    say(f"abkit demo: generating {n_customers:,} synthetic customers (seed {seed}) ...")
    shop = winback_campaign(
        n_customers, seed=seed, send_date=exp.dates.send_date, window_days=exp.dates.window_days
    )
    write_frame(shop.transactions, exp.data_path("transactions"))
    write_frame(shop.customers, exp.data_path("customers"))
    extra = {"language": language} if language else None
    seen: dict[str, str] = {}
    for k in range(1, waves + 1):
        if k > 1:
            send = exp.dates.send_date + dt.timedelta(days=interval_days)
            name = f"wave-{k}"
            init_from(name, exp.folder, parent=root, send_date=send, salt=f"winback-{name}")
            spec = root / name / SPEC_FILE
            text = spec.read_text(encoding="utf-8")
            text = re.sub(r'(?m)^events = ".*?"', 'events = "data/events.parquet"', text, count=1)
            write_text(spec, text)
            exp = Experiment.load(root / name)
        say(f"abkit demo: {exp.name}: assigning (send date {exp.dates.send_date.isoformat()}) ...")
        assign_experiment(exp, force=True)
        events = _simulate(exp, seen, seed=seed + 10 * k)
        write_frame(events, exp.data_path("events"))
        _grow_history(exp.data_path("transactions"), events, exp.data.columns.customer_id)
        day = exp.dates.window_end - dt.timedelta(days=1)
        say(f"abkit demo: {exp.name}: report as of {day.isoformat()} ...")
        run_report(exp.folder, as_of=day, force=True, extra_parameters=extra)
        (exp.folder / DECISIONS_FILE).unlink(missing_ok=True)
        n = _decide_as_recommended(exp)
        say(f"abkit demo: {exp.name}: {n} decision(s) recorded as the report recommends")
    say("abkit demo: programme report ...")
    return run_programme_report(root, language=language, force=True)
