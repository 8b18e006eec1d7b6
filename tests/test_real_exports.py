"""The corpus of real export files (issue 10 item 1): each is read correctly or refused with a clear error.

The 43 files in ``shared/real-exports/`` (found by searching upward from this
file, so the tests run from the main checkout and from worktrees) come from
eight open-source projects (see SOURCES.md there).  For every export the
table below says what a user would pass and what must come out:

* ``read``: member and timepoint counts; every numeric item value of the raw
  file (read here with Python's csv module, independently of groupeval)
  equals the value read, at the member and timepoint of its row; explicit
  spot checks for what needs the dictionary (labels, comma decimals, letter
  codes); no header row read as a member; no network or location column; and
  after validation with ``allow_identifiers=True`` no identifier column left
  (without it: IdentifierError when the file holds names or contact details);
* ``refused``: a groupeval error whose message says what to do.
"""
from __future__ import annotations

import csv
import math
import re
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import groupeval as ge
from groupeval.base.identifiers import find_identifier_columns
from groupeval.io import read_attendance_source, read_survey_source


def _corpus() -> Path | None:
    for parent in Path(__file__).resolve().parents:
        cand = parent / "shared" / "real-exports"
        if cand.is_dir():
            return cand
    return None


CORPUS = _corpus()
pytestmark = pytest.mark.skipif(CORPUS is None, reason="the corpus folder shared/real-exports/ is not in any parent "
                                                       "folder of the tests (it is not shipped with the package)")
QUALTRICS_ID = {"columns": {"ResponseId": "member_id"}, "timepoint": "baseline"}
NETWORK = re.compile(r"ip_?address|latitude|longitude|location", re.I)


@dataclass
class Case:
    file: str
    dictionary: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    members: int | None = None
    timepoints: int | None = None
    #: (member, timepoint, column) -> value read
    spots: dict[tuple[str, str, str], Any] = field(default_factory=dict)
    not_items: tuple[str, ...] = ()
    items_include: tuple[str, ...] = ()
    #: the raw file holds names or contact details: validate() refuses without allow_identifiers
    identifiers: bool = False
    refused: tuple[type, str] | None = None
    rows_per_member: int | None = None

    @property
    def id(self) -> str:
        return self.file.rsplit(".", 1)[0]


