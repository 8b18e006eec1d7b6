"""Linear mixed model: score on time and covariates, members nested in groups, small-sample df.

:func:`mixed_model` builds the design from the long scores (:mod:`._mixed_design`), fits it with
groupeval's native REML/ML engine (:mod:`.lmm`, default) or statsmodels' MixedLM
(:mod:`._mixed_statsmodels`, option and cross-check), and reports fixed effects, estimated means,
changes from the first timepoint and type III F tests with Satterthwaite (default) or
Kenward-Roger degrees of freedom.
"""
from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from ..base.dataset import Dataset
from ..base.exceptions import ConfigError, ConvergenceWarning, SmallSampleWarning, ValidationError
from ._common import MIN_GROUPS, MIN_GROUPS_PER_LEVEL, check_choice, check_ci, dataset_arg
from ._mixed_design import MixedDesign, build_design, nested_member_count
from ._mixed_statsmodels import OPTIMIZERS, StatsmodelsFit, fit_statsmodels
from .lmm import SINGULAR_TOL, NestedLMMFit, fit_nested
from .results import Result

__all__ = ["OPTIMIZERS", "LOGLIK_TOL", "MixedModelResult", "mixed_model"]

#: A statsmodels fit whose (RE)ML log-likelihood is this much below the native engine's optimum
#: on the same model is reported as not converged.
LOGLIK_TOL = 1e-4
_DF_LABEL = {"satterthwaite": "Satterthwaite", "kenward-roger": "Kenward-Roger", "residual": "residual", "z": "z"}
_DF_ALIASES = {"satterthwaite": "satterthwaite", "kenward-roger": "kenward-roger", "kenward_roger": "kenward-roger",
               "kr": "kenward-roger", "residual": "residual", "z": "z", "normal": "z"}


@dataclass(frozen=True, repr=False)
class MixedModelResult(Result):
    """Result of :func:`mixed_model`.

    Attributes
    ----------
    fixed
        (also ``.summary``) ``term, estimate, se, df, t, p_value, ci_low, ci_high, df_method, note``.
    variance_components
        ``component`` (``group``, [``group_slope``,] ``member``, ``residual``), ``variance``, ``sd``,
        ``share`` (of group + member + residual; NaN for the slope).  A boundary estimate is exactly 0.
    means
        Estimated mean per timepoint (and ``by`` level): ``[by], timepoint, mean, se, df, ci_low,
        ci_high, n_observed``; covariates at their means over the model's rows.
    changes
        Each timepoint minus the first: ``[by], timepoint, reference, difference, se, df, t, p_value,
        ci_low, ci_high, df_method, note``.
    tests
        Type III F tests, one row per term (time, ``by``, time x ``by``, each covariate): ``term, f,
        df_num, df_denom, p_value, df_method, f_scaling`` (Kenward-Roger's F scale), ``valid``,
        ``note``.  ``valid`` is False (and f, p NaN) when a group-level term has a single group in
        every level: its effect cannot be told apart from those groups' own effects.
    attempts
        Every optimiser run: ``name, optimiser, criterion`` (-2 (RE)ML log-likelihood), ``success``,
        ``message`` (native engine also ``start, theta, n_evaluations``).
    method, engine, estimation, df_method
        ``"lmm"`` (native) / ``"mixedlm"`` / ``"gee"``; ``"native"`` / ``"statsmodels"``; ``"REML"`` /
        ``"ML"``; ``"Satterthwaite"`` / ``"Kenward-Roger"`` / ``"residual"`` / ``"z"``.
    converged, is_singular, notes
        Convergence (False after a GEE fallback, or when another optimiser finds a better
        likelihood); a variance estimated on its boundary (0); everything worth knowing, in words.
    n_obs, n_members, n_groups, groups_per_level
        Sizes; groups in each level of ``by`` and of categorical covariates.
    formula, method_description, dv, time, time_values, time_as, time_map, random_slope, by, ci
        The model as fitted (``time_map``: numeric time of each timepoint when used).
    loglik, criterion, optimizer, corr_group_slope, raw
        (RE)ML log-likelihood and -2 times it, the optimiser of the reported fit, the correlation of
        group intercept and slope (NaN without a slope), the engine's fit object.
    methods
        Method keys for the methods paragraph.
    """

    fixed: pd.DataFrame
    variance_components: pd.DataFrame
    means: pd.DataFrame
    changes: pd.DataFrame
    tests: pd.DataFrame
    attempts: pd.DataFrame
    method: str
    engine: str
    estimation: str
    df_method: str
    converged: bool
    is_singular: bool
    notes: tuple[str, ...]
    n_obs: int
    n_members: int
    n_groups: int
    groups_per_level: dict[str, dict[str, int]]
    formula: str
    method_description: str
    dv: str
    time: str
    time_values: tuple[str, ...]
    time_as: str
    time_map: dict[str, float] | None
    random_slope: bool
    by: str | None
    ci: float
    loglik: float
    criterion: float
    optimizer: str | None
    corr_group_slope: float
    raw: Any
    methods: tuple[str, ...] = ()

    _plotter: ClassVar[str | None] = "plot_means_over_time"
    _title: ClassVar[str] = "Mixed model"

    @property
    def summary(self) -> pd.DataFrame:
        return self.fixed

    def _repr_html_(self) -> str:
        head = (f"<p><b>Mixed model</b> ({self.method_description}; {self.n_obs} observations, "
                f"{self.n_members} members, {self.n_groups} groups)</p>")
        return (head + self.means.to_html(index=False) + self.fixed.to_html(index=False)
                + self.tests.to_html(index=False) + self.variance_components.to_html(index=False))


