"""SQL text for abkit's heavy steps, so a database or warehouse can run them where the data lives.

Two things are generated here, for the dialects ``"duckdb"``, ``"postgres"``, ``"spark"`` (Spark SQL)
and ``"bigquery"``:

* :func:`assignment_sql` reproduces :func:`abkit.assign` bit for bit: the unit hash
  ``h = int(sha256(f"{salt}:{id}")[:15 hex digits], 16)`` is computed by the engine's own SHA-256,
  and variants are picked by comparing ``h`` with integer thresholds (no floating point in SQL).
* :func:`outcomes_sql` / :func:`statistics_sql` / :func:`assigned_checks_sql` turn an assignment table and
  an event log into the per-customer outcomes of :func:`abkit.outcomes` and, aggregated per
  (segment, variant), the unit counts, sums and sums of squares that
  :func:`abkit.sufficient_statistics` needs (one small result instead of millions of rows).

Every value that comes from a user (salt, variant names, event names, dates) is written as an
escaped literal and every column name as a quoted identifier, so no input can change the query.
Table arguments are *relations*: a table name (quoted part by part with :func:`table_ref`) or a
parenthesised sub-query the caller built (the engines in :mod:`abkit.engines` do this).

>>> print(hash_sql("duckdb", '"customer_id"', "spring"))
CAST('0x' || substr(sha256('spring' || ':' || CAST("customer_id" AS VARCHAR)), 1, 15) AS BIGINT)
"""

from __future__ import annotations

import math
import numbers
import os
import re
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any, NamedTuple

from abkit.attribution import attribution_window, event_map
from abkit.errors import ParameterError, SourceError

__all__ = [
    "COMPACT_STATISTICS_COLUMNS",
    "DIALECTS",
    "FORBIDDEN_WORDS",
    "HASH_SPACE",
    "STATISTICS_COLUMNS",
    "TIME_TYPES",
    "TIME_UNITS",
    "SqlToken",
    "assigned_checks_sql",
    "assignment_sql",
    "compact_key_fits",
    "customer_aggregates_sql",
    "customer_statistics_sql",
    "hash_sql",
    "hash_thresholds",
    "outcomes_sql",
    "path_literal",
    "quote_identifier",
    "quote_literal",
    "single_select",
    "sql_tokens",
    "statistics_sql",
    "table_ref",
    "timestamp_literal",
    "unknown_events_sql",
    "utc_time_sql",
]

#: SQL dialects abkit can write.
DIALECTS = ("duckdb", "postgres", "spark", "bigquery")

#: Number of distinct unit hashes: 15 hex digits, i.e. 16**15 = 2**60 (fits a signed BIGINT).
HASH_SPACE = 16**15

#: Outcome columns of :func:`abkit.outcomes` that are booleans (proportion metrics), in order.
FLAG_OUTCOMES = ("delivered", "opened", "clicked", "repurchased", "unsubscribed", "complained")


def _check_dialect(dialect: str) -> str:
    if dialect not in DIALECTS:
        shown = ", ".join(repr(d) for d in DIALECTS)
        raise ParameterError(f"dialect={dialect!r} is not known; use one of {shown}")
    return dialect


# --------------------------------------------------------------------------------------------------
# quoting
# --------------------------------------------------------------------------------------------------
def quote_literal(value: str, dialect: str) -> str:
    """``value`` as a SQL string literal of ``dialect``, escaped so it cannot end the literal.

    DuckDB and PostgreSQL double single quotes (PostgreSQL uses an ``E''`` literal when the text holds
    a backslash, so the result does not depend on ``standard_conforming_strings``); Spark SQL and
    BigQuery use backslash escapes. NUL characters are refused (no engine stores them in text).

    >>> quote_literal("o'brien", "duckdb")
    "'o''brien'"
    >>> quote_literal("o'brien", "spark")
    "'o\\\\'brien'"
    """
    _check_dialect(dialect)
    if not isinstance(value, str):
        raise ParameterError(f"expected a string for a SQL literal, got {value!r}")
    if "\x00" in value:
        raise ParameterError(f"text {value!r} contains a NUL character, which SQL text cannot hold")
    if dialect == "duckdb":
        return "'" + value.replace("'", "''") + "'"
    if dialect == "postgres":
        if "\\" in value:
            return "E'" + value.replace("\\", "\\\\").replace("'", "''") + "'"
        return "'" + value.replace("'", "''") + "'"
    # spark and bigquery: backslash escapes; control characters as \uXXXX
    out = []
    for ch in value:
        if ch == "\\":
            out.append("\\\\")
        elif ch == "'":
            out.append("\\'")
        elif ord(ch) < 0x20 or ch == "\x7f":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "'" + "".join(out) + "'"


def quote_identifier(name: str, dialect: str) -> str:
    """A column or table name as a quoted identifier of ``dialect``.

    >>> quote_identifier('customer_id', "postgres")
    '"customer_id"'
    >>> quote_identifier('my col', "spark")
    '`my col`'
    """
    _check_dialect(dialect)
    if not isinstance(name, str) or not name:
        raise ParameterError(f"a column or table name must be a non-empty string, got {name!r}")
    if "\x00" in name:
        raise ParameterError(f"name {name!r} contains a NUL character")
    if dialect in ("duckdb", "postgres"):
        return '"' + name.replace('"', '""') + '"'
    if dialect == "spark":
        return "`" + name.replace("`", "``") + "`"
    if "`" in name or "\\" in name or any(ord(c) < 0x20 for c in name):
        raise ParameterError(
            f"name {name!r} cannot be quoted for BigQuery (backtick, backslash or control char)"
        )
    return "`" + name + "`"


_GLOB_CHARACTER = re.compile(r"([\[\]*?{}])")


def path_literal(path: str | os.PathLike[str]) -> str:
    """A file path as a DuckDB string literal that names exactly that file, never a pattern.

    DuckDB's readers treat ``*``, ``?``, ``[...]`` in a path as a glob; each of these characters
    (and ``{``, ``}``) is escaped as a one-character class (``[[]``), then the text is quoted with
    :func:`quote_literal`. Use it for every listed file handed to ``read_parquet``/``read_csv``.

    >>> path_literal("data/part[1].parquet")
    "'data/part[[]1[]].parquet'"
    """
    text = os.fspath(path)
    if _GLOB_CHARACTER.search(text) and "\\" in text:
        raise SourceError(
            f"file {text!r} has both a backslash and one of * ? [ ] {{ }} in its path, which DuckDB "
            "cannot read as one literal file; rename the file or its folder"
        )
    return quote_literal(_GLOB_CHARACTER.sub(r"[\1]", text), "duckdb")


def table_ref(table: str | Sequence[str], dialect: str) -> str:
    """A (possibly qualified) table name, quoted part by part: ``"schema.t"`` or ``("schema", "t")``.

    >>> table_ref("crm.assigned", "duckdb")
    '"crm"."assigned"'
    """
    parts = table.split(".") if isinstance(table, str) else list(table)
    if not parts or any(not isinstance(p, str) or not p for p in parts):
        raise ParameterError(f"table must be a name like 'schema.table', got {table!r}")
    return ".".join(quote_identifier(p, dialect) for p in parts)


def _relation(source: str | Sequence[str], dialect: str) -> str:
    """A table name (quoted) or a parenthesised sub-query (kept as written by the engine)."""
    if isinstance(source, str) and source.lstrip().startswith("("):
        return source
    return table_ref(source, dialect)


