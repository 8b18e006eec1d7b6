r"""Trends across reporting periods: retention, attendance and outcomes per period, and the change between two.

A programme that keeps adding members reports by period ("2025-Q3 against
2025-Q2").  Members span periods, so a period needs a definition; two are
offered (docs/periods.md):

* ``basis="enrolment"`` (by enrolment cohort): a member belongs to the one
  period in which they enrolled, and is followed from enrolment to the data
  cut-off (or a fixed ``horizon``).  Later cohorts have had less time to be
  followed: the follow-up available is reported, and retention at ``t`` weeks
  is NaN (with the reason) where no member of the cohort has been followed
  ``t`` weeks.  Answers "did the members who joined in Q3 do better than those
  who joined in Q2?".
* ``basis="calendar"`` (by calendar time): everyone active during the period:
  the sessions offered and attended inside it, the members at risk at its
  start or entering during it and the dropouts inside it (the period's own
  follow-up experience, with late entry at the period start: the *period
  analysis* of survival registries), and the outcome surveys completed
  inside it.  Answers "how did the programme run in Q3?".

:func:`period_summary` gives a tidy, unrounded table per period and quantity
with every count the report needs to apply its small-cell rules;
:func:`compare_periods` gives the difference between two periods with a
confidence interval that respects the groups the periods share (CR2 for means
and proportions, a delete-one-group jackknife for Kaplan–Meier retention).

Everything is vectorised over members; the only Python loops are over the
handful of periods and quantities.
"""
from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..base.dataset import Dataset
from ..base.exceptions import ConfigError, DataQualityWarning, Problem, SchemaError, SmallSampleWarning, ValidationError
from ._common import MIN_GROUPS, check_ci
from .change import change
from .dropout import Dropout, as_dropout
from .engagement import attendance_summary
from .robust import cluster_robust_formula
from .survival import kaplan_meier

__all__ = [
    "Period", "parse_period", "periods_covered", "period_summary", "compare_periods", "BASES", "FREQUENCIES",
    "SUMMARY_COLUMNS", "COMPARE_COLUMNS", "PERIOD_METHODS",
]

#: The two period definitions (see the module notes and docs/periods.md).
BASES: tuple[str, ...] = ("enrolment", "calendar")
#: Calendar units :func:`periods_covered` can list.
FREQUENCIES: tuple[str, ...] = ("month", "quarter", "half", "year")

#: Columns of :func:`period_summary`, in order.
SUMMARY_COLUMNS: tuple[str, ...] = (
    "period", "start", "end", "basis", "quantity", "estimate", "se", "df", "ci_low", "ci_high", "method",
    "n", "n_groups", "numerator", "denominator", "n_at_risk", "n_events", "se_cluster", "ci_low_cluster",
    "ci_high_cluster", "observed_to", "partial", "note",
)
#: Columns of :func:`compare_periods`, in order.
COMPARE_COLUMNS: tuple[str, ...] = (
    "quantity", "period", "compare", "estimate_period", "estimate_compare", "difference", "se", "df", "ci_low",
    "ci_high", "p_value", "n_groups", "method", "note", "t", "basis", "n_period", "n_compare", "n_groups_period",
    "n_groups_compare",
)

#: The ``method`` keys used in the two tables, with what they mean and their reference.
PERIOD_METHODS: dict[str, str] = {
    "count": "a count of people or groups; no sampling error is attached",
    "descriptive": "a description of the follow-up available (weeks); no sampling error is attached",
    "cr2": "mean (or proportion) with the CR2 cluster-robust variance clustered by group and Satterthwaite df "
           "(Bell & McCaffrey 2002; Pustejovsky & Tipton 2018)",
    "cr2_wls": "pooled ratio (sum of numerators / sum of denominators) as a WLS mean weighted by the "
               "denominator, with the CR2 variance clustered by group and Satterthwaite df",
    "kaplan_meier": "Kaplan-Meier retention with late entry, Greenwood log-log interval (Kaplan & Meier 1958; "
                    "Greenwood 1926); the *_cluster columns are the delete-one-group jackknife variance on the "
                    "log-log scale with t(G - 1)",
    "kaplan_meier_period_analysis": "Kaplan-Meier retention from the follow-up inside the period only (late "
                                    "entry at the period start, censoring at its end: Brenner & Gefeller 1996), "
                                    "Greenwood log-log interval; *_cluster columns as for kaplan_meier",
    "cr2_period_indicator": "regression of the member-level quantity on a period indicator with the CR2 "
                            "variance clustered by group and Satterthwaite df (groups shared by the periods make "
                            "them dependent samples)",
    "cr2_wls_period_indicator": "WLS regression of the member-level ratio on a period indicator, weighted by "
                                "its denominator, with the CR2 variance clustered by group and Satterthwaite df",
    "group_jackknife": "difference of Kaplan-Meier estimates with the delete-one-group jackknife variance "
                       "(both periods recomputed without each group; t with G - 1 df; Lipsitz, Dear & Zhao 1994)",
}

_DAY = np.timedelta64(1, "D")
_NAT = np.iinfo(np.int64).min
_HALF_DAY_W = 0.5 / 7.0   # puts the period start strictly between two days on the week scale
_QUANT_ORDER = ("members", "groups", "followup_weeks_min", "followup_weeks_median", "followup_weeks_max",
                "at_risk_start", "entered", "dropouts", "dropout_share", "dropout_rate_per_100_weeks",
                "attendance_rate", "attendance_pooled")


# ---------------------------------------------------------------------------
# periods
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Period:
    """A reporting period: a label and an inclusive range of days.

    Parameters
    ----------
    label
        How the period is written in tables (``"2025-Q3"``, ``"2025-07"``,
        ``"2025"``, ``"2025-H1"``, ``"2025-07-01..2025-09-30"``).
    start, end
        First and last day, both included (normalised to midnight).
    kind
        ``"month"``, ``"quarter"``, ``"half"``, ``"year"`` or ``"range"``.

    Examples
    --------
    >>> p = Period.parse("2025-Q3")
    >>> p.start.date(), p.end.date(), p.days
    (datetime.date(2025, 7, 1), datetime.date(2025, 9, 30), 92)
    >>> str(p.previous())
    '2025-Q2'
    """

    label: str
    start: pd.Timestamp
    end: pd.Timestamp
    kind: str = "range"

    def __post_init__(self) -> None:
        try:
            start = pd.Timestamp(self.start).normalize()
            end = pd.Timestamp(self.end).normalize()
        except (TypeError, ValueError):
            raise ConfigError(f"Period {self.label!r}: start and end must be dates, got {self.start!r} and "
                              f"{self.end!r}.") from None
        if pd.isna(start) or pd.isna(end):
            raise ConfigError(f"Period {self.label!r}: start and end must be dates, not missing.")
        if end < start:
            raise ConfigError(f"Period {self.label!r} ends ({end.date()}) before it starts ({start.date()}); "
                              "give the earlier date first, e.g. '2025-07-01..2025-09-30'.")
        if self.kind not in (*FREQUENCIES, "range"):
            raise ConfigError(f"Period kind must be one of {', '.join(FREQUENCIES)} or 'range', got {self.kind!r}.")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)
        object.__setattr__(self, "label", str(self.label))

    @classmethod
    def parse(cls, value: Any) -> Period:
        """:func:`parse_period`."""
        return parse_period(value)

    @property
    def days(self) -> int:
        """Number of days in the period (both ends included)."""
        return int((self.end - self.start) / pd.Timedelta(days=1)) + 1

    def contains(self, dates: Any) -> np.ndarray:
        """Boolean array: which of ``dates`` fall inside the period (NaT is outside)."""
        d = pd.to_datetime(pd.Series(np.asarray(dates).ravel()), errors="coerce")
        return ((d >= self.start) & (d <= self.end)).to_numpy(dtype=bool)

    def previous(self) -> Period:
        """The period of the same kind just before (a range: the same number of days just before)."""
        if self.kind == "range":
            end = self.start - pd.Timedelta(days=1)
            start = end - pd.Timedelta(days=self.days - 1)
            return Period(f"{start.date()}..{end.date()}", start, end, "range")
        return _calendar_period(self.kind, self.start - pd.Timedelta(days=1))

    def __str__(self) -> str:
        return self.label


