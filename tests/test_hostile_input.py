"""Careless and hostile input (issue 10 item 6): every case reads correctly or fails with a clear error.

Each test builds the malformed file by hand (csv / openpyxl / pyarrow / zipfile), so what must come out is
known without groupeval.
"""
from __future__ import annotations

import datetime as dt
import warnings
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import groupeval as ge
from _helpers_validation import TODAY, base_programme, write
from groupeval.base.identifiers import find_identifier_columns
from groupeval.io import _csv, _excel, read_attendance, read_survey, read_table


def _quiet(fn, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*a, **k)


def _quality(ds, text):
    q = ds.quality.to_frame()
    return q[q["reason"].str.contains(text, regex=False)]


# ------------------------------------------------------------------ dates pandas cannot hold

@pytest.mark.parametrize("value", ["3025-01-06", "1500-01-01"])
def test_date_outside_the_ns_range_in_a_csv_names_file_row_column(tmp_path, value):
    p = tmp_path / "members.csv"
    p.write_text(f"member_id,group_id,enrolled_on\nM1,G1,2025-01-06\nM2,G1,{value}\n")
    with pytest.raises(ge.ReadError, match=rf"members\.csv, row 3, column 'enrolled_on': the date is outside the "
                                           rf"years groupeval can hold.*{value}"):
        read_table(p)


def test_date_outside_the_ns_range_in_parquet(tmp_path):
    p = tmp_path / "att.parquet"
    pq.write_table(pa.table({"member_id": ["M1", "M2", "M3"], "group_id": ["G1"] * 3,
                             "session_date": pa.array([dt.date(2025, 1, 6), dt.date(2025, 1, 13),
                                                       dt.date(3025, 1, 6)]), "status": ["P", "A", "P"]}), p)
    with pytest.raises(ge.ReadError, match=r"att\.parquet, row 4, column 'session_date'.*3025-01-06"):
        read_attendance(p)


def test_date_outside_the_ns_range_in_a_million_row_file(tmp_path):
    n = 1_000_000
    days = np.datetime64("2025-01-06") + (np.arange(n) % 100).astype("timedelta64[D]")
    days[700_000] = np.datetime64("3025-01-06")
    p = tmp_path / "attendance.csv"
    pacsv.write_csv(pa.table({"member_id": pa.array(np.char.add("M", (np.arange(n) % 5000).astype(str))),
                              "group_id": pa.array(np.full(n, "G1")), "session_date": pa.array(days),
                              "status": pa.array(np.full(n, "P"))}), p)
    with pytest.raises(ge.ReadError, match=r"attendance\.csv, row 700002, column 'session_date'.*3025-01-06"):
        read_attendance(p)


def test_date_outside_the_ns_range_typed_as_text_in_validation():
    p = base_programme()
    p["members"].loc[1, "enrolled_on"] = "13/01/3025"
    with pytest.raises(ge.ValidationError, match=r"members, row 3, column 'enrolled_on': the date is outside"):
        ge.validate(p["groups"], p["members"], today=TODAY)


# ------------------------------------------------------------------ wide sheets: nothing vanishes

def _wide_book(path, header, rows):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "G1"
    ws.append(header)
    for r in rows:
        ws.append(r)
    wb.save(path)


def test_header_dates_without_a_year_are_an_error_not_extra_columns(tmp_path):
    p = tmp_path / "a.xlsx"
    _wide_book(p, ["member_id", "Jan 06", "Jan 13", "Jan 20"], [["M1", "P", "A", "P"], ["M2", "A", "P", "P"]])
    with pytest.raises(ge.ReadError, match=r"(?s)'Jan 06': the column header is a date without a year.*"
                                           r"write the full date.*'Jan 13'.*'Jan 20'"):
        read_attendance(p)


def test_a_date_without_a_year_among_full_dates_is_an_error(tmp_path):
    p = tmp_path / "a.xlsx"
    _wide_book(p, ["member_id", dt.datetime(2025, 1, 6), "Jan 13", dt.datetime(2025, 1, 20)],
               [["M1", "P", "A", "P"], ["M2", "A", "P", "P"]])
    with pytest.raises(ge.ReadError, match=r"'Jan 13': the column header is a date without a year"):
        read_attendance(p)


def test_formula_headers_without_cached_values_are_an_error_not_vanished_marks(tmp_path):
    # openpyxl writes formulas without cached values (as a file never opened in Excel has)
    p = tmp_path / "a.xlsx"
    _wide_book(p, ["member_id", dt.datetime(2025, 1, 6), "=B1+7", "=C1+7"],
               [["M1", "P", "A", "P"], ["M2", "A", "P", "P"]])
    with pytest.raises(ge.ReadError, match=r"(?s)column 'unnamed_C': the column holds attendance marks but its "
                                           r"header is empty.*save it so formula values are stored.*unnamed_D"):
        read_attendance(p)


