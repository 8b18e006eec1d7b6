"""Notes: what a reader excluded, repaired, inferred or flagged while reading (validation records them)."""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Note", "ACTIONS"]

ACTIONS = ("excluded", "repaired", "inferred", "flagged")


@dataclass(frozen=True)
class Note:
    """One entry for the :class:`~groupeval.QualityReport`, made by a reader.

    ``row`` is the spreadsheet row (header = row 1) or None for a whole file
    or column.  An ``excluded`` note stands for ``count`` source rows that
    give no row of the table (blank rows, a totals row, blank cells of a wide
    sheet): validation counts them as read and excluded, so the row
    accounting ``read - excluded + inferred = kept`` covers everything the
    file held.
    """

    file: str
    row: int | None
    column: str | None
    value: object
    reason: str
    action: str
    count: int = 1
