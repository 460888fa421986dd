"""Randomised assignment of units to campaign variants: salted SHA-256, exact blocks or stable hash.

The split is reproducible by any SQL engine. For every unit the library computes::

    h = int(sha256(f"{salt}:{id}".encode("utf-8")).hexdigest()[:15], 16)     # 60 bits, 0 <= h < 16**15

where ``id`` is the **string form** of the unit's id:

* string ids are used as they are (encoded as UTF-8);
* integer ids (Python ``int``, numpy or pandas integer dtypes) are written in base 10 with no
  leading zeros, no ``+`` sign, no thousands separators and a leading ``-`` for negative values,
  which is ``str(id)`` in Python and ``CAST(id AS VARCHAR)`` in DuckDB, PostgreSQL and Spark SQL;
* float, boolean, date and other ids are refused (``str(1.0)`` is ``"1.0"``, a trap for SQL).

In DuckDB: ``('0x' || left(sha256(salt || ':' || CAST(id AS VARCHAR)), 15))::BIGINT``.

Two methods turn ``h`` into a variant:

* ``method="hash"`` (stable): the variant is the first whose cumulative weight, in the order given,
  exceeds ``u = h / 16**15``. Computed in exact integers: variant ``i`` is chosen when
  ``h < ceil(cum_weight_i * 16**15)``. Adding units never moves existing ones.
* ``method="block"`` (default, exact): within each stratum the units are ordered by ``(h, id)`` and
  consecutive runs go to the variants in the order given, with ``floor(n * w_i)`` units each; the
  ``r`` leftover units go to variants chosen by systematic sampling with inclusion probabilities
  equal to the fractional parts ``n * w_i - floor(n * w_i)``, from a start
  ``U = h(salt + ":stratum:" + key) / 16**15`` (the stratum key is ``"|".join(str(v))`` over the
  stratum columns, ``""`` without strata). Every variant's count is within one unit of
  ``n * w_i`` and, summed over many small strata, totals have expectation exactly ``N * w_i``.

Large inputs (100,000 units and more) are hashed by DuckDB's native ``sha256``; smaller ones by
:mod:`hashlib`. Both give identical hashes (tested), so both give identical splits. For block mode
with dense unique integer ids, DuckDB returns only each unit's cell (stratum, top bits of ``h``):
the units are counted per cell and ranked by table look-up, and only the few units of cells that
straddle a run boundary are hashed again by :mod:`hashlib` and ordered exactly by ``(h, id)``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from fractions import Fraction
from math import lcm
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd

from abkit import __version__
from abkit._io import make_temp_file
from abkit._progress import progress
from abkit._validate import check_choice, check_columns
from abkit.errors import ColumnError, DataError, FileExistsAbkitError, ParameterError, SourceError
from abkit.frames import to_pandas_frame
from abkit.names import slug

__all__ = [
    "EXTERNAL",
    "LoadedAssignment",
    "assign",
    "export_send_lists",
    "extend_assignment",
    "load_assignment",
    "parse_variants",
    "save_assignment",
    "send_list_paths",
    "unit_hash",
]

HASH_SPACE = 16**15  # h lies in [0, HASH_SPACE)
_DUCKDB_MIN_UNITS = 100_000
_CHUNK_UNITS = 1_000_000  # units hashed per DuckDB query: one step of the progress bar
_METHODS = ("block", "hash")
#: ``save_assignment(method=EXTERNAL)``: a split made by another tool, recorded (never made) by abkit.
EXTERNAL = "external"
_Engine = Literal["auto", "python", "duckdb"]
_CSV_NA = ["", "#N/A", "#N/A N/A", "#NA", "-NaN", "-nan", "<NA>", "N/A", "NA", "NULL", "NaN", "None"]
_CSV_NA += ["n/a", "nan", "null"]


# ----------------------------------------------------------------------------------------------
# argument checks
# ----------------------------------------------------------------------------------------------
def _check_salt(salt: Any) -> str:
    if not isinstance(salt, str):
        raise ParameterError(f"salt must be a non-empty string, got {salt!r}; e.g. salt='winback-2026-05'")
    if salt == "":
        raise ParameterError(
            "salt is empty; pass a non-empty string unique to this experiment (e.g. 'winback-2026-05'), "
            "so that its split is independent of other experiments"
        )
    return salt


def parse_variants(
    variants: Any, *, name: str = "variants", allow_zero: bool = False
) -> tuple[tuple[str, ...], tuple[Fraction, ...], dict[str, float | int]]:
    """Names, exact normalised weights and the raw weights of a mapping or a list of names.

    ``variants`` is a mapping name -> weight (numbers > 0, or >= 0 with ``allow_zero=True``) or a
    list of names (equal weights); ``name`` is the argument named in errors. Raises
    :class:`~abkit.ParameterError` on an empty, duplicated or non-text name and on a bad weight.

    >>> names, weights, raw = parse_variants({"coupon": 2, "holdout": 1})
    >>> names, [str(w) for w in weights], raw
    (('coupon', 'holdout'), ['2/3', '1/3'], {'coupon': 2, 'holdout': 1})
    >>> parse_variants(["a", "b"])[1] == parse_variants({"a": 5, "b": 5})[1]
    True
    """
    if isinstance(variants, str) or variants is None:
        raise ParameterError(
            f"{name} must be a mapping name -> weight or a list of names, got {variants!r}; "
            "e.g. {'coupon': 1, 'holdout': 1}"
        )
    if isinstance(variants, pd.Series):
        variants = variants.to_dict()
    if isinstance(variants, Mapping):
        items = list(variants.items())
    elif isinstance(variants, Sequence | np.ndarray | pd.Index):
        items = [(v, 1) for v in variants]
    else:
        raise ParameterError(f"{name} must be a mapping name -> weight or a list of names, got {variants!r}")
    if not items:
        raise ParameterError(
            f"{name} is empty; give at least one variant, e.g. {{'coupon': 1, 'holdout': 1}}"
        )
    names: list[str] = []
    raw: dict[str, float | int] = {}
    for key, weight in items:
        if not isinstance(key, str) or key == "":
            raise ParameterError(f"{name}: variant names must be non-empty strings, got {key!r}")
        if key in raw:
            raise ParameterError(f"{name}: variant {key!r} is given twice; names must be unique")
        if weight is None or isinstance(weight, bool) or not isinstance(weight, int | float | np.number):
            raise ParameterError(
                f"{name}[{key!r}] weight is missing or not a number ({weight!r}); give a weight > 0"
            )
        w = float(weight)
        if not np.isfinite(w):
            raise ParameterError(f"{name}[{key!r}] weight is {weight!r}; give a finite weight > 0")
        if w < 0 or (w == 0 and not allow_zero):
            need = ">= 0" if allow_zero else "> 0"
            raise ParameterError(f"{name}[{key!r}] weight is {weight!r}; weights must be {need}")
        names.append(key)
        raw[key] = int(weight) if isinstance(weight, int | np.integer) else w
    exact = [Fraction(raw[k]) for k in names]
    total = sum(exact)
    if total == 0:
        raise ParameterError(f"{name}: all weights are zero; at least one must be positive")
    return tuple(names), tuple(f / total for f in exact), raw


def _integer_weights(weights: Sequence[Fraction]) -> tuple[list[int], int]:
    """Exact integer weights ``A_i`` with sum ``S`` such that ``w_i = A_i / S``."""
    denominator = lcm(*(w.denominator for w in weights))
    ints = [int(w * denominator) for w in weights]
    return ints, sum(ints)


# ----------------------------------------------------------------------------------------------
# ids and hashing
# ----------------------------------------------------------------------------------------------
class _Ids(NamedTuple):
    kind: str  # "integer" or "string"
    values: Any  # np.ndarray of int64/uint64 (integer kind) or pd.Series of str (string kind)


def _prepare_ids(ids: Any, what: str) -> _Ids:
    series = ids if isinstance(ids, pd.Series) else pd.Series(ids if np.ndim(ids) else [ids])
    nulls = series.isna().to_numpy()
    if nulls.any():
        where = np.flatnonzero(nulls)[:5].tolist()
        raise DataError(
            f"{what} has {int(nulls.sum())} null id(s) (row positions {where}); every unit needs an id: "
            "drop or fill these rows before assigning"
        )
    dtype = series.dtype
    if len(series) == 0:  # an empty column has no ids whatever its dtype
        return _Ids("integer", np.empty(0, dtype=np.int64))
    if pd.api.types.is_bool_dtype(dtype):
        raise DataError(f"{what} has boolean ids; ids must be integers or strings")
    if pd.api.types.is_integer_dtype(dtype):
        unsigned = pd.api.types.is_unsigned_integer_dtype(dtype) and series.max() > np.iinfo(np.int64).max
        return _Ids("integer", series.to_numpy(dtype=np.uint64 if unsigned else np.int64))
    if pd.api.types.is_float_dtype(dtype):
        raise DataError(
            f"{what} has float ids (dtype {dtype}); the string form of a float (str(1.0) == '1.0') is "
            "ambiguous for SQL engines: cast the column to int64 or to str"
        )
    if pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        return _Ids("string", series.astype("str"))
    if pd.api.types.is_object_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        obj = series.astype(object)
        inferred = pd.api.types.infer_dtype(obj, skipna=False)
        if inferred == "string":
            return _Ids("string", obj.astype("str"))
        if inferred == "integer":
            values = obj.to_list()
            if all(np.iinfo(np.int64).min <= v <= np.iinfo(np.int64).max for v in values):
                return _Ids("integer", np.asarray(values, dtype=np.int64))
            return _Ids("string", pd.Series([str(v) for v in values], dtype="str"))
        bad = [v for v in obj.to_list() if isinstance(v, bool) or not isinstance(v, str | int | np.integer)]
        if bad:
            raise DataError(
                f"{what} has ids of type {type(bad[0]).__name__} (e.g. {bad[0]!r}); ids must be integers or "
                "strings so that SQL engines reproduce their string form"
            )
        return _Ids("string", pd.Series([str(v) for v in obj.to_list()], dtype="str"))
    raise DataError(f"{what} has ids of dtype {dtype}; ids must be integers or strings")


def _id_strings(ids: _Ids, positions: np.ndarray | None = None) -> np.ndarray:
    values = (
        ids.values
        if positions is None
        else (ids.values[positions] if ids.kind == "integer" else ids.values.iloc[positions])
    )
    if ids.kind == "integer":
        return np.asarray([str(v) for v in values.tolist()], dtype=object)
    return np.asarray(values.to_list(), dtype=object)


def _hash_strings(strings: Sequence[str], salt: str) -> np.ndarray:
    prefix = f"{salt}:"
    try:
        # the first 15 hex digits are the top 60 bits of the first 8 bytes
        return np.fromiter(
            (
                int.from_bytes(hashlib.sha256((prefix + s).encode("utf-8")).digest()[:8], "big") >> 4
                for s in strings
            ),
            dtype=np.int64,
            count=len(strings),
        )
    except UnicodeEncodeError as exc:
        raise DataError(f"an id cannot be encoded as UTF-8 ({exc}); clean the id column") from exc


def _hash_python(ids: _Ids, salt: str) -> np.ndarray:
    return _hash_strings(_id_strings(ids), salt)


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _hash_duckdb(ids: _Ids, salt: str) -> np.ndarray:
    import duckdb
    import pyarrow as pa

    try:
        column = pa.array(ids.values) if ids.kind == "integer" else pa.array(ids.values.array)
    except (pa.ArrowInvalid, UnicodeEncodeError) as exc:
        raise DataError(f"ids cannot be passed to DuckDB ({exc}); clean the id column") from exc
    table = pa.table({"id": column})
    # the salt goes in as one literal: a prepared parameter makes DuckDB run the query on one thread.
    # The first 16 hex digits are unhexed to 8 bytes, read as a big-endian integer and shifted by 4
    # below (cheaper than parsing '0x...' text in SQL).
    prefix = _sql_literal(salt + ":")
    sql = f"SELECT unhex(left(sha256({prefix} || CAST(id AS VARCHAR)), 16)) AS h FROM abkit_ids"
    parts = []
    con = duckdb.connect(config={"preserve_insertion_order": True})
    try:
        con.execute("SET enable_progress_bar = false")  # abkit draws its own, only on a terminal
        starts = range(0, len(table), _CHUNK_UNITS)  # in chunks, for the progress bar; same hashes
        for start in progress(starts, total=len(starts), desc="abkit: hashing ids"):
            con.register("abkit_ids", table.slice(start, _CHUNK_UNITS))
            parts.append(con.sql(sql).to_arrow_table().column("h"))
            con.unregister("abkit_ids")
    finally:
        con.close()
    h = np.concatenate([_digest_prefix_to_int(part, len(part)) for part in parts] or [np.empty(0, np.int64)])
    # cheap guard: a few rows recomputed in Python must agree (row order and formula)
    n = len(h)
    probe = np.unique(np.linspace(0, n - 1, num=min(n, 17)).astype(np.int64))
    if n and not np.array_equal(h[probe], _hash_strings(_id_strings(ids, probe).tolist(), salt)):
        raise RuntimeError("DuckDB and hashlib disagree on unit hashes; please report this as an abkit bug")
    return h


def _digest_prefix_to_int(column: Any, n: int) -> np.ndarray:
    """``int64`` top 60 bits of each 8-byte big-endian binary value of an Arrow (chunked) column."""
    import pyarrow as pa

    h = np.empty(n, dtype=np.int64)
    pos = 0
    for chunk in column.chunks:
        m = len(chunk)
        if m == 0:
            continue
        if chunk.null_count or not (pa.types.is_binary(chunk.type) or pa.types.is_large_binary(chunk.type)):
            raise RuntimeError("DuckDB returned unexpected hash values; please report this as an abkit bug")
        _, offsets_buf, data_buf = chunk.buffers()
        offsets = np.frombuffer(
            offsets_buf, dtype=np.int64 if pa.types.is_large_binary(chunk.type) else np.int32
        )
        first, last = int(offsets[chunk.offset]), int(offsets[chunk.offset + m])
        if last - first != 8 * m:  # every value is exactly 8 bytes
            raise RuntimeError("DuckDB returned unexpected hash values; please report this as an abkit bug")
        raw = np.frombuffer(data_buf, dtype=np.uint8, count=8 * m, offset=first).view(">u8")
        np.right_shift(raw, 4, out=h[pos : pos + m].view(np.uint64), casting="unsafe")
        pos += m
    if pos != n:
        raise RuntimeError("DuckDB returned the wrong number of hashes; please report this as an abkit bug")
    return h


def _use_duckdb(n: int, engine: _Engine) -> bool:
    check_choice("_engine", engine, ("auto", "python", "duckdb"))
    return engine == "duckdb" or (engine == "auto" and n >= _DUCKDB_MIN_UNITS)


def _hash_ids(ids: _Ids, salt: str, engine: _Engine) -> np.ndarray:
    return _hash_duckdb(ids, salt) if _use_duckdb(len(ids.values), engine) else _hash_python(ids, salt)


def unit_hash(ids: Any, salt: str, *, _engine: _Engine = "auto") -> np.ndarray:
    """The 60-bit assignment hash of each id: ``int(sha256(f"{salt}:{id}").hexdigest()[:15], 16)``.

    ``ids`` are integers or strings (see the module docstring for the exact string form of an
    integer id). Returns an ``int64`` array in the order of ``ids``; every value lies in
    ``[0, 16**15)``. Large inputs are hashed by DuckDB, small ones by :mod:`hashlib`, with identical
    results.

    >>> import hashlib
    >>> h = unit_hash([42, "C-001"], salt="winback-2026")
    >>> int(h[0]) == int(hashlib.sha256(b"winback-2026:42").hexdigest()[:15], 16)
    True
    >>> h.dtype
    dtype('int64')
    """
    salt = _check_salt(salt)
    return _hash_ids(_prepare_ids(ids, "ids"), salt, _engine)


def _unique_by_bitmap(ids: _Ids) -> bool | None:
    """True when the ids are dense int64 values proven unique by a bitmap, False when that bitmap
    finds a repeat, None when the ids are not dense integers (the hash-based check is needed)."""
    n = len(ids.values)
    if n < 2:
        return True
    if ids.kind != "integer" or ids.values.dtype != np.int64:
        return None
    values = ids.values
    lo, hi = int(values.min()), int(values.max())
    if hi - lo >= 4 * n + 1024:
        return None
    seen = np.zeros(hi - lo + 1, dtype=bool)
    step = 1 << 20  # in slices: no full-size temporary
    for start in range(0, n, step):
        seen[values[start : start + step] - lo] = True
    return bool(np.count_nonzero(seen) == n)


def _check_unique(ids: _Ids, h: np.ndarray, what: str) -> None:
    """Raise DataError on duplicated ids (compared by string form)."""
    if _unique_by_bitmap(ids):
        return
    if len(h) < 2:
        return
    ordered = np.sort(h)
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    if repeated.size == 0:
        return
    candidates = np.flatnonzero(np.isin(h, repeated))
    strings = pd.Series(_id_strings(ids, candidates))
    dup = strings[strings.duplicated(keep=False)]
    if len(dup):
        first = candidates[dup.drop_duplicates().index.to_numpy()[:5]]
        examples = ids.values[first].tolist() if ids.kind == "integer" else ids.values.iloc[first].tolist()
        raise DataError(
            f"{what} has {len(dup) - dup.nunique()} duplicated id(s) (compared by their string form), e.g. "
            f"{examples}; each unit must appear once: drop duplicates before assigning"
        )


# ----------------------------------------------------------------------------------------------
# strata and the two methods
# ----------------------------------------------------------------------------------------------
def _strata_list(strata: Any) -> list[str]:
    if strata is None:
        return []
    if isinstance(strata, str):
        return [strata]
    if isinstance(strata, Sequence) and all(isinstance(s, str) for s in strata):
        return list(strata)
    raise ParameterError(f"strata must be a column name or a list of column names, got {strata!r}")


def _factorize(column: pd.Series) -> tuple[np.ndarray, list[Any]]:
    if isinstance(column.dtype, pd.StringDtype) and column.dtype.storage == "pyarrow":
        try:
            import pyarrow as pa
            import pyarrow.compute as pc

            chunked = pa.chunked_array(pa.array(column.array))  # no copy for Arrow-backed strings
            encoded = pa.table({"c": pc.dictionary_encode(chunked)}).unify_dictionaries().column("c")
            if encoded.num_chunks == 0:
                return np.zeros(0, dtype=np.int32), []
            indices = [chunk.indices.to_numpy(zero_copy_only=False) for chunk in encoded.chunks]
            codes = np.concatenate(indices) if len(indices) > 1 else indices[0]
            return codes, encoded.chunks[0].dictionary.to_pylist()
        except (ImportError, AttributeError, TypeError):  # pragma: no cover - pyarrow is a dependency
            pass
    codes, uniques = pd.factorize(column)
    return codes.astype(np.int32 if len(uniques) < 2**31 else np.int64), list(uniques)


def _check_strata_nulls(units: pd.DataFrame, strata: list[str]) -> None:
    for col in strata:
        nulls = units[col].isna().to_numpy()
        if nulls.any():
            raise DataError(
                f"stratum column {col!r} has {int(nulls.sum())} null value(s) (row positions "
                f"{np.flatnonzero(nulls)[:5].tolist()}); fill them (e.g. 'unknown') or drop those units"
            )


def _stratum_codes(units: pd.DataFrame, strata: list[str]) -> tuple[np.ndarray, list[str]]:
    """Stratum code of each row (int32 or int64) and the key string of each code."""
    n = len(units)
    if not strata:
        return np.zeros(n, dtype=np.int32), [""]
    _check_strata_nulls(units, strata)
    parts = [_factorize(units[col]) for col in strata]
    codes, labels = parts[0][0], [(v,) for v in parts[0][1]]
    for next_codes, next_uniques in parts[1:]:
        width = len(next_uniques)
        combined = codes.astype(np.int64) * width + next_codes
        if len(labels) * width <= max(4 * n, 1 << 16):  # present combinations, in increasing order
            present = np.bincount(combined, minlength=len(labels) * width) > 0
            new_codes = np.flatnonzero(present)
            remap = np.cumsum(present) - 1
            codes = remap[combined]
        else:
            new_codes, codes = np.unique(combined, return_inverse=True)
        labels = [labels[c // width] + (next_uniques[c % width],) for c in new_codes.tolist()]
        codes = codes.astype(np.int32 if len(labels) < 2**31 else np.int64)
    keys = ["|".join(str(v) for v in label) for label in labels]
    return codes, keys


def _block_counts(n: int, ints: list[int], total: int, start: int) -> list[int]:
    """Units per variant in a stratum of size ``n``: floors plus salted systematic leftovers (exact)."""
    base = [n * a // total for a in ints]
    rems = [n * a % total for a in ints]
    counts = []
    below_prev = 0
    cumulative = 0
    for b, rem in zip(base, rems, strict=True):
        cumulative += rem
        # number of points (start/T + k) * total, k >= 0, lying below `cumulative`
        num = cumulative * HASH_SPACE - start * total
        below = max(0, -(-num // (total * HASH_SPACE)))
        counts.append(b + below - below_prev)
        below_prev = below
    return counts


def _bucket_bits(n: int, n_strata: int) -> int:
    """Bits of ``h`` per histogram bucket index: about 64 units per (stratum, bucket) cell.

    Fewer, fuller cells keep the histogram small (it is rebuilt per chunk of rows); only the units
    of the ``(k - 1)`` cells per stratum that straddle a run boundary are ordered exactly.
    """
    return int(min(20, max(0, np.floor(np.log2(max(1.0, n / (64.0 * max(n_strata, 1))))))))


_CHUNK = 1 << 18  # rows per slice in the numpy passes: temporaries stay small and in cache


def _stratum_block_counts(
    sizes: np.ndarray, keys: list[str], salt: str, ints: list[int], total: int
) -> np.ndarray:
    starts = _hash_strings([f"stratum:{key}" for key in keys], salt)
    return np.asarray(
        [_block_counts(int(sz), ints, total, int(st)) for sz, st in zip(sizes, starts, strict=True)],
        dtype=np.int64,
    ).reshape(len(keys), len(ints))


def _codes_from_cells(
    key_chunks: Any,
    n: int,
    n_strata: int,
    bits: int,
    counts_for: Any,
    exact_h: Any,
    ids: _Ids,
) -> np.ndarray:
    """Block variant codes from each unit's cell ``stratum << bits | h >> (60 - bits)``.

    ``key_chunks()`` yields ``(start, keys)`` slices covering the units in order; ``counts_for(sizes)``
    gives the per-stratum counts (n_strata x k); ``exact_h(rows)`` the 60-bit hashes of some rows.
    The units are counted in a histogram over cells (ordered as (stratum, h) is), so every unit of
    a cell lying wholly inside one variant's run gets its code by a table look-up; only the units
    of the few cells that straddle a run boundary are ordered exactly by ``(h, id string)``.
    """
    n_cells = n_strata << bits
    hist = np.zeros(n_cells, dtype=np.int64)
    for _, chunk in key_chunks():
        hist += np.bincount(chunk, minlength=n_cells)
    counts = counts_for(hist.reshape(n_strata, 1 << bits).sum(axis=1))
    k = counts.shape[1]
    code_type = np.int8 if k <= 127 else np.int64
    if k == 1 or n == 0:
        return np.zeros(n, dtype=code_type)
    # rank (within its stratum) of the first and of the last unit of each cell
    ends = np.cumsum(hist.reshape(n_strata, 1 << bits), axis=1).reshape(-1)
    firsts = ends - hist
    # ranks where variants 1..k-1 start in each stratum, laid out on one increasing axis (stratum s
    # owns [s * stride, (s + 1) * stride)), so that one searchsorted gives the variant at any rank
    stride = int(counts.sum(axis=1).max()) + 1
    strata_axis = np.arange(n_strata, dtype=np.int64) * stride
    axis_bounds = (strata_axis[:, None] + np.cumsum(counts, axis=1)[:, :-1]).reshape(-1)

    def variant_at(cell: np.ndarray, rank: np.ndarray) -> np.ndarray:
        stratum = cell >> bits
        return np.searchsorted(axis_bounds, strata_axis[stratum] + rank, side="right") - stratum * (k - 1)

    cells = np.arange(n_cells, dtype=np.int64)
    at_first = variant_at(cells, firsts)
    at_last = variant_at(cells, np.maximum(ends - 1, firsts))
    table = np.where(at_first == at_last, at_first, -1).astype(code_type)
    variant = np.empty(n, dtype=code_type)
    mixed_rows, mixed_keys = [], []
    for start, chunk in key_chunks():
        out = variant[start : start + len(chunk)]
        np.take(table, chunk, out=out)
        local = np.flatnonzero(out < 0)
        if local.size:
            mixed_rows.append(local + start)
            mixed_keys.append(chunk[local].astype(np.int64))
    if mixed_rows:
        # order the straddling units by (cell, h, id string) and give each its exact rank
        mixed = np.concatenate(mixed_rows)
        mixed_key = np.concatenate(mixed_keys)
        mixed_h = np.asarray(exact_h(mixed), dtype=np.int64)
        if not np.array_equal(mixed_h >> (60 - bits), mixed_key & ((1 << bits) - 1)):
            raise RuntimeError("unit hashes disagree between engines; please report this as an abkit bug")
        order = np.lexsort((mixed_h, mixed_key))
        sorted_key, sorted_h = mixed_key[order], mixed_h[order]
        tie = np.flatnonzero((sorted_key[1:] == sorted_key[:-1]) & (sorted_h[1:] == sorted_h[:-1]))
        if tie.size:  # equal 60-bit hashes of distinct ids: break the tie by the id's string form
            strings = _id_strings(ids, mixed[order])
            order = order[np.lexsort((strings, sorted_h, sorted_key))]
            sorted_key = mixed_key[order]
        group_start = np.searchsorted(sorted_key, sorted_key, side="left")
        rank = firsts[sorted_key] + (np.arange(order.size) - group_start)
        variant[mixed[order]] = variant_at(sorted_key, rank)
    return variant


def _block_codes(
    h: np.ndarray, strata_codes: np.ndarray, counts: np.ndarray, ids: _Ids, *, bucket_bits: int | None = None
) -> np.ndarray:
    """Variant code of each unit given the per-stratum counts (n_strata x k), runs in (h, id) order."""
    n_strata = counts.shape[0]
    n = len(h)
    bits = _bucket_bits(n, n_strata) if bucket_bits is None else bucket_bits

    def key_chunks() -> Any:
        for start in range(0, n, _CHUNK):
            key = np.right_shift(h[start : start + _CHUNK], 60 - bits)  # 0 <= h < 2**60
            if n_strata > 1:
                key |= np.left_shift(strata_codes[start : start + _CHUNK].astype(np.int64), bits)
            yield start, key

    def counts_for(sizes: np.ndarray) -> np.ndarray:
        if not np.array_equal(sizes, counts.sum(axis=1)):
            raise ValueError("counts do not add up to the stratum sizes")
        return counts

    return _codes_from_cells(key_chunks, n, n_strata, bits, counts_for, lambda rows: h[rows], ids)


_SQL_STRATA_MAX_VALUES = 64  # distinct values per string stratum column coded inside the SQL query


def _is_arrow_string(column: pd.Series) -> bool:
    return isinstance(column.dtype, pd.StringDtype) and column.dtype.storage == "pyarrow"


def _block_codes_duckdb(
    ids: _Ids, salt: str, units: pd.DataFrame, strata: list[str], ints: list[int], total: int
) -> np.ndarray | None:
    """Block variant codes with DuckDB computing each unit's cell (stratum, top bits of h) in SQL.

    Only the cells are read back (4 bytes a unit, no 60-bit hashes): the few units whose cell
    straddles a run boundary are hashed again by :mod:`hashlib`. String stratum columns with few
    values are coded inside the same query (after one ``SELECT DISTINCT``); other strata are coded
    by :func:`_stratum_codes` and passed in. None when the cells would be too coarse for the
    re-hashing to stay cheap (the caller then uses the full hashes).
    """
    import duckdb
    import pyarrow as pa

    n = len(ids.values)
    try:
        columns = {"id": pa.array(ids.values) if ids.kind == "integer" else pa.array(ids.values.array)}
    except (pa.ArrowInvalid, UnicodeEncodeError) as exc:
        raise DataError(f"ids cannot be passed to DuckDB ({exc}); clean the id column") from exc
    in_sql = bool(strata) and all(_is_arrow_string(units[col]) for col in strata)
    for i, col in enumerate(strata if in_sql else []):
        columns[f"s{i}"] = pa.chunked_array(pa.array(units[col].array))
    con = duckdb.connect(config={"preserve_insertion_order": True})
    try:
        con.execute("SET enable_progress_bar = false")  # abkit draws its own, only on a terminal
        table = pa.table(columns)
        con.register("abkit_units", table)
        values: list[list[str]] = []
        if in_sql:
            distinct = ", ".join(f"list(DISTINCT s{i})" for i in range(len(strata)))
            values = [sorted(v) for v in con.sql(f"SELECT {distinct} FROM abkit_units").fetchall()[0]]
            in_sql = all(len(v) <= _SQL_STRATA_MAX_VALUES for v in values)
        if in_sql:  # mixed-radix code over the columns' sorted values (combinations may be empty)
            radices = [len(v) for v in values]
            labels: list[tuple[str, ...]] = [()]
            for v in values:
                labels = [(*label, x) for label in labels for x in v]
            keys = ["|".join(label) for label in labels]
            code_sql = "0"
            for i, v in enumerate(values):
                position = f"(list_position([{', '.join(_sql_literal(x) for x in v)}], s{i}) - 1)"
                code_sql = f"({code_sql} * {radices[i]} + {position})"
            strata_codes = None
        else:
            strata_codes, keys = _stratum_codes(units, strata)
            code_sql = "s0"
        n_strata = len(keys)
        bits = _bucket_bits(n, n_strata)
        # about (k - 1) / 2**bits of the units are re-hashed in Python: at most 1 in 16
        if (len(ints) - 1) * 16 > (1 << bits) or (n_strata << bits) >= 2**31:
            return None
        if strata_codes is not None and n_strata > 1:
            con.unregister("abkit_units")
            columns = {"id": columns["id"], "s0": pa.array(strata_codes.astype(np.int32, copy=False))}
            table = pa.table(columns)
            con.register("abkit_units", table)
        digits = -(-bits // 4)
        cell = (
            f"(('0x' || left(sha256({_sql_literal(salt + ':')} || CAST(id AS VARCHAR)), {digits}))::INTEGER "
            f">> {4 * digits - bits})"
        )
        if n_strata > 1:
            cell = f"(({code_sql} << {bits}) | {cell})"
        parts = []
        starts = range(0, n, _CHUNK_UNITS)  # in chunks, for the progress bar; same cells
        for start in progress(starts, total=len(starts), desc="abkit: assigning"):
            con.register("abkit_chunk", table.slice(start, _CHUNK_UNITS))
            parts.append(con.sql(f"SELECT {cell} AS cell FROM abkit_chunk").to_arrow_table().column("cell"))
            con.unregister("abkit_chunk")
    finally:
        con.close()
    chunks = [chunk.to_numpy() for part in parts for chunk in part.chunks if len(chunk)]
    if sum(len(c) for c in chunks) != n:
        raise RuntimeError("DuckDB returned the wrong number of rows; please report this as an abkit bug")

    def key_chunks() -> Any:
        start = 0
        for chunk in chunks:
            yield start, chunk
            start += len(chunk)

    def exact_h(rows: np.ndarray) -> np.ndarray:
        return _hash_strings(_id_strings(ids, rows).tolist(), salt)

    def counts_for(sizes: np.ndarray) -> np.ndarray:
        return _stratum_block_counts(sizes, keys, salt, ints, total)

    # cheap guard: a few rows' cells recomputed in Python must agree (row order and formula)
    probe = np.unique(np.linspace(0, n - 1, num=min(n, 17)).astype(np.int64))
    chunk_starts = np.cumsum([0] + [len(c) for c in chunks])
    which = np.searchsorted(chunk_starts, probe, side="right") - 1
    got = [int(chunks[c][p - chunk_starts[c]]) for c, p in zip(which.tolist(), probe.tolist(), strict=True)]
    expected = (exact_h(probe) >> (60 - bits)).tolist()
    if n_strata > 1:
        if strata_codes is not None:
            probe_codes = strata_codes[probe].tolist()
        else:
            index = {key: code for code, key in enumerate(keys)}
            rows = units[strata].iloc[probe].astype(str).to_numpy().tolist()
            probe_codes = [index["|".join(row)] for row in rows]
        expected = [e | (c << bits) for e, c in zip(expected, probe_codes, strict=True)]
    if got != expected:
        raise RuntimeError("DuckDB and hashlib disagree on unit hashes; please report this as an abkit bug")
    return _codes_from_cells(key_chunks, n, n_strata, bits, counts_for, exact_h, ids)


def _variant_column(codes: np.ndarray, names: Sequence[str], index: pd.Index) -> pd.Series:
    try:
        import pyarrow as pa

        dictionary = pa.array(list(names), type=pa.large_string())
        decoded = pa.DictionaryArray.from_arrays(pa.array(codes), dictionary).dictionary_decode()
        return pd.Series(pd.array(decoded, dtype="str"), index=index)
    except (ImportError, TypeError, ValueError):  # pragma: no cover - old pandas
        return pd.Series(np.asarray(names, dtype=object)[codes], index=index, dtype="str")


def assign(
    units: pd.DataFrame,
    *,
    variants: Mapping[str, float] | Sequence[str],
    salt: str,
    strata: str | Sequence[str] | None = None,
    id_col: str = "customer_id",
    method: str = "block",
    variant_col: str = "variant",
    _engine: _Engine = "auto",
) -> pd.DataFrame:
    """Randomise ``units`` to ``variants`` with a salted SHA-256 hash; return a copy with a variant column.

    ``variants`` is a mapping name -> weight (positive numbers, normalised) or a list of names
    (equal weights); a holdout is simply a variant that is not contacted later. ``method="block"``
    (default) gives exact counts per stratum (each variant within one unit of
    ``stratum_size * weight``); ``method="hash"`` is stable as the population grows. Per-cell
    weights ``{cell: {name: weight}}`` (``cell``: the stratum key, ``"|"``-joined values of the
    ``strata`` columns; zero weights allowed) split each stratum by its own weights with the same
    salted hash, so each cell's split is the one its own weights would give. The result does
    not depend on row order; another salt gives an independent split. Row order and all columns are
    kept. ``strata`` (column names) define the blocks; ``method="hash"`` checks them but does not
    use them. Raises on duplicated or null ids, null strata and bad weights. See the module
    docstring for the exact, SQL-reproducible definitions.

    >>> import pandas as pd
    >>> units = pd.DataFrame({"customer_id": range(1, 9), "segment": ["a"] * 4 + ["b"] * 4})
    >>> out = assign(units, variants={"coupon": 1, "holdout": 1}, salt="wb-1", strata="segment")
    >>> out.groupby(["segment", "variant"]).size().tolist()
    [2, 2, 2, 2]
    >>> list(out.columns)
    ['customer_id', 'segment', 'variant']
    """
    units = to_pandas_frame(units, what="units")
    salt = _check_salt(salt)
    check_choice("method", method, _METHODS)
    strata_cols = _strata_list(strata)
    if _is_per_cell(variants):
        return _assign_per_cell(
            units, variants, salt=salt, strata=strata_cols, id_col=id_col, method=method,
            variant_col=variant_col, engine=_engine,
        )  # fmt: skip
    names, weights, _ = parse_variants(variants)
    check_columns(units, [id_col, *strata_cols], what="units")
    if variant_col in units.columns:
        raise ColumnError(
            f"units already has a {variant_col!r} column; drop it or pass another variant_col= "
            "(an existing split is never overwritten silently)"
        )
    ids = _prepare_ids(units[id_col], f"units column {id_col!r}")
    _check_strata_nulls(units, strata_cols)
    ints, total = _integer_weights(weights)
    codes = None
    if method == "block" and _use_duckdb(len(ids.values), _engine) and _unique_by_bitmap(ids):
        # dense integer ids proven unique: DuckDB returns only each unit's cell, not its full hash
        codes = _block_codes_duckdb(ids, salt, units, strata_cols, ints, total)
    if codes is None:
        strata_codes, keys = _stratum_codes(units, strata_cols)
        h = _hash_ids(ids, salt, _engine)
        _check_unique(ids, h, f"units column {id_col!r}")
        if method == "hash":
            cumulative = np.cumsum(ints)[:-1].tolist()
            thresholds = np.asarray([-(-c * HASH_SPACE // total) for c in cumulative], dtype=np.int64)
            codes = np.searchsorted(thresholds, h, side="right")
        else:
            sizes = np.bincount(strata_codes, minlength=len(keys))
            counts = _stratum_block_counts(sizes, keys, salt, ints, total)
            codes = _block_codes(h, strata_codes, counts, ids)
    # pandas >= 3 always copies on write, so a shallow copy is a safe and cheap copy
    out = units.copy(deep=int(pd.__version__.split(".")[0]) < 3)
    out[variant_col] = _variant_column(codes, names, units.index)
    return out


def _is_per_cell(variants: Any) -> bool:
    if not isinstance(variants, Mapping) or not variants:
        return False
    return all(isinstance(v, Mapping) for v in variants.values())


def _assign_per_cell(
    units: pd.DataFrame, variants: Mapping[Any, Mapping[str, float]], *, salt: str, strata: list[str],
    id_col: str, method: str, variant_col: str, engine: _Engine,
) -> pd.DataFrame:  # fmt: skip
    """:func:`assign` with its own weights in every stratum (``variants = {stratum key: {name: weight}}``)."""
    if not strata:
        raise ParameterError("per-cell variants {cell: {name: weight}} need strata= naming the cell columns")
    check_columns(units, [id_col, *strata], what="units")
    if variant_col in units.columns:
        raise ColumnError(f"units already has a {variant_col!r} column; drop it or pass another variant_col=")
    parsed = {
        str(cell): parse_variants(w, name=f"variants[{cell!r}]", allow_zero=True)[:2]
        for cell, w in variants.items()
    }
    names = list(dict.fromkeys(n for cell_names, _ in parsed.values() for n in cell_names))
    ids = _prepare_ids(units[id_col], f"units column {id_col!r}")
    strata_codes, keys = _stratum_codes(units, strata)
    missing = [k for k in keys if k not in parsed]
    if missing:
        raise ParameterError(
            f"variants has no weights for cell(s) {missing[:5]} (keys: the '|'-joined values of {strata}); "
            "give every cell of units its weights"
        )
    h = _hash_ids(ids, salt, engine)
    _check_unique(ids, h, f"units column {id_col!r}")
    codes = np.zeros(len(h), dtype=np.int64)
    order = np.argsort(strata_codes, kind="stable")
    bounds = np.searchsorted(strata_codes[order], np.arange(len(keys) + 1))
    for s, key in enumerate(keys):
        rows = order[bounds[s] : bounds[s + 1]]
        cell_names, cell_weights = parsed[key]
        ints, total = _integer_weights(cell_weights)
        to_global = np.asarray([names.index(n) for n in cell_names], dtype=np.int64)
        if method == "hash":
            cumulative = np.cumsum(ints)[:-1].tolist()
            thresholds = np.asarray([-(-c * HASH_SPACE // total) for c in cumulative], dtype=np.int64)
            local = np.searchsorted(thresholds, h[rows], side="right")
        else:
            start = int(_hash_strings([f"stratum:{key}"], salt)[0])
            counts = np.asarray([_block_counts(len(rows), ints, total, start)], dtype=np.int64)
            sub = _Ids(ids.kind, ids.values[rows] if ids.kind == "integer" else ids.values.iloc[rows])
            local = _block_codes(h[rows], np.zeros(len(rows), dtype=np.int32), counts, sub)
        codes[rows] = to_global[local]
    out = units.copy(deep=int(pd.__version__.split(".")[0]) < 3)
    out[variant_col] = _variant_column(codes, names, units.index)
    return out


# ----------------------------------------------------------------------------------------------
# persistence
# ----------------------------------------------------------------------------------------------
class LoadedAssignment(NamedTuple):
    """A saved assignment read back: ``frame`` and its ``metadata`` (unpacks as a 2-tuple)."""

    frame: pd.DataFrame
    metadata: dict[str, Any]


# so that pdoc resolves the annotations of __new__ here (it names "namedtuple_<class>" otherwise)
LoadedAssignment.__new__.__module__ = __name__


def _meta_path(path: Path) -> Path:
    return path.with_name(path.name + ".meta.json")


def _file_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    raise ParameterError(f"path {str(path)!r} must end in .csv or .parquet (the format is chosen by suffix)")


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _temp_path(path: Path) -> Path:
    return make_temp_file(path)  # permissions follow the umask, unlike a bare mkstemp


def _write_text_atomic(path: Path, text: str, *, overwrite: bool) -> None:
    if path.exists() and not overwrite:
        raise FileExistsAbkitError(f"{str(path)!r} already exists; pass overwrite=True to replace it")
    tmp = _temp_path(path)
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


#: Metadata field holding the SHA-256 of the metadata itself (every other field, canonical JSON).
_META_DIGEST = "metadata_sha256"


def _metadata_digest(metadata: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of every metadata field but the digest itself."""
    fields = {k: v for k, v in metadata.items() if k != _META_DIGEST}
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _check_legacy_metadata(frame: pd.DataFrame, metadata: Mapping[str, Any], meta_path: Path) -> None:
    """An assignment saved before metadata checksums: its metadata must reproduce its variants.

    Without a checksum, salt, method, weights, strata and columns are checked the only way left:
    assigning the saved units again with them must give exactly the saved variants (block and hash
    assignments are deterministic and do not depend on row order). Any edit that matters fails.
    """
    try:
        id_col, variant_col = str(metadata["id_col"]), str(metadata["variant_col"])
        strata = [str(c) for c in metadata.get("strata") or []]
        units = frame.drop(columns=[variant_col])
        again = assign(
            units,
            variants=metadata["weights"],
            salt=str(metadata["salt"]),
            strata=strata or None,
            id_col=id_col,
            method=str(metadata["method"]),
            variant_col=variant_col,
        )
        saved = frame[variant_col].astype(object).to_numpy()
        same = bool((again[variant_col].astype(object).to_numpy() == saved).all())
    except (KeyError, TypeError, ValueError) as exc:  # AbkitError is a ValueError
        raise DataError(
            f"metadata {meta_path.name!r} (saved before metadata checksums) cannot be checked against its "
            f"assignment ({exc}); restore the original metadata"
        ) from None
    if not same:
        raise DataError(
            f"metadata {meta_path.name!r} does not match its assignment: its salt, method, weights or "
            "strata do not reproduce the saved variants, so it was edited after it was saved; restore the "
            "original metadata"
        )


