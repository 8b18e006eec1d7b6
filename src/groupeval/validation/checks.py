"""Validation rules: raw tables in, canonical tables plus a quality report out.

This module is the *validation* layer of docs/design.md.  It knows the canonical
tables (:mod:`groupeval.schema`) but no instrument registry: item ranges come
in as plain ``{prefix: (min, max)}``.  :func:`validate_tables` is pure (no
file access); :func:`groupeval.validate` and :func:`groupeval.load` in
:mod:`groupeval.loading` call it.

Every rule either

* collects a :class:`~groupeval.exceptions.Problem` (the data cannot be used
  as it is; all problems of all tables are raised together at the end), or
* repairs / excludes / infers rows and records each in the quality report
  (``file``, ``row``, ``column``, ``value``, ``reason``, ``action``).

The table of rules is in ``docs/validation.md``.  The invariant kept for
every table is ``read - excluded + inferred == kept`` where ``excluded`` is
the number of quality-report entries with ``action == "excluded"`` for that
table; :func:`validate_tables` returns these counts.

Implementation notes: no Python loop runs over rows.  String columns are
factorised once and cleaned on their (few) distinct values; identifiers and
dates become integer codes, so duplicate, enrolment and schedule checks are
integer joins.
"""
from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..base.dataset import QualityReport
from ..base.exceptions import (
    ConfigError,
    GroupevalError,
    IdentifierError,
    Problem,
    ReadError,
    SchemaError,
    ValidationError,
)
from ..base.schema import (
    ATTENDANCE_STATUS,
    EXIT_REASONS,
    FACILITATION,
    FORMAT,
    IDENTIFIER_PATTERNS,
    SOURCE_FILE,
    SOURCE_ROW,
    TABLE_NAMES,
    TABLES,
)

__all__ = ["validate_tables", "ValidatedTables", "STRING_DTYPE", "find_identifier_columns",
           "normalise_column_name", "raise_problems", "item_columns", "SIGNIN_ATTR", "BLANK_ATTR"]

#: dtype of identifiers and text columns in the canonical tables.
STRING_DTYPE = pd.StringDtype("pyarrow")
#: ``DataFrame.attrs`` key the attendance reader sets to ``"signin"`` for sign-in logs.
SIGNIN_ATTR = "groupeval_shape"
#: ``DataFrame.attrs`` key the attendance reader sets when blank cells became absence rows
#: (the per-row column :data:`BLANK_CELL` wins when present).
BLANK_ATTR = "groupeval_blank_absences"
#: per-row provenance column of the attendance reader: True for absences made from blank cells.
BLANK_CELL = "_blank_cell"
#: per-row provenance column of the attendance reader: the raw column (date header of a wide sheet).
SOURCE_COLUMN = "_source_column"
#: ``DataFrame.attrs`` keys of the readers: entirely blank rows skipped, cancelled session columns.
BLANK_ROWS_ATTR = "groupeval_blank_rows"
CANCELLED_ATTR = "groupeval_cancelled"
EMPTY_SESSIONS_ATTR = "groupeval_empty_sessions"

_VOCAB = {"exit_reason": EXIT_REASONS, "facilitation": FACILITATION, "format": FORMAT,
          "status": ATTENDANCE_STATUS}
_TRUE = {"true", "t", "1", "1.0", "yes", "y", "present", "p", "x", "✓", "✔", "attended", "late", "l"}
_FALSE = {"false", "f", "0", "0.0", "no", "n", "absent", "a", "excused", "e"}
_STATUS_ATTENDED = {"present": True, "late": True, "absent": False, "excused": False}
_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})$")
_INTERNAL = ("_signin", "_blank", "_wide_col")
#: canonical attendance columns that come from one cell of a wide sheet: problems name the sheet column
_CELL_COLUMNS = ("session_date", "attended", "status")
_NO_FUTURE = {"groups": ("start_date",), "members": ("enrolled_on", "exited_on"),
              "attendance": ("session_date",), "responses": ("completed_on",)}
_ID_OWNER = {"member_id": "members", "group_id": "groups"}


# --------------------------------------------------------------------------
# public helpers
# --------------------------------------------------------------------------
def normalise_column_name(name: object) -> str:
    """Lower case, non-alphanumerics as ``_``, no leading/trailing ``_``."""
    return re.sub(r"[^0-9a-z]+", "_", str(name).strip().lower()).strip("_")


_CANONICAL_COLUMNS = {c for spec in TABLES.values() for c in (*spec.required, *spec.optional)}


def find_identifier_columns(columns: Iterable[object]) -> dict[str, str]:
    """Columns that look like direct identifiers, mapped to the kind found.

    Column names are normalised (:func:`normalise_column_name`) and matched
    against :data:`groupeval.schema.IDENTIFIER_PATTERNS`.  Canonical columns
    (``member_id``, ``group_id``, ``site``, ``cancelled``, ...) and provenance
    columns are never flagged.
    """
    found: dict[str, str] = {}
    for col in columns:
        norm = normalise_column_name(col)
        if str(col) in _CANONICAL_COLUMNS or norm in _CANONICAL_COLUMNS or str(col).startswith("_source_"):
            continue
        for kind, pattern in IDENTIFIER_PATTERNS.items():
            if re.search(pattern, norm):
                found[str(col)] = kind
                break
    return found


def raise_problems(problems: Sequence[tuple[type[GroupevalError], Problem]], message: str) -> None:
    """Raise one error holding every problem; the class is the most serious kind present.

    Order of seriousness: :class:`IdentifierError`, :class:`ConfigError`,
    :class:`ReadError`, :class:`SchemaError`, :class:`ValidationError`.
    """
    if not problems:
        return
    kinds = {cls for cls, _ in problems}
    for cls in (IdentifierError, ConfigError, ReadError, SchemaError, ValidationError):
        if cls in kinds or any(issubclass(k, cls) for k in kinds):
            chosen = cls
            break
    else:  # pragma: no cover - only GroupevalError subclasses are collected
        chosen = ValidationError
    raise chosen(message, [p for _, p in problems])


@dataclass(frozen=True)
class ValidatedTables:
    """What :func:`validate_tables` returns.

    Attributes
    ----------
    tables
        The five canonical tables, by name.
    quality
        Every excluded, repaired or inferred row (and dropped column).
    row_counts
        ``{table: {"read", "excluded", "inferred", "kept"}}`` with
        ``read - excluded + inferred == kept``.
    timepoints
        The survey timepoints, in order.
    """

    tables: dict[str, pd.DataFrame]
    quality: QualityReport
    row_counts: dict[str, dict[str, int]]
    timepoints: tuple[str, ...]


# --------------------------------------------------------------------------
# internal state
# --------------------------------------------------------------------------
class _Table:
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
        self.skipped = 0  # entirely blank rows the reader skipped (counted as read and excluded)
        self.cancelled: list[tuple[object, object]] = []  # (group, date) of cancelled wide-sheet columns
        self.timepoints: tuple[str, ...] | None = None
        self.coded: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    @property
    def live(self) -> np.ndarray:
        return ~self.excluded


class _Log:
    def __init__(self) -> None:
        self.problems: list[tuple[type[GroupevalError], Problem]] = []
        self.quality: list[pd.DataFrame] = []

    def problem(self, cls, file, row, column, value, reason, fix="") -> None:
        self.problems.append((cls, Problem(file, row, column, value, reason, fix)))

    def row_problems(self, t: _Table, mask: np.ndarray, column: str | None, reason: str, fix: str = "",
                     values: pd.Series | np.ndarray | None = None, cls=ValidationError) -> None:
        idx = np.flatnonzero(mask)
        if not len(idx):
            return
        files = t.df[SOURCE_FILE].to_numpy(dtype=object)[idx]
        rows = t.df[SOURCE_ROW].to_numpy()[idx]
        if values is None:
            vals = t.df[column].to_numpy(dtype=object)[idx] if column in t.df else [None] * len(idx)
        else:
            vals = np.asarray(values, dtype=object)[idx]
        cols = _user_columns(t, idx, column)
        self.problems.extend((cls, Problem(str(f), int(r), c, _plain(v), reason, fix))
                             for f, r, c, v in zip(files, rows, cols, vals))

    def record(self, t: _Table, mask: np.ndarray, column: str | None, reason: str, action: str,
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

    def summary(self, file, column, value, reason, action="inferred") -> None:
        self.quality.append(pd.DataFrame({"file": [file], "row": [pd.NA], "column": [column],
                                          "value": [None if value is None else str(value)],
                                          "reason": [reason], "action": [action]}))


def _user_columns(t: _Table, idx: np.ndarray, column: str | None) -> np.ndarray:
    """The column as the user sees it: the date header of a wide sheet for cell-derived columns."""
    out = np.full(len(idx), column, dtype=object)
    if column in _CELL_COLUMNS and "_wide_col" in t.df:
        wide = t.df["_wide_col"].to_numpy(dtype=object)[idx]
        has = pd.notna(wide)
        out[has] = wide[has]
    return out


def _plain(v: Any) -> Any:
    if v is None or (not isinstance(v, str) and pd.api.types.is_scalar(v) and pd.isna(v)):
        return None
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, pd.Timestamp):
        return str(v.date()) if v == v.normalize() else str(v)
    return v


def _distinct_files(col: pd.Series) -> list[str]:
    """Distinct file labels of a provenance column, workbook sheets folded into their file."""
    files = [str(f).split(" [")[0] for f in col.dropna().unique()]
    return list(dict.fromkeys(files))


def _files_of(t: _Table) -> str:
    files = _distinct_files(t.df[SOURCE_FILE]) if len(t.df) else []
    return ", ".join(files) if files else t.name


