"""Sentences about Kaplan--Meier retention and its comparison between levels.

:func:`retention_estimates` and :func:`median_estimate` decide, once, whether
an estimate is reported: a time after the last follow-up, or a time (or
median) with fewer than the documented number of members at risk, is "not
estimated" with the reason.  The sentences use them, and the report tables
should too, so that a sentence never says "not estimated" beside a table
that shows a value.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ...base.exceptions import ConfigError
from ..formatting import (
    fmt_count,
    fmt_df,
    fmt_number,
    fmt_p,
    fmt_weeks,
    is_suppressed,
    resolve_min_cell,
)
from ._common import (
    check_style,
    count_noun,
    field,
    finite,
    group_phrase,
    levels_word,
    list_and,
    list_or,
    need,
    sentence,
    text_field,
    weeks_text,
)
from ._common import min_at_risk as default_min_at_risk
from .wording import fmt_ci_words, fmt_share, share_words

__all__ = ["data_window", "retention_estimates", "median_estimate", "retention_sentence",
           "retention_comparison_sentence", "logrank_sentence"]

_KM_NEEDS = ("time", "at_risk", "events", "censored", "retention", "ci_low", "ci_high")
_REASON_COLUMNS = ("reason", "note")


# ---------------------------------------------------------------------------
# reading the curve
# ---------------------------------------------------------------------------
def _km_table(result: Any) -> tuple[pd.DataFrame, str | None]:
    table = result if isinstance(result, pd.DataFrame) else getattr(result, "table", None)
    if not isinstance(table, pd.DataFrame):
        raise ConfigError(f"retention_sentence needs a RetentionResult or its .table; got {type(result).__name__}.")
    need(table, _KM_NEEDS, "retention_sentence")
    by = None if isinstance(result, pd.DataFrame) else getattr(result, "by", None)
    if isinstance(by, (list, tuple)):
        by = by[0] if len(by) == 1 else None
    if by is None:
        extra = [c for c in table.columns if c not in _KM_NEEDS and not str(c).startswith("_")
                 and not pd.api.types.is_numeric_dtype(table[c]) and not pd.api.types.is_bool_dtype(table[c])]
        by = extra[0] if extra else None
    return table, (by if by in table.columns else None)


def _levels(result: Any, table: pd.DataFrame, by: str | None, level: Any) -> list[Any]:
    if by is None:
        return [None]
    levels = list(pd.unique(table[by]))
    summary = None if isinstance(result, pd.DataFrame) else getattr(result, "summary", None)
    if isinstance(summary, pd.DataFrame) and by in summary.columns:
        levels = list(dict.fromkeys([*summary[by], *levels]))
    if level is None:
        return levels
    if level not in levels:
        raise ConfigError(f"retention_sentence: level {level!r} is not in {by!r} (levels: "
                          f"{', '.join(map(str, levels))}).")
    return [level]


def _step(table: pd.DataFrame, times: np.ndarray, col: str) -> np.ndarray:
    """Right-continuous step function of ``col`` at ``times`` (1 before the first row)."""
    tt = table["time"].to_numpy(float)
    i = np.searchsorted(tt, times, side="right") - 1
    vals = table[col].to_numpy(float) if col in table.columns else np.full(len(tt), np.nan)
    out = np.where(i >= 0, vals[np.maximum(i, 0)] if len(vals) else np.nan, 1.0)
    return np.asarray(out, dtype=float)


def _at_risk(table: pd.DataFrame, times: np.ndarray) -> np.ndarray:
    """Number at risk at ``times``: ``at_risk`` of the first row with time >= t (0 after the last)."""
    tt = table["time"].to_numpy(float)
    ar = table["at_risk"].to_numpy(float)
    j = np.searchsorted(tt, times, side="left")
    return np.where(j < len(tt), ar[np.minimum(j, max(len(tt) - 1, 0))] if len(ar) else 0.0, 0.0)


def _from_at(result: Any, times: np.ndarray, by: str | None, level: Any) -> pd.DataFrame | None:
    """The result's own ``at(times)`` (exact numbers at risk with late entry), when it has one."""
    at_fn = None if isinstance(result, pd.DataFrame) else getattr(result, "at", None)
    if not callable(at_fn):
        return None
    cols = ("at_risk", "retention", "ci_low", "ci_high", "ci_low_cluster", "ci_high_cluster", *_REASON_COLUMNS)
    try:
        at = at_fn(list(map(float, times)), columns=cols)
    except (KeyError, ValueError, TypeError):
        at = at_fn(list(map(float, times)), columns=("at_risk", "retention", "ci_low", "ci_high"))
    if by is not None and by in at.columns:
        at = at[at[by] == level]
    return at.reset_index(drop=True)


