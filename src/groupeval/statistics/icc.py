"""Intraclass correlation ICC(1) of an outcome by group, with its CI and the design effect."""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..base.dataset import Dataset
from ..base.exceptions import (
    ConfigError,
    SmallSampleWarning,
    ValidationError,
)
from ._common import (
    attach_columns,
    check_ci,
    check_frame,
    dataset_arg,
)

__all__ = ["icc"]


# ---------------------------------------------------------------------------
# ICC(1)
# ---------------------------------------------------------------------------
def icc(scores: pd.DataFrame, *, dataset: Dataset | None = None, dv: str = "score", group: str = "group_id",
        timepoint: str | None = None, time: str = "timepoint", subject: str = "member_id", ci: float = 0.95,
        data: Any = None) -> pd.DataFrame:
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
    dataset
        Dataset used to find each member's group when ``scores`` has no ``group`` column.
    ci
        Confidence level.
    data
        Deprecated spelling of ``dataset``.

    Returns
    -------
    pandas.DataFrame
        ``timepoint, icc, ci_low, ci_high, f, df1, df2, p_value, n_groups, n,
        mean_group_size, n0, design_effect, msb, msw, note``; ``note`` says why
        the ICC or its interval is undefined (no variation), else empty.

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
    check_ci(ci)
    data = dataset_arg(dataset, data, "icc")
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
        rows.append({"timepoint": tk, **_icc_row(msb, msw, n0, df1, df2, ci), "n_groups": int(k), "n": int(N),
                     "mean_group_size": N / k, "n0": n0, "msb": msb, "msw": msw})
        rows[-1]["design_effect"] = 1 + (N / k - 1) * rows[-1]["icc"]
        if k < 10:
            warnings.warn(f"ICC from only {int(k)} groups{'' if tk is None else f' at {tk!r}'}: the interval is wide "
                          f"and the estimate unstable.", SmallSampleWarning, stacklevel=2)
    cols = ["timepoint", "icc", "ci_low", "ci_high", "f", "df1", "df2", "p_value", "n_groups", "n", "mean_group_size",
            "n0", "design_effect", "msb", "msw", "note"]
    return pd.DataFrame(rows, columns=cols)


def _icc_row(msb: float, msw: float, n0: float, df1: float, df2: float, ci: float) -> dict[str, Any]:
    """ICC(1), its F-based CI and test; NaN with a note where a variance is zero (never a division error)."""
    nan = float("nan")
    if msw <= 0:
        note = ("no variation at all: every score is the same" if msb <= 0 else
                "no variation within groups: every member of a group has the same score (ICC 1, no interval)")
        return {"icc": nan if msb <= 0 else 1.0, "ci_low": nan, "ci_high": nan, "f": nan, "df1": df1, "df2": df2,
                "p_value": nan, "note": note}
    F = msb / msw
    fl = F / stats.f.ppf(0.5 + ci / 2, df1, df2)
    fu = F * stats.f.ppf(0.5 + ci / 2, df2, df1)
    return {"icc": (msb - msw) / (msb + (n0 - 1) * msw), "ci_low": (fl - 1) / (fl + n0 - 1),
            "ci_high": (fu - 1) / (fu + n0 - 1), "f": F, "df1": df1, "df2": df2,
            "p_value": float(stats.f.sf(F, df1, df2)), "note": ""}
