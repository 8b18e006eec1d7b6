"""Cluster-aware survival inference for retention: members nested in groups, late entry.

Members of one peer-support group share facilitators, venue and schedule, so
their dropout times are correlated; the member-level log-rank test, Greenwood
intervals and model-based Cox standard errors treat them as independent and
are anti-conservative when groups differ in dropout risk.  This module gives
the group-clustered alternatives, all for counting-process data (late entry:
a member is at risk at ``t`` when ``entry < t <= time``):

* :func:`clustered_logrank` -- the log-rank score with its cluster-robust
  (Lin & Wei 1989) variance, as R ``coxph(... + cluster(group))``'s robust
  score test, plus two small-sample versions referred to an F distribution.
* :func:`km_clustered` -- Kaplan-Meier with Greenwood, cluster-robust
  (infinitesimal jackknife, as R ``survfit(..., cluster = group)``) and
  grouped (delete-one-group) jackknife standard errors and log-log intervals;
  it returns a curve (never an exception) when late entry empties the risk set.
* :func:`cox_fit`, :func:`cox_score_residuals`, :func:`cox_cluster_variance`,
  :func:`cox_cluster_wald` -- the Cox partial-likelihood pieces (Breslow or
  Efron ties) and clustered variances: Lin-Wei (R ``coxph(cluster =)``),
  CR1 (G/(G-1) with t(G-1)) and the Mancl-DeRouen bias-corrected sandwich.

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
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from ..base.exceptions import ConfigError, ConvergenceWarning, Problem, SmallSampleWarning, ValidationError

__all__ = [
    "MIN_CLUSTERS_LARGE_SAMPLE",
    "MIN_AT_RISK_MEDIAN",
    "MIN_CLUSTERS_TEST",
    "ClusteredKaplanMeier",
    "km_clustered",
    "median_reportable",
    "ClusteredLogrank",
    "clustered_logrank",
    "CoxFit",
    "cox_fit",
    "cox_score_residuals",
    "cox_information_contributions",
    "CoxClusterVariance",
    "cox_cluster_variance",
    "cox_cluster_wald",
]

Ties = Literal["breslow", "efron"]
KMVariance = Literal["robust", "greenwood", "jackknife"]
CIReference = Literal["normal", "t"]
CoxVarianceMethod = Literal["lin_wei", "cr1", "mancl_derouen"]

#: Below this many groups the large-sample (chi-square / normal) cluster-robust
#: tests are anti-conservative in benchmarks/mc_retention_inference.py; the
#: small-sample F / t versions are the default there.
MIN_CLUSTERS_LARGE_SAMPLE = 30
#: With fewer groups than this no cluster-aware test of a group-level factor can
#: reach p < 0.05 (robust score T <= G; sign flips give p >= 2 / 2**G).
MIN_CLUSTERS_TEST = 6
#: A median (or any quantile) of retention is reported only when at least this
#: many members are at risk where the curve crosses it.
MIN_AT_RISK_MEDIAN = 10


# ---------------------------------------------------------------------------
# input checks
# ---------------------------------------------------------------------------
def _as_float(x: Any, name: str) -> np.ndarray:
    try:
        return np.asarray(x, dtype=float).ravel()
    except (TypeError, ValueError):
        raise ValidationError(f"`{name}` must be numeric (weeks); convert it before calling.") from None


def _prep(time: Any, event: Any, entry: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated (stop, event, start) with start = -inf for members at risk from time 0."""
    stop = _as_float(time, "time")
    n = len(stop)
    ev_raw = np.asarray(event).ravel()
    problems: list[Problem] = []
    if len(ev_raw) != n:
        problems.append(Problem(None, None, "event", len(ev_raw), f"has {len(ev_raw)} values but `time` has {n}",
                                "pass one event flag per member"))
    ent = np.zeros(n) if entry is None else _as_float(entry, "entry")
    if len(ent) != n:
        problems.append(Problem(None, None, "entry", len(ent), f"has {len(ent)} values but `time` has {n}",
                                "pass one entry time per member (0 when not left-truncated)"))
    if problems:
        raise ValidationError("Survival inputs of different lengths", problems)
    if ev_raw.dtype == bool:
        ev = ev_raw
    else:
        evf = _as_float(ev_raw, "event")
        bad = ~np.isin(evf, (0.0, 1.0))
        if bad.any():
            raise ValidationError(f"`event` must be 0/1 or True/False; {int(bad.sum())} value(s) are not "
                                  f"(first: {evf[bad][0]!r}).")
        ev = evf == 1.0
    if not np.isfinite(stop).all():
        raise ValidationError(f"`time` has {int((~np.isfinite(stop)).sum())} missing or infinite value(s); "
                              "drop those members first.")
    if np.isnan(ent).any():
        raise ValidationError("`entry` has missing values; use 0 for members observed from enrolment.")
    late = ent > 0
    bad = late & ~(stop > ent)
    if bad.any():
        raise ValidationError(f"{int(bad.sum())} late-entry member(s) have time <= entry: they add no time at "
                              "risk; leave them out (groupeval.retention counts them as `ends_at_entry`).")
    start = np.where(late, ent, -np.inf)
    return stop, ev, start