def data_window(result: Any) -> float:
    """Length of the data window in weeks: the longest time any member was observed (NaN when unknown).

    ``result.window_weeks`` when the result records it, else the largest
    ``time_weeks - entry_weeks`` of ``result.members`` (members who enrolled
    before the data window enter late, so their time since enrolment can
    exceed the window; what was *observed* of anyone cannot).  Estimates at
    later times rest only on late entrants and are not reported.
    """
    for name in ("window_weeks", "data_window_weeks"):
        v: Any = getattr(result, name, None)
        if finite(v):
            return float(v)
    members = getattr(result, "members", None)
    if isinstance(members, pd.DataFrame) and {"time_weeks", "entry_weeks"} <= set(members.columns) and len(members):
        span = (members["time_weeks"].astype(float) - members["entry_weeks"].astype(float)).max()
        return float(span) if finite(span) else float("nan")
    return float("nan")


def _values_at(result: Any, table: pd.DataFrame, times: np.ndarray, by: str | None, level: Any) -> pd.DataFrame:
    """S(t), both CIs, at-risk and the statistics' reason at ``times`` for one level."""
    part = table if by is None else table[table[by] == level]
    part = part.sort_values("time", kind="stable")
    out = pd.DataFrame({"time": times, "retention": _step(part, times, "retention"),
                        "ci_low": _step(part, times, "ci_low"), "ci_high": _step(part, times, "ci_high"),
                        "ci_low_cluster": _step(part, times, "ci_low_cluster"),
                        "ci_high_cluster": _step(part, times, "ci_high_cluster"),
                        "at_risk": _at_risk(part, times), "stat_reason": ""})
    at = _from_at(result, times, by, level)
    if at is not None and len(at) == len(times):
        for c in ("retention", "ci_low", "ci_high", "ci_low_cluster", "ci_high_cluster", "at_risk"):
            if c in at.columns:
                out[c] = at[c].to_numpy(float)
        for c in _REASON_COLUMNS:
            if c in at.columns:
                out["stat_reason"] = at[c].fillna("").astype(str).to_numpy()
                break
    end = float(part["time"].max()) if len(part) else 0.0
    window = data_window(result) if not isinstance(result, pd.DataFrame) else float("nan")
    out["window"] = window
    out["last_follow_up"] = min(end, window) if finite(window) else end
    return out


def _decide(frame: pd.DataFrame, threshold: int, mc: int | None) -> pd.DataFrame:
    """Add ``estimated``, ``shown`` and ``reason`` by the documented rules (see :func:`retention_estimates`)."""
    t, last, ar = frame["time"].to_numpy(float), frame["last_follow_up"].to_numpy(float), frame["at_risk"]
    beyond = t > last
    stat_nan = ~np.isfinite(frame["retention"].to_numpy(float))
    few = ar.to_numpy(float) < threshold
    windowed = np.isfinite(frame["window"].to_numpy(float)) & (frame["window"].to_numpy(float) <= last)
    after = [f"beyond the data window ({weeks_text(x)})" if w else f"after the last follow-up ({weeks_text(x)})"
             for x, w in zip(last, windowed)]
    reason = np.where(beyond, after,
                      np.where(stat_nan, [r or "not estimable" for r in frame["stat_reason"]],
                               np.where(few, f"fewer members were still followed than the {threshold} needed", "")))
    hidden = np.asarray(is_suppressed(ar.to_numpy(float), mc), dtype=bool).reshape(len(frame))
    estimated = ~(beyond | stat_nan | few)
    frame = frame.drop(columns=["stat_reason", "window"])
    frame["estimated"] = estimated
    frame["shown"] = estimated & ~hidden
    frame["reason"] = np.where(estimated & hidden, "too few members were still followed to report", reason)
    cl = np.isfinite(frame["ci_low_cluster"].to_numpy(float)) & np.isfinite(frame["ci_high_cluster"].to_numpy(float))
    frame["ci_method"] = np.where(cl, "group-clustered", "Greenwood")
    return frame


