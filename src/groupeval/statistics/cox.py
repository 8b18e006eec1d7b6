"""Cox proportional-hazards model of dropout, with group-clustered variances that hold with few groups."""
from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd

from ..base.dataset import Dataset
from ..base.exceptions import (
    ConfigError,
    ConvergenceWarning,
    DataQualityWarning,
    SchemaError,
    SmallSampleWarning,
)
from ._survival_core import MIN_CLUSTERS_LARGE_SAMPLE, MIN_CLUSTERS_TEST, MIN_GROUPS_PER_LEVEL, CoxVarianceMethod
from .cox_cluster import cox_cluster_wald
from .dropout import Dropout, as_dropout
from .engagement import member_summary
from .results import Result
from .retention import _attach, _curve_members
from .survival import ci_level

__all__ = ["CoxResult", "cox_model", "COX_VARIANCES"]

#: Clustered variances of :func:`cox_model`, and what the result says about each.
COX_VARIANCES = {"mancl_derouen": "Mancl-DeRouen bias-corrected robust variance, t on G - p df",
                 "lin_wei": "Lin-Wei robust variance, normal reference (large-sample)",
                 "cr1": "CR1 robust variance (G/(G-1)), t on G - 1 df"}
_COX_COLUMNS = ["term", "coef", "hr", "se", "se_model", "df", "t", "p_value", "ci_low", "ci_high", "variance",
                "n_groups", "se_lin_wei"]


# ---------------------------------------------------------------------------
# Cox model
# ---------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True, eq=False, repr=False)
class CoxResult(Result):
    """Cox model of dropout with a group-clustered variance.

    Attributes
    ----------
    coefficients : DataFrame (also ``.summary``)
        ``term``, ``coef`` (log hazard ratio), ``hr``, ``se`` (the clustered
        variance named in ``variance``), ``se_model`` (model-based), ``df``
        (of the t reference; inf = normal), ``t``, ``p_value``, ``ci_low``,
        ``ci_high`` (of ``hr``), ``variance``, ``n_groups``, ``se_lin_wei``
        (the large-sample Lin-Wei SE, R's ``coxph(cluster =)``, for comparison).
    fitter
        The fitted lifelines ``CoxPHFitter`` (its own SEs are model-based).
    data : DataFrame
        The model frame (``member_id``, ``group_id``, covariates,
        ``entry_weeks``, ``time_weeks``, ``event``).
    n, events, n_groups, excluded
        Members and dropouts in the model, number of groups (clusters),
        members left out by reason.
    variance : str
        ``"mancl_derouen"`` (default below ``MIN_CLUSTERS_LARGE_SAMPLE`` = 30
        groups), ``"lin_wei"`` (default from 30 groups) or ``"cr1"``.
    df : float
        Degrees of freedom of every t test and interval (inf: normal).
    ci : float
        Confidence level.
    note : str
        Why numbers are NaN, or ``""``.
    methods : tuple of str
        ``cox``, the variance key, ``late_entry`` when members entered late.
    """

    coefficients: pd.DataFrame
    fitter: Any
    data: pd.DataFrame
    n: int
    events: int
    n_groups: int
    excluded: dict[str, int]
    variance: str
    df: float
    ci: float
    note: str
    methods: tuple[str, ...]

    _title = "Cox model of dropout"

    @property
    def summary(self) -> pd.DataFrame:
        return self.coefficients

    @property
    def n_clusters(self) -> int:
        """Alias of :attr:`n_groups`."""
        return self.n_groups

    def __repr__(self) -> str:
        head = f"{self._title} ({COX_VARIANCES[self.variance]}; {self.n_groups} groups, df = {self.df:g})"
        return "\n".join([head, self.coefficients.to_string(index=False)] + ([f"note: {self.note}"] if self.note
                                                                               else []))


