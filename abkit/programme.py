"""Act: decisions on record, where every experiment stands, learnings across waves and the programme's effect.

The experiments of a win-back programme live side by side under one root folder (``experiments/``
by default). This module reads that root:

* :func:`decide` appends a decision (who, when, what, and the evidence of the latest report) to
  ``DIR/decisions.jsonl``; :func:`read_decisions` reads them back.
* :func:`status` gives one line per experiment folder: its phase, latest report and decision.
* :func:`init_from` starts the next wave from the last one (baselines, variants, new salt).
* :func:`learnings` pools the lift of each variant family and segment across waves by
  random-effects meta-analysis (:mod:`abkit.meta`).
* :func:`programme_effect` measures the cumulative effect of the whole programme against its
  holdout (:mod:`abkit.contacts`).

Reports are read through their machine-readable summary ``reports/NAME-DATE/NAME-DATE.json``,
schema ``"abkit.report/1"`` as :func:`abkit.report_view.summary_json` writes it (documented in
:mod:`abkit.report_view`): :func:`report_segments` reads its ``segments`` (the recommendation per
segment) and its ``comparisons`` (every variant's primary lift per segment, for the learnings) by
their exact field names, and names the field a summary lacks. Reports of earlier versions
(``reports/NAME-DATE.html`` without a summary) are found and dated, but carry no numbers.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import getpass
import hashlib
import json
import math
import os
import re
import secrets
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from abkit import __version__
from abkit._display import Displayable
from abkit._io import atomic_path, write_text
from abkit._validate import check_date
from abkit.assignment import load_assignment
from abkit.contacts import experiment_folders, programme_holdout, read_programme_holdout
from abkit.errors import AbkitError, DataError, ParameterError, SourceError
from abkit.experiment import SPEC_FILE, Experiment, Targeting
from abkit.meta import META_METHODS, random_effects
from abkit.plan_file import read_plan
from abkit.workflow import Readout, analyse, init_experiment, read_table

try:  # POSIX advisory locks; elsewhere the atomic rename alone protects the file
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "ACTIONS",
    "COMPARISON_COLUMNS",
    "DECISIONS_FILE",
    "LIFT_COLUMNS",
    "SEGMENT_COLUMNS",
    "Learnings",
    "ProgrammeEffect",
    "ReportFile",
    "Status",
    "decide",
    "follows_recommendation",
    "init_from",
    "latest_report",
    "learnings",
    "lift_se",
    "pool_lifts",
    "programme_effect",
    "programme_holdout",
    "read_decisions",
    "report_segments",
    "status",
    "wave_lifts",
    "wave_lifts_from_analyses",
    "wave_lifts_from_reports",
]

DECISIONS_FILE = "decisions.jsonl"
LOCK_FILE = ".abkit.lock"
REPORT_SCHEMA = "abkit.report/1"
PROGRAMME_SCHEMA = "abkit.programme/1"
#: Actions a manager records; each is checked against the report's recommendation.
ACTIONS: tuple[str, ...] = ("ship", "keep-holdout", "stop")
#: Columns of a per-wave lift table (the input of :func:`pool_lifts`).
LIFT_COLUMNS: tuple[str, ...] = (
    "family", "segment", "experiment", "send_date", "variant", "metric", "kind", "lift", "ci_low", "ci_high",
    "se",
)  # fmt: skip
_STEM = re.compile(r"^(?P<name>.+)-(?P<date>\d{4}-\d{2}-\d{2})$")


# ----------------------------------------------------------------------------------------------
# reports and their machine-readable summary


@dataclass(frozen=True)
class ReportFile:
    """The latest report of an experiment folder: its date, file and parsed summary (if any)."""

    date: dt.date
    path: Path
    summary: Mapping[str, Any] | None = None


def latest_report(folder: str | Path) -> ReportFile | None:
    """The most recent report in ``folder/reports`` (dated folder with a JSON summary, or a flat HTML).

    >>> latest_report("no/such/folder") is None
    True
    """
    reports = Path(folder) / "reports"
    if not reports.is_dir():
        return None
    found: list[tuple[dt.date, int, Path]] = []
    for entry in reports.iterdir():
        stem = entry.name if entry.is_dir() else entry.stem
        match = _STEM.match(stem)
        if not match or entry.name.startswith("."):
            continue
        try:
            day = dt.date.fromisoformat(match["date"])
        except ValueError:
            continue
        if entry.is_dir():
            files = [entry / f"{stem}.json", entry / f"{stem}.html"]
            path = next((f for f in files if f.is_file()), None)
            if path is not None:
                found.append((day, 1, path))
        elif entry.suffix == ".html" and not entry.name.endswith(".failed.html"):
            found.append((day, 0, entry))
    if not found:
        return None
    day, _, path = max(found)
    summary = None
    if path.suffix == ".json":
        try:
            summary = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DataError(f"report summary {path} is not valid JSON ({exc}); re-run the report") from None
        if not isinstance(summary, dict) or summary.get("schema") != REPORT_SCHEMA:
            raise DataError(f"report summary {path} does not declare schema = {REPORT_SCHEMA!r}")
    return ReportFile(date=day, path=path, summary=summary)


#: Columns of :func:`report_segments`: one row per segment of a report summary.
SEGMENT_COLUMNS: tuple[str, ...] = (
    "segment", "decision", "variant", "shown_variant", "objective", "confidence", "lift", "ci_low",
    "ci_high", "rel_lift", "rel_ci_low", "rel_ci_high", "profit", "profit_ci_low", "profit_ci_high",
)  # fmt: skip
#: Columns of :func:`report_segments` with ``comparisons=True``: every variant in every segment.
COMPARISON_COLUMNS: tuple[str, ...] = (
    "segment", "variant", "family", "control", "kind", "n_control", "n_variant", "control_value",
    "variant_value", "estimable", "lift", "ci_low", "ci_high", "rel_lift", "rel_ci_low", "rel_ci_high",
)  # fmt: skip
_LIFT_KEYS = {
    "lift": "abs", "ci_low": "abs_ci_low", "ci_high": "abs_ci_high",
    "rel_lift": "rel", "rel_ci_low": "rel_ci_low", "rel_ci_high": "rel_ci_high",
}  # fmt: skip


def _field(record: Any, key: str, where: str) -> Any:
    if not isinstance(record, Mapping) or key not in record:
        raise DataError(
            f"report summary: {where} has no {key!r}; it is not {REPORT_SCHEMA} as abkit {__version__} "
            "writes it: re-run the report"
        )
    return record[key]


def _number(value: Any, what: str) -> float:
    if value is None:
        return float("nan")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DataError(f"report summary: {what} is {value!r}, not a number or null; re-run the report")
    return float(value)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def report_segments(summary: Mapping[str, Any], *, comparisons: bool = False) -> pd.DataFrame:
    """The segment rows of a report summary (schema ``abkit.report/1``) as a flat table.

    Columns :data:`SEGMENT_COLUMNS` (``variant`` is the variant shipped, else null; ``shown_variant``
    the one the numbers describe), or with ``comparisons=True`` the summary's ``comparisons`` (every
    variant against the control per segment, :data:`COMPARISON_COLUMNS`; empty for a summary written
    before abkit added them). A summary missing a field raises :class:`DataError` naming it.

    >>> lift = {"abs": 0.02, "abs_ci_low": 0.01, "abs_ci_high": 0.03, "rel": None, "rel_ci_low": None,
    ...         "rel_ci_high": None, "adjusted": False}
    >>> s = {"schema": "abkit.report/1", "segments": [{"segment": "one_time", "decision": "ship",
    ...      "variant": "coupon", "shown_variant": "coupon", "objective": "primary", "confidence": None,
    ...      "primary_lift": lift, "profit": {"value": None, "ci_low": None, "ci_high": None}}]}
    >>> report_segments(s)[["segment", "variant", "lift", "ci_low", "ci_high"]].to_dict("records")
    [{'segment': 'one_time', 'variant': 'coupon', 'lift': 0.02, 'ci_low': 0.01, 'ci_high': 0.03}]
    """
    if not isinstance(summary, Mapping) or summary.get("schema") != REPORT_SCHEMA:
        raise DataError(f"report summary does not declare schema = {REPORT_SCHEMA!r}; re-run the report")
    key = "comparisons" if comparisons else "segments"
    records = summary.get(key, []) if comparisons else _field(summary, key, "the summary")
    if not isinstance(records, list):
        raise DataError(f"report summary: {key!r} is not a list; re-run the report")
    rows = []
    for i, record in enumerate(records, 1):
        where = f"{key} row {i}"
        lift = _field(record, "primary_lift", where)
        row: dict[str, Any] = {"segment": str(_field(record, "segment", where))}
        if comparisons:
            row["variant"] = str(_field(record, "variant", where))
            row["family"] = str(record.get("family") or row["variant"])
            row["control"] = _text(_field(record, "control", where))
            row["kind"] = str(_field(record, "kind", where))
            for k in ("n_control", "n_variant", "control_value", "variant_value"):
                row[k] = _number(_field(record, k, where), f"{where} {k}")
            row["estimable"] = bool(_field(record, "estimable", where))
        else:
            for k in ("decision", "variant", "shown_variant", "objective", "confidence"):
                row[k] = _text(_field(record, k, where))
        for col, k in _LIFT_KEYS.items():
            row[col] = _number(_field(lift, k, f"{where} primary_lift"), f"{where} primary_lift.{k}")
        if not comparisons:
            profit = _field(record, "profit", where)
            for col, k in (("profit", "value"), ("profit_ci_low", "ci_low"), ("profit_ci_high", "ci_high")):
                row[col] = _number(_field(profit, k, f"{where} profit"), f"{where} profit.{k}")
        rows.append(row)
    return pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS if comparisons else SEGMENT_COLUMNS))


def lift_se(
    kind: str,
    control_value: float,
    variant_value: float,
    n_control: float,
    n_variant: float,
    ci_low: float,
    ci_high: float,
    alpha: float = 0.05,
) -> float:
    """Standard error of an absolute lift, for pooling waves.

    A difference of proportions: the unpooled (Wald) error from the rates and counts, whatever
    interval the report showed. A mean: recovered from the interval, ``(high - low) / (2 z)`` (an
    always-valid interval is wider than a fixed-horizon one, so the error is then conservative).

    >>> round(lift_se("proportion", 0.04, 0.06, 2000, 3000, 0.0, 0.0), 5)
    0.00616
    >>> round(lift_se("mean", 1.0, 1.5, 100, 100, 0.1, 0.9), 4)
    0.2041
    """
    if kind == "proportion" and n_control > 0 and n_variant > 0:
        p0, p1 = control_value, variant_value
        return math.sqrt(p1 * (1 - p1) / n_variant + p0 * (1 - p0) / n_control)
    return (ci_high - ci_low) / (2 * _z(alpha))


# ----------------------------------------------------------------------------------------------
# learnings across waves


def _z(alpha: float) -> float:
    return float(stats.norm.ppf(1 - alpha / 2))


def wave_lifts(readout: Readout, *, metric: str | None = None) -> pd.DataFrame:
    """Per-wave lifts (columns :data:`LIFT_COLUMNS`) from one experiment's :func:`abkit.workflow.analyse`.

    Every contacted variant against the control, per segment, on the primary metric (or ``metric``).
    The standard error of a difference of proportions is the unpooled (Wald) one from the rates and
    counts; for a mean it is recovered from the interval's width.
    """
    exp = readout.experiment
    metric = metric or exp.metrics.primary
    table = readout.evaluation.to_pandas()
    table = table.loc[(table["metric"] == metric) & table["estimable"].astype(bool)]
    alpha = exp.analysis.alpha
    rows = []
    for r in table.itertuples(index=False):
        se = lift_se(
            str(r.kind), float(r.control_value), float(r.variant_value), float(r.n_control),
            float(r.n_variant), float(r.ci_low), float(r.ci_high), alpha,
        )  # fmt: skip
        rows.append(
            {
                "family": exp.variant(str(r.variant)).family,
                "segment": str(r.segment),
                "experiment": exp.name,
                "send_date": exp.dates.send_date,
                "variant": str(r.variant),
                "metric": metric,
                "kind": str(r.kind),
                "lift": float(r.abs_lift),
                "ci_low": float(r.ci_low),
                "ci_high": float(r.ci_high),
                "se": se,
            }
        )
    return pd.DataFrame(rows, columns=list(LIFT_COLUMNS))


def _experiments(root: str | Path) -> tuple[list[Experiment], list[str]]:
    loaded, skipped = [], []
    for folder in experiment_folders(root):
        try:
            loaded.append(Experiment.load(folder))
        except AbkitError as exc:
            skipped.append(f"{folder.name}: {exc}")
    return loaded, skipped


def wave_lifts_from_analyses(
    root: str | Path | Sequence[Readout], *, as_of: str | dt.date | None = None
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Per-wave lifts of every experiment under ``root`` by :func:`abkit.workflow.analyse` (no report needed).

    ``root`` may also be a sequence of readouts. Each experiment is analysed as of ``as_of`` or, by
    default, the last day of its attribution window; returns ``(lifts, skipped)`` where ``skipped``
    names the experiments that could not be analysed and why.
    """
    if not isinstance(root, (str, Path)):
        frames = [wave_lifts(r) for r in root]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=LIFT_COLUMNS), ()
    exps, skipped = _experiments(root)
    frames = []
    for exp in exps:
        if not exp.data_path("assignment").exists():
            continue
        day = check_date("as_of", as_of) if as_of else exp.dates.window_end - dt.timedelta(days=1)
        try:
            frames.append(wave_lifts(analyse(exp, as_of=day, max_data_lag_days=exp.report.max_data_lag_days)))
        except AbkitError as exc:
            skipped.append(f"{exp.name}: {exc}")
    lifts = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=LIFT_COLUMNS)
    return lifts, tuple(skipped)


