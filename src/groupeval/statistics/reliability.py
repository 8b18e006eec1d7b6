"""Internal consistency of questionnaire scores: Cronbach's alpha and McDonald's omega.

:func:`reliability` gives, per timepoint (or any ``by`` columns) and per
scale (the main score and every multi-item subscale), Cronbach's alpha with
the Feldt confidence interval and McDonald's omega total from a one-factor
minimum-residual factor analysis, computed exactly as R's ``psych`` package
does.  :func:`item_analysis` gives the item-level table (corrected
item-total correlation, alpha if the item is deleted).
"""
from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ..base.exceptions import ConfigError, SmallSampleWarning
from ..base.instruments import Instrument, get
from ..scoring.scores import item_matrix, resolve_items

__all__ = ["reliability", "item_analysis", "cronbach_alpha", "feldt_ci", "omega_total", "scales_of"]

_EPS = np.finfo(float).eps
#: below this many complete rows a SmallSampleWarning is issued
MIN_ROWS_WARN = 10


# --------------------------------------------------------------------- core
def cronbach_alpha(X: np.ndarray) -> float:
    r"""Cronbach's alpha of the complete-case item matrix ``X`` (rows x k items).

    .. math:: \alpha = \frac{k}{k-1}\left(1 - \frac{\operatorname{tr} C}{\mathbf 1' C \mathbf 1}\right)

    with :math:`C` the item covariance matrix (``psych::alpha`` ``raw_alpha``).
    """
    C = np.cov(X, rowvar=False, ddof=1)
    k = C.shape[0]
    total = C.sum()
    if k < 2 or total == 0:
        return float("nan")
    return float(k / (k - 1) * (1 - np.trace(C) / total))


def feldt_ci(alpha: float, n: int, k: int, ci: float = 0.95) -> tuple[float, float]:
    r"""Feldt (1965) confidence interval for Cronbach's alpha.

    .. math:: \Big[1 - (1-\hat\alpha) F_{1-p/2}(n-1, (n-1)(k-1)),\;
              1 - (1-\hat\alpha) F_{p/2}(n-1, (n-1)(k-1))\Big],\quad p = 1 - \text{ci}

    As ``psych::alpha.ci`` (the ``feldt`` element of ``psych::alpha``).
    """
    if not (n > 1 and k > 1) or not np.isfinite(alpha):
        return (float("nan"), float("nan"))
    p = 1 - ci
    df1, df2 = n - 1, (n - 1) * (k - 1)
    low = 1 - (1 - alpha) * stats.f.ppf(1 - p / 2, df1, df2)
    high = 1 - (1 - alpha) * stats.f.ppf(p / 2, df1, df2)
    return (float(low), float(high))


