"""Design inputs for power from a programme's own data: ICC, SD, pre/post correlation, attrition, group-size CV."""
from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

from ..base.exceptions import (
    ConfigError,
    DataQualityWarning,
    Problem,
    SchemaError,
    SmallSampleWarning,
    ValidationError,
)

__all__ = ["INPUT_COLUMNS", "power_inputs"]

#: Columns of the :func:`power_inputs` result, in order.
INPUT_COLUMNS: tuple[str, ...] = ("quantity", "estimate", "ci_low", "ci_high", "n", "method", "note")


# ---------------------------------------------------------------------------
# inputs from the programme's own data
# ---------------------------------------------------------------------------
def _icc1(y: NDArray[np.float64], codes: NDArray[np.intp], ci: float) -> tuple[float, float, float, int, int]:
    """ANOVA ICC(1) and its F-based CI, as groupeval.icc computes it."""
    size = np.bincount(codes).astype(float)
    keep = size > 0
    sums = np.bincount(codes, y)[keep]
    size = size[keep]
    means = sums / size
    rc = np.cumsum(keep) - 1  # old code -> compact code
    ssw = float(((y - means[rc[codes]]) ** 2).sum())
    n_tot, k = float(size.sum()), float(size.size)
    grand = sums.sum() / n_tot
    ssb = float((size * (means - grand) ** 2).sum())
    df1, df2 = k - 1, n_tot - k
    if df1 < 1 or df2 < 1:
        return np.nan, np.nan, np.nan, int(k), int(n_tot)
    msb, msw = ssb / df1, ssw / df2
    n0 = (n_tot - float((size**2).sum()) / n_tot) / df1
    if msw == 0:
        return np.nan, np.nan, np.nan, int(k), int(n_tot)
    val = (msb - msw) / (msb + (n0 - 1) * msw)
    F = msb / msw
    fl = F / stats.f.ppf(0.5 + ci / 2, df1, df2)
    fu = F * stats.f.ppf(0.5 + ci / 2, df2, df1)
    return val, (fl - 1) / (fl + n0 - 1), (fu - 1) / (fu + n0 - 1), int(k), int(n_tot)


def _wilson(x: float, n: float, ci: float) -> tuple[float, float]:
    z = stats.norm.ppf(0.5 + ci / 2)
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def _cv_boot(sizes: NDArray[np.float64], ci: float, seed: int, n_boot: int) -> tuple[float, float, str]:
    if np.all(sizes == sizes[0]):
        return 0.0, 0.0, "every group has the same size"

    def cv(x: NDArray[np.float64], axis: int = -1) -> NDArray[np.float64]:
        return np.std(x, axis=axis, ddof=1) / np.mean(x, axis=axis)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = stats.bootstrap((sizes,), cv, vectorized=True, n_resamples=n_boot, confidence_level=ci,
                              method="BCa", rng=np.random.default_rng(seed))
    lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return np.nan, np.nan, "the bootstrap interval is undefined (too few distinct group sizes)"
    return lo, hi, ""


