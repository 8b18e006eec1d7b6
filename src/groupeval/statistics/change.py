"""Paired pre/post change: mean change, paired t, Wilcoxon, standardised effect sizes, cluster-robust CI."""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..base.dataset import Dataset
from ..base.exceptions import SchemaError, SmallSampleWarning
from ._common import (
    MIN_GROUPS,
    attach_columns,
    check_ci,
    check_frame,
    check_vcov,
    cluster_mean,
    dataset_arg,
    hedges_j,
    nct_ci_vec,
    paired_frame,
    resolve_instrument,
)

__all__ = ["CHANGE_COLUMNS", "wilcoxon_signed_rank", "change"]

#: Columns of :func:`change` (after the ``by`` columns).
CHANGE_COLUMNS = (
    "pre", "post", "n", "n_pre_only", "n_post_only", "mean_pre", "mean_post", "sd_pre", "sd_post",
    "r_pre_post", "mean_change", "sd_change", "se_change", "ci_low", "ci_high", "t", "df", "p_value",
    "wilcoxon_w", "wilcoxon_p", "wilcoxon_method", "d_z", "d_z_ci_low", "d_z_ci_high", "d_av",
    "hedges_g_av", "improved_direction", "note", "n_groups", "se_cluster", "t_cluster", "df_cluster",
    "ci_low_cluster", "ci_high_cluster", "p_value_cluster", "cluster_method", "cluster_note",
)


_SMALL_N = 10


# ---------------------------------------------------------------------------
# Wilcoxon signed-rank, as R's wilcox.test(paired = TRUE)
# ---------------------------------------------------------------------------
def _signrank_cdf(n: int) -> np.ndarray:
    """Exact null distribution of the signed-rank statistic: P(V <= v), v = 0..n(n+1)/2."""
    top = n * (n + 1) // 2
    counts = np.zeros(top + 1)
    counts[0] = 1.0
    for k in range(1, n + 1):  # loop over ranks (n < 50), not over rows
        counts[k:] = counts[k:] + counts[:-k].copy()
    return np.cumsum(counts) / 2.0**n


def wilcoxon_signed_rank(diff: np.ndarray, *, exact: bool | None = None) -> tuple[float, float, str]:
    """Two-sided Wilcoxon signed-rank test of paired differences, as R computes it.

    Zero differences are dropped; ``V`` is the sum of the ranks of the
    positive differences.  The exact null distribution is used when fewer
    than 50 non-zero differences remain and there are no ties (R's
    ``wilcox.test`` default); otherwise the normal approximation with tie
    and continuity correction.

    Returns ``(V, p_value, method)`` with method ``"exact"`` or ``"normal"``.
    In R: ``wilcox.test(post, pre, paired = TRUE)``.
    """
    x = np.asarray(diff, dtype=float)
    x = x[np.isfinite(x)]
    zeroes = bool((x == 0).any())
    x = x[x != 0]
    n = x.size
    if n == 0:
        return float("nan"), float("nan"), "none"
    r = stats.rankdata(np.abs(x))
    v = float(r[x > 0].sum())
    _, tie_counts = np.unique(r, return_counts=True)
    ties = bool((tie_counts > 1).any())
    if exact is None:
        exact = n < 50
    if exact and not ties and not zeroes:
        cdf = _signrank_cdf(n)
        vi = int(round(v))
        if v > n * (n + 1) / 4:
            p = 1.0 - cdf[vi - 1]  # P(V >= v)
        else:
            p = cdf[vi]
        return v, float(min(1.0, 2 * p)), "exact"
    z = v - n * (n + 1) / 4
    sigma = np.sqrt(n * (n + 1) * (2 * n + 1) / 24 - np.sum(tie_counts**3 - tie_counts) / 48)
    if sigma == 0:
        return v, float("nan"), "normal"
    z = (z - np.sign(z) * 0.5) / sigma
    p = 2 * min(stats.norm.cdf(z), stats.norm.sf(z))
    return v, float(min(1.0, p)), "normal"


_CDF_CACHE: dict[int, np.ndarray] = {}