def mixed_model(scores: pd.DataFrame, dataset: Dataset | None = None, *, dv: str = "score",
                time: str = "timepoint", covariates: Sequence[str] = (), group: str = "group_id",
                subject: str = "member_id", time_values: Sequence[str] | None = None, by: str | None = None,
                ci: float = 0.95, df: str | None = None, engine: str = "native", reml: bool = True,
                time_as: str = "categorical", time_map: Mapping[Any, Any] | None = None,
                random_slope: bool = False, optimizers: Sequence[str] = OPTIMIZERS,
                data: Any = None) -> MixedModelResult:
    r"""Linear mixed model of the score on time, members nested in groups, with small-sample df.

    Parameters
    ----------
    scores
        Long scores (one row per member and timepoint).
    dataset
        The Dataset, for covariates / ``by`` not in ``scores``, each member's group and the
        timepoint order.  (``data=`` is the deprecated spelling.)
    dv, time, group, subject
        Column names.
    covariates
        Extra fixed effects: columns of ``scores``, ``dataset.members`` (e.g. ``age``) or
        ``dataset.groups`` (e.g. ``facilitation``: a group-level comparison inside the model).
        Non-numeric ones enter as categorical (treatment coding, first sorted level reference).
    time_values
        Timepoint order (first = reference); default the Dataset's, else order of appearance.
    by
        Optional comparison (e.g. ``"group_type"``): adds ``by`` and time x ``by``, gives means and
        changes per level and their F tests.
    ci
        Confidence level.
    df
        ``"satterthwaite"`` (default, lmerTest), ``"kenward-roger"`` (pbkrtest; REML only),
        ``"residual"`` (n - p) or ``"z"`` (normal; the only choice with ``engine="statsmodels"``).
    engine
        ``"native"`` (groupeval's REML/ML engine, default) or ``"statsmodels"`` (MixedLM, Wald z
        tests, GEE fallback when no optimiser converges; kept as an option and a cross-check).
    reml
        REML (default) or ML.
    time_as
        ``"categorical"`` (a mean per timepoint, default) or ``"linear"`` (one slope on numeric time).
    time_map
        Numeric time of each timepoint (any unit), for ``time_as="linear"`` and the random slope;
        default read from the labels in weeks (``baseline`` = 0, ``week_12`` = 12, ``month_6`` =
        26, see :func:`groupeval.statistics._mixed_design.time_numbers`).
    random_slope
        Add a random slope of numeric time by group, correlated with the group intercept.
    optimizers
        statsmodels optimisers tried in turn (``engine="statsmodels"`` only).

    Returns
    -------
    MixedModelResult

    Raises
    ------
    ValidationError
        Fewer than two groups, fewer than two timepoints with scores, every member scored once,
        or too few observations for the fixed effects and the variance components.
    ConfigError
        Unknown option, Kenward-Roger with ML or with the statsmodels engine, unreadable time labels.

    Warns
    -----
    SmallSampleWarning
        Fewer than ``MIN_GROUPS`` groups, or a level of a group-level ``by`` / covariate with fewer
        than ``MIN_GROUPS_PER_LEVEL`` groups.
    ConvergenceWarning
        The reported fit is not converged (see ``.attempts``).
    DataQualityWarning
        Score rows left out for a missing covariate, ``by`` or group.

    Notes
    -----
    Model:

    .. math::
        y_{tij} = x_{tij}'\beta + u_j + s_j w_t + v_{ij} + e_{tij},\quad
        (u_j, s_j) \sim N(0, \Sigma_g),\; v_{ij} \sim N(0, \sigma_m^2),\; e \sim N(0, \sigma^2)

    (``s_j`` only with ``random_slope``; ``w_t`` the numeric time).  The native engine maximises
    the profiled REML (or ML) likelihood with an analytic gradient, from two starts and a
    derivative-free check, and reports the best optimum; a variance on its boundary is exactly 0
    (``is_singular``, as lme4's ``isSingular``).  Each contrast :math:`l'\beta` (a coefficient, a
    mean, a change) has :math:`t = l'\hat\beta / \sqrt{l'\hat V l}` on Satterthwaite df
    :math:`\nu = 2 (l'\hat V l)^2 / (g' A g)`, :math:`g = \partial (l'Vl)/\partial\phi`, :math:`A`
    the asymptotic covariance of the variance parameters :math:`\phi` (Kuznetsova et al. 2017); with
    Kenward-Roger the covariance is the adjusted :math:`\hat\Phi_A` and df and F scale follow
    Kenward & Roger (1997).  Type III F tests use lmerTest's rule for combining the t statistics of
    the orthogonalised rows (``contest``).  All available scores are used: valid under MAR.

    References
    ----------
    Bates D, Maechler M, Bolker B, Walker S (2015). Fitting linear mixed-effects models using lme4.
    *J Stat Softw* 67(1).  Kuznetsova A, Brockhoff PB, Christensen RHB (2017). lmerTest. *J Stat Softw*
    82(13).  Kenward MG, Roger JH (1997). *Biometrics* 53:983-997.  Satterthwaite FE (1946).
    *Biometrics Bulletin* 2:110-114.

    In R: ``m <- lmerTest::lmer(score ~ timepoint * group_type + (1 | group_id) + (1 | group_id:member_id))``;
    ``summary(m, ddf = "Satterthwaite")``; ``anova(m, type = 3, ddf = "Kenward-Roger")``;
    ``contest(m, L)``.
    """
    check_ci(ci)
    check_choice("engine", engine, ("native", "statsmodels"))
    check_choice("time_as", time_as, ("categorical", "linear"))
    dataset = dataset_arg(dataset, data, "mixed_model")
    dfm = _df_option(df, engine, reml)
    d = build_design(scores, dataset, dv=dv, time=time, covariates=covariates, group=group, subject=subject,
                     time_values=time_values, by=by, time_as=time_as, time_map=time_map,
                     need_numeric_time=bool(random_slope))
    n_groups = int(d.gcode.max()) + 1
    n_members = nested_member_count(d.gcode, d.mcode)
    _check_sizes(d, n_groups, n_members, random_slope)
    notes: list[str] = [d.dropped_note] if d.dropped_note else []
    _warn_small(d, n_groups, notes)
    if engine == "native":
        fit = _fit_native(d, reml=reml, random_slope=random_slope, notes=notes)
        fixed, means, changes, tests = _tables_native(fit, d, ci, dfm)
        vc, singular = _vc_native(fit, notes)
        converged, attempts = fit.converged, _attempts_frame(fit)
        method, loglik, criterion = "lmm", fit.loglik, fit.criterion
        optimizer: str | None = "L-BFGS-B"
        corr, raw = fit.corr_group_slope, fit
        description = (f"linear mixed model (groupeval native {'REML' if reml else 'ML'} engine; "
                       f"{_DF_LABEL[dfm]} df)")
    else:
        sf = fit_statsmodels(d, reml=reml, random_slope=random_slope, optimizers=optimizers)
        notes.extend(sf.notes)
        converged, attempts = _check_statsmodels(sf, d, reml, random_slope, notes)
        fixed, means, changes, tests = _tables_z(sf.params, sf.cov, d, ci)
        vc = _vc_frame(sf.var_group, sf.var_slope, sf.var_member, sf.var_residual, random_slope, time)
        singular = bool(sf.method == "mixedlm" and sf.var_group <= 1e-8 * max(sf.var_residual, 1e-300))
        method, optimizer, loglik, criterion = sf.method, sf.optimizer, sf.loglik, -2.0 * sf.loglik
        corr = (sf.cov_group_slope / np.sqrt(sf.var_group * sf.var_slope)
                if random_slope and sf.var_group > 0 and sf.var_slope > 0 else np.nan)
        raw, description = sf.raw, sf.description
        if sf.method == "gee":
            warnings.warn("mixed_model: MixedLM did not converge with any optimiser (" + ", ".join(optimizers)
                          + "); fell back to GEE (exchangeable within group, cluster-robust SEs by group). Details: "
                          + " | ".join(sf.notes), ConvergenceWarning, stacklevel=2)
        elif any("did not converge" in n or "failed" in n for n in sf.notes):
            warnings.warn(f"mixed_model: optimiser(s) failed before {sf.optimizer} converged: "
                          + " | ".join(sf.notes), ConvergenceWarning, stacklevel=2)
    tests = _validity(tests, d)
    means = _add_n_observed(means, d)
    methods = _methods(method, reml, dfm)
    return MixedModelResult(
        fixed=fixed, variance_components=vc, means=means, changes=changes, tests=tests, attempts=attempts,
        method=method, engine=engine, estimation="REML" if reml else "ML", df_method=_DF_LABEL[dfm],
        converged=bool(converged), is_singular=bool(singular), notes=tuple(notes), n_obs=int(len(d.y)),
        n_members=n_members, n_groups=n_groups, groups_per_level=d.factor_groups, formula=d.formula,
        method_description=description, dv=dv, time=time, time_values=tuple(d.levels), time_as=time_as,
        time_map=d.weeks, random_slope=bool(random_slope), by=by, ci=ci, loglik=float(loglik),
        criterion=float(criterion), optimizer=optimizer, corr_group_slope=float(corr), raw=raw, methods=methods)


