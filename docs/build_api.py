"""Build abkit's API reference from its docstrings with pdoc, into ``docs/api/`` (git-ignored).

Every public module is passed to pdoc by name: ``abkit`` alone would document only the package page,
because its public names are loaded lazily. Run ``python docs/build_api.py [OUTPUT_DIR]`` (or
``make docs``); it prints each warning and exits 1 when there is any.
"""

from __future__ import annotations

import pkgutil
import sys
import warnings
from pathlib import Path

import pdoc
import pdoc.render

import abkit

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "api"


def public_modules() -> list[str]:
    """Names of abkit and all its public submodules (no path component starting with ``_``).

    >>> mods = public_modules()
    >>> mods[0], "abkit.stats.frequentist" in mods, "abkit._io" in mods
    ('abkit', True, False)
    """
    names = ["abkit"]
    for info in pkgutil.walk_packages(abkit.__path__, "abkit."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return names


def build(output_dir: str | Path) -> list[str]:
    """Write the HTML reference of every public abkit module into ``output_dir``; return pdoc's warnings.

    ``output_dir/abkit/<module>.html`` is written for each name of :func:`public_modules`, plus an
    ``index.html`` and a ``search.js``.
    """
    out = Path(output_dir)
    # no "view source" panels: highlighting every function body would triple the build time
    pdoc.render.configure(
        docformat="restructuredtext", show_source=False, footer_text=f"abkit {abkit.__version__}"
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pdoc.pdoc(*public_modules(), output_directory=out)
    return sorted({str(w.message) for w in caught})


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else DEFAULT_OUTPUT
    problems = build(out)
    for message in problems:
        print(f"warning: {message}", file=sys.stderr)
    if problems:
        print(f"{len(problems)} warning(s) while building the API reference", file=sys.stderr)
        return 1
    print(f"API reference written to {out.name}/ ({len(public_modules())} modules)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
