"""The contract between reading and validation: :class:`SourceTable`.

A reader (``read_table_source``, ``read_attendance_source``,
``read_survey_source``) returns a frozen :class:`SourceTable`: the table,
where each row came from (file, spreadsheet row, and for attendance the raw
column and whether it was a blank cell), what the file's shape was, and
everything the reader did that the quality report must show (:class:`Note`:
blank rows skipped, a totals row excluded, merged cells spread, a date in
another format repaired ...).  Validation consumes this object; nothing
travels through ``DataFrame.attrs`` or underscore columns between the layers.

The public readers (``read_attendance`` ...) return :meth:`SourceTable.to_frame`:
a DataFrame with the documented provenance columns (``_source_file``,
``_source_row``; attendance also ``_source_column``, ``_blank_cell``) and a
summary in ``attrs`` for people looking at one file.  :func:`as_source` turns
such a frame (or any DataFrame) back into a :class:`SourceTable`, so
``validate(attendance=read_attendance(...))`` loses nothing.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from ..base.exceptions import ValidationError
from ..base.schema import SOURCE_FILE, SOURCE_ROW
from ._notes import Note
from ._sheet import const_str

__all__ = ["SourceTable", "SheetFacts", "Note", "as_source", "SOURCE_COLUMN", "BLANK_CELL", "KINDS"]

#: provenance column of public attendance frames: the raw column (date header of a wide sheet, mark column)
SOURCE_COLUMN = "_source_column"
#: provenance column of public attendance frames: True for absences made from a blank cell
BLANK_CELL = "_blank_cell"
KINDS = ("table", "attendance", "responses")


@dataclass(frozen=True)
class SheetFacts:
    """What one sheet (or file) looked like."""

    label: str
    sheet: str | None
    header_row: int
    #: ``roster`` / ``signin`` / ``wide`` (attendance), ``wide`` / ``redcap`` / ``qualtrics`` (surveys)
    shape: str | None = None
    #: attendance: what a blank cell meant (``absent`` / ``not_scheduled``)
    blank_rule: str | None = None
    #: raw name -> canonical name, for the renames applied
    renamed: Mapping[str, str] = field(default_factory=dict)
    blank_rows: int = 0

    @property
    def file(self) -> str:
        return self.label.split(" [")[0]


@dataclass(frozen=True, eq=False)
class SourceTable:
    """A table read from files, with its provenance and the facts of its shape.

    Attributes
    ----------
    kind
        ``"table"``, ``"attendance"`` or ``"responses"``.
    table
        The data columns (canonical names where mapped); no provenance columns.
    file, row
        Per row: the source label (file, plus ``[sheet]``) and spreadsheet row
        (header = row 1).
    column
        Attendance, per row: the raw column the value came from (the date
        header of a wide sheet, the mark column of a roster); else None.
    blank_cell
        Attendance, per row: True for an absence made from a blank cell of a
        presence-only wide sheet (validation trims those to the enrolment).
    sheets
        :class:`SheetFacts` per sheet read.
    shape
        The shape of the whole file (``signin`` logs get their absences inferred).
    notes
        Everything the reader excluded, repaired, inferred or flagged.
    cancelled, empty_sessions
        Attendance: ``(group, ISO date)`` of wide-sheet columns marked
        cancelled / left blank for a group (they give no rows).
    skipped_sheets
        Sheets that were not this kind of table.
    items
        Surveys: the item columns.
    dropped_columns
        Columns the reader removed (Qualtrics IP and location columns ...).
    recoded_minus99
        Qualtrics "seen but unanswered" codes set to missing.
    identifiers
        Columns the source itself marks as identifying a person (a REDCap
        dictionary's ``Identifier? = y``), with the kind.
    """

    kind: str
    table: pd.DataFrame
    file: Any
    row: np.ndarray
    column: Any = None
    blank_cell: np.ndarray | None = None
    sheets: tuple[SheetFacts, ...] = ()
    shape: str | None = None
    notes: tuple[Note, ...] = ()
    cancelled: tuple[tuple[str, str], ...] = ()
    empty_sessions: tuple[tuple[str, str], ...] = ()
    skipped_sheets: tuple[str, ...] = ()
    items: tuple[str, ...] = ()
    dropped_columns: tuple[str, ...] = ()
    recoded_minus99: int = 0
    identifiers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")

    def __len__(self) -> int:
        return len(self.table)

    @property
    def blank_rows(self) -> int:
        """Entirely blank rows skipped while reading."""
        return sum(s.blank_rows for s in self.sheets)

    def with_table(self, table: pd.DataFrame, keep: np.ndarray | None = None) -> SourceTable:
        """The same source with another table (``keep``: the rows of the old one it holds)."""
        if keep is None:
            return replace(self, table=table)
        take = np.flatnonzero(keep)
        col = None if self.column is None else self.column.take(take)
        blank = None if self.blank_cell is None else self.blank_cell[take]
        return replace(self, table=table, file=self.file.take(take), row=self.row[take], column=col,
                       blank_cell=blank)

    def to_frame(self) -> pd.DataFrame:
        """The public DataFrame: the table, the provenance columns, a summary in ``attrs``."""
        cols: dict[str, Any] = {c: self.table[c] for c in self.table.columns}
        idx = self.table.index
        cols[SOURCE_FILE] = pd.Series(self.file, index=idx)
        cols[SOURCE_ROW] = pd.Series(self.row, index=idx)
        if self.kind == "attendance":
            cols[SOURCE_COLUMN] = pd.Series(self.column, index=idx)
            cols[BLANK_CELL] = pd.Series(self.blank_cell if self.blank_cell is not None
                                         else np.zeros(len(idx), bool), index=idx)
        df = pd.DataFrame(cols, copy=False)
        df.attrs = self._attrs()
        return df

    def _attrs(self) -> dict[str, Any]:
        out: dict[str, Any] = {"groupeval_shape": self.shape, "groupeval_blank_rows": self.blank_rows,
                               "groupeval_renamed": {k: v for s in self.sheets for k, v in s.renamed.items()}}
        if self.kind == "attendance":
            out.update({"groupeval_blank": {s.label: s.blank_rule for s in self.sheets if s.blank_rule},
                        "groupeval_cancelled": list(self.cancelled),
                        "groupeval_empty_sessions": list(self.empty_sessions),
                        "groupeval_skipped_sheets": list(self.skipped_sheets)})
        if self.kind == "responses":
            out.update({"groupeval_items": list(self.items), "groupeval_dropped_columns": list(self.dropped_columns),
                        "groupeval_recoded_minus99": self.recoded_minus99})
        out["groupeval_notes"] = [n.__dict__.copy() for n in self.notes]
        return out


def _file_labels(df: pd.DataFrame, label: str) -> Any:
    if SOURCE_FILE not in df:
        return const_str(label, len(df))
    f = df[SOURCE_FILE]
    if f.isna().any():
        f = f.astype(object).where(f.notna(), label)
    return f.astype(str).to_numpy(dtype=object) if not isinstance(f.dtype, pd.StringDtype) else f.array


def _rows_of(df: pd.DataFrame) -> np.ndarray:
    if SOURCE_ROW not in df:
        return np.arange(2, len(df) + 2, dtype=np.int64)
    return pd.to_numeric(df[SOURCE_ROW], errors="coerce").fillna(0).to_numpy(dtype=np.int64)


def _empty_sessions_note(label: str, empty: list[Any]) -> Note:
    return Note(label, None, "session_date", len(empty),
                "session columns left entirely blank in the sheet: treated as not held (no attendance rows, "
                "not in the inferred sessions): " + ", ".join(f"{g} {pd.Timestamp(d).date()}" for g, d in empty[:20]),
                "flagged")


def _notes_of_attrs(attrs: Mapping[str, Any], label: str) -> list[Note]:
    """Notes of a public frame: kept in ``attrs["groupeval_notes"]``, else rebuilt from the summary keys."""
    if "groupeval_notes" in attrs:
        return [Note(**n) for n in attrs["groupeval_notes"]]
    notes = []
    n_blank = int(attrs.get("groupeval_blank_rows", 0) or 0)
    if n_blank:
        notes.append(Note(label, None, None, n_blank, "entirely blank rows skipped when reading (count in value)",
                          "excluded", n_blank))
    empty = list(attrs.get("groupeval_empty_sessions", []) or [])
    if empty:
        notes.append(_empty_sessions_note(label, empty))
    return notes


def _pairs(value: Any) -> tuple[tuple[str, str], ...]:
    return tuple((str(g), str(d)) for g, d in (value or ()))


def as_source(obj: Any, kind: str, label: str) -> SourceTable:
    """A :class:`SourceTable` from a reader's result or any DataFrame (validation's one entry format).

    A DataFrame's provenance columns (``_source_file``, ``_source_row``,
    ``_source_column``, ``_blank_cell``) become the typed fields; without
    them rows are labelled ``label`` and numbered as in a CSV with a header
    (position + 2).  The summary ``attrs`` of a public reader frame
    (``groupeval_shape``, ``groupeval_cancelled`` ...) are read back.
    """
    if isinstance(obj, SourceTable):
        return obj
    if not isinstance(obj, pd.DataFrame):
        raise ValidationError(f"{label.split('[')[0]}= must be a pandas DataFrame (or a list of them), "
                              f"got {type(obj).__name__}.")
    df = obj.copy(deep=False)
    df.columns = [str(c) for c in df.columns]
    attrs = dict(obj.attrs)
    files = _file_labels(df, label)
    rows = _rows_of(df)
    column = df[SOURCE_COLUMN].astype("category").array if SOURCE_COLUMN in df else None
    blank = (df[BLANK_CELL].fillna(False).to_numpy(dtype=bool) if BLANK_CELL in df
             else np.full(len(df), bool(attrs.get("groupeval_blank_absences", False))))
    table = pd.DataFrame({c: df[c] for c in df.columns if c not in (SOURCE_FILE, SOURCE_ROW, SOURCE_COLUMN,
                                                                    BLANK_CELL)}, index=df.index, copy=False)
    first = str(files[0]).split(" [")[0] if len(df) else label
    file_label = first if SOURCE_FILE in df else label
    return SourceTable(
        kind, table, files, rows, column, blank if kind == "attendance" else None,
        shape=attrs.get("groupeval_shape"), notes=tuple(_notes_of_attrs(attrs, file_label)),
        cancelled=_pairs(attrs.get("groupeval_cancelled")),
        empty_sessions=_pairs(attrs.get("groupeval_empty_sessions")),
        items=tuple(attrs.get("groupeval_items", []) or ()),
        dropped_columns=tuple(attrs.get("groupeval_dropped_columns", []) or ()),
        recoded_minus99=int(attrs.get("groupeval_recoded_minus99", 0) or 0))