# --------------------------------------------------------------------------------------------------
# one read-only SELECT (PostgreSQL text a spec supplies)
# --------------------------------------------------------------------------------------------------
class SqlToken(NamedTuple):
    """A PostgreSQL token: ``kind`` is ``word``, ``identifier`` (quoted), ``string``, ``number``,
    ``parameter`` or ``symbol``; ``start`` is its offset in the text."""

    kind: str
    text: str
    start: int


_LETTER = r"A-Za-z_\u0080-\U0010ffff"
_TOKEN = re.compile(
    rf"""
    (?P<space>\s+)
  | (?P<line_comment>--[^\n]*)
  | (?P<block_comment>/\*)
  | (?P<string>[eE]'(?:[^'\\]|\\.|'')*'
              | (?:[uU]&|[bBxXnN])?'(?:[^']|'')*')
  | (?P<identifier>(?:[uU]&)?"(?:[^"]|"")*")
  | (?P<dollar>\$(?P<tag>[{_LETTER}][\w\u0080-\U0010ffff]*)?\$)
  | (?P<parameter>\$\d+)
  | (?P<number>(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?)
  | (?P<word>[{_LETTER}][\w$\u0080-\U0010ffff]*)
  | (?P<symbol>.)
    """,
    re.VERBOSE | re.DOTALL,
)

#: Words that never belong in one read-only SELECT: transaction control, DDL, DML, session changes.
FORBIDDEN_WORDS = frozenset(
    """
    abort alter analyse analyze begin call checkpoint cluster commit copy create deallocate declare
    delete discard do drop execute grant import insert into listen lock merge notify prepare refresh
    reindex reset revoke rollback savepoint set transaction truncate unlisten update vacuum
    """.split()
)


def sql_tokens(text: str) -> list[SqlToken]:
    """The tokens of a PostgreSQL text, comments and white space left out.

    Understands string literals (``'..'`` with ``''``, ``E'..'`` with backslash escapes, ``B``/``X``/
    ``N``/``U&`` prefixes), dollar quoting (``$tag$..$tag$``), quoted identifiers and ``--`` and nested
    ``/* */`` comments, as PostgreSQL does with ``standard_conforming_strings`` on. An unterminated
    literal, identifier or comment raises :class:`~abkit.errors.SourceError`.

    >>> [t.text for t in sql_tokens("SELECT 'a;b' /* ; */ FROM t -- ;")]
    ['SELECT', "'a;b'", 'FROM', 't']
    """
    tokens: list[SqlToken] = []
    pos, n = 0, len(text)
    while pos < n:
        m = _TOKEN.match(text, pos)
        assert m is not None  # the last alternative matches any character
        kind = m.lastgroup if m.lastgroup != "tag" else "dollar"
        if kind == "block_comment":
            depth, i = 1, m.end()
            while depth and i < n:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
            if depth:
                raise SourceError(f"unterminated /* comment at position {pos}")
            pos = i
            continue
        if kind == "dollar":
            close = text.find(m.group("dollar"), m.end())
            if close < 0:
                raise SourceError(f"unterminated dollar-quoted string {m.group('dollar')} at position {pos}")
            end = close + len(m.group("dollar"))
            tokens.append(SqlToken("string", text[pos:end], pos))
            pos = end
            continue
        if kind == "symbol" and m.group() in ("'", '"'):
            what = "string literal" if m.group() == "'" else "quoted identifier"
            raise SourceError(f"unterminated {what} at position {pos}")
        if kind not in ("space", "line_comment"):
            tokens.append(SqlToken(str(kind), m.group(), pos))
        pos = m.end()
    return tokens


def single_select(text: str, *, what: str = "query") -> str:
    """``text`` checked to be ONE read-only ``SELECT`` (or ``WITH ... SELECT``, ``VALUES``, ``TABLE``).

    The text is tokenized (:func:`sql_tokens`), so quotes, dollar quotes and comments are understood;
    outside them, a statement separator ``;`` (one trailing ``;`` is dropped), unbalanced parentheses,
    a transaction-control, DDL, DML or session word (:data:`FORBIDDEN_WORDS`) or a locking clause
    (``FOR SHARE``, ``FOR UPDATE``) is refused with :class:`~abkit.errors.SourceError` naming ``what``
    and the word found. Returns the text without the trailing ``;``. The PostgreSQL engine also runs
    it in a read-only session, so this check is the first of two walls.

    >>> single_select("SELECT * FROM crm.events WHERE note = 'a; COMMIT';")
    "SELECT * FROM crm.events WHERE note = 'a; COMMIT'"
    >>> single_select("SELECT 1) x; COMMIT; DELETE FROM t; SELECT (1", what="data.events")
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    abkit.errors.SourceError: data.events is not one read-only SELECT: found ')' at position 8 ...
    """
    if not isinstance(text, str) or not text.strip():
        raise SourceError(f"{what} must be a SELECT query, got {text!r}")
    try:
        tokens = sql_tokens(text)
    except SourceError as exc:
        raise SourceError(f"{what} is not one read-only SELECT: {exc}") from None
    end = len(text)
    while tokens and tokens[-1].text == ";":
        end = tokens[-1].start
        tokens = tokens[:-1]
        break
    fix = "give one SELECT statement (or a table name), without ';', transaction control or writes"

    def refuse(token: SqlToken, why: str = "") -> SourceError:
        shown = token.text if len(token.text) <= 40 else token.text[:37] + "..."
        reason = f" ({why})" if why else ""
        return SourceError(
            f"{what} is not one read-only SELECT: found {shown!r} at position {token.start}{reason}; {fix}"
        )

    first = next((t for t in tokens if t.text != "("), None)
    starts = ("select", "with", "values", "table")
    if first is None or first.kind != "word" or first.text.lower() not in starts:
        if first is None:
            raise SourceError(f"{what} is not one read-only SELECT: it is empty; {fix}")
        raise refuse(first, "a query starts with SELECT or WITH")
    depth = 0
    previous = ""
    for token in tokens:
        word = token.text.lower() if token.kind == "word" else ""
        if token.text == ";" and token.kind == "symbol":
            raise refuse(token, "a second statement")
        if token.kind == "symbol" and token.text == "(":
            depth += 1
        elif token.kind == "symbol" and token.text == ")":
            depth -= 1
            if depth < 0:
                raise refuse(token, "unbalanced parentheses")
        elif word in FORBIDDEN_WORDS:
            raise refuse(token, "not allowed in a read-only query")
        elif word in ("share", "key", "no") and previous == "for":
            raise refuse(token, "a locking clause")
        previous = word
    if depth:
        raise SourceError(f"{what} is not one read-only SELECT: {depth} unclosed parenthesis(es); {fix}")
    return text[:end].strip()


# --------------------------------------------------------------------------------------------------
# the unit hash and assignment
# --------------------------------------------------------------------------------------------------
def _text(expr: str, dialect: str) -> str:
    return {
        "duckdb": f"CAST({expr} AS VARCHAR)",
        "postgres": f"CAST({expr} AS text)",
        "spark": f"CAST({expr} AS STRING)",
        "bigquery": f"CAST({expr} AS STRING)",
    }[dialect]


