"""The experiment spec: ``experiments/NAME/experiment.toml`` read and validated into frozen dataclasses.

An experiment is a folder. Its ``experiment.toml`` (read with the standard library's ``tomllib``)
declares what is tested, on whom, how it is split and how it is judged; data and reports live
beside it. :meth:`Experiment.load` validates every key: an unknown key, a wrong type, a weight that
is not positive, a missing required key, variants without a holdout or control, or a date that is
not a date each raise :class:`~abkit.errors.SpecError` naming the file, the dotted key and its line.
:func:`scaffold` returns a commented template (what ``abkit init NAME`` writes).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import math
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import tomli_w

from abkit._display import Displayable
from abkit._io import write_text
from abkit._validate import ALTERNATIVES, check_columns
from abkit.attribution import EVENT_NAMES
from abkit.errors import ParameterError, SourceError, SpecError
from abkit.names import MAX_LABEL_LENGTH, label_problem
from abkit.tables import check_encoding, check_timezone

__all__ = [
    "CHANNELS",
    "KNOWN_METRICS",
    "LANGUAGES",
    "METRIC_KINDS",
    "METRIC_POPULATIONS",
    "OBJECTIVES",
    "TABLES",
    "Analysis",
    "Columns",
    "DataSources",
    "Dates",
    "DecisionSettings",
    "Experiment",
    "MetricDefinition",
    "Metrics",
    "PopulationRules",
    "Prior",
    "Programme",
    "ReportSettings",
    "Targeting",
    "Variant",
    "scaffold",
    "spec_keys",
    "write_scaffold",
]

SPEC_FILE = "experiment.toml"
#: Common channel labels (any label is accepted; ``"none"`` is reserved for a holdout).
CHANNELS: tuple[str, ...] = ("email", "postal", "sms", "line", "push", "phone", "social", "none")
METHODS: tuple[str, ...] = ("frequentist", "bayesian")
SEQUENTIAL_METHODS: tuple[str, ...] = ("asymptotic-cs", "msprt")
CORRECTIONS: tuple[str, ...] = ("holm", "bonferroni", "bh", "none")
#: Outcome columns produced by ``abkit.outcomes``; other metric names must be declared in
#: ``[metrics.define.NAME]`` (or listed in ``metrics.custom``).
KNOWN_METRICS: tuple[str, ...] = (
    "delivered",
    "opened",
    "clicked",
    "repurchased",
    "revenue",
    "unsubscribed",
    "complained",
)
DATA_SUFFIXES: tuple[str, ...] = (".csv", ".parquet", ".xlsx")
#: Tables a spec can point at; ``[data.columns.TABLE]`` maps the columns of each.
TABLES: tuple[str, ...] = ("events", "outcomes", "assignment", "customers", "transactions")
#: ``[metrics.define.NAME] kind``: a rate (share of customers with a success) or a mean per customer.
METRIC_KINDS: tuple[str, ...] = ("rate", "mean")
#: ``[metrics.define.NAME] population``: every assigned customer against the holdout (intention to
#: treat), or the contacted arms only (engagement: opens, clicks, visits from the message).
METRIC_POPULATIONS: tuple[str, ...] = ("assigned", "contacted")
#: Most breakdown values shown per ``[analysis] breakdowns`` column.
MAX_BREAKDOWN_VALUES = 20
#: Engines that read an experiment's events (``[data] engine``); see :mod:`abkit.sources`.
ENGINES: tuple[str, ...] = ("pandas", "duckdb", "postgres", "spark")
#: Environment variable holding the PostgreSQL URL when ``[data] url_env`` is not set.
DEFAULT_URL_ENV = "ABKIT_DATABASE_URL"
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RULED_SEGMENTS = ("high_value", "high_frequency", "one_time")
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
#: Longest experiment name (it names folders and report files).
MAX_NAME_LENGTH = 64
#: Languages of reports, summaries and decisions (``[report] language``).
LANGUAGES: tuple[str, ...] = ("en", "ja")
#: Decision objectives (``[decision] objective``); unset means automatic (see :class:`DecisionSettings`).
OBJECTIVES: tuple[str, ...] = ("profit", "primary")
#: Longest attribution window accepted (days).
MAX_WINDOW_DAYS = 366
#: Dates in a spec must lie in these years (a typo such as 9999 is refused, not overflowed).
YEAR_RANGE: tuple[int, int] = (1990, 2200)
_CURRENCY_RE = re.compile(r"[A-Z]{3}")
# scheme://user:password@host or a PostgreSQL URL: a secret that must never be in a spec
_URL_RE = re.compile(r"^\s*(?:postgres(?:ql)?(?:\+\w+)?://|[A-Za-z][A-Za-z0-9+.-]*://[^/@\s]*@)", re.I)

_KEYS: dict[str, tuple[str, ...]] = {
    "": ("name", "hypothesis", "owner", "salt", "dates", "data", "population", "strata", "variants",
         "metrics", "analysis", "decision", "report", "programme", "targeting"),
    "dates": ("send_date", "window_days", "planned_end"),
    "data": ("customers", "transactions", "events", "outcomes", "assignment", "columns", "engine", "url_env",
             "spark_master", "encoding", "sheet", "timestamp_format", "timezone", "max_bad_share",
             "event_names"),
    "data.columns": ("customer_id", "order_date", "amount", "event", "timestamp", "variant", "segment",
                     *TABLES),
    "data.columns.table": ("customer_id", "order_date", "amount", "event", "timestamp", "variant", "segment"),
    "data.event_names": EVENT_NAMES,
    "population": ("dormant_after", "lapsed_after", "exclude", "lapsed_flags", "segments", "cooldown_days"),
    "population.segments": ("high_value_quantile", "high_value_threshold", "value_measure",
                            "high_frequency_threshold", "high_frequency_quantile", "precedence"),
    "strata": ("column",),
    "variant": ("weight", "channel", "contacted", "contact_cost", "offer_cost", "description", "family"),
    "metrics": ("primary", "secondary", "guardrails", "custom", "define"),
    "metric": ("kind", "column", "label", "population"),
    "analysis": ("method", "alpha", "correction", "alternative", "prior", "sequential", "power", "control",
                 "gross_margin", "baseline", "mde", "guardrail_margin", "n_star", "sequential_method", "tau",
                 "covariates", "breakdowns"),
    "analysis.prior": ("alpha", "beta"),
    "decision": ("objective", "revenue", "redeemed"),
    "report": ("language", "currency", "max_data_lag_days"),
    "programme": ("name", "holdout"),
    "targeting": ("cells", "weights", "features"),
}  # fmt: skip


# internal schema name -> the TOML table it validates (NAME / TABLE: any variant, metric or table)
_TABLE_PATHS = {
    "variant": "variants.NAME",
    "metric": "metrics.define.NAME",
    "data.columns.table": "data.columns.TABLE",
}


def spec_keys() -> dict[str, tuple[str, ...]]:
    """Every key the spec reader accepts, per TOML table (``""`` is the top level).

    ``variants.NAME`` stands for any ``[variants.NAME]`` table (and likewise for the other tables
    named by the user). Keys that open a sub-table (``dates``, ``data.columns``) are listed too. The
    reference ``docs/experiment-toml.md`` is checked against this schema by the test suite.

    >>> spec_keys()["dates"]
    ('send_date', 'window_days', 'planned_end')
    >>> "weight" in spec_keys()["variants.NAME"]
    True
    """
    return {_TABLE_PATHS.get(schema, schema): keys for schema, keys in _KEYS.items()}


# ----------------------------------------------------------------------------------------------
# the spec as frozen dataclasses


@dataclass(frozen=True)
class Dates:
    """When the campaign is sent and for how long purchases are attributed to it."""

    send_date: dt.date
    window_days: int
    planned_end: dt.date

    @property
    def window_end(self) -> dt.date:
        """First day after the attribution window ``[send_date, send_date + window_days)``."""
        return self.send_date + dt.timedelta(days=self.window_days)


@dataclass(frozen=True)
class Columns:
    """Column names of the data sources (``[data.columns]``; per table in ``[data.columns.TABLE]``)."""

    customer_id: str = "customer_id"
    order_date: str = "order_date"
    amount: str = "amount"
    event: str = "event"
    timestamp: str = "timestamp"
    variant: str = "variant"
    segment: str = "segment"


@dataclass(frozen=True)
class DataSources:
    """The data sources as written in the spec (paths relative to the experiment folder).

    ``engine`` reads the events for the report (:mod:`abkit.sources`): ``"pandas"`` (one CSV or
    Parquet file, loaded in memory), ``"duckdb"`` (files, directories ending in ``/`` or globs, of
    any size; chosen automatically for a directory or a glob), ``"postgres"`` (``events`` is a table
    name or a ``SELECT`` query; the URL is read from the environment variable named by ``url_env``)
    or ``"spark"`` (``events`` is a path, glob or catalog table; ``spark_master`` when abkit starts
    the session). Transactions, customers and the assignment are files in every engine.
    """

    transactions: str | None
    events: str | None
    assignment: str
    customers: str | None = None
    columns: Columns = field(default_factory=Columns)
    engine: str = "pandas"
    url_env: str | None = None
    spark_master: str | None = None
    #: Per-customer outcomes (one row per customer: flags and amounts), declared final.
    outcomes: str | None = None
    #: Encoding of CSV files (None: UTF-8 with or without BOM, else CP932, detected).
    encoding: str | None = None
    #: Sheet of ``.xlsx`` files (None: the first sheet).
    sheet: str | None = None
    #: ``strptime`` format of timestamps (None: ISO 8601).
    timestamp_format: str | None = None
    #: IANA time zone of naive timestamps and of ``send_date``.
    timezone: str = "UTC"
    #: Largest share of malformed rows dropped (and counted) rather than refused.
    max_bad_share: float = 0.001
    #: ``[data.columns.TABLE]``: the columns of one table that differ from ``[data.columns]``.
    table_columns: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    #: ``[data.event_names]``: standard event name → the name used in the events.
    event_names: Mapping[str, str] = field(default_factory=dict)

    def columns_for(self, table: str) -> Columns:
        """The columns of ``table`` (one of :data:`TABLES`): ``[data.columns.TABLE]`` over ``[data.columns]``.

        >>> DataSources(None, "e.csv", "a.csv", table_columns={"events": {"customer_id": "uid"}}
        ...             ).columns_for("events").customer_id
        'uid'
        """
        if table not in TABLES:
            raise ParameterError(
                f"table={table!r} is not known{_suggest(table, TABLES)}; use one of {TABLES}"
            )
        return dataclasses.replace(self.columns, **dict(self.table_columns.get(table, {})))


@dataclass(frozen=True)
class PopulationRules:
    """Who is dormant, who is lapsed, who may be contacted, and the segment rules."""

    dormant_after: int = 180
    lapsed_after: int = 730
    exclude: tuple[str, ...] = ("opted_out", "complained", "hard_bounced")
    lapsed_flags: tuple[str, ...] = ("cancelled", "complained")
    segment_rules: Mapping[str, Any] = field(default_factory=dict)
    #: Exclude customers contacted by another experiment of the same root within this many days.
    cooldown_days: int | None = None


@dataclass(frozen=True)
class Variant:
    """One arm: its share of the split, channel and costs (per contact, per redeemed offer)."""

    name: str
    weight: float
    channel: str = "email"
    contacted: bool = True
    contact_cost: float = 0.0
    offer_cost: float = 0.0
    description: str = ""
    #: The variant's family across waves (``family = "coupon"``); defaults to its name.
    family: str = ""

    def __post_init__(self) -> None:
        if not self.family:
            object.__setattr__(self, "family", self.name)


@dataclass(frozen=True)
class DecisionSettings:
    """How a segment's action is chosen (``[decision]``).

    ``objective = "profit"`` ships the variant with the highest significant incremental profit;
    ``"primary"`` the best significant variant on the primary metric. ``None`` (the key absent)
    means automatic: ``"profit"`` when costs and ``analysis.gross_margin`` are given, else
    ``"primary"`` (see :meth:`Experiment.objective`). ``revenue`` and ``redeemed`` name the metrics
    the profit is made of (margin × revenue − contact cost − offer cost × redeemed); both must be
    among the experiment's metrics for the profit objective.
    """

    objective: str | None = None
    revenue: str = "revenue"
    redeemed: str = "repurchased"


@dataclass(frozen=True)
class ReportSettings:
    """How reports read (``[report]``): language, currency and the tolerated lag of the data."""

    #: ``"en"`` or ``"ja"``: every heading, sentence, table header and plot label.
    language: str = "en"
    #: ISO 4217 code of the money amounts (``"JPY"``, ``"USD"``, ``"EUR"``); None: no symbol shown.
    currency: str | None = None
    #: Fail rather than report when the events data ends more than this many days before the cut-off.
    max_data_lag_days: int = 2


@dataclass(frozen=True)
class Programme:
    """A win-back programme spanning waves (``[programme]``) with a never-contacted holdout share."""

    name: str
    #: Share of the dormant pool that no wave of the programme ever contacts (0 for none).
    holdout: float = 0.0


@dataclass(frozen=True)
class Targeting:
    """Per-cell weights of a targeted wave (``[targeting]``, written by ``abkit init --from --targeted``).

    ``abkit assign`` splits each cell (the ``"|"``-joined values of the ``cells`` columns) by its
    own weights; a cell not listed gets the ``[variants]`` weights.
    """

    #: The columns whose values make a cell (e.g. ``("segment",)``).
    cells: tuple[str, ...]
    #: Cell key -> {variant: weight}; weights of a cell are normalised, zero means never.
    weights: Mapping[str, Mapping[str, float]]


@dataclass(frozen=True)
class MetricDefinition:
    """A metric declared in ``[metrics.define.NAME]``: its kind, column, label and population."""

    name: str
    #: ``"rate"`` (share of customers with a success) or ``"mean"`` (per customer, zeros included).
    kind: str = "rate"
    #: The outcome column (in the outcomes table, or an event name in the events); default: the name.
    column: str = ""
    #: Shown in reports instead of the name (any language).
    label: str = ""
    #: ``"assigned"``: every customer, against the holdout; ``"contacted"``: contacted arms only.
    population: str = "assigned"

    def __post_init__(self) -> None:
        if not self.column:
            object.__setattr__(self, "column", self.name)
        if not self.label:
            object.__setattr__(self, "label", self.name)


@dataclass(frozen=True)
class Metrics:
    """Outcome columns: the primary metric, secondary metrics and guardrails."""

    primary: str
    secondary: tuple[str, ...] = ()
    guardrails: tuple[str, ...] = ()
    custom: tuple[str, ...] = ()
    #: ``[metrics.define.NAME]`` tables by name.
    define: Mapping[str, MetricDefinition] = field(default_factory=dict)

    @property
    def all(self) -> tuple[str, ...]:
        """Primary, secondary and guardrail metrics in that order."""
        return (self.primary, *self.secondary, *self.guardrails)

    def label(self, name: str) -> str:
        """The label reports show for metric ``name`` (its declared label, else the name)."""
        definition = self.define.get(name)
        return definition.label if definition is not None else name


@dataclass(frozen=True)
class Prior:
    """Beta(alpha, beta) prior of the Bayesian analysis of proportions."""

    alpha: float = 1.0
    beta: float = 1.0


@dataclass(frozen=True)
class Analysis:
    """How results are judged."""

    method: str = "frequentist"
    alpha: float = 0.05
    correction: str = "holm"
    #: ``"two-sided"``, ``"larger"`` or ``"smaller"``: passed to :func:`abkit.evaluate`.
    alternative: str = "two-sided"
    prior: Prior = field(default_factory=Prior)
    sequential: bool = False
    power: float = 0.8
    control: str | None = None
    gross_margin: float | None = None
    baseline: float | None = None
    mde: float = 0.2
    guardrail_margin: float = 0.005
    #: Always-valid analysis tuning (``sequential = true``): total units of two arms at the planned horizon.
    n_star: float | None = None
    sequential_method: str = "asymptotic-cs"
    #: Mixing SD of the absolute effect for ``sequential_method = "msprt"`` (required there).
    tau: float | None = None
    #: Pre-campaign population columns for CUPED regression adjustment (e.g. ``monetary_total``).
    covariates: tuple[str, ...] = ()
    #: Pre-campaign columns giving per-value results besides the strata (each its own correction family).
    breakdowns: tuple[str, ...] = ()


@dataclass(frozen=True, repr=False)
class Experiment(Displayable):
    """A validated ``experiment.toml``; load one with :meth:`Experiment.load`.

    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     text = scaffold("spring-winback", send_date="2026-06-01")
    ...     _ = pathlib.Path(d, "experiment.toml").write_text(text)
    ...     exp = Experiment.load(d)
    >>> exp.name, exp.control, exp.contacted_variants
    ('spring-winback', 'holdout', ('coupon', 'personal'))
    >>> exp.dates.window_end
    datetime.date(2026, 6, 15)
    """

    name: str
    hypothesis: str
    owner: str
    salt: str
    dates: Dates
    data: DataSources
    population: PopulationRules
    strata: str | None
    variants: tuple[Variant, ...]
    metrics: Metrics
    analysis: Analysis
    path: Path
    decision: DecisionSettings = field(default_factory=DecisionSettings)
    report: ReportSettings = field(default_factory=ReportSettings)
    programme: Programme | None = None
    targeting: Targeting | None = None
    #: ``[targeting] features``: customer columns ``abkit target --method dr`` learns from.
    target_features: tuple[str, ...] = ()

    # -- loading ------------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Experiment:
        """Read and validate ``path`` (an experiment folder or its ``experiment.toml``)."""
        p = Path(path)
        file = p / SPEC_FILE if p.is_dir() else p
        if not file.is_file():
            where = f"{file} does not exist" if not file.exists() else f"{file} is not a file"
            raise SpecError(
                f"{where}; create the experiment with `abkit init NAME` (or abkit.experiment.scaffold)"
            )
        try:
            text = file.read_text(encoding="utf-8-sig")  # a BOM (as Windows editors write) is fine
        except UnicodeDecodeError as exc:
            raise SpecError(
                f"{file}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8"
            ) from exc
        return cls.from_toml(text, path=file)

    @classmethod
    def from_toml(cls, text: str, *, path: str | os.PathLike[str] = SPEC_FILE) -> Experiment:
        """Validate the TOML ``text``; ``path`` is where it lives (data paths are relative to its folder)."""
        return _Reader(text.removeprefix("\ufeff"), Path(path)).experiment()

    # -- derived ------------------------------------------------------------------------------

    @property
    def folder(self) -> Path:
        """The experiment folder (holding ``experiment.toml``)."""
        return self.path.parent

    @property
    def variant_names(self) -> tuple[str, ...]:
        """Variant names in the order of the spec (the order the assignment uses)."""
        return tuple(v.name for v in self.variants)

    @property
    def weights(self) -> dict[str, float]:
        """Variant name → weight, as given (``abkit.assign`` normalises them)."""
        return {v.name: v.weight for v in self.variants}

    @property
    def holdouts(self) -> tuple[str, ...]:
        """Variants that are not contacted."""
        return tuple(v.name for v in self.variants if not v.contacted)

    @property
    def contacted_variants(self) -> tuple[str, ...]:
        """Variants that receive a message (the send lists)."""
        return tuple(v.name for v in self.variants if v.contacted)

    @property
    def control(self) -> str:
        """The arm every variant is compared with: ``analysis.control``, else the one holdout."""
        return self.analysis.control if self.analysis.control is not None else self.holdouts[0]

    @property
    def has_costs(self) -> bool:
        """True when a contacted variant declares a contact or offer cost."""
        return any(v.contact_cost > 0 or v.offer_cost > 0 for v in self.variants if v.contacted)

    @property
    def objective(self) -> str:
        """The decision objective in force: ``decision.objective``, else automatic.

        Automatic: ``"profit"`` when costs (``contact_cost`` / ``offer_cost``) and
        ``analysis.gross_margin`` are given and the profit's metrics (``decision.revenue`` and
        ``decision.redeemed``) are among the experiment's metrics, otherwise ``"primary"``.
        """
        if self.decision.objective is not None:
            return self.decision.objective
        needed = {self.decision.revenue, self.decision.redeemed}
        profit_ready = (
            self.has_costs and self.analysis.gross_margin is not None and needed <= set(self.metrics.all)
        )
        return "profit" if profit_ready else "primary"

    def variant(self, name: str) -> Variant:
        """The variant called ``name``."""
        for v in self.variants:
            if v.name == name:
                return v
        raise ParameterError(
            f"variant {name!r} is not in {self.path}{_suggest(name, self.variant_names)}; "
            f"variants: {', '.join(self.variant_names)}"
        )

    @property
    def paths(self) -> dict[str, Path]:
        """Data source → resolved path (``customers`` only when declared)."""
        keys = ("customers", "transactions", "events", "outcomes", "assignment")
        return {
            k: self.data_path(k)
            for k in keys
            if getattr(self.data, k) is not None and not (k == "events" and self.data.engine == "postgres")
        }

    def data_path(self, source: str, *, must_exist: bool = False, needed_by: str | None = None) -> Path:
        """Resolved path of ``source`` (customers, transactions, events, outcomes or assignment).

        With ``must_exist=True`` a missing or empty file raises :class:`~abkit.errors.SourceError`
        naming the key, the line and the file. An undeclared source raises SourceError naming the
        key and, when given, the command that ``needed_by`` it.
        """
        keys = ("customers", "transactions", "events", "outcomes", "assignment")
        if source not in keys:
            raise ParameterError(f"source={source!r} is not known{_suggest(source, keys)}; use one of {keys}")
        raw = getattr(self.data, source)
        if raw is None:
            lines = _line_map(self._text())
            where = _where(self.path, lines.get("data"))
            need = f"`abkit {needed_by}` reads data.{source}, which" if needed_by else f"data.{source}"
            raise SourceError(
                f"{where}: {need} is not declared; add `{source} = \"data/{source}.csv\"` "
                "(CSV, Parquet or .xlsx) to the [data] table"
            )
        if source == "events" and self.data.engine == "postgres":
            raise SourceError(
                f"{self.path}: data.events is a PostgreSQL table or query (engine = 'postgres'), not a file"
            )
        p = Path(raw).expanduser()
        p = p if p.is_absolute() else self.folder / p
        if must_exist:
            where = _where(self.path, _line_map(self._text()).get(f"data.{source}"))
            if not p.is_file():
                raise SourceError(f"{where}: data.{source} = {raw!r}: file {p} does not exist")
            if p.stat().st_size == 0:
                raise SourceError(f"{where}: data.{source} = {raw!r}: file {p} is empty")
        return p

    def locate(self, key: str) -> str:
        """``"PATH, line N"`` of the dotted ``key`` in the spec file (its table's line when absent)."""
        lines = _line_map(self._text())
        parts = key.split(".")
        line = lines.get(key)
        while line is None and len(parts) > 1:
            parts = parts[:-1]
            line = lines.get(".".join(parts))
        return _where(self.path, line)

    @property
    def reports_dir(self) -> Path:
        """Where reports are published (``FOLDER/reports``)."""
        return self.folder / "reports"

    @property
    def send_lists_dir(self) -> Path:
        """Where send lists are exported (``FOLDER/send_lists``)."""
        return self.folder / "send_lists"

    def _text(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError):
            return ""

    # -- checks -------------------------------------------------------------------------------

    def check_assignment(self, frame: pd.DataFrame, *, variant_col: str = "variant") -> None:
        """Raise :class:`~abkit.errors.SpecError` unless the assignment's variants are the spec's.

        A variant of the spec without any customer in ``frame``, or a variant of ``frame`` missing
        from the spec, is an error naming both sides.
        """
        check_columns(frame, [variant_col], what="assignment")
        counts = frame[variant_col].astype(str).value_counts()
        have = set(counts.index)
        lines = _line_map(self._text())
        absent = [v for v in self.variant_names if v not in have]
        if absent:
            first = absent[0]
            raise SpecError(
                f"{_where(self.path, lines.get(f'variants.{first}'))}: variant(s) "
                f"{', '.join(map(repr, absent))} of the spec have no customer in the assignment "
                f"(its variants: {', '.join(map(repr, sorted(have)))}); "
                "re-run the assignment or fix [variants]"
            )
        extra = [v for v in counts.index if v not in self.variant_names]
        if extra:
            shown = ", ".join(f"{v!r} ({int(counts[v]):,} customers)" for v in extra)
            raise SpecError(
                f"{_where(self.path, lines.get('variants'))}: the assignment has variant(s) {shown} that "
                f"are not in the spec (variants: {', '.join(map(repr, self.variant_names))}); "
                "add them to [variants] or use the assignment made for this spec"
            )

    # -- writing ------------------------------------------------------------------------------

    def to_toml(self) -> str:
        """The spec as TOML text (every key explicit) that :meth:`from_toml` reads back equal.

        The values are written by :func:`tomli_w.dumps`, so any name (spaces, quotes, Japanese)
        is quoted by a maintained TOML writer; only the first line, a comment, is plain text.

        >>> exp = Experiment.from_toml(scaffold("spring-winback", send_date="2026-06-01"))
        >>> Experiment.from_toml(exp.to_toml()) == exp
        True
        """
        return f"# abkit experiment spec ({_comment(self.name)})\n\n" + tomli_w.dumps(self._toml_dict())

    def _toml_dict(self) -> dict[str, Any]:
        """The spec as nested plain values, table by table, in the order :meth:`to_toml` writes them."""
        optional = _without_none
        files = ("customers", "transactions", "events", "outcomes", "assignment")
        data: dict[str, Any] = optional({k: getattr(self.data, k) for k in files})
        data["engine"] = self.data.engine
        extras = ("url_env", "spark_master", "encoding", "sheet", "timestamp_format")
        data |= optional({k: getattr(self.data, k) for k in extras})
        data["timezone"] = self.data.timezone
        data["max_bad_share"] = self.data.max_bad_share
        data["columns"] = {f.name: getattr(self.data.columns, f.name) for f in dataclasses.fields(Columns)}
        for table, mapping in self.data.table_columns.items():
            data["columns"][table] = dict(mapping)
        if self.data.event_names:
            data["event_names"] = dict(self.data.event_names)
        pop = self.population
        population: dict[str, Any] = optional(
            {
                "dormant_after": pop.dormant_after,
                "lapsed_after": pop.lapsed_after,
                "exclude": list(pop.exclude),
                "lapsed_flags": list(pop.lapsed_flags),
                "cooldown_days": pop.cooldown_days,
            }
        )
        if pop.segment_rules:
            population["segments"] = {k: _plain(v) for k, v in pop.segment_rules.items()}
        doc: dict[str, Any] = {
            "name": self.name,
            "hypothesis": self.hypothesis,
            "owner": self.owner,
            "salt": self.salt,
            "dates": {
                "send_date": self.dates.send_date,
                "window_days": self.dates.window_days,
                "planned_end": self.dates.planned_end,
            },
            "data": data,
            "population": population,
        }
        if self.strata is not None:
            doc["strata"] = {"column": self.strata}
        doc["variants"] = {
            v.name: optional(
                {
                    "weight": v.weight,
                    "channel": v.channel,
                    "contacted": v.contacted,
                    "contact_cost": v.contact_cost,
                    "offer_cost": v.offer_cost,
                    "description": v.description or None,
                    "family": v.family if v.family != v.name else None,
                }
            )
            for v in self.variants
        }
        m, a, dec, r = self.metrics, self.analysis, self.decision, self.report
        doc["metrics"] = {
            "primary": m.primary,
            "secondary": list(m.secondary),
            "guardrails": list(m.guardrails),
        }
        if m.custom:
            doc["metrics"]["custom"] = list(m.custom)
        if m.define:
            doc["metrics"]["define"] = {
                d.name: {"kind": d.kind, "column": d.column, "label": d.label, "population": d.population}
                for d in m.define.values()
            }
        doc["analysis"] = optional(
            {
                "method": a.method,
                "alpha": a.alpha,
                "correction": a.correction,
                "alternative": None if a.alternative == "two-sided" else a.alternative,
                "sequential": a.sequential,
                "sequential_method": a.sequential_method,
                "n_star": a.n_star,
                "tau": a.tau,
                "covariates": list(a.covariates),
                "breakdowns": list(a.breakdowns) or None,
                "power": a.power,
                "control": a.control,
                "gross_margin": a.gross_margin,
                "baseline": a.baseline,
                "mde": a.mde,
                "guardrail_margin": a.guardrail_margin,
            }
        )
        doc["analysis"]["prior"] = {"alpha": a.prior.alpha, "beta": a.prior.beta}
        doc["decision"] = optional(
            {"objective": dec.objective, "revenue": dec.revenue, "redeemed": dec.redeemed}
        )
        doc["report"] = optional(
            {"language": r.language, "currency": r.currency, "max_data_lag_days": r.max_data_lag_days}
        )
        if self.programme is not None:
            doc["programme"] = {"name": self.programme.name, "holdout": self.programme.holdout}
        if self.targeting is not None:
            doc["targeting"] = {
                "cells": list(self.targeting.cells),
                "weights": {cell: dict(w) for cell, w in self.targeting.weights.items()},
            }
        if self.target_features:
            doc.setdefault("targeting", {})["features"] = list(self.target_features)
        return doc

    # -- display ------------------------------------------------------------------------------

    def to_pandas(self) -> pd.DataFrame:
        """The variants as a table: weight, share of the split, channel, contact and costs."""
        total = sum(v.weight for v in self.variants)
        return pd.DataFrame(
            {
                "variant": [v.name for v in self.variants],
                "weight": [v.weight for v in self.variants],
                "share": [v.weight / total for v in self.variants],
                "channel": [v.channel for v in self.variants],
                "contacted": [v.contacted for v in self.variants],
                "contact_cost": [v.contact_cost for v in self.variants],
                "offer_cost": [v.offer_cost for v in self.variants],
            }
        )

    def _title(self) -> str:
        return f"Experiment {self.name} (owner {self.owner})"

    def _notes(self) -> list[str]:
        d, a, m = self.dates, self.analysis, self.metrics
        prior = f", prior Beta({a.prior.alpha:g}, {a.prior.beta:g})" if a.method == "bayesian" else ""
        return [
            f"Hypothesis: {self.hypothesis}",
            f"Sent {d.send_date}, attribution window {d.window_days} days "
            f"(through {d.window_end - dt.timedelta(days=1)}), "
            f"planned end {d.planned_end}; control: {self.control}; strata: {self.strata or 'none'}.",
            f"Primary metric: {m.primary}; secondary: {', '.join(m.secondary) or 'none'}; "
            f"guardrails: {', '.join(m.guardrails) or 'none'}.",
            f"Analysis: {a.method}, alpha {a.alpha:g}, correction {a.correction}{prior}"
            + ("" if a.alternative == "two-sided" else f", one-sided ({a.alternative})")
            + ".",
        ]

    def __repr__(self) -> str:
        return (
            f"Experiment(name={self.name!r}, send_date={self.dates.send_date}, "
            f"variants={list(self.variant_names)}, control={self.control!r}, "
            f"primary={self.metrics.primary!r})"
        )


# ----------------------------------------------------------------------------------------------
# reading and validating


def _suggest(value: str, options: Sequence[str]) -> str:
    close = difflib.get_close_matches(str(value), list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _where(path: Path, line: int | None) -> str:
    return f"{path}, line {line}" if line else str(path)


_BARE = r"[A-Za-z0-9_-]+"
_QUOTED = r"\"(?:[^\"\\]|\\.)*\"|'[^']*'"
_KEY = rf"(?:{_BARE}|{_QUOTED})"
_DOTTED = rf"{_KEY}(?:\s*\.\s*{_KEY})*"
_HEADER_RE = re.compile(rf"^\[\[?\s*({_DOTTED})\s*\]\]?")
_ASSIGN_RE = re.compile(rf"^({_DOTTED})\s*=")
_INLINE_RE = re.compile(rf"[{{,]\s*({_DOTTED})\s*=")


def _split_key(dotted: str) -> tuple[str, ...]:
    parts = re.findall(_KEY, dotted)
    return tuple(p[1:-1] if p[:1] in "\"'" else p for p in parts)


def _line_map(text: str) -> dict[str, int]:
    """Dotted key → line of its first appearance (tables by their header); tomllib gives no lines."""
    lines: dict[str, int] = {}
    table: tuple[str, ...] = ()
    in_string: str | None = None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if in_string is not None:
            if in_string in line:
                in_string = None
            continue
        if not line or line.startswith("#"):
            continue
        header = _HEADER_RE.match(line)
        if header:
            table = _split_key(header.group(1))
            for i in range(1, len(table) + 1):
                lines.setdefault(".".join(table[:i]), lineno)
            continue
        assign = _ASSIGN_RE.match(line)
        if not assign:
            continue
        key = table + _split_key(assign.group(1))
        for i in range(1, len(key) + 1):
            lines.setdefault(".".join(key[:i]), lineno)
        rest = line[assign.end() :]
        for inner in _INLINE_RE.finditer(rest):
            lines.setdefault(".".join(key + _split_key(inner.group(1))), lineno)
        for quote in ('"""', "'''"):
            if rest.count(quote) == 1:
                in_string = quote
    return lines


class _Reader:
    """Validates the parsed TOML; every error names the file, the dotted key and its line."""

    def __init__(self, text: str, path: Path) -> None:
        self.path = path
        try:
            self.doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            found = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
            lineno = getattr(exc, "lineno", None) or (int(found.group(1)) if found else None)
            colno = getattr(exc, "colno", None) or (int(found.group(2)) if found else None)
            what = str(exc)[: found.start()].strip() if found else str(exc)
            where = f"{path}, line {lineno}, column {colno}" if lineno else str(path)
            raise SpecError(f"{where}: not valid TOML: {what}; fix the syntax there") from exc
        self.lines = _line_map(text)

    def fail(self, key: str, problem: str) -> SpecError:
        line = self.lines.get(key)
        parts = key.split(".")
        while line is None and len(parts) > 1:  # a missing key: point at its table
            parts = parts[:-1]
            line = self.lines.get(".".join(parts))
        return SpecError(f"{_where(self.path, line)}: {key}: {problem}")

    def table(
        self, parent: Mapping[str, Any], key: str, schema: str, *, required: bool = True
    ) -> dict[str, Any]:
        where = key
        if key.rpartition(".")[2] not in parent:
            if required:
                raise self.fail(where, f"missing table [{where}]; add it")
            return {}
        value = parent[key.rpartition(".")[2]]
        if not isinstance(value, dict):
            raise self.fail(where, f"must be a table ([{where}]), got {_tname(value)} {value!r}")
        self.known(value, where, schema)
        return value

    def known(self, table: Mapping[str, Any], prefix: str, schema: str) -> None:
        allowed = _KEYS[schema]
        for k in table:
            if k not in allowed:
                dotted = f"{prefix}.{k}" if prefix else k
                raise self.fail(
                    dotted,
                    f"unknown key {k!r}{_suggest(k, allowed)}; known keys here: {', '.join(allowed)}",
                )

    def get(self, table: Mapping[str, Any], prefix: str, key: str, kind: str, default: Any = ...) -> Any:
        dotted = f"{prefix}.{key}" if prefix else key
        if key not in table:
            if default is ...:
                raise self.fail(dotted, f"missing required key {key!r}; add `{key} = ...`")
            return default
        value = table[key]
        check = {
            "str": lambda v: isinstance(v, str),
            "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
            "bool": lambda v: isinstance(v, bool),
            "str_list": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
        }[kind]
        if not check(value):
            want = {
                "str": "a string (in quotes)",
                "int": "an integer",
                "number": "a number",
                "bool": "true or false",
                "str_list": 'a list of strings, e.g. ["a", "b"]',
            }[kind]
            raise self.fail(dotted, f"must be {want}, got {_tname(value)} {value!r}")
        if kind == "number" and not math.isfinite(value):
            raise self.fail(dotted, f"must be a finite number, got {value!r}")
        if kind == "str" and not value.strip():
            raise self.fail(dotted, "must not be empty")
        if kind == "str_list":
            dups = sorted({x for x in value if value.count(x) > 1})
            if dups:
                raise self.fail(dotted, f"lists {', '.join(map(repr, dups))} more than once")
            return tuple(value)
        return float(value) if kind == "number" else value

    def date(self, table: Mapping[str, Any], prefix: str, key: str, default: Any = ...) -> dt.date:
        dotted = f"{prefix}.{key}"
        if key not in table:
            if default is ...:
                raise self.fail(dotted, f"missing required key {key!r}; add `{key} = 2026-06-01` (a date)")
            return default
        value = table[key]
        if isinstance(value, dt.datetime):
            raise self.fail(dotted, f"must be a date (YYYY-MM-DD), not a date-time: {value.isoformat()}")
        day: dt.date | None = None
        if isinstance(value, dt.date):
            day = value
        elif isinstance(value, str):
            try:
                day = dt.date.fromisoformat(value.strip())
            except ValueError:
                day = None
        if day is None:
            raise self.fail(dotted, f"{value!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-06-01")
        low, high = YEAR_RANGE
        if not low <= day.year <= high:
            raise self.fail(dotted, f"{day.isoformat()} is outside the years {low}-{high}; check the year")
        return day

    def experiment(self) -> Experiment:
        doc = self.doc
        self.known(doc, "", "")
        name = self.get(doc, "", "name", "str")
        if not _NAME_RE.fullmatch(name) or len(name) > MAX_NAME_LENGTH:
            raise self.fail(
                "name",
                f"{name!r} must be letters, digits, '-', '_' or '.' (at most {MAX_NAME_LENGTH}, starting "
                "with a letter or digit; it names report files)",
            )
        hypothesis = self.get(doc, "", "hypothesis", "str")
        owner = self.get(doc, "", "owner", "str")
        salt = self.get(doc, "", "salt", "str")
        dates = self._dates()
        data = self._data()
        population = self._population(data)
        strata_t = self.table(doc, "strata", "strata", required=False)
        strata = self.get(strata_t, "strata", "column", "str") if "strata" in doc else None
        variants = self._variants()
        metrics = self._metrics()
        analysis = self._analysis(variants)
        decision = self._decision()
        if decision.objective == "profit":
            if analysis.gross_margin is None:
                raise self.fail(
                    "decision.objective",
                    '"profit" needs analysis.gross_margin (the share of revenue kept) and the variants\' '
                    'contact_cost / offer_cost; add them or use objective = "primary"',
                )
            missing = [m for m in (decision.revenue, decision.redeemed) if m not in metrics.all]
            if missing:
                raise self.fail(
                    "decision.objective",
                    f'"profit" is made of the metrics {decision.revenue!r} (revenue) and '
                    f"{decision.redeemed!r} (redeemed), but {', '.join(map(repr, missing))} is not among "
                    "the metrics; add it to metrics.secondary or name your columns in "
                    "decision.revenue / decision.redeemed",
                )
        report = self._report()
        programme = self._programme()
        targeting = self._targeting(variants)
        target_features = self._target_features()
        return Experiment(
            name=name,
            hypothesis=hypothesis,
            owner=owner,
            salt=salt,
            dates=dates,
            data=data,
            population=population,
            strata=strata,
            variants=variants,
            metrics=metrics,
            analysis=analysis,
            path=self.path,
            decision=decision,
            report=report,
            programme=programme,
            targeting=targeting,
            target_features=target_features,
        )

    def _target_features(self) -> tuple[str, ...]:
        if "targeting" not in self.doc:
            return ()
        t = self.table(self.doc, "targeting", "targeting")
        features = self.get(t, "targeting", "features", "str_list", ())
        if "features" in t and not features:
            raise self.fail(
                "targeting.features", 'must name at least one column, e.g. features = ["recency_days"]'
            )
        return features

    def _decision(self) -> DecisionSettings:
        t = self.table(self.doc, "decision", "decision", required=False)
        objective = self.get(t, "decision", "objective", "str", None)
        if objective is not None and objective not in OBJECTIVES:
            raise self.fail(
                "decision.objective",
                f"{objective!r} is not known{_suggest(objective, OBJECTIVES)}; use \"profit\" (incremental "
                "profit, needs costs and analysis.gross_margin) or \"primary\" (the primary metric)",
            )
        d = DecisionSettings()
        revenue = self.get(t, "decision", "revenue", "str", d.revenue)
        redeemed = self.get(t, "decision", "redeemed", "str", d.redeemed)
        return DecisionSettings(objective=objective, revenue=revenue, redeemed=redeemed)

    def _report(self) -> ReportSettings:
        t = self.table(self.doc, "report", "report", required=False)
        d = ReportSettings()
        language = self.get(t, "report", "language", "str", d.language)
        if language not in LANGUAGES:
            raise self.fail(
                "report.language",
                f"{language!r} is not available{_suggest(language, LANGUAGES)}; use one of "
                f"{', '.join(map(repr, LANGUAGES))}",
            )
        currency = self.get(t, "report", "currency", "str", None)
        if currency is not None and not _CURRENCY_RE.fullmatch(currency):
            raise self.fail(
                "report.currency",
                f"{currency!r} is not an ISO 4217 currency code; write three capital letters, e.g. "
                '"JPY", "USD" or "EUR"',
            )
        lag = self.get(t, "report", "max_data_lag_days", "int", d.max_data_lag_days)
        if not 0 <= lag <= MAX_WINDOW_DAYS:
            raise self.fail(
                "report.max_data_lag_days",
                f"must be between 0 and {MAX_WINDOW_DAYS} days, got {lag}",
            )
        return ReportSettings(language=language, currency=currency, max_data_lag_days=lag)

    def _programme(self) -> Programme | None:
        if "programme" not in self.doc:
            return None
        t = self.table(self.doc, "programme", "programme")
        name = self.get(t, "programme", "name", "str")
        if not _NAME_RE.fullmatch(name) or len(name) > MAX_NAME_LENGTH:
            raise self.fail(
                "programme.name",
                f"{name!r} must be at most {MAX_NAME_LENGTH} letters, digits, '-', '_' or '.' "
                "(it salts the programme holdout)",
            )
        holdout = self.get(t, "programme", "holdout", "number", 0.0)
        if not 0 <= holdout < 1:
            raise self.fail(
                "programme.holdout",
                f"must be a share in [0, 1) of the dormant pool never contacted (e.g. 0.05), got {holdout!r}",
            )
        return Programme(name=name, holdout=holdout)

    def _targeting(self, variants: tuple[Variant, ...]) -> Targeting | None:
        if "targeting" not in self.doc:
            return None
        t = self.table(self.doc, "targeting", "targeting")
        if "features" in t and "cells" not in t and "weights" not in t:
            return None  # only the dr learner's features: this wave is not split by per-cell weights
        cells = self.get(t, "targeting", "cells", "str_list")
        if not cells:
            raise self.fail("targeting.cells", 'must name at least one column, e.g. cells = ["segment"]')
        raw = t.get("weights")
        if not isinstance(raw, dict):
            raise self.fail(
                "targeting.weights",
                f'must be tables [targeting.weights."CELL"] with variant = weight, got {_tname(raw)} {raw!r}',
            )
        names = [v.name for v in variants]
        weights: dict[str, dict[str, float]] = {}
        for cell, table in raw.items():
            where = f"targeting.weights.{cell}"
            if not isinstance(table, dict):
                raise self.fail(where, f"must be a table of variant = weight, got {_tname(table)} {table!r}")
            arms: dict[str, float] = {}
            for arm in table:
                if arm not in names:
                    raise self.fail(
                        f"{where}.{arm}",
                        f"{arm!r} is not a variant{_suggest(arm, names)}; variants: {', '.join(names)}",
                    )
                w = self.get(table, where, arm, "number")
                if w < 0:
                    raise self.fail(f"{where}.{arm}", f"must not be negative, got {w:g}")
                arms[arm] = w
            if not any(w > 0 for w in arms.values()):
                raise self.fail(where, "needs at least one variant with a weight above 0")
            weights[str(cell)] = arms
        return Targeting(cells=cells, weights=weights)

    def _dates(self) -> Dates:
        t = self.table(self.doc, "dates", "dates")
        send = self.date(t, "dates", "send_date")
        window = self.get(t, "dates", "window_days", "int")
        if not 1 <= window <= MAX_WINDOW_DAYS:
            raise self.fail(
                "dates.window_days", f"must be between 1 and {MAX_WINDOW_DAYS} days, got {window}"
            )
        end = send + dt.timedelta(days=window)
        planned = self.date(t, "dates", "planned_end", end)
        if planned < end:
            raise self.fail(
                "dates.planned_end",
                f"{planned} is before the attribution window ends ({end} = send_date + window_days); "
                "end the experiment after the window",
            )
        return Dates(send_date=send, window_days=window, planned_end=planned)

    def _data(self) -> DataSources:
        t = self.table(self.doc, "data", "data")
        engine = self.get(t, "data", "engine", "str", None)
        if engine is not None and engine not in ENGINES:
            raise self.fail(
                "data.engine",
                f"{engine!r} is not known{_suggest(engine, ENGINES)}; use one of {', '.join(ENGINES)}",
            )
        paths: dict[str, str | None] = {}
        for key in ("customers", "transactions", "events", "outcomes", "assignment"):
            raw = self.get(t, "data", key, "str", ... if key == "assignment" else None)
            if raw is not None and _URL_RE.match(raw):
                # never echo the value: it holds a database URL, possibly with its password
                raise self.fail(
                    f"data.{key}",
                    "looks like a database URL; never write a URL or a password in experiment.toml: "
                    "export it in an environment variable and name that variable in data.url_env "
                    '(e.g. url_env = "ABKIT_DATABASE_URL"), with engine = "postgres" and data.events '
                    "a table name or a SELECT query",
                )
            paths[key] = raw
            if raw is None or (key == "events" and engine in ("postgres", "spark")):
                continue
            many = _is_collection(raw)
            if key == "events" and many and engine is None:
                engine = "duckdb"  # a directory or a glob: read by DuckDB, out of core
            if key == "events" and many and engine == "pandas":
                raise self.fail(
                    "data.events",
                    f"{raw!r} is a directory or a glob, which engine = 'pandas' cannot read; "
                    "use engine = 'duckdb' (or drop the engine key)",
                )
            if key == "assignment" and many:
                raise self.fail("data.assignment", f"{raw!r} must be one file (abkit writes it once)")
            if key == "outcomes" and many:
                raise self.fail("data.outcomes", f"{raw!r} must be one file (one row per customer)")
            suffixes = DATA_SUFFIXES if key != "assignment" else (".csv", ".parquet")
            kinds = "CSV or Parquet" if len(suffixes) == 2 else "CSV, Parquet or Excel"
            if not many and not raw.lower().endswith(suffixes):
                raise self.fail(
                    f"data.{key}",
                    f"{raw!r} must end in {', '.join(suffixes[:-1])} or {suffixes[-1]} ({kinds}; "
                    "a directory ends in '/', a glob holds '*')",
                )
            if key == "events" and raw.lower().endswith(".xlsx") and engine not in (None, "pandas"):
                raise self.fail("data.events", f"{raw!r}: an .xlsx file is read with engine = 'pandas' only")
        if paths["events"] is None and paths["outcomes"] is None:
            raise self.fail(
                "data.events",
                "missing required key 'events' (or 'outcomes'): declare the campaign's results: "
                "events = \"...\" (an event log: customer_id, event, "
                "timestamp, amount) and/or outcomes = \"...\" (one row per customer with outcome columns)",
            )
        if paths["outcomes"] is not None and engine not in (None, "pandas"):
            raise self.fail(
                "data.outcomes",
                "a per-customer outcomes table is combined with engine = 'pandas' only "
                f"(engine is {engine!r})",
            )
        if paths["events"] is None and engine not in (None, "pandas"):
            raise self.fail("data.engine", f"engine = {engine!r} reads data.events, which is not declared")
        engine = engine or "pandas"
        if engine == "postgres" and str(paths["events"]).strip().lower().endswith(DATA_SUFFIXES):
            raise self.fail(
                "data.events",
                f"{paths['events']!r} looks like a file; with engine = 'postgres' it is a table name "
                "(schema.table) or a SQL query (SELECT ...)",
            )
        url_env = self.get(t, "data", "url_env", "str", None)
        if url_env is not None and engine != "postgres":
            raise self.fail("data.url_env", f"applies only to engine = 'postgres' (engine is {engine!r})")
        if url_env is not None and not _ENV_NAME_RE.match(url_env):
            # never echo the value: it may be a URL with a password written here by mistake
            raise self.fail(
                "data.url_env",
                "must be the NAME of an environment variable (letters, digits, '_') that holds the "
                'database URL, e.g. url_env = "ABKIT_DATABASE_URL"; never write the URL or a password '
                "in experiment.toml",
            )
        if engine == "postgres" and url_env is None:
            url_env = DEFAULT_URL_ENV
        spark_master = self.get(t, "data", "spark_master", "str", None)
        if spark_master is not None and engine != "spark":
            raise self.fail("data.spark_master", f"applies only to engine = 'spark' (engine is {engine!r})")
        cols_t = self.table(t, "data.columns", "data.columns", required=False)
        cols = Columns(
            **{
                f.name: self.get(cols_t, "data.columns", f.name, "str", f.default)
                for f in dataclasses.fields(Columns)
            }
        )
        table_columns: dict[str, dict[str, str]] = {}
        if "events" in cols_t and engine != "pandas":
            raise self.fail(
                "data.columns.events",
                f"applies to engine = 'pandas'; with engine = {engine!r} name the events' columns in "
                "[data.columns]",
            )
        for table in TABLES:
            if table in cols_t:
                sub = self.table(cols_t, f"data.columns.{table}", "data.columns.table")
                table_columns[table] = {k: self.get(sub, f"data.columns.{table}", k, "str") for k in sub}
        names_t = self.table(t, "data.event_names", "data.event_names", required=False)
        event_names = {k: self.get(names_t, "data.event_names", k, "str") for k in names_t}
        used = list(event_names.values())
        clash = sorted({v for v in used if used.count(v) > 1})
        if clash:
            raise self.fail(
                "data.event_names", f"maps several standard events to {clash[0]!r}; each needs its own"
            )
        encoding = self.get(t, "data", "encoding", "str", None)
        if encoding is not None:
            try:
                encoding = check_encoding(encoding)
            except ParameterError as exc:
                raise self.fail("data.encoding", str(exc).removeprefix("encoding ")) from None
        sheet = self.get(t, "data", "sheet", "str", None)
        timestamp_format = self.get(t, "data", "timestamp_format", "str", None)
        if timestamp_format is not None and "%" not in timestamp_format:
            raise self.fail(
                "data.timestamp_format",
                f"{timestamp_format!r} is not a strptime format; write e.g. \"%d/%m/%Y %H:%M\" "
                "(%d day, %m month, %Y year, %H hour, %M minute)",
            )
        timezone = self.get(t, "data", "timezone", "str", "UTC")
        try:
            timezone = check_timezone(timezone).key
        except ParameterError as exc:
            raise self.fail("data.timezone", str(exc).removeprefix("time zone ")) from None
        if engine != "pandas" and (timezone != "UTC" or timestamp_format is not None):
            key = "data.timezone" if timezone != "UTC" else "data.timestamp_format"
            raise self.fail(
                key,
                f"applies to engine = 'pandas' (engine is {engine!r}); store the events' timestamps in UTC "
                "or with their offset for the other engines",
            )
        max_bad = self.get(t, "data", "max_bad_share", "number", 0.001)
        if not 0 <= max_bad < 0.5:
            raise self.fail(
                "data.max_bad_share",
                "must be a share in [0, 0.5) of malformed rows that may be dropped (e.g. 0.001), "
                f"got {max_bad!r}",
            )
        return DataSources(
            transactions=paths["transactions"],
            events=paths["events"],
            assignment=str(paths["assignment"]),
            customers=paths["customers"],
            columns=cols,
            engine=engine,
            url_env=url_env,
            spark_master=spark_master,
            outcomes=paths["outcomes"],
            encoding=encoding,
            sheet=sheet,
            timestamp_format=timestamp_format,
            timezone=timezone,
            max_bad_share=max_bad,
            table_columns=table_columns,
            event_names=event_names,
        )

    def _population(self, data: DataSources) -> PopulationRules:
        t = self.table(self.doc, "population", "population", required=False)
        d = PopulationRules()
        dormant = self.get(t, "population", "dormant_after", "int", d.dormant_after)
        lapsed = self.get(t, "population", "lapsed_after", "int", d.lapsed_after)
        if dormant < 1:
            raise self.fail("population.dormant_after", f"must be at least 1 day, got {dormant}")
        if lapsed <= dormant:
            raise self.fail(
                "population.lapsed_after", f"{lapsed} must be greater than dormant_after = {dormant} (days)"
            )
        # without a customers table there are no flags to read: the defaults then exclude nothing
        no_customers = data.customers is None
        exclude = self.get(t, "population", "exclude", "str_list", () if no_customers else d.exclude)
        flags = self.get(t, "population", "lapsed_flags", "str_list", () if no_customers else d.lapsed_flags)
        if data.customers is None:
            for key, value in (("exclude", exclude), ("lapsed_flags", flags)):
                if value:
                    raise self.fail(
                        f"population.{key}",
                        f"flags {list(value)} need a customers table; add data.customers or set {key} = []",
                    )
        seg_t = self.table(t, "population.segments", "population.segments", required=False) if t else {}
        rules: dict[str, Any] = {}
        for key, value in seg_t.items():
            dotted = f"population.segments.{key}"
            if key.endswith("_quantile"):
                q = self.get(seg_t, "population.segments", key, "number")
                if not 0 < q < 1:
                    raise self.fail(dotted, f"must be strictly between 0 and 1 (a quantile), got {value!r}")
                rules[key] = q
            elif key.endswith("_threshold"):
                x = self.get(seg_t, "population.segments", key, "number")
                if x <= 0:
                    raise self.fail(dotted, f"must be positive, got {value!r}")
                rules[key] = x
            elif key == "value_measure":
                rules[key] = self.get(seg_t, "population.segments", key, "str")
            else:  # precedence
                order = self.get(seg_t, "population.segments", key, "str_list")
                bad = [s for s in order if s not in _RULED_SEGMENTS]
                if bad:
                    raise self.fail(
                        dotted, f"{bad[0]!r} is not a segment with a rule; use {list(_RULED_SEGMENTS)}"
                    )
                rules[key] = order
        cooldown = self.get(t, "population", "cooldown_days", "int", None)
        if cooldown is not None and not 1 <= cooldown <= 3660:
            raise self.fail(
                "population.cooldown_days",
                f"must be a number of days between 1 and 3660 (e.g. 60), got {cooldown}",
            )
        return PopulationRules(dormant, lapsed, exclude, flags, rules, cooldown_days=cooldown)

    def _variants(self) -> tuple[Variant, ...]:
        if "variants" not in self.doc:
            raise self.fail(
                "variants", "missing table [variants.NAME]; declare at least a holdout and one variant"
            )
        t = self.doc["variants"]
        if not isinstance(t, dict):
            raise self.fail("variants", f"must be tables [variants.NAME], got {_tname(t)} {t!r}")
        variants: list[Variant] = []
        seen: dict[str, str] = {}
        for name, spec in t.items():
            key = f"variants.{name}"
            if not isinstance(spec, dict):
                raise self.fail(
                    key, f"must be a table [variants.{name}] with weight, channel, ...; got {spec!r}"
                )
            problem = label_problem(name)
            if problem is not None:
                raise self.fail(
                    key,
                    f"variant name {name!r} {problem} (any text of at most {MAX_LABEL_LENGTH} characters; "
                    'quote it in the header, e.g. [variants."No E-Mail"])',
                )
            if name.lower() in seen:
                raise self.fail(key, f"variant {name!r} differs from {seen[name.lower()]!r} only by case")
            seen[name.lower()] = name
            self.known(spec, key, "variant")
            weight = self.get(spec, key, "weight", "number")
            if weight <= 0:
                raise self.fail(f"{key}.weight", f"must be positive, got {spec['weight']!r}")
            contacted = self.get(spec, key, "contacted", "bool", True)
            channel = self.get(spec, key, "channel", "str", "email" if contacted else "none")
            problem = label_problem(channel)
            if problem is not None:
                raise self.fail(
                    f"{key}.channel",
                    f"{channel!r} {problem}; a channel is a label such as {', '.join(CHANNELS[:-1])}",
                )
            if contacted and channel == "none":
                raise self.fail(
                    f"{key}.channel",
                    "a contacted variant needs a channel; for a holdout set contacted = false",
                )
            if not contacted and channel != "none":
                raise self.fail(
                    f"{key}.channel", f'{channel!r} contradicts contacted = false; use channel = "none"'
                )
            costs = {}
            for cost in ("contact_cost", "offer_cost"):
                c = self.get(spec, key, cost, "number", 0.0)
                if c < 0:
                    raise self.fail(f"{key}.{cost}", f"must be zero or positive, got {spec[cost]!r}")
                if c > 0 and not contacted:
                    raise self.fail(
                        f"{key}.{cost}", f"is {c:g}, but {name!r} is not contacted (contacted = false)"
                    )
                costs[cost] = c
            description = (
                "" if spec.get("description") == "" else self.get(spec, key, "description", "str", "")
            )
            family = self.get(spec, key, "family", "str", name)
            variants.append(
                Variant(
                    name=name,
                    weight=weight,
                    channel=channel,
                    contacted=contacted,
                    contact_cost=costs["contact_cost"],
                    offer_cost=costs["offer_cost"],
                    description=description,
                    family=family,
                )
            )
        if len(variants) < 2:
            raise self.fail(
                "variants",
                f"declares {len(variants)} variant(s); a test needs a holdout and at least one variant",
            )
        return tuple(variants)

    def _define(self, t: Mapping[str, Any]) -> dict[str, MetricDefinition]:
        define_t = t.get("define", {}) if t else {}
        if not isinstance(define_t, dict):
            raise self.fail("metrics.define", "must be tables [metrics.define.NAME] with kind, column, label")
        out: dict[str, MetricDefinition] = {}
        for name, spec in define_t.items():
            key = f"metrics.define.{name}"
            if not isinstance(spec, dict):
                raise self.fail(
                    key, f'must be a table [metrics.define.{_key(name)}] with kind = "rate" or "mean"'
                )
            problem = label_problem(name)
            if problem is not None:
                raise self.fail(key, f"metric name {name!r} {problem}")
            self.known(spec, key, "metric")
            kind = self.get(spec, key, "kind", "str", "rate")
            if kind not in METRIC_KINDS:
                raise self.fail(
                    f"{key}.kind",
                    f"{kind!r} is not known{_suggest(kind, METRIC_KINDS)}; use \"rate\" (share of customers "
                    "with a success, a 0/1 or true/false column) or \"mean\" (an amount per customer)",
                )
            population = self.get(spec, key, "population", "str", "assigned")
            if population not in METRIC_POPULATIONS:
                raise self.fail(
                    f"{key}.population",
                    f"{population!r} is not known{_suggest(population, METRIC_POPULATIONS)}; "
                    "use \"assigned\" "
                    "(every customer, against the holdout) or \"contacted\" (contacted arms only)",
                )
            column = self.get(spec, key, "column", "str", name)
            label = self.get(spec, key, "label", "str", name)
            out[name] = MetricDefinition(name, kind=kind, column=column, label=label, population=population)
        return out

    def _metrics(self) -> Metrics:
        t = self.table(self.doc, "metrics", "metrics")
        custom = self.get(t, "metrics", "custom", "str_list", ())
        for c in custom:
            if c in KNOWN_METRICS:
                raise self.fail(
                    "metrics.custom", f"{c!r} is a built-in metric; list only your own outcome columns"
                )
        define = self._define(t)
        declared = [d for d in define if d not in KNOWN_METRICS and d not in custom]
        allowed = (*KNOWN_METRICS, *custom, *declared)
        primary = self.get(t, "metrics", "primary", "str")
        secondary = self.get(t, "metrics", "secondary", "str_list", ())
        guardrails = self.get(t, "metrics", "guardrails", "str_list", ())
        seen: dict[str, str] = {}
        for key, names in (("primary", (primary,)), ("secondary", secondary), ("guardrails", guardrails)):
            for m in names:
                if m not in allowed:
                    raise self.fail(
                        f"metrics.{key}",
                        f"{m!r} is not a known metric{_suggest(m, allowed)}; use {', '.join(allowed)} "
                        f"or declare it: [metrics.define.{_key(m)}] kind = \"rate\" (or \"mean\"), "
                        "column = \"...\"",
                    )
                if m in seen:
                    raise self.fail(f"metrics.{key}", f"{m!r} is already listed in metrics.{seen[m]}")
                seen[m] = key
        return Metrics(primary, secondary, guardrails, custom, define)

    def _analysis(self, variants: tuple[Variant, ...]) -> Analysis:
        t = self.table(self.doc, "analysis", "analysis", required=False)
        d = Analysis()
        method = self.get(t, "analysis", "method", "str", d.method)
        if method not in METHODS:
            raise self.fail(
                "analysis.method", f"{method!r} is not known{_suggest(method, METHODS)}; use {METHODS}"
            )
        alpha = self.get(t, "analysis", "alpha", "number", d.alpha)
        if not 0 < alpha < 1:
            raise self.fail("analysis.alpha", f"must be strictly between 0 and 1, got {alpha!r}")
        correction = self.get(t, "analysis", "correction", "str", d.correction)
        if correction not in CORRECTIONS:
            raise self.fail(
                "analysis.correction",
                f"{correction!r} is not known{_suggest(correction, CORRECTIONS)}; use {CORRECTIONS}",
            )
        alternative = self.get(t, "analysis", "alternative", "str", d.alternative)
        if alternative not in ALTERNATIVES:
            raise self.fail(
                "analysis.alternative",
                f"{alternative!r} is not known{_suggest(alternative, ALTERNATIVES)}; use {ALTERNATIVES} "
                "(H1: variant - control != 0, > 0 or < 0)",
            )
        prior_t = self.table(t, "analysis.prior", "analysis.prior", required=False) if t else {}
        prior = {}
        for key in ("alpha", "beta"):
            v = self.get(prior_t, "analysis.prior", key, "number", 1.0)
            if v <= 0:
                raise self.fail(f"analysis.prior.{key}", f"must be positive (Beta prior), got {v!r}")
            prior[key] = v
        sequential = self.get(t, "analysis", "sequential", "bool", d.sequential)
        sequential_method = self.get(t, "analysis", "sequential_method", "str", d.sequential_method)
        if sequential_method not in SEQUENTIAL_METHODS:
            raise self.fail(
                "analysis.sequential_method",
                f"{sequential_method!r} is not known{_suggest(sequential_method, SEQUENTIAL_METHODS)}; "
                f"use {SEQUENTIAL_METHODS}",
            )
        n_star = self.get(t, "analysis", "n_star", "number", None)
        if n_star is not None and not n_star > 0:
            raise self.fail(
                "analysis.n_star",
                f"must be a positive number of units (both arms at the planned horizon), got {n_star!r}",
            )
        tau = self.get(t, "analysis", "tau", "number", None)
        if tau is not None and not tau > 0:
            raise self.fail("analysis.tau", f"must be a positive mixing SD of the effect, got {tau!r}")
        if sequential_method == "msprt" and tau is None:
            raise self.fail(
                "analysis.sequential_method",
                "'msprt' needs analysis.tau, the mixing SD of the effect in the primary metric's units",
            )
        if sequential_method == "msprt" and n_star is not None:
            raise self.fail("analysis.n_star", "tunes 'asymptotic-cs'; with 'msprt' give tau instead")
        if sequential_method == "asymptotic-cs" and tau is not None:
            raise self.fail("analysis.tau", "tunes sequential_method = 'msprt'; 'asymptotic-cs' uses n_star")
        if sequential and method == "bayesian":
            raise self.fail(
                "analysis.sequential",
                "applies to method = 'frequentist' only: a Bayesian posterior needs no correction for "
                "repeated looks; set sequential = false or method = 'frequentist'",
            )
        covariates = self.get(t, "analysis", "covariates", "str_list", d.covariates)
        if covariates and method == "bayesian":
            raise self.fail(
                "analysis.covariates",
                "CUPED covariates apply to method = 'frequentist' only; remove them or change the method",
            )
        breakdowns = self.get(t, "analysis", "breakdowns", "str_list", d.breakdowns)
        power = self.get(t, "analysis", "power", "number", d.power)
        if not 0 < power < 1:
            raise self.fail("analysis.power", f"must be strictly between 0 and 1 (e.g. 0.8), got {power!r}")
        names = [v.name for v in variants]
        control = self.get(t, "analysis", "control", "str", None)
        if control is not None and control not in names:
            raise self.fail(
                "analysis.control",
                f"{control!r} is not a variant{_suggest(control, names)}; variants: {names}",
            )
        holdouts = [v.name for v in variants if not v.contacted]
        if control is None and not holdouts:
            raise self.fail(
                "variants",
                "no holdout or control: mark the no-contact holdout with contacted = false "
                "(or name a control variant in analysis.control)",
            )
        if control is None and len(holdouts) > 1:
            raise self.fail(
                "analysis.control",
                f"several variants are not contacted ({holdouts}); "
                "name the one to compare with in analysis.control",
            )
        margin = self.get(t, "analysis", "gross_margin", "number", None)
        if margin is not None and not 0 < margin <= 1:
            raise self.fail(
                "analysis.gross_margin", f"must be in (0, 1] (a share of revenue), got {margin!r}"
            )
        baseline = self.get(t, "analysis", "baseline", "number", None)
        if baseline is not None and not 0 < baseline < 1:
            raise self.fail(
                "analysis.baseline",
                f"must be strictly between 0 and 1 (the control's expected rate), got {baseline!r}",
            )
        mde = self.get(t, "analysis", "mde", "number", d.mde)
        if not mde > 0:
            raise self.fail("analysis.mde", f"must be a positive relative lift (0.2 means +20%), got {mde!r}")
        guardrail_margin = self.get(t, "analysis", "guardrail_margin", "number", d.guardrail_margin)
        if not 0 <= guardrail_margin < 1:
            raise self.fail(
                "analysis.guardrail_margin",
                f"must be in [0, 1) (the tolerated increase of a guardrail rate), got {guardrail_margin!r}",
            )
        return Analysis(
            n_star=n_star,
            tau=tau,
            sequential_method=sequential_method,
            covariates=covariates,
            breakdowns=breakdowns,
            mde=mde,
            guardrail_margin=guardrail_margin,
            baseline=baseline,
            method=method,
            alpha=alpha,
            correction=correction,
            alternative=alternative,
            prior=Prior(prior["alpha"], prior["beta"]),
            sequential=sequential,
            power=power,
            control=control,
            gross_margin=margin,
        )


def _tname(value: Any) -> str:
    names = {bool: "boolean", int: "integer", float: "float", str: "string", list: "array", dict: "table"}
    return names.get(type(value), type(value).__name__)


# ----------------------------------------------------------------------------------------------
# writing TOML


def _toml_value(value: Any) -> str:
    """A scalar (text, number, boolean, date) written as a TOML value by :func:`tomli_w.dumps`."""
    return tomli_w.dumps({"v": value}).removeprefix("v = ").removesuffix("\n")


def _comment(text: str) -> str:
    """``text`` on one comment line: line breaks become spaces."""
    return " ".join(str(text).split())


def _key(name: str) -> str:
    """``name`` as a TOML key, quoted by the TOML writer when it is not a bare key (for messages)."""
    return tomli_w.dumps({name: 0}).rsplit(" = ", 1)[0]


def _without_none(table: dict[str, Any]) -> dict[str, Any]:
    """The keys of ``table`` whose value is set (TOML has no null: an unset key is left out)."""
    return {k: v for k, v in table.items() if v is not None}


def _plain(value: Any) -> Any:
    """A spec value as TOML-writable plain data (tuples as lists, recursively)."""
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _is_collection(raw: str) -> bool:
    """A directory (written with a trailing ``/``) or a glob (``*``, ``?``, ``[``) rather than one file."""
    return raw.endswith(("/", "\\")) or any(ch in raw for ch in "*?[")


_TEMPLATE = """\
# abkit experiment: {title}
# Edit the values, then run `abkit plan`, `abkit assign` and, after the send, `abkit report`.
# Paths are relative to this folder; data and reports here are ignored by git.

name = {name}                      # letters, digits, - and _; names the report files
hypothesis = "A coupon brings back more dormant one-time buyers than no contact."
owner = "crm-team@example.com"
salt = {salt}         # fixes the random split; never change it after `abkit assign`

[dates]
send_date = {send_date}                # the day the campaign is sent (YYYY-MM-DD)
window_days = 14                       # attribution window: purchases within 14 days count
planned_end = {planned_end}              # when the report is final (on or after the window end)

[data]                                 # CSV (UTF-8 or Shift-JIS), Parquet or Excel .xlsx
customers = "data/customers.parquet"   # customer_id + flags (opted_out, complained, ...)
transactions = "data/transactions.parquet"  # customer_id, order_date, amount (read by assign and plan)
events = "data/events.parquet"         # customer_id, event, timestamp, amount
assignment = "assignment.parquet"      # written once by `abkit assign` (or `abkit import`)
# outcomes = "data/outcomes.csv"       # one row per customer (an e-mail tool's export): flags and amounts,
                                       # declared final; events become optional (or combine both)
# encoding = "cp932"                   # CSV encoding; default: UTF-8 (with or without BOM), else CP932
# sheet = "Sheet1"                     # .xlsx sheet; default: the first
# timestamp_format = "%d/%m/%Y %H:%M"  # default: ISO 8601 (2026-06-01 09:30)
timezone = "UTC"                       # time zone of naive timestamps and of send_date, e.g. "Asia/Tokyo"
max_bad_share = 0.001                  # malformed rows up to this share are dropped and counted
# Events at scale: a directory ("data/events/") or a glob ("data/events/*.parquet") is read by DuckDB;
# engine = "postgres" makes events a table or SELECT query (URL in $ABKIT_DATABASE_URL, see url_env);
# engine = "spark" reads paths or catalog tables (spark_master = "yarn", default local[*]).

# [data.columns]                       # your column names, for every table ...
# customer_id = "member_no"
# variant = "arm"
# [data.columns.outcomes]              # ... or for one table (events, outcomes, assignment,
# customer_id = "id"                   #     customers, transactions)
# [data.event_names]                   # your event names, e.g. purchased = "order"

[population]
dormant_after = 180                    # days since the last order before a customer is dormant
lapsed_after = 730                     # ... and after which they are lapsed (not targeted)
exclude = ["opted_out", "complained", "hard_bounced"]   # never contacted, removed before the split
lapsed_flags = ["cancelled", "complained"]              # lapsed whatever their recency

[strata]
column = "segment"                     # randomise within each segment; omit [strata] for none

# One table per variant. Weights are relative (normalised). The holdout is not contacted:
# it measures what dormant customers do on their own, so every lift is incremental.
[variants.holdout]
weight = 0.2
contacted = false

[variants.coupon]                      # any name: [variants."No E-Mail"], [variants."クーポン"]
weight = 0.4
channel = "email"                      # any label: email, postal, sms, line, push, phone, ...
contact_cost = 0.01                    # per customer contacted
offer_cost = 5.0                       # per redeemed coupon (each repurchase)
description = "10% coupon, valid 14 days"

[variants.personal]
weight = 0.4
channel = "email"
contact_cost = 0.01
offer_cost = 0.0
description = "Personalised message naming past purchases"

[metrics]                              # outcome columns: delivered, opened, clicked, repurchased,
primary = "repurchased"                # revenue, unsubscribed, complained, or your own (below)
secondary = ["revenue", "opened", "clicked"]
guardrails = ["unsubscribed", "complained"]

# [metrics.define.visit]               # your own metric (use it as primary, secondary or guardrail)
# kind = "rate"                        # "rate" (0/1 or true/false) or "mean" (an amount per customer)
# column = "visit"                     # the outcomes column, or an event name in the events
# label = "Site visit"                 # shown in reports (any language)
# population = "assigned"              # "assigned": against the holdout; "contacted": contacted arms

[analysis]
method = "frequentist"                 # or "bayesian"
alpha = 0.05
correction = "holm"                    # holm, bonferroni, bh or none (across variants x segments)
alternative = "two-sided"              # or "larger" / "smaller": one-sided (H1: variant - control > 0 / < 0)
sequential = false                     # true: always-valid p-values, safe to read the report daily
sequential_method = "asymptotic-cs"    # or "msprt" (+ tau); n_star = planned units of 2 arms (def. 5000)
covariates = []                        # CUPED: e.g. ["monetary_total", "frequency", "recency_days"]
breakdowns = []                        # results per value of pre-campaign columns, e.g. ["history_segment"]
power = 0.8                            # target power for planning
baseline = 0.03                        # expected holdout rate of the primary metric (for planning)
mde = 0.2                              # planned relative lift (+20%): decides "keep collecting"
guardrail_margin = 0.005               # tolerated increase of unsubscribe/complaint rates (0.5 pp)
gross_margin = 0.4                     # share of revenue kept as profit (for the economics)

[analysis.prior]                       # Beta prior of the Bayesian analysis
alpha = 1.0
beta = 1.0

[decision]
# objective = "profit"                 # ship the variant earning the most (needs costs + gross_margin);
                                       # "primary": the best on the primary metric. Unset: automatic.

[report]
language = "en"                        # "en" or "ja": headings, sentences, tables and plots
# currency = "JPY"                     # ISO 4217 code of the money amounts (yen shown without decimals)
max_data_lag_days = 2                  # fail rather than report when the events end earlier than this
"""


def scaffold(name: str, *, send_date: str | dt.date | None = None, salt: str | None = None) -> str:
    """A commented ``experiment.toml`` template for experiment ``name`` that loads as it is.

    ``send_date`` defaults to a week from today; ``salt`` to ``"NAME-SEND_DATE"``.

    >>> text = scaffold("spring-winback", send_date="2026-06-01")
    >>> Experiment.from_toml(text).variant_names
    ('holdout', 'coupon', 'personal')
    """
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name) or len(name) > MAX_NAME_LENGTH:
        raise ParameterError(
            f"name={name!r} must be letters, digits, '-', '_' or '.' (at most {MAX_NAME_LENGTH}, "
            "starting with a letter or digit; it names report files)"
        )
    if send_date is None:
        day = dt.date.today() + dt.timedelta(days=7)
    elif isinstance(send_date, dt.datetime):
        raise ParameterError(f"send_date={send_date!r} must be a date, not a date-time")
    elif isinstance(send_date, dt.date):
        day = send_date
    else:
        try:
            day = dt.date.fromisoformat(str(send_date))
        except ValueError as exc:
            raise ParameterError(f"send_date={send_date!r} is not a date; use YYYY-MM-DD") from exc
    if salt is not None and (not isinstance(salt, str) or not salt.strip()):
        raise ParameterError(f"salt={salt!r} must be a non-empty string")
    salt = salt if salt is not None else f"{name}-{day.isoformat()}"
    return _TEMPLATE.format(
        title=name,
        name=_toml_value(name),
        salt=_toml_value(salt),
        send_date=day.isoformat(),
        planned_end=(day + dt.timedelta(days=14)).isoformat(),
    )


def write_scaffold(
    folder: str | os.PathLike[str], name: str | None = None, *, overwrite: bool = False, **kwargs: Any
) -> Path:
    """Create ``folder`` and write the :func:`scaffold` template to ``folder/experiment.toml`` atomically.

    ``name`` defaults to the folder's name. Refuses to replace an existing spec unless
    ``overwrite=True``. Returns the path written.

    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = write_scaffold(pathlib.Path(d, "autumn"), send_date="2026-10-01")
    ...     Experiment.load(p.parent).name
    'autumn'
    """
    target = Path(folder)
    spec_name = name if name is not None else target.resolve().name
    text = scaffold(spec_name, **kwargs)
    path = target / SPEC_FILE
    return write_text(path, text, overwrite=overwrite)
