"""The :class:`Dataset` and its :class:`QualityReport`.

Both are frozen: build them once (through :func:`groupeval.load` or
:func:`groupeval.validate`), then pass them around.  Tables are tidy, long
pandas DataFrames with string identifiers and ``datetime64[ns]`` dates
normalised to the day; see :mod:`groupeval.schema`.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from .schema import TABLE_NAMES

__all__ = ["QualityReport", "Dataset", "QUALITY_COLUMNS"]

QUALITY_COLUMNS = ("file", "row", "column", "value", "reason", "action")
#: ``action`` values used in the report.
ACTIONS = ("excluded", "repaired", "inferred", "flagged")


def _empty_quality() -> pd.DataFrame:
    return pd.DataFrame({
        "file": pd.Series(dtype="string"),
        "row": pd.Series(dtype="Int64"),
        "column": pd.Series(dtype="string"),
        "value": pd.Series(dtype="string"),
        "reason": pd.Series(dtype="string"),
        "action": pd.Series(dtype="string"),
    })


def _coerce_quality(df: pd.DataFrame) -> pd.DataFrame:
    out = _empty_quality() if df is None or len(df) == 0 else df.reindex(columns=QUALITY_COLUMNS)
    if len(out):
        out = out.astype({"file": "string", "column": "string", "reason": "string", "action": "string"})
        out["row"] = pd.to_numeric(out["row"], errors="coerce").astype("Int64")
        out["value"] = out["value"].astype("string")
    return out.reset_index(drop=True)


@dataclass(frozen=True)
class QualityReport:
    """Every row that validation excluded, repaired or inferred, with why.

    Columns of :meth:`to_frame`: ``file``, ``row`` (as the user sees it in the
    spreadsheet: header is row 1), ``column``, ``value``, ``reason``,
    ``action`` (``excluded`` / ``repaired`` / ``inferred`` / ``flagged``).
    """

    entries: pd.DataFrame = field(default_factory=_empty_quality)

    def __post_init__(self) -> None:
        object.__setattr__(self, "entries", _coerce_quality(self.entries))

    # construction -------------------------------------------------------
    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]]) -> QualityReport:
        return cls(pd.DataFrame(list(records), columns=list(QUALITY_COLUMNS)))

    @classmethod
    def concat(cls, reports: Iterable[QualityReport | pd.DataFrame]) -> QualityReport:
        frames = [r.entries if isinstance(r, QualityReport) else r for r in reports]
        frames = [f for f in frames if f is not None and len(f)]
        if not frames:
            return cls()
        return cls(pd.concat([_coerce_quality(f) for f in frames], ignore_index=True))

    def __add__(self, other: QualityReport) -> QualityReport:
        return QualityReport.concat([self, other])

    # access ---------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """A copy of the report as a DataFrame."""
        return self.entries.copy()

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def n_excluded(self) -> int:
        return int((self.entries["action"] == "excluded").sum())

    def by_reason(self) -> pd.DataFrame:
        """Counts per (file, reason, action), most frequent first."""
        if not len(self.entries):
            return pd.DataFrame(columns=["file", "reason", "action", "n"])
        return (self.entries.fillna({"file": ""})
                .groupby(["file", "reason", "action"], dropna=False, observed=True)
                .size().rename("n").reset_index().sort_values("n", ascending=False, kind="stable")
                .reset_index(drop=True))

    def __repr__(self) -> str:
        if not len(self.entries):
            return "QualityReport(no rows excluded or repaired)"
        return f"QualityReport({len(self.entries)} entries)\n{self.by_reason().to_string(index=False)}"

    def _repr_html_(self) -> str:
        if not len(self.entries):
            return "<p>QualityReport: no rows excluded or repaired.</p>"
        table: str = self.by_reason().to_html(index=False)
        return "<p>QualityReport</p>" + table


@dataclass(frozen=True)
class Dataset:
    """A validated programme: the five canonical tables and the quality report.

    Attributes
    ----------
    groups, members, sessions, attendance, responses
        Canonical tables (see docs/design.md and :mod:`groupeval.base.schema`).
    quality
        :class:`QualityReport` of every row excluded or repaired.
    timepoints
        Survey timepoints in their order (e.g. ``("baseline", "week_12", "week_26")``).
    cutoff
        Data cut-off date (the last session in the data unless given).
    meta
        Free-form provenance (source path, programme name, instrument names, ...).
    """

    groups: pd.DataFrame
    members: pd.DataFrame
    sessions: pd.DataFrame
    attendance: pd.DataFrame
    responses: pd.DataFrame
    quality: QualityReport = field(default_factory=QualityReport)
    timepoints: tuple[str, ...] = ()
    cutoff: pd.Timestamp | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The five canonical tables by name."""
        return {name: getattr(self, name) for name in TABLE_NAMES}

    def counts(self) -> pd.DataFrame:
        """Rows per table (and distinct members / groups)."""
        rows = [(name, len(t)) for name, t in self.tables().items()]
        return pd.DataFrame(rows, columns=["table", "rows"])

    def replace(self, **changes: Any) -> Dataset:
        """A new Dataset with some fields replaced (the original is unchanged)."""
        return replace(self, **changes)

    @property
    def data_cutoff(self) -> pd.Timestamp:
        """The cut-off: ``cutoff`` if set, else the last session date in the data."""
        if self.cutoff is not None:
            return pd.Timestamp(self.cutoff)
        dates = self.sessions["session_date"] if len(self.sessions) else self.attendance["session_date"]
        return pd.Timestamp(dates.max())

    def __repr__(self) -> str:
        c = self.counts()
        parts = ", ".join(f"{t}={n}" for t, n in zip(c["table"], c["rows"]))
        return f"Dataset({parts}, quality={len(self.quality)} entries)"

    def _repr_html_(self) -> str:
        table: str = self.counts().to_html(index=False)
        return "<p><b>groupeval Dataset</b></p>" + table + f"<p>Quality report: {len(self.quality)} entries.</p>"