# ---------------------------------------------------------------------------
# options, sizes and warnings
# ---------------------------------------------------------------------------
def _df_option(df: str | None, engine: str, reml: bool) -> str:
    if df is None:
        return "satterthwaite" if engine == "native" else "z"
    key = _DF_ALIASES.get(str(df).strip().lower().replace(" ", "-"))
    if key is None:
        raise ConfigError(f"`df` must be 'satterthwaite', 'kenward-roger', 'residual' or 'z'; got {df!r}.")
    if engine == "statsmodels" and key != "z":
        raise ConfigError(f"df={df!r} needs engine='native'; statsmodels' MixedLM gives Wald (z) tests only.")
    if key == "kenward-roger" and not reml:
        raise ConfigError("Kenward-Roger df are defined for REML fits (as pbkrtest); use reml=True or "
                          "df='satterthwaite'.")
    return key


def _check_sizes(d: MixedDesign, n_groups: int, n_members: int, random_slope: bool) -> None:
    n, p = d.X.shape
    if n_groups < 2:
        raise ValidationError(f"mixed_model needs members in at least two groups; found {n_groups}. With one "
                              "group there is no between-group variance to estimate: use change() for its "
                              "pre/post change.")
    if n_members >= n:
        raise ValidationError("every member has a single score, so member and residual variance cannot be told "
                              "apart; use change() or compare_groups(), or add scores at more timepoints.")
    n_var = 5 if random_slope else 3
    if n - p <= n_var:
        raise ValidationError(f"{n} scores of {n_members} members in {n_groups} groups are too few for {p} fixed "
                              f"effects and {n_var} variance parameters (need more than {p + n_var}); "
                              "use change() for a descriptive pre/post change.")
    if random_slope and d.t_numeric is not None and len(np.unique(d.t_numeric)) < 2:
        raise ValidationError("a random slope needs two or more distinct numeric times.")


