"""Multiple imputation (MICE) of missing follow-ups with the group level, CR2 analysis, delta-adjusted sensitivity.

:func:`impute` estimates the intention-to-treat mean change post - pre over every enrolled
member: missing scores are multiply imputed by chained equations (numpy, R mice's predictive
mean matching) with the group in the imputation model, each completed data set is
analysed with the CR2 cluster-robust variance of the mean change, and the results are pooled
by Rubin's rules with the Barnard-Rubin df.  A delta-adjusted sensitivity analysis makes every
imputed follow-up worse by delta score points and finds the tipping point.
"""
from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..base.dataset import Dataset
from ..base.exceptions import (
    ConfigError,
    DataQualityWarning,
    Problem,
    SchemaError,
    SmallSampleWarning,
    ValidationError,
)
from ._common import (
    MIN_GROUPS,
    attach_columns,
    check_choice,
    check_ci,
    check_frame,
    check_vcov,
    cluster_mean,
    dataset_arg,
    resolve_instrument,
    time_levels,
)
from ._impute_delta import ImputedChanges, sensitivity_table, tipping_point
from ._impute_pmm import pmm_chain
from .mixed import mixed_model
from .results import Result

__all__ = ["FIXED_EFFECTS_MAX_GROUPS", "HIGH_FMI", "NESTING", "ImputationResult", "impute"]

#: A fraction of missing information above this gives a DataQualityWarning: more than half of the
#: information about the mean change then comes from the imputation model, not from the data.
HIGH_FMI = 0.5
#: ``nesting="auto"`` uses group dummies (fixed effects) up to this many groups, group means above.
FIXED_EFFECTS_MAX_GROUPS = 50
#: How the imputation model represents the groups.
NESTING = ("auto", "fixed", "group_means", "none")


# ---------------------------------------------------------------------------
# the member-level table and the chained equations (also used by dose_response)
# ---------------------------------------------------------------------------
def _mice_wide(scores: pd.DataFrame, *, dv: str, subject: str, time: str, group: str, data: Any,
               engagement: pd.DataFrame | None, levels: list[str]) -> pd.DataFrame:
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


def _mice_imputations(X: pd.DataFrame, *, m: int, burn_in: int, skip: int,
                      seed: int | None) -> Iterator[pd.DataFrame]:
    """Yield ``m`` completed copies of ``X``: chained equations with predictive mean matching (k = 5).

    ``burn_in`` cycles before the first draw and ``skip`` cycles between draws, from one seeded
    generator, so results are reproducible (see :mod:`._impute_pmm`).
    """
    yield from pmm_chain(X, m=m, burn_in=burn_in, skip=skip, seed=seed, k=5)


def _nesting_columns(X: pd.DataFrame, g: np.ndarray, nesting: str) -> tuple[pd.DataFrame, list[str]]:
    """Predictors that carry the group level: group dummies (fixed effects) or group means of each score."""
    codes, uniq = pd.factorize(g)
    if nesting == "fixed":
        dummies = {f"grp{j}": (codes == j).astype(float) for j in range(1, len(uniq))}
        return X.assign(**dummies), list(dummies)
    ycols = [c for c in X.columns if c.startswith("y")]
    added = {}
    for c in ycols:  # mean of the observed scores of the member's group at that timepoint
        v = X[c].to_numpy(dtype=float)
        ok = np.isfinite(v)
        s = np.bincount(codes[ok], v[ok], minlength=len(uniq))
        k = np.bincount(codes[ok], minlength=len(uniq))
        gm = np.where(k > 0, s / np.maximum(k, 1), np.nanmean(v))
        added[f"gm_{c}"] = gm[codes]
    return X.assign(**added), list(added)


