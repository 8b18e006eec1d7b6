"""``read_survey``: one survey export -> the canonical responses table.

Shapes (see docs/reading-data.md): **wide** (one row per member x timepoint),
**redcap** (raw or label export with ``record_id``, ``redcap_event_name`` and
repeat instrument rows, optionally with the data dictionary: :mod:`._redcap`)
and **qualtrics** (CSV export with its header rows: :mod:`._qualtrics`).

:func:`read_survey_source` returns the typed :class:`~groupeval.io.SourceTable`
that ``load`` validates; :func:`read_survey` returns its public DataFrame.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..base.exceptions import ConfigError, Problem, ReadError, SchemaError
from ..base.schema import SOURCE_FILE, SOURCE_ROW
from ..base.vocab import is_missing_text, norm_name
from ._aliases import ITEM_PATTERN, TABLE_ALIASES, is_item_name
from ._files import read_sheets, recognise_aliases, source_of_sheets
from ._notes import Note
from ._qualtrics import QUALTRICS_DROPPED, is_qualtrics, qualtrics_frame, qualtrics_header
from ._redcap import check_repeat_timepoints, is_redcap, redcap_frame
from ._sheet import MAX_LISTED, RawSheet, date_column
from ._source import SourceTable
from .attendance import _require_rows

__all__ = ["read_survey", "read_survey_source", "FORMATS", "ITEM_PATTERN", "QUALTRICS_DROPPED", "text_to_float"]

FORMATS = ("auto", "wide", "redcap", "qualtrics")
_STR = "string[pyarrow]"
_CANON = ("member_id", "timepoint", "completed_on", "group_id")
_TEXT_NAMES = ("member_id", "timepoint", "group_id", "record_id", "redcap_event_name", "redcap_repeat_instrument")


def _recognise(header: list[str]) -> dict[str, str]:
    """Auto-map common raw names ('Participant ID', 'Wave') and item columns to canonical ones."""
    out = recognise_aliases(header, TABLE_ALIASES["responses"])
    # item columns written with capitals or dashes: PHQ9_1 -> phq9_1, WHOQOL-BREF_3 -> whoqol_bref_3
    taken = set(header) | set(out.values())
    for h in header:
        if h in out or "___" in h or ITEM_PATTERN.match(h):
            continue
        n = norm_name(h)
        if ITEM_PATTERN.match(n) and n not in taken and re.match(r"^[A-Za-z][A-Za-z0-9 _-]*_\d+$", h.strip()):
            out[h] = n
            taken.add(n)
    return out


def _detect(raw: RawSheet) -> str:
    """The export a sheet comes from, told by its raw header (before ``columns=`` renamed anything)."""
    cols = set(raw.frame.columns) | set(raw.raw_header)
    if is_qualtrics(cols):
        return "qualtrics"
    if is_redcap(cols):
        return "redcap"
    return "wide"


_NUMERIC = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


def text_to_float(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Text cells -> float64 (vectorised in Arrow); also the mask of non-blank cells that are not numbers."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pd.api.types.is_numeric_dtype(s.dtype) or (pd.api.types.is_bool_dtype(s.dtype) and not s.isna().any()):
        return s.astype("float64"), np.zeros(len(s), bool)  # TRUE / FALSE items read as 1 / 0
    if not isinstance(s.dtype, pd.StringDtype):
        obj = s.astype(object)
        vals = obj.to_numpy()
        nums = np.fromiter((isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
                            for v in vals), bool, len(vals))
        if nums.all() or (nums | obj.isna().to_numpy()).all():
            return pd.to_numeric(obj, errors="coerce").astype("float64"), np.zeros(len(s), bool)
        s = obj.map(str, na_action="ignore")
    arr = pa.array(s.astype(_STR).array)
    arr = pc.utf8_trim_whitespace(arr)
    ok = pc.match_substring_regex(arr, _NUMERIC)
    num = pc.cast(pc.if_else(ok, arr, pa.scalar(None, pa.string())), pa.float64())
    out = pd.Series(num.to_numpy(zero_copy_only=False), index=s.index, dtype="float64")
    bad = pc.and_(pc.invert(pc.fill_null(ok, True)), pc.not_equal(arr, "")).fill_null(False)
    return out, np.asarray(bad.to_numpy(zero_copy_only=False), dtype=bool)


def _missing_text_notes(raw: RawSheet, items: list[str]) -> list[Note]:
    """One note per item cell whose text (NA, N/A, NULL, #N/A ...) the reader read as missing."""
    rows = raw.frame[SOURCE_ROW].to_numpy()
    notes: list[Note] = []
    for c in items:
        text = raw.missing_text.get(c)
        if text is None:
            continue
        hit = pd.notna(text)
        notes.extend(Note(raw.file, int(r), c, str(v), "missing-value text in an item cell read as unanswered",
                          "repaired") for r, v in zip(rows[hit], text[hit]))
    return notes


def _to_items(f: pd.DataFrame, items: list[str], raw: RawSheet, problems: list[Problem], recode_99: bool,
              notes: list[Note], keep_text: bool = False) -> int:
    """Item columns to float64 (all non-numbers listed); returns how many -99 codes were set to NaN.

    ``keep_text``: a column holding words (answers such as "Strongly agree") stays text, for
    validation to turn answer labels into codes (``read_survey(..., text_items=True)``).
    """
    recoded = 0
    for c in items:
        s = f[c]
        if not pd.api.types.is_numeric_dtype(s.dtype) and s.dtype != bool:
            miss = np.frompyfunc(is_missing_text, 1, 1)(s.to_numpy(dtype=object)).astype(bool)
            if miss.any():  # NA / NULL text left by a reader that keeps text (or a frame given as is)
                notes.extend(Note(raw.file, int(r), c, str(v), "missing-value text in an item cell read as "
                                  "unanswered", "repaired") for r, v in zip(f.loc[miss, SOURCE_ROW], s[miss]))
                s = s.mask(miss)
        num, bad = text_to_float(s)
        if bad.any() and keep_text:
            f[c] = s.astype(object).where(s.notna(), None)
            continue
        if bad.any():
            problems.extend(Problem(raw.label, int(r), c, v, "item response is not a number",
                                    "export numeric values (REDCap: raw data, or give the data dictionary; "
                                    "Qualtrics: 'Use numeric values'), or map labels to codes")
                            for r, v in zip(f.loc[bad, SOURCE_ROW][:MAX_LISTED], s[bad][:MAX_LISTED]))
        if recode_99:
            m = (num == -99).to_numpy()
            if m.any():
                recoded += int(m.sum())
                num = num.mask(m)
        f[c] = num
    return recoded


def _text(s: pd.Series) -> pd.Series:
    if isinstance(s.dtype, pd.StringDtype):
        return s
    if pd.api.types.is_float_dtype(s.dtype):
        v = s.astype(object).map(lambda x: str(int(x)) if float(x).is_integer() else str(x), na_action="ignore")
        return v.astype(_STR)
    return s.astype(object).where(s.notna(), None).map(str, na_action="ignore").astype(_STR)


class _Sheet:
    """One sheet of a survey export while it is being read."""

    def __init__(self, raw: RawSheet, shape: str):
        self.raw, self.shape = raw, shape
        self.frame = raw.frame
        self.items: list[str] = []
        self.notes: list[Note] = []
        self.dropped: list[str] = []
        self.identifiers: dict[str, str] = {}
        self.recoded = 0
        self.keep_text = False  # read_survey(text_items=True): item columns holding words stay text


def _shape_frame(sh: _Sheet, dictionary: Any, events: Mapping[str, str] | None, timepoint: str | None,
                 repeat_timepoints: Any, problems: list[Problem]) -> list[str] | None:
    """Shape-specific reading; returns the dictionary's item columns (None: found by name)."""
    if sh.shape == "qualtrics":
        sh.frame, sh.dropped, notes = qualtrics_frame(sh.raw, _CANON)
        sh.notes += notes
        return None
    if sh.shape == "redcap":
        sh.frame, items, sh.identifiers = redcap_frame(sh.raw, dictionary, events, timepoint, repeat_timepoints,
                                                       problems, sh.notes)
        return items
    return None


def _timepoint_and_member(sh: _Sheet, timepoint: str | None, several: bool) -> None:
    f, raw = sh.frame, sh.raw
    if "timepoint" not in f.columns:
        tp = timepoint if timepoint is not None else (raw.sheet if several else None)
        if tp is None:
            raise SchemaError(
                f"{raw.label} has no timepoint column",
                [Problem(raw.label, raw.header_row, "timepoint", None, "required column is missing",
                         "add a timepoint column (baseline, week_12, ...), map yours with "
                         "columns={'<raw name>': 'timepoint'}, or pass timepoint='baseline'; columns found: "
                         + ", ".join(c for c in f.columns if not c.startswith("_")))])
        sh.frame = f = f.assign(timepoint=pd.Series(tp, index=f.index, dtype=_STR))
    elif timepoint is not None and sh.shape != "redcap":
        raise ConfigError(f"timepoint= was given but {raw.label} has a timepoint column; drop one of them")
    if "member_id" not in f.columns:
        hint = " (Qualtrics: map the embedded-data field or ExternalReference)" if sh.shape == "qualtrics" else ""
        raise SchemaError(
            f"{raw.label} has no member_id column",
            [Problem(raw.label, raw.header_row, "member_id", None, "required column is missing",
                     "name the column of member ids 'member_id' or pass columns={'<raw name>': 'member_id'}"
                     + hint + "; columns found: " + ", ".join(c for c in f.columns if not c.startswith("_")))])


def _read_sheet(sh: _Sheet, dictionary: Any, events: Mapping[str, str] | None, timepoint: str | None,
                repeat_timepoints: Any, dayfirst: bool | None, several: bool, problems: list[Problem]) -> None:
    before = len(problems)
    by_dictionary = _shape_frame(sh, dictionary, events, timepoint, repeat_timepoints, problems)
    if len(problems) > before and "timepoint" not in sh.frame.columns:
        return  # the timepoints could not be told (REDCap repeats): that problem says what to do
    _timepoint_and_member(sh, timepoint, several)
    f = sh.frame
    if by_dictionary is not None:
        items = by_dictionary  # the dictionary decides: a text field named like an item is not one
    else:
        items = [c for c in f.columns if is_item_name(c) and c not in _CANON]
    sh.items = list(dict.fromkeys(items))
    sh.notes += _missing_text_notes(sh.raw, sh.items)
    sh.recoded = _to_items(f, sh.items, sh.raw, problems, sh.shape == "qualtrics", sh.notes, sh.keep_text)
    for c in ("member_id", "timepoint", "group_id"):
        if c in f.columns:
            f[c] = _text(f[c])
    if "completed_on" in f.columns:
        f["completed_on"] = date_column(f, sh.raw.label, "completed_on", sh.raw.day_columns, dayfirst, problems,
                                        sh.notes, "write dates as YYYY-MM-DD")


def _check_options(format: str, events: Any, shape: str, label: str) -> None:
    if events and shape != "redcap":
        raise ConfigError(f"events= maps REDCap event names, but {label} reads as a {shape} export; "
                          "drop events= or pass format='redcap'")


def read_survey_source(path: Any, format: str = "auto", *, columns: Mapping[str, str] | None = None,
                       dictionary: Any = None, events: Mapping[str, str] | None = None, sheet: str | None = None,
                       timepoint: str | None = None, dayfirst: bool | None = None,
                       repeat_timepoints: Any = None, text_items: bool = False) -> SourceTable:
    """:func:`read_survey` as a :class:`~groupeval.io.SourceTable` (what ``load`` validates).

    Same parameters and errors as :func:`read_survey`.  The result's
    ``items``, ``dropped_columns``, ``recoded_minus99``, ``identifiers``
    (REDCap fields flagged ``Identifier? = y``) and ``notes`` (label
    mappings, missing-value text, dropped Qualtrics columns) are the facts of
    the file.
    """
    if format not in FORMATS:
        raise ConfigError(f"format must be one of {FORMATS}, got {format!r}")
    check_repeat_timepoints(repeat_timepoints)
    plan = qualtrics_header if format in ("auto", "qualtrics") else None
    sheets = read_sheets(path, sheet=sheet, columns=columns, recognise=_recognise, text_names=_TEXT_NAMES,
                         header_plan=plan)
    _require_rows(sheets)
    problems: list[Problem] = []
    done: list[_Sheet] = []
    for raw in sheets:
        shape = _detect(raw) if format == "auto" else format
        if format == "auto" and (dictionary is not None or repeat_timepoints is not None) and shape == "wide":
            shape = "redcap"
        _check_options(format, events, shape, raw.label)
        sh = _Sheet(raw, shape)
        sh.keep_text = text_items
        _read_sheet(sh, dictionary, events, timepoint, repeat_timepoints, dayfirst, len(sheets) > 1, problems)
        done.append(sh)
    if problems:
        raise ReadError(f"survey file {sheets[0].file} cannot be read", problems)
    return _source(sheets, done)


def _source(sheets: list[RawSheet], done: list[_Sheet]) -> SourceTable:
    out = done[0].frame if len(done) == 1 else pd.concat([s.frame for s in done], ignore_index=True)
    items = list(dict.fromkeys(i for s in done for i in s.items))
    lead = [c for c in _CANON if c in out.columns] + items
    tail = [SOURCE_FILE, SOURCE_ROW]
    out = out[lead + [c for c in out.columns if c not in lead and c not in tail] + tail].reset_index(drop=True)
    shapes = {s.shape for s in done}
    return source_of_sheets(
        "responses", sheets, out, sheet_shapes={s.raw.label: s.shape for s in done},
        shape=shapes.pop() if len(shapes) == 1 else "mixed", notes=tuple(n for s in done for n in s.notes),
        items=tuple(items), dropped_columns=tuple(c for s in done for c in s.dropped),
        recoded_minus99=sum(s.recoded for s in done),
        identifiers={k: v for s in done for k, v in s.identifiers.items()})


def read_survey(path: Any, format: str = "auto", *, columns: Mapping[str, str] | None = None, dictionary: Any = None,
                events: Mapping[str, str] | None = None, sheet: str | None = None,
                timepoint: str | None = None, dayfirst: bool | None = None,
                repeat_timepoints: Any = None, text_items: bool = False) -> pd.DataFrame:
    """Read a survey export (wide, REDCap or Qualtrics) into the canonical responses table.

    Parameters
    ----------
    path
        CSV / XLSX / Parquet file.
    format
        ``"auto"`` (default), ``"wide"``, ``"redcap"`` or ``"qualtrics"``.
        Auto: ``ResponseId`` + ``StartDate`` columns (also under the legacy
        ``V1 .. Vn`` header) -> Qualtrics; ``redcap_event_name`` /
        ``redcap_repeat_instrument`` columns (or ``record_id`` with
        ``<form>_complete`` columns, or a ``dictionary=``) -> REDCap;
        otherwise wide.
    columns
        Raw -> canonical renames (``{"Participant ID": "member_id",
        "Q1_1": "phq9_1"}``).  Without them ``Member ID`` / ``participant_id``
        -> ``member_id``, ``wave`` -> ``timepoint``, ``completion_date`` ->
        ``completed_on`` and ``PHQ9_1`` -> ``phq9_1`` are recognised.
    dictionary
        REDCap data dictionary (path or DataFrame; the classic export or the
        API metadata).  It decides which fields are items (radio / dropdown
        with numeric codes, yesno, truefalse, slider, checkbox options); text,
        notes, date, phone, e-mail, file and calc fields never are.  Label
        exports are mapped back to codes (also Yes/No, True/False,
        Checked/Unchecked); text-coded choices keep their code as text;
        number-validated text fields become numbers (comma decimals where
        validated so).
    events
        REDCap event -> timepoint, e.g. ``{"baseline_arm_1": "baseline"}``.
        Events not listed lose their ``_arm_<n>`` suffix.
    sheet
        Read one sheet of a workbook only (several sheets are stacked; without
        a timepoint column a sheet's name is its timepoint).
    timepoint
        The timepoint of a file that holds one (e.g. a Qualtrics survey per
        wave); for a REDCap export with repeating instruments, the timepoint
        of the non-repeating rows.
    dayfirst
        Reading of dates such as ``03/02/2025`` in ``completed_on``.
    text_items
        Keep item columns that hold words (answers such as "Strongly agree")
        as text instead of refusing them; :func:`groupeval.load` reads
        surveys so, and validation turns answer labels into codes.
    repeat_timepoints
        REDCap repeating instruments: how instances map to timepoints, as
        ``{1: "baseline", 2: "week_12"}`` or a template such as
        ``"visit_{instance}"`` (``{instrument}`` and ``{event}`` may be used).
        Needed when a record has several instances.  The fields of a record's
        non-repeating row are then carried onto its repeat rows (unless the
        export has events or ``timepoint=`` is given: then that row is a
        timepoint of its own).

    Returns
    -------
    DataFrame
        ``member_id`` (string), ``timepoint`` (string), ``completed_on``
        (``datetime64[ns]``, when present), ``group_id`` (string, when
        present), the item columns as float64 (NaN = unanswered), other
        columns of the file, ``_source_file`` and ``_source_row``
        (spreadsheet row; Qualtrics header rows are counted, so the first
        response is row 4; a merged REDCap row gives its first source row).

        ``df.attrs`` (a summary; :func:`read_survey_source` gives the typed
        facts): ``groupeval_shape``, ``groupeval_items`` (item columns),
        ``groupeval_dropped_columns`` (Qualtrics IP / location columns and
        empty contact columns), ``groupeval_recoded_minus99`` (Qualtrics -99
        "seen but unanswered" codes set to NaN), ``groupeval_blank_rows``,
        ``groupeval_notes``.

    Raises
    ------
    ReadError
        Item values that are not numbers (all listed), values that are not a
        choice of their REDCap field, REDCap rows of one member and event that
        disagree, several instances of a repeating instrument without
        ``repeat_timepoints=``, records in several arms of one event,
        unreadable dates, plus every file-level problem of :func:`read_table`.
    SchemaError
        No member id or timepoint column; a data dictionary without its
        field name and type columns.
    ConfigError
        A bad ``format=`` / ``events=`` / ``repeat_timepoints=``.
    """
    return read_survey_source(path, format, columns=columns, dictionary=dictionary, events=events, sheet=sheet,
                              timepoint=timepoint, dayfirst=dayfirst, repeat_timepoints=repeat_timepoints,
                              text_items=text_items).to_frame()
