"""Every validation rule, each with a malformed file read through ``groupeval.load``.

Source of truth: a hand-made programme (tests/_helpers_validation.py) whose
canonical tables are known by hand; each test breaks one cell and checks the
error message (file, spreadsheet row, column, value) or the recorded repair.
"""
from __future__ import annotations

import warnings

import pandas as pd
import pytest

import _helpers_validation as hv
from groupeval.base.exceptions import (
    ConfigError,
    DataQualityWarning,
    IdentifierError,
    ReadError,
    SchemaError,
    ValidationError,
)
from groupeval.validation.checks import STRING_DTYPE, find_identifier_columns
from groupeval.validation.load import load, validate


def _load(folder, **kw):
    kw.setdefault("today", hv.TODAY)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return load(folder, **kw)


def _quality(ds, reason_part):
    q = ds.quality.to_frame()
    return q[q["reason"].str.contains(reason_part, regex=False)]


@pytest.fixture
def prog():
    return hv.base_programme()


# --------------------------------------------------------------------------
# the good programme
# --------------------------------------------------------------------------
def test_good_programme_matches_hand_built_tables(tmp_path, prog):
    ds = _load(hv.write(tmp_path, prog))
    assert ds.counts()["rows"].tolist() == [2, 3, 12, 14, 4]
    assert len(ds.quality) == 0
    for name in ("groups", "members", "sessions", "attendance", "responses"):
        t = ds.tables()[name]
        assert not any(c.startswith("_") for c in t.columns), name
    assert ds.attendance["member_id"].dtype == STRING_DTYPE
    assert ds.attendance["session_date"].dtype == "datetime64[ns]"
    assert ds.attendance["attended"].dtype == bool
    # status -> attended by hand: present/late attended, absent/excused not
    assert int(ds.attendance["attended"].sum()) == 4 + 1 + 4
    assert ds.sessions["cancelled"].sum() == 1
    assert ds.members["exited_on"].isna().sum() == 2
    assert ds.timepoints == ("baseline", "week_12")
    assert ds.meta["instruments"] == ("phq9",)
    assert ds.responses["phq9_1"].tolist() == [1.0, 2.0, 3.0, 0.0]
    assert ds.members["age_band"].tolist() == ["30-44", "18-29", "45-64"]  # extra columns kept


# --------------------------------------------------------------------------
# structure: empty file, no header, missing column
# --------------------------------------------------------------------------
def test_empty_file_is_an_error_naming_the_file(tmp_path, prog):
    hv.write(tmp_path, prog)
    (tmp_path / "members.csv").write_text("", encoding="utf-8")
    with pytest.raises(ReadError, match=r"members\.csv: the file has no content"):
        _load(tmp_path)


def test_header_only_file_has_no_data_rows(tmp_path, prog):
    prog["groups"] = prog["groups"].iloc[:0]
    hv.write(tmp_path, prog)
    with pytest.raises(SchemaError, match=r"groups table has no data rows"):
        _load(tmp_path)


def test_file_without_header_is_an_error(tmp_path, prog):
    hv.write(tmp_path, prog)
    body = prog["sessions"].to_csv(index=False, header=False)
    (tmp_path / "sessions.csv").write_text(body, encoding="utf-8")
    with pytest.raises(SchemaError, match=r"sessions\.csv, row 1.*seems to have no header row"):
        _load(tmp_path)


def test_missing_required_column_names_table_and_column(tmp_path, prog):
    prog["members"] = prog["members"].drop(columns="enrolled_on")
    hv.write(tmp_path, prog)
    with pytest.raises(SchemaError, match=r"members table lacks required column\(s\) enrolled_on"):
        _load(tmp_path)


# --------------------------------------------------------------------------
# types and dates
# --------------------------------------------------------------------------
def test_unreadable_attendance_mark_is_an_error_with_row(tmp_path, prog):
    prog["attendance"]["attended"] = ["1"] * len(prog["attendance"])
    prog["attendance"] = prog["attendance"].drop(columns="status")
    prog["attendance"].loc[3, "attended"] = "maybe"
    hv.write(tmp_path, prog)
    with pytest.raises(ReadError, match=r"maybe"):
        _load(tmp_path)


