"""Assignments made outside abkit: the checks an imported split passes and the row-number id convention.

An e-mail or CRM tool often splits the customers itself and exports one row per customer with the
arm it chose. ``abkit import`` (:func:`abkit.workflow.import_assignment`) records such a split as
abkit's assignment with ``method = "external"``; this module holds the pure part: turning the
exported table into the saved assignment's columns, with every check that can fail named.

When the export has no customer id, the row number is the id: :func:`row_ids` gives ``"1"``,
``"2"``, ... (text, starting at 1) for the rows of a table in file order. The same file then
serves as ``[data] outcomes``, and the outcome reader numbers its rows with the same function
(:func:`attach_row_ids`), after checking that the table still has the rows that were imported.
"""

from __future__ import annotations

import difflib
import hashlib
import os
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from abkit.errors import ColumnError, DataError, ParameterError

__all__ = [
    "ROW_ID_START",
    "ROW_NUMBER_IDS",
    "attach_row_ids",
    "external_assignment",
    "file_sha256",
    "parse_mapping",
    "row_ids",
    "uses_row_ids",
]

#: The id of a table's first row when ids are row numbers (``row_ids``).
ROW_ID_START = 1
#: Value of the metadata's ``source.ids`` when the ids are row numbers of the source file.
ROW_NUMBER_IDS = "row number"


def row_ids(frame: pd.DataFrame | int) -> pd.Series:
    """Ids for a table without an id column: its row number in file order, from 1, as text.

    ``frame`` is the table (its index is kept) or a number of rows. This is the one convention
    shared by ``abkit import`` without ``--id-col`` and the reader of ``[data] outcomes``.

    >>> row_ids(pd.DataFrame({"visit": [0, 1, 0]})).tolist()
    ['1', '2', '3']
    """
    if isinstance(frame, pd.DataFrame):
        n, index = len(frame), frame.index
    elif isinstance(frame, int) and not isinstance(frame, bool) and frame >= 0:
        n, index = frame, pd.RangeIndex(frame)
    else:
        raise ParameterError(f"frame must be a DataFrame or a number of rows, got {frame!r}")
    values = [str(i) for i in range(ROW_ID_START, ROW_ID_START + n)]
    return pd.Series(values, index=index, dtype=object, name="row_id")


def uses_row_ids(metadata: Mapping[str, Any]) -> bool:
    """True when a saved assignment's ids are the row numbers of its source file (no id column).

    >>> uses_row_ids({"method": "external", "source": {"ids": "row number"}}), uses_row_ids({})
    (True, False)
    """
    source = metadata.get("source")
    return isinstance(source, Mapping) and source.get("ids") == ROW_NUMBER_IDS


def attach_row_ids(
    frame: pd.DataFrame, metadata: Mapping[str, Any], *, id_col: str, what: str = "outcomes"
) -> pd.DataFrame:
    """Return a copy of ``frame`` with ``id_col`` set to :func:`row_ids`, for an assignment imported so.

    The table must have as many rows as the file that was imported (``metadata["n_rows"]``): rows
    added, removed or re-exported in another order would join the wrong customers, so a different
    count is an error naming both numbers.

    >>> meta = {"n_rows": 2, "source": {"ids": "row number", "file": "campaign.csv"}}
    >>> attach_row_ids(pd.DataFrame({"visit": [1, 0]}), meta, id_col="customer_id")["customer_id"].tolist()
    ['1', '2']
    """
    if not uses_row_ids(metadata):
        raise ParameterError(
            f"the assignment was not imported with row-number ids; {what} needs an id column"
        )
    expected = metadata.get("n_rows")
    if len(frame) != expected:
        source = metadata["source"].get("file", "the imported file")
        raise DataError(
            f"{what} has {len(frame):,} rows but the assignment was imported from {source} with "
            f"{expected:,} rows, and its ids are row numbers: use the very file that was imported, or "
            "re-import the assignment with an id column (--id-col)"
        )
    if id_col in frame.columns:
        raise ColumnError(
            f"{what} already has a column {id_col!r}; the assignment's ids are row numbers, so "
            "re-import it with --id-col " + id_col
        )
    out = frame.copy()
    out[id_col] = row_ids(frame)
    return out


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 hex digest of a file's bytes (what ``abkit import`` records about its source).

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp(), "x.csv"); _ = p.write_bytes(b"")
    >>> file_sha256(p)[:12]
    'e3b0c44298fc'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def parse_mapping(items: Sequence[str]) -> dict[str, str]:
    """Parse ``OLD=NEW`` pairs (``--map``), split at the first ``=``; names may hold spaces.

    >>> parse_mapping(["No E-Mail=holdout", "Mens E-Mail=mens"])
    {'No E-Mail': 'holdout', 'Mens E-Mail': 'mens'}
    """
    out: dict[str, str] = {}
    for item in items:
        old, sep, new = str(item).partition("=")
        if not sep or not old or not new:
            raise ParameterError(
                f"--map {item!r} is not OLD=NEW; write the exported value, '=', and the spec's variant "
                "name, e.g. --map 'No E-Mail=holdout'"
            )
        if old in out and out[old] != new:
            raise ParameterError(f"--map maps {old!r} twice ({out[old]!r} and {new!r}); keep one")
        out[old] = new
    return out


