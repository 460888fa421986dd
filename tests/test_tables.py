"""Tests for abkit.tables: reading CSV (UTF-8, BOM, CP932), Parquet and .xlsx; timestamps; bad rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from abkit.errors import DataError, ParameterError, SourceError
from abkit.tables import local_midnight, read_table, screen_rows, utc_naive


# ------------------------------------------------------------------------------------ read_table
def test_read_table_refuses_missing_empty_and_non_tables(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"events source .*missing.csv does not exist"):
        read_table(tmp_path / "missing.csv", what="events")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(SourceError, match="is empty"):
        read_table(tmp_path / "empty.csv")
    (tmp_path / "header.csv").write_text("customer_id,event\n")
    with pytest.raises(SourceError, match="has no rows"):
        read_table(tmp_path / "header.csv")
    (tmp_path / "junk.parquet").write_bytes(b"this is not parquet")
    with pytest.raises(SourceError, match="is not a readable table"):
        read_table(tmp_path / "junk.parquet")
    (tmp_path / "table.json").write_text("{}")
    with pytest.raises(SourceError, match=r"table.json is not a \.csv, \.parquet or \.xlsx file"):
        read_table(tmp_path / "table.json")
    (tmp_path / "old.xls").write_text("x")
    with pytest.raises(SourceError, match=r"save it as \.xlsx"):
        read_table(tmp_path / "old.xls")


def test_read_table_reads_csv_and_parquet(tmp_path: Path) -> None:
    frame = pd.DataFrame({"customer_id": [1, 2], "amount": [3.5, 4.0]})
    frame.to_csv(tmp_path / "t.csv", index=False)
    frame.to_parquet(tmp_path / "t.parquet", index=False)
    pd.testing.assert_frame_equal(read_table(tmp_path / "t.csv"), frame)
    pd.testing.assert_frame_equal(read_table(tmp_path / "t.parquet"), frame)


def test_a_file_named_like_a_glob_is_read_as_itself(tmp_path: Path) -> None:
    pd.DataFrame({"a": [1]}).to_parquet(tmp_path / "part[1].parquet")
    assert read_table(tmp_path / "part[1].parquet")["a"].tolist() == [1]


TEXT = "会員番号,氏名,購入金額\n0000000003,山田 太郎,1200\n0000000010,佐藤,0\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932"])
def test_csv_encodings_are_detected_and_ids_keep_their_zeros(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes(TEXT.encode(encoding))
    frame = read_table(path, id_cols=["会員番号"])
    assert list(frame.columns) == ["会員番号", "氏名", "購入金額"]  # no BOM left in the first name
    assert frame["会員番号"].tolist() == ["0000000003", "0000000010"]
    assert frame["氏名"].tolist() == ["山田 太郎", "佐藤"]
    assert frame["購入金額"].tolist() == [1200, 0]


def test_a_declared_encoding_wins_and_a_wrong_one_names_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("id,name\n1,Zoë\n".encode("latin-1"))
    assert read_table(path, encoding="latin-1")["name"].tolist() == ["Zoë"]
    path.write_bytes(b"id,name\n1,\x81\xff\xfe\n")
    with pytest.raises(SourceError, match=r"latin.csv is neither UTF-8 nor CP932 .*\[data\] encoding"):
        read_table(path)
    with pytest.raises(SourceError, match=r"cannot be decoded as utf-8 .*fix \[data\] encoding"):
        read_table(path, encoding="utf-8")
    with pytest.raises(ParameterError, match="encoding 'klingon' is not known"):
        read_table(path, encoding="klingon")


def test_xlsx_first_sheet_named_sheet_and_text_ids(tmp_path: Path) -> None:
    path = tmp_path / "export.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        pd.DataFrame({"id": ["0007", "0012"], "visit": [1, 0]}).to_excel(
            writer, sheet_name="結果", index=False
        )
        pd.DataFrame({"id": ["x"], "other": [2]}).to_excel(writer, sheet_name="memo", index=False)
    first = read_table(path, id_cols=["id"])
    assert first["id"].tolist() == ["0007", "0012"] and first["visit"].tolist() == [1, 0]
    assert read_table(path, sheet="memo")["other"].tolist() == [2]
    with pytest.raises(SourceError, match=r"has no sheet 'Sheet9'; its sheets: '結果', 'memo'"):
        read_table(path, sheet="Sheet9")
    (tmp_path / "broken.xlsx").write_bytes(b"not a zip")
    with pytest.raises(SourceError, match=r"is not a readable \.xlsx workbook"):
        read_table(tmp_path / "broken.xlsx")


# ------------------------------------------------------------------------------------ timestamps
def test_jst_timestamps_become_utc_and_offsets_are_kept() -> None:
    s = pd.Series(["2026-06-01 00:30", "2026-06-01T09:00:00+09:00", "2026-05-31T15:00:00Z", "", None, "soon"])
    out = utc_naive(s, timezone="Asia/Tokyo")
    assert out.iloc[:3].tolist() == [
        pd.Timestamp("2026-05-31 15:30"),
        pd.Timestamp("2026-06-01 00:00"),
        pd.Timestamp("2026-05-31 15:00"),
    ]
    assert out.iloc[3:].isna().all()
    aware = pd.Series(pd.to_datetime(["2026-06-01 09:00"]).tz_localize("Asia/Tokyo"))
    assert utc_naive(aware).tolist() == [pd.Timestamp("2026-06-01 00:00")]
    naive = pd.Series(pd.to_datetime(["2026-06-01 09:00"]))
    assert utc_naive(naive, timezone="Asia/Tokyo").tolist() == [pd.Timestamp("2026-06-01 00:00")]
    assert utc_naive(naive).tolist() == [pd.Timestamp("2026-06-01 09:00")]


def test_timestamp_format_reads_day_first_dates() -> None:
    s = pd.Series(["01/06/2026 09:30", "13/06/2026 23:59", "2026-06-01 09:30"])
    out = utc_naive(s, format="%d/%m/%Y %H:%M", timezone="Asia/Tokyo")
    assert out.iloc[0] == pd.Timestamp("2026-06-01 00:30")
    assert out.iloc[1] == pd.Timestamp("2026-06-13 14:59")
    assert pd.isna(out.iloc[2])  # not in the declared format: unparseable, never guessed


def test_local_midnight_and_unknown_time_zones() -> None:
    assert local_midnight(dt.date(2026, 6, 1), "Asia/Tokyo") == pd.Timestamp("2026-05-31 15:00")
    assert local_midnight(dt.date(2026, 6, 1)) == pd.Timestamp("2026-06-01")
    with pytest.raises(ParameterError, match="'Tokyo' is not an IANA time zone"):
        local_midnight(dt.date(2026, 6, 1), "Tokyo")


# ------------------------------------------------------------------------------------ bad rows
def test_screen_rows_counts_drops_and_refuses_above_the_share() -> None:
    frame = pd.DataFrame({"id": [f"c{i}" for i in range(1000)], "amount": np.ones(1000)})
    frame.loc[[5, 7], "amount"] = -1.0
    kept, diag = screen_rows(
        frame,
        {"negative_amount": (frame["amount"] < 0).to_numpy()},
        what="events source e.csv",
        max_share=0.002,
        show=["id", "amount"],
    )
    assert len(kept) == 998 and int(diag.loc[0, "rows"]) == 2
    assert "row 6: id='c5', amount=-1.0" in diag.loc[0, "detail"]
    with pytest.raises(
        DataError,
        match=r"events source e.csv: 2 of 1,000 rows \(0.20%\) are malformed, more than \[data\] "
        r"max_bad_share "
        r"= 0.10%: 2 negative amount \(e.g. row 6: id='c5', amount=-1.0; row 8",
    ):
        screen_rows(
            frame,
            {"negative_amount": frame["amount"] < 0},
            what="events source e.csv",
            max_share=0.001,
            show=["id", "amount"],
        )
