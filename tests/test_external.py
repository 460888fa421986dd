"""Tests for abkit.external: an exported split checked into abkit's assignment, and row-number ids."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from abkit.assignment import EXTERNAL, load_assignment, save_assignment
from abkit.errors import ColumnError, DataError, ParameterError
from abkit.external import (
    attach_row_ids,
    external_assignment,
    file_sha256,
    parse_mapping,
    row_ids,
    uses_row_ids,
)

SPEC = ["No E-Mail", "Mens E-Mail", "Womens E-Mail"]


def export(n: int = 9) -> pd.DataFrame:
    arms = [SPEC[i % 3] for i in range(n)]
    return pd.DataFrame({"cid": [f"{i:05d}" for i in range(n)], "segment": arms, "zone": ["Urban"] * n})


def test_row_ids_are_text_row_numbers_from_one() -> None:
    frame = pd.DataFrame({"visit": [0, 1, 1]}, index=[10, 11, 12])
    ids = row_ids(frame)
    assert ids.tolist() == ["1", "2", "3"] and ids.index.tolist() == [10, 11, 12]
    assert row_ids(2).tolist() == ["1", "2"] and row_ids(0).tolist() == []
    with pytest.raises(ParameterError):
        row_ids(-1)


def test_parse_mapping_takes_names_with_spaces_and_refuses_bad_pairs() -> None:
    assert parse_mapping(["No E-Mail=holdout", "a=b=c"]) == {"No E-Mail": "holdout", "a": "b=c"}
    for bad in (["holdout"], ["=x"], ["x="]):
        with pytest.raises(ParameterError, match="OLD=NEW"):
            parse_mapping(bad)
    with pytest.raises(ParameterError, match="twice"):
        parse_mapping(["a=b", "a=c"])


def test_an_export_becomes_the_assignment_with_text_ids_and_segments() -> None:
    out = external_assignment(
        export(), variants=SPEC, variant_col="segment", id_col="cid", segment_col="zone"
    )
    assert list(out.columns) == ["customer_id", "variant", "segment"]
    assert out["customer_id"].iloc[0] == "00000"  # leading zeros kept
    assert out["variant"].value_counts().to_dict() == {v: 3 for v in SPEC}
    numeric = export().assign(cid=range(9))
    assert external_assignment(numeric, variants=SPEC, variant_col="segment", id_col="cid")[
        "customer_id"
    ].tolist()[:2] == ["0", "1"]


def test_without_an_id_column_the_row_number_is_the_id() -> None:
    out = external_assignment(
        export(4).drop(columns="cid"), variants=SPEC, variant_col="segment", id_name="uid"
    )
    assert out["uid"].tolist() == ["1", "2", "3", "4"]


def test_map_renames_arms_and_unknown_old_names_are_refused() -> None:
    mapping = {"No E-Mail": "holdout"}
    out = external_assignment(
        export(), variants=["holdout", *SPEC[1:]], variant_col="segment", id_col="cid", mapping=mapping
    )
    assert set(out["variant"]) == {"holdout", "Mens E-Mail", "Womens E-Mail"}
    with pytest.raises(ParameterError, match=r"--map 'No Email'='holdout'.*did you mean 'No E-Mail'"):
        external_assignment(export(), variants=SPEC, variant_col="segment", mapping={"No Email": "holdout"})


@pytest.mark.parametrize(
    ("change", "kwargs", "error", "message"),
    [
        (None, {"variant_col": "arm"}, ColumnError, r"no column 'arm' \(--variant-col\).*columns: 'cid'"),
        (None, {"id_col": "id"}, ColumnError, r"no column 'id' \(--id-col\)"),
        (None, {"segment_col": "zne"}, ColumnError, r"'zne' \(--segment-col\) \(did you mean 'zone'\?\)"),
        ({"cid": "00001"}, {}, DataError, r"column 'cid' \(--id-col\) repeats 1 id\(s\), e.g. \['00001'\]"),
        ({"cid": None}, {}, DataError, r"'cid' \(--id-col\) has 1 empty id"),
        (
            {"segment": None},
            {},
            DataError,
            r"'segment' \(--variant-col\) is empty in 1 row\(s\) \(rows \[1\]\)",
        ),
        ({"segment": "Mens Email"}, {}, DataError, r"holds 'Mens Email' \(1 rows\), not a variant.*--map"),
    ],
    ids=[
        "no variant column",
        "no id column",
        "no segment column",
        "duplicate id",
        "empty id",
        "empty arm",
        "unknown arm",
    ],
)
def test_every_check_names_the_column_and_the_values(
    change: dict[str, object] | None, kwargs: dict[str, str], error: type, message: str
) -> None:
    frame = export()
    if change:
        for column, value in change.items():
            frame.loc[0, column] = value
    args = {"variants": SPEC, "variant_col": "segment", "id_col": "cid", **kwargs}
    with pytest.raises(error, match=message):
        external_assignment(frame, **args)


def test_a_variant_of_the_spec_without_rows_is_refused() -> None:
    two = export().loc[lambda f: f["segment"] != "No E-Mail"]
    with pytest.raises(DataError, match=r"variant\(s\) 'No E-Mail' of the spec have no row"):
        external_assignment(two, variants=SPEC, variant_col="segment", id_col="cid")


def test_row_ids_attach_only_to_the_table_that_was_imported() -> None:
    meta = {"n_rows": 3, "source": {"ids": "row number", "file": "campaign.csv"}}
    assert uses_row_ids(meta) and not uses_row_ids({"source": {"ids": "column cid"}})
    frame = pd.DataFrame({"visit": [1, 0, 1]})
    assert attach_row_ids(frame, meta, id_col="customer_id")["customer_id"].tolist() == ["1", "2", "3"]
    with pytest.raises(DataError, match=r"has 2 rows but .* campaign.csv with 3 rows"):
        attach_row_ids(frame.head(2), meta, id_col="customer_id")
    with pytest.raises(ParameterError, match="not imported with row-number ids"):
        attach_row_ids(frame, {"n_rows": 3}, id_col="customer_id")


def test_an_external_assignment_is_saved_without_salt_and_with_its_source(tmp_path: Path) -> None:
    frame = external_assignment(export(), variants=SPEC, variant_col="segment", id_col="cid")
    source = {"file": "split.csv", "sha256": "ab" * 32}
    path = save_assignment(
        frame, tmp_path / "a.parquet", salt=None, method=EXTERNAL, weights=SPEC, source=source
    )
    loaded = load_assignment(path)
    assert loaded.metadata["method"] == "external" and loaded.metadata["salt"] is None
    assert loaded.metadata["source"] == source and loaded.metadata["hash"] is None
    assert loaded.frame["customer_id"].iloc[0] == "00000"
    with pytest.raises(ParameterError, match="salt must be None"):
        save_assignment(frame, tmp_path / "b.csv", salt="s", method=EXTERNAL, weights=SPEC, source=source)
    with pytest.raises(ParameterError, match="needs source"):
        save_assignment(frame, tmp_path / "b.csv", salt=None, method=EXTERNAL, weights=SPEC)
    with pytest.raises(ParameterError, match="salt"):
        save_assignment(frame, tmp_path / "b.csv", salt=None, method="block", weights=SPEC)


def test_file_sha256_is_the_digest_of_the_bytes(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    p.write_bytes(b"abc")
    assert file_sha256(p) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
