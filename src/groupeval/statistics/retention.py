"""Retention: Kaplan–Meier curves with late entry, log-rank, Cox models,
cohort tables, attrition and participant flow.

Every function takes a :class:`~groupeval.Dataset` and a dropout rule
(``dropout=``, see :class:`groupeval.engagement.Dropout`) and starts from
:func:`groupeval.attendance_summary`, which fixes the event time (last
attended session before dropout, in weeks since enrolment), the censoring
time (exit of completers; the group's last session in the data for members
still active) and the late-entry time (weeks from enrolment to the group's
first session in the data).  Members who never attended are left out of the
curves and counted in :func:`participant_flow`.

Kaplan–Meier estimation uses lifelines; the log-rank test with late entry,
the median's confidence interval (R's ``quantile.survfit`` rule) and the
cluster-robust Cox variance with late entry are computed here, vectorised,
and checked against R ``survival`` (``tests/reference/retention_*.R``).
"""
from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..base.dataset import Dataset
from ..base.exceptions import (
    ConfigError,
    DataQualityWarning,
    Problem,
    SmallSampleWarning,
)
from .dropout import Dropout, as_dropout
from .engagement import member_summary
from .results import Result
from .survival import _median, _step_at, kaplan_meier, logrank

__all__ = ["RetentionResult", "retention"]

DEFAULT_TIMES = (4, 8, 12, 26)


# ---------------------------------------------------------------------------
# member-level frame
# ---------------------------------------------------------------------------
def _attach(summary: pd.DataFrame, dataset: Dataset, columns: Sequence[str], *, what: str) -> pd.DataFrame:
    """Add member or group attributes (by name) to the per-member summary."""
    out = summary
    problems = []
    mem = dataset.members.reset_index(drop=True)
    grp = dataset.groups
    for col in columns:
        if col in out.columns:
            continue
        if col in mem.columns:
            out = out.assign(**{col: mem[col].to_numpy()})
        elif col in grp.columns:
            mp = pd.Series(grp[col].to_numpy(), index=grp["group_id"].astype(str))
            mp = mp[~mp.index.duplicated()]
            out = out.assign(**{col: out["group_id"].astype(str).map(mp).to_numpy()})
        else:
            problems.append(Problem(None, None, col, None, f"`{what}` names a column found neither in members nor "
                                    "in groups", f"choose one of: {', '.join(_candidate_columns(dataset))}"))
    if problems:
        raise ConfigError(f"Unknown column in `{what}`", problems)
    return out


def _candidate_columns(dataset: Dataset) -> list[str]:
    skip = {"member_id", "enrolled_on", "exited_on"}
    return sorted((set(dataset.members.columns) | set(dataset.groups.columns)) - skip)


def _curve_members(summ: pd.DataFrame) -> tuple[np.ndarray, dict[str, int]]:
    """Who enters the Kaplan–Meier curve, and counts of who does not."""
    t = summ["event_time_weeks"].to_numpy(dtype=float)
    e = summ["entry_weeks"].to_numpy(dtype=float)
    never = summ["never_attended"].to_numpy(dtype=bool)
    valid = ~never & np.isfinite(t)
    late_bad = valid & (e > 0) & ~(t > e)
    neg = valid & (e <= 0) & (t < 0)
    keep = valid & ~late_bad & ~neg
    counts = {"never_attended": int(never.sum()),
              "no_time": int((~never & ~np.isfinite(t)).sum()),
              "ends_at_entry": int(late_bad.sum()),
              "negative_time": int(neg.sum())}
    return keep, counts


