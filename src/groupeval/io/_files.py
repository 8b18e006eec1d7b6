"""Reading one file into DataFrames: the bottom of the io layer.

It knows nothing about attendance or surveys; it turns a CSV / XLSX / Parquet
file into :class:`~._sheet.RawSheet` objects whose columns carry the header
text, renames raw columns to canonical ones, and numbers every row as the
user sees it in a spreadsheet (header = row 1, first data row = row 2).
:func:`read_table_source` wraps the result in a :class:`~._source.SourceTable`;
:func:`read_table` returns its public DataFrame.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..base.exceptions import ConfigError, Problem, ReadError
from ..base.schema import SOURCE_FILE, SOURCE_ROW
from ..base.vocab import norm_name
from ._aliases import TABLE_ALIASES
from ._csv import CSV_SUFFIXES, DELIMITERS, ENCODINGS, peek_header, read_csv
from ._excel import EXCEL_SUFFIXES, read_excel
from ._header import (
    MAX_TITLE_ROWS,
    Recogniser,
    check_header,
    find_header,
    header_text,
    name_blanks,
    recognise_aliases,
    rename_plan,
    resolve_columns,
)
from ._notes import Note
from ._sheet import RawSheet, ReadOptions, arrow_to_pandas, const_str, finish, to_text
from ._source import SheetFacts, SourceTable

__all__ = ["read_table", "read_table_source", "RawSheet", "ReadOptions", "read_sheets", "norm_name", "DELIMITERS",
           "ENCODINGS", "CSV_SUFFIXES", "EXCEL_SUFFIXES", "PARQUET_SUFFIXES", "SUPPORTED", "recognise_aliases",
           "resolve_columns", "const_str", "check_path", "sheet_notes", "source_of_sheets", "peek_columns"]

PARQUET_SUFFIXES = (".parquet", ".pq")
SUPPORTED = CSV_SUFFIXES + EXCEL_SUFFIXES + PARQUET_SUFFIXES


def _read_parquet(path: Path, opts: ReadOptions) -> RawSheet:
    import pyarrow as pa
    import pyarrow.parquet as pq

    label = path.name
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as e:
        raise ReadError(f"{label} cannot be read as Parquet",
                        [Problem(label, None, None, None, str(e).splitlines()[0],
                                 "write the file again with pandas.DataFrame.to_parquet or pyarrow")]) from None
    raw_header = [str(c) for c in table.column_names]
    check_header(raw_header, label, 1)
    raw_header = name_blanks(raw_header)
    rename, final = rename_plan(raw_header, opts.columns, opts.recognise, label, 1)
    table = table.rename_columns(final)
    day = frozenset(n for n, t in zip(table.column_names, table.schema.types) if pa.types.is_date(t))
    frame = arrow_to_pandas(table, label, 2)
    for n in frame.columns:
        if n in opts.literal and not isinstance(frame[n].dtype, pd.StringDtype):
            frame[n] = to_text(frame[n].astype(object).where(frame[n].notna(), None))
    frame[SOURCE_ROW] = np.arange(2, 2 + len(frame), dtype=np.int64)
    return finish(RawSheet(label, None, frame, 1, rename, raw_header, day_columns=day))


def check_path(path: Any) -> Path:
    """A readable data file's path, or a ReadError / ConfigError saying what is wrong."""
    try:
        p = Path(path)
    except TypeError:
        raise ConfigError(f"path must be a file path (str or pathlib.Path), got {type(path).__name__}") from None
    if not p.exists():
        parent = p.parent if str(p.parent) else Path(".")
        near = sorted(x.name for x in parent.glob("*")) if parent.is_dir() else []
        fix = "check the path" + (f"; files in {parent}: {', '.join(near[:20])}" if near else "")
        raise ReadError(f"file not found: {p}", [Problem(str(p), None, None, None, "the file does not exist", fix)])
    if p.is_dir():
        raise ReadError(f"{p} is a folder, not a file",
                        [Problem(str(p), None, None, None, "expected a file",
                                 "name a file inside it, or use groupeval.load(folder) for a whole programme")])
    if p.suffix.lower() not in SUPPORTED:
        raise ReadError(f"{p.name}: unknown file type {p.suffix!r}",
                        [Problem(p.name, None, None, p.suffix, "groupeval reads CSV, XLSX and Parquet files",
                                 "save the file as one of: " + ", ".join(SUPPORTED))])
    return p


def read_sheets(path: Any, *, sheet: str | None = None, columns: Mapping[str, str] | None = None,
                recognise: Recogniser | None = None, text_names: Iterable[str] = (),
                csv_text_names: Iterable[str] = (), header_plan: Any = None,
                text_if: Any = None) -> list[RawSheet]:
    """Read a file into one :class:`RawSheet` per table (one per sheet for workbooks).

    ``recognise`` receives the (already ``columns=``-mapped) header and returns
    extra renames (auto-recognised canonical names); ``text_names`` are
    canonical names read as text; ``csv_text_names`` (CSV only) columns read as
    text without type inference (attendance marks), and so are CSV columns
    whose name ``text_if`` accepts (the session columns of a wide sheet);
    ``header_plan`` lets a shape reader replace the header and skip further
    header rows (Qualtrics).
    """
    p = check_path(path)
    opts = ReadOptions(columns, recognise, tuple(text_names), tuple(csv_text_names), header_plan, text_if)
    suffix = p.suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        return read_excel(p, sheet, opts)
    if sheet is not None:
        raise ConfigError(f"sheet= only applies to Excel workbooks, not {p.name}")
    if suffix in PARQUET_SUFFIXES:
        return [_read_parquet(p, opts)]
    return [read_csv(p, p.name, opts)]


