"""Sentences about counts in categories: reliable change and attendance status.

Category counts that add up to a shown total get complementary suppression
in funder/public output (:func:`groupeval.privacy.suppression_mask`), so a
hidden count cannot be recovered by subtraction.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ...base.exceptions import ConfigError
from ..formatting import fmt_count, fmt_number, fmt_percent, fmt_unit, is_suppressed, resolve_min_cell
from ._common import check_style, instrument_name, instrument_of, list_and, need, sentence
from .wording import category_phrase, fmt_share, share_words, timepoint_text

__all__ = ["reliable_change_sentence", "attendance_sentence", "outside_range_note"]

_METHOD_NAMES = {"jt": "Jacobson–Truax", "gln": "Gulliksen–Lord–Novick", "ha": "Hageman–Arrindell"}


def _hidden_categories(counts: np.ndarray, mc: int | None) -> np.ndarray:
    """Which category counts to hide: primary + complementary given the shown total."""
    if mc is None:
        return np.zeros(len(counts), dtype=bool)
    from ..privacy import suppression_mask

    tab = pd.DataFrame({"n": [*map(int, counts), int(np.sum(counts))]},
                       index=[*map(str, range(len(counts))), "__total__"])
    mask = suppression_mask(tab, count_columns=["n"], min_cell=mc, totals={"row": "__total__"})
    return mask["n"].to_numpy()[:-1]


def outside_range_note(result: Any, cut: float) -> str:
    """A note when the cut-off lies outside the instrument's score range (nobody can cross it)."""
    inst = instrument_of(getattr(result, "instrument", None))
    lo, hi = getattr(inst, "score_min", None), getattr(inst, "score_max", None)
    if lo is not None and hi is not None and not (float(lo) <= cut <= float(hi)):
        return (f", outside the score range {fmt_number(lo, 0)}–{fmt_number(hi, 0)}, so no member can cross it; "
                "give clinical and functional norms for a meaningful cut-off")
    return ""


def _criteria(result: Any) -> str:
    crit = []
    mrc = getattr(result, "min_reliable_change", None)
    if mrc is not None:
        crit.append(f"reliable change at least {fmt_number(mrc, 2)} points")
    rel = getattr(result, "reliability", None)
    if rel is not None:
        crit.append(f"reliability = {fmt_unit(rel, 2)}")
    cut = getattr(result, "cutoff_value", None)
    if cut is not None and np.isfinite(cut):
        crit.append(f"clinical cut-off {fmt_number(cut, 2)}{outside_range_note(result, cut)}")
    method = _METHOD_NAMES.get(getattr(result, "method", "jt"), "Jacobson–Truax")
    return f"{method} criteria: {'; '.join(crit)}" if crit else f"{method} criteria"


