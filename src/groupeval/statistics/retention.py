"""Retention: Kaplan–Meier curves with late entry, group-clustered intervals and the clustered comparison.

Every function takes a :class:`~groupeval.Dataset` and a dropout rule
(``dropout=``, see :class:`groupeval.engagement.Dropout`) and starts from
:func:`groupeval.attendance_summary`, which fixes the event time (last
attended session before dropout, in weeks since enrolment), the censoring
time (exit of completers; the group's last session in the data for members
still active) and the late-entry time (weeks from enrolment to the group's
first session in the data).  Members who never attended are left out of the
curves and counted in :func:`participant_flow`.

Members are nested in groups, so the comparison between levels of ``by`` is
the robust score (log-rank) test clustered by group (none with fewer than 6
groups, with the reason), the member-level log-rank is kept as a labelled
secondary result, and every curve carries a group-clustered interval beside
Greenwood's.  Everything is groupeval's own code (no lifelines), vectorised
and checked against R ``survival`` (``tests/reference/retention_km.R``,
``tests/reference/survival_cluster.R``); docs/retention.md says which method
is used when, and why.  Cox models are in :mod:`.cox`, cohort tables,
attrition and flow in :mod:`.flow`.
"""
from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
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
from ._survival_core import MIN_AT_RISK_MEDIAN, MIN_CLUSTERS_LARGE_SAMPLE, MIN_CLUSTERS_TEST, MIN_GROUPS_PER_LEVEL
from .dropout import Dropout, as_dropout
from .engagement import member_summary
from .results import Result
from .survival import LOGRANK_SECONDARY, _median, _step_at, ci_level, clustered_comparison, kaplan_meier
from .survival_cluster import median_reportable

__all__ = ["RetentionResult", "retention", "MIN_AT_RISK_MEDIAN", "MIN_CLUSTERS_TEST", "MIN_CLUSTERS_LARGE_SAMPLE",
           "MIN_GROUPS_PER_LEVEL"]

DEFAULT_TIMES = (4, 8, 12, 26)
_AT_COLUMNS = ("at_risk", "retention", "ci_low", "ci_high", "ci_low_cluster", "ci_high_cluster", "std_err",
               "std_err_cluster", "events", "censored", "reason")
_TABLE_COLUMNS = ["time", "at_risk", "events", "censored", "retention", "ci_low", "ci_high", "std_err",
                  "ci_low_cluster", "ci_high_cluster", "std_err_cluster", "n_groups", "df_cluster"]


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
class _SummaryField(Result):
    """Lets a dataclass declare ``summary`` as a field: this plain class attribute shadows the read-only
    :attr:`Result.summary` property, so the generated ``__init__`` can set it."""

    summary: Any = None


