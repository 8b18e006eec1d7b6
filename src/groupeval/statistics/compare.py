"""Group comparison: ANCOVA of follow-up on baseline and group type, group-clustered inference, pairwise contrasts."""
from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..base.exceptions import (
    DataQualityWarning,
    ValidationError,
)
from ._common import (
    attach_columns,
    check_choice,
    check_ci,
    cluster_ols,
    formula_term,
    paired_frame,
)
from .results import AttributeResult

__all__ = ["GroupComparisonResult", "compare_groups"]


# ---------------------------------------------------------------------------
# compare groups
# ---------------------------------------------------------------------------
class GroupComparisonResult(AttributeResult):
    """Result of :func:`compare_groups`.

    Attributes
    ----------
    contrasts : DataFrame (also ``.summary``)
        ``level_a, level_b, difference`` (adjusted mean of a minus b),
        ``se, t, df, p_value, p_adjusted, ci_low, ci_high`` (unadjusted CI).
    adjusted_means : DataFrame
        ``level, adjusted_mean, se, ci_low, ci_high, n`` at the mean baseline.
    coefficients : DataFrame
        The ANCOVA coefficients (CR1 cluster-robust).
    omnibus : dict
        Cluster-robust Wald F test that all levels are equal: ``f, df1, df2, p_value``.
    correction, by, n, n_clusters, n_pre_only, n_post_only
    """

    _title = "Group comparison (ANCOVA)"

    @property
    def summary(self) -> pd.DataFrame:
        return self.contrasts


def compare_groups(scores: pd.DataFrame, data: Any = None, *, pre: str = "baseline", post: str = "week_26",
                   by: str = "group_type", correction: str = "holm", dv: str = "score",
                   subject: str = "member_id", time: str = "timepoint", group: str = "group_id",
                   covariates: Sequence[str] = (), ci: float = 0.95) -> GroupComparisonResult:
    r"""ANCOVA of follow-up on baseline and group type, with group-clustered SEs and pairwise contrasts.

    Parameters
    ----------
    scores
        Long scores.
    data
        Dataset (for ``by`` when ``scores`` lacks it, and each member's group).
    pre, post
        Baseline and follow-up timepoints.
    by
        The grouping compared (``group_type``, ``facilitation``, ...).
    correction
        Multiplicity correction of the pairwise p-values: ``"holm"`` (default),
        ``"fdr_bh"`` (Benjamini-Hochberg), ``"bonferroni"`` or ``"none"``.
    covariates
        Extra numeric adjustment columns (from scores or data.members).

    Returns
    -------
    GroupComparisonResult

    Notes
    -----
    :math:`y_{post} = \beta_0 + \beta_1 y_{pre} + \sum_l \gamma_l [by = l] + e`
    by OLS; covariance CR1 clustered by ``group`` (see
    :func:`groupeval._stats.cluster_ols`), t with :math:`G-1` df.  A
    contrast :math:`L\beta` has SE :math:`\sqrt{LVL'}`.  Adjusted means are
    predictions at the mean baseline (and covariate means).  p-values are
    adjusted with ``statsmodels.stats.multitest.multipletests``; the CIs are
    not adjusted.  Members missing either score are excluded (counted in
    ``n_pre_only`` / ``n_post_only``); see :func:`impute` for ITT.

    References
    ----------
    Cameron AC, Miller DL (2015). A practitioner's guide to cluster-robust
    inference. *J Hum Resour* 50:317-372.
    Holm S (1979). *Scand J Stat* 6:65-70. Benjamini Y, Hochberg Y (1995). *JRSS B* 57:289-300.

    In R: ``lmtest::coeftest(lm(post ~ pre + group_type), vcov = sandwich::vcovCL(fit,
    cluster = ~group_id, type = "HC1"), df = G - 1)``; ``p.adjust(p, "holm")``.
    """
    check_ci(ci)
    check_choice("correction", correction, ("holm", "fdr_bh", "bonferroni", "none"))
    from statsmodels.stats.multitest import multipletests

    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    sc = attach_columns(scores, [group, by, *covariates], data, subject=subject, group=group)
    wide, counts = paired_frame(sc, pre, post, dv=dv, subject=subject, time=time, keep=[group, by, *covariates])
    both = wide["pre"].notna() & wide["post"].notna()
    complete = both & wide[[by, *covariates]].notna().all(axis=1)
    n_incomplete = int((both & ~complete).sum())
    if n_incomplete:
        warnings.warn(f"compare_groups: {n_incomplete} member(s) with both scores left out for a missing "
                      f"{' or '.join([by, *covariates])}.", DataQualityWarning, stacklevel=2)
    d = wide.loc[complete].copy()
    levels = sorted(pd.unique(d[by].astype(str)))
    if len(levels) < 2:
        raise ValidationError(f"compare_groups needs at least two levels of {by!r} with both scores; found {levels}.")
    d["_by"] = pd.Categorical(d[by].astype(str), categories=levels)
    cov_terms = "".join(f" + {formula_term(c)}" for c in covariates)
    fit = cluster_ols(f"post ~ pre + _by{cov_terms}", d, group, ci=ci)
    import patsy

    crit = stats.t.ppf(0.5 + ci / 2, fit.df)
    Ls = []
    for lvl in levels:
        nd = d.assign(_by=pd.Categorical([lvl] * len(d), categories=levels), pre=d["pre"].mean())
        Ls.append(np.asarray(patsy.dmatrix(fit.design_info, nd, return_type="matrix")).mean(axis=0))
    Ls = np.vstack(Ls)
    am, am_se = fit.contrast(Ls)
    nlev = d.groupby("_by", observed=False).size()
    adjusted = pd.DataFrame({"level": levels, "adjusted_mean": am, "se": am_se, "ci_low": am - crit * am_se,
                             "ci_high": am + crit * am_se, "n": [int(nlev[lv]) for lv in levels]})
    pairs = list(itertools.combinations(range(len(levels)), 2))
    D = np.vstack([Ls[j] - Ls[i] for i, j in pairs])
    est, se = fit.contrast(D)
    tval = est / se
    p = 2 * stats.t.sf(np.abs(tval), fit.df)
    p_adj = p if correction == "none" else multipletests(p, method=correction)[1]
    contrasts = pd.DataFrame({"level_a": [levels[j] for i, j in pairs], "level_b": [levels[i] for i, j in pairs],
                              "difference": est, "se": se, "t": tval, "df": fit.df, "p_value": p,
                              "p_adjusted": p_adj, "ci_low": est - crit * se, "ci_high": est + crit * se})
    # omnibus Wald F: all by-coefficients zero
    idx = [i for i, n in enumerate(fit.names) if n.startswith("_by[")]
    b = fit.params.to_numpy()[idx]
    V = fit.cov.to_numpy()[np.ix_(idx, idx)]
    q = len(idx)
    F = float(b @ np.linalg.solve(V, b) / q)
    omnibus = {"f": F, "df1": q, "df2": fit.df, "p_value": float(stats.f.sf(F, q, fit.df))}
    coefs = fit.table()
    coefs["term"] = coefs["term"].str.replace("_by", by, regex=False)
    return GroupComparisonResult(contrasts=contrasts, adjusted_means=adjusted, coefficients=coefs, omnibus=omnibus,
                                 correction=correction, by=by, n=int(len(d)), n_clusters=fit.n_clusters,
                                 n_pre_only=counts["n_pre_only"], n_post_only=counts["n_post_only"],
                                 n_incomplete=n_incomplete, pre=pre, post=post)