def hash_sql(dialect: str, id_expr: str, salt: str) -> str:
    """SQL expression for the unit hash ``int(sha256(f"{salt}:{id}").hexdigest()[:15], 16)``.

    ``id_expr`` is an SQL expression (already quoted); ``salt`` is the plain salt text. The id is cast
    to text first, so integer ids hash as their decimal digits (as in Python); the result is a
    BIGINT in ``[0, 16**15)``, NULL for a NULL id.

    >>> print(hash_sql("spark", "`id`", "s"))
    CAST(conv(substr(sha2(concat('s', ':', CAST(`id` AS STRING)), 256), 1, 15), 16, 10) AS BIGINT)
    """
    _check_dialect(dialect)
    if not isinstance(salt, str) or not salt:
        raise ParameterError(f"salt must be a non-empty string, got {salt!r}")
    s = quote_literal(salt, dialect)
    t = _text(id_expr, dialect)
    if dialect == "duckdb":
        return f"CAST('0x' || substr(sha256({s} || ':' || {t}), 1, 15) AS BIGINT)"
    if dialect == "postgres":
        digest = f"encode(sha256(convert_to({s} || ':' || {t}, 'UTF8')), 'hex')"
        return f"CAST(CAST('x' || lpad(substr({digest}, 1, 15), 16, '0') AS bit(64)) AS bigint)"
    if dialect == "spark":
        return f"CAST(conv(substr(sha2(concat({s}, ':', {t}), 256), 1, 15), 16, 10) AS BIGINT)"
    return f"CAST(CONCAT('0x', SUBSTR(TO_HEX(SHA256(CONCAT({s}, ':', {t}))), 1, 15)) AS INT64)"


def _normalise_variants(variants: Any) -> list[tuple[str, Fraction]]:
    """Variants as (name, exact weight) pairs in the order given; weights need not sum to one."""
    if isinstance(variants, Mapping):
        pairs = list(variants.items())
    elif isinstance(variants, Sequence) and not isinstance(variants, str):
        pairs = [(name, 1) for name in variants]
    else:
        raise ParameterError(
            f"variants must be a mapping name -> weight or a list of names, got {type(variants).__name__}"
        )
    if not pairs:
        raise ParameterError("variants is empty; name at least one variant (e.g. ['email', 'holdout'])")
    out: list[tuple[str, Fraction]] = []
    for name, weight in pairs:
        if not isinstance(name, str) or not name:
            raise ParameterError(f"variants: names must be non-empty strings, got {name!r}")
        if (
            isinstance(weight, bool)
            or not isinstance(weight, numbers.Real)
            or not math.isfinite(float(weight))
            or weight <= 0
        ):
            raise ParameterError(f"variants: weight of {name!r} must be a positive number, got {weight!r}")
        out.append((name, Fraction(weight)))
    names = [n for n, _ in out]
    if len(set(names)) != len(names):
        raise ParameterError(f"variants: names must be unique, got {names}")
    return out


def hash_thresholds(variants: Any) -> list[tuple[str, int]]:
    """Hash-mode thresholds: unit with hash ``h`` gets the first variant whose threshold exceeds ``h``.

    The rule is "the first variant whose cumulative weight (in the order given) exceeds
    ``u = h / 16**15``", evaluated exactly: ``u < c`` is ``h < ceil(c * 16**15)`` for integer ``h``.
    The last threshold is ``16**15`` (every hash is below it).

    >>> hash_thresholds({"a": 1, "b": 3})
    [('a', 288230376151711744), ('b', 1152921504606846976)]
    """
    pairs = _normalise_variants(variants)
    total = sum(w for _, w in pairs)
    out, cum = [], Fraction(0)
    for i, (name, w) in enumerate(pairs):
        cum += w
        t = HASH_SPACE if i == len(pairs) - 1 else math.ceil(cum / total * HASH_SPACE)
        out.append((name, t))
    return out


def _wide(expr: str, dialect: str) -> str:
    """``expr`` as an integer type wide enough for products of 2**60 and the weight total."""
    return {
        "duckdb": f"CAST({expr} AS HUGEINT)",
        "postgres": f"CAST({expr} AS numeric)",
        "spark": f"CAST({expr} AS DECIMAL(38, 0))",
        "bigquery": f"CAST({expr} AS BIGNUMERIC)",
    }[dialect]


def _div(x: str, y: str, dialect: str) -> str:
    """Integer division of non-negative integers."""
    return {
        "duckdb": f"(({x}) // ({y}))",
        "postgres": f"div({x}, {y})",
        "spark": f"CAST((({x}) div ({y})) AS DECIMAL(38, 0))",
        "bigquery": f"DIV({x}, {y})",
    }[dialect]


def _mod(x: str, y: str, dialect: str) -> str:
    return {
        "duckdb": f"(({x}) % ({y}))",
        "postgres": f"mod({x}, {y})",
        "spark": f"pmod({x}, {y})",
        "bigquery": f"MOD({x}, {y})",
    }[dialect]


def _concat(parts: list[str], dialect: str) -> str:
    if dialect in ("spark", "bigquery"):
        return "CONCAT(" + ", ".join(parts) + ")"
    return "(" + " || ".join(parts) + ")"


def _exclude(cols: list[str], dialect: str) -> str:
    """``*`` without the helper columns."""
    listed = ", ".join(cols)
    return f"* EXCLUDE ({listed})" if dialect == "duckdb" else f"* EXCEPT ({listed})"


def _integer_weights(variants: Any) -> tuple[list[str], list[int], int]:
    pairs = _normalise_variants(variants)
    total_w = sum(w for _, w in pairs)
    normalised = [w / total_w for _, w in pairs]
    den = math.lcm(*(w.denominator for w in normalised))
    ints = [int(w * den) for w in normalised]
    return [n for n, _ in pairs], ints, sum(ints)


