"""The verbs behind the ``abkit`` command and the notebooks: init, plan, assign, analyse, demo.

Each verb takes an experiment folder (or a loaded :class:`~abkit.experiment.Experiment`), reads
its data sources, calls the design, data and evaluation layers, and returns an immutable result.
The report notebook is a thin layer over :func:`analyse`, so everything it shows is testable
from Python.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from abkit import external
from abkit._display import Displayable, format_number
from abkit._io import make_temp_dir, publish, write_frame, write_text
from abkit._validate import check_date
from abkit.assignment import (
    EXTERNAL,
    assign,
    export_send_lists,
    load_assignment,
    save_assignment,
    send_list_paths,
)
from abkit.checks import SRMResult, srm
from abkit.contacts import apply_contact_rules, programme_holdout_path
from abkit.datasets import simulate_events, winback_campaign
from abkit.errors import DataError, FileExistsAbkitError, ParameterError, SourceError, SpecError
from abkit.experiment import MAX_NAME_LENGTH, Experiment, write_scaffold
from abkit.lock import experiment_locked

__all__ = [
    "AssignmentRun",
    "ImportRun",
    "Readout",
    "analyse",
    "assign_experiment",
    "demo_spec_text",
    "external_split_note",
    "import_assignment",
    "init_experiment",
    "plan_experiment",
    "prepare_demo",
    "read_table",
    "run_demo",
]

log = logging.getLogger(__name__)

#: Pre-campaign covariates whose balance across arms the report checks (from the population).
BALANCE_COVARIATES: tuple[str, ...] = ("recency_days", "frequency", "monetary_total", "monetary_avg")
#: Metrics that only exist for contacted arms (the holdout receives nothing to open or click).
CONTACT_METRICS: tuple[str, ...] = ("delivered", "opened", "clicked", "unsubscribed", "complained")
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def _experiment(experiment: Experiment | str | Path) -> Experiment:
    return experiment if isinstance(experiment, Experiment) else Experiment.load(experiment)


def read_table(path: str | Path, *, what: str = "data source") -> pd.DataFrame:
    """Read a CSV or Parquet table; a missing, empty or unreadable file raises :class:`SourceError`.

    ``path`` may also be a directory or a glob of files of one format (a partitioned table); they
    are read in sorted order and stacked (for tables that fit in memory: transactions, customers).

    >>> read_table("no/such/file.csv", what="events")
    Traceback (most recent call last):
    ...
    abkit.errors.SourceError: events source no/such/file.csv does not exist; check the path in experiment.toml
    """
    text = str(path)
    if any(ch in text for ch in "*?[") or Path(text).is_dir():
        from abkit.engines.duckdb import resolve_files

        _, files = resolve_files(text, what)
        return pd.concat([read_table(f, what=what) for f in files], ignore_index=True)
    path = Path(path)
    if not path.exists():
        raise SourceError(f"{what} source {path} does not exist; check the path in experiment.toml")
    if path.is_dir() or path.suffix.lower() not in (".csv", ".parquet"):
        raise SourceError(f"{what} source {path} is not a .csv or .parquet file")
    try:
        if path.suffix.lower() == ".parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise SourceError(f"{what} source {path} is empty; it must be a table with a header row") from None
    except Exception as exc:  # pyarrow / parser errors: the file is not a table abkit can read
        raise SourceError(
            f"{what} source {path} is not a readable table: {type(exc).__name__}: {exc}"
        ) from None
    if frame.empty:
        raise SourceError(f"{what} source {path} has no rows")
    return frame


# ----------------------------------------------------------------------------------------------
# init


def init_experiment(name: str, *, parent: str | Path = "experiments", force: bool = False) -> Path:
    """Create ``parent/NAME/`` with a commented ``experiment.toml`` to edit; return the folder.

    ``parent`` is created when missing (``abkit init`` works in an empty folder). The spec's salt is
    the name plus a random suffix, drawn once and written into the file (so it never depends on the
    template's default send date, and stays fixed from then on).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     folder = init_experiment("autumn-winback", parent=f"{d}/experiments")
    ...     print(folder.name, sorted(p.name for p in folder.iterdir()))
    autumn-winback ['.gitignore', 'experiment.toml']
    """
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name) or len(name) > MAX_NAME_LENGTH:
        shown = repr(name)
        if isinstance(name, str) and len(name) > 40:
            shown = f"{name[:40]!r}... ({len(name)} characters)"
        raise ParameterError(
            f"name={shown} is not a valid experiment name; use up to {MAX_NAME_LENGTH} letters, digits, "
            "'-', '_' and '.', starting with a letter or digit"
        )
    parent = Path(parent)
    if parent.exists() and not parent.is_dir():
        raise ParameterError(f"parent {parent} is a file, not a folder; pass another --parent")
    folder = parent / name
    parent.mkdir(parents=True, exist_ok=True)
    write_scaffold(folder, name, overwrite=force, salt=f"{name}-{secrets.token_hex(4)}")
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text(
            "# generated by abkit: data, assignment, send lists and reports stay out of git\n"
            "*\n!experiment.toml\n!.gitignore\n!decisions.jsonl\n",
            encoding="utf-8",
        )
    return folder


# ----------------------------------------------------------------------------------------------
# population and assignment


def _population(exp: Experiment) -> Any:
    from abkit.population import SegmentRules, build_population

    cols = exp.data.columns
    transactions = read_table(exp.data_path("transactions"), what="transactions")
    customers = None
    if exp.data.customers:
        customers = read_table(exp.data_path("customers"), what="customers")
    rules = exp.population
    return build_population(
        transactions,
        as_of=exp.dates.send_date,
        customers=customers,
        dormant_after=rules.dormant_after,
        lapsed_after=rules.lapsed_after,
        lapsed_flag_col=list(rules.lapsed_flags) or None,
        segment_rules=SegmentRules(**dict(rules.segment_rules)),
        exclude=list(rules.exclude) or None,
        id_col=cols.customer_id,
        date_col=cols.order_date,
        amount_col=cols.amount,
    )


def plan_experiment(experiment: Experiment | str | Path, *, baseline: float | None = None) -> pd.DataFrame:
    """Power table for the experiment: per segment (and all together), per comparison with the control.

    The pool is the eligible dormant population from the transactions; ``baseline`` is the control's
    expected rate of the primary metric (default: the spec's ``analysis.baseline``). Each row gives
    the arm sizes the weights imply and the smallest absolute and relative lift detectable at the
    spec's alpha and power (two-sided pooled z test, Bonferroni across the contacted variants).
    """
    from abkit.power import plan

    exp = _experiment(experiment)
    baseline = exp.analysis.baseline if baseline is None else baseline
    if baseline is None:
        raise SpecError(
            f"{exp.path}: analysis.baseline is not set; add the expected control rate of "
            f"{exp.metrics.primary!r} (e.g. baseline = 0.03) to [analysis] or pass baseline="
        )
    population = _population(exp)
    eligible = population.eligible
    pools: list[tuple[str, int]] = [("all", len(eligible))]
    if exp.strata and exp.strata in eligible.columns:
        counts = eligible[exp.strata].astype(str).value_counts().sort_index()
        pools += [(str(k), int(v)) for k, v in counts.items()]
    tables = []
    for segment, pool in pools:
        table = plan(
            pool,
            baseline,
            weights=exp.weights,
            control=exp.control,
            alpha=exp.analysis.alpha,
            power=exp.analysis.power,
        )
        table.insert(0, "segment", segment)
        tables.append(table)
    return pd.concat(tables, ignore_index=True)


@dataclass(frozen=True, repr=False)
class AssignmentRun(Displayable):
    """What ``abkit assign`` did: counts per stratum and variant, exclusions, SRM check, files."""

    experiment: str
    counts: pd.DataFrame
    exclusions: pd.DataFrame
    srm: Any
    assignment_path: Path
    send_lists: pd.DataFrame

    def to_pandas(self) -> pd.DataFrame:
        return self.counts.copy()

    def _title(self) -> str:
        units = int(self.counts.drop(columns="segment").to_numpy().sum())
        return f"Assignment of {self.experiment}: {units:,} units"

    def _notes(self) -> list[str]:
        ex = self.exclusions
        if "unit" in ex.columns:
            ex = ex[ex["unit"] == "customers"]
        effect = ex["effect"].astype(str) if "effect" in ex.columns else pd.Series("", index=ex.index)
        kept = effect.str.contains(": kept", regex=False)  # kept and assigned (not "kept out of ...")
        left_out = ex[~kept & (ex["count"] > 0)]
        excluded = ", ".join(
            f"{_REASON_WORDS.get(r.reason, r.reason)}: {r.count:,}" for r in left_out.itertuples()
        )
        notes = [
            f"saved to {self.assignment_path}",
            f"send lists: {', '.join(str(p) for p in self.send_lists['path'])}",
            f"excluded before assignment (never assigned, never sent): {excluded or 'none'}",
        ]
        for r in ex[kept & (ex["count"] > 0)].itertuples():
            notes.append(f"kept and assigned: {r.count:,} {r.effect}")
        notes.append(f"sample ratio check: {self.srm!r}")
        return notes

    def __repr__(self) -> str:
        return str(self)


#: How the assignment summary names the population's exclusion reasons.
_REASON_WORDS = {
    "not_in_customers_table": "not in the customers table (opt-out status unknown)",
    "customers_without_transactions": "in the customers table without a purchase",
    "customers_only_after_as_of": "first purchase after the send date",
    "customers_only_refunds": "only refunds",
}


def _check_strata_arms(exp: Experiment, assigned: pd.DataFrame) -> None:
    """Refuse an assignment in which some stratum has an empty arm (as ``abkit plan`` refuses it)."""
    by = [exp.strata] if exp.strata else []
    variants = list(exp.variant_names)
    if by:
        table = assigned.groupby([*by, "variant"], observed=True).size().unstack("variant", fill_value=0)
    else:
        table = assigned["variant"].value_counts().to_frame().T
    table = table.reindex(columns=variants, fill_value=0)
    total = sum(exp.weights.values())
    for key, row in table.iterrows():
        empty = [v for v in variants if row[v] == 0]
        if not empty:
            continue
        n = int(row.sum())
        arm = empty[0]
        share = exp.weights[arm] / total
        where = f"stratum {exp.strata}={key!r}" if by else "the population"
        raise SpecError(
            f"{exp.path}: {where} has {n:,} eligible customer(s) and gets no {arm!r} customer at "
            f"weight share {share:.1%}; raise the weight of {arm!r} to at least {1 / n:.1%} of the total, "
            "or merge small segments (abkit plan shows the arm sizes); nothing was written"
        )


def _customers_for_suppression(exp: Experiment) -> pd.DataFrame | None:
    if not exp.data.customers:
        return None
    return read_table(exp.data_path("customers"), what="customers")


def assign_experiment(experiment: Experiment | str | Path, *, force: bool = False) -> AssignmentRun:
    """Build the dormant population, assign it once (block design within strata), save it, export send lists.

    All or nothing, under the experiment's lock: every target (the assignment, its metadata and
    each send list) is checked first, and an existing one is refused unless ``force=True``; a
    stratum left with an empty arm is refused; everything is written to hidden staging folders and
    only then published together (previous files are restored if publishing fails), so a failure
    (a full disk, a refused file) leaves the previous files as they were. Customers absent from
    the customers table (opt-out status unknown) are excluded before the split, and the send lists
    are checked against the customers table: no suppressed customer is ever exported.
    """
    exp = _experiment(experiment)
    with experiment_locked(exp):
        return _assign_experiment(exp, force=force)


def _assign_experiment(exp: Experiment, *, force: bool) -> AssignmentRun:
    id_col = exp.data.columns.customer_id
    contacted = list(exp.contacted_variants)
    target = exp.data_path("assignment")
    meta = target.with_name(f"{target.name}.meta.json")
    lists = send_list_paths(exp.send_lists_dir, contacted)
    if not force:
        existing = [str(p) for p in (target, meta, *lists.values()) if p.exists()]
        if existing:
            raise FileExistsAbkitError(
                f"{exp.name} is already assigned: {', '.join(existing)} exist(s); an assignment is "
                "never replaced silently: pass force=True (--force) to replace the assignment and "
                "its send lists together"
            )
    population = _population(exp)
    units = population.eligible
    if units.empty:
        raise DataError(f"{exp.path}: no eligible dormant customers at {exp.dates.send_date}; check the data")
    # programme holdout and contact pressure (abkit.contacts) come off before the wave's own split
    rules = apply_contact_rules(exp, units)
    units, exclusions = rules.units, population.exclusions
    if len(rules.exclusions):
        exclusions = pd.concat([exclusions, rules.exclusions], ignore_index=True)
    keeps_holdout = exp.programme is not None and exp.programme.holdout > 0
    assigned = assign(units, variants=exp.weights, salt=exp.salt, strata=exp.strata, id_col=id_col)
    _check_strata_arms(exp, assigned)
    customers = _customers_for_suppression(exp)

    stages = [make_temp_dir(target.parent, f"abkit-assign-{exp.name}")]
    try:
        if exp.send_lists_dir.resolve() != target.parent.resolve():
            stages.append(make_temp_dir(exp.send_lists_dir, f"abkit-assign-{exp.name}"))
        save_assignment(
            assigned,
            stages[0] / target.name,
            salt=exp.salt,
            method="block",
            weights=exp.weights,
            strata=exp.strata,
            id_col=id_col,
            overwrite=True,
        )
        exported = export_send_lists(
            assigned,
            stages[-1],
            contact_variants=contacted,
            id_col=id_col,
            segment_col=exp.strata,
            overwrite=True,
            customers=customers,
            suppress=list(exp.population.exclude) if customers is not None else (),
        )
        # send lists first, then the programme-holdout record, the metadata (with the checksum) last
        staged = {stages[-1] / p.name: p for p in lists.values()}
        if keeps_holdout:
            holdout_path = programme_holdout_path(exp)
            write_frame(rules.holdout, stages[0] / holdout_path.name)
            staged[stages[0] / holdout_path.name] = holdout_path
        staged[stages[0] / target.name] = target
        staged[stages[0] / meta.name] = meta
        publish(staged)
    finally:
        for stage in stages:
            shutil.rmtree(stage, ignore_errors=True)
    exported["path"] = [str(lists[v]) for v in exported["variant"]]

    by = [exp.strata] if exp.strata else []
    counts = (
        assigned.groupby([*by, "variant"], observed=True).size().unstack("variant", fill_value=0)
        if by
        else assigned["variant"].value_counts().to_frame().T
    )
    counts = counts.reindex(columns=list(exp.variant_names), fill_value=0).reset_index(drop=not by)
    if not by:
        counts.insert(0, "segment", "all")
    elif exp.strata != "segment":
        counts = counts.rename(columns={exp.strata: "segment"})
    observed = assigned["variant"].value_counts().reindex(list(exp.variant_names), fill_value=0)
    return AssignmentRun(
        experiment=exp.name,
        counts=counts,
        exclusions=exclusions,
        srm=srm(observed.to_dict(), exp.weights),
        assignment_path=target,
        send_lists=exported,
    )


# ----------------------------------------------------------------------------------------------
# an assignment made by another tool


@dataclass(frozen=True, repr=False)
class ImportRun(Displayable):
    """What ``abkit import`` recorded: a split made outside abkit, its source file, counts and split check."""

    experiment: str
    source: str
    sha256: str
    imported_at: str
    id_col: str | None
    counts: tuple[tuple[str, int], ...]
    srm: SRMResult
    assignment_path: Path
    shown_path: str

    @property
    def rows(self) -> int:
        """Customers in the imported assignment."""
        return sum(n for _, n in self.counts)

    def to_pandas(self) -> pd.DataFrame:
        total = self.rows
        return pd.DataFrame(
            {
                "variant": [v for v, _ in self.counts],
                "customers": [n for _, n in self.counts],
                "share": [n / total for _, n in self.counts],
            }
        )

    def _title(self) -> str:
        return f"Assignment of {self.experiment} imported from {self.source} (made outside abkit)"

    def _notes(self) -> list[str]:
        return [str(self)]

    def __str__(self) -> str:
        total = self.rows
        arms = ", ".join(f"{v} {n:,} ({n / total:.1%})" for v, n in self.counts)
        ids = f"ids from column {self.id_col!r}" if self.id_col else "its row numbers are the ids"
        check = (
            f"matches the spec's weights (p = {format_number(self.srm.p_value, 2)})"
            if self.srm.ok
            else f"{self.srm.status.upper()} against the spec's weights "
            f"(p = {format_number(self.srm.p_value, 2)}): check [variants] weights and the export"
            if self.srm.ok is False
            else f"{self.srm.status} for a split check"
        )
        return (
            f"Imported the split of {total:,} customers from {self.source}, made outside abkit "
            f"(SHA-256 {self.sha256[:12]}...): {arms}; {ids}. Split check: {check}. "
            f"Saved as {self.shown_path}."
        )

    def __repr__(self) -> str:
        return (
            f"ImportRun(experiment={self.experiment!r}, source={self.source!r}, rows={self.rows}, "
            f"srm={self.srm.status!r})"
        )


def import_assignment(
    experiment: Experiment | str | Path,
    file: str | Path,
    *,
    id_col: str | None = None,
    variant_col: str,
    segment_col: str | None = None,
    mapping: dict[str, str] | None = None,
    force: bool = False,
) -> ImportRun:
    """Record a split made by another tool (an e-mail or CRM tool's export) as the experiment's assignment.

    ``file`` (CSV or Parquet) has one row per customer; ``variant_col`` holds the arm the tool chose,
    renamed to the spec's variant names by ``mapping`` (``{"No E-Mail": "holdout"}``); ``segment_col``
    optionally gives each customer's segment (the report's per-segment rows). ``id_col`` holds the
    customer id, kept as text; it may be None only when ``file`` is also the spec's ``[data]
    outcomes``: the row number (``"1"``, ``"2"``, ... see :func:`abkit.external.row_ids`) is then the
    id in both. Every variant of the spec must have rows and no other arm may; ids are unique. The
    assignment is saved (``[data] assignment``) with ``method = "external"``, no salt, and a
    ``source`` record: the file's name and SHA-256, the columns, the mapping and the import time.
    An existing assignment is replaced only with ``force=True``. The split is checked against the
    spec's weights (sample ratio), as the report does again.

    >>> import tempfile, pathlib, pandas as pd
    >>> from abkit.experiment import scaffold
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "experiment.toml").write_text(scaffold("imported", send_date="2026-06-01"))
    >>> arms = ["holdout"] * 20 + ["coupon", "personal"] * 40
    >>> export = pd.DataFrame({"id": [f"C{i:03d}" for i in range(100)], "arm": arms})
    >>> export.to_csv(d / "split.csv", index=False)
    >>> run = import_assignment(d, d / "split.csv", id_col="id", variant_col="arm")
    >>> run.rows, run.srm.ok
    (100, True)
    """
    exp = _experiment(experiment)
    path = Path(file)
    if id_col is None:
        outcomes = exp.data.outcomes
        if outcomes is None or path.resolve() != exp.data_path("outcomes").resolve():
            raise ParameterError(
                f"--id-col is missing: {path.name} has no customer id column named, and it is not the "
                "experiment's data.outcomes (only then can the row number serve as the id in both); "
                "pass --id-col COLUMN"
            )
    target = exp.data_path("assignment")
    shown = str(target.relative_to(exp.folder)) if target.is_relative_to(exp.folder) else target.name
    if not force and target.exists():
        raise FileExistsAbkitError(
            f"{exp.name} already has an assignment ({shown}); an assignment is never replaced "
            "silently: pass --force (force=True) to replace it with the imported one"
        )
    frame = read_table(path, what="assignment file")
    id_name = exp.data.columns.customer_id
    assigned = external.external_assignment(
        frame,
        variants=exp.variant_names,
        variant_col=variant_col,
        id_col=id_col,
        segment_col=segment_col,
        mapping=mapping,
        id_name=id_name,
        what=f"assignment file {path.name}",
    )
    digest = external.file_sha256(path)
    imported_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    source = {
        "file": path.name,
        "sha256": digest,
        "imported_at": imported_at,
        "rows": len(assigned),
        "ids": f"column {id_col}" if id_col else external.ROW_NUMBER_IDS,
        "id_col": id_col,
        "variant_col": variant_col,
        "segment_col": segment_col,
        "map": dict(mapping or {}),
    }
    save_assignment(
        assigned,
        target,
        salt=None,
        method=EXTERNAL,
        weights=exp.weights,
        strata="segment" if segment_col else None,
        id_col=id_name,
        overwrite=force,
        source=source,
    )
    counts = assigned["variant"].value_counts().reindex(list(exp.variant_names), fill_value=0)
    return ImportRun(
        experiment=exp.name,
        source=path.name,
        sha256=digest,
        imported_at=imported_at,
        id_col=id_col,
        counts=tuple((str(v), int(n)) for v, n in counts.items()),
        srm=srm(counts.to_dict(), exp.weights),
        assignment_path=target,
        shown_path=shown,
    )


# ----------------------------------------------------------------------------------------------
# analysis (what the report shows)


@dataclass(frozen=True, repr=False)
class Readout(Displayable):
    """Everything the report shows for one experiment as of one date."""

    experiment: Experiment
    as_of: dt.date
    method: str
    status: str
    assignment: pd.DataFrame
    srm_assignment: Any
    srm_delivery: Any
    balance: pd.DataFrame
    outcomes: pd.DataFrame
    diagnostics: pd.DataFrame
    funnel: pd.DataFrame
    evaluation: Any
    engagement: Any
    economics: pd.DataFrame
    decisions: pd.DataFrame
    notes: tuple[str, ...] = field(default=())

    def to_pandas(self) -> pd.DataFrame:
        return self.evaluation.to_pandas()

    def _title(self) -> str:
        return f"{self.experiment.name} as of {self.as_of.isoformat()} ({self.status})"

    def _notes(self) -> list[str]:
        return list(self.notes)

    def __repr__(self) -> str:
        return f"Readout({self.experiment.name!r}, as_of={self.as_of.isoformat()}, method={self.method!r})"


def external_split_note(metadata: dict[str, Any]) -> str:
    """The sentence a report shows for an assignment made outside abkit (``method = "external"``).

    >>> source = {"file": "campaign.csv", "sha256": "ab" * 32, "imported_at": "2026-06-20T07:00:00+00:00"}
    >>> external_split_note({"method": "external", "source": source})[:72]
    'The split was made outside abkit, by the tool that exported campaign.csv'
    """
    source = metadata.get("source") or {}
    day = str(source.get("imported_at", ""))[:10] or "at an unknown date"
    file = source.get("file", "an unknown file")
    return (
        f"The split was made outside abkit, by the tool that exported {file} "
        f"(SHA-256 {str(source.get('sha256', ''))[:12]}..., imported {day}); abkit did not randomise it "
        "and checks it against the spec's weights."
    )


def _planned_pair_total(exp: Experiment, n_assigned: int) -> float:
    """Units of the control and the largest variant together: the default sequential tuning N*."""
    weights = exp.weights
    total = sum(weights.values())
    largest = max(w for name, w in weights.items() if name != exp.control)
    return float(n_assigned * (weights[exp.control] + largest) / total)


def analyse(
    experiment: Experiment | str | Path,
    *,
    as_of: str | dt.date | None = None,
    method: str | None = None,
    max_data_lag_days: int = 2,
) -> Readout:
    """Evaluate an experiment as of a date: data health, funnel, results, economics and decisions.

    Only events before the end of ``as_of`` (and inside the attribution window) count. If the
    events data ends more than ``max_data_lag_days`` before that point, the data is stale and a
    :class:`SourceError` says so rather than reporting old numbers as today's.
    """
    from abkit.assignment import load_assignment
    from abkit.checks import balance, srm
    from abkit.evaluation import economics, evaluate
    from abkit.sources import economics_from_aggregates, event_source, funnel

    exp = _experiment(experiment)
    day = check_date("as_of", as_of)
    method = method or exp.analysis.method
    if method not in ("frequentist", "bayesian"):
        raise ParameterError(f"method={method!r} is not known; use 'frequentist' or 'bayesian'")
    send = exp.dates.send_date
    if day < send:
        raise ParameterError(
            f"as_of={day.isoformat()} is before the send date {send.isoformat()}; nothing to report"
        )
    loaded = load_assignment(exp.data_path("assignment"))
    assigned, meta = loaded.frame, loaded.metadata
    if meta.get("method") != EXTERNAL and meta.get("salt") != exp.salt:
        raise SpecError(
            f"{exp.path}: salt {exp.salt!r} differs from the salt {meta.get('salt')!r} the "
            "assignment was made with; restore the original salt"
        )
    exp.check_assignment(assigned)
    if exp.strata and exp.strata != "segment" and exp.strata in assigned.columns:
        assigned = assigned.rename(columns={exp.strata: "segment"})
    variants = list(exp.variant_names)
    observed = assigned["variant"].value_counts().reindex(variants, fill_value=0)
    srm_assignment = srm(observed.to_dict(), exp.weights)

    # the events are read by the spec's engine (abkit.sources): per-customer outcomes with pandas,
    # aggregated rows (unit counts in n_col) from DuckDB, PostgreSQL or Spark
    source = event_source(exp)
    window_end = pd.Timestamp(exp.dates.window_end)
    cutoff = min(window_end, pd.Timestamp(day) + pd.Timedelta(days=1))
    window_days = (cutoff - pd.Timestamp(send)) / pd.Timedelta(days=1)
    last_event = source.last_event()
    if pd.isna(last_event) or last_event < cutoff - pd.Timedelta(days=max_data_lag_days):
        raise SourceError(
            f"events source {source.description} ends at {last_event}, "
            f"more than {max_data_lag_days} days "
            f"before {cutoff:%Y-%m-%d}: the data is stale; refresh it or report an earlier --as-of"
        )
    status = (
        "attribution window closed"
        if cutoff >= window_end
        else f"running: day {(day - send).days + 1} of a {exp.dates.window_days}-day window"
    )
    frame, diagnostics, n_col = source.outcome_data(
        assigned, window_days=window_days, metrics=exp.metrics.all
    )

    contacted = list(exp.contacted_variants)
    delivered = (
        frame.loc[frame["variant"].isin(contacted)].groupby("variant", observed=True)["delivered"].sum()
    )
    srm_delivery = srm(
        delivered.reindex(contacted, fill_value=0).to_dict(), {v: exp.weights[v] for v in contacted}
    )
    covariates = [c for c in BALANCE_COVARIATES if c in assigned.columns]
    balance_table = balance(assigned, covariates, control=exp.control) if covariates else pd.DataFrame()

    analysis = exp.analysis
    segment_col = "segment" if "segment" in frame.columns else None
    # Repurchase and revenue compare every variant with the holdout; so do the guardrails (the extra
    # unsubscribes and complaints the campaign causes, tolerated up to analysis.guardrail_margin).
    guardrails = list(exp.metrics.guardrails)
    outcome_metrics = [m for m in exp.metrics.all if m not in CONTACT_METRICS or m in guardrails]
    common: dict[str, Any] = {
        "variant_col": "variant",
        "segment_col": segment_col,
        "method": method,
        "alpha": analysis.alpha,
        "n_col": n_col,
    }
    if method == "bayesian":
        common["prior"] = (analysis.prior.alpha, analysis.prior.beta)
    if method == "frequentist" and analysis.sequential:
        # always-valid results: safe to read every day (the report says so)
        common["sequential"] = True
        common["sequential_method"] = analysis.sequential_method
        if analysis.sequential_method == "msprt":
            common["tau"] = analysis.tau
        else:
            common["n_star"] = analysis.n_star or _planned_pair_total(exp, len(assigned))
    if method == "frequentist" and analysis.covariates:
        if n_col is not None:
            raise SpecError(
                f"{exp.path}: analysis.covariates (CUPED) needs per-customer outcomes, but the "
                f"{source.engine} engine returns aggregates; remove analysis.covariates or use "
                "engine = 'pandas'"
            )
        common["covariates"] = list(analysis.covariates)
    evaluation = evaluate(
        frame,
        metrics=[m for m in outcome_metrics if m not in guardrails],
        guardrails=guardrails or None,
        control=exp.control,
        correction=None if analysis.correction == "none" else analysis.correction,
        **common,
    )
    # Opens, clicks, unsubscribes and complaints exist only for contacted arms: compare the contacted
    # variants with the first contacted one (the holdout received nothing to open).
    engagement_metrics = [m for m in exp.metrics.all if m in CONTACT_METRICS and m not in guardrails]
    engagement = None
    if len(contacted) >= 2 and engagement_metrics:
        engagement = evaluate(
            frame.loc[frame["variant"].isin(contacted)],
            metrics=engagement_metrics,
            control=contacted[0],
            correction=None if analysis.correction == "none" else analysis.correction,
            **common,
        )
    costs = {v.name: {"contact": v.contact_cost, "offer": v.offer_cost} for v in exp.variants}
    economics_table = (
        (economics if n_col is None else partial(economics_from_aggregates, n_col=n_col))(
            frame,
            costs=costs,
            margin=analysis.gross_margin,
            control=exp.control,
            segment_col=segment_col,
            alpha=analysis.alpha,
            revenue_col=exp.decision.revenue,
            redeemed_col=exp.decision.redeemed,
        ).to_pandas()
        if analysis.gross_margin is not None
        else pd.DataFrame()
    )
    # the decision: on incremental profit when costs and a margin are declared (or asked for), on the
    # primary metric otherwise; a sample-ratio alert (split or delivery) makes every segment "check the data"
    objective = exp.objective
    money: dict[str, Any] = {}
    if objective == "profit":
        money = {
            "costs": costs,
            "margin": analysis.gross_margin,
            "revenue_col": exp.decision.revenue,
            "redeemed_col": exp.decision.redeemed,
        }
    decisions = evaluation.decision(
        metric=exp.metrics.primary,
        mde=analysis.mde,
        relative=True,
        power=analysis.power,
        guardrail_margin=analysis.guardrail_margin,
        objective=objective,
        srm=[srm_assignment, srm_delivery],
        **money,
    ).to_pandas()
    not_counted = int(np.sum(diagnostics.loc[diagnostics["reason"] != "counted", "rows"]))
    notes = (
        f"Attribution window [{send.isoformat()}, {exp.dates.window_end.isoformat()}); events counted up to "
        f"{(cutoff - pd.Timedelta(seconds=1)):%Y-%m-%d}.",
        f"Every assigned customer counts (intention to treat); {len(assigned):,} customers, "
        f"{not_counted:,} event rows not counted.",
    )
    if meta.get("method") == EXTERNAL:
        notes = (external_split_note(meta), *notes)
    if method == "bayesian" and (analysis.sequential or analysis.covariates):
        notes += (
            "The experiment's sequential monitoring and CUPED settings apply to the frequentist analysis "
            "only; this Bayesian reading uses neither.",
        )
    return Readout(
        experiment=exp,
        as_of=day,
        method=method,
        status=status,
        assignment=assigned,
        srm_assignment=srm_assignment,
        srm_delivery=srm_delivery,
        balance=balance_table,
        outcomes=frame,
        diagnostics=diagnostics,
        funnel=funnel(frame, variants, n_col=n_col),
        evaluation=evaluation,
        engagement=engagement,
        economics=economics_table,
        decisions=decisions,
        notes=notes,
    )


# ----------------------------------------------------------------------------------------------
# demo


#: The marker file ``abkit demo`` writes into a folder it creates; it writes only into such folders.
DEMO_MARKER = ".abkit-demo"


def _demo_folder(folder: str | Path) -> Path:
    """Create the demo folder (with its marker) or check that an existing one is a demo folder."""
    folder = Path(folder)
    marker = folder / DEMO_MARKER
    if folder.exists() or folder.is_symlink():
        if not folder.is_dir():
            raise ParameterError(
                f"demo folder {folder} is a file, not a folder; pass a new folder, "
                "e.g. experiments/winback-demo"
            )
        if not marker.is_file():
            if any(folder.iterdir()):
                raise ParameterError(
                    f"{folder} is not a demo folder (it has no {DEMO_MARKER} marker): abkit demo writes "
                    "synthetic data, an assignment and send lists only into a folder it created; "
                    "pass a new folder"
                )
            write_text(marker, _DEMO_MARKER_TEXT)
        return folder
    folder.mkdir(parents=True)
    write_text(marker, _DEMO_MARKER_TEXT)
    return folder


_DEMO_MARKER_TEXT = (
    "This folder was made by `abkit demo`: its data, assignment, send lists and reports are synthetic\n"
    "and `abkit demo` may rewrite them. Real experiments never hold this file.\n"
)


def _load_demo(folder: str | Path) -> Experiment:
    folder = _demo_folder(folder)
    spec = folder / "experiment.toml"
    if not spec.exists():
        write_text(spec, demo_spec_text())
    return Experiment.load(folder)


def prepare_demo(
    folder: str | Path = "experiments/winback-demo",
    *,
    n_customers: int = 200_000,
    seed: int = 7,
    force: bool = False,
    say: Callable[[str], None] | None = None,
) -> Experiment:
    """Write the demo experiment into ``folder``: synthetic history, the assignment, and the events.

    ``folder`` must be new (or empty) or a folder an earlier demo made (it holds the marker file
    ``.abkit-demo``): a real experiment folder, or a file, raises :class:`ParameterError` and
    nothing is touched. Uses the folder's ``experiment.toml`` (the demo spec is written when the
    folder has none). The history is drawn with :func:`abkit.datasets.winback_campaign`, the
    dormant population is assigned by :func:`assign_experiment` with the spec's salt, and what
    happened after the send is simulated for that very assignment with
    :func:`abkit.datasets.simulate_events`. Existing data is reused unless ``force=True``.

    Each step is logged at INFO on the ``abkit.workflow`` logger (``abkit demo`` shows them);
    ``say``, when given, receives each line instead (``"abkit demo: ..."``), as in earlier versions.
    """
    exp = _load_demo(folder)
    with experiment_locked(exp):
        _prepare_demo(exp, n_customers=n_customers, seed=seed, force=force, say=_demo_say(say))
    return exp


def _demo_say(say: Callable[[str], None] | None) -> Callable[[str], None]:
    """Where the demo's progress lines go: the logger at INFO, or an earlier caller's ``say``."""
    if say is None:
        return log.info
    return lambda message: say(f"abkit demo: {message}")


def _prepare_demo(
    exp: Experiment, *, n_customers: int, seed: int, force: bool, say: Callable[[str], None]
) -> None:
    paths = {k: exp.data_path(k) for k in ("transactions", "customers", "events", "assignment")}
    if force or not paths["transactions"].exists():
        say(f"generating {n_customers:,} synthetic customers (seed {seed}) ...")
        data = winback_campaign(
            n_customers, seed=seed, send_date=exp.dates.send_date, window_days=exp.dates.window_days
        )
        for key, frame in (("transactions", data.transactions), ("customers", data.customers)):
            write_frame(frame, paths[key])
        force = True
    if force or not paths["assignment"].exists() or not paths["events"].exists():
        say("building the dormant population and assigning it ...")
        run = assign_experiment(exp, force=True)
        say(run._title())
        id_col = exp.data.columns.customer_id
        assigned = load_assignment(paths["assignment"]).frame
        customers = read_table(paths["customers"], what="customers")
        assigned = assigned.merge(customers[[id_col, "hard_bounced"]], how="left", on=id_col)
        say("simulating what happened after the send ...")
        events = simulate_events(
            assigned,
            seed=seed,
            send_date=exp.dates.send_date,
            window_days=exp.dates.window_days,
            holdout=list(exp.holdouts),
        )
        write_frame(events, paths["events"])


def run_demo(
    folder: str | Path = "experiments/winback-demo",
    *,
    n_customers: int = 200_000,
    seed: int = 7,
    force: bool = False,
    as_of: str | dt.date | None = None,
    say: Callable[[str], None] | None = None,
) -> Any:
    """Generate the synthetic demo experiment into ``folder`` (see :func:`prepare_demo`), plan and report it.

    The report is dated ``as_of`` (default: the last day of the attribution window) and replaced on
    every demo run; returns the :class:`~abkit.report.ReportRun` with the HTML path. Like
    :func:`prepare_demo` it only ever writes into a new folder or one an earlier demo made, and
    logs its steps (and the plan) at INFO on the ``abkit.workflow`` logger unless ``say`` is given.
    """
    from abkit.report import run_report

    exp = _load_demo(folder)
    say = _demo_say(say)
    with experiment_locked(exp):
        _prepare_demo(exp, n_customers=n_customers, seed=seed, force=force, say=say)
        day = check_date("as_of", as_of) if as_of else exp.dates.window_end - dt.timedelta(days=1)
        table = plan_experiment(exp)
        shown = table[["segment", "arm", "n", "comparison", "mde", "relative_mde"]]
        plan = shown.to_string(index=False, float_format=lambda v: f"{v:.4g}")
        say(f"plan for {exp.name} (what each comparison can detect):\n{plan}")
        say(f"running the report as of {day.isoformat()} ...")
        return run_report(folder, as_of=day, force=True)


def demo_spec_text() -> str:
    """The demo experiment's ``experiment.toml`` (shipped with abkit; the repository links to it).

    >>> Experiment.from_toml(demo_spec_text()).name
    'winback-demo'
    """
    from importlib import resources

    return (resources.files("abkit") / "data" / "winback-demo.toml").read_text(encoding="utf-8")
