r"""Kaplan–Meier retention of one period, and the delete-one-group jackknife in closed form.

:func:`_km_row` gives the estimate at ``t`` weeks with its Greenwood log-log
interval and the group-jackknife interval (or NaN with the reason, e.g. when
nobody in the curve was followed through some stretch of (0, t]);
:func:`_km_difference` the difference between two periods with the jackknife
variance.  The replicates without each group come from one (groups x event
times) matrix of risk-set counts (:func:`_km_replicates`), no loop over groups.

References
----------
Lipsitz SR, Dear KBG, Zhao L (1994). Jackknife estimators of variance for
parameter estimates from estimating equations with applications to clustered
survival data. *Biometrics* 50:842-846.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ._period_frames import _KM
from .survival import kaplan_meier


def _coverage(km: _KM, t: float, groups: np.ndarray) -> tuple[tuple[float, float] | None, np.ndarray]:
    r"""Whether somebody is at risk at every moment of (0, t], with and without each group.

    The Kaplan–Meier product over (0, t] only estimates S(t) when the risk set is never empty there: where
    nobody is followed (members entering late, or all followed for less), the hazard is simply unobserved and
    the product would silently count it as 0.  Each group's risk intervals :math:`(entry, time]` are merged
    (disjoint within a group), the elementary segments between all their end points are swept once, and a
    segment covered by no group is a gap of the full curve; one covered by exactly one group (identified by the
    sum of the covering groups' codes) is a gap of that group's delete-one replicate.

    Returns
    -------
    (gap, replicate_ok)
        ``gap``: ``(from, to)`` weeks of the first uncovered stretch of (0, t], or None; ``replicate_ok``: one
        bool per entry of ``groups``.
    """
    G = len(groups)
    if len(km.time) == 0:
        return (0.0, t), np.zeros(G, bool)
    code = pd.Index(groups).get_indexer(km.group).astype(np.int64)
    # times are whole days / 7: an entry inside a day (the period start's half day) covers from that day on,
    # so a stretch shorter than a day between two members (when no dropout can happen) is not a gap
    lo = np.clip(np.floor(7.0 * np.where(km.entry > 0, km.entry, 0.0) + 1e-9) / 7.0, 0.0, t)
    hi = np.clip(km.time, 0.0, t)
    ok = hi > lo
    code, lo, hi = code[ok], lo[ok], hi[ok]
    if not len(lo):
        return (0.0, t), np.zeros(G, bool)
    # merge the intervals of each group: sort by (group, start), a new block starts past the running end
    o = np.lexsort((lo, code))
    code, lo, hi = code[o], lo[o], hi[o]
    run_hi = pd.Series(hi).groupby(code).cummax().to_numpy()
    prev = np.r_[-np.inf, run_hi[:-1]]
    new = np.r_[True, code[1:] != code[:-1]] | (lo > prev)
    b_lo = lo[new]
    b_hi = np.maximum.reduceat(hi, np.flatnonzero(new))
    b_code = code[new]
    # sweep: +1 (and +code) at each block start, -1 at each block end
    pts = np.r_[b_lo, b_hi]
    dc = np.r_[np.ones(len(b_lo)), -np.ones(len(b_hi))]
    ds = np.r_[b_code, -b_code].astype(float)
    o = np.argsort(pts, kind="stable")
    pts, dc, ds = pts[o], dc[o], ds[o]
    u, first = np.unique(pts, return_index=True)
    c = np.add.reduceat(dc, first).cumsum()
    cs = np.add.reduceat(ds, first).cumsum()
    # segment k is (u_k, u_{k+1}]; add the stretch from 0 to the first point and from the last point to t
    seg_lo = np.r_[0.0, u]
    seg_hi = np.r_[u, t]
    seg_c = np.r_[0.0, c]
    seg_s = np.r_[0.0, cs]
    live = seg_hi > seg_lo
    seg_lo, seg_hi, seg_c, seg_s = seg_lo[live], seg_hi[live], seg_c[live], seg_s[live]
    empty = seg_c < 0.5
    gap = None
    if empty.any():
        k = int(np.flatnonzero(empty)[0])
        j = np.flatnonzero(~empty & (seg_lo >= seg_hi[k]))
        gap = (float(seg_lo[k]), float(seg_lo[j[0]]) if len(j) else float(t))
    single = np.rint(seg_s[np.abs(seg_c - 1) < 0.5]).astype(np.int64)
    rep_ok = np.ones(G, bool)
    rep_ok[np.unique(single)] = False
    if gap is not None:
        rep_ok[:] = False
    return gap, rep_ok


def _km_replicates(km: _KM, t: float, groups: np.ndarray) -> tuple[float, np.ndarray]:
    r"""S(t) from every member and :math:`S_{(-g)}(t)` without the members of each group in ``groups``.

    With :math:`n_{gj}`, :math:`d_{gj}` the members of group g at risk at and dropping out at the j-th event
    time :math:`u_j \le t` (at risk: :math:`entry < u_j \le time`),
    :math:`S_{(-g)}(t) = \prod_j \big(1 - (d_j - d_{gj}) / (n_j - n_{gj})\big)`: every replicate from one
    (G, J) matrix of counts, no loop over groups.  An estimate whose risk set is empty somewhere in (0, t]
    (:func:`_coverage`) is NaN.
    """
    time, event = km.time, km.event
    entry = np.where(km.entry > 0, km.entry, -np.inf)
    G = len(groups)
    if len(time) == 0:
        return np.nan, np.full(G, np.nan)
    gpos = pd.Index(groups).get_indexer(km.group)
    u = np.unique(time[event & (time <= t)])
    J = len(u)
    lo = np.searchsorted(u, entry, "right")
    hi = np.searchsorted(u, time, "right")
    ok = hi > lo
    N = np.zeros((G, J + 1))
    np.add.at(N, (gpos[ok], lo[ok]), 1.0)
    np.add.at(N, (gpos[ok], hi[ok]), -1.0)
    n_gj = np.cumsum(N, axis=1)[:, :J]
    D = np.zeros((G, J))
    e = event & (time <= t)
    np.add.at(D, (gpos[e], np.searchsorted(u, time[e])), 1.0)
    n, d = n_gj.sum(0), D.sum(0)
    s_full = float(np.prod(1.0 - d / n)) if J else 1.0
    nr, dr = n[None, :] - n_gj, d[None, :] - D
    with np.errstate(invalid="ignore", divide="ignore"):
        fac = np.where(nr > 0, 1.0 - dr / np.where(nr > 0, nr, 1.0), 1.0)
    reps = np.prod(fac, axis=1) if J else np.ones(G)
    gap, rep_ok = _coverage(km, t, groups)
    reps = np.where(rep_ok, reps, np.nan)
    if gap is not None:
        s_full = np.nan
    return s_full, reps


def _jackknife(full: float, reps: np.ndarray) -> tuple[float, float, str]:
    """Delete-one-group jackknife standard error and df (G - 1)."""
    G = len(reps)
    if G < 2:
        return np.nan, np.nan, "one group: the variation between groups cannot be estimated"
    if not np.isfinite(full):
        return np.nan, np.nan, ""
    if not np.isfinite(reps).all():
        return np.nan, np.nan, ("leaving out one of the groups leaves no member followed this long, so the "
                                "group jackknife is undefined")
    v = (G - 1) / G * float(np.sum((reps - reps.mean()) ** 2))
    return float(np.sqrt(v)), float(G - 1), ""


def _km_row(km: _KM, t: float, ci: float, horizon: float | None, followup: np.ndarray | None, *,
            calendar: bool = False) -> dict[str, Any]:
    n = len(km.time)
    groups = np.unique(km.group)
    entry = np.where(km.entry > 0, km.entry, -np.inf)
    row: dict[str, Any] = {"n": n, "n_groups": len(groups),
                           "n_at_risk": int(((entry < t) & (km.time >= t)).sum()) if n else 0,
                           "n_events": int((km.event & (km.time <= t)).sum()) if n else 0}
    nan = dict(estimate=np.nan, se=np.nan, df=np.nan, ci_low=np.nan, ci_high=np.nan, se_cluster=np.nan,
               ci_low_cluster=np.nan, ci_high_cluster=np.nan)
    if horizon is not None and t > horizon:
        return {**row, **nan, "note": f"beyond the {horizon:g}-week horizon"}
    if n == 0:
        return {**row, **nan, "note": "no members in the retention curve"}
    gap, _ = _coverage(km, t, groups)
    if gap is not None:
        if gap[1] >= t and gap[0] >= km.time.max():
            why = (f"follow-up reaches only {km.time.max():.4g} weeks since enrolment, so retention at {t:g} "
                   "weeks cannot be estimated yet")
        elif calendar:
            why = (f"during the period no member was between weeks {gap[0]:.4g} and {gap[1]:.4g} of membership "
                   f"(nobody joined recently enough), so retention at {t:g} weeks cannot be estimated from this "
                   "period alone")
        else:
            why = (f"nobody in the curve was followed between weeks {gap[0]:.4g} and {gap[1]:.4g} since "
                   f"enrolment (members who entered the data late), so retention at {t:g} weeks cannot be "
                   "estimated")
        return {**row, **nan, "note": why}
    # the curve up to t is all that is needed (and later gaps in the risk set would stop lifelines)
    keep = ~(km.entry >= t) | (km.entry <= 0)
    tab = kaplan_meier(np.minimum(km.time, t)[keep], (km.event & (km.time <= t))[keep], km.entry[keep], ci=ci)
    idx = int(np.searchsorted(tab["time"].to_numpy(float), t, "right")) - 1
    if idx < 0:
        s, lo, hi, se_log = 1.0, 1.0, 1.0, 0.0
    else:
        r = tab.iloc[idx]
        s, lo, hi, se_log = float(r["retention"]), float(r["ci_low"]), float(r["ci_high"]), float(r["std_err"])
    full, reps = _km_replicates(km, t, groups)
    se_j, df_j, note_j = _jackknife(full, reps)
    notes = []
    if followup is not None and (followup < t).any():
        k = int((followup < t).sum())
        notes.append(f"{k} of {len(followup)} members enrolled less than {t:g} weeks before the data end "
                     "and are censored before then")
    lo_c = hi_c = np.nan
    if np.isfinite(se_j) and 0 < s < 1:
        q = stats.t.ppf(0.5 + ci / 2, df_j)
        w = q * se_j / (s * abs(np.log(s)))      # delta method on log(-log S)
        lo_c, hi_c = s ** np.exp(w), s ** np.exp(-w)
    elif note_j:
        notes.append(f"cluster interval: {note_j}")
    elif np.isfinite(se_j):
        notes.append("cluster interval undefined where retention is 0 or 1")
    return {**row, "estimate": s, "se": s * se_log if np.isfinite(se_log) else np.nan, "df": np.nan,
            "ci_low": lo, "ci_high": hi, "se_cluster": se_j, "ci_low_cluster": lo_c, "ci_high_cluster": hi_c,
            "note": "; ".join(notes)}


def _km_difference(ka: _KM, kb: _KM, t: float, ci: float, ra: dict[str, Any], rb: dict[str, Any],
                   labels: tuple[str, str] = ("period", "compare")) -> dict[str, Any]:
    groups = np.union1d(ka.group, kb.group)
    out: dict[str, Any] = {"n_groups": len(groups), "method": "group_jackknife", "se": np.nan, "t": np.nan,
                           "df": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan}
    if not (np.isfinite(ra["estimate"]) and np.isfinite(rb["estimate"])):
        why = "; ".join(f"{lab}: {r['note']}" for lab, r in zip(labels, (ra, rb)) if r["note"]
                        and not np.isfinite(r["estimate"]))
        return {**out, "note": why or "retention is undefined in one of the periods"}
    fa, reps_a = _km_replicates(ka, t, groups)
    fb, reps_b = _km_replicates(kb, t, groups)
    se, df, note = _jackknife(fa - fb, reps_a - reps_b)
    out["note"] = note
    if np.isfinite(se) and se > 0:
        tt = (fa - fb) / se
        q = stats.t.ppf(0.5 + ci / 2, df)
        out.update(se=se, t=tt, df=df, ci_low=fa - fb - q * se, ci_high=fa - fb + q * se,
                   p_value=float(2 * stats.t.sf(abs(tt), df)))
    elif np.isfinite(se):
        out.update(se=se, df=df, note="standard error is 0 (no group changes the difference), so t and p are "
                                      "undefined")
    return out