def _design(frame: pd.DataFrame, covariates: Sequence[str]) -> tuple[pd.DataFrame, list[str]]:
    cols = []
    parts = []
    for c in covariates:  # a handful of covariates
        s = frame[c]
        if s.dtype.kind in "biuf" and s.dtype != bool:
            parts.append(pd.DataFrame({c: s.astype(float).to_numpy()}, index=frame.index))
            cols.append(c)
        else:
            cat = pd.Categorical(s.astype("object"), categories=sorted(s.dropna().unique().tolist(), key=str))
            for lev in cat.categories[1:]:
                name = f"{c}[{lev}]"
                parts.append(pd.DataFrame({name: (cat == lev).astype(float)}, index=frame.index))
                cols.append(name)
    return (pd.concat(parts, axis=1) if parts else pd.DataFrame(index=frame.index)), cols


def _baseline_scores(scores: Any, dataset: Dataset) -> pd.DataFrame:
    """Baseline scores as member-level columns (``baseline_<name>``)."""
    if scores is None:
        return pd.DataFrame(columns=["member_id"])
    items = scores.items() if isinstance(scores, Mapping) else [("score", scores)]
    base_tp = dataset.timepoints[0] if dataset.timepoints else "baseline"
    out = None
    for name, df in items:  # a handful of instruments
        if not isinstance(df, pd.DataFrame) or not {"member_id", "timepoint", "score"} <= set(df.columns):
            raise SchemaError(f"baseline scores {name!r} must be a DataFrame with columns member_id, timepoint, "
                              "score (the output of groupeval.score).")
        b = df.loc[df["timepoint"] == base_tp, ["member_id", "score"]].dropna()
        b = b.drop_duplicates("member_id").assign(member_id=lambda x: x["member_id"].astype(str))
        col = "baseline_score" if name == "score" else f"baseline_{name}"
        b = b.rename(columns={"score": col})
        out = b if out is None else out.merge(b, on="member_id", how="outer")
    return out


def _model_frame(dataset: Dataset, covariates: list[str], baseline_scores: Any, dropout: Dropout, cluster: str
                 ) -> tuple[pd.DataFrame, pd.DataFrame, list[str], list[str], dict[str, int]]:
    """Complete-case model frame, design matrix, term names, covariates (with scores) and exclusions."""
    summ = member_summary(dataset, dropout, stacklevel=4)
    summ = _attach(summ, dataset, [c for c in covariates if c not in summ.columns] +
                   ([cluster] if cluster not in summ.columns else []), what="covariates")
    keep, excluded = _curve_members(summ)
    data = summ.loc[keep]
    bs = _baseline_scores(baseline_scores, dataset)
    score_cols = [c for c in bs.columns if c != "member_id"]
    if score_cols:
        data = data.assign(member_id=data["member_id"].astype(str)).merge(bs, on="member_id", how="left")
    all_cov = covariates + score_cols
    miss = data[all_cov + [cluster]].isna().any(axis=1).to_numpy()
    excluded["missing_covariates"] = int(miss.sum())
    if miss.any():
        warnings.warn(f"cox_model: {int(miss.sum())} member(s) with a missing covariate, baseline score or "
                      f"{cluster} were left out (complete cases).", DataQualityWarning, stacklevel=4)
    data = data.loc[~miss].reset_index(drop=True)
    flat = [c for c in all_cov if data[c].nunique(dropna=True) < 2]
    if flat:
        raise ConfigError(f"cox_model: covariate(s) {flat} take a single value among the {len(data)} members in "
                          "the model; drop them from `covariates`.")
    X, terms = _design(data, all_cov)
    if not terms:
        raise ConfigError("cox_model needs at least one covariate or baseline score.")
    const = [t for t in terms if X[t].nunique() < 2]
    if const:
        raise ConfigError(f"cox_model: term(s) {const} do not vary among the {len(data)} members in the model; "
                          "drop them from `covariates`.")
    Xa = np.c_[np.ones(len(X)), X[terms].to_numpy(float)]
    if np.linalg.matrix_rank(Xa) < Xa.shape[1]:
        raise ConfigError(f"cox_model: the terms {terms} are collinear among the {len(data)} members in the model "
                          "(e.g. group-level covariates that together identify the groups); drop a covariate.")
    if not (~data["censored"].to_numpy(bool)).any():
        raise ConfigError("cox_model: no dropouts among the members in the model; nothing to model.")
    return data, X, terms, all_cov, excluded


