"""Header rows and column names: finding the header, checking it, mapping raw names to canonical ones.

Shared by the CSV, Excel and Parquet readers (:mod:`._csv`, :mod:`._excel`,
:mod:`._files`).  A blank header cell is named ``unnamed_<letter>`` (its
spreadsheet column) *before* ``columns=`` is applied, so the name an error
message suggests (``columns={"unnamed_A": "member_id"}``) is one the mapping
accepts.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, time
from typing import Any

import numpy as np

from ..base.exceptions import ConfigError, Problem, ReadError
from ..base.vocab import norm_name, squash

__all__ = ["col_letter", "header_text", "check_header", "find_header", "name_blanks", "resolve_columns",
           "recognise_aliases", "rename_plan", "Recogniser", "HeaderPlan", "MAX_TITLE_ROWS"]

#: how many leading rows may be a title above the header
MAX_TITLE_ROWS = 20
#: auto-recognition of canonical names: the (already ``columns=``-mapped) header -> extra renames
Recogniser = Callable[[list[str]], Mapping[str, str]]
#: a shape's own header rows: (first rows as text, index of the header) -> (header, extra header rows below it)
HeaderPlan = Callable[[list[list[str]], int], tuple[list[str], int]]

_NUMBER_RE = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")
_DATE_RE = re.compile(r"^(\d{4}-\d{1,2}-\d{1,2}([ T][\d:.]+)?|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4})$")


def col_letter(i: int) -> str:
    """0-based column index -> spreadsheet letter (0 -> A, 26 -> AA)."""
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def header_text(value: object) -> str:
    """A header cell as text: Excel dates become ISO dates, 3.0 becomes '3'."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.strftime("%Y-%m-%d")
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _looks_like_data(text: str) -> bool:
    return bool(_NUMBER_RE.match(text) or _DATE_RE.match(text))


def check_header(header: list[str], label: str, header_row: int, columns: Mapping[str, str] | None = None) -> None:
    """Raise ReadError when the header looks like data or repeats a name.

    A header of dates with blank cells is a wide sheet whose id column has no
    name: accepted when ``columns=`` maps the blank cell (``unnamed_A``).
    """
    filled = [h for h in header if h != ""]
    blanks = [f"unnamed_{col_letter(i)}" for i, h in enumerate(header) if h == ""]
    if filled and all(_looks_like_data(h) for h in filled) and not set(blanks) & set(columns or ()):
        hint = f", or pass columns={{{blanks[0]!r}: 'member_id'}} for the unnamed column" if blanks else ""
        raise ReadError(
            f"{label} has no header row",
            [Problem(label, header_row, None, ", ".join(filled[:6]),
                     "the first row holds numbers or dates, not column names",
                     "add a first row with column names (e.g. member_id, group_id, session_date); "
                     "in a wide attendance sheet the column of member ids needs a header too (member_id)" + hint)],
        )
    seen: dict[str, list[int]] = {}
    for i, h in enumerate(header):
        if h != "":
            seen.setdefault(h, []).append(i)
    dups = {h: idx for h, idx in seen.items() if len(idx) > 1}
    if dups:
        raise ReadError(
            f"{label} has duplicated column names",
            [Problem(label, header_row, h, None,
                     f"the column name appears {len(idx)} times (columns "
                     + ", ".join(col_letter(i) for i in idx) + ")",
                     "give each column a unique name or delete the copies")
             for h, idx in dups.items()],
        )


def find_header(rows: list[list[str]]) -> int:
    """Index of the header among the first rows: the first with >= 2 filled cells.

    Title rows above the header ("Tuesday group attendance") hold one cell at
    most.  Falls back to the first non-empty row.
    """
    first_nonempty = None
    for i, row in enumerate(rows[:MAX_TITLE_ROWS]):
        n = sum(1 for c in row if c != "")
        if n and first_nonempty is None:
            first_nonempty = i
        if n >= 2:
            return i
    return 0 if first_nonempty is None else first_nonempty


def name_blanks(header: list[str]) -> list[str]:
    """Blank header cells named after their spreadsheet column: ``unnamed_A``, ``unnamed_B`` ..."""
    return [h if h != "" else f"unnamed_{col_letter(i)}" for i, h in enumerate(header)]


