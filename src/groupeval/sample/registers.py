"""The programme's registers in the sample: groups, sessions, members (enrolment, dropout, exits) and attendance.

Steps of :func:`groupeval.sample.generate`, called in this order (the order of
the random draws): :func:`_draw_groups`, :func:`_draw_sessions`,
:func:`_draw_enrolment`, :func:`_draw_dropout`, :func:`_members_table`,
:func:`_draw_attendance`.  Each returns a small frozen record of the arrays
the later steps need and the canonical table it builds.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from ._draws import _categorical, _markov_attendance, _str, _take, _weibull_scale_mixture
from .constants import _AGE_P, _FORMATS, _GENDER_P, _SITES, AGE_BANDS, GENDERS, GROUP_TYPES, OPEN_TYPES

#: shape of the Weibull dropout time (weeks since enrolment)
_DROPOUT_SHAPE = 0.8


# ---------------------------------------------------------------------------
# groups and sessions
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _Groups:
    """The drawn groups (one entry per group) and the ``groups`` table."""

    gtype: np.ndarray       # group type code (index into GROUP_TYPES)
    is_open: np.ndarray     # open (ongoing) group
    facil: np.ndarray       # "peer" / "co-facilitated"
    first: np.ndarray       # datetime64[D]: first session in the data window
    last: np.ndarray        # datetime64[D]: last session (the cut-off)
    gid: np.ndarray         # group ids G01, G02, ...
    table: pd.DataFrame

    @property
    def n(self) -> int:
        return len(self.gid)


def _draw_groups(rng: np.random.Generator, n_groups: int, start: pd.Timestamp, weeks: int) -> _Groups:
    """Group types, facilitation, format, site, first session and founding date.

    Types cycle through :data:`GROUP_TYPES`; 12-step groups are peer-led and
    the others alternate peer / co-facilitated in blocks of four groups.
    Group ``i`` first meets ``start + (i mod 5)`` days; open groups were
    founded 53-156 weeks before the data window (before any member enrolled),
    closed ones start at their first session and end ``weeks`` later.
    """
    G = n_groups
    gi = np.arange(G)
    gtype = gi % 4
    is_open = np.isin(gtype, [GROUP_TYPES.index(t) for t in OPEN_TYPES])
    facil = np.where((gtype == 0) | ((gi // 4) % 2 == 1), "peer", "co-facilitated")
    fmt_p = np.array([[0.85, 0.05, 0.10], [0.55, 0.25, 0.20], [0.40, 0.40, 0.20], [0.60, 0.25, 0.15]])
    fmt = np.asarray(_FORMATS)[_categorical(rng, fmt_p[gtype])]
    site = np.asarray(_SITES)[rng.integers(0, len(_SITES), G)]
    first = (start + pd.to_timedelta(gi % 5, unit="D")).values.astype("datetime64[D]")
    last = first + np.timedelta64(7 * weeks, "D")
    founded = np.where(is_open, first - (7 * rng.integers(53, 157, G)).astype("timedelta64[D]"), first)
    width = max(2, len(str(G)))
    gid = np.char.add("G", np.char.zfill((gi + 1).astype(str), width))
    table = pd.DataFrame({
        "group_id": _str(gid),
        "group_type": _str(np.asarray(GROUP_TYPES)[gtype]),
        "facilitation": _str(facil),
        "format": _str(fmt),
        "site": _str(site),
        "meeting_frequency": _str(np.full(G, "weekly")),
        "start_date": pd.to_datetime(founded).astype("datetime64[ns]"),
        "end_date": pd.to_datetime(np.where(is_open, np.datetime64("NaT"), last)).astype("datetime64[ns]"),
    })
    return _Groups(gtype, is_open, facil, first, last, gid, table)


@dataclass(frozen=True)
class _Sessions:
    """The weekly sessions of every group: (groups x weeks + 1) arrays and the ``sessions`` table."""

    cancelled: np.ndarray   # bool (G, K)
    dates: np.ndarray       # datetime64[D] (G, K)
    table: pd.DataFrame


def _draw_sessions(rng: np.random.Generator, grp: _Groups, weeks: int, cancel_rate: float) -> _Sessions:
    """``weeks + 1`` weekly sessions per group; each but the first and last is cancelled with ``cancel_rate``.

    With ``cancel_rate > 0`` at least one session of the programme is
    cancelled, so the cancelled-session path is always exercised.
    """
    G, K = grp.n, weeks + 1
    cancelled = rng.random((G, K)) < cancel_rate
    cancelled[:, [0, K - 1]] = False
    if cancel_rate > 0 and not cancelled.any():
        cancelled[rng.integers(0, G), rng.integers(1, K - 1)] = True
    dates = grp.first[:, None] + (7 * np.arange(K)).astype("timedelta64[D]")
    table = pd.DataFrame({
        "group_id": _str(np.repeat(grp.gid, K)),
        "session_date": pd.to_datetime(dates.ravel()).astype("datetime64[ns]"),
        "cancelled": cancelled.ravel(),
    })
    return _Sessions(cancelled, dates, table)


# ---------------------------------------------------------------------------
# members: enrolment, dropout, exits, covariates
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _Enrolment:
    """Each member's group and enrolment (one entry per member)."""

    g: np.ndarray           # group index
    mtype: np.ndarray       # group type code of the member's group
    pre: np.ndarray         # enrolled before the data window (left truncation)
    w: np.ndarray           # enrolment week relative to the group's first session (negative = before)
    enrolled: np.ndarray    # datetime64[D]

    @property
    def n(self) -> int:
        return len(self.g)