def wave_lifts_from_reports(root: str | Path, *, alpha: float = 0.05) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Per-wave lifts read from the latest report summary (``NAME-DATE.json``) of each experiment.

    Uses the summary's ``comparisons`` (every contacted variant in every segment; standard error by
    :func:`lift_se`). A summary written before abkit added them gives the variant each segment row
    describes (``shown_variant``), its error recovered from the interval at the summary's
    ``method.alpha`` (default ``alpha``). Returns ``(lifts, skipped)``: experiments without a report
    are left out silently, unreadable ones are named in ``skipped``.
    """
    exps, skipped = _experiments(root)
    rows = []
    for exp in exps:
        try:
            report = latest_report(exp.folder)
            if report is None or report.summary is None:
                if report is not None:
                    skipped.append(f"{exp.name}: its latest report ({report.path.name}) has no summary")
                continue
            summary = report.summary
            method = _field(summary, "method", "the summary")
            used = float(_field(method, "alpha", "the summary's method")) if "alpha" in method else alpha
            primary = str(_field(summary, "primary_metric", "the summary"))
            table = report_segments(summary, comparisons=True)
            if table.empty:
                table = report_segments(summary).rename(columns={"variant": "shipped"})
                table = table.rename(columns={"shown_variant": "variant"})
        except AbkitError as exc:
            skipped.append(f"{exp.name}: {exc}")
            continue
        for r in table.to_dict("records"):
            if r["variant"] is None or str(r["variant"]) not in exp.variant_names:
                continue
            if not r.get("estimable", True) or not np.isfinite([r["lift"], r["ci_low"], r["ci_high"]]).all():
                continue
            if "kind" in r:
                se = lift_se(
                    r["kind"], r["control_value"], r["variant_value"], r["n_control"], r["n_variant"],
                    r["ci_low"], r["ci_high"], used,
                )  # fmt: skip
            else:
                se = (r["ci_high"] - r["ci_low"]) / (2 * _z(used))
            rows.append(
                {
                    "family": exp.variant(str(r["variant"])).family,
                    "segment": r["segment"],
                    "experiment": exp.name,
                    "send_date": exp.dates.send_date,
                    "variant": str(r["variant"]),
                    "metric": primary,
                    "kind": r.get("kind", "proportion"),
                    "lift": r["lift"],
                    "ci_low": r["ci_low"],
                    "ci_high": r["ci_high"],
                    "se": se,
                }
            )
    return pd.DataFrame(rows, columns=list(LIFT_COLUMNS)), tuple(skipped)


def pool_lifts(
    lifts: pd.DataFrame, *, methods: Sequence[str] = ("reml", "dl"), alpha: float = 0.05
) -> pd.DataFrame:
    """Pool per-wave lifts by variant family and segment: one row per (family, segment, method).

    ``lifts`` has the columns ``family``, ``segment``, ``lift`` and ``se`` (see :data:`LIFT_COLUMNS`).
    Columns: ``family``, ``segment``, ``method`` (named, e.g. "random effects (REML)"), ``waves``,
    ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``p_value``, ``tau2``, ``i2``, ``q``, ``q_df``,
    ``q_p_value``, ``converged``. Rows whose standard error is not positive are left out and counted
    in the ``not_pooled`` column.

    >>> lifts = pd.DataFrame({"family": "coupon", "segment": "one_time",
    ...                       "lift": [0.02, 0.03, 0.05], "se": [0.01, 0.014, 0.01]})
    >>> pool_lifts(lifts, methods=["dl"])[["family", "waves", "estimate", "tau2"]].round(4).to_dict("records")
    [{'family': 'coupon', 'waves': 3, 'estimate': 0.0337, 'tau2': 0.0002}]
    """
    missing = [c for c in ("family", "segment", "lift", "se") if c not in lifts.columns]
    if missing:
        raise ParameterError(f"lifts is missing column(s) {missing}; build it with wave_lifts_from_reports()")
    for m in methods:
        if m not in META_METHODS:
            raise ParameterError(f"method {m!r} is not known; use 'reml' or 'dl'")
    out = []
    for (family, segment), group in lifts.groupby(["family", "segment"], sort=True):
        ok = np.isfinite(group["lift"].to_numpy(float)) & (group["se"].to_numpy(float) > 0)
        good = group.loc[ok]
        if good.empty:
            continue
        for m in methods:
            res = random_effects(good["lift"], good["se"].to_numpy(float) ** 2, method=m, alpha=alpha)
            row = {"family": family, "segment": segment, **res.to_dict()}
            row["waves"] = row.pop("k")
            row["not_pooled"] = int((~ok).sum())
            out.append(row)
    columns = [
        "family", "segment", "method", "waves", "estimate", "se", "ci_low", "ci_high", "p_value",
        "tau2", "i2", "q", "q_df", "q_p_value", "converged", "not_pooled",
    ]  # fmt: skip
    return pd.DataFrame(out, columns=columns)


@dataclass(frozen=True, repr=False)
class Learnings(Displayable):
    """What the waves taught: per-wave lifts and their random-effects pooling per family and segment."""

    root: str
    waves: pd.DataFrame
    pooled: pd.DataFrame
    skipped: tuple[str, ...] = ()

    def to_pandas(self) -> pd.DataFrame:
        return self.pooled.copy()

    def _title(self) -> str:
        n = self.waves["experiment"].nunique() if len(self.waves) else 0
        return f"Learnings across {n} wave(s) under {self.root}"

    def _notes(self) -> list[str]:
        notes = [
            "Lift: absolute difference of the primary metric with the control, per wave; pooled by "
            "random-effects meta-analysis (tau2: between-wave variance; i2: share of the variation "
            "that is between waves; q_p_value: test of equal lifts)."
        ]
        notes += [f"not read: {s}" for s in self.skipped]
        return notes

    def __repr__(self) -> str:
        return f"Learnings(root={self.root!r}, waves={len(self.waves)}, pooled={len(self.pooled)})"


def learnings(
    root: str | Path = "experiments",
    *,
    source: str = "reports",
    methods: Sequence[str] = ("reml", "dl"),
    alpha: float = 0.05,
) -> Learnings:
    """The learnings table across the experiments under ``root``: lift per wave and pooled estimate.

    ``source="reports"`` reads the latest report summary of each experiment;
    ``source="analyse"`` runs :func:`abkit.workflow.analyse` on each instead (no report needed).

    >>> learnings("no/such/root").pooled.empty
    True
    """
    if source == "reports":
        lifts, skipped = wave_lifts_from_reports(root, alpha=alpha)
    elif source == "analyse":
        lifts, skipped = wave_lifts_from_analyses(root)
    else:
        raise ParameterError(f"source={source!r} is not known; use 'reports' or 'analyse'")
    return Learnings(str(root), lifts, pool_lifts(lifts, methods=methods, alpha=alpha), skipped)


# ----------------------------------------------------------------------------------------------
# decisions on record


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    with open(folder / LOCK_FILE, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _segments_of(exp: Experiment, report: ReportFile | None) -> list[str]:
    found = {"all"}
    if report is not None and report.summary is not None:
        found |= set(report_segments(report.summary)["segment"])
    path = exp.data_path("assignment")
    if path.exists() and exp.strata:
        frame = load_assignment(path).frame
        if exp.strata in frame.columns:
            found |= set(frame[exp.strata].astype(str))
    return sorted(found)


def follows_recommendation(
    action: str, variant: str | None, recommendation: str | None, recommended: str | None
) -> bool:
    """Whether a decision follows a report's recommendation for its segment (none: it does).

    Shipping follows a "ship" of the same variant; keeping the holdout or stopping follows any
    other recommendation.

    >>> follows_recommendation("ship", "coupon", "ship", "coupon")
    True
    >>> follows_recommendation("stop", None, "ship", "coupon")
    False
    """
    if recommendation is None:
        return True
    if action == "ship":
        return recommendation == "ship" and (recommended is None or recommended == variant)
    return recommendation != "ship"


def decide(
    folder: str | Path,
    *,
    segment: str,
    action: str,
    variant: str | None = None,
    note: str = "",
    by: str | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Append one decision to ``folder/decisions.jsonl``; return the record.

    ``action`` is one of :data:`ACTIONS`; ``ship`` needs the ``variant`` shipped. The record keeps
    the UTC time, who decided (``by``, default the operating-system user), the evidence of the
    latest report (its recommendation, lift and interval, profit per 1,000 and interval, the report
    file relative to ``folder`` and its SHA-256) and whether the decision goes against the
    recommendation (it is the manager's call: the record keeps both and says
    ``against_recommendation``; ``abkit decide`` prints a one-line warning). The file is rewritten
    atomically under a lock (``folder/.abkit.lock``). A segment or variant the experiment does not
    have raises :class:`ParameterError` naming the candidates.
    """
    exp = Experiment.load(folder)
    folder = exp.folder
    if action not in ACTIONS:
        raise ParameterError(f"action={action!r} is not known; use one of {', '.join(ACTIONS)}")
    if variant is not None and variant not in exp.variant_names:
        raise ParameterError(
            f"variant {variant!r} is not in {exp.name}; variants: {', '.join(exp.variant_names)}"
        )
    if action == "ship" and (variant is None or variant not in exp.contacted_variants):
        raise ParameterError(
            "action 'ship' needs --variant, one of the contacted variants: "
            f"{', '.join(exp.contacted_variants)}"
        )
    report = latest_report(folder)
    segments = _segments_of(exp, report)
    if segment not in segments:
        raise ParameterError(f"segment {segment!r} is not in {exp.name}; segments: {', '.join(segments)}")
    evidence: dict[str, Any] = {"report": None, "report_sha256": None, "report_date": None}
    recommendation = recommended = None
    if report is not None:
        evidence["report"] = report.path.relative_to(folder).as_posix()
        evidence["report_sha256"] = _sha256(report.path)
        evidence["report_date"] = report.date.isoformat()
        if report.summary is not None:
            rows = report_segments(report.summary)
            match = rows.loc[rows["segment"] == segment]
            if len(match):
                r = match.iloc[0]
                recommendation, recommended = r["decision"], r["variant"]
                for key in (
                    "lift",
                    "ci_low",
                    "ci_high",
                    "rel_lift",
                    "profit",
                    "profit_ci_low",
                    "profit_ci_high",
                ):
                    value = float(r[key])
                    evidence[key] = value if math.isfinite(value) else None
                evidence["confidence"] = r["confidence"]
    when = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    record: dict[str, Any] = {
        "time": when.isoformat().replace("+00:00", "Z"),
        "by": by or _user(),
        "experiment": exp.name,
        "segment": segment,
        "action": action,
        "variant": variant,
        "note": note,
        "recommendation": recommendation,
        "recommended_variant": recommended,
        "against_recommendation": not follows_recommendation(action, variant, recommendation, recommended),
        "evidence": evidence,
        "abkit_version": __version__,
    }
    line = json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n"
    path = folder / DECISIONS_FILE
    with _locked(folder):
        old = path.read_bytes() if path.exists() else b""
        if old and not old.endswith(b"\n"):
            old += b"\n"
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as handle:
                handle.write(old + line.encode("utf-8"))
                handle.flush()
                os.fsync(handle.fileno())
    return record


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in the environment or the password database
        return "unknown"