def _first_factor(S: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(S)
    return v[:, -1] * np.sqrt(max(w[-1], 0.0))


def _minres_objective(psi: np.ndarray, R: np.ndarray) -> float:
    # psych:::fac fit.residuals, fm = "minres": sum of squared off-diagonal residuals
    S = R.copy()
    np.fill_diagonal(S, 1 - psi)
    w, v = np.linalg.eigh(S)
    w = np.where(w < _EPS, 100 * _EPS, w)
    lam = v[:, -1] * np.sqrt(w[-1])
    resid = (S - np.outer(lam, lam))[np.tril_indices(len(psi), -1)]
    return float(np.sum(resid ** 2))


def _minres_gradient(psi: np.ndarray, R: np.ndarray) -> np.ndarray:
    # psych:::fac FAgr.minres: diag(lambda lambda' + diag(psi) - R)
    lam = _first_factor(R - np.diag(psi))
    return lam ** 2 + psi - np.diag(R)


def minres_one_factor(R: np.ndarray) -> np.ndarray:
    """One-factor minimum-residual loadings of a correlation matrix, as ``psych::fa(fm="minres")``.

    Replicates ``psych:::fac``: uniquenesses ``psi`` start at ``1 - smc``
    (smc from the pseudo-inverse), are optimised by L-BFGS-B (bounds
    ``[0.005, max(smc, 1)]``, ``parscale = 0.01``, R's defaults ``lmm = 5``,
    ``factr = 1e7``, ``pgtol = 0``, ``maxit = 100``) on the sum of squared
    off-diagonal residuals with psych's gradient, then the loadings are the
    first eigenvector of ``R - diag(psi)`` scaled by the root of its
    eigenvalue, with the sign making their sum positive.
    """
    smc = 1 - 1 / np.diag(np.linalg.pinv(R))
    smc = np.minimum(smc, 1.0)
    start = np.diag(R) - smc
    upper = max(float(np.max(smc)), 1.0)
    ps = 0.01
    res = optimize.minimize(
        lambda x: _minres_objective(x * ps, R), start / ps,
        jac=lambda x: _minres_gradient(x * ps, R) * ps, method="L-BFGS-B",
        bounds=[(0.005 / ps, upper / ps)] * len(start),
        options={"maxcor": 5, "ftol": 1e7 * _EPS, "gtol": 0.0, "maxiter": 100})
    psi = res.x * ps
    S = R.copy()
    np.fill_diagonal(S, np.diag(R) - psi)
    lam = _first_factor(S)
    return -lam if lam.sum() < 0 else lam


def omega_total(X: np.ndarray) -> float:
    r"""McDonald's omega total from a one-factor model, as ``psych::omega(x, nfactors = 1)$omega.tot``.

    With :math:`R` the item correlation matrix, :math:`\lambda` the
    one-factor minres loadings (:func:`minres_one_factor`) and
    :math:`u^2_i = 1 - \lambda_i^2`,

    .. math:: \omega_t = \frac{\mathbf 1' R^* \mathbf 1 - \sum_i u_i^2}{\mathbf 1' R^* \mathbf 1}

    where :math:`R^*` is :math:`R` with items of negative loading reflected
    (psych's ``flip = TRUE``).  When the one-factor model fits exactly this is
    :math:`(\sum_i|\lambda_i|)^2 / \mathbf 1'R^*\mathbf 1`; otherwise the residual
    covariances count as true-score variance, as in psych.
    """
    if X.shape[0] < 2 or X.shape[1] < 2:
        return float("nan")
    sd = X.std(axis=0, ddof=1)
    if np.any(sd == 0):
        return float("nan")
    R = np.corrcoef(X, rowvar=False)
    lam = minres_one_factor(R)
    key = np.where(lam < 0, -1.0, 1.0)
    Vt = float((R * np.outer(key, key)).sum())
    u2 = np.diag(R) - lam ** 2
    return float((Vt - u2.sum()) / Vt)


def _item_stats(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """psych's r.drop and alpha.drop raw_alpha for every item (vectorised over items)."""
    C = np.cov(X, rowvar=False, ddof=1)
    k = C.shape[0]
    d = np.diag(C)
    col = C.sum(axis=0)
    total = C.sum()
    v_drop = total - 2 * col + d  # sum of C without row/column i
    with np.errstate(invalid="ignore", divide="ignore"):
        r_drop = (col - d) / np.sqrt(d * v_drop)
        if k > 2:
            a_drop = (k - 1) / (k - 2) * (1 - (np.trace(C) - d) / v_drop)
        else:
            a_drop = np.full(k, np.nan)
    return r_drop, a_drop


# ------------------------------------------------------------------ helpers
def scales_of(inst: Instrument) -> dict[str, tuple[int, ...]]:
    """Scales analysed by :func:`reliability`: ``"score"`` (unless the
    instrument has no main score) and every subscale with 2+ items, one name
    per distinct item set (the first defined, e.g. WHOQOL-BREF ``physical``
    rather than ``physical_4_20``)."""
    out: dict[str, tuple[int, ...]] = {}
    seen: set[tuple[int, ...]] = set()
    if inst.method != "none":
        allitems = tuple(range(1, inst.n_items + 1))
        out["score"] = allitems
        seen.add(allitems)
    for name, items in inst.subscales.items():
        key = tuple(sorted(items))
        if len(items) >= 2 and key not in seen:
            out[name] = tuple(items)
            seen.add(key)
    return out


def _prepare(responses: pd.DataFrame, instrument: Any, items: Any, by: Any, subject: str | None):
    inst = get(instrument)
    if not isinstance(responses, pd.DataFrame):
        raise ConfigError(f"responses must be a pandas DataFrame, got {type(responses).__name__}")
    by_cols: list[str] = [] if by is None else ([by] if isinstance(by, str) else list(by))
    missing = [c for c in by_cols if c not in responses.columns]
    if missing:
        raise ConfigError(f"by= names column(s) {missing} that the responses do not have; columns: "
                          f"{list(responses.columns)[:20]}. Use by=None to pool all rows.")
    cols = resolve_items(responses, inst, items)
    time = by_cols[0] if by_cols else None
    X = item_matrix(responses, cols, inst, subject=subject, time=time)
    if inst.reverse:
        rev = np.asarray(inst.reverse) - 1
        X[:, rev] = (inst.item_min + inst.item_max) - X[:, rev]
    if by_cols:
        codes = responses.groupby(by_cols, sort=True, dropna=False, observed=True).ngroup().to_numpy()
        first = pd.Series(np.arange(len(responses))).groupby(codes).first()
        groups = [({c: responses[c].iloc[pos] for c in by_cols}, codes == code) for code, pos in first.items()]
    else:
        groups = [({}, np.ones(len(responses), dtype=bool))]
    return inst, cols, X, by_cols, groups


def _analyse(inst: Instrument, cols: Sequence[str], X: np.ndarray, by_cols: list[str], groups, ci: float):
    totals: list[dict[str, Any]] = []
    item_rows: list[dict[str, Any]] = []
    small = []
    for key, mask in groups:  # loop over timepoints/groups (a handful)
        for scale, items in scales_of(inst).items():  # and scales (a handful)
            idx = np.asarray(items) - 1
            sub = X[mask][:, idx]
            sub = sub[~np.isnan(sub).any(axis=1)]
            n, k = sub.shape
            if 0 < n < MIN_ROWS_WARN:
                small.append(f"{key or 'all rows'} {scale}: n={n}")
            if n >= 2:
                a = cronbach_alpha(sub)
                lo, hi = feldt_ci(a, n, k, ci)
                om = omega_total(sub)
                r_drop, a_drop = _item_stats(sub)
                means, sds = sub.mean(axis=0), sub.std(axis=0, ddof=1)
            else:
                a = lo = hi = om = float("nan")
                r_drop = a_drop = means = sds = np.full(k, np.nan)
                if n == 1:
                    means = sub[0]
            totals.append({**key, "scale": scale, "n": n, "k": k, "alpha": a, "alpha_ci_low": lo,
                           "alpha_ci_high": hi, "omega": om})
            for j, i in enumerate(items):
                item_rows.append({**key, "scale": scale, "item": cols[i - 1], "n": n,
                                  "mean": float(means[j]), "sd": float(sds[j]),
                                  "r_drop": float(r_drop[j]), "alpha_if_deleted": float(a_drop[j])})
    if small:
        warnings.warn(f"{inst.label} reliability rests on fewer than {MIN_ROWS_WARN} complete rows for: "
                      + "; ".join(small) + ". Estimates are unstable.", SmallSampleWarning, stacklevel=3)
    return totals, item_rows


def _frame(rows: list[dict[str, Any]], by_cols: list[str], columns: list[str], inst: Instrument) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=[*by_cols, *columns])
    df.insert(0, "instrument", inst.name)
    df["n"] = df["n"].astype("int64")
    return df


# ------------------------------------------------------------------- public
def reliability(responses: pd.DataFrame, instrument: str | Instrument, *,
                by: str | Sequence[str] | None = "timepoint", ci: float = 0.95,
                items: Mapping[Any, str] | Sequence[str] | None = None,
                subject: str | None = "member_id") -> pd.DataFrame:
    r"""Cronbach's alpha (Feldt CI) and McDonald's omega total per timepoint and scale.

    Parameters
    ----------
    responses : DataFrame
        Item responses, one row per member x timepoint (as for :func:`groupeval.score`).
    instrument : str or Instrument
        Registry name or :class:`~groupeval.instruments.Instrument`.
    by : str, list of str or None, default "timepoint"
        Columns to analyse separately (``None``: all rows pooled).
    ci : float, default 0.95
        Confidence level of the Feldt interval.
    items : mapping or list, optional
        Item columns when they do not follow ``<name>_<n>`` (as in :func:`groupeval.score`).
    subject : str or None
        Member-id column, used only to name rows in error messages.

    Returns
    -------
    DataFrame
        One row per ``by`` level x scale, unrounded:

        * ``instrument``; the ``by`` columns;
        * ``scale``: ``"score"`` (all items) or a subscale name (see :func:`scales_of`);
        * ``n``: complete rows used (listwise deletion per scale);
        * ``k``: number of items;
        * ``alpha``: Cronbach's alpha (reverse-keyed items recoded first);
        * ``alpha_ci_low``, ``alpha_ci_high``: Feldt confidence interval;
        * ``omega``: McDonald's omega total, one-factor minres model.

    Notes
    -----
    Reverse-keyed items are recoded (``item_min + item_max - x``) and rows
    missing any item of a scale are dropped for that scale (listwise), so
    ``n`` may differ between scales.  With covariance matrix :math:`C` of
    :math:`k` items,
    :math:`\alpha = \frac{k}{k-1}(1 - \operatorname{tr}C / \mathbf 1'C\mathbf 1)`;
    the Feldt interval is
    :math:`1 - (1-\hat\alpha)F_{1\mp p/2}(n-1, (n-1)(k-1))`, :math:`p = 1 - ci`.
    Omega total is :math:`(\mathbf 1'R\mathbf 1 - \sum_i (1 - \lambda_i^2)) / \mathbf 1'R\mathbf 1`
    with :math:`\lambda` the loadings of a one-factor minimum-residual
    factor analysis of the correlation matrix :math:`R`, fitted exactly as
    ``psych::fa(fm = "minres")`` does (see :func:`minres_one_factor`); items
    with negative loadings are reflected first (psych's ``flip = TRUE``).
    Agreement with psych 2.2.9 is tested to 1e-6 (observed ~1e-15).
    Fewer than 2 complete rows give NaN; fewer than 10 warn
    (:class:`~groupeval.exceptions.SmallSampleWarning`).  Omega is NaN when
    an item has zero variance.

    In R::

        psych::alpha(na.omit(x))   # $total$raw_alpha, $feldt
        psych::omega(na.omit(x), nfactors = 1, fm = "minres")$omega.tot

    References
    ----------
    Cronbach LJ (1951). Coefficient alpha and the internal structure of tests. Psychometrika 16:297-334.
    Feldt LS (1965). The approximate sampling distribution of Kuder-Richardson reliability coefficient
    twenty. Psychometrika 30:357-370.
    McDonald RP (1999). Test Theory: A Unified Treatment. Erlbaum.
    Revelle W (2022). psych: Procedures for Psychological, Psychometric, and Personality Research. R package 2.2.9.
    """
    if not (isinstance(ci, float) and 0 < ci < 1):
        raise ConfigError(f"ci must be a number between 0 and 1 (e.g. 0.95), got {ci!r}")
    inst, cols, X, by_cols, groups = _prepare(responses, instrument, items, by, subject)
    totals, _ = _analyse(inst, cols, X, by_cols, groups, ci)
    return _frame(totals, by_cols, ["scale", "n", "k", "alpha", "alpha_ci_low", "alpha_ci_high", "omega"], inst)


def item_analysis(responses: pd.DataFrame, instrument: str | Instrument, *,
                  by: str | Sequence[str] | None = "timepoint",
                  items: Mapping[Any, str] | Sequence[str] | None = None,
                  subject: str | None = "member_id") -> pd.DataFrame:
    r"""Item statistics per timepoint and scale: corrected item-total correlation and alpha if deleted.

    Returns
    -------
    DataFrame
        ``instrument``, the ``by`` columns, ``scale``, ``item`` (column
        name), ``n`` (complete rows of the scale), ``mean`` and ``sd`` of the
        (reverse-recoded) item, ``r_drop`` (correlation of the item with the
        sum of the other items of the scale; psych's ``r.drop``) and
        ``alpha_if_deleted`` (alpha of the scale without the item; psych's
        ``alpha.drop$raw_alpha``; NaN for 2-item scales).

    Notes
    -----
    .. math:: r_{drop,i} = \frac{\sum_j C_{ij} - C_{ii}}{\sqrt{C_{ii}\,\mathbf 1'C_{(-i)}\mathbf 1}}

    In R: ``psych::alpha(na.omit(x))$item.stats$r.drop`` and ``$alpha.drop$raw_alpha``.
    """
    inst, cols, X, by_cols, groups = _prepare(responses, instrument, items, by, subject)
    _, item_rows = _analyse(inst, cols, X, by_cols, groups, 0.95)
    return _frame(item_rows, by_cols, ["scale", "item", "n", "mean", "sd", "r_drop", "alpha_if_deleted"], inst)