def retention_estimates(result: Any, times: Sequence[float] = (12, 26), *, level: Any = None,
                        min_at_risk: int | None = None, audience: str | None = None,
                        min_cell: int | None = None) -> pd.DataFrame:
    """Retention at ``times`` with the decision whether each is reported (the sentence's and the table's rule).

    Parameters
    ----------
    result
        A :class:`groupeval.RetentionResult` (its ``at()`` gives exact numbers
        at risk with late entry) or a bare KM table (``time, at_risk, events,
        censored, retention, ci_low, ci_high`` [, ``ci_low_cluster``,
        ``ci_high_cluster``] [, by]).
    times
        Weeks since enrolment.
    level
        One level of a stratified result (default: every level).
    min_at_risk
        Smallest number at risk for an estimate (default: the statistics
        layer's documented constant, 10).
    audience, min_cell
        Funder/public: an estimate at a time with fewer than ``min_cell``
        members at risk is not shown (privacy; ``shown`` is False).

    Returns
    -------
    pandas.DataFrame
        One row per level and time: [by], ``time``, ``retention``,
        ``ci_low``, ``ci_high`` (Greenwood), ``ci_low_cluster``,
        ``ci_high_cluster`` (group-clustered, NaN when absent), ``ci_method``,
        ``at_risk``, ``last_follow_up``, ``estimated``, ``shown``,
        ``reason`` ("" when shown).  Unrounded.

    Notes
    -----
    The rules, in order: a time after the last follow-up of the curve is
    not estimated ("after the last follow-up (26 weeks)"); a time the
    statistics layer returned as NaN keeps its reason; a time with fewer
    than ``min_at_risk`` members at risk is not estimated.  S(t) is the
    right-continuous step function (1 before the first event); at risk at t
    is the ``at_risk`` of the first curve time >= t (R's
    ``summary(survfit, times = t)``).
    """
    table, by = _km_table(result)
    threshold = int(min_at_risk) if min_at_risk is not None else default_min_at_risk()
    mc = resolve_min_cell(audience, min_cell)
    t = np.asarray(list(times), dtype=float)
    frames = []
    for lv in _levels(result, table, by, level):  # a handful of levels
        f = _decide(_values_at(result, table, t, by, lv), threshold, mc)
        if by is not None:
            f.insert(0, by, lv)
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


