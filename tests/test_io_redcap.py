"""REDCap exports read through their data dictionary (hand-made files; values worked out by hand)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import groupeval as ge
from _helpers_io import write_csv_rows
from groupeval.io import read_survey, read_survey_source

CLASSIC = ["Variable / Field Name", "Form Name", "Field Type", "Choices, Calculations, OR Slider Labels",
           "Text Validation Type OR Show Slider Number", "Identifier?"]
API = ["field_name", "form_name", "field_type", "select_choices_or_calculations",
       "text_validation_type_or_show_slider_number", "identifier"]
FIELDS = [["record_id", "f", "text", "", "", ""],
          ["phq9_1", "f", "radio", "0, Not at all | 1, Several days | 2, More than half | 3, Nearly every day", "", ""],
          ["flower", "f", "radio", "a, Carnation | b, Tulip | c, Daffodil", "", ""],
          ["smoker", "f", "yesno", "", "", ""],
          ["agree", "f", "truefalse", "", "", ""],
          ["support", "f", "checkbox", "1, Peer | 2, Family", "", ""],
          ["telephone_1", "f", "text", "", "phone", "y"],
          ["email_2", "f", "text", "", "email", "y"],
          ["visit_3", "f", "text", "", "date_ymd", ""],
          ["temp", "f", "text", "", "number_1dp_comma_decimal", ""],
          ["score_4", "f", "calc", "[phq9_1] + 1", "", ""]]


def _files(tmp_path, rows, header=CLASSIC, data_header=None):
    p, d = tmp_path / "r.csv", tmp_path / "d.csv"
    write_csv_rows(d, header, FIELDS)
    write_csv_rows(p, data_header or ["record_id", "redcap_event_name", "phq9_1", "flower", "smoker", "agree",
                                      "support___1", "support___2", "telephone_1", "email_2", "visit_3", "temp",
                                      "score_4"], rows)
    return p, d


RAW = [["1", "baseline_arm_1", "2", "b", "1", "0", "1", "0", "(415) 555-1212", "a@b.org", "2025-01-06", "36,5", "3"],
       ["2", "baseline_arm_1", "0", "c", "0", "1", "0", "1", "", "", "2025-01-07", "37,25", "1"]]
LABELS = [["1", "baseline_arm_1", "More than half", "Tulip", "Yes", "False", "Checked", "Unchecked", "(415) 555-1212",
           "a@b.org", "2025-01-06", "36,5", "3"],
          ["2", "baseline_arm_1", "Not at all", "daffodil ", "No", "True", "Unchecked", "Checked", "", "",
           "2025-01-07", "37,25", "1"]]


@pytest.mark.parametrize("header", [CLASSIC, API], ids=["classic", "api"])
def test_dictionary_decides_items_and_numbers(tmp_path, header):
    p, d = _files(tmp_path, RAW, header)
    src = read_survey_source(p, dictionary=d)
    t = src.table
    assert set(src.items) == {"phq9_1", "smoker", "agree", "support___1", "support___2"}
    # text, phone, e-mail, date and calc fields named like items are not items
    assert not {"telephone_1", "email_2", "visit_3", "score_4", "flower"} & set(src.items)
    assert t["phq9_1"].tolist() == [2.0, 0.0] and t["flower"].tolist() == ["b", "c"]
    assert t["temp"].tolist() == [36.5, 37.25]                      # comma decimals, as the validation says
    assert t["telephone_1"].tolist()[0] == "(415) 555-1212"        # kept as text
    assert src.identifiers == {"telephone_1": "identifier (REDCap dictionary)",
                               "email_2": "identifier (REDCap dictionary)"}


def test_label_export_mapped_back_to_codes_and_noted(tmp_path):
    p, d = _files(tmp_path, LABELS)
    src = read_survey_source(p, dictionary=d)
    t = src.table
    assert t["phq9_1"].tolist() == [2.0, 0.0]
    assert t["flower"].tolist() == ["b", "c"]                       # letter codes: labels -> codes, case-insensitive
    assert t["smoker"].tolist() == [1.0, 0.0] and t["agree"].tolist() == [0.0, 1.0]
    assert t[["support___1", "support___2"]].values.tolist() == [[1.0, 0.0], [0.0, 1.0]]
    noted = {n.column: n.value for n in src.notes if "labels mapped" in n.reason}
    # (True / False cells are booleans to the CSV parser already: read as 1 / 0 without a label mapping)
    assert noted == {"phq9_1": 2, "flower": 2, "smoker": 2, "support___1": 2, "support___2": 2}
    # the same data as raw codes read the same
    (tmp_path / "raw").mkdir()
    rp, rd = _files(tmp_path / "raw", RAW)
    raw = read_survey(rp, dictionary=rd)
    assert raw[["phq9_1", "smoker", "agree", "support___1"]].values.tolist() == \
        t[["phq9_1", "smoker", "agree", "support___1"]].values.tolist()


def test_value_that_is_no_choice_is_listed_with_the_codes(tmp_path):
    rows = [r.copy() for r in RAW]
    rows[1][3] = "rose"
    p, d = _files(tmp_path, rows)
    with pytest.raises(ge.ReadError, match=r"(?s)row 3, column 'flower': not one of the field's choices.*"
                                           r"a = Carnation, b = Tulip, c = Daffodil"):
        read_survey(p, dictionary=d)


def test_identifier_fields_of_the_dictionary_are_refused_by_validation(tmp_path):
    p, d = _files(tmp_path, RAW)
    src = read_survey_source(p, dictionary=d)
    with pytest.raises(ge.IdentifierError, match=r"telephone_1.*email_2"):
        ge.validate(responses=src, today="2030-01-01")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = ge.validate(responses=src, today="2030-01-01", allow_identifiers=True)
    assert "telephone_1" not in ds.responses and "email_2" not in ds.responses


def _repeating(tmp_path):
    p = tmp_path / "rep.csv"
    write_csv_rows(p, ["record_id", "redcap_repeat_instrument", "redcap_repeat_instance", "age", "brs_1", "brs_2"],
                   [["1", "", "", "40", "", ""], ["1", "brs", "1", "", "3", "4"], ["1", "brs", "2", "", "5", "5"],
                    ["2", "", "", "51", "", ""], ["2", "brs", "1", "", "1", "2"], ["3", "", "", "29", "", ""]])
    return p


def test_repeat_timepoints_as_mapping_and_template(tmp_path):
    p = _repeating(tmp_path)
    src = read_survey_source(p, format="redcap", repeat_timepoints={1: "baseline", "2": "week_12"})
    t = src.table.set_index(["member_id", "timepoint"])
    assert t.loc[("1", "week_12"), "brs_1"] == 5.0 and t.loc[("2", "baseline"), "brs_2"] == 2.0
    assert t.loc[("1", "week_12"), "age"] == 40          # the record's non-repeating fields on every timepoint
    (note,) = [n for n in src.notes if "without any repeated-instrument row" in n.reason]
    assert note.value == "3" and note.count == 1 and note.action == "excluded"
    tpl = read_survey(p, format="redcap", repeat_timepoints="visit_{instance}")
    assert sorted(set(tpl["timepoint"])) == ["visit_1", "visit_2"]
    # timepoint= keeps the non-repeating rows as a timepoint of their own
    own = read_survey(p, format="redcap", repeat_timepoints={1: "week_4", 2: "week_12"}, timepoint="intake")
    assert own.loc[own["timepoint"] == "intake", "age"].tolist() == [40, 51, 29]


def test_several_instances_without_repeat_timepoints_say_how(tmp_path):
    with pytest.raises(ge.ReadError, match=r"(?s)several instances per record.*repeat_timepoints=\{1: 'baseline'"):
        read_survey(_repeating(tmp_path), format="redcap")


@pytest.mark.parametrize("bad", ["visit", {"one": "baseline"}, {}])
def test_bad_repeat_timepoints(tmp_path, bad):
    with pytest.raises(ge.ConfigError, match="repeat_timepoints="):
        read_survey(_repeating(tmp_path), format="redcap", repeat_timepoints=bad)


def test_instance_without_a_timepoint(tmp_path):
    with pytest.raises(ge.ReadError, match=r"(?s)repeat_timepoints= gives no timepoint for these instances.*2"):
        read_survey(_repeating(tmp_path), format="redcap", repeat_timepoints={1: "baseline"})


def test_records_in_several_arms_of_one_event(tmp_path):
    p = tmp_path / "arms.csv"
    write_csv_rows(p, ["record_id", "redcap_event_name", "brs_1"],
                   [["1", "event_1_arm_1", "3"], ["1", "event_1_arm_2", "4"], ["2", "event_1_arm_1", "2"]])
    with pytest.raises(ge.ReadError, match=r"(?s)several arms of the same event.*'1' \(event_1\).*events="):
        read_survey(p)
    ok = read_survey(p, events={"event_1_arm_1": "baseline", "event_1_arm_2": "baseline_arm_2"})
    assert sorted(ok["timepoint"]) == ["baseline", "baseline", "baseline_arm_2"]
    assert np.isclose(ok.loc[ok["timepoint"] == "baseline_arm_2", "brs_1"], 4.0).all()
