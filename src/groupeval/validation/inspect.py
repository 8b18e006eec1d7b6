"""``groupeval init FOLDER``: look at a folder of raw files and write a groupeval.toml for them.

:func:`inspect_folder` reads every data file of a folder (headers and
values, with the io layer's reader) and guesses

* which file is which table: a sheet whose column headers are dates is a
  *wide attendance register*; a sheet with a date column and a member column
  is an attendance roster or sign-in log; a sheet with a form ``Timestamp``,
  questionnaire item columns (``phq9_1``) or columns answered with a
  questionnaire's answer labels is a *survey*; ``members`` / ``groups`` /
  ``sessions`` files by their name or columns;
* which column is which canonical column: the member key (an id column, or
  a name / e-mail column - then ``pseudonymise = true``), the group (sheet
  names, or a column whose answers are the group names), dates, the survey
  timepoint (from the file name: "start", "baseline", "end", "week 12"...);
* which columns are which questionnaire's items: by their names, or by their
  answers - a run of consecutive columns whose every answer is an answer
  label of one instrument, as many columns as it has items;
* whether dates such as 04/02/2025 are day-first, from all files together;
* identifier columns (names, e-mail, phone) besides the key.

:func:`render_toml` writes the guesses as a commented TOML configuration
(:func:`groupeval.load` reads it); everything it could not decide is listed
at the top of the file and in :attr:`Plan.undecided`.  No value of a name,
e-mail or free-text column is ever written or shown: only headers, answer
labels and counts.

The guesses about one file are made in :mod:`._inspect_files`, the TOML is
written by :mod:`._inspect_toml`; this module decides what needs every file
together (the member key against the register, the group column of surveys,
day-first dates, the order of the timepoints).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..base import instruments as _instruments
from ..base.exceptions import ConfigError, Problem
from ..base.pseudonyms import name_keys
from ._inspect_files import (
    _DEFAULT_SHEET,
    _SLASH_DATE,
    FileGuess,
    Plan,
    _data_files,
    _guess_file,
    _identifier_kind,
    _is_date_header,
    _text_values,
)
from ._inspect_toml import render_toml

__all__ = ["FileGuess", "Plan", "inspect_folder", "render_toml", "write_config", "CONFIG_NAME"]

CONFIG_NAME = "groupeval.toml"


# --------------------------------------------------------------------------- across files
def _keys_of(sheets: list[Any], col: str) -> set[str]:
    vals = pd.concat([s.frame[col] for s in sheets if col in s.frame.columns], ignore_index=True) \
        if any(col in s.frame.columns for s in sheets) else pd.Series(dtype=object)
    return set(name_keys(vals.astype(object)).dropna())


def _refine_keys(plan: Plan, read: dict[Path, list[Any]]) -> None:
    """Surveys with several name/e-mail columns: the one whose values match the register's keys."""
    reg_keys: set[str] = set()
    for f in plan.files:
        if f.kind in ("attendance", "members"):
            col = next((h for h, c in f.columns.items() if c == "member_id"), None)
            if col is not None:
                reg_keys |= _keys_of(read[f.path], col)
    groups: set[str] = set()
    for f in plan.by_kind("attendance"):
        groups |= {str(s.sheet).strip() for s in read[f.path] if s.sheet is not None
                   and not _DEFAULT_SHEET.match(str(s.sheet).strip())}
        gcol = next((h for h, c in f.columns.items() if c == "group_id"), None)
        if gcol is not None:
            groups |= {str(v).strip() for s in read[f.path] if gcol in s.frame.columns
                       for v in _text_values(s.frame[gcol])}
    group_keys = {_instruments.label_key(x) for x in groups}
    for f in plan.by_kind("surveys"):
        sheets = read[f.path]
        frame = sheets[0].frame
        header = list(sheets[0].raw_header)
        if f.key_is_name and reg_keys:
            cands = [h for h in header if _identifier_kind(h) in ("name", "email")]
            scores = {h: len(_keys_of(sheets, h) & reg_keys) for h in cands}
            best = max(cands, key=lambda h: scores[h]) if cands else None
            if best is not None:
                for h in list(f.columns):
                    if f.columns[h] == "member_id" and h != best:
                        del f.columns[h]
                f.columns[best] = "member_id"
                f.identifier_columns.pop(best, None)
                for h in cands:
                    if h != best:
                        f.identifier_columns[h] = _identifier_kind(h) or "name"
                share = scores[best] / max(len(_keys_of(sheets, best)), 1)
                f.notes.append(f"the member key is {best!r} ({scores[best]} of its people are in the register)")
                if share < 0.5:
                    f.undecided.append(f"{f.path.name}: only {scores[best]} people of {best!r} match the register's "
                                       "member keys; check that both name people the same way")
        if group_keys and not any(c == "group_id" for c in f.columns.values()):
            for h in header:
                if h in f.columns or not h:
                    continue
                vals = _text_values(frame[h]) if h in frame.columns else pd.Series(dtype=object)
                if len(vals) and {_instruments.label_key(v) for v in vals} <= group_keys:
                    f.columns[h] = "group_id"
                    f.notes.append(f"the column {h!r} names the groups")
                    break


