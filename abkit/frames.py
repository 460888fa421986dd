"""Table input: pandas DataFrames as they are, polars DataFrames and pyarrow Tables converted once.

Every public function of abkit that takes a table accepts a pandas DataFrame, a polars DataFrame or
a pyarrow Table (through `narwhals <https://narwhals-dev.github.io/narwhals/>`_, the maintained
compatibility layer between DataFrame libraries) and returns pandas results. The conversion happens
at the door, in :func:`to_pandas_frame`; the rest of abkit sees pandas only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd

from abkit.errors import ParameterError

__all__ = ["frame_from_columns", "to_pandas_frame"]


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


_FEW_ROWS = 64  # frame_from_columns converts text columns together up to this many rows


def frame_from_columns(columns: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """A DataFrame of equal-length numpy columns, as ``pd.DataFrame(columns)`` builds it, only faster.

    Object columns holding only ``str`` become pandas' string dtype exactly as the plain
    constructor makes them, but converted in one call for all such columns instead of one per
    column (on a result table of a few rows, the per-column conversions cost more than the
    statistics). Other columns pass through unchanged.

    >>> f = frame_from_columns({"arm": np.array(["a", "b"], dtype=object), "n": np.array([3, 4])})
    >>> f.equals(pd.DataFrame({"arm": np.array(["a", "b"], dtype=object), "n": np.array([3, 4])}))
    True
    """
    lengths = {len(values) for values in columns.values()}
    if len(lengths) != 1 or not 0 < lengths.pop() <= _FEW_ROWS:  # wider tables: the per-value check
        return pd.DataFrame(columns)  # below would cost more than the conversions it saves
    labels = [
        name for name, values in columns.items()
        if values.dtype == object and all(isinstance(v, str) for v in values)
    ]  # fmt: skip
    if len(labels) < 2:
        return pd.DataFrame(columns)
    rows = len(columns[labels[0]])
    joined = pd.array(np.concatenate([columns[name] for name in labels]), dtype="str")
    out: dict[str, Any] = dict(columns)
    for i, name in enumerate(labels):
        out[name] = joined[i * rows : (i + 1) * rows]
    return pd.DataFrame(out, copy=False)
