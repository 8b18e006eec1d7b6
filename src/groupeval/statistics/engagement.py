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
from ._dropout_rules import first_rule, rule_consecutive_missed, rule_exit, rule_weeks_without_attendance
from ._schedule import (
    NAT,
    AttendedSequence,
    Calendar,
    Marks,
    Windows,
    apply_excused,
    attended_sequence,
    dates,
    days,
    group_universe,
    indexer,
    mark_attendance,
    member_windows,
    schedule,
    session_calendar,
)
from .dropout import Dropout, as_dropout

__all__ = ["SUMMARY_COLUMNS", "attendance_summary", "group_engagement"]

#: The columns docs/design.md fixes for :func:`attendance_summary` (in this order).
SUMMARY_COLUMNS = ("member_id", "group_id", "sessions_offered", "sessions_attended", "attendance_rate",
                   "first_attended", "last_attended", "status", "weeks_in_group")
_DAY = np.timedelta64(1, "D")



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
    """Per-member engagement and the expanded schedule of a dataset under ``dropout``.

    Named vectorised steps (:mod:`._schedule`, :mod:`._dropout_rules`): the
    group universe (:func:`group_universe`), the held sessions and where each
    attendance row falls among them (:func:`session_calendar`), each member's
    window (:func:`member_windows`) and schedule (:func:`schedule`), the marks
    on it (:func:`mark_attendance`), the excused rule (:func:`apply_excused`),
    the attended sequence (:func:`attended_sequence`), the dropout rules
    (:func:`rule_consecutive_missed`, :func:`rule_weeks_without_attendance`,
    :func:`rule_exit`, combined by :func:`first_rule`) and the per-member
    table (:func:`_member_table`).
    """
    _check_dataset(dataset)
    members = dataset.members
    att = dataset.attendance
    ses = dataset.sessions
    nm = len(members)
    cutoff = dataset.data_cutoff if (len(ses) or len(att)) else pd.NaT
    cut_day = days(np.array([cutoff], dtype="datetime64[ns]"))[0] if not pd.isna(cutoff) else np.iinfo(np.int64).max
    groups = group_universe(members, ses, att)
    m_g = indexer(groups, members["group_id"]).astype(np.int64)
    cal = session_calendar(groups, ses, att, cut_day)
    notes = list(cal.notes)
    win = member_windows(members, cut_day)
    sch = schedule(cal.key, m_g, win.enr, win.end_day)
    state = np.zeros(len(sch.member), np.int8)
    if len(att) and nm:
        notes += mark_attendance(state, members, att, m_g, cal, sch)
    cal.a_all = np.zeros(0, np.int64)  # free the per-row lookup
    marks = apply_excused(state, sch, dropout.excused, nm)
    seq = attended_sequence(marks, cal.key_d, nm)

    obs_end = np.where(win.has_exit, win.ex_day,
                       np.minimum(cut_day, np.where(cal.g_last[m_g] == NAT, cut_day, cal.g_last[m_g])))
    rules: list[tuple[str, np.ndarray, np.ndarray]] = []
    if dropout.consecutive_missed is not None:
        rules.append(("consecutive_missed", *rule_consecutive_missed(marks, seq, dropout.consecutive_missed, nm)))
    if dropout.weeks_without_attendance is not None:
        rules.append(("weeks_without_attendance",
                      *rule_weeks_without_attendance(seq, dropout.weeks_without_attendance, obs_end, win.enr, nm)))
    if dropout.exits:
        rules.append(("exit", *rule_exit(win, seq, dropout.censor_exits)))
    dropped, drop_ev, drop_kn, drop_rule = first_rule(rules, nm)

    out = _member_table(members, win, cal, m_g, cut_day, marks, seq, dropped, drop_ev, drop_kn, drop_rule)
    sessions = pd.DataFrame({"group_id": groups.to_numpy()[cal.key_g] if len(cal.key) else np.array([], dtype=object),
                             "session_date": dates(cal.key_d)})
    return _Engagement(out, sch.member, sch.session, state, sessions, notes)


def _member_table(members: pd.DataFrame, win: Windows, cal: Calendar, m_g: np.ndarray, cut_day: int | np.integer,
                  marks: Marks, seq: AttendedSequence, dropped: np.ndarray, drop_ev: np.ndarray, drop_kn: np.ndarray,
                  drop_rule: np.ndarray) -> pd.DataFrame:
    """The per-member result: counts, status, event time in weeks since enrolment, late entry."""
    any_att, offered, n_att, enr = seq.any_att, marks.offered, seq.n_att, win.enr
    censor_exit = win.has_exit & ~dropped
    status = np.where(dropped, "dropped", np.where(censor_exit, "completed", "active")).astype(object)
    g_last = cal.g_last[m_g]
    g_cut = np.where(g_last == NAT, NAT, np.minimum(g_last, cut_day))
    end_t = np.where(dropped, drop_ev, np.where(censor_exit, win.ex_day, g_cut))
    valid_t = any_att & (end_t != NAT)
    time_w = np.where(valid_t, (end_t - enr) / 7.0, np.nan)
    g_start = cal.g_first[m_g]
    entry_w = np.where(g_start != NAT, np.maximum(g_start - enr, 0) / 7.0, 0.0)
    returned = dropped & any_att & (drop_ev != NAT) & (seq.last_d > drop_kn)
    out = pd.DataFrame({
        "member_id": members["member_id"].to_numpy(),
        "group_id": members["group_id"].to_numpy(),
        "sessions_offered": offered,
        "sessions_attended": n_att,
        "attendance_rate": np.where(offered > 0, n_att / np.maximum(offered, 1), np.nan),
        "first_attended": dates(seq.first_d),
        "last_attended": dates(seq.last_d),
        "status": pd.Categorical(status, categories=["active", "completed", "dropped"]),
        "weeks_in_group": time_w,
        "sessions_excused": marks.n_excused,
        "never_attended": ~any_att,
        "dropped_on": dates(drop_kn),
        "dropout_rule": pd.Series(drop_rule, dtype="object"),
        "event_time_weeks": time_w,
        "censored": ~dropped,
        "entry_weeks": entry_w,
        "returned_after_dropout": returned,
    })
    out.index = members.index
    return out.reset_index(drop=True)


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
    >>> summ["status"].value_counts().to_dict()
    {'dropped': 104, 'active': 74, 'completed': 64}
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
        def _forget(_ref: object, k: int = key) -> None:
            _CACHE.pop(k, None)

        ref = weakref.ref(dataset, _forget)
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
