"""Dose-response: change against sessions attended, as-treated / completers / ITT, cluster-robust."""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..base.dataset import Dataset
from ..base.exceptions import (
    ConfigError,
    SchemaError,
    SmallSampleWarning,
    ValidationError,
)
from ._common import (
    MIN_GROUPS,
    attach_columns,
    check_ci,
    check_frame,
    check_vcov,
    dataset_arg,
    paired_frame,
    rubin_pool,
    time_levels,
)
from .impute import _mice_imputations, _mice_wide
from .results import Result
from .robust import cluster_robust_formula

__all__ = ["DoseResponseResult", "dose_response"]


# ---------------------------------------------------------------------------
# dose-response
# ---------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class DoseResponseResult(Result):
    """Result of :func:`dose_response`.

    Attributes
    ----------
    table
        (also ``.summary``) One row per analysis x term: ``analysis``
        (``as_treated``, ``completers``, ``itt``), ``term`` (``mean_change``:
        mean post - pre; ``exposure_slope``: difference in follow-up score per
        ``per`` units of exposure, adjusted for baseline), ``estimate, se,
        ci_low, ci_high, p_value, df, n, n_groups, n_imputed, vcov_type,
        df_method, note``.
    members
        Member-level data for plotting: ``member_id, group_id, exposure,
        status, pre, post, change, completer, as_treated``.
    curve
        ``exposure, fit, ci_low, ci_high``: fitted change against exposure
        (as-treated, change ~ exposure, cluster-robust band) for the plot.
    exposure, per, pre, post, vcov, methods
    """

    table: pd.DataFrame
    members: pd.DataFrame
    curve: pd.DataFrame
    exposure: str
    per: float
    pre: str
    post: str
    vcov: str = "CR2"
    methods: tuple[str, ...] = ()

    _plotter: ClassVar[str | None] = "plot_dose_response"
    _title: ClassVar[str] = "Dose-response"

    @property
    def summary(self) -> pd.DataFrame:
        return self.table


def _dose_rows(d: pd.DataFrame, label: str, group: str, per: float, ci: float, vcov: str) -> list[dict]:
    """Mean change (``change ~ 1``) and the baseline-adjusted exposure slope, cluster-robust by group."""
    rows = []
    f1 = cluster_robust_formula("change ~ 1", d, group, type=vcov)
    f2 = cluster_robust_formula("post ~ pre + exposure", d, group, type=vcov)
    for term, fit, name, scale in (("mean_change", f1, "Intercept", 1.0), ("exposure_slope", f2, "exposure", per)):
        t = fit.coef_test(ci).set_index("term").loc[name]
        rows.append({"analysis": label, "term": term, "estimate": t["estimate"] * scale, "se": t["se"] * scale,
                     "ci_low": t["ci_low"] * scale, "ci_high": t["ci_high"] * scale, "p_value": t["p_value"],
                     "df": t["df"], "n": fit.n, "n_groups": fit.n_clusters, "n_imputed": 0, "vcov_type": fit.type,
                     "df_method": t["df_method"], "note": t["note"]})
    return rows


