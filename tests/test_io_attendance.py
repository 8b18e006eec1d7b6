"""read_attendance on every shape: canonical table -> file -> read back -> same table.

Source of truth: the canonical table each file was written from
(tests/_helpers_io.py writes files with csv/openpyxl/pyarrow only).
"""
from __future__ import annotations

import datetime as dt

import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _helpers_io import (
    canonical_attendance,
    sort_att,
    write_csv_rows,
    write_roster,
    write_signin,
    write_wide_csv,
    write_wide_workbook,
)
from groupeval.base.exceptions import ConfigError, ReadError, SchemaError
from groupeval.io import read_attendance

ALL4 = ("present", "absent", "excused", "late")


def _same(got: pd.DataFrame, expected: pd.DataFrame):
    pd.testing.assert_frame_equal(sort_att(got), sort_att(expected))


def _trim_to_enrolment(got: pd.DataFrame, canon: pd.DataFrame) -> pd.DataFrame:
    """What load() does with blank-cell absences: keep those inside the member's enrolment."""
    span = canon.groupby("member_id")["session_date"].agg(["min", "max"])
    lo = got["member_id"].astype(str).map(span["min"])
    hi = got["member_id"].astype(str).map(span["max"])
    inside = (got["session_date"] >= lo) & (got["session_date"] <= hi)
    assert got.loc[~inside, "_blank_cell"].all()     # only blank cells fall outside
    return got.loc[inside]


def _check_dtypes(df):
    assert str(df["session_date"].dtype) == "datetime64[ns]"
    assert df["attended"].dtype == bool
    assert isinstance(df["member_id"].dtype, pd.StringDtype)
    assert isinstance(df["group_id"].dtype, pd.StringDtype)
    assert list(df["status"].cat.categories) == list(ALL4)
    assert (df["session_date"] == df["session_date"].dt.normalize()).all()


# ------------------------------------------------------------------ roster

@pytest.mark.parametrize("encoding,delimiter", [("utf-8", ","), ("utf-8-bom", ","), ("cp1252", ";"),
                                                ("utf-8", "\t"), ("utf-8", "|")])
@pytest.mark.parametrize("mark", ["status", "PAEL", "words"])
def test_roster_csv_round_trip(tmp_path, encoding, delimiter, mark):
    canon = canonical_attendance(seed=1, statuses=ALL4)
    p = tmp_path / "roster.csv"
    write_roster(canon, p, encoding=encoding, delimiter=delimiter, mark=mark,
                 extra=("Facilitator note", ["café"] * len(canon)))
    got = read_attendance(p)
    assert got.attrs["groupeval_shape"] == "roster"
    _same(got, canon)
    _check_dtypes(got)
    assert (got["Facilitator note"] == "café").all()          # extra column kept, cp1252 decoded
    assert got["_source_row"].tolist() == list(range(2, len(canon) + 2))
    assert not got["_blank_cell"].any()


@pytest.mark.parametrize("suffix", [".xlsx", ".parquet"])
def test_roster_xlsx_and_parquet_round_trip(tmp_path, suffix):
    canon = canonical_attendance(seed=2, statuses=ALL4)
    p = tmp_path / f"roster{suffix}"
    write_roster(canon, p, mark="PAEL")
    _same(read_attendance(p), canon)


def test_roster_with_attended_true_false_column(tmp_path):
    canon = canonical_attendance(seed=3)
    p = tmp_path / "r.csv"
    write_roster(canon, p, mark="attended")
    _same(read_attendance(p), canon)


@pytest.mark.parametrize("date_style,dayfirst", [("dmy", None), ("mdy", None), ("dmy", True)])
def test_roster_day_first_and_month_first_dates(tmp_path, date_style, dayfirst):
    canon = canonical_attendance(seed=4)   # weekly dates over 8 weeks include days > 12
    p = tmp_path / "r.csv"
    write_roster(canon, p, date_style=date_style)
    _same(read_attendance(p, dayfirst=dayfirst), canon)


