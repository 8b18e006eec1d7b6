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
"""
from __future__ import annotations

import datetime as _dt
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..base import instruments as _instruments
from ..base.exceptions import ConfigError, GroupevalError, Problem
from ..base.pseudonyms import name_keys
from ..base.schema import IDENTIFIER_PATTERNS
from .forms import column_letter

__all__ = ["FileGuess", "Plan", "inspect_folder", "render_toml", "write_config", "CONFIG_NAME"]

CONFIG_NAME = "groupeval.toml"
_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".parquet", ".pq")
_DEFAULT_SHEET = re.compile(r"^(sheet|feuil|tabelle|hoja|blad|foglio)\s*\d*$", re.I)
_MONTHS = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE_HEADER = re.compile(rf"^(\d{{4}}-\d{{1,2}}-\d{{1,2}}|\d{{4}}/\d{{1,2}}/\d{{1,2}}"
                          rf"|\d{{1,2}}[/.-]\d{{1,2}}[/.-]\d{{2,4}}"
                          rf"|\d{{1,2}}[ -]{_MONTHS}[ -,]*\d{{2,4}}|{_MONTHS} \d{{1,2}},? \d{{4}})$", re.I)
_SLASH_DATE = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{2,4})\b")

# the readers recognise these already; init names them explicitly so the TOML says what was decided
_MEMBER = ("member_id", "member", "participant_id", "participant", "client_id", "person_id", "member_code",
           "participant_code", "record_id", "id", "code")
_GROUP = ("group_id", "group", "group_code", "group_name")
_DATE = ("session_date", "date", "session", "meeting_date", "attendance_date", "sign_in_date", "signed_in",
         "date_attended", "signed_in_at", "check_in")
_MARK = ("status", "attended", "attendance", "mark", "present", "here", "attendance_status")
_COMPLETED = ("timestamp", "completion_time", "completed_on", "completion_date", "date_completed", "survey_date",
              "submitted_at", "submission_date", "end_time", "recordeddate", "end_date")
_TIMEPOINT = ("timepoint", "time_point", "wave", "survey_wave")
_ENROLLED = ("enrolled_on", "enrolled", "joined", "join_date", "start_date", "date_joined", "enrolment_date",
             "enrollment_date")
_EXITED = ("exited_on", "exited", "exit_date", "left", "left_on", "date_left", "end_date")
_EXIT_REASON = ("exit_reason", "reason_for_leaving", "reason_left")
_ITEM = re.compile(r"^(?P<p>[a-z][a-z0-9_]*?)_(?P<n>\d+)$")
#: words in a file name -> timepoint
_TIMEPOINT_WORDS = (
    (re.compile(r"\b(baseline|start|starting|intake|pre|before|begin|beginning|first|entry|initial)\b", re.I),
     "baseline"),
    (re.compile(r"\b(end|final|exit|post|after|last|close|closing|completion)\b", re.I), "end"),
    (re.compile(r"\b(follow[ -]?up)\b", re.I), "follow_up"),
)
_WEEK = re.compile(r"\b(?:week|wk|w)[ _-]?(\d{1,2})\b", re.I)
_MONTH_TP = re.compile(r"\b(?:month|m)[ _-]?(\d{1,2})\b", re.I)


def _norm(name: object) -> str:
    return re.sub(r"[^0-9a-z]+", "_", str(name).strip().casefold()).strip("_")


def _identifier_kind(header: str) -> str | None:
    n = _norm(header)
    for kind, pattern in IDENTIFIER_PATTERNS.items():
        if re.search(pattern, n):
            return kind
    if re.search(r"(^|_)(first|given|full|your|last|sur|family)_?name($|_)", n):
        return "name"
    return None


@dataclass
class FileGuess:
    """What init decided about one file (all sheets of a workbook together)."""

    path: Path
    kind: str | None = None                      # attendance / surveys / members / groups / sessions / None
    shape: str | None = None                     # wide / roster / signin (attendance); forms / wide (surveys)
    columns: dict[str, str] = field(default_factory=dict)   # raw header -> canonical name
    timepoint: str | None = None
    group: str | None = None
    notes: list[str] = field(default_factory=list)
    undecided: list[str] = field(default_factory=list)
    identifier_columns: dict[str, str] = field(default_factory=dict)
    key_is_name: bool = False
    item_runs: list[tuple[str, int, int]] = field(default_factory=list)  # (instrument, first col, last col)
    dictionary: Path | None = None                                     # REDCap data dictionary
    events: list[str] = field(default_factory=list)                    # REDCap event names
    labels_missing: dict[str, list[str]] = field(default_factory=dict)   # instrument -> answer words not known


@dataclass
class Plan:
    """Everything :func:`inspect_folder` found: per-file guesses and programme-wide decisions."""

    folder: Path
    files: list[FileGuess]
    timepoints: list[str] = field(default_factory=list)
    dayfirst: bool | None = None
    pseudonymise: bool = False
    allow_identifiers: bool = False
    decided: list[str] = field(default_factory=list)
    undecided: list[str] = field(default_factory=list)

    def by_kind(self, kind: str) -> list[FileGuess]:
        return [f for f in self.files if f.kind == kind]


# --------------------------------------------------------------------------- reading
def _sheets(path: Path) -> list[Any]:
    from ..io._files import read_sheets

    return read_sheets(path)


def _data_files(folder: Path) -> list[Path]:
    out = []
    for p in sorted(folder.iterdir()):
        if not p.is_file() or p.name.startswith(("~$", ".")) or p.suffix.lower() not in _SUFFIXES:
            continue
        if p.stem.endswith("_tables") or "dictionary" in p.stem.lower():
            continue
        out.append(p)
    return out


def _is_date_header(h: str) -> bool:
    return bool(_DATE_HEADER.match(h.strip())) if h else False


def _text_values(s: pd.Series) -> pd.Series:
    """Distinct non-blank values of a column, as stripped text."""
    v = s.dropna()
    v = v[v.astype(str).str.strip() != ""]
    return pd.Series(pd.unique(v.astype(str).str.strip()), dtype=object)


def _first_alias(header: Sequence[str], names: Sequence[str]) -> str | None:
    for alias in names:
        for h in header:
            if h and _norm(h) == alias:
                return h
    return None


# --------------------------------------------------------------------------- instruments by answers
def _label_sets() -> dict[str, dict[str, int]]:
    out = {}
    for name in _instruments.available():
        inst = _instruments.get(name)
        if inst.answer_labels:
            out[name] = dict(inst.label_codes)
    return out


def _answer_words(frame: pd.DataFrame, col: str) -> set[str] | None:
    """Label keys of a column's answers, or None when it holds numbers / nothing / free text."""
    vals = _text_values(frame[col])
    if not len(vals) or len(vals) > 12:
        return None
    if vals.str.fullmatch(r"[+-]?\d+([.,]\d+)?").all():
        return None
    return {_instruments.label_key(v) for v in vals}


