"""Property tests (hypothesis): nothing is lost silently, and row order never matters.

Random small programmes are generated with repairable faults injected
(exact duplicate rows, ids differing by case/spaces, absences outside the
member's enrolment, absences on cancelled sessions, sessions after the
cut-off).  For every one:

* rows read - rows excluded + rows inferred == rows kept, per table, and
  every excluded row has exactly one ``excluded`` entry (with its file and
  spreadsheet row) in the QualityReport;
* shuffling the rows of every input table gives the same Dataset (tables
  compared after sorting on their keys) and the same QualityReport entries.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from groupeval.base.exceptions import DataQualityWarning
from groupeval.base.schema import SOURCE_FILE, SOURCE_ROW, TABLES
from groupeval.validation.load import validate

TODAY = "2026-01-01"
START = pd.Timestamp("2025-01-06")


@st.composite
def programmes(draw):
    n_groups = draw(st.integers(1, 3))
    n_weeks = draw(st.integers(3, 7))
    groups = pd.DataFrame({"group_id": [f"G{g}" for g in range(n_groups)],
                           "group_type": ["12-step"] * n_groups})
    sess = []
    for g in range(n_groups):
        for w in range(n_weeks):
            sess.append((f"G{g}", START + pd.Timedelta(days=7 * w + g), draw(st.booleans()) and w % 3 == 2))
    sessions = pd.DataFrame(sess, columns=["group_id", "session_date", "cancelled"])
    n_members = draw(st.integers(1, 7))
    members, att = [], []
    for i in range(n_members):
        g = draw(st.integers(0, n_groups - 1))
        first = draw(st.integers(0, n_weeks - 1))
        last = draw(st.integers(first, n_weeks - 1))
        enrolled = START + pd.Timedelta(days=7 * first + g)
        exited = START + pd.Timedelta(days=7 * last + g) if last < n_weeks - 1 else pd.NaT
        members.append((f"M{i:02d}", f"G{g}", enrolled, exited))
        for w in range(n_weeks):
            date = START + pd.Timedelta(days=7 * w + g)
            cancelled = bool(sessions[(sessions.group_id == f"G{g}") & (sessions.session_date == date)]
                             ["cancelled"].iloc[0])
            inside = first <= w <= last
            if inside and not cancelled:
                att.append((f"M{i:02d}", f"G{g}", date, draw(st.sampled_from(["present", "absent", "late",
                                                                            "excused"]))))
            elif draw(st.integers(0, 4)) == 0:  # injected: an absence outside enrolment / on a cancelled session
                att.append((f"M{i:02d}", f"G{g}", date, "absent"))
    members = pd.DataFrame(members, columns=["member_id", "group_id", "enrolled_on", "exited_on"])
    attendance = pd.DataFrame(att, columns=["member_id", "group_id", "session_date", "status"])
    assume(len(attendance) > 0)  # an empty attendance file is an error, tested elsewhere
    if len(attendance):
        # injected: exact duplicates and ids spelled with other case / spaces
        dups = draw(st.lists(st.integers(0, len(attendance) - 1), max_size=3))
        attendance = pd.concat([attendance, attendance.iloc[dups]], ignore_index=True)
        variants = draw(st.lists(st.integers(0, len(attendance) - 1), max_size=3, unique=True))
        for k in variants:
            attendance.loc[k, "member_id"] = " " + attendance.loc[k, "member_id"].lower()
    tables = {"groups": groups, "members": members, "sessions": sessions, "attendance": attendance}
    for name, df in tables.items():
        df[SOURCE_FILE] = f"{name}.csv"
        df[SOURCE_ROW] = np.arange(2, len(df) + 2)
    cutoff = draw(st.sampled_from([None, START + pd.Timedelta(days=7 * (n_weeks - 2))]))
    return tables, cutoff


def _validate(tables, cutoff):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return validate(**tables, today=TODAY, cutoff=cutoff)


def _sorted(df: pd.DataFrame, name: str) -> pd.DataFrame:
    key = [c for c in TABLES[name].key if c in df.columns]
    return df.sort_values(key, kind="stable").reset_index(drop=True) if len(df) else df.reset_index(drop=True)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programmes())
def test_no_row_lost_silently(prog):
    tables, cutoff = prog
    ds = _validate(tables, cutoff)
    q = ds.quality.to_frame()
    for name, counts in ds.meta["row_counts"].items():
        assert counts["read"] - counts["excluded"] + counts["inferred"] == counts["kept"], name
        assert counts["kept"] == len(getattr(ds, name)), name
        if name in tables:
            assert counts["read"] == len(tables[name])
            ex = q[(q["action"] == "excluded") & (q["file"] == f"{name}.csv")]
            assert len(ex) == counts["excluded"], name
            assert ex["row"].notna().all() and not ex["row"].duplicated().any(), name
    # every input attendance row is either kept or listed: the sets of rows add up
    kept_keys = set(map(tuple, ds.attendance[["member_id", "group_id", "session_date"]].astype(str).values))
    assert len(kept_keys) == len(ds.attendance)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programmes(), st.randoms(use_true_random=False))
def test_row_order_never_changes_the_dataset(prog, rnd):
    tables, cutoff = prog
    ds = _validate(tables, cutoff)
    shuffled = {}
    for name, df in tables.items():
        order = list(range(len(df)))
        rnd.shuffle(order)
        shuffled[name] = df.iloc[order].reset_index(drop=True)
    ds2 = _validate(shuffled, cutoff)
    for name in ("groups", "members", "sessions", "attendance", "responses"):
        pd.testing.assert_frame_equal(_sorted(getattr(ds, name), name), _sorted(getattr(ds2, name), name))
    q1 = ds.quality.to_frame().sort_values(["file", "row", "column", "reason"]).reset_index(drop=True)
    q2 = ds2.quality.to_frame().sort_values(["file", "row", "column", "reason"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(q1, q2)
    assert ds.meta["row_counts"] == ds2.meta["row_counts"]
