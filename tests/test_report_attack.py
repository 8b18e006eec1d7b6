"""Leak-proof suppression across the whole funder report (issue 11.2), checked by an attacker.

The attacker (``_helpers_attack``) reads every number a funder receives -- the CSV tables, the XLSX
workbook (checked equal to the CSVs), the numbers in the HTML sentences -- forms every linear relation
the tables' meaning allows and solves the system. It must recover no hidden count. Then one regression
test per kind of leak found in issue 11, each on data that really has that leak's precondition.
"""
from __future__ import annotations

import warnings

import numpy as np
import openpyxl
import pandas as pd
import pytest

from _helpers_attack import build_system, read_csvs
from _helpers_report import html_text, small_groups_dataset
from _helpers_shapes import _gen, shape
from groupeval.base.dataset import QualityReport
from groupeval.reporting.report import build_report, tables_paths

MIN_CELL = 11


def _pair(tmp_path, ds, tag):
    """Funder and internal builds of the same data: (funder CSVs, truth CSVs, funder text, funder paths)."""
    from groupeval.reporting.report.evaluation import Evaluation

    f = build_report(None, tmp_path / f"{tag}_funder" / "report.html", dataset=ds, audience="funder",
                     progress=False)
    # the truth behind the funder's cells: the same population (a funder report may leave out the few who
    # never came, and says so), nothing hidden
    population = Evaluation(ds, audience="funder", min_cell=MIN_CELL).dataset
    p = build_report(None, tmp_path / f"{tag}_program" / "report.html", dataset=population, audience="program",
                     progress=False)
    return (read_csvs(tables_paths(f)[0]), read_csvs(tables_paths(p)[0]),
            html_text(f.read_text(encoding="utf-8")), f)


def _attack(tmp_path, ds, tag):
    funder, truth, text, path = _pair(tmp_path, ds, tag)
    system = build_system(funder, truth, text, MIN_CELL)
    return system, system.recovered(MIN_CELL), funder, truth, path


def _hidden_cells(system):
    return [k for k in system.truth if k not in system.shown and k not in system.derived]


@pytest.mark.parametrize("tag,make", [("small", lambda: small_groups_dataset()),
                                      pytest.param("three_types", lambda: shape("three_groups_one_per_type"),
                                                   marks=pytest.mark.slow),
                                      pytest.param("five_groups", lambda: shape("five_groups"),
                                                   marks=pytest.mark.slow),
                                      pytest.param("no_types", lambda: shape("no_group_types_missing"),
                                                   marks=pytest.mark.slow)])
def test_attacker_recovers_no_hidden_count(tmp_path, tag, make):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = make()
    system, recovered, funder, _, path = _attack(tmp_path, ds, tag)
    assert len(_hidden_cells(system)) >= 3, "guard: the report must hide something for the test to mean anything"
    assert len(system.relations) >= 10
    assert recovered == [], recovered
    # the XLSX workbook holds exactly the CSV numbers (so attacking the CSVs covers it)
    wb = openpyxl.load_workbook(tables_paths(path)[1], read_only=True)
    for name, t in funder.items():
        rows = list(wb[name[:31]].iter_rows(values_only=True))
        assert list(rows[0]) == list(t.columns)
        for col in ("n", "members", "events", "rows"):
            if col in t:
                j = list(t.columns).index(col)
                x = pd.to_numeric(pd.Series([r[j] for r in rows[1:]]), errors="coerce").to_numpy(float)
                np.testing.assert_array_equal(x, pd.to_numeric(t[col], errors="coerce").to_numpy(float))


@pytest.mark.slow
def test_every_count_in_the_funder_text_is_large_and_matches_a_table(tmp_path):
    from _helpers_report import PEOPLE_NUMBER

    _, _, text, _ = _pair(tmp_path, small_groups_dataset(), "text")
    for m in PEOPLE_NUMBER.finditer(text):
        n = int(next(g for g in m.groups() if g).replace(",", ""))
        assert n == 0 or n >= MIN_CELL, text[max(0, m.start() - 80):m.end() + 20]


