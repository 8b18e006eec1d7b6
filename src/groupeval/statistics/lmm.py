"""REML/ML linear mixed models for members nested in groups, with Satterthwaite and Kenward–Roger df.

The model is

.. math::

    y = X\\beta + Z_g b_g + Z_m b_m + e,\\qquad
    b_{g,i} \\sim N(0, \\sigma^2 \\Lambda\\Lambda'),\\quad
    b_{m,ij} \\sim N(0, \\sigma^2\\theta_m^2),\\quad e \\sim N(0, \\sigma^2 I),

with a random intercept per group (optionally a random slope for a numeric covariate
``t``, correlated with the intercept: ``Z_g = [1, t]``) and a random intercept per member
within group, i.e. lme4's ``y ~ X + (1 | group) + (1 | group:member)`` or
``y ~ X + (1 + t | group) + (1 | group:member)``.

The parameterisation is lme4's (Bates et al. 2015): the relative covariance factor
``theta = (theta_m, Lambda[0,0], Lambda[1,0], Lambda[1,1])`` (member first, then the
lower-triangular Cholesky factor of the group covariance divided by sigma, column-major),
and beta and sigma are profiled out.  The marginal covariance of one group is
``sigma^2 H_i`` with ``H_i = D_i + Z_i Lambda Lambda' Z_i'`` and ``D_i`` block diagonal
over the group's members with blocks ``I + theta_m^2 11'``.  ``D_i^{-1}`` is closed form,
``H_i^{-1}`` follows by the Woodbury identity with one q x q system per group
(q = 1 or 2) and ``|H_i| = |D_i| |I + Lambda' Z_i' D_i^{-1} Z_i Lambda|``.  Every
per-member and per-group sum needed by the criterion is accumulated once, before the
optimisation, by segment sums over sorted codes (``np.add.reduceat`` and a sparse
indicator product); members are pooled by their number of observations, so one
evaluation of the criterion and its analytic gradient costs O(G K q p^2) for G groups
and K distinct member sizes, independent of the number of members.

The module is standalone (numpy, scipy, pandas): a wrapper passes a design matrix
(e.g. from patsy) and contrast rows.

References
----------
Bates D, Mächler M, Bolker B, Walker S (2015). Fitting linear mixed-effects models using
lme4. Journal of Statistical Software 67(1). doi:10.18637/jss.v067.i01
Kuznetsova A, Brockhoff PB, Christensen RHB (2017). lmerTest package: tests in linear mixed
effects models. Journal of Statistical Software 82(13). doi:10.18637/jss.v082.i13
Kenward MG, Roger JH (1997). Small sample inference for fixed effects from restricted
maximum likelihood. Biometrics 53:983-997.
Halekoh U, Højsgaard S (2014). A Kenward-Roger approximation and parametric bootstrap
methods for tests in linear mixed models - the R package pbkrtest. Journal of Statistical
Software 59(9). doi:10.18637/jss.v059.i09
Satterthwaite FE (1946). An approximate distribution of estimates of variance components.
Biometrics Bulletin 2(6):110-114.
"""
from __future__ import annotations

import contextlib
import ctypes
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import optimize, sparse, stats

from ..base.exceptions import ConfigError, ConvergenceWarning, ValidationError

__all__ = [
    "fit_nested",
    "NestedLMMFit",
    "OptimiserAttempt",
    "KR_MAX_CUBIC_WORK",
    "CRITERION_TOL",
    "SINGULAR_TOL",
]

DfMethod = Literal["satterthwaite", "kenward-roger", "residual", "z"]
_DF_METHODS = ("satterthwaite", "kenward-roger", "residual", "z")

#: Kenward–Roger builds each group's dense covariance block; it refuses when
#: sum over groups of n_i**3 exceeds this (about 30 groups of 700 observations).
KR_MAX_CUBIC_WORK = 1.0e10
#: Two optimiser attempts whose criteria differ by less than this agree.
CRITERION_TOL = 1e-6
#: A diagonal element of theta below this is a boundary (singular) fit, as lme4's isSingular.
SINGULAR_TOL = 1e-4
#: Largest projected-gradient component (criterion units per unit theta) of a converged fit.
GRADIENT_TOL = 1e-3
_LOG2PI = math.log(2.0 * math.pi)


#: Run the fit and the df computations with single-threaded OpenBLAS (see :func:`_single_threaded_blas`).
SINGLE_THREADED_BLAS = True


@contextlib.contextmanager
def _single_threaded_blas() -> Iterator[None]:
    """Temporarily limit the OpenBLAS libraries loaded by numpy and scipy to one thread.

    Every linear-algebra call of the engine is on matrices of a few rows; OpenBLAS's thread
    hand-off costs more than the work (on a loaded 2-core machine, 10-30x: scipy's L-BFGS-B
    went from 3 ms to 27 ms per run).  The libraries are found in /proc/self/maps (Linux);
    elsewhere, or if a library lacks the entry points, this does nothing.  The setting is
    process-wide while the block runs and restored afterwards.
    """
    restore: list[tuple[Any, int]] = []
    if SINGLE_THREADED_BLAS:
        try:
            with open("/proc/self/maps", encoding="utf-8") as fh:
                paths = sorted({ln.split()[-1] for ln in fh if "openblas" in ln.lower() and "/" in ln})
        except OSError:
            paths = []
        for path in paths:
            try:
                lib = ctypes.CDLL(path)
            except OSError:
                continue
            for suffix in ("", "64_"):
                for prefix in ("openblas", "scipy_openblas"):
                    get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                    put = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                    if get is not None and put is not None:
                        restore.append((put, int(get())))
                        put(1)
    try:
        yield
    finally:
        for put, nthreads in restore:
            put(nthreads)


