"""Cox proportional-hazards fits and group-clustered variances, with late entry.

:func:`cox_fit` (Newton-Raphson, Breslow or Efron ties), the score residuals
and per-member information contributions, and the clustered variances of the
coefficients: Lin-Wei (R ``coxph(cluster =)``), CR1 (G/(G-1) with t(G-1)) and
the Mancl-DeRouen bias-corrected sandwich (t(G-p)), plus their Wald tests.
Arrays in, so :func:`groupeval.cox_model` can pass lifelines' coefficients.

References
----------
Lin DY, Wei LJ (1989). The robust inference for the Cox proportional hazards
model. JASA 84:1074-1078.
Mancl LA, DeRouen TA (2001). A covariance estimator for GEE with improved
small-sample properties. Biometrics 57:126-134.
Fay MP, Graubard BI (2001). Small-sample adjustments for Wald-type tests
using sandwich estimators. Biometrics 57:1198-1206.
Therneau TM, Grambsch PM (2000). Modeling Survival Data: Extending the Cox
Model. Springer.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..base.exceptions import ConfigError, ConvergenceWarning, SmallSampleWarning, ValidationError
from ._survival_core import (
    MIN_CLUSTERS_LARGE_SAMPLE,
    CoxVarianceMethod,
    Ties,
    _as_float,
    _bincount_cols,
    _check_ci,
    _check_ties,
    _clusters,
    _cox_pieces,
    _design,
    _prep,
)

__all__ = ["CoxFit", "cox_fit", "cox_score_residuals", "cox_information_contributions", "CoxClusterVariance",
           "cox_cluster_variance", "cox_cluster_wald"]


def cox_score_residuals(X: Any, time: Any, event: Any, entry: Any = None, beta: Any = None, *,
                        ties: Ties = "efron") -> np.ndarray:
    """Score residuals of a Cox model (counting process; Breslow or Efron ties).

    Parameters
    ----------
    X
        Design matrix (members x terms), without an intercept.
    time, event, entry
        As :func:`km_clustered`.
    beta
        Coefficients at which to evaluate (default zeros: the log-rank scores).
    ties
        ``"efron"`` (default, R's default) or ``"breslow"``.

    Returns
    -------
    numpy.ndarray
        members x terms; the column sums are the score vector :math:`U(\\beta)`.

    Notes
    -----
    Breslow: :math:`U_i = \\int (x_i - \\bar x(t))\\,dM_i(t)`, with
    :math:`dM_i = dN_i - Y_i w_i d\\hat\\Lambda_0`, :math:`w_i = e^{x_i\\beta}`,
    :math:`\\bar x = S_1/S_0` over the risk set :math:`entry < t \\le time`
    (Therneau & Grambsch 2000, sec. 4.6).  Efron: each of :math:`d` tied
    deaths is split into sub-steps :math:`r = 0..d-1` in which the tied
    deaths carry weight :math:`1 - r/d` (Therneau & Grambsch 2000, sec. 3.3).

    In R: ``residuals(coxph(Surv(entry, time, event) ~ X, init = beta, iter.max = 0, ties = ties),
    type = "score")``.
    """
    _check_ties(ties)
    stop, ev, start = _prep(time, event, entry)
    Xa = _design(X, len(stop))
    bet = np.zeros(Xa.shape[1]) if beta is None else _as_float(beta, "beta")
    res = _cox_pieces(Xa, start, stop, ev, bet, ties, residuals=True).residuals
    assert res is not None
    return res


def cox_information_contributions(X: Any, time: Any, event: Any, entry: Any = None, beta: Any = None, *,
                                  ties: Ties = "efron") -> np.ndarray:
    """Each member's share of the Cox information matrix (members x terms x terms).

    Notes
    -----
    :math:`J_i = \\int Y_i(t) w_i (x_i - \\bar x(t))^{\\otimes 2} d\\hat\\Lambda_0(t)`
    (Efron: per sub-step, tied deaths weighted :math:`1 - r/d`), so that
    :math:`\\sum_i J_i = \\mathcal I(\\beta)` exactly.  Summed over a cluster it
    is the cluster's "leverage" in the Mancl-DeRouen correction
    (:func:`cox_cluster_variance`).

    In R: no single call; ``tests/reference/survival_cluster.R`` builds it
    (Breslow ties) by a loop over the event times of a ``coxph`` fit.
    """
    _check_ties(ties)
    stop, ev, start = _prep(time, event, entry)
    Xa = _design(X, len(stop))
    bet = np.zeros(Xa.shape[1]) if beta is None else _as_float(beta, "beta")
    out = _cox_pieces(Xa, start, stop, ev, bet, ties, contributions=True).info_contrib
    assert out is not None
    return out


@dataclass(frozen=True)
class CoxFit:
    """A Cox partial-likelihood fit (Newton-Raphson with step halving).

    Attributes
    ----------
    coef : numpy.ndarray
        :math:`\\hat\\beta`.
    information : numpy.ndarray
        :math:`\\mathcal I(\\hat\\beta)`; its inverse is the model-based variance.
    loglik : float
        Log partial likelihood at :math:`\\hat\\beta`.
    loglik_null : float
        At :math:`\\beta = 0`.
    iterations : int
        Newton steps taken.
    converged : bool
        Whether the relative change in the log likelihood fell below 1e-10.
    ties : str
        ``"efron"`` or ``"breslow"``.
    """

    coef: np.ndarray
    information: np.ndarray
    loglik: float
    loglik_null: float
    iterations: int
    converged: bool
    ties: str


def cox_fit(X: Any, time: Any, event: Any, entry: Any = None, *, ties: Ties = "efron",
            max_iter: int = 30, tol: float = 1e-10) -> CoxFit:
    """Fit a Cox proportional-hazards model with late entry (no lifelines needed).

    Parameters
    ----------
    X
        Design matrix (members x terms), no intercept.
    time, event, entry
        As :func:`km_clustered`.
    ties
        ``"efron"`` (default) or ``"breslow"``.
    max_iter, tol
        Newton iterations and convergence tolerance on the log likelihood
        (as R's ``coxph.control(iter.max, eps)``).

    Returns
    -------
    CoxFit

    Notes
    -----
    Maximises the log partial likelihood (Cox 1972; Efron 1977) by
    Newton-Raphson from 0 with step halving, as R's ``coxph``.  Used by the
    Monte Carlo benchmark and available to :func:`cox_cluster_variance`;
    monotone likelihoods (a level without dropouts) raise a
    :class:`~groupeval.exceptions.ConvergenceWarning`.

    In R: ``coxph(Surv(entry, time, event) ~ X, ties = ties)``.
    """
    _check_ties(ties)
    stop, ev, start = _prep(time, event, entry)
    Xa = _design(X, len(stop))
    p = Xa.shape[1]
    if not ev.any():
        raise ValidationError("cox_fit: no events; there is nothing to model.")
    beta = np.zeros(p)
    cur = _cox_pieces(Xa, start, stop, ev, beta, ties)
    ll0 = cur.loglik
    converged = False
    iterations = 0
    for _ in range(max_iter):  # Newton iterations, not members
        iterations += 1
        try:
            step = np.linalg.solve(cur.information, cur.score)
        except np.linalg.LinAlgError:
            step = np.linalg.pinv(cur.information) @ cur.score
        new_beta = beta + step
        new = _cox_pieces(Xa, start, stop, ev, new_beta, ties)
        halvings = 0
        while (not np.isfinite(new.loglik) or new.loglik < cur.loglik - 1e-12) and halvings < 30:
            step = step / 2
            new_beta = beta + step
            new = _cox_pieces(Xa, start, stop, ev, new_beta, ties)
            halvings += 1
        done = abs(new.loglik - cur.loglik) <= tol * max(abs(cur.loglik), 1.0)
        beta, cur = new_beta, new
        if done:
            converged = True
            break
    if not converged or np.max(np.abs(beta)) > 20:
        warnings.warn("cox_fit: the partial likelihood did not converge cleanly (a level with no or only "
                      "dropouts?); coefficients may be infinite.", ConvergenceWarning, stacklevel=2)
    return CoxFit(beta, cur.information, cur.loglik, ll0, iterations, converged, ties)


@dataclass(frozen=True)
class CoxClusterVariance:
    """A clustered variance of Cox coefficients.

    Attributes
    ----------
    variance : numpy.ndarray
        terms x terms variance of :math:`\\hat\\beta`.
    model_variance : numpy.ndarray
        :math:`\\mathcal I^{-1}` (R's ``naive.var``).
    df : float
        Degrees of freedom of the t / F reference (inf: normal / chi-square).
    method : str
        ``"lin_wei"``, ``"cr1"`` or ``"mancl_derouen"``.
    n_clusters : int
    """

    variance: np.ndarray
    model_variance: np.ndarray
    df: float
    method: str
    n_clusters: int


def cox_cluster_variance(X: Any, time: Any, event: Any, entry: Any, cluster: Any, beta: Any, *,
                         ties: Ties = "efron", method: CoxVarianceMethod = "mancl_derouen") -> CoxClusterVariance:
    """Cluster-robust variance of Cox coefficients, with small-sample options.

    Parameters
    ----------
    X
        Design matrix (members x terms) of the fitted model.
    time, event, entry
        As :func:`km_clustered` (``entry`` may be None).
    cluster
        Group id per member.
    beta
        The fitted coefficients (from lifelines, :func:`cox_fit`, R ...).
    ties
        Ties method of that fit.
    method
        ``"lin_wei"`` (large-sample; R's ``coxph(cluster =)``, normal
        reference), ``"cr1"`` (times :math:`G/(G-1)`, t on :math:`G-1` df) or
        ``"mancl_derouen"`` (default; bias-corrected, t on :math:`G-p` df).

    Returns
    -------
    CoxClusterVariance

    Notes
    -----
    With score residuals :math:`U_i` at :math:`\\hat\\beta`, cluster totals
    :math:`U_g = \\sum_{i\\in g}U_i` and :math:`A = \\mathcal I(\\hat\\beta)^{-1}`:

    * Lin & Wei (1989): :math:`V = A\\,(\\sum_g U_g U_g^T)\\,A`.
    * CR1: :math:`\\frac{G}{G-1} V`, t on :math:`G-1` df (as Stata's
      ``vce(cluster)``).
    * Mancl & DeRouen (2001), adapted to the partial likelihood: because
      :math:`U_g(\\hat\\beta) \\approx U_g(\\beta) - J_g(\\hat\\beta - \\beta)` and
      :math:`\\hat\\beta - \\beta \\approx A\\sum_h U_h(\\beta)`, the residual
      cluster score is shrunk by the cluster's leverage :math:`H_g = J_g A`
      (:math:`J_g` the cluster's share of the information, see
      :func:`cox_information_contributions`); the correction undoes it:
      :math:`\\tilde U_g = (I - H_g)^{-1} U_g`, :math:`V_{MD} = A (\\sum_g
      \\tilde U_g \\tilde U_g^T) A`, t on :math:`G - p` df.  This is the CR3 /
      "jackknife-like" correction of GEE (Mancl & DeRouen 2001; cf. Fay &
      Graubard 2001, who bound the leverage at 0.75 and estimate df; not
      implemented).

    No loop over clusters: the :math:`p\\times p` solves of the
    Mancl-DeRouen step are batched in one ``numpy.linalg.solve`` call.

    In R: ``coxph(Surv(entry, time, event) ~ x, cluster = group)$var`` is
    ``lin_wei``; ``mancl_derouen`` is computed from ``residuals(fit, "score")``,
    ``fit$naive.var`` and a loop over event times in
    ``tests/reference/survival_cluster.R``.
    """
    _check_ties(ties)
    if method not in ("lin_wei", "cr1", "mancl_derouen"):
        raise ConfigError(f"`method` must be 'lin_wei', 'cr1' or 'mancl_derouen', got {method!r}.")
    stop, ev, start = _prep(time, event, entry)
    Xa = _design(X, len(stop))
    p = Xa.shape[1]
    bet = _as_float(beta, "beta")
    if len(bet) != p:
        raise ValidationError(f"`beta` has {len(bet)} values but `X` has {p} columns.")
    code, _ = _clusters(cluster, len(stop))
    G = int(code.max()) + 1 if len(code) else 0
    pieces = _cox_pieces(Xa, start, stop, ev, bet, ties, residuals=True, contributions=(method == "mancl_derouen"))
    assert pieces.residuals is not None
    try:
        A = np.linalg.inv(pieces.information)
    except np.linalg.LinAlgError:
        raise ValidationError("cox_cluster_variance: the information matrix is singular (a term that does not "
                              "vary, or collinear terms); drop terms from X.") from None
    Ug = _bincount_cols(code, pieces.residuals, G)
    df: float
    if method == "mancl_derouen":
        assert pieces.info_contrib is not None
        Jg = _bincount_cols(code, pieces.info_contrib, G)               # G x p x p
        Hg = Jg @ A                                                      # leverage acting on score vectors
        Ut = np.linalg.solve(np.eye(p)[None] - Hg, Ug[:, :, None])[:, :, 0]
        meat = Ut.T @ Ut
        df = float(G - p)
    else:
        meat = Ug.T @ Ug
        df = float(G - 1) if method == "cr1" else np.inf
    V = A @ meat @ A
    if method == "cr1":
        V = V * (G / (G - 1)) if G > 1 else np.full_like(V, np.nan)
    if G < MIN_CLUSTERS_LARGE_SAMPLE and method == "lin_wei":
        warnings.warn(f"cox_cluster_variance: only {G} clusters; the Lin-Wei sandwich with a normal reference is "
                      f"anti-conservative below about {MIN_CLUSTERS_LARGE_SAMPLE}; use method='mancl_derouen'.",
                      SmallSampleWarning, stacklevel=2)
    if df <= 0:
        V = np.full_like(V, np.nan)
    return CoxClusterVariance(V, A, df if df > 0 else np.nan, method, G)


def cox_cluster_wald(X: Any, time: Any, event: Any, entry: Any, cluster: Any, beta: Any, *,
                     terms: list[str] | None = None, ties: Ties = "efron",
                     method: CoxVarianceMethod = "mancl_derouen", ci: float = 0.95) -> pd.DataFrame:
    """Wald tests and intervals of Cox coefficients with a clustered variance.

    Parameters
    ----------
    X, time, event, entry, cluster, beta, ties, method
        As :func:`cox_cluster_variance`.
    terms
        Names of the columns of ``X`` (default ``x0, x1, ...``).
    ci
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        ``term``, ``estimate`` (log hazard ratio), ``se``, ``se_model``,
        ``df`` (inf for the normal reference), ``t``, ``p_value``,
        ``ci_low``, ``ci_high`` (log HR), ``hr``, ``hr_ci_low``,
        ``hr_ci_high``, ``method``, ``n_clusters``.

    Notes
    -----
    :math:`t = \\hat\\beta_j / \\sqrt{V_{jj}}`, two-sided p from
    :math:`t_{df}` (normal when df is inf), interval
    :math:`\\hat\\beta_j \\pm t_{df,(1+ci)/2}\\sqrt{V_{jj}}`.

    In R: ``coef(summary(coxph(..., cluster = group)))`` for ``method = "lin_wei"``.
    """
    q_ci = _check_ci(ci)
    cv = cox_cluster_variance(X, time, event, entry, cluster, beta, ties=ties, method=method)
    bet = _as_float(beta, "beta")
    p = len(bet)
    names = list(terms) if terms is not None else [f"x{j}" for j in range(p)]
    if len(names) != p:
        raise ConfigError(f"`terms` has {len(names)} names for {p} coefficients.")
    se = np.sqrt(np.diag(cv.variance))
    with np.errstate(divide="ignore", invalid="ignore"):
        tt = np.where(se > 0, bet / se, np.nan)
    if np.isinf(cv.df):
        pv = 2 * stats.norm.sf(np.abs(tt))
        q = stats.norm.ppf(0.5 + q_ci / 2)
    else:
        pv = 2 * stats.t.sf(np.abs(tt), cv.df)
        q = stats.t.ppf(0.5 + q_ci / 2, cv.df)
    lo, hi = bet - q * se, bet + q * se
    return pd.DataFrame({"term": names, "estimate": bet, "se": se, "se_model": np.sqrt(np.diag(cv.model_variance)),
                         "df": cv.df, "t": tt, "p_value": pv, "ci_low": lo, "ci_high": hi, "hr": np.exp(bet),
                         "hr_ci_low": np.exp(lo), "hr_ci_high": np.exp(hi), "method": method,
                         "n_clusters": cv.n_clusters})