def assignment_sql(
    dialect: str,
    *,
    table: str | Sequence[str],
    salt: str,
    variants: Mapping[str, float] | Sequence[str],
    id_col: str = "customer_id",
    method: str = "hash",
    strata: str | Sequence[str] | None = None,
    variant_col: str = "variant",
) -> str:
    """SQL that assigns every row of ``table`` to a variant exactly as :func:`abkit.assign` does.

    The query returns every column of ``table`` plus ``variant_col``; ``table`` is a (qualified) table
    name, or a parenthesised sub-query. Both methods of :func:`abkit.assign` are generated:

    * ``method="hash"`` (stable): ``h`` is compared with the integer thresholds of
      :func:`hash_thresholds`; ``strata`` does not change a hash split.
    * ``method="block"`` (exact counts per stratum): window functions count each stratum, order its
      units by ``(h, CAST(id AS text))`` (binary collation) and cut the runs at the per-stratum
      counts of :func:`abkit.assign`: ``floor(n * w_i)`` each, leftovers by systematic sampling from
      the salted stratum start ``h(salt:stratum:key)``, in exact wide-integer arithmetic. The stratum
      key is ``'|'``-joined ``CAST(col AS text)``, which equals Python's ``str(value)`` for string and
      integer strata columns (use those types).

    Ids are hashed as text (``CAST(id AS text)``), so integer and string ids match Python's
    ``f"{salt}:{id}"``. SQL cannot raise portably: a NULL id (or NULL stratum) gets a NULL variant,
    and duplicate ids are not detected; check ids first. The BigQuery text uses ``SHA256``,
    ``TO_HEX``, a ``0x`` cast to INT64 and BIGNUMERIC; it is tested as text only (no BigQuery here).

    >>> sql = assignment_sql("duckdb", table="crm.dormant", salt="spring-2025",
    ...                      variants={"coupon": 1, "holdout": 1})
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE SCHEMA crm; CREATE TABLE crm.dormant AS SELECT range AS customer_id "
    ...                 "FROM range(1000)")
    >>> con.execute(f"SELECT variant, count(*) FROM ({sql}) GROUP BY 1 ORDER BY 1").fetchall()
    [('coupon', 498), ('holdout', 502)]
    """
    _check_dialect(dialect)
    if method not in ("hash", "block"):
        raise ParameterError(f"method={method!r} is not known; use 'block' or 'hash'")
    if strata is None:
        strata_cols: list[str] = []
    elif isinstance(strata, str):
        strata_cols = [strata]
    elif isinstance(strata, Sequence) and all(isinstance(c, str) and c for c in strata):
        strata_cols = list(strata)
    else:
        raise ParameterError(f"strata must be a column name or a list of column names, got {strata!r}")
    q = lambda name: quote_identifier(name, dialect)  # noqa: E731
    rel = _relation(table, dialect)
    idq = "t." + q(id_col)
    h = hash_sql(dialect, idq, salt)
    vq = q(variant_col)
    if method == "hash":
        thresholds = hash_thresholds(variants)
        whens = "\n".join(
            f"    WHEN h.abkit_hash < {t} THEN {quote_literal(name, dialect)}" for name, t in thresholds
        )
        case = f"  CASE\n{whens}\n  END AS {vq}"
        if dialect == "postgres":
            return f"SELECT t.*,\n{case}\nFROM {rel} AS t\nCROSS JOIN LATERAL (SELECT {h} AS abkit_hash) AS h"
        inner = f"SELECT t.*, {h} AS abkit_hash FROM {rel} AS t"
        return f"SELECT h.{_exclude(['abkit_hash'], dialect)},\n{case}\nFROM ({inner}) AS h"

    names, ints, total = _integer_weights(variants)
    if strata_cols:
        pieces: list[str] = []
        for i, col in enumerate(strata_cols):
            if i:
                pieces.append("'|'")
            pieces.append(_text("t." + q(col), dialect))
        key = _concat(pieces, dialect)
    else:
        key = "''"
    start = hash_sql(dialect, _concat(["'stratum:'", "s.abkit_key"], dialect), salt)
    n = _wide("s.abkit_n", dialect)
    tot = _wide(str(total), dialect)
    space = _wide(str(HASH_SPACE), dialect)
    bounds = []
    floor_terms: list[str] = []
    rem_terms: list[str] = []
    for j in range(len(names) - 1):
        a = _wide(str(ints[j]), dialect)
        floor_terms.append(_div(f"{n} * {a}", tot, dialect))
        rem_terms.append(_mod(f"{n} * {a}", tot, dialect))
        num = f"(({' + '.join(rem_terms)}) * {space} - {_wide('s.abkit_start', dialect)} * {tot})"
        den = f"({tot} * {space})"
        below = f"CASE WHEN {num} > 0 THEN {_div(f'{num} + {den} - 1', den, dialect)} ELSE 0 END"
        bounds.append(f"    {' + '.join(floor_terms)} + {below} AS abkit_b{j}")
    id_order = "t.abkit_idt" + (' COLLATE "C"' if dialect == "postgres" else "")
    whens = ["    WHEN r.abkit_start IS NULL THEN NULL"]
    whens += [
        f"    WHEN r.abkit_rn < r.abkit_b{j} THEN {quote_literal(name, dialect)}"
        for j, name in enumerate(names[:-1])
    ]
    whens.append(f"    ELSE {quote_literal(names[-1], dialect)}")
    bound_cols = ",\n".join(bounds)
    sel_bounds = "".join(f", b.abkit_b{j}" for j in range(len(names) - 1))
    case = "  CASE\n" + "\n".join(whens) + f"\n  END AS {vq}"
    if dialect == "duckdb":
        # one sort and no join back on the id: the window ranks the rows themselves (NULL ids, whose
        # hash is NULL, sort last and get no variant); the stratum sizes come from a hash-free count
        # and the per-stratum bounds (a handful of rows) are joined by key after the ranking
        whens = [f"    WHEN b.abkit_start IS NULL OR r.{q(id_col)} IS NULL THEN NULL"]
        whens += [
            f"    WHEN r.abkit_rn < b.abkit_b{j} THEN {quote_literal(name, dialect)}"
            for j, name in enumerate(names[:-1])
        ]
        whens.append(f"    ELSE {quote_literal(names[-1], dialect)}")
        case = "  CASE\n" + "\n".join(whens) + f"\n  END AS {vq}"
        return (
            f"WITH abkit_s AS (\n  SELECT {key} AS abkit_key, COUNT({idq}) AS abkit_n FROM {rel} AS t"
            f" GROUP BY 1\n),\n"
            f"abkit_st AS (\n  SELECT s.abkit_key, s.abkit_n, {start} AS abkit_start FROM abkit_s AS s\n),\n"
            f"abkit_b AS (\n  SELECT s.abkit_key, s.abkit_start{',' if bounds else ''}\n{bound_cols}\n"
            f"  FROM abkit_st AS s\n),\n"
            f"abkit_r AS (\n  SELECT t.*,\n"
            f"    ROW_NUMBER() OVER (PARTITION BY t.abkit_key ORDER BY t.abkit_hash ASC NULLS LAST, "
            f"{_text('t.' + q(id_col), dialect)}) - 1 AS abkit_rn\n"
            f"  FROM (SELECT t.*, {h} AS abkit_hash, {key} AS abkit_key FROM {rel} AS t) AS t\n)\n"
            f"SELECT r.{_exclude(['abkit_hash', 'abkit_key', 'abkit_rn'], dialect)},\n{case}\n"
            f"FROM abkit_r AS r LEFT JOIN abkit_b AS b ON r.abkit_key = b.abkit_key"
        )
    return (
        f"WITH abkit_h AS (\n  SELECT {idq} AS abkit_id, {_text(idq, dialect)} AS abkit_idt,\n"
        f"    {h} AS abkit_hash, {key} AS abkit_key\n  FROM {rel} AS t WHERE {idq} IS NOT NULL\n),\n"
        f"abkit_s AS (\n  SELECT abkit_key, COUNT(*) AS abkit_n FROM abkit_h GROUP BY abkit_key\n),\n"
        f"abkit_st AS (\n  SELECT s.abkit_key, s.abkit_n, {start} AS abkit_start FROM abkit_s AS s\n),\n"
        f"abkit_b AS (\n  SELECT s.abkit_key, s.abkit_start{',' if bounds else ''}\n{bound_cols}\n"
        f"  FROM abkit_st AS s\n),\n"
        f"abkit_r AS (\n  SELECT t.abkit_id, b.abkit_start{sel_bounds},\n"
        f"    ROW_NUMBER() OVER (PARTITION BY t.abkit_key ORDER BY t.abkit_hash, {id_order}) - 1\n"
        f"      AS abkit_rn\n"
        f"  FROM abkit_h AS t JOIN abkit_b AS b ON t.abkit_key = b.abkit_key\n)\n"
        f"SELECT t.*,\n{case}\nFROM {rel} AS t LEFT JOIN abkit_r AS r ON {idq} = r.abkit_id"
    )


# --------------------------------------------------------------------------------------------------
# outcomes and sufficient statistics
# --------------------------------------------------------------------------------------------------
def _double(expr: str, dialect: str) -> str:
    kind = {"duckdb": "DOUBLE", "postgres": "double precision", "spark": "DOUBLE", "bigquery": "FLOAT64"}
    return f"CAST({expr} AS {kind[dialect]})"


def _is_nan(x: str, dialect: str) -> str:
    return {
        "duckdb": f"isnan({x})",
        "postgres": f"{x} = CAST('NaN' AS double precision)",
        "spark": f"isnan({x})",
        "bigquery": f"IS_NAN({x})",
    }[dialect]


def _is_inf(x: str, dialect: str) -> str:
    return {
        "duckdb": f"isinf({x})",
        "postgres": f"{x} IN (CAST('Infinity' AS double precision), CAST('-Infinity' AS double precision))",
        "spark": f"{x} IN (CAST('Infinity' AS DOUBLE), CAST('-Infinity' AS DOUBLE))",
        "bigquery": f"IS_INF({x})",
    }[dialect]


