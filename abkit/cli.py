"""The ``abkit`` command: scaffold, plan, assign and report win-back experiments from the shell.

Exit codes a scheduler can act on: 0 success; 1 bad input (spec, data, argument, a missing file,
a full disk, another run holding the experiment's lock; one line on stderr naming the file, key
or flag); 2 command-line usage error; 3 a notebook failed (exception, timeout or dead kernel:
nothing was published); 4 an unexpected internal error. ``--debug`` adds the traceback and keeps
the code.

Global options go before or after the command (``abkit -v plan DIR`` = ``abkit plan DIR -v``):
``-v``/``--verbose`` shows what is being done (INFO; ``-vv`` adds DEBUG), ``-q``/``--quiet`` shows
errors only, ``--debug`` adds tracebacks (and DEBUG messages). Messages come from the ``abkit``
loggers (:mod:`logging`), one line each on stderr as ``abkit COMMAND: message``. The default level is
WARNING, except for ``abkit demo``, which shows its progress (INFO) by default because a person runs
it to watch what abkit does; ``abkit demo -q`` silences it. The result itself (a path, a table, a
report's HTML path) goes to stdout. Progress bars appear only when stderr is a terminal.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import textwrap
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from abkit import __version__, workflow
from abkit._progress import show_progress
from abkit.demo import run_demo
from abkit.errors import AbkitError, NotebookError, ParameterError
from abkit.experiment import Experiment
from abkit.external import parse_mapping
from abkit.formatting import p_value
from abkit.messages import LANGUAGES, label, message
from abkit.next_wave import target_experiment
from abkit.programme import decide, init_from, learnings, status
from abkit.programme_demo import run_programme_demo
from abkit.programme_report import run_programme_report
from abkit.report import run_report
from abkit.result_views import plan_view
from abkit.views import Column, TableView
from abkit.workflow import assign_experiment, init_experiment, plan_experiment

EXIT_OK, EXIT_INPUT, EXIT_USAGE, EXIT_NOTEBOOK, EXIT_INTERNAL = 0, 1, 2, 3, 4

log = logging.getLogger(__name__)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class _StderrHandler(logging.Handler):
    """Write each record as one line to the current ``sys.stderr`` (looked up at each record)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            _say(self.format(record))
        except Exception:  # pragma: no cover - logging's own convention: never raise from a handler
            self.handleError(record)


def log_level(args: argparse.Namespace) -> int:
    """The ``abkit`` loggers' level for parsed arguments: ``-q`` > ``--debug``/``-vv`` > ``-v`` > default.

    >>> log_level(build_parser().parse_args(["plan", "x", "-v"])) == logging.INFO
    True
    >>> log_level(build_parser().parse_args(["-q", "demo"])) == logging.ERROR
    True
    """
    if getattr(args, "quiet", False):
        return logging.ERROR
    verbose = getattr(args, "verbose", 0)
    if getattr(args, "debug", False) or verbose >= 2:
        return logging.DEBUG
    if verbose == 1:
        return logging.INFO
    return int(getattr(args, "default_level", logging.WARNING))


@contextmanager
def _logging_to_stderr(command: str, level: int) -> Iterator[None]:
    """One-line handler on the ``abkit`` logger for the duration of one command, then removed."""
    logger = logging.getLogger("abkit")
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("abkit " + command.replace("%", "%%") + ": %(message)s"))
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def _cmd_init(args: argparse.Namespace) -> int:
    if args.previous is not None:  # the next wave of a programme (abkit.programme.init_from)
        folder = init_from(
            args.name, args.previous, parent=args.parent, send_date=args.send_date, force=args.force,
            targeted=args.targeted,
        )  # fmt: skip
        print(folder / "experiment.toml")
        return EXIT_OK
    if args.targeted:
        raise ParameterError(
            "--targeted needs --from DIR: the previous wave whose targeting/plan.json it carries"
        )
    folder = init_experiment(args.name, parent=args.parent, force=args.force)
    print(folder / "experiment.toml")
    return EXIT_OK


def _cmd_plan(args: argparse.Namespace) -> int:

    exp = Experiment.load(args.dir)
    table = plan_experiment(exp)
    if args.format == "csv":
        print(table.to_csv(index=False), end="")
    elif args.format == "json":
        records = json.loads(table.to_json(orient="records"))  # NaN -> null, numbers unrounded
        print(json.dumps(records, indent=2))
    else:
        print(plan_header(exp))
        print(plan_view(table).to_text(width=100))
    return EXIT_OK


