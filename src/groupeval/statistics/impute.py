"""Multiple imputation (MICE) of missing follow-ups, pooled with Rubin's rules, beside completers and mixed model."""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..base.exceptions import (
    ConfigError,
    Problem,
    SchemaError,
    ValidationError,
)
from ._common import (
    attach_columns,
    check_ci,
    check_frame,
    rubin_pool,
    time_levels,
)
from .mixed import mixed_model
from .results import AttributeResult

__all__ = ["ImputationResult", "impute"]


# ---------------------------------------------------------------------------
# multiple imputation
# ---------------------------------------------------------------------------
def _mice_wide(scores, *, dv, subject, time, group, data, engagement, levels):
    """One row per member (all enrolled when data is given): score at every timepoint + predictors."""
    sc = scores if group in scores.columns else attach_columns(scores, [group], data, subject=subject, group=group)
    sc = sc.loc[sc[time].astype(str).isin(levels)]
    dup = sc.duplicated([subject, time], keep=False)
    if dup.any():
        d = sc.loc[dup, [subject, time]].drop_duplicates()
        raise ValidationError("scores are not one row per member and timepoint",
                              [Problem(None, None, subject, f"{m} @ {t}", "more than one score",
                                       "keep one row per member and timepoint") for m, t in d.itertuples(index=False)])
    w = sc.assign(**{subject: sc[subject].astype(str), time: sc[time].astype(str)}).pivot(
        index=subject, columns=time, values=dv).reindex(columns=levels)
    grp = sc.assign(**{subject: sc[subject].astype(str)}).drop_duplicates(subject).set_index(subject)[group].astype(str)
    roster = pd.DataFrame({group: grp})
    members = getattr(data, "members", None) if data is not None else None
    if isinstance(members, pd.DataFrame) and subject in members.columns and group in members.columns:
        mm = members[[subject, group]].astype(str).drop_duplicates(subject).set_index(subject)
        roster = mm.combine_first(roster)
    if engagement is not None:
        e = engagement.assign(**{subject: engagement[subject].astype(str)}).drop_duplicates(subject).set_index(subject)
        if group in e.columns:
            roster = e[[group]].astype(str).combine_first(roster)
    w = roster.join(w, how="left")
    w.index.name = subject
    return w


def _cr1_mean(y: np.ndarray, g: np.ndarray) -> tuple[float, float, int]:
    """Mean of y with its CR1 cluster-robust variance (intercept-only OLS)."""
    n = y.size
    mu = y.mean()
    codes, _ = pd.factorize(g)
    G = int(codes.max() + 1)
    s = np.bincount(codes, weights=y - mu, minlength=G)
    var = (G / (G - 1)) * ((n - 1) / (n - 1)) * np.sum(s**2) / n**2
    return float(mu), float(var), G


class ImputationResult(AttributeResult):
    """Result of :func:`impute`.

    Attributes
    ----------
    summary : DataFrame
        Side by side, one row per analysis (``completers``,
        ``multiple_imputation``, ``mixed_model``): ``analysis, estimate``
        (mean change post - pre), ``se, ci_low, ci_high, p_value, df, n``
        (members in the analysis), ``n_missing`` (members whose ``post`` or
        ``pre`` was imputed / not observed), ``assumption``.
    pooled : dict
        Rubin's-rules details (``within``, ``between``, ``total``, ``riv``, ``fmi``, ``df``, ``m``).
    estimates : DataFrame
        Per imputation: ``imputation, estimate, variance``.
    """

    _title = "Change under missing data"

    @property
    def summary(self) -> pd.DataFrame:
        return self._summary


def _mice_imputations(X: pd.DataFrame, *, m: int, burn_in: int, skip: int, seed: int | None):
    """Yield ``m`` completed copies of ``X`` from statsmodels' chained equations (PMM, k = 5).

    ``burn_in`` cycles before the first draw and ``skip`` cycles between draws,
    from one seeded generator, so results are reproducible.
    """
    from statsmodels.imputation.mice import MICEData

    mice = MICEData(X, k_pmm=5, rng=np.random.default_rng(seed))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mice.update_all(burn_in)
    for i in range(m):
        if i:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                mice.update_all(skip)
        yield mice.data


