"""Datasets for the period tests: a hand-built tiny programme and a rolling-enrolment synthetic one.

``tiny_programme`` (weekly sessions from Monday 2025-01-06, week w = START + 7w days; Q1 = weeks 0-12,
Q2 = weeks 13-25 (1 April - 30 June), Q3 = weeks 26-38) has six members whose periods are known by hand:

=====  =====  ========  ==================================================================
id     group  enrolled  story
=====  =====  ========  ==================================================================
A      G1     w0  (Q1)  attends every session to the cut-off (week 38)
B      G1     w10 (Q1)  attends w10-w20, then misses w21-w23: dropped (rule fires w23, Q2;
                        event at the last attended session, w20 = 26 May, Q2)
C      G2     w14 (Q2)  attends w14-w38 except w16 and w30
D      G2     w27 (Q3)  attends w27-w38
E      G2     w5  (Q1)  never attends (w5-w7 absent): dropped when the rule fires (w7, Q1)
F      G1     w24 (Q2)  attends w24-w29, exits ``completed`` at w29
=====  =====  ========  ==================================================================

``rolling_programme`` stacks several ``groupeval.sample.generate`` waves started a quarter apart on the same
groups (ids prefixed per wave), so new members keep joining the same groups: the situation the period
comparisons are for.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from _helpers_retention import START, weekly_dataset
from groupeval.base.dataset import Dataset
from groupeval.sample import generate


def week(w: int) -> pd.Timestamp:
    return START + pd.Timedelta(weeks=w)


def _marks(first: int, pattern: str, n: int = 39) -> str:
    return ("." * first + pattern).ljust(n, ".")


def tiny_programme() -> Dataset:
    marks = {
        "A": _marks(0, "P" * 39),
        "B": _marks(10, "P" * 11 + "AAA"),
        "C": _marks(14, "".join("A" if w in (16, 30) else "P" for w in range(14, 39))),
        "D": _marks(27, "P" * 12),
        "E": _marks(5, "AAA"),
        "F": _marks(24, "P" * 6),
    }
    group_of = {"A": "G1", "B": "G1", "F": "G1", "C": "G2", "D": "G2", "E": "G2"}
    responses = pd.DataFrame([
        ("A", "baseline", week(0), 10.0), ("A", "week_12", pd.Timestamp("2025-04-20"), 14.0),
        ("A", "week_26", pd.Timestamp("2025-08-01"), 15.0),
        ("B", "baseline", week(10), 8.0), ("B", "week_12", pd.Timestamp("2025-05-20"), 9.0),
        ("C", "baseline", week(14), 12.0), ("C", "week_26", pd.Timestamp("2025-08-10"), 11.0),
        ("D", "baseline", week(27), 5.0),
    ], columns=["member_id", "timepoint", "completed_on", "score"])
    responses["group_id"] = responses["member_id"].map(group_of)
    ds = weekly_dataset(marks, group_of=group_of, exits={"F": (29, "completed")}, n_weeks=39)
    return ds.replace(responses=responses[["member_id", "timepoint", "group_id", "completed_on"]]), responses


def rolling_programme(seed: int = 11, waves: int = 4, gap_weeks: int = 13, weeks: int = 78,
                      n_groups: int = 8) -> Dataset:
    """Waves of ``generate`` started ``gap_weeks`` apart on the same groups (their sessions coincide)."""
    parts = []
    for k in range(waves):
        ds = generate(seed + k, weeks=weeks - k * gap_weeks, n_groups=n_groups,
                      start=pd.Timestamp("2025-01-06") + pd.Timedelta(weeks=k * gap_weeks))
        parts.append(ds)
    base = parts[0]
    sessions = base.sessions
    held = sessions.loc[~sessions["cancelled"], ["group_id", "session_date"]]
    members, attendance, responses = [], [], []
    for k, ds in enumerate(parts):
        m = ds.members.copy()
        if k:  # later waves: only the members who join during the wave (the first wave keeps its late entrants)
            m = m[m["enrolled_on"] >= ds.sessions["session_date"].min()]
        ids = m["member_id"].astype(str)
        ren = dict(zip(ids, f"W{k}" + ids))
        m["member_id"] = ids.map(ren)
        a = ds.attendance[ds.attendance["member_id"].astype(str).isin(ren)].copy()
        a["member_id"] = a["member_id"].astype(str).map(ren)
        a = a.merge(held, on=["group_id", "session_date"], how="inner")   # sessions the first wave cancelled
        r = ds.responses[ds.responses["member_id"].astype(str).isin(ren)].copy()
        r["member_id"] = r["member_id"].astype(str).map(ren)
        members.append(m)
        attendance.append(a)
        responses.append(r)
    return base.replace(members=pd.concat(members, ignore_index=True),
                        attendance=pd.concat(attendance, ignore_index=True),
                        responses=pd.concat(responses, ignore_index=True), meta={"programme": "rolling test"})


__all__ = ["np", "rolling_programme", "tiny_programme", "week"]
