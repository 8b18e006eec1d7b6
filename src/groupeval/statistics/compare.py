"""Group comparison: ANCOVA of follow-up on baseline and group type, group-clustered inference, pairwise contrasts."""
from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..base.dataset import Dataset
from ..base.exceptions import DataQualityWarning, SmallSampleWarning, ValidationError
from ._common import (
    MIN_GROUPS_PER_LEVEL,
    attach_columns,
    check_choice,
    check_ci,
    check_vcov,
    dataset_arg,
    formula_term,
    p_adjust,
    paired_frame,
)
from .results import Result
from .robust import ClusterRobustFit, cluster_robust_formula

__all__ = ["GroupComparisonResult", "compare_groups"]


@dataclass(frozen=True, repr=False)
class GroupComparisonResult(Result):
    """Result of :func:`compare_groups`.

    Attributes
    ----------
    contrasts
        (also ``.summary``) ``level_a, level_b, difference`` (adjusted mean of
        a minus b), ``se, t, df, p_value, p_adjusted, ci_low, ci_high``
        (unadjusted CI), ``vcov_type``, ``df_method``, ``valid`` (False when
        no cluster-aware test of that pair exists) and ``note`` (why).
    adjusted_means
        ``level, adjusted_mean, se, df, ci_low, ci_high, n, n_groups`` at the
        mean baseline (and covariate means).
    coefficients
        The ANCOVA coefficients (:meth:`ClusterRobustFit.coef_test` columns).
    omnibus
        The test that all levels are equal: ``test`` (``"HTZ"`` for CR2,
        ``"naive-F"`` for CR1), ``f, df1, df2, p_value, n_groups, vcov_type,
        valid, reason``.
    groups_per_level
        Number of groups in each compared level.
    methods
        Method keys for the methods paragraph.
    """

    contrasts: pd.DataFrame
    adjusted_means: pd.DataFrame
    coefficients: pd.DataFrame
    omnibus: dict[str, Any]
    correction: str
    by: str
    n: int
    n_clusters: int
    n_pre_only: int
    n_post_only: int
    n_incomplete: int
    pre: str
    post: str
    vcov: str
    groups_per_level: dict[str, int] = field(default_factory=dict)
    methods: tuple[str, ...] = ()

    _title: ClassVar[str] = "Group comparison (ANCOVA)"

    @property
    def summary(self) -> pd.DataFrame:
        return self.contrasts


