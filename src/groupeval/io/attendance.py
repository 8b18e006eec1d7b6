"""``read_attendance``: one attendance file -> the canonical attendance table.

Shapes (see docs/reading-data.md):

* **roster** - one row per member x session with a mark column
  (``attended``, ``status`` or a column called mark / attendance / present);
* **signin** - one row per member who signed in (present rows only);
* **wide** - one row per member, one column per session date; an Excel
  workbook may hold one such sheet per group (the sheet name is the group).

:func:`read_attendance_source` returns the typed
:class:`~groupeval.io.SourceTable` that ``load`` validates;
:func:`read_attendance` returns its public DataFrame.
"""
from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from typing import Any

import pandas as pd

from ..base.exceptions import ConfigError, DataQualityWarning, Problem, ReadError, SchemaError
from ..base.schema import SOURCE_FILE, SOURCE_ROW
from ._aliases import TABLE_ALIASES
from ._attendance_base import STR, Problems, drop_footer_rows
from ._dates import _DMY, _ISO, _ISO_SLASH, infer_dayfirst, parse_dates
from ._files import read_sheets, recognise_aliases, source_of_sheets
from ._notes import Note
from ._roster import roster_frame
from ._sheet import RawSheet
from ._source import BLANK_CELL, SOURCE_COLUMN, SourceTable, _empty_sessions_note
from ._wide import WideInfo, orphan_mark_columns, wide_frame

__all__ = ["read_attendance", "read_attendance_source", "SOURCE_COLUMN", "BLANK_CELL", "FORMATS", "BLANK_RULES"]

FORMATS = ("auto", "roster", "signin", "wide")
BLANK_RULES = ("absent", "not_scheduled")

_MONTHS = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_TEXT_DATE = re.compile(rf"^(\d{{1,2}}[ -]{_MONTHS}[ -,]*\d{{2,4}}|{_MONTHS} \d{{1,2}},? \d{{4}})$", re.I)
#: a date without a year: "Jan 09", "9 January", "09/01"
_PARTIAL_DATE = re.compile(rf"^(\d{{1,2}}(st|nd|rd|th)?[ -]{_MONTHS}|{_MONTHS}[ -]?\d{{1,2}}(st|nd|rd|th)?"
                           r"|\d{1,2}[/.]\d{1,2})$", re.I)
_SERIAL = re.compile(r"^\d{5}$")
_SERIAL_RANGE = (36526, 73051)  # Excel serial day numbers of 2000-01-01 .. 2099-12-31
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")


def _recognise(header: list[str]) -> dict[str, str]:
    """Auto-map common raw names ('Member ID', 'Date', 'Group') to canonical ones."""
    return recognise_aliases(header, TABLE_ALIASES["attendance"])


def _is_date_header(h: str) -> bool:
    h = h.strip()
    return bool(_ISO.match(h) or _ISO_SLASH.match(h) or _DMY.match(h) or _TEXT_DATE.match(h))


def _serial_headers(cols: list[str]) -> list[str]:
    """Headers that are Excel serial dates shown as numbers (45717 = 2025-03-02): two or more needed."""
    hits = [c for c in cols if _SERIAL.match(c.strip()) and _SERIAL_RANGE[0] <= int(c) < _SERIAL_RANGE[1]]
    return hits if len(hits) >= 2 else []


def _columns(raw: RawSheet) -> list[str]:
    return [c for c in raw.frame.columns if not c.startswith("_")]


def _shape_of(raw: RawSheet) -> tuple[str | None, list[str], list[str]]:
    """(shape, date header columns, headers that are dates without a year)."""
    cols = _columns(raw)
    date_cols = [c for c in cols if _is_date_header(c)] + _serial_headers(cols)
    partial = [c for c in cols if _PARTIAL_DATE.match(c.strip()) and c not in date_cols]
    if (date_cols or len(partial) >= 2) and "session_date" not in cols:
        return "wide", date_cols, partial
    if "session_date" in cols:
        return ("roster" if ("status" in cols or "attended" in cols) else "signin"), date_cols, []
    return None, date_cols, partial


