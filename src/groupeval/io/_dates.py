"""Dates written by people: ISO, day-first or month-first, real Excel dates — the one date parser.

Readers (roster and sign-in dates, wide-sheet headers, survey completion
dates) and validation (every date column of the canonical tables) both use
:func:`read_dates`; :func:`parse_dates` is its raising form for readers.

Only the distinct values are parsed (a session-date column of 1.5 million
rows has a few thousand distinct dates), then mapped back, so parsing stays
vectorised.  Day-first versus month-first is inferred from the whole set of
values: a first number above 12 proves day-first (``13/02/2025``), a second
number above 12 proves month-first (``02/13/2025``).

* Time stamps keep the **local date of the stamp**: ``2025-03-02T23:30-05:00``
  is 2 March (the offset is not applied, so no date moves by a time zone).
* A date pandas cannot hold (before 1677-09-22 or after 2262-04-11, e.g. a
  typo ``3025-01-06``) is marked ``out_of_range``, so the caller can say so.
* A value written in another format than most of its column
  (``13/01/2025`` among ISO dates) is read and marked ``other_format``, so the
  caller can list it as a repair.
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from ..base.exceptions import Problem, ReadError

__all__ = ["parse_dates", "read_dates", "infer_dayfirst", "ParsedDates", "MIN_YEAR", "MAX_YEAR", "in_ns_range"]

_ISO = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:\s*(?:Z|[+-]\d{2}:?\d{2}))?$")
_TZ = r"\s*(?:Z|[+-]\d{2}:?\d{2})$"
_ISO_SLASH = re.compile(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})$")
_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})(?:[ T](\d{1,2}:\d{2}(?::\d{2})?)\s*([AaPp][Mm])?)?$")
#: the years a ``datetime64[ns]`` holds completely
MIN_YEAR, MAX_YEAR = 1678, 2261
_NS_MIN = pd.Timestamp.min.value
_NS_MAX = pd.Timestamp.max.value
_DAY = np.int64(86_400_000_000_000)
#: format families, for "written in another format than the rest of the column"
_REAL, _ISOF, _SLASHF, _DMYF, _TEXTF = range(5)
FORMAT_NAMES = {_REAL: "a spreadsheet date", _ISOF: "YYYY-MM-DD", _SLASHF: "YYYY/MM/DD", _DMYF: "DD/MM/YYYY",
                _TEXTF: "a date with a month name"}


@dataclass(frozen=True)
class ParsedDates:
    """What :func:`read_dates` returns (all arrays are row-aligned with the input).

    Attributes
    ----------
    dates
        ``datetime64[ns]`` normalised to the day; ``NaT`` where blank or unreadable.
    bad
        Non-blank values that could not be read (includes ``out_of_range``).
    blank
        Missing values and text that is empty after stripping spaces.
    out_of_range
        Values that are dates but outside the years pandas can hold.
    other_format
        Values read, but written in another format than most of the column.
    dayfirst
        The day-first decision used for ``a/b/yyyy`` values.
    ambiguous
        An example value when the day/month order could not be told (those
        rows stay ``NaT`` and are not ``bad``).
    conflict
        Two example values when one only makes sense day-first and another
        only month-first (rows read day-first).
    majority
        Name of the column's main format (for messages).
    """

    dates: pd.Series
    bad: np.ndarray
    blank: np.ndarray
    out_of_range: np.ndarray
    other_format: np.ndarray
    dayfirst: bool
    ambiguous: str | None = None
    conflict: tuple[str, str] | None = None
    majority: str = ""


def in_ns_range(year: Any) -> Any:
    """True where ``year`` is one pandas' ``datetime64[ns]`` holds completely."""
    return (year >= MIN_YEAR) & (year <= MAX_YEAR)


