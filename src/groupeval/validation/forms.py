"""Online-form exports (Google Forms, Microsoft Forms): item columns by position.

A form export has the question text as its header, so its item columns are
named in one of two ways:

* ``columns=`` maps question text to item names (``{"How often ... [1]": "phq9_1"}``);
* ``items=`` names them by position: ``{"brs": "C:H"}`` (a range of
  spreadsheet letters), ``{"brs": ["C", "D", "E", "F", "G", "H"]}`` (letters),
  or the header texts themselves, numbered in the order given.

:func:`item_columns_by_position` turns ``items=`` into the ``columns=``
mapping the readers understand, from the header of the file (read with the
io layer's header finder, so a title row above the header is skipped as the
readers skip it).
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..base.exceptions import ConfigError, Problem

__all__ = ["item_columns_by_position", "letter_index", "column_letter", "check_items_spec"]

_LETTERS = re.compile(r"^[A-Za-z]{1,3}$")
_RANGE = re.compile(r"^\s*([A-Za-z]{1,3})\s*[:\-\u2013]\s*([A-Za-z]{1,3})\s*$")


def letter_index(letter: str) -> int:
    """Spreadsheet column letter -> 0-based index (``"A"`` -> 0, ``"AA"`` -> 26)."""
    n = 0
    for ch in letter.strip().upper():
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def column_letter(i: int) -> str:
    """0-based index -> spreadsheet letter (0 -> ``"A"``, 26 -> ``"AA"``)."""
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def check_items_spec(items: Any, where: str = "items=") -> dict[str, list[str]]:
    """``{prefix: "C:H" | [letters or header texts]}`` -> ``{prefix: [entries]}``, or ConfigError."""
    if items is None:
        return {}
    if not isinstance(items, Mapping):
        raise ConfigError(f"{where} must map an instrument name to its columns, e.g. {{'brs': 'C:H'}} or "
                          "{'brs': ['C', 'D', 'E', 'F', 'G', 'H']}")
    out: dict[str, list[str]] = {}
    problems = []
    for prefix, spec in items.items():
        if not isinstance(prefix, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", prefix):
            problems.append(Problem(where, None, str(prefix), None, "the key must be an instrument name such as brs",
                                    "use the lower-case instrument name (the item-column prefix)"))
            continue
        entries = [spec] if isinstance(spec, str) else list(spec) if isinstance(spec, Sequence) else None
        if not entries or not all(isinstance(e, str) and e.strip() for e in entries):
            problems.append(Problem(where, None, prefix, spec, "must be a range of letters such as \"C:H\" or a "
                                    "list of letters or column headers", f'{prefix} = "C:H"'))
            continue
        out[prefix] = [e.strip() for e in entries]
    if problems:
        raise ConfigError(f"{where} has problems", problems)
    return out


def _expand(entries: list[str], header: list[str]) -> list[int | str]:
    """Entries -> 0-based positions (letters, ranges) or header texts (kept as text)."""
    out: list[int | str] = []
    exact = set(header)
    for e in entries:
        m = _RANGE.match(e)
        if m and e not in exact:
            a, b = letter_index(m.group(1)), letter_index(m.group(2))
            step = 1 if b >= a else -1
            out.extend(range(a, b + step, step))
        elif _LETTERS.match(e) and e not in exact:
            out.append(letter_index(e))
        else:
            out.append(e)
    return out


def item_columns_by_position(path: str | Path, items: Mapping[str, list[str]], *, sheet: str | None = None,
                             n_items: Mapping[str, int] | None = None) -> dict[str, str]:
    """``items=`` -> ``columns=`` for one file: ``{raw header text: "<prefix>_<k>"}``.

    Parameters
    ----------
    path
        The survey file; its header row is found as the readers find it.
    items
        ``{prefix: [letters, ranges "C:H" or header texts]}`` (see
        :func:`check_items_spec`); items are numbered 1, 2, ... in that order.
    sheet
        Workbook sheet (default: the first one).
    n_items
        Expected item count per prefix (registered instruments): a different
        count is an error, as it usually means a letter is off by one.

    Raises
    ------
    ConfigError
        A letter beyond the last column, a column without a header, a header
        text the file does not have, a column given twice, or the wrong
        number of columns for an instrument; every one listed.
    """
    from ..io._files import read_sheets

    sheets = read_sheets(path, sheet=sheet)
    header = list(sheets[0].raw_header)
    label = sheets[0].label
    problems = []
    mapping: dict[str, str] = {}
    for prefix, entries in items.items():
        cols = _expand(entries, header)
        want = (n_items or {}).get(prefix)
        if want is not None and len(cols) != want:
            problems.append(Problem(label, None, prefix, ", ".join(map(str, entries)),
                                    f"{len(cols)} column(s) given but {prefix} has {want} items",
                                    f"give exactly {want} columns, first item first "
                                    f"(e.g. \"C:{column_letter(1 + want)}\")"))
            continue
        for k, c in enumerate(cols, start=1):
            if isinstance(c, int):
                where = column_letter(c)
                if c >= len(header):
                    last = column_letter(len(header) - 1)
                    problems.append(Problem(label, None, where, None,
                                            f"column {where} is beyond the last column ({last})",
                                            "check the letters against the spreadsheet"))
                    continue
                raw = header[c]
                if not raw:
                    problems.append(Problem(label, None, where, None, f"column {where} has no header",
                                            "type a header into that cell of the first row"))
                    continue
            else:
                raw = c
                if raw not in header:
                    problems.append(Problem(label, None, raw, None, "no column has this header",
                                            "use a spreadsheet letter, or copy the header exactly"))
                    continue
            if raw in mapping:
                problems.append(Problem(label, None, raw, None, f"the column is given for both {mapping[raw]} and "
                                        f"{prefix}_{k}", "give each column once"))
                continue
            mapping[raw] = f"{prefix}_{k}"
    if problems:
        raise ConfigError(f"items= does not fit {label}", problems)
    return mapping