def _calendar_period(kind: str, day: pd.Timestamp) -> Period:
    """The month / quarter / half / year containing ``day``."""
    day = pd.Timestamp(day).normalize()
    y = day.year
    if kind == "year":
        return Period(f"{y}", pd.Timestamp(y, 1, 1), pd.Timestamp(y, 12, 31), "year")
    if kind == "half":
        h = 1 if day.month <= 6 else 2
        start = pd.Timestamp(y, 1 if h == 1 else 7, 1)
        end = pd.Timestamp(y, 6, 30) if h == 1 else pd.Timestamp(y, 12, 31)
        return Period(f"{y}-H{h}", start, end, "half")
    freq = {"month": "M", "quarter": "Q"}[kind]
    p = pd.Period(day, freq=freq)
    label = f"{y}-Q{p.quarter}" if kind == "quarter" else f"{y}-{day.month:02d}"
    return Period(label, p.start_time.normalize(), p.end_time.normalize(), kind)


_EXAMPLES = "'2025-Q3' (quarter), '2025-07' (month), '2025' (year), '2025-H1' (half year) or " \
            "'2025-07-01..2025-09-30' (a range of days, both included)"
_RX_YEAR = re.compile(r"^(\d{4})$")
_RX_QUARTER = re.compile(r"^(\d{4})-?Q(\d+)$", re.IGNORECASE)
_RX_HALF = re.compile(r"^(\d{4})-?H(\d+)$", re.IGNORECASE)
_RX_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_RX_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _parse_day(text: str, whole: str) -> pd.Timestamp:
    if not _RX_DAY.match(text):
        raise ConfigError(f"Period {whole!r}: {text!r} is not a date written YYYY-MM-DD; write a range as "
                          "'2025-07-01..2025-09-30'.")
    try:
        return pd.Timestamp(text)
    except ValueError:
        raise ConfigError(f"Period {whole!r}: {text!r} is not a calendar date (check the month and day).") from None


def parse_period(value: Any) -> Period:
    """Read a reporting period from text (or pass a :class:`Period` through).

    Parameters
    ----------
    value
        ``"2025-Q3"`` (also ``"2025Q3"``, any case), ``"2025-07"`` (a
        month), ``"2025"`` (a year), ``"2025-H1"`` (a half year), an explicit
        range of days ``"2025-07-01..2025-09-30"`` (both days included), a
        ``(start, end)`` pair of dates, or a :class:`Period`.

    Returns
    -------
    Period

    Raises
    ------
    ConfigError
        Text in none of these forms, an impossible quarter / half / month /
        day, or a range that ends before it starts; the message gives the
        accepted forms.

    Examples
    --------
    >>> parse_period("2025-Q3").end.date()
    datetime.date(2025, 9, 30)
    >>> parse_period("2025-02").end.date()
    datetime.date(2025, 2, 28)
    >>> parse_period("2025-07-01..2025-08-15").days
    46
    """
    if isinstance(value, Period):
        return value
    if isinstance(value, tuple) and len(value) == 2:
        start, end = (pd.Timestamp(v) for v in value)
        return Period(f"{start.date()}..{end.date()}", start, end, "range")
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = str(int(value))
    if not isinstance(value, str):
        raise ConfigError(f"A period must be text such as {_EXAMPLES}; got {type(value).__name__} {value!r}.")
    text = value.strip()
    if ".." in text:
        a, _, b = text.partition("..")
        start, end = _parse_day(a.strip(), text), _parse_day(b.strip(), text)
        if end < start:
            raise ConfigError(f"Period {text!r} ends before it starts; give the earlier date first.")
        return Period(f"{start.date()}..{end.date()}", start, end, "range")
    m = _RX_YEAR.match(text)
    if m:
        return _calendar_period("year", pd.Timestamp(int(m.group(1)), 1, 1))
    m = _RX_QUARTER.match(text)
    if m:
        q = int(m.group(2))
        if not 1 <= q <= 4:
            raise ConfigError(f"Period {text!r}: a year has quarters Q1 to Q4, not Q{q}.")
        return _calendar_period("quarter", pd.Timestamp(int(m.group(1)), 3 * q - 2, 1))
    m = _RX_HALF.match(text)
    if m:
        h = int(m.group(2))
        if h not in (1, 2):
            raise ConfigError(f"Period {text!r}: a year has halves H1 and H2, not H{h}.")
        return _calendar_period("half", pd.Timestamp(int(m.group(1)), 1 if h == 1 else 7, 1))
    m = _RX_MONTH.match(text)
    if m:
        mo = int(m.group(2))
        if not 1 <= mo <= 12:
            raise ConfigError(f"Period {text!r}: months run from 01 to 12, not {m.group(2)}.")
        return _calendar_period("month", pd.Timestamp(int(m.group(1)), mo, 1))
    if _RX_DAY.match(text):
        raise ConfigError(f"Period {text!r} is a single day; write a range such as '{text}..{text}', or one of "
                          f"{_EXAMPLES}.")
    raise ConfigError(f"Cannot read the period {text!r}; write it as {_EXAMPLES}.")


def _as_periods(periods: Any) -> list[Period]:
    if isinstance(periods, (str, Period, tuple)):
        periods = [periods]
    try:
        out = [parse_period(p) for p in periods]
    except TypeError:
        raise ConfigError(f"`periods` must be a period or a list of them ({_EXAMPLES}); got {periods!r}.") from None
    if not out:
        raise ConfigError("`periods` is empty; give at least one period, e.g. ['2025-Q2', '2025-Q3'].")
    labels = [p.label for p in out]
    dup = sorted({x for x in labels if labels.count(x) > 1})
    if dup:
        raise ConfigError(f"`periods` lists {dup} more than once; give each period once.")
    return out