def median_estimate(result: Any, *, level: Any = None, min_at_risk: int | None = None,
                    audience: str | None = None, min_cell: int | None = None) -> dict[str, Any]:
    """The median time to dropout with the decision whether it is reported.

    Returns
    -------
    dict
        ``median``, ``ci_low``, ``ci_high`` (weeks; NaN when not reached),
        ``at_risk`` (members at risk where the curve crosses one half),
        ``estimated``, ``shown``, ``reached``, ``reason``.  The median is
        the smallest time with S(t) <= .5 (R's ``print.survfit``); it is not
        estimated when fewer than ``min_at_risk`` members are at risk there
        or when the statistics layer returned NaN with a reason.
    """
    table, by = _km_table(result)
    if by is not None and level is None:
        raise ConfigError(f"median_estimate: the result is stratified by {by!r}; pass level=.")
    lv = _levels(result, table, by, level)[0]
    part = (table if by is None else table[table[by] == lv]).sort_values("time", kind="stable")
    threshold = int(min_at_risk) if min_at_risk is not None else default_min_at_risk()
    mc = resolve_min_cell(audience, min_cell)
    summ = None if isinstance(result, pd.DataFrame) else getattr(result, "summary", None)
    srow = None
    if isinstance(summ, pd.DataFrame) and "median_weeks" in summ.columns and len(summ):
        rows = summ if by is None or by not in summ.columns else summ[summ[by] == lv]
        srow = rows.iloc[0] if len(rows) else None
    hit = part.loc[part["retention"].to_numpy(float) <= 0.5, "time"]
    med = float(srow["median_weeks"]) if srow is not None else (float(hit.iloc[0]) if len(hit) else np.nan)
    out: dict[str, Any] = {"median": med, "ci_low": float(field(srow, "median_ci_low", np.nan)),
                           "ci_high": float(field(srow, "median_ci_high", np.nan)), "reached": bool(len(hit)),
                           "last_follow_up": float(part["time"].max()) if len(part) else 0.0}
    stat_reason = text_field(srow, ("median_reason", "median_note")) if srow is not None else ""
    t_half = med if finite(med) else (float(hit.iloc[0]) if len(hit) else np.nan)
    at = _values_at(result, table, np.array([t_half]), by, lv)["at_risk"].iloc[0] if finite(t_half) else np.nan
    out["at_risk"] = float(at)
    window = data_window(result) if not isinstance(result, pd.DataFrame) else float("nan")
    if finite(window):
        out["last_follow_up"] = min(out["last_follow_up"], window)
    if finite(t_half) and finite(window) and t_half > window:
        reason, out["reached"] = f"not reached within the data window ({weeks_text(window)})", False
    elif not finite(med):
        reason = stat_reason or (f"not reached within {weeks_text(out['last_follow_up'])} of follow-up"
                                 if not out["reached"] else "not estimable")
    elif finite(at) and at < threshold:
        reason = (f"fewer members were still followed when retention fell to half than the {threshold} "
                  "needed")
    else:
        reason = ""
    out["estimated"] = reason == "" and finite(med)
    hidden = bool(is_suppressed(at, mc)) if finite(at) else False
    out["shown"] = out["estimated"] and not hidden
    out["reason"] = "too few members were still followed then to report" if out["estimated"] and hidden else reason
    return out


# ---------------------------------------------------------------------------
# sentences
# ---------------------------------------------------------------------------
def _counts(result: Any, table: pd.DataFrame, by: str | None, level: Any) -> tuple[int, int]:
    """(members in the curve, dropouts) for one level: the result's summary, else events + censored."""
    summ = None if isinstance(result, pd.DataFrame) else getattr(result, "summary", None)
    if isinstance(summ, pd.DataFrame) and {"n", "events"} <= set(summ.columns) and len(summ):
        rows = summ if by is None or by not in summ.columns else summ[summ[by] == level]
        if len(rows):
            return int(rows["n"].iloc[0]), int(rows["events"].iloc[0])
    part = table if by is None else table[table[by] == level]
    return int(part["events"].sum() + part["censored"].sum()), int(part["events"].sum())


def _ci_text(row: pd.Series, digits: int) -> str:
    lo, hi = (row["ci_low_cluster"], row["ci_high_cluster"]) if row["ci_method"] == "group-clustered" else (
        row["ci_low"], row["ci_high"])
    if not (finite(lo) and finite(hi)):
        return ""
    return f" (95% CI [{fmt_share(lo, digits)}, {fmt_share(hi, digits)}])"