def test_roster_blank_marks_need_a_rule(tmp_path):
    p = tmp_path / "r.csv"
    write_csv_rows(p, ["member_id", "group_id", "session_date", "status"],
                   [["M1", "G1", "2025-01-06", "P"], ["M1", "G1", "2025-01-13", ""], ["M2", "G1", "2025-01-13", "A"]])
    with pytest.raises(ReadError, match=r"(?s)row 3, column 'status': the attendance mark is blank.*blank='absent'"):
        read_attendance(p)
    a = read_attendance(p, blank="absent")
    assert a["attended"].tolist() == [True, False, False] and a["_blank_cell"].tolist() == [False, True, False]
    n = read_attendance(p, blank="not_scheduled")
    assert n["_source_row"].tolist() == [2, 4]


def test_roster_status_and_attended_conflict(tmp_path):
    p = tmp_path / "r.csv"
    write_csv_rows(p, ["member_id", "group_id", "session_date", "status", "attended"],
                   [["M1", "G1", "2025-01-06", "present", "1"], ["M1", "G1", "2025-01-13", "absent", "1"]])
    with pytest.raises(ReadError, match=r"(?s)row 3, column 'attended': status and attended disagree"):
        read_attendance(p)


# ------------------------------------------------------------------ sign-in log

def test_signin_log_gives_present_rows_and_flags_shape(tmp_path):
    canon = canonical_attendance(seed=5)
    p = tmp_path / "signin.csv"
    write_signin(canon, p, delimiter=";")
    got = read_attendance(p)
    assert got.attrs["groupeval_shape"] == "signin"
    _same(got, canon[canon["attended"]])      # times of day dropped: dates normalised
    _check_dtypes(got)


def test_signin_group_argument(tmp_path):
    p = tmp_path / "s.csv"
    write_csv_rows(p, ["Participant", "Date"], [["M1", "2025-01-06"], ["M2", "2025-01-06"]])
    got = read_attendance(p, group="G07")
    assert got["group_id"].tolist() == ["G07", "G07"] and got["member_id"].tolist() == ["M1", "M2"]
    with pytest.raises(SchemaError, match=r"(?s)no group_id column.*pass group="):
        read_attendance(p)


# ------------------------------------------------------------------ wide sheets

@pytest.mark.parametrize("style,statuses", [("10", ("present", "absent")), ("PAEL", ALL4), ("YN", ("present",
                                                                                                   "absent")),
                                            ("words", ALL4)])
def test_wide_csv_explicit_absences_blank_is_not_scheduled(tmp_path, style, statuses):
    canon = canonical_attendance(seed=6, statuses=statuses)
    p = tmp_path / "wide.csv"
    write_wide_csv(canon, p, style=style)
    got = read_attendance(p)
    assert got.attrs["groupeval_shape"] == "wide"
    assert set(got.attrs["groupeval_blank"].values()) == {"not_scheduled"}
    _same(got, canon)   # blank cells (before joining / after leaving) give no rows
    _check_dtypes(got)
    assert not got["_blank_cell"].any()


@pytest.mark.parametrize("style", ["x", "check", "heavy_check"])
def test_wide_presence_only_blank_inside_enrolment_is_absent(tmp_path, style):
    canon = canonical_attendance(seed=7)
    p = tmp_path / "wide.csv"
    write_wide_csv(canon, p, style=style, header="dmy")
    got = read_attendance(p)
    assert set(got.attrs["groupeval_blank"].values()) == {"absent"}
    # every blank cell is returned as an absence flagged _blank_cell; trimmed to enrolment it equals the truth
    _same(_trim_to_enrolment(got, canon), canon)
    assert (got.loc[got["_blank_cell"], "status"] == "absent").all()


def test_blank_override_on_wide_sheet(tmp_path):
    canon = canonical_attendance(seed=8)
    p = tmp_path / "wide.csv"
    write_wide_csv(canon, p, style="x")
    got = read_attendance(p, blank="not_scheduled")
    _same(got, canon[canon["attended"]])