CASES = [
    # ----------------------------------------------------------------- REDCap
    Case("redcapr_simple_data.csv", "redcapr_simple_dictionary.csv", {"timepoint": "baseline"}, 5, 1,
         {("1", "baseline", "sex"): 0.0, ("2", "baseline", "sex"): 1.0, ("5", "baseline", "race___1"): 1.0},
         not_items=("telephone", "email", "dob", "age", "bmi", "mugshot", "comments"), items_include=("sex",),
         identifiers=True),
    Case("redcapr_simple_data.csv", "redcapr_simple_metadata_api.csv", {"timepoint": "baseline"}, 5, 1,
         {("3", "baseline", "ethnicity"): 0.0}, not_items=("telephone", "email", "age", "bmi"), identifiers=True),
    Case("redcapr_longitudinal_data.csv", "redcapr_longitudinal_dictionary.csv", {}, 3, 10,
         not_items=("telephone_1", "email", "date_enrolled", "comments", "bmi"), items_include=("ethnicity", "race"),
         identifiers=True),
    Case("redcapr_repeating-instruments_data.csv", "redcapr_repeating-instruments_dictionary.csv",
         {"repeat_timepoints": {1: "baseline", 2: "week_12", 3: "week_26"}}, 2, 3,
         {("1", "week_12", "bp_systolic"): 111.0, ("1", "week_26", "bp_diastolic"): 102.0,
          ("1", "week_26", "race"): 4.0, ("2", "baseline", "sex"): 1.0},
         not_items=("bp_systolic", "date_bp", "age"), identifiers=True),
    Case("redcapr_repeating-instruments_data.csv", "redcapr_repeating-instruments_dictionary.csv", {},
         refused=(ge.ReadError, r"several instances per record.*repeat_timepoints=")),
    Case("redcapr_vignette-repeating_data.csv", "redcapr_vignette-repeating_dictionary.csv",
         {"repeat_timepoints": "visit_{instance}"}, 2, 3,
         {("1", "visit_2", "sbp"): 1.2, ("2", "visit_3", "dbp"): 22.3, ("2", "visit_1", "weight"): 22.0,
          ("1", "visit_2", "conc"): "1.2 ppm"}, not_items=("sbp", "image_profile")),
    Case("redcapr_checkboxes-1_data.csv", "redcapr_checkboxes-1_dictionary.csv", {"timepoint": "baseline"}, 4, 1,
         {("1", "baseline", "check_two___c"): 1.0, ("2", "baseline", "check_two___d"): 1.0},
         items_include=("check_one___1", "check_two___e"), not_items=("desired_result",)),
    Case("redcapr_dag_data.csv", "redcapr_dag_dictionary.csv", {"timepoint": "baseline"}, 3, 1,
         {("332-3", "baseline", "redcap_data_access_group"): "dagb"}, not_items=("telephone", "email"),
         identifiers=True),
    Case("redcapr_survey_data.csv", "redcapr_survey_dictionary.csv", {"timepoint": "baseline"}, 2, 1,
         items_include=("has_diabetes", "pmq1"), not_items=("telephone_1", "email", "dob"), identifiers=True),
    Case("redcapr_multilevel-model-1_data.csv", "redcapr_multilevel-model-1_dictionary.csv",
         {"repeat_timepoints": "visit_{instance}"}, 20, 10,
         {("1001", "visit_1", "cog_1"): 5.4, ("1001", "visit_2", "phys_3"): 0.9,
          ("1001", "visit_3", "race"): "More than One Race"},
         not_items=("cog_1", "phys_1", "age"), rows_per_member=10),
    Case("redcapr_clinical-trial-1_data.csv", "redcapr_clinical-trial-1_dictionary.csv", {"timepoint": "baseline"},
         500, 1, {("1", "baseline", "race"): 4.0, ("3", "baseline", "weight"): 166.0},
         not_items=("phone", "height"), identifiers=True),
    Case("redcapr_arm-multiple-delete_data.csv", "redcapr_arm-multiple-delete_dictionary.csv", {},
         refused=(ge.ReadError, r"several arms of the same event.*events=")),
    Case("redcapr_nonnumeric-record-id_data.csv", "redcapr_nonnumeric-record-id_dictionary.csv",
         {"timepoint": "baseline"}, 3, 1, {("b", "baseline", "demographics_complete"): 2.0}, identifiers=True),
    Case("redcapr_potentially-problematic-values_data.csv", "redcapr_potentially-problematic-values_dictionary.csv",
         {"timepoint": "baseline"}, 2, 1, {("1", "baseline", "integer_before_validation"): "before validation 1"},
         not_items=("integer_before_validation", "time_1")),
    Case("redcapapi_Records.csv", "redcapapi_DataDictionary.csv", {}, 20, 1,
         {("2", "event_1", "number_1dp_comma_test"): 36.5, ("2", "event_1", "number_2dp_comma_test"): 18.8,
          ("2", "event_1", "radio_test"): "a", ("2", "event_1", "yesno_test"): 1.0,
          ("2", "event_1", "integer_test"): 67.0, ("2", "event_1", "calc_addition"): 43.0},
         not_items=("email_test", "phone_test", "calc_addition", "notes_test", "file_upload_test", "radio_test",
                    "date_dmy_test", "number_test"),
         items_include=("treatment", "checkbox_test___x", "truefalse_test", "slider_no_label_test"), identifiers=True),
    Case("rtd_case01_records.csv", "rtd_case01_dictionary.csv", {"timepoint": "baseline"}, 100, 1,
         {("1", "baseline", "dropdown_character"): "a", ("1", "baseline", "dropdown_mixed"): "c_3",
          ("1", "baseline", "dropdown_numeric"): 2.0},
         not_items=("dropdown_character", "dropdown_mixed", "phone", "email", "calculated", "integer", "date_dmy"),
         items_include=("dropdown_numeric", "radio_buttons", "yes_no", "true_false", "slider", "checkbox___1"),
         identifiers=True),
    Case("rtd_case07_records.csv", "rtd_case07_dictionary.csv", {}, 79, 13,
         {("1", "measurement_2", "log_size"): 4.98}, items_include=("chamber", "ozone")),
    Case("rits_ExampleProject_DATA.csv", "rits_ExampleProject_DataDictionary.csv",
         {"repeat_timepoints": "sale_{instance}"}, 5, 4,
         {("AMC Javelin", "sale_2", "customer"): "Sue", ("AMC Javelin", "sale_3", "choice"): "choice2",
          ("AMC Javelin", "sale_1", "color"): 1.0, ("Camaro Z28", "sale_2", "hp"): 245.0},
         items_include=("color", "cyl", "letter_group___a"), not_items=("choice", "price"), identifiers=True),
    Case("rits_WARRIOR_DATA.csv", "rits_WARRIOR_DataDictionary.csv", {"repeat_timepoints": "{event}_{instance}"}, 2, 5,
         {("806-1", "baseline", "demo_ethnic"): 2.0}, not_items=("demo_ssn", "demo_email", "demo_daytime"),
         identifiers=True),
    # -------------------------------------------------------------- Qualtrics
    Case("qualtrics_qualtRics_sample.csv", None, QUALTRICS_ID, 1, 1, {("R_2YPOQ602ER1jkf1", "baseline", "Q1"): 2}),
    Case("qualtrics_qualtRics_sample_legacy.csv", None, QUALTRICS_ID, 1, 1,
         {("R_2YPOQ602ER1jkf1", "baseline", "Q2"): "Hello World!"}),
    Case("qualtrics_qtools_Matrix_Single_Answer_Testing.csv", None, QUALTRICS_ID, 5, 1,
         {("R_9zeKuQluLf9CNU1", "baseline", "q12_1"): 1.0, ("R_bHoMX1x6YTkerpH", "baseline", "q12_2"): 3.0}),
    Case("qualtrics_qtools_No_Basis_Insights.csv", None, QUALTRICS_ID, 15, 1,
         {("R_ebopwASnJ6p0KSp", "baseline", "q3_1"): -1.0}),
    Case("qualtrics_qtools_Single_Answer_MC_Insights.csv", None, QUALTRICS_ID, 5, 1,
         {("R_5juoQy4AOxpQtb7", "baseline", "Q3"): 5}),
    Case("qualtrics_qtools_Single_Answer_MC_legacy.csv", None, QUALTRICS_ID, 5, 1,
         {("R_5juoQy4AOxpQtb7", "baseline", "Q3"): 5}),
    Case("qualtrics_qualtRics_sample.csv", None, {"timepoint": "baseline"},
         refused=(ge.SchemaError, r"no member_id column.*columns=\{'<raw name>': 'member_id'\}")),
    # ------------------------------------------------------------- attendance
    Case("attendance_Cmiller3rd_Attendance.xlsx", None, {"columns": {"unnamed_A": "member_id"}, "group": "G1"},
         20, None, {("Ariyah Meyer", "2023-08-05", "attended"): False,
                    ("Ariyah Meyer", "2023-08-03", "attended"): True,
                    ("Nova James", "2023-08-31", "attended"): True}, rows_per_member=29),
    Case("attendance_Cmiller3rd_Attendance.xlsx", None, {"group": "G1"},
         refused=(ge.SchemaError, r"lacks a member_id column.*columns=\{'<raw name>': 'member_id'\}.*unnamed_A")),
    Case("attendance_pychoir_attendance.csv", None, {},
         refused=(ge.ReadError, r"every data row has 3 fields but the header has 4.*delete the unused column")),
]


