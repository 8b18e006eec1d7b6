"""Vectorised random draws and fast string columns used by :func:`groupeval.sample.generate`."""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd


def _weibull_scale_mixture(share: float, shape: float, hr: np.ndarray, at: float = 26.0) -> float:
    """Weibull scale (peer groups) such that the members' mean P(T <= at) is ``share``.

    With hazard ratio ``h_i``, ``P(T_i <= at) = 1 - exp(-h_i (at / scale)^shape)``;
    the mean over members is increasing in ``c = (at / scale)^shape``, solved
    by Brent's method.
    """
    from scipy.optimize import brentq

    hr = np.asarray(hr, float)
    if hr.size == 0 or np.allclose(hr, 1.0):
        c = -math.log1p(-share)
    else:
        c = brentq(lambda c: float(np.mean(-np.expm1(-c * hr))) - share, 1e-12, 1e3, xtol=1e-14, rtol=1e-14)
    return at / c ** (1.0 / shape)


def _categorical(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One draw per row of ``probs`` (rows sum to 1), vectorised inverse CDF."""
    cum = np.cumsum(probs, axis=1)
    cum[:, -1] = 1.0
    u = rng.random(len(probs))
    return (u[:, None] > cum).sum(axis=1)


#: the string dtype of canonical text columns (as groupeval.validation produces)
STRING_DTYPE = pd.StringDtype("pyarrow")


def _markov_attendance(rng: np.random.Generator, idx: np.ndarray, p: np.ndarray, r: float,
                       n_members: int) -> np.ndarray:
    """Attendance marks as a stationary two-state Markov chain per member.

    ``idx`` gives the member of each row; a member's rows are contiguous and
    in session order.  Member ``i`` attends with marginal probability
    ``p_i`` at every session; the lag-1 autocorrelation is ``r`` clipped to
    the feasible range ``[max(1 - 1/p, -p/(1-p)), 1)``:
    ``P(attend | attended last) = p + r (1 - p)``,
    ``P(attend | missed last) = p (1 - r)``.  Negative ``r`` makes long runs
    of absences rarer than independent draws would.  The loop runs over the
    session position (at most ``weeks + 1`` steps), vectorised over members.
    """
    n = len(idx)
    out = np.zeros(n, dtype=bool)
    if n == 0:
        return out
    count = np.bincount(idx, minlength=n_members)
    starts = np.cumsum(count) - count
    pi = p
    lo = np.maximum(1.0 - 1.0 / pi, -pi / (1.0 - pi))
    ri = np.clip(r, lo, 0.999)
    p_aa = pi + ri * (1.0 - pi)
    p_am = pi * (1.0 - ri)
    u = rng.random(n)
    has = count > 0
    rows = starts[has]
    members = np.flatnonzero(has)
    out[rows] = u[rows] < pi[members]
    for j in range(1, int(count.max())):
        keep = count[members] > j
        members, rows = members[keep], rows[keep] + 1
        prev = out[rows - 1]
        out[rows] = u[rows] < np.where(prev, p_aa[members], p_am[members])
    return out


def _str(values: Any) -> pd.Series:
    return pd.Series(values, dtype=STRING_DTYPE)


def _take(labels: Any, codes: np.ndarray) -> pd.Series:
    """``labels[codes]`` as a pyarrow-backed string Series (null where code < 0), fast."""
    import pyarrow as pa

    arr = pa.array(np.asarray(labels, dtype=object), type=pa.string())
    codes = np.asarray(codes, dtype=np.int64)
    taken = arr.take(pa.array(codes, mask=codes < 0))
    return pd.Series(pd.arrays.ArrowStringArray(taken))

