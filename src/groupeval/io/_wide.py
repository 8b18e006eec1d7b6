"""Wide attendance sheets: one row per member, one column per session date.

Every mark cell is accounted for: a cell gives an attendance row, or is
counted in a note that says why it gives none (marked cancelled); a blank
cell is not a mark (it gives an absence row in a presence-only sheet, else
nothing).  Columns that hold marks
but whose header is not a readable date (a date without a year, a formula
whose value was never saved) are problems, never extra columns.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..base import vocab as mk
from ..base.exceptions import Problem, SchemaError
from ..base.schema import SOURCE_FILE, SOURCE_ROW
from ._attendance_base import (
    ATTENDED_LUT,
    EXPLICIT_LUT,
    REAL_LUT,
    ROW_LUT,
    Problems,
    finish_frame,
    group_for,
    status_series,
    str_array,
    unknown_problems,
)
from ._notes import Note
from ._sheet import RawSheet, const_str

__all__ = ["wide_frame", "WideInfo", "orphan_mark_columns"]


class WideInfo:
    """Facts gathered over the wide sheets of a file."""

    def __init__(self) -> None:
        self.blank: dict[str, str] = {}
        self.cancelled: list[tuple[str, str]] = []
        self.empty_sessions: list[tuple[str, str]] = []
        self.notes: list[Note] = []


def orphan_mark_columns(raw: RawSheet, date_cols: list[str], partial: list[str]) -> list[Problem]:
    """Columns of a wide sheet that hold marks but have no readable date header.

    A blank header (``unnamed_C``: often a formula whose value Excel never
    saved) or a date without a year (``Jan 09``) between session columns
    would otherwise become an extra column and its marks vanish.
    """
    f = raw.frame
    out = []
    for c in partial:
        out.append(Problem(raw.label, raw.header_row, c, c, "the column header is a date without a year",
                           "write the full date in the header (e.g. 2025-01-09)"))
    for c in f.columns:
        if not c.startswith("unnamed_") or c in date_cols:
            continue
        codes = mk.classify_marks(f[c])
        filled = codes != mk.BLANK
        if filled.any() and not (codes == mk.UNKNOWN).any():
            out.append(Problem(raw.label, raw.header_row, c, None,
                               "the column holds attendance marks but its header is empty (a formula whose "
                               "value was never saved?)",
                               "type the session date in the header cell, or open the file in Excel and save "
                               "it so formula values are stored"))
    return out


def _require_member(raw: RawSheet) -> None:
    if "member_id" not in raw.frame.columns:
        raise SchemaError(
            f"{raw.label} lacks a member_id column",
            [Problem(raw.label, raw.header_row, "member_id", None, "required column is missing",
                     "name the column of member ids 'member_id' or pass columns={'<raw name>': 'member_id'}; "
                     "columns found: " + ", ".join(c for c in raw.frame.columns if not c.startswith("_")))])


def _duplicate_dates(raw: RawSheet, date_cols: list[str], header_dates: dict[str, pd.Timestamp],
                     problems: Problems) -> None:
    seen: dict[pd.Timestamp, str] = {}
    for c in date_cols:  # session columns (a few dozen)
        d = header_dates[c]
        if d in seen:
            problems.append(Problem(raw.label, raw.header_row, c, str(d.date()),
                                    f"the same session date as column {seen[d]!r}", "merge the two columns into one"))
        seen[d] = c


def _per_group(mask: np.ndarray, gcodes: np.ndarray, n_groups: int) -> np.ndarray:
    if n_groups == 1:
        return np.asarray(mask.any(axis=0, keepdims=True), dtype=bool)
    return (pd.DataFrame(mask).groupby(gcodes, sort=True).any()
            .reindex(range(n_groups), fill_value=False).to_numpy())


def _cell_notes(raw: RawSheet, codes: np.ndarray, keep: np.ndarray) -> list[Note]:
    """The mark cells that give no attendance row: those marked cancelled (a blank cell is not a mark)."""
    canc = int((~keep & (codes == mk.CANC)).sum())
    if not canc:
        return []
    return [Note(raw.file, None, None, canc, f"{canc} cells of {raw.label} marked cancelled: the session did not "
                 "take place (no attendance row; count in value)", "excluded", canc)]


def wide_frame(raw: RawSheet, date_cols: list[str], header_dates: dict[str, pd.Timestamp], group: str | None,
               blank: str | None, problems: Problems, info: WideInfo) -> pd.DataFrame:
    """A wide sheet -> canonical attendance rows (one per mark cell that is a scheduled session)."""
    _require_member(raw)
    f = raw.frame
    _duplicate_dates(raw, date_cols, header_dates, problems)
    grp = group_for(raw, group, problems)
    date_cols = sorted(date_cols, key=lambda c: header_dates[c])  # chronological
    n, k = len(f), len(date_cols)
    codes = np.empty((n, k), dtype=np.int8)
    for j, c in enumerate(date_cols):  # one vectorised lookup per session column
        codes[:, j] = mk.classify_marks(f[c])
    unk = codes == mk.UNKNOWN
    if unk.any():
        ri, ci = np.nonzero(unk)
        problems.extend(unknown_problems(raw, f[SOURCE_ROW].to_numpy()[ri], [date_cols[j] for j in ci],
                                         [f[date_cols[j]].iloc[i] for i, j in zip(ri, ci)]))
    rule = blank or ("not_scheduled" if bool(EXPLICIT_LUT[codes].any()) else "absent")
    info.blank[raw.label] = rule
    # per group and session column: did the group meet?  A column with no attendance
    # mark for any of the group's members (blank or "cancelled") is a session that did
    # not take place for that group and gives no rows.
    if grp is not None:
        gcodes, gnames = np.zeros(n, np.intp), [grp]
    else:
        gcodes, uniq = pd.factorize(f["group_id"], use_na_sentinel=False)
        gnames = [str(g) for g in uniq]
    blank_m = codes == mk.BLANK
    real = _per_group(REAL_LUT[codes], gcodes, len(gnames))
    marked = _per_group(~blank_m, gcodes, len(gnames))
    has = np.asarray(marked.any(axis=1), dtype=bool)
    first = marked.argmax(axis=1)
    last = k - 1 - marked[:, ::-1].argmax(axis=1)
    cols = np.arange(k)[None, :]
    gap = ~marked & has[:, None] & (cols >= first[:, None]) & (cols <= last[:, None])
    for g, j in zip(*np.nonzero(marked & ~real)):  # (group, session) pairs: a handful
        info.cancelled.append((gnames[g], str(header_dates[date_cols[j]].date())))
    for g, j in zip(*np.nonzero(gap)):
        info.empty_sessions.append((gnames[g], str(header_dates[date_cols[j]].date())))
    held = real[gcodes]
    keep = ROW_LUT[codes] & held
    if rule == "not_scheduled":
        keep &= ~blank_m
    info.notes.extend(_cell_notes(raw, codes, keep))
    return _rows(raw, date_cols, header_dates, grp, codes, keep, blank_m)


def _rows(raw: RawSheet, date_cols: list[str], header_dates: dict[str, pd.Timestamp], grp: str | None,
          codes: np.ndarray, keep: np.ndarray, blank_m: np.ndarray) -> pd.DataFrame:
    f = raw.frame
    n, k = codes.shape
    flat = keep.ravel()
    ri = np.repeat(np.arange(n), k)[flat]
    ci = np.tile(np.arange(k), n)[flat]
    cflat = codes.ravel()[flat]
    cflat[cflat == mk.BLANK] = mk.ABS
    dates = np.array([header_dates[c].to_datetime64() for c in date_cols], dtype="datetime64[ns]")
    gid = str_array(f["group_id"]).take(ri) if grp is None else const_str(grp, len(ri))
    parts: dict[str, Any] = {"member_id": str_array(f["member_id"]).take(ri), "group_id": gid,
                             "session_date": dates[ci], "attended": ATTENDED_LUT[cflat],
                             "status": status_series(cflat)}
    rest = [c for c in f.columns if c not in date_cols and c not in ("member_id", "group_id", SOURCE_FILE, SOURCE_ROW)]
    extras = {c: f[c].array.take(ri) for c in rest}
    tail = {SOURCE_FILE: const_str(raw.label, len(ri)), SOURCE_ROW: f[SOURCE_ROW].to_numpy()[ri],
            "_source_column": pd.Categorical.from_codes(ci, categories=list(date_cols)),
            "_blank_cell": blank_m.ravel()[flat]}
    return finish_frame(parts, extras, tail)
