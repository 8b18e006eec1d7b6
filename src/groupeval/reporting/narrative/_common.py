"""Helpers shared by the sentence modules: argument checks, instruments, small text pieces.

Nothing here rounds for display except through :mod:`groupeval.formatting`.
"""
from __future__ import annotations

import importlib
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from ...base.exceptions import ConfigError, GroupevalError, SchemaError
from ..formatting import fmt_number, fmt_weeks, plain_label

STYLES = ("apa", "plain")

#: Fallback of the statistics layer's documented threshold: a retention
#: estimate (S(t) or the median) is reported only when at least this many
#: members are at risk there (``statistics`` constant ``MIN_AT_RISK_MEDIAN``).
DEFAULT_MIN_AT_RISK = 10
#: Fallback of ``statistics._common.MIN_GROUPS_PER_LEVEL``: fewer groups than
#: this in a compared level gives a caveat in the sentence.
DEFAULT_MIN_GROUPS_PER_LEVEL = 3


def check_style(style: str) -> str:
    if style not in STYLES:
        raise ConfigError(f"`style` must be one of {', '.join(map(repr, STYLES))}, got {style!r}.")
    return style


def _stats_constant(candidates: Sequence[tuple[str, str]], default: int) -> int:
    """A documented constant of the statistics layer (wherever it lives), else ``default``."""
    for module, name in candidates:
        try:
            mod = importlib.import_module(f"groupeval.statistics.{module}")
        except ImportError:
            continue
        value = getattr(mod, name, None)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return default


def min_at_risk() -> int:
    """The documented smallest number at risk for a retention estimate (statistics layer, else 10)."""
    return _stats_constant((("retention", "MIN_AT_RISK"), ("retention", "MIN_AT_RISK_MEDIAN"),
                            ("survival_cluster", "MIN_AT_RISK_MEDIAN")), DEFAULT_MIN_AT_RISK)


def min_groups_per_level() -> int:
    """The documented smallest number of groups per compared level (statistics layer, else 3)."""
    return _stats_constant((("_common", "MIN_GROUPS_PER_LEVEL"),), DEFAULT_MIN_GROUPS_PER_LEVEL)


# ---------------------------------------------------------------------------
# values
# ---------------------------------------------------------------------------
def finite(x: Any) -> bool:
    """True for a finite real number (False for None, NaN, ±inf, text)."""
    if x is None or isinstance(x, bool):
        return False
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def rounded(x: Any, digits: int) -> float:
    """The value a reader sees, as a float (for choosing words such as "fell"/"rose")."""
    return float(fmt_number(float(x), digits).replace("\u2212", "-").replace(",", ""))


def field(obj: Any, name: str, default: Any = None) -> Any:
    """``obj[name]`` for mappings, Series and one-row frames; ``obj.name`` otherwise."""
    if obj is None:
        return default
    if isinstance(obj, pd.DataFrame):
        return obj[name].iloc[0] if name in obj.columns and len(obj) else default
    if isinstance(obj, (Mapping, pd.Series)):
        value = obj.get(name, default)
        return default if value is None else value
    return getattr(obj, name, default)


def text_field(obj: Any, names: Sequence[str]) -> str:
    """The first non-empty text among ``names`` of ``obj`` ("" when none)."""
    for n in names:
        v = field(obj, n)
        if isinstance(v, str) and v.strip():
            return v.strip()
    return ""


def as_row(obj: Any, what: str) -> pd.Series:
    if isinstance(obj, pd.Series):
        return obj
    if isinstance(obj, pd.DataFrame):
        if len(obj) != 1:
            raise ConfigError(f"{what} takes one row; got a table of {len(obj)} rows. Use the plural "
                              f"function (e.g. change_sentences) or select a row with .iloc[i].")
        return obj.iloc[0]
    raise ConfigError(f"{what} needs a row (Series) or a one-row DataFrame; got {type(obj).__name__}.")


