"""Reporting periods: :class:`Period`, reading them from text (:func:`parse_period`), the periods a dataset
covers (:func:`periods_covered`), and the day arithmetic the period statistics share.

Re-exported by :mod:`groupeval.statistics.periods` (docs/periods.md), where
these names are documented and used.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..base.dataset import Dataset
from ..base.exceptions import ConfigError, SchemaError

#: The two period definitions (see the module notes and docs/periods.md).
BASES: tuple[str, ...] = ("enrolment", "calendar")
#: Calendar units :func:`periods_covered` can list.
FREQUENCIES: tuple[str, ...] = ("month", "quarter", "half", "year")

_NAT = np.iinfo(np.int64).min


@dataclass(frozen=True)
class Period:
    """A reporting period: a label and an inclusive range of days.

    Parameters
    ----------
    label
        How the period is written in tables (``"2025-Q3"``, ``"2025-07"``,
        ``"2025"``, ``"2025-H1"``, ``"2025-07-01..2025-09-30"``).
    start, end
        First and last day, both included (normalised to midnight).
    kind
        ``"month"``, ``"quarter"``, ``"half"``, ``"year"`` or ``"range"``.

    Examples
    --------
    >>> p = Period.parse("2025-Q3")
    >>> p.start.date(), p.end.date(), p.days
    (datetime.date(2025, 7, 1), datetime.date(2025, 9, 30), 92)
    >>> str(p.previous())
    '2025-Q2'
    """

    label: str
    start: pd.Timestamp
    end: pd.Timestamp
    kind: str = "range"

    def __post_init__(self) -> None:
        try:
            start = pd.Timestamp(self.start).normalize()
            end = pd.Timestamp(self.end).normalize()
        except (TypeError, ValueError):
            raise ConfigError(f"Period {self.label!r}: start and end must be dates, got {self.start!r} and "
                              f"{self.end!r}.") from None
        if pd.isna(start) or pd.isna(end):
            raise ConfigError(f"Period {self.label!r}: start and end must be dates, not missing.")
        if end < start:
            raise ConfigError(f"Period {self.label!r} ends ({end.date()}) before it starts ({start.date()}); "
                              "give the earlier date first, e.g. '2025-07-01..2025-09-30'.")
        if self.kind not in (*FREQUENCIES, "range"):
            raise ConfigError(f"Period kind must be one of {', '.join(FREQUENCIES)} or 'range', got {self.kind!r}.")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)
        object.__setattr__(self, "label", str(self.label))

    @classmethod
    def parse(cls, value: Any) -> Period:
        """:func:`parse_period`."""
        return parse_period(value)

    @property
    def days(self) -> int:
        """Number of days in the period (both ends included)."""
        return int((self.end - self.start) / pd.Timedelta(days=1)) + 1

    def contains(self, dates: Any) -> np.ndarray:
        """Boolean array: which of ``dates`` fall inside the period (NaT is outside)."""
        d = pd.to_datetime(pd.Series(np.asarray(dates).ravel()), errors="coerce")
        return ((d >= self.start) & (d <= self.end)).to_numpy(dtype=bool)

    def previous(self) -> Period:
        """The period of the same kind just before (a range: the same number of days just before)."""
        if self.kind == "range":
            end = self.start - pd.Timedelta(days=1)
            start = end - pd.Timedelta(days=self.days - 1)
            return Period(f"{start.date()}..{end.date()}", start, end, "range")
        return _calendar_period(self.kind, self.start - pd.Timedelta(days=1))

    def __str__(self) -> str:
        return self.label


def _calendar_period(kind: str, day: pd.Timestamp) -> Period:
    """The month / quarter / half / year containing ``day``."""
    day = pd.Timestamp(day).normalize()
    y = day.year
    if kind == "year":
        return Period(f"{y}", pd.Timestamp(y, 1, 1), pd.Timestamp(y, 12, 31), "year")
    if kind == "half":
        h = 1 if day.month <= 6 else 2
        start = pd.Timestamp(y, 1 if h == 1 else 7, 1)
        end = pd.Timestamp(y, 6, 30) if h == 1 else pd.Timestamp(y, 12, 31)
        return Period(f"{y}-H{h}", start, end, "half")
    freq = {"month": "M", "quarter": "Q"}[kind]
    p = pd.Period(day, freq=freq)
    label = f"{y}-Q{p.quarter}" if kind == "quarter" else f"{y}-{day.month:02d}"
    return Period(label, p.start_time.normalize(), p.end_time.normalize(), kind)


_EXAMPLES = "'2025-Q3' (quarter), '2025-07' (month), '2025' (year), '2025-H1' (half year) or " \
            "'2025-07-01..2025-09-30' (a range of days, both included)"
_RX_YEAR = re.compile(r"^(\d{4})$")
_RX_QUARTER = re.compile(r"^(\d{4})-?Q(\d+)$", re.IGNORECASE)
_RX_HALF = re.compile(r"^(\d{4})-?H(\d+)$", re.IGNORECASE)
_RX_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_RX_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _parse_day(text: str, whole: str) -> pd.Timestamp:
    if not _RX_DAY.match(text):
        raise ConfigError(f"Period {whole!r}: {text!r} is not a date written YYYY-MM-DD; write a range as "
                          "'2025-07-01..2025-09-30'.")
    try:
        return pd.Timestamp(text)
    except ValueError:
        raise ConfigError(f"Period {whole!r}: {text!r} is not a calendar date (check the month and day).") from None


def parse_period(value: Any) -> Period:
    """Read a reporting period from text (or pass a :class:`Period` through).

    Parameters
    ----------
    value
        ``"2025-Q3"`` (also ``"2025Q3"``, any case), ``"2025-07"`` (a
        month), ``"2025"`` (a year), ``"2025-H1"`` (a half year), an explicit
        range of days ``"2025-07-01..2025-09-30"`` (both days included), a
        ``(start, end)`` pair of dates, or a :class:`Period`.

    Returns
    -------
    Period

    Raises
    ------
    ConfigError
        Text in none of these forms, an impossible quarter / half / month /
        day, or a range that ends before it starts; the message gives the
        accepted forms.

    Examples
    --------
    >>> parse_period("2025-Q3").end.date()
    datetime.date(2025, 9, 30)
    >>> parse_period("2025-02").end.date()
    datetime.date(2025, 2, 28)
    >>> parse_period("2025-07-01..2025-08-15").days
    46
    """
    if isinstance(value, Period):
        return value
    if isinstance(value, tuple) and len(value) == 2:
        start, end = (pd.Timestamp(v) for v in value)
        return Period(f"{start.date()}..{end.date()}", start, end, "range")
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = str(int(value))
    if not isinstance(value, str):
        raise ConfigError(f"A period must be text such as {_EXAMPLES}; got {type(value).__name__} {value!r}.")
    text = value.strip()
    if ".." in text:
        a, _, b = text.partition("..")
        start, end = _parse_day(a.strip(), text), _parse_day(b.strip(), text)
        if end < start:
            raise ConfigError(f"Period {text!r} ends before it starts; give the earlier date first.")
        return Period(f"{start.date()}..{end.date()}", start, end, "range")
    m = _RX_YEAR.match(text)
    if m:
        return _calendar_period("year", pd.Timestamp(int(m.group(1)), 1, 1))
    m = _RX_QUARTER.match(text)
    if m:
        q = int(m.group(2))
        if not 1 <= q <= 4:
            raise ConfigError(f"Period {text!r}: a year has quarters Q1 to Q4, not Q{q}.")
        return _calendar_period("quarter", pd.Timestamp(int(m.group(1)), 3 * q - 2, 1))
    m = _RX_HALF.match(text)
    if m:
        h = int(m.group(2))
        if h not in (1, 2):
            raise ConfigError(f"Period {text!r}: a year has halves H1 and H2, not H{h}.")
        return _calendar_period("half", pd.Timestamp(int(m.group(1)), 1 if h == 1 else 7, 1))
    m = _RX_MONTH.match(text)
    if m:
        mo = int(m.group(2))
        if not 1 <= mo <= 12:
            raise ConfigError(f"Period {text!r}: months run from 01 to 12, not {m.group(2)}.")
        return _calendar_period("month", pd.Timestamp(int(m.group(1)), mo, 1))
    if _RX_DAY.match(text):
        raise ConfigError(f"Period {text!r} is a single day; write a range such as '{text}..{text}', or one of "
                          f"{_EXAMPLES}.")
    raise ConfigError(f"Cannot read the period {text!r}; write it as {_EXAMPLES}.")


def _as_periods(periods: Any) -> list[Period]:
    if isinstance(periods, (str, Period, tuple)):
        periods = [periods]
    try:
        out = [parse_period(p) for p in periods]
    except TypeError:
        raise ConfigError(f"`periods` must be a period or a list of them ({_EXAMPLES}); got {periods!r}.") from None
    if not out:
        raise ConfigError("`periods` is empty; give at least one period, e.g. ['2025-Q2', '2025-Q3'].")
    labels = [p.label for p in out]
    dup = sorted({x for x in labels if labels.count(x) > 1})
    if dup:
        raise ConfigError(f"`periods` lists {dup} more than once; give each period once.")
    return out


def _check_basis(basis: str) -> str:
    if basis not in BASES:
        raise ConfigError(f"`basis` must be 'enrolment' (members by the period they enrolled in) or 'calendar' "
                          f"(everyone active during the period); got {basis!r}.")
    return basis


def periods_covered(dataset: Dataset, freq: str = "quarter", *, basis: str = "calendar") -> list[Period]:
    """The calendar periods a dataset covers, in order.

    Parameters
    ----------
    dataset
        A :class:`~groupeval.Dataset`.
    freq
        ``"month"``, ``"quarter"`` (default), ``"half"`` or ``"year"``.
    basis
        ``"calendar"`` (default): from the first held session to the data
        cut-off.  ``"enrolment"``: from the first to the last enrolment on or
        before the cut-off (members enrolled before the data window give
        early cohorts observed with late entry).

    Returns
    -------
    list of Period
        Every period from the first to the last, including periods in between
        with no activity.  The first and last may be only partly covered:
        :func:`period_summary` flags a period that runs past the cut-off
        (``partial``).

    Examples
    --------
    >>> import groupeval as ge
    >>> ds = ge.sample.generate(seed=1, weeks=52)
    >>> [str(p) for p in periods_covered(ds)]           # doctest: +SKIP
    ['2025-Q1', '2025-Q2', '2025-Q3', '2025-Q4', '2026-Q1']
    """
    if freq not in FREQUENCIES:
        raise ConfigError(f"`freq` must be one of {', '.join(map(repr, FREQUENCIES))}; got {freq!r}.")
    _check_basis(basis)
    _check_dataset(dataset)
    cutoff = dataset.data_cutoff
    if basis == "calendar":
        ses = dataset.sessions
        if len(ses):
            held = ses if "cancelled" not in ses.columns else ses[~ses["cancelled"].fillna(False).astype(bool)]
            first = pd.Timestamp(held["session_date"].min())
        else:
            first = pd.Timestamp(dataset.attendance["session_date"].min())
        last = cutoff
    else:
        enr = dataset.members["enrolled_on"]
        enr = enr[enr <= cutoff] if not pd.isna(cutoff) else enr
        first, last = pd.Timestamp(enr.min()), pd.Timestamp(enr.max())
    if pd.isna(first) or pd.isna(last) or last < first:
        return []
    out = [_calendar_period(freq, first)]
    while out[-1].end < last:
        out.append(_calendar_period(freq, out[-1].end + pd.Timedelta(days=1)))
    return out


def _check_dataset(dataset: Any) -> None:
    if not isinstance(dataset, Dataset):
        raise SchemaError(f"Expected a groupeval Dataset (from groupeval.load or groupeval.validate), got "
                          f"{type(dataset).__name__}.")


def _days(values: Any) -> np.ndarray:
    """Dates -> int64 days since 1970 (NaT -> int64 min)."""
    arr = pd.to_datetime(pd.Series(np.asarray(values).ravel()), errors="coerce").to_numpy()
    return arr.astype("datetime64[D]").astype(np.int64)


def _day(ts: pd.Timestamp) -> int:
    return int(np.datetime64(pd.Timestamp(ts).normalize(), "D").astype(np.int64))