def _string_columns(frame: pd.DataFrame) -> list[str]:
    return [
        str(c)
        for c in frame.columns
        if pd.api.types.is_string_dtype(frame[c].dtype) or pd.api.types.is_object_dtype(frame[c].dtype)
    ]


def _write_assignment(frame: pd.DataFrame, path: Path, metadata: dict[str, Any], *, overwrite: bool) -> None:
    meta_path = _meta_path(path)
    if not overwrite:
        for p in (path, meta_path):
            if p.exists():
                raise FileExistsAbkitError(
                    f"{str(p)!r} already exists; an existing assignment is never replaced silently: "
                    "pass overwrite=True or choose another path"
                )
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = _file_format(path)
    tmp = _temp_path(path)
    try:
        if fmt == "csv":
            frame.to_csv(tmp, index=False, lineterminator="\n")
        else:
            frame.to_parquet(tmp, index=False)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        metadata = {**metadata, "file": path.name, "format": fmt, "sha256": _sha256_file(tmp)}
        metadata["n_rows"] = len(frame)
        metadata["string_columns"] = _string_columns(frame)
        metadata.pop(_META_DIGEST, None)
        metadata[_META_DIGEST] = _metadata_digest(metadata)
        # data first, then metadata: a crash in between leaves a checksum mismatch, never a silent edit
        os.replace(tmp, path)
        _write_text_atomic(meta_path, json.dumps(metadata, indent=2, default=str) + "\n", overwrite=True)
    finally:
        if tmp.exists():
            tmp.unlink()