def power_inputs(scores: pd.DataFrame, *, pre: str, post: str, dv: str = "score", subject: str = "member_id",
                 group: str = "group_id", time: str = "timepoint", members: Any = None, ci: float = 0.95,
                 seed: int = 20240614, n_boot: int = 9999) -> pd.DataFrame:
    r"""Inputs for :func:`power` estimated from a programme's own scores, each with a CI.

    Parameters
    ----------
    scores
        Long scores: one row per member and timepoint with ``subject``,
        ``time``, ``dv`` and (or from ``members``) ``group``.
    pre, post
        Baseline and follow-up timepoint labels.
    dv, subject, group, time
        Column names.
    members
        Optional roster (a DataFrame with ``subject`` and ``group``, or a
        groupeval Dataset, whose ``members`` table is used) giving each
        member's group when ``scores`` has no ``group`` column.
    ci
        Confidence level.
    seed, n_boot
        Seed and resamples of the bootstrap CI of the CV of group size.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`INPUT_COLUMNS` (``quantity, estimate, ci_low, ci_high,
        n, method, note``), one row per quantity:

        ``icc_followup``, ``icc_change``
            ANOVA ICC(1) by group of the follow-up score (members with one)
            and of the change (members with both), with the F-based
            (Searle) CI; not truncated at 0 (truncate before passing it
            to :func:`power`).
        ``sd_pre``, ``sd_post``, ``sd_change``
            Sample SDs with the chi-square CI.
        ``pre_post_r``
            Pearson correlation of baseline and follow-up, Fisher-z CI.
        ``attrition``
            Share of members with a baseline score but none at follow-up,
            Wilson CI.
        ``mean_group_size``
            Members with a baseline score per group (the enrolled size,
            ``members_per_group``), t CI over groups (``n`` = groups).
        ``cv_group_size``
            SD (divisor :math:`k-1`) / mean of the numbers *analysed* per
            group (baseline and follow-up; a group that lost everyone
            counts as 0), the ``cv_group_size`` of :func:`power`; BCa
            bootstrap CI over groups (``scipy.stats.bootstrap``, fixed seed).
            Random attrition alone makes analysed sizes vary:
            :math:`cv_a^2 \approx cv^2 + a/(\bar m(1-a))`.
        ``cv_group_size_baseline``
            The same for the baseline sizes.

    Notes
    -----
    With :math:`k` groups, :math:`N` members and
    :math:`n_0 = (N - \sum n_j^2/N)/(k-1)`:
    :math:`ICC(1) = (MS_B - MS_W)/(MS_B + (n_0-1)MS_W)`, CI
    :math:`[(F_L-1)/(F_L+n_0-1),\ (F_U-1)/(F_U+n_0-1)]` with
    :math:`F_L = F/F_{1-\alpha/2}(k-1, N-k)`, :math:`F_U = F\,F_{1-\alpha/2}(N-k, k-1)`
    (the formula of :func:`groupeval.icc`; exact for equal group sizes).
    The SD, correlation and attrition intervals treat members as
    independent, so they are too narrow when the ICC is large.  Use the
    upper limits for a cautious design (a larger ICC, larger attrition).

    References
    ----------
    Searle SR (1971). *Linear Models*. Wiley (F-based ICC interval).
    Fisher RA (1921). *Metron* 1:3-32.  Wilson EB (1927). *JASA* 22:209-212.
    Efron B (1987). Better bootstrap confidence intervals. *JASA* 82:171-185.

    In R: ``summary(aov(post ~ factor(group_id)))``, ``cor.test(pre, post)``,
    ``prop.test(x, n, correct = FALSE)$conf.int``.
    """
    roster = _check_arguments(scores, pre, post, ci, dv=dv, subject=subject, group=group, time=time, members=members)
    codes, uniq, role, sub, pre_v, post_v = _member_scores(scores, pre, post, dv=dv, subject=subject, time=time)
    gmem = _member_groups(scores, sub, codes, uniq, role, group=group, roster=roster, subject=subject, pre=pre,
                          post=post)
    gcodes, guniq = pd.factorize(gmem)
    has_pre, has_post = ~np.isnan(pre_v), ~np.isnan(post_v)
    paired = has_pre & has_post
    change = post_v - pre_v
    rows = _icc_rows(post_v, change, has_post, paired, gcodes, ci)
    rows += _spread_rows(pre_v, post_v, change, has_pre, has_post, paired, ci)
    rows += _group_size_rows(gcodes, len(guniq), has_pre, paired, ci, seed, n_boot)
    return pd.DataFrame(rows, columns=list(INPUT_COLUMNS))


def _row(q: str, est: float, lo: float, hi: float, n: int, method: str, note: str = "") -> dict[str, Any]:
    """One row of the result (:data:`INPUT_COLUMNS`)."""
    return {"quantity": q, "estimate": est, "ci_low": lo, "ci_high": hi, "n": n, "method": method, "note": note}


