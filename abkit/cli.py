"""The ``abkit`` command: scaffold, plan, assign and report win-back experiments from the shell.

Exit codes a scheduler can act on: 0 success; 1 bad input (spec, data, argument; one line on
stderr naming the file, key or parameter); 2 command-line usage error; 3 a notebook failed
(exception, timeout or dead kernel: nothing was published); 4 an unexpected internal error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from abkit import __version__
from abkit.errors import AbkitError, NotebookError
from abkit.messages import LANGUAGES

EXIT_OK, EXIT_INPUT, EXIT_USAGE, EXIT_NOTEBOOK, EXIT_INTERNAL = 0, 1, 2, 3, 4


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _cmd_init(args: argparse.Namespace) -> int:
    from abkit.workflow import init_experiment

    folder = init_experiment(args.name, parent=args.parent, force=args.force)
    print(folder / "experiment.toml")
    return EXIT_OK


def _cmd_plan(args: argparse.Namespace) -> int:
    import pandas as pd

    from abkit.workflow import plan_experiment

    table = plan_experiment(args.dir)
    with pd.option_context("display.width", 160, "display.max_columns", 30):
        print(table.to_string(index=False))
    return EXIT_OK


def _cmd_assign(args: argparse.Namespace) -> int:
    from abkit.workflow import assign_experiment

    result = assign_experiment(args.dir, force=args.force)
    print(result)
    return EXIT_OK


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
