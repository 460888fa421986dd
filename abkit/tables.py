"""Tables as users have them: CSV (UTF-8, BOM or CP932), Parquet and Excel files, read into pandas.

:func:`read_table` reads one file (or a directory or glob of CSV/Parquet files) and keeps id
columns as text, so ``0000000003`` stays ``0000000003``. :func:`utc_naive` is the one rule for
timestamps: naive values are local times in the declared time zone, aware values keep their
offset, and both end as naive UTC. :func:`screen_rows` counts and drops a few malformed rows and
refuses a table with too many of them, naming the counts and the first examples.
"""

from __future__ import annotations

import codecs
import datetime as dt
import io
import os
import zoneinfo
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from abkit.engines.duckdb import resolve_files
from abkit.errors import DataError, ParameterError, SourceError

__all__ = [
    "ENCODINGS",
    "TABLE_SUFFIXES",
    "check_encoding",
    "check_timezone",
    "detect_encoding",
    "local_midnight",
    "read_table",
    "screen_rows",
    "utc_naive",
]

#: File suffixes :func:`read_table` reads.
TABLE_SUFFIXES: tuple[str, ...] = (".csv", ".parquet", ".xlsx")
#: Encodings tried in order when a CSV file's encoding is not declared.
ENCODINGS: tuple[str, ...] = ("utf-8-sig", "cp932")
_OFFSET_RE = r"(?:[Zz]|[+-]\d{2}(?::?\d{2})?)\s*$"
_EXAMPLES = 3


def check_encoding(encoding: str) -> str:
    """The canonical codec name of ``encoding``; :class:`ParameterError` when Python does not know it.

    >>> check_encoding("Shift_JIS"), check_encoding("utf8")
    ('shift_jis', 'utf-8')
    """
    try:
        return codecs.lookup(encoding).name
    except (LookupError, TypeError):
        raise ParameterError(
            f'encoding {encoding!r} is not known; use e.g. "utf-8", "utf-8-sig", "cp932" or "shift_jis"'
        ) from None