def plan_header(exp: Any) -> str:
    """The sentence above ``abkit plan``'s table: the baseline, alpha, power and which correction.

    >>> from abkit.experiment import Experiment
    >>> from abkit.workflow import demo_spec_text
    >>> print(plan_header(Experiment.from_toml(demo_spec_text())))
    winback-demo: smallest lift each comparison detects with 80% power at alpha 0.05, from a
    baseline repurchase rate of 3.5%; spec correction holm, planned with Bonferroni over 3
    comparisons (Holm is never less powerful).
    """
    a = exp.analysis
    k = len(exp.variant_names) - 1
    correction = (
        "no correction"
        if a.correction == "none"
        else f"spec correction {a.correction}, planned with Bonferroni over {k} comparisons"
        + (" (Holm is never less powerful)" if a.correction == "holm" else "")
        + (" (conservative for BH)" if a.correction == "bh" else "")
    )
    baseline = "no baseline" if a.baseline is None else f"{a.baseline:.1%}"
    text = (
        f"{exp.name}: smallest lift each comparison detects with {a.power:.0%} power at alpha {a.alpha:g}, "
        f"from a baseline {label('metric', exp.metrics.primary)} of {baseline}; {correction}."
    )
    return textwrap.fill(text, 100)


def _cmd_assign(args: argparse.Namespace) -> int:

    result = assign_experiment(args.dir, force=args.force)
    counts = result.counts
    arms = [c for c in counts.columns if c != "segment"]
    units = int(counts[arms].to_numpy().sum())
    columns = (Column("segment", "segment"), *(Column(a, a, "count") for a in arms))
    rows = tuple(tuple(rec[c.key] for c in columns) for rec in counts.to_dict("records"))
    print(f"Assignment of {result.experiment}: {units:,} customers")
    print(TableView("", columns, rows).to_text(width=100))
    print(f"saved to {_shown(result.assignment_path)}")
    lists = ", ".join(_shown(p) for p in result.send_lists["path"])
    print(f"send lists: {lists or 'none'}")
    excluded = ", ".join(f"{r.reason}: {r.count:,}" for r in result.exclusions.itertuples() if r.count)
    print(f"excluded before assignment: {excluded or 'none'}")
    srm = result.srm
    alert = getattr(srm, "ok", None) is False
    key = "health.assignment_alert" if alert else "health.assignment_ok"
    print(message(key, "en", p=p_value(getattr(srm, "p_value", None))))
    return EXIT_OK


