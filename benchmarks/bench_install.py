"""Install benchmark (issue 14, target 1): what the core install pulls in, and `make demo` from a fresh clone.

Clones this repository into a temporary folder, runs `make demo` there (it creates .venv and
installs the core package, then runs the whole demo), and prints the wall time and the number of
packages the core install brought (pip, setuptools and abkit itself not counted).
Targets (2-core machine): at most 80 packages; `make demo` from a fresh clone within 90 s.

Usage: python benchmarks/bench_install.py [--keep]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary clone")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="abkit-install-"))
    try:
        clone = folder / "abkit"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        start = time.perf_counter()
        demo = subprocess.run(["make", "demo"], cwd=clone, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - start
        if demo.returncode != 0:
            print(demo.stdout[-2000:], demo.stderr[-2000:], file=sys.stderr)
            return 1
        listed = subprocess.run(
            [str(clone / ".venv" / "bin" / "python"), "-m", "pip", "list", "--format=json"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        names = {entry["name"].lower() for entry in json.loads(listed)}
        packages = len(names - {"pip", "setuptools", "abkit"})
        print(f"core install: {packages} packages (target <= 80)")
        print(f"make demo from a fresh clone, install included: {seconds:.1f} s (target <= 90 s)")
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