# --------------------------------------------------------------------------
# preparation
# --------------------------------------------------------------------------
def _prepare(name: str, raw: Any, log: _Log) -> _Table:
    """Concatenate the table's frames, add provenance, canonicalise column names."""
    if raw is None:
        return _Table(name, _empty_raw(name), given=False)
    frames = list(raw) if isinstance(raw, (list, tuple)) else [raw]
    parts = []
    cancelled: list = []
    skipped = 0
    for k, df in enumerate(frames):
        if not isinstance(df, pd.DataFrame):
            raise ValidationError(f"{name}= must be a pandas DataFrame (or a list of them), "
                                  f"got {type(df).__name__}.")
        label = name if len(frames) == 1 else f"{name}[{k}]"
        df = df.copy(deep=False)  # only whole columns are (re)assigned below
        df.columns = [str(c) for c in df.columns]
        dup = pd.Index(df.columns)[pd.Index(df.columns).duplicated()].unique().tolist()
        if dup:
            log.problem(SchemaError, label, 1, ", ".join(dup), None,
                        "column name(s) appear more than once in the header",
                        "give every column a distinct name")
            df = df.loc[:, ~pd.Index(df.columns).duplicated()]
        if SOURCE_FILE not in df:
            df[SOURCE_FILE] = label
        if SOURCE_ROW not in df:
            df[SOURCE_ROW] = np.arange(2, len(df) + 2)
        if df[SOURCE_FILE].isna().any():
            df[SOURCE_FILE] = df[SOURCE_FILE].astype(object).where(df[SOURCE_FILE].notna(), label)
        # canonical names matched case/space-insensitively ("Member ID " -> member_id)
        spec = TABLES[name]
        canon = {c: c for c in (*spec.required, *spec.optional)}
        renames: dict[str, str] = {}
        for c in df.columns:
            n = normalise_column_name(c)
            if c not in canon and n in canon and canon[n] not in df.columns and canon[n] not in renames.values():
                renames[c] = canon[n]
        if renames:
            df = df.rename(columns=renames)
        attrs = frames[k].attrs
        if name == "attendance":
            df["_signin"] = str(attrs.get(SIGNIN_ATTR, "")).lower() == "signin"
            if str(attrs.get(SIGNIN_ATTR, "")).lower() == "wide" and SOURCE_COLUMN in df:
                df["_wide_col"] = df[SOURCE_COLUMN].astype(object)
            if BLANK_CELL in df:
                df["_blank"] = df.pop(BLANK_CELL).fillna(False).astype(bool)
            else:
                df["_blank"] = bool(attrs.get(BLANK_ATTR, False))
            cancelled.extend(attrs.get(CANCELLED_ATTR, []) or [])
            empty = attrs.get(EMPTY_SESSIONS_ATTR, []) or []
            if empty:
                log.summary(label if SOURCE_FILE not in frames[k] else _first_file(df, label), "session_date",
                            len(empty), "session columns left entirely blank in the sheet: treated as not held "
                            "(no attendance rows, not in the inferred sessions): " +
                            ", ".join(f"{g} {pd.Timestamp(d).date()}" for g, d in list(empty)[:20]), "flagged")
        n_blank = int(attrs.get(BLANK_ROWS_ATTR, 0) or 0)
        if n_blank:
            skipped += n_blank
            log.summary(_first_file(df, label), None, n_blank,
                        "entirely blank rows skipped when reading (count in value)", "excluded")
        parts.append(df)
    if len(parts) == 1:
        out = parts[0]
    else:
        out = pd.concat(parts, ignore_index=True, sort=False)
    if not (isinstance(out.index, pd.RangeIndex) and out.index.start == 0 and out.index.step == 1):
        out = out.reset_index(drop=True)
    t = _Table(name, out, given=True)
    t.skipped, t.cancelled = skipped, cancelled
    return t


def _first_file(df: pd.DataFrame, label: str) -> str:
    if SOURCE_FILE in df and len(df):
        files = _distinct_files(df[SOURCE_FILE])
        return files[0] if files else label
    return label


def _empty_raw(name: str) -> pd.DataFrame:
    spec = TABLES[name]
    cols = {c: pd.Series(dtype=object) for c in spec.required}
    cols[SOURCE_FILE] = pd.Series(dtype=object)
    cols[SOURCE_ROW] = pd.Series(dtype="int64")
    df = pd.DataFrame(cols)
    if name == "attendance":
        df["_signin"] = pd.Series(dtype=bool)
        df["_blank"] = pd.Series(dtype=bool)
    return df