# --------------------------------------------------------------------------- the six leaks of issue 11
@pytest.mark.slow
def test_leak_1_active_is_not_members_minus_completed_minus_dropped(tmp_path):
    ds = _gen(21, n_groups=8, members_per_group=(24, 30), instruments=("phq9",))
    m = ds.members.merge(ds.groups[["group_id", "group_type"]], on="group_id")
    import groupeval as ge

    e = ge.attendance_summary(ds).merge(ds.groups[["group_id", "group_type"]], on="group_id")
    active = e[(e["group_type"] == "12-step") & (e["status"] == "active")]["member_id"].tolist()
    assert len(active) > 3
    cut = pd.Timestamp(ds.data_cutoff)
    make_done = m["member_id"].isin(active[2:])  # all but two active 12-step members complete at the cut-off
    members = ds.members.copy()
    members.loc[make_done.to_numpy(), "exited_on"] = cut
    members.loc[make_done.to_numpy(), "exit_reason"] = "completed"
    ds = ds.replace(members=members)
    system, recovered, funder, truth, _ = _attack(tmp_path, ds, "leak1")
    att = next(v for k, v in truth.items() if k.endswith("attendance_by_group_type"))
    row = att[att["group_type"] == "12-step"].iloc[0]
    assert row["active"] == 2 and row["completed"] >= MIN_CELL and row["dropped"] >= MIN_CELL  # the leak's setting
    shown = next(v for k, v in funder.items() if k.endswith("attendance_by_group_type"))
    shown = shown[shown["group_type"] == "12-step"].iloc[0]
    assert not np.isfinite(shown["active"])
    # a second cell of "members = dropped + completed + active" is hidden, so active is not a subtraction away
    assert sum(not np.isfinite(shown[c]) for c in ("members", "dropped", "completed")) >= 1
    assert recovered == []


@pytest.mark.slow
def test_leak_2_dropouts_do_not_follow_from_an_unrounded_retention_and_n(tmp_path):
    system, recovered, funder, truth, _ = _attack(tmp_path, small_groups_dataset(), "leak2")
    ret = next(v for k, v in truth.items() if k.endswith("retention_by_group_type"))
    small_early = ((ret["events_by_4w"] > 0) & (ret["events_by_4w"] < MIN_CELL) & (ret["n"] >= MIN_CELL)).any()
    assert small_early  # some row has fewer than 11 dropouts by week 4 and a shown-size n
    shown = next(v for k, v in funder.items() if k.endswith("retention_by_group_type"))
    for i in range(len(shown)):
        e4 = ret["events_by_4w"].iloc[i]
        s4, n = shown["retention_4w"].iloc[i], shown["n"].iloc[i]
        if 0 < e4 < MIN_CELL and np.isfinite(s4) and np.isfinite(n):
            assert round(n * (1 - s4)) != e4  # S(4w) x n does not give e4 back (late entry / censoring)
    assert recovered == []


@pytest.mark.slow
def test_leak_3_untyped_group_is_not_all_members_minus_the_typed_rows(tmp_path):
    ds = _gen(23, n_groups=5, members_per_group=(14, 18), instruments=("phq9",))
    small = ds.members.groupby("group_id").size()
    g = ds.groups.copy()
    gid = small.index[0]
    keep = ds.members[(ds.members["group_id"] != gid) | (ds.members.groupby("group_id").cumcount() < 6)]
    g["group_type"] = g["group_type"].astype("string").mask(g["group_id"] == gid)
    ds = ds.replace(groups=g, members=keep.reset_index(drop=True),
                    attendance=ds.attendance[ds.attendance["member_id"].isin(keep["member_id"])].reset_index(drop=True),
                    responses=ds.responses[ds.responses["member_id"].isin(keep["member_id"])].reset_index(drop=True))
    system, recovered, funder, truth, _ = _attack(tmp_path, ds, "leak3")
    att = next(v for k, v in truth.items() if k.endswith("attendance_by_group_type"))
    untyped = att[att["group_type"] == "No group type recorded"]
    assert len(untyped) == 1 and 0 < untyped["members"].iloc[0] < MIN_CELL  # the precondition
    shown = next(v for k, v in funder.items() if k.endswith("attendance_by_group_type"))
    assert shown["members"].isna().sum() >= 2  # hidden, and one more so the total does not give it back
    assert recovered == []