# ---------------------------------------------------------------------------
# result
# ---------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class ImputationResult(Result):
    """Result of :func:`impute`.

    Attributes
    ----------
    analyses
        (also ``.summary``) one row per analysis (``completers``, ``multiple_imputation``,
        ``mixed_model``): ``analysis, estimate`` (mean change post - pre), ``se, df, ci_low,
        ci_high, p_value, n`` (members), ``n_missing`` (members with ``pre`` or ``post`` imputed /
        not observed), ``n_groups, df_method, assumption, note`` (why a row is NaN).
    pooled
        Rubin's-rules details of the MAR analysis: ``estimate, se, ci_low, ci_high, t, df, p_value,
        within, between, total, riv, fmi, m``.
    estimates
        Per imputation: ``imputation, estimate, variance``.
    sensitivity
        Delta-adjusted analysis (None without ``delta``): ``delta`` (points worse), ``shift``
        (signed score units added to every imputed follow-up), ``estimate, se, df, t, p_value,
        ci_low, ci_high, fmi, share_imputed, conclusion``.
    tipping_point
        (None without ``delta``) ``delta`` (smallest delta changing the conclusion; NaN when none),
        ``found, from, to, share_imputed, reason`` and ``limit`` (the CI limit that crosses 0).
    nesting, vcov, n_clusters, fmi, m, seed, pre, post, predictors, notes, methods
        How the groups entered the imputation model, the analysis variance, the number of groups,
        the fraction of missing information, the settings, what was noted, the method keys.
    """

    analyses: pd.DataFrame
    pooled: dict[str, float]
    estimates: pd.DataFrame
    sensitivity: pd.DataFrame | None
    tipping_point: dict[str, Any] | None
    nesting: str
    vcov: str
    n_clusters: int
    fmi: float
    m: int
    seed: int | None
    pre: str
    post: str
    predictors: tuple[str, ...]
    notes: tuple[str, ...]
    higher_is_better: bool | None = None
    ci: float = 0.95
    methods: tuple[str, ...] = ()
    _imputed: ImputedChanges | None = field(default=None, repr=False, compare=False)

    _title: ClassVar[str] = "Change under missing data"

    @property
    def summary(self) -> pd.DataFrame:
        return self.analyses

    def at_delta(self, delta: float) -> dict[str, float]:
        """Pooled mean change (Rubin's rules, as ``pooled``) with every imputed ``post`` made ``delta`` points worse.

        Needs the direction (``instrument=`` or ``higher_is_better=`` given to :func:`impute`).
        """
        if self._imputed is None or self.higher_is_better is None:
            raise ConfigError("at_delta needs the direction of worse scores: call impute(..., instrument=...) or "
                              "impute(..., higher_is_better=...).")
        if not (np.isfinite(delta) and delta >= 0):
            raise ConfigError(f"`delta` is how many points worse the missing follow-ups are (>= 0); got {delta!r}.")
        return self._imputed.pool((-1.0 if self.higher_is_better else 1.0) * float(delta), self.ci)


