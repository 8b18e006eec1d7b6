"""The report as data: sections of paragraphs, bullet lists, tables and figures.

Built once by :mod:`.content` (every number already passed through the
suppression plan) and then written out by :mod:`.html`, :mod:`.docx` and
:mod:`.export`.  Text blocks hold plain text, never markup: every writer
escapes it for its own format, so a group type such as
``<img src=x onerror=alert(1)>`` is shown as those characters.
"""
from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .. import formatting as F
from .plan import LINKED, Hidden

__all__ = ["Column", "Table", "Paragraph", "Bullets", "Figure", "Section", "ReportDocument", "cell_text",
           "LINKED_MARK"]

#: The mark of a count hidden so that a small count cannot be worked out (explained under each table).
LINKED_MARK = "—†"


@dataclass
class Column:
    """One column of a report table: ``kind`` is text, count, percent, number, p, weeks or int."""

    name: str
    label: str
    kind: str = "number"
    digits: int = 1
    export: bool = True  # written to CSV/XLSX
    display: bool = True  # shown in the HTML/DOCX table


@dataclass
class Table:
    """A report table: unrounded values (hidden ones are NaN) and, per cell, why it is hidden."""

    key: str
    title: str
    columns: list[Column]
    frame: pd.DataFrame
    hidden: dict[str, list[Hidden | None]] = field(default_factory=dict)
    note: str = ""
    count_keys: dict[str, list[Hashable | None]] = field(default_factory=dict)
    na: dict[str, list[str]] = field(default_factory=dict)  # text of an undefined cell, when not "not estimable"

    def displayed(self) -> list[Column]:
        return [c for c in self.columns if c.display]

    def rows(self, min_cell: int) -> list[list[str]]:
        """Display text of every displayed cell (rounded here, through :mod:`groupeval.formatting`)."""
        cols = self.displayed()
        out = []
        for i in range(len(self.frame)):  # display only: a handful of rows
            out.append([cell_text(c, self.frame[c.name].iloc[i], self.hidden.get(c.name, [None] * len(self.frame))[i],
                                  min_cell, self.na[c.name][i] if c.name in self.na else None) for c in cols])
        return out

    def export_frame(self) -> pd.DataFrame:
        """The CSV/XLSX table: exported columns unrounded, hidden cells empty, ``<col>_suppressed`` flags."""
        cols = [c for c in self.columns if c.export]
        out = self.frame[[c.name for c in cols]].copy()
        for c in cols:
            flags = self.hidden.get(c.name)
            if flags is not None:
                out[c.name + "_suppressed"] = [h is not None for h in flags]
        return out

    @property
    def has_linked(self) -> bool:
        return any(h is not None and h.kind == LINKED for v in self.hidden.values() for h in v)

    @property
    def has_hidden(self) -> bool:
        return any(h is not None for v in self.hidden.values() for h in v)


@dataclass
class Paragraph:
    text: str
    style: str = ""  # "", "note", "lead", "caveat"


@dataclass
class Bullets:
    items: list[str]


@dataclass
class Figure:
    key: str
    png: bytes
    alt: str
    caption: str = ""


Block = Paragraph | Bullets | Table | Figure


@dataclass
class Section:
    id: str
    title: str
    blocks: list[Block] = field(default_factory=list)
    part: str = "appendix"  # "summary" or "appendix"
    level: int = 2

    def add(self, *blocks: Block | None) -> Section:
        self.blocks.extend(b for b in blocks if b is not None)
        return self


@dataclass
class ReportDocument:
    """Title block, the board summary and the technical appendix."""

    title: str
    subtitle: str
    privacy_note: str
    sections: list[Section]
    min_cell: int
    audience: str
    produced: str = ""

    def part(self, name: str) -> list[Section]:
        return [s for s in self.sections if s.part == name]

    def tables(self) -> list[Table]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, Table)]

    def figures(self) -> list[Figure]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, Figure)]

    def texts(self) -> list[str]:
        out = [self.title, self.subtitle, self.privacy_note]
        for s in self.sections:
            out.append(s.title)
            for b in s.blocks:
                if isinstance(b, Paragraph):
                    out.append(b.text)
                elif isinstance(b, Bullets):
                    out.extend(b.items)
        return out


def _missing(v: Any) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    try:
        return bool(np.isnan(v))
    except (TypeError, ValueError):
        return False


def cell_text(col: Column, value: Any, hidden: Hidden | None, min_cell: int, na: str | None = None) -> str:
    """The text of one table cell; a hidden cell says why, an undefined one says why not (``na``)."""
    if hidden is not None:
        if col.kind == "count":
            return f"<{min_cell}" if hidden.kind != LINKED else LINKED_MARK
        return LINKED_MARK if hidden.kind == LINKED else f"—, fewer than {min_cell} people"
    if col.kind == "text":
        return "" if _missing(value) else str(value)
    if _missing(value) or not np.isfinite(float(value)):
        if na is not None:
            return na
        return "—" if col.kind in ("count", "int") else "not estimable"
    v = float(value)
    if col.kind in ("count", "int"):
        return f"{int(round(v)):,}"
    if col.kind == "percent":
        return F.fmt_percent(v, col.digits)
    if col.kind == "p":
        return F.fmt_p(v, prefix=False).replace(" ", "\u00a0")  # "< .001" never breaks
    if col.kind == "weeks":
        return F.fmt_number(v, col.digits)
    return F.fmt_number(v, col.digits)


def table_from_rows(key: str, title: str, columns: Sequence[Column], frame: pd.DataFrame, *, note: str = "") -> Table:
    """A :class:`Table` with no hidden cells (internal audiences, or tables without counts)."""
    return Table(key=key, title=title, columns=list(columns), frame=frame.reset_index(drop=True), note=note)
