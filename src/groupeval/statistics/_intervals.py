"""Closed-form and exact interval helpers of the statistics layer.

:func:`wilson_ci` (binomial proportion), :func:`nct_ci` / :func:`nct_ci_vec`
(exact interval of a noncentrality parameter, for standardised effects),
:func:`hedges_j` (small-sample correction) and :func:`rubin_pool` (Rubin's rules
over imputations).  Re-exported by :mod:`._common`, where the other modules find
them.  Nothing here rounds.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import optimize, stats

from ..base.exceptions import ConfigError

__all__ = ["wilson_ci", "nct_ci", "nct_ci_vec", "hedges_j", "rubin_pool"]


def wilson_ci(k: Any, n: Any, ci: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    r"""Wilson score interval for a binomial proportion (vectorised).

    .. math::
        \frac{\hat p + z^2/2n \pm z\sqrt{\hat p(1-\hat p)/n + z^2/4n^2}}{1 + z^2/n}

    Equals R's ``prop.test(k, n, correct = FALSE)$conf.int``.  ``n = 0``
    gives NaN.
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    z = stats.norm.ppf(0.5 + ci / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
        lo = np.where(k == 0, 0.0, centre - half)  # exact 0 / 1 at the boundaries
        hi = np.where(k == n, 1.0, centre + half)
    return lo, hi


def _nct_bound(t: float, df: float, q: float) -> float:
    """ncp such that P(T <= t | df, ncp) = q (T noncentral t)."""
    f = lambda ncp: stats.nct.cdf(t, df, ncp) - q  # noqa: E731
    # the cdf decreases in ncp; bracket around t
    step = max(1.0, abs(t) * 0.1) + 10.0 / np.sqrt(df)
    lo, hi = t - step, t + step
    for _ in range(200):
        if f(lo) > 0:
            break
        lo -= step
        step *= 2
    step = max(1.0, abs(t) * 0.1) + 10.0 / np.sqrt(df)
    for _ in range(200):
        if f(hi) < 0:
            break
        hi += step
        step *= 2
    return optimize.brentq(f, lo, hi, xtol=1e-12, rtol=1e-12, maxiter=500)


def nct_ci(t: float, df: float, ci: float = 0.95) -> tuple[float, float]:
    """Exact confidence interval for a noncentrality parameter by inverting the noncentral t.

    Returns ``(ncp_low, ncp_high)`` with ``P(T <= t | ncp_low) = 1 - a/2``
    and ``P(T <= t | ncp_high) = a/2`` (Steiger & Fouladi 1997).  For a
    paired design ``d_z`` limits are ``ncp / sqrt(n)``.  In R:
    ``uniroot(function(x) pt(t, df, x) - 0.975, ...)``.
    """
    if not (np.isfinite(t) and np.isfinite(df) and df > 0):
        return float("nan"), float("nan")
    a = 1 - ci
    return _nct_bound(t, df, 1 - a / 2), _nct_bound(t, df, a / 2)


def nct_ci_vec(t: Any, df: Any, ci: float = 0.95, *, tol: float = 1e-11) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised :func:`nct_ci`: the same exact inversion for many ``(t, df)`` at once.

    Each bound is found by the Illinois (modified regula falsi) method on
    ``P(T <= t | ncp) - q``, bracketed around the normal approximation
    ``t -/+ z sqrt(1 + t^2 / (2 df))``; iterations touch only the
    unconverged entries.  Non-finite inputs or ``df <= 0`` give NaN.
    """
    t = np.atleast_1d(np.asarray(t, dtype=float))
    df = np.broadcast_to(np.asarray(df, dtype=float), t.shape).astype(float)
    a = 1 - ci
    out = []
    ok = np.isfinite(t) & np.isfinite(df) & (df > 0)
    for q in (1 - a / 2, a / 2):
        root = np.full(t.shape, np.nan)
        idx = np.flatnonzero(ok)
        if idx.size:
            tt, dd = t[idx], df[idx]
            s = np.sqrt(1 + tt**2 / (2 * dd))
            r0 = tt - stats.norm.ppf(q) * s
            w = 0.25 * s + 0.1
            lo, hi = r0 - w, r0 + w
            f = lambda x, tt=tt, dd=dd, q=q: stats.nct.cdf(tt, dd, x) - q  # noqa: E731  (decreasing in x)
            flo, fhi = f(lo), f(hi)
            for _ in range(200):  # widen until bracketed: f(lo) > 0 > f(hi)
                bad_lo, bad_hi = flo <= 0, fhi >= 0
                if not (bad_lo.any() or bad_hi.any()):
                    break
                w = w * 2
                lo = np.where(bad_lo, lo - w, lo)
                hi = np.where(bad_hi, hi + w, hi)
                if bad_lo.any():
                    flo = np.where(bad_lo, f(lo), flo)
                if bad_hi.any():
                    fhi = np.where(bad_hi, f(hi), fhi)
            x = (lo + hi) / 2
            active = np.ones(idx.size, dtype=bool)
            side = np.zeros(idx.size)
            for _ in range(300):
                if not active.any():
                    break
                k = np.flatnonzero(active)
                xk = (lo[k] * fhi[k] - hi[k] * flo[k]) / (fhi[k] - flo[k])
                xk = np.where(np.isfinite(xk) & (xk > lo[k]) & (xk < hi[k]), xk, (lo[k] + hi[k]) / 2)
                fk = stats.nct.cdf(tt[k], dd[k], xk) - q
                x[k] = xk
                pos = fk > 0  # root is above xk
                lo[k] = np.where(pos, xk, lo[k])
                flo[k] = np.where(pos, fk, flo[k])
                hi[k] = np.where(pos, hi[k], xk)
                fhi[k] = np.where(pos, fhi[k], fk)
                # Illinois: halve the stale end's value when the same side moves twice
                same = np.where(pos, side[k] == 1, side[k] == -1)
                fhi[k] = np.where(pos & same, fhi[k] / 2, fhi[k])
                flo[k] = np.where(~pos & same, flo[k] / 2, flo[k])
                side[k] = np.where(pos, 1, -1)
                done = (hi[k] - lo[k] <= tol * (1 + np.abs(xk))) | (fk == 0)
                active[k[done]] = False
            root[idx] = x
        out.append(root)
    return out[0], out[1]


def hedges_j(df: Any) -> Any:
    """Hedges' small-sample correction ``J = 1 - 3 / (4 df - 1)`` (vectorised)."""
    df = np.asarray(df, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1 - 3 / (4 * df - 1)


def rubin_pool(estimates: Sequence[float], variances: Sequence[float], *, ci: float = 0.95,
               df_complete: float | None = None) -> dict[str, float]:
    r"""Pool one estimate over ``m`` imputations with Rubin's rules (Rubin 1987).

    .. math::
        \bar Q = \frac1m\sum Q_i,\; W = \frac1m\sum U_i,\;
        B = \frac1{m-1}\sum (Q_i - \bar Q)^2,\; T = W + (1 + 1/m) B

    ``df = (m - 1)(1 + 1/r)^2`` with ``r = (1 + 1/m) B / W`` (Rubin 1987);
    with ``df_complete`` the Barnard & Rubin (1999) small-sample df
    ``(1/df_old + 1/df_obs)^-1`` is used instead.  ``fmi`` is the fraction
    of missing information ``(r + 2/(df + 3)) / (r + 1)``.

    Returns
    -------
    dict
        ``estimate, se, ci_low, ci_high, t, df, p_value, within, between,
        total, riv, fmi, m``.
    """
    q = np.asarray(estimates, dtype=float)
    u = np.asarray(variances, dtype=float)
    m = q.size
    if m < 2:
        raise ConfigError(f"Rubin's rules need at least 2 imputations; got {m}. Increase `m`.")
    qbar = q.mean()
    w = u.mean()
    b = q.var(ddof=1)
    tvar = w + (1 + 1 / m) * b
    riv = (1 + 1 / m) * b / w if w > 0 else np.inf
    with np.errstate(divide="ignore"):
        df_old = (m - 1) * (1 + 1 / riv) ** 2 if riv > 0 else np.inf
    df = df_old
    if df_complete is not None and np.isfinite(df_complete):
        lam = (1 + 1 / m) * b / tvar
        df_obs = (df_complete + 1) / (df_complete + 3) * df_complete * (1 - lam)
        df = 1 / (1 / df_old + 1 / df_obs) if np.isfinite(df_old) else df_obs
    se = np.sqrt(tvar)
    crit = stats.t.ppf(0.5 + ci / 2, df) if np.isfinite(df) else stats.norm.ppf(0.5 + ci / 2)
    tstat = qbar / se if se > 0 else np.nan
    p = 2 * (stats.t.sf(abs(tstat), df) if np.isfinite(df) else stats.norm.sf(abs(tstat)))
    fmi = (riv + 2 / (df + 3)) / (riv + 1) if np.isfinite(df) else riv / (riv + 1)
    return {"estimate": float(qbar), "se": float(se), "ci_low": float(qbar - crit * se),
            "ci_high": float(qbar + crit * se), "t": float(tstat), "df": float(df), "p_value": float(p),
            "within": float(w), "between": float(b), "total": float(tvar), "riv": float(riv),
            "fmi": float(fmi), "m": int(m)}
