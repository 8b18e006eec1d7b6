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

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from ..base.exceptions import ConfigError, ValidationError
from ._lmm_df import (
    _check_ci,
    _f_ddf_from_t,
    _f_row,
    _hessian_from_gradient,
    _kenward_roger_parts,
    _kr_adjust,
    _kr_ddf,
    _satterthwaite_df,
    _t_table,
)
from ._lmm_engine import SINGLE_THREADED_BLAS, _Engine, _single_threaded_blas
from ._lmm_optim import CRITERION_TOL, GRADIENT_TOL, SINGULAR_TOL, STEP_TOL, OptimiserAttempt, _optimise

__all__ = [
    "fit_nested",
    "NestedLMMFit",
    "OptimiserAttempt",
    "KR_MAX_CUBIC_WORK",
    "CRITERION_TOL",
    "GRADIENT_TOL",
    "SINGULAR_TOL",
    "STEP_TOL",
    "SINGLE_THREADED_BLAS",
]

DfMethod = Literal["satterthwaite", "kenward-roger", "residual", "z"]
_DF_METHODS = ("satterthwaite", "kenward-roger", "residual", "z")

#: Kenward–Roger builds each group's dense covariance block; it refuses when
#: sum over groups of n_i**3 exceeds this (about 30 groups of 700 observations).
KR_MAX_CUBIC_WORK = 1.0e10


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
                self._cache["kr"] = _kenward_roger_parts(self, KR_MAX_CUBIC_WORK)
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


# ---------------------------------------------------------------------------
# the public fitting function
# ---------------------------------------------------------------------------
def _codes(values: Any, name: str, n: int) -> np.ndarray:
    if isinstance(values, np.ndarray) and values.dtype.kind in "iu" and values.ndim == 1 and len(values) == n:
        if n and values.min() >= 0 and np.bincount(values).all():  # already codes 0..k-1 (e.g. from a wrapper)
            return values.astype(np.int64, copy=False)
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
    scale = np.sqrt(np.einsum("ij,ij->j", Xm, Xm))
    if np.any(scale == 0):
        raise ConfigError(f"X column(s) {[names[j] for j in np.flatnonzero(scale == 0)]} are all zero; drop them.")
    if n * p <= 5_000_000:
        sv = np.linalg.svd(Xm / scale, compute_uv=False)
    else:  # large n: singular values from the (column-scaled) cross-product, without copying X
        sv = np.sqrt(np.clip(np.linalg.eigvalsh((Xm.T @ Xm) / np.outer(scale, scale)), 0, None))
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
        corr = min(1.0, max(-1.0, cov / math.sqrt(Sg[0, 0] * vs))) if Sg[0, 0] > 0 and vs > 0 else math.nan
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
