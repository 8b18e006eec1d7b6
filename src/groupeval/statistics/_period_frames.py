"""The member-level inputs of the period statistics: one frame per call, one per period.

:func:`_context` checks the arguments of :func:`~.periods.period_summary` /
:func:`~.periods.compare_periods` and builds the per-member frame once
(attendance summary, dates as days, who is in the retention curve, when each
membership ends); :func:`_period_data` cuts it to one period under the
enrolment or the calendar basis: the attendance inside it, the Kaplan–Meier
input (:class:`_KM`, late entry at the period start for the calendar basis),
the dropout exposure, and the pre / follow-up score pairs of each outcome.
Everything is vectorised over members.
"""
from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..base.dataset import Dataset
from ..base.exceptions import ConfigError, DataQualityWarning, Problem, SchemaError
from ._calendar import _NAT, Period, _check_basis, _check_dataset, _day, _days
from ._common import check_ci
from .dropout import Dropout, as_dropout
from .engagement import attendance_summary

_HALF_DAY_W = 0.5 / 7.0   # puts the period start strictly between two days on the week scale


@dataclass
class _Context:
    """Everything computed once per call: the per-member frame and the settings."""

    dataset: Dataset
    dropout: Dropout
    basis: str
    times: tuple[float, ...]
    horizon: float | None
    ci: float
    members: pd.DataFrame           # one row per members row (attendance_summary + dates + curve flag)
    cut_day: int
    cutoff: pd.Timestamp
    scores: dict[str, pd.DataFrame] = field(default_factory=dict)
    pre: str = "baseline"
    post: str | None = None
    dv: str = "score"


def _context(dataset: Dataset, basis: str, dropout: Any, times: Sequence[float], horizon: float | None, ci: float,
             scores: Any, pre: str, post: str | None, dv: str) -> _Context:
    _check_dataset(dataset)
    _check_basis(basis)
    check_ci(ci)
    try:
        tt = tuple(float(t) for t in times)
    except (TypeError, ValueError):
        raise ConfigError(f"`times` must be a list of numbers of weeks, e.g. (12, 26); got {times!r}.") from None
    if any(not np.isfinite(t) or t < 0 for t in tt):
        raise ConfigError(f"`times` must be non-negative numbers of weeks; got {times!r}.")
    if horizon is not None:
        if basis != "enrolment":
            raise ConfigError("`horizon` applies to basis='enrolment' only (a calendar period is its own window); "
                              "drop `horizon` or use basis='enrolment'.")
        if isinstance(horizon, bool) or not isinstance(horizon, (int, float, np.integer, np.floating)) \
                or not np.isfinite(horizon) or horizon <= 0:
            raise ConfigError(f"`horizon` must be a positive number of weeks (e.g. 26) or None; got {horizon!r}.")
        horizon = float(horizon)
    drop = as_dropout(dropout)
    summ = attendance_summary(dataset, drop)
    mem = dataset.members.reset_index(drop=True)
    summ["enrol_day"] = _days(mem["enrolled_on"])
    summ["exit_day"] = _days(mem["exited_on"]) if "exited_on" in mem.columns else _NAT
    summ["dropped_day"] = _days(summ["dropped_on"])
    summ["group_id"] = summ["group_id"].astype(str)
    summ["member_id"] = summ["member_id"].astype(str)
    t = summ["event_time_weeks"].to_numpy(float)
    e = summ["entry_weeks"].to_numpy(float)
    never = summ["never_attended"].to_numpy(bool)
    valid = ~never & np.isfinite(t)
    # the members retention() puts in its curve: attended at least once, time at risk after any late entry
    summ["in_curve"] = valid & ~((e > 0) & ~(t > e)) & ~((e <= 0) & (t < 0))
    summ["event"] = ~summ["censored"].to_numpy(bool)
    cutoff = dataset.data_cutoff
    cut_day = _day(cutoff)
    # end of membership (calendar basis): exit, the day the dropout rule fired, or the cut-off
    ex = summ["exit_day"].to_numpy(np.int64)
    dr = summ["dropped_day"].to_numpy(np.int64)
    end = np.full(len(summ), cut_day, np.int64)
    end = np.where((ex != _NAT) & (ex < end), ex, end)
    end = np.where((dr != _NAT) & (dr < end), dr, end)
    summ["member_end_day"] = end
    if horizon is not None:
        off, att = _attendance_counts(dataset, drop, horizon_weeks=horizon)
        summ["offered_h"], summ["attended_h"] = off, att
    ctx = _Context(dataset=dataset, dropout=drop, basis=basis, times=tt, horizon=horizon, ci=float(ci),
                   members=summ, cut_day=cut_day, cutoff=cutoff, pre=pre, post=post, dv=dv)
    ctx.scores = _scores_arg(scores, dv)
    return ctx


