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

:class:`Period`, :func:`parse_period` and :func:`periods_covered` are defined in
:mod:`._calendar`, the member-level inputs of a period in :mod:`._period_frames`
and its Kaplan–Meier estimate with the group jackknife in :mod:`._period_km`;
every public name is importable from here.
"""
from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..base.dataset import Dataset
from ..base.exceptions import ConfigError, SmallSampleWarning, ValidationError
from ._calendar import BASES as BASES
from ._calendar import FREQUENCIES as FREQUENCIES
from ._calendar import Period, _as_periods, _day, parse_period, periods_covered
from ._common import MIN_GROUPS
from ._period_frames import _KM as _KM
from ._period_frames import _Context, _context, _period_data, _PeriodData
from ._period_km import _jackknife as _jackknife
from ._period_km import _km_difference, _km_row
from ._period_km import _km_replicates as _km_replicates
from .change import change
from .dropout import Dropout
from .robust import cluster_robust_formula

__all__ = [
    "Period", "parse_period", "periods_covered", "period_summary", "compare_periods", "BASES", "FREQUENCIES",
    "SUMMARY_COLUMNS", "COMPARE_COLUMNS", "PERIOD_METHODS",
]

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
_QUANT_ORDER = ("members", "groups", "followup_weeks_min", "followup_weeks_median", "followup_weeks_max",
                "at_risk_start", "entered", "dropouts", "dropout_share", "dropout_rate_per_100_weeks",
                "attendance_rate", "attendance_pooled")


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