def sheet_notes(sheets: Iterable[RawSheet]) -> list[Note]:
    """The notes of the sheets, with one ``excluded`` entry per sheet for its skipped blank rows."""
    out: list[Note] = []
    for s in sheets:
        if s.blank_rows:
            out.append(Note(s.file, None, None, s.blank_rows, "entirely blank rows skipped when reading "
                            "(count in value)", "excluded", s.blank_rows))
        out += s.notes
    return out


def source_of_sheets(kind: str, sheets: list[RawSheet], frame: pd.DataFrame, **facts: Any) -> SourceTable:
    """A :class:`SourceTable` from a frame carrying ``_source_file`` / ``_source_row`` and the sheets read."""
    table = pd.DataFrame({c: frame[c] for c in frame.columns if c not in (SOURCE_FILE, SOURCE_ROW)}, copy=False)
    shapes = facts.pop("sheet_shapes", {})
    rules = facts.pop("blank_rules", {})
    infos = tuple(SheetFacts(s.label, s.sheet, s.header_row, shapes.get(s.label), rules.get(s.label),
                             dict(s.renamed), s.blank_rows) for s in sheets)
    notes = tuple(sheet_notes(sheets)) + tuple(facts.pop("notes", ()))
    return SourceTable(kind, table, frame[SOURCE_FILE].array, frame[SOURCE_ROW].to_numpy(dtype=np.int64),
                       sheets=infos, notes=notes, **facts)


def read_table_source(path: Any, *, sheet: str | None = None, columns: Mapping[str, str] | None = None,
                      table: str | None = None) -> SourceTable:
    """:func:`read_table` as a :class:`SourceTable` (what ``load`` passes to validation).

    ``table`` (``"groups"``, ``"members"``, ``"sessions"``) recognises the
    common spellings of that table's canonical columns (``Group`` ->
    ``group_id``, ``Joined`` -> ``enrolled_on``; see :mod:`._aliases`) and
    reads its identifiers as text.
    """
    aliases = TABLE_ALIASES.get(table or "", {})
    recognise = (lambda header: recognise_aliases(header, aliases)) if aliases else None
    sheets = read_sheets(path, sheet=sheet, columns=columns, recognise=recognise,
                         text_names=[c for c in aliases if c.endswith("_id")])
    frames = [s.frame for s in sheets]
    df = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    return source_of_sheets("table", sheets, df)


def peek_columns(path: Path) -> list[str] | None:
    """A file's column names, cheaply (the header row only; every sheet of a workbook); None if unreadable."""
    suffix = path.suffix.lower()
    try:
        if suffix in PARQUET_SUFFIXES:
            import pyarrow.parquet as pq

            return list(pq.read_schema(path).names)
        if suffix in EXCEL_SUFFIXES:
            import openpyxl

            wb = openpyxl.load_workbook(path, read_only=True)
            names: list[str] = []
            for ws in wb.worksheets:
                rows = [[header_text(c) for c in r] for r in ws.iter_rows(max_row=MAX_TITLE_ROWS, values_only=True)]
                if rows:
                    names += [h for h in rows[find_header(rows)] if h]
            wb.close()
            return names
    except Exception:  # pragma: no cover - the reader reports the real problem
        return None
    return peek_header(path)


def read_table(path: Any, *, sheet: str | None = None, columns: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Read a CSV, XLSX or Parquet file into a DataFrame with provenance columns.

    Parameters
    ----------
    path
        ``.csv`` / ``.tsv`` / ``.txt`` (delimiter sniffed among ``, ; TAB |``;
        encoding sniffed among UTF-8, UTF-8 with BOM, Windows-1252 and UTF-16
        with BOM), ``.xlsx`` / ``.xlsm`` or ``.parquet``.
    sheet
        Excel only: the sheet to read.  By default every sheet is read and the
        sheets are stacked (``_source_file`` then names the sheet, e.g.
        ``"attendance.xlsx [G01]"``).
    columns
        Renames raw column names to canonical ones, e.g.
        ``{"Participant ID": "member_id"}``.  Keys match the header exactly
        first, then ignoring case and whitespace.  A blank header cell is
        called ``unnamed_<letter>`` (``unnamed_A``).  A key that matches no
        column raises :class:`~groupeval.ConfigError` listing the available
        columns.

    Returns
    -------
    DataFrame
        The file's columns (header text as names; ``member_id``, ``group_id``,
        ``record_id`` and ``timepoint`` read as text so ids keep leading
        zeros and ``NA`` stays an id; other types inferred, ``NA`` / ``NULL``
        / ``#N/A`` text read as missing), plus ``_source_file`` (file name)
        and ``_source_row`` (spreadsheet row number: header = row 1).  Rows
        that are entirely blank are skipped (their count is in
        ``df.attrs["groupeval_blank_rows"]``); a title line above the header
        (a row with a single filled cell) is skipped too.

    Raises
    ------
    ReadError
        Missing file, unknown extension, empty file, no header row, duplicated
        column names, unreadable encoding, rows with the wrong number of fields,
        dates outside the years pandas can hold, damaged or oversized workbooks.
    ConfigError
        ``columns=`` names a column that does not exist, or two columns would
        get the same name.

    Notes
    -----
    In R: ``readr::read_csv(path)`` / ``readxl::read_excel(path)`` (without the
    sniffing and provenance columns).
    """
    return read_table_source(path, sheet=sheet, columns=columns).to_frame()
