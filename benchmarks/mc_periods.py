"""Monte Carlo: calibration of the period comparisons of groupeval.statistics.periods.

Two reporting periods draw their members from the same G groups, and a group's effect is shared by its
members in both periods (a group that attends well in Q2 attends well in Q3).  There is no true difference
between the periods, so the 95 % intervals of the difference should cover 0 in 95 % of programmes.

* Means / proportions (``compare_periods`` for attendance rate, dropout share, mean change): the CR2
  regression on a period indicator clustered by group (Satterthwaite df) — the engine of
  ``periods._cr2`` — against the naive two-sample Welch interval that treats the periods as independent
  samples of members.  Outcomes: a continuous score (ICC ``--icc``), a 0/1 indicator, and a pooled ratio
  (attended / offered, WLS by offered).
* Kaplan–Meier retention at 12 weeks: the delete-one-group jackknife of the difference with t(G - 1)
  (``periods._km_replicates``, as ``compare_periods``) against the naive interval from two independent
  Greenwood variances.  Dropout is exponential with a gamma group frailty (variance ``--theta``) shared by
  both periods; 20 % of members enter late (1-8 weeks), censoring is uniform over 14-40 weeks.

Run (about 2 minutes on a quiet core with the defaults)::

    PYTHONPATH=src python benchmarks/mc_periods.py
    PYTHONPATH=src python benchmarks/mc_periods.py --reps 2000 --groups 6 10
    PYTHONPATH=src python benchmarks/mc_periods.py --icc 0 --theta 0      # no clustering: both should be fine
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from scipy import stats

from groupeval.statistics import periods as P
from groupeval.statistics.robust import cluster_robust


def _sizes(rng: np.random.Generator, G: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.integers(4, 21, G), rng.integers(4, 21, G)


def _members(rng: np.random.Generator, G: int) -> tuple[np.ndarray, np.ndarray]:
    na, nb = _sizes(rng, G)
    g = np.r_[np.repeat(np.arange(G), na), np.repeat(np.arange(G), nb)]
    p = np.r_[np.ones(na.sum()), np.zeros(nb.sum())]
    return g, p


def _welch(y: np.ndarray, p: np.ndarray, w: np.ndarray | None = None) -> tuple[float, float, float]:
    """Naive difference of means (or weighted means) as if the members of the two periods were independent."""
    out = []
    for k in (1, 0):
        yy = y[p == k]
        ww = np.ones_like(yy) if w is None else w[p == k]
        m = np.sum(ww * yy) / ww.sum()
        # variance of a ratio mean (linearised) / of a mean
        v = np.sum((ww * (yy - m)) ** 2) / ww.sum() ** 2 * len(yy) / (len(yy) - 1)
        out.append((m, v, len(yy)))
    (ma, va, na), (mb, vb, nb) = out
    se = np.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1))
    return ma - mb, se, df


def mean_case(rng: np.random.Generator, G: int, icc: float, kind: str) -> tuple[bool, bool]:
    g, p = _members(rng, G)
    u = rng.normal(0, np.sqrt(icc), G)[g]
    w = None
    if kind == "continuous":
        y = u + rng.normal(0, np.sqrt(1 - icc), len(g))
    elif kind == "binary":
        y = (rng.random(len(g)) < stats.norm.cdf(-0.5 + 2 * u)).astype(float)
    else:
        w = rng.integers(3, 15, len(g)).astype(float)
        y = rng.binomial(w.astype(int), stats.norm.cdf(0.6 + 2 * u)) / w
    if np.ptp(y) == 0:
        return True, True
    fit = cluster_robust(np.c_[np.ones(len(g)), p], y, g, weights=w, type="CR2", names=["1", "in_period"])
    r = fit.coef_test().iloc[1]
    cr2_cover = bool(r["ci_low"] <= 0 <= r["ci_high"]) if np.isfinite(r["ci_low"]) else True
    d, se, df = _welch(y, p, w)
    q = stats.t.ppf(0.975, df)
    return cr2_cover, bool(d - q * se <= 0 <= d + q * se)


def _greenwood_at(km: P._KM, t: float) -> tuple[float, float]:
    """KM S(t) and the Greenwood SE of S(t) (member-level, ignoring groups)."""
    entry = np.where(km.entry > 0, km.entry, -np.inf)
    u = np.unique(km.time[km.event & (km.time <= t)])
    n = ((entry[None, :] < u[:, None]) & (km.time[None, :] >= u[:, None])).sum(1)
    d = ((km.time[None, :] == u[:, None]) & km.event[None, :]).sum(1)
    s = float(np.prod(1 - d / n))
    with np.errstate(divide="ignore", invalid="ignore"):
        v = float(np.sum(d / (n * (n - d))))
    return s, s * np.sqrt(v)


def km_case(rng: np.random.Generator, G: int, theta: float, t: float = 12.0) -> tuple[bool, bool] | None:
    g, p = _members(rng, G)
    z = rng.gamma(1 / theta, theta, G)[g] if theta > 0 else np.ones(len(g))
    lam = 0.025 * z
    entry = np.where(rng.random(len(g)) < 0.2, np.round(7 * rng.uniform(1, 8, len(g))) / 7, 0.0)
    drop = entry + np.maximum(np.round(7 * rng.exponential(1 / lam)) / 7, 1 / 7)
    cens = np.maximum(np.round(7 * rng.uniform(14, 40, len(g))) / 7, entry + 1 / 7)
    time_ = np.minimum(drop, cens)
    event = drop <= cens
    grp = np.array([f"G{k:02d}" for k in g])
    ka = P._KM(time=time_[p == 1], event=event[p == 1], entry=entry[p == 1], group=grp[p == 1])
    kb = P._KM(time=time_[p == 0], event=event[p == 0], entry=entry[p == 0], group=grp[p == 0])
    groups = np.unique(grp)
    sa, ra = P._km_replicates(ka, t, groups)
    sb, rb = P._km_replicates(kb, t, groups)
    se, df, _ = P._jackknife(sa - sb, ra - rb)
    if not (np.isfinite(se) and se > 0):
        return None
    q = stats.t.ppf(0.975, df)
    jk = bool(sa - sb - q * se <= 0 <= sa - sb + q * se)
    ga, gsa = _greenwood_at(ka, t)
    gb, gsb = _greenwood_at(kb, t)
    sn = np.hypot(gsa, gsb)
    naive = bool(ga - gb - 1.959964 * sn <= 0 <= ga - gb + 1.959964 * sn)
    return jk, naive


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=1000)
    ap.add_argument("--groups", type=int, nargs="+", default=[6, 10, 20])
    ap.add_argument("--icc", type=float, default=0.15)
    ap.add_argument("--theta", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=20251)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    rows = []
    t0 = time.time()
    for G in a.groups:
        for kind in ("continuous", "binary", "ratio"):
            res = np.array([mean_case(rng, G, a.icc, kind) for _ in range(a.reps)])
            rows.append({"G": G, "quantity": kind, "method": "CR2 period indicator", "coverage": res[:, 0].mean(),
                         "reps": a.reps})
            rows.append({"G": G, "quantity": kind, "method": "naive Welch (independent periods)",
                         "coverage": res[:, 1].mean(), "reps": a.reps})
        km = [km_case(rng, G, a.theta) for _ in range(a.reps)]
        ok = np.array([k for k in km if k is not None])
        rows.append({"G": G, "quantity": "retention_12w", "method": "group jackknife t(G-1)",
                     "coverage": ok[:, 0].mean(), "reps": len(ok)})
        rows.append({"G": G, "quantity": "retention_12w", "method": "naive Greenwood (independent periods)",
                     "coverage": ok[:, 1].mean(), "reps": len(ok)})
    out = pd.DataFrame(rows)
    mcse = np.sqrt(0.95 * 0.05 / a.reps)
    print(f"Coverage of 95 % intervals of a null period difference (MC SE about {mcse:.3f}); "
          f"icc={a.icc}, theta={a.theta}, {time.time() - t0:.0f} s")
    print(out.pivot_table(index=["quantity", "method"], columns="G", values="coverage").round(3).to_string())


if __name__ == "__main__":
    main()
