"""Online-form exports: item columns named by position (spreadsheet letters) instead of question text.

Source of truth: the generated Google-Forms programme (tests/_helpers_forms.py) and a Microsoft
Forms-style workbook written here; the true codes are known.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import groupeval as ge
from _helpers_forms import BRS_LABELS, BRS_Q, PHQ_Q, START_FILE, write_forms_programme
from groupeval.base.exceptions import ConfigError
from groupeval.validation.forms import check_items_spec, column_letter, item_columns_by_position, letter_index


def test_letters_and_indices_round_trip():
    for i in (0, 1, 25, 26, 27, 51, 52, 701, 702):
        assert letter_index(column_letter(i)) == i
    assert column_letter(0) == "A" and column_letter(26) == "AA" and letter_index("ab") == 27


def test_items_by_range_by_letters_and_by_header_give_the_same_mapping(tmp_path):
    fp = write_forms_programme(tmp_path / "f")
    header = list(pd.read_csv(fp.folder / START_FILE, nrows=0).columns)
    first = header.index(BRS_Q.format(k=1))
    letters = [column_letter(first + k) for k in range(6)]
    want = {BRS_Q.format(k=k + 1): f"brs_{k + 1}" for k in range(6)}
    path = fp.folder / START_FILE
    assert item_columns_by_position(path, {"brs": [f"{letters[0]}:{letters[-1]}"]}, n_items={"brs": 6}) == want
    assert item_columns_by_position(path, {"brs": letters}) == want
    assert item_columns_by_position(path, {"brs": [BRS_Q.format(k=k) for k in range(1, 7)]}) == want


def test_items_by_position_errors_are_listed(tmp_path):
    fp = write_forms_programme(tmp_path / "f")
    path = fp.folder / START_FILE
    with pytest.raises(ConfigError, match="5 column\\(s\\) given but brs has 6 items"):
        item_columns_by_position(path, {"brs": ["E:I"]}, n_items={"brs": 6})
    with pytest.raises(ConfigError) as info:
        item_columns_by_position(path, {"brs": ["ZZ", "No such question"]})
    reasons = [p.reason for p in info.value.problems]
    assert any("beyond the last column" in r for r in reasons) and any("no column has this header" in r
                                                                       for r in reasons)
    with pytest.raises(ConfigError, match="must map an instrument name"):
        check_items_spec(["E:J"])


def test_microsoft_forms_workbook_loads_with_items_by_letters_in_python_and_toml(tmp_path):
    """An MS Forms export: ID, Start time, Completion time, Email, Name, then the answers."""
    rng = np.random.default_rng(11)
    n = 12
    codes = rng.integers(1, 6, size=(n, 6))
    df = pd.DataFrame({"ID": range(1, n + 1),
                       "Start time": pd.date_range("2025-03-03 09:00", periods=n, freq="h"),
                       "Completion time": pd.date_range("2025-03-03 09:05", periods=n, freq="h"),
                       "Email": [f"person{i}@example.org" for i in range(n)],
                       "Name": "anonymous",
                       "Your member code": [f"M{i:03d}" for i in range(n)]})
    for k in range(6):
        df[f"Statement {k + 1}"] = [BRS_LABELS[c - 1] for c in codes[:, k]]
    folder = tmp_path / "ms"
    folder.mkdir()
    df.to_excel(folder / "Check-in.xlsx", index=False, sheet_name="Sheet1")
    att = pd.DataFrame({"member_id": [f"M{i:03d}" for i in range(n)], "group_id": "G1",
                        "session_date": "2025-03-03", "attended": True})
    att.to_csv(folder / "attendance.csv", index=False)
    toml = ('[privacy]\nallow_identifiers = true\n[files.attendance]\npath = "attendance.csv"\n'
            '[files.surveys]\npath = "Check-in.xlsx"\ntimepoint = "baseline"\n'
            'columns = { "Your member code" = "member_id", "Completion time" = "completed_on" }\n')
    (folder / "groupeval.toml").write_text(toml + 'items = { brs = "G:L" }\n')
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = ge.load(folder)
        (folder / "groupeval.toml").write_text(toml)
        b = ge.load(folder, items={"brs": ["G", "H", "I", "J", "K", "L"]})
    for ds in (a, b):
        got = ds.responses.sort_values("member_id")[[f"brs_{k}" for k in range(1, 7)]].to_numpy()
        assert np.array_equal(got, codes)
        assert "Email" not in ds.responses.columns and "Name" not in ds.responses.columns


def test_phq9_items_by_position_need_no_question_text(tmp_path, monkeypatch):
    monkeypatch.delenv("GROUPEVAL_SALT", raising=False)
    fp = write_forms_programme(tmp_path / "f")
    header = list(pd.read_csv(fp.folder / START_FILE, nrows=0).columns)
    first = header.index(PHQ_Q.format(k=1))
    span = f"{column_letter(first)}:{column_letter(first + 8)}"
    toml = ('[programme]\ndayfirst = true\n[privacy]\npseudonymise = true\n'
            '[files.attendance]\npath = "Attendance register 2025.xlsx"\ncolumns = { "Name" = "member_id" }\n'
            f'[files.surveys]\npath = "{START_FILE}"\ntimepoint = "baseline"\n'
            f'items = {{ phq9 = "{span}" }}\ncolumns = {{ "Your first name" = "member_id" }}\n')
    (fp.folder / "groupeval.toml").write_text(toml)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = ge.load(fp.folder)
    assert ds.responses[[f"phq9_{k}" for k in range(1, 10)]].notna().all().all()
    assert ds.meta["instruments"] == ("phq9",)