# ---------------------------------------------------------------------------
# impute
# ---------------------------------------------------------------------------
def impute(scores: pd.DataFrame, dataset: Dataset | None = None, *, pre: str = "baseline", post: str = "week_26",
           engagement: pd.DataFrame | None = None, dv: str = "score", subject: str = "member_id",
           time: str = "timepoint", group: str = "group_id", m: int = 20, burn_in: int = 10, skip: int = 5,
           seed: int | None = 0, predictors: Sequence[str] = (), mixed: bool = True, ci: float = 0.95,
           time_values: Sequence[str] | None = None, nesting: str = "auto", vcov: str = "CR2",
           delta: Sequence[float] | str | None = None, instrument: Any = None,
           higher_is_better: bool | None = None, data: Any = None) -> ImputationResult:
    r"""Intention-to-treat change by multiple imputation with the group level, and its sensitivity to MNAR.

    Parameters
    ----------
    scores
        Long scores (all timepoints are used as predictors).
    dataset
        The Dataset: the roster (every enrolled member is in the ITT population), the timepoint
        order and ``group_type``.  (``data=`` is the deprecated spelling.)
    pre, post
        The change estimated is mean(post) - mean(pre) over every member.
    engagement
        :func:`groupeval.attendance_summary` output (``attendance_rate`` and ``status`` become
        predictors).
    m, burn_in, skip, seed
        Imputations, burn-in cycles, cycles between saved imputations, random seed.
    predictors
        Extra numeric member-level columns (from ``dataset.members`` / engagement).
    mixed
        Also fit :func:`mixed_model` (MAR, all available rows) for the third row.
    nesting
        The group level in the imputation model: ``"fixed"`` (a dummy per group), ``"group_means"``
        (the group's mean observed score at each timepoint), ``"none"`` (single level; group type
        only) or ``"auto"`` (fixed up to ``FIXED_EFFECTS_MAX_GROUPS`` groups, else group means).
    vcov
        ``"CR2"`` (default; Bell-McCaffrey variance with Satterthwaite df) or ``"CR1"`` for the
        mean change in each completed data set (and for the completers).
    delta
        Sensitivity analysis: make every imputed ``post`` score this many points worse (a
        sequence of values >= 0, or ``"auto"``: 0 to one SD of the observed ``post`` scores in
        ten steps), report the pooled change for each, and find the tipping point.
    instrument, higher_is_better
        Which direction is worse (needed with ``delta``): a registry name / Instrument, or the flag.
    ci
        Confidence level.

    Returns
    -------
    ImputationResult

    Warns
    -----
    DataQualityWarning
        Fraction of missing information above ``HIGH_FMI`` (0.5).
    SmallSampleWarning
        Fewer than ``MIN_GROUPS`` groups.

    Notes
    -----
    *Imputation.* One row per member: the score at every timepoint, attendance rate and dropout
    status (from ``engagement``), the extra ``predictors`` and the group level; numpy
    chained equations with predictive mean matching (5 donors), ``m`` data sets after ``burn_in``
    cycles, ``skip`` apart.  Members are nested in groups, and a single-level imputation model
    would pull every imputed score towards the programme mean, understating between-group
    differences and the cluster-robust variance.  Group fixed effects (dummies) in the imputation
    model keep each group's level (Reiter, Raghunathan & Kinney 2006; Drechsler 2015); for a
    marginal mean analysed with a cluster-robust variance they are unbiased and, if anything,
    conservative (they overstate the between-group variance when groups are small; Luedtke,
    Robitzsch & Grund 2017).  With many groups the dummies make each regression large and
    unstable, so the group mean of the observed scores at each timepoint enters instead (a
    manifest cluster mean; the random-intercept model's predictor in expectation).

    *Analysis and pooling.* In each data set :math:`Q_i` = mean change and :math:`U_i` its CR2
    variance :math:`rac{1}{n^2}\sum_g S_g^2/(1 - n_g/n)`; :math:`ar Q = rac1m \sum Q_i`,
    :math:`T = ar U + (1 + rac1m) B`, with the Barnard-Rubin (1999) df whose complete-data df
    is the CR2 Satterthwaite df of the mean (Bell & McCaffrey 2002).  Completers: members with
    both scores, CR2.  Mixed model: the post - pre difference of :func:`mixed_model`'s estimated
    means (Satterthwaite df).

    *Delta adjustment* (van Buuren 2018, FIMD section 3.8; Ratitch, O'Kelly & Tosiello 2013):
    every imputed ``post`` score is moved :math:`\delta` points in the worse direction after
    imputation, so the pooled change moves by exactly :math:`\delta\,\pi` (:math:`\pi` the share
    of members whose ``post`` was imputed) and its variance is recomputed.  The tipping point is
    the smallest :math:`\delta` at which the CI-based conclusion (improved / no clear change /
    worsened) changes: how much worse the missing follow-ups must be, beyond MAR, for the
    finding to change.

    References
    ----------
    Rubin DB (1987). *Multiple Imputation for Nonresponse in Surveys*. Wiley.
    Barnard J, Rubin DB (1999). *Biometrika* 86:948-955.
    van Buuren S (2018). *Flexible Imputation of Missing Data*, 2nd ed. CRC. Section 3.8.
    Drechsler J (2015). Multiple imputation of multilevel missing data - rigor versus simplicity.
    *J Educ Behav Stat* 40:69-95.
    Luedtke O, Robitzsch A, Grund S (2017). Multiple imputation of missing data in multilevel
    designs: a comparison of different strategies. *Psychol Methods* 22:141-165.
    Ratitch B, O'Kelly M, Tosiello R (2013). Missing data in clinical trials: from clinical
    assumptions to statistical analysis using pattern mixture models. *Pharm Stat* 12:337-347.

    In R: ``imp <- mice(wide, method = "pmm", m = 20)`` with ``group`` as a factor predictor;
    ``with(imp, lm(post - pre ~ 1))`` and ``clubSandwich::vcovCR(fit, cluster, "CR2")``;
    ``pool.scalar(Q, U, n = df_cr2 + 1)``; the delta shift as FIMD section 3.8
    (``imp_j[, "post"] + delta``).
    """
    check_ci(ci)
    check_choice("nesting", nesting, NESTING)
    vcov = check_vcov(vcov)
    data = dataset_arg(dataset, data, "impute")
    if m < 2:
        raise ConfigError(f"`m` (number of imputations) must be at least 2; got {m}. 20 or more is usual.")
    hib = _direction(delta, instrument, higher_is_better)
    check_frame(scores, [subject, time, dv])
    levels = time_levels(scores[time], time_values, data)
    for tp, role in ((pre, "pre"), (post, "post")):
        if tp not in levels:
            raise ConfigError(f"`{role}` timepoint {tp!r} does not occur in the scores; use one of {levels}.")
    w = _mice_wide(scores, dv=dv, subject=subject, time=time, group=group, data=data, engagement=engagement,
                   levels=levels)
    g = w[group].astype(str).to_numpy()
    if pd.isna(w[group]).any():
        raise ValidationError(f"{int(pd.isna(w[group]).sum())} member(s) have no {group!r}: every member must "
                              "belong to a group (pass `dataset=` so the roster gives it).")
    n_groups = int(len(pd.unique(g)))
    if n_groups < 2:
        raise ValidationError(f"impute analyses the change with a cluster-robust variance by group, which needs two "
                              f"or more groups; found {n_groups}. Use change() for a single group.")
    X, names = _predictors(w, levels, engagement, data, predictors, subject, group)
    used_nesting = nesting if nesting != "auto" else ("fixed" if n_groups <= FIXED_EFFECTS_MAX_GROUPS
                                                       else "group_means")
    notes: list[str] = []
    if used_nesting != "none" and n_groups >= 2:
        X = X.drop(columns=[c for c in X.columns if c.startswith("gt")] if used_nesting == "fixed" else [])
        X, _ = _nesting_columns(X, g, used_nesting)
    yp, yq = names[pre], names[post]
    miss = X[yp].isna() | X[yq].isna()
    all_missing = [c for c in X.columns if X[c].isna().all()]
    if all_missing:
        raise ValidationError(f"cannot impute: no observed values for {all_missing}.")
    if n_groups < MIN_GROUPS:
        notes.append(f"only {n_groups} groups: the cluster-robust variance rests on {n_groups} groups")
        warnings.warn(f"impute: only {n_groups} groups; the cluster-robust intervals have few df.",
                      SmallSampleWarning, stacklevel=2)
    changes = np.vstack([(dd[yq] - dd[yp]).to_numpy(dtype=float)
                         for dd in _mice_imputations(X, m=m, burn_in=burn_in, skip=skip, seed=seed)])
    gcode = pd.factorize(g)[0]
    _, _, dfc = cluster_mean(np.zeros(len(g)), np.zeros(len(g), dtype=int), gcode, 1, vcov=vcov)
    ic = ImputedChanges(changes=changes, post_imputed=X[yq].isna().to_numpy(), cluster=gcode, vcov=vcov,
                        df_complete=float(dfc[0]))
    est, var = ic.per_imputation(0.0)
    pooled = ic.pool(0.0, ci)
    _warn_fmi(pooled, m, notes)
    rows = [_completers_row(X, yp, yq, miss.to_numpy(), gcode, vcov, ci),
            {"analysis": "multiple_imputation", "estimate": pooled["estimate"], "se": pooled["se"],
             "df": pooled["df"], "ci_low": pooled["ci_low"], "ci_high": pooled["ci_high"],
             "p_value": pooled["p_value"], "n": int(len(X)), "n_missing": int(miss.sum()), "n_groups": n_groups,
             "df_method": "barnard-rubin",
             "assumption": f"missing at random given the imputation predictors (MICE, m = {m}, groups: "
                           f"{used_nesting})", "note": ""}]
    if mixed:
        rows.append(_mixed_row(scores, data, levels, pre, post, dv, time, group, subject, ci, len(X),
                               int((~miss).sum())))
    sens = tip = None
    if delta is not None:
        assert hib is not None
        scale = float(np.nanstd(X[yq].to_numpy(dtype=float), ddof=1))
        grid = np.linspace(0.0, scale, 11) if isinstance(delta, str) else np.asarray(list(delta), dtype=float)
        sens = sensitivity_table(ic, grid.tolist(), hib, ci)
        tip = tipping_point(ic, hib, ci, scale if np.isfinite(scale) and scale > 0 else 1.0)
    methods = ("mice", "pmm", f"mice_{used_nesting}" if used_nesting != "none" else "mice_single_level",
               vcov.lower(), "rubin", "barnard_rubin", *(("delta_adjustment",) if delta is not None else ()))
    return ImputationResult(
        analyses=pd.DataFrame(rows), pooled=pooled,
        estimates=pd.DataFrame({"imputation": np.arange(1, m + 1), "estimate": est, "variance": var}),
        sensitivity=sens, tipping_point=tip, nesting=used_nesting, vcov=vcov, n_clusters=n_groups,
        fmi=float(pooled["fmi"]), m=m, seed=seed, pre=pre, post=post, predictors=tuple(X.columns),
        notes=tuple(notes), higher_is_better=hib if hib is not None else _maybe_direction(instrument,
                                                                                           higher_is_better),
        ci=ci, methods=methods, _imputed=ic)