def save_assignment(
    df: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    salt: str | None,
    method: str,
    weights: Mapping[str, float] | Sequence[str],
    strata: str | Sequence[str] | None = None,
    id_col: str = "customer_id",
    variant_col: str = "variant",
    overwrite: bool = False,
    source: Mapping[str, Any] | None = None,
    targeting: Mapping[str, Any] | None = None,
) -> Path:
    """Write an assignment atomically (CSV or Parquet by suffix) with a JSON metadata sidecar.

    The sidecar ``<path>.meta.json`` records the salt, method, weights, strata, id and variant
    columns, the abkit version, the UTC creation time, the row count, the counts per variant and the
    SHA-256 checksum of the data file, and the SHA-256 of the metadata itself (``metadata_sha256``,
    over the canonical JSON of every other field), which :func:`load_assignment` verifies. An
    existing file is never replaced unless ``overwrite=True``. Returns the path written.

    ``method="external"`` records a split made by another tool: ``salt`` is None (abkit did not
    randomise), ``source`` (e.g. the source file's name, SHA-256 and import time) is stored as the
    metadata's ``source`` and the ``hash`` recipe is None.

    ``targeting`` (a targeted wave split with per-cell weights: its cells, the weights used per
    cell, customers per cell and the propensity column) is stored as the metadata's ``targeting``,
    covered by the checksum like every other field.

    >>> import tempfile, pathlib, pandas as pd
    >>> units = pd.DataFrame({"customer_id": [1, 2, 3, 4]})
    >>> out = assign(units, variants=["coupon", "holdout"], salt="wb-1")
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> p = save_assignment(
    ...     out, folder / "split.csv", salt="wb-1", method="block", weights=["coupon", "holdout"]
    ... )
    >>> load_assignment(p).metadata["n_rows"]
    4
    """
    if not isinstance(df, pd.DataFrame):
        raise ParameterError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    check_choice("method", method, (*_METHODS, EXTERNAL))
    if method == EXTERNAL:
        if salt is not None:
            raise ParameterError("salt must be None for method='external': abkit did not make that split")
        if not isinstance(source, Mapping):
            raise ParameterError("method='external' needs source={...}: where the split comes from")
    else:
        salt = _check_salt(salt)
    names, exact, raw = parse_variants(weights, name="weights")
    strata_cols = _strata_list(strata)
    check_columns(df, [id_col, variant_col, *strata_cols], what="df")
    path = Path(path)
    _file_format(path)
    ids = _prepare_ids(df[id_col], f"df column {id_col!r}")
    _check_unique(ids, _hash_ids(ids, salt or EXTERNAL, "auto"), f"df column {id_col!r}")
    present = pd.unique(df[variant_col].astype(object))
    unknown = [v for v in present if v not in names]
    if unknown:
        raise DataError(
            f"df column {variant_col!r} holds variant(s) {unknown} that are not in weights {list(names)}"
        )
    counts = df[variant_col].astype(object).value_counts()
    metadata = {
        "kind": "abkit-assignment",
        "schema": 2,
        "salt": salt,
        "method": method,
        "variants": list(names),
        "weights": raw,
        "weights_normalised": {k: float(w) for k, w in zip(names, exact, strict=True)},
        "strata": strata_cols,
        "id_col": id_col,
        "id_kind": ids.kind,
        "variant_col": variant_col,
        "counts": {k: int(counts.get(k, 0)) for k in names},
        "hash": "int(sha256(f'{salt}:{id}'.encode('utf-8')).hexdigest()[:15], 16)",
        "abkit_version": __version__,
        "created_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    if method == EXTERNAL:
        metadata["hash"] = None
        metadata["source"] = dict(source or {})
    if targeting is not None:
        metadata["targeting"] = dict(targeting)
    _write_assignment(df, path, metadata, overwrite=overwrite)
    return path


def load_assignment(path: str | os.PathLike[str]) -> LoadedAssignment:
    """Read a saved assignment and its metadata; raise ``DataError`` if the file was edited.

    Returns a :class:`LoadedAssignment` ``(frame, metadata)`` (a named tuple: unpack it or use the
    attributes). The data file's SHA-256 must match the checksum in ``<path>.meta.json``, and the
    metadata (salt, method, weights, strata, columns, counts...) its own ``metadata_sha256``: an edit
    of either raises :class:`~abkit.errors.DataError`. Metadata saved before abkit wrote that checksum
    (schema 1) is accepted only if assigning the saved units again with its salt, method, weights and
    strata gives exactly the saved variants (so an edited salt or method is caught there too, and
    removing the checksum from a newer file gains nothing). CSV string columns (ids included) are
    read back as strings, so ``"007"`` stays ``"007"``.

    >>> import tempfile, pathlib, pandas as pd
    >>> out = assign(pd.DataFrame({"customer_id": ["a", "b"]}), variants=["x", "y"], salt="s")
    >>> p = save_assignment(out, pathlib.Path(tempfile.mkdtemp()) / "a.parquet", salt="s", method="block",
    ...                     weights=["x", "y"])
    >>> frame, meta = load_assignment(p)
    >>> frame.equals(out), meta["method"]
    (True, 'block')
    """
    path = Path(path)
    meta_path = _meta_path(path)
    fmt = _file_format(path)
    if not path.exists():
        raise SourceError(f"assignment file {str(path)!r} does not exist")
    if not meta_path.exists():
        raise SourceError(
            f"metadata {str(meta_path)!r} is missing; an assignment is saved with save_assignment()"
        )
    try:
        metadata = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"metadata {str(meta_path)!r} is not valid JSON ({exc})") from exc
    if metadata.get("kind") != "abkit-assignment":
        raise DataError(f"{str(meta_path)!r} is not abkit assignment metadata")
    actual = _sha256_file(path)
    if actual != metadata.get("sha256"):
        raise DataError(
            f"{str(path)!r} was modified after it was saved: its SHA-256 {actual[:12]}... does not match the "
            f"checksum {str(metadata.get('sha256'))[:12]}... in {meta_path.name}; restore the original file"
        )
    if fmt == "csv":
        strings = set(metadata.get("string_columns", []))
        header = pd.read_csv(path, nrows=0).columns
        frame = pd.read_csv(
            path,
            dtype={c: "str" for c in header if c in strings},
            keep_default_na=False,
            na_values={c: ([""] if c in strings else _CSV_NA) for c in header},
        )
    else:
        frame = pd.read_parquet(path)
    if len(frame) != metadata.get("n_rows"):
        raise DataError(f"{str(path)!r} has {len(frame)} rows but its metadata says {metadata.get('n_rows')}")
    if _META_DIGEST in metadata:
        if metadata[_META_DIGEST] != _metadata_digest(metadata):
            raise DataError(
                f"metadata {meta_path.name!r} was modified after it was saved (its fields no longer match "
                f"its {_META_DIGEST}); the salt, method and weights it records cannot be trusted: restore "
                "the original file"
            )
    else:
        _check_legacy_metadata(frame, metadata, meta_path)
    return LoadedAssignment(frame, metadata)