def _scores_arg(scores: Any, dv: str) -> dict[str, pd.DataFrame]:
    if scores is None:
        return {}
    if isinstance(scores, pd.DataFrame):
        items = {"outcome_change": scores}
    elif isinstance(scores, Mapping):
        items = {f"outcome_change_{k}": v for k, v in scores.items()}
    else:
        raise ConfigError("`scores` must be a long scores table (as groupeval.score returns) or a dict "
                          f"{{name: scores}}; got {type(scores).__name__}.")
    problems = []
    for name, sc in items.items():
        if not isinstance(sc, pd.DataFrame):
            raise ConfigError(f"`scores` for {name!r} must be a DataFrame, got {type(sc).__name__}.")
        for col in ("member_id", "timepoint", dv):
            if col not in sc.columns:
                problems.append(Problem(None, None, col, None, f"the scores for {name!r} have no column {col!r}",
                                        "pass the output of groupeval.score (or name the score column with dv=)"))
    if problems:
        raise SchemaError("`scores` lacks required columns", problems)
    return items


def _attendance_counts(dataset: Dataset, dropout: Dropout, *, window: tuple[int, int] | None = None,
                       end_day: np.ndarray | None = None, horizon_weeks: float | None = None
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Sessions offered and attended per members row, inside a calendar window and/or up to a per-member end.

    The schedule rules are attendance_summary's (scheduled, non-cancelled sessions from enrolment to exit;
    excused absences per the dropout rule), applied to a copy of the dataset whose sessions and attendance are
    cut to the window and whose exits are moved to each member's end day.
    """
    mem = dataset.members.reset_index(drop=True).copy()
    ses, att = dataset.sessions, dataset.attendance
    cutoff = dataset.cutoff
    exit_day = _days(mem["exited_on"]) if "exited_on" in mem.columns else np.full(len(mem), _NAT, np.int64)
    limit = np.full(len(mem), _NAT, np.int64)
    if end_day is not None:
        limit = np.asarray(end_day, np.int64)
    if horizon_weeks is not None:
        limit = _days(mem["enrolled_on"]) + int(np.floor(7 * horizon_weeks + 1e-9))
    if end_day is not None or horizon_weeks is not None:
        new_exit = np.where((exit_day == _NAT) | (limit < exit_day), limit, exit_day)
        mem["exited_on"] = pd.to_datetime(np.where(new_exit == _NAT, np.datetime64("NaT"),
                                                   new_exit.astype("datetime64[D]"))).astype("datetime64[ns]")
    if window is not None:
        lo, hi = (np.datetime64(int(w), "D").astype("datetime64[ns]") for w in window)
        if len(ses):
            ses = ses[(ses["session_date"] >= lo) & (ses["session_date"] <= hi)]
        att = att[(att["session_date"] >= lo) & (att["session_date"] <= hi)]
        cutoff = pd.Timestamp(hi)
        if len(att) == 0 and len(ses) == 0:
            return np.zeros(len(mem), np.int64), np.zeros(len(mem), np.int64)
    sub = dataset.replace(members=mem, sessions=ses, attendance=att, cutoff=cutoff)
    with warnings.catch_warnings():
        # marks after a member's moved exit (e.g. returning after the rule fired) are expected here
        warnings.simplefilter("ignore", DataQualityWarning)
        s = attendance_summary(sub, dropout)
    return s["sessions_offered"].to_numpy(np.int64), s["sessions_attended"].to_numpy(np.int64)


@dataclass
class _KM:
    """Member-level input of one period's Kaplan–Meier curve (R's counting-process convention)."""

    time: np.ndarray
    event: np.ndarray
    entry: np.ndarray      # <= 0: observed from enrolment
    group: np.ndarray      # group id (str)


@dataclass
class _PeriodData:
    """Member-level frames of one period (the inputs of every quantity)."""

    period: Period
    observed_to: pd.Timestamp
    partial: bool
    member_ids: np.ndarray
    groups: np.ndarray
    attendance: pd.DataFrame                  # group_id, rate, offered, attended (offered > 0)
    km: _KM
    followup: np.ndarray | None = None        # enrolment: potential follow-up (weeks) per cohort member
    dropout: pd.DataFrame | None = None       # calendar: group_id, event, exposure_weeks, at_start
    outcomes: dict[str, tuple[pd.DataFrame, pd.DataFrame | None, str]] = field(default_factory=dict)
    note: str = ""


def _period_data(ctx: _Context, period: Period) -> _PeriodData:
    m = ctx.members
    S, E = _day(period.start), _day(period.end)
    Ecut = min(E, ctx.cut_day)
    enr = m["enrol_day"].to_numpy(np.int64)
    observed_to = min(period.end, pd.Timestamp(ctx.cutoff).normalize())
    partial = bool(E > ctx.cut_day)
    note = ""
    if S > ctx.cut_day:
        note = f"the period starts after the data cut-off ({pd.Timestamp(ctx.cutoff).date()}): nothing is observed"
    elif partial:
        note = f"the data end on {pd.Timestamp(ctx.cutoff).date()}: the period is only partly observed"
    t = m["event_time_weeks"].to_numpy(float)
    a = m["entry_weeks"].to_numpy(float)
    ev = m["event"].to_numpy(bool)
    curve = m["in_curve"].to_numpy(bool)
    gid = m["group_id"].to_numpy(object)
    if ctx.basis == "enrolment":
        sel = (enr >= S) & (enr <= Ecut)
        if ctx.horizon is None:
            off = m["sessions_offered"].to_numpy(np.int64)
            att = m["sessions_attended"].to_numpy(np.int64)
        else:
            off = m["offered_h"].to_numpy(np.int64)
            att = m["attended_h"].to_numpy(np.int64)
        k = sel & curve
        km = _KM(time=t[k], event=ev[k], entry=a[k], group=gid[k].astype(str))
        fu = (ctx.cut_day - enr[sel]) / 7.0
        if ctx.horizon is not None:
            fu = np.minimum(fu, ctx.horizon)
        dropout = None
    else:
        mend = m["member_end_day"].to_numpy(np.int64)
        sel = (enr <= Ecut) & (mend >= S) & (S <= ctx.cut_day)
        if S <= ctx.cut_day:
            off, att = _attendance_counts(ctx.dataset, ctx.dropout, window=(S, Ecut), end_day=mend)
        else:
            off = att = np.zeros(len(m), np.int64)
        km_all, at_start, exposure = _period_window(t, ev, a, enr, S, Ecut)
        k = curve & km_all & (enr <= Ecut)
        km = _KM(time=np.minimum(t, (Ecut - enr) / 7.0)[k], event=(ev & (t <= (Ecut - enr) / 7.0))[k],
                 entry=_period_entry(a, enr, S)[k], group=gid[k].astype(str))
        dropout = pd.DataFrame({"group_id": km.group, "event": km.event.astype(float),
                                "exposure_weeks": exposure[k], "at_start": at_start[k]})
        fu = None
    att_frame = pd.DataFrame({"group_id": gid[sel].astype(str), "offered": off[sel], "attended": att[sel]})
    att_frame = att_frame[att_frame["offered"] > 0].reset_index(drop=True)
    att_frame["rate"] = att_frame["attended"] / att_frame["offered"]
    pdata = _PeriodData(period=period, observed_to=observed_to, partial=partial,
                        member_ids=m["member_id"].to_numpy(object)[sel], groups=gid[sel].astype(str),
                        attendance=att_frame, km=km, followup=fu, dropout=dropout, note=note)
    for name, sc in ctx.scores.items():
        pdata.outcomes[name] = _outcome_pairs(ctx, sc, pdata, S, E)
    return pdata


def _period_entry(a: np.ndarray, enr: np.ndarray, S: int) -> np.ndarray:
    """Late-entry time (weeks since enrolment) of each member in a calendar period: the later of the data-window
    entry and half a day before the period's first day (<= 0: observed from enrolment)."""
    lo = np.where(enr < S, (S - enr) / 7.0 - _HALF_DAY_W, -np.inf)
    return np.maximum(np.where(a > 0, a, -np.inf), lo)


