"""``load`` round trips: the sample programme written as real files, and wide sheets.

Source of truth: ``groupeval.sample.generate`` builds the canonical tables
directly; ``write_programme`` writes them as a programme keeps them (wide
attendance workbook, REDCap export, raw member headers, TOML config);
``load`` must give the same tables back with nothing excluded.  The wide
presence-only sheet case is checked against a hand-computed expectation.
"""
from __future__ import annotations

import warnings

import pandas as pd
import pytest

import _helpers_validation as hv
from groupeval import sample
from groupeval.base.exceptions import DataQualityWarning
from groupeval.base.schema import TABLES
from groupeval.validation.load import load, validate


def _sorted(df: pd.DataFrame, name: str) -> pd.DataFrame:
    key = list(TABLES[name].key)
    return df.sort_values(key, kind="stable").reset_index(drop=True)


@pytest.fixture(scope="module")
def generated():
    return sample.generate(seed=7)


@pytest.mark.parametrize("attendance,survey", [("wide-xlsx", "redcap"), ("roster-csv", "wide-csv")])
def test_sample_programme_round_trip_matches_generated_tables(tmp_path, generated, attendance, survey):
    sample.write_programme(generated, tmp_path, attendance=attendance, survey=survey)
    ds = load(tmp_path, today="2030-01-01")
    assert len(ds.quality.to_frame().query("action == 'excluded'")) == 0
    assert ds.timepoints == generated.timepoints
    assert set(ds.meta["instruments"]) == set(generated.meta["instruments"])
    for name in ("groups", "members", "sessions", "attendance", "responses"):
        want = _sorted(getattr(generated, name), name)
        got = _sorted(getattr(ds, name), name)
        cols = [c for c in want.columns if c in got.columns]
        assert set(want.columns) <= set(got.columns), (name, set(want.columns) - set(got.columns))
        pd.testing.assert_frame_equal(got[cols], want[cols], check_dtype=False, check_categorical=False,
                                      obj=name)
        counts = ds.meta["row_counts"][name]
        assert counts["read"] - counts["excluded"] + counts["inferred"] == counts["kept"] == len(want)


def test_generated_dataset_passes_validation_unchanged(generated):
    ds = validate(**generated.tables(), timepoints=generated.timepoints, today="2030-01-01")
    assert len(ds.quality) == 0
    for name, table in generated.tables().items():
        pd.testing.assert_frame_equal(_sorted(getattr(ds, name), name), _sorted(table, name), obj=name)


def test_presence_only_wide_sheet_blanks_trimmed_to_enrolment(tmp_path):
    """By hand: a presence-only sheet (x marks). Blank cells inside the enrolment are absences;
    blank cells before enrolment / after exit are not scheduled and are excluded (recorded)."""
    prog = hv.base_programme()
    g1 = [d for d in hv.G1_DATES if d != hv.CANCELLED[1]]
    sheet = pd.DataFrame({"member_id": ["M01", "M02"]})
    present = {"M01": {"2025-01-06", "2025-01-13", "2025-02-03", "2025-02-10"}, "M02": {"2025-01-13", "2025-01-20"}}
    for d in g1:
        sheet[d] = ["x" if d in present[m] else "" for m in sheet["member_id"]]
    sheet.to_csv(tmp_path / "attendance.csv", index=False)
    prog["attendance"] = None
    prog["members"] = prog["members"].iloc[:2]
    prog["sessions"] = prog["sessions"].iloc[:6]
    prog["surveys"] = None
    toml = ('[files.groups]\npath = "groups.csv"\n[files.members]\npath = "members.csv"\n'
            '[files.sessions]\npath = "sessions.csv"\n'
            '[files.attendance]\npath = "attendance.csv"\nformat = "wide"\ngroup = "G1"\n')
    hv.write(tmp_path, prog, toml)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        ds = load(tmp_path, today=hv.TODAY)
    att = ds.attendance.assign(d=ds.attendance["session_date"].dt.strftime("%Y-%m-%d"))
    got = sorted(map(tuple, att[["member_id", "d", "attended"]].values.tolist()))
    # M01 (enrolled 01-06, open): 5 sessions, absent 01-20.  M02 (01-13 .. 02-03): 01-13 and 01-20
    # present, 02-03 absent; its blanks on 01-06 (before) and 02-10 (after) are not sessions for M02.
    assert got == sorted([("M01", "2025-01-06", True), ("M01", "2025-01-13", True), ("M01", "2025-01-20", False),
                          ("M01", "2025-02-03", True), ("M01", "2025-02-10", True),
                          ("M02", "2025-01-13", True), ("M02", "2025-01-20", True), ("M02", "2025-02-03", False)])
    q = ds.quality.to_frame()
    trimmed = q[q["reason"].str.startswith("blank cell outside")]
    assert sorted(trimmed["value"]) == ["2025-01-06", "2025-02-10"] and set(trimmed["row"]) == {3}
    assert sorted(trimmed["column"]) == ["2025-01-06", "2025-02-10"]  # the sheet's date headers
    rc = ds.meta["row_counts"]["attendance"]
    assert rc == {"read": 10, "excluded": 2, "inferred": 0, "kept": 8}