# ---------------------------------------------------------------------------
# sufficient statistics and the profiled criterion
# ---------------------------------------------------------------------------
class _Engine:
    """Sorted data, pooled sufficient statistics and the criterion for one design.

    All arrays are computed once by segment sums; the methods only touch arrays whose
    size is the number of groups times the number of distinct member sizes.
    """

    def __init__(self, y: np.ndarray, X: np.ndarray, gcode: np.ndarray, mcode: np.ndarray,
                 t: np.ndarray | None) -> None:
        n, p = X.shape
        order = np.lexsort((mcode, gcode))
        self.order = order
        Xs = X[order]
        ys = y[order]
        gs = gcode[order]
        ms = mcode[order]
        self.q = 1 if t is None else 2
        self.n, self.p = n, p
        self.X = Xs
        self.y = ys
        self.t = None if t is None else t[order]
        # member runs (a member is a (group, member) pair) and group runs
        new_m = np.empty(n, dtype=bool)
        new_m[0] = True
        new_m[1:] = (gs[1:] != gs[:-1]) | (ms[1:] != ms[:-1])
        m_start = np.flatnonzero(new_m)
        new_g = np.empty(n, dtype=bool)
        new_g[0] = True
        new_g[1:] = gs[1:] != gs[:-1]
        g_start = np.flatnonzero(new_g)
        self.m_start = m_start
        self.g_start = g_start
        self.M = len(m_start)
        self.G = len(g_start)
        self.obs_member = np.cumsum(new_m) - 1  # member index of each sorted observation
        m_group = gs[m_start]
        # member index of the first member of each group (members are sorted by group)
        gm_start = np.searchsorted(m_start, g_start)
        self.gm_start = gm_start
        n_j = np.diff(np.append(m_start, n))
        ksizes, kcode = np.unique(n_j, return_inverse=True)
        self.ksizes = ksizes.astype(float)
        self.kcount = np.bincount(kcode, minlength=len(ksizes)).astype(float)
        K = len(ksizes)
        self.K = K
        W = np.column_stack([Xs, ys])
        a = p + 1
        self.WW = W.T @ W
        s = np.add.reduceat(W, m_start, axis=0)  # (M, a) member sums
        S = np.empty((K, a, a))
        for k in range(K):  # loop over distinct member sizes (a handful), not over members
            sk = s[kcode == k]
            S[k] = sk.T @ sk
        self.S = S
        q = self.q
        if t is None:
            z = n_j.astype(float)[:, None]  # (M, 1)
            zw = s[:, None, :]  # (M, 1, a): sum over the member's rows of z * w
        else:
            ts = self.t
            assert ts is not None
            zt = np.add.reduceat(ts, m_start)
            tw = np.add.reduceat(W * ts[:, None], m_start, axis=0)
            z = np.column_stack([n_j.astype(float), zt])
            zw = np.stack([s, tw], axis=1)  # (M, 2, a)
        self.ZW = np.add.reduceat(zw, gm_start, axis=0)  # (G, q, a)
        if t is None:
            self.ZZ = np.diff(np.append(g_start, n)).astype(float)[:, None, None]
        else:
            ts = self.t
            assert ts is not None
            st = np.add.reduceat(ts, g_start)
            stt = np.add.reduceat(ts * ts, g_start)
            ng = np.diff(np.append(g_start, n)).astype(float)
            self.ZZ = np.stack([np.stack([ng, st], -1), np.stack([st, stt], -1)], -2)
        # per (group, member size) sums of z_j s_j' and z_j z_j'
        cc = m_group * K + kcode
        ind = sparse.csr_matrix((np.ones(self.M), (cc, np.arange(self.M))), shape=(self.G * K, self.M))
        zs = (z[:, :, None] * s[:, None, :]).reshape(self.M, q * a)  # z_j s_j'
        self.T = np.asarray(ind @ zs).reshape(self.G, K, q, a)
        zz = (z[:, :, None] * z[:, None, :]).reshape(self.M, q * q)
        self.U = np.asarray(ind @ zz).reshape(self.G, K, q, q)
        self.n_theta = 1 + (1 if q == 1 else 3)
        self.lower = np.array([0.0, 0.0] if q == 1 else [0.0, 0.0, -np.inf, 0.0])
        self.diag_index = (0, 1) if q == 1 else (0, 1, 3)
        self._E = self._lambda_derivatives()

    # -- Lambda and its derivatives -----------------------------------------
    def lam(self, theta: np.ndarray) -> np.ndarray:
        if self.q == 1:
            return np.array([[theta[1]]])
        return np.array([[theta[1], 0.0], [theta[2], theta[3]]])

    def _lambda_derivatives(self) -> list[np.ndarray]:
        if self.q == 1:
            return [np.array([[1.0]])]
        e0 = np.array([[1.0, 0.0], [0.0, 0.0]])
        e1 = np.array([[0.0, 0.0], [1.0, 0.0]])
        e2 = np.array([[0.0, 0.0], [0.0, 1.0]])
        return [e0, e1, e2]

    @staticmethod
    def _inv_logdet(Mm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Inverse and log determinant of a stack of SPD q x q matrices, q in (1, 2), closed form."""
        if Mm.shape[-1] == 1:
            return 1.0 / Mm, np.log(Mm[:, 0, 0])
        a, b, d = Mm[:, 0, 0], Mm[:, 0, 1], Mm[:, 1, 1]
        det = a * d - b * b
        inv = np.empty_like(Mm)
        inv[:, 0, 0] = d / det
        inv[:, 1, 1] = a / det
        inv[:, 0, 1] = inv[:, 1, 0] = -b / det
        return inv, np.log(det)

    # -- the core: Q = [X y]' H^{-1} [X y], log|H| and their derivatives ------------
    def core(self, theta: np.ndarray, grad: bool) -> tuple[np.ndarray, float, list[np.ndarray], list[float]]:
        tm = float(theta[0])
        t2 = tm * tm
        ks = self.ksizes
        den = 1.0 + ks * t2
        w = t2 / den
        A = self.WW - np.tensordot(w, self.S, 1)
        B = self.ZW - np.einsum("k,gkqa->gqa", w, self.T)
        C = self.ZZ - np.einsum("k,gkqr->gqr", w, self.U)
        Lam = self.lam(theta)
        LtC = np.einsum("rq,grs->gqs", Lam, C)  # Lambda' C
        Mm = np.eye(self.q) + LtC @ Lam
        Minv, logdetM = self._inv_logdet(Mm)
        N = Minv @ Lam.T  # M^{-1} Lambda'   (G, q, q)
        NB = N @ B  # (G, q, a)
        KB = Lam @ NB  # Lambda M^{-1} Lambda' B
        a = self.p + 1
        Bf = B.reshape(-1, a)
        Q = A - Bf.T @ KB.reshape(-1, a)
        Q = 0.5 * (Q + Q.T)
        logdetH = float(np.sum(self.kcount * np.log1p(ks * t2)) + logdetM.sum())
        if not grad:
            return Q, logdetH, [], []
        dQs: list[np.ndarray] = []
        dlds: list[float] = []
        # theta_m
        dw = 2.0 * tm / den**2
        dA = -np.tensordot(dw, self.S, 1)
        dB = -np.einsum("k,gkqa->gqa", dw, self.T)
        dC = -np.einsum("k,gkqr->gqr", dw, self.U)
        Xm = dB.reshape(-1, a).T @ KB.reshape(-1, a)
        dCKB = dC @ KB
        dQ = dA - (Xm + Xm.T) + KB.reshape(-1, a).T @ dCKB.reshape(-1, a)
        dQs.append(0.5 * (dQ + dQ.T))
        Kmat = Lam @ N  # (G, q, q)
        dld = float(np.sum(self.kcount * 2.0 * ks * tm / den) + np.einsum("gqr,grq->", Kmat, dC))
        dlds.append(dld)
        # Lambda entries
        Bt = np.swapaxes(B, 1, 2)  # (G, a, q)
        for E in self._E:
            Y = LtC @ E  # Lambda' C E
            dM = Y + np.swapaxes(Y, 1, 2)
            # dK = E N + N' E' - N' dM N  ->  B' dK B
            term1 = np.einsum("gaq,gqb->ab", Bt @ E, NB)
            dMNB = dM @ NB
            term3 = np.einsum("gqa,gqb->ab", NB, dMNB)
            BdKB = term1 + term1.T - term3
            dQs.append(-0.5 * (BdKB + BdKB.T))
            dlds.append(float(np.einsum("gqr,grq->", Minv, dM)))
        return Q, logdetH, dQs, dlds

    # -- profiled criterion -------------------------------------------------
    def profiled(self, theta: np.ndarray, reml: bool, grad: bool = True) -> tuple[float, np.ndarray]:
        Q, logdetH, dQs, dlds = self.core(theta, grad)
        p, n = self.p, self.n
        Qxx = Q[:p, :p]
        qxy = Q[:p, p]
        try:
            cf = np.linalg.cholesky(Qxx)
        except np.linalg.LinAlgError:
            return math.inf, np.zeros(len(theta))
        beta = _chol_solve(cf, qxy)
        pwrss = float(Q[p, p] - qxy @ beta)
        if not pwrss > 0:
            return math.inf, np.zeros(len(theta))
        nu = n - p if reml else n
        f = logdetH + nu * (1.0 + math.log(2.0 * math.pi * pwrss / nu))
        if reml:
            f += 2.0 * float(np.sum(np.log(np.diag(cf))))
        if not grad:
            return f, np.zeros(len(theta))
        v = np.append(-beta, 1.0)
        g = np.empty(len(theta))
        Qxx_inv = _chol_solve(cf, np.eye(p)) if reml else None
        for j, (dQ, dl) in enumerate(zip(dQs, dlds, strict=True)):
            gj = dl + nu * float(v @ dQ @ v) / pwrss
            if Qxx_inv is not None:
                gj += float(np.sum(Qxx_inv * dQ[:p, :p]))
            g[j] = gj
        return f, g

    def estimates(self, theta: np.ndarray, reml: bool) -> dict[str, Any]:
        Q, logdetH, _, _ = self.core(theta, False)
        p, n = self.p, self.n
        cf = np.linalg.cholesky(Q[:p, :p])
        beta = _chol_solve(cf, Q[:p, p])
        pwrss = float(Q[p, p] - Q[:p, p] @ beta)
        nu = n - p if reml else n
        sigma2 = pwrss / nu
        Qxx_inv = _chol_solve(cf, np.eye(p))
        return {"beta": beta, "pwrss": pwrss, "sigma2": sigma2, "vcov": sigma2 * Qxx_inv, "Qxx_inv": Qxx_inv}

    # -- unprofiled deviance in (theta, sigma), lmerTest's parameterisation ----
    def deviance_grad(self, varpar: np.ndarray, reml: bool) -> np.ndarray:
        theta = varpar[:-1]
        sigma = float(varpar[-1])
        s2 = sigma * sigma
        Q, _, dQs, dlds = self.core(theta, True)
        p, n = self.p, self.n
        cf = np.linalg.cholesky(Q[:p, :p])
        beta = _chol_solve(cf, Q[:p, p])
        pwrss = float(Q[p, p] - Q[:p, p] @ beta)
        v = np.append(-beta, 1.0)
        Qxx_inv = _chol_solve(cf, np.eye(p))
        g = np.empty(len(varpar))
        for j, (dQ, dl) in enumerate(zip(dQs, dlds, strict=True)):
            gj = dl + float(v @ dQ @ v) / s2
            if reml:
                gj += float(np.sum(Qxx_inv * dQ[:p, :p]))
            g[j] = gj
        g[-1] = -2.0 * pwrss / (s2 * sigma) + 2.0 * ((n - p) if reml else n) / sigma
        return g

    def vcov_jacobian(self, varpar: np.ndarray) -> list[np.ndarray]:
        """d (sigma^2 Qxx^{-1}) / d varpar, analytic."""
        theta = varpar[:-1]
        sigma = float(varpar[-1])
        Q, _, dQs, _ = self.core(theta, True)
        p = self.p
        Qi = np.linalg.inv(Q[:p, :p])
        out = [-sigma * sigma * Qi @ dQ[:p, :p] @ Qi for dQ in dQs]
        out.append(2.0 * sigma * Qi)
        return out


def _chol_solve(cf: np.ndarray, b: np.ndarray) -> np.ndarray:
    from scipy.linalg import solve_triangular

    z = solve_triangular(cf, b, lower=True, check_finite=False)
    return solve_triangular(cf.T, z, lower=False, check_finite=False)


# ---------------------------------------------------------------------------
# optimisation with a documented fallback
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class OptimiserAttempt:
    """One optimiser run: which optimiser, from where, to where, and what it said."""

    name: str
    optimiser: str
    start: tuple[float, ...]
    theta: tuple[float, ...]
    criterion: float
    success: bool
    n_evaluations: int
    message: str


def _projected_gradient(theta: np.ndarray, g: np.ndarray, lower: np.ndarray) -> np.ndarray:
    pg = g.copy()
    at_lower = (theta <= lower) & (g > 0)
    pg[at_lower] = 0.0
    return pg


def _newton_polish(eng: _Engine, reml: bool, theta: np.ndarray, attempts: list[OptimiserAttempt]) -> np.ndarray:
    """A few Newton steps on the parameters off their bounds (Hessian by central differences of the
    analytic gradient).  Derivative-free and quasi-Newton runs stop where the criterion is flat to
    its rounding error; this puts the gradient at ~1e-10 so that theta is reproducible."""
    free = ~((theta <= eng.lower) | np.isin(np.arange(len(theta)), list(eng.diag_index)) & (theta == 0.0))
    if not free.any():
        return theta
    x = theta.copy()
    f0, g0 = eng.profiled(x, reml, True)
    start, fx, gx, nfev = x.copy(), f0, g0, 1
    for _ in range(6):
        if np.max(np.abs(gx[free])) < 1e-10:
            break
        k = int(free.sum())
        idx = np.flatnonzero(free)
        Hf = np.empty((k, k))
        for c, j in enumerate(idx):  # loop over the (at most four) theta parameters
            h = 1e-4 * max(abs(x[j]), 0.1)
            e = np.zeros(len(x))
            e[j] = h
            Hf[:, c] = (eng.profiled(x + e, reml, True)[1][idx] - eng.profiled(x - e, reml, True)[1][idx]) / (2 * h)
            nfev += 2
        Hf = 0.5 * (Hf + Hf.T)
        if np.any(np.linalg.eigvalsh(Hf) <= 0):
            break
        xn = x.copy()
        xn[idx] -= np.linalg.solve(Hf, gx[idx])
        if np.any(xn < eng.lower):
            break
        fn, gn = eng.profiled(xn, reml, True)
        nfev += 1
        if not fn <= fx + 1e-10:
            break
        x, fx, gx = xn, fn, gn
    attempts.append(OptimiserAttempt("Newton polish", "Newton", tuple(map(float, start)), tuple(map(float, x)),
                                     float(fx), True, nfev, f"largest free gradient {np.max(np.abs(gx[free])):.2g}"))
    return x


def _optimise(eng: _Engine, reml: bool, start: np.ndarray | None
              ) -> tuple[np.ndarray, float, list[OptimiserAttempt], bool, list[str]]:
    lower = eng.lower
    nt = eng.n_theta
    bounds: list[tuple[float | None, float | None]] = [(float(lo) if np.isfinite(lo) else None, None) for lo in lower]

    def fg(x: np.ndarray) -> tuple[float, np.ndarray]:
        return eng.profiled(x, reml, True)

    def f_only(x: np.ndarray) -> float:
        return eng.profiled(np.maximum(x, lower), reml, False)[0]

    attempts: list[OptimiserAttempt] = []
    messages: list[str] = []

    def lbfgsb(name: str, x0: np.ndarray, bnds: list[tuple[float | None, float | None]]) -> OptimiserAttempt:
        r = optimize.minimize(fg, x0, jac=True, method="L-BFGS-B", bounds=bnds,
                              options={"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-9, "maxcor": 20})
        att = OptimiserAttempt(name, "L-BFGS-B", tuple(map(float, x0)), tuple(map(float, r.x)), float(r.fun),
                               bool(r.success), int(r.nfev), str(r.message))
        attempts.append(att)
        return att

    default = np.zeros(nt)
    default[list(eng.diag_index)] = 1.0
    x0 = default if start is None else np.asarray(start, dtype=float)
    if x0.shape != (nt,):
        raise ConfigError(f"start must have {nt} theta values (member, then the group factor); got {x0.shape}.")
    primary = lbfgsb("primary", np.maximum(x0, lower), bounds)
    second_start = 0.1 * default
    lbfgsb("second start", second_start, bounds)
    best = min(attempts, key=lambda a: a.criterion)
    # derivative-free check from the best point so far
    r = optimize.minimize(f_only, np.array(best.theta), method="Powell",
                          bounds=[(lo if np.isfinite(lo) else None, None) for lo in lower],
                          options={"xtol": 1e-8, "ftol": 1e-13, "maxfev": 4000})
    attempts.append(OptimiserAttempt("derivative-free check", "Powell", best.theta,
                                     tuple(map(float, np.maximum(r.x, lower))), float(r.fun),
                                     bool(r.success), int(r.nfev), str(r.message)))
    best = min(attempts, key=lambda a: a.criterion)
    if best.optimiser != "L-BFGS-B":
        lbfgsb("polish", np.array(best.theta), bounds)
        best = min(attempts, key=lambda a: a.criterion)
    # boundary: put near-zero diagonal elements of theta exactly on the bound when no worse
    theta = np.array(best.theta)
    crit = best.criterion
    for j in eng.diag_index:
        if 0.0 < theta[j] < SINGULAR_TOL:
            bj = list(bounds)
            bj[j] = (0.0, 0.0)
            xj = theta.copy()
            xj[j] = 0.0
            att = lbfgsb(f"boundary theta[{j}] = 0", xj, bj)
            if att.criterion <= crit + 1e-9:
                theta = np.array(att.theta)
                theta[j] = 0.0
                crit = eng.profiled(theta, reml, False)[0]
    if crit > best.criterion + 1e-9:
        crit = best.criterion
        theta = np.array(best.theta)
    theta = _newton_polish(eng, reml, theta, attempts)
    f, g = eng.profiled(theta, reml, True)
    pg = _projected_gradient(theta, g, lower)
    grad_ok = bool(np.all(np.isfinite(pg)) and np.max(np.abs(pg)) < GRADIENT_TOL)
    converged = grad_ok and math.isfinite(f)
    if not grad_ok:
        messages.append(f"largest projected gradient component {np.max(np.abs(pg)):.3g} exceeds {GRADIENT_TOL}")
    if primary.criterion > f + CRITERION_TOL:
        msg = (f"the primary L-BFGS-B run stopped at criterion {primary.criterion:.10g}; an alternative "
               f"start/optimiser found {f:.10g} (reported)")
        messages.append(msg)
        warnings.warn(msg, ConvergenceWarning, stacklevel=3)
    return theta, f, attempts, converged, messages


# ---------------------------------------------------------------------------
# result object
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class NestedLMMFit:
    """A fitted nested linear mixed model (see :func:`fit_nested`).

    Variances are on the outcome's scale squared; ``var_slope``, ``cov_group_slope`` and
    ``corr_group_slope`` are NaN when the model has no random slope (``slope_name`` empty).
    ``criterion`` is lme4's ``REMLcrit()`` for REML fits and ``deviance()`` for ML fits;
    ``loglik = -criterion / 2`` is lme4's ``logLik()``.  ``theta`` is lme4's relative covariance
    factor (member first); ``vcov_beta = sigma^2 (X' H^{-1} X)^{-1}``.

    In R: ``m <- lme4::lmer(...)``; ``fixef(m)``, ``vcov(m)``, ``VarCorr(m)``, ``getME(m, "theta")``,
    ``sigma(m)``, ``REMLcrit(m)`` / ``deviance(m)``, ``logLik(m)``, ``isSingular(m)``.
    """

    method: str
    x_names: tuple[str, ...]
    beta: pd.Series
    vcov_beta: pd.DataFrame
    theta: np.ndarray
    theta_names: tuple[str, ...]
    sigma: float
    var_residual: float
    var_group: float
    sd_group: float
    var_member: float
    sd_member: float
    var_slope: float
    cov_group_slope: float
    corr_group_slope: float
    slope_name: str
    variance_components: pd.DataFrame
    criterion: float
    loglik: float
    n_obs: int
    n_members: int
    n_groups: int
    converged: bool
    is_singular: bool
    attempts: tuple[OptimiserAttempt, ...]
    messages: tuple[str, ...]
    _engine: _Engine = field(repr=False, compare=False)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    # -- variance-parameter machinery (lazy, cached) ------------------------------
    @property
    def varpar(self) -> np.ndarray:
        """(theta, sigma): the variance parameters of lmerTest's Satterthwaite method."""
        return np.append(self.theta, self.sigma)

    def _satterthwaite_parts(self) -> tuple[np.ndarray, list[np.ndarray]]:
        if "satt" not in self._cache:
            reml = self.method == "REML"
            x = self.varpar
            with _single_threaded_blas():
                hess = _hessian_from_gradient(lambda v: self._engine.deviance_grad(v, reml), x)
                evals, evecs = np.linalg.eigh(hess)
                pos = evals > 1e-8
                h_inv = (evecs[:, pos] / evals[pos]) @ evecs[:, pos].T
                self._cache["satt"] = (2.0 * h_inv, self._engine.vcov_jacobian(x))
            self._cache["hessian_eigenvalues"] = evals
        out: tuple[np.ndarray, list[np.ndarray]] = self._cache["satt"]
        return out

    def vcov_varpar(self) -> pd.DataFrame:
        """Asymptotic covariance of (theta, sigma): 2 x inverse Hessian of the (RE)ML deviance.

        In R: ``lmerTest::as_lmerModLmerTest(m)@vcov_varpar``.
        """
        A, _ = self._satterthwaite_parts()
        names = list(self.theta_names) + ["sigma"]
        return pd.DataFrame(A, index=names, columns=names)

    def _kr_parts(self) -> dict[str, Any]:
        if "kr" not in self._cache:
            if self.method != "REML":
                raise ConfigError("Kenward-Roger df are defined for REML fits only (as pbkrtest); refit with "
                                  "method='REML' or use df='satterthwaite'.")
            with _single_threaded_blas():
                self._cache["kr"] = _kenward_roger_parts(self)
        out: dict[str, Any] = self._cache["kr"]
        return out

    def vcov_beta_kr(self) -> pd.DataFrame:
        """Kenward–Roger adjusted covariance of beta (Phi_A).  In R: ``pbkrtest::vcovAdj(m)``."""
        PhiA = self._kr_parts()["PhiA"]
        return pd.DataFrame(PhiA, index=list(self.x_names), columns=list(self.x_names))

    # -- inference ----------------------------------------------------------------
    def _as_L(self, L: Any) -> tuple[np.ndarray, list[str]]:
        p = len(self.x_names)
        if isinstance(L, pd.DataFrame):
            missing = [c for c in L.columns if c not in self.x_names]
            if missing:
                raise ConfigError(f"contrast columns {missing} are not fixed-effect terms {list(self.x_names)}.")
            Lm = L.reindex(columns=list(self.x_names), fill_value=0.0).to_numpy(dtype=float)
            labels = [str(i) for i in L.index]
        elif isinstance(L, pd.Series):
            Lm = L.reindex(list(self.x_names), fill_value=0.0).to_numpy(dtype=float)[None, :]
            labels = [str(L.name) if L.name is not None else "0"]
        else:
            Lm = np.atleast_2d(np.asarray(L, dtype=float))
            labels = [str(i) for i in range(Lm.shape[0])]
        if Lm.ndim != 2 or Lm.shape[1] != p:
            raise ConfigError(f"a contrast needs {p} columns (one per fixed-effect term {list(self.x_names)}); "
                              f"got shape {Lm.shape}.")
        if not np.all(np.isfinite(Lm)):
            raise ConfigError("contrast weights must be finite numbers.")
        return Lm, labels

    def _row_inference(self, Lm: np.ndarray, df: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
        """Per row: estimate, se, df and a note (empty when defined)."""
        if df not in _DF_METHODS:
            raise ConfigError(f"df must be one of {_DF_METHODS}; got {df!r}.")
        beta = self.beta.to_numpy()
        V = self.vcov_beta.to_numpy()
        est = Lm @ beta
        var = np.einsum("ij,jk,ik->i", Lm, V, Lm)
        notes = [""] * len(est)
        dfs = np.full(len(est), np.nan)
        if df == "kenward-roger":
            kr = self._kr_parts()
            var = np.einsum("ij,jk,ik->i", Lm, kr["PhiA"], Lm)
            for i in range(len(est)):
                dfs[i], notes[i] = _kr_ddf(kr, V, Lm[i:i + 1])
        elif df == "satterthwaite":
            A, jac = self._satterthwaite_parts()
            for i in range(len(est)):
                dfs[i], notes[i] = _satterthwaite_df(Lm[i], V, A, jac)
        elif df == "residual":
            dfs[:] = self.n_obs - len(self.x_names)
        else:
            notes = ["z test: normal reference distribution (no df)"] * len(est)
        se = np.sqrt(np.where(var >= 0, var, np.nan))
        for i in range(len(est)):
            if not se[i] > 0:
                notes[i] = notes[i] or "the contrast has zero variance (all-zero row?)"
        return est, se, dfs, notes

    def contrast(self, L: Any, *, rhs: Any = 0.0, ci: float = 0.95, df: DfMethod = "satterthwaite") -> pd.DataFrame:
        """Estimate, se, df, t, p and CI of each row of ``L beta - rhs``.

        Parameters
        ----------
        L
            (k, p) array, DataFrame with fixed-effect names as columns (missing columns are 0;
            the index labels the rows) or a Series indexed by term names.
        rhs
            Hypothesised value(s) of ``L beta``; scalar or length k.
        ci
            Confidence level of the interval.
        df
            ``"satterthwaite"`` (lmerTest), ``"kenward-roger"`` (pbkrtest: se from the adjusted
            covariance Phi_A, df from ``Lb_ddf``), ``"residual"`` (n - p) or ``"z"`` (normal).

        Returns
        -------
        DataFrame with columns contrast, estimate, se, df, t, p_value, ci_low, ci_high, df_method, note.

        Notes
        -----
        ``t = (l'beta - rhs) / sqrt(l' V l)``; Satterthwaite ``df = 2 (l'Vl)^2 / (g' A g)`` with
        ``g_k = l' (dV/d varpar_k) l`` and ``A`` the asymptotic covariance of ``varpar = (theta, sigma)``.
        Kenward–Roger uses ``V = Phi_A``.  The CI is ``estimate ± t_{df,(1+ci)/2} se``.

        In R: ``lmerTest::contest(m, L, joint = FALSE, ddf = "Satterthwaite")``.
        """
        _check_ci(ci)
        Lm, labels = self._as_L(L)
        rhs_v = np.broadcast_to(np.asarray(rhs, dtype=float), (Lm.shape[0],))
        est, se, dfs, notes = self._row_inference(Lm, df)
        return _t_table(labels, est, se, dfs, notes, rhs_v, ci, df, "contrast")

    def coef_table(self, ci: float = 0.95, df: DfMethod = "satterthwaite") -> pd.DataFrame:
        """Fixed effects: term, estimate, se, df, t, p_value, ci_low, ci_high, df_method, note.

        With ``df="kenward-roger"`` the se is from pbkrtest's adjusted covariance (as
        ``summary(m, ddf = "Kenward-Roger")`` in lmerTest).

        In R: ``summary(lmerTest::lmer(...), ddf = "Satterthwaite")$coefficients``.
        """
        _check_ci(ci)
        Lm = np.eye(len(self.x_names))
        est, se, dfs, notes = self._row_inference(Lm, df)
        return _t_table(list(self.x_names), est, se, dfs, notes, np.zeros(len(est)), ci, df, "term")

    def f_test(self, L: Any, *, rhs: Any = 0.0, df: DfMethod = "satterthwaite") -> pd.DataFrame:
        """Joint F test of ``L beta = rhs`` (k rows).

        Satterthwaite (lmerTest ``contest``, joint): with ``L V L' = P D P'``, the rows of
        ``P'L`` give independent t statistics ``t_m`` with Satterthwaite ``nu_m``;
        ``F = sum t_m^2 / q`` (q = rank), ``ddf = 2E/(E - q)`` with ``E = sum nu_m/(nu_m - 2)``
        (2 if any nu_m <= 2; the common value when all nu_m agree).
        Kenward–Roger (pbkrtest ``KRmodcomp``): ``F = lambda W / q`` with the Wald statistic
        from Phi_A, scale lambda and ddf m from Kenward & Roger (1997).
        ``"residual"`` and ``"z"`` give the Wald F with n - p denominator df or the chi-square/q.

        Returns
        -------
        one-row DataFrame: f, num_df, den_df, p_value, f_scaling, df_method, note.

        In R: ``lmerTest::contest(m, L, ddf = "Satterthwaite")``;
        ``pbkrtest::KRmodcomp(m, L)``.
        """
        if df not in _DF_METHODS:
            raise ConfigError(f"df must be one of {_DF_METHODS}; got {df!r}.")
        Lm, _ = self._as_L(L)
        rhs_v = np.broadcast_to(np.asarray(rhs, dtype=float), (Lm.shape[0],)).astype(float)
        beta = self.beta.to_numpy()
        V = self.vcov_beta.to_numpy()
        note = ""
        f_scaling = np.nan
        if df == "kenward-roger":
            kr = self._kr_parts()
            qrank = int(np.linalg.matrix_rank(Lm))
            if qrank < Lm.shape[0]:
                raise ConfigError("Kenward-Roger F test needs linearly independent contrast rows; drop redundant "
                                  "rows of L.")
            PhiA = kr["PhiA"]
            d = Lm @ beta - rhs_v
            wald = float(d @ np.linalg.solve(Lm @ PhiA @ Lm.T, d))
            ddf, f_scaling, note = _kr_adjust(kr, V, Lm)
            fval = f_scaling * wald / qrank
            ndf = qrank
        else:
            VL = Lm @ V @ Lm.T
            evals, evecs = np.linalg.eigh(VL)
            idx = np.argsort(evals)[::-1]
            evals, evecs = evals[idx], evecs[:, idx]
            tol = max(math.sqrt(np.finfo(float).eps) * evals[0], 0.0)
            pos = evals > tol
            ndf = int(pos.sum())
            if ndf == 0:
                return _f_row(np.nan, 0, np.nan, np.nan, np.nan, df, "L V L' is zero: nothing to test")
            PtL = evecs[:, pos].T @ Lm
            d = PtL @ beta - evecs[:, pos].T @ rhs_v
            t2 = d**2 / evals[pos]
            fval = float(t2.sum() / ndf)
            if df == "satterthwaite":
                A, jac = self._satterthwaite_parts()
                nus = []
                for m in range(ndf):
                    nu, nt = _satterthwaite_df(PtL[m], V, A, jac)
                    nus.append(nu)
                    note = note or nt
                ddf = _f_ddf_from_t(np.array(nus))
            elif df == "residual":
                ddf = float(self.n_obs - len(self.x_names))
            else:
                ddf = np.nan
                note = "z: chi-square(q)/q reference (no denominator df)"
        if df == "z":
            p = float(stats.chi2.sf(fval * ndf, ndf))
        else:
            p = float(stats.f.sf(fval, ndf, ddf)) if np.isfinite(ddf) and ddf > 0 else np.nan
            if not np.isfinite(ddf):
                note = note or "denominator df undefined"
        return _f_row(fval, ndf, ddf, p, f_scaling, df, note)

    def summary_frame(self) -> pd.DataFrame:
        """One-row overview: method, criterion, loglik, sigma, n_obs, n_members, n_groups, converged, is_singular."""
        return pd.DataFrame([{
            "method": self.method, "criterion": self.criterion, "loglik": self.loglik, "sigma": self.sigma,
            "n_obs": self.n_obs, "n_members": self.n_members, "n_groups": self.n_groups,
            "converged": self.converged, "is_singular": self.is_singular,
        }])


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
def _kenward_roger_parts(fit: NestedLMMFit) -> dict[str, Any]:
    """P_r, W and Phi_A of Kenward & Roger (1997) for the linear parameters (group (co)variances,
    member variance, residual variance).  Loops over groups with dense per-group blocks.
    """
    eng = fit._engine
    n = eng.n
    g_end = np.append(eng.g_start[1:], n)
    sizes = g_end - eng.g_start
    work = float(np.sum(sizes.astype(float) ** 3))
    if work > KR_MAX_CUBIC_WORK:
        raise ConfigError(
            f"Kenward-Roger needs dense per-group covariance blocks; sum of n_i^3 = {work:.3g} exceeds "
            f"{KR_MAX_CUBIC_WORK:.3g} (largest group has {int(sizes.max())} observations). Use "
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


# ---------------------------------------------------------------------------
# the public fitting function
# ---------------------------------------------------------------------------
def _codes(values: Any, name: str, n: int) -> np.ndarray:
    arr = pd.Series(np.asarray(values)) if not isinstance(values, pd.Series) else values.reset_index(drop=True)
    if len(arr) != n:
        raise ValidationError(f"{name} has {len(arr)} values but y has {n}; pass one {name} per observation.")
    if arr.isna().any():
        raise ValidationError(f"{name} has {int(arr.isna().sum())} missing value(s); drop those rows first.")
    codes, _ = pd.factorize(arr, sort=True)
    return codes.astype(np.int64)


def fit_nested(y: Any, X: Any, group: Any, member: Any, *, Z_slope: Any = None, method: str = "REML",
               x_names: Any = None, slope_name: str = "time", start: Any = None) -> NestedLMMFit:
    """Fit ``y = X beta + u_group (+ t s_group) + v_member(group) + e`` by REML or ML.

    Parameters
    ----------
    y
        Outcome, length n, finite.
    X
        Fixed-effects design (n, p), full column rank; a DataFrame's columns or a patsy
        DesignMatrix's column names name the terms (or pass ``x_names``).  Include the
        intercept column yourself (e.g. patsy's).
    group, member
        Group label and member label of each observation.  Members are nested in groups:
        a member is a (group, member) pair, as lme4's ``group:member``.
    Z_slope
        Optional numeric covariate t (length n) for a random slope by group correlated
        with the group intercept: lme4's ``(1 + t | group) + (1 | group:member)``.
    method
        ``"REML"`` (default) or ``"ML"``.
    slope_name
        Label of the slope in the variance-component table.
    start
        Optional starting theta (member, then the group factor, column-major lower triangle).

    Returns
    -------
    NestedLMMFit

    Notes
    -----
    Profiled criteria (Bates et al. 2015, eqs. 34 and 41), with ``H = I + Z Lambda_theta Lambda_theta' Z'``,
    ``r = y - X beta_hat`` and ``PWRSS = r' H^{-1} r``::

        ML:    -2 log L(theta) = log|H| + n (1 + log(2 pi PWRSS / n))
        REML:  -2 log L_R(theta) = log|H| + log|X'H^{-1}X| + (n-p)(1 + log(2 pi PWRSS / (n-p)))

    minimised over theta by L-BFGS-B with the analytic gradient (lower bound 0 on the
    diagonal of the factors) from lme4's start (identity), then from a second start
    (0.1 x identity), then a derivative-free Powell search from the better of the two
    (re-polished by L-BFGS-B if it improved).  The best criterion is reported; every run
    is kept in ``attempts``.  A diagonal theta below 1e-4 is put exactly on 0 when that is
    no worse (1e-9), and such fits are flagged ``is_singular`` (lme4's isSingular rule).
    ``converged`` requires a projected gradient below 1e-3; a ConvergenceWarning is issued
    when an alternative start/optimiser beat the primary run by more than 1e-6.

    In R: ``lme4::lmer(y ~ X - 1 + (1 | group) + (1 | group:member), REML = TRUE)``.
    """
    if method not in ("REML", "ML"):
        raise ConfigError(f"method must be 'REML' or 'ML'; got {method!r}.")
    yv = np.asarray(y, dtype=float).ravel()
    n = len(yv)
    if isinstance(X, pd.DataFrame):
        names = [str(c) for c in X.columns] if x_names is None else [str(c) for c in x_names]
        Xm = X.to_numpy(dtype=float)
    else:
        Xm = np.asarray(X, dtype=float)
        if Xm.ndim == 1:
            Xm = Xm[:, None]
        info = getattr(X, "design_info", None)  # a patsy DesignMatrix carries its column names
        if x_names is not None:
            names = [str(c) for c in x_names]
        elif info is not None and len(getattr(info, "column_names", ())) == Xm.shape[1]:
            names = [str(c) for c in info.column_names]
        else:
            names = [f"x{j}" for j in range(Xm.shape[1])]
    if Xm.ndim != 2 or Xm.shape[0] != n:
        raise ValidationError(f"X must have one row per observation ({n}); got shape {Xm.shape}.")
    p = Xm.shape[1]
    if len(names) != p:
        raise ConfigError(f"x_names has {len(names)} names for {p} columns of X.")
    if not np.all(np.isfinite(yv)):
        raise ValidationError("y has missing or infinite values; drop those rows before fitting.")
    if not np.all(np.isfinite(Xm)):
        raise ValidationError("X has missing or infinite values; drop those rows before fitting.")
    gcode = _codes(group, "group", n)
    m_raw = _codes(member, "member", n)
    t = None
    if Z_slope is not None:
        t = np.asarray(Z_slope, dtype=float).ravel()
        if len(t) != n or not np.all(np.isfinite(t)):
            raise ValidationError("Z_slope must be a finite number for every observation.")
    if n <= p:
        raise ValidationError(f"{n} observations cannot estimate {p} fixed effects and the variance components.")
    scale = np.sqrt(np.sum(Xm**2, axis=0))
    if np.any(scale == 0):
        raise ConfigError(f"X column(s) {[names[j] for j in np.flatnonzero(scale == 0)]} are all zero; drop them.")
    sv = np.linalg.svd(Xm / scale, compute_uv=False) if n * p <= 5_000_000 else np.sqrt(
        np.clip(np.linalg.eigvalsh((Xm / scale).T @ (Xm / scale)), 0, None))
    if sv.min() <= max(n, p) * np.finfo(float).eps * sv.max() * (1 if n * p <= 5_000_000 else 1e4):
        raise ConfigError("X is rank deficient (a column is a combination of others); drop the redundant "
                          "column(s), e.g. a dummy for every level plus an intercept.")
    with _single_threaded_blas():
        return _fit(yv, Xm, names, gcode, m_raw, t, method, slope_name, start)


def _fit(yv: np.ndarray, Xm: np.ndarray, names: list[str], gcode: np.ndarray, m_raw: np.ndarray,
         t: np.ndarray | None, method: str, slope_name: str, start: Any) -> NestedLMMFit:
    n = len(yv)
    eng = _Engine(yv, Xm, gcode, m_raw, t)
    if eng.M >= n:
        raise ValidationError("every member has a single observation, so the member variance cannot be separated "
                              "from the residual; use a model without the member term.")
    if eng.G < 2:
        raise ValidationError("a single group: the group variance cannot be estimated; use a model without it.")
    if float(np.var(yv)) == 0.0:
        raise ValidationError("y is constant; there is nothing to model.")
    reml = method == "REML"
    theta, crit, attempts, converged, messages = _optimise(eng, reml, None if start is None else np.asarray(start))
    est = eng.estimates(theta, reml)
    sigma = math.sqrt(est["sigma2"])
    s2 = est["sigma2"]
    Lam = eng.lam(theta)
    Sg = s2 * (Lam @ Lam.T)
    var_m = s2 * theta[0] ** 2
    is_singular = bool(np.any(theta[list(eng.diag_index)] < SINGULAR_TOL))
    rows = [("member", "(Intercept)", "", var_m, math.sqrt(var_m)),
            ("group", "(Intercept)", "", Sg[0, 0], math.sqrt(Sg[0, 0]))]
    if eng.q == 2:
        vs = Sg[1, 1]
        cov = Sg[1, 0]
        corr = cov / math.sqrt(Sg[0, 0] * vs) if Sg[0, 0] > 0 and vs > 0 else math.nan
        if not math.isfinite(corr):
            messages.append("correlation of group intercept and slope undefined: a variance is zero")
        rows += [("group", slope_name, "", vs, math.sqrt(vs)), ("group", "(Intercept)", slope_name, cov, corr)]
        theta_names: tuple[str, ...] = ("member.(Intercept)", "group.(Intercept)", f"group.{slope_name}.(Intercept)",
                       f"group.{slope_name}")
    else:
        vs = cov = corr = math.nan
        theta_names = ("member.(Intercept)", "group.(Intercept)")
    rows.append(("residual", "", "", s2, sigma))
    vc = pd.DataFrame(rows, columns=["component", "term1", "term2", "vcov", "sd_cor"])
    return NestedLMMFit(
        method=method, x_names=tuple(names),
        beta=pd.Series(est["beta"], index=names, name="estimate"),
        vcov_beta=pd.DataFrame(est["vcov"], index=names, columns=names),
        theta=theta, theta_names=theta_names, sigma=sigma, var_residual=s2,
        var_group=float(Sg[0, 0]), sd_group=math.sqrt(Sg[0, 0]), var_member=float(var_m),
        sd_member=math.sqrt(var_m), var_slope=float(vs), cov_group_slope=float(cov), corr_group_slope=float(corr),
        slope_name=slope_name if eng.q == 2 else "", variance_components=vc, criterion=float(crit),
        loglik=-0.5 * float(crit), n_obs=n, n_members=eng.M, n_groups=eng.G, converged=converged,
        is_singular=is_singular, attempts=tuple(attempts), messages=tuple(messages), _engine=eng,
    )