def dose_response(scores: pd.DataFrame, engagement: pd.DataFrame, *, pre: str = "baseline", post: str = "week_26",
                  exposure: str = "sessions_attended", per: float = 1.0, dataset: Dataset | None = None,
                  dv: str = "score", subject: str = "member_id", time: str = "timepoint", group: str = "group_id",
                  completer_status: Sequence[str] = ("completed", "active"), itt: bool = True, m: int = 20,
                  burn_in: int = 10, skip: int = 5, seed: int | None = 0, vcov: str = "CR2", ci: float = 0.95,
                  data: Any = None) -> DoseResponseResult:
    r"""Change against exposure (sessions attended or attendance rate), cluster-robust.

    Parameters
    ----------
    scores
        Long scores.
    engagement
        :func:`groupeval.attendance_summary` output: ``member_id, group_id``,
        the ``exposure`` column and ``status``.
    pre, post
        Timepoints.
    exposure
        ``"sessions_attended"`` (default) or ``"attendance_rate"`` (or any
        numeric engagement column).
    per
        Slope reported per ``per`` units of exposure (e.g. ``per=0.1`` for
        10 percentage points of attendance rate).
    completer_status
        Statuses counted as completers (default: not dropped).
    itt, m, burn_in, skip, seed
        Also give intention-to-treat estimates by multiple imputation
        (:func:`impute` machinery, ``m`` imputations after ``burn_in``
        cycles, ``skip`` cycles apart).

    Returns
    -------
    DoseResponseResult

    Notes
    -----
    Three analysis populations, side by side:

    * **as-treated**: every member with both scores, with the exposure they
      actually received;
    * **completers**: the as-treated members whose engagement ``status`` is in
      ``completer_status`` (did not drop out);
    * **ITT** (intention to treat): every member in ``engagement`` (all
      enrolled), missing scores multiply imputed (MICE with the other
      timepoints, exposure and status as predictors), estimates pooled with
      Rubin's rules.

    For each: ``mean_change`` from ``change ~ 1`` and ``exposure_slope``
    from the ANCOVA ``post ~ pre + exposure`` (the follow-up difference per
    unit exposure at equal baseline), both OLS with the CR2 cluster-robust
    covariance by group and Satterthwaite df (Bell & McCaffrey 2002;
    ``vcov="CR1"``: t with G - 1 df).  The ITT estimates pool the
    imputations with Rubin's rules and the Barnard-Rubin df, the
    complete-data df being the mean Satterthwaite df over the imputations.
    Exposure is not randomised: the slope is an association (members who
    attend more may differ), not a causal dose effect.

    In R: ``clubSandwich::coef_test(lm(post ~ pre + sessions_attended), vcov = "CR2", cluster = group_id,
    test = "Satterthwaite")``.
    """
    check_ci(ci)
    vcov = check_vcov(vcov)
    data = dataset_arg(dataset, data, "dose_response")
    check_frame(engagement, [subject, exposure], what="engagement")
    if not pd.api.types.is_numeric_dtype(engagement[exposure]):
        raise SchemaError(f"engagement column {exposure!r} must be numeric; got {engagement[exposure].dtype}.")
    if not (np.isfinite(per) and per > 0):
        raise ConfigError(f"`per` must be a positive number; got {per!r}.")
    eng = engagement.assign(**{subject: engagement[subject].astype(str)}).drop_duplicates(subject)
    sc = _scores_with_group(scores, eng, data, subject=subject, group=group)
    mem = _member_frame(sc, eng, pre=pre, post=post, exposure=exposure, dv=dv, subject=subject, time=time,
                        group=group, completer_status=completer_status)
    d = mem.loc[mem["as_treated"]]
    if len(d) < 3:
        raise ValidationError(f"dose_response needs members with both {pre!r} and {post!r} scores and an exposure; "
                              f"found {len(d)}.")
    rows = _dose_rows(d, "as_treated", group, per, ci, vcov)
    dc = mem.loc[mem["completer"]]
    if len(dc) >= 3 and dc[group].nunique() >= 2:
        rows += _dose_rows(dc, "completers", group, per, ci, vcov)
    if itt:
        rows += _itt_rows(sc, eng, data, pre=pre, post=post, exposure=exposure, dv=dv, subject=subject, time=time,
                          group=group, per=per, ci=ci, vcov=vcov, m=m, burn_in=burn_in, skip=skip, seed=seed)
    members = mem[[subject, group, "exposure", *(["status"] if "status" in mem.columns else []), "pre", "post",
                   "change", "completer", "as_treated"]].reset_index(drop=True)
    n_groups = d[group].nunique()
    if n_groups < MIN_GROUPS:
        warnings.warn(f"dose_response: only {n_groups} groups; the cluster-robust intervals rest on few groups "
                      f"(Satterthwaite df in the `df` column).", SmallSampleWarning, stacklevel=2)
    methods = ("ols", vcov.lower(), "satterthwaite" if vcov == "CR2" else "g_minus_1", *(("mice", "rubin")
                                                                                        if itt else ()))
    return DoseResponseResult(table=pd.DataFrame(rows), members=members, curve=_curve(d, group, ci, vcov),
                              exposure=exposure, per=per, pre=pre, post=post, vcov=vcov, methods=methods)


def _scores_with_group(scores: pd.DataFrame, eng: pd.DataFrame, data: Any, *, subject: str,
                       group: str) -> pd.DataFrame:
    if group in scores.columns:
        return scores
    if group in eng.columns:
        return scores.assign(**{subject: scores[subject].astype(str)}).merge(eng[[subject, group]], on=subject,
                                                                             how="left")
    return attach_columns(scores, [group], data, subject=subject, group=group)


