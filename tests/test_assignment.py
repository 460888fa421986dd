"""Tests for abkit.assignment: the hash, both methods, persistence, send lists and bad input."""

from __future__ import annotations

import hashlib
import json
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abkit import assignment as A
from abkit.assignment import (
    assign,
    export_send_lists,
    extend_assignment,
    load_assignment,
    save_assignment,
    unit_hash,
)
from abkit.errors import (
    AbkitError,
    ColumnError,
    DataError,
    FileExistsAbkitError,
    ParameterError,
    SourceError,
)

T = 16**15


def ref_hash(salt: str, uid: object) -> int:
    """The issue's formula, written out literally."""
    return int(hashlib.sha256(f"{salt}:{uid}".encode()).hexdigest()[:15], 16)


def units_frame(n: int, *, n_strata: int = 3, seed: int = 0, string_ids: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ids = rng.choice(10 * n + 10, size=n, replace=False).astype(np.int64) + 1
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i:07d}" for i in ids] if string_ids else ids,
            "segment": np.array([f"s{k}" for k in range(n_strata)])[rng.integers(0, n_strata, n)],
            "spend": rng.gamma(2.0, 30.0, n),
        }
    )
    return frame


# ------------------------------------------------------------------------------------------------
# the hash
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_unit_hash_matches_formula_on_hand_written_ids(engine: str) -> None:
    ids = [0, 1, 42, -7, 123456789012345, "C-001", "007", "日本語", "a b", ""]
    got = unit_hash(pd.Series(ids, dtype=object), "winback-2026", _engine=engine)
    assert got.dtype == np.int64
    assert got.tolist() == [ref_hash("winback-2026", i) for i in ids]
    assert all(0 <= v < T for v in got.tolist())


def test_hash_known_value() -> None:
    # digests from coreutils: printf 's:1' | sha256sum ; printf 'winback-2026:C-001' | sha256sum
    assert unit_hash([1], "s")[0] == int("1b25f38c1aa8553", 16)
    assert unit_hash(["C-001"], "winback-2026", _engine="duckdb")[0] == int("af911564f6af732", 16)


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_integer_string_form(engine: str) -> None:
    # integers hash as their base-10 string, whatever the integer dtype
    expected = unit_hash(["5", "-3", "18446744073709551615"], "s", _engine="python")
    assert unit_hash(np.array([5, -3], dtype=np.int64), "s", _engine=engine).tolist() == expected[:2].tolist()
    assert unit_hash(pd.array([5, -3], dtype="Int64"), "s", _engine=engine).tolist() == expected[:2].tolist()
    big = unit_hash(np.array([2**64 - 1], dtype=np.uint64), "s", _engine=engine)
    assert big.tolist() == expected[2:].tolist()


@settings(max_examples=40, deadline=None)
@given(
    ids=st.lists(
        st.one_of(
            st.integers(min_value=-(2**63), max_value=2**63 - 1),
            st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=12),
        ),
        min_size=1,
        max_size=30,
    ),
    salt=st.text(alphabet=st.characters(exclude_categories=("Cs",)), min_size=1, max_size=10),
)
def test_duckdb_and_python_hashes_identical(ids: list, salt: str) -> None:
    series = pd.Series(ids, dtype=object)
    py = unit_hash(series, salt, _engine="python")
    db = unit_hash(series, salt, _engine="duckdb")
    assert py.tolist() == db.tolist() == [ref_hash(salt, i) for i in ids]


@pytest.mark.parametrize("method", ["block", "hash"])
@pytest.mark.parametrize("string_ids", [False, True])
def test_duckdb_and_python_splits_identical(method: str, string_ids: bool) -> None:
    units = units_frame(3000, n_strata=4, string_ids=string_ids, seed=3)
    kw = {"variants": {"a": 1, "b": 2, "holdout": 1.5}, "salt": "x", "strata": "segment", "method": method}
    py = assign(units, **kw, _engine="python")
    db = assign(units, **kw, _engine="duckdb")
    pd.testing.assert_frame_equal(py, db)


