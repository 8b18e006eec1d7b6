"""Vocabularies shared by reading and validation: marks, yes/no values, missing-value text, column names.

Each is defined here once; :mod:`groupeval.io` (attendance sheets, survey
exports) and :mod:`groupeval.validation` (``attended`` / ``cancelled``
columns, canonical column names) both use them, so a value accepted by
``read_attendance`` is accepted by ``validate`` too.

* **Attendance marks** (:data:`PRESENT`, :data:`LATE`, :data:`ABSENT`,
  :data:`EXCUSED`, :data:`CANCELLED`) and :func:`classify_marks`, which turns
  a column of cells into integer codes (:data:`BLANK`, :data:`PRES`, ...).
* **Yes/no values** of boolean columns are the same vocabulary:
  present / late marks are ``True``, absent / excused marks are ``False``
  (:func:`parse_bool`).
* **Missing-value text** (:data:`MISSING_TEXT`): ``NaN``, ``N/A``, ``NULL``,
  ``#N/A`` ... written in a cell.  Readers keep such text as written (a
  member id may really be ``NA``); item columns read it as unanswered and
  say so.
* **Column names**: :func:`norm_name` (``"Member ID"`` -> ``member_id``) and
  :func:`squash` (the case- and space-insensitive key of ``columns=``).
"""
from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["PRESENT", "LATE", "ABSENT", "EXCUSED", "CANCELLED", "ACCEPTED", "BLANK", "PRES", "LAT", "ABS", "EXC",
           "CANC", "UNKNOWN", "mark_key", "mark_code", "classify_marks", "parse_bool", "MISSING_TEXT",
           "is_missing_text", "norm_name", "squash"]

PRESENT = frozenset({"1", "1.0", "p", "y", "yes", "t", "x", "✓", "✔", "✔️", "☑", "☑️", "✅", "present",
                     "attended", "true"})
LATE = frozenset({"l", "late"})
ABSENT = frozenset({"0", "0.0", "a", "n", "no", "f", "absent", "false", "✗", "✘", "❌"})
EXCUSED = frozenset({"e", "excused"})
CANCELLED = frozenset({"cancelled", "canceled", "no session", "no meeting"})
#: the accepted marks, as error messages list them
ACCEPTED = "1/0, P/A/E/L, Y/N, yes/no, x, ✓, ✔, ✅, present/absent/excused/late, true/false, cancelled, or blank"

# codes of the classified vocabulary
BLANK, PRES, LAT, ABS, EXC, CANC, UNKNOWN = range(7)

#: text that spreadsheets and statistics programs write for "no value" (compared case-insensitively;
#: the list pandas and pyarrow read as missing by default)
MISSING_TEXT = frozenset({"nan", "-nan", "n/a", "na", "#n/a", "#n/a n/a", "#na", "null", "-1.#ind", "-1.#qnan",
                          "1.#ind", "1.#qnan"})


def mark_key(v: object) -> str | None:
    """A cell value -> normalised token ('' for blank, None when not a mark type)."""
    if v is None or v is pd.NA or v is pd.NaT:
        return ""
    if isinstance(v, (bool, np.bool_)):
        return "1" if v else "0"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        if np.isnan(v):
            return ""
        return str(int(v)) if float(v).is_integer() else repr(float(v))
    if isinstance(v, str):
        return " ".join(v.split()).casefold()
    return None


def mark_code(token: str | None) -> int:
    """A normalised token (:func:`mark_key`) -> its code."""
    if token is None:
        return UNKNOWN
    if token == "" or token in MISSING_TEXT:
        return BLANK
    if token in PRESENT:
        return PRES
    if token in LATE:
        return LAT
    if token in ABSENT:
        return ABS
    if token in EXCUSED:
        return EXC
    if token in CANCELLED:
        return CANC
    return UNKNOWN


def _lut(uniques: Any) -> np.ndarray:
    """Codes of distinct values plus a trailing BLANK slot (read by code -1 = missing)."""
    return np.array([mark_code(mark_key(u)) for u in uniques] + [BLANK], dtype=np.int8)


