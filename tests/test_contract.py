"""The contract between reading and validation (issue 12 item 2).

One vocabulary, one date parser, one identifier finder, a typed object
between the layers, and every load() keyword reaching the reader that needs
it.  The two drifts the issue names are tested first.
"""
from __future__ import annotations

import warnings

import pandas as pd
import pytest

import groupeval as ge
from _helpers_validation import TODAY, base_programme, write
from groupeval.base import vocab
from groupeval.base.identifiers import find_identifier_columns
from groupeval.io import SourceTable, as_source, read_attendance, read_attendance_source


def _quiet(fn, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*a, **k)


# ---------------------------------------------------------------- drift 1: dayfirst reaches the readers

def _ambiguous_programme(tmp_path):
    """Every date of the attendance roster and the surveys reads both ways (day <= 12)."""
    p = base_programme()
    p["surveys"].loc[3, "completed_on"] = "2025-03-10"
    for name, cols in (("attendance", ["session_date"]), ("surveys", ["completed_on"]),
                       ("sessions", ["session_date"]), ("members", ["enrolled_on", "exited_on"])):
        for c in cols:
            d = pd.to_datetime(p[name][c].replace("", None))
            p[name][c] = d.dt.strftime("%d/%m/%Y").where(d.notna(), "")
    # make every date ambiguous: only days 1..12 are used
    for name in ("attendance", "sessions"):
        p[name] = p[name][pd.to_datetime(p[name]["session_date"], dayfirst=True).dt.day <= 12].reset_index(drop=True)
    return write(tmp_path, p)


def test_load_dayfirst_reaches_attendance_and_survey_readers(tmp_path):
    folder = _ambiguous_programme(tmp_path)
    with pytest.raises(ge.GroupevalError, match="dayfirst=True"):
        _quiet(ge.load, folder, today=TODAY)
    ds = _quiet(ge.load, folder, today=TODAY, dayfirst=True)
    assert ds.attendance["session_date"].min() == pd.Timestamp("2025-01-06")      # 06/01/2025 = 6 January
    assert ds.responses["completed_on"].max() == pd.Timestamp("2025-03-10")         # 10/03/2025 = 10 March
    assert ds.members.set_index("member_id").loc["M02", "exited_on"] == pd.Timestamp("2025-02-03")


def test_toml_dayfirst_reaches_the_survey_reader_too(tmp_path):
    folder = _ambiguous_programme(tmp_path)
    (folder / "groupeval.toml").write_text(
        '[programme]\ndayfirst = true\n[files.members]\npath = "members.csv"\n[files.groups]\npath = "groups.csv"\n'
        '[files.attendance]\npath = "attendance.csv"\n[files.sessions]\npath = "sessions.csv"\n'
        '[files.surveys]\npath = "surveys.csv"\n')
    ds = _quiet(ge.load, folder, today=TODAY)
    assert ds.responses["completed_on"].min() == pd.Timestamp("2025-01-06")


# ---------------------------------------------------------------- drift 2: one mark vocabulary

@pytest.mark.parametrize("mark", sorted(vocab.PRESENT | vocab.LATE))
def test_every_present_mark_the_reader_accepts_validate_accepts(mark):
    p = base_programme()
    att = p["attendance"].drop(columns="status").assign(attended=mark)
    ds = _quiet(ge.validate, p["groups"], p["members"], p["sessions"], att, today=TODAY)
    assert ds.attendance["attended"].all()


@pytest.mark.parametrize("mark", sorted(vocab.ABSENT | vocab.EXCUSED))
def test_every_absent_mark_the_reader_accepts_validate_accepts(mark):
    p = base_programme()
    att = p["attendance"].drop(columns="status").assign(attended=mark)
    ds = _quiet(ge.validate, p["groups"], p["members"], p["sessions"], att, today=TODAY)
    assert not ds.attendance["attended"].any()


def test_check_mark_emoji_accepted_by_load_and_validate_alike(tmp_path):
    p = base_programme()
    p["attendance"]["status"] = p["attendance"]["status"].map({"present": "✅", "late": "✅", "absent": "❌",
                                                               "excused": "❌"})
    p["attendance"] = p["attendance"].rename(columns={"status": "attended"})
    via_load = _quiet(ge.load, write(tmp_path, p), today=TODAY)
    via_validate = _quiet(ge.validate, p["groups"], p["members"], p["sessions"], p["attendance"], today=TODAY)
    assert via_load.attendance["attended"].tolist() == via_validate.attendance["attended"].tolist()
    assert via_load.attendance["attended"].sum() == 9   # present + late rows of the programme


# ---------------------------------------------------------------- the typed object between the layers

def test_reader_returns_a_typed_source_and_the_public_frame_round_trips(tmp_path):
    p = base_programme()
    signin = p["attendance"][p["attendance"]["status"].isin(["present", "late"])].drop(columns="status")
    path = tmp_path / "signin.csv"
    signin.rename(columns={"session_date": "Date"}).to_csv(path, index=False)
    src = read_attendance_source(path)
    assert isinstance(src, SourceTable) and src.shape == "signin"
    assert not [c for c in src.table.columns if c.startswith("_")]          # provenance is typed, not columns
    assert src.row.tolist() == list(range(2, 2 + len(signin)))
    back = as_source(read_attendance(path), "attendance", "attendance")
    assert back.shape == "signin" and back.row.tolist() == src.row.tolist()
    # validate() on the typed object, on the public frame and load() agree: absences inferred from the log
    kw = {"groups": p["groups"], "members": p["members"], "sessions": p["sessions"], "today": TODAY}
    a = _quiet(ge.validate, attendance=src, **kw).attendance
    b = _quiet(ge.validate, attendance=read_attendance(path), **kw).attendance
    pd.testing.assert_frame_equal(a, b)
    assert (~a["attended"]).sum() > 0


def test_validation_uses_the_io_date_parser_and_the_base_vocabulary():
    from groupeval.validation import _coerce

    assert _coerce.read_dates is ge.io.read_dates
    assert _coerce.parse_bool is vocab.parse_bool


def test_privacy_and_validation_share_the_identifier_finder():
    from groupeval.reporting import privacy

    frame = pd.DataFrame(columns=["member_id", "fname", "Vorname", "WhatsApp", "NHS number", "score"])
    assert privacy._identifier_columns(frame) == find_identifier_columns(frame.columns)
    assert set(find_identifier_columns(frame.columns)) == {"fname", "Vorname", "WhatsApp", "NHS number"}


def test_one_column_name_normaliser():
    from groupeval.validation.checks import normalise_column_name

    assert normalise_column_name is vocab.norm_name
    assert vocab.norm_name(" Member ID ") == "member_id" and vocab.norm_name("E-mail") == "e_mail"