@dataclass(frozen=True, kw_only=True, eq=False, repr=False)
class RetentionResult(_SummaryField):
    """Kaplan–Meier retention per level of ``by``, with the comparison between levels clustered by group.

    Attributes
    ----------
    table : DataFrame
        The step function: ``time`` (weeks since enrolment), ``at_risk``,
        ``events``, ``censored``, ``retention``, ``ci_low``, ``ci_high``
        (log-log, Greenwood), ``std_err`` (Greenwood, of log S),
        ``ci_low_cluster``, ``ci_high_cluster``, ``std_err_cluster``
        (group-clustered robust variance; t reference on ``df_cluster``),
        ``n_groups``, ``df_cluster``, plus the ``by`` column first when
        ``by`` is given.  One row per time with an event or a censoring, as
        R's ``summary(fit, censored = TRUE)``.
    summary : DataFrame
        One row per level of ``by`` (one row overall without ``by``): ``n``
        (members in the curve), ``events``, ``censored``, ``late_entries``,
        ``n_groups`` (groups with members in the curve), ``df_cluster`` (df
        of the clustered interval: :math:`G-1` below
        ``MIN_CLUSTERS_LARGE_SAMPLE`` groups, inf = normal, NaN with one
        group), ``median_weeks``, ``median_ci_low``, ``median_ci_high``,
        ``median_reason`` ("" when the median is reported; NaN median: not
        reached, or fewer than ``min_at_risk`` at risk where the curve crosses
        one half), then for every time ``t`` in ``times``:
        ``retention_<t>w``, ``retention_<t>w_ci_low``,
        ``retention_<t>w_ci_high`` (Greenwood), ``retention_<t>w_ci_low_cluster``,
        ``retention_<t>w_ci_high_cluster``; NaN after the level's last
        follow-up (reason in :attr:`notes`).
    test : DataFrame or None
        The comparison between the levels of ``by`` (one row; None without
        ``by``): ``test``, ``method``, ``statistic``, ``df``, ``df_denom``,
        ``reference``, ``p_value``, ``n_groups``, ``min_groups_per_level``,
        ``valid``, ``reason`` (see :func:`groupeval.statistics.survival.clustered_comparison`).
        When ``valid`` is False there is no test to report (numbers NaN).
    tests : DataFrame or None
        Every test computed for the comparison, with its ``role``
        (``primary``, ``cross-check``, ``alternative``, ``secondary``).
    logrank : DataFrame or None
        The member-level log-rank test (secondary: it ignores the grouping):
        ``test``, ``statistic``, ``df``, ``p_value``, ``method``, ``role``.
    notes : DataFrame
        Why a number is NaN: (``by``), ``quantity`` (``retention``,
        ``median``, ``ci_cluster``, ``curve``), ``time`` (NaN when not a
        time), ``reason``.
    at_risk : DataFrame
        ``time``, ``at_risk``, ``events`` (cumulative), ``censored``
        (cumulative) every 4 weeks from 0 (+ ``by`` column), for the
        at-risk table under the plot.
    members : DataFrame
        The curve's input: ``member_id``, ``group_id``, (``by``), (the
        cluster column), ``entry_weeks``, ``time_weeks``, ``event``.
    excluded : dict
        Members left out of the curve by reason: ``never_attended``,
        ``ends_at_entry`` (late entrant whose last attended session is the
        first session in the data: no time at risk), ``missing_by``, ...
    n_groups : int
        Groups (clusters) among the members in the curves.
    methods : tuple of str
        Method keys used (``kaplan_meier``, ``greenwood``,
        ``km_cluster_variance``, ``late_entry``, ``robust_score_logrank``,
        ``logrank``).
    by, times, ci, dropout, cluster, min_at_risk
        The arguments used.
    """

    table: pd.DataFrame
    summary: pd.DataFrame
    test: pd.DataFrame | None
    tests: pd.DataFrame | None
    logrank: pd.DataFrame | None
    notes: pd.DataFrame
    members: pd.DataFrame
    excluded: dict[str, int]
    by: str | None
    times: tuple[float, ...]
    ci: float
    dropout: Dropout
    cluster: str
    n_groups: int
    min_at_risk: int
    methods: tuple[str, ...]
    at_risk: pd.DataFrame = field(init=False)

    _plotter = "plot_retention"
    _title = "Retention (Kaplan–Meier)"

    def __post_init__(self) -> None:
        grid = np.arange(0, self._max_time() + 4, 4.0)
        object.__setattr__(self, "at_risk", self.at(grid, columns=("at_risk", "events", "censored")))

    @property
    def alpha(self) -> float:
        """Deprecated: ``1 - ci``."""
        warnings.warn("RetentionResult.alpha is deprecated; use .ci (the confidence level).", DeprecationWarning,
                      stacklevel=2)
        return 1.0 - self.ci

    @property
    def levels(self) -> list:
        """The levels of ``by`` (``[None]`` without ``by``)."""
        if self.by is None:
            return [None]
        return list(self.summary[self.by])

    def _max_time(self) -> float:
        return float(self.members["time_weeks"].max()) if len(self.members) else 0.0

    def curve(self, level: Any = None) -> pd.DataFrame:
        """The step function of one level (all rows without ``by``)."""
        if self.by is None:
            return self.table
        return self.table[self.table[self.by] == level].drop(columns=[self.by]).reset_index(drop=True)

    def at(self, times: Iterable[float], columns: Sequence[str] = ("at_risk", "retention", "ci_low", "ci_high"),
           *, extend: bool = False) -> pd.DataFrame:
        """Retention, its CIs and the number at risk at chosen times (weeks).

        Parameters
        ----------
        times
            Weeks since enrolment.
        columns
            Any of ``at_risk``, ``retention``, ``ci_low``, ``ci_high``,
            ``ci_low_cluster``, ``ci_high_cluster``, ``std_err``,
            ``std_err_cluster``, ``events``, ``censored``, ``reason``.
        extend
            False (default): retention and its intervals are NaN after the
            level's last follow-up, with the reason in ``reason``; True: the
            last value is carried forward, as R's ``summary(fit, times = t,
            extend = TRUE)``.

        Notes
        -----
        ``at_risk`` at ``t`` is the number at risk at the first curve time
        ``>= t`` (members with ``entry < t' <= time``; 0 after the last), as
        R's ``summary(fit, times = t)``; ``retention`` is the step function's
        value at ``t`` (1 before the first row; CI 1 there and NaN on later rows
        where S = 1, as R); ``events``/``censored`` are cumulative up to ``t``.
        """
        times_a = np.asarray(list(times), dtype=float)
        bad = [c for c in columns if c not in _AT_COLUMNS]
        if bad:
            raise ConfigError(f"RetentionResult.at: unknown column(s) {bad}; choose from {', '.join(_AT_COLUMNS)}.")
        frames = []
        for level in self.levels:  # a handful of strata
            m = self.members if self.by is None else self.members[self.members[self.by] == level]
            f = pd.DataFrame(_values_at(self.curve(level), m, times_a, columns, extend=extend))
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
        lines = [f"{self._title}; dropout rule: {self.dropout.describe()}; {self.n_groups} group(s)",
                 self.summary.to_string(index=False)]
        if self.test is not None:
            t = self.test.iloc[0]
            if bool(t["valid"]):
                lines.append(f"{t['method']}: chi2 = {t['statistic']:.4g}, df = {t['df']:g}, p = {t['p_value']:.4g}, "
                             f"{t['n_groups']} groups")
            else:
                lines.append(f"no test between levels: {t['reason']}")
        if self.logrank is not None:
            lr = self.logrank.iloc[0]
            lines.append(f"{LOGRANK_SECONDARY}: chi2 = {lr['statistic']:.4g}, df = {lr['df']:g}, "
                         f"p = {lr['p_value']:.4g}")
        if any(self.excluded.values()):
            lines.append("left out of the curve: " + ", ".join(f"{k}={v}" for k, v in self.excluded.items() if v))
        for r in self.notes.itertuples(index=False):  # a few notes
            lines.append(f"note: {r.quantity}{'' if np.isnan(r.time) else f' at {r.time:g} weeks'}: {r.reason}")
        return "\n".join(lines)