def _check_basis(basis: str) -> str:
    if basis not in BASES:
        raise ConfigError(f"`basis` must be 'enrolment' (members by the period they enrolled in) or 'calendar' "
                          f"(everyone active during the period); got {basis!r}.")
    return basis


def periods_covered(dataset: Dataset, freq: str = "quarter", *, basis: str = "calendar") -> list[Period]:
    """The calendar periods a dataset covers, in order.

    Parameters
    ----------
    dataset
        A :class:`~groupeval.Dataset`.
    freq
        ``"month"``, ``"quarter"`` (default), ``"half"`` or ``"year"``.
    basis
        ``"calendar"`` (default): from the first held session to the data
        cut-off.  ``"enrolment"``: from the first to the last enrolment on or
        before the cut-off (members enrolled before the data window give
        early cohorts observed with late entry).

    Returns
    -------
    list of Period
        Every period from the first to the last, including periods in between
        with no activity.  The first and last may be only partly covered:
        :func:`period_summary` flags a period that runs past the cut-off
        (``partial``).

    Examples
    --------
    >>> import groupeval as ge
    >>> ds = ge.sample.generate(seed=1, weeks=52)
    >>> [str(p) for p in periods_covered(ds)]           # doctest: +SKIP
    ['2025-Q1', '2025-Q2', '2025-Q3', '2025-Q4', '2026-Q1']
    """
    if freq not in FREQUENCIES:
        raise ConfigError(f"`freq` must be one of {', '.join(map(repr, FREQUENCIES))}; got {freq!r}.")
    _check_basis(basis)
    _check_dataset(dataset)
    cutoff = dataset.data_cutoff
    if basis == "calendar":
        ses = dataset.sessions
        if len(ses):
            held = ses if "cancelled" not in ses.columns else ses[~ses["cancelled"].fillna(False).astype(bool)]
            first = pd.Timestamp(held["session_date"].min())
        else:
            first = pd.Timestamp(dataset.attendance["session_date"].min())
        last = cutoff
    else:
        enr = dataset.members["enrolled_on"]
        enr = enr[enr <= cutoff] if not pd.isna(cutoff) else enr
        first, last = pd.Timestamp(enr.min()), pd.Timestamp(enr.max())
    if pd.isna(first) or pd.isna(last) or last < first:
        return []
    out = [_calendar_period(freq, first)]
    while out[-1].end < last:
        out.append(_calendar_period(freq, out[-1].end + pd.Timedelta(days=1)))
    return out


# ---------------------------------------------------------------------------
# member-level building blocks
# ---------------------------------------------------------------------------
def _check_dataset(dataset: Any) -> None:
    if not isinstance(dataset, Dataset):
        raise SchemaError(f"Expected a groupeval Dataset (from groupeval.load or groupeval.validate), got "
                          f"{type(dataset).__name__}.")


def _days(values: Any) -> np.ndarray:
    """Dates -> int64 days since 1970 (NaT -> int64 min)."""
    arr = pd.to_datetime(pd.Series(np.asarray(values).ravel()), errors="coerce").to_numpy()
    return arr.astype("datetime64[D]").astype(np.int64)


def _day(ts: pd.Timestamp) -> int:
    return int(np.datetime64(pd.Timestamp(ts).normalize(), "D").astype(np.int64))


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


# ---------------------------------------------------------------------------
# Kaplan–Meier: estimate, Greenwood, and the delete-one-group replicates in closed form
# ---------------------------------------------------------------------------
def _coverage(km: _KM, t: float, groups: np.ndarray) -> tuple[tuple[float, float] | None, np.ndarray]:
    r"""Whether somebody is at risk at every moment of (0, t], with and without each group.

    The Kaplan–Meier product over (0, t] only estimates S(t) when the risk set is never empty there: where
    nobody is followed (members entering late, or all followed for less), the hazard is simply unobserved and
    the product would silently count it as 0.  Each group's risk intervals :math:`(entry, time]` are merged
    (disjoint within a group), the elementary segments between all their end points are swept once, and a
    segment covered by no group is a gap of the full curve; one covered by exactly one group (identified by the
    sum of the covering groups' codes) is a gap of that group's delete-one replicate.

    Returns
    -------
    (gap, replicate_ok)
        ``gap``: ``(from, to)`` weeks of the first uncovered stretch of (0, t], or None; ``replicate_ok``: one
        bool per entry of ``groups``.
    """
    G = len(groups)
    if len(km.time) == 0:
        return (0.0, t), np.zeros(G, bool)
    code = pd.Index(groups).get_indexer(km.group).astype(np.int64)
    # times are whole days / 7: an entry inside a day (the period start's half day) covers from that day on,
    # so a stretch shorter than a day between two members (when no dropout can happen) is not a gap
    lo = np.clip(np.floor(7.0 * np.where(km.entry > 0, km.entry, 0.0) + 1e-9) / 7.0, 0.0, t)
    hi = np.clip(km.time, 0.0, t)
    ok = hi > lo
    code, lo, hi = code[ok], lo[ok], hi[ok]
    if not len(lo):
        return (0.0, t), np.zeros(G, bool)
    # merge the intervals of each group: sort by (group, start), a new block starts past the running end
    o = np.lexsort((lo, code))
    code, lo, hi = code[o], lo[o], hi[o]
    run_hi = pd.Series(hi).groupby(code).cummax().to_numpy()
    prev = np.r_[-np.inf, run_hi[:-1]]
    new = np.r_[True, code[1:] != code[:-1]] | (lo > prev)
    b_lo = lo[new]
    b_hi = np.maximum.reduceat(hi, np.flatnonzero(new))
    b_code = code[new]
    # sweep: +1 (and +code) at each block start, -1 at each block end
    pts = np.r_[b_lo, b_hi]
    dc = np.r_[np.ones(len(b_lo)), -np.ones(len(b_hi))]
    ds = np.r_[b_code, -b_code].astype(float)
    o = np.argsort(pts, kind="stable")
    pts, dc, ds = pts[o], dc[o], ds[o]
    u, first = np.unique(pts, return_index=True)
    c = np.add.reduceat(dc, first).cumsum()
    cs = np.add.reduceat(ds, first).cumsum()
    # segment k is (u_k, u_{k+1}]; add the stretch from 0 to the first point and from the last point to t
    seg_lo = np.r_[0.0, u]
    seg_hi = np.r_[u, t]
    seg_c = np.r_[0.0, c]
    seg_s = np.r_[0.0, cs]
    live = seg_hi > seg_lo
    seg_lo, seg_hi, seg_c, seg_s = seg_lo[live], seg_hi[live], seg_c[live], seg_s[live]
    empty = seg_c < 0.5
    gap = None
    if empty.any():
        k = int(np.flatnonzero(empty)[0])
        j = np.flatnonzero(~empty & (seg_lo >= seg_hi[k]))
        gap = (float(seg_lo[k]), float(seg_lo[j[0]]) if len(j) else float(t))
    single = np.rint(seg_s[np.abs(seg_c - 1) < 0.5]).astype(np.int64)
    rep_ok = np.ones(G, bool)
    rep_ok[np.unique(single)] = False
    if gap is not None:
        rep_ok[:] = False
    return gap, rep_ok


