"""Atomic file writes, one-unit publishing and the per-experiment lock.

Every file abkit writes appears whole or not at all: a writer fills a temporary file in the
target's folder, which is then renamed over the target (``os.replace`` is atomic on one file
system); on any failure the temporary file is removed. Published files and folders follow the
process umask (``0o666 & ~umask`` for files, ``0o777 & ~umask`` for folders), like files made by
``open()``, not the private ``0o600`` of :func:`tempfile.mkstemp`.

A set of files that belongs together (an assignment with its send lists, a report with its
exports) is staged in hidden temporaries first and published by renames only once everything is
written (:func:`publish`, :func:`replace_dir`). :func:`experiment_lock` serialises the runs that
write into one experiment folder, and removes what killed runs left behind (:func:`remove_stale`).
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from abkit.errors import AbkitError, FileExistsAbkitError

__all__ = [
    "LOCK_NAME",
    "ExperimentBusyError",
    "atomic_path",
    "experiment_lock",
    "file_mode",
    "make_temp_dir",
    "make_temp_file",
    "publish",
    "remove_stale",
    "replace_dir",
    "write_frame",
    "write_text",
]

#: The lock file of an experiment folder (see :func:`experiment_lock`).
LOCK_NAME = ".abkit.lock"


class ExperimentBusyError(AbkitError):
    """Another abkit run holds the experiment's lock."""


def file_mode(*, directory: bool = False) -> int:
    """The permission bits a new file (or folder) gets under the current umask.

    >>> old = os.umask(0o022)
    >>> oct(file_mode()), oct(file_mode(directory=True))
    ('0o644', '0o755')
    >>> _ = os.umask(old)
    """
    mask = os.umask(0)
    os.umask(mask)
    return (0o777 if directory else 0o666) & ~mask


def make_temp_file(path: str | os.PathLike[str], *, suffix: str = ".tmp") -> Path:
    """Create an empty hidden temporary file ``.NAME.<random><suffix>`` beside ``path``; return it.

    Its permissions follow the umask, so renaming it onto ``path`` publishes a readable file.

    >>> import tempfile, pathlib
    >>> tmp = make_temp_file(pathlib.Path(tempfile.mkdtemp()) / "list.csv")
    >>> tmp.name.startswith(".list.csv."), tmp.stat().st_size
    (True, 0)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    try:
        os.fchmod(fd, file_mode())
    finally:
        os.close(fd)
    return Path(name)


def make_temp_dir(parent: str | os.PathLike[str], prefix: str) -> Path:
    """Create an empty hidden folder ``parent/.PREFIX.<random>`` (permissions by the umask); return it.

    >>> import tempfile
    >>> make_temp_dir(tempfile.mkdtemp(), "spring-2026-06-20").name.startswith(".spring-2026-06-20.")
    True
    """
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".{prefix}.", dir=parent))
    os.chmod(folder, file_mode(directory=True))
    return folder


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
    tmp = make_temp_file(path, suffix=suffix)
    try:
        yield tmp
        if tmp.exists():  # a writer that replaced the file (e.g. Parquet) dropped the mode
            os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path: str | os.PathLike[str], text: str, *, overwrite: bool = True) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; return the path.

    >>> import tempfile, pathlib
    >>> write_text(pathlib.Path(tempfile.mkdtemp()) / "a.txt", "done").read_text()
    'done'
    """
    with atomic_path(path, overwrite=overwrite) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
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


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def publish(staged: Mapping[Path, Path]) -> None:
    """Rename every staged file onto its target as one set; on failure restore the previous files.

    ``staged`` maps a written temporary (on the target's file system) to its target, in the
    order to publish them. Each existing target is first kept as a hidden hard link
    ``.NAME.<random>.old`` beside it (the target itself never disappears), then every rename is
    made; if one fails, the targets already replaced get their previous version back (new ones
    are removed) and the error is raised, so the targets are either all new or all as before.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "a.txt").write_text("old")
    >>> tmp = make_temp_file(d / "a.txt"); _ = tmp.write_text("new")
    >>> publish({tmp: d / "a.txt"})
    >>> (d / "a.txt").read_text(), sorted(p.name for p in d.iterdir())
    ('new', ['a.txt'])
    """
    kept: dict[Path, Path | None] = {}  # target -> its previous version (None: there was none)
    try:
        for target in staged.values():
            previous = None
            if target.exists():
                previous = make_temp_file(target, suffix=".old")
                previous.unlink()
                try:
                    os.link(target, previous)
                except OSError:  # no hard links here: copy the previous version instead
                    shutil.copy2(target, previous)
            kept[target] = previous
        done: list[Path] = []
        try:
            for tmp, target in staged.items():
                os.replace(tmp, target)
                done.append(target)
        except BaseException:
            for target in done:
                previous = kept[target]
                if previous is None:
                    target.unlink(missing_ok=True)
                else:
                    os.replace(previous, target)
            raise
    finally:
        for previous in kept.values():
            if previous is not None:
                previous.unlink(missing_ok=True)


