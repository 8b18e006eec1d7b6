"""Words for people: timepoint labels, intervals in words, plain category names, method names.

The report uses these for its tables too, so a label or a percentage reads
the same in a table and in the sentence beside it (shares are always
formatted by :func:`groupeval.formatting.fmt_percent`).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..formatting import fmt_count, fmt_number, fmt_percent, plain_fraction, plain_label
from ._common import finite

__all__ = ["share_words", "timepoint_label", "timepoint_text", "fmt_ci_words", "fmt_share", "category_label",
           "category_phrase", "CATEGORY_LABELS", "method_phrase"]

_UNITS = {"week": "week", "weeks": "week", "wk": "week", "w": "week", "month": "month", "months": "month",
          "mo": "month", "m": "month", "day": "day", "days": "day", "d": "day", "year": "year", "years": "year",
          "yr": "year", "y": "year"}
_NAMED = {"baseline": "baseline", "pre": "baseline", "intake": "intake", "post": "the end of the programme",
          "end": "the end of the programme", "exit": "exit", "followup": "follow-up", "follow_up": "follow-up",
          "follow-up": "follow-up", "screening": "screening"}
_PATTERN = re.compile(r"^\s*([a-z]+)[\s_\-]*(\d+(?:\.\d+)?)\s*$", re.IGNORECASE)


def timepoint_label(timepoint: Any, labels: Mapping[Any, str] | None = None) -> str:
    """A timepoint as people write it: ``"week_26"`` -> ``"26 weeks"``.

    Parameters
    ----------
    timepoint
        The timepoint code of the data (``baseline``, ``week_12``, ``month_6``, ...).
    labels
        A mapping ``{timepoint: label}`` (e.g. from the programme's config:
        ``{"week_26": "6 months"}``); used first.

    Returns
    -------
    str
        ``labels[timepoint]`` when given, else derived: ``week_N`` / ``wN`` ->
        "N weeks" ("1 week"), ``month_N`` / ``mN`` -> "N months", ``day_N``,
        ``year_N`` likewise, ``week_0`` -> "the start", ``baseline`` /
        ``pre`` -> "baseline", ``post`` -> "the end of the programme",
        anything else with underscores as spaces.
    """
    if labels is not None and timepoint in labels and str(labels[timepoint]).strip():
        return str(labels[timepoint]).strip()
    text = str(timepoint)
    if text.strip().lower() in _NAMED:
        return _NAMED[text.strip().lower()]
    m = _PATTERN.match(text)
    if m and m.group(1).lower() in _UNITS:
        unit = _UNITS[m.group(1).lower()]
        value = float(m.group(2))
        if value == 0:
            return "the start"
        shown = fmt_number(value, 0 if value.is_integer() else 1)
        return f"{shown} {unit}" + ("" if shown == "1" else "s")
    return plain_label(timepoint)


def timepoint_text(timepoint: Any, style: str, labels: Mapping[Any, str] | None = None) -> str:
    """The APA style keeps the data's name ("week 26") unless ``labels`` names it; plain derives one."""
    if style == "plain" or (labels is not None and timepoint in labels):
        return timepoint_label(timepoint, labels)
    return plain_label(timepoint)


def fmt_share(share: Any, digits: int = 0) -> str:
    """A share as a percentage -- the one function the sentences and the report tables use."""
    return fmt_percent(share, digits)


_NUMBER_WORDS = {w: i for i, w in enumerate(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                                             "nine", "ten"])}
_NUMBER_WORDS.update({"twenty": 20})


def share_words(share: Any, *, tolerance: float = 0.025) -> str:
    """A share in words when the words are close to it ("two in three"), else "" (use the percentage).

    :func:`groupeval.formatting.plain_fraction` rounds to simple fractions
    ("about one in ten" for 14%); beside a percentage such a phrase reads as
    a contradiction, so a fraction further than ``tolerance`` from the share
    is not used.
    """
    if not finite(share):
        return ""
    words = plain_fraction(float(share))
    m = re.fullmatch(r"(?:about )?(\w+) in (\w+)", words)
    if m and m.group(1) in _NUMBER_WORDS and m.group(2) in _NUMBER_WORDS:
        value = _NUMBER_WORDS[m.group(1)] / _NUMBER_WORDS[m.group(2)]
    elif words.endswith("half"):
        value = 0.5
    else:  # none, all, nearly all, fewer than one in twenty: bounds, always true
        return words
    return words if abs(float(share) - value) <= tolerance else ""


def fmt_ci_words(low: Any, high: Any, *, percent: bool = False, digits: int = 0, unit: str = "") -> str:
    """An interval in words: ``"between 41% and 58%"`` ("" when a limit is missing).

    Parameters
    ----------
    low, high
        The limits (shares when ``percent``).
    percent
        Format as percentages with :func:`fmt_share`.
    digits
        Decimals.
    unit
        Appended after the upper limit (``"points"``).
    """
    if not (finite(low) and finite(high)):
        return ""
    fmt = (lambda v: fmt_share(v, digits)) if percent else (lambda v: fmt_number(v, digits))
    return f"between {fmt(low)} and {fmt(high)}" + (f" {unit}" if unit else "")


#: Plain names of the reliable-change categories (table labels for a board).
CATEGORY_LABELS: dict[str, str] = {
    "recovered": "Recovered",
    "improved": "Improved reliably",
    "unchanged": "No reliable change",
    "deteriorated": "Got worse",
    "harmed": "Got worse, into the clinical range",
}

_CATEGORY_PHRASES = {  # (apa, plain)
    "recovered": ("recovered", "improved reliably and moved out of the clinical range"),
    "improved": ("improved reliably without crossing the cut-off", "improved reliably"),
    "unchanged": ("showed no reliable change", "showed no reliable change"),
    "deteriorated": ("deteriorated reliably", "got worse"),
    "harmed": ("deteriorated reliably into the clinical range", "got worse and moved into the clinical range"),
}


def category_label(category: Any, style: str = "plain") -> str:
    """A category name for a table: plain ("Got worse") or the technical term ("Deteriorated")."""
    cat = str(category)
    if style == "plain":
        return CATEGORY_LABELS.get(cat, plain_label(cat).capitalize())
    return plain_label(cat).capitalize()


def category_phrase(category: Any, style: str) -> str:
    """The verb phrase of a category in a sentence ("got worse" in the plain style)."""
    apa, plain = _CATEGORY_PHRASES.get(str(category), (plain_label(category), plain_label(category)))
    return plain if style == "plain" else apa


def method_phrase(*, cluster_method: Any = None, df_method: Any = None, n_groups: Any = None,
                  test: Any = None) -> str:
    """The inference named for researchers: ``"CR2 cluster-robust, Satterthwaite df, 9 groups"``.

    Parameters
    ----------
    cluster_method
        ``"CR2"``, ``"CR1"``, ... (None: no cluster-robust variance named).
    df_method
        ``"Satterthwaite"``, ``"Kenward-Roger"``, ``"G - 1"`` ...
    n_groups
        Number of groups (clusters).
    test
        A test name to lead with (``"HTZ Wald test"``).
    """
    parts = []
    if isinstance(test, str) and test:
        parts.append(test)
    if isinstance(cluster_method, str) and cluster_method:
        parts.append(f"{cluster_method} cluster-robust")
    if isinstance(df_method, str) and df_method:
        parts.append(f"{df_method} df")
    if finite(n_groups):
        g = int(float(n_groups))
        parts.append(f"{fmt_count(g)} group" + ("" if g == 1 else "s"))
    return ", ".join(parts)
