"""Optimisation of the nested LMM's profiled criterion, with a documented fallback.

Internal to :mod:`groupeval.statistics.lmm`: L-BFGS-B with the analytic gradient from lme4's
start and from a second start, a derivative-free Powell check, the boundary rule of lme4's
``isSingular`` and a Newton polish; every run is kept as an :class:`OptimiserAttempt`.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from ..base.exceptions import ConfigError, ConvergenceWarning
from ._lmm_engine import _Engine

__all__ = ["CRITERION_TOL", "GRADIENT_TOL", "OptimiserAttempt", "SINGULAR_TOL", "STEP_TOL", "_optimise"]

#: Two optimiser attempts whose criteria differ by less than this agree.
CRITERION_TOL = 1e-6
#: A diagonal element of theta below this is a boundary (singular) fit, as lme4's isSingular.
SINGULAR_TOL = 1e-4
#: Largest projected-gradient component (criterion units per unit theta) of a converged fit.
GRADIENT_TOL = 1e-3
#: ... or, when the gradient is dominated by rounding (millions of rows), a Newton step H^-1 g below
#: this (relative to the largest theta): theta is then at its optimum to about 1e-7 of its size.
STEP_TOL = 1e-7
_LOG2PI = math.log(2.0 * math.pi)

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


def _free_index(eng: _Engine, theta: np.ndarray) -> np.ndarray:
    """Indices of the theta parameters off their bounds (a diagonal theta put exactly on 0 is on its bound)."""
    free = ~((theta <= eng.lower) | np.isin(np.arange(len(theta)), list(eng.diag_index)) & (theta == 0.0))
    return np.flatnonzero(free)


def _free_hessian(eng: _Engine, reml: bool, x: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Hessian of the criterion in the free parameters, by central differences of the analytic gradient."""
    k = len(idx)
    Hf = np.empty((k, k))
    for c, j in enumerate(idx):  # loop over the (at most four) theta parameters
        h = 1e-4 * max(abs(x[j]), 0.1)
        e = np.zeros(len(x))
        e[j] = h
        Hf[:, c] = (eng.profiled(x + e, reml, True)[1][idx] - eng.profiled(x - e, reml, True)[1][idx]) / (2 * h)
    return 0.5 * (Hf + Hf.T)


def _newton_polish(eng: _Engine, reml: bool, theta: np.ndarray, attempts: list[OptimiserAttempt]) -> np.ndarray:
    """A few Newton steps on the parameters off their bounds (Hessian by central differences of the
    analytic gradient).  Derivative-free and quasi-Newton runs stop where the criterion is flat to
    its rounding error; this puts the gradient at ~1e-10 (or at the rounding error of the
    criterion's derivatives, which grows with n) so that theta is reproducible."""
    idx = _free_index(eng, theta)
    if not len(idx):
        return theta
    x = theta.copy()
    f0, g0 = eng.profiled(x, reml, True)
    start, fx, gx, nfev = x.copy(), f0, g0, 1
    for _ in range(6):
        if np.max(np.abs(gx[idx])) < 1e-10:
            break
        Hf = _free_hessian(eng, reml, x, idx)
        nfev += 2 * len(idx)
        if np.any(np.linalg.eigvalsh(Hf) <= 0):
            break
        xn = x.copy()
        xn[idx] -= np.linalg.solve(Hf, gx[idx])
        if np.any(xn < eng.lower):
            break
        fn, gn = eng.profiled(xn, reml, True)
        nfev += 1
        if not fn <= fx + 1e-10 + 1e-14 * abs(fx):  # no worse, up to the criterion's rounding
            break
        x, fx, gx = xn, fn, gn
    attempts.append(OptimiserAttempt("Newton polish", "Newton", tuple(map(float, start)), tuple(map(float, x)),
                                     float(fx), True, nfev, f"largest free gradient {np.max(np.abs(gx[idx])):.2g}"))
    return x


def _newton_step_small(eng: _Engine, reml: bool, theta: np.ndarray, g: np.ndarray) -> tuple[bool, float]:
    """Is the Newton step H^-1 g on the free parameters below ``STEP_TOL`` (lme4's relative-gradient idea)?

    With millions of observations the gradient carries a rounding error of order n * eps times
    the criterion's scale; the Newton step measures how far theta is from the optimum in theta's
    own units, whatever n.
    """
    idx = _free_index(eng, theta)
    if not len(idx):
        return True, 0.0
    Hf = _free_hessian(eng, reml, theta, idx)
    if np.any(np.linalg.eigvalsh(Hf) <= 0):
        return False, math.inf
    step = float(np.max(np.abs(np.linalg.solve(Hf, g[idx]))))
    return step < STEP_TOL * max(1.0, float(np.max(np.abs(theta)))), step


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
    if not grad_ok and np.all(np.isfinite(pg)):
        bound = np.setdiff1d(np.arange(len(theta)), _free_index(eng, theta))
        step_ok, step = _newton_step_small(eng, reml, theta, g)
        grad_ok = step_ok and not (len(bound) and np.max(np.abs(pg[bound])) >= GRADIENT_TOL)
        if not grad_ok:
            messages.append(f"largest projected gradient component {np.max(np.abs(pg)):.3g} exceeds {GRADIENT_TOL} "
                            f"and the Newton step {step:.3g} exceeds {STEP_TOL}")
    converged = grad_ok and math.isfinite(f)
    if primary.criterion > f + CRITERION_TOL + 1e-13 * abs(f):
        msg = (f"the primary L-BFGS-B run stopped at criterion {primary.criterion:.10g}; an alternative "
               f"start/optimiser found {f:.10g} (reported)")
        messages.append(msg)
        warnings.warn(msg, ConvergenceWarning, stacklevel=3)
    return theta, f, attempts, converged, messages