def _check_arguments(scores: Any, pre: str, post: str, ci: float, *, dv: str, subject: str, group: str, time: str,
                     members: Any) -> pd.DataFrame | None:
    """Check the arguments and the columns; returns the roster (``members`` or a Dataset's ``members``) or None."""
    if not (0 < ci < 1):
        raise ConfigError(f"`ci` must be between 0 and 1 (e.g. 0.95); got {ci!r}.")
    if not isinstance(scores, pd.DataFrame):
        raise ConfigError(f"`scores` must be a DataFrame of long scores; got {type(scores).__name__}.")
    if pre == post:
        raise ConfigError(f"`pre` and `post` are the same timepoint ({pre!r}); choose two different timepoints.")
    need = [c for c in (subject, time, dv) if c not in scores.columns]
    roster = members if (members is None or isinstance(members, pd.DataFrame)) else getattr(members, "members", None)
    if group not in scores.columns:
        if roster is None:
            need.append(group)
        elif not isinstance(roster, pd.DataFrame) or not {subject, group} <= set(roster.columns):
            raise SchemaError(f"`members` must have columns {subject!r} and {group!r} to find each member's group.")
    if need:
        raise SchemaError(f"scores lack column(s) {', '.join(map(repr, need))}; pass the column names with "
                          f"dv=/subject=/group=/time= or give `members` for the group.")
    if not pd.api.types.is_numeric_dtype(scores[dv]):
        raise SchemaError(f"column {dv!r} must be numeric; got dtype {scores[dv].dtype}.")
    return roster


def _member_scores(scores: pd.DataFrame, pre: str, post: str, *, dv: str, subject: str,
                   time: str) -> tuple[NDArray[np.intp], Any, NDArray[np.int64], pd.DataFrame,
                                       NDArray[np.float64], NDArray[np.float64]]:
    """``(codes, member ids, role, rows, pre, post)``: each member's baseline and follow-up score.

    ``codes`` and ``role`` (0 pre, 1 post) are per selected score row
    (``rows``); ``pre`` / ``post`` are per member (NaN if missing).  Raises
    when a timepoint is absent, a row has no member id, or a member has two
    scores at one timepoint.
    """
    tlab = scores[time].astype("string")
    present = set(tlab.dropna().unique())
    bad = [Problem(None, None, time, t, f"{role} timepoint not in the scores",
                   f"use one of {', '.join(map(repr, sorted(present)))}")
           for t, role in ((pre, "pre"), (post, "post")) if t not in present]
    if bad:
        raise ConfigError("timepoint not found", bad)
    is_pre = (tlab == pre).fillna(False).to_numpy(dtype=bool)
    is_post = (tlab == post).fillna(False).to_numpy(dtype=bool)
    rows = np.flatnonzero(is_pre | is_post)
    sub = scores.iloc[rows]
    ids = sub[subject].astype("string").to_numpy(dtype=object)
    codes, uniq = pd.factorize(ids)
    if (codes < 0).any():
        raise ValidationError(f"{int((codes < 0).sum())} score row(s) have no {subject!r}; "
                              "give every row its member id.")
    role = is_post[rows].astype(np.int64)
    cnt = np.bincount(codes * 2 + role, minlength=2 * len(uniq))
    if (cnt > 1).any():
        dup = np.flatnonzero(cnt > 1)
        raise ValidationError("scores are not one row per member and timepoint",
                              [Problem(None, None, subject, f"{uniq[j // 2]} @ {(pre, post)[j % 2]}",
                                       "more than one score for this member at this timepoint",
                                       "keep one row per member and timepoint") for j in dup.tolist()])
    y = pd.to_numeric(sub[dv], errors="coerce").to_numpy(dtype=float)
    n_u = len(uniq)
    pre_v = np.full(n_u, np.nan)
    post_v = np.full(n_u, np.nan)
    pre_v[codes[role == 0]] = y[role == 0]
    post_v[codes[role == 1]] = y[role == 1]
    return codes, uniq, role, sub, pre_v, post_v


