"""Dose-response: change against sessions attended, as-treated / completers / ITT, cluster-robust."""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..base.exceptions import (
    ConfigError,
    SchemaError,
    SmallSampleWarning,
    ValidationError,
)
from ._common import (
    attach_columns,
    check_ci,
    check_frame,
    cluster_ols,
    paired_frame,
    rubin_pool,
    time_levels,
)
from .impute import _mice_imputations, _mice_wide
from .results import AttributeResult

__all__ = ["DoseResponseResult", "dose_response"]


# ---------------------------------------------------------------------------
# dose-response
# ---------------------------------------------------------------------------
class DoseResponseResult(AttributeResult):
    """Result of :func:`dose_response`.

    Attributes
    ----------
    summary : DataFrame
        One row per analysis x term: ``analysis`` (``as_treated``,
        ``completers``, ``itt``), ``term`` (``mean_change``: mean post - pre;
        ``exposure_slope``: difference in follow-up score per ``per`` units
        of exposure, adjusted for baseline), ``estimate, se, ci_low,
        ci_high, p_value, df, n, n_groups, n_imputed``.
    members : DataFrame
        Member-level data for plotting: ``member_id, group_id, exposure,
        status, pre, post, change, completer, as_treated``.
    curve : DataFrame
        ``exposure, fit, ci_low, ci_high``: fitted change against exposure
        (as-treated, change ~ exposure, CR1 band) for the plot.
    exposure, per, pre, post : str / float
    """

    _plotter = "plot_dose_response"
    _title = "Dose-response"

    @property
    def summary(self) -> pd.DataFrame:
        return self._summary


def _dose_rows(d: pd.DataFrame, label: str, group: str, per: float, ci: float) -> list[dict]:
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        f1 = cluster_ols("change ~ 1", d, group, ci=ci)
        f2 = cluster_ols("post ~ pre + exposure", d, group, ci=ci)
    for term, fit, name, scale in (("mean_change", f1, "Intercept", 1.0), ("exposure_slope", f2, "exposure", per)):
        t = fit.table().set_index("term").loc[name]
        rows.append({"analysis": label, "term": term, "estimate": t["estimate"] * scale, "se": t["se"] * scale,
                     "ci_low": t["ci_low"] * scale, "ci_high": t["ci_high"] * scale, "p_value": t["p_value"],
                     "df": t["df"], "n": fit.n, "n_groups": fit.n_clusters, "n_imputed": 0})
    return rows