def read_decisions(folder: str | Path) -> pd.DataFrame:
    """The decisions recorded in ``folder/decisions.jsonl``, oldest first (empty when none).

    >>> read_decisions("no/such/folder").empty
    True
    """
    path = Path(folder) / DECISIONS_FILE
    columns = [
        "time",
        "by",
        "segment",
        "action",
        "variant",
        "note",
        "recommendation",
        "against_recommendation",
    ]
    if not path.is_file():
        return pd.DataFrame(columns=columns)
    rows = []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}, line {number}: not a JSON record ({exc.msg})") from None
        evidence = record.pop("evidence", {}) or {}
        rows.append({**record, **{f"evidence_{k}": v for k, v in evidence.items()}})
    frame = pd.DataFrame(rows)
    return frame.reindex(columns=[*columns, *[c for c in frame.columns if c not in columns]])


# ----------------------------------------------------------------------------------------------
# where every experiment stands


def _points(value: float) -> str:
    return f"{value * 100:+.1f} pp"  # percentage points, as the reports write them


def _result_text(summary: Mapping[str, Any] | None) -> str:
    if summary is None:
        return "report without a machine-readable summary"
    rows = report_segments(summary)
    if rows.empty:
        return "no segment results"
    overall = rows.loc[rows["segment"] == "all"]
    shown = overall if len(overall) else rows.loc[rows["decision"] == "ship"].head(1)
    shown = shown if len(shown) else rows.head(1)
    r = shown.iloc[0]
    text = f"{r['segment']}: {r['decision'] or '–'}"
    if r["shown_variant"] and np.isfinite(r["lift"]):
        text += f" {r['shown_variant']} {_points(r['lift'])}"
        if np.isfinite(r["ci_low"]) and np.isfinite(r["ci_high"]):
            text += f" ({r['ci_low'] * 100:.1f} to {r['ci_high'] * 100:.1f})"
    ships = int((rows["decision"] == "ship").sum())
    return text + (f"; ship in {ships} of {len(rows)} segment(s)" if len(rows) > 1 else "")


