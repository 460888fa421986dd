"""Atomic file writes: every file abkit writes appears whole or not at all.

A writer fills a temporary file in the target's folder, which is then renamed over the target
(``os.replace`` is atomic on one file system); on any failure the temporary file is removed.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from abkit.errors import FileExistsAbkitError

__all__ = ["atomic_path", "write_frame", "write_text"]


@contextmanager
def atomic_path(
    path: str | os.PathLike[str], *, overwrite: bool = True, suffix: str = ".tmp"
) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` when the block succeeds.

    With ``overwrite=False`` an existing ``path`` raises :class:`~abkit.errors.FileExistsAbkitError`.

    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     target = pathlib.Path(d, "note.txt")
    ...     with atomic_path(target) as tmp:
    ...         _ = tmp.write_text("done")
    ...     print(target.read_text(), sorted(p.name for p in pathlib.Path(d).iterdir()))
    done ['note.txt']
    """
    path = Path(path)
    if not overwrite and path.exists():
        raise FileExistsAbkitError(f"{path} already exists; pass overwrite=True (--force) to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path: str | os.PathLike[str], text: str, *, overwrite: bool = True) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; return the path."""
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_frame(frame: pd.DataFrame, path: str | os.PathLike[str], *, overwrite: bool = True) -> Path:
    """Write ``frame`` to ``path`` atomically as Parquet (``.parquet``) or CSV (anything else)."""
    writer: Callable[[Path], None]
    if Path(path).suffix.lower() == ".parquet":
        writer = lambda tmp: frame.to_parquet(tmp, index=False)  # noqa: E731
    else:
        writer = lambda tmp: frame.to_csv(tmp, index=False)  # noqa: E731
    with atomic_path(path, overwrite=overwrite) as tmp:
        writer(tmp)
    return Path(path)
