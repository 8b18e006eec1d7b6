"""The one finder of direct identifiers: by column name and by the values a column holds.

Used by validation (the identifier guard of ``load`` / ``validate``) and by
reporting (the scan of outputs before they are shared).  A column is an
identifier when

* its **name** says so (:data:`groupeval.base.schema.IDENTIFIER_PATTERNS`,
  matched against the name with camel case split, accents removed and every
  run of non-alphanumerics as ``_``: ``"RecipientLastName"`` ->
  ``recipient_last_name``, ``"Prénom"`` -> ``prenom``), or
* its **values** do (text columns only, on their distinct values): an e-mail
  address or a phone number anywhere in a cell (``contact`` = ``ann@x.org``;
  ``notes`` = "call Ann on 07700 900123"), or IP addresses.

Canonical columns (``member_id``, ``group_id``, ``site`` ...) and
provenance columns are never flagged.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from .schema import IDENTIFIER_PATTERNS, TABLES

__all__ = ["find_identifier_columns", "identifier_name", "scan_values", "EMAIL_RE", "PHONE_RE", "IP_RE"]

_CANONICAL = {c for spec in TABLES.values() for c in (*spec.required, *spec.optional)}
_COMPILED = {kind: re.compile(p) for kind, p in IDENTIFIER_PATTERNS.items()}

EMAIL_RE = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")
#: phone numbers written the ways people write them: +44 7700 900123, (415) 555-1212,
#: 888-555-1234, 07700 900123, 020 7946 0958; never plain decimals, dates or times
PHONE_RE = re.compile(
    r"(?<![\w.+/:-])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}(?![\w/:]|[.,]\d)"
    r"|(?<![\w.])\(\d{2,5}\)[ .-]?\d{3,4}[ .-]?\d{3,4}(?![\w/:]|[.,]\d)"
    r"|(?<![\w.:/-])\d{3}[ .-]\d{3}[ .-]\d{4}(?![\w/:-]|[.,]\d)"
    r"|(?<![\w.:/-])0\d{2,4}[ -]?\d{3,4}[ -]?\d{3,4}(?![\w/:-]|[.,]\d)"
)
IP_RE = re.compile(r"^\s*(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}\s*$")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
#: distinct values of one column scanned at most (the first ones; identifiers show early)
MAX_DISTINCT = 20_000


def _plain_name(name: object) -> str:
    """Camel case split, accents removed, lower case, non-alphanumerics as ``_``."""
    text = _CAMEL.sub("_", str(name).strip())
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    return re.sub(r"[^0-9a-z]+", "_", text.casefold()).strip("_")


#: a column named for a fact *about* an identifier (``next_of_kin_confirmed``, ``email_provided``) holds
#: no identifier itself: its name does not flag it (its values are still scanned)
_ABOUT = re.compile(r"_(confirmed|consent|consented|notified|contacted|informed|flag|status|complete|completed|"
                    r"checked|verified|provided|given|known|available|yn|yes_no|count|changed|updated)$")


def identifier_name(name: object) -> str | None:
    """The kind of identifier a column name says it holds ("name", "email" ...), or None."""
    plain = _plain_name(name)
    if _ABOUT.search(plain):
        return None
    for kind, pattern in _COMPILED.items():
        if pattern.search(plain):
            return kind
    return None


def _phone_hit(text: str) -> bool:
    for m in PHONE_RE.finditer(text):
        digits = sum(ch.isdigit() for ch in m.group(0))
        if 9 <= digits <= 15:
            return True
    return False


def scan_values(values: Iterable[Any]) -> str | None:
    """The kind of identifier found in text values ("email", "phone", "network address"), or None.

    One e-mail address or phone number in any value flags the column; IP
    addresses flag it when they are the column's values (most of them).
    """
    texts = [v for v in values if isinstance(v, str) and len(v) >= 6]
    if not texts:
        return None
    if any("@" in t and EMAIL_RE.search(t) for t in texts):
        return "email"
    if any(_phone_hit(t) for t in texts if sum(ch.isdigit() for ch in t[:4096]) >= 9):
        return "phone"
    ips = sum(1 for t in texts if IP_RE.match(t))
    if ips and ips * 2 >= len(texts):
        return "network address"
    return None


def _distinct_text(s: pd.Series) -> list[Any]:
    """Up to :data:`MAX_DISTINCT` distinct non-missing values of a text column (no Python pass over rows)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return list(s.cat.categories[:MAX_DISTINCT])
    if isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow":
        import pyarrow as pa
        import pyarrow.compute as pc

        arr = s.array.__arrow_array__()
        if isinstance(arr, pa.ChunkedArray) and arr.num_chunks == 0:
            return []
        found: list[Any] = pc.unique(arr).drop_null().slice(0, MAX_DISTINCT).to_pylist()
        return found
    uniq = pd.unique(s.dropna().to_numpy(dtype=object))
    return list(uniq[:MAX_DISTINCT])


def _is_text(s: pd.Series) -> bool:
    return s.dtype == object or isinstance(s.dtype, (pd.StringDtype, pd.CategoricalDtype))


def find_identifier_columns(columns: Iterable[object] | pd.DataFrame, *,
                            values: bool | None = None,
                            known: Mapping[str, str] | None = None,
                            exclude: Iterable[str] = ()) -> dict[str, str]:
    """Columns that look like direct identifiers, mapped to the kind found.

    Parameters
    ----------
    columns
        Column names, or a DataFrame (then its text columns' values are
        scanned too, unless ``values=False``).
    values
        Scan the values of a DataFrame's text columns (default: True for a
        DataFrame).
    known
        Columns already known to be identifiers (e.g. flagged ``Identifier?
        = y`` in a REDCap data dictionary) and their kind.
    exclude
        Column names never flagged (working columns).

    Returns
    -------
    dict
        ``{column: kind}``, kinds ``"name"``, ``"email"``, ``"phone"``,
        ``"address"``, ``"date of birth"``, ``"national or health id
        number"``, ``"network address"``, ``"location"``.
    """
    frame = columns if isinstance(columns, pd.DataFrame) else None
    names = list(frame.columns) if frame is not None else list(columns)
    scan = frame is not None if values is None else bool(values and frame is not None)
    found: dict[str, str] = {}
    skip = set(exclude)
    for col in names:
        label = str(col)
        if label in skip or label in _CANONICAL or label.startswith("_") or _plain_name(col) in _CANONICAL:
            continue
        kind = (known or {}).get(label) or identifier_name(col)
        if kind is None and scan and frame is not None and _is_text(frame[col]):
            kind = scan_values(_distinct_text(frame[col]))
        if kind is not None:
            found[label] = kind
    return found