def dose_response(scores: pd.DataFrame, engagement: pd.DataFrame, *, pre: str = "baseline", post: str = "week_26",
                  exposure: str = "sessions_attended", per: float = 1.0, dv: str = "score",
                  subject: str = "member_id", time: str = "timepoint", group: str = "group_id", data: Any = None,
                  completer_status: Sequence[str] = ("completed", "active"), itt: bool = True, m: int = 20,
                  burn_in: int = 10, skip: int = 5, seed: int | None = 0, ci: float = 0.95) -> DoseResponseResult:
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
    unit exposure at equal baseline), both OLS with CR1 cluster-robust
    covariance by group and t(G - 1) inference (Cameron & Miller 2015).
    Exposure is not randomised: the slope is an association (members who
    attend more may differ), not a causal dose effect.

    In R: ``coeftest(lm(post ~ pre + sessions_attended), vcovCL(fit, cluster = ~group_id, type = "HC1"), df = G - 1)``.
    """
    check_ci(ci)
    check_frame(engagement, [subject, exposure], what="engagement")
    if not pd.api.types.is_numeric_dtype(engagement[exposure]):
        raise SchemaError(f"engagement column {exposure!r} must be numeric; got {engagement[exposure].dtype}.")
    if not (np.isfinite(per) and per > 0):
        raise ConfigError(f"`per` must be a positive number; got {per!r}.")
    eng = engagement.assign(**{subject: engagement[subject].astype(str)}).drop_duplicates(subject)
    sc = scores
    if group not in sc.columns:
        src = eng if group in eng.columns else None
        if src is not None:
            sc = sc.assign(**{subject: sc[subject].astype(str)}).merge(src[[subject, group]], on=subject, how="left")
        else:
            sc = attach_columns(sc, [group], data, subject=subject, group=group)
    wide, counts = paired_frame(sc, pre, post, dv=dv, subject=subject, time=time, keep=[group])
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
                      f"of the dose-response estimates.", SmallSampleWarning, stacklevel=2)
    d = mem.loc[mem["as_treated"]]
    if len(d) < 3:
        raise ValidationError(f"dose_response needs members with both {pre!r} and {post!r} scores and an exposure; "
                              f"found {len(d)}.")
    rows = _dose_rows(d, "as_treated", group, per, ci)
    dc = mem.loc[mem["completer"]]
    if len(dc) >= 3 and dc[group].nunique() >= 2:
        rows += _dose_rows(dc, "completers", group, per, ci)
    if itt:
        # multiple imputation over every enrolled member in engagement

        levels = time_levels(sc[time], None, data)
        w = _mice_wide(sc, dv=dv, subject=subject, time=time, group=group, data=None, engagement=eng,
                       levels=levels)
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
                          SmallSampleWarning, stacklevel=2)
        X, gid = X.loc[ok].reset_index(drop=True), gid[ok]
        n_imp = int((X[yp].isna() | X[yq].isna()).sum())
        per_imp: dict[str, list[tuple[float, float]]] = {"mean_change": [], "exposure_slope": []}
        for imputed in _mice_imputations(X, m=m, burn_in=burn_in, skip=skip, seed=seed):
            dd = pd.DataFrame({"pre": imputed[yp].to_numpy(), "post": imputed[yq].to_numpy(),
                               "exposure": imputed["exposure"].to_numpy(), group: gid})
            dd["change"] = dd["post"] - dd["pre"]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for r in _dose_rows(dd, "itt", group, per, ci):
                    per_imp[r["term"]].append((r["estimate"], r["se"] ** 2))
            G = r["n_groups"]
        for term, vals in per_imp.items():
            pl = rubin_pool([v[0] for v in vals], [v[1] for v in vals], ci=ci, df_complete=G - 1)
            rows.append({"analysis": "itt", "term": term, "estimate": pl["estimate"], "se": pl["se"],
                         "ci_low": pl["ci_low"], "ci_high": pl["ci_high"], "p_value": pl["p_value"], "df": pl["df"],
                         "n": int(len(X)), "n_groups": int(G), "n_imputed": n_imp})
    summary = pd.DataFrame(rows)
    # fitted curve for the plot (as-treated, change ~ exposure)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        fc = cluster_ols("change ~ exposure", d, group, ci=ci)
    grid = np.linspace(float(d["exposure"].min()), float(d["exposure"].max()), 50)
    L = np.column_stack([np.ones_like(grid), grid])
    fit_, se_ = fc.contrast(L)
    crit = stats.t.ppf(0.5 + ci / 2, fc.df)
    curve = pd.DataFrame({"exposure": grid, "fit": fit_, "ci_low": fit_ - crit * se_, "ci_high": fit_ + crit * se_})
    members = mem[[subject, group, "exposure", *(["status"] if "status" in mem.columns else []), "pre", "post",
                   "change", "completer", "as_treated"]].reset_index(drop=True)
    if d[group].nunique() < 20:
        warnings.warn(f"dose_response: only {d[group].nunique()} groups; cluster-robust SEs are unreliable with "
                      f"fewer than about 20 clusters (Cameron & Miller 2015).", SmallSampleWarning, stacklevel=2)
    return DoseResponseResult(_summary=summary, members=members, curve=curve, exposure=exposure, per=per, pre=pre,
                              post=post, completer_status=tuple(completer_status), n_pre_only=counts["n_pre_only"],
                              n_post_only=counts["n_post_only"])