def _draw_enrolment(rng: np.random.Generator, grp: _Groups, members_per_group: tuple[int, int],
                    n_members: int | None, enrol_weeks: int) -> _Enrolment:
    """Group sizes and enrolment weeks.

    Sizes are uniform on ``members_per_group`` (or a multinomial split of
    ``n_members``).  In open groups 25 % of members enrolled 1-52 weeks
    before the window; otherwise 45 % join at the first session and the rest
    at a uniformly chosen session of weeks 1..``enrol_weeks``.
    """
    lo, hi = members_per_group
    G = grp.n
    if n_members is not None:
        sizes = rng.multinomial(int(n_members), np.full(G, 1.0 / G))
    else:
        sizes = rng.integers(lo, hi + 1, G)
    M = int(sizes.sum())
    g = np.repeat(np.arange(G), sizes)
    u = rng.random(M)
    pre = grp.is_open[g] & (u < 0.25)
    at_start = ~pre & (rng.random(M) < 0.45)
    w = np.where(at_start, 0, rng.integers(1, enrol_weeks + 1, M))
    w = np.where(pre, -rng.integers(1, 53, M), w)
    enrolled = grp.first[g] + (7 * w).astype("timedelta64[D]")
    return _Enrolment(g, grp.gtype[g], pre, w, enrolled)


@dataclass(frozen=True)
class _Dropout:
    """Each member's dropout time and exit, and the fitted Weibull model."""

    h: np.ndarray           # hazard ratio of the member's group (1 peer-led, hr co-facilitated)
    scale: float            # Weibull scale of peer-led groups (weeks)
    T: np.ndarray           # weeks since enrolment at which the member stops attending
    stopper: np.ndarray     # stops inside the data window
    exit_reason: np.ndarray  # object: dropped / moved / other / completed / None
    exited: np.ndarray      # datetime64[D], NaT without a recorded exit


def _draw_dropout(rng: np.random.Generator, grp: _Groups, enr: _Enrolment, weeks: int, dropout_26w: float,
                  hr: float) -> _Dropout:
    """Weibull dropout times with proportional hazards by facilitation, and the recorded exits.

    ``P(T > t) = exp(-h_i (t / scale)^0.8)`` with ``h_i = hr`` in
    co-facilitated groups, ``scale`` solved so that the members' mean
    ``P(T <= 26)`` is ``dropout_26w``; for late entrants ``T`` is drawn
    given ``T > L`` (inverse CDF).  Members who stop in the window get an
    exit ``dropped`` / ``moved`` / ``other`` (45 / 15 / 5 %) 1-3 weeks later
    when that is before the cut-off; members of closed groups still
    attending at the end complete on the last session.
    """
    M, g = enr.n, enr.g
    h = np.where(grp.facil[g] == "co-facilitated", hr, 1.0)
    scale = _weibull_scale_mixture(dropout_26w, _DROPOUT_SHAPE, h)
    L = np.where(enr.pre, -enr.w, 0).astype(float)
    T = scale * ((L / scale) ** _DROPOUT_SHAPE - np.log(rng.random(M)) / h) ** (1.0 / _DROPOUT_SHAPE)
    s_last = weeks - enr.w                                # weeks since enrolment at the last session
    stopper = T <= s_last
    reason_idx = _categorical(rng, np.tile([0.45, 0.15, 0.05, 0.35], (M, 1)))   # dropped/moved/other/none
    lag = rng.integers(7, 22, M)
    stop_day = enr.enrolled + np.ceil(7 * T).astype("int64").astype("timedelta64[D]")
    exit_date = stop_day + lag.astype("timedelta64[D]")
    recorded = stopper & (reason_idx < 3) & (exit_date <= grp.last[g])
    completes = ~stopper & ~grp.is_open[g]
    exit_reason = np.full(M, None, dtype=object)
    exit_reason[recorded] = np.asarray(["dropped", "moved", "other"])[reason_idx[recorded]]
    exit_reason[completes] = "completed"
    exited = np.full(M, np.datetime64("NaT"), dtype="datetime64[D]")
    exited[recorded] = exit_date[recorded]
    exited[completes] = grp.last[g][completes]
    return _Dropout(h, scale, T, stopper, exit_reason, exited)