def _item_runs(frame: pd.DataFrame, header: list[str], guess: FileGuess) -> dict[str, str]:
    """Consecutive columns answered with one instrument's labels -> ``{raw header: "<inst>_<k>"}``."""
    sets = _label_sets()
    cands: list[set[str]] = []
    words: list[set[str] | None] = []
    for h in header:
        w = _answer_words(frame, h) if h and h in frame.columns else None
        words.append(w)
        cands.append({n for n, keys in sets.items() if w and w <= set(keys)} if w else set())
    mapping: dict[str, str] = {}
    i = 0
    while i < len(header):
        if not cands[i]:
            i += 1
            continue
        j = i
        common = set(cands[i])
        while j + 1 < len(header) and cands[j + 1] & common:
            common &= cands[j + 1]
            j += 1
        length = j - i + 1
        fits = sorted(n for n in common if _instruments.get(n).n_items == length)
        hinted = [n for n in fits if _hint(header[i:j + 1], n)]
        choice = hinted[0] if len(hinted) == 1 else fits[0] if len(fits) == 1 else None
        span = f"{column_letter(i)}:{column_letter(j)}"
        if choice is not None:
            inst = _instruments.get(choice)
            for k, h in enumerate(header[i:j + 1], start=1):
                mapping[h] = f"{choice}_{k}"
            guess.item_runs.append((choice, i, j))
            guess.notes.append(f"columns {span} ({length}) are {inst.label} items answered in words "
                               f"({', '.join(sorted(inst.answer_labels, key=inst.answer_labels.__getitem__)[:2])} ...)")
        else:
            labels = ", ".join(_instruments.get(n).label for n in sorted(common))
            guess.undecided.append(
                f"{guess.path.name}: columns {span} ({length}) are answered with the labels of {labels}, but no "
                f"single questionnaire of that many items fits; map them with columns = {{...}} or items = "
                f'{{ {sorted(common)[0]} = "{span}" }}')
        i = j + 1
    # questions answered in words no shipped label set covers (a questionnaire without labels, or other words)
    unknown = [h for h, w, c in zip(header, words, cands) if w and not c and h not in mapping
               and len(w) >= 3 and not _identifier_kind(h)]
    if len(unknown) >= 3:
        letters = ", ".join(column_letter(header.index(h)) for h in unknown[:12])
        guess.undecided.append(f"{guess.path.name}: {len(unknown)} question column(s) ({letters}) are answered in "
                               "words that are no shipped questionnaire's answer labels; if they are questionnaire "
                               "items, name them (items = { name = \"C:H\" }) and give the labels "
                               "([labels.name] \"Word\" = code)")
    return mapping