def _grouped_reasons(rows: pd.DataFrame) -> list[tuple[str, str, list[str]]]:
    """[(verb, reason, [times...])] in order of first appearance ("is not reported" = hidden for privacy)."""
    out: dict[tuple[str, str], list[str]] = {}
    for t, est, reason in zip(rows["time"], rows["estimated"], rows["reason"]):
        verb = "is not reported" if est else "is not estimated"
        out.setdefault((verb, str(reason)), []).append(fmt_weeks(t))
    return [(verb, reason, when) for (verb, reason), when in out.items()]


def _median_clause(med: Mapping[str, Any]) -> str:
    if med["shown"]:
        ci = ""
        if finite(med["ci_low"]):
            hi_txt = weeks_text(med["ci_high"]).split(" ")[0] if finite(med["ci_high"]) else "not reached"
            ci = f" (95% CI [{weeks_text(med['ci_low']).split(' ')[0]}, {hi_txt}])"
        return f"the median time to dropout was {weeks_text(med['median'])}{ci}"
    if not med["reached"] and str(med["reason"]).startswith("not reached"):
        return f"the median time to dropout was {med['reason']}"
    verb = "is not reported" if med["estimated"] else "is not estimated"
    return f"the median time to dropout {verb} ({med['reason']})"


def _apa_retention(est: pd.DataFrame, med: Mapping[str, Any], *, lead: str, n: int, events: int, who: str,
                   digits: int, mc: int | None) -> str:
    shown = est[est["shown"]]
    clauses = []
    if len(shown):
        clauses.append("was " + list_and([f"{fmt_share(r['retention'], digits)}{_ci_text(r, digits)} at "
                                          f"{fmt_weeks(r['time'])}" for _, r in shown.iterrows()]))
    for verb, reason, when in _grouped_reasons(est[~est["shown"]]):
        clauses.append(f"{verb} at {list_or(when)} ({reason})")
    first = f"{lead}Kaplan–Meier retention of the {fmt_count(n, mc)} {who} ({fmt_count(events, mc)} dropped out) "
    text = f"{first}{'; it '.join(clauses)}; {_median_clause(med)}"
    if len(shown) and (shown["ci_method"] == "group-clustered").all():
        text += "; the confidence intervals allow for members clustered in groups"
    return sentence(text)


def _plain_retention(est: pd.DataFrame, *, lead: str, who: str, digits: int) -> str:
    out = []
    first = True
    for _, r in est.iterrows():
        when = fmt_weeks(r["time"])
        if not r["shown"]:
            if str(r["reason"]).startswith(("after the last follow-up", "beyond the data window")):
                out.append(f"it is too early to say how many were still attending after {when}")
            else:
                out.append(f"too few members were still being followed at {when} to say")
            continue
        words = share_words(r["retention"])
        lo, hi = (r["ci_low_cluster"], r["ci_high_cluster"]) if r["ci_method"] == "group-clustered" else (
            r["ci_low"], r["ci_high"])
        ci = fmt_ci_words(lo, hi, percent=True, digits=digits)
        pct = fmt_share(r["retention"], digits)
        if first:
            whole = words in ("none", "all", "nearly all") or words.endswith("half")
            subject = f"{words} of the {who}" if whole else f"{words} {who}" if words else f"{pct} of the {who}"
            detail = ", ".join(x for x in (pct if words else "", f"likely {ci}" if ci else "") if x)
            out.append(f"{subject}" + (f" ({detail})" if detail else "") + f" were still attending {when} later")
            first = False
        else:
            detail = ", ".join(x for x in (pct if words else "", f"likely {ci}" if ci else "") if x)
            out.append(f"{words or pct}" + (f" ({detail})" if detail else "") + f" after {when}")
    text = lead + (", and ".join(out) if len(out) <= 2 else ", ".join(out[:-1]) + ", and " + out[-1])
    return sentence(text)


