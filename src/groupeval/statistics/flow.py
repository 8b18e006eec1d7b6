"""Cohort tables, attrition (baseline balance, follow-up completion), participant flow, dropout-rule sensitivity."""
from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..base.dataset import Dataset
from ..base.exceptions import (
    ConfigError,
    SmallSampleWarning,
)
from .cox import _baseline_scores
from .dropout import DROPOUT_PRESETS, Dropout, as_dropout
from .engagement import member_summary
from .results import Result
from .retention import _attach, _curve_members, _time_label, retention
from .survival import ci_level

__all__ = ["cohort_table", "smd_continuous", "smd_categorical", "AttritionResult", "attrition", "participant_flow",
           "retention_sensitivity"]


# ---------------------------------------------------------------------------
# cohort table
# ---------------------------------------------------------------------------
def cohort_table(dataset: Dataset, *, dropout: Dropout | str | Mapping | None = None,
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
    wks = np.asarray(list(weeks), dtype=float)
    cw = np.repeat(cohort, len(wks))
    wk = np.tile(wks, len(m))
    tt = np.repeat(t, len(wks))
    ee = np.repeat(ev, len(wks))
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


@dataclass(frozen=True, eq=False, repr=False)
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
    target : float
        The completion target.
    methods : tuple of str
        ``("smd",)``: standardised mean differences (Austin 2009; Yang &
        Dalton 2012).  Descriptive: no test, so nothing to cluster.
    """

    smd: pd.DataFrame
    completion: pd.DataFrame
    target: float
    methods: tuple[str, ...] = ("smd",)

    _title = "Attrition"

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
                          times: Sequence[float] = (12, 26), by: str | None = None, ci: float = 0.95,
                          alpha: float | None = None) -> pd.DataFrame:
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
    ci
        Confidence level.
    alpha
        Deprecated: ``1 - ci``.

    Returns
    -------
    pandas.DataFrame
        ``rule``, ``description``, (``by``), ``time``, ``n``, ``events``,
        ``n_groups``, ``df_cluster``, ``at_risk``, ``retention``, ``ci_low``, ``ci_high``
        (Greenwood), ``ci_low_cluster``, ``ci_high_cluster`` (group-clustered,
        as :func:`retention`), ``reason`` (why retention is NaN: after the last
        follow-up; ``""`` otherwise).

    Notes
    -----
    Each rule's numbers are those of :func:`retention` with that rule (same
    intervals, same NaN rules).  The rules are compared descriptively: they are
    different definitions applied to the same members, so no test between them.
    """
    level = ci_level(ci, alpha, "retention_sensitivity")
    rules = dict(DROPOUT_PRESETS) if rules is None else dict(rules)
    if not rules:
        raise ConfigError("`rules` is empty; pass e.g. {'3 misses': Dropout(), '2 misses': 'strict'}.")
    frames = []
    cols = ("at_risk", "retention", "ci_low", "ci_high", "ci_low_cluster", "ci_high_cluster", "reason")
    for label, rule in rules.items():  # a handful of rules
        rule = as_dropout(rule)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SmallSampleWarning)
            res = retention(dataset, by=by, dropout=rule, times=times, ci=level)
        at = res.at(times, columns=cols)
        keep = ["n", "events", "n_groups", "df_cluster"]
        ns = res.summary.set_index(by)[keep] if by else res.summary[keep]
        if by:
            at = at.merge(ns, left_on=by, right_index=True, how="left")
        else:
            for c in keep:
                at[c] = ns[c].iloc[0] if len(ns) else (np.nan if c == "df_cluster" else 0)
        at.insert(0, "description", rule.describe())
        at.insert(0, "rule", label)
        frames.append(at)
    out = pd.concat(frames, ignore_index=True)
    return out[["rule", "description", *([by] if by else []), "time", "n", "events", "n_groups", "df_cluster", *cols]]