def reliable_change_sentence(result: Any, *, style: str = "apa", audience: str | None = None,
                             min_cell: int | None = None, digits: int = 1,
                             timepoints: Mapping[Any, str] | None = None) -> str:
    """Jacobson--Truax categories of a :func:`groupeval.reliable_change` result.

    Parameters
    ----------
    result
        The reliable-change result (``.summary``: ``category, n, share,
        share_ci_low, share_ci_high``; attributes ``instrument``, ``pre``,
        ``post``, ``min_reliable_change``, ``reliability``, ``cutoff_value``,
        ``method``).
    style
        ``"apa"``: counts, percentages with Wilson 95% CIs and the criteria;
        ``"plain"``: shares in words and percentages, with plain category
        names ("got worse", never "harmed"/"deteriorated") and the
        instrument's full name.
    audience, min_cell
        Funder/public: category counts below ``min_cell`` -- and the next
        smallest category, so the hidden one cannot be recovered from the
        total -- are written "fewer than 11" without a percentage.
    digits
        Decimals of percentages (APA; the plain style uses whole percentages).
    timepoints
        ``{timepoint: label}`` for the timepoint names.

    Returns
    -------
    str
    """
    check_style(style)
    mc = resolve_min_cell(audience, min_cell)
    summary = getattr(result, "summary", None)
    if not isinstance(summary, pd.DataFrame):
        raise ConfigError(f"reliable_change_sentence needs a reliable_change result; got {type(result).__name__}.")
    need(summary, ("category", "n", "share", "share_ci_low", "share_ci_high"), "reliable_change_sentence")
    summary = summary.reset_index(drop=True)
    label = instrument_name(getattr(result, "instrument", None), style)
    pre = timepoint_text(getattr(result, "pre", "before"), style, timepoints)
    post = timepoint_text(getattr(result, "post", "after"), style, timepoints)
    counts = summary["n"].to_numpy(float)
    total = int(counts.sum())
    if total == 0 or is_suppressed(total, mc):
        return sentence(f"Reliable change on the {label} is not reported: {fmt_count(total, mc)} members answered "
                        f"at {pre} and {post}")
    hidden = _hidden_categories(counts, mc)
    primary = np.asarray(is_suppressed(counts, mc), dtype=bool)
    parts = []
    for i, row in summary.iterrows():  # five categories
        phrase = category_phrase(row["category"], style)
        n = int(row["n"])
        if hidden[i]:
            parts.append(f"{f'fewer than {mc}' if primary[i] else 'a withheld number'} {phrase}")
        elif n == 0:
            parts.append(f"none {phrase}")
        elif style == "apa":
            parts.append(f"{fmt_count(n)} ({fmt_percent(row['share'], digits)}, 95% CI "
                         f"[{fmt_percent(row['share_ci_low'], digits)}, {fmt_percent(row['share_ci_high'], digits)}]) "
                         f"{phrase}")
        else:
            words = share_words(row["share"])
            pct = fmt_share(row["share"], 0)
            parts.append(f"{words} ({pct}) {phrase}" if words else f"{pct} {phrase}")
    if style == "apa":
        return (f"Of the {fmt_count(total)} members with {label} scores at {pre} and {post}, "
                f"{list_and(parts)} ({_criteria(result)}).")
    return sentence(f"Of the {fmt_count(total)} members who filled in the {label} at {pre} and {post}, "
                    f"{list_and(parts)}")


def attendance_sentence(summary: pd.DataFrame, *, style: str = "apa", audience: str | None = None,
                        min_cell: int | None = None) -> str:
    """Attendance and status from :func:`groupeval.attendance_summary`.

    The mean attendance rate is the mean over members of
    ``sessions_attended / sessions_offered``; the pooled rate is total
    attended / total offered.  Status counts: active, completed, dropped.
    """
    check_style(style)
    if not isinstance(summary, pd.DataFrame):
        raise ConfigError(f"attendance_sentence needs the DataFrame of attendance_summary; got "
                          f"{type(summary).__name__}.")
    need(summary, ("sessions_offered", "sessions_attended", "attendance_rate", "status"), "attendance_sentence")
    mc = resolve_min_cell(audience, min_cell)
    n = len(summary)
    offered = float(summary["sessions_offered"].sum())
    if n == 0 or offered == 0:
        return "Attendance is not reported: no sessions have been offered to members yet."
    if is_suppressed(n, mc):
        return f"Attendance is not reported: {fmt_count(n, mc)} members."
    mean_rate = float(summary["attendance_rate"].mean())
    pooled = float(summary["sessions_attended"].sum()) / offered
    status = summary["status"].astype("string").value_counts()
    st = np.array([int(status.get(k, 0)) for k in ("active", "completed", "dropped")])
    hide = _hidden_categories(st, mc) if mc is not None else np.zeros(3, dtype=bool)
    shown = {k: ((f"fewer than {mc}" if is_suppressed(v, mc) else "a withheld number") if h else fmt_count(v))
             for k, v, h in zip(("active", "completed", "dropped"), st, hide)}
    if style == "apa":
        return (f"The {fmt_count(n)} members attended on average {fmt_percent(mean_rate, 1)} of the sessions "
                f"offered to them (pooled rate {fmt_percent(pooled, 1)}); {shown['completed']} completed, "
                f"{shown['dropped']} dropped out and {shown['active']} were still attending at the data cut-off.")
    words = share_words(mean_rate)
    rate = f"{words} of the sessions offered to them ({fmt_share(mean_rate)})" if words else \
        f"{fmt_share(mean_rate)} of the sessions offered to them"
    return (f"On average, members came to {rate}. Of {fmt_count(n)} members, {shown['completed']} completed the "
            f"programme, {shown['dropped']} stopped coming and {shown['active']} were still attending.")