def _shown(path: Any) -> str:
    """A path relative to the working folder when it lies inside it (no absolute paths in output)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _cmd_report(args: argparse.Namespace) -> int:

    log.info("running the report notebook for %s ...", args.dir)
    run = run_report(
        args.dir,
        as_of=args.as_of,
        method=args.method,
        timeout=args.timeout,
        force=args.force,
        progress=show_progress() and not getattr(args, "quiet", False),
        max_data_lag_days=args.max_lag_days,
        extra_parameters={"language": args.lang} if args.lang else None,
    )
    print(run.html)
    return EXIT_OK


def _cmd_import(args: argparse.Namespace) -> int:
    run = workflow.import_assignment(
        args.dir,
        args.file,
        id_col=args.id_col,
        variant_col=args.variant_col,
        segment_col=args.segment_col,
        mapping=parse_mapping(args.map),
        force=args.force,
    )
    print(run)
    return EXIT_OK


def validation_lines(validation: Any) -> list[str]:
    """The short report ``abkit validate`` prints: one line per check, then a verdict line.

    ``validation`` is an :func:`abkit.workflow.validate_experiment` result: its ``to_pandas()``
    table has one row per check with the columns ``check``, ``ok`` (bool) and ``detail`` (the
    counts, or the problem); ``problems`` holds the problems found.
    """
    table = validation.to_pandas()
    lines = [
        f"{'✓' if bool(row.ok) else '✗'} {row.check}: {row.detail}" for row in table.itertuples(index=False)
    ]
    problems = len(validation.problems)
    checks = f"{len(table)} check{'s' if len(table) != 1 else ''}"
    if validation.ok:
        lines.append(f"ok: {checks} passed")
    else:
        lines.append(f"{problems} problem{'s' if problems != 1 else ''} in {checks}; fix the first one above")
    return lines


def _cmd_validate(args: argparse.Namespace) -> int:
    validation = workflow.validate_experiment(args.dir, as_of=args.as_of, command=args.for_command)
    for line in validation_lines(validation):
        print(line)
    return EXIT_OK if validation.ok else EXIT_INPUT


def _cmd_demo(args: argparse.Namespace) -> int:
    if args.waves:  # a programme of waves, through decide and the programme report (abkit.programme_demo)
        customers = WAVES_DEMO_CUSTOMERS if args.customers is None else args.customers
        programme = run_programme_demo(
            args.dir, waves=args.waves, n_customers=customers, seed=args.seed, say=_say, language=args.lang
        )
        print(programme.html)
        return EXIT_OK
    args.customers = DEMO_CUSTOMERS if args.customers is None else args.customers

    run = run_demo(args.dir, n_customers=args.customers, seed=args.seed, force=args.force, language=args.lang)
    print(run.html)
    return EXIT_OK


def _cmd_target(args: argparse.Namespace) -> int:
    budget = None
    for key in ("contacts", "offers", "spend"):
        value = getattr(args, f"budget_{key}")
        if value is not None:
            if not value >= 0:
                raise ParameterError(f"--budget-{key} must be 0 or more, got {value:g}")
            budget = {key: value}
    for flag in ("explore", "holdout"):
        value = getattr(args, flag)
        if not 0 <= value < 1:
            raise ParameterError(f"--{flag} must be a share in [0, 1), e.g. 0.1, got {value:g}")
    if args.explore + args.holdout >= 1:
        raise ParameterError(
            "--explore + --holdout must leave room for the plan (< 1), got "
            f"{args.explore:g} + {args.holdout:g}"
        )
    features = None
    if args.features is not None:
        features = [f.strip() for f in args.features.split(",") if f.strip()]
        if not features:
            raise ParameterError(f"--features must name columns separated by commas, got {args.features!r}")
        if args.method != "dr":
            raise ParameterError(
                "--features is used only by --method dr; add --method dr or drop --features"
            )
    run = target_experiment(
        args.dir, cells=args.cells, budget=budget, explore=args.explore, holdout=args.holdout,
        method=args.method, features=features, language=args.lang, seed=args.seed, n_boot=args.n_boot,
        as_of=args.as_of, force=args.force,
    )  # fmt: skip
    print(run.plan.summary(run.language, run.currency).splitlines()[0])
    print(f"plan: {_shown(run.json)}")
    print(f"report: {_shown(run.html)}")
    return EXIT_OK


#: Customers of the synthetic history: one demo experiment, and a programme of waves (``--waves``).
DEMO_CUSTOMERS = 200_000
WAVES_DEMO_CUSTOMERS = 20_000


def _days(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days (0 or more)")
    return value


def _global_options() -> argparse.ArgumentParser:
    """The options every command takes, before or after its name (a parent of each parser).

    Defaults are suppressed, so a sub-command's parser never overwrites what was given before it;
    :func:`log_level` and :func:`main` read them with ``getattr(args, name, default)``.
    """
    options = argparse.ArgumentParser(add_help=False)
    group = options.add_argument_group("global options (before or after the command)")
    group.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show the full traceback on errors"
    )
    group.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=argparse.SUPPRESS,
        help="say what is being done (-vv: debugging detail)",
    )
    group.add_argument(
        "-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="show errors only"
    )
    return options


_GLOBAL_OPTIONS = _global_options()


def _command(sub: argparse._SubParsersAction, name: str, **kwargs: Any) -> argparse.ArgumentParser:
    """Add the sub-command ``name``, taking the global options too (after its name)."""
    return sub.add_parser(name, parents=[_GLOBAL_OPTIONS], **kwargs)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``abkit`` command."""
    parser = argparse.ArgumentParser(
        prog="abkit",
        description="Design, run and evaluate A/B tests of win-back campaigns for dormant customers.",
        epilog="Exit codes: 0 ok, 1 bad input, 2 usage, 3 notebook failed, 4 internal error.",
        parents=[_GLOBAL_OPTIONS],
    )
    parser.add_argument("--version", action="version", version=f"abkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = _command(sub, "init", help="scaffold an experiment folder with a commented experiment.toml")
    p.add_argument("name", help="experiment name (letters, digits, '-' and '_')")
    p.add_argument(
        "--parent", default="experiments", type=Path, help="where to create it (default: experiments)"
    )
    p.add_argument("--force", action="store_true", help="replace an existing experiment.toml")
    p.add_argument("--from", dest="previous", type=Path, default=None, help="start from this previous wave")
    p.add_argument("--send-date", dest="send_date", default=None, help="with --from: YYYY-MM-DD")
    p.add_argument(
        "--targeted",
        action="store_true",
        help="with --from: carry the per-cell weights of DIR/targeting/plan.json (abkit target)",
    )
    p.set_defaults(func=_cmd_init)

    p = _command(sub, "plan", help="power table for the experiment's segments and arms")
    p.add_argument("dir", type=Path, help="experiment folder (holds experiment.toml)")
    p.add_argument(
        "--format", choices=["table", "csv", "json"], default="table", help="table (readable), csv or json"
    )
    p.set_defaults(func=_cmd_plan)

    p = _command(sub, "assign", help="build the population, assign once, save it and export send lists")
    p.add_argument("dir", type=Path, help="experiment folder (holds experiment.toml)")
    p.add_argument("--force", action="store_true", help="replace an existing assignment and send lists")
    p.set_defaults(func=_cmd_assign)

    p = _command(sub, "report", help="execute the report notebook and publish DIR/reports/NAME-DATE/")
    p.add_argument("dir", type=Path, help="experiment folder (holds experiment.toml)")
    p.add_argument("--as-of", dest="as_of", default=None, help="report date YYYY-MM-DD (default: today, UTC)")
    p.add_argument("--method", choices=["frequentist", "bayesian"], default=None, help="override the spec")
    p.add_argument("--timeout", type=float, default=600, help="per-cell timeout in seconds (rounded up)")
    p.add_argument("--force", action="store_true", help="replace an existing report for the same date")
    p.add_argument(
        "--max-lag-days",
        dest="max_lag_days",
        type=_days,
        default=None,
        metavar="N",
        help="fail when the events end more than N days before the report date "
        "(default: [report] max_data_lag_days, else 2)",
    )
    p.add_argument(
        "--lang", choices=list(LANGUAGES), default=None, help="report language (default: the spec's)"
    )
    p.set_defaults(func=_cmd_report)

    p = _command(
        sub,
        "import",
        help="record an assignment made by another tool (an e-mail or CRM tool's export)",
        description="Record FILE (CSV, Parquet or .xlsx, one row per customer) as the experiment's "
        "assignment, made outside abkit: method 'external', the file's name and SHA-256 and the time "
        "are kept; the split is checked against the spec's weights.",
    )
    p.add_argument("dir", type=Path, help="experiment folder (holds experiment.toml)")
    p.add_argument("file", type=Path, help="the export: one row per customer with the arm it got")
    p.add_argument(
        "--id-col",
        dest="id_col",
        default=None,
        metavar="COL",
        help="customer id column (kept as text); omit it only when FILE is also [data] outcomes: "
        "the row number (from 1) is then the id in both",
    )
    p.add_argument("--variant-col", dest="variant_col", required=True, metavar="COL", help="the arm column")
    p.add_argument("--segment-col", dest="segment_col", default=None, metavar="COL", help="segment column")
    p.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="OLD=NEW",
        help="rename an exported arm to the spec's variant name (repeat for each; quote names with spaces)",
    )
    p.add_argument("--force", action="store_true", help="replace an existing assignment")
    p.set_defaults(func=_cmd_import)

    p = _command(
        sub,
        "validate",
        help="check the spec and every data source in seconds, before a report (exit 0 ok, 1 problems)",
    )
    p.add_argument("dir", type=Path, help="experiment folder (holds experiment.toml)")
    p.add_argument("--as-of", dest="as_of", default=None, help="report date YYYY-MM-DD (default: today, UTC)")
    p.add_argument(
        "--for",
        dest="for_command",
        choices=["report", "assign", "plan"],
        default="report",
        help="check what this command reads (default: report)",
    )
    p.set_defaults(func=_cmd_validate)

    p = _command(sub, "demo", help="generate a synthetic experiment, plan, assign and report it")
    p.add_argument("dir", nargs="?", default=Path("experiments/winback-demo"), type=Path)
    p.add_argument(
        "--customers",
        type=int,
        default=None,
        help=f"customers in the synthetic history (default: {DEMO_CUSTOMERS:,}; "
        f"{WAVES_DEMO_CUSTOMERS:,} with --waves)",
    )
    p.add_argument(
        "--waves",
        type=int,
        default=0,
        metavar="N",
        help="build a programme of N waves under DIR (assigned, reported, decided) and its programme report",
    )
    p.add_argument("--seed", type=int, default=7, help="random seed of the synthetic data")
    p.add_argument("--force", action="store_true", help="regenerate data, assignment and report")
    p.add_argument(
        "--lang", choices=list(LANGUAGES), default=None, help="report language (default: the spec's)"
    )
    p.set_defaults(func=_cmd_demo, default_level=logging.INFO)  # a person runs it to watch: show progress
    _add_target_command(sub)
    _add_programme_commands(sub)
    return parser