def _suggest(value: str, options: Sequence[str]) -> str:
    close = difflib.get_close_matches(value, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _shown(values: Sequence[Any], limit: int = 8) -> str:
    items = [repr(v) for v in list(values)[:limit]]
    more = f", ... ({len(values) - limit:,} more)" if len(values) > limit else ""
    return ", ".join(items) + more


def _text_ids(column: pd.Series, what: str, option: str) -> pd.Series:
    name = column.name
    nulls = column.isna()
    if nulls.any():
        rows = (nulls.to_numpy().nonzero()[0][:5] + ROW_ID_START).tolist()
        raise DataError(
            f"{what} column {name!r} ({option}) has {int(nulls.sum()):,} empty id(s) (rows {rows}); "
            "every customer needs an id"
        )
    if pd.api.types.is_bool_dtype(column.dtype) or pd.api.types.is_float_dtype(column.dtype):
        raise DataError(
            f"{what} column {name!r} ({option}) holds {column.dtype} values, not ids; ids are text or "
            "whole numbers (keep leading zeros by reading them as text)"
        )
    ids = column.astype(str)
    blank = ids.str.strip() == ""
    if blank.any():
        raise DataError(f"{what} column {name!r} ({option}) has {int(blank.sum()):,} blank id(s)")
    return ids.astype(object)


def _require(frame: pd.DataFrame, column: str, option: str, what: str) -> None:
    if column not in frame.columns:
        have = [str(c) for c in frame.columns]
        raise ColumnError(
            f"{what} has no column {column!r} ({option}){_suggest(column, have)}; "
            f"its columns: {_shown(have, 12)}"
        )


def external_assignment(
    frame: pd.DataFrame,
    *,
    variants: Sequence[str],
    variant_col: str,
    id_col: str | None = None,
    segment_col: str | None = None,
    mapping: Mapping[str, str] | None = None,
    id_name: str = "customer_id",
    what: str = "assignment file",
) -> pd.DataFrame:
    """Check an exported split and return it as abkit's assignment: ``id_name``, ``variant`` (, ``segment``).

    ``variant_col`` holds each row's arm; ``mapping`` renames exported arm names to the spec's
    (``{"No E-Mail": "holdout"}``); ``id_col`` is the customer id (kept as text), or None for
    :func:`row_ids`. Checks, each an error naming the column and values: the columns exist, no
    id or arm is empty, one row per id, every mapped name occurs, every variant of ``variants``
    has rows and no other arm does.

    >>> export = pd.DataFrame({"id": ["007", "008", "009"], "arm": ["A", "No E-Mail", "A"]})
    >>> external_assignment(export, variants=["holdout", "A"], variant_col="arm", id_col="id",
    ...                     mapping={"No E-Mail": "holdout"}).to_dict("list")
    {'customer_id': ['007', '008', '009'], 'variant': ['A', 'holdout', 'A']}
    """
    if not isinstance(frame, pd.DataFrame):
        raise ParameterError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    _require(frame, variant_col, "--variant-col", what)
    if id_col is not None:
        _require(frame, id_col, "--id-col", what)
    if segment_col is not None:
        _require(frame, segment_col, "--segment-col", what)
    if len(frame) == 0:
        raise DataError(f"{what} has no rows")
    arms = frame[variant_col]
    empty = arms.isna() | (arms.astype(str).str.strip() == "")
    if empty.any():
        rows = (empty.to_numpy().nonzero()[0][:5] + ROW_ID_START).tolist()
        raise DataError(
            f"{what} column {variant_col!r} (--variant-col) is empty in {int(empty.sum()):,} row(s) "
            f"(rows {rows}); every customer needs the arm the tool assigned"
        )
    arms = arms.astype(str)
    mapping = dict(mapping or {})
    present = list(pd.unique(arms))
    unknown = [old for old in mapping if old not in present]
    if unknown:
        raise ParameterError(
            f"--map {unknown[0]!r}={mapping[unknown[0]]!r}: {unknown[0]!r} is not a value of {what} column "
            f"{variant_col!r}{_suggest(unknown[0], present)}; its values: {_shown(sorted(present))}"
        )
    arms = arms.map(lambda v: mapping.get(v, v))
    counts = arms.value_counts()
    spec = [str(v) for v in variants]
    extra = [v for v in counts.index if v not in spec]
    if extra:
        shown = ", ".join(f"{v!r} ({int(counts[v]):,} rows)" for v in extra[:5])
        raise DataError(
            f"{what} column {variant_col!r} holds {shown}, "
            f"{'not a variant' if len(extra) == 1 else 'not variants'} of the spec ({_shown(spec)})"
            f"{_suggest(extra[0], spec)}; map it with --map '{extra[0]}=VARIANT' or add it to [variants]"
        )
    missing = [v for v in spec if v not in counts.index]
    if missing:
        raise DataError(
            f"variant(s) {_shown(missing)} of the spec have no row in {what} column {variant_col!r} "
            f"(its values: {_shown(sorted(counts.index))}); fix [variants] or map a value with --map"
        )
    if id_col is None:
        ids = row_ids(frame)
    else:
        ids = _text_ids(frame[id_col], what, "--id-col")
        dup = ids.duplicated(keep=False)
        if dup.any():
            examples = list(pd.unique(ids[dup]))[:5]
            raise DataError(
                f"{what} column {id_col!r} (--id-col) repeats {int(dup.sum() - ids[dup].nunique()):,} id(s), "
                f"e.g. {examples}; an assignment has one row per customer: remove the duplicates"
            )
    out = pd.DataFrame({id_name: ids.to_numpy(dtype=object), "variant": arms.to_numpy(dtype=object)})
    if segment_col is not None:
        segments = frame[segment_col]
        if segments.isna().any():
            raise DataError(
                f"{what} column {segment_col!r} (--segment-col) is empty in {int(segments.isna().sum()):,} "
                "row(s); fill them (e.g. 'unknown') or leave --segment-col out"
            )
        out["segment"] = segments.astype(str).to_numpy(dtype=object)
    return out
