"""read_table: formats, encodings, delimiters, column mapping, provenance, file errors.

Source of truth: tables written by hand (bytes / openpyxl / pyarrow) in each
test; the expected values are the ones written.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from groupeval.base.exceptions import ConfigError, ReadError
from groupeval.io import read_table

ROWS = [("007", "Zoë Café", "3,5"), ("008", "Ana", "4")]


def _write(path, text: str, encoding="utf-8"):
    enc = "utf-8-sig" if encoding == "utf-8-bom" else encoding
    path.write_bytes(text.encode(enc))
    return path


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-bom", "cp1252"])
@pytest.mark.parametrize("delim", [",", ";", "\t", "|"])
def test_csv_encoding_and_delimiter_are_sniffed(tmp_path, encoding, delim):
    text = "\r\n".join([delim.join(["member_id", "note", "score"])] +
                       [delim.join([a, b, f'"{c}"']) for a, b, c in ROWS]) + "\r\n"
    df = read_table(_write(tmp_path / "t.csv", text, encoding))
    assert list(df.columns) == ["member_id", "note", "score", "_source_file", "_source_row"]
    assert df["member_id"].tolist() == ["007", "008"]          # ids keep leading zeros
    assert df["note"].tolist() == ["Zoë Café", "Ana"]           # cp1252 é / ë decoded right
    assert df["score"].astype(str).tolist() == ["3,5", "4"]     # quoted delimiter kept inside the field
    assert df["_source_file"].tolist() == ["t.csv", "t.csv"]
    assert df["_source_row"].tolist() == [2, 3]


def test_cp1252_specific_bytes_come_out_right(tmp_path):
    # 0x80 = €, 0x93/0x94 = curly quotes, 0xE9 = é in Windows-1252; invalid as UTF-8
    p = tmp_path / "w.csv"
    p.write_bytes(b"member_id;note\r\nM1;caf\xe9 \x80 \x93ok\x94\r\n")
    assert read_table(p)["note"].tolist() == ["café € “ok”"]


def test_utf16_excel_unicode_text_is_read(tmp_path):
    p = tmp_path / "u.txt"
    p.write_bytes("member_id\tnote\r\nM1\tñ\r\n".encode("utf-16"))
    df = read_table(p)
    assert df[["member_id", "note"]].values.tolist() == [["M1", "ñ"]]


def test_xlsx_all_sheets_or_one(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "A"
    ws.append(["member_id", "enrolled_on"])
    ws.append([1001, dt.datetime(2025, 3, 2)])
    ws2 = wb.create_sheet("B")
    ws2.append(["member_id", "enrolled_on"])
    ws2.append(["M2", dt.datetime(2025, 3, 9)])
    ws2.append(["M3", dt.datetime(2025, 3, 16)])
    p = tmp_path / "m.xlsx"
    wb.save(p)
    both = read_table(p)
    assert both["member_id"].tolist() == ["1001", "M2", "M3"]   # 1001 stored as a number -> text id
    assert both["_source_file"].tolist() == ["m.xlsx [A]", "m.xlsx [B]", "m.xlsx [B]"]
    assert both["_source_row"].tolist() == [2, 2, 3]
    assert str(both["enrolled_on"].dtype) == "datetime64[ns]"
    one = read_table(p, sheet="B")
    assert one["member_id"].tolist() == ["M2", "M3"]
    with pytest.raises(ConfigError, match=r"(?s)no sheet 'C'.*use one of: 'A', 'B'"):
        read_table(p, sheet="C")


def test_parquet_is_read_with_text_ids(tmp_path):
    p = tmp_path / "m.parquet"
    pq.write_table(pa.table({"member_id": [1, 2], "enrolled_on": pa.array([dt.date(2025, 1, 1)] * 2)}), p)
    df = read_table(p)
    assert df["member_id"].tolist() == ["1", "2"]
    assert str(df["enrolled_on"].dtype) == "datetime64[ns]"
    assert df["_source_row"].tolist() == [2, 3]


def test_columns_mapping_exact_then_case_and_space_insensitive(tmp_path):
    p = _write(tmp_path / "m.csv", "Participant ID,Start  Date\n1,2025-01-01\n")
    df = read_table(p, columns={"Participant ID": "member_id", "start date": "enrolled_on"})
    assert {"member_id", "enrolled_on"} <= set(df.columns)
    assert df["member_id"].tolist() == ["1"]   # mapped to an id column -> read as text


def test_columns_mapping_to_missing_column_lists_available(tmp_path):
    p = _write(tmp_path / "m.csv", "Participant ID,Start\n1,2025-01-01\n")
    with pytest.raises(ConfigError, match=r"(?s)m.csv, column 'Person': columns= names a column the file does not "
                                          r"have.*'Participant ID', 'Start'"):
        read_table(p, columns={"Person": "member_id"})


def test_columns_mapping_onto_an_existing_name_is_refused(tmp_path):
    p = _write(tmp_path / "m.csv", "member_id,Participant ID\n1,2\n")
    with pytest.raises(ConfigError, match=r"(?s)would all be called 'member_id'"):
        read_table(p, columns={"Participant ID": "member_id"})


def test_title_rows_above_header_are_skipped_and_rows_numbered_as_in_excel(tmp_path):
    p = _write(tmp_path / "t.csv", "Tuesday group attendance,,\n,,\nmember_id,group_id,x\nM1,G1,1\n,,\nM2,G1,2\n")
    df = read_table(p)
    assert df["member_id"].tolist() == ["M1", "M2"]
    assert df["_source_row"].tolist() == [4, 6]           # blank row 5 skipped but counted
    assert df.attrs["groupeval_blank_rows"] == 1


def test_multiline_quoted_cell_counts_as_one_spreadsheet_row(tmp_path):
    p = _write(tmp_path / "t.csv", 'member_id,note\nM1,"line one\nline two"\nM2,x\n')
    df = read_table(p)
    assert df["_source_row"].tolist() == [2, 3]
    assert df["note"].tolist()[0] == "line one\nline two"


# ---------------------------------------------------------------- errors

def test_missing_file(tmp_path):
    with pytest.raises(ReadError, match=r"(?s)file not found: .*nope.csv.*the file does not exist"):
        read_table(tmp_path / "nope.csv")


@pytest.mark.parametrize("content", [b"", b"\r\n  \n", b"\xef\xbb\xbf"])
def test_empty_file(tmp_path, content):
    p = tmp_path / "e.csv"
    p.write_bytes(content)
    with pytest.raises(ReadError, match=r"(?s)e.csv is empty.*export the table again"):
        read_table(p)


def test_empty_workbook(tmp_path):
    p = tmp_path / "e.xlsx"
    openpyxl.Workbook().save(p)
    with pytest.raises(ReadError, match=r"(?s)e.xlsx is empty"):
        read_table(p)


@pytest.mark.parametrize("content", ["1001,2025-03-02,1\n1002,2025-03-09,0\n", "7;03/02/2025;0,5\n8;10/02/2025;1\n"])
def test_file_without_header(tmp_path, content):
    p = _write(tmp_path / "n.csv", content)
    with pytest.raises(ReadError, match=r"(?s)n.csv has no header row.*row 1.*holds numbers or dates.*add a first row"):
        read_table(p)


def test_unknown_extension(tmp_path):
    p = _write(tmp_path / "a.sav", "x")
    with pytest.raises(ReadError, match=r"(?s)unknown file type '.sav'.*\.csv, \.tsv, \.txt, \.xlsx"):
        read_table(p)


def test_unreadable_encoding(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_bytes(b"member_id,note\nM1,ok\nM2,\x81\x8d\x90\n")   # undefined in cp1252, invalid UTF-8
    with pytest.raises(ReadError, match=r"(?s)bad.csv has an encoding.*row 3.*0x81.*CSV UTF-8"):
        read_table(p)


def test_binary_file_with_csv_extension(tmp_path):
    p = tmp_path / "bin.csv"
    p.write_bytes(b"PK\x03\x04\x00\x00binary")
    with pytest.raises(ReadError, match=r"(?s)bin.csv is not a text CSV file.*binary data"):
        read_table(p)


def test_duplicated_column_names_listed_with_letters(tmp_path):
    p = _write(tmp_path / "d.csv", "member_id,date,member_id,x,date\n1,2,3,4,5\n")
    with pytest.raises(ReadError, match=r"(?s)duplicated column names \(2 problem\(s\)\).*'member_id'.*columns A, C"
                                        r"[\s\S]*'date'.*columns B, E"):
        read_table(p)


def test_ragged_rows_all_listed(tmp_path):
    p = _write(tmp_path / "r.csv", "a,b,c\n1,2,3\n1,2\n1,2,3\n1,2,3,4\n")
    with pytest.raises(ReadError,
                       match=r"(?s)wrong length \(2 problem\(s\)\)[\s\S]*row 3.*2 fields[\s\S]*row 5.*4 fields"):
        read_table(p)


def test_folder_instead_of_file(tmp_path):
    with pytest.raises(ReadError, match=r"(?s)is a folder, not a file.*groupeval.load"):
        read_table(tmp_path)


def test_corrupt_xlsx(tmp_path):
    p = _write(tmp_path / "c.xlsx", "not a zip")
    with pytest.raises(ReadError, match=r"(?s)c.xlsx cannot be opened as an Excel workbook"):
        read_table(p)


def test_sheet_on_csv_is_a_config_error(tmp_path):
    p = _write(tmp_path / "a.csv", "a,b\n1,2\n")
    with pytest.raises(ConfigError, match=r"(?s)sheet= only applies to Excel"):
        read_table(p, sheet="x")


def test_errors_are_groupeval_errors_not_pandas(tmp_path):
    from groupeval.base.exceptions import GroupevalError
    p = tmp_path / "x.csv"
    p.write_bytes(b"")
    with pytest.raises(GroupevalError):
        read_table(p)
    assert np.issubdtype(read_table(_write(tmp_path / "y.csv", "a\n1\n"))["_source_row"].dtype, np.integer)


def test_columns_mapping_in_a_workbook_applies_to_the_sheets_that_have_the_column(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "G01"
    wb.active.append(["Participant ID", "x"])
    wb.active.append(["M1", 1])
    notes = wb.create_sheet("Notes")
    notes.append(["note", "by"])
    notes.append(["hello", "me"])
    p = tmp_path / "w.xlsx"
    wb.save(p)
    df = read_table(p, columns={"Participant ID": "member_id"})
    assert df["member_id"].tolist()[0] == "M1"
    with pytest.raises(ConfigError, match=r"(?s)column 'Person'.*does not have.*'Participant ID', 'x', 'note', 'by'"):
        read_table(p, columns={"Person": "member_id"})


def test_excel_sep_hint_line(tmp_path):
    p = _write(tmp_path / "s.csv", "sep=;\r\nmember_id;note\r\nM1;a,b\r\n")
    df = read_table(p)
    assert df[["member_id", "note"]].values.tolist() == [["M1", "a,b"]] and df["_source_row"].tolist() == [2]


def test_trailing_delimiters_give_no_phantom_column(tmp_path):
    p = _write(tmp_path / "t.csv", "member_id;group_id;\r\nM1;G1;\r\nM2;G1;\r\n")
    assert [c for c in read_table(p).columns if not c.startswith("_")] == ["member_id", "group_id"]


def test_blank_lines_and_multiline_title_above_header(tmp_path):
    a = read_table(_write(tmp_path / "a.csv", "\n\nmember_id,x\nM1,1\n\nM2,2\n"))
    assert a["member_id"].tolist() == ["M1", "M2"] and a["_source_row"].tolist() == [4, 6]
    b = read_table(_write(tmp_path / "b.csv", 'Title\n"multi\nline title",\nmember_id,x\nM1,1\n'))
    assert b["member_id"].tolist() == ["M1"] and b["_source_row"].tolist() == [4]


# ---------------------------------------------------------------- property: any text survives the round trip

import csv as _csv  # noqa: E402

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_ALPHABET = "abcXYZ ,;|\t\"'éü€-_.\n"
_cell = st.text(alphabet=_ALPHABET, max_size=8).map(lambda s: "k" + s)   # a letter first: stays text


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(_cell, _cell, _cell), min_size=1, max_size=15),
       delim=st.sampled_from([",", ";", "\t", "|"]), enc=st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]))
def test_text_cells_round_trip_through_sniffing(tmp_path_factory, rows, delim, enc):
    p = tmp_path_factory.mktemp("rt") / "t.csv"
    with open(p, "w", encoding=enc, newline="") as fh:
        w = _csv.writer(fh, delimiter=delim, lineterminator="\r\n")
        w.writerow(["member_id", "note", "other"])
        w.writerows(rows)
    df = read_table(p)
    got = [tuple(r) for r in df[["member_id", "note", "other"]].astype(object).itertuples(index=False)]
    assert got == [tuple(r) for r in rows]
    assert df["_source_row"].tolist() == list(range(2, len(rows) + 2))


def test_xlsx_table_not_starting_at_a1_keeps_excel_row_numbers(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["C3"], ws["D3"], ws["C4"], ws["D4"], ws["C6"], ws["D6"] = "member_id", "x", "M1", 1, "M2", 2
    p = tmp_path / "lead.xlsx"
    wb.save(p)
    df = read_table(p)
    assert df[["member_id", "_source_row"]].values.tolist() == [["M1", 4], ["M2", 6]]
    assert [c for c in df.columns if not c.startswith("_")] == ["member_id", "x"]   # empty columns A, B dropped
