"""Attendance per member, dropout rules and group engagement.

This is the statistics layer's view of attendance: which sessions each member
was offered, which they attended, whether and when they dropped out.  The
retention analyses in :mod:`groupeval.retention` build on
:func:`attendance_summary`.

Definitions (docs/design.md, "Dropout and retention"; all configurable through
:class:`Dropout`):

* A member's **scheduled sessions** are the non-cancelled sessions of their
  group from ``enrolled_on`` to ``exited_on`` (or the data cut-off).  A
  scheduled session without an attendance row counts as missed.
* **Dropped**: ``consecutive_missed`` scheduled sessions missed in a row
  (default 3), or no attendance for more than ``weeks_without_attendance``
  weeks (off by default), or an explicit exit whose reason is not censored
  (every reason except ``completed`` by default).  Misses are counted from
  the member's first attended session; a member who never attends is dropped
  when the rule is met from enrolment (they are left out of the retention
  curve and counted in the participant flow).
* **Event time**: the last attended session before the dropout, in weeks
  (days / 7) since ``enrolled_on``.  Completers are censored at ``exited_on``;
  members still active are censored at their group's last session in the
  data (no later than the data cut-off).
* **Late entry**: a member enrolled before their group's first session in
  the data enters the risk set at ``entry_weeks`` (weeks from enrolment to
  that first session).
"""
from __future__ import annotations

import warnings
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..base.dataset import Dataset
from ..base.exceptions import ConfigError, DataQualityWarning, Problem, SchemaError
from .dropout import Dropout, as_dropout

__all__ = ["SUMMARY_COLUMNS", "attendance_summary", "group_engagement"]

#: The columns docs/design.md fixes for :func:`attendance_summary` (in this order).
SUMMARY_COLUMNS = ("member_id", "group_id", "sessions_offered", "sessions_attended", "attendance_rate",
                   "first_attended", "last_attended", "status", "weeks_in_group")
_DAY = np.timedelta64(1, "D")


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def _days(values: Any) -> np.ndarray:
    """datetime-like -> int64 days since 1970 (NaT -> INT64 min)."""
    arr = np.asarray(values)
    if arr.dtype.kind != "M":
        arr = pd.to_datetime(pd.Series(values), errors="coerce").to_numpy()
    return arr.astype("datetime64[D]").astype(np.int64)


_NAT = np.iinfo(np.int64).min


def _indexer(index: pd.Index, values: pd.Series) -> np.ndarray:
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


_DAY_NS = np.int64(86_400_000_000_000)