def _explain(raw: RawSheet) -> str:
    return (f"{raw.label}: no column holds session dates (looked for 'session_date' or 'date') and no column "
            f"header is a date (as in a wide sheet); columns found: {_columns(raw)}. Pass format='roster', "
            f"'signin' or 'wide', and columns={{'<your date column>': 'session_date'}} if the dates have another "
            "name; in a wide sheet write the session dates (with the year) in the header row.")


def _require_rows(sheets: list[RawSheet]) -> None:
    if all(len(r.frame) == 0 for r in sheets):
        raise ReadError(f"{sheets[0].file} has a header but no data rows",
                        [Problem(r.label, r.header_row + 1, None, None, "no data below the header",
                                 "export the table again with its rows") for r in sheets])


def _classify(sheets: list[RawSheet], format: str) -> tuple[list[tuple[RawSheet, str, list[str], list[str]]],
                                                              list[str]]:
    """Each sheet's shape (sheets that are not attendance skipped when there are several)."""
    classified = []
    skipped = []
    for raw in sheets:
        shape, date_cols, partial = _shape_of(raw)
        if format != "auto":
            if format == "wide" and not date_cols and not partial:
                raise ReadError(f"{raw.label} is not a wide attendance sheet",
                                [Problem(raw.label, raw.header_row, None, None, "no column header is a session date",
                                         "write session dates in the header row (e.g. 2025-03-02), "
                                         "or pass format='roster' / 'signin'")])
            shape = format
        if shape is None:
            if len(sheets) > 1:
                skipped.append(raw.label)
                continue
            raise ReadError(f"cannot tell the shape of attendance file {raw.label}",
                            [Problem(raw.label, raw.header_row, None, None, _explain(raw))])
        classified.append((raw, shape, date_cols, partial))
    if not classified:
        raise ReadError(f"no sheet of {sheets[0].file} looks like attendance",
                        [Problem(r.label, r.header_row, None, None, _explain(r)) for r in sheets])
    shapes = {s for _, s, _, _ in classified}
    if len(shapes) > 1 and "signin" in shapes:
        raise ReadError("sheets mix a sign-in log with other shapes",
                        [Problem(r.label, None, None, s, "shape of this sheet") for r, s, _, _ in classified])
    return classified, skipped


def _header_dates(classified: list[tuple[RawSheet, str, list[str], list[str]]], dayfirst: bool | None,
                  problems: Problems) -> dict[str, pd.Timestamp]:
    """The date of every wide-sheet header, with one day-first decision across the file."""
    headers = [c for raw, s, dc, _ in classified if s == "wide" for c in dc]
    label_of = {c: raw.label for raw, s, dc, _ in reversed(classified) if s == "wide" for c in dc}
    out: dict[str, pd.Timestamp] = {}
    for h in headers:
        if _SERIAL.match(h.strip()):
            out[h] = _EXCEL_EPOCH + pd.Timedelta(days=int(h))
    texts = [h for h in headers if h not in out]
    if texts:
        used = infer_dayfirst(texts, label=classified[0][0].file, column=None, dayfirst=dayfirst)
        parsed, bad, _ = parse_dates(pd.Series(texts, dtype=object), dayfirst=used)
        for h, d, b in zip(texts, parsed, bad):
            if b or pd.isna(d):
                problems.append(Problem(label_of[h], None, h, h, "column header is not a valid date",
                                        "correct the date in the header"))
            else:
                out[h] = d
    return out


def _frames(classified: list[tuple[RawSheet, str, list[str], list[str]]], header_dates: dict[str, pd.Timestamp],
            group: str | None, blank: str | None, dayfirst: bool | None, problems: Problems,
            info: WideInfo) -> list[pd.DataFrame]:
    frames = []
    for raw, shape, date_cols, partial in classified:
        if shape == "wide":
            problems.extend(orphan_mark_columns(raw, date_cols, partial))
            info.notes.extend(drop_footer_rows(raw, date_cols, len(date_cols)))
            if not date_cols or any(c not in header_dates for c in date_cols):
                continue  # the header problems say what to do
            frames.append(wide_frame(raw, date_cols, header_dates, group, blank, problems, info))
        else:
            mark = [c for c in ("status", "attended") if c in raw.frame.columns]
            info.notes.extend(drop_footer_rows(raw, mark))
            frames.append(roster_frame(raw, shape, group, blank, dayfirst, problems, info.notes, info.cancelled))
    return frames


