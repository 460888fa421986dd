"""The ``abkit`` command: scaffold, plan, assign and report win-back experiments from the shell.

Exit codes a scheduler can act on: 0 success; 1 bad input (spec, data, argument; one line on
stderr naming the file, key or parameter); 2 command-line usage error; 3 a notebook failed
(exception, timeout or dead kernel: nothing was published); 4 an unexpected internal error.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from abkit import __version__
from abkit.errors import AbkitError, NotebookError
from abkit.experiment import Experiment
from abkit.formatting import p_value
from abkit.messages import LANGUAGES, label, message
from abkit.result_views import plan_view
from abkit.views import Column, TableView

EXIT_OK, EXIT_INPUT, EXIT_USAGE, EXIT_NOTEBOOK, EXIT_INTERNAL = 0, 1, 2, 3, 4


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _cmd_init(args: argparse.Namespace) -> int:
    from abkit.workflow import init_experiment

    folder = init_experiment(args.name, parent=args.parent, force=args.force)
    print(folder / "experiment.toml")
    return EXIT_OK


def _cmd_plan(args: argparse.Namespace) -> int:
    from abkit.workflow import plan_experiment

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
    from abkit.workflow import assign_experiment

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
    from abkit.report import run_report

    _say(f"abkit: running the report notebook for {args.dir} ...")
    run = run_report(
        args.dir,
        as_of=args.as_of,
        method=args.method,
        timeout=args.timeout,
        force=args.force,
        progress=sys.stderr.isatty(),
        extra_parameters={"language": args.lang} if args.lang else None,
    )
    print(run.html)
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    from abkit.workflow import run_demo

    run = run_demo(
        args.dir, n_customers=args.customers, seed=args.seed, force=args.force, say=_say, language=args.lang
    )
    print(run.html)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``abkit`` command."""
    parser = argparse.ArgumentParser(
        prog="abkit",
        description="Design, run and evaluate A/B tests of win-back campaigns for dormant customers.",
        epilog="Exit codes: 0 ok, 1 bad input, 2 usage, 3 notebook failed, 4 internal error.",
    )
    parser.add_argument("--version", action="version", version=f"abkit {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("init", help="scaffold an experiment folder with a commented experiment.toml")
    p.add_argument("name", help="experiment name (letters, digits, '-' and '_')")
    p.add_argument(
        "--parent", default="experiments", type=Path, help="where to create it (default: experiments)"
    )
    p.add_argument("--force", action="store_true", help="replace an existing experiment.toml")
    p.set_defaults(func=_cmd_init)

    p = sub.add_parser("plan", help="power table for the experiment's segments and arms")
    p.add_argument("dir", type=Path, help="experiment folder (holds experiment.toml)")
    p.add_argument(
        "--format", choices=["table", "csv", "json"], default="table", help="table (readable), csv or json"
    )
    p.set_defaults(func=_cmd_plan)

    p = sub.add_parser("assign", help="build the population, assign once, save it and export send lists")
    p.add_argument("dir", type=Path, help="experiment folder (holds experiment.toml)")
    p.add_argument("--force", action="store_true", help="replace an existing assignment and send lists")
    p.set_defaults(func=_cmd_assign)

    p = sub.add_parser("report", help="execute the report notebook and publish DIR/reports/NAME-DATE.html")
    p.add_argument("dir", type=Path, help="experiment folder (holds experiment.toml)")
    p.add_argument("--as-of", dest="as_of", default=None, help="report date YYYY-MM-DD (default: today, UTC)")
    p.add_argument("--method", choices=["frequentist", "bayesian"], default=None, help="override the spec")
    p.add_argument("--timeout", type=float, default=600, help="per-cell execution timeout in seconds")
    p.add_argument("--force", action="store_true", help="replace an existing report for the same date")
    p.add_argument(
        "--lang", choices=list(LANGUAGES), default=None, help="report language (default: the spec's)"
    )
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("demo", help="generate a synthetic experiment, plan, assign and report it")
    p.add_argument("dir", nargs="?", default=Path("experiments/winback-demo"), type=Path)
    p.add_argument("--customers", type=int, default=200_000, help="customers in the synthetic history")
    p.add_argument("--seed", type=int, default=7, help="random seed of the synthetic data")
    p.add_argument("--force", action="store_true", help="regenerate data, assignment and report")
    p.add_argument(
        "--lang", choices=list(LANGUAGES), default=None, help="report language (default: the spec's)"
    )
    p.set_defaults(func=_cmd_demo)
    return parser


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
        return int(args.func(args))
    except NotebookError as exc:
        if args.debug:
            raise
        _say(f"abkit {args.command}: {exc}")
        return EXIT_NOTEBOOK
    except (AbkitError, FileNotFoundError, PermissionError) as exc:
        if args.debug:
            raise
        _say(f"abkit {args.command}: {exc}")
        return EXIT_INPUT
    except KeyboardInterrupt:
        _say(f"abkit {args.command}: interrupted")
        return 130
    except Exception as exc:  # the one place a scheduler must get a line, not a traceback
        if args.debug:
            raise
        _say(
            f"abkit {args.command}: internal error {type(exc).__name__}: {exc} "
            "(rerun with --debug for details)"
        )
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
