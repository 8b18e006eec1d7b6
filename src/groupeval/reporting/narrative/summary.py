"""The board summary: plain-language paragraphs for a board or a funder.

:func:`board_summary` writes the first part of a report from the same
results as its tables, through the plain style of the sentence functions:
full instrument names, timepoints as people write them ("6 months"),
percentages with the interval in words, plain category names, no test
statistics and no method jargon -- and a closing paragraph on what the
programme can and cannot conclude.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ...base.exceptions import ConfigError
from ..formatting import fmt_weeks, number_word, resolve_min_cell
from ._common import as_row, finite, sentence
from .categories import attendance_sentence, reliable_change_sentence
from .change import change_caveat, change_sentence
from .models import compare_groups_sentence
from .retention import retention_comparison_sentence, retention_estimates, retention_sentence

__all__ = ["board_summary", "limits_paragraph"]


def _overall_row(change: Any, name: str) -> pd.Series:
    if isinstance(change, pd.DataFrame) and len(change) > 1:
        raise ConfigError(f"board_summary: change[{name!r}] has {len(change)} rows; pass the programme-wide row "
                          "(e.g. groupeval.change(...) without by=, or table.iloc[[i]]).")
    return as_row(change, "board_summary")


def _n_groups(changes: Mapping[str, pd.Series], retention: Any, n_groups: int | None) -> int | None:
    if n_groups is not None:
        return int(n_groups)
    for row in changes.values():
        g = row.get("n_groups")
        if finite(g):
            return int(g)
    members = getattr(retention, "members", None)
    if isinstance(members, pd.DataFrame) and "group_id" in members.columns:
        return int(members["group_id"].nunique())
    return None


def limits_paragraph(*, n_groups: int | None = None, change: Any = None, retention: Any = None,
                     times: Sequence[float] = (12, 26), audience: str | None = None,
                     min_cell: int | None = None) -> str:
    """What the programme's numbers can and cannot show, in plain words.

    No comparison group (change, not an effect of the groups); the number of
    groups (few groups make every estimate uncertain); completers only and
    regression to the mean (from :func:`change_caveat`); retention known only
    up to the last follow-up (:func:`retention_estimates`).
    """
    parts = []
    if change is not None:
        parts.append(change_caveat(change, style="plain", audience=audience, min_cell=min_cell))
    else:
        parts.append("There was no comparison group, so these figures describe the programme's members, not what "
                     "the groups caused.")
    if n_groups is not None:
        few = " With this few groups, every figure here is uncertain." if n_groups < 10 else ""
        parts.append(sentence(f"The figures come from {number_word(n_groups)} group"
                              + ("" if n_groups == 1 else "s")) + few)
    if retention is not None:
        try:
            est = retention_estimates(retention, times, min_cell=resolve_min_cell(audience, min_cell))
        except ConfigError:
            est = None
        if est is not None and len(est):
            last = float(np.nanmax(est["last_follow_up"].to_numpy(float)))
            if np.isfinite(last) and last > 0:
                parts.append(f"Members were followed for at most {fmt_weeks(last, 0)} after joining, so nothing is "
                             "said about later.")
    return " ".join(parts)


def board_summary(*, engagement: pd.DataFrame | None = None, retention: Any = None, retention_by: Any = None,
                  change: Mapping[str, Any] | None = None, reliable_change: Mapping[str, Any] | None = None,
                  compare_groups: Mapping[str, Any] | None = None, timepoints: Mapping[Any, str] | None = None,
                  times: Sequence[float] = (12, 26), n_groups: int | None = None, audience: str | None = None,
                  min_cell: int | None = None) -> list[str]:
    """Plain-language paragraphs summarising a programme for a board or funder.

    Parameters
    ----------
    engagement
        :func:`groupeval.attendance_summary` output.
    retention
        The overall :class:`groupeval.RetentionResult`.
    retention_by
        A stratified retention result (its comparison, in plain words).
    change
        ``{instrument: change row}``: the programme-wide row of
        :func:`groupeval.change` per instrument (registry names as keys); a
        label column such as ``group_type = "All members"`` is ignored.
    reliable_change
        ``{instrument: reliable_change result}``.
    compare_groups
        ``{instrument: compare_groups result}``.
    timepoints
        ``{timepoint: label}`` ("week_26" -> "6 months"); default derived
        ("26 weeks").
    times
        Weeks at which retention is given.
    n_groups
        Number of groups (default: from the change rows or the retention result).
    audience, min_cell
        Small-cell suppression as in the sentences.

    Returns
    -------
    list of str
        Paragraphs: taking part (attendance, retention), one per outcome
        (change, reliable change, group comparison) and what the numbers
        can and cannot show.  Every number is written by the sentence
        functions, so it agrees with the APA sentences and with tables that
        format shares with :func:`~groupeval.reporting.narrative.fmt_share`.
    """
    kw: dict[str, Any] = {"audience": audience, "min_cell": min_cell}
    rows = {name: _overall_row(ch, name) for name, ch in (change or {}).items()}
    out = []
    part = []
    if engagement is not None:
        part.append(attendance_sentence(engagement, style="plain", **kw))
    if retention is not None:
        part.append(retention_sentence(retention, times=times, style="plain", **kw))
    if retention_by is not None and getattr(retention_by, "by", None) is not None:
        part.append(retention_comparison_sentence(retention_by, style="plain"))
    if part:
        out.append(" ".join(part))
    for name in dict.fromkeys([*rows, *(reliable_change or {}), *(compare_groups or {})]):
        part = []
        if name in rows:
            part.append(change_sentence(rows[name], instrument=name, style="plain", timepoints=timepoints, group="",
                                        **kw))
        rc = (reliable_change or {}).get(name)
        if rc is not None:
            part.append(reliable_change_sentence(rc, style="plain", timepoints=timepoints, **kw))
        cg = (compare_groups or {}).get(name)
        if cg is not None:
            part.append(compare_groups_sentence(cg, instrument=name, style="plain", timepoints=timepoints, **kw))
        if part:
            out.append(" ".join(part))
    first_change = next(iter(rows.values()), None)
    out.append(limits_paragraph(n_groups=_n_groups(rows, retention, n_groups), change=first_change,
                                retention=retention, times=times, **kw))
    if not any(p.strip() for p in out[:-1]):
        out.insert(0, "There are no results to summarise yet: no attendance, retention or outcome data.")
    return [p for p in out if p.strip()]