def _direction(delta: Any, instrument: Any, higher_is_better: bool | None) -> bool | None:
    if delta is None:
        return None
    if isinstance(delta, str) and delta != "auto":
        raise ConfigError(f"`delta` must be a sequence of non-negative score differences or 'auto'; got {delta!r}.")
    if not isinstance(delta, str):
        vals = np.asarray(list(delta), dtype=float)
        if vals.size == 0 or not np.all(np.isfinite(vals)) or np.any(vals < 0):
            raise ConfigError("`delta` values are how many points worse the missing follow-ups are: finite and "
                              f">= 0 (the direction comes from the instrument); got {list(vals)}.")
    if higher_is_better is not None:
        return bool(higher_is_better)
    inst = resolve_instrument(instrument)
    if inst is None:
        raise ConfigError("the delta-adjusted analysis needs to know which direction is worse: pass "
                          "`instrument=` (e.g. 'phq9') or `higher_is_better=`.")
    return bool(inst.higher_is_better)


def _maybe_direction(instrument: Any, higher_is_better: bool | None) -> bool | None:
    if higher_is_better is not None:
        return bool(higher_is_better)
    inst = resolve_instrument(instrument)
    return None if inst is None else bool(inst.higher_is_better)


def _predictors(w: pd.DataFrame, levels: list[str], engagement: pd.DataFrame | None, data: Any,
                predictors: Sequence[str], subject: str, group: str) -> tuple[pd.DataFrame, dict[str, str]]:
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
        types = gt.reindex(w[group].astype(str).to_numpy())
        for j, lv in enumerate(sorted(pd.unique(types.dropna().astype(str)))[1:]):
            X[f"gt{j}"] = (types.astype(str).to_numpy() == lv).astype(float)
    missing = []
    for c in predictors:
        src = None
        for tbl in (engagement, getattr(data, "members", None) if data is not None else None):
            if isinstance(tbl, pd.DataFrame) and c in tbl.columns and subject in tbl.columns:
                src = tbl.assign(**{subject: tbl[subject].astype(str)}).drop_duplicates(subject).set_index(subject)[c]
                break
        if src is None:
            missing.append(c)
            continue
        X[f"x_{len(X.columns)}"] = pd.to_numeric(src, errors="coerce").reindex(X.index)
    if missing:
        raise SchemaError("predictors not found in `engagement` or `dataset.members`",
                          [Problem(None, None, c, None, "no such member-level column", "check the name")
                           for c in missing])
    # drop constant or empty predictor columns (MICE cannot use them)
    keep = [c for c in X.columns if c.startswith("y") or (X[c].notna().any() and X[c].nunique(dropna=True) > 1)]
    return X[keep].reset_index(drop=True), names