def _warn_small(d: MixedDesign, n_groups: int, notes: list[str]) -> None:
    if n_groups < MIN_GROUPS:
        msg = (f"only {n_groups} groups: the overall mean and every group-level effect rest on {n_groups} groups, "
               "so their df are small and intervals wide")
        notes.append(msg)
        warnings.warn(f"mixed_model: {msg}.", SmallSampleWarning, stacklevel=3)
    for term, per in d.factor_groups.items():
        if not d.group_level.get(term):
            continue
        few = {lv: k for lv, k in per.items() if k < MIN_GROUPS_PER_LEVEL}
        if few:
            msg = (f"fewer than {MIN_GROUPS_PER_LEVEL} groups in {', '.join(f'{lv!r} ({k})' for lv, k in few.items())}"
                   f" of {term!r}: a comparison of {term} rests on the groups, not the members")
            notes.append(msg)
            warnings.warn(f"mixed_model: {msg}.", SmallSampleWarning, stacklevel=3)


def _validity(tests: pd.DataFrame, d: MixedDesign) -> pd.DataFrame:
    """A group-level term with one group per level has no test (its effect is those groups' own)."""
    tests = tests.copy()
    tests["valid"] = np.isfinite(tests["p_value"].to_numpy(dtype=float))
    for term, per in d.factor_groups.items():
        if not d.group_level.get(term) or max(per.values()) > 1:
            continue
        reason = (f"every level of {term!r} has a single group: its effect cannot be told apart from those "
                  "groups' own effects, so no test is reported")
        rows = tests["term"].isin([term, f"{d.time}:{term}"]).to_numpy()
        tests.loc[rows, ["f", "p_value"]] = np.nan
        tests.loc[rows, "valid"] = False
        tests.loc[rows, "note"] = reason
    return tests


