"""Kaplan-Meier with late entry (Greenwood and group-clustered log-log CIs) and the log-rank test, on arrays.

The estimator is groupeval's own (:func:`groupeval.statistics.survival_cluster.km_clustered`,
checked against R ``survfit``), so a curve that late entry drives to 0 is
returned instead of raising lifelines' ``StatError``.
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..base.exceptions import ConfigError, SmallSampleWarning
from ._survival_core import MIN_CLUSTERS_LARGE_SAMPLE, MIN_CLUSTERS_TEST, MIN_GROUPS_PER_LEVEL, _loglog_ci
from .survival_cluster import clustered_logrank, km_clustered

__all__ = ["kaplan_meier", "logrank", "clustered_comparison", "ci_level"]

#: tolerance of R's quantile.survfit
_TOL = np.sqrt(np.finfo(float).eps)

_KM_BASE = ["time", "at_risk", "events", "censored", "retention", "std_err", "ci_low", "ci_high"]
_KM_CLUSTER = ["std_err_cluster", "ci_low_cluster", "ci_high_cluster", "n_groups", "df_cluster"]


def ci_level(ci: float, alpha: float | None, where: str, *, stacklevel: int = 3) -> float:
    """The confidence level from ``ci=`` or the deprecated ``alpha=`` (1 - ci), checked."""
    if alpha is not None:
        warnings.warn(f"{where}: `alpha` is deprecated; pass the confidence level instead, e.g. ci=0.95 "
                      "(ci = 1 - alpha).", DeprecationWarning, stacklevel=stacklevel)
        try:
            a = float(alpha)
        except (TypeError, ValueError):
            a = np.nan
        if not (0 < a < 1):
            raise ConfigError(f"`alpha` must be between 0 and 1, got {alpha!r}; better, pass ci=0.95.")
        if float(ci) != 0.95 and abs(float(ci) - (1 - a)) > 1e-12:
            raise ConfigError(f"{where}: got both ci={ci!r} and alpha={alpha!r}; pass only ci.")
        ci = 1 - a
    try:
        level = float(ci)
    except (TypeError, ValueError):
        level = np.nan
    if not (0 < level < 1):
        raise ConfigError(f"`ci` must be a confidence level between 0 and 1 (e.g. 0.95), got {ci!r}.")
    return level


def _risk_entry(entry: np.ndarray) -> np.ndarray:
    """Entry times in R's counting-process convention: -inf for members not left-truncated."""
    return np.where(entry > 0, entry, -np.inf)


def cluster_reference(n_groups: int) -> tuple[str, float]:
    """(reference, df) of the clustered KM interval: t on G - 1 df below MIN_CLUSTERS_LARGE_SAMPLE groups."""
    if n_groups < 2:
        return "none", np.nan
    if n_groups < MIN_CLUSTERS_LARGE_SAMPLE:
        return "t", float(n_groups - 1)
    return "normal", np.inf


def _empty_km(clustered: bool) -> pd.DataFrame:
    cols = _KM_BASE + (_KM_CLUSTER if clustered else [])
    ints = ("at_risk", "events", "censored", "n_groups")
    return pd.DataFrame({c: pd.Series(dtype=np.int64 if c in ints else float) for c in cols})


