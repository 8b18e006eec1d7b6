"""Hand-made datasets for the attendance / retention tests (helper D).

``weekly_dataset`` builds a canonical :class:`groupeval.Dataset` from compact
strings, one per member: each character is one weekly session of the
member's group, starting at the group's first session:

* ``P`` present, ``L`` late (attended), ``A`` absent, ``E`` excused,
  ``-`` scheduled but no attendance row, ``.`` not enrolled yet / no row,
  ``X`` the session was cancelled (for the whole group; mark it on any
  member, every member's string must agree or use ``.``/``X``).
"""
from __future__ import annotations

from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from groupeval.dataset import Dataset

START = pd.Timestamp("2025-01-06")


def weekly_dataset(marks: Mapping[str, str], *, group_of: Mapping[str, str] | None = None,
                   enrolled: Mapping[str, int | str | pd.Timestamp] | None = None,
                   exits: Mapping[str, tuple[object, str | None]] | None = None,
                   groups: pd.DataFrame | None = None, cutoff=None, n_weeks: int | None = None,
                   cancelled: Mapping[str, Iterable[int]] | None = None,
                   group_start: Mapping[str, int] | None = None,
                   extra_members: Mapping[str, Mapping[str, object]] | None = None,
                   responses: pd.DataFrame | None = None, timepoints=("baseline", "week_12", "week_26")) -> Dataset:
    """Build a Dataset. ``enrolled`` gives a week offset (int, may be negative for late entry) or a date;
    by default a member enrols on the date of their first non-'.' mark."""
    group_of = dict(group_of or {})
    enrolled = dict(enrolled or {})
    exits = dict(exits or {})
    cancelled = {g: set(v) for g, v in (cancelled or {}).items()}
    group_start = dict(group_start or {})
    gids = sorted(set(group_of.get(m, "G1") for m in marks))
    n_weeks = n_weeks or max(len(s) for s in marks.values())
    ses_rows = []
    for g in gids:
        off = group_start.get(g, 0)
        for w in range(n_weeks):
            ses_rows.append((g, START + pd.Timedelta(weeks=w + off), w in cancelled.get(g, set())))
    sessions = pd.DataFrame(ses_rows, columns=["group_id", "session_date", "cancelled"])
    att_rows = []
    mem_rows = []
    for m, s in marks.items():
        g = group_of.get(m, "G1")
        off = group_start.get(g, 0)
        for w, c in enumerate(s):
            if c in ".-X":
                continue
            status = {"P": "present", "L": "late", "A": "absent", "E": "excused"}[c]
            att_rows.append((m, g, START + pd.Timedelta(weeks=w + off), c in "PL", status))
        if m in enrolled:
            e = enrolled[m]
            enr = START + pd.Timedelta(weeks=e + off) if isinstance(e, (int, np.integer)) else pd.Timestamp(e)
        else:
            first = next((i for i, c in enumerate(s) if c not in ".X"), 0)
            enr = START + pd.Timedelta(weeks=first + off)
        ex_date, ex_reason = exits.get(m, (None, None))
        if isinstance(ex_date, (int, np.integer)):
            ex_date = START + pd.Timedelta(weeks=int(ex_date) + off)
        row = {"member_id": m, "group_id": g, "enrolled_on": enr,
               "exited_on": pd.Timestamp(ex_date) if ex_date is not None else pd.NaT, "exit_reason": ex_reason}
        row.update((extra_members or {}).get(m, {}))
        mem_rows.append(row)
    members = pd.DataFrame(mem_rows)
    members["enrolled_on"] = members["enrolled_on"].astype("datetime64[ns]")
    members["exited_on"] = members["exited_on"].astype("datetime64[ns]")
    members["exit_reason"] = members["exit_reason"].astype("object")
    attendance = pd.DataFrame(att_rows, columns=["member_id", "group_id", "session_date", "attended", "status"])
    attendance["session_date"] = attendance["session_date"].astype("datetime64[ns]")
    if groups is None:
        groups = pd.DataFrame({"group_id": gids, "group_type": ["12-step"] * len(gids),
                               "facilitation": ["peer"] * len(gids)})
    if responses is None:
        responses = pd.DataFrame({"member_id": pd.Series(dtype=object), "timepoint": pd.Series(dtype=object)})
    return Dataset(groups=groups, members=members, sessions=sessions, attendance=attendance,
                   responses=responses, timepoints=tuple(timepoints),
                   cutoff=pd.Timestamp(cutoff) if cutoff is not None else None)