def replace_dir(staged: Path, target: Path, *, overwrite: bool) -> None:
    """Rename the folder ``staged`` onto ``target`` (one rename); replace an existing one if asked.

    Without ``overwrite`` an existing ``target`` raises :class:`~abkit.errors.FileExistsAbkitError`.
    With it, the old folder is renamed aside, the new one renamed in and the old one deleted; if
    the second rename fails the old folder is put back.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> new = make_temp_dir(d, "r"); _ = (new / "r.html").write_text("new")
    >>> replace_dir(new, d / "r", overwrite=False)
    >>> sorted(p.name for p in d.iterdir()), (d / "r" / "r.html").read_text()
    (['r'], 'new')
    """
    if not (target.exists() or target.is_symlink()):
        try:
            os.rename(staged, target)  # fails (rather than merges) if another run published meanwhile
            return
        except OSError as exc:
            if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
    if not overwrite:
        raise FileExistsAbkitError(f"{target} already exists; pass overwrite=True (--force) to replace it")
    old = staged.with_name(f"{staged.name}.old")
    os.replace(target, old)
    try:
        os.replace(staged, target)
    except BaseException:
        os.replace(old, target)
        raise
    _remove(old)


def remove_stale(folder: str | os.PathLike[str], patterns: Iterable[str]) -> list[Path]:
    """Delete the hidden temporaries matching ``patterns`` (globs) in ``folder``; return what went.

    Call it only while holding the lock of the experiment that owns them (:func:`experiment_lock`):
    then no live run is writing them, so they are leftovers of killed runs.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = make_temp_dir(d, "spring-2026-06-20"); _ = (d / "keep.txt").write_text("mine")
    >>> [p.name[:18] for p in remove_stale(d, [".spring-*"])], sorted(p.name for p in d.iterdir())
    (['.spring-2026-06-20'], ['keep.txt'])
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    gone = []
    for pattern in patterns:
        for path in sorted(folder.glob(pattern)):
            if path.name.startswith(".") and path.name != LOCK_NAME:
                _remove(path)
                gone.append(path)
    return gone


_HELD: dict[Path, int] = {}


@contextmanager
def experiment_lock(folder: str | os.PathLike[str], *, name: str) -> Iterator[bool]:
    """Hold the exclusive lock ``FOLDER/.abkit.lock`` of experiment ``name`` for the block.

    Non-blocking: if another process holds it, :class:`ExperimentBusyError` names the experiment
    at once. Re-entrant within one process (a demo assigns and reports under one lock). Yields
    ``True`` for the outermost holder, which is the one that may clean up stale temporaries. The
    lock is an ``flock``: the system releases it when the holder exits, even when killed.

    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> with experiment_lock(d, name="spring") as first:
    ...     with experiment_lock(d, name="spring") as again:
    ...         print(first, again)
    True False
    """
    folder = Path(folder)
    key = folder.resolve()
    if key in _HELD:
        _HELD[key] += 1
        try:
            yield False
        finally:
            _HELD[key] -= 1
        return
    path = folder / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, file_mode())
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ExperimentBusyError(
                f"experiment {name!r} is busy: another abkit run holds its lock {path}; "
                "wait for it to finish and retry"
            ) from None
        _HELD[key] = 1
        try:
            yield True
        finally:
            del _HELD[key]
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
