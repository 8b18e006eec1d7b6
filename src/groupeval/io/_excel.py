"""Excel workbooks (.xlsx / .xlsm) with openpyxl: guarded, every sheet, merged cells spread.

* **Guards.** A workbook is a zip of XML parts; before openpyxl opens it, the
  uncompressed size of its parts is checked (:data:`MAX_UNCOMPRESSED`: a
  "zip bomb" whose sheet expands to gigabytes is refused with a clear
  error), and no sheet may hold more than :data:`MAX_CELLS` cells.  A damaged
  part (e.g. a malformed ``styles.xml``) is a :class:`~groupeval.ReadError`
  saying to re-save the file, never a traceback.
* **Merged cells** below the header show one value across several cells;
  Excel displays it in all of them, so it is read in every cell of the range
  and each range is noted (a mark merged over three sessions is three marks,
  never two sessions "not scheduled").
* Cached formula values are read (``data_only``); a formula never calculated
  and saved reads as an empty cell.
"""
from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..base.exceptions import ConfigError, Problem, ReadError
from ..base.schema import SOURCE_ROW
from ..base.vocab import is_missing_text
from ._header import (
    MAX_TITLE_ROWS,
    check_header,
    col_letter,
    columns_for_sheet,
    find_header,
    header_text,
    name_blanks,
    rename_plan,
    resolve_columns,
)
from ._notes import Note
from ._sheet import RawSheet, ReadOptions, finish, to_text

__all__ = ["read_excel", "EXCEL_SUFFIXES", "MAX_UNCOMPRESSED", "MAX_CELLS"]

EXCEL_SUFFIXES = (".xlsx", ".xlsm")
#: largest total uncompressed size of a workbook's parts (bytes)
MAX_UNCOMPRESSED = 1 << 30
#: most cells (rows x columns) one sheet may have
MAX_CELLS = 50_000_000
_MERGE = re.compile(rb'<mergeCell ref="([A-Z]+)(\d+):([A-Z]+)(\d+)"')


def _resave(path: Path, what: str, detail: str = "") -> ReadError:
    return ReadError(f"{path.name} cannot be opened as an Excel workbook",
                     [Problem(path.name, None, None, None, what + (f" ({detail})" if detail else ""),
                              "open it in Excel (or LibreOffice) and save it again as .xlsx, or save the "
                              "sheet as CSV UTF-8")])


