"""The statsmodels path of :func:`groupeval.mixed_model` (``engine="statsmodels"``): MixedLM, then GEE.

Internal to :mod:`groupeval.statistics.mixed`; kept as an option and as a cross-check of the
native engine (:mod:`groupeval.statistics.lmm`).  Inference on this path is Wald (normal):
statsmodels gives no small-sample degrees of freedom.
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..base.exceptions import ValidationError
from ._mixed_design import MixedDesign

__all__ = ["OPTIMIZERS", "StatsmodelsFit", "fit_statsmodels", "gls_cov"]

#: Optimisers tried in turn by the statsmodels path before it falls back to GEE.
OPTIMIZERS = ("bfgs", "lbfgs", "powell", "nm", "cg")

# tight tolerances so REML estimates agree with lme4 to ~1e-6
_OPT_KW: dict[str, dict[str, Any]] = {
    "bfgs": {"gtol": 1e-7, "maxiter": 2000}, "lbfgs": {"maxiter": 2000}, "cg": {"gtol": 1e-7, "maxiter": 5000},
    "powell": {"maxiter": 20000}, "nm": {"maxiter": 20000}}


@dataclass(frozen=True)
class StatsmodelsFit:
    """What the statsmodels path returns to :func:`mixed_model`."""

    method: str  # "mixedlm" or "gee"
    optimizer: str | None
    params: np.ndarray
    cov: np.ndarray
    var_group: float
    var_member: float
    var_residual: float
    var_slope: float
    cov_group_slope: float
    loglik: float
    converged: bool
    notes: tuple[str, ...]
    attempts: pd.DataFrame
    description: str
    raw: Any


def gls_cov(X: np.ndarray, member: np.ndarray, group: np.ndarray, s2g: float, s2m: float,
            s2e: float) -> np.ndarray:
    r"""Covariance of the fixed effects :math:`(X'V^{-1}X)^{-1}` for nested random intercepts.

    :math:`V_g = s^2_e I + s^2_m \,\mathrm{blockdiag}(J_{n_i}) + s^2_g J`, inverted in closed form
    (Sherman-Morrison twice), vectorised over members and groups: lme4's ``vcov()`` at the given
    variance components (statsmodels' Hessian-based SEs differ by ~1e-4).
    """
    key = group.astype(np.int64) * (int(member.max()) + 1) + member
    mcode, _ = pd.factorize(key)
    gcode_m = pd.factorize(pd.Series(group).groupby(mcode).first().to_numpy())[0]
    p = X.shape[1]
    n_i = np.bincount(mcode).astype(float)
    S = np.zeros((len(n_i), p))
    np.add.at(S, mcode, X)
    c = s2m / (s2e + n_i * s2m)
    w = 1.0 / (s2e + n_i * s2m)
    G = int(gcode_m.max()) + 1
    T = np.zeros((G, p))
    np.add.at(T, gcode_m, w[:, None] * S)
    q = np.bincount(gcode_m, weights=n_i * w, minlength=G)
    k = s2g / (1 + s2g * q)
    info = (X.T @ X - (S * c[:, None]).T @ S) / s2e - (T * k[:, None]).T @ T
    return np.linalg.inv(info)


def _member_vc(gcode: np.ndarray, mcode: np.ndarray) -> tuple[Any, np.ndarray]:
    """statsmodels' variance-component spec: per group, an indicator matrix of its members."""
    from statsmodels.regression.mixed_linear_model import VCSpec

    order = np.argsort(gcode, kind="stable")
    key = gcode[order] * (int(mcode.max()) + 1) + mcode[order]
    gs = gcode[order]
    bounds = np.flatnonzero(np.diff(gs)) + 1
    starts, ends = np.r_[0, bounds], np.r_[bounds, len(gs)]
    mats, cols = [], []
    for a, b in zip(starts, ends, strict=True):  # statsmodels' interface is one matrix per group (not per member)
        local = pd.factorize(key[a:b])[0]
        k = int(local.max()) + 1
        M = np.zeros((b - a, k))
        M[np.arange(b - a), local] = 1.0
        mats.append(M)
        cols.append([f"m{j}" for j in range(k)])
    return VCSpec(["member"], [cols], [mats]), order


def _is_failure(msgs: list[str]) -> bool:
    bad = ("failed to converge", "did not converge", "retrying", "singular matrix", "gradient optimization failed")
    return any(any(b in m.lower() for b in bad) for m in msgs)


def fit_statsmodels(d: MixedDesign, *, reml: bool, random_slope: bool,
                    optimizers: Sequence[str]) -> StatsmodelsFit:
    """statsmodels MixedLM with the same design; each optimiser in turn, then GEE (exchangeable, robust SEs)."""
    import statsmodels.api as sm
    from statsmodels.regression.mixed_linear_model import MixedLM
    from statsmodels.tools.sm_exceptions import ConvergenceWarning as SMConvergenceWarning

    vc, order = _member_vc(d.gcode, d.mcode)
    y, X, g = d.y[order], d.X[order], d.gcode[order]
    if random_slope:
        assert d.t_numeric is not None
        Z = np.column_stack([np.ones(len(y)), d.t_numeric[order]])
    else:
        Z = np.ones((len(y), 1))
    model = MixedLM(y, X, g, exog_re=Z, exog_vc=vc)
    notes: list[str] = []
    rows: list[dict[str, Any]] = []
    for opt in optimizers:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                res = model.fit(reml=reml, method=[opt], **_OPT_KW.get(opt, {}))
            except (np.linalg.LinAlgError, ValueError, FloatingPointError) as exc:
                notes.append(f"MixedLM ({opt}) failed: {exc}")
                rows.append({"name": opt, "optimiser": f"statsmodels {opt}", "criterion": np.nan, "success": False,
                             "message": str(exc)})
                continue
        msgs = [str(w.message) for w in caught if issubclass(w.category, (SMConvergenceWarning, RuntimeWarning))]
        finite = bool(np.all(np.isfinite(res.fe_params)) and np.all(np.isfinite(np.asarray(res.bse_fe))))
        ok = bool(res.converged) and finite and not _is_failure(msgs)
        rows.append({"name": opt, "optimiser": f"statsmodels {opt}", "criterion": -2.0 * float(res.llf),
                     "success": ok, "message": "; ".join(msgs)})
        if not ok:
            why = "; ".join(msgs) or ("not converged" if not res.converged else "non-finite standard errors")
            notes.append(f"MixedLM ({opt}) did not converge: {why}")
            continue
        notes.extend(f"MixedLM ({opt}): {m}" for m in msgs)
        cov_re = np.asarray(res.cov_re, dtype=float)
        s2g = float(cov_re[0, 0])
        s2m = float(res.vcomp[0]) if len(res.vcomp) else 0.0
        s2e = float(res.scale)
        if random_slope:
            cov = np.asarray(res.cov_params(), dtype=float)[:X.shape[1], :X.shape[1]]
        else:
            cov = gls_cov(X, d.mcode[order], g, s2g, s2m, s2e)
        return StatsmodelsFit(
            method="mixedlm", optimizer=opt, params=np.asarray(res.fe_params, dtype=float), cov=cov, var_group=s2g,
            var_member=s2m, var_residual=s2e, var_slope=float(cov_re[1, 1]) if random_slope else np.nan,
            cov_group_slope=float(cov_re[1, 0]) if random_slope else np.nan, loglik=float(res.llf), converged=True,
            notes=tuple(notes), attempts=pd.DataFrame(rows),
            description=f"linear mixed model (statsmodels MixedLM, {'REML' if reml else 'ML'}, {opt})", raw=res)
    gee = sm.GEE(y, X, groups=g, cov_struct=sm.cov_struct.Exchangeable(), family=sm.families.Gaussian())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = gee.fit()
    except (np.linalg.LinAlgError, ValueError) as exc:
        raise ValidationError("the mixed model could not be fitted with any statsmodels optimiser, and the GEE "
                              f"fallback failed too ({exc}). Use engine='native', or check for timepoints or groups "
                              "with very few scores. Details: " + " | ".join(notes)) from exc
    notes.append("fallback: GEE with exchangeable working correlation and cluster-robust SEs by group")
    rows.append({"name": "gee", "optimiser": "statsmodels GEE", "criterion": np.nan, "success": True, "message": ""})
    return StatsmodelsFit(
        method="gee", optimizer=None, params=np.asarray(result.params, dtype=float),
        cov=np.asarray(result.cov_params(), dtype=float), var_group=np.nan, var_member=np.nan, var_residual=np.nan,
        var_slope=np.nan, cov_group_slope=np.nan, loglik=np.nan, converged=False, notes=tuple(notes),
        attempts=pd.DataFrame(rows),
        description="GEE (Gaussian, exchangeable within group, cluster-robust SEs by group)", raw=result)