def _days32(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """datetime64[ns] column -> (int32 days since 1970, NaT mask)."""
    arr = values.to_numpy()
    if arr.dtype != np.dtype("datetime64[ns]"):
        arr = pd.to_datetime(values, errors="coerce").to_numpy().astype("datetime64[ns]")
    v = arr.view(np.int64)
    nat = v == np.iinfo(np.int64).min
    return (v // _DAY_NS).astype(np.int32), nat


def _require(df: pd.DataFrame, table: str, columns: tuple[str, ...]) -> list[Problem]:
    return [Problem(None, None, c, None, f"the {table} table has no column {c!r}",
                    f"add a {c!r} column to {table} (see docs/design.md, canonical tables)")
            for c in columns if c not in df.columns]


def _check_dataset(dataset: Any) -> None:
    if not isinstance(dataset, Dataset):
        raise SchemaError(f"Expected a groupeval Dataset (from groupeval.load or groupeval.validate), "
                          f"got {type(dataset).__name__}.")
    problems = (_require(dataset.members, "members", ("member_id", "group_id", "enrolled_on"))
                + _require(dataset.attendance, "attendance", ("member_id", "group_id", "session_date", "attended")))
    if len(dataset.sessions) or len(dataset.sessions.columns):
        problems += _require(dataset.sessions, "sessions", ("group_id", "session_date"))
    for table, col in (("members", "enrolled_on"), ("attendance", "session_date")):
        df = getattr(dataset, table)
        if col in df.columns and len(df) and df[col].dtype.kind != "M":
            problems.append(Problem(None, None, col, str(df[col].dtype),
                                    f"{table}.{col} must hold datetime64 dates",
                                    "build the Dataset with groupeval.load/validate, or convert with pd.to_datetime"))
    if "enrolled_on" in dataset.members.columns and dataset.members["enrolled_on"].isna().any():
        bad = dataset.members.loc[dataset.members["enrolled_on"].isna(), "member_id"].astype(str).tolist()
        problems.append(Problem(None, None, "enrolled_on", ", ".join(bad[:10]),
                                f"{len(bad)} member(s) have no enrolment date",
                                "fill members.enrolled_on; the retention time origin is the enrolment date"))
    if problems:
        raise SchemaError("The dataset cannot be summarised", problems)


class _SessionLookup:
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


@dataclass
class _Engagement:
    """Internal per-member result plus the expanded schedule (for group_engagement)."""

    members: pd.DataFrame
    sched_member: np.ndarray = field(repr=False)
    sched_session: np.ndarray = field(repr=False)
    sched_state: np.ndarray = field(repr=False)  # 0 missed/no row, 1 attended, 2 excused (before rule mapping)
    sessions: pd.DataFrame = field(repr=False)
    notes: list = field(default_factory=list)


def _compute(dataset: Dataset, dropout: Dropout) -> _Engagement:
    _check_dataset(dataset)
    members = dataset.members
    att = dataset.attendance
    ses = dataset.sessions
    nm = len(members)
    cutoff = dataset.data_cutoff if (len(ses) or len(att)) else pd.NaT
    cut_day = _days(np.array([cutoff], dtype="datetime64[ns]"))[0] if not pd.isna(cutoff) else np.iinfo(np.int64).max

    # ---- groups universe --------------------------------------------------
    def uniq(col: pd.Series) -> np.ndarray:
        if isinstance(col.dtype, pd.CategoricalDtype):
            return col.cat.categories.astype(str).to_numpy(dtype=object)
        return pd.unique(col.dropna().astype(str).to_numpy(dtype=object))

    gid_parts = [uniq(members["group_id"])]
    if len(ses):
        gid_parts.append(uniq(ses["group_id"]))
    if len(att):
        gid_parts.append(uniq(att["group_id"]))
    groups = pd.Index(pd.unique(np.concatenate(gid_parts)))
    m_g = _indexer(groups, members["group_id"]).astype(np.int64)

    # ---- sessions (non-cancelled, up to the cut-off) -------------------------
    if len(ses):
        s_g = _indexer(groups, ses["group_id"]).astype(np.int64)
        s_d = _days(ses["session_date"].to_numpy())
        s_c = (ses["cancelled"].fillna(False).to_numpy(dtype=bool) if "cancelled" in ses.columns
               else np.zeros(len(ses), bool))
    else:
        s_g = np.zeros(0, np.int64)
        s_d = np.zeros(0, np.int64)
        s_c = np.zeros(0, bool)

    # attendance codes (int32: 15 M rows)
    if len(att):
        a_g = _indexer(groups, att["group_id"])
        a_d, a_nat = _days32(att["session_date"])
        if a_nat.any():
            a_g[a_nat] = -1
    else:
        a_g = np.zeros(0, np.int32)
        a_d = np.zeros(0, np.int32)
    SH = np.int64(1) << np.int64(32)
    OFF = np.int64(1) << np.int64(31)
    all_key = np.unique(s_g * SH + (s_d + OFF))
    notes: list[str] = []
    a_all = np.zeros(0, np.int64)
    if len(att):
        a_all = _SessionLookup(all_key, SH, OFF, len(groups)).find(a_g, a_d)
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
            a_all = _SessionLookup(all_key, SH, OFF, len(groups)).find(a_g, a_d)
    keep = (~s_c) & (s_d <= cut_day)
    key = np.unique(s_g[keep] * SH + (s_d[keep] + OFF))
    key_g = key // SH
    key_d = (key % SH - OFF).astype(np.int32)
    ng = len(groups)
    g_first = np.full(ng, _NAT, np.int64)
    g_last = np.full(ng, _NAT, np.int64)
    if len(key):  # first/last held session per group
        bnd = np.flatnonzero(np.r_[True, key_g[1:] != key_g[:-1]])
        g_first[key_g[bnd]] = key_d[bnd]
        g_last[key_g[np.r_[bnd[1:] - 1, len(key) - 1]]] = key_d[np.r_[bnd[1:] - 1, len(key) - 1]]

    # ---- member windows -------------------------------------------------
    enr = _days(members["enrolled_on"].to_numpy())
    if "exited_on" in members.columns:
        ex = members["exited_on"]
        ex_day = _days(ex.to_numpy()) if ex.dtype.kind == "M" else _days(pd.to_datetime(ex, errors="coerce").to_numpy())
        has_exit = (ex_day != _NAT) & (ex_day <= cut_day)
    else:
        ex_day = np.full(nm, _NAT, np.int64)
        has_exit = np.zeros(nm, bool)
    if "exit_reason" in members.columns:
        reason = members["exit_reason"].astype("object").where(members["exit_reason"].notna(), None).to_numpy()
    else:
        reason = np.full(nm, None, dtype=object)
    end_day = np.where(has_exit, ex_day, np.minimum(cut_day, np.iinfo(np.int64).max // 4))
    start = np.searchsorted(key, m_g * SH + (enr + OFF), "left")
    stop = np.searchsorted(key, m_g * SH + (np.minimum(end_day, np.int64(1) << 30) + OFF), "right")
    n_sched = np.maximum(stop - start, 0)
    stop = start + n_sched
    total = int(n_sched.sum())
    offs = np.zeros(nm + 1, np.int64)
    np.cumsum(n_sched, out=offs[1:])
    itype = np.int32 if max(total, len(key), nm) < 2**31 - 1 else np.int64
    sched_member = np.repeat(np.arange(nm, dtype=itype), n_sched)
    sched_session = np.arange(total, dtype=itype) - np.repeat((offs[:-1] - start).astype(itype), n_sched)
    state = np.zeros(total, np.int8)

    # ---- attendance -> schedule positions ----------------------------------
    if len(att) and nm:
        mid_index = pd.Index(members["member_id"].astype(str))
        m_g32 = m_g.astype(np.int32)
        if mid_index.is_unique:
            a_m = _indexer(mid_index, att["member_id"])
            ok = a_m >= 0
            ok &= np.r_[m_g32, -2][a_m] == a_g        # a_m = -1 picks -2: never equal
        else:
            mi = pd.MultiIndex.from_arrays([members["member_id"].astype(str), m_g])
            a_m = mi.get_indexer(pd.MultiIndex.from_arrays([att["member_id"].astype(str), a_g])).astype(np.int32)
            ok = a_m >= 0
        n_unknown = int((~ok).sum())
        # index of each attendance row's session among the held sessions (-1: cancelled / after the cut-off)
        held_pos = np.searchsorted(key, all_key)
        held_pos = np.where((held_pos < len(key)) & (key[np.minimum(held_pos, max(len(key) - 1, 0))] == all_key),
                            held_pos, -1) if len(key) else np.full(len(all_key), -1)
        sidx = np.r_[held_pos, -1].astype(itype)[a_all]      # a_all = -1 picks the trailing -1
        del a_all
        am = np.where(ok, a_m, 0)
        del a_m
        rel = sidx - start.astype(itype)[am]                  # position within the member's schedule
        in_sched = ok & (sidx >= 0) & (rel >= 0) & (rel < n_sched.astype(itype)[am])
        del sidx
        attended = att["attended"].to_numpy(dtype=bool, na_value=False)
        if "status" in att.columns:
            excused = (att["status"] == "excused").to_numpy(dtype=bool, na_value=False) & ~attended
        else:
            excused = np.zeros(len(att), bool)
        n_outside = int((ok & ~in_sched & attended).sum())
        amk = am[in_sched]
        p = offs[:-1][amk] + rel[in_sched]
        del am, rel, amk
        state[p] = np.where(attended[in_sched], 1, np.where(excused[in_sched], 2, 0)).astype(np.int8)
        del p
        if n_unknown:
            notes.append(f"{n_unknown} attendance row(s) name a member not enrolled in that group and were ignored")
        if n_outside:
            notes.append(f"{n_outside} attended mark(s) fall outside the member's scheduled sessions (before "
                         "enrolled_on, after exited_on/the cut-off, or on a cancelled session) and were not counted")

    # ---- apply the excused rule --------------------------------------------
    n_excused = np.bincount(sched_member[state == 2], minlength=nm).astype(np.int64)
    if dropout.excused == "neither":
        kept = state != 2
        r_member = sched_member[kept]
        r_session = sched_session[kept]
        a = state[kept] == 1
    else:
        r_member = sched_member
        r_session = sched_session
        a = (state == 1) | ((state == 2) if dropout.excused == "attended" else False)
    day = key_d[r_session] if len(r_session) else np.zeros(0, np.int32)
    offered = np.bincount(r_member, minlength=nm).astype(np.int64)
    ma = r_member[a]
    da = day[a]
    n_att = np.bincount(ma, minlength=nm).astype(np.int64)
    roffs = np.zeros(nm + 1, np.int64)
    np.cumsum(offered, out=roffs[1:])

    first_d = np.full(nm, _NAT, np.int64)
    last_d = np.full(nm, _NAT, np.int64)
    if len(ma):
        b = np.flatnonzero(np.r_[True, ma[1:] != ma[:-1]])
        e = np.r_[b[1:] - 1, len(ma) - 1]
        first_d[ma[b]] = da[b]
        last_d[ma[b]] = da[e]
    any_att = n_att > 0

    BIG = np.iinfo(np.int64).max
    # candidates per rule: event day (last attended before the rule fired) and known day
    cand_ev = []
    cand_kn = []
    n = len(r_member)
    idx = np.arange(n, dtype=itype)
    mstart = roffs[:-1].astype(itype)[r_member] if n else np.zeros(0, itype)
    last_att = np.maximum.accumulate(np.where(a, idx, itype(-1))) if n else np.zeros(0, itype)
    has_prev = last_att >= mstart

    k = dropout.consecutive_missed
    if k is not None:
        ev = np.full(nm, BIG, np.int64)
        kn = np.full(nm, BIG, np.int64)
        run = idx - np.where(has_prev, last_att, mstart - 1)
        started = has_prev | ~any_att[r_member] if n else np.zeros(0, bool)
        hit = (~a) & started & (run == k)
        hm = r_member[hit]
        if len(hm):
            b = np.flatnonzero(np.r_[True, hm[1:] != hm[:-1]])
            hp = idx[hit][b]
            mm = hm[b]
            kn[mm] = day[hp]
            la = last_att[hp]
            ev[mm] = np.where(la >= mstart[hp], day[np.maximum(la, 0)].astype(np.int64), _NAT)
        cand_ev.append(ev)
        cand_kn.append(kn)
        rule_names = ["consecutive_missed"]
    else:
        rule_names = []

    obs_end = np.where(has_exit, ex_day, np.minimum(cut_day, np.where(g_last[m_g] == _NAT, cut_day, g_last[m_g])))
    w = dropout.weeks_without_attendance
    if w is not None:
        gap = 7.0 * float(w)
        ev = np.full(nm, BIG, np.int64)
        kn = np.full(nm, BIG, np.int64)
        if len(ma):
            nxt = np.r_[da[1:], 0]
            same = np.r_[ma[1:] == ma[:-1], False]
            nxt = np.where(same, nxt, obs_end[ma] + 1)
            hit = (nxt - da) > gap
            hm = ma[hit]
            if len(hm):
                b = np.flatnonzero(np.r_[True, hm[1:] != hm[:-1]])
                mm = hm[b]
                ev[mm] = da[hit][b]
                kn[mm] = da[hit][b] + int(np.ceil(gap))
        never = ~any_att & ((obs_end + 1 - enr) > gap) & (obs_end != _NAT)
        ev[never] = _NAT
        kn[never] = enr[never] + int(np.ceil(gap))
        cand_ev.append(ev)
        cand_kn.append(kn)
        rule_names.append("weeks_without_attendance")

    if dropout.exits:
        is_censor_reason = np.isin(reason.astype(object), np.array(dropout.censor_exits, dtype=object))
        exit_drop = has_exit & ~is_censor_reason
        ev = np.where(exit_drop, np.where(any_att, last_d, _NAT), BIG)
        kn = np.where(exit_drop, ex_day, BIG)
        cand_ev.append(ev)
        cand_kn.append(kn)
        rule_names.append("exit")

    EV = np.stack(cand_ev, axis=1)
    KN = np.stack(cand_kn, axis=1)
    fired = EV != BIG
    # choose the rule with the earliest event, then the earliest known date (the event is NaT only for
    # members who never attended; all of their candidates are NaT, so the known date decides)
    ev_f = np.where(fired, np.where(EV == _NAT, np.iinfo(np.int64).min // 2, EV), BIG).astype(np.float64)
    kn_f = np.where(fired, KN, BIG).astype(np.float64)
    min_ev = ev_f.min(axis=1, keepdims=True)
    kn_masked = np.where(ev_f == min_ev, kn_f, np.inf)
    choice = np.argmin(kn_masked, axis=1)
    dropped = fired.any(axis=1)
    rows = np.arange(nm)
    drop_ev = np.where(dropped, EV[rows, choice], _NAT)
    drop_kn = np.where(dropped, KN[rows, choice], _NAT)
    drop_rule = np.where(dropped, np.array(rule_names, dtype=object)[choice], None)

    censor_exit = has_exit & ~dropped
    status = np.where(dropped, "dropped", np.where(censor_exit, "completed", "active")).astype(object)

    # ---- times (weeks since enrolment) -------------------------------------
    g_cut = np.where(g_last[m_g] == _NAT, _NAT, np.minimum(g_last[m_g], cut_day))
    end_t = np.where(dropped, drop_ev, np.where(censor_exit, ex_day, g_cut))
    valid_t = any_att & (end_t != _NAT)
    time_w = np.where(valid_t, (end_t - enr) / 7.0, np.nan)
    g_start = g_first[m_g]
    entry_w = np.where(g_start != _NAT, np.maximum(g_start - enr, 0) / 7.0, 0.0)
    returned = dropped & any_att & (drop_ev != _NAT) & (last_d > drop_kn)

    def dates(dd: np.ndarray) -> pd.Series:
        out = np.where(dd == _NAT, np.datetime64("NaT"), dd.astype("datetime64[D]")).astype("datetime64[ns]")
        return out

    out = pd.DataFrame({
        "member_id": members["member_id"].to_numpy(),
        "group_id": members["group_id"].to_numpy(),
        "sessions_offered": offered,
        "sessions_attended": n_att,
        "attendance_rate": np.where(offered > 0, n_att / np.maximum(offered, 1), np.nan),
        "first_attended": dates(first_d),
        "last_attended": dates(last_d),
        "status": pd.Categorical(status, categories=["active", "completed", "dropped"]),
        "weeks_in_group": time_w,
        "sessions_excused": n_excused,
        "never_attended": ~any_att,
        "dropped_on": dates(drop_kn),
        "dropout_rule": pd.Series(drop_rule, dtype="object"),
        "event_time_weeks": time_w,
        "censored": ~dropped,
        "entry_weeks": entry_w,
        "returned_after_dropout": returned,
    })
    out.index = members.index
    out = out.reset_index(drop=True)
    sessions = pd.DataFrame({"group_id": groups.to_numpy()[key_g] if len(key) else np.array([], dtype=object),
                             "session_date": dates(key_d)})
    return _Engagement(out, sched_member, sched_session, state, sessions, notes)


# ---------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------
def attendance_summary(dataset: Dataset, dropout: Dropout | str | Mapping | None = None) -> pd.DataFrame:
    """Attendance, dropout status and time in group, one row per member enrolment.

    Parameters
    ----------
    dataset
        A :class:`~groupeval.Dataset`.
    dropout
        The dropout rule: a :class:`Dropout`, a preset name from
        :data:`DROPOUT_PRESETS` (``"default"``, ``"strict"``, ...), a dict of
        :class:`Dropout` fields, or ``None`` for the default (3 consecutive
        missed sessions or an exit other than ``completed``).

    Returns
    -------
    pandas.DataFrame
        One row per row of ``dataset.members``, in that order:

        * ``member_id``, ``group_id``
        * ``sessions_offered``: scheduled, non-cancelled sessions from
          ``enrolled_on`` to ``exited_on`` (or the cut-off); excused ones are
          left out when ``excused="neither"``
        * ``sessions_attended``; ``attendance_rate`` = attended / offered
          (NaN when nothing was offered)
        * ``first_attended``, ``last_attended`` (dates, NaT if never)
        * ``status``: ``active`` / ``completed`` / ``dropped``
        * ``weeks_in_group``: weeks from enrolment to the last attended
          session before dropout (dropped), to ``exited_on`` (completed) or
          to the group's last session in the data (active); NaN for members
          who never attended
        * extras: ``sessions_excused``, ``never_attended``, ``dropped_on``
          (the date the rule fired: the k-th missed session, the exit date,
          or last attended + w weeks), ``dropout_rule``
          (``consecutive_missed`` / ``weeks_without_attendance`` / ``exit``),
          ``event_time_weeks`` (= ``weeks_in_group``; the retention time),
          ``censored`` (not dropped), ``entry_weeks`` (late entry: weeks from
          enrolment to the group's first session in the data, else 0),
          ``returned_after_dropout`` (attended again after the rule fired).

    Notes
    -----
    Scheduled sessions without an attendance row count as missed.  A run of
    ``k`` misses is counted from the member's first attended session (misses
    before a late first attendance do not make a dropout); a member who
    never attends is ``dropped`` once ``k`` sessions have passed (or by an
    exit) and stays out of the retention curve.  Attended marks outside the
    member's scheduled sessions are not counted and raise a
    :class:`~groupeval.exceptions.DataQualityWarning` with their number.

    Vectorised: the schedule of every member is one contiguous slice of
    their group's sorted sessions, expanded with ``np.repeat``; runs of
    misses come from a running maximum of the last attended position.

    In R there is no single equivalent; the same figures come from a
    ``dplyr`` pipeline over the attendance table.

    Examples
    --------
    >>> import groupeval as ge
    >>> ds = ge.sample.generate(seed=1)
    >>> summ = ge.attendance_summary(ds)                        # default rule
    >>> summ = ge.attendance_summary(ds, dropout="strict")      # 2 misses
    >>> summ["status"].value_counts()
    """
    return member_summary(dataset, as_dropout(dropout), stacklevel=2).copy()


#: the most recent per-member summary, reused by retention(), cox_model(), ...
#: on the same (frozen) Dataset and rule; dropped when the Dataset is freed.
_CACHE: dict[int, tuple] = {}


def _warn_notes(notes: list, stacklevel: int) -> None:
    if notes:
        warnings.warn("attendance_summary: " + "; ".join(notes) + ". Check the dataset's QualityReport and the "
                      "members' enrolment dates.", DataQualityWarning, stacklevel=stacklevel + 1)


def member_summary(dataset: Dataset, dropout: Dropout, *, stacklevel: int = 2) -> pd.DataFrame:
    """:func:`attendance_summary` for internal use: cached per (Dataset, rule), not copied; do not modify."""
    key = id(dataset)
    fp = (id(getattr(dataset, "members", None)), id(getattr(dataset, "attendance", None)),
          id(getattr(dataset, "sessions", None)), getattr(dataset, "cutoff", None), dropout)
    hit = _CACHE.get(key)
    if hit is not None and hit[0]() is dataset and hit[1] == fp:
        _warn_notes(hit[3], stacklevel + 1)
        return hit[2]
    eng = _compute(dataset, dropout)
    _CACHE.clear()
    try:
        ref = weakref.ref(dataset, lambda _r, k=key: _CACHE.pop(k, None))
        _CACHE[key] = (ref, fp, eng.members, eng.notes)
    except TypeError:  # pragma: no cover - not weak-referenceable
        pass
    _warn_notes(eng.notes, stacklevel + 1)
    return eng.members


def group_engagement(dataset: Dataset, dropout: Dropout | str | Mapping | None = None, *,
                     level: str = "group") -> pd.DataFrame:
    """Engagement per group, or per session (members present at each meeting).

    Parameters
    ----------
    dataset
        A :class:`~groupeval.Dataset`.
    dropout
        Dropout rule (only its ``excused`` setting matters here); see
        :func:`attendance_summary`.
    level
        ``"group"`` (default): one row per group; ``"session"``: one row per
        held (non-cancelled) session.

    Returns
    -------
    pandas.DataFrame
        ``level="session"``: ``group_id``, ``session_date``, ``week``
        (weeks since the group's first session in the data), ``scheduled``
        (members whose enrolment covers the session), ``present``,
        ``excused``, ``present_share`` (present / scheduled).

        ``level="group"``: ``group_id`` (+ ``group_type``, ``facilitation``
        when known), ``n_members``, ``n_attended_any``, ``sessions_held``,
        ``sessions_cancelled``, ``mean_present`` (members present per held
        session), ``mean_attendance_rate`` and ``median_attendance_rate``
        (over members offered at least one session), ``dropped_share``
        (share of members with status ``dropped``).
    """
    if level not in ("group", "session"):
        raise ConfigError(f"`level` must be 'group' or 'session', got {level!r}.")
    dropout = as_dropout(dropout)
    eng = _compute(dataset, dropout)
    _warn_notes(eng.notes, 2)
    ses = eng.sessions
    n_ses = len(ses)
    st = eng.sched_state
    if dropout.excused == "attended":
        present = (st == 1) | (st == 2)
    else:
        present = st == 1
    pres = np.bincount(eng.sched_session, weights=present, minlength=n_ses).astype(np.int64)
    sched = np.bincount(eng.sched_session, minlength=n_ses).astype(np.int64)
    exc = np.bincount(eng.sched_session, weights=(st == 2), minlength=n_ses).astype(np.int64)
    per = ses.copy()
    first = per.groupby("group_id", sort=False)["session_date"].transform("min")
    per["week"] = (per["session_date"] - first) / np.timedelta64(7, "D")
    per["scheduled"] = sched
    per["present"] = pres
    per["excused"] = exc
    per["present_share"] = np.where(sched > 0, pres / np.maximum(sched, 1), np.nan)
    if level == "session":
        return per.reset_index(drop=True)

    m = eng.members
    gm = m.groupby("group_id", sort=True, observed=True).agg(
        n_members=("member_id", "size"),
        n_attended_any=("never_attended", lambda s: int((~s).sum())),
        mean_attendance_rate=("attendance_rate", "mean"),
        median_attendance_rate=("attendance_rate", "median"),
        dropped_share=("status", lambda s: float((s == "dropped").mean())),
    )
    gs = per.groupby("group_id", sort=True).agg(sessions_held=("session_date", "size"),
                                                 mean_present=("present", "mean"))
    ses_all = dataset.sessions
    if len(ses_all) and "cancelled" in ses_all.columns:
        canc = ses_all.assign(group_id=ses_all["group_id"].astype(str)).groupby("group_id")["cancelled"].sum()
    else:
        canc = pd.Series(dtype="int64")
    out = gm.join(gs, how="outer")
    out["sessions_cancelled"] = canc.reindex(out.index).fillna(0).astype(np.int64)
    out["sessions_held"] = out["sessions_held"].fillna(0).astype(np.int64)
    out["n_members"] = out["n_members"].fillna(0).astype(np.int64)
    out = out.reset_index().rename(columns={"index": "group_id"})
    g = dataset.groups
    extra = [c for c in ("group_type", "facilitation") if c in g.columns]
    if extra:
        out = out.merge(g[["group_id", *extra]].assign(group_id=g["group_id"].astype(str)), on="group_id", how="left")
    cols = ["group_id", *extra, "n_members", "n_attended_any", "sessions_held", "sessions_cancelled",
            "mean_present", "mean_attendance_rate", "median_attendance_rate", "dropped_share"]
    return out[cols]