def _member_groups(scores: pd.DataFrame, sub: pd.DataFrame, codes: NDArray[np.intp], uniq: Any,
                   role: NDArray[np.int64], *, group: str, roster: pd.DataFrame | None, subject: str, pre: str,
                   post: str) -> NDArray[np.object_]:
    """Each member's group: from the scores (a row with a group, baseline first) or from the roster.

    A :class:`DataQualityWarning` counts members whose group differs
    between the timepoints (their baseline group is used); a member
    without a group is an error.
    """
    if group in scores.columns:
        gval = sub[group].astype("string").to_numpy(dtype=object)
        order = np.lexsort((role, pd.isna(gval), codes))  # within member: a row with a group, baseline first
        gmem = np.full(len(uniq), None, dtype=object)
        first = np.ones(order.size, dtype=bool)
        first[1:] = codes[order][1:] != codes[order][:-1]
        gmem[codes[order][first]] = gval[order][first]
        both = pd.DataFrame({"c": codes, "g": gval}).dropna().drop_duplicates()
        moved = int(both["c"].duplicated().sum())
        if moved:
            warnings.warn(f"{moved} member(s) have a different {group!r} at {pre!r} and {post!r}; their baseline "
                          f"group is used.", DataQualityWarning, stacklevel=3)
    else:
        if roster is None:  # pragma: no cover - _check_arguments requires a roster without a group column
            raise SchemaError(f"scores lack column {group!r}; give `members` for the group.")
        r = roster[[subject, group]].astype("string").drop_duplicates(subset=[subject])
        gmem = pd.Series(r[group].to_numpy(dtype=object), index=r[subject].to_numpy(dtype=object)) \
            .reindex(np.asarray(uniq, dtype=object)).to_numpy(dtype=object)
    gmiss = pd.isna(gmem)
    if gmiss.any():
        raise ValidationError(f"{int(gmiss.sum())} member(s) have no {group!r}; every member needs a group",
                              [Problem(None, None, group, uniq[j], "no group for this member",
                                       "add the member to the roster or the group column")
                               for j in np.flatnonzero(gmiss)[:50].tolist()])
    return gmem


def _icc_rows(post_v: NDArray[np.float64], change: NDArray[np.float64], has_post: NDArray[np.bool_],
              paired: NDArray[np.bool_], gcodes: NDArray[np.intp], ci: float) -> list[dict[str, Any]]:
    """``icc_followup`` and ``icc_change`` (ANOVA ICC(1), F-based CI); warns when fewer than 10 groups."""
    rows = []
    icc_method = "ANOVA ICC(1), F-based (Searle) CI"
    for q, yy, sel in (("icc_followup", post_v, has_post), ("icc_change", change, paired)):
        est, lo, hi, k, n = _icc1(yy[sel], gcodes[sel], ci)
        note = "" if np.isfinite(est) else "needs at least 2 groups, more members than groups and spread within groups"
        rows.append(_row(q, est, lo, hi, n, icc_method, note))
        if np.isfinite(est) and k < 10:
            warnings.warn(f"{q}: ICC from only {k} groups; the interval is wide and the estimate unstable.",
                          SmallSampleWarning, stacklevel=3)
    return rows


