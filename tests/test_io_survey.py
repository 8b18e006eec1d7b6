"""read_survey: wide, REDCap (+ dictionary, repeat instruments) and Qualtrics exports.

Source of truth: the canonical responses table each export was written from
(tests/_helpers_io.py writes them with csv/openpyxl only, following the
REDCap raw-export / data-dictionary and Qualtrics three-header-row layouts).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from _helpers_io import ITEMS, canonical_responses, sort_resp, write_csv_rows, write_qualtrics, write_redcap
from groupeval.base.exceptions import ConfigError, ReadError, SchemaError
from groupeval.io import read_survey


def _same(got, canon):
    pd.testing.assert_frame_equal(sort_resp(got), sort_resp(canon))


def _check_dtypes(df):
    assert isinstance(df["member_id"].dtype, pd.StringDtype)
    assert isinstance(df["timepoint"].dtype, pd.StringDtype)
    assert str(df["completed_on"].dtype) == "datetime64[ns]"
    assert all(df[c].dtype == np.float64 for c in ITEMS)


# ------------------------------------------------------------------ wide

@pytest.mark.parametrize("suffix,encoding,delim", [(".csv", "utf-8", ","), (".csv", "cp1252", ";"),
                                                   (".csv", "utf-8-bom", "\t"), (".xlsx", None, None),
                                                   (".parquet", None, None)])
def test_wide_round_trip(tmp_path, suffix, encoding, delim):
    canon = canonical_responses(seed=1)
    p = tmp_path / f"surveys{suffix}"
    out = canon.copy()
    out["completed_on"] = out["completed_on"].dt.strftime("%d/%m/%Y")   # as typed by a person
    if suffix == ".csv":
        write_csv_rows(p, list(out.columns), [["" if pd.isna(v) else (str(int(v)) if isinstance(v, float) else v)
                                               for v in r] for r in out.itertuples(index=False)],
                       encoding=encoding, delimiter=delim)
    elif suffix == ".xlsx":
        out.to_excel(p, index=False)
    else:
        canon.to_parquet(p, index=False)
    got = read_survey(p)
    assert got.attrs["groupeval_shape"] == "wide"
    assert got.attrs["groupeval_items"] == ITEMS
    _same(got, canon)
    _check_dtypes(got)
    assert got["_source_row"].tolist() == list(range(2, len(canon) + 2))


def test_wide_item_names_in_capitals_and_mapped_columns(tmp_path):
    p = tmp_path / "s.csv"
    write_csv_rows(p, ["Participant ID", "Wave", "PHQ9_1", "WHOQOL-BREF_3", "Q7"],
                   [["007", "baseline", "2", "4", "1"]])
    got = read_survey(p, columns={"Q7": "brs_1"})
    assert got.columns.tolist()[:5] == ["member_id", "timepoint", "phq9_1", "whoqol_bref_3", "brs_1"]
    assert got.iloc[0, :5].tolist() == ["007", "baseline", 2.0, 4.0, 1.0]


def test_timepoint_argument_and_sheets_as_timepoints(tmp_path):
    p = tmp_path / "s.csv"
    write_csv_rows(p, ["member_id", "phq9_1"], [["M1", "2"]])
    assert read_survey(p, timepoint="week_12")["timepoint"].tolist() == ["week_12"]
    with pytest.raises(SchemaError, match=r"(?s)no timepoint column.*pass timepoint='baseline'"):
        read_survey(p)
    x = tmp_path / "w.xlsx"
    with pd.ExcelWriter(x) as w:
        pd.DataFrame({"member_id": ["M1"], "phq9_1": [1]}).to_excel(w, sheet_name="baseline", index=False)
        pd.DataFrame({"member_id": ["M1"], "phq9_1": [0]}).to_excel(w, sheet_name="week_12", index=False)
    got = read_survey(x)
    assert got[["timepoint", "phq9_1"]].values.tolist() == [["baseline", 1.0], ["week_12", 0.0]]


def test_non_numeric_items_all_listed(tmp_path):
    p = tmp_path / "s.csv"
    write_csv_rows(p, ["member_id", "timepoint", "phq9_1", "phq9_2"],
                   [["M1", "baseline", "Several days", "1"], ["M2", "baseline", "0", "two"], ["M3", "baseline", " ",
                                                                                              "3"]])
    with pytest.raises(ReadError, match=r"(?s)\(2 problem\(s\)\).*row 2, column 'phq9_1': item response is not a "
                                        r"number \(value: 'Several days'\).*numeric values.*row 3, column 'phq9_2'"):
        read_survey(p)


def test_missing_member_column(tmp_path):
    p = tmp_path / "s.csv"
    write_csv_rows(p, ["who", "timepoint", "phq9_1"], [["M1", "baseline", "1"]])
    with pytest.raises(SchemaError, match=r"(?s)no member_id column.*columns found: who, timepoint, phq9_1"):
        read_survey(p)


def test_bad_completed_on_dates(tmp_path):
    p = tmp_path / "s.csv"
    write_csv_rows(p, ["member_id", "timepoint", "completed_on"], [["M1", "baseline", "yesterday"]])
    with pytest.raises(ReadError, match=r"(?s)row 2, column 'completed_on': not a date \(value: 'yesterday'\)"):
        read_survey(p)


# ------------------------------------------------------------------ REDCap

@pytest.mark.parametrize("repeat", [True, False])
def test_redcap_raw_export_with_dictionary(tmp_path, repeat):
    canon = canonical_responses(seed=2)
    p, d = tmp_path / "redcap.csv", tmp_path / "dict.csv"
    write_redcap(canon, p, d, repeat_brs=repeat)
    got = read_survey(p, dictionary=d)
    assert got.attrs["groupeval_shape"] == "redcap"
    _same(got, canon)                   # repeat-instrument rows merged into one row per member x timepoint
    _check_dtypes(got)
    assert "redcap_repeat_instrument" not in got.columns
    # the merged row points at the first row of that record/event in the export
    first = 2 if not repeat else None
    if repeat:
        assert (got["_source_row"] % 2 == 0).all() and got["_source_row"].min() == 2
    else:
        assert got["_source_row"].tolist() == list(range(first, first + len(canon)))


def test_redcap_without_dictionary_and_event_mapping(tmp_path):
    canon = canonical_responses(seed=3)
    p, d = tmp_path / "redcap.csv", tmp_path / "dict.csv"
    write_redcap(canon, p, d)
    ev = {"baseline_arm_1": "T0", "week_12_arm_1": "T1", "week_26_arm_1": "T2"}
    got = read_survey(p, events=ev)
    exp = canon.assign(timepoint=canon["timepoint"].map({"baseline": "T0", "week_12": "T1", "week_26": "T2"}))
    _same(got, exp)


def test_redcap_label_export_mapped_to_codes(tmp_path):
    canon = canonical_responses(seed=4)
    p, d = tmp_path / "redcap.csv", tmp_path / "dict.csv"
    write_redcap(canon, p, d, labels=True)
    with pytest.raises(ReadError, match=r"item response is not a number \(value: '(Not at all|Several days|More)"):
        read_survey(p)                  # without the dictionary the labels cannot be coded
    _same(read_survey(p, dictionary=d), canon)


def test_redcap_conflicting_repeat_instances(tmp_path):
    p = tmp_path / "r.csv"
    write_csv_rows(p, ["record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance", "brs_1"],
                   [["1", "baseline_arm_1", "", "", ""], ["1", "baseline_arm_1", "brs", "1", "3"],
                    ["1", "baseline_arm_1", "brs", "2", "5"]])
    with pytest.raises(ReadError, match=r"(?s)row 4, column 'brs_1'.*member '1' at 'baseline' has different values "
                                        r"in rows \[2, 3, 4\]"):
        read_survey(p)


def test_redcap_checkbox_fields_kept_as_numbers(tmp_path):
    p, d = tmp_path / "r.csv", tmp_path / "d.csv"
    write_csv_rows(p, ["record_id", "redcap_event_name", "support___1", "support___2", "phq9_1"],
                   [["1", "baseline_arm_1", "1", "0", "2"]])
    write_csv_rows(d, ["Variable / Field Name", "Form Name", "Field Type", "Choices, Calculations, OR Slider Labels"],
                   [["record_id", "a", "text", ""], ["support", "a", "checkbox", "1, Peer | 2, Family"],
                    ["phq9_1", "a", "radio", "0, No | 1, A bit | 2, More | 3, Lots"]])
    got = read_survey(p, dictionary=d)
    assert got[["support___1", "support___2", "phq9_1"]].values.tolist() == [[1.0, 0.0, 2.0]]


def test_redcap_events_not_in_export(tmp_path):
    canon = canonical_responses(seed=5, n_members=2)
    p, d = tmp_path / "redcap.csv", tmp_path / "dict.csv"
    write_redcap(canon, p, d)
    with pytest.raises(ReadError, match=r"(?s)events= names events that are not in the export.*baseline_arm_1"):
        read_survey(p, events={"intake_arm_1": "baseline"})


def test_redcap_classic_project_needs_timepoint(tmp_path):
    p = tmp_path / "r.csv"
    write_csv_rows(p, ["record_id", "phq9_1", "phq9_complete"], [["1", "2", "2"]])
    with pytest.raises(SchemaError, match=r"(?s)no redcap_event_name or timepoint column.*pass timepoint="):
        read_survey(p, format="redcap")
    assert read_survey(p, format="redcap", timepoint="baseline")["timepoint"].tolist() == ["baseline"]


def test_bad_dictionary(tmp_path):
    p, d = tmp_path / "r.csv", tmp_path / "d.csv"
    write_csv_rows(p, ["record_id", "redcap_event_name", "phq9_1"], [["1", "baseline_arm_1", "2"]])
    write_csv_rows(d, ["name", "type"], [["phq9_1", "radio"]])
    with pytest.raises(SchemaError, match=r"(?s)data dictionary lacks required columns.*'Variable / Field Name'"):
        read_survey(p, dictionary=d)


# ------------------------------------------------------------------ Qualtrics

def test_qualtrics_three_header_rows(tmp_path):
    canon = canonical_responses(seed=6)
    p = tmp_path / "qualtrics.csv"
    write_qualtrics(canon, p)
    got = read_survey(p)
    assert got.attrs["groupeval_shape"] == "qualtrics"
    _same(got, canon)                    # RecordedDate -> completed_on; -99 -> NaN
    _check_dtypes(got)
    assert got["_source_row"].tolist() == list(range(4, 4 + len(canon)))   # names, text, ImportId rows counted
    assert got.attrs["groupeval_recoded_minus99"] > 0
    dropped = set(got.attrs["groupeval_dropped_columns"])
    assert {"IPAddress", "LocationLatitude", "LocationLongitude", "RecipientEmail", "RecipientLastName"} <= dropped
    assert not dropped & set(got.columns)
    assert "ResponseId" in got.columns and got["Progress"].dtype.kind in "if"


def test_qualtrics_question_ids_mapped(tmp_path):
    canon = canonical_responses(seed=7, n_members=4)
    p = tmp_path / "q.csv"
    qnames = [f"Q{i}" for i in range(1, len(ITEMS) + 1)]
    write_qualtrics(canon, p, item_names=qnames)
    got = read_survey(p, columns=dict(zip(qnames, ITEMS)))
    _same(got, canon)


def test_qualtrics_without_member_mapping(tmp_path):
    canon = canonical_responses(seed=8, n_members=2)
    p = tmp_path / "q.csv"
    write_qualtrics(canon, p)
    with pytest.raises(SchemaError, match=r"(?s)no member_id column.*ExternalReference"):
        read_survey(p, columns={"member_id": "embedded_id"})


def test_bad_format_argument(tmp_path):
    with pytest.raises(ConfigError, match=r"format must be one of \('auto', 'wide', 'redcap', 'qualtrics'\)"):
        read_survey(tmp_path / "x.csv", format="spss")


def test_qualtrics_legacy_two_header_rows(tmp_path):
    # older exports: names row + question-text row, no ImportId row
    p = tmp_path / "legacy.csv"
    write_csv_rows(p, ["StartDate", "ResponseId", "member_id", "timepoint", "phq9_1"],
                   [["Start Date", "Response ID", "member_id", "timepoint", "Little interest"],
                    ["2025-03-02 10:00:00", "R_1", "M1", "baseline", "2"]])
    got = read_survey(p)
    assert got[["member_id", "phq9_1", "_source_row"]].values.tolist() == [["M1", 2.0, 3]]


def test_numbers_with_spaces_and_decimals_are_items(tmp_path):
    p = tmp_path / "s.csv"
    write_csv_rows(p, ["member_id", "timepoint", "brs_1", "brs_2"], [["M1", "baseline", " 4 ", "3.5"],
                                                                     ["M2", "baseline", "", "1e0"]])
    got = read_survey(p)
    assert got["brs_1"].tolist()[0] == 4.0 and np.isnan(got["brs_1"].tolist()[1])
    assert got["brs_2"].tolist() == [3.5, 1.0]


def test_events_on_a_non_redcap_file(tmp_path):
    p = tmp_path / "s.csv"
    write_csv_rows(p, ["member_id", "timepoint", "phq9_1"], [["M1", "baseline", "1"]])
    with pytest.raises(ConfigError, match=r"events= maps REDCap event names, but s.csv reads as a wide export"):
        read_survey(p, events={"baseline_arm_1": "baseline"})
