"""``read_attendance``: one attendance file -> the canonical attendance table.

Shapes (see docs/reading-data.md):

* **roster** - one row per member x session with a mark column
  (``attended``, ``status`` or a column called mark / attendance / present);
* **signin** - one row per member who signed in (present rows only);
* **wide** - one row per member, one column per session date; an Excel
  workbook may hold one such sheet per group (the sheet name is the group).
"""
from __future__ import annotations

import re
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..base.exceptions import ConfigError, DataQualityWarning, Problem, ReadError, SchemaError
from ..base.schema import ATTENDANCE_STATUS, SOURCE_FILE, SOURCE_ROW
from . import _marks as mk
from ._dates import _DMY, _ISO, _ISO_SLASH, infer_dayfirst, parse_dates
from ._files import RawSheet, read_sheets, recognise_aliases
from ._files import const_str as _const_str

__all__ = ["read_attendance", "SOURCE_COLUMN", "BLANK_CELL", "FORMATS"]

#: provenance: the raw column (the date header of a wide sheet, the mark column of a roster)
SOURCE_COLUMN = "_source_column"
#: provenance: True for absence rows made from a blank cell of a presence-only wide sheet
BLANK_CELL = "_blank_cell"
FORMATS = ("auto", "roster", "signin", "wide")
BLANK_RULES = ("absent", "not_scheduled")
STATUS_DTYPE = pd.CategoricalDtype(list(ATTENDANCE_STATUS))
_STR = "string[pyarrow]"

_ALIASES = {
    "member_id": ("member_id", "member", "participant_id", "participant", "client_id", "person_id", "member_code"),
    "group_id": ("group_id", "group", "group_code", "group_name"),
    "session_date": ("session_date", "date", "session", "meeting_date", "attendance_date", "sign_in_date",
                     "signed_in", "date_attended", "timestamp", "signed_in_at", "check_in"),
    "status": ("status", "attendance_status"),
    "attended": ("attended", "attendance", "mark", "present", "here"),
}
_DEFAULT_SHEET = re.compile(r"^(sheet|feuil|tabelle|hoja|blad|foglio)\s*\d*$", re.I)
_MONTHS = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_TEXT_DATE = re.compile(rf"^(\d{{1,2}}[ -]{_MONTHS}[ -,]*\d{{2,4}}|{_MONTHS} \d{{1,2}},? \d{{4}})$", re.I)


def _recognise(header: list[str]) -> dict[str, str]:
    """Auto-map common raw names ('Member ID', 'Date', 'Group') to canonical ones."""
    return recognise_aliases(header, _ALIASES)


def _is_date_header(h: str) -> bool:
    h = h.strip()
    return bool(_ISO.match(h) or _ISO_SLASH.match(h) or _DMY.match(h) or _TEXT_DATE.match(h))


_SERIAL = re.compile(r"^\d{5}$")
_SERIAL_RANGE = (36526, 73051)  # Excel serial day numbers of 2000-01-01 .. 2099-12-31
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")


def _serial_headers(cols: list[str]) -> list[str]:
    """Headers that are Excel serial dates shown as numbers (45717 = 2025-03-02): two or more needed."""
    hits = [c for c in cols if _SERIAL.match(c.strip()) and _SERIAL_RANGE[0] <= int(c) < _SERIAL_RANGE[1]]
    return hits if len(hits) >= 2 else []


def _shape_of(raw: RawSheet) -> tuple[str | None, list[str]]:
    cols = [c for c in raw.frame.columns if not c.startswith("_")]
    date_cols = [c for c in cols if _is_date_header(c)] + _serial_headers(cols)
    if date_cols and "session_date" not in cols:
        return "wide", date_cols
    if "session_date" in cols:
        return ("roster" if ("status" in cols or "attended" in cols) else "signin"), date_cols
    return None, date_cols