@pytest.mark.slow
def test_leak_4_enrolments_minus_people_does_not_reveal_members_in_two_groups(tmp_path):
    ds = _gen(24, n_groups=4, members_per_group=(16, 20), instruments=("phq9",))
    m = ds.members
    two = m.iloc[:2].copy()
    other = [gid for gid in ds.groups["group_id"] if gid not in set(two["group_id"])][0]
    two["group_id"] = other  # the same two people enrol in a second group too, and come to its sessions
    two["exited_on"], two["exit_reason"] = pd.NaT, pd.NA
    sess = ds.sessions[(ds.sessions["group_id"] == other) & ~ds.sessions["cancelled"].astype(bool)]
    extra = pd.DataFrame([{"member_id": mid, "group_id": other, "session_date": d, "attended": True,
                           "status": "present"} for mid, start in zip(two["member_id"], two["enrolled_on"])
                          for d in sess["session_date"] if d >= start])
    extra = extra.astype({c: ds.attendance[c].dtype for c in extra.columns if c in ds.attendance})
    with warnings.catch_warnings():  # the two new rows have no exit: all-NA columns in the concatenation
        warnings.simplefilter("ignore", FutureWarning)
        members = pd.concat([m, two], ignore_index=True)
    ds = ds.replace(members=members, attendance=pd.concat([ds.attendance, extra], ignore_index=True))
    system, recovered, funder, truth, _ = _attack(tmp_path, ds, "leak4")
    diff = system.truth[("diff", "members", "enrolled")]
    assert diff == 2  # the precondition: 2 enrolments more than people
    assert recovered == []
    flow = next(v for k, v in funder.items() if k.endswith("participant_flow"))
    att = next(v for k, v in funder.items() if k.endswith("attendance_by_group_type"))
    enrolled = flow.loc[flow["stage"] == "enrolled", "n"].iloc[0]
    enrolments = att.loc[att["group_type"] == "All members", "members"].iloc[0]
    assert not (np.isfinite(enrolled) and np.isfinite(enrolments))


@pytest.mark.slow
def test_leak_5_the_funder_km_figure_prints_no_at_risk_numbers(tmp_path, monkeypatch):
    from groupeval.reporting import plotting

    calls = []
    real = plotting.plot_retention

    def spy(result, *args, **kwargs):
        calls.append((result, kwargs))
        return real(result, *args, **kwargs)

    monkeypatch.setattr(plotting, "plot_retention", spy)
    ds = _gen(27, n_groups=6, members_per_group=(20, 26), instruments=("phq9",))
    path = build_report(None, tmp_path / "f" / "report.html", dataset=ds, audience="funder", progress=False)
    monkeypatch.setattr(plotting, "plot_retention", real)
    funder, truth, _, _ = _pair(tmp_path, ds, "leak5")
    assert calls and path.exists()  # the guard: the funder report does draw a retention figure
    for result, kwargs in calls:
        assert kwargs.get("at_risk") is False
        assert isinstance(result, pd.DataFrame) and "at_risk" not in result.columns
    ret = next(v for k, v in funder.items() if k.endswith("retention_by_group_type"))
    assert not [c for c in ret.columns if c.startswith(("at_risk", "events_by", "late_entries"))]
    tr = next(v for k, v in truth.items() if k.endswith("retention_by_group_type"))
    assert "at_risk_4w" in tr.columns  # internal audiences keep them (the guard: the column exists)


@pytest.mark.slow
def test_leak_6_a_sentence_total_minus_the_shown_rows_reveals_nothing(tmp_path):
    ds = _gen(26, n_groups=4, members_per_group=(14, 18), instruments=("phq9",))
    entries = ([{"file": "attendance.xlsx", "row": i + 2, "column": "date", "value": "x", "reason": "date in the "
                 "future", "action": "excluded"} for i in range(20)]
               + [{"file": "members.csv", "row": i + 2, "column": "gender", "value": "y", "reason": "unknown value",
                   "action": "repaired"} for i in range(3)])
    ds = ds.replace(quality=QualityReport.from_records(entries))
    system, recovered, funder, truth, path = _attack(tmp_path, ds, "leak6")
    q = next(v for k, v in truth.items() if k.endswith("data_quality"))
    assert sorted(q["rows"].tolist()) == [3, 20]
    text = html_text(path.read_text(encoding="utf-8"))
    assert "23 entries" not in text or "20" not in next(v for k, v in funder.items()
                                                        if k.endswith("data_quality"))["rows"].astype(str).tolist()
    assert recovered == []