def _add_target_command(sub: argparse._SubParsersAction) -> None:
    p = _command(
        sub,
        "target",
        help="plan the next wave: per cell the best campaign or none, with an honest value",
        description="Read the finished experiment's per-customer outcomes, choose per cell the arm with "
        "the highest incremental profit (or no contact), value the plan by cross-fitting and publish "
        "DIR/targeting/plan.json and plan.html together.",
    )
    p.add_argument("dir", type=Path, help="experiment folder (holds experiment.toml)")
    p.add_argument(
        "--cells", nargs="+", default=None, metavar="COL",
        help="outcome columns making a cell (default: strata)",
    )
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--budget-contacts", dest="budget_contacts", type=float, default=None, metavar="N",
                        help="contact at most N customers (a wave the size of the test)")
    budget.add_argument("--budget-offers", dest="budget_offers", type=float, default=None, metavar="N",
                        help="send at most N offers (arms with an offer cost)")
    budget.add_argument("--budget-spend", dest="budget_spend", type=float, default=None, metavar="X",
                        help="spend at most X on contacts and expected offers")
    p.add_argument("--explore", type=float, default=0.10, metavar="F",
                   help="share spread over all arms in the next wave (default 0.10)")
    p.add_argument("--holdout", type=float, default=0.05, metavar="F",
                   help="share of every contacted cell kept without contact (default 0.05)")
    p.add_argument("--method", choices=["shrunk", "raw", "dr"], default="shrunk",
                   help="shrunk (empirical Bayes, default), raw, dr (doubly robust learner on customer "
                   "features; needs pip install 'abkit[dr]')")
    p.add_argument("--features", default=None, metavar="A,B",
                   help="with --method dr: customer columns to learn from (default: [targeting] features)")
    p.add_argument("--lang", choices=list(LANGUAGES), default=None,
                   help="report language (default: the spec's)")
    p.add_argument("--seed", type=int, default=0, help="seed of the folds and the bootstrap (default 0)")
    p.add_argument("--n-boot", dest="n_boot", type=int, default=200, metavar="N",
                   help="bootstrap replicates (default 200, at least 20)")
    p.add_argument("--as-of", dest="as_of", default=None,
                   help="read outcomes as of YYYY-MM-DD (default: the window's last day)")
    p.add_argument("--force", action="store_true", help="replace an existing DIR/targeting plan")
    p.set_defaults(func=_cmd_target)  # fmt: skip