def _hint(headers: Sequence[str], inst_name: str) -> bool:
    label = _norm(_instruments.get(inst_name).label).replace("_", "")
    return any(label in _norm(h).replace("_", "") for h in headers)


def _item_named(header: list[str]) -> dict[str, list[str]]:
    """Columns already named ``<instrument>_<n>`` (any case)."""
    found: dict[str, list[str]] = {}
    avail = set(_instruments.available())
    for h in header:
        m = _ITEM.match(_norm(h))
        if m and m.group("p") in avail:
            found.setdefault(m.group("p"), []).append(h)
    return found


# --------------------------------------------------------------------------- per file
def _guess_file(path: Path) -> tuple[FileGuess, list[Any]]:
    g = FileGuess(path)
    try:
        sheets = _sheets(path)
    except GroupevalError as err:
        g.undecided.append(f"{path.name}: cannot be read ({err.message}); fix it or leave it out")
        return g, []
    stem = _norm(path.stem)
    first = sheets[0]
    header = [h for h in first.raw_header]
    date_headers = [h for h in header if _is_date_header(h)]
    n_dates = sum(1 for s in sheets for h in s.raw_header if _is_date_header(h))
    if n_dates >= 2:
        _guess_wide(g, sheets)
    elif stem in ("groups", "group") or ({"group_id", "group_type"} <= {_norm(h) for h in header}):
        g.kind = "groups"
    elif stem in ("sessions", "session") or ({"session_date"} <= {_norm(h) for h in header}
                                               and not _first_alias(header, _MEMBER)):
        g.kind = "sessions"
    elif _first_alias(header, _DATE) and (_first_alias(header, _MEMBER) or _name_column(header)) \
            and not _first_alias(header, _COMPLETED) and stem not in ("surveys", "survey", "responses"):
        _guess_roster(g, first, header)
    elif stem in ("members", "member") or (_first_alias(header, _ENROLLED) and
                                            (_first_alias(header, _MEMBER) or _name_column(header))):
        _guess_members(g, header)
    else:
        _guess_survey(g, first, header)
    del date_headers
    return g, sheets


def _name_column(header: Sequence[str]) -> str | None:
    names = [h for h in header if _identifier_kind(h) in ("name", "email")]
    pref = [h for h in names if _identifier_kind(h) == "name"]
    found = pref or names
    return found[0] if found else None