def _warn_fmi(pooled: dict[str, float], m: int, notes: list[str]) -> None:
    fmi = pooled["fmi"]
    if np.isfinite(fmi) and fmi > HIGH_FMI:
        msg = (f"the fraction of missing information is {fmi:.2f} (> {HIGH_FMI}): most of what is known about the "
               "change comes from the imputation model, so the result depends on the missing-at-random assumption; "
               "see the delta-adjusted sensitivity analysis (delta=)")
        notes.append(msg)
        warnings.warn(f"impute: {msg}.", DataQualityWarning, stacklevel=3)
    if np.isfinite(fmi) and m < 100 * fmi:
        notes.append(f"m = {m} imputations is fewer than 100 x FMI = {100 * fmi:.0f} (White, Royston & Wood "
                     "2011): the pooled p value and CI limits carry Monte Carlo error; increase m for a final analysis")


def _completers_row(X: pd.DataFrame, yp: str, yq: str, miss: np.ndarray, gcode: np.ndarray, vcov: str,
                    ci: float) -> dict[str, Any]:
    from scipy import stats

    comp = ~miss
    d = (X.loc[comp, yq] - X.loc[comp, yp]).to_numpy(dtype=float)
    est = float(d.mean()) if d.size else np.nan
    G, var, dfs = cluster_mean(d - est, np.zeros(d.size, dtype=int), gcode[comp], 1, vcov=vcov)
    se, df = float(np.sqrt(var[0])), float(dfs[0])
    ok = np.isfinite(se) and se > 0 and np.isfinite(df) and df > 0
    crit = stats.t.ppf(0.5 + ci / 2, df) if ok else np.nan
    return {"analysis": "completers", "estimate": est, "se": se, "df": df,
            "ci_low": est - crit * se if ok else np.nan, "ci_high": est + crit * se if ok else np.nan,
            "p_value": float(2 * stats.t.sf(abs(est / se), df)) if ok else np.nan, "n": int(comp.sum()),
            "n_missing": 0, "n_groups": int(G[0]), "df_method": "satterthwaite" if vcov == "CR2" else "G-1",
            "assumption": "missing completely at random (members with both scores)", "note": ""}