# ---------------------------------------------------------------------------------- act (issue 13)
def _cmd_decide(args: argparse.Namespace) -> int:

    record = decide(
        args.dir, segment=args.segment, action=args.action, variant=args.variant, note=args.note, by=args.by
    )
    if record["against_recommendation"]:
        rec = " ".join(str(x) for x in (record["recommendation"], record["recommended_variant"]) if x)
        log.warning("warning: the latest report recommends %r for %s; recorded", rec, args.segment)
    print(Path(args.dir) / "decisions.jsonl")
    return EXIT_OK


def _cmd_status(args: argparse.Namespace) -> int:
    import pandas as pd


    result = status(args.root, as_of=args.as_of)
    if args.format == "json":
        print(result.to_json())
    else:
        with pd.option_context("display.width", 200, "display.max_columns", 10, "display.max_colwidth", 80):
            print(result.to_pandas().to_string(index=False) if len(result.rows) else "no experiment folders")
        for problem in result.problems:
            log.warning("cannot read %s", problem)
    return EXIT_OK


def _cmd_learnings(args: argparse.Namespace) -> int:
    import pandas as pd


    result = learnings(args.root, source=args.source)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(result)
    return EXIT_OK


def _cmd_programme(args: argparse.Namespace) -> int:
    run = run_programme_report(
        args.root, start=args.start, end=args.end, language=args.lang, force=args.force, timeout=args.timeout
    )
    if args.format == "json":
        print(run.folder.joinpath(f"{run.folder.name}.json").read_text(encoding="utf-8"), end="")
    else:
        print(run.html)
    return EXIT_OK


