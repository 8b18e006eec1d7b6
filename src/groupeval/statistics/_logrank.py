"""The log-rank test for members nested in groups: the robust score test and its small-sample versions.

:func:`clustered_logrank` (documented there) is re-exported by
:mod:`.survival_cluster`, the home of the cluster-aware survival estimators;
it compares retention between levels of a factor with the log-rank score and
its cluster-robust (Lin & Wei 1989) variance, referred to chi-square, to two
F distributions and to its sign-flip distribution.

References
----------
Lin DY, Wei LJ (1989). The robust inference for the Cox proportional hazards
model. JASA 84:1074-1078.
Jung S-H, Jeong J-H (2003). Rank tests for clustered survival data. Lifetime
Data Analysis 9:21-33.
Kline P, Santos A (2012). A score based approach to wild bootstrap inference.
Journal of Econometric Methods 1:23-41.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..base.exceptions import ConfigError, SmallSampleWarning, ValidationError
from ._survival_core import (
    MIN_CLUSTERS_TEST,
    Ties,
    _bincount_cols,
    _check_ties,
    _clusters,
    _count_at_risk,
    _cox_pieces,
    _interval_index,
    _prep,
)

__all__ = ["ClusteredLogrank", "clustered_logrank"]


@dataclass(frozen=True)
class ClusteredLogrank:
    """Log-rank test across levels of ``arm`` with group-clustered variances.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per test: ``test``, ``statistic``, ``df`` (numerator),
        ``df_denom`` (NaN for chi-square references), ``reference``
        (``"chi2"``, ``"F"`` or ``"sign-flip"``), ``p_value``, ``reason``
        (why NaN, or how the sign flips were drawn, or ``""``).
        Tests: ``logrank`` (member-level, hypergeometric variance, as R
        ``survdiff``), ``robust_score`` (R ``summary(coxph(... +
        cluster(group)))$robscore``), ``robust_score_cr1_f`` (statistic times
        :math:`(G-1)/G` divided by df, on :math:`F(q, G-1)`),
        ``robust_score_t2`` (Hotelling's :math:`T^2` of the cluster scores,
        on :math:`F(q, G-q)`) and ``robust_score_signflip`` (the robust score
        statistic on its sign-flip distribution).  See Notes and
        docs/retention.md for which to report.
    levels : tuple
        Levels of ``arm`` (sorted); the first is the reference.
    observed_minus_expected : numpy.ndarray
        The log-rank score :math:`U` (``ties="breslow"``: :math:`O - E`)
        of levels 2..k.
    variance_model, variance_robust : numpy.ndarray
        Member-level (hypergeometric) and cluster-robust variances of U.
    cluster_scores : pandas.DataFrame
        The cluster totals :math:`U_g` (one row per cluster, index = cluster id).
    n_clusters : int
    ties : str
    """

    table: pd.DataFrame
    levels: tuple
    observed_minus_expected: np.ndarray
    variance_model: np.ndarray
    variance_robust: np.ndarray
    cluster_scores: pd.DataFrame
    n_clusters: int
    ties: str


def _signflip_p(Ug: np.ndarray, V: np.ndarray, T: float, n_flips: int, seed: int | None) -> tuple[float, str]:
    """Sign-flip (Rademacher wild score bootstrap) p-value of the robust score statistic."""
    G = Ug.shape[0]
    if G <= _EXACT_FLIPS_MAX_CLUSTERS:
        eps = 1.0 - 2.0 * ((np.arange(2 ** G)[:, None] >> np.arange(G)[None, :]) & 1)
        exact = True
    else:
        eps = np.random.default_rng(seed).choice([-1.0, 1.0], size=(n_flips, G))
        exact = False
    S = eps @ Ug                                       # flipped scores; V is unchanged by sign flips
    Tb = np.einsum("bj,bj->b", S, np.linalg.solve(V, S.T).T)
    hits = int((Tb >= T * (1 - 1e-10)).sum())
    if exact:
        return hits / len(Tb), ""
    return (hits + 1) / (len(Tb) + 1), f"{n_flips} random sign flips (seed {seed})"


_EXACT_FLIPS_MAX_CLUSTERS = 14


def clustered_logrank(time: Any, event: Any, arm: Any, cluster: Any, entry: Any = None, *,
                      ties: Ties = "breslow", n_flips: int = 9999, seed: int | None = 0) -> ClusteredLogrank:
    """Log-rank test for members nested in groups: robust score test and small-sample versions.

    Parameters
    ----------
    time, event, entry
        As :func:`km_clustered`.
    arm
        The compared factor (e.g. group type), k >= 2 levels; may vary within
        or between clusters.
    cluster
        Group id per member.
    ties
        ``"breslow"`` (default): the score is exactly the log-rank
        :math:`O - E`; ``"efron"``: R's default ``coxph`` ties.
    n_flips, seed
        Random sign flips for the sign-flip test when there are more than 14
        clusters (all :math:`2^G` flips are enumerated up to 14), and the seed
        of their generator (fixed by default, so the p-value is reproducible).

    Returns
    -------
    ClusteredLogrank

    Notes
    -----
    With :math:`x_i` the dummies of levels 2..k and :math:`U_i` the Cox score
    residuals at :math:`\\beta = 0` (:func:`cox_score_residuals`; Breslow:
    :math:`U_i = \\int (x_i - \\bar x(t))\\,dM_i(t)`, :math:`dM_i = dN_i - Y_i
    d\\bar N/\\bar Y`), the log-rank score is :math:`U = \\sum_i U_i = O - E`.

    * ``logrank``: :math:`U^T V_H^{-1} U`, :math:`V_H` hypergeometric (Mantel
      1966), :math:`\\chi^2_q`, :math:`q = k-1`; ignores clustering.
    * ``robust_score``: :math:`T = U^T (\\sum_g U_g U_g^T)^{-1} U`, with
      :math:`U_g = \\sum_{i\\in g}U_i`, on :math:`\\chi^2_q` (Lin & Wei 1989;
      for q = 1 the clustered log-rank of Jung & Jeong 2003).  Large-sample.
    * ``robust_score_cr1_f``: :math:`F = \\frac{G-1}{G} T / q` on
      :math:`F(q, G-1)` (CR1 scaling).  Because :math:`T \\le G` always
      (Cauchy-Schwarz), :math:`F \\le (G-1)/q`: with 4 groups it can never
      reject at 5 %, with 6 it rarely can.
    * ``robust_score_t2``: Hotelling's :math:`T^2` for "the cluster scores
      have mean 0", using their *centred* covariance.  Since
      :math:`\\sum_g U_gU_g^T = (G-1)S + G\\bar U\\bar U^T`, Sherman-Morrison
      gives :math:`T^2 = (G-1)T/(G-T)` and
      :math:`F = \\frac{G-q}{q}\\,\\frac{T}{G-T} \\sim F(q, G-q)`, exact for
      normal, exchangeable cluster scores and monotone in :math:`T` (the same
      ordering as the robust score test, with a small-sample reference).
      For q = 1 it is the one-sample t test of the :math:`U_g`.
    * ``robust_score_signflip``: the robust score statistic referred to its
      sign-flip distribution, :math:`T_\\varepsilon = (\\sum_g \\varepsilon_g
      U_g)^T V^{-1} (\\sum_g \\varepsilon_g U_g)` over :math:`\\varepsilon_g =
      \\pm 1` (:math:`V = \\sum_g U_gU_g^T` is unchanged by the flips): the
      Rademacher wild score bootstrap (Kline & Santos 2012; Cameron, Gelbach &
      Miller 2008), exact when the cluster scores are independent and
      symmetric about 0.  Its smallest p-value is :math:`2/2^G` (q = 1):
      0.125 with 4 groups, 0.031 with 6.

    In R: ``summary(coxph(Surv(entry, time, event) ~ arm + cluster(group), ties = "breslow"))$robscore``
    (``robust_score``); ``survdiff(Surv(time, event) ~ arm)`` without late
    entry (``logrank``).
    """
    _check_ties(ties)
    stop, ev, start = _prep(time, event, entry)
    n = len(stop)
    arm_s = pd.Series(np.asarray(arm, dtype=object).ravel())
    if len(arm_s) != n:
        raise ValidationError(f"`arm` has {len(arm_s)} values but `time` has {n}; pass one level per member.")
    if arm_s.isna().any():
        raise ValidationError(f"`arm` has {int(arm_s.isna().sum())} missing value(s); drop those members first.")
    acodes, levels = pd.factorize(arm_s.astype(str), sort=True)
    k = len(levels)
    if k < 2:
        raise ConfigError(f"`arm` needs at least 2 levels to compare, got {k} ({list(levels)}).")
    code, clabels = _clusters(cluster, n)
    G = int(code.max()) + 1
    q = k - 1
    X = (acodes[:, None] == np.arange(1, k)[None, :]).astype(float)
    pieces = _cox_pieces(X, start, stop, ev, np.zeros(q), ties, residuals=True)
    assert pieces.residuals is not None
    U = pieces.residuals.sum(axis=0)
    Ug = _bincount_cols(code, pieces.residuals, G)
    V_rob = Ug.T @ Ug
    # hypergeometric variance from the risk-set counts at the event times
    ut = np.unique(stop[ev])
    K = len(ut)
    a, b = _interval_index(ut, start, stop)
    nk = _count_at_risk(a, b, K)
    njk = np.stack([_count_at_risk(a, b, K, weights=X[:, j]) for j in range(q)], axis=1)  # loop over levels
    dk = np.bincount(np.searchsorted(ut, stop[ev]), minlength=K).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(nk > 1, dk * (nk - dk) / np.where(nk > 1, nk - 1, 1.0), 0.0)
        pk = njk / nk[:, None]
    V_h = np.diag((f[:, None] * pk).sum(axis=0)) - np.einsum("k,kj,kl->jl", f, pk, pk)
    # when ties == "efron" the member-level test still uses O - E (the log-rank numerator)
    O_E = U if ties == "breslow" else _cox_pieces(X, start, stop, ev, np.zeros(q), "breslow").score
    rows = []

    def quad(u: np.ndarray, V: np.ndarray) -> tuple[float, str]:
        if K == 0:
            return np.nan, "no events"
        if np.linalg.matrix_rank(V) < q:
            return np.nan, "variance matrix is singular (a level without members at risk, or too few clusters)"
        return float(u @ np.linalg.solve(V, u)), ""

    t_lr, why = quad(O_E, V_h)
    rows.append(("logrank", t_lr, q, np.nan, "chi2", stats.chi2.sf(t_lr, q) if why == "" else np.nan, why))
    T, why_r = quad(U, V_rob)
    rows.append(("robust_score", T, q, np.nan, "chi2", stats.chi2.sf(T, q) if why_r == "" else np.nan, why_r))
    if why_r == "" and G > 1:
        F1 = T * (G - 1) / G / q
        rows.append(("robust_score_cr1_f", F1, q, float(G - 1), "F", stats.f.sf(F1, q, G - 1), ""))
    else:
        rows.append(("robust_score_cr1_f", np.nan, q, float(G - 1), "F", np.nan, why_r or "one cluster only"))
    if why_r == "" and G > q and T < G * (1 - 1e-12):
        F2 = (G - q) / q * T / (G - T)
        rows.append(("robust_score_t2", F2, q, float(G - q), "F", stats.f.sf(F2, q, G - q), ""))
    else:
        reason = why_r or (f"needs more clusters ({G}) than compared levels minus one ({q})" if G <= q
                           else "all cluster scores are equal (T = G): no between-cluster spread")
        rows.append(("robust_score_t2", np.nan, q, float(G - q), "F", np.nan, reason))
    if why_r == "" and G > 1:
        p_flip, how = _signflip_p(Ug, V_rob, T, int(n_flips), seed)
        rows.append(("robust_score_signflip", T, q, np.nan, "sign-flip", p_flip, how))
    else:
        rows.append(("robust_score_signflip", np.nan, q, np.nan, "sign-flip", np.nan, why_r or "one cluster only"))
    table = pd.DataFrame(rows, columns=["test", "statistic", "df", "df_denom", "reference", "p_value", "reason"])
    table["df"] = table["df"].astype(float)
    if G < MIN_CLUSTERS_TEST:
        warnings.warn(f"clustered_logrank: only {G} groups; with fewer than {MIN_CLUSTERS_TEST} no cluster-aware "
                      "test can reach p < 0.05 (the robust score statistic is at most the number of groups); "
                      "report the curves and their intervals instead of a test.", SmallSampleWarning, stacklevel=2)
    cs = pd.DataFrame(Ug, index=pd.Index(clabels, name="cluster"), columns=[str(lv) for lv in levels[1:]])
    return ClusteredLogrank(table, tuple(levels), O_E, V_h, V_rob, cs, G, ties)