def _km_replicates(km: _KM, t: float, groups: np.ndarray) -> tuple[float, np.ndarray]:
    r"""S(t) from every member and :math:`S_{(-g)}(t)` without the members of each group in ``groups``.

    With :math:`n_{gj}`, :math:`d_{gj}` the members of group g at risk at and dropping out at the j-th event
    time :math:`u_j \le t` (at risk: :math:`entry < u_j \le time`),
    :math:`S_{(-g)}(t) = \prod_j \big(1 - (d_j - d_{gj}) / (n_j - n_{gj})\big)`: every replicate from one
    (G, J) matrix of counts, no loop over groups.  An estimate whose risk set is empty somewhere in (0, t]
    (:func:`_coverage`) is NaN.
    """
    time, event = km.time, km.event
    entry = np.where(km.entry > 0, km.entry, -np.inf)
    G = len(groups)
    if len(time) == 0:
        return np.nan, np.full(G, np.nan)
    gpos = pd.Index(groups).get_indexer(km.group)
    u = np.unique(time[event & (time <= t)])
    J = len(u)
    lo = np.searchsorted(u, entry, "right")
    hi = np.searchsorted(u, time, "right")
    ok = hi > lo
    N = np.zeros((G, J + 1))
    np.add.at(N, (gpos[ok], lo[ok]), 1.0)
    np.add.at(N, (gpos[ok], hi[ok]), -1.0)
    n_gj = np.cumsum(N, axis=1)[:, :J]
    D = np.zeros((G, J))
    e = event & (time <= t)
    np.add.at(D, (gpos[e], np.searchsorted(u, time[e])), 1.0)
    n, d = n_gj.sum(0), D.sum(0)
    s_full = float(np.prod(1.0 - d / n)) if J else 1.0
    nr, dr = n[None, :] - n_gj, d[None, :] - D
    with np.errstate(invalid="ignore", divide="ignore"):
        fac = np.where(nr > 0, 1.0 - dr / np.where(nr > 0, nr, 1.0), 1.0)
    reps = np.prod(fac, axis=1) if J else np.ones(G)
    gap, rep_ok = _coverage(km, t, groups)
    reps = np.where(rep_ok, reps, np.nan)
    if gap is not None:
        s_full = np.nan
    return s_full, reps


def _jackknife(full: float, reps: np.ndarray) -> tuple[float, float, str]:
    """Delete-one-group jackknife standard error and df (G - 1)."""
    G = len(reps)
    if G < 2:
        return np.nan, np.nan, "one group: the variation between groups cannot be estimated"
    if not np.isfinite(full):
        return np.nan, np.nan, ""
    if not np.isfinite(reps).all():
        return np.nan, np.nan, ("leaving out one of the groups leaves no member followed this long, so the "
                                "group jackknife is undefined")
    v = (G - 1) / G * float(np.sum((reps - reps.mean()) ** 2))
    return float(np.sqrt(v)), float(G - 1), ""


def _km_row(km: _KM, t: float, ci: float, horizon: float | None, followup: np.ndarray | None, *,
            calendar: bool = False) -> dict[str, Any]:
    n = len(km.time)
    groups = np.unique(km.group)
    entry = np.where(km.entry > 0, km.entry, -np.inf)
    row: dict[str, Any] = {"n": n, "n_groups": len(groups),
                           "n_at_risk": int(((entry < t) & (km.time >= t)).sum()) if n else 0,
                           "n_events": int((km.event & (km.time <= t)).sum()) if n else 0}
    nan = dict(estimate=np.nan, se=np.nan, df=np.nan, ci_low=np.nan, ci_high=np.nan, se_cluster=np.nan,
               ci_low_cluster=np.nan, ci_high_cluster=np.nan)
    if horizon is not None and t > horizon:
        return {**row, **nan, "note": f"beyond the {horizon:g}-week horizon"}
    if n == 0:
        return {**row, **nan, "note": "no members in the retention curve"}
    gap, _ = _coverage(km, t, groups)
    if gap is not None:
        if gap[1] >= t and gap[0] >= km.time.max():
            why = (f"follow-up reaches only {km.time.max():.4g} weeks since enrolment, so retention at {t:g} "
                   "weeks cannot be estimated yet")
        elif calendar:
            why = (f"during the period no member was between weeks {gap[0]:.4g} and {gap[1]:.4g} of membership "
                   f"(nobody joined recently enough), so retention at {t:g} weeks cannot be estimated from this "
                   "period alone")
        else:
            why = (f"nobody in the curve was followed between weeks {gap[0]:.4g} and {gap[1]:.4g} since "
                   f"enrolment (members who entered the data late), so retention at {t:g} weeks cannot be "
                   "estimated")
        return {**row, **nan, "note": why}
    # the curve up to t is all that is needed (and later gaps in the risk set would stop lifelines)
    keep = ~(km.entry >= t) | (km.entry <= 0)
    tab = kaplan_meier(np.minimum(km.time, t)[keep], (km.event & (km.time <= t))[keep], km.entry[keep], ci=ci)
    idx = int(np.searchsorted(tab["time"].to_numpy(float), t, "right")) - 1
    if idx < 0:
        s, lo, hi, se_log = 1.0, 1.0, 1.0, 0.0
    else:
        r = tab.iloc[idx]
        s, lo, hi, se_log = float(r["retention"]), float(r["ci_low"]), float(r["ci_high"]), float(r["std_err"])
    full, reps = _km_replicates(km, t, groups)
    se_j, df_j, note_j = _jackknife(full, reps)
    notes = []
    if followup is not None and (followup < t).any():
        k = int((followup < t).sum())
        notes.append(f"{k} of {len(followup)} members enrolled less than {t:g} weeks before the data end "
                     "and are censored before then")
    lo_c = hi_c = np.nan
    if np.isfinite(se_j) and 0 < s < 1:
        q = stats.t.ppf(0.5 + ci / 2, df_j)
        w = q * se_j / (s * abs(np.log(s)))      # delta method on log(-log S)
        lo_c, hi_c = s ** np.exp(w), s ** np.exp(-w)
    elif note_j:
        notes.append(f"cluster interval: {note_j}")
    elif np.isfinite(se_j):
        notes.append("cluster interval undefined where retention is 0 or 1")
    return {**row, "estimate": s, "se": s * se_log if np.isfinite(se_log) else np.nan, "df": np.nan,
            "ci_low": lo, "ci_high": hi, "se_cluster": se_j, "ci_low_cluster": lo_c, "ci_high_cluster": hi_c,
            "note": "; ".join(notes)}