def test_every_mark_cell_of_a_wide_sheet_is_accounted_for(tmp_path):
    p = tmp_path / "attendance.xlsx"
    dates = [dt.datetime(2025, 1, 6) + dt.timedelta(weeks=k) for k in range(4)]
    _wide_book(p, ["member_id"] + dates, [["M1", "P", "cancelled", "A", "P"], ["M2", "A", "cancelled", "P", "E"]])
    src = ge.io.read_attendance_source(p)
    ds = _quiet(ge.validate, attendance=src, today=TODAY)
    rc = ds.meta["row_counts"]["attendance"]
    assert rc["read"] == 8 and rc["excluded"] == 2 and rc["kept"] == 6   # 8 mark cells: 6 rows + 2 cancelled
    assert ds.sessions["cancelled"].sum() == 1


def test_merged_cells_over_sessions_are_read_in_every_cell_and_noted(tmp_path):
    p = tmp_path / "attendance.xlsx"
    dates = [dt.datetime(2025, 1, 6) + dt.timedelta(weeks=k) for k in range(4)]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "G1"
    ws.append(["member_id"] + dates)
    ws.append(["M1", "P", "A", None, None])
    ws.append(["M2", "A", "P", "P", "A"])
    ws["D2"] = "P"
    ws.merge_cells("D2:E2")                 # M1 present at the last two sessions, written once
    wb.save(p)
    src = ge.io.read_attendance_source(p)
    m1 = src.table[src.table["member_id"] == "M1"]
    assert m1["attended"].tolist() == [True, False, True, True]
    (note,) = [n for n in src.notes if "merged cells" in n.reason]
    assert note.row == 2 and "D2:E2" in note.reason and note.action == "repaired"


# ------------------------------------------------------------------ missing-value text, real NA ids

@pytest.mark.parametrize("token", ["NaN", "N/A", "NULL", "#N/A", "nan", "NA"])
def test_missing_value_text_in_item_cells_is_recorded(tmp_path, token):
    prog = base_programme()
    prog["surveys"].loc[2, "phq9_4"] = token
    ds = _quiet(ge.load, write(tmp_path, prog), today=TODAY)
    q = _quality(ds, "missing-value text in an item cell")
    shown = "NaN" if token.casefold() == "nan" else token      # the CSV parser reads nan as the number NaN
    assert q[["file", "row", "column", "value", "action"]].values.tolist() == [
        ["surveys.csv", 4, "phq9_4", shown, "repaired"]]
    assert np.isnan(ds.responses.loc[2, "phq9_4"])


def test_missing_value_text_in_a_frame_given_to_validate_is_recorded():
    p = base_programme()
    p["surveys"].loc[1, "phq9_2"] = "#N/A"
    ds = _quiet(ge.validate, p["groups"], p["members"], responses=p["surveys"], today=TODAY)
    assert len(_quality(ds, "missing-value text")) == 1


def test_real_ids_na_are_ids_not_empty(tmp_path):
    prog = base_programme()
    for name in ("members", "attendance", "surveys"):
        prog[name]["member_id"] = prog[name]["member_id"].replace({"M02": "NA"})
    ds = _quiet(ge.load, write(tmp_path, prog), today=TODAY)
    assert "NA" in set(ds.members["member_id"]) and (ds.attendance["member_id"] == "NA").sum() == 3


# ------------------------------------------------------------------ timepoints and instruments

def test_pre_beside_baseline_is_asked_never_guessed(tmp_path):
    prog = base_programme()
    prog["surveys"].loc[2, "timepoint"] = "pre"
    prog["surveys"].loc[0, "timepoint"] = "Baseline"
    with pytest.raises(ge.ValidationError, match=r"(?s)'Baseline' and 'pre' all look like the first.*"
                                                 r"timepoint_aliases=\{'pre': 'Baseline'\}"):
        _quiet(ge.load, write(tmp_path, prog), today=TODAY)
    ds = _quiet(ge.load, tmp_path, today=TODAY, timepoint_aliases={"pre": "baseline"})
    assert ds.timepoints == ("baseline", "week_12")
    assert len(_quality(ds, "timepoint renamed by timepoint_aliases")) == 1
    (tmp_path / "groupeval.toml").write_text('[programme]\ntimepoint_aliases = { pre = "baseline" }\n'
                                             + "".join(f'[files.{k}]\npath = "{k}.csv"\n' for k in prog))
    assert _quiet(ge.load, tmp_path, today=TODAY).timepoints == ("baseline", "week_12")