def check_timezone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA time zone ``name`` (e.g. ``"Asia/Tokyo"``); :class:`ParameterError` when unknown.

    >>> check_timezone("Asia/Tokyo").key
    'Asia/Tokyo'
    """
    try:
        return zoneinfo.ZoneInfo(str(name))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise ParameterError(
            f'time zone {name!r} is not an IANA time zone name; use e.g. "UTC", "Asia/Tokyo" or '
            '"Europe/Paris"'
        ) from None


def detect_encoding(data: bytes) -> str:
    """The first of :data:`ENCODINGS` that decodes ``data`` (UTF-8 with or without BOM, then CP932).

    >>> detect_encoding("顧客".encode("utf-8")), detect_encoding("顧客".encode("cp932"))
    ('utf-8-sig', 'cp932')
    """
    for encoding in ENCODINGS:
        try:
            data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    raise UnicodeError("neither UTF-8 nor CP932")


def _where(path: Path, what: str) -> str:
    return f"{what} {path}" if what.endswith("source") else f"{what} source {path}"


def _read_csv(path: Path, what: str, encoding: str | None, dtypes: dict[str, str]) -> pd.DataFrame:
    data = path.read_bytes()
    if not data.strip():
        raise SourceError(f"{_where(path, what)} is empty; it must be a table with a header row")
    if encoding is None:
        try:
            encoding = detect_encoding(data)
        except UnicodeError:
            raise SourceError(
                f"{_where(path, what)} is neither UTF-8 nor CP932 (Shift-JIS) text; declare its encoding "
                'in experiment.toml, e.g. [data] encoding = "latin-1"'
            ) from None
    else:
        encoding = check_encoding(encoding)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"{_where(path, what)} cannot be decoded as {encoding} ({exc.reason} at byte {exc.start}); "
            "fix [data] encoding in experiment.toml (or remove it to detect UTF-8 / CP932)"
        ) from None
    text = text.removeprefix("\ufeff")
    return pd.read_csv(io.StringIO(text), dtype=dtypes or None)


def _read_xlsx(path: Path, what: str, sheet: str | None, dtypes: dict[str, str]) -> pd.DataFrame:
    import openpyxl  # the maintained .xlsx reader pandas uses; imported here to name it in the error

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise SourceError(
            f"{_where(path, what)} is not a readable .xlsx workbook: {type(exc).__name__}"
        ) from None
    try:
        names = list(book.sheetnames)
    finally:
        book.close()
    if sheet is not None and sheet not in names:
        raise SourceError(
            f"{_where(path, what)} has no sheet {sheet!r}; its sheets: {', '.join(map(repr, names))} "
            "(set [data] sheet in experiment.toml)"
        )
    return pd.read_excel(
        path, sheet_name=sheet if sheet is not None else 0, dtype=dtypes or None, engine="openpyxl"
    )


def read_table(
    path: str | os.PathLike[str],
    *,
    what: str = "data source",
    encoding: str | None = None,
    sheet: str | None = None,
    id_cols: Sequence[str] = (),
) -> pd.DataFrame:
    """Read a CSV, Parquet or ``.xlsx`` table; a missing, empty or unreadable one raises :class:`SourceError`.

    CSV text is decoded with ``encoding``, else the first of UTF-8 (with or without BOM) and CP932
    that fits. ``.xlsx`` files are read from ``sheet`` (default: the first sheet). The ``id_cols``
    present in the table are read as text from CSV and Excel, keeping leading zeros. ``path`` may
    also be a directory or a glob of CSV or Parquet files of one format (a partitioned table); they
    are read in sorted order and stacked.

    >>> read_table("no/such/file.csv", what="events")
    Traceback (most recent call last):
    ...
    abkit.errors.SourceError: events source no/such/file.csv does not exist; check the path in experiment.toml
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp(), "c.csv")
    >>> _ = p.write_bytes("customer_id,名前\\n0003,山田\\n".encode("cp932"))
    >>> read_table(p, id_cols=["customer_id"]).iloc[0].tolist()
    ['0003', '山田']
    """
    text = os.fspath(path)
    p = Path(text)
    if (not p.exists() and any(ch in text for ch in "*?[")) or p.is_dir():
        _, files = resolve_files(text, what)
        parts = [read_table(f, what=what, encoding=encoding, id_cols=id_cols) for f in files]
        return pd.concat(parts, ignore_index=True)
    if not p.exists():
        raise SourceError(f"{_where(p, what)} does not exist; check the path in experiment.toml")
    suffix = p.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise SourceError(
            f"{_where(p, what)} is not a .csv, .parquet or .xlsx file"
            + ("; save it as .xlsx (or CSV)" if suffix in (".xls", ".xlsm", ".ods") else "")
        )
    dtypes = {c: "str" for c in id_cols}
    try:
        if suffix == ".parquet":
            frame = pd.read_parquet(p)
        elif suffix == ".xlsx":
            frame = _read_xlsx(p, what, sheet, dtypes)
        else:
            frame = _read_csv(p, what, encoding, dtypes)
    except (SourceError, ParameterError):
        raise
    except pd.errors.EmptyDataError:
        raise SourceError(f"{_where(p, what)} is empty; it must be a table with a header row") from None
    except Exception as exc:  # pyarrow / parser errors: the file is not a table abkit can read
        raise SourceError(f"{_where(p, what)} is not a readable table: {type(exc).__name__}: {exc}") from None
    if frame.empty:
        raise SourceError(f"{_where(p, what)} has no rows")
    return frame


# ----------------------------------------------------------------------------------------------
# timestamps


def local_midnight(day: dt.date, timezone: str = "UTC") -> pd.Timestamp:
    """Midnight at the start of ``day`` in ``timezone``, as a naive UTC timestamp.

    >>> local_midnight(dt.date(2026, 6, 1), "Asia/Tokyo")
    Timestamp('2026-05-31 15:00:00')
    """
    zone = check_timezone(timezone)
    local = dt.datetime(day.year, day.month, day.day, tzinfo=zone)
    return pd.Timestamp(local).tz_convert("UTC").tz_localize(None)


def utc_naive(values: pd.Series, *, timezone: str = "UTC", format: str | None = None) -> pd.Series:
    """Timestamps as naive UTC: the one rule for time zones. Unparseable or missing values become ``NaT``.

    Values without an offset are local times in ``timezone`` (an IANA name, default UTC); values
    with an offset (``+09:00``, ``Z``) or a time-zone-aware dtype keep it and are converted. Strings
    are ISO 8601 unless ``format`` (a ``strptime`` format such as ``"%d/%m/%Y %H:%M"``) is given.
    Mixed offsets are fine: every value is converted on its own.

    >>> s = pd.Series(["2026-06-01 09:00", "2026-06-01T09:00:00+00:00", "31/02/2026"])
    >>> utc_naive(s, timezone="Asia/Tokyo").tolist()
    [Timestamp('2026-06-01 00:00:00'), Timestamp('2026-06-01 09:00:00'), NaT]
    >>> utc_naive(pd.Series(["01/06/2026 09:30"]), format="%d/%m/%Y %H:%M").tolist()
    [Timestamp('2026-06-01 09:30:00')]
    """
    zone = check_timezone(timezone).key
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]")
    if pd.api.types.is_datetime64_dtype(values.dtype):
        return _localise(values.astype("datetime64[ns]"), zone)
    if pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
        return pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    text = values.astype("string").str.strip()
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    if format is not None:
        aware = pd.Series("%z" in format or "%Z" in format, index=values.index)
    else:
        aware = text.str.contains(_OFFSET_RE, regex=True).fillna(False).astype(bool)
    kwargs: dict[str, str] = {"format": format} if format is not None else {"format": "ISO8601"}
    if aware.any():
        parsed = pd.to_datetime(text[aware], errors="coerce", utc=True, **kwargs)
        out[aware] = parsed.dt.tz_localize(None).astype("datetime64[ns]")
    naive = ~aware
    if naive.any():
        parsed = pd.to_datetime(text[naive], errors="coerce", **kwargs)
        if isinstance(parsed.dtype, pd.DatetimeTZDtype):  # pragma: no cover - guarded by the offset test
            parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
        out[naive] = _localise(parsed.astype("datetime64[ns]"), zone)
    return out


def _localise(naive: pd.Series, zone: str) -> pd.Series:
    if zone in ("UTC", "Etc/UTC"):
        return naive
    local = naive.dt.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
    return local.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]")


# ----------------------------------------------------------------------------------------------
# malformed rows


def screen_rows(
    frame: pd.DataFrame,
    problems: Mapping[str, np.ndarray | pd.Series],
    *,
    what: str,
    max_share: float,
    details: Mapping[str, str] | None = None,
    show: Sequence[str] = (),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Drop the rows flagged in ``problems`` (reason → boolean mask), count them, refuse too many.

    Each bad row is counted under the first reason that flags it. Returns the kept rows and a
    diagnostics table (``reason``, ``rows``, ``detail``: the reason's text and the first examples,
    each ``row N`` counted from 1 after the header, with the ``show`` columns). When the bad rows
    exceed ``max_share`` of the table, :class:`DataError` names the counts and the first examples.

    >>> t = pd.DataFrame({"id": ["a", "b", "c"], "amount": [1.0, -2.0, 3.0]})
    >>> kept, diag = screen_rows(t, {"negative_amount": t["amount"] < 0}, what="events", max_share=0.5,
    ...                          show=["amount"])
    >>> len(kept), int(diag.iloc[0]["rows"]), diag.iloc[0]["detail"]
    (2, 1, 'negative amount (e.g. row 2: amount=-2.0)')
    """
    details = dict(details or {})
    remaining = np.ones(len(frame), dtype=bool)
    rows: list[dict[str, object]] = []
    examples: list[str] = []
    for reason, mask in problems.items():
        flagged = remaining & np.asarray(mask, dtype=bool)
        remaining &= ~flagged
        count = int(flagged.sum())
        text = details.get(reason, reason.replace("_", " "))
        if count:
            shown = []
            for pos in np.flatnonzero(flagged)[:_EXAMPLES]:
                cells = ", ".join(f"{c}={_plain(frame[c].iloc[pos])!r}" for c in show if c in frame.columns)
                shown.append(f"row {pos + 1}" + (f": {cells}" if cells else ""))
            text = f"{text} (e.g. {'; '.join(shown)})"
            examples.append(f"{count:,} {text}")
        rows.append({"reason": reason, "rows": count, "detail": text})
    diagnostics = pd.DataFrame(rows, columns=["reason", "rows", "detail"]).astype({"rows": "int64"})
    bad = int((~remaining).sum())
    if bad and bad > max_share * len(frame):
        raise DataError(
            f"{what}: {bad:,} of {len(frame):,} rows ({bad / len(frame):.2%}) are malformed, more than "
            f"[data] max_bad_share = {max_share:.2%}: {'; '.join(examples)}; fix those rows, or raise "
            "max_bad_share in experiment.toml if dropping them is acceptable"
        )
    kept = frame.loc[remaining] if bad else frame
    return kept, diagnostics


def _plain(value: object) -> object:
    """A numpy scalar as the Python value it holds (for readable examples in messages)."""
    item = getattr(value, "item", None)
    return item() if callable(item) and not isinstance(value, str | pd.Timestamp) else value
