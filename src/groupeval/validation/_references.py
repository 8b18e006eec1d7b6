"""References between tables: groups known, sessions scheduled, members enrolled (integer joins).

Lookup arrays carry one extra last slot, read by code/position -1 (missing /
not found), so each check is a single take over the rows.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..base.schema import TABLE_NAMES
from ._keys import Lookup, days, key, member_lookup, pair, unique_index, within
from ._state import NAT, Log, Table

__all__ = ["references", "Space"]


@dataclass(frozen=True)
class Space:
    """The integer key space: groups, days (offset so they are >= 0), the day numbers computed once."""

    ng: int
    nd: int
    dmin: int
    days: dict[tuple[str, str], np.ndarray]


def _unknown_groups(ts: dict[str, Table], log: Log, keys: dict[str, np.ndarray], ng: int) -> None:
    g = ts["groups"]
    if not (g.usable and g.given):
        return
    known = np.zeros(ng + 1, dtype=bool)
    known[keys["groups"][g.live]] = True
    known[-1] = True  # an empty group_id is reported as empty, not as unknown
    for t in (ts["members"], ts["sessions"], ts["attendance"], ts["responses"]):
        if t.usable and "_group_id" in t.df:
            bad = ~known[t.df["_group_id"].to_numpy()] & t.live
            log.row_problems(t, bad, "group_id", "group_id is not in the groups table",
                             "add the group to the groups file or correct the id")


def _exit_order(m: Table, log: Log) -> None:
    if m.usable and "exited_on" in m.df:
        bad = (m.df["exited_on"] < m.df["enrolled_on"]).to_numpy() & m.live
        log.row_problems(m, bad, "exited_on", "exited_on is before enrolled_on", "correct the enrolment or exit date")


def _session_states(s: Table, keys: dict[str, np.ndarray], q: np.ndarray, space: Space) -> np.ndarray:
    """Per attendance row: 0 = no session of its group that day, 1 = held, 2 = cancelled."""
    live = s.live
    s_keys = keys["sessions"][live]
    s_cancel = s.df["cancelled"].to_numpy(dtype=bool)[live]
    if 0 < space.ng * space.nd <= 200_000_000:
        # dense table of session states per (group, day) key, one byte each (the first of duplicated
        # sessions counts, as in Lookup)
        s_state = np.zeros(space.ng * space.nd, dtype=np.int8)
        s_state[s_keys[::-1]] = (1 + s_cancel)[::-1]
        return s_state[q]
    pos = Lookup(s_keys, 0)(q)
    return np.where(pos < 0, 0, 1 + np.append(s_cancel, False)[pos]).astype(np.int8)


def _schedule(a: Table, s: Table, log: Log, keys: dict[str, np.ndarray], live: np.ndarray, att: np.ndarray,
              space: Space) -> None:
    state = _session_states(s, keys, keys["attendance_session"], space)
    log.row_problems(a, (state == 0) & live, "session_date", "no session of this group on this date in the sessions "
                     "table", "correct the date, or add the session to the sessions file")
    canc = (state == 2) & live
    log.row_problems(a, canc & att, "session_date", "marked present at a session that was cancelled",
                     "correct the mark, or set cancelled to FALSE for this session")
    log.record(a, canc & ~att, "session_date",
               "absence on a cancelled session (cancelled sessions have no attendance rows)", "excluded")


def _outside_enrolment(a: Table, log: Log, ad: np.ndarray, pos: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                       live: np.ndarray, att: np.ndarray) -> None:
    before = (ad < lo[pos]) & live
    after = (ad > hi[pos]) & live
    log.row_problems(a, before & att, "session_date", "marked present before the member's enrolled_on date",
                     "correct enrolled_on in the members file or the attendance date")
    log.row_problems(a, after & att, "session_date", "marked present after the member's exited_on date",
                     "correct exited_on in the members file or the attendance date")
    blank = a.df["_blank"].to_numpy(dtype=bool)
    log.record(a, (before | after) & ~att & blank, "session_date",
               "blank cell outside the member's enrolment: not a scheduled session for them", "excluded")
    log.record(a, (before | after) & ~att & ~blank, "session_date",
               "absence outside the member's enrolment (not a scheduled session for them)", "excluded")


def _enrolment(a: Table, m: Table, log: Log, ad: np.ndarray, valid: np.ndarray, att: np.ndarray, ng: int,
               unenrolled: str) -> None:
    m_live = m.live | m.cut  # members enrolled after the cut-off still define enrolment
    pos = member_lookup(m.df["_member_id"].to_numpy()[m_live], m.df["_group_id"].to_numpy()[m_live],
                        a.df["_member_id"].to_numpy(), a.df["_group_id"].to_numpy(), ng)
    live = a.live & valid
    notenr = (pos < 0) & live
    if unenrolled == "error":
        log.row_problems(a, notenr, "member_id",
                         "attendance for a member who is not enrolled in this group (not in the members "
                         "table with this group_id)",
                         "add the enrolment to the members file, correct the ids, or pass "
                         "unenrolled='exclude' to drop such rows", values=pair(a) if notenr.any() else None)
    else:
        log.record(a, notenr, "member_id", "member not enrolled in this group", "excluded",
                   values=pair(a) if notenr.any() else None)
    enr_d = days(m.df["enrolled_on"])[m_live]
    ext_d = days(m.df["exited_on"])[m_live] if "exited_on" in m.df else np.full(int(m_live.sum()), NAT)
    # per enrolment: first and last day on which attendance is within it (no bound when a date is
    # missing; the last slot, read for rows not enrolled, has none either)
    big = np.iinfo(np.int64).max
    lo = np.append(np.where(enr_d == NAT, NAT, enr_d), NAT)
    hi = np.append(np.where((enr_d == NAT) | (ext_d == NAT), big, ext_d), big)
    if not within(ad, pos, lo, hi):  # else no row is outside its enrolment: nothing to report
        _outside_enrolment(a, log, ad, pos, lo, hi, live, att)


def _responses(r: Table, m: Table, log: Log, keys: dict[str, np.ndarray], ng: int, unenrolled: str) -> None:
    m_live = m.live | m.cut
    mem_known = np.zeros(max(int(m.df["_member_id"].max()) + 1 if len(m.df) else 1, 1), dtype=bool)
    mc = m.df["_member_id"].to_numpy()
    mem_known[mc[m_live & (mc >= 0)]] = True
    rc = r.df["_member_id"].to_numpy()
    inrange = (rc >= 0) & (rc < len(mem_known))
    notmem = (rc >= 0) & ~np.where(inrange, mem_known[np.clip(rc, 0, len(mem_known) - 1)], False) & r.live
    if unenrolled == "error":
        log.row_problems(r, notmem, "member_id", "survey response from a member who is not in the members table",
                         "add the member to the members file, correct the id, or pass unenrolled='exclude'")
    else:
        log.record(r, notmem, "member_id", "member not in the members table", "excluded")
    if "_group_id" in r.df:
        rg = r.df["_group_id"].to_numpy()
        has = (rg >= 0) & (rc >= 0) & r.live & ~notmem
        pairs, _ = unique_index(keys["members"][m_live])
        pos = pairs.get_indexer(key((np.maximum(rc, 0), 1), (np.maximum(rg, 0), ng)))
        log.row_problems(r, has & (pos < 0), "group_id", "survey response names a group the member is not enrolled in",
                         "correct group_id (or leave it empty)")


def references(ts: dict[str, Table], log: Log, keys: dict[str, np.ndarray], space: Space, unenrolled: str) -> None:
    """Every reference rule between the tables."""
    _, m, s, a, r = (ts[n] for n in TABLE_NAMES)
    _unknown_groups(ts, log, keys, space.ng)
    _exit_order(m, log)
    if a.usable:
        ad = space.days["attendance", "session_date"]
        valid = (ad != NAT) & (a.df["_group_id"].to_numpy() >= 0) & (a.df["_member_id"].to_numpy() >= 0)
        att = a.df["attended"].to_numpy(dtype=bool)
        if s.usable and s.given:
            _schedule(a, s, log, keys, a.live & valid, att, space)
        if m.usable and m.given:
            _enrolment(a, m, log, ad, valid, att, space.ng, unenrolled)
    if r.usable and m.usable and m.given:
        _responses(r, m, log, keys, space.ng, unenrolled)