def test_instrument_named_in_the_config_with_an_item_missing(tmp_path):
    prog = base_programme()
    prog["surveys"] = prog["surveys"].drop(columns="phq9_9")
    write(tmp_path, prog, toml='[programme]\ninstruments = ["phq9"]\n'
          + "".join(f'[files.{k}]\npath = "{k}.csv"\n' for k in prog))
    with pytest.raises(ge.SchemaError, match=r"instrument phq9 is listed but the survey data lack item column\(s\) "
                                             r"phq9_9 \(found phq9_1, .*phq9_8\)"):
        _quiet(ge.load, tmp_path, today=TODAY)


def test_detected_instrument_with_an_item_missing_is_flagged(tmp_path):
    prog = base_programme()
    prog["surveys"] = prog["surveys"].drop(columns="phq9_9")
    with pytest.warns(ge.DataQualityWarning, match="phq9_9 missing"):
        ds = ge.load(write(tmp_path, prog), today=TODAY)
    assert len(_quality(ds, "item column(s) phq9_9 missing")) == 1


# ------------------------------------------------------------------ files that break parsers

def test_cr_only_line_endings_read(tmp_path):
    p = tmp_path / "att.csv"
    p.write_bytes(b"member_id,group_id,session_date,status\rM1,G1,2025-01-06,P\rM2,G1,2025-01-06,A\r")
    got = read_attendance(p)
    assert got[["member_id", "attended", "_source_row"]].values.tolist() == [["M1", True, 2], ["M2", False, 3]]


