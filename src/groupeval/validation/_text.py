"""Text columns as integer codes over their distinct values (no Python pass over rows)."""
from __future__ import annotations

import datetime as _dt
from typing import Any

import numpy as np
import pandas as pd

from ._state import STRING_DTYPE

__all__ = ["factorize", "clean_text_values", "id_key", "from_codes", "arrow_codes", "text_codes", "coerce_text",
           "arrow_distinct"]


def factorize(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    return codes, np.asarray(uniques, dtype=object)


def clean_text_values(uniques: np.ndarray) -> np.ndarray:
    """Distinct raw values -> stripped strings (None for blank); ints stay ints (3.0 -> '3')."""
    if len(uniques) and all(isinstance(v, str) for v in uniques):
        import pyarrow as pa
        import pyarrow.compute as pc

        st = pc.utf8_trim_whitespace(pa.array(uniques, type=pa.string()))
        st = pc.if_else(pc.equal(st, ""), pa.scalar(None, pa.string()), st)
        return np.asarray(st.to_numpy(zero_copy_only=False), dtype=object)
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


def id_key(clean: np.ndarray) -> np.ndarray:
    """Spelling -> comparison key: spaces collapsed, lower case (None stays None)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(clean, type=pa.string(), from_pandas=True)
    return np.asarray(pc.utf8_lower(pc.replace_substring_regex(arr, r"\s+", " ")).to_numpy(zero_copy_only=False),
                      dtype=object)


def from_codes(codes: np.ndarray, values: Any, dtype: Any = STRING_DTYPE) -> pd.Series:
    import pyarrow as pa

    arr = values if isinstance(values, pa.Array) else pa.array(list(values), type=pa.string(), from_pandas=True)
    missing = codes < 0
    taken = arr.take(pa.array(codes, mask=missing) if missing.any() else pa.array(codes))
    return pd.Series(pd.arrays.ArrowStringArray(taken) if dtype == STRING_DTYPE else
                     pd.array(taken.to_pylist(), dtype=dtype))


def arrow_codes(s: pd.Series) -> tuple[np.ndarray, Any]:
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
        single = arr.combine_chunks().dictionary_encode()
        enc, dic = pa.chunked_array([single]), single.dictionary
    if dic.type != pa.string():  # pandas may store large_string; the distinct values are few
        dic = dic.cast(pa.string())
    parts = [ch.indices.fill_null(-1) if ch.indices.null_count else ch.indices for ch in enc.chunks]
    # joined by pyarrow: its allocator's memory is already mapped (numpy's would be page-faulted in)
    codes = (parts[0] if len(parts) == 1 else pa.concat_arrays(parts)).to_numpy()
    return codes.astype(np.int32, copy=False), dic


def text_codes(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(codes, distinct raw values as an object array); codes -1 = missing.

    Categorical columns give their codes and categories and Arrow-backed
    string columns are dictionary-encoded by pyarrow (no hashing of Python
    objects); a category may be unused and distinct raw values may clean to
    the same text, which callers working per distinct value do not mind.
    """
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.cat.codes.to_numpy(), np.asarray(s.cat.categories, dtype=object)
    if isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow":
        codes, dic = arrow_codes(s)
        return codes, np.asarray(dic.to_numpy(zero_copy_only=False), dtype=object)
    return factorize(s)


def coerce_text(s: pd.Series) -> pd.Series:
    codes, uniques = text_codes(s)
    return from_codes(codes, clean_text_values(uniques)).set_axis(s.index)


def arrow_distinct(s: pd.Series) -> tuple[np.ndarray, Any]:
    """A text column as (codes, distinct raw values as a pyarrow string array); codes -1 = missing.

    Arrow-backed string columns are dictionary-encoded without creating
    Python objects; other columns are factorised and their distinct values
    turned into text (3.0 -> "3").
    """
    import pyarrow as pa

    if isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow":
        return arrow_codes(s)
    codes, uniques = factorize(s)
    if len(uniques) and all(isinstance(v, str) for v in uniques):
        return codes, pa.array(uniques, type=pa.string())
    return codes, pa.array(clean_text_values(uniques), type=pa.string())