@pytest.mark.parametrize("strata", [None, "segment", ["segment", "tier"], "tier"])
def test_duckdb_cell_path_gives_the_python_split(strata, monkeypatch: pytest.MonkeyPatch) -> None:
    # dense unique integer ids: DuckDB returns only each unit's (stratum, top bits of h) cell, string
    # strata are coded inside the query ("tier" is an integer column: coded in Python); the units of
    # the cells that straddle a run boundary are re-hashed by hashlib. The split must be the same.
    rng = np.random.default_rng(21)
    n = 40_000
    units = pd.DataFrame(
        {
            "customer_id": rng.permutation(n).astype(np.int64) + 500,
            "segment": pd.Series(rng.choice(["hv", "o'ne", "other", "x|y"], n), dtype="str"),
            "tier": rng.integers(0, 3, n),
        }
    )
    calls = []
    original = A._block_codes_duckdb
    monkeypatch.setattr(A, "_block_codes_duckdb", lambda *a, **k: calls.append(r := original(*a, **k)) or r)
    kw = {"variants": {"a": 1, "b": 2, "holdout": 1.5}, "salt": "cells", "strata": strata}
    db = assign(units, **kw, _engine="duckdb")
    assert len(calls) == 1 and calls[0] is not None  # the cell path ran
    py = assign(units, **kw, _engine="python")
    pd.testing.assert_frame_equal(py, db)


# ------------------------------------------------------------------------------------------------
# method="hash"
# ------------------------------------------------------------------------------------------------
def test_hash_method_follows_definition() -> None:
    units = units_frame(4000, seed=1)
    weights = {"a": 0.5, "b": 0.3, "c": 0.2}
    out = assign(units, variants=weights, salt="def", method="hash")
    cum = np.cumsum([Fraction(w) for w in weights.values()])
    expected = []
    for uid in units["customer_id"]:
        u = Fraction(ref_hash("def", uid), T)
        expected.append(next(name for name, c in zip(weights, cum, strict=True) if c > u))
    assert out["variant"].tolist() == expected


def test_hash_method_stable_under_growth() -> None:
    units = units_frame(5000, seed=2)
    first = assign(units.iloc[:3000], variants=["a", "b", "c"], salt="grow", method="hash")
    both = assign(units, variants=["a", "b", "c"], salt="grow", method="hash")
    pd.testing.assert_frame_equal(both.iloc[:3000], first)


# ------------------------------------------------------------------------------------------------
# method="block"
# ------------------------------------------------------------------------------------------------
def test_block_runs_follow_hash_order() -> None:
    units = units_frame(2000, n_strata=3, seed=4)
    names = ["a", "b", "c", "holdout"]
    out = assign(units, variants=dict(zip(names, [1, 1, 1, 2], strict=True)), salt="runs", strata="segment")
    out["h"] = [ref_hash("runs", i) for i in out["customer_id"]]
    for _, part in out.groupby("segment"):
        codes = part.sort_values(["h", "customer_id"])["variant"].map(names.index).to_numpy()
        assert np.all(np.diff(codes) >= 0), "variants must be consecutive runs in (h, id) order"