def test_attended_as_1_0_is_read_in_memory_and_wrong_type_rejected():
    p = hv.base_programme()
    att = p["attendance"].drop(columns="status").assign(attended=[1, 1, 0, 1, 1, 1, 0, 0, 1, 0, 1, 1, 0, 1])
    ds = validate(p["groups"], p["members"], p["sessions"], att, today=hv.TODAY)
    assert ds.attendance["attended"].sum() == 9
    att = att.astype({"attended": object})
    att.loc[5, "attended"] = "perhaps"
    with pytest.raises(ValidationError, match=r"attendance, row 7, column 'attended': not an attendance mark"):
        validate(p["groups"], p["members"], p["sessions"], att, today=hv.TODAY)


def test_unparseable_date_is_an_error_with_row_and_value(tmp_path, prog):
    prog["members"].loc[1, "enrolled_on"] = "2025-13-45"
    hv.write(tmp_path, prog)
    with pytest.raises(ValidationError,
                       match=r"members\.csv, row 3, column 'enrolled_on': not a date that can be read "
                             r"\(value: '2025-13-45'\)"):
        _load(tmp_path)


def test_ambiguous_day_month_dates_ask_for_dayfirst():
    p = hv.base_programme()
    m = p["members"].copy()
    m["enrolled_on"] = ["06/01/2025", "01/13/2025", "08/01/2025"]  # both a>12 and b>12 exist: mixed
    m2 = p["members"].copy()
    m2["enrolled_on"] = ["06/01/2025", "13/01/2025", "08/01/2025"]  # day-first (13 > 12)
    ds = validate(p["groups"], m2, p["sessions"], p["attendance"], today=hv.TODAY)
    assert ds.members["enrolled_on"].dt.strftime("%Y-%m-%d").tolist() == ["2025-01-06", "2025-01-13",
                                                                           "2025-01-08"]
    m3 = p["members"].copy()
    m3["enrolled_on"] = ["06/01/2025", "01/01/2025", "08/01/2025"]  # every value ambiguous
    with pytest.raises(ValidationError, match=r"day-first or month-first.*dayfirst=True"):
        validate(p["groups"], m3, p["sessions"], p["attendance"], today=hv.TODAY)
    ds = validate(p["groups"], m3, p["sessions"], p["attendance"].iloc[:0].head(0) if False else None,
                  today=hv.TODAY, dayfirst=True)
    assert ds.members["enrolled_on"].iloc[0] == pd.Timestamp("2025-01-06")


def test_future_dates_are_errors(tmp_path, prog):
    prog["members"].loc[2, "enrolled_on"] = "2052-01-08"
    prog["surveys"].loc[3, "completed_on"] = "2031-03-31"
    hv.write(tmp_path, prog)
    with pytest.raises(ValidationError) as info:
        _load(tmp_path)
    msg = str(info.value)
    assert "members.csv, row 4, column 'enrolled_on': date is in the future (after 2025-06-01)" in msg
    assert "surveys.csv, row 5, column 'completed_on': date is in the future" in msg


def test_future_scheduled_sessions_are_excluded_and_recorded(tmp_path, prog):
    extra = pd.DataFrame({"group_id": ["G1"], "session_date": ["2025-12-01"], "cancelled": ["FALSE"]})
    prog["sessions"] = pd.concat([prog["sessions"], extra], ignore_index=True)
    ds = _load(hv.write(tmp_path, prog))
    q = _quality(ds, "after today")
    assert q[["file", "row", "action"]].values.tolist() == [["sessions.csv", 14, "excluded"]]
    assert len(ds.sessions) == 12
    assert ds.meta["row_counts"]["sessions"] == {"read": 13, "excluded": 1, "inferred": 0, "kept": 12}


# --------------------------------------------------------------------------
# enrolment, schedule, cancelled sessions
# --------------------------------------------------------------------------
def test_present_before_enrolment_or_after_exit_is_an_error(tmp_path, prog):
    extra = pd.DataFrame([("M02", "G1", "2025-01-06", "present"), ("M02", "G1", "2025-02-10", "late")],
                         columns=prog["attendance"].columns)
    prog["attendance"] = pd.concat([prog["attendance"], extra], ignore_index=True)
    hv.write(tmp_path, prog)
    with pytest.raises(ValidationError) as info:
        _load(tmp_path)
    msg = str(info.value)
    assert "attendance.csv, row 16, column 'session_date': marked present before the member's enrolled_on" in msg
    assert "attendance.csv, row 17, column 'session_date': marked present after the member's exited_on" in msg
    assert len(info.value.problems) == 2


