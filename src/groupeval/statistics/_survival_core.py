"""Shared pieces of the cluster-aware survival code: input checks, risk-set counting, Cox partial-likelihood pieces.

Used by :mod:`.survival_cluster` (Kaplan-Meier with clustered variances, the
clustered log-rank test) and :mod:`.cox_cluster` (Cox fits and their clustered
variances).  Data are in counting-process form: a member is at risk at ``t``
when ``entry < t <= time`` (``start = -inf`` for members at risk from time 0).
Everything is vectorised (cumulative sums over the event-time grid and
``bincount`` segment sums); the only loops run over the columns of a design.

The thresholds below are the documented defaults of ``groupeval.retention``
and ``groupeval.cox_model`` (docs/retention.md, "Which method when").
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..base.exceptions import ConfigError, Problem, ValidationError
from ._common import MIN_GROUPS_PER_LEVEL

__all__ = ["MIN_CLUSTERS_LARGE_SAMPLE", "MIN_CLUSTERS_TEST", "MIN_AT_RISK_MEDIAN", "MIN_GROUPS_PER_LEVEL",
           "Ties", "KMVariance", "CIReference", "CoxVarianceMethod"]

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
# MIN_GROUPS_PER_LEVEL (3, the shared threshold of statistics._common) applies to retention too: a compared
# level (e.g. one group type) with fewer groups gives a SmallSampleWarning (the Monte Carlo calibration,
# benchmarks/mc_retention_inference.py, has at least 3 groups per level from 6 groups on); with a single
# group in a level no test is computed (its difference cannot be told apart from that group's own variation).


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