def recognise_aliases(header: list[str], aliases: Mapping[str, tuple[str, ...] | list[str]]) -> dict[str, str]:
    """Auto-map raw column names to canonical ones through ``aliases``.

    ``aliases`` maps a canonical name to normalised raw spellings
    (:func:`~groupeval.base.vocab.norm_name`), e.g. ``{"member_id":
    ("member_id", "participant_id")}``.  A canonical name already in the
    header is left alone; an alias matched by more than one raw column is
    ambiguous and not used.
    """
    present = set(header)
    normed: dict[str, list[str]] = {}
    for h in header:
        normed.setdefault(norm_name(h), []).append(h)
    out: dict[str, str] = {}
    for canon, names in aliases.items():
        if canon in present:
            continue
        for a in names:
            hits = [h for h in normed.get(a, []) if h not in out]
            if len(hits) == 1:
                out[hits[0]] = canon
                break
    return out


def _mapping_problem(label: str, raw: object, header: list[str], loose: Mapping[str, list[str]]) -> Problem:
    cands = loose.get(squash(raw), [])
    if len(cands) > 1:
        return Problem(label, None, str(raw), None,
                       f"columns= key matches several columns ignoring case/spaces: {cands}",
                       "use the exact column name")
    return Problem(label, None, str(raw), None, "columns= names a column the file does not have",
                   "use one of the available columns: " + ", ".join(repr(h) for h in header if h))


def resolve_columns(header: Iterable[str], columns: Mapping[str, str] | None, label: str) -> dict[str, str]:
    """Match the keys of ``columns=`` to raw header names (exact, then insensitive)."""
    if not columns:
        return {}
    if not isinstance(columns, Mapping):
        raise ConfigError(f"columns= must be a mapping of raw column name -> canonical name, "
                          f"got {type(columns).__name__}")
    header = list(header)
    exact = set(header)
    loose: dict[str, list[str]] = {}
    for h in header:
        loose.setdefault(squash(h), []).append(h)
    rename: dict[str, str] = {}
    problems = []
    for raw, canon in columns.items():
        if not isinstance(canon, str) or not canon:
            problems.append(Problem(label, None, str(raw), canon, "the canonical name must be a non-empty string",
                                    "write columns={'Raw name': 'member_id'}"))
        elif raw in exact:
            rename[raw] = canon
        elif len(loose.get(squash(raw), [])) == 1:
            rename[loose[squash(raw)][0]] = canon
        else:
            problems.append(_mapping_problem(label, raw, header, loose))
    if problems:
        raise ConfigError(f"columns= mapping does not fit {label}", problems)
    return rename


def _apply_rename(header: list[str], rename: Mapping[str, str], label: str, header_row: int) -> list[str]:
    new = [rename.get(h, h) for h in header]
    seen: dict[str, list[str]] = {}
    for old, n in zip(header, new):
        if n != "":
            seen.setdefault(n, []).append(old)
    clash = {n: olds for n, olds in seen.items() if len(olds) > 1}
    if clash:
        raise ConfigError(
            f"renaming columns of {label} gives two columns the same name",
            [Problem(label, header_row, n, None, f"columns {olds} would all be called {n!r}",
                     "map only one of them to this name (or drop the other one)")
             for n, olds in clash.items()],
        )
    return new


def rename_plan(raw_header: list[str], columns: Mapping[str, str] | None, recognise: Recogniser | None,
                label: str, header_row: int) -> tuple[dict[str, str], list[str]]:
    """(renames applied, final column names) for a header whose blank cells are already named."""
    rename = resolve_columns(raw_header, columns, label)
    mapped = [rename.get(h, h) for h in raw_header]
    if recognise is not None:
        auto = recognise(mapped)
        # auto-recognition never overrides an explicit mapping
        for h, m in zip(raw_header, mapped):
            if h not in rename and m in auto:
                rename[h] = auto[m]
    final = _apply_rename(raw_header, rename, label, header_row)
    return rename, final


def columns_for_sheet(columns: Mapping[str, str] | None, header: list[str],
                      matched: set[Any] | None) -> Mapping[str, str] | None:
    """The part of ``columns=`` naming columns of this sheet (several sheets: each key need match one)."""
    if matched is None or not columns:
        return columns
    keys = {squash(h) for h in header} | set(header)
    mine = {k: v for k, v in columns.items() if k in keys or squash(k) in keys}
    matched.update(mine)
    return mine