# --------------------------------------------------------------------------
# value coercion (each on the distinct values of a column)
# --------------------------------------------------------------------------
def _factorize(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    return codes, np.asarray(uniques, dtype=object)


def _clean_text_values(uniques: np.ndarray) -> np.ndarray:
    """Distinct raw values -> stripped strings (None for blank); ints stay ints (3.0 -> '3')."""
    if len(uniques) and all(isinstance(v, str) for v in uniques):
        import pyarrow as pa
        import pyarrow.compute as pc

        st = pc.utf8_trim_whitespace(pa.array(uniques, type=pa.string()))
        st = pc.if_else(pc.equal(st, ""), pa.scalar(None, pa.string()), st)
        return st.to_numpy(zero_copy_only=False)
    out = np.empty(len(uniques), dtype=object)
    for i, v in enumerate(uniques):  # loop over distinct values only
        if isinstance(v, (bool, np.bool_)):
            out[i] = str(v)
        elif isinstance(v, (float, np.floating)):
            out[i] = str(int(v)) if float(v).is_integer() else str(v)
        elif isinstance(v, (pd.Timestamp, _dt.datetime, _dt.date)):
            out[i] = str(pd.Timestamp(v).date())
        else:
            s = str(v).strip()
            out[i] = s if s else None
    return out


def _id_key(clean: np.ndarray) -> np.ndarray:
    """Spelling -> comparison key: spaces collapsed, lower case (None stays None)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(clean, type=pa.string(), from_pandas=True)
    return pc.utf8_lower(pc.replace_substring_regex(arr, r"\s+", " ")).to_numpy(zero_copy_only=False)


def _from_codes(codes: np.ndarray, values, dtype=STRING_DTYPE) -> pd.Series:
    import pyarrow as pa

    arr = values if isinstance(values, pa.Array) else pa.array(list(values), type=pa.string(), from_pandas=True)
    missing = codes < 0
    taken = arr.take(pa.array(codes, mask=missing) if missing.any() else pa.array(codes))
    return pd.Series(pd.arrays.ArrowStringArray(taken) if dtype == STRING_DTYPE else
                     pd.array(taken.to_pylist(), dtype=dtype))


def _arrow_codes(s: pd.Series):
    """An Arrow-backed string column -> (int32 codes, -1 = missing; its distinct values as a pyarrow array).

    Dictionary-encoded by pyarrow chunk by chunk (one dictionary shared by every
    chunk), without combining the chunks or creating Python objects.
    """
    import pyarrow as pa

    arr = s.array.__arrow_array__()
    if isinstance(arr, pa.Array):
        arr = pa.chunked_array([arr])
    enc = arr.dictionary_encode()
    if enc.num_chunks == 0:
        return np.zeros(0, dtype=np.int32), pa.array([], type=pa.string())
    dic = enc.chunk(enc.num_chunks - 1).dictionary
    if any(len(ch.dictionary) != len(dic) for ch in enc.chunks):  # pragma: no cover - pyarrow shares it
        enc = arr.combine_chunks().dictionary_encode()
        enc, dic = pa.chunked_array([enc]), enc.dictionary
    if dic.type != pa.string():  # pandas may store large_string; the distinct values are few
        dic = dic.cast(pa.string())
    parts = [ch.indices.fill_null(-1) if ch.indices.null_count else ch.indices for ch in enc.chunks]
    # joined by pyarrow: its allocator's memory is already mapped (numpy's would be page-faulted in)
    codes = (parts[0] if len(parts) == 1 else pa.concat_arrays(parts)).to_numpy()
    return codes.astype(np.int32, copy=False), dic


def _text_codes(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(codes, distinct raw values as an object array); codes -1 = missing.

    Categorical columns give their codes and categories and Arrow-backed
    string columns are dictionary-encoded by pyarrow (no hashing of Python
    objects); a category may be unused and distinct raw values may clean to
    the same text, which callers working per distinct value do not mind.
    """
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.cat.codes.to_numpy(), np.asarray(s.cat.categories, dtype=object)
    if isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow":
        codes, dic = _arrow_codes(s)
        return codes, dic.to_numpy(zero_copy_only=False)
    return _factorize(s)


def _coerce_text(s: pd.Series) -> pd.Series:
    codes, uniques = _text_codes(s)
    return _from_codes(codes, _clean_text_values(uniques)).set_axis(s.index)


def _parse_dates(s: pd.Series, dayfirst: bool | None) -> tuple[pd.Series, np.ndarray, np.ndarray, str | None]:
    """Parse a column of dates.

    Returns (datetime64[ns] series normalised to the day, mask of values that
    could not be read, mask of blank values, an example of an ambiguous d/m
    value or None).  Only distinct values are parsed.
    """
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        out = s
        if getattr(out.dt, "tz", None) is not None:
            out = out.dt.tz_localize(None)
        if out.dtype != "datetime64[ns]":
            out = out.astype("datetime64[ns]")
        i8 = out.to_numpy().view(np.int64)
        nat = i8 == _NAT
        day = np.int64(_DAY_NS)
        # some value has a time of day? (// is faster than %; NaT, not a whole day, is checked only then)
        whole = np.floor_divide(i8, day, out=_rows_empty(len(i8), np.int64))
        whole *= day  # the day part of each value (NaT wraps round: hence the second test)
        if (whole != i8).any() and ((whole != i8) & ~nat).any():
            out = out.dt.normalize()
        return out, np.zeros(len(s), dtype=bool), nat, None
    codes, uniques = _factorize(s)
    parsed = np.full(len(uniques), np.datetime64("NaT"), dtype="datetime64[ns]")
    bad = np.zeros(len(uniques), dtype=bool)
    blank = np.zeros(len(uniques), dtype=bool)
    strings: dict[int, str] = {}
    for i, v in enumerate(uniques):  # distinct values only
        if isinstance(v, (pd.Timestamp, _dt.datetime, _dt.date, np.datetime64)):
            ts = pd.Timestamp(v)
            if ts.tzinfo is not None:
                ts = ts.tz_localize(None)
            parsed[i] = ts.normalize().to_datetime64()
        elif isinstance(v, str):
            v = v.strip()
            if v:
                strings[i] = v
            else:
                blank[i] = True
        else:
            bad[i] = True  # a number or another object is not a date
    ambiguous = None
    if strings:
        idx = np.fromiter(strings.keys(), dtype=np.int64, count=len(strings))
        vals = pd.Series(list(strings.values()), dtype=object)
        iso = pd.to_datetime(vals, format="ISO8601", errors="coerce")
        ok = iso.notna().to_numpy()
        parsed[idx[ok]] = iso[ok].dt.tz_localize(None).dt.normalize().to_numpy() \
            if getattr(iso.dt, "tz", None) is not None else iso[ok].dt.normalize().to_numpy()
        rest_idx, rest = idx[~ok], vals[~ok]
        if len(rest):
            m = rest.str.extract(_DMY.pattern)
            is_dmy = m[0].notna().to_numpy()
            if is_dmy.any():
                a = m[0][is_dmy].astype(int).to_numpy()
                b = m[1][is_dmy].astype(int).to_numpy()
                y = m[2][is_dmy].astype(int).to_numpy()
                y = np.where(y < 100, 2000 + y, y)
                first = dayfirst
                if first is None:
                    if (a > 12).any() and not (b > 12).any():
                        first = True
                    elif (b > 12).any() and not (a > 12).any():
                        first = False
                    elif not ((a != b) & (a <= 12) & (b <= 12)).any():
                        first = True  # every value reads the same either way
                    else:
                        ambiguous = str(rest[is_dmy][(a != b) & (a <= 12) & (b <= 12)].iloc[0])
                if first is not None:
                    day, mon = (a, b) if first else (b, a)
                    dt = pd.to_datetime(pd.DataFrame({"year": y, "month": mon, "day": day}), errors="coerce")
                    parsed[rest_idx[is_dmy]] = dt.to_numpy()
                    bad[rest_idx[is_dmy]] = dt.isna().to_numpy()
                else:
                    bad[rest_idx[is_dmy]] = False  # reported once as ambiguous
            other = ~is_dmy
            if other.any():
                import warnings

                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    dt = pd.to_datetime(rest[other], format="mixed", errors="coerce",
                                        dayfirst=bool(dayfirst))
                if getattr(dt.dt, "tz", None) is not None:
                    dt = dt.dt.tz_localize(None)
                parsed[rest_idx[other]] = dt.dt.normalize().to_numpy()
                bad[rest_idx[other]] = dt.isna().to_numpy()
    values = np.where(codes >= 0, parsed[np.maximum(codes, 0)], np.datetime64("NaT")) if len(uniques) else \
        np.full(len(s), np.datetime64("NaT"), dtype="datetime64[ns]")
    c0 = np.maximum(codes, 0)
    badrows = np.where(codes >= 0, bad[c0], False) if len(uniques) else np.zeros(len(s), bool)
    blankrows = np.where(codes >= 0, blank[c0], True) if len(uniques) else np.ones(len(s), bool)
    return pd.Series(values, index=s.index, dtype="datetime64[ns]"), badrows, blankrows, ambiguous


def _parse_bool(s: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """-> (values, missing mask, bad mask)."""
    if pd.api.types.is_bool_dtype(s.dtype) and not s.isna().any():
        v = s.to_numpy(dtype=bool)
        return v, np.zeros(len(s), bool), np.zeros(len(s), bool)
    codes, uniques = _factorize(s)
    val = np.zeros(len(uniques), dtype=bool)
    miss = np.zeros(len(uniques), dtype=bool)
    bad = np.zeros(len(uniques), dtype=bool)
    for i, v in enumerate(uniques):  # distinct values only
        if isinstance(v, (bool, np.bool_)):
            val[i] = bool(v)
            continue
        if isinstance(v, (int, float, np.integer, np.floating)):
            if v in (0, 1):
                val[i] = bool(v)
            else:
                bad[i] = True
            continue
        t = str(v).strip().lower()
        if t == "":
            miss[i] = True
        elif t in _TRUE:
            val[i] = True
        elif t in _FALSE:
            val[i] = False
        else:
            bad[i] = True
    c = np.maximum(codes, 0)
    return val[c], np.where(codes < 0, True, miss[c]), np.where(codes < 0, False, bad[c])


def _vocab_key(v: str) -> str:
    return re.sub(r"[\s_\-]+", "-", v.strip().lower())


# --------------------------------------------------------------------------
# rule steps
# --------------------------------------------------------------------------
def _check_identifiers(t: _Table, log: _Log, allow: bool) -> None:
    found = find_identifier_columns(c for c in t.df.columns if c not in _INTERNAL)
    if not found:
        return
    file = _files_of(t)
    if not allow:
        cols = ", ".join(f"{c!r} ({k})" for c, k in found.items())
        log.problem(IdentifierError, file, None, ", ".join(found), None,
                    f"the {t.name} table holds direct identifiers: {cols}",
                    "delete these columns (groupeval never needs names or contact details; members are "
                    "identified by member_id), or pass allow_identifiers=True to drop them on load")
        t.df = t.df.drop(columns=list(found))
        return
    for c, kind in found.items():
        log.summary(file, c, None, f"direct identifier column ({kind}) removed: allow_identifiers=True "
                    "accepts the file but identifiers never reach a Dataset or output", "repaired")
    t.df = t.df.drop(columns=list(found))


def _check_structure(t: _Table, log: _Log) -> None:
    if not t.given:
        return
    spec = TABLES[t.name]
    missing = [c for c in spec.required if c not in t.df.columns]
    if t.name == "attendance" and "attended" in missing and "status" in t.df.columns:
        missing.remove("attended")
    file = _files_of(t) if missing or len(t.df) == 0 else t.name
    if missing:
        have = [c for c in t.df.columns if not c.startswith("_")]
        datalike = [c for c in have if _looks_like_value(c)]
        if datalike and len(datalike) * 2 >= len(have):
            log.problem(SchemaError, file, 1, ", ".join(missing), ", ".join(have[:6]),
                        f"the {t.name} file seems to have no header row: its first row holds values "
                        f"({', '.join(datalike[:3])}) and the required column(s) {', '.join(missing)} are missing",
                        "add a header row naming the columns (e.g. " + ", ".join(spec.required) + ")")
        else:
            log.problem(SchemaError, file, None, ", ".join(missing), None,
                        f"the {t.name} table lacks required column(s) {', '.join(missing)} "
                        f"(columns present: {', '.join(have) or 'none'})",
                        "rename the matching columns with columns={'Your header': '" + missing[0] +
                        "'} or add them")
        t.usable = False
    if len(t.df) == 0:
        log.problem(SchemaError, file, None, None, None, f"the {t.name} table has no data rows",
                    "check that the right file was given and that it was saved with its data")
        t.usable = False


def _blankish(s: pd.Series) -> np.ndarray:
    """Missing, or text that is empty after stripping spaces."""
    na = s.isna().to_numpy()
    if s.dtype == object or isinstance(s.dtype, pd.StringDtype):
        nn = np.flatnonzero(~na)
        if len(nn):
            codes, uniques = _factorize(s.iloc[nn])
            empty_u = np.array([isinstance(u, str) and not u.strip() for u in uniques], dtype=bool)
            na[nn] = empty_u[np.maximum(codes, 0)] & (codes >= 0)
    return na


def _looks_like_value(name: str) -> bool:
    """A header cell that looks like data (a number, a date, a yes/no value, an id like G1)."""
    t = str(name).strip()
    if re.fullmatch(r"[-+]?\d+([.,]\d+)?", t) or t.lower() in _TRUE | _FALSE:
        return True
    if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}([ T].*)?", t) or _DMY.match(t):
        return True
    return bool(re.fullmatch(r"[A-Za-z]{1,3}\d+", t))


def _drop_blank_rows(t: _Table, log: _Log) -> None:
    """Rows whose every data cell is empty are excluded (recorded)."""
    data_cols = [c for c in t.df.columns if not c.startswith("_")]
    if not data_cols or not len(t.df):
        return
    cand = None  # all rows
    # narrow the candidates column by column (non-text columns first: cheapest); usually none survive
    data_cols.sort(key=lambda c: t.df[c].dtype == object or isinstance(t.df[c].dtype, pd.StringDtype))
    for c in data_cols:
        if cand is None:
            cand = np.flatnonzero(_blankish(t.df[c]))
        else:
            cand = cand[_blankish(t.df[c].iloc[cand])]
        if not len(cand):
            return
    mask = np.zeros(len(t.df), dtype=bool)
    mask[cand] = True
    log.record(t, mask, None, "blank row (every cell empty)", "excluded")


def _coerce(t: _Table, log: _Log, *, dayfirst: bool | None, item_ranges: Mapping[str, tuple[float, float]],
            timepoints: Sequence[str] | None) -> None:
    spec = TABLES[t.name]
    df = t.df
    live = t.live
    for col, kind in spec.kinds.items():
        if col not in df.columns:
            continue
        required = col in spec.required
        if kind == "id":
            continue  # ids are unified across tables later
        if kind in ("string", "category"):
            if kind == "category" and col in _VOCAB:
                _check_vocab(t, log, col)
            else:
                df[col] = _coerce_text(df[col])
        elif kind == "date":
            parsed, bad, blank, ambiguous = _parse_dates(df[col], dayfirst)
            numeric = bad & pd.to_numeric(df[col], errors="coerce").notna().to_numpy() if bad.any() else bad
            log.row_problems(t, bad & ~numeric & live, col, "not a date that can be read",
                             "write dates as YYYY-MM-DD (or DD/MM/YYYY with dayfirst=True)")
            log.row_problems(t, numeric & live, col, "a number, not a date",
                             "if it is an Excel date serial, format the column as a date in the spreadsheet; "
                             "otherwise write dates as YYYY-MM-DD")
            if ambiguous is not None:
                log.problem(ValidationError, _files_of(t), None, col, ambiguous,
                            "dates could be day-first or month-first (e.g. 03/02/2025 is 3 February or "
                            "March 2)", "pass dayfirst=True (DD/MM/YYYY) or dayfirst=False (MM/DD/YYYY), "
                            "or set dayfirst in the [programme] table of the TOML config")
            if parsed is not df[col]:  # (setting a column copies it)
                df[col] = parsed
            if required:
                log.row_problems(t, blank & live, col,
                                 f"{col} is empty", f"fill in {col} for every row")
        elif kind == "bool":
            if col == "attended":
                continue  # handled with status below
            val, miss, bad = _parse_bool(df[col])
            log.row_problems(t, bad & live, col, "not a yes/no value",
                             "use TRUE/FALSE, yes/no or 1/0")
            df[col] = val & ~miss & ~bad
    if t.name == "attendance":
        _coerce_attended(t, log)
    if t.name == "sessions" and "cancelled" not in df.columns:
        df["cancelled"] = False
    if t.name == "responses":
        _coerce_timepoints(t, log, timepoints)
        _coerce_items(t, log, item_ranges)


def _check_vocab(t: _Table, log: _Log, col: str) -> None:
    """Text cleaned (stripped, blank = missing) and matched to the vocabulary, per distinct value."""
    s = t.df[col]
    allowed = _VOCAB[col]
    codes, uniques = _text_codes(s)
    clean = _clean_text_values(uniques)
    keymap = {_vocab_key(a): a for a in allowed}
    mapped = np.array([keymap.get(_vocab_key(u)) if u is not None else None for u in clean], dtype=object)
    bad_u = np.array([u is not None and m is None for u, m in zip(clean, mapped)], dtype=bool)
    # one extra slot for code -1 (missing): row arrays by a single take
    bad = np.append(bad_u, False)[codes] if bad_u.any() else None  # per row only when some value is bad
    if bad is not None and bad.any():
        log.row_problems(t, bad & t.live, col, f"{col} must be one of {', '.join(allowed)}",
                         f"recode {col} to one of: {', '.join(allowed)} (or leave it blank)",
                         values=np.concatenate([clean, np.array([None], dtype=object)])[codes])
    t.df[col] = _from_codes(codes, mapped).set_axis(s.index)
    t.coded[col] = (codes, mapped)  # reused (status -> attended) without factorising again


def _coerce_attended(t: _Table, log: _Log) -> None:
    """``attended`` from its own column, or from ``status`` (present/late = True)."""
    df = t.df
    live = t.live
    has_status = "status" in df.columns
    if has_status:
        codes, uniques = t.coded["status"] if "status" in t.coded else _factorize(df["status"])
        u_val = [_STATUS_ATTENDED.get(u) for u in uniques]
        u_has = np.array([v is not None for v in u_val] + [False], dtype=bool)  # last slot: code -1
        # per distinct status, then one take per row array
        from_status = np.take(u_has, codes, out=_rows_empty(len(codes), bool), mode="wrap")  # -1: last slot
        status_val = np.take(np.array([bool(v) for v in u_val] + [False], dtype=bool), codes,
                             out=_rows_empty(len(codes), bool), mode="wrap")
    if "attended" in df.columns:
        val, miss, bad = _parse_bool(df["attended"])
        clean = not miss.any() and not bad.any()  # the usual case: every mark read (no masks to combine)
        if has_status:
            conflict = from_status & (val != status_val)
            if not clean:
                conflict &= ~miss & ~bad
            log.row_problems(t, conflict & live, "attended",
                             "attended contradicts status (present/late mean attended; absent/excused do not)",
                             "correct attended or status")
            if not clean:
                val = np.where(miss & from_status, status_val, val)
                miss = miss & ~from_status
        if not clean:
            log.row_problems(t, bad & live, "attended", "not an attendance mark that can be read",
                             "use TRUE/FALSE, 1/0, yes/no or present/absent/excused/late")
            log.row_problems(t, miss & ~bad & live, "attended", "attended is empty",
                             "fill in every mark, or delete rows for sessions the member was not scheduled for")
        df["attended"] = val if val.dtype == bool else val.astype(bool)
    else:
        # missing after the vocabulary mapping = no status among present/absent/excused/late
        st_missing = ~from_status if "status" in t.coded else df["status"].isna().to_numpy()
        log.row_problems(t, st_missing & live, "status", "status is empty", "fill in every mark")
        df["attended"] = status_val


def _natural_key(tp: str) -> tuple:
    head = 0 if re.match(r"^(baseline|pre|intake|screen)", tp.lower()) else 1
    parts = re.split(r"(\d+)", tp.lower())
    return (head, tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts))