def compare_groups(scores: pd.DataFrame, dataset: Dataset | None = None, *, pre: str = "baseline",
                   post: str = "week_26", by: str = "group_type", correction: str = "holm", dv: str = "score",
                   subject: str = "member_id", time: str = "timepoint", group: str = "group_id",
                   covariates: Sequence[str] = (), vcov: str = "CR2", ci: float = 0.95,
                   data: Any = None) -> GroupComparisonResult:
    r"""ANCOVA of follow-up on baseline and group type, with small-sample cluster-robust inference.

    Parameters
    ----------
    scores
        Long scores.
    dataset
        The Dataset (for ``by`` when ``scores`` lacks it, and each member's group).
    pre, post
        Baseline and follow-up timepoints.
    by
        The grouping compared (``group_type``, ``facilitation``, ...).
    correction
        Multiplicity correction of the pairwise p-values: ``"holm"`` (default),
        ``"fdr_bh"`` (Benjamini-Hochberg), ``"bonferroni"`` or ``"none"``.
    covariates
        Extra numeric adjustment columns (from scores or the dataset's members).
    vcov
        ``"CR2"`` (default: Bell & McCaffrey 2002, Satterthwaite df per
        contrast, HTZ omnibus test) or ``"CR1"`` (Stata's, t and F with
        G - 1 df; over-rejects with few groups, kept for comparison).
    ci
        Confidence level.
    data
        Deprecated spelling of ``dataset``.

    Returns
    -------
    GroupComparisonResult

    Notes
    -----
    :math:`y_{post} = \beta_0 + \beta_1 y_{pre} + \sum_l \gamma_l [by = l] + e`
    by OLS with the covariance clustered by ``group`` (see
    :mod:`groupeval.statistics.robust`).  Adjusted means are predictions at
    the mean baseline (and covariate means); a contrast :math:`L\beta` has SE
    :math:`\sqrt{LVL'}` and, with CR2, its own Satterthwaite df.  The omnibus
    test that every level is equal is the HTZ Wald test (Pustejovsky &
    Tipton 2018).  p-values are adjusted with :func:`~groupeval.statistics._common.p_adjust`
    (as R's ``p.adjust``); the CIs are not adjusted.

    A level with a single group cannot be compared: its effect is the same
    thing as that group's own effect, so its contrasts and the omnibus test
    are not computed (``valid`` False, with the reason).  Levels with fewer
    than :data:`~groupeval.statistics._common.MIN_GROUPS_PER_LEVEL` groups
    give a :class:`SmallSampleWarning`.  Members missing either score are
    excluded (counted in ``n_pre_only`` / ``n_post_only``); see
    :func:`impute` for ITT.

    References
    ----------
    Bell RM, McCaffrey DF (2002). *Survey Methodology* 28:169-181.
    Pustejovsky JE, Tipton E (2018). *J Bus Econ Stat* 36:672-683.
    Cameron AC, Miller DL (2015). A practitioner's guide to cluster-robust
    inference. *J Hum Resour* 50:317-372.
    Holm S (1979). *Scand J Stat* 6:65-70. Benjamini Y, Hochberg Y (1995). *JRSS B* 57:289-300.

    In R: ``fit <- lm(post ~ pre + group_type)``; ``V <- clubSandwich::vcovCR(fit, cluster = group_id,
    type = "CR2")``; ``linear_contrast(fit, vcov = V, contrasts = L, test = "Satterthwaite")``;
    ``Wald_test(fit, constrain_zero(3:4), vcov = V, test = "HTZ")``; ``p.adjust(p, "holm")``.
    """
    check_ci(ci)
    check_choice("correction", correction, ("holm", "fdr_bh", "bonferroni", "none"))
    vcov = check_vcov(vcov)
    data = dataset_arg(dataset, data, "compare_groups")
    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    d, levels, counts, n_incomplete = _ancova_frame(scores, data, pre=pre, post=post, by=by, dv=dv,
                                                    subject=subject, time=time, group=group, covariates=covariates)
    per_level = {lv: int(n) for lv, n in d.groupby("_by", observed=False)[group].nunique().items()}
    cov_terms = "".join(f" + {formula_term(c)}" for c in covariates)
    fit = cluster_robust_formula(f"post ~ pre + _by{cov_terms}", d, group, type=vcov)
    Ls = _level_rows(fit, d, levels)
    adjusted = _adjusted_means(fit, Ls, levels, d, group, ci)
    contrasts = _pairwise(fit, Ls, levels, per_level, correction, ci)
    omnibus = _omnibus(fit, levels, per_level, vcov)
    _warn_small_levels(per_level, by)
    coefs = fit.coef_test(ci)
    coefs["term"] = coefs["term"].str.replace("_by", by, regex=False)
    methods = ("ancova", vcov.lower(), "satterthwaite" if vcov == "CR2" else "g_minus_1",
               "htz" if vcov == "CR2" else "naive_f", *((correction,) if correction != "none" else ()))
    return GroupComparisonResult(contrasts=contrasts, adjusted_means=adjusted, coefficients=coefs, omnibus=omnibus,
                                 correction=correction, by=by, n=int(len(d)), n_clusters=fit.n_clusters,
                                 n_pre_only=counts["n_pre_only"], n_post_only=counts["n_post_only"],
                                 n_incomplete=n_incomplete, pre=pre, post=post, vcov=vcov,
                                 groups_per_level=per_level, methods=methods)


def _ancova_frame(scores: pd.DataFrame, data: Any, *, pre: str, post: str, by: str, dv: str, subject: str,
                  time: str, group: str, covariates: list[str]) -> tuple[pd.DataFrame, list[str], dict, int]:
    """One row per member with both scores: pre, post, the compared level ``_by``, group and covariates."""
    sc = attach_columns(scores, [group, by, *covariates], data, subject=subject, group=group)
    wide, counts = paired_frame(sc, pre, post, dv=dv, subject=subject, time=time, keep=[group, by, *covariates])
    both = wide["pre"].notna() & wide["post"].notna()
    complete = both & wide[[by, *covariates]].notna().all(axis=1)
    n_incomplete = int((both & ~complete).sum())
    if n_incomplete:
        warnings.warn(f"compare_groups: {n_incomplete} member(s) with both scores left out for a missing "
                      f"{' or '.join([by, *covariates])}.", DataQualityWarning, stacklevel=3)
    d = wide.loc[complete].copy()
    levels = sorted(pd.unique(d[by].astype(str)))
    if len(levels) < 2:
        raise ValidationError(f"compare_groups needs at least two levels of {by!r} with both scores; found {levels}.")
    d["_by"] = pd.Categorical(d[by].astype(str), categories=levels)
    return d, levels, counts, n_incomplete


def _level_rows(fit: ClusterRobustFit, d: pd.DataFrame, levels: list[str]) -> np.ndarray:
    """Design rows of each level's adjusted mean: that level, the mean baseline, covariates as observed."""
    import patsy

    rows = []
    for lvl in levels:
        nd = d.assign(_by=pd.Categorical([lvl] * len(d), categories=levels), pre=d["pre"].mean())
        rows.append(np.asarray(patsy.dmatrix(fit.design_info, nd, return_type="matrix")).mean(axis=0))
    return np.vstack(rows)


