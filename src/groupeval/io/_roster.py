"""Long attendance shapes: a roster (member x session with a mark) and a sign-in log (present rows only)."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..base import vocab as mk
from ..base.exceptions import Problem, SchemaError
from ..base.schema import SOURCE_FILE, SOURCE_ROW
from ._attendance_base import (
    ATTENDED_LUT,
    Problems,
    finish_frame,
    group_for,
    status_series,
    str_array,
    unknown_problems,
)
from ._notes import Note
from ._sheet import RawSheet, const_str, date_column

__all__ = ["roster_frame"]


def _require(raw: RawSheet, shape: str) -> None:
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


def _marks(raw: RawSheet, blank: str | None, problems: Problems) -> tuple[str, np.ndarray, np.ndarray, np.ndarray]:
    """(mark column, codes, rows kept, blank-cell absences) of a roster."""
    f = raw.frame
    n = len(f)
    rows = f[SOURCE_ROW].to_numpy()
    mark_col = "status" if "status" in f.columns else "attended"
    codes = mk.classify_marks(f[mark_col])
    if "status" in f.columns and "attended" in f.columns:
        c2 = mk.classify_marks(f["attended"])
        known = ~np.isin(codes, (mk.BLANK, mk.UNKNOWN)) & ~np.isin(c2, (mk.BLANK, mk.UNKNOWN))
        conflict = known & (np.isin(codes, (mk.PRES, mk.LAT)) != np.isin(c2, (mk.PRES, mk.LAT)))
        problems.extend(Problem(raw.label, int(r), "attended", f"status={s!r}, attended={a!r}",
                                "status and attended disagree", "correct one of the two columns")
                        for r, s, a in zip(rows[conflict], f["status"].to_numpy(object)[conflict],
                                           f["attended"].to_numpy(object)[conflict]))
        codes = np.where(codes == mk.BLANK, c2, codes)
    unk = codes == mk.UNKNOWN
    if unk.any():
        problems.extend(unknown_problems(raw, rows[unk], [mark_col] * int(unk.sum()),
                                         list(f[mark_col].to_numpy(object)[unk])))
    keep = np.ones(n, bool)
    blank_cell = np.zeros(n, bool)
    blanks = codes == mk.BLANK
    if blanks.any():
        if blank is None:
            problems.extend(Problem(raw.label, int(r), mark_col, None, "the attendance mark is blank",
                                    "write A (absent) or P (present), delete the row if the member was not "
                                    "scheduled, or pass blank='absent' / blank='not_scheduled'")
                            for r in rows[blanks][:1000])
        elif blank == "absent":
            codes = np.where(blanks, mk.ABS, codes)
            blank_cell = blanks
        else:
            keep &= ~blanks
    keep &= codes != mk.CANC
    return mark_col, codes, keep, blank_cell


def _dropped_notes(raw: RawSheet, mark_col: str, codes: np.ndarray, keep: np.ndarray) -> list[Note]:
    """One note per reason for roster rows that give no attendance row (cancelled, blank = not scheduled)."""
    out = []
    canc = int((codes == mk.CANC).sum())
    if canc:
        out.append(Note(raw.file, None, mark_col, canc, "rows marked cancelled: the session did not take place "
                        "(no attendance row; count in value)", "excluded", canc))
    blank = int((~keep & (codes == mk.BLANK)).sum())
    if blank:
        out.append(Note(raw.file, None, mark_col, blank, "rows with a blank mark and blank='not_scheduled': not "
                        "a scheduled session (count in value)", "excluded", blank))
    return out


def roster_frame(raw: RawSheet, shape: str, group: str | None, blank: str | None, dayfirst: bool | None,
                 problems: Problems, notes: list[Note], cancelled: list[tuple[str, str]]) -> pd.DataFrame:
    """A roster or sign-in sheet -> canonical attendance rows (with provenance columns).

    Rows marked cancelled give no row; their (group, date) are added to ``cancelled``.
    """
    _require(raw, shape)
    f = raw.frame
    n = len(f)
    dates = date_column(f, raw.label, "session_date", raw.day_columns, dayfirst, problems, notes)
    mark_col = None
    keep = np.ones(n, bool)
    blank_cell = np.zeros(n, bool)
    if shape == "signin":
        attended = np.ones(n, bool)
        status = np.zeros(n, np.int8) + mk.PRES
    else:
        mark_col, status, keep, blank_cell = _marks(raw, blank, problems)
        attended = ATTENDED_LUT[status]
        notes.extend(_dropped_notes(raw, mark_col, status, keep))
    grp = group_for(raw, group, problems)
    gid = str_array(f["group_id"]) if grp is None and "group_id" in f.columns else const_str(grp or "", n)
    parts: dict[str, Any] = {"member_id": str_array(f["member_id"]), "group_id": gid,
                             "session_date": dates.to_numpy(), "attended": attended,
                             "status": status_series(status, blank_absent=True)}
    canonical = ("member_id", "group_id", "session_date", "status", "attended")
    extras = {c: f[c].array for c in f.columns if c not in canonical}
    tail = {SOURCE_FILE: f[SOURCE_FILE].array, SOURCE_ROW: f[SOURCE_ROW].to_numpy(),
            "_source_column": pd.Categorical.from_codes(np.zeros(n, np.int8),
                                                        categories=[mark_col or "session_date"]),
            "_blank_cell": blank_cell}
    out = finish_frame(parts, extras, tail)
    canc = status == mk.CANC if shape == "roster" else np.zeros(n, bool)
    if canc.any():
        pairs = pd.DataFrame({"g": pd.Series(gid, dtype=object).to_numpy()[canc],
                              "d": dates.to_numpy()[canc]}).dropna().drop_duplicates()
        cancelled.extend((str(g), str(pd.Timestamp(d).date())) for g, d in pairs.itertuples(index=False))
    if not keep.all():
        out = out.loc[keep].reset_index(drop=True)
    return out