def _phase(exp: Experiment, today: dt.date, decided: bool) -> str:
    if decided:
        return "decided"
    if not exp.data_path("assignment").exists():
        return "draft"
    send, end = exp.dates.send_date, exp.dates.window_end
    if today < send:
        return "assigned"
    if today < end:
        return f"running day {(today - send).days + 1} of {exp.dates.window_days}"
    return "window closed"


@dataclass(frozen=True, repr=False)
class Status(Displayable):
    """One line per experiment folder under a root; ``problems`` names the folders not read."""

    root: str
    as_of: dt.date
    rows: pd.DataFrame
    problems: tuple[str, ...] = ()

    def to_pandas(self) -> pd.DataFrame:
        return self.rows.copy()

    def _title(self) -> str:
        return f"Experiments under {self.root} as of {self.as_of.isoformat()}"

    def _notes(self) -> list[str]:
        return [f"not read: {p}" for p in self.problems]

    def to_json(self) -> str:
        """The rows and problems as JSON text (for ``abkit status --format json``)."""
        payload = {
            "root": self.root,
            "as_of": self.as_of.isoformat(),
            "experiments": self.rows.astype(object).where(self.rows.notna(), None).to_dict("records"),
            "problems": list(self.problems),
        }
        return json.dumps(payload, ensure_ascii=False, indent=2)

    def __repr__(self) -> str:
        return f"Status(root={self.root!r}, experiments={len(self.rows)}, problems={len(self.problems)})"