def extend_assignment(
    path: str | os.PathLike[str],
    new_units: pd.DataFrame,
    *,
    existing: Literal["error", "skip"] = "error",
    _engine: _Engine = "auto",
) -> LoadedAssignment:
    """Add newly eligible units to a saved ``method="hash"`` assignment; existing rows never change.

    The new units are assigned with the saved salt and weights and appended; the file and its
    metadata are rewritten atomically (the metadata keeps ``created_at`` and gains a ``history``
    entry). Block assignments cannot be extended: their counts depend on every unit. Ids already in
    the assignment raise ``DataError`` unless ``existing="skip"``, which leaves those rows out of
    ``new_units`` and records how many were skipped. ``new_units`` must have the saved columns
    (without the variant column). Returns the extended ``(frame, metadata)``.

    >>> import tempfile, pathlib, pandas as pd
    >>> first = assign(pd.DataFrame({"customer_id": [1, 2, 3]}), variants=["a", "b"], salt="s", method="hash")
    >>> p = save_assignment(first, pathlib.Path(tempfile.mkdtemp()) / "h.csv", salt="s", method="hash",
    ...                     weights=["a", "b"])
    >>> frame, meta = extend_assignment(p, pd.DataFrame({"customer_id": [4, 5]}))
    >>> len(frame), frame["variant"].iloc[:3].tolist() == first["variant"].tolist()
    (5, True)
    """
    check_choice("existing", existing, ("error", "skip"))
    path = Path(path)
    frame, metadata = load_assignment(path)
    if metadata.get("method") != "hash":
        raise ParameterError(
            f"{str(path)!r} was assigned with method={metadata.get('method')!r}; only method='hash' "
            "assignments can be extended (block counts depend on every unit, so adding units would move "
            "existing ones). "
            "Assign the new cohort separately with its own salt, or use method='hash' from the start"
        )
    if not isinstance(new_units, pd.DataFrame):
        raise ParameterError(f"new_units must be a pandas DataFrame, got {type(new_units).__name__}")
    id_col, variant_col = metadata["id_col"], metadata["variant_col"]
    wanted = [c for c in frame.columns if c != variant_col]
    if variant_col in new_units.columns:
        raise ColumnError(
            f"new_units already has a {variant_col!r} column; drop it, the variant is assigned here"
        )
    missing = [c for c in wanted if c not in new_units.columns]
    extra = [c for c in new_units.columns if c not in wanted]
    if missing or extra:
        raise ColumnError(
            f"new_units must have the saved columns {wanted}; missing {missing}, unexpected {extra}: "
            "select or rename columns to match"
        )
    new_ids = _prepare_ids(new_units[id_col], f"new_units column {id_col!r}")
    if new_ids.kind != metadata.get("id_kind") and len(new_units):
        raise DataError(
            f"new_units column {id_col!r} holds {new_ids.kind} ids but the saved assignment holds "
            f"{metadata.get('id_kind')} ids; convert them to the same type"
        )
    old_strings = pd.Index(_id_strings(_prepare_ids(frame[id_col], f"saved column {id_col!r}")))
    clash = pd.Index(_id_strings(new_ids)).isin(old_strings)
    skipped = int(clash.sum())
    if skipped and existing == "error":
        examples = new_units[id_col][clash].head(5).tolist()
        raise DataError(
            f"{skipped} id(s) in new_units column {id_col!r} are already assigned (e.g. {examples}); "
            "existing rows never change: drop them, or pass existing='skip' to leave them out"
        )
    to_add = new_units.loc[~clash]
    if len(to_add) == 0:
        return LoadedAssignment(frame, metadata)
    added = assign(
        to_add[wanted],
        variants=metadata["weights"],
        salt=metadata["salt"],
        id_col=id_col,
        method="hash",
        variant_col=variant_col,
        _engine=_engine,
    )
    combined = pd.concat([frame, added[frame.columns]], ignore_index=True)
    _check_unique(
        _prepare_ids(combined[id_col], f"extended column {id_col!r}"),
        unit_hash(combined[id_col], metadata["salt"], _engine=_engine),
        f"extended column {id_col!r}",
    )
    counts = combined[variant_col].astype(object).value_counts()
    history = [*metadata.get("history", [])]
    history.append(
        {
            "at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "added": len(added),
            "skipped_existing": skipped,
            "abkit_version": __version__,
        }
    )
    keep = {
        k: v
        for k, v in metadata.items()
        if k not in ("file", "format", "sha256", "n_rows", "string_columns", _META_DIGEST)
    }
    new_meta = {
        **keep,
        "schema": 2,
        "counts": {k: int(counts.get(k, 0)) for k in metadata["variants"]},
        "history": history,
    }
    _write_assignment(combined, path, new_meta, overwrite=True)
    return load_assignment(path)