def _size(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB"):
        if n < 1024:
            return f"{n:.0f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def _check_archive(path: Path) -> None:
    """Refuse workbooks that are not zips, or whose parts expand beyond :data:`MAX_UNCOMPRESSED`."""
    try:
        with zipfile.ZipFile(path) as z:
            size = sum(i.file_size for i in z.infolist())
    except (zipfile.BadZipFile, OSError) as e:
        raise _resave(path, "the file is not a valid .xlsx workbook", f"{type(e).__name__}: {e}") from None
    if size > MAX_UNCOMPRESSED:
        raise ReadError(f"{path.name} is too large to read as a workbook", [Problem(
            path.name, None, None, f"{_size(size)} uncompressed",
            f"the workbook's parts expand to more than {_size(MAX_UNCOMPRESSED)} (a damaged or malicious file, "
            "or far more data than a programme keeps)",
            "save the sheet as CSV (File > Save As > CSV UTF-8) and read that, or check the file")])


def _col_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n - 1


def _merged_ranges(wb: Any, ws: Any) -> list[tuple[int, int, int, int]]:
    """(first row, first col, last row, last col), 0-based, of a read-only sheet's merged cells."""
    path = getattr(ws, "_worksheet_path", None)
    archive = getattr(wb, "_archive", None)
    if path is None or archive is None:  # pragma: no cover - openpyxl internals changed
        return []
    out = []
    tail = b""
    with archive.open(path) as fh:
        while chunk := fh.read(1 << 20):
            block = tail + chunk
            if b"mergeCell " in block:
                out += [(int(r1) - 1, _col_index(c1), int(r2) - 1, _col_index(c2))
                        for c1, r1, c2, r2 in _MERGE.findall(block)]
            tail = block[-64:]
    return sorted(set(out))


def _spread_merged(rows: list[list[Any]], merged: list[tuple[int, int, int, int]], body_from: int,
                   label: str) -> list[Note]:
    """Write the value of each merged range below the header into every cell of the range."""
    notes = []
    for r1, c1, r2, c2 in merged:
        if r2 < body_from or r1 >= len(rows) or (r1 == r2 and c1 == c2):
            continue
        value = rows[r1][c1] if c1 < len(rows[r1]) else None
        if value is None:
            continue
        for r in range(max(r1, body_from), min(r2, len(rows) - 1) + 1):  # cells of one range (a handful)
            row = rows[r]
            if len(row) <= c2:
                row.extend([None] * (c2 + 1 - len(row)))
            row[c1:c2 + 1] = [value] * (c2 - c1 + 1)
        ref = f"{col_letter(c1)}{r1 + 1}:{col_letter(c2)}{r2 + 1}"
        notes.append(Note(label, r1 + 1, None, value, f"merged cells {ref} show one value: read in every cell "
                          "of the range", "repaired"))
    return notes


def _sheet_rows(ws: Any, path: Path, name: str) -> list[list[Any]]:
    rows: list[list[Any]] = []
    cells = 0
    for r in ws.iter_rows(values_only=True):
        cells += len(r)
        if cells > MAX_CELLS:
            raise ReadError(f"{path.name} is too large to read as a workbook", [Problem(
                path.name, len(rows) + 1, None, name,
                f"sheet {name!r} holds more than {MAX_CELLS:,} cells",
                "save the sheet as CSV (File > Save As > CSV UTF-8) and read that, or delete unused rows and "
                "columns (select them, right-click > Delete)")])
        rows.append(list(r))
    return rows


def read_excel(path: Path, sheet: str | None, opts: ReadOptions) -> list[RawSheet]:
    """Every sheet (or the one named) of a workbook, one :class:`RawSheet` each (empty sheets skipped)."""
    import openpyxl

    _check_archive(path)
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many kinds on damaged parts (styles.xml, shared strings ...)
        raise _resave(path, "a part of the workbook is damaged", f"{type(e).__name__}: {e}") from None
    columns = opts.columns
    try:
        names = wb.sheetnames
        if sheet is not None:
            if sheet not in names:
                raise ConfigError(f"{path.name} has no sheet {sheet!r}",
                                  [Problem(path.name, None, None, sheet, "no such sheet",
                                           "use one of: " + ", ".join(repr(n) for n in names))])
            names = [sheet]
        out = []
        multi = len(wb.sheetnames) > 1
        # with several sheets a columns= key need only match on the sheets that have it
        matched: set[Any] | None = set() if len(names) > 1 and columns else None
        headers: list[str] = []
        for name in names:
            label = f"{path.name} [{name}]" if multi else path.name
            try:
                ws = wb[name]
                rows = _sheet_rows(ws, path, name)
                merged = _merged_ranges(wb, ws)
            except ReadError:
                raise
            except Exception as e:  # a damaged sheet part
                raise _resave(path, f"sheet {name!r} is damaged", f"{type(e).__name__}: {e}") from None
            raw = _excel_sheet(rows, label, name, opts, matched, merged)
            if raw is not None:
                out.append(raw)
                headers += [h for h in raw.raw_header if h not in headers]
    finally:
        wb.close()
    if matched is not None and columns and set(columns) - matched:
        resolve_columns(headers, {k: v for k, v in columns.items() if k not in matched}, path.name)
    if not out:
        raise ReadError(f"{path.name} is empty", [Problem(path.name, None, None, None,
                                                         "no sheet holds a header and data rows",
                                                         "put a header row and data on a sheet")])
    return out


def _blank_row(r: list[Any]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in r)


def _excel_sheet(rows: list[list[Any]], label: str, sheet_name: str, opts: ReadOptions,
                 matched: set[Any] | None, merged: list[tuple[int, int, int, int]]) -> RawSheet | None:
    while rows and _blank_row(rows[-1]):  # drop trailing empty rows
        rows.pop()
    if not rows:
        return None
    width = max(len(r) for r in rows)
    head_text = [[header_text(c) for c in r] for r in rows[:MAX_TITLE_ROWS]]
    hidx = find_header(head_text)
    extra = 0
    raw_header = head_text[hidx] + [""] * (width - len(head_text[hidx]))
    if opts.header_plan is not None:
        raw_header, extra = opts.header_plan(head_text, hidx)
        raw_header = raw_header + [""] * (width - len(raw_header))
    header_row = hidx + 1
    check_header(raw_header, label, header_row, opts.columns)
    raw_header = name_blanks(raw_header)
    columns = columns_for_sheet(opts.columns, raw_header, matched)
    rename, names = rename_plan(raw_header, columns, opts.recognise, label, header_row)
    notes = _spread_merged(rows, merged, hidx + 1 + extra, label)
    width = max(width, max(len(r) for r in rows))
    body = rows[hidx + 1 + extra:]
    body = [r + [None] * (width - len(r)) if len(r) < width else r for r in body]
    arr = np.empty((len(body), width), dtype=object)
    if body:
        arr[:] = body
    literal = opts.literal
    cols = {}
    missing: dict[str, np.ndarray] = {}
    for j, n in enumerate(names + [f"unnamed_{col_letter(j)}" for j in range(len(names), width)]):
        cols[n], mask = _excel_column(arr[:, j], n in literal)
        if mask is not None:
            missing[n] = mask
    frame = pd.DataFrame(cols, copy=False)
    first = header_row + extra + 1
    frame[SOURCE_ROW] = np.arange(first, first + len(frame), dtype=np.int64)
    raw = RawSheet(label, sheet_name, frame, header_row, rename, raw_header, missing_text=missing, notes=notes,
                   extra_header_rows=extra)
    return finish(raw)


def _excel_column(values: np.ndarray, as_text: bool) -> tuple[pd.Series, np.ndarray | None]:
    """An object array of Excel cells -> a typed Series (blank strings become missing).

    Unless ``as_text``, text such as ``N/A`` / ``#N/A`` / ``NULL`` becomes
    missing; the second value is then that text per row (None elsewhere).
    """
    kind = pd.api.types.infer_dtype(values, skipna=True)
    s = pd.Series(values, dtype=object)
    mask = None
    if kind in ("string", "mixed", "mixed-integer"):
        is_blank = np.frompyfunc(lambda v: isinstance(v, str) and not v.strip(), 1, 1)(values).astype(bool)
        hit = np.zeros(len(values), bool)
        if not as_text:
            hit = np.frompyfunc(is_missing_text, 1, 1)(values).astype(bool)
            if hit.any():
                mask = np.array(values, dtype=object, copy=True)
                mask[~hit] = None
        drop = is_blank | hit
        if drop.any():
            s = s.where(~drop, None)
            kind = pd.api.types.infer_dtype(s, skipna=True)
    if as_text:
        return to_text(s), None
    if kind == "empty":
        return pd.Series(np.full(len(s), np.nan), dtype="float64"), mask
    if kind in ("integer", "floating", "mixed-integer-float", "decimal"):
        return pd.to_numeric(s), mask
    if kind == "boolean":
        return s.astype("boolean"), mask
    if kind in ("datetime", "date", "datetime64"):
        try:
            return pd.to_datetime(s).astype("datetime64[ns]"), mask
        except (ValueError, OverflowError):  # a date pandas cannot hold: parsed (and refused) later
            return s, mask
    if kind == "string":
        return s.astype("string[pyarrow]"), mask
    return s, mask  # mixed cells stay as objects; shape readers interpret them