def _dayfirst(plan: Plan, read: dict[Path, list[Any]]) -> None:
    """Day-first or month-first for every a/b/yyyy date of every file, decided together."""
    firsts, seconds = [], []
    for f in plan.files:
        for s in read.get(f.path, []):
            texts = [h for h in s.raw_header if _is_date_header(h)]
            for h, c in f.columns.items():
                if c in ("completed_on", "session_date", "enrolled_on") and h in s.frame.columns:
                    col = s.frame[h]
                    if col.dtype == object or isinstance(col.dtype, pd.StringDtype):
                        texts += list(_text_values(col))
            m = pd.Series(texts, dtype=object).str.extract(_SLASH_DATE)
            m = m.dropna()
            if len(m):
                firsts.append(m[0].astype(int).to_numpy())
                seconds.append(m[1].astype(int).to_numpy())
    if not firsts:
        return
    a, b = np.concatenate(firsts), np.concatenate(seconds)
    day_proof, month_proof = bool(((a > 12) & (a <= 31)).any()), bool(((b > 12) & (b <= 31)).any())
    if day_proof and not month_proof:
        plan.dayfirst = True
        plan.decided.append("dates such as 04/02/2025 are day-first (some date has a day above 12)")
    elif month_proof and not day_proof:
        plan.dayfirst = False
        plan.decided.append("dates such as 02/04/2025 are month-first (some date has a second number above 12)")
    elif day_proof and month_proof:
        plan.undecided.append("dates are written day-first in some files and month-first in others; set dayfirst "
                              "per file ([[files.surveys]] dayfirst = true) or write them as YYYY-MM-DD")
    elif (a != b).any():
        plan.undecided.append("no date tells whether 04/02/2025 is 4 February or 2 April; dayfirst = true was "
                              "written - change it to false if your dates are month-first")
        plan.dayfirst = True


def inspect_folder(folder: str | Path) -> Plan:
    """Look at every data file of ``folder`` and guess the configuration (see the module docstring).

    Raises
    ------
    ConfigError
        ``folder`` is not a folder, or holds no data file.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"{folder} is not a folder", [Problem(str(folder), None, None, None, "not a folder",
                                                                "give the folder that holds your files")])
    paths = _data_files(folder)
    if not paths:
        raise ConfigError(f"no data files in {folder}",
                          [Problem(str(folder), None, None, None, "no CSV, XLSX or Parquet file",
                                   "put the attendance register and survey exports in the folder")])
    files, read = [], {}
    for p in paths:
        g, sheets = _guess_file(p)
        files.append(g)
        read[p] = sheets
    plan = Plan(folder, files)
    _refine_keys(plan, read)
    _dayfirst(plan, read)
    plan.pseudonymise = any(f.key_is_name for f in files)
    ids = {h: k for f in files for h, k in f.identifier_columns.items()}
    if plan.pseudonymise:
        plan.decided.append("members are keyed by name or e-mail: pseudonymise = true (names are replaced by "
                            "salted pseudonyms before validation; other identifier columns are removed)")
    elif ids:
        plan.allow_identifiers = True
        plan.decided.append(f"identifier columns ({', '.join(repr(h) for h in ids)}) are removed on load: "
                            "allow_identifiers = true")
    tps = []
    for f in plan.by_kind("surveys"):
        if f.timepoint:
            tps.append(f.timepoint)
        tps.extend(dict.fromkeys(re.sub(r"_arm_\d+$", "", e) for e in f.events))
    order = {"baseline": 0, "end": 2, "follow_up": 3}

    def rank(tp: str) -> tuple[float, str]:
        m = re.match(r"(week|month)_?(\d+)", tp)
        if m:
            return (1 + int(m.group(2)) / (100 if m.group(1) == "week" else 25), tp)
        return (order.get(tp, 1.5), tp)

    plan.timepoints = sorted(dict.fromkeys(tps), key=rank)
    per_file = [f.timepoint for f in plan.by_kind("surveys") if f.timepoint]
    dup = [tp for tp in plan.timepoints if per_file.count(tp) > 1]
    for tp in dup:
        plan.undecided.append(f"several survey files read as timepoint {tp!r}; give each file its own timepoint")
    if not plan.by_kind("attendance"):
        plan.undecided.append("no attendance file found: groupeval needs an attendance register or sign-in log")
    for f in files:
        plan.undecided.extend(f.undecided)
    return plan


# --------------------------------------------------------------------------- TOML
def write_config(folder: str | Path, *, force: bool = False, name: str | None = None) -> tuple[Path, Plan]:
    """Inspect ``folder`` and write ``groupeval.toml`` there; never overwrite one unless ``force``.

    Returns the path written and the :class:`Plan` (its ``decided`` and
    ``undecided`` lists are what the command line prints).
    """
    folder = Path(folder)
    target = folder / CONFIG_NAME
    if target.exists() and not force:
        raise ConfigError(f"{target} already exists; groupeval init does not overwrite it",
                          [Problem(str(target), None, None, None, "the configuration file exists",
                                   "edit it, delete it, or run groupeval init again with --force to replace it")])
    plan = inspect_folder(folder)
    text = render_toml(plan, name=name)
    import tomllib

    tomllib.loads(text)  # what we write must parse
    target.write_text(text, encoding="utf-8")
    return target, plan