@pytest.mark.parametrize("header", ["excel", "dmy", "mdy", "iso"])
def test_workbook_one_sheet_per_group(tmp_path, header):
    canon = canonical_attendance(seed=9, statuses=ALL4, n_groups=3, n_members=15)
    p = tmp_path / "attendance.xlsx"
    write_wide_workbook(canon, p, header=header, title_row=header == "dmy")
    got = read_attendance(p)
    _same(got, canon)
    _check_dtypes(got)
    assert set(got["group_id"]) == {"G01", "G02", "G03"}     # sheet names
    assert "Name" in got.columns                              # extra per-member columns are carried
    row_of = {m: i for i, m in enumerate(sorted(canon.loc[canon.group_id == "G01", "member_id"].unique()))}
    g1 = got[got.group_id == "G01"]
    first_data = 4 if header == "dmy" else 2                  # title + blank row put the header on row 3
    assert (g1["_source_row"] == g1["member_id"].map(row_of) + first_data).all()
    assert g1["_source_file"].iloc[0] == "attendance.xlsx [G01]"


def test_workbook_presence_only_with_excel_dates(tmp_path):
    canon = canonical_attendance(seed=10, n_groups=2)
    p = tmp_path / "a.xlsx"
    write_wide_workbook(canon, p, style="check", header="excel")
    got = read_attendance(p, sheet="G02")
    assert set(got["group_id"]) == {"G02"}
    sub = canon[canon.group_id == "G02"]
    _same(_trim_to_enrolment(got, sub), sub)


def test_ambiguous_header_dates_ask_for_dayfirst(tmp_path):
    p = tmp_path / "w.csv"
    write_csv_rows(p, ["member_id", "group_id", "03/02/2025", "04/02/2025"], [["M1", "G1", "P", "A"]])
    with pytest.raises(ReadError, match=r"(?s)cannot tell whether dates are day-first or month-first.*dayfirst=True"):
        read_attendance(p)
    assert read_attendance(p, dayfirst=True)["session_date"].tolist() == [pd.Timestamp("2025-02-03"),
                                                                           pd.Timestamp("2025-02-04")]
    assert read_attendance(p, dayfirst=False)["session_date"].tolist() == [pd.Timestamp("2025-03-02"),
                                                                            pd.Timestamp("2025-04-02")]


def test_contradictory_date_orders_are_an_error(tmp_path):
    p = tmp_path / "w.csv"
    write_csv_rows(p, ["member_id", "group_id", "13/02/2025", "02/14/2025"], [["M1", "G1", "P", "A"]])
    with pytest.raises(ReadError, match=r"(?s)both day-first and month-first.*13/02/2025 and 02/14/2025"):
        read_attendance(p)


def test_unrecognised_marks_all_listed(tmp_path):
    p = tmp_path / "w.csv"
    write_csv_rows(p, ["member_id", "group_id", "2025-01-06", "2025-01-13"],
                   [["M1", "G1", "P", "?"], ["M2", "G1", "maybe", "A"], ["M3", "G1", "P", "2"]])
    with pytest.raises(ReadError, match=r"(?s)\(3 problem\(s\)\).*row 2, column '2025-01-13': unrecognised attendance "
                                        r"mark \(value: '\?'\).*P/A/E/L.*row 3, column '2025-01-06'.*'maybe'"
                                        r".*row 4.*'2'") as e:
        read_attendance(p)
    assert [(q.row, q.column, q.value) for q in e.value.problems] == [
        (2, "2025-01-13", "?"), (3, "2025-01-06", "maybe"), (4, "2025-01-13", "2")]


def test_cancelled_and_empty_columns_give_no_rows(tmp_path):
    p = tmp_path / "w.csv"
    # presence-only sheet: 13 Jan left blank by everyone, 20 Jan cancelled, 3 Feb not held yet
    write_csv_rows(p, ["member_id", "group_id", "2025-01-06", "2025-01-13", "2025-01-20", "2025-01-27", "2025-02-03"],
                   [["M1", "G1", "x", "", "cancelled", "", ""], ["M2", "G1", "", "", "", "x", ""]])
    got = read_attendance(p)
    d = pd.Timestamp
    assert got[["member_id", "session_date", "attended"]].values.tolist() == [
        ["M1", d("2025-01-06"), True], ["M1", d("2025-01-27"), False],
        ["M2", d("2025-01-06"), False], ["M2", d("2025-01-27"), True]]
    assert got.attrs["groupeval_cancelled"] == [("G1", "2025-01-20")]
    assert got.attrs["groupeval_empty_sessions"] == [("G1", "2025-01-13")]   # inside the group's span only