def _methods(method: str, reml: bool, dfm: str) -> tuple[str, ...]:
    if method == "gee":
        return ("gee", "wald_z")
    est = "lmm_reml" if reml else "lmm_ml"
    if method == "mixedlm":
        return (est, "statsmodels_mixedlm", "wald_z")
    return (est, {"satterthwaite": "satterthwaite_lmm", "kenward-roger": "kenward_roger_lmm",
                  "residual": "residual_df_lmm", "z": "wald_z"}[dfm])


# ---------------------------------------------------------------------------
# native engine
# ---------------------------------------------------------------------------
def _fit_native(d: MixedDesign, *, reml: bool, random_slope: bool, notes: list[str]) -> NestedLMMFit:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = fit_nested(d.y, d.X, d.gcode, d.mcode, Z_slope=d.t_numeric if random_slope else None,
                         method="REML" if reml else "ML", x_names=d.names, slope_name=d.time)
    del caught  # the engine's messages (e.g. a start beaten by another) are in fit.messages
    notes.extend(fit.messages)
    if not fit.converged:
        best = min(a.criterion for a in fit.attempts)
        msg = (f"the optimiser did not converge (best -2 log-likelihood {best:.10g}; see .attempts); the "
               "estimates are the best point found")
        notes.append(msg)
        warnings.warn(f"mixed_model: {msg}.", ConvergenceWarning, stacklevel=3)
    return fit


def _attempts_frame(fit: NestedLMMFit) -> pd.DataFrame:
    return pd.DataFrame([{"name": a.name, "optimiser": a.optimiser, "criterion": a.criterion, "success": a.success,
                          "message": a.message, "start": a.start, "theta": a.theta,
                          "n_evaluations": a.n_evaluations} for a in fit.attempts])