# ---------------------------------------------------------------------------
# CR2 means and differences
# ---------------------------------------------------------------------------
def _cr2(frame: pd.DataFrame, y: str, ci: float, *, indicator: str | None = None, weights: str | None = None
         ) -> dict[str, Any]:
    """Intercept (or the period indicator's coefficient) of a CR2 regression clustered by group."""
    d = frame[np.isfinite(frame[y].to_numpy(float))]
    G = int(d["group_id"].nunique())
    out: dict[str, Any] = {"estimate": np.nan, "se": np.nan, "t": np.nan, "df": np.nan, "ci_low": np.nan,
                           "ci_high": np.nan, "p_value": np.nan, "n_groups": G, "note": ""}
    if len(d) == 0:
        out["note"] = "no members"
        return out
    if indicator is None:
        w = d[weights].to_numpy(float) if weights else np.ones(len(d))
        out["estimate"] = float(np.sum(w * d[y].to_numpy(float)) / np.sum(w))
    else:
        ind = d[indicator].to_numpy(bool)
        ya = d[y].to_numpy(float)
        w = d[weights].to_numpy(float) if weights else np.ones(len(d))
        if not (ind.any() and (~ind).any()):
            out["note"] = f"no members in {'the compared period' if ind.any() else 'the period'}: nothing to compare"
            return out
        out["estimate"] = float(np.sum((w * ya)[ind]) / np.sum(w[ind]) - np.sum((w * ya)[~ind]) / np.sum(w[~ind]))
    if G < 2:
        out["note"] = "one group: the variation between groups cannot be estimated"
        return out
    formula = f"{y} ~ 1" if indicator is None else f"{y} ~ {indicator}"
    try:
        fit = cluster_robust_formula(formula, d, "group_id", weights=weights, type="CR2")
    except ValidationError as exc:
        out["note"] = f"no cluster-robust interval: {exc.message}"
        return out
    r = fit.coef_test(ci=ci).iloc[-1]
    out.update(estimate=float(r["estimate"]), se=float(r["se"]), t=float(r["t"]), df=float(r["df"]),
               ci_low=float(r["ci_low"]), ci_high=float(r["ci_high"]), p_value=float(r["p_value"]),
               note=str(r["note"]))
    if not out["se"] > 0:  # e.g. no dropout at all: a zero-width interval would claim certainty
        out.update(ci_low=np.nan, ci_high=np.nan, t=np.nan, p_value=np.nan)
        if np.isfinite(out["se"]):
            out["note"] = ("every member has the same value" if indicator is None else
                           "the values do not vary within the periods") + ", so there is no interval"
    return out


# ---------------------------------------------------------------------------
# per-period rows
# ---------------------------------------------------------------------------
def _mean_quantities(pdata: _PeriodData) -> dict[str, tuple[pd.DataFrame, str, str | None, str]]:
    """name -> (member frame, value column, weight column, method) of the quantities that are means."""
    out: dict[str, tuple[pd.DataFrame, str, str | None, str]] = {}
    if pdata.dropout is not None:
        dd = pdata.dropout
        out["dropout_share"] = (dd, "event", None, "cr2")
        r = dd[dd["exposure_weeks"] > 0]
        out["dropout_rate_per_100_weeks"] = (r.assign(rate=100 * r["event"] / r["exposure_weeks"]), "rate",
                                             "exposure_weeks", "cr2_wls")
    out["attendance_rate"] = (pdata.attendance, "rate", None, "cr2")
    out["attendance_pooled"] = (pdata.attendance, "rate", "offered", "cr2_wls")
    return out


def _row(pdata: _PeriodData, basis: str, quantity: str, **values: Any) -> dict[str, Any]:
    base = {"period": pdata.period.label, "start": pdata.period.start, "end": pdata.period.end, "basis": basis,
            "quantity": quantity, "observed_to": pdata.observed_to, "partial": pdata.partial}
    return {**base, **values}


def _summary_rows(ctx: _Context, pdata: _PeriodData) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    n_m, n_g = len(pdata.member_ids), len(np.unique(pdata.groups))
    count = dict(method="count", n=n_m, n_groups=n_g)
    rows.append(_row(pdata, ctx.basis, "members", estimate=float(n_m), **count, note=pdata.note))
    rows.append(_row(pdata, ctx.basis, "groups", estimate=float(n_g), **count, note=""))
    if pdata.followup is not None:
        fu = pdata.followup
        for q, f in (("min", np.min), ("median", np.median), ("max", np.max)):
            rows.append(_row(pdata, ctx.basis, f"followup_weeks_{q}", estimate=float(f(fu)) if len(fu) else np.nan,
                             method="descriptive", n=n_m, n_groups=n_g,
                             note="" if len(fu) else "no members enrolled in the period"))
    if pdata.dropout is not None:
        dd = pdata.dropout
        ng = lambda mask: int(pd.Index(dd["group_id"][mask]).nunique())  # noqa: E731
        st = dd["at_start"].to_numpy(bool)
        evm = dd["event"].to_numpy(float) > 0
        rows.append(_row(pdata, ctx.basis, "at_risk_start", estimate=float(st.sum()), method="count",
                         n=int(st.sum()), n_groups=ng(st), note=""))
        rows.append(_row(pdata, ctx.basis, "entered", estimate=float((~st).sum()), method="count",
                         n=int((~st).sum()), n_groups=ng(~st), note=""))
        rows.append(_row(pdata, ctx.basis, "dropouts", estimate=float(evm.sum()), method="count",
                         n=int(evm.sum()), n_groups=ng(evm), note=_recent_note(ctx, pdata)))
    recent = _recent_note(ctx, pdata) if pdata.dropout is not None else ""
    for name, (frame, col, wcol, method) in _mean_quantities(pdata).items():
        r = _cr2(frame, col, ctx.ci, weights=wcol)
        if name.startswith("dropout") and recent:
            r["note"] = "; ".join(x for x in (r["note"], recent) if x)
        extra: dict[str, Any] = {}
        if name == "attendance_pooled":
            extra = dict(numerator=float(frame["attended"].sum()), denominator=float(frame["offered"].sum()))
        elif name == "dropout_share":
            extra = dict(numerator=float(frame["event"].sum()), denominator=float(len(frame)))
        elif name == "dropout_rate_per_100_weeks":
            extra = dict(numerator=float(frame["event"].sum()), denominator=float(frame["exposure_weeks"].sum()))
        rows.append(_row(pdata, ctx.basis, name, estimate=r["estimate"], se=r["se"], df=r["df"], ci_low=r["ci_low"],
                         ci_high=r["ci_high"], method=method, n=len(frame), n_groups=r["n_groups"], note=r["note"],
                         **extra))
    km_method = "kaplan_meier" if ctx.basis == "enrolment" else "kaplan_meier_period_analysis"
    for t in ctx.times:
        r = _km_row(pdata.km, t, ctx.ci, ctx.horizon, pdata.followup, calendar=ctx.basis == "calendar")
        rows.append(_row(pdata, ctx.basis, f"retention_{_time_label(t)}w", method=km_method, **r))
    for name, (long, _diffs, note) in pdata.outcomes.items():
        rows.append(_row(pdata, ctx.basis, name, **_change_row(ctx, long, note)))
    return rows