def status(root: str | Path = "experiments", *, as_of: str | dt.date | None = None) -> Status:
    """Where every experiment under ``root`` stands: phase, latest report and decision.

    Phases: ``draft`` (no assignment), ``assigned`` (before the send date), ``running day X of Y``,
    ``window closed``, ``decided`` (a decision is recorded). A folder that cannot be read is listed
    in ``problems`` with the reason; it never stops the others.

    >>> status("no/such/root").problems
    ('no/such/root is not a folder',)
    """
    root = Path(root)
    today = check_date("as_of", as_of)
    columns = ["experiment", "folder", "phase", "send_date", "report_date", "result", "decision"]
    if not root.is_dir():
        return Status(str(root), today, pd.DataFrame(columns=columns), (f"{root} is not a folder",))
    rows, problems = [], []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if not (folder / SPEC_FILE).is_file():
            if folder.name != "programme":
                problems.append(f"{folder.name}: no {SPEC_FILE} (not an experiment folder)")
            continue
        try:
            exp = Experiment.load(folder)
            decisions = read_decisions(folder)
            report = latest_report(folder)
        except (AbkitError, OSError) as exc:
            problems.append(f"{folder.name}: {exc}")
            continue
        decision = ""
        if len(decisions):
            latest = decisions.groupby("segment", sort=True).tail(1)
            decision = "; ".join(
                f"{r.action}{' ' + r.variant if isinstance(r.variant, str) else ''} ({r.segment})"
                for r in latest.itertuples()
            )
        rows.append(
            {
                "experiment": exp.name,
                "folder": folder.name,
                "phase": _phase(exp, today, bool(len(decisions))),
                "send_date": exp.dates.send_date.isoformat(),
                "report_date": report.date.isoformat() if report else "",
                "result": _result_text(report.summary) if report else "",
                "decision": decision,
            }
        )
    return Status(str(root), today, pd.DataFrame(rows, columns=columns), tuple(problems))


