"""Cox proportional-hazards model of dropout with group-clustered robust errors."""
from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..base.dataset import Dataset
from ..base.exceptions import (
    ConfigError,
    ConvergenceWarning,
    DataQualityWarning,
    SchemaError,
    SmallSampleWarning,
)
from .dropout import Dropout, as_dropout
from .engagement import member_summary
from .results import Result
from .retention import _attach, _curve_members
from .survival import _risk_entry

__all__ = ["CoxResult", "cox_model"]


# ---------------------------------------------------------------------------
# Cox model
# ---------------------------------------------------------------------------
class CoxResult(Result):
    """Cox model of dropout.

    Attributes
    ----------
    summary : DataFrame
        ``term``, ``coef``, ``hr``, ``se`` (cluster-robust), ``se_model``,
        ``ci_low``, ``ci_high`` (of ``hr``), ``z``, ``p_value``.
    fitter
        The fitted lifelines ``CoxPHFitter`` (its own SEs are model-based).
    data : DataFrame
        The model frame (``member_id``, ``group_id``, covariates,
        ``entry_weeks``, ``time_weeks``, ``event``).
    n, events, n_clusters, excluded
        Members and dropouts in the model, number of clusters, members left
        out by reason.
    """

    _title = "Cox model of dropout (cluster-robust SEs by group)"

    def __init__(self, *, coefficients, fitter, data, n, events, n_clusters, excluded):
        self.coefficients = coefficients
        self.fitter = fitter
        self.data = data
        self.n = n
        self.events = events
        self.n_clusters = n_clusters
        self.excluded = excluded

    @property
    def summary(self) -> pd.DataFrame:
        return self.coefficients


def _efron_score_residuals(X: np.ndarray, beta: np.ndarray, stop: np.ndarray, event: np.ndarray,
                           start: np.ndarray) -> np.ndarray:
    """Score residuals of a Cox model (Efron ties, counting process), vectorised.

    ``start`` is -inf for members at risk from time 0.  Risk set at ``t``:
    ``start < t <= stop``.  Matches R ``residuals(coxph(...), type = "score")``.
    """
    n, p = X.shape
    w = np.exp(X @ beta)
    ut, inv = np.unique(stop[event], return_inverse=True)
    K = len(ut)
    if K == 0:
        return np.zeros((n, p))
    # sums over the risk set at each death time: sum_{stop >= t} - sum_{start >= t}
    o_stop = np.argsort(stop, kind="stable")
    o_start = np.argsort(start, kind="stable")
    wx = w[:, None] * X

    def tail_sums(order: np.ndarray, keyvals: np.ndarray, vals: np.ndarray) -> np.ndarray:
        sk = keyvals[order]
        cs = np.concatenate([np.zeros((1,) + vals.shape[1:]), np.cumsum(vals[order][::-1], axis=0)])[::-1]
        pos = np.searchsorted(sk, ut, "left")
        return cs[pos]

    S0 = tail_sums(o_stop, stop, w) - tail_sums(o_start, start, w)
    S1 = tail_sums(o_stop, stop, wx) - tail_sums(o_start, start, wx)
    d = np.bincount(inv, minlength=K).astype(float)
    Dw = np.bincount(inv, weights=w[event], minlength=K)
    Dwx = np.stack([np.bincount(inv, weights=wx[event, j], minlength=K) for j in range(p)], axis=1)
    # Efron sub-steps: one row per death
    k_of = np.repeat(np.arange(K), d.astype(int))
    r = np.arange(len(k_of)) - np.repeat(np.r_[0, np.cumsum(d)[:-1]].astype(int), d.astype(int))
    frac = r / d[k_of]
    s0 = S0[k_of] - frac * Dw[k_of]
    s1 = S1[k_of] - frac[:, None] * Dwx[k_of]
    xbar = s1 / s0[:, None]
    dL = 1.0 / s0
    L = np.bincount(k_of, weights=dL, minlength=K)
    M = np.stack([np.bincount(k_of, weights=xbar[:, j] * dL, minlength=K) for j in range(p)], axis=1)
    Ld = np.bincount(k_of, weights=(1 - frac) * dL, minlength=K)
    Md = np.stack([np.bincount(k_of, weights=(1 - frac) * xbar[:, j] * dL, minlength=K) for j in range(p)], axis=1)
    Xb = np.stack([np.bincount(k_of, weights=xbar[:, j], minlength=K) for j in range(p)], axis=1) / d[:, None]
    CL = np.r_[0.0, np.cumsum(L)]
    CM = np.vstack([np.zeros((1, p)), np.cumsum(M, axis=0)])
    i_stop = np.searchsorted(ut, stop, "right")
    i_start = np.searchsorted(ut, start, "right")
    lam = CL[i_stop] - CL[i_start]
    lamx = CM[i_stop] - CM[i_start]
    U = -w[:, None] * (X * lam[:, None] - lamx)
    ev = np.flatnonzero(event)
    kk = inv
    U[ev] += X[ev] - Xb[kk]
    U[ev] += w[ev, None] * (X[ev] * (L[kk] - Ld[kk])[:, None] - (M[kk] - Md[kk]))
    return U


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


