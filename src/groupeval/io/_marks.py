"""The attendance mark vocabulary (cells of rosters and wide sheets)."""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["PRESENT", "LATE", "ABSENT", "EXCUSED", "CANCELLED", "classify_marks", "mark_key", "ACCEPTED"]

PRESENT = frozenset({"1", "p", "y", "yes", "x", "✓", "✔", "✔️", "☑", "☑️", "✅", "present", "attended", "true"})
LATE = frozenset({"l", "late"})
ABSENT = frozenset({"0", "a", "n", "no", "absent", "false", "✗", "✘", "❌"})
EXCUSED = frozenset({"e", "excused"})
CANCELLED = frozenset({"cancelled", "canceled", "no session", "no meeting"})
ACCEPTED = "1/0, P/A/E/L, Y/N, yes/no, x, ✓, ✔, present/absent/excused/late, true/false, cancelled, or blank"

# codes of the classified vocabulary
BLANK, PRES, LAT, ABS, EXC, CANC, UNKNOWN = range(7)
STATUS_OF = {PRES: "present", LAT: "present", ABS: "absent", EXC: "excused"}


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


def _code(token: str | None) -> int:
    if token is None:
        return UNKNOWN
    if token == "":
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


def classify_marks(values) -> np.ndarray:
    """Vectorised: array of cell values -> int8 codes (BLANK, PRES, ..., UNKNOWN).

    Only the distinct values are looked up in Python.
    """
    if isinstance(getattr(values, "dtype", None), pd.CategoricalDtype):  # e.g. dictionary-encoded CSV column
        cat = values.array if isinstance(values, pd.Series) else values
        lut = np.array([_code(mark_key(u)) for u in np.asarray(cat.categories, dtype=object)] + [BLANK],
                       dtype=np.int8)
        return lut[cat.codes]  # code -1 (missing) indexes the trailing BLANK
    dtype = getattr(values, "dtype", None)
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow" and len(values):
        return _classify_arrow(values.array if isinstance(values, pd.Series) else values)
    arr = np.asarray(values, dtype=object).ravel() if not isinstance(values, pd.Series) else values
    codes, uniques = pd.factorize(arr, use_na_sentinel=True)
    lut = np.array([_code(mark_key(u)) for u in np.asarray(uniques, dtype=object)] + [BLANK], dtype=np.int8)
    return lut[codes]  # sentinel -1 indexes the trailing BLANK


def _classify_arrow(arr) -> np.ndarray:
    """Arrow-backed strings: dictionary-encoded by pyarrow chunk by chunk (one shared dictionary)."""
    import pyarrow as pa

    chunked = arr.__arrow_array__()
    if isinstance(chunked, pa.Array):
        chunked = pa.chunked_array([chunked])
    enc = chunked.dictionary_encode()
    dic = enc.chunk(enc.num_chunks - 1).dictionary
    if any(len(ch.dictionary) != len(dic) for ch in enc.chunks):  # pragma: no cover - pyarrow shares it
        codes, uniques = pd.factorize(np.asarray(arr, dtype=object), use_na_sentinel=True)
        lut = np.array([_code(mark_key(u)) for u in np.asarray(uniques, dtype=object)] + [BLANK], dtype=np.int8)
        return lut[codes]
    lut = np.array([_code(mark_key(u)) for u in dic.to_pylist()] + [BLANK], dtype=np.int8)
    parts = [lut[(ch.indices.fill_null(-1) if ch.indices.null_count else ch.indices).to_numpy()]
             for ch in enc.chunks]
    return parts[0] if len(parts) == 1 else np.concatenate(parts)
