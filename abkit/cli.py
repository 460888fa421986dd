"""The ``abkit`` command: plan, assign and report win-back experiments from the shell."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from abkit import __version__


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``abkit`` command."""
    parser = argparse.ArgumentParser(
        prog="abkit",
        description="Design, run and evaluate A/B tests of win-back campaigns for dormant customers.",
    )
    parser.add_argument("--version", action="version", version=f"abkit {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    parser = build_parser()
    parser.parse_args(argv)
    parser.print_help()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