def timestamp_literal(stamp: Any, dialect: str) -> str:
    """A timestamp literal (microsecond precision; time-zone aware stamps are written in UTC).

    >>> timestamp_literal("2026-05-01", "postgres")
    "TIMESTAMP '2026-05-01 00:00:00'"
    """
    import pandas as pd

    _check_dialect(dialect)
    ts = pd.Timestamp(stamp)
    # events are stored with at most microsecond precision: t >= s  <=>  t >= ceil_us(s)
    ts = ts.ceil("us")
    if ts.tz is not None:
        text = ts.tz_convert("UTC").strftime("%Y-%m-%d %H:%M:%S.%f") + "+00:00"
        kind = {
            "duckdb": "TIMESTAMPTZ",
            "postgres": "TIMESTAMP WITH TIME ZONE",
            "spark": "TIMESTAMP",
            "bigquery": "TIMESTAMP",
        }[dialect]
        return f"{kind} '{text}'"
    text = ts.strftime("%Y-%m-%d %H:%M:%S") + (f".{ts.microsecond:06d}" if ts.microsecond else "")
    return f"{'DATETIME' if dialect == 'bigquery' else 'TIMESTAMP'} '{text}'"


#: Standard event names in the order of FLAG_OUTCOMES (their integer codes 0..5 in the SQL).
_EVENTS = ("delivered", "opened", "clicked", "purchased", "unsubscribed", "complained")


def _outcome_ctes(
    dialect: str,
    *,
    events: str | Sequence[str],
    start: Any,
    end: Any,
    id_col: str,
    event_col: str,
    time_col: str,
    amount_col: str,
    event_names: Mapping[str, str],
    time_type: str,
    partition: tuple[int, int] | None = None,
) -> str:
    """CTEs ``abkit_e`` (events, coded), ``abkit_w`` (deduplicated) and ``abkit_p`` (one row per id).

    One pass over the events: each row gets an event code (0..5, -1 unknown or NULL) and a window
    class (0 before, 1 inside, 2 after, 3 NULL time). Rows inside the window with a known name are
    grouped by (id, code, timestamp, amount) so exact duplicates collapse (``abkit_k`` copies); the
    others only by (id, code, class), which is all their counts need. Per id, ``abkit_p`` holds the
    flags, revenue, purchases, duplicates, bad amounts and the event rows per exclusion reason.
    """
    q = lambda name: quote_identifier(name, dialect)  # noqa: E731
    lit = lambda text: quote_literal(text, dialect)  # noqa: E731
    e_rel = _relation(events, dialect)
    part = _partition_filter("e0." + q(id_col), partition, dialect)
    t_expr = utc_time_sql(f"e0.{q(time_col)}", dialect, time_type)
    s_lit, e_lit = timestamp_literal(start, dialect), timestamp_literal(end, dialect)
    codes = " ".join(f"WHEN {lit(event_names[k])} THEN {i}" for i, k in enumerate(_EVENTS))
    ev = _text("e0." + q(event_col), dialect)
    cls = (
        f"CASE WHEN {t_expr} IS NULL THEN 3 WHEN {t_expr} < {s_lit} THEN 0 "
        f"WHEN {t_expr} < {e_lit} THEN 1 ELSE 2 END"
    )
    x = "abkit_x"
    counted = "abkit_cls = 1 AND abkit_code >= 0"
    is_p = "abkit_cls = 1 AND abkit_code = 3"
    flags = ",\n".join(
        f"    MAX(CASE WHEN abkit_cls = 1 AND abkit_code = {i} THEN 1 ELSE 0 END) AS {q(col)}"
        for i, col in enumerate(FLAG_OUTCOMES)
    )

    def total(cond: str, name: str) -> str:
        return f"    SUM(CASE WHEN {cond} THEN abkit_k ELSE 0 END) AS {name}"

    return (
        f"abkit_e AS (\n  SELECT e0.{q(id_col)} AS abkit_id, CASE {ev} {codes} ELSE -1 END AS abkit_code,\n"
        f"    {t_expr} AS abkit_ts, {_double('e0.' + q(amount_col), dialect)} AS abkit_amount,\n"
        f"    {cls} AS abkit_cls\n  FROM {e_rel} AS e0{part}\n),\n"
        f"abkit_w AS (\n  SELECT abkit_id, abkit_code, abkit_cls,\n"
        f"    CASE WHEN {counted} THEN abkit_ts END AS abkit_t,\n"
        f"    CASE WHEN {counted} THEN abkit_amount END AS {x},\n"
        f"    COUNT(*) AS abkit_k\n  FROM abkit_e\n"
        f"  GROUP BY abkit_id, abkit_code, abkit_cls, CASE WHEN {counted} THEN abkit_ts END,\n"
        f"    CASE WHEN {counted} THEN abkit_amount END\n),\n"
        f"abkit_p AS (\n  SELECT abkit_id,\n{flags},\n"
        f"    SUM(CASE WHEN {is_p} THEN {x} ELSE 0 END) AS abkit_revenue,\n"
        f"    SUM(CASE WHEN {is_p} THEN 1 ELSE 0 END) AS abkit_purchases,\n"
        f"    SUM(CASE WHEN {counted} THEN abkit_k - 1 ELSE 0 END) AS abkit_duplicates,\n"
        f"    SUM(CASE WHEN {is_p} AND ({x} IS NULL OR {_is_nan(x, dialect)}) THEN 1 ELSE 0 END)"
        f" AS abkit_bad_missing,\n"
        f"    SUM(CASE WHEN {is_p} AND {x} < 0 THEN 1 ELSE 0 END) AS abkit_bad_negative,\n"
        f"    SUM(CASE WHEN {is_p} AND {_is_inf(x, dialect)} THEN 1 ELSE 0 END) AS abkit_bad_infinite,\n"
        + ",\n".join(
            [
                total("abkit_code < 0", "abkit_unknown_event"),
                total("abkit_code >= 0 AND abkit_cls = 0", "abkit_before_send"),
                total("abkit_code >= 0 AND abkit_cls = 2", "abkit_after_window"),
                total(counted, "abkit_in_window"),
                total("abkit_cls = 3", "abkit_null_time"),
            ]
        )
        + ",\n    SUM(abkit_k) AS abkit_rows\n  FROM abkit_w\n  GROUP BY abkit_id\n)"
    )


def _partition_filter(id_expr: str, partition: tuple[int, int] | None, dialect: str) -> str:
    """``WHERE`` clause keeping one of ``k`` disjoint partitions of the ids (DuckDB only)."""
    if partition is None:
        return ""
    if dialect != "duckdb":
        raise ParameterError("partition= is only supported for the 'duckdb' dialect")
    i, k = partition
    if not (isinstance(i, int) and isinstance(k, int) and 0 <= i < k):
        raise ParameterError(f"partition must be (i, k) with 0 <= i < k, got {partition!r}")
    return f" WHERE hash(CAST({id_expr} AS VARCHAR)) % {k} = {i}"


def _names(event_names: Mapping[str, str] | None) -> dict[str, str]:
    return event_map(event_names)


#: How an event time column is stored: ``naive`` (no zone: UTC), ``aware`` (an instant) or ``text``.
TIME_TYPES = ("naive", "aware", "text")