def retention_sentence(result: Any, *, times: Sequence[float] = (12, 26), level: Any = None,
                       style: str = "apa", audience: str | None = None, min_cell: int | None = None,
                       digits: int = 0, who: str = "members who came at least once",
                       min_at_risk: int | None = None) -> str:
    """Kaplan--Meier retention at ``times`` weeks, with CIs and the median.

    Parameters
    ----------
    result
        A :class:`groupeval.RetentionResult` (preferred: its ``summary`` gives
        n, events and the median with its CI, its ``at()`` the exact numbers
        at risk) or a bare KM table (``time, at_risk, events, censored,
        retention, ci_low, ci_high``).
    times
        Weeks since enrolment at which retention is reported.
    level
        For a stratified result, the ``by`` level to describe (required then).
    style
        ``"apa"`` (percentages with 95% CIs, median, n and events) or
        ``"plain"`` (fractions in words, percentages, the interval in words).
    audience, min_cell
        Funder/public: counts below ``min_cell`` become "fewer than 11", and
        an estimate at a time when fewer than ``min_cell`` members were still
        at risk is not reported.
    digits
        Decimals of the percentages.
    min_at_risk
        Smallest number at risk for an estimate (default: the documented
        constant of the statistics layer).

    Returns
    -------
    str
        E.g. "Kaplan–Meier retention of the 200 members who came at least
        once (106 dropped out) was 69% (95% CI [62%, 75%]) at 12 weeks and
        49% (95% CI [42%, 56%]) at 26 weeks; the median time to dropout was
        26 weeks (95% CI [22, 31])."

    Notes
    -----
    Which estimates are reported is decided by :func:`retention_estimates`
    and :func:`median_estimate` (the report tables use the same functions).
    When the curve carries group-clustered CIs (``ci_low_cluster``,
    ``ci_high_cluster``) they are the ones shown.
    """
    check_style(style)
    mc = resolve_min_cell(audience, min_cell)
    table, by = _km_table(result)
    if by is not None and level is None:
        raise ConfigError(f"retention_sentence: the result is stratified by {by!r}; pass level= (one of "
                          f"{', '.join(map(str, _levels(result, table, by, None)))}).")
    lead = group_phrase(by, level) + ", " if by is not None else ""
    n, events = _counts(result, table, by, level)
    if n == 0:
        return sentence(f"{lead}retention is not reported: no member has attended a session yet")
    if is_suppressed(n, mc):
        return sentence(f"{lead}retention is not reported: it would rest on {fmt_count(n, mc)} {who}")
    est = retention_estimates(result, times, level=level, min_at_risk=min_at_risk, min_cell=mc)
    if style == "plain":
        return _plain_retention(est, lead=lead, who=who, digits=digits)
    med = median_estimate(result, level=level, min_at_risk=min_at_risk, min_cell=mc)
    return _apa_retention(est, med, lead=lead, n=n, events=events, who=who, digits=digits, mc=mc)


# ---------------------------------------------------------------------------
# comparison between levels
# ---------------------------------------------------------------------------
def _stat_text(test: Any) -> str:
    stat, df, dfd = field(test, "statistic", np.nan), field(test, "df", np.nan), field(test, "df_denom", np.nan)
    if not finite(stat):
        return ""
    if finite(dfd):
        return f"F({fmt_df(df)}, {fmt_df(dfd)}) = {fmt_number(stat, 2)}"
    if finite(df):
        return f"χ²({fmt_df(df)}) = {fmt_number(stat, 2)}"
    return f"statistic = {fmt_number(stat, 2)}"


def _logrank_text(lr: Any) -> str:
    if not isinstance(lr, pd.DataFrame) or not len(lr):
        return ""
    row = lr.iloc[0]
    if not (finite(row.get("statistic")) and finite(row.get("p_value"))):
        return ""
    return f"log-rank χ²({fmt_df(row['df'])}) = {fmt_number(row['statistic'], 2)}, {fmt_p(row['p_value'])}"


def _test_row(test: Any) -> Any:
    if isinstance(test, pd.DataFrame):
        return test.iloc[0] if len(test) else None
    return test


