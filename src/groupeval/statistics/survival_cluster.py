"""Cluster-aware survival inference for retention: members nested in groups, late entry.

Members of one peer-support group share facilitators, venue and schedule, so
their dropout times are correlated; the member-level log-rank test, Greenwood
intervals and model-based Cox standard errors treat them as independent and
are anti-conservative when groups differ in dropout risk.  This module gives
the group-clustered alternatives, all for counting-process data (late entry:
a member is at risk at ``t`` when ``entry < t <= time``):

* :func:`clustered_logrank` -- the log-rank score with its cluster-robust
  (Lin & Wei 1989) variance, as R ``coxph(... + cluster(group))``'s robust
  score test, plus two small-sample versions referred to an F distribution
  (defined in :mod:`._logrank`, re-exported here).
* :func:`km_clustered` -- Kaplan-Meier with Greenwood, cluster-robust
  (infinitesimal jackknife, as R ``survfit(..., cluster = group)``) and
  grouped (delete-one-group) jackknife standard errors and log-log intervals;
  it returns a curve (never an exception) when late entry empties the risk set.
* :func:`cox_fit`, :func:`cox_score_residuals`, :func:`cox_cluster_variance`,
  :func:`cox_cluster_wald` -- the Cox partial-likelihood pieces (Breslow or
  Efron ties) and clustered variances: Lin-Wei (R ``coxph(cluster =)``),
  CR1 (G/(G-1) with t(G-1)) and the Mancl-DeRouen bias-corrected sandwich
  (defined in :mod:`.cox_cluster`, re-exported here).

Shared input checks, risk-set counting and the thresholds
(``MIN_CLUSTERS_TEST``, ``MIN_CLUSTERS_LARGE_SAMPLE``, ``MIN_AT_RISK_MEDIAN``,
``MIN_GROUPS_PER_LEVEL``) live in :mod:`._survival_core`; docs/retention.md
says which method is used when, and why.

Everything is vectorised: per-member and per-cluster quantities come from
cumulative sums over the event-time grid and ``bincount`` segment sums; the
only loops run over the (few) columns of the design matrix.

References
----------
Lin DY, Wei LJ (1989). The robust inference for the Cox proportional hazards
model. JASA 84:1074-1078.
Jung S-H, Jeong J-H (2003). Rank tests for clustered survival data. Lifetime
Data Analysis 9:21-33.
Therneau TM, Grambsch PM (2000). Modeling Survival Data: Extending the Cox
Model. Springer (ch. 7-8: robust variance, score residuals, frailty).
Mancl LA, DeRouen TA (2001). A covariance estimator for GEE with improved
small-sample properties. Biometrics 57:126-134.
Fay MP, Graubard BI (2001). Small-sample adjustments for Wald-type tests
using sandwich estimators. Biometrics 57:1198-1206.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..base.exceptions import ConfigError, SmallSampleWarning
from ._logrank import ClusteredLogrank, clustered_logrank
from ._survival_core import (
    MIN_AT_RISK_MEDIAN,
    MIN_CLUSTERS_LARGE_SAMPLE,
    MIN_CLUSTERS_TEST,
    MIN_GROUPS_PER_LEVEL,
    CIReference,
    KMVariance,
    _check_ci,
    _clusters,
    _count_at_risk,
    _count_at_risk_by,
    _interval_index,
    _loglog_ci,
    _prep,
)
from .cox_cluster import (
    CoxClusterVariance,
    CoxFit,
    cox_cluster_variance,
    cox_cluster_wald,
    cox_fit,
    cox_information_contributions,
    cox_score_residuals,
)

__all__ = [
    "MIN_CLUSTERS_LARGE_SAMPLE",
    "MIN_AT_RISK_MEDIAN",
    "MIN_CLUSTERS_TEST",
    "MIN_GROUPS_PER_LEVEL",
    "CIReference",
    "KMVariance",
    "ClusteredKaplanMeier",
    "km_clustered",
    "median_reportable",
    "ClusteredLogrank",
    "clustered_logrank",
    # Cox pieces live in .cox_cluster; re-exported here for existing callers
    "CoxFit",
    "cox_fit",
    "cox_score_residuals",
    "cox_information_contributions",
    "CoxClusterVariance",
    "cox_cluster_variance",
    "cox_cluster_wald",
]


# ---------------------------------------------------------------------------
# Kaplan-Meier with clustered variances
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ClusteredKaplanMeier:
    """Kaplan-Meier estimate with Greenwood, cluster-robust and grouped-jackknife errors.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per distinct time with an event or a censoring: ``time``,
        ``at_risk``, ``events``, ``censored``, ``retention`` (:math:`\\hat S(t)`),
        ``std_err_greenwood``, ``std_err_robust``, ``std_err_jackknife``
        (all standard errors of :math:`\\log \\hat S(t)`; NaN once
        :math:`\\hat S = 0`), ``std_err`` (the one chosen by ``variance``,
        scaled by :math:`G/(G-1)` when ``reference == "t"`` and it is robust),
        ``ci_low``, ``ci_high`` (log-log, from ``std_err``).
    n_clusters : int
        Number of clusters (groups) among the members in the curve (0 without ``cluster``).
    variance : str
        ``"robust"``, ``"greenwood"`` or ``"jackknife"``: the error behind the CI.
    reference : str
        ``"normal"`` (z quantile) or ``"t"`` (t with ``df`` degrees of freedom).
    df : float
        Degrees of freedom of the CI quantile (inf for ``"normal"``).
    ci : float
        Confidence level.
    start_time : float
        Origin of a conditional curve (``-inf`` for the usual curve).
    zero_at : float
        First time at which the curve reached 0 while members were still
        entering later (NaN when it did not): the curve stays 0 from there.
    note : str
        Why something is NaN, or ``""``.
    """

    table: pd.DataFrame
    n_clusters: int
    variance: str
    reference: str
    df: float
    ci: float
    start_time: float
    zero_at: float
    note: str


#: Group-by-time work arrays are built for this many cells at a time (groups in blocks), so memory stays
#: bounded for programmes with tens of thousands of groups.
_CELLS_PER_BLOCK = 2_000_000


def _km_cluster_errors(code: np.ndarray, G: int, a: np.ndarray, b: np.ndarray, row: np.ndarray, ev: np.ndarray,
                       n: np.ndarray, d: np.ndarray, free: np.ndarray, surv: np.ndarray, alive: np.ndarray, *,
                       jackknife: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Cluster-robust (IJ) and grouped-jackknife standard errors of log S.

    The per-group work arrays are (groups x K); they are built for blocks of
    groups at a time (a loop over blocks of clusters, one block for usual
    programmes) and only their column sums are kept: :math:`\\sum_g D_g(t)^2`
    and, for the jackknife, :math:`\\sum_g (S_{(-g)} - \\hat S)` and its square.
    """
    K = len(n)
    h = np.where(n > 0, d / np.where(n > 0, n, 1.0), 0.0)
    use = (d > 0) & (free > 0)
    inv_free = np.where(use, 1.0 / np.where(free > 0, free, 1.0), 0.0)
    var_rob = np.zeros(K)
    dev1 = np.zeros(K)
    dev2 = np.zeros(K)
    order = np.argsort(code, kind="stable")
    per_block = max(1, _CELLS_PER_BLOCK // max(K, 1))
    bounds = np.searchsorted(code[order], np.arange(0, G + per_block, per_block))
    for j in range(len(bounds) - 1):  # blocks of groups (one block unless there are thousands of groups)
        idx = order[bounds[j]:bounds[j + 1]]
        if not len(idx):
            continue
        g0 = j * per_block
        c = code[idx] - g0
        Gb = min(per_block, G - g0)
        n_g = _count_at_risk_by(c, Gb, a[idx], b[idx], K)
        d_g = np.bincount(c * K + row[idx], weights=ev[idx].astype(float), minlength=Gb * K).reshape(Gb, K)
        infl = -np.cumsum((d_g - n_g * h) * inv_free, axis=1)     # influence of each group on log S
        var_rob += np.einsum("gk,gk->k", infl, infl)
        if jackknife:                                               # delete one group, on the survival scale
            n_minus = n[None, :] - n_g
            with np.errstate(divide="ignore", invalid="ignore"):
                f_minus = np.where(n_minus > 0, 1.0 - (d[None, :] - d_g) / np.where(n_minus > 0, n_minus, 1.0),
                                   1.0)
            dev = np.cumprod(f_minus, axis=1) - surv[None, :]
            dev1 += dev.sum(axis=0)
            dev2 += np.einsum("gk,gk->k", dev, dev)
    if jackknife and G > 1:
        var_jk_s = (G - 1) / G * np.maximum(dev2 - dev1 ** 2 / G, 0.0)
    else:
        var_jk_s = np.full(K, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        se_jk = np.where(alive, np.sqrt(var_jk_s) / np.where(alive, surv, 1.0), np.nan)
    se_rob = np.where(alive, np.sqrt(var_rob), np.nan)
    return se_rob, se_jk


def _emptied_risk_set(grid: np.ndarray, n: np.ndarray, start: np.ndarray, alive: np.ndarray) -> tuple[float, str]:
    """Where the curve hit 0 while members still enter later (``(nan, "")`` if it did not); warns."""
    if alive.all():
        return np.nan, ""
    k0 = int(np.argmin(alive))
    n_later = int((start > grid[k0]).sum())
    if not n_later:
        return np.nan, ""
    zero_at = float(grid[k0])
    first_ok = grid[np.flatnonzero(n >= MIN_AT_RISK_MEDIAN)]
    hint = (f"start_time={first_ok[0]:g} (the first time with {MIN_AT_RISK_MEDIAN} at risk)"
            if len(first_ok) else "a later start_time")
    warnings.warn(f"km_clustered: the number at risk fell to the number of dropouts at t = {zero_at:g} "
                  f"({int(n[k0])} at risk), so the curve is 0 from there although {n_later} "
                  f"member(s) enter later; estimate the curve conditional on reaching a later time, "
                  f"e.g. {hint}.", SmallSampleWarning, stacklevel=3)
    return zero_at, (f"the curve reached 0 at t = {zero_at:g} with {int(n[k0])} at risk; later entrants "
                     "cannot lift it")


_KM_COLS = ["time", "at_risk", "events", "censored", "retention", "std_err_greenwood", "std_err_robust",
            "std_err_jackknife", "std_err", "ci_low", "ci_high"]


def km_clustered(time: Any, event: Any, entry: Any = None, cluster: Any = None, *, ci: float = 0.95,
                 variance: KMVariance | None = None, reference: CIReference = "normal",
                 start_time: float | None = None, jackknife: bool = True) -> ClusteredKaplanMeier:
    """Kaplan-Meier retention with group-clustered standard errors, late entry allowed.

    Parameters
    ----------
    time
        Event or censoring times (weeks since enrolment).
    event
        True / 1 where ``time`` is a dropout, False / 0 where censored.
    entry
        Late-entry (left-truncation) times; ``0`` or ``None`` for members
        observed from enrolment.  At risk at ``t`` when ``entry < t <= time``
        (entry <= 0: from time 0, so events at time 0 count).
    cluster
        Group id per member.  ``None``: no clustering; only Greenwood errors
        (``std_err_robust`` / ``std_err_jackknife`` NaN, ``n_clusters`` 0).
        ``np.arange(n)`` gives the member-level infinitesimal jackknife
        (equal to Greenwood without late entry).
    ci
        Confidence level of the log-log interval.
    variance
        Error behind ``ci_low`` / ``ci_high``: ``"robust"`` (clustered
        infinitesimal jackknife; the default when ``cluster`` is given),
        ``"greenwood"`` (the default without ``cluster``, as R) or
        ``"jackknife"`` (delete-one-group).
    reference
        ``"normal"`` (default; R's z quantile) or ``"t"``: t quantile on
        :math:`G - 1` df, and the robust variance scaled by :math:`G/(G-1)`
        (the jackknife carries its own :math:`(G-1)/G`).  See the Monte Carlo
        in ``benchmarks/mc_retention_inference.py`` for which to use.
    start_time
        Optional origin of a *conditional* curve, :math:`P(T > t \\mid T \\ge
        t_0)` as R's ``survfit(..., start.time = t0)``: members whose time is
        below ``t0`` are dropped.  The remedy when late entry leaves too few at
        risk early on (see ``zero_at``).
    jackknife
        Compute ``std_err_jackknife`` (default True; False leaves it NaN and
        saves the work, unless ``variance="jackknife"``).

    Returns
    -------
    ClusteredKaplanMeier
        ``.table`` (see the class), ``.n_clusters``, ``.zero_at``, ``.note``.

    Notes
    -----
    With :math:`n_k`, :math:`d_k` the numbers at risk and of events at event
    time :math:`t_k`, :math:`\\hat S(t) = \\prod_{t_k \\le t}(1 - d_k/n_k)`.
    Greenwood: :math:`\\widehat{Var}\\,\\log\\hat S(t) = \\sum_{t_k\\le t}
    d_k/(n_k(n_k-d_k))`.  Cluster-robust (infinitesimal jackknife; Therneau &
    Grambsch 2000, sec. 7.2): the influence of cluster :math:`g` on
    :math:`\\log \\hat S(t)` is

    .. math:: D_g(t) = -\\sum_{t_k \\le t} \\frac{d_{gk} - n_{gk} d_k / n_k}{n_k - d_k},

    with :math:`n_{gk}`, :math:`d_{gk}` the cluster's members at risk and
    events, and :math:`\\widehat{Var}_R = \\sum_g D_g(t)^2`; with one member
    per cluster this is Greenwood's formula.  Grouped jackknife:
    :math:`\\frac{G-1}{G}\\sum_g (\\hat S_{(-g)} - \\bar S_{(\\cdot)})^2`, with
    :math:`\\hat S_{(-g)}` the curve without cluster :math:`g` (computed from
    :math:`n_k - n_{gk}`, :math:`d_k - d_{gk}`), divided by :math:`\\hat S^2`
    to put it on the log scale.  Log-log interval
    :math:`\\hat S^{\\exp(\\pm q\\,\\sigma/\\log\\hat S)}`, undefined where
    :math:`\\hat S` is 0 or 1.

    When the risk set shrinks to the members who drop out (:math:`n_k = d_k`,
    e.g. late entry leaves one member at risk early on and they drop out),
    :math:`\\hat S` is 0 from there on, even though later entrants are
    followed: the curve is returned, errors and CI are NaN, ``zero_at`` gives
    the time and a :class:`~groupeval.exceptions.SmallSampleWarning` suggests
    ``start_time``.

    In R: ``survfit(Surv(entry, time, event) ~ 1, cluster = group, conf.type
    = "log-log")`` (robust errors; R stores them on the survival scale,
    ``summary(fit)$std.err / fit$surv`` is ``std_err_robust``); without
    ``cluster`` it gives Greenwood (``fit$std.err``).
    """
    q_ci = _check_ci(ci)
    if variance is None:
        variance = "greenwood" if cluster is None else "robust"
    if variance not in ("robust", "greenwood", "jackknife"):
        raise ConfigError(f"`variance` must be 'robust', 'greenwood' or 'jackknife', got {variance!r}.")
    if reference not in ("normal", "t"):
        raise ConfigError(f"`reference` must be 'normal' or 't', got {reference!r}.")
    clustered = cluster is not None
    if not clustered and (variance != "greenwood" or reference == "t"):
        raise ConfigError(f"variance={variance!r} / reference={reference!r} need `cluster` (a group id per member); "
                          "pass cluster=np.arange(n) for the member-level infinitesimal jackknife.")
    stop, ev, start = _prep(time, event, entry)
    code, _ = _clusters(cluster, len(stop))
    t0 = -np.inf if start_time is None else float(start_time)
    if start_time is not None:
        keep = stop >= t0
        stop, ev, start, code = stop[keep], ev[keep], start[keep], code[keep]
        code = np.unique(code, return_inverse=True)[1].astype(np.int64)
    n_mem = len(stop)
    if n_mem == 0:
        empty = pd.DataFrame({c: pd.Series(dtype=np.int64 if c in ("at_risk", "events", "censored") else float)
                              for c in _KM_COLS})
        return ClusteredKaplanMeier(empty, 0, variance, reference, np.nan, q_ci, t0, np.nan, "no members")
    G = int(code.max()) + 1 if clustered else 0
    grid = np.unique(stop)
    K = len(grid)
    a, b = _interval_index(grid, start, stop)
    row = b - 1                                  # grid index of each member's own time
    n = _count_at_risk(a, b, K)                 # >= 1 at every row: the member whose time it is
    d = np.bincount(row, weights=ev.astype(float), minlength=K)
    c = np.bincount(row, weights=(~ev).astype(float), minlength=K)
    free = n - d                                 # survivors of each step
    factor = np.where(d > 0, free / n, 1.0)
    surv = np.cumprod(factor)
    alive = surv > 0
    # Greenwood
    with np.errstate(divide="ignore", invalid="ignore"):
        gw_inc = np.where(d > 0, d / (n * np.where(free > 0, free, 1.0)), 0.0)
    var_gw = np.cumsum(gw_inc)
    if clustered:
        se_rob, se_jk = _km_cluster_errors(code, G, a, b, row, ev, n, d, free, surv, alive,
                                           jackknife=bool(jackknife) or variance == "jackknife")
    else:
        se_rob = se_jk = np.full(K, np.nan)
    se_gw = np.where(alive, np.sqrt(var_gw), np.nan)
    note = ""
    if reference == "t":
        if G < 2:
            df = np.nan
            q = np.nan
            note = "a t reference needs at least 2 clusters"
        else:
            df = float(G - 1)
            q = float(stats.t.ppf(0.5 + q_ci / 2, df))
    else:
        df = np.inf
        q = float(stats.norm.ppf(0.5 + q_ci / 2))
    chosen = {"robust": se_rob * (np.sqrt(G / (G - 1)) if (reference == "t" and G > 1) else 1.0),
              "greenwood": se_gw, "jackknife": se_jk}[variance]
    if clustered and variance != "greenwood" and G < 2:
        note = note or "one cluster only: no between-cluster variance"
        chosen = np.full(K, np.nan)
    lo, hi = _loglog_ci(surv, chosen, q) if np.isfinite(q) else (np.full(K, np.nan), np.full(K, np.nan))
    zero_at, zero_note = _emptied_risk_set(grid, n, start, alive)
    note = note or zero_note
    table = pd.DataFrame({"time": grid, "at_risk": n.astype(np.int64), "events": d.astype(np.int64),
                          "censored": c.astype(np.int64), "retention": surv, "std_err_greenwood": se_gw,
                          "std_err_robust": se_rob, "std_err_jackknife": se_jk, "std_err": chosen,
                          "ci_low": lo, "ci_high": hi})
    return ClusteredKaplanMeier(table, G, variance, reference, df, q_ci, t0, zero_at, note)


def median_reportable(table: pd.DataFrame, min_at_risk: int = MIN_AT_RISK_MEDIAN) -> tuple[bool, str]:
    """Whether a Kaplan-Meier median rests on enough members to be reported.

    Parameters
    ----------
    table
        A Kaplan-Meier table with ``time``, ``at_risk``, ``retention``
        (:attr:`ClusteredKaplanMeier.table` or ``RetentionResult.curve()``).
    min_at_risk
        Members that must be at risk at the time the curve first reaches 0.5
        (default :data:`MIN_AT_RISK_MEDIAN`).

    Returns
    -------
    (bool, str)
        ``(True, "")`` or ``(False, reason)``.

    Notes
    -----
    A median decided by a handful of members (late entry thins the early
    risk set; few remain late in follow-up) swings with one dropout; the
    threshold follows the usual advice not to read a KM curve where fewer
    than about 10 are at risk (Pocock, Clayton & Altman 2002, Lancet 359:1686).

    In R: ``summary(fit, times = quantile(fit, 0.5)$quantile)$n.risk >= 10``.
    """
    if not len(table):
        return False, "no members in the curve"
    s = table["retention"].to_numpy(float)
    hit = np.flatnonzero(s <= 0.5)
    if not len(hit):
        return False, "the curve does not reach 0.5 (median not reached)"
    n_at = int(table["at_risk"].to_numpy()[hit[0]])
    if n_at < min_at_risk:
        return False, (f"only {n_at} member(s) at risk where the curve crosses 0.5 "
                       f"(t = {table['time'].iloc[hit[0]]:g}); at least {min_at_risk} are needed")
    return True, ""
