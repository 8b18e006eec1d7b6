"""Linear mixed model: score on time and covariates, random intercepts for members nested in groups."""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..base.exceptions import (
    ConvergenceWarning,
    DataQualityWarning,
    ValidationError,
)
from ._common import (
    attach_columns,
    check_ci,
    check_frame,
    design_info_of,
    formula_term,
    time_levels,
)
from .results import AttributeResult

__all__ = ["OPTIMIZERS", "MixedModelResult", "mixed_model"]

#: Optimisers tried in turn by :func:`mixed_model` before falling back to GEE.
OPTIMIZERS = ("bfgs", "lbfgs", "powell", "nm", "cg")


# tight tolerances so REML estimates agree with lme4 to ~1e-6
_OPT_KW = {"bfgs": {"gtol": 1e-7, "maxiter": 2000}, "lbfgs": {"maxiter": 2000}, "cg": {"gtol": 1e-7, "maxiter": 5000},
           "powell": {"maxiter": 20000}, "nm": {"maxiter": 20000}}


# ---------------------------------------------------------------------------
# mixed model
# ---------------------------------------------------------------------------
class MixedModelResult(AttributeResult):
    """Result of :func:`mixed_model`.

    Attributes
    ----------
    fixed : DataFrame
        ``term, estimate, se, z, p_value, ci_low, ci_high`` (Wald, normal).
    variance_components : DataFrame
        ``component`` (``group``, ``member``, ``residual``), ``variance``,
        ``sd``, ``share`` (of the total).  NaN after a GEE fallback.
    means : DataFrame
        Estimated mean per timepoint (and ``by`` level): ``[by], timepoint,
        mean, se, ci_low, ci_high, n_observed``.  Covariates are averaged
        over the observed rows (marginal means over the sample).
    changes : DataFrame
        Each timepoint's mean minus the first timepoint's: ``[by], timepoint,
        reference, difference, se, ci_low, ci_high, p_value``.
    method : str
        ``"mixedlm"`` or ``"gee"``; ``optimizer`` the one that converged;
        ``notes`` every warning met and fallback taken; ``converged``.
    formula, n_obs, n_members, n_groups, dv, time, time_values, by, raw
        Model formula, sizes, names and the statsmodels result.
    """

    _plotter = "plot_means_over_time"
    _title = "Mixed model"

    @property
    def summary(self) -> pd.DataFrame:
        return self.fixed

    def _repr_html_(self) -> str:
        head = (f"<p><b>Mixed model</b> ({self.method_description}; {self.n_obs} observations, "
                f"{self.n_members} members, {self.n_groups} groups)</p>")
        return (head + self.means.to_html(index=False) + self.fixed.to_html(index=False)
                + self.variance_components.to_html(index=False))


def _gls_cov(X: np.ndarray, member: np.ndarray, group: np.ndarray, s2g: float, s2m: float, s2e: float) -> np.ndarray:
    r"""Covariance of the fixed effects :math:`(X'V^{-1}X)^{-1}` for nested random intercepts.

    :math:`V_g = s^2_e I + s^2_m \,\mathrm{blockdiag}(J_{n_i}) + s^2_g J`; the inverse is
    applied in closed form (Sherman-Morrison twice), vectorised over members
    and groups.  This is the covariance lme4 reports (``vcov(lmer_fit)``).
    """
    mcode, muniq = pd.factorize(member)
    gcode_m = pd.factorize(pd.Series(group).groupby(mcode).first().to_numpy())[0]
    p = X.shape[1]
    n_i = np.bincount(mcode).astype(float)
    S = np.zeros((len(muniq), p))
    np.add.at(S, mcode, X)
    a = s2e
    c = s2m / (a + n_i * s2m)
    w = 1.0 / (a + n_i * s2m)
    G = int(gcode_m.max()) + 1
    T = np.zeros((G, p))
    np.add.at(T, gcode_m, w[:, None] * S)
    q = np.bincount(gcode_m, weights=n_i * w, minlength=G)
    k = s2g / (1 + s2g * q)
    info = (X.T @ X - (S * c[:, None]).T @ S) / a - (T * k[:, None]).T @ T
    return np.linalg.inv(info)