def kaplan_meier(time: Any, event: Any, entry: Any = None, *, cluster: Any = None, ci: float = 0.95,
                 start_time: float | None = None, alpha: float | None = None) -> pd.DataFrame:
    """Kaplan–Meier estimate with log-log confidence intervals, late entry, and a group-clustered CI.

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
    cluster
        Optional group id per member: adds the group-clustered interval
        (``*_cluster`` columns).
    ci
        Confidence level of every interval.
    start_time
        Optional origin of a conditional curve :math:`P(T > t \\mid T \\ge t_0)`
        (R's ``survfit(..., start.time = t0)``): the remedy when late entry
        empties the early risk set (see Notes).
    alpha
        Deprecated: ``1 - ci``.

    Returns
    -------
    pandas.DataFrame
        One row per distinct time with an event or a censoring: ``time``,
        ``at_risk``, ``events``, ``censored``, ``retention`` (:math:`\\hat S(t)`),
        ``std_err`` (Greenwood standard error of :math:`\\log \\hat S`; NaN once :math:`\\hat S = 0`),
        ``ci_low``, ``ci_high`` (Greenwood, normal quantile); with ``cluster``
        also ``std_err_cluster`` (robust, of :math:`\\log \\hat S`, scaled by
        :math:`G/(G-1)` under the t reference), ``ci_low_cluster``,
        ``ci_high_cluster``, ``n_groups`` and ``df_cluster`` (:math:`G - 1` below
        ``MIN_CLUSTERS_LARGE_SAMPLE`` groups, inf = normal reference, NaN with
        one group).  ``.attrs["note"]`` says why something is NaN ("" when fine),
        ``.attrs["zero_at"]`` where late entry emptied the risk set.

    Notes
    -----
    :math:`\\hat S(t) = \\prod_{t_i \\le t} (1 - d_i / n_i)` (Kaplan & Meier
    1958); Greenwood: :math:`\\widehat{Var}[\\log \\hat S(t)] = \\sum_{t_i\\le t}
    d_i / (n_i (n_i - d_i))`; log-log interval :math:`\\hat S^{\\exp(\\pm q
    \\sigma / \\log \\hat S)}`, undefined (NaN) where :math:`\\hat S` is 1 or 0,
    as in R.  Clustered: the robust (infinitesimal-jackknife) variance of
    :math:`\\log \\hat S` summed over groups, :math:`\\sum_g D_g(t)^2`
    (Therneau & Grambsch 2000, sec. 7.2; see :func:`km_clustered`); with fewer
    than ``MIN_CLUSTERS_LARGE_SAMPLE`` groups it is scaled by :math:`G/(G-1)`
    and referred to :math:`t_{G-1}` (the Monte Carlo in
    ``benchmarks/mc_retention_inference.py``: 95-97 % coverage from 4 groups on,
    where the normal reference covers 83-92 %).  When late entry leaves the risk
    set with only members who drop out, :math:`\\hat S` is 0 from there on: the
    curve is returned (errors NaN), with a SmallSampleWarning naming a
    ``start_time``.

    In R: ``summary(survfit(Surv(entry, time, event) ~ 1, conf.type = "log-log"), censored = TRUE)``
    (Greenwood); ``survfit(..., cluster = group)`` for the robust errors.
    """
    level = ci_level(ci, alpha, "kaplan_meier")
    clustered = cluster is not None
    time = np.asarray(time, dtype=float)
    if len(time) == 0:
        return _empty_km(clustered)
    fit = km_clustered(time, event, entry, cluster, ci=level, variance="greenwood", start_time=start_time,
                       jackknife=False)
    tab = fit.table
    if not len(tab):
        return _empty_km(clustered)
    out = pd.DataFrame({"time": tab["time"], "at_risk": tab["at_risk"], "events": tab["events"],
                        "censored": tab["censored"], "retention": tab["retention"],
                        "std_err": tab["std_err_greenwood"], "ci_low": tab["ci_low"], "ci_high": tab["ci_high"]})
    note = fit.note
    if clustered:
        G = fit.n_clusters
        ref, df = cluster_reference(G)
        surv = tab["retention"].to_numpy(float)
        se = tab["std_err_robust"].to_numpy(float)
        if ref == "none":
            se = np.full(len(tab), np.nan)
            lo = hi = se
            note = note or "one group only: no between-group variance, so no group-clustered interval"
        else:
            if ref == "t":
                se = se * np.sqrt(G / (G - 1))
                q = float(stats.t.ppf(0.5 + level / 2, df))
            else:
                q = float(stats.norm.ppf(0.5 + level / 2))
            lo, hi = _loglog_ci(surv, se, q)
        out = out.assign(std_err_cluster=se, ci_low_cluster=lo, ci_high_cluster=hi, n_groups=np.int64(G),
                         df_cluster=df)
    out.attrs.update(note=note, zero_at=fit.zero_at, start_time=fit.start_time)
    return out


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


