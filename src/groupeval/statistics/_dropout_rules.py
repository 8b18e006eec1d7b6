"""The dropout rules applied to members' attended sequences (the rules themselves: :class:`.dropout.Dropout`).

Each rule gives, per member, the *event day* (the last attended session
before the dropout; NaT for a member who never attended) and the *known
day* (when the rule fired), or ``BIG`` where it does not fire;
:func:`first_rule` picks the earliest.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ._schedule import NAT, AttendedSequence, Marks, Windows

BIG = np.iinfo(np.int64).max   # "rule did not fire"


def rule_consecutive_missed(marks: Marks, seq: AttendedSequence, k: int, nm: int) -> tuple[np.ndarray, np.ndarray]:
    """(event day, known day) per member of the k-in-a-row rule; ``BIG`` where it does not fire.

    Runs of misses are counted from the member's first attended session (or
    from enrolment for a member who never attends), by a running maximum of
    the last attended position; the event is the last attended session
    before the run (NaT for a member who never attended), the known day the
    k-th missed session.
    """
    itype, r_member, a, day = marks.itype, marks.member, marks.attended, seq.day
    n = len(r_member)
    idx: np.ndarray = np.arange(n, dtype=itype)
    mstart = marks.roffs[:-1].astype(itype)[r_member] if n else np.zeros(0, itype)
    last_att = np.maximum.accumulate(np.where(a, idx, itype(-1))) if n else np.zeros(0, itype)
    has_prev = last_att >= mstart
    ev = np.full(nm, BIG, np.int64)
    kn = np.full(nm, BIG, np.int64)
    run = idx - np.where(has_prev, last_att, mstart - 1)
    started = has_prev | ~seq.any_att[r_member] if n else np.zeros(0, bool)
    hit = (~a) & started & (run == k)
    hm = r_member[hit]
    if len(hm):
        b = np.flatnonzero(np.r_[True, hm[1:] != hm[:-1]])
        hp = idx[hit][b]
        mm = hm[b]
        kn[mm] = day[hp]
        la = last_att[hp]
        ev[mm] = np.where(la >= mstart[hp], day[np.maximum(la, 0)].astype(np.int64), NAT)
    return ev, kn


def rule_weeks_without_attendance(seq: AttendedSequence, w: float, obs_end: np.ndarray, enr: np.ndarray,
                                   nm: int) -> tuple[np.ndarray, np.ndarray]:
    """(event day, known day) of the "more than w weeks without attendance" rule; ``BIG`` where it does not fire.

    A gap after an attended session longer than ``7 w`` days (to the next
    attended session, or to one day past the end of observation) fires at
    that session, known ``ceil(7 w)`` days later; a member who never attends
    fires at enrolment when observed for longer than the gap.
    """
    ma, da = seq.ma, seq.da
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
    never = ~seq.any_att & ((obs_end + 1 - enr) > gap) & (obs_end != NAT)
    ev[never] = NAT
    kn[never] = enr[never] + int(np.ceil(gap))
    return ev, kn


def rule_exit(win: Windows, seq: AttendedSequence, censor_exits: Any) -> tuple[np.ndarray, np.ndarray]:
    """(event day, known day) of an explicit exit whose reason is not censored; ``BIG`` elsewhere."""
    is_censor_reason = np.isin(win.reason.astype(object), np.array(censor_exits, dtype=object))
    exit_drop = win.has_exit & ~is_censor_reason
    ev = np.where(exit_drop, np.where(seq.any_att, seq.last_d, NAT), BIG)
    kn = np.where(exit_drop, win.ex_day, BIG)
    return ev, kn


def first_rule(rules: list[tuple[str, np.ndarray, np.ndarray]],
                nm: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(dropped, event day, known day, rule name) per member: the rule with the earliest event, then known day.

    The event is NaT only for members who never attended; all of their
    candidates are NaT, so the known date decides.
    """
    rule_names = [name for name, _, _ in rules]
    EV = np.stack([ev for _, ev, _ in rules], axis=1)
    KN = np.stack([kn for _, _, kn in rules], axis=1)
    fired = EV != BIG
    ev_f = np.where(fired, np.where(EV == NAT, np.iinfo(np.int64).min // 2, EV), BIG).astype(np.float64)
    kn_f = np.where(fired, KN, BIG).astype(np.float64)
    min_ev = ev_f.min(axis=1, keepdims=True)
    kn_masked = np.where(ev_f == min_ev, kn_f, np.inf)
    choice = np.argmin(kn_masked, axis=1)
    dropped = fired.any(axis=1)
    rows = np.arange(nm)
    drop_ev = np.where(dropped, EV[rows, choice], NAT)
    drop_kn = np.where(dropped, KN[rows, choice], NAT)
    drop_rule = np.where(dropped, np.array(rule_names, dtype=object)[choice], np.array(None, dtype=object))
    return dropped, drop_ev, drop_kn, drop_rule


