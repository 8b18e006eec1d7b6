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

import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..base.dataset import Dataset
from ..base.exceptions import (
    ConfigError,
    ConvergenceWarning,
    DataQualityWarning,
    Problem,
    SchemaError,
    SmallSampleWarning,
)
from .engagement import DROPOUT_PRESETS, Dropout, as_dropout, member_summary
from .results import Result

__all__ = [
    "RetentionResult",
    "retention",
    "cox_model",
    "CoxResult",
    "cohort_table",
    "attrition",
    "AttritionResult",
    "participant_flow",
    "retention_sensitivity",
    "kaplan_meier",
    "logrank",
    "smd_continuous",
    "smd_categorical",
]

DEFAULT_TIMES = (4, 8, 12, 26)
#: tolerance of R's quantile.survfit
_TOL = np.sqrt(np.finfo(float).eps)
_EPS_ENTRY = 1e-9  # weeks; turns lifelines' "entry <= t" risk set into R's "entry < t"


# ---------------------------------------------------------------------------
# low-level estimators (arrays in, tidy frames out)
# ---------------------------------------------------------------------------
def _risk_entry(entry: np.ndarray) -> np.ndarray:
    """Entry times in R's counting-process convention: -inf for members not left-truncated."""
    return np.where(entry > 0, entry, -np.inf)