def test_absence_outside_enrolment_is_excluded_and_recorded(tmp_path, prog):
    extra = pd.DataFrame([("M02", "G1", "2025-01-06", "absent"), ("M02", "G1", "2025-02-10", "absent")],
                         columns=prog["attendance"].columns)
    prog["attendance"] = pd.concat([prog["attendance"], extra], ignore_index=True)
    ds = _load(hv.write(tmp_path, prog))
    q = _quality(ds, "outside the member's enrolment")
    assert q["row"].tolist() == [16, 17] and set(q["action"]) == {"excluded"}
    assert len(ds.attendance) == 14
    assert ds.meta["row_counts"]["attendance"] == {"read": 16, "excluded": 2, "inferred": 0, "kept": 14}


def test_attendance_for_member_not_enrolled_in_that_group(tmp_path, prog):
    extra = pd.DataFrame([("M03", "G1", "2025-01-13", "present"), ("M99", "G2", "2025-01-15", "present")],
                         columns=prog["attendance"].columns)
    prog["attendance"] = pd.concat([prog["attendance"], extra], ignore_index=True)
    hv.write(tmp_path, prog)
    with pytest.raises(ValidationError, match=r"row 16, column 'member_id': attendance for a member who is not "
                                              r"enrolled in this group.*\(value: 'M03 in G1'\)"):
        _load(tmp_path)
    ds = _load(tmp_path, unenrolled="exclude")
    q = _quality(ds, "not enrolled")
    assert q["row"].tolist() == [16, 17] and q["value"].tolist() == ["M03 in G1", "M99 in G2"]
    assert len(ds.attendance) == 14


def test_session_not_on_the_groups_schedule_is_an_error(tmp_path, prog):
    prog["attendance"].loc[0, "session_date"] = "2025-01-07"  # a Tuesday: G1 meets on Mondays
    hv.write(tmp_path, prog)
    with pytest.raises(ValidationError, match=r"attendance\.csv, row 2, column 'session_date': no session of "
                                              r"this group on this date in the sessions table"):
        _load(tmp_path)


def test_attendance_on_cancelled_session(tmp_path, prog):
    extra = pd.DataFrame([("M01", "G1", "2025-01-27", "absent")], columns=prog["attendance"].columns)
    prog["attendance"] = pd.concat([prog["attendance"], extra], ignore_index=True)
    ds = _load(hv.write(tmp_path, prog))
    q = _quality(ds, "cancelled session")
    assert q[["row", "action"]].values.tolist() == [[16, "excluded"]]
    prog["attendance"].loc[14, "status"] = "present"
    hv.write(tmp_path, prog)
    with pytest.raises(ValidationError, match=r"row 16, column 'session_date': marked present at a session that "
                                              r"was cancelled"):
        _load(tmp_path)


# --------------------------------------------------------------------------
# duplicates
# --------------------------------------------------------------------------
def test_exact_duplicate_rows_are_excluded_first_kept(tmp_path, prog):
    prog["attendance"] = pd.concat([prog["attendance"], prog["attendance"].iloc[[2, 2]]], ignore_index=True)
    ds = _load(hv.write(tmp_path, prog))
    q = _quality(ds, "exact duplicate")
    assert q[["row", "value", "action"]].values.tolist() == [[16, "same as row 4", "excluded"],
                                                              [17, "same as row 4", "excluded"]]
    assert len(ds.attendance) == 14


def test_conflicting_duplicates_are_an_error_listing_both_rows(tmp_path, prog):
    dup = prog["attendance"].iloc[[2]].assign(status="present")
    prog["attendance"] = pd.concat([prog["attendance"], dup], ignore_index=True)
    hv.write(tmp_path, prog)
    with pytest.raises(ValidationError, match=r"conflicting duplicates.*M01 / G1 / 2025-01-20.*\(rows 4, 16\)"):
        _load(tmp_path)


def test_conflicting_member_enrolments_are_an_error(tmp_path, prog):
    dup = prog["members"].iloc[[0]].assign(enrolled_on="2025-01-13")
    prog["members"] = pd.concat([prog["members"], dup], ignore_index=True)
    hv.write(tmp_path, prog)
    with pytest.raises(ValidationError, match=r"members\.csv, row 2, column 'member_id/group_id': conflicting"):
        _load(tmp_path)


