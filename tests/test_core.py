"""The core data model: errors that list every problem, the QualityReport, the Dataset."""
import dataclasses

import pandas as pd
import pytest

from groupeval.base.dataset import QUALITY_COLUMNS, Dataset, QualityReport
from groupeval.base.exceptions import GroupevalError, Problem, ValidationError


def test_error_lists_every_problem_with_file_row_column_value_and_fix():
    problems = [
        Problem("attendance.csv", 7, "session_date", "31/02/2025", "date does not exist", "correct the date"),
        Problem("members.csv", 3, "member_id", "", "member id is empty", "fill in the id"),
        Problem("members.csv", None, "enrolled_on", None, "required column is missing", "add the column"),
    ]
    err = ValidationError("The data cannot be used", problems)
    text = str(err)
    assert "3 problem(s)" in text
    assert ("attendance.csv, row 7, column 'session_date': date does not exist (value: '31/02/2025'). "
            "Fix: correct the date.") in text
    assert "members.csv, row 3" in text and "members.csv, column 'enrolled_on'" in text
    assert isinstance(err, GroupevalError) and isinstance(err, ValueError)
    frame = err.to_frame()
    assert list(frame.columns) == ["file", "row", "column", "value", "reason", "fix"]
    assert len(frame) == 3


def test_error_message_truncates_long_lists_but_keeps_all_problems():
    problems = [Problem("a.csv", i + 2, "x", i, "bad") for i in range(120)]
    err = ValidationError("Bad", problems)
    assert "and 70 more" in str(err)
    assert len(err.problems) == 120


def test_quality_report_concat_and_counts():
    a = QualityReport.from_records([
        {"file": "a.csv", "row": 2, "column": "x", "value": 1, "reason": "duplicate row", "action": "excluded"},
        {"file": "a.csv", "row": 5, "column": "x", "value": 1, "reason": "duplicate row", "action": "excluded"},
    ])
    b = QualityReport.from_records([
        {"file": "b.csv", "row": 3, "column": "member_id", "value": " m01", "reason": "id spelling",
         "action": "repaired"},
    ])
    both = a + b
    assert len(both) == 3 and both.n_excluded == 2
    assert tuple(both.to_frame().columns) == QUALITY_COLUMNS
    assert both.to_frame()["row"].tolist() == [2, 5, 3]
    counts = both.by_reason()
    assert counts.iloc[0].to_dict() == {"file": "a.csv", "reason": "duplicate row", "action": "excluded", "n": 2}
    assert len(QualityReport()) == 0 and "no rows" in repr(QualityReport())


def _tiny_dataset(**kw):
    d = pd.to_datetime
    return Dataset(
        groups=pd.DataFrame({"group_id": ["G1"], "group_type": ["12-step"]}),
        members=pd.DataFrame({"member_id": ["M1"], "group_id": ["G1"], "enrolled_on": d(["2025-01-01"])}),
        sessions=pd.DataFrame({"group_id": ["G1", "G1"], "session_date": d(["2025-01-06", "2025-01-13"]),
                               "cancelled": [False, False]}),
        attendance=pd.DataFrame({"member_id": ["M1", "M1"], "group_id": ["G1", "G1"],
                                 "session_date": d(["2025-01-06", "2025-01-13"]), "attended": [True, False]}),
        responses=pd.DataFrame({"member_id": ["M1"], "timepoint": ["baseline"]}),
        **kw,
    )


def test_dataset_is_frozen_and_reports_counts_and_cutoff():
    ds = _tiny_dataset()
    with pytest.raises(dataclasses.FrozenInstanceError):
        ds.members = ds.members  # type: ignore[misc]
    assert ds.counts()["rows"].tolist() == [1, 1, 2, 2, 1]
    assert ds.data_cutoff == pd.Timestamp("2025-01-13")
    assert ds.replace(cutoff=pd.Timestamp("2025-01-10")).data_cutoff == pd.Timestamp("2025-01-10")
    assert "attendance=2" in repr(ds)


@pytest.mark.parametrize("column, kind", [
    ("name", "name"), ("first_name", "name"), ("participant_name", "name"), ("facilitator_name", "name"),
    ("surname", "name"), ("e_mail", "email"), ("email_address", "email"), ("mobile_no", "phone"),
    ("telephone_number", "phone"), ("home_address", "address"), ("postcode", "address"),
    ("dob", "date of birth"), ("date_of_birth", "date of birth"), ("birth_date", "date of birth"),
])
def test_identifier_patterns_flag_direct_identifiers(column, kind):
    import re

    from groupeval.base.schema import IDENTIFIER_PATTERNS

    hits = [k for k, pattern in IDENTIFIER_PATTERNS.items() if re.search(pattern, column)]
    assert hits and hits[0] == kind


@pytest.mark.parametrize("column", ["cancelled", "excellent", "group_name", "site_name", "member_id", "group_id",
                                    "site", "session_date", "exit_reason", "age_band", "gender", "brs_1", "status"])
def test_identifier_patterns_leave_ordinary_columns_alone(column):
    import re

    from groupeval.base.schema import IDENTIFIER_PATTERNS

    assert not any(re.search(p, column) for p in IDENTIFIER_PATTERNS.values())


def test_every_top_level_name_resolves():
    import groupeval

    for name in groupeval.__all__:
        assert getattr(groupeval, name) is not None, name


@pytest.mark.parametrize("name", ["retention", "reliability"])
def test_top_level_function_is_a_function_not_a_module_in_every_import_order(name):
    # The modules live in groupeval.statistics, so importing them first cannot
    # rebind the top-level name: ge.retention is the function, always.
    import subprocess
    import sys

    code = (f"import groupeval.statistics.{name} as m, groupeval as ge, types\n"
            f"assert ge.{name} is m.{name}\n"
            f"assert not isinstance(ge.{name}, types.ModuleType)\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