def classify_marks(values: Any) -> np.ndarray:
    """Vectorised: array of cell values -> int8 codes (BLANK, PRES, ..., UNKNOWN).

    Only the distinct values are looked up in Python.
    """
    if isinstance(getattr(values, "dtype", None), pd.CategoricalDtype):  # e.g. dictionary-encoded CSV column
        cat = values.array if isinstance(values, pd.Series) else values
        by_code: np.ndarray = _lut(np.asarray(cat.categories, dtype=object))[cat.codes]  # code -1: trailing BLANK
        return by_code
    dtype = getattr(values, "dtype", None)
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow" and len(values):
        return _classify_arrow(values.array if isinstance(values, pd.Series) else values)
    arr = np.asarray(values, dtype=object).ravel() if not isinstance(values, pd.Series) else values
    codes, uniques = pd.factorize(arr, use_na_sentinel=True)
    out: np.ndarray = _lut(np.asarray(uniques, dtype=object))[codes]  # sentinel -1 indexes the trailing BLANK
    return out


def _classify_arrow(arr: Any) -> np.ndarray:
    """Arrow-backed strings: dictionary-encoded by pyarrow chunk by chunk (one shared dictionary)."""
    import pyarrow as pa

    chunked = arr.__arrow_array__()
    if isinstance(chunked, pa.Array):
        chunked = pa.chunked_array([chunked])
    enc = chunked.dictionary_encode()
    if enc.num_chunks == 0:  # pragma: no cover - a non-empty array has a chunk
        return np.zeros(0, dtype=np.int8)
    dic = enc.chunk(enc.num_chunks - 1).dictionary
    if any(len(ch.dictionary) != len(dic) for ch in enc.chunks):  # pragma: no cover - pyarrow shares it
        codes, uniques = pd.factorize(np.asarray(arr, dtype=object), use_na_sentinel=True)
        out: np.ndarray = _lut(np.asarray(uniques, dtype=object))[codes]
        return out
    lut = _lut(dic.to_pylist())
    parts = [lut[(ch.indices.fill_null(-1) if ch.indices.null_count else ch.indices).to_numpy()]
             for ch in enc.chunks]
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def parse_bool(s: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A yes/no column -> (values, missing mask, bad mask), by the mark vocabulary.

    Present and late marks (``yes``, ``TRUE``, ``1``, ``x``, ``✅`` ...) are
    ``True``; absent and excused marks (``no``, ``FALSE``, ``0``, ``❌`` ...)
    ``False``; blank cells are missing; anything else (including numbers
    other than 0 and 1) is bad.
    """
    if pd.api.types.is_bool_dtype(s.dtype) and not s.isna().any():
        v = s.to_numpy(dtype=bool)
        return v, np.zeros(len(s), bool), np.zeros(len(s), bool)
    codes = classify_marks(s)
    val = np.isin(codes, (PRES, LAT))
    miss = codes == BLANK
    bad = ~val & ~miss & ~np.isin(codes, (ABS, EXC))
    return val, miss, bad


def is_missing_text(v: object) -> bool:
    """True for text such as ``NaN``, ``N/A``, ``NULL``, ``#N/A`` (case and spaces ignored)."""
    return isinstance(v, str) and " ".join(v.split()).casefold() in MISSING_TEXT


_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def norm_name(name: object) -> str:
    """Normalise a column name for matching: lower case, every run of non-alphanumerics as ``_``.

    ``"Member ID"`` -> ``"member_id"``, ``" Session-Date "`` -> ``"session_date"``,
    ``"E-mail"`` -> ``"e_mail"``.  The one normaliser of column names: readers
    (aliases, REDCap dictionaries), validation (canonical names) and the
    identifier guard use it.
    """
    return _NON_ALNUM.sub("_", str(name).strip().casefold()).strip("_")


def squash(name: object) -> str:
    """Case- and whitespace-insensitive key used by ``columns=`` matching."""
    return "".join(str(name).split()).casefold()