def _decide(a: np.ndarray, b: np.ndarray, dayfirst: bool | None) -> tuple[bool | None, int | None, int | None]:
    """Day-first decision for pairs (a, b) of ``a/b/yyyy``: (decision or None, index proving d-first, m-first)."""
    if dayfirst is not None:
        return bool(dayfirst), None, None
    if not len(a):
        return True, None, None
    d_proof = np.flatnonzero((a > 12) & (a <= 31))
    m_proof = np.flatnonzero((b > 12) & (b <= 31))
    if len(d_proof) and len(m_proof):
        return True, int(d_proof[0]), int(m_proof[0])
    if len(d_proof):
        return True, None, None
    if len(m_proof):
        return False, None, None
    if (a == b).all():
        return True, None, None  # both readings agree
    return None, None, None


def infer_dayfirst(texts: Any, *, label: str = "", column: str | None = None, dayfirst: bool | None = None) -> bool:
    """Decide day-first vs month-first for ``a/b/yyyy`` strings.

    Returns ``dayfirst`` when given.  Raises :class:`ReadError` when values
    contradict each other or no value decides and the readings differ.
    """
    if dayfirst is not None:
        return bool(dayfirst)
    vals = [str(t).strip() for t in texts]
    m = pd.Series(vals, dtype=object).str.extract(_DMY).dropna(subset=[0, 1])
    a = m[0].astype(int).to_numpy()
    b = m[1].astype(int).to_numpy()
    decided, d_at, m_at = _decide(a, b, None)
    if d_at is not None and m_at is not None:
        raise conflict_error(label, column, vals[m.index[d_at]], vals[m.index[m_at]])
    if decided is None:
        raise ambiguous_error(label, column, sorted(set(vals)))
    return decided


def conflict_error(label: str, column: str | None, d_example: str, m_example: str) -> ReadError:
    return ReadError(
        f"{label}: dates are written both day-first and month-first",
        [Problem(label or None, None, column, f"{d_example} and {m_example}",
                 "one date only makes sense day-first, another only month-first",
                 "write all dates the same way, preferably as YYYY-MM-DD")])


def ambiguous_error(label: str, column: str | None, values: list[str]) -> ReadError:
    return ReadError(
        f"{label}: cannot tell whether dates are day-first or month-first",
        [Problem(label or None, None, column, ", ".join(values[:5]),
                 "every date reads both ways (e.g. 03/02/2025 is 3 February or March 2)",
                 "pass dayfirst=True (03/02/2025 = 3 Feb) or dayfirst=False (= 2 Mar), "
                 "or write dates as YYYY-MM-DD")])


