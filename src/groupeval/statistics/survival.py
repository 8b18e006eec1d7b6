"""Kaplan-Meier with late entry (log-log CIs, Greenwood) and the log-rank test, on arrays."""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["kaplan_meier", "logrank"]

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