def impute(scores: pd.DataFrame, *, pre: str = "baseline", post: str = "week_26", data: Any = None,
           engagement: pd.DataFrame | None = None, dv: str = "score", subject: str = "member_id",
           time: str = "timepoint", group: str = "group_id", m: int = 20, burn_in: int = 10, skip: int = 5,
           seed: int | None = 0, predictors: Sequence[str] = (), mixed: bool = True, ci: float = 0.95,
           time_values: Sequence[str] | None = None) -> ImputationResult:
    r"""Intention-to-treat change by multiple imputation (MICE), pooled with Rubin's rules.

    Parameters
    ----------
    scores
        Long scores (all timepoints are used as predictors).
    pre, post
        The change estimated is mean(post) - mean(pre) over **every member**:
        all members of ``data.members`` (when given; otherwise every member
        in ``scores`` or ``engagement``).
    data, engagement
        Dataset (roster, timepoint order, ``group_type`` predictor) and
        :func:`groupeval.attendance_summary` output (``attendance_rate`` and
        ``status`` become predictors).
    m, burn_in, skip
        Imputations, burn-in cycles, and cycles between saved imputations.
    seed
        Random seed (reproducible imputations).
    predictors
        Extra numeric member-level columns (from ``data.members`` / engagement).
    mixed
        Also fit :func:`mixed_model` (MAR, all available rows) for the third row.

    Returns
    -------
    ImputationResult

    Notes
    -----
    Imputation: ``statsmodels.imputation.mice.MICEData`` (chained
    equations, predictive mean matching) on a member-level table with the
    score at every timepoint, attendance rate, dropout status and group-type
    indicators.  The imputation model is single-level (group type, not
    group, enters); the analysis model is not: in each completed data set
    the mean change and its CR1 cluster-robust variance (by group) are
    computed, then pooled (Rubin 1987):
    :math:`\bar Q = \frac1m\sum Q_i`, :math:`T = \bar U + (1+\frac1m)B`,
    with Barnard-Rubin (1999) df (complete-data df = G - 1).  Assumes MAR
    given the predictors.  *Completers*: members with both scores (CR1 SE).
    *Mixed model*: the post - pre difference of the estimated means of
    :func:`mixed_model` (MAR, uses every observed score).

    References
    ----------
    Rubin DB (1987). *Multiple Imputation for Nonresponse in Surveys*. Wiley.
    Barnard J, Rubin DB (1999). *Biometrika* 86:948-955.
    van Buuren S, Groothuis-Oudshoorn K (2011). mice. *J Stat Softw* 45(3).
    """
    check_ci(ci)
    if m < 2:
        raise ConfigError(f"`m` (number of imputations) must be at least 2; got {m}. 20 or more is usual.")

    check_frame(scores, [subject, time, dv])
    levels = time_levels(scores[time], time_values, data)
    for tp, role in ((pre, "pre"), (post, "post")):
        if tp not in levels:
            raise ConfigError(f"`{role}` timepoint {tp!r} does not occur in the scores; use one of {levels}.")
    w = _mice_wide(scores, dv=dv, subject=subject, time=time, group=group, data=data, engagement=engagement,
                   levels=levels)
    X = pd.DataFrame(index=w.index)
    names = {}
    for i, t in enumerate(levels):
        X[f"y{i}"] = pd.to_numeric(w[t], errors="coerce")
        names[t] = f"y{i}"
    if engagement is not None:
        e = engagement.assign(**{subject: engagement[subject].astype(str)}).drop_duplicates(subject).set_index(subject)
        if "attendance_rate" in e.columns:
            X["att"] = pd.to_numeric(e["attendance_rate"], errors="coerce").reindex(X.index)
        if "status" in e.columns:
            X["dropped"] = (e["status"].astype(str) == "dropped").astype(float).reindex(X.index)
    groups_tbl = getattr(data, "groups", None) if data is not None else None
    if isinstance(groups_tbl, pd.DataFrame) and "group_type" in groups_tbl.columns:
        gt = groups_tbl.assign(group_id=groups_tbl["group_id"].astype(str)).drop_duplicates("group_id").set_index(
            "group_id")["group_type"]
        types = gt.reindex(w[group].to_numpy())
        for j, lv in enumerate(sorted(pd.unique(types.dropna().astype(str)))[1:]):
            X[f"gt{j}"] = (types.astype(str).to_numpy() == lv).astype(float)
    extra_src = []
    for c in predictors:
        src = None
        for tbl in (engagement, getattr(data, "members", None) if data is not None else None):
            if isinstance(tbl, pd.DataFrame) and c in tbl.columns and subject in tbl.columns:
                src = tbl.assign(**{subject: tbl[subject].astype(str)}).drop_duplicates(subject).set_index(subject)[c]
                break
        if src is None:
            extra_src.append(c)
            continue
        X[f"x_{len(X.columns)}"] = pd.to_numeric(src, errors="coerce").reindex(X.index)
    if extra_src:
        raise SchemaError("predictors not found in `engagement` or `data.members`",
                          [Problem(None, None, c, None, "no such member-level column", "check the name")
                           for c in extra_src])
    # drop constant or empty predictor columns (MICE cannot use them)
    keep = [c for c in X.columns if c.startswith("y") or (X[c].notna().any() and X[c].nunique(dropna=True) > 1)]
    X = X[keep].reset_index(drop=True)
    g = w[group].astype(str).to_numpy()
    yp, yq = names[pre], names[post]
    miss = X[yp].isna() | X[yq].isna()
    n_missing = int(miss.sum())
    all_missing = [c for c in X.columns if X[c].isna().all()]
    if all_missing:
        raise ValidationError(f"cannot impute: no observed values for {all_missing}.")
    ests, vars_ = [], []
    for dd in _mice_imputations(X, m=m, burn_in=burn_in, skip=skip, seed=seed):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est, var, G = _cr1_mean((dd[yq] - dd[yp]).to_numpy(dtype=float), g)
        ests.append(est)
        vars_.append(var)
    pooled = rubin_pool(ests, vars_, ci=ci, df_complete=G - 1)
    # completers
    comp = ~miss.to_numpy()
    ce, cv, cg = _cr1_mean((X.loc[comp, yq] - X.loc[comp, yp]).to_numpy(dtype=float), g[comp])
    cse = np.sqrt(cv)
    ccrit = stats.t.ppf(0.5 + ci / 2, cg - 1)
    rows = [{"analysis": "completers", "estimate": ce, "se": cse, "ci_low": ce - ccrit * cse,
             "ci_high": ce + ccrit * cse, "p_value": 2 * stats.t.sf(abs(ce / cse), cg - 1), "df": float(cg - 1),
             "n": int(comp.sum()), "n_missing": 0,
             "assumption": "missing completely at random (members with both scores)"},
            {"analysis": "multiple_imputation", "estimate": pooled["estimate"], "se": pooled["se"],
             "ci_low": pooled["ci_low"], "ci_high": pooled["ci_high"], "p_value": pooled["p_value"],
             "df": pooled["df"], "n": int(len(X)), "n_missing": n_missing,
             "assumption": f"missing at random given the imputation predictors (MICE, m = {m})"}]
    if mixed:
        order = [pre] + [t for t in levels if t != pre]  # pre as reference: post - pre comes with its SE
        mm = mixed_model(scores, dv=dv, time=time, data=data, group=group, subject=subject, time_values=order, ci=ci)
        r = mm.changes.loc[mm.changes["timepoint"] == post].iloc[0]
        est, se = float(r["difference"]), float(r["se"])
        zc = stats.norm.ppf(0.5 + ci / 2)
        rows.append({"analysis": "mixed_model", "estimate": est, "se": se, "ci_low": est - zc * se,
                     "ci_high": est + zc * se, "p_value": 2 * stats.norm.sf(abs(est / se)), "df": np.inf,
                     "n": int(mm.n_members), "n_missing": int(len(X) - comp.sum()),
                     "assumption": f"missing at random given earlier scores ({mm.method_description})"})
    summary = pd.DataFrame(rows)
    return ImputationResult(_summary=summary, pooled=pooled,
                            estimates=pd.DataFrame({"imputation": np.arange(1, m + 1), "estimate": ests,
                                                    "variance": vars_}),
                            pre=pre, post=post, m=m, seed=seed, predictors=list(X.columns), n_clusters=G)