# --------------------------------------------------------------------------
# identifiers differing by case or whitespace
# --------------------------------------------------------------------------
def test_ids_differing_only_by_case_or_whitespace_are_unified(tmp_path, prog):
    prog["attendance"].loc[0, "member_id"] = "m01"
    prog["attendance"].loc[1, "member_id"] = " M01 "
    prog["attendance"].loc[8, "group_id"] = "g2"
    prog["surveys"].loc[2, "member_id"] = "m03"
    ds = _load(hv.write(tmp_path, prog))
    assert sorted(ds.attendance["member_id"].unique()) == ["M01", "M02", "M03"]
    assert sorted(ds.attendance["group_id"].unique()) == ["G1", "G2"]
    q = _quality(ds, "only by case or spaces")
    assert q[["file", "row", "column", "value"]].values.tolist() == [
        ["attendance.csv", 2, "member_id", "m01"], ["attendance.csv", 3, "member_id", " M01 "],
        ["attendance.csv", 10, "group_id", "g2"], ["surveys.csv", 4, "member_id", "m03"]]
    assert set(q["action"]) == {"repaired"}


def test_unification_prefers_the_owning_tables_spelling_regardless_of_frequency():
    p = hv.base_programme()
    att = p["attendance"].copy()
    att["member_id"] = att["member_id"].str.lower()  # 'm01' is the majority spelling in attendance
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        ds = validate(p["groups"], p["members"], p["sessions"], att, today=hv.TODAY)
    assert sorted(ds.attendance["member_id"].unique()) == ["M01", "M02", "M03"]


# --------------------------------------------------------------------------
# survey items and timepoints
# --------------------------------------------------------------------------
def test_out_of_range_item_responses_list_every_row(tmp_path, prog):
    prog["surveys"].loc[0, "phq9_3"] = "4"
    prog["surveys"].loc[2, "phq9_3"] = "99"
    prog["surveys"].loc[3, "phq9_9"] = "-1"
    hv.write(tmp_path, prog)
    with pytest.raises(ValidationError) as info:
        _load(tmp_path)
    got = [(p.row, p.column, p.value) for p in info.value.problems]
    assert got == [(2, "phq9_3", 4), (4, "phq9_3", 99), (5, "phq9_9", -1)]
    assert "outside the instrument's range 0 to 3" in str(info.value)


def test_non_numeric_item_response_is_an_error():
    p = hv.base_programme()
    s = p["surveys"].copy()
    s.loc[1, "phq9_2"] = "three"
    with pytest.raises(ValidationError, match=r"responses, row 3, column 'phq9_2': item response is not a "
                                              r"number \(value: 'three'\)"):
        validate(p["groups"], p["members"], p["sessions"], p["attendance"], s, today=hv.TODAY)


def test_unknown_timepoint_is_an_error_and_case_variants_are_repaired(tmp_path, prog):
    toml = ('[programme]\ntimepoints = ["baseline", "week_12", "week_26"]\n'
            '[files.groups]\npath = "groups.csv"\n[files.members]\npath = "members.csv"\n'
            '[files.sessions]\npath = "sessions.csv"\n[files.attendance]\npath = "attendance.csv"\n'
            '[files.surveys]\npath = "surveys.csv"\nformat = "wide"\n')
    prog["surveys"].loc[1, "timepoint"] = "Baseline"
    ds = _load(hv.write(tmp_path, prog, toml))
    assert ds.timepoints == ("baseline", "week_12", "week_26")
    assert _quality(ds, "timepoint spelled")["row"].tolist() == [3]
    prog["surveys"].loc[3, "timepoint"] = "week12"
    hv.write(tmp_path, prog, toml)
    with pytest.raises(ValidationError, match=r"surveys\.csv, row 5, column 'timepoint': unknown timepoint "
                                              r"\(expected one of: baseline, week_12, week_26\)"):
        _load(tmp_path)


# --------------------------------------------------------------------------
# all problems at once
# --------------------------------------------------------------------------
def test_unreadable_date_in_a_roster_is_reported_by_the_reader(tmp_path, prog):
    prog["attendance"].loc[0, "session_date"] = "not a date"
    hv.write(tmp_path, prog)
    with pytest.raises(ReadError, match=r"attendance\.csv, row 2, column 'session_date': not a date"):
        _load(tmp_path)