def test_malformed_styles_xml_is_a_clear_error(tmp_path):
    good = tmp_path / "good.xlsx"
    _wide_book(good, ["member_id", dt.datetime(2025, 1, 6)], [["M1", "P"]])
    bad = tmp_path / "bad.xlsx"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(bad, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            zout.writestr(item, b"<styleSheet><broken" if item.filename == "xl/styles.xml" else data)
    with pytest.raises(ge.ReadError, match=r"(?s)bad\.xlsx cannot be opened.*damaged.*save it again"):
        read_attendance(bad)


def test_stray_byte_in_a_utf8_file_is_repaired_and_noted_not_redecoded(tmp_path):
    p = tmp_path / "members.csv"
    p.write_bytes("member_id,group_id,enrolled_on,site\nM01,G1,2025-01-06,Café\n".encode()
                  + b"M02,G1,2025-01-13,Caf\xff\n" + "M03,G2,2025-01-08,Zoë\n".encode())
    src = ge.io.read_table_source(p)
    assert src.table["site"].tolist() == ["Café", "Caf\ufffd", "Zoë"]            # never CafÃ©
    (note,) = src.notes
    assert note.row == 3 and "0xff" in note.reason and note.action == "repaired"


def test_many_stray_bytes_in_utf8_text_are_an_error(tmp_path):
    p = tmp_path / "t.csv"
    p.write_bytes("a,b\nCafé,1\n".encode() + b"".join(b"x\xff,%d\n" % i for i in range(30)))
    with pytest.raises(ge.ReadError, match="mixes UTF-8 text with bytes of another encoding"):
        read_table(p)


def test_cell_bigger_than_a_parser_block_reads(tmp_path, monkeypatch):
    # (the same path as a 50 MB cell: one cell larger than pyarrow's block)
    monkeypatch.setattr(_csv, "_BLOCK", 1 << 10)
    p = tmp_path / "t.csv"
    big = "x" * 5000
    p.write_text(f"member_id,notes\nM1,\"{big}\"\nM2,ok\n")
    got = read_table(p)
    assert got["notes"].str.len().tolist() == [5000, 2]


def test_time_stamps_keep_the_local_date_of_the_stamp(tmp_path):
    p = tmp_path / "signin.csv"
    p.write_text("member_id,group_id,signed_in_at\nM1,G1,2025-03-02T23:30:00-05:00\n"
                 "M2,G1,2025-03-03T00:30:00+01:00\nM3,G1,2025-03-02T22:00:00Z\n")
    assert read_attendance(p)["session_date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2025-03-02", "2025-03-03", "2025-03-02"]
    pq.write_table(pa.table({"member_id": ["M1"], "group_id": ["G1"], "signed_in_at": pa.array(
        [pd.Timestamp("2025-03-03 04:30", tz="UTC")], pa.timestamp("us", tz="America/New_York"))}),
        tmp_path / "s.parquet")
    assert str(read_attendance(tmp_path / "s.parquet")["session_date"].iloc[0].date()) == "2025-03-02"


def test_a_date_in_another_format_is_read_and_listed_as_a_repair(tmp_path):
    prog = base_programme()
    prog["members"].loc[1, "enrolled_on"] = "13/01/2025"
    ds = _quiet(ge.load, write(tmp_path, prog), today=TODAY)
    q = _quality(ds, "date written in another format than the rest of the column")
    assert q[["file", "row", "column", "value", "action"]].values.tolist() == [
        ["members.csv", 3, "enrolled_on", "13/01/2025 (read as 2025-01-13)", "repaired"]]
    assert ds.members.loc[1, "enrolled_on"] == pd.Timestamp("2025-01-13")


def test_workbook_that_expands_too_far_is_refused(tmp_path, monkeypatch):
    p = tmp_path / "a.xlsx"
    _wide_book(p, ["member_id", dt.datetime(2025, 1, 6)], [["M1", "P"]] * 50)
    monkeypatch.setattr(_excel, "MAX_UNCOMPRESSED", 2_000)
    with pytest.raises(ge.ReadError, match=r"(?s)too large to read as a workbook.*KiB uncompressed"):
        read_attendance(p)
    monkeypatch.setattr(_excel, "MAX_UNCOMPRESSED", 1 << 30)
    monkeypatch.setattr(_excel, "MAX_CELLS", 60)
    with pytest.raises(ge.ReadError, match=r"sheet 'G1' holds more than 60 cells"):
        read_attendance(p)


# ------------------------------------------------------------------ identifiers found by their values

IDENTIFYING = {
    "fname": ["Ann", "Bo", "Cy"],
    "Name of participant": ["Ann Lee", "Bo Chan", "Cy Dee"],
    "Nombre": ["Ana", "Beto", "Cris"],
    "Vorname": ["Anna", "Bernd", "Carl"],
    "Initials": ["AL", "BC", "CD"],
    "contact": ["ann@example.org", "bo@example.org", ""],
    "WhatsApp": ["+44 7700 900123", "+44 7700 900456", ""],
    "Emergency contact": ["Mum 07700 900789", "", ""],
    "Next of kin": ["Jo Lee", "", ""],
    "NHS number": ["943 476 5919", "", ""],
    "SSN": ["078-05-1120", "", ""],
    "Medicare number": ["1EG4-TE5-MK73", "", ""],
    "notes": ["called Ann on 020 7946 0958", "fine", ""],
    "misc": ["", "reach me: bo@example.org", ""],
}


@pytest.mark.parametrize("column", IDENTIFYING)
def test_identifier_columns_are_refused_by_name_or_value(tmp_path, column):
    prog = base_programme()
    prog["members"][column] = IDENTIFYING[column]
    with pytest.raises(ge.IdentifierError, match=rf"members\.csv.*{column!r}"):
        ge.load(write(tmp_path, prog), today=TODAY)
    ds = _quiet(ge.load, tmp_path, today=TODAY, allow_identifiers=True)
    assert column not in ds.members.columns


def test_ordinary_text_and_number_columns_are_not_identifiers():
    frame = pd.DataFrame({
        "comments": ["Character in a book, with some guessing", "completely made up", "Hello World!"],
        "when": ["2023-02-24 12:40:50", "1969-12-31 22:54", "2025-01-06"],
        "dose": ["0.0001234", "12 345 6789", "3.5 mg"], "site": ["North", "South", "East"],
        "bmi": ["24.7", "19.8", "27.9"], "ResponseId": ["R_2YPOQ602ER1jkf1", "R_9zeKuQluLf9CNU1", "x"],
        "group_name": ["Tuesday", "Friday", "x"]})
    assert find_identifier_columns(frame) == {}


def test_qualtrics_and_survey_readers_keep_nothing_identifying_of_an_anonymous_link(tmp_path):
    p = tmp_path / "q.csv"
    p.write_text("StartDate,ResponseId,IPAddress,LocationLatitude,LocationLongitude,RecipientEmail,member_id,"
                 "timepoint,phq9_1\nStart Date,Response ID,IP Address,Lat,Long,Email,member_id,timepoint,Q\n"
                 "2025-01-06 10:00:00,R_1,10.1.2.3,51.5,-0.1,,M01,baseline,2\n")
    got = read_survey(p)
    assert find_identifier_columns(got) == {} and got["phq9_1"].tolist() == [2.0]