def _explain(raw: RawSheet) -> str:
    cols = [c for c in raw.frame.columns if not c.startswith("_")]
    return (f"{raw.label}: no column holds session dates (looked for 'session_date' or 'date') and no column "
            f"header is a date (as in a wide sheet); columns found: {cols}. Pass format='roster', 'signin' or "
            f"'wide', and columns={{'<your date column>': 'session_date'}} if the dates have another name.")


def _group_for(raw: RawSheet, group: str | None, problems: list[Problem]) -> pd.Series | str | None:
    f = raw.frame
    if "group_id" in f.columns:
        if group is not None:
            raise ConfigError(f"group={group!r} was given but {raw.label} has a group_id column; "
                              "drop group= (the column is used) or remove the column")
        return None
    if group is not None:
        return str(group)
    if raw.sheet is not None and not _DEFAULT_SHEET.match(raw.sheet.strip()):
        return raw.sheet.strip()
    problems.append(Problem(raw.label, raw.header_row, "group_id", None,
                            "the file has no group_id column and nothing names the group",
                            "add a group_id column, pass group='<group id>', or name each sheet after its group"))
    return ""  # placeholder; the SchemaError is raised once every sheet is checked


def _unknown_problems(raw: RawSheet, rows: np.ndarray, cols: list[str], values: list) -> list[Problem]:
    return [Problem(raw.label, int(r), c, v, "unrecognised attendance mark",
                    f"use one of: {mk.ACCEPTED}") for r, c, v in zip(rows, cols, values)]


def _str_array(s: pd.Series):
    """A Series as a pyarrow-backed string array (no copy when it already is one)."""
    if isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow":
        return s.array
    return s.astype(_STR).array


def _finish_frame(parts: dict, extras: Mapping, tail: dict) -> pd.DataFrame:
    """Columns in their final order: canonical, extras (name -> array), provenance."""
    cols = dict(parts)
    for c, arr in extras.items():
        if c not in cols and c not in (SOURCE_FILE, SOURCE_ROW):
            cols[c] = arr
    cols.update(tail)
    return pd.DataFrame(cols, copy=False)