def _period_window(t: np.ndarray, ev: np.ndarray, a: np.ndarray, enr: np.ndarray, S: int, Ecut: int
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Who is at risk inside a calendar period, who was at risk at its start, and the weeks at risk inside it.

    Member ``i`` (enrolled on day ``e``, follow-up ending ``t`` weeks later, late entry ``a``) is at risk on the
    member-time interval ``(max(a, (S - e)/7), min(t, (E - e)/7)]``; it is inside the period when that interval is
    not empty (or, for a member observed from enrolment who ends at enrolment, when the enrolment day is inside).
    """
    entry = _period_entry(a, enr, S)
    exit_ = np.minimum(t, (Ecut - enr) / 7.0)
    with np.errstate(invalid="ignore"):
        inside = np.where(entry > 0, exit_ > entry, (exit_ >= 0) & (enr >= S)) & (enr <= Ecut) & np.isfinite(t)
        at_start = inside & (enr < S) & ~((a > 0) & (enr + np.rint(7 * a) >= S))
        # days at risk inside the period, both the first and the last day counted
        start_w = np.maximum(np.where(a > 0, a, 0.0), np.where(enr < S, (S - enr) / 7.0, 0.0))
        exposure = np.where(inside, np.maximum(exit_ - start_w, 0.0) + 1.0 / 7.0, 0.0)
    return inside, at_start, exposure


def _score_dates(ctx: _Context, sc: pd.DataFrame) -> pd.Series:
    """completed_on of each scores row (from the scores, else from dataset.responses)."""
    if "completed_on" in sc.columns:
        return pd.to_datetime(sc["completed_on"], errors="coerce")
    resp = ctx.dataset.responses
    if "completed_on" not in resp.columns or "timepoint" not in resp.columns:
        return pd.Series(pd.NaT, index=sc.index, dtype="datetime64[ns]")
    r = resp[["member_id", "timepoint", "completed_on"]].copy()
    r["member_id"] = r["member_id"].astype(str)
    r["timepoint"] = r["timepoint"].astype(str)
    r = r.drop_duplicates(["member_id", "timepoint"])
    key = pd.MultiIndex.from_arrays([r["member_id"], r["timepoint"]])
    look = pd.Series(pd.to_datetime(r["completed_on"], errors="coerce").to_numpy(), index=key)
    idx = pd.MultiIndex.from_arrays([sc["member_id"].astype(str), sc["timepoint"].astype(str)])
    return pd.Series(look.reindex(idx).to_numpy(), index=sc.index)


def _outcome_pairs(ctx: _Context, sc: pd.DataFrame, pdata: _PeriodData, S: int, E: int
                   ) -> tuple[pd.DataFrame, pd.DataFrame | None, str]:
    """The long pre / follow-up frame handed to :func:`change`, the member-level changes, and a note.

    Enrolment: the cohort's members; their ``post`` score (or, with ``post=None``, their latest follow-up,
    within the horizon when one is set).  Calendar: members with a ``post`` (or any follow-up) survey completed
    inside the period; the latest one inside it.
    """
    dv, pre = ctx.dv, ctx.pre
    label = ctx.post if ctx.post is not None else "latest_follow_up"
    d = pd.DataFrame({"member_id": sc["member_id"].astype(str).to_numpy(), "timepoint": sc["timepoint"].astype(str)
                      .to_numpy(), "value": pd.to_numeric(sc[dv], errors="coerce").to_numpy(float)})
    d["completed"] = _score_dates(ctx, sc).to_numpy()
    if "group_id" in sc.columns:
        d["group_id"] = sc["group_id"].astype(str).to_numpy()
    else:
        mem = ctx.members.drop_duplicates("member_id")
        d["group_id"] = d["member_id"].map(pd.Series(mem["group_id"].to_numpy(), index=mem["member_id"]))
    d = d[np.isfinite(d["value"].to_numpy())]
    notes = []
    if ctx.basis == "enrolment":
        cohort = pd.Index(pdata.member_ids).unique()
        d = d[d["member_id"].isin(cohort)]
    pre_rows = d[d["timepoint"] == pre].drop_duplicates("member_id")
    fu = d[d["timepoint"] != pre] if ctx.post is None else d[d["timepoint"] == ctx.post]
    cday = _days(fu["completed"])
    undated = cday == _NAT
    if ctx.basis == "calendar":
        keep = ~undated & (cday >= S) & (cday <= E)
        if undated.any():
            notes.append(f"{int(pd.Index(fu['member_id'][undated]).nunique())} member(s) have follow-up scores "
                         "without a completion date; they cannot be placed in a period")
        fu = fu[keep]
    elif ctx.horizon is not None:
        mem = ctx.members.drop_duplicates("member_id")
        enr = fu["member_id"].map(pd.Series(mem["enrol_day"].to_numpy(), index=mem["member_id"])).to_numpy()
        limit = enr + np.floor(7 * ctx.horizon + 1e-9)
        keep = ~undated & (cday <= limit)
        if undated.any():
            notes.append(f"{int(pd.Index(fu['member_id'][undated]).nunique())} member(s) have follow-up scores "
                         "without a completion date; they cannot be placed within the horizon")
        fu = fu[keep]
    if len(fu):
        order = {tp: i for i, tp in enumerate(ctx.dataset.timepoints)}
        fu = fu.assign(_o=fu["timepoint"].map(order).fillna(len(order)).to_numpy(float))
        fu = fu.sort_values(["member_id", "completed", "_o"], na_position="first", kind="stable")
        fu = fu.drop_duplicates("member_id", keep="last").drop(columns="_o")
    if ctx.basis == "calendar":
        pre_rows = pre_rows[pre_rows["member_id"].isin(fu["member_id"])]
    long = pd.concat([pre_rows.assign(timepoint=pre), fu.assign(timepoint=label)], ignore_index=True)
    long = long.rename(columns={"value": dv})[["member_id", "timepoint", dv, "group_id"]]
    both = pre_rows.merge(fu, on="member_id", suffixes=("_pre", "_post"))
    diffs = pd.DataFrame({"group_id": both["group_id_post"].astype(str).to_numpy(),
                          "change": (both["value_post"] - both["value_pre"]).to_numpy(float)})
    return long, diffs, "; ".join(notes)
