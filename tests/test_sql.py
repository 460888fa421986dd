"""SQL generation: the assignment SQL reproduces abkit.assign bit for bit (executed in DuckDB here;
PostgreSQL and Spark run it in their engine tests), quoting resists injection, BigQuery text is
checked as text only (no BigQuery is reachable from the tests)."""

from __future__ import annotations

import hashlib
import math
from fractions import Fraction

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abkit.assignment import assign, unit_hash
from abkit.errors import ParameterError
from abkit.sql import (
    DIALECTS,
    HASH_SPACE,
    assigned_checks_sql,
    assignment_sql,
    hash_sql,
    hash_thresholds,
    outcomes_sql,
    quote_identifier,
    quote_literal,
    statistics_sql,
    table_ref,
    timestamp_literal,
    unknown_events_sql,
)


def _duckdb_assign(units: pd.DataFrame, **kwargs) -> pd.DataFrame:
    con = duckdb.connect()
    con.register("units", units)
    return con.execute(assignment_sql("duckdb", table="units", **kwargs)).df()


def test_hash_expression_equals_hashlib_in_duckdb():
    ids = [0, 1, -5, 2**62, "C-001", "ümlaut ß", "", "a'b\"c\\d"]
    salt = "spring'25\\"
    exprs = [str(i) if isinstance(i, int) else quote_literal(i, "duckdb") for i in ids]
    row = (
        duckdb.connect()
        .execute("SELECT " + ", ".join(hash_sql("duckdb", e, salt) for e in exprs))
        .fetchall()[0]
    )
    expected = [int(hashlib.sha256(f"{salt}:{i}".encode()).hexdigest()[:15], 16) for i in ids]
    assert list(row) == expected
    assert all(0 <= h < HASH_SPACE for h in expected)