def _nested_mixedlm(formula: str, work: pd.DataFrame) -> tuple[Any, Any]:
    """MixedLM with a random intercept per group ``_g`` and a member variance component ``_mg``.

    Equivalent to ``smf.mixedlm(formula, work, groups="_g", re_formula="1",
    vc_formula={"member": "0 + C(_mg)"})`` but builds the member indicator
    matrices directly (one small array per group) instead of evaluating a
    formula per group, which is several times faster for thousands of members.
    Returns the model and the patsy DesignInfo of the fixed effects.
    """
    import patsy
    from statsmodels.regression.mixed_linear_model import MixedLM, VCSpec

    y, X = patsy.dmatrices(formula, work, return_type="dataframe", NA_action="raise")
    gcode, guniq = pd.factorize(work["_g"], sort=True)
    order = np.argsort(gcode, kind="stable")
    mcode_sorted, _ = pd.factorize(work["_mg"].to_numpy()[order])  # contiguous per group in this order
    gs = gcode[order]
    bounds = np.flatnonzero(np.diff(gs)) + 1
    starts = np.r_[0, bounds]
    ends = np.r_[bounds, len(gs)]
    mats, cols = [], []
    for a, b in zip(starts, ends):  # one small indicator matrix per group (not per member)
        local = mcode_sorted[a:b] - mcode_sorted[a:b].min()
        k = int(local.max()) + 1
        M = np.zeros((b - a, k))
        M[np.arange(b - a), local] = 1.0
        mats.append(M)
        cols.append([f"m{j}" for j in range(k)])
    vc = VCSpec(["member"], [cols], [mats])
    model = MixedLM(y.iloc[:, 0], X, gcode, exog_re=np.ones((len(work), 1)), exog_vc=vc)
    return model, X.design_info


def _is_convergence_failure(msgs: list[str]) -> bool:
    bad = ("failed to converge", "did not converge", "retrying", "singular matrix", "gradient optimization failed")
    return any(any(b in m.lower() for b in bad) for m in msgs)


def _marginal_L(design_info: Any, frame: pd.DataFrame, assign: dict[str, Any]) -> np.ndarray:
    import patsy

    nd = frame.assign(**assign)
    X = patsy.dmatrix(design_info, nd, return_type="matrix")
    return np.asarray(X).mean(axis=0)


