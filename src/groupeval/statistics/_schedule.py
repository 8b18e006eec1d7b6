"""Members' schedules and attendance marks, vectorised (the machinery behind :func:`attendance_summary`).

A member's scheduled sessions are one contiguous slice of their group's
sorted held sessions (not cancelled, up to the cut-off), expanded with
``np.repeat`` into one entry per (member, session); attendance rows are
matched to those entries through integer session keys
``group code * 2**32 + (day + 2**31)`` (a dense per-group day table, not a
join).  Steps, in order: :func:`group_universe`, :func:`session_calendar`,
:func:`member_windows`, :func:`schedule`, :func:`mark_attendance`,
:func:`apply_excused`, :func:`attended_sequence`.  Everything is int32
where it fits: 15 million attendance rows take a few hundred MiB.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def days(values: Any) -> np.ndarray:
    """datetime-like -> int64 days since 1970 (NaT -> INT64 min)."""
    arr = np.asarray(values)
    if arr.dtype.kind != "M":
        arr = pd.to_datetime(pd.Series(values), errors="coerce").to_numpy()
    return arr.astype("datetime64[D]").astype(np.int64)


NAT = np.iinfo(np.int64).min


def indexer(index: pd.Index, values: pd.Series) -> np.ndarray:
    """Positions (int32) of ``values`` in ``index`` (-1 if absent); fast for categoricals."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        cat_pos = np.r_[index.get_indexer(values.cat.categories.astype(str)), -1].astype(np.int32)
        return cat_pos[values.cat.codes.to_numpy()]       # code -1 (missing) picks the trailing -1
    pa_arr = getattr(values.array, "_pa_array", None)           # pyarrow-backed strings: hash in C++
    if pa_arr is not None:
        import pyarrow as pa
        import pyarrow.compute as pc

        if pa.types.is_string(pa_arr.type) or pa.types.is_large_string(pa_arr.type):
            pos = pc.index_in(pa_arr, value_set=pa.array(index.astype(str).to_numpy(dtype=object), type=pa_arr.type))
            return pc.fill_null(pos, -1).to_numpy().astype(np.int32)
    return index.get_indexer(values).astype(np.int32)


DAY_NS = np.int64(86_400_000_000_000)