# ----------------------------------------------------------------------------------------------
# send lists
# ----------------------------------------------------------------------------------------------
def send_list_paths(
    directory: str | os.PathLike[str], contact_variants: Sequence[str], *, prefix: str = "send_list_"
) -> dict[str, Path]:
    """The file :func:`export_send_lists` writes for each contacted variant, by variant.

    File names use :func:`abkit.names.slug` (safe ASCII names are kept; any other name gets a safe
    form plus a short hash, so no two variants share a file).

    >>> [p.name for p in send_list_paths("lists", ["coupon", "reminder"]).values()]
    ['send_list_coupon.csv', 'send_list_reminder.csv']
    """
    directory = Path(directory)
    files = {v: directory / f"{prefix}{slug(v)}.csv" for v in contact_variants}
    if len(set(files.values())) != len(files):
        raise ParameterError(
            f"contact_variants {list(contact_variants)} map to the same file name; rename them"
        )
    return files


def _check_suppression(
    sent: pd.Series, customers: pd.DataFrame, suppress: Sequence[str], id_col: str, variant: str
) -> None:
    """Refuse a send list holding a customer absent from ``customers`` or flagged in ``suppress``."""
    check_columns(customers, [id_col, *suppress], what="customers (suppression check of the send lists)")
    known = customers.drop_duplicates(id_col).set_index(id_col)
    pos = known.index.get_indexer(pd.Index(sent))
    problems = []
    absent = pos < 0
    if absent.any():
        problems.append((int(absent.sum()), "absent from the customers table", sent[absent]))
    for col in suppress:
        raw = known[col].to_numpy()[pos[~absent]]
        flagged = pd.isna(raw) | pd.Series(raw).fillna(True).astype(bool).to_numpy()
        if flagged.any():
            why = f"flagged {col!r} in the customers table"
            problems.append((int(flagged.sum()), why, sent[~absent][flagged]))
    if problems:
        count, why, ids = problems[0]
        examples = ", ".join(map(repr, ids.head(3).tolist()))
        raise DataError(
            f"the send list of {variant!r} would contact {count:,} customer(s) {why} (e.g. {examples}); "
            "nothing was written: exclude them before assignment"
        )