def _member_column(g: FileGuess, header: Sequence[str]) -> None:
    col = _first_alias(header, _MEMBER)
    if col is not None:
        g.columns.setdefault(col, "member_id")
        return
    col = _name_column(header)
    if col is not None:
        g.columns[col] = "member_id"
        g.key_is_name = True
        g.notes.append(f"the member key is the {_identifier_kind(col)} column {col!r}: it will be pseudonymised")
        return
    g.undecided.append(f"{g.path.name}: no column holds member ids or names; map yours with "
                       "columns = { \"<header>\" = \"member_id\" }")


def _guess_wide(g: FileGuess, sheets: list[Any]) -> None:
    g.kind, g.shape = "attendance", "wide"
    header = [h for h in sheets[0].raw_header]
    others = [h for h in header if h and not _is_date_header(h)]
    _member_column(g, others)
    if not any(v == "member_id" for v in g.columns.values()) and others:
        g.columns[others[0]] = "member_id"
        g.undecided = [u for u in g.undecided if "no column holds member ids" not in u]
        g.notes.append(f"the first column {others[0]!r} is taken as the member key")
    grp = _first_alias(others, _GROUP)
    names = [s.sheet for s in sheets if s.sheet is not None]
    if grp is not None:
        g.columns.setdefault(grp, "group_id")
        g.notes.append(f"groups from the column {grp!r}")
    elif len(names) >= 1 and all(not _DEFAULT_SHEET.match(str(n).strip()) for n in names) and len(sheets) > 1:
        g.notes.append(f"one sheet per group: {', '.join(map(str, names))}")
    elif len(names) == 1 and not _DEFAULT_SHEET.match(str(names[0]).strip()):
        g.notes.append(f"the sheet name {names[0]!r} is the group")
    else:
        g.group = g.path.stem
        g.undecided.append(f"{g.path.name}: nothing names the group; group = {g.group!r} was written - change it to "
                           "your group's id")
    g.notes.append(f"a wide register ({sum(1 for s in sheets for h in s.raw_header if _is_date_header(h))} session "
                   f"date columns in {len(sheets)} sheet(s))")
    for h in others:
        kind = _identifier_kind(h)
        if kind and g.columns.get(h) != "member_id":
            g.identifier_columns[h] = kind


def _guess_roster(g: FileGuess, raw: Any, header: list[str]) -> None:
    g.kind = "attendance"
    g.shape = "roster" if _first_alias(header, _MARK) else "signin"
    _member_column(g, header)
    date = _first_alias(header, _DATE)
    if date is not None:
        g.columns.setdefault(date, "session_date")
    grp = _first_alias(header, _GROUP)
    if grp is not None:
        g.columns.setdefault(grp, "group_id")
    else:
        g.group = g.path.stem
        g.undecided.append(f"{g.path.name}: no group column; group = {g.group!r} was written - change it to your "
                           "group's id")
    g.notes.append(f"an attendance {'roster' if g.shape == 'roster' else 'sign-in log'}")
    for h in header:
        kind = _identifier_kind(h)
        if kind and g.columns.get(h) != "member_id":
            g.identifier_columns[h] = kind


def _guess_members(g: FileGuess, header: list[str]) -> None:
    g.kind = "members"
    _member_column(g, header)
    for names, canon in ((_ENROLLED, "enrolled_on"), (_EXITED, "exited_on"), (_EXIT_REASON, "exit_reason")):
        col = _first_alias(header, names)
        if col is not None and col not in g.columns:
            g.columns[col] = canon
    grp = _first_alias(header, _GROUP)
    if grp is not None:
        g.columns.setdefault(grp, "group_id")
    for h in header:
        kind = _identifier_kind(h)
        if kind and g.columns.get(h) != "member_id":
            g.identifier_columns[h] = kind