def _mixed_row(scores: pd.DataFrame, data: Any, levels: list[str], pre: str, post: str, dv: str, time: str,
               group: str, subject: str, ci: float, n_all: int, n_complete: int) -> dict[str, Any]:
    order = [pre] + [t for t in levels if t != pre]  # pre as reference: post - pre comes with its df
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SmallSampleWarning)  # already said once by impute
            mm = mixed_model(scores, data, dv=dv, time=time, group=group, subject=subject, time_values=order, ci=ci)
    except ValidationError as exc:  # e.g. every member scored once: no mixed model, say why
        return {"analysis": "mixed_model", "estimate": np.nan, "se": np.nan, "df": np.nan, "ci_low": np.nan,
                "ci_high": np.nan, "p_value": np.nan, "n": 0, "n_missing": int(n_all - n_complete), "n_groups": 0,
                "df_method": "", "assumption": "missing at random given earlier scores", "note": str(exc)}
    r = mm.changes.loc[mm.changes["timepoint"] == post].iloc[0]
    return {"analysis": "mixed_model", "estimate": float(r["difference"]), "se": float(r["se"]),
            "df": float(r["df"]), "ci_low": float(r["ci_low"]), "ci_high": float(r["ci_high"]),
            "p_value": float(r["p_value"]), "n": int(mm.n_members), "n_missing": int(n_all - n_complete),
            "n_groups": int(mm.n_groups), "df_method": mm.df_method.lower(),
            "assumption": f"missing at random given earlier scores ({mm.method_description})", "note": ""}