def _roster(raw: RawSheet, shape: str, group, blank: str | None, dayfirst, problems) -> pd.DataFrame:
    f = raw.frame
    need = ["member_id", "session_date"] + (["status|attended"] if shape == "roster" else [])
    missing = [c for c in need if not any(x in f.columns for x in c.split("|"))]
    if missing:
        raise SchemaError(
            f"{raw.label} lacks required attendance columns for a {shape}",
            [Problem(raw.label, raw.header_row, c.replace("|", " or "), None, "required column is missing",
                     "rename the column with columns={'<raw name>': '" + c.split("|")[0] + "'}; columns found: "
                     + ", ".join(x for x in f.columns if not x.startswith("_")))
             for c in missing])
    n = len(f)
    if "session_date" in raw.day_columns:  # parsed by pyarrow as calendar dates: nothing to check
        dates, bad = f["session_date"], np.zeros(n, dtype=bool)
    else:
        dates, bad, _ = parse_dates(f["session_date"], dayfirst=dayfirst, label=raw.label, column="session_date")
    if bad.any():
        vals = f["session_date"].to_numpy(dtype=object)[bad]
        problems.extend(Problem(raw.label, int(r), "session_date", v, "not a date",
                                "write dates as YYYY-MM-DD (or DD/MM/YYYY consistently)")
                        for r, v in zip(f[SOURCE_ROW].to_numpy()[bad], vals))
    mark_col = None
    keep = np.ones(n, bool)
    blank_cell = np.zeros(n, bool)
    if shape == "signin":
        attended = np.ones(n, bool)
        status = np.zeros(n, np.int8) + mk.PRES
    else:
        mark_col = "status" if "status" in f.columns else "attended"
        codes = mk.classify_marks(f[mark_col])
        if "status" in f.columns and "attended" in f.columns:
            c2 = mk.classify_marks(f["attended"])
            pres1 = np.isin(codes, (mk.PRES, mk.LAT))
            pres2 = np.isin(c2, (mk.PRES, mk.LAT))
            known = ~np.isin(codes, (mk.BLANK, mk.UNKNOWN)) & ~np.isin(c2, (mk.BLANK, mk.UNKNOWN))
            conflict = known & (pres1 != pres2)
            problems.extend(Problem(raw.label, int(r), "attended", f"status={s!r}, attended={a!r}",
                                    "status and attended disagree", "correct one of the two columns")
                            for r, s, a in zip(f[SOURCE_ROW].to_numpy()[conflict],
                                               f["status"].to_numpy(object)[conflict],
                                               f["attended"].to_numpy(object)[conflict]))
            codes = np.where(codes == mk.BLANK, c2, codes)
        unk = codes == mk.UNKNOWN
        if unk.any():
            problems.extend(_unknown_problems(raw, f[SOURCE_ROW].to_numpy()[unk], [mark_col] * int(unk.sum()),
                                              list(f[mark_col].to_numpy(object)[unk])))
        blanks = codes == mk.BLANK
        if blanks.any():
            if blank is None:
                problems.extend(Problem(raw.label, int(r), mark_col, None, "the attendance mark is blank",
                                        "write A (absent) or P (present), delete the row if the member was not "
                                        "scheduled, or pass blank='absent' / blank='not_scheduled'")
                                for r in f[SOURCE_ROW].to_numpy()[blanks][:1000])
            elif blank == "absent":
                codes = np.where(blanks, mk.ABS, codes)
                blank_cell = blanks
            else:
                keep &= ~blanks
        keep &= codes != mk.CANC
        attended = _ATTENDED_LUT[codes]
        status = codes
    grp = _group_for(raw, group, problems.schema)
    gid = _str_array(f["group_id"]) if grp is None and "group_id" in f.columns else _const_str(grp, n)
    st = _status_series(status, blank_absent=True)
    parts = {
        "member_id": _str_array(f["member_id"]),
        "group_id": gid,
        "session_date": dates.to_numpy(),
        "attended": attended,
        "status": st,
    }
    canonical = ("member_id", "group_id", "session_date", "status", "attended")
    extras = {c: f[c].array for c in f.columns if c not in canonical}
    tail = {SOURCE_FILE: f[SOURCE_FILE].array, SOURCE_ROW: f[SOURCE_ROW].to_numpy(),
            SOURCE_COLUMN: pd.Categorical.from_codes(np.zeros(n, np.int8), categories=[mark_col or "session_date"]),
            BLANK_CELL: blank_cell}
    out = _finish_frame(parts, extras, tail)
    if not keep.all():
        out = out.loc[keep].reset_index(drop=True)
    return out


def _status_lut(blank_absent: bool) -> np.ndarray:
    # PRES, LAT -> present/late; ABS -> absent; EXC -> excused; with blank_absent also
    # BLANK, UNKNOWN, CANC -> absent (rows that are dropped or raise anyway)
    lut = np.full(8, 1 if blank_absent else -1, dtype=np.int8)
    lut[mk.PRES] = 0
    lut[mk.LAT] = 3
    lut[mk.ABS] = 1
    lut[mk.EXC] = 2
    return lut


_STATUS_LUTS = {False: _status_lut(False), True: _status_lut(True)}


def _status_series(codes: np.ndarray, blank_absent: bool = False) -> pd.Categorical:
    return pd.Categorical.from_codes(_STATUS_LUTS[blank_absent][codes], dtype=STATUS_DTYPE, validate=False)


