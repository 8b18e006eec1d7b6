"""Exceptions and warnings raised by groupeval.

Every error groupeval raises for bad input is a :class:`GroupevalError`
(a :class:`ValueError`), so ``except groupeval.GroupevalError`` catches them
all.  Errors that concern data carry a list of :class:`Problem` records and
report *every* problem found, not only the first.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Problem",
    "GroupevalError",
    "SchemaError",
    "ReadError",
    "ValidationError",
    "IdentifierError",
    "ScoringError",
    "ConfigError",
    "GroupevalWarning",
    "DataQualityWarning",
    "SmallSampleWarning",
    "ConvergenceWarning",
]


@dataclass(frozen=True)
class Problem:
    """One problem found in the user's data.

    ``row`` is the row number as the user sees it in their spreadsheet
    (header on row 1, first data row on row 2) or ``None`` when the problem
    concerns a whole file or column.
    """

    file: str | None
    row: int | None
    column: str | None
    value: object
    reason: str
    fix: str = ""

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(str(self.file))
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column!r}")
        head = ", ".join(where) if where else "input"
        val = "" if self.value is None else f" (value: {self.value!r})"
        fix = ""
        if self.fix:
            fix = f" Fix: {self.fix}" + ("" if self.fix.endswith((".", "!", "?")) else ".")
        return f"{head}: {self.reason}{val}.{fix}"


class GroupevalError(ValueError):
    """Base class of every error groupeval raises for bad input or arguments.

    Parameters
    ----------
    message
        A sentence saying what is wrong and how to fix it.
    problems
        Optional list of :class:`Problem` records; all are shown.

    Attributes
    ----------
    quality
        For errors raised by validation: the repairs and exclusions found
        before the problems stopped it (a ``QualityReport``), else None.
    """

    quality: Any = None

    def __init__(self, message: str, problems: Iterable[Problem] = ()):
        self.problems: list[Problem] = list(problems)
        self.message = message
        super().__init__(self._render())

    def _render(self, limit: int = 50) -> str:
        if not self.problems:
            return self.message
        lines = [f"{self.message} ({len(self.problems)} problem(s)):"]
        for p in self.problems[:limit]:
            lines.append(f"  - {p}")
        if len(self.problems) > limit:
            lines.append(f"  ... and {len(self.problems) - limit} more; see the .problems attribute.")
        return "\n".join(lines)

    def to_frame(self) -> pd.DataFrame:
        """The problems as a DataFrame (file, row, column, value, reason, fix)."""
        import pandas as pd

        return pd.DataFrame(
            [(p.file, p.row, p.column, p.value, p.reason, p.fix) for p in self.problems],
            columns=["file", "row", "column", "value", "reason", "fix"],
        )


class ReadError(GroupevalError):
    """A file cannot be read: missing, empty, no header, unknown format."""


class SchemaError(GroupevalError):
    """A table lacks required columns or has columns of the wrong type."""


class ValidationError(GroupevalError):
    """Data values break a rule that cannot be repaired automatically."""


class IdentifierError(GroupevalError):
    """A file holds direct identifiers (names, contact details, birth dates)."""


class ScoringError(GroupevalError):
    """Item responses cannot be scored (out of range, missing item columns)."""


class ConfigError(GroupevalError):
    """A TOML configuration or an argument is invalid."""


class GroupevalWarning(UserWarning):
    """Base class of groupeval's warnings."""


class DataQualityWarning(GroupevalWarning):
    """Rows were repaired or excluded; see the QualityReport."""


class SmallSampleWarning(GroupevalWarning):
    """An estimate rests on too few people to be stable."""


class ConvergenceWarning(GroupevalWarning):
    """A model did not converge cleanly; a fallback was used."""


def raise_if(problems: Sequence[Problem], message: str, cls: type[GroupevalError] = ValidationError) -> None:
    """Raise ``cls(message, problems)`` when ``problems`` is non-empty."""
    if problems:
        raise cls(message, problems)