def _spread_rows(pre_v: NDArray[np.float64], post_v: NDArray[np.float64], change: NDArray[np.float64],
                 has_pre: NDArray[np.bool_], has_post: NDArray[np.bool_], paired: NDArray[np.bool_],
                 ci: float) -> list[dict[str, Any]]:
    """``sd_pre``, ``sd_post``, ``sd_change`` (chi-square CI), ``pre_post_r`` (Fisher z) and ``attrition`` (Wilson)."""
    rows = []
    for q, yy in (("sd_pre", pre_v[has_pre]), ("sd_post", post_v[has_post]), ("sd_change", change[paired])):
        n = yy.size
        if n < 2:
            rows.append(_row(q, np.nan, np.nan, np.nan, n, "sample SD, chi-square CI", "needs at least 2 members"))
            continue
        s = float(np.std(yy, ddof=1))
        lo = s * math.sqrt((n - 1) / stats.chi2.ppf(0.5 + ci / 2, n - 1))
        hi = s * math.sqrt((n - 1) / stats.chi2.ppf(0.5 - ci / 2, n - 1))
        rows.append(_row(q, s, lo, hi, n, "sample SD, chi-square CI"))
    n_p = int(paired.sum())
    if n_p >= 4 and np.std(pre_v[paired]) > 0 and np.std(post_v[paired]) > 0:
        r_est = float(np.corrcoef(pre_v[paired], post_v[paired])[0, 1])
        z = stats.norm.ppf(0.5 + ci / 2) / math.sqrt(n_p - 3)
        rows.append(_row("pre_post_r", r_est, math.tanh(math.atanh(r_est) - z), math.tanh(math.atanh(r_est) + z),
                         n_p, "Pearson r, Fisher z CI"))
    else:
        rows.append(_row("pre_post_r", np.nan, np.nan, np.nan, n_p, "Pearson r, Fisher z CI",
                         "needs at least 4 members with both scores and spread at both timepoints"))
    n_b = int(has_pre.sum())
    lost = int((has_pre & ~has_post).sum())
    if n_b:
        lo, hi = _wilson(lost, n_b, ci)
        rows.append(_row("attrition", lost / n_b, lo, hi, n_b, "share with baseline but no follow-up, Wilson CI"))
    else:
        rows.append(_row("attrition", np.nan, np.nan, np.nan, 0, "share with baseline but no follow-up, Wilson CI",
                         "no member has a baseline score"))
    return rows


def _group_size_rows(gcodes: NDArray[np.intp], n_groups: int, has_pre: NDArray[np.bool_], paired: NDArray[np.bool_],
                     ci: float, seed: int, n_boot: int) -> list[dict[str, Any]]:
    """``mean_group_size`` (t CI over groups) and the CVs of the analysed and baseline group sizes (BCa bootstrap)."""
    rows = []
    sizes_all = np.bincount(gcodes[has_pre], minlength=n_groups).astype(float)
    in_design = sizes_all > 0  # groups with at least one member at baseline
    sizes = sizes_all[in_design]
    analysed = np.bincount(gcodes[paired], minlength=n_groups).astype(float)[in_design]
    k = sizes.size
    boot = f"BCa bootstrap over groups (seed {seed}, {n_boot} resamples)"
    if k < 2:
        for q in ("mean_group_size", "cv_group_size", "cv_group_size_baseline"):
            rows.append(_row(q, float(sizes.mean()) if (k and q == "mean_group_size") else np.nan, np.nan, np.nan, k,
                             "group sizes", "needs at least 2 groups"))
        return rows
    mean = float(sizes.mean())
    sdv = float(sizes.std(ddof=1))
    half = stats.t.ppf(0.5 + ci / 2, k - 1) * sdv / math.sqrt(k)
    rows.append(_row("mean_group_size", mean, mean - half, mean + half, k,
                     "members with baseline per group, t CI over groups"))
    for q, sz, what in (("cv_group_size", analysed, "members analysed (baseline and follow-up) per group"),
                        ("cv_group_size_baseline", sizes, "members with baseline per group")):
        if sz.mean() == 0:
            rows.append(_row(q, np.nan, np.nan, np.nan, k, f"SD (ddof=1) / mean of {what}",
                             "no group has a member analysed"))
            continue
        lo, hi, note = _cv_boot(sz, ci, seed, n_boot)
        rows.append(_row(q, float(sz.std(ddof=1) / sz.mean()), lo, hi, k, f"SD (ddof=1) / mean of {what}; {boot}",
                         note))
    return rows
