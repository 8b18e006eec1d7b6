"""The dropout rule: k consecutive missed sessions, weeks without attendance, excused absences, exits."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..base.exceptions import ConfigError, Problem

__all__ = ["Dropout", "DROPOUT_PRESETS", "as_dropout"]

_EXCUSED = ("neither", "attended", "missed")


# ---------------------------------------------------------------------------
# dropout rule
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Dropout:
    """A dropout rule.

    Parameters
    ----------
    consecutive_missed
        Dropped after missing this many scheduled sessions in a row (counted
        from the member's first attended session).  ``None`` switches the
        rule off.  Default 3.
    weeks_without_attendance
        Dropped when more than this many weeks pass after an attended session
        without another one (``next attended - last attended > 7 w`` days; at
        the end of observation, ``end - last attended >= 7 w`` days).
        ``None`` (default) switches the rule off.
    excused
        How an excused absence (attendance ``status == "excused"``) counts:
        ``"neither"`` (default: not offered, skipped when counting consecutive
        misses), ``"attended"`` or ``"missed"``.
    censor_exits
        Exit reasons that end follow-up without a dropout (the member is
        censored at ``exited_on``).  Any other recorded exit (including an
        exit date with no reason) is a dropout.  Default ``("completed",)``.
    exits
        Whether explicit exits count at all (``False``: only attendance
        decides; an exit then just ends the member's scheduled sessions).

    Notes
    -----
    A member is dropped when *any* active rule fires; the earliest event
    (last attended session before the rule fired) is used.  Cancelled
    sessions never count.  Named presets are in :data:`DROPOUT_PRESETS` and
    can be passed by name wherever ``dropout=`` is accepted.

    Examples
    --------
    >>> Dropout()                          # docs/design.md default  # doctest: +NORMALIZE_WHITESPACE
    Dropout(consecutive_missed=3, weeks_without_attendance=None, excused='neither',
            censor_exits=('completed',), exits=True)
    >>> Dropout(consecutive_missed=2).consecutive_missed      # stricter
    2
    >>> Dropout(consecutive_missed=None, weeks_without_attendance=6).weeks_without_attendance
    6
    """

    consecutive_missed: int | None = 3
    weeks_without_attendance: float | None = None
    excused: str = "neither"
    censor_exits: tuple[str, ...] = ("completed",)
    exits: bool = True

    def __post_init__(self) -> None:
        problems = []
        k = self.consecutive_missed
        if k is not None and (isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1):
            problems.append(Problem(None, None, "consecutive_missed", k, "must be a whole number >= 1 or None",
                                    "use e.g. Dropout(consecutive_missed=3)"))
        w = self.weeks_without_attendance
        if w is not None and (isinstance(w, bool) or not isinstance(w, (int, float, np.integer, np.floating))
                              or not np.isfinite(w) or w <= 0):
            problems.append(Problem(None, None, "weeks_without_attendance", w, "must be a positive number or None",
                                    "use e.g. Dropout(weeks_without_attendance=4)"))
        if self.excused not in _EXCUSED:
            problems.append(Problem(None, None, "excused", self.excused,
                                    f"must be one of {', '.join(repr(e) for e in _EXCUSED)}", ""))
        if isinstance(self.censor_exits, str):
            object.__setattr__(self, "censor_exits", (self.censor_exits,))
        else:
            try:
                object.__setattr__(self, "censor_exits", tuple(str(c) for c in self.censor_exits))
            except TypeError:
                problems.append(Problem(None, None, "censor_exits", self.censor_exits,
                                        "must be a tuple of exit reasons", "use e.g. ('completed', 'moved')"))
        if k is None and w is None and not self.exits:
            problems.append(Problem(None, None, None, None, "every dropout rule is switched off",
                                    "set consecutive_missed, weeks_without_attendance or exits=True"))
        if problems:
            raise ConfigError("Invalid dropout rule", problems)

    def describe(self) -> str:
        """A plain-language description of the rule (for methods text)."""
        parts = []
        if self.consecutive_missed is not None:
            parts.append(f"missed {self.consecutive_missed} scheduled sessions in a row")
        if self.weeks_without_attendance is not None:
            parts.append(f"did not attend for more than {self.weeks_without_attendance:g} weeks")
        if self.exits:
            parts.append("left with an exit reason other than " + " or ".join(self.censor_exits))
        exc = {"neither": "excused absences were not counted",
               "attended": "excused absences counted as attended",
               "missed": "excused absences counted as missed"}[self.excused]
        return "Dropped if the member " + ", or ".join(parts) + f"; cancelled sessions never counted; {exc}."

    def replace(self, **changes: Any) -> Dropout:
        """A copy with some fields changed."""
        return replace(self, **changes)


#: Named dropout rules (pass the name as ``dropout="strict"``).
DROPOUT_PRESETS: dict[str, Dropout] = {
    "default": Dropout(),
    "strict": Dropout(consecutive_missed=2),
    "lenient": Dropout(consecutive_missed=4),
    "exit_only": Dropout(consecutive_missed=None),
    "four_weeks": Dropout(consecutive_missed=None, weeks_without_attendance=4),
    "excused_as_missed": Dropout(excused="missed"),
    "moved_censored": Dropout(censor_exits=("completed", "moved")),
}


def as_dropout(dropout: Any) -> Dropout:
    """Turn ``None``, a preset name, a mapping of fields or a :class:`Dropout` into a :class:`Dropout`."""
    if dropout is None:
        return Dropout()
    if isinstance(dropout, Dropout):
        return dropout
    if isinstance(dropout, str):
        if dropout in DROPOUT_PRESETS:
            return DROPOUT_PRESETS[dropout]
        raise ConfigError(f"Unknown dropout preset {dropout!r}; choose one of "
                          f"{', '.join(repr(p) for p in DROPOUT_PRESETS)} or pass a Dropout(...).")
    if isinstance(dropout, Mapping):
        unknown = sorted(set(dropout) - set(Dropout.__dataclass_fields__))
        if unknown:
            raise ConfigError(f"Unknown dropout setting(s) {unknown}; allowed: "
                              f"{', '.join(Dropout.__dataclass_fields__)}.")
        return Dropout(**dropout)
    raise ConfigError(f"`dropout` must be a Dropout, a preset name or a dict, got {type(dropout).__name__}.")