def _read(case: Case) -> Any:
    path = CORPUS / case.file
    if case.file.startswith("attendance"):
        return read_attendance_source(path, **case.kwargs)
    dic = CORPUS / case.dictionary if case.dictionary else None
    return read_survey_source(path, dictionary=dic, **case.kwargs)


def _raw_rows(file: str) -> tuple[list[str], list[list[str]]]:
    with open(CORPUS / file, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def _same(got: Any, want: Any) -> bool:
    if isinstance(want, float):
        return isinstance(got, (int, float, np.number)) and not math.isnan(got) and math.isclose(got, want)
    return got == want or str(got) == str(want)


def _check_redcap_values(case: Case, src: Any) -> int:
    """Every numeric item value of the raw export equals the value read at its member and timepoint."""
    header, rows = _raw_rows(case.file)
    t = src.table.set_index(["member_id", "timepoint"])
    rid = header[0] if "record_id" not in header else "record_id"
    col = {h: i for i, h in enumerate(header)}
    spec = case.kwargs.get("repeat_timepoints")
    excluded: set[str] = set()
    if spec is not None and "redcap_event_name" not in col and "timepoint" not in case.kwargs:
        # records with no repeat row have no timepoint: excluded, with one note counting them
        repeated = {r[col[rid]] for r in rows if any(r) and r[col["redcap_repeat_instrument"]]}
        excluded = {r[col[rid]] for r in rows if any(r)} - repeated
        assert not excluded & set(src.table["member_id"])
        counted = [n.count for n in src.notes if "without any repeated-instrument row" in n.reason]
        assert counted == ([len(excluded)] if excluded else [])
    checked = 0
    for r in rows:
        if not any(r):
            continue
        event = re.sub(r"_arm_\d+$", "", r[col["redcap_event_name"]]) if "redcap_event_name" in col else None
        inst = r[col["redcap_repeat_instance"]] if "redcap_repeat_instance" in col else ""
        if inst and spec is not None:
            tp = (spec.format(instance=inst, event=event or "", instrument=r[col["redcap_repeat_instrument"]])
                  if isinstance(spec, str) else spec[int(inst)])
        else:
            tp = event or case.kwargs.get("timepoint")
        member = r[col[rid]]
        if member in excluded:  # a record without any repeat row (its exclusion is noted)
            continue
        for item in src.items:
            raw = r[col[item]] if item in col else ""
            if not re.fullmatch(r"-?\d+(\.\d+)?", raw.strip()):
                continue
            if tp is None:  # a base row spread onto its member's repeat rows
                values = t.loc[member, item].tolist()
            else:
                values = [t.loc[(member, tp), item]]
            assert all(_same(v, float(raw)) for v in values), (member, tp, item, raw, values)
            checked += 1
    return checked


def _check_qualtrics_values(case: Case, src: Any) -> int:
    raw_header, rows = _raw_rows(case.file)
    rid = next(i for i, h in enumerate(rows[0] if raw_header[0] == "V1" else raw_header) if h.lower() == "responseid")
    body = [r for r in rows if r and r[rid].startswith("R_")]  # responses only (never a header row)
    assert len(body) == len(src.table)
    header = list(src.table.columns)
    checked = 0
    for item in src.items:
        raw_col = next(i for i, h in enumerate(raw_header) if h.lower() == item.lower())
        for r, got in zip(body, src.table[item]):
            if re.fullmatch(r"-?\d+", r[raw_col]):
                assert _same(got, float(r[raw_col])), (item, r[raw_col], got)
                checked += 1
    assert "member_id" in header
    return checked


def _validate(src: Any, allow: bool) -> ge.Dataset:
    kind = "attendance" if src.kind == "attendance" else "responses"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ge.validate(**{kind: src}, allow_identifiers=allow, today="2030-01-01")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id + ("-refused" if c.refused else ""))