def need(row: pd.Series | pd.DataFrame, cols: Iterable[str], what: str) -> None:
    have = row.index if isinstance(row, pd.Series) else row.columns
    missing = [c for c in cols if c not in have]
    if missing:
        raise SchemaError(f"{what}: missing column(s) {missing}; pass the output of the matching groupeval "
                          f"function (have: {list(have)}).")


# ---------------------------------------------------------------------------
# instruments
# ---------------------------------------------------------------------------
def instrument_of(instrument: Any) -> Any:
    """An Instrument from a registry name, an Instrument, or None (unknown names give None)."""
    if instrument is None or not isinstance(instrument, str):
        return instrument
    try:
        from ...base.instruments import get

        return get(instrument)
    except GroupevalError:  # a user-defined, unregistered name: keep it as a label
        return None


def instrument_label(instrument: Any, fallback: str | None = None) -> str:
    """The short name researchers use (``"PHQ-9"``)."""
    inst = instrument_of(instrument)
    if inst is not None and getattr(inst, "label", None):
        return str(inst.label)
    if isinstance(instrument, str):
        return instrument
    return fallback or "Scores"


def instrument_title(instrument: Any, fallback: str | None = None) -> str:
    """The full name for a board (``"Brief Resilience Scale"``, the registry's ``title``), else the label."""
    inst = instrument_of(instrument)
    title = getattr(inst, "title", None) if inst is not None else None
    if isinstance(title, str) and title.strip():
        return title.strip()
    return instrument_label(instrument, fallback)


def instrument_name(instrument: Any, style: str) -> str:
    """The label in the APA style, the full title in the plain style."""
    return instrument_title(instrument) if style == "plain" else instrument_label(instrument)


def default_digits(instrument: Any) -> int:
    """2 decimals for scales spanning 10 points or fewer (BRS 1-5), else 1."""
    inst = instrument_of(instrument)
    lo, hi = getattr(inst, "score_min", None), getattr(inst, "score_max", None)
    if lo is not None and hi is not None and float(hi) - float(lo) <= 10:
        return 2
    return 1


def higher_is_better(instrument: Any, direction: Any = None) -> bool | None:
    """Direction of improvement from the row's ``improved_direction`` or the instrument."""
    if isinstance(direction, str) and direction in ("higher", "lower"):
        return direction == "higher"
    inst = instrument_of(instrument)
    return None if inst is None else bool(inst.higher_is_better)


# ---------------------------------------------------------------------------
# text pieces
# ---------------------------------------------------------------------------
_WHAT = {"group_type": "group types", "facilitation": "facilitation types", "group_id": "groups",
         "format": "meeting formats", "site": "sites"}


def levels_word(by: Any) -> str:
    """``group_type`` -> "group types"."""
    return _WHAT.get(str(by), f"levels of {plain_label(by)}")


def group_phrase(column: str, level: Any) -> str:
    if column == "group_type":
        return f"In {level} groups"
    if column == "group_id":
        return f"In group {level}"
    if column == "facilitation":
        return f"In {level}-facilitated groups" if str(level) != "co-facilitated" else "In co-facilitated groups"
    return f"For {plain_label(column)} {level}"


def list_or(parts: Sequence[str]) -> str:
    parts = [p for p in parts if p]
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " or " + parts[-1]


def list_and(parts: Sequence[str]) -> str:
    parts = [p for p in parts if p]
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def weeks_text(x: float) -> str:
    """Weeks with one decimal unless whole (event times are days / 7)."""
    return fmt_weeks(x, 0 if float(fmt_number(x, 1).replace("\u2212", "-")).is_integer() else 1)


def sentence(text: str) -> str:
    """Capitalise the first letter and end with one full stop."""
    text = text.strip()
    if not text:
        return text
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def count_noun(n: Any, noun: str, min_cell: int | None = None) -> str:
    """``"1 group"``, ``"12 groups"`` (the count through :func:`fmt_count`)."""
    from ..formatting import fmt_count

    k = int(float(n))
    return f"{fmt_count(k, min_cell)} {noun}" + ("" if k == 1 else "s")