def _after_follow_up(last: float) -> str:
    return f"after the last follow-up (week {last:g}): not observed"


def _values_at(tab: pd.DataFrame, m: pd.DataFrame, times: np.ndarray, columns: Sequence[str], *,
               extend: bool) -> dict[str, Any]:
    """The columns of :meth:`RetentionResult.at` for one level."""
    row: dict[str, Any] = {"time": times}
    before = 1.0 if len(m) else np.nan            # nobody in the curve: no estimate
    last = float(tab["time"].max()) if len(tab) else np.nan
    beyond = (times > last) if (len(tab) and not extend) else np.zeros(len(times), dtype=bool)
    tt = m["time_weeks"].to_numpy(float)
    ev = m["event"].to_numpy(bool)
    for c in columns:
        if c == "at_risk":  # as R's summary(fit, times=): at risk at the next curve time >= t
            nxt = np.searchsorted(tab["time"].to_numpy(float), times, "left")
            ar = tab["at_risk"].to_numpy(np.int64)
            row[c] = np.where(nxt < len(ar), ar[np.minimum(nxt, max(len(ar) - 1, 0))] if len(ar) else 0, 0)
        elif c in ("retention", "ci_low", "ci_high", "ci_low_cluster", "ci_high_cluster"):
            first = before if (c == "retention" or c in tab.columns) else np.nan
            vals = _step_at(tab, times, c, first) if c in tab.columns else np.full(len(times), np.nan)
            if c.endswith("_cluster") and len(tab) and not np.isfinite(tab["df_cluster"].iloc[0]):
                vals = np.full(len(times), np.nan)     # one group: no clustered interval at all
            row[c] = np.where(beyond, np.nan, vals)
        elif c in ("std_err", "std_err_cluster"):
            vals = _step_at(tab, times, c, 0.0 if len(m) else np.nan)
            row[c] = np.where(beyond, np.nan, vals)
        elif c == "events":
            row[c] = np.searchsorted(np.sort(tt[ev]), times, "right").astype(np.int64)
        elif c == "censored":
            row[c] = np.searchsorted(np.sort(tt[~ev]), times, "right").astype(np.int64)
        elif c == "reason":
            row[c] = np.where(beyond, _after_follow_up(last), "" if len(m) else "no members in the curve")
    return row