def test_thresholds_are_exact_and_follow_the_python_rule():
    # u < c  <=>  h < ceil(c * 16**15): a hash exactly at the boundary goes to the next variant
    (a, t_a), (b, t_b) = hash_thresholds({"a": 1, "b": 3})
    assert (a, b) == ("a", "b") and t_a == HASH_SPACE // 4 and t_b == HASH_SPACE
    (_, t1), (_, t2), _ = hash_thresholds(["x", "y", "z"])
    assert t1 == -(-HASH_SPACE // 3) and t2 == -(-2 * HASH_SPACE // 3)
    # weights are exact binary fractions, normalised exactly (0.1 + 0.9 is not exactly 1 in binary)
    exact = Fraction(0.1) / (Fraction(0.1) + Fraction(0.9)) * HASH_SPACE
    assert hash_thresholds({"a": 0.1, "b": 0.9})[0][1] == math.ceil(exact) != int(np.ceil(0.1 * HASH_SPACE))


@pytest.mark.parametrize("method", ["hash", "block"])
@pytest.mark.parametrize(
    "variants", [{"coupon": 1, "message": 1, "holdout": 1}, {"a": 0.1, "b": 0.35, "c": 0.55}, ["only"]]
)
@pytest.mark.parametrize("strata", [None, "segment", ["segment", "tier"]])
def test_assignment_sql_equals_python(method, variants, strata):
    rng = np.random.default_rng(7)
    n = 3000
    units = pd.DataFrame(
        {
            "customer_id": rng.permutation(n) * 13 + 5,
            "segment": rng.choice(["high_value", "one_time", "other"], n),
            "tier": rng.integers(0, 3, n),
        }
    )
    ref = assign(units, variants=variants, salt="wb-2026", strata=strata, method=method)
    got = _duckdb_assign(units, salt="wb-2026", variants=variants, method=method, strata=strata)
    merged = ref.merge(got, on="customer_id", suffixes=("_py", "_sql"))
    assert len(merged) == n
    assert (merged["variant_py"] == merged["variant_sql"]).all()
    assert list(got.columns) == [*units.columns, "variant"]


def test_block_sql_gives_null_ids_and_null_strata_no_variant_and_leaves_the_rest_exact():
    # NULL ids are not counted in their stratum and sort after every hash; a NULL stratum gets no
    # variant: the other rows are split exactly as abkit.assign splits the clean rows
    rng = np.random.default_rng(11)
    n = 2000
    ids = pd.array(rng.permutation(n) * 7 + 3, dtype="Int64")
    ids[rng.choice(n, 40, replace=False)] = pd.NA
    segment = pd.Series(rng.choice(["a", "b", "c"], n), dtype="str")
    segment[rng.choice(n, 25, replace=False)] = None
    units = pd.DataFrame({"customer_id": ids, "segment": segment})
    variants = {"x": 1, "y": 2, "z": 1.5}
    got = _duckdb_assign(units, salt="nulls", variants=variants, method="block", strata="segment")
    assert len(got) == n
    bad = got["customer_id"].isna() | got["segment"].isna()
    assert got.loc[bad, "variant"].isna().all()
    clean = units[units["customer_id"].notna() & units["segment"].notna()].astype({"customer_id": "int64"})
    ref = assign(clean, variants=variants, salt="nulls", strata="segment")
    merged = ref.merge(got[~bad].astype({"customer_id": "int64"}), on="customer_id")
    assert len(merged) == len(clean)
    assert (merged["variant_x"] == merged["variant_y"]).all()


@settings(max_examples=25, deadline=None)
@given(
    ids=st.lists(st.text(min_size=1, max_size=8) | st.integers(-(10**12), 10**12), min_size=1, max_size=40),
    salt=st.text(min_size=1, max_size=10).filter(lambda s: "\x00" not in s),
    names=st.lists(
        st.text(min_size=1, max_size=6).filter(lambda s: "\x00" not in s), min_size=1, max_size=4, unique=True
    ),
)
def test_any_salt_and_names_are_safe_and_exact(ids, salt, names):
    """Quotes, backslashes and unicode in salts and variant names cannot break or change the SQL."""
    ids = [i for i in ids if not isinstance(i, str) or "\x00" not in i]
    ids = list(dict.fromkeys(str(i) for i in ids))  # string ids, unique by string form
    if not ids:
        return
    units = pd.DataFrame({"customer_id": pd.Series(ids, dtype="str")})
    for method in ("hash", "block"):
        ref = assign(units, variants=names, salt=salt, method=method)
        got = _duckdb_assign(units, salt=salt, variants=names, method=method)
        merged = ref.merge(got, on="customer_id")
        assert (merged["variant_x"] == merged["variant_y"]).all()


def test_injection_attempts_stay_literals():
    evil = "x'; DROP TABLE units; --"
    units = pd.DataFrame({"customer_id": [1, 2, 3]})
    got = _duckdb_assign(units, salt=evil, variants={evil: 1})
    assert got["variant"].tolist() == [evil] * 3
    assert quote_literal(evil, "spark") == "'x\\'; DROP TABLE units; --'"
    assert quote_literal("a\\'b", "bigquery") == "'a\\\\\\'b'"
    assert quote_literal("new\nline", "spark") == "'new\\u000aline'"
    assert quote_literal("back\\slash", "postgres") == "E'back\\\\slash'"
    assert quote_identifier('we"ird', "duckdb") == '"we""ird"'
    assert quote_identifier("we`ird", "spark") == "`we``ird`"
    assert table_ref(["my-project", "crm", "dormant"], "bigquery") == "`my-project`.`crm`.`dormant`"
    with pytest.raises(ParameterError, match="NUL"):
        quote_literal("a\x00b", "duckdb")
    with pytest.raises(ParameterError, match="BigQuery"):
        quote_identifier("a`b", "bigquery")


def test_bigquery_text():
    # No BigQuery here: the text is checked against the documented functions (SHA256 on STRING hashes
    # its UTF-8 bytes, TO_HEX gives lowercase hex, CAST('0x...' AS INT64) parses hexadecimal).
    h = hash_sql("bigquery", "t.`customer_id`", "s")
    assert (
        h == "CAST(CONCAT('0x', SUBSTR(TO_HEX(SHA256(CONCAT('s', ':', "
        "CAST(t.`customer_id` AS STRING)))), 1, 15)) AS INT64)"
    )
    sql = assignment_sql("bigquery", table="proj.crm.dormant", salt="s", variants=["a", "b"])
    assert "FROM `proj`.`crm`.`dormant` AS t" in sql and "* EXCEPT (abkit_hash)" in sql
    assert "WHEN h.abkit_hash < 576460752303423488 THEN 'a'" in sql
    block = assignment_sql(
        "bigquery", table="d", salt="s", variants=["a", "b"], method="block", strata="segment"
    )
    assert "BIGNUMERIC" in block and "ROW_NUMBER() OVER (PARTITION BY t.abkit_key" in block
    assert "DIV(" in block and "MOD(" in block


def test_every_dialect_generates_every_query():
    for dialect in DIALECTS:
        for method in ("hash", "block"):
            assert "SELECT" in assignment_sql(
                dialect, table="t", salt="s", variants=["a", "b"], method=method
            )
        for fn in (outcomes_sql, statistics_sql):
            assert "abkit_e" in fn(dialect, assigned="a", events="e", send_date="2026-05-01")
        assert "COUNT(DISTINCT" in assigned_checks_sql(dialect, assigned="a")
    assert (
        timestamp_literal("2026-05-01 09:30:00.0000005", "duckdb") == "TIMESTAMP '2026-05-01 09:30:00.000001'"
    )
    assert timestamp_literal(pd.Timestamp("2026-05-01", tz="Europe/Paris"), "postgres") == (
        "TIMESTAMP WITH TIME ZONE '2026-04-30 22:00:00.000000+00:00'"
    )
    assert timestamp_literal("2026-05-01", "bigquery") == "DATETIME '2026-05-01 00:00:00'"


def test_hash_matches_unit_hash_for_large_populations():
    ids = np.arange(200_000, dtype=np.int64) * 7919
    con = duckdb.connect()
    con.register("u", pd.DataFrame({"customer_id": ids}))
    got = con.execute(f"SELECT {hash_sql('duckdb', 'customer_id', 'z')} FROM u").fetchnumpy()
    np.testing.assert_array_equal(next(iter(got.values())), unit_hash(ids, "z", _engine="python"))


def test_bad_arguments():
    with pytest.raises(ParameterError, match="dialect='mysql'"):
        assignment_sql("mysql", table="t", salt="s", variants=["a"])
    with pytest.raises(ParameterError, match="method='random'"):
        assignment_sql("duckdb", table="t", salt="s", variants=["a"], method="random")
    with pytest.raises(ParameterError, match="variants is empty"):
        assignment_sql("duckdb", table="t", salt="s", variants={})
    with pytest.raises(ParameterError, match="weight of 'b' must be a positive number"):
        assignment_sql("duckdb", table="t", salt="s", variants={"a": 1, "b": 0})
    with pytest.raises(ParameterError, match="weight of 'b'"):
        assignment_sql("duckdb", table="t", salt="s", variants={"a": 1, "b": float("nan")})
    with pytest.raises(ParameterError, match="unique"):
        assignment_sql("duckdb", table="t", salt="s", variants=["a", "a"])
    with pytest.raises(ParameterError, match="salt must be a non-empty string"):
        assignment_sql("duckdb", table="t", salt="", variants=["a"])
    with pytest.raises(ParameterError, match="strata"):
        assignment_sql("duckdb", table="t", salt="s", variants=["a"], strata=[1])
    with pytest.raises(ParameterError, match="table"):
        assignment_sql("duckdb", table="a..b", salt="s", variants=["a"])
    with pytest.raises(ParameterError, match="window_days"):
        statistics_sql("duckdb", assigned="a", events="e", send_date="2026-05-01", window_days=-1)
    with pytest.raises(ParameterError, match="event_names has unknown key 'bought'"):
        outcomes_sql("duckdb", assigned="a", events="e", send_date="2026-05-01", event_names={"bought": "x"})


# ------------------------------------------------------------------------------------------------
# issue 12: every identifier through quote_identifier, every literal through quote_literal
# ------------------------------------------------------------------------------------------------
def _hostile_names(tmp_path) -> dict[str, str]:
    """Column names that would each end an unquoted or wrongly quoted identifier and write a file."""
    target = str(tmp_path / "pwned.csv")
    payload = f"COPY (SELECT 42) TO '{target}'"
    return {
        "id_col": f'cid"); {payload}; --',
        "variant_col": f"arm` ; {payload} --",
        "segment_col": f"seg;\n{payload}\n--",
        "event_col": f"ev'); {payload}; /*",
        "time_col": 'ts" -- ',
        "amount_col": "amt]`\"';",
    }


SQL_BUILDERS = {
    "assignment_sql/hash": lambda d, n: assignment_sql(
        d, table="units", salt="s", variants=["a", "b"], id_col=n["id_col"], method="hash",
        variant_col=n["variant_col"],
    ),
    "assignment_sql/block": lambda d, n: assignment_sql(
        d, table="units", salt="s", variants=["a", "b"], id_col=n["id_col"], method="block",
        strata=n["segment_col"], variant_col=n["variant_col"],
    ),
    "outcomes_sql": lambda d, n: outcomes_sql(
        d, assigned="assigned", events="events", send_date="2026-05-01", id_col=n["id_col"],
        event_col=n["event_col"], time_col=n["time_col"], amount_col=n["amount_col"], cast_time=True,
    ),
    "statistics_sql": lambda d, n: statistics_sql(
        d, assigned="assigned", events="events", send_date="2026-05-01", id_col=n["id_col"],
        variant_col=n["variant_col"], segment_col=n["segment_col"], event_col=n["event_col"],
        time_col=n["time_col"], amount_col=n["amount_col"], time_type="aware",
    ),
    "assigned_checks_sql": lambda d, n: assigned_checks_sql(
        d, assigned="assigned", id_col=n["id_col"], variant_col=n["variant_col"], segment_col=n["segment_col"]
    ),
    "unknown_events_sql": lambda d, n: unknown_events_sql(d, events="events", event_col=n["event_col"]),
}


@pytest.mark.parametrize("builder", list(SQL_BUILDERS))
@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_identifier_goes_through_quote_identifier(builder, dialect, tmp_path) -> None:
    """Every occurrence of a hostile name in the SQL is its quoted form (text check, every dialect)."""
    names = _hostile_names(tmp_path)
    if dialect == "bigquery":  # BigQuery cannot quote a backtick or a control character: refused
        try:
            SQL_BUILDERS[builder](dialect, names)
        except ParameterError as exc:
            assert "cannot be quoted for BigQuery" in str(exc)
        else:
            assert builder == "unknown_events_sql"  # its one name holds no backtick
        names = {k: v.replace("`", "'").replace("\n", " ") for k, v in names.items()}
    sql = SQL_BUILDERS[builder](dialect, names)
    for name in sorted(set(names.values()), key=len, reverse=True):
        sql = sql.replace(quote_identifier(name, dialect), "<quoted>")
    assert "COPY" not in sql and "pwned" not in sql, sql


def test_hostile_identifiers_run_in_duckdb_without_side_effects(tmp_path) -> None:
    names = _hostile_names(tmp_path)
    units = pd.DataFrame(
        {names["id_col"]: [f"c{i}" for i in range(40)], names["segment_col"]: ["x", "y"] * 20}
    )
    events = pd.DataFrame(
        {
            names["id_col"]: ["c1", "c2", "c3"],
            names["event_col"]: ["opened", "purchased", "bogus"],
            names["time_col"]: ["2026-05-02 10:00", "2026-05-03T10:00+02:00", "2026-05-02"],
            names["amount_col"]: [None, 12.5, None],
        }
    )
    con = duckdb.connect()
    con.register("units", units)
    for builder in ("assignment_sql/hash", "assignment_sql/block"):
        out = con.execute(SQL_BUILDERS[builder]("duckdb", names)).df()
        ref = assign(
            units, variants=["a", "b"], salt="s", id_col=names["id_col"], strata=names["segment_col"],
            method=builder.split("/")[1], variant_col=names["variant_col"],
        )
        merged = out.merge(ref, on=names["id_col"])
        assert (merged[names["variant_col"] + "_x"] == merged[names["variant_col"] + "_y"]).all()
    assigned = assign(
        units, variants=["a", "b"], salt="s", id_col=names["id_col"], variant_col=names["variant_col"]
    )
    con.register("assigned", assigned)
    con.register("events", events)
    for builder in ("outcomes_sql", "assigned_checks_sql", "unknown_events_sql"):
        con.execute(SQL_BUILDERS[builder]("duckdb", names)).fetchall()
    stats = statistics_sql(
        "duckdb", assigned="assigned", events="events", send_date="2026-05-01", id_col=names["id_col"],
        variant_col=names["variant_col"], segment_col=names["segment_col"], event_col=names["event_col"],
        time_col=names["time_col"], amount_col=names["amount_col"], time_type="text",
    )
    assert sum(row[3] for row in con.execute(stats).fetchall()) == 40  # abkit_n over every cell
    got = con.execute(SQL_BUILDERS["outcomes_sql"]("duckdb", names)).df().set_index(names["id_col"])
    assert bool(got.loc["c1", "opened"]) and float(got.loc["c2", "revenue"]) == 12.5
    assert not (tmp_path / "pwned.csv").exists()