def _clusters(cluster: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer cluster codes 0..G-1 (sorted labels) and the labels."""
    if cluster is None:
        return np.arange(n), np.arange(n)
    s = pd.Series(np.asarray(cluster, dtype=object).ravel())
    if len(s) != n:
        raise ValidationError(f"`cluster` has {len(s)} values but `time` has {n}; pass one group id per member.")
    if s.isna().any():
        raise ValidationError(f"`cluster` has {int(s.isna().sum())} missing group id(s); drop those members or "
                              "give them their group.")
    codes, labels = pd.factorize(s.astype(str), sort=True)
    return codes.astype(np.int64), np.asarray(labels)


def _check_ci(ci: float) -> float:
    if not (0 < float(ci) < 1):
        raise ConfigError(f"`ci` must be a confidence level between 0 and 1 (e.g. 0.95), got {ci!r}.")
    return float(ci)


def _interval_index(grid: np.ndarray, start: np.ndarray, stop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Member i is at risk at grid[a_i:b_i] (grid points t with start < t <= stop)."""
    return np.searchsorted(grid, start, "right"), np.searchsorted(grid, stop, "right")


def _count_at_risk(a: np.ndarray, b: np.ndarray, K: int, weights: np.ndarray | None = None) -> np.ndarray:
    """sum_i w_i 1{a_i <= k < b_i} for k = 0..K-1 (difference array + cumsum)."""
    diff = np.bincount(a, weights=weights, minlength=K + 1) - np.bincount(b, weights=weights, minlength=K + 1)
    return np.cumsum(diff[:K])


def _count_at_risk_by(code: np.ndarray, G: int, a: np.ndarray, b: np.ndarray, K: int) -> np.ndarray:
    """G x K matrix of members of each cluster at risk at each grid point."""
    diff = (np.bincount(code * (K + 1) + a, minlength=G * (K + 1))
            - np.bincount(code * (K + 1) + b, minlength=G * (K + 1))).reshape(G, K + 1)
    return np.cumsum(diff[:, :K], axis=1).astype(float)


def _loglog_ci(surv: np.ndarray, se_log: np.ndarray, q: float) -> tuple[np.ndarray, np.ndarray]:
    """R's log-log interval (survfit_confint): S^exp(-+ q se / log S); NaN where S is 0 or 1."""
    ok = (surv > 0) & (surv < 1) & np.isfinite(se_log)
    s = np.where(ok, surv, 0.5)
    shift = q * np.where(ok, se_log, 0.0) / np.log(s)
    lo = np.exp(-np.exp(np.log(-np.log(s)) - shift))
    hi = np.exp(-np.exp(np.log(-np.log(s)) + shift))
    return np.where(ok, lo, np.nan), np.where(ok, hi, np.nan)


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


def _km_cluster_errors(code: np.ndarray, G: int, a: np.ndarray, b: np.ndarray, row: np.ndarray, ev: np.ndarray,
                       n: np.ndarray, d: np.ndarray, free: np.ndarray, surv: np.ndarray, alive: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Cluster-robust (IJ) and grouped-jackknife standard errors of log S (G x K work arrays)."""
    K = len(n)
    # cluster-robust influence on log S, G x K
    n_g = _count_at_risk_by(code, G, a, b, K)
    d_g = np.bincount(code * K + row, weights=ev.astype(float), minlength=G * K).reshape(G, K)
    with np.errstate(divide="ignore", invalid="ignore"):
        step = np.where((d > 0) & (free > 0), (d_g - n_g * (d / n)) / np.where(free > 0, free, 1.0), 0.0)
    infl = -np.cumsum(step, axis=1)
    var_rob = np.einsum("gk,gk->k", infl, infl)
    # grouped jackknife (delete one cluster), on the survival scale
    n_minus = n[None, :] - n_g
    d_minus = d[None, :] - d_g
    with np.errstate(divide="ignore", invalid="ignore"):
        f_minus = np.where(n_minus > 0, 1.0 - d_minus / np.where(n_minus > 0, n_minus, 1.0), 1.0)
    s_minus = np.cumprod(f_minus, axis=1)
    if G > 1:
        dev = s_minus - s_minus.mean(axis=0, keepdims=True)
        var_jk_s = (G - 1) / G * np.einsum("gk,gk->k", dev, dev)
    else:
        var_jk_s = np.full(K, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        se_jk = np.where(alive, np.sqrt(var_jk_s) / np.where(alive, surv, 1.0), np.nan)
    se_rob = np.where(alive, np.sqrt(var_rob), np.nan)
    return se_rob, se_jk


_KM_COLS = ["time", "at_risk", "events", "censored", "retention", "std_err_greenwood", "std_err_robust",
            "std_err_jackknife", "std_err", "ci_low", "ci_high"]


def km_clustered(time: Any, event: Any, entry: Any = None, cluster: Any = None, *, ci: float = 0.95,
                 variance: KMVariance | None = None, reference: CIReference = "normal",
                 start_time: float | None = None) -> ClusteredKaplanMeier:
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
        se_rob, se_jk = _km_cluster_errors(code, G, a, b, row, ev, n, d, free, surv, alive)
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
    zero_at = np.nan
    if not alive.all():
        k0 = int(np.argmin(alive))
        entering_later = bool((start > grid[k0]).any())
        if entering_later:
            zero_at = float(grid[k0])
            first_ok = grid[np.flatnonzero(n >= MIN_AT_RISK_MEDIAN)]
            hint = (f"start_time={first_ok[0]:g} (the first time with {MIN_AT_RISK_MEDIAN} at risk)"
                    if len(first_ok) else "a later start_time")
            note = note or (f"the curve reached 0 at t = {zero_at:g} with {int(n[k0])} at risk; later entrants "
                            "cannot lift it")
            n_later = int((start > grid[k0]).sum())
            warnings.warn(f"km_clustered: the number at risk fell to the number of dropouts at t = {zero_at:g} "
                          f"({int(n[k0])} at risk), so the curve is 0 from there although {n_later} "
                          f"member(s) enter later; estimate the curve conditional on reaching a later time, "
                          f"e.g. {hint}.", SmallSampleWarning, stacklevel=2)
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


# ---------------------------------------------------------------------------
# Cox partial-likelihood pieces (counting process, Breslow / Efron ties)
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _CoxPieces:
    loglik: float
    score: np.ndarray         # p
    information: np.ndarray   # p x p
    residuals: np.ndarray | None        # n x p score residuals
    info_contrib: np.ndarray | None     # n x p x p
    n_event_times: int


def _bincount_cols(idx: np.ndarray, vals: np.ndarray, size: int) -> np.ndarray:
    """Segment sums of the columns of ``vals`` (n x m) by ``idx`` -> size x m (loop over columns only)."""
    vals2 = vals.reshape(len(vals), -1)
    out = np.empty((size, vals2.shape[1]))
    for j in range(vals2.shape[1]):  # a few design columns
        out[:, j] = np.bincount(idx, weights=vals2[:, j], minlength=size)
    return out.reshape((size,) + vals.shape[1:])


def _risk_sums(a: np.ndarray, b: np.ndarray, vals: np.ndarray, K: int) -> np.ndarray:
    """sum over the risk set at each event time of ``vals`` (n x ...)."""
    s = _bincount_cols(a, vals, K + 1) - _bincount_cols(b, vals, K + 1)
    return np.cumsum(s, axis=0)[:K]


def _cox_pieces(X: np.ndarray, start: np.ndarray, stop: np.ndarray, event: np.ndarray, beta: np.ndarray,
                ties: str, *, residuals: bool = False, contributions: bool = False) -> _CoxPieces:
    """Log partial likelihood, score, information (and per-member pieces) at ``beta``."""
    n, p = X.shape
    Xc = X - X.mean(axis=0) if n else X      # invariant quantities; centring keeps exp() tame
    eta = Xc @ beta
    w = np.exp(eta)
    ut, inv = np.unique(stop[event], return_inverse=True)
    K = len(ut)
    if K == 0:
        z = np.zeros((n, p))
        return _CoxPieces(0.0, np.zeros(p), np.zeros((p, p)), z if residuals else None,
                          np.zeros((n, p, p)) if contributions else None, 0)
    a, b = _interval_index(ut, start, stop)
    wx = w[:, None] * Xc
    wxx = w[:, None, None] * Xc[:, :, None] * Xc[:, None, :]
    S0 = _risk_sums(a, b, w, K)
    S1 = _risk_sums(a, b, wx, K)
    S2 = _risk_sums(a, b, wxx, K)
    ev_idx = np.flatnonzero(event)
    d = np.bincount(inv, minlength=K).astype(float)
    D0 = np.bincount(inv, weights=w[ev_idx], minlength=K)
    D1 = _bincount_cols(inv, wx[ev_idx], K)
    D2 = _bincount_cols(inv, wxx[ev_idx], K)
    # one sub-step per death (Efron); Breslow: the whole risk set at every sub-step
    di = d.astype(np.int64)
    k_of = np.repeat(np.arange(K), di)
    first = np.repeat(np.r_[0, np.cumsum(di)[:-1]], di)
    r = np.arange(len(k_of)) - first
    frac = r / d[k_of] if ties == "efron" else np.zeros(len(k_of))
    s0 = S0[k_of] - frac * D0[k_of]
    s1 = S1[k_of] - frac[:, None] * D1[k_of]
    s2 = S2[k_of] - frac[:, None, None] * D2[k_of]
    xbar = s1 / s0[:, None]
    loglik = float(eta[ev_idx].sum() - np.log(s0).sum())
    score = Xc[ev_idx].sum(axis=0) - xbar.sum(axis=0)
    info = (s2 / s0[:, None, None]).sum(axis=0) - np.einsum("rj,rl->jl", xbar, xbar)
    res = None
    contrib = None
    if residuals or contributions:
        inv_s0 = 1.0 / s0
        keep = 1.0 - frac
        L = np.bincount(k_of, weights=inv_s0, minlength=K)
        Ld = np.bincount(k_of, weights=keep * inv_s0, minlength=K)
        M = _bincount_cols(k_of, xbar * inv_s0[:, None], K)
        Md = _bincount_cols(k_of, xbar * (keep * inv_s0)[:, None], K)
        CL = np.r_[0.0, np.cumsum(L)]
        CM = np.vstack([np.zeros((1, p)), np.cumsum(M, axis=0)])
        lam = CL[b] - CL[a]
        lamx = CM[b] - CM[a]
        kk = inv                                # event-time index of each death (order of ev_idx)
        wi = w[ev_idx]
        xi = Xc[ev_idx]
        if residuals:
            Xb = _bincount_cols(k_of, xbar, K) / d[:, None]
            res = -w[:, None] * (Xc * lam[:, None] - lamx)
            res[ev_idx] += xi - Xb[kk]
            res[ev_idx] += wi[:, None] * (xi * (L[kk] - Ld[kk])[:, None] - (M[kk] - Md[kk]))
        if contributions:
            xx = np.einsum("rj,rl->rjl", xbar, xbar)
            Q = _bincount_cols(k_of, xx * inv_s0[:, None, None], K)
            Qd = _bincount_cols(k_of, xx * (keep * inv_s0)[:, None, None], K)
            CQ = np.concatenate([np.zeros((1, p, p)), np.cumsum(Q, axis=0)])
            lamxx = CQ[b] - CQ[a]
            outer_x = Xc[:, :, None] * Xc[:, None, :]
            cross = Xc[:, :, None] * lamx[:, None, :]
            contrib = w[:, None, None] * (outer_x * lam[:, None, None] - cross - np.swapaxes(cross, 1, 2) + lamxx)
            dL = (L - Ld)[kk]
            dM = (M - Md)[kk]
            dQ = (Q - Qd)[kk]
            cr = xi[:, :, None] * dM[:, None, :]
            contrib[ev_idx] -= wi[:, None, None] * (outer_x[ev_idx] * dL[:, None, None] - cr
                                                    - np.swapaxes(cr, 1, 2) + dQ)
    return _CoxPieces(loglik, score, info, res, contrib, K)


def _design(X: Any, n: int) -> np.ndarray:
    Xa = _as_float(X, "X").reshape(n, -1) if np.ndim(X) <= 1 else np.asarray(X, dtype=float)
    if Xa.shape[0] != n:
        raise ValidationError(f"`X` has {Xa.shape[0]} rows but `time` has {n}; pass one row per member.")
    if not np.isfinite(Xa).all():
        raise ValidationError("`X` has missing or infinite values; use complete cases.")
    return Xa


def _check_ties(ties: str) -> None:
    if ties not in ("breslow", "efron"):
        raise ConfigError(f"`ties` must be 'efron' or 'breslow', got {ties!r}.")


def cox_score_residuals(X: Any, time: Any, event: Any, entry: Any = None, beta: Any = None, *,
                        ties: Ties = "efron") -> np.ndarray:
    """Score residuals of a Cox model (counting process; Breslow or Efron ties).

    Parameters
    ----------
    X
        Design matrix (members x terms), without an intercept.
    time, event, entry
        As :func:`km_clustered`.
    beta
        Coefficients at which to evaluate (default zeros: the log-rank scores).
    ties
        ``"efron"`` (default, R's default) or ``"breslow"``.

    Returns
    -------
    numpy.ndarray
        members x terms; the column sums are the score vector :math:`U(\\beta)`.

    Notes
    -----
    Breslow: :math:`U_i = \\int (x_i - \\bar x(t))\\,dM_i(t)`, with
    :math:`dM_i = dN_i - Y_i w_i d\\hat\\Lambda_0`, :math:`w_i = e^{x_i\\beta}`,
    :math:`\\bar x = S_1/S_0` over the risk set :math:`entry < t \\le time`
    (Therneau & Grambsch 2000, sec. 4.6).  Efron: each of :math:`d` tied
    deaths is split into sub-steps :math:`r = 0..d-1` in which the tied
    deaths carry weight :math:`1 - r/d` (Therneau & Grambsch 2000, sec. 3.3).

    In R: ``residuals(coxph(Surv(entry, time, event) ~ X, init = beta, iter.max = 0, ties = ties),
    type = "score")``.
    """
    _check_ties(ties)
    stop, ev, start = _prep(time, event, entry)
    Xa = _design(X, len(stop))
    bet = np.zeros(Xa.shape[1]) if beta is None else _as_float(beta, "beta")
    res = _cox_pieces(Xa, start, stop, ev, bet, ties, residuals=True).residuals
    assert res is not None
    return res


def cox_information_contributions(X: Any, time: Any, event: Any, entry: Any = None, beta: Any = None, *,
                                  ties: Ties = "efron") -> np.ndarray:
    """Each member's share of the Cox information matrix (members x terms x terms).

    Notes
    -----
    :math:`J_i = \\int Y_i(t) w_i (x_i - \\bar x(t))^{\\otimes 2} d\\hat\\Lambda_0(t)`
    (Efron: per sub-step, tied deaths weighted :math:`1 - r/d`), so that
    :math:`\\sum_i J_i = \\mathcal I(\\beta)` exactly.  Summed over a cluster it
    is the cluster's "leverage" in the Mancl-DeRouen correction
    (:func:`cox_cluster_variance`).

    In R: no single call; ``tests/reference/survival_cluster.R`` builds it
    (Breslow ties) by a loop over the event times of a ``coxph`` fit.
    """
    _check_ties(ties)
    stop, ev, start = _prep(time, event, entry)
    Xa = _design(X, len(stop))
    bet = np.zeros(Xa.shape[1]) if beta is None else _as_float(beta, "beta")
    out = _cox_pieces(Xa, start, stop, ev, bet, ties, contributions=True).info_contrib
    assert out is not None
    return out


@dataclass(frozen=True)
class CoxFit:
    """A Cox partial-likelihood fit (Newton-Raphson with step halving).

    Attributes
    ----------
    coef : numpy.ndarray
        :math:`\\hat\\beta`.
    information : numpy.ndarray
        :math:`\\mathcal I(\\hat\\beta)`; its inverse is the model-based variance.
    loglik : float
        Log partial likelihood at :math:`\\hat\\beta`.
    loglik_null : float
        At :math:`\\beta = 0`.
    iterations : int
        Newton steps taken.
    converged : bool
        Whether the relative change in the log likelihood fell below 1e-10.
    ties : str
        ``"efron"`` or ``"breslow"``.
    """

    coef: np.ndarray
    information: np.ndarray
    loglik: float
    loglik_null: float
    iterations: int
    converged: bool
    ties: str


def cox_fit(X: Any, time: Any, event: Any, entry: Any = None, *, ties: Ties = "efron",
            max_iter: int = 30, tol: float = 1e-10) -> CoxFit:
    """Fit a Cox proportional-hazards model with late entry (no lifelines needed).

    Parameters
    ----------
    X
        Design matrix (members x terms), no intercept.
    time, event, entry
        As :func:`km_clustered`.
    ties
        ``"efron"`` (default) or ``"breslow"``.
    max_iter, tol
        Newton iterations and convergence tolerance on the log likelihood
        (as R's ``coxph.control(iter.max, eps)``).

    Returns
    -------
    CoxFit

    Notes
    -----
    Maximises the log partial likelihood (Cox 1972; Efron 1977) by
    Newton-Raphson from 0 with step halving, as R's ``coxph``.  Used by the
    Monte Carlo benchmark and available to :func:`cox_cluster_variance`;
    monotone likelihoods (a level without dropouts) raise a
    :class:`~groupeval.exceptions.ConvergenceWarning`.

    In R: ``coxph(Surv(entry, time, event) ~ X, ties = ties)``.
    """
    _check_ties(ties)
    stop, ev, start = _prep(time, event, entry)
    Xa = _design(X, len(stop))
    p = Xa.shape[1]
    if not ev.any():
        raise ValidationError("cox_fit: no events; there is nothing to model.")
    beta = np.zeros(p)
    cur = _cox_pieces(Xa, start, stop, ev, beta, ties)
    ll0 = cur.loglik
    converged = False
    iterations = 0
    for _ in range(max_iter):  # Newton iterations, not members
        iterations += 1
        try:
            step = np.linalg.solve(cur.information, cur.score)
        except np.linalg.LinAlgError:
            step = np.linalg.pinv(cur.information) @ cur.score
        new_beta = beta + step
        new = _cox_pieces(Xa, start, stop, ev, new_beta, ties)
        halvings = 0
        while (not np.isfinite(new.loglik) or new.loglik < cur.loglik - 1e-12) and halvings < 30:
            step = step / 2
            new_beta = beta + step
            new = _cox_pieces(Xa, start, stop, ev, new_beta, ties)
            halvings += 1
        done = abs(new.loglik - cur.loglik) <= tol * max(abs(cur.loglik), 1.0)
        beta, cur = new_beta, new
        if done:
            converged = True
            break
    if not converged or np.max(np.abs(beta)) > 20:
        warnings.warn("cox_fit: the partial likelihood did not converge cleanly (a level with no or only "
                      "dropouts?); coefficients may be infinite.", ConvergenceWarning, stacklevel=2)
    return CoxFit(beta, cur.information, cur.loglik, ll0, iterations, converged, ties)


@dataclass(frozen=True)
class CoxClusterVariance:
    """A clustered variance of Cox coefficients.

    Attributes
    ----------
    variance : numpy.ndarray
        terms x terms variance of :math:`\\hat\\beta`.
    model_variance : numpy.ndarray
        :math:`\\mathcal I^{-1}` (R's ``naive.var``).
    df : float
        Degrees of freedom of the t / F reference (inf: normal / chi-square).
    method : str
        ``"lin_wei"``, ``"cr1"`` or ``"mancl_derouen"``.
    n_clusters : int
    """

    variance: np.ndarray
    model_variance: np.ndarray
    df: float
    method: str
    n_clusters: int


def cox_cluster_variance(X: Any, time: Any, event: Any, entry: Any, cluster: Any, beta: Any, *,
                         ties: Ties = "efron", method: CoxVarianceMethod = "mancl_derouen") -> CoxClusterVariance:
    """Cluster-robust variance of Cox coefficients, with small-sample options.

    Parameters
    ----------
    X
        Design matrix (members x terms) of the fitted model.
    time, event, entry
        As :func:`km_clustered` (``entry`` may be None).
    cluster
        Group id per member.
    beta
        The fitted coefficients (from lifelines, :func:`cox_fit`, R ...).
    ties
        Ties method of that fit.
    method
        ``"lin_wei"`` (large-sample; R's ``coxph(cluster =)``, normal
        reference), ``"cr1"`` (times :math:`G/(G-1)`, t on :math:`G-1` df) or
        ``"mancl_derouen"`` (default; bias-corrected, t on :math:`G-p` df).

    Returns
    -------
    CoxClusterVariance

    Notes
    -----
    With score residuals :math:`U_i` at :math:`\\hat\\beta`, cluster totals
    :math:`U_g = \\sum_{i\\in g}U_i` and :math:`A = \\mathcal I(\\hat\\beta)^{-1}`:

    * Lin & Wei (1989): :math:`V = A\\,(\\sum_g U_g U_g^T)\\,A`.
    * CR1: :math:`\\frac{G}{G-1} V`, t on :math:`G-1` df (as Stata's
      ``vce(cluster)``).
    * Mancl & DeRouen (2001), adapted to the partial likelihood: because
      :math:`U_g(\\hat\\beta) \\approx U_g(\\beta) - J_g(\\hat\\beta - \\beta)` and
      :math:`\\hat\\beta - \\beta \\approx A\\sum_h U_h(\\beta)`, the residual
      cluster score is shrunk by the cluster's leverage :math:`H_g = J_g A`
      (:math:`J_g` the cluster's share of the information, see
      :func:`cox_information_contributions`); the correction undoes it:
      :math:`\\tilde U_g = (I - H_g)^{-1} U_g`, :math:`V_{MD} = A (\\sum_g
      \\tilde U_g \\tilde U_g^T) A`, t on :math:`G - p` df.  This is the CR3 /
      "jackknife-like" correction of GEE (Mancl & DeRouen 2001; cf. Fay &
      Graubard 2001, who bound the leverage at 0.75 and estimate df; not
      implemented).

    No loop over clusters: the :math:`p\\times p` solves of the
    Mancl-DeRouen step are batched in one ``numpy.linalg.solve`` call.

    In R: ``coxph(Surv(entry, time, event) ~ x, cluster = group)$var`` is
    ``lin_wei``; ``mancl_derouen`` is computed from ``residuals(fit, "score")``,
    ``fit$naive.var`` and a loop over event times in
    ``tests/reference/survival_cluster.R``.
    """
    _check_ties(ties)
    if method not in ("lin_wei", "cr1", "mancl_derouen"):
        raise ConfigError(f"`method` must be 'lin_wei', 'cr1' or 'mancl_derouen', got {method!r}.")
    stop, ev, start = _prep(time, event, entry)
    Xa = _design(X, len(stop))
    p = Xa.shape[1]
    bet = _as_float(beta, "beta")
    if len(bet) != p:
        raise ValidationError(f"`beta` has {len(bet)} values but `X` has {p} columns.")
    code, _ = _clusters(cluster, len(stop))
    G = int(code.max()) + 1 if len(code) else 0
    pieces = _cox_pieces(Xa, start, stop, ev, bet, ties, residuals=True, contributions=(method == "mancl_derouen"))
    assert pieces.residuals is not None
    try:
        A = np.linalg.inv(pieces.information)
    except np.linalg.LinAlgError:
        raise ValidationError("cox_cluster_variance: the information matrix is singular (a term that does not "
                              "vary, or collinear terms); drop terms from X.") from None
    Ug = _bincount_cols(code, pieces.residuals, G)
    df: float
    if method == "mancl_derouen":
        assert pieces.info_contrib is not None
        Jg = _bincount_cols(code, pieces.info_contrib, G)               # G x p x p
        Hg = Jg @ A                                                      # leverage acting on score vectors
        Ut = np.linalg.solve(np.eye(p)[None] - Hg, Ug[:, :, None])[:, :, 0]
        meat = Ut.T @ Ut
        df = float(G - p)
    else:
        meat = Ug.T @ Ug
        df = float(G - 1) if method == "cr1" else np.inf
    V = A @ meat @ A
    if method == "cr1":
        V = V * (G / (G - 1)) if G > 1 else np.full_like(V, np.nan)
    if G < MIN_CLUSTERS_LARGE_SAMPLE and method == "lin_wei":
        warnings.warn(f"cox_cluster_variance: only {G} clusters; the Lin-Wei sandwich with a normal reference is "
                      f"anti-conservative below about {MIN_CLUSTERS_LARGE_SAMPLE}; use method='mancl_derouen'.",
                      SmallSampleWarning, stacklevel=2)
    if df <= 0:
        V = np.full_like(V, np.nan)
    return CoxClusterVariance(V, A, df if df > 0 else np.nan, method, G)


def cox_cluster_wald(X: Any, time: Any, event: Any, entry: Any, cluster: Any, beta: Any, *,
                     terms: list[str] | None = None, ties: Ties = "efron",
                     method: CoxVarianceMethod = "mancl_derouen", ci: float = 0.95) -> pd.DataFrame:
    """Wald tests and intervals of Cox coefficients with a clustered variance.

    Parameters
    ----------
    X, time, event, entry, cluster, beta, ties, method
        As :func:`cox_cluster_variance`.
    terms
        Names of the columns of ``X`` (default ``x0, x1, ...``).
    ci
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        ``term``, ``estimate`` (log hazard ratio), ``se``, ``se_model``,
        ``df`` (inf for the normal reference), ``t``, ``p_value``,
        ``ci_low``, ``ci_high`` (log HR), ``hr``, ``hr_ci_low``,
        ``hr_ci_high``, ``method``, ``n_clusters``.

    Notes
    -----
    :math:`t = \\hat\\beta_j / \\sqrt{V_{jj}}`, two-sided p from
    :math:`t_{df}` (normal when df is inf), interval
    :math:`\\hat\\beta_j \\pm t_{df,(1+ci)/2}\\sqrt{V_{jj}}`.

    In R: ``coef(summary(coxph(..., cluster = group)))`` for ``method = "lin_wei"``.
    """
    q_ci = _check_ci(ci)
    cv = cox_cluster_variance(X, time, event, entry, cluster, beta, ties=ties, method=method)
    bet = _as_float(beta, "beta")
    p = len(bet)
    names = list(terms) if terms is not None else [f"x{j}" for j in range(p)]
    if len(names) != p:
        raise ConfigError(f"`terms` has {len(names)} names for {p} coefficients.")
    se = np.sqrt(np.diag(cv.variance))
    with np.errstate(divide="ignore", invalid="ignore"):
        tt = np.where(se > 0, bet / se, np.nan)
    if np.isinf(cv.df):
        pv = 2 * stats.norm.sf(np.abs(tt))
        q = stats.norm.ppf(0.5 + q_ci / 2)
    else:
        pv = 2 * stats.t.sf(np.abs(tt), cv.df)
        q = stats.t.ppf(0.5 + q_ci / 2, cv.df)
    lo, hi = bet - q * se, bet + q * se
    return pd.DataFrame({"term": names, "estimate": bet, "se": se, "se_model": np.sqrt(np.diag(cv.model_variance)),
                         "df": cv.df, "t": tt, "p_value": pv, "ci_low": lo, "ci_high": hi, "hr": np.exp(bet),
                         "hr_ci_low": np.exp(lo), "hr_ci_high": np.exp(hi), "method": method,
                         "n_clusters": cv.n_clusters})


# ---------------------------------------------------------------------------
# cluster-robust log-rank
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ClusteredLogrank:
    """Log-rank test across levels of ``arm`` with group-clustered variances.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per test: ``test``, ``statistic``, ``df`` (numerator),
        ``df_denom`` (NaN for chi-square references), ``reference``
        (``"chi2"``, ``"F"`` or ``"sign-flip"``), ``p_value``, ``reason``
        (why NaN, or how the sign flips were drawn, or ``""``).
        Tests: ``logrank`` (member-level, hypergeometric variance, as R
        ``survdiff``), ``robust_score`` (R ``summary(coxph(... +
        cluster(group)))$robscore``), ``robust_score_cr1_f`` (statistic times
        :math:`(G-1)/G` divided by df, on :math:`F(q, G-1)`),
        ``robust_score_t2`` (Hotelling's :math:`T^2` of the cluster scores,
        on :math:`F(q, G-q)`) and ``robust_score_signflip`` (the robust score
        statistic on its sign-flip distribution).  See Notes and
        docs/_drafts/survival_cluster.md for which to report.
    levels : tuple
        Levels of ``arm`` (sorted); the first is the reference.
    observed_minus_expected : numpy.ndarray
        The log-rank score :math:`U` (``ties="breslow"``: :math:`O - E`)
        of levels 2..k.
    variance_model, variance_robust : numpy.ndarray
        Member-level (hypergeometric) and cluster-robust variances of U.
    cluster_scores : pandas.DataFrame
        The cluster totals :math:`U_g` (one row per cluster, index = cluster id).
    n_clusters : int
    ties : str
    """

    table: pd.DataFrame
    levels: tuple
    observed_minus_expected: np.ndarray
    variance_model: np.ndarray
    variance_robust: np.ndarray
    cluster_scores: pd.DataFrame
    n_clusters: int
    ties: str


def _signflip_p(Ug: np.ndarray, V: np.ndarray, T: float, n_flips: int, seed: int | None) -> tuple[float, str]:
    """Sign-flip (Rademacher wild score bootstrap) p-value of the robust score statistic."""
    G = Ug.shape[0]
    if G <= _EXACT_FLIPS_MAX_CLUSTERS:
        eps = 1.0 - 2.0 * ((np.arange(2 ** G)[:, None] >> np.arange(G)[None, :]) & 1)
        exact = True
    else:
        eps = np.random.default_rng(seed).choice([-1.0, 1.0], size=(n_flips, G))
        exact = False
    S = eps @ Ug                                       # flipped scores; V is unchanged by sign flips
    Tb = np.einsum("bj,bj->b", S, np.linalg.solve(V, S.T).T)
    hits = int((Tb >= T * (1 - 1e-10)).sum())
    if exact:
        return hits / len(Tb), ""
    return (hits + 1) / (len(Tb) + 1), f"{n_flips} random sign flips (seed {seed})"


_EXACT_FLIPS_MAX_CLUSTERS = 14


def clustered_logrank(time: Any, event: Any, arm: Any, cluster: Any, entry: Any = None, *,
                      ties: Ties = "breslow", n_flips: int = 9999, seed: int | None = 0) -> ClusteredLogrank:
    """Log-rank test for members nested in groups: robust score test and small-sample versions.

    Parameters
    ----------
    time, event, entry
        As :func:`km_clustered`.
    arm
        The compared factor (e.g. group type), k >= 2 levels; may vary within
        or between clusters.
    cluster
        Group id per member.
    ties
        ``"breslow"`` (default): the score is exactly the log-rank
        :math:`O - E`; ``"efron"``: R's default ``coxph`` ties.
    n_flips, seed
        Random sign flips for the sign-flip test when there are more than 14
        clusters (all :math:`2^G` flips are enumerated up to 14), and the seed
        of their generator (fixed by default, so the p-value is reproducible).

    Returns
    -------
    ClusteredLogrank

    Notes
    -----
    With :math:`x_i` the dummies of levels 2..k and :math:`U_i` the Cox score
    residuals at :math:`\\beta = 0` (:func:`cox_score_residuals`; Breslow:
    :math:`U_i = \\int (x_i - \\bar x(t))\\,dM_i(t)`, :math:`dM_i = dN_i - Y_i
    d\\bar N/\\bar Y`), the log-rank score is :math:`U = \\sum_i U_i = O - E`.

    * ``logrank``: :math:`U^T V_H^{-1} U`, :math:`V_H` hypergeometric (Mantel
      1966), :math:`\\chi^2_q`, :math:`q = k-1`; ignores clustering.
    * ``robust_score``: :math:`T = U^T (\\sum_g U_g U_g^T)^{-1} U`, with
      :math:`U_g = \\sum_{i\\in g}U_i`, on :math:`\\chi^2_q` (Lin & Wei 1989;
      for q = 1 the clustered log-rank of Jung & Jeong 2003).  Large-sample.
    * ``robust_score_cr1_f``: :math:`F = \\frac{G-1}{G} T / q` on
      :math:`F(q, G-1)` (CR1 scaling).  Because :math:`T \\le G` always
      (Cauchy-Schwarz), :math:`F \\le (G-1)/q`: with 4 groups it can never
      reject at 5 %, with 6 it rarely can.
    * ``robust_score_t2``: Hotelling's :math:`T^2` for "the cluster scores
      have mean 0", using their *centred* covariance.  Since
      :math:`\\sum_g U_gU_g^T = (G-1)S + G\\bar U\\bar U^T`, Sherman-Morrison
      gives :math:`T^2 = (G-1)T/(G-T)` and
      :math:`F = \\frac{G-q}{q}\\,\\frac{T}{G-T} \\sim F(q, G-q)`, exact for
      normal, exchangeable cluster scores and monotone in :math:`T` (the same
      ordering as the robust score test, with a small-sample reference).
      For q = 1 it is the one-sample t test of the :math:`U_g`.
    * ``robust_score_signflip``: the robust score statistic referred to its
      sign-flip distribution, :math:`T_\\varepsilon = (\\sum_g \\varepsilon_g
      U_g)^T V^{-1} (\\sum_g \\varepsilon_g U_g)` over :math:`\\varepsilon_g =
      \\pm 1` (:math:`V = \\sum_g U_gU_g^T` is unchanged by the flips): the
      Rademacher wild score bootstrap (Kline & Santos 2012; Cameron, Gelbach &
      Miller 2008), exact when the cluster scores are independent and
      symmetric about 0.  Its smallest p-value is :math:`2/2^G` (q = 1):
      0.125 with 4 groups, 0.031 with 6.

    In R: ``summary(coxph(Surv(entry, time, event) ~ arm + cluster(group), ties = "breslow"))$robscore``
    (``robust_score``); ``survdiff(Surv(time, event) ~ arm)`` without late
    entry (``logrank``).
    """
    _check_ties(ties)
    stop, ev, start = _prep(time, event, entry)
    n = len(stop)
    arm_s = pd.Series(np.asarray(arm, dtype=object).ravel())
    if len(arm_s) != n:
        raise ValidationError(f"`arm` has {len(arm_s)} values but `time` has {n}; pass one level per member.")
    if arm_s.isna().any():
        raise ValidationError(f"`arm` has {int(arm_s.isna().sum())} missing value(s); drop those members first.")
    acodes, levels = pd.factorize(arm_s.astype(str), sort=True)
    k = len(levels)
    if k < 2:
        raise ConfigError(f"`arm` needs at least 2 levels to compare, got {k} ({list(levels)}).")
    code, clabels = _clusters(cluster, n)
    G = int(code.max()) + 1
    q = k - 1
    X = (acodes[:, None] == np.arange(1, k)[None, :]).astype(float)
    pieces = _cox_pieces(X, start, stop, ev, np.zeros(q), ties, residuals=True)
    assert pieces.residuals is not None
    U = pieces.residuals.sum(axis=0)
    Ug = _bincount_cols(code, pieces.residuals, G)
    V_rob = Ug.T @ Ug
    # hypergeometric variance from the risk-set counts at the event times
    ut = np.unique(stop[ev])
    K = len(ut)
    a, b = _interval_index(ut, start, stop)
    nk = _count_at_risk(a, b, K)
    njk = np.stack([_count_at_risk(a, b, K, weights=X[:, j]) for j in range(q)], axis=1)  # loop over levels
    dk = np.bincount(np.searchsorted(ut, stop[ev]), minlength=K).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(nk > 1, dk * (nk - dk) / np.where(nk > 1, nk - 1, 1.0), 0.0)
        pk = njk / nk[:, None]
    V_h = np.diag((f[:, None] * pk).sum(axis=0)) - np.einsum("k,kj,kl->jl", f, pk, pk)
    # when ties == "efron" the member-level test still uses O - E (the log-rank numerator)
    O_E = U if ties == "breslow" else _cox_pieces(X, start, stop, ev, np.zeros(q), "breslow").score
    rows = []

    def quad(u: np.ndarray, V: np.ndarray) -> tuple[float, str]:
        if K == 0:
            return np.nan, "no events"
        if np.linalg.matrix_rank(V) < q:
            return np.nan, "variance matrix is singular (a level without members at risk, or too few clusters)"
        return float(u @ np.linalg.solve(V, u)), ""

    t_lr, why = quad(O_E, V_h)
    rows.append(("logrank", t_lr, q, np.nan, "chi2", stats.chi2.sf(t_lr, q) if why == "" else np.nan, why))
    T, why_r = quad(U, V_rob)
    rows.append(("robust_score", T, q, np.nan, "chi2", stats.chi2.sf(T, q) if why_r == "" else np.nan, why_r))
    if why_r == "" and G > 1:
        F1 = T * (G - 1) / G / q
        rows.append(("robust_score_cr1_f", F1, q, float(G - 1), "F", stats.f.sf(F1, q, G - 1), ""))
    else:
        rows.append(("robust_score_cr1_f", np.nan, q, float(G - 1), "F", np.nan, why_r or "one cluster only"))
    if why_r == "" and G > q and T < G * (1 - 1e-12):
        F2 = (G - q) / q * T / (G - T)
        rows.append(("robust_score_t2", F2, q, float(G - q), "F", stats.f.sf(F2, q, G - q), ""))
    else:
        reason = why_r or (f"needs more clusters ({G}) than compared levels minus one ({q})" if G <= q
                           else "all cluster scores are equal (T = G): no between-cluster spread")
        rows.append(("robust_score_t2", np.nan, q, float(G - q), "F", np.nan, reason))
    if why_r == "" and G > 1:
        p_flip, how = _signflip_p(Ug, V_rob, T, int(n_flips), seed)
        rows.append(("robust_score_signflip", T, q, np.nan, "sign-flip", p_flip, how))
    else:
        rows.append(("robust_score_signflip", np.nan, q, np.nan, "sign-flip", np.nan, why_r or "one cluster only"))
    table = pd.DataFrame(rows, columns=["test", "statistic", "df", "df_denom", "reference", "p_value", "reason"])
    table["df"] = table["df"].astype(float)
    if G < MIN_CLUSTERS_TEST:
        warnings.warn(f"clustered_logrank: only {G} groups; with fewer than {MIN_CLUSTERS_TEST} no cluster-aware "
                      "test can reach p < 0.05 (the robust score statistic is at most the number of groups); "
                      "report the curves and their intervals instead of a test.", SmallSampleWarning, stacklevel=2)
    cs = pd.DataFrame(Ug, index=pd.Index(clabels, name="cluster"), columns=[str(lv) for lv in levels[1:]])
    return ClusteredLogrank(table, tuple(levels), O_E, V_h, V_rob, cs, G, ties)