def test_one_file_with_three_problems_lists_all_three(tmp_path, prog):
    a = prog["attendance"]
    a.loc[0, "session_date"] = "2025-01-27"  # present at the cancelled session
    a.loc[4, "member_id"] = "M77"
    a.loc[5, "session_date"] = "2025-01-14"
    hv.write(tmp_path, prog)
    with pytest.raises(ValidationError) as info:
        _load(tmp_path)
    got = sorted((p.row, p.column, p.reason[:20]) for p in info.value.problems)
    assert got == [(2, "session_date", "marked present at a "), (6, "member_id", "attendance for a memb"[:20]),
                   (7, "session_date", "no session of this g")]
    assert "3 problem(s)" in str(info.value)


def test_problems_in_several_files_are_raised_together(tmp_path, prog):
    prog["members"].loc[0, "enrolled_on"] = "soon"
    prog["groups"].loc[1, "facilitation"] = "robot-led"
    prog["surveys"].loc[0, "phq9_1"] = "7"
    hv.write(tmp_path, prog)
    with pytest.raises(ValidationError) as info:
        _load(tmp_path)
    files = sorted({p.file for p in info.value.problems})
    assert files == ["groups.csv", "members.csv", "surveys.csv"]
    assert "facilitation must be one of peer, professional, co-facilitated" in str(info.value)


# --------------------------------------------------------------------------
# identifier guard
# --------------------------------------------------------------------------
def test_identifier_columns_are_refused_naming_file_and_columns(tmp_path, prog):
    prog["members"]["First Name"] = ["Ann", "Bo", "Cy"]
    prog["members"]["E-mail"] = ["a@x.org", "b@x.org", "c@x.org"]
    hv.write(tmp_path, prog)
    with pytest.raises(IdentifierError, match=r"members\.csv.*'First Name' \(name\), 'E-mail' \(email\)"):
        _load(tmp_path)


def test_allowed_identifiers_are_still_removed_and_recorded(tmp_path, prog):
    prog["members"]["Phone"] = ["1", "2", "3"]
    prog["members"]["Date of birth"] = ["1980-01-01"] * 3
    ds = _load(hv.write(tmp_path, prog), allow_identifiers=True)
    assert "Phone" not in ds.members.columns and "Date of birth" not in ds.members.columns
    q = _quality(ds, "direct identifier column")
    assert sorted(q["column"]) == ["Date of birth", "Phone"]


def test_canonical_and_ordinary_columns_are_not_identifiers():
    cols = ["member_id", "group_id", "site", "cancelled", "group_type", "age_band", "gender", "status",
            "Participant ID", "session_date", "exit_reason", "phq9_1"]
    assert find_identifier_columns(cols) == {}
    assert find_identifier_columns(["Surname", "mobile", "Street address", "DOB", "Email address"]) == {
        "Surname": "name", "mobile": "phone", "Street address": "address", "DOB": "date of birth",
        "Email address": "email"}


# --------------------------------------------------------------------------
# inference
# --------------------------------------------------------------------------
def test_sessions_inferred_from_attendance_one_entry_per_group(tmp_path, prog):
    prog["sessions"] = None
    ds = _load(hv.write(tmp_path, prog))
    # by hand: G1 met on the 5 non-cancelled Mondays (some row each), G2 on 6 Wednesdays
    got = ds.sessions.assign(d=ds.sessions["session_date"].dt.strftime("%Y-%m-%d"))
    assert got[got.group_id == "G1"]["d"].tolist() == [d for d in hv.G1_DATES if d != hv.CANCELLED[1]]
    assert got[got.group_id == "G2"]["d"].tolist() == hv.G2_DATES
    q = _quality(ds, "inferred from the attendance dates")
    assert q["value"].tolist() == ["5", "6"] and q["row"].isna().all() and set(q["action"]) == {"inferred"}
    assert ds.meta["row_counts"]["sessions"] == {"read": 0, "excluded": 0, "inferred": 11, "kept": 11}