def _vc_frame(s2g: float, s2s: float, s2m: float, s2e: float, slope: bool, time: str) -> pd.DataFrame:
    comp = ["group", *(["group_slope"] if slope else []), "member", "residual"]
    var = np.array([s2g, *([s2s] if slope else []), s2m, s2e], dtype=float)
    tot = s2g + s2m + s2e
    share = var / tot if tot > 0 else np.full(len(var), np.nan)
    if slope:
        share[1] = np.nan
    return pd.DataFrame({"component": comp, "variance": var, "sd": np.sqrt(var), "share": share})


def _vc_native(fit: NestedLMMFit, notes: list[str]) -> tuple[pd.DataFrame, bool]:
    slope = bool(fit.slope_name)
    vc = _vc_frame(fit.var_group, fit.var_slope, fit.var_member, fit.var_residual, slope, fit.slope_name)
    if fit.is_singular:
        th = fit.theta
        what = []
        if th[0] < SINGULAR_TOL:
            what.append("the member variance is estimated as 0")
        if th[1] < SINGULAR_TOL:
            what.append("the group variance is estimated as 0")
        if slope and th[3] < SINGULAR_TOL and th[1] >= SINGULAR_TOL:
            what.append("the group intercept and slope are perfectly correlated (their covariance matrix is "
                        "singular)")
        notes.append(f"boundary (singular) fit: {' and '.join(what)} (as lme4's isSingular); the fixed effects and "
                     "their df remain valid, but the model cannot separate that source of variation")
    return vc, fit.is_singular


