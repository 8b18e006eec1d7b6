"""What the attendance shape readers share: status codes, the group of a sheet, problems, footer rows."""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..base import vocab as mk
from ..base.exceptions import ConfigError, Problem
from ..base.schema import ATTENDANCE_STATUS, SOURCE_FILE, SOURCE_ROW
from ._notes import Note
from ._sheet import RawSheet

__all__ = ["Problems", "group_for", "unknown_problems", "str_array", "finish_frame", "status_series",
           "ATTENDED_LUT", "EXPLICIT_LUT", "REAL_LUT", "ROW_LUT", "STR", "drop_footer_rows"]

STATUS_DTYPE = pd.CategoricalDtype(list(ATTENDANCE_STATUS))
STR = "string[pyarrow]"
_DEFAULT_SHEET = re.compile(r"^(sheet|feuil|tabelle|hoja|blad|foglio)\s*\d*$", re.I)
#: the label of a totals / summary row at the foot of a register ("Total", "# present", "Average")
_FOOTER = re.compile(r"^\s*(#|no\.|n|number|count|totals?|sum|subtotal|grand total|average|avg|mean|median|"
                     r"%|percent(age)?|rate|attendance rate|present|absent|attended)(\s|$|[:#(/])"
                     r"|\btotals?\b|\baverages?\b", re.I)


class Problems(list[Problem]):
    """Problems of the read (ReadError) plus missing-column ones (SchemaError)."""

    def __init__(self) -> None:
        super().__init__()
        self.schema: list[Problem] = []


def group_for(raw: RawSheet, group: str | None, problems: Problems) -> str | None:
    """The group of a sheet without a group_id column (None: the column is used)."""
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
    problems.schema.append(Problem(raw.label, raw.header_row, "group_id", None,
                                   "the file has no group_id column and nothing names the group",
                                   "add a group_id column, pass group='<group id>', or name each sheet after "
                                   "its group"))
    return ""  # placeholder; the SchemaError is raised once every sheet is checked


def unknown_problems(raw: RawSheet, rows: np.ndarray, cols: list[str], values: list[Any]) -> list[Problem]:
    return [Problem(raw.label, int(r), c, v, "unrecognised attendance mark",
                    f"use one of: {mk.ACCEPTED}") for r, c, v in zip(rows, cols, values)]


def str_array(s: pd.Series) -> Any:
    """A Series as a pyarrow-backed string array (no copy when it already is one)."""
    if isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow":
        return s.array
    return s.astype(STR).array


def finish_frame(parts: Mapping[str, Any], extras: Mapping[str, Any], tail: Mapping[str, Any]) -> pd.DataFrame:
    """Columns in their final order: canonical, extras (name -> array), provenance."""
    cols = dict(parts)
    for c, arr in extras.items():
        if c not in cols and c not in (SOURCE_FILE, SOURCE_ROW):
            cols[c] = arr
    cols.update(tail)
    return pd.DataFrame(cols, copy=False)


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


def status_series(codes: np.ndarray, blank_absent: bool = False) -> pd.Categorical:
    return pd.Categorical.from_codes(_STATUS_LUTS[blank_absent][codes], dtype=STATUS_DTYPE, validate=False)


def _lut(*codes_true: int) -> np.ndarray:
    lut = np.zeros(8, dtype=bool)
    lut[list(codes_true)] = True
    return lut


EXPLICIT_LUT = _lut(mk.ABS, mk.EXC)
REAL_LUT = _lut(mk.PRES, mk.LAT, mk.ABS, mk.EXC, mk.UNKNOWN)
ROW_LUT = _lut(mk.PRES, mk.LAT, mk.ABS, mk.EXC, mk.BLANK)
ATTENDED_LUT = _lut(mk.PRES, mk.LAT)


def _footer_like(member: object, marks: pd.Series | None) -> bool:
    """A totals row: labelled as one ("Total", "# present"), or unlabelled with counts among the marks."""
    if isinstance(member, str) and member.strip():
        return bool(_FOOTER.search(member))
    if not pd.isna(member):
        return False
    if marks is None:
        return False
    nums = pd.to_numeric(marks, errors="coerce")
    return bool(nums.notna().any() and (nums.dropna() > 1).any() and (marks.notna() == nums.notna()).all())


def drop_footer_rows(raw: RawSheet, mark_columns: list[str], cells_per_row: int = 1) -> list[Note]:
    """Remove totals / averages rows at the foot of a register; one ``excluded`` note for them.

    Only the last rows are looked at (a footer is below the members); the
    member cell decides (``Total``, ``# present``, ``Average`` ...), or, when
    it is empty, cells holding counts above 1 in the session columns.  The
    note counts ``cells_per_row`` source rows per row (a wide sheet's row
    accounting counts its mark cells).
    """
    f = raw.frame
    if "member_id" not in f.columns or not len(f):
        return []
    n = len(f)
    cut = n
    for i in range(n - 1, max(n - 6, -1), -1):  # a footer has a few rows at most
        marks = f[mark_columns].iloc[i] if mark_columns else None
        if not _footer_like(f["member_id"].iloc[i], marks):
            break
        cut = i
    if cut == n:
        return []
    rows = f[SOURCE_ROW].iloc[cut:].tolist()
    labels = [str(v) for v in f["member_id"].iloc[cut:] if isinstance(v, str)]
    raw.frame = f.iloc[:cut].reset_index(drop=True)
    raw.missing_text = {c: m[:cut] for c, m in raw.missing_text.items()}
    where = f"row {rows[0]}" if len(rows) == 1 else f"rows {rows[0]}-{rows[-1]}"
    return [Note(raw.file, int(rows[0]), "member_id", ", ".join(labels) or None,
                 f"totals / summary {where} at the foot of the register: not a member (excluded once, with "
                 "its cells)", "excluded", len(rows) * max(cells_per_row, 1))]