# ----------------------------------------------------------------------------------------------
# the next wave starts from the last one


def _wilson(successes: float, n: float, alpha: float = 0.05) -> tuple[float, float]:
    z = _z(alpha)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def holdout_rates(readout: Readout) -> pd.DataFrame:
    """Observed rate of the primary metric in the control arm, per segment, with a Wilson 95% interval."""
    exp = readout.experiment
    table = readout.evaluation.to_pandas()
    table = table.loc[table["metric"] == exp.metrics.primary].drop_duplicates("segment")
    rows = []
    for r in table.itertuples(index=False):
        n = float(r.n_control)
        rate = float(r.control_value)
        low, high = _wilson(rate * n, n) if n > 0 else (float("nan"), float("nan"))
        rows.append({"segment": str(r.segment), "rate": rate, "ci_low": low, "ci_high": high, "n": int(n)})
    return pd.DataFrame(rows, columns=["segment", "rate", "ci_low", "ci_high", "n"])


def _rel(path: str, old: Path, new: Path) -> str:
    p = Path(path).expanduser()
    if p.is_absolute():
        return path
    return Path(os.path.relpath((old / p).resolve(), new.resolve())).as_posix()


def init_from(
    name: str,
    previous: str | Path,
    *,
    parent: str | Path | None = None,
    send_date: str | dt.date | None = None,
    salt: str | None = None,
    force: bool = False,
    readout: Readout | None = None,
    targeted: bool = False,
) -> Path:
    """Create the next wave ``parent/NAME`` from the previous experiment ``previous``; return the folder.

    The spec is the previous one with a new salt and send date (default: a week from today), the
    data sources pointing at the same files, ``analysis.baseline`` set to the previous wave's
    observed holdout rate overall (its interval and the per-segment rates stated as comments), and
    the variants the previous decisions kept: shipped variants stay, contacted variants no decision
    shipped are dropped (all stay when nothing is recorded or nothing was shipped). ``readout`` is
    the previous wave's analysis (default: :func:`abkit.workflow.analyse` at the end of its window).
    ``targeted=True`` (``abkit init --from DIR --targeted``) writes the per-cell weights of the
    previous wave's plan (``DIR/targeting/plan.json``, made by ``abkit target``) into the new spec's
    ``[targeting]`` table and keeps every variant the plan can send.
    """
    prev = Experiment.load(previous)
    plan = read_plan(prev.folder) if targeted else None
    parent = Path(parent) if parent is not None else prev.folder.parent
    send = (
        check_date("send_date", send_date) if send_date else dt.datetime.now(dt.UTC).date() + dt.timedelta(7)
    )
    if readout is None:
        day = prev.dates.window_end - dt.timedelta(days=1)
        readout = analyse(prev, as_of=day, max_data_lag_days=prev.report.max_data_lag_days)
    rates = holdout_rates(readout)
    overall = rates.loc[rates["segment"] == "all"]
    if overall.empty:
        raise DataError(f"{prev.name}: no observed holdout rate of {prev.metrics.primary!r} to start from")
    decisions = read_decisions(prev.folder)
    kept, note = list(prev.variants), "no decision recorded in the previous wave: every variant kept"
    if len(decisions):
        latest = decisions.groupby("segment", sort=True).tail(1)
        shipped = set(latest.loc[latest["action"] == "ship", "variant"].dropna())
        if shipped:
            kept = [v for v in prev.variants if not v.contacted or v.name in shipped]
            dropped = [v.name for v in prev.variants if v not in kept]
            note = f"kept the shipped variant(s) {', '.join(sorted(shipped))}" + (
                f"; dropped {', '.join(dropped)}" if dropped else ""
            )
        else:
            note = "the previous wave shipped no variant: every variant kept"
    targeting = None
    if plan is not None:
        unknown = sorted({a for w in plan["weights"].values() for a in w} - set(prev.variant_names))
        if unknown:
            raise DataError(
                f"{prev.folder / 'targeting' / 'plan.json'}: arm(s) {', '.join(map(repr, unknown))} are not "
                f"variants of {prev.name}; run `abkit target --force` again"
            )
        kept, note = list(prev.variants), "targeted: every variant kept, split per cell by the plan"
        targeting = Targeting(cells=tuple(plan["cells"]), weights=plan["weights"])
    folder = parent / name
    new_folder_abs = folder if folder.is_absolute() else Path.cwd() / folder
    data = dataclasses.replace(
        prev.data,
        **{
            k: _rel(getattr(prev.data, k), prev.folder, new_folder_abs)
            for k in ("transactions", "customers", "events")
            if getattr(prev.data, k) is not None and not (k == "events" and prev.data.engine == "postgres")
        },
    )
    span = prev.dates.planned_end - prev.dates.send_date
    nxt = dataclasses.replace(
        prev,
        name=name,
        salt=salt or f"{name}-{secrets.token_hex(4)}",
        dates=dataclasses.replace(prev.dates, send_date=send, planned_end=send + span),
        data=data,
        variants=tuple(kept),
        analysis=dataclasses.replace(prev.analysis, baseline=float(overall["rate"].iloc[0])),
        targeting=targeting,
    )
    lines = nxt.to_toml().splitlines()
    o = overall.iloc[0]
    comment = [
        f"# baseline: observed {prev.metrics.primary} rate of {prev.name}'s holdout: {o['rate']:.2%} "
        f"(95% Wilson interval {o['ci_low']:.2%} to {o['ci_high']:.2%}, n = {o['n']:,})",
        *(
            f"#   {r.segment}: {r.rate:.2%} ({r.ci_low:.2%} to {r.ci_high:.2%}, n = {r.n:,})"
            for r in rates.loc[rates["segment"] != "all"].itertuples()
        ),
    ]
    at = next(i for i, line in enumerate(lines) if line.startswith("baseline = "))
    lines[at + 1 : at + 1] = comment
    header = [
        f"# started from {prev.name} (sent {prev.dates.send_date.isoformat()}) by `abkit init --from`",
        f"# variants: {note}; check the data sources below before assigning",
    ]
    if plan is not None:
        header.append(
            f"# targeting: per-cell weights of {prev.name}/targeting/plan.json (recommended: "
            f"{plan.get('recommended')}); cells not listed get the [variants] weights"
        )
    text = "\n".join([*header, *lines]) + "\n"
    Experiment.from_toml(text, path=folder / SPEC_FILE)  # the new spec is valid before it is written
    init_experiment(name, parent=parent, force=force)
    write_text(folder / SPEC_FILE, text)
    return folder