def test_signin_log_absences_inferred_from_schedule_and_enrolment(tmp_path, prog):
    a = prog["attendance"]
    prog["attendance"] = a[a["status"].isin(["present", "late"])].drop(columns="status")
    toml = ('[files.groups]\npath = "groups.csv"\n[files.members]\npath = "members.csv"\n'
            '[files.sessions]\npath = "sessions.csv"\n'
            '[files.attendance]\npath = "attendance.csv"\nformat = "signin"\n')
    ds = _load(hv.write(tmp_path, prog, toml), cutoff="2025-02-12")
    att = ds.attendance.assign(d=ds.attendance["session_date"].dt.strftime("%Y-%m-%d"))
    absent = att[~att["attended"]].sort_values(["member_id", "d"])
    # by hand: M01 (G1 from 01-06, open) misses 01-20; M02 (G1 01-13..02-03) misses 01-20 and 02-03
    # (01-27 cancelled); M03 (G2 from 01-08) misses 01-15 and 02-05.
    assert absent[["member_id", "d"]].values.tolist() == [
        ["M01", "2025-01-20"], ["M02", "2025-01-20"], ["M02", "2025-02-03"],
        ["M03", "2025-01-15"], ["M03", "2025-02-05"]]
    assert ds.meta["row_counts"]["attendance"] == {"read": 9, "excluded": 0, "inferred": 5, "kept": 14}
    q = _quality(ds, "inferred from the sign-in log")
    assert q["value"].tolist() == ["3", "2"]


def test_cutoff_excludes_later_rows_and_is_stored(tmp_path, prog):
    ds = _load(hv.write(tmp_path, prog), cutoff="2025-02-01")
    assert ds.cutoff == pd.Timestamp("2025-02-01")
    assert (ds.attendance["session_date"] <= "2025-02-01").all()
    rc = ds.meta["row_counts"]["attendance"]
    assert rc["excluded"] == 5 and rc["kept"] == 9  # by hand: 2 of M01, 1 of M02, 2 of M03 after 02-01
    assert rc["read"] - rc["excluded"] + rc["inferred"] == rc["kept"]


# --------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------
def test_toml_config_with_renames_and_programme_settings(tmp_path, prog):
    prog["members"] = prog["members"].rename(columns={"member_id": "Participant ID", "enrolled_on": "Joined"})
    toml = ('[programme]\nname = "Test programme"\ntimepoints = ["baseline", "week_12"]\n'
            'instruments = ["phq9"]\ncutoff = "2025-03-31"\n'
            '[files.groups]\npath = "groups.csv"\n'
            '[files.members]\npath = "members.csv"\ncolumns = { "Participant ID" = "member_id", '
            '"Joined" = "enrolled_on" }\n'
            '[files.sessions]\npath = "sessions.csv"\n[files.attendance]\npath = "attendance.csv"\n'
            'format = "roster"\n[files.surveys]\npath = "surveys.csv"\nformat = "wide"\n[privacy]\n'
            'allow_identifiers = false\n')
    hv.write(tmp_path, prog, toml)
    ds = _load(tmp_path / "groupeval.toml")
    assert ds.meta["programme"] == "Test programme"
    assert ds.meta["instruments"] == ("phq9",)
    assert ds.cutoff == pd.Timestamp("2025-03-31")
    assert ds.members["member_id"].tolist() == ["M01", "M02", "M03"]
    assert ds.meta["source"].endswith("groupeval.toml")


def test_bad_config_lists_every_bad_key_with_allowed_values(tmp_path, prog):
    toml = ('[programme]\nnmae = "x"\ninstruments = ["phq9", "phq99"]\n'
            '[files.attendance]\npath = "attendance.csv"\nformat = "long"\n'
            '[files.widgets]\npath = "w.csv"\n[privacy]\nallow_identifiers = "yes"\n')
    hv.write(tmp_path, prog, toml)
    with pytest.raises(ConfigError) as info:
        _load(tmp_path)
    msg = str(info.value)
    assert "column 'programme.nmae': unknown key" in msg
    assert "allowed keys in [programme]: name, timepoints" in msg
    assert "'phq99'" in msg and "unknown instrument" in msg
    assert "column 'files.attendance.format': unknown format (value: 'long'). Fix: format must be one of: auto, " \
           "roster, signin, wide" in msg
    assert "files.widgets" in msg and "allow_identifiers" in msg
    assert len(info.value.problems) == 5


def test_invalid_toml_syntax_is_a_config_error(tmp_path, prog):
    hv.write(tmp_path, prog, '[programme\nname = "x"\n')
    with pytest.raises(ConfigError, match=r"groupeval\.toml is not valid TOML"):
        _load(tmp_path)


