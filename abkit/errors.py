"""Errors raised by abkit: every bad input raises a subclass of :class:`AbkitError`.

``AbkitError`` is a ``ValueError`` so that callers who already catch ``ValueError`` keep working.
Messages name the argument, column, key or file, the offending value, and the fix.
"""

from __future__ import annotations

__all__ = [
    "AbkitError",
    "AbkitWarning",
    "ColumnError",
    "DataError",
    "FileExistsAbkitError",
    "NotebookError",
    "ParameterError",
    "SourceError",
    "SpecError",
]


class AbkitError(ValueError):
    """Base class of every error abkit raises on bad input."""


class ParameterError(AbkitError):
    """A function argument is out of range, of the wrong type, or an unknown choice."""


class ColumnError(AbkitError):
    """A required column is missing from a table."""


class DataError(AbkitError):
    """Rows of a table are invalid (nulls, duplicates, negative counts, unparseable dates, ...)."""


class SpecError(AbkitError):
    """An experiment specification (``experiment.toml``) is missing, malformed or inconsistent."""


class SourceError(AbkitError):
    """A data source (file, glob, database query) is missing, empty or not a table."""


class FileExistsAbkitError(AbkitError, FileExistsError):
    """A file would be overwritten and the caller did not ask for ``overwrite=True`` / ``--force``."""


class NotebookError(AbkitError):
    """Executing a report or design notebook failed (exception, timeout, dead kernel, bad parameter)."""


class AbkitWarning(UserWarning):
    """A result was computed, but input rows were excluded or something else needs attention."""