# ----------------------------------------------------------------------------------------------
# the programme's cumulative effect against its holdout


@dataclass(frozen=True, repr=False)
class ProgrammeEffect(Displayable):
    """Cumulative incremental outcomes per customer of the programme's pool against its holdout."""

    programme: str
    start: dt.date
    end: dt.date
    effects: pd.DataFrame
    waves: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def to_pandas(self) -> pd.DataFrame:
        return self.effects.copy()

    def _title(self) -> str:
        return (
            f"Programme {self.programme}: effect from {self.start.isoformat()} "
            f"to {self.end.isoformat()} ({len(self.waves)} wave(s))"
        )

    def _notes(self) -> list[str]:
        return list(self.notes)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (``schema = "abkit.programme/1"``)."""
        rows = self.effects.astype(object).where(self.effects.notna(), None).to_dict("records")
        return {
            "schema": PROGRAMME_SCHEMA,
            "programme": self.programme,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "waves": list(self.waves),
            "method": METHOD_TEXT,
            "effects": rows,
            "abkit_version": __version__,
        }

    def __repr__(self) -> str:
        return f"ProgrammeEffect(programme={self.programme!r}, start={self.start}, end={self.end})"


METHOD_TEXT = (
    "Welch two-sample t interval on per-customer cumulative outcomes, pool (every customer a wave "
    "found eligible outside the programme holdout, contacted or not) against the programme holdout"
)


def _welch(x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[float, float, float, float]:
    diff = float(x.mean() - y.mean())
    vx, vy = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    se = math.sqrt(vx + vy)
    if se == 0:
        return diff, diff, diff, float("nan")
    df = (vx + vy) ** 2 / (vx**2 / (x.size - 1) + vy**2 / (y.size - 1))
    t = float(stats.t.ppf(1 - alpha / 2, df))
    return diff, diff - t * se, diff + t * se, float(2 * stats.t.sf(abs(diff / se), df))


def effect_table(
    pool: pd.DataFrame,
    purchases: pd.DataFrame,
    *,
    start: str | dt.date,
    end: str | dt.date,
    margin: float | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """The programme effect from frames: one row per (metric, segment), ``all`` first.

    ``pool``: one row per customer with ``customer_id``, ``segment``, ``programme_holdout`` (bool),
    ``entered`` (the send date of the first wave that found the customer eligible) and ``cost``
    (contact and offer costs spent on the customer, 0 in the holdout). ``purchases``:
    ``customer_id``, ``order_date``, ``amount``. A customer's outcomes count the purchases in
    ``[max(start, entered), end]``. Metrics: ``repurchase_rate`` (at least one purchase),
    ``revenue`` per customer, and ``profit`` per customer (``margin × revenue − cost``) when
    ``margin`` is given.
    """
    first = pd.Timestamp(check_date("start", start))
    last = pd.Timestamp(check_date("end", end)) + pd.Timedelta(days=1)
    if last <= first:
        raise ParameterError(f"end={end!s} is before start={start!s}; pass --from before --to")
    frame = pool.copy()
    frame["customer_id"] = frame["customer_id"].astype(str)
    buys = purchases[["customer_id", "order_date", "amount"]].copy()
    buys["customer_id"] = buys["customer_id"].astype(str)
    buys["order_date"] = pd.to_datetime(buys["order_date"])
    buys = buys.merge(frame[["customer_id", "entered"]], on="customer_id", how="inner")
    since = np.maximum(pd.to_datetime(buys["entered"]).to_numpy(), first.to_datetime64())
    buys = buys.loc[(buys["order_date"].to_numpy() >= since) & (buys["order_date"] < last)]
    per = buys.groupby("customer_id")["amount"].agg(["size", "sum"])
    frame["repurchase_rate"] = frame["customer_id"].map(per["size"]).fillna(0).gt(0).astype(float)
    frame["revenue"] = frame["customer_id"].map(per["sum"]).fillna(0.0)
    metrics = ["repurchase_rate", "revenue"]
    if margin is not None:
        frame["profit"] = margin * frame["revenue"] - frame["cost"]
        metrics.append("profit")
    rows = []
    segments = [("all", frame), *((str(s), g) for s, g in frame.groupby("segment", sort=True))]
    for metric in metrics:
        for segment, group in segments:
            held = group["programme_holdout"].astype(bool).to_numpy()
            x, y = group.loc[~held, metric].to_numpy(float), group.loc[held, metric].to_numpy(float)
            if x.size < 2 or y.size < 2:
                diff = low = high = p = float("nan")
            else:
                diff, low, high, p = _welch(x, y, alpha)
            rows.append(
                {
                    "metric": metric,
                    "segment": segment,
                    "n_pool": int(x.size),
                    "n_holdout": int(y.size),
                    "pool_value": float(x.mean()) if x.size else float("nan"),
                    "holdout_value": float(y.mean()) if y.size else float("nan"),
                    "incremental": diff,
                    "ci_low": low,
                    "ci_high": high,
                    "p_value": p,
                    "total_incremental": diff * x.size,
                }
            )
    return pd.DataFrame(rows)


def _programme_frames(
    root: Path,
) -> tuple[str, list[Experiment], pd.DataFrame, pd.DataFrame, float | None, list[str]]:
    exps, skipped = _experiments(root)
    waves = [e for e in exps if e.programme is not None and e.data_path("assignment").exists()]
    if not waves:
        raise SourceError(
            f"no assigned experiment with a [programme] table under {root}; "
            "add [programme] name/holdout to the waves' experiment.toml and assign them"
        )
    names = {e.programme.name for e in waves if e.programme is not None}
    if len(names) > 1:
        raise ParameterError(
            f"experiments under {root} belong to several programmes ({sorted(names)}); pass one root each"
        )
    name = names.pop()
    waves.sort(key=lambda e: e.dates.send_date)
    parts, tx_paths = [], []
    for exp in waves:
        id_col = exp.data.columns.customer_id
        frame = load_assignment(exp.data_path("assignment")).frame
        seg = exp.strata if exp.strata in frame.columns else None
        costs = {v.name: v.contact_cost for v in exp.variants if v.contacted}
        parts.append(
            pd.DataFrame(
                {
                    "customer_id": frame[id_col].astype(str).to_numpy(),
                    "segment": frame[seg].astype(str).to_numpy() if seg else "all",
                    "programme_holdout": False,
                    "entered": pd.Timestamp(exp.dates.send_date),
                    "cost": frame["variant"].astype(str).map(costs).fillna(0.0).to_numpy(float),
                }
            )
        )
        held = read_programme_holdout(exp)
        parts.append(
            pd.DataFrame(
                {
                    "customer_id": held[id_col].astype(str).to_numpy(),
                    "segment": held["segment"].to_numpy() if "segment" in held.columns else "all",
                    "programme_holdout": True,
                    "entered": pd.Timestamp(exp.dates.send_date),
                    "cost": 0.0,
                }
            )
        )
        tx_paths.append(exp.data_path("transactions"))
    rows = pd.concat(parts, ignore_index=True)
    pool = rows.groupby("customer_id", sort=True).agg(
        segment=("segment", "first"),
        programme_holdout=("programme_holdout", "first"),
        entered=("entered", "min"),
        cost=("cost", "sum"),
    )
    pool = pool.reset_index()
    # a customer's membership never changes: a disagreement means a changed name or share
    expected = programme_holdout(pool["customer_id"], name, waves[-1].programme.holdout)  # type: ignore[union-attr]
    mismatch = int((expected.to_numpy() != pool["programme_holdout"].to_numpy()).sum())
    if mismatch:
        raise DataError(
            f"{mismatch:,} customers of programme {name!r} are on the wrong side of its holdout; "
            "the waves used different programme names or holdout shares"
        )
    purchases = []
    for path in dict.fromkeys(tx_paths):
        exp0 = next(e for e in waves if e.data_path("transactions") == path)
        cols = exp0.data.columns
        tx = read_table(path, what="transactions")[[cols.customer_id, cols.order_date, cols.amount]]
        purchases.append(tx.set_axis(["customer_id", "order_date", "amount"], axis=1))
    purchases_frame = pd.concat(purchases, ignore_index=True).drop_duplicates()
    margin = waves[-1].analysis.gross_margin if any(e.has_costs for e in waves) else None
    return name, waves, pool, purchases_frame, margin, skipped


def programme_effect(
    source: str | Path | pd.DataFrame = "experiments",
    purchases: pd.DataFrame | None = None,
    *,
    start: str | dt.date | None = None,
    end: str | dt.date | None = None,
    margin: float | None = None,
    alpha: float = 0.05,
    programme: str = "programme",
) -> ProgrammeEffect:
    """The programme's cumulative incremental repurchase rate, revenue (and profit) per customer.

    ``source`` is a root folder of experiments (their saved assignments, recorded programme
    holdouts and transactions are read) or a ``pool`` frame with ``purchases`` (see
    :func:`effect_table`). The period runs from ``start`` (default: the first wave's send date) to
    ``end`` inclusive (default: the last purchase). Profit needs costs and ``analysis.gross_margin``
    in the specs (or ``margin``). Intervals: :data:`METHOD_TEXT`.
    """
    notes: list[str] = []
    waves: tuple[str, ...] = ()
    if isinstance(source, pd.DataFrame):
        if purchases is None:
            raise ParameterError("purchases is missing; pass the purchases frame with the pool frame")
        pool = source
        name = programme
    else:
        name, exps, pool, purchases, spec_margin, skipped = _programme_frames(Path(source))
        margin = spec_margin if margin is None else margin
        waves = tuple(e.name for e in exps)
        notes += [f"not read: {s}" for s in skipped]
    first = check_date("start", start) if start else pd.Timestamp(pool["entered"].min()).date()
    last = check_date("end", end) if end else pd.Timestamp(purchases["order_date"].max()).date()
    table = effect_table(pool, purchases, start=first, end=last, margin=margin, alpha=alpha)
    held = int(pool["programme_holdout"].sum())
    notes.insert(0, f"{len(pool):,} customers in the programme's pool, {held:,} of them in its holdout.")
    notes.append(f"Intervals: {METHOD_TEXT}.")
    return ProgrammeEffect(name, first, last, table, waves, tuple(notes))