def _adjusted_means(fit: ClusterRobustFit, Ls: np.ndarray, levels: list[str], d: pd.DataFrame, group: str,
                    ci: float) -> pd.DataFrame:
    t = fit.contrast(Ls, ci)
    n = d.groupby("_by", observed=False).size()
    g = d.groupby("_by", observed=False)[group].nunique()
    return pd.DataFrame({"level": levels, "adjusted_mean": t["estimate"].to_numpy(), "se": t["se"].to_numpy(),
                         "df": t["df"].to_numpy(), "ci_low": t["ci_low"].to_numpy(),
                         "ci_high": t["ci_high"].to_numpy(), "n": [int(n[lv]) for lv in levels],
                         "n_groups": [int(g[lv]) for lv in levels]})


def _pairwise(fit: ClusterRobustFit, Ls: np.ndarray, levels: list[str], per_level: dict[str, int],
              correction: str, ci: float) -> pd.DataFrame:
    """Every pair of levels: difference, SE, Satterthwaite df, p, adjusted p; invalid where a level has one group."""
    pairs = list(itertools.combinations(range(len(levels)), 2))
    D = np.vstack([Ls[j] - Ls[i] for i, j in pairs])
    t = fit.contrast(D, ci)
    single = np.array([per_level[levels[i]] < 2 or per_level[levels[j]] < 2 for i, j in pairs])
    note = t["note"].to_numpy(dtype=object)
    note[single] = [_one_group_reason(levels[i], levels[j], per_level) for (i, j), s in zip(pairs, single) if s]
    invalid = single | t["p_value"].isna().to_numpy()
    cols = {c: np.where(invalid, np.nan, t[c].to_numpy(dtype=float)) for c in ("se", "t", "df", "p_value",
                                                                              "ci_low", "ci_high")}
    return pd.DataFrame({"level_a": [levels[j] for i, j in pairs], "level_b": [levels[i] for i, j in pairs],
                         "difference": t["estimate"].to_numpy(), **{c: cols[c] for c in ("se", "t", "df")},
                         "p_value": cols["p_value"], "p_adjusted": p_adjust(cols["p_value"], correction),
                         "ci_low": cols["ci_low"], "ci_high": cols["ci_high"], "vcov_type": fit.type,
                         "df_method": t["df_method"].to_numpy(), "valid": ~invalid, "note": note.astype(str)})


def _one_group_reason(a: str, b: str, per_level: dict[str, int]) -> str:
    solo = [lv for lv in (a, b) if per_level[lv] < 2]
    return (f"only one group of {' and '.join(map(repr, solo))}: its difference cannot be told apart from that "
            f"group's own effect, so no test is reported")


def _omnibus(fit: ClusterRobustFit, levels: list[str], per_level: dict[str, int], vcov: str) -> dict[str, Any]:
    """The test that all levels are equal (HTZ with CR2, naive F(q, G - 1) with CR1), or why there is none."""
    test = "HTZ" if vcov == "CR2" else "naive-F"
    out: dict[str, Any] = {"test": test, "f": np.nan, "df1": len(levels) - 1, "df2": np.nan, "p_value": np.nan,
                           "n_groups": fit.n_clusters, "vcov_type": vcov, "valid": False, "reason": ""}
    solo = [lv for lv in levels if per_level[lv] < 2]
    if solo:
        out["reason"] = (f"{', '.join(map(repr, solo))} {'has' if len(solo) == 1 else 'have'} only one group: "
                         f"differences between levels cannot be told apart from differences between single groups")
        return out
    L = np.zeros((len(levels) - 1, len(fit.names)))
    idx = [i for i, n in enumerate(fit.names) if n.startswith("_by[")]
    L[np.arange(len(idx)), idx] = 1.0
    w = fit.wald_test(L, test=test).iloc[0]
    valid = bool(np.isfinite(w["p_value"]))
    out.update({"f": float(w["f"]), "df2": float(w["df_denom"]), "p_value": float(w["p_value"]), "valid": valid,
                "reason": "" if valid else (str(w["note"]) or "the test's degrees of freedom are not positive")})
    return out


def _warn_small_levels(per_level: dict[str, int], by: str) -> None:
    few = {lv: n for lv, n in per_level.items() if n < MIN_GROUPS_PER_LEVEL}
    if few:
        warnings.warn(f"compare_groups: fewer than {MIN_GROUPS_PER_LEVEL} groups in "
                      f"{', '.join(f'{lv!r} ({n})' for lv, n in few.items())} of {by!r}; a comparison rests on "
                      f"the groups, not the members, so it has little power and wide intervals.",
                      SmallSampleWarning, stacklevel=3)