def _ymd(year: Any, month: Any, day: Any) -> np.ndarray:
    """datetime64[ns] from integer arrays (NaT where not a calendar date or out of range)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = pd.to_datetime(pd.DataFrame({"year": np.asarray(year), "month": np.asarray(month),
                                           "day": np.asarray(day)}), errors="coerce")
    return out.to_numpy(dtype="datetime64[ns]")


class _Unique:
    """Parsing state of the distinct values of one column."""

    def __init__(self, uniques: np.ndarray):
        n = len(uniques)
        self.uniques = uniques
        self.out = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
        self.family = np.full(n, -1, dtype=np.int8)
        self.blank = np.zeros(n, dtype=bool)
        self.oor = np.zeros(n, dtype=bool)
        self.ambiguous: str | None = None
        self.conflict: tuple[str, str] | None = None
        self.dayfirst = True


def _real_dates(u: _Unique) -> tuple[list[str], list[int]]:
    """Datetime-like values parsed in place; returns the stripped strings and their positions."""
    texts: list[str] = []
    where: list[int] = []
    for i, v in enumerate(u.uniques):  # distinct values only (dates, not rows)
        if isinstance(v, (datetime, date, pd.Timestamp, np.datetime64)):
            try:
                ts = pd.Timestamp(v)
            except (ValueError, OverflowError):  # out of the ns range
                u.oor[i] = True
                continue
            if ts is pd.NaT:
                u.blank[i] = True
                continue
            if ts.tzinfo is not None:
                ts = ts.tz_localize(None)  # the wall time of the stamp
            u.out[i] = ts.normalize().to_datetime64()
            u.family[i] = _REAL
        elif isinstance(v, str):
            t = v.strip()
            if t:
                texts.append(t)
                where.append(i)
            else:
                u.blank[i] = True
        # numbers and other objects stay NaT (not a date)
    return texts, where


def _parse_iso(u: _Unique, s: pd.Series, idx: np.ndarray) -> np.ndarray:
    iso = s.str.match(_ISO).to_numpy(dtype=bool)
    if iso.any():
        local = s[iso].str.replace(_TZ, "", regex=True)  # local date of the stamp: drop the offset
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = pd.to_datetime(local, format="ISO8601", errors="coerce")
        u.out[idx[iso]] = parsed.dt.normalize().to_numpy(dtype="datetime64[ns]")
        u.family[idx[iso]] = _ISOF
        years = local.str.slice(0, 4).astype(int).to_numpy()
        u.oor[idx[iso]] = ~in_ns_range(years)
    return iso


def _parse_slash(u: _Unique, s: pd.Series, idx: np.ndarray, done: np.ndarray) -> np.ndarray:
    m = s.str.extract(_ISO_SLASH)
    ok = m[0].notna().to_numpy() & ~done
    if ok.any():
        y = m.loc[ok, 0].astype(int)
        u.out[idx[ok]] = _ymd(y, m.loc[ok, 1].astype(int), m.loc[ok, 2].astype(int))
        u.family[idx[ok]] = _SLASHF
        u.oor[idx[ok]] = ~in_ns_range(y.to_numpy())
    return ok


def _parse_dmy(u: _Unique, s: pd.Series, idx: np.ndarray, done: np.ndarray, dayfirst: bool | None) -> np.ndarray:
    m = s.str.extract(_DMY)
    ok = m[0].notna().to_numpy() & ~done
    if not ok.any():
        u.dayfirst = True if dayfirst is None else bool(dayfirst)
        return ok
    a = m.loc[ok, 0].astype(int).to_numpy()
    b = m.loc[ok, 1].astype(int).to_numpy()
    y = m.loc[ok, 2].astype(int).to_numpy()
    y = np.where(y < 100, y + 2000, y)
    decided, d_at, m_at = _decide(a, b, dayfirst)
    texts = s[ok].to_numpy(dtype=object)
    if d_at is not None and m_at is not None:
        u.conflict = (str(texts[d_at]), str(texts[m_at]))
    if decided is None:
        differ = (a != b) & (a <= 12) & (b <= 12)
        u.ambiguous = str(texts[np.flatnonzero(differ)[0]])
        u.family[idx[ok]] = _DMYF
        return ok
    u.dayfirst = decided
    day, month = (a, b) if decided else (b, a)
    u.out[idx[ok]] = _ymd(y, month, day)
    u.family[idx[ok]] = _DMYF
    u.oor[idx[ok]] = ~in_ns_range(y)
    return ok


def _parse_text(u: _Unique, s: pd.Series, idx: np.ndarray, done: np.ndarray, dayfirst: bool) -> None:
    """Textual dates such as "2 March 2025" or "Mar 2, 2025" (a word of three letters or more)."""
    rest = ~done & s.str.contains(r"[A-Za-z]{3}", regex=True).to_numpy(dtype=bool)
    if not rest.any():
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(s[rest], errors="coerce", dayfirst=dayfirst, format="mixed")
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)
    u.out[idx[rest]] = parsed.dt.normalize().to_numpy(dtype="datetime64[ns]")
    u.family[idx[rest]] = np.where(parsed.isna().to_numpy(), -1, _TEXTF)


def _parse_unique(uniques: np.ndarray, dayfirst: bool | None) -> _Unique:
    """Parse the distinct values of a column."""
    u = _Unique(uniques)
    texts, where = _real_dates(u)
    if not texts:
        u.dayfirst = True if dayfirst is None else bool(dayfirst)
        return u
    s = pd.Series(texts, dtype=object)
    idx = np.asarray(where)
    done = _parse_iso(u, s, idx)
    done |= _parse_slash(u, s, idx, done)
    done |= _parse_dmy(u, s, idx, done, dayfirst)
    _parse_text(u, s, idx, done, u.dayfirst)
    return u


def _pooled(n: int, dtype: Any) -> np.ndarray:
    """A scratch array in pyarrow's memory pool (already mapped: no fresh page faults, unlike numpy's)."""
    import pyarrow as pa

    dt = np.dtype(dtype)
    return np.frombuffer(pa.allocate_buffer(max(n, 1) * dt.itemsize), dtype=dt)[:n]


def _from_datetimes(values: pd.Series, dayfirst: bool | None) -> ParsedDates:
    """An already datetime column: the wall time's day (time zones dropped, not converted)."""
    v = values
    if getattr(v.dt, "tz", None) is not None:
        v = v.dt.tz_localize(None)
    out = v if v.dtype == "datetime64[ns]" else v.astype("datetime64[ns]")
    i8 = out.to_numpy().view("i8")
    nat = i8 == np.iinfo(np.int64).min
    whole = np.floor_divide(i8, _DAY, out=_pooled(len(i8), np.int64))
    whole *= _DAY  # the day part of each value, in place (NaT wraps round: hence the second test)
    if (whole != i8).any() and ((whole != i8) & ~nat).any():  # some value has a time of day
        out = out.dt.normalize()
    none = np.zeros(len(values), dtype=bool)
    return ParsedDates(out, none, nat, none, none, True if dayfirst is None else bool(dayfirst))


