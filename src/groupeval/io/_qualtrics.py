"""Qualtrics CSV exports: their header rows, and what they hold that a programme must not keep.

Three layouts exist, and each header row below the first is skipped by the
reader (never read as a member):

* **current** (2018-): names, question text, ``{"ImportId": ...}`` rows;
* **2016-17 "Insights"**: names, question text, ``{'ImportId': ...}`` (single quotes);
* **legacy**: ``V1 .. Vn`` for the system columns with their real names
  (``ResponseID``, ``IPAddress`` ...) in the second row, then the question text.

The respondent's IP address and location are always dropped; contact
columns (recipient name and e-mail, external reference) are dropped when
empty (anonymous links) and otherwise left for the identifier guard.
"""
from __future__ import annotations

import re
from typing import Any

import pandas as pd

from ._notes import Note
from ._sheet import RawSheet

__all__ = ["qualtrics_header", "is_qualtrics", "qualtrics_frame", "QUALTRICS_DROPPED"]

#: Qualtrics system columns dropped for privacy (respondent IP and location)
QUALTRICS_DROPPED = ("IPAddress", "LocationLatitude", "LocationLongitude", "LocationAccuracy")
#: Qualtrics contact columns dropped when empty (anonymous links; legacy "Anonymous" names)
_CONTACT = ("RecipientLastName", "RecipientFirstName", "RecipientEmail", "ExternalReference",
            "ExternalDataReference", "Name", "EmailAddress")
_ANONYMOUS = {"anonymous", "anonym", "anonyme", "anonimo", "anónimo", "anoniem"}
_LEGACY = re.compile(r"^V\d+$")
_IMPORT_ID = re.compile(r"""^\{\s*["']ImportId["']\s*:""")
_IDS = ("ResponseId", "ResponseID")


def _is_import_row(row: list[str]) -> bool:
    return any(_IMPORT_ID.match(c) for c in row if c)


def qualtrics_header(rows: list[list[str]], hidx: int) -> tuple[list[str], int]:
    """Header plan: (header, extra header rows) of a Qualtrics export; other files unchanged (0 extra)."""
    header = rows[hidx]
    below = rows[hidx + 1:hidx + 3]
    # legacy: V1..Vn, real system names in the next row, question text in the same row
    if len(header) > 1 and _LEGACY.match(header[0]) and below and any(c in _IDS for c in below[0]):
        names = [b if _LEGACY.match(h) and b else h for h, b in zip(header, below[0] + [""] * len(header))]
        return names, 1
    if not (set(header) & set(_IDS) or "StartDate" in header):
        return header, 0
    if len(below) >= 2 and _is_import_row(below[1]):
        return header, 2
    if below and _is_import_row(below[0]):
        return header, 1
    # two-row layout: the second row repeats the system column names as text ("Response ID", "Start Date")
    if below and any(_squash(b) == _squash(h) for h, b in zip(header, below[0]) if h in _IDS + ("StartDate",)):
        return header, 1
    return header, 0


def _squash(s: str) -> str:
    return "".join(s.split()).casefold()


def is_qualtrics(columns: Any) -> bool:
    cols = set(columns)
    return bool(cols & set(_IDS)) and "StartDate" in cols


def _empty(s: pd.Series) -> bool:
    vals = s.dropna()
    return not len(vals) or bool(vals.astype(str).str.strip().str.casefold().isin(_ANONYMOUS | {""}).all())


def qualtrics_frame(raw: RawSheet, canonical: tuple[str, ...]) -> tuple[pd.DataFrame, list[str], list[Note]]:
    """(frame, dropped columns, notes): network and location columns and empty contact columns removed."""
    f = raw.frame
    drop = [c for c in QUALTRICS_DROPPED if c in f.columns]
    drop += [c for c in _CONTACT if c in f.columns and c not in canonical and _empty(f[c])]
    notes = [Note(raw.file, None, c, None, "Qualtrics column dropped for privacy (respondent network address or "
                  "location)" if c in QUALTRICS_DROPPED else "empty Qualtrics contact column dropped", "repaired")
             for c in drop]
    f = f.drop(columns=drop)
    if "completed_on" not in f.columns and "RecordedDate" in f.columns:
        f = f.rename(columns={"RecordedDate": "completed_on"})
    return f, drop, notes