def _stack(frames: list[pd.DataFrame]) -> pd.DataFrame:
    if len(frames) == 1:
        return frames[0]
    out = pd.concat(frames, ignore_index=True)
    lead = ["member_id", "group_id", "session_date", "attended", "status"]
    tail = [SOURCE_FILE, SOURCE_ROW, SOURCE_COLUMN, BLANK_CELL]
    out = out[lead + [c for c in out.columns if c not in lead and c not in tail] + tail]
    for c in ("member_id", "group_id", SOURCE_FILE):
        if not isinstance(out[c].dtype, pd.StringDtype):
            out[c] = out[c].astype(STR)
    out[SOURCE_COLUMN] = out[SOURCE_COLUMN].astype("category")
    out[BLANK_CELL] = out[BLANK_CELL].fillna(False).astype(bool)
    return out


def _check_options(format: str, blank: str | None) -> None:
    if format not in FORMATS:
        raise ConfigError(f"format must be one of {FORMATS}, got {format!r}")
    if blank is not None and blank not in BLANK_RULES:
        raise ConfigError(f"blank must be one of {BLANK_RULES} or None, got {blank!r}")


def read_attendance_source(path: Any, format: str = "auto", *, columns: Mapping[str, str] | None = None,
                           group: str | None = None, blank: str | None = None, sheet: str | None = None,
                           dayfirst: bool | None = None) -> SourceTable:
    """:func:`read_attendance` as a :class:`~groupeval.io.SourceTable` (what ``load`` validates).

    Same parameters and errors as :func:`read_attendance`.  The result's
    ``table`` holds the canonical columns and the file's extra columns;
    ``column`` / ``blank_cell`` the per-row provenance; ``shape``,
    ``cancelled``, ``empty_sessions``, ``skipped_sheets`` and ``notes`` the
    facts of the file (every mark cell that gives no row is counted in a note).
    """
    _check_options(format, blank)
    sheets = read_sheets(path, sheet=sheet, columns=columns, recognise=_recognise,
                         text_names=("member_id", "group_id"), csv_text_names=("status", "attended"),
                         text_if=_is_date_header)
    _require_rows(sheets)
    classified, skipped = _classify(sheets, format)
    if skipped:
        warnings.warn(f"sheets skipped (not attendance): {skipped}", DataQualityWarning, stacklevel=3)
    problems = Problems()
    header_dates = _header_dates(classified, dayfirst, problems)
    info = WideInfo()
    frames = _frames(classified, header_dates, group, blank, dayfirst, problems, info)
    file = sheets[0].file
    if problems.schema:
        raise SchemaError(f"attendance file {file} lacks a group", problems.schema)
    if problems:
        raise ReadError(f"attendance file {file} cannot be read", problems)
    out = _stack(frames)
    shapes = {s for _, s, _, _ in classified}
    notes: list[Note] = list(info.notes)
    if info.empty_sessions:
        notes.append(_empty_sessions_note(file, info.empty_sessions))
    return source_of_sheets(
        "attendance", sheets, pd.DataFrame({c: out[c] for c in out.columns if c not in (SOURCE_COLUMN, BLANK_CELL)},
                                           copy=False),
        sheet_shapes={r.label: s for r, s, _, _ in classified}, blank_rules=info.blank,
        column=out[SOURCE_COLUMN].array, blank_cell=out[BLANK_CELL].to_numpy(dtype=bool),
        shape=shapes.pop() if len(shapes) == 1 else "wide", notes=tuple(notes),
        cancelled=tuple(info.cancelled), empty_sessions=tuple(info.empty_sessions), skipped_sheets=tuple(skipped))


