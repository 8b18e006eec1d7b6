"""One table read from a file, before any shape-specific processing (the common ground of the readers).

:class:`RawSheet` is what the CSV, Excel and Parquet readers produce;
:func:`finish` drops Excel debris (empty unnamed columns, blank rows) and adds
the provenance columns; :func:`arrow_to_pandas` turns a pyarrow table into
pandas columns, refusing dates pandas cannot hold with the file, row and
column named; :func:`missing_text_to_null` reads ``NA`` / ``NULL`` /
``#N/A`` ... as missing in ordinary columns, never in identifiers.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from ..base.exceptions import Problem, ReadError
from ..base.schema import SOURCE_FILE, SOURCE_ROW
from ..base.vocab import MISSING_TEXT
from ._dates import MAX_YEAR, MIN_YEAR, ambiguous_error, conflict_error, read_dates
from ._header import HeaderPlan, Recogniser, header_text
from ._notes import Note

__all__ = ["RawSheet", "ReadOptions", "finish", "arrow_to_pandas", "const_str", "DEFAULT_TEXT", "MAX_LISTED",
           "missing_text_to_null", "to_text", "date_column"]

#: canonical columns always read as text (identifiers keep leading zeros, ``NA`` stays an id)
DEFAULT_TEXT = frozenset({"member_id", "group_id", "record_id", "timepoint"})
#: problems listed one by one at most (then one line with the count of the rest)
MAX_LISTED = 200


@dataclass(frozen=True)
class ReadOptions:
    """How a shape reader wants a file read."""

    columns: Mapping[str, str] | None = None
    recognise: Recogniser | None = None
    #: canonical names read as text
    text_names: Iterable[str] = ()
    #: CSV only: columns read as text without type inference (attendance marks)
    csv_text_names: Iterable[str] = ()
    #: a shape's extra header rows (Qualtrics question text / ImportId rows, legacy V1..Vn headers)
    header_plan: HeaderPlan | None = None
    #: CSV only: further columns read as text without type inference, told by their name (wide-sheet dates)
    text_if: Callable[[str], bool] | None = None

    def as_text(self, names: Iterable[str]) -> set[str]:
        """The CSV columns read as text without type inference."""
        marks = set(self.csv_text_names)
        return {n for n in names if n in self.literal or n in marks or (self.text_if is not None and self.text_if(n))}

    @property
    def literal(self) -> frozenset[str]:
        """Columns whose text is kept exactly as written (ids: ``NA`` is a real id)."""
        return DEFAULT_TEXT | frozenset(self.text_names)


@dataclass
class RawSheet:
    """One table read from a file, before any shape-specific processing.

    ``frame`` has string column labels (renamed to canonical names where a
    mapping applied; blank header cells named ``unnamed_<letter>``) and the
    provenance columns.  ``label`` is the value of ``_source_file`` (the file
    name, plus ``[sheet]`` for multi-sheet workbooks).
    """

    label: str
    sheet: str | None
    frame: pd.DataFrame
    header_row: int
    renamed: dict[str, str] = field(default_factory=dict)
    raw_header: list[str] = field(default_factory=list)
    blank_rows: int = 0
    #: columns parsed as calendar dates (no time of day: already normalised to the day)
    day_columns: frozenset[str] = frozenset()
    #: per column whose cells held text such as NA / NULL / #N/A: that text per row (None elsewhere)
    missing_text: dict[str, np.ndarray] = field(default_factory=dict)
    #: repairs and exclusions made while reading (validation records them)
    notes: list[Note] = field(default_factory=list)
    #: extra header rows below the header (skipped; counted in the row numbers)
    extra_header_rows: int = 0

    @property
    def file(self) -> str:
        return self.label.split(" [")[0]


def const_str(value: str, n: int) -> pd.arrays.ArrowStringArray:
    """n copies of one string as a pyarrow-backed string array, built in C."""
    import pyarrow as pa

    return pd.arrays.ArrowStringArray(pa.repeat(pa.scalar(value, pa.string()), n))


def to_text(s: pd.Series) -> pd.Series:
    """Cells -> text ids: 1001.0 -> '1001', datetimes -> ISO dates, blanks -> <NA>."""
    def conv(v: Any) -> str:
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        if isinstance(v, (datetime, date)):
            return header_text(v)
        return str(v)
    return s.map(conv, na_action="ignore").astype("string[pyarrow]")


def finish(raw: RawSheet) -> RawSheet:
    """Drop empty unnamed columns and entirely blank rows; add ``_source_file`` (``_source_row`` is there)."""
    f = raw.frame
    data_cols = [c for c in f.columns if c != SOURCE_ROW]
    # unnamed columns with no values are formatting debris: drop them
    empty_unnamed = [c for c in data_cols if c.startswith("unnamed_") and f[c].isna().all()]
    if empty_unnamed:
        f = f.drop(columns=empty_unnamed)
        data_cols = [c for c in data_cols if c not in empty_unnamed]
    # fully blank rows hold no data (Excel formatting, blank CSV lines); a column
    # without missing values proves there are none (the usual case: no row-wise pass)
    if data_cols and len(f) and all(f[c].hasnans for c in data_cols):
        blank = f[data_cols].isna().all(axis=1).to_numpy()
        if blank.any():
            raw.blank_rows = int(blank.sum())
            raw.missing_text = {c: m[~blank] for c, m in raw.missing_text.items()}
            f = f.loc[~blank].reset_index(drop=True)
    cols = {c: f[c] for c in f.columns if c != SOURCE_ROW}
    cols[SOURCE_FILE] = pd.Series(const_str(raw.label, len(f)), index=f.index)
    cols[SOURCE_ROW] = f[SOURCE_ROW]
    raw.frame = pd.DataFrame(cols, copy=False)
    return raw


def _out_of_range_error(label: str, column: str, rows: np.ndarray, values: list[Any]) -> ReadError:
    listed = [Problem(label, int(r), column, str(v),
                      f"the date is outside the years groupeval can hold ({MIN_YEAR} to {MAX_YEAR})",
                      "correct the year (a typo such as 3025 for 2025?) or leave the cell empty")
              for r, v in zip(rows[:MAX_LISTED], values[:MAX_LISTED])]
    if len(rows) > MAX_LISTED:
        listed.append(Problem(label, None, column, None, f"and {len(rows) - MAX_LISTED} more rows like these",
                              "correct them the same way"))
    return ReadError(f"{label} has dates groupeval cannot hold", listed)


def _check_date_range(col: Any, name: str, label: str, first_row: int) -> None:
    """Raise ReadError listing the rows of a pyarrow date/timestamp column outside pandas' ns range."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_timestamp(col.type) and col.type.unit == "ns":
        return  # nanosecond time stamps fit by construction
    lo = pa.scalar(pd.Timestamp.min.ceil("D").to_pydatetime(), pa.timestamp("us"))
    hi = pa.scalar(pd.Timestamp.max.floor("D").to_pydatetime(), pa.timestamp("us"))
    mm = pc.min_max(col)  # the usual case: the smallest and largest value are in range (no row-sized work)
    if not mm["min"].is_valid:
        return
    ends = pa.array([mm["min"].as_py(), mm["max"].as_py()], type=col.type)
    ends_us = ends.cast(pa.timestamp("us", tz=getattr(col.type, "tz", None))) if not pa.types.is_date(col.type) \
        else ends.cast(pa.timestamp("us"))
    if getattr(ends_us.type, "tz", None) is not None:
        ends_us = ends_us.cast(pa.timestamp("us"))
    if pc.greater_equal(ends_us[0], lo).as_py() and pc.less_equal(ends_us[1], hi).as_py():
        return
    as_us = col.cast(pa.timestamp("us", tz=getattr(col.type, "tz", None))) if not pa.types.is_date(col.type) \
        else col.cast(pa.timestamp("us"))
    if getattr(as_us.type, "tz", None) is not None:
        as_us = as_us.cast(pa.timestamp("us"))
    mm = pc.min_max(as_us)
    if mm["min"].is_valid and pc.greater_equal(mm["min"], lo).as_py() and pc.less_equal(mm["max"], hi).as_py():
        return
    bad = pc.or_(pc.less(as_us, lo), pc.greater(as_us, hi)).fill_null(False)
    idx = np.flatnonzero(np.asarray(bad.to_numpy(zero_copy_only=False), dtype=bool))
    vals = [str(v) for v in col.take(pa.array(idx[:MAX_LISTED])).to_pylist()]
    raise _out_of_range_error(label, name, idx + first_row, vals)