def test_block_counts_exact_and_unbiased_leftovers() -> None:
    ints, total = A._integer_weights([Fraction(1, 2), Fraction(3, 10), Fraction(1, 5)])
    n = 7  # quotas 3.5, 2.1, 1.4: leftovers 1 unit with inclusion probabilities 0.5, 0.1, 0.4
    starts = [k * T // 1000 for k in range(1000)]
    counts = np.array([A._block_counts(n, ints, total, s) for s in starts])
    assert (counts.sum(axis=1) == n).all()
    assert (np.abs(counts - n * np.array([0.5, 0.3, 0.2])) < 1).all()
    # systematic sampling: inclusion probability of each leftover equals its fractional part
    np.testing.assert_allclose(counts.mean(axis=0), [3.5, 2.1, 1.4], atol=1e-3)


def test_many_small_strata_add_up_to_the_weights() -> None:
    rng = np.random.default_rng(5)
    sizes = rng.integers(1, 4, 10_000)
    units = pd.DataFrame(
        {"customer_id": np.arange(sizes.sum()), "segment": np.repeat(np.arange(10_000), sizes).astype(str)}
    )
    weights = np.array([0.5, 0.3, 0.2])
    out = assign(units, variants=dict(zip("abc", weights, strict=True)), salt="small", strata="segment")
    totals = out["variant"].value_counts().reindex(list("abc")).to_numpy()
    quotas = np.outer(sizes, weights)
    frac = quotas - np.floor(quotas)
    sd = np.sqrt((frac * (1 - frac)).sum(axis=0))
    # largest remainder would give every size-1 stratum to "a" (about +1,300 units); this stays within 4.5 sd
    assert (np.abs(totals - sizes.sum() * weights) < 4.5 * sd).all(), (totals, sizes.sum() * weights, sd)


def test_block_ties_in_hash_are_broken_by_id() -> None:
    h = np.array([5, 3, 3, 3, 9, 1, 3], dtype=np.int64)
    ids = A._prepare_ids(pd.Series(["g", "b", "a", "d", "c", "e", "f"]), "ids")
    strata = np.zeros(7, dtype=np.int64)
    counts = np.array([[2, 2, 3]])
    got = A._block_codes(h, strata, counts, ids)
    order = np.lexsort((np.array(["g", "b", "a", "d", "c", "e", "f"]), h))  # by (h, id)
    expected = np.empty(7, dtype=np.int64)
    expected[order] = [0, 0, 1, 1, 2, 2, 2]
    assert got.tolist() == expected.tolist()


@pytest.mark.parametrize("bucket_bits", [None, 0, 1, 3, 8])
def test_block_code_paths_agree_with_exact_sort(bucket_bits: int | None) -> None:
    # few distinct h values force many ties; whatever the histogram's resolution (0 bits: every unit
    # is ordered exactly; 8 bits: most units come from the look-up table) it equals a plain (h, id) sort
    rng = np.random.default_rng(13)
    n, n_strata, k = 400, 6, 3
    h = rng.integers(0, 12, n).astype(np.int64) * (T // 13)
    names = np.array([f"id{i:04d}" for i in rng.permutation(n)])
    strata = rng.integers(0, n_strata, n).astype(np.int64)
    sizes = np.bincount(strata, minlength=n_strata)
    counts = np.array([[sz // 3, sz // 3, sz - 2 * (sz // 3)] for sz in sizes])
    got = A._block_codes(h, strata, counts, A._prepare_ids(pd.Series(names), "ids"), bucket_bits=bucket_bits)
    for s in range(n_strata):
        rows = np.flatnonzero(strata == s)
        ordered = rows[np.lexsort((names[rows], h[rows]))]
        assert got[ordered].tolist() == np.repeat(np.arange(k), counts[s]).tolist()


def test_many_variants_and_single_variant() -> None:
    units = units_frame(500, seed=6)
    out = assign(units, variants=[f"v{i}" for i in range(12)], salt="k")
    assert out["variant"].value_counts().between(41, 42).all()
    one = assign(units, variants=["only"], salt="k", strata="segment")
    assert (one["variant"] == "only").all()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(min_value=0, max_value=120),
    n_strata=st.integers(min_value=1, max_value=5),
    weights=st.lists(st.sampled_from([0.1, 0.25, 1, 1.5, 2, 3, 7]), min_size=1, max_size=5),
    seed=st.integers(min_value=0, max_value=10_000),
    string_ids=st.booleans(),
    method=st.sampled_from(["block", "hash"]),
)
def test_property_order_independence_and_exact_counts(
    n: int, n_strata: int, weights: list, seed: int, string_ids: bool, method: str
) -> None:
    units = units_frame(n, n_strata=n_strata, seed=seed, string_ids=string_ids)
    variants = {f"v{i}": w for i, w in enumerate(weights)}
    out = assign(units, variants=variants, salt=f"p{seed}", strata="segment", method=method)
    shuffled = units.sample(frac=1.0, random_state=seed)
    out2 = assign(shuffled, variants=variants, salt=f"p{seed}", strata="segment", method=method)
    assert out2.index.equals(shuffled.index)
    pd.testing.assert_series_equal(out2["variant"].loc[out.index], out["variant"])
    if method == "block":
        total = sum(Fraction(w) for w in weights)
        for _, part in out.groupby("segment"):
            counts = part["variant"].value_counts()
            for name, w in variants.items():
                quota = len(part) * Fraction(w) / total
                assert abs(int(counts.get(name, 0)) - quota) < 1


@pytest.mark.parametrize("method", ["block", "hash"])
def test_two_salts_give_independent_splits(method: str) -> None:
    units = units_frame(20_000, n_strata=2, seed=7)
    a = assign(units, variants=["x", "y", "z", "w"], salt="one", strata="segment", method=method)
    b = assign(units, variants=["x", "y", "z", "w"], salt="two", strata="segment", method=method)
    agree = (a["variant"] == b["variant"]).mean()
    assert abs(agree - 0.25) < 4 * math.sqrt(0.25 * 0.75 / 20_000)
    table = pd.crosstab(a["variant"], b["variant"])
    from scipy.stats import chi2_contingency

    assert chi2_contingency(table).pvalue > 1e-4


def test_result_keeps_rows_columns_and_index() -> None:
    units = units_frame(300, seed=8).set_index(pd.Index(np.arange(300)[::-1] * 3, name="row"))
    before = units.copy()
    out = assign(units, variants={"coupon": 2, "holdout": 1}, salt="keep", strata=["segment"])
    assert list(out.columns) == [*units.columns, "variant"]
    assert out.index.equals(units.index)
    pd.testing.assert_frame_equal(out.drop(columns="variant"), units)
    pd.testing.assert_frame_equal(units, before)  # the input is untouched
    assert pd.api.types.is_string_dtype(out["variant"])
    again = assign(units, variants={"coupon": 2, "holdout": 1}, salt="keep", strata=["segment"])
    pd.testing.assert_frame_equal(out, again)  # determinism


def test_two_strata_columns() -> None:
    units = units_frame(600, seed=9)
    units["channel"] = np.where(np.arange(600) % 3 == 0, "mail", "email")
    out = assign(units, variants=["a", "b"], salt="two", strata=["segment", "channel"])
    sizes = out.groupby(["segment", "channel", "variant"]).size().unstack()
    assert (sizes.sub(sizes.sum(axis=1) / 2, axis=0).abs() <= 0.5).all().all()


def test_empty_units() -> None:
    out = assign(units_frame(0), variants=["a", "b"], salt="e", strata="segment")
    assert len(out) == 0 and "variant" in out.columns


# ------------------------------------------------------------------------------------------------
# bad input
# ------------------------------------------------------------------------------------------------
def test_bad_input_duplicate_ids() -> None:
    units = pd.DataFrame({"customer_id": [1, 2, 2, 3]})
    with pytest.raises(DataError, match=r"customer_id.*duplicated.*\[2\]"):
        assign(units, variants=["a", "b"], salt="s")
    mixed = pd.DataFrame({"customer_id": pd.Series([1, "1", 2], dtype=object)})
    with pytest.raises(DataError, match="string form"):
        assign(mixed, variants=["a", "b"], salt="s")
    big = pd.DataFrame({"customer_id": np.r_[np.arange(150_000), [10, 10**12]]})
    with pytest.raises(DataError, match=r"duplicated id.*\[10\]"):
        assign(big, variants=["a", "b"], salt="s")


def test_bad_input_null_ids() -> None:
    units = pd.DataFrame({"customer_id": ["a", None, "c"]})
    with pytest.raises(DataError, match=r"'customer_id'.*1 null id"):
        assign(units, variants=["a", "b"], salt="s")
    with pytest.raises(DataError, match="null id"):
        assign(pd.DataFrame({"customer_id": pd.array([1, None], dtype="Int64")}), variants=["a"], salt="s")


def test_bad_input_float_and_bool_ids() -> None:
    with pytest.raises(DataError, match=r"float ids.*int64 or to str"):
        assign(pd.DataFrame({"customer_id": [1.0, 2.0]}), variants=["a"], salt="s")
    with pytest.raises(DataError, match="boolean ids"):
        assign(pd.DataFrame({"customer_id": [True, False]}), variants=["a"], salt="s")


def test_bad_input_missing_columns() -> None:
    units = units_frame(10)
    with pytest.raises(ColumnError, match="'user_id'"):
        assign(units, variants=["a"], salt="s", id_col="user_id")
    with pytest.raises(ColumnError, match="'region'"):
        assign(units, variants=["a"], salt="s", strata="region")
    with pytest.raises(ColumnError, match="already has a 'variant'"):
        assign(units.assign(variant="x"), variants=["a"], salt="s")


def test_bad_input_null_stratum() -> None:
    units = units_frame(5)
    units.loc[2, "segment"] = None
    with pytest.raises(DataError, match="stratum column 'segment' has 1 null"):
        assign(units, variants=["a"], salt="s", strata="segment")


@pytest.mark.parametrize(
    ("variants", "pattern"),
    [
        ({"a": 1, "b": 0}, r"variants\['b'\] weight is 0"),
        ({"a": 1, "b": -2}, r"variants\['b'\] weight is -2"),
        ({"a": 1, "b": float("nan")}, r"variants\['b'\] weight is nan"),
        ({"a": 1, "b": None}, r"variants\['b'\] weight is missing"),
        ({"a": 1, "b": "2"}, r"variants\['b'\] weight is missing or not a number"),
        ({}, "variants is empty"),
        ([], "variants is empty"),
        (["a", "a"], "'a' is given twice"),
        ("ab", "mapping name -> weight"),
        ({1: 1}, "non-empty strings"),
    ],
)
def test_bad_input_weights(variants: object, pattern: str) -> None:
    with pytest.raises(ParameterError, match=pattern):
        assign(units_frame(5), variants=variants, salt="s")  # type: ignore[arg-type]


def test_bad_input_method_salt_units() -> None:
    with pytest.raises(ParameterError, match="method='random' is not known"):
        assign(units_frame(5), variants=["a"], salt="s", method="random")
    with pytest.raises(ParameterError, match="salt is empty"):
        assign(units_frame(5), variants=["a"], salt="")
    with pytest.raises(ParameterError, match="salt must be a non-empty string"):
        assign(units_frame(5), variants=["a"], salt=42)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="units must be a pandas DataFrame"):
        assign([1, 2], variants=["a"], salt="s")  # type: ignore[arg-type]
    assert issubclass(ParameterError, AbkitError)


# ------------------------------------------------------------------------------------------------
# persistence
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_save_load_round_trip(tmp_path: Path, suffix: str) -> None:
    units = units_frame(400, string_ids=True, seed=10)
    units["customer_id"] = units["customer_id"].str.replace("C", "0")  # ids like "0001234" must stay strings
    weights = {"coupon": 1, "message": 1, "holdout": 0.5}
    out = assign(units, variants=weights, salt="save", strata="segment")
    path = save_assignment(
        out, tmp_path / f"split{suffix}", salt="save", method="block", weights=weights, strata="segment"
    )
    frame, meta = load_assignment(path)
    pd.testing.assert_frame_equal(frame, out, check_dtype=False, check_exact=False)
    assert frame["customer_id"].tolist() == out["customer_id"].tolist()
    assert meta["salt"] == "save" and meta["method"] == "block" and meta["strata"] == ["segment"]
    assert meta["weights"] == weights and meta["n_rows"] == 400 and meta["id_kind"] == "string"
    assert meta["counts"] == out["variant"].value_counts().to_dict() | {}
    assert meta["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert meta["created_at"].endswith("+00:00")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, path.name + ".meta.json"])


def test_load_detects_tampering(tmp_path: Path) -> None:
    out = assign(units_frame(50), variants=["a", "b"], salt="t")
    path = save_assignment(out, tmp_path / "s.csv", salt="t", method="block", weights=["a", "b"])
    text = path.read_text()
    path.write_text(text.replace(",a\n", ",b\n", 1))
    with pytest.raises(DataError, match=r"modified after it was saved"):
        load_assignment(path)


def test_save_refuses_overwrite(tmp_path: Path) -> None:
    out = assign(units_frame(20), variants=["a", "b"], salt="t")
    path = save_assignment(out, tmp_path / "s.parquet", salt="t", method="block", weights=["a", "b"])
    before = path.read_bytes()
    with pytest.raises(FileExistsAbkitError, match=r"s\.parquet.*overwrite=True"):
        save_assignment(out.iloc[:5], path, salt="t", method="block", weights=["a", "b"])
    assert path.read_bytes() == before
    save_assignment(out.iloc[:5], path, salt="t", method="block", weights=["a", "b"], overwrite=True)
    assert len(load_assignment(path).frame) == 5


def test_save_is_atomic_on_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = assign(units_frame(20), variants=["a", "b"], salt="t")

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", boom)
    with pytest.raises(OSError, match="disk full"):
        save_assignment(out, tmp_path / "s.csv", salt="t", method="block", weights=["a", "b"])
    assert list(tmp_path.iterdir()) == []


def test_save_and_load_bad_input(tmp_path: Path) -> None:
    out = assign(units_frame(20), variants=["a", "b"], salt="t")
    with pytest.raises(ParameterError, match=r"\.csv or \.parquet"):
        save_assignment(out, tmp_path / "s.xlsx", salt="t", method="block", weights=["a", "b"])
    with pytest.raises(DataError, match=r"variant\(s\) \['b'\] that are not in weights"):
        save_assignment(out, tmp_path / "s.csv", salt="t", method="block", weights=["a", "c"])
    with pytest.raises(ParameterError, match="salt is empty"):
        save_assignment(out, tmp_path / "s.csv", salt="", method="block", weights=["a", "b"])
    with pytest.raises(ColumnError, match="'variant'"):
        save_assignment(
            out.drop(columns="variant"), tmp_path / "s.csv", salt="t", method="block", weights=["a"]
        )
    with pytest.raises(SourceError, match="does not exist"):
        load_assignment(tmp_path / "none.csv")
    (tmp_path / "orphan.csv").write_text("customer_id,variant\n1,a\n")
    with pytest.raises(SourceError, match="metadata"):
        load_assignment(tmp_path / "orphan.csv")


def test_extend_hash_assignment(tmp_path: Path) -> None:
    units = units_frame(3000, seed=11)
    first = assign(units.iloc[:2000], variants={"a": 2, "b": 1}, salt="ext", method="hash")
    path = save_assignment(first, tmp_path / "h.csv", salt="ext", method="hash", weights={"a": 2, "b": 1})
    frame, meta = extend_assignment(path, units.iloc[2000:])
    expected = assign(units, variants={"a": 2, "b": 1}, salt="ext", method="hash").reset_index(drop=True)
    pd.testing.assert_frame_equal(frame, expected, check_exact=False)
    pd.testing.assert_frame_equal(frame.iloc[:2000], first, check_exact=False)
    assert meta["n_rows"] == 3000 and meta["history"][0]["added"] == 1000
    assert meta["created_at"] == json.loads((tmp_path / "h.csv.meta.json").read_text())["created_at"]
    with pytest.raises(DataError, match=r"already assigned.*existing='skip'"):
        extend_assignment(path, units.iloc[2990:])
    frame2, meta2 = extend_assignment(path, units.iloc[2990:], existing="skip")
    assert len(frame2) == 3000 and meta2["n_rows"] == 3000
    new = pd.DataFrame({"customer_id": [10**9], "segment": ["s0"], "spend": [1.0]})
    frame3, meta3 = extend_assignment(path, pd.concat([units.iloc[:3], new]), existing="skip")
    assert len(frame3) == 3001 and meta3["history"][-1] == meta3["history"][-1] | {
        "added": 1,
        "skipped_existing": 3,
    }
    with pytest.raises(ColumnError, match=r"missing \['spend'\]"):
        extend_assignment(path, new.drop(columns="spend"))


def test_extend_refuses_block(tmp_path: Path) -> None:
    out = assign(units_frame(20), variants=["a", "b"], salt="t")
    path = save_assignment(out, tmp_path / "b.csv", salt="t", method="block", weights=["a", "b"])
    with pytest.raises(ParameterError, match=r"method='block'.*only method='hash'"):
        extend_assignment(path, units_frame(5, seed=99))


def test_export_send_lists(tmp_path: Path) -> None:
    units = units_frame(500, seed=12)
    out = assign(units, variants={"coupon": 1, "message": 1, "holdout": 1}, salt="send", strata="segment")
    table = export_send_lists(out, tmp_path / "lists", contact_variants=["coupon", "message"])
    assert table["variant"].tolist() == ["coupon", "message"]
    assert sorted(p.name for p in (tmp_path / "lists").iterdir()) == [
        "send_list_coupon.csv",
        "send_list_message.csv",
    ]
    for row in table.itertuples():
        sent = pd.read_csv(row.path)
        assert list(sent.columns) == ["customer_id", "variant", "segment"]
        assert (sent["variant"] == row.variant).all() and len(sent) == row.n
        assert set(sent["customer_id"]) == set(out.loc[out["variant"] == row.variant, "customer_id"])
    assert table["n"].sum() == (out["variant"] != "holdout").sum()
    with pytest.raises(FileExistsAbkitError, match=r"send_list_coupon\.csv"):
        export_send_lists(out, tmp_path / "lists", contact_variants=["coupon"])
    export_send_lists(out, tmp_path / "lists", contact_variants=["coupon"], overwrite=True)
    with pytest.raises(ParameterError, match=r"\['coupn'\] are not variants"):
        export_send_lists(out, tmp_path / "x", contact_variants=["coupn"])
    with pytest.raises(ParameterError, match="non-empty list"):
        export_send_lists(out, tmp_path / "x", contact_variants=[])
    with pytest.raises(ColumnError, match="'segment'"):
        export_send_lists(out.drop(columns="segment"), tmp_path / "x", contact_variants=["coupon"])
    no_seg = export_send_lists(
        out.drop(columns="segment"), tmp_path / "y", contact_variants=["coupon"], segment_col=None
    )
    assert list(pd.read_csv(no_seg["path"][0]).columns) == ["customer_id", "variant"]
    with pytest.raises(DataError, match="duplicated"):
        export_send_lists(pd.concat([out, out.iloc[:1]]), tmp_path / "z", contact_variants=["coupon"])


def _edit_meta(path: Path, **changes: object) -> dict:
    meta_path = path.with_name(path.name + ".meta.json")
    meta = json.loads(meta_path.read_text())
    for key, value in changes.items():
        if value is None:
            meta.pop(key, None)
        else:
            meta[key] = value
    meta_path.write_text(json.dumps(meta, indent=2))
    return meta


@pytest.mark.parametrize(
    "changes",
    [
        {"salt": "another-salt"},
        {"method": "hash"},
        {"weights": {"a": 3, "b": 1}},
        {"strata": []},
        {"counts": {"a": 1, "b": 99}},
    ],
)
def test_load_detects_metadata_tampering(tmp_path: Path, changes: dict) -> None:
    """Issue 12: the metadata is inside the integrity check (salt guard, block-vs-hash, weights)."""
    units = units_frame(60).assign(segment=["x", "y", "z"] * 20)
    out = assign(units, variants=["a", "b"], salt="t", strata="segment")
    path = save_assignment(
        out, tmp_path / "s.parquet", salt="t", method="block", weights=["a", "b"], strata="segment"
    )
    assert load_assignment(path).metadata["metadata_sha256"]
    _edit_meta(path, **changes)
    with pytest.raises(DataError, match=r"s\.parquet\.meta\.json' was modified after it was saved"):
        load_assignment(path)
    # a block assignment whose method was edited to "hash" cannot be extended either
    if changes == {"method": "hash"}:
        with pytest.raises(DataError, match="modified after it was saved"):
            extend_assignment(path, units_frame(3).assign(customer_id=["n1", "n2", "n3"], segment="x"))


def test_metadata_without_checksum_must_reproduce_the_assignment(tmp_path: Path) -> None:
    """Assignments saved before the metadata checksum load if (and only if) the metadata reproduces them."""
    units = units_frame(80).assign(segment=["x", "y"] * 40)
    for method in ("block", "hash"):
        out = assign(units, variants={"a": 1, "b": 2}, salt="t", strata="segment", method=method)
        path = save_assignment(
            out.sample(frac=1, random_state=1),  # row order must not matter
            tmp_path / f"{method}.csv",
            salt="t",
            method=method,
            weights={"a": 1, "b": 2},
            strata="segment",
        )
        _edit_meta(path, metadata_sha256=None, schema=1)  # as the previous version wrote it
        assert load_assignment(path).metadata["salt"] == "t"
        for changes in ({"salt": "t2"}, {"method": "block" if method == "hash" else "hash"}):
            meta = _edit_meta(path, **changes)
            with pytest.raises(DataError, match="do not reproduce the saved variants"):
                load_assignment(path)
            _edit_meta(path, **{k: ("t" if k == "salt" else method) for k in changes})
        assert "metadata_sha256" not in meta
        assert load_assignment(path).metadata["method"] == method
