"""Table input: pandas DataFrames as they are, polars DataFrames and pyarrow Tables converted once.

Every public function of abkit that takes a table accepts a pandas DataFrame, a polars DataFrame or
a pyarrow Table (through `narwhals <https://narwhals-dev.github.io/narwhals/>`_, the maintained
compatibility layer between DataFrame libraries) and returns pandas results. The conversion happens
at the door, in :func:`to_pandas_frame`; the rest of abkit sees pandas only.
"""

from __future__ import annotations

from typing import Any

import narwhals as nw
import pandas as pd

from abkit.errors import ParameterError

__all__ = ["to_pandas_frame"]


def to_pandas_frame(data: Any, *, what: str = "data") -> pd.DataFrame:
    """``data`` as a pandas DataFrame: pandas as it is, polars and pyarrow (and other eager frames
    narwhals knows) converted; anything else raises :class:`~abkit.errors.ParameterError` naming
    ``what`` (the argument).

    A lazy frame (``polars.LazyFrame``, a DuckDB relation) is refused with the fix (collect it first):
    abkit never runs a query behind the caller's back.

    >>> import pyarrow as pa
    >>> to_pandas_frame(pa.table({"variant": ["a", "b"], "sent": [10, 12]}))
      variant  sent
    0       a    10
    1       b    12
    >>> try:
    ...     to_pandas_frame([1, 2], what="outcomes")
    ... except ParameterError as exc:
    ...     print(str(exc)[-8:])
    got list
    """
    if isinstance(data, pd.DataFrame):
        return data
    try:
        frame = nw.from_native(data, eager_only=True)
    except TypeError:
        lazy = False
        try:
            nw.from_native(data)
            lazy = True
        except TypeError:
            pass
        fix = " (a lazy frame or query: collect it first, e.g. LazyFrame.collect())" if lazy else ""
        raise ParameterError(
            f"{what} must be a pandas DataFrame (or a polars DataFrame or pyarrow Table), got "
            f"{type(data).__name__}{fix}"
        ) from None
    return frame.to_pandas()