def test_real_export_reads_correctly_or_is_refused_with_a_fix(case):
    if case.refused is not None:
        cls, pattern = case.refused
        with pytest.raises(cls) as info:
            _read(case)
        assert re.search(pattern, str(info.value), re.S), str(info.value)
        return
    src = _read(case)
    t = src.table
    assert t["member_id"].nunique() == case.members
    if case.timepoints is not None:
        assert t["timepoint"].nunique() == case.timepoints
    if case.rows_per_member is not None:
        assert (t.groupby("member_id").size() == case.rows_per_member).all()
    if src.kind == "attendance":
        indexed = t.assign(session_date=t["session_date"].dt.strftime("%Y-%m-%d")).set_index(["member_id",
                                                                                               "session_date"])
    else:
        indexed = t.set_index(["member_id", "timepoint"])
    for (member, at, column), want in case.spots.items():
        assert _same(indexed.loc[(member, at), column], want), (member, at, column, indexed.loc[(member, at), column])
    # no header row read as a member; no network or location column
    header = set(_raw_rows(case.file)[0]) if case.file.endswith(".csv") else set()
    assert not set(t["member_id"].astype(str)) & (header | {"ResponseID", "Response ID", "Antwort-ID"})
    assert not t["member_id"].astype(str).str.startswith("{").any()
    assert not [c for c in t.columns if NETWORK.search(str(c))]
    for c in case.not_items:
        assert c not in src.items, f"{c} is not an item (the data dictionary says so)"
    assert set(case.items_include) <= set(src.items)
    if case.dictionary:
        _check_redcap_values(case, src)
    elif case.file.startswith("qualtrics"):
        _check_qualtrics_values(case, src)
    # validation: identifiers refused unless allowed, then removed
    if case.identifiers:
        with pytest.raises(ge.IdentifierError, match="allow_identifiers=True"):
            _validate(src, allow=False)
    ds = _validate(src, allow=True)
    out = ds.attendance if src.kind == "attendance" else ds.responses
    assert find_identifier_columns(out) == {}
    assert not [c for c in out.columns if NETWORK.search(str(c))]
    rc = ds.meta["row_counts"]["attendance" if src.kind == "attendance" else "responses"]
    assert rc["read"] - rc["excluded"] + rc["inferred"] == rc["kept"]