def test_sessions_are_per_group_in_a_multi_group_sheet(tmp_path):
    p = tmp_path / "w.csv"
    # G2 did not meet on 6 Jan (no mark for its members), G1 did not meet on 13 Jan
    write_csv_rows(p, ["member_id", "group_id", "2025-01-06", "2025-01-13"],
                   [["M1", "G1", "x", ""], ["M2", "G1", "", ""], ["M3", "G2", "", "x"]])
    got = read_attendance(p)
    assert got[["member_id", "group_id", "session_date", "attended"]].values.tolist() == [
        ["M1", "G1", pd.Timestamp("2025-01-06"), True], ["M2", "G1", pd.Timestamp("2025-01-06"), False],
        ["M3", "G2", pd.Timestamp("2025-01-13"), True]]
    assert got.attrs["groupeval_empty_sessions"] == []


def test_wide_sheet_same_date_twice(tmp_path):
    p = tmp_path / "w.csv"
    write_csv_rows(p, ["member_id", "group_id", "2025-01-13", "13/01/2025"], [["M1", "G1", "P", "A"]])
    with pytest.raises(ReadError, match=r"(?s)column '13/01/2025'.*same session date as column '2025-01-13'"):
        read_attendance(p)


def test_wide_without_member_column(tmp_path):
    p = tmp_path / "w.csv"
    write_csv_rows(p, ["Who", "group_id", "2025-01-06"], [["M1", "G1", "P"]])
    with pytest.raises(SchemaError, match=r"(?s)lacks a member_id column.*columns=\{'<raw name>': 'member_id'\}.*Who"):
        read_attendance(p)
    assert read_attendance(p, columns={"who": "member_id"})["member_id"].tolist() == ["M1"]