def _coerce_timepoints(t: _Table, log: _Log, timepoints: Sequence[str] | None) -> None:
    df = t.df
    raw = df["timepoint"]
    codes, uniques = _factorize(raw)
    clean = _clean_text_values(uniques)
    if timepoints is None:
        counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
        sp = pd.DataFrame({"spelling": clean, "n": counts}).dropna()
        sp["key"] = sp["spelling"].str.casefold()
        sp = sp.groupby(["key", "spelling"], as_index=False)["n"].sum()
        sp = sp.sort_values(["key", "n", "spelling"], ascending=[True, False, True], kind="stable")
        present = sp.drop_duplicates("key")["spelling"].tolist()
        order: dict[str, float] = {}
        if "completed_on" in df.columns and pd.api.types.is_datetime64_any_dtype(df["completed_on"]):
            keys = pd.Series(clean[np.maximum(codes, 0)] if len(clean) else np.full(len(codes), None),
                             dtype=object).where(codes >= 0)
            med = pd.Series(df["completed_on"].to_numpy()).groupby(keys.str.casefold()).median()
            order = {k: v.value for k, v in med.dropna().items()}
        timepoints = tuple(sorted(present, key=lambda p: (order.get(p.casefold(), np.inf), _natural_key(p))))
    canon = {tp.strip().casefold(): tp for tp in timepoints}
    mapped = np.array([None if c is None else canon.get(c.casefold()) for c in clean], dtype=object)
    known = np.array([m is not None for m in mapped], dtype=bool)
    c0 = np.maximum(codes, 0)
    live = t.live
    unknown = (codes >= 0) & ~known[c0] if len(known) else np.zeros(len(df), bool)
    log.row_problems(t, unknown & live, "timepoint",
                     f"unknown timepoint (expected one of: {', '.join(timepoints)})",
                     "recode the timepoint, or list it in [programme] timepoints of the TOML config / "
                     "timepoints= (in order)")
    log.row_problems(t, (codes < 0) & live, "timepoint", "timepoint is empty", "fill in the timepoint")
    changed = np.array([m is not None and u != m for u, m in zip(uniques, mapped)], dtype=bool)
    if changed.any():
        rows = (codes >= 0) & changed[c0]
        log.record(t, rows, "timepoint", "timepoint spelled with different case or spaces; unified", "repaired")
    df["timepoint"] = _from_codes(codes, mapped).set_axis(df.index)
    t.timepoints = tuple(timepoints)


_ITEM_RE = re.compile(r"^(?P<prefix>[a-z][a-z0-9_]*?)_(?P<n>\d+)$")


def item_columns(columns: Iterable[str], prefix: str) -> list[str]:
    """Columns named ``<prefix>_<n>`` (n = 1, 2, ...), in item order."""
    pat = re.compile(rf"^{re.escape(prefix)}_(\d+)$")
    found = [(int(m.group(1)), c) for c in columns if (m := pat.match(str(c)))]
    return [c for _, c in sorted(found)]


def _coerce_items(t: _Table, log: _Log, item_ranges: Mapping[str, tuple[float, float]]) -> None:
    df = t.df
    live = t.live
    for prefix, (lo, hi) in item_ranges.items():
        for col in item_columns(df.columns, prefix):
            s = df[col]
            if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
                num = pd.to_numeric(s, errors="coerce").astype("float64")
                nonnum = np.zeros(len(s), bool)
            else:
                txt = _coerce_text(s)
                num = pd.to_numeric(txt.astype(object), errors="coerce").astype("float64")
                nonnum = (txt.notna() & num.isna()).to_numpy(dtype=bool, na_value=False)
            v = num.to_numpy()
            log.row_problems(t, nonnum & live, col, "item response is not a number",
                             f"enter the coded value ({lo:g} to {hi:g}) or leave the cell empty",
                             values=s.to_numpy(dtype=object))
            out = ~np.isnan(v) & ((v < lo) | (v > hi) | (v != np.round(v)))
            log.row_problems(t, out & live, col,
                             f"item response outside the instrument's range {lo:g} to {hi:g}",
                             "correct the value (a code such as 99 for 'refused' must be left empty); "
                             "groupeval does not guess what was meant")
            df[col] = num


def _arrow_distinct(s: pd.Series):
    """A text column as (codes, distinct raw values as a pyarrow string array); codes -1 = missing.

    Arrow-backed string columns are dictionary-encoded without creating
    Python objects; other columns are factorised and their distinct values
    turned into text (3.0 -> "3").
    """
    import pyarrow as pa

    if isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow":
        return _arrow_codes(s)
    codes, uniques = _factorize(s)
    if len(uniques) and all(isinstance(v, str) for v in uniques):
        return codes, pa.array(uniques, type=pa.string())
    return codes, pa.array(_clean_text_values(uniques), type=pa.string())


def _ws_key(trimmed):
    """Comparison key of trimmed spellings: runs of whitespace as one space, lower case."""
    import pyarrow.compute as pc

    # the regex only where some value holds whitespace other than single spaces (rare in ids);
    # plain substring searches find them (RE2's \s is one of these five)
    if any(pc.any(pc.match_substring(trimmed, w)).as_py() for w in ("  ", "\t", "\n", "\r", "\f")):
        trimmed = pc.replace_substring_regex(trimmed, r"\s+", " ")
    return pc.utf8_lower(trimmed)


_PARALLEL_ROWS = 200_000  # dictionary-encode id columns on two threads from this many rows on


