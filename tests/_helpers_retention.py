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

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from groupeval.base.dataset import Dataset

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


GROUP_TYPES = ("12-step", "cancer survivors", "postpartum depression", "mental-health recovery")


def random_programme(seed: int = 7, n_groups: int = 8, per_group: int = 30, weeks: int = 30,
                     late_share: float = 0.2) -> Dataset:
    """A deterministic random programme (numpy default_rng) for the R comparisons.

    Weekly sessions with ~5 % cancelled; members enrol at a random week (a
    ``late_share`` before the group's first session in the data); each week
    an enrolled member attends with prob. 0.75, is excused with prob. 0.03,
    and leaves for good with a group-type-dependent hazard; some record an
    explicit exit (completed / moved / dropped).
    """
    rng = np.random.default_rng(seed)
    gids = [f"G{i + 1:02d}" for i in range(n_groups)]
    gtype = [GROUP_TYPES[i % 4] for i in range(n_groups)]
    fac = ["peer" if i % 3 else "co-facilitated" for i in range(n_groups)]
    groups = pd.DataFrame({"group_id": gids, "group_type": gtype, "facilitation": fac})
    ses = []
    for gi, g in enumerate(gids):
        for w in range(weeks):
            ses.append((g, START + pd.Timedelta(days=7 * w + gi), bool(rng.random() < 0.05 and w > 0)))
    sessions = pd.DataFrame(ses, columns=["group_id", "session_date", "cancelled"])
    mem, att = [], []
    hazard = {"12-step": 0.05, "cancer survivors": 0.03, "postpartum depression": 0.08,
              "mental-health recovery": 0.06}
    n = 0
    for gi, g in enumerate(gids):
        sg = sessions[sessions["group_id"] == g].reset_index(drop=True)
        for _ in range(per_group):
            n += 1
            mid = f"M{n:04d}"
            if rng.random() < late_share:
                enr = sg["session_date"].iloc[0] - pd.Timedelta(days=int(rng.integers(1, 60)))
                w0 = 0
            else:
                w0 = int(rng.integers(0, weeks - 2))
                enr = sg["session_date"].iloc[w0] - pd.Timedelta(days=int(rng.integers(0, 3)))
            leave = w0 + int(rng.geometric(hazard[gtype[gi]]))
            u = rng.random()
            exit_date, reason = pd.NaT, None
            if leave < weeks and u < 0.3:
                exit_date, reason = sg["session_date"].iloc[leave - 1] + pd.Timedelta(days=3), ["dropped",
                                                                                                "moved"][int(u < 0.1)]
            elif leave >= weeks and u < 0.2 and w0 + 10 < weeks:
                exit_date, reason = sg["session_date"].iloc[w0 + 10] + pd.Timedelta(days=1), "completed"
            for w in range(w0, weeks):
                d = sg["session_date"].iloc[w]
                if d < enr or (exit_date is not pd.NaT and d > exit_date) or sg["cancelled"].iloc[w]:
                    continue
                r = rng.random()
                if w >= leave:
                    status = "absent"
                elif r < 0.75:
                    status = "present" if r < 0.7 else "late"
                elif r < 0.78:
                    status = "excused"
                else:
                    status = "absent"
                att.append((mid, g, d, status in ("present", "late"), status))
            mem.append((mid, g, enr, exit_date, reason, ["18-29", "30-49", "50+"][int(rng.integers(0, 3))],
                        ["female", "male"][int(rng.random() < 0.4)]))
    members = pd.DataFrame(mem, columns=["member_id", "group_id", "enrolled_on", "exited_on", "exit_reason",
                                         "age_band", "gender"])
    members["enrolled_on"] = members["enrolled_on"].astype("datetime64[ns]")
    members["exited_on"] = pd.to_datetime(members["exited_on"]).astype("datetime64[ns]")
    attendance = pd.DataFrame(att, columns=["member_id", "group_id", "session_date", "attended", "status"])
    attendance["session_date"] = attendance["session_date"].astype("datetime64[ns]")
    sessions["session_date"] = sessions["session_date"].astype("datetime64[ns]")
    responses = pd.DataFrame({"member_id": pd.Series(dtype=object), "timepoint": pd.Series(dtype=object)})
    return Dataset(groups=groups, members=members, sessions=sessions, attendance=attendance, responses=responses,
                   timepoints=("baseline", "week_12", "week_26"))