def cox_model(dataset: Dataset, covariates: Sequence[str] = ("group_type", "facilitation"),
              baseline_scores: pd.DataFrame | Mapping[str, pd.DataFrame] | None = None,
              dropout: Dropout | str | Mapping | None = None, *, alpha: float = 0.05,
              cluster: str = "group_id") -> CoxResult:
    """Cox proportional-hazards model of dropout with group-clustered standard errors.

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
    alpha
        1 - confidence level.
    cluster
        Column defining the clusters of the robust variance (default the group).

    Returns
    -------
    CoxResult
        ``.summary``: ``term``, ``coef``, ``hr`` (exp(coef)), ``se`` (robust),
        ``se_model`` (model-based), ``ci_low``, ``ci_high`` (of ``hr``),
        ``z``, ``p_value``; plus ``n``, ``events``, ``n_clusters``,
        ``excluded`` (members dropped for missing covariates), ``fitter``.

    Notes
    -----
    Partial likelihood with Efron ties (Cox 1972; Efron 1977), fitted by
    lifelines with late entry (``entry_col``) when members enrolled before
    the data window.  Robust variance (Lin & Wei 1989):
    :math:`V = \\sum_g D_g^T D_g` with :math:`D_g = \\sum_{i \\in g} U_i
    \\mathcal{I}^{-1}` (score residuals :math:`U_i` summed within clusters);
    computed here because lifelines' sandwich ignores late entry.  Identical
    to R's ``coxph(..., cluster = group_id)``; no small-sample factor.

    In R: ``coxph(Surv(entry, time, event) ~ group_type + facilitation, data = d, cluster = group_id)``.
    """
    from lifelines import CoxPHFitter

    dropout = as_dropout(dropout)
    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    summ = member_summary(dataset, dropout, stacklevel=2)
    summ = _attach(summ, dataset, [c for c in covariates if c not in summ.columns] +
                   ([cluster] if cluster not in summ.columns else []), what="covariates")
    keep, excluded = _curve_members(summ)
    data = summ.loc[keep]
    bs = _baseline_scores(baseline_scores, dataset)
    score_cols = [c for c in bs.columns if c != "member_id"]
    if score_cols:
        data = data.assign(member_id=data["member_id"].astype(str)).merge(bs, on="member_id", how="left")
    all_cov = covariates + score_cols
    miss = data[all_cov].isna().any(axis=1).to_numpy() if all_cov else np.zeros(len(data), bool)
    excluded["missing_covariates"] = int(miss.sum())
    if miss.any():
        warnings.warn(f"cox_model: {int(miss.sum())} member(s) with a missing covariate or baseline score were "
                      "left out (complete cases).", DataQualityWarning, stacklevel=2)
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
    time = data["event_time_weeks"].to_numpy(float)
    event = ~data["censored"].to_numpy(bool)
    entry = data["entry_weeks"].to_numpy(float)
    late = (entry > 0).any()
    if event.sum() == 0:
        raise ConfigError("cox_model: no dropouts among the members in the model; nothing to model.")
    df = X.copy()
    df["_time"] = time
    df["_event"] = event.astype(int)
    if late:
        df["_entry"] = np.where(entry > 0, entry, -1.0)
    cph = CoxPHFitter(alpha=alpha)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cph.fit(df, duration_col="_time", event_col="_event", entry_col="_entry" if late else None,
                fit_options={"precision": 1e-12, "max_steps": 100})
    if any("converge" in str(w.message).lower() for w in caught):
        warnings.warn("cox_model: lifelines reported convergence problems; check for separation "
                      "(a level with no dropouts).", ConvergenceWarning, stacklevel=2)
    beta = cph.params_.reindex(terms).to_numpy(float)
    V_model = cph.variance_matrix_.reindex(index=terms, columns=terms).to_numpy(float)
    U = _efron_score_residuals(X[terms].to_numpy(float), beta, time, event, _risk_entry(entry))
    dfbeta = U @ V_model
    clusters = pd.factorize(data[cluster].astype(str))[0]
    G = clusters.max() + 1
    Dg = np.stack([np.bincount(clusters, weights=dfbeta[:, j], minlength=G) for j in range(len(terms))], axis=1)
    V = Dg.T @ Dg
    se = np.sqrt(np.diag(V))
    z = beta / se
    zc = stats.norm.ppf(1 - alpha / 2)
    coef = pd.DataFrame({"term": terms, "coef": beta, "hr": np.exp(beta), "se": se,
                         "se_model": np.sqrt(np.diag(V_model)),
                         "ci_low": np.exp(beta - zc * se), "ci_high": np.exp(beta + zc * se),
                         "z": z, "p_value": 2 * stats.norm.sf(np.abs(z))})
    if G < 20:
        warnings.warn(f"cox_model: only {G} clusters; cluster-robust standard errors are unreliable with fewer "
                      "than about 20-40 clusters.", SmallSampleWarning, stacklevel=2)
    model_frame = data[["member_id", "group_id", *all_cov]].assign(entry_weeks=entry, time_weeks=time, event=event)
    return CoxResult(coefficients=coef, fitter=cph, data=model_frame, n=len(data), events=int(event.sum()),
                     n_clusters=int(G), excluded=excluded)