def _time_label(t: float) -> str:
    return f"{t:g}".replace(".", "_").replace("-", "m")


# ---------------------------------------------------------------------------
# retention()
# ---------------------------------------------------------------------------
def _check_args(times: Sequence[float], min_at_risk: int) -> tuple[float, ...]:
    try:
        out = tuple(float(t) for t in times)
    except (TypeError, ValueError):
        raise ConfigError(f"`times` must be a list of numbers of weeks, got {times!r}.") from None
    if any(not np.isfinite(t) or t < 0 for t in out):
        raise ConfigError(f"`times` must be non-negative weeks, got {times!r}.")
    if isinstance(min_at_risk, bool) or not isinstance(min_at_risk, (int, np.integer)) or min_at_risk < 0:
        raise ConfigError(f"`min_at_risk` must be a whole number of members (>= 0), got {min_at_risk!r}.")
    return out


def _member_frame(dataset: Dataset, by: str | None, cluster: str, dropout: Dropout
                  ) -> tuple[pd.DataFrame, dict[str, int]]:
    """The curve's input (one row per member in the curve) and who is left out, by reason."""
    summ = member_summary(dataset, dropout, stacklevel=3)
    if by is not None and not isinstance(by, str):
        raise ConfigError(f"`by` must be one column name, got {by!r}.")
    if not isinstance(cluster, str):
        raise ConfigError(f"`cluster` must be one column name (default 'group_id'), got {cluster!r}.")
    need = [c for c in dict.fromkeys([by, cluster]) if c is not None]
    if by is not None:
        summ = _attach(summ, dataset, [by], what="by")
    summ = _attach(summ, dataset, [cluster], what="cluster")
    keep, excluded = _curve_members(summ)
    if by is not None:
        miss = summ[by].isna().to_numpy()
        excluded["missing_by"] = int((keep & miss).sum())
        keep &= ~miss
    miss_c = summ[cluster].isna().to_numpy()
    if cluster != "group_id" or miss_c.any():
        excluded["missing_cluster"] = int((keep & miss_c).sum())
        keep &= ~miss_c
    m = summ.loc[keep]
    extra = {c: m[c].to_numpy() for c in need if c != "group_id"}
    members = pd.DataFrame({"member_id": m["member_id"].to_numpy(), "group_id": m["group_id"].to_numpy(), **extra,
                            "entry_weeks": m["entry_weeks"].to_numpy(float),
                            "time_weeks": m["event_time_weeks"].to_numpy(float),
                            "event": ~m["censored"].to_numpy(bool)})
    if excluded["ends_at_entry"]:
        warnings.warn(f"{excluded['ends_at_entry']} late-entry member(s) last attended at their group's first "
                      "session in the data and add no time at risk; they are left out of the curve "
                      "(see result.excluded).", DataQualityWarning, stacklevel=3)
    return members, excluded


def _median_row(tab: pd.DataFrame, min_at_risk: int) -> tuple[dict[str, Any], str]:
    med, mlo, mhi = _median(tab)
    reason = ""
    if not len(tab):
        reason = "no members in the curve"
    elif np.isnan(med):
        reason = f"not reached within {float(tab['time'].max()):g} weeks of follow-up"
    else:
        ok, why = median_reportable(tab, min_at_risk)
        if not ok:
            med = mlo = mhi = np.nan
            reason = why.replace("where the curve crosses 0.5", "where retention fell to one half")
    return {"median_weeks": med, "median_ci_low": mlo, "median_ci_high": mhi, "median_reason": reason}, reason


