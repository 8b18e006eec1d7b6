"""The state of one validation run: tables being validated, the problems found, the quality entries made."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..base.exceptions import (
    ConfigError,
    GroupevalError,
    IdentifierError,
    Problem,
    ReadError,
    SchemaError,
    ValidationError,
)
from ..base.schema import SOURCE_FILE, SOURCE_ROW

__all__ = ["STRING_DTYPE", "Table", "Log", "raise_problems", "rows_empty", "distinct_files", "files_of",
           "INTERNAL", "NAT", "DAY_NS"]

#: dtype of identifiers and text columns in the canonical tables.
STRING_DTYPE = pd.StringDtype("pyarrow")
#: working columns validation adds to attendance (never in a Dataset)
INTERNAL = ("_signin", "_blank", "_wide_col")
#: canonical attendance columns that come from one cell of a wide sheet: problems name the sheet column
_CELL_COLUMNS = ("session_date", "attended", "status")
NAT = np.iinfo(np.int64).min
DAY_NS = 86_400_000_000_000


def raise_problems(problems: Sequence[tuple[type[GroupevalError], Problem]], message: str) -> None:
    """Raise one error holding every problem; the class is the most serious kind present.

    Order of seriousness: :class:`IdentifierError`, :class:`ConfigError`,
    :class:`ReadError`, :class:`SchemaError`, :class:`ValidationError`.
    """
    if not problems:
        return
    kinds = {cls for cls, _ in problems}
    chosen: type[GroupevalError] = ValidationError
    for cls in (IdentifierError, ConfigError, ReadError, SchemaError, ValidationError):
        if cls in kinds or any(issubclass(k, cls) for k in kinds):
            chosen = cls
            break
    raise chosen(message, [p for _, p in problems])


def rows_empty(n: int, dtype: Any) -> np.ndarray:
    """An uninitialised writable numpy array in pyarrow's memory pool.

    Row-sized arrays from numpy's allocator are page-faulted in afresh (4 KiB
    at a time) each time one is made; pyarrow's pool hands back memory that is
    already mapped.  Same values, less system time.
    """
    import pyarrow as pa

    dt = np.dtype(dtype)
    return np.frombuffer(pa.allocate_buffer(max(n, 1) * dt.itemsize), dtype=dt)[:n]


class Table:
    """One canonical table while it is being validated."""

    def __init__(self, name: str, df: pd.DataFrame, given: bool):
        self.name = name
        self.df = df
        self.given = given
        self.usable = given
        self.read = len(df)
        self.excluded = np.zeros(len(df), dtype=bool)
        self.prior_excluded = 0  # rows excluded before the frame was rebuilt (sign-in inference)
        self.inferred = 0
        self.cut = np.zeros(len(df), dtype=bool)  # rows excluded because they are after the cut-off
        self.skipped = 0  # source rows the readers excluded (counted as read and excluded)
        self.cancelled: list[tuple[object, object]] = []  # (group, date) of cancelled sessions in the sheets
        self.identifiers: dict[str, str] = {}  # columns the source marks as identifiers
        self.timepoints: tuple[str, ...] | None = None
        self.coded: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    @property
    def live(self) -> np.ndarray:
        return ~self.excluded


def _plain(v: Any) -> Any:
    if v is None or (not isinstance(v, str) and pd.api.types.is_scalar(v) and pd.isna(v)):
        return None
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, pd.Timestamp):
        return str(v.date()) if v == v.normalize() else str(v)
    return v


def _user_columns(t: Table, idx: np.ndarray, column: str | None) -> np.ndarray:
    """The column as the user sees it: the date header of a wide sheet for cell-derived columns."""
    out = np.full(len(idx), column, dtype=object)
    if column in _CELL_COLUMNS and "_wide_col" in t.df:
        wide = t.df["_wide_col"].to_numpy(dtype=object)[idx]
        has = pd.notna(wide)
        out[has] = wide[has]
    return out


def distinct_files(col: pd.Series) -> list[str]:
    """Distinct file labels of a provenance column, workbook sheets folded into their file."""
    files = [str(f).split(" [")[0] for f in col.dropna().unique()]
    return list(dict.fromkeys(files))


def files_of(t: Table) -> str:
    files = distinct_files(t.df[SOURCE_FILE]) if len(t.df) else []
    return ", ".join(files) if files else t.name


class Log:
    """Problems (raised together at the end) and quality-report entries of one validation run."""

    def __init__(self) -> None:
        self.problems: list[tuple[type[GroupevalError], Problem]] = []
        self.quality: list[pd.DataFrame] = []

    def problem(self, cls: type[GroupevalError], file: str | None, row: int | None, column: str | None,
                value: Any, reason: str, fix: str = "") -> None:
        self.problems.append((cls, Problem(file, row, column, value, reason, fix)))

    def row_problems(self, t: Table, mask: np.ndarray, column: str | None, reason: str, fix: str = "",
                     values: pd.Series | np.ndarray | None = None,
                     cls: type[GroupevalError] = ValidationError) -> None:
        idx = np.flatnonzero(mask)
        if not len(idx):
            return
        files = t.df[SOURCE_FILE].to_numpy(dtype=object)[idx]
        rows = t.df[SOURCE_ROW].to_numpy()[idx]
        if values is None:
            vals: Any = t.df[column].to_numpy(dtype=object)[idx] if column in t.df else [None] * len(idx)
        else:
            vals = np.asarray(values, dtype=object)[idx]
        cols = _user_columns(t, idx, column)
        self.problems.extend((cls, Problem(str(f), int(r), c, _plain(v), reason, fix))
                             for f, r, c, v in zip(files, rows, cols, vals))

    def record(self, t: Table, mask: np.ndarray, column: str | None, reason: str, action: str,
               values: pd.Series | np.ndarray | None = None) -> None:
        """Record rows of ``t`` in the quality report (and exclude them if action is 'excluded')."""
        mask = np.asarray(mask, dtype=bool) & t.live
        if not mask.any():
            return
        if values is None:
            vals = t.df.loc[mask, column] if column in t.df else pd.Series(pd.NA, index=t.df.index[mask])
        else:
            vals = pd.Series(np.asarray(values, dtype=object)[mask])
        self.quality.append(pd.DataFrame({
            "file": t.df.loc[mask, SOURCE_FILE].to_numpy(dtype=object),
            "row": t.df.loc[mask, SOURCE_ROW].to_numpy(),
            "column": _user_columns(t, np.flatnonzero(mask), column),
            "value": pd.Series(vals).astype("string").to_numpy(dtype=object),
            "reason": reason,
            "action": action,
        }))
        if action == "excluded":
            t.excluded |= mask

    def summary(self, file: str | None, column: str | None, value: Any, reason: str, action: str = "inferred",
                row: int | None = None) -> None:
        self.quality.append(pd.DataFrame({"file": [file], "row": [pd.NA if row is None else row],
                                          "column": [column], "value": [None if value is None else str(value)],
                                          "reason": [reason], "action": [action]}))
