"""Programme shapes a real small programme has (issue 11.1), built as Datasets directly.

Each shape is a function of a seed returning a Dataset; ``SHAPES`` lists
them.  Sizes are small so a report of each builds in about a second.
"""
from __future__ import annotations

import functools
import warnings

import pandas as pd

from groupeval.base.dataset import QualityReport
from groupeval.sample import generate


def _gen(seed: int = 3, instruments=("phq9", "who5"), **kw):
    """A synthetic programme; the report analyses only ``instruments`` (fewer models: a quick test)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = generate(seed, **kw)
    return ds.replace(meta={**ds.meta, "instruments": tuple(instruments)})


def _no_types(ds, value=None):
    g = ds.groups.copy()
    g["group_type"] = pd.array([value] * len(g), dtype="string")
    return ds.replace(groups=g)


def _one_timepoint(ds):
    r = ds.responses[ds.responses["timepoint"] == "baseline"].reset_index(drop=True)
    return ds.replace(responses=r, timepoints=("baseline",))


def _no_surveys(ds):
    return ds.replace(responses=ds.responses.iloc[0:0].reset_index(drop=True), timepoints=())


def _cut_after(ds, weeks: int):
    """The data window ends ``weeks`` after the first session: no follow-up survey, little retention."""
    start = ds.sessions["session_date"].min()
    cut = start + pd.Timedelta(weeks=weeks)
    s = ds.sessions[ds.sessions["session_date"] <= cut].reset_index(drop=True)
    a = ds.attendance[ds.attendance["session_date"] <= cut].reset_index(drop=True)
    m = ds.members[ds.members["enrolled_on"] <= cut].copy()
    late = m["exited_on"] > cut
    m.loc[late, "exited_on"] = pd.NaT
    m.loc[late, "exit_reason"] = pd.NA
    r = ds.responses[(ds.responses["timepoint"] == "baseline") & ds.responses["member_id"].isin(m["member_id"])]
    return ds.replace(sessions=s, attendance=a, members=m.reset_index(drop=True), responses=r.reset_index(drop=True),
                      timepoints=("baseline",), cutoff=cut)


def _everyone_dropped(ds):
    """Every member stops after their first two weeks (explicit exit 'dropped')."""
    m = ds.members.copy()
    m["exited_on"] = m["enrolled_on"] + pd.Timedelta(days=14)
    m["exit_reason"] = pd.array(["dropped"] * len(m), dtype="string")
    a = ds.attendance.merge(m[["member_id", "group_id", "exited_on"]], on=["member_id", "group_id"])
    a = a[a["session_date"] <= a["exited_on"]].drop(columns="exited_on").reset_index(drop=True)
    return ds.replace(members=m, attendance=a)


def _no_dropouts(ds):
    """Everyone attends every session and nobody leaves early."""
    a = ds.attendance.copy()
    a["attended"] = True
    if "status" in a:
        a["status"] = pd.array(["present"] * len(a), dtype=a["status"].dtype)
    m = ds.members.copy()
    bad = m["exit_reason"].astype("string").isin(["dropped", "moved", "other"]).fillna(False).to_numpy(bool)
    m.loc[bad, "exit_reason"] = "completed"  # their attendance ends at the exit: call it completing
    return ds.replace(attendance=a, members=m)


SHAPES = {
    "one_group": lambda: _gen(3, n_groups=1, members_per_group=(8, 12)),
    "two_groups": lambda: _gen(4, n_groups=2, members_per_group=(6, 10)),
    "three_groups_one_per_type": lambda: _gen(5, n_groups=3, members_per_group=(10, 16)),
    "five_groups": lambda: _gen(6, n_groups=5, members_per_group=(8, 14)),
    "no_group_types_missing": lambda: _no_types(_gen(7, n_groups=3, members_per_group=(8, 12))),
    "no_group_types_unspecified": lambda: _no_types(_gen(8, n_groups=4, members_per_group=(6, 9)), "unspecified"),
    "five_members": lambda: _gen(9, n_groups=1, members_per_group=(5, 5)),
    "four_hundred_members": lambda: _gen(10, n_members=400, n_groups=8),
    "one_timepoint": lambda: _one_timepoint(_gen(11, n_groups=4, members_per_group=(8, 12))),
    "no_surveys": lambda: _no_surveys(_gen(12, n_groups=4, members_per_group=(8, 12))),
    "attendance_only_no_types": lambda: _no_types(_no_surveys(_gen(13, n_groups=2, members_per_group=(10, 14)))),
    "no_dropouts": lambda: _no_dropouts(_gen(14, n_groups=4, members_per_group=(10, 14))),
    "everyone_dropped": lambda: _everyone_dropped(_gen(15, n_groups=4, members_per_group=(10, 14))),
    "no_follow_up": lambda: _cut_after(_gen(16, n_groups=4, members_per_group=(10, 14)), 3),
}

#: A quick subset for the local loop (the full grid is marked slow).
QUICK = ("three_groups_one_per_type", "no_group_types_missing", "no_surveys", "everyone_dropped", "five_members")


@functools.cache
def shape(name: str):
    return SHAPES[name]()


def with_quality(ds, entries):
    return ds.replace(quality=QualityReport.from_records(entries))