@dataclass(frozen=True)
class _Members:
    """Member ids and the ``members`` table."""

    mid: np.ndarray
    table: pd.DataFrame


def _members_table(rng: np.random.Generator, grp: _Groups, enr: _Enrolment, drop: _Dropout) -> _Members:
    """Age band and gender (by group type) and the ``members`` table (ids M0001, ...)."""
    age = _categorical(rng, np.asarray([_AGE_P[t] for t in GROUP_TYPES])[enr.mtype])
    gender = _categorical(rng, np.asarray([_GENDER_P[t] for t in GROUP_TYPES])[enr.mtype])
    M = enr.n
    mwidth = max(4, len(str(M)))
    mid = np.char.add("M", np.char.zfill((np.arange(M) + 1).astype(str), mwidth))
    table = pd.DataFrame({
        "member_id": _str(mid),
        "group_id": _take(grp.gid, enr.g),
        "enrolled_on": pd.to_datetime(enr.enrolled).astype("datetime64[ns]"),
        "exited_on": pd.to_datetime(drop.exited).astype("datetime64[ns]"),
        "exit_reason": _str(drop.exit_reason),
        "age_band": _take(AGE_BANDS, age),
        "gender": _take(GENDERS, gender),
    })
    return _Members(mid, table)


# ---------------------------------------------------------------------------
# attendance
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _Attendance:
    """The attendance model's parameters, each member's propensity ``z`` and the ``attendance`` table."""

    alpha: float
    rho: float
    autocorr: float
    group_sd: float
    z: np.ndarray
    table: pd.DataFrame


def _draw_attendance(rng: np.random.Generator, grp: _Groups, ses: _Sessions, enr: _Enrolment, drop: _Dropout,
                     mem: _Members, weeks: int, *, rate: float, spread: float, autocorr: float,
                     group_sd: float) -> _Attendance:
    """Marks of every member at every scheduled, non-cancelled session until their exit or the cut-off.

    ``p_i = Phi(alpha + rho z_i + a_g)`` with ``alpha`` chosen so that
    ``E[p_i] = rate``; successive marks are a two-state Markov chain
    (:func:`._draws._markov_attendance`).  After the member stops (``T``)
    every mark is absent.  Present marks are ``late`` with probability 0.1,
    absences before stopping ``excused`` with probability 0.2.
    """
    M, g, w = enr.n, enr.g, enr.w
    rho = float(spread)
    sd_a = float(group_sd)
    alpha = float(special.ndtri(rate) * math.sqrt(1 + rho ** 2 + sd_a ** 2))
    z = rng.standard_normal(M)
    a_g = rng.normal(0.0, sd_a, grp.n)
    p_att = special.ndtr(alpha + rho * z + a_g[g])
    k0 = np.maximum(w, 0)
    k_exit = np.where(np.isnat(drop.exited), weeks,
                      ((drop.exited - grp.first[g]).astype("timedelta64[D]").astype("int64")) // 7)
    k1 = np.minimum(weeks, k_exit)
    count = np.maximum(k1 - k0 + 1, 0)
    idx = np.repeat(np.arange(M), count)
    starts = np.cumsum(count) - count
    k = k0[idx] + (np.arange(count.sum()) - starts[idx])
    keep = ~ses.cancelled[g[idx], k]
    idx, k = idx[keep], k[keep]
    s = (k - w[idx]).astype(float)
    active = s < drop.T[idx]
    attended = active & _markov_attendance(rng, idx, p_att, autocorr, M)
    r = rng.random(len(idx))
    status_idx = np.where(attended, np.where(r < 0.1, 1, 0), np.where(active & (r < 0.2), 3, 2))
    table = pd.DataFrame({
        "member_id": _take(mem.mid, idx),
        "group_id": _take(grp.gid, g[idx]),
        "session_date": pd.to_datetime(ses.dates[g[idx], k]).astype("datetime64[ns]"),
        "attended": attended,
        "status": _take(["present", "late", "absent", "excused"], status_idx),
    })
    return _Attendance(alpha, rho, float(autocorr), sd_a, z, table)


