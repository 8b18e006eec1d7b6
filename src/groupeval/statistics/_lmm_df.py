"""Degrees of freedom and test tables of the nested LMM: Satterthwaite (lmerTest) and Kenward-Roger (pbkrtest).

Internal to :mod:`groupeval.statistics.lmm`: the helpers behind
:meth:`NestedLMMFit.coef_table`, :meth:`~NestedLMMFit.contrast` and :meth:`~NestedLMMFit.f_test`.

References
----------
Kuznetsova A, Brockhoff PB, Christensen RHB (2017). lmerTest package: tests in linear mixed
effects models. Journal of Statistical Software 82(13). doi:10.18637/jss.v082.i13
Kenward MG, Roger JH (1997). Small sample inference for fixed effects from restricted
maximum likelihood. Biometrics 53:983-997.
Halekoh U, Højsgaard S (2014). The R package pbkrtest. Journal of Statistical Software 59(9).
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from ..base.exceptions import ConfigError
from ._lmm_engine import _chol_solve

if TYPE_CHECKING:
    from .lmm import NestedLMMFit

def _check_ci(ci: float) -> None:
    if not (isinstance(ci, float | int) and 0.0 < float(ci) < 1.0):
        raise ConfigError(f"ci must be a confidence level between 0 and 1 (e.g. 0.95); got {ci!r}.")


def _t_table(labels: list[str], est: np.ndarray, se: np.ndarray, dfs: np.ndarray, notes: list[str],
             rhs: np.ndarray, ci: float, df: str, label_col: str) -> pd.DataFrame:
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(se > 0, (est - rhs) / se, np.nan)
    if df == "z":
        p = 2.0 * stats.norm.sf(np.abs(t))
        crit = np.full(len(est), stats.norm.ppf(0.5 + ci / 2.0))
    else:
        ok = np.isfinite(dfs) & (dfs > 0)
        safe = np.where(ok, dfs, 1.0)
        p = np.where(ok, 2.0 * stats.t.sf(np.abs(t), safe), np.nan)
        crit = np.where(ok, stats.t.ppf(0.5 + ci / 2.0, safe), np.nan)
        for i in np.flatnonzero(~ok):
            notes[i] = notes[i] or "df undefined"
    return pd.DataFrame({
        label_col: labels, "estimate": est, "se": se, "df": dfs, "t": t, "p_value": p,
        "ci_low": est - crit * se, "ci_high": est + crit * se, "df_method": df, "note": notes,
    })


def _f_row(f: float, ndf: int, ddf: float, p: float, scaling: float, df: str, note: str) -> pd.DataFrame:
    return pd.DataFrame([{"f": f, "num_df": ndf, "den_df": ddf, "p_value": p, "f_scaling": scaling,
                          "df_method": df, "note": note}])


def _f_ddf_from_t(nu: np.ndarray) -> float:
    """Denominator df of an F built from q independent t statistics with df nu (lmerTest)."""
    if len(nu) == 1:
        return float(nu[0])
    if not np.all(np.isfinite(nu)):
        return math.nan
    if np.all(np.abs(np.diff(nu)) < 1e-8):
        return float(np.mean(nu))
    if np.any(nu <= 2):
        return 2.0
    E = float(np.sum(nu / (nu - 2.0)))
    return 2.0 * E / (E - len(nu))


def _hessian_from_gradient(grad: Any, x: np.ndarray) -> np.ndarray:
    """Hessian by central differences of an analytic gradient with one Richardson step (error O(h^4))."""
    k = len(x)
    H = np.empty((k, k))
    for j in range(k):  # loop over the (at most five) variance parameters
        h = 1e-3 * max(abs(x[j]), 0.1)
        e = np.zeros(k)
        e[j] = 1.0
        d1 = (grad(x + h * e) - grad(x - h * e)) / (2 * h)
        d2 = (grad(x + 0.5 * h * e) - grad(x - 0.5 * h * e)) / h
        H[:, j] = (4.0 * d2 - d1) / 3.0
    return 0.5 * (H + H.T)


def _satterthwaite_df(lv: np.ndarray, V: np.ndarray, A: np.ndarray, jac: list[np.ndarray]) -> tuple[float, str]:
    var = float(lv @ V @ lv)
    g = np.array([float(lv @ J @ lv) for J in jac])
    denom = float(g @ A @ g)
    if not var > 0:
        return math.nan, "the contrast has zero variance"
    if not denom > 0:
        return math.nan, "Satterthwaite df undefined: the variance of l'Vl is zero"
    return 2.0 * var * var / denom, ""


# ---------------------------------------------------------------------------
# Kenward–Roger (pbkrtest's linear covariance parameterisation)
# ---------------------------------------------------------------------------
def _kenward_roger_parts(fit: NestedLMMFit, max_cubic_work: float) -> dict[str, Any]:
    """P_r, W and Phi_A of Kenward & Roger (1997) for the linear parameters (group (co)variances,
    member variance, residual variance).  Loops over groups with dense per-group blocks.
    """
    eng = fit._engine
    n = eng.n
    g_end = np.append(eng.g_start[1:], n)
    sizes = g_end - eng.g_start
    work = float(np.sum(sizes.astype(float) ** 3))
    if work > max_cubic_work:
        raise ConfigError(
            f"Kenward-Roger needs dense per-group covariance blocks; sum of n_i^3 = {work:.3g} exceeds "
            f"{max_cubic_work:.3g} (largest group has {int(sizes.max())} observations). Use "
            "df='satterthwaite', which scales to any size.")
    q = eng.q
    s2 = fit.sigma**2
    Lam = eng.lam(fit.theta)
    Sg = s2 * (Lam @ Lam.T)
    gam = [Sg[0, 0]] if q == 1 else [Sg[0, 0], Sg[1, 0], Sg[1, 1]]
    gam += [s2 * fit.theta[0] ** 2, s2]
    R = len(gam)
    p = eng.p
    P = [np.zeros((p, p)) for _ in range(R)]
    Qm = [[np.zeros((p, p)) for _ in range(R)] for _ in range(R)]
    Kt = np.zeros((R, R))
    XtSiX = np.zeros((p, p))
    for i in range(eng.G):  # dense per-group blocks: Sum over groups, no closed form used here
        a, b = eng.g_start[i], g_end[i]
        Xi = eng.X[a:b]
        ni = b - a
        mem = eng.obs_member[a:b]
        one = np.ones(ni)
        Gs = [np.outer(one, one)]
        if q == 2:
            assert eng.t is not None
            ti = eng.t[a:b]
            Gs += [np.outer(one, ti) + np.outer(ti, one), np.outer(ti, ti)]
        Gs += [(mem[:, None] == mem[None, :]).astype(float), np.eye(ni)]
        Sig = sum(gr * Gr for gr, Gr in zip(gam, Gs, strict=True))
        cf = np.linalg.cholesky(Sig)
        Si = _chol_solve(cf, np.eye(ni))
        TT = Si @ Xi
        XtSiX += Xi.T @ TT
        Hs = [Gr @ Si for Gr in Gs]
        Os = [H @ Xi for H in Hs]
        SiOs = [Si @ Ok for Ok in Os]
        for r in range(R):
            P[r] -= Os[r].T @ TT
            for s in range(r, R):
                Qm[r][s] += Os[r].T @ SiOs[s]
                Kt[r, s] += float(np.sum(Hs[r].T * Hs[s]))
    for r in range(R):
        for s in range(r):
            Kt[r, s] = Kt[s, r]
            Qm[r][s] = Qm[s][r].T
    Phi = fit.vcov_beta.to_numpy()
    IE2 = np.empty((R, R))
    for r in range(R):
        PhiPr = Phi @ P[r]
        for s in range(r, R):
            IE2[r, s] = IE2[s, r] = Kt[r, s] - 2.0 * float(np.sum(Phi * Qm[r][s])) + float(
                np.sum(PhiPr * (P[s] @ Phi)))
    ev = np.linalg.eigvalsh(IE2)
    W = 2.0 * (np.linalg.inv(IE2) if np.min(np.abs(ev)) > 1e-10 else np.linalg.pinv(IE2))
    UU = np.zeros((p, p))
    for r in range(R):
        for s in range(R):
            UU += W[r, s] * (Qm[r][s] - P[r] @ Phi @ P[s])
    PhiA = Phi + 2.0 * Phi @ UU @ Phi
    return {"P": P, "W": W, "PhiA": 0.5 * (PhiA + PhiA.T), "gamma": np.array(gam)}


def _kr_a1_a2(kr: dict[str, Any], Phi: np.ndarray, Lm: np.ndarray) -> tuple[float, float]:
    Theta = Lm.T @ np.linalg.solve(Lm @ Phi @ Lm.T, Lm)
    TP = Theta @ Phi
    P, W = kr["P"], kr["W"]
    us = [TP @ Pr @ Phi for Pr in P]
    tr = [float(np.trace(u)) for u in us]
    A1 = A2 = 0.0
    for r in range(len(P)):
        for s in range(len(P)):
            A1 += W[r, s] * tr[r] * tr[s]
            A2 += W[r, s] * float(np.sum(us[r] * us[s].T))
    return A1, A2


def _kr_adjust(kr: dict[str, Any], Phi: np.ndarray, Lm: np.ndarray) -> tuple[float, float, str]:
    """Kenward–Roger denominator df m and F scale lambda for the rows of L (Kenward & Roger 1997, eq. 3.x).

    ``B = (A1 + 6 A2)/(2q)``, ``g = ((q+1)A1 - (q+4)A2)/((q+2)A2)``,
    ``c1 = g/(3q+2(1-g))``, ``c2 = (q-g)/(3q+2(1-g))``, ``c3 = (q+2-g)/(3q+2(1-g))``,
    ``E* = 1/(1 - A2/q)``, ``V* = (2/q)(1+c1 B)/((1-c2 B)^2 (1-c3 B))``,
    ``rho = V*/(2 E*^2)``, ``m = 4 + (q+2)/(q rho - 1)``, ``lambda = m/(E*(m-2))``.
    """
    q = Lm.shape[0]
    A1, A2 = _kr_a1_a2(kr, Phi, Lm)
    if not A2 != 0:
        return math.nan, math.nan, "Kenward-Roger df undefined (A2 = 0)"
    B = (A1 + 6.0 * A2) / (2.0 * q)
    g = ((q + 1) * A1 - (q + 4) * A2) / ((q + 2) * A2)
    den = 3.0 * q + 2.0 * (1.0 - g)
    c1, c2, c3 = g / den, (q - g) / den, (q + 2 - g) / den
    V0 = 1.0 + c1 * B
    V1 = 1.0 - c2 * B
    V2 = 1.0 - c3 * B
    if abs(V0) < 1e-10:
        V0 = 0.0
    if V1 == 0 or V2 == 0 or q * ((1.0 - A2 / q) / V1) ** 2 * V0 / V2 / q - 1.0 / q == 0:
        return math.nan, math.nan, "Kenward-Roger df undefined (degenerate moment match)"
    rho = (1.0 / q) * ((1.0 - A2 / q) / V1) ** 2 * V0 / V2
    m = 4.0 + (q + 2.0) / (q * rho - 1.0)
    scale = 1.0 if abs(m - 2.0) < 1e-2 else m * (1.0 - A2 / q) / (m - 2.0)
    if not (math.isfinite(m) and m > 0):
        return math.nan, scale, "Kenward-Roger df undefined (negative or infinite)"
    return m, scale, ""


def _kr_ddf(kr: dict[str, Any], Phi: np.ndarray, Lm: np.ndarray) -> tuple[float, str]:
    m, _, note = _kr_adjust(kr, Phi, Lm)
    return m, note