def _clustered_comparison(test: Any, lr: Any, *, what: str, style: str, alpha: float) -> str:
    valid = field(test, "valid", True)
    p = field(test, "p_value", np.nan)
    reason = text_field(test, ("reason", "note"))
    if not bool(valid) or not finite(p):
        if style == "plain":
            why = " (there are too few groups to compare)" if any(w in reason for w in ("group", "cluster")) else ""
            return sentence(f"With these data we cannot test whether members stayed longer in some {what} than in "
                            f"others{why}")
        return sentence(f"Retention is not compared between {what}: {reason or 'no valid test could be computed'}")
    differ = float(p) < alpha
    if style == "plain":
        if differ:
            return f"Members stayed for different lengths of time in different {what}."
        return f"Members stayed about as long in all {what}: the differences we see could be due to chance."
    method = text_field(test, ("method",)) or "robust score test, clustered by group"
    g = field(test, "n_groups", np.nan)
    groups = f", {count_noun(g, 'group')}" if finite(g) else ""
    stat = _stat_text(test)
    verb = "differed between" if differ else "did not differ clearly between"
    text = f"Retention {verb} {what} ({method}, " + (f"{stat}, " if stat else "") + f"{fmt_p(p)}{groups})"
    member = _logrank_text(lr)
    if member:
        text += f"; the member-level {member} is secondary, as it ignores the grouping"
    return sentence(text)


def retention_comparison_sentence(result: Any, *, style: str = "apa", alpha: float = 0.05) -> str:
    """Whether retention differs between the levels of a stratified :class:`groupeval.RetentionResult`.

    Parameters
    ----------
    result
        A retention result fitted with ``by=``.  Its ``test`` (the clustered
        comparison: ``method``, ``statistic``, ``df``, ``df_denom``,
        ``p_value``, ``n_groups``, ``valid``, ``reason``) leads; the
        member-level ``logrank`` (``statistic``, ``df``, ``p_value``) follows
        as a secondary result.  Without ``test`` (older results) the log-rank
        test is reported and labelled as ignoring the grouping.
    style
        ``"apa"`` or ``"plain"``.
    alpha
        Level below which the wording says the levels differed.

    Returns
    -------
    str
        E.g. "Retention did not differ clearly between group types (robust
        score test, clustered by group, F(3, 8) = 1.20, p = .370, 12 groups);
        the member-level log-rank χ²(3) = 12.31, p = .006 is secondary, as it
        ignores the grouping."  When ``valid`` is False: why no test is
        reported, and no number.
    """
    check_style(style)
    by = getattr(result, "by", None)
    test = _test_row(getattr(result, "test", None))
    lr = getattr(result, "logrank", None)
    if by is None or (test is None and (not isinstance(lr, pd.DataFrame) or not len(lr))):
        raise ConfigError("retention_comparison_sentence needs a retention result fitted with by= (it has the "
                          "comparison test).")
    what = levels_word(by)
    if test is not None or not isinstance(lr, pd.DataFrame):
        return _clustered_comparison(test, lr, what=what, style=style, alpha=alpha)
    need(lr, ("statistic", "df", "p_value"), "retention_comparison_sentence")
    row = lr.iloc[0]
    if not (finite(row["statistic"]) and finite(row["p_value"])):
        return sentence(f"Retention is not compared between {what}: the log-rank test could not be computed")
    differ = float(row["p_value"]) < alpha
    if style == "apa":
        verb = "differed between" if differ else "did not differ clearly between"
        return sentence(f"Retention {verb} {what}, {_logrank_text(lr)} (member-level test: it does not allow for "
                        "members clustered in groups)")
    if differ:
        return (f"Members seemed to stay for different lengths of time in different {what}, but this check does "
                "not allow for members being in groups, so the difference may be due to chance.")
    return f"Members stayed about as long in all {what}: the differences we see could be due to chance."


def logrank_sentence(result: Any, *, style: str = "apa", alpha: float = 0.05) -> str:
    """Alias of :func:`retention_comparison_sentence` (the clustered test first, log-rank secondary)."""
    return retention_comparison_sentence(result, style=style, alpha=alpha)