def _km_level(mm: pd.DataFrame, level: Any, by: str | None, cluster: str, times: tuple[float, ...], ci: float,
              min_at_risk: int) -> tuple[pd.DataFrame, dict[str, Any], list[dict[str, Any]]]:
    """Curve, summary row and notes of one level (clusters nested in the level)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tab = kaplan_meier(mm["time_weeks"], mm["event"], mm["entry_weeks"], cluster=mm[cluster], ci=ci)
    for w in caught:  # re-issued so that they point at the caller of retention()
        warnings.warn(str(w.message).replace("km_clustered:", "retention:"), w.category, stacklevel=3)
    note, zero_at = tab.attrs.get("note", ""), tab.attrs.get("zero_at", np.nan)
    tab = tab[_TABLE_COLUMNS]
    G = int(mm[cluster].nunique())
    notes: list[dict[str, Any]] = []
    med, med_reason = _median_row(tab, min_at_risk)
    if med_reason:
        notes.append({"quantity": "median", "time": np.nan, "reason": med_reason})
    if note and np.isfinite(zero_at):
        notes.append({"quantity": "curve", "time": zero_at, "reason": note + "; see kaplan_meier(start_time=)"})
    elif note and len(mm):
        notes.append({"quantity": "ci_cluster", "time": np.nan, "reason": note})
    df_c = float(tab["df_cluster"].iloc[0]) if len(tab) else np.nan
    row: dict[str, Any] = {} if by is None else {by: level}
    row.update(n=len(mm), events=int(mm["event"].sum()), censored=int((~mm["event"]).sum()),
               late_entries=int((mm["entry_weeks"] > 0).sum()), n_groups=G, df_cluster=df_c, **med)
    vals = _values_at(tab, mm, np.asarray(times), ("retention", "ci_low", "ci_high", "ci_low_cluster",
                                                    "ci_high_cluster", "reason"), extend=False)
    for j, t in enumerate(times):
        lab = _time_label(t)
        for c, suffix in (("retention", ""), ("ci_low", "_ci_low"), ("ci_high", "_ci_high"),
                          ("ci_low_cluster", "_ci_low_cluster"), ("ci_high_cluster", "_ci_high_cluster")):
            row[f"retention_{lab}w{suffix}"] = vals[c][j]
        if vals["reason"][j]:
            notes.append({"quantity": "retention", "time": t, "reason": str(vals["reason"][j])})
    if len(mm) < 10:
        warnings.warn(f"retention: only {len(mm)} member(s) in the curve"
                      f"{'' if by is None else f' for {by} = {level!r}'}; estimates are unstable.",
                      SmallSampleWarning, stacklevel=3)
    if by is not None:
        tab = tab.assign(**{by: level})[[by, *_TABLE_COLUMNS]]
        notes = [{by: level, **n} for n in notes]
    return tab, row, notes


def _comparison(members: pd.DataFrame, by: str | None, cluster: str, n_levels: int
                ) -> tuple[pd.DataFrame | None, pd.DataFrame | None, pd.DataFrame | None]:
    """(.test, .tests, .logrank) across the levels of ``by``."""
    if by is None or n_levels < 2:
        return None, None, None
    row, tests = clustered_comparison(members["time_weeks"], members["event"], members[by], members[cluster],
                                      members["entry_weeks"], stacklevel=4)
    tests = tests.assign(n_groups=row["n_groups"])
    lr = tests.set_index("test").loc["logrank"]
    logrank = pd.DataFrame([{"test": "log-rank", "statistic": float(lr["statistic"]), "df": float(lr["df"]),
                             "p_value": float(lr["p_value"]), "method": LOGRANK_SECONDARY,
                             "role": "primary" if row["test"] == "logrank" else "secondary"}])
    return pd.DataFrame([row]), tests, logrank


def _methods(summary: pd.DataFrame, test: pd.DataFrame | None, logrank: pd.DataFrame | None) -> tuple[str, ...]:
    keys = ["kaplan_meier", "greenwood"]
    if len(summary) and np.isfinite(summary["df_cluster"].to_numpy(float)).any():
        keys.append("km_cluster_variance")
    if len(summary) and summary["late_entries"].sum() > 0:
        keys.append("late_entry")
    if test is not None and bool(test["valid"].iloc[0]) and test["test"].iloc[0] == "robust_score":
        keys.append("robust_score_logrank")
    if logrank is not None:
        keys.append("logrank")
    return tuple(keys)


def retention(dataset: Dataset, by: str | None = None, *, dropout: Dropout | str | Mapping | None = None,
              times: Sequence[float] = DEFAULT_TIMES, ci: float = 0.95, min_at_risk: int = MIN_AT_RISK_MEDIAN,
              cluster: str = "group_id", alpha: float | None = None) -> RetentionResult:
    """Kaplan–Meier retention (time in group until dropout), with late entry, clustered by group.

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
    ci
        Confidence level of every interval.
    min_at_risk
        Members that must be at risk where the curve falls to one half for
        the median to be reported (default ``MIN_AT_RISK_MEDIAN`` = 10; 0
        reports R's value whatever the number at risk).
    cluster
        Column of the groups members are nested in (default ``group_id``).
    alpha
        Deprecated: ``1 - ci``.

    Returns
    -------
    RetentionResult
        ``.table``, ``.summary``, ``.test`` (the clustered comparison),
        ``.logrank`` (member-level, secondary), ``.notes``, ``.at_risk``,
        ``.at(times)``, ``.plot()``.

    Notes
    -----
    Time origin: ``enrolled_on``.  Event: dropout (per the rule) at the last
    attended session; completers censored at exit, active members at their
    group's last session in the data.  Late entry: members enrolled before
    their group's first session in the data are at risk only after
    ``entry_weeks`` (left truncation; risk set :math:`entry < t \\le time`).
    Kaplan–Meier (Kaplan & Meier 1958) with log-log intervals from Greenwood's
    variance (Greenwood 1926; Kalbfleisch & Prentice 1980) and from the
    group-clustered robust variance (Therneau & Grambsch 2000, sec. 7.2;
    :math:`G/(G-1)` and :math:`t_{G-1}` below ``MIN_CLUSTERS_LARGE_SAMPLE`` = 30
    groups), with clusters nested in each level.  Median and its CI as R's
    ``quantile.survfit`` (Brookmeyer & Crowley 1982), NaN with a reason when
    fewer than ``min_at_risk`` members are at risk where the curve falls to
    one half (Pocock, Clayton & Altman 2002).  Retention at ``t`` is
    :math:`\\hat S(t)`: the share still attending *after* week ``t``; NaN
    after the level's last follow-up.  The comparison between levels is the
    robust score test clustered by group (Lin & Wei 1989; Jung & Jeong 2003)
    with at least ``MIN_CLUSTERS_TEST`` = 6 groups; see
    :func:`groupeval.statistics.survival.clustered_comparison`.

    In R::

        fit <- survfit(Surv(entry, time, event) ~ by, data = d, conf.type = "log-log")
        summary(fit, times = c(4, 8, 12, 26)); quantile(fit, 0.5)
        survfit(Surv(entry, time, event) ~ 1, data = d, cluster = group_id)   # clustered errors
        summary(coxph(Surv(entry, time, event) ~ by + cluster(group_id), ties = "breslow"))$robscore

    with ``entry`` set below 0 for members who are not left-truncated.

    Examples
    --------
    >>> import groupeval as ge
    >>> ds = ge.sample.generate(seed=1)
    >>> res = ge.retention(ds, by="group_type")
    >>> res.summary[["group_type", "n", "n_groups"]]
                   group_type   n  n_groups
    0                 12-step  63         3
    1        cancer survivors  51         3
    2  mental-health recovery  63         3
    3   postpartum depression  62         3
    >>> str(res.test["method"].iloc[0])
    'robust score log-rank test, clustered by group'

    ``res.test`` is the robust score test clustered by group; ``res.logrank``
    the member-level log-rank (secondary); ``res.plot()`` draws the curves.
    """
    level_ci = ci_level(ci, alpha, "retention")
    times = _check_args(times, min_at_risk)
    dropout = as_dropout(dropout)
    members, excluded = _member_frame(dataset, by, cluster, dropout)
    levels: list = [None] if by is None else sorted(members[by].dropna().unique().tolist(), key=str)
    if not levels:
        raise ConfigError(f"retention: `by` column {by!r} has no value for any of the {excluded['missing_by']} "
                          "member(s) in the curve; fill it in (members or groups table) or leave `by` out.")
    tables, rows, notes = [], [], []
    for level in levels:  # a handful of strata
        mm = members if by is None else members[members[by] == level]
        tab, row, nts = _km_level(mm, level, by, cluster, times, level_ci, int(min_at_risk))
        tables.append(tab)
        rows.append(row)
        notes.extend(nts)
    table = pd.concat(tables, ignore_index=True)
    summary = pd.DataFrame(rows)
    note_cols = ([by] if by is not None else []) + ["quantity", "time", "reason"]
    notes_f = pd.DataFrame(notes, columns=note_cols).astype({"time": float})
    test, tests, logrank = _comparison(members, by, cluster, len(levels))
    return RetentionResult(table=table, summary=summary, test=test, tests=tests, logrank=logrank, notes=notes_f,
                           members=members, excluded=excluded, by=by, times=times, ci=level_ci, dropout=dropout,
                           cluster=cluster, n_groups=int(members[cluster].nunique()), min_at_risk=int(min_at_risk),
                           methods=_methods(summary, test, logrank))