def _wilcoxon_levels(d: np.ndarray, lev: np.ndarray, L: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`wilcoxon_signed_rank` for every level of ``lev`` at once (vectorised)."""
    V = np.full(L, np.nan)
    P = np.full(L, np.nan)
    M = np.full(L, "none", dtype=object)
    if d.size == 0:
        return V, P, M
    nz = d != 0
    zeros = np.bincount(lev[~nz], minlength=L) > 0
    dd, ll = d[nz], lev[nz]
    n = np.bincount(ll, minlength=L).astype(float)
    if dd.size:
        a = np.abs(dd)
        ranks = pd.Series(a).groupby(ll).rank(method="average").to_numpy()
        vsum: np.ndarray = np.bincount(ll, ranks * (dd > 0), L)
        sizes = pd.DataFrame({"l": ll, "a": a}).groupby(["l", "a"], sort=False).size()
        tl = sizes.index.get_level_values(0).to_numpy()
        tc = sizes.to_numpy().astype(float)
        tie_sum: np.ndarray = np.bincount(tl, tc**3 - tc, L)
        ties: np.ndarray = np.bincount(tl, (tc > 1).astype(float), L) > 0
    else:
        vsum, tie_sum, ties = np.zeros(L), np.zeros(L), np.zeros(L, dtype=bool)
    has = n > 0
    V[has] = vsum[has]
    exact = has & (n < 50) & ~ties & ~zeros
    normal = has & ~exact
    with np.errstate(invalid="ignore", divide="ignore"):
        z = vsum - n * (n + 1) / 4
        sigma = np.sqrt(n * (n + 1) * (2 * n + 1) / 24 - tie_sum / 48)
        z = (z - np.sign(z) * 0.5) / sigma
        pn = np.minimum(1.0, 2 * np.minimum(stats.norm.cdf(z), stats.norm.sf(z)))
    P[normal] = np.where(sigma[normal] > 0, pn[normal], np.nan)
    M[normal] = "normal"
    for nn in np.unique(n[exact]).astype(int):  # at most 49 distinct sizes
        cdf = _CDF_CACHE.get(nn)
        if cdf is None:
            cdf = _CDF_CACHE[nn] = _signrank_cdf(nn)
        k = np.flatnonzero(exact & (n == nn))
        v = np.rint(vsum[k]).astype(int)
        upper = v > nn * (nn + 1) / 4
        p = np.where(upper, 1.0 - cdf[np.maximum(v - 1, 0)], cdf[v])
        P[k] = np.minimum(1.0, 2 * p)
        M[k] = "exact"
    return V, P, M


# ---------------------------------------------------------------------------
# change
# ---------------------------------------------------------------------------
def _direction(instrument: Any) -> str | None:
    if instrument is None:
        return None
    return "higher" if bool(instrument.higher_is_better) else "lower"


def change(scores: pd.DataFrame, pre: str = "baseline", post: str = "week_26", by: str | Sequence[str] | None = None,
           *, dataset: Dataset | None = None, dv: str = "score", subject: str = "member_id",
           time: str = "timepoint", instrument: Any = None, group: str | None = "group_id", vcov: str = "CR2",
           ci: float = 0.95, data: Any = None) -> pd.DataFrame:
    r"""Paired change between two timepoints, with tests and effect sizes.

    Parameters
    ----------
    scores
        Long scores (as :func:`groupeval.score` returns): one row per member
        and timepoint with ``subject``, ``time`` and ``dv`` columns.
    pre, post
        The two timepoints compared (any pair; ``post - pre`` is the change).
    by
        Column name(s) to split by: a column of ``scores`` or of
        ``data.groups`` (``group_type``, ``facilitation``, ...) joined via
        ``group_id``, or of ``data.members``.  ``None`` gives one row.
        A member's ``by`` value is taken from their ``pre`` row.
    dv, subject, time
        Column names of the score, the member id and the timepoint.
    dataset
        The :class:`~groupeval.Dataset`, needed only when ``by`` names a
        group or member attribute that ``scores`` lacks, or to find each
        member's group.
    instrument
        Registry name or instrument object; only its ``higher_is_better``
        is used, to fill ``improved_direction``.  Means are never flipped.
    group
        Cluster column (members nested in groups) for the cluster-robust
        columns; taken from ``scores`` or ``data.members``.  ``None`` (or a
        column that cannot be found) leaves those columns NaN.
    vcov
        Cluster-robust variance of the ``*_cluster`` columns: ``"CR2"``
        (default; Bell & McCaffrey 2002 with Satterthwaite df) or ``"CR1"``
        (Stata's, t with G - 1 df; over-rejects with few groups).
    ci
        Confidence level of every interval.
    data
        Deprecated spelling of ``dataset``.

    Returns
    -------
    pandas.DataFrame
        One row per ``by`` level (sorted), columns: the ``by`` columns,
        ``pre``, ``post`` (the timepoints), ``n`` (members with both scores),
        ``n_pre_only``, ``n_post_only`` (members left out for lack of the
        other score: reported, never silently dropped), ``mean_pre``,
        ``mean_post``, ``sd_pre``, ``sd_post``, ``r_pre_post`` (Pearson r),
        ``mean_change`` (post - pre), ``sd_change``, ``se_change``,
        ``ci_low``, ``ci_high`` (t interval of the mean change), ``t``,
        ``df``, ``p_value`` (paired t-test), ``wilcoxon_w`` (R's ``V``: sum
        of ranks of positive changes), ``wilcoxon_p``, ``wilcoxon_method``
        (``exact`` / ``normal``), ``d_z``, ``d_z_ci_low``, ``d_z_ci_high``,
        ``d_av``, ``hedges_g_av``, ``improved_direction`` (``"higher"`` /
        ``"lower"`` / missing when no instrument is given), and, because
        members share groups, the cluster-aware inference that groupeval
        reports first: ``n_groups``, ``se_cluster``, ``t_cluster``,
        ``df_cluster``, ``ci_low_cluster``, ``ci_high_cluster``,
        ``p_value_cluster`` (the mean change with a cluster-robust SE by
        ``group``: CR2 with Satterthwaite df by default), ``cluster_method``
        (``"CR2"`` / ``"CR1"``) and ``cluster_note`` (why the cluster columns
        are NaN, else empty); ``note`` says why the member-level t is
        undefined (every change equal), else empty.

    Notes
    -----
    With :math:`D_i = x_{post,i} - x_{pre,i}` over the :math:`n` complete pairs:

    .. math::
        t = \frac{\bar D}{s_D/\sqrt n},\quad df = n-1,\quad
        d_z = \frac{\bar D}{s_D} = \frac{t}{\sqrt n},\quad
        d_{av} = \frac{\bar D}{(s_{pre}+s_{post})/2},\quad
        g_{av} = d_{av}\Big(1-\frac{3}{4(2n)-9}\Big)

    The ``d_z`` interval is exact: the noncentrality parameter
    :math:`\lambda` of a noncentral t with ``df = n - 1`` is found (Brent's
    method) so that :math:`P(T\le t\mid\lambda_{low}) = 1-\alpha/2` and
    :math:`P(T\le t\mid\lambda_{high}) = \alpha/2`, and the limits are
    :math:`\lambda/\sqrt n` (Steiger & Fouladi 1997; Lakens 2013).  ``g_av``
    applies Hedges' correction with :math:`n_1 = n_2 = n` (Lakens 2013,
    formula 4).  The Wilcoxon test follows R's ``wilcox.test`` defaults.
    A :class:`SmallSampleWarning` names levels with fewer than 10 pairs or
    fewer than :data:`~groupeval.statistics._common.MIN_GROUPS` groups.

    The cluster columns are the intercept of ``change ~ 1`` with the CR2
    variance clustered by group, in closed form (see
    :func:`groupeval.statistics._common.cluster_mean`): exactly
    ``clubSandwich::coef_test(lm(d ~ 1), vcov = "CR2", cluster = g,
    test = "Satterthwaite")``.  With one group there is no between-group
    variance to estimate, and the cluster columns are NaN with that reason.

    References
    ----------
    Lakens D (2013). Calculating and reporting effect sizes to facilitate
    cumulative science. *Front Psychol* 4:863.
    Steiger JH, Fouladi RT (1997). Noncentrality interval estimation and the
    evaluation of statistical models. In *What if there were no significance tests?*
    Bell RM, McCaffrey DF (2002). Bias reduction in standard errors for linear
    regression with multi-stage samples. *Survey Methodology* 28:169-181.

    Examples
    --------
    >>> change(scores, "baseline", "week_26", by="group_type", dataset=ds)  # doctest: +SKIP

    In R: ``t.test(post, pre, paired = TRUE)``; ``wilcox.test(post, pre, paired = TRUE)``.
    """
    check_ci(ci)
    vcov = check_vcov(vcov)
    data = dataset_arg(dataset, data, "change")
    by_cols = [] if by is None else ([by] if isinstance(by, str) else list(by))
    check_frame(scores, [subject, time, dv])
    inst = resolve_instrument(instrument)
    frame, gcol = _attach_by_and_group(scores, by_cols, data, subject, group)
    wide, _ = paired_frame(frame, pre, post, dv=dv, subject=subject, time=time, keep=[*by_cols, *gcol])
    lev, level_index, L = _levels(wide, by_cols)
    x, y = wide["pre"].to_numpy(float), wide["post"].to_numpy(float)
    has_pre, has_post = ~np.isnan(x), ~np.isnan(y)
    both = has_pre & has_post
    agg = pd.DataFrame(index=level_index if by_cols else pd.RangeIndex(1))
    agg["n_pre_only"] = np.bincount(lev[has_pre & ~has_post], minlength=L).astype(int)
    agg["n_post_only"] = np.bincount(lev[~has_pre & has_post], minlength=L).astype(int)
    lc = lev[both]
    ed, md, sd, n = _paired_columns(agg, lc, x[both], y[both], L, ci)
    agg["pre"], agg["post"] = pre, post
    agg["improved_direction"] = _direction(inst)
    _undefined_t(agg, sd, n)
    gname = gcol[0] if gcol else (group if group in by_cols else None)
    _cluster_columns(agg, wide[gname].to_numpy()[both] if gname is not None else None, ed, lc, L, md, ci, vcov)
    out = agg.reset_index() if by_cols else agg.reset_index(drop=True)
    out = out[[*by_cols, *CHANGE_COLUMNS]]
    _warn_few_groups(out, by_cols, pre, post)
    _warn_few_members(out, by_cols, pre, post)
    return out.reset_index(drop=True)


def _attach_by_and_group(scores: pd.DataFrame, by_cols: list[str], data: Any, subject: str,
                         group: str | None) -> tuple[pd.DataFrame, list[str]]:
    """``scores`` with the ``by`` columns (from the Dataset when missing) and the cluster column if it can be found.

    Returns the frame and ``[group]`` (or ``[]`` when there is no group
    column, or when it is one of the ``by`` columns).
    """
    frame = scores
    if by_cols:
        frame = attach_columns(scores, by_cols, data, subject=subject)
    gcol: list[str] = []
    if group:
        if group not in frame.columns and data is not None:
            try:
                frame = attach_columns(frame, [group], data, subject=subject, group=group)
            except SchemaError:
                pass
        if group in frame.columns and group not in by_cols:
            gcol = [group]
    return frame, gcol


def _levels(wide: pd.DataFrame, by_cols: list[str]) -> tuple[np.ndarray, pd.Index | None, int]:
    """Level code of every member (0.. in sorted ``by`` order), the level index and the number of levels.

    A missing ``by`` value is its own level ``"(missing)"``; without ``by``
    everyone is in the one level 0.
    """
    for c in by_cols:
        wide[c] = wide[c].astype("object").where(wide[c].notna(), "(missing)")
    if not by_cols:
        return np.zeros(len(wide), dtype=np.int64), None, 1
    gb = wide.groupby(by_cols, sort=True, observed=True)
    lev = gb.ngroup().to_numpy()
    return lev, gb.size().index, int(lev.max()) + 1 if len(lev) else 0


def _paired_columns(agg: pd.DataFrame, lc: np.ndarray, xc: np.ndarray, yc: np.ndarray, L: int,
                    ci: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fill the member-level columns of ``agg`` (means, SDs, r, paired t, Wilcoxon, d_z with its exact CI, d_av, g_av).

    ``lc`` is the level of each complete pair.  Returns the changes centred
    on their level mean, the mean change, its SD and ``n`` per level.
    """
    dc = yc - xc
    n = np.bincount(lc, minlength=L).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = np.bincount(lc, xc, L) / n
        my = np.bincount(lc, yc, L) / n
        md = np.bincount(lc, dc, L) / n
        ex, ey, ed = xc - mx[lc], yc - my[lc], dc - md[lc]
        sx = np.sqrt(np.bincount(lc, ex * ex, L) / (n - 1))
        sy = np.sqrt(np.bincount(lc, ey * ey, L) / (n - 1))
        sd = np.sqrt(np.bincount(lc, ed * ed, L) / (n - 1))
        r = np.bincount(lc, ex * ey, L) / (n - 1) / (sx * sy)
        small_n = n < 2
        for arr in (sx, sy, sd, r):
            arr[small_n] = np.nan
        se = sd / np.sqrt(n)
        df = np.where(n >= 2, n - 1, np.nan)
        tcrit = stats.t.ppf(0.5 + ci / 2, df)
        tval = md / se
        d_z = md / sd
        d_av = md / ((sx + sy) / 2)
    agg["n"] = n.astype(int)
    agg["mean_pre"], agg["mean_post"], agg["sd_pre"], agg["sd_post"] = mx, my, sx, sy
    agg["r_pre_post"], agg["mean_change"], agg["sd_change"], agg["se_change"] = r, md, sd, se
    agg["ci_low"], agg["ci_high"] = md - tcrit * se, md + tcrit * se
    agg["t"], agg["df"] = tval, df
    with np.errstate(invalid="ignore"):
        agg["p_value"] = 2 * stats.t.sf(np.abs(tval), df)
    wv, wp, wm = _wilcoxon_levels(dc, lc, L)
    agg["wilcoxon_w"], agg["wilcoxon_p"], agg["wilcoxon_method"] = wv, wp, wm
    lo, hi = nct_ci_vec(tval, df, ci)
    with np.errstate(invalid="ignore"):
        agg["d_z"], agg["d_z_ci_low"], agg["d_z_ci_high"] = d_z, lo / np.sqrt(n), hi / np.sqrt(n)
        agg["d_av"] = d_av
        agg["hedges_g_av"] = d_av * hedges_j(2 * n - 2)  # 1 - 3/(4(2n) - 9)
    return ed, md, sd, n


def _warn_few_members(out: pd.DataFrame, by_cols: list[str], pre: str, post: str) -> None:
    """A :class:`SmallSampleWarning` naming the levels with fewer than 10 complete pairs."""
    small = out.loc[out["n"] < _SMALL_N]
    if len(small):
        what = ("overall" if not by_cols else
                ", ".join(f"{'/'.join(map(str, r))} (n={n})" for r, n in
                          zip(small[by_cols].itertuples(index=False), small["n"])))
        warnings.warn(f"change {pre} -> {post}: fewer than {_SMALL_N} members with both scores in {what}; "
                      f"estimates are unstable.", SmallSampleWarning, stacklevel=3)


def _undefined_t(agg: pd.DataFrame, sd: np.ndarray, n: np.ndarray) -> None:
    """t, p and d_z are undefined (not infinite) when every change in a level is the same."""
    const = (n >= 2) & (sd == 0)
    agg["note"] = np.where(const, "every member's change is the same: no variation, so no test", "")
    if const.any():
        for c in ("t", "p_value", "d_z", "d_z_ci_low", "d_z_ci_high", "d_av", "hedges_g_av", "ci_low", "ci_high"):
            agg.loc[const, c] = np.nan


def _cluster_columns(agg: pd.DataFrame, groups: np.ndarray | None, resid: np.ndarray, lc: np.ndarray, L: int,
                     md: np.ndarray, ci: float, vcov: str) -> None:
    """The cluster-robust mean change per level (CR2 Satterthwaite by default), with reasons for NaN."""
    agg["n_groups"] = 0
    for c in ("se_cluster", "t_cluster", "df_cluster", "ci_low_cluster", "ci_high_cluster", "p_value_cluster"):
        agg[c] = np.nan
    agg["cluster_method"] = vcov
    agg["cluster_note"] = "no group column: members could not be assigned to groups"
    if groups is None or not len(resid):
        return
    G, var, dfc = cluster_mean(resid, lc, groups, L, vcov=vcov)
    se = np.sqrt(var)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(se > 0, md / se, np.nan)
        crit = stats.t.ppf(0.5 + ci / 2, dfc)
        agg["n_groups"] = G
        agg["se_cluster"], agg["t_cluster"], agg["df_cluster"] = se, t, dfc
        agg["ci_low_cluster"] = np.where(se > 0, md - crit * se, np.nan)
        agg["ci_high_cluster"] = np.where(se > 0, md + crit * se, np.nan)
        agg["p_value_cluster"] = 2 * stats.t.sf(np.abs(t), dfc)
    agg["cluster_note"] = np.where(
        G < 2, np.where(G == 1, "one group: the variation between groups cannot be estimated", "no members"),
        np.where(se > 0, "", "no variation in the change within or between groups"))


def _warn_few_groups(out: pd.DataFrame, by_cols: list[str], pre: str, post: str) -> None:
    few = out.loc[(out["n_groups"] > 0) & (out["n_groups"] < MIN_GROUPS)]
    if not len(few):
        return
    what = ("overall" if not by_cols else
            ", ".join(f"{'/'.join(map(str, r))} ({g} group{'' if g == 1 else 's'})" for r, g in
                      zip(few[by_cols].itertuples(index=False), few["n_groups"])))
    warnings.warn(f"change {pre} -> {post}: fewer than {MIN_GROUPS} groups in {what}; the cluster-robust "
                  f"interval rests on few groups (Satterthwaite df shown in df_cluster).", SmallSampleWarning,
                  stacklevel=3)