def kaplan_meier(time: Any, event: Any, entry: Any = None, *, alpha: float = 0.05) -> pd.DataFrame:
    """Kaplan–Meier estimate with log-log confidence intervals and late entry.

    Parameters
    ----------
    time
        Event or censoring times (weeks).
    event
        True where ``time`` is a dropout, False where censored.
    entry
        Late-entry (left-truncation) times; ``0`` or ``None`` for members
        observed from enrolment.  A member with ``entry > 0`` is at risk at
        ``t`` when ``entry < t <= time`` (R's counting-process convention).
    alpha
        1 - confidence level.

    Returns
    -------
    pandas.DataFrame
        One row per distinct time with an event or a censoring: ``time``,
        ``at_risk``, ``events``, ``censored``, ``retention`` (:math:`\\hat S(t)`),
        ``std_err`` (Greenwood standard error of :math:`\\log \\hat S`; NaN once :math:`\\hat S = 0`),
        ``ci_low``, ``ci_high``.

    Notes
    -----
    :math:`\\hat S(t) = \\prod_{t_i \\le t} (1 - d_i / n_i)` (Kaplan & Meier
    1958); Greenwood: :math:`\\widehat{Var}[\\log \\hat S(t)] = \\sum_{t_i\\le t}
    d_i / (n_i (n_i - d_i))`; log-log interval :math:`\\hat S^{\\exp(\\pm z
    \\sigma / \\log \\hat S)}` (lifelines' "exponential Greenwood"), undefined
    (NaN) where :math:`\\hat S` is 1 or 0, as in R.

    In R: ``summary(survfit(Surv(entry, time, event) ~ 1, conf.type = "log-log"), censored = TRUE)``.
    """
    from lifelines import KaplanMeierFitter

    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    entry = np.zeros_like(time) if entry is None else np.asarray(entry, dtype=float)
    cols = ["time", "at_risk", "events", "censored", "retention", "std_err", "ci_low", "ci_high"]
    if len(time) == 0:
        return pd.DataFrame({c: pd.Series(dtype=float if c not in ("at_risk", "events", "censored") else np.int64)
                             for c in cols})
    lf_entry = np.where(entry > 0, entry + _EPS_ENTRY, 0.0)
    kmf = KaplanMeierFitter(alpha=alpha)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kmf.fit(time, event_observed=event, entry=lf_entry if (entry > 0).any() else None)
    et = kmf.event_table
    keep = (et["observed"] + et["censored"]).to_numpy() > 0
    et = et.loc[keep]
    t = et.index.to_numpy(dtype=float)
    surv = kmf.survival_function_.iloc[:, 0].reindex(et.index).to_numpy(dtype=float)
    ci = kmf.confidence_interval_.reindex(et.index).to_numpy(dtype=float)
    d = et["observed"].to_numpy(dtype=np.int64)
    n = et["at_risk"].to_numpy(dtype=np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.cumsum(np.where((n - d) > 0, d / (n * (n - d)), np.where(d > 0, np.inf, 0.0)))
    undefined = (surv >= 1.0) | (surv <= 0.0)
    lo = np.where(undefined, np.nan, ci[:, 0])
    hi = np.where(undefined, np.nan, ci[:, 1])
    return pd.DataFrame({"time": t, "at_risk": n, "events": d, "censored": et["censored"].to_numpy(dtype=np.int64),
                         "retention": surv, "std_err": np.where(surv > 0, np.sqrt(var), np.nan),
                         "ci_low": lo, "ci_high": hi})


def _step_at(table: pd.DataFrame, times: np.ndarray, col: str, before: float) -> np.ndarray:
    idx = np.searchsorted(table["time"].to_numpy(), times, side="right") - 1
    vals = table[col].to_numpy(dtype=float)
    return np.where(idx >= 0, vals[np.maximum(idx, 0)] if len(vals) else before, before)


def _at_risk_at(time: np.ndarray, entry: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Number with entry < t <= time (non-truncated entry = -inf)."""
    st = np.sort(time)
    se = np.sort(_risk_entry(entry))
    return (len(st) - np.searchsorted(st, t, "left")) - (len(se) - np.searchsorted(se, t, "left"))


def _findq(x: np.ndarray, y: np.ndarray, p: float, tol: float = _TOL) -> float:
    """R survival:::findq (quantile of a step function), for one probability."""
    ok = ~np.isnan(y)
    if not ok.any() or np.nanmax(y) < p:
        return np.nan
    xmax = x[-1]
    _, first = np.unique(y, return_index=True)  # drop duplicated y (keep first), NaN included once
    keep = np.zeros(len(y), bool)
    keep[first] = True
    x2, y2 = x[keep], y[keep]
    idx_all = np.arange(len(y2))
    ok2 = ~np.isnan(y2)
    ys, ids = y2[ok2], idx_all[ok2]

    def approx(yy: np.ndarray) -> float:
        # approx(yy, ids, p, method="constant", f=1): smallest knot with yy >= p
        if p < yy[0] or p > yy[-1]:
            return np.nan
        j = int(np.searchsorted(yy, p, "left"))
        return float(ids[j])

    i1 = approx(ys + tol)
    i2 = approx(ys - tol)
    q = np.nan if (np.isnan(i1) or np.isnan(i2)) else (x2[int(i1)] + x2[int(i2)]) / 2
    if p == 0:
        q = x2[0]
    if not np.isnan(y2[-1]) and abs(p - y2[-1]) < tol:  # the curve ends exactly at p: average with the last time
        q = np.nan if np.isnan(i1) else (x2[int(i1)] + xmax) / 2
    return float(q)


def _median(table: pd.DataFrame) -> tuple[float, float, float]:
    """Median time with its CI, as R's ``quantile(survfit, 0.5)``."""
    if not len(table):
        return (np.nan, np.nan, np.nan)
    x = np.r_[0.0, table["time"].to_numpy(dtype=float)]
    s = table["retention"].to_numpy(dtype=float)
    lo = table["ci_low"].to_numpy(dtype=float)
    hi = table["ci_high"].to_numpy(dtype=float)
    med = _findq(x, np.r_[0.0, 1 - s], 0.5)
    q_lo = _findq(x, np.r_[0.0, 1 - lo], 0.5)  # the lower curve reaches 0.5 first
    q_hi = _findq(x, np.r_[0.0, 1 - hi], 0.5)
    return med, q_lo, q_hi


def logrank(time: Any, event: Any, group: Any, entry: Any = None) -> dict[str, float]:
    """Multivariate log-rank test, with late entry.

    Parameters
    ----------
    time, event, entry
        As :func:`kaplan_meier`.
    group
        Group label per member.

    Returns
    -------
    dict
        ``statistic`` (chi-square), ``df`` (groups - 1), ``p_value``.

    Notes
    -----
    At each distinct event time :math:`t` with :math:`n_j` at risk and
    :math:`d_j` events in group :math:`j` (:math:`n = \\sum n_j`,
    :math:`d = \\sum d_j`): :math:`O_j - E_j = \\sum_t (d_j - d n_j / n)` and
    :math:`V_{jl} = \\sum_t d (n - d)/(n - 1) \\cdot n_j/n (\\delta_{jl} - n_l/n)`;
    :math:`X^2 = (O-E)^T V^- (O-E)` on :math:`k - 1` df (Mantel 1966;
    Peto & Peto 1972).  Risk sets use :math:`entry < t \\le time`.

    In R: ``survdiff(Surv(time, event) ~ group)`` without late entry; with
    late entry it equals the score test of
    ``coxph(Surv(entry, time, event) ~ group, ties = "exact")``.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    entry = np.zeros_like(time) if entry is None else np.asarray(entry, dtype=float)
    codes, levels = pd.factorize(pd.Series(np.asarray(group)), sort=True)
    k = len(levels)
    if k < 2:
        return {"statistic": np.nan, "df": 0, "p_value": np.nan}
    ut = np.unique(time[event])
    n_jt = np.empty((k, len(ut)))
    d_jt = np.empty((k, len(ut)))
    for j in range(k):  # loop over a handful of groups
        m = codes == j
        n_jt[j] = _at_risk_at(time[m], entry[m], ut)
        te = np.sort(time[m & event])
        d_jt[j] = np.searchsorted(te, ut, "right") - np.searchsorted(te, ut, "left")
    n = n_jt.sum(0)
    d = d_jt.sum(0)
    e_jt = d * n_jt / n
    o_e = (d_jt - e_jt).sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(n > 1, d * (n - d) / (n - 1), 0.0)
    p = n_jt / n
    V = (np.einsum("t,jt->j", f, p)[:, None] * np.eye(k)) - np.einsum("t,jt,lt->jl", f, p, p)
    sub = slice(0, k - 1)
    stat = float(o_e[sub] @ np.linalg.pinv(V[sub, sub]) @ o_e[sub])
    df = int(np.linalg.matrix_rank(V[sub, sub]))
    return {"statistic": stat, "df": df, "p_value": float(stats.chi2.sf(stat, df)) if df > 0 else np.nan}


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


# ---------------------------------------------------------------------------
# Cox model
# ---------------------------------------------------------------------------
class CoxResult(Result):
    """Cox model of dropout.

    Attributes
    ----------
    summary : DataFrame
        ``term``, ``coef``, ``hr``, ``se`` (cluster-robust), ``se_model``,
        ``ci_low``, ``ci_high`` (of ``hr``), ``z``, ``p_value``.
    fitter
        The fitted lifelines ``CoxPHFitter`` (its own SEs are model-based).
    data : DataFrame
        The model frame (``member_id``, ``group_id``, covariates,
        ``entry_weeks``, ``time_weeks``, ``event``).
    n, events, n_clusters, excluded
        Members and dropouts in the model, number of clusters, members left
        out by reason.
    """

    _title = "Cox model of dropout (cluster-robust SEs by group)"

    def __init__(self, *, coefficients, fitter, data, n, events, n_clusters, excluded):
        self.coefficients = coefficients
        self.fitter = fitter
        self.data = data
        self.n = n
        self.events = events
        self.n_clusters = n_clusters
        self.excluded = excluded

    @property
    def summary(self) -> pd.DataFrame:
        return self.coefficients


def _efron_score_residuals(X: np.ndarray, beta: np.ndarray, stop: np.ndarray, event: np.ndarray,
                           start: np.ndarray) -> np.ndarray:
    """Score residuals of a Cox model (Efron ties, counting process), vectorised.

    ``start`` is -inf for members at risk from time 0.  Risk set at ``t``:
    ``start < t <= stop``.  Matches R ``residuals(coxph(...), type = "score")``.
    """
    n, p = X.shape
    w = np.exp(X @ beta)
    ut, inv = np.unique(stop[event], return_inverse=True)
    K = len(ut)
    if K == 0:
        return np.zeros((n, p))
    # sums over the risk set at each death time: sum_{stop >= t} - sum_{start >= t}
    o_stop = np.argsort(stop, kind="stable")
    o_start = np.argsort(start, kind="stable")
    wx = w[:, None] * X

    def tail_sums(order: np.ndarray, keyvals: np.ndarray, vals: np.ndarray) -> np.ndarray:
        sk = keyvals[order]
        cs = np.concatenate([np.zeros((1,) + vals.shape[1:]), np.cumsum(vals[order][::-1], axis=0)])[::-1]
        pos = np.searchsorted(sk, ut, "left")
        return cs[pos]

    S0 = tail_sums(o_stop, stop, w) - tail_sums(o_start, start, w)
    S1 = tail_sums(o_stop, stop, wx) - tail_sums(o_start, start, wx)
    d = np.bincount(inv, minlength=K).astype(float)
    Dw = np.bincount(inv, weights=w[event], minlength=K)
    Dwx = np.stack([np.bincount(inv, weights=wx[event, j], minlength=K) for j in range(p)], axis=1)
    # Efron sub-steps: one row per death
    k_of = np.repeat(np.arange(K), d.astype(int))
    r = np.arange(len(k_of)) - np.repeat(np.r_[0, np.cumsum(d)[:-1]].astype(int), d.astype(int))
    frac = r / d[k_of]
    s0 = S0[k_of] - frac * Dw[k_of]
    s1 = S1[k_of] - frac[:, None] * Dwx[k_of]
    xbar = s1 / s0[:, None]
    dL = 1.0 / s0
    L = np.bincount(k_of, weights=dL, minlength=K)
    M = np.stack([np.bincount(k_of, weights=xbar[:, j] * dL, minlength=K) for j in range(p)], axis=1)
    Ld = np.bincount(k_of, weights=(1 - frac) * dL, minlength=K)
    Md = np.stack([np.bincount(k_of, weights=(1 - frac) * xbar[:, j] * dL, minlength=K) for j in range(p)], axis=1)
    Xb = np.stack([np.bincount(k_of, weights=xbar[:, j], minlength=K) for j in range(p)], axis=1) / d[:, None]
    CL = np.r_[0.0, np.cumsum(L)]
    CM = np.vstack([np.zeros((1, p)), np.cumsum(M, axis=0)])
    i_stop = np.searchsorted(ut, stop, "right")
    i_start = np.searchsorted(ut, start, "right")
    lam = CL[i_stop] - CL[i_start]
    lamx = CM[i_stop] - CM[i_start]
    U = -w[:, None] * (X * lam[:, None] - lamx)
    ev = np.flatnonzero(event)
    kk = inv
    U[ev] += X[ev] - Xb[kk]
    U[ev] += w[ev, None] * (X[ev] * (L[kk] - Ld[kk])[:, None] - (M[kk] - Md[kk]))
    return U


def _design(frame: pd.DataFrame, covariates: Sequence[str]) -> tuple[pd.DataFrame, list[str]]:
    cols = []
    parts = []
    for c in covariates:  # a handful of covariates
        s = frame[c]
        if s.dtype.kind in "biuf" and s.dtype != bool:
            parts.append(pd.DataFrame({c: s.astype(float).to_numpy()}, index=frame.index))
            cols.append(c)
        else:
            cat = pd.Categorical(s.astype("object"), categories=sorted(s.dropna().unique().tolist(), key=str))
            for lev in cat.categories[1:]:
                name = f"{c}[{lev}]"
                parts.append(pd.DataFrame({name: (cat == lev).astype(float)}, index=frame.index))
                cols.append(name)
    return (pd.concat(parts, axis=1) if parts else pd.DataFrame(index=frame.index)), cols


def _baseline_scores(scores: Any, dataset: Dataset) -> pd.DataFrame:
    """Baseline scores as member-level columns (``baseline_<name>``)."""
    if scores is None:
        return pd.DataFrame(columns=["member_id"])
    items = scores.items() if isinstance(scores, Mapping) else [("score", scores)]
    base_tp = dataset.timepoints[0] if dataset.timepoints else "baseline"
    out = None
    for name, df in items:  # a handful of instruments
        if not isinstance(df, pd.DataFrame) or not {"member_id", "timepoint", "score"} <= set(df.columns):
            raise SchemaError(f"baseline scores {name!r} must be a DataFrame with columns member_id, timepoint, "
                              "score (the output of groupeval.score).")
        b = df.loc[df["timepoint"] == base_tp, ["member_id", "score"]].dropna()
        b = b.drop_duplicates("member_id").assign(member_id=lambda x: x["member_id"].astype(str))
        col = "baseline_score" if name == "score" else f"baseline_{name}"
        b = b.rename(columns={"score": col})
        out = b if out is None else out.merge(b, on="member_id", how="outer")
    return out


def cox_model(dataset: Dataset, covariates: Sequence[str] = ("group_type", "facilitation"),
              baseline_scores: pd.DataFrame | Mapping[str, pd.DataFrame] | None = None,
              dropout: Dropout | str | Mapping | None = None, *, alpha: float = 0.05,
              cluster: str = "group_id") -> CoxResult:
    """Cox proportional-hazards model of dropout with group-clustered standard errors.

    Parameters
    ----------
    dataset
        A :class:`~groupeval.Dataset`.
    covariates
        Columns of ``members`` or ``groups``.  Text columns become treatment
        dummies against their alphabetically first level (as R's factors);
        numeric columns enter linearly.
    baseline_scores
        Output of :func:`groupeval.score` (``member_id``, ``timepoint``,
        ``score``), or a dict ``{name: scores}`` for several instruments;
        the first timepoint of the dataset is the baseline.  Enter as
        ``baseline_score`` / ``baseline_<name>``.
    dropout
        Dropout rule.
    alpha
        1 - confidence level.
    cluster
        Column defining the clusters of the robust variance (default the group).

    Returns
    -------
    CoxResult
        ``.summary``: ``term``, ``coef``, ``hr`` (exp(coef)), ``se`` (robust),
        ``se_model`` (model-based), ``ci_low``, ``ci_high`` (of ``hr``),
        ``z``, ``p_value``; plus ``n``, ``events``, ``n_clusters``,
        ``excluded`` (members dropped for missing covariates), ``fitter``.

    Notes
    -----
    Partial likelihood with Efron ties (Cox 1972; Efron 1977), fitted by
    lifelines with late entry (``entry_col``) when members enrolled before
    the data window.  Robust variance (Lin & Wei 1989):
    :math:`V = \\sum_g D_g^T D_g` with :math:`D_g = \\sum_{i \\in g} U_i
    \\mathcal{I}^{-1}` (score residuals :math:`U_i` summed within clusters);
    computed here because lifelines' sandwich ignores late entry.  Identical
    to R's ``coxph(..., cluster = group_id)``; no small-sample factor.

    In R: ``coxph(Surv(entry, time, event) ~ group_type + facilitation, data = d, cluster = group_id)``.
    """
    from lifelines import CoxPHFitter

    dropout = as_dropout(dropout)
    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    summ = member_summary(dataset, dropout, stacklevel=2)
    summ = _attach(summ, dataset, [c for c in covariates if c not in summ.columns] +
                   ([cluster] if cluster not in summ.columns else []), what="covariates")
    keep, excluded = _curve_members(summ)
    data = summ.loc[keep]
    bs = _baseline_scores(baseline_scores, dataset)
    score_cols = [c for c in bs.columns if c != "member_id"]
    if score_cols:
        data = data.assign(member_id=data["member_id"].astype(str)).merge(bs, on="member_id", how="left")
    all_cov = covariates + score_cols
    miss = data[all_cov].isna().any(axis=1).to_numpy() if all_cov else np.zeros(len(data), bool)
    excluded["missing_covariates"] = int(miss.sum())
    if miss.any():
        warnings.warn(f"cox_model: {int(miss.sum())} member(s) with a missing covariate or baseline score were "
                      "left out (complete cases).", DataQualityWarning, stacklevel=2)
    data = data.loc[~miss].reset_index(drop=True)
    flat = [c for c in all_cov if data[c].nunique(dropna=True) < 2]
    if flat:
        raise ConfigError(f"cox_model: covariate(s) {flat} take a single value among the {len(data)} members in "
                          "the model; drop them from `covariates`.")
    X, terms = _design(data, all_cov)
    if not terms:
        raise ConfigError("cox_model needs at least one covariate or baseline score.")
    const = [t for t in terms if X[t].nunique() < 2]
    if const:
        raise ConfigError(f"cox_model: term(s) {const} do not vary among the {len(data)} members in the model; "
                          "drop them from `covariates`.")
    time = data["event_time_weeks"].to_numpy(float)
    event = ~data["censored"].to_numpy(bool)
    entry = data["entry_weeks"].to_numpy(float)
    late = (entry > 0).any()
    if event.sum() == 0:
        raise ConfigError("cox_model: no dropouts among the members in the model; nothing to model.")
    df = X.copy()
    df["_time"] = time
    df["_event"] = event.astype(int)
    if late:
        df["_entry"] = np.where(entry > 0, entry, -1.0)
    cph = CoxPHFitter(alpha=alpha)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cph.fit(df, duration_col="_time", event_col="_event", entry_col="_entry" if late else None,
                fit_options={"precision": 1e-12, "max_steps": 100})
    if any("converge" in str(w.message).lower() for w in caught):
        warnings.warn("cox_model: lifelines reported convergence problems; check for separation "
                      "(a level with no dropouts).", ConvergenceWarning, stacklevel=2)
    beta = cph.params_.reindex(terms).to_numpy(float)
    V_model = cph.variance_matrix_.reindex(index=terms, columns=terms).to_numpy(float)
    U = _efron_score_residuals(X[terms].to_numpy(float), beta, time, event, _risk_entry(entry))
    dfbeta = U @ V_model
    clusters = pd.factorize(data[cluster].astype(str))[0]
    G = clusters.max() + 1
    Dg = np.stack([np.bincount(clusters, weights=dfbeta[:, j], minlength=G) for j in range(len(terms))], axis=1)
    V = Dg.T @ Dg
    se = np.sqrt(np.diag(V))
    z = beta / se
    zc = stats.norm.ppf(1 - alpha / 2)
    coef = pd.DataFrame({"term": terms, "coef": beta, "hr": np.exp(beta), "se": se,
                         "se_model": np.sqrt(np.diag(V_model)),
                         "ci_low": np.exp(beta - zc * se), "ci_high": np.exp(beta + zc * se),
                         "z": z, "p_value": 2 * stats.norm.sf(np.abs(z))})
    if G < 20:
        warnings.warn(f"cox_model: only {G} clusters; cluster-robust standard errors are unreliable with fewer "
                      "than about 20-40 clusters.", SmallSampleWarning, stacklevel=2)
    model_frame = data[["member_id", "group_id", *all_cov]].assign(entry_weeks=entry, time_weeks=time, event=event)
    return CoxResult(coefficients=coef, fitter=cph, data=model_frame, n=len(data), events=int(event.sum()),
                     n_clusters=int(G), excluded=excluded)


# ---------------------------------------------------------------------------
# cohort table
# ---------------------------------------------------------------------------
def cohort_table(dataset: Dataset, dropout: Dropout | str | Mapping | None = None, *,
                 weeks: Sequence[float] = (0, 4, 8, 12, 26), wide: bool = False) -> pd.DataFrame:
    """Retained share by enrolment month and weeks since enrolment.

    Parameters
    ----------
    dataset
        A :class:`~groupeval.Dataset`.
    dropout
        Dropout rule.
    weeks
        Weeks since enrolment to report.
    wide
        False (default): tidy long frame; True: a pivot with one row per
        cohort and one column ``week_<w>`` per week (retained share).

    Returns
    -------
    pandas.DataFrame
        Long: ``cohort`` (enrolment month, ``YYYY-MM``), ``week``,
        ``n_enrolled`` (members of the cohort who attended at least once),
        ``n_observed`` (whose status at ``week`` is known: dropped by then
        or followed for at least ``week`` weeks), ``retained`` (observed
        and not dropped by ``week``), ``retained_share`` = retained /
        observed (NaN when nobody is observed yet).

    Notes
    -----
    Dropped by week ``w`` means an event time :math:`\\le w` (as
    :math:`\\hat S(w)` counts it).  Members enrolled before their group's
    first session in the data (late entry) and members who never attended
    are left out: their early weeks are not observed.
    """
    dropout = as_dropout(dropout)
    summ = member_summary(dataset, dropout, stacklevel=2)
    keep, _ = _curve_members(summ)
    keep &= summ["entry_weeks"].to_numpy(float) <= 0
    m = summ.loc[keep]
    enr = dataset.members["enrolled_on"].reset_index(drop=True).loc[m.index]
    cohort = enr.dt.to_period("M").astype(str).to_numpy()
    t = m["event_time_weeks"].to_numpy(float)
    ev = ~m["censored"].to_numpy(bool)
    weeks = np.asarray(list(weeks), dtype=float)
    cw = np.repeat(cohort, len(weeks))
    wk = np.tile(weeks, len(m))
    tt = np.repeat(t, len(weeks))
    ee = np.repeat(ev, len(weeks))
    dropped_by = ee & (tt <= wk)
    observed = dropped_by | (tt >= wk)
    long = pd.DataFrame({"cohort": cw, "week": wk, "observed": observed, "retained": observed & ~dropped_by,
                         "one": 1})
    out = long.groupby(["cohort", "week"], sort=True).agg(n_enrolled=("one", "sum"), n_observed=("observed", "sum"),
                                                          retained=("retained", "sum")).reset_index()
    out["retained_share"] = np.where(out["n_observed"] > 0, out["retained"] / out["n_observed"].clip(lower=1), np.nan)
    out = out[["cohort", "week", "n_enrolled", "n_observed", "retained", "retained_share"]]
    if wide:
        piv = out.pivot(index="cohort", columns="week", values="retained_share")
        piv.columns = [f"week_{_time_label(w)}" for w in piv.columns]
        n = out.groupby("cohort")["n_enrolled"].first()
        piv.insert(0, "n_enrolled", n)
        return piv.reset_index()
    return out


# ---------------------------------------------------------------------------
# attrition
# ---------------------------------------------------------------------------
def smd_continuous(x1: Any, x0: Any) -> float:
    """Standardised mean difference of a continuous variable (Austin 2009).

    :math:`d = (\\bar x_1 - \\bar x_0) / \\sqrt{(s_1^2 + s_0^2)/2}` with sample
    variances (ddof = 1), NaN ignored; signed (group 1 minus group 0).
    As R tableone's ``ExtractSmd`` (which reports :math:`|d|`).
    """
    a = pd.Series(x1, dtype=float).dropna()
    b = pd.Series(x0, dtype=float).dropna()
    den = np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
    return float((a.mean() - b.mean()) / den) if den > 0 else np.nan


def smd_categorical(x1: Any, x0: Any) -> float:
    """Standardised difference of a categorical variable (Yang & Dalton 2012; tableone).

    With :math:`T`, :math:`C` the level proportions (first level dropped),
    :math:`S_{kk} = [T_k(1-T_k) + C_k(1-C_k)]/2` and
    :math:`S_{kl} = -[T_k T_l + C_k C_l]/2`:
    :math:`d = \\sqrt{(T-C)^T S^{-1} (T-C)}` (non-negative; for two levels
    :math:`|p_1 - p_0| / \\sqrt{[p_1(1-p_1)+p_0(1-p_0)]/2}`).
    """
    a = pd.Series(x1, dtype=object).dropna().astype(str)
    b = pd.Series(x0, dtype=object).dropna().astype(str)
    levels = sorted(set(a) | set(b))
    if len(levels) < 2 or not len(a) or not len(b):
        return np.nan
    T = a.value_counts(normalize=True).reindex(levels, fill_value=0).to_numpy()[1:]
    C = b.value_counts(normalize=True).reindex(levels, fill_value=0).to_numpy()[1:]
    S = -(np.outer(T, T) + np.outer(C, C)) / 2
    np.fill_diagonal(S, (T * (1 - T) + C * (1 - C)) / 2)
    diff = T - C
    if not np.any(diff):
        return 0.0
    val = float(diff @ np.linalg.pinv(S) @ diff)
    return float(np.sqrt(max(val, 0.0)))


class AttritionResult(Result):
    """Who drops out: baseline differences and follow-up survey completion.

    Attributes
    ----------
    smd : DataFrame
        One row per variable (``level`` NaN) and per level of a categorical
        variable: ``variable``, ``level``, ``kind`` (``continuous`` /
        ``categorical``), ``n_dropped``, ``n_stayed``, ``mean_dropped``,
        ``sd_dropped``, ``mean_stayed``, ``sd_stayed`` (for a level: its
        share in each arm, sd NaN), ``smd`` (variable rows; signed dropped
        minus stayed for continuous, non-negative multi-level SMD for
        categorical; NaN on level rows).
    completion : DataFrame
        Follow-up survey completion: ``timepoint``, ``due_weeks``,
        ``n_expected``, ``n_completed``, ``completion_rate``, ``target``,
        ``meets_target``, ``shortfall`` (completions missing to reach the
        target).
    """

    _title = "Attrition"

    def __init__(self, smd: pd.DataFrame, completion: pd.DataFrame, target: float):
        self.smd = smd
        self.completion = completion
        self.target = target

    @property
    def summary(self) -> pd.DataFrame:
        return self.smd[self.smd["level"].isna()].reset_index(drop=True)

    def __repr__(self) -> str:
        return (f"{self._title}\n{self.summary.to_string(index=False)}\n\nfollow-up completion (target "
                f"{self.target:.0%})\n{self.completion.to_string(index=False)}")

    def _repr_html_(self) -> str:
        return (f"<p><b>{self._title}</b></p>" + self.summary.to_html(index=False)
                + "<p>Follow-up completion</p>" + self.completion.to_html(index=False))


_DUE_RE = re.compile(r"(?:^|_)(week|weeks|wk|w|month|months|m)_?(\d+)$", re.I)


def _due_weeks(tp: str) -> float:
    m = _DUE_RE.search(str(tp))
    if not m:
        return np.nan
    unit, num = m.group(1).lower(), float(m.group(2))
    return num if unit.startswith("w") else num * 52.0 / 12.0


def _completed(dataset: Dataset, scores: Any) -> pd.DataFrame:
    """(member_id, timepoint) pairs with a completed survey."""
    if scores is not None:
        frames = scores.values() if isinstance(scores, Mapping) else [scores]
        parts = [f.loc[f["score"].notna(), ["member_id", "timepoint"]] for f in frames]
        done = pd.concat(parts, ignore_index=True)
    else:
        r = dataset.responses
        meta = {"member_id", "timepoint", "completed_on", "group_id"}
        items = [c for c in r.columns if c not in meta and not str(c).startswith("_")]
        has = r[items].notna().any(axis=1) if items else pd.Series(True, index=r.index)
        done = r.loc[has, ["member_id", "timepoint"]]
    return done.assign(member_id=done["member_id"].astype(str), timepoint=done["timepoint"].astype(str)
                       ).drop_duplicates()


def attrition(dataset: Dataset, scores: pd.DataFrame | Mapping[str, pd.DataFrame] | None = None, *,
              covariates: Sequence[str] | None = None, dropout: Dropout | str | Mapping | None = None,
              target: float = 0.8, due: Mapping[str, float] | None = None) -> AttritionResult:
    """Baseline differences between members who dropped out and those who stayed,
    and follow-up survey completion against a target.

    Parameters
    ----------
    dataset
        A :class:`~groupeval.Dataset`.
    scores
        Output of :func:`groupeval.score` (or a dict ``{name: scores}``);
        baseline scores enter the SMD table as continuous variables, and
        completion counts a survey as done when its score is not missing.
        Without scores, a survey is done when any item is answered.
    covariates
        Member/group columns to compare; default every extra member column
        (e.g. ``age_band``, ``gender``) plus ``group_type`` and
        ``facilitation``.
    dropout
        Dropout rule.
    target
        Completion target (default 0.8, the usual 80 % follow-up rule).
    due
        Weeks after enrolment at which each timepoint is due; parsed from
        names like ``week_12`` or ``month_6`` by default.  Members enrolled
        less than ``due`` weeks before the cut-off are not yet expected.

    Returns
    -------
    AttritionResult
        ``.smd``, ``.completion``, ``.summary`` (the variable rows of ``.smd``).

    Notes
    -----
    Dropped = status ``dropped`` under the rule; stayed = ``active`` or
    ``completed``.  SMD per Austin (2009); categorical SMD per Yang & Dalton
    (2012) as R ``tableone::ExtractSmd``.  |SMD| > 0.1 is the usual flag of
    an imbalance.  Expected for a follow-up: members with a completed
    baseline (first timepoint) for whom the timepoint is due by the cut-off.

    In R: ``ExtractSmd(CreateTableOne(vars, strata = "dropped", data = d))``.
    """
    if not (0 < float(target) <= 1):
        raise ConfigError(f"`target` must be a share between 0 and 1, got {target!r}.")
    dropout = as_dropout(dropout)
    summ = member_summary(dataset, dropout, stacklevel=2)
    mem = dataset.members
    if covariates is None:
        skip = {"member_id", "group_id", "enrolled_on", "exited_on", "exit_reason"}
        covariates = [c for c in mem.columns if c not in skip and not str(c).startswith("_")]
        covariates += [c for c in ("group_type", "facilitation") if c in dataset.groups.columns]
    covariates = list(covariates)
    summ = _attach(summ, dataset, covariates, what="covariates")
    bs = _baseline_scores(scores, dataset)
    score_cols = [c for c in bs.columns if c != "member_id"]
    if score_cols:
        summ = summ.assign(member_id=summ["member_id"].astype(str)).merge(bs, on="member_id", how="left")
    dropped = (summ["status"] == "dropped").to_numpy()
    rows = []
    for var in covariates + score_cols:  # a handful of variables
        s = summ[var]
        a, b = s[dropped], s[~dropped]
        numeric = s.dtype.kind in "iuf" and s.dtype != bool
        if numeric:
            rows.append({"variable": var, "level": np.nan, "kind": "continuous",
                         "n_dropped": int(a.notna().sum()), "n_stayed": int(b.notna().sum()),
                         "mean_dropped": a.mean(), "sd_dropped": a.std(ddof=1),
                         "mean_stayed": b.mean(), "sd_stayed": b.std(ddof=1), "smd": smd_continuous(a, b)})
        else:
            aa = a.dropna().astype(str)
            bb = b.dropna().astype(str)
            rows.append({"variable": var, "level": np.nan, "kind": "categorical",
                         "n_dropped": len(aa), "n_stayed": len(bb), "mean_dropped": np.nan, "sd_dropped": np.nan,
                         "mean_stayed": np.nan, "sd_stayed": np.nan, "smd": smd_categorical(aa, bb)})
            for lev in sorted(set(aa) | set(bb)):
                rows.append({"variable": var, "level": lev, "kind": "categorical",
                             "n_dropped": int((aa == lev).sum()), "n_stayed": int((bb == lev).sum()),
                             "mean_dropped": float((aa == lev).mean()) if len(aa) else np.nan, "sd_dropped": np.nan,
                             "mean_stayed": float((bb == lev).mean()) if len(bb) else np.nan, "sd_stayed": np.nan,
                             "smd": np.nan})
    smd = pd.DataFrame(rows, columns=["variable", "level", "kind", "n_dropped", "n_stayed", "mean_dropped",
                                      "sd_dropped", "mean_stayed", "sd_stayed", "smd"])
    completion = _completion(dataset, scores, target=float(target), due=due)
    return AttritionResult(smd, completion, float(target))


def _completion(dataset: Dataset, scores: Any, *, target: float, due: Mapping[str, float] | None) -> pd.DataFrame:
    tps = list(dataset.timepoints) or sorted(dataset.responses["timepoint"].astype(str).unique().tolist())
    done = _completed(dataset, scores)
    if not tps:
        return pd.DataFrame(columns=["timepoint", "due_weeks", "n_expected", "n_completed", "completion_rate",
                                     "target", "meets_target", "shortfall"])
    base = set(done.loc[done["timepoint"] == tps[0], "member_id"])
    mem = dataset.members.assign(member_id=dataset.members["member_id"].astype(str))
    enr = mem.groupby("member_id")["enrolled_on"].min()
    cut = dataset.data_cutoff
    rows = []
    for tp in tps[1:]:  # a handful of timepoints
        dw = float(due[tp]) if due and tp in due else _due_weeks(tp)
        ids = pd.Index(sorted(base))
        if np.isfinite(dw):
            e = enr.reindex(ids)
            ids = ids[(e + pd.to_timedelta(dw * 7, unit="D") <= cut).to_numpy()]
        got = set(done.loc[done["timepoint"] == tp, "member_id"])
        n_exp = len(ids)
        n_done = int(ids.isin(list(got)).sum())
        rate = n_done / n_exp if n_exp else np.nan
        rows.append({"timepoint": tp, "due_weeks": dw, "n_expected": n_exp, "n_completed": n_done,
                     "completion_rate": rate, "target": target,
                     "meets_target": bool(rate >= target) if n_exp else False,
                     "shortfall": int(max(0, int(np.ceil(target * n_exp - 1e-9)) - n_done))})
    return pd.DataFrame(rows, columns=["timepoint", "due_weeks", "n_expected", "n_completed", "completion_rate",
                                       "target", "meets_target", "shortfall"])


# ---------------------------------------------------------------------------
# participant flow
# ---------------------------------------------------------------------------
def participant_flow(dataset: Dataset, scores: pd.DataFrame | Mapping[str, pd.DataFrame] | None = None, *,
                     dropout: Dropout | str | Mapping | None = None, analysed: str | None = None) -> pd.DataFrame:
    """Participant-flow counts (CONSORT-style), people not enrolments.

    Stages: ``enrolled`` → ``attended`` (at least one session) →
    ``baseline`` (baseline survey completed, among those who attended) → one
    stage per follow-up timepoint (survey completed, among those with a
    baseline) → ``analysed`` (baseline and the ``analysed`` timepoint, by
    default the last, both completed).

    Parameters
    ----------
    dataset
        A :class:`~groupeval.Dataset`.
    scores
        Output of :func:`groupeval.score` (or ``{name: scores}``); a survey
        counts when its score is present.  Without it, when any item is
        answered.
    dropout
        Dropout rule (only "attended at least once" depends on its
        ``excused`` setting).
    analysed
        Timepoint that defines the analysed set (default the last).

    Returns
    -------
    pandas.DataFrame
        ``stage``, ``label``, ``n``, ``reference`` (the stage it is a
        subset of), ``n_lost`` (reference minus this stage),
        ``share_of_reference``, ``share_of_enrolled``.
    """
    dropout = as_dropout(dropout)
    summ = member_summary(dataset, dropout, stacklevel=2)
    ids = summ["member_id"].astype(str)
    enrolled = set(ids)
    attended = set(ids[~summ["never_attended"].to_numpy(bool)])
    done = _completed(dataset, scores)
    tps = list(dataset.timepoints) or sorted(done["timepoint"].unique().tolist())
    by_tp = {tp: set(done.loc[done["timepoint"] == tp, "member_id"]) for tp in tps}
    stages = [("enrolled", "Enrolled", enrolled, None), ("attended", "Attended at least one session", attended,
                                                          "enrolled")]
    if tps:
        base = attended & by_tp[tps[0]]
        stages.append(("baseline", f"Completed the {tps[0]} survey", base, "attended"))
        for tp in tps[1:]:
            stages.append((tp, f"Completed the {tp} survey", base & by_tp[tp], "baseline"))
        last = analysed or tps[-1]
        if last not in by_tp:
            raise ConfigError(f"`analysed` must be one of the timepoints {tps}, got {analysed!r}.")
        stages.append(("analysed", f"Analysed (baseline and {last})", base & by_tp[last], "baseline"))
    n = {s: len(v) for s, _, v, _ in stages}
    rows = []
    for s, label, v, ref in stages:
        nr = n[ref] if ref else len(v)
        rows.append({"stage": s, "label": label, "n": len(v), "reference": ref, "n_lost": nr - len(v),
                     "share_of_reference": len(v) / nr if nr else np.nan,
                     "share_of_enrolled": len(v) / n["enrolled"] if n["enrolled"] else np.nan})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------
# sensitivity
# ---------------------------------------------------------------------------
def retention_sensitivity(dataset: Dataset, rules: Mapping[str, Dropout | str | Mapping] | None = None, *,
                          times: Sequence[float] = (12, 26), by: str | None = None,
                          alpha: float = 0.05) -> pd.DataFrame:
    """Retention at chosen weeks under several dropout rules, side by side.

    Parameters
    ----------
    dataset
        A :class:`~groupeval.Dataset`.
    rules
        ``{label: rule}``; default: every preset in
        :data:`groupeval.engagement.DROPOUT_PRESETS`.
    times
        Weeks (default 12 and 26).
    by
        Optional stratifying column (as :func:`retention`).
    alpha
        1 - confidence level.

    Returns
    -------
    pandas.DataFrame
        ``rule``, ``description``, (``by``), ``time``, ``n``, ``events``,
        ``at_risk``, ``retention``, ``ci_low``, ``ci_high``.
    """
    rules = dict(DROPOUT_PRESETS) if rules is None else dict(rules)
    if not rules:
        raise ConfigError("`rules` is empty; pass e.g. {'3 misses': Dropout(), '2 misses': 'strict'}.")
    frames = []
    for label, rule in rules.items():  # a handful of rules
        rule = as_dropout(rule)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SmallSampleWarning)
            res = retention(dataset, by=by, dropout=rule, times=times, alpha=alpha)
        at = res.at(times)
        ns = res.summary.set_index(by)[["n", "events"]] if by else res.summary[["n", "events"]]
        if by:
            at = at.merge(ns, left_on=by, right_index=True, how="left")
        else:
            at["n"] = int(ns["n"].iloc[0]) if len(ns) else 0
            at["events"] = int(ns["events"].iloc[0]) if len(ns) else 0
        at.insert(0, "description", rule.describe())
        at.insert(0, "rule", label)
        frames.append(at)
    out = pd.concat(frames, ignore_index=True)
    cols = ["rule", "description", *([by] if by else []), "time", "n", "events", "at_risk", "retention",
            "ci_low", "ci_high"]
    return out[cols]