def _tables_native(fit: NestedLMMFit, d: MixedDesign, ci: float,
                   dfm: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    label = _DF_LABEL[dfm]
    fixed = fit.coef_table(ci=ci, df=dfm)  # type: ignore[arg-type]
    fixed["df_method"] = label
    Lm, mkeys = d.mean_rows()
    m = fit.contrast(Lm, ci=ci, df=dfm)  # type: ignore[arg-type]
    means = pd.DataFrame({"by": [k[0] for k in mkeys], "timepoint": [k[1] for k in mkeys],
                          "mean": m["estimate"].to_numpy(), "se": m["se"].to_numpy(), "df": m["df"].to_numpy(),
                          "ci_low": m["ci_low"].to_numpy(), "ci_high": m["ci_high"].to_numpy()})
    Lc, ckeys = d.change_rows()
    c = fit.contrast(Lc, ci=ci, df=dfm)  # type: ignore[arg-type]
    changes = _changes_frame(ckeys, c, label)
    rows = []
    for term, L in d.type3_rows().items():
        f = fit.f_test(L, df=dfm).iloc[0]  # type: ignore[arg-type]
        rows.append({"term": term, "f": float(f["f"]), "df_num": int(f["num_df"]), "df_denom": float(f["den_df"]),
                     "p_value": float(f["p_value"]), "df_method": label, "f_scaling": float(f["f_scaling"]),
                     "note": str(f["note"])})
    return fixed, _by_columns(means, d), _by_columns(changes, d), pd.DataFrame(rows)


def _changes_frame(keys: list[tuple[str | None, str, str]], c: pd.DataFrame, label: str) -> pd.DataFrame:
    return pd.DataFrame({"by": [k[0] for k in keys], "timepoint": [k[1] for k in keys],
                         "reference": [k[2] for k in keys], "difference": c["estimate"].to_numpy(),
                         "se": c["se"].to_numpy(), "df": c["df"].to_numpy(), "t": c["t"].to_numpy(),
                         "p_value": c["p_value"].to_numpy(), "ci_low": c["ci_low"].to_numpy(),
                         "ci_high": c["ci_high"].to_numpy(), "df_method": label,
                         "note": c["note"].astype(str).to_numpy()})


def _by_columns(frame: pd.DataFrame, d: MixedDesign) -> pd.DataFrame:
    if d.by is None:
        return frame.drop(columns="by")
    return frame.rename(columns={"by": d.by})


def _add_n_observed(means: pd.DataFrame, d: MixedDesign) -> pd.DataFrame:
    T = len(d.levels)
    if d.bcode is not None and d.by_levels is not None:
        cnt = np.bincount(d.bcode * T + d.tcode, minlength=len(d.by_levels) * T)
    else:
        cnt = np.bincount(d.tcode, minlength=T)
    return means.assign(n_observed=cnt.astype(int))


# ---------------------------------------------------------------------------
# statsmodels engine: Wald (z) tables and the likelihood cross-check
# ---------------------------------------------------------------------------
def _z_rows(L: np.ndarray, params: np.ndarray, cov: np.ndarray, ci: float) -> dict[str, np.ndarray]:
    est = L @ params
    se = np.sqrt(np.einsum("ij,jk,ik->i", L, cov, L))
    z = np.where(se > 0, est / np.where(se > 0, se, 1.0), np.nan)
    crit = stats.norm.ppf(0.5 + ci / 2)
    return {"estimate": est, "se": se, "df": np.full(len(est), np.nan), "t": z,
            "p_value": 2 * stats.norm.sf(np.abs(z)), "ci_low": est - crit * se, "ci_high": est + crit * se,
            "note": np.array(["z test: normal reference distribution (no df)"] * len(est), dtype=object)}


def _tables_z(params: np.ndarray, cov: np.ndarray, d: MixedDesign,
              ci: float) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    f = _z_rows(np.eye(len(params)), params, cov, ci)
    fixed = pd.DataFrame({"term": d.names, **f, "df_method": "z"})
    fixed = fixed[["term", "estimate", "se", "df", "t", "p_value", "ci_low", "ci_high", "df_method", "note"]]
    Lm, mkeys = d.mean_rows()
    m = _z_rows(Lm, params, cov, ci)
    means = pd.DataFrame({"by": [k[0] for k in mkeys], "timepoint": [k[1] for k in mkeys], "mean": m["estimate"],
                          "se": m["se"], "df": m["df"], "ci_low": m["ci_low"], "ci_high": m["ci_high"]})
    Lc, ckeys = d.change_rows()
    changes = _changes_frame(ckeys, pd.DataFrame(_z_rows(Lc, params, cov, ci)), "z")
    rows = []
    for term, L in d.type3_rows().items():
        diff = L @ params
        VL = L @ cov @ L.T
        q = int(np.linalg.matrix_rank(VL))
        wald = float(diff @ np.linalg.pinv(VL) @ diff)
        rows.append({"term": term, "f": wald / q, "df_num": q, "df_denom": np.nan,
                     "p_value": float(stats.chi2.sf(wald, q)), "df_method": "z", "f_scaling": np.nan,
                     "note": "Wald chi-square(q)/q (no denominator df)"})
    return fixed, _by_columns(means, d), _by_columns(changes, d), pd.DataFrame(rows)


def _check_statsmodels(sf: StatsmodelsFit, d: MixedDesign, reml: bool, random_slope: bool,
                       notes: list[str]) -> tuple[bool, pd.DataFrame]:
    """Refit with the native engine: a statsmodels optimum with a worse likelihood is not converged."""
    attempts = sf.attempts
    if sf.method != "mixedlm":
        return False, attempts
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = fit_nested(d.y, d.X, d.gcode, d.mcode, Z_slope=d.t_numeric if random_slope else None,
                             method="REML" if reml else "ML", x_names=d.names)
    except (ValidationError, ConfigError, np.linalg.LinAlgError) as exc:  # pragma: no cover - defensive
        notes.append(f"native cross-check not available: {exc}")
        return True, attempts
    attempts = pd.concat([attempts, pd.DataFrame([{"name": "native engine (cross-check)", "optimiser": "L-BFGS-B",
                                                   "criterion": ref.criterion, "success": ref.converged,
                                                   "message": ""}])], ignore_index=True)
    if sf.loglik < ref.loglik - LOGLIK_TOL:
        msg = (f"statsmodels MixedLM ({sf.optimizer}) stopped at {'REML ' if reml else ''}log-likelihood "
               f"{sf.loglik:.6f}; the native engine reaches {ref.loglik:.6f} on the same model, so the statsmodels "
               "fit is not converged (use engine='native')")
        notes.append(msg)
        warnings.warn(f"mixed_model: {msg}.", ConvergenceWarning, stacklevel=4)
        return False, attempts
    return True, attempts