def utc_time_sql(expr: str, dialect: str, time_type: str) -> str:
    """SQL turning an event time column into a UTC timestamp without zone (the rule of abkit.attribution).

    ``naive`` values are UTC already; ``aware`` ones (``TIMESTAMP WITH TIME ZONE``, ``timestamptz``,
    BigQuery ``TIMESTAMP``) are converted to UTC; ``text`` is parsed value by value, an offset
    converted, no offset meaning UTC. Spark keeps its timestamps as instants and compares them in the
    session time zone, which the Spark engine requires to be UTC.

    >>> print(utc_time_sql('e."ts"', "postgres", "aware"))
    (e."ts" AT TIME ZONE 'UTC')
    """
    _check_dialect(dialect)
    if time_type not in TIME_TYPES:
        raise ParameterError(f"time_type={time_type!r} is not known; use one of {', '.join(TIME_TYPES)}")
    if time_type == "naive":
        return expr
    if dialect == "duckdb":
        inner = expr if time_type == "aware" else f"CAST({expr} AS TIMESTAMPTZ)"
        return f"timezone('UTC', {inner})"
    if dialect == "postgres":
        inner = expr if time_type == "aware" else f"CAST({expr} AS timestamptz)"
        return f"({inner} AT TIME ZONE 'UTC')"
    if dialect == "spark":
        return expr if time_type == "aware" else f"CAST({expr} AS TIMESTAMP)"
    inner = expr if time_type == "aware" else f"TIMESTAMP({expr})"
    return f"DATETIME({inner}, 'UTC')"


def _time_type(time_type: str | None, cast_time: bool) -> str:
    if time_type is None:
        return "text" if cast_time else "naive"
    return time_type


def outcomes_sql(
    dialect: str,
    *,
    assigned: str | Sequence[str],
    events: str | Sequence[str],
    send_date: Any,
    window_days: float = 14,
    id_col: str = "customer_id",
    event_col: str = "event",
    time_col: str = "timestamp",
    amount_col: str = "amount",
    event_names: Mapping[str, str] | None = None,
    cast_time: bool = False,
    time_type: str | None = None,
) -> str:
    """SQL returning :func:`abkit.outcomes`' table: one row per assigned customer, every column kept.

    Adds boolean ``delivered, opened, clicked, repurchased, unsubscribed, complained``, double
    ``revenue`` and integer ``n_purchases``, with exactly the definitions of :func:`abkit.outcomes`:
    half-open window ``send_date <= timestamp < send_date + window_days``, events of unknown customers,
    outside the window or with unknown names ignored, exact duplicate rows (same id, event, timestamp
    and amount) counted once. ``assigned`` and ``events`` are table names or parenthesised sub-queries;
    ``time_type`` says how the time column is stored (:data:`TIME_TYPES`; ``cast_time=True`` is the
    older spelling of ``"text"``) and :func:`utc_time_sql` compares it in UTC. Row order is not
    defined (SQL); sort by the id if it matters.

    >>> sql = outcomes_sql("duckdb", assigned="assigned", events="events", send_date="2026-05-01")
    >>> "< TIMESTAMP '2026-05-15 00:00:00' THEN 1" in sql
    True
    """
    _check_dialect(dialect)
    start, end = attribution_window(send_date, window_days)
    q = lambda name: quote_identifier(name, dialect)  # noqa: E731
    ctes = _outcome_ctes(
        dialect,
        events=events,
        start=start,
        end=end,
        id_col=id_col,
        event_col=event_col,
        time_col=time_col,
        amount_col=amount_col,
        event_names=_names(event_names),
        time_type=_time_type(time_type, cast_time),
    )
    flags = ",\n".join(f"  COALESCE(p.{q(c)}, 0) = 1 AS {q(c)}" for c in FLAG_OUTCOMES)
    return (
        f"WITH {ctes}\nSELECT a.*,\n{flags},\n"
        f"  COALESCE(p.abkit_revenue, {_double('0', dialect)}) AS {q('revenue')},\n"
        f"  COALESCE(p.abkit_purchases, 0) AS {q('n_purchases')}\n"
        f"FROM {_relation(assigned, dialect)} AS a LEFT JOIN abkit_p AS p ON a.{q(id_col)} = p.abkit_id"
    )


#: Columns of :func:`statistics_sql`'s result after the segment, variant and ``abkit_unmatched``.
STATISTICS_COLUMNS = (
    "abkit_n",
    *FLAG_OUTCOMES,
    "revenue",
    "revenue_sumsq",
    "n_purchases",
    "n_purchases_sumsq",
    "n_purchases_max",
    "abkit_duplicates",
    "abkit_bad_missing",
    "abkit_bad_negative",
    "abkit_bad_infinite",
    "abkit_unknown_event",
    "abkit_before_send",
    "abkit_after_window",
    "abkit_in_window",
    "abkit_null_time",
    "abkit_rows",
    "abkit_null_id",
)

#: :data:`STATISTICS_COLUMNS` as :func:`customer_statistics_sql` returns them: the three counts of
#: invalid purchase amounts are one, ``abkit_bad_amounts`` (a non-zero count calls for the exact query).
COMPACT_STATISTICS_COLUMNS = (
    *(c for c in STATISTICS_COLUMNS if not c.startswith("abkit_bad_")),
    "abkit_bad_amounts",
)

# Two counts share one BIGINT in the per-customer rows: low + high * 2**32.
_HIGH = 4294967296
#: Time units of :func:`customer_aggregates_sql` (``ns`` for nanosecond timestamps, else ``us``).
TIME_UNITS = ("us", "ns")


def _epoch(stamp: Any, time_unit: str) -> int:
    """Integer epoch of a window bound as its SQL literal holds it (ceiled to the microsecond)."""
    import pandas as pd

    value = int(pd.Timestamp(stamp).ceil("us").value)  # nanoseconds
    return value if time_unit == "ns" else value // 1000


def compact_key_fits(send_date: Any, window_days: float, time_unit: str = "us") -> bool:
    """Whether :func:`customer_aggregates_sql` can pack (time in the window, event code) into a BIGINT.

    The key is ``(epoch(t) - epoch(start)) * 8 + code``: a window of up to about 13,000 days fits in
    nanoseconds, any window pandas can hold fits in microseconds.

    >>> compact_key_fits("2026-05-01", 14, "ns"), compact_key_fits("1700-01-01", 200_000, "ns")
    (True, False)
    """
    if time_unit not in TIME_UNITS:
        raise ParameterError(f"time_unit={time_unit!r} is not known; use one of {', '.join(TIME_UNITS)}")
    start, end = attribution_window(send_date, window_days)
    span = _epoch(end, time_unit) - _epoch(start, time_unit)
    return (span + 1) * 8 < 2**63


