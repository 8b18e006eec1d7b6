"""Plain-language sentences of the board summary, written only from what the plan lets the report show.

Each function returns a sentence (or ``""`` when there is nothing it may
say): a count of people appears only when the suppression plan shows it, an
estimate only when the plan lets it be shown.  The APA sentences of the
appendix come from :mod:`groupeval.reporting.narrative`.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .. import formatting as F
from .content import RC_LABELS, survey_phrase
from .document import Table
from .evaluation import ALL_LABEL, Evaluation
from .plan import SuppressionPlan

__all__ = ["people_sentence", "attendance_sentence", "retention_sentence", "change_sentence",
           "reliable_sentence", "limits", "count_words"]


def count_words(plan: SuppressionPlan, key: Any, noun: str = "people") -> str:
    """``"234 people"``, or ``"fewer than 11 people"`` / ``"some people"`` when hidden; ``""`` when unknown."""
    if key not in plan:
        return ""
    v = plan.value(key)
    if not np.isfinite(v):
        return ""
    h = plan.hidden(key)
    if h is None:
        return f"{F.number_word(int(v)) if v < 10 else f'{int(v):,}'} {noun if v != 1 else noun.rstrip('s')}"
    return f"fewer than {plan.min_cell} {noun}" if h.kind == "small" else ""


def _row(table: Table | None, label: str = ALL_LABEL, col: str = "group_type") -> pd.Series | None:
    if table is None or col not in table.frame:
        return None
    rows = table.frame[table.frame[col].astype(str) == label]
    return rows.iloc[0] if len(rows) else None


def _ok(x: Any) -> bool:
    try:
        return bool(np.isfinite(float(x)))
    except (TypeError, ValueError):
        return False


def people_sentence(ev: Evaluation, plan: SuppressionPlan) -> str:
    enrolled = count_words(plan, ("people", "enrolled"))
    came = count_words(plan, ("people", "attended"))
    groups = f"{F.number_word(ev.n_groups)} group" + ("s" if ev.n_groups != 1 else "")
    types = (f" of {F.number_word(len(ev.types))} types" if ev.by_type else "")
    first = f"{F.capitalize_first(enrolled)} enrolled in {groups}{types}" if enrolled else \
        f"The programme ran {groups}{types}"
    if came and came != enrolled:
        return f"{first}; {came} came to at least one session."
    if came:
        return f"{first}, and all of them came to at least one session."
    return first + "."


def attendance_sentence(tables: dict[str, Table]) -> str:
    row = _row(tables.get("attendance_by_group_type"))
    if row is None or not _ok(row.get("mean_attendance_rate")):
        return ""
    rate = float(row["mean_attendance_rate"])
    return (f"Members who came attended {F.plain_fraction(rate)} of the sessions offered to them "
            f"({F.fmt_percent(rate)} on average).")


def retention_sentence(ev: Evaluation, tables: dict[str, Table]) -> str:
    from ..narrative import share_words

    row = _row(tables.get("retention_by_group_type"))
    if row is None:
        return ""
    for t in sorted(ev.retention_times, reverse=True):
        est = f"retention_{t:g}w"
        if est in row and _ok(row[est]):
            lo, hi = row.get(est + "_ci_low"), row.get(est + "_ci_high")
            ci = (f" (95% confidence interval: between {F.fmt_percent(lo)} and {F.fmt_percent(hi)})"
                  if _ok(lo) and _ok(hi) else "")
            words = share_words(float(row[est]))
            words = f", about {words}," if words else ""
            return (f"After {t:g} weeks, an estimated {F.fmt_percent(row[est])}{words} of the members who came were "
                    f"still attending{ci}.")
    return ("Retention over time is not shown: too few members were followed long enough"
            + (" or the numbers are too small to show" if plan_active(tables) else "") + ".")


def plan_active(tables: dict[str, Table]) -> bool:
    return any(t.has_hidden for t in tables.values())


def change_sentence(ev: Evaluation, plan: SuppressionPlan, key: str, tables: dict[str, Table]) -> str:
    name = ev.label(key)
    row = _row(tables.get(f"change_{key}"))
    if row is None:
        return f"{name}: {ev.why_not(f'change:{key}') or 'change is not shown.'}"
    if not _ok(row.get("mean_change")):
        return f"{name}: change is not shown, because fewer than {plan.min_cell} members answered both surveys."
    inst = ev.instrument(ev.outcomes[key][0])
    d = float(row["mean_change"])
    lo_col = "ci_low_cluster" if _ok(row.get("ci_low_cluster")) else "ci_low"
    lo, hi = row.get(lo_col), row.get(lo_col.replace("low", "high"))
    better = getattr(inst, "higher_is_better", None)
    who = count_words(plan, ("paired", key, ALL_LABEL), "members")
    who = f"among {who} who answered both surveys" if who else "among the members who answered both surveys"
    when = f"between {ev.tp_label(ev.pre)} and {ev.tp_label(ev.post)}"
    sense = "" if better is None else (" Higher scores are better." if better else " Lower scores are better.")
    if not (_ok(lo) and _ok(hi)):
        direction = "rose" if d > 0 else "fell" if d < 0 else "did not change"
        return f"{name}: scores {direction} by {F.fmt_number(abs(d), 1)} points on average {when}, {who}.{sense}"
    ci = f"{F.fmt_number(lo, 1)} to {F.fmt_number(hi, 1)} points"
    if float(lo) <= 0 <= float(hi):
        return (f"{name}: no clear change {when}, {who}: the average change was {F.fmt_number(d, 1)} points, and the "
                f"95% confidence interval ({ci}) includes no change, so it may be chance.{sense}")
    direction = "rose" if d > 0 else "fell"
    verdict = "" if better is None else (
        f" {'Higher' if better else 'Lower'} scores are better, so this is "
        + ("an improvement." if (d > 0) == bool(better) else "a worsening."))
    return (f"{name}: scores {direction} by {F.fmt_number(abs(d), 1)} points on average {when}, {who} "
            f"(95% confidence interval for the change: {ci}).{verdict}")


def reliable_sentence(ev: Evaluation, key: str, tables: dict[str, Table]) -> str:
    t = tables.get(f"reliable_change_{key}")
    if t is None:
        return ""
    f = t.frame.set_index("category")

    def share(cat: str) -> float | None:
        return float(f.loc[cat, "share"]) if cat in f.index and _ok(f.loc[cat, "share"]) else None

    parts = [f"{F.fmt_percent(v)} {RC_LABELS[c]}" for c in ("recovered", "improved", "unchanged")
             if (v := share(c)) is not None]
    worse, harmed = share("deteriorated"), share("harmed")
    hidden = [c for c in ("recovered", "improved", "unchanged", "deteriorated", "harmed")
              if c in f.index and share(c) is None]
    if worse is not None and harmed is not None:
        extra = f" ({F.fmt_percent(harmed)} into the clinical range)" if harmed > 0 else ""
        parts.append(f"{F.fmt_percent(worse + harmed)} got worse{extra}")
    if not parts:
        return ""
    listed = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
    tail = " The other groups are too small to show." if hidden else ""
    return (f"Of the members whose {ev.short_label(key)} change could be judged against measurement error, "
            f"{listed}.{tail}")


def limits(ev: Evaluation) -> list[str]:
    """What the programme can and cannot conclude from these data."""
    out = ["There is no comparison group of people who did not take part, so these results show what changed for "
           "members, not how much of that change the programme caused: people often feel better with time anyway."]
    n = ev.n_groups
    if n < 10:
        out.append(f"The results come from {F.number_word(n)} group{'s' if n != 1 else ''}; with so few groups a "
                   "result can depend on what happened in one or two of them.")
    else:
        out.append(f"The results come from {n:,} groups; members of one group influence each other, so the "
                   "confidence intervals allow for groups rather than treating every member as independent.")
    if ev.has_follow_up:
        out.append(f"Change is measured only among members who answered both {survey_phrase(ev.tp_label(ev.pre))} "
                   f"and {survey_phrase(ev.tp_label(ev.post))}; members who stopped coming often did not answer "
                   "later surveys, and they may have fared differently.")
    if ev.by_type:
        out.append("Differences between group types may reflect who joins each type of group, not the type of group.")
    return out