def test_missing_files_named_in_config_are_all_reported(tmp_path, prog):
    toml = ('[files.members]\npath = "nope.csv"\n[files.attendance]\npath = "also_missing.xlsx"\n')
    hv.write(tmp_path, prog, toml)
    with pytest.raises(ReadError) as info:
        _load(tmp_path)
    assert "nope.csv" in str(info.value) and "also_missing.xlsx" in str(info.value)


def test_folder_without_programme_files_and_missing_path(tmp_path):
    with pytest.raises(ReadError, match=r"no file named groups\.\*"):
        load(tmp_path)
    with pytest.raises(ReadError, match=r"does not exist"):
        load(tmp_path / "absent")


def test_global_columns_mapping_applies_where_the_column_exists(tmp_path, prog):
    for name in ("members", "attendance", "surveys"):
        prog[name] = prog[name].rename(columns={"member_id": "Client Code"})
    ds = _load(hv.write(tmp_path, prog), columns={"Client Code": "member_id"})
    assert sorted(ds.attendance["member_id"].unique()) == ["M01", "M02", "M03"]
    assert len(ds.responses) == 4


# --------------------------------------------------------------------------
# nothing lost silently
# --------------------------------------------------------------------------
def test_rows_read_equal_kept_plus_excluded_in_report(tmp_path, prog):
    a = prog["attendance"]
    extra = pd.concat([a.iloc[[0]], pd.DataFrame([("M02", "G1", "2025-02-10", "absent"),
                                                  ("M01", "G1", "2025-01-27", "absent")], columns=a.columns)])
    prog["attendance"] = pd.concat([a, extra], ignore_index=True)
    ds = _load(hv.write(tmp_path, prog))
    rc = ds.meta["row_counts"]["attendance"]
    q = ds.quality.to_frame()
    excluded_entries = q[(q["action"] == "excluded") & (q["file"] == "attendance.csv")]
    assert rc == {"read": 17, "excluded": 3, "inferred": 0, "kept": 14}
    assert len(excluded_entries) == rc["excluded"]
    assert excluded_entries["row"].tolist() == [16, 17, 18]


def test_data_quality_warning_when_rows_are_excluded(tmp_path, prog):
    prog["attendance"] = pd.concat([prog["attendance"], prog["attendance"].iloc[[0]]], ignore_index=True)
    hv.write(tmp_path, prog)
    with pytest.warns(DataQualityWarning, match=r"1 row\(s\) excluded"):
        load(tmp_path, today=hv.TODAY)


def test_several_attendance_files_as_array_of_tables(tmp_path, prog):
    a = prog.pop("attendance")
    hv.write(tmp_path, prog)
    a.iloc[:8].to_csv(tmp_path / "att_g1.csv", index=False)
    a.iloc[8:].to_csv(tmp_path / "att_g2.csv", index=False)
    toml = ('[files.groups]\npath = "groups.csv"\n[files.members]\npath = "members.csv"\n'
            '[files.sessions]\npath = "sessions.csv"\n[[files.attendance]]\npath = "att_g1.csv"\n'
            '[[files.attendance]]\npath = "att_g2.csv"\nformat = "roster"\n')
    (tmp_path / "programme.toml").write_text(toml, encoding="utf-8")
    ds = _load(tmp_path / "programme.toml")
    assert len(ds.attendance) == 14
    assert ds.meta["row_counts"]["attendance"]["read"] == 14
    dup = a.iloc[[0]].assign(status="absent")  # same key as att_g1.csv row 2, another mark
    dup.to_csv(tmp_path / "att_g2.csv", index=False, mode="a", header=False)
    with pytest.raises(ValidationError, match=r"att_g1\.csv, row 2.*conflicting duplicates"):
        _load(tmp_path / "programme.toml")


def test_config_argument_overrides_folder_settings(tmp_path, prog):
    hv.write(tmp_path, prog)
    ds = _load(tmp_path, config={"programme": {"name": "Override", "timepoints": ["baseline", "week_12",
                                                                                 "week_26"]}})
    assert ds.meta["programme"] == "Override" and ds.timepoints == ("baseline", "week_12", "week_26")
    with pytest.raises(ConfigError, match=r"programme\.timepoints.*non-empty list"):
        _load(tmp_path, config={"programme": {"timepoints": "baseline"}})