def read_attendance(path: Any, format: str = "auto", *, columns: Mapping[str, str] | None = None,
                    group: str | None = None, blank: str | None = None, sheet: str | None = None,
                    dayfirst: bool | None = None) -> pd.DataFrame:
    """Read an attendance file (roster, sign-in log or wide sheet) into the canonical table.

    Parameters
    ----------
    path
        CSV (delimiter and encoding sniffed), XLSX or Parquet file.  An Excel
        workbook may hold one sheet per group; the sheet name is then the
        ``group_id`` (unless the sheet has a ``group_id`` column).
    format
        ``"auto"`` (default), ``"roster"``, ``"signin"`` or ``"wide"``.  Auto:
        a sheet whose column headers are dates is *wide*; a sheet with a
        ``session_date`` column and a mark column (``status`` / ``attended``,
        or a column named mark / attendance / present) is a *roster*; a sheet
        with a ``session_date`` column and no mark column is a *sign-in log*.
    columns
        Raw -> canonical renames, e.g. ``{"Participant ID": "member_id"}``
        (a blank header cell is ``unnamed_<letter>``).  Without them common
        names are recognised: ``Member ID`` / ``member`` / ``participant_id``
        -> ``member_id``; ``Group`` -> ``group_id``; ``Date`` / ``Meeting
        date`` -> ``session_date``.
    group
        The group of a single-group file without a ``group_id`` column.
    blank
        What a blank mark means: ``"absent"`` or ``"not_scheduled"`` (no row).
        Default for wide sheets: ``"not_scheduled"`` when the sheet marks
        absences explicitly (``A``, ``0``, ``N``, ``E``), else ``"absent"``
        (presence-only sheet).  Rosters with blank marks need it.
    sheet
        Read one sheet of a workbook only.
    dayfirst
        Force the reading of dates such as ``03/02/2025`` (``True`` = 3 Feb).
        By default it is inferred from all dates of the file.

    Returns
    -------
    DataFrame
        ``member_id`` (string), ``group_id`` (string), ``session_date``
        (``datetime64[ns]``, day), ``attended`` (bool), ``status`` (category:
        present / absent / excused / late), any extra columns of the file, and
        provenance: ``_source_file``, ``_source_row`` (spreadsheet row; for a
        wide sheet the member's row), ``_source_column`` (category: the date
        header of a wide sheet, the mark column of a roster) and ``_blank_cell``
        (True for absence rows made from blank cells).

        ``df.attrs`` (a summary; :func:`read_attendance_source` gives the
        typed facts): ``groupeval_shape`` (``"roster"`` / ``"signin"`` /
        ``"wide"``); ``groupeval_blank`` ({sheet label: rule used for its
        blank cells}); ``groupeval_cancelled`` and ``groupeval_empty_sessions``
        (lists of (group, date) for sessions marked cancelled or wide-sheet
        columns left entirely blank: they give no rows);
        ``groupeval_skipped_sheets``; ``groupeval_blank_rows`` (rows with no
        value at all, skipped); ``groupeval_notes`` (what the reader excluded
        or repaired: a totals row, merged cells, dates in another format).

    Raises
    ------
    ReadError
        Unrecognised marks (every one listed with row and column), dates that
        cannot be read or whose day/month order is ambiguous, session columns
        without a readable date (no year, empty formula header), shapes that
        cannot be told apart, plus every file-level problem of
        :func:`read_table`.
    SchemaError
        A required column (``member_id``, ``session_date``, a mark column, a
        group) is missing.

    Notes
    -----
    Sign-in logs hold present rows only; absences are inferred from the
    group's sessions and the member's enrolment by :func:`groupeval.load`.
    Likewise the absence rows a presence-only wide sheet yields for blank cells
    (``_blank_cell=True``) are trimmed to the member's enrolment there.  Excused
    absences have ``attended=False, status="excused"``; late arrivals
    ``attended=True, status="late"``.  A totals / summary row at the foot of
    the register ("Total", "# present") is excluded (one note).

    Examples
    --------
    >>> att = read_attendance("attendance.xlsx")          # doctest: +SKIP
    >>> att = read_attendance("signin.csv", group="G01")  # doctest: +SKIP
    """
    return read_attendance_source(path, format, columns=columns, group=group, blank=blank, sheet=sheet,
                                  dayfirst=dayfirst).to_frame()