def days32(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """datetime64[ns] column -> (int32 days since 1970, NaT mask)."""
    arr = values.to_numpy()
    if arr.dtype != np.dtype("datetime64[ns]"):
        arr = pd.to_datetime(values, errors="coerce").to_numpy().astype("datetime64[ns]")
    v = arr.view(np.int64)
    nat = v == np.iinfo(np.int64).min
    return (v // DAY_NS).astype(np.int32), nat


class SessionLookup:
    """(group code, day) -> position in a sorted array of session keys, by a dense per-group day table.

    A gather from a table spanning each group's first to last session day
    replaces a binary search per attendance row (15 M rows: ~10x faster).
    Falls back to binary search when the table would be very sparse.
    """

    def __init__(self, keys: np.ndarray, sh: np.int64, off: np.int64, n_groups: int):
        self.keys, self.sh, self.off = keys, sh, off
        kg = keys // sh
        kd = (keys % sh - off).astype(np.int32)
        self.lo = np.zeros(n_groups, np.int32)
        self.hi = np.full(n_groups, -1, np.int32)
        if len(keys):
            b = np.flatnonzero(np.r_[True, kg[1:] != kg[:-1]])
            e = np.r_[b[1:] - 1, len(keys) - 1]
            self.lo[kg[b]] = kd[b]
            self.hi[kg[b]] = kd[e]
        span = np.maximum(self.hi.astype(np.int64) - self.lo + 1, 0)
        total = int(span.sum())
        self.dense = total <= 64 * len(keys) + 1_000_000 and total < 2**31 - 1 and len(keys) < 2**31 - 1
        if self.dense:
            self.base = (np.cumsum(span) - span).astype(np.int32)
            # trailing -1: out-of-range lookups point there
            self.lut = np.full(total + 1, -1, np.int32)
            self.lut[self.base[kg] + kd - self.lo[kg]] = np.arange(len(keys), dtype=np.int32)
            self.lo = np.r_[self.lo, 0].astype(np.int32)
            self.hi = np.r_[self.hi, -1].astype(np.int32)
            self.base = np.r_[self.base, total].astype(np.int32)

    def find(self, g: np.ndarray, d: np.ndarray) -> np.ndarray:
        """Positions (int32/int64) of (g, d) in ``keys``; -1 when absent."""
        if not self.dense:
            k = g.astype(np.int64) * self.sh + (d.astype(np.int64) + self.off)
            pos = np.searchsorted(self.keys, k)
            hit = (g >= 0) & (pos < len(self.keys))
            hit &= self.keys[np.minimum(pos, max(len(self.keys) - 1, 0))] == k if len(self.keys) else False
            return np.where(hit, pos, -1)
        gg = np.where(g >= 0, g, len(self.lo) - 1)             # unknown group -> empty sentinel group
        rel = d - self.lo[gg]
        inr = (rel >= 0) & (d <= self.hi[gg])
        idx = np.where(inr, self.base[gg] + rel, len(self.lut) - 1)
        return self.lut[idx]


def dates(dd: np.ndarray) -> np.ndarray:
    """int64 days since 1970 (``NAT`` = missing) -> datetime64[ns]."""
    return np.where(dd == NAT, np.datetime64("NaT"), dd.astype("datetime64[D]")).astype("datetime64[ns]")



# ---------------------------------------------------------------------------
# steps of _compute: groups, sessions, member windows, schedule, marks
# ---------------------------------------------------------------------------
SH = np.int64(1) << np.int64(32)   # session key = group code * SH + (day + OFF)
OFF = np.int64(1) << np.int64(31)


def group_universe(members: pd.DataFrame, ses: pd.DataFrame, att: pd.DataFrame) -> pd.Index:
    """Every group id named by members, sessions or attendance (first appearance order)."""
    def uniq(col: pd.Series) -> np.ndarray:
        if isinstance(col.dtype, pd.CategoricalDtype):
            return col.cat.categories.astype(str).to_numpy(dtype=object)
        return pd.unique(col.dropna().astype(str).to_numpy(dtype=object))

    gid_parts = [uniq(members["group_id"])]
    if len(ses):
        gid_parts.append(uniq(ses["group_id"]))
    if len(att):
        gid_parts.append(uniq(att["group_id"]))
    return pd.Index(pd.unique(np.concatenate(gid_parts)))


@dataclass
class Calendar:
    """The sessions of every group, and where each attendance row falls among them."""

    all_key: np.ndarray     # sorted keys of every session (held, cancelled, added from attendance)
    a_all: np.ndarray       # per attendance row: position in all_key (-1 unknown); freed after marking
    a_g: np.ndarray         # per attendance row: group code (int32; -1 unknown or no date)
    key: np.ndarray         # sorted keys of the held sessions up to the cut-off
    key_g: np.ndarray       # their group codes
    key_d: np.ndarray       # their days (int32)
    g_first: np.ndarray     # per group: first held session day (NAT if none)
    g_last: np.ndarray      # per group: last held session day (NAT if none)
    notes: list[str]


def session_calendar(groups: pd.Index, ses: pd.DataFrame, att: pd.DataFrame, cut_day: int | np.integer) -> Calendar:
    """Held sessions (not cancelled, up to the cut-off) and each attendance row's session.

    A session that appears in attendance but not in ``sessions`` is added as
    held (with a note when a sessions table was given).
    """
    if len(ses):
        s_g = indexer(groups, ses["group_id"]).astype(np.int64)
        s_d = days(ses["session_date"].to_numpy())
        s_c = (ses["cancelled"].fillna(False).to_numpy(dtype=bool) if "cancelled" in ses.columns
               else np.zeros(len(ses), bool))
    else:
        s_g = np.zeros(0, np.int64)
        s_d = np.zeros(0, np.int64)
        s_c = np.zeros(0, bool)
    # attendance codes (int32: 15 M rows)
    if len(att):
        a_g = indexer(groups, att["group_id"])
        a_d, a_nat = days32(att["session_date"])
        if a_nat.any():
            a_g[a_nat] = -1
    else:
        a_g = np.zeros(0, np.int32)
        a_d = np.zeros(0, np.int32)
    all_key = np.unique(s_g * SH + (s_d + OFF))
    notes: list[str] = []
    a_all = np.zeros(0, np.int64)
    if len(att):
        a_all = SessionLookup(all_key, SH, OFF, len(groups)).find(a_g, a_d)
        found = a_all >= 0
        if not found.all():
            miss = ~found & (a_g >= 0)
            extra = np.unique(a_g[miss].astype(np.int64) * SH + (a_d[miss].astype(np.int64) + OFF))
            if len(ses) and len(extra):
                notes.append(f"{len(extra)} session(s) appear in attendance but not in sessions; they were added "
                             "as held sessions")
            s_g = np.concatenate([s_g, extra // SH])
            s_d = np.concatenate([s_d, extra % SH - OFF])
            s_c = np.concatenate([s_c, np.zeros(len(extra), bool)])
            all_key = np.unique(s_g * SH + (s_d + OFF))
            a_all = SessionLookup(all_key, SH, OFF, len(groups)).find(a_g, a_d)
    keep = (~s_c) & (s_d <= cut_day)
    key = np.unique(s_g[keep] * SH + (s_d[keep] + OFF))
    key_g = key // SH
    key_d = (key % SH - OFF).astype(np.int32)
    ng = len(groups)
    g_first = np.full(ng, NAT, np.int64)
    g_last = np.full(ng, NAT, np.int64)
    if len(key):  # first/last held session per group
        bnd = np.flatnonzero(np.r_[True, key_g[1:] != key_g[:-1]])
        g_first[key_g[bnd]] = key_d[bnd]
        g_last[key_g[np.r_[bnd[1:] - 1, len(key) - 1]]] = key_d[np.r_[bnd[1:] - 1, len(key) - 1]]
    return Calendar(all_key, a_all, a_g, key, key_g, key_d, g_first, g_last, notes)


@dataclass(frozen=True)
class Windows:
    """Each member's observation window (int64 days since 1970)."""

    enr: np.ndarray         # enrolment day
    ex_day: np.ndarray      # exit day (NAT if none)
    has_exit: np.ndarray    # an exit on or before the cut-off
    reason: np.ndarray      # exit reason (object, None if none)
    end_day: np.ndarray     # last day of the window: the exit, else the cut-off


def member_windows(members: pd.DataFrame, cut_day: int | np.integer) -> Windows:
    """Enrolment, exit (only if on or before the cut-off) and exit reason of every member."""
    nm = len(members)
    enr = days(members["enrolled_on"].to_numpy())
    if "exited_on" in members.columns:
        ex = members["exited_on"]
        ex_day = days(ex.to_numpy()) if ex.dtype.kind == "M" else days(pd.to_datetime(ex, errors="coerce").to_numpy())
        has_exit = (ex_day != NAT) & (ex_day <= cut_day)
    else:
        ex_day = np.full(nm, NAT, np.int64)
        has_exit = np.zeros(nm, bool)
    if "exit_reason" in members.columns:
        reason = members["exit_reason"].astype("object").where(members["exit_reason"].notna(), None).to_numpy()
    else:
        reason = np.full(nm, None, dtype=object)
    end_day = np.where(has_exit, ex_day, np.minimum(cut_day, np.iinfo(np.int64).max // 4))
    return Windows(enr, ex_day, has_exit, reason, end_day)


@dataclass(frozen=True)
class Schedule:
    """Every member's scheduled sessions, expanded: one entry per (member, held session)."""

    start: np.ndarray       # per member: first position in the held keys
    n_sched: np.ndarray     # per member: number of scheduled sessions
    offs: np.ndarray        # per member (+1): offset of the member's slice in the expansion
    itype: type             # integer type of the expansion (int32 unless it is huge)
    member: np.ndarray      # per entry: member position
    session: np.ndarray     # per entry: position in the held keys


def schedule(key: np.ndarray, m_g: np.ndarray, enr: np.ndarray, end_day: np.ndarray) -> Schedule:
    """A member's schedule is one contiguous slice of their group's sorted held sessions, expanded by np.repeat."""
    nm = len(m_g)
    start = np.searchsorted(key, m_g * SH + (enr + OFF), "left")
    stop = np.searchsorted(key, m_g * SH + (np.minimum(end_day, np.int64(1) << 30) + OFF), "right")
    n_sched = np.maximum(stop - start, 0)
    total = int(n_sched.sum())
    offs = np.zeros(nm + 1, np.int64)
    np.cumsum(n_sched, out=offs[1:])
    itype: type = np.int32 if max(total, len(key), nm) < 2**31 - 1 else np.int64
    member: np.ndarray = np.repeat(np.arange(nm, dtype=itype), n_sched)
    session: np.ndarray = np.arange(total, dtype=itype) - np.repeat((offs[:-1] - start).astype(itype), n_sched)
    return Schedule(start, n_sched, offs, itype, member, session)


def attendance_members(members: pd.DataFrame, att: pd.DataFrame, m_g: np.ndarray,
                        a_g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per attendance row: the member's position (-1 unknown) and whether it names a member of that group."""
    mid_index = pd.Index(members["member_id"].astype(str))
    m_g32 = m_g.astype(np.int32)
    if mid_index.is_unique:
        a_m = indexer(mid_index, att["member_id"])
        ok = a_m >= 0
        ok &= np.r_[m_g32, -2][a_m] == a_g        # a_m = -1 picks -2: never equal
    else:
        mi = pd.MultiIndex.from_arrays([members["member_id"].astype(str), m_g])
        a_m = mi.get_indexer(pd.MultiIndex.from_arrays([att["member_id"].astype(str), a_g])).astype(np.int32)
        ok = a_m >= 0
    return a_m, ok


def mark_attendance(state: np.ndarray, members: pd.DataFrame, att: pd.DataFrame, m_g: np.ndarray,
                     cal: Calendar, sch: Schedule) -> list[str]:
    """Write each attendance row's mark into ``state`` (1 attended, 2 excused, 0 missed); return notes.

    Rows naming a member not enrolled in that group are ignored; attended
    marks outside the member's schedule are not counted; both are noted.
    """
    itype, key, all_key = sch.itype, cal.key, cal.all_key
    a_m, ok = attendance_members(members, att, m_g, cal.a_g)
    n_unknown = int((~ok).sum())
    # index of each attendance row's session among the held sessions (-1: cancelled / after the cut-off)
    held_pos = np.searchsorted(key, all_key)
    held_pos = np.where((held_pos < len(key)) & (key[np.minimum(held_pos, max(len(key) - 1, 0))] == all_key),
                        held_pos, -1) if len(key) else np.full(len(all_key), -1)
    sidx = np.r_[held_pos, -1].astype(itype)[cal.a_all]      # a_all = -1 picks the trailing -1
    cal.a_all = np.zeros(0, np.int64)
    am = np.where(ok, a_m, 0)
    del a_m
    rel = sidx - sch.start.astype(itype)[am]                  # position within the member's schedule
    in_sched = ok & (sidx >= 0) & (rel >= 0) & (rel < sch.n_sched.astype(itype)[am])
    del sidx
    attended = att["attended"].to_numpy(dtype=bool, na_value=False)
    if "status" in att.columns:
        excused = (att["status"] == "excused").to_numpy(dtype=bool, na_value=False) & ~attended
    else:
        excused = np.zeros(len(att), bool)
    n_outside = int((ok & ~in_sched & attended).sum())
    amk = am[in_sched]
    p = sch.offs[:-1][amk] + rel[in_sched]
    del am, rel, amk
    state[p] = np.where(attended[in_sched], 1, np.where(excused[in_sched], 2, 0)).astype(np.int8)
    notes = []
    if n_unknown:
        notes.append(f"{n_unknown} attendance row(s) name a member not enrolled in that group and were ignored")
    if n_outside:
        notes.append(f"{n_outside} attended mark(s) fall outside the member's scheduled sessions (before "
                     "enrolled_on, after exited_on/the cut-off, or on a cancelled session) and were not counted")
    return notes


# ---------------------------------------------------------------------------
# steps of _compute: excused rule, attended sequence, dropout rules
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Marks:
    """The schedule after the excused rule: the sessions that count, and which were attended."""

    member: np.ndarray      # per counted session: member position (sorted, contiguous per member)
    session: np.ndarray     # per counted session: position in the held keys
    attended: np.ndarray    # bool
    offered: np.ndarray     # per member: counted sessions
    roffs: np.ndarray       # per member (+1): offset of the member's slice
    n_excused: np.ndarray   # per member: excused absences (before the rule)
    itype: type


def apply_excused(state: np.ndarray, sch: Schedule, excused: str, nm: int) -> Marks:
    """``excused="neither"`` drops excused sessions; ``"attended"`` counts them attended, ``"missed"`` missed."""
    n_excused = np.bincount(sch.member[state == 2], minlength=nm).astype(np.int64)
    if excused == "neither":
        kept = state != 2
        r_member = sch.member[kept]
        r_session = sch.session[kept]
        a = state[kept] == 1
    else:
        r_member = sch.member
        r_session = sch.session
        a = (state == 1) | ((state == 2) if excused == "attended" else False)
    offered = np.bincount(r_member, minlength=nm).astype(np.int64)
    roffs = np.zeros(nm + 1, np.int64)
    np.cumsum(offered, out=roffs[1:])
    return Marks(r_member, r_session, a, offered, roffs, n_excused, sch.itype)


@dataclass(frozen=True)
class AttendedSequence:
    """Each counted session's day, and each member's attended sessions."""

    day: np.ndarray         # per counted session: day (int32)
    ma: np.ndarray          # per attended session: member
    da: np.ndarray          # per attended session: day
    n_att: np.ndarray       # per member: sessions attended
    first_d: np.ndarray     # per member: first attended day (NAT if never)
    last_d: np.ndarray      # per member: last attended day (NAT if never)

    @property
    def any_att(self) -> np.ndarray:
        return self.n_att > 0


def attended_sequence(marks: Marks, key_d: np.ndarray, nm: int) -> AttendedSequence:
    """Days of the counted sessions, attended counts and first / last attended day per member."""
    day = key_d[marks.session] if len(marks.session) else np.zeros(0, np.int32)
    ma = marks.member[marks.attended]
    da = day[marks.attended]
    n_att = np.bincount(ma, minlength=nm).astype(np.int64)
    first_d = np.full(nm, NAT, np.int64)
    last_d = np.full(nm, NAT, np.int64)
    if len(ma):
        b = np.flatnonzero(np.r_[True, ma[1:] != ma[:-1]])
        e = np.r_[b[1:] - 1, len(ma) - 1]
        first_d[ma[b]] = da[b]
        last_d[ma[b]] = da[e]
    return AttendedSequence(day, ma, da, n_att, first_d, last_d)