def arrow_to_pandas(table: Any, label: str, first_row: int, extra: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """A pyarrow table as a DataFrame (strings Arrow-backed, dates datetime64[ns]), plus ``extra`` columns.

    ``first_row`` is the spreadsheet row of the table's first record (for errors).
    Timestamps with a time zone keep their wall time in that zone.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    cols = {}
    strings = {pa.string(): pd.StringDtype("pyarrow"), pa.large_string(): pd.StringDtype("pyarrow")}
    for name, col in zip(table.column_names, table.columns):
        t = col.type
        if pa.types.is_date(t) or pa.types.is_timestamp(t):
            _check_date_range(col, name, label, first_row)
            if pa.types.is_timestamp(t) and t.tz is not None:
                col = pc.local_timestamp(col)
            col = col.cast(pa.timestamp("ns"))
            cols[name] = pd.Series(col.to_numpy(), dtype="datetime64[ns]")
        elif pa.types.is_string(t) or pa.types.is_large_string(t):
            cols[name] = pd.Series(col.to_pandas(types_mapper=strings.get))
        elif pa.types.is_null(t):
            cols[name] = pd.Series(np.full(len(col), np.nan), dtype="float64")
        else:
            cols[name] = col.to_pandas()
    cols.update(extra or {})
    return pd.DataFrame(cols, copy=False)


_NUMERIC = r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$"
#: the spellings of the missing-value text looked for: lower, upper, title and as pyarrow lists them
_TOKEN_SPELLINGS = sorted({v for t in MISSING_TEXT for v in (t, t.upper(), t.title(), t.capitalize())}
                          | {"NaN", "-NaN", "#N/A N/A", "-1.#IND", "-1.#QNAN", "1.#IND", "1.#QNAN", "N/a", "n/A"})


def missing_text_to_null(table: Any, keep: Iterable[str]) -> tuple[Any, dict[str, np.ndarray]]:
    """Text such as NA / NULL / #N/A in ordinary string columns -> missing (numbers then read as numbers).

    Columns in ``keep`` (identifiers) keep the text: a member may really be
    called ``NA``.  Returns the new table and, per column changed, the text
    each row held (None elsewhere; survey readers record it for item columns).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    tokens = pa.array(_TOKEN_SPELLINGS)
    keep = set(keep)
    masks: dict[str, np.ndarray] = {}
    for i, name in enumerate(table.column_names):
        col = table.column(i)
        if pa.types.is_floating(col.type) and pc.any(pc.is_nan(col)).as_py():  # "NaN" text parsed as a number
            nan = np.asarray(pc.is_nan(col).fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
            text = np.full(len(nan), None, dtype=object)
            text[nan] = "NaN"
            masks[name] = text
            table = table.set_column(i, name, pc.if_else(pc.is_nan(col), pa.scalar(None, col.type), col))
            continue
        if name in keep or not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
            continue
        hit = pc.is_in(col, value_set=tokens)  # one pass over the raw text (no lower-cased copy)
        if not pc.any(hit).as_py():
            continue
        hit_np = np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)
        text = np.asarray(col.to_numpy(zero_copy_only=False), dtype=object)
        text[~hit_np] = None
        masks[name] = text
        col = pc.if_else(hit, pa.scalar(None, col.type), col)
        valid = col.drop_null()
        if len(valid) == 0:
            col = pa.nulls(len(col), pa.float64())
        elif pc.all(pc.match_substring_regex(valid, _NUMERIC)).as_py():
            col = pc.cast(pc.utf8_trim_whitespace(col), pa.float64())
        table = table.set_column(i, name, col)
    return table, masks


def date_column(f: pd.DataFrame, label: str, column: str, day_columns: frozenset[str], dayfirst: bool | None,
                problems: list[Problem], notes: list[Note],
                fix: str = "write dates as YYYY-MM-DD (or DD/MM/YYYY consistently)") -> pd.Series:
    """A date column of a sheet parsed; unreadable and out-of-range dates are problems, odd formats notes.

    Raises ReadError when the day/month order cannot be told or is contradicted.
    """
    if column in day_columns:  # parsed by pyarrow as calendar dates: nothing to check
        return f[column]
    parsed = read_dates(f[column], dayfirst=dayfirst)
    if parsed.conflict is not None:
        raise conflict_error(label, column, *parsed.conflict)
    if parsed.ambiguous is not None:
        texts = sorted({str(v).strip() for v in pd.unique(f[column].dropna()) if isinstance(v, str)})
        raise ambiguous_error(label, column, texts)
    rows = f[SOURCE_ROW].to_numpy()
    vals = f[column].to_numpy(dtype=object)
    if parsed.bad.any():
        oor = parsed.out_of_range
        unread = parsed.bad & ~oor
        problems.extend(Problem(label, int(r), column, v, "not a date", fix)
                        for r, v in zip(rows[unread][:MAX_LISTED], vals[unread][:MAX_LISTED]))
        problems.extend(Problem(label, int(r), column, str(v),
                                f"the date is outside the years groupeval can hold ({MIN_YEAR} to {MAX_YEAR})",
                                "correct the year (a typo such as 3025 for 2025?)")
                        for r, v in zip(rows[oor][:MAX_LISTED], vals[oor][:MAX_LISTED]))
    other = parsed.other_format
    if other.any():
        file = label.split(" [")[0]
        notes.extend(Note(file, int(r), column, str(v), f"date written in another format than the rest of "
                          f"the column ({parsed.majority}): read as {pd.Timestamp(d).date()}", "repaired")
                     for r, v, d in zip(rows[other], vals[other], parsed.dates.to_numpy()[other]))
    return parsed.dates