def read_dates(values: pd.Series, *, dayfirst: bool | None = None) -> ParsedDates:
    """Parse a column of dates without raising; see :class:`ParsedDates`.

    Parameters
    ----------
    values
        Strings (ISO ``2025-03-02`` with or without a time and offset,
        ``03/02/2025``, ``3.2.25``, ``2025/03/02``, ``2 March 2025``), Excel
        dates, or an already datetime column.
    dayfirst
        ``True`` / ``False`` forces the reading of ``a/b/yyyy``; ``None``
        infers it from the set of values.
    """
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return _from_datetimes(values, dayfirst)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    uniques = np.asarray(uniques, dtype=object)
    u = _parse_unique(uniques, dayfirst)
    bad_u = np.isnat(u.out) & ~u.blank & (u.family != _DMYF if u.ambiguous else True)
    bad_u |= u.oor
    fam = np.where(u.oor | np.isnat(u.out), -1, u.family)
    counts = np.bincount(fam[codes[codes >= 0]] + 1, minlength=6)[1:] if len(codes) else np.zeros(5, np.int64)
    majority = int(np.argmax(counts)) if counts.any() else -1
    other_u = (fam >= 0) & (fam != majority) if (counts > 0).sum() > 1 else np.zeros(len(fam), dtype=bool)
    has = codes >= 0

    def rows(per_unique: np.ndarray, missing: bool = False) -> np.ndarray:
        return np.where(has, np.append(per_unique, missing)[codes], missing)

    dates = np.where(has, np.append(u.out, np.datetime64("NaT"))[codes], np.datetime64("NaT"))
    return ParsedDates(pd.Series(dates.astype("datetime64[ns]"), index=values.index, name=values.name),
                       rows(bad_u), rows(u.blank, True), rows(u.oor), rows(other_u), u.dayfirst, u.ambiguous,
                       u.conflict, FORMAT_NAMES.get(majority, ""))


def parse_dates(values: pd.Series, *, dayfirst: bool | None = None, label: str = "",
                column: str | None = None) -> tuple[pd.Series, np.ndarray, bool]:
    """Parse a column of dates to ``datetime64[ns]`` normalised to the day (readers' form: raises).

    Parameters
    ----------
    values
        As :func:`read_dates`.
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

    Raises
    ------
    ReadError
        Dates whose day/month order cannot be told, or that prove both orders.
    """
    parsed = read_dates(values, dayfirst=dayfirst)
    if parsed.conflict is not None:
        raise conflict_error(label, column, *parsed.conflict)
    if parsed.ambiguous is not None:
        texts = sorted({str(v).strip() for v in pd.unique(values.dropna()) if isinstance(v, str)})
        raise ambiguous_error(label, column, texts)
    return parsed.dates, parsed.bad, parsed.dayfirst