def _lifelines_fit(X: pd.DataFrame, time: np.ndarray, event: np.ndarray, entry: np.ndarray, ci: float) -> Any:
    """The partial-likelihood fit (Efron ties, late entry through ``entry_col``)."""
    from lifelines import CoxPHFitter

    late = bool((entry > 0).any())
    df = X.copy()
    df["_time"] = time
    df["_event"] = event.astype(int)
    if late:
        df["_entry"] = np.where(entry > 0, entry, -1.0)
    cph = CoxPHFitter(alpha=1 - ci)
    from lifelines.exceptions import ConvergenceError

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            cph.fit(df, duration_col="_time", event_col="_event", entry_col="_entry" if late else None,
                    fit_options={"precision": 1e-12, "max_steps": 100})
        except ConvergenceError as err:
            raise ConfigError("cox_model: the partial likelihood could not be maximised (lifelines: "
                              f"{str(err).split('.')[0]}); look for a level without dropouts or covariates that "
                              "separate the dropouts, and drop or merge it.") from None
    if any("converge" in str(w.message).lower() for w in caught):
        warnings.warn("cox_model: lifelines reported convergence problems; check for separation "
                      "(a level with no dropouts).", ConvergenceWarning, stacklevel=4)
    return cph


def _clustered(Xv: np.ndarray, time: np.ndarray, event: np.ndarray, entry: np.ndarray, groups: np.ndarray,
               beta: np.ndarray, terms: list[str], method: CoxVarianceMethod, ci: float
               ) -> tuple[pd.DataFrame, str]:
    """The coefficient table with the chosen clustered variance (and Lin-Wei beside it), and a note."""
    args = (Xv, time, event, entry, groups, beta)
    note = ""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)   # the Lin-Wei column is there for comparison only
        lw = cox_cluster_wald(*args, terms=terms, ties="efron", method="lin_wei", ci=ci)
    if method == "lin_wei":
        w = lw
    else:
        try:
            w = cox_cluster_wald(*args, terms=terms, ties="efron", method=method, ci=ci)
        except np.linalg.LinAlgError:
            w = lw.assign(se=np.nan, df=np.nan, t=np.nan, p_value=np.nan, ci_low=np.nan, ci_high=np.nan,
                          hr_ci_low=np.nan, hr_ci_high=np.nan, method=method)
            note = ("the Mancl-DeRouen correction is undefined: one group carries all the information about a term "
                    "(a level represented by a single group); drop or merge that level")
    G, p = int(lw["n_clusters"].iloc[0]), len(terms)
    if not note and not np.isfinite(w["df"].iloc[0]) and method != "lin_wei":
        note = (f"only {G} groups for {p} terms: the {method} t test needs more groups than "
                f"{'terms' if method == 'mancl_derouen' else 'one'}")
    tab = pd.DataFrame({"term": terms, "coef": beta, "hr": np.exp(beta), "se": w["se"], "se_model": lw["se_model"],
                        "df": w["df"].astype(float), "t": w["t"], "p_value": w["p_value"],
                        "ci_low": w["hr_ci_low"], "ci_high": w["hr_ci_high"], "variance": method, "n_groups": G,
                        "se_lin_wei": lw["se"]})
    return tab[_COX_COLUMNS], note


