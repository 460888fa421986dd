"""Long calibration run (``make calibrate``): every required figure with 5x the test suite's simulations.

Prints the calibration table and writes it to ``benchmarks/calibration.md`` (atomically).
Usage: ``python benchmarks/calibrate.py [--scale N]`` (N times 4,000 simulations per scenario).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "calibration"))

from calibration_scenarios import SEED, all_figures, markdown  # noqa: E402


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=5, help="multiple of 4,000 simulations per scenario")
    parser.add_argument("--output", type=Path, default=HERE / "calibration.md")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    figures = all_figures(scale=args.scale)
    seconds = time.perf_counter() - start
    table = markdown(figures)
    text = (
        "# abkit calibration\n\n"
        "Simulated error rates, interval coverage, variance reduction and power of the public "
        "`abkit.evaluate` with its default frequentist and Bayesian (Beta(1, 1) prior) conventions, "
        "with `sequential=True` (always-valid p-values, one call per daily look on cumulative counts) "
        "and with CUPED `covariates=` (per-unit rows), on vectorised simulations: each simulated "
        f"experiment is one segment of one `evaluate` call. Seed {SEED}, {args.scale * 4000:,} "
        "simulations per scenario. Regenerate with `make calibrate`.\n\n"
        f"{table}\n"
    )
    _write_atomic(args.output, text)
    print(table)
    print(f"\nwritten to {args.output} in {seconds:.1f} s")
    failed = [f for f in figures if f.holds is False]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
