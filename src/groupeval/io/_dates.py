"""Dates written by people: ISO, day-first or month-first, real Excel dates.

Only the distinct values are parsed (a session-date column of 1.5 million
rows has a few thousand distinct dates), then mapped back, so parsing stays
vectorised.  Day-first versus month-first is inferred from the whole set of
values: a first number above 12 proves day-first (``13/02/2025``), a second
number above 12 proves month-first (``02/13/2025``).  When no value decides
and the two readings differ, :class:`~groupeval.ReadError` asks for
``dayfirst=``.
"""
from __future__ import annotations

import re
from datetime import date, datetime

import numpy as np
import pandas as pd

from ..base.exceptions import Problem, ReadError

__all__ = ["parse_dates", "infer_dayfirst"]

_ISO = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?$")
_ISO_SLASH = re.compile(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})$")
_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})(?:[ T](\d{1,2}:\d{2}(?::\d{2})?)\s*([AaPp][Mm])?)?$")


def infer_dayfirst(texts, *, label: str = "", column: str | None = None, dayfirst: bool | None = None) -> bool:
    """Decide day-first vs month-first for ``a/b/yyyy`` strings.

    Returns ``dayfirst`` when given.  Raises :class:`ReadError` when values
    contradict each other or no value decides and the readings differ.
    """
    if dayfirst is not None:
        return bool(dayfirst)
    m = pd.Series(list(texts), dtype=object).astype(str).str.extract(_DMY)
    m = m.dropna(subset=[0, 1])
    if m.empty:
        return True
    a = m[0].astype(int).to_numpy()
    b = m[1].astype(int).to_numpy()
    day_first_proof = (a > 12) & (a <= 31)
    month_first_proof = (b > 12) & (b <= 31)
    if day_first_proof.any() and month_first_proof.any():
        ex_d = m.index[day_first_proof][0]
        ex_m = m.index[month_first_proof][0]
        vals = list(texts)
        raise ReadError(
            f"{label}: dates are written both day-first and month-first",
            [Problem(label or None, None, column, f"{vals[ex_d]} and {vals[ex_m]}",
                     "one date only makes sense day-first, another only month-first",
                     "write all dates the same way, preferably as YYYY-MM-DD")])
    if day_first_proof.any():
        return True
    if month_first_proof.any():
        return False
    if (a == b).all():
        return True  # both readings agree
    vals = sorted(set(map(str, texts)))
    raise ReadError(
        f"{label}: cannot tell whether dates are day-first or month-first",
        [Problem(label or None, None, column, ", ".join(vals[:5]),
                 "every date reads both ways (e.g. 03/02/2025 is 3 February or March 2)",
                 "pass dayfirst=True (03/02/2025 = 3 Feb) or dayfirst=False (= 2 Mar), "
                 "or write dates as YYYY-MM-DD")])


def _parse_unique(values: np.ndarray, dayfirst: bool) -> np.ndarray:
    """Parse distinct non-null values -> datetime64[ns] array (NaT where unparseable)."""
    out = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[ns]")
    texts = []
    tidx = []
    for i, v in enumerate(values):  # distinct values only (dates, not rows)
        if isinstance(v, (datetime, date, pd.Timestamp, np.datetime64)):
            out[i] = pd.Timestamp(v).to_datetime64()
        elif isinstance(v, str):
            texts.append(v.strip())
            tidx.append(i)
        # numbers and other types stay NaT (unparseable)
    if not texts:
        return out
    s = pd.Series(texts, dtype=object)
    tidx = np.asarray(tidx)
    iso = s.str.match(_ISO).to_numpy()
    if iso.any():
        parsed = pd.to_datetime(s[iso], format="ISO8601", errors="coerce", utc=False)
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_localize(None)
        out[tidx[iso]] = parsed.to_numpy(dtype="datetime64[ns]")
    slash = s.str.extract(_ISO_SLASH)
    ok = slash[0].notna().to_numpy() & ~iso
    if ok.any():
        parsed = pd.to_datetime(pd.DataFrame({"year": slash.loc[ok, 0].astype(int), "month": slash.loc[ok,
                                                                                                       1].astype(int),
                                              "day": slash.loc[ok, 2].astype(int)}), errors="coerce")
        out[tidx[ok]] = parsed.to_numpy(dtype="datetime64[ns]")
    dmy = s.str.extract(_DMY)
    ok2 = dmy[0].notna().to_numpy() & ~iso & ~ok
    if ok2.any():
        a = dmy.loc[ok2, 0].astype(int)
        b = dmy.loc[ok2, 1].astype(int)
        y = dmy.loc[ok2, 2].astype(int)
        y = y.where(y >= 100, y + 2000)
        day, month = (a, b) if dayfirst else (b, a)
        parsed = pd.to_datetime(pd.DataFrame({"year": y, "month": month, "day": day}), errors="coerce")
        out[tidx[ok2]] = parsed.to_numpy(dtype="datetime64[ns]")
    rest = ~iso & ~ok & ~ok2 & (s.str.len() > 0).to_numpy()
    if rest.any():
        # textual dates such as "2 March 2025" or "Mar 2, 2025"
        parsed = pd.Series([pd.to_datetime(t, errors="coerce", dayfirst=dayfirst, format="mixed")
                            if re.search(r"[A-Za-z]{3}", t) else pd.NaT for t in s[rest]], dtype="datetime64[ns]")
        out[tidx[rest]] = parsed.to_numpy(dtype="datetime64[ns]")
    return out


def parse_dates(values: pd.Series, *, dayfirst: bool | None = None, label: str = "",
                column: str | None = None) -> tuple[pd.Series, np.ndarray, bool]:
    """Parse a column of dates to ``datetime64[ns]`` normalised to the day.

    Parameters
    ----------
    values
        Strings (ISO ``2025-03-02``, ``03/02/2025``, ``3.2.25``, ``2 March
        2025``), Excel dates, or an already datetime column.
    dayfirst
        ``True`` / ``False`` forces the reading of ``a/b/yyyy``; ``None``
        infers it from the set of values (see :func:`infer_dayfirst`).
    label, column
        Used in error messages.

    Returns
    -------
    (dates, bad, dayfirst)
        ``dates`` with ``NaT`` where a value could not be read; ``bad`` a
        boolean array marking non-blank values that could not be read; the
        day-first decision used.
    """
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        v = values
        if getattr(v.dt, "tz", None) is not None:
            v = v.dt.tz_localize(None)
        out = v if v.dtype == "datetime64[ns]" else v.astype("datetime64[ns]")
        i8 = out.to_numpy().view("i8")
        nat = np.iinfo(np.int64).min
        day = np.int64(86_400_000_000_000)
        if np.any((i8 // day * day != i8) & (i8 != nat)):  # some value has a time of day (// is faster than %)
            out = out.dt.normalize()
        return out, np.zeros(len(values), bool), True if dayfirst is None else bool(dayfirst)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    uniques = np.asarray(uniques, dtype=object)
    texts = [u.strip() for u in uniques if isinstance(u, str)]
    df = infer_dayfirst(texts, label=label, column=column, dayfirst=dayfirst)
    parsed = _parse_unique(uniques, df)
    blank_u = np.array([isinstance(u, str) and not u.strip() for u in uniques], dtype=bool)
    res = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[ns]")
    has = codes >= 0
    res[has] = parsed[codes[has]]
    bad_u = np.isnat(parsed) & ~blank_u
    bad = np.zeros(len(values), bool)
    bad[has] = bad_u[codes[has]]
    out = pd.Series(res, index=values.index, name=values.name).dt.normalize()
    return out, bad, df