def _confounded_terms(data: pd.DataFrame, covariates: list[str], cluster: str) -> tuple[dict[str, str], list[str]]:
    """Terms whose contrast rests on a single group ({term: reason}), and levels with fewer than
    MIN_GROUPS_PER_LEVEL groups (for the warning).  A level seen in one group cannot be told apart from it."""
    bad: dict[str, str] = {}
    few: list[str] = []
    for c in covariates:  # a handful of covariates
        s = data[c]
        if s.dtype.kind in "biuf" and s.dtype != bool:
            continue
        per = data.groupby(s.astype("object"), sort=False)[cluster].nunique()
        levels = sorted(per.index.tolist(), key=str)
        ref, others = levels[0], levels[1:]
        few += [f"{c} = {lev}" for lev in levels if 2 <= per[lev] < MIN_GROUPS_PER_LEVEL]
        for lev in others:
            single = [x for x in (ref, lev) if per[x] < 2]
            if single:
                bad[f"{c}[{lev}]"] = (f"{c} = {', '.join(map(str, single))} is represented by a single group: the "
                                      "contrast cannot be told apart from that group's own dropout")
    return bad, few


def cox_model(dataset: Dataset, covariates: Sequence[str] = ("group_type", "facilitation"), *,
              baseline_scores: pd.DataFrame | Mapping[str, pd.DataFrame] | None = None,
              dropout: Dropout | str | Mapping | None = None, ci: float = 0.95, cluster: str = "group_id",
              variance: str | None = None, alpha: float | None = None) -> CoxResult:
    """Cox proportional-hazards model of dropout with a group-clustered variance that holds with few groups.

    Parameters
    ----------
    dataset
        A :class:`~groupeval.Dataset`.
    covariates
        Columns of ``members`` or ``groups``.  Text columns become treatment
        dummies against their alphabetically first level (as R's factors);
        numeric columns enter linearly.
    baseline_scores
        Output of :func:`groupeval.score` (``member_id``, ``timepoint``,
        ``score``), or a dict ``{name: scores}`` for several instruments;
        the first timepoint of the dataset is the baseline.  Enter as
        ``baseline_score`` / ``baseline_<name>``.
    dropout
        Dropout rule.
    ci
        Confidence level.
    cluster
        Column defining the clusters of the robust variance (default the group).
    variance
        ``None`` (default): ``"mancl_derouen"`` with fewer than
        ``MIN_CLUSTERS_LARGE_SAMPLE`` (30) groups, else ``"lin_wei"``.
        ``"lin_wei"`` (large-sample, normal reference; R's ``coxph(cluster =)``)
        and ``"cr1"`` (G/(G-1), t on G - 1 df) on request.
    alpha
        Deprecated: ``1 - ci``.

    Returns
    -------
    CoxResult
        ``.summary``: ``term``, ``coef``, ``hr``, ``se``, ``se_model``, ``df``,
        ``t``, ``p_value``, ``ci_low``, ``ci_high`` (of ``hr``), ``variance``,
        ``n_groups``, ``se_lin_wei``; ``.variance``, ``.df``, ``.note``,
        ``.methods``, ``n``, ``events``, ``n_groups``, ``excluded``, ``fitter``.

    Notes
    -----
    Partial likelihood with Efron ties (Cox 1972; Efron 1977), fitted by
    lifelines with late entry when members enrolled before the data window.
    With score residuals :math:`U_i` (counting process, computed here: lifelines'
    sandwich ignores late entry), cluster totals :math:`U_g` and
    :math:`A = \\mathcal I^{-1}`: Lin & Wei (1989) :math:`V = A (\\sum_g U_g U_g^T) A`;
    Mancl & DeRouen (2001) replace :math:`U_g` by :math:`(I - J_g A)^{-1} U_g`
    (:math:`J_g` the group's share of the information), with t on
    :math:`G - p` df.  In ``benchmarks/mc_retention_inference.py`` (group
    frailty, no true effect) Lin-Wei rejects 29 %, 18 %, 11 %, 9 % of the time
    at the 5 % level with 4, 6, 9, 12 groups (still 7 % with 20-30), the
    Mancl-DeRouen t test 8 %, 6.3 %, 4.2 %, 3.7 %.  Below ``MIN_CLUSTERS_TEST``
    (6) groups a :class:`~groupeval.exceptions.SmallSampleWarning` is raised.

    In R: ``coxph(Surv(entry, time, event) ~ group_type + facilitation, data = d, cluster = group_id)``
    gives ``coef`` and ``se_lin_wei``; the Mancl-DeRouen variance is built from
    ``residuals(fit, "score")`` and the per-member information in
    ``tests/reference/retention_km.R``.
    """
    level = ci_level(ci, alpha, "cox_model")
    if variance is not None and variance not in COX_VARIANCES:
        raise ConfigError(f"`variance` must be one of {', '.join(map(repr, COX_VARIANCES))} or None (automatic), "
                          f"got {variance!r}.")
    dropout = as_dropout(dropout)
    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    data, X, terms, all_cov, excluded = _model_frame(dataset, covariates, baseline_scores, dropout, cluster)
    time = data["event_time_weeks"].to_numpy(float)
    event = ~data["censored"].to_numpy(bool)
    entry = data["entry_weeks"].to_numpy(float)
    cph = _lifelines_fit(X, time, event, entry, level)
    beta = cph.params_.reindex(terms).to_numpy(float)
    groups = data[cluster].astype(str).to_numpy()
    G = len(np.unique(groups))
    method = cast(CoxVarianceMethod, variance or ("mancl_derouen" if G < MIN_CLUSTERS_LARGE_SAMPLE else "lin_wei"))
    coef, note = _clustered(X[terms].to_numpy(float), time, event, np.where(entry > 0, entry, 0.0), groups, beta,
                            terms, method, level)
    bad, few = _confounded_terms(data, covariates, cluster)
    if bad:
        rows = coef["term"].isin(list(bad)).to_numpy()
        coef.loc[rows, ["se", "t", "p_value", "ci_low", "ci_high"]] = np.nan
        note = "; ".join([note] * bool(note) + [f"{t}: {r}" for t, r in bad.items()])
        warnings.warn(f"cox_model: no test for {', '.join(bad)}: a level is represented by a single group.",
                      SmallSampleWarning, stacklevel=2)
    if few and G >= MIN_CLUSTERS_TEST:
        warnings.warn(f"cox_model: {', '.join(few)} {'has' if len(few) == 1 else 'have'} fewer than "
                      f"{MIN_GROUPS_PER_LEVEL} groups; the clustered test is approximate there.", SmallSampleWarning,
                      stacklevel=2)
    if G < MIN_CLUSTERS_TEST:
        warnings.warn(f"cox_model: only {G} groups; with fewer than {MIN_CLUSTERS_TEST} even the small-sample "
                      "clustered tests are unreliable (about 8-10 % rejection of a true null at the 5 % level with "
                      "4 groups); read the hazard ratios as descriptive.", SmallSampleWarning, stacklevel=2)
    elif method == "lin_wei" and G < MIN_CLUSTERS_LARGE_SAMPLE:
        warnings.warn(f"cox_model: only {G} groups; the Lin-Wei variance with a normal reference is "
                      f"anti-conservative below about {MIN_CLUSTERS_LARGE_SAMPLE}; the default (variance=None) uses "
                      "the Mancl-DeRouen correction.", SmallSampleWarning, stacklevel=2)
    model_frame = data[["member_id", "group_id", *all_cov]].assign(entry_weeks=entry, time_weeks=time, event=event)
    methods = ("cox", method) + (("late_entry",) if (entry > 0).any() else ())
    return CoxResult(coefficients=coef, fitter=cph, data=model_frame, n=len(data), events=int(event.sum()),
                     n_groups=int(G), excluded=excluded, variance=method, df=float(coef["df"].iloc[0]), ci=level,
                     note=note, methods=methods)