def _wide(raw: RawSheet, date_cols: list[str], header_dates: dict[str, pd.Timestamp], group, blank,
          problems, info) -> pd.DataFrame:
    f = raw.frame
    if "member_id" not in f.columns:
        raise SchemaError(
            f"{raw.label} lacks a member_id column",
            [Problem(raw.label, raw.header_row, "member_id", None, "required column is missing",
                     "name the column of member ids 'member_id' or pass columns={'<raw name>': 'member_id'}; "
                     "columns found: " + ", ".join(c for c in f.columns if not c.startswith("_")))])
    # duplicate session dates (same date written two ways)
    seen: dict[pd.Timestamp, str] = {}
    for c in date_cols:
        d = header_dates[c]
        if d in seen:
            problems.append(Problem(raw.label, raw.header_row, c, str(d.date()),
                                    f"the same session date as column {seen[d]!r}",
                                    "merge the two columns into one"))
        seen[d] = c
    grp = _group_for(raw, group, problems.schema)
    date_cols = sorted(date_cols, key=lambda c: header_dates[c])  # chronological
    n, k = len(f), len(date_cols)
    codes = np.empty((n, k), dtype=np.int8)
    for j, c in enumerate(date_cols):  # one vectorised lookup per session column
        codes[:, j] = mk.classify_marks(f[c])
    unk = codes == mk.UNKNOWN
    if unk.any():
        r, c = np.nonzero(unk)
        problems.extend(_unknown_problems(raw, f[SOURCE_ROW].to_numpy()[r], [date_cols[j] for j in c],
                                          [f[date_cols[j]].iloc[i] for i, j in zip(r, c)]))
    explicit = bool(_EXPLICIT_LUT[codes].any())
    rule = blank or ("not_scheduled" if explicit else "absent")
    info["blank"][raw.label] = rule
    # per group and session column: did the group meet?  A column with no attendance
    # mark for any of the group's members (blank or "cancelled") is a session that did
    # not take place for that group and gives no rows.
    if grp is not None:
        gcodes, gnames = np.zeros(n, np.intp), [grp]
    else:
        gcodes, gnames = pd.factorize(f["group_id"], use_na_sentinel=False)
        gnames = [str(g) for g in gnames]
    G = len(gnames)

    def per_group(mask: np.ndarray) -> np.ndarray:
        if G == 1:
            return mask.any(axis=0, keepdims=True)
        return pd.DataFrame(mask).groupby(gcodes, sort=True).any().reindex(range(G), fill_value=False).to_numpy()

    blank_m = codes == mk.BLANK
    real = per_group(_REAL_LUT[codes])
    marked = per_group(~blank_m)
    cancelled = marked & ~real
    has = marked.any(axis=1)
    first = marked.argmax(axis=1)
    last = k - 1 - marked[:, ::-1].argmax(axis=1)
    cols = np.arange(k)[None, :]
    gap = ~marked & has[:, None] & (cols >= first[:, None]) & (cols <= last[:, None])
    for g, j in zip(*np.nonzero(cancelled)):
        info["cancelled"].append((gnames[g], str(header_dates[date_cols[j]].date())))
    for g, j in zip(*np.nonzero(gap)):
        info["empty_sessions"].append((gnames[g], str(header_dates[date_cols[j]].date())))
    keep = _ROW_LUT[codes] & real[gcodes]
    if rule == "not_scheduled":
        keep &= ~blank_m
    flat = keep.ravel()
    ri = np.repeat(np.arange(n), k)[flat]
    ci = np.tile(np.arange(k), n)[flat]
    cflat = codes.ravel()[flat]
    cflat[cflat == mk.BLANK] = mk.ABS
    dates = np.array([header_dates[c].to_datetime64() for c in date_cols], dtype="datetime64[ns]")
    gid = _str_array(f["group_id"]).take(ri) if grp is None else _const_str(grp, len(ri))
    parts = {
        "member_id": _str_array(f["member_id"]).take(ri),
        "group_id": gid,
        "session_date": dates[ci],
        "attended": _ATTENDED_LUT[cflat],
        "status": _status_series(cflat),
    }
    rest = [c for c in f.columns if c not in date_cols and c not in ("member_id", "group_id", SOURCE_FILE, SOURCE_ROW)]
    extras = {c: f[c].array.take(ri) for c in rest}
    tail = {SOURCE_FILE: _const_str(raw.label, len(ri)), SOURCE_ROW: f[SOURCE_ROW].to_numpy()[ri],
            SOURCE_COLUMN: pd.Categorical.from_codes(ci, categories=list(date_cols)),
            BLANK_CELL: blank_m.ravel()[flat]}
    return _finish_frame(parts, extras, tail)