def test_default_sheet_name_is_not_a_group(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append(["member_id", dt.datetime(2025, 1, 6)])
    wb.active.append(["M1", "P"])
    p = tmp_path / "w.xlsx"
    wb.save(p)
    with pytest.raises(SchemaError, match=r"(?s)nothing names the group.*name each sheet after its group"):
        read_attendance(p)
    assert read_attendance(p, group="G9")["group_id"].tolist() == ["G9"]


def test_shape_cannot_be_told(tmp_path):
    p = tmp_path / "a.csv"
    write_csv_rows(p, ["member_id", "group_id", "when"], [["M1", "G1", "Monday"]])
    with pytest.raises(ReadError, match=r"(?s)cannot tell the shape.*no column holds session dates.*format='roster'"):
        read_attendance(p)


def test_required_roster_column_missing_is_schema_error(tmp_path):
    p = tmp_path / "a.csv"
    write_csv_rows(p, ["group_id", "session_date", "status"], [["G1", "2025-01-06", "P"]])
    with pytest.raises(SchemaError, match=r"(?s)lacks required attendance columns.*'member_id'"):
        read_attendance(p)


def test_bad_roster_dates_all_listed(tmp_path):
    p = tmp_path / "a.csv"
    write_csv_rows(p, ["member_id", "group_id", "session_date", "status"],
                   [["M1", "G1", "2025-01-06", "P"], ["M1", "G1", "soon", "P"], ["M1", "G1", "2025-02-30", "A"]])
    with pytest.raises(ReadError, match=r"(?s)row 3, column 'session_date': not a date \(value: 'soon'\).*row 4"):
        read_attendance(p)


def test_header_only_file(tmp_path):
    p = tmp_path / "a.csv"
    write_csv_rows(p, ["member_id", "group_id", "session_date", "status"], [])
    with pytest.raises(ReadError, match=r"(?s)a.csv has a header but no data rows"):
        read_attendance(p)


def test_bad_arguments(tmp_path):
    with pytest.raises(ConfigError, match=r"format must be one of"):
        read_attendance(tmp_path / "x.csv", format="long")
    with pytest.raises(ConfigError, match=r"blank must be one of"):
        read_attendance(tmp_path / "x.csv", blank="absentee")


# ------------------------------------------------------------------ properties

@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), perm_seed=st.integers(0, 10_000), n=st.integers(1, 30))
def test_roster_rows_in_equal_rows_out_and_order_does_not_matter(tmp_path_factory, seed, perm_seed, n):
    canon = canonical_attendance(seed=seed, n_members=n, statuses=ALL4)
    d = tmp_path_factory.mktemp("prop")
    p1, p2 = d / "a.csv", d / "b.csv"
    write_roster(canon, p1, mark="PAEL")
    shuffled = canon.sample(frac=1, random_state=perm_seed).reset_index(drop=True)
    write_roster(shuffled, p2, mark="PAEL", delimiter=";")
    a, b = read_attendance(p1), read_attendance(p2)
    assert len(a) == len(canon) == len(b)
    _same(a, b)
    # each row keeps its own provenance: the row number points at that member/date in the file
    assert (b.sort_values("_source_row")["member_id"].astype(str).to_numpy()
            == shuffled["member_id"].to_numpy()).all()


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), perm_seed=st.integers(0, 10_000))
def test_wide_sheet_member_order_does_not_matter(tmp_path_factory, seed, perm_seed):
    canon = canonical_attendance(seed=seed, statuses=ALL4, n_members=8)
    d = tmp_path_factory.mktemp("propw")
    p1 = d / "a.csv"
    write_wide_csv(canon, p1, style="PAEL")
    raw = pd.read_csv(p1, dtype=str, keep_default_na=False)
    p2 = d / "b.csv"
    raw.sample(frac=1, random_state=perm_seed).to_csv(p2, index=False)
    _same(read_attendance(p1), read_attendance(p2))
    # cells in = rows out + blank cells
    cells = raw.iloc[:, 2:].to_numpy()
    assert len(read_attendance(p2)) == int((cells != "").sum())


def test_non_attendance_sheets_are_skipped_with_a_warning(tmp_path):
    from groupeval.base.exceptions import DataQualityWarning
    canon = canonical_attendance(seed=11, n_groups=1, statuses=ALL4)
    p = tmp_path / "a.xlsx"
    write_wide_workbook(canon, p)
    wb = openpyxl.load_workbook(p)
    ws = wb.create_sheet("Instructions")
    ws.append(["How to fill in", "use P/A/E/L"])
    wb.save(p)
    with pytest.warns(DataQualityWarning, match=r"sheets skipped \(not attendance\).*Instructions"):
        got = read_attendance(p)
    assert got.attrs["groupeval_skipped_sheets"] == ["a.xlsx [Instructions]"]
    _same(got, canon)


def test_explicit_format_must_fit(tmp_path):
    p = tmp_path / "a.csv"
    write_csv_rows(p, ["member_id", "group_id", "session_date"], [["M1", "G1", "2025-01-06"]])
    with pytest.raises(ReadError, match=r"(?s)not a wide attendance sheet.*no column header is a session date"):
        read_attendance(p, format="wide")
    with pytest.raises(SchemaError, match=r"(?s)lacks required attendance columns for a roster.*'status or attended'"):
        read_attendance(p, format="roster")
    assert read_attendance(p, format="signin")["attended"].tolist() == [True]


def test_invalid_header_date_is_named(tmp_path):
    p = tmp_path / "w.csv"
    write_csv_rows(p, ["member_id", "group_id", "2025-02-24", "31/02/2025"], [["M1", "G1", "P", "A"]])
    with pytest.raises(ReadError, match=r"(?s)w.csv, column '31/02/2025': column header is not a valid date"):
        read_attendance(p)


