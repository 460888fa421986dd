"""Progress bars on long steps, shown only to a person watching a terminal.

A bar is drawn on stderr by :mod:`tqdm` when stderr is a terminal; under papermill, in a
notebook kernel, in a pipe, a cron job or a test, stderr is not a terminal and nothing is drawn.
A bar never changes a result: :func:`progress` yields exactly the items it is given, in order.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

__all__ = ["progress", "show_progress"]

T = TypeVar("T")


def show_progress() -> bool:
    """True when a progress bar may be drawn: stderr is an interactive terminal.

    >>> show_progress()  # doctests run with stderr captured, never on a terminal
    False
    """
    stream = sys.stderr
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError):  # a replaced or closed stream
        return False


def progress(iterable: Iterable[T], total: int | None = None, desc: str | None = None) -> Iterator[T]:
    """Yield the items of ``iterable`` unchanged, with a bar on stderr when it is a terminal.

    ``total`` is the number of items (or of steps the bar counts), ``desc`` the short label shown
    before the bar. The bar disappears when the loop ends.

    >>> list(progress(range(3), total=3, desc="hashing"))
    [0, 1, 2]
    """
    if not show_progress():
        yield from iterable
        return
    from tqdm import tqdm  # only when a bar is drawn: importing it costs about 40 ms

    bar = tqdm(iterable, total=total, desc=desc, leave=False, file=sys.stderr, dynamic_ncols=True)
    try:
        yield from bar
    finally:
        bar.close()