# ---------------------------------------------------------------------------
# RetentionResult
# ---------------------------------------------------------------------------
class RetentionResult(Result):
    """Kaplan–Meier retention, per level of ``by``.

    Attributes
    ----------
    table : DataFrame
        The step function: ``time`` (weeks since enrolment), ``at_risk``,
        ``events``, ``censored``, ``retention``, ``ci_low``, ``ci_high``
        (log-log), ``std_err`` (Greenwood, of log S), plus the ``by`` column
        first when ``by`` is given.  One row per time with an event or a
        censoring, as R's ``summary(fit, censored = TRUE)``.
    summary : DataFrame
        One row per level of ``by`` (one row overall without ``by``): ``n``
        (members in the curve), ``events``, ``censored``, ``late_entries``,
        ``median_weeks``, ``median_ci_low``, ``median_ci_high`` (NaN when
        not reached), then for every time ``t`` in ``times``:
        ``retention_<t>w``, ``retention_<t>w_ci_low``, ``retention_<t>w_ci_high``.
    logrank : DataFrame or None
        ``statistic``, ``df``, ``p_value`` of the log-rank test across the
        levels of ``by`` (None without ``by``).
    at_risk : DataFrame
        ``time``, ``at_risk``, ``events`` (cumulative), ``censored``
        (cumulative) every 4 weeks from 0 (+ ``by`` column), for the
        at-risk table under the plot.
    members : DataFrame
        The curve's input: ``member_id``, ``group_id``, (``by``),
        ``entry_weeks``, ``time_weeks``, ``event``.
    excluded : dict
        Members left out of the curve by reason: ``never_attended``,
        ``ends_at_entry`` (late entrant whose last attended session is the
        first session in the data: no time at risk), ``missing_by``, ...
    by, times, alpha, dropout
        The arguments used.
    """

    _plotter = "plot_retention"
    _title = "Retention (Kaplan–Meier)"

    def __init__(self, *, table, summary, logrank, members, excluded, by, times, alpha, dropout):
        self.table = table
        self._summary = summary
        self.logrank = logrank
        self.members = members
        self.excluded = excluded
        self.by = by
        self.times = tuple(times)
        self.alpha = alpha
        self.dropout = dropout
        self.at_risk = self.at(np.arange(0, self._max_time() + 4, 4.0), columns=("at_risk", "events", "censored"))

    @property
    def summary(self) -> pd.DataFrame:
        return self._summary

    @property
    def levels(self) -> list:
        """The levels of ``by`` (``[None]`` without ``by``)."""
        if self.by is None:
            return [None]
        return list(self._summary[self.by])

    def _max_time(self) -> float:
        return float(self.members["time_weeks"].max()) if len(self.members) else 0.0

    def curve(self, level: Any = None) -> pd.DataFrame:
        """The step function of one level (all rows without ``by``)."""
        if self.by is None:
            return self.table
        return self.table[self.table[self.by] == level].drop(columns=[self.by]).reset_index(drop=True)

    def at(self, times: Iterable[float], columns: Sequence[str] = ("at_risk", "retention", "ci_low", "ci_high")
           ) -> pd.DataFrame:
        """Retention, its CI and the number at risk at chosen times (weeks).

        ``at_risk`` at ``t`` is the number at risk at the first curve time
        ``>= t`` (members with ``entry < t' <= time``; 0 after the last), as
        R's ``summary(fit, times = t)``;
        ``retention`` is the step function's value at ``t`` (1 before the first
        row; CI 1 there and NaN on later rows where S = 1, as R's ``summary(fit, times=)``);
        ``events``/``censored`` are cumulative up to ``t``.
        """
        times = np.asarray(list(times), dtype=float)
        frames = []
        mem = self.members
        for level in self.levels:
            m = mem if self.by is None else mem[mem[self.by] == level]
            tab = self.curve(level)
            row = {"time": times}
            tt = m["time_weeks"].to_numpy(float)
            ev = m["event"].to_numpy(bool)
            for c in columns:
                if c == "at_risk":  # as R's summary(fit, times=): at risk at the next curve time >= t
                    nxt = np.searchsorted(tab["time"].to_numpy(float), times, "left")
                    ar = tab["at_risk"].to_numpy(np.int64)
                    row[c] = np.where(nxt < len(ar), ar[np.minimum(nxt, max(len(ar) - 1, 0))] if len(ar) else 0, 0)
                elif c == "retention":
                    row[c] = _step_at(tab, times, "retention", 1.0 if len(m) else np.nan)
                elif c in ("ci_low", "ci_high"):  # as R: 1 before the first row, NA where S = 1 after it
                    row[c] = _step_at(tab, times, c, 1.0 if len(m) else np.nan)
                elif c == "events":
                    row[c] = np.searchsorted(np.sort(tt[ev]), times, "right").astype(np.int64)
                elif c == "censored":
                    row[c] = np.searchsorted(np.sort(tt[~ev]), times, "right").astype(np.int64)
            f = pd.DataFrame(row)
            if self.by is not None:
                f.insert(0, self.by, level)
            frames.append(f)
        return pd.concat(frames, ignore_index=True)

    def to_frame(self) -> pd.DataFrame:
        """A copy of :attr:`table` (the step function)."""
        return self.table.copy()

    def to_csv(self, path: Any, **kwargs: Any) -> None:
        """Write :attr:`table` to CSV (unrounded)."""
        self.table.to_csv(path, index=False, **kwargs)

    def __repr__(self) -> str:
        lines = [f"{self._title}; dropout rule: {self.dropout.describe()}", self._summary.to_string(index=False)]
        if self.logrank is not None:
            lr = self.logrank.iloc[0]
            lines.append(f"log-rank: chi2 = {lr['statistic']:.4g}, df = {int(lr['df'])}, p = {lr['p_value']:.4g}")
        if any(self.excluded.values()):
            lines.append("left out of the curve: " + ", ".join(f"{k}={v}" for k, v in self.excluded.items() if v))
        return "\n".join(lines)