def export_send_lists(
    assigned: pd.DataFrame,
    directory: str | os.PathLike[str],
    *,
    contact_variants: Sequence[str],
    id_col: str = "customer_id",
    variant_col: str = "variant",
    segment_col: str | None = "segment",
    prefix: str = "send_list_",
    overwrite: bool = False,
    customers: pd.DataFrame | None = None,
    suppress: Sequence[str] = (),
) -> pd.DataFrame:
    """Write one CSV per contacted variant (id, variant, segment) for the sending tool; never the holdout.

    Only the variants named in ``contact_variants`` are written, so the holdout (and any other
    variant left out) is never exported. Files are named ``<prefix><variant>.csv`` (characters other
    than ASCII letters, digits, ``.``, ``_`` and ``-`` give :func:`abkit.names.slug`'s collision-free
    form; see :func:`send_list_paths`), written atomically; existing files are refused unless
    ``overwrite=True`` (checked for every file before any is written). Pass ``segment_col=None`` if
    there are no segments. With ``customers`` (the customers table) every exported id must be in it
    and carry no true flag in the ``suppress`` columns (e.g. ``opted_out``): otherwise
    :class:`~abkit.errors.DataError` is raised before any file is written, so an opted-out customer
    never reaches a send list. Returns a table with ``variant``, ``n`` and ``path``, one row per file.

    >>> import tempfile, pandas as pd
    >>> assigned = pd.DataFrame({"customer_id": [1, 2, 3], "segment": ["a", "a", "b"],
    ...                          "variant": ["coupon", "holdout", "coupon"]})
    >>> export_send_lists(assigned, tempfile.mkdtemp(), contact_variants=["coupon"])[["variant", "n"]]
      variant  n
    0  coupon  2
    >>> customers = pd.DataFrame({"customer_id": [1, 2, 3], "opted_out": [False, False, True]})
    >>> export_send_lists(assigned, tempfile.mkdtemp(), contact_variants=["coupon"],
    ...                   customers=customers, suppress=["opted_out"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    abkit.errors.DataError: the send list of 'coupon' would contact 1 customer(s) flagged 'opted_out' ...
    """
    if not isinstance(assigned, pd.DataFrame):
        raise ParameterError(f"assigned must be a pandas DataFrame, got {type(assigned).__name__}")
    if (
        isinstance(contact_variants, str)
        or not isinstance(contact_variants, Sequence)
        or not contact_variants
    ):
        raise ParameterError(
            f"contact_variants must be a non-empty list of variant names, got {contact_variants!r}"
        )
    if customers is not None and not isinstance(customers, pd.DataFrame):
        raise ParameterError(f"customers must be a pandas DataFrame or None, got {type(customers).__name__}")
    suppress = [suppress] if isinstance(suppress, str) else list(suppress)
    columns = [id_col, variant_col] + ([segment_col] if segment_col is not None else [])
    check_columns(assigned, columns, what="assigned")
    ids = _prepare_ids(assigned[id_col], f"assigned column {id_col!r}")
    _check_unique(ids, _hash_ids(ids, "export", "auto"), f"assigned column {id_col!r}")
    present = set(assigned[variant_col].dropna().astype(str).unique())
    unknown = [v for v in contact_variants if v not in present]
    if unknown:
        raise ParameterError(
            f"contact_variants {unknown} are not variants in column {variant_col!r}; "
            f"present: {sorted(present)}"
        )
    if len(set(contact_variants)) != len(contact_variants):
        raise ParameterError(f"contact_variants {list(contact_variants)} names a variant twice")
    directory = Path(directory)
    files = send_list_paths(directory, contact_variants, prefix=prefix)
    if not overwrite:
        existing = [str(p) for p in files.values() if p.exists()]
        if existing:
            raise FileExistsAbkitError(
                f"send list(s) {existing} already exist; pass overwrite=True (--force) to replace them"
            )
    variant_values = assigned[variant_col].astype(object)
    parts = {v: assigned.loc[(variant_values == v).to_numpy(), columns] for v in files}
    if customers is not None:
        for variant, part in parts.items():
            _check_suppression(part[id_col].reset_index(drop=True), customers, suppress, id_col, variant)
    directory.mkdir(parents=True, exist_ok=True)
    rows = []
    for variant, path in files.items():
        part = parts[variant]
        _write_text_atomic(path, part.to_csv(index=False, lineterminator="\n"), overwrite=True)
        rows.append({"variant": variant, "n": len(part), "path": str(path)})
    return pd.DataFrame(rows, columns=["variant", "n", "path"]).astype({"n": "int64"})