def customer_aggregates_sql(
    *,
    events: str,
    send_date: Any,
    window_days: float = 14,
    id_col: str = "customer_id",
    event_col: str = "event",
    time_col: str = "timestamp",
    amount_col: str = "amount",
    event_names: Mapping[str, str] | None = None,
    time_type: str = "naive",
    time_unit: str = "us",
    partition: tuple[int, int] | None = None,
) -> str:
    """DuckDB: one compact row per event id, the first half of the fast statistics query.

    Same definitions as :func:`statistics_sql` with less work (DuckDB only). The events are grouped
    by (id, key, amount), where the BIGINT key packs the time inside the window and the event code
    (``(epoch(t) - epoch(start)) * 8 + code``, see :func:`compact_key_fits`) and is negative for
    rows not counted (-1 unknown name, -2 no time, -3 before the send, -4 after the window, -5
    unknown name and no time), so exact duplicates collapse. Grouping that by id gives
    ``abkit_flags`` (bit ``code`` set when an event of that code was counted), ``abkit_revenue``
    (sum of the distinct purchase amounts) and pairs of counts packed as ``low + high * 2**32``:
    ``abkit_pb`` (distinct purchases, invalid amounts), ``abkit_s1`` (rows in the window,
    duplicates), ``abkit_s2`` (before the send, after the window) and ``abkit_s3`` (unknown names,
    no time). A count spills into its high half only past 2**32 rows of one customer: the engine
    uses this query only for fewer than 2**31 event rows. :func:`customer_statistics_sql` turns the
    rows into per-(segment, variant) aggregates. ``partition=(i, k)`` keeps the ids with
    ``hash(id) % k == i``.

    >>> customer_aggregates_sql(events="e", send_date="2026-05-01").splitlines()[-1]
    'FROM abkit_w GROUP BY abkit_id'
    """
    if time_unit not in TIME_UNITS:
        raise ParameterError(f"time_unit={time_unit!r} is not known; use one of {', '.join(TIME_UNITS)}")
    if not compact_key_fits(send_date, window_days, time_unit):
        raise ParameterError(
            f"window_days={window_days!r} is too long to pack event times in {time_unit}; "
            "use statistics_sql"
        )
    start, end = attribution_window(send_date, window_days)
    q = lambda name: quote_identifier(name, "duckdb")  # noqa: E731
    names = _names(event_names)
    codes = " ".join(f"WHEN {quote_literal(names[k], 'duckdb')} THEN {i}" for i, k in enumerate(_EVENTS))
    ev = _text("e0." + q(event_col), "duckdb")
    t_expr = utc_time_sql(f"e0.{q(time_col)}", "duckdb", time_type)
    s_lit, e_lit = timestamp_literal(start, "duckdb"), timestamp_literal(end, "duckdb")
    epoch = "epoch_ns(t)" if time_unit == "ns" else "epoch_us(CAST(t AS TIMESTAMP))"
    inside = f"c >= 0 AND t >= {s_lit} AND t < {e_lit}"
    part = _partition_filter("e0." + q(id_col), partition, "duckdb")
    key = "abkit_key"
    counted = f"{key} >= 0"
    purchase = f"{key} >= 0 AND {key} % 8 = 3"
    return (
        f"WITH abkit_e AS (\n  SELECT e0.{q(id_col)} AS abkit_id, CASE {ev} {codes} ELSE -1 END AS c,\n"
        f"    {t_expr} AS t, CAST(e0.{q(amount_col)} AS DOUBLE) AS x\n"
        f"  FROM {_relation(events, 'duckdb')} AS e0{part}\n),\n"
        f"abkit_w AS (\n  SELECT abkit_id,\n"
        f"    CASE WHEN {inside} THEN ({epoch} - {_epoch(start, time_unit)}) * 8 + c\n"
        f"      WHEN c < 0 THEN CASE WHEN t IS NULL THEN -5 ELSE -1 END\n"
        f"      WHEN t IS NULL THEN -2 WHEN t < {s_lit} THEN -3 ELSE -4 END AS {key},\n"
        f"    CASE WHEN {inside} THEN x END AS abkit_x, COUNT(*) AS abkit_k\n"
        f"  FROM abkit_e GROUP BY 1, 2, 3\n)\n"
        f"SELECT abkit_id,\n"
        f"  BIT_OR(CASE WHEN {counted} THEN 1 << CAST({key} % 8 AS INTEGER) ELSE 0 END) AS abkit_flags,\n"
        f"  SUM(CASE WHEN {purchase} THEN abkit_x END) AS abkit_revenue,\n"
        f"  SUM(CASE WHEN {purchase} THEN CASE WHEN isfinite(abkit_x) AND abkit_x >= 0 THEN 1 "
        f"ELSE {_HIGH + 1} END ELSE 0 END) AS abkit_pb,\n"
        f"  SUM(CASE WHEN {counted} THEN abkit_k + (abkit_k - 1) * {_HIGH} ELSE 0 END) AS abkit_s1,\n"
        f"  SUM(CASE WHEN {key} = -3 THEN abkit_k WHEN {key} = -4 THEN abkit_k * {_HIGH} ELSE 0 END)"
        f" AS abkit_s2,\n"
        f"  SUM(CASE WHEN {key} = -1 THEN abkit_k WHEN {key} = -2 THEN abkit_k * {_HIGH} "
        f"WHEN {key} = -5 THEN abkit_k * {_HIGH + 1} ELSE 0 END) AS abkit_s3\n"
        f"FROM abkit_w GROUP BY abkit_id"
    )


def customer_statistics_sql(
    *,
    assigned: str,
    customers: str,
    id_col: str = "customer_id",
    variant_col: str = "variant",
    segment_col: str | None = None,
) -> str:
    """DuckDB: per-(segment, variant) aggregates from the rows of :func:`customer_aggregates_sql`.

    ``customers`` is a table (or sub-query) holding those rows. Columns: ``abkit_segment`` (with
    ``segment_col``), ``abkit_variant``, ``abkit_unmatched``, then :data:`COMPACT_STATISTICS_COLUMNS`
    with the definitions of :func:`statistics_sql`. ``abkit_rows`` and ``abkit_null_id`` leave out
    rows without a time, so they are exact only when ``abkit_null_time`` is 0: a non-zero
    ``abkit_null_time``, ``abkit_null_id`` or matched ``abkit_bad_amounts`` (each refuses the data)
    calls for :func:`statistics_sql`, whose counts the error messages quote.

    >>> customer_statistics_sql(assigned="a", customers="c").splitlines()[-1]
    'GROUP BY a."variant", CASE WHEN a."customer_id" IS NULL THEN 1 ELSE 0 END'
    """
    q = lambda name: quote_identifier(name, "duckdb")  # noqa: E731
    aid = f"a.{q(id_col)}"
    unmatched = f"CASE WHEN {aid} IS NULL THEN 1 ELSE 0 END"
    keys = ([f"a.{q(segment_col)}"] if segment_col else []) + [f"a.{q(variant_col)}", unmatched]
    names = (["abkit_segment"] if segment_col else []) + ["abkit_variant", "abkit_unmatched"]

    def low(col: str) -> str:
        return f"COALESCE(p.{col} % {_HIGH}, 0)"

    def high(col: str) -> str:
        return f"COALESCE(p.{col} // {_HIGH}, 0)"

    rev = "COALESCE(p.abkit_revenue, CAST(0 AS DOUBLE))"
    npur = f"CAST({low('abkit_pb')} AS BIGINT)"
    rows = f"({low('abkit_s1')} + {low('abkit_s2')} + {high('abkit_s2')} + {low('abkit_s3')})"
    flags = "COALESCE(p.abkit_flags, 0)"
    sums = [f"COUNT({aid}) AS {q('abkit_n')}"]
    sums += [f"SUM(({flags} >> {i}) & 1) AS {q(c)}" for i, c in enumerate(FLAG_OUTCOMES)]
    sums += [
        f"SUM({rev}) AS {q('revenue')}",
        f"SUM({rev} * {rev}) AS {q('revenue_sumsq')}",
        f"SUM({npur}) AS {q('n_purchases')}",
        f"SUM({npur} * {npur}) AS {q('n_purchases_sumsq')}",
        f"MAX({npur}) AS {q('n_purchases_max')}",
        f"SUM({high('abkit_s1')}) AS {q('abkit_duplicates')}",
        f"SUM({low('abkit_s3')}) AS {q('abkit_unknown_event')}",
        f"SUM({low('abkit_s2')}) AS {q('abkit_before_send')}",
        f"SUM({high('abkit_s2')}) AS {q('abkit_after_window')}",
        f"SUM({low('abkit_s1')}) AS {q('abkit_in_window')}",
        f"SUM({high('abkit_s3')}) AS {q('abkit_null_time')}",
        f"SUM({rows}) AS {q('abkit_rows')}",
        f"SUM(CASE WHEN {aid} IS NULL AND p.abkit_id IS NULL THEN {rows} ELSE 0 END) AS {q('abkit_null_id')}",
        f"SUM({high('abkit_pb')}) AS {q('abkit_bad_amounts')}",
    ]
    select = ",\n  ".join([f"{k} AS {n}" for k, n in zip(keys, names, strict=True)] + sums)
    return (
        f"SELECT\n  {select}\n"
        f"FROM {_relation(assigned, 'duckdb')} AS a FULL OUTER JOIN {_relation(customers, 'duckdb')} AS p"
        f" ON {aid} = p.abkit_id\n"
        f"GROUP BY {', '.join(keys)}"
    )