def _guess_survey(g: FileGuess, raw: Any, header: list[str]) -> None:
    frame = raw.frame
    named = _item_named(header)
    runs = _item_runs(frame, header, g)
    forms = _first_alias(header, ("timestamp", "start_time", "completion_time")) is not None
    questions = [h for h in header if h and not _identifier_kind(h) and _norm(h) not in _COMPLETED + _GROUP]
    if forms and not named and not runs and len(questions) <= 1:
        # a sign-in form: a timestamp and a name (and perhaps the group) per person who came
        g.kind, g.shape = "attendance", "signin"
        _member_column(g, header)
        stamp = _first_alias(header, ("timestamp", "start_time", "completion_time"))
        if stamp is not None:
            g.columns[stamp] = "session_date"
        grp = _first_alias(header, _GROUP)
        if grp is not None:
            g.columns.setdefault(grp, "group_id")
        else:
            g.group = g.path.stem
            g.undecided.append(f"{g.path.name}: no group column; group = {g.group!r} was written - change it to "
                               "your group's id")
        g.notes.append("a sign-in form (one row per person who came; the time of day is dropped)")
        return
    if not named and not runs and not forms and not _first_alias(header, _TIMEPOINT):
        g.kind = None
        g.undecided.append(f"{g.path.name}: not recognised as attendance, members, groups, sessions or a survey; "
                           "add it to groupeval.toml yourself if it is one of them")
        return
    g.kind = "surveys"
    g.shape = "forms" if forms else "wide"
    g.columns.update(runs)
    for inst, cols in named.items():
        g.notes.append(f"{len(cols)} {_instruments.get(inst).label} item column(s) named {inst}_<n>")
    comp = _first_alias(header, _COMPLETED)
    if comp is not None:
        g.columns.setdefault(comp, "completed_on")
    tp = _first_alias(header, _TIMEPOINT)
    if "redcap_event_name" in header:
        g.shape = "redcap"
        ev = _text_values(frame["redcap_event_name"]) if "redcap_event_name" in frame.columns else []
        g.events = [str(e) for e in ev]
        dicts = [p for p in sorted(g.path.parent.iterdir()) if p.is_file() and "dictionary" in p.stem.lower()
                 and p.suffix.lower() in _SUFFIXES]
        if len(dicts) == 1:
            g.dictionary = dicts[0]
            g.notes.append(f"a REDCap export; its data dictionary is {dicts[0].name}")
        else:
            g.notes.append("a REDCap export (timepoints from its events)")
    elif tp is not None:
        g.columns.setdefault(tp, "timepoint")
    else:
        g.timepoint = _timepoint_from_name(g.path.stem)
        if g.timepoint is None:
            g.undecided.append(f"{g.path.name}: the file name does not say which survey round it is; timepoint = "
                               "\"baseline\" was written - change it (e.g. \"end\", \"week_12\")")
            g.timepoint = "baseline"
        else:
            g.notes.append(f"timepoint {g.timepoint!r} from the file name")
    # the member key
    key = _first_alias(header, _MEMBER)
    if key is not None:
        g.columns.setdefault(key, "member_id")
    else:
        cands = [h for h in header if _identifier_kind(h) in ("name", "email") and h not in g.columns]
        if cands:
            g.columns[cands[0]] = "member_id"      # refined against the register in _refine_keys
            g.key_is_name = True
        else:
            g.undecided.append(f"{g.path.name}: no column holds member ids or names; map yours with "
                               "columns = { \"<header>\" = \"member_id\" }")
    for h in header:
        kind = _identifier_kind(h)
        if kind and g.columns.get(h) != "member_id":
            g.identifier_columns[h] = kind


def _timepoint_from_name(stem: str) -> str | None:
    text = re.sub(r"[_()\[\].-]+", " ", stem)
    m = _WEEK.search(text)
    if m:
        return f"week_{int(m.group(1))}"
    m = _MONTH_TP.search(text)
    if m:
        return f"month_{int(m.group(1))}"
    for pat, tp in _TIMEPOINT_WORDS:
        if pat.search(text):
            return tp
    return None


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
def _q(text: str) -> str:
    """A TOML basic string."""
    return json.dumps(str(text), ensure_ascii=False)


