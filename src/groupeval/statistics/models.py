"""Cluster-aware outcome models: ICC, mixed model, dose-response, group
comparisons and multiple imputation.

Members are nested in groups, so every model here accounts for the group:

* :func:`icc` -- ICC(1) of an outcome by group, with its CI and the design effect;
* :func:`mixed_model` -- linear mixed model (statsmodels ``MixedLM``, REML)
  with random intercepts for members nested in groups, with a loud,
  recorded fallback (other optimisers, then GEE with cluster-robust SEs);
* :func:`dose_response` -- change against sessions attended, cluster-robust,
  intention-to-treat / completers / as-treated side by side;
* :func:`compare_groups` -- ANCOVA of follow-up on baseline and group type
  with group-clustered SEs and multiplicity-corrected pairwise contrasts;
* :func:`impute` -- multiple imputation (statsmodels MICE) of missing
  follow-ups pooled with Rubin's rules, next to completers and the mixed model.

All tables are tidy and unrounded.
"""
from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..base.exceptions import (
    ConfigError,
    ConvergenceWarning,
    DataQualityWarning,
    Problem,
    SchemaError,
    SmallSampleWarning,
    ValidationError,
)
from ._common import attach_columns, check_choice, check_frame, cluster_ols, design_info_of, paired_frame, rubin_pool
from .results import AttributeResult

__all__ = ["icc", "mixed_model", "MixedModelResult", "dose_response", "DoseResponseResult", "compare_groups",
           "GroupComparisonResult", "impute", "ImputationResult", "OPTIMIZERS"]

#: Optimisers tried in turn by :func:`mixed_model` before falling back to GEE.
OPTIMIZERS = ("bfgs", "lbfgs", "powell", "nm", "cg")
# tight tolerances so REML estimates agree with lme4 to ~1e-6
_OPT_KW = {"bfgs": {"gtol": 1e-7, "maxiter": 2000}, "lbfgs": {"maxiter": 2000}, "cg": {"gtol": 1e-7, "maxiter": 5000},
           "powell": {"maxiter": 20000}, "nm": {"maxiter": 20000}}


def _check_ci(ci: float) -> None:
    if not (0 < ci < 1):
        raise ConfigError(f"`ci` must be between 0 and 1 (e.g. 0.95); got {ci!r}.")


def _time_levels(values: pd.Series, time_values: Sequence[str] | None, data: Any) -> list[str]:
    present = list(pd.unique(values.dropna().astype(str)))
    if time_values is None and data is not None and getattr(data, "timepoints", None):
        time_values = [t for t in data.timepoints if t in present]
    if time_values is None:
        if isinstance(values.dtype, pd.CategoricalDtype):
            return [str(c) for c in values.cat.categories if c in present]
        return present
    unknown = [t for t in present if t not in time_values]
    if unknown:
        raise ConfigError("timepoints in the scores are missing from `time_values`",
                          [Problem(None, None, None, t, "timepoint not listed in `time_values`",
                                   "add it to `time_values` (in order) or drop those rows") for t in unknown])
    return [str(t) for t in time_values if t in present]