def _recent_note(ctx: _Context, pdata: _PeriodData) -> str:
    """A dropout is known only once the rule fires: periods ending near the cut-off undercount them."""
    d = ctx.dropout
    lag = max(7 * (d.consecutive_missed or 0), int(np.ceil(7 * (d.weeks_without_attendance or 0))))
    if lag and _day(pdata.observed_to) > ctx.cut_day - lag:
        return (f"the period ends less than {lag / 7:g} weeks before the data "
                "cut-off: recent dropouts are not yet detectable by the dropout rule, so dropouts are undercounted")
    return ""


def _time_label(t: float) -> str:
    return f"{t:g}".replace(".", "_")


def _change_row(ctx: _Context, long: pd.DataFrame, note: str) -> dict[str, Any]:
    label = ctx.post if ctx.post is not None else "latest_follow_up"
    has_pre = set(long.loc[long["timepoint"] == ctx.pre, "member_id"])
    has_post = set(long.loc[long["timepoint"] == label, "member_id"])
    nan = dict(estimate=np.nan, se=np.nan, df=np.nan, ci_low=np.nan, ci_high=np.nan, method="cr2")
    if not has_pre & has_post:
        why = "no member has both a baseline and a follow-up score in this period"
        return {**nan, "n": 0, "n_groups": 0, "note": "; ".join(x for x in (why, note) if x)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        res = change(long, ctx.pre, label, dv=ctx.dv, group="group_id", ci=ctx.ci).iloc[0]
    notes = [str(res["cluster_note"])] if str(res["cluster_note"]) else []
    if int(res["n_pre_only"]):
        notes.append(f"{int(res['n_pre_only'])} member(s) with a baseline but no follow-up score are left out")
    if int(res["n_post_only"]):
        notes.append(f"{int(res['n_post_only'])} member(s) with a follow-up but no baseline score are left out")
    if note:
        notes.append(note)
    return dict(estimate=float(res["mean_change"]), se=float(res["se_cluster"]), df=float(res["df_cluster"]),
                ci_low=float(res["ci_low_cluster"]), ci_high=float(res["ci_high_cluster"]), method="cr2",
                n=int(res["n"]), n_groups=int(res["n_groups"]), note="; ".join(notes))


def _frame(rows: list[dict[str, Any]], columns: Sequence[str], ints: Sequence[str]) -> pd.DataFrame:
    out = pd.DataFrame(rows).reindex(columns=list(columns))
    for c in ints:
        out[c] = pd.array(pd.to_numeric(out[c]), dtype="Int64")
    for c in columns:
        if c in ("note",):
            out[c] = out[c].fillna("").astype(str)
    return out.reset_index(drop=True)


def _warn_few_groups(frame: pd.DataFrame, where: str) -> None:
    est = frame[frame["method"].isin(["cr2", "cr2_wls", "cr2_period_indicator", "cr2_wls_period_indicator",
                                      "group_jackknife"])]
    few = est[(est["n_groups"].fillna(0) > 0) & (est["n_groups"].fillna(0) < MIN_GROUPS)]
    if len(few):
        labels = sorted(set(map(str, few["period"])))
        warnings.warn(f"{where}: fewer than {MIN_GROUPS} groups behind some estimates ({', '.join(labels)}); "
                      "their intervals rest on few groups (see n_groups and df).", SmallSampleWarning, stacklevel=3)


def period_summary(dataset: Dataset, periods: Any = None, *, basis: str = "enrolment", scores: Any = None,
                   pre: str = "baseline", post: str | None = None, dropout: Dropout | str | Mapping | None = None,
                   times: Sequence[float] = (12, 26), horizon: float | None = None, ci: float = 0.95,
                   dv: str = "score") -> pd.DataFrame:
    r"""Retention, attendance and outcomes per reporting period (one tidy row per period and quantity).

    Parameters
    ----------
    dataset
        A :class:`~groupeval.Dataset`.
    periods
        A period or a list of them (``"2025-Q3"``, ``"2025-07"``, ``"2025"``,
        ``"2025-H1"``, ``"2025-07-01..2025-09-30"``, :class:`Period`);
        ``None``: every quarter the dataset covers (:func:`periods_covered`).
    basis
        ``"enrolment"`` (default): members by the period they enrolled in,
        followed to the data cut-off (or ``horizon``).  ``"calendar"``:
        everyone active during the period, counting only what happened inside
        it.  See Notes.
    scores
        Long scores (as :func:`groupeval.score` returns: ``member_id``,
        ``timepoint``, ``score``, with ``completed_on`` and ``group_id`` when
        known) or a dict ``{name: scores}`` (one quantity per name:
        ``outcome_change_<name>``); ``None`` skips outcomes.
    pre, post
        Timepoints of the change.  ``post=None``: each member's latest
        follow-up (any timepoint other than ``pre``; latest ``completed_on``,
        then timepoint order), inside the period (calendar) or the horizon.
    dropout
        Dropout rule (see :func:`groupeval.attendance_summary`).
    times
        Weeks since enrolment at which retention is reported.
    horizon
        Enrolment basis only: follow each member this many weeks from
        enrolment at most (attendance, outcome surveys and retention beyond it
        are not used); ``None`` follows to the data cut-off.
    ci
        Confidence level of every interval.
    dv
        Score column of ``scores``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`SUMMARY_COLUMNS`: ``period``, ``start``, ``end``,
        ``basis``, ``quantity``, ``estimate``, ``se``, ``df``, ``ci_low``,
        ``ci_high``, ``method`` (a key of :data:`PERIOD_METHODS`), ``n``
        (members behind the estimate), ``n_groups``, ``numerator`` /
        ``denominator`` (of ratios: sessions attended / offered, dropouts /
        members at risk, dropouts / member-weeks), ``n_at_risk`` (members at
        risk at ``t``) and ``n_events`` (dropouts by ``t``) for retention,
        ``se_cluster`` / ``ci_low_cluster`` / ``ci_high_cluster`` (retention:
        delete-one-group jackknife), ``observed_to`` (the period's end or the
        data cut-off), ``partial`` (the period runs past the cut-off) and
        ``note`` (why a value is NaN or what to keep in mind; empty when
        fine).  Quantities, per period:

        * ``members``, ``groups``: counts (enrolment: enrolled in the
          period; calendar: active in it).
        * enrolment: ``followup_weeks_min`` / ``_median`` / ``_max`` — the
          follow-up each member could have had by the cut-off (capped at the
          horizon).
        * calendar: ``at_risk_start`` (in the retention curve and at risk at
          the period's first day), ``entered`` (entered the curve during the
          period), ``dropouts`` (dropouts whose last attended session falls
          in the period), ``dropout_share`` (dropouts / members at risk during
          the period) and ``dropout_rate_per_100_weeks`` (dropouts per 100
          member-weeks at risk inside the period).
        * ``attendance_rate`` (mean of member attendance rates, members
          offered at least one session) and ``attendance_pooled`` (sessions
          attended / sessions offered), both with CR2 intervals.
        * ``retention_<t>w``: Kaplan–Meier retention with late entry.
        * ``outcome_change`` (or ``outcome_change_<name>``): mean change
          ``post - pre`` with the CR2 interval of :func:`groupeval.change`.

        Nothing is rounded or suppressed: the report applies its small-cell
        rules with ``n``, ``n_groups``, ``n_at_risk``, ``n_events`` and
        ``numerator``.

    Notes
    -----
    **Enrolment basis.** Member :math:`i` belongs to the period containing
    ``enrolled_on``; every member is in exactly one period.  Retention is the
    Kaplan–Meier estimate of the cohort (as :func:`groupeval.retention`:
    time since enrolment, late entry for members enrolled before their
    group's first session in the data).  Later cohorts have had less time:
    retention at :math:`t` is NaN with the reason when no member of the
    cohort has been followed :math:`t` weeks, and the note says how many
    members could not yet be followed that long.  Attendance is each member's
    rate over their whole follow-up (:func:`groupeval.attendance_summary`;
    within the horizon when given).

    **Calendar basis.** A member is active in :math:`[S, E]` when enrolled on
    or before :math:`E` and their membership (to exit, the day the dropout
    rule fired, or the cut-off) reaches :math:`S`.  Attendance counts the
    sessions scheduled for them inside the period while they were members.
    Retention is the *period analysis* of Brenner & Gefeller (1996): member
    :math:`i` (enrolled on day :math:`e_i`) contributes only the member-time
    inside the period, :math:`(\max(a_i, (S - e_i)/7),\ \min(T_i, (E - e_i)/7)]`
    in weeks, late entry at the period start, censored at its end, so the
    curve describes the period's own dropout experience.  Outcomes use the
    surveys completed inside the period (change from each member's baseline,
    whenever taken, to their latest follow-up inside the period).

    Means and proportions carry the CR2 cluster-robust interval by group
    with Satterthwaite df (Bell & McCaffrey 2002; Pustejovsky & Tipton 2018);
    retention the Greenwood log-log interval (as :func:`groupeval.retention`),
    plus a group-jackknife interval in the ``*_cluster`` columns.

    References
    ----------
    Brenner H, Gefeller O (1996). An alternative approach to monitoring cancer
    patient survival. *Cancer* 78:2004-2010.
    Bell RM, McCaffrey DF (2002). *Survey Methodology* 28:169-181.
    Pustejovsky JE, Tipton E (2018). *J Bus Econ Stat* 36:672-683.
    Lipsitz SR, Dear KBG, Zhao L (1994). Jackknife estimators of variance for
    parameter estimates from estimating equations with applications to
    clustered survival data. *Biometrics* 50:842-846.

    In R: per period, ``clubSandwich::coef_test(lm(rate ~ 1), vcov = "CR2", cluster = group_id)`` and
    ``summary(survfit(Surv(entry, time, event) ~ 1, conf.type = "log-log"), times = c(12, 26))``.

    Examples
    --------
    >>> import groupeval as ge
    >>> ds = ge.sample.generate(seed=1, weeks=78)
    >>> tab = ge.period_summary(ds, ["2025-Q2", "2025-Q3"], basis="calendar")      # doctest: +SKIP
    >>> tab.pivot(index="quantity", columns="period", values="estimate")          # doctest: +SKIP
    """
    ctx = _context(dataset, basis, dropout, times, horizon, ci, scores, pre, post, dv)
    plist = periods_covered(dataset, "quarter", basis=basis) if periods is None else _as_periods(periods)
    rows: list[dict[str, Any]] = []
    for p in plist:  # a handful of periods
        rows.extend(_summary_rows(ctx, _period_data(ctx, p)))
    out = _frame(rows, SUMMARY_COLUMNS, ("n", "n_groups", "n_at_risk", "n_events"))
    out.attrs["methods"] = tuple(dict.fromkeys(out["method"].dropna()))
    out.attrs["cutoff"] = ctx.cutoff
    out.attrs["dropout"] = ctx.dropout.describe()
    _warn_few_groups(out, "period_summary")
    return out


# ---------------------------------------------------------------------------
# comparing two periods
# ---------------------------------------------------------------------------
def _stack(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([a.assign(in_period=1.0), b.assign(in_period=0.0)], ignore_index=True)


def _compare_rows(ctx: _Context, pa: _PeriodData, pb: _PeriodData) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    sa = {r["quantity"]: r for r in _summary_rows(ctx, pa)}
    sb = {r["quantity"]: r for r in _summary_rows(ctx, pb)}

    def base(q: str) -> dict[str, Any]:
        ra, rb = sa[q], sb[q]
        return {"quantity": q, "period": pa.period.label, "compare": pb.period.label,
                "estimate_period": ra["estimate"], "estimate_compare": rb["estimate"],
                "difference": ra["estimate"] - rb["estimate"], "basis": ctx.basis, "n_period": ra["n"],
                "n_compare": rb["n"], "n_groups_period": ra["n_groups"], "n_groups_compare": rb["n_groups"]}

    for q in sa:
        if sa[q]["method"] in ("count", "descriptive"):
            rows.append({**base(q), "n_groups": len(np.union1d(pa.groups, pb.groups)), "method": sa[q]["method"],
                         "note": "a count: no sampling error is attached" if sa[q]["method"] == "count"
                         else "follow-up available: no sampling error is attached"})
    ma, mb = _mean_quantities(pa), _mean_quantities(pb)
    for q, (fa, col, wcol, _m) in ma.items():
        fb = mb[q][0]
        r = _cr2(_stack(fa, fb), col, ctx.ci, indicator="in_period", weights=wcol)
        method = "cr2_period_indicator" if wcol is None else "cr2_wls_period_indicator"
        rows.append({**base(q), "difference": r["estimate"], "se": r["se"], "t": r["t"], "df": r["df"],
                     "ci_low": r["ci_low"], "ci_high": r["ci_high"], "p_value": r["p_value"],
                     "n_groups": r["n_groups"], "method": method, "note": r["note"]})
    for t in ctx.times:
        q = f"retention_{_time_label(t)}w"
        rows.append({**base(q), **_km_difference(pa.km, pb.km, t, ctx.ci, sa[q], sb[q],
                                                 (pa.period.label, pb.period.label))})
    for name in pa.outcomes:
        da, db = pa.outcomes[name][1], pb.outcomes[name][1]
        assert da is not None and db is not None
        r = _cr2(_stack(da, db), "change", ctx.ci, indicator="in_period")
        notes = [r["note"]] if r["note"] else []
        for lab, s in ((pa.period.label, sa[name]), (pb.period.label, sb[name])):
            if s["note"]:
                notes.append(f"{lab}: {s['note']}")
        rows.append({**base(name), "difference": r["estimate"], "se": r["se"], "t": r["t"], "df": r["df"],
                     "ci_low": r["ci_low"], "ci_high": r["ci_high"], "p_value": r["p_value"],
                     "n_groups": r["n_groups"], "method": "cr2_period_indicator", "note": "; ".join(notes)})
    order = {q: i for i, q in enumerate(sa)}
    rows.sort(key=lambda r: order[r["quantity"]])
    return rows


def _km_difference(ka: _KM, kb: _KM, t: float, ci: float, ra: dict[str, Any], rb: dict[str, Any],
                   labels: tuple[str, str] = ("period", "compare")) -> dict[str, Any]:
    groups = np.union1d(ka.group, kb.group)
    out: dict[str, Any] = {"n_groups": len(groups), "method": "group_jackknife", "se": np.nan, "t": np.nan,
                           "df": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan}
    if not (np.isfinite(ra["estimate"]) and np.isfinite(rb["estimate"])):
        why = "; ".join(f"{lab}: {r['note']}" for lab, r in zip(labels, (ra, rb)) if r["note"]
                        and not np.isfinite(r["estimate"]))
        return {**out, "note": why or "retention is undefined in one of the periods"}
    fa, reps_a = _km_replicates(ka, t, groups)
    fb, reps_b = _km_replicates(kb, t, groups)
    se, df, note = _jackknife(fa - fb, reps_a - reps_b)
    out["note"] = note
    if np.isfinite(se) and se > 0:
        tt = (fa - fb) / se
        q = stats.t.ppf(0.5 + ci / 2, df)
        out.update(se=se, t=tt, df=df, ci_low=fa - fb - q * se, ci_high=fa - fb + q * se,
                   p_value=float(2 * stats.t.sf(abs(tt), df)))
    elif np.isfinite(se):
        out.update(se=se, df=df, note="standard error is 0 (no group changes the difference), so t and p are "
                                      "undefined")
    return out


def compare_periods(dataset: Dataset, period: Any, compare: Any, *, basis: str = "enrolment", scores: Any = None,
                    pre: str = "baseline", post: str | None = None, dropout: Dropout | str | Mapping | None = None,
                    times: Sequence[float] = (12, 26), horizon: float | None = None, ci: float = 0.95,
                    dv: str = "score") -> pd.DataFrame:
    r"""The change between two reporting periods in each quantity of :func:`period_summary`, with its CI.

    Parameters
    ----------
    dataset
        A :class:`~groupeval.Dataset`.
    period, compare
        The period reported and the one it is compared with (``"2025-Q3"``,
        ``"2025-Q2"``, :class:`Period`, ...): ``difference = period - compare``.
    basis, scores, pre, post, dropout, times, horizon, ci, dv
        As :func:`period_summary`.

    Returns
    -------
    pandas.DataFrame
        One row per quantity, columns :data:`COMPARE_COLUMNS`: ``quantity``,
        ``period``, ``compare``, ``estimate_period``, ``estimate_compare``,
        ``difference``, ``se``, ``df``, ``ci_low``, ``ci_high``,
        ``p_value`` (of no difference), ``n_groups`` (groups in either
        period: the clusters of the inference), ``method`` (a key of
        :data:`PERIOD_METHODS`), ``note`` (why a value is NaN, else empty),
        then ``t``, ``basis`` and the small-cell counts ``n_period``,
        ``n_compare``, ``n_groups_period``, ``n_groups_compare``.  Counts
        (members, groups, dropouts) get the difference only.

    Notes
    -----
    Members of one group appear in both periods (the same group goes on
    meeting; under the calendar basis even the same member), so the two
    periods are not independent samples and a two-sample interval would be
    wrong.  Means and proportions (attendance rate, dropout share, mean
    change) come from the regression :math:`y_i = \beta_0 + \beta_1 P_i +
    \varepsilon_i` over the members of both periods, :math:`P_i = 1` in
    ``period``, with the CR2 variance clustered by group and Satterthwaite df;
    :math:`\hat\beta_1` is the difference of the two period means.  Pooled
    ratios (sessions attended / offered, dropouts per member-week) are the
    same regression weighted by the denominator.  For Kaplan–Meier retention
    at :math:`t` the difference :math:`\hat\theta = \hat S_P(t) - \hat S_C(t)`
    gets the delete-one-group jackknife variance
    :math:`\frac{G-1}{G}\sum_g(\hat\theta_{(-g)} - \bar\theta)^2`, where
    :math:`\hat\theta_{(-g)}` recomputes both curves without group
    :math:`g`, and a t interval with :math:`G - 1` df.  The replicates come
    from one matrix of per-group risk-set counts (no loop over groups).

    References
    ----------
    Bell RM, McCaffrey DF (2002). *Survey Methodology* 28:169-181.
    Pustejovsky JE, Tipton E (2018). *J Bus Econ Stat* 36:672-683.
    Lipsitz SR, Dear KBG, Zhao L (1994). *Biometrics* 50:842-846.
    Efron B, Stein C (1981). The jackknife estimate of variance. *Ann Stat* 9:586-596.

    In R: ``clubSandwich::coef_test(lm(y ~ in_period, weights = w), vcov = "CR2", cluster = group_id,
    test = "Satterthwaite")``; the jackknife as a loop over groups of
    ``summary(survfit(Surv(entry, time, event) ~ period, subset = group_id != g), times = t)``
    (tests/reference/periods_cr2.R, periods_km_jackknife.R).

    Examples
    --------
    >>> import groupeval as ge
    >>> ds = ge.sample.generate(seed=1, weeks=78)
    >>> ge.compare_periods(ds, "2025-Q3", "2025-Q2", basis="calendar")   # doctest: +SKIP
    """
    ctx = _context(dataset, basis, dropout, times, horizon, ci, scores, pre, post, dv)
    pa, pb = parse_period(period), parse_period(compare)
    if pa.start == pb.start and pa.end == pb.end:
        raise ConfigError(f"`period` and `compare` are the same period ({pa.label}); compare two different periods, "
                          f"e.g. period='{pa.label}', compare='{pa.previous().label}'.")
    da, db = _period_data(ctx, pa), _period_data(ctx, pb)
    rows = _compare_rows(ctx, da, db)
    out = _frame(rows, COMPARE_COLUMNS, ("n_groups", "n_period", "n_compare", "n_groups_period", "n_groups_compare"))
    if pa.start <= pb.end and pb.start <= pa.end:
        out["note"] = [("; ".join(x for x in (n, "the two periods overlap") if x)) for n in out["note"]]
    out.attrs["methods"] = tuple(dict.fromkeys(out["method"].dropna()))
    out.attrs["cutoff"] = ctx.cutoff
    out.attrs["dropout"] = ctx.dropout.describe()
    _warn_few_groups(out, "compare_periods")
    return out
