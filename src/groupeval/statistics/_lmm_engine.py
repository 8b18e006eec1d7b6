"""Sufficient statistics, profiled (RE)ML criterion and analytic derivatives of the nested LMM.

Internal to :mod:`groupeval.statistics.lmm` (see its docstring for the model and the
parameterisation).  :class:`_Engine` sorts the data once, accumulates every per-member and
per-group sum the criterion needs by segment sums, and evaluates the criterion, its analytic
gradient, the unprofiled deviance gradient in (theta, sigma) and the Jacobian of the
fixed-effects covariance, each in O(G K q p^2) for G groups and K distinct member sizes.
"""
from __future__ import annotations

import contextlib
import ctypes
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
from scipy import sparse

__all__ = ["SINGLE_THREADED_BLAS", "_Engine", "_chol_solve", "_single_threaded_blas"]

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
        # with q = 1 every product below is of 1 x 1 matrices: elementwise multiplication (broadcast over
        # groups) is the same and avoids numpy's per-matrix overhead of stacked matmul
        mm = np.multiply if self.q == 1 else np.matmul
        tm = float(theta[0])
        t2 = tm * tm
        ks = self.ksizes
        den = 1.0 + ks * t2
        w = t2 / den
        A = self.WW - np.tensordot(w, self.S, 1)
        B = self.ZW - _wsum(w, self.T)
        C = self.ZZ - _wsum(w, self.U)
        Lam = self.lam(theta)
        LtC = np.einsum("rq,grs->gqs", Lam, C)  # Lambda' C
        Mm = np.eye(self.q) + mm(LtC, Lam)
        Minv, logdetM = self._inv_logdet(Mm)
        N = mm(Minv, Lam.T)  # M^{-1} Lambda'   (G, q, q)
        NB = mm(N, B)  # (G, q, a)
        KB = mm(Lam, NB)  # Lambda M^{-1} Lambda' B
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
        dB = -_wsum(dw, self.T)
        dC = -_wsum(dw, self.U)
        Xm = dB.reshape(-1, a).T @ KB.reshape(-1, a)
        dCKB = mm(dC, KB)
        dQ = dA - (Xm + Xm.T) + KB.reshape(-1, a).T @ dCKB.reshape(-1, a)
        dQs.append(0.5 * (dQ + dQ.T))
        Kmat = mm(Lam, N)  # (G, q, q)
        dld = float(np.sum(self.kcount * 2.0 * ks * tm / den) + np.einsum("gqr,grq->", Kmat, dC))
        dlds.append(dld)
        # Lambda entries
        Bt = np.swapaxes(B, 1, 2)  # (G, a, q)
        for E in self._E:
            Y = mm(LtC, E)  # Lambda' C E
            dM = Y + np.swapaxes(Y, 1, 2)
            # dK = E N + N' E' - N' dM N  ->  B' dK B
            term1 = np.swapaxes(mm(Bt, E), 1, 2).reshape(-1, a).T @ NB.reshape(-1, a)
            dMNB = mm(dM, NB)
            term3 = NB.reshape(-1, a).T @ dMNB.reshape(-1, a)
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


def _wsum(w: np.ndarray, T: np.ndarray) -> np.ndarray:
    """``sum_k w[k] T[:, k]`` (T of shape (G, K, ...)); one multiplication when K = 1."""
    if len(w) == 1:
        return float(w[0]) * T[:, 0]
    return np.tensordot(T, w, axes=([1], [0])) if T.ndim == 2 else np.einsum("k,gk...->g...", w, T)


def _chol_solve(cf: np.ndarray, b: np.ndarray) -> np.ndarray:
    from scipy.linalg import solve_triangular

    z = solve_triangular(cf, b, lower=True, check_finite=False)
    return solve_triangular(cf.T, z, lower=False, check_finite=False)