def statistics_sql(
    dialect: str,
    *,
    assigned: str | Sequence[str],
    events: str | Sequence[str],
    send_date: Any,
    window_days: float = 14,
    id_col: str = "customer_id",
    variant_col: str = "variant",
    segment_col: str | None = None,
    event_col: str = "event",
    time_col: str = "timestamp",
    amount_col: str = "amount",
    event_names: Mapping[str, str] | None = None,
    cast_time: bool = False,
    time_type: str | None = None,
    partition: tuple[int, int] | None = None,
) -> str:
    """One query (one pass over the events) from assignment and events to per-(segment, variant) aggregates.

    Columns: ``abkit_segment`` (only with ``segment_col``), ``abkit_variant``, ``abkit_unmatched``
    (1 on the single row that gathers event ids absent from ``assigned``, whose segment and variant
    are NULL), then :data:`STATISTICS_COLUMNS`: the unit count ``abkit_n``; the number of customers
    with each flag (``delivered`` ... ``complained``); ``revenue`` / ``revenue_sumsq`` (sum and sum of
    squares of per-customer revenue) and the same for ``n_purchases`` (plus its maximum); the
    duplicate window rows; counted purchases with a missing, negative or infinite amount (which
    :func:`abkit.outcomes` refuses); and event rows per exclusion reason (unknown name, before the
    send, after the window, inside the window), with NULL timestamps, all rows and NULL ids.
    Definitions are those of :func:`abkit.outcomes`; :mod:`abkit.engines` turns the rows into
    :func:`abkit.sufficient_statistics`' table and the diagnostics. ``partition=(i, k)`` (DuckDB only)
    restricts both tables to the ids with ``hash(id) % k == i``: the results of the ``k`` partitions
    add up (maximum for ``n_purchases_max``) to the whole, with a ``k`` times smaller hash table.

    >>> sql = statistics_sql("postgres", assigned="a", events="e", send_date="2026-05-01")
    >>> sql.splitlines()[-2]
    'FROM "a" AS a FULL OUTER JOIN abkit_p AS p ON a."customer_id" = p.abkit_id'
    """
    _check_dialect(dialect)
    start, end = attribution_window(send_date, window_days)
    q = lambda name: quote_identifier(name, dialect)  # noqa: E731
    ctes = _outcome_ctes(
        dialect,
        events=events,
        start=start,
        end=end,
        id_col=id_col,
        event_col=event_col,
        time_col=time_col,
        amount_col=amount_col,
        event_names=_names(event_names),
        time_type=_time_type(time_type, cast_time),
        partition=partition,
    )
    aid = f"a.{q(id_col)}"
    a_rel = _relation(assigned, dialect)
    if partition is not None:
        a_rel = f"(SELECT * FROM {a_rel} AS a0{_partition_filter('a0.' + q(id_col), partition, dialect)})"
    unmatched = f"CASE WHEN {aid} IS NULL THEN 1 ELSE 0 END"
    keys = ([f"a.{q(segment_col)}"] if segment_col else []) + [f"a.{q(variant_col)}", unmatched]
    names = (["abkit_segment"] if segment_col else []) + ["abkit_variant", "abkit_unmatched"]
    rev = f"COALESCE(p.abkit_revenue, {_double('0', dialect)})"
    npur = "COALESCE(p.abkit_purchases, 0)"
    sums = [f"COUNT({aid}) AS {q('abkit_n')}"]
    sums += [f"SUM(COALESCE(p.{q(c)}, 0)) AS {q(c)}" for c in FLAG_OUTCOMES]
    sums += [
        f"SUM({rev}) AS {q('revenue')}",
        f"SUM({rev} * {rev}) AS {q('revenue_sumsq')}",
        f"SUM({npur}) AS {q('n_purchases')}",
        f"SUM({npur} * {npur}) AS {q('n_purchases_sumsq')}",
        f"MAX({npur}) AS {q('n_purchases_max')}",
    ]
    sums += [f"SUM(COALESCE(p.{c}, 0)) AS {q(c)}" for c in STATISTICS_COLUMNS[12:-1]]
    sums.append(
        f"SUM(CASE WHEN {aid} IS NULL AND p.abkit_id IS NULL THEN COALESCE(p.abkit_rows, 0) ELSE 0 END)"
        f" AS {q('abkit_null_id')}"
    )
    select = ",\n  ".join([f"{k} AS {n}" for k, n in zip(keys, names, strict=True)] + sums)
    return (
        f"WITH {ctes}\nSELECT\n  {select}\n"
        f"FROM {a_rel} AS a FULL OUTER JOIN abkit_p AS p ON {aid} = p.abkit_id\n"
        f"GROUP BY {', '.join(keys)}"
    )


def assigned_checks_sql(
    dialect: str,
    *,
    assigned: str | Sequence[str],
    id_col: str = "customer_id",
    variant_col: str = "variant",
    segment_col: str | None = None,
) -> str:
    """One row of checks of the assigned table: rows, distinct ids, NULL ids, variants and segments.

    >>> print(assigned_checks_sql("duckdb", assigned="a").splitlines()[0])
    SELECT COUNT(*) AS assigned_rows, COUNT(DISTINCT a0."customer_id") AS assigned_ids,
    """
    _check_dialect(dialect)
    q = lambda name: quote_identifier(name, dialect)  # noqa: E731
    seg_null = f"SUM(CASE WHEN a0.{q(segment_col)} IS NULL THEN 1 ELSE 0 END)" if segment_col else "0"
    return (
        f"SELECT COUNT(*) AS assigned_rows, COUNT(DISTINCT a0.{q(id_col)}) AS assigned_ids,\n"
        f"  SUM(CASE WHEN a0.{q(id_col)} IS NULL THEN 1 ELSE 0 END) AS assigned_null_id,\n"
        f"  SUM(CASE WHEN a0.{q(variant_col)} IS NULL THEN 1 ELSE 0 END) AS assigned_null_variant,\n"
        f"  {seg_null} AS assigned_null_segment\nFROM {_relation(assigned, dialect)} AS a0"
    )


def unknown_events_sql(
    dialect: str,
    *,
    events: str | Sequence[str],
    event_col: str = "event",
    event_names: Mapping[str, str] | None = None,
    limit: int = 5,
) -> str:
    """The most frequent unknown event names (NULL included) with their row counts, for the diagnostics.

    >>> print(unknown_events_sql("duckdb", events="e", limit=2).splitlines()[-1])
    GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 2
    """
    _check_dialect(dialect)
    names = _names(event_names)
    known = ", ".join(quote_literal(names[k], dialect) for k in _EVENTS)
    ev = _text("e0." + quote_identifier(event_col, dialect), dialect)
    return (
        f"SELECT {ev} AS abkit_event, COUNT(*) AS abkit_rows\n"
        f"FROM {_relation(events, dialect)} AS e0\n"
        f"WHERE {ev} IS NULL OR {ev} NOT IN ({known})\n"
        f"GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {int(limit)}"
    )