def _means_tables(design_info, frame, params, cov, time_levels, by_levels, ci, z_based, df_t):
    crit = stats.norm.ppf(0.5 + ci / 2) if z_based else stats.t.ppf(0.5 + ci / 2, df_t)
    rows, L_all = [], []
    for b in (by_levels if by_levels is not None else [None]):
        for t in time_levels:
            a = {"_time": pd.Categorical([t] * len(frame), categories=time_levels)}
            if b is not None:
                a["_by"] = pd.Categorical([b] * len(frame), categories=by_levels)
            L = _marginal_L(design_info, frame, a)
            L_all.append(L)
            rows.append((b, t))
    L = np.vstack(L_all)
    est = L @ params
    se = np.sqrt(np.einsum("ij,jk,ik->i", L, cov, L))
    means = pd.DataFrame({"by": [r[0] for r in rows], "timepoint": [r[1] for r in rows], "mean": est, "se": se,
                          "ci_low": est - crit * se, "ci_high": est + crit * se})
    # differences from the first timepoint within each by level
    T = len(time_levels)
    D, drow = [], []
    for i in range(len(rows)):
        j = (i // T) * T
        if i != j:
            D.append(L[i] - L[j])
            drow.append((rows[i][0], rows[i][1], rows[j][1]))
    if D:
        D = np.vstack(D)
        de = D @ params
        dse = np.sqrt(np.einsum("ij,jk,ik->i", D, cov, D))
        stat = de / dse
        p = 2 * (stats.norm.sf(np.abs(stat)) if z_based else stats.t.sf(np.abs(stat), df_t))
        changes = pd.DataFrame({"by": [r[0] for r in drow], "timepoint": [r[1] for r in drow],
                                "reference": [r[2] for r in drow], "difference": de, "se": dse,
                                "ci_low": de - crit * dse, "ci_high": de + crit * dse, "p_value": p})
    else:
        changes = pd.DataFrame(columns=["by", "timepoint", "reference", "difference", "se", "ci_low", "ci_high",
                                        "p_value"])
    return means, changes


def mixed_model(scores: pd.DataFrame, *, dv: str = "score", time: str = "timepoint", covariates: Sequence[str] = (),
                data: Any = None, group: str = "group_id", subject: str = "member_id",
                time_values: Sequence[str] | None = None, by: str | None = None, ci: float = 0.95,
                optimizers: Sequence[str] = OPTIMIZERS) -> MixedModelResult:
    r"""Linear mixed model of the score on time, random intercepts for members nested in groups.

    Parameters
    ----------
    scores
        Long scores (one row per member and timepoint).
    dv, time, group, subject
        Column names.
    covariates
        Extra fixed effects: columns of ``scores``, ``data.members`` (e.g.
        ``age_band``) or ``data.groups`` (e.g. ``facilitation``).
        Non-numeric ones enter as categorical.
    data
        The Dataset, for covariates/``by`` not in ``scores``, the group of
        each member, and the timepoint order.
    time_values
        Timepoint order (first = reference); default ``data.timepoints``, else
        order of appearance.
    by
        Optional grouping (e.g. ``"group_type"``): adds ``time x by`` and gives
        means per ``by`` level.
    ci
        Confidence level.
    optimizers
        Optimisers tried in turn (default bfgs, lbfgs, powell, nm, cg).

    Returns
    -------
    MixedModelResult
        ``.fixed``, ``.variance_components``, ``.means``, ``.changes``,
        ``.method``, ``.notes`` (see the class).

    Notes
    -----
    Model (REML):

    .. math::
        y_{tij} = x_{tij}'\beta + u_j + v_{ij} + e_{tij},\quad u_j\sim N(0,\sigma_g^2),\;
        v_{ij}\sim N(0,\sigma_m^2),\; e\sim N(0,\sigma^2)

    fitted by ``statsmodels.MixedLM`` with groups as the top-level grouping
    (random intercept) and members as a variance component
    (``vc_formula``).  Using all available rows, the time means are valid
    under missing at random (MAR).  Convergence: each optimiser in
    ``optimizers`` is tried until one converges with finite standard errors;
    a fit whose variance component is on the boundary (0) is kept (as lme4
    does) but reported.  If every optimiser fails, the model is refitted by
    GEE (Gaussian, exchangeable working correlation within group,
    cluster-robust "sandwich" SEs by group) and ``.method == "gee"``.
    Every failure and fallback is warned (:class:`ConvergenceWarning`) and
    listed in ``.notes``.  Inference is Wald (normal); no
    Satterthwaite/Kenward-Roger df.  Standard errors of the fixed effects
    are the GLS covariance :math:`(X'\hat V^{-1}X)^{-1}` at the REML
    variance estimates (as ``vcov()`` of lme4), not statsmodels'
    Hessian-based ones (which differ by ~1e-4 relative).

    References
    ----------
    Bates D, Maechler M, Bolker B, Walker S (2015). lme4. *J Stat Softw* 67(1).
    Liang KY, Zeger SL (1986). GEE. *Biometrika* 73:13-22.

    In R: ``lme4::lmer(score ~ timepoint + (1 | group_id/member_id), REML = TRUE)``.
    """
    check_ci(ci)
    import statsmodels.api as sm
    import statsmodels.formula.api as smf
    from statsmodels.tools.sm_exceptions import ConvergenceWarning as SMConvergenceWarning

    check_frame(scores, [subject, time, dv])
    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    need = [c for c in [group, *covariates, by] if c]
    df = attach_columns(scores, need, data, subject=subject, group=group)
    df = df.loc[df[dv].notna()].copy()
    levels = time_levels(df[time], time_values, data)
    if len(levels) < 2:
        raise ValidationError(f"the mixed model needs at least two timepoints with scores; found {levels}.")
    work = pd.DataFrame({"_y": pd.to_numeric(df[dv], errors="coerce").to_numpy(),
                         "_time": pd.Categorical(df[time].astype(str), categories=levels),
                         "_g": df[group].astype(str).to_numpy(), "_m": df[subject].astype(str).to_numpy()})
    terms = ["_time"]
    by_levels = None
    if by:
        bv = df[by].astype("object")
        by_levels = sorted(pd.unique(bv.dropna().astype(str)))
        work["_by"] = pd.Categorical(bv.astype(str).where(bv.notna(), None), categories=by_levels)
        terms = ["_time * _by"]
    for c in covariates:
        col = df[c]
        work[c] = col.to_numpy()
        terms.append(formula_term(c) if pd.api.types.is_numeric_dtype(col) else f"C({formula_term(c)})")
    incomplete = work.isna().any(axis=1)
    n_dropped = int(incomplete.sum())
    if n_dropped:
        what = [c for c in work.columns if work[c].isna().any()]
        pretty = {"_y": dv, "_time": time, "_g": group, "_m": subject, "_by": by or "by"}
        dropped_note = (f"{n_dropped} score row(s) left out for missing "
                        f"{', '.join(pretty.get(c, c) for c in what)}")
        warnings.warn(f"mixed_model: {dropped_note}.", DataQualityWarning, stacklevel=2)
    work = work.loc[~incomplete].reset_index(drop=True)
    # nested member id: a member is unique within a group
    work["_mg"] = work["_g"] + "\x1f" + work["_m"]
    formula = "_y ~ " + " + ".join(terms)
    n_obs, n_members, n_groups = len(work), work["_mg"].nunique(), work["_g"].nunique()
    notes: list[str] = [dropped_note] if n_dropped else []
    result, method, used = None, None, None
    model, mixed_design = _nested_mixedlm(formula, work)
    for opt in optimizers:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                res = model.fit(reml=True, method=[opt], **_OPT_KW.get(opt, {}))
            except (np.linalg.LinAlgError, ValueError, FloatingPointError) as exc:
                notes.append(f"MixedLM ({opt}) failed: {exc}")
                continue
        msgs = [str(w.message) for w in caught if issubclass(w.category, (SMConvergenceWarning, RuntimeWarning))]
        fe_se = np.asarray(res.bse_fe, dtype=float)
        finite = np.all(np.isfinite(res.fe_params)) and np.all(np.isfinite(fe_se))
        if not res.converged or not finite or _is_convergence_failure(msgs):
            why = "; ".join(msgs) or ("not converged" if not res.converged else "non-finite standard errors")
            notes.append(f"MixedLM ({opt}) did not converge: {why}")
            continue
        for mmsg in msgs:
            notes.append(f"MixedLM ({opt}): {mmsg}")
        result, method, used = res, "mixedlm", opt
        break
    z_based = True
    if result is not None:
        params = np.asarray(result.fe_params, dtype=float)
        names = list(result.fe_params.index)
        s2g = float(np.asarray(result.cov_re)[0, 0])
        s2m = float(result.vcomp[0]) if len(result.vcomp) else 0.0
        s2e = float(result.scale)
        cov = _gls_cov(np.asarray(model.exog, dtype=float), work["_mg"].to_numpy(), work["_g"].to_numpy(),
                       s2g, s2m, s2e)
        tot = s2g + s2m + s2e
        vc = pd.DataFrame({"component": ["group", "member", "residual"], "variance": [s2g, s2m, s2e]})
        vc["sd"] = np.sqrt(vc["variance"])
        vc["share"] = vc["variance"] / tot
        tiny = vc.loc[vc["component"] != "residual"]
        tiny = tiny.loc[tiny["variance"] <= 1e-6 * tot, "component"].tolist()
        if not tiny and any("boundary" in n for n in msgs):
            tiny = [vc.loc[vc["component"] != "residual"].sort_values("variance")["component"].iloc[0]]
        if tiny:
            msg = (f"boundary (singular) fit: the {' and '.join(tiny)} variance is estimated at (or near) 0; "
                   f"the fixed effects are still valid, but the model cannot separate that level.")
            notes.append(msg)
            warnings.warn(f"mixed_model: {msg}", ConvergenceWarning, stacklevel=2)
        if any("did not converge" in n or "failed" in n for n in notes):
            warnings.warn(f"mixed_model: optimiser(s) failed before {used} converged: " + " | ".join(notes),
                          ConvergenceWarning, stacklevel=2)
        design_info = mixed_design
        description = f"linear mixed model (statsmodels MixedLM, REML, {used})"
    else:
        gee = smf.gee(formula, "_g", work, cov_struct=sm.cov_struct.Exchangeable(),
                      family=sm.families.Gaussian())
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = gee.fit()
        except (np.linalg.LinAlgError, ValueError) as exc:
            raise ValidationError("the mixed model could not be fitted with any optimiser, and the GEE fallback "
                                  f"failed too ({exc}). Check for timepoints or groups with very few scores, or "
                                  "constant scores. Details: " + " | ".join(notes)) from exc
        method, used = "gee", None
        params = np.asarray(result.params, dtype=float)
        names = list(result.params.index)
        cov = np.asarray(result.cov_params(), dtype=float)
        vc = pd.DataFrame({"component": ["group", "member", "residual"], "variance": np.nan, "sd": np.nan,
                           "share": np.nan})
        msg = ("MixedLM did not converge with any optimiser (" + ", ".join(optimizers) + "); fell back to GEE "
               "(exchangeable within group, cluster-robust SEs by group). Details: " + " | ".join(notes))
        notes.append("fallback: GEE with exchangeable working correlation and cluster-robust SEs by group")
        warnings.warn(f"mixed_model: {msg}", ConvergenceWarning, stacklevel=2)
        design_info = design_info_of(gee)
        description = "GEE (Gaussian, exchangeable within group, cluster-robust SEs by group)"
    se = np.sqrt(np.diag(cov))
    zc = stats.norm.ppf(0.5 + ci / 2)
    pretty = [n.replace("_time", time).replace("_by", by or "by").replace('Q("', "").replace('")', "")
              for n in names]
    fixed = pd.DataFrame({"term": pretty, "estimate": params, "se": se, "z": params / se,
                          "p_value": 2 * stats.norm.sf(np.abs(params / se)), "ci_low": params - zc * se,
                          "ci_high": params + zc * se})
    means, changes = _means_tables(design_info, work, params, cov, levels, by_levels, ci, z_based, None)
    nobs = work.groupby(["_by", "_time"] if by else ["_time"], observed=False).size()
    if by:
        means["n_observed"] = [int(nobs.get((b, t), 0)) for b, t in zip(means["by"], means["timepoint"])]
        means = means.rename(columns={"by": by})
        changes = changes.rename(columns={"by": by})
    else:
        means["n_observed"] = [int(nobs.get(t, 0)) for t in means["timepoint"]]
        means = means.drop(columns="by")
        changes = changes.drop(columns="by")
    return MixedModelResult(fixed=fixed, variance_components=vc, means=means, changes=changes, method=method,
                            optimizer=used, converged=method == "mixedlm", notes=notes, formula=formula,
                            method_description=description, n_obs=n_obs, n_members=n_members, n_groups=n_groups,
                            dv=dv, time=time, time_values=tuple(levels), by=by, raw=result, ci=ci)
