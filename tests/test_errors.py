"""Tests for abkit.errors: the error hierarchy users catch."""

from __future__ import annotations

import pytest

import abkit
from abkit import errors


@pytest.mark.parametrize(
    "cls",
    [
        errors.ParameterError,
        errors.ColumnError,
        errors.DataError,
        errors.SpecError,
        errors.SourceError,
        errors.FileExistsAbkitError,
        errors.NotebookError,
    ],
)
def test_every_error_is_an_abkit_error_and_a_value_error(cls: type[Exception]) -> None:
    assert issubclass(cls, abkit.AbkitError)
    assert issubclass(cls, ValueError)
    with pytest.raises(abkit.AbkitError, match="boom"):
        raise cls("boom")


def test_file_exists_error_is_also_a_builtin_file_exists_error() -> None:
    assert issubclass(errors.FileExistsAbkitError, FileExistsError)
