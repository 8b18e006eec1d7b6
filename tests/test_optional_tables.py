"""Only what a programme has (issue 10 item 4, reading side): no groups file, a Group column, footer rows."""
from __future__ import annotations

import warnings

import openpyxl
import pandas as pd
import pytest

import groupeval as ge
from _helpers_validation import TODAY, base_programme, write
from groupeval.io import read_attendance, read_attendance_source


def _load(folder, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ge.load(folder, today=TODAY, **kw)


def test_no_groups_file_groups_inferred_as_unspecified_and_recorded(tmp_path):
    p = base_programme()
    p["groups"] = None
    ds = _load(write(tmp_path, p))
    assert ds.groups["group_id"].tolist() == ["G1", "G2"]
    assert ds.groups["group_type"].tolist() == ["unspecified", "unspecified"]
    q = ds.quality.to_frame()
    assert q["reason"].str.contains("groups inferred from the group ids used.*'unspecified'").sum() == 1
    rc = ds.meta["row_counts"]["groups"]
    assert rc == {"read": 0, "excluded": 0, "inferred": 2, "kept": 2}


def test_members_list_with_a_group_column(tmp_path):
    p = base_programme()
    p["groups"] = None
    p["members"] = p["members"].rename(columns={"group_id": "Group", "member_id": "Member ID",
                                                "enrolled_on": "Joined"})
    ds = _load(write(tmp_path, p))
    assert ds.members["group_id"].tolist() == ["G1", "G1", "G2"]
    assert ds.members["enrolled_on"].min() == pd.Timestamp("2025-01-06")


def test_statistics_run_on_unspecified_group_type(tmp_path):
    p = base_programme()
    p["groups"] = None
    ds = _load(write(tmp_path, p))
    summary = ge.attendance_summary(ds)
    assert len(summary) == 3
    assert len(ge.group_engagement(ds)) == 2


def _register(path, footer):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "G1"
    dates = pd.date_range("2025-01-06", periods=24, freq="7D")
    ws.append(["member_id"] + [d.to_pydatetime() for d in dates])
    for m in range(5):
        ws.append([f"M{m + 1}"] + ["P" if (m + j) % 3 else "A" for j in range(24)])
    for row in footer:
        ws.append(row)
    wb.save(path)
    return dates


@pytest.mark.parametrize("footer", [
    [["Total present"] + [4] * 24],
    [[None] + [4] * 24],                                         # an unlabelled sum row
    [["Total"] + [4] * 24, ["Average"] + [0.8] * 24],
], ids=["labelled", "unlabelled", "two-rows"])
def test_totals_rows_under_a_register_excluded_once(tmp_path, footer):
    path = tmp_path / "attendance.xlsx"
    _register(path, footer)
    src = read_attendance_source(path)
    assert sorted(src.table["member_id"].unique()) == ["M1", "M2", "M3", "M4", "M5"]
    (note,) = [n for n in src.notes if "totals" in n.reason]
    assert note.row == 7 and note.action == "excluded" and note.count == 24 * len(footer)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = ge.validate(attendance=src, today="2030-01-01")
    q = ds.quality.to_frame()
    assert q["reason"].str.contains("totals").sum() == 1        # one line, not 24 errors
    rc = ds.meta["row_counts"]["attendance"]
    assert rc["read"] == 5 * 24 + 24 * len(footer) and rc["kept"] == 5 * 24


def test_totals_row_at_the_foot_of_a_roster(tmp_path):
    p = tmp_path / "att.csv"
    p.write_text("member_id,group_id,session_date,status\nM1,G1,2025-01-06,P\nM2,G1,2025-01-06,A\n"
                 "Total,,,1\n")
    src = read_attendance_source(p)
    assert src.table["member_id"].tolist() == ["M1", "M2"]
    assert [n.count for n in src.notes if "totals" in n.reason] == [1]


def test_blank_header_cell_mapped_with_the_name_the_error_suggests(tmp_path):
    path = tmp_path / "register.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "G1"
    ws.append([None, "2025-01-06", "2025-01-13"])
    ws.append(["M1", "P", "A"])
    ws.append(["M2", "A", "P"])
    wb.save(path)
    with pytest.raises(ge.ReadError, match=r"(?s)no header row.*columns=\{'unnamed_A': 'member_id'\}"):
        read_attendance(path)
    got = read_attendance(path, columns={"unnamed_A": "member_id"})
    assert got["member_id"].tolist() == ["M1", "M1", "M2", "M2"]
    assert got["attended"].tolist() == [True, False, False, True]