# reference implementation of docs/design.md's wide-sheet rules, one cell at a time (independent of the reader)
_VARIANTS = {"present": ["P", "p", " P ", "1", "Y", "yes", "x", "X", "✓", "✔", "Present"],
             "absent": ["A", "a", "0", "N", "no", "Absent"], "excused": ["E", "e", "Excused"],
             "late": ["L", "late", " l"]}


def _reference_wide(grid, dates, members, group):
    explicit = any(v in ("absent", "excused") for row in grid for v in row)
    held = [any(row[j] is not None for row in grid) for j in range(len(dates))]
    out = []
    for m, row in zip(members, grid):
        for j, v in enumerate(row):
            if not held[j]:
                continue
            if v is None:
                if explicit:
                    continue
                v = "absent"
            out.append((m, group, dates[j], v in ("present", "late"), v))
    df = pd.DataFrame(out, columns=["member_id", "group_id", "session_date", "attended", "status"])
    return df.astype({"session_date": "datetime64[ns]", "attended": bool})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), n=st.integers(1, 6), k=st.integers(1, 5), presence_only=st.booleans())
def test_wide_sheet_matches_cell_by_cell_reference(tmp_path_factory, data, n, k, presence_only):
    choices = [None, "present", "late"] if presence_only else [None, "present", "absent", "excused", "late"]
    grid = [[data.draw(st.sampled_from(choices)) for _ in range(k)] for _ in range(n)]
    dates = list(pd.date_range("2025-01-13", periods=k, freq="7D"))
    members = [f"M{i}" for i in range(n)]
    cells = [["" if v is None else data.draw(st.sampled_from(
        ["x", "✓", "1", "P", "Y"] if presence_only and v == "present" else _VARIANTS[v])) for v in row] for row in grid]
    p = tmp_path_factory.mktemp("ref") / "w.csv"
    write_csv_rows(p, ["member_id"] + [d.strftime("%d/%m/%Y") for d in dates],
                   [[m] + r for m, r in zip(members, cells)])
    expected = _reference_wide(grid, dates, members, "G1")
    got = read_attendance(p, group="G1", dayfirst=True)
    _same(got, expected)


def test_google_forms_sign_in_export(tmp_path):
    # Google Forms: "Timestamp" in m/d/yyyy h:mm:ss; the 13th proves month-first
    p = tmp_path / "form.csv"
    write_csv_rows(p, ["Timestamp", "Member ID", "Group"],
                   [["3/6/2025 18:02:11", "M1", "G1"], ["3/13/2025 18:05:40", "M1", "G1"],
                    ["3/13/2025 18:07:02", "M2", "G1"]])
    got = read_attendance(p)
    assert got.attrs["groupeval_shape"] == "signin"
    assert got[["member_id", "session_date"]].values.tolist() == [
        ["M1", pd.Timestamp("2025-03-06")], ["M1", pd.Timestamp("2025-03-13")], ["M2", pd.Timestamp("2025-03-13")]]


def test_header_dates_that_lost_their_format_show_excel_serials(tmp_path):
    # reference: openpyxl's own serial -> date conversion (45718 -> 2025-03-02)
    from openpyxl.utils.datetime import from_excel
    assert from_excel(45718) == dt.datetime(2025, 3, 2) and from_excel(45725) == dt.datetime(2025, 3, 9)
    wb = openpyxl.Workbook()
    wb.active.title = "G01"
    wb.active.append(["member_id", 45718, 45725, 2024])
    wb.active.append(["M1", "P", "A", 12])
    p = tmp_path / "s.xlsx"
    wb.save(p)
    got = read_attendance(p)
    assert got["session_date"].tolist() == [pd.Timestamp("2025-03-02"), pd.Timestamp("2025-03-09")]
    assert got["2024"].tolist() == [12, 12]          # an ordinary numeric column stays a column


def test_group_argument_and_group_column_conflict(tmp_path):
    p = tmp_path / "a.csv"
    write_csv_rows(p, ["member_id", "group_id", "session_date", "status"], [["M1", "G1", "2025-01-06", "P"]])
    with pytest.raises(ConfigError, match=r"group='G2' was given but a.csv has a group_id column"):
        read_attendance(p, group="G2")