# ---------------------------------------------------------------------------
# ICC(1)
# ---------------------------------------------------------------------------
def icc(scores: pd.DataFrame, *, dv: str = "score", group: str = "group_id", timepoint: str | None = None,
        time: str = "timepoint", data: Any = None, subject: str = "member_id", ci: float = 0.95) -> pd.DataFrame:
    r"""ICC(1) of an outcome by group (one-way random-effects ANOVA), with CI and design effect.

    Parameters
    ----------
    scores
        Long scores with ``group`` (or ``data`` to look it up), ``dv`` and ``time``.
    dv, group
        Outcome column and clustering column.
    timepoint
        One timepoint; ``None`` gives one row per timepoint present (or a
        single row when there is no ``time`` column).
    data
        Dataset used to find each member's group when ``scores`` has no ``group`` column.
    ci
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        ``timepoint, icc, ci_low, ci_high, f, df1, df2, p_value, n_groups, n,
        mean_group_size, n0, design_effect, msb, msw``.

    Notes
    -----
    With :math:`k` groups, :math:`N` members, :math:`n_j` members in group
    :math:`j` and :math:`n_0 = (N - \sum n_j^2/N)/(k-1)`:

    .. math::
        ICC(1) = \frac{MS_B - MS_W}{MS_B + (n_0 - 1)MS_W},\qquad F = MS_B/MS_W

        F_L = F / F_{1-\alpha/2}(k-1, N-k),\quad F_U = F\,F_{1-\alpha/2}(N-k, k-1),\quad
        CI = \Big[\frac{F_L - 1}{F_L + n_0 - 1}, \frac{F_U - 1}{F_U + n_0 - 1}\Big]

    (Shrout & Fleiss 1979 ICC(1,1); McGraw & Wong 1996 case 1).  For
    unequal group sizes :math:`n_0` replaces the common group size; the
    interval is then approximate.  The design effect uses the mean group
    size :math:`\bar m = N/k`: :math:`1 + (\bar m - 1)\,ICC`.  The estimate
    is not truncated at 0.

    References
    ----------
    Shrout PE, Fleiss JL (1979). Intraclass correlations. *Psychol Bull* 86:420-428.
    McGraw KO, Wong SP (1996). *Psychol Methods* 1:30-46.

    In R: ``summary(aov(score ~ factor(group_id)))`` then the formulas above.
    """
    _check_ci(ci)
    check_frame(scores, [dv])
    df = scores
    if group not in df.columns:
        df = attach_columns(df, [group], data, subject=subject, group=group)
    check_frame(df, [group, dv])
    if timepoint is not None:
        check_frame(df, [time])
        sel = df[time].astype("string") == timepoint
        if not sel.any():
            raise ConfigError(f"timepoint {timepoint!r} does not occur in the scores; use one of "
                              f"{', '.join(map(repr, pd.unique(df[time].astype(str))))}.")
        df = df.loc[sel]
    by = time if (timepoint is not None or time in df.columns) else None
    yv = pd.to_numeric(df[dv], errors="coerce").to_numpy(dtype=float)
    gcodes, _ = pd.factorize(df[group])
    ok = ~np.isnan(yv) & (gcodes >= 0)
    if by:
        tcodes, tuniq = pd.factorize(df[by].astype(str) if not isinstance(df[by].dtype, pd.CategoricalDtype)
                                     else df[by].astype(str))
        ok &= tcodes >= 0
    else:
        tcodes, tuniq = np.zeros(len(df), dtype=np.int64), np.array([None], dtype=object)
    yv, gcodes, tcodes = yv[ok], gcodes[ok], tcodes[ok]
    ng = int(gcodes.max()) + 1 if gcodes.size else 1
    cells = tcodes.astype(np.int64) * ng + gcodes
    cu, cinv = np.unique(cells, return_inverse=True)
    csize = np.bincount(cinv).astype(float)
    csum = np.bincount(cinv, yv)
    cmean = csum / csize
    cssw = np.bincount(cinv, (yv - cmean[cinv]) ** 2)
    ctime = cu // ng
    rows = []
    for ti in range(len(tuniq)):  # one iteration per timepoint
        sel = ctime == ti
        tk = tuniq[ti]
        size, sums, means = csize[sel], csum[sel], cmean[sel]
        N = float(size.sum())
        k = float(sel.sum())
        if N == 0:
            continue
        grand = sums.sum() / N
        ssb = float((size * (means - grand) ** 2).sum())
        ssw = float(cssw[sel].sum())
        df1, df2 = k - 1, N - k
        if df1 < 1 or df2 < 1:
            raise ValidationError(f"ICC needs at least 2 groups and more members than groups"
                                  f"{'' if tk is None else f' at {tk!r}'}; got {int(k)} group(s), {int(N)} member(s).")
        msb, msw = ssb / df1, ssw / df2
        n0 = (N - float((size**2).sum()) / N) / df1
        val = (msb - msw) / (msb + (n0 - 1) * msw)
        F = msb / msw
        fl = F / stats.f.ppf(0.5 + ci / 2, df1, df2)
        fu = F * stats.f.ppf(0.5 + ci / 2, df2, df1)
        m_bar = N / k
        rows.append({"timepoint": tk, "icc": val, "ci_low": (fl - 1) / (fl + n0 - 1),
                     "ci_high": (fu - 1) / (fu + n0 - 1), "f": F, "df1": df1, "df2": df2,
                     "p_value": stats.f.sf(F, df1, df2), "n_groups": int(k), "n": int(N),
                     "mean_group_size": m_bar, "n0": n0, "design_effect": 1 + (m_bar - 1) * val,
                     "msb": msb, "msw": msw})
        if k < 10:
            warnings.warn(f"ICC from only {int(k)} groups{'' if tk is None else f' at {tk!r}'}: the interval is wide "
                          f"and the estimate unstable.", SmallSampleWarning, stacklevel=2)
    return pd.DataFrame(rows)


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


def _safe(name: str) -> str:
    return f'Q("{name}")'


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
    _check_ci(ci)
    import statsmodels.api as sm
    import statsmodels.formula.api as smf
    from statsmodels.tools.sm_exceptions import ConvergenceWarning as SMConvergenceWarning

    check_frame(scores, [subject, time, dv])
    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    need = [c for c in [group, *covariates, by] if c]
    df = attach_columns(scores, need, data, subject=subject, group=group)
    df = df.loc[df[dv].notna()].copy()
    levels = _time_levels(df[time], time_values, data)
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
        terms.append(_safe(c) if pd.api.types.is_numeric_dtype(col) else f"C({_safe(c)})")
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
    _check_ci(ci)
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
    cov_terms = "".join(f" + {_safe(c)}" for c in covariates)
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


def _mice_imputations(X: pd.DataFrame, *, m: int, burn_in: int, skip: int, seed: int):
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
    _check_ci(ci)
    if m < 2:
        raise ConfigError(f"`m` (number of imputations) must be at least 2; got {m}. 20 or more is usual.")

    check_frame(scores, [subject, time, dv])
    levels = _time_levels(scores[time], time_values, data)
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
    _check_ci(ci)
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

        levels = _time_levels(sc[time], None, data)
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