def test_wide_register_footer_is_excluded_once_and_marks_add_up_to_its_own_total():
    # the register's footer "# present" holds per-session totals; its grand total is 492
    src = read_attendance_source(CORPUS / "attendance_Cmiller3rd_Attendance.xlsx",
                                 columns={"unnamed_A": "member_id"}, group="G1")
    assert int(src.table["attended"].sum()) == 492
    foot = [n for n in src.notes if "totals" in n.reason]
    assert len(foot) == 1 and foot[0].row == 24 and foot[0].value == "# present"
    ds = _validate(src, allow=False)
    q = ds.quality.to_frame()
    assert (q["reason"].str.contains("totals")).sum() == 1
    assert ds.meta["row_counts"]["attendance"]["excluded"] == 29  # the footer's 29 session cells, once


def test_repeat_timepoints_reach_the_reader_through_load_and_toml(tmp_path):
    for name in ("redcapr_repeating-instruments_data.csv", "redcapr_repeating-instruments_dictionary.csv"):
        shutil.copy(CORPUS / name, tmp_path / name.replace("redcapr_repeating-instruments_data", "surveys"))
    with pytest.raises(ge.ReadError, match="repeat_timepoints="):
        ge.load(tmp_path, allow_identifiers=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = ge.load(tmp_path, allow_identifiers=True, repeat_timepoints={1: "baseline", 2: "week_12", 3: "week_26"})
        assert ds.timepoints == ("baseline", "week_12", "week_26")
        (tmp_path / "groupeval.toml").write_text(
            '[files.surveys]\npath = "surveys.csv"\ndictionary = "redcapr_repeating-instruments_dictionary.csv"\n'
            'repeat_timepoints = { 1 = "baseline", 2 = "week_12", 3 = "week_26" }\n'
            '[privacy]\nallow_identifiers = true\n')
        ds2 = ge.load(tmp_path)
    pd.testing.assert_frame_equal(ds.responses, ds2.responses)
    assert ds.responses.loc[ds.responses["timepoint"] == "week_12", "bp_systolic"].tolist() == [111.0]


LEGITIMATE = {  # columns of the corpus that hold no identifier: the guard must leave them
    ("redcapr_longitudinal_data.csv", "redcapr_longitudinal_dictionary.csv"): (
        "next_of_kin_confirmed", "ec_confirmed", "comments", "study_comments", "specify_mood", "withdraw_reason"),
    ("redcapr_simple_data.csv", "redcapr_simple_dictionary.csv"): ("comments", "mugshot", "age", "bmi"),
    ("redcapr_checkboxes-1_data.csv", "redcapr_checkboxes-1_dictionary.csv"): ("desired_result",),
    ("rtd_case01_records.csv", "rtd_case01_dictionary.csv"): ("unvalidated_text", "notes", "calculated",
                                                              "datetime_dmyhms", "time", "signature_draw"),
    ("redcapapi_Records.csv", "redcapapi_DataDictionary.csv"): ("text_test", "letters_only_test", "notes_test",
                                                                "row_purpose", "redcap_data_access_group"),
    ("redcapr_survey_data.csv", "redcapr_survey_dictionary.csv"): ("redcap_survey_identifier",
                                                                   "prescreening_survey_timestamp"),
    ("qualtrics_qualtRics_sample.csv", None): ("Q2", "DistributionChannel", "UserLanguage", "Duration (in seconds)"),
    ("qualtrics_qtools_Single_Answer_MC_Insights.csv", None): ("mc_question_five_TEXT", "ResponseSet"),
}


@pytest.mark.parametrize("key", LEGITIMATE, ids=lambda k: k[0].rsplit(".", 1)[0])
def test_legitimate_corpus_columns_are_not_taken_for_identifiers(key):
    file, dictionary = key
    kwargs = dict(QUALTRICS_ID) if file.startswith("qualtrics") else {}
    if file.startswith(("redcapr_simple", "redcapr_checkboxes", "rtd_case01", "redcapr_survey")):
        kwargs["timepoint"] = "baseline"
    src = read_survey_source(CORPUS / file, dictionary=CORPUS / dictionary if dictionary else None, **kwargs)
    flagged = find_identifier_columns(src.table, known=src.identifiers)
    present = [c for c in LEGITIMATE[key] if c in src.table.columns]
    assert present == list(LEGITIMATE[key])
    assert not set(present) & set(flagged), {c: flagged[c] for c in set(present) & set(flagged)}