def _key(text: str) -> str:
    return text if re.fullmatch(r"[A-Za-z0-9_-]+", text) else _q(text)


def render_toml(plan: Plan, *, name: str | None = None) -> str:
    """The plan as a commented groupeval.toml (no value of any name, e-mail or free-text column)."""
    today = _dt.date.today().isoformat()
    lines = [f"# groupeval.toml written by `groupeval init` on {today} for the files in this folder.",
             "# Check every guess below, edit what is wrong, then run:  groupeval validate <this folder>",
             "# (lines starting with # are comments; reading-data.md in the groupeval docs explains every key)"]
    if plan.undecided:
        lines += ["#", "# STILL TO DECIDE (groupeval could not tell):"]
        lines += [f"#   - {u}" for u in plan.undecided]
    lines += ["", "[programme]", f"name = {_q(name or plan.folder.resolve().name)}"]
    if plan.timepoints:
        lines += ["# the survey rounds, in order (from the survey files: their names or REDCap events)",
                  "timepoints = [" + ", ".join(_q(t) for t in plan.timepoints) + "]"]
    if plan.dayfirst is not None:
        lines += ["# how to read dates such as 04/02/2025: true = 4 February, false = 2 April",
                  f"dayfirst = {'true' if plan.dayfirst else 'false'}"]
    lines += ["", "[privacy]"]
    if plan.pseudonymise:
        lines += ["# Members are keyed by their name (or e-mail address). groupeval replaces every name by a salted",
                  "# pseudonym (P-...) before anything else; the salt is created in .groupeval_salt beside this file",
                  "# on the first run - keep it private and reuse it next quarter (see the docs: salt_file).",
                  "pseudonymise = true",
                  "# When groupeval validate lists two pseudonyms that may be one person, confirm them here:",
                  '# same_person = [["P-...", "P-..."]]      # one person',
                  '# not_same = [["P-...", "P-..."]]         # two people']
    elif plan.allow_identifiers:
        lines += ["# the files hold identifier columns (names, e-mail, phone); they are removed when the data are read",
                  "allow_identifiers = true"]
    else:
        lines += ["allow_identifiers = false"]
    for f in plan.files:
        lines += [""]
        if f.kind is None:
            lines += [f"# {f.path.name}: not used (not recognised)"]
            continue
        table = "attendance" if f.kind == "attendance" else f.kind
        lines += [f"# {f.path.name}:"] + [f"#   {n}" for n in (f.notes or [f"the {table} file"])]
        if f.identifier_columns:
            lines += ["# identifier columns removed on load: " +
                      ", ".join(f"{h!r} ({k})" for h, k in f.identifier_columns.items())]
        lines += [f"[[files.{table}]]", f"path = {_q(f.path.name)}"]
        if f.kind == "attendance" and f.shape in ("wide", "roster", "signin"):
            lines += [f"format = {_q(f.shape)}"]
        if f.group is not None:
            lines += [f"group = {_q(f.group)}"]
        if f.kind == "surveys" and f.timepoint is not None:
            lines += [f"timepoint = {_q(f.timepoint)}"]
        if f.dictionary is not None:
            lines += [f"dictionary = {_q(f.dictionary.name)}"]
        if f.columns:
            lines += [f"[files.{table}.columns]"]
            runs = {i: (inst, j) for inst, i, j in f.item_runs}
            header = list(f.columns)
            for h in header:
                c = f.columns[h]
                m = _ITEM.match(c)
                if m and m.group("n") == "1":
                    inst = _instruments.get(m.group("p"))
                    span = next(((column_letter(i), column_letter(j)) for i, (ins, j) in runs.items()
                                 if ins == inst.name), None)
                    where = f" (columns {span[0]}-{span[1]})" if span else ""
                    lines += [f"# {inst.label} items{where}, answered in words: converted with its answer labels"]
                lines += [f"{_q(h)} = {_q(c)}"]
    return "\n".join(lines) + "\n"


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