def _time_label(t: float) -> str:
    return f"{t:g}".replace(".", "_").replace("-", "m")


def retention(dataset: Dataset, by: str | None = None, dropout: Dropout | str | Mapping | None = None, *,
              times: Sequence[float] = DEFAULT_TIMES, alpha: float = 0.05) -> RetentionResult:
    """Kaplan–Meier retention (time in group until dropout), with late entry.

    Parameters
    ----------
    dataset
        A :class:`~groupeval.Dataset`.
    by
        Optional column of ``members`` or ``groups`` to stratify by
        (``"group_type"``, ``"facilitation"``, ``"group_id"``, a member
        covariate).  Members with a missing value are left out (counted in
        ``excluded["missing_by"]``).
    dropout
        Dropout rule (see :func:`groupeval.attendance_summary`).
    times
        Weeks at which :attr:`RetentionResult.summary` reports retention.
    alpha
        1 - confidence level of every interval.

    Returns
    -------
    RetentionResult
        ``.table`` (``time``, ``at_risk``, ``events``, ``censored``,
        ``retention``, ``ci_low``, ``ci_high`` + ``by``), ``.summary``,
        ``.logrank``, ``.at_risk``, ``.at(times)``, ``.plot()``.

    Notes
    -----
    Time origin: ``enrolled_on``.  Event: dropout (per the rule) at the last
    attended session; completers censored at exit, active members at their
    group's last session in the data.  Late entry: members enrolled before
    their group's first session in the data are at risk only after
    ``entry_weeks`` (left truncation; risk set :math:`entry < t \\le time`).
    Kaplan–Meier via lifelines with log-log (exponential Greenwood) CIs
    (Kaplan & Meier 1958; Greenwood 1926; Kalbfleisch & Prentice 1980).
    Median and its CI as R's ``quantile.survfit`` (Brookmeyer & Crowley
    1982).  Retention at ``t`` is :math:`\\hat S(t)`: the share still
    attending *after* week ``t``.

    In R::

        fit <- survfit(Surv(entry, time, event) ~ by, data = d, conf.type = "log-log")
        summary(fit, times = c(4, 8, 12, 26)); quantile(fit, 0.5)

    with ``entry`` set below 0 for members who are not left-truncated.

    Examples
    --------
    >>> import groupeval as ge
    >>> ds = ge.sample.generate(seed=1)
    >>> res = ge.retention(ds, by="group_type")
    >>> res.summary[["group_type", "n", "median_weeks", "retention_12w"]]
    >>> res.logrank
    >>> res.plot()
    """
    if not (0 < float(alpha) < 1):
        raise ConfigError(f"`alpha` must be between 0 and 1, got {alpha!r}.")
    try:
        times = tuple(float(t) for t in times)
    except (TypeError, ValueError):
        raise ConfigError(f"`times` must be a list of numbers of weeks, got {times!r}.") from None
    if any(t < 0 for t in times):
        raise ConfigError(f"`times` must be non-negative weeks, got {times!r}.")
    dropout = as_dropout(dropout)
    summ = member_summary(dataset, dropout, stacklevel=2)
    if by is not None:
        if not isinstance(by, str):
            raise ConfigError(f"`by` must be one column name, got {by!r}.")
        summ = _attach(summ, dataset, [by], what="by")
    keep, excluded = _curve_members(summ)
    if by is not None:
        miss = summ[by].isna().to_numpy()
        excluded["missing_by"] = int((keep & miss).sum())
        keep &= ~miss
    m = summ.loc[keep]
    members = pd.DataFrame({
        "member_id": m["member_id"].to_numpy(),
        "group_id": m["group_id"].to_numpy(),
        **({by: m[by].to_numpy()} if by is not None else {}),
        "entry_weeks": m["entry_weeks"].to_numpy(float),
        "time_weeks": m["event_time_weeks"].to_numpy(float),
        "event": ~m["censored"].to_numpy(bool),
    })
    if excluded["ends_at_entry"]:
        warnings.warn(f"{excluded['ends_at_entry']} late-entry member(s) last attended at their group's first "
                      "session in the data and add no time at risk; they are left out of the curve "
                      "(see result.excluded).", DataQualityWarning, stacklevel=2)

    levels: list = [None] if by is None else sorted(members[by].dropna().unique().tolist(), key=str)
    tables = []
    rows = []
    for level in levels:  # a handful of strata
        mm = members if by is None else members[members[by] == level]
        tab = kaplan_meier(mm["time_weeks"], mm["event"], mm["entry_weeks"], alpha=alpha)
        tab = tab[["time", "at_risk", "events", "censored", "retention", "ci_low", "ci_high", "std_err"]]
        if by is not None:
            tab.insert(0, by, level)
        tables.append(tab)
        med, mlo, mhi = _median(tab)
        row: dict[str, Any] = {} if by is None else {by: level}
        row.update(n=len(mm), events=int(mm["event"].sum()), censored=int((~mm["event"]).sum()),
                   late_entries=int((mm["entry_weeks"] > 0).sum()), median_weeks=med,
                   median_ci_low=mlo, median_ci_high=mhi)
        tt = np.asarray(times)
        before = 1.0 if len(mm) else np.nan        # nobody in the curve: no estimate
        r = _step_at(tab, tt, "retention", before)
        lo = _step_at(tab, tt, "ci_low", before)
        hi = _step_at(tab, tt, "ci_high", before)
        for t, a, b, c in zip(times, r, lo, hi):
            lab = _time_label(t)
            row[f"retention_{lab}w"] = a
            row[f"retention_{lab}w_ci_low"] = b
            row[f"retention_{lab}w_ci_high"] = c
        rows.append(row)
        if len(mm) < 10:
            warnings.warn(f"retention: only {len(mm)} member(s) in the curve"
                          f"{'' if by is None else f' for {by} = {level!r}'}; estimates are unstable.",
                          SmallSampleWarning, stacklevel=2)
    table = pd.concat(tables, ignore_index=True) if tables else kaplan_meier([], [])
    summary = pd.DataFrame(rows)
    lr = None
    if by is not None and len(levels) >= 2:
        res = logrank(members["time_weeks"], members["event"], members[by], members["entry_weeks"])
        lr = pd.DataFrame([{"test": "log-rank", **res}])
    return RetentionResult(table=table, summary=summary, logrank=lr, members=members, excluded=excluded,
                           by=by, times=times, alpha=float(alpha), dropout=dropout)