def logrank(time: Any, event: Any, group: Any, entry: Any = None, *, cluster: Any = None
            ) -> dict[str, Any]:
    """Multivariate log-rank test with late entry; member-level, or clustered by group with ``cluster``.

    Parameters
    ----------
    time, event, entry
        As :func:`kaplan_meier`.
    group
        Label of the compared level per member.
    cluster
        Optional group id per member.  Given, the comparison respects the
        clustering: the result is :func:`clustered_comparison`'s (the robust
        score test clustered by group when there are enough groups, else
        ``valid=False`` with the reason).  Without it: the member-level test.

    Returns
    -------
    dict
        ``statistic`` (chi-square), ``df`` (levels - 1), ``p_value``; with
        ``cluster`` the keys of :func:`clustered_comparison`.

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
    if cluster is not None:
        return clustered_comparison(time, event, group, cluster, entry, stacklevel=3)[0]
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
# the default comparison of retention between levels: clustered by group
# ---------------------------------------------------------------------------
ROBUST_SCORE_METHOD = "robust score log-rank test, clustered by group"
LOGRANK_SECONDARY = "member-level log-rank test (secondary: it ignores the grouping)"
_TEST_ROLES = {"robust_score": "primary", "robust_score_signflip": "cross-check", "logrank": "secondary",
               "robust_score_t2": "alternative", "robust_score_cr1_f": "alternative"}


def _groups_per_level(codes: np.ndarray, k: int, ccodes: np.ndarray, G: int) -> np.ndarray:
    """Number of distinct groups with members in each compared level (vectorised)."""
    pairs = np.zeros(k * G, dtype=bool)
    pairs[codes * G + ccodes] = True
    return pairs.reshape(k, G).sum(axis=1)


def clustered_comparison(time: Any, event: Any, group: Any, cluster: Any, entry: Any = None, *,
                         stacklevel: int = 2) -> tuple[dict[str, Any], pd.DataFrame]:
    """The comparison of retention between levels that groupeval reports: clustered by group.

    Parameters
    ----------
    time, event, entry
        As :func:`kaplan_meier`.
    group
        Label of the compared level per member (e.g. group type).
    cluster
        Group id per member.
    stacklevel
        Of the :class:`~groupeval.exceptions.SmallSampleWarning` (the caller of the caller by default).

    Returns
    -------
    (dict, pandas.DataFrame)
        The test to report: ``test`` (key), ``method`` (in words),
        ``statistic``, ``df``, ``df_denom`` (NaN: chi-square reference),
        ``reference``, ``p_value``, ``n_groups``, ``min_groups_per_level``,
        ``valid`` (False: no test to report, numbers NaN) and ``reason``
        ("" when valid).  And every test computed, one row each (``test``,
        ``statistic``, ``df``, ``df_denom``, ``reference``, ``p_value``,
        ``reason``, ``role``: ``primary``, ``cross-check`` (sign-flip
        reference), ``alternative`` (small-sample F versions, liberal or
        powerless with few groups), ``secondary`` (member-level log-rank)).

    Notes
    -----
    Rules (docs/retention.md, "Which method when"): with at least
    ``MIN_CLUSTERS_TEST`` (6) groups and at least 2 groups in every compared
    level, the robust score test :math:`T = U^T (\\sum_g U_g U_g^T)^{-1} U` on
    :math:`\\chi^2_{k-1}` (Lin & Wei 1989; the clustered log-rank of Jung &
    Jeong 2003; :func:`groupeval.statistics.survival_cluster.clustered_logrank`),
    which holds 4.6-5.3 % at the 5 % level with 6-30 groups in
    ``benchmarks/mc_retention_inference.py`` while the member-level log-rank
    rejects 25-32 % of the time.  With fewer groups no cluster-aware test can
    reach p < 0.05 (:math:`T \\le G`), so none is computed.  A level with a
    single group cannot be told apart from that group: no test.  A level with
    fewer than ``MIN_GROUPS_PER_LEVEL`` groups warns.  When the compared levels
    are the groups themselves (``by="group_id"``), members are independent
    under the null hypothesis and the member-level log-rank is the test.

    In R: ``summary(coxph(Surv(entry, time, event) ~ group + cluster(cluster), ties = "breslow"))$robscore``.
    """
    g = pd.Series(np.asarray(group, dtype=object).ravel())
    c = pd.Series(np.asarray(cluster, dtype=object).ravel())
    codes, levels = pd.factorize(g.astype(str), sort=True)
    ccodes, clabels = pd.factorize(c.astype(str), sort=True)
    k, G = len(levels), len(clabels)
    per_level = _groups_per_level(codes, k, ccodes, G) if k and G else np.zeros(k, dtype=np.int64)
    row: dict[str, Any] = {"test": "robust_score", "method": ROBUST_SCORE_METHOD, "statistic": np.nan,
                           "df": float(max(k - 1, 0)), "df_denom": np.nan, "reference": "chi2", "p_value": np.nan,
                           "n_groups": int(G), "min_groups_per_level": int(per_level.min()) if k else 0,
                           "valid": False, "reason": ""}
    lr = logrank(time, event, g.to_numpy(), entry)
    member = pd.DataFrame([{"test": "logrank", "statistic": lr["statistic"], "df": float(lr["df"]),
                            "df_denom": np.nan, "reference": "chi2", "p_value": lr["p_value"], "reason": "",
                            "role": "secondary"}])
    if k < 2:
        row["reason"] = f"only one level ({', '.join(map(str, levels))}) to compare"
        return row, member
    if k == G and bool((per_level == 1).all()) and len(set(zip(codes, ccodes))) == G:
        row.update(test="logrank", method="log-rank test (the compared levels are the groups themselves, so "
                   "members are independent under the null hypothesis)", statistic=lr["statistic"],
                   df=float(lr["df"]), p_value=lr["p_value"], valid=bool(np.isfinite(lr["p_value"])),
                   reason="" if np.isfinite(lr["p_value"]) else "the log-rank test could not be computed")
        return row, member.assign(role="primary")
    if G < MIN_CLUSTERS_TEST:
        row["reason"] = (f"only {G} group(s): with fewer than {MIN_CLUSTERS_TEST} groups no test that allows for "
                         "members clustered in groups can reach p < 0.05 (the robust score statistic is at most the "
                         "number of groups); compare the curves and their intervals instead")
        warnings.warn(f"retention comparison: {row['reason']}.", SmallSampleWarning, stacklevel=stacklevel)
        return row, member
    single = [str(levels[j]) for j in np.flatnonzero(per_level < 2)]
    if single:
        row["reason"] = (f"{_list(single)} {'is' if len(single) == 1 else 'are'} represented by a single group: "
                         "a difference there cannot be told apart from that group's own variation")
        warnings.warn(f"retention comparison: {row['reason']}; no test is reported.", SmallSampleWarning,
                      stacklevel=stacklevel)
        return row, member
    few = [str(levels[j]) for j in np.flatnonzero(per_level < MIN_GROUPS_PER_LEVEL)]
    if few:
        warnings.warn(f"retention comparison: {_list(few)} {'has' if len(few) == 1 else 'have'} fewer than "
                      f"{MIN_GROUPS_PER_LEVEL} groups; the robust score test is approximate there.",
                      SmallSampleWarning, stacklevel=stacklevel)
    res = clustered_logrank(time, event, g.to_numpy(), c.to_numpy(), entry)
    tab = res.table.assign(role=lambda t: t["test"].map(_TEST_ROLES))
    tab = pd.concat([tab[tab["test"] != "logrank"], member], ignore_index=True)
    rs = tab.set_index("test").loc["robust_score"]
    ok = bool(np.isfinite(rs["p_value"]))
    row.update(statistic=float(rs["statistic"]), df=float(rs["df"]), p_value=float(rs["p_value"]), valid=ok,
               reason="" if ok else str(rs["reason"]))
    return row, tab


def _list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