def _distinct_all(tables: dict[str, _Table]) -> dict[tuple[str, str], Any]:
    """``_arrow_distinct`` of every identifier column of every usable table, keyed (column, table).

    The columns are independent and pyarrow hashes without holding the GIL,
    so a large programme has them encoded on two threads (the biggest first);
    the results are the same as one after the other.
    """
    jobs = [(idcol, t.name, t.df[idcol]) for idcol in _ID_OWNER for t in tables.values()
            if t.usable and idcol in t.df.columns]
    if sum(len(s) for *_, s in jobs) < _PARALLEL_ROWS or len(jobs) < 2:
        return {(c, n): _arrow_distinct(s) for c, n, s in jobs}
    from concurrent.futures import ThreadPoolExecutor

    jobs.sort(key=lambda j: -len(j[2]))
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [((c, n), pool.submit(_arrow_distinct, s)) for c, n, s in jobs]
        return {k: f.result() for k, f in futures}


def _unify_ids(tables: dict[str, _Table], log: _Log) -> dict[str, pd.Index]:
    """Unify identifier spellings that differ only by case or spaces, across all tables.

    The canonical spelling of a key is the one used in the owning table
    (``members`` for member ids, ``groups`` for group ids), else the most
    frequent one, ties broken alphabetically (so row order never matters).
    Adds integer code columns ``_member_id``/``_group_id`` (-1 = empty).
    Each table's column is dictionary-encoded once; the spellings are cleaned
    on the union of the distinct values of all tables (pyarrow compute), and
    the codes of the rows come from a single take per table.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    cats: dict[str, Any] = {}
    distinct = _distinct_all(tables)
    for idcol, owner in _ID_OWNER.items():
        users = [t for t in tables.values() if t.usable and idcol in t.df.columns]
        users.sort(key=lambda t: t.name != owner)  # owner first
        if not users:
            cats[idcol] = pa.array([], type=pa.string())
            continue
        per = {t.name: distinct[idcol, t.name] for t in users}
        # the distinct spellings of all tables: union values u, and per table where its values are in it
        enc = pa.concat_arrays([per[t.name][1] for t in users]).dictionary_encode()
        uraw = enc.dictionary
        to_u = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        bounds = np.cumsum([0] + [len(per[t.name][1]) for t in users])
        seg = {t.name: to_u[bounds[i]:bounds[i + 1]] for i, t in enumerate(users)}
        trimmed = pc.utf8_trim_whitespace(uraw)
        trimmed = pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)
        key = _ws_key(trimmed)
        ucode = None
        # the union values are distinct; so are the trimmed ones when trimming changed nothing
        trim_same = bool(pc.all(pc.equal(trimmed, uraw)).as_py() is not False)
        spellings = trimmed.drop_null() if trim_same else pc.unique(trimmed.drop_null())
        if len(spellings) == len(pc.unique(key.drop_null())):
            # fast path: one spelling per key (no case variants); only spaces may need stripping
            categories = spellings
            if idcol == "group_id":
                order = pc.array_sort_indices(categories)
                categories = categories.take(order)
            if trim_same:  # categories are the valid union values: their codes without a hash lookup
                valid = trimmed.is_valid().to_numpy(zero_copy_only=False)
                rank = np.cumsum(valid, dtype=np.int64) - 1
                if idcol == "group_id":
                    inv = np.empty(len(categories), dtype=np.int64)
                    inv[order.to_numpy()] = np.arange(len(categories))
                    rank = inv[np.maximum(rank, 0)] if len(inv) else rank
                ucode = np.append(np.where(valid, rank, -1).astype(np.int32), np.int32(-1))
            target = trimmed
        else:
            counts = np.zeros(len(uraw), dtype=np.int64)
            owned = np.zeros(len(uraw), dtype=bool)
            for t in users:
                codes = per[t.name][0]
                n = np.bincount(codes[codes >= 0], minlength=len(per[t.name][1]))
                ok = seg[t.name] >= 0
                np.add.at(counts, seg[t.name][ok], n[ok])
                if t.name == owner:
                    owned[seg[t.name][ok]] = True
            sp = pd.DataFrame({"key": key.to_numpy(zero_copy_only=False),
                               "spelling": trimmed.to_numpy(zero_copy_only=False),
                               "n": counts, "owner": owned}).dropna(subset=["spelling"])
            agg = sp.groupby(["key", "spelling"], as_index=False, sort=False).agg(n=("n", "sum"),
                                                                                  owner=("owner", "max"))
            agg = agg.sort_values(["key", "owner", "n", "spelling"], ascending=[True, False, False, True],
                                  kind="stable")
            best = agg.drop_duplicates("key").set_index("key")["spelling"]
            values = best.to_numpy(dtype=object)
            if idcol == "group_id":
                values = np.sort(values)
            categories = pa.array(values, type=pa.string())
            target = pa.array(best.reindex(key.to_numpy(zero_copy_only=False)).to_numpy(dtype=object),
                              type=pa.string(), from_pandas=True)
        cats[idcol] = categories
        # per union value (+ one slot for "not in the union" = missing): code, spelling changed, present
        if ucode is None:
            ucode = np.append(pc.fill_null(pc.index_in(target, value_set=categories), -1).to_numpy(
                zero_copy_only=False).astype(np.int32), np.int32(-1))
        has_u = np.append(target.is_valid().to_numpy(zero_copy_only=False), False)
        changed_u = np.append(pc.fill_null(pc.not_equal(uraw, target), False).to_numpy(zero_copy_only=False),
                              False) & has_u
        for t in users:
            codes = per[t.name][0]
            s_ = seg[t.name]
            has = has_u[s_]
            changed = changed_u[s_]
            # per distinct value of the table, with one extra slot for code -1 (missing): row arrays by one take
            if changed.any():
                rows = np.append(changed, False)[codes]
                log.record(t, rows, idcol, "identifier differs from another spelling only by case or "
                           f"spaces; unified to the spelling used in the {owner} table (or the most common one)",
                           "repaired")
            any_missing = bool((codes < 0).any()) or not has.all()
            if any_missing:
                missing = np.append(~has, True)[codes]
                log.row_problems(t, missing & t.live, idcol, f"{idcol} is empty",
                                 f"fill in {idcol} for every row (or delete the row)")
            full = np.take(np.append(ucode[s_], np.int32(-1)), codes, out=_rows_empty(len(codes), np.int32),
                           mode="wrap")  # code -1 reads the last slot, as indexing does
            t.df["_" + idcol] = full
            if changed.any() or any_missing or t.df[idcol].dtype != STRING_DTYPE:
                t.df[idcol] = _from_codes(full, categories).set_axis(t.df.index)
    return cats


def _rows_empty(n: int, dtype) -> np.ndarray:
    """An uninitialised writable numpy array in pyarrow's memory pool.

    Row-sized arrays from numpy's allocator are page-faulted in afresh (4 KiB
    at a time) each time one is made; pyarrow's pool hands back memory that is
    already mapped.  Same values, less system time.
    """
    import pyarrow as pa

    dtype = np.dtype(dtype)
    return np.frombuffer(pa.allocate_buffer(max(n, 1) * dtype.itemsize), dtype=dtype)[:n]


def _days(s: pd.Series) -> np.ndarray:
    """datetime64 -> int64 days since epoch; NaT -> INT64_MIN (dates are already normalised)."""
    v = s.to_numpy(dtype="datetime64[ns]").view(np.int64)
    out = np.floor_divide(v, 86_400_000_000_000, out=_rows_empty(len(v), np.int64))
    out[v == _NAT] = _NAT
    return out


_NAT = np.iinfo(np.int64).min
_DAY_NS = 86_400_000_000_000


def _key(*parts: tuple[np.ndarray, int]) -> np.ndarray:
    """Combine non-negative integer columns into one int64 key (mixed radix; in place after one copy)."""
    key = _rows_empty(len(parts[0][0]), np.int64)
    key[...] = parts[0][0]
    for arr, radix in parts[1:]:
        key *= np.int64(radix)
        key += arr
    return key


def _day_offset(d: np.ndarray, dmin: int) -> np.ndarray:
    """Day numbers -> days since ``dmin`` (>= 0); NaT -> 0 (such rows are reported or excluded)."""
    out = d - np.int64(dmin)
    out[d == _NAT] = 0
    return out


def _grouped_unique(major: np.ndarray, minor: np.ndarray, live: np.ndarray) -> bool:
    """True when no (major, minor) pair repeats, proven without a sort: every row is live, the rows
    of each ``major`` value are contiguous and ``minor`` strictly increases within them (a roster
    written member by member, sessions in order).  False means "not proven" (then sort).
    """
    if len(major) < 2 or not live.all():
        return False
    same = major[1:] == major[:-1]
    # the first value of each run; all distinct iff no value of major comes back after others
    heads = np.concatenate((major[:1], major[1:][~same]))
    seen = np.zeros(int(heads.max()) + 1, dtype=bool)
    seen[heads] = True
    if int(np.count_nonzero(seen)) != len(heads):
        return False  # some value of major comes back after others
    return bool(np.all(~same | (minor[1:] > minor[:-1])))


def _duplicates(t: _Table, log: _Log, key: np.ndarray) -> None:
    """Exact duplicates excluded (first in file order kept); conflicting ones are errors."""
    live = t.live
    srt = np.sort(key[live] if not live.all() else key)
    if not (srt[1:] == srt[:-1]).any():  # the usual case: a sort is cheaper than hashing
        return
    dup = pd.Series(np.where(live, key, -1 - np.arange(len(key)))).duplicated(keep=False).to_numpy()
    cols = [c for c in t.df.columns if not c.startswith("_")]
    sub = t.df.loc[dup, cols + [SOURCE_FILE, SOURCE_ROW]].copy()
    sub["_k"] = key[dup]
    sub["_pos"] = np.flatnonzero(dup)
    sub = sub.sort_values([SOURCE_FILE, SOURCE_ROW, "_pos"], kind="stable")
    exact = sub.duplicated(subset=["_k", *cols], keep="first")
    ex_mask = np.zeros(len(key), bool)
    ex_mask[sub["_pos"][exact].to_numpy()] = True
    first = sub[~exact].drop_duplicates(subset=["_k", *cols]).drop_duplicates("_k")
    where = pd.Series(first[SOURCE_ROW].to_numpy(), index=first["_k"].to_numpy())
    vals = np.full(len(key), None, dtype=object)
    vals[sub["_pos"].to_numpy()] = [f"same as row {r}" for r in where.reindex(sub["_k"]).to_numpy()]
    log.record(t, ex_mask, None, "exact duplicate of an earlier row; first kept", "excluded", values=vals)
    rest = sub[~exact]
    conflict = rest["_k"].duplicated(keep=False)
    if conflict.any():
        c = rest[conflict]
        rows_by_key = c.groupby("_k")[SOURCE_ROW].agg(lambda r: ", ".join(map(str, r)))
        keycols = list(TABLES[t.name].key)
        label = "/".join(keycols)
        mask = np.zeros(len(key), bool)
        mask[c["_pos"].to_numpy()] = True
        others = np.full(len(key), None, dtype=object)
        others[c["_pos"].to_numpy()] = rows_by_key.reindex(c["_k"]).to_numpy()
        pos = c["_pos"].to_numpy()
        keyvals = t.df.iloc[pos][keycols].astype(str).agg(" / ".join, axis=1).to_numpy(dtype=object)
        vals = np.full(len(key), None, dtype=object)
        vals[pos] = [f"{k} (rows {o})" for k, o in zip(keyvals, others[pos])]
        log.row_problems(t, mask, label,
                         f"conflicting duplicates: the same {label} appears in several rows with different "
                         "values",
                         "keep one row per " + label + " and delete or correct the others", values=vals)


def _future(t: _Table, log: _Log, today: pd.Timestamp) -> None:
    if t.name == "sessions":
        if "session_date" in t.df:
            late = (t.df["session_date"] > today).to_numpy()
            log.record(t, late, "session_date", f"session is after today ({today.date()}): not yet held",
                       "excluded")
        return
    for col in _NO_FUTURE.get(t.name, ()):
        if col in t.df:
            late = (t.df[col] > today).to_numpy()
            log.row_problems(t, late & t.live, col, f"date is in the future (after {today.date()})",
                             "correct the date (a typo in the year?) or pass today= if the data are from "
                             "a later date")


def _after_cutoff(t: _Table, log: _Log, cutoff: pd.Timestamp) -> None:
    col = {"sessions": "session_date", "attendance": "session_date", "responses": "completed_on",
           "members": "enrolled_on"}.get(t.name)
    if col and col in t.df:
        late = (t.df[col] > cutoff).to_numpy() & t.live
        log.record(t, late, col, f"after the data cut-off {cutoff.date()}", "excluded")
        t.cut |= late


# --------------------------------------------------------------------------
# the main entry point
# --------------------------------------------------------------------------
def validate_tables(tables: Mapping[str, Any], *, timepoints: Sequence[str] | None = None,
                    item_ranges: Mapping[str, tuple[float, float]] | None = None,
                    cutoff: Any = None, today: Any = None, allow_identifiers: bool = False,
                    unenrolled: str = "error", dayfirst: bool | None = None,
                    extra_problems: Sequence[tuple[type[GroupevalError], Problem]] = ()) -> ValidatedTables:
    """Check and coerce raw tables into canonical ones; raise every problem at once.

    Parameters
    ----------
    tables
        ``{"groups"|"members"|"sessions"|"attendance"|"responses": DataFrame, list of
        DataFrames, or None}``.  Frames may carry the provenance columns
        ``_source_file``/``_source_row`` added by the readers; frames without
        them are labelled with the table name and row = position + 2 (as if
        written to a CSV with a header).  An attendance frame whose
        ``attrs["groupeval_shape"] == "signin"`` is a sign-in log.
    timepoints
        Allowed survey timepoints in order; ``None`` infers them from the data
        (ordered by median ``completed_on``, then naturally: ``week_4`` before
        ``week_12``).
    item_ranges
        ``{prefix: (min, max)}``: columns ``<prefix>_<n>`` are item responses
        and must be whole numbers in the range.
    cutoff
        Data cut-off: rows after it are excluded (recorded).
    today
        Dates after ``today`` (default: the current date) are errors.
    allow_identifiers
        False (default): identifier columns are an :class:`IdentifierError`.
        True: they are dropped and the drop is recorded.
    unenrolled
        ``"error"`` (default) or ``"exclude"``: attendance or responses of a
        member not enrolled in that group.
    dayfirst
        How to read ``03/02/2025``; ``None`` infers it per column and asks
        when it cannot be told.
    extra_problems
        Problems found earlier (e.g. by the readers), raised together with
        these.

    Returns
    -------
    ValidatedTables
        ``tables``, ``quality``, ``row_counts`` (``read``, ``excluded``,
        ``inferred``, ``kept`` per table), ``timepoints``.

    Raises
    ------
    IdentifierError, SchemaError, ValidationError
        One error listing every problem of every table.
    """
    if unenrolled not in ("error", "exclude"):
        raise ValidationError(f"unenrolled must be 'error' or 'exclude', got {unenrolled!r}.")
    unknown = set(tables) - set(TABLE_NAMES)
    if unknown:
        raise ValidationError(f"unknown table(s) {sorted(unknown)}; expected some of {', '.join(TABLE_NAMES)}.")
    item_ranges = dict(item_ranges or {})
    today = pd.Timestamp.today().normalize() if today is None else pd.Timestamp(today).normalize()
    cutoff = None if cutoff is None else pd.Timestamp(cutoff).normalize()
    log = _Log()
    log.problems.extend(extra_problems)
    ts: dict[str, _Table] = {name: _prepare(name, tables.get(name), log) for name in TABLE_NAMES}

    # 1. structure: identifiers, required columns, empty tables, blank rows
    for t in ts.values():
        if t.given:
            _check_identifiers(t, log, allow_identifiers)
            _check_structure(t, log)
            if t.usable:
                _drop_blank_rows(t, log)
    # 2. values
    for t in ts.values():
        if t.usable:
            _coerce(t, log, dayfirst=dayfirst, item_ranges=item_ranges, timepoints=timepoints)
    cats = _unify_ids(ts, log)
    cats["group_id"] = pd.Index(cats["group_id"].to_numpy(zero_copy_only=False), dtype=object)
    ng = max(len(cats["group_id"]), 1)
    nm = max(len(cats["member_id"]), 1)

    # day numbers (offset so they are >= 0)
    days: dict[tuple[str, str], np.ndarray] = {}  # day numbers of a table's date column, computed once
    for t in (ts["sessions"], ts["attendance"]):
        if t.usable:
            days[t.name, "session_date"] = _days(t.df["session_date"])
    known_days = [(d, d != _NAT) for d in days.values()]
    dmin = min((int(d.min(where=ok, initial=np.iinfo(np.int64).max)) for d, ok in known_days if ok.any()),
               default=0)
    dmax = max((int(d.max()) for d, ok in known_days if ok.any()), default=0)
    nd = dmax - dmin + 1

    # 3. future dates and cut-off
    for t in ts.values():
        if t.usable:
            _future(t, log, today)
            if cutoff is not None:
                _after_cutoff(t, log, cutoff)

    # 4. duplicates (on keys built from integer codes)
    g, m, s, a, r = (ts[n] for n in TABLE_NAMES)
    keys: dict[str, np.ndarray] = {}
    if g.usable:
        keys["groups"] = np.maximum(g.df["_group_id"].to_numpy(), 0)
        _duplicates(g, log, keys["groups"])
    if m.usable:
        keys["members"] = _key((np.maximum(m.df["_member_id"].to_numpy(), 0), nm),
                               (np.maximum(m.df["_group_id"].to_numpy(), 0), ng))
        _duplicates(m, log, keys["members"])
    if s.usable:
        keys["sessions"] = _key((np.maximum(s.df["_group_id"].to_numpy(), 0), ng),
                                (_day_offset(days["sessions", "session_date"], dmin), nd))
        _duplicates(s, log, keys["sessions"])
    if a.usable:
        a_day = _day_offset(days["attendance", "session_date"], dmin)
        # (group, day) is the session key; (member, group, day) the row's
        keys["attendance_session"] = _key((np.maximum(a.df["_group_id"].to_numpy(), 0), ng), (a_day, nd))
        a_mc = np.maximum(a.df["_member_id"].to_numpy(), 0)
        if not _grouped_unique(a_mc, keys["attendance_session"], a.live):
            _duplicates(a, log, _key((a_mc, nm), (keys["attendance_session"], ng * nd)))
    if r.usable:
        tp = pd.factorize(r.df["timepoint"])[0]
        keys["responses"] = _key((np.maximum(r.df["_member_id"].to_numpy(), 0), nm), (np.maximum(tp, 0),
                                                                                          max(tp.max() + 1,
                                                                                              1) if len(tp) else 1))
        _duplicates(r, log, keys["responses"])

    # 5. references between tables
    _references(ts, log, keys, ng=ng, nd=nd, dmin=dmin, unenrolled=unenrolled, days=days)

    # stop here if anything is wrong: every problem of every table at once
    try:
        raise_problems(log.problems, "The data cannot be used as it is")
    except GroupevalError as err:  # the repairs found so far travel with the error (CLI --quality-csv)
        err.quality = QualityReport(pd.concat(log.quality, ignore_index=True)) if log.quality else QualityReport()
        raise

    # 6. inference: groups, members, sessions, sign-in absences
    data_cutoff = cutoff
    _infer(ts, log, cats, data_cutoff=data_cutoff, dmin=dmin, nd=nd, ng=ng)

    # 7. final canonical tables
    out: dict[str, pd.DataFrame] = {}
    counts: dict[str, dict[str, int]] = {}
    for name, t in ts.items():
        cols = [c for c in t.df.columns
                if not (c.startswith("_source_") or c in (*_INTERNAL, "_member_id", "_group_id"))]
        out[name] = _finish(name, t.df, cols, t.live if t.excluded.any() else None)
        counts[name] = {"read": int(t.read + t.skipped),
                        "excluded": int(t.skipped + t.prior_excluded + t.excluded.sum()), "inferred": int(t.inferred),
                        "kept": int(len(out[name]))}
    tps = r.timepoints if r.timepoints is not None else tuple(timepoints or ())
    qf = pd.concat(log.quality, ignore_index=True) if log.quality else None
    if qf is not None:  # file order, then spreadsheet row; whole-file entries last
        qf["_r"] = pd.to_numeric(qf["row"], errors="coerce")
        qf = qf.sort_values(["file", "_r", "column"], na_position="last", kind="stable").drop(columns="_r")
    quality = QualityReport(qf)
    return ValidatedTables(out, quality, counts, tps)


def _references(ts: dict[str, _Table], log: _Log, keys: dict[str, np.ndarray], *, ng: int, nd: int, dmin: int,
                unenrolled: str, days: dict[tuple[str, str], np.ndarray]) -> None:
    g, m, s, a, r = (ts[n] for n in TABLE_NAMES)
    # Lookup arrays carry one extra last slot, read by code/position -1 (missing / not found),
    # so each check is a single take over the rows.
    # group ids known to the groups table
    if g.usable and g.given:
        known = np.zeros(ng + 1, dtype=bool)
        known[keys["groups"][g.live]] = True
        known[-1] = True  # an empty group_id is reported as empty, not as unknown
        for t in (m, s, a, r):
            if t.usable and "_group_id" in t.df:
                gc = t.df["_group_id"].to_numpy()
                bad = ~known[gc] & t.live
                log.row_problems(t, bad, "group_id", "group_id is not in the groups table",
                                 "add the group to the groups file or correct the id")
    # members: enrolment order
    if m.usable:
        enr, ext = m.df["enrolled_on"], m.df.get("exited_on")
        if ext is not None:
            bad = (ext < enr).to_numpy() & m.live
            log.row_problems(m, bad, "exited_on", "exited_on is before enrolled_on",
                             "correct the enrolment or exit date")
    # sessions lookup
    s_index = None
    if s.usable and s.given:
        s_index = True
        live = s.live
        s_keys = keys["sessions"][live]
        s_cancel = s.df["cancelled"].to_numpy(dtype=bool)[live]
        if 0 < ng * nd <= 200_000_000:
            # dense table of session states per (group, day) key, one byte each: 0 = no session,
            # 1 = held, 2 = cancelled (the first of duplicated sessions counts, as in _Lookup)
            s_state = np.zeros(ng * nd, dtype=np.int8)
            s_state[s_keys[::-1]] = (1 + s_cancel)[::-1]
        else:
            s_state = None
            s_lookup = _Lookup(s_keys, 0)
    if a.usable:
        ad = days["attendance", "session_date"]
        a_gc = a.df["_group_id"].to_numpy()
        valid = (ad != _NAT) & (a_gc >= 0) & (a.df["_member_id"].to_numpy() >= 0)
        live = a.live & valid
        att = a.df["attended"].to_numpy(dtype=bool)
        if s_index is not None:
            q = keys["attendance_session"]
            if s_state is not None:
                state = s_state[q]
            else:
                pos = s_lookup(q)
                state = np.where(pos < 0, 0, 1 + np.append(s_cancel, False)[pos]).astype(np.int8)
            off = (state == 0) & live
            log.row_problems(a, off, "session_date", "no session of this group on this date in the sessions table",
                             "correct the date, or add the session to the sessions file")
            canc = (state == 2) & live
            log.row_problems(a, canc & att, "session_date", "marked present at a session that was cancelled",
                             "correct the mark, or set cancelled to FALSE for this session")
            log.record(a, canc & ~att, "session_date",
                       "absence on a cancelled session (cancelled sessions have no attendance rows)", "excluded")
        if m.usable and m.given:
            m_live = m.live | m.cut  # members enrolled after the cut-off still define enrolment
            pos = _member_lookup(m.df["_member_id"].to_numpy()[m_live], m.df["_group_id"].to_numpy()[m_live],
                                 a.df["_member_id"].to_numpy(), a.df["_group_id"].to_numpy(), ng)
            live = a.live & valid
            notenr = (pos < 0) & live
            if unenrolled == "error":
                log.row_problems(a, notenr, "member_id",
                                 "attendance for a member who is not enrolled in this group (not in the members "
                                 "table with this group_id)",
                                 "add the enrolment to the members file, correct the ids, or pass "
                                 "unenrolled='exclude' to drop such rows",
                                 values=_pair(a) if notenr.any() else None)
            else:
                log.record(a, notenr, "member_id", "member not enrolled in this group", "excluded",
                           values=_pair(a) if notenr.any() else None)
            enr_d = _days(m.df["enrolled_on"])[m_live]
            ext_d = (_days(m.df["exited_on"])[m_live] if "exited_on" in m.df else
                     np.full(int(m_live.sum()), _NAT))
            # per enrolment: first and last day on which attendance is within it (no bound when a date is
            # missing; the last slot, read for rows not enrolled, has none either)
            big = np.iinfo(np.int64).max
            lo = np.append(np.where(enr_d == _NAT, _NAT, enr_d), _NAT)
            hi = np.append(np.where((enr_d == _NAT) | (ext_d == _NAT), big, ext_d), big)
            if not _within(ad, pos, lo, hi):  # else no row is outside its enrolment: nothing to report
                before = (ad < lo[pos]) & live
                after = (ad > hi[pos]) & live
                log.row_problems(a, before & att, "session_date",
                                 "marked present before the member's enrolled_on date",
                                 "correct enrolled_on in the members file or the attendance date")
                log.row_problems(a, after & att, "session_date",
                                 "marked present after the member's exited_on date",
                                 "correct exited_on in the members file or the attendance date")
                blank = a.df["_blank"].to_numpy(dtype=bool)
                log.record(a, (before | after) & ~att & blank, "session_date",
                           "blank cell outside the member's enrolment: not a scheduled session for them",
                           "excluded")
                log.record(a, (before | after) & ~att & ~blank, "session_date",
                           "absence outside the member's enrolment (not a scheduled session for them)", "excluded")
    if r.usable and m.usable and m.given:
        m_live = m.live | m.cut
        mem_known = np.zeros(max(int(m.df["_member_id"].max()) + 1 if len(m.df) else 1, 1), dtype=bool)
        mc = m.df["_member_id"].to_numpy()
        mem_known[mc[m_live & (mc >= 0)]] = True
        rc = r.df["_member_id"].to_numpy()
        inrange = (rc >= 0) & (rc < len(mem_known))
        notmem = (rc >= 0) & ~np.where(inrange, mem_known[np.clip(rc, 0, len(mem_known) - 1)], False) & r.live
        if unenrolled == "error":
            log.row_problems(r, notmem, "member_id", "survey response from a member who is not in the members table",
                             "add the member to the members file, correct the id, or pass unenrolled='exclude'")
        else:
            log.record(r, notmem, "member_id", "member not in the members table", "excluded")
        if "_group_id" in r.df:
            rg = r.df["_group_id"].to_numpy()
            has = (rg >= 0) & (rc >= 0) & r.live & ~notmem
            pairs, _ = _unique_index(keys["members"][m_live])
            pos = pairs.get_indexer(_key((np.maximum(rc, 0), 1), (np.maximum(rg, 0), ng)))
            log.row_problems(r, has & (pos < 0), "group_id",
                             "survey response names a group the member is not enrolled in",
                             "correct group_id (or leave it empty)")


def _within(d: np.ndarray, pos: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> bool:
    """True when ``lo[pos] <= d <= hi[pos]`` holds for every row, proven per run of equal ``pos``.

    A roster lists each member's rows together, so the rows form few runs;
    the bounds are then read once per run and compared with the run's
    smallest and largest day.  False means "not proven" (many runs, or some
    row outside its bounds): the caller then checks row by row.
    """
    n = len(pos)
    if n == 0:
        return True
    brk = np.flatnonzero(pos[1:] != pos[:-1])
    if len(brk) > n // 4:
        return False
    starts = np.empty(len(brk) + 1, dtype=np.intp)
    starts[0] = 0
    starts[1:] = brk + 1
    p = pos[starts]
    return bool((np.minimum.reduceat(d, starts) >= lo[p]).all() and (np.maximum.reduceat(d, starts) <= hi[p]).all())


class _Lookup:
    """Position of each query key among ``keys`` (first occurrence), -1 if absent.

    A dense table when the key space is small (integer indexing: no hashing),
    else a hash index.
    """

    def __init__(self, keys: np.ndarray, space: int):
        self.dense = 0 < space <= 50_000_000
        if self.dense:
            self.table = np.full(max(space, 1), -1, dtype=np.int64)
            self.table[keys[::-1]] = np.arange(len(keys))[::-1]
        else:
            self.index, self.first = _unique_index(keys)

    def __call__(self, q: np.ndarray) -> np.ndarray:
        if self.dense:
            if not len(q) or (q.min() >= 0 and q.max() < len(self.table)):
                return self.table[q]
            ok = (q >= 0) & (q < len(self.table))
            return np.where(ok, self.table[np.where(ok, q, 0)], -1)
        pos = self.index.get_indexer(q)
        return np.where(pos >= 0, self.first[np.maximum(pos, 0)], -1)


def _member_lookup(m_code: np.ndarray, m_group: np.ndarray, q_code: np.ndarray, q_group: np.ndarray,
                   ng: int) -> np.ndarray:
    """Position in members of each (member, group) query, -1 if not enrolled there."""
    nm = int(max(m_code.max(initial=-1), q_code.max(initial=-1))) + 1
    ok_m = m_code >= 0
    if np.bincount(m_code[ok_m], minlength=1).max() > 1:  # some member enrolled in several groups
        look = _Lookup(_key((np.maximum(m_code, 0), 1), (np.maximum(m_group, 0), ng)), 0)
        return look(_key((np.maximum(q_code, 0), 1), (np.maximum(q_group, 0), ng)))
    # member code -> position (last slot: code -1), then the group must match (-2: no position)
    table = np.full(nm + 1, -1, dtype=np.int32)
    table[m_code[ok_m]] = np.flatnonzero(ok_m)
    # member code -> its group code (-2: not a member); in the codes' own integer type (no casts per row)
    group_of = np.full(nm + 1, -2, dtype=np.promote_types(np.promote_types(m_group.dtype, q_group.dtype), np.int8))
    group_of[m_code[ok_m]] = m_group[ok_m]
    pos = np.take(table, q_code, out=_rows_empty(len(q_code), np.int32), mode="wrap")
    pos[group_of[q_code] != q_group] = -1
    return pos


def _unique_index(keys: np.ndarray) -> tuple[pd.Index, np.ndarray]:
    """Index of the distinct keys and, for each, the position of its first occurrence."""
    uniq, first = np.unique(keys, return_index=True)
    return pd.Index(uniq), first


def _pair(t: _Table) -> np.ndarray:
    return (t.df["member_id"].astype(str) + " in " + t.df["group_id"].astype(str)).to_numpy(dtype=object)


def _infer(ts: dict[str, _Table], log: _Log, cats: dict[str, pd.Index], *, data_cutoff, dmin: int, nd: int,
           ng: int) -> None:
    g, m, s, a, r = (ts[n] for n in TABLE_NAMES)
    need = a.usable and (not s.given or not m.given)
    att = (a.df.loc[a.live] if a.excluded.any() else a.df) if need else None
    # sessions: every date on which a group has an attendance row (+ cancelled sheet columns)
    if not s.given and att is not None and len(att):
        k = pd.Series(att["_group_id"].to_numpy() * np.int64(nd) + (_days(att["session_date"]) - dmin))
        first = k.drop_duplicates().index.to_numpy()
        u = att.iloc[first]
        new = pd.DataFrame({"group_id": u["group_id"].to_numpy(), "session_date": u["session_date"].to_numpy(),
                            "cancelled": False, "_group_id": u["_group_id"].to_numpy(),
                            SOURCE_FILE: u[SOURCE_FILE].to_numpy(), SOURCE_ROW: pd.NA})
        if a.cancelled:
            canc = pd.DataFrame(a.cancelled, columns=["raw", "session_date"])
            keys = _id_key(_clean_text_values(canc["raw"].to_numpy(dtype=object)))
            known = pd.Series(np.arange(len(cats["group_id"])), index=_id_key(cats["group_id"].to_numpy(dtype=object)))
            canc["_group_id"] = known.reindex(keys).to_numpy()
            canc = canc.dropna(subset=["_group_id"])
            canc["_group_id"] = canc["_group_id"].astype(np.int64)
            canc["group_id"] = cats["group_id"].to_numpy(dtype=object)[canc["_group_id"].to_numpy()]
            canc["session_date"] = pd.to_datetime(canc["session_date"]).dt.normalize()
            canc["cancelled"] = True
            canc[SOURCE_FILE], canc[SOURCE_ROW] = None, pd.NA
            new = pd.concat([new, canc.drop(columns="raw")], ignore_index=True)
            new = new.drop_duplicates(["_group_id", "session_date"], keep="first")
        new = new.sort_values(["_group_id", "session_date"], kind="stable").reset_index(drop=True)
        per = new.groupby("group_id", observed=True).agg(n=("session_date", "size"),
                                                          n_cancelled=("cancelled", "sum"),
                                                          file=(SOURCE_FILE, "first"))
        for gid, rec in per.iterrows():  # one entry per group (a handful)
            extra = f", {int(rec.n_cancelled)} cancelled" if rec.n_cancelled else ""
            log.summary(rec.file, "session_date", int(rec.n),
                        f"sessions of group {gid} inferred from the attendance dates (no sessions table{extra})")
        new[SOURCE_FILE] = None
        s.df, s.usable, s.excluded, s.inferred = new, True, np.zeros(len(new), bool), len(new)
    # members: from attendance, when no members table was given
    if not m.given and att is not None and len(att):
        first = att.groupby(["member_id", "group_id"], observed=True, sort=True)["session_date"].min().reset_index()
        first = first.rename(columns={"session_date": "enrolled_on"})
        first["exited_on"] = pd.Series(pd.NaT, index=first.index, dtype="datetime64[ns]")
        first[SOURCE_FILE], first[SOURCE_ROW] = None, pd.NA
        files = ", ".join(sorted(map(str, pd.unique(att[SOURCE_FILE].astype(str)))))
        log.summary(files, "enrolled_on", len(first),
                    "members inferred from the attendance (no members table): enrolled_on = first session "
                    "on record, no exit date")
        m.df, m.usable, m.excluded, m.inferred = first, True, np.zeros(len(first), bool), len(first)
    # groups: ids used anywhere, when no groups table was given
    if not g.given:
        ids = cats["group_id"]
        if len(ids):
            new = pd.DataFrame({"group_id": pd.array(ids.to_numpy(dtype=object), dtype=STRING_DTYPE),
                                "group_type": pd.array([None] * len(ids), dtype=STRING_DTYPE),
                                SOURCE_FILE: None, SOURCE_ROW: pd.NA})
            log.summary(None, "group_id", len(new), "groups inferred from the group ids used (no groups table); "
                        "group_type unknown")
            g.df, g.usable, g.excluded, g.inferred = new, True, np.zeros(len(new), bool), len(new)
    # sign-in logs: absences at every scheduled session with no sign-in
    if a.usable and a.df["_signin"].any() and m.usable and s.usable:
        _infer_signin_absences(ts, log, data_cutoff=data_cutoff)


def _infer_signin_absences(ts: dict[str, _Table], log: _Log, *, data_cutoff) -> None:
    m, s, a = ts["members"], ts["sessions"], ts["attendance"]
    sign = a.df.loc[a.live & a.df["_signin"].to_numpy(dtype=bool)]
    groups = pd.unique(sign["group_id"])
    mem = m.df.loc[m.live & m.df["group_id"].isin(groups).to_numpy(dtype=bool),
                   ["member_id", "group_id", "enrolled_on"] + (["exited_on"] if "exited_on" in m.df else [])]
    ses = s.df.loc[s.live & ~s.df["cancelled"].to_numpy(dtype=bool), ["group_id", "session_date"]]
    ses = ses[ses["group_id"].isin(groups).to_numpy(dtype=bool)]
    end = data_cutoff if data_cutoff is not None else ses["session_date"].max()
    grid = mem.merge(ses, on="group_id", how="inner")
    upper = grid["exited_on"].fillna(end) if "exited_on" in grid else pd.Series(end, index=grid.index)
    upper = upper.where(upper <= end, end)
    grid = grid[(grid["session_date"] >= grid["enrolled_on"]) & (grid["session_date"] <= upper)]
    seen = a.df.loc[a.live, ["member_id", "group_id", "session_date"]]
    grid = grid.merge(seen.assign(_seen=True), on=["member_id", "group_id", "session_date"], how="left")
    new = grid[grid["_seen"].isna()][["member_id", "group_id", "session_date"]].copy()
    if not len(new):
        return
    new["attended"] = False
    if "status" in a.df:
        new["status"] = pd.array(["absent"] * len(new), dtype=STRING_DTYPE)
    files = ", ".join(_distinct_files(sign[SOURCE_FILE]))
    new[SOURCE_FILE] = files  # provenance of inferred rows: the sign-in log(s), no row of their own
    new[SOURCE_ROW] = 0
    new["_signin"] = True
    new["_blank"] = False
    for gid, n in new.groupby("group_id", observed=True).size().items():  # one entry per group
        log.summary(files, "attended", int(n), f"absences of group {gid} inferred from the sign-in log: "
                    "scheduled sessions within the member's enrolment with no sign-in")
    kept = a.df.loc[a.live]
    for c in kept.columns.difference(new.columns):  # typed missing values: the dtypes stay as they are
        new[c] = kept[c].iloc[:0].reindex(pd.RangeIndex(len(new))).set_axis(new.index)
    new = new.astype({c: kept[c].dtype for c in ("member_id", "group_id", "session_date", "attended")
                      if c in kept})
    a.df = pd.concat([kept, new[kept.columns]], ignore_index=True, sort=False)
    a.inferred = len(new)
    # re-base the exclusion mask on the new frame; excluded rows were already recorded
    a.prior_excluded += int(a.excluded.sum())
    a.excluded = np.zeros(len(a.df), dtype=bool)


def _finish(name: str, df: pd.DataFrame, cols: list[str], keep: np.ndarray | None) -> pd.DataFrame:
    """The final table: columns ``cols`` of the rows ``keep`` (None: all), canonical dtypes and column
    order (required, optional, then extra columns), a fresh RangeIndex.

    Built column by column: each column is converted or taken once; numpy-backed
    and other mutable columns are copied (the Dataset shares no memory with the
    input frames), immutable Arrow-backed ones are shared.
    """
    spec = TABLES[name]
    front = [c for c in (*spec.required, *spec.optional) if c in cols]
    order = front + [c for c in cols if c not in front]
    rows = None if keep is None else np.flatnonzero(keep)
    data = {}
    for col in order:
        s = df[col]
        kind = spec.kinds.get(col)
        if kind in ("id", "string", "category") and s.dtype != STRING_DTYPE:
            s = s.astype(STRING_DTYPE)
        elif kind == "date" and s.dtype != "datetime64[ns]":
            s = s.astype("datetime64[ns]")
        elif kind == "bool" and s.dtype != bool:
            s = s.astype(bool)
        arr = s.array
        if isinstance(s.dtype, (pd.StringDtype, pd.ArrowDtype)) and getattr(s.dtype, "storage", "pyarrow") == "pyarrow":
            data[col] = arr if rows is None else arr.take(rows)  # immutable Arrow buffers: shared
        elif isinstance(s.dtype, pd.api.extensions.ExtensionDtype):
            data[col] = arr.copy() if rows is None else arr.take(rows)
        else:
            v = s.to_numpy()
            data[col] = v.copy() if rows is None else v[rows]
    n = len(df) if rows is None else len(rows)
    return pd.DataFrame(data, index=pd.RangeIndex(n), columns=order, copy=False)
