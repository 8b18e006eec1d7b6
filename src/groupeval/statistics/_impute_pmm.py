"""Chained equations with predictive mean matching, in numpy (the imputation engine of :func:`impute`).

Internal to :mod:`groupeval.statistics.impute` (and :func:`groupeval.dose_response`'s ITT rows).
Each variable with missing values is imputed in turn from all the others (the full conditional
specification of van Buuren 2018, FIMD section 4.5), by Bayesian linear regression and type-1
predictive mean matching, as R ``mice``'s ``pmm`` (FIMD Algorithm 3.3):

1. on the observed rows, the ridge-stabilised least squares fit
   :math:`\\hat\\beta = (Z'Z + \\kappa\\,\\mathrm{diag}(Z'Z))^{-1}Z'y` (:math:`\\kappa = 10^{-5}`, as mice);
2. a draw :math:`\\sigma^{*2} = \\mathrm{RSS}/\\chi^2_{n_{obs}-q}`,
   :math:`\\beta^* = \\hat\\beta + \\sigma^* L z` with :math:`LL' = (Z'Z + \\kappa\\,\\mathrm{diag})^{-1}`;
3. for each missing row, the ``k`` observed rows whose :math:`Z\\hat\\beta` is closest to its
   :math:`Z\\beta^*`; one of them at random donates its observed value.

Start: every missing value is a random draw from its column's observed values (mice's default).
The design matrices are plain numpy arrays (no formula parsing), so a cycle costs a few small
least-squares fits whatever the number of predictors (e.g. one dummy per group).
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

__all__ = ["RIDGE", "pmm_chain"]

#: Ridge penalty relative to the diagonal of Z'Z (R mice's default ``ridge = 1e-05``).
RIDGE = 1e-5


def _donors(yhat_obs: np.ndarray, yhat_mis: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Index (into the observed rows) of a random one of the k nearest predicted values, for every missing row."""
    order = np.argsort(yhat_obs, kind="stable")
    s = yhat_obs[order]
    n = len(s)
    k = min(k, n)
    pos = np.searchsorted(s, yhat_mis)
    # the k nearest lie within k places either side of the insertion point
    start = np.clip(pos - k, 0, max(n - 2 * k, 0))
    window = start[:, None] + np.arange(min(2 * k, n))[None, :]
    dist = np.abs(s[window] - yhat_mis[:, None])
    dist += rng.uniform(0, 1e-12, dist.shape) * (1.0 + np.abs(dist))  # break exact ties at random
    nearest = np.argpartition(dist, k - 1, axis=1)[:, :k]
    pick = nearest[np.arange(len(yhat_mis)), rng.integers(0, k, len(yhat_mis))]
    return order[window[np.arange(len(yhat_mis)), pick]]


def _impute_column(A: np.ndarray, miss: np.ndarray, j: int, k: int, rng: np.random.Generator) -> None:
    obs = ~miss[:, j]
    others = [c for c in range(A.shape[1]) if c != j]
    Z = np.column_stack([np.ones(A.shape[0]), A[:, others]])
    Zo, yo = Z[obs], A[obs, j]
    ZtZ = Zo.T @ Zo
    V = np.linalg.pinv(ZtZ + RIDGE * np.diag(np.diag(ZtZ)))
    V = 0.5 * (V + V.T)
    bhat = V @ (Zo.T @ yo)
    resid = yo - Zo @ bhat
    df = max(int(obs.sum()) - Z.shape[1], 1)
    sigma = np.sqrt(float(resid @ resid) / rng.chisquare(df))
    w, U = np.linalg.eigh(V)  # V^(1/2) by eigen-decomposition: V may be singular after the ridge
    root = U * np.sqrt(np.clip(w, 0, None))
    bstar = bhat + sigma * (root @ rng.standard_normal(Z.shape[1]))
    donors = _donors(Zo @ bhat, Z[~obs] @ bstar, k, rng)
    A[~obs, j] = yo[donors]


def pmm_chain(X: pd.DataFrame, *, m: int, burn_in: int, skip: int, seed: int | None,
              k: int = 5) -> Iterator[pd.DataFrame]:
    """Yield ``m`` completed copies of ``X``: ``burn_in`` cycles, then one copy every ``skip`` cycles.

    One seeded chain (as statsmodels' MICEData): reproducible for a given ``seed``.  A cycle
    imputes every column with missing values once, in column order.
    """
    rng = np.random.default_rng(seed)
    A = X.to_numpy(dtype=float, copy=True)
    miss = np.isnan(A)
    targets = [j for j in range(A.shape[1]) if miss[:, j].any()]
    for j in targets:
        observed = A[~miss[:, j], j]
        A[miss[:, j], j] = rng.choice(observed, int(miss[:, j].sum()))
    for i in range(m):
        for _ in range(burn_in if i == 0 else skip):
            for j in targets:  # loop over the (few) variables with missing values, not over rows
                _impute_column(A, miss, j, k, rng)
        yield pd.DataFrame(A.copy(), columns=X.columns, index=X.index)