def _add_programme_commands(sub: argparse._SubParsersAction) -> None:
    p = _command(sub, "decide", help="record a decision with the latest report's evidence")
    p.add_argument("dir", type=Path, help="experiment folder (holds experiment.toml)")
    p.add_argument("--segment", required=True, help="segment decided (e.g. one_time, or all)")
    p.add_argument("--action", required=True, choices=["ship", "keep-holdout", "stop"])
    p.add_argument("--variant", default=None, help="the variant shipped (required with --action ship)")
    p.add_argument("--note", default="", help="why (kept in the record)")
    p.add_argument("--by", default=None, help="who decides (default: the operating-system user)")
    p.set_defaults(func=_cmd_decide)

    p = _command(sub, "status", help="one line per experiment folder: phase, latest report, decision")
    p.add_argument("root", nargs="?", default=Path("experiments"), type=Path)
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument("--as-of", dest="as_of", default=None, help="date YYYY-MM-DD (default: today, UTC)")
    p.set_defaults(func=_cmd_status)

    p = _command(sub, "learnings", help="lift per wave and pooled (random effects) per variant family")
    p.add_argument("root", nargs="?", default=Path("experiments"), type=Path)
    p.add_argument("--source", choices=["reports", "analyse"], default="reports")
    p.set_defaults(func=_cmd_learnings)

    p = _command(
        sub, "programme", help="publish the programme report: effect against the programme holdout, learnings"
    )
    p.add_argument("root", nargs="?", default=Path("experiments"), type=Path)
    p.add_argument("--from", dest="start", default=None, help="first day YYYY-MM-DD (default: first send)")
    p.add_argument("--to", dest="end", default=None, help="last day YYYY-MM-DD (default: last purchase)")
    p.add_argument(
        "--format", choices=["table", "json"], default="table", help="print the HTML path or the JSON summary"
    )
    p.add_argument("--force", action="store_true", help="replace an existing report for the same end date")
    p.add_argument("--lang", choices=list(LANGUAGES), default=None, help="language (default: the waves')")
    p.add_argument("--timeout", type=float, default=600, help="per-cell timeout in seconds (rounded up)")
    p.set_defaults(func=_cmd_programme)


#: Python argument spellings in library messages, and the flag the command line uses instead.
_FLAG_WORDING = (
    (re.compile(r"pass (?:overwrite|force)=True(?: \(--force\))?"), "rerun with --force"),
    (re.compile(r"(?:overwrite|force)=True(?: \(--force\))?"), "--force"),
)


def cli_message(text: str) -> str:
    """One line for stderr: the first line of ``text``, naming command-line flags, not Python arguments.

    >>> cli_message("a.csv already exists; pass overwrite=True (--force) to replace it")
    'a.csv already exists; rerun with --force to replace it'
    """
    lines = str(text).strip().splitlines() or [""]
    line = lines[0].strip()
    for pattern, flag in _FLAG_WORDING:
        line = pattern.sub(flag, line)
    return line


def _fail(args: argparse.Namespace, exc: BaseException, code: int, text: str) -> int:
    if getattr(args, "debug", False):  # the full story for a person, the documented code for the scheduler
        traceback.print_exception(exc, file=sys.stderr)
    _say(f"abkit {args.command}: {cli_message(text)}")
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code.

    >>> main(["init", "bad name!", "--parent", "/nonexistent-abkit-doctest"])
    1
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_OK
    try:
        with _logging_to_stderr(args.command, log_level(args)):
            return int(args.func(args))
    except NotebookError as exc:
        return _fail(args, exc, EXIT_NOTEBOOK, str(exc))
    except AbkitError as exc:
        return _fail(args, exc, EXIT_INPUT, str(exc))
    except OSError as exc:  # a missing file, a permission, a full disk: the environment, not abkit
        return _fail(args, exc, EXIT_INPUT, f"{exc}; nothing was published")
    except KeyboardInterrupt:
        _say(f"abkit {args.command}: interrupted")
        return 130
    except Exception as exc:  # the one place a scheduler must get a line, not a traceback
        return _fail(
            args,
            exc,
            EXIT_INTERNAL,
            f"internal error {type(exc).__name__}: {exc} (rerun with --debug for details)",
        )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