def _lut(*codes_true: int) -> np.ndarray:
    lut = np.zeros(8, dtype=bool)
    lut[list(codes_true)] = True
    return lut


_EXPLICIT_LUT = _lut(mk.ABS, mk.EXC)
_REAL_LUT = _lut(mk.PRES, mk.LAT, mk.ABS, mk.EXC, mk.UNKNOWN)
_ROW_LUT = _lut(mk.PRES, mk.LAT, mk.ABS, mk.EXC, mk.BLANK)
_ATTENDED_LUT = _lut(mk.PRES, mk.LAT)


class _Problems(list):
    """Problems of the read (ReadError) plus missing-column ones (SchemaError)."""

    def __init__(self):
        super().__init__()
        self.schema: list[Problem] = []


def _require_rows(sheets: list[RawSheet]) -> None:
    if all(len(r.frame) == 0 for r in sheets):
        label = sheets[0].label.split(" [")[0]
        raise ReadError(f"{label} has a header but no data rows",
                        [Problem(r.label, r.header_row + 1, None, None, "no data below the header",
                                 "export the table again with its rows") for r in sheets])


def read_attendance(path, format: str = "auto", *, columns: Mapping[str, str] | None = None,
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
        Raw -> canonical renames, e.g. ``{"Participant ID": "member_id"}``.
        Without them common names are recognised: ``Member ID`` / ``member`` /
        ``participant_id`` -> ``member_id``; ``Group`` -> ``group_id``;
        ``Date`` / ``Meeting date`` -> ``session_date``.
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
        header of a wide sheet, the mark column of a roster) and ``_blank_cell`` (True for
        absence rows made from blank cells).

        ``df.attrs``: ``groupeval_shape`` (``"roster"`` / ``"signin"`` /
        ``"wide"``); ``groupeval_blank`` ({sheet label: rule used for its blank cells});
        ``groupeval_cancelled`` and ``groupeval_empty_sessions`` (lists of
        (group, date) for wide-sheet columns marked cancelled or left
        entirely blank: they give no rows); ``groupeval_skipped_sheets``;
        ``groupeval_blank_rows`` (rows with no value at all, skipped).

    Raises
    ------
    ReadError
        Unrecognised marks (every one listed with row and column), dates that
        cannot be read or whose day/month order is ambiguous, shapes that
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
    ``attended=True, status="late"``.

    Examples
    --------
    >>> att = read_attendance("attendance.xlsx")          # doctest: +SKIP
    >>> att = read_attendance("signin.csv", group="G01")  # doctest: +SKIP
    """
    if format not in FORMATS:
        raise ConfigError(f"format must be one of {FORMATS}, got {format!r}")
    if blank is not None and blank not in BLANK_RULES:
        raise ConfigError(f"blank must be one of {BLANK_RULES} or None, got {blank!r}")
    sheets = read_sheets(path, sheet=sheet, columns=columns, recognise=_recognise,
                         text_names=("member_id", "group_id"), csv_text_names=("status", "attended"))
    _require_rows(sheets)
    classified = []
    skipped = []
    for raw in sheets:
        shape, date_cols = _shape_of(raw)
        if format != "auto":
            if format == "wide" and not date_cols:
                raise ReadError(f"{raw.label} is not a wide attendance sheet",
                                [Problem(raw.label, raw.header_row, None, None,
                                         "no column header is a session date",
                                         "write session dates in the header row (e.g. 2025-03-02), "
                                         "or pass format='roster' / 'signin'")])
            shape = format
        if shape is None:
            if len(sheets) > 1:
                skipped.append(raw.label)
                continue
            raise ReadError(f"cannot tell the shape of attendance file {raw.label}",
                            [Problem(raw.label, raw.header_row, None, None, _explain(raw))])
        classified.append((raw, shape, date_cols))
    if not classified:
        raise ReadError(f"no sheet of {sheets[0].label.split(' [')[0]} looks like attendance",
                        [Problem(r.label, r.header_row, None, None, _explain(r)) for r in sheets])
    if skipped:
        warnings.warn(f"sheets skipped (not attendance): {skipped}", DataQualityWarning, stacklevel=2)
    shapes = {s for _, s, _ in classified}
    if len(shapes) > 1 and "signin" in shapes:
        raise ReadError("sheets mix a sign-in log with other shapes",
                        [Problem(r.label, None, None, s, "shape of this sheet") for r, s, _ in classified],)
    # day-first decision across all date headers of the file
    problems = _Problems()
    all_headers = [c for raw, s, dc in classified if s == "wide" for c in dc]
    header_label = {c: raw.label for raw, s, dc in reversed(classified) if s == "wide" for c in dc}
    header_dates: dict[str, pd.Timestamp] = {}
    serial = [h for h in all_headers if _SERIAL.match(h.strip())]
    for h in serial:
        header_dates[h] = _EXCEL_EPOCH + pd.Timedelta(days=int(h))
    all_headers = [h for h in all_headers if h not in header_dates]
    if all_headers:
        df_used = infer_dayfirst(all_headers, label=classified[0][0].label.split(" [")[0], column=None,
                                 dayfirst=dayfirst)
        parsed, bad, _ = parse_dates(pd.Series(all_headers, dtype=object), dayfirst=df_used)
        for h, d, b in zip(all_headers, parsed, bad):
            if b or pd.isna(d):
                problems.append(Problem(header_label[h], None, h, h, "column header is not a valid date",
                                        "correct the date in the header"))
            else:
                header_dates[h] = d
    info = {"blank": {}, "cancelled": [], "empty_sessions": []}
    frames = []
    for raw, shape, date_cols in classified:
        if shape == "wide":
            if any(c not in header_dates for c in date_cols):
                continue
            frames.append(_wide(raw, date_cols, header_dates, group, blank, problems, info))
        else:
            frames.append(_roster(raw, shape, group, blank, dayfirst, problems))
    if problems.schema:
        raise SchemaError(f"attendance file {sheets[0].label.split(' [')[0]} lacks a group", problems.schema)
    if problems:
        raise ReadError(f"attendance file {sheets[0].label.split(' [')[0]} cannot be read", problems)
    if len(frames) == 1:
        out = frames[0]
    else:
        out = pd.concat(frames, ignore_index=True)
        lead = ["member_id", "group_id", "session_date", "attended", "status"]
        tail = [SOURCE_FILE, SOURCE_ROW, SOURCE_COLUMN, BLANK_CELL]
        out = out[lead + [c for c in out.columns if c not in lead and c not in tail] + tail]
        for c in ("member_id", "group_id", SOURCE_FILE):
            if not isinstance(out[c].dtype, pd.StringDtype):
                out[c] = out[c].astype(_STR)
        out[SOURCE_COLUMN] = out[SOURCE_COLUMN].astype("category")
        out[BLANK_CELL] = out[BLANK_CELL].fillna(False).astype(bool)
    out.attrs = {
        "groupeval_shape": shapes.pop() if len(shapes) == 1 else "wide",
        "groupeval_blank": info["blank"],
        "groupeval_cancelled": info["cancelled"],
        "groupeval_empty_sessions": info["empty_sessions"],
        "groupeval_skipped_sheets": skipped,
        "groupeval_blank_rows": sum(r.blank_rows for r in sheets),
    }
    return out