def test_survey_of_unknown_member_or_wrong_group_and_fractional_item():
    p = hv.base_programme()
    s = p["surveys"].copy()
    s["group_id"] = ["G1", "G2", "G2", "G1"]  # M02 is in G1, not G2
    s.loc[3, "member_id"] = "M09"
    s.loc[0, "phq9_4"] = "2.5"
    with pytest.raises(ValidationError) as info:
        validate(p["groups"], p["members"], p["sessions"], p["attendance"], s, today=hv.TODAY)
    got = sorted((pr.row, pr.column, pr.reason.split(" (")[0]) for pr in info.value.problems)
    assert got == [(2, "phq9_4", "item response outside the instrument's range 0 to 3"),
                   (3, "group_id", "survey response names a group the member is not enrolled in"),
                   (5, "member_id", "survey response from a member who is not in the members table")]


def test_identifier_error_wins_when_mixed_with_other_problems():
    p = hv.base_programme()
    m = p["members"].assign(email=["a@x", "b@x", "c@x"])
    m.loc[0, "enrolled_on"] = "nonsense"
    with pytest.raises(IdentifierError) as info:
        validate(p["groups"], m, p["sessions"], p["attendance"], today=hv.TODAY)
    assert {pr.reason.split(":")[0] for pr in info.value.problems} >= {"the members table holds direct identifiers",
                                                                      "not a date that can be read"}


def test_validate_does_not_modify_the_callers_frames():
    p = hv.base_programme()
    p["attendance"].loc[0, "member_id"] = " m01 "
    before = {k: v.copy() for k, v in p.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        validate(p["groups"], p["members"], p["sessions"], p["attendance"], p["surveys"], today=hv.TODAY)
    for k in p:
        pd.testing.assert_frame_equal(p[k], before[k])


_BAD_INPUTS = {
    "member_id all empty": ("attendance", lambda a: a.assign(member_id=float("nan")), r"member_id is empty"),
    "date as a number": ("attendance", lambda a: a.assign(session_date=45000), r"a number, not a date"),
    "attended partly empty": ("attendance", lambda a: a.drop(columns="status").assign(
        attended=[1.0, float("nan")] + [0.0] * (len(a) - 2)), r"row 3, column 'attended': attended is empty"),
    "enrolled as integers": ("members", lambda m: m.assign(enrolled_on=[1, 2, 3]), r"a number, not a date"),
    "timepoint all empty": ("surveys", lambda s: s.assign(timepoint=float("nan")), r"timepoint is empty"),
    "cancelled not yes/no": ("sessions", lambda s: s.assign(cancelled="maybe"), r"not a yes/no value"),
    "unknown status": ("attendance", lambda a: a.assign(status="here"), r"status must be one of present"),
    "no columns at all": ("members", lambda m: pd.DataFrame(), r"lacks required column"),
}


@pytest.mark.parametrize("case", sorted(_BAD_INPUTS))
def test_bad_input_gives_a_groupeval_error_never_a_pandas_traceback(case):
    table, change, message = _BAD_INPUTS[case]
    p = hv.base_programme()
    p[table] = change(p[table])
    with pytest.raises((ValidationError, SchemaError), match=message):
        validate(p["groups"], p["members"], p["sessions"], p["attendance"], p["surveys"], today=hv.TODAY)


def test_timezones_and_times_of_day_are_normalised_to_the_day():
    p = hv.base_programme()
    a = p["attendance"].assign(session_date=pd.to_datetime(p["attendance"]["session_date"]) + pd.Timedelta(hours=19))
    ds = validate(p["groups"], p["members"], p["sessions"], a, today=hv.TODAY)
    assert (ds.attendance["session_date"] == ds.attendance["session_date"].dt.normalize()).all()
    assert len(ds.attendance) == 14 and len(ds.quality) == 0


def test_ids_as_arrow_strings_in_one_table_and_objects_in_another_validate_alike():
    # Regression: `astype("string[pyarrow]")` stores large_string; mixing it with
    # plain object ids in another table once raised a raw ArrowInvalid.
    p = hv.base_programme()
    plain = validate(p["groups"], p["members"], p["sessions"], p["attendance"], today=hv.TODAY)
    members = p["members"].astype({"member_id": "string[pyarrow]", "group_id": "string[pyarrow]"})
    mixed = validate(p["groups"], members, p["sessions"], p["attendance"], today=hv.TODAY)
    for name in ("members", "attendance"):
        pd.testing.assert_frame_equal(getattr(mixed, name), getattr(plain, name))