def _member_frame(sc: pd.DataFrame, eng: pd.DataFrame, *, pre: str, post: str, exposure: str, dv: str,
                  subject: str, time: str, group: str, completer_status: Sequence[str]) -> pd.DataFrame:
    """One row per member: exposure, status, pre, post, change and the as-treated / completer flags."""
    wide, _ = paired_frame(sc, pre, post, dv=dv, subject=subject, time=time, keep=[group])
    wide[subject] = wide[subject].astype(str)
    ecols = [c for c in (exposure, "status") if c in eng.columns]
    mem = eng[[subject, *([group] if group in eng.columns else []), *ecols]].merge(
        wide.drop(columns=[group]) if group in eng.columns else wide, on=subject, how="outer")
    mem = mem.rename(columns={exposure: "exposure"})
    mem["change"] = mem["post"] - mem["pre"]
    mem["as_treated"] = mem["pre"].notna() & mem["post"].notna() & mem["exposure"].notna()
    status = mem["status"].astype(str) if "status" in mem.columns else pd.Series("", index=mem.index)
    mem["completer"] = mem["as_treated"] & status.isin(list(completer_status))
    no_eng = int((mem["exposure"].isna() & mem["pre"].notna() & mem["post"].notna()).sum())
    if no_eng:
        warnings.warn(f"{no_eng} member(s) with both scores have no {exposure!r} in `engagement` and are left out "
                      f"of the dose-response estimates.", SmallSampleWarning, stacklevel=3)
    return mem


def _itt_rows(sc: pd.DataFrame, eng: pd.DataFrame, data: Any, *, pre: str, post: str, exposure: str, dv: str,
              subject: str, time: str, group: str, per: float, ci: float, vcov: str, m: int, burn_in: int,
              skip: int, seed: int | None) -> list[dict]:
    """Intention-to-treat rows: every enrolled member, missing scores multiply imputed, Rubin's rules."""
    levels = time_levels(sc[time], None, data)
    w = _mice_wide(sc, dv=dv, subject=subject, time=time, group=group, data=None, engagement=eng, levels=levels)
    X = pd.DataFrame({f"y{i}": pd.to_numeric(w[t], errors="coerce").to_numpy() for i, t in enumerate(levels)})
    e_ = eng.set_index(subject).reindex(w.index)
    X["exposure"] = pd.to_numeric(e_[exposure], errors="coerce").to_numpy()
    if "status" in e_.columns:
        dropped = (e_["status"].astype(str) == "dropped").astype(float).to_numpy()
        if np.nanstd(dropped) > 0:
            X["dropped"] = dropped
    yp, yq = f"y{levels.index(pre)}", f"y{levels.index(post)}"
    gid = w[group].astype(str).to_numpy()
    ok = X["exposure"].notna().to_numpy() & pd.notna(gid)
    if not ok.all():
        warnings.warn(f"dose_response ITT: {int((~ok).sum())} member(s) with scores but no {exposure!r} (or group) "
                      f"in `engagement` are left out of the intention-to-treat population.",
                      SmallSampleWarning, stacklevel=3)
    X, gid = X.loc[ok].reset_index(drop=True), gid[ok]
    n_imp = int((X[yp].isna() | X[yq].isna()).sum())
    per_imp: dict[str, list[dict]] = {"mean_change": [], "exposure_slope": []}
    for imputed in _mice_imputations(X, m=m, burn_in=burn_in, skip=skip, seed=seed):
        dd = pd.DataFrame({"pre": imputed[yp].to_numpy(), "post": imputed[yq].to_numpy(),
                           "exposure": imputed["exposure"].to_numpy(), group: gid})
        dd["change"] = dd["post"] - dd["pre"]
        for r in _dose_rows(dd, "itt", group, per, ci, vcov):
            per_imp[r["term"]].append(r)
    rows = []
    for term, vals in per_imp.items():
        df_c = float(np.nanmean([v["df"] for v in vals]))
        pl = rubin_pool([v["estimate"] for v in vals], [v["se"] ** 2 for v in vals], ci=ci, df_complete=df_c)
        rows.append({"analysis": "itt", "term": term, "estimate": pl["estimate"], "se": pl["se"],
                     "ci_low": pl["ci_low"], "ci_high": pl["ci_high"], "p_value": pl["p_value"], "df": pl["df"],
                     "n": int(len(X)), "n_groups": int(vals[0]["n_groups"]), "n_imputed": n_imp,
                     "vcov_type": vcov, "df_method": "barnard-rubin", "note": ""})
    return rows


def _curve(d: pd.DataFrame, group: str, ci: float, vcov: str) -> pd.DataFrame:
    """Fitted change against exposure (as-treated, ``change ~ exposure``) with its cluster-robust band."""
    fc = cluster_robust_formula("change ~ exposure", d, group, type=vcov)
    grid = np.linspace(float(d["exposure"].min()), float(d["exposure"].max()), 50)
    t = fc.contrast(np.column_stack([np.ones_like(grid), grid]), ci)
    return pd.DataFrame({"exposure": grid, "fit": t["estimate"].to_numpy(), "ci_low": t["ci_low"].to_numpy(),
                         "ci_high": t["ci_high"].to_numpy()})
